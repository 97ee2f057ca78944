//! Gatherv, Scatterv, Allgatherv, Alltoallv, Alltoallw on intra- and intercommunicators
//! (one block per rank of the remote group there, `coll::peers`): blocking,
//! nonblocking (`MPI_Igatherv`, ...) and persistent (`MPI_Gatherv_init`, ...) forms, and
//! their `_c` forms (`MPI_Count` counts, `MPI_Aint` displacements).
//!
//! Every peer's block becomes a buffer of its own (`Buf`): `count` elements of the datatype
//! at `displ` extents of it from the start of the buffer (alltoallw: `displ` bytes, with a
//! datatype per peer). The engine gets one buffer per rank and never sees the gaps between
//! blocks, so they stay untouched, and a derived type is packed and unpacked by the
//! schedule as in `gather.rs`. Arrays a process does not use (a gatherv's receive counts off
//! the root, the send arrays with `MPI_IN_PLACE`) are not read, as the standard says, so they
//! may be null there; where they are used a null one is `MPI_ERR_ARG`.

use std::ffi::c_void;

use mpi_core::buffer::Buf;
use mpi_core::error::{fail, ErrorClass, Result};

use crate::coll::{call, in_place, peers, Form, Widen};
use crate::generated::types::*;
use crate::handles;
use crate::p2p::comm_buf;


/// The `n` elements of the array `p` (named `what` in errors); null is `MPI_ERR_ARG`.
unsafe fn array<T: Widen>(p: *const T, n: usize, what: &str) -> Result<Vec<i64>> {
    if p.is_null() {
        return fail(ErrorClass::Arg, format!("null {what} array"));
    }
    // SAFETY: the application passes an array of one element per rank of the communicator.
    Ok(unsafe { std::slice::from_raw_parts(p, n) }.iter().map(|x| x.widen()).collect())
}

/// The `n` datatypes of the array `p` (alltoallw's); null is `MPI_ERR_ARG`.
unsafe fn types(p: *const MPI_Datatype, n: usize, what: &str) -> Result<Vec<MPI_Datatype>> {
    if p.is_null() {
        return fail(ErrorClass::Arg, format!("null {what} array"));
    }
    // SAFETY: as in `array`.
    Ok(unsafe { std::slice::from_raw_parts(p, n) }.to_vec())
}

/// `count` elements of `datatype` at `byte_displ` bytes from `ptr`.
fn block(ptr: *const c_void, byte_displ: i64, count: i64, datatype: MPI_Datatype) -> Result<Buf> {
    if count < 0 {
        return fail(ErrorClass::Count, format!("negative count {count}"));
    }
    let Ok(off) = isize::try_from(byte_displ) else {
        return fail(ErrorClass::Arg, format!("displacement of {byte_displ} bytes overflows"));
    };
    // A null `ptr` is MPI_BOTTOM: the displacements are then absolute addresses.
    comm_buf((ptr as *const u8).wrapping_offset(off) as *const c_void, count, datatype)
}

/// The per-rank blocks of a v buffer: `counts[i]` elements of `datatype` at `displs[i]`
/// extents of it from `ptr`.
unsafe fn blocks_v<C: Widen, D: Widen>(ptr: *const c_void, counts: *const C, displs: *const D, datatype: MPI_Datatype, size: usize) -> Result<Vec<Buf>> {
    let counts = array(counts, size, "counts")?;
    let displs = array(displs, size, "displacements")?;
    let extent = handles::type_map(datatype)?.extent();
    counts
        .iter()
        .zip(&displs)
        .map(|(&n, &d)| match d.checked_mul(extent) {
            Some(off) => block(ptr, off, n, datatype),
            None => fail(ErrorClass::Arg, format!("displacement {d} of {extent}-byte extents overflows")),
        })
        .collect()
}

/// The per-rank blocks of an alltoallw buffer: `counts[i]` elements of `types[i]` at
/// `displs[i]` bytes from `ptr`.
unsafe fn blocks_w<C: Widen, D: Widen>(ptr: *const c_void, counts: *const C, displs: *const D, tys: *const MPI_Datatype, size: usize) -> Result<Vec<Buf>> {
    let counts = array(counts, size, "counts")?;
    let displs = array(displs, size, "displacements")?;
    let tys = types(tys, size, "datatypes")?;
    (0..size).map(|i| block(ptr, displs[i], counts[i], tys[i])).collect()
}


#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gatherv<C: Widen, D: Widen>(
    sendbuf: *const c_void, sendcount: MPI_Count, sendtype: MPI_Datatype,
    recvbuf: *mut c_void, recvcounts: *const C, displs: *const D, recvtype: MPI_Datatype,
    root: c_int, comm: MPI_Comm, name: &'static str, form: Form, request: *mut MPI_Request,
) -> c_int {
    call(comm, name, form, request, |form| {
        let e = crate::engine()?;
        let c = handles::comm(comm)?;
        let (is_root, contributes) = e.root_role(c, root)?;
        let send = if in_place(sendbuf) || !contributes { None } else { Some(comm_buf(sendbuf, sendcount, sendtype)?) };
        let recv = if is_root { blocks_v(recvbuf, recvcounts, displs, recvtype, peers(c)?)? } else { Vec::new() };
        e.gatherv(c, send, recv, root, form)
    })
}

#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn scatterv<C: Widen, D: Widen>(
    sendbuf: *const c_void, sendcounts: *const C, displs: *const D, sendtype: MPI_Datatype,
    recvbuf: *mut c_void, recvcount: MPI_Count, recvtype: MPI_Datatype,
    root: c_int, comm: MPI_Comm, name: &'static str, form: Form, request: *mut MPI_Request,
) -> c_int {
    call(comm, name, form, request, |form| {
        let e = crate::engine()?;
        let c = handles::comm(comm)?;
        let (is_root, contributes) = e.root_role(c, root)?;
        let send = if is_root { blocks_v(sendbuf, sendcounts, displs, sendtype, peers(c)?)? } else { Vec::new() };
        let recv = if in_place(recvbuf) || !contributes { None } else { Some(comm_buf(recvbuf, recvcount, recvtype)?) };
        e.scatterv(c, send, recv, root, form)
    })
}

#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn allgatherv<C: Widen, D: Widen>(
    sendbuf: *const c_void, sendcount: MPI_Count, sendtype: MPI_Datatype,
    recvbuf: *mut c_void, recvcounts: *const C, displs: *const D, recvtype: MPI_Datatype,
    comm: MPI_Comm, name: &'static str, form: Form, request: *mut MPI_Request,
) -> c_int {
    call(comm, name, form, request, |form| {
        let e = crate::engine()?;
        let c = handles::comm(comm)?;
        let send = if in_place(sendbuf) { None } else { Some(comm_buf(sendbuf, sendcount, sendtype)?) };
        let recv = blocks_v(recvbuf, recvcounts, displs, recvtype, peers(c)?)?;
        e.allgatherv(c, send, recv, form)
    })
}

#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn alltoallv<C: Widen, D: Widen>(
    sendbuf: *const c_void, sendcounts: *const C, sdispls: *const D, sendtype: MPI_Datatype,
    recvbuf: *mut c_void, recvcounts: *const C, rdispls: *const D, recvtype: MPI_Datatype,
    comm: MPI_Comm, name: &'static str, form: Form, request: *mut MPI_Request,
) -> c_int {
    call(comm, name, form, request, |form| {
        let e = crate::engine()?;
        let c = handles::comm(comm)?;
        let size = peers(c)?;
        let send = if in_place(sendbuf) { None } else { Some(blocks_v(sendbuf, sendcounts, sdispls, sendtype, size)?) };
        let recv = blocks_v(recvbuf, recvcounts, rdispls, recvtype, size)?;
        e.alltoallv(c, send, recv, name, form)
    })
}

#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn alltoallw<C: Widen, D: Widen>(
    sendbuf: *const c_void, sendcounts: *const C, sdispls: *const D, sendtypes: *const MPI_Datatype,
    recvbuf: *mut c_void, recvcounts: *const C, rdispls: *const D, recvtypes: *const MPI_Datatype,
    comm: MPI_Comm, name: &'static str, form: Form, request: *mut MPI_Request,
) -> c_int {
    call(comm, name, form, request, |form| {
        let e = crate::engine()?;
        let c = handles::comm(comm)?;
        let size = peers(c)?;
        let send = if in_place(sendbuf) { None } else { Some(blocks_w(sendbuf, sendcounts, sdispls, sendtypes, size)?) };
        let recv = blocks_w(recvbuf, recvcounts, rdispls, recvtypes, size)?;
        e.alltoallv(c, send, recv, name, form)
    })
}
