//! Collectives as schedules: what a collective does, as data the progress engine advances.
//!
//! A [`Schedule`] is a list of rounds. A round starts its sends and receives all at once; when
//! every one of them is complete, its local steps (reductions, copies, packing) run in order,
//! and the next round starts. Nothing else orders steps: a receive and a send of one round may
//! complete in any order, and a round's local steps never run while one of its messages is in
//! flight, so a round may send a buffer and reduce into it afterwards.
//!
//! A schedule owns its scratch memory and refers to the application's buffers through
//! [`UserBuf`] (and scattered ones through [`Buf`], packed into scratch when the schedule
//! starts and unpacked at its end). It knows no transport and no communicator: messages go
//! through a [`Wire`], which names peers by communicator rank ([`Peer`]) and turns the
//! schedule's small tags into real ones. The engine's wire makes protocol requests on the
//! communicator's collective context; [`Schedule::run_blocking`] runs a schedule over a
//! blocking [`CollPeer`] instead (context agreements, tests). So one builder per algorithm
//! serves blocking, nonblocking and persistent collectives alike, and a persistent collective
//! is a schedule built once and [`restart`](Schedule::restart)ed.
//!
//! The builders (`barrier`, `bcast`, ...) are the algorithms `collective.rs` documents, with
//! its combination order: an operand covering lower ranks is always the `in` operand of
//! [`op::apply`], so every rank of an allreduce computes bit-identical results and a
//! non-commutative operation is applied in rank order. They assume checked arguments
//! (`collective.rs` and `nbc.rs` check them).
//!
//! A combination with a user-defined operation ([`Op::User`]) is not run by [`advance`]
//! itself, which runs under the engine's lock: the user function may call MPI. The schedule
//! stops there and hands the step out ([`Schedule::take_user_step`]); whoever drives it runs
//! the [`UserStep`] with the lock released, and the next `advance` goes on from there.
//! Operands of user operations are staged as the memory span of their datatype
//! ([`Schedule::stage_span`]), the layout the function reads.
//!
//! [`advance`]: Schedule::advance

use std::sync::{Arc, Mutex};

use crate::buffer::{Buf, UserBuf};
use crate::collective::CollPeer;
use crate::error::{fail, ErrorClass, Result};
use crate::op::{self, Op};
use crate::protocol::ReqId;

/// Bytes in a page, for [`Schedule::scratch`]'s placement.
const PAGE: usize = 4096;

/// What a reducing collective combines with: the operation, and the number of elements one
/// whole operand holds (what a user function is called with; a predefined operation works on
/// whole packed elements and needs no count).
#[derive(Clone, Debug)]
pub struct Reduction {
    pub op: Op,
    pub count: usize,
}

/// Who a message goes to or comes from: a rank of the local group, or of the remote group of
/// an intercommunicator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    Local(usize),
    Remote(usize),
}

/// A byte range of one of the schedule's buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    buf: usize,
    off: usize,
    len: usize,
}

impl Range {
    /// The empty range (messages without data).
    pub const EMPTY: Range = Range { buf: 0, off: 0, len: 0 };

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The sub-range `off..off+len` (clamped).
    pub fn slice(&self, off: usize, len: usize) -> Range {
        let off = off.min(self.len);
        Range { buf: self.buf, off: self.off + off, len: len.min(self.len - off) }
    }
}

#[derive(Debug)]
enum Step {
    Send { to: Peer, tag: i32, data: Range },
    Recv { from: Peer, tag: i32, into: Range },
    /// `inout = input op inout` over `count` elements (see [`Reduction`]).
    Reduce { op: Op, count: usize, input: Range, inout: Range },
    Copy { from: Range, to: Range },
    /// Packs scattered buffer `typed[from]` into `to`.
    Pack { from: usize, to: Range },
    /// Unpacks `from` into scattered buffer `typed[to]`.
    Unpack { from: Range, to: usize },
    /// Writes the data of scattered buffer `typed[to]` from `from`, which holds it in the
    /// buffer's memory layout (its span, [`Schedule::stage_span`]): the gaps of the
    /// application's memory are left as they are.
    Store { from: Range, to: usize },
}

/// A scattered application buffer and the schedule's scratch range standing for it: its
/// packed stream, or its memory span (`span`, for a user operation's operand).
struct Scattered {
    buf: Buf,
    at: Range,
    span: bool,
}

/// Where a handed-out user step reports its result.
type UserResult = Arc<Mutex<Option<Result<()>>>>;

/// A combination with a user-defined operation, taken out of its schedule to run without the
/// engine's lock (module doc). Its buffers are the schedule's (scratch it owns, application
/// memory its request holds); the schedule waits at this step, touching neither, until
/// [`run`](UserStep::run) has reported, and its owner keeps it alive meanwhile (a running
/// collective request can be neither freed nor restarted).
pub struct UserStep {
    op: Op,
    count: usize,
    input: UserBuf,
    inout: UserBuf,
    result: UserResult,
}

impl std::fmt::Debug for UserStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UserStep({:?} on {} elements)", self.op, self.count)
    }
}

impl UserStep {
    /// Calls the user function (the caller holds no lock the function could need).
    pub fn run(self) {
        // The two ranges are distinct: the builders never reduce a range into itself.
        let r = op::apply(&self.op, self.inout.bytes_mut(), self.input.bytes(), self.count);
        *self.result.lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
    }
}

impl Step {
    fn is_message(&self) -> bool {
        matches!(self, Step::Send { .. } | Step::Recv { .. })
    }
}

/// How a schedule's messages travel (the engine's protocol requests, or a test network).
pub trait Wire {
    /// Starts sending `data` to `to`; `None` when it has already left and needs no request.
    fn send(&mut self, to: Peer, tag: i32, data: UserBuf) -> Result<Option<ReqId>>;
    /// Posts the receive of a message from `from` into `into`.
    fn recv(&mut self, from: Peer, tag: i32, into: UserBuf) -> Result<ReqId>;
    /// Whether request `r` is complete (it is then released). A message longer than its
    /// buffer is an error.
    fn done(&mut self, r: ReqId) -> Result<bool>;
    /// Lets request `r` go on without anyone waiting for it (a failed schedule's).
    fn forget(&mut self, r: ReqId);
}

/// A collective in progress, or ready to start again (module doc).
pub struct Schedule {
    steps: Vec<Step>,
    /// Index in `steps` where each round begins.
    rounds: Vec<usize>,
    /// Buffer table: `bufs[0]` is empty; then user ranges and scratch.
    bufs: Vec<UserBuf>,
    /// Scattered application buffers and their scratch ranges, packed and unpacked by
    /// `Pack` / `Unpack` (or copied and stored by `Copy` / `Store`).
    typed: Vec<Scattered>,
    /// The scratch memory `bufs` points into; never resized while the schedule lives, so
    /// the pointers stay valid (the boxes move with the schedule, their contents do not).
    scratch: Vec<Box<[u8]>>,
    /// Scratch memory of an earlier use, kept by `clear` for the next build.
    pool: Vec<Box<[u8]>>,
    /// Where in a page the first application buffer starts: large scratch starts at the same
    /// offset ([`scratch`](Self::scratch) says why).
    page_offset: Option<usize>,
    /// Round in progress, and whether its messages were started.
    round: usize,
    started: bool,
    pending: Vec<ReqId>,
    /// The next local step of the round in progress, once its messages are done (local
    /// steps resume there after a user step).
    next_local: Option<usize>,
    /// A user step made and not yet taken by the driver, and the result of the one out.
    handout: Option<UserStep>,
    user_result: Option<UserResult>,
}

impl std::fmt::Debug for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Schedule({} steps in {} rounds, at round {})", self.steps.len(), self.rounds.len(), self.round)
    }
}

impl Default for Schedule {
    fn default() -> Schedule {
        Schedule::new()
    }
}

impl Schedule {
    pub fn new() -> Schedule {
        // Sized for the small collectives, whose cost is mostly this bookkeeping.
        let mut bufs = Vec::with_capacity(4);
        bufs.push(UserBuf::EMPTY);
        Schedule {
            steps: Vec::with_capacity(16),
            rounds: Vec::with_capacity(8),
            bufs,
            typed: Vec::new(),
            scratch: Vec::new(),
            pool: Vec::new(),
            page_offset: None,
            round: 0,
            started: false,
            pending: Vec::with_capacity(4),
            next_local: None,
            handout: None,
            user_result: None,
        }
    }

    // ---- building ------------------------------------------------------------------------

    /// An application buffer the schedule reads or writes.
    pub fn user(&mut self, b: UserBuf) -> Range {
        if self.page_offset.is_none() && !b.is_empty() {
            self.page_offset = Some(b.addr() % PAGE);
        }
        self.push(b)
    }

    fn push(&mut self, b: UserBuf) -> Range {
        self.bufs.push(b);
        Range { buf: self.bufs.len() - 1, off: 0, len: b.len() }
    }

    /// Empties the schedule for another build, keeping its memory: the blocking collectives
    /// reuse one schedule (`nbc.rs`), so that a small one allocates nothing.
    pub fn clear(&mut self) {
        self.steps.clear();
        self.rounds.clear();
        self.bufs.truncate(1);
        self.typed.clear();
        self.pool.append(&mut self.scratch);
        self.page_offset = None;
        self.restart();
    }

    /// `len` bytes of scratch memory owned by the schedule (contents undefined: every
    /// builder writes scratch before reading it).
    ///
    /// Scratch of a page or more starts at the same offset within a page as the collective's
    /// first application buffer. Copying or combining between two buffers whose offsets differ
    /// by a little (a page-aligned user buffer and heap memory 16 bytes past a page, say)
    /// makes every load wait on an unrelated store to the same address bits ("4K aliasing"):
    /// a 256 KiB reduce at 2 ranks took 190 us instead of 45 when the application's buffers
    /// were page-aligned, in the leaf's copy into scratch and the kernel's copy out of it.
    pub fn scratch(&mut self, len: usize) -> Range {
        let (room, offset) = match self.page_offset {
            Some(offset) if len >= PAGE => (len + PAGE, Some(offset)),
            _ => (len, None),
        };
        let mut mem = match self.pool.iter().position(|m| m.len() >= room) {
            Some(i) => self.pool.swap_remove(i),
            None => vec![0u8; room].into_boxed_slice(),
        };
        let start = offset.map_or(0, |o| (o + PAGE - mem.as_ptr() as usize % PAGE) % PAGE);
        let b = UserBuf::from_slice(&mut mem[start..start + len]);
        self.scratch.push(mem);
        self.push(b)
    }

    /// A buffer as one range: a contiguous one where it lies; a scattered one in scratch,
    /// packed from the application's memory when the schedule starts if `read` (unpacked
    /// back by [`unstage`](Self::unstage)).
    pub fn stage(&mut self, b: &Buf, read: bool) -> Range {
        match b {
            Buf::Contig(u) => self.user(*u),
            Buf::Typed(_) => {
                let r = self.scratch(b.len());
                self.typed.push(Scattered { buf: b.clone(), at: r, span: false });
                if read {
                    self.local(Step::Pack { from: self.typed.len() - 1, to: r });
                }
                r
            }
        }
    }

    /// A buffer as the memory span of its data, gaps included (what a user operation reads):
    /// a contiguous one where it lies; a scattered one in scratch, copied from the
    /// application's span when the schedule starts if `read`, its data written back through
    /// its type map by [`unstage`](Self::unstage) (never the gaps).
    pub fn stage_span(&mut self, b: &Buf, read: bool) -> Result<Range> {
        match b {
            Buf::Contig(u) => Ok(self.user(*u)),
            Buf::Typed(t) => {
                let span = t.span()?;
                let r = self.scratch(span.len());
                if read {
                    let from = self.user(span);
                    self.copy(from, r);
                }
                self.typed.push(Scattered { buf: b.clone(), at: r, span: true });
                Ok(r)
            }
        }
    }

    /// Writes a range `stage` or `stage_span` made for a scattered buffer back into it, after
    /// the current round's messages (nothing for a contiguous one).
    pub fn unstage(&mut self, r: Range) {
        if let Some(i) = self.typed.iter().position(|t| t.at == r) {
            let step = if self.typed[i].span { Step::Store { from: r, to: i } } else { Step::Unpack { from: r, to: i } };
            self.local(step);
        }
    }

    fn message(&mut self, s: Step) {
        // A message after a local step belongs to the next round (its data may be that
        // step's result).
        let round_start = self.rounds.last().copied();
        match round_start {
            Some(start) if !self.steps[start..].iter().any(|s| !s.is_message()) => {}
            _ => self.rounds.push(self.steps.len()),
        }
        self.steps.push(s);
    }

    fn local(&mut self, s: Step) {
        if self.rounds.is_empty() {
            self.rounds.push(0);
        }
        self.steps.push(s);
    }

    pub fn send(&mut self, to: Peer, tag: i32, data: Range) {
        self.message(Step::Send { to, tag, data });
    }

    pub fn recv(&mut self, from: Peer, tag: i32, into: Range) {
        self.message(Step::Recv { from, tag, into });
    }

    /// `inout = input op inout`, after the current round's messages.
    pub fn reduce(&mut self, red: &Reduction, input: Range, inout: Range) {
        self.local(Step::Reduce { op: red.op.clone(), count: red.count, input, inout });
    }

    pub fn copy(&mut self, from: Range, to: Range) {
        if from != to {
            self.local(Step::Copy { from, to });
        }
    }

    /// Where the next step goes: pass it to [`remap`](Self::remap) after building over a
    /// subgroup.
    pub fn mark(&self) -> usize {
        self.steps.len()
    }

    /// Renames the local peers of the steps added since `mark`: a builder run over a subgroup
    /// numbered its members `0..n`; `members[i]` is member `i`'s rank in the communicator.
    pub fn remap(&mut self, mark: usize, members: &[usize]) {
        for step in &mut self.steps[mark..] {
            if let Step::Send { to: Peer::Local(r), .. } | Step::Recv { from: Peer::Local(r), .. } = step {
                // Out of range is a builder's bug: the engine's wire refuses rank MAX.
                *r = members.get(*r).copied().unwrap_or(usize::MAX);
            }
        }
    }

    /// Ends the current round: later messages wait for it to complete.
    pub fn end_round(&mut self) {
        if self.rounds.last().is_some_and(|&s| s < self.steps.len()) {
            self.rounds.push(self.steps.len());
        }
    }

    /// Number of rounds (messages of one round travel at once).
    pub fn rounds(&self) -> usize {
        self.rounds.iter().filter(|&&s| s < self.steps.len()).count()
    }

    // ---- running -------------------------------------------------------------------------

    fn buf(&self, r: Range) -> UserBuf {
        self.bufs[r.buf].slice(r.off, r.len)
    }

    fn round_steps(&self, round: usize) -> std::ops::Range<usize> {
        let start = self.rounds[round];
        let end = self.rounds.get(round + 1).copied().unwrap_or(self.steps.len());
        start..end.max(start)
    }

    /// Runs a local step; a user operation's too (only `run_blocking` asks for that: the
    /// engine's schedules hand those out).
    fn run_local(&self, s: &Step) -> Result<()> {
        match *s {
            Step::Reduce { ref op, count, input, inout } => {
                let (a, b) = (self.buf(input), self.buf(inout));
                if a.len() != b.len() {
                    return fail(ErrorClass::Intern, "schedule reduces ranges of different lengths");
                }
                // Distinct ranges of distinct buffers (the builders never overlap them).
                match *op {
                    Op::Builtin { op, kind } => op::reduce_packed(op, kind, b.bytes_mut(), a.bytes()),
                    Op::User { .. } => op::apply(op, b.bytes_mut(), a.bytes(), count),
                }
            }
            Step::Copy { from, to } => {
                let (a, b) = (self.buf(from), self.buf(to));
                let n = a.len().min(b.len());
                // SAFETY: both ranges are valid under `UserBuf`'s contract; `copy` allows overlap.
                unsafe { std::ptr::copy(a.bytes().as_ptr(), b.bytes_mut().as_mut_ptr(), n) };
                Ok(())
            }
            Step::Pack { from, to } => {
                self.typed[from].buf.read_at(0, self.buf(to).bytes_mut());
                Ok(())
            }
            Step::Unpack { from, to } => {
                self.typed[to].buf.write_at(0, self.buf(from).bytes());
                Ok(())
            }
            Step::Store { from, to } => {
                let Buf::Typed(t) = &self.typed[to].buf else {
                    return fail(ErrorClass::Intern, "schedule stores into a contiguous buffer");
                };
                // The data moves as the packed stream of the span's copy, a piece at a time.
                let copy = Buf::Typed(t.over(self.buf(from))?);
                let dest = &self.typed[to].buf;
                let mut piece = [0u8; 4096];
                let mut off = 0;
                while off < dest.len() {
                    let n = copy.read_at(off, &mut piece);
                    dest.write_at(off, &piece[..n]);
                    off += n.max(1);
                }
                Ok(())
            }
            Step::Send { .. } | Step::Recv { .. } => Ok(()),
        }
    }

    /// Advances as far as possible without waiting: `Ok(true)` once every round is done.
    /// Each call does at most one pass over the rounds, starting each one's messages once.
    /// On an error the schedule's requests still in flight are forgotten.
    pub fn advance(&mut self, w: &mut dyn Wire) -> Result<bool> {
        let r = self.advance_inner(w);
        if r.is_err() {
            for p in self.pending.drain(..) {
                w.forget(p);
            }
        }
        r
    }

    fn advance_inner(&mut self, w: &mut dyn Wire) -> Result<bool> {
        while self.round < self.rounds.len() {
            let range = self.round_steps(self.round);
            if !self.started {
                self.started = true;
                for i in range.clone() {
                    match self.steps[i] {
                        Step::Send { to, tag, data } => {
                            if let Some(r) = w.send(to, tag, self.buf(data))? {
                                self.pending.push(r);
                            }
                        }
                        Step::Recv { from, tag, into } => {
                            let r = w.recv(from, tag, self.buf(into))?;
                            self.pending.push(r);
                        }
                        _ => {}
                    }
                }
            }
            let mut i = 0;
            while i < self.pending.len() {
                if w.done(self.pending[i])? {
                    self.pending.swap_remove(i);
                } else {
                    i += 1;
                }
            }
            if !self.pending.is_empty() {
                return Ok(false);
            }
            let first = self.next_local.unwrap_or(range.start).max(range.start);
            for i in first..range.end {
                if let Step::Reduce { op: op @ Op::User { .. }, count, input, inout } = &self.steps[i] {
                    match self.user_result.take() {
                        None => {
                            let result: UserResult = Arc::default();
                            let (input, inout) = (self.buf(*input), self.buf(*inout));
                            if input.len() != inout.len() {
                                return fail(ErrorClass::Intern, "schedule reduces ranges of different lengths");
                            }
                            self.handout = Some(UserStep { op: op.clone(), count: *count, input, inout, result: result.clone() });
                            self.user_result = Some(result);
                            self.next_local = Some(i);
                            return Ok(false);
                        }
                        Some(result) => {
                            let outcome = result.lock().unwrap_or_else(|p| p.into_inner()).take();
                            match outcome {
                                None => {
                                    self.user_result = Some(result);
                                    self.next_local = Some(i);
                                    return Ok(false);
                                }
                                Some(r) => r?,
                            }
                        }
                    }
                } else {
                    self.run_local(&self.steps[i])?;
                }
            }
            self.next_local = None;
            self.round += 1;
            self.started = false;
        }
        Ok(true)
    }

    /// The user step the last `advance` stopped at, for its driver to run outside the engine's
    /// lock (module doc); `None` when it stopped for messages, or the step is already out.
    pub fn take_user_step(&mut self) -> Option<UserStep> {
        self.handout.take()
    }

    /// Whether every round is done.
    pub fn is_done(&self) -> bool {
        self.round >= self.rounds.len()
    }

    /// Makes a completed schedule ready to run again (persistent collectives).
    pub fn restart(&mut self) {
        self.round = 0;
        self.started = false;
        self.pending.clear();
        self.next_local = None;
        self.handout = None;
        self.user_result = None;
    }

    /// Runs the whole schedule over a blocking peer: a round's single receive is a
    /// `sendrecv` with its first send; its other sends follow one by one. Rounds with several
    /// receives, and remote peers, need the engine (`MPI_ERR_INTERN` here).
    pub fn run_blocking(&mut self, p: &mut dyn CollPeer) -> Result<()> {
        for round in 0..self.rounds.len() {
            let range = self.round_steps(round);
            let mut sends = Vec::new();
            let mut recv = None;
            for i in range.clone() {
                match self.steps[i] {
                    Step::Send { to: Peer::Local(to), tag, data } => sends.push((to, tag, data)),
                    Step::Recv { from: Peer::Local(from), tag, into } if recv.is_none() => recv = Some((from, tag, into)),
                    Step::Send { .. } | Step::Recv { .. } => {
                        return fail(ErrorClass::Intern, "this schedule cannot run over a blocking collective peer");
                    }
                    _ => {}
                }
            }
            let mut rest = &sends[..];
            if let Some((from, rtag, into)) = recv {
                let into = self.buf(into);
                match sends.first() {
                    Some(&(to, stag, data)) => {
                        p.sendrecv(to, stag, self.buf(data).bytes(), from, rtag, into.bytes_mut())?;
                        rest = &sends[1..];
                    }
                    None => p.recv(from, rtag, into.bytes_mut())?,
                }
            }
            for &(to, tag, data) in rest {
                p.send(to, tag, self.buf(data).bytes())?;
            }
            for i in range {
                self.run_local(&self.steps[i])?;
            }
        }
        self.round = self.rounds.len();
        Ok(())
    }
}

// ---- algorithms (collective.rs's module doc) ---------------------------------------------

/// Dissemination barrier: in round k every rank signals `rank + 2^k` and waits for
/// `rank - 2^k` (mod size).
pub fn barrier(s: &mut Schedule, rank: usize, size: usize, tag: i32) {
    let mut dist = 1;
    while dist < size {
        s.send(Peer::Local((rank + dist) % size), tag, Range::EMPTY);
        s.recv(Peer::Local((rank + size - dist) % size), tag, Range::EMPTY);
        s.end_round();
        dist <<= 1;
    }
}

/// Binomial-tree broadcast of `buf` from `root`.
pub fn bcast(s: &mut Schedule, rank: usize, size: usize, root: usize, buf: Range, tag: i32) {
    if size == 1 || buf.is_empty() {
        return;
    }
    let vrank = (rank + size - root) % size;
    let real = |v: usize| Peer::Local((v + root) % size);
    // Receive from the parent: the rank that differs in our lowest set bit.
    let mut mask = 1;
    while mask < size {
        if vrank & mask != 0 {
            s.recv(real(vrank - mask), tag, buf);
            s.end_round();
            break;
        }
        mask <<= 1;
    }
    // Send to the children below that bit, farthest subtree first, all at once.
    mask >>= 1;
    while mask > 0 {
        if vrank + mask < size {
            s.send(real(vrank + mask), tag, buf);
        }
        mask >>= 1;
    }
    s.end_round();
}

/// Binomial reduction towards `root`; `acc` holds this rank's contribution and is used as
/// scratch (on the root it ends with the result).
pub fn reduce_tree(s: &mut Schedule, rank: usize, size: usize, root: usize, acc: Range, red: &Reduction, tag: i32) {
    reduce_tree_from(s, rank, size, root, acc, Some(acc), red, tag);
}

/// [`reduce_tree`] of the contribution in `mine`, never copied first: the first child's data
/// is received straight into the accumulator and `mine` combined into it, and a leaf sends
/// `mine` itself. The accumulator is `acc` (on the root it ends with the result), or with
/// `None` scratch made only if the rank has children. Returns where this rank's combination
/// lies (on a leaf, `mine`).
#[allow(clippy::too_many_arguments)]
pub fn reduce_tree_from(s: &mut Schedule, rank: usize, size: usize, root: usize, mine: Range, acc: Option<Range>, red: &Reduction, tag: i32) -> Range {
    // Where what this rank has combined so far lies: `mine` until a child's data comes in.
    let mut held = mine;
    if size > 1 && !mine.is_empty() {
        let vrank = (rank + size - root) % size;
        let real = |v: usize| Peer::Local((v + root) % size);
        let mut tmp = None;
        let mut mask = 1;
        while mask < size {
            if vrank & mask == 0 {
                let child = vrank | mask;
                if child < size {
                    // `held` covers vranks [vrank, child), the child's data [child, child + mask):
                    // ours is the earlier operand.
                    if held == mine && acc != Some(mine) {
                        let into = acc.unwrap_or_else(|| s.scratch(mine.len()));
                        s.recv(real(child), tag, into);
                        s.reduce(red, mine, into);
                        held = into;
                    } else {
                        let t = *tmp.get_or_insert_with(|| s.scratch(held.len()));
                        s.recv(real(child), tag, t);
                        combine(s, red, held, t, false);
                    }
                }
            } else {
                s.send(real(vrank & !mask), tag, held);
                s.end_round();
                return held;
            }
            mask <<= 1;
        }
    }
    // The root: its result belongs in `acc` (a tree of one has combined nothing).
    match acc {
        Some(acc) if acc != held => {
            s.copy(held, acc);
            acc
        }
        _ => held,
    }
}

/// Reduce: `send` is this rank's contribution (`None`: `MPI_IN_PLACE` at the root, whose
/// contribution is in `recv`); `recv` receives the result on `root` (unused elsewhere).
///
/// The tree's vranks are ranks relative to the root, which is rank order only when the root
/// is 0: a non-commutative operation reduces towards rank 0 instead, which sends the result
/// to the root (as MPICH does).
#[allow(clippy::too_many_arguments)]
pub fn reduce(s: &mut Schedule, rank: usize, size: usize, root: usize, send: Option<Range>, recv: Range, red: &Reduction, tag: i32) {
    if root != 0 && size > 1 && !red.op.commutative() {
        let result = reduce_tree_from(s, rank, size, 0, send.unwrap_or(recv), None, red, tag);
        s.end_round();
        // Rank 0 sends nothing else to the root: in the tree it only receives.
        if rank == 0 {
            s.send(Peer::Local(root), tag, result);
        } else if rank == root {
            s.recv(Peer::Local(0), tag, recv);
        }
        s.end_round();
    } else if rank == root {
        reduce_tree_from(s, rank, size, root, send.unwrap_or(recv), Some(recv), red, tag);
    } else if let Some(send) = send {
        reduce_tree_from(s, rank, size, root, send, None, red, tag);
    }
}

/// Allreduce with `buf` as both contribution and result: recursive doubling, with MPICH's
/// treatment of a size that is not a power of two ([`fold`], [`unfold`]).
pub fn allreduce(s: &mut Schedule, rank: usize, size: usize, buf: Range, red: &Reduction, tag: i32) {
    if size == 1 || buf.is_empty() {
        return;
    }
    let tmp = s.scratch(buf.len());
    let core = fold(s, rank, size, buf, tmp, red, tag);
    // Recursive doubling among the core ranks; core rank order follows rank order.
    if let Some(core) = core {
        let mut mask = 1;
        while mask < core.size {
            let partner = core.rank ^ mask;
            let dst = Peer::Local(core.real(partner));
            s.send(dst, tag, buf);
            s.recv(dst, tag, tmp);
            combine(s, red, buf, tmp, partner < core.rank);
            s.end_round();
            mask <<= 1;
        }
    }
    unfold(s, rank, size, buf, tag);
}

/// Combines `theirs`, a partner's operand just received, into `mine` in rank order:
/// `theirs_lower` says whether it covers the lower ranks, whose operand must be `in`
/// (collective.rs's combination order). Scratch `theirs` holds the result too when ours is
/// the lower one.
fn combine(s: &mut Schedule, red: &Reduction, mine: Range, theirs: Range, theirs_lower: bool) {
    if theirs_lower {
        s.reduce(red, theirs, mine);
    } else {
        s.reduce(red, mine, theirs);
        s.copy(theirs, mine);
    }
}

/// The power-of-two group of ranks that [`fold`] leaves to do a reduction's main work.
#[derive(Clone, Copy, Debug)]
struct Core {
    /// This rank's place in the core.
    rank: usize,
    /// The largest power of two not above the communicator's size.
    size: usize,
    /// Ranks beyond the power of two: the first `2 * rem` ranks were folded in pairs.
    rem: usize,
}

impl Core {
    /// The communicator rank of core rank `c`.
    fn real(&self, c: usize) -> usize {
        if c < self.rem {
            c * 2 + 1
        } else {
            c + self.rem
        }
    }
}

/// Folds a size that is not a power of two into a power-of-two core (MPICH's scheme): among
/// the first `2 * rem` ranks, each even rank hands its data to the odd rank above it and sits
/// out (`None`); the odd one reduces it into `buf` (the lower rank's data is `in`) and becomes
/// core rank `rank / 2`; rank `r >= 2 * rem` is core rank `r - rem`. Core rank order follows
/// rank order, so combining in core rank order is combining in rank order. `tmp` is scratch
/// of `buf`'s length.
fn fold(s: &mut Schedule, rank: usize, size: usize, buf: Range, tmp: Range, red: &Reduction, tag: i32) -> Option<Core> {
    let pof2 = 1usize << (usize::BITS - 1 - size.leading_zeros());
    let rem = size - pof2;
    let core = |rank| Core { rank, size: pof2, rem };
    if rank >= 2 * rem {
        return Some(core(rank - rem));
    }
    if rank % 2 == 0 {
        s.send(Peer::Local(rank + 1), tag, buf);
        s.end_round();
        None
    } else {
        s.recv(Peer::Local(rank - 1), tag, tmp);
        s.reduce(red, tmp, buf);
        Some(core(rank / 2))
    }
}

/// The end of an allreduce [`fold`] began: each odd rank of the first `2 * rem` returns the
/// result in `buf` to the even rank that sat out.
fn unfold(s: &mut Schedule, rank: usize, size: usize, buf: Range, tag: i32) {
    let rem = size - (1usize << (usize::BITS - 1 - size.leading_zeros()));
    if rank < 2 * rem {
        if rank % 2 == 0 {
            s.recv(Peer::Local(rank + 1), tag, buf);
        } else {
            s.send(Peer::Local(rank - 1), tag, buf);
        }
        s.end_round();
    }
}

/// One round of a neighbour exchange: every receive, then every send, at once.
/// `recvs[j]` is filled from `sources[j]`, `sends[i]` goes to `destinations[i]` (`None`:
/// `MPI_PROC_NULL`, skipped), with the tags given.
pub fn neighbor(s: &mut Schedule, recvs: &[(Option<usize>, i32, Range)], sends: &[(Option<usize>, i32, Range)]) {
    for &(from, tag, into) in recvs {
        if let Some(from) = from {
            s.recv(Peer::Local(from), tag, into);
        }
    }
    for &(to, tag, data) in sends {
        if let Some(to) = to {
            s.send(Peer::Local(to), tag, data);
        }
    }
    s.end_round();
}

/// The number of vranks in the binomial subtree rooted at `vrank` (of a tree over `size`
/// vranks rooted at 0): up to its lowest set bit, clipped at the end.
fn subtree(vrank: usize, size: usize) -> usize {
    let span = if vrank == 0 { size.next_power_of_two() } else { 1 << vrank.trailing_zeros() };
    span.min(size - vrank)
}

/// Binomial gather to `root`: every rank sends the blocks of its subtree (vranks
/// `vrank..vrank + subtree`) to its parent once its children's have arrived, so a block
/// travels `log2(size)` hops at most and the root receives `log2(size)` messages. `send` is
/// this rank's block (`None`: `MPI_IN_PLACE` at the root, whose block is already in `recv`);
/// `recv` (the root's only) has `size` blocks of `send`'s length, in rank order.
pub fn gather(s: &mut Schedule, rank: usize, size: usize, root: usize, send: Option<Range>, recv: Range, tag: i32) {
    let blk = match send {
        Some(b) => b.len(),
        None => recv.len() / size.max(1),
    };
    let vrank = (rank + size - root) % size;
    let real = |v: usize| Peer::Local((v + root) % size);
    let sub = subtree(vrank, size);
    // The subtree's blocks in vrank order: the root's whole buffer when vranks are ranks,
    // else scratch (rotated into place at the root at the end).
    let tmp = if root == 0 && rank == 0 { recv } else { s.scratch(sub * blk) };
    match send {
        Some(b) => s.copy(b, tmp.slice(0, blk)),
        None => s.copy(recv.slice(rank * blk, blk), tmp.slice(0, blk)),
    }
    if blk == 0 || size == 1 {
        return;
    }
    // Every child's subtree at once, into its place.
    let mut mask = 1;
    while mask < sub {
        let child = vrank + mask;
        s.recv(real(child), tag, tmp.slice(mask * blk, subtree(child, size) * blk));
        mask <<= 1;
    }
    s.end_round();
    if vrank != 0 {
        s.send(real(vrank - (1 << vrank.trailing_zeros())), tag, tmp.slice(0, sub * blk));
        s.end_round();
    } else if root != 0 {
        // vranks root.. are ranks root..size-1, the rest wrap to 0..root.
        let n = size - root;
        s.copy(tmp.slice(0, n * blk), recv.slice(root * blk, n * blk));
        s.copy(tmp.slice(n * blk, root * blk), recv.slice(0, root * blk));
    }
}

/// Binomial scatter from `root`, gather's mirror image: a rank receives its subtree's blocks
/// from its parent, then hands each child its own subtree's part. `send` (the root's only) has
/// `size` blocks of `recv`'s length in rank order; `recv` gets this rank's block (`None`:
/// `MPI_IN_PLACE` at the root, which keeps its block where it is).
pub fn scatter(s: &mut Schedule, rank: usize, size: usize, root: usize, send: Range, recv: Option<Range>, tag: i32) {
    let blk = match recv {
        Some(r) => r.len(),
        None => send.len() / size.max(1),
    };
    let vrank = (rank + size - root) % size;
    let real = |v: usize| Peer::Local((v + root) % size);
    let sub = subtree(vrank, size);
    let tmp = if vrank == 0 {
        if root == 0 {
            send
        } else {
            let t = s.scratch(size * blk);
            let n = size - root;
            s.copy(send.slice(root * blk, n * blk), t.slice(0, n * blk));
            s.copy(send.slice(0, root * blk), t.slice(n * blk, root * blk));
            t
        }
    } else if sub == 1 {
        // A leaf receives straight into its buffer.
        recv.unwrap_or(Range::EMPTY)
    } else {
        s.scratch(sub * blk)
    };
    if blk > 0 && size > 1 {
        if vrank != 0 {
            s.recv(real(vrank - (1 << vrank.trailing_zeros())), tag, tmp.slice(0, sub * blk));
            s.end_round();
        }
        let mut mask = 1;
        while mask < sub {
            let child = vrank + mask;
            s.send(real(child), tag, tmp.slice(mask * blk, subtree(child, size) * blk));
            mask <<= 1;
        }
        s.end_round();
    }
    if let Some(r) = recv {
        if !(vrank != 0 && sub == 1) {
            s.copy(tmp.slice(0, blk), r);
        }
    }
}

/// Allgather into `recv` (`size` blocks in rank order), this rank's block already in place
/// (the caller copies it, or it is there with `MPI_IN_PLACE`), by recursive doubling:
/// `log2(size)` rounds, each doubling the blocks a rank holds. `size` must be a power of two.
pub fn allgather_recursive_doubling(s: &mut Schedule, rank: usize, size: usize, recv: Range, tag: i32) {
    let blk = recv.len() / size.max(1);
    if size == 1 || blk == 0 {
        return;
    }
    let mut mask = 1;
    while mask < size {
        let partner = rank ^ mask;
        // We hold the blocks of the aligned group of `mask` ranks around us, the partner
        // those of its own.
        s.send(Peer::Local(partner), tag, recv.slice((rank & !(mask - 1)) * blk, mask * blk));
        s.recv(Peer::Local(partner), tag, recv.slice((partner & !(mask - 1)) * blk, mask * blk));
        s.end_round();
        mask <<= 1;
    }
}

/// Allgather (as [`allgather_recursive_doubling`]) around a ring: `size - 1` rounds of one
/// block each, passed on to the right. Any size; each block moves once per link.
pub fn allgather_ring(s: &mut Schedule, rank: usize, size: usize, recv: Range, tag: i32) {
    let blk = recv.len() / size.max(1);
    if size == 1 || blk == 0 {
        return;
    }
    let (right, left) = ((rank + 1) % size, (rank + size - 1) % size);
    for k in 0..size - 1 {
        let out = (rank + size - k) % size;
        let inc = (rank + size - k - 1) % size;
        s.send(Peer::Local(right), tag, recv.slice(out * blk, blk));
        s.recv(Peer::Local(left), tag, recv.slice(inc * blk, blk));
        s.end_round();
    }
}

/// Allgather (as [`allgather_recursive_doubling`]) by Bruck's algorithm: `ceil(log2 size)`
/// rounds on any size. Scratch holds the blocks of ranks `rank, rank + 1, ...` in that order;
/// in the round at distance `d` a rank sends its first `d` blocks (fewer in the last round)
/// to `rank - d` and appends those of `rank + d`; a rotation puts them in place at the end.
pub fn allgather_bruck(s: &mut Schedule, rank: usize, size: usize, recv: Range, tag: i32) {
    let blk = recv.len() / size.max(1);
    if size == 1 || blk == 0 {
        return;
    }
    let tmp = s.scratch(size * blk);
    s.copy(recv.slice(rank * blk, blk), tmp.slice(0, blk));
    let mut have = 1;
    while have < size {
        let n = have.min(size - have);
        s.send(Peer::Local((rank + size - have) % size), tag, tmp.slice(0, n * blk));
        s.recv(Peer::Local((rank + have) % size), tag, tmp.slice(have * blk, n * blk));
        s.end_round();
        have += n;
    }
    let upper = size - rank;
    s.copy(tmp.slice(0, upper * blk), recv.slice(rank * blk, upper * blk));
    s.copy(tmp.slice(upper * blk, rank * blk), recv.slice(0, rank * blk));
}

/// Alltoall by pairwise exchange: this rank's own block is copied, then in round k it sends
/// to `rank + k` and receives from `rank - k` (with a power-of-two size, the partner
/// `rank ^ k` both ways), so each round is one message each way per rank. `send` and `recv`
/// have `size` blocks each, in rank order; `send == None` is `MPI_IN_PLACE` (the data to send
/// is in `recv`, copied to scratch first).
pub fn alltoall(s: &mut Schedule, rank: usize, size: usize, send: Option<Range>, recv: Range, tag: i32) {
    let rblk = recv.len() / size.max(1);
    let send = match send {
        Some(b) => b,
        None => {
            if size == 1 {
                return;
            }
            let t = s.scratch(recv.len());
            s.copy(recv, t);
            t
        }
    };
    let sblk = send.len() / size.max(1);
    s.copy(send.slice(rank * sblk, sblk), recv.slice(rank * rblk, rblk));
    if sblk == 0 && rblk == 0 {
        return;
    }
    for k in 1..size {
        let (to, from) = if size.is_power_of_two() { (rank ^ k, rank ^ k) } else { ((rank + k) % size, (rank + size - k) % size) };
        s.send(Peer::Local(to), tag, send.slice(to * sblk, sblk));
        s.recv(Peer::Local(from), tag, recv.slice(from * rblk, rblk));
        s.end_round();
    }
}

/// Alltoall (as [`alltoall`]) by Bruck's algorithm, for small blocks: `ceil(log2 size)`
/// rounds instead of `size - 1`, each block travelling up to `log2 size` hops. Scratch holds
/// the block for rank `rank + i` at position `i`; in the round at distance `d` a rank sends
/// the blocks whose position has bit `d` set to `rank + d` (packed into one message) and
/// receives the same positions from `rank - d`. Then position `i` holds the block rank
/// `rank - i` sent us. Send and receive blocks are the same size (matching signatures).
pub fn alltoall_bruck(s: &mut Schedule, rank: usize, size: usize, send: Option<Range>, recv: Range, tag: i32) {
    let blk = recv.len() / size.max(1);
    if size == 1 {
        if let Some(send) = send {
            s.copy(send, recv);
        }
        return;
    }
    if blk == 0 {
        return;
    }
    let src = send.unwrap_or(recv);
    let tmp = s.scratch(size * blk);
    let upper = size - rank;
    s.copy(src.slice(rank * blk, upper * blk), tmp.slice(0, upper * blk));
    s.copy(src.slice(0, rank * blk), tmp.slice(upper * blk, rank * blk));
    let out = s.scratch(size.div_ceil(2) * blk);
    let inc = s.scratch(size.div_ceil(2) * blk);
    let mut d = 1;
    while d < size {
        let moving: Vec<usize> = (0..size).filter(|i| i & d != 0).collect();
        for (k, &i) in moving.iter().enumerate() {
            s.copy(tmp.slice(i * blk, blk), out.slice(k * blk, blk));
        }
        let n = moving.len() * blk;
        s.send(Peer::Local((rank + d) % size), tag, out.slice(0, n));
        s.recv(Peer::Local((rank + size - d) % size), tag, inc.slice(0, n));
        for (k, &i) in moving.iter().enumerate() {
            s.copy(inc.slice(k * blk, blk), tmp.slice(i * blk, blk));
        }
        d <<= 1;
    }
    for i in 0..size {
        s.copy(tmp.slice(i * blk, blk), recv.slice(((rank + size - i) % size) * blk, blk));
    }
}

/// A rooted intercommunicator collective's root, as this process sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InterRoot {
    /// `MPI_PROC_NULL`: a non-root member of the root's group.
    None,
    /// `MPI_ROOT`: this process is the root.
    Me,
    /// The root is this remote rank.
    Remote(usize),
}

/// Intercommunicator barrier: local barrier, the leaders swap an empty message, local
/// barrier (nobody leaves before both groups have entered).
pub fn inter_barrier(s: &mut Schedule, rank: usize, size: usize, tag: i32) {
    barrier(s, rank, size, tag);
    s.end_round();
    if rank == 0 {
        s.send(Peer::Remote(0), tag, Range::EMPTY);
        s.recv(Peer::Remote(0), tag, Range::EMPTY);
        s.end_round();
    }
    barrier(s, rank, size, tag);
}

/// Intercommunicator bcast: the root sends to remote rank 0, which broadcasts in its group.
pub fn inter_bcast(s: &mut Schedule, rank: usize, size: usize, root: InterRoot, buf: Range, tag: i32) {
    match root {
        InterRoot::None => {}
        InterRoot::Me => s.send(Peer::Remote(0), tag, buf),
        InterRoot::Remote(r) => {
            if rank == 0 {
                s.recv(Peer::Remote(r), tag, buf);
                s.end_round();
            }
            bcast(s, rank, size, 0, buf, tag);
        }
    }
    s.end_round();
}

/// Intercommunicator reduce: the non-root group reduces to its rank 0, which sends the
/// result to the root.
#[allow(clippy::too_many_arguments)]
pub fn inter_reduce(s: &mut Schedule, rank: usize, size: usize, root: InterRoot, send: Range, recv: Range, red: &Reduction, tag: i32) {
    match root {
        InterRoot::None => {}
        InterRoot::Me => s.recv(Peer::Remote(0), tag, recv),
        InterRoot::Remote(r) => {
            let acc = s.scratch(send.len());
            s.copy(send, acc);
            reduce_tree(s, rank, size, 0, acc, red, tag);
            s.end_round();
            if rank == 0 {
                s.send(Peer::Remote(r), tag, acc);
            }
        }
    }
    s.end_round();
}

/// Intercommunicator allreduce: each group reduces to its rank 0, the leaders swap, each
/// broadcasts what it received, so each group gets the reduction of the other group's data.
#[allow(clippy::too_many_arguments)]
pub fn inter_allreduce(s: &mut Schedule, rank: usize, size: usize, send: Range, recv: Range, red: &Reduction, tag: i32) {
    let acc = s.scratch(send.len());
    s.copy(send, acc);
    reduce_tree(s, rank, size, 0, acc, red, tag);
    s.end_round();
    if rank == 0 {
        s.send(Peer::Remote(0), tag, acc);
        s.recv(Peer::Remote(0), tag, recv);
        s.end_round();
    }
    bcast(s, rank, size, 0, recv, tag);
    s.end_round();
}

pub mod inter;
pub mod large;
pub mod node_aware;
pub mod scan;

#[cfg(test)]
mod tests;
pub mod vcoll;
