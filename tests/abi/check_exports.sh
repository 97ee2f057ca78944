#!/usr/bin/env bash
# Compare the functions exported by our libmpi_abi with MPICH's.
#
#   tests/abi/check_exports.sh OUR_LIB VENV_DIR
#
# OUR_LIB: our built libmpi_abi.so(.1); VENV_DIR: a venv with mpich==5.0.2.
# Every MPI_/PMPI_ function MPICH exports that is declared in its standard-ABI
# header (so: no MPIX_, no MPICH-private names, none of the MPI-1 functions that
# were removed from the standard) must be exported by ours.  Other differences
# are listed.  Exit status 1 if ours lacks a standard function.
set -euo pipefail
ours="${1:?usage: $0 OUR_LIB VENV_DIR}"
venv="${2:?usage: $0 OUR_LIB VENV_DIR}"
theirs="$venv/lib/libmpi_abi.so.1"
header="$venv/include/mpi_abi.h"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

syms() { nm -D --defined-only "$1" | awk '$2 ~ /^[TW]$/ {print $3}' | grep -E '^P?MPI_' | sort -u; }
syms "$ours" > "$tmp/ours"
syms "$theirs" > "$tmp/theirs"
grep -oE '\bP?MPI_[A-Za-z0-9_]+[[:space:]]*\(' "$header" | tr -d '( \t' | sort -u > "$tmp/declared"
comm -12 "$tmp/theirs" "$tmp/declared" > "$tmp/standard"

missing="$(comm -23 "$tmp/standard" "$tmp/ours")"
echo "MPICH exports $(wc -l < "$tmp/theirs") MPI_/PMPI_ symbols, $(wc -l < "$tmp/standard") of them declared in mpi_abi.h;"
echo "ours exports $(wc -l < "$tmp/ours")."
echo "exported by MPICH but not declared in its ABI header (ignored):"
comm -23 "$tmp/theirs" "$tmp/declared" | sed 's/^/  /'
extra="$(comm -13 "$tmp/theirs" "$tmp/ours")"
[ -z "$extra" ] || { echo "exported only by ours:"; echo "$extra" | sed 's/^/  /'; }
if [ -n "$missing" ]; then
    echo "FAIL: standard functions MPICH exports that ours lacks:"; echo "$missing" | sed 's/^/  /'
    exit 1
fi
echo "check_exports: OK"
