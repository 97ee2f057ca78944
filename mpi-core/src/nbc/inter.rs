//! The engine's side of `schedule/inter.rs`: argument checks and staging of the
//! intercommunicator forms of gather, scatter, allgather and alltoall (plain and v) and of
//! reduce-scatter, which `nbc.rs`, `vcoll.rs` and `scan.rs` hand intercommunicators to.
//!
//! On an intercommunicator a buffer of blocks has one block per rank of the remote group.
//! Rooted collectives take `MPI_ROOT` at the root, `MPI_PROC_NULL` at its group partners (who
//! pass no buffers) and the root's rank in the remote group in the other group. `MPI_IN_PLACE`
//! is not valid on an intercommunicator (`MPI_ERR_BUFFER`).

use super::*;

/// Message classes of these collectives (as `vcoll.rs`'s: each call has its own number).
const TAG_INTER_GATHER: i32 = 40;
const TAG_INTER_SCATTER: i32 = 41;
const TAG_INTER_ALLGATHER: i32 = 42;
const TAG_INTER_ALLTOALL: i32 = 43;

fn no_in_place<T>(what: &str) -> Result<T> {
    fail(ErrorClass::Buffer, format!("{what}: MPI_IN_PLACE is not valid on an intercommunicator"))
}

/// The remote group's size; `MPI_ERR_INTERN` on an intracommunicator (callers dispatch).
fn remote_size(st: &State, comm: CommId) -> Result<usize> {
    match &st.comm(comm)?.remote {
        Some(r) => Ok(r.len()),
        None => fail(ErrorClass::Intern, "intercommunicator collective on an intracommunicator"),
    }
}

/// A staged buffer of `n` equal blocks, as one range per block.
fn split(r: schedule::Range, n: usize) -> Vec<schedule::Range> {
    let blk = r.len() / n.max(1);
    (0..n).map(|i| r.slice(i * blk, blk)).collect()
}

impl Engine {
    /// Gather or gatherv: `recv` (the root's) is one buffer of equal blocks (`Blocks::Whole`)
    /// or one buffer per remote rank (`Blocks::Each`).
    pub(super) fn inter_gather_sched(st: &mut State, comm: CommId, send: Option<&Buf>, recv: Blocks<'_>, root: i32, what: &str) -> Result<(Box<Schedule>, Frame)> {
        let remote = remote_size(st, comm)?;
        let root = check_inter_root(root, remote)?;
        match root {
            InterRoot::Me => recv.check(what, remote)?,
            InterRoot::Remote(_) if send.is_none() => return no_in_place(what),
            _ => {}
        }
        let (frame, _, _, _) = st.coll_frame(comm)?;
        let mut s = st.new_sched();
        match (root, send) {
            (InterRoot::Me, _) => {
                let (whole, rs) = recv.stage(&mut s, remote);
                schedule::inter::gather(&mut s, root, schedule::Range::EMPTY, &rs, TAG_INTER_GATHER);
                for r in whole {
                    s.unstage(r);
                }
            }
            (InterRoot::Remote(_), Some(b)) => {
                let sr = s.stage(b, true);
                schedule::inter::gather(&mut s, root, sr, &[], TAG_INTER_GATHER);
            }
            _ => {}
        }
        Ok((s, frame))
    }

    /// Scatter or scatterv (`send`, the root's, as `recv` of `inter_gather_sched`).
    pub(super) fn inter_scatter_sched(st: &mut State, comm: CommId, send: Blocks<'_>, recv: Option<&Buf>, root: i32, what: &str) -> Result<(Box<Schedule>, Frame)> {
        let remote = remote_size(st, comm)?;
        let root = check_inter_root(root, remote)?;
        match root {
            InterRoot::Me => send.check(what, remote)?,
            InterRoot::Remote(_) if recv.is_none() => return no_in_place(what),
            _ => {}
        }
        let (frame, _, _, _) = st.coll_frame(comm)?;
        let mut s = st.new_sched();
        match (root, recv) {
            (InterRoot::Me, _) => {
                let ss = send.stage_read(&mut s, remote);
                schedule::inter::scatter(&mut s, root, &ss, schedule::Range::EMPTY, TAG_INTER_SCATTER);
            }
            (InterRoot::Remote(_), Some(b)) => {
                let r = s.stage(b, false);
                schedule::inter::scatter(&mut s, root, &[], r, TAG_INTER_SCATTER);
                s.unstage(r);
            }
            _ => {}
        }
        Ok((s, frame))
    }

    /// Allgather or allgatherv: this process's `send` to every remote process, their blocks
    /// into `recv`.
    pub(super) fn inter_allgather_sched(st: &mut State, comm: CommId, send: Option<&Buf>, recv: Blocks<'_>, what: &str) -> Result<(Box<Schedule>, Frame)> {
        let remote = remote_size(st, comm)?;
        let Some(send) = send else { return no_in_place(what) };
        recv.check(what, remote)?;
        let (frame, _, _, _) = st.coll_frame(comm)?;
        let mut s = st.new_sched();
        let sr = s.stage(send, true);
        let (whole, rs) = recv.stage(&mut s, remote);
        schedule::inter::allgather(&mut s, sr, &rs, TAG_INTER_ALLGATHER);
        for r in whole {
            s.unstage(r);
        }
        Ok((s, frame))
    }

    /// Alltoall, alltoallv or alltoallw: `send` and `recv` with one block per remote rank.
    pub(super) fn inter_alltoall_sched(st: &mut State, comm: CommId, send: Option<Blocks<'_>>, recv: Blocks<'_>, what: &str) -> Result<(Box<Schedule>, Frame)> {
        let remote = remote_size(st, comm)?;
        let Some(send) = send else { return no_in_place(what) };
        send.check(what, remote)?;
        recv.check(what, remote)?;
        let (frame, _, _, _) = st.coll_frame(comm)?;
        let mut s = st.new_sched();
        let ss = send.stage_read(&mut s, remote);
        let (whole, rs) = recv.stage(&mut s, remote);
        schedule::inter::alltoall(&mut s, &ss, &rs, TAG_INTER_ALLTOALL);
        for r in whole {
            s.unstage(r);
        }
        Ok((s, frame))
    }
}

/// A buffer of one block per remote rank: one buffer of equal blocks (the plain forms) or a
/// buffer per block (the v and w forms).
#[derive(Clone, Copy)]
pub(super) enum Blocks<'a> {
    Whole(&'a Buf),
    Each(&'a [Buf]),
}

impl Blocks<'_> {
    /// One block per remote rank: a whole buffer's length must divide evenly.
    fn check(self, what: &str, remote: usize) -> Result<()> {
        match self {
            Blocks::Whole(b) => Engine::check_blocks(what, b, remote, b.len() / remote.max(1)),
            Blocks::Each(bs) if bs.len() == remote => Ok(()),
            Blocks::Each(bs) => fail(ErrorClass::Intern, format!("{what}: {} buffers for a remote group of size {remote}", bs.len())),
        }
    }

    /// Stages the buffer to be written: the ranges to `unstage` at the end, and one range per
    /// block.
    fn stage(self, s: &mut Schedule, remote: usize) -> (Vec<schedule::Range>, Vec<schedule::Range>) {
        match self {
            Blocks::Whole(b) => {
                let r = s.stage(b, false);
                (vec![r], split(r, remote))
            }
            Blocks::Each(bs) => {
                let rs: Vec<_> = bs.iter().map(|b| s.stage(b, false)).collect();
                (rs.clone(), rs)
            }
        }
    }

    /// Stages the buffer to be read: one range per block.
    fn stage_read(self, s: &mut Schedule, remote: usize) -> Vec<schedule::Range> {
        match self {
            Blocks::Whole(b) => {
                let r = s.stage(b, true);
                split(r, remote)
            }
            Blocks::Each(bs) => bs.iter().map(|b| s.stage(b, true)).collect(),
        }
    }
}
