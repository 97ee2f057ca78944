//! Windows and one-sided communication (the engine's `window.rs` and `rma.rs`): creation in
//! its four flavors, names, info, groups, the RMA operations and their request forms, and
//! fence and passive-target synchronisation.
//!
//! A window's handle is the engine's token for it. What only the C side needs lives here:
//! its name, its hints, and the values of its predefined attributes at stable addresses
//! (`MPI_Win_get_attr` hands out pointers to them). Errors of creation calls go to the
//! communicator's handler; every other call's to the window's (`errors::api_win`).
//!
//! Derived datatypes are taken as origin, result and target types. Accumulate types must be
//! built of one predefined type (the standard's rule), else `MPI_ERR_TYPE`; user-defined ops
//! are refused (the standard allows only predefined ones). An error a target reports for an
//! operation with a request (`MPI_Rput`, ...) is raised by the completing call (`MPI_Wait`)
//! on `MPI_COMM_WORLD`'s handler, as other requests that name no communicator are.

use std::collections::HashMap;
use std::ffi::{c_char, c_void, CStr};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use mpi_core::buffer::Buf;
use mpi_core::datatype::Kind;
use mpi_core::engine::{Flavor, RmaCall, WinId};
use mpi_core::error::{fail, ErrorClass, Result};
use mpi_core::info::Info;
use mpi_core::op::BuiltinOp;
use mpi_core::rma::{LockType, OpKind};
use mpi_core::typemap::TypeMap;

use crate::comm::check_out;
use crate::errors::{api, api_win, forget_win};
use crate::generated::consts::*;
use crate::generated::types::*;
use crate::p2p::comm_buf;
use crate::{engine, handles, out, read, write_c_string};

/// The values `MPI_Win_get_attr` points to for the predefined window attributes.
pub(crate) struct PredefinedAttrs {
    pub(crate) base: usize,
    pub(crate) size: MPI_Aint,
    pub(crate) disp_unit: c_int,
    pub(crate) flavor: c_int,
    pub(crate) model: c_int,
}

struct Meta {
    name: String,
    hints: Info,
    attrs: Box<PredefinedAttrs>,
}

static WINDOWS: LazyLock<Mutex<HashMap<usize, Meta>>> = LazyLock::new(Default::default);

fn windows() -> MutexGuard<'static, HashMap<usize, Meta>> {
    WINDOWS.lock().unwrap_or_else(|p| p.into_inner())
}

/// The engine's id of a live window (`MPI_ERR_WIN` otherwise).
pub(crate) fn live(win: MPI_Win) -> Result<WinId> {
    if win == MPI_WIN_NULL {
        return fail(ErrorClass::Win, "MPI_WIN_NULL is not a valid window here");
    }
    if win.0 < 4096 || !windows().contains_key(&win.0) {
        return fail(ErrorClass::Win, format!("invalid window handle {:#x}", win.0));
    }
    Ok(WinId(win.0 as u64))
}

/// The address of predefined attribute `keyval`'s value on `win` (the base itself for
/// `MPI_WIN_BASE`), or `None` when `keyval` is not a predefined window attribute.
pub(crate) fn predefined_attr(win: MPI_Win, keyval: c_int) -> Option<usize> {
    let t = windows();
    let a = &t.get(&win.0)?.attrs;
    match keyval {
        MPI_WIN_BASE => Some(a.base),
        MPI_WIN_SIZE => Some(&a.size as *const MPI_Aint as usize),
        MPI_WIN_DISP_UNIT => Some(&a.disp_unit as *const c_int as usize),
        MPI_WIN_CREATE_FLAVOR => Some(&a.flavor as *const c_int as usize),
        MPI_WIN_MODEL => Some(&a.model as *const c_int as usize),
        _ => None,
    }
}

fn check_size(size: MPI_Aint, disp_unit: MPI_Aint) -> Result<(usize, usize)> {
    if size < 0 {
        return fail(ErrorClass::Size, format!("negative window size {size}"));
    }
    if disp_unit <= 0 {
        return fail(ErrorClass::Disp, format!("displacement unit {disp_unit} is not positive"));
    }
    Ok((size as usize, disp_unit as usize))
}

/// Every creation: the window over `comm`, registered with its hints; returns our base.
unsafe fn create(comm: MPI_Comm, base: usize, size: MPI_Aint, disp_unit: MPI_Aint, flavor: Flavor, info: MPI_Info, win: *mut MPI_Win) -> Result<usize> {
    let e = engine()?;
    let c = handles::comm(comm)?;
    let (size, disp_unit) = check_size(size, disp_unit)?;
    let hints = crate::info::info_arg(info)?.unwrap_or_default();
    check_out(win, "win")?;
    if flavor == Flavor::Create && size > 0 && base == 0 {
        return fail(ErrorClass::Base, "null base for a window of nonzero size");
    }
    let (id, base) = e.win_create(c, base, size, disp_unit, flavor)?;
    let flavor_code = match flavor {
        Flavor::Create => MPI_WIN_FLAVOR_CREATE,
        Flavor::Allocate => MPI_WIN_FLAVOR_ALLOCATE,
        Flavor::Shared => MPI_WIN_FLAVOR_SHARED,
        Flavor::Dynamic => MPI_WIN_FLAVOR_DYNAMIC,
    };
    let (size, disp_unit) = if flavor == Flavor::Dynamic { (0, 1) } else { (size as MPI_Aint, disp_unit as c_int) };
    let attrs = Box::new(PredefinedAttrs { base, size, disp_unit, flavor: flavor_code, model: MPI_WIN_UNIFIED });
    let h = MPI_Win(id.0 as usize);
    windows().insert(h.0, Meta { name: String::new(), hints, attrs });
    unsafe { out(win, h)? };
    Ok(base)
}

unsafe fn create_at(base: *mut c_void, size: MPI_Aint, disp_unit: MPI_Aint, info: MPI_Info, comm: MPI_Comm, win: *mut MPI_Win) -> c_int {
    api(comm, "MPI_Win_create", || unsafe { create(comm, base as usize, size, disp_unit, Flavor::Create, info, win).map(|_| ()) })
}

/// `MPI_Win_allocate` and `MPI_Win_allocate_shared`: `baseptr` points to the caller's `void *`.
#[allow(clippy::too_many_arguments)]
unsafe fn allocate(name: &'static str, flavor: Flavor, size: MPI_Aint, disp_unit: MPI_Aint, info: MPI_Info, comm: MPI_Comm, baseptr: *mut c_void, win: *mut MPI_Win) -> c_int {
    api(comm, name, || unsafe {
        check_out(baseptr, "baseptr")?;
        let base = create(comm, 0, size, disp_unit, flavor, info, win)?;
        out(baseptr as *mut usize, base)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_create(base: *mut c_void, size: MPI_Aint, disp_unit: c_int, info: MPI_Info, comm: MPI_Comm, win: *mut MPI_Win) -> c_int {
    unsafe { create_at(base, size, disp_unit as MPI_Aint, info, comm, win) }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_create_c(base: *mut c_void, size: MPI_Aint, disp_unit: MPI_Aint, info: MPI_Info, comm: MPI_Comm, win: *mut MPI_Win) -> c_int {
    unsafe { create_at(base, size, disp_unit, info, comm, win) }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_allocate(size: MPI_Aint, disp_unit: c_int, info: MPI_Info, comm: MPI_Comm, baseptr: *mut c_void, win: *mut MPI_Win) -> c_int {
    unsafe { allocate("MPI_Win_allocate", Flavor::Allocate, size, disp_unit as MPI_Aint, info, comm, baseptr, win) }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_allocate_c(size: MPI_Aint, disp_unit: MPI_Aint, info: MPI_Info, comm: MPI_Comm, baseptr: *mut c_void, win: *mut MPI_Win) -> c_int {
    unsafe { allocate("MPI_Win_allocate_c", Flavor::Allocate, size, disp_unit, info, comm, baseptr, win) }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_allocate_shared(size: MPI_Aint, disp_unit: c_int, info: MPI_Info, comm: MPI_Comm, baseptr: *mut c_void, win: *mut MPI_Win) -> c_int {
    unsafe { allocate("MPI_Win_allocate_shared", Flavor::Shared, size, disp_unit as MPI_Aint, info, comm, baseptr, win) }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_allocate_shared_c(size: MPI_Aint, disp_unit: MPI_Aint, info: MPI_Info, comm: MPI_Comm, baseptr: *mut c_void, win: *mut MPI_Win) -> c_int {
    unsafe { allocate("MPI_Win_allocate_shared_c", Flavor::Shared, size, disp_unit, info, comm, baseptr, win) }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_create_dynamic(info: MPI_Info, comm: MPI_Comm, win: *mut MPI_Win) -> c_int {
    api(comm, "MPI_Win_create_dynamic", || unsafe { create(comm, 0, 0, 1, Flavor::Dynamic, info, win).map(|_| ()) })
}

/// `MPI_Win_shared_query` and its `_c` form: `baseptr` points to the caller's `void *`.
unsafe fn shared_query(name: &'static str, win: MPI_Win, rank: c_int, size: *mut MPI_Aint, baseptr: *mut c_void, unit: impl FnOnce(usize) -> Result<()>) -> c_int {
    api_win(win, name, || unsafe {
        let (s, u, b) = engine()?.win_shared_query(live(win)?, rank)?;
        check_out(baseptr, "baseptr")?;
        out(size, s as MPI_Aint)?;
        unit(u)?;
        out(baseptr as *mut usize, b)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_shared_query(win: MPI_Win, rank: c_int, size: *mut MPI_Aint, disp_unit: *mut c_int, baseptr: *mut c_void) -> c_int {
    unsafe { shared_query("MPI_Win_shared_query", win, rank, size, baseptr, |u| out(disp_unit, u as c_int)) }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_shared_query_c(win: MPI_Win, rank: c_int, size: *mut MPI_Aint, disp_unit: *mut MPI_Aint, baseptr: *mut c_void) -> c_int {
    unsafe { shared_query("MPI_Win_shared_query_c", win, rank, size, baseptr, |u| out(disp_unit, u as MPI_Aint)) }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_attach(win: MPI_Win, base: *mut c_void, size: MPI_Aint) -> c_int {
    api_win(win, "MPI_Win_attach", || {
        let id = live(win)?;
        if size < 0 {
            return fail(ErrorClass::Size, format!("negative size {size}"));
        }
        if size > 0 && base.is_null() {
            return fail(ErrorClass::RmaAttach, "null base");
        }
        engine()?.win_attach(id, base as usize, size as usize)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_detach(win: MPI_Win, base: *const c_void) -> c_int {
    api_win(win, "MPI_Win_detach", || engine()?.win_detach(live(win)?, base as usize))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_free(win: *mut MPI_Win) -> c_int {
    let h = if win.is_null() { MPI_WIN_NULL } else { unsafe { *win } };
    api_win(h, "MPI_Win_free", || unsafe {
        let h = read(win)?;
        let id = live(h)?;
        // Delete callbacks run first; one that fails leaves the window as it is.
        crate::attr::delete_win_attrs(h)?;
        engine()?.win_free(id)?;
        forget_win(h);
        windows().remove(&h.0);
        out(win, MPI_WIN_NULL)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_get_group(win: MPI_Win, group: *mut MPI_Group) -> c_int {
    api_win(win, "MPI_Win_get_group", || {
        let e = engine()?;
        let g = e.comm_group(e.win_comm(live(win)?)?)?;
        check_out(group, "group")?;
        unsafe { out(group, crate::group::group_handle(g)) }
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_set_name(win: MPI_Win, win_name: *const c_char) -> c_int {
    api_win(win, "MPI_Win_set_name", || {
        live(win)?;
        if win_name.is_null() {
            return fail(ErrorClass::Arg, "null win_name argument");
        }
        // SAFETY: a NUL-terminated string, as the standard says.
        let name = unsafe { CStr::from_ptr(win_name) }.to_string_lossy();
        let name: String = name.chars().take(MPI_MAX_OBJECT_NAME as usize - 1).collect();
        if let Some(m) = windows().get_mut(&win.0) {
            m.name = name;
        }
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_get_name(win: MPI_Win, win_name: *mut c_char, resultlen: *mut c_int) -> c_int {
    api_win(win, "MPI_Win_get_name", || {
        // MPI-4.1: a null handle's name is the handle's name (as MPICH answers).
        if win == MPI_WIN_NULL {
            check_out(resultlen, "resultlen")?;
            return unsafe { write_c_string(win_name, resultlen, "MPI_WIN_NULL", MPI_MAX_OBJECT_NAME) };
        }
        live(win)?;
        check_out(resultlen, "resultlen")?;
        let name = windows().get(&win.0).map(|m| m.name.clone()).unwrap_or_default();
        unsafe { write_c_string(win_name, resultlen, &name, MPI_MAX_OBJECT_NAME) }
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_set_info(win: MPI_Win, info: MPI_Info) -> c_int {
    api_win(win, "MPI_Win_set_info", || {
        live(win)?;
        if let Some(new) = crate::info::info_arg(info)? {
            if let Some(m) = windows().get_mut(&win.0) {
                m.hints.merge(&new);
            }
        }
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_get_info(win: MPI_Win, info_used: *mut MPI_Info) -> c_int {
    api_win(win, "MPI_Win_get_info", || {
        live(win)?;
        check_out(info_used, "info_used")?;
        let hints = windows().get(&win.0).map(|m| m.hints.clone()).unwrap_or_default();
        unsafe { out(info_used, crate::info::new_handle(hints)) }
    })
}

// ---- RMA operations --------------------------------------------------------------------

/// The type map of a committed datatype a target is addressed with.
fn target_map(count: MPI_Count, d: MPI_Datatype) -> Result<(usize, Arc<TypeMap>)> {
    if count < 0 {
        return fail(ErrorClass::Count, format!("negative count {count}"));
    }
    let map = if handles::is_predefined(d) {
        handles::type_map(d)?
    } else {
        match crate::typector::lookup(d) {
            Some((map, true)) => map,
            Some((_, false)) => return fail(ErrorClass::Type, format!("datatype {:#x} is not committed", d.0)),
            None => return fail(ErrorClass::Type, format!("invalid datatype handle {:#x}", d.0)),
        }
    };
    Ok((count as usize, map))
}

/// The one predefined type an accumulate datatype is made of. Type maps list a pair type
/// (`MPI_2INT`, ...) as its value and its index, so a signature that alternates a value kind
/// with `int` is taken as that pair type, which MAXLOC and MINLOC need (a derived type of
/// `MPI_2INT` is all `int`s, so it accumulates as `MPI_INT`: MAXLOC on it is `MPI_ERR_OP`).
fn element(d: MPI_Datatype) -> Result<Kind> {
    if handles::is_predefined(d) {
        if let Some(kind) = handles::datatype(d)? {
            return Ok(kind);
        }
    }
    let map = handles::type_map(d)?;
    let sig = map.signature();
    let Some(first) = sig.first().map(|(b, _)| b.kind) else { return Ok(Kind::Byte) };
    if sig.iter().all(|(b, _)| b.kind == first) {
        return Ok(first);
    }
    let pair = match first {
        Kind::F32 => Kind::FloatInt,
        Kind::F64 => Kind::DoubleInt,
        Kind::I64 => Kind::LongInt,
        Kind::I16 => Kind::ShortInt,
        Kind::LongDouble => Kind::LongDoubleInt,
        _ => return fail(ErrorClass::Type, "accumulate datatypes must be built of one predefined datatype"),
    };
    let alternates = sig.iter().enumerate().all(|(i, &(b, n))| n == 1 && b.kind == if i % 2 == 0 { first } else { Kind::I32 });
    if !alternates || sig.len() % 2 != 0 {
        return fail(ErrorClass::Type, "accumulate datatypes must be built of one predefined datatype");
    }
    Ok(pair)
}

/// The op of an accumulate of `count` target elements of `elem`, checked at the origin. With
/// no element nothing is combined, so any predefined op goes (as in MPICH: mpi4py's
/// testGetAccumulate starts with MPI_SUM on 0 MPI_BYTEs).
fn acc_op(op: MPI_Op, elem: Kind, count: MPI_Count) -> Result<BuiltinOp> {
    let op = handles::op(op)?;
    if count > 0 && !matches!(op, BuiltinOp::Replace | BuiltinOp::NoOp) {
        mpi_core::op::check(op, elem)?;
    }
    Ok(op)
}

/// What every RMA call names: its window, target and target memory.
struct Target {
    win: MPI_Win,
    rank: c_int,
    disp: MPI_Aint,
    count: MPI_Count,
    datatype: MPI_Datatype,
}

fn call(kind: OpKind, t: &Target, data: Vec<u8>, result: Option<Buf>, op: BuiltinOp, elem: Kind) -> Result<RmaCall> {
    let (target_count, target_map) = target_map(t.count, t.datatype)?;
    Ok(RmaCall { kind, target: t.rank, disp: t.disp as i64, target_count, target_map, data, result, op, elem })
}

/// Starts `c` on the window; stores a request handle through `request` when one is asked for.
unsafe fn start(t: &Target, c: impl FnOnce() -> Result<RmaCall>, request: Option<*mut MPI_Request>) -> Result<()> {
    let id = live(t.win)?;
    if let Some(r) = request {
        check_out(r, "request")?;
    }
    let r = engine()?.win_rma(id, c()?, request.is_some())?;
    match (request, r) {
        (Some(p), Some(r)) => unsafe { out(p, handles::request_handle(r)) },
        _ => Ok(()),
    }
}

unsafe fn put(name: &'static str, origin: *const c_void, ocount: MPI_Count, otype: MPI_Datatype, t: Target, request: Option<*mut MPI_Request>) -> c_int {
    api_win(t.win, name, || unsafe {
        start(&t, || call(OpKind::Put, &t, comm_buf(origin, ocount, otype)?.to_vec(), None, BuiltinOp::NoOp, Kind::Byte), request)
    })
}

unsafe fn get(name: &'static str, origin: *mut c_void, ocount: MPI_Count, otype: MPI_Datatype, t: Target, request: Option<*mut MPI_Request>) -> c_int {
    api_win(t.win, name, || unsafe {
        start(&t, || call(OpKind::Get, &t, Vec::new(), Some(comm_buf(origin, ocount, otype)?), BuiltinOp::NoOp, Kind::Byte), request)
    })
}

unsafe fn accumulate(name: &'static str, origin: *const c_void, ocount: MPI_Count, otype: MPI_Datatype, t: Target, op: MPI_Op, request: Option<*mut MPI_Request>) -> c_int {
    api_win(t.win, name, || unsafe {
        start(
            &t,
            || {
                let elem = element(t.datatype)?;
                if ocount > 0 && element(otype)? != elem {
                    return fail(ErrorClass::Type, "origin and target datatypes of an accumulate differ in their predefined type");
                }
                let op = acc_op(op, elem, t.count)?;
                call(OpKind::Acc, &t, comm_buf(origin, ocount, otype)?.to_vec(), None, op, elem)
            },
            request,
        )
    })
}

/// `MPI_Get_accumulate` and its forms; the origin is not read for `MPI_NO_OP`.
#[allow(clippy::too_many_arguments)]
unsafe fn get_accumulate(
    name: &'static str,
    origin: *const c_void,
    ocount: MPI_Count,
    otype: MPI_Datatype,
    result: *mut c_void,
    rcount: MPI_Count,
    rtype: MPI_Datatype,
    t: Target,
    op: MPI_Op,
    request: Option<*mut MPI_Request>,
) -> c_int {
    api_win(t.win, name, || unsafe {
        start(
            &t,
            || {
                let elem = element(t.datatype)?;
                let op = acc_op(op, elem, t.count)?;
                let data = if op == BuiltinOp::NoOp {
                    Vec::new()
                } else {
                    if ocount > 0 && element(otype)? != elem {
                        return fail(ErrorClass::Type, "origin and target datatypes of an accumulate differ in their predefined type");
                    }
                    comm_buf(origin, ocount, otype)?.to_vec()
                };
                if rcount > 0 && element(rtype)? != elem {
                    return fail(ErrorClass::Type, "result and target datatypes of an accumulate differ in their predefined type");
                }
                call(OpKind::GetAcc, &t, data, Some(comm_buf(result, rcount, rtype)?), op, elem)
            },
            request,
        )
    })
}

/// A predefined datatype for `MPI_Fetch_and_op` and `MPI_Compare_and_swap` (`MPI_ERR_TYPE`
/// for a derived one).
fn predefined(d: MPI_Datatype) -> Result<Kind> {
    match handles::datatype(d)? {
        Some(k) => Ok(k),
        None => fail(ErrorClass::Type, "datatype not supported"),
    }
}

macro_rules! rma_forms {
    ($pmpi:ident, $pmpi_c:ident, $r:ident, $r_c:ident, $name:literal, $rname:literal, $run:ident, $origin:ty) => {
        #[no_mangle]
        pub unsafe extern "C" fn $pmpi(origin_addr: $origin, origin_count: c_int, origin_datatype: MPI_Datatype, target_rank: c_int, target_disp: MPI_Aint, target_count: c_int, target_datatype: MPI_Datatype, win: MPI_Win) -> c_int {
            let t = Target { win, rank: target_rank, disp: target_disp, count: target_count as MPI_Count, datatype: target_datatype };
            unsafe { $run($name, origin_addr, origin_count as MPI_Count, origin_datatype, t, None) }
        }
        #[no_mangle]
        pub unsafe extern "C" fn $pmpi_c(origin_addr: $origin, origin_count: MPI_Count, origin_datatype: MPI_Datatype, target_rank: c_int, target_disp: MPI_Aint, target_count: MPI_Count, target_datatype: MPI_Datatype, win: MPI_Win) -> c_int {
            let t = Target { win, rank: target_rank, disp: target_disp, count: target_count, datatype: target_datatype };
            unsafe { $run(concat!($name, "_c"), origin_addr, origin_count, origin_datatype, t, None) }
        }
        #[no_mangle]
        pub unsafe extern "C" fn $r(origin_addr: $origin, origin_count: c_int, origin_datatype: MPI_Datatype, target_rank: c_int, target_disp: MPI_Aint, target_count: c_int, target_datatype: MPI_Datatype, win: MPI_Win, request: *mut MPI_Request) -> c_int {
            let t = Target { win, rank: target_rank, disp: target_disp, count: target_count as MPI_Count, datatype: target_datatype };
            unsafe { $run($rname, origin_addr, origin_count as MPI_Count, origin_datatype, t, Some(request)) }
        }
        #[no_mangle]
        pub unsafe extern "C" fn $r_c(origin_addr: $origin, origin_count: MPI_Count, origin_datatype: MPI_Datatype, target_rank: c_int, target_disp: MPI_Aint, target_count: MPI_Count, target_datatype: MPI_Datatype, win: MPI_Win, request: *mut MPI_Request) -> c_int {
            let t = Target { win, rank: target_rank, disp: target_disp, count: target_count, datatype: target_datatype };
            unsafe { $run(concat!($rname, "_c"), origin_addr, origin_count, origin_datatype, t, Some(request)) }
        }
    };
}

// For generate.py, which looks for each function's definition:
// fn PMPI_Put fn PMPI_Put_c fn PMPI_Rput fn PMPI_Rput_c
// fn PMPI_Get fn PMPI_Get_c fn PMPI_Rget fn PMPI_Rget_c
rma_forms!(PMPI_Put, PMPI_Put_c, PMPI_Rput, PMPI_Rput_c, "MPI_Put", "MPI_Rput", put, *const c_void);
rma_forms!(PMPI_Get, PMPI_Get_c, PMPI_Rget, PMPI_Rget_c, "MPI_Get", "MPI_Rget", get, *mut c_void);

#[no_mangle]
pub unsafe extern "C" fn PMPI_Accumulate(origin_addr: *const c_void, origin_count: c_int, origin_datatype: MPI_Datatype, target_rank: c_int, target_disp: MPI_Aint, target_count: c_int, target_datatype: MPI_Datatype, op: MPI_Op, win: MPI_Win) -> c_int {
    let t = Target { win, rank: target_rank, disp: target_disp, count: target_count as MPI_Count, datatype: target_datatype };
    unsafe { accumulate("MPI_Accumulate", origin_addr, origin_count as MPI_Count, origin_datatype, t, op, None) }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Accumulate_c(origin_addr: *const c_void, origin_count: MPI_Count, origin_datatype: MPI_Datatype, target_rank: c_int, target_disp: MPI_Aint, target_count: MPI_Count, target_datatype: MPI_Datatype, op: MPI_Op, win: MPI_Win) -> c_int {
    let t = Target { win, rank: target_rank, disp: target_disp, count: target_count, datatype: target_datatype };
    unsafe { accumulate("MPI_Accumulate_c", origin_addr, origin_count, origin_datatype, t, op, None) }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Raccumulate(origin_addr: *const c_void, origin_count: c_int, origin_datatype: MPI_Datatype, target_rank: c_int, target_disp: MPI_Aint, target_count: c_int, target_datatype: MPI_Datatype, op: MPI_Op, win: MPI_Win, request: *mut MPI_Request) -> c_int {
    let t = Target { win, rank: target_rank, disp: target_disp, count: target_count as MPI_Count, datatype: target_datatype };
    unsafe { accumulate("MPI_Raccumulate", origin_addr, origin_count as MPI_Count, origin_datatype, t, op, Some(request)) }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Raccumulate_c(origin_addr: *const c_void, origin_count: MPI_Count, origin_datatype: MPI_Datatype, target_rank: c_int, target_disp: MPI_Aint, target_count: MPI_Count, target_datatype: MPI_Datatype, op: MPI_Op, win: MPI_Win, request: *mut MPI_Request) -> c_int {
    let t = Target { win, rank: target_rank, disp: target_disp, count: target_count, datatype: target_datatype };
    unsafe { accumulate("MPI_Raccumulate_c", origin_addr, origin_count, origin_datatype, t, op, Some(request)) }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Get_accumulate(origin_addr: *const c_void, origin_count: c_int, origin_datatype: MPI_Datatype, result_addr: *mut c_void, result_count: c_int, result_datatype: MPI_Datatype, target_rank: c_int, target_disp: MPI_Aint, target_count: c_int, target_datatype: MPI_Datatype, op: MPI_Op, win: MPI_Win) -> c_int {
    let t = Target { win, rank: target_rank, disp: target_disp, count: target_count as MPI_Count, datatype: target_datatype };
    unsafe { get_accumulate("MPI_Get_accumulate", origin_addr, origin_count as MPI_Count, origin_datatype, result_addr, result_count as MPI_Count, result_datatype, t, op, None) }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Get_accumulate_c(origin_addr: *const c_void, origin_count: MPI_Count, origin_datatype: MPI_Datatype, result_addr: *mut c_void, result_count: MPI_Count, result_datatype: MPI_Datatype, target_rank: c_int, target_disp: MPI_Aint, target_count: MPI_Count, target_datatype: MPI_Datatype, op: MPI_Op, win: MPI_Win) -> c_int {
    let t = Target { win, rank: target_rank, disp: target_disp, count: target_count, datatype: target_datatype };
    unsafe { get_accumulate("MPI_Get_accumulate_c", origin_addr, origin_count, origin_datatype, result_addr, result_count, result_datatype, t, op, None) }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Rget_accumulate(origin_addr: *const c_void, origin_count: c_int, origin_datatype: MPI_Datatype, result_addr: *mut c_void, result_count: c_int, result_datatype: MPI_Datatype, target_rank: c_int, target_disp: MPI_Aint, target_count: c_int, target_datatype: MPI_Datatype, op: MPI_Op, win: MPI_Win, request: *mut MPI_Request) -> c_int {
    let t = Target { win, rank: target_rank, disp: target_disp, count: target_count as MPI_Count, datatype: target_datatype };
    unsafe { get_accumulate("MPI_Rget_accumulate", origin_addr, origin_count as MPI_Count, origin_datatype, result_addr, result_count as MPI_Count, result_datatype, t, op, Some(request)) }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Rget_accumulate_c(origin_addr: *const c_void, origin_count: MPI_Count, origin_datatype: MPI_Datatype, result_addr: *mut c_void, result_count: MPI_Count, result_datatype: MPI_Datatype, target_rank: c_int, target_disp: MPI_Aint, target_count: MPI_Count, target_datatype: MPI_Datatype, op: MPI_Op, win: MPI_Win, request: *mut MPI_Request) -> c_int {
    let t = Target { win, rank: target_rank, disp: target_disp, count: target_count, datatype: target_datatype };
    unsafe { get_accumulate("MPI_Rget_accumulate_c", origin_addr, origin_count, origin_datatype, result_addr, result_count, result_datatype, t, op, Some(request)) }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Fetch_and_op(origin_addr: *const c_void, result_addr: *mut c_void, datatype: MPI_Datatype, target_rank: c_int, target_disp: MPI_Aint, op: MPI_Op, win: MPI_Win) -> c_int {
    let t = Target { win, rank: target_rank, disp: target_disp, count: 1, datatype };
    api_win(win, "MPI_Fetch_and_op", || unsafe {
        start(
            &t,
            || {
                let elem = predefined(datatype)?;
                let op = acc_op(op, elem, t.count)?;
                let data = if op == BuiltinOp::NoOp { Vec::new() } else { comm_buf(origin_addr, 1, datatype)?.to_vec() };
                call(OpKind::GetAcc, &t, data, Some(comm_buf(result_addr, 1, datatype)?), op, elem)
            },
            None,
        )
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Compare_and_swap(origin_addr: *const c_void, compare_addr: *const c_void, result_addr: *mut c_void, datatype: MPI_Datatype, target_rank: c_int, target_disp: MPI_Aint, win: MPI_Win) -> c_int {
    let t = Target { win, rank: target_rank, disp: target_disp, count: 1, datatype };
    api_win(win, "MPI_Compare_and_swap", || unsafe {
        start(
            &t,
            || {
                // The standard allows C integer, Fortran integer, logical, multi-language
                // and byte types: no floating point, complex or pair type.
                let elem = predefined(datatype)?;
                if matches!(elem, Kind::F32 | Kind::F64 | Kind::LongDouble | Kind::ComplexF32 | Kind::ComplexF64 | Kind::ComplexLongDouble | Kind::Char | Kind::WChar | Kind::Packed)
                    || elem.pair_value_size().is_some()
                {
                    return fail(ErrorClass::Type, "MPI_Compare_and_swap takes integer, logical and byte datatypes only");
                }
                let mut data = comm_buf(compare_addr, 1, datatype)?.to_vec();
                data.extend(comm_buf(origin_addr, 1, datatype)?.to_vec());
                call(OpKind::CompareSwap, &t, data, Some(comm_buf(result_addr, 1, datatype)?), BuiltinOp::NoOp, elem)
            },
            None,
        )
    })
}

// ---- synchronisation -------------------------------------------------------------------

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_fence(assert: c_int, win: MPI_Win) -> c_int {
    api_win(win, "MPI_Win_fence", || engine()?.win_fence(live(win)?, assert & MPI_MODE_NOSUCCEED == 0))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_lock(lock_type: c_int, rank: c_int, assert: c_int, win: MPI_Win) -> c_int {
    api_win(win, "MPI_Win_lock", || {
        let id = live(win)?;
        let lock = match lock_type {
            MPI_LOCK_SHARED => LockType::Shared,
            MPI_LOCK_EXCLUSIVE => LockType::Exclusive,
            _ => return fail(ErrorClass::Locktype, format!("{lock_type} is not a lock type")),
        };
        engine()?.win_lock(id, lock, rank, assert & MPI_MODE_NOCHECK != 0)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_unlock(rank: c_int, win: MPI_Win) -> c_int {
    api_win(win, "MPI_Win_unlock", || engine()?.win_unlock(live(win)?, rank))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_lock_all(assert: c_int, win: MPI_Win) -> c_int {
    api_win(win, "MPI_Win_lock_all", || engine()?.win_lock_all(live(win)?, assert & MPI_MODE_NOCHECK != 0))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_unlock_all(win: MPI_Win) -> c_int {
    api_win(win, "MPI_Win_unlock_all", || engine()?.win_unlock_all(live(win)?))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_flush(rank: c_int, win: MPI_Win) -> c_int {
    api_win(win, "MPI_Win_flush", || engine()?.win_flush(live(win)?, Some(rank)))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_flush_all(win: MPI_Win) -> c_int {
    api_win(win, "MPI_Win_flush_all", || engine()?.win_flush(live(win)?, None))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_flush_local(rank: c_int, win: MPI_Win) -> c_int {
    api_win(win, "MPI_Win_flush_local", || engine()?.win_flush(live(win)?, Some(rank)))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_flush_local_all(win: MPI_Win) -> c_int {
    api_win(win, "MPI_Win_flush_local_all", || engine()?.win_flush(live(win)?, None))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_sync(win: MPI_Win) -> c_int {
    api_win(win, "MPI_Win_sync", || engine()?.win_sync(live(win)?))
}

/// The world ranks of a group argument.
fn group_members(group: MPI_Group) -> Result<Vec<usize>> {
    Ok(crate::group::group(group)?.members().to_vec())
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_post(group: MPI_Group, _assert: c_int, win: MPI_Win) -> c_int {
    api_win(win, "MPI_Win_post", || {
        let id = live(win)?;
        engine()?.win_post(id, &group_members(group)?)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_start(group: MPI_Group, _assert: c_int, win: MPI_Win) -> c_int {
    api_win(win, "MPI_Win_start", || {
        let id = live(win)?;
        engine()?.win_start(id, &group_members(group)?)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_complete(win: MPI_Win) -> c_int {
    api_win(win, "MPI_Win_complete", || engine()?.win_complete(live(win)?))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_wait(win: MPI_Win) -> c_int {
    api_win(win, "MPI_Win_wait", || engine()?.win_wait(live(win)?, true).map(|_| ()))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_test(win: MPI_Win, flag: *mut c_int) -> c_int {
    api_win(win, "MPI_Win_test", || {
        let id = live(win)?;
        check_out(flag, "flag")?;
        let done = engine()?.win_wait(id, false)?;
        unsafe { out(flag, c_int::from(done)) }
    })
}
