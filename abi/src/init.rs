//! The environment: init and finalize, thread levels, versions, clocks, memory.

use std::ffi::{c_char, c_void};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::thread::ThreadId;
use std::time::Instant;

use mpi_core::engine::Engine;
use mpi_core::error::{fail, ErrorClass, Result};

use crate::errors::api;
use crate::generated::consts::*;
use crate::generated::types::*;
use crate::{out, write_c_string, ENGINE};

/// The engine has been finalized: no call that needs it works any more, and it cannot start
/// again (PMI and the shared-memory segment went with it).
static FINALIZED: AtomicBool = AtomicBool::new(false);
static THREAD_LEVEL: AtomicI32 = AtomicI32::new(MPI_THREAD_SINGLE);
static MAIN_THREAD: OnceLock<ThreadId> = OnceLock::new();
/// `MPI_Wtime`'s zero: the first call into the clock (at the latest, `MPI_Init`).
static EPOCH: OnceLock<Instant> = OnceLock::new();

/// The world model's state (`MPI_Initialized`, `MPI_Finalized`): read without a lock, since
/// delete callbacks that `MPI_Finalize` runs may ask.
const WORLD_NEVER: u8 = 0;
const WORLD_ACTIVE: u8 = 1;
const WORLD_FINALIZED: u8 = 2;
static WORLD: AtomicU8 = AtomicU8::new(WORLD_NEVER);

/// Live sessions. The world model and the sessions share the process's one engine (MPI-5.0
/// §11.4): whichever of `MPI_Init` and `MPI_Session_init` comes first starts it, and it is
/// finalized when the world model has been finalized (or never began) and the last session
/// ends. Changes of `WORLD` happen under this lock too, so the last one out finalizes once.
static SESSIONS: Mutex<usize> = Mutex::new(0);

pub(crate) fn is_finalized() -> bool {
    FINALIZED.load(Ordering::Acquire)
}

fn sessions() -> MutexGuard<'static, usize> {
    SESSIONS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts the engine unless it runs already (called with `SESSIONS` held).
fn start_engine() -> Result<()> {
    if is_finalized() {
        // MPI-5.0 §11.4 leaves re-initialization after the last session and the world model
        // have ended to the implementation: ours cannot, since PMI is finalized with the engine.
        return fail(ErrorClass::Other, "MPI cannot be initialized again: it was finalized when the world model and every session had ended");
    }
    if ENGINE.get().is_none() {
        EPOCH.get_or_init(Instant::now);
        let engine = Engine::bootstrap()?;
        if ENGINE.set(engine).is_err() {
            return fail(ErrorClass::Intern, "the engine was started twice");
        }
    }
    Ok(())
}

/// Finalizes the engine (called with `SESSIONS` held, by the last user).
fn finalize_engine() -> Result<()> {
    crate::engine()?.finalize()?;
    FINALIZED.store(true, Ordering::Release);
    Ok(())
}

/// `MPI_Session_init`: a new session needs the engine.
pub(crate) fn session_started() -> Result<()> {
    let mut n = sessions();
    start_engine()?;
    *n += 1;
    Ok(())
}

/// `MPI_Session_finalize`: the last session out, with the world model not running, finalizes
/// the engine (the barrier over every process of the job that `MPI_Finalize` makes).
pub(crate) fn session_ended() -> Result<()> {
    let mut n = sessions();
    *n = n.saturating_sub(1);
    if *n == 0 && WORLD.load(Ordering::Acquire) != WORLD_ACTIVE {
        finalize_engine()?;
    }
    Ok(())
}

fn init(required: c_int, provided: *mut c_int) -> Result<()> {
    let _held = sessions();
    match WORLD.load(Ordering::Acquire) {
        WORLD_FINALIZED => return fail(ErrorClass::Other, "MPI cannot be initialized again after MPI_Finalize"),
        WORLD_ACTIVE => return fail(ErrorClass::Other, "MPI is already initialized"),
        _ => {}
    }
    let level = match required {
        MPI_THREAD_SINGLE | MPI_THREAD_FUNNELED | MPI_THREAD_SERIALIZED | MPI_THREAD_MULTIPLE => required,
        _ => return fail(ErrorClass::Arg, format!("{required} is not a thread level")),
    };
    start_engine()?;
    WORLD.store(WORLD_ACTIVE, Ordering::Release);
    // Every level is provided: the engine is thread-safe (one lock around its state).
    THREAD_LEVEL.store(level, Ordering::Relaxed);
    MAIN_THREAD.get_or_init(|| std::thread::current().id());
    if !provided.is_null() {
        // SAFETY: non-null output argument.
        unsafe { *provided = level };
    }
    Ok(())
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Init(_argc: *mut c_int, _argv: *mut *mut *mut c_char) -> c_int {
    api(MPI_COMM_SELF, "MPI_Init", || init(MPI_THREAD_SINGLE, std::ptr::null_mut()))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Init_thread(
    _argc: *mut c_int,
    _argv: *mut *mut *mut c_char,
    required: c_int,
    provided: *mut c_int,
) -> c_int {
    api(MPI_COMM_SELF, "MPI_Init_thread", || {
        if provided.is_null() {
            return fail(ErrorClass::Arg, "null `provided` argument");
        }
        init(required, provided)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Finalize() -> c_int {
    api(MPI_COMM_SELF, "MPI_Finalize", || {
        crate::engine()?;
        if WORLD.load(Ordering::Acquire) != WORLD_ACTIVE {
            return fail(ErrorClass::Other, "MPI_Init was not called, or MPI_Finalize was called already");
        }
        // Before taking the lock: delete callbacks may call MPI.
        crate::attr::finalize_self()?;
        let n = sessions();
        // Sessions still open keep the engine running; the last of them finalizes it.
        if *n == 0 {
            finalize_engine()?;
        }
        WORLD.store(WORLD_FINALIZED, Ordering::Release);
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Initialized(flag: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Initialized", || out(flag, (WORLD.load(Ordering::Acquire) != WORLD_NEVER) as c_int))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Finalized(flag: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Finalized", || out(flag, (WORLD.load(Ordering::Acquire) == WORLD_FINALIZED) as c_int))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Abort(comm: MPI_Comm, errorcode: c_int) -> c_int {
    let message = format!("ferrompi: MPI_Abort was called with error code {errorcode}");
    match crate::engine() {
        Ok(e) => e.abort(errorcode, &format!("ferrompi: rank {}: MPI_Abort called with error code {errorcode}", e.rank())),
        Err(_) => {
            let _ = comm;
            eprintln!("{message}");
            std::process::exit(errorcode)
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Query_thread(provided: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Query_thread", || out(provided, THREAD_LEVEL.load(Ordering::Relaxed)))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Is_thread_main(flag: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Is_thread_main", || {
        crate::engine()?;
        out(flag, (MAIN_THREAD.get() == Some(&std::thread::current().id())) as c_int)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Get_version(version: *mut c_int, subversion: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Get_version", || {
        out(version, MPI_VERSION)?;
        out(subversion, MPI_SUBVERSION)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Get_library_version(version: *mut c_char, resultlen: *mut c_int) -> c_int {
    let text = concat!("ferrompi ", env!("CARGO_PKG_VERSION"), " (MPI 5.0, standard ABI 1.0)");
    api(MPI_COMM_SELF, "MPI_Get_library_version", || {
        write_c_string(version, resultlen, text, MPI_MAX_LIBRARY_VERSION_STRING)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Abi_get_version(abi_major: *mut c_int, abi_minor: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Abi_get_version", || {
        out(abi_major, MPI_ABI_VERSION)?;
        out(abi_minor, MPI_ABI_SUBVERSION)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Get_processor_name(name: *mut c_char, resultlen: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Get_processor_name", || {
        write_c_string(name, resultlen, &mpi_core::world::processor_name(), MPI_MAX_PROCESSOR_NAME)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Wtime() -> f64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_secs_f64()
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Wtick() -> f64 {
    // `Instant` reads CLOCK_MONOTONIC, which counts nanoseconds.
    1e-9
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Alloc_mem(size: MPI_Aint, _info: MPI_Info, baseptr: *mut c_void) -> c_int {
    api(MPI_COMM_SELF, "MPI_Alloc_mem", || {
        if size < 0 {
            return fail(ErrorClass::Size, format!("negative size {size}"));
        }
        // SAFETY: plain allocation; a zero size still returns a unique pointer.
        let p = unsafe { libc::malloc((size as usize).max(1)) };
        if p.is_null() {
            return fail(ErrorClass::NoMem, format!("cannot allocate {size} bytes"));
        }
        // `baseptr` is declared `void *` but points to the caller's `void *`.
        out(baseptr as *mut *mut c_void, p)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Free_mem(base: *mut c_void) -> c_int {
    // SAFETY: `base` came from MPI_Alloc_mem (malloc) or is null.
    unsafe { libc::free(base) };
    MPI_SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Pcontrol(_level: c_int) -> c_int {
    // Profiling control: meaningful only to an interposed profiling library.
    MPI_SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_rank(comm: MPI_Comm, rank: *mut c_int) -> c_int {
    api(comm, "MPI_Comm_rank", || {
        let r = crate::engine()?.comm_rank(crate::handles::comm(comm)?)?;
        out(rank, r as c_int)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_size(comm: MPI_Comm, size: *mut c_int) -> c_int {
    api(comm, "MPI_Comm_size", || {
        let s = crate::engine()?.comm_size(crate::handles::comm(comm)?)?;
        out(size, s as c_int)
    })
}
