#!/usr/bin/env python3
"""Runs mpi4py's own test suite on our MPI at several rank counts and holds it to a ledger.

    run.py --python VENV/bin/python --testdir MPI4PY_SDIST/test --mpirun PREFIX/bin/mpirun \
           [--np 1,2,3,4] [--timeout 600] [--ledger tests/mpi4py/ledger.txt] [--out DIR]

Each rank count is one job: `mpirun -n N python driver.py ...`, which runs the suite's
test/main.py with each rank recording every test's outcome in a file (driver.py says why).
A test's outcome at a rank count is the worst of its ranks' (error or failure on any rank is
a failure). The run fails when
  - a test outside the ledger fails, or the job hangs (timeout) or dies before the end,
  - a test in the ledger for that rank count passes (the ledger only ever shrinks),
  - a ledger line names a test the suite did not run (the ledger stays true).
Ledger lines (ledger.txt documents the format) of kind `exclude` are not run at all
(main.py -x): tests that need what we do not have and would hang or end the job.
"""
import argparse
import collections
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
SEVERITY = {"skip": 0, "ok": 1, "xfail": 1, "xpass": 2, "fail": 3, "error": 3, "hung": 4}


class Entry:
    def __init__(self, lineno, test, ranks, kind, reason):
        self.lineno, self.test, self.ranks, self.kind, self.reason = (
            lineno, test, ranks, kind, reason)

    def applies(self, np):
        return self.ranks is None or np in self.ranks


def read_ledger(path):
    entries = []
    for lineno, line in enumerate(pathlib.Path(path).read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 3)
        if len(parts) < 4 or parts[2] not in ("fail", "exclude"):
            sys.exit(f"{path}:{lineno}: expected `TEST RANKS fail|exclude REASON`: {line}")
        test, ranks, kind, reason = parts
        ranks = None if ranks == "*" else {int(r) for r in ranks.split(",")}
        entries.append(Entry(lineno, test, ranks, kind, reason))
    return entries


def run_job(args, np, entries, outdir):
    """Runs the suite at np ranks; returns ({test: outcome}, {test: message}, problems)."""
    resdir = outdir / f"np{np}"
    shutil.rmtree(resdir, ignore_errors=True)
    resdir.mkdir(parents=True)
    suite_args = ["--no-builddir", "-v"]
    for module in args.exclude_modules:
        suite_args += ["-e", module]
    for e in entries:
        if e.kind == "exclude" and e.applies(np):
            suite_args += ["-x", e.test]
    cmd = [args.mpirun, "-n", str(np), args.python, str(HERE / "driver.py"),
           str(resdir), args.testdir] + suite_args
    env = dict(os.environ)
    # mpi4py's own switch for its tests of dynamic processes (MPI_Comm_spawn and the
    # futures/pool executors that spawn workers), which we do not implement yet.
    env["MPI4PY_TEST_SPAWN"] = "0"
    log = outdir / f"np{np}.log"
    start = time.monotonic()
    problems = []
    with open(log, "w") as logf:
        # A session of its own, so a hung job is ended as a whole.
        proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=env,
                                cwd=args.testdir, start_new_session=True)
        try:
            rc = proc.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            problems.append(f"np={np}: timed out after {args.timeout} s")
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                rc = proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                rc = proc.wait()
    elapsed = time.monotonic() - start
    outcomes, messages = {}, {}
    for r in range(np):
        path = resdir / f"rank-{r}.txt"
        if not path.exists():
            problems.append(f"np={np}: rank {r} recorded nothing (see {log})")
            continue
        running, done = None, False
        for line in path.read_text(errors="replace").splitlines():
            word, _, rest = line.partition(" ")
            if word == "done":
                done = True
                continue
            test, _, message = rest.partition("\t")
            if word == "start":
                running = test
                continue
            if test == running:
                running = None
            prev = outcomes.get(test)
            if prev is None or SEVERITY[word] > SEVERITY[prev]:
                outcomes[test] = word
                if message:
                    messages[test] = f"rank {r}: {message}"
        if running is not None:
            outcomes[running] = "hung"
            messages[running] = f"rank {r}: started, never finished (hang or crash)"
            problems.append(f"np={np}: rank {r} never finished {running}")
        elif not done:
            problems.append(f"np={np}: rank {r} did not reach the end of the suite")
    print(f"mpi4py np={np}: mpirun exit {rc}, {elapsed:.0f} s, log {log}", flush=True)
    return outcomes, messages, problems


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--python", required=True, help="python of a venv with mpi4py built on us")
    p.add_argument("--testdir", required=True, help="the mpi4py sdist's test/ directory")
    p.add_argument("--mpirun", required=True)
    p.add_argument("--np", default="1,2,3,4")
    p.add_argument("--timeout", type=int, default=600, help="seconds per rank count")
    p.add_argument("--ledger", default=str(HERE / "ledger.txt"))
    p.add_argument("--out", default="build/mpi4py-results")
    # test_spawn.py needs MPI_Comm_spawn throughout (dynamic processes: not implemented).
    p.add_argument("--exclude-modules", default=["spawn"], nargs="*")
    args = p.parse_args()
    args.testdir = os.path.abspath(args.testdir)
    outdir = pathlib.Path(args.out).resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    entries = read_ledger(args.ledger)
    nps = [int(n) for n in args.np.split(",")]

    bad = []
    summary = []
    for np in nps:
        outcomes, messages, problems = run_job(args, np, entries, outdir)
        bad += problems
        ledgered = {e.test: e for e in entries if e.applies(np)}
        counts = collections.Counter()
        for test, outcome in sorted(outcomes.items()):
            failed = SEVERITY[outcome] >= 2
            counts["failed" if failed else "passed" if outcome != "skip" else "skipped"] += 1
            e = ledgered.get(test)
            if failed and (e is None or e.kind != "fail"):
                bad.append(f"np={np}: {test}: {outcome} ({messages.get(test, '')})")
            elif not failed and e is not None and outcome != "skip":
                bad.append(f"np={np}: {test}: passes, but ledger.txt:{e.lineno} expects "
                           f"it to fail: remove it from the ledger")
        for e in ledgered.values():
            if e.kind == "fail" and e.test not in outcomes and not problems:
                bad.append(f"np={np}: ledger.txt:{e.lineno}: {e.test} did not run")
        n_fail = sum(1 for e in ledgered.values() if e.kind == "fail")
        n_excl = sum(1 for e in ledgered.values() if e.kind == "exclude")
        summary.append(f"np={np}: {len(outcomes)} tests, {counts['passed']} passed, "
                       f"{counts['failed']} failed ({n_fail} ledgered to fail), "
                       f"{counts['skipped']} skipped by the suite, {n_excl} excluded")
    for line in bad:
        print("mpi4py: " + line)
    for line in summary:
        print("mpi4py " + line)
    # The conformance figure: distinct tests the ledger names (a test may have one line per
    # set of rank counts).
    ntests = len({e.test for e in entries})
    print(f"mpi4py: {ntests} tests in the ledger ({args.ledger}); "
          + ("every outcome as the ledger says" if not bad else f"{len(bad)} problems"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
