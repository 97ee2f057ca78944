//! The engine: one per process. It owns the protocol state machine, the communicators and the
//! requests behind one lock, and drives the transports (the progress engine).
//!
//! Every MPI call that can make progress runs `progress` once under the lock: drain incoming
//! records from every transport into the protocol, perform the single-copy reads it asks for,
//! and hand its outgoing records to the transports. A call that must wait repeats that with a
//! `Backoff` between rounds (spin, then yield, then block on the shared-memory doorbell), so
//! that ranks outnumbering cores hand their core to the rank that has work.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::buffer::{Buf, UserBuf};
use crate::collective::CollPeer;
use crate::error::{fail, ErrorClass, MpiError, Result};
use crate::matching::{Envelope, Selector};
use crate::protocol::{Bulk, Config, Link, MsgId, Protocol, RemoteRead, ReqId, SendData, SendMode, Status};
use crate::transport::Transport;
use crate::tuning::Tuning;
use crate::slab::{Id, Slab};
use crate::world::World;

/// `MPI_ANY_SOURCE`, `MPI_ANY_TAG`, `MPI_PROC_NULL`, `MPI_ROOT`: the engine uses the standard
/// ABI's values for the rank and tag wildcards and the intercommunicator root markers so that
/// `abi` passes ranks and tags through unchanged.
pub const ANY_SOURCE: i32 = -1;
pub const ANY_TAG: i32 = -2;
pub const PROC_NULL: i32 = -3;
pub const ROOT: i32 = -4;
/// Largest valid tag (`MPI_TAG_UB`).
pub const TAG_UB: i32 = i32::MAX;

#[path = "comm.rs"]
mod comm;
use comm::Comm;
pub use comm::MAX_NAME;

/// Which agreement may offer which part of the context-id bitmap (`ctxid.rs`).
#[path = "ctxid.rs"]
mod ctxid;
use ctxid::ContextState;

/// `MPI_Comm_idup`: the context agreement as rounds the progress engine advances (`idup.rs`).
#[path = "idup.rs"]
mod idup;

/// Intercommunicators: creation, merge, dup, split and their collectives (`intercomm.rs`).
#[path = "intercomm.rs"]
mod intercomm;

/// Process topologies, stored with their communicators (`topology.rs`).
#[path = "topology.rs"]
pub mod topology;

/// Collectives as schedules the engine advances: blocking, nonblocking, persistent (`nbc.rs`).
#[path = "nbc.rs"]
mod nbc;
use nbc::Coll;
pub use nbc::CollMode;

/// Windows and one-sided communication over `rma.rs` (`window.rs`).
#[path = "window.rs"]
mod window;
pub use window::{Exposure, Flavor, RmaCall, WinId};

/// A communicator: the token of its entry in the engine's table (a `slab::Id`, generation in
/// the high half), so that a freed communicator's id is detected as invalid. WORLD and SELF are
/// the table's first two entries. Communicators and their context ids: `comm.rs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CommId(pub u64);

impl CommId {
    pub const WORLD: CommId = CommId(1 << 32);
    pub const SELF: CommId = CommId((1 << 32) | 1);
}

/// A request as the application holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Request(Id);

impl Request {
    pub fn token(self) -> u64 {
        self.0.token()
    }
    pub fn from_token(t: u64) -> Request {
        Request(Id::from_token(t))
    }
}

/// A message taken by `MPI_Mprobe`, waiting for `MPI_Mrecv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Message {
    /// The message of a matched probe of `MPI_PROC_NULL` (`MPI_MESSAGE_NO_PROC`).
    NoProc,
    Real(MsgId),
}

/// The send modes of MPI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendKind {
    Standard,
    Buffered,
    Synchronous,
    Ready,
}

#[derive(Clone)]
enum Persistent {
    Send { comm: CommId, dest: i32, tag: i32, buf: Buf, kind: SendKind },
    Recv { comm: CommId, src: i32, tag: i32, buf: Buf },
}

enum Req {
    /// `comm`: the communicator whose error handler hears about the request's errors
    /// (`None` for a matched-probe receive, whose message handle names none).
    Active { r: ReqId, comm: Option<CommId> },
    Persistent { spec: Persistent, active: Option<ReqId> },
    /// A nonblocking or persistent collective (`nbc.rs`).
    Coll(Box<Coll>),
    /// An RMA operation with a request (`MPI_Rput`, ...): operation `op` of window `win`.
    Rma { win: Id, op: u64 },
    /// `MPI_Isendrecv(_replace)`: a send and a receive, complete when both are; its status
    /// is the receive's.
    Pair { send: ReqId, recv: ReqId, comm: CommId },
    /// `MPI_Buffer_iflush` / `MPI_Comm_iflush_buffer`: complete once the buffered sends of
    /// that buffer have left it.
    Flush(BufferScope),
}

/// Whose attached buffer for buffered sends (MPI-4.1 3.6): a communicator's, used by its
/// buffered sends before the process's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BufferScope {
    Process,
    Comm(CommId),
}

/// `MPI_BSEND_OVERHEAD`: what each buffered message costs in the attached buffer besides its data.
pub const BSEND_OVERHEAD: usize = 512;

#[derive(Default)]
struct BsendBuffer {
    /// Size and address of the attached buffer. Buffered sends copy into memory the engine
    /// owns and only account against this size; the address is handed back on detach.
    attached: Option<(usize, usize)>,
    /// Buffered sends still in flight and the bytes each holds.
    pending: Vec<(ReqId, usize)>,
}

/// Everything behind the engine lock.
pub struct State {
    proto: Protocol,
    comms: Slab<Comm>,
    ctx: ContextState,
    requests: Slab<Req>,
    bsend: BsendBuffer,
    /// Buffers attached to communicators (`MPI_Comm_attach_buffer`).
    comm_bsend: HashMap<CommId, BsendBuffer>,
    /// Records sent by this process to itself.
    loopback: VecDeque<Vec<u8>>,
    /// RDMA reads in flight, by the token their transport reports them with.
    rdma_reads: Slab<RemoteRead>,
    /// Collective requests whose schedules are running, in the order they started.
    colls: Vec<Id>,
    /// Blocking collectives' finished schedules, for identical calls and their memory
    /// (`nbc/cache.rs`).
    coll_cache: nbc::Cache,
    /// Which algorithm each collective uses (`tuning.rs`).
    tuning: Tuning,
    /// The host of each world rank (`World::host_of`); empty when the job is on one host.
    host_of: Vec<u32>,
    /// `MPI_Comm_idup`s whose context agreement is running (`idup.rs`).
    idups: Vec<idup::Idup>,
    /// User-defined reductions of collective requests, to run outside the lock: the user
    /// function may call MPI (`schedule.rs`). `wait_until` and `with_state` run them.
    user_steps: Vec<crate::schedule::UserStep>,
    /// Windows (`window.rs`).
    wins: Slab<window::Window>,
}

/// How a world rank is reached: this process, or peer `peer` of transport `t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Loopback,
    Via { t: usize, peer: usize },
}

/// A transport and the world rank of each of its peers.
struct Attached {
    transport: Box<dyn Transport>,
    world_rank_of: Vec<usize>,
}

pub struct Engine {
    state: Mutex<State>,
    world: Mutex<World>,
    rank: usize,
    size: usize,
    appnum: i32,
    transports: Vec<Attached>,
    routes: Vec<Route>,
    /// The host's shared-memory segment (also `transports[0]`), where communicators on this
    /// host claim their boards (`nbc/board.rs`); `None` alone on the host or network-only.
    node: Option<Arc<shm::Node>>,
    /// How long a waiting thread may block in the first transport's `wait`: a transport
    /// cannot wake a waiter blocked in another one, so with several the block is short.
    block_for: Duration,
    /// Threads blocked in `Backoff::snooze`; completions wake them.
    sleepers: AtomicUsize,
    /// Ranks on this host outnumber its cores: waiting ranks yield at once instead of spinning.
    oversubscribed: bool,
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Attaches the host's shared-memory segment (`local_ranks` share this host).
fn attach_shm(world: &World) -> Result<shm::Node> {
    let local_size = world.local_ranks.len();
    // local_size² rings share the segment: shrink them as ranks per host grow (256 KiB each up
    // to 16 ranks, never below 16 KiB) unless FERROMPI_SHM_RING_BYTES says.
    let default_ring = ((64usize << 20) / (local_size * local_size)).clamp(16 << 10, 256 << 10);
    let cfg = match std::env::var_os("FERROMPI_SHM_RING_BYTES") {
        Some(_) => shm::Config::from_env().or_else(|e| fail(ErrorClass::Arg, format!("FERROMPI_SHM_RING_BYTES: {e}")))?,
        None => shm::Config { ring_bytes: default_ring },
    };
    // One segment per job and host: test hosts in network namespaces share /dev/shm, so the
    // host's lowest world rank is part of the name (and a nonce of its: `World::shm_key`).
    let key = &world.shm_key;
    shm::Node::attach(key, world.local_rank(), local_size, &cfg).or_else(|e| fail(ErrorClass::Other, format!("shared memory: {e}")))
}

/// `FERROMPI_NET_ONLY=1`: every peer, on this host too, is reached through libfabric (tests
/// use it to run the whole suite over the network transport on one machine).
fn net_only() -> bool {
    std::env::var("FERROMPI_NET_ONLY").is_ok_and(|v| v == "1")
}

/// Opens this process's libfabric endpoint and exchanges addresses with every rank.
fn open_fabric(world: &mut World) -> Result<transport_efa::Endpoint> {
    let cfg = transport_efa::Config::from_env();
    let endpoint = transport_efa::Endpoint::open(&cfg).or_else(|e| fail(ErrorClass::Other, format!("libfabric: {e}")))?;
    let names = world.allgather("ofi", &hex(&endpoint.name()))?;
    let mut peers = Vec::with_capacity(names.len());
    for (r, name) in names.iter().enumerate() {
        match unhex(name) {
            Some(bytes) => peers.push(Some(bytes)),
            None => return fail(ErrorClass::Other, format!("libfabric: rank {r} published a malformed address")),
        }
    }
    endpoint.set_self_id(world.rank).or_else(|e| fail(ErrorClass::Other, format!("libfabric: {e}")))?;
    endpoint.set_peers(&peers).or_else(|e| fail(ErrorClass::Other, format!("libfabric: {e}")))?;
    Ok(endpoint)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

impl Engine {
    /// Bootstraps the job and attaches the transports (`MPI_Init`).
    pub fn bootstrap() -> Result<Engine> {
        let mut world = World::bootstrap()?;
        let (rank, size) = (world.rank, world.size);
        let local_size = world.local_ranks.len();
        let mut transports = Vec::new();
        let mut routes: Vec<Option<Route>> = vec![None; size];
        routes[rank] = Some(Route::Loopback);
        let mut node = None;
        if local_size > 1 && !net_only() {
            let t = transports.len();
            for (local, &r) in world.local_ranks.iter().enumerate() {
                if r != rank {
                    routes[r] = Some(Route::Via { t, peer: local });
                }
            }
            let shm = Arc::new(attach_shm(&world)?);
            transports.push(Attached { transport: Box::new(Arc::clone(&shm)), world_rank_of: world.local_ranks.clone() });
            node = Some(shm);
        }
        // Ranks on other hosts, and with FERROMPI_NET_ONLY=1 every other rank, are reached
        // through libfabric. Every rank takes part in the address exchange, or none does:
        // whether some peer is remote, and the variable, are the same everywhere.
        if net_only() || routes.iter().any(Option::is_none) {
            let t = transports.len();
            let endpoint = open_fabric(&mut world)?;
            for (r, route) in routes.iter_mut().enumerate() {
                if r != rank && (route.is_none() || net_only()) {
                    *route = Some(Route::Via { t, peer: r });
                }
            }
            transports.push(Attached { transport: Box::new(endpoint), world_rank_of: (0..size).collect() });
        }
        let routes: Vec<Route> = routes.into_iter().map(|r| r.unwrap_or(Route::Loopback)).collect();
        // Measured on a 2-core VM with benches/osu_latency.c and osu_bw.c (docs/benchmarks.md):
        // from 32 KiB on, two single copies at once beat copying through the ring twice.
        let eager_limit = env_usize("FERROMPI_EAGER_LIMIT", 32 << 10);
        let config = Config {
            link: Link { eager_limit, chunk: 64 << 10, bulk: Bulk::Cma },
            split_min: env_usize("FERROMPI_SPLIT_MIN", 32 << 10),
        };
        let mut proto = Protocol::new(size, config);
        for (r, route) in routes.iter().enumerate() {
            if let Route::Via { t, peer } = *route {
                let transport = &transports[t].transport;
                let room = transport.max_record().saturating_sub(crate::packet::CONTROL_LEN);
                let link = Link {
                    eager_limit: eager_limit.min(room),
                    chunk: config.link.chunk.min(room),
                    bulk: transport.bulk(peer),
                };
                proto.set_link(r, link);
            }
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // Ranks that fit the host's cores get one each from the start (shm::bind_local_rank says
        // why); a rank that cannot be bound runs unbound, as it would have anyway.
        if local_size <= cores {
            let _ = shm::bind_local_rank(world.local_rank(), local_size);
        }
        let tuning = Tuning::from_env()?;
        let host_of = if local_size == size { Vec::new() } else { world.host_of.clone() };
        Ok(Engine {
            state: Mutex::new(State {
                proto,
                comms: State::new_comms(rank, size),
                ctx: ContextState::default(),
                requests: Slab::default(),
                bsend: BsendBuffer::default(),
                comm_bsend: HashMap::new(),
                loopback: VecDeque::new(),
                rdma_reads: Slab::default(),
                colls: Vec::new(),
                user_steps: Vec::new(),
                coll_cache: Default::default(),
                tuning,
                host_of,
                idups: Vec::new(),
                wins: Slab::default(),
            }),
            rank,
            size,
            appnum: world.appnum,
            world: Mutex::new(world),
            block_for: if transports.len() > 1 { Duration::from_millis(1) } else { Duration::from_millis(10) },
            transports,
            routes,
            node,
            sleepers: AtomicUsize::new(0),
            oversubscribed: local_size > cores,
        })
    }

    pub fn rank(&self) -> usize {
        self.rank
    }

    pub fn size(&self) -> usize {
        self.size
    }

    pub fn appnum(&self) -> i32 {
        self.appnum
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock means a thread panicked inside the engine; with panic=abort in the
        // library that cannot happen, and in tests the state is still the best we have.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    // ---- progress ------------------------------------------------------------------------

    /// One round of progress: what the transports received, then everything it moves on.
    fn progress(&self, st: &mut State) -> Result<()> {
        self.poll(st)?;
        self.advance(st)
    }

    /// Hands what every transport received to the protocol.
    fn poll(&self, st: &mut State) -> Result<()> {
        let State { proto, loopback, rdma_reads, .. } = st;
        let mut bad = None;
        for attached in &self.transports {
            let world_rank_of = &attached.world_rank_of;
            attached.transport.poll(&mut |peer, rec| {
                if let Err(e) = proto.on_packet(world_rank_of[peer], rec) {
                    bad = Some(e);
                }
            });
            attached.transport.finished_reads(&mut |token, ok| {
                if let Some(read) = rdma_reads.remove(Id::from_token(token)) {
                    proto.read_done(&read, ok);
                }
            });
            // A failed completion (a peer gone, a network error) fails the MPI call that is
            // making progress, through its error handler, rather than leaving it to wait.
            if let Some(e) = attached.transport.take_error() {
                bad = Some(MpiError::new(ErrorClass::Other, format!("{}: {e}", attached.transport.name())));
            }
        }
        while let Some(rec) = loopback.pop_front() {
            proto.on_packet(self.rank, &rec)?;
        }
        match bad {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Moves on what is queued without looking for new arrivals: packets out, single-copy
    /// transfers, collective schedules, windows. A call that only starts an operation
    /// (`irecv`, a send that could not leave at once) needs this and not a poll of every
    /// transport, which costs more than the rest of the call.
    fn advance(&self, st: &mut State) -> Result<()> {
        let State { proto, loopback, rdma_reads, .. } = st;
        // Control packets first: a `Write` must reach the sender before we spend a long time
        // on our own half of the copy, or the two halves run one after the other.
        self.flush_all(proto, loopback);
        let copied = proto.has_copies();
        let (reads, writes) = if copied { (proto.take_reads(), proto.take_writes()) } else { Default::default() };
        for read in reads {
            if let (Some(key), Route::Via { t, peer }) = (read.key, self.routes[read.peer]) {
                // Started now, reported later by `finished_reads`.
                let (addr, dst) = (read.addr as u64, read.dst);
                let token = rdma_reads.insert(read).token();
                if self.transports[t].transport.start_read(token, peer, addr, key, dst).is_err() {
                    if let Some(read) = rdma_reads.remove(Id::from_token(token)) {
                        proto.read_done(&read, false);
                    }
                }
                continue;
            }
            let ok = match self.routes[read.peer] {
                Route::Loopback => {
                    // SAFETY: the sender is this process and its request keeps `addr..+len`
                    // alive until our `Fin`; `dst` is a distinct receive buffer (MPI forbids
                    // overlapping send and receive buffers).
                    unsafe { std::ptr::copy(read.addr as *const u8, read.dst.bytes_mut().as_mut_ptr(), read.dst.len()) };
                    true
                }
                Route::Via { t, peer } => self.transports[t].transport.read_remote(peer, read.addr, read.dst.bytes_mut()).is_ok(),
            };
            proto.read_done(&read, ok);
        }
        for write in writes {
            let ok = match self.routes[write.peer] {
                Route::Loopback => {
                    // SAFETY: the receiver is this process; its request keeps `addr..+len`
                    // alive until it has all bytes, which includes these.
                    unsafe { std::ptr::copy(write.src.bytes().as_ptr(), write.addr as *mut u8, write.src.len()) };
                    true
                }
                Route::Via { t, peer } => self.transports[t].transport.write_remote(peer, write.addr, write.src.bytes()).is_ok(),
            };
            proto.write_done(&write, ok);
        }
        if copied {
            // The copies queued `Written` and `Fin` packets.
            self.flush_all(proto, loopback);
        }
        // Self-sends complete in the same round: deliver what was just looped back.
        while let Some(rec) = loopback.pop_front() {
            proto.on_packet(self.rank, &rec)?;
        }
        for (peer, handle) in proto.take_concealed() {
            if let Route::Via { t, .. } = self.routes[peer] {
                self.transports[t].transport.conceal(handle);
            }
        }
        if proto.take_completions() > 0 && self.sleepers.load(Ordering::Relaxed) > 0 {
            if let Some(first) = self.transports.first() {
                first.transport.wake_self();
            }
        }
        if !st.colls.is_empty() {
            self.progress_colls(st);
        }
        if !st.idups.is_empty() {
            self.progress_idups(st);
        }
        if !st.wins.is_empty() {
            self.progress_windows(st)?;
        }
        Ok(())
    }

    /// Hands every queued record to its transport, as far as each takes them, after
    /// registering the send buffers their `Rts` packets announce.
    fn flush_all(&self, proto: &mut Protocol, loopback: &mut VecDeque<Vec<u8>>) {
        for e in proto.take_exposures() {
            let exposed = match self.routes[e.peer] {
                Route::Via { t, .. } => self.transports[t].transport.expose(e.buf).ok(),
                Route::Loopback => None,
            };
            proto.exposed(&e, exposed);
        }
        for peer in 0..self.routes.len() {
            if proto.has_outgoing_to(peer) {
                proto.flush(peer, &mut |h, p| self.transmit(loopback, peer, h, p));
            }
        }
    }

    /// Hands one record to the transport that reaches `peer`; false when it has no room now.
    fn transmit(&self, loopback: &mut VecDeque<Vec<u8>>, peer: usize, header: &[u8], payload: &[u8]) -> bool {
        match self.routes[peer] {
            Route::Loopback => {
                loopback.push_back([header, payload].concat());
                true
            }
            Route::Via { t, peer } => self.transports[t].transport.try_send(peer, &[header, payload]),
        }
    }

    /// A standard send's fast path (`Protocol::send_now`): true when the message left at once.
    fn send_now(&self, st: &mut State, peer: usize, env: Envelope, buf: UserBuf) -> bool {
        let State { proto, loopback, .. } = st;
        proto.send_now(peer, env, buf.bytes(), &mut |h, p| self.transmit(loopback, peer, h, p))
    }

    /// Makes progress until the protocol request `r` completes; releases it.
    fn wait_protocol(&self, r: ReqId) -> Result<Status> {
        self.wait_until(|st| st.proto.take(r))
    }

    /// Waits for the receive of a collective message (the `CollPeer`s of `comm.rs` and here):
    /// one of another length is an error of the collective.
    fn wait_coll_recv(&self, r: ReqId) -> Result<()> {
        let status = self.wait_protocol(r)?;
        match status.error {
            Some(class) => Err(MpiError::new(class, "collective message of unexpected length")),
            None => Ok(()),
        }
    }

    /// Runs `f` after one round of progress (and, when that round stopped collectives at user
    /// reductions, after running those outside the lock and another round).
    pub fn with_state<T>(&self, f: impl FnOnce(&mut State) -> Result<T>) -> Result<T> {
        let mut st = self.lock();
        self.progress(&mut st)?;
        if !st.user_steps.is_empty() {
            let steps = std::mem::take(&mut st.user_steps);
            drop(st);
            self.run_user_steps(steps);
            st = self.lock();
            self.progress(&mut st)?;
        }
        f(&mut st)
    }

    /// Makes progress until `f` returns `Some`. Collective user reductions that progress
    /// stopped at run between rounds, outside the lock.
    pub fn wait_until<T>(&self, mut f: impl FnMut(&mut State) -> Result<Option<T>>) -> Result<T> {
        let mut backoff = Backoff::new(self.oversubscribed);
        loop {
            let steps = {
                let mut st = self.lock();
                self.progress(&mut st)?;
                if let Some(v) = f(&mut st)? {
                    return Ok(v);
                }
                std::mem::take(&mut st.user_steps)
            };
            if steps.is_empty() {
                backoff.snooze(self);
            } else {
                self.run_user_steps(steps);
            }
        }
    }

    /// Runs user reductions that collective requests handed out, without the engine's lock,
    /// and wakes the threads blocked waiting: the collectives can go on now, which no
    /// transport event announces.
    fn run_user_steps(&self, steps: Vec<crate::schedule::UserStep>) {
        for step in steps {
            step.run();
        }
        if self.sleepers.load(Ordering::Relaxed) > 0 {
            if let Some(first) = self.transports.first() {
                first.transport.wake_self();
            }
        }
    }

    // ---- communicators and ranks ---------------------------------------------------------

    pub fn comm_rank(&self, comm: CommId) -> Result<usize> {
        self.with_comm(comm, |c| Ok(c.rank as usize))
    }

    pub fn comm_size(&self, comm: CommId) -> Result<usize> {
        self.with_comm(comm, |c| Ok(c.members.len()))
    }

    fn with_comm<T>(&self, comm: CommId, f: impl FnOnce(&Comm) -> Result<T>) -> Result<T> {
        let st = self.lock();
        f(st.comm(comm)?)
    }

    // ---- point-to-point ------------------------------------------------------------------

    /// Starts a send of `data` (`count * type size` bytes of user memory, or an owned copy).
    pub fn isend(&self, comm: CommId, dest: i32, tag: i32, buf: Buf, kind: SendKind) -> Result<Request> {
        let mut st = self.lock();
        if matches!(kind, SendKind::Standard | SendKind::Ready) {
            if let (Some((peer, env)), Some(b)) = (st.resolve_send(comm, dest, tag)?, buf.contiguous()) {
                if self.send_now(&mut st, peer, env, b) {
                    let r = st.proto.completed(Status::default());
                    return Ok(Request(st.requests.insert(Req::Active { r, comm: Some(comm) })));
                }
            }
        }
        let r = st.start_send(comm, dest, tag, buf, kind)?;
        let req = st.requests.insert(Req::Active { r, comm: Some(comm) });
        self.advance(&mut st)?;
        Ok(Request(req))
    }

    /// Starts a receive into `buf`.
    pub fn irecv(&self, comm: CommId, src: i32, tag: i32, buf: Buf) -> Result<Request> {
        let mut st = self.lock();
        let r = st.start_recv(comm, src, tag, buf)?;
        let req = st.requests.insert(Req::Active { r, comm: Some(comm) });
        self.advance(&mut st)?;
        Ok(Request(req))
    }

    /// `MPI_Isendrecv` (`send` the user's buffer) and `MPI_Isendrecv_replace` (`send` an
    /// owned copy of the buffer the receive overwrites): one request for both.
    pub fn isendrecv(&self, comm: CommId, send: SendData, dest: i32, sendtag: i32, recv: Buf, src: i32, recvtag: i32) -> Result<Request> {
        let mut st = self.lock();
        // Checks both ends before starting either, so that a bad argument leaves nothing behind.
        st.resolve_send(comm, dest, sendtag)?;
        st.selector(comm, src, recvtag)?;
        let recv = st.start_recv(comm, src, recvtag, recv)?;
        let send = match st.resolve_send(comm, dest, sendtag)? {
            None => st.proto.completed(proc_null_status()),
            Some((peer, env)) => st.proto.isend(peer, env, send, SendMode::Standard),
        };
        let req = st.requests.insert(Req::Pair { send, recv, comm });
        self.advance(&mut st)?;
        Ok(Request(req))
    }

    /// Blocking send.
    pub fn send(&self, comm: CommId, dest: i32, tag: i32, buf: Buf, kind: SendKind) -> Result<()> {
        if matches!(kind, SendKind::Standard | SendKind::Ready) {
            let st = self.lock();
            if let Some((peer, env)) = st.resolve_send(comm, dest, tag)? {
                return self.send_to(st, peer, env, buf);
            }
        }
        let r = {
            let mut st = self.lock();
            let r = st.start_send(comm, dest, tag, buf, kind)?;
            self.progress(&mut st)?;
            r
        };
        self.wait_protocol(r).map(|_| ())
    }

    /// A blocking standard send to process `peer`. A small one goes straight into the
    /// transport when nothing is queued ahead of it (`Protocol::send_now`), with no request;
    /// anything else waits on a protocol request.
    fn send_to(&self, mut st: MutexGuard<'_, State>, peer: usize, env: Envelope, buf: Buf) -> Result<()> {
        if let Some(b) = buf.contiguous() {
            if self.send_now(&mut st, peer, env, b) {
                return Ok(());
            }
        }
        let r = st.proto.isend(peer, env, SendData::User(buf), SendMode::Standard);
        self.progress(&mut st)?;
        drop(st);
        self.wait_protocol(r).map(|_| ())
    }

    /// Blocking receive.
    pub fn recv(&self, comm: CommId, src: i32, tag: i32, buf: Buf) -> Result<Status> {
        let r = {
            let mut st = self.lock();
            let r = st.start_recv(comm, src, tag, buf)?;
            self.progress(&mut st)?;
            r
        };
        self.wait_protocol(r)
    }

    /// Waits for one request; returns its status (the request is released unless persistent).
    /// An error in the status (truncation) is returned as the status's `error`, not as `Err`.
    pub fn wait(&self, req: Request) -> Result<Status> {
        self.wait_until(|st| st.test(req))
    }

    /// `MPI_Iprobe`.
    pub fn iprobe(&self, comm: CommId, src: i32, tag: i32) -> Result<Option<Status>> {
        self.with_state(|st| st.iprobe(comm, src, tag))
    }

    /// `MPI_Probe`.
    pub fn probe(&self, comm: CommId, src: i32, tag: i32) -> Result<Status> {
        self.wait_until(|st| st.iprobe(comm, src, tag))
    }

    /// `MPI_Improbe`.
    pub fn improbe(&self, comm: CommId, src: i32, tag: i32) -> Result<Option<(Message, Status)>> {
        self.with_state(|st| st.improbe(comm, src, tag))
    }

    /// `MPI_Mprobe`.
    pub fn mprobe(&self, comm: CommId, src: i32, tag: i32) -> Result<(Message, Status)> {
        self.wait_until(|st| st.improbe(comm, src, tag))
    }

    /// `MPI_Imrecv`.
    pub fn imrecv(&self, msg: Message, buf: Buf) -> Result<Request> {
        let mut st = self.lock();
        let r = match msg {
            Message::NoProc => st.proto.completed(proc_null_status()),
            Message::Real(m) => st.proto.imrecv(m, buf)?,
        };
        let req = st.requests.insert(Req::Active { r, comm: None });
        self.progress(&mut st)?;
        Ok(Request(req))
    }

    /// A persistent send (`MPI_Send_init` and its modes); inactive until `start`.
    pub fn send_init(&self, comm: CommId, dest: i32, tag: i32, buf: Buf, kind: SendKind) -> Result<Request> {
        let mut st = self.lock();
        st.check_send_args(comm, dest, tag)?;
        let spec = Persistent::Send { comm, dest, tag, buf, kind };
        Ok(Request(st.requests.insert(Req::Persistent { spec, active: None })))
    }

    /// A persistent receive (`MPI_Recv_init`).
    pub fn recv_init(&self, comm: CommId, src: i32, tag: i32, buf: Buf) -> Result<Request> {
        let mut st = self.lock();
        st.selector(comm, src, tag)?;
        let spec = Persistent::Recv { comm, src, tag, buf };
        Ok(Request(st.requests.insert(Req::Persistent { spec, active: None })))
    }

    /// `MPI_Start`.
    pub fn start(&self, req: Request) -> Result<()> {
        let mut st = self.lock();
        st.start(req)?;
        self.progress(&mut st)
    }

    /// `MPI_Request_free`.
    pub fn free(&self, req: Request) -> Result<()> {
        self.lock().free(req)
    }

    /// `MPI_Cancel`.
    pub fn cancel(&self, req: Request) -> Result<()> {
        let mut st = self.lock();
        let r = match st.requests.get(req.0) {
            Some(Req::Active { r, .. }) | Some(Req::Persistent { active: Some(r), .. }) => *r,
            Some(Req::Persistent { active: None, .. }) => return fail(ErrorClass::Request, "cancel of an inactive persistent request"),
            Some(Req::Coll(_)) => return fail(ErrorClass::Request, "a collective request cannot be cancelled"),
            // The standard lets an RMA request's cancel do nothing: it completes as it would.
            Some(Req::Rma { .. }) => return Ok(()),
            // The receive is what can be cancelled; the send completes as it would.
            Some(Req::Pair { recv, .. }) => *recv,
            Some(Req::Flush(_)) => return fail(ErrorClass::Request, "a buffer flush cannot be cancelled"),
            None => return fail(ErrorClass::Request, "invalid request"),
        };
        st.proto.cancel(r)
    }

    /// `MPI_Buffer_attach`: `size` bytes at `addr` available to buffered sends.
    /// (`MPI_Comm_attach_buffer`: the communicator's; `MPI_BUFFER_AUTOMATIC` is a size of
    /// `usize::MAX`, the ABI's address kept to hand back.)
    pub fn buffer_attach(&self, scope: BufferScope, size: usize, addr: usize) -> Result<()> {
        let mut st = self.lock();
        if let BufferScope::Comm(c) = scope {
            st.comm(c)?;
        }
        let b = st.bsend_mut(scope);
        if b.attached.is_some() {
            return fail(ErrorClass::Buffer, "a buffer is already attached");
        }
        b.attached = Some((size, addr));
        Ok(())
    }

    /// `MPI_Buffer_detach`: waits until every buffered send has left the buffer, then returns
    /// its size and address.
    pub fn buffer_detach(&self, scope: BufferScope) -> Result<(usize, usize)> {
        self.wait_until(|st| {
            let Some(attached) = st.bsend_mut(scope).attached else {
                return fail(ErrorClass::Buffer, "no buffer is attached");
            };
            if st.bsend_flushed(scope) {
                st.bsend_mut(scope).attached = None;
                if let BufferScope::Comm(c) = scope {
                    st.comm_bsend.remove(&c);
                }
                Ok(Some(attached))
            } else {
                Ok(None)
            }
        })
    }

    /// `MPI_Buffer_flush` / `MPI_Comm_flush_buffer`: waits until every buffered send has
    /// left the buffer, which stays attached (no buffer: nothing to wait for).
    pub fn buffer_flush(&self, scope: BufferScope) -> Result<()> {
        self.wait_until(|st| Ok(st.bsend_flushed(scope).then_some(())))
    }

    /// `MPI_Buffer_iflush` / `MPI_Comm_iflush_buffer`: a request that completes as
    /// `buffer_flush` returns.
    pub fn buffer_iflush(&self, scope: BufferScope) -> Result<Request> {
        let mut st = self.lock();
        if let BufferScope::Comm(c) = scope {
            st.comm(c)?;
        }
        let req = st.requests.insert(Req::Flush(scope));
        self.progress(&mut st)?;
        Ok(Request(req))
    }

    // ---- collectives ---------------------------------------------------------------------

    // Barrier, Bcast, Reduce, Allreduce, their nonblocking and persistent forms and the
    // neighbour exchanges: `nbc.rs`.

    /// The collective context of `comm`'s (local) group.
    fn coll_peer(&self, comm: CommId) -> Result<EnginePeer<'_>> {
        let (rank, size) = self.with_comm(comm, |c| Ok((c.rank as usize, c.members.len())))?;
        Ok(EnginePeer { engine: self, comm, rank, size })
    }

    // ---- life cycle ----------------------------------------------------------------------

    /// `MPI_Finalize`: completes what is still in flight (queued records, and sends the
    /// application freed or buffered), synchronises with every rank (so that no rank leaves
    /// while a peer may still read its memory), and tells the launcher.
    pub fn finalize(&self) -> Result<()> {
        self.wait_until(|st| Ok(st.proto.is_quiet().then_some(())))?;
        self.barrier(CommId::WORLD)?;
        // A peer may still be waiting for our last barrier message, which a network transport
        // delivers only while we make progress. So: goodbyes to every such peer, progress until
        // theirs are all in (each has finished its barrier), our sends drained, and then a
        // fence through the launcher, so that nobody leaves before everyone has every goodbye.
        let far: Vec<usize> = (0..self.size)
            .filter(|&r| matches!(self.routes[r], Route::Via { t, .. } if self.transports[t].transport.delivers_later()))
            .collect();
        if !far.is_empty() {
            {
                let mut st = self.lock();
                for &peer in &far {
                    st.proto.send_bye(peer);
                }
            }
            self.wait_until(|st| Ok((st.proto.byes() >= far.len() && !st.proto.has_outgoing()).then_some(())))?;
            for attached in &self.transports {
                attached.transport.drain(Duration::from_secs(5));
            }
        }
        let mut world = self.world.lock().unwrap_or_else(|p| p.into_inner());
        world.fence()?;
        if let Some(pmi) = world.pmi.as_mut() {
            pmi.finalize().or_else(|e| fail(ErrorClass::Other, format!("PMI finalize: {e}")))?;
        }
        Ok(())
    }

    /// `MPI_Abort`: asks the launcher to end the job with `code`, then exits.
    pub fn abort(&self, code: i32, message: &str) -> ! {
        // Our mpirun prints the message it receives; other launchers (hydra, Slurm) do not, so
        // then we print it, before the abort request: Slurm kills the step as soon as it gets it.
        let mut printed = false;
        let mut say = || {
            if !printed {
                eprintln!("{message}");
                printed = true;
            }
        };
        let told_launcher = match self.world.try_lock() {
            Ok(mut world) => match world.pmi.as_mut() {
                Some(pmi) => {
                    if !pmi.launcher_prints_abort() {
                        say();
                    }
                    pmi.abort(code, message).is_ok()
                }
                None => false,
            },
            Err(_) => false,
        };
        if !told_launcher {
            say();
        }
        std::process::exit(code)
    }
}

fn check_root(root: i32, size: usize) -> Result<usize> {
    if root < 0 || root as usize >= size {
        return fail(ErrorClass::Root, format!("root {root} is not a rank of a communicator of size {size}"));
    }
    Ok(root as usize)
}

fn proc_null_status() -> Status {
    Status { source: PROC_NULL, tag: ANY_TAG, ..Status::default() }
}

impl State {
    fn comm(&self, comm: CommId) -> Result<&Comm> {
        match self.comms.get(Id::from_token(comm.0)) {
            Some(c) if c.is_pending() => fail(ErrorClass::Comm, "the communicator of an MPI_Comm_idup whose request has not completed"),
            Some(c) => Ok(c),
            None => fail(ErrorClass::Comm, "invalid communicator"),
        }
    }

    fn check_send_args(&self, comm: CommId, dest: i32, tag: i32) -> Result<()> {
        self.resolve_send(comm, dest, tag).map(|_| ())
    }

    /// Checks a send's arguments (one communicator lookup: this is on every send's path); the
    /// destination process and envelope, or `None` for `MPI_PROC_NULL`.
    fn resolve_send(&self, comm: CommId, dest: i32, tag: i32) -> Result<Option<(usize, Envelope)>> {
        let c = self.comm(comm)?;
        let peers = c.peers();
        let peer = match usize::try_from(dest).ok().and_then(|d| peers.get(d)) {
            Some(&peer) => Some(peer),
            None if dest == PROC_NULL => None,
            None => return fail(ErrorClass::Rank, format!("destination {dest} is not a rank of a communicator (or remote group) of size {}", peers.len())),
        };
        if !(0..=TAG_UB).contains(&tag) {
            return fail(ErrorClass::Tag, format!("tag {tag} is outside 0..={TAG_UB}"));
        }
        Ok(peer.map(|p| (p, Envelope { ctx: c.ctx, src: c.rank, tag })))
    }

    fn start_send(&mut self, comm: CommId, dest: i32, tag: i32, buf: Buf, kind: SendKind) -> Result<ReqId> {
        let Some((peer, env)) = self.resolve_send(comm, dest, tag)? else {
            return Ok(self.proto.completed(proc_null_status()));
        };
        Ok(match kind {
            SendKind::Standard | SendKind::Ready => self.proto.isend(peer, env, SendData::User(buf), SendMode::Standard),
            SendKind::Synchronous => self.proto.isend(peer, env, SendData::User(buf), SendMode::Synchronous),
            SendKind::Buffered => {
                // The data is copied now, so the user's request is complete at once; the copy
                // travels on a detached request whose bytes count against the attached buffer.
                // The communicator's buffer if it has one, else the process's (MPI-4.1 3.6).
                let scope = if self.comm_bsend.get(&comm).is_some_and(|b| b.attached.is_some()) {
                    BufferScope::Comm(comm)
                } else {
                    BufferScope::Process
                };
                self.reap_bsends(scope);
                let Some((cap, _)) = self.bsend_mut(scope).attached else {
                    return fail(ErrorClass::Buffer, "buffered send without an attached buffer");
                };
                let used: usize = self.bsend_mut(scope).pending.iter().map(|p| p.1).sum();
                let need = buf.len() + BSEND_OVERHEAD;
                if used.saturating_add(need) > cap {
                    return fail(ErrorClass::Buffer, format!("buffered send of {} bytes does not fit: {} of {cap} bytes in use", buf.len(), used));
                }
                let inner = self.proto.isend(peer, env, SendData::Owned(buf.to_vec()), SendMode::Standard);
                self.proto.detach(inner)?;
                self.bsend_mut(scope).pending.push((inner, need));
                self.proto.completed(Status::default())
            }
        })
    }

    fn bsend_mut(&mut self, scope: BufferScope) -> &mut BsendBuffer {
        match scope {
            BufferScope::Process => &mut self.bsend,
            BufferScope::Comm(c) => self.comm_bsend.entry(c).or_default(),
        }
    }

    fn reap_bsends(&mut self, scope: BufferScope) {
        let proto = &self.proto;
        let b = match scope {
            BufferScope::Process => &mut self.bsend,
            BufferScope::Comm(c) => match self.comm_bsend.get_mut(&c) {
                Some(b) => b,
                None => return,
            },
        };
        b.pending.retain(|(r, _)| proto.is_request(*r));
    }

    /// Whether no buffered send of that buffer is in flight.
    fn bsend_flushed(&mut self, scope: BufferScope) -> bool {
        self.reap_bsends(scope);
        match scope {
            BufferScope::Process => self.bsend.pending.is_empty(),
            BufferScope::Comm(c) => self.comm_bsend.get(&c).is_none_or(|b| b.pending.is_empty()),
        }
    }

    /// The selector for a receive or probe, or `None` for `MPI_PROC_NULL`.
    fn selector(&self, comm: CommId, src: i32, tag: i32) -> Result<Option<Selector>> {
        let c = self.comm(comm)?;
        if src == PROC_NULL {
            return Ok(None);
        }
        let n = c.peers().len();
        if src != ANY_SOURCE && (src < 0 || src as usize >= n) {
            return fail(ErrorClass::Rank, format!("source {src} is not a rank of a communicator (or remote group) of size {n}"));
        }
        if tag != ANY_TAG && !(0..=TAG_UB).contains(&tag) {
            return fail(ErrorClass::Tag, format!("tag {tag} is outside 0..={TAG_UB}"));
        }
        Ok(Some(Selector {
            ctx: c.ctx,
            src: (src != ANY_SOURCE).then_some(src as u32),
            tag: (tag != ANY_TAG).then_some(tag),
        }))
    }

    fn start_recv(&mut self, comm: CommId, src: i32, tag: i32, buf: Buf) -> Result<ReqId> {
        Ok(match self.selector(comm, src, tag)? {
            None => self.proto.completed(proc_null_status()),
            Some(sel) => self.proto.irecv(sel, buf),
        })
    }

    fn iprobe(&mut self, comm: CommId, src: i32, tag: i32) -> Result<Option<Status>> {
        Ok(match self.selector(comm, src, tag)? {
            None => Some(proc_null_status()),
            Some(sel) => self.proto.iprobe(&sel),
        })
    }

    fn improbe(&mut self, comm: CommId, src: i32, tag: i32) -> Result<Option<(Message, Status)>> {
        Ok(match self.selector(comm, src, tag)? {
            None => Some((Message::NoProc, proc_null_status())),
            Some(sel) => self.proto.improbe(&sel).map(|(m, s)| (Message::Real(m), s)),
        })
    }

    /// `MPI_Test` on one request: `Some(status)` once complete. A completed non-persistent
    /// request is released; a persistent one becomes inactive. An inactive persistent request
    /// tests complete with an empty status, as the standard asks.
    pub fn test(&mut self, req: Request) -> Result<Option<Status>> {
        match self.requests.get_mut(req.0) {
            None => fail(ErrorClass::Request, "invalid or already completed request"),
            Some(Req::Active { r, .. }) => {
                let status = self.proto.take(*r)?;
                if status.is_some() {
                    self.requests.remove(req.0);
                }
                Ok(status)
            }
            Some(Req::Persistent { active: None, .. }) => Ok(Some(empty_status())),
            Some(Req::Coll(_)) => self.test_coll(req),
            Some(&mut Req::Rma { win, op }) => {
                let status = self.rma_test(win, op);
                if status.is_some() {
                    self.requests.remove(req.0);
                }
                Ok(status)
            }
            Some(&mut Req::Flush(scope)) => {
                if !self.bsend_flushed(scope) {
                    return Ok(None);
                }
                self.requests.remove(req.0);
                Ok(Some(Status::default()))
            }
            Some(&mut Req::Pair { send, recv, .. }) => {
                let Some(status) = self.pair_peek(send, recv)? else { return Ok(None) };
                self.proto.take(send)?;
                self.proto.take(recv)?;
                self.requests.remove(req.0);
                Ok(Some(status))
            }
            Some(Req::Persistent { active: Some(r), .. }) => {
                let r = *r;
                let status = self.proto.take(r)?;
                if status.is_some() {
                    if let Some(Req::Persistent { active, .. }) = self.requests.get_mut(req.0) {
                        *active = None;
                    }
                }
                Ok(status)
            }
        }
    }

    /// The communicator a request belongs to, whose error handler hears about its errors
    /// (`None` when it names none, or is not a live request).
    pub fn request_comm(&self, req: Request) -> Option<CommId> {
        match self.requests.get(req.0)? {
            Req::Active { comm, .. } => *comm,
            Req::Persistent { spec: Persistent::Send { comm, .. } | Persistent::Recv { comm, .. }, .. } => Some(*comm),
            Req::Coll(c) => Some(c.comm()),
            Req::Rma { .. } => None,
            Req::Pair { comm, .. } => Some(*comm),
            Req::Flush(BufferScope::Comm(c)) => Some(*c),
            Req::Flush(BufferScope::Process) => None,
        }
    }

    /// Whether the request is complete, without releasing it (`MPI_Request_get_status`).
    pub fn peek(&self, req: Request) -> Result<Option<Status>> {
        match self.requests.get(req.0) {
            None => fail(ErrorClass::Request, "invalid or already completed request"),
            Some(Req::Active { r, .. }) | Some(Req::Persistent { active: Some(r), .. }) => self.proto.peek(*r),
            Some(Req::Persistent { active: None, .. }) => Ok(Some(empty_status())),
            Some(Req::Coll(c)) => Ok(c.peek()),
            Some(&Req::Rma { win, op }) => Ok(self.rma_peek(win, op)),
            Some(&Req::Pair { send, recv, .. }) => self.pair_peek(send, recv),
            Some(&Req::Flush(scope)) => {
                let proto = &self.proto;
                let b = match scope {
                    BufferScope::Process => Some(&self.bsend),
                    BufferScope::Comm(c) => self.comm_bsend.get(&c),
                };
                let done = b.is_none_or(|b| b.pending.iter().all(|(r, _)| !proto.is_request(*r)));
                Ok(done.then(Status::default))
            }
        }
    }

    /// The status of a send-receive pair once both are complete: the receive's, with the
    /// send's error if only the send failed.
    fn pair_peek(&self, send: ReqId, recv: ReqId) -> Result<Option<Status>> {
        let (Some(s), Some(mut r)) = (self.proto.peek(send)?, self.proto.peek(recv)?) else {
            return Ok(None);
        };
        if r.error.is_none() {
            r.error = s.error;
        }
        Ok(Some(r))
    }

    /// Whether `req` is a persistent request that is not started (`MPI_Waitany` skips those).
    pub fn is_inactive(&self, req: Request) -> bool {
        match self.requests.get(req.0) {
            Some(Req::Persistent { active: None, .. }) => true,
            Some(Req::Coll(c)) => c.is_persistent() && !c.is_active(),
            _ => false,
        }
    }

    pub fn is_persistent(&self, req: Request) -> bool {
        match self.requests.get(req.0) {
            Some(Req::Persistent { .. }) => true,
            Some(Req::Coll(c)) => c.is_persistent(),
            _ => false,
        }
    }

    fn start(&mut self, req: Request) -> Result<()> {
        let spec = match self.requests.get(req.0) {
            Some(Req::Persistent { spec, active: None }) => spec.clone(),
            Some(Req::Persistent { active: Some(_), .. }) => return fail(ErrorClass::Request, "persistent request is already active"),
            Some(Req::Coll(_)) => return self.start_coll(req),
            _ => return fail(ErrorClass::Request, "MPI_Start needs a persistent request"),
        };
        let r = match spec {
            Persistent::Send { comm, dest, tag, buf, kind } => self.start_send(comm, dest, tag, buf, kind)?,
            Persistent::Recv { comm, src, tag, buf } => self.start_recv(comm, src, tag, buf)?,
        };
        if let Some(Req::Persistent { active, .. }) = self.requests.get_mut(req.0) {
            *active = Some(r);
        }
        Ok(())
    }

    fn free(&mut self, req: Request) -> Result<()> {
        if let Some(Req::Coll(c)) = self.requests.get(req.0) {
            if !c.may_free() {
                return fail(ErrorClass::Request, "an active collective request cannot be freed");
            }
        }
        match self.requests.remove(req.0) {
            None => fail(ErrorClass::Request, "invalid or already freed request"),
            Some(Req::Active { r, .. }) | Some(Req::Persistent { active: Some(r), .. }) => self.proto.detach(r),
            Some(Req::Persistent { active: None, .. }) | Some(Req::Coll(_)) | Some(Req::Rma { .. }) => Ok(()),
            Some(Req::Pair { send, recv, .. }) => {
                self.proto.detach(send)?;
                self.proto.detach(recv)
            }
            Some(Req::Flush(_)) => Ok(()),
        }
    }
}

/// The status of `MPI_REQUEST_NULL` and of inactive persistent requests: source
/// `MPI_ANY_SOURCE`, tag `MPI_ANY_TAG`, nothing received.
pub fn empty_status() -> Status {
    Status { source: ANY_SOURCE, tag: ANY_TAG, ..Status::default() }
}

/// A communicator's collective context as `collective` algorithms see it: for an
/// intercommunicator, its local group's (`intercomm.rs`).
struct EnginePeer<'a> {
    engine: &'a Engine,
    comm: CommId,
    rank: usize,
    size: usize,
}

impl EnginePeer<'_> {
    /// Starts the receive of a collective message.
    fn post_recv(&self, src: usize, tag: i32, buf: &mut [u8]) -> Result<ReqId> {
        let mut st = self.engine.lock();
        let c = st.comm(self.comm)?;
        let sel = Selector { ctx: c.ctx + 1, src: Some(src as u32), tag: Some(tag) };
        Ok(st.proto.irecv(sel, UserBuf::from_slice(buf).into()))
    }

}

impl CollPeer for EnginePeer<'_> {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn send(&mut self, dest: usize, tag: i32, data: &[u8]) -> Result<()> {
        let st = self.engine.lock();
        let c = st.comm(self.comm)?;
        let (peer, env) = (c.members[dest], Envelope { ctx: c.ctx + 1, src: c.rank, tag });
        // SAFETY: `send_to` returns only once the send is complete, within `data`'s borrow.
        let buf = unsafe { UserBuf::new(data.as_ptr() as *mut u8, data.len()) };
        self.engine.send_to(st, peer, env, buf.into())
    }
    fn recv(&mut self, src: usize, tag: i32, buf: &mut [u8]) -> Result<()> {
        let r = self.post_recv(src, tag, buf)?;
        self.engine.wait_coll_recv(r)
    }
    fn sendrecv(&mut self, dest: usize, stag: i32, data: &[u8], src: usize, rtag: i32, buf: &mut [u8]) -> Result<()> {
        let r = self.post_recv(src, rtag, buf)?;
        self.send(dest, stag, data)?;
        self.engine.wait_coll_recv(r)
    }
}

/// Waiting without starving other ranks.
///
/// With a core to itself, a waiting rank polls: back to back at first, with one pause
/// instruction between polls (a reply often comes within a microsecond, and a longer spin
/// would only notice it later), then yielding, and only after `POLL_BEFORE_BLOCK` without
/// progress does it block on the doorbell that senders ring. Blocking early is costly: waking a sleeping vCPU
/// takes tens of microseconds on a virtual machine, longer than a 64 KiB copy.
///
/// When ranks outnumber cores, polling steals the core from the rank that has work, so a
/// waiting rank yields from the start and blocks soon after.
struct Backoff {
    step: u32,
    oversubscribed: bool,
    started: Option<Instant>,
}

const SPIN_STEPS: u32 = 2000;
const YIELDS_WHEN_OVERSUBSCRIBED: u32 = 16;
const POLL_BEFORE_BLOCK: Duration = Duration::from_micros(500);

impl Backoff {
    fn new(oversubscribed: bool) -> Backoff {
        Backoff { step: 0, oversubscribed, started: None }
    }

    fn snooze(&mut self, engine: &Engine) {
        let Some(first) = engine.transports.first() else {
            // No other process on this host: nothing to block on.
            std::thread::yield_now();
            return;
        };
        // Returns when a record arrives, when a ring we could not send into has room again,
        // or when another thread of this process completes a request.
        self.snooze_with(engine, || first.transport.wait(engine.block_for));
    }

    /// Spins, yields or, once the wait has been long, runs `block`, a transport's wait.
    fn snooze_with(&mut self, engine: &Engine, block: impl FnOnce()) {
        self.step = self.step.saturating_add(1);
        let block_now = if self.oversubscribed {
            self.step > YIELDS_WHEN_OVERSUBSCRIBED
        } else if self.step <= SPIN_STEPS {
            std::hint::spin_loop();
            return;
        } else {
            self.started.get_or_insert_with(Instant::now).elapsed() > POLL_BEFORE_BLOCK
        };
        if !block_now {
            std::thread::yield_now();
            return;
        }
        engine.sleepers.fetch_add(1, Ordering::Relaxed);
        block();
        engine.sleepers.fetch_sub(1, Ordering::Relaxed);
    }
}

