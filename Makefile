# ferrompi: `make run` builds, installs into build/install and runs an MPI job;
# `make test` runs every test. See README.md.

PREFIX ?= $(CURDIR)/build/install
override PREFIX := $(abspath $(PREFIX))
NP ?= 4
CARGO ?= cargo
VENV := $(CURDIR)/.venv

.PHONY: all build install run test test-unit test-generated test-abi test-install test-c test-hosts test-slurm test-mpi4py bench report report-check deps clean

all: build

deps:
	@tools/ensure-deps.sh

build: deps
	$(CARGO) build --release --workspace

install: build
	install -d $(PREFIX)/bin $(PREFIX)/lib/pkgconfig $(PREFIX)/include
	install -m 755 target/release/mpirun $(PREFIX)/bin/mpirun
	ln -sf mpirun $(PREFIX)/bin/mpiexec
	install -m 755 abi/wrappers/mpicc $(PREFIX)/bin/mpicc
	install -m 755 abi/wrappers/mpicc $(PREFIX)/bin/mpicxx
	install -m 644 include/mpi.h $(PREFIX)/include/mpi.h
	install -m 755 target/release/libmpi_abi.so $(PREFIX)/lib/libmpi_abi.so.1
	ln -sf libmpi_abi.so.1 $(PREFIX)/lib/libmpi_abi.so
	sed 's|@PREFIX@|$(PREFIX)|' abi/wrappers/mpi.pc.in > $(PREFIX)/lib/pkgconfig/mpi.pc

run: install
	$(PREFIX)/bin/mpicc -O2 -o build/hello examples/hello.c
	$(PREFIX)/bin/mpirun -n $(NP) build/hello

test: test-unit test-generated test-abi test-install test-c test-hosts test-slurm test-mpi4py

test-unit: deps
	$(CARGO) test --release --workspace --exclude mpi-tests

# The committed generated files (mpi.h, abi/src/generated, docs/functions.md) are up to date.
test-generated:
	@tools/ensure-deps.sh --with-venv
	$(VENV)/bin/python abi/gen/generate.py --check

# Our mpi.h against MPICH's standard-ABI header, our exported symbols against its library.
test-abi: install
	@tools/ensure-deps.sh --with-venv
	tests/abi/check_header.sh $(VENV)
	tests/abi/check_exports.sh $(PREFIX)/lib/libmpi_abi.so.1 $(VENV)

# The installed tree works as users use it: mpicc -show, mpicxx, pkg-config, a job.
test-install: install
	$(PREFIX)/bin/mpicc -show | grep -q -- '-lmpi_abi'
	$(PREFIX)/bin/mpicxx -O2 -x c++ -o build/hello-cxx examples/hello.c
	cc -O2 -o build/hello-pc examples/hello.c $$(PKG_CONFIG_PATH=$(PREFIX)/lib/pkgconfig pkg-config --cflags --libs mpi)
	$(PREFIX)/bin/mpiexec -n 3 build/hello-pc > build/hello-pc.out
	grep -q 'sum of ranks = 3 (expected 3)' build/hello-pc.out
	$(PREFIX)/bin/mpirun -n 2 build/hello-cxx > /dev/null

# The C suite under our mpirun: compiled with our mpicc, then compiled with MPICH's
# mpicc_abi and run on our library (binary compatibility); then compiled with our mpicc and
# started by MPICH's mpiexec (hydra), our library bootstrapping through its PMI server; then
# MPICH's own library started by our mpirun (its launcher, abort and point-to-point programs:
# MPICH busy-polls, so its runs at more ranks than cores take minutes, and some error checks
# of other programs are ones MPICH does not make).
test-c: install
	@tools/ensure-deps.sh --with-venv
	FERROMPI_PREFIX=$(PREFIX) FERROMPI_TEST_IMPL=ours $(CARGO) test --release -p mpi-tests --test c_suite
	FERROMPI_PREFIX=$(PREFIX) FERROMPI_VENV=$(VENV) FERROMPI_TEST_IMPL=abi-compat $(CARGO) test --release -p mpi-tests --test c_suite
	FERROMPI_PREFIX=$(PREFIX) FERROMPI_VENV=$(VENV) FERROMPI_TEST_IMPL=hydra $(CARGO) test --release -p mpi-tests --test c_suite
	for t in launcher_ abort p2p_; do \
	  FERROMPI_PREFIX=$(PREFIX) FERROMPI_VENV=$(VENV) FERROMPI_TEST_IMPL=mpich-lib $(CARGO) test --release -p mpi-tests --test c_suite -- $$t || exit 1; \
	done

# The C suite across two test hosts (network namespaces, 2 ranks each: pairs on one host talk
# through shared memory, across hosts through libfabric) on tcp;ofi_rxm; then its programs
# that move data (HOSTS_DATA: point-to-point, datatypes, collectives, one-sided, threads) on
# udp;ofi_rxd, once more on tcp with the efa provider's registration and context modes forced,
# and once with libfabric 2.5 at run time (the copy in the mpich wheel; we build against
# Debian's 1.17) and its native tcp provider; then jobs started through real ssh (mpirun's
# default agent) into an sshd in each test host. Skipped (exit 77) where namespaces cannot be made (not root), except
# under CI, which must run it.
HOSTS_SUITE = FERROMPI_PREFIX=$(PREFIX) FERROMPI_TEST_IMPL=ours \
	FERROMPI_TEST_MPIRUN_ARGS="-H h1:2,h2:2 --launch-agent $(CURDIR)/tests/hosts/agent.sh" \
	$(CARGO) test --release -p mpi-tests --test c_suite
HOSTS_DATA = FERROMPI_TEST_ONLY="p2p_ type_ coll_basic coll_nonblocking coll_gatherv intercomm_coll win_ threads_"
test-hosts: install
	@tools/ensure-deps.sh --with-venv
	@tests/hosts/with-hosts.sh 2 sh -c '\
	  set -e; \
	  FI_PROVIDER="tcp;ofi_rxm" $(HOSTS_SUITE); \
	  FI_PROVIDER="udp;ofi_rxd" $(HOSTS_DATA) $(HOSTS_SUITE); \
	  FI_PROVIDER="tcp;ofi_rxm" FERROMPI_OFI_EFA_MODES=1 $(HOSTS_DATA) $(HOSTS_SUITE); \
	  LD_LIBRARY_PATH=$(VENV)/lib/mpich fi_info --version | grep -q "libfabric: 2\."; \
	  LD_LIBRARY_PATH=$(VENV)/lib/mpich FI_PROVIDER=tcp $(HOSTS_DATA) $(HOSTS_SUITE); \
	  FI_PROVIDER="tcp;ofi_rxm" CARGO=$(CARGO) tests/hosts/ssh-hosts.sh 2 tests/hosts/ssh-checks.sh $(PREFIX)' \
	|| { rc=$$?; if [ $$rc -eq 77 ] && [ -z "$$CI" ]; then echo "test-hosts: skipped (cannot make network namespaces; run as root)"; else exit $$rc; fi; }

# Under Slurm, in a private one-host cluster (tests/slurm/with-slurm.sh: munged, slurmctld,
# slurmd, 8 CPUs oversubscribed): the C suite started by `srun --mpi=pmi2 -n N`, our library
# bootstrapping through slurmd's PMI server (PMI-1, our default; the 2-rank trials once more
# over PMI-2); the C suite again inside `salloc -n 8`, where every mpirun takes the allocation
# as its hosts and starts its daemon with srun (launcher tests included); then
# tests/slurm/checks.sh (the PMI client under srun in both protocols; salloc and sbatch jobs:
# ranks, -n from the allocation, exit codes, -H, a failing srun, nothing left); and checks.sh
# once more in a cluster of two nodes on this host (mpirun's daemons on both through one srun
# step, placement by SLURM_TASKS_PER_NODE, exit codes). Installs Slurm as root; skipped
# (exit 77) when not root, except under CI, which must run it.
test-slurm: install
	@tools/ensure-deps.sh --with-slurm
	@tests/slurm/with-slurm.sh sh -c '\
	  set -e; \
	  FERROMPI_PREFIX=$(PREFIX) FERROMPI_TEST_IMPL=slurm $(CARGO) test --release -p mpi-tests --test c_suite; \
	  FERROMPI_PMI=2 FERROMPI_PREFIX=$(PREFIX) FERROMPI_TEST_IMPL=slurm $(CARGO) test --release -p mpi-tests --test c_suite -- ::n2; \
	  salloc -n 8 --quiet env FERROMPI_PREFIX=$(PREFIX) FERROMPI_TEST_IMPL=ours $(CARGO) test --release -p mpi-tests --test c_suite; \
	  tests/slurm/checks.sh $(PREFIX)' \
	&& FERROMPI_SLURM_NODES=2 tests/slurm/with-slurm.sh tests/slurm/checks.sh $(PREFIX) \
	|| { rc=$$?; if [ $$rc -eq 77 ] && [ -z "$$CI" ]; then echo "test-slurm: skipped (needs root and Debian's slurmd, slurmctld, slurm-client, munge)"; else exit $$rc; fi; }

# mpi4py's own test suite (from its 4.1.2 sdist, built with our mpicc into build/mpi4py/venv)
# under our mpirun at 1-4 ranks, held to tests/mpi4py/ledger.txt: fails on a failure the
# ledger does not list and on a listed test that passes (tests/mpi4py/run.py).
test-mpi4py: install
	tests/mpi4py/setup.sh $(PREFIX) $(CURDIR)/build/mpi4py
	python3 tests/mpi4py/run.py --python $(CURDIR)/build/mpi4py/venv/bin/python \
	  --testdir $(CURDIR)/build/mpi4py/mpi4py-4.1.2/test --mpirun $(PREFIX)/bin/mpirun \
	  --out $(CURDIR)/build/mpi4py/results

bench: install
	python3 benches/run.py --prefix $(PREFIX)

# The performance report: benches/report.py measures ferrompi, MPICH 5 and Open MPI 5 (PyPI
# wheels) in one run (point-to-point within a host and across two namespace test hosts,
# collectives, start-up, memory, oversubscription; about 16-20 min on 2 cores), writes the
# samples to docs/performance/results.json and renders docs/performance.md and its plots
# (matplotlib in benches/.venv-report, made when missing). REPORT_ARGS=--quick: a few minutes;
# REPORT_ARGS="--only p2p,startup": a subset; REPORT_ARGS=--render-only: redraw from the JSON.
report: install
	@tools/ensure-deps.sh --with-venv
	python3 benches/report.py --prefix $(PREFIX) $(REPORT_ARGS)

# The renderer on a small fixture (benches/test_render.py): page, headline, tables, plots.
report-check:
	python3 benches/report.py --check-renderer

clean:
	$(CARGO) clean
	rm -rf build
