//! User-defined reduction operations (`MPI_Op_create`, `MPI_Op_create_c`, `MPI_Op_free`,
//! `MPI_Op_commutative`) and `MPI_Reduce_local`.
//!
//! A created operation is the application's C function and its commutativity, in a slab; the
//! handle is the slab's generation-checked token, so it is never in the predefined range and a
//! freed or stale handle is `MPI_ERR_OP` rather than a newer operation. The slab holds each
//! operation behind an `Arc`: a call clones it and releases the lock before calling the
//! function, which may itself call MPI (even `MPI_Op_free` on its own handle).
//!
//! The engine never sees C types: for each call the operation is bound to the call's datatype
//! handle ([`Bound`], an `mpi_core::op::UserFunction`), and the engine's `op::apply` calls it
//! on operands in the datatype's memory layout. The function gets the handle the application
//! passed, derived or predefined, as the standard requires.
//!
//! Predefined operations on derived datatypes apply element by element when the signature is
//! one predefined type (or, for MAXLOC/MINLOC, a repetition of one pair type), as the
//! collectives do (`coll::reduction_kind`): the operands are the types' packed streams,
//! staged in copies when the type has gaps.
//!
//! None of these functions needs the engine, so they work before `MPI_Init` and after
//! `MPI_Finalize` as well; their errors are raised on `MPI_COMM_SELF`. The reducing
//! collectives take an operation bound here ([`reduction`]).

use std::ffi::c_void;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use mpi_core::error::{fail, ErrorClass, Result};
use mpi_core::op::{apply, Op, UserFunction};
use mpi_core::schedule::Reduction;
use mpi_core::slab::{Id, Slab};
use mpi_core::typemap::TypeMap;

use crate::coll::{reduction_kind, Staged};
use crate::errors::api;
use crate::generated::consts::*;
use crate::generated::types::*;
use crate::{handles, out};

/// The application's function, in the form it was created with.
#[derive(Clone, Copy)]
enum CFunc {
    Int(unsafe extern "C" fn(*mut c_void, *mut c_void, *mut c_int, *mut MPI_Datatype)),
    Big(unsafe extern "C" fn(*mut c_void, *mut c_void, *mut MPI_Count, *mut MPI_Datatype)),
}

struct UserOp {
    func: CFunc,
    commutative: bool,
}

static OPS: LazyLock<Mutex<Slab<Arc<UserOp>>>> = LazyLock::new(Default::default);

fn ops() -> MutexGuard<'static, Slab<Arc<UserOp>>> {
    OPS.lock().unwrap_or_else(|p| p.into_inner())
}

/// The created operation behind `h`, or `None` when `h` is not one (predefined, null, freed,
/// or never made).
fn user_op(h: MPI_Op) -> Option<Arc<UserOp>> {
    if h.0 < 4096 {
        return None;
    }
    ops().get(Id::from_token(h.0 as u64)).cloned()
}

/// Whether `h` is a live created operation (for `handles::op`'s error message).
pub(crate) fn is_user_op(h: MPI_Op) -> bool {
    user_op(h).is_some()
}

fn invalid(h: MPI_Op) -> mpi_core::error::MpiError {
    let what = if h == MPI_OP_NULL { "MPI_OP_NULL is not a valid operation here".to_string() } else { format!("invalid operation handle {:#x}", h.0) };
    mpi_core::error::MpiError::new(ErrorClass::Op, what)
}

/// A created operation bound to one call's datatype: what the engine calls.
struct Bound {
    func: CFunc,
    datatype: MPI_Datatype,
    map: Arc<TypeMap>,
}

impl UserFunction for Bound {
    fn call(&self, inout: &mut [u8], input: &[u8], count: usize) -> Result<()> {
        let (lo, len) = self.map.data_span(count)?;
        if inout.len() != len || input.len() != len {
            return fail(ErrorClass::Intern, format!("user operation given {} and {} bytes for a span of {len}", inout.len(), input.len()));
        }
        // The slices start at the first byte of data; the function wants the buffer addresses.
        let mut io = inout.as_mut_ptr().wrapping_offset(-lo);
        let mut inp = input.as_ptr().wrapping_offset(-lo) as *mut u8;
        // A copy of the handle: the function gets a pointer it may write through.
        let mut dt = self.datatype;
        match self.func {
            CFunc::Big(f) => {
                let mut n = count as MPI_Count;
                // SAFETY: both pointers address `count` elements of `datatype` (the slices cover
                // their span), which is what the standard passes to a user function.
                unsafe { f(inp as *mut c_void, io as *mut c_void, &mut n, &mut dt) };
            }
            CFunc::Int(f) => {
                // An `int` length holds at most INT_MAX elements: larger counts go in pieces,
                // which is valid since the function applies element by element.
                let mut left = count;
                while left > 0 {
                    let piece = left.min(c_int::MAX as usize);
                    let mut n = piece as c_int;
                    // SAFETY: as above, for the `piece` elements from these addresses on.
                    unsafe { f(inp as *mut c_void, io as *mut c_void, &mut n, &mut dt) };
                    let step = (piece as isize).wrapping_mul(self.map.extent() as isize);
                    io = io.wrapping_offset(step);
                    inp = inp.wrapping_offset(step);
                    left -= piece;
                }
            }
        }
        Ok(())
    }

    fn span(&self, count: usize) -> Result<usize> {
        Ok(self.map.data_span(count)?.1)
    }
}

/// The type map of a datatype a reduction can take: valid and, when derived, committed.
fn committed_map(d: MPI_Datatype) -> Result<Arc<TypeMap>> {
    if handles::is_predefined(d) {
        handles::datatype(d)?;
        return handles::type_map(d);
    }
    match crate::typector::lookup(d) {
        Some((map, true)) => Ok(map),
        Some((_, false)) => fail(ErrorClass::Type, format!("datatype {:#x} is not committed", d.0)),
        None => fail(ErrorClass::Type, format!("invalid datatype handle {:#x}", d.0)),
    }
}

/// `op` bound to `datatype` for one call: a predefined operation on the datatype's element
/// kind, or a created one calling the application's function with `datatype`.
pub(crate) fn bind(op: MPI_Op, datatype: MPI_Datatype) -> Result<Op> {
    if let Some(u) = user_op(op) {
        let map = committed_map(datatype)?;
        return Ok(Op::User { func: Arc::new(Bound { func: u.func, datatype, map }), commutative: u.commutative });
    }
    if op.0 >= 4096 || op == MPI_OP_NULL {
        return Err(invalid(op));
    }
    let builtin = handles::op(op)?;
    Op::builtin(builtin, reduction_kind(datatype, builtin)?)
}

/// `op` bound to `datatype` for a reducing collective on `count` elements.
pub(crate) fn reduction(op: MPI_Op, datatype: MPI_Datatype, count: MPI_Count) -> Result<Reduction> {
    if count < 0 {
        return fail(ErrorClass::Count, format!("negative count {count}"));
    }
    Ok(Reduction { op: bind(op, datatype)?, count: count as usize })
}

fn create(func: CFunc, commute: c_int, op: *mut MPI_Op) -> Result<()> {
    if op.is_null() {
        return fail(ErrorClass::Arg, "null output argument");
    }
    let id = ops().insert(Arc::new(UserOp { func, commutative: commute != 0 }));
    // SAFETY: checked non-null above; the application passes a pointer to an MPI_Op.
    unsafe { out(op, MPI_Op(id.token() as usize)) }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Op_create(user_fn: MPI_User_function, commute: c_int, op: *mut MPI_Op) -> c_int {
    api(MPI_COMM_SELF, "MPI_Op_create", || match user_fn {
        Some(f) => create(CFunc::Int(f), commute, op),
        None => fail(ErrorClass::Arg, "null user function"),
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Op_create_c(user_fn: MPI_User_function_c, commute: c_int, op: *mut MPI_Op) -> c_int {
    api(MPI_COMM_SELF, "MPI_Op_create_c", || match user_fn {
        Some(f) => create(CFunc::Big(f), commute, op),
        None => fail(ErrorClass::Arg, "null user function"),
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Op_free(op: *mut MPI_Op) -> c_int {
    api(MPI_COMM_SELF, "MPI_Op_free", || {
        if op.is_null() {
            return fail(ErrorClass::Arg, "null operation argument");
        }
        // SAFETY: non-null, and the application passes a pointer to an MPI_Op.
        let h = unsafe { op.read() };
        if h != MPI_OP_NULL && handles::op(h).is_ok() {
            return fail(ErrorClass::Op, format!("{} is predefined and cannot be freed", handles::op(h)?.name()));
        }
        // An operation in use by a call in progress stays alive through that call's `Arc`.
        if h.0 < 4096 || ops().remove(Id::from_token(h.0 as u64)).is_none() {
            return Err(invalid(h));
        }
        out(op, MPI_OP_NULL)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Op_commutative(op: MPI_Op, commute: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Op_commutative", || {
        let commutative = match user_op(op) {
            Some(u) => u.commutative,
            None if op.0 < 4096 && op != MPI_OP_NULL => handles::op(op).map_err(|_| invalid(op))?.is_commutative(),
            None => return Err(invalid(op)),
        };
        out(commute, c_int::from(commutative))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Reduce_local_c(inbuf: *const c_void, inoutbuf: *mut c_void, count: MPI_Count, datatype: MPI_Datatype, op: MPI_Op) -> c_int {
    api(MPI_COMM_SELF, "MPI_Reduce_local", || {
        if count < 0 {
            return fail(ErrorClass::Count, format!("negative count {count}"));
        }
        let op = bind(op, datatype)?;
        let (lo, len) = committed_map(datatype)?.data_span(count as usize)?;
        if len > 0 {
            if inbuf.is_null() || inoutbuf.is_null() {
                return fail(ErrorClass::Buffer, format!("null buffer for {count} elements"));
            }
            // The operands must not overlap (the engine holds them as two slices at once).
            let (a, b) = ((inbuf as usize).wrapping_add_signed(lo), (inoutbuf as usize).wrapping_add_signed(lo));
            if a < b + len && b < a + len {
                return fail(ErrorClass::Buffer, "inbuf and inoutbuf overlap");
            }
        }
        match &op {
            Op::Builtin { kind, .. } => {
                let input = Staged::new(inbuf, count, datatype, true)?;
                let mut inout = Staged::new(inoutbuf, count, datatype, true)?;
                let elements = inout.bytes().len() / kind.size();
                apply(&op, inout.bytes_mut(), input.bytes(), elements)?;
                inout.done();
                Ok(())
            }
            Op::User { .. } => {
                if len == 0 {
                    return apply(&op, &mut [], &[], count as usize);
                }
                // SAFETY: the application keeps `count` elements of `datatype` at each buffer,
                // whose data lies in these `len` bytes; the two ranges do not overlap (checked).
                let (input, inout) = unsafe {
                    (
                        std::slice::from_raw_parts((inbuf as *const u8).wrapping_offset(lo), len),
                        std::slice::from_raw_parts_mut((inoutbuf as *mut u8).wrapping_offset(lo), len),
                    )
                };
                apply(&op, inout, input, count as usize)
            }
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Reduce_local(inbuf: *const c_void, inoutbuf: *mut c_void, count: c_int, datatype: MPI_Datatype, op: MPI_Op) -> c_int {
    PMPI_Reduce_local_c(inbuf, inoutbuf, count.into(), datatype, op)
}
