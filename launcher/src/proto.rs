//! The head <-> daemon protocol: length-prefixed binary frames over one TCP connection per host.
//!
//! Frame: `u32 LE length` (of what follows), `u8 tag`, payload. Strings and byte strings are
//! `u32 LE length` + bytes; integers are little-endian. The daemon's first frame is
//! [`Msg::Hello`] with the job's secret; the head answers with [`Msg::Job`] or closes.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;

/// Largest frame accepted (puts of a large job's fence can be big).
pub const MAX_FRAME: usize = 256 << 20;
/// Largest first frame from a connection that has not shown the secret yet.
pub const MAX_HELLO: usize = 4096;
/// Protocol version in the hello (head and daemons are the same binary, but a stale install on
/// one host should fail clearly).
pub const VERSION: u32 = 1;

/// What a daemon needs to start its ranks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobMsg {
    pub job_id: String,
    pub size: u32,
    pub universe_size: u32,
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: String,
    pub process_mapping: String,
    /// The ranks of this host in local-rank order.
    pub ranks: Vec<u32>,
    /// Rank 0 is here and mpirun forwards its stdin.
    pub stdin: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    // daemon -> head
    Hello { version: u32, token: String, host: u32, hostname: String },
    Started { rank: u32, pid: i32 },
    SpawnFailed { rank: u32, code: i32, error: String },
    Output { rank: u32, stderr: bool, data: Vec<u8> },
    OutputEof { rank: u32, stderr: bool },
    Fence { puts: Vec<(String, String)> },
    Abort { rank: u32, code: i32, message: String },
    Finalized { rank: u32 },
    ProtocolError { rank: u32, error: String },
    /// `signal` > 0: killed by that signal; else exited with `code`.
    Exited { rank: u32, code: i32, signal: i32, pmi_used: bool, finalized: bool },
    Notice { text: String },
    StdinAck { bytes: u64 },
    /// Every rank of the host has exited and its output is flushed.
    Done,
    // head -> daemon
    Job(JobMsg),
    FenceDone { puts: Vec<(String, String)> },
    Stdin { data: Vec<u8> },
    StdinEof,
    /// Send `sig` to every rank; SIGKILL follows after the grace period.
    Teardown { sig: i32 },
    /// SIGKILL every rank now.
    Kill,
}

struct W(Vec<u8>);

impl W {
    fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn i32(&mut self, v: i32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.u32(v.len() as u32);
        self.0.extend_from_slice(v);
        self
    }
    fn str(&mut self, v: &str) -> &mut Self {
        self.bytes(v.as_bytes())
    }
    fn strs(&mut self, v: &[String]) -> &mut Self {
        self.u32(v.len() as u32);
        for s in v {
            self.str(s);
        }
        self
    }
    fn pairs(&mut self, v: &[(String, String)]) -> &mut Self {
        self.u32(v.len() as u32);
        for (a, b) in v {
            self.str(a).str(b);
        }
        self
    }
}

struct R<'a> {
    b: &'a [u8],
}

type DResult<T> = Result<T, ()>;

impl<'a> R<'a> {
    fn take(&mut self, n: usize) -> DResult<&'a [u8]> {
        if self.b.len() < n {
            return Err(());
        }
        let (a, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(a)
    }
    fn u8(&mut self) -> DResult<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> DResult<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn i32(&mut self) -> DResult<i32> {
        Ok(i32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> DResult<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn bytes(&mut self) -> DResult<Vec<u8>> {
        let n = self.u32()? as usize;
        Ok(self.take(n)?.to_vec())
    }
    fn str(&mut self) -> DResult<String> {
        String::from_utf8(self.bytes()?).map_err(|_| ())
    }
    fn count(&mut self) -> DResult<usize> {
        let n = self.u32()? as usize;
        // Every element takes at least 4 bytes: reject absurd counts before allocating.
        if n > self.b.len() / 4 {
            return Err(());
        }
        Ok(n)
    }
    fn strs(&mut self) -> DResult<Vec<String>> {
        let n = self.count()?;
        (0..n).map(|_| self.str()).collect()
    }
    fn pairs(&mut self) -> DResult<Vec<(String, String)>> {
        let n = self.count()?;
        (0..n).map(|_| Ok((self.str()?, self.str()?))).collect()
    }
}

impl Msg {
    /// The whole frame, length prefix included.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = W(vec![0, 0, 0, 0]);
        match self {
            Msg::Hello { version, token, host, hostname } => w.u8(1).u32(*version).str(token).u32(*host).str(hostname),
            Msg::Started { rank, pid } => w.u8(2).u32(*rank).i32(*pid),
            Msg::SpawnFailed { rank, code, error } => w.u8(3).u32(*rank).i32(*code).str(error),
            Msg::Output { rank, stderr, data } => w.u8(4).u32(*rank).u8(*stderr as u8).bytes(data),
            Msg::OutputEof { rank, stderr } => w.u8(5).u32(*rank).u8(*stderr as u8),
            Msg::Fence { puts } => w.u8(6).pairs(puts),
            Msg::Abort { rank, code, message } => w.u8(7).u32(*rank).i32(*code).str(message),
            Msg::Finalized { rank } => w.u8(8).u32(*rank),
            Msg::ProtocolError { rank, error } => w.u8(9).u32(*rank).str(error),
            Msg::Exited { rank, code, signal, pmi_used, finalized } => {
                w.u8(10).u32(*rank).i32(*code).i32(*signal).u8(*pmi_used as u8).u8(*finalized as u8)
            }
            Msg::Notice { text } => w.u8(11).str(text),
            Msg::StdinAck { bytes } => w.u8(12).u64(*bytes),
            Msg::Done => w.u8(13),
            Msg::Job(j) => {
                w.u8(20).str(&j.job_id).u32(j.size).u32(j.universe_size).str(&j.program).strs(&j.args).pairs(&j.env).str(&j.cwd).str(&j.process_mapping);
                w.u32(j.ranks.len() as u32);
                for r in &j.ranks {
                    w.u32(*r);
                }
                w.u8(j.stdin as u8)
            }
            Msg::FenceDone { puts } => w.u8(21).pairs(puts),
            Msg::Stdin { data } => w.u8(22).bytes(data),
            Msg::StdinEof => w.u8(23),
            Msg::Teardown { sig } => w.u8(24).i32(*sig),
            Msg::Kill => w.u8(25),
        };
        let len = (w.0.len() - 4) as u32;
        w.0[..4].copy_from_slice(&len.to_le_bytes());
        w.0
    }

    /// Decode one frame body (tag + payload, without the length prefix).
    pub fn decode(body: &[u8]) -> Result<Msg, String> {
        let mut r = R { b: body };
        let m = (|| -> DResult<Msg> {
            Ok(match r.u8()? {
                1 => Msg::Hello { version: r.u32()?, token: r.str()?, host: r.u32()?, hostname: r.str()? },
                2 => Msg::Started { rank: r.u32()?, pid: r.i32()? },
                3 => Msg::SpawnFailed { rank: r.u32()?, code: r.i32()?, error: r.str()? },
                4 => Msg::Output { rank: r.u32()?, stderr: r.u8()? != 0, data: r.bytes()? },
                5 => Msg::OutputEof { rank: r.u32()?, stderr: r.u8()? != 0 },
                6 => Msg::Fence { puts: r.pairs()? },
                7 => Msg::Abort { rank: r.u32()?, code: r.i32()?, message: r.str()? },
                8 => Msg::Finalized { rank: r.u32()? },
                9 => Msg::ProtocolError { rank: r.u32()?, error: r.str()? },
                10 => Msg::Exited { rank: r.u32()?, code: r.i32()?, signal: r.i32()?, pmi_used: r.u8()? != 0, finalized: r.u8()? != 0 },
                11 => Msg::Notice { text: r.str()? },
                12 => Msg::StdinAck { bytes: r.u64()? },
                13 => Msg::Done,
                20 => {
                    let job_id = r.str()?;
                    let size = r.u32()?;
                    let universe_size = r.u32()?;
                    let program = r.str()?;
                    let args = r.strs()?;
                    let env = r.pairs()?;
                    let cwd = r.str()?;
                    let process_mapping = r.str()?;
                    let n = r.count()?;
                    let ranks = (0..n).map(|_| r.u32()).collect::<DResult<Vec<u32>>>()?;
                    let stdin = r.u8()? != 0;
                    Msg::Job(JobMsg { job_id, size, universe_size, program, args, env, cwd, process_mapping, ranks, stdin })
                }
                21 => Msg::FenceDone { puts: r.pairs()? },
                22 => Msg::Stdin { data: r.bytes()? },
                23 => Msg::StdinEof,
                24 => Msg::Teardown { sig: r.i32()? },
                25 => Msg::Kill,
                _ => return Err(()),
            })
        })()
        .map_err(|_| "malformed frame".to_string())?;
        if !r.b.is_empty() {
            return Err("trailing bytes in frame".into());
        }
        Ok(m)
    }
}

/// Why a connection stopped.
#[derive(Debug)]
pub enum ConnError {
    /// Orderly end of stream.
    Closed,
    /// A frame was larger than allowed or undecodable.
    Protocol(String),
    Io(io::Error),
}

impl std::fmt::Display for ConnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnError::Closed => f.write_str("connection closed"),
            ConnError::Protocol(s) => write!(f, "protocol error: {s}"),
            ConnError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// A non-blocking framed connection with an output queue.
#[derive(Debug)]
pub struct Conn {
    pub stream: TcpStream,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    /// Frames larger than this are refused.
    pub max_frame: usize,
}

impl Conn {
    pub fn new(stream: TcpStream) -> io::Result<Conn> {
        stream.set_nonblocking(true)?;
        let _ = stream.set_nodelay(true);
        set_keepalive(&stream);
        Ok(Conn { stream, inbuf: Vec::new(), out: Vec::new(), out_pos: 0, max_frame: MAX_FRAME })
    }

    pub fn fd(&self) -> i32 {
        self.stream.as_raw_fd()
    }

    /// Bytes queued and not yet written.
    pub fn pending_out(&self) -> usize {
        self.out.len() - self.out_pos
    }

    /// Queue a message and write what the socket takes now.
    pub fn send(&mut self, m: &Msg) -> Result<(), ConnError> {
        if self.out_pos > 0 && self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        }
        self.out.extend_from_slice(&m.encode());
        self.flush()
    }

    /// Write queued bytes until the socket would block.
    pub fn flush(&mut self) -> Result<(), ConnError> {
        while self.out_pos < self.out.len() {
            match self.stream.write(&self.out[self.out_pos..]) {
                Ok(0) => return Err(ConnError::Closed),
                Ok(n) => self.out_pos += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(ConnError::Io(e)),
            }
        }
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        } else if self.out_pos > (1 << 20) {
            self.out.drain(..self.out_pos);
            self.out_pos = 0;
        }
        Ok(())
    }

    /// Flush, waiting up to `limit` for the peer to take everything.
    pub fn flush_blocking(&mut self, limit: std::time::Duration) -> Result<(), ConnError> {
        let end = std::time::Instant::now() + limit;
        loop {
            self.flush()?;
            if self.pending_out() == 0 {
                return Ok(());
            }
            let left = end.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(ConnError::Io(io::Error::new(io::ErrorKind::TimedOut, "peer does not read")));
            }
            let mut p = libc::pollfd { fd: self.fd(), events: libc::POLLOUT, revents: 0 };
            unsafe { libc::poll(&mut p, 1, left.as_millis().min(1000) as i32 + 1) };
        }
    }

    /// Read what is available and return the complete frames. `Err` when the stream ended or
    /// broke; frames decoded before that are returned first by the next call... so the caller
    /// gets them in `Ok` and the end on the following call.
    pub fn read_frames(&mut self) -> Result<Vec<Msg>, ConnError> {
        let mut buf = [0u8; 64 * 1024];
        let mut end: Option<ConnError> = None;
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    end = Some(ConnError::Closed);
                    break;
                }
                Ok(n) => {
                    self.inbuf.extend_from_slice(&buf[..n]);
                    if n < buf.len() || self.inbuf.len() > 4 << 20 {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    end = Some(ConnError::Io(e));
                    break;
                }
            }
        }
        let mut out = Vec::new();
        let mut pos = 0;
        while self.inbuf.len() - pos >= 4 {
            let len = u32::from_le_bytes(self.inbuf[pos..pos + 4].try_into().unwrap()) as usize;
            if len > self.max_frame || len == 0 {
                return Err(ConnError::Protocol(format!("frame of {len} bytes")));
            }
            if self.inbuf.len() - pos - 4 < len {
                break;
            }
            let m = Msg::decode(&self.inbuf[pos + 4..pos + 4 + len]).map_err(ConnError::Protocol)?;
            out.push(m);
            pos += 4 + len;
        }
        self.inbuf.drain(..pos);
        match end {
            Some(e) if out.is_empty() => Err(e),
            Some(e) => {
                // Deliver the frames now; report the end on the next call (the socket stays
                // readable at EOF, so poll wakes us again).
                if let ConnError::Io(_) = e {
                    self.inbuf.clear();
                }
                Ok(out)
            }
            None => Ok(out),
        }
    }
}

/// Detect a vanished peer (host down, cable cut) within about half a minute.
fn set_keepalive(s: &TcpStream) {
    let fd = s.as_raw_fd();
    let set = |level: i32, opt: i32, v: i32| unsafe {
        libc::setsockopt(fd, level, opt, &v as *const i32 as *const libc::c_void, std::mem::size_of::<i32>() as libc::socklen_t);
    };
    set(libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1);
    set(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, 10);
    set(libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, 5);
    set(libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 4);
}

/// Compare secrets without an early exit.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A fresh secret: 32 random bytes, hex.
pub fn new_secret() -> io::Result<String> {
    let mut r = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut r)?;
    Ok(r.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let msgs = vec![
            Msg::Hello { version: 1, token: "abc".into(), host: 3, hostname: "h".into() },
            Msg::Output { rank: 2, stderr: true, data: b"x\ny".to_vec() },
            Msg::Fence { puts: vec![("a".into(), "b".into())] },
            Msg::Exited { rank: 1, code: 0, signal: 9, pmi_used: true, finalized: false },
            Msg::Job(JobMsg {
                job_id: "j".into(),
                size: 4,
                universe_size: 4,
                program: "p".into(),
                args: vec!["a b".into()],
                env: vec![("K".into(), "V".into())],
                cwd: "/".into(),
                process_mapping: "(vector,(0,2,2))".into(),
                ranks: vec![2, 3],
                stdin: false,
            }),
            Msg::Teardown { sig: 15 },
            Msg::Done,
        ];
        for m in msgs {
            let f = m.encode();
            assert_eq!(u32::from_le_bytes(f[..4].try_into().unwrap()) as usize, f.len() - 4);
            assert_eq!(Msg::decode(&f[4..]).unwrap(), m);
        }
        assert!(Msg::decode(&[99]).is_err());
        assert!(Msg::decode(&[6, 255, 255, 255, 255]).is_err());
        assert!(same_secret("abcd", "abcd") && !same_secret("abcd", "abce") && !same_secret("a", "ab"));
    }
}
