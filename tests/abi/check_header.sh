#!/usr/bin/env bash
# Check include/mpi.h against another implementation's standard-ABI header.
#
#   tests/abi/check_header.sh VENV_DIR
#
# VENV_DIR holds `pip install mpich==5.0.2` (for $VENV_DIR/include/mpi_abi.h).
#  1. our header compiles warning-free as C99, C11 and C++ (-Wall -Wextra -pedantic);
#  2. tests/abi/abi_constants.c (generated) prints every constant's name, C type
#     and value, every type's size/alignment and MPI_Status's layout; built once
#     with each header, the two outputs must be identical;
#  3. every PMPI_ prototype and callback typedef of theirs (MPIX_ excluded) is
#     declared identically in ours (tests/abi/compare_protos.py).
# Exit status is non-zero on any difference.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${1:?usage: $0 VENV_DIR (a venv with mpich==5.0.2 installed)}"
venv="$(cd "$venv" && pwd)"
theirs="$venv/include/mpi_abi.h"
ours="$root/include/mpi.h"
[ -f "$theirs" ] || { echo "check_header: $theirs not found (pip install mpich==5.0.2)" >&2; exit 2; }
[ -f "$ours" ] || { echo "check_header: $ours not found (python3 abi/gen/generate.py)" >&2; exit 2; }
CC="${CC:-cc}"
CXX="${CXX:-c++}"
py="$(command -v python3)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail=0

# 1. clean compiles
printf '#include <mpi.h>\nint main(void) { MPI_Comm c = MPI_COMM_WORLD; return c == MPI_COMM_NULL; }\n' > "$tmp/use.c"
cp "$tmp/use.c" "$tmp/use.cc"
for std in c99 c11; do
    "$CC" -std=$std -Wall -Wextra -pedantic -Werror -I"$root/include" -c "$tmp/use.c" -o "$tmp/use.o" \
        || { echo "FAIL: mpi.h does not compile cleanly as $std"; fail=1; }
done
"$CXX" -std=c++11 -Wall -Wextra -pedantic -Werror -I"$root/include" -c "$tmp/use.cc" -o "$tmp/use.o" \
    || { echo "FAIL: mpi.h does not compile cleanly as C++11"; fail=1; }

# 2. constants, types, layout
build_and_run() {  # $1 header, $2 output
    "$CC" -std=c11 -Wall -Wextra -Werror -DHEADER="\"$1\"" "$here/abi_constants.c" -o "$tmp/prog" \
        2> "$tmp/cc.err" || { head -40 "$tmp/cc.err"; return 1; }
    "$tmp/prog" > "$2"
}
build_and_run "$ours" "$tmp/ours.txt" || { echo "FAIL: abi_constants.c with our mpi.h"; fail=1; }
build_and_run "$theirs" "$tmp/theirs.txt" || { echo "FAIL: abi_constants.c with $theirs"; fail=1; }
if [ -s "$tmp/ours.txt" ] && [ -s "$tmp/theirs.txt" ]; then
    if diff -u "$tmp/theirs.txt" "$tmp/ours.txt"; then
        echo "constants: $(wc -l < "$tmp/ours.txt") lines identical"
    else
        echo "FAIL: constants differ (- theirs, + ours)"; fail=1
    fi
fi

# 2b. every MPI_ constant of theirs (MPIX excluded) is one we print
grep -oE '^[[:space:]]*(#define[[:space:]]+)?MPI_[A-Z0-9_]+[[:space:]]*(=|[[:space:]]\(\(|[[:space:]]+MPI_|[[:space:]]+[0-9])' "$theirs" \
    | grep -oE 'MPI_[A-Z0-9_]+' | sort -u > "$tmp/their_names.txt"
awk '{print $1}' "$tmp/ours.txt" | grep -E '^MPI_[A-Z0-9_]+$' | sort -u > "$tmp/our_names.txt"
missing="$(comm -23 "$tmp/their_names.txt" "$tmp/our_names.txt" | grep -vE '^MPI_H_ABI$' || true)"
if [ -n "$missing" ]; then
    echo "FAIL: constants of theirs not checked/defined by ours:"; echo "$missing"; fail=1
fi

# 3. prototypes and callback types
"$py" "$here/compare_protos.py" "$ours" "$theirs" | grep -v '^note: only in ours' || fail=1

if [ "$fail" -ne 0 ]; then echo "check_header: FAILED"; exit 1; fi
echo "check_header: OK"
