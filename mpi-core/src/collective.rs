//! Collective algorithms over point-to-point.
//!
//! Each algorithm is a schedule builder (`schedule.rs`): the engine runs them, blocking or not,
//! through protocol requests on a communicator's collective context, with tags that number
//! each collective call (`engine.rs`, "Collectives"), so several nonblocking collectives on
//! one communicator never take each other's messages. The functions here run the same
//! schedules over a blocking [`CollPeer`], which the communicator-creation code uses (context
//! agreements over groups that are not communicators yet); there each collective uses one
//! fixed tag ([`TAG_BARRIER`], ...): such calls block, every rank makes them in the same
//! order, and point-to-point is non-overtaking per (source, tag), so messages of consecutive
//! collectives cannot be confused.
//!
//! Algorithms: the general ones, which serve every call and which the blocking runs here use:
//! - barrier: dissemination, ceil(log2 p) rounds of zero-byte sendrecv;
//! - bcast: binomial tree rooted at `root`;
//! - reduce: binomial tree towards `root`;
//! - allreduce: recursive doubling, with MPICH's treatment of a size that is not a power of
//!   two (the first `2*rem` ranks pair up and fold into the power-of-two core first, and get
//!   the result back at the end).
//!
//! The engine's collectives choose among these, the large-message ones (`schedule/large.rs`:
//! scatter + allgather bcast, Rabenseifner allreduce and reduce, ring allreduce; Bruck and
//! recursive-doubling allgather in `schedule.rs`) and the node-aware ones across hosts
//! (`schedule/node_aware.rs`) by the table in `tuning.rs` (`nbc/choose.rs`).
//!
//! Combination order: an operand covering lower ranks is always the `in` operand of
//! [`apply`](crate::op::apply) (MPI's `invec`), the one covering higher ranks the `inout`. In allreduce both
//! partners of an exchange therefore compute the same function of the same two values, and
//! every rank ends with bit-identical results, floats included. (Reduce uses ranks relative to
//! the root for a commutative op, which only changes float rounding, still deterministic for
//! a given root and size; a non-commutative one reduces towards rank 0, which forwards.)
//!
//! Operands of the functions here are packed elements of their kind (`op.rs`'s `Op`).
//!
//! Every argument is checked before any message moves; bad input is an `Err`, never a panic.

use crate::buffer::UserBuf;
use crate::op::Op;
use crate::schedule::Reduction;
use crate::datatype::Kind;
use crate::error::{fail, ErrorClass, Result};
use crate::op::{check, BuiltinOp};
use crate::schedule::{self, Schedule};

/// Tag of the barrier's messages on the collective context.
pub const TAG_BARRIER: i32 = 1;
/// Tag of bcast's messages.
pub const TAG_BCAST: i32 = 2;
/// Tag of reduce's messages.
pub const TAG_REDUCE: i32 = 3;
/// Tag of allreduce's messages.
pub const TAG_ALLREDUCE: i32 = 4;
/// Tag of gather's messages.
pub const TAG_GATHER: i32 = 5;
/// Tag of scatter's messages.
pub const TAG_SCATTER: i32 = 6;
/// Tag of allgather's messages.
pub const TAG_ALLGATHER: i32 = 7;
/// Tag of alltoall's messages.
pub const TAG_ALLTOALL: i32 = 8;

/// Point-to-point as collective algorithms need it: ranks are communicator ranks; messages on this
/// trait never match user point-to-point traffic (the engine uses a separate context).
pub trait CollPeer {
    fn rank(&self) -> usize;
    fn size(&self) -> usize;
    fn send(&mut self, dest: usize, tag: i32, data: &[u8]) -> Result<()>;
    fn recv(&mut self, src: usize, tag: i32, buf: &mut [u8]) -> Result<()>;
    /// Send and receive at once (must not deadlock when both sides call it).
    fn sendrecv(
        &mut self,
        dest: usize,
        stag: i32,
        data: &[u8],
        src: usize,
        rtag: i32,
        buf: &mut [u8],
    ) -> Result<()>;
}

/// (rank, size) of the peer, checked for sanity.
fn rank_size(p: &dyn CollPeer) -> Result<(usize, usize)> {
    let (rank, size) = (p.rank(), p.size());
    if size == 0 || rank >= size {
        return fail(
            ErrorClass::Intern,
            format!("collective peer has rank {rank} of size {size}"),
        );
    }
    Ok((rank, size))
}

pub(crate) fn check_root(root: usize, size: usize) -> Result<()> {
    if root >= size {
        return fail(
            ErrorClass::Root,
            format!("root {root} is not a rank of a communicator of size {size}"),
        );
    }
    Ok(())
}

pub(crate) fn check_reduction(op: BuiltinOp, kind: Kind, len: usize) -> Result<()> {
    check(op, kind)?;
    if !len.is_multiple_of(kind.size()) {
        return fail(
            ErrorClass::Count,
            format!("{len} bytes is not a whole number of {kind:?} elements"),
        );
    }
    Ok(())
}

/// A checked predefined reduction as the schedules take it.
fn builtin(op: BuiltinOp, kind: Kind) -> Reduction {
    Reduction { op: Op::Builtin { op, kind }, count: 0 }
}

/// The result buffer of a reduction must be as long as the contribution.
pub(crate) fn check_result_len(what: &str, send: usize, recv: usize) -> Result<()> {
    if recv != send {
        return fail(
            ErrorClass::Buffer,
            format!("{what}: receive buffer of {recv} bytes for {send} bytes of data"),
        );
    }
    Ok(())
}

/// Dissemination barrier: in round k every rank signals `rank + 2^k` and waits for
/// `rank - 2^k` (mod size).
pub fn barrier(p: &mut dyn CollPeer) -> Result<()> {
    let (rank, size) = rank_size(p)?;
    let mut s = Schedule::new();
    schedule::barrier(&mut s, rank, size, TAG_BARRIER);
    s.run_blocking(p)
}

/// Binomial-tree broadcast of `buf` from `root`.
pub fn bcast(p: &mut dyn CollPeer, buf: &mut [u8], root: usize) -> Result<()> {
    let (rank, size) = rank_size(p)?;
    check_root(root, size)?;
    let mut s = Schedule::new();
    let b = s.user(UserBuf::from_slice(buf));
    schedule::bcast(&mut s, rank, size, root, b, TAG_BCAST);
    s.run_blocking(p)
}

/// `sendbuf` = this rank's contribution; on root, `recvbuf` receives the result (same length). Non-root recvbuf may be empty.
pub fn reduce(
    p: &mut dyn CollPeer,
    sendbuf: &[u8],
    recvbuf: &mut [u8],
    kind: Kind,
    op: BuiltinOp,
    root: usize,
) -> Result<()> {
    let (rank, size) = rank_size(p)?;
    check_root(root, size)?;
    check_reduction(op, kind, sendbuf.len())?;
    if rank == root {
        check_result_len("reduce", sendbuf.len(), recvbuf.len())?;
    }
    let mut s = Schedule::new();
    // SAFETY: the schedule only reads the send buffer, and runs within its borrow.
    let send = s.user(unsafe { UserBuf::new(sendbuf.as_ptr() as *mut u8, sendbuf.len()) });
    let recv = s.user(UserBuf::from_slice(recvbuf));
    schedule::reduce(&mut s, rank, size, root, Some(send), recv, &builtin(op, kind), TAG_REDUCE);
    s.run_blocking(p)
}

/// Reduce with the root's contribution already in its result buffer (`MPI_IN_PLACE` at the
/// root): `buf` is this rank's contribution everywhere, and the result on `root`. On other
/// ranks `buf` is left unchanged.
pub fn reduce_in_place(
    p: &mut dyn CollPeer,
    buf: &mut [u8],
    kind: Kind,
    op: BuiltinOp,
    root: usize,
) -> Result<()> {
    let (rank, size) = rank_size(p)?;
    check_root(root, size)?;
    check_reduction(op, kind, buf.len())?;
    let mut s = Schedule::new();
    let b = s.user(UserBuf::from_slice(buf));
    let send = if rank == root { None } else { Some(b) };
    schedule::reduce(&mut s, rank, size, root, send, b, &builtin(op, kind), TAG_REDUCE);
    s.run_blocking(p)
}

/// Every rank gets the reduction of all ranks' `sendbuf` in `recvbuf` (same length).
pub fn allreduce(
    p: &mut dyn CollPeer,
    sendbuf: &[u8],
    recvbuf: &mut [u8],
    kind: Kind,
    op: BuiltinOp,
) -> Result<()> {
    rank_size(p)?;
    check_reduction(op, kind, sendbuf.len())?;
    check_result_len("allreduce", sendbuf.len(), recvbuf.len())?;
    recvbuf.copy_from_slice(sendbuf);
    allreduce_in_place(p, recvbuf, kind, op)
}

/// Allreduce with `buf` as both contribution and result (`MPI_IN_PLACE`).
pub fn allreduce_in_place(
    p: &mut dyn CollPeer,
    buf: &mut [u8],
    kind: Kind,
    op: BuiltinOp,
) -> Result<()> {
    let (rank, size) = rank_size(p)?;
    check_reduction(op, kind, buf.len())?;
    let mut s = Schedule::new();
    let b = s.user(UserBuf::from_slice(buf));
    schedule::allreduce(&mut s, rank, size, b, &builtin(op, kind), TAG_ALLREDUCE);
    s.run_blocking(p)
}

#[cfg(test)]
mod tests;
