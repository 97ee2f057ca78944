//! Error classes, error handlers, and the one path every failing call takes.
//!
//! Each `PMPI_` function runs its body as a closure returning `Result` and passes the outcome
//! through [`api`]: success returns `MPI_SUCCESS`; an error is raised on the communicator's
//! error handler, which aborts the job (`MPI_ERRORS_ARE_FATAL`, the default, and
//! `MPI_ERRORS_ABORT`), returns the code (`MPI_ERRORS_RETURN`), or calls the user's function.

use std::collections::HashMap;
use std::ffi::c_char;
use std::sync::{LazyLock, Mutex, MutexGuard};

use mpi_core::error::{ErrorClass, MpiError, Result};

use crate::generated::consts::*;
use crate::generated::types::*;
use crate::{handles, write_c_string};

/// Runs the body of an MPI function and turns its outcome into the C return code.
#[inline]
pub fn api(comm: MPI_Comm, name: &'static str, body: impl FnOnce() -> Result<()>) -> c_int {
    match body() {
        Ok(()) => MPI_SUCCESS,
        Err(e) => raise(comm, name, e),
    }
}

/// What stub functions of the generated surface call: the function exists (so that loaders
/// bind) but does nothing yet, and says so through the error handler.
pub fn unsupported(name: &'static str, comm: MPI_Comm) -> c_int {
    raise(comm, name, MpiError::new(ErrorClass::UnsupportedOperation, format!("{name} is not implemented yet in ferrompi")))
}

/// The standard ABI's value for an error class.
pub fn class_code(class: ErrorClass) -> c_int {
    use ErrorClass::*;
    match class {
        Buffer => MPI_ERR_BUFFER,
        Count => MPI_ERR_COUNT,
        Type => MPI_ERR_TYPE,
        Tag => MPI_ERR_TAG,
        Comm => MPI_ERR_COMM,
        Rank => MPI_ERR_RANK,
        Request => MPI_ERR_REQUEST,
        Root => MPI_ERR_ROOT,
        Group => MPI_ERR_GROUP,
        Op => MPI_ERR_OP,
        Topology => MPI_ERR_TOPOLOGY,
        Dims => MPI_ERR_DIMS,
        Arg => MPI_ERR_ARG,
        Unknown => MPI_ERR_UNKNOWN,
        Truncate => MPI_ERR_TRUNCATE,
        Other => MPI_ERR_OTHER,
        Intern => MPI_ERR_INTERN,
        InStatus => MPI_ERR_IN_STATUS,
        Pending => MPI_ERR_PENDING,
        Keyval => MPI_ERR_KEYVAL,
        NoMem => MPI_ERR_NO_MEM,
        Base => MPI_ERR_BASE,
        InfoKey => MPI_ERR_INFO_KEY,
        InfoValue => MPI_ERR_INFO_VALUE,
        InfoNokey => MPI_ERR_INFO_NOKEY,
        Info => MPI_ERR_INFO,
        Spawn => MPI_ERR_SPAWN,
        Port => MPI_ERR_PORT,
        Service => MPI_ERR_SERVICE,
        Name => MPI_ERR_NAME,
        Win => MPI_ERR_WIN,
        Size => MPI_ERR_SIZE,
        Disp => MPI_ERR_DISP,
        Locktype => MPI_ERR_LOCKTYPE,
        Assert => MPI_ERR_ASSERT,
        RmaConflict => MPI_ERR_RMA_CONFLICT,
        RmaSync => MPI_ERR_RMA_SYNC,
        RmaRange => MPI_ERR_RMA_RANGE,
        RmaAttach => MPI_ERR_RMA_ATTACH,
        RmaShared => MPI_ERR_RMA_SHARED,
        RmaFlavor => MPI_ERR_RMA_FLAVOR,
        File => MPI_ERR_FILE,
        NotSame => MPI_ERR_NOT_SAME,
        Amode => MPI_ERR_AMODE,
        UnsupportedDatarep => MPI_ERR_UNSUPPORTED_DATAREP,
        UnsupportedOperation => MPI_ERR_UNSUPPORTED_OPERATION,
        NoSuchFile => MPI_ERR_NO_SUCH_FILE,
        FileExists => MPI_ERR_FILE_EXISTS,
        BadFile => MPI_ERR_BAD_FILE,
        Access => MPI_ERR_ACCESS,
        NoSpace => MPI_ERR_NO_SPACE,
        Quota => MPI_ERR_QUOTA,
        ReadOnly => MPI_ERR_READ_ONLY,
        FileInUse => MPI_ERR_FILE_IN_USE,
        DupDatarep => MPI_ERR_DUP_DATAREP,
        Conversion => MPI_ERR_CONVERSION,
        Io => MPI_ERR_IO,
        Session => MPI_ERR_SESSION,
        ProcAborted => MPI_ERR_PROC_ABORTED,
        ValueTooLarge => MPI_ERR_VALUE_TOO_LARGE,
        Errhandler => MPI_ERR_ERRHANDLER,
    }
}

/// The class whose standard code is `code` (`None` for a code no class has). Error codes that
/// users' callbacks return are turned back into classes with this, so that the call the
/// callback failed returns the callback's code.
pub(crate) fn class_of_code(code: c_int) -> Option<ErrorClass> {
    use ErrorClass::*;
    const ALL: [ErrorClass; 61] = [
        Buffer, Count, Type, Tag, Comm, Rank, Request, Root, Group, Op, Topology, Dims, Arg, Unknown,
        Truncate, Other, Intern, InStatus, Pending, Keyval, NoMem, Base, InfoKey, InfoValue, InfoNokey,
        Info, Spawn, Port, Service, Name, Win, Size, Disp, Locktype, Assert, RmaConflict, RmaSync,
        RmaRange, RmaAttach, RmaShared, RmaFlavor, File, NotSame, Amode, UnsupportedDatarep,
        UnsupportedOperation, NoSuchFile, FileExists, BadFile, Access, NoSpace, Quota, ReadOnly,
        FileInUse, DupDatarep, Conversion, Io, Session, ProcAborted, ValueTooLarge, Errhandler,
    ];
    ALL.into_iter().find(|&c| class_code(c) == code)
}

/// Text for each error class, indexed by its code (`MPI_Error_string`).
const CLASS_TEXT: [&str; 63] = [
    "MPI_SUCCESS: no error",
    "MPI_ERR_BUFFER: invalid buffer pointer",
    "MPI_ERR_COUNT: invalid count argument",
    "MPI_ERR_TYPE: invalid datatype",
    "MPI_ERR_TAG: invalid tag",
    "MPI_ERR_COMM: invalid communicator",
    "MPI_ERR_RANK: invalid rank",
    "MPI_ERR_REQUEST: invalid request",
    "MPI_ERR_ROOT: invalid root",
    "MPI_ERR_GROUP: invalid group",
    "MPI_ERR_OP: invalid operation",
    "MPI_ERR_TOPOLOGY: invalid topology",
    "MPI_ERR_DIMS: invalid dimension argument",
    "MPI_ERR_ARG: invalid argument of some other kind",
    "MPI_ERR_UNKNOWN: unknown error",
    "MPI_ERR_TRUNCATE: message truncated on receive",
    "MPI_ERR_OTHER: known error not in this list",
    "MPI_ERR_INTERN: internal MPI error",
    "MPI_ERR_PENDING: pending request",
    "MPI_ERR_IN_STATUS: error code is in status",
    "MPI_ERR_ACCESS: permission denied",
    "MPI_ERR_AMODE: error related to the amode passed to MPI_File_open",
    "MPI_ERR_ASSERT: invalid assertion argument",
    "MPI_ERR_BAD_FILE: invalid file name",
    "MPI_ERR_BASE: invalid base argument",
    "MPI_ERR_CONVERSION: error in a user data conversion function",
    "MPI_ERR_DISP: invalid displacement argument",
    "MPI_ERR_DUP_DATAREP: data representation already defined",
    "MPI_ERR_FILE_EXISTS: file exists",
    "MPI_ERR_FILE_IN_USE: file operation could not be completed, the file is in use",
    "MPI_ERR_FILE: invalid file handle",
    "MPI_ERR_INFO_KEY: key longer than MPI_MAX_INFO_KEY",
    "MPI_ERR_INFO_NOKEY: key unknown to MPI_Info_delete",
    "MPI_ERR_INFO_VALUE: value longer than MPI_MAX_INFO_VAL",
    "MPI_ERR_INFO: invalid info argument",
    "MPI_ERR_IO: other I/O error",
    "MPI_ERR_KEYVAL: invalid keyval",
    "MPI_ERR_LOCKTYPE: invalid locktype argument",
    "MPI_ERR_NAME: invalid service name passed to MPI_Lookup_name",
    "MPI_ERR_NO_MEM: MPI_Alloc_mem failed because memory is exhausted",
    "MPI_ERR_NOT_SAME: collective argument not identical on all processes",
    "MPI_ERR_NO_SPACE: not enough space",
    "MPI_ERR_NO_SUCH_FILE: file does not exist",
    "MPI_ERR_PORT: invalid port name",
    "MPI_ERR_QUOTA: quota exceeded",
    "MPI_ERR_READ_ONLY: read-only file or file system",
    "MPI_ERR_RMA_ATTACH: memory cannot be attached",
    "MPI_ERR_RMA_CONFLICT: conflicting accesses to window",
    "MPI_ERR_RMA_RANGE: target memory is not part of the window",
    "MPI_ERR_RMA_SHARED: memory cannot be shared",
    "MPI_ERR_RMA_SYNC: wrong synchronization of RMA calls",
    "MPI_ERR_SERVICE: invalid service name passed to MPI_Unpublish_name",
    "MPI_ERR_SIZE: invalid size argument",
    "MPI_ERR_SPAWN: error in spawning processes",
    "MPI_ERR_UNSUPPORTED_DATAREP: unsupported data representation",
    "MPI_ERR_UNSUPPORTED_OPERATION: unsupported operation",
    "MPI_ERR_WIN: invalid window argument",
    "MPI_ERR_RMA_FLAVOR: passed window has the wrong flavor for the called function",
    "MPI_ERR_PROC_ABORTED: operation failed because a peer process has aborted",
    "MPI_ERR_VALUE_TOO_LARGE: value is too large to store",
    "MPI_ERR_SESSION: invalid session argument",
    "MPI_ERR_ERRHANDLER: invalid errhandler argument",
    "MPI_ERR_ABI: error in the ABI layer",
];

/// Largest valid error code (`MPI_ERR_LASTCODE`): user-defined codes are not supported yet.
const LAST_CODE: c_int = MPI_ERR_ABI;

/// What a communicator does with an error.
#[derive(Clone, Copy)]
enum Handler {
    Fatal,
    Abort,
    Return,
    User(MPI_Errhandler, unsafe extern "C" fn(*mut MPI_Comm, *mut c_int, ...)),
}

#[derive(Default)]
struct Errhandlers {
    /// Handler of each communicator that does not use the default (`MPI_ERRORS_ARE_FATAL`).
    by_comm: HashMap<MPI_Comm, Handler>,
    /// User handlers by handle (`MPI_Comm_create_errhandler`); freeing one only drops the handle.
    user: mpi_core::slab::Slab<unsafe extern "C" fn(*mut MPI_Comm, *mut c_int, ...)>,
}

static ERRHANDLERS: LazyLock<Mutex<Errhandlers>> = LazyLock::new(Default::default);

fn errhandlers() -> MutexGuard<'static, Errhandlers> {
    ERRHANDLERS.lock().unwrap_or_else(|p| p.into_inner())
}

fn handler_of(comm: MPI_Comm) -> Handler {
    // An error on an invalid communicator has no object to be raised on: like errors of calls
    // that name no communicator, it goes to MPI_COMM_SELF (MPI-4.0 §9.3, and MPICH).
    let live = handles::comm(comm).is_ok_and(|c| crate::engine().is_ok_and(|e| e.comm_exists(c)));
    let comm = if live { comm } else { MPI_COMM_SELF };
    errhandlers().by_comm.get(&comm).copied().unwrap_or(Handler::Fatal)
}

/// A new communicator takes its parent's error handler (MPI-5.0 §9.3).
pub(crate) fn inherit_errhandler(parent: MPI_Comm, child: MPI_Comm) {
    let mut table = errhandlers();
    if let Some(&h) = table.by_comm.get(&parent) {
        table.by_comm.insert(child, h);
    }
}

/// Forgets a freed communicator's handler.
pub(crate) fn forget_errhandler(comm: MPI_Comm) {
    errhandlers().by_comm.remove(&comm);
}

/// Raises `err` on `comm`'s error handler and returns the code the call must return.
pub fn raise(comm: MPI_Comm, name: &str, err: MpiError) -> c_int {
    let mut code = class_code(err.class);
    match handler_of(comm) {
        Handler::Return => code,
        Handler::User(_, f) => {
            let mut c = comm;
            // SAFETY: `f` is the application's handler, registered through
            // MPI_Comm_create_errhandler with this signature.
            unsafe { f(&mut c, &mut code) };
            code
        }
        Handler::Fatal | Handler::Abort => {
            let rank = crate::engine().map(|e| e.rank()).unwrap_or(0);
            let message = format!("ferrompi: rank {rank}: {name}: {} ({})", err.message, class_name(code));
            match crate::engine() {
                Ok(e) => e.abort(code, &message),
                Err(_) => {
                    eprintln!("{message}");
                    std::process::exit(code)
                }
            }
        }
    }
}

fn class_name(code: c_int) -> &'static str {
    let text = CLASS_TEXT.get(code as usize).copied().unwrap_or("MPI_ERR_UNKNOWN: unknown error");
    text.split(':').next().unwrap_or(text)
}

// ---- MPI functions ----------------------------------------------------------------------

#[no_mangle]
pub unsafe extern "C" fn PMPI_Error_class(errorcode: c_int, errorclass: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Error_class", || {
        if !(0..=LAST_CODE).contains(&errorcode) {
            return mpi_core::error::fail(ErrorClass::Arg, format!("{errorcode} is not an error code"));
        }
        crate::out(errorclass, errorcode)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Error_string(errorcode: c_int, string: *mut c_char, resultlen: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Error_string", || {
        let Some(text) = usize::try_from(errorcode).ok().and_then(|c| CLASS_TEXT.get(c)) else {
            return mpi_core::error::fail(ErrorClass::Arg, format!("{errorcode} is not an error code"));
        };
        write_c_string(string, resultlen, text, MPI_MAX_ERROR_STRING)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_create_errhandler(
    comm_errhandler_fn: MPI_Comm_errhandler_function,
    errhandler: *mut MPI_Errhandler,
) -> c_int {
    api(MPI_COMM_SELF, "MPI_Comm_create_errhandler", || {
        let Some(f) = comm_errhandler_fn else {
            return mpi_core::error::fail(ErrorClass::Arg, "null error handler function");
        };
        let id = errhandlers().user.insert(f);
        crate::out(errhandler, MPI_Errhandler(id.token() as usize))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_set_errhandler(comm: MPI_Comm, errhandler: MPI_Errhandler) -> c_int {
    api(comm, "MPI_Comm_set_errhandler", || {
        handles::comm(comm)?;
        let mut table = errhandlers();
        let handler = match errhandler {
            MPI_ERRORS_ARE_FATAL => Handler::Fatal,
            MPI_ERRORS_ABORT => Handler::Abort,
            MPI_ERRORS_RETURN => Handler::Return,
            h => match table.user.get(mpi_core::slab::Id::from_token(h.0 as u64)) {
                Some(f) if h.0 >= 4096 => Handler::User(h, *f),
                _ => return mpi_core::error::fail(ErrorClass::Errhandler, format!("invalid error handler {:#x}", h.0)),
            },
        };
        table.by_comm.insert(comm, handler);
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_get_errhandler(comm: MPI_Comm, errhandler: *mut MPI_Errhandler) -> c_int {
    api(comm, "MPI_Comm_get_errhandler", || {
        handles::comm(comm)?;
        let h = match handler_of(comm) {
            Handler::Fatal => MPI_ERRORS_ARE_FATAL,
            Handler::Abort => MPI_ERRORS_ABORT,
            Handler::Return => MPI_ERRORS_RETURN,
            Handler::User(h, _) => h,
        };
        crate::out(errhandler, h)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Errhandler_free(errhandler: *mut MPI_Errhandler) -> c_int {
    api(MPI_COMM_SELF, "MPI_Errhandler_free", || {
        let h = crate::read(errhandler)?;
        if h.0 >= 4096 {
            // Communicators that use the handler keep their copy of the function.
            if errhandlers().user.remove(mpi_core::slab::Id::from_token(h.0 as u64)).is_none() {
                return mpi_core::error::fail(ErrorClass::Errhandler, format!("invalid error handler {:#x}", h.0));
            }
        } else if !matches!(h, MPI_ERRORS_ARE_FATAL | MPI_ERRORS_ABORT | MPI_ERRORS_RETURN) {
            return mpi_core::error::fail(ErrorClass::Errhandler, format!("invalid error handler {:#x}", h.0));
        }
        crate::out(errhandler, MPI_ERRHANDLER_NULL)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_call_errhandler(comm: MPI_Comm, errorcode: c_int) -> c_int {
    if let Err(e) = handles::comm(comm) {
        return raise(comm, "MPI_Comm_call_errhandler", e);
    }
    let class = (0..=LAST_CODE).contains(&errorcode).then_some(errorcode);
    let mut code = class.unwrap_or(MPI_ERR_UNKNOWN);
    match handler_of(comm) {
        Handler::Return => {}
        Handler::User(_, f) => {
            let mut c = comm;
            // SAFETY: as in `raise`.
            unsafe { f(&mut c, &mut code) };
        }
        Handler::Fatal | Handler::Abort => {
            let message = format!("ferrompi: MPI_Comm_call_errhandler: error {errorcode} ({})", class_name(code));
            match crate::engine() {
                Ok(e) => e.abort(code, &message),
                Err(_) => std::process::exit(code),
            }
        }
    }
    // The standard: MPI_Comm_call_errhandler returns MPI_SUCCESS if the handler returned.
    MPI_SUCCESS
}
