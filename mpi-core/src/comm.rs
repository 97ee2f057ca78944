//! Communicators: creation, comparison, names and freeing (a child module of `engine`, so
//! that it reaches the engine's state without widening its visibility).
//!
//! # Context ids
//!
//! A communicator's messages carry its context id: `ctx` for point-to-point, `ctx + 1` for
//! collectives, so the two never match each other. Ids come in pairs, one slot each
//! (`ctx = 2 * slot`); `MPI_COMM_WORLD` has slot 0 and `MPI_COMM_SELF` slot 1.
//!
//! Every process keeps a bitmap of the slots its communicators use ([`ContextIds`]). A new
//! communicator's members agree on a slot without any central party: they OR their bitmaps
//! together in an allreduce over the parent (or, for `MPI_Comm_create_group`, over the group
//! alone) and take the lowest slot clear everywhere. Each process marks it used and returns it
//! when the communicator is freed. A slot is therefore never reused while any member still
//! has a communicator on it, and processes that share no communicator may use the same slot
//! for different communicators: a message's context only has to be unique among the
//! communicators of its receiver.
//!
//! `MPI_Comm_split` and `MPI_Comm_create` give every resulting communicator the same slot:
//! they are disjoint, so no process can confuse them.
//!
//! Intercommunicators (`intercomm.rs`) agree on their slot across both groups: an OR-allreduce
//! over each local group, the two leaders swap and OR the results, and each leader broadcasts
//! the union over its group (see [`Comm`]).
//!
//! Threads and nonblocking creations: two agreements running at once in one process (on
//! different parents, which `MPI_THREAD_MULTIPLE` allows, or `MPI_Comm_idup`s outstanding,
//! `idup.rs`) must not both pick the same slot from the same bitmap, nor wait for each other
//! forever: `ctxid.rs` decides, round by round, which agreement may offer which part of the
//! bitmap; the others offer "all used" and retry (MPICH's scheme).

use std::sync::Arc;

use crate::buffer::UserBuf;
use crate::collective::{self, CollPeer};
use crate::datatype::Kind;
use crate::error::{fail, ErrorClass, Result};
use crate::group::{Comparison, Group};
use crate::matching::{Envelope, Selector};
use crate::op::BuiltinOp;
use crate::protocol::ReqId;
use crate::slab::Id;

use super::topology::Topology;
use super::ctxid::OFFER_WORDS;
use super::{CommId, Engine, State};

/// A communicator: an intracommunicator, or an intercommunicator when `remote` is set.
///
/// An intercommunicator joins two disjoint groups. `rank` and `members` are those of the local
/// group (what `MPI_Comm_rank`, `MPI_Comm_size` and `MPI_Comm_group` report), `remote` the
/// other group, which point-to-point ranks name: a send to `dest` goes to `remote[dest]` with
/// our local rank as its source, which is the receiver's remote rank for us, so receives and
/// statuses need no translation. Both groups use the same context, agreed when the
/// intercommunicator is made (`MPI_Intercomm_create`, dup, split): each group OR-allreduces
/// its slot bitmaps over itself, the two leaders swap their results and OR them, and each
/// leader broadcasts the union over its group, so the slot is free in every process of both
/// groups. The collective context `ctx + 1` carries the local group's own collectives (plain
/// tags, local ranks) and the messages between the groups (tags offset by
/// `intercomm::INTER_TAG`, remote ranks): the tags keep the two apart although their source
/// ranks overlap. No second context is needed.
pub(super) struct Comm {
    /// Point-to-point context id (even); collectives use `ctx + 1`. See the module doc.
    pub(super) ctx: u32,
    pub(super) rank: u32,
    /// World rank of each communicator rank (of the local group, for an intercommunicator).
    pub(super) members: Vec<usize>,
    /// World rank of each rank of the remote group: `Some` for intercommunicators only.
    pub(super) remote: Option<Vec<usize>>,
    /// `MPI_Comm_set_name`; empty when unnamed.
    pub(super) name: String,
    /// Its process topology, if any (`topology.rs`); `MPI_Comm_dup` shares it.
    pub(super) topo: Option<Arc<Topology>>,
    /// Collective calls made on it so far (`nbc.rs`): every member makes them in the same
    /// order, so the count numbers each call alike everywhere and its messages' tags keep
    /// outstanding nonblocking collectives apart.
    pub(super) coll_seq: u32,
    /// Its shared-memory board for small blocking collectives, once asked for (`nbc/board.rs`).
    pub(super) board: super::nbc::BoardUse,
}

impl Comm {
    pub(super) fn new(ctx: u32, rank: u32, members: Vec<usize>, name: &str) -> Comm {
        Comm { ctx, rank, members, remote: None, name: name.to_string(), topo: None, coll_seq: 0, board: Default::default() }
    }

    /// The processes that point-to-point ranks name: the remote group of an
    /// intercommunicator, the members of an intracommunicator.
    #[inline]
    pub(super) fn peers(&self) -> &[usize] {
        match &self.remote {
            None => &self.members,
            Some(remote) => remote,
        }
    }

    /// Whether this is the placeholder of an `MPI_Comm_idup` still agreeing on its context
    /// (`idup.rs`), which nothing may use yet.
    pub(super) fn is_pending(&self) -> bool {
        self.ctx == PENDING_CTX
    }

    /// `MPI_ERR_COMM` for an intercommunicator, where `what` needs an intracommunicator.
    pub(super) fn intra_only(&self, what: &str) -> Result<()> {
        if self.remote.is_some() {
            return fail(ErrorClass::Comm, format!("{what} needs an intracommunicator, and this is an intercommunicator"));
        }
        Ok(())
    }
}

/// Context id of an `MPI_Comm_idup`'s placeholder until its agreement ends: far above any real
/// one (`2 * slot`), and even, so that `ctx + 1` cannot overflow.
pub(super) const PENDING_CTX: u32 = u32::MAX - 1;

/// Longest communicator name kept (`MPI_MAX_OBJECT_NAME` less the NUL); longer ones are cut.
pub const MAX_NAME: usize = 127;

/// Tags of `MPI_Comm_create_group`'s collectives: negative, so they never meet the parent's own
/// collectives (positive tags) on its collective context, and derived from the user's tag, so
/// that concurrent creations over overlapping groups with different tags stay apart (tags equal
/// modulo 2^28 are not told apart).
pub(super) fn group_tag(user_tag: i32, coll_tag: i32) -> i32 {
    i32::MIN + ((user_tag & 0x0FFF_FFFF) << 3) + (coll_tag & 7)
}

/// A collective context over a subset of a parent communicator: ranks are group ranks,
/// messages travel on the parent's collective context with `group_tag` tags and the parent
/// ranks as sources.
pub(super) struct GroupPeer<'a> {
    pub(super) engine: &'a Engine,
    pub(super) ctx: u32,
    pub(super) tag: i32,
    pub(super) rank: usize,
    /// (world rank, parent rank) of each group rank.
    pub(super) members: Vec<(usize, u32)>,
}

impl GroupPeer<'_> {
    fn post_recv(&self, src: usize, tag: i32, buf: &mut [u8]) -> Result<ReqId> {
        let mut st = self.engine.lock();
        let sel = Selector { ctx: self.ctx, src: Some(self.members[src].1), tag: Some(group_tag(self.tag, tag)) };
        Ok(st.proto.irecv(sel, UserBuf::from_slice(buf).into()))
    }

}

impl CollPeer for GroupPeer<'_> {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.members.len()
    }
    fn send(&mut self, dest: usize, tag: i32, data: &[u8]) -> Result<()> {
        let st = self.engine.lock();
        let env = Envelope { ctx: self.ctx, src: self.members[self.rank].1, tag: group_tag(self.tag, tag) };
        // SAFETY: `send_to` returns only once the send is complete, within `data`'s borrow.
        let buf = unsafe { UserBuf::new(data.as_ptr() as *mut u8, data.len()) };
        self.engine.send_to(st, self.members[dest].0, env, buf.into())
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

pub(super) fn to_bytes(words: &[u64]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_ne_bytes()).collect()
}

pub(super) fn from_bytes(bytes: &[u8]) -> Vec<u64> {
    bytes.chunks_exact(8).map(|c| u64::from_ne_bytes(c.try_into().unwrap_or([0; 8]))).collect()
}

/// Colour of `MPI_UNDEFINED` in `split`'s exchange (real colours are non-negative `i32`s).
pub(super) const NO_COLOR: u32 = u32::MAX;

impl Engine {
    /// Agrees on a context slot with every rank of `peer`, a creation from a parent with
    /// context id `parent_ctx` (`call` as `ContextState::claim` says), and exchanges
    /// `payload` (each rank contributes its words, zero elsewhere; the result is their OR).
    /// Marks the slot used here; the caller releases it if this process ends up outside the
    /// new communicator.
    fn agree_ctx(&self, peer: &mut dyn CollPeer, parent_ctx: u32, call: i64, payload: &[u64]) -> Result<(u32, Vec<u64>)> {
        let mut backoff = super::Backoff::new(self.oversubscribed);
        let mut claim = self.lock().ctx.claim(parent_ctx, call);
        loop {
            let mut words = self.lock().ctx.offer(&mut claim);
            words.extend(payload);
            let mut bytes = to_bytes(&words);
            let reduced = collective::allreduce_in_place(peer, &mut bytes, Kind::U64, BuiltinOp::Bor);
            let words = from_bytes(&bytes);
            if let Some(slot) = self.lock().ctx.settle(&mut claim, reduced.map(|()| &words[..]))? {
                return Ok((slot, words[OFFER_WORDS..].to_vec()));
            }
            backoff.snooze(self);
        }
    }

    pub(super) fn insert_comm(&self, slot: u32, rank: usize, members: Vec<usize>) -> CommId {
        let mut st = self.lock();
        let id = st.comms.insert(Comm::new(2 * slot, rank as u32, members, ""));
        CommId(id.token())
    }

    pub(super) fn release_slot(&self, slot: u32) {
        self.lock().ctx.ids.release(slot);
    }

    /// Whether `comm` names a live communicator (error handlers of freed ones fall back). An
    /// `MPI_Comm_idup`'s placeholder is one: its errors go to its own handler.
    pub fn comm_exists(&self, comm: CommId) -> bool {
        self.lock().comms.get(Id::from_token(comm.0)).is_some()
    }

    /// `MPI_Comm_group`.
    pub fn comm_group(&self, comm: CommId) -> Result<Group> {
        self.with_comm(comm, |c| Group::new(c.members.clone()))
    }

    /// `MPI_Comm_dup`: same members, order and topology, a new context (both groups of an
    /// intercommunicator: `intercomm.rs`).
    pub fn comm_dup(&self, comm: CommId) -> Result<CommId> {
        let (rank, members, topo, inter, ctx) =
            self.with_comm(comm, |c| Ok((c.rank as usize, c.members.clone(), c.topo.clone(), c.remote.is_some(), c.ctx)))?;
        if inter {
            return self.intercomm_dup(comm);
        }
        let (slot, _) = self.agree_ctx(&mut self.coll_peer(comm)?, ctx, 0, &[])?;
        let new = self.insert_comm(slot, rank, members);
        if let Some(c) = self.lock().comms.get_mut(Id::from_token(new.0)) {
            c.topo = topo;
        }
        Ok(new)
    }

    /// `MPI_Comm_split`: one communicator per colour, ranks ordered by `key` then by parent
    /// rank; `None` colour (`MPI_UNDEFINED`) gets no communicator. Colours are non-negative.
    pub fn comm_split(&self, comm: CommId, color: Option<i32>, key: i32) -> Result<Option<CommId>> {
        if color.is_some_and(|c| c < 0) {
            return fail(ErrorClass::Arg, format!("colour {} is negative and not MPI_UNDEFINED", color.unwrap_or(0)));
        }
        let (members, inter, ctx) = self.with_comm(comm, |c| Ok((c.members.clone(), c.remote.is_some(), c.ctx)))?;
        if inter {
            return self.intercomm_split(comm, color, key);
        }
        let mut peer = self.coll_peer(comm)?;
        let mut payload = vec![0u64; members.len()];
        let color_bits = color.map_or(NO_COLOR, |c| c as u32);
        payload[peer.rank] = (u64::from(color_bits) << 32) | u64::from(key as u32);
        let (slot, all) = self.agree_ctx(&mut peer, ctx, 0, &payload)?;
        if color.is_none() {
            self.release_slot(slot);
            return Ok(None);
        }
        // (key, parent rank) of every rank with our colour: sorted, that is the new order.
        let mut mine: Vec<(i32, usize)> =
            all.iter().enumerate().filter(|(_, &w)| (w >> 32) as u32 == color_bits).map(|(r, &w)| (w as u32 as i32, r)).collect();
        mine.sort_unstable();
        let rank = mine.iter().position(|&(_, r)| r == peer.rank).unwrap_or(0);
        Ok(Some(self.insert_comm(slot, rank, mine.iter().map(|&(_, r)| members[r]).collect())))
    }

    /// The lowest world rank on this host: the colour of `MPI_COMM_TYPE_SHARED`.
    pub fn host_leader(&self) -> usize {
        let world = self.world.lock().unwrap_or_else(|p| p.into_inner());
        world.local_ranks.first().copied().unwrap_or(self.rank)
    }

    /// `MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)`: the ranks of `comm` that share this host.
    /// On an intercommunicator, a split by host (`intercomm_split`): an intercommunicator
    /// between the processes of this host in each group, `None` where the other group has
    /// none here.
    pub fn comm_split_shared(&self, comm: CommId, key: i32) -> Result<Option<CommId>> {
        let leader = self.host_leader();
        self.comm_split(comm, Some(leader as i32), key)
    }

    /// `MPI_Comm_create`: called by every rank of `comm`, each with the group of the
    /// communicator it joins (a subgroup of `comm`; ranks may pass different, disjoint
    /// groups). Ranks outside their group get `None`. On an intercommunicator `group` is a
    /// subgroup of the local group, the same in all its members (`intercomm.rs`).
    pub fn comm_create(&self, comm: CommId, group: &Group) -> Result<Option<CommId>> {
        let (parent, inter, ctx) = self.with_comm(comm, |c| Ok((c.members.clone(), c.remote.is_some(), c.ctx)))?;
        if let Some(m) = group.members().iter().find(|m| !parent.contains(m)) {
            return fail(ErrorClass::Group, format!("process {m} of the group is not in the (local group of the) communicator"));
        }
        if inter {
            return self.intercomm_create_subset(comm, group);
        }
        let (slot, _) = self.agree_ctx(&mut self.coll_peer(comm)?, ctx, 0, &[])?;
        match group.rank_of(self.rank) {
            Some(rank) => Ok(Some(self.insert_comm(slot, rank, group.members().to_vec()))),
            None => {
                self.release_slot(slot);
                Ok(None)
            }
        }
    }

    /// `MPI_Comm_create_group`: collective over `group` only (a subgroup of `comm`); `tag`
    /// keeps concurrent creations on the same parent apart. A process outside the group gets
    /// `None` at once.
    pub fn comm_create_group(&self, comm: CommId, group: &Group, tag: i32) -> Result<Option<CommId>> {
        if !(0..=super::TAG_UB).contains(&tag) {
            return fail(ErrorClass::Tag, format!("tag {tag} is outside 0..={}", super::TAG_UB));
        }
        let (ctx, parent) = self.with_comm(comm, |c| {
            c.intra_only("MPI_Comm_create_group")?;
            Ok((c.ctx, c.members.clone()))
        })?;
        let mut members = Vec::with_capacity(group.size());
        for &m in group.members() {
            match parent.iter().position(|&p| p == m) {
                Some(r) => members.push((m, r as u32)),
                None => return fail(ErrorClass::Group, format!("process {m} of the group is not in the communicator")),
            }
        }
        let Some(rank) = group.rank_of(self.rank) else {
            return Ok(None);
        };
        let mut peer = GroupPeer { engine: self, ctx: ctx + 1, tag, rank, members };
        let (slot, _) = self.agree_ctx(&mut peer, ctx, i64::from(tag), &[])?;
        Ok(Some(self.insert_comm(slot, rank, group.members().to_vec())))
    }

    /// `MPI_Comm_free`: the communicator's handle becomes invalid and its context slot free.
    /// Operations already started complete (they carry the context, not the communicator).
    pub fn comm_free(&self, comm: CommId) -> Result<()> {
        if comm == CommId::WORLD || comm == CommId::SELF {
            return fail(ErrorClass::Comm, "MPI_COMM_WORLD and MPI_COMM_SELF cannot be freed");
        }
        let mut st = self.lock();
        st.comm(comm)?;
        match st.comms.remove(Id::from_token(comm.0)) {
            Some(c) => {
                st.ctx.ids.release(c.ctx / 2);
                // A buffer still attached goes with the communicator; its sends in flight go on.
                st.comm_bsend.remove(&comm);
                Ok(())
            }
            None => fail(ErrorClass::Comm, "invalid communicator"),
        }
    }

    /// `MPI_Comm_compare`. Two intercommunicators compare by both groups: congruent when
    /// local and remote groups are identical, similar when both are similar. An
    /// intercommunicator and an intracommunicator are unequal.
    pub fn comm_compare(&self, a: CommId, b: CommId) -> Result<Comparison> {
        let st = self.lock();
        let (ca, cb) = (st.comm(a)?, st.comm(b)?);
        if a == b {
            return Ok(Comparison::Ident);
        }
        let local = Group::new(ca.members.clone())?.compare(&Group::new(cb.members.clone())?);
        let both = match (&ca.remote, &cb.remote) {
            (None, None) => local,
            (Some(ra), Some(rb)) => match (local, Group::new(ra.clone())?.compare(&Group::new(rb.clone())?)) {
                (Comparison::Unequal, _) | (_, Comparison::Unequal) => Comparison::Unequal,
                (Comparison::Ident, Comparison::Ident) => Comparison::Ident,
                _ => Comparison::Similar,
            },
            _ => Comparison::Unequal,
        };
        Ok(match both {
            Comparison::Ident => Comparison::Congruent,
            other => other,
        })
    }

    /// `MPI_Comm_set_name` (cut to [`MAX_NAME`] bytes, at a character boundary).
    pub fn comm_set_name(&self, comm: CommId, name: &str) -> Result<()> {
        let mut end = name.len().min(MAX_NAME);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        let mut st = self.lock();
        st.comm(comm)?;
        if let Some(c) = st.comms.get_mut(Id::from_token(comm.0)) {
            c.name = name[..end].to_string();
        }
        Ok(())
    }

    /// `MPI_Comm_get_name`: empty for a communicator never named.
    pub fn comm_name(&self, comm: CommId) -> Result<String> {
        self.with_comm(comm, |c| Ok(c.name.clone()))
    }
}

impl State {
    pub(super) fn new_comms(world_rank: usize, size: usize) -> crate::slab::Slab<Comm> {
        let mut comms = crate::slab::Slab::default();
        comms.insert(Comm::new(0, world_rank as u32, (0..size).collect(), "MPI_COMM_WORLD"));
        comms.insert(Comm::new(2, 0, vec![world_rank], "MPI_COMM_SELF"));
        comms
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collective::TAG_ALLREDUCE;

    #[test]
    fn group_tags_are_negative_and_distinct() {
        for user in [0, 1, 77, super::super::TAG_UB] {
            for coll in 1..=7 {
                assert!(group_tag(user, coll) < 0);
            }
        }
        assert_ne!(group_tag(1, TAG_ALLREDUCE), group_tag(2, TAG_ALLREDUCE));
        assert_ne!(group_tag(1, 1), group_tag(1, 2));
    }

    #[test]
    fn predefined_comms_have_their_ids() {
        let comms = State::new_comms(3, 4);
        assert_eq!(comms.get(Id::from_token(CommId::WORLD.0)).map(|c| c.ctx), Some(0));
        assert_eq!(comms.get(Id::from_token(CommId::SELF.0)).map(|c| (c.ctx, c.members.clone())), Some((2, vec![3])));
    }
}
