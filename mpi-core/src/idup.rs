//! `MPI_Comm_idup`: the context agreement of a dup as rounds the progress engine advances (a
//! child module of `engine`, like `comm.rs`).
//!
//! The call takes the next collective call number of the parent (`nbc.rs`: every member makes
//! its collective calls in the same order, so the numbers agree and the agreement's messages
//! never meet another outstanding collective's), enters the new communicator in the table as a
//! placeholder (its handle is valid at once, but nothing may use it before the request
//! completes: `State::comm` refuses it), and returns a request the application waits on.
//! Each round of the agreement is a schedule on the parent's collective context:
//! - an intracommunicator OR-allreduces the members' offers (`ctxid.rs`);
//! - an intercommunicator OR-allreduces each group's offers over the group, the two leaders
//!   (local rank 0) swap their results and OR them, and each leader broadcasts the union over
//!   its group, so that both groups see the same union (as `intercomm.rs` agrees, with the
//!   swap on the intercommunicator itself).
//!
//! When a round's schedule ends, `ctxid.rs` settles it: a slot, which the placeholder takes,
//! completing the request; or another round, started on the next pass of the progress engine
//! (with the same tags: every member runs the same rounds in the same order, and messages
//! between two processes do not overtake each other); or an error, which completes the
//! request with its class and removes the placeholder.

use crate::buffer::UserBuf;
use crate::collective::{TAG_ALLREDUCE, TAG_BCAST};
use crate::datatype::Kind;
use crate::error::Result;
use crate::op::{BuiltinOp, Op};
use crate::protocol::{ReqId, Status};
use crate::schedule::{self, Peer, Reduction, Schedule};
use crate::slab::Id;

use super::comm::{from_bytes, to_bytes, Comm, PENDING_CTX};
use super::ctxid::{Claim, OFFER_WORDS};
use super::intercomm::TAG_AGREE;
use super::nbc::Frame;
use super::{empty_status, CommId, Engine, Req, Request, State};

/// One outstanding `MPI_Comm_idup`.
pub(super) struct Idup {
    /// The placeholder in the communicator table.
    new: CommId,
    /// The parent's collective context, with this call's number.
    frame: Frame,
    rank: usize,
    size: usize,
    inter: bool,
    claim: Claim,
    /// This round's offer, then the OR of every offer; the leader of an intercommunicator's
    /// group receives the other group's into `theirs`. Boxed: the schedule points into them,
    /// and the `Idup` moves.
    ours: Box<[u8]>,
    theirs: Box<[u8]>,
    /// The running round, if one is.
    round: Option<Box<Schedule>>,
    /// The protocol request the application's request waits on.
    req: ReqId,
    /// The application will not take the communicator (its attributes could not be copied):
    /// free it as soon as the agreement ends.
    abandoned: bool,
}

impl Idup {
    /// Builds the next round's schedule over `ours` (and `theirs`).
    fn round_schedule(&mut self) -> Box<Schedule> {
        let mut s = Box::new(Schedule::new());
        let ours = s.user(UserBuf::from_slice(&mut self.ours));
        let bor = Reduction { op: Op::Builtin { op: BuiltinOp::Bor, kind: Kind::U64 }, count: self.ours.len() / 8 };
        schedule::allreduce(&mut s, self.rank, self.size, ours, &bor, TAG_ALLREDUCE);
        if self.inter {
            if self.rank == 0 {
                let theirs = s.user(UserBuf::from_slice(&mut self.theirs));
                s.end_round();
                s.send(Peer::Remote(0), TAG_AGREE, ours);
                s.recv(Peer::Remote(0), TAG_AGREE, theirs);
                s.reduce(&bor, theirs, ours);
                s.end_round();
            }
            schedule::bcast(&mut s, self.rank, self.size, 0, ours, TAG_BCAST);
        }
        s
    }
}

impl Engine {
    /// `MPI_Comm_idup`: the new communicator's handle (a placeholder until the request
    /// completes) and the request. Same members, order and topology as `comm`; both groups
    /// of an intercommunicator.
    pub fn comm_idup(&self, comm: CommId) -> Result<(CommId, Request)> {
        let mut st = self.lock();
        let parent = st.comm(comm)?;
        let (parent_ctx, call) = (parent.ctx, i64::from(parent.coll_seq));
        let mut placeholder = Comm::new(PENDING_CTX, parent.rank, parent.members.clone(), "");
        placeholder.remote = parent.remote.clone();
        placeholder.topo = parent.topo.clone();
        let (frame, rank, size, inter) = st.coll_frame(comm)?;
        let new = CommId(st.comms.insert(placeholder).token());
        let claim = st.ctx.claim(parent_ctx, call);
        let req = st.proto.pending();
        let request = Request(st.requests.insert(Req::Active { r: req, comm: Some(comm) }));
        let len = OFFER_WORDS * 8;
        st.idups.push(Idup {
            new,
            frame,
            rank,
            size,
            inter,
            claim,
            ours: vec![0; len].into_boxed_slice(),
            theirs: vec![0; len].into_boxed_slice(),
            round: None,
            req,
            abandoned: false,
        });
        self.progress(&mut st)?;
        Ok((new, request))
    }

    /// The application gives up the communicator of an outstanding `MPI_Comm_idup` (its
    /// attributes could not be copied); the agreement still runs, for the other members.
    pub fn comm_idup_abandon(&self, new: CommId) {
        let mut st = self.lock();
        if let Some(d) = st.idups.iter_mut().find(|d| d.new == new) {
            d.abandoned = true;
        }
    }

    /// Advances every outstanding `MPI_Comm_idup` (`Engine::progress`), in the order they
    /// were made.
    pub(super) fn progress_idups(&self, st: &mut State) {
        let mut idups = std::mem::take(&mut st.idups);
        idups.retain_mut(|d| !self.advance_idup(st, d));
        idups.append(&mut st.idups);
        st.idups = idups;
    }

    /// Runs what it can of `d`'s current round (starting one if none runs); true once the
    /// agreement has ended and its request is complete.
    fn advance_idup(&self, st: &mut State, d: &mut Idup) -> bool {
        let mut round = match d.round.take() {
            Some(r) => r,
            None => {
                let offer = st.ctx.offer(&mut d.claim);
                d.ours.copy_from_slice(&to_bytes(&offer));
                d.round_schedule()
            }
        };
        let reduced = match self.advance_sched(st, &mut round, &d.frame) {
            Ok(false) => {
                d.round = Some(round);
                return false;
            }
            Ok(true) => Ok(from_bytes(&d.ours)),
            Err(e) => Err(e),
        };
        let settled = st.ctx.settle(&mut d.claim, reduced.as_deref().map_err(Clone::clone));
        let status = match settled {
            // Another round, on the next pass.
            Ok(None) => return false,
            Ok(Some(slot)) => {
                let id = Id::from_token(d.new.0);
                match st.comms.get_mut(id) {
                    Some(c) if !d.abandoned => {
                        c.ctx = 2 * slot;
                    }
                    _ => {
                        st.comms.remove(id);
                        st.ctx.ids.release(slot);
                    }
                }
                empty_status()
            }
            Err(e) => {
                st.comms.remove(Id::from_token(d.new.0));
                Status { error: Some(e.class), ..empty_status() }
            }
        };
        st.proto.complete(d.req, status);
        true
    }
}
