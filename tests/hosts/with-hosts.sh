#!/bin/sh
# Run a command with N namespace test hosts up, and remove them afterwards (also on failure
# or interruption: a trap), unless they existed before:
#
#   tests/hosts/with-hosts.sh 2 mpirun -H h1:2,h2:2 --launch-agent tests/hosts/agent.sh ./prog
#
# The command's exit status is returned; 77 (skip) when the hosts cannot be made (not root,
# no `ip netns`).
set -u
here=$(cd "$(dirname "$0")" && pwd)
n=${1-}
[ $# -ge 2 ] || { echo "usage: $0 N COMMAND [ARGS]..." >&2; exit 2; }
shift
existed=no
if ip netns list 2>/dev/null | grep -q "^ferrompi-h1\( \|\$\)"; then
    existed=yes
fi
"$here/netns.sh" up "$n" || exit $?
if [ "$existed" = no ]; then
    trap '"$here/netns.sh" down' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
fi
"$@"
