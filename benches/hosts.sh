#!/bin/sh
# Latency and bandwidth between two test hosts (network namespaces, tests/hosts/): ferrompi's
# osu_latency/osu_bw over libfabric against raw fi_pingpong (libfabric-bin) on the same
# provider, interleaved, REPS times each. Needs root (namespaces) and `make install`.
#
#   benches/hosts.sh [REPS] [PROVIDER]      # defaults: 5, "tcp;ofi_rxm"
set -eu
cd "$(dirname "$0")/.."
if [ "${1:-}" != --inside ]; then
    prefix=${FERROMPI_PREFIX:-$PWD/build/install}
    mkdir -p build
    "$prefix/bin/mpicc" -O2 -o build/osu_latency benches/osu_latency.c
    "$prefix/bin/mpicc" -O2 -o build/osu_bw benches/osu_bw.c
    exec tests/hosts/with-hosts.sh 2 "$0" --inside "${1:-5}" "${2:-tcp;ofi_rxm}" "$prefix"
fi
reps=$2 prov=$3 prefix=$4
agent="$PWD/tests/hosts/agent.sh"

pingpong() { # SIZE ITERS -> "usec/xfer MB/sec" of fi_pingpong (one-way latency)
    ip netns exec ferrompi-h2 timeout 60 fi_pingpong -p "$prov" -e rdm -m tagged -I "$2" -S "$1" >/dev/null 2>&1 &
    sleep 0.5
    ip netns exec ferrompi-h1 timeout 60 fi_pingpong -p "$prov" -e rdm -m tagged -I "$2" -S "$1" 198.18.0.12 2>&1 | tail -1 | awk '{print $7, $6}'
    wait
}
ours() { # PROGRAM ARGS... -> its data lines
    FI_PROVIDER="$prov" timeout 120 "$prefix/bin/mpirun" -H h1:1,h2:1 --launch-agent "$agent" -n 2 "$@" | grep -v '^#'
}
echo "# provider $prov, $reps repetitions, interleaved; one-way latency in us, bandwidth in MB/s"
echo "# rep raw_lat_8B ours_lat_8B raw_lat_4MiB ours_lat_4MiB raw_pingpong_MBps_4MiB ours_bw_MBps_4MiB"
i=1
while [ "$i" -le "$reps" ]; do
    set -- $(pingpong 8 10000)
    raw8=$1
    ours8=$(ours build/osu_latency -s 8 -i 10000 | awk '{print $2}')
    set -- $(pingpong 4194304 200)
    raw4lat=$1 raw4bw=$2
    ours4lat=$(ours build/osu_latency -s 4194304 | awk '{print $2}')
    ours4bw=$(ours build/osu_bw -s 4194304 | awk '{print $2}')
    echo "$i $raw8 $ours8 $raw4lat $ours4lat $raw4bw $ours4bw"
    i=$((i + 1))
done
