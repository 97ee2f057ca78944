//! Process topologies: Cartesian grids, graphs and distributed graphs, and the neighbour
//! exchanges of the neighbor collectives (a child module of `engine`, like `comm.rs`, so that it
//! reaches the communicator table).
//!
//! A topology is stored with its communicator (`Comm::topo`): it is dropped when the
//! communicator is freed and shared by `MPI_Comm_dup`. Creating one makes a new communicator
//! through `comm_split` (ranks keep their order: `reorder` is a hint this library ignores, as
//! the standard allows) and attaches the topology to it.
//!
//! The arithmetic (dims_create, coordinates, shifts, neighbour lists) is plain functions on
//! [`Topology`], tested without any process.
//!
//! # Neighbour exchanges
//!
//! A neighbor collective is a schedule of one round (`nbc.rs`, `neighbor_sched`): it posts
//! every receive, then every send, on the communicator's collective context, and completes
//! when all of them have. For a Cartesian topology the neighbours are, for each
//! dimension, the -1 then the +1 neighbour; both may be the same process (a periodic dimension
//! of size 1 or 2), so each message's tag names the block it lands in at the receiver: data
//! sent to the -1 neighbour fills that neighbour's "+1" block. For graphs every message has the
//! same tag; repeated edges between two processes are matched in order, which point-to-point's
//! non-overtaking rule guarantees.

use std::sync::Arc;

use crate::collective::CollPeer;
use crate::error::{fail, ErrorClass, Result};
use crate::slab::Id;

use super::{CommId, Engine, PROC_NULL};

/// Tag of `MPI_Dist_graph_create`'s exchange of edges on the collective context (the tree
/// collectives of context agreements use small tags, `MPI_Comm_create_group` negative ones,
/// schedules `nbc.rs`'s range from `1 << 25`).
const TAG_DIST_GRAPH: i32 = (1 << 20) - 1;

/// A communicator's topology.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Topology {
    /// A grid in row-major order: rank = sum of coords[i] * prod(dims[i+1..]).
    Cart { dims: Vec<i32>, periods: Vec<bool> },
    /// `MPI_Graph_create`'s arrays: node i's neighbours are `edges[index[i-1]..index[i]]`.
    Graph { index: Vec<i32>, edges: Vec<i32> },
    /// This process's incoming and outgoing edges, with weights (all 1 when unweighted).
    DistGraph { sources: Vec<i32>, source_weights: Vec<i32>, destinations: Vec<i32>, dest_weights: Vec<i32>, weighted: bool },
}

/// `MPI_Dims_create`: fills the zero entries of `dims` so that the product is `nnodes`, as
/// balanced as possible (the difference between largest and smallest filled entry is
/// minimal; among equals, the largest entry is smallest) and in non-increasing order.
/// Nonzero entries are kept.
pub fn dims_create(nnodes: i32, dims: &mut [i32]) -> Result<()> {
    if nnodes < 0 {
        return fail(ErrorClass::Arg, format!("negative number of nodes {nnodes}"));
    }
    if let Some(d) = dims.iter().find(|&&d| d < 0) {
        return fail(ErrorClass::Dims, format!("dimension {d} is negative"));
    }
    let fixed: i64 = dims.iter().filter(|&&d| d > 0).map(|&d| i64::from(d)).product();
    let free = dims.iter().filter(|&&d| d == 0).count();
    if nnodes == 0 {
        // Only an empty grid has no nodes: a fixed entry cannot be 0, so none may be given.
        if fixed != 1 || free == 0 && !dims.is_empty() {
            return fail(ErrorClass::Dims, "0 nodes cannot fill a grid with fixed dimensions");
        }
        dims.iter_mut().for_each(|d| *d = 0);
        return Ok(());
    }
    if i64::from(nnodes) % fixed != 0 {
        return fail(ErrorClass::Dims, format!("{nnodes} nodes do not divide into the fixed dimensions (product {fixed})"));
    }
    let rest = i64::from(nnodes) / fixed;
    if free == 0 {
        if rest != 1 {
            return fail(ErrorClass::Dims, format!("the fixed dimensions hold {fixed} nodes, not {nnodes}"));
        }
        return Ok(());
    }
    let mut divisors: Vec<i64> = (1..).take_while(|d| d * d <= rest).filter(|d| rest % d == 0).flat_map(|d| [d, rest / d]).collect();
    divisors.sort_unstable_by(|a, b| b.cmp(a));
    divisors.dedup();
    let mut best: Option<Vec<i64>> = None;
    let mut current = Vec::with_capacity(free);
    balanced(rest, free, &divisors, &mut current, &mut best);
    let chosen = best.unwrap_or_default();
    for (d, v) in dims.iter_mut().filter(|d| **d == 0).zip(chosen) {
        *d = v as i32;
    }
    Ok(())
}

/// Depth-first search over non-increasing factorisations of `rest` into `k` more factors
/// (each at most the last one chosen), keeping the best by (max - min, max).
fn balanced(rest: i64, k: usize, divisors: &[i64], current: &mut Vec<i64>, best: &mut Option<Vec<i64>>) {
    let score = |v: &[i64]| (v[0] - v[v.len() - 1], v[0]);
    if k == 0 {
        if rest == 1 && best.as_ref().is_none_or(|b| score(current) < score(b)) {
            *best = Some(current.clone());
        }
        return;
    }
    let cap = current.last().copied().unwrap_or(i64::MAX);
    for &d in divisors {
        if d > cap || rest % d != 0 {
            continue;
        }
        // The remaining k factors are at most d: d^k must reach `rest`.
        if (d as f64).powi(k as i32) < rest as f64 * (1.0 - 1e-12) {
            break;
        }
        if let (Some(b), Some(&first)) = (best.as_ref(), current.first()) {
            // Every completion has min <= d, so max - min >= first - d.
            if (first - d, first) > score(b) {
                break;
            }
        }
        current.push(d);
        balanced(rest / d, k - 1, divisors, current, best);
        current.pop();
    }
}

/// Number of nodes of a grid; `None` when it overflows an `i32`.
pub fn grid_size(dims: &[i32]) -> Option<i32> {
    dims.iter().try_fold(1i32, |acc, &d| acc.checked_mul(d))
}

impl Topology {
    /// A Cartesian topology, its dimensions checked (`MPI_ERR_DIMS`).
    pub fn cart(dims: &[i32], periods: &[bool]) -> Result<Topology> {
        if let Some(d) = dims.iter().find(|&&d| d <= 0) {
            return fail(ErrorClass::Dims, format!("dimension {d} is not positive"));
        }
        if grid_size(dims).is_none() {
            return fail(ErrorClass::Dims, "the grid has more than 2^31 nodes");
        }
        Ok(Topology::Cart { dims: dims.to_vec(), periods: periods.to_vec() })
    }

    /// A graph topology, its arrays checked (`MPI_ERR_ARG`): `index` non-decreasing, the last
    /// entry the number of edges, every edge a node.
    pub fn graph(index: &[i32], edges: &[i32]) -> Result<Topology> {
        let mut prev = 0;
        for &i in index {
            if i < prev {
                return fail(ErrorClass::Arg, format!("graph index {i} is smaller than the one before ({prev})"));
            }
            prev = i;
        }
        if prev as usize != edges.len() {
            return fail(ErrorClass::Arg, format!("graph index ends at {prev}, but {} edges are given", edges.len()));
        }
        let nnodes = index.len() as i32;
        if let Some(e) = edges.iter().find(|&&e| e < 0 || e >= nnodes) {
            return fail(ErrorClass::Arg, format!("graph edge to {e} is not one of the {nnodes} nodes"));
        }
        Ok(Topology::Graph { index: index.to_vec(), edges: edges.to_vec() })
    }

    /// Number of processes the topology spans.
    pub fn nodes(&self) -> Option<usize> {
        match self {
            Topology::Cart { dims, .. } => grid_size(dims).map(|n| n as usize),
            Topology::Graph { index, .. } => Some(index.len()),
            Topology::DistGraph { .. } => None,
        }
    }

    /// Coordinates of `rank` in a grid of `dims` (rank already checked).
    pub fn coords_of(dims: &[i32], rank: i32) -> Vec<i32> {
        let mut coords = vec![0; dims.len()];
        let mut r = rank;
        for (c, &d) in coords.iter_mut().zip(dims).rev() {
            *c = r % d;
            r /= d;
        }
        coords
    }

    /// `MPI_Cart_rank`: periodic coordinates wrap; out-of-range ones elsewhere are
    /// `MPI_ERR_ARG`.
    pub fn cart_rank(dims: &[i32], periods: &[bool], coords: &[i32]) -> Result<i32> {
        let mut rank = 0i32;
        for (i, ((&d, &p), &c)) in dims.iter().zip(periods).zip(coords).enumerate() {
            let c = if p {
                c.rem_euclid(d)
            } else if (0..d).contains(&c) {
                c
            } else {
                return fail(ErrorClass::Arg, format!("coordinate {c} of dimension {i} is outside 0..{d}, which is not periodic"));
            };
            rank = rank * d + c;
        }
        Ok(rank)
    }

    /// `MPI_Cart_shift` from `rank`: (source, destination), `PROC_NULL` off a non-periodic
    /// edge.
    pub fn cart_shift(dims: &[i32], periods: &[bool], rank: i32, direction: usize, disp: i32) -> (i32, i32) {
        let coords = Topology::coords_of(dims, rank);
        let at = |delta: i64| {
            let (d, c) = (i64::from(dims[direction]), i64::from(coords[direction]) + delta);
            let c = if periods[direction] {
                c.rem_euclid(d)
            } else if (0..d).contains(&c) {
                c
            } else {
                return PROC_NULL;
            };
            let mut moved = coords.clone();
            moved[direction] = c as i32;
            Topology::cart_rank(dims, periods, &moved).unwrap_or(PROC_NULL)
        };
        (at(-i64::from(disp)), at(i64::from(disp)))
    }

    /// The neighbours of `rank` as the neighbor collectives order them: (sources, destinations).
    pub fn neighbors(&self, rank: i32) -> (Vec<i32>, Vec<i32>) {
        match self {
            Topology::Cart { dims, periods } => {
                let mut n = Vec::with_capacity(2 * dims.len());
                for dir in 0..dims.len() {
                    let (minus, plus) = Topology::cart_shift(dims, periods, rank, dir, 1);
                    n.extend([minus, plus]);
                }
                (n.clone(), n)
            }
            Topology::Graph { index, edges } => {
                let n = Topology::graph_neighbors(index, edges, rank).to_vec();
                (n.clone(), n)
            }
            Topology::DistGraph { sources, destinations, .. } => (sources.clone(), destinations.clone()),
        }
    }

    /// Node `rank`'s neighbours in a graph (rank already checked).
    pub fn graph_neighbors<'a>(index: &[i32], edges: &'a [i32], rank: i32) -> &'a [i32] {
        let r = rank as usize;
        let start = if r == 0 { 0 } else { index[r - 1] as usize };
        &edges[start..index[r] as usize]
    }
}

impl super::State {
    fn topology(&self, comm: CommId) -> Result<Option<Arc<Topology>>> {
        Ok(self.comm(comm)?.topo.clone())
    }
}

impl Engine {
    /// The topology of `comm` (`None`: it has none).
    pub fn topology(&self, comm: CommId) -> Result<Option<Arc<Topology>>> {
        self.lock().topology(comm)
    }

    /// The topology of `comm`, which must be one: `MPI_ERR_TOPOLOGY` otherwise.
    pub fn topology_required(&self, comm: CommId) -> Result<Arc<Topology>> {
        match self.topology(comm)? {
            Some(t) => Ok(t),
            None => fail(ErrorClass::Topology, "the communicator has no topology"),
        }
    }

    fn attach_topology(&self, comm: CommId, topo: Topology) {
        if let Some(c) = self.lock().comms.get_mut(Id::from_token(comm.0)) {
            c.topo = Some(Arc::new(topo));
        }
    }

    /// A communicator of `comm`'s first `topo.nodes()` ranks, in order, carrying `topo`;
    /// `None` for the ranks beyond (`MPI_Cart_create`, `MPI_Graph_create`).
    fn create_with_topology(&self, comm: CommId, topo: Topology) -> Result<Option<CommId>> {
        let (rank, size) = self.with_comm(comm, |c| {
            c.intra_only("a process topology")?;
            Ok((c.rank as usize, c.members.len()))
        })?;
        let nodes = topo.nodes().unwrap_or(size);
        if nodes > size {
            return fail(ErrorClass::Topology, format!("the topology has {nodes} nodes but the communicator only {size} processes"));
        }
        let new = self.comm_split(comm, (rank < nodes).then_some(0), rank as i32)?;
        if let Some(n) = new {
            self.attach_topology(n, topo);
        }
        Ok(new)
    }

    /// `MPI_Cart_create` (reorder ignored).
    pub fn cart_create(&self, comm: CommId, dims: &[i32], periods: &[bool]) -> Result<Option<CommId>> {
        let topo = Topology::cart(dims, periods)?;
        self.create_with_topology(comm, topo)
    }

    /// `MPI_Graph_create` (reorder ignored).
    pub fn graph_create(&self, comm: CommId, index: &[i32], edges: &[i32]) -> Result<Option<CommId>> {
        let topo = Topology::graph(index, edges)?;
        self.create_with_topology(comm, topo)
    }

    /// `MPI_Cart_sub`: one communicator per combination of the dropped coordinates, keeping
    /// the dimensions where `remain` is true.
    pub fn cart_sub(&self, comm: CommId, remain: &[bool]) -> Result<CommId> {
        let Topology::Cart { dims, periods } = &*self.topology_required(comm)? else {
            return fail(ErrorClass::Topology, "MPI_Cart_sub needs a Cartesian communicator");
        };
        let rank = self.comm_rank(comm)? as i32;
        let coords = Topology::coords_of(dims, rank);
        let mut color = 0i32;
        let (mut sub_dims, mut sub_periods) = (Vec::new(), Vec::new());
        for i in 0..dims.len() {
            if remain[i] {
                sub_dims.push(dims[i]);
                sub_periods.push(periods[i]);
            } else {
                color = color * dims[i] + coords[i];
            }
        }
        // Parent rank as key: row-major order of the kept coordinates.
        match self.comm_split(comm, Some(color), rank)? {
            Some(n) => {
                self.attach_topology(n, Topology::Cart { dims: sub_dims, periods: sub_periods });
                Ok(n)
            }
            None => fail(ErrorClass::Intern, "MPI_Cart_sub: split gave no communicator"),
        }
    }

    /// `MPI_Dist_graph_create_adjacent`: every process names its own edges.
    pub fn dist_graph_create_adjacent(&self, comm: CommId, sources: &[i32], source_weights: Option<&[i32]>, destinations: &[i32], dest_weights: Option<&[i32]>) -> Result<CommId> {
        self.with_comm(comm, |c| c.intra_only("a process topology"))?;
        let size = self.comm_size(comm)? as i32;
        check_ranks(sources.iter().chain(destinations), size)?;
        let weighted = source_weights.is_some() || dest_weights.is_some();
        let weights = |w: Option<&[i32]>, n: usize| w.map_or_else(|| vec![1; n], <[i32]>::to_vec);
        let topo = Topology::DistGraph {
            sources: sources.to_vec(),
            source_weights: weights(source_weights, sources.len()),
            destinations: destinations.to_vec(),
            dest_weights: weights(dest_weights, destinations.len()),
            weighted,
        };
        self.dist_graph_finish(comm, topo)
    }

    /// `MPI_Dist_graph_create`: each process names any edges (`sources[i]` to each of its
    /// `degrees[i]` destinations, in order in `destinations`); the edges are then sent to the
    /// processes at their ends, in a pairwise exchange over `comm`'s collective context (p - 1
    /// rounds, each a count then the edges). Edges are listed by the rank that named them,
    /// then in the order it named them.
    pub fn dist_graph_create(&self, comm: CommId, sources: &[i32], degrees: &[i32], destinations: &[i32], weights: Option<&[i32]>) -> Result<CommId> {
        self.with_comm(comm, |c| c.intra_only("a process topology"))?;
        let size = self.comm_size(comm)?;
        check_ranks(sources, size as i32)?;
        check_ranks(destinations, size as i32)?;
        if let Some(d) = degrees.iter().find(|&&d| d < 0) {
            return fail(ErrorClass::Arg, format!("negative degree {d}"));
        }
        let total: usize = degrees.iter().map(|&d| d as usize).sum();
        if total > destinations.len() || weights.is_some_and(|w| w.len() < total) {
            return fail(ErrorClass::Arg, "fewer destinations or weights than the degrees add up to");
        }
        // outbox[r]: (kind, other end, weight) triples for process r; kind 0 = r's in-edge
        // from `other`, 1 = r's out-edge to `other`.
        let mut outbox: Vec<Vec<i32>> = vec![Vec::new(); size];
        let mut k = 0;
        for (&s, &deg) in sources.iter().zip(degrees) {
            for _ in 0..deg {
                let (d, w) = (destinations[k], weights.map_or(1, |w| w[k]));
                outbox[s as usize].extend([1, d, w]);
                outbox[d as usize].extend([0, s, w]);
                k += 1;
            }
        }
        let mut peer = self.coll_peer(comm)?;
        let rank = peer.rank;
        let mut inbox: Vec<Vec<i32>> = vec![Vec::new(); size];
        inbox[rank] = std::mem::take(&mut outbox[rank]);
        for step in 1..size {
            let (to, from) = ((rank + step) % size, (rank + size - step) % size);
            let send = to_bytes(&outbox[to]);
            let mut count = [0u8; 8];
            peer.sendrecv(to, TAG_DIST_GRAPH, &(send.len() as u64).to_ne_bytes(), from, TAG_DIST_GRAPH, &mut count)?;
            let mut recv = vec![0u8; u64::from_ne_bytes(count) as usize];
            peer.sendrecv(to, TAG_DIST_GRAPH, &send, from, TAG_DIST_GRAPH, &mut recv)?;
            inbox[from] = from_bytes(&recv);
        }
        let (mut srcs, mut sw, mut dsts, mut dw) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for triple in inbox.iter().flat_map(|v| v.chunks_exact(3)) {
            if triple[0] == 0 {
                srcs.push(triple[1]);
                sw.push(triple[2]);
            } else {
                dsts.push(triple[1]);
                dw.push(triple[2]);
            }
        }
        let topo = Topology::DistGraph { sources: srcs, source_weights: sw, destinations: dsts, dest_weights: dw, weighted: weights.is_some() };
        self.dist_graph_finish(comm, topo)
    }

    /// A communicator with `comm`'s processes in order, carrying `topo`.
    fn dist_graph_finish(&self, comm: CommId, topo: Topology) -> Result<CommId> {
        let rank = self.comm_rank(comm)? as i32;
        match self.comm_split(comm, Some(0), rank)? {
            Some(n) => {
                self.attach_topology(n, topo);
                Ok(n)
            }
            None => fail(ErrorClass::Intern, "distributed graph: split gave no communicator"),
        }
    }

    /// The neighbour lists of this process in `comm`'s topology: (sources, destinations).
    pub fn neighbor_lists(&self, comm: CommId) -> Result<(Vec<i32>, Vec<i32>)> {
        let topo = self.topology_required(comm)?;
        let rank = self.comm_rank(comm)? as i32;
        Ok(topo.neighbors(rank))
    }
}

/// Every rank in `ranks` is one of `size`: `MPI_ERR_RANK` otherwise.
fn check_ranks<'a>(ranks: impl IntoIterator<Item = &'a i32>, size: i32) -> Result<()> {
    match ranks.into_iter().find(|&&r| r < 0 || r >= size) {
        Some(r) => fail(ErrorClass::Rank, format!("{r} is not a rank of a communicator of size {size}")),
        None => Ok(()),
    }
}

fn to_bytes(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_ne_bytes()).collect()
}

fn from_bytes(b: &[u8]) -> Vec<i32> {
    b.chunks_exact(4).map(|c| i32::from_ne_bytes([c[0], c[1], c[2], c[3]])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dims(n: i32, mut d: Vec<i32>) -> Vec<i32> {
        dims_create(n, &mut d).unwrap();
        d
    }

    /// Every non-increasing factorisation of n into k factors, by brute force.
    fn factorisations(n: i64, k: usize, cap: i64) -> Vec<Vec<i64>> {
        if k == 0 {
            return if n == 1 { vec![vec![]] } else { vec![] };
        }
        let mut out = Vec::new();
        for d in (1..=cap.min(n)).rev() {
            if n % d == 0 {
                for mut rest in factorisations(n / d, k - 1, d) {
                    rest.insert(0, d);
                    out.push(rest);
                }
            }
        }
        out
    }

    #[test]
    fn dims_create_known_answers() {
        assert_eq!(dims(6, vec![0, 0]), [3, 2]);
        assert_eq!(dims(7, vec![0, 0]), [7, 1]);
        assert_eq!(dims(12, vec![0, 0, 0]), [3, 2, 2]);
        assert_eq!(dims(72, vec![0, 0]), [9, 8]);
        assert_eq!(dims(16, vec![0, 0, 0]), [4, 2, 2]);
        assert_eq!(dims(24, vec![0, 3, 0]), [4, 3, 2]);
        assert_eq!(dims(1, vec![0, 0, 0]), [1, 1, 1]);
        assert_eq!(dims(4, vec![2, 2]), [2, 2]);
        assert_eq!(dims(1, vec![]), Vec::<i32>::new());
    }

    #[test]
    fn dims_create_is_optimal() {
        for n in 1..=200i32 {
            for k in 1..=4usize {
                let got: Vec<i64> = dims(n, vec![0; k]).into_iter().map(i64::from).collect();
                assert_eq!(got.iter().product::<i64>(), i64::from(n));
                assert!(got.windows(2).all(|w| w[0] >= w[1]), "{n} {k}: {got:?}");
                let best = factorisations(i64::from(n), k, i64::from(n)).into_iter().map(|v| v[0] - v[k - 1]).min().unwrap();
                assert_eq!(got[0] - got[k - 1], best, "{n} in {k}: {got:?}");
            }
        }
    }

    #[test]
    fn dims_create_errors() {
        assert_eq!(dims_create(10, &mut [0, 3]).unwrap_err().class, ErrorClass::Dims);
        assert_eq!(dims_create(6, &mut [2, -1]).unwrap_err().class, ErrorClass::Dims);
        assert_eq!(dims_create(6, &mut [2, 2]).unwrap_err().class, ErrorClass::Dims);
        assert_eq!(dims_create(-1, &mut [0]).unwrap_err().class, ErrorClass::Arg);
        // 0 with no fixed dimension: all zero; 0 with a fixed one: impossible.
        let mut d = [0, 0];
        dims_create(0, &mut d).unwrap();
        assert_eq!(d, [0, 0]);
        assert!(dims_create(0, &mut [2, 0]).is_err());
    }

    #[test]
    fn coordinates_round_trip() {
        let (d, p) = (vec![3, 4, 2], vec![false, true, false]);
        for r in 0..24 {
            let c = Topology::coords_of(&d, r);
            assert_eq!(c, vec![r / 8, (r / 2) % 4, r % 2]);
            assert_eq!(Topology::cart_rank(&d, &p, &c).unwrap(), r);
        }
        // Periodic wrap in dimension 1, out of range elsewhere.
        assert_eq!(Topology::cart_rank(&d, &p, &[1, -1, 0]).unwrap(), 8 + 3 * 2);
        assert_eq!(Topology::cart_rank(&d, &p, &[1, 9, 1]).unwrap(), 8 + 2 + 1);
        assert_eq!(Topology::cart_rank(&d, &p, &[3, 0, 0]).unwrap_err().class, ErrorClass::Arg);
        assert_eq!(Topology::cart_rank(&d, &p, &[0, 0, -1]).unwrap_err().class, ErrorClass::Arg);
    }

    #[test]
    fn shifts_and_neighbours() {
        let (d, p) = (vec![3, 2], vec![false, true]);
        // rank 2 = (1, 0)
        assert_eq!(Topology::cart_shift(&d, &p, 2, 0, 1), (0, 4));
        assert_eq!(Topology::cart_shift(&d, &p, 0, 0, 1), (PROC_NULL, 2));
        assert_eq!(Topology::cart_shift(&d, &p, 4, 0, 1), (2, PROC_NULL));
        assert_eq!(Topology::cart_shift(&d, &p, 2, 0, 2), (PROC_NULL, PROC_NULL));
        assert_eq!(Topology::cart_shift(&d, &p, 2, 1, 1), (3, 3));
        assert_eq!(Topology::cart_shift(&d, &p, 2, 1, -3), (3, 3));
        let t = Topology::Cart { dims: d, periods: p };
        assert_eq!(t.neighbors(2), (vec![0, 4, 3, 3], vec![0, 4, 3, 3]));
        let g = Topology::graph(&[2, 3, 4], &[1, 2, 0, 0]).unwrap();
        assert_eq!(g.neighbors(0).0, vec![1, 2]);
        assert_eq!(g.neighbors(2).1, vec![0]);
        assert_eq!(Topology::graph(&[2, 1], &[0]).unwrap_err().class, ErrorClass::Arg);
        assert_eq!(Topology::graph(&[1], &[1]).unwrap_err().class, ErrorClass::Arg);
        assert_eq!(Topology::cart(&[2, 0], &[false, false]).unwrap_err().class, ErrorClass::Dims);
    }
}
