//! The point-to-point protocol of one process, as a deterministic state machine with no I/O.
//!
//! The I/O layer (`engine`) drives it: it hands in every record a transport delivered
//! (`on_packet`), lets it emit the records waiting for a peer (`flush`), registers the send
//! buffers it wants peers to RDMA-read (`take_exposures` / `exposed`, released again through
//! `take_concealed`), and performs the reads and writes it asks for (`take_reads` /
//! `read_done`, `take_writes` / `write_done`). Tests drive several `Protocol`s through an
//! in-memory transport, reordering packets and delaying reads at will.
//!
//! Messages up to `Link::eager_limit` bytes travel in one `Eager` packet and the send
//! completes once that packet has left. Larger messages, and all synchronous sends, use a
//! rendezvous: the sender announces the message (`Rts`) and keeps its buffer; once the receiver
//! has matched it, either (the peer's `Link::bulk` says which)
//! - across hosts with RDMA (`Bulk::RdmaRead`), the sender registered its buffer before
//!   announcing it and the `Rts` carries the key; the receiver reads the whole message straight
//!   into the receive buffer (zero copy, any number of reads in flight, completing in any order)
//!   and answers `Fin`;
//! - within a host (`Bulk::Cma`), it reads the sender's buffer directly (single copy,
//!   `process_vm_readv`) and answers `Fin`; from `Config::split_min` bytes on, both ends copy at once: the receiver
//!   answers `Write`, the sender writes the first part straight into the receiver's buffer
//!   (`process_vm_writev`) and reports `Written` while the receiver reads the rest, and the
//!   receiver answers `Fin` once both parts are in. Each byte is still copied once, but by two
//!   cores, which matters where one core cannot saturate memory bandwidth; or
//! - otherwise (`Bulk::Stream`, an `Rts` without a key, a failed read), it answers `Cts` and the sender streams `Data` chunks
//!   through the transport, a few at a time as the transport takes them (pipelined copy),
//!   and the receiver answers `Fin` once all are in.
//!
//! Whatever the path, a rendezvous send completes on the receiver's `Fin` and on nothing else,
//! so mixed paths (a failed read or write falls back to streaming its bytes) stay simple.
//!
//! Ordering: transports may reorder packets. Matchable packets (`Eager`, `Rts`) carry a
//! per-(sender, receiver) sequence number and are matched strictly in sequence order, which is
//! what MPI's non-overtaking rule needs. Control packets name their requests and can be handled
//! in any order.

use std::collections::{BTreeMap, VecDeque};

use crate::buffer::{Buf, UserBuf};
use crate::error::{fail, ErrorClass, Result};
use crate::matching::{Envelope, PostedQueue, Selector, UnexpectedQueue};
use crate::packet::{Header, PacketKind, CONTROL_LEN};
use crate::slab::{Id, Slab};

pub type ReqId = Id;
pub type MsgId = Id;

/// How this process reaches one peer, as far as the protocol cares. Each transport has its
/// own record size, so eager limits and chunk sizes are per peer.
#[derive(Clone, Copy, Debug)]
pub struct Link {
    /// Largest message sent eagerly, in bytes.
    pub eager_limit: usize,
    /// Payload bytes per `Data` packet of a pipelined rendezvous.
    pub chunk: usize,
    /// How rendezvous payloads move.
    pub bulk: Bulk,
}

/// How the payload of a rendezvous reaches the receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bulk {
    /// `Data` packets through the transport (the pipelined copy).
    Stream,
    /// The receiver reads the sender's memory by address, and the sender may write the
    /// receiver's (cross-memory attach within a host): single copy, split between both ends.
    Cma,
    /// The receiver RDMA-reads memory the sender exposed under a key.
    RdmaRead,
}

#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Every peer's link until `set_link` says otherwise.
    pub link: Link,
    /// Single-copy messages of at least this many bytes are copied by both ends.
    pub split_min: usize,
}

/// What a completed request reports (the engine's `MPI_Status`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// Sender's rank in the communicator (receives); meaningless for sends.
    pub source: i32,
    pub tag: i32,
    /// Bytes delivered into the receive buffer.
    pub bytes: usize,
    pub error: Option<ErrorClass>,
    pub cancelled: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendMode {
    /// Completes when the buffer may be reused (eager: at once; large: after the transfer).
    Standard,
    /// Completes only once the receiver has matched the message (`MPI_Ssend`).
    Synchronous,
}

/// The bytes of a send: the user's buffer, or a copy the engine owns (`MPI_Bsend`, small
/// sends of scattered data).
#[derive(Debug)]
pub enum SendData {
    User(Buf),
    Owned(Vec<u8>),
}

impl SendData {
    fn len(&self) -> usize {
        match self {
            SendData::User(b) => b.len(),
            SendData::Owned(v) => v.len(),
        }
    }

    /// The bytes, when they lie in one memory range.
    fn bytes(&self) -> Option<&[u8]> {
        match self {
            SendData::User(Buf::Contig(b)) => Some(b.bytes()),
            SendData::User(Buf::Typed(_)) => None,
            SendData::Owned(v) => Some(v),
        }
    }

    /// Copies bytes `offset..` into `dst`, wherever they lie.
    fn read_at(&self, offset: usize, dst: &mut [u8]) -> usize {
        match self {
            SendData::User(b) => b.read_at(offset, dst),
            SendData::Owned(v) => {
                let src = &v[offset.min(v.len())..(offset + dst.len()).min(v.len())];
                dst[..src.len()].copy_from_slice(src);
                src.len()
            }
        }
    }

    /// The bytes as one memory range, when they are one.
    fn contiguous(&self) -> Option<UserBuf> {
        match self {
            SendData::User(b) => b.contiguous(),
            // SAFETY: the owned copy lives in the request until it completes, which is after
            // every use of this range (eager: when the packet has left; rendezvous: on `Fin`).
            SendData::Owned(v) => Some(unsafe { UserBuf::new(v.as_ptr() as *mut u8, v.len()) }),
        }
    }
}

/// A read the I/O layer must perform: `dst.len()` bytes at `addr` in `peer`, by address
/// (cross-memory attach) or, with a `key`, by RDMA.
#[derive(Debug)]
pub struct RemoteRead {
    pub peer: usize,
    pub addr: usize,
    pub key: Option<u64>,
    pub dst: UserBuf,
    pub rreq: ReqId,
}

/// A single-copy write the I/O layer must perform: `src` to `addr` in `peer`.
#[derive(Debug)]
pub struct RemoteWrite {
    pub peer: usize,
    pub addr: usize,
    pub src: UserBuf,
    pub sreq: ReqId,
    /// The receiver's request, for the `Written` answer.
    pub rreq: u64,
}

/// Whether a rendezvous send's buffer is registered for the receiver to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Exposure {
    /// Not wanted (eager, single copy, streaming) or the registration failed.
    None,
    /// Asked of the I/O layer (`take_exposures`); the `Rts` waits for the answer.
    Pending,
    /// Registered: the `Rts` carries `addr` and `key`; `handle` is released on completion.
    Done { peer: usize, addr: u64, key: u64, handle: u64 },
}

/// A send buffer the I/O layer is asked to register for `peer` to read (`Protocol::exposed`).
#[derive(Debug)]
pub struct Expose {
    pub peer: usize,
    pub buf: UserBuf,
    pub sreq: ReqId,
}

/// Where a peer finds an exposed buffer: what the I/O layer answers to an [`Expose`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exposed {
    pub addr: u64,
    pub key: u64,
    /// The I/O layer's handle for the registration, given back by `take_concealed`.
    pub handle: u64,
}

#[derive(Debug)]
enum Work {
    Send { data: SendData, exposure: Exposure },
    Recv { buf: Buf, stage: RecvStage },
    /// Nothing left to do here: the status is final once `complete` is set.
    Done,
}

#[derive(Debug)]
enum RecvStage {
    Posted,
    /// Matched an `Rts` of `len` bytes: `need` bytes are to arrive (by `Data` packets, a
    /// single-copy read, the sender's `Written`), `got` have.
    Rendezvous { peer: usize, sreq: u64, len: usize, need: usize, got: usize },
}

#[derive(Debug)]
struct Request {
    work: Work,
    complete: bool,
    /// `MPI_Request_free` was called: drop the request as soon as it completes.
    detached: bool,
    status: Status,
}

/// What an `Rts` announced.
#[derive(Clone, Copy, Debug)]
struct Rts {
    sreq: u64,
    len: usize,
    addr: usize,
    key: Option<u64>,
    stream: bool,
}

/// An unexpected message: its data if it came eagerly, its announcement if by rendezvous.
#[derive(Debug)]
enum Arrival {
    Eager(Vec<u8>),
    Rts { sreq: u64, len: usize, addr: usize, key: Option<u64>, stream: bool },
}

#[derive(Debug)]
struct Unexpected {
    peer: usize,
    arrival: Arrival,
}

impl Unexpected {
    fn len(&self) -> usize {
        match &self.arrival {
            Arrival::Eager(v) => v.len(),
            Arrival::Rts { len, .. } => *len,
        }
    }
}

/// A record waiting for the transport to take it.
#[derive(Debug)]
enum Outgoing {
    /// The `Rts` of send request `req`; it leaves once the request's buffer is exposed (or
    /// needs no exposure), carrying where to find it.
    Announce { header: Header, req: ReqId },
    /// A header alone, or an `Eager` header followed by the send request's data. An `Eager`
    /// packet completes its request when it leaves.
    Packet { header: Header, req: Option<ReqId> },
    /// The `Data` chunks of bytes `offset..end` of a pipelined rendezvous.
    Stream { req: ReqId, rreq: u64, offset: usize, end: usize },
}

struct Peer {
    /// Sequence number for the next matchable packet to this peer.
    next_send_seq: u32,
    /// Sequence number of the next matchable packet expected from this peer.
    next_recv_seq: u32,
    /// Matchable packets from this peer that arrived ahead of their turn.
    early: BTreeMap<u32, (Header, Vec<u8>)>,
    outbox: VecDeque<Outgoing>,
    link: Link,
}

pub struct Protocol {
    config: Config,
    peers: Vec<Peer>,
    requests: Slab<Request>,
    posted: PostedQueue<ReqId>,
    unexpected: UnexpectedQueue<Unexpected>,
    /// Messages taken off the unexpected queue by `improbe`, waiting for `imrecv`.
    probed: Slab<(Envelope, Unexpected)>,
    reads: Vec<RemoteRead>,
    writes: Vec<RemoteWrite>,
    exposures: Vec<Expose>,
    /// Registrations whose send completed: (peer, handle), for the I/O layer to release.
    concealed: Vec<(usize, u64)>,
    /// Where one `Data` chunk of scattered send data is packed.
    scratch: Vec<u8>,
    /// Requests completed since the I/O layer last asked (to wake waiting threads).
    completions: usize,
    /// `Bye` packets received (`Engine::finalize`).
    byes: usize,
    /// Detached sends (`MPI_Request_free`, buffered sends) not complete yet. Detached receives
    /// are not counted: one that never matches must not keep `MPI_Finalize` waiting.
    detached_sends: usize,
}

impl Protocol {
    pub fn new(npeers: usize, config: Config) -> Protocol {
        Protocol {
            config,
            peers: (0..npeers)
                .map(|_| Peer {
                    next_send_seq: 0,
                    next_recv_seq: 0,
                    early: BTreeMap::new(),
                    outbox: VecDeque::new(),
                    link: config.link,
                })
                .collect(),
            requests: Slab::default(),
            posted: PostedQueue::default(),
            unexpected: UnexpectedQueue::default(),
            probed: Slab::default(),
            reads: Vec::new(),
            writes: Vec::new(),
            exposures: Vec::new(),
            concealed: Vec::new(),
            scratch: Vec::new(),
            completions: 0,
            byes: 0,
            detached_sends: 0,
        }
    }

    pub fn set_link(&mut self, peer: usize, link: Link) {
        self.peers[peer].link = link;
    }

    // ---- requests ------------------------------------------------------------------------

    fn new_request(&mut self, work: Work) -> ReqId {
        self.requests.insert(Request { work, complete: false, detached: false, status: Status::default() })
    }

    /// A request that is complete from the start (sends to and receives from `MPI_PROC_NULL`).
    pub fn completed(&mut self, status: Status) -> ReqId {
        let id = self.new_request(Work::Done);
        self.finish(id, status);
        id
    }

    /// A request that the engine completes itself, with [`Protocol::complete`], for work done
    /// outside the protocol (`MPI_Comm_idup`'s context agreement).
    pub fn pending(&mut self) -> ReqId {
        self.new_request(Work::Done)
    }

    /// Completes a [`Protocol::pending`] request.
    pub fn complete(&mut self, id: ReqId, status: Status) {
        self.finish(id, status);
    }

    fn finish(&mut self, id: ReqId, status: Status) {
        let Some(req) = self.requests.get_mut(id) else { return };
        let was_send = matches!(req.work, Work::Send { .. });
        if let Work::Send { exposure: Exposure::Done { peer, handle, .. }, .. } = req.work {
            self.concealed.push((peer, handle));
        }
        req.work = Work::Done;
        req.complete = true;
        req.status = status;
        self.completions += 1;
        if req.detached {
            if was_send {
                self.detached_sends -= 1;
            }
            self.requests.remove(id);
        }
    }

    fn finish_send(&mut self, id: ReqId) {
        self.finish(id, Status::default());
    }

    pub fn is_request(&self, id: ReqId) -> bool {
        self.requests.get(id).is_some()
    }

    /// The status of a completed request, leaving it in place (`MPI_Request_get_status`).
    pub fn peek(&self, id: ReqId) -> Result<Option<Status>> {
        match self.requests.get(id) {
            None => fail(ErrorClass::Request, "invalid or already freed request"),
            Some(r) => Ok(r.complete.then_some(r.status)),
        }
    }

    /// The status of a completed request, which is released (`MPI_Test`/`MPI_Wait`).
    pub fn take(&mut self, id: ReqId) -> Result<Option<Status>> {
        let status = self.peek(id)?;
        if status.is_some() {
            self.requests.remove(id);
        }
        Ok(status)
    }

    /// `MPI_Request_free`: the request goes on but nobody will wait for it.
    pub fn detach(&mut self, id: ReqId) -> Result<()> {
        let Some(req) = self.requests.get_mut(id) else {
            return fail(ErrorClass::Request, "invalid or already freed request");
        };
        if req.complete {
            self.requests.remove(id);
        } else if !req.detached {
            req.detached = true;
            if matches!(req.work, Work::Send { .. }) {
                self.detached_sends += 1;
            }
        }
        Ok(())
    }

    /// `MPI_Cancel`: a receive still waiting for a message completes as cancelled. Anything
    /// else (a matched receive, any send) runs to completion; the standard allows that.
    pub fn cancel(&mut self, id: ReqId) -> Result<()> {
        let Some(req) = self.requests.get(id) else {
            return fail(ErrorClass::Request, "invalid or already freed request");
        };
        if matches!(req.work, Work::Recv { stage: RecvStage::Posted, .. }) && self.posted.remove(id) {
            self.finish(id, Status { cancelled: true, ..Status::default() });
        }
        Ok(())
    }

    /// Requests completed since the last call.
    pub fn take_completions(&mut self) -> usize {
        std::mem::take(&mut self.completions)
    }

    // ---- sending -------------------------------------------------------------------------

    /// Starts a send of `data` to process `peer`. `env.src` is this process's rank in the
    /// communicator `env.ctx` belongs to.
    pub fn isend(&mut self, peer: usize, env: Envelope, data: SendData, mode: SendMode) -> ReqId {
        let len = data.len();
        let link = self.peers[peer].link;
        let eager = len <= link.eager_limit && mode == SendMode::Standard;
        // An eager packet carries one contiguous payload: scattered data is packed (it is small).
        let data = match data {
            SendData::User(b @ Buf::Typed(_)) if eager => SendData::Owned(b.to_vec()),
            d => d,
        };
        let contiguous = data.contiguous();
        let addr = contiguous.map_or(0, |b| b.addr());
        // Only payloads too large to send eagerly are worth registering; a small synchronous
        // send streams its few bytes after the `Cts`. Scattered data is always streamed.
        let expose = !eager && link.bulk == Bulk::RdmaRead && len > link.eager_limit && contiguous.is_some();
        let exposure = if expose { Exposure::Pending } else { Exposure::None };
        let req = self.new_request(Work::Send { data, exposure });
        if let (true, Some(buf)) = (expose, contiguous) {
            self.exposures.push(Expose { peer, buf, sreq: req });
        }
        let p = &mut self.peers[peer];
        let mut header = Header {
            ctx: env.ctx,
            src: env.src,
            tag: env.tag,
            seq: p.next_send_seq,
            ..Header::default()
        };
        p.next_send_seq = p.next_send_seq.wrapping_add(1);
        if eager {
            header.kind_raw = PacketKind::Eager as u8;
            p.outbox.push_back(Outgoing::Packet { header, req: Some(req) });
        } else {
            header.kind_raw = PacketKind::Rts as u8;
            header.sreq = req.token();
            header.len = len as u64;
            header.addr = addr as u64;
            header.stream = contiguous.is_none();
            p.outbox.push_back(Outgoing::Announce { header, req });
        }
        req
    }

    /// Send buffers to register for RDMA reads; each must be answered with `exposed`
    /// before its `Rts` can leave.
    pub fn take_exposures(&mut self) -> Vec<Expose> {
        std::mem::take(&mut self.exposures)
    }

    /// The I/O layer registered (`Some`) or could not register (`None`) an `Expose`: the `Rts`
    /// then carries the key, or none (the receiver asks for a stream instead).
    pub fn exposed(&mut self, e: &Expose, result: Option<Exposed>) {
        let Some(Request { work: Work::Send { exposure, .. }, .. }) = self.requests.get_mut(e.sreq) else { return };
        *exposure = match result {
            Some(x) => Exposure::Done { peer: e.peer, addr: x.addr, key: x.key, handle: x.handle },
            None => Exposure::None,
        };
    }

    /// Registrations of completed sends, (peer, handle), for the I/O layer to release.
    pub fn take_concealed(&mut self) -> Vec<(usize, u64)> {
        std::mem::take(&mut self.concealed)
    }

    /// A blocking standard send's fast path: when the message is eager-sized and nothing is
    /// queued ahead of it for `peer`, hands it to `send` at once, with no request at all.
    /// Returns false (and changes nothing) when it cannot; the caller then uses `isend`.
    pub fn send_now(&mut self, peer: usize, env: Envelope, data: &[u8], send: &mut dyn FnMut(&[u8], &[u8]) -> bool) -> bool {
        let p = &mut self.peers[peer];
        if data.len() > p.link.eager_limit || !p.outbox.is_empty() {
            return false;
        }
        let header = Header {
            kind_raw: PacketKind::Eager as u8,
            ctx: env.ctx,
            src: env.src,
            tag: env.tag,
            seq: p.next_send_seq,
            ..Header::default()
        };
        let mut hbuf = [0u8; CONTROL_LEN];
        let n = header.encode(&mut hbuf);
        if !send(&hbuf[..n], data) {
            return false;
        }
        p.next_send_seq = p.next_send_seq.wrapping_add(1);
        true
    }

    /// Whether nothing that nobody waits for is still in flight: no record waits for a
    /// transport, every detached send is complete and every registration released.
    /// `MPI_Finalize` waits for this.
    pub fn is_quiet(&self) -> bool {
        self.detached_sends == 0 && !self.has_outgoing() && self.concealed.is_empty()
    }

    /// Queues the `Bye` that tells `peer` this process has finished its last barrier.
    pub fn send_bye(&mut self, peer: usize) {
        self.send_control(peer, PacketKind::Bye, 0, 0, 0, 0);
    }

    /// How many `Bye` packets have arrived.
    pub fn byes(&self) -> usize {
        self.byes
    }

    /// Whether any record waits for the transport.
    pub fn has_outgoing(&self) -> bool {
        self.peers.iter().any(|p| !p.outbox.is_empty())
    }

    pub fn has_outgoing_to(&self, peer: usize) -> bool {
        !self.peers[peer].outbox.is_empty()
    }

    /// Hands records for `peer` to `send(header, payload)` until it refuses one (returns
    /// false: no room now) or none are left.
    pub fn flush(&mut self, peer: usize, send: &mut dyn FnMut(&[u8], &[u8]) -> bool) {
        let mut hbuf = [0u8; CONTROL_LEN];
        let chunk = self.peers[peer].link.chunk;
        while let Some(out) = self.peers[peer].outbox.front_mut() {
            match out {
                Outgoing::Announce { header, req } => {
                    let mut h = *header;
                    match self.requests.get(*req) {
                        Some(Request { work: Work::Send { exposure: Exposure::Pending, .. }, .. }) => return,
                        Some(Request { work: Work::Send { exposure: Exposure::Done { addr, key, .. }, .. }, .. }) => {
                            h.addr = *addr;
                            h.key = Some(*key);
                        }
                        _ => {}
                    }
                    let n = h.encode(&mut hbuf);
                    if !send(&hbuf[..n], &[]) {
                        return;
                    }
                    self.peers[peer].outbox.pop_front();
                }
                Outgoing::Packet { header, req } => {
                    let n = header.encode(&mut hbuf);
                    // Eager payloads are contiguous (`isend` packs scattered ones).
                    let payload = match req.and_then(|r| self.requests.get(r)) {
                        Some(Request { work: Work::Send { data, .. }, .. }) => data.bytes().unwrap_or_default(),
                        _ => &[],
                    };
                    if !send(&hbuf[..n], payload) {
                        return;
                    }
                    let done = *req;
                    self.peers[peer].outbox.pop_front();
                    if let Some(r) = done {
                        self.finish_send(r);
                    }
                }
                Outgoing::Stream { req, rreq, offset, end } => {
                    let (req, rreq, off, stop) = (*req, *rreq, *offset, *end);
                    let Some(Request { work: Work::Send { data, .. }, .. }) = self.requests.get(req) else {
                        self.peers[peer].outbox.pop_front();
                        continue;
                    };
                    let stop = stop.min(data.len());
                    let off = off.min(stop);
                    let end = (off + chunk).min(stop);
                    // Contiguous data is sent from where it lies; scattered data is packed one
                    // chunk at a time into the scratch buffer.
                    let payload: &[u8] = match data.bytes() {
                        Some(bytes) => &bytes[off..end],
                        None => {
                            self.scratch.resize(end - off, 0);
                            data.read_at(off, &mut self.scratch);
                            &self.scratch
                        }
                    };
                    let header = Header {
                        kind_raw: PacketKind::Data as u8,
                        rreq,
                        addr: off as u64,
                        ..Header::default()
                    };
                    let n = header.encode(&mut hbuf);
                    if !send(&hbuf[..n], payload) {
                        return;
                    }
                    if end >= stop {
                        self.peers[peer].outbox.pop_front();
                    } else if let Some(Outgoing::Stream { offset, .. }) = self.peers[peer].outbox.front_mut() {
                        *offset = end;
                    }
                }
            }
        }
    }

    // ---- receiving -----------------------------------------------------------------------

    /// Posts a receive into `buf`.
    pub fn irecv(&mut self, sel: Selector, buf: Buf) -> ReqId {
        let req = self.new_request(Work::Recv { buf, stage: RecvStage::Posted });
        match self.unexpected.take_match(&sel) {
            Some((env, msg)) => self.deliver(req, env, msg),
            None => self.posted.push(sel, req),
        }
        req
    }

    /// `MPI_Iprobe`: the envelope and length of the oldest matching message, if any.
    pub fn iprobe(&self, sel: &Selector) -> Option<Status> {
        self.unexpected.peek_match(sel).map(|(env, msg)| probe_status(env, msg))
    }

    /// `MPI_Improbe`: takes the oldest matching message off the queue for `imrecv`.
    pub fn improbe(&mut self, sel: &Selector) -> Option<(MsgId, Status)> {
        let (env, msg) = self.unexpected.take_match(sel)?;
        let status = probe_status(&env, &msg);
        Some((self.probed.insert((env, msg)), status))
    }

    /// `MPI_Imrecv`: receives a message `improbe` returned.
    pub fn imrecv(&mut self, msg: MsgId, buf: Buf) -> Result<ReqId> {
        let Some((env, msg)) = self.probed.remove(msg) else {
            return fail(ErrorClass::Request, "invalid or already received message handle");
        };
        let req = self.new_request(Work::Recv { buf, stage: RecvStage::Posted });
        self.deliver(req, env, msg);
        Ok(req)
    }

    /// Matches receive `req` with message `msg`.
    fn deliver(&mut self, req: ReqId, env: Envelope, msg: Unexpected) {
        let Some(Request { work: Work::Recv { buf, .. }, .. }) = self.requests.get(req) else { return };
        match msg.arrival {
            Arrival::Eager(data) => {
                let n = buf.write_at(0, &data);
                self.finish(req, recv_status(env, n, data.len()));
            }
            Arrival::Rts { sreq, len, addr, key, stream } => {
                let rts = Rts { sreq, len, addr, key, stream };
                self.start_rendezvous(req, msg.peer, env, rts)
            }
        }
    }

    fn start_rendezvous(&mut self, req: ReqId, peer: usize, env: Envelope, rts: Rts) {
        let Rts { sreq, len, addr, key, stream } = rts;
        let bulk = self.peers[peer].link.bulk;
        let split_min = self.config.split_min;
        let Some(r) = self.requests.get_mut(req) else { return };
        let Work::Recv { buf, stage } = &mut r.work else { return };
        // The status is filled in now; `bytes` and `error` when the data is in.
        r.status = Status { source: env.src as i32, tag: env.tag, ..Status::default() };
        let need = len.min(buf.len());
        // Reads and writes move one memory range into another: both ends must be contiguous.
        let direct = if stream { None } else { buf.contiguous() };
        let Some(buf) = direct else {
            *stage = RecvStage::Rendezvous { peer, sreq, len, need: len, got: 0 };
            self.send_control(peer, PacketKind::Cts, sreq, req.token(), 0, len);
            return;
        };
        match (bulk, key) {
            (Bulk::RdmaRead, Some(key)) => {
                *stage = RecvStage::Rendezvous { peer, sreq, len, need, got: 0 };
                if need > 0 {
                    self.reads.push(RemoteRead { peer, addr, key: Some(key), dst: buf.slice(0, need), rreq: req });
                } else {
                    self.arrived(req, 0);
                }
                return;
            }
            (Bulk::Cma, _) => {}
            _ => {
                *stage = RecvStage::Rendezvous { peer, sreq, len, need: len, got: 0 };
                self.send_control(peer, PacketKind::Cts, sreq, req.token(), 0, len);
                return;
            }
        }
        // Both ends copy a large message: the sender writes 0..split, we read split..need.
        // The split is page-aligned so that neither side pins a page the other copies.
        let split = if len >= split_min { ((len / 2) & !4095).min(need) } else { 0 };
        *stage = RecvStage::Rendezvous { peer, sreq, len, need, got: 0 };
        if split > 0 {
            let header = Header {
                kind_raw: PacketKind::Write as u8,
                sreq,
                rreq: req.token(),
                len: split as u64,
                addr: buf.addr() as u64,
                ..Header::default()
            };
            self.peers[peer].outbox.push_back(Outgoing::Packet { header, req: None });
        }
        if need > split {
            self.reads.push(RemoteRead { peer, addr: addr + split, key: None, dst: buf.slice(split, need - split), rreq: req });
        } else {
            // Nothing for us to read (an empty message, or the sender writes it all).
            self.arrived(req, 0);
        }
    }

    fn send_control(&mut self, peer: usize, kind: PacketKind, sreq: u64, rreq: u64, addr: usize, len: usize) {
        let header = Header { kind_raw: kind as u8, sreq, rreq, addr: addr as u64, len: len as u64, ..Header::default() };
        self.peers[peer].outbox.push_back(Outgoing::Packet { header, req: None });
    }

    /// Whether reads or writes wait to be performed.
    pub fn has_copies(&self) -> bool {
        !self.reads.is_empty() || !self.writes.is_empty()
    }

    /// Reads to perform; each must be answered with `read_done`, at once (cross-memory
    /// attach) or when the transport reports it finished (RDMA).
    pub fn take_reads(&mut self) -> Vec<RemoteRead> {
        std::mem::take(&mut self.reads)
    }

    /// Single-copy writes to perform; each must be answered with `write_done`.
    pub fn take_writes(&mut self) -> Vec<RemoteWrite> {
        std::mem::take(&mut self.writes)
    }

    /// The I/O layer performed (`ok`) or could not perform a `RemoteRead`. A failed read falls
    /// back to the pipelined copy of the same bytes (and later messages from that peer stream
    /// from the start), so a peer that forbids single copy costs speed, not correctness.
    pub fn read_done(&mut self, read: &RemoteRead, ok: bool) {
        let Some(Request { work: Work::Recv { buf: Buf::Contig(buf), stage: RecvStage::Rendezvous { peer, sreq, .. } }, .. }) =
            self.requests.get(read.rreq)
        else {
            return;
        };
        if ok {
            self.arrived(read.rreq, read.dst.len());
        } else {
            let (peer, sreq) = (*peer, *sreq);
            let start = read.dst.addr() - buf.addr();
            self.peers[peer].link.bulk = Bulk::Stream;
            self.send_control(peer, PacketKind::Cts, sreq, read.rreq.token(), start, start + read.dst.len());
        }
    }

    /// The I/O layer performed (`ok`) or could not perform a `RemoteWrite`. A failed write
    /// falls back to streaming the same bytes as `Data`.
    pub fn write_done(&mut self, write: &RemoteWrite, ok: bool) {
        if ok {
            let header = Header {
                kind_raw: PacketKind::Written as u8,
                rreq: write.rreq,
                len: write.src.len() as u64,
                ..Header::default()
            };
            self.peers[write.peer].outbox.push_back(Outgoing::Packet { header, req: None });
        } else {
            let stream = Outgoing::Stream { req: write.sreq, rreq: write.rreq, offset: 0, end: write.src.len() };
            self.peers[write.peer].outbox.push_back(stream);
        }
    }

    /// `n` more bytes of rendezvous receive `rreq` are in place: complete it once all are.
    fn arrived(&mut self, rreq: ReqId, n: usize) {
        let Some(Request { work: Work::Recv { buf, stage: RecvStage::Rendezvous { peer, sreq, len, need, got } }, status, .. }) =
            self.requests.get_mut(rreq)
        else {
            return;
        };
        *got += n;
        if *got < *need {
            return;
        }
        let (peer, sreq, len, buf_len, status) = (*peer, *sreq, *len, buf.len(), *status);
        self.send_control(peer, PacketKind::Fin, sreq, 0, 0, 0);
        self.finish(rreq, Status { bytes: len.min(buf_len), error: truncated(len, buf_len), ..status });
    }

    /// Handles one record a transport delivered from process `peer`.
    pub fn on_packet(&mut self, peer: usize, rec: &[u8]) -> Result<()> {
        let (h, payload) = Header::decode(rec)?;
        match h.kind() {
            PacketKind::Eager | PacketKind::Rts => {
                let p = &mut self.peers[peer];
                if h.seq != p.next_recv_seq {
                    p.early.insert(h.seq, (h, payload.to_vec()));
                    return Ok(());
                }
                self.on_matchable(peer, h, payload);
                loop {
                    let p = &mut self.peers[peer];
                    p.next_recv_seq = p.next_recv_seq.wrapping_add(1);
                    let Some((h, data)) = p.early.remove(&p.next_recv_seq) else { break };
                    self.on_matchable(peer, h, &data);
                }
            }
            PacketKind::Cts => {
                let req = Id::from_token(h.sreq);
                if let Some(Request { work: Work::Send { .. }, .. }) = self.requests.get(req) {
                    let (offset, end) = (h.addr as usize, h.len as usize);
                    self.peers[peer].outbox.push_back(Outgoing::Stream { req, rreq: h.rreq, offset, end });
                }
            }
            PacketKind::Write => {
                let sreq = Id::from_token(h.sreq);
                // Only asked of contiguous data (scattered data is announced as a stream).
                if let Some(Request { work: Work::Send { data, .. }, .. }) = self.requests.get(sreq) {
                    if let Some(b) = data.contiguous() {
                        let src = b.slice(0, h.len as usize);
                        self.writes.push(RemoteWrite { peer, addr: h.addr as usize, src, sreq, rreq: h.rreq });
                    }
                }
            }
            PacketKind::Written => self.arrived(Id::from_token(h.rreq), h.len as usize),
            PacketKind::Fin => self.finish_send(Id::from_token(h.sreq)),
            PacketKind::Bye => self.byes += 1,
            PacketKind::Data => self.on_data(Id::from_token(h.rreq), h.addr as usize, payload),
        }
        Ok(())
    }

    fn on_matchable(&mut self, peer: usize, h: Header, payload: &[u8]) {
        let env = Envelope { ctx: h.ctx, src: h.src, tag: h.tag };
        match self.posted.take_match(&env) {
            Some(req) => {
                if h.kind() == PacketKind::Eager {
                    let Some(Request { work: Work::Recv { buf, .. }, .. }) = self.requests.get(req) else { return };
                    let n = buf.write_at(0, payload);
                    self.finish(req, recv_status(env, n, payload.len()));
                } else {
                    let rts = Rts { sreq: h.sreq, len: h.len as usize, addr: h.addr as usize, key: h.key, stream: h.stream };
                    self.start_rendezvous(req, peer, env, rts);
                }
            }
            None => {
                let arrival = if h.kind() == PacketKind::Eager {
                    Arrival::Eager(payload.to_vec())
                } else {
                    Arrival::Rts { sreq: h.sreq, len: h.len as usize, addr: h.addr as usize, key: h.key, stream: h.stream }
                };
                self.unexpected.push(env, Unexpected { peer, arrival });
            }
        }
    }

    fn on_data(&mut self, rreq: ReqId, offset: usize, payload: &[u8]) {
        let Some(Request { work: Work::Recv { buf, stage: RecvStage::Rendezvous { .. } }, .. }) = self.requests.get(rreq) else {
            return;
        };
        buf.write_at(offset, payload);
        self.arrived(rreq, payload.len());
    }
}

fn truncated(len: usize, buf_len: usize) -> Option<ErrorClass> {
    (len > buf_len).then_some(ErrorClass::Truncate)
}

fn recv_status(env: Envelope, delivered: usize, sent: usize) -> Status {
    Status {
        source: env.src as i32,
        tag: env.tag,
        bytes: delivered,
        error: truncated(sent, delivered),
        cancelled: false,
    }
}

fn probe_status(env: &Envelope, msg: &Unexpected) -> Status {
    Status { source: env.src as i32, tag: env.tag, bytes: msg.len(), error: None, cancelled: false }
}

#[cfg(test)]
mod tests;
