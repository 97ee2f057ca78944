#!/bin/sh
# Test hosts for multi-host jobs: network namespaces on one kernel.
#
#   tests/hosts/netns.sh up N     create hosts h1..hN (idempotent)
#   tests/hosts/netns.sh down     remove every test host and the bridge (idempotent)
#   tests/hosts/netns.sh status   list what exists
#
# Host hI is the namespace `ferrompi-hI`, joined by a veth pair (`fmpi-hI` in the root
# namespace, `eth0` inside) to the bridge `fmpi-br0` (198.18.0.1/15); hI has 198.18.0.(10+I)/15
# and its loopback up. 198.18.0.0/15 is the benchmarking range (RFC 2544): nothing real lives
# there. Traffic stays on the bridge: no default route, no forwarding set up.
# Run processes in a host with tests/hosts/agent.sh hI COMMAND... (own hostname too).
#
# Exit status 77 (skip) when not root or when `ip netns` cannot be used.

set -u
BR=fmpi-br0
BR_ADDR=198.18.0.1/15
PREFIX=ferrompi-h

skip() {
    echo "netns.sh: $*; skipping" >&2
    exit 77
}

need_tools() {
    [ "$(id -u)" = 0 ] || skip "needs root to make network namespaces"
    command -v ip >/dev/null 2>&1 || skip "no ip command (iproute2)"
    ip netns list >/dev/null 2>&1 || skip "ip netns is not available"
    command -v unshare >/dev/null 2>&1 || skip "no unshare command (util-linux)"
}

host_addr() {
    echo "198.18.0.$((10 + $1))"
}

up() {
    n=$1
    case $n in
        '' | *[!0-9]*) echo "netns.sh: up needs a host count" >&2; exit 2 ;;
    esac
    [ "$n" -ge 1 ] && [ "$n" -le 200 ] || { echo "netns.sh: 1..200 hosts" >&2; exit 2; }
    if ! ip link show "$BR" >/dev/null 2>&1; then
        ip link add "$BR" type bridge || skip "cannot create a bridge"
    fi
    ip addr replace "$BR_ADDR" dev "$BR" || exit 1
    ip link set "$BR" up || exit 1
    i=1
    while [ "$i" -le "$n" ]; do
        ns=$PREFIX$i
        veth=fmpi-h$i
        if ! ip netns list | grep -qx "$ns\( .*\)\?"; then
            ip netns add "$ns" || skip "cannot create network namespace $ns"
        fi
        if ! ip link show "$veth" >/dev/null 2>&1; then
            ip link add "$veth" type veth peer name eth0 netns "$ns" || exit 1
        fi
        ip link set "$veth" master "$BR" up || exit 1
        ip -n "$ns" link set lo up || exit 1
        ip -n "$ns" addr replace "$(host_addr "$i")/15" dev eth0 || exit 1
        ip -n "$ns" link set eth0 up || exit 1
        i=$((i + 1))
    done
}

down() {
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX[0-9][0-9]*\$"); do
        ip netns del "$ns" 2>/dev/null
    done
    # Deleting a namespace removes the veth pair; catch leftovers anyway.
    for veth in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep '^fmpi-h[0-9][0-9]*$'); do
        ip link del "$veth" 2>/dev/null
    done
    if ip link show "$BR" >/dev/null 2>&1; then
        ip link del "$BR"
    fi
    return 0
}

case ${1-} in
    up)
        need_tools
        up "${2-}"
        ;;
    down)
        need_tools
        down
        ;;
    status)
        need_tools
        ip netns list | grep "^$PREFIX" || true
        ip -br addr show "$BR" 2>/dev/null || true
        ;;
    *)
        echo "usage: $0 up N | down | status" >&2
        exit 2
        ;;
esac
