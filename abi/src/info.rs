//! Info objects (`MPI_Info_*`, `MPI_INFO_ENV`) and communicator hints (`MPI_Comm_set_info`,
//! `MPI_Comm_get_info`, the info argument of `MPI_Comm_dup_with_info`).
//!
//! The objects are `mpi_core::info::Info` values in a slab; a created handle is the slab's
//! generation-checked token, so it is never in the predefined range and a freed one is
//! reported as `MPI_ERR_INFO` rather than reaching a newer object. Info functions need no
//! engine: MPI-4 lets them run before `MPI_Init` and after `MPI_Finalize`, and their errors are
//! raised on `MPI_COMM_SELF`.
//!
//! Communicator hints: no hint changes what this library does yet, so every hint given is kept
//! as given and `MPI_Comm_get_info` returns them all (the standard lets an implementation drop
//! hints it ignores; keeping them lets layered libraries read back what they set).
//! `MPI_Comm_set_info` merges (keys it does not name keep their values), `MPI_Comm_dup` copies
//! the parent's hints, `MPI_Comm_dup_with_info` takes its argument's instead.

use std::collections::HashMap;
use std::ffi::{c_char, CStr};
use std::sync::{LazyLock, Mutex, MutexGuard};

use mpi_core::error::{fail, ErrorClass, Result};
use mpi_core::info::Info;
use mpi_core::slab::{Id, Slab};

use crate::errors::api;
use crate::generated::consts::*;
use crate::generated::types::*;
use crate::{engine, handles, out, read};

#[derive(Default)]
struct Infos {
    /// `MPI_INFO_ENV`, built on first use.
    env: Option<Info>,
    created: Slab<Info>,
    /// Hints of each communicator that has any, by handle (created handles are never reused).
    comm_hints: HashMap<MPI_Comm, Info>,
}

static INFOS: LazyLock<Mutex<Infos>> = LazyLock::new(Default::default);

fn infos() -> MutexGuard<'static, Infos> {
    INFOS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs `f` on the object behind `h` (`MPI_ERR_INFO` for `MPI_INFO_NULL`, stale or foreign
/// handles).
fn with_info<T>(h: MPI_Info, f: impl FnOnce(&mut Info) -> Result<T>) -> Result<T> {
    let mut t = infos();
    if h == MPI_INFO_ENV {
        let env = t.env.get_or_insert_with(|| environment(None));
        return f(env);
    }
    if h == MPI_INFO_NULL {
        return fail(ErrorClass::Info, "MPI_INFO_NULL is not a valid info object here");
    }
    if h.0 >= 4096 {
        if let Some(i) = t.created.get_mut(Id::from_token(h.0 as u64)) {
            return f(i);
        }
    }
    fail(ErrorClass::Info, format!("invalid info handle {:#x}", h.0))
}

pub(crate) fn new_handle(i: Info) -> MPI_Info {
    MPI_Info(infos().created.insert(i).token() as usize)
}

/// A copy of the info argument of a call that takes hints: `None` for `MPI_INFO_NULL`.
pub(crate) fn info_arg(h: MPI_Info) -> Result<Option<Info>> {
    if h == MPI_INFO_NULL {
        return Ok(None);
    }
    with_info(h, |i| Ok(Some(i.clone())))
}

/// The hints kept for `comm` (empty when none were given).
pub(crate) fn comm_hints(comm: MPI_Comm) -> Info {
    infos().comm_hints.get(&comm).cloned().unwrap_or_default()
}

/// Gives a new communicator its hints.
pub(crate) fn set_comm_hints(comm: MPI_Comm, hints: Info) {
    let mut t = infos();
    if hints.nkeys() == 0 {
        t.comm_hints.remove(&comm);
    } else {
        t.comm_hints.insert(comm, hints);
    }
}

/// Forgets a freed communicator's hints.
pub(crate) fn forget_comm(comm: MPI_Comm) {
    infos().comm_hints.remove(&comm);
}

/// A C string argument (`MPI_ERR_ARG` when null).
unsafe fn c_str(p: *const c_char, what: &str) -> Result<String> {
    if p.is_null() {
        return fail(ErrorClass::Arg, format!("null {what} argument"));
    }
    // SAFETY: a NUL-terminated string, as the standard says.
    Ok(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// Copies `text` (at most `max` bytes of it) and a NUL into `buf`.
unsafe fn copy_out(buf: *mut c_char, text: &str, max: usize) {
    let n = text.len().min(max);
    // SAFETY: the caller sized `buf` for `max` bytes and the NUL, as the standard asks.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf as *mut u8, n);
        *buf.add(n) = 0;
    }
}

/// The standard's environment keys (MPI-5.0 §11.2.2) that this process can know: `command`
/// and `argv` from `args` (or the process's own command line), `maxprocs` (the number of
/// processes started: the world's size, once MPI is initialized), `host` (this host),
/// `wdir` (the working directory) and `thread_level` (the level provided, once initialized).
/// `soft`, `arch` and `file` describe a launch request no launcher hands us: left unset.
fn environment(args: Option<Vec<String>>) -> Info {
    let args = args.unwrap_or_else(|| {
        let line = std::fs::read("/proc/self/cmdline").unwrap_or_default();
        line.split(|&b| b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect()
    });
    let mut env = Info::new();
    // Values too long for an info value are left out rather than cut into something false.
    let mut put = |k: &str, v: String| {
        let _ = env.set(k, &v);
    };
    if let Some(command) = args.first() {
        put("command", command.clone());
        if args.len() > 1 {
            put("argv", args[1..].join(" "));
        }
    }
    if let Some(e) = crate::ENGINE.get() {
        put("maxprocs", e.size().to_string());
    }
    put("host", mpi_core::world::processor_name());
    if let Ok(dir) = std::env::current_dir() {
        put("wdir", dir.to_string_lossy().into_owned());
    }
    if crate::ENGINE.get().is_some() {
        let mut level = MPI_THREAD_SINGLE;
        // SAFETY: a valid output argument; it cannot fail once initialized.
        unsafe { crate::PMPI_Query_thread(&mut level) };
        let name = match level {
            MPI_THREAD_FUNNELED => "MPI_THREAD_FUNNELED",
            MPI_THREAD_SERIALIZED => "MPI_THREAD_SERIALIZED",
            MPI_THREAD_MULTIPLE => "MPI_THREAD_MULTIPLE",
            _ => "MPI_THREAD_SINGLE",
        };
        put("thread_level", name.to_string());
    }
    env
}

// ---- MPI functions ----------------------------------------------------------------------

#[no_mangle]
pub unsafe extern "C" fn PMPI_Info_create(info: *mut MPI_Info) -> c_int {
    api(MPI_COMM_SELF, "MPI_Info_create", || {
        if info.is_null() {
            return fail(ErrorClass::Arg, "null info argument");
        }
        out(info, new_handle(Info::new()))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Info_create_env(argc: c_int, argv: *mut *mut c_char, info: *mut MPI_Info) -> c_int {
    api(MPI_COMM_SELF, "MPI_Info_create_env", || {
        if info.is_null() {
            return fail(ErrorClass::Arg, "null info argument");
        }
        if argc < 0 {
            return fail(ErrorClass::Arg, format!("negative argc {argc}"));
        }
        // Without arguments (argc 0 or argv NULL, as a library may call it), the process's own.
        let args = if argc > 0 && !argv.is_null() {
            let mut v = Vec::with_capacity(argc as usize);
            for i in 0..argc as usize {
                // SAFETY: `argv` holds `argc` strings, as main's arguments do.
                let a = unsafe { *argv.add(i) };
                if a.is_null() {
                    break;
                }
                v.push(unsafe { c_str(a, "argv element")? });
            }
            Some(v)
        } else {
            None
        };
        out(info, new_handle(environment(args)))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Info_set(info: MPI_Info, key: *const c_char, value: *const c_char) -> c_int {
    api(MPI_COMM_SELF, "MPI_Info_set", || {
        let (k, v) = unsafe { (c_str(key, "key")?, c_str(value, "value")?) };
        with_info(info, |i| i.set(&k, &v))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Info_delete(info: MPI_Info, key: *const c_char) -> c_int {
    api(MPI_COMM_SELF, "MPI_Info_delete", || {
        let k = unsafe { c_str(key, "key")? };
        with_info(info, |i| i.delete(&k))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Info_get_string(info: MPI_Info, key: *const c_char, buflen: *mut c_int, value: *mut c_char, flag: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Info_get_string", || {
        let k = unsafe { c_str(key, "key")? };
        let room = unsafe { read(buflen)? };
        if room < 0 {
            return fail(ErrorClass::Arg, format!("negative buflen {room}"));
        }
        if flag.is_null() || (room > 0 && value.is_null()) {
            return fail(ErrorClass::Arg, "null flag or value argument");
        }
        let v = with_info(info, |i| Ok(i.get(&k)?.map(str::to_string)))?;
        match v {
            Some(v) => {
                if room > 0 {
                    // SAFETY: `value` has `buflen` bytes.
                    unsafe { copy_out(value, &v, room as usize - 1) };
                }
                // The length the value needs, its NUL included, whatever was copied.
                unsafe { out(buflen, v.len() as c_int + 1)? };
                unsafe { out(flag, 1) }
            }
            None => unsafe { out(flag, 0) },
        }
    })
}

/// `MPI_Info_get` (deprecated in MPI-4.0 for `MPI_Info_get_string`, still in the ABI):
/// copies at most `valuelen` characters and a NUL.
#[no_mangle]
pub unsafe extern "C" fn PMPI_Info_get(info: MPI_Info, key: *const c_char, valuelen: c_int, value: *mut c_char, flag: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Info_get", || {
        let k = unsafe { c_str(key, "key")? };
        if valuelen < 0 {
            return fail(ErrorClass::Arg, format!("negative valuelen {valuelen}"));
        }
        if flag.is_null() || value.is_null() {
            return fail(ErrorClass::Arg, "null flag or value argument");
        }
        match with_info(info, |i| Ok(i.get(&k)?.map(str::to_string)))? {
            Some(v) => {
                // SAFETY: `value` has `valuelen` + 1 bytes, as the standard asks.
                unsafe { copy_out(value, &v, valuelen as usize) };
                unsafe { out(flag, 1) }
            }
            None => unsafe { out(flag, 0) },
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Info_get_valuelen(info: MPI_Info, key: *const c_char, valuelen: *mut c_int, flag: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Info_get_valuelen", || {
        let k = unsafe { c_str(key, "key")? };
        if flag.is_null() || valuelen.is_null() {
            return fail(ErrorClass::Arg, "null valuelen or flag argument");
        }
        match with_info(info, |i| Ok(i.get(&k)?.map(str::len)))? {
            Some(n) => unsafe {
                out(valuelen, n as c_int)?;
                out(flag, 1)
            },
            None => unsafe { out(flag, 0) },
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Info_get_nkeys(info: MPI_Info, nkeys: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Info_get_nkeys", || {
        if nkeys.is_null() {
            return fail(ErrorClass::Arg, "null nkeys argument");
        }
        let n = with_info(info, |i| Ok(i.nkeys()))?;
        unsafe { out(nkeys, n as c_int) }
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Info_get_nthkey(info: MPI_Info, n: c_int, key: *mut c_char) -> c_int {
    api(MPI_COMM_SELF, "MPI_Info_get_nthkey", || {
        if key.is_null() {
            return fail(ErrorClass::Arg, "null key argument");
        }
        let k = with_info(info, |i| Ok(i.nth_key(n.into())?.to_string()))?;
        // SAFETY: `key` has MPI_MAX_INFO_KEY bytes; keys are shorter.
        unsafe { copy_out(key, &k, mpi_core::info::MAX_KEY) };
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Info_dup(info: MPI_Info, newinfo: *mut MPI_Info) -> c_int {
    api(MPI_COMM_SELF, "MPI_Info_dup", || {
        if newinfo.is_null() {
            return fail(ErrorClass::Arg, "null newinfo argument");
        }
        let copy = with_info(info, |i| Ok(i.clone()))?;
        unsafe { out(newinfo, new_handle(copy)) }
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Info_free(info: *mut MPI_Info) -> c_int {
    api(MPI_COMM_SELF, "MPI_Info_free", || {
        let h = unsafe { read(info)? };
        if h == MPI_INFO_ENV {
            return fail(ErrorClass::Info, "MPI_INFO_ENV is predefined and cannot be freed");
        }
        if h.0 < 4096 || infos().created.remove(Id::from_token(h.0 as u64)).is_none() {
            return fail(ErrorClass::Info, format!("invalid info handle {:#x}", h.0));
        }
        unsafe { out(info, MPI_INFO_NULL) }
    })
}

/// A live communicator (`MPI_ERR_COMM` otherwise).
fn live_comm(comm: MPI_Comm) -> Result<()> {
    engine()?.comm_size(handles::comm(comm)?)?;
    Ok(())
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_set_info(comm: MPI_Comm, info: MPI_Info) -> c_int {
    api(comm, "MPI_Comm_set_info", || {
        live_comm(comm)?;
        if let Some(new) = info_arg(info)? {
            let mut hints = comm_hints(comm);
            hints.merge(&new);
            set_comm_hints(comm, hints);
        }
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_get_info(comm: MPI_Comm, info_used: *mut MPI_Info) -> c_int {
    api(comm, "MPI_Comm_get_info", || {
        live_comm(comm)?;
        if info_used.is_null() {
            return fail(ErrorClass::Arg, "null info_used argument");
        }
        unsafe { out(info_used, new_handle(comm_hints(comm))) }
    })
}

// ---- the ABI's own info objects (MPI-5.0 20.3) ---------------------------------------------

/// What `MPI_Abi_set_fortran_info` stored: a Fortran binding layer tells the C library its
/// compiler's type sizes. This library has no Fortran binding of its own, so there is nothing
/// to report until then (`MPI_Abi_get_fortran_info` gives `MPI_INFO_NULL`, as the standard
/// allows when no Fortran ABI details are available).
static FORTRAN_INFO: Mutex<Option<Info>> = Mutex::new(None);

#[no_mangle]
pub unsafe extern "C" fn PMPI_Abi_get_info(info: *mut MPI_Info) -> c_int {
    api(MPI_COMM_SELF, "MPI_Abi_get_info", || {
        let mut i = Info::new();
        // The sizes of the standard ABI's integer types, in bytes, as MPICH's libmpi_abi
        // reports them.
        i.set("mpi_aint_size", &std::mem::size_of::<MPI_Aint>().to_string())?;
        i.set("mpi_count_size", &std::mem::size_of::<MPI_Count>().to_string())?;
        i.set("mpi_offset_size", &std::mem::size_of::<MPI_Offset>().to_string())?;
        unsafe { out(info, new_handle(i)) }
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Abi_get_fortran_info(info: *mut MPI_Info) -> c_int {
    api(MPI_COMM_SELF, "MPI_Abi_get_fortran_info", || {
        let stored = FORTRAN_INFO.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let h = match stored {
            Some(i) => new_handle(i),
            None => MPI_INFO_NULL,
        };
        unsafe { out(info, h) }
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Abi_set_fortran_info(info: MPI_Info) -> c_int {
    api(MPI_COMM_SELF, "MPI_Abi_set_fortran_info", || {
        let copy = with_info(info, |i| Ok(i.clone()))?;
        // A copy: the application keeps and frees its own object.
        *FORTRAN_INFO.lock().unwrap_or_else(|p| p.into_inner()) = Some(copy);
        Ok(())
    })
}

/// `MPI_Get_hw_resource_info` (MPI-4.1 11.4.3): the hardware resource keys are the
/// implementation's to choose and all optional. We report none yet (an empty object, as
/// MPICH 5.0.2 does); the split types `MPI_COMM_TYPE_HW_GUIDED` and friends are where the
/// hardware structure shows.
#[no_mangle]
pub unsafe extern "C" fn PMPI_Get_hw_resource_info(hw_info: *mut MPI_Info) -> c_int {
    api(MPI_COMM_SELF, "MPI_Get_hw_resource_info", || unsafe { out(hw_info, new_handle(Info::new())) })
}
