#!/bin/sh
# Our PMI client under srun, and our mpirun inside Slurm allocations. Runs in a cluster, as
# `make test-slurm` does:
#
#   tests/slurm/with-slurm.sh tests/slurm/checks.sh PREFIX
#
# PREFIX is an install tree (make install PREFIX=...). Checks:
#  0. `srun --mpi=pmi2 -n 3` of the PMI test client, speaking PMI-1 and PMI-2 to slurmd: rank,
#     size, appnum -1 (Slurm's), one job id, an exchange of puts after the fence, values split
#     over keys (put_long), PMI_process_mapping (PMI-1: a KVS key; PMI-2: a job attribute);
#     MPI_Abort's message reaches srun's stderr (Slurm prints none of its own) in both;
#  1. `salloc -n 4 mpirun -n 4 hello`: every rank once, of 4, the allreduce right, exit 0;
#  2. without -n, mpirun takes the allocation's task count (salloc -n 3: 3 ranks), and the
#     ranks run inside a Slurm step (srun started their daemon: SLURM_STEP_ID is set in the
#     ranks, not in the salloc shell);
#     The same from a batch script (sbatch --wait).
#  3. exit codes propagate: a rank's exit status 3 (launcher_exit_code.c), MPI_Abort's code 7
#     with its message (abort_code.c);
#  4. -H overrides the allocation: `mpirun -H localhost:2` starts its ranks outside any step;
#  5. an srun that fails (FERROMPI_SRUN=false) fails the job promptly, non-zero, with a message;
#  6. afterwards no daemon of ours is left and no job is left in the queue.
#
# In a cluster of several nodes (FERROMPI_SLURM_NODES=2 tests/slurm/with-slurm.sh ...) it
# checks instead that mpirun in `salloc -N 2` starts one daemon per node through one srun step
# and places the ranks as the allocation says (SLURM_TASKS_PER_NODE=2(x2): ranks 0-1 on the
# first node, 2-3 on the second; an uneven allocation too), that they exchange through mpirun's
# PMI across the nodes, that exit codes come back, and that nothing is left.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ $# -eq 1 ] || { echo "usage: $0 PREFIX (under tests/slurm/with-slurm.sh)" >&2; exit 2; }
prefix=$(cd "$1" && pwd) || exit 2
[ -n "${SLURM_CONF-}" ] || { echo "checks.sh: run me under tests/slurm/with-slurm.sh" >&2; exit 2; }
mpirun=$prefix/bin/mpirun
client=$root/target/release/ferrompi-pmi-testclient
[ -x "$client" ] || { echo "checks.sh: $client is missing (cargo build --release --workspace)" >&2; exit 2; }
tmp=$(mktemp -d /tmp/ferrompi-slurm-checks.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
failed=0
T=60 # seconds for any one job

fail() {
    echo "checks.sh: FAILED: $*" >&2
    failed=1
}
ok() {
    echo "checks.sh: ok: $*"
}
# show FILE...: the output of a failed check
show() {
    for f in "$@"; do
        echo "  --- $(basename "$f") ---" >&2
        sed 's/^/    /' "$f" >&2
    done
}

# Nothing left: daemons of this install, jobs in the queue.
no_leftovers() {
    left=""
    for i in 1 2 3 4 5 6 7 8 9 10; do
        left=$(pgrep -f -- "^$mpirun --ferrompi-daemon" || true)
        jobs=$(squeue -h -o %i)
        [ -z "$left" ] && [ -z "$jobs" ] && break
        sleep 0.5
    done
    if [ -z "$left" ] && [ -z "$jobs" ]; then
        ok "no daemon or job left"
    else
        fail "left behind: daemons [$left], jobs [$jobs]"
    fi
}

for prog in hello:examples/hello.c exit3:tests/c/launcher_exit_code.c abort7:tests/c/abort_code.c; do
    "$prefix/bin/mpicc" -O1 -I "$root/tests/c" -o "$tmp/${prog%%:*}" "$root/${prog#*:}" -lm || exit 1
done

# Several nodes (all on this host): mpirun's srun path across them, then done.
nnodes=$(sinfo -h -N -o %N | sort -u | wc -l)
if [ "$nnodes" -ge 2 ]; then
    first=$(sinfo -h -N -o %N | sort -u | sed -n 1p)
    second=$(sinfo -h -N -o %N | sort -u | sed -n 2p)
    timeout $T salloc -N 2 -n 4 --ntasks-per-node=2 --quiet "$mpirun" "$client" init info env:SLURMD_NODENAME exchange finalize \
        >"$tmp/m1.out" 2>"$tmp/m1.err"
    rc=$?
    if [ $rc -eq 0 ] && [ "$(grep -c '^rank [0-3] exchanged 4$' "$tmp/m1.out")" = 4 ]; then
        ok "salloc -N 2 -n 4: mpirun's ranks exchange across nodes"
    else
        fail "salloc -N 2 -n 4 mpirun: exit $rc"
        show "$tmp/m1.out" "$tmp/m1.err"
    fi
    timeout $T salloc -N 2 -n 4 --ntasks-per-node=2 --quiet "$mpirun" --tag-output "$client" init env:SLURMD_NODENAME finalize \
        >"$tmp/m2.out" 2>"$tmp/m2.err"
    rc=$?
    place=$(sed -n 's/^\[\([0-9]*\)\] SLURMD_NODENAME=\(.*\)/\1:\2/p' "$tmp/m2.out" | sort | tr '\n' ' ')
    if [ $rc -eq 0 ] && [ "$place" = "0:$first 1:$first 2:$second 3:$second " ]; then
        ok "salloc -N 2 --ntasks-per-node=2 mpirun: ranks 0-1 on $first, 2-3 on $second (one srun step)"
    else
        fail "salloc -N 2 --ntasks-per-node=2 mpirun: exit $rc, placement '$place'"
        show "$tmp/m2.out" "$tmp/m2.err"
    fi
    timeout $T salloc -N 2 -n 3 --quiet sh -c 'echo "$SLURM_TASKS_PER_NODE" >"$0"; exec "$1" --tag-output "$2" init env:SLURMD_NODENAME finalize' \
        "$tmp/m3.tasks" "$mpirun" "$client" >"$tmp/m3.out" 2>"$tmp/m3.err"
    rc=$?
    # Expected: the allocation's counts per node, in node order.
    want=$(awk -F, '{ r = 0; for (i = 1; i <= NF; i++) { n = $i; c = 1; if (n ~ /\(x/) { c = n; sub(/.*\(x/, "", c); sub(/\)/, "", c); sub(/\(.*/, "", n) } for (j = 0; j < c; j++) { k++; for (t = 0; t < n; t++) printf "%d:node%d ", r++, k } } }' "$tmp/m3.tasks")
    want=$(echo "$want" | sed "s/node1/$first/g; s/node2/$second/g")
    place=$(sed -n 's/^\[\([0-9]*\)\] SLURMD_NODENAME=\(.*\)/\1:\2/p' "$tmp/m3.out" | sort | tr '\n' ' ')
    if [ $rc -eq 0 ] && [ "$place" = "$want" ]; then
        ok "salloc -N 2 -n 3 (tasks per node $(cat "$tmp/m3.tasks")): mpirun places ranks $place"
    else
        fail "salloc -N 2 -n 3 mpirun: exit $rc, placement '$place', expected '$want'"
        show "$tmp/m3.tasks" "$tmp/m3.out" "$tmp/m3.err"
    fi
    timeout $T salloc -N 2 -n 4 --ntasks-per-node=2 --quiet "$mpirun" "$tmp/exit3" >"$tmp/m4.out" 2>"$tmp/m4.err"
    rc=$?
    if [ $rc -eq 3 ]; then
        ok "across nodes a rank's exit status 3 is mpirun's"
    else
        fail "launcher_exit_code across nodes: expected exit 3, got $rc"
        show "$tmp/m4.out" "$tmp/m4.err"
    fi
    timeout $T salloc -N 2 -n 4 --ntasks-per-node=2 --quiet "$mpirun" "$tmp/hello" >"$tmp/m5.out" 2>"$tmp/m5.err"
    rc=$?
    if [ $rc -eq 0 ] && grep -q 'sum of ranks = 6 (expected 6)' "$tmp/m5.out"; then
        ok "across nodes hello runs (ring and allreduce)"
    else
        fail "hello across nodes: exit $rc"
        show "$tmp/m5.out" "$tmp/m5.err"
    fi
    no_leftovers
    [ $failed -eq 0 ] && echo "checks.sh: all checks passed ($nnodes nodes)"
    exit $failed
fi

# 0. PMI under srun, both protocols
for v in 1 2; do
    FERROMPI_PMI=$v timeout $T srun --mpi=pmi2 -n 3 --quiet "$client" init info exchange long mapping finalize \
        >"$tmp/0.$v.out" 2>"$tmp/0.$v.err"
    rc=$?
    infos=$(grep -c '^rank=[0-2] size=3 appnum=-1 jobid=[0-9]*\.[0-9]* ' "$tmp/0.$v.out")
    jobs=$(sed -n 's/.* jobid=\([^ ]*\) .*/\1/p' "$tmp/0.$v.out" | sort -u | wc -l)
    if [ $rc -eq 0 ] && [ "$infos" = 3 ] && [ "$jobs" = 1 ] && [ "$(grep -c '^rank [0-2] exchanged 3$' "$tmp/0.$v.out")" = 3 ] &&
        [ "$(grep -c '^rank [0-2] long ok$' "$tmp/0.$v.out")" = 3 ] && [ "$(grep -c '^mapping=(vector,(0,1,3))$' "$tmp/0.$v.out")" = 3 ]; then
        ok "srun --mpi=pmi2 -n 3, PMI-$v: ranks, appnum -1, exchange, long values, process mapping"
    else
        fail "srun --mpi=pmi2 -n 3, PMI-$v: exit $rc"
        show "$tmp/0.$v.out" "$tmp/0.$v.err"
    fi
    FERROMPI_PMI=$v timeout $T srun --mpi=pmi2 -n 2 --quiet "$tmp/abort7" >"$tmp/0a.$v.out" 2>"$tmp/0a.$v.err"
    rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "MPI_Abort called with error code 7" "$tmp/0a.$v.err"; then
        ok "srun, PMI-$v: MPI_Abort(7) ends the step (exit $rc) and its message is shown"
    else
        fail "srun, PMI-$v: MPI_Abort: exit $rc"
        show "$tmp/0a.$v.out" "$tmp/0a.$v.err"
    fi
done

# 1. the allocation's job, ranks right
timeout $T salloc -n 4 --quiet "$mpirun" -n 4 "$tmp/hello" >"$tmp/1.out" 2>"$tmp/1.err"
rc=$?
n=$(grep -c 'of 4 on' "$tmp/1.out")
ranks=$(sed -n 's/^hello from rank \([0-9]*\) of 4 on .*/\1/p' "$tmp/1.out" | sort -n | tr '\n' ' ')
if [ $rc -eq 0 ] && [ "$n" = 4 ] && [ "$ranks" = "0 1 2 3 " ] && grep -q 'sum of ranks = 6 (expected 6)' "$tmp/1.out"; then
    ok "salloc -n 4 mpirun -n 4 hello: ranks 0-3 of 4, exit 0"
else
    fail "salloc -n 4 mpirun -n 4 hello: exit $rc, ranks '$ranks'"
    show "$tmp/1.out" "$tmp/1.err"
fi

# 2. -n from the allocation; the ranks are in a step (srun started the daemon)
timeout $T salloc -n 3 --quiet sh -c 'unset SLURM_STEP_ID SLURM_STEPID; exec "$0" "$@"' \
    "$mpirun" "$client" init info env:SLURM_STEP_ID finalize >"$tmp/2.out" 2>"$tmp/2.err"
rc=$?
infos=$(grep -c '^rank=[0-2] size=3 ' "$tmp/2.out")
steps=$(grep -c '^SLURM_STEP_ID=[0-9][0-9]*$' "$tmp/2.out")
if [ $rc -eq 0 ] && [ "$infos" = 3 ] && [ "$steps" = 3 ]; then
    ok "salloc -n 3 mpirun (no -n): 3 ranks, each inside an srun step"
else
    fail "salloc -n 3 mpirun: exit $rc, $infos ranks of 3, $steps in a step"
    show "$tmp/2.out" "$tmp/2.err"
fi

# 2b. the same from a batch script (sbatch: mpirun runs in the batch step, on the node)
timeout $T sbatch --wait --quiet -n 2 -o "$tmp/2b.out" -e "$tmp/2b.err" \
    --wrap "unset SLURM_STEP_ID SLURM_STEPID; exec '$mpirun' '$client' init info env:SLURM_STEP_ID finalize"
rc=$?
touch "$tmp/2b.out" "$tmp/2b.err"
if [ $rc -eq 0 ] && [ "$(grep -c '^rank=[01] size=2 ' "$tmp/2b.out")" = 2 ] && [ "$(grep -c '^SLURM_STEP_ID=[0-9][0-9]*$' "$tmp/2b.out")" = 2 ]; then
    ok "sbatch -n 2 with mpirun in the script: 2 ranks, each inside an srun step"
else
    fail "sbatch -n 2 mpirun: exit $rc"
    show "$tmp/2b.out" "$tmp/2b.err"
fi

# 3. exit codes
timeout $T salloc -n 3 --quiet "$mpirun" -n 3 "$tmp/exit3" >"$tmp/3.out" 2>"$tmp/3.err"
rc=$?
if [ $rc -eq 3 ]; then
    ok "a rank's exit status 3 is mpirun's"
else
    fail "launcher_exit_code under salloc: expected exit 3, got $rc"
    show "$tmp/3.out" "$tmp/3.err"
fi
timeout $T salloc -n 2 --quiet "$mpirun" -n 2 "$tmp/abort7" >"$tmp/3b.out" 2>"$tmp/3b.err"
rc=$?
if [ $rc -eq 7 ] && grep -q 'MPI_Abort' "$tmp/3b.err"; then
    ok "MPI_Abort(7) makes mpirun exit 7, with the message"
else
    fail "abort_code under salloc: expected exit 7 and a message, got $rc"
    show "$tmp/3b.out" "$tmp/3b.err"
fi

# 4. -H wins over the allocation: no srun, so no step in the ranks
timeout $T salloc -n 2 --quiet sh -c 'unset SLURM_STEP_ID SLURM_STEPID; exec "$0" "$@"' \
    "$mpirun" -H localhost:2 "$client" init info env:SLURM_STEP_ID finalize >"$tmp/4.out" 2>"$tmp/4.err"
rc=$?
if [ $rc -eq 0 ] && [ "$(grep -c '^rank=[01] size=2 ' "$tmp/4.out")" = 2 ] && [ "$(grep -c '^SLURM_STEP_ID unset$' "$tmp/4.out")" = 2 ]; then
    ok "mpirun -H localhost:2 in an allocation starts its ranks itself"
else
    fail "mpirun -H localhost:2 under salloc: exit $rc"
    show "$tmp/4.out" "$tmp/4.err"
fi

# 5. srun failing
start=$(date +%s)
FERROMPI_SRUN=false timeout $T salloc -n 2 --quiet "$mpirun" -n 2 "$tmp/hello" >"$tmp/5.out" 2>"$tmp/5.err"
rc=$?
took=$(($(date +%s) - start))
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $took -lt 20 ] && grep -q 'launch agent exited with code 1' "$tmp/5.err"; then
    ok "a failing srun fails the job (exit $rc in ${took} s) and says so"
else
    fail "FERROMPI_SRUN=false: exit $rc after ${took} s"
    show "$tmp/5.out" "$tmp/5.err"
fi

# 6. nothing left
no_leftovers

if [ $failed -eq 0 ]; then
    echo "checks.sh: all checks passed"
fi
exit $failed
