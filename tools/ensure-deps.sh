#!/bin/sh
# Installs what `make run` and `make test` need and is missing: C and C++ compilers and
# pkg-config (Debian's gcc, g++, pkgconf), libfabric (libfabric-dev, libfabric-bin),
# iproute2 for the test hosts (and, as root, openssh-server and openssh-client to run jobs
# through ssh into them),
# and a Python venv at .venv with the PyPI packages the tests use (MPICH's standard-ABI build
# as the binary-compatibility reference, and the MPI Forum's API description for the header
# generator). Rust (cargo) must already be installed: https://rustup.rs
#
# Options: --with-venv (the venv), --with-slurm (as root: Slurm and munge, Debian's slurmd,
# slurmctld, slurm-client and munge, for `make test-slurm`; not as root nothing is installed and
# that test skips itself).
set -eu
cd "$(dirname "$0")/.."
with_venv=no
with_slurm=no
for a in "$@"; do
    case "$a" in
        --with-venv) with_venv=yes ;;
        --with-slurm) with_slurm=yes ;;
        *) echo "ensure-deps: unknown option $a" >&2; exit 2 ;;
    esac
done

need_apt=""
command -v cc >/dev/null 2>&1 || need_apt="$need_apt gcc libc6-dev"
command -v c++ >/dev/null 2>&1 || need_apt="$need_apt g++"
command -v pkg-config >/dev/null 2>&1 || need_apt="$need_apt pkgconf"
# libfabric (headers and library for transport-efa; fi_info for the tests).
[ -f /usr/include/rdma/fabric.h ] || need_apt="$need_apt libfabric-dev"
command -v fi_info >/dev/null 2>&1 || need_apt="$need_apt libfabric-bin"
# Test hosts are network namespaces (ip netns, unshare --uts).
command -v ip >/dev/null 2>&1 || need_apt="$need_apt iproute2"
command -v unshare >/dev/null 2>&1 || need_apt="$need_apt util-linux"
# ssh, mpirun's default launch agent, tested against an sshd in each test host
# (tests/hosts/ssh-hosts.sh): only as root, like the test hosts themselves.
if [ "$(id -u)" = 0 ]; then
    [ -x /usr/sbin/sshd ] || need_apt="$need_apt openssh-server"
    command -v ssh >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1 || need_apt="$need_apt openssh-client"
fi
command -v python3 >/dev/null 2>&1 || need_apt="$need_apt python3"
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt="$need_apt python3-venv"
if [ -n "$need_apt" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "ensure-deps: installing Debian packages:$need_apt"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need_apt >/dev/null
    else
        echo "ensure-deps: please install these Debian packages:$need_apt" >&2
        exit 1
    fi
fi
# A private Slurm cluster for tests/slurm (daemons in /usr/sbin, clients in /usr/bin), as root
# only: slurmd must run as root.
if [ "$with_slurm" = yes ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    need_slurm=""
    [ -x /usr/sbin/slurmctld ] || need_slurm="$need_slurm slurmctld"
    [ -x /usr/sbin/slurmd ] || need_slurm="$need_slurm slurmd"
    command -v srun >/dev/null 2>&1 && command -v salloc >/dev/null 2>&1 || need_slurm="$need_slurm slurm-client"
    [ -x /usr/sbin/munged ] || need_slurm="$need_slurm munge"
    if [ -n "$need_slurm" ]; then
        echo "ensure-deps: installing Debian packages:$need_slurm"
        # Without recommends (mailers, documentation: not needed to run jobs); the lock timeout
        # rides out an apt-get that a fresh machine may be running by itself.
        apt-get -o DPkg::Lock::Timeout=300 update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
                --no-install-recommends $need_slurm >/dev/null
    fi
fi
command -v cargo >/dev/null 2>&1 || { echo "ensure-deps: cargo not found; install Rust from https://rustup.rs" >&2; exit 1; }

if [ "$with_venv" = yes ]; then
    stamp=.venv/.ferrompi-deps-1
    if [ ! -f "$stamp" ]; then
        [ -x .venv/bin/python ] || python3 -m venv .venv
        echo "ensure-deps: installing PyPI packages into .venv (mpich, pympistandard)"
        .venv/bin/pip install -q --disable-pip-version-check mpich==5.0.2 pympistandard==0.2.0
        touch "$stamp"
    fi
fi
