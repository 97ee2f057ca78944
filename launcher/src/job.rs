//! The single-host job: spawn ranks, then one poll(2) loop over the signal pipe, stdin, the PMI
//! sockets and the output pipes until every rank has exited.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{ChildStderr, ChildStdin, ChildStdout};
use std::time::{Duration, Instant};

use pmi::server::{block_process_mapping, Action, JobInfo, NodeServer};

use crate::output::{Dest, LineBuffer, Sink};
use crate::pmi_conn::PmiConn;
use crate::signals::{self, SignalPipe};
use crate::spawn::{spawn_rank, JobSpec, Placement, RankProc};

/// Time between SIGTERM and SIGKILL when the job is torn down.
pub const GRACE: Duration = Duration::from_secs(2);
/// How long to wait for output pipes to close after the last rank exited (a rank's children
/// may hold them).
pub const DRAIN: Duration = Duration::from_secs(2);

/// How the job runs.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub tag_output: bool,
    pub timeout: Option<Duration>,
}

struct Rank {
    rank: usize,
    child: std::process::Child,
    pgid: i32,
    pmi: PmiConn,
    finalized: bool,
    exited: bool,
    stdout: Option<(ChildStdout, LineBuffer)>,
    stderr: Option<(ChildStderr, LineBuffer)>,
}

#[derive(Clone, Copy)]
enum Slot {
    Signals,
    StdinSrc,
    StdinDst,
    Pmi(usize),
    Out(usize),
    Err(usize),
}

struct Job {
    ranks: Vec<Rank>,
    server: NodeServer,
    sink: Sink,
    stdin_src_open: bool,
    stdin_dst: Option<ChildStdin>,
    stdin_buf: Vec<u8>,
    stdin_pos: usize,
    /// The job's exit status, set by the first failure.
    exit_code: Option<i32>,
    /// Signal mpirun received and forwarded.
    signaled: Option<i32>,
    /// SIGTERM sent; SIGKILL due at this time.
    kill_at: Option<Instant>,
    tearing_down: bool,
    all_exited_at: Option<Instant>,
}

/// Run the job described by `spec` on this host; returns mpirun's exit status.
pub fn run(spec: &JobSpec, opts: &RunOptions) -> i32 {
    let mut sink = Sink::new(opts.tag_output);
    let sigs = match SignalPipe::install() {
        Ok(s) => s,
        Err(e) => {
            sink.notice(&format!("mpirun: cannot install signal handlers: {e}"));
            return 1;
        }
    };
    let job_info = JobInfo {
        job_id: spec.job_id.clone(),
        size: spec.size,
        appnum: 0,
        universe_size: spec.size,
        process_mapping: block_process_mapping(1, spec.size),
    };
    let mut job = Job {
        ranks: Vec::with_capacity(spec.size),
        server: NodeServer::new(job_info, (0..spec.size).collect()),
        sink,
        stdin_src_open: stdin_readable(),
        stdin_dst: None,
        stdin_buf: Vec::new(),
        stdin_pos: 0,
        exit_code: None,
        signaled: None,
        kill_at: None,
        tearing_down: false,
        all_exited_at: None,
    };
    for r in 0..spec.size {
        let place = Placement { rank: r, local_rank: r, local_size: spec.size };
        match spawn_rank(spec, place, r == 0) {
            Ok(p) => job.add(p),
            Err(e) => {
                job.sink.notice(&format!("mpirun: cannot start rank {r} ({}): {e}", spec.program));
                let code = match e.kind() {
                    io::ErrorKind::NotFound => 127,
                    _ => 126,
                };
                job.fail(code);
                break;
            }
        }
    }
    if job.stdin_dst.is_none() {
        job.stdin_src_open = false;
    }
    let deadline = opts.timeout.map(|t| Instant::now() + t);
    job.event_loop(&sigs, deadline, opts.timeout);
    cleanup_shm(&spec.job_id);
    job.exit_code.or(job.signaled.map(|s| 128 + s)).unwrap_or(0)
}

impl Job {
    fn add(&mut self, mut p: RankProc) {
        if let Some(s) = p.stdin.take() {
            self.stdin_dst = Some(s);
        }
        self.ranks.push(Rank {
            rank: p.rank,
            child: p.child,
            pgid: p.pgid,
            pmi: PmiConn::new(p.pmi),
            finalized: false,
            exited: false,
            stdout: Some((p.stdout, LineBuffer::new(p.rank, Dest::Stdout))),
            stderr: Some((p.stderr, LineBuffer::new(p.rank, Dest::Stderr))),
        });
    }

    /// Record the job's exit status (first failure wins) and tear the job down.
    fn fail(&mut self, code: i32) {
        if self.exit_code.is_none() {
            self.exit_code = Some(code);
        }
        self.teardown(libc::SIGTERM);
    }

    /// Send `sig` to every rank's process group; SIGKILL follows after [`GRACE`].
    fn teardown(&mut self, sig: i32) {
        self.tearing_down = true;
        self.close_stdin();
        for r in &self.ranks {
            unsafe { libc::kill(-r.pgid, sig) };
        }
        if self.kill_at.is_none() {
            self.kill_at = Some(Instant::now() + GRACE);
        }
    }

    fn kill_all(&mut self) {
        for r in &self.ranks {
            unsafe { libc::kill(-r.pgid, libc::SIGKILL) };
        }
        self.kill_at = None;
    }

    fn close_stdin(&mut self) {
        self.stdin_src_open = false;
        self.stdin_dst = None;
        self.stdin_buf.clear();
        self.stdin_pos = 0;
    }

    fn event_loop(&mut self, sigs: &SignalPipe, deadline: Option<Instant>, timeout: Option<Duration>) {
        let mut deadline = deadline;
        loop {
            self.reap();
            let now = Instant::now();
            if let Some(t) = self.kill_at {
                if now >= t {
                    self.kill_all();
                }
            }
            if let Some(t) = deadline {
                if now >= t {
                    deadline = None;
                    self.sink.notice(&format!("mpirun: job timed out after {} s; killing it", timeout.unwrap_or_default().as_secs()));
                    self.fail(124);
                }
            }
            let outputs_open = self.ranks.iter().any(|r| r.stdout.is_some() || r.stderr.is_some());
            if self.ranks.iter().all(|r| r.exited) {
                let t = *self.all_exited_at.get_or_insert_with(|| {
                    if self.tearing_down {
                        // Leftover children of killed ranks go too.
                        for r in &self.ranks {
                            unsafe { libc::kill(-r.pgid, libc::SIGKILL) };
                        }
                    }
                    now
                });
                if !outputs_open || now >= t + DRAIN {
                    break;
                }
            }

            let (mut fds, slots) = self.poll_set(sigs);
            let mut wake: Vec<Instant> = Vec::new();
            wake.extend(self.kill_at);
            wake.extend(deadline);
            wake.extend(self.all_exited_at.map(|t| t + DRAIN));
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
                }
                continue;
            }
            for (pfd, slot) in fds.iter().zip(slots) {
                if pfd.revents == 0 {
                    continue;
                }
                match slot {
                    Slot::Signals => self.on_signals(sigs.drain()),
                    Slot::StdinSrc => self.read_stdin(),
                    Slot::StdinDst => self.write_stdin(),
                    Slot::Pmi(i) => {
                        if pfd.revents & libc::POLLOUT != 0 {
                            self.ranks[i].pmi.flush();
                        }
                        if pfd.revents & !libc::POLLOUT != 0 {
                            self.read_pmi(i);
                        }
                    }
                    Slot::Out(i) => self.read_output(i, Dest::Stdout),
                    Slot::Err(i) => self.read_output(i, Dest::Stderr),
                }
            }
        }
        // Streams still open after DRAIN: flush what we have.
        for i in 0..self.ranks.len() {
            if let Some((_, mut lb)) = self.ranks[i].stdout.take() {
                lb.finish(&mut self.sink);
            }
            if let Some((_, mut lb)) = self.ranks[i].stderr.take() {
                lb.finish(&mut self.sink);
            }
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
        if let Some(dst) = &self.stdin_dst {
            if self.stdin_pos < self.stdin_buf.len() {
                add(dst.as_raw_fd(), libc::POLLOUT, Slot::StdinDst);
            } else if self.stdin_src_open {
                add(0, libc::POLLIN, Slot::StdinSrc);
            }
        }
        for (i, r) in self.ranks.iter().enumerate() {
            if let Some((fd, ev)) = r.pmi.poll_events() {
                add(fd, ev, Slot::Pmi(i));
            }
            if let Some((s, _)) = &r.stdout {
                add(s.as_raw_fd(), libc::POLLIN, Slot::Out(i));
            }
            if let Some((s, _)) = &r.stderr {
                add(s.as_raw_fd(), libc::POLLIN, Slot::Err(i));
            }
        }
        (fds, slots)
    }

    fn on_signals(&mut self, sigs: Vec<i32>) {
        for sig in sigs {
            if sig == libc::SIGCHLD {
                continue; // reaped at the top of the loop
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

    fn reap(&mut self) {
        for i in 0..self.ranks.len() {
            if self.ranks[i].exited {
                continue;
            }
            let status = match self.ranks[i].child.try_wait() {
                Ok(Some(s)) => s,
                Ok(None) => continue,
                Err(e) => {
                    self.sink.notice(&format!("mpirun: waiting for rank {}: {e}", self.ranks[i].rank));
                    self.ranks[i].exited = true;
                    self.fail(1);
                    continue;
                }
            };
            // Whatever the rank said to PMI before dying (an abort) comes first.
            self.read_pmi_all(i);
            self.ranks[i].exited = true;
            if i == 0 {
                self.close_stdin();
            }
            let rank = self.ranks[i].rank;
            let finalized = self.ranks[i].finalized;
            if self.tearing_down {
                continue;
            }
            if let Some(sig) = status.signal() {
                self.sink.notice(&format!("mpirun: rank {rank} (pid {}) was killed by signal {sig} ({}); ending the job", self.ranks[i].pgid, signals::name(sig)));
                self.fail(128 + sig);
            } else {
                let code = status.code().unwrap_or(1);
                if code != 0 && !finalized {
                    self.sink.notice(&format!("mpirun: rank {rank} exited with code {code}; ending the job"));
                    self.fail(code);
                } else if code != 0 {
                    self.sink.notice(&format!("mpirun: rank {rank} exited with code {code} after MPI_Finalize"));
                    self.exit_code.get_or_insert(code);
                } else if self.ranks[i].pmi.used() && !finalized && self.ranks.iter().any(|r| !r.exited && !r.finalized) {
                    self.sink.notice(&format!("mpirun: rank {rank} exited without finalizing PMI (no MPI_Finalize?) while other ranks run; ending the job"));
                    self.fail(1);
                }
            }
        }
    }

    fn read_stdin(&mut self) {
        let mut buf = vec![0u8; 64 * 1024];
        let n = unsafe { libc::read(0, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
        if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            return;
        }
        if n <= 0 {
            // EOF (or unreadable stdin): rank 0 sees EOF once the buffer is drained.
            self.stdin_src_open = false;
            self.stdin_dst = None;
            return;
        }
        buf.truncate(n as usize);
        self.stdin_buf = buf;
        self.stdin_pos = 0;
        self.write_stdin();
    }

    fn write_stdin(&mut self) {
        let Some(dst) = &mut self.stdin_dst else { return };
        match dst.write(&self.stdin_buf[self.stdin_pos..]) {
            Ok(n) => self.stdin_pos += n,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
            // Rank 0 closed its stdin.
            Err(_) => return self.close_stdin(),
        }
        if self.stdin_pos >= self.stdin_buf.len() {
            self.stdin_buf.clear();
            self.stdin_pos = 0;
            if !self.stdin_src_open {
                self.stdin_dst = None;
            }
        }
    }

    fn read_output(&mut self, i: usize, dest: Dest) {
        let mut buf = [0u8; 64 * 1024];
        let r = &mut self.ranks[i];
        let slot = match dest {
            Dest::Stdout => r.stdout.as_mut().map(|(f, lb)| (f as &mut dyn Read, lb)),
            Dest::Stderr => r.stderr.as_mut().map(|(f, lb)| (f as &mut dyn Read, lb)),
        };
        let Some((f, lb)) = slot else { return };
        match f.read(&mut buf) {
            Ok(0) => {
                lb.finish(&mut self.sink);
                match dest {
                    Dest::Stdout => r.stdout = None,
                    Dest::Stderr => r.stderr = None,
                }
            }
            Ok(n) => lb.push(&mut self.sink, &buf[..n]),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
            Err(_) => {
                lb.finish(&mut self.sink);
                match dest {
                    Dest::Stdout => r.stdout = None,
                    Dest::Stderr => r.stderr = None,
                }
            }
        }
    }

    /// Read once from rank `i`'s PMI socket. Returns false when nothing more is to be read now.
    fn read_pmi(&mut self, i: usize) -> bool {
        let mut buf = [0u8; 16 * 1024];
        let Some(data) = self.ranks[i].pmi.read(&mut buf) else { return false };
        let acts = self.server.recv(i, data);
        self.apply(acts);
        true
    }

    fn read_pmi_all(&mut self, i: usize) {
        while self.read_pmi(i) {}
    }

    fn apply(&mut self, acts: Vec<Action>) {
        let mut queue = std::collections::VecDeque::from(acts);
        while let Some(a) = queue.pop_front() {
            match a {
                Action::Send { conn, data } => {
                    self.ranks[conn].pmi.send(&data);
                }
                // Single host: every rank is local, so the fence is complete.
                Action::FenceReady { puts } => queue.extend(self.server.fence_complete(puts)),
                Action::Finalized { rank } => self.ranks[rank].finalized = true,
                Action::Abort { rank, code, message } => {
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
                Action::ProtocolError { conn, rank, error } => {
                    self.sink.notice(&format!("mpirun: rank {rank}: PMI protocol error: {error}; closing its PMI connection"));
                    self.ranks[conn].pmi.close();
                }
            }
        }
    }
}

/// Whether mpirun should read its stdin for rank 0: not when stdin is a terminal we do not own
/// (mpirun in the background would be stopped by SIGTTIN).
pub fn stdin_readable() -> bool {
    if unsafe { libc::fcntl(0, libc::F_GETFD) } < 0 {
        return false;
    }
    if unsafe { libc::isatty(0) } == 1 {
        let fg = unsafe { libc::tcgetpgrp(0) };
        return fg == unsafe { libc::getpgrp() };
    }
    true
}

/// Remove `/dev/shm` entries named after the job (the library unlinks its segments early; this
/// catches what a killed job left behind).
pub fn cleanup_shm(job_id: &str) {
    if job_id.is_empty() {
        return;
    }
    if let Ok(dir) = std::fs::read_dir("/dev/shm") {
        for e in dir.flatten() {
            if e.file_name().to_string_lossy().contains(job_id) {
                let p = e.path();
                let _ = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
            }
        }
    }
}
