//! Process topologies (Cartesian, graph, distributed graph) and the blocking neighbor
//! collectives. The engine keeps the topology with the communicator
//! (`mpi_core::engine::topology`); this file checks C arrays and translates.
//!
//! `reorder` is accepted and ignored (the standard allows it): every process keeps its rank.
//! Neighbor collectives move contiguous buffers of predefined datatypes, as the rest of the
//! communication does until the engine walks type maps.

use std::ffi::c_void;

use mpi_core::buffer::UserBuf;
use mpi_core::engine::topology::{self, Topology};
use mpi_core::engine::{CommId, Request};
use mpi_core::error::{fail, ErrorClass, Result};

use crate::comm::{check_out, created};
use crate::coll::{call, Form, Widen};
use crate::errors::api;
use crate::generated::consts::*;
use crate::generated::types::*;
use crate::{engine, handles, out};

/// `n` values at `p`: a negative `n` or a null `p` with `n > 0` is `MPI_ERR_ARG`.
unsafe fn ints<'a, T>(p: *const T, n: c_int, what: &str) -> Result<&'a [T]> {
    if n < 0 {
        return fail(ErrorClass::Arg, format!("negative length {n} of {what}"));
    }
    if n == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return fail(ErrorClass::Arg, format!("null {what} array"));
    }
    // SAFETY: the standard sizes the array to `n` elements.
    Ok(unsafe { std::slice::from_raw_parts(p, n as usize) })
}

/// Writes `values` to the C array `p` (at most `max` of them; `MPI_ERR_ARG` for a null
/// array that would receive some).
unsafe fn write_ints(p: *mut c_int, max: c_int, values: &[i32], what: &str) -> Result<()> {
    let n = values.len().min(max.max(0) as usize);
    if n == 0 {
        return Ok(());
    }
    if p.is_null() {
        return fail(ErrorClass::Arg, format!("null {what} array"));
    }
    // SAFETY: the standard sizes the array to `max` elements; we write at most that many.
    unsafe { std::ptr::copy_nonoverlapping(values.as_ptr(), p, n) };
    Ok(())
}

/// The dims and periods of a Cartesian communicator: `MPI_ERR_TOPOLOGY` for any other.
fn cart_of(comm: MPI_Comm) -> Result<(Vec<i32>, Vec<bool>, i32)> {
    let e = engine()?;
    let c = handles::comm(comm)?;
    match &*e.topology_required(c)? {
        Topology::Cart { dims, periods } => Ok((dims.clone(), periods.clone(), e.comm_rank(c)? as i32)),
        _ => fail(ErrorClass::Topology, "not a Cartesian communicator"),
    }
}

/// The index and edges of a graph communicator: `MPI_ERR_TOPOLOGY` for any other.
fn graph_of(comm: MPI_Comm) -> Result<(Vec<i32>, Vec<i32>)> {
    let e = engine()?;
    match &*e.topology_required(handles::comm(comm)?)? {
        Topology::Graph { index, edges } => Ok((index.clone(), edges.clone())),
        _ => fail(ErrorClass::Topology, "not a graph communicator"),
    }
}

// ---- Cartesian --------------------------------------------------------------------------

#[no_mangle]
pub unsafe extern "C" fn PMPI_Dims_create(nnodes: c_int, ndims: c_int, dims: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Dims_create", || {
        if ndims < 0 {
            return fail(ErrorClass::Dims, format!("negative number of dimensions {ndims}"));
        }
        let given = unsafe { ints(dims, ndims, "dims") }?;
        let mut filled = given.to_vec();
        topology::dims_create(nnodes, &mut filled)?;
        unsafe { write_ints(dims, ndims, &filled, "dims") }
    })
}

/// Dims and periods of a Cartesian constructor's arguments.
unsafe fn cart_args(ndims: c_int, dims: *const c_int, periods: *const c_int) -> Result<(Vec<i32>, Vec<bool>)> {
    if ndims < 0 {
        return fail(ErrorClass::Dims, format!("negative number of dimensions {ndims}"));
    }
    let d = unsafe { ints(dims, ndims, "dims") }?.to_vec();
    let p = unsafe { ints(periods, ndims, "periods") }?.iter().map(|&p| p != 0).collect();
    Ok((d, p))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Cart_create(comm_old: MPI_Comm, ndims: c_int, dims: *const c_int, periods: *const c_int, _reorder: c_int, comm_cart: *mut MPI_Comm) -> c_int {
    api(comm_old, "MPI_Cart_create", || {
        let e = engine()?;
        let c = handles::comm(comm_old)?;
        check_out(comm_cart, "comm_cart")?;
        let (d, p) = unsafe { cart_args(ndims, dims, periods) }?;
        out(comm_cart, created(comm_old, e.cart_create(c, &d, &p)?))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Cartdim_get(comm: MPI_Comm, ndims: *mut c_int) -> c_int {
    api(comm, "MPI_Cartdim_get", || {
        let (dims, _, _) = cart_of(comm)?;
        out(ndims, dims.len() as c_int)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Cart_get(comm: MPI_Comm, maxdims: c_int, dims: *mut c_int, periods: *mut c_int, coords: *mut c_int) -> c_int {
    api(comm, "MPI_Cart_get", || {
        let (d, p, rank) = cart_of(comm)?;
        if maxdims < 0 {
            return fail(ErrorClass::Arg, format!("negative maxdims {maxdims}"));
        }
        let p: Vec<i32> = p.iter().map(|&x| x as i32).collect();
        unsafe {
            write_ints(dims, maxdims, &d, "dims")?;
            write_ints(periods, maxdims, &p, "periods")?;
            write_ints(coords, maxdims, &Topology::coords_of(&d, rank), "coords")
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Cart_rank(comm: MPI_Comm, coords: *const c_int, rank: *mut c_int) -> c_int {
    api(comm, "MPI_Cart_rank", || {
        let (d, p, _) = cart_of(comm)?;
        let c = unsafe { ints(coords, d.len() as c_int, "coords") }?;
        out(rank, Topology::cart_rank(&d, &p, c)?)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Cart_coords(comm: MPI_Comm, rank: c_int, maxdims: c_int, coords: *mut c_int) -> c_int {
    api(comm, "MPI_Cart_coords", || {
        let (d, _, _) = cart_of(comm)?;
        let n = topology::grid_size(&d).unwrap_or(0);
        if !(0..n).contains(&rank) {
            return fail(ErrorClass::Rank, format!("rank {rank} is not in a grid of {n} processes"));
        }
        if maxdims < 0 {
            return fail(ErrorClass::Arg, format!("negative maxdims {maxdims}"));
        }
        unsafe { write_ints(coords, maxdims, &Topology::coords_of(&d, rank), "coords") }
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Cart_shift(comm: MPI_Comm, direction: c_int, disp: c_int, rank_source: *mut c_int, rank_dest: *mut c_int) -> c_int {
    api(comm, "MPI_Cart_shift", || {
        let (d, p, rank) = cart_of(comm)?;
        if direction < 0 || direction as usize >= d.len() {
            return fail(ErrorClass::Arg, format!("direction {direction} is not a dimension of a {}-dimensional grid", d.len()));
        }
        check_out(rank_source, "rank_source")?;
        check_out(rank_dest, "rank_dest")?;
        let (s, t) = Topology::cart_shift(&d, &p, rank, direction as usize, disp);
        out(rank_source, s)?;
        out(rank_dest, t)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Cart_sub(comm: MPI_Comm, remain_dims: *const c_int, newcomm: *mut MPI_Comm) -> c_int {
    api(comm, "MPI_Cart_sub", || {
        let (d, _, _) = cart_of(comm)?;
        check_out(newcomm, "newcomm")?;
        let remain: Vec<bool> = unsafe { ints(remain_dims, d.len() as c_int, "remain_dims") }?.iter().map(|&r| r != 0).collect();
        let new = engine()?.cart_sub(handles::comm(comm)?, &remain)?;
        out(newcomm, created(comm, Some(new)))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Cart_map(comm: MPI_Comm, ndims: c_int, dims: *const c_int, periods: *const c_int, newrank: *mut c_int) -> c_int {
    api(comm, "MPI_Cart_map", || {
        let e = engine()?;
        let c = handles::comm(comm)?;
        let (d, p) = unsafe { cart_args(ndims, dims, periods) }?;
        let nodes = Topology::cart(&d, &p)?.nodes().unwrap_or(0);
        let (rank, size) = (e.comm_rank(c)?, e.comm_size(c)?);
        if nodes > size {
            return fail(ErrorClass::Topology, format!("a grid of {nodes} processes does not fit a communicator of {size}"));
        }
        out(newrank, if rank < nodes { rank as c_int } else { MPI_UNDEFINED })
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Topo_test(comm: MPI_Comm, status: *mut c_int) -> c_int {
    api(comm, "MPI_Topo_test", || {
        let t = engine()?.topology(handles::comm(comm)?)?;
        out(
            status,
            match t.as_deref() {
                Some(Topology::Cart { .. }) => MPI_CART,
                Some(Topology::Graph { .. }) => MPI_GRAPH,
                Some(Topology::DistGraph { .. }) => MPI_DIST_GRAPH,
                None => MPI_UNDEFINED,
            },
        )
    })
}

// ---- graph ------------------------------------------------------------------------------

/// A graph constructor's arrays: `nnodes` index entries, as many edges as the last says.
unsafe fn graph_args<'a>(nnodes: c_int, index: *const c_int, edges: *const c_int) -> Result<(&'a [i32], &'a [i32])> {
    let idx = unsafe { ints(index, nnodes, "index") }?;
    let nedges = idx.last().copied().unwrap_or(0);
    let e = unsafe { ints(edges, nedges, "edges") }?;
    Ok((idx, e))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Graph_create(comm_old: MPI_Comm, nnodes: c_int, index: *const c_int, edges: *const c_int, _reorder: c_int, comm_graph: *mut MPI_Comm) -> c_int {
    api(comm_old, "MPI_Graph_create", || {
        let e = engine()?;
        let c = handles::comm(comm_old)?;
        check_out(comm_graph, "comm_graph")?;
        let (idx, edg) = unsafe { graph_args(nnodes, index, edges) }?;
        out(comm_graph, created(comm_old, e.graph_create(c, idx, edg)?))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Graphdims_get(comm: MPI_Comm, nnodes: *mut c_int, nedges: *mut c_int) -> c_int {
    api(comm, "MPI_Graphdims_get", || {
        let (index, edges) = graph_of(comm)?;
        check_out(nedges, "nedges")?;
        out(nnodes, index.len() as c_int)?;
        out(nedges, edges.len() as c_int)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Graph_get(comm: MPI_Comm, maxindex: c_int, maxedges: c_int, index: *mut c_int, edges: *mut c_int) -> c_int {
    api(comm, "MPI_Graph_get", || {
        let (idx, edg) = graph_of(comm)?;
        if maxindex < 0 || maxedges < 0 {
            return fail(ErrorClass::Arg, "negative maxindex or maxedges");
        }
        unsafe {
            write_ints(index, maxindex, &idx, "index")?;
            write_ints(edges, maxedges, &edg, "edges")
        }
    })
}

/// Node `rank`'s neighbours in the graph of `comm`, `rank` checked (`MPI_ERR_RANK`).
fn graph_neighbors_of(comm: MPI_Comm, rank: c_int) -> Result<Vec<i32>> {
    let (index, edges) = graph_of(comm)?;
    if rank < 0 || rank as usize >= index.len() {
        return fail(ErrorClass::Rank, format!("rank {rank} is not a node of a graph of {}", index.len()));
    }
    Ok(Topology::graph_neighbors(&index, &edges, rank).to_vec())
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Graph_neighbors_count(comm: MPI_Comm, rank: c_int, nneighbors: *mut c_int) -> c_int {
    api(comm, "MPI_Graph_neighbors_count", || out(nneighbors, graph_neighbors_of(comm, rank)?.len() as c_int))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Graph_neighbors(comm: MPI_Comm, rank: c_int, maxneighbors: c_int, neighbors: *mut c_int) -> c_int {
    api(comm, "MPI_Graph_neighbors", || {
        let n = graph_neighbors_of(comm, rank)?;
        if maxneighbors < 0 {
            return fail(ErrorClass::Arg, format!("negative maxneighbors {maxneighbors}"));
        }
        unsafe { write_ints(neighbors, maxneighbors, &n, "neighbors") }
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Graph_map(comm: MPI_Comm, nnodes: c_int, index: *const c_int, edges: *const c_int, newrank: *mut c_int) -> c_int {
    api(comm, "MPI_Graph_map", || {
        let e = engine()?;
        let c = handles::comm(comm)?;
        let (idx, edg) = unsafe { graph_args(nnodes, index, edges) }?;
        Topology::graph(idx, edg)?;
        let (rank, size) = (e.comm_rank(c)?, e.comm_size(c)?);
        if idx.len() > size {
            return fail(ErrorClass::Topology, format!("a graph of {} nodes does not fit a communicator of {size}", idx.len()));
        }
        out(newrank, if rank < idx.len() { rank as c_int } else { MPI_UNDEFINED })
    })
}

// ---- distributed graph --------------------------------------------------------------------

/// A weights argument: `None` for `MPI_UNWEIGHTED`; `MPI_WEIGHTS_EMPTY` is an empty list,
/// valid only where there are no edges.
unsafe fn weights<'a>(w: *const c_int, n: c_int, what: &str) -> Result<Option<&'a [i32]>> {
    if std::ptr::eq(w, MPI_UNWEIGHTED) {
        return Ok(None);
    }
    if std::ptr::eq(w, MPI_WEIGHTS_EMPTY) {
        if n > 0 {
            return fail(ErrorClass::Arg, format!("MPI_WEIGHTS_EMPTY for {n} {what}"));
        }
        return Ok(Some(&[]));
    }
    let s = unsafe { ints(w, n, what) }?;
    if let Some(x) = s.iter().find(|&&x| x < 0) {
        return fail(ErrorClass::Arg, format!("negative weight {x}"));
    }
    Ok(Some(s))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Dist_graph_create_adjacent(
    comm_old: MPI_Comm,
    indegree: c_int,
    sources: *const c_int,
    sourceweights: *const c_int,
    outdegree: c_int,
    destinations: *const c_int,
    destweights: *const c_int,
    _info: MPI_Info,
    _reorder: c_int,
    comm_dist_graph: *mut MPI_Comm,
) -> c_int {
    api(comm_old, "MPI_Dist_graph_create_adjacent", || {
        let e = engine()?;
        let c = handles::comm(comm_old)?;
        check_out(comm_dist_graph, "comm_dist_graph")?;
        let (s, d) = unsafe { (ints(sources, indegree, "sources")?, ints(destinations, outdegree, "destinations")?) };
        let (sw, dw) = unsafe { (weights(sourceweights, indegree, "sources")?, weights(destweights, outdegree, "destinations")?) };
        let new = e.dist_graph_create_adjacent(c, s, sw, d, dw)?;
        out(comm_dist_graph, created(comm_old, Some(new)))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Dist_graph_create(
    comm_old: MPI_Comm,
    n: c_int,
    sources: *const c_int,
    degrees: *const c_int,
    destinations: *const c_int,
    weights: *const c_int,
    _info: MPI_Info,
    _reorder: c_int,
    comm_dist_graph: *mut MPI_Comm,
) -> c_int {
    api(comm_old, "MPI_Dist_graph_create", || {
        let e = engine()?;
        let c = handles::comm(comm_old)?;
        check_out(comm_dist_graph, "comm_dist_graph")?;
        let (s, deg) = unsafe { (ints(sources, n, "sources")?, ints(degrees, n, "degrees")?) };
        if let Some(d) = deg.iter().find(|&&d| d < 0) {
            return fail(ErrorClass::Arg, format!("negative degree {d}"));
        }
        let total: i64 = deg.iter().map(|&d| i64::from(d)).sum();
        let total = c_int::try_from(total).or_else(|_| fail(ErrorClass::Arg, "the degrees add up to more than 2^31 edges"))?;
        let d = unsafe { ints(destinations, total, "destinations") }?;
        let w = unsafe { self::weights(weights, total, "edges") }?;
        let new = e.dist_graph_create(c, s, deg, d, w)?;
        out(comm_dist_graph, created(comm_old, Some(new)))
    })
}

/// This process's edges in the distributed graph of `comm`: `MPI_ERR_TOPOLOGY` for any other.
fn dist_graph_of(comm: MPI_Comm) -> Result<Topology> {
    let t = engine()?.topology_required(handles::comm(comm)?)?;
    match &*t {
        Topology::DistGraph { .. } => Ok((*t).clone()),
        _ => fail(ErrorClass::Topology, "not a distributed graph communicator"),
    }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Dist_graph_neighbors_count(comm: MPI_Comm, indegree: *mut c_int, outdegree: *mut c_int, weighted: *mut c_int) -> c_int {
    api(comm, "MPI_Dist_graph_neighbors_count", || {
        let Topology::DistGraph { sources, destinations, weighted: w, .. } = dist_graph_of(comm)? else {
            return fail(ErrorClass::Intern, "distributed graph expected");
        };
        check_out(outdegree, "outdegree")?;
        check_out(weighted, "weighted")?;
        out(indegree, sources.len() as c_int)?;
        out(outdegree, destinations.len() as c_int)?;
        out(weighted, c_int::from(w))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Dist_graph_neighbors(
    comm: MPI_Comm,
    maxindegree: c_int,
    sources: *mut c_int,
    sourceweights: *mut c_int,
    maxoutdegree: c_int,
    destinations: *mut c_int,
    destweights: *mut c_int,
) -> c_int {
    api(comm, "MPI_Dist_graph_neighbors", || {
        let Topology::DistGraph { sources: s, source_weights: sw, destinations: d, dest_weights: dw, weighted } = dist_graph_of(comm)? else {
            return fail(ErrorClass::Intern, "distributed graph expected");
        };
        if maxindegree < 0 || maxoutdegree < 0 {
            return fail(ErrorClass::Arg, "negative maxindegree or maxoutdegree");
        }
        // Weights are written only for a weighted graph, and not into the special markers.
        let real = |p: *mut c_int| weighted && !std::ptr::eq(p, MPI_UNWEIGHTED) && !std::ptr::eq(p, MPI_WEIGHTS_EMPTY);
        unsafe {
            write_ints(sources, maxindegree, &s, "sources")?;
            write_ints(destinations, maxoutdegree, &d, "destinations")?;
            if real(sourceweights) {
                write_ints(sourceweights, maxindegree, &sw, "sourceweights")?;
            }
            if real(destweights) {
                write_ints(destweights, maxoutdegree, &dw, "destweights")?;
            }
        }
        Ok(())
    })
}

// ---- neighbor collectives -----------------------------------------------------------------

/// Bytes of one element of `d` (its extent), with the datatype checks.
fn extent(d: MPI_Datatype) -> Result<isize> {
    Ok(handles::extent_bytes(1, d)? as isize)
}

/// `count` elements of `d` at byte offset `offset` from `base`.
unsafe fn block(base: *const c_void, offset: isize, count: MPI_Count, d: MPI_Datatype) -> Result<UserBuf> {
    let len = handles::extent_bytes(count, d)?;
    if std::ptr::eq(base, MPI_IN_PLACE) {
        return fail(ErrorClass::Buffer, "MPI_IN_PLACE is not allowed in neighbor collectives");
    }
    // The block's own address is what must not be null: a null base is MPI_BOTTOM, with
    // absolute addresses as displacements (MPI_Neighbor_alltoallw from MPI_Get_address).
    let start = (base as *mut u8).wrapping_offset(offset);
    if len > 0 && start.is_null() {
        return fail(ErrorClass::Buffer, format!("null buffer for {count} elements"));
    }
    // SAFETY: the application keeps the buffer valid for the blocks it describes, as the
    // standard requires of every communication buffer.
    Ok(unsafe { UserBuf::new(start, len) })
}

/// (in-degree, out-degree) of `comm`'s topology.
fn degrees(comm: MPI_Comm) -> Result<(usize, usize, CommId)> {
    let c = handles::comm(comm)?;
    let (s, d) = engine()?.neighbor_lists(c)?;
    Ok((s.len(), d.len(), c))
}

/// `n` counts at `p` (one per neighbour), widened.
unsafe fn widen_counts<T: Widen>(p: *const T, n: usize, what: &str) -> Result<Vec<MPI_Count>> {
    Ok(unsafe { ints(p, n as c_int, what) }?.iter().map(|&x| x.widen()).collect())
}

/// `n` displacements at `p` (one per neighbour), widened.
unsafe fn widen_displs<T: Widen>(p: *const T, n: usize, what: &str) -> Result<Vec<MPI_Aint>> {
    Ok(unsafe { ints(p, n as c_int, what) }?.iter().map(|&x| x.widen() as MPI_Aint).collect())
}

/// The exchange itself, in the form asked for: `sends[i]` to the i-th destination,
/// `recvs[j]` from the j-th source.
fn exchange(c: CommId, sends: &[UserBuf], recvs: &[UserBuf], form: Form) -> Result<Option<Request>> {
    match form {
        None => engine()?.neighbor_exchange(c, sends, recvs).map(|()| None),
        Some(mode) => engine()?.ineighbor(c, sends, recvs, mode).map(Some),
    }
}

/// `MPI_Neighbor_allgather` in the form asked for (entry points: `generated/collectives.rs`).
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn neighbor_allgather(
    sendbuf: *const c_void, sendcount: MPI_Count, sendtype: MPI_Datatype,
    recvbuf: *mut c_void, recvcount: MPI_Count, recvtype: MPI_Datatype,
    comm: MPI_Comm, name: &'static str, form: Form, request: *mut MPI_Request,
) -> c_int {
    call(comm, name, form, request, |form| {
        let (indeg, outdeg, c) = degrees(comm)?;
        let send = unsafe { block(sendbuf, 0, sendcount, sendtype) }?;
        let step = handles::extent_bytes(recvcount, recvtype)? as isize;
        let recvs = (0..indeg).map(|j| unsafe { block(recvbuf, j as isize * step, recvcount, recvtype) }).collect::<Result<Vec<_>>>()?;
        exchange(c, &vec![send; outdeg], &recvs, form)
    })
}

/// `MPI_Neighbor_allgatherv` in the form asked for.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn neighbor_allgatherv<C: Widen, D: Widen>(
    sendbuf: *const c_void, sendcount: MPI_Count, sendtype: MPI_Datatype,
    recvbuf: *mut c_void, recvcounts: *const C, displs: *const D, recvtype: MPI_Datatype,
    comm: MPI_Comm, name: &'static str, form: Form, request: *mut MPI_Request,
) -> c_int {
    call(comm, name, form, request, |form| {
        let (indeg, outdeg, c) = degrees(comm)?;
        let send = unsafe { block(sendbuf, 0, sendcount, sendtype) }?;
        let counts = unsafe { widen_counts(recvcounts, indeg, "recvcounts") }?;
        let displs = unsafe { widen_displs(displs, indeg, "displs") }?;
        let ext = extent(recvtype)?;
        let recvs = (0..indeg).map(|j| unsafe { block(recvbuf, displs[j].wrapping_mul(ext), counts[j], recvtype) }).collect::<Result<Vec<_>>>()?;
        exchange(c, &vec![send; outdeg], &recvs, form)
    })
}

/// `MPI_Neighbor_alltoall` in the form asked for.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn neighbor_alltoall(
    sendbuf: *const c_void, sendcount: MPI_Count, sendtype: MPI_Datatype,
    recvbuf: *mut c_void, recvcount: MPI_Count, recvtype: MPI_Datatype,
    comm: MPI_Comm, name: &'static str, form: Form, request: *mut MPI_Request,
) -> c_int {
    call(comm, name, form, request, |form| {
        let (indeg, outdeg, c) = degrees(comm)?;
        let sstep = handles::extent_bytes(sendcount, sendtype)? as isize;
        let rstep = handles::extent_bytes(recvcount, recvtype)? as isize;
        let sends = (0..outdeg).map(|i| unsafe { block(sendbuf, i as isize * sstep, sendcount, sendtype) }).collect::<Result<Vec<_>>>()?;
        let recvs = (0..indeg).map(|j| unsafe { block(recvbuf, j as isize * rstep, recvcount, recvtype) }).collect::<Result<Vec<_>>>()?;
        exchange(c, &sends, &recvs, form)
    })
}

/// One side of an alltoallv/alltoallw: per-neighbour counts, byte offsets and datatypes.
struct Side {
    counts: Vec<MPI_Count>,
    offsets: Vec<isize>,
    types: Vec<MPI_Datatype>,
}

impl Side {
    /// Displacements in elements of one datatype (alltoallv).
    unsafe fn typed<C: Widen, D: Widen>(counts: *const C, displs: *const D, d: MPI_Datatype, n: usize, what: &str) -> Result<Side> {
        let counts = unsafe { widen_counts(counts, n, what) }?;
        let ext = extent(d)?;
        let offsets = unsafe { widen_displs(displs, n, what) }?.iter().map(|&x| x.wrapping_mul(ext)).collect();
        Ok(Side { counts, offsets, types: vec![d; n] })
    }

    /// Displacements in bytes, a datatype per neighbour (alltoallw).
    unsafe fn general<C: Widen>(counts: *const C, displs: *const MPI_Aint, types: *const MPI_Datatype, n: usize, what: &str) -> Result<Side> {
        Ok(Side {
            counts: unsafe { widen_counts(counts, n, what) }?,
            offsets: unsafe { widen_displs(displs, n, what) }?,
            types: unsafe { ints(types, n as c_int, what) }?.to_vec(),
        })
    }

    unsafe fn blocks(&self, base: *const c_void) -> Result<Vec<UserBuf>> {
        (0..self.counts.len()).map(|i| unsafe { block(base, self.offsets[i], self.counts[i], self.types[i]) }).collect()
    }
}

/// An alltoallv/alltoallw: `sides(outdegree, indegree)` reads the send and receive arrays.
unsafe fn alltoall_sides(
    sendbuf: *const c_void, recvbuf: *mut c_void, comm: MPI_Comm, name: &'static str, form: Form,
    request: *mut MPI_Request, sides: impl FnOnce(usize, usize) -> Result<(Side, Side)>,
) -> c_int {
    call(comm, name, form, request, |form| {
        let (indeg, outdeg, c) = degrees(comm)?;
        let (s, r) = sides(outdeg, indeg)?;
        let (sends, recvs) = unsafe { (s.blocks(sendbuf)?, r.blocks(recvbuf)?) };
        exchange(c, &sends, &recvs, form)
    })
}

/// `MPI_Neighbor_alltoallv` in the form asked for.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn neighbor_alltoallv<C: Widen, D: Widen>(
    sendbuf: *const c_void, sendcounts: *const C, sdispls: *const D, sendtype: MPI_Datatype,
    recvbuf: *mut c_void, recvcounts: *const C, rdispls: *const D, recvtype: MPI_Datatype,
    comm: MPI_Comm, name: &'static str, form: Form, request: *mut MPI_Request,
) -> c_int {
    alltoall_sides(sendbuf, recvbuf, comm, name, form, request, |o, i| unsafe {
        Ok((Side::typed(sendcounts, sdispls, sendtype, o, "send arrays")?, Side::typed(recvcounts, rdispls, recvtype, i, "receive arrays")?))
    })
}

/// `MPI_Neighbor_alltoallw` in the form asked for.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn neighbor_alltoallw<C: Widen>(
    sendbuf: *const c_void, sendcounts: *const C, sdispls: *const MPI_Aint, sendtypes: *const MPI_Datatype,
    recvbuf: *mut c_void, recvcounts: *const C, rdispls: *const MPI_Aint, recvtypes: *const MPI_Datatype,
    comm: MPI_Comm, name: &'static str, form: Form, request: *mut MPI_Request,
) -> c_int {
    alltoall_sides(sendbuf, recvbuf, comm, name, form, request, |o, i| unsafe {
        Ok((Side::general(sendcounts, sdispls, sendtypes, o, "send arrays")?, Side::general(recvcounts, rdispls, recvtypes, i, "receive arrays")?))
    })
}
