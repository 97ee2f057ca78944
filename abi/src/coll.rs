//! Collectives: Barrier, Bcast, Reduce, Allreduce (issue 5 brings the rest).
//!
//! The engine's collectives work on one byte range per buffer. A predefined type's buffer is
//! its memory image (what the reductions work on, padding of pair types included). A derived
//! type's data is its packed stream, as in point-to-point: used where it lies when the type has
//! no gaps, else staged: packed into a copy before the call and unpacked after it. (The staging
//! copy is the size of the message; collectives get a chunked path with issue 5.)

use std::ffi::c_void;

use mpi_core::buffer::Buf;
use mpi_core::datatype::Kind;
use mpi_core::error::{fail, ErrorClass, Result};

use crate::errors::api;
use crate::generated::consts::*;
use crate::generated::types::*;
use crate::handles;
use crate::p2p::{comm_buf, user_buf};

/// The element kind of a reduction's datatype: a predefined type's own, or for a derived type
/// the one predefined type its signature consists of (reductions apply element by element).
/// Unsupported optional types cannot be reduced.
pub(crate) fn reduction_kind(datatype: MPI_Datatype) -> Result<Kind> {
    if !handles::is_predefined(datatype) {
        let map = handles::type_map(datatype)?;
        let mut kinds = map.signature().iter().map(|(b, _)| b.kind);
        return match kinds.next() {
            Some(k) if kinds.all(|o| o == k) => Ok(k),
            None => Ok(Kind::U8),
            _ => fail(ErrorClass::Type, format!(
                "datatype {:#x}: a reduction on a derived datatype needs a signature of one predefined type", datatype.0)),
        };
    }
    match handles::datatype(datatype)? {
        Some(k) => Ok(k),
        None => fail(ErrorClass::Type, format!("datatype {:#x} is not supported by this build", datatype.0)),
    }
}

/// A collective's buffer as one byte range (see the module doc).
pub(crate) struct Staged {
    buf: Buf,
    /// The packed copy of scattered data.
    copy: Option<Vec<u8>>,
}

impl Staged {
    /// `count` elements of `datatype` at `ptr`; `fill`: the call reads this buffer (pack it).
    pub(crate) fn new(ptr: *const c_void, count: MPI_Count, datatype: MPI_Datatype, fill: bool) -> Result<Staged> {
        if handles::is_predefined(datatype) {
            return Ok(Staged { buf: user_buf(ptr, count, datatype)?.into(), copy: None });
        }
        let buf = comm_buf(ptr, count, datatype)?;
        let copy = match buf {
            Buf::Contig(_) => None,
            Buf::Typed(_) if fill => Some(buf.to_vec()),
            Buf::Typed(_) => Some(vec![0; buf.len()]),
        };
        Ok(Staged { buf, copy })
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        match (&self.copy, &self.buf) {
            (Some(v), _) => v,
            (None, Buf::Contig(b)) => b.bytes(),
            (None, Buf::Typed(_)) => &[],
        }
    }

    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        match (&mut self.copy, &self.buf) {
            (Some(v), _) => v,
            (None, Buf::Contig(b)) => b.bytes_mut(),
            (None, Buf::Typed(_)) => &mut [],
        }
    }

    /// The call wrote this buffer: unpack the copy where the data belongs.
    pub(crate) fn done(self) {
        if let Some(v) = &self.copy {
            self.buf.write_at(0, v);
        }
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
        // On an intercommunicator the root passes MPI_ROOT, and MPI_PROC_NULL receives nothing.
        let (is_root, takes_part) = e.root_role(c, root)?;
        let mut buf = Staged::new(buffer, count, datatype, is_root)?;
        e.bcast(c, buf.bytes_mut(), root)?;
        if takes_part && !is_root {
            buf.done();
        }
        Ok(())
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
        // On an intercommunicator only the other group contributes (the root passes MPI_ROOT).
        let (is_root, contributes) = e.root_role(c, root)?;
        let in_place = std::ptr::eq(sendbuf, MPI_IN_PLACE);
        if in_place && !is_root {
            return fail(ErrorClass::Buffer, "MPI_IN_PLACE is only valid at the root of MPI_Reduce");
        }
        // The receive buffer matters only at the root.
        let mut recv = if is_root { Some(Staged::new(recvbuf, count, datatype, in_place)?) } else { None };
        let send = if in_place || !contributes { None } else { Some(Staged::new(sendbuf, count, datatype, true)?) };
        let recv_bytes = recv.as_mut().map_or(&mut [][..], |r| r.bytes_mut());
        e.reduce(c, send.as_ref().map(|b| b.bytes()), recv_bytes, kind, op, root)?;
        if let Some(r) = recv {
            r.done();
        }
        Ok(())
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
        let in_place = std::ptr::eq(sendbuf, MPI_IN_PLACE);
        let mut recv = Staged::new(recvbuf, count, datatype, in_place)?;
        let send = if in_place { None } else { Some(Staged::new(sendbuf, count, datatype, true)?) };
        e.allreduce(c, send.as_ref().map(|b| b.bytes()), recv.bytes_mut(), kind, op)?;
        recv.done();
        Ok(())
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
