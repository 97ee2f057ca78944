//! The PMI client our MPI library uses at init.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use crate::wire::{Decoder, Message, Wire, MAX_KEY_LEN, MAX_REQUEST_LEN, MAX_VAL_LEN};

/// Which PMI wire protocol the client speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// PMI-1 ("simple"), the default.
    V1,
    /// PMI-2 (select with `FERROMPI_PMI=2`).
    V2,
}

/// What the client needs besides the socket (normally read from the environment).
#[derive(Clone, Debug)]
pub struct Options {
    pub protocol: Protocol,
    /// `PMI_RANK` (required for PMI-1 over `PMI_FD`; a hint for PMI-2).
    pub rank: Option<usize>,
    /// `PMI_SIZE` (required for PMI-1 over `PMI_FD`).
    pub size: Option<usize>,
    /// `PMI_ID` (with `PMI_PORT`).
    pub pmi_id: Option<i64>,
    /// `PMI_JOBID` (Slurm; sent as `pmijobid` in PMI-2 `fullinit`, fallback job id).
    pub job_id: Option<String>,
}

impl Options {
    /// Read `FERROMPI_PMI`, `PMI_RANK`, `PMI_SIZE`, `PMI_ID`, `PMI_JOBID`.
    pub fn from_env() -> io::Result<Options> {
        let protocol = match env("FERROMPI_PMI").as_deref() {
            None | Some("") | Some("1") => Protocol::V1,
            Some("2") => Protocol::V2,
            Some(other) => return Err(invalid(format!("FERROMPI_PMI={other:?}: expected 1 or 2"))),
        };
        Ok(Options {
            protocol,
            rank: env_num("PMI_RANK")?,
            size: env_num("PMI_SIZE")?,
            pmi_id: env_num("PMI_ID")?,
            job_id: env("PMI_JOBID").filter(|s| !s.is_empty()),
        })
    }
}

/// A connection to the process manager (mpirun, MPICH hydra, Slurm srun).
///
/// Limits: keys up to 64 bytes, values up to 1024 bytes, and every request must fit in one
/// write of at most 1024 bytes (Slurm), so a PMI-1 put has less room for its value: see
/// [`Client::max_value_len`], or use [`Client::put_long`]/[`Client::get_long`] which split.
/// Values must not hold newlines (nor, for PMI-1, spaces): hex- or base64-encode binary data.
/// Puts are only visible to other ranks after [`Client::fence`].
#[derive(Debug)]
pub struct Client {
    file: File,
    dec: Decoder,
    protocol: Protocol,
    rank: usize,
    size: usize,
    appnum: i32,
    job_id: String,
    max_val: usize,
    finalized: bool,
    /// The server is our mpirun, which prints an abort's message (see `launcher_prints_abort`).
    ours: bool,
}

impl Client {
    /// Connect from the environment: `PMI_FD` (inherited socket) or `PMI_PORT=host:port`
    /// (+ `PMI_ID`), as MPICH hydra and Slurm `srun --mpi=pmi2` provide. `Ok(None)` when
    /// neither is set: the process is a singleton. Protocol: PMI-1 unless `FERROMPI_PMI=2`.
    pub fn from_env() -> io::Result<Option<Client>> {
        let opts = Options::from_env()?;
        if let Some(fd) = env_num::<RawFd>("PMI_FD")? {
            if fd < 0 || unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
                return Err(invalid(format!("PMI_FD={fd} is not an open file descriptor")));
            }
            // Keep the PMI socket out of programs the rank execs.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
            // SAFETY: the launcher handed this descriptor to us for our exclusive use.
            let owned = unsafe { OwnedFd::from_raw_fd(fd) };
            return Client::connect(owned, &opts).map(Some);
        }
        if let Some(port) = env("PMI_PORT").filter(|s| !s.is_empty()) {
            let stream = std::net::TcpStream::connect(port.as_str())
                .map_err(|e| io::Error::new(e.kind(), format!("PMI_PORT={port}: {e}")))?;
            stream.set_nodelay(true)?;
            return Client::connect(OwnedFd::from(stream), &opts).map(Some);
        }
        Ok(None)
    }

    /// Run the init handshake over an already connected socket.
    pub fn connect(fd: OwnedFd, opts: &Options) -> io::Result<Client> {
        let mut c = Client {
            file: File::from(fd),
            dec: Decoder::new(),
            protocol: opts.protocol,
            rank: opts.rank.unwrap_or(0),
            size: opts.size.unwrap_or(0),
            appnum: 0,
            job_id: String::new(),
            max_val: MAX_VAL_LEN,
            finalized: false,
            ours: false,
        };
        let (mut rank, mut size) = (opts.rank, opts.size);
        if let Some(id) = opts.pmi_id.filter(|_| opts.protocol == Protocol::V1) {
            // hydra -pmi-port: identify ourselves, then learn size and rank.
            c.request(Wire::V1, &Message::new("initack").arg("pmiid", id), "initack")?;
            for _ in 0..3 {
                let m = c.recv("set")?;
                if let Some(v) = m.get_int("size") {
                    size = Some(v as usize);
                }
                if let Some(v) = m.get_int("rank") {
                    rank = Some(v as usize);
                }
            }
        }
        match opts.protocol {
            Protocol::V1 => {
                let m = c.request(Wire::V1, &Message::new("init").arg("pmi_version", 1).arg("pmi_subversion", 1), "response_to_init")?;
                check_rc(&m, "init")?;
                c.ours = m.get_int("ferrompi").is_some_and(|v| v >= 1);
                let m = c.request(Wire::V1, &Message::new("get_maxes"), "maxes")?;
                if let Some(v) = m.get_int("vallen_max").filter(|&v| v > 0) {
                    c.max_val = (v as usize).min(MAX_VAL_LEN);
                }
                let m = c.request(Wire::V1, &Message::new("get_my_kvsname"), "my_kvsname")?;
                check_rc(&m, "get_my_kvsname")?;
                c.job_id = m.get("kvsname").ok_or_else(|| bad_reply(&m))?.to_string();
                let m = c.request(Wire::V1, &Message::new("get_appnum"), "appnum")?;
                c.appnum = m.get_int("appnum").unwrap_or(0) as i32;
                c.rank = rank.ok_or_else(|| invalid("PMI-1: PMI_RANK is not set".into()))?;
                c.size = size.ok_or_else(|| invalid("PMI-1: PMI_SIZE is not set".into()))?;
            }
            Protocol::V2 => {
                // PMI-2 clients open with one PMI-1 line; hydra and Slurm both expect it.
                let m = c.request(Wire::V1, &Message::new("init").arg("pmi_version", 2).arg("pmi_subversion", 0), "response_to_init")?;
                check_rc(&m, "init")?;
                c.ours = m.get_int("ferrompi").is_some_and(|v| v >= 1);
                if m.get_int("pmi_version").is_some_and(|v| v != 2) {
                    return Err(io::Error::new(io::ErrorKind::Unsupported, "process manager does not speak PMI-2"));
                }
                let mut fi = Message::new("fullinit");
                if let Some(j) = &opts.job_id {
                    fi.push("pmijobid", j);
                }
                if let Some(r) = opts.rank {
                    fi.push("pmirank", r);
                } else if let Some(id) = opts.pmi_id {
                    fi.push("pmiid", id);
                } else {
                    fi.push("pmirank", -1);
                }
                fi.push("threaded", "FALSE");
                let m = c.request(Wire::V2, &fi, "fullinit-response")?;
                check_rc(&m, "fullinit")?;
                let num = |k: &str| m.get_int(k).ok_or_else(|| bad_reply(&m));
                c.rank = num("rank")? as usize;
                c.size = num("size")? as usize;
                c.appnum = m.get_int("appnum").unwrap_or(0) as i32;
                let m = c.request(Wire::V2, &Message::new("job-getid"), "job-getid-response")?;
                c.job_id = match m.get("jobid").filter(|j| m.rc() == 0 && !j.is_empty()) {
                    Some(j) => j.to_string(),
                    None => opts.job_id.clone().ok_or_else(|| bad_reply(&m))?,
                };
            }
        }
        if c.size == 0 || c.rank >= c.size {
            return Err(invalid(format!("PMI: rank {} / size {} is inconsistent", c.rank, c.size)));
        }
        Ok(c)
    }

    pub fn protocol(&self) -> Protocol {
        self.protocol
    }
    pub fn rank(&self) -> usize {
        self.rank
    }
    pub fn size(&self) -> usize {
        self.size
    }
    /// Slurm returns -1.
    pub fn appnum(&self) -> i32 {
        self.appnum
    }
    /// Whether the process manager shows the message of an [`Client::abort`] to the user. Only
    /// our mpirun does (it says so in its reply to `init`); hydra drops it and Slurm kills the
    /// step without a word, so under them the rank must print the message itself.
    pub fn launcher_prints_abort(&self) -> bool {
        self.ours
    }
    /// The KVS name (PMI-1) / job id (PMI-2); unique per job.
    pub fn job_id(&self) -> &str {
        &self.job_id
    }

    /// Longest value [`Client::put`] accepts for `key` (limited by the value maximum and by the
    /// 1024-byte request limit).
    pub fn max_value_len(&self, key: &str) -> usize {
        let overhead = match self.protocol {
            // "cmd=put kvsname=K key=KEY value=\n"
            Protocol::V1 => "cmd=put kvsname= key= value=\n".len() + self.job_id.len() + key.len(),
            // length field + "cmd=kvs-put;key=KEY;value=;" (escaped `;` count double)
            Protocol::V2 => 6 + "cmd=kvs-put;key=;value=;".len() + key.len(),
        };
        self.max_val.min(MAX_REQUEST_LEN.saturating_sub(overhead))
    }

    /// Store `key=value` (visible to others after [`Client::fence`]).
    pub fn put(&mut self, key: &str, value: &str) -> io::Result<()> {
        check_key(key)?;
        if value.len() > self.max_val {
            return Err(invalid(format!("PMI value for {key:?} is {} bytes, limit {}", value.len(), self.max_val)));
        }
        if value.contains(['\n', '\r']) || (self.protocol == Protocol::V1 && value.contains(char::is_whitespace)) {
            return Err(invalid(format!("PMI value for {key:?} holds whitespace the wire cannot carry")));
        }
        let m = match self.protocol {
            Protocol::V1 => {
                let req = Message::new("put").arg("kvsname", &self.job_id).arg("key", key).arg("value", value);
                self.request(Wire::V1, &req, "put_result")?
            }
            Protocol::V2 => self.request(Wire::V2, &Message::new("kvs-put").arg("key", key).arg("value", value), "kvs-put-response")?,
        };
        check_rc(&m, "put")
    }

    /// Collective over all ranks: publishes every rank's puts.
    pub fn fence(&mut self) -> io::Result<()> {
        let m = match self.protocol {
            Protocol::V1 => self.request(Wire::V1, &Message::new("barrier_in"), "barrier_out")?,
            Protocol::V2 => self.request(Wire::V2, &Message::new("kvs-fence"), "kvs-fence-response")?,
        };
        check_rc(&m, "fence")
    }

    /// Look up `key` (published by a fence). `Ok(None)` if absent.
    pub fn get(&mut self, key: &str) -> io::Result<Option<String>> {
        check_key(key)?;
        match self.protocol {
            Protocol::V1 => {
                let req = Message::new("get").arg("kvsname", &self.job_id).arg("key", key);
                let m = self.request(Wire::V1, &req, "get_result")?;
                Ok(if m.rc() == 0 { m.get("value").map(str::to_string) } else { None })
            }
            Protocol::V2 => {
                let req = Message::new("kvs-get").arg("jobid", &self.job_id).arg("srcid", -1).arg("key", key);
                let m = self.request(Wire::V2, &req, "kvs-get-response")?;
                let found = m.get_bool("found").or(m.get_bool("flag")).unwrap_or(false);
                Ok(if m.rc() == 0 && found { m.get("value").map(str::to_string) } else { None })
            }
        }
    }

    /// PMI-2 job attribute (e.g. `PMI_process_mapping`, `universeSize`). For PMI-1 this is a
    /// get in the job's KVS (hydra publishes `PMI_process_mapping` there).
    pub fn job_attr(&mut self, key: &str) -> io::Result<Option<String>> {
        match self.protocol {
            Protocol::V1 => self.get(key),
            Protocol::V2 => {
                check_key(key)?;
                let m = self.request(Wire::V2, &Message::new("info-getjobattr").arg("key", key), "info-getjobattr-response")?;
                let found = m.get_bool("found").or(m.get_bool("flag")).unwrap_or(false);
                Ok(if m.rc() == 0 && found { m.get("value").map(str::to_string) } else { None })
            }
        }
    }

    /// Put a value of any length, split over keys `key`, `key:1`, `key:2`, ...; `key` holds
    /// `N:` followed by the first chunk, N being the number of chunks.
    pub fn put_long(&mut self, key: &str, value: &str) -> io::Result<()> {
        if key.len() + 6 > MAX_KEY_LEN {
            return Err(invalid(format!("PMI key {key:?} too long for put_long")));
        }
        let room = self.max_value_len(&format!("{key}:99999")).saturating_sub(8);
        if room == 0 {
            return Err(invalid("no room for PMI values".into()));
        }
        let chunks = split_utf8(value, room);
        for (i, c) in chunks.iter().enumerate().skip(1) {
            self.put(&format!("{key}:{i}"), c)?;
        }
        let first = chunks.first().copied().unwrap_or("");
        self.put(key, &format!("{}:{first}", chunks.len().max(1)))
    }

    /// Read a value written with [`Client::put_long`].
    pub fn get_long(&mut self, key: &str) -> io::Result<Option<String>> {
        let Some(head) = self.get(key)? else { return Ok(None) };
        let (n, first) = head.split_once(':').ok_or_else(|| invalid(format!("PMI key {key:?} was not written by put_long")))?;
        let n: usize = n.parse().map_err(|_| invalid(format!("PMI key {key:?} was not written by put_long")))?;
        let mut out = first.to_string();
        for i in 1..n {
            let part = self.get(&format!("{key}:{i}"))?.ok_or_else(|| invalid(format!("PMI key {key}:{i} missing")))?;
            out.push_str(&part);
        }
        Ok(Some(out))
    }

    /// Ask the process manager to end the job with `code`. No reply is expected; the caller
    /// should exit afterwards.
    pub fn abort(&mut self, code: i32, message: &str) -> io::Result<()> {
        // One line, single spaces.
        let mut text = message.split(|c: char| c.is_whitespace() || c.is_control()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");
        loop {
            let msg = match self.protocol {
                // `error_msg` as the last key (as Flux's PMI-1 client does), with `%` and space
                // written as %25 and %20 so that servers which split on spaces see one token;
                // servers other than ours ignore it.
                Protocol::V1 => {
                    let mut m = Message::new("abort").arg("exitcode", code);
                    if !text.is_empty() {
                        m.push("error_msg", text.replace('%', "%25").replace(' ', "%20"));
                    }
                    m
                }
                // `isworld` is the PMI-2 key (Slurm kills the step only when it reads
                // isworld=TRUE; with any other key the other ranks would run on).
                Protocol::V2 => Message::new("abort").arg("isworld", "TRUE").arg("msg", &text).arg("exitcode", code),
            };
            let wire = if self.protocol == Protocol::V1 { Wire::V1 } else { Wire::V2 };
            let data = msg.encode(wire)?;
            if data.len() <= MAX_REQUEST_LEN || text.is_empty() {
                return self.file.write_all(&data);
            }
            // Shorten the message until the request fits.
            let cut = text.len().saturating_sub(data.len() - MAX_REQUEST_LEN + 4);
            text = split_utf8(&text, cut.max(1)).first().copied().unwrap_or("").to_string();
            if cut == 0 {
                text.clear();
            }
        }
    }

    /// Leave PMI. Further calls fail.
    pub fn finalize(&mut self) -> io::Result<()> {
        let m = match self.protocol {
            Protocol::V1 => self.request(Wire::V1, &Message::new("finalize"), "finalize_ack")?,
            Protocol::V2 => self.request(Wire::V2, &Message::new("finalize"), "finalize-response")?,
        };
        self.finalized = true;
        check_rc(&m, "finalize")
    }

    fn request(&mut self, wire: Wire, msg: &Message, expect: &str) -> io::Result<Message> {
        if self.finalized {
            return Err(io::Error::new(io::ErrorKind::NotConnected, "PMI already finalized"));
        }
        let data = msg.encode(wire)?;
        if data.len() > MAX_REQUEST_LEN {
            return Err(invalid(format!("PMI request {} is {} bytes, limit {MAX_REQUEST_LEN}", msg.cmd, data.len())));
        }
        // One write: Slurm reads each request with a single read.
        self.file.write_all(&data)?;
        self.recv(expect)
    }

    fn recv(&mut self, expect: &str) -> io::Result<Message> {
        let mut buf = [0u8; 4096];
        loop {
            if let Some((_, m)) = self.dec.next_message()? {
                if m.cmd == expect {
                    return Ok(m);
                }
                return Err(io::Error::new(io::ErrorKind::InvalidData, format!("PMI: expected {expect}, got {m}")));
            }
            let n = match self.file.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, format!("PMI: connection closed waiting for {expect}")));
            }
            self.dec.feed(&buf[..n]);
        }
    }
}

fn split_utf8(s: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let mut end = max.min(rest.len());
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        if end == 0 {
            end = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
    out
}

fn check_key(key: &str) -> io::Result<()> {
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(invalid(format!("PMI key {key:?}: length must be 1..={MAX_KEY_LEN}")));
    }
    if key.contains(|c: char| c.is_whitespace() || c == '=' || c == ';' || c.is_control()) {
        return Err(invalid(format!("PMI key {key:?} holds a character the wire cannot carry")));
    }
    Ok(())
}

fn check_rc(m: &Message, what: &str) -> io::Result<()> {
    if m.rc() == 0 {
        Ok(())
    } else {
        Err(io::Error::other(format!("PMI {what} failed: {m}")))
    }
}

fn bad_reply(m: &Message) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("PMI: malformed reply {m}"))
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn env_num<T: std::str::FromStr>(name: &str) -> io::Result<Option<T>> {
    match env(name) {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => s.trim().parse().map(Some).map_err(|_| invalid(format!("{name}={s:?} is not a number"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{block_process_mapping, Action, JobInfo, NodeServer};
    use std::io::Read;
    use std::os::unix::net::UnixStream;
    use std::sync::{Arc, Mutex};

    /// Serve `n` ranks over socketpairs on a thread (fence completes locally).
    fn serve(n: usize) -> (Vec<UnixStream>, std::thread::JoinHandle<Vec<Action>>) {
        let job = JobInfo { job_id: "ferrompi-test-1".into(), size: n, appnum: 0, universe_size: n, process_mapping: block_process_mapping(1, n) };
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for _ in 0..n {
            let (a, b) = UnixStream::pair().unwrap();
            ours.push(a);
            theirs.push(b);
        }
        let server = Arc::new(Mutex::new(NodeServer::new(job, (0..n).collect())));
        let h = std::thread::spawn(move || {
            let mut events = Vec::new();
            let mut fds: Vec<libc::pollfd> =
                ours.iter().map(|s| libc::pollfd { fd: std::os::fd::AsRawFd::as_raw_fd(s), events: libc::POLLIN, revents: 0 }).collect();
            let mut open = n;
            while open > 0 {
                unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as _, 10_000) };
                for i in 0..n {
                    if fds[i].revents == 0 {
                        continue;
                    }
                    let mut buf = [0u8; 2048];
                    let k = (&ours[i]).read(&mut buf).unwrap_or(0);
                    if k == 0 {
                        fds[i].fd = -1;
                        open -= 1;
                        continue;
                    }
                    let mut acts = server.lock().unwrap().recv(i, &buf[..k]);
                    while let Some(a) = acts.pop() {
                        match a {
                            Action::Send { conn, data } => (&ours[conn]).write_all(&data).unwrap(),
                            Action::FenceReady { puts } => acts.extend(server.lock().unwrap().fence_complete(puts)),
                            other => events.push(other),
                        }
                    }
                }
            }
            events
        });
        (theirs, h)
    }

    fn run(protocol: Protocol) {
        let n = 3;
        let (socks, h) = serve(n);
        let threads: Vec<_> = socks
            .into_iter()
            .enumerate()
            .map(|(r, s)| {
                std::thread::spawn(move || {
                    let opts = Options { protocol, rank: Some(r), size: Some(n), pmi_id: None, job_id: None };
                    let mut c = Client::connect(OwnedFd::from(s), &opts).unwrap();
                    assert_eq!((c.rank(), c.size(), c.appnum()), (r, n, 0));
                    assert!(c.launcher_prints_abort());
                    assert_eq!(c.job_id(), "ferrompi-test-1");
                    c.put(&format!("addr-{r}"), &format!("v{r}")).unwrap();
                    let long = "x".repeat(3000) + &r.to_string();
                    c.put_long(&format!("long-{r}"), &long).unwrap();
                    assert!(c.put("k", &"y".repeat(2000)).is_err());
                    assert!(c.put(&"k".repeat(65), "v").is_err());
                    assert!(c.put("k", &"y".repeat(c.max_value_len("k") + 1)).is_err());
                    c.put("k", &"y".repeat(c.max_value_len("k"))).unwrap();
                    c.fence().unwrap();
                    for p in 0..n {
                        assert_eq!(c.get(&format!("addr-{p}")).unwrap().as_deref(), Some(format!("v{p}").as_str()));
                        assert_eq!(c.get_long(&format!("long-{p}")).unwrap().unwrap(), "x".repeat(3000) + &p.to_string());
                    }
                    assert_eq!(c.get("missing").unwrap(), None);
                    assert_eq!(c.job_attr("PMI_process_mapping").unwrap().as_deref(), Some("(vector,(0,1,3))"));
                    c.fence().unwrap();
                    if r == 1 {
                        c.abort(5, "giving up;  100% sorry").unwrap();
                    } else {
                        c.finalize().unwrap();
                        assert!(c.get("x").is_err());
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let events = h.join().unwrap();
        assert!(events.contains(&Action::Abort { rank: 1, code: 5, message: "giving up; 100% sorry".into() }), "{events:?}");
        assert_eq!(events.iter().filter(|e| matches!(e, Action::Finalized { .. })).count(), 2);
    }

    #[test]
    fn client_server_v1() {
        run(Protocol::V1);
    }

    #[test]
    fn client_server_v2() {
        run(Protocol::V2);
    }

    /// The abort request as Slurm's PMI-2 server parses it: `isworld=TRUE` in one frame.
    #[test]
    fn v2_abort_is_a_world_abort() {
        let (a, mut b) = UnixStream::pair().unwrap();
        let mut c = Client {
            file: File::from(OwnedFd::from(a)),
            dec: Decoder::new(),
            protocol: Protocol::V2,
            rank: 0,
            size: 2,
            appnum: -1,
            job_id: "7.0".into(),
            max_val: MAX_VAL_LEN,
            finalized: false,
            ours: false,
        };
        c.abort(3, "bye").unwrap();
        drop(c);
        let mut got = Vec::new();
        b.read_to_end(&mut got).unwrap();
        let mut d = Decoder::new();
        d.feed(&got);
        let (w, m) = d.next_message().unwrap().unwrap();
        assert_eq!((w, m.cmd.as_str(), m.get("isworld"), m.get("msg")), (Wire::V2, "abort", Some("TRUE"), Some("bye")));
    }

    #[test]
    fn closed_socket_is_an_error() {
        let (a, b) = UnixStream::pair().unwrap();
        drop(b);
        let opts = Options { protocol: Protocol::V1, rank: Some(0), size: Some(1), pmi_id: None, job_id: None };
        assert!(Client::connect(OwnedFd::from(a), &opts).is_err());
    }

    #[test]
    fn split() {
        assert_eq!(split_utf8("abcdef", 4), vec!["abcd", "ef"]);
        assert_eq!(split_utf8("ééé", 3), vec!["é", "é", "é"]);
        assert!(split_utf8("", 3).is_empty());
    }
}
