//! Algorithms for large messages: the buffer is cut into one piece per rank, so that each
//! rank sends and reduces about twice the message in all, instead of the whole message in
//! each of `log2(p)` rounds as the tree algorithms do.
//!
//! Pieces are whole elements (a reduction never splits one): piece `i` of `n` elements over
//! `p` pieces is elements `i * n / p .. (i + 1) * n / p`, so sizes differ by one element at
//! most, and some are empty when `n < p` (empty messages still travel, which keeps both sides'
//! message sequences alike).
//!
//! Combination order: Rabenseifner's reduce-scatter pairs aligned groups of core ranks
//! (`fold`), the lower group's operand being `in`, so it combines in rank order and serves
//! non-commutative ops, and every piece is reduced by one rank only, so all ranks get
//! bit-identical results. The ring combines each piece starting at a different rank: it needs
//! a commutative op (`tuning::Algorithm::serves`).

use super::{combine, fold, subtree, unfold, Peer, Range, Reduction, Schedule};
use crate::op::Op;

/// Byte offsets of the pieces of `buf` (`pieces + 1` of them, the last being `buf.len()`),
/// cut between elements of `unit` bytes.
fn cut(buf: Range, unit: usize, pieces: usize) -> Vec<usize> {
    let n = buf.len() / unit.max(1);
    (0..=pieces).map(|i| i * n / pieces * unit).collect()
}

/// The bytes of one element of a reduction's packed operand. Only predefined operations are
/// cut into pieces (`tuning::Algorithm::serves`): a user function's operand is its datatype's
/// memory span, which cannot be cut; given one anyway, the pieces are whole operands or empty,
/// and the empty ones fail the schedule (`op::apply` checks lengths) rather than corrupt data.
fn unit(red: &Reduction, buf: Range) -> usize {
    match red.op {
        Op::Builtin { kind, .. } => kind.size(),
        Op::User { .. } => buf.len(),
    }
}

/// Pieces `from..to` of `buf`, cut at `at`.
fn span(buf: Range, at: &[usize], from: usize, to: usize) -> Range {
    buf.slice(at[from], at[to] - at[from])
}

/// Broadcast of `buf` from `root` by a binomial scatter of its pieces (vrank `v` gets piece
/// `v`, each subtree's pieces travel as one message, straight into place) and a ring
/// allgather of the pieces: the root sends the message about once instead of `log2(p)` times.
pub fn bcast_scatter_allgather(s: &mut Schedule, rank: usize, size: usize, root: usize, buf: Range, tag: i32) {
    if size == 1 || buf.is_empty() {
        return;
    }
    let at = cut(buf, 1, size);
    let vrank = (rank + size - root) % size;
    let real = |v: usize| Peer::Local((v + root) % size);
    let sub = subtree(vrank, size);
    if vrank != 0 {
        s.recv(real(vrank - (1 << vrank.trailing_zeros())), tag, span(buf, &at, vrank, vrank + sub));
        s.end_round();
    }
    let mut mask = 1;
    while mask < sub {
        let child = vrank + mask;
        s.send(real(child), tag, span(buf, &at, child, child + subtree(child, size)));
        mask <<= 1;
    }
    s.end_round();
    // Round k: pass on the piece received in round k - 1 (our own first).
    let (right, left) = (real((vrank + 1) % size), real((vrank + size - 1) % size));
    for k in 0..size - 1 {
        let (out, inc) = ((vrank + size - k) % size, (vrank + size - k - 1) % size);
        s.send(right, tag, span(buf, &at, out, out + 1));
        s.recv(left, tag, span(buf, &at, inc, inc + 1));
        s.end_round();
    }
}

/// The reduce-scatter half of Rabenseifner's algorithm over the core that [`fold`] leaves:
/// recursive halving with distances 1, 2, 4, ...: partners swap the halves of their current
/// range of pieces, each keeping the half on its side and reducing the partner's copy of it
/// in. Returns the steps taken, `(partner core rank, kept pieces, given pieces)`, from which
/// the allgather retraces them; the last kept range is the one piece this rank then holds
/// reduced over the whole core.
///
/// `start`: where this rank's contribution lies when `buf` does not hold it yet. The first
/// step then sends the half it gives straight from there and copies only the half it keeps
/// into `buf`, instead of the caller copying the whole contribution first.
#[allow(clippy::too_many_arguments)]
fn reduce_scatter_halving(
    s: &mut Schedule,
    core: super::Core,
    buf: Range,
    start: Option<Range>,
    tmp: Range,
    at: &[usize],
    red: &Reduction,
    tag: i32,
) -> Vec<(usize, (usize, usize), (usize, usize))> {
    let mut steps = Vec::new();
    let (mut lo, mut hi) = (0, core.size);
    let mut mask = 1;
    while mask < core.size {
        let partner = core.rank ^ mask;
        let mid = (lo + hi) / 2;
        let (keep, give) = if core.rank & mask == 0 { ((lo, mid), (mid, hi)) } else { ((mid, hi), (lo, mid)) };
        let dst = Peer::Local(core.real(partner));
        let (mine, theirs) = (span(buf, at, keep.0, keep.1), span(tmp, at, keep.0, keep.1));
        let from = match start {
            Some(contribution) if mask == 1 => {
                s.copy(span(contribution, at, keep.0, keep.1), mine);
                contribution
            }
            _ => buf,
        };
        s.send(dst, tag, span(from, at, give.0, give.1));
        s.recv(dst, tag, theirs);
        // The partner's data covers the aligned group of `mask` core ranks beside ours.
        combine(s, red, mine, theirs, partner < core.rank);
        s.end_round();
        steps.push((partner, keep, give));
        (lo, hi) = keep;
        mask <<= 1;
    }
    steps
}

/// Allreduce by Rabenseifner's algorithm: reduce-scatter by recursive halving, then
/// allgather by recursive doubling retracing its steps (MPICH's choice for long messages),
/// with [`fold`] for sizes that are not a power of two.
pub fn allreduce_rabenseifner(s: &mut Schedule, rank: usize, size: usize, buf: Range, red: &Reduction, tag: i32) {
    if size == 1 || buf.is_empty() {
        return;
    }
    let tmp = s.scratch(buf.len());
    if let Some(core) = fold(s, rank, size, buf, tmp, red, tag) {
        let at = cut(buf, unit(red, buf), core.size);
        let steps = reduce_scatter_halving(s, core, buf, None, tmp, &at, red, tag);
        for &(partner, keep, give) in steps.iter().rev() {
            let dst = Peer::Local(core.real(partner));
            s.send(dst, tag, span(buf, &at, keep.0, keep.1));
            s.recv(dst, tag, span(buf, &at, give.0, give.1));
            s.end_round();
        }
    }
    unfold(s, rank, size, buf, tag);
}

/// Reduce by Rabenseifner's reduce-scatter, then each core rank sends its reduced piece
/// straight to `root` (one round, `p` messages of `1/p` of the data into the root). `send`
/// is this rank's contribution (`None`: `MPI_IN_PLACE` at the root, whose contribution is in
/// `recv`); `recv` gets the result on `root` (unused elsewhere). Combines in rank order
/// whatever the root.
///
/// The result is built in `recv` on the root, in scratch elsewhere. A rank that [`fold`]s
/// (one of the first `2 * rem`) starts from a copy of its whole contribution there; a core
/// rank from the start copies only the half it keeps in the first step (half the bytes).
#[allow(clippy::too_many_arguments)]
pub fn reduce_scatter_gather(s: &mut Schedule, rank: usize, size: usize, root: usize, send: Option<Range>, recv: Range, red: &Reduction, tag: i32) {
    let (contribution, acc) = match (rank == root, send) {
        (true, Some(send)) => (send, recv),
        (true, None) => (recv, recv),
        (false, Some(send)) => (send, s.scratch(send.len())),
        (false, None) => return,
    };
    let pof2 = 1usize << (usize::BITS - 1 - size.leading_zeros());
    let folds = rank < 2 * (size - pof2);
    if size == 1 || acc.is_empty() || folds {
        s.copy(contribution, acc);
    }
    if size == 1 || acc.is_empty() {
        return;
    }
    let tmp = s.scratch(acc.len());
    let core = fold(s, rank, size, acc, tmp, red, tag);
    let at = cut(acc, unit(red, acc), pof2);
    if let Some(core) = core {
        let start = (!folds).then_some(contribution);
        let steps = reduce_scatter_halving(s, core, acc, start, tmp, &at, red, tag);
        let piece = steps.last().map_or((0, 1), |&(_, keep, _)| keep);
        if rank != root {
            s.send(Peer::Local(root), tag, span(acc, &at, piece.0, piece.1));
        }
    }
    if rank == root {
        // Every other core rank's piece; the root's own (if it is in the core) is in place.
        let probe = super::Core { rank: 0, size: pof2, rem: size - pof2 };
        for c in 0..pof2 {
            let from = probe.real(c);
            if from != rank {
                let piece = final_piece(c, pof2);
                s.recv(Peer::Local(from), tag, span(acc, &at, piece.0, piece.1));
            }
        }
    }
    s.end_round();
}

/// The piece core rank `c` holds after [`reduce_scatter_halving`] over `pof2` core ranks.
fn final_piece(c: usize, pof2: usize) -> (usize, usize) {
    let (mut lo, mut hi) = (0, pof2);
    let mut mask = 1;
    while mask < pof2 {
        let mid = (lo + hi) / 2;
        (lo, hi) = if c & mask == 0 { (lo, mid) } else { (mid, hi) };
        mask <<= 1;
    }
    (lo, hi)
}

/// Allreduce around a ring (commutative ops only): `p - 1` rounds of reduce-scatter, each
/// passing one piece to the right and reducing the one from the left into ours, leave each
/// rank with piece `rank + 1` reduced over all; `p - 1` rounds of allgather pass the reduced
/// pieces on. Bandwidth-optimal on any size, without [`fold`]'s extra whole-message steps.
pub fn allreduce_ring(s: &mut Schedule, rank: usize, size: usize, buf: Range, red: &Reduction, tag: i32) {
    allreduce_ring_from(s, rank, size, None, buf, red, tag);
}

/// [`allreduce_ring`] of the contribution in `send` (`None`: in `buf`) into `buf`. With a
/// separate contribution each piece from the left is received straight into `buf` and our
/// piece of `send` combined into it (the op commutes), so `send` is never copied into `buf`
/// first, nor a piece into scratch: at 2 ranks that is a whole-message copy saved.
pub fn allreduce_ring_from(s: &mut Schedule, rank: usize, size: usize, send: Option<Range>, buf: Range, red: &Reduction, tag: i32) {
    if size == 1 || buf.is_empty() {
        if let Some(send) = send {
            s.copy(send, buf);
        }
        return;
    }
    let at = cut(buf, unit(red, buf), size);
    let largest = (0..size).map(|i| at[i + 1] - at[i]).max().unwrap_or(0);
    let tmp = if send.is_none() { s.scratch(largest) } else { Range::EMPTY };
    let (right, left) = (Peer::Local((rank + 1) % size), Peer::Local((rank + size - 1) % size));
    for k in 0..size - 1 {
        let (out, inc) = ((rank + size - k) % size, (rank + size - k - 1) % size);
        let ours = span(buf, &at, inc, inc + 1);
        match send {
            Some(send) => {
                s.send(right, tag, span(if k == 0 { send } else { buf }, &at, out, out + 1));
                s.recv(left, tag, ours);
                s.reduce(red, span(send, &at, inc, inc + 1), ours);
            }
            None => {
                let theirs = tmp.slice(0, at[inc + 1] - at[inc]);
                s.send(right, tag, span(buf, &at, out, out + 1));
                s.recv(left, tag, theirs);
                s.reduce(red, theirs, ours);
            }
        }
        s.end_round();
    }
    for k in 0..size - 1 {
        let (out, inc) = ((rank + 1 + size - k) % size, (rank + size - k) % size);
        s.send(right, tag, span(buf, &at, out, out + 1));
        s.recv(left, tag, span(buf, &at, inc, inc + 1));
        s.end_round();
    }
}
