//! Node-aware collectives, in two levels: within each host (whose ranks talk through shared
//! memory) and across hosts among one leader per host, so that the network carries one
//! message per host instead of one per rank.
//!
//! Each level is one of the flat builders run over a subgroup (numbered `0..n`) and renamed
//! into communicator ranks with [`Schedule::remap`]. A host's leader is its lowest rank, or
//! the root on the root's host. Ranks combine by host, not in rank order: reductions need a
//! commutative op (`tuning::Algorithm::serves`).

use super::{reduce_tree, Peer, Range, Reduction, Schedule};

/// A builder over the leaders' subgroup: `(schedule, rank, size, data, tag)` for bcast and
/// allreduce (the engine picks it from the tuning table for the leaders' count).
pub type LeaderBuild<'a> = &'a dyn Fn(&mut Schedule, usize, usize, Range, i32);

/// A communicator's ranks grouped by host.
#[derive(Debug)]
pub struct Layout {
    /// The communicator ranks of each host, ascending; hosts in the order of their lowest rank.
    hosts: Vec<Vec<usize>>,
    /// (host index, index within the host) of each communicator rank.
    place: Vec<(usize, usize)>,
}

impl Layout {
    /// The layout of a communicator whose rank `r` is on host `host_of[r]` (any host names).
    pub fn new(host_of: &[u32]) -> Layout {
        let mut hosts: Vec<Vec<usize>> = Vec::new();
        let mut names: Vec<u32> = Vec::new();
        let mut place = Vec::with_capacity(host_of.len());
        for (r, h) in host_of.iter().enumerate() {
            let i = match names.iter().position(|n| n == h) {
                Some(i) => i,
                None => {
                    names.push(*h);
                    hosts.push(Vec::new());
                    hosts.len() - 1
                }
            };
            place.push((i, hosts[i].len()));
            hosts[i].push(r);
        }
        Layout { hosts, place }
    }

    /// Hosts the communicator spans.
    pub fn hosts(&self) -> usize {
        self.hosts.len()
    }

    /// The leaders, one per host: the lowest rank, or `root` on its own host.
    fn leaders(&self, root: usize) -> Vec<usize> {
        let root_host = self.place.get(root).map_or(usize::MAX, |p| p.0);
        self.hosts.iter().enumerate().map(|(i, h)| if i == root_host { root } else { h[0] }).collect()
    }
}

/// Runs `build` over `members` (this rank being `members[me]`) and renames its peers.
fn over(s: &mut Schedule, members: &[usize], build: impl FnOnce(&mut Schedule)) {
    let mark = s.mark();
    build(s);
    s.remap(mark, members);
    s.end_round();
}

/// Barrier: each host's ranks report to their leader (a binomial fan-in of empty messages),
/// the leaders run a dissemination barrier, and each leader releases its host (fan-out).
pub fn barrier(s: &mut Schedule, layout: &Layout, rank: usize, tag: i32) {
    let (host, me) = layout.place[rank];
    let local = &layout.hosts[host];
    over(s, local, |s| fan(s, me, local.len(), tag, true));
    if me == 0 {
        let leaders = layout.leaders(local[0]);
        over(s, &leaders, |s| super::barrier(s, host, leaders.len(), tag));
    }
    over(s, local, |s| fan(s, me, local.len(), tag, false));
}

/// A binomial fan-in (towards rank 0) or fan-out (from it) of empty messages.
fn fan(s: &mut Schedule, rank: usize, size: usize, tag: i32, inward: bool) {
    let sub = super::subtree(rank, size);
    let parent = (rank != 0).then(|| rank - (1 << rank.trailing_zeros()));
    let mut mask = 1;
    if !inward {
        if let Some(p) = parent {
            s.recv(Peer::Local(p), tag, Range::EMPTY);
            s.end_round();
        }
    }
    while mask < sub {
        if inward {
            s.recv(Peer::Local(rank + mask), tag, Range::EMPTY);
        } else {
            s.send(Peer::Local(rank + mask), tag, Range::EMPTY);
        }
        mask <<= 1;
    }
    s.end_round();
    if inward {
        if let Some(p) = parent {
            s.send(Peer::Local(p), tag, Range::EMPTY);
            s.end_round();
        }
    }
}

/// Bcast of `buf` from `root`: among the leaders by `across` (rooted at the root's host),
/// then within each host by a binomial tree from its leader.
pub fn bcast(s: &mut Schedule, layout: &Layout, rank: usize, root: usize, buf: Range, tag: i32, across: LeaderBuild<'_>) {
    let (host, me) = layout.place[rank];
    let local = &layout.hosts[host];
    let leaders = layout.leaders(root);
    let leader = leaders[host];
    if rank == leader {
        let root_host = layout.place[root].0;
        // `across` broadcasts from leader 0: renumber the leaders so the root's host is 0.
        let n = leaders.len();
        let rotated: Vec<usize> = (0..n).map(|i| leaders[(i + root_host) % n]).collect();
        over(s, &rotated, |s| across(s, (host + n - root_host) % n, n, buf, tag));
    }
    let from = local.iter().position(|&r| r == leader).unwrap_or(0);
    over(s, local, |s| super::bcast(s, me, local.len(), from, buf, tag));
}

/// Reduce to `root`: within each host to its leader, then among the leaders to the root, both
/// by binomial trees. `send` and `recv` as in the flat [`reduce`](super::reduce).
#[allow(clippy::too_many_arguments)]
pub fn reduce(s: &mut Schedule, layout: &Layout, rank: usize, root: usize, send: Option<Range>, recv: Range, red: &Reduction, tag: i32) {
    // The running result: the root's receive buffer, scratch elsewhere.
    let acc = match (rank == root, send) {
        (true, send) => {
            if let Some(send) = send {
                s.copy(send, recv);
            }
            recv
        }
        (false, Some(send)) => {
            let acc = s.scratch(send.len());
            s.copy(send, acc);
            acc
        }
        (false, None) => return,
    };
    let (host, me) = layout.place[rank];
    let local = &layout.hosts[host];
    let leaders = layout.leaders(root);
    let leader = leaders[host];
    let to = local.iter().position(|&r| r == leader).unwrap_or(0);
    over(s, local, |s| reduce_tree(s, me, local.len(), to, acc, red, tag));
    if rank == leader {
        let root_host = layout.place[root].0;
        over(s, &leaders, |s| reduce_tree(s, host, leaders.len(), root_host, acc, red, tag));
    }
}

/// Allreduce of `buf` (contribution and result): reduce within each host to its leader,
/// allreduce among the leaders by `across`, bcast within each host.
#[allow(clippy::too_many_arguments)]
pub fn allreduce(s: &mut Schedule, layout: &Layout, rank: usize, buf: Range, red: &Reduction, tag: i32, across: LeaderBuild<'_>) {
    let (host, me) = layout.place[rank];
    let local = &layout.hosts[host];
    over(s, local, |s| reduce_tree(s, me, local.len(), 0, buf, red, tag));
    if me == 0 {
        let leaders = layout.leaders(local[0]);
        over(s, &leaders, |s| across(s, host, leaders.len(), buf, tag));
    }
    over(s, local, |s| super::bcast(s, me, local.len(), 0, buf, tag));
}
