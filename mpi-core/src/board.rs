//! Small blocking collectives of a communicator on one host (barrier, bcast, reduce,
//! allreduce, allgather, alltoall), through a shared-memory board instead of messages (what
//! MPICH's and Open MPI's shared-memory collectives do).
//!
//! A board (`shm::Board`, seen here through [`Cells`]) has one cell per rank of the
//! communicator: two counters, `arrive` and `leave`, and [`SLOTS`] payload slots, all written
//! by that rank only. Every member makes the same blocking collective calls in the same order,
//! so the calls on a board are numbered alike everywhere: call `k` (from 1) uses payload slot
//! `k % SLOTS`. A rank's `arrive = k` says its data for call `k` is in its cell (or, for a rank
//! that has none to give, that it has entered call `k`); `leave = k` says it has finished
//! reading other cells for call `k`. Two rules make this safe with no other synchronisation:
//! - a rank writes slot `k % SLOTS` of its cell only once every member's
//!   `leave >= k - SLOTS`: whoever read that slot for call `k - SLOTS` is done with it;
//! - a rank reads a cell's slot `k % SLOTS` only once that cell's `arrive >= k`, and publishes
//!   `leave = k` after its last read: the owner cannot overwrite the slot before (first rule).
//!
//! So a rank runs at most `SLOTS` calls ahead of the slowest (a reduce's leaves return at
//! once, a bcast's root too: with a few slots they rarely wait on a slow root or leaf), and a
//! call costs a few cache-line transfers: 2 ranks meet in an 8-byte allreduce by each writing
//! its cell and reading the other's.
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
    fn write(&self, slot: usize, data: &[u8]);
    fn read(&self, cell: usize, slot: usize, len: usize) -> &[u8];
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
    fn write(&self, slot: usize, data: &[u8]) {
        shm::Board::write(self, slot, data)
    }
    fn read(&self, cell: usize, slot: usize, len: usize) -> &[u8] {
        shm::Board::read(self, cell, slot, len)
    }
}

/// Largest payload of a call on a board, in bytes.
pub const PAYLOAD: usize = shm::Board::PAYLOAD;

/// Payload slots per cell.
pub const SLOTS: usize = shm::Board::SLOTS;

/// Returns once `ready()` holds, or fails (the engine's wait fails when progress does).
pub type Wait<'a> = &'a mut dyn FnMut(&dyn Fn() -> bool) -> Result<()>;

/// A communicator's board and the number of its last call.
pub struct BoardColl<C: Cells> {
    cells: C,
    /// Calls made so far. Only the thread making a blocking collective call on the
    /// communicator touches it (concurrent collective calls on one communicator are
    /// erroneous), so Relaxed suffices; atomic so that the engine can share the board.
    calls: AtomicU64,
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
        write!(f, "BoardColl({} cells, {} calls)", self.cells.size(), self.calls.load(Ordering::Relaxed))
    }
}

impl<C: Cells> BoardColl<C> {
    pub fn new(cells: C) -> BoardColl<C> {
        let seen = (0..cells.size()).map(|_| [AtomicU64::new(0), AtomicU64::new(0)]).collect();
        BoardColl { cells, calls: AtomicU64::new(0), seen }
    }

    /// Members (cells).
    pub fn size(&self) -> usize {
        self.cells.size()
    }

    /// My rank among them.
    pub fn rank(&self) -> usize {
        self.cells.me()
    }

    /// Numbers the next call.
    fn next(&self) -> u64 {
        self.calls.fetch_add(1, Ordering::Relaxed) + 1
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
        let ok = || (0..self.cells.size()).all(|j| j == me || self.reached(j, counter, v));
        if ok() {
            return Ok(());
        }
        wait(&ok)
    }

    /// Waits until nobody reads the payload slot call `k` writes (the first rule).
    fn may_write(&self, k: u64, wait: Wait) -> Result<()> {
        self.all_reached(Counter::Leave, k.saturating_sub(SLOTS as u64), wait)
    }

    /// Waits until every other member has arrived at call `k`.
    fn all_arrived(&self, k: u64, wait: Wait) -> Result<()> {
        self.all_reached(Counter::Arrive, k, wait)
    }

    /// Packs `b` into my cell's slot for call `k`.
    fn put(&self, k: u64, b: &Buf) {
        match b.contiguous() {
            Some(u) => self.cells.write(slot(k), u.bytes()),
            None => self.cells.write(slot(k), &b.to_vec()),
        }
    }

    pub fn barrier(&self, wait: Wait) -> Result<()> {
        let k = self.next();
        self.cells.publish(k, k);
        self.all_arrived(k, wait)
    }

    /// `buf` (at most [`PAYLOAD`] bytes) from `root` to every member.
    pub fn bcast(&self, root: usize, buf: &Buf, wait: Wait) -> Result<()> {
        let k = self.next();
        let c = &self.cells;
        if c.me() == root {
            self.may_write(k, wait)?;
            self.put(k, buf);
        } else {
            let ok = || self.reached(root, Counter::Arrive, k);
            if !ok() {
                wait(&ok)?;
            }
            buf.write_at(0, c.read(root, slot(k), buf.len()));
        }
        c.publish(k, k);
        Ok(())
    }

    /// Reduce of every member's `contribution` into `result` at `root` (`None` elsewhere;
    /// at the root it may be the contribution itself, `MPI_IN_PLACE`). The root reads its own
    /// contribution where it lies unless that is the result (or scattered), and no other
    /// member waits for it: it publishes once, when it has read the others' cells.
    pub fn reduce(&self, root: usize, contribution: &Buf, result: Option<&Buf>, op: BuiltinOp, kind: Kind, wait: Wait) -> Result<()> {
        let k = self.next();
        let c = &self.cells;
        let Some(result) = result.filter(|_| c.me() == root) else {
            self.may_write(k, wait)?;
            self.put(k, contribution);
            c.publish(k, k);
            return Ok(());
        };
        let mine = contribution.contiguous().filter(|_| !std::ptr::eq(contribution, result));
        if mine.is_none() {
            self.may_write(k, wait)?;
            self.put(k, contribution);
        }
        self.all_arrived(k, wait)?;
        let folded = self.fold(k, contribution.len(), result, mine.as_ref().map(|u| u.bytes()), op, kind);
        c.publish(k, k);
        folded
    }

    /// Allreduce of every member's `contribution` into every `result` (which may hold the
    /// contribution itself, `MPI_IN_PLACE`).
    pub fn allreduce(&self, contribution: &Buf, result: &Buf, op: BuiltinOp, kind: Kind, wait: Wait) -> Result<()> {
        let k = self.next();
        self.may_write(k, wait)?;
        self.put(k, contribution);
        let c = &self.cells;
        c.publish(k, k - 1);
        self.all_arrived(k, wait)?;
        let folded = self.fold(k, contribution.len(), result, None, op, kind);
        c.publish(k, k);
        folded
    }

    /// Allgather of every member's `blk`-byte block into `recv` (`send == None`: mine is
    /// already at its place in `recv`, `MPI_IN_PLACE`).
    pub fn allgather(&self, send: Option<&Buf>, recv: &Buf, blk: usize, wait: Wait) -> Result<()> {
        let k = self.next();
        let c = &self.cells;
        self.may_write(k, wait)?;
        match send {
            Some(b) => self.put(k, b),
            None => {
                let mut mine = vec![0u8; blk];
                recv.read_at(c.me() * blk, &mut mine);
                c.write(slot(k), &mine);
            }
        }
        c.publish(k, k - 1);
        self.all_arrived(k, wait)?;
        for j in 0..c.size() {
            if j != c.me() || send.is_some() {
                recv.write_at(j * blk, c.read(j, slot(k), blk));
            }
        }
        c.publish(k, k);
        Ok(())
    }

    /// Alltoall of `blk`-byte blocks: block `j` of `send` (`None`: of `recv`, `MPI_IN_PLACE`)
    /// to member `j`, block `j` of `recv` from member `j`. A member's whole send buffer goes
    /// into its cell, and each takes its block from every cell.
    pub fn alltoall(&self, send: Option<&Buf>, recv: &Buf, blk: usize, wait: Wait) -> Result<()> {
        let k = self.next();
        let c = &self.cells;
        let (n, me) = (c.size(), c.me());
        self.may_write(k, wait)?;
        self.put(k, send.unwrap_or(recv));
        c.publish(k, k - 1);
        self.all_arrived(k, wait)?;
        for j in 0..n {
            recv.write_at(j * blk, &c.read(j, slot(k), n * blk)[me * blk..(me + 1) * blk]);
        }
        c.publish(k, k);
        Ok(())
    }

    /// Combines every member's `len` bytes of call `k` into `result`, in rank order: the cells'
    /// and, where given, `mine` for my own.
    fn fold(&self, k: u64, len: usize, result: &Buf, mine: Option<&[u8]>, op: BuiltinOp, kind: Kind) -> Result<()> {
        match result.contiguous() {
            Some(u) => self.fold_into(k, u.bytes_mut(), mine, op, kind),
            None => {
                let mut acc = vec![0u8; len];
                self.fold_into(k, &mut acc, mine, op, kind)?;
                result.write_at(0, &acc);
                Ok(())
            }
        }
    }

    fn fold_into(&self, k: u64, acc: &mut [u8], mine: Option<&[u8]>, op: BuiltinOp, kind: Kind) -> Result<()> {
        let c = &self.cells;
        let len = acc.len();
        let operand = |j: usize| match mine {
            Some(m) if j == c.me() => m,
            _ => c.read(j, slot(k), len),
        };
        let n = c.size();
        acc.copy_from_slice(operand(n - 1));
        for j in (0..n - 1).rev() {
            op::reduce_packed(op, kind, acc, operand(j))?;
        }
        Ok(())
    }
}

/// The payload slot call `k` uses.
fn slot(k: u64) -> usize {
    (k % SLOTS as u64) as usize
}

#[cfg(test)]
mod tests;
