#!/bin/sh
# Run a command inside a private one-host Slurm cluster, then stop it (also on failure or
# interruption: a trap), leaving nothing behind:
#
#   tests/slurm/with-slurm.sh srun -n 4 ./prog
#   tests/slurm/with-slurm.sh salloc -n 4 mpirun ./prog
#
# Starts munged (own key, socket, pid and log files), slurmctld and slurmd, each with its own
# state, spool and log directories under one temporary directory, on free ports of 127.0.0.1.
# The node has CPUs=8 whatever the machine has (SlurmdParameters=config_overrides) and the
# partition oversubscribes (OverSubscribe=FORCE:4), so jobs of 8+ tasks start on 2 cores;
# MpiDefault=pmi2, so srun serves PMI-2 (and PMI-1) on PMI_FD. The command runs with
# SLURM_CONF (and MUNGE socket settings) exported; its exit status is returned.
#
# FERROMPI_SLURM_NODES=N (default 1) starts N nodes n1..nN instead of one named after this
# host: one slurmd each, with its own port, spool, TmpFS and log (a slurmd per node config
# copy), all on this host. Enough for jobs whose daemons srun starts on several nodes (our
# mpirun in an allocation); not for Slurm's own PMI across nodes, whose step daemons reach each
# other through socket paths they assume equal on every node.
#
# Installs nothing: `tools/ensure-deps.sh --with-slurm` does (Debian's slurmd, slurmctld,
# slurm-client, munge). Exit 77 (skip) when those are missing or we are not root (slurmd must
# run as root to start tasks as the user, and the config names SlurmUser=root).
set -u
[ $# -ge 1 ] || { echo "usage: $0 COMMAND [ARGS]..." >&2; exit 2; }
for t in munged slurmctld slurmd srun sinfo; do
    command -v "$t" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin"
    command -v "$t" >/dev/null 2>&1 || { echo "with-slurm: $t not found (tools/ensure-deps.sh --with-slurm installs it)" >&2; exit 77; }
done
[ "$(id -u)" = 0 ] || { echo "with-slurm: must run as root (slurmd starts the tasks)" >&2; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "with-slurm: python3 not found" >&2; exit 77; }

# slurmd starts each step's slurmstepd as a daemon (double fork): orphans go to the nearest
# "child subreaper", else to PID 1, which on some machines (containers, VM agents) never reaps,
# so every step would leave a zombie behind. So this script runs under a small Python parent
# that is a subreaper: it adopts those orphans, reaps them, and when the script ends stops and
# reaps whatever of them still runs (a step's slurmstepd and tasks whose slurmd was stopped).
if [ -z "${FERROMPI_SLURM_REAPER:-}" ]; then
    FERROMPI_SLURM_REAPER=1 exec python3 -c '
import ctypes, os, signal, sys, time
PR_SET_CHILD_SUBREAPER = 36
if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
    sys.exit("with-slurm: prctl(PR_SET_CHILD_SUBREAPER): " + os.strerror(ctypes.get_errno()))
main = os.fork()
if main == 0:
    os.execvp("sh", ["sh"] + sys.argv[1:])
# Signals for the script go to it; its trap stops the cluster.
for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(s, lambda sig, _f: os.kill(main, sig) if main else None)
status = 1
while True:
    pid, st = os.waitpid(-1, 0)
    if pid == main:
        status = os.waitstatus_to_exitcode(st)
        status = 128 - status if status < 0 else status
        main = 0
        break
def adopted():
    out = []
    for d in os.listdir("/proc"):
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == str(os.getpid()) and fields[0] != "Z":
            out.append(int(d))
    return out
def reap():
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return
# Killing a slurmstepd hands us its tasks: repeat until nothing is left (TERM first, then KILL).
for sig in [signal.SIGTERM] * 2 + [signal.SIGKILL] * 8:
    reap()
    left = adopted()
    if not left:
        break
    print("with-slurm: stopping leftover processes %s" % left, file=sys.stderr)
    for p in left:
        try:
            os.kill(p, sig)
        except OSError:
            pass
    deadline = time.time() + 2
    while time.time() < deadline and adopted():
        time.sleep(0.05)
        reap()
reap()
sys.exit(status)' "$0" "$@"
fi
unset FERROMPI_SLURM_REAPER

dir=$(mktemp -d /tmp/ferrompi-slurm.XXXXXX) || exit 1
chmod 755 "$dir"
pids=""
cmd=""
cleanup() {
    # The command, if a signal cut it short (its leftovers go to our subreaper parent).
    if [ -n "$cmd" ] && kill -0 "$cmd" 2>/dev/null; then
        kill -TERM "$cmd" 2>/dev/null
        i=0
        while kill -0 "$cmd" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    fi
    # Jobs still there (the command failed or was interrupted): cancel them while slurmd runs,
    # so that it ends their tasks, and give it a few seconds.
    if [ -n "${SLURM_CONF:-}" ] && [ -n "$(squeue -h -o %i 2>/dev/null)" ]; then
        scancel --quiet --user=root 2>/dev/null
        i=0
        while [ -n "$(squeue -h -o %i 2>/dev/null)" ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
    fi
    # Daemons in reverse order of starting, each by its pid; then wait so that nothing outlives
    # us, and remove the directory (unless FERROMPI_SLURM_KEEP asks to keep it for its logs).
    for p in $pids; do kill "$p" 2>/dev/null; done
    for p in $pids; do
        i=0
        while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        kill -9 "$p" 2>/dev/null
    done
    if [ -n "${FERROMPI_SLURM_KEEP:-}" ]; then
        echo "with-slurm: logs kept in $dir" >&2
    else
        rm -rf "$dir"
    fi
}
trap 'rc=$?; trap - EXIT; cleanup; exit $rc' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# A port of 127.0.0.1 nobody listens on (checked against /proc/net/tcp).
listening=$(awk 'NR > 1 && $4 == "0A" { split($2, a, ":"); print a[2] }' /proc/net/tcp /proc/net/tcp6 2>/dev/null)
free_port() {
    p=$1
    while :; do
        hex=$(printf '%04X' "$p")
        case " $listening $taken " in *" $hex "*) p=$((p + 1)) ;; *) break ;; esac
    done
    taken="$taken $hex"
    echo "$p"
}
taken=""
base=$((20000 + $$ % 20000))
ctld_port=$(free_port "$base")
d_port=$(free_port $((ctld_port + 1)))
nnodes=${FERROMPI_SLURM_NODES:-1}
case "$nnodes" in [1-9] | [1-9][0-9]) ;; *) echo "with-slurm: FERROMPI_SLURM_NODES=$nnodes: expected 1-99" >&2; exit 2 ;; esac
# Node k's slurmd port (node 1's is d_port, SlurmdPort).
ports=$d_port
p=$d_port
k=2
while [ $k -le "$nnodes" ]; do
    p=$(free_port $((p + 1)))
    ports="$ports $p"
    k=$((k + 1))
done
srun_lo=$(free_port $((p + 1)))

# munge: a private daemon with its own key and socket, so the host's munge (if any) is untouched.
mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
chmod 700 "$dir/munge"
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 2>/dev/null
chmod 400 "$dir/munge/munge.key"
sock="$dir/munge/munge.sock"
munged -F --force --socket="$sock" --key-file="$dir/munge/munge.key" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
    --seed-file="$dir/munge/munged.seed" >>"$dir/log/munged.out" 2>&1 &
pids="$! $pids"

host=$(hostname -s)
if [ "$nnodes" = 1 ]; then
    nodes=$host
else
    nodes=$(seq -f 'n%g' 1 "$nnodes" | tr '\n' ' ')
fi
cat >"$dir/slurm.conf" <<EOF
ClusterName=ferrompi
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
SrunPortRange=$srun_lo-$((srun_lo + 200))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
TmpFS=$dir/tmp1
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MailProg=/bin/true
MpiDefault=pmi2
SlurmdParameters=config_overrides
InactiveLimit=0
KillWait=5
MinJobAge=5
EOF
k=1
for name in $nodes; do
    echo "NodeName=$name NodeHostname=$host NodeAddr=127.0.0.1 Port=$(echo $ports | cut -d' ' -f$k) CPUs=8 State=UNKNOWN"
    k=$((k + 1))
done >>"$dir/slurm.conf"
echo "PartitionName=debug Nodes=$(echo $nodes | tr ' ' ',') Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4" >>"$dir/slurm.conf"
export SLURM_CONF="$dir/slurm.conf"
# Client commands and daemons find the private munged through AuthInfo; munge(1) through this.
export MUNGE_SOCKET="$sock"

i=0
while [ ! -S "$sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -S "$sock" ] || { echo "with-slurm: munged did not start:" >&2; cat "$dir/log/munged.out" "$dir/log/munged.log" >&2 2>/dev/null; exit 1; }

slurmctld -D -i -f "$SLURM_CONF" >>"$dir/log/slurmctld.out" 2>&1 &
pids="$! $pids"
# Node k > 1 reads a copy of the config with its own slurmd port, spool, pid file, log and
# TmpFS (where its steps keep their PMI sockets).
k=1
for name in $nodes; do
    conf=$SLURM_CONF
    mkdir -p "$dir/tmp$k"
    if [ $k -gt 1 ]; then
        conf="$dir/slurm.$k.conf"
        mkdir -p "$dir/spool$k"
        sed -e "s|^SlurmdPort=.*|SlurmdPort=$(echo $ports | cut -d' ' -f$k)|" \
            -e "s|^SlurmdSpoolDir=.*|SlurmdSpoolDir=$dir/spool$k|" \
            -e "s|^SlurmdPidFile=.*|SlurmdPidFile=$dir/slurmd.$k.pid|" \
            -e "s|^SlurmdLogFile=.*|SlurmdLogFile=$dir/log/slurmd.$k.log|" \
            -e "s|^TmpFS=.*|TmpFS=$dir/tmp$k|" "$SLURM_CONF" >"$conf"
    fi
    slurmd -D -N "$name" -f "$conf" >>"$dir/log/slurmd.$k.out" 2>&1 &
    pids="$! $pids"
    k=$((k + 1))
done

# The nodes must be idle before jobs are submitted (about 1 s).
i=0
idle=0
while [ $i -lt 300 ]; do
    idle=$(sinfo -h -N -t idle -o %N 2>/dev/null | sort -u | wc -l)
    [ "$idle" -ge "$nnodes" ] && break
    sleep 0.1
    i=$((i + 1))
done
case $((idle >= nnodes)) in
    1) ;;
    *)
        echo "with-slurm: only $idle of $nnodes nodes became idle ($(sinfo -h -N -o '%N %t' | tr '\n' ' ')); logs:" >&2
        tail -n 20 "$dir"/log/*.log "$dir"/log/*.out >&2 2>/dev/null
        exit 1
        ;;
esac

# The command runs in the background while we wait for it, so that a signal for this script
# runs its trap at once (a shell defers traps until its foreground command ends, and srun or a
# test could run for minutes). A background command would read /dev/null: give it our stdin.
exec 3<&0
"$@" <&3 3<&- &
cmd=$!
exec 3<&-
wait "$cmd"
