//! Forwarding of the ranks' stdout/stderr as whole lines.
//!
//! Each rank stream is buffered until a newline; complete lines are written to mpirun's own
//! stdout/stderr in one write, so lines of two ranks never mix. A partial last line is flushed at
//! EOF (or when it grows past [`MAX_LINE`]); if another rank then writes to the same stream, a
//! newline is inserted first. With tagging each line gets the prefix `[R] `.

use std::os::fd::RawFd;

/// A line longer than this is forwarded in pieces.
pub const MAX_LINE: usize = 1 << 20;

/// Which of mpirun's streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dest {
    Stdout,
    Stderr,
}

impl Dest {
    fn fd(self) -> RawFd {
        match self {
            Dest::Stdout => 1,
            Dest::Stderr => 2,
        }
    }
    fn index(self) -> usize {
        self as usize
    }
}

/// mpirun's stdout and stderr, remembering whether the last write ended a line.
#[derive(Debug)]
pub struct Sink {
    tag: bool,
    /// Per destination: the rank whose partial line was written last, if it did not end in '\n'.
    dangling: [Option<usize>; 2],
}

impl Sink {
    pub fn new(tag: bool) -> Self {
        Sink { tag, dangling: [None, None] }
    }

    /// Write `data` from `rank`: whole lines, plus a trailing partial line if `partial`.
    fn emit(&mut self, rank: usize, dest: Dest, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let mut out = Vec::with_capacity(data.len() + 16);
        let d = dest.index();
        let mut continuing = false;
        if let Some(prev) = self.dangling[d] {
            if prev == rank {
                continuing = true;
            } else {
                out.push(b'\n');
            }
        }
        let mut first = true;
        for line in data.split_inclusive(|&c| c == b'\n') {
            if self.tag && !(first && continuing) {
                out.extend_from_slice(format!("[{rank}] ").as_bytes());
            }
            out.extend_from_slice(line);
            first = false;
        }
        self.dangling[d] = if out.last() == Some(&b'\n') { None } else { Some(rank) };
        write_fully(dest.fd(), &out);
    }

    /// Write a message of mpirun's own (always a whole line) to stderr.
    pub fn notice(&mut self, text: &str) {
        let mut out = Vec::new();
        if self.dangling[Dest::Stderr.index()].take().is_some() {
            out.push(b'\n');
        }
        out.extend_from_slice(text.as_bytes());
        if !text.ends_with('\n') {
            out.push(b'\n');
        }
        write_fully(2, &out);
    }
}

/// Write everything, waiting (poll) if the descriptor is non-blocking and full. Errors (e.g. a
/// closed pipe) drop the output: the job goes on.
pub fn write_fully(fd: RawFd, mut data: &[u8]) {
    while !data.is_empty() {
        let n = unsafe { libc::write(fd, data.as_ptr() as *const libc::c_void, data.len()) };
        if n >= 0 {
            data = &data[n as usize..];
            continue;
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN) => {
                let mut p = libc::pollfd { fd, events: libc::POLLOUT, revents: 0 };
                unsafe { libc::poll(&mut p, 1, 1000) };
            }
            _ => return,
        }
    }
}

/// One rank stream being forwarded.
#[derive(Debug)]
pub struct LineBuffer {
    pub rank: usize,
    pub dest: Dest,
    buf: Vec<u8>,
}

impl LineBuffer {
    pub fn new(rank: usize, dest: Dest) -> Self {
        LineBuffer { rank, dest, buf: Vec::new() }
    }

    /// Bytes read from the rank: forward the complete lines.
    pub fn push(&mut self, sink: &mut Sink, data: &[u8]) {
        self.buf.extend_from_slice(data);
        let cut = match self.buf.iter().rposition(|&c| c == b'\n') {
            Some(p) => p + 1,
            None if self.buf.len() > MAX_LINE => self.buf.len(),
            None => return,
        };
        let rest = self.buf.split_off(cut);
        let lines = std::mem::replace(&mut self.buf, rest);
        sink.emit(self.rank, self.dest, &lines);
    }

    /// End of stream: flush the partial last line.
    pub fn finish(&mut self, sink: &mut Sink) {
        let rest = std::mem::take(&mut self.buf);
        sink.emit(self.rank, self.dest, &rest);
    }
}
