//! Message codec for both PMI wire protocols, no I/O.
//!
//! * PMI-1 ("simple"): one line per message, `cmd=NAME key=value key=value\n`. Values cannot
//!   hold spaces on the wire, except in the last key: a token without `=` continues the previous
//!   value (so `cmd=abort exitcode=3 error_msg=out of memory` parses the whole message). The
//!   multi-line `mcmd=spawn ... endcmd` form is gathered into one [`Message`].
//! * PMI-2: a 6-character decimal length field (MPICH pads on the left, Slurm on the right; both
//!   accepted, we write MPICH's form), then `cmd=NAME;key=value;...;`. A `;` inside a value is
//!   written doubled (`;;`).
//!
//! A PMI-2 client first sends one PMI-1 line (`cmd=init pmi_version=2 pmi_subversion=0`), so
//! the [`Decoder`] detects the wire per message: a message that begins with `c`/`m` is a PMI-1
//! line, one that begins with a digit or a space is a PMI-2 frame.

use std::fmt;

/// Maximum key length (bytes) both protocols guarantee.
pub const MAX_KEY_LEN: usize = 64;
/// Maximum value length (bytes) both protocols guarantee.
pub const MAX_VAL_LEN: usize = 1024;
/// Slurm requires each request in one write of at most this many bytes.
pub const MAX_REQUEST_LEN: usize = 1024;
/// Largest PMI-2 payload the 6-digit length field can describe.
pub const MAX_V2_PAYLOAD: usize = 999_999;
/// Largest PMI-1 line (or gathered mcmd block) the decoder buffers before failing.
pub const MAX_V1_LINE: usize = 1 << 20;

/// Which framing a message travelled in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Wire {
    /// PMI-1 line.
    V1,
    /// PMI-2 length-prefixed frame.
    V2,
}

/// One PMI message: the command and its `key=value` arguments, in order.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Message {
    pub cmd: String,
    pub args: Vec<(String, String)>,
}

impl Message {
    pub fn new(cmd: impl Into<String>) -> Self {
        Message { cmd: cmd.into(), args: Vec::new() }
    }
    /// Builder: append an argument.
    pub fn arg(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.args.push((key.into(), value.to_string()));
        self
    }
    pub fn push(&mut self, key: impl Into<String>, value: impl ToString) {
        self.args.push((key.into(), value.to_string()));
    }
    /// First value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.args.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
    /// Integer value of `key`.
    pub fn get_int(&self, key: &str) -> Option<i64> {
        self.get(key).and_then(|v| v.trim().parse().ok())
    }
    /// Boolean value of `key` (`TRUE`/`true`/`yes`/`1`).
    pub fn get_bool(&self, key: &str) -> Option<bool> {
        self.get(key).map(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "yes" | "1"))
    }
    /// The `rc` field, 0 if absent.
    pub fn rc(&self) -> i64 {
        self.get_int("rc").unwrap_or(0)
    }

    /// Encode for `wire` (PMI-1 line with `\n`, or PMI-2 frame with its length field).
    pub fn encode(&self, wire: Wire) -> Result<Vec<u8>, WireError> {
        match wire {
            Wire::V1 => format_v1(self).map(String::into_bytes),
            Wire::V2 => frame_v2(self),
        }
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cmd={}", self.cmd)?;
        for (k, v) in &self.args {
            write!(f, " {k}={v}")?;
        }
        Ok(())
    }
}

/// Malformed or oversized input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WireError {
    /// The message does not start with `cmd=`/`mcmd=`.
    NoCommand(String),
    /// Bad PMI-2 length field.
    BadLength(String),
    /// Message too large for the wire.
    TooLong(usize),
    /// A value or key holds a character the wire cannot carry.
    BadChar { key: String, ch: char },
    /// Not a `key=value` pair.
    BadPair(String),
    /// Payload is not UTF-8.
    NotUtf8,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::NoCommand(s) => write!(f, "PMI message without cmd=: {s:?}"),
            WireError::BadLength(s) => write!(f, "bad PMI-2 length field {s:?}"),
            WireError::TooLong(n) => write!(f, "PMI message too long ({n} bytes)"),
            WireError::BadChar { key, ch } => write!(f, "PMI key/value {key:?} holds {ch:?}, which the wire cannot carry"),
            WireError::BadPair(s) => write!(f, "malformed PMI key=value {s:?}"),
            WireError::NotUtf8 => write!(f, "PMI message is not UTF-8"),
        }
    }
}

impl std::error::Error for WireError {}

impl From<WireError> for std::io::Error {
    fn from(e: WireError) -> Self {
        let kind = match e {
            WireError::TooLong(_) | WireError::BadChar { .. } => std::io::ErrorKind::InvalidInput,
            _ => std::io::ErrorKind::InvalidData,
        };
        std::io::Error::new(kind, e)
    }
}

// ---------------------------------------------------------------------------------------------
// PMI-1

/// Parse one PMI-1 line (trailing `\n` optional). `mcmd=spawn` blocks (several lines, ending
/// with `endcmd`) are accepted too: each line contributes its pairs.
pub fn parse_v1(line: &str) -> Result<Message, WireError> {
    let mut msg: Option<Message> = None;
    for raw in line.split('\n') {
        let raw = raw.trim_end_matches('\r');
        for tok in raw.split_ascii_whitespace() {
            if tok == "endcmd" {
                continue;
            }
            match tok.split_once('=') {
                Some((k, v)) => match &mut msg {
                    None if k == "cmd" || k == "mcmd" => msg = Some(Message::new(v)),
                    None => return Err(WireError::NoCommand(line.to_string())),
                    Some(m) => m.push(k, v),
                },
                None => match msg.as_mut().and_then(|m| m.args.last_mut()) {
                    // A token without '=' continues the previous value.
                    Some((_, v)) => {
                        v.push(' ');
                        v.push_str(tok);
                    }
                    None => return Err(WireError::BadPair(tok.to_string())),
                },
            }
        }
    }
    msg.ok_or_else(|| WireError::NoCommand(line.to_string()))
}

/// Format a PMI-1 line (with the trailing `\n`). Keys must not hold spaces, `=` or newlines;
/// values must not hold newlines, and only the last value may hold spaces.
pub fn format_v1(msg: &Message) -> Result<String, WireError> {
    let mut s = format!("cmd={}", msg.cmd);
    check_token("cmd", &msg.cmd, true)?;
    let n = msg.args.len();
    for (i, (k, v)) in msg.args.iter().enumerate() {
        check_token(k, k, true)?;
        check_token(k, v, i + 1 < n)?;
        if i + 1 == n && (v.starts_with(' ') || v.ends_with(' ') || v.contains("  ") || v.contains('\t')) {
            // Runs of spaces would not survive the tokenizer.
            return Err(WireError::BadChar { key: k.clone(), ch: ' ' });
        }
        s.push(' ');
        s.push_str(k);
        s.push('=');
        s.push_str(v);
    }
    s.push('\n');
    Ok(s)
}

fn check_token(key: &str, s: &str, no_space: bool) -> Result<(), WireError> {
    if let Some(ch) = s.chars().find(|&c| c == '\n' || c == '\r' || (no_space && c.is_ascii_whitespace())) {
        return Err(WireError::BadChar { key: key.to_string(), ch });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// PMI-2

/// Parse a PMI-2 payload (without the length field): `cmd=NAME;k=v;...;` with `;;` meaning a
/// literal `;` inside a value. The trailing `;` is optional.
pub fn parse_v2(payload: &str) -> Result<Message, WireError> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let b = payload.as_bytes();
    let mut i = 0;
    while i < b.len() {
        // Skip stray separators / whitespace between pairs.
        if b[i] == b';' || b[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let eq = payload[i..].find('=').map(|p| p + i);
        let Some(eq) = eq else {
            return Err(WireError::BadPair(payload[i..].to_string()));
        };
        let key = &payload[i..eq];
        if key.contains(';') {
            return Err(WireError::BadPair(key.to_string()));
        }
        let mut val = String::new();
        let mut j = eq + 1;
        let start = j;
        let mut seg = start;
        loop {
            if j >= b.len() {
                val.push_str(&payload[seg..j]);
                break;
            }
            if b[j] == b';' {
                if j + 1 < b.len() && b[j + 1] == b';' {
                    val.push_str(&payload[seg..=j]);
                    j += 2;
                    seg = j;
                    continue;
                }
                val.push_str(&payload[seg..j]);
                j += 1;
                break;
            }
            j += 1;
        }
        pairs.push((key.to_string(), val));
        i = j;
    }
    let mut it = pairs.into_iter();
    match it.next() {
        Some((k, v)) if k == "cmd" => Ok(Message { cmd: v, args: it.collect() }),
        _ => Err(WireError::NoCommand(payload.to_string())),
    }
}

/// Format a PMI-2 payload (no length field).
pub fn format_v2(msg: &Message) -> Result<String, WireError> {
    let mut s = String::new();
    let mut put = |k: &str, v: &str| -> Result<(), WireError> {
        if let Some(ch) = k.chars().find(|&c| c == ';' || c == '=' || c == '\n') {
            return Err(WireError::BadChar { key: k.to_string(), ch });
        }
        s.push_str(k);
        s.push('=');
        s.push_str(&v.replace(';', ";;"));
        s.push(';');
        Ok(())
    };
    put("cmd", &msg.cmd)?;
    for (k, v) in &msg.args {
        put(k, v)?;
    }
    Ok(s)
}

/// Format a complete PMI-2 frame: length field (left-padded to 6, as MPICH does) + payload.
pub fn frame_v2(msg: &Message) -> Result<Vec<u8>, WireError> {
    let payload = format_v2(msg)?;
    if payload.len() > MAX_V2_PAYLOAD {
        return Err(WireError::TooLong(payload.len()));
    }
    let mut out = format!("{:>6}", payload.len()).into_bytes();
    out.extend_from_slice(payload.as_bytes());
    Ok(out)
}

/// Parse a 6-character PMI-2 length field, padded on either side.
pub fn parse_v2_len(field: &[u8]) -> Result<usize, WireError> {
    let s = std::str::from_utf8(field).map_err(|_| WireError::BadLength(String::from_utf8_lossy(field).into()))?;
    let t = s.trim_matches(|c: char| c == ' ' || c == '\0');
    if t.is_empty() || !t.bytes().all(|c| c.is_ascii_digit()) {
        return Err(WireError::BadLength(s.to_string()));
    }
    t.parse().map_err(|_| WireError::BadLength(s.to_string()))
}

// ---------------------------------------------------------------------------------------------
// Stream decoder

/// Accumulates bytes from a stream and splits them into messages of either wire.
#[derive(Default, Debug)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    pub fn new() -> Self {
        Self::default()
    }
    /// Append bytes read from the stream.
    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }
    /// Bytes buffered but not yet returned as a message.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
    /// Next complete message, or `None` if more bytes are needed. After an error the stream is
    /// out of sync; the caller should drop the connection.
    pub fn next_message(&mut self) -> Result<Option<(Wire, Message)>, WireError> {
        // Skip blank lines / NULs between messages.
        let skip = self.buf.iter().take_while(|&&c| c == b'\n' || c == b'\r' || c == 0).count();
        self.buf.drain(..skip);
        let Some(&first) = self.buf.first() else { return Ok(None) };
        if first == b' ' || first.is_ascii_digit() {
            if self.buf.len() < 6 {
                return Ok(None);
            }
            let len = parse_v2_len(&self.buf[..6])?;
            if self.buf.len() < 6 + len {
                return Ok(None);
            }
            let payload = std::str::from_utf8(&self.buf[6..6 + len]).map_err(|_| WireError::NotUtf8)?;
            let msg = parse_v2(payload)?;
            self.buf.drain(..6 + len);
            Ok(Some((Wire::V2, msg)))
        } else {
            let multi = self.buf.starts_with(b"mcmd=");
            let end = if multi { find_endcmd(&self.buf) } else { self.buf.iter().position(|&c| c == b'\n').map(|p| p + 1) };
            let Some(end) = end else {
                if self.buf.len() > MAX_V1_LINE {
                    return Err(WireError::TooLong(self.buf.len()));
                }
                return Ok(None);
            };
            let line = std::str::from_utf8(&self.buf[..end]).map_err(|_| WireError::NotUtf8)?;
            let msg = parse_v1(line)?;
            self.buf.drain(..end);
            Ok(Some((Wire::V1, msg)))
        }
    }
}

/// End (exclusive) of an `mcmd=` block: the line `endcmd`.
fn find_endcmd(buf: &[u8]) -> Option<usize> {
    let mut start = 0;
    while let Some(p) = buf[start..].iter().position(|&c| c == b'\n') {
        let line = &buf[start..start + p];
        if line.trim_ascii() == b"endcmd" {
            return Some(start + p + 1);
        }
        start += p + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_roundtrip() {
        let m = Message::new("put").arg("kvsname", "job-1").arg("key", "k0").arg("value", "abc=def");
        let s = format_v1(&m).unwrap();
        assert_eq!(s, "cmd=put kvsname=job-1 key=k0 value=abc=def\n");
        assert_eq!(parse_v1(&s).unwrap(), m);
    }

    #[test]
    fn v1_last_value_with_spaces() {
        let m = parse_v1("cmd=abort exitcode=3 error_msg=out of memory here\n").unwrap();
        assert_eq!(m.cmd, "abort");
        assert_eq!(m.get_int("exitcode"), Some(3));
        assert_eq!(m.get("error_msg"), Some("out of memory here"));
        let back = format_v1(&m).unwrap();
        assert_eq!(parse_v1(&back).unwrap(), m);
        // Spaces in a non-last value are refused.
        let bad = Message::new("put").arg("value", "a b").arg("key", "k");
        assert!(format_v1(&bad).is_err());
        assert!(format_v1(&Message::new("x").arg("v", "a\nb")).is_err());
    }

    #[test]
    fn v1_errors() {
        assert!(parse_v1("key=value\n").is_err());
        assert!(parse_v1("\n").is_err());
        assert!(parse_v1("garbage").is_err());
        assert_eq!(parse_v1("cmd=barrier_in").unwrap(), Message::new("barrier_in"));
    }

    #[test]
    fn v1_mcmd() {
        let mut d = Decoder::new();
        d.feed(b"mcmd=spawn\nnprocs=2\nexecname=/bin/true\nendcmd\ncmd=get_maxes\n");
        let (w, m) = d.next_message().unwrap().unwrap();
        assert_eq!(w, Wire::V1);
        assert_eq!(m.cmd, "spawn");
        assert_eq!(m.get("nprocs"), Some("2"));
        assert_eq!(m.get("execname"), Some("/bin/true"));
        let (_, m) = d.next_message().unwrap().unwrap();
        assert_eq!(m.cmd, "get_maxes");
        assert_eq!(d.next_message().unwrap(), None);
    }

    #[test]
    fn v2_roundtrip_and_escape() {
        let m = Message::new("kvs-put").arg("key", "a;b").arg("value", "x;;y;").arg("empty", "");
        let p = format_v2(&m).unwrap();
        assert_eq!(p, "cmd=kvs-put;key=a;;b;value=x;;;;y;;;empty=;");
        assert_eq!(parse_v2(&p).unwrap(), m);
        let f = frame_v2(&m).unwrap();
        assert_eq!(&f[..6], format!("{:>6}", p.len()).as_bytes());
    }

    #[test]
    fn v2_parse_variants() {
        let m = parse_v2("cmd=fullinit-response;rc=0;rank=3;size=4").unwrap();
        assert_eq!(m.get_int("rank"), Some(3));
        assert_eq!(m.get_int("size"), Some(4));
        assert!(parse_v2("rank=3;cmd=x;").is_err());
        assert!(parse_v2("cmd=x;novalue;").is_err());
        let m = parse_v2("cmd=abort;isworld=TRUE;msg=bye now;").unwrap();
        assert_eq!(m.get_bool("isworld"), Some(true));
        assert_eq!(m.get("msg"), Some("bye now"));
    }

    #[test]
    fn v2_length_padding_both_sides() {
        assert_eq!(parse_v2_len(b"    12").unwrap(), 12);
        assert_eq!(parse_v2_len(b"12    ").unwrap(), 12);
        assert_eq!(parse_v2_len(b"000012").unwrap(), 12);
        assert!(parse_v2_len(b"  x2  ").is_err());
        assert!(parse_v2_len(b"      ").is_err());
        // Slurm style (right padded) and MPICH style (left padded) in one stream.
        let mut d = Decoder::new();
        let p = "cmd=kvs-fence;";
        d.feed(format!("{:<6}{p}", p.len()).as_bytes());
        d.feed(format!("{:>6}{p}", p.len()).as_bytes());
        for _ in 0..2 {
            let (w, m) = d.next_message().unwrap().unwrap();
            assert_eq!((w, m.cmd.as_str()), (Wire::V2, "kvs-fence"));
        }
        assert_eq!(d.next_message().unwrap(), None);
    }

    #[test]
    fn decoder_partial_and_mixed() {
        let init = b"cmd=init pmi_version=2 pmi_subversion=0\n";
        let frame = frame_v2(&Message::new("fullinit").arg("pmirank", 1)).unwrap();
        let mut all = init.to_vec();
        all.extend_from_slice(&frame);
        let mut d = Decoder::new();
        let mut got = Vec::new();
        // Feed one byte at a time.
        for b in all {
            d.feed(&[b]);
            while let Some(m) = d.next_message().unwrap() {
                got.push(m);
            }
        }
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, Wire::V1);
        assert_eq!(got[0].1.get_int("pmi_version"), Some(2));
        assert_eq!(got[1].0, Wire::V2);
        assert_eq!(got[1].1.get_int("pmirank"), Some(1));
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn decoder_bad_input() {
        let mut d = Decoder::new();
        d.feed(b"  ab  cmd=x;");
        assert!(d.next_message().is_err());
        let mut d = Decoder::new();
        d.feed(b"hello=1\n");
        assert!(d.next_message().is_err());
    }
}
