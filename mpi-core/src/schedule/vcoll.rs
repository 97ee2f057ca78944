//! The v forms of the gather-like collectives (`MPI_Gatherv`, `MPI_Scatterv`,
//! `MPI_Allgatherv`, `MPI_Alltoallv`, and `MPI_Alltoallw`, which is `MPI_Alltoallv` with a
//! datatype per peer): every peer's block is a range of its own, since the blocks have
//! their own lengths and lie anywhere in the application's buffer (gaps between them must
//! stay untouched, so they are never staged as one range).
//!
//! The algorithms are the plain ones: with uneven blocks a tree would forward data whose
//! size every intermediate rank would have to learn, and the counts are only known where
//! the standard says they are significant (a gatherv's at the root). Every block travels as
//! one message, empty ones included, so a rank never has to guess whether a peer sends: a
//! zero count on one side and a nonzero one on the other ends in `MPI_ERR_TRUNCATE` (a
//! message longer than its buffer) rather than a hang on the receiving side's part.

use super::{Peer, Range, Schedule};

/// Linear gatherv to `root`: every other rank sends its block to the root, which receives
/// them all in one round, each into its own block of `recv` (the root's only, one range per
/// rank). `send == None` is `MPI_IN_PLACE` at the root, whose block is already in place.
pub fn gatherv(s: &mut Schedule, rank: usize, root: usize, send: Option<Range>, recv: &[Range], tag: i32) {
    if rank == root {
        if let Some(b) = send {
            s.copy(b, recv[root]);
        }
        for (i, &r) in recv.iter().enumerate() {
            if i != root {
                s.recv(Peer::Local(i), tag, r);
            }
        }
    } else {
        s.send(Peer::Local(root), tag, send.unwrap_or(Range::EMPTY));
    }
    s.end_round();
}

/// Linear scatterv from `root`, gatherv's mirror image: the root sends each rank its block
/// of `send` (one range per rank) in one round. `recv == None` is `MPI_IN_PLACE` at the
/// root, which keeps its block where it is.
pub fn scatterv(s: &mut Schedule, rank: usize, root: usize, send: &[Range], recv: Option<Range>, tag: i32) {
    if rank == root {
        for (i, &b) in send.iter().enumerate() {
            if i != root {
                s.send(Peer::Local(i), tag, b);
            }
        }
        if let Some(r) = recv {
            s.copy(send[root], r);
        }
    } else {
        s.recv(Peer::Local(root), tag, recv.unwrap_or(Range::EMPTY));
    }
    s.end_round();
}

/// Allgatherv by a ring: `recv` has one range per rank, this rank's already filled (the
/// caller copies its block there, or it is there with `MPI_IN_PLACE`); in round k a rank
/// passes the block of rank `rank - k` to its right neighbour and receives that of
/// `rank - k - 1` from its left one, so after `size - 1` rounds every rank holds every
/// block, each having sent and received every block once.
pub fn allgatherv(s: &mut Schedule, rank: usize, recv: &[Range], tag: i32) {
    let size = recv.len();
    if size <= 1 {
        return;
    }
    let (right, left) = ((rank + 1) % size, (rank + size - 1) % size);
    for k in 0..size - 1 {
        s.send(Peer::Local(right), tag, recv[(rank + size - k) % size]);
        s.recv(Peer::Local(left), tag, recv[(rank + 2 * size - k - 1) % size]);
        s.end_round();
    }
}

/// Alltoallv (and alltoallw) by pairwise exchange: this rank's own block is copied, then in
/// round k it sends its block for `rank + k` there and receives the block of `rank - k`, one
/// message each way per round. `send` and `recv` have one range per rank; `send == None` is
/// `MPI_IN_PLACE` (the data to send is in `recv`, copied to scratch first, since a received
/// block overwrites one not yet sent).
pub fn alltoallv(s: &mut Schedule, rank: usize, send: Option<&[Range]>, recv: &[Range], tag: i32) {
    let size = recv.len();
    let copies: Vec<Range>;
    let send = match send {
        Some(b) => {
            s.copy(b[rank], recv[rank]);
            b
        }
        None => {
            copies = recv
                .iter()
                .enumerate()
                .map(|(i, &r)| {
                    if i == rank {
                        return r;
                    }
                    let t = s.scratch(r.len());
                    s.copy(r, t);
                    t
                })
                .collect();
            &copies
        }
    };
    for k in 1..size {
        let (to, from) = ((rank + k) % size, (rank + size - k) % size);
        s.send(Peer::Local(to), tag, send[to]);
        s.recv(Peer::Local(from), tag, recv[from]);
        s.end_round();
    }
}
