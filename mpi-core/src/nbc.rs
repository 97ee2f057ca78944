//! Collectives as requests: the engine's side of `schedule.rs` (a child module of `engine`,
//! like `comm.rs`).
//!
//! Every collective on a communicator, blocking or not, is a [`Schedule`] built by
//! `schedule.rs`'s algorithms and run through protocol requests on the communicator's
//! collective context (`ctx + 1`):
//! - a blocking call builds the schedule (or restarts the one an identical earlier call
//!   left, `nbc/cache.rs`) and advances it in its own wait loop, never entering the request
//!   table;
//! - a nonblocking call (`MPI_Iallreduce`, ...) puts it in a request (`Req::Coll`) and on the
//!   engine's list of active schedules, which `progress` advances after every round of
//!   transport work, so the collective moves on during any MPI call, and the wait and test
//!   families complete it like any request;
//! - a persistent call (`MPI_Allreduce_init`, ...) builds it once into an inactive request;
//!   `MPI_Start` restarts it (the buffers are the ones given at init, as MPI fixes them).
//!
//! Tags: each collective call takes the next number of its communicator's `coll_seq` (every
//! member calls collectives, and inits persistent ones, in the same order, so the numbers
//! agree), and its messages carry `SCHED_TAG + (number mod 2^14) * 2048 + class`, where the
//! class is the algorithm's tag (`collective::TAG_BCAST`, ...) or a neighbour block. Two
//! outstanding collectives on one communicator thus never take each other's messages, even
//! when one posts a receive from a process before the other has received from it. Messages
//! between the groups of an intercommunicator add `INTER_TAG` (`intercomm.rs`). The fixed
//! small tags of `collective.rs`'s blocking runs (context agreements), the neighbour and
//! dist-graph tags of `topology.rs` and `MPI_Comm_create_group`'s negative tags are all below
//! `SCHED_TAG` or negative, so they never meet these.

use std::collections::VecDeque;
use std::sync::MutexGuard;

use crate::buffer::{Buf, UserBuf};
use crate::collective::{
    check_result_len, TAG_ALLGATHER, TAG_ALLREDUCE, TAG_ALLTOALL, TAG_BARRIER, TAG_BCAST, TAG_GATHER, TAG_REDUCE, TAG_SCATTER,
};
use crate::error::{fail, ErrorClass, MpiError, Result};
use crate::matching::{Envelope, Selector};
use crate::op::{self, Op};
use crate::protocol::{Protocol, ReqId, SendData, SendMode, Status};
use crate::schedule::{self, InterRoot, Peer, Reduction, Schedule, UserStep, Wire};
use crate::slab::Id;
use crate::tuning::Collective;

use super::intercomm::{check_inter_root, INTER_TAG};
use super::topology::Topology;
use super::{check_root, empty_status, CommId, Engine, Req, Request, State, PROC_NULL};

#[path = "nbc/vcoll.rs"] mod vcoll;

#[path = "nbc/scan.rs"] mod scan;

#[path = "nbc/choose.rs"] mod choose;
use choose::Site;

#[path = "nbc/inter.rs"] mod inter;
use inter::Blocks;

#[path = "nbc/board.rs"] mod board;
pub(super) use board::BoardUse;

#[path = "nbc/cache.rs"] mod cache;
pub(super) use cache::Cache;
use cache::Shape;

/// Base of the tags of schedule messages (module doc).
const SCHED_TAG: i32 = 1 << 25;
/// Collective calls told apart by tag before the numbering wraps.
const SEQ_SPAN: u32 = 1 << 14;
/// Tag classes per call: the algorithms' tags, then neighbour blocks from `NEIGHBOR_CLASS`.
const CLASSES: i32 = 2048;
const NEIGHBOR_CLASS: i32 = 16;

/// How a collective call wants its schedule: started now and waited for by a request, or
/// kept in an inactive persistent request until `MPI_Start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CollMode {
    Nonblocking,
    Persistent,
}

/// Where one collective call's messages go: the communicator as it was when the call was
/// made (a schedule outlives neither its request nor, by MPI's rules, its communicator, but
/// it does not need the table entry to exist).
pub(super) struct Frame {
    /// The collective context.
    ctx: u32,
    /// Our rank in the (local) group: the source of our messages.
    me: u32,
    members: Vec<usize>,
    remote: Vec<usize>,
    /// Tag of class 0 of this call.
    tag_base: i32,
}

impl Frame {
    /// The process and tag of a message to or from `peer` with tag class `class`.
    fn resolve(&self, peer: Peer, class: i32) -> Result<(usize, u32, i32)> {
        let (list, r, tag) = match peer {
            Peer::Local(r) => (&self.members, r, self.tag_base + class),
            Peer::Remote(r) => (&self.remote, r, self.tag_base + class + INTER_TAG),
        };
        match list.get(r) {
            Some(&proc) => Ok((proc, r as u32, tag)),
            None => fail(ErrorClass::Intern, format!("collective schedule names rank {r} of a group of {}", list.len())),
        }
    }
}

/// A collective request: its schedule, and where it stands.
pub(super) struct Coll {
    sched: Box<Schedule>,
    frame: Frame,
    comm: CommId,
    persistent: bool,
    /// Started and not yet completed by a wait or test.
    active: bool,
    /// Set when the schedule has finished (with an error class if it failed).
    result: Option<Status>,
}

/// Protocol requests on a frame's context, as a schedule sends and receives.
struct EngineWire<'a> {
    engine: &'a Engine,
    proto: &'a mut Protocol,
    loopback: &'a mut VecDeque<Vec<u8>>,
    frame: &'a Frame,
}

impl Wire for EngineWire<'_> {
    fn send(&mut self, to: Peer, tag: i32, data: UserBuf) -> Result<Option<ReqId>> {
        let (proc, _, tag) = self.frame.resolve(to, tag)?;
        let env = Envelope { ctx: self.frame.ctx, src: self.frame.me, tag };
        // Small messages go straight into the transport when nothing is queued ahead of them,
        // as blocking sends do.
        let (engine, loopback) = (self.engine, &mut *self.loopback);
        if self.proto.send_now(proc, env, data.bytes(), &mut |h, p| engine.transmit(loopback, proc, h, p)) {
            return Ok(None);
        }
        Ok(Some(self.proto.isend(proc, env, SendData::User(data.into()), SendMode::Standard)))
    }

    fn recv(&mut self, from: Peer, tag: i32, into: UserBuf) -> Result<ReqId> {
        let (_, src, tag) = self.frame.resolve(from, tag)?;
        Ok(self.proto.irecv(Selector { ctx: self.frame.ctx, src: Some(src), tag: Some(tag) }, into.into()))
    }

    fn done(&mut self, r: ReqId) -> Result<bool> {
        match self.proto.take(r)? {
            None => Ok(false),
            Some(Status { error: Some(class), .. }) => Err(MpiError::new(class, "collective message of unexpected length")),
            Some(_) => Ok(true),
        }
    }

    fn forget(&mut self, r: ReqId) {
        let _ = self.proto.detach(r);
    }
}

impl State {
    /// The next collective call on `comm`, which takes its number: the communicator and the
    /// tag of class 0 of the call.
    fn number_call(&mut self, comm: CommId) -> Result<(&super::Comm, i32)> {
        self.comm(comm)?;
        let Some(c) = self.comms.get_mut(Id::from_token(comm.0)) else {
            return fail(ErrorClass::Comm, "invalid communicator");
        };
        let seq = c.coll_seq % SEQ_SPAN;
        c.coll_seq = c.coll_seq.wrapping_add(1);
        Ok((c, SCHED_TAG + seq as i32 * CLASSES))
    }

    /// The frame of the next collective call on `comm`, which takes its number.
    pub(super) fn coll_frame(&mut self, comm: CommId) -> Result<(Frame, usize, usize, bool)> {
        let mut members = self.coll_cache.members();
        let (c, tag_base) = self.number_call(comm)?;
        members.extend_from_slice(&c.members);
        let frame = Frame { ctx: c.ctx + 1, me: c.rank, members, remote: c.remote.clone().unwrap_or_default(), tag_base };
        Ok((frame, c.rank as usize, c.members.len(), c.remote.is_some()))
    }

    /// An empty schedule for a build (`Cache::new_sched`).
    fn new_sched(&mut self) -> Box<Schedule> {
        self.coll_cache.new_sched()
    }

    /// The schedule and frame of an earlier blocking call of `shape` on `comm`, restarted
    /// and numbered as the next call (`nbc/cache.rs`).
    fn cached_sched(&mut self, comm: CommId, shape: Option<Shape>) -> Result<Option<(Box<Schedule>, Frame)>> {
        let Some((sched, mut frame)) = self.coll_cache.take(comm, shape) else { return Ok(None) };
        frame.tag_base = self.number_call(comm)?.1;
        Ok(Some((sched, frame)))
    }

    /// Advances every active collective request (`Engine::progress`). A schedule that stops
    /// at a user operation's step hands it to `user_steps`, which the next thread to leave the
    /// lock in `wait_until` or `with_state` runs outside it.
    fn advance_colls(&mut self, engine: &Engine) {
        let State { proto, loopback, requests, colls, user_steps, .. } = self;
        let mut i = 0;
        while i < colls.len() {
            let Some(Req::Coll(c)) = requests.get_mut(colls[i]) else {
                colls.remove(i);
                continue;
            };
            let mut w = EngineWire { engine, proto, loopback, frame: &c.frame };
            match c.sched.advance(&mut w) {
                Ok(false) => {
                    user_steps.extend(c.sched.take_user_step());
                    i += 1;
                }
                Ok(true) => {
                    c.result = Some(empty_status());
                    colls.remove(i);
                }
                Err(e) => {
                    c.result = Some(Status { error: Some(e.class), ..empty_status() });
                    colls.remove(i);
                }
            }
        }
    }

    pub(super) fn test_coll(&mut self, req: Request) -> Result<Option<Status>> {
        let Some(Req::Coll(c)) = self.requests.get_mut(req.0) else {
            return fail(ErrorClass::Request, "invalid or already completed request");
        };
        if !c.active {
            return Ok(Some(empty_status()));
        }
        let Some(status) = c.result.take() else { return Ok(None) };
        if c.persistent {
            c.active = false;
        } else {
            self.requests.remove(req.0);
        }
        Ok(Some(status))
    }

    pub(super) fn start_coll(&mut self, req: Request) -> Result<()> {
        let Some(Req::Coll(c)) = self.requests.get_mut(req.0) else {
            return fail(ErrorClass::Request, "MPI_Start needs a persistent request");
        };
        if !c.persistent {
            return fail(ErrorClass::Request, "MPI_Start needs a persistent request");
        }
        if c.active {
            return fail(ErrorClass::Request, "persistent request is already active");
        }
        c.sched.restart();
        c.active = true;
        c.result = None;
        self.colls.push(req.0);
        Ok(())
    }
}

impl Coll {
    pub(super) fn comm(&self) -> CommId {
        self.comm
    }

    pub(super) fn is_persistent(&self) -> bool {
        self.persistent
    }

    pub(super) fn is_active(&self) -> bool {
        self.active
    }

    /// The status a peek reports: the result once finished, empty when inactive.
    pub(super) fn peek(&self) -> Option<Status> {
        if self.active {
            self.result
        } else {
            Some(empty_status())
        }
    }

    /// Whether `MPI_Request_free` may release it: not while its schedule runs (MPI makes
    /// freeing an active collective request erroneous; its messages would still flow).
    pub(super) fn may_free(&self) -> bool {
        !self.active || self.result.is_some()
    }
}

impl Engine {
    /// Advances the active collective requests, then hands their messages to the transports.
    pub(super) fn progress_colls(&self, st: &mut State) {
        st.advance_colls(self);
        if st.proto.has_outgoing() {
            let State { proto, loopback, .. } = st;
            self.flush_all(proto, loopback);
        }
    }

    /// Advances a blocking collective's schedule and flushes what it queued.
    pub(super) fn advance_sched(&self, st: &mut State, sched: &mut Schedule, frame: &Frame) -> Result<bool> {
        let State { proto, loopback, .. } = st;
        let mut w = EngineWire { engine: self, proto, loopback, frame };
        let done = sched.advance(&mut w)?;
        if proto.has_outgoing() {
            self.flush_all(proto, loopback);
        }
        Ok(done)
    }

    /// Runs a blocking collective's schedule to its end. Its first messages leave under the
    /// lock the schedule was built under, before any progress round: on the critical path of
    /// a small collective, a transport poll first would add its cost to every call. The
    /// calling thread runs the schedule's user steps itself, with the lock released.
    /// The finished schedule is kept (`nbc/cache.rs`) under `comm` and `shape`.
    fn run_sched(&self, mut st: MutexGuard<'_, State>, mut sched: Box<Schedule>, frame: Frame, comm: CommId, shape: Option<Shape>) -> Result<()> {
        if self.advance_sched(&mut st, &mut sched, &frame)? {
            st.coll_cache.keep(comm, shape, sched, frame);
            return Ok(());
        }
        let mut step: Option<UserStep> = sched.take_user_step();
        drop(st);
        let mut frame = Some(frame);
        let mut sched = Some(sched);
        loop {
            if let Some(u) = step.take() {
                u.run();
            }
            // `Some(step)` to run, `None` once the schedule is done.
            step = self.wait_until(|st| {
                let (Some(s), Some(f)) = (sched.as_mut(), frame.as_ref()) else { return Ok(Some(None)) };
                if !self.advance_sched(st, s, f)? {
                    return Ok(s.take_user_step().map(Some));
                }
                if let (Some(s), Some(f)) = (sched.take(), frame.take()) {
                    st.coll_cache.keep(comm, shape, s, f);
                }
                Ok(Some(None))
            })?;
            if step.is_none() {
                return Ok(());
            }
        }
    }

    /// A nonblocking collective's request (started at once) or a persistent one's (inactive).
    fn coll_request(&self, mut st: MutexGuard<'_, State>, sched: Box<Schedule>, frame: Frame, comm: CommId, mode: CollMode) -> Result<Request> {
        let persistent = mode == CollMode::Persistent;
        let coll = super::nbc::Coll { sched, frame, comm, persistent, active: !persistent, result: None };
        let id = st.requests.insert(Req::Coll(Box::new(coll)));
        if !persistent {
            st.colls.push(id);
            self.progress(&mut st)?;
        }
        Ok(Request(id))
    }

    // ---- schedule builders (argument checks, then `schedule.rs`'s algorithms) ---------------

    fn barrier_sched(st: &mut State, comm: CommId) -> Result<(Box<Schedule>, Frame)> {
        let (frame, rank, size, inter) = st.coll_frame(comm)?;
        let mut s = st.new_sched();
        if inter {
            schedule::inter_barrier(&mut s, rank, size, TAG_BARRIER);
        } else {
            choose::barrier(st, &Site::new(st, comm, rank, size)?, &mut s, TAG_BARRIER);
        }
        Ok((s, frame))
    }

    fn bcast_sched(st: &mut State, comm: CommId, buf: &Buf, root: i32) -> Result<(Box<Schedule>, Frame)> {
        let c = st.comm(comm)?;
        let (size, remote) = (c.members.len(), c.remote.as_ref().map(Vec::len));
        let mut s = st.new_sched();
        match remote {
            Some(remote) => {
                let root = check_inter_root(root, remote)?;
                let (frame, rank, size, _) = st.coll_frame(comm)?;
                let b = s.stage(buf, root == InterRoot::Me);
                schedule::inter_bcast(&mut s, rank, size, root, b, TAG_BCAST);
                if matches!(root, InterRoot::Remote(_)) {
                    s.unstage(b);
                }
                Ok((s, frame))
            }
            None => {
                let root = check_root(root, size)?;
                let (frame, rank, size, _) = st.coll_frame(comm)?;
                let b = s.stage(buf, rank == root);
                choose::bcast(st, &Site::new(st, comm, rank, size)?, &mut s, root, b, TAG_BCAST);
                if rank != root {
                    s.unstage(b);
                }
                Ok((s, frame))
            }
        }
    }

    /// Stages a reduction's operand: its packed stream for a predefined operation, its memory
    /// span for a user one (`op.rs`'s `Op`).
    fn stage_operand(s: &mut Schedule, b: &Buf, read: bool, red: &Reduction) -> Result<schedule::Range> {
        match red.op {
            Op::Builtin { .. } => Ok(s.stage(b, read)),
            Op::User { .. } => s.stage_span(b, read),
        }
    }

    /// Checks a reduction's operand of `len` packed bytes: the operation defined on its kind
    /// and whole elements of it (a user operation's operands are whole by construction).
    fn check_operand(red: &Reduction, len: usize) -> Result<()> {
        match red.op {
            Op::Builtin { op, kind } => {
                op::check(op, kind)?;
                if !len.is_multiple_of(kind.size()) {
                    return fail(ErrorClass::Count, format!("{len} bytes is not a whole number of {kind:?} elements"));
                }
                Ok(())
            }
            Op::User { .. } => Ok(()),
        }
    }

    /// Checks an intracommunicator reduce's operands: `contribution` (`send`, or `recv` for
    /// `MPI_IN_PLACE`), and at the root the result's length.
    fn check_reduce(red: &Reduction, contribution: &Buf, recv: &Buf, at_root: bool) -> Result<()> {
        Self::check_operand(red, contribution.len())?;
        if at_root {
            check_result_len("reduce", contribution.len(), recv.len())?;
        }
        Ok(())
    }

    /// Checks an allreduce's operands (`send == None`: `MPI_IN_PLACE`).
    fn check_allreduce(red: &Reduction, send: Option<&Buf>, recv: &Buf) -> Result<()> {
        Self::check_operand(red, recv.len())?;
        if let Some(b) = send {
            check_result_len("allreduce", b.len(), recv.len())?;
        }
        Ok(())
    }

    fn reduce_sched(st: &mut State, comm: CommId, send: Option<&Buf>, recv: &Buf, red: &Reduction, root: i32) -> Result<(Box<Schedule>, Frame)> {
        if let Op::Builtin { op, kind } = red.op {
            op::check(op, kind)?;
        }
        let c = st.comm(comm)?;
        let (size, remote) = (c.members.len(), c.remote.as_ref().map(Vec::len));
        match remote {
            Some(remote) => {
                let root = check_inter_root(root, remote)?;
                let send = match (root, send) {
                    (InterRoot::Remote(_), None) => return fail(ErrorClass::Buffer, "MPI_IN_PLACE is not valid on an intercommunicator"),
                    (InterRoot::Remote(_), Some(b)) => {
                        Self::check_operand(red, b.len())?;
                        Some(b)
                    }
                    _ => None,
                };
                let (frame, rank, size, _) = st.coll_frame(comm)?;
                let mut s = st.new_sched();
                match (root, send) {
                    (InterRoot::Me, _) => {
                        let r = Self::stage_operand(&mut s, recv, false, red)?;
                        schedule::inter_reduce(&mut s, rank, size, root, schedule::Range::EMPTY, r, red, TAG_REDUCE);
                        s.unstage(r);
                    }
                    (InterRoot::Remote(_), Some(b)) => {
                        let sr = Self::stage_operand(&mut s, b, true, red)?;
                        schedule::inter_reduce(&mut s, rank, size, root, sr, schedule::Range::EMPTY, red, TAG_REDUCE);
                    }
                    _ => {}
                }
                Ok((s, frame))
            }
            None => {
                let root = check_root(root, size)?;
                let rank = st.comm(comm)?.rank as usize;
                // Without a send buffer the contribution is in `recv` (MPI_IN_PLACE at the root).
                let contribution = send.unwrap_or(recv);
                Self::check_reduce(red, contribution, recv, rank == root)?;
                let (frame, rank, size, _) = st.coll_frame(comm)?;
                let site = Site::new(st, comm, rank, size)?;
                let bytes = contribution.len();
                let mut s = st.new_sched();
                let sr = match send {
                    Some(b) => Some(Self::stage_operand(&mut s, b, true, red)?),
                    None => None,
                };
                if rank == root {
                    let r = Self::stage_operand(&mut s, recv, send.is_none(), red)?;
                    choose::reduce(st, &site, &mut s, root, sr, r, bytes, red, TAG_REDUCE);
                    s.unstage(r);
                } else {
                    let sr = match sr {
                        Some(r) => r,
                        None => Self::stage_operand(&mut s, recv, true, red)?,
                    };
                    choose::reduce(st, &site, &mut s, root, Some(sr), schedule::Range::EMPTY, bytes, red, TAG_REDUCE);
                }
                Ok((s, frame))
            }
        }
    }

    fn allreduce_sched(st: &mut State, comm: CommId, send: Option<&Buf>, recv: &Buf, red: &Reduction) -> Result<(Box<Schedule>, Frame)> {
        let inter = st.comm(comm)?.remote.is_some();
        if inter && send.is_none() {
            return fail(ErrorClass::Buffer, "MPI_IN_PLACE is not valid on an intercommunicator");
        }
        Self::check_allreduce(red, send, recv)?;
        let (frame, rank, size, _) = st.coll_frame(comm)?;
        let mut s = st.new_sched();
        let r = Self::stage_operand(&mut s, recv, send.is_none(), red)?;
        let sr = match send {
            Some(b) => Some(Self::stage_operand(&mut s, b, true, red)?),
            None => None,
        };
        match sr {
            Some(sr) if inter => schedule::inter_allreduce(&mut s, rank, size, sr, r, red, TAG_ALLREDUCE),
            _ => choose::allreduce(st, &Site::new(st, comm, rank, size)?, &mut s, sr, r, red, TAG_ALLREDUCE),
        }
        s.unstage(r);
        Ok((s, frame))
    }

    /// The frame of a gather-like collective (gather, scatter, allgather, alltoall) on an
    /// intracommunicator (their intercommunicator forms are `nbc/inter.rs`'s).
    fn intra_frame(st: &mut State, comm: CommId, what: &str) -> Result<(Frame, usize, usize)> {
        st.comm(comm)?.intra_only(what)?;
        let (frame, rank, size, _) = st.coll_frame(comm)?;
        Ok((frame, rank, size))
    }

    /// `size` blocks of `blk` bytes each in `b` (the buffer of a gather's root, ...): a
    /// mismatch means the counts and types of the two sides do not describe the same data.
    fn check_blocks(what: &str, b: &Buf, size: usize, blk: usize) -> Result<()> {
        if size.checked_mul(blk) != Some(b.len()) {
            return fail(ErrorClass::Truncate, format!(
                "{what}: a buffer of {} bytes does not hold {size} blocks of {blk} bytes (the counts and datatypes of the two sides do not match)", b.len()));
        }
        Ok(())
    }

    /// The block size of an intracommunicator allgather over `size` ranks, checked against
    /// `recv` (`send == None`: `MPI_IN_PLACE`).
    fn allgather_block(send: Option<&Buf>, recv: &Buf, size: usize) -> Result<usize> {
        let blk = send.map_or(recv.len() / size, Buf::len);
        Self::check_blocks("MPI_Allgather", recv, size, blk)?;
        Ok(blk)
    }

    /// The block size of an intracommunicator alltoall over `size` ranks, checked against
    /// both buffers (`send == None`: `MPI_IN_PLACE`).
    fn alltoall_block(send: Option<&Buf>, recv: &Buf, size: usize) -> Result<usize> {
        let blk = send.map_or(recv.len() / size, |b| b.len() / size);
        if let Some(b) = send {
            Self::check_blocks("MPI_Alltoall", b, size, blk)?;
        }
        Self::check_blocks("MPI_Alltoall", recv, size, blk)?;
        Ok(blk)
    }

    /// Gather (`send == None`: `MPI_IN_PLACE` at the root; `recv` is the root's only).
    fn gather_sched(st: &mut State, comm: CommId, send: Option<&Buf>, recv: &Buf, root: i32) -> Result<(Box<Schedule>, Frame)> {
        if st.comm(comm)?.remote.is_some() {
            return Self::inter_gather_sched(st, comm, send, Blocks::Whole(recv), root, "MPI_Gather");
        }
        let c = st.comm(comm)?;
        let (rank, size) = (c.rank as usize, c.members.len());
        let root = check_root(root, size)?;
        match send {
            None if rank != root => return fail(ErrorClass::Buffer, "MPI_IN_PLACE is only valid at the root of MPI_Gather"),
            Some(b) if rank == root => Self::check_blocks("MPI_Gather", recv, size, b.len())?,
            None => Self::check_blocks("MPI_Gather", recv, size, recv.len() / size)?,
            _ => {}
        }
        let (frame, rank, size) = Self::intra_frame(st, comm, "MPI_Gather")?;
        let mut s = st.new_sched();
        let sr = send.map(|b| s.stage(b, true));
        if rank == root {
            let r = s.stage(recv, send.is_none());
            schedule::gather(&mut s, rank, size, root, sr, r, TAG_GATHER);
            s.unstage(r);
        } else {
            schedule::gather(&mut s, rank, size, root, sr, schedule::Range::EMPTY, TAG_GATHER);
        }
        Ok((s, frame))
    }

    /// Scatter (`recv == None`: `MPI_IN_PLACE` at the root; `send` is the root's only).
    fn scatter_sched(st: &mut State, comm: CommId, send: &Buf, recv: Option<&Buf>, root: i32) -> Result<(Box<Schedule>, Frame)> {
        if st.comm(comm)?.remote.is_some() {
            return Self::inter_scatter_sched(st, comm, Blocks::Whole(send), recv, root, "MPI_Scatter");
        }
        let c = st.comm(comm)?;
        let (rank, size) = (c.rank as usize, c.members.len());
        let root = check_root(root, size)?;
        match recv {
            None if rank != root => return fail(ErrorClass::Buffer, "MPI_IN_PLACE is only valid at the root of MPI_Scatter"),
            Some(b) if rank == root => Self::check_blocks("MPI_Scatter", send, size, b.len())?,
            None => Self::check_blocks("MPI_Scatter", send, size, send.len() / size)?,
            _ => {}
        }
        let (frame, rank, size) = Self::intra_frame(st, comm, "MPI_Scatter")?;
        let mut s = st.new_sched();
        let sr = if rank == root { s.stage(send, true) } else { schedule::Range::EMPTY };
        let r = recv.map(|b| s.stage(b, false));
        schedule::scatter(&mut s, rank, size, root, sr, r, TAG_SCATTER);
        if let Some(r) = r {
            s.unstage(r);
        }
        Ok((s, frame))
    }

    /// Allgather (`send == None`: `MPI_IN_PLACE`, this rank's block already in `recv`).
    fn allgather_sched(st: &mut State, comm: CommId, send: Option<&Buf>, recv: &Buf) -> Result<(Box<Schedule>, Frame)> {
        if st.comm(comm)?.remote.is_some() {
            return Self::inter_allgather_sched(st, comm, send, Blocks::Whole(recv), "MPI_Allgather");
        }
        let blk = Self::allgather_block(send, recv, st.comm(comm)?.members.len())?;
        let (frame, rank, size) = Self::intra_frame(st, comm, "MPI_Allgather")?;
        let mut s = st.new_sched();
        let r = s.stage(recv, send.is_none());
        if let Some(b) = send {
            let sr = s.stage(b, true);
            s.copy(sr, r.slice(rank * blk, blk));
        }
        choose::allgather(st, &Site::new(st, comm, rank, size)?, &mut s, r, TAG_ALLGATHER);
        s.unstage(r);
        Ok((s, frame))
    }

    /// Alltoall (`send == None`: `MPI_IN_PLACE`, the data to send in `recv`).
    fn alltoall_sched(st: &mut State, comm: CommId, send: Option<&Buf>, recv: &Buf) -> Result<(Box<Schedule>, Frame)> {
        if st.comm(comm)?.remote.is_some() {
            return Self::inter_alltoall_sched(st, comm, send.map(Blocks::Whole), Blocks::Whole(recv), "MPI_Alltoall");
        }
        Self::alltoall_block(send, recv, st.comm(comm)?.members.len())?;
        let (frame, rank, size) = Self::intra_frame(st, comm, "MPI_Alltoall")?;
        let mut s = st.new_sched();
        let r = s.stage(recv, send.is_none());
        let sr = send.map(|b| s.stage(b, true));
        choose::alltoall(st, &Site::new(st, comm, rank, size)?, &mut s, sr, r, TAG_ALLTOALL);
        s.unstage(r);
        Ok((s, frame))
    }

    /// A neighbour exchange: `sends[i]` goes to the i-th destination, `recvs[j]` is filled
    /// from the j-th source (`PROC_NULL` neighbours skipped, their blocks untouched). For a
    /// Cartesian topology a message's tag names the block it lands in at the receiver
    /// (`topology.rs`, "Neighbour exchanges").
    fn neighbor_sched(st: &mut State, topo: &Topology, comm: CommId, sends: &[UserBuf], recvs: &[UserBuf]) -> Result<(Box<Schedule>, Frame)> {
        let rank = st.comm(comm)?.rank;
        let (sources, destinations) = topo.neighbors(rank as i32);
        if sources.len() != recvs.len() || destinations.len() != sends.len() {
            return fail(ErrorClass::Intern, "neighbour exchange with buffers for a different number of neighbours");
        }
        let cart = matches!(topo, Topology::Cart { .. });
        if cart && NEIGHBOR_CLASS + sources.len().max(destinations.len()) as i32 >= CLASSES {
            return fail(ErrorClass::Dims, "neighbor collective on a Cartesian topology of too many dimensions");
        }
        let (frame, _, _, _) = st.coll_frame(comm)?;
        let mut s = st.new_sched();
        let peer = |r: i32| (r != PROC_NULL).then_some(r as usize);
        let rs: Vec<_> = sources
            .iter()
            .zip(recvs)
            .enumerate()
            .map(|(j, (&src, b))| (peer(src), if cart { NEIGHBOR_CLASS + j as i32 } else { NEIGHBOR_CLASS }, s.user(*b)))
            .collect();
        // Sent towards our -1 neighbour, a message lands in that process's +1 block, and back.
        let ss: Vec<_> = destinations
            .iter()
            .zip(sends)
            .enumerate()
            .map(|(i, (&dst, b))| (peer(dst), if cart { NEIGHBOR_CLASS + (i ^ 1) as i32 } else { NEIGHBOR_CLASS }, s.user(*b)))
            .collect();
        schedule::neighbor(&mut s, &rs, &ss);
        Ok((s, frame))
    }

    // ---- the calls -------------------------------------------------------------------------

    /// `MPI_Barrier`.
    pub fn barrier(&self, comm: CommId) -> Result<()> {
        if let Some(b) = self.board(comm, Collective::Barrier, 0, None)? {
            return b.barrier(&mut |ready| self.board_wait(ready));
        }
        self.blocking(comm, Shape::of(TAG_BARRIER, 0, None, None, None), |st| Self::barrier_sched(st, comm))
    }

    /// `MPI_Bcast`; on an intercommunicator `root` is `ROOT`, `PROC_NULL` or a remote rank.
    pub fn bcast(&self, comm: CommId, buf: &mut [u8], root: i32) -> Result<()> {
        let buf: Buf = UserBuf::from_slice(buf).into();
        if let Some(b) = self.board(comm, Collective::Bcast, buf.len(), None)? {
            let root = check_root(root, b.size())?;
            return b.bcast(root, &buf, &mut |ready| self.board_wait(ready));
        }
        self.blocking(comm, Shape::of(TAG_BCAST, root, None, Some(&buf), None), |st| Self::bcast_sched(st, comm, &buf, root))
    }

    /// `MPI_Reduce` (`mode == None`), `MPI_Ireduce` or `MPI_Reduce_init`. `send == None` is
    /// `MPI_IN_PLACE` at the root (its data is in `recv`). On an intercommunicator `root` is
    /// `ROOT` (`send` unused), `PROC_NULL` (neither buffer used) or a remote rank (`recv`
    /// unused). Buffers as for `gather`.
    pub fn reduce(&self, comm: CommId, send: Option<Buf>, recv: Buf, red: Reduction, root: i32, mode: Option<CollMode>) -> Result<Option<Request>> {
        let contribution = send.as_ref().unwrap_or(&recv);
        if let (None, &Op::Builtin { op, kind }) = (mode, &red.op) {
            if let Some(b) = self.board(comm, Collective::Reduce, contribution.len(), Some(&red.op))? {
                let root = check_root(root, b.size())?;
                Self::check_reduce(&red, contribution, &recv, b.rank() == root)?;
                let result = (b.rank() == root).then_some(&recv);
                return b.reduce(root, contribution, result, op, kind, &mut |ready| self.board_wait(ready)).map(|()| None);
            }
        }
        let shape = || Shape::of(TAG_REDUCE, root, send.as_ref(), Some(&recv), Some(&red));
        self.gather_like(comm, mode, shape, |st| Self::reduce_sched(st, comm, send.as_ref(), &recv, &red, root))
    }

    /// `MPI_Allreduce` / `MPI_Iallreduce` / `MPI_Allreduce_init` (as `reduce`). `send ==
    /// None` is `MPI_IN_PLACE` (not on an intercommunicator, where each group gets the
    /// reduction of the other group's data).
    pub fn allreduce(&self, comm: CommId, send: Option<Buf>, recv: Buf, red: Reduction, mode: Option<CollMode>) -> Result<Option<Request>> {
        if let (None, &Op::Builtin { op, kind }) = (mode, &red.op) {
            if let Some(b) = self.board(comm, Collective::Allreduce, recv.len(), Some(&red.op))? {
                Self::check_allreduce(&red, send.as_ref(), &recv)?;
                return b.allreduce(send.as_ref().unwrap_or(&recv), &recv, op, kind, &mut |ready| self.board_wait(ready)).map(|()| None);
            }
        }
        let shape = || Shape::of(TAG_ALLREDUCE, 0, send.as_ref(), Some(&recv), Some(&red));
        self.gather_like(comm, mode, shape, |st| Self::allreduce_sched(st, comm, send.as_ref(), &recv, &red))
    }

    /// A blocking neighbour exchange (`neighbor_sched`).
    pub fn neighbor_exchange(&self, comm: CommId, sends: &[UserBuf], recvs: &[UserBuf]) -> Result<()> {
        let topo = self.topology_required(comm)?;
        self.blocking(comm, None, |st| Self::neighbor_sched(st, &topo, comm, sends, recvs))
    }

    /// `MPI_Ibarrier` / `MPI_Barrier_init`.
    pub fn ibarrier(&self, comm: CommId, mode: CollMode) -> Result<Request> {
        let mut st = self.lock();
        let (s, f) = Self::barrier_sched(&mut st, comm)?;
        self.coll_request(st, s, f, comm, mode)
    }

    /// `MPI_Ibcast` / `MPI_Bcast_init`: `buf` must stay valid until the request is freed.
    pub fn ibcast(&self, comm: CommId, buf: Buf, root: i32, mode: CollMode) -> Result<Request> {
        let mut st = self.lock();
        let (s, f) = Self::bcast_sched(&mut st, comm, &buf, root)?;
        self.coll_request(st, s, f, comm, mode)
    }

    /// `MPI_Ineighbor_*` / `MPI_Neighbor_*_init` (arguments as `neighbor_exchange`).
    pub fn ineighbor(&self, comm: CommId, sends: &[UserBuf], recvs: &[UserBuf], mode: CollMode) -> Result<Request> {
        let topo = self.topology_required(comm)?;
        let mut st = self.lock();
        let (s, f) = Self::neighbor_sched(&mut st, &topo, comm, sends, recvs)?;
        self.coll_request(st, s, f, comm, mode)
    }

    /// Runs a blocking collective: the kept schedule of an identical earlier call restarted,
    /// or a new one from `build`.
    fn blocking(&self, comm: CommId, shape: Option<Shape>, build: impl FnOnce(&mut State) -> Result<(Box<Schedule>, Frame)>) -> Result<()> {
        let mut st = self.lock();
        let (s, f) = match st.cached_sched(comm, shape)? {
            Some(kept) => kept,
            None => build(&mut st)?,
        };
        self.run_sched(st, s, f, comm, shape)
    }

    /// Runs a gather-like collective now (`mode == None`; `shape` as `blocking`'s) or makes
    /// its request.
    fn gather_like(&self, comm: CommId, mode: Option<CollMode>, shape: impl FnOnce() -> Option<Shape>, build: impl FnOnce(&mut State) -> Result<(Box<Schedule>, Frame)>) -> Result<Option<Request>> {
        let Some(mode) = mode else {
            return self.blocking(comm, shape(), build).map(|()| None);
        };
        let mut st = self.lock();
        let (s, f) = build(&mut st)?;
        self.coll_request(st, s, f, comm, mode).map(Some)
    }

    /// `MPI_Gather` (`mode == None`), `MPI_Igather` or `MPI_Gather_init`: `send == None` is
    /// `MPI_IN_PLACE` at the root; `recv` matters at the root only. The buffers are used as
    /// given (a scattered one packed and unpacked by the schedule), and must stay valid until
    /// the call returns or its request is freed; the request is `None` for the blocking form.
    pub fn gather(&self, comm: CommId, send: Option<Buf>, recv: Buf, root: i32, mode: Option<CollMode>) -> Result<Option<Request>> {
        let shape = || Shape::of(TAG_GATHER, root, send.as_ref(), Some(&recv), None);
        self.gather_like(comm, mode, shape, |st| Self::gather_sched(st, comm, send.as_ref(), &recv, root))
    }

    /// `MPI_Scatter` / `MPI_Iscatter` / `MPI_Scatter_init` (as `gather`): `recv == None` is
    /// `MPI_IN_PLACE` at the root; `send` matters at the root only.
    pub fn scatter(&self, comm: CommId, send: Buf, recv: Option<Buf>, root: i32, mode: Option<CollMode>) -> Result<Option<Request>> {
        let shape = || Shape::of(TAG_SCATTER, root, Some(&send), recv.as_ref(), None);
        self.gather_like(comm, mode, shape, |st| Self::scatter_sched(st, comm, &send, recv.as_ref(), root))
    }

    /// `MPI_Allgather` / `MPI_Iallgather` / `MPI_Allgather_init` (as `gather`): `send ==
    /// None` is `MPI_IN_PLACE`.
    pub fn allgather(&self, comm: CommId, send: Option<Buf>, recv: Buf, mode: Option<CollMode>) -> Result<Option<Request>> {
        if mode.is_none() {
            if let Some(b) = self.board(comm, Collective::Allgather, recv.len(), None)? {
                let blk = Self::allgather_block(send.as_ref(), &recv, b.size())?;
                return b.allgather(send.as_ref(), &recv, blk, &mut |ready| self.board_wait(ready)).map(|()| None);
            }
        }
        let shape = || Shape::of(TAG_ALLGATHER, 0, send.as_ref(), Some(&recv), None);
        self.gather_like(comm, mode, shape, |st| Self::allgather_sched(st, comm, send.as_ref(), &recv))
    }

    /// `MPI_Alltoall` / `MPI_Ialltoall` / `MPI_Alltoall_init` (as `gather`): `send == None`
    /// is `MPI_IN_PLACE`.
    pub fn alltoall(&self, comm: CommId, send: Option<Buf>, recv: Buf, mode: Option<CollMode>) -> Result<Option<Request>> {
        if mode.is_none() {
            let size = self.comm_size(comm)?;
            if let Some(b) = self.board(comm, Collective::Alltoall, recv.len() / size.max(1), None)? {
                let blk = Self::alltoall_block(send.as_ref(), &recv, b.size())?;
                return b.alltoall(send.as_ref(), &recv, blk, &mut |ready| self.board_wait(ready)).map(|()| None);
            }
        }
        let shape = || Shape::of(TAG_ALLTOALL, 0, send.as_ref(), Some(&recv), None);
        self.gather_like(comm, mode, shape, |st| Self::alltoall_sched(st, comm, send.as_ref(), &recv))
    }
}
