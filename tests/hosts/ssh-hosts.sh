#!/bin/sh
# Run a command with an sshd in each of the test hosts h1..hN, so that mpirun can reach them
# through real ssh, its default launch agent:
#
#   tests/hosts/with-hosts.sh 2 tests/hosts/ssh-hosts.sh 2 \
#       sh -c 'mpirun -H h1:2,h2:2 ./prog'                # default agent `ssh`, found on PATH
#   ... ssh-hosts.sh 2 sh -c 'mpirun -H h1,h2 --launch-agent "$SSH_HOSTS_AGENT" ./prog'
#
# The hosts must be up (netns.sh / with-hosts.sh). Each sshd runs inside its host as agent.sh
# runs things (network namespace ferrompi-hI, own UTS namespace with hostname hI), listens only
# on 198.18.0.(10+I):22 and takes root logins by a throwaway key only. Host key, client key,
# sshd and ssh configs and logs live in a temporary directory; /etc/ssh, ~/.ssh and the system's
# sshd are not touched (only /run/sshd, sshd's privilege-separation directory, is made when
# missing). The command runs with
#   SSH_HOSTS_CONFIG   the ssh client config (Host hI -> its address, the key, no known_hosts)
#   SSH_HOSTS_AGENT    "ssh -F $SSH_HOSTS_CONFIG", for --launch-agent
#   SSH_HOSTS_DIR      the temporary directory (sshd.hI.log: each sshd's log)
#   PATH               led by a directory whose `ssh` is `ssh -F $SSH_HOSTS_CONFIG`, so that
#                      mpirun's default agent works, even where arguments are split at
#                      spaces (the C suite's FERROMPI_TEST_MPIRUN_ARGS)
# The sshds are stopped and the directory removed on exit, also on failure or interruption.
# Exit status: the command's; 77 (skip) when not root, without `ip netns`, or without sshd
# (Debian: openssh-server, openssh-client; tools/ensure-deps.sh installs them as root).
set -u
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 2 ] || { echo "usage: $0 N COMMAND [ARGS]..." >&2; exit 2; }
n=$1
shift
case $n in
    '' | *[!0-9]*) echo "ssh-hosts.sh: bad host count '$n'" >&2; exit 2 ;;
esac

skip() {
    echo "ssh-hosts.sh: $*; skipping" >&2
    exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (sshd in network namespaces)"
ip netns list >/dev/null 2>&1 || skip "ip netns is not available"
sshd=/usr/sbin/sshd
[ -x "$sshd" ] || skip "no $sshd (Debian: openssh-server)"
ssh=$(command -v ssh) || skip "no ssh (Debian: openssh-client)"
command -v ssh-keygen >/dev/null 2>&1 || skip "no ssh-keygen (Debian: openssh-client)"
i=1
while [ "$i" -le "$n" ]; do
    ip netns list | grep -q "^ferrompi-h$i\( \|\$\)" ||
        { echo "ssh-hosts.sh: test host h$i is not up (tests/hosts/netns.sh up $n)" >&2; exit 1; }
    i=$((i + 1))
done

tmp=$(mktemp -d /tmp/ferrompi-ssh.XXXXXX) || exit 1
pids=""
made_run_sshd=no
cleanup() {
    for p in $pids; do
        kill "$p" 2>/dev/null
    done
    for p in $pids; do
        wait "$p" 2>/dev/null
    done
    [ "$made_run_sshd" = no ] || rmdir /run/sshd 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# sshd chroots its unprivileged pre-authentication child into /run/sshd (Debian's build), which
# systemd or the init script normally create.
if [ ! -d /run/sshd ]; then
    mkdir -m 755 /run/sshd || exit 1
    made_run_sshd=yes
fi
# sshd without PAM refuses every login, by key too, to an account whose password in
# /etc/shadow starts with "!" ("User root not allowed because account is locked"), as root's
# does on machines installed without a root password. Then each sshd is shown, in its own
# mount namespace (ip netns exec makes one), a copy of /etc/shadow with root's password "*"
# (none, not locked); /etc/shadow itself is left as it is.
shadow=""
if grep -q '^root:!' /etc/shadow 2>/dev/null; then
    shadow=$tmp/shadow
    (umask 077 && sed 's/^root:[^:]*:/root:*:/' /etc/shadow > "$shadow") || exit 1
fi
ssh-keygen -q -t ed25519 -N '' -C ferrompi-test-host -f "$tmp/host_key" || exit 1
ssh-keygen -q -t ed25519 -N '' -C ferrompi-test-client -f "$tmp/client_key" || exit 1
# restrict: no pty, no forwarding, no ~/.ssh/rc: a command is all a job needs.
echo "restrict $(cat "$tmp/client_key.pub")" > "$tmp/authorized_keys"
mkdir "$tmp/bin"
cfg=$tmp/ssh_config
: > "$cfg"
i=1
while [ "$i" -le "$n" ]; do
    addr=198.18.0.$((10 + i))
    # Every path in the temporary directory (the default PidFile is the system sshd's).
    cat > "$tmp/sshd_config.h$i" <<EOF
ListenAddress $addr:22
HostKey $tmp/host_key
PidFile $tmp/sshd.h$i.pid
AuthorizedKeysFile $tmp/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
HostbasedAuthentication no
UsePAM no
StrictModes no
PermitUserEnvironment no
X11Forwarding no
AllowAgentForwarding no
AllowTcpForwarding no
PrintMotd no
PrintLastLog no
UseDNS no
LogLevel VERBOSE
EOF
    cat >> "$cfg" <<EOF
Host h$i
    HostName $addr
EOF
    "$sshd" -t -f "$tmp/sshd_config.h$i" ||
        { echo "ssh-hosts.sh: sshd rejects $tmp/sshd_config.h$i" >&2; exit 1; }
    # -D: stay in the foreground (so $! is sshd: agent.sh, ip netns exec, unshare, sh all exec);
    # -e: log to stderr, into the log file.
    if [ -n "$shadow" ]; then
        "$here/agent.sh" "h$i" sh -c 'mount --bind "$0" /etc/shadow && exec "$@"' "$shadow" \
            "$sshd" -D -e -f "$tmp/sshd_config.h$i" > "$tmp/sshd.h$i.log" 2>&1 &
    else
        "$here/agent.sh" "h$i" "$sshd" -D -e -f "$tmp/sshd_config.h$i" > "$tmp/sshd.h$i.log" 2>&1 &
    fi
    pids="$pids $!"
    i=$((i + 1))
done
cat >> "$cfg" <<EOF
Host *
    User root
    IdentityFile $tmp/client_key
    IdentitiesOnly yes
    IdentityAgent none
    StrictHostKeyChecking no
    UserKnownHostsFile /dev/null
    GlobalKnownHostsFile /dev/null
    BatchMode yes
    ConnectTimeout 10
    ServerAliveInterval 10
    ServerAliveCountMax 3
    LogLevel ERROR
EOF
printf '#!/bin/sh\nexec %s -F %s "$@"\n' "$ssh" "$cfg" > "$tmp/bin/ssh"
chmod 755 "$tmp/bin/ssh"

# Wait for each sshd to take a login (and check the host's name on the way).
nth() {
    shift "$1"
    echo "$1"
}
i=1
while [ "$i" -le "$n" ]; do
    tries=0
    pid=$(nth "$i" $pids)
    until got=$("$ssh" -F "$cfg" "h$i" hostname 2>"$tmp/ssh.err") && [ "$got" = "h$i" ]; do
        tries=$((tries + 1))
        if [ "$tries" -ge 50 ] || ! kill -0 "$pid" 2>/dev/null; then
            kill -0 "$pid" 2>/dev/null || echo "ssh-hosts.sh: the sshd of h$i has exited" >&2
            echo "ssh-hosts.sh: cannot log in to h$i through ssh (got '${got-}')" >&2
            sed 's/^/  ssh: /' "$tmp/ssh.err" >&2
            sed 's/^/  sshd: /' "$tmp/sshd.h$i.log" >&2
            exit 1
        fi
        sleep 0.2
    done
    i=$((i + 1))
done

SSH_HOSTS_DIR=$tmp SSH_HOSTS_CONFIG=$cfg SSH_HOSTS_AGENT="$ssh -F $cfg" PATH="$tmp/bin:$PATH" "$@"
rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
    i=1
    while [ "$i" -le "$n" ]; do
        echo "ssh-hosts.sh: the end of h$i's sshd log:" >&2
        tail -n 20 "$tmp/sshd.h$i.log" | sed 's/^/  /' >&2
        i=$((i + 1))
    done
fi
exit "$rc"
