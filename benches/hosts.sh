#!/bin/sh
# Latency and bandwidth between two test hosts (network namespaces, tests/hosts/): ferrompi's
# osu_latency/osu_bw over libfabric against raw fi_pingpong (libfabric-bin) and against the
# same programs built with MPICH's mpicc (ch4:ofi netmod, MPIR_CVAR_CH4_NETMOD=ofi), all on the
# same libfabric provider, interleaved, REPS times each. Needs root (namespaces) and
# `make install`; MPICH is taken from $MPICH_PREFIX (default .venv, the `mpich` wheel) and its
# columns read "-" when it is not there.
#
#   benches/hosts.sh [REPS] [PROVIDER]      # defaults: 5, "tcp;ofi_rxm"
#
# MPICH runs under its own launcher, hydra: mpiexec stays in the root namespace (its control
# port on the bridge address 198.18.0.1), and its ssh launcher starts one hydra_pmi_proxy in
# each test host through this script, which hydra calls like ssh (`hosts.sh -x HOST WORDS...`,
# the words meant for a remote shell) and which hands them to tests/hosts/agent.sh.
set -eu
if [ "${1:-}" = -x ]; then
    host=$2
    shift 2
    exec "$(cd "$(dirname "$0")/.." && pwd)/tests/hosts/agent.sh" "$host" sh -c "$*"
fi
cd "$(dirname "$0")/.."
if [ "${1:-}" != --inside ]; then
    prefix=${FERROMPI_PREFIX:-$PWD/build/install}
    mpich=${MPICH_PREFIX:-$PWD/.venv}
    mkdir -p build/mpich
    "$prefix/bin/mpicc" -O2 -o build/osu_latency benches/osu_latency.c
    "$prefix/bin/mpicc" -O2 -o build/osu_bw benches/osu_bw.c
    if [ -x "$mpich/bin/mpicc" ] && [ -x "$mpich/bin/mpiexec.hydra" ]; then
        "$mpich/bin/mpicc" -O2 -o build/mpich/osu_latency benches/osu_latency.c
        "$mpich/bin/mpicc" -O2 -o build/mpich/osu_bw benches/osu_bw.c
    else
        echo "hosts.sh: no MPICH under $mpich (bin/mpicc, bin/mpiexec.hydra); its columns will be -" >&2
        mpich=
    fi
    exec tests/hosts/with-hosts.sh 2 "$0" --inside "${1:-5}" "${2:-tcp;ofi_rxm}" "$prefix" "$mpich"
fi
reps=$2 prov=$3 prefix=$4 mpich=$5
agent="$PWD/tests/hosts/agent.sh"
self="$PWD/benches/hosts.sh"

pingpong() { # SIZE ITERS -> "usec/xfer MB/sec" of fi_pingpong (one-way latency)
    ip netns exec ferrompi-h2 timeout 60 fi_pingpong -p "$prov" -e rdm -m tagged -I "$2" -S "$1" >/dev/null 2>&1 &
    sleep 0.5
    ip netns exec ferrompi-h1 timeout 60 fi_pingpong -p "$prov" -e rdm -m tagged -I "$2" -S "$1" 198.18.0.12 2>&1 | tail -1 | awk '{print $7, $6}'
    wait
}
ours() { # PROGRAM ARGS... -> its data lines
    FI_PROVIDER="$prov" timeout 120 "$prefix/bin/mpirun" -H h1:1,h2:1 --launch-agent "$agent" -n 2 "$@" | grep -v '^#'
}
# MPICH: ch4's ofi netmod on the same provider. Each rank is alone on its host (hydra gives each
# host its own node id), so MPICH's shared-memory path is not used; MPIR_CVAR_NOLOCAL=1 makes
# sure of that anyway. hydra passes the environment on to the ranks.
mpich_run() { # PROGRAM ARGS... -> its output (stdout and stderr)
    MPIR_CVAR_CH4_NETMOD=ofi MPIR_CVAR_NOLOCAL=1 FI_PROVIDER="$prov" timeout 120 \
        "$mpich/bin/mpiexec.hydra" -hosts h1,h2 -launcher ssh -launcher-exec "$self" \
        -localhost 198.18.0.1 -n 2 "$@" 2>&1
}
theirs() { # PROGRAM ARGS... -> its data lines ("-" when MPICH is absent or the run failed)
    if [ -z "$mpich" ]; then
        echo "0 -"
        return
    fi
    prog=$1
    shift
    out=$(mpich_run "build/mpich/$prog" "$@") || true
    if ! echo "$out" | grep '^[0-9]'; then
        echo "hosts.sh: MPICH $prog $* gave no result:" >&2
        echo "$out" | tail -5 >&2
        echo "0 -"
    fi
}
num() { # VALUE -> VALUE when it is a number, else "-"
    case $1 in
        '' | *[!0-9.]*) echo - ;;
        *) echo "$1" ;;
    esac
}
hosts_id() { # the two test hosts' namespace inodes; it changes when they are removed or remade
    # meanwhile (netns.sh's names are global: another user's `netns.sh down` removes ours too)
    stat -L -c %i /run/netns/ferrompi-h1 /run/netns/ferrompi-h2 2>/dev/null | tr '\n' ' '
}
veth_bytes() { # bytes through h1's veth, both directions
    echo $(($(cat /sys/class/net/fmpi-h1/statistics/tx_bytes) + $(cat /sys/class/net/fmpi-h1/statistics/rx_bytes)))
}

hosts=$(hosts_id)
echo "# provider $prov, $reps repetitions, interleaved; one-way latency in us, bandwidth in MB/s"
if [ -n "$mpich" ]; then
    # Which provider MPICH's own libfabric picked, and proof that its bytes cross the veth.
    before=$(veth_bytes)
    summary=$(MPIR_CVAR_DEBUG_SUMMARY=1 mpich_run build/mpich/osu_latency -s 1048576 -I 20 -X 2) || true
    moved=$(($(veth_bytes) - before))
    picked=$(echo "$summary" | sed -n 's/^libfabric provider: //p' | head -1)
    fiver=$(echo "$summary" | sed -n 's/.*current version: \([0-9]*\).*/\1/p' | head -1)
    data=$(echo "$summary" | grep '^1048576 ' || true)
    echo "# mpich: $("$mpich/bin/mpichversion" | sed -n 's/^MPICH Version: *//p'), ch4:ofi, libfabric API $fiver, provider: ${picked:-unknown (run failed?)}"
    echo "# mpich check: 1 MiB ping-pong x22 (${data:-no result}) moved $moved bytes over fmpi-h1 (expected >= $((22 * 2 * 1048576)))"
fi
echo "# rep raw_lat_8B ours_lat_8B mpich_lat_8B raw_lat_4MiB ours_lat_4MiB mpich_lat_4MiB raw_pingpong_MBps_4MiB ours_bw_MBps_4MiB mpich_bw_MBps_4MiB"
i=1
while [ "$i" -le "$reps" ]; do
    set -- $(pingpong 8 10000) - -
    raw8=$1
    ours8=$(ours build/osu_latency -s 8 -i 10000 | awk '{print $2}')
    mpich8=$(theirs osu_latency -s 8 -i 10000 | awk '{print $2}')
    set -- $(pingpong 4194304 200) - -
    raw4lat=$1 raw4bw=$2
    ours4lat=$(ours build/osu_latency -s 4194304 | awk '{print $2}')
    mpich4lat=$(theirs osu_latency -s 4194304 | awk '{print $2}')
    ours4bw=$(ours build/osu_bw -s 4194304 | awk '{print $2}')
    mpich4bw=$(theirs osu_bw -s 4194304 | awk '{print $2}')
    if [ "$(hosts_id)" != "$hosts" ]; then
        echo "hosts.sh: the test hosts were removed or remade during repetition $i (by another user" \
            "of tests/hosts/?); its numbers are void, stopping" >&2
        exit 1
    fi
    row=
    for v in "$raw8" "$ours8" "$mpich8" "$raw4lat" "$ours4lat" "$mpich4lat" "$raw4bw" "$ours4bw" "$mpich4bw"; do
        row="$row $(num "$v")"
    done
    echo "$i$row"
    i=$((i + 1))
done
