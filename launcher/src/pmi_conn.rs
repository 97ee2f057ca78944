//! One rank's PMI connection as a launcher process serves it (mpirun on one host, the daemon
//! on each host of a multi-host job): the non-blocking socket, the replies not yet written (a
//! rank that does not read its socket must not stall the poll loop that serves every other
//! rank), and whether the rank ever spoke PMI (one that exits without a word is no MPI
//! program, and its exit says nothing about the job's PMI state).

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;

pub struct PmiConn {
    /// `None` once the rank closed it, it failed, or it broke the protocol.
    sock: Option<UnixStream>,
    /// Replies queued while the socket was full.
    out: Vec<u8>,
    used: bool,
}

impl PmiConn {
    pub fn new(sock: UnixStream) -> PmiConn {
        PmiConn { sock: Some(sock), out: Vec::new(), used: false }
    }

    /// A rank that has no connection (it was never started).
    pub fn none() -> PmiConn {
        PmiConn { sock: None, out: Vec::new(), used: false }
    }

    /// Whether the rank has sent anything over PMI.
    pub fn used(&self) -> bool {
        self.used
    }

    /// The descriptor and poll events to wait for, while the connection is open.
    pub fn poll_events(&self) -> Option<(RawFd, libc::c_short)> {
        let sock = self.sock.as_ref()?;
        let events = if self.out.is_empty() { libc::POLLIN } else { libc::POLLIN | libc::POLLOUT };
        Some((sock.as_raw_fd(), events))
    }

    /// Reads what the rank sent into `buf`: `None` when nothing more is to be read now (the
    /// socket would block, or the connection ended and is closed).
    pub fn read<'a>(&mut self, buf: &'a mut [u8]) -> Option<&'a [u8]> {
        let sock = self.sock.as_mut()?;
        loop {
            match sock.read(buf) {
                Ok(0) => break,
                Ok(n) => {
                    self.used = true;
                    return Some(&buf[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Err(_) => break,
            }
        }
        self.close();
        None
    }

    /// Queues a reply and writes as much as the socket takes.
    pub fn send(&mut self, data: &[u8]) {
        self.out.extend_from_slice(data);
        self.flush();
    }

    /// Writes queued replies until done or the socket is full; a failed socket is closed.
    pub fn flush(&mut self) {
        let Some(sock) = &mut self.sock else {
            self.out.clear();
            return;
        };
        while !self.out.is_empty() {
            match sock.write(&self.out) {
                Ok(n) => {
                    self.out.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    self.close();
                    return;
                }
            }
        }
    }

    /// Drops the connection (and what was queued for it).
    pub fn close(&mut self) {
        self.sock = None;
        self.out.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (PmiConn, UnixStream) {
        let (a, b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        (PmiConn::new(a), b)
    }

    #[test]
    fn reads_what_the_rank_sent_and_marks_it_used() {
        let (mut c, mut rank) = pair();
        let mut buf = [0u8; 64];
        assert!(c.read(&mut buf).is_none(), "nothing sent yet: would block");
        assert!(!c.used());
        rank.write_all(b"cmd=init\n").unwrap();
        assert_eq!(c.read(&mut buf), Some(&b"cmd=init\n"[..]));
        assert!(c.used());
        assert!(c.poll_events().is_some());
    }

    #[test]
    fn a_closed_rank_closes_the_connection() {
        let (mut c, rank) = pair();
        drop(rank);
        let mut buf = [0u8; 64];
        assert!(c.read(&mut buf).is_none());
        assert!(c.poll_events().is_none());
        c.send(b"ignored");
        c.flush();
    }

    #[test]
    fn replies_queue_while_the_rank_does_not_read() {
        let (mut c, mut rank) = pair();
        let chunk = vec![b'x'; 64 * 1024];
        let mut queued = 0;
        // Fill the socket until a reply stays queued; poll then asks for POLLOUT.
        while c.poll_events().unwrap().1 & libc::POLLOUT == 0 {
            c.send(&chunk);
            queued += chunk.len();
        }
        let mut got = 0;
        let mut buf = vec![0u8; 64 * 1024];
        rank.set_nonblocking(true).unwrap();
        while got < queued {
            match rank.read(&mut buf) {
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => c.flush(),
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(got, queued);
        assert_eq!(c.poll_events().unwrap().1, libc::POLLIN);
    }
}
