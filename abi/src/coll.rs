//! Collectives: Barrier, Bcast, Reduce, Allreduce (issue 5 brings the rest).

use std::ffi::c_void;

use mpi_core::datatype::Kind;
use mpi_core::error::{fail, ErrorClass, Result};

use crate::errors::api;
use crate::generated::consts::*;
use crate::generated::types::*;
use crate::handles;
use crate::p2p::user_buf;

/// The element kind of a reduction's datatype: unsupported optional types cannot be reduced.
fn reduction_kind(datatype: MPI_Datatype) -> Result<Kind> {
    match handles::datatype(datatype)? {
        Some(k) => Ok(k),
        None => fail(ErrorClass::Type, format!("datatype {:#x} is not supported by this build", datatype.0)),
    }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Barrier(comm: MPI_Comm) -> c_int {
    api(comm, "MPI_Barrier", || crate::engine()?.barrier(handles::comm(comm)?))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Bcast_c(buffer: *mut c_void, count: MPI_Count, datatype: MPI_Datatype, root: c_int, comm: MPI_Comm) -> c_int {
    api(comm, "MPI_Bcast", || {
        let e = crate::engine()?;
        let c = handles::comm(comm)?;
        let buf = user_buf(buffer, count, datatype)?;
        e.bcast(c, buf.bytes_mut(), root)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Bcast(buffer: *mut c_void, count: c_int, datatype: MPI_Datatype, root: c_int, comm: MPI_Comm) -> c_int {
    PMPI_Bcast_c(buffer, count.into(), datatype, root, comm)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Reduce_c(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    op: MPI_Op,
    root: c_int,
    comm: MPI_Comm,
) -> c_int {
    api(comm, "MPI_Reduce", || {
        let e = crate::engine()?;
        let c = handles::comm(comm)?;
        let kind = reduction_kind(datatype)?;
        let op = handles::op(op)?;
        let is_root = e.comm_rank(c)? as c_int == root;
        let in_place = std::ptr::eq(sendbuf, MPI_IN_PLACE);
        if in_place && !is_root {
            return fail(ErrorClass::Buffer, "MPI_IN_PLACE is only valid at the root of MPI_Reduce");
        }
        // The receive buffer matters only at the root.
        let recv = if is_root { user_buf(recvbuf, count, datatype)? } else { mpi_core::buffer::UserBuf::EMPTY };
        let send = if in_place { None } else { Some(user_buf(sendbuf, count, datatype)?) };
        e.reduce(c, send.as_ref().map(|b| b.bytes()), recv.bytes_mut(), kind, op, root)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Reduce(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    op: MPI_Op,
    root: c_int,
    comm: MPI_Comm,
) -> c_int {
    PMPI_Reduce_c(sendbuf, recvbuf, count.into(), datatype, op, root, comm)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Allreduce_c(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    op: MPI_Op,
    comm: MPI_Comm,
) -> c_int {
    api(comm, "MPI_Allreduce", || {
        let e = crate::engine()?;
        let c = handles::comm(comm)?;
        let kind = reduction_kind(datatype)?;
        let op = handles::op(op)?;
        let recv = user_buf(recvbuf, count, datatype)?;
        let send = if std::ptr::eq(sendbuf, MPI_IN_PLACE) { None } else { Some(user_buf(sendbuf, count, datatype)?) };
        e.allreduce(c, send.as_ref().map(|b| b.bytes()), recv.bytes_mut(), kind, op)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Allreduce(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    op: MPI_Op,
    comm: MPI_Comm,
) -> c_int {
    PMPI_Allreduce_c(sendbuf, recvbuf, count.into(), datatype, op, comm)
}
