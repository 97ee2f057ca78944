//! Collectives: Barrier, Bcast, Reduce, Allreduce, their nonblocking (`MPI_Ibarrier`, ...)
//! and persistent (`MPI_Barrier_init`, ...) forms (issue 5 brings the rest).
//!
//! Blocking `MPI_Bcast` stages its buffer here, as below. The reductions, in every form, and
//! the nonblocking and persistent bcast hand the engine the buffers as they are (`Buf`): the
//! engine's schedule packs a scattered buffer into its own scratch memory when it starts and
//! unpacks it when it ends (`schedule.rs`), or, for a user-defined operation, copies the
//! memory span the function reads and stores the result back through the type map. The info
//! argument of the `_init` forms carries hints only; none is used.
//!
//! A staged buffer is one byte range: the packed stream of the data, used where it lies when
//! the type has no gaps, else packed into a copy before the call and unpacked after it.

use std::ffi::c_void;

use mpi_core::buffer::{Buf, UserBuf};
use mpi_core::datatype::Kind;
use mpi_core::op::BuiltinOp;
use mpi_core::typemap::Basic;
use mpi_core::engine::{CollMode, Request};
use mpi_core::error::{fail, ErrorClass, Result};

use crate::errors::api;
use crate::generated::consts::*;
use crate::generated::types::*;
use crate::{handles, out};
use crate::p2p::comm_buf;

/// The element kind of a predefined operation's datatype: a predefined type's own, or for a
/// derived type the one predefined type its signature consists of (reductions apply element
/// by element); for MAXLOC and MINLOC, the pair type a derived type's signature repeats
/// (`MPI_Type_contiguous(n, MPI_DOUBLE_INT)`). Unsupported optional types cannot be reduced.
pub(crate) fn reduction_kind(datatype: MPI_Datatype, op: BuiltinOp) -> Result<Kind> {
    if !handles::is_predefined(datatype) {
        let map = handles::type_map(datatype)?;
        if matches!(op, BuiltinOp::Maxloc | BuiltinOp::Minloc) {
            if let Some(pair) = pair_kind(map.signature()) {
                return Ok(pair);
            }
        }
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

/// The MAXLOC/MINLOC pair kind whose (value, index) pairs make up a signature, if any. Pairs
/// of `int`s merge into one run of `int`s (`MPI_2INT`): an even number of them counts.
fn pair_kind(sig: &[(Basic, usize)]) -> Option<Kind> {
    if sig.iter().all(|(b, _)| b.kind == Kind::I32) {
        let ints: usize = sig.iter().map(|&(_, n)| n).sum();
        return (ints > 0 && ints.is_multiple_of(2)).then_some(Kind::TwoInt);
    }
    let value = sig.first()?.0.kind;
    let pair = match value {
        Kind::F32 => Kind::FloatInt,
        Kind::F64 => Kind::DoubleInt,
        Kind::I64 => Kind::LongInt,
        Kind::I16 => Kind::ShortInt,
        Kind::LongDouble => Kind::LongDoubleInt,
        _ => return None,
    };
    let pairs = sig.chunks(2).all(|c| matches!(c, [(v, 1), (i, 1)] if v.kind == value && i.kind == Kind::I32));
    pairs.then_some(pair)
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

/// Reduce (`root: Some`) or allreduce in the form asked for. On an intercommunicator only
/// the other group contributes to a reduce (the root passes `MPI_ROOT`, its group partners
/// `MPI_PROC_NULL`, neither contributing).
#[allow(clippy::too_many_arguments)]
unsafe fn reduction(
    sendbuf: *const c_void, recvbuf: *mut c_void, count: MPI_Count, datatype: MPI_Datatype,
    op: MPI_Op, root: Option<c_int>, comm: MPI_Comm, name: &'static str, form: Form, request: *mut MPI_Request,
) -> c_int {
    call(comm, name, form, request, |form| {
        let e = crate::engine()?;
        let c = handles::comm(comm)?;
        let (is_root, contributes) = match root {
            Some(root) => e.root_role(c, root)?,
            None => (true, true),
        };
        let red = if is_root || contributes {
            crate::op::reduction(op, datatype, count)?
        } else {
            // MPI_PROC_NULL in an intercommunicator's reduce: only `root` is significant
            // (MPI-4.1 6.9.1), so the op and datatype are not checked (mpi4py passes MPI_SUM
            // on 0 MPI_BYTEs there). The call still goes through the engine, which numbers
            // it like every collective on the communicator; this reduction is never applied.
            mpi_core::schedule::Reduction { op: mpi_core::op::Op::Builtin { op: BuiltinOp::Band, kind: Kind::Byte }, count: 0 }
        };
        let in_place = in_place(sendbuf);
        if in_place && !is_root {
            return fail(ErrorClass::Buffer, "MPI_IN_PLACE is only valid at the root of MPI_Reduce");
        }
        // The receive buffer matters only at the root.
        let recv = if is_root { comm_buf(recvbuf, count, datatype)? } else { Buf::Contig(UserBuf::EMPTY) };
        let send = if in_place || !contributes { None } else { Some(comm_buf(sendbuf, count, datatype)?) };
        match root {
            Some(root) => e.reduce(c, send, recv, red, root, form),
            None => e.allreduce(c, send, recv, red, form),
        }
    })
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
    reduction(sendbuf, recvbuf, count, datatype, op, Some(root), comm, "MPI_Reduce", None, std::ptr::null_mut())
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
    reduction(sendbuf, recvbuf, count, datatype, op, None, comm, "MPI_Allreduce", None, std::ptr::null_mut())
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

// ---- nonblocking and persistent forms ---------------------------------------------------------

/// Which form of a collective: blocking (`None`), or the mode of its request.
pub(crate) type Form = Option<CollMode>;

/// The number of blocks of a gather-like collective's buffer: one per rank of the remote
/// group on an intercommunicator, of the group otherwise.
pub(crate) fn peers(c: mpi_core::engine::CommId) -> Result<usize> {
    let e = crate::engine()?;
    if e.comm_is_inter(c)? {
        e.comm_remote_size(c)
    } else {
        e.comm_size(c)
    }
}

/// Whether a buffer argument is `MPI_IN_PLACE`.
pub(crate) fn in_place(p: *const c_void) -> bool {
    std::ptr::eq(p, MPI_IN_PLACE)
}

/// Runs a collective in the form asked for: a blocking one in `api`, a nonblocking or
/// persistent one through `coll_request`.
pub(crate) unsafe fn call(
    comm: MPI_Comm,
    name: &'static str,
    form: Form,
    request: *mut MPI_Request,
    f: impl FnOnce(Form) -> Result<Option<Request>>,
) -> c_int {
    match form {
        None => api(comm, name, || f(None).map(drop)),
        Some(mode) => coll_request(comm, name, request, || match f(Some(mode))? {
            Some(r) => Ok(r),
            None => fail(ErrorClass::Intern, "collective made no request"),
        }),
    }
}

/// Stores the request of a nonblocking or persistent collective made by `start`.
pub(crate) unsafe fn coll_request(comm: MPI_Comm, name: &'static str, request: *mut MPI_Request, start: impl FnOnce() -> Result<Request>) -> c_int {
    api(comm, name, || {
        if request.is_null() {
            return fail(ErrorClass::Arg, "null request argument");
        }
        let r = start()?;
        // SAFETY: the application passes a valid request pointer (checked non-null).
        unsafe { out(request, handles::request_handle(r)) }
    })
}

unsafe fn ibarrier(comm: MPI_Comm, name: &'static str, mode: CollMode, request: *mut MPI_Request) -> c_int {
    coll_request(comm, name, request, || crate::engine()?.ibarrier(handles::comm(comm)?, mode))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Ibarrier(comm: MPI_Comm, request: *mut MPI_Request) -> c_int {
    ibarrier(comm, "MPI_Ibarrier", CollMode::Nonblocking, request)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Barrier_init(comm: MPI_Comm, _info: MPI_Info, request: *mut MPI_Request) -> c_int {
    ibarrier(comm, "MPI_Barrier_init", CollMode::Persistent, request)
}

#[allow(clippy::too_many_arguments)]
unsafe fn ibcast(
    buffer: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
    name: &'static str,
    mode: CollMode,
    request: *mut MPI_Request,
) -> c_int {
    coll_request(comm, name, request, || {
        let e = crate::engine()?;
        e.ibcast(handles::comm(comm)?, comm_buf(buffer, count, datatype)?, root, mode)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Ibcast_c(buffer: *mut c_void, count: MPI_Count, datatype: MPI_Datatype, root: c_int, comm: MPI_Comm, request: *mut MPI_Request) -> c_int {
    ibcast(buffer, count, datatype, root, comm, "MPI_Ibcast", CollMode::Nonblocking, request)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Ibcast(buffer: *mut c_void, count: c_int, datatype: MPI_Datatype, root: c_int, comm: MPI_Comm, request: *mut MPI_Request) -> c_int {
    ibcast(buffer, count.into(), datatype, root, comm, "MPI_Ibcast", CollMode::Nonblocking, request)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Bcast_init_c(
    buffer: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
    _info: MPI_Info,
    request: *mut MPI_Request,
) -> c_int {
    ibcast(buffer, count, datatype, root, comm, "MPI_Bcast_init", CollMode::Persistent, request)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Bcast_init(
    buffer: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
    _info: MPI_Info,
    request: *mut MPI_Request,
) -> c_int {
    ibcast(buffer, count.into(), datatype, root, comm, "MPI_Bcast_init", CollMode::Persistent, request)
}

#[allow(clippy::too_many_arguments)]
unsafe fn ireduce(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    op: MPI_Op,
    root: c_int,
    comm: MPI_Comm,
    name: &'static str,
    mode: CollMode,
    request: *mut MPI_Request,
) -> c_int {
    reduction(sendbuf, recvbuf, count, datatype, op, Some(root), comm, name, Some(mode), request)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Ireduce_c(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    op: MPI_Op,
    root: c_int,
    comm: MPI_Comm,
    request: *mut MPI_Request,
) -> c_int {
    ireduce(sendbuf, recvbuf, count, datatype, op, root, comm, "MPI_Ireduce", CollMode::Nonblocking, request)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Ireduce(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    op: MPI_Op,
    root: c_int,
    comm: MPI_Comm,
    request: *mut MPI_Request,
) -> c_int {
    ireduce(sendbuf, recvbuf, count.into(), datatype, op, root, comm, "MPI_Ireduce", CollMode::Nonblocking, request)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Reduce_init_c(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    op: MPI_Op,
    root: c_int,
    comm: MPI_Comm,
    _info: MPI_Info,
    request: *mut MPI_Request,
) -> c_int {
    ireduce(sendbuf, recvbuf, count, datatype, op, root, comm, "MPI_Reduce_init", CollMode::Persistent, request)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Reduce_init(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    op: MPI_Op,
    root: c_int,
    comm: MPI_Comm,
    _info: MPI_Info,
    request: *mut MPI_Request,
) -> c_int {
    ireduce(sendbuf, recvbuf, count.into(), datatype, op, root, comm, "MPI_Reduce_init", CollMode::Persistent, request)
}

#[allow(clippy::too_many_arguments)]
unsafe fn iallreduce(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    op: MPI_Op,
    comm: MPI_Comm,
    name: &'static str,
    mode: CollMode,
    request: *mut MPI_Request,
) -> c_int {
    reduction(sendbuf, recvbuf, count, datatype, op, None, comm, name, Some(mode), request)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Iallreduce_c(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    op: MPI_Op,
    comm: MPI_Comm,
    request: *mut MPI_Request,
) -> c_int {
    iallreduce(sendbuf, recvbuf, count, datatype, op, comm, "MPI_Iallreduce", CollMode::Nonblocking, request)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Iallreduce(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    op: MPI_Op,
    comm: MPI_Comm,
    request: *mut MPI_Request,
) -> c_int {
    iallreduce(sendbuf, recvbuf, count.into(), datatype, op, comm, "MPI_Iallreduce", CollMode::Nonblocking, request)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Allreduce_init_c(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    op: MPI_Op,
    comm: MPI_Comm,
    _info: MPI_Info,
    request: *mut MPI_Request,
) -> c_int {
    iallreduce(sendbuf, recvbuf, count, datatype, op, comm, "MPI_Allreduce_init", CollMode::Persistent, request)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Allreduce_init(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    op: MPI_Op,
    comm: MPI_Comm,
    _info: MPI_Info,
    request: *mut MPI_Request,
) -> c_int {
    iallreduce(sendbuf, recvbuf, count.into(), datatype, op, comm, "MPI_Allreduce_init", CollMode::Persistent, request)
}
