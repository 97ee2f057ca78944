//! Starting the ranks of one host. This is the seam where the multi-host daemon will plug in:
//! it receives a [`JobSpec`] and its [`Placement`]s and calls [`spawn_rank`] the same way.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, Stdio};

/// What every rank of the job runs.
#[derive(Clone, Debug)]
pub struct JobSpec {
    pub job_id: String,
    pub size: usize,
    pub program: String,
    pub args: Vec<String>,
    /// `-x` variables, applied on top of the inherited environment.
    pub env: Vec<(String, String)>,
    pub hostname: String,
}

/// Where one rank goes.
#[derive(Clone, Copy, Debug)]
pub struct Placement {
    pub rank: usize,
    pub local_rank: usize,
    pub local_size: usize,
}

/// A started rank and mpirun's ends of its channels.
#[derive(Debug)]
pub struct RankProc {
    pub rank: usize,
    pub child: Child,
    /// Process group (= pid): the rank and everything it starts.
    pub pgid: i32,
    pub pmi: UnixStream,
    pub stdin: Option<ChildStdin>,
    pub stdout: ChildStdout,
    pub stderr: ChildStderr,
}

/// Variables a PMI server of an enclosing job may have left that must not reach our ranks.
const STALE_ENV: &[&str] = &["PMI_PORT", "PMI_ID", "PMI2_SUN_PATH", "PMI_SPAWNED", "PMI_KVSNAME", "PMIX_RANK", "PMIX_NAMESPACE"];

/// Fork/exec one rank in its own process group with a PMI socket (`PMI_FD`), its stdout/stderr
/// piped to us and stdin piped (if `with_stdin`) or /dev/null.
pub fn spawn_rank(spec: &JobSpec, p: Placement, with_stdin: bool) -> io::Result<RankProc> {
    spawn_rank_with(spec, p, with_stdin, false)
}

/// [`spawn_rank`]; with `die_with_parent` the rank gets SIGKILL when this process dies (the
/// per-host daemon uses it, so a killed daemon leaves no ranks behind).
pub fn spawn_rank_with(spec: &JobSpec, p: Placement, with_stdin: bool, die_with_parent: bool) -> io::Result<RankProc> {
    let parent = std::process::id() as libc::pid_t;
    let (ours, theirs) = UnixStream::pair()?;
    let child_fd: RawFd = theirs.as_raw_fd();
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args);
    for k in STALE_ENV {
        cmd.env_remove(k);
    }
    cmd.env("PMI_FD", child_fd.to_string())
        .env("PMI_RANK", p.rank.to_string())
        .env("PMI_SIZE", spec.size.to_string())
        .env("PMI_JOBID", &spec.job_id)
        .env("PMI_HOSTNAME", &spec.hostname)
        .env("MPI_LOCALNRANKS", p.local_size.to_string())
        .env("MPI_LOCALRANKID", p.local_rank.to_string());
    for (k, v) in &spec.env {
        cmd.env(k, v);
    }
    cmd.stdin(if with_stdin { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // The PMI socket must survive exec.
            let flags = libc::fcntl(child_fd, libc::F_GETFD);
            if flags < 0 || libc::fcntl(child_fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) < 0 {
                return Err(io::Error::last_os_error());
            }
            if die_with_parent {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    drop(theirs);
    let pgid = child.id() as i32;
    ours.set_nonblocking(true)?;
    let stdin = child.stdin.take();
    if let Some(s) = &stdin {
        set_nonblocking(s.as_raw_fd())?;
    }
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    Ok(RankProc { rank: p.rank, child, pgid, pmi: ours, stdin, stdout, stderr })
}

pub fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A job id unique per run: `ferrompi-<pid>-<random hex>`.
pub fn new_job_id() -> String {
    let mut r = [0u8; 6];
    let ok = std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut r)).is_ok();
    let rnd: u64 = if ok {
        r.iter().fold(0u64, |a, &b| (a << 8) | b as u64)
    } else {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        (t.as_nanos() as u64) & 0xffff_ffff_ffff
    };
    format!("ferrompi-{}-{:012x}", std::process::id(), rnd)
}

/// This host's name.
pub fn hostname() -> String {
    nix::unistd::gethostname().ok().and_then(|h| h.into_string().ok()).unwrap_or_else(|| "localhost".into())
}
