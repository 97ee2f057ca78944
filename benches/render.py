#!/usr/bin/env python3
"""Renders docs/performance.md and docs/performance/*.png from results.json.

    benches/.venv-report/bin/python benches/render.py docs/performance/results.json [--out DIR]

Called by benches/report.py (also with --render-only). Needs matplotlib; the tables and the
ratios come from run.py's summarize, the same code as `make bench`'s tables. The page
includes docs/performance-notes.md (hand-written analysis) verbatim, so re-rendering never
touches prose. --out DIR writes performance.md and performance/*.png under DIR instead of
docs/ (the renderer's own check uses it).
"""

import argparse
import json
import os
import statistics
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as harness  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FAMILY_TITLES = [
    ("p2p", "Point-to-point within a host"),
    ("hosts", "Point-to-point across two test hosts (libfabric tcp;ofi_rxm)"),
    ("coll", "Collectives"),
    ("startup", "Start-up"),
    ("memory", "Memory per rank"),
    ("oversub", "Oversubscribed: more ranks than cores"),
]
# Sizes whose ratio goes into the headline table, per series ("*" = any series of the family).
HEADLINE = {
    "p2p/latency": [0, 8, 65536, 4194304],
    "p2p/bw": [8, 65536, 4194304],
    "p2p/bibw": [8, 65536, 4194304],
    "p2p/mbw_mr@4": [8, 4194304],
    "hosts/latency": [8, 4194304],
    "hosts/bw": [4194304],
    "hosts/bibw": [4194304],
    "coll/allreduce@4": [8, 4096, 1048576],
    "coll/bcast@4": [8, 1048576],
    "coll/alltoall@4": [8, 1048576],
    "coll/barrier@4": [0],
    "startup/init_finalize": [1, 4, 8],
    "memory/VmRSS": [2, 4],
    "memory/Pss": [4],
    "oversub/multi_lat@8": [8, 262144],
    "oversub/allreduce@8": [8, 262144],
}
COLORS = {"mpich": "tab:blue", "openmpi": "tab:orange", "ours": "tab:green", "raw": "tab:gray"}
LABELS = {"raw": "raw fi_pingpong"}


def impl_objects(meta, series):
    """run.py's summarize wants objects with key, label and skip_reason."""
    impls = [types.SimpleNamespace(key=i["key"], label=i["label"], skip_reason=i["skip_reason"])
             for i in meta["impls"]]
    if "raw" in series["samples"]:
        impls.insert(0, types.SimpleNamespace(key="raw", label=LABELS["raw"], skip_reason=None))
    return impls


def samples_of(series):
    """{impl: {int x: [values]}} (JSON keys are strings)."""
    return {k: {int(x): v for x, v in d.items()} for k, d in series["samples"].items()}


def fmt_x(x, series):
    return "%d" % x if series["xlabel"] == "ranks" else harness.fmt_size(x)


def message_rate(series):
    """A multi-pair bandwidth series turned into messages per second (MB/s x 1e6 / size)."""
    pairs = series["title"].split(",")[1].strip()
    rate = dict(series, unit="msg/s", title="Multi-pair message rate, %s, messages/s summed over "
                "pairs (higher is better)" % pairs)
    rate["samples"] = {k: {x: [v * 1e6 / int(x) for v in vals] for x, vals in d.items() if int(x) > 0}
                       for k, d in series["samples"].items()}
    return rate


def measured(series):
    """The x values (as JSON keys) any implementation has samples at."""
    return {x for d in series["samples"].values() for x in d}


def table(series, impls):
    unit = series["unit"]
    fmt = {"kB": lambda v, _u: "%.0f" % v, "s": lambda v, _u: "%.3f" % v,
           "msg/s": lambda v, _u: "%.3g" % v}.get(unit, harness.fmt_val)
    rows, stats = summarize(series, impls, fmt)
    header = [series["xlabel"]] + [i.label for i in impls] + ["best peer", "ferrompi / best peer"]
    return harness.markdown_table(header, rows), stats


def summarize(series, impls, fmt):
    """run.py's summarize, with x as ranks where the series says so and its number format."""
    short = {k: why.split(":")[0] for k, why in series.get("missing", {}).items()}  # full text below the table
    rows, stats = harness.summarize(samples_of(series), impls, series["unit"], series["higher"], short)
    if series["xlabel"] == "ranks" or series["unit"] not in ("us", "MB/s"):
        sizes = sorted({x for d in samples_of(series).values() for x in d})
        for row, x in zip(rows, sizes):
            row[0] = fmt_x(x, series)
            for j, impl in enumerate(impls):
                vals = samples_of(series).get(impl.key, {}).get(x)
                if vals:
                    row[1 + j] = "%s (%s..%s)" % (fmt(statistics.median(vals), series["unit"]),
                                                  fmt(min(vals), series["unit"]), fmt(max(vals), series["unit"]))
    return rows, stats


def plot(series_list, impls, path):
    """One panel per series, one curve per implementation: median with min..max error bars;
    log-log where the x values span decades."""
    fig, axes = plt.subplots(1, len(series_list), figsize=(5.2 * len(series_list), 3.9), squeeze=False)
    for ax, series in zip(axes[0], series_list):
        data = samples_of(series)
        xs_all = sorted({x for d in data.values() for x in d})
        positive = [x for x in xs_all if x > 0]
        spans = bool(positive) and max(positive) / min(positive) >= 100
        for impl in impls:
            d = data.get(impl.key, {})
            xs = [x for x in sorted(d) if d[x] and (x > 0 or not spans)]
            if not xs:
                continue
            med = [statistics.median(d[x]) for x in xs]
            lo = [m - min(d[x]) for m, x in zip(med, xs)]
            hi = [max(d[x]) - m for m, x in zip(med, xs)]
            ax.errorbar(xs, med, yerr=[lo, hi], label=impl.label, color=COLORS.get(impl.key),
                        marker="o", markersize=3, capsize=2, linewidth=1.2)
        if spans:
            ax.set_xscale("log", base=2 if series["xlabel"] == "ranks" else 10)
            ax.set_yscale("log")
        elif series["xlabel"] == "ranks":
            ax.set_xticks(xs_all)
        ax.set_xlabel("ranks" if series["xlabel"] == "ranks" else "message size, bytes")
        ax.set_ylabel(series["unit"])
        ax.set_title(series["title"].split(":")[0].split(" (")[0], fontsize=9)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def groups(series_names, family):
    """Series of a family grouped into figures: a collective's rank counts side by side."""
    out = {}
    for name in series_names:
        if family in ("coll", "oversub"):
            key = name.split("@")[0]
        elif family == "memory":
            key = "memory"
        else:
            key = name
        out.setdefault(key, []).append(name)
    return out


def header_lines(meta, failures):
    h = meta["host"]
    out = ["- command: `%s` (%s mode)" % (meta["command"], meta["mode"]),
           "- commit: `%s`%s" % (meta["commit"] or "?", " with uncommitted changes (dirty tree)" if meta["dirty"] else ""),
           "- date: %s" % meta["date"],
           "- host: %s, %d cores (%s), Linux %s" % (h["name"], h["cores"], h["cpu"] or "?", h["kernel"]),
           "- load average (1/5/15 min) before: %s, after: %s" % (meta["load_before"], meta.get("load_after", "?"))]
    if meta.get("quiet_gate"):
        out.append("- " + meta["quiet_gate"])
    for i in meta["impls"]:
        if i["skip_reason"]:
            out.append("- %s: **skipped**: %s" % (i["label"], i["skip_reason"].splitlines()[0]))
        else:
            out.append("- %s: %s; run as `%s`%s" % (i["label"], i["version"], i["recipe"],
                       " (with `%s` above %d ranks)" % (i["oversubscribe"], h["cores"]) if i.get("oversubscribe") else ""))
    fams = ", ".join("%s %d reps (runs bounded at %d s, took %d s)" % (f, d["reps"], d["bound_s"], d["seconds"])
                     for f, d in meta["families"].items())
    out.append("- repetitions: " + fams)
    out.append("- cells: median (min..max) over the repetitions; best peer = the better of MPICH and "
               "Open MPI at that size; ratio = ferrompi median / best peer median (below 1 is "
               "better for times and memory, above 1 for bandwidths). Runs interleave the "
               "implementations (A,B,C / B,C,A / ...). With more ranks than cores every "
               "implementation gets the same reduced iteration counts and time budget per size "
               "(%s; `-t` cuts the timed iterations to fit the budget at the warm-up's pace, "
               "benches/common.h), and each such run is bounded at %s s."
               % ("; ".join("%s: `%s`" % (k, " ".join(v)) for k, v in sorted(meta.get("oversubscribed_args", {}).items())),
                  meta.get("oversubscribed_bound_s", "?")))
    if failures:
        out.append("- **%d runs failed or timed out** (listed at the end)" % len(failures))
    return out


def render(results, outdir):
    meta, all_series, failures = results["meta"], results["series"], results["failures"]
    imgdir = os.path.join(outdir, "performance")
    os.makedirs(imgdir, exist_ok=True)
    for old in os.listdir(imgdir):  # plots of series this run does not have
        if old.endswith(".png"):
            os.remove(os.path.join(imgdir, old))
    if any(n.startswith("p2p/mbw_mr") for n in all_series):
        for n in [n for n in all_series if n.startswith("p2p/mbw_mr")]:
            all_series[n.replace("mbw_mr", "msg_rate")] = message_rate(all_series[n])
    md = ["# Performance: ferrompi, MPICH 5 and Open MPI 5 on one machine", "",
          "Generated by `make report` (`python3 benches/report.py`) from "
          "[performance/results.json](performance/results.json); do not edit by hand: the "
          "analysis lives in [performance-notes.md](performance-notes.md) and is included below.", ""]
    md += header_lines(meta, failures)
    md += ["", "## Headline: ferrompi / better peer", "",
           "| figure | ratio at sizes (ranks for start-up and memory) |", "|---|---|"]
    sections = []
    headline = {}
    for fam, fam_title in FAMILY_TITLES:
        names = [n for n in all_series if all_series[n]["family"] == fam]
        if not names:
            continue
        sections += ["", "## " + fam_title, ""]
        for notes_of in names:
            for note in all_series[notes_of].get("notes", []):
                sections.append("- " + note)
        for key, members in groups(sorted(names, key=order_key), fam).items():
            impls = impl_objects(meta, all_series[members[0]])
            png = "%s.png" % key.replace("/", "_").replace("@", "_")
            plot([all_series[m] for m in members], impls, os.path.join(imgdir, png))
            sections += ["", "![%s](performance/%s)" % (key, png), ""]
            for m in members:
                t, stats = table(all_series[m], impl_objects(meta, all_series[m]))
                sections += ["", "### " + all_series[m]["title"], "", t]
                missing = all_series[m].get("missing", {})
                for k, why in sorted(missing.items()):
                    sections.append("")
                    sections.append("- %s: %s" % (dict((i.key, i.label) for i in impls).get(k, k), why))
                if m in HEADLINE:
                    cells = ["%s: %s" % (fmt_x(x, all_series[m]),
                                         "%.2fx" % stats[("ratio", x)] if ("ratio", x) in stats else "n/a")
                             for x in HEADLINE[m] if str(x) in measured(all_series[m])]
                    headline[m] = "| %s | %s |" % (all_series[m]["title"].split(" (")[0], ", ".join(cells))
    md += [headline[m] for m in HEADLINE if m in headline]
    md += ["", "## Analysis (hand-written)", ""]
    notes = os.path.join(outdir, "performance-notes.md")
    if os.path.exists(notes):
        with open(notes) as f:
            md.append(f.read().strip())
    else:
        md.append("(no docs/performance-notes.md yet)")
    md += sections
    if failures:
        md += ["", "## Failures and timed-out runs", ""] + ["- " + f for f in failures]
    with open(os.path.join(outdir, "performance.md"), "w") as f:
        f.write("\n".join(md) + "\n")


def order_key(name):
    base, _, ranks = name.partition("@")
    return (base, int(ranks) if ranks.isdigit() else 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", help="results.json written by report.py")
    ap.add_argument("--out", default=os.path.join(harness.REPO, "docs"),
                    help="directory of performance.md and performance/*.png (default docs/)")
    args = ap.parse_args()
    with open(args.results) as f:
        results = json.load(f)
    render(results, args.out)
    print("[render.py] wrote %s" % os.path.join(args.out, "performance.md"), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
