//! The engine's side of `board.rs`: which blocking calls meet on a shared-memory board, how a
//! communicator opens its board, and how a rank waits on one.
//!
//! A communicator opens its board at the first blocking call the tuning table sends to one
//! (the same call on every member: the choice depends on the collective, the communicator's
//! size, the byte count and the op, which agree everywhere): if its ranks all share this host,
//! its rank 0 claims a free board of the host's segment and broadcasts the index by message;
//! with none free, or ranks on other hosts, it never tries again and its calls use schedules.
//! The board is released with the communicator.

use std::sync::Arc;

use crate::board::BoardColl;
use crate::error::{fail, ErrorClass, Result};
use crate::op::Op;
use crate::slab::Id;
use crate::tuning::{Algorithm, Call, Collective};

use super::super::{Backoff, CommId, Engine};

/// A communicator's board.
pub(in crate::engine) type Board = Arc<BoardColl<shm::Board>>;

/// Whether a communicator meets on a board (`Comm::board`).
#[derive(Debug, Default)]
pub(in crate::engine) enum BoardUse {
    /// Not asked for yet.
    #[default]
    Untried,
    /// None to be had: ranks on other hosts, none free, or being opened (the broadcast of its
    /// index runs on schedules).
    Absent,
    Open(Board),
}

/// The index rank 0 broadcasts when no board was free.
const NONE_FREE: u32 = u32::MAX;

/// Polls of the board alone before a waiting rank makes progress on anything else: the peers
/// of a small collective are usually a few hundred nanoseconds behind.
const BOARD_SPINS: u32 = 200;

impl Engine {
    /// The board a blocking call of `coll` on `comm`, moving `bytes` (with `op`, for a
    /// reduction), meets on; `None` when the table chooses messages or there is no board.
    pub(in crate::engine) fn board(&self, comm: CommId, coll: Collective, bytes: usize, op: Option<&Op>) -> Result<Option<Board>> {
        let Some(node) = &self.node else { return Ok(None) };
        {
            let st = self.lock();
            let c = st.comm(comm)?;
            if c.remote.is_some() {
                return Ok(None);
            }
            let (commutative, splittable) = op.map_or((true, true), |op| (op.commutative(), matches!(op, Op::Builtin { .. })));
            let call = Call { ranks: c.members.len(), bytes, commutative, splittable, hosts: 1, board: true };
            if st.tuning.choose(coll, call) != Algorithm::Board {
                return Ok(None);
            }
            match &c.board {
                BoardUse::Open(b) => return Ok(Some(Arc::clone(b))),
                BoardUse::Absent => return Ok(None),
                BoardUse::Untried => {}
            }
        }
        self.open_board(comm, node)
    }

    /// Opens `comm`'s board (module doc); every member calls this at the same call.
    fn open_board(&self, comm: CommId, node: &Arc<shm::Node>) -> Result<Option<Board>> {
        let (rank, members) = {
            let mut st = self.lock();
            let Some(c) = st.comms.get_mut(Id::from_token(comm.0)) else {
                return fail(ErrorClass::Comm, "invalid communicator");
            };
            c.board = BoardUse::Absent;
            (c.rank as usize, c.members.clone())
        };
        // Each member's local rank on this host; `None` when one is on another host.
        let locals: Option<Vec<usize>> = {
            let world = self.world.lock().unwrap_or_else(|p| p.into_inner());
            members.iter().map(|w| world.local_ranks.iter().position(|l| l == w)).collect()
        };
        let Some(locals) = locals else { return Ok(None) };
        let claimed = match rank {
            0 => node.claim_board(locals.len()).map_or(NONE_FREE, |b| b as u32),
            _ => NONE_FREE,
        };
        let mut index = claimed.to_ne_bytes();
        self.bcast(comm, &mut index, 0)?;
        let index = u32::from_ne_bytes(index);
        if index == NONE_FREE {
            return Ok(None);
        }
        let Some(cells) = node.board(index as usize, locals, rank) else {
            return fail(ErrorClass::Intern, format!("shared-memory board {index} that rank 0 claimed cannot be opened"));
        };
        let board = Arc::new(BoardColl::new(cells));
        if let Some(c) = self.lock().comms.get_mut(Id::from_token(comm.0)) {
            c.board = BoardUse::Open(Arc::clone(&board));
        }
        Ok(Some(board))
    }

    /// Waits until `ready()` holds: polls it alone briefly (not when ranks outnumber cores),
    /// then makes progress on everything else between polls, and at length sleeps on the
    /// host's doorbell, which a member's `publish` rings.
    pub(in crate::engine) fn board_wait(&self, ready: &dyn Fn() -> bool) -> Result<()> {
        let Some(node) = &self.node else {
            return fail(ErrorClass::Intern, "a board collective without shared memory");
        };
        if !self.oversubscribed {
            for _ in 0..BOARD_SPINS {
                if ready() {
                    return Ok(());
                }
                std::hint::spin_loop();
            }
        }
        let mut backoff = Backoff::new(self.oversubscribed);
        loop {
            let steps = {
                let mut st = self.lock();
                self.progress(&mut st)?;
                std::mem::take(&mut st.user_steps)
            };
            if !steps.is_empty() {
                self.run_user_steps(steps);
            }
            if ready() {
                return Ok(());
            }
            backoff.snooze_with(self, || node.wait_unless(self.block_for, ready));
            if ready() {
                return Ok(());
            }
        }
    }
}
