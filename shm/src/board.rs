//! Boards: areas of the segment where a group of local ranks meet without messages.
//!
//! A board has one cell per member: two counters and `Board::AREA` bytes of payload, written by that
//! member only and read by the others (layout in `layout.rs`). What the counters mean, and
//! where a call's payload goes and when it may be read or overwritten, is the user's protocol (mpi-core's `board.rs` runs
//! collectives on it); this module only places the cells, publishes counters with the orders
//! that make payloads visible, and wakes members sleeping in [`Node::wait_unless`].
//!
//! A group's first member claims a free board ([`Node::claim_board`]), tells the others its
//! index by message, and each member opens it with [`Node::board`]. Dropping a member's
//! [`Board`] releases it; the last release frees the board for another claim.

use std::sync::atomic::{fence, Ordering};
use std::sync::Arc;

use crate::layout::*;
use crate::Node;

/// One member's handle on a claimed board.
pub struct Board {
    node: Arc<Node>,
    index: usize,
    /// Local rank of each member: cell `i` is `members[i]`'s.
    members: Vec<usize>,
    /// My cell.
    me: usize,
}

impl std::fmt::Debug for Board {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Board({} of {} members, cell {})", self.index, self.members.len(), self.me)
    }
}

impl Node {
    /// Claims a free board for a group of `members` local ranks and resets their cells'
    /// counters to 0; `None` when every board is taken (or the group does not fit). The caller
    /// hands the index to the other members by message before anyone uses the board.
    pub fn claim_board(&self, members: usize) -> Option<usize> {
        if members == 0 || members > self.lay.n {
            return None;
        }
        (0..BOARDS).find(|&b| {
            let ctl = self.board_ctl(b);
            if ctl.claimed.compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed).is_err() {
                return false;
            }
            for cell in 0..members {
                let c = self.cell_counters(b, cell);
                c.arrive.store(0, Ordering::Relaxed);
                c.leave.store(0, Ordering::Relaxed);
            }
            ctl.users.store(members as u32, Ordering::Relaxed);
            true
        })
    }

    /// Opens board `index`, claimed by a group whose members are the local ranks `members`
    /// (cell `i` is `members[i]`'s), as the member holding cell `me`. `None` when the
    /// arguments cannot name a claimed board of this segment.
    pub fn board(self: &Arc<Self>, index: usize, members: Vec<usize>, me: usize) -> Option<Board> {
        let valid = index < BOARDS
            && me < members.len()
            && members.len() <= self.lay.n
            && members[me] == self.rank
            && members.iter().all(|&m| m < self.lay.n)
            && self.board_ctl(index).claimed.load(Ordering::Acquire) == 1;
        valid.then(|| Board { node: Arc::clone(self), index, members, me })
    }

    fn board_ctl(&self, board: usize) -> &BoardCtl {
        debug_assert!(board < BOARDS);
        // SAFETY: board_off(board) + LINE <= off_cells <= total for board < BOARDS (callers
        // check), 128-aligned; BoardCtl is made of atomics; lifetime bounded by &self.
        unsafe { &*(self.base().add(self.lay.board_off(board)) as *const BoardCtl) }
    }

    fn cell_counters(&self, board: usize, cell: usize) -> &CellCounters {
        debug_assert!(board < BOARDS && cell < self.lay.n);
        // SAFETY: cell_off(board, cell) + CELL_BYTES <= total for board < BOARDS and cell <
        // local_size (callers check); 128-aligned; atomics only; lifetime bounded by &self.
        unsafe { &*(self.base().add(self.lay.cell_off(board, cell)) as *const CellCounters) }
    }

    /// Byte `offset` of a cell's payload.
    fn payload(&self, board: usize, cell: usize, offset: usize) -> *mut u8 {
        debug_assert!(board < BOARDS && cell < self.lay.n && offset <= BOARD_AREA);
        // SAFETY: in bounds: the payload follows the counters' block inside the cell.
        unsafe { self.base().add(self.lay.cell_off(board, cell) + LINE + offset) }
    }
}

impl Board {
    /// Bytes of payload in a cell.
    pub const AREA: usize = BOARD_AREA;

    /// Members of the group (cells of the board).
    pub fn size(&self) -> usize {
        self.members.len()
    }

    /// My cell.
    pub fn me(&self) -> usize {
        self.me
    }

    /// The `arrive` counter of `cell` (Acquire: the payload it announces is visible after).
    pub fn arrived(&self, cell: usize) -> u64 {
        self.node.cell_counters(self.index, cell).arrive.load(Ordering::Acquire)
    }

    /// The `leave` counter of `cell` (Acquire: its member's reads it announces are over).
    pub fn left(&self, cell: usize) -> u64 {
        self.node.cell_counters(self.index, cell).leave.load(Ordering::Acquire)
    }

    /// Stores my counters (Release: after my payload writes and my reads of other cells), then
    /// wakes the members sleeping in `wait_unless`, who may be waiting for them.
    pub fn publish(&self, arrive: u64, leave: u64) {
        let mine = self.node.cell_counters(self.index, self.me);
        mine.arrive.store(arrive, Ordering::Release);
        mine.leave.store(leave, Ordering::Release);
        // The waker's half of `Node::wait`'s protocol: datum, SeqCst fence, load `sleepers`.
        fence(Ordering::SeqCst);
        for (cell, &rank) in self.members.iter().enumerate() {
            if cell != self.me && self.node.slot(rank).bell.0.sleepers.load(Ordering::Relaxed) != 0 {
                self.node.ring_bell(rank);
            }
        }
    }

    /// Copies `data` to byte `offset` of my cell's payload (`offset + data.len() <=`
    /// [`AREA`](Self::AREA)). The caller's protocol makes sure no member reads there meanwhile.
    pub fn write(&self, offset: usize, data: &[u8]) {
        assert!(offset + data.len() <= BOARD_AREA, "board write of {} bytes at {offset}", data.len());
        // SAFETY: the destination is inside my cell's payload in the mapping, owned by my cell and
        // (by the caller's protocol) not read by anyone now; the source is a distinct local slice.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.node.payload(self.index, self.me, offset), data.len()) }
    }

    /// `len` bytes at byte `offset` of `cell`'s payload (`offset + len <=` [`AREA`](Self::AREA)).
    /// The caller's protocol makes sure its member does not write them while the slice lives.
    pub fn read(&self, cell: usize, offset: usize, len: usize) -> &[u8] {
        assert!(cell < self.members.len() && offset + len <= BOARD_AREA, "board read of {len} bytes at {offset} from cell {cell}");
        // SAFETY: in bounds of the mapping, which outlives `&self` (the Arc<Node>); any bit
        // pattern is a valid u8; not written meanwhile by the caller's protocol.
        unsafe { std::slice::from_raw_parts(self.node.payload(self.index, cell, offset), len) }
    }
}

impl Drop for Board {
    fn drop(&mut self) {
        let ctl = self.node.board_ctl(self.index);
        if ctl.users.fetch_sub(1, Ordering::AcqRel) == 1 {
            ctl.claimed.store(0, Ordering::Release);
        }
    }
}
