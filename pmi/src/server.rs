//! Server side: the pieces `mpirun` (and later the per-host daemon) uses to serve PMI to the
//! ranks it started. No I/O here: bytes in, [`Action`]s out.
//!
//! A [`NodeServer`] serves the ranks of one host, one connection each. It answers everything it
//! can locally (init, maxes, job attributes, gets from its copy of the KVS) and holds fences:
//! when every local rank has entered the fence it emits [`Action::FenceReady`] with the puts
//! made on this host since the last fence. The owner then completes the fence with
//! [`NodeServer::fence_complete`], passing the puts of *all* hosts:
//!
//! * single host (`mpirun` today): call `fence_complete(puts)` right away;
//! * multi-host: the daemon relays `puts` to the head, the head waits for every host, and sends
//!   the union back to each daemon, which calls `fence_complete(union)`.
//!
//! So puts become visible only after a fence (Slurm's semantics, which programs must honour
//! anyway), and gets never leave the host.

use std::collections::HashMap;

use crate::wire::{Decoder, Message, Wire, WireError, MAX_KEY_LEN, MAX_VAL_LEN};

/// Facts about the job every server answers from.
#[derive(Clone, Debug)]
pub struct JobInfo {
    /// Job id = PMI-1 kvsname = PMI-2 jobid. Unique per run.
    pub job_id: String,
    /// Number of ranks in the job.
    pub size: usize,
    /// `appnum` (0 for a single-program launch).
    pub appnum: i32,
    /// Universe size reported to `get_universe_size` / `universeSize`.
    pub universe_size: usize,
    /// `PMI_process_mapping`, e.g. `(vector,(0,1,4))`.
    pub process_mapping: String,
}

/// `(vector,(node,nodes,ranks_per_node))` for a block mapping with `ppn` ranks on each of `nodes`
/// nodes (the last may hold fewer), as MPICH hydra publishes it.
pub fn block_process_mapping(nodes: usize, ppn: usize) -> String {
    format!("(vector,(0,{nodes},{ppn}))")
}

/// The job-wide key-value space (committed entries only).
#[derive(Clone, Debug, Default)]
pub struct Kvs {
    map: HashMap<String, String>,
}

impl Kvs {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(|s| s.as_str())
    }
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.map.insert(key.into(), value.into());
    }
    /// Publish a batch of puts (later entries win).
    pub fn commit<I: IntoIterator<Item = (String, String)>>(&mut self, puts: I) {
        self.map.extend(puts);
    }
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// What the owner of a [`NodeServer`] must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Write these bytes to connection `conn`.
    Send { conn: usize, data: Vec<u8> },
    /// All local ranks entered the fence; `puts` are this host's puts since the last fence.
    /// Complete it with [`NodeServer::fence_complete`] (after gathering other hosts' puts).
    FenceReady { puts: Vec<(String, String)> },
    /// Rank asked to abort the job (no reply is sent).
    Abort { rank: usize, code: i32, message: String },
    /// Rank finalized PMI (the ack has been queued).
    Finalized { rank: usize },
    /// Connection sent something unusable; the owner should close it.
    ProtocolError { conn: usize, rank: usize, error: String },
}

#[derive(Debug)]
struct Conn {
    rank: usize,
    decoder: Decoder,
    /// In the current fence, and the wire and thread id its reply goes out in.
    fenced: Option<(Wire, Option<String>)>,
    finalized: bool,
    broken: bool,
}

/// Serves the PMI connections of the ranks on one host. Connection `i` belongs to `ranks[i]`.
#[derive(Debug)]
pub struct NodeServer {
    job: JobInfo,
    kvs: Kvs,
    node_attrs: HashMap<String, String>,
    conns: Vec<Conn>,
    pending: Vec<(String, String)>,
    in_fence: usize,
    fence_open: bool,
}

impl NodeServer {
    /// `ranks[i]` is the rank served on connection `i`.
    pub fn new(job: JobInfo, ranks: Vec<usize>) -> Self {
        let mut kvs = Kvs::new();
        kvs.insert("PMI_process_mapping", job.process_mapping.clone());
        let conns = ranks
            .into_iter()
            .map(|rank| Conn { rank, decoder: Decoder::new(), fenced: None, finalized: false, broken: false })
            .collect();
        NodeServer { job, kvs, node_attrs: HashMap::new(), conns, pending: Vec::new(), in_fence: 0, fence_open: false }
    }

    pub fn job(&self) -> &JobInfo {
        &self.job
    }
    pub fn kvs(&self) -> &Kvs {
        &self.kvs
    }
    pub fn kvs_mut(&mut self) -> &mut Kvs {
        &mut self.kvs
    }
    pub fn rank_of(&self, conn: usize) -> usize {
        self.conns[conn].rank
    }
    pub fn num_conns(&self) -> usize {
        self.conns.len()
    }
    /// Whether connection `conn` has finalized.
    pub fn finalized(&self, conn: usize) -> bool {
        self.conns[conn].finalized
    }

    /// Bytes arrived on connection `conn`.
    pub fn recv(&mut self, conn: usize, data: &[u8]) -> Vec<Action> {
        let mut out = Vec::new();
        if self.conns[conn].broken {
            return out;
        }
        self.conns[conn].decoder.feed(data);
        loop {
            match self.conns[conn].decoder.next_message() {
                Ok(Some((wire, msg))) => self.handle(conn, wire, msg, &mut out),
                Ok(None) => break,
                Err(e) => {
                    self.conns[conn].broken = true;
                    out.push(Action::ProtocolError { conn, rank: self.conns[conn].rank, error: e.to_string() });
                    break;
                }
            }
        }
        out
    }

    /// Complete the fence: publish `puts` (all hosts' puts) and release every local rank.
    pub fn fence_complete(&mut self, puts: Vec<(String, String)>) -> Vec<Action> {
        self.kvs.commit(puts);
        self.fence_open = false;
        self.in_fence = 0;
        let mut out = Vec::new();
        for i in 0..self.conns.len() {
            if let Some((wire, thrid)) = self.conns[i].fenced.take() {
                let reply = match wire {
                    Wire::V1 => Message::new("barrier_out").arg("rc", 0),
                    Wire::V2 => with_thrid(Message::new("kvs-fence-response"), &thrid).arg("rc", 0),
                };
                send(&mut out, i, wire, &reply);
            }
        }
        out
    }

    fn handle(&mut self, conn: usize, wire: Wire, msg: Message, out: &mut Vec<Action>) {
        match wire {
            Wire::V1 => self.handle_v1(conn, msg, out),
            Wire::V2 => self.handle_v2(conn, msg, out),
        }
    }

    fn enter_fence(&mut self, conn: usize, wire: Wire, thrid: Option<String>, out: &mut Vec<Action>) {
        let rank = self.conns[conn].rank;
        if self.conns[conn].fenced.is_some() || self.fence_open {
            out.push(Action::ProtocolError { conn, rank, error: "fence entered twice".into() });
            return;
        }
        self.conns[conn].fenced = Some((wire, thrid));
        self.in_fence += 1;
        if self.in_fence == self.conns.len() {
            self.fence_open = true;
            out.push(Action::FenceReady { puts: std::mem::take(&mut self.pending) });
        }
    }

    fn put(&mut self, key: &str, value: &str) -> Result<(), &'static str> {
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            return Err("bad_key_length");
        }
        if value.len() > MAX_VAL_LEN {
            return Err("value_too_long");
        }
        self.pending.push((key.to_string(), value.to_string()));
        Ok(())
    }

    fn handle_v1(&mut self, conn: usize, msg: Message, out: &mut Vec<Action>) {
        let rank = self.conns[conn].rank;
        let reply = match msg.cmd.as_str() {
            "init" => {
                let v = msg.get_int("pmi_version").unwrap_or(1);
                let sv = msg.get_int("pmi_subversion").unwrap_or(1);
                // `ferrompi=1` tells our client that this launcher prints the message of an
                // abort, so the rank need not (hydra and Slurm print none); other clients
                // ignore keys they do not know.
                match (v, sv) {
                    (1, sv) if sv <= 1 => Message::new("response_to_init").arg("pmi_version", 1).arg("pmi_subversion", 1).arg("rc", 0).arg("ferrompi", 1),
                    (2, 0) => Message::new("response_to_init").arg("pmi_version", 2).arg("pmi_subversion", 0).arg("rc", 0).arg("ferrompi", 1),
                    _ => Message::new("response_to_init").arg("pmi_version", 1).arg("pmi_subversion", 1).arg("rc", -1),
                }
            }
            "initack" => {
                // PMI_PORT handshake: ack, then the rank's facts.
                send(out, conn, Wire::V1, &Message::new("initack").arg("rc", 0));
                send(out, conn, Wire::V1, &Message::new("set").arg("size", self.job.size));
                send(out, conn, Wire::V1, &Message::new("set").arg("rank", rank));
                Message::new("set").arg("debug", 0)
            }
            "get_maxes" => Message::new("maxes")
                .arg("rc", 0)
                .arg("kvsname_max", 256)
                .arg("keylen_max", MAX_KEY_LEN)
                .arg("vallen_max", MAX_VAL_LEN),
            "get_appnum" => Message::new("appnum").arg("rc", 0).arg("appnum", self.job.appnum),
            "get_universe_size" => Message::new("universe_size").arg("rc", 0).arg("size", self.job.universe_size),
            "get_my_kvsname" => Message::new("my_kvsname").arg("rc", 0).arg("kvsname", &self.job.job_id),
            "put" => {
                let key = msg.get("key").unwrap_or("");
                let value = msg.get("value").unwrap_or("");
                match self.put(key, value) {
                    Ok(()) => Message::new("put_result").arg("rc", 0),
                    Err(e) => Message::new("put_result").arg("rc", -1).arg("msg", e),
                }
            }
            "barrier_in" => return self.enter_fence(conn, Wire::V1, None, out),
            "get" => {
                let key = msg.get("key").unwrap_or("");
                match self.kvs.get(key) {
                    Some(v) => Message::new("get_result").arg("rc", 0).arg("value", v),
                    None => Message::new("get_result").arg("rc", -1).arg("msg", format!("key_{key}_not_found")),
                }
            }
            "finalize" => {
                self.conns[conn].finalized = true;
                send(out, conn, Wire::V1, &Message::new("finalize_ack").arg("rc", 0));
                out.push(Action::Finalized { rank });
                return;
            }
            "abort" => {
                let code = msg.get_int("exitcode").unwrap_or(1) as i32;
                let raw = msg.get("error_msg").or(msg.get("msg")).or(msg.get("message")).unwrap_or("");
                let message = raw.replace("%20", " ").replace("%25", "%");
                out.push(Action::Abort { rank, code, message });
                return;
            }
            other => {
                let name = match other {
                    "publish_name" => "publish_result",
                    "unpublish_name" => "unpublish_result",
                    "lookup_name" => "lookup_result",
                    "spawn" => "spawn_result",
                    _ => "unknown_result",
                };
                Message::new(name).arg("rc", -1).arg("msg", format!("unsupported_command_{other}"))
            }
        };
        send(out, conn, Wire::V1, &reply);
    }

    fn handle_v2(&mut self, conn: usize, msg: Message, out: &mut Vec<Action>) {
        let rank = self.conns[conn].rank;
        let thrid = msg.get("thrid").map(str::to_string);
        let resp = |name: &str| with_thrid(Message::new(name), &thrid);
        let found = |m: Message, v: Option<&str>| match v {
            Some(v) => m.arg("rc", 0).arg("found", "TRUE").arg("value", v),
            None => m.arg("rc", 0).arg("found", "FALSE"),
        };
        let reply = match msg.cmd.as_str() {
            "fullinit" => resp("fullinit-response")
                .arg("pmi-version", 2)
                .arg("pmi-subversion", 0)
                .arg("rank", rank)
                .arg("size", self.job.size)
                .arg("appnum", self.job.appnum)
                .arg("debugged", "FALSE")
                .arg("pmiverbose", "FALSE")
                .arg("rc", 0),
            "job-getid" => resp("job-getid-response").arg("jobid", &self.job.job_id).arg("rc", 0),
            "kvs-put" => {
                let key = msg.get("key").unwrap_or("");
                let value = msg.get("value").unwrap_or("");
                match self.put(key, value) {
                    Ok(()) => resp("kvs-put-response").arg("rc", 0),
                    Err(e) => resp("kvs-put-response").arg("rc", 1).arg("errmsg", e),
                }
            }
            "kvs-fence" => return self.enter_fence(conn, Wire::V2, thrid, out),
            "kvs-get" => {
                match msg.get("jobid") {
                    Some(j) if !j.is_empty() && j != self.job.job_id => {
                        resp("kvs-get-response").arg("rc", 1).arg("found", "FALSE").arg("errmsg", "unknown jobid")
                    }
                    _ => found(resp("kvs-get-response"), self.kvs.get(msg.get("key").unwrap_or(""))),
                }
            }
            "info-getjobattr" => {
                let key = msg.get("key").unwrap_or("");
                let universe = self.job.universe_size.to_string();
                let v = match key {
                    "universeSize" => Some(universe.as_str()),
                    _ => self.kvs.get(key),
                };
                found(resp("info-getjobattr-response"), v)
            }
            "info-getnodeattr" => {
                let key = msg.get("key").unwrap_or("");
                found(resp("info-getnodeattr-response"), self.node_attrs.get(key).map(|s| s.as_str()))
            }
            "info-putnodeattr" => {
                let key = msg.get("key").unwrap_or("").to_string();
                let value = msg.get("value").unwrap_or("").to_string();
                self.node_attrs.insert(key, value);
                resp("info-putnodeattr-response").arg("rc", 0)
            }
            "finalize" => {
                self.conns[conn].finalized = true;
                send(out, conn, Wire::V2, &resp("finalize-response").arg("rc", 0));
                out.push(Action::Finalized { rank });
                return;
            }
            "abort" => {
                let message = msg.get("msg").unwrap_or("").to_string();
                // PMI-2 abort carries no code; ours adds `exitcode` (other servers ignore it).
                let code = msg.get_int("exitcode").unwrap_or(1) as i32;
                out.push(Action::Abort { rank, code, message });
                return;
            }
            other => resp(&format!("{other}-response")).arg("rc", 1).arg("errmsg", format!("unsupported command {other}")),
        };
        send(out, conn, Wire::V2, &reply);
    }
}

fn with_thrid(m: Message, thrid: &Option<String>) -> Message {
    match thrid {
        Some(t) => m.arg("thrid", t),
        None => m,
    }
}

fn send(out: &mut Vec<Action>, conn: usize, wire: Wire, msg: &Message) {
    // Only values that came from a client can be unencodable; answer with an error then.
    let data = msg
        .encode(wire)
        .or_else(|_: WireError| Message::new(msg.cmd.clone()).arg("rc", -1).arg("msg", "unencodable_reply").encode(wire));
    if let Ok(data) = data {
        out.push(Action::Send { conn, data });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{frame_v2, parse_v1, parse_v2};

    fn job(n: usize) -> JobInfo {
        JobInfo { job_id: "ferrompi-1-ab".into(), size: n, appnum: 0, universe_size: n, process_mapping: block_process_mapping(1, n) }
    }

    fn replies(acts: &[Action]) -> Vec<(usize, String)> {
        acts.iter()
            .filter_map(|a| match a {
                Action::Send { conn, data } => Some((*conn, String::from_utf8(data.clone()).unwrap())),
                _ => None,
            })
            .collect()
    }

    fn v2(payload: &[u8]) -> Message {
        parse_v2(std::str::from_utf8(&payload[6..]).unwrap()).unwrap()
    }

    #[test]
    fn v1_session() {
        let mut s = NodeServer::new(job(2), vec![0, 1]);
        let r = replies(&s.recv(0, b"cmd=init pmi_version=1 pmi_subversion=1\ncmd=get_maxes\n"));
        assert_eq!(r.len(), 2);
        assert!(r[0].1.starts_with("cmd=response_to_init "));
        assert_eq!(parse_v1(&r[1].1).unwrap().get_int("vallen_max"), Some(1024));
        let r = replies(&s.recv(1, b"cmd=get_my_kvsname\ncmd=get_appnum\n"));
        assert_eq!(parse_v1(&r[0].1).unwrap().get("kvsname"), Some("ferrompi-1-ab"));
        assert_eq!(parse_v1(&r[1].1).unwrap().get_int("appnum"), Some(0));
        // put, invisible before the fence
        s.recv(0, b"cmd=put kvsname=ferrompi-1-ab key=a value=1\n");
        let r = replies(&s.recv(1, b"cmd=get kvsname=ferrompi-1-ab key=a\n"));
        assert_ne!(parse_v1(&r[0].1).unwrap().rc(), 0);
        assert!(s.recv(0, b"cmd=barrier_in\n").is_empty());
        let acts = s.recv(1, b"cmd=barrier_in\n");
        let puts = match &acts[..] {
            [Action::FenceReady { puts }] => puts.clone(),
            a => panic!("{a:?}"),
        };
        assert_eq!(puts, vec![("a".to_string(), "1".to_string())]);
        let r = replies(&s.fence_complete(puts));
        assert_eq!(r.len(), 2);
        assert!(r.iter().all(|(_, l)| l.starts_with("cmd=barrier_out")));
        let r = replies(&s.recv(1, b"cmd=get kvsname=ferrompi-1-ab key=a\n"));
        assert_eq!(parse_v1(&r[0].1).unwrap().get("value"), Some("1"));
        let r = replies(&s.recv(1, b"cmd=get kvsname=ferrompi-1-ab key=PMI_process_mapping\n"));
        assert_eq!(parse_v1(&r[0].1).unwrap().get("value"), Some("(vector,(0,1,2))"));
        let acts = s.recv(0, b"cmd=abort exitcode=7 error_msg=it broke\n");
        assert_eq!(acts, vec![Action::Abort { rank: 0, code: 7, message: "it broke".into() }]);
        let acts = s.recv(1, b"cmd=abort exitcode=8 error_msg=100%25%20sure\n");
        assert_eq!(acts, vec![Action::Abort { rank: 1, code: 8, message: "100% sure".into() }]);
        let acts = s.recv(1, b"cmd=finalize\n");
        assert!(matches!(acts[1], Action::Finalized { rank: 1 }));
    }

    #[test]
    fn v2_session() {
        let mut s = NodeServer::new(job(2), vec![4, 5]);
        let r = replies(&s.recv(1, b"cmd=init pmi_version=2 pmi_subversion=0\n"));
        assert_eq!(parse_v1(&r[0].1).unwrap().get_int("pmi_version"), Some(2));
        let f = frame_v2(&Message::new("fullinit").arg("pmirank", 5).arg("threaded", "FALSE")).unwrap();
        let acts = s.recv(1, &f);
        let Action::Send { data, .. } = &acts[0] else { panic!() };
        let m = v2(data);
        assert_eq!(m.cmd, "fullinit-response");
        assert_eq!((m.get_int("rank"), m.get_int("size"), m.rc()), (Some(5), Some(2), 0));
        // Slurm-style right-padded frame.
        let p = "cmd=job-getid;thrid=7;";
        let acts = s.recv(1, format!("{:<6}{p}", p.len()).as_bytes());
        let Action::Send { data, .. } = &acts[0] else { panic!() };
        let m = v2(data);
        assert_eq!((m.get("jobid"), m.get("thrid")), (Some("ferrompi-1-ab"), Some("7")));
        s.recv(1, &frame_v2(&Message::new("kvs-put").arg("key", "k").arg("value", "v;w")).unwrap());
        assert!(s.recv(1, &frame_v2(&Message::new("kvs-fence")).unwrap()).is_empty());
        // Mixed protocols in one fence.
        let acts = s.recv(0, b"cmd=barrier_in\n");
        let Action::FenceReady { puts } = &acts[0] else { panic!("{acts:?}") };
        let r = s.fence_complete(puts.clone());
        let rr = replies(&r);
        assert!(rr.iter().any(|(c, l)| *c == 0 && l == "cmd=barrier_out rc=0\n"));
        let Some(Action::Send { data, .. }) = r.iter().find(|a| matches!(a, Action::Send { conn: 1, .. })) else { panic!() };
        assert_eq!(v2(data).cmd, "kvs-fence-response");
        let acts = s.recv(1, &frame_v2(&Message::new("kvs-get").arg("jobid", "ferrompi-1-ab").arg("srcid", -1).arg("key", "k")).unwrap());
        let Action::Send { data, .. } = &acts[0] else { panic!() };
        let m = v2(data);
        assert_eq!((m.get("found"), m.get("value")), (Some("TRUE"), Some("v;w")));
        let acts = s.recv(1, &frame_v2(&Message::new("info-getjobattr").arg("key", "PMI_process_mapping")).unwrap());
        let Action::Send { data, .. } = &acts[0] else { panic!() };
        assert_eq!(v2(data).get("value"), Some("(vector,(0,1,2))"));
        let acts = s.recv(1, &frame_v2(&Message::new("abort").arg("isworld", "TRUE").arg("msg", "bad; thing")).unwrap());
        assert_eq!(acts, vec![Action::Abort { rank: 5, code: 1, message: "bad; thing".into() }]);
    }

    #[test]
    fn protocol_error_and_double_fence() {
        let mut s = NodeServer::new(job(2), vec![0, 1]);
        let acts = s.recv(0, b"hello\n");
        assert!(matches!(acts[0], Action::ProtocolError { conn: 0, .. }));
        s.recv(1, b"cmd=barrier_in\n");
        let acts = s.recv(1, b"cmd=barrier_in\n");
        assert!(matches!(acts[0], Action::ProtocolError { conn: 1, .. }));
    }
}
