//! Error classes, error handlers, and the one path every failing call takes.
//!
//! Each `PMPI_` function runs its body as a closure returning `Result` and passes the outcome
//! through [`api`]: success returns `MPI_SUCCESS`; an error is raised on the communicator's
//! error handler, which aborts the job (`MPI_ERRORS_ARE_FATAL`, the default, and
//! `MPI_ERRORS_ABORT`), returns the code (`MPI_ERRORS_RETURN`), or calls the user's function.

use std::collections::HashMap;
use std::ffi::c_char;
use std::sync::{Mutex, MutexGuard};

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

static ERRHANDLERS: Mutex<Option<Errhandlers>> = Mutex::new(None);

fn errhandlers() -> std::sync::MappedMutexGuardCompat {
    unreachable!()
}
