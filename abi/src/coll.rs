//! Collectives: Barrier, Bcast, Reduce, Allreduce, and what every collective shares.
//!
//! Each collective has one function here or in `gather.rs`, `gatherv.rs`, `scan.rs`,
//! `topo.rs` that serves all its forms: blocking, nonblocking (`MPI_Ibarrier`, ...) and
//! persistent (`MPI_Barrier_init`, ...), each with `int` counts and as `_c`. Their C entry
//! points are generated (`generated/collectives.rs`, from the table `COLLECTIVES` in
//! abi/gen/generate.py): each passes the `_c` form's arguments (an `int` count widened, an
//! array as it is, read through [`Widen`]), its MPI name, its [`Form`] and its request pointer.
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

/// `MPI_Barrier` in the form asked for (the entry points: `generated/collectives.rs`).
pub(crate) unsafe fn barrier(comm: MPI_Comm, name: &'static str, form: Form, request: *mut MPI_Request) -> c_int {
    call(comm, name, form, request, |form| {
        let e = crate::engine()?;
        let c = handles::comm(comm)?;
        match form {
            None => e.barrier(c).map(|()| None),
            Some(mode) => e.ibarrier(c, mode).map(Some),
        }
    })
}

/// `MPI_Bcast` in the form asked for. The blocking form stages its buffer (module doc).
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn bcast(
    buffer: *mut c_void, count: MPI_Count, datatype: MPI_Datatype, root: c_int, comm: MPI_Comm,
    name: &'static str, form: Form, request: *mut MPI_Request,
) -> c_int {
    call(comm, name, form, request, |form| {
        let e = crate::engine()?;
        let c = handles::comm(comm)?;
        let Some(mode) = form else {
            // On an intercommunicator the root passes MPI_ROOT, and MPI_PROC_NULL receives nothing.
            let (is_root, takes_part) = e.root_role(c, root)?;
            let mut buf = Staged::new(buffer, count, datatype, is_root)?;
            e.bcast(c, buf.bytes_mut(), root)?;
            if takes_part && !is_root {
                buf.done();
            }
            return Ok(None);
        };
        e.ibcast(c, comm_buf(buffer, count, datatype)?, root, mode).map(Some)
    })
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

/// `MPI_Reduce` in the form asked for.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn reduce(
    sendbuf: *const c_void, recvbuf: *mut c_void, count: MPI_Count, datatype: MPI_Datatype,
    op: MPI_Op, root: c_int, comm: MPI_Comm, name: &'static str, form: Form, request: *mut MPI_Request,
) -> c_int {
    reduction(sendbuf, recvbuf, count, datatype, op, Some(root), comm, name, form, request)
}

/// `MPI_Allreduce` in the form asked for.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn allreduce(
    sendbuf: *const c_void, recvbuf: *mut c_void, count: MPI_Count, datatype: MPI_Datatype,
    op: MPI_Op, comm: MPI_Comm, name: &'static str, form: Form, request: *mut MPI_Request,
) -> c_int {
    reduction(sendbuf, recvbuf, count, datatype, op, None, comm, name, form, request)
}

// ---- what every form of every collective shares ----------------------------------------------

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
/// persistent one storing its request at `request` (which must not be null).
pub(crate) unsafe fn call(
    comm: MPI_Comm,
    name: &'static str,
    form: Form,
    request: *mut MPI_Request,
    f: impl FnOnce(Form) -> Result<Option<Request>>,
) -> c_int {
    api(comm, name, || {
        let Some(mode) = form else { return f(None).map(drop) };
        if request.is_null() {
            return fail(ErrorClass::Arg, "null request argument");
        }
        let Some(r) = f(Some(mode))? else { return fail(ErrorClass::Intern, "collective made no request") };
        // SAFETY: the application passes a valid request pointer (checked non-null).
        unsafe { out(request, handles::request_handle(r)) }
    })
}

/// An element of a count or displacement array: `int` in the plain forms, `MPI_Count` and
/// `MPI_Aint` in the `_c` forms (and `MPI_Aint` for alltoallw's displacements in both).
pub(crate) trait Widen: Copy {
    fn widen(self) -> i64;
}

impl Widen for c_int {
    fn widen(self) -> i64 {
        self.into()
    }
}

impl Widen for MPI_Count {
    fn widen(self) -> i64 {
        self
    }
}

impl Widen for MPI_Aint {
    fn widen(self) -> i64 {
        self as i64
    }
}
