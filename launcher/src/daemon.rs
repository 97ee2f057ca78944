//! The per-host daemon: `mpirun --ferrompi-daemon INDEX ADDR...`, started by the launch agent
//! (INDEX `slurm`: by one srun step for all hosts, see [`crate::slurm`]).
//!
//! 1. Reads the job's secret from stdin (one line; it is never on a command line).
//! 2. Connects to the first head address that answers and sends [`Msg::Hello`].
//! 3. Receives [`Msg::Job`], forks its ranks as the local path does (`spawn_rank_with`, with
//!    SIGKILL on daemon death), serves their PMI with a [`NodeServer`] and relays to the head:
//!    fences (puts up, union down), aborts, finalizes, exits, raw stdout/stderr bytes; it takes
//!    rank 0's stdin, teardown orders and signals from the head.
//! 4. When every rank has exited and the output is drained it sends [`Msg::Done`] and exits.
//!    If the head goes away, the ranks get SIGTERM, SIGKILL after the grace period.
//!
//! One poll(2) loop, no threads.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{ChildStderr, ChildStdin, ChildStdout};
use std::time::{Duration, Instant};

use pmi::server::{Action, JobInfo, NodeServer};

use crate::job::{cleanup_shm, DRAIN, GRACE};
use crate::pmi_conn::PmiConn;
use crate::proto::{Conn, ConnError, JobMsg, Msg, VERSION};
use crate::signals::{SignalPipe, FORWARDED};
use crate::spawn::{spawn_rank_with, JobSpec, Placement};

/// How long the daemon waits for the secret on stdin.
const SECRET_WAIT: Duration = Duration::from_secs(60);
/// Per address.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Stop reading rank output while this much is queued for the head.
const OUT_HIGH_WATER: usize = 8 << 20;

fn say(index: &str, text: &str) {
    let host = crate::spawn::hostname();
    // Not eprintln!: stderr may be a closed pipe (the agent is gone); that must not panic.
    let _ = writeln!(io::stderr(), "mpirun daemon {index} on {host}: {text}");
}

/// Entry of `mpirun --ferrompi-daemon INDEX ADDR...`; returns the exit status.
pub fn main(args: &[String]) -> i32 {
    let (Some(index), addrs) = (args.first(), &args[args.len().min(1)..]) else {
        eprintln!("usage: mpirun --ferrompi-daemon INDEX ADDR:PORT...");
        return 2;
    };
    // `slurm`: one srun step started every host's daemon with the same arguments; the node's
    // name tells which host this is.
    let host_index = if index == "slurm" {
        match crate::slurm::daemon_index() {
            Ok(i) => i,
            Err(e) => {
                say(index, &e);
                return 2;
            }
        }
    } else {
        let Ok(i) = index.parse::<u32>() else {
            eprintln!("mpirun daemon: bad host index `{index}`");
            return 2;
        };
        i
    };
    let addrs: Vec<SocketAddr> = addrs.iter().filter_map(|a| a.parse().ok()).collect();
    if addrs.is_empty() {
        say(index, "no head address given");
        return 2;
    }
    let secret = match read_secret() {
        Ok(s) => s,
        Err(e) => {
            say(index, &format!("cannot read the job's secret from stdin: {e}"));
            return 1;
        }
    };
    // Nothing else comes on stdin; ranks must not inherit it.
    if let Ok(null) = std::fs::File::open("/dev/null") {
        unsafe { libc::dup2(null.as_raw_fd(), 0) };
    }
    let mut errors = Vec::new();
    let mut stream = None;
    for a in &addrs {
        match TcpStream::connect_timeout(a, CONNECT_TIMEOUT) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => errors.push(format!("{a}: {e}")),
        }
    }
    let Some(stream) = stream else {
        say(index, &format!("cannot connect to mpirun ({})", errors.join("; ")));
        return 1;
    };
    let mut conn = match Conn::new(stream) {
        Ok(c) => c,
        Err(e) => {
            say(index, &format!("socket setup: {e}"));
            return 1;
        }
    };
    let hello = Msg::Hello { version: VERSION, token: secret, host: host_index, hostname: crate::spawn::hostname() };
    if conn.send(&hello).and_then(|_| conn.flush_blocking(CONNECT_TIMEOUT)).is_err() {
        say(index, "cannot send to mpirun");
        return 1;
    }
    // Wait for the job.
    let deadline = Instant::now() + Duration::from_secs(30);
    // Frames that came in the same read as the job (stdin, a teardown) are handled after it.
    let mut early: Vec<Msg> = Vec::new();
    let job = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            say(index, "mpirun sent no job");
            return 1;
        }
        let mut p = libc::pollfd { fd: conn.fd(), events: libc::POLLIN, revents: 0 };
        unsafe { libc::poll(&mut p, 1, left.as_millis() as i32 + 1) };
        match conn.read_frames() {
            Ok(msgs) => {
                let mut it = msgs.into_iter();
                if let Some(m) = it.next() {
                    early.extend(it);
                    match m {
                        Msg::Job(j) => break j,
                        other => {
                            say(index, &format!("unexpected first message from mpirun: {other:?}"));
                            return 1;
                        }
                    }
                }
            }
            Err(ConnError::Closed) => {
                say(index, "mpirun closed the connection (refused: wrong secret?)");
                return 1;
            }
            Err(e) => {
                say(index, &format!("connection to mpirun: {e}"));
                return 1;
            }
        }
    };
    let sigs = match SignalPipe::install() {
        Ok(s) => s,
        Err(e) => {
            say(index, &format!("cannot install signal handlers: {e}"));
            return 1;
        }
    };
    if !job.cwd.is_empty() {
        let _ = std::env::set_current_dir(&job.cwd);
    }
    let job_id = job.job_id.clone();
    let mut d = Daemon::new(job, conn);
    d.start();
    for m in early {
        d.on_head(m);
    }
    d.event_loop(&sigs);
    cleanup_shm(&job_id);
    0
}

fn read_secret() -> io::Result<String> {
    let deadline = Instant::now() + SECRET_WAIT;
    let mut line = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"));
        }
        let mut p = libc::pollfd { fd: 0, events: libc::POLLIN, revents: 0 };
        if unsafe { libc::poll(&mut p, 1, left.as_millis() as i32 + 1) } <= 0 {
            continue;
        }
        // One byte at a time: nothing after the line is consumed.
        let mut b = [0u8; 1];
        let n = unsafe { libc::read(0, b.as_mut_ptr() as *mut libc::c_void, 1) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted || e.kind() == io::ErrorKind::WouldBlock {
                continue;
            }
            return Err(e);
        }
        if n == 0 || b[0] == b'\n' {
            break;
        }
        line.push(b[0]);
        if line.len() > 1024 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
        }
    }
    let s = String::from_utf8(line).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not text"))?;
    let s = s.trim().to_string();
    if s.is_empty() {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "empty"));
    }
    Ok(s)
}

struct DRank {
    rank: usize,
    child: Option<std::process::Child>,
    pgid: i32,
    pmi: PmiConn,
    finalized: bool,
    exited: bool,
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
}

#[derive(Clone, Copy)]
enum Slot {
    Signals,
    Head,
    StdinDst,
    Pmi(usize),
    Out(usize),
    Err(usize),
}

struct Daemon {
    job: JobMsg,
    head: Option<Conn>,
    server: NodeServer,
    ranks: Vec<DRank>,
    stdin_dst: Option<ChildStdin>,
    stdin_buf: Vec<u8>,
    stdin_pos: usize,
    stdin_eof: bool,
    tearing_down: bool,
    kill_at: Option<Instant>,
    signaled: bool,
    all_exited_at: Option<Instant>,
}

impl Daemon {
    fn new(job: JobMsg, head: Conn) -> Daemon {
        let info = JobInfo {
            job_id: job.job_id.clone(),
            size: job.size as usize,
            appnum: 0,
            universe_size: job.universe_size as usize,
            process_mapping: job.process_mapping.clone(),
        };
        let server = NodeServer::new(info, job.ranks.iter().map(|&r| r as usize).collect());
        Daemon {
            job,
            head: Some(head),
            server,
            ranks: Vec::new(),
            stdin_dst: None,
            stdin_buf: Vec::new(),
            stdin_pos: 0,
            stdin_eof: false,
            tearing_down: false,
            kill_at: None,
            signaled: false,
            all_exited_at: None,
        }
    }

    fn send(&mut self, m: Msg) {
        if let Some(c) = &mut self.head {
            if c.send(&m).is_err() {
                self.head_lost();
            }
        }
    }

    fn head_lost(&mut self) {
        if self.head.take().is_some() {
            self.teardown(libc::SIGTERM);
        }
    }

    fn start(&mut self) {
        let spec = JobSpec {
            job_id: self.job.job_id.clone(),
            size: self.job.size as usize,
            program: self.job.program.clone(),
            args: self.job.args.clone(),
            env: self.job.env.clone(),
            hostname: crate::spawn::hostname(),
        };
        let local_size = self.job.ranks.len();
        for (local, &rank) in self.job.ranks.clone().iter().enumerate() {
            let rank = rank as usize;
            let with_stdin = rank == 0 && self.job.stdin;
            match spawn_rank_with(&spec, Placement { rank, local_rank: local, local_size }, with_stdin, true) {
                Ok(mut p) => {
                    if let Some(s) = p.stdin.take() {
                        self.stdin_dst = Some(s);
                    }
                    let pid = p.pgid;
                    self.ranks.push(DRank {
                        rank,
                        child: Some(p.child),
                        pgid: p.pgid,
                        pmi: PmiConn::new(p.pmi),
                        finalized: false,
                        exited: false,
                        stdout: Some(p.stdout),
                        stderr: Some(p.stderr),
                    });
                    self.send(Msg::Started { rank: rank as u32, pid });
                }
                Err(e) => {
                    let code = if e.kind() == io::ErrorKind::NotFound { 127 } else { 126 };
                    self.send(Msg::SpawnFailed { rank: rank as u32, code, error: e.to_string() });
                    // The head tears the job down; ranks not started count as exited here.
                    self.ranks.push(DRank {
                        rank,
                        child: None,
                        pgid: 0,
                        pmi: PmiConn::none(),
                        finalized: false,
                        exited: true,
                        stdout: None,
                        stderr: None,
                    });
                    break;
                }
            }
        }
        // Ranks after a failed start: not started at all.
        while self.ranks.len() < local_size {
            let rank = self.job.ranks[self.ranks.len()] as usize;
            self.ranks.push(DRank { rank, child: None, pgid: 0, pmi: PmiConn::none(), finalized: false, exited: true, stdout: None, stderr: None });
        }
        if self.stdin_dst.is_none() {
            self.stdin_eof = true;
        }
    }

    fn teardown(&mut self, sig: i32) {
        self.tearing_down = true;
        self.stdin_dst = None;
        for r in &self.ranks {
            if !r.exited && r.pgid > 0 {
                unsafe { libc::kill(-r.pgid, sig) };
            }
        }
        if self.kill_at.is_none() {
            self.kill_at = Some(Instant::now() + GRACE);
        }
    }

    fn kill_all(&mut self) {
        for r in &self.ranks {
            if r.pgid > 0 {
                unsafe { libc::kill(-r.pgid, libc::SIGKILL) };
            }
        }
        self.kill_at = None;
    }

    fn event_loop(&mut self, sigs: &SignalPipe) {
        loop {
            self.reap();
            let now = Instant::now();
            if self.kill_at.is_some_and(|t| now >= t) {
                self.kill_all();
            }
            if self.ranks.iter().all(|r| r.exited) {
                let t = *self.all_exited_at.get_or_insert_with(|| {
                    if self.tearing_down {
                        for r in &self.ranks {
                            if r.pgid > 0 {
                                unsafe { libc::kill(-r.pgid, libc::SIGKILL) };
                            }
                        }
                    }
                    now
                });
                let outputs_open = self.ranks.iter().any(|r| r.stdout.is_some() || r.stderr.is_some());
                if self.head.is_none() || !outputs_open || now >= t + DRAIN {
                    break;
                }
            }
            let (mut fds, slots) = self.poll_set(sigs);
            let mut wake: Vec<Instant> = Vec::new();
            wake.extend(self.kill_at);
            wake.extend(self.all_exited_at.map(|t| t + DRAIN));
            let ms = match wake.iter().min() {
                None => -1,
                Some(&t) => t.saturating_duration_since(Instant::now()).as_millis().min(60_000) as i32 + 1,
            };
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
            if n < 0 {
                if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                    self.kill_all();
                    break;
                }
                continue;
            }
            for (pfd, slot) in fds.iter().zip(slots) {
                if pfd.revents == 0 {
                    continue;
                }
                match slot {
                    Slot::Signals => self.on_signals(sigs.drain()),
                    Slot::Head => {
                        if pfd.revents & libc::POLLOUT != 0 {
                            if let Some(c) = &mut self.head {
                                if c.flush().is_err() {
                                    self.head_lost();
                                }
                            }
                        }
                        if pfd.revents & !libc::POLLOUT != 0 {
                            self.read_head();
                        }
                    }
                    Slot::StdinDst => self.write_stdin(),
                    Slot::Pmi(i) => {
                        if pfd.revents & libc::POLLOUT != 0 {
                            self.ranks[i].pmi.flush();
                        }
                        if pfd.revents & !libc::POLLOUT != 0 {
                            self.read_pmi(i);
                        }
                    }
                    Slot::Out(i) => self.read_output(i, false),
                    Slot::Err(i) => self.read_output(i, true),
                }
            }
        }
        // Output still open after DRAIN: tell the head it ends here.
        for i in 0..self.ranks.len() {
            let rank = self.ranks[i].rank as u32;
            if self.ranks[i].stdout.take().is_some() {
                self.send(Msg::OutputEof { rank, stderr: false });
            }
            if self.ranks[i].stderr.take().is_some() {
                self.send(Msg::OutputEof { rank, stderr: true });
            }
        }
        self.send(Msg::Done);
        if let Some(mut c) = self.head.take() {
            let _ = c.flush_blocking(Duration::from_secs(10));
            let _ = c.stream.shutdown(std::net::Shutdown::Write);
            // Wait (briefly) for the head to close, so it sees Done before the FIN either way.
            let mut p = libc::pollfd { fd: c.fd(), events: libc::POLLIN, revents: 0 };
            unsafe { libc::poll(&mut p, 1, 2000) };
        }
    }

    fn poll_set(&self, sigs: &SignalPipe) -> (Vec<libc::pollfd>, Vec<Slot>) {
        let mut fds = Vec::with_capacity(3 * self.ranks.len() + 3);
        let mut slots = Vec::with_capacity(fds.capacity());
        let mut add = |fd: RawFd, events: i16, slot: Slot| {
            fds.push(libc::pollfd { fd, events, revents: 0 });
            slots.push(slot);
        };
        add(sigs.fd(), libc::POLLIN, Slot::Signals);
        let mut backlog = 0;
        if let Some(c) = &self.head {
            backlog = c.pending_out();
            add(c.fd(), if backlog > 0 { libc::POLLIN | libc::POLLOUT } else { libc::POLLIN }, Slot::Head);
        }
        if let Some(dst) = &self.stdin_dst {
            if self.stdin_pos < self.stdin_buf.len() {
                add(dst.as_raw_fd(), libc::POLLOUT, Slot::StdinDst);
            }
        }
        for (i, r) in self.ranks.iter().enumerate() {
            if let Some((fd, ev)) = r.pmi.poll_events() {
                add(fd, ev, Slot::Pmi(i));
            }
            if backlog < OUT_HIGH_WATER {
                if let Some(s) = &r.stdout {
                    add(s.as_raw_fd(), libc::POLLIN, Slot::Out(i));
                }
                if let Some(s) = &r.stderr {
                    add(s.as_raw_fd(), libc::POLLIN, Slot::Err(i));
                }
            }
        }
        (fds, slots)
    }

    fn on_signals(&mut self, sigs: Vec<i32>) {
        for sig in sigs {
            if !FORWARDED.iter().any(|s| *s as i32 == sig) {
                continue;
            }
            if self.signaled {
                self.kill_all();
            } else {
                self.signaled = true;
                self.teardown(sig);
            }
        }
    }

    fn read_head(&mut self) {
        let Some(c) = &mut self.head else { return };
        match c.read_frames() {
            Ok(msgs) => {
                for m in msgs {
                    self.on_head(m);
                }
            }
            Err(_) => self.head_lost(),
        }
    }

    fn on_head(&mut self, m: Msg) {
        match m {
            Msg::FenceDone { puts } => {
                let acts = self.server.fence_complete(puts);
                self.apply(acts);
            }
            Msg::Stdin { data } => {
                if self.stdin_dst.is_none() {
                    // Rank 0 is gone or closed its stdin: drop, but keep the head's window open.
                    self.send(Msg::StdinAck { bytes: data.len() as u64 });
                    return;
                }
                if self.stdin_pos >= self.stdin_buf.len() {
                    self.stdin_buf.clear();
                    self.stdin_pos = 0;
                }
                self.stdin_buf.extend_from_slice(&data);
                self.write_stdin();
            }
            Msg::StdinEof => {
                self.stdin_eof = true;
                if self.stdin_pos >= self.stdin_buf.len() {
                    self.stdin_dst = None;
                }
            }
            Msg::Teardown { sig } => self.teardown(sig),
            Msg::Kill => {
                self.teardown(libc::SIGKILL);
                self.kill_all();
            }
            _ => {}
        }
    }

    fn write_stdin(&mut self) {
        let Some(dst) = &mut self.stdin_dst else { return };
        let before = self.stdin_pos;
        let mut closed = false;
        while self.stdin_pos < self.stdin_buf.len() {
            match dst.write(&self.stdin_buf[self.stdin_pos..]) {
                Ok(n) => self.stdin_pos += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    closed = true;
                    break;
                }
            }
        }
        let mut acked = (self.stdin_pos - before) as u64;
        if closed {
            acked += (self.stdin_buf.len() - self.stdin_pos) as u64;
            self.stdin_buf.clear();
            self.stdin_pos = 0;
            self.stdin_dst = None;
        } else if self.stdin_pos >= self.stdin_buf.len() && self.stdin_eof {
            self.stdin_dst = None;
        }
        if acked > 0 {
            self.send(Msg::StdinAck { bytes: acked });
        }
    }

    fn read_output(&mut self, i: usize, stderr: bool) {
        let mut buf = vec![0u8; 64 * 1024];
        let r = &mut self.ranks[i];
        let rank = r.rank as u32;
        let f: Option<&mut dyn Read> = if stderr { r.stderr.as_mut().map(|f| f as &mut dyn Read) } else { r.stdout.as_mut().map(|f| f as &mut dyn Read) };
        let Some(f) = f else { return };
        match f.read(&mut buf) {
            Ok(n) if n > 0 => {
                buf.truncate(n);
                self.send(Msg::Output { rank, stderr, data: buf });
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
            _ => {
                if stderr {
                    r.stderr = None;
                } else {
                    r.stdout = None;
                }
                self.send(Msg::OutputEof { rank, stderr });
            }
        }
    }

    fn reap(&mut self) {
        for i in 0..self.ranks.len() {
            if self.ranks[i].exited {
                continue;
            }
            let Some(child) = &mut self.ranks[i].child else { continue };
            let status = match child.try_wait() {
                Ok(Some(s)) => s,
                Ok(None) => continue,
                Err(e) => {
                    let rank = self.ranks[i].rank;
                    self.send(Msg::Notice { text: format!("waiting for rank {rank}: {e}") });
                    self.ranks[i].exited = true;
                    self.send(Msg::Exited { rank: rank as u32, code: 1, signal: 0, pmi_used: false, finalized: false });
                    continue;
                }
            };
            // What the rank said to PMI before dying (an abort, a finalize) goes first.
            while self.read_pmi(i) {}
            let r = &mut self.ranks[i];
            r.exited = true;
            if r.rank == 0 {
                self.stdin_dst = None;
            }
            let (rank, pmi_used, finalized) = (r.rank as u32, r.pmi.used(), r.finalized);
            let signal = status.signal().unwrap_or(0);
            let code = status.code().unwrap_or(if signal > 0 { 0 } else { 1 });
            self.send(Msg::Exited { rank, code, signal, pmi_used, finalized });
        }
    }

    fn read_pmi(&mut self, i: usize) -> bool {
        let mut buf = [0u8; 16 * 1024];
        let Some(data) = self.ranks[i].pmi.read(&mut buf) else { return false };
        let acts = self.server.recv(i, data);
        self.apply(acts);
        true
    }

    fn apply(&mut self, acts: Vec<Action>) {
        for a in acts {
            match a {
                Action::Send { conn, data } => {
                    self.ranks[conn].pmi.send(&data);
                }
                Action::FenceReady { puts } => self.send(Msg::Fence { puts }),
                Action::Finalized { rank } => {
                    if let Some(r) = self.ranks.iter_mut().find(|r| r.rank == rank) {
                        r.finalized = true;
                    }
                    self.send(Msg::Finalized { rank: rank as u32 });
                }
                Action::Abort { rank, code, message } => self.send(Msg::Abort { rank: rank as u32, code, message }),
                Action::ProtocolError { conn, rank, error } => {
                    self.ranks[conn].pmi.close();
                    self.send(Msg::ProtocolError { rank: rank as u32, error });
                }
            }
        }
    }
}
