#!/bin/sh
# Jobs across two test hosts through real ssh, mpirun's default launch agent. Runs under
# ssh-hosts.sh, as `make test-hosts` does:
#
#   tests/hosts/with-hosts.sh 2 tests/hosts/ssh-hosts.sh 2 tests/hosts/ssh-checks.sh PREFIX
#
# PREFIX is an install tree (make install PREFIX=...). Checks, each across h1 and h2:
#  1. the default agent (`ssh`, found on PATH as ssh-hosts.sh's `ssh -F config`) puts each
#     rank on its host (hostnames h1, h2);
#  2. program arguments with spaces, quotes, $, *, ; and an empty one arrive unchanged;
#  3. --launch-agent "ssh -F config" (an agent with arguments of its own) works too;
#  4. mpirun installed under a path with spaces, quotes and $ (the daemon's command line is
#     shell-quoted for ssh, which joins its arguments for the remote shell);
#  5. the C suite's p2p_large (large messages between hosts) and launcher_* (exit codes, a
#     failing or killed rank, stdin, -x, --tag-output) with 2 hosts x 2 ranks, every job
#     through ssh (sshd's logs must show the logins);
#  6. afterwards no daemon or rank of ours is left in the hosts.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ $# -eq 1 ] || { echo "usage: $0 PREFIX (under tests/hosts/ssh-hosts.sh 2)" >&2; exit 2; }
prefix=$(cd "$1" && pwd) || exit 2
[ -n "${SSH_HOSTS_AGENT-}" ] && [ -n "${SSH_HOSTS_DIR-}" ] ||
    { echo "ssh-checks.sh: run me under tests/hosts/ssh-hosts.sh" >&2; exit 2; }
mpirun=$prefix/bin/mpirun
tmp=$(mktemp -d /tmp/ferrompi-ssh-checks.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
failed=0

fail() {
    echo "ssh-checks.sh: FAILED: $*" >&2
    failed=1
}

# compare NAME EXPECTED-FILE GOT-FILE (order of lines ignored: ranks print concurrently)
compare() {
    sort "$2" > "$2.sorted"
    sort "$3" > "$3.sorted"
    if cmp -s "$2.sorted" "$3.sorted"; then
        echo "ssh-checks.sh: ok: $1"
    else
        fail "$1; expected (any order):"
        sed 's/^/    /' "$2" >&2
        echo "  got:" >&2
        sed 's/^/    /' "$3" >&2
    fi
}

logins() {
    grep -c 'Accepted publickey for root' "$SSH_HOSTS_DIR/sshd.$1.log"
}

# 1. default agent, one rank per host
printf '[0] h1\n[1] h2\n' > "$tmp/want1"
"$mpirun" -H h1:1,h2:1 --tag-output hostname > "$tmp/got1" 2>&1 || fail "hostname job exited $?"
compare "default agent ssh: ranks on h1 and h2" "$tmp/want1" "$tmp/got1"

# 2. arguments that a shell would re-parse
for r in 0 1; do
    printf "[$r] <%s>\n" "a b'c" '$HOME' '"q"' '' '*' 'x;y' ' lead' "tab	tab"
done > "$tmp/want2"
"$mpirun" -H h1:1,h2:1 --tag-output printf '<%s>\n' "a b'c" '$HOME' '"q"' '' '*' 'x;y' ' lead' "tab	tab" \
    > "$tmp/got2" 2>&1 || fail "printf job exited $?"
compare "program arguments with spaces and quotes" "$tmp/want2" "$tmp/got2"

# 3. an agent with arguments
"$mpirun" -H h1:1,h2:1 --launch-agent "$SSH_HOSTS_AGENT" --tag-output hostname > "$tmp/got3" 2>&1 ||
    fail "--launch-agent job exited $?"
compare "--launch-agent \"$SSH_HOSTS_AGENT\"" "$tmp/want1" "$tmp/got3"

# 4. mpirun (so the daemon) at a path that needs quoting
odd="$tmp/it's a \"dir\" \$HOME"
mkdir "$odd" && cp "$mpirun" "$odd/mpirun" || exit 1
"$odd/mpirun" -H h1:1,h2:1 --tag-output hostname > "$tmp/got4" 2>&1 || fail "job of the moved mpirun exited $?"
compare "mpirun under $odd" "$tmp/want1" "$tmp/got4"

# 5. the C suite, every trial through ssh
before1=$(logins h1) before2=$(logins h2)
for filter in p2p_large launcher_; do
    FERROMPI_PREFIX=$prefix FERROMPI_TEST_IMPL=ours FERROMPI_TEST_MPIRUN_ARGS="-H h1:2,h2:2" \
        "${CARGO:-cargo}" test --release --manifest-path "$root/Cargo.toml" -p mpi-tests --test c_suite -- "$filter" ||
        fail "C suite ($filter) through ssh"
done
n1=$(($(logins h1) - before1)) n2=$(($(logins h2) - before2))
if [ "$n1" -gt 0 ] && [ "$n2" -gt 0 ]; then
    echo "ssh-checks.sh: ok: the C suite's jobs logged in through sshd $n1 times on h1, $n2 on h2"
else
    fail "the C suite's jobs logged in through sshd $n1 times on h1, $n2 on h2"
fi

# 6. nothing of ours left in the hosts (ranks of killed jobs, orphaned daemons)
tries=0
while :; do
    left=""
    for ns in ferrompi-h1 ferrompi-h2; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do
            c=$(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null) || continue
            case $c in
                "$mpirun "* | "$odd/mpirun "* | *"/c_suite/ours/p2p_large"* | *"/c_suite/ours/launcher_"*)
                    left="$left
    $ns $p $c" ;;
            esac
        done
    done
    [ -n "$left" ] || break
    tries=$((tries + 1))
    if [ "$tries" -ge 20 ]; then
        fail "processes left in the test hosts:$left"
        break
    fi
    sleep 0.5
done
[ -n "$left" ] || echo "ssh-checks.sh: ok: no daemon or rank left in the hosts"
exit "$failed"
