//! Windows and one-sided communication: the engine's side of `rma.rs` (a child module of
//! `engine`, like `nbc.rs`).
//!
//! A window duplicates its communicator at creation, so its messages never meet the
//! application's. RMA requests travel as messages on the duplicate's point-to-point context
//! (tag [`RMA_TAG`]), replies on its collective context with tags from [`REPLY_TAG`] up (below
//! the schedules' tags, above the fixed collective ones), so an origin's receives for replies
//! never take a request meant for it as a target.
//!
//! The target applies requests in its progress engine, during whatever MPI call it is in (MPI
//! allows this weak progress), one at a time in arrival order: that keeps the order of
//! accumulates from one origin, and makes each request atomic with respect to the others.
//! Every request is answered (with data or an acknowledgement), so an origin knows when its
//! operations are complete at the target: fence, flush and unlock wait for the answers to
//! their operations, and fence then synchronises with a barrier, after which every operation
//! that targeted this process is complete too. Passive-target locks are requests to the
//! target's lock table, answered when granted.
//!
//! Errors the origin can see (rank, range, epoch, types) are reported by the call itself; an
//! error the target finds (an address outside a dynamic window's attached memory) comes back
//! in the reply and is reported by the call that completes the operation.

use std::collections::HashMap;
use std::sync::Arc;

use crate::buffer::{Buf, UserBuf};
use crate::datatype::Kind;
use crate::error::{fail, ErrorClass, MpiError, Result};
use crate::matching::{Envelope, Selector};
use crate::op::{BuiltinOp, Op};
use crate::schedule::Reduction;
use crate::protocol::{ReqId, SendData, SendMode, Status};
use crate::rma::{self, LockTable, LockType, OpKind, RmaRequest, TargetMemory};
use crate::slab::Id;
use crate::typemap::TypeMap;

use super::{empty_status, CommId, Engine, Req, Request, State, PROC_NULL};

#[path = "window/shared.rs"]
mod shared;
use shared::SharedMap;

#[path = "window/sync.rs"]
mod sync;

/// Tag of RMA requests on a window's point-to-point context.
const RMA_TAG: i32 = 0;
/// First tag of replies on a window's collective context; replies number up from here.
const REPLY_TAG: i32 = 1 << 24;
const REPLY_SPAN: u32 = 1 << 24;

/// A window: the token of its entry in the engine's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WinId(pub u64);

/// How a window's memory came to be (`MPI_WIN_CREATE_FLAVOR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Create,
    Allocate,
    Shared,
    Dynamic,
}

/// One process's part of a window as the others see it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Exposure {
    pub base: usize,
    pub size: usize,
    pub disp_unit: usize,
}

/// One RMA operation as the origin gives it to [`Engine::win_rma`].
pub struct RmaCall {
    pub kind: OpKind,
    pub target: i32,
    pub disp: i64,
    pub target_count: usize,
    pub target_map: Arc<TypeMap>,
    /// The data to send: put and accumulate origin data; compare-and-swap's compare value
    /// followed by its origin value.
    pub data: Vec<u8>,
    /// Where the answer goes: get's origin buffer, the result buffer of the fetching forms.
    pub result: Option<Buf>,
    pub op: BuiltinOp,
    /// The basic element of accumulate and compare-and-swap data.
    pub elem: Kind,
}

/// Memory a window allocated itself, held (never read through this: the window's regions
/// address it) until the window goes.
#[allow(dead_code)]
enum Owned {
    /// `MPI_Win_allocate`: 16-byte aligned heap memory.
    Heap(Vec<u128>),
    /// `MPI_Win_allocate_shared`: one mapping of the host's segment for all ranks.
    Shared(SharedMap),
}

/// An operation of ours waiting for its reply.
struct Pending {
    id: u64,
    target: usize,
    reply: ReqId,
    /// The reply lands here (status byte, then data); its heap memory does not move.
    rx: Vec<u8>,
    result: Option<Buf>,
    /// A request handle waits for it (`MPI_Rput`, ...): its outcome goes to `finished`.
    requested: bool,
}

/// What an origin expects back from a request.
struct Expect {
    /// Data bytes of the reply.
    len: usize,
    /// Where they go.
    result: Option<Buf>,
    /// A request handle waits for the operation.
    requested: bool,
}

impl Expect {
    const ACK: Expect = Expect { len: 0, result: None, requested: false };
}

/// A request being received, in the order requests arrive.
struct Incoming {
    req: ReqId,
    msg: Vec<u8>,
    origin: u32,
}

/// Our passive-target epoch with one target.
#[derive(Clone, Copy)]
struct Held {
    lock: LockType,
    /// Taken through the target's lock table (not `MPI_MODE_NOCHECK`).
    real: bool,
}

pub(super) struct Window {
    comm: CommId,
    ctx: u32,
    me: u32,
    members: Vec<usize>,
    flavor: Flavor,
    peers: Vec<Exposure>,
    /// Our exposed memory: the window, or a dynamic window's attached regions.
    regions: Vec<(usize, usize)>,
    /// A shared window's segments, in our address space, by rank.
    shared_bases: Vec<usize>,
    _owned: Option<Owned>,
    next_tag: u32,
    next_op: u64,
    pending: Vec<Pending>,
    /// Operations with request handles that are complete: their id and error.
    finished: HashMap<u64, Option<ErrorClass>>,
    /// The first error of an operation without a request, for the call that completes it.
    error: Option<MpiError>,
    incoming: Option<Incoming>,
    locks: LockTable,
    /// Between two fences (the second without `MPI_MODE_NOSUCCEED` opens the next epoch).
    fence_epoch: bool,
    held: HashMap<usize, Held>,
    lock_all: Option<bool>,
    /// Post-start-complete-wait: the targets of our access epoch (`MPI_Win_start`) and the
    /// origins of our exposure epoch (`MPI_Win_post`), as window ranks.
    access: Option<Vec<usize>>,
    exposure: Option<Vec<usize>>,
    /// `Post` and `Complete` notices received and not yet consumed, by rank.
    posts: Vec<u32>,
    completes: Vec<u32>,
}

/// The window's memory as its target-side operations reach it.
struct Exposed<'a>(&'a [(usize, usize)]);

impl TargetMemory for Exposed<'_> {
    fn regions(&self) -> &[(usize, usize)] {
        self.0
    }
    fn read(&self, addr: usize, out: &mut [u8]) {
        // SAFETY: `rma::apply` checked that `addr..+len` lies in a region the application
        // exposed (window creation, attach), which stays valid until free or detach.
        unsafe { std::ptr::copy(addr as *const u8, out.as_mut_ptr(), out.len()) }
    }
    fn write(&mut self, addr: usize, data: &[u8]) {
        // SAFETY: as in `read`.
        unsafe { std::ptr::copy(data.as_ptr(), addr as *mut u8, data.len()) }
    }
}

fn win_id(win: WinId) -> Id {
    Id::from_token(win.0)
}

impl State {
    fn window(&mut self, win: WinId) -> Result<&mut Window> {
        match self.wins.get_mut(win_id(win)) {
            Some(w) => Ok(w),
            None => fail(ErrorClass::Win, format!("invalid window handle {:#x}", win.0)),
        }
    }

    /// Whether window operation `op` (a request handle's) is still waiting; its error once done.
    pub(super) fn rma_test(&mut self, win: Id, op: u64) -> Option<Status> {
        let Some(w) = self.wins.get_mut(win) else { return Some(empty_status()) };
        if w.pending.iter().any(|p| p.id == op) {
            return None;
        }
        let error = w.finished.remove(&op).flatten();
        Some(Status { error, ..empty_status() })
    }

    pub(super) fn rma_peek(&self, win: Id, op: u64) -> Option<Status> {
        let Some(w) = self.wins.get(win) else { return Some(empty_status()) };
        if w.pending.iter().any(|p| p.id == op) {
            return None;
        }
        Some(Status { error: w.finished.get(&op).copied().flatten(), ..empty_status() })
    }
}

impl Window {
    fn rank_of(&self, target: i32) -> Result<usize> {
        match usize::try_from(target).ok().filter(|&t| t < self.members.len()) {
            Some(t) => Ok(t),
            None => fail(ErrorClass::Rank, format!("rank {target} is not in a window of {} processes", self.members.len())),
        }
    }

    /// Queues a request to `target`, with a receive for its reply.
    fn send_request(&mut self, proto: &mut crate::protocol::Protocol, target: usize, mut req: RmaRequest, payload: &[u8], expect: Expect) -> u64 {
        let Expect { len: reply_len, result, requested } = expect;
        req.reply_tag = self.next_tag;
        self.next_tag = (self.next_tag + 1) % REPLY_SPAN;
        let mut rx = vec![0u8; 1 + reply_len];
        let sel = Selector { ctx: self.ctx + 1, src: Some(target as u32), tag: Some(REPLY_TAG + req.reply_tag as i32) };
        let reply = proto.irecv(sel, UserBuf::from_slice(&mut rx).into());
        let env = Envelope { ctx: self.ctx, src: self.me, tag: RMA_TAG };
        let sent = proto.isend(self.members[target], env, SendData::Owned(req.encode(payload)), SendMode::Standard);
        let _ = proto.detach(sent);
        let id = self.next_op;
        self.next_op += 1;
        self.pending.push(Pending { id, target, reply, rx, result, requested });
        id
    }

    /// Collects the replies that have arrived.
    fn reap(&mut self, proto: &mut crate::protocol::Protocol) -> Result<()> {
        let mut i = 0;
        while i < self.pending.len() {
            let Some(status) = proto.take(self.pending[i].reply)? else {
                i += 1;
                continue;
            };
            let p = self.pending.swap_remove(i);
            let outcome = match status.error {
                Some(class) => Err(MpiError::new(class, "RMA reply of unexpected length")),
                None => rma::decode_reply(&p.rx[..status.bytes.min(p.rx.len())]).map(|data| {
                    if let Some(buf) = &p.result {
                        buf.write_at(0, data);
                    }
                }),
            };
            match outcome {
                Ok(()) if p.requested => {
                    self.finished.insert(p.id, None);
                }
                Ok(()) => {}
                Err(e) if p.requested => {
                    self.finished.insert(p.id, Some(e.class));
                }
                Err(e) => {
                    self.error.get_or_insert(e);
                }
            }
        }
        Ok(())
    }

    /// Sends a reply to `origin`.
    fn reply(&self, proto: &mut crate::protocol::Protocol, origin: u32, tag: u32, body: Vec<u8>) {
        let env = Envelope { ctx: self.ctx + 1, src: self.me, tag: REPLY_TAG + tag as i32 };
        let r = proto.isend(self.members[origin as usize], env, SendData::Owned(body), SendMode::Standard);
        let _ = proto.detach(r);
    }

    /// Handles one request that has fully arrived.
    fn serve(&mut self, proto: &mut crate::protocol::Protocol, origin: u32, msg: &[u8]) -> Result<()> {
        let (req, payload) = rma::RmaRequest::decode(msg)?;
        let granted = match req.kind {
            OpKind::Post | OpKind::Complete => {
                let counts = if req.kind == OpKind::Post { &mut self.posts } else { &mut self.completes };
                if let Some(c) = counts.get_mut(origin as usize) {
                    *c += 1;
                }
                Vec::new()
            }
            OpKind::Lock => self.locks.request(origin, req.lock, req.reply_tag),
            OpKind::Unlock => {
                let outcome = self.locks.release(origin, req.lock);
                let grants = outcome.clone().unwrap_or_default();
                self.reply(proto, origin, req.reply_tag, rma::encode_reply(&outcome.map(|_| Vec::new())));
                grants
            }
            _ => {
                let outcome = rma::apply(&req, payload, &mut Exposed(&self.regions));
                self.reply(proto, origin, req.reply_tag, rma::encode_reply(&outcome));
                Vec::new()
            }
        };
        for (to, tag) in granted {
            self.reply(proto, to, tag, rma::encode_reply(&Ok(Vec::new())));
        }
        Ok(())
    }

    /// Receives and serves the requests that have arrived, one at a time in order.
    fn serve_incoming(&mut self, proto: &mut crate::protocol::Protocol) -> Result<bool> {
        let mut served = false;
        loop {
            if let Some(inc) = &self.incoming {
                if proto.take(inc.req)?.is_none() {
                    return Ok(served);
                }
                let inc = self.incoming.take().map(|i| (i.origin, i.msg)).unwrap_or_default();
                self.serve(proto, inc.0, &inc.1)?;
                served = true;
            }
            let sel = Selector { ctx: self.ctx, src: None, tag: Some(RMA_TAG) };
            let Some((m, status)) = proto.improbe(&sel) else { return Ok(served) };
            let mut msg = vec![0u8; status.bytes];
            let req = proto.imrecv(m, UserBuf::from_slice(&mut msg).into())?;
            self.incoming = Some(Incoming { req, msg, origin: status.source as u32 });
        }
    }

    /// Sends a notice that is not answered (`Post`, `Complete`).
    fn notify(&self, proto: &mut crate::protocol::Protocol, target: usize, kind: OpKind) {
        let env = Envelope { ctx: self.ctx, src: self.me, tag: RMA_TAG };
        let msg = RmaRequest::control(kind, LockType::Shared, 0).encode(&[]);
        let sent = proto.isend(self.members[target], env, SendData::Owned(msg), SendMode::Standard);
        let _ = proto.detach(sent);
    }

    /// Window ranks of the processes of a group (world ranks); `MPI_ERR_GROUP` if one is not
    /// in the window.
    fn ranks_of(&self, group: &[usize]) -> Result<Vec<usize>> {
        group
            .iter()
            .map(|w| match self.members.iter().position(|m| m == w) {
                Some(r) => Ok(r),
                None => fail(ErrorClass::Group, format!("process {w} of the group is not in the window")),
            })
            .collect()
    }

    /// Whether `target` is in an access epoch of ours.
    fn check_epoch(&self, target: usize) -> Result<()> {
        if self.fence_epoch || self.lock_all.is_some() || self.held.contains_key(&target) || self.access.as_ref().is_some_and(|a| a.contains(&target)) {
            return Ok(());
        }
        fail(ErrorClass::RmaSync, format!("RMA operation to rank {target} outside an access epoch"))
    }

    fn take_error(&mut self) -> Result<()> {
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// The target address and ranges of an operation on `peer`'s part of a window, checked
/// against it (a dynamic window's are absolute addresses only the target can check).
fn target_ranges(peer: Exposure, dynamic: bool, call: &RmaCall) -> Result<(u64, Vec<(i64, u64)>)> {
    let ranges: Vec<(i64, u64)> = call.target_map.segments(call.target_count, 0).map(|(o, l)| (o as i64, l as u64)).collect();
    if dynamic {
        return Ok((call.disp as u64, ranges));
    }
    if call.disp < 0 {
        return fail(ErrorClass::Disp, format!("negative target displacement {}", call.disp));
    }
    let start = (call.disp as i128) * peer.disp_unit as i128;
    for &(off, len) in &ranges {
        let (lo, hi) = (start + off as i128, start + off as i128 + len as i128);
        if len > 0 && (lo < 0 || hi > peer.size as i128) {
            return fail(ErrorClass::RmaRange, format!("target bytes {lo}..{hi} are outside the target's window of {} bytes", peer.size));
        }
    }
    Ok(((peer.base as i128 + start) as u64, ranges))
}

impl Engine {
    /// Collective over `comm`: a window over `size` bytes at `base` in each process (for
    /// `Flavor::Allocate` and `Flavor::Shared` the engine allocates them and `base` is
    /// ignored). Returns the window and our base address.
    pub fn win_create(&self, comm: CommId, base: usize, size: usize, disp_unit: usize, flavor: Flavor) -> Result<(WinId, usize)> {
        if self.comm_is_inter(comm)? {
            return fail(ErrorClass::Comm, "windows are made over intracommunicators");
        }
        let dup = self.comm_dup(comm)?;
        match self.win_setup(dup, base, size, disp_unit, flavor) {
            Ok(made) => Ok(made),
            Err(e) => {
                let _ = self.comm_free(dup);
                Err(e)
            }
        }
    }

    fn win_setup(&self, dup: CommId, base: usize, size: usize, disp_unit: usize, flavor: Flavor) -> Result<(WinId, usize)> {
        let (ctx, me, members) = self.with_comm(dup, |c| Ok((c.ctx, c.rank, c.members.clone())))?;
        let (mut owned, mut base) = (None, base);
        if flavor == Flavor::Allocate {
            let mut heap = vec![0u128; size.div_ceil(16).max(1)];
            base = heap.as_mut_ptr() as usize;
            owned = Some(Owned::Heap(heap));
        }
        // Each process's base, size and unit, for the origins' address and range checks.
        let mut mine = [0u64; 3];
        mine.copy_from_slice(&[base as u64, size as u64, disp_unit as u64]);
        let mut all = vec![0u64; 3 * members.len()];
        {
            let send = UserBuf::from_slice(bytes_of_mut(&mut mine));
            self.allgather(dup, Some(send.into()), UserBuf::from_slice(bytes_of_mut(&mut all)).into(), None)?;
        }
        let mut peers: Vec<Exposure> = all.chunks_exact(3).map(|e| Exposure { base: e[0] as usize, size: e[1] as usize, disp_unit: e[2] as usize }).collect();
        let mut shared_bases = Vec::new();
        if flavor == Flavor::Shared {
            let map = self.map_shared(dup, &members, &peers)?;
            let mut at = map.addr();
            for p in &peers {
                shared_bases.push(at);
                at += p.size;
            }
            base = shared_bases[me as usize];
            peers[me as usize].base = base;
            // Every process reaches the others' parts in its own mapping; origins address
            // targets by the target's own mapping, so the bases are exchanged again.
            let mut b = [base as u64];
            let mut bases = vec![0u64; members.len()];
            self.allgather(dup, Some(UserBuf::from_slice(bytes_of_mut(&mut b)).into()), UserBuf::from_slice(bytes_of_mut(&mut bases)).into(), None)?;
            for (p, b) in peers.iter_mut().zip(bases) {
                p.base = b as usize;
            }
            owned = Some(Owned::Shared(map));
        }
        let regions = if flavor == Flavor::Dynamic || size == 0 { Vec::new() } else { vec![(base, size)] };
        let n = members.len();
        let w = Window {
            comm: dup,
            ctx,
            me,
            members,
            flavor,
            peers,
            regions,
            shared_bases,
            _owned: owned,
            next_tag: 0,
            next_op: 0,
            pending: Vec::new(),
            finished: HashMap::new(),
            error: None,
            incoming: None,
            locks: LockTable::default(),
            fence_epoch: false,
            held: HashMap::new(),
            lock_all: None,
            access: None,
            exposure: None,
            posts: vec![0; n],
            completes: vec![0; n],
        };
        let id = self.lock().wins.insert(w);
        Ok((WinId(id.token()), base))
    }

    /// Whether `mine` holds on any member of `comm` (an allreduce of it).
    fn anywhere(&self, comm: CommId, mine: bool) -> Result<bool> {
        let mut flag = [i32::from(mine)];
        let max = Reduction { op: Op::Builtin { op: BuiltinOp::Max, kind: Kind::I32 }, count: 1 };
        self.allreduce(comm, None, UserBuf::from_slice(bytes_of_mut(&mut flag)).into(), max, None)?;
        Ok(flag[0] != 0)
    }

    /// Maps the host's segment for a shared window; fails everywhere if it fails anywhere.
    fn map_shared(&self, dup: CommId, members: &[usize], peers: &[Exposure]) -> Result<SharedMap> {
        let (job, local) = self.host_info();
        if !members.iter().all(|r| local.contains(r)) {
            return fail(ErrorClass::RmaShared, "MPI_Win_allocate_shared over processes on more than one host");
        }
        let total: usize = peers.iter().map(|p| p.size).sum();
        let leader = members[0];
        let ctx = self.with_comm(dup, |c| Ok(c.ctx))?;
        let name = format!("/ferrompi-win-{job}-{leader}-{ctx}");
        let me_leader = members[self.comm_rank(dup)?] == leader;
        let created = if me_leader { SharedMap::create(&name, total) } else { Err(String::new()) };
        if self.anywhere(dup, me_leader && created.is_err())? {
            return fail(ErrorClass::RmaShared, format!("shared window segment: {}", created.err().unwrap_or_default()));
        }
        let map = if me_leader { created.map_err(|e| MpiError::new(ErrorClass::RmaShared, e)) } else { SharedMap::open(&name, total).map_err(|e| MpiError::new(ErrorClass::RmaShared, e)) };
        let failed = self.anywhere(dup, map.is_err())?;
        if me_leader {
            SharedMap::unlink(&name);
        }
        if failed {
            return fail(ErrorClass::RmaShared, "a process could not map the shared window segment");
        }
        map
    }

    fn host_info(&self) -> (String, Vec<usize>) {
        let world = self.world.lock().unwrap_or_else(|p| p.into_inner());
        (world.job_id.clone(), world.local_ranks.clone())
    }

    /// `MPI_Win_free`: completes our operations, waits for every process, frees.
    pub fn win_free(&self, win: WinId) -> Result<()> {
        let comm = {
            let mut st = self.lock();
            let w = st.window(win)?;
            if !w.held.is_empty() || w.lock_all.is_some() {
                return fail(ErrorClass::RmaSync, "MPI_Win_free inside a passive-target epoch");
            }
            w.comm
        };
        self.win_wait_ops(win, |_| true)?;
        self.barrier(comm)?;
        self.lock().wins.remove(win_id(win));
        self.comm_free(comm)
    }

    /// A window's duplicate communicator (its group, its collective operations).
    pub fn win_comm(&self, win: WinId) -> Result<CommId> {
        Ok(self.lock().window(win)?.comm)
    }

    /// Our base, size, unit and flavor.
    pub fn win_info(&self, win: WinId) -> Result<(Exposure, Flavor)> {
        let mut st = self.lock();
        let w = st.window(win)?;
        Ok((w.peers[w.me as usize], w.flavor))
    }

    /// `MPI_Win_shared_query`: rank `rank`'s part of a shared window, in our address space;
    /// `PROC_NULL` asks for the first part that is not empty. Windows of other flavors share
    /// no memory (MPI-4.0): size 0 and address 0 for every rank, our own memory for us.
    pub fn win_shared_query(&self, win: WinId, rank: i32) -> Result<(usize, usize, usize)> {
        let mut st = self.lock();
        let w = st.window(win)?;
        if w.flavor != Flavor::Shared {
            let me = w.me as usize;
            return Ok(match rank {
                PROC_NULL => (0, 1, 0),
                r if w.rank_of(r)? == me && w.flavor != Flavor::Dynamic && w.peers[me].size > 0 => (w.peers[me].size, w.peers[me].disp_unit, w.peers[me].base),
                _ => (0, 1, 0),
            });
        }
        let r = if rank == PROC_NULL {
            match w.peers.iter().position(|p| p.size > 0) {
                Some(r) => r,
                None => return Ok((0, w.peers[0].disp_unit, 0)),
            }
        } else {
            w.rank_of(rank)?
        };
        Ok((w.peers[r].size, w.peers[r].disp_unit, w.shared_bases[r]))
    }

    /// `MPI_Win_attach`.
    pub fn win_attach(&self, win: WinId, base: usize, size: usize) -> Result<()> {
        let mut st = self.lock();
        let w = st.window(win)?;
        if w.flavor != Flavor::Dynamic {
            return fail(ErrorClass::RmaFlavor, "MPI_Win_attach needs a window from MPI_Win_create_dynamic");
        }
        if size > 0 && w.regions.iter().any(|&(a, n)| base < a + n && a < base + size) {
            return fail(ErrorClass::RmaAttach, "memory overlaps memory already attached");
        }
        if size > 0 {
            w.regions.push((base, size));
        }
        Ok(())
    }

    /// `MPI_Win_detach`.
    pub fn win_detach(&self, win: WinId, base: usize) -> Result<()> {
        let mut st = self.lock();
        let w = st.window(win)?;
        if w.flavor != Flavor::Dynamic {
            return fail(ErrorClass::RmaFlavor, "MPI_Win_detach needs a window from MPI_Win_create_dynamic");
        }
        match w.regions.iter().position(|&(a, _)| a == base) {
            Some(i) => {
                w.regions.remove(i);
                Ok(())
            }
            None => fail(ErrorClass::RmaAttach, format!("no memory is attached at {base:#x}")),
        }
    }

    /// Starts one RMA operation; with `request`, returns a request that completes with it.
    pub fn win_rma(&self, win: WinId, call: RmaCall, request: bool) -> Result<Option<Request>> {
        let mut st = self.lock();
        let State { wins, proto, requests, .. } = &mut *st;
        let Some(w) = wins.get_mut(win_id(win)) else {
            return fail(ErrorClass::Win, format!("invalid window handle {:#x}", win.0));
        };
        if call.target == PROC_NULL {
            if !request {
                return Ok(None);
            }
            let r = proto.completed(empty_status());
            return Ok(Some(Request(requests.insert(Req::Active { r, comm: None }))));
        }
        let target = w.rank_of(call.target)?;
        w.check_epoch(target)?;
        let (addr, ranges) = target_ranges(w.peers[target], w.flavor == Flavor::Dynamic, &call)?;
        let req = RmaRequest { kind: call.kind, op: call.op, elem: call.elem, lock: LockType::Shared, reply_tag: 0, addr, ranges };
        let tlen = req.target_len();
        let (expect_data, expect_reply) = match call.kind {
            OpKind::Put | OpKind::Acc => (tlen, 0),
            OpKind::Get => (0, tlen),
            OpKind::GetAcc if call.op == BuiltinOp::NoOp => (0, tlen),
            OpKind::GetAcc => (tlen, tlen),
            OpKind::CompareSwap => (2 * tlen, tlen),
            OpKind::Lock | OpKind::Unlock | OpKind::Post | OpKind::Complete => return fail(ErrorClass::Intern, "synchronisation requests are not RMA operations"),
        };
        let data = if call.kind == OpKind::GetAcc && call.op == BuiltinOp::NoOp { Vec::new() } else { call.data };
        if data.len() != expect_data || call.result.as_ref().is_some_and(|b| b.len() != expect_reply) {
            return fail(ErrorClass::Count, format!("origin data of {} bytes for {tlen} bytes of target", data.len()));
        }
        let id = w.send_request(proto, target, req, &data, Expect { len: expect_reply, result: call.result, requested: request });
        let handle = request.then(|| Request(requests.insert(Req::Rma { win: win_id(win), op: id })));
        self.progress(&mut st)?;
        Ok(handle)
    }

    /// Serves the windows' incoming requests and collects replies (`Engine::progress`).
    pub(super) fn progress_windows(&self, st: &mut State) -> Result<()> {
        let State { wins, proto, loopback, .. } = st;
        let mut sent = false;
        for w in wins.values_mut() {
            w.reap(proto)?;
            sent |= w.serve_incoming(proto)?;
        }
        if sent {
            self.flush_all(proto, loopback);
        }
        Ok(())
    }
}

/// A `u64` or `i32` array as the bytes collectives move.
fn bytes_of_mut<T: Copy>(v: &mut [T]) -> &mut [u8] {
    // SAFETY: plain integers; any byte pattern is one, and the length covers exactly `v`.
    unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr() as *mut u8, std::mem::size_of_val(v)) }
}

#[cfg(test)]
#[path = "window/tests.rs"]
mod tests;
