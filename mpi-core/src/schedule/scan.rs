//! Reduce-scatter and the prefix reductions (scan, exscan) as schedules.
//!
//! Same contract as the parent module's builders: checked arguments, and the combination
//! order of `collective.rs` (an operand covering lower ranks is always the `in` operand of
//! the reduction), so a result is the rank-order fold of the contributions, grouped as the
//! algorithm combines them: exact wherever the operation is (integers, floats whose partial
//! results are representable), and the same on every run for a given size.

use super::{Peer, Range, Reduction, Schedule};

/// Reduce-scatter: the elementwise reduction of every rank's `send` (`None`: `MPI_IN_PLACE`,
/// the contribution is in `recv`), an operand of `total` bytes, is cut into `blocks` (offset
/// and length of each rank's block in it: consecutive packed elements for a predefined
/// operation, element spans for a user one), and rank i receives block i at the start of
/// `recv`. A binomial reduction to rank 0 (whose vranks are ranks, so the order is kept)
/// followed by a scatter of the blocks: a binomial one when they are equal and back to back
/// (`MPI_Reduce_scatter_block`), else one message per rank from rank 0. Simple rather than
/// bandwidth-optimal: recursive halving would move half the data.
#[allow(clippy::too_many_arguments)]
pub fn reduce_scatter(s: &mut Schedule, rank: usize, size: usize, send: Option<Range>, recv: Range, total: usize, blocks: &[(usize, usize)], red: &Reduction, tags: (i32, i32)) {
    // The contribution, copied to scratch: the tree uses it as working memory, and with
    // MPI_IN_PLACE the result overwrites the start of the contribution.
    let acc = s.scratch(total);
    match send {
        Some(b) => s.copy(b, acc),
        None => s.copy(recv.slice(0, total), acc),
    }
    super::reduce_tree(s, rank, size, 0, acc, red, tags.0);
    scatter_blocks(s, rank, size, acc, recv, blocks, tags.1);
}

/// Rank 0 hands rank i `blocks[i]` (offset and length) of its `from`, which lands at the start
/// of `recv`: a binomial scatter when the blocks are equal and back to back, else one message
/// per rank with a nonempty block.
pub(super) fn scatter_blocks(s: &mut Schedule, rank: usize, size: usize, from: Range, recv: Range, blocks: &[(usize, usize)], tag: i32) {
    let mine = blocks.get(rank).map_or(0, |b| b.1);
    let out = recv.slice(0, mine);
    if blocks.iter().enumerate().all(|(i, &b)| b == (i * mine, mine)) {
        super::scatter(s, rank, size, 0, from.slice(0, size * mine), Some(out), tag);
        return;
    }
    if rank == 0 {
        for (i, &(off, len)) in blocks.iter().enumerate() {
            if i == 0 {
                s.copy(from.slice(off, len), out);
            } else if len > 0 {
                s.send(Peer::Local(i), tag, from.slice(off, len));
            }
        }
        s.end_round();
    } else if mine > 0 {
        s.recv(Peer::Local(0), tag, out);
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
pub fn scan(s: &mut Schedule, rank: usize, size: usize, send: Option<Range>, recv: Range, exclusive: bool, red: &Reduction, tag: i32) {
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
                    s.reduce(red, tmp, recv);
                } else {
                    s.copy(tmp, recv);
                    have = true;
                }
                s.reduce(red, tmp, partial);
            } else {
                s.reduce(red, partial, tmp);
                s.copy(tmp, partial);
            }
            s.end_round();
        }
        mask <<= 1;
    }
}
