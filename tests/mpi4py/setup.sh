#!/bin/sh
# Builds mpi4py from its source distribution with our mpicc into a venv of its own:
#   tests/mpi4py/setup.sh PREFIX DIR
# leaves DIR/venv (mpi4py built against PREFIX's libmpi_abi.so.1) and DIR/mpi4py-$VERSION (the
# unpacked sdist, whose test/ is the suite run.py runs). PyPI's mpi4py wheels are built
# against MPICH's or Open MPI's own ABI and cannot load a standard-ABI library, hence the
# source build (about 4 minutes on a 2-core machine). Installs Debian's python3-venv and
# python3-dev (Python.h, to compile mpi4py) through apt-get when missing and run as root.
set -eu
PREFIX=$1
DIR=$2
VERSION=4.1.2
stamp="$DIR/venv/.ferrompi-mpi4py-$VERSION"
[ -f "$stamp" ] && [ -d "$DIR/mpi4py-$VERSION/test" ] && exit 0

need_apt=""
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt="$need_apt python3-venv"
python3 -c 'import os, sysconfig; assert os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h"))' \
    >/dev/null 2>&1 || need_apt="$need_apt python3-dev"
if [ -n "$need_apt" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "test-mpi4py: installing Debian packages:$need_apt"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need_apt >/dev/null
    else
        echo "test-mpi4py: please install these Debian packages:$need_apt" >&2
        exit 1
    fi
fi

mkdir -p "$DIR"
rm -rf "$DIR/venv" "$DIR/mpi4py-$VERSION"
python3 -m venv "$DIR/venv"
echo "test-mpi4py: building mpi4py $VERSION from source with $PREFIX/bin/mpicc"
"$DIR/venv/bin/pip" download -q --disable-pip-version-check --no-binary :all: --no-deps \
    -d "$DIR" "mpi4py==$VERSION"
tar -xzf "$DIR/mpi4py-$VERSION.tar.gz" -C "$DIR"
MPICC="$PREFIX/bin/mpicc" "$DIR/venv/bin/pip" install -q --disable-pip-version-check \
    --no-cache-dir "$DIR/mpi4py-$VERSION"
"$DIR/venv/bin/python" -c 'import mpi4py.MPI'
touch "$stamp"
