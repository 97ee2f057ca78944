//! The multi-host job (`-H` / `--hostfile`): mpirun is the head. It listens on TCP, starts one
//! daemon per host through the launch agent (`AGENT HOST mpirun --ferrompi-daemon I ADDR...`,
//! the job's secret on the agent's stdin), admits daemons that show the secret, sends each its
//! ranks, completes fences when every host is in, prints the ranks' output, forwards stdin to
//! rank 0 and signals to every host, and decides the exit status with the single-host rules.
//!
//! One poll(2) loop over the signal pipe, the listener, the daemons' connections, the agents'
//! output pipes and stdin.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, ToSocketAddrs, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::hosts::HostRanks;
use crate::job::{GRACE, DRAIN};
use crate::output::{Dest, LineBuffer, Sink};
use crate::proto::{same_secret, Conn, ConnError, JobMsg, Msg, MAX_HELLO, VERSION};
use crate::signals::{self, SignalPipe};

/// How the multi-host job runs.
#[derive(Clone, Debug)]
pub struct HostOptions {
    pub tag_output: bool,
    pub timeout: Option<Duration>,
    /// The launch agent's argv (default `ssh`); the host and the daemon command follow.
    pub agent: Vec<String>,
    /// `agent` is srun: one step starts every host's daemon (see [`crate::slurm`]), this
    /// machine's too, so that the ranks run inside the allocation.
    pub srun: bool,
    /// Address the daemons connect to (default: chosen per host).
    pub head_address: Option<String>,
    /// How long a daemon may take to connect.
    pub launch_timeout: Duration,
}

/// What srun says about `--cpu-bind=none` where tasks are never bound (TaskPlugin=task/none).
const SRUN_NO_BINDING: &[u8] = b"srun: cluster configuration lacks support for cpu binding";
/// A connection that has not shown the secret yet must do so within this time.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections not yet admitted, at most.
const MAX_PENDING: usize = 256;
/// Bytes of stdin sent to rank 0's host and not yet written to rank 0.
const STDIN_WINDOW: usize = 1 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HState {
    Launching,
    Running,
    Done,
    Failed,
}

struct Host {
    name: String,
    ranks: Vec<usize>,
    state: HState,
    agent: Option<Child>,
    agent_pid: i32,
    agent_exited: bool,
    agent_out: Option<File>,
    agent_line: Vec<u8>,
    conn: Option<Conn>,
    launch_deadline: Instant,
    fenced: bool,
}

struct HRank {
    host: usize,
    pid: i32,
    exited: bool,
    finalized: bool,
    out: Option<LineBuffer>,
    err: Option<LineBuffer>,
}

struct Pending {
    conn: Conn,
    peer: SocketAddr,
    deadline: Instant,
}

#[derive(Clone, Copy)]
enum Slot {
    Signals,
    Listener,
    Pending(usize),
    Host(usize),
    Agent(usize),
    StdinSrc,
}

struct Head {
    job: JobMsg,
    hosts: Vec<Host>,
    ranks: Vec<HRank>,
    listener: TcpListener,
    pending: Vec<Pending>,
    secret: String,
    sink: Sink,
    exit_code: Option<i32>,
    signaled: Option<i32>,
    tearing_down: bool,
    giveup_at: Option<Instant>,
    fence_count: usize,
    fence_puts: Vec<(String, String)>,
    stdin_src_open: bool,
    stdin_host: Option<usize>,
    stdin_inflight: usize,
    finished_at: Option<Instant>,
    /// One agent (srun) started every host's daemon; it is recorded as host 0's.
    shared_agent: bool,
}

/// Run `job` (with `ranks`, `process_mapping` and `stdin` filled in per host here) on
/// `placement`; returns mpirun's exit status.
pub fn run(job: JobMsg, placement: &[HostRanks], opts: &HostOptions) -> i32 {
    let mut sink = Sink::new(opts.tag_output);
    let sigs = match SignalPipe::install() {
        Ok(s) => s,
        Err(e) => {
            sink.notice(&format!("mpirun: cannot install signal handlers: {e}"));
            return 1;
        }
    };
    let secret = match crate::proto::new_secret() {
        Ok(s) => s,
        Err(e) => {
            sink.notice(&format!("mpirun: cannot make the job's secret: {e}"));
            return 1;
        }
    };
    let head_ips: Option<Vec<IpAddr>> = match &opts.head_address {
        None => None,
        Some(a) => match (a.as_str(), 0).to_socket_addrs() {
            Ok(it) => Some(it.map(|s| s.ip()).collect()),
            Err(e) => {
                sink.notice(&format!("mpirun: --head-address {a}: {e}"));
                return 2;
            }
        },
    };
    let bind_ip = head_ips.as_ref().and_then(|v| v.first().copied()).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let listener = match TcpListener::bind((bind_ip, 0)).and_then(|l| l.set_nonblocking(true).map(|_| l)) {
        Ok(l) => l,
        Err(e) => {
            sink.notice(&format!("mpirun: cannot listen on {bind_ip}: {e}"));
            return 1;
        }
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let mut ranks: Vec<HRank> = Vec::new();
    let size = job.size as usize;
    for _ in 0..size {
        ranks.push(HRank { host: 0, pid: 0, exited: false, finalized: false, out: None, err: None });
    }
    let mut hosts = Vec::new();
    for (h, hr) in placement.iter().enumerate() {
        for &r in &hr.ranks {
            ranks[r] = HRank { host: h, pid: 0, exited: false, finalized: false, out: Some(LineBuffer::new(r, Dest::Stdout)), err: Some(LineBuffer::new(r, Dest::Stderr)) };
        }
        hosts.push(Host {
            name: hr.name.clone(),
            ranks: hr.ranks.clone(),
            state: HState::Launching,
            agent: None,
            agent_pid: 0,
            agent_exited: true,
            agent_out: None,
            agent_line: Vec::new(),
            conn: None,
            launch_deadline: Instant::now() + opts.launch_timeout,
            fenced: false,
        });
    }
    let stdin_host = hosts.iter().position(|h| h.ranks.contains(&0));
    let mut head = Head {
        job,
        hosts,
        ranks,
        listener,
        pending: Vec::new(),
        secret,
        sink,
        exit_code: None,
        signaled: None,
        tearing_down: false,
        giveup_at: None,
        fence_count: 0,
        fence_puts: Vec::new(),
        stdin_src_open: crate::job::stdin_readable() && stdin_host.is_some(),
        stdin_host,
        stdin_inflight: 0,
        finished_at: None,
        shared_agent: opts.srun,
    };
    if opts.srun {
        // One command line for every daemon: the addresses that suit each host, in turn.
        let mut addrs: Vec<SocketAddr> = Vec::new();
        for h in &head.hosts {
            for a in daemon_addresses(&h.name, port, head_ips.as_deref()) {
                if !addrs.contains(&a) {
                    addrs.push(a);
                }
            }
        }
        head.launch_srun(&addrs, opts);
    } else {
        for h in 0..head.hosts.len() {
            if head.tearing_down {
                break;
            }
            let addrs = daemon_addresses(&head.hosts[h].name, port, head_ips.as_deref());
            head.launch(h, &addrs, opts);
        }
    }
    let deadline = opts.timeout.map(|t| Instant::now() + t);
    head.event_loop(&sigs, deadline, opts);
    head.exit_code.or(head.signaled.map(|s| 128 + s)).unwrap_or(0)
}

/// Whether `host` names this machine.
pub fn is_local_host(host: &str) -> bool {
    if host == "localhost" {
        return true;
    }
    let me = crate::spawn::hostname();
    let short = |s: &str| s.split('.').next().unwrap_or("").to_string();
    if host == me || (short(host) == short(&me) && !short(host).is_empty() && (!host.contains('.') || !me.contains('.'))) {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback() || local_addresses().contains(&ip),
        Err(_) => false,
    }
}

/// This machine's IPv4 addresses, loopback last.
pub fn local_addresses() -> Vec<IpAddr> {
    let mut out = Vec::new();
    let mut ifap: *mut libc::ifaddrs = std::ptr::null_mut();
    if unsafe { libc::getifaddrs(&mut ifap) } != 0 {
        return out;
    }
    let mut p = ifap;
    while !p.is_null() {
        let ifa = unsafe { &*p };
        if !ifa.ifa_addr.is_null() && (ifa.ifa_flags & libc::IFF_UP as u32) != 0 && unsafe { (*ifa.ifa_addr).sa_family } as i32 == libc::AF_INET {
            let sin = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
            let ip = IpAddr::V4(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)));
            if !out.contains(&ip) {
                out.push(ip);
            }
        }
        p = ifa.ifa_next;
    }
    unsafe { libc::freeifaddrs(ifap) };
    out.sort_by_key(|ip| ip.is_loopback());
    out
}

/// The local address the kernel would use to reach `dst` (no packet is sent).
pub fn route_source(dst: IpAddr) -> Option<IpAddr> {
    let s = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    s.connect((dst, 9)).ok()?;
    s.local_addr().ok().map(|a| a.ip()).filter(|ip| !ip.is_unspecified())
}

/// Where the daemon on `host` should try to reach us, best first: with `--head-address` only
/// that; otherwise the source address of our route to the host (when its name resolves here),
/// then every other local address (loopback only for this machine).
pub fn daemon_addresses(host: &str, port: u16, head: Option<&[IpAddr]>) -> Vec<SocketAddr> {
    if let Some(ips) = head {
        return ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect();
    }
    let mut ips: Vec<IpAddr> = Vec::new();
    let local = is_local_host(host);
    if local {
        ips.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
    } else if let Ok(addrs) = (host, 0).to_socket_addrs() {
        for a in addrs {
            if a.ip().is_ipv4() {
                if let Some(src) = route_source(a.ip()) {
                    if !ips.contains(&src) {
                        ips.push(src);
                    }
                }
            }
        }
    }
    for ip in local_addresses() {
        if !ips.contains(&ip) && (local || !ip.is_loopback()) {
            ips.push(ip);
        }
    }
    ips.into_iter().map(|ip| SocketAddr::new(ip, port)).collect()
}

/// Quote a word for a POSIX shell when it needs it (ssh joins its arguments into one command
/// line for the remote shell).
fn shell_word(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "_-./+,:=@%[]".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

impl Head {
    /// Start host `h`'s daemon: directly for this machine, else through the launch agent.
    fn launch(&mut self, h: usize, addrs: &[SocketAddr], opts: &HostOptions) {
        let name = self.hosts[h].name.clone();
        let exe = match std::env::current_exe() {
            Ok(p) => p.to_string_lossy().into_owned(),
            Err(e) => return self.host_failed(h, &format!("mpirun: cannot find mpirun's own path: {e}")),
        };
        let mut daemon: Vec<String> = vec![exe, "--ferrompi-daemon".into(), h.to_string()];
        daemon.extend(addrs.iter().map(|a| a.to_string()));
        let mut cmd;
        let what;
        if is_local_host(&name) {
            cmd = Command::new(&daemon[0]);
            cmd.args(&daemon[1..]);
            what = "the daemon".to_string();
        } else {
            let agent = &opts.agent;
            cmd = Command::new(&agent[0]);
            cmd.args(&agent[1..]).arg(&name);
            let base = std::path::Path::new(&agent[0]).file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            if base == "ssh" || base == "rsh" {
                cmd.args(daemon.iter().map(|w| shell_word(w)));
            } else {
                cmd.args(&daemon);
            }
            what = format!("launch agent `{}`", agent.join(" "));
        }
        self.start_agent(h, cmd, &what);
    }

    /// Start every host's daemon with one srun step (`--ferrompi-daemon slurm`: each daemon
    /// finds its host index from its node's name); recorded as host 0's agent.
    fn launch_srun(&mut self, addrs: &[SocketAddr], opts: &HostOptions) {
        let exe = match std::env::current_exe() {
            Ok(p) => p.to_string_lossy().into_owned(),
            Err(e) => return self.host_failed(0, &format!("mpirun: cannot find mpirun's own path: {e}")),
        };
        let nodes: Vec<String> = self.hosts.iter().map(|h| h.name.clone()).collect();
        let argv = crate::slurm::srun_args(&opts.agent, &nodes);
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]).arg(exe).arg(crate::DAEMON_FLAG).arg("slurm");
        cmd.args(addrs.iter().map(|a| a.to_string()));
        cmd.env(crate::slurm::NODES_VAR, nodes.join(","));
        let what = format!("`{}`", argv.join(" "));
        self.start_agent(0, cmd, &what);
    }

    /// Run `cmd` as host `h`'s agent: its output on a pipe we read, the secret on its stdin.
    fn start_agent(&mut self, h: usize, mut cmd: Command, what: &str) {
        let name = self.hosts[h].name.clone();
        let (rd, wr) = match pipe() {
            Ok(p) => p,
            Err(e) => return self.host_failed(h, &format!("mpirun: host {name}: pipe: {e}")),
        };
        let wr2 = match wr.try_clone() {
            Ok(w) => w,
            Err(e) => return self.host_failed(h, &format!("mpirun: host {name}: pipe: {e}")),
        };
        cmd.stdin(Stdio::piped()).stdout(Stdio::from(wr)).stderr(Stdio::from(wr2)).process_group(0);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => return self.host_failed(h, &format!("mpirun: host {name}: cannot run {what}: {e}")),
        };
        drop(cmd);
        // The secret goes on the agent's stdin (ssh forwards it); never on a command line.
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(format!("{}\n", self.secret).as_bytes());
        }
        let _ = crate::spawn::set_nonblocking(rd.as_raw_fd());
        let host = &mut self.hosts[h];
        host.agent_pid = child.id() as i32;
        host.agent = Some(child);
        host.agent_exited = false;
        host.agent_out = Some(File::from(rd));
    }

    /// Host `h` is gone (could not be reached, or its daemon died): say so and end the job.
    fn host_failed(&mut self, h: usize, msg: &str) {
        if matches!(self.hosts[h].state, HState::Done | HState::Failed) {
            return;
        }
        self.hosts[h].state = HState::Failed;
        self.hosts[h].conn = None;
        if self.hosts[h].agent_pid > 0 && !self.hosts[h].agent_exited {
            unsafe { libc::kill(-self.hosts[h].agent_pid, libc::SIGTERM) };
        }
        let quiet = self.tearing_down;
        if !quiet {
            self.sink.notice(msg);
        }
        for r in self.hosts[h].ranks.clone() {
            let hr = &mut self.ranks[r];
            hr.exited = true;
            if let Some(mut lb) = hr.out.take() {
                lb.finish(&mut self.sink);
            }
            if let Some(mut lb) = self.ranks[r].err.take() {
                lb.finish(&mut self.sink);
            }
        }
        if Some(h) == self.stdin_host {
            self.close_stdin();
        }
        self.fail(1);
    }

    fn fail(&mut self, code: i32) {
        if self.exit_code.is_none() {
            self.exit_code = Some(code);
        }
        self.teardown(libc::SIGTERM);
    }

    fn teardown(&mut self, sig: i32) {
        if !self.tearing_down {
            self.giveup_at = Some(Instant::now() + GRACE + DRAIN + Duration::from_secs(5));
        }
        self.tearing_down = true;
        self.close_stdin();
        for h in 0..self.hosts.len() {
            match self.hosts[h].state {
                HState::Running => self.send(h, &Msg::Teardown { sig }),
                HState::Launching => {
                    // Not connected yet: stop the agent; the host has no ranks running.
                    self.hosts[h].state = HState::Failed;
                    if self.hosts[h].agent_pid > 0 && !self.hosts[h].agent_exited {
                        unsafe { libc::kill(-self.hosts[h].agent_pid, libc::SIGTERM) };
                    }
                    for r in self.hosts[h].ranks.clone() {
                        self.ranks[r].exited = true;
                        self.ranks[r].out = None;
                        self.ranks[r].err = None;
                    }
                }
                _ => {}
            }
        }
    }

    fn kill_all(&mut self) {
        for h in 0..self.hosts.len() {
            if self.hosts[h].state == HState::Running {
                self.send(h, &Msg::Kill);
            }
        }
    }

    fn close_stdin(&mut self) {
        if self.stdin_src_open {
            self.stdin_src_open = false;
            if let Some(h) = self.stdin_host {
                if self.hosts[h].state == HState::Running {
                    self.send(h, &Msg::StdinEof);
                }
            }
        }
    }

    fn send(&mut self, h: usize, m: &Msg) {
        let Some(c) = &mut self.hosts[h].conn else { return };
        if let Err(e) = c.send(m) {
            let name = self.hosts[h].name.clone();
            self.host_failed(h, &format!("mpirun: host {name}: lost the connection to its daemon ({e}); ending the job"));
        }
    }

    fn finished(&self) -> bool {
        self.hosts.iter().all(|h| matches!(h.state, HState::Done | HState::Failed))
    }

    fn event_loop(&mut self, sigs: &SignalPipe, deadline: Option<Instant>, opts: &HostOptions) {
        let mut deadline = deadline;
        loop {
            self.reap_agents();
            let now = Instant::now();
            if let Some(t) = deadline {
                if now >= t {
                    deadline = None;
                    self.sink.notice(&format!("mpirun: job timed out after {} s; killing it", opts.timeout.unwrap_or_default().as_secs()));
                    self.fail(124);
                }
            }
            for h in 0..self.hosts.len() {
                if self.hosts[h].state == HState::Launching && now >= self.hosts[h].launch_deadline {
                    let name = self.hosts[h].name.clone();
                    self.host_failed(h, &format!("mpirun: host {name}: its daemon did not connect within {} s; ending the job", opts.launch_timeout.as_secs()));
                }
            }
            self.pending.retain(|p| {
                if now >= p.deadline {
                    let _ = p.conn.stream.shutdown(std::net::Shutdown::Both);
                    false
                } else {
                    true
                }
            });
            if let Some(t) = self.giveup_at {
                if now >= t && !self.finished() {
                    for h in 0..self.hosts.len() {
                        if self.hosts[h].state == HState::Running {
                            let name = self.hosts[h].name.clone();
                            self.sink.notice(&format!("mpirun: host {name}: its daemon did not finish; leaving it"));
                            self.hosts[h].state = HState::Failed;
                            self.hosts[h].conn = None;
                        }
                    }
                }
            }
            if self.finished() {
                let t = *self.finished_at.get_or_insert(now);
                let agents_left = self.hosts.iter().any(|h| !h.agent_exited || h.agent_out.is_some());
                if !agents_left {
                    break;
                }
                if now >= t + DRAIN {
                    for h in &mut self.hosts {
                        if !h.agent_exited && h.agent_pid > 0 {
                            unsafe { libc::kill(-h.agent_pid, libc::SIGKILL) };
                            if let Some(c) = &mut h.agent {
                                let _ = c.wait();
                            }
                            h.agent_exited = true;
                        }
                    }
                    break;
                }
            }

            let (mut fds, slots) = self.poll_set(sigs);
            let mut wake: Vec<Instant> = Vec::new();
            wake.extend(deadline);
            wake.extend(self.giveup_at);
            wake.extend(self.finished_at.map(|t| t + DRAIN));
            wake.extend(self.hosts.iter().filter(|h| h.state == HState::Launching).map(|h| h.launch_deadline));
            wake.extend(self.pending.iter().map(|p| p.deadline));
            let ms = match wake.iter().min() {
                None => -1,
                Some(&t) => t.saturating_duration_since(Instant::now()).as_millis().min(60_000) as i32 + 1,
            };
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    self.sink.notice(&format!("mpirun: poll: {e}"));
                    self.fail(1);
                    self.kill_all();
                    break;
                }
                continue;
            }
            let mut pending_events: Vec<usize> = Vec::new();
            for (pfd, slot) in fds.iter().zip(slots) {
                if pfd.revents == 0 {
                    continue;
                }
                match slot {
                    Slot::Signals => self.on_signals(sigs.drain()),
                    Slot::Listener => self.accept(),
                    Slot::Pending(i) => pending_events.push(i),
                    Slot::Host(h) => {
                        if pfd.revents & libc::POLLOUT != 0 {
                            if let Some(c) = &mut self.hosts[h].conn {
                                if let Err(e) = c.flush() {
                                    let name = self.hosts[h].name.clone();
                                    self.host_failed(h, &format!("mpirun: host {name}: lost the connection to its daemon ({e}); ending the job"));
                                }
                            }
                        }
                        if pfd.revents & !libc::POLLOUT != 0 {
                            self.read_host(h);
                        }
                    }
                    Slot::Agent(h) => self.read_agent(h),
                    Slot::StdinSrc => self.read_stdin(),
                }
            }
            // Handled last and in reverse: admitting removes entries from `pending`.
            for i in pending_events.into_iter().rev() {
                self.read_pending(i);
            }
        }
        for r in 0..self.ranks.len() {
            if let Some(mut lb) = self.ranks[r].out.take() {
                lb.finish(&mut self.sink);
            }
            if let Some(mut lb) = self.ranks[r].err.take() {
                lb.finish(&mut self.sink);
            }
        }
    }

    fn poll_set(&self, sigs: &SignalPipe) -> (Vec<libc::pollfd>, Vec<Slot>) {
        let mut fds = Vec::new();
        let mut slots = Vec::new();
        let mut add = |fd: RawFd, events: i16, slot: Slot| {
            fds.push(libc::pollfd { fd, events, revents: 0 });
            slots.push(slot);
        };
        add(sigs.fd(), libc::POLLIN, Slot::Signals);
        if !self.finished() {
            add(self.listener.as_raw_fd(), libc::POLLIN, Slot::Listener);
        }
        for (i, p) in self.pending.iter().enumerate() {
            add(p.conn.fd(), libc::POLLIN, Slot::Pending(i));
        }
        for (h, host) in self.hosts.iter().enumerate() {
            if let Some(c) = &host.conn {
                add(c.fd(), if c.pending_out() > 0 { libc::POLLIN | libc::POLLOUT } else { libc::POLLIN }, Slot::Host(h));
            }
            if let Some(f) = &host.agent_out {
                add(f.as_raw_fd(), libc::POLLIN, Slot::Agent(h));
            }
        }
        if self.stdin_src_open && self.stdin_inflight < STDIN_WINDOW {
            if let Some(h) = self.stdin_host {
                if self.hosts[h].state == HState::Running {
                    add(0, libc::POLLIN, Slot::StdinSrc);
                }
            }
        }
        (fds, slots)
    }

    fn on_signals(&mut self, sigs: Vec<i32>) {
        for sig in sigs {
            if sig == libc::SIGCHLD {
                continue;
            }
            if self.signaled.is_some() {
                self.sink.notice(&format!("mpirun: received {} again; killing the job", signals::name(sig)));
                self.kill_all();
                continue;
            }
            self.signaled = Some(sig);
            self.sink.notice(&format!("mpirun: received {}; forwarding it to the ranks", signals::name(sig)));
            self.teardown(sig);
        }
    }

    fn reap_agents(&mut self) {
        for h in 0..self.hosts.len() {
            if self.hosts[h].agent_exited {
                continue;
            }
            let Some(child) = &mut self.hosts[h].agent else { continue };
            let status = match child.try_wait() {
                Ok(Some(s)) => s,
                Ok(None) => continue,
                Err(_) => {
                    self.hosts[h].agent_exited = true;
                    continue;
                }
            };
            self.hosts[h].agent_exited = true;
            // A shared agent (srun) started every host's daemon: its end fails them all.
            let served: Vec<usize> = if self.shared_agent { (0..self.hosts.len()).collect() } else { vec![h] };
            let how = match (status.code(), status.signal()) {
                (Some(c), _) => format!("exited with code {c}"),
                (None, Some(s)) => format!("was killed by {}", signals::name(s)),
                _ => "ended".to_string(),
            };
            // Show what the agent said before naming the failure.
            self.read_agent(h);
            for g in served {
                if self.hosts[g].state == HState::Launching {
                    let name = self.hosts[g].name.clone();
                    self.host_failed(g, &format!("mpirun: host {name} cannot be reached: the launch agent {how} before its daemon connected; ending the job"));
                }
            }
        }
    }

    fn read_agent(&mut self, h: usize) {
        let mut buf = [0u8; 8192];
        loop {
            let Some(f) = &mut self.hosts[h].agent_out else { return };
            match f.read(&mut buf) {
                Ok(0) => {
                    self.hosts[h].agent_out = None;
                    let rest = std::mem::take(&mut self.hosts[h].agent_line);
                    if !rest.is_empty() {
                        let name = self.hosts[h].name.clone();
                        self.sink.notice(&format!("mpirun: host {name}: {}", String::from_utf8_lossy(&rest)));
                    }
                    return;
                }
                Ok(n) => {
                    self.hosts[h].agent_line.extend_from_slice(&buf[..n]);
                    while let Some(p) = self.hosts[h].agent_line.iter().position(|&c| c == b'\n') {
                        let line: Vec<u8> = self.hosts[h].agent_line.drain(..=p).collect();
                        // We ask srun for --cpu-bind=none (the daemon's ranks must not share its
                        // one CPU); on clusters without a binding plugin srun says it cannot
                        // bind, which is what we want, on every run. Not worth a line.
                        if self.shared_agent && line.starts_with(SRUN_NO_BINDING) {
                            continue;
                        }
                        let name = self.hosts[h].name.clone();
                        self.sink.notice(&format!("mpirun: host {name}: {}", String::from_utf8_lossy(&line[..line.len() - 1])));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    self.hosts[h].agent_out = None;
                    return;
                }
            }
        }
    }

    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((s, peer)) => {
                    if self.pending.len() >= MAX_PENDING {
                        // Someone is flooding the port: drop the newcomer (real daemons arrive
                        // one per host, well under the cap).
                        drop(s);
                        continue;
                    }
                    if let Ok(mut conn) = Conn::new(s) {
                        conn.max_frame = MAX_HELLO;
                        self.pending.push(Pending { conn, peer, deadline: Instant::now() + HELLO_TIMEOUT });
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    /// A connection that has not been admitted sent something: it must be a hello with the
    /// secret for a host that is still waiting for its daemon; anything else is refused.
    fn read_pending(&mut self, i: usize) {
        let msgs = self.pending[i].conn.read_frames();
        let peer = self.pending[i].peer;
        let refuse = |head: &mut Head, why: &str| {
            let p = head.pending.remove(i);
            let _ = p.conn.stream.shutdown(std::net::Shutdown::Both);
            // A late daemon of a host given up during a teardown is no news.
            if !(head.tearing_down && why.starts_with("unexpected daemon")) {
                head.sink.notice(&format!("mpirun: refused a connection from {peer}: {why}"));
            }
        };
        let first = match msgs {
            Ok(m) if m.is_empty() => return,
            Ok(mut m) => m.remove(0),
            Err(ConnError::Closed) => {
                self.pending.remove(i);
                return;
            }
            Err(e) => return refuse(self, &e.to_string()),
        };
        let Msg::Hello { version, token, host, hostname } = first else {
            return refuse(self, "no hello");
        };
        if !same_secret(&token, &self.secret) {
            return refuse(self, "wrong secret");
        }
        let h = host as usize;
        if version != VERSION {
            return refuse(self, &format!("protocol version {version}, expected {VERSION} (a different mpirun on that host?)"));
        }
        if h >= self.hosts.len() || self.hosts[h].state != HState::Launching {
            return refuse(self, &format!("unexpected daemon for host index {h}"));
        }
        let mut p = self.pending.remove(i);
        p.conn.max_frame = crate::proto::MAX_FRAME;
        let _ = hostname;
        let mut job = self.job.clone();
        job.ranks = self.hosts[h].ranks.iter().map(|&r| r as u32).collect();
        job.stdin = self.stdin_host == Some(h) && self.stdin_src_open;
        self.hosts[h].conn = Some(p.conn);
        self.hosts[h].state = HState::Running;
        self.send(h, &Msg::Job(job));
    }

    fn read_host(&mut self, h: usize) {
        let Some(c) = &mut self.hosts[h].conn else { return };
        match c.read_frames() {
            Ok(msgs) => {
                for m in msgs {
                    if self.hosts[h].state != HState::Running {
                        break;
                    }
                    self.on_host(h, m);
                }
            }
            Err(e) => {
                if self.hosts[h].state == HState::Running {
                    let name = self.hosts[h].name.clone();
                    let why = match e {
                        ConnError::Closed => "its daemon died or closed the connection".to_string(),
                        e => format!("lost the connection to its daemon ({e})"),
                    };
                    self.host_failed(h, &format!("mpirun: host {name}: {why}; ending the job"));
                }
                self.hosts[h].conn = None;
            }
        }
    }

    fn on_host(&mut self, h: usize, m: Msg) {
        let name = self.hosts[h].name.clone();
        let own = |head: &Head, rank: u32| (rank as usize) < head.ranks.len() && head.ranks[rank as usize].host == h;
        match m {
            Msg::Started { rank, pid } if own(self, rank) => self.ranks[rank as usize].pid = pid,
            Msg::SpawnFailed { rank, code, error } => {
                if !self.tearing_down {
                    self.sink.notice(&format!("mpirun: cannot start rank {rank} ({}) on host {name}: {error}", self.job.program));
                }
                self.fail(code);
            }
            Msg::Output { rank, stderr, data } if own(self, rank) => {
                let r = &mut self.ranks[rank as usize];
                let lb = if stderr { r.err.as_mut() } else { r.out.as_mut() };
                if let Some(lb) = lb {
                    lb.push(&mut self.sink, &data);
                }
            }
            Msg::OutputEof { rank, stderr } if own(self, rank) => {
                let r = &mut self.ranks[rank as usize];
                let lb = if stderr { r.err.take() } else { r.out.take() };
                if let Some(mut lb) = lb {
                    lb.finish(&mut self.sink);
                }
            }
            Msg::Fence { puts } => {
                if !self.hosts[h].fenced {
                    self.hosts[h].fenced = true;
                    self.fence_count += 1;
                    self.fence_puts.extend(puts);
                }
                if self.fence_count == self.hosts.len() {
                    let puts = std::mem::take(&mut self.fence_puts);
                    self.fence_count = 0;
                    for g in 0..self.hosts.len() {
                        self.hosts[g].fenced = false;
                    }
                    let done = Msg::FenceDone { puts };
                    for g in 0..self.hosts.len() {
                        if self.hosts[g].state == HState::Running {
                            self.send(g, &done);
                        }
                    }
                }
            }
            Msg::Abort { rank, code, message } => {
                if !self.tearing_down {
                    let msg = if message.is_empty() { String::new() } else { format!(": {message}") };
                    self.sink.notice(&format!("mpirun: rank {rank} called MPI_Abort with error code {code}{msg}"));
                    let status = match code & 0xff {
                        0 if code != 0 => 1,
                        c => c,
                    };
                    self.fail(status);
                }
            }
            Msg::Finalized { rank } if own(self, rank) => self.ranks[rank as usize].finalized = true,
            Msg::ProtocolError { rank, error } => {
                self.sink.notice(&format!("mpirun: rank {rank}: PMI protocol error: {error}; closing its PMI connection"));
            }
            Msg::Exited { rank, code, signal, pmi_used, finalized } if own(self, rank) => self.rank_exited(h, rank as usize, code, signal, pmi_used, finalized),
            Msg::Notice { text } => self.sink.notice(&format!("mpirun: host {name}: {text}")),
            Msg::StdinAck { bytes } => self.stdin_inflight = self.stdin_inflight.saturating_sub(bytes as usize),
            Msg::Done => {
                self.hosts[h].state = HState::Done;
                self.hosts[h].conn = None;
                for r in self.hosts[h].ranks.clone() {
                    self.ranks[r].exited = true;
                }
            }
            other => {
                let name = self.hosts[h].name.clone();
                self.host_failed(h, &format!("mpirun: host {name}: unexpected message from its daemon ({other:?}); ending the job"));
            }
        }
    }

    /// The single-host exit rules (job.rs `reap`), across hosts.
    fn rank_exited(&mut self, h: usize, rank: usize, code: i32, signal: i32, pmi_used: bool, finalized: bool) {
        self.ranks[rank].exited = true;
        self.ranks[rank].finalized |= finalized;
        if rank == 0 {
            self.close_stdin();
        }
        if self.tearing_down {
            return;
        }
        let name = self.hosts[h].name.clone();
        let pid = self.ranks[rank].pid;
        if signal > 0 {
            self.sink.notice(&format!("mpirun: rank {rank} (pid {pid} on {name}) was killed by signal {signal} ({}); ending the job", signals::name(signal)));
            self.fail(128 + signal);
        } else if code != 0 && !finalized {
            self.sink.notice(&format!("mpirun: rank {rank} (on {name}) exited with code {code}; ending the job"));
            self.fail(code);
        } else if code != 0 {
            self.sink.notice(&format!("mpirun: rank {rank} (on {name}) exited with code {code} after MPI_Finalize"));
            self.exit_code.get_or_insert(code);
        } else if pmi_used && !finalized && self.ranks.iter().any(|r| !r.exited && !r.finalized) {
            self.sink.notice(&format!("mpirun: rank {rank} (on {name}) exited without finalizing PMI (no MPI_Finalize?) while other ranks run; ending the job"));
            self.fail(1);
        }
    }

    fn read_stdin(&mut self) {
        let mut buf = vec![0u8; 64 * 1024];
        let n = unsafe { libc::read(0, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
        if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            return;
        }
        if n <= 0 {
            self.close_stdin();
            return;
        }
        buf.truncate(n as usize);
        self.stdin_inflight += buf.len();
        if let Some(h) = self.stdin_host {
            self.send(h, &Msg::Stdin { data: buf });
        }
    }
}
