#!/usr/bin/env python3
"""Check of the report renderer: a tiny results.json in a temporary directory, rendered;
the page must hold the header, the headline ratios, the tables, the notes and the plots.

    make report-check        # = benches/.venv-report/bin/python benches/test_render.py
"""

import json
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import render  # noqa: E402

META = {
    "command": "python3 benches/report.py --quick", "commit": "0123abc", "dirty": True,
    "date": "2026-01-01 00:00 UTC", "mode": "quick", "load_before": "0.1 0.1 0.1",
    "load_after": "0.2 0.2 0.2", "quiet_gate": None, "oversubscribed_args": {"osu_coll.c": ["-i", "100"]},
    "host": {"name": "h", "cores": 2, "cpu": "cpu", "kernel": "6.1", "python": "3.11"},
    "impls": [{"key": "mpich", "label": "MPICH", "version": "MPICH 5.0.2", "recipe": "mpiexec -n N", "skip_reason": None},
              {"key": "openmpi", "label": "Open MPI", "version": "Open MPI 5.0.11", "recipe": "mpirun -n N", "skip_reason": None},
              {"key": "ours", "label": "ferrompi", "version": "ferrompi", "recipe": "mpirun -n N", "skip_reason": None}],
    "families": {"p2p": {"reps": 3, "bound_s": 60, "seconds": 5}},
}


def series(family, title, unit, higher, samples, missing=None, xlabel="size"):
    return {"family": family, "title": title, "unit": unit, "higher": higher, "xlabel": xlabel,
            "samples": samples, "missing": missing or {}}


RESULTS = {
    "meta": META,
    "failures": ["coll/allreduce@4, MPICH, rep 1: timed out after 60s: mpiexec ..."],
    "series": {
        # ours 1.0 us, best peer (Open MPI) 2.0 us at 8 B -> 0.50x
        "p2p/latency": series("p2p", "One-way latency, us (lower is better)", "us", False, {
            "mpich": {"8": [4.0, 5.0, 6.0], "4194304": [900.0, 1000.0, 1100.0]},
            "openmpi": {"8": [2.0, 2.5, 1.5], "4194304": [800.0, 800.0, 800.0]},
            "ours": {"8": [1.0, 0.9, 1.2], "4194304": [400.0, 420.0, 380.0]}}),
        # 2 pairs, 1000 MB/s at 8 B = 1.25e8 messages/s
        "p2p/mbw_mr@4": series("p2p", "Multi-pair bandwidth, 2 pairs, MB/s summed over pairs (higher is better)",
                               "MB/s", True, {"ours": {"8": [1000.0]}, "mpich": {"8": [500.0]}}),
        "coll/allreduce@4": series("coll", "allreduce, 4 ranks: mean time per call, us (lower is better)", "us", False, {
            "ours": {"8": [3.0], "4096": [30.0]}, "openmpi": {"8": [4.0], "4096": [20.0]}},
            missing={"mpich": "timed out (run bound 60s)"}),
        "startup/init_finalize": series("startup", "Start-up: wall time, s (lower is better)", "s", False, {
            "ours": {"1": [0.2, 0.3], "8": [0.25]}, "mpich": {"1": [0.1], "8": [0.5]}}, xlabel="ranks"),
    },
}


class RenderTest(unittest.TestCase):
    def test_page_and_plots(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "performance-notes.md"), "w") as f:
                f.write("Hand-written: the lead's words.\n")
            render.render(json.loads(json.dumps(RESULTS)), d)
            with open(os.path.join(d, "performance.md")) as f:
                page = f.read()
            pngs = sorted(os.listdir(os.path.join(d, "performance")))
            for png in pngs:
                with open(os.path.join(d, "performance", png), "rb") as f:
                    self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", png)
        self.assertIn("commit: `0123abc` with uncommitted changes", page)
        self.assertIn("Hand-written: the lead's words.", page)
        # headline: latency 8 B ours 1.0 / Open MPI 2.0; start-up at 8 ranks 0.25 / 0.5
        self.assertIn("| One-way latency, us | 8 B: 0.50x, 4 MiB: 0.50x |", page)
        self.assertIn("| Start-up: wall time, s | 1: 2.50x, 8: 0.50x |", page)
        self.assertIn("| allreduce, 4 ranks: mean time per call, us | 8 B: 0.75x, 4 KiB: 1.50x |", page)
        # full tables: median (min..max), best peer, ratio; a timed-out cell says so
        self.assertIn("| 8 B | 5.000 (4.000..6.000) | 2.000 (1.500..2.500) | 1.000 (0.900..1.200) | Open MPI | 0.50x |", page)
        self.assertIn("| 8 B | timed out (run bound 60s) | 4.000 (4.000..4.000) | 3.000 (3.000..3.000) | Open MPI | 0.75x |", page)
        self.assertIn("| 1 | 0.100 (0.100..0.100) | failed | 0.250 (0.200..0.300) | MPICH | 2.50x |", page)
        # message rate derived from the multi-pair bandwidth: 1000 MB/s / 8 B
        self.assertIn("| 8 B | 6.25e+07 (6.25e+07..6.25e+07) | failed | 1.25e+08 (1.25e+08..1.25e+08) | MPICH | 2.00x |", page)
        self.assertIn("coll/allreduce@4, MPICH, rep 1: timed out", page)
        self.assertEqual(pngs, ["coll_allreduce.png", "p2p_latency.png", "p2p_mbw_mr_4.png",
                                "p2p_msg_rate_4.png", "startup_init_finalize.png"])
        for png in pngs:
            self.assertIn("(performance/%s)" % png, page)


if __name__ == "__main__":
    unittest.main()
