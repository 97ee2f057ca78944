//! Reduce_scatter_block, Reduce_scatter (intra- and intercommunicators), Scan, Exscan
//! (intracommunicators): blocking, nonblocking (`MPI_Iscan`, ...) and persistent
//! (`MPI_Scan_init`, ...) forms, and their `_c` forms.
//!
//! As in `gather.rs`, every form hands the engine its buffers as they are (`Buf`), and the
//! operation comes bound to the datatype (`op.rs`'s `reduction`). A reduce-scatter's blocks
//! are given to the engine in bytes, where they lie in the staged contribution: `counts[i]`
//! elements of the datatype, in its packed stream for a predefined operation, in its memory
//! layout (at `extent` bytes per element) for a user one. `MPI_IN_PLACE` is accepted as the
//! send buffer of every one of these on an intracommunicator, as the standard allows. On an
//! intercommunicator a reduce-scatter gives each group the other group's reduction, cut by
//! the local group's counts; scan and exscan are refused there with `MPI_ERR_COMM` (the
//! engine's `intra_only`).

use std::ffi::c_void;

use mpi_core::buffer::Buf;
use mpi_core::engine::{CollMode, Request};
use mpi_core::error::{fail, ErrorClass, Result};
use mpi_core::op::Op;

use crate::coll::{call, in_place, Form};
use crate::generated::types::*;
use crate::handles;
use crate::p2p::comm_buf;



/// The buffers and byte blocks of a reduce-scatter whose rank i gets `counts[i]` elements.
fn reduce_scatter(
    sendbuf: *const c_void, recvbuf: *mut c_void, counts: &[MPI_Count], datatype: MPI_Datatype,
    op: MPI_Op, comm: MPI_Comm, form: Form,
) -> Result<Option<Request>> {
    let e = crate::engine()?;
    let c = handles::comm(comm)?;
    let rank = e.comm_rank(c)?;
    if let Some(&n) = counts.iter().find(|&&n| n < 0) {
        return fail(ErrorClass::Count, format!("negative count {n}"));
    }
    let Some(total) = counts.iter().try_fold(0 as MPI_Count, |a, &n| a.checked_add(n)) else {
        return fail(ErrorClass::Count, "the counts of a reduce-scatter overflow");
    };
    let red = crate::op::reduction(op, datatype, total)?;
    let mine = counts.get(rank).copied().unwrap_or(0);
    let (send, recv) = if in_place(sendbuf) {
        (None, comm_buf(recvbuf, total, datatype)?)
    } else {
        (Some(comm_buf(sendbuf, total, datatype)?), comm_buf(recvbuf, mine, datatype)?)
    };
    let input = send.as_ref().unwrap_or(&recv).len();
    let elem = if total > 0 { input / total as usize } else { 0 };
    let packed: Vec<usize> = counts.iter().map(|&n| n as usize * elem).collect();
    let mut blocks = Vec::with_capacity(counts.len());
    let mut before = 0usize;
    match &red.op {
        Op::Builtin { .. } => {
            for &n in &packed {
                blocks.push((before, n));
                before += n;
            }
        }
        Op::User { func, .. } => {
            // Block i starts `before` elements in, at `extent` bytes each, and spans its own.
            let extent = handles::type_map(datatype)?.extent();
            if extent <= 0 && counts.len() > 1 {
                return fail(ErrorClass::Type, "a reduce-scatter with a user operation needs a datatype of positive extent");
            }
            for &n in counts {
                let at = before.checked_mul(extent as usize);
                let Some(at) = at else { return fail(ErrorClass::Count, "the counts of a reduce-scatter overflow") };
                blocks.push((at, func.span(n as usize)?));
                before += n as usize;
            }
        }
    }
    e.reduce_scatter(c, send, recv, &blocks, &packed, red, form)
}

/// `size` counts from the application's array, read with `get`.
unsafe fn counts_of<T: Copy>(comm: MPI_Comm, counts: *const T, get: impl Fn(T) -> MPI_Count) -> Result<Vec<MPI_Count>> {
    let e = crate::engine()?;
    let size = e.comm_size(handles::comm(comm)?)?;
    if counts.is_null() && size > 0 {
        return fail(ErrorClass::Arg, "null recvcounts argument");
    }
    // SAFETY: the standard makes recvcounts an array of the group's size.
    Ok((0..size).map(|i| get(unsafe { *counts.add(i) })).collect())
}

#[allow(clippy::too_many_arguments)]
unsafe fn rs_block(
    sendbuf: *const c_void, recvbuf: *mut c_void, recvcount: MPI_Count, datatype: MPI_Datatype,
    op: MPI_Op, comm: MPI_Comm, name: &'static str, form: Form, request: *mut MPI_Request,
) -> c_int {
    call(comm, name, form, request, |form| {
        let size = crate::engine()?.comm_size(handles::comm(comm)?)?;
        reduce_scatter(sendbuf, recvbuf, &vec![recvcount; size], datatype, op, comm, form)
    })
}

#[allow(clippy::too_many_arguments)]
unsafe fn rs<T: Copy>(
    sendbuf: *const c_void, recvbuf: *mut c_void, recvcounts: *const T, get: impl Fn(T) -> MPI_Count,
    datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm, name: &'static str, form: Form, request: *mut MPI_Request,
) -> c_int {
    call(comm, name, form, request, |form| {
        let counts = unsafe { counts_of(comm, recvcounts, get) }?;
        reduce_scatter(sendbuf, recvbuf, &counts, datatype, op, comm, form)
    })
}

#[allow(clippy::too_many_arguments)]
unsafe fn scan(
    sendbuf: *const c_void, recvbuf: *mut c_void, count: MPI_Count, datatype: MPI_Datatype,
    op: MPI_Op, comm: MPI_Comm, exclusive: bool, name: &'static str, form: Form, request: *mut MPI_Request,
) -> c_int {
    call(comm, name, form, request, |form| {
        let e = crate::engine()?;
        let c = handles::comm(comm)?;
        let red = crate::op::reduction(op, datatype, count)?;
        let send = if in_place(sendbuf) { None } else { Some(comm_buf(sendbuf, count, datatype)?) };
        let recv: Buf = comm_buf(recvbuf, count, datatype)?;
        e.scan(c, send, recv, exclusive, red, form)
    })
}

// ---- the C entry points ------------------------------------------------------------------------

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn PMPI_Reduce_scatter_block(sendbuf: *const c_void, recvbuf: *mut c_void, recvcount: c_int, datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm) -> c_int {
    rs_block(sendbuf, recvbuf, recvcount.into(), datatype, op, comm, "MPI_Reduce_scatter_block", None, std::ptr::null_mut())
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn PMPI_Ireduce_scatter_block(sendbuf: *const c_void, recvbuf: *mut c_void, recvcount: c_int, datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm, request: *mut MPI_Request) -> c_int {
    rs_block(sendbuf, recvbuf, recvcount.into(), datatype, op, comm, "MPI_Ireduce_scatter_block", Some(CollMode::Nonblocking), request)
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn PMPI_Reduce_scatter_block_init(sendbuf: *const c_void, recvbuf: *mut c_void, recvcount: c_int, datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm, _info: MPI_Info, request: *mut MPI_Request) -> c_int {
    rs_block(sendbuf, recvbuf, recvcount.into(), datatype, op, comm, "MPI_Reduce_scatter_block_init", Some(CollMode::Persistent), request)
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn PMPI_Reduce_scatter_block_c(sendbuf: *const c_void, recvbuf: *mut c_void, recvcount: MPI_Count, datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm) -> c_int {
    rs_block(sendbuf, recvbuf, recvcount, datatype, op, comm, "MPI_Reduce_scatter_block", None, std::ptr::null_mut())
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn PMPI_Ireduce_scatter_block_c(sendbuf: *const c_void, recvbuf: *mut c_void, recvcount: MPI_Count, datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm, request: *mut MPI_Request) -> c_int {
    rs_block(sendbuf, recvbuf, recvcount, datatype, op, comm, "MPI_Ireduce_scatter_block", Some(CollMode::Nonblocking), request)
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn PMPI_Reduce_scatter_block_init_c(sendbuf: *const c_void, recvbuf: *mut c_void, recvcount: MPI_Count, datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm, _info: MPI_Info, request: *mut MPI_Request) -> c_int {
    rs_block(sendbuf, recvbuf, recvcount, datatype, op, comm, "MPI_Reduce_scatter_block_init", Some(CollMode::Persistent), request)
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn PMPI_Reduce_scatter(sendbuf: *const c_void, recvbuf: *mut c_void, recvcounts: *const c_int, datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm) -> c_int {
    rs(sendbuf, recvbuf, recvcounts, MPI_Count::from, datatype, op, comm, "MPI_Reduce_scatter", None, std::ptr::null_mut())
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn PMPI_Ireduce_scatter(sendbuf: *const c_void, recvbuf: *mut c_void, recvcounts: *const c_int, datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm, request: *mut MPI_Request) -> c_int {
    rs(sendbuf, recvbuf, recvcounts, MPI_Count::from, datatype, op, comm, "MPI_Ireduce_scatter", Some(CollMode::Nonblocking), request)
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn PMPI_Reduce_scatter_init(sendbuf: *const c_void, recvbuf: *mut c_void, recvcounts: *const c_int, datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm, _info: MPI_Info, request: *mut MPI_Request) -> c_int {
    rs(sendbuf, recvbuf, recvcounts, MPI_Count::from, datatype, op, comm, "MPI_Reduce_scatter_init", Some(CollMode::Persistent), request)
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn PMPI_Reduce_scatter_c(sendbuf: *const c_void, recvbuf: *mut c_void, recvcounts: *const MPI_Count, datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm) -> c_int {
    rs(sendbuf, recvbuf, recvcounts, |n| n, datatype, op, comm, "MPI_Reduce_scatter", None, std::ptr::null_mut())
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn PMPI_Ireduce_scatter_c(sendbuf: *const c_void, recvbuf: *mut c_void, recvcounts: *const MPI_Count, datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm, request: *mut MPI_Request) -> c_int {
    rs(sendbuf, recvbuf, recvcounts, |n| n, datatype, op, comm, "MPI_Ireduce_scatter", Some(CollMode::Nonblocking), request)
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn PMPI_Reduce_scatter_init_c(sendbuf: *const c_void, recvbuf: *mut c_void, recvcounts: *const MPI_Count, datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm, _info: MPI_Info, request: *mut MPI_Request) -> c_int {
    rs(sendbuf, recvbuf, recvcounts, |n| n, datatype, op, comm, "MPI_Reduce_scatter_init", Some(CollMode::Persistent), request)
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn PMPI_Scan(sendbuf: *const c_void, recvbuf: *mut c_void, count: c_int, datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm) -> c_int {
    scan(sendbuf, recvbuf, count.into(), datatype, op, comm, false, "MPI_Scan", None, std::ptr::null_mut())
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn PMPI_Iscan(sendbuf: *const c_void, recvbuf: *mut c_void, count: c_int, datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm, request: *mut MPI_Request) -> c_int {
    scan(sendbuf, recvbuf, count.into(), datatype, op, comm, false, "MPI_Iscan", Some(CollMode::Nonblocking), request)
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn PMPI_Scan_init(sendbuf: *const c_void, recvbuf: *mut c_void, count: c_int, datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm, _info: MPI_Info, request: *mut MPI_Request) -> c_int {
    scan(sendbuf, recvbuf, count.into(), datatype, op, comm, false, "MPI_Scan_init", Some(CollMode::Persistent), request)
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn PMPI_Scan_c(sendbuf: *const c_void, recvbuf: *mut c_void, count: MPI_Count, datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm) -> c_int {
    scan(sendbuf, recvbuf, count, datatype, op, comm, false, "MPI_Scan", None, std::ptr::null_mut())
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn PMPI_Iscan_c(sendbuf: *const c_void, recvbuf: *mut c_void, count: MPI_Count, datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm, request: *mut MPI_Request) -> c_int {
    scan(sendbuf, recvbuf, count, datatype, op, comm, false, "MPI_Iscan", Some(CollMode::Nonblocking), request)
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn PMPI_Scan_init_c(sendbuf: *const c_void, recvbuf: *mut c_void, count: MPI_Count, datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm, _info: MPI_Info, request: *mut MPI_Request) -> c_int {
    scan(sendbuf, recvbuf, count, datatype, op, comm, false, "MPI_Scan_init", Some(CollMode::Persistent), request)
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn PMPI_Exscan(sendbuf: *const c_void, recvbuf: *mut c_void, count: c_int, datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm) -> c_int {
    scan(sendbuf, recvbuf, count.into(), datatype, op, comm, true, "MPI_Exscan", None, std::ptr::null_mut())
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn PMPI_Iexscan(sendbuf: *const c_void, recvbuf: *mut c_void, count: c_int, datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm, request: *mut MPI_Request) -> c_int {
    scan(sendbuf, recvbuf, count.into(), datatype, op, comm, true, "MPI_Iexscan", Some(CollMode::Nonblocking), request)
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn PMPI_Exscan_init(sendbuf: *const c_void, recvbuf: *mut c_void, count: c_int, datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm, _info: MPI_Info, request: *mut MPI_Request) -> c_int {
    scan(sendbuf, recvbuf, count.into(), datatype, op, comm, true, "MPI_Exscan_init", Some(CollMode::Persistent), request)
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn PMPI_Exscan_c(sendbuf: *const c_void, recvbuf: *mut c_void, count: MPI_Count, datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm) -> c_int {
    scan(sendbuf, recvbuf, count, datatype, op, comm, true, "MPI_Exscan", None, std::ptr::null_mut())
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn PMPI_Iexscan_c(sendbuf: *const c_void, recvbuf: *mut c_void, count: MPI_Count, datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm, request: *mut MPI_Request) -> c_int {
    scan(sendbuf, recvbuf, count, datatype, op, comm, true, "MPI_Iexscan", Some(CollMode::Nonblocking), request)
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn PMPI_Exscan_init_c(sendbuf: *const c_void, recvbuf: *mut c_void, count: MPI_Count, datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm, _info: MPI_Info, request: *mut MPI_Request) -> c_int {
    scan(sendbuf, recvbuf, count, datatype, op, comm, true, "MPI_Exscan_init", Some(CollMode::Persistent), request)
}
