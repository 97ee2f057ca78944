//! Collective algorithms over point-to-point.
//!
//! The algorithms only see a [`CollPeer`]: the engine implements it on a communicator's
//! collective context, so their messages never match user point-to-point traffic. Within that
//! context each collective uses one fixed tag ([`TAG_BARRIER`], ...). Two collectives never
//! run at once on one communicator (MPI requires every rank to call them in the same order),
//! and point-to-point is non-overtaking per (source, tag), so messages of consecutive
//! collectives cannot be confused.
//!
//! Algorithms (issue 5 adds the large-message ones):
//! - barrier: dissemination, ceil(log2 p) rounds of zero-byte sendrecv;
//! - bcast: binomial tree rooted at `root`;
//! - reduce: binomial tree towards `root`;
//! - allreduce: recursive doubling, with MPICH's treatment of a size that is not a power of
//!   two (the first `2*rem` ranks pair up and fold into the power-of-two core first, and get
//!   the result back at the end).
//!
//! Combination order: an operand covering lower ranks is always the `in` operand of
//! [`reduce_into`] (MPI's `invec`), the one covering higher ranks the `inout`. In allreduce both
//! partners of an exchange therefore compute the same function of the same two values, and
//! every rank ends with bit-identical results, floats included. (Reduce uses ranks relative to
//! the root; every built-in op is commutative, so that only changes float rounding, which is
//! still deterministic for a given root and size.)
//!
//! Every argument is checked before any message moves; bad input is an `Err`, never a panic.

use crate::datatype::Kind;
use crate::error::{fail, ErrorClass, Result};
use crate::op::{check, reduce_into, BuiltinOp};

/// Tag of the barrier's messages on the collective context.
pub const TAG_BARRIER: i32 = 1;
/// Tag of bcast's messages.
pub const TAG_BCAST: i32 = 2;
/// Tag of reduce's messages.
pub const TAG_REDUCE: i32 = 3;
/// Tag of allreduce's messages.
pub const TAG_ALLREDUCE: i32 = 4;

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

fn check_root(root: usize, size: usize) -> Result<()> {
    if root >= size {
        return fail(
            ErrorClass::Root,
            format!("root {root} is not a rank of a communicator of size {size}"),
        );
    }
    Ok(())
}

fn check_reduction(op: BuiltinOp, kind: Kind, len: usize) -> Result<()> {
    check(op, kind)?;
    if len / kind.extent() * kind.extent() != len {
        return fail(
            ErrorClass::Count,
            format!("{len} bytes is not a whole number of {kind:?} elements"),
        );
    }
    Ok(())
}

/// Dissemination barrier: in round k every rank signals `rank + 2^k` and waits for
/// `rank - 2^k` (mod size).
pub fn barrier(p: &mut dyn CollPeer) -> Result<()> {
    let (rank, size) = rank_size(p)?;
    let mut dist = 1;
    while dist < size {
        let to = (rank + dist) % size;
        let from = (rank + size - dist) % size;
        p.sendrecv(to, TAG_BARRIER, &[], from, TAG_BARRIER, &mut [])?;
        dist <<= 1;
    }
    Ok(())
}

/// Binomial-tree broadcast of `buf` from `root`.
pub fn bcast(p: &mut dyn CollPeer, buf: &mut [u8], root: usize) -> Result<()> {
    let (rank, size) = rank_size(p)?;
    check_root(root, size)?;
    if size == 1 || buf.is_empty() {
        return Ok(());
    }
    let vrank = (rank + size - root) % size;
    let real = |v: usize| (v + root) % size;
    // Receive from the parent: the rank that differs in our lowest set bit.
    let mut mask = 1;
    while mask < size {
        if vrank & mask != 0 {
            p.recv(real(vrank - mask), TAG_BCAST, buf)?;
            break;
        }
        mask <<= 1;
    }
    // Send to the children below that bit, farthest subtree first.
    mask >>= 1;
    while mask > 0 {
        if vrank + mask < size {
            p.send(real(vrank + mask), TAG_BCAST, buf)?;
        }
        mask >>= 1;
    }
    Ok(())
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
    if rank == root && recvbuf.len() != sendbuf.len() {
        return fail(
            ErrorClass::Buffer,
            format!(
                "reduce: receive buffer of {} bytes for {} bytes of data",
                recvbuf.len(),
                sendbuf.len()
            ),
        );
    }
    if rank == root {
        recvbuf.copy_from_slice(sendbuf);
        reduce_tree(p, recvbuf, kind, op, root)
    } else {
        reduce_tree(p, &mut sendbuf.to_vec(), kind, op, root)
    }
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
    if rank == root {
        reduce_tree(p, buf, kind, op, root)
    } else {
        reduce_tree(p, &mut buf.to_vec(), kind, op, root)
    }
}

/// Binomial reduction towards `root`; `acc` holds this rank's contribution and is used as
/// scratch (on the root it ends with the result). Arguments already checked.
fn reduce_tree(
    p: &mut dyn CollPeer,
    acc: &mut [u8],
    kind: Kind,
    op: BuiltinOp,
    root: usize,
) -> Result<()> {
    let (rank, size) = rank_size(p)?;
    if size == 1 || acc.is_empty() {
        return Ok(());
    }
    let vrank = (rank + size - root) % size;
    let real = |v: usize| (v + root) % size;
    let mut tmp = vec![0u8; acc.len()];
    let mut mask = 1;
    while mask < size {
        if vrank & mask == 0 {
            let child = vrank | mask;
            if child < size {
                // `acc` covers vranks [vrank, child), the child's data [child, child + mask):
                // ours is the earlier operand.
                p.recv(real(child), TAG_REDUCE, &mut tmp)?;
                reduce_into(op, kind, &mut tmp, acc)?;
                acc.copy_from_slice(&tmp);
            }
        } else {
            p.send(real(vrank & !mask), TAG_REDUCE, acc)?;
            break;
        }
        mask <<= 1;
    }
    Ok(())
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
    if recvbuf.len() != sendbuf.len() {
        return fail(
            ErrorClass::Buffer,
            format!(
                "allreduce: receive buffer of {} bytes for {} bytes of data",
                recvbuf.len(),
                sendbuf.len()
            ),
        );
    }
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
    if size == 1 || buf.is_empty() {
        return Ok(());
    }
    let pof2 = 1usize << (usize::BITS - 1 - size.leading_zeros()); // largest power of two <= size
    let rem = size - pof2;
    let mut tmp = vec![0u8; buf.len()];

    // Fold: among the first 2*rem ranks, each even rank hands its data to the odd rank above
    // it and sits out; the odd rank becomes core rank rank/2.
    let newrank = if rank < 2 * rem {
        if rank % 2 == 0 {
            p.send(rank + 1, TAG_ALLREDUCE, buf)?;
            None
        } else {
            p.recv(rank - 1, TAG_ALLREDUCE, &mut tmp)?;
            reduce_into(op, kind, buf, &tmp)?; // lower rank's data is `in`
            Some(rank / 2)
        }
    } else {
        Some(rank - rem)
    };

    // Recursive doubling among the pof2 core ranks. Core rank order follows real rank order,
    // so the partner with the lower core rank holds the data of lower ranks.
    if let Some(newrank) = newrank {
        let mut mask = 1;
        while mask < pof2 {
            let newdst = newrank ^ mask;
            let dst = if newdst < rem {
                newdst * 2 + 1
            } else {
                newdst + rem
            };
            p.sendrecv(dst, TAG_ALLREDUCE, buf, dst, TAG_ALLREDUCE, &mut tmp)?;
            if newdst < newrank {
                reduce_into(op, kind, buf, &tmp)?;
            } else {
                reduce_into(op, kind, &mut tmp, buf)?;
                buf.copy_from_slice(&tmp);
            }
            mask <<= 1;
        }
    }

    // Unfold: odd ranks return the result to the even rank that sat out.
    if rank < 2 * rem {
        if rank % 2 == 0 {
            p.recv(rank + 1, TAG_ALLREDUCE, buf)?;
        } else {
            p.send(rank - 1, TAG_ALLREDUCE, buf)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
