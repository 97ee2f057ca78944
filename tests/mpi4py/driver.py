"""Runs mpi4py's own test suite (its test/main.py) in one MPI rank, recording each test's
outcome in a file of its own, one line per event, flushed at once.

Started by run.py under mpirun, one copy per rank:

    python driver.py RESULTS_DIR TESTDIR [main.py options...]

Why not parse main.py's -v output: with several ranks the lines of every rank interleave,
and a test that prints or a rank that dies mid-line breaks them. Here each rank writes
RESULTS_DIR/rank-<r>.txt with lines `start <id>`, `<outcome> <id>\t<message>` and, when the
run ends, `done`; a `start` with no outcome after it is the test that hung or crashed.
"""
import os
import sys
import traceback
import unittest


class RecordingResult(unittest.TextTestResult):
    results_dir = None
    _file = None

    def _write(self, line):
        if self._file is None:
            # MPI is initialized (main.py's setup_modules) before the first test starts.
            from mpi4py import MPI

            rank = MPI.COMM_WORLD.Get_rank()
            path = os.path.join(self.results_dir, f"rank-{rank}.txt")
            type(self)._file = open(path, "w", encoding="utf-8", buffering=1)
        self._file.write(line.replace("\n", " ") + "\n")
        self._file.flush()

    @staticmethod
    def _message(err):
        # The exception's last line: mpi4py's MPI.Exception text names the error class and,
        # for our unimplemented functions, the function.
        # An ImportError of a test module carries the whole traceback as its text: its last
        # line is the cause. The innermost frame names the mpi4py call (Comm.Spawn, ...).
        text = "".join(traceback.format_exception_only(err[0], err[1]))
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        message = lines[-1] if lines else ""
        frames = traceback.extract_tb(err[2])
        if frames:
            message += f" [in {frames[-1].name}]"
        return message[:300]

    def startTest(self, test):
        self._write(f"start {test.id()}")
        super().startTest(test)

    def addSuccess(self, test):
        self._write(f"ok {test.id()}")
        super().addSuccess(test)

    def addFailure(self, test, err):
        self._write(f"fail {test.id()}\t{self._message(err)}")
        super().addFailure(test, err)

    def addError(self, test, err):
        # setUpClass/setUpModule errors come as an _ErrorHolder whose id names the fixture.
        self._write(f"error {test.id()}\t{self._message(err)}")
        super().addError(test, err)

    def addSkip(self, test, reason):
        self._write(f"skip {test.id()}\t{reason}")
        super().addSkip(test, reason)

    def addExpectedFailure(self, test, err):
        self._write(f"xfail {test.id()}")
        super().addExpectedFailure(test, err)

    def addUnexpectedSuccess(self, test):
        self._write(f"xpass {test.id()}")
        super().addUnexpectedSuccess(test)

    def addSubTest(self, test, subtest, err):
        if err is not None:
            kind = "fail" if issubclass(err[0], test.failureException) else "error"
            # A failing subtest fails its test: recorded under the test's own id.
            self._write(f"{kind} {test.id()}\t{subtest.id()}: {self._message(err)}")
        super().addSubTest(test, subtest, err)

    def stopTestRun(self):
        super().stopTestRun()
        self._write("done")


def main():
    results_dir, testdir, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    RecordingResult.results_dir = results_dir
    sys.path.insert(0, testdir)
    sys.dont_write_bytecode = True
    import main as mpi4py_main  # the suite's test/main.py

    runner = unittest.TextTestRunner(resultclass=RecordingResult, verbosity=2)
    mpi4py_main.main(
        module=None, argv=[os.path.join(testdir, "main.py")] + args, testRunner=runner
    )


if __name__ == "__main__":
    main()
