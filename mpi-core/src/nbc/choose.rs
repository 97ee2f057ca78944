//! The algorithm of each intracommunicator collective call: the tuning table's choice
//! (`tuning.rs`) turned into the builder that makes its schedule.

use crate::error::Result;
use crate::op::Op;
use crate::schedule::node_aware::{self, Layout};
use crate::schedule::{self, large, Range, Reduction, Schedule};
use crate::tuning::{Algorithm, Call, Collective};

use super::super::{CommId, State};

/// Where a call happens: the communicator's layout over hosts (`None` when the whole job is on
/// one host, where only the flat algorithms apply), rank and size.
pub(super) struct Site {
    layout: Option<Layout>,
    rank: usize,
    size: usize,
}

impl Site {
    pub(super) fn new(st: &State, comm: CommId, rank: usize, size: usize) -> Result<Site> {
        let layout = match st.host_of.is_empty() {
            true => None,
            false => Some(Layout::new(&st.comm(comm)?.members.iter().map(|&w| st.host_of[w]).collect::<Vec<_>>())),
        };
        Ok(Site { layout, rank, size })
    }

    fn call(&self, bytes: usize, red: Option<&Reduction>) -> Call {
        let (commutative, splittable) = red.map_or((true, true), shape);
        Call { ranks: self.size, bytes, commutative, splittable, hosts: self.layout.as_ref().map_or(1, Layout::hosts), board: false }
    }

    /// The layout, where the choice was node-aware (which needs one).
    fn node_aware(&self, alg: Algorithm) -> Option<&Layout> {
        self.layout.as_ref().filter(|_| alg == Algorithm::NodeAware)
    }
}

/// (commutative, splittable) of a reduction (`tuning::Call`).
fn shape(red: &Reduction) -> (bool, bool) {
    (red.op.commutative(), matches!(red.op, Op::Builtin { .. }))
}

/// The flat call the leaders of a node-aware collective make among themselves (one rank per
/// host: the table's node-aware lines do not serve it).
fn leaders_call(site: &Site, bytes: usize, red: Option<&Reduction>) -> Call {
    let hosts = site.layout.as_ref().map_or(1, Layout::hosts);
    Call { ranks: hosts, hosts, ..site.call(bytes, red) }
}

pub(super) fn barrier(st: &State, site: &Site, s: &mut Schedule, tag: i32) {
    let alg = st.tuning.choose(Collective::Barrier, site.call(0, None));
    match site.node_aware(alg) {
        Some(layout) => node_aware::barrier(s, layout, site.rank, tag),
        None => schedule::barrier(s, site.rank, site.size, tag),
    }
}

/// The builder of flat bcast algorithm `alg`.
fn flat_bcast(alg: Algorithm) -> fn(&mut Schedule, usize, usize, usize, Range, i32) {
    match alg {
        Algorithm::ScatterAllgather => large::bcast_scatter_allgather,
        _ => schedule::bcast,
    }
}

pub(super) fn bcast(st: &State, site: &Site, s: &mut Schedule, root: usize, buf: Range, tag: i32) {
    let alg = st.tuning.choose(Collective::Bcast, site.call(buf.len(), None));
    match site.node_aware(alg) {
        Some(layout) => {
            let across = flat_bcast(st.tuning.choose(Collective::Bcast, leaders_call(site, buf.len(), None)));
            node_aware::bcast(s, layout, site.rank, root, buf, tag, &|s, r, n, b, t| across(s, r, n, 0, b, t));
        }
        None => flat_bcast(alg)(s, site.rank, site.size, root, buf, tag),
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn reduce(st: &State, site: &Site, s: &mut Schedule, root: usize, send: Option<Range>, recv: Range, bytes: usize, red: &Reduction, tag: i32) {
    let alg = st.tuning.choose(Collective::Reduce, site.call(bytes, Some(red)));
    match (site.node_aware(alg), alg) {
        (Some(layout), _) => node_aware::reduce(s, layout, site.rank, root, send, recv, red, tag),
        (None, Algorithm::ReduceScatterGather) => large::reduce_scatter_gather(s, site.rank, site.size, root, send, recv, red, tag),
        (None, _) => schedule::reduce(s, site.rank, site.size, root, send, recv, red, tag),
    }
}

/// The builder of flat allreduce algorithm `alg`.
fn flat_allreduce(alg: Algorithm) -> fn(&mut Schedule, usize, usize, Range, &Reduction, i32) {
    match alg {
        Algorithm::Rabenseifner => large::allreduce_rabenseifner,
        Algorithm::Ring => large::allreduce_ring,
        _ => schedule::allreduce,
    }
}

/// Allreduce of `send` (`None`: the contribution is in `buf`) into `buf`.
#[allow(clippy::too_many_arguments)]
pub(super) fn allreduce(st: &State, site: &Site, s: &mut Schedule, send: Option<Range>, buf: Range, red: &Reduction, tag: i32) {
    let alg = st.tuning.choose(Collective::Allreduce, site.call(buf.len(), Some(red)));
    if alg == Algorithm::Ring {
        return large::allreduce_ring_from(s, site.rank, site.size, send, buf, red, tag);
    }
    if let Some(send) = send {
        s.copy(send, buf);
    }
    match site.node_aware(alg) {
        Some(layout) => {
            let across = flat_allreduce(st.tuning.choose(Collective::Allreduce, leaders_call(site, buf.len(), Some(red))));
            node_aware::allreduce(s, layout, site.rank, buf, red, tag, &|s, r, n, b, t| across(s, r, n, b, red, t));
        }
        None => flat_allreduce(alg)(s, site.rank, site.size, buf, red, tag),
    }
}

pub(super) fn allgather(st: &State, site: &Site, s: &mut Schedule, recv: Range, tag: i32) {
    let build = match st.tuning.choose(Collective::Allgather, site.call(recv.len(), None)) {
        Algorithm::RecursiveDoubling => schedule::allgather_recursive_doubling,
        Algorithm::Bruck => schedule::allgather_bruck,
        _ => schedule::allgather_ring,
    };
    build(s, site.rank, site.size, recv, tag);
}

pub(super) fn alltoall(st: &State, site: &Site, s: &mut Schedule, send: Option<Range>, recv: Range, tag: i32) {
    let block = recv.len() / site.size.max(1);
    match st.tuning.choose(Collective::Alltoall, site.call(block, None)) {
        Algorithm::Bruck => schedule::alltoall_bruck(s, site.rank, site.size, send, recv, tag),
        _ => schedule::alltoall(s, site.rank, site.size, send, recv, tag),
    }
}
