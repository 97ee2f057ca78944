//! Reduce-scatter and the prefix reductions (scan, exscan) as schedules.
//!
//! Same contract as the parent module's builders: checked arguments, and the combination
//! order of `collective.rs` (an operand covering lower ranks is always the `in` operand of
//! the reduction), so a result is the rank-order fold of the contributions, grouped as the
//! algorithm combines them: exact wherever the operation is (integers, floats whose partial
//! results are representable), and the same on every run for a given size.

use super::{Peer, Range, Schedule};
use crate::datatype::Kind;
use crate::op::BuiltinOp;

/// Reduce-scatter: the elementwise reduction of every rank's `send` (`None`: `MPI_IN_PLACE`,
/// the contribution is in `recv`) is split into consecutive blocks of `blocks[i]` bytes, and
/// rank i receives block i at the start of `recv`. A binomial reduction to rank 0 (whose
/// vranks are ranks, so the order is kept) followed by a scatter of the blocks: a binomial one
/// when the blocks are equal (`MPI_Reduce_scatter_block`), else one message per rank from rank
/// 0. Simple rather than bandwidth-optimal: recursive halving would move half the data.
#[allow(clippy::too_many_arguments)]
pub fn reduce_scatter(s: &mut Schedule, rank: usize, size: usize, send: Option<Range>, recv: Range, blocks: &[usize], kind: Kind, op: BuiltinOp, tags: (i32, i32)) {
    let total: usize = blocks.iter().sum();
    let mine = blocks.get(rank).copied().unwrap_or(0);
    // The contribution, copied to scratch: the tree uses it as working memory, and with
    // MPI_IN_PLACE the result overwrites the start of the contribution.
    let acc = s.scratch(total);
    match send {
        Some(b) => s.copy(b, acc),
        None => s.copy(recv.slice(0, total), acc),
    }
    super::reduce_tree(s, rank, size, 0, acc, kind, op, tags.0);
    let out = recv.slice(0, mine);
    if blocks.iter().all(|&b| b == mine) {
        super::scatter(s, rank, size, 0, acc, Some(out), tags.1);
        return;
    }
    if rank == 0 {
        let mut off = 0;
        for (i, &b) in blocks.iter().enumerate() {
            if i == 0 {
                s.copy(acc.slice(0, b), out);
            } else if b > 0 {
                s.send(Peer::Local(i), tags.1, acc.slice(off, b));
            }
            off += b;
        }
        s.end_round();
    } else if mine > 0 {
        s.recv(Peer::Local(0), tags.1, out);
        s.end_round();
    }
}

/// Inclusive (`exclusive == false`, `MPI_Scan`) or exclusive (`MPI_Exscan`) prefix reduction
/// by recursive doubling: before the round of distance `mask`, `partial` holds the reduction
/// over this rank's aligned group of `mask` ranks, and `recv` the prefix from that group's
/// first rank up to this one (inclusive for scan, exclusive for exscan). The partner
/// `rank ^ mask` holds the adjacent group: when it is the lower one its partial is prepended
/// to both (it is `in`), else appended to `partial` only. `send` is the contribution (`None`:
/// `MPI_IN_PLACE`, it is in `recv`). An exscan leaves rank 0's `recv` untouched; every other
/// rank has a lower partner (at its lowest set bit), whose first partial sets its `recv`.
#[allow(clippy::too_many_arguments)]
pub fn scan(s: &mut Schedule, rank: usize, size: usize, send: Option<Range>, recv: Range, exclusive: bool, kind: Kind, op: BuiltinOp, tag: i32) {
    let len = recv.len();
    if size == 1 || len == 0 {
        if let (false, Some(b)) = (exclusive, send) {
            s.copy(b, recv);
        }
        return;
    }
    let partial = s.scratch(len);
    let tmp = s.scratch(len);
    s.copy(send.unwrap_or(recv), partial);
    if !exclusive {
        if let Some(b) = send {
            s.copy(b, recv);
        }
    }
    // Exscan: whether `recv` holds a prefix yet.
    let mut have = !exclusive;
    let mut mask = 1;
    while mask < size {
        let partner = rank ^ mask;
        if partner < size {
            s.send(Peer::Local(partner), tag, partial);
            s.recv(Peer::Local(partner), tag, tmp);
            if partner < rank {
                if have {
                    s.reduce(op, kind, tmp, recv);
                } else {
                    s.copy(tmp, recv);
                    have = true;
                }
                s.reduce(op, kind, tmp, partial);
            } else {
                s.reduce(op, kind, partial, tmp);
                s.copy(tmp, partial);
            }
            s.end_round();
        }
        mask <<= 1;
    }
}
