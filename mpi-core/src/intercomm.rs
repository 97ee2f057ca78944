//! Intercommunicators: `MPI_Intercomm_create`, `MPI_Intercomm_merge`, dup, split and
//! `MPI_Comm_create` of an intercommunicator, and its collectives (a child module of `engine`,
//! like `comm.rs`; `MPI_Comm_idup` of one is in `idup.rs`).
//!
//! How an intercommunicator is represented, and how its two groups share one context, is
//! described at [`Comm`](super::comm::Comm). The agreement on that context
//! ([`Engine::agree_ctx_inter`]) runs in three steps, so that neither group needs a
//! communicator spanning both:
//! 1. each group OR-allreduces its members' slot bitmaps (and a payload) over itself;
//! 2. the two leaders swap their results: over the peer communicator for
//!    `MPI_Intercomm_create` (its collective context, with a negative tag derived from the
//!    user's, like `MPI_Comm_create_group`'s), over the intercommunicator itself for dup,
//!    merge and split;
//! 3. each leader ORs the two bitmaps and broadcasts the union, with the other group's
//!    payload, over its group.
//!
//! Both groups thus see the same union and pick the same slot, or retry together (the
//! "someone was held back" word travels with the bitmap; `comm.rs`, "Threads"). When a
//! leader's swap fails (a bad remote leader, an invalid peer communicator), its broadcast
//! carries the error class instead, so that every member of its group fails with it rather
//! than waiting for a result that will not come.
//!
//! Collectives (schedules built by `schedule::inter_barrier`, ..., run by `nbc.rs`) follow the
//! standard's root conventions: in the root's group the root passes
//! `MPI_ROOT` and the others `MPI_PROC_NULL`; the other group names the root's remote rank.
//! Data crosses between the leaders (local rank 0 of each group) and spreads within a group
//! by the intracommunicator algorithms on the local group:
//! - barrier: local barrier, leaders swap an empty message, local barrier (nobody leaves
//!   before both groups have entered);
//! - bcast: the root sends to remote rank 0, which broadcasts in its group;
//! - reduce: the non-root group reduces to its rank 0, which sends the result to the root;
//! - allreduce: each group reduces to its rank 0, the leaders swap, each broadcasts what it
//!   received, so each group gets the reduction of the other group's data.

use crate::buffer::UserBuf;
use crate::collective::{self, CollPeer};
use crate::schedule::InterRoot;
use crate::datatype::Kind;
use crate::error::{fail, ErrorClass, MpiError, Result};
use crate::group::{Group, CONTEXT_WORDS};
use crate::matching::{Envelope, Selector};
use crate::op::BuiltinOp;
use crate::protocol::ReqId;

use super::comm::{from_bytes, to_bytes, Comm, GroupPeer, NO_COLOR};
use super::ctxid::OFFER_WORDS;
use super::{CommId, Engine, PROC_NULL, ROOT, TAG_UB};

/// Offset of the tags of messages between the groups, on an intercommunicator's collective
/// context. The local group's collectives use the small tags of `collective.rs` with local
/// ranks as sources, which overlap the remote ranks; these tags keep the two apart.
pub(super) const INTER_TAG: i32 = 1 << 29;

/// Tag (plus [`INTER_TAG`]) of the leaders' swap in a context agreement on an intercommunicator.
pub(super) const TAG_AGREE: i32 = 8;

/// Collective tag (through `group_tag`) of the leaders' swap over `MPI_Intercomm_create`'s
/// peer communicator: distinct from the tags `MPI_Comm_create_group` uses there (1 to 4).
const TAG_INTERCOMM: i32 = 7;

/// Longest agreement a leader accepts from the other (bitmap, flag and one word per process).
const MAX_AGREEMENT_WORDS: usize = 1 << 26;

/// Error classes a leader relays to its group when its swap fails (anything else as `Other`).
const RELAYED: [ErrorClass; 6] = [ErrorClass::Rank, ErrorClass::Comm, ErrorClass::Tag, ErrorClass::Arg, ErrorClass::Group, ErrorClass::Other];

fn relay_code(class: ErrorClass) -> u64 {
    RELAYED.iter().position(|&c| c == class).unwrap_or(RELAYED.len() - 1) as u64 + 1
}

fn relayed_class(code: u64) -> ErrorClass {
    RELAYED.get((code as usize).wrapping_sub(1)).copied().unwrap_or(ErrorClass::Other)
}

/// Point-to-point between the groups of an intercommunicator, on its collective context:
/// ranks are remote ranks, tags are offset by [`INTER_TAG`].
struct InterLink<'a> {
    engine: &'a Engine,
    ctx: u32,
    rank: u32,
    remote: Vec<usize>,
}

impl InterLink<'_> {
    fn world(&self, r: usize) -> Result<usize> {
        match self.remote.get(r) {
            Some(&w) => Ok(w),
            None => fail(ErrorClass::Intern, format!("remote rank {r} out of range")),
        }
    }

    fn post_recv(&self, src: usize, tag: i32, buf: &mut [u8]) -> Result<ReqId> {
        self.world(src)?;
        let mut st = self.engine.lock();
        let sel = Selector { ctx: self.ctx, src: Some(src as u32), tag: Some(INTER_TAG + tag) };
        Ok(st.proto.irecv(sel, UserBuf::from_slice(buf).into()))
    }

    fn wait_recv(&self, r: ReqId) -> Result<()> {
        let status = self.engine.wait_protocol(r)?;
        match status.error {
            Some(class) => Err(MpiError::new(class, "message between the groups of an intercommunicator of unexpected length")),
            None => Ok(()),
        }
    }

    fn send(&self, dest: usize, tag: i32, data: &[u8]) -> Result<()> {
        let peer = self.world(dest)?;
        let st = self.engine.lock();
        let env = Envelope { ctx: self.ctx, src: self.rank, tag: INTER_TAG + tag };
        // SAFETY: `send_to` returns only once the send is complete, within `data`'s borrow.
        let buf = unsafe { UserBuf::new(data.as_ptr() as *mut u8, data.len()) };
        self.engine.send_to(st, peer, env, buf.into())
    }

    /// Sends `data` to remote rank `other` and receives `buf` from it.
    fn sendrecv(&self, other: usize, tag: i32, data: &[u8], buf: &mut [u8]) -> Result<()> {
        let r = self.post_recv(other, tag, buf)?;
        self.send(other, tag, data)?;
        self.wait_recv(r)
    }
}

/// The leader's half of a swap with the other leader: sends the first slice, receives into the
/// second.
type Swap<'a> = dyn FnMut(&[u8], &mut [u8]) -> Result<()> + 'a;

/// The leader's swap of `words` with the other leader (a length, then the words).
fn swap_words(swap: &mut Swap<'_>, words: &[u64]) -> Result<Vec<u64>> {
    let mut len = [0u8; 8];
    swap(&(words.len() as u64).to_ne_bytes(), &mut len)?;
    let n = u64::from_ne_bytes(len) as usize;
    if n > MAX_AGREEMENT_WORDS {
        return fail(ErrorClass::Intern, format!("the remote leader announced an agreement of {n} words"));
    }
    let mut theirs = vec![0u8; n * 8];
    swap(&to_bytes(words), &mut theirs)?;
    Ok(from_bytes(&theirs))
}

/// The world ranks of `world` whose entry in `all` (colour << 32 | key, by rank) has
/// `color`, ordered by key, then rank.
fn pick(all: &[u64], world: &[usize], color: u32) -> Vec<usize> {
    let mut mine: Vec<(i32, usize)> =
        all.iter().enumerate().filter(|(_, &w)| (w >> 32) as u32 == color).map(|(r, &w)| (w as u32 as i32, r)).collect();
    mine.sort_unstable();
    mine.iter().filter_map(|&(_, r)| world.get(r).copied()).collect()
}

impl Engine {
    /// Agrees on a context slot free in every process of two groups (module doc). `local` is
    /// this process's group, `leader` its leader's rank there; `swap` (called at the leader
    /// only) talks to the other leader. Each process contributes `payload` (OR-ed over its
    /// group). `parent_ctx` and `call` order this agreement among others (`ctxid.rs`).
    /// Returns the slot, marked used here, this group's payload and the other's.
    fn agree_ctx_inter(
        &self,
        local: &mut dyn CollPeer,
        leader: usize,
        swap: &mut Swap<'_>,
        parent_ctx: u32,
        call: i64,
        payload: &[u64],
    ) -> Result<(u32, Vec<u64>, Vec<u64>)> {
        let mut backoff = super::Backoff::new(self.oversubscribed);
        let mut claim = self.lock().ctx.claim(parent_ctx, call);
        loop {
            let mut words = self.lock().ctx.offer(&mut claim);
            words.extend(payload);
            let mut round = || -> Result<(Vec<u64>, Vec<u64>)> {
                let mut bytes = to_bytes(&words);
                collective::allreduce_in_place(local, &mut bytes, Kind::U64, BuiltinOp::Bor)?;
                let ours = from_bytes(&bytes);
                let union = self.leaders_swap(local, leader, swap, &ours)?;
                Ok((ours, union))
            };
            let round = round();
            let settled = self.lock().ctx.settle(&mut claim, round.as_ref().map(|(_, u)| &u[..]).map_err(Clone::clone))?;
            if let (Some(slot), Ok((ours, union))) = (settled, round) {
                return Ok((slot, ours[OFFER_WORDS..].to_vec(), union[OFFER_WORDS..].to_vec()));
            }
            backoff.snooze(self);
        }
    }

    /// Steps 2 and 3 of the agreement: the leader swaps `ours` (bitmap, flag, payload) with the
    /// other leader and broadcasts (union of bitmaps and flags, other group's payload) over
    /// `local`, or the error class of a failed swap.
    fn leaders_swap(
        &self,
        local: &mut dyn CollPeer,
        leader: usize,
        swap: &mut Swap<'_>,
        ours: &[u64],
    ) -> Result<Vec<u64>> {
        // Header: relayed error code (0: none), words that follow.
        let mut header = [0u64; 2];
        let mut union = Vec::new();
        let mut failure = None;
        if local.rank() == leader {
            match swap_words(swap, ours) {
                Ok(theirs) if theirs.len() > CONTEXT_WORDS && ours.len() > CONTEXT_WORDS => {
                    union = ours[..=CONTEXT_WORDS].iter().zip(&theirs).map(|(a, b)| a | b).collect();
                    union.extend(&theirs[CONTEXT_WORDS + 1..]);
                    header[1] = union.len() as u64;
                }
                Ok(_) => failure = Some(MpiError::new(ErrorClass::Intern, "the remote leader sent a malformed context agreement")),
                Err(e) => failure = Some(e),
            }
            if let Some(e) = &failure {
                header[0] = relay_code(e.class);
            }
        }
        let mut bytes = to_bytes(&header);
        collective::bcast(local, &mut bytes, leader)?;
        if let Some(e) = failure {
            return Err(e);
        }
        let header = from_bytes(&bytes);
        if header[0] != 0 {
            return fail(relayed_class(header[0]), "the local leader failed to reach the remote leader (it reported an error of this class)");
        }
        let n = header[1] as usize;
        if n > MAX_AGREEMENT_WORDS {
            return fail(ErrorClass::Intern, format!("the local leader announced an agreement of {n} words"));
        }
        let mut bytes = if local.rank() == leader { to_bytes(&union) } else { vec![0u8; n * 8] };
        collective::bcast(local, &mut bytes, leader)?;
        Ok(from_bytes(&bytes))
    }

    /// (local rank, local group, remote group) of an intercommunicator; `MPI_ERR_COMM` for an
    /// intracommunicator.
    fn inter_parts(&self, comm: CommId, what: &str) -> Result<(usize, Vec<usize>, Vec<usize>)> {
        self.with_comm(comm, |c| match &c.remote {
            Some(remote) => Ok((c.rank as usize, c.members.clone(), remote.clone())),
            None => fail(ErrorClass::Comm, format!("{what} needs an intercommunicator, and this is an intracommunicator")),
        })
    }

    fn inter_link(&self, comm: CommId) -> Result<InterLink<'_>> {
        self.with_comm(comm, |c| match &c.remote {
            Some(remote) => Ok(InterLink { engine: self, ctx: c.ctx + 1, rank: c.rank, remote: remote.clone() }),
            None => fail(ErrorClass::Comm, "not an intercommunicator"),
        })
    }

    fn insert_inter(&self, slot: u32, rank: usize, members: Vec<usize>, remote: Vec<usize>) -> CommId {
        let mut comm = Comm::new(2 * slot, rank as u32, members, "");
        comm.remote = Some(remote);
        CommId(self.lock().comms.insert(comm).token())
    }

    /// An agreement over intercommunicator `comm`: leaders are local rank 0 of each group.
    fn agree_over_inter(&self, comm: CommId, payload: &[u64]) -> Result<(u32, Vec<u64>, Vec<u64>)> {
        let link = self.inter_link(comm)?;
        let mut local = self.coll_peer(comm)?;
        let ctx = link.ctx - 1;
        self.agree_ctx_inter(&mut local, 0, &mut |data, buf| link.sendrecv(0, TAG_AGREE, data, buf), ctx, 0, payload)
    }

    /// `MPI_Comm_test_inter`.
    pub fn comm_is_inter(&self, comm: CommId) -> Result<bool> {
        self.with_comm(comm, |c| Ok(c.remote.is_some()))
    }

    /// `MPI_Comm_remote_size`.
    pub fn comm_remote_size(&self, comm: CommId) -> Result<usize> {
        Ok(self.inter_parts(comm, "MPI_Comm_remote_size")?.2.len())
    }

    /// `MPI_Comm_remote_group`.
    pub fn comm_remote_group(&self, comm: CommId) -> Result<Group> {
        Group::new(self.inter_parts(comm, "MPI_Comm_remote_group")?.2)
    }

    /// What a process does in a rooted collective with `root`: (gets the result, contributes
    /// data). On an intercommunicator the root passes `MPI_ROOT` and only contributes its
    /// result buffer, `MPI_PROC_NULL` does neither, the other group contributes.
    pub fn root_role(&self, comm: CommId, root: i32) -> Result<(bool, bool)> {
        self.with_comm(comm, |c| {
            Ok(match c.remote {
                None => (c.rank as i32 == root, true),
                Some(_) => (root == ROOT, root != ROOT && root != PROC_NULL),
            })
        })
    }

    /// `MPI_Intercomm_create`: collective over `local` (an intracommunicator); its rank
    /// `local_leader` swaps membership and context bitmaps with rank `remote_leader` of `peer`
    /// (which only the leader uses, so that the others may pass an invalid one: `peer` is the
    /// result of translating its handle), with messages tagged by `tag`.
    pub fn intercomm_create(&self, local: CommId, local_leader: i32, peer: Result<CommId>, remote_leader: i32, tag: i32) -> Result<CommId> {
        let (rank, members, ctx) = self.with_comm(local, |c| {
            c.intra_only("MPI_Intercomm_create's local communicator")?;
            Ok((c.rank as usize, c.members.clone(), c.ctx))
        })?;
        if local_leader < 0 || local_leader as usize >= members.len() {
            return fail(ErrorClass::Rank, format!("local leader {local_leader} is not a rank of the local communicator of size {}", members.len()));
        }
        if !(0..=TAG_UB).contains(&tag) {
            return fail(ErrorClass::Tag, format!("tag {tag} is outside 0..={TAG_UB}"));
        }
        let leader = local_leader as usize;
        let mut link = if rank == leader { peer.and_then(|p| self.leader_link(p, remote_leader, tag)) } else { fail(ErrorClass::Intern, "not the leader") };
        let mut swap = |data: &[u8], buf: &mut [u8]| match &mut link {
            Ok(l) => l.sendrecv(1, TAG_INTERCOMM, data, 1, TAG_INTERCOMM, buf),
            Err(e) => Err(e.clone()),
        };
        // Every member contributes the whole local group (the OR leaves it as it is).
        let payload: Vec<u64> = members.iter().map(|&m| m as u64).collect();
        let (slot, _, theirs) = self.agree_ctx_inter(&mut self.coll_peer(local)?, leader, &mut swap, ctx, i64::from(tag), &payload)?;
        let remote: Vec<usize> = theirs.iter().map(|&w| w as usize).collect();
        if remote.is_empty() || remote.iter().any(|r| *r >= self.size || members.contains(r)) || Group::new(remote.clone()).is_err() {
            self.release_slot(slot);
            return fail(ErrorClass::Comm, "the groups of an intercommunicator must be disjoint: the remote leader belongs to the local group's processes");
        }
        Ok(self.insert_inter(slot, rank, members, remote))
    }

    /// `MPI_Intercomm_create_from_groups`: collective over both groups (disjoint; this process
    /// is in `local`), with no parent communicator. The local group's agreement runs over a
    /// communicator made from `local` as `MPI_Comm_create_group` makes one over
    /// `MPI_COMM_WORLD` (freed at the end), and the leaders (`local_leader`, `remote_leader`:
    /// ranks of their groups) swap over `MPI_COMM_WORLD`'s collective context; `tag` (from
    /// the string tag) keeps concurrent creations apart.
    pub fn intercomm_create_from_groups(&self, local: &Group, local_leader: i32, remote: &Group, remote_leader: i32, tag: i32) -> Result<CommId> {
        if local.rank_of(self.rank).is_none() {
            return fail(ErrorClass::Group, "this process is not in the local group");
        }
        if local_leader < 0 || local_leader as usize >= local.size() {
            return fail(ErrorClass::Rank, format!("local leader {local_leader} is not a rank of the local group of size {}", local.size()));
        }
        if remote_leader < 0 || remote_leader as usize >= remote.size() {
            return fail(ErrorClass::Rank, format!("remote leader {remote_leader} is not a rank of the remote group of size {}", remote.size()));
        }
        if let Some(m) = remote.members().iter().find(|&&m| local.rank_of(m).is_some()) {
            return fail(ErrorClass::Group, format!("process {m} is in both groups"));
        }
        let Some(scratch) = self.comm_create_group(super::CommId::WORLD, local, tag)? else {
            return fail(ErrorClass::Intern, "the local group gave no communicator");
        };
        let remote_world = remote.members()[remote_leader as usize] as i32;
        let made = self.intercomm_create(scratch, local_leader, Ok(super::CommId::WORLD), remote_world, tag);
        self.comm_free(scratch)?;
        let new = made?;
        let theirs = self.inter_parts(new, "MPI_Intercomm_create_from_groups")?.2;
        if theirs != remote.members() {
            self.comm_free(new)?;
            return fail(ErrorClass::Group, "the remote group differs from the group its processes passed as their local group");
        }
        Ok(new)
    }

    /// The local leader's channel to the remote leader: `peer`'s collective context, as a
    /// two-member group (us, the remote leader).
    fn leader_link(&self, peer: CommId, remote_leader: i32, tag: i32) -> Result<GroupPeer<'_>> {
        let (ctx, prank, world) = self.with_comm(peer, |c| {
            c.intra_only("MPI_Intercomm_create's peer communicator")?;
            if remote_leader < 0 || remote_leader as usize >= c.members.len() {
                return fail(ErrorClass::Rank, format!("remote leader {remote_leader} is not a rank of the peer communicator of size {}", c.members.len()));
            }
            if remote_leader as u32 == c.rank {
                return fail(ErrorClass::Rank, format!("remote leader {remote_leader} is the local leader itself"));
            }
            Ok((c.ctx, c.rank, c.members[remote_leader as usize]))
        })?;
        Ok(GroupPeer { engine: self, ctx: ctx + 1, tag, rank: 0, members: vec![(self.rank, prank), (world, remote_leader as u32)] })
    }

    /// `MPI_Intercomm_merge`: an intracommunicator of both groups, the group that passed
    /// `high = false` first; when both pass the same, the group whose rank 0 has the lower
    /// world rank first (the standard leaves that order to the implementation).
    pub fn intercomm_merge(&self, comm: CommId, high: bool) -> Result<CommId> {
        let (rank, members, remote) = self.inter_parts(comm, "MPI_Intercomm_merge")?;
        let (slot, _, theirs) = self.agree_over_inter(comm, &[u64::from(high)])?;
        let their_high = theirs.first().is_some_and(|&w| w != 0);
        let local_first = if high != their_high { !high } else { members.first() < remote.first() };
        Ok(if local_first {
            self.insert_comm(slot, rank, [members, remote].concat())
        } else {
            let before = remote.len();
            self.insert_comm(slot, before + rank, [remote, members].concat())
        })
    }

    /// `MPI_Comm_dup` of an intercommunicator: same groups, a new context.
    pub(super) fn intercomm_dup(&self, comm: CommId) -> Result<CommId> {
        let (rank, members, remote) = self.inter_parts(comm, "MPI_Comm_dup")?;
        let (slot, _, _) = self.agree_over_inter(comm, &[])?;
        Ok(self.insert_inter(slot, rank, members, remote))
    }

    /// `MPI_Comm_create` on an intercommunicator: an intercommunicator between the processes
    /// of `group` (a subgroup of the local group, the same in all its members) and those the
    /// other group passed; `None` outside `group`, and everywhere when either group is empty.
    /// Each group's payload is its `group`, as world ranks (identical contributions: their OR
    /// is the list).
    pub(super) fn intercomm_create_subset(&self, comm: CommId, group: &Group) -> Result<Option<CommId>> {
        let payload: Vec<u64> = group.members().iter().map(|&m| m as u64).collect();
        let (slot, mine, theirs) = self.agree_over_inter(comm, &payload)?;
        let (remote, local) = (self.inter_parts(comm, "MPI_Comm_create")?.2, group.members());
        let theirs: Vec<usize> = theirs.iter().map(|&w| w as usize).collect();
        if mine.len() != local.len() || theirs.iter().any(|r| !remote.contains(r)) {
            self.release_slot(slot);
            return fail(ErrorClass::Group, "the members of a group of the intercommunicator passed different groups to MPI_Comm_create");
        }
        match group.rank_of(self.rank) {
            Some(rank) if !theirs.is_empty() => Ok(Some(self.insert_inter(slot, rank, local.to_vec(), theirs))),
            _ => {
                self.release_slot(slot);
                Ok(None)
            }
        }
    }

    /// `MPI_Comm_split` of an intercommunicator: for each colour, an intercommunicator between
    /// the local and the remote processes of that colour, each group ordered by key, then
    /// rank. A colour with no process in the other group gives `None`, as `MPI_UNDEFINED`
    /// does. All results share one context slot (they are disjoint).
    pub(super) fn intercomm_split(&self, comm: CommId, color: Option<i32>, key: i32) -> Result<Option<CommId>> {
        let (rank, members, remote) = self.inter_parts(comm, "MPI_Comm_split")?;
        let color_bits = color.map_or(NO_COLOR, |c| c as u32);
        let mut payload = vec![0u64; members.len()];
        payload[rank] = (u64::from(color_bits) << 32) | u64::from(key as u32);
        let (slot, mine, theirs) = self.agree_over_inter(comm, &payload)?;
        let new_local = pick(&mine, &members, color_bits);
        let new_remote = pick(&theirs, &remote, color_bits);
        let new_rank = new_local.iter().position(|&w| w == self.rank);
        match new_rank {
            Some(r) if color.is_some() && !new_remote.is_empty() => Ok(Some(self.insert_inter(slot, r, new_local, new_remote))),
            _ => {
                self.release_slot(slot);
                Ok(None)
            }
        }
    }
}

/// A rooted intercommunicator collective's `root` argument, as this process sees it (the
/// collectives themselves are schedules: `schedule::inter_bcast`, ... run by `nbc.rs`).
pub(super) fn check_inter_root(root: i32, remote: usize) -> Result<InterRoot> {
    match root {
        PROC_NULL => Ok(InterRoot::None),
        ROOT => Ok(InterRoot::Me),
        r if r >= 0 && (r as usize) < remote => Ok(InterRoot::Remote(r as usize)),
        _ => fail(ErrorClass::Root, format!("root {root} is not MPI_ROOT, MPI_PROC_NULL or a rank of the remote group of size {remote}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relayed_classes_round_trip() {
        for class in RELAYED {
            assert_eq!(relayed_class(relay_code(class)), class);
        }
        assert_eq!(relayed_class(relay_code(ErrorClass::Truncate)), ErrorClass::Other);
        assert_eq!(relayed_class(0), ErrorClass::Other);
        assert_eq!(relayed_class(99), ErrorClass::Other);
    }

    #[test]
    fn pick_orders_by_key_then_rank() {
        let entry = |color: u32, key: i32| (u64::from(color) << 32) | u64::from(key as u32);
        let all = [entry(1, 5), entry(2, 0), entry(1, -3), entry(1, 5), entry(NO_COLOR, 0)];
        assert_eq!(pick(&all, &[10, 11, 12, 13, 14], 1), vec![12, 10, 13]);
        assert_eq!(pick(&all, &[10, 11, 12, 13, 14], 2), vec![11]);
        assert!(pick(&all, &[10, 11, 12, 13, 14], 3).is_empty());
        // A short world list never panics.
        assert_eq!(pick(&all, &[10], 1), vec![10]);
    }

    #[test]
    fn inter_roots() {
        assert!(matches!(check_inter_root(PROC_NULL, 2), Ok(InterRoot::None)));
        assert!(matches!(check_inter_root(ROOT, 2), Ok(InterRoot::Me)));
        assert!(matches!(check_inter_root(1, 2), Ok(InterRoot::Remote(1))));
        assert_eq!(check_inter_root(2, 2).err().map(|e| e.class), Some(ErrorClass::Root));
        assert_eq!(check_inter_root(-7, 2).err().map(|e| e.class), Some(ErrorClass::Root));
    }

    use crate::collective::{TAG_ALLREDUCE, TAG_BARRIER, TAG_BCAST, TAG_REDUCE};

    #[test]
    fn inter_tags_stay_clear_of_collective_and_user_tags() {
        for t in [TAG_BARRIER, TAG_BCAST, TAG_REDUCE, TAG_ALLREDUCE, TAG_AGREE] {
            assert!(INTER_TAG + t > 1 << 20 && INTER_TAG + t < TAG_UB);
        }
    }
}
