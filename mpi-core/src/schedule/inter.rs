//! Intercommunicator forms of the gather-like collectives and of reduce-scatter: messages
//! between the two groups go to `Peer::Remote` ranks.
//!
//! The gather-like ones are linear: every block travels as one message straight between the
//! process that has it and the one that wants it, empty blocks included (as in `vcoll.rs`, so
//! a count that differs between the two sides ends in `MPI_ERR_TRUNCATE` rather than a hang).
//! A block's range is given per remote rank (`recv[i]` for remote rank i), so the plain and
//! the v forms share these builders. Reduce-scatter combines each group's contributions
//! within the group, as the intercommunicator allreduce does, and scatters the other group's
//! result.

use super::scan::scatter_blocks;
use super::{reduce_tree, InterRoot, Peer, Range, Reduction, Schedule};

/// Gather to the root of the other group: the root (`InterRoot::Me`) receives remote rank i's
/// block into `recv[i]`; a process of the other group (`Remote(r)`) sends `send` to its rank r;
/// the root's group partners (`None`) take no part.
pub fn gather(s: &mut Schedule, root: InterRoot, send: Range, recv: &[Range], tag: i32) {
    match root {
        InterRoot::None => return,
        InterRoot::Me => {
            for (i, &r) in recv.iter().enumerate() {
                s.recv(Peer::Remote(i), tag, r);
            }
        }
        InterRoot::Remote(r) => s.send(Peer::Remote(r), tag, send),
    }
    s.end_round();
}

/// Scatter from the root of the other group, gather's mirror image: the root sends `send[i]`
/// to remote rank i; a process of the other group receives its block from remote rank r.
pub fn scatter(s: &mut Schedule, root: InterRoot, send: &[Range], recv: Range, tag: i32) {
    match root {
        InterRoot::None => return,
        InterRoot::Me => {
            for (i, &b) in send.iter().enumerate() {
                s.send(Peer::Remote(i), tag, b);
            }
        }
        InterRoot::Remote(r) => s.recv(Peer::Remote(r), tag, recv),
    }
    s.end_round();
}

/// Allgather between the groups: this process's `send` goes to every remote process, and
/// remote rank i's block lands in `recv[i]` (one range per remote rank), all in one round.
pub fn allgather(s: &mut Schedule, send: Range, recv: &[Range], tag: i32) {
    for (i, &r) in recv.iter().enumerate() {
        s.recv(Peer::Remote(i), tag, r);
        s.send(Peer::Remote(i), tag, send);
    }
    s.end_round();
}

/// Alltoall between the groups: `send[i]` goes to remote rank i, whose block for this
/// process lands in `recv[i]`, all in one round.
pub fn alltoall(s: &mut Schedule, send: &[Range], recv: &[Range], tag: i32) {
    for (i, (&b, &r)) in send.iter().zip(recv).enumerate() {
        s.recv(Peer::Remote(i), tag, r);
        s.send(Peer::Remote(i), tag, b);
    }
    s.end_round();
}

/// Reduce-scatter between the groups: each group reduces its contributions (`send`, an operand
/// of `total` bytes) to its rank 0 in rank order, the two leaders swap their results, and
/// each leader scatters the other group's result within its group: rank i receives
/// `blocks[i]` (offset and length in the operand) at the start of `recv`. `tags`: the local
/// reduction and the swap, then the scatter.
#[allow(clippy::too_many_arguments)]
pub fn reduce_scatter(s: &mut Schedule, rank: usize, size: usize, send: Range, recv: Range, total: usize, blocks: &[(usize, usize)], red: &Reduction, tags: (i32, i32)) {
    let acc = s.scratch(total);
    s.copy(send, acc);
    reduce_tree(s, rank, size, 0, acc, red, tags.0);
    s.end_round();
    let theirs = if rank == 0 { s.scratch(total) } else { Range::EMPTY };
    if rank == 0 {
        s.send(Peer::Remote(0), tags.0, acc);
        s.recv(Peer::Remote(0), tags.0, theirs);
        s.end_round();
    }
    scatter_blocks(s, rank, size, theirs, recv, blocks, tags.1);
}
