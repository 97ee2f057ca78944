#!/usr/bin/env python3
"""The performance report: ferrompi against MPICH 5 and Open MPI 5, measured in one run.

`make report` calls this. It sets up the three implementations as run.py does (its code),
runs every measurement interleaved across implementations, writes the raw samples to
docs/performance/results.json and renders docs/performance.md and docs/performance/*.png
from that file (benches/render.py, with matplotlib from benches/.venv-report).

    python3 benches/report.py                      # everything, about 16-20 min on 2 cores
    python3 benches/report.py --quick              # whole pipeline in a few minutes
    python3 benches/report.py --only p2p,startup   # a subset (results.json holds only these)
    python3 benches/report.py --render-only        # re-render the page from results.json

Families (--only): p2p (latency, bw, bibw at 2 ranks; mbw_mr at 2 and 4 ranks), coll (six
collectives at 2, 3, 4 ranks), startup (mpirun -n 1, 2, 4, 8 of init_finalize), memory
(mem_rss at 2 and 4 ranks), oversub (multi_lat and allreduce at 4 and 8 ranks), hosts
(benches/hosts.sh: two network-namespace hosts on libfabric tcp;ofi_rxm; needs root).
See benches/README.md for the method of each.
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as harness  # noqa: E402  (benches/run.py: set-up, build, run, parse, quiet gate)

REPO = harness.REPO
DOCS = os.path.join(REPO, "docs")
RESULTS = os.path.join(DOCS, "performance", "results.json")
REPORT_VENV = os.path.join(HERE, ".venv-report")
MATPLOTLIB_SPEC = "matplotlib>=3.8,<4"

OVERSUB_SIZES = "8,4096,262144"
HOSTS_PROVIDER = "tcp;ofi_rxm"

# Each family: what it runs, its repetitions (full, quick) and its per-run time bound in
# seconds (full, quick). The bounds keep a collapsing implementation (MPICH busy-polls when
# ranks outnumber cores) from taking the whole run; a run past its bound is killed and the
# sizes it did not reach read "timed out". Runs with more ranks than cores are bounded at
# OVERSUBSCRIBED_BOUND_S whatever their family says.
FAMILIES = {
    "p2p": {"benches": ["latency", "bw", "bibw", "mbw_mr@2", "mbw_mr@4"], "reps": (5, 2), "bound": (120, 60)},
    "coll": {"benches": ["%s@%d" % (c, n) for c in harness.COLLECTIVES for n in (2, 3, 4)],
             "reps": (3, 1), "bound": (120, 60)},
    "startup": {"ranks": [1, 2, 4, 8], "reps": (5, 2), "bound": (60, 60)},
    "memory": {"ranks": [2, 4], "reps": (3, 1), "bound": (60, 60)},
    "oversub": {"benches": ["multi_lat@4", "multi_lat@8", "allreduce@4", "allreduce@8"],
                "args": ["-s", OVERSUB_SIZES], "reps": (3, 1), "bound": (120, 60)},
    "hosts": {"reps": (3, 1), "bound": (1200, 600)},
}
OVERSUBSCRIBED_BOUND_S = 20
MEMORY_FIELDS = ["VmRSS", "RssAnon", "RssFile", "RssShmem", "Pss"]


def log(msg):
    print("[report.py] " + msg, file=sys.stderr, flush=True)


def git(*argv):
    r = subprocess.run(["git", "-C", REPO] + list(argv), capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else ""


def host_info():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    return {"name": platform.node(), "cores": os.cpu_count() or 0, "cpu": model,
            "kernel": platform.release(), "python": platform.python_version()}


def ensure_render_venv():
    """benches/.venv-report with matplotlib (from PyPI), made when missing. Returns its python."""
    py = os.path.join(REPORT_VENV, "bin", "python")
    if not os.path.exists(py):
        log("creating %s for the plots" % REPORT_VENV)
        subprocess.run([sys.executable, "-m", "venv", REPORT_VENV], check=True)
    if harness.venv_version(REPORT_VENV, "matplotlib") is None:
        harness.pip_install(REPORT_VENV, MATPLOTLIB_SPEC)
    return py


def render(results_path):
    py = ensure_render_venv()
    r = subprocess.run([py, os.path.join(HERE, "render.py"), results_path])
    return r.returncode


class Recorder:
    """Raw samples per series: series[name] = {title, unit, higher, family, samples: {impl:
    {x: [values]}}, missing: {impl: text}}; and failures, as strings."""

    def __init__(self):
        self.series = {}
        self.failures = []

    def new(self, name, family, title, unit, higher, xlabel="size"):
        self.series[name] = {"family": family, "title": title, "unit": unit, "higher": higher,
                             "xlabel": xlabel, "samples": {}, "missing": {}}

    def add(self, name, impl, x, value):
        self.series[name]["samples"].setdefault(impl, {}).setdefault(str(x), []).append(value)

    def fail(self, name, impl_key, label, rep, err):
        first = err.splitlines()[0]
        self.failures.append("%s, %s, rep %d: %s" % (name, label, rep + 1, first))
        log("ERROR %s %s rep %d: %s" % (name, label, rep + 1, err))
        if first.startswith("timed out"):
            self.series[name]["missing"][impl_key] = "timed out (run bound %s)" % first.split()[3].rstrip(":")
        else:
            self.series[name]["missing"].setdefault(impl_key, "failed: " + first[:80])


def run_benches(fam, names, impls, gate, rec, args, reps, bound):
    """OSU-style programs (run.py's benches), interleaved."""
    extra_fam = FAMILIES[fam].get("args", [])
    for n in names:
        b = harness.bench(n)
        rec.new("%s/%s" % (fam, n), fam, b.title, b.unit, b.higher)

    def do(rep, name, impl):
        b = harness.bench(name)
        extra = b.args(args.quick) + extra_fam
        t0 = time.time()
        res, err = harness.run_one(impl, name, extra,
                                   min(bound, OVERSUBSCRIBED_BOUND_S) if b.oversubscribed() else bound, args.nice)
        key = "%s/%s" % (fam, name)
        for size, v in res.items():
            rec.add(key, impl.key, size, v)
        if err:
            rec.fail(key, impl.key, impl.label, rep, err)
        else:
            log("%s rep %d/%d %s ok, %.1f s" % (key, rep + 1, reps, impl.label, time.time() - t0))

    harness.interleaved(impls, reps, names, gate, do)


def run_startup(impls, gate, rec, args, reps, bound):
    name = "startup/init_finalize"
    rec.new(name, "startup", "Start-up: wall time of `mpirun -n N ./init_finalize`, s (lower is better)",
            "s", False, xlabel="ranks")

    def do(rep, n, impl):
        _out, err, wall = harness.run_program(impl, n, "init_finalize.c", [], bound, args.nice)
        if err:
            rec.fail(name, impl.key, impl.label, rep, err)
        else:
            rec.add(name, impl.key, n, wall)

    harness.interleaved(impls, reps, FAMILIES["startup"]["ranks"], gate, do)


def run_memory(impls, gate, rec, args, reps, bound):
    for field in MEMORY_FIELDS:
        rec.new("memory/" + field, "memory", "%s per rank right after MPI_Init, kB "
                "(lower is better; all ranks of all repetitions)" % field, "kB", False, xlabel="ranks")

    def do(rep, n, impl):
        out, err, _wall = harness.run_program(impl, n, "mem_rss.c", [], bound, args.nice)
        rows = [l.split() for l in out.splitlines() if l and not l.startswith("#")]
        rows = [r for r in rows if len(r) == 1 + len(MEMORY_FIELDS) and all(x.lstrip("-").isdigit() for x in r)]
        if not err and len(rows) != n:
            err = "expected %d rank lines from mem_rss, got %d" % (n, len(rows))
        if err:
            rec.fail("memory/VmRSS", impl.key, impl.label, rep, err)
            return
        for r in rows:
            for field, v in zip(MEMORY_FIELDS, r[1:]):
                if int(v) >= 0:
                    rec.add("memory/" + field, impl.key, n, float(v))

    harness.interleaved(impls, reps, FAMILIES["memory"]["ranks"], gate, do)


def run_hosts(impls, rec, args, reps, bound):
    """benches/hosts.sh (ours, MPICH through hydra, Open MPI through prterun, raw fi_pingpong)
    between two namespace hosts; it interleaves the implementations itself."""
    titles = {"latency": ("One-way latency between two hosts, us (lower is better)", "us", False),
              "bw": ("Bandwidth between two hosts, MB/s (higher is better)", "MB/s", True),
              "bibw": ("Bidirectional bandwidth between two hosts, MB/s (higher is better)", "MB/s", True),
              "pingpong_bw": ("raw fi_pingpong bandwidth (one message in flight), MB/s", "MB/s", True)}
    for b, (title, unit, higher) in titles.items():
        rec.new("hosts/" + b, "hosts", title, unit, higher)
    if os.geteuid() != 0:
        rec.series["hosts/latency"]["notes"] = ["not run: the test hosts are network namespaces, which need root"]
        for b in titles:
            for k in ("ours", "mpich", "openmpi"):
                rec.series["hosts/" + b]["missing"][k] = "not run: needs root (network namespaces)"
        return
    env = dict(os.environ, FERROMPI_PREFIX=args.prefix, MPICH_PREFIX=args.venv, OMPI_PREFIX=args.ompi_venv)
    # Over TCP a round trip is tens of microseconds to milliseconds (Open MPI's small messages
    # took about 1 ms one-way here): fewer warm-up iterations and a time budget per size
    # (common.h's -t), the same for every implementation.
    env["HOSTS_ARGS"] = "-x 100 -X 2 -t 1"
    if args.quick:
        env["HOSTS_SIZES"] = "8,65536,4194304"
        env["HOSTS_ARGS"] = "-q -x 10 -X 1 -t 0.2"
    cmd = [os.path.join(HERE, "hosts.sh"), str(reps), HOSTS_PROVIDER]
    log("running " + " ".join(cmd))
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=bound)
        out, err, rc = p.stdout, p.stderr, p.returncode
    except subprocess.TimeoutExpired as exc:
        out, err, rc = exc.stdout or "", "timed out after %ds" % bound, None
        out = out.decode() if isinstance(out, bytes) else out
    rec.series["hosts/latency"]["notes"] = [l[2:] for l in out.splitlines()
                                            if l.startswith("# ") and not l.startswith("# rep ")]
    for b in ("latency", "pingpong_bw"):
        rec.series["hosts/" + b]["missing"]["raw"] = "not measured: fi_pingpong runs at 8 B and 4 MiB only"
    for line in out.splitlines():
        parts = line.split()
        if len(parts) != 5 or line.startswith("#") or parts[2] not in titles:
            continue
        rep, impl, b, size, v = parts
        if v == "-":
            rec.series["hosts/" + b]["missing"].setdefault(impl, "failed (see hosts.sh's stderr)")
            continue
        rec.add("hosts/" + b, impl, int(size), float(v))
    if rc != 0:
        rec.failures.append("hosts: benches/hosts.sh exit status %s: %s" % (rc, (err or "").strip()[-500:]))
    for line in (err or "").splitlines():
        if line.startswith("hosts.sh:"):
            rec.failures.append("hosts: " + line)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    harness.add_setup_args(ap)
    ap.add_argument("--quick", action="store_true",
                    help="few sizes, 1/10 of the iterations, 1-2 repetitions: the whole pipeline in minutes")
    ap.add_argument("--only", default=",".join(FAMILIES),
                    help="comma list of families: " + ", ".join(FAMILIES))
    ap.add_argument("--reps", type=int, help="repetitions for every family (default: per family)")
    ap.add_argument("--results", default=RESULTS, help="the JSON file of raw samples")
    ap.add_argument("--render-only", action="store_true",
                    help="only render docs/performance.md and the plots from --results")
    ap.add_argument("--check-renderer", action="store_true",
                    help="run the renderer's check (benches/test_render.py) and nothing else")
    ap.set_defaults(timeout=None, quiet_wait=None)
    args = ap.parse_args()
    if args.quiet_wait is None:  # quick runs are for development, often on a busy host
        args.quiet_wait = 3 if args.quick else 30
    if args.render_only:
        return render(args.results)
    if args.check_renderer:
        return subprocess.run([ensure_render_venv(), os.path.join(HERE, "test_render.py")]).returncode
    families = [f.strip() for f in args.only.split(",") if f.strip()]
    for f in families:
        if f not in FAMILIES:
            ap.error("unknown family %r (known: %s)" % (f, ", ".join(FAMILIES)))
    ensure_render_venv()  # before hours of measuring, not after

    impls = harness.make_impls(args)
    sources = {"init_finalize.c", "mem_rss.c"} | {
        harness.bench(b).src for f in families for b in FAMILIES[f].get("benches", [])}
    harness.compile_all(impls, args.build_dir, shlex.split(args.cflags), sorted(sources))
    active = [i for i in impls if not i.skip_reason]
    meta = {
        "command": "python3 " + " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:]),
        "commit": git("rev-parse", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "host": host_info(),
        "mode": "quick" if args.quick else "full",
        "load_before": harness.loadavg(),
        "impls": [{"key": i.key, "label": i.label, "version": i.version, "recipe": i.recipe(),
                   "oversubscribe": " ".join(i.oversubscribe), "skip_reason": i.skip_reason} for i in impls],
        "families": {},
    }
    rec = Recorder()
    gate = harness.QuietGate(args.quiet_threshold, args.quiet_wait)
    for fam in families:
        conf = FAMILIES[fam]
        reps = args.reps or conf["reps"][1 if args.quick else 0]
        bound = args.timeout or conf["bound"][1 if args.quick else 0]
        t0 = time.time()
        log("family %s: %d repetitions, runs bounded at %d s" % (fam, reps, bound))
        if fam == "startup":
            run_startup(active, gate, rec, args, reps, bound)
        elif fam == "memory":
            run_memory(active, gate, rec, args, reps, bound)
        elif fam == "hosts":
            run_hosts(active, rec, args, reps, bound)
        else:
            run_benches(fam, conf["benches"], active, gate, rec, args, reps, bound)
        meta["families"][fam] = {"reps": reps, "bound_s": bound, "seconds": round(time.time() - t0)}
    meta["load_after"] = harness.loadavg()
    meta["quiet_gate"] = gate.summary()
    meta["oversubscribed_args"] = harness.OVERSUBSCRIBED_ARGS
    meta["oversubscribed_bound_s"] = OVERSUBSCRIBED_BOUND_S
    os.makedirs(os.path.dirname(args.results), exist_ok=True)
    with open(args.results, "w") as f:
        json.dump({"meta": meta, "series": rec.series, "failures": rec.failures}, f, indent=1, sort_keys=True)
        f.write("\n")
    log("wrote %s" % args.results)
    rc = render(args.results)
    # A run past its bound is a measurement (the page shows it); anything else failing is not.
    return rc or (1 if any(" timed out after " not in f for f in rec.failures) else 0)


if __name__ == "__main__":
    sys.exit(main())
