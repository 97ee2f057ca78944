#!/bin/sh
# Launch agent for the namespace test hosts, used like ssh: agent.sh HOST COMMAND [ARGS]...
# Runs COMMAND in network namespace ferrompi-HOST with its own UTS namespace whose hostname is
# HOST, so processes of different test hosts see different hostnames (our library tells hosts
# apart by hostname + boot id). Arguments are passed on as they are (no shell re-parsing).
# stdin is passed through (mpirun sends the job's secret there).
set -u
if [ $# -lt 2 ]; then
    echo "usage: $0 HOST COMMAND [ARGS]..." >&2
    exit 2
fi
host=$1
shift
case $host in
    '' | -* | *[!A-Za-z0-9.-]*) echo "agent.sh: bad host name '$host'" >&2; exit 2 ;;
esac
exec ip netns exec "ferrompi-$host" unshare --uts sh -c 'hostname "$0" && exec "$@"' "$host" "$@"
