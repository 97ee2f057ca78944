//! Small blocking collectives of a communicator on one host (barrier, bcast, reduce,
//! allreduce, allgather, alltoall), through a shared-memory board instead of messages (what
//! MPICH's and Open MPI's shared-memory collectives do).
//!
//! A board (`shm::Board`, seen here through [`Cells`]) has one cell per rank of the
//! communicator: two counters, `arrive` and `leave`, and a payload area, all written by that
//! rank only. Every member makes the same blocking collective calls in the same order with the
//! same byte counts, so the calls on a board are numbered alike everywhere, and each member
//! lays their payloads out alike: call `k` (from 1) takes the next [`UNIT`]s of the area, as
//! many as its bytes need, wrapping at its end ([`Plan`]). A rank's `arrive = k` says its data
//! for call `k` is in its cell (or, for a rank that has none to give, that it has entered call
//! `k`); `leave = k` says it has finished reading other cells for call `k`. Two rules make this
//! safe with no other synchronisation:
//! - a rank writes call `k`'s units of its cell only once every member's `leave >= j`, where
//!   `j` is the last call that used any of them: whoever read them for call `j` is done;
//! - a rank reads call `k`'s units of a cell only once that cell's `arrive >= k`, and publishes
//!   `leave = k` after its last read: the owner cannot overwrite them before (first rule).
//!
//! So a rank runs ahead of the slowest by as many calls as the area holds: 256 of up to 128
//! bytes, 8 of 4 KiB (a reduce's leaves return at once, a bcast's root too, and rarely wait
//! on a slow root or leaf; with more ranks than cores a rank does many calls per time slice).
//! A call costs a few cache-line transfers: 2 ranks meet in an 8-byte allreduce by each
//! writing its cell and reading the other's.
//!
//! Reductions combine all contributions in rank order on every rank that needs the result,
//! `c0 op (c1 op (... op c(n-1)))`, so every rank of an allreduce computes bit-identical
//! results. Only predefined operations run here (the tuning table's `board` serves nothing
//! else); payloads are packed, so a scattered buffer is packed into its cell and unpacked
//! from the others.
//!
//! The algorithms know neither the engine nor shared memory: they take the cells and a
//! [`Wait`] (the engine's makes progress on everything else while it waits, and sleeps on the
//! host's doorbell when the wait is long), so the tests run them on cells in process memory.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::buffer::Buf;
use crate::error::Result;
use crate::datatype::Kind;
use crate::op::{self, BuiltinOp};

/// The cells of one board, as one member sees them (`shm::Board`'s methods, documented there).
pub trait Cells {
    fn size(&self) -> usize;
    fn me(&self) -> usize;
    fn arrived(&self, cell: usize) -> u64;
    fn left(&self, cell: usize) -> u64;
    fn publish(&self, arrive: u64, leave: u64);
    fn write(&self, offset: usize, data: &[u8]);
    fn read(&self, cell: usize, offset: usize, len: usize) -> &[u8];
}

impl Cells for shm::Board {
    fn size(&self) -> usize {
        shm::Board::size(self)
    }
    fn me(&self) -> usize {
        shm::Board::me(self)
    }
    fn arrived(&self, cell: usize) -> u64 {
        shm::Board::arrived(self, cell)
    }
    fn left(&self, cell: usize) -> u64 {
        shm::Board::left(self, cell)
    }
    fn publish(&self, arrive: u64, leave: u64) {
        shm::Board::publish(self, arrive, leave)
    }
    fn write(&self, offset: usize, data: &[u8]) {
        shm::Board::write(self, offset, data)
    }
    fn read(&self, cell: usize, offset: usize, len: usize) -> &[u8] {
        shm::Board::read(self, cell, offset, len)
    }
}

/// Largest payload of a call on a board, in bytes (the tuning table's limit): an eighth of a
/// cell's area, so that even the largest calls may run 8 ahead.
pub const PAYLOAD: usize = 4096;

/// Payloads take whole units of a cell's area: a cache-line pair, so that consecutive small
/// calls never share a line.
pub const UNIT: usize = 128;

/// Units in a cell's area.
const UNITS: usize = shm::Board::AREA / UNIT;

/// Where each call's payload goes in the cells (module doc): the same on every member.
struct Plan {
    /// Calls made so far.
    calls: u64,
    /// The unit the next call's payload starts at (unless it must wrap).
    next: usize,
    /// The last call whose payload used each unit (0: none yet).
    last: [u64; UNITS],
}

/// Call `k`'s place: its payload's byte offset in every cell, and the last call that used
/// any of its units (whose readers must have left before it is overwritten).
#[derive(Clone, Copy, Debug)]
struct Place {
    k: u64,
    offset: usize,
    reuses: u64,
}

/// Returns once `ready()` holds, or fails (the engine's wait fails when progress does).
pub type Wait<'a> = &'a mut dyn FnMut(&dyn Fn() -> bool) -> Result<()>;

/// A communicator's board and the plan of its calls.
pub struct BoardColl<C: Cells> {
    cells: C,
    /// The layout of the calls so far. Only the thread making a blocking collective call on
    /// the communicator takes it (concurrent collective calls on one communicator are
    /// erroneous); a mutex so that the engine can share the board.
    plan: Mutex<Plan>,
    /// The `arrive` and `leave` counters last read from each cell. They only grow, so a rank
    /// that once saw enough need not read the cell again: every read of a line its owner keeps
    /// writing moves that line between cores, on the owner's critical path. (A value seen here
    /// came from an Acquire load, which keeps ordering the payload reads after it.)
    seen: Vec<[AtomicU64; 2]>,
}

/// Which counter of a cell.
#[derive(Clone, Copy)]
enum Counter {
    Arrive = 0,
    Leave = 1,
}

impl<C: Cells> std::fmt::Debug for BoardColl<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BoardColl({} cells)", self.cells.size())
    }
}

impl<C: Cells> BoardColl<C> {
    pub fn new(cells: C) -> BoardColl<C> {
        let seen = (0..cells.size()).map(|_| [AtomicU64::new(0), AtomicU64::new(0)]).collect();
        BoardColl { cells, plan: Mutex::new(Plan { calls: 0, next: 0, last: [0; UNITS] }), seen }
    }

    /// Members (cells).
    pub fn size(&self) -> usize {
        self.cells.size()
    }

    /// My rank among them.
    pub fn rank(&self) -> usize {
        self.cells.me()
    }

    /// Numbers the next call, of `len` payload bytes per cell, and places its payload.
    fn next(&self, len: usize) -> Place {
        let mut plan = self.plan.lock().unwrap_or_else(|p| p.into_inner());
        plan.calls += 1;
        let k = plan.calls;
        let units = len.div_ceil(UNIT);
        if units == 0 {
            return Place { k, offset: 0, reuses: 0 };
        }
        if plan.next + units > UNITS {
            plan.next = 0;
        }
        let at = plan.next..plan.next + units;
        let reuses = plan.last[at.clone()].iter().copied().max().unwrap_or(0);
        plan.last[at.clone()].fill(k);
        plan.next = at.end;
        Place { k, offset: at.start * UNIT, reuses }
    }

    /// Whether cell `j`'s `counter` has reached `v` (read only when what was seen is less).
    fn reached(&self, j: usize, counter: Counter, v: u64) -> bool {
        let seen = &self.seen[j][counter as usize];
        if seen.load(Ordering::Relaxed) >= v {
            return true;
        }
        let now = match counter {
            Counter::Arrive => self.cells.arrived(j),
            Counter::Leave => self.cells.left(j),
        };
        seen.store(now, Ordering::Relaxed);
        now >= v
    }

    /// Waits until every other member's `counter` has reached `v`.
    fn all_reached(&self, counter: Counter, v: u64, wait: Wait) -> Result<()> {
        let me = self.cells.me();
        until(&|| (0..self.cells.size()).all(|j| j == me || self.reached(j, counter, v)), wait)
    }

    /// Waits until nobody reads the units call `p` writes (the first rule).
    fn may_write(&self, p: Place, wait: Wait) -> Result<()> {
        self.all_reached(Counter::Leave, p.reuses, wait)
    }

    /// Waits until every other member has arrived at call `k`.
    fn all_arrived(&self, k: u64, wait: Wait) -> Result<()> {
        self.all_reached(Counter::Arrive, k, wait)
    }

    /// Packs `b` into my cell at call `p`'s place.
    fn put(&self, p: Place, b: &Buf) {
        match b.contiguous() {
            Some(u) => self.cells.write(p.offset, u.bytes()),
            None => self.cells.write(p.offset, &b.to_vec()),
        }
    }

    pub fn barrier(&self, wait: Wait) -> Result<()> {
        let k = self.next(0).k;
        self.cells.publish(k, k);
        self.all_arrived(k, wait)
    }

    /// `buf` (at most [`PAYLOAD`] bytes) from `root` to every member.
    pub fn bcast(&self, root: usize, buf: &Buf, wait: Wait) -> Result<()> {
        let p = self.next(buf.len());
        let c = &self.cells;
        if c.me() == root {
            self.may_write(p, wait)?;
            self.put(p, buf);
        } else {
            until(&|| self.reached(root, Counter::Arrive, p.k), wait)?;
            buf.write_at(0, c.read(root, p.offset, buf.len()));
        }
        c.publish(p.k, p.k);
        Ok(())
    }

    /// Reduce of every member's `contribution` into `result` at `root` (`None` elsewhere;
    /// at the root it may be the contribution itself, `MPI_IN_PLACE`). The root reads its own
    /// contribution where it lies unless that is the result (or scattered), and no other
    /// member waits for it: it publishes once, when it has read the others' cells.
    pub fn reduce(&self, root: usize, contribution: &Buf, result: Option<&Buf>, op: BuiltinOp, kind: Kind, wait: Wait) -> Result<()> {
        let p = self.next(contribution.len());
        let c = &self.cells;
        let Some(result) = result.filter(|_| c.me() == root) else {
            self.may_write(p, wait)?;
            self.put(p, contribution);
            c.publish(p.k, p.k);
            return Ok(());
        };
        let mine = contribution.contiguous().filter(|_| !std::ptr::eq(contribution, result));
        if mine.is_none() {
            self.may_write(p, wait)?;
            self.put(p, contribution);
        }
        self.all_arrived(p.k, wait)?;
        let folded = self.fold(p, contribution.len(), result, mine.as_ref().map(|u| u.bytes()), op, kind);
        c.publish(p.k, p.k);
        folded
    }

    /// Allreduce of every member's `contribution` into every `result` (which may hold the
    /// contribution itself, `MPI_IN_PLACE`).
    pub fn allreduce(&self, contribution: &Buf, result: &Buf, op: BuiltinOp, kind: Kind, wait: Wait) -> Result<()> {
        let p = self.next(contribution.len());
        self.may_write(p, wait)?;
        self.put(p, contribution);
        let c = &self.cells;
        c.publish(p.k, p.k - 1);
        self.all_arrived(p.k, wait)?;
        let folded = self.fold(p, contribution.len(), result, None, op, kind);
        c.publish(p.k, p.k);
        folded
    }

    /// Allgather of every member's `blk`-byte block into `recv` (`send == None`: mine is
    /// already at its place in `recv`, `MPI_IN_PLACE`).
    pub fn allgather(&self, send: Option<&Buf>, recv: &Buf, blk: usize, wait: Wait) -> Result<()> {
        let p = self.next(blk);
        let c = &self.cells;
        self.may_write(p, wait)?;
        match send {
            Some(b) => self.put(p, b),
            None => {
                let mut mine = vec![0u8; blk];
                recv.read_at(c.me() * blk, &mut mine);
                c.write(p.offset, &mine);
            }
        }
        c.publish(p.k, p.k - 1);
        self.all_arrived(p.k, wait)?;
        for j in 0..c.size() {
            if j != c.me() || send.is_some() {
                recv.write_at(j * blk, c.read(j, p.offset, blk));
            }
        }
        c.publish(p.k, p.k);
        Ok(())
    }

    /// Alltoall of `blk`-byte blocks: block `j` of `send` (`None`: of `recv`, `MPI_IN_PLACE`)
    /// to member `j`, block `j` of `recv` from member `j`. A member's whole send buffer goes
    /// into its cell, and each takes its block from every cell.
    pub fn alltoall(&self, send: Option<&Buf>, recv: &Buf, blk: usize, wait: Wait) -> Result<()> {
        let c = &self.cells;
        let (n, me) = (c.size(), c.me());
        let p = self.next(n * blk);
        self.may_write(p, wait)?;
        self.put(p, send.unwrap_or(recv));
        c.publish(p.k, p.k - 1);
        self.all_arrived(p.k, wait)?;
        for j in 0..n {
            recv.write_at(j * blk, c.read(j, p.offset + me * blk, blk));
        }
        c.publish(p.k, p.k);
        Ok(())
    }

    /// Combines every member's `len` bytes of call `p` into `result`, in rank order: the cells'
    /// and, where given, `mine` for my own.
    fn fold(&self, p: Place, len: usize, result: &Buf, mine: Option<&[u8]>, op: BuiltinOp, kind: Kind) -> Result<()> {
        match result.contiguous() {
            Some(u) => self.fold_into(p, u.bytes_mut(), mine, op, kind),
            None => {
                let mut acc = vec![0u8; len];
                self.fold_into(p, &mut acc, mine, op, kind)?;
                result.write_at(0, &acc);
                Ok(())
            }
        }
    }

    fn fold_into(&self, p: Place, acc: &mut [u8], mine: Option<&[u8]>, op: BuiltinOp, kind: Kind) -> Result<()> {
        let c = &self.cells;
        let len = acc.len();
        let operand = |j: usize| match mine {
            Some(m) if j == c.me() => m,
            _ => c.read(j, p.offset, len),
        };
        let n = c.size();
        acc.copy_from_slice(operand(n - 1));
        for j in (0..n - 1).rev() {
            op::reduce_packed(op, kind, acc, operand(j))?;
        }
        Ok(())
    }
}

/// Returns at once when `ok()` holds (no call into the engine), else waits for it.
fn until(ok: &dyn Fn() -> bool, wait: Wait) -> Result<()> {
    if ok() {
        return Ok(());
    }
    wait(ok)
}

#[cfg(test)]
mod tests;
