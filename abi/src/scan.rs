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
use mpi_core::engine::Request;
use mpi_core::error::{fail, ErrorClass, Result};
use mpi_core::op::Op;

use crate::coll::{call, in_place, Form, Widen};
use crate::generated::types::*;
use crate::handles;
use crate::p2p::comm_buf;



/// The buffers and byte blocks of a reduce-scatter whose rank i gets `counts[i]` elements.
fn reduce_scatter_counts(
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

/// `MPI_Reduce_scatter_block` in the form asked for (entry points: `generated/collectives.rs`).
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn reduce_scatter_block(
    sendbuf: *const c_void, recvbuf: *mut c_void, recvcount: MPI_Count, datatype: MPI_Datatype,
    op: MPI_Op, comm: MPI_Comm, name: &'static str, form: Form, request: *mut MPI_Request,
) -> c_int {
    call(comm, name, form, request, |form| {
        let size = crate::engine()?.comm_size(handles::comm(comm)?)?;
        reduce_scatter_counts(sendbuf, recvbuf, &vec![recvcount; size], datatype, op, comm, form)
    })
}

/// `MPI_Reduce_scatter` in the form asked for.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn reduce_scatter<C: Widen>(
    sendbuf: *const c_void, recvbuf: *mut c_void, recvcounts: *const C, datatype: MPI_Datatype,
    op: MPI_Op, comm: MPI_Comm, name: &'static str, form: Form, request: *mut MPI_Request,
) -> c_int {
    call(comm, name, form, request, |form| {
        let size = crate::engine()?.comm_size(handles::comm(comm)?)?;
        if recvcounts.is_null() && size > 0 {
            return fail(ErrorClass::Arg, "null recvcounts argument");
        }
        // SAFETY: the standard makes recvcounts an array of the group's size.
        let counts: Vec<MPI_Count> = (0..size).map(|i| unsafe { *recvcounts.add(i) }.widen()).collect();
        reduce_scatter_counts(sendbuf, recvbuf, &counts, datatype, op, comm, form)
    })
}

/// Scan or exscan.
#[allow(clippy::too_many_arguments)]
unsafe fn prefix(
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

/// `MPI_Scan` in the form asked for.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn scan(
    sendbuf: *const c_void, recvbuf: *mut c_void, count: MPI_Count, datatype: MPI_Datatype,
    op: MPI_Op, comm: MPI_Comm, name: &'static str, form: Form, request: *mut MPI_Request,
) -> c_int {
    prefix(sendbuf, recvbuf, count, datatype, op, comm, false, name, form, request)
}

/// `MPI_Exscan` in the form asked for.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn exscan(
    sendbuf: *const c_void, recvbuf: *mut c_void, count: MPI_Count, datatype: MPI_Datatype,
    op: MPI_Op, comm: MPI_Comm, name: &'static str, form: Form, request: *mut MPI_Request,
) -> c_int {
    prefix(sendbuf, recvbuf, count, datatype, op, comm, true, name, form, request)
}
