//! Self-pipe for signals: handlers write the signal number into a non-blocking pipe that the
//! event loop polls.

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, Ordering};

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

static WRITE_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(sig: libc::c_int) {
    let fd = WRITE_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        let b = sig as u8;
        let saved = unsafe { *libc::__errno_location() };
        unsafe { libc::write(fd, &b as *const u8 as *const libc::c_void, 1) };
        unsafe { *libc::__errno_location() = saved };
    }
}

/// The read end of the signal pipe.
pub struct SignalPipe {
    read_fd: RawFd,
}

/// Signals mpirun catches: SIGCHLD (rank exits) and the ones it forwards to the ranks.
pub const FORWARDED: [Signal; 4] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP, Signal::SIGQUIT];

impl SignalPipe {
    /// Install handlers for SIGCHLD and [`FORWARDED`]. Call once.
    pub fn install() -> io::Result<SignalPipe> {
        let mut fds = [0 as RawFd; 2];
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
            return Err(io::Error::last_os_error());
        }
        WRITE_FD.store(fds[1], Ordering::SeqCst);
        let act = SigAction::new(SigHandler::Handler(on_signal), SaFlags::SA_RESTART | SaFlags::SA_NOCLDSTOP, SigSet::empty());
        for sig in std::iter::once(Signal::SIGCHLD).chain(FORWARDED) {
            unsafe { sigaction(sig, &act) }.map_err(io::Error::from)?;
        }
        Ok(SignalPipe { read_fd: fds[0] })
    }

    pub fn fd(&self) -> RawFd {
        self.read_fd
    }

    /// Signals received since the last call (SIGCHLD included).
    pub fn drain(&self) -> Vec<i32> {
        let mut out = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            let n = unsafe { libc::read(self.read_fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
            if n <= 0 {
                break;
            }
            out.extend(buf[..n as usize].iter().map(|&b| b as i32));
        }
        out
    }
}

/// Name of a signal number, e.g. `SIGKILL`.
pub fn name(sig: i32) -> String {
    Signal::try_from(sig).map(|s| s.as_str().to_string()).unwrap_or_else(|_| format!("signal {sig}"))
}
