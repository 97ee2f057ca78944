//! Error classes, error handlers, and the one path every failing call takes.
//!
//! Each `PMPI_` function runs its body as a closure returning `Result` and passes the outcome
//! through [`api`]: success returns `MPI_SUCCESS`; an error is raised on the communicator's
//! error handler, which aborts the job (`MPI_ERRORS_ARE_FATAL`, the default, and
//! `MPI_ERRORS_ABORT`), returns the code (`MPI_ERRORS_RETURN`), or calls the user's function.
//!
//! Handlers exist for the four kinds of object the standard gives them: communicators,
//! windows, files and sessions. Files do not exist in this library yet, so their handlers can
//! be created and freed, and the default file handler (`MPI_FILE_NULL`) set, queried and
//! called, but every file handle is invalid (`MPI_ERR_FILE`). A window's errors go to its own
//! handler (`MPI_ERRORS_ARE_FATAL` until set), errors on an invalid window to `MPI_COMM_SELF`'s.

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

/// Largest predefined error class; classes and codes that programs add
/// (`MPI_Add_error_class`, `errcodes.rs`) come after `MPI_ERR_LASTCODE`.
const LAST_CODE: c_int = MPI_ERR_ABI;

/// Whether `c` is one of the predefined error classes (each is also its own code).
pub(crate) fn is_predefined_class(c: c_int) -> bool {
    (0..=LAST_CODE).contains(&c)
}

/// The kind of object a user error handler is made for (MPI-5.0 §9.3): a handler created for
/// one kind may be set only on objects of that kind (`MPI_ERR_ARG` otherwise); the predefined
/// handlers go on any.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ErrKind {
    Comm,
    Win,
    File,
    Session,
}

/// The four kinds' handler functions differ only in the handle type, which is pointer-sized in
/// the standard ABI: they are called with a pointer to the handle's bits.
type UserFn = unsafe extern "C" fn(*mut usize, *mut c_int, ...);

/// What an object does with an error.
#[derive(Clone, Copy)]
enum Handler {
    Fatal,
    Abort,
    Return,
    User(MPI_Errhandler, UserFn),
}

#[derive(Default)]
struct Errhandlers {
    /// Handler of each communicator that does not use the default (`MPI_ERRORS_ARE_FATAL`).
    by_comm: HashMap<MPI_Comm, Handler>,
    /// Handler of each live session (set by `MPI_Session_init`).
    by_session: HashMap<usize, Handler>,
    /// Handler of each window that does not use the default (`MPI_ERRORS_ARE_FATAL`).
    by_win: HashMap<usize, Handler>,
    /// The default file error handler (`MPI_File_set_errhandler(MPI_FILE_NULL, ..)`), which
    /// errors on invalid file handles go to; `None`: `MPI_ERRORS_RETURN`, the standard's default.
    file_default: Option<Handler>,
    /// User handlers by handle (`MPI_*_create_errhandler`), with their references: the
    /// handle the creation returned, each object that uses the handler, each handle returned by
    /// `MPI_*_get_errhandler`. `MPI_Errhandler_free` drops one; the handler goes with the last
    /// (MPI-5.0 §9.3.4), so a handle from `get` may be freed while the handler stays in use.
    user: mpi_core::slab::Slab<UserHandler>,
}

struct UserHandler {
    kind: ErrKind,
    f: UserFn,
    refs: usize,
}

fn eh_id(h: MPI_Errhandler) -> mpi_core::slab::Id {
    mpi_core::slab::Id::from_token(h.0 as u64)
}

static ERRHANDLERS: LazyLock<Mutex<Errhandlers>> = LazyLock::new(Default::default);

fn errhandlers() -> MutexGuard<'static, Errhandlers> {
    ERRHANDLERS.lock().unwrap_or_else(|p| p.into_inner())
}

impl Errhandlers {
    /// The handler a handle names, for an object of `kind`.
    fn resolve(&self, h: MPI_Errhandler, kind: ErrKind) -> Result<Handler> {
        match h {
            MPI_ERRORS_ARE_FATAL => Ok(Handler::Fatal),
            MPI_ERRORS_ABORT => Ok(Handler::Abort),
            MPI_ERRORS_RETURN => Ok(Handler::Return),
            h => match self.user.get(eh_id(h)) {
                Some(u) if h.0 >= 4096 && u.kind == kind => Ok(Handler::User(h, u.f)),
                Some(&UserHandler { kind: k, .. }) if h.0 >= 4096 => mpi_core::error::fail(
                    ErrorClass::Arg,
                    format!("error handler {:#x} was created for {k:?} objects, not {kind:?} objects", h.0),
                ),
                _ => mpi_core::error::fail(ErrorClass::Errhandler, format!("invalid error handler {:#x}", h.0)),
            },
        }
    }

    /// One more reference to a user handler.
    fn retain(&mut self, h: Handler) {
        if let Handler::User(eh, _) = h {
            if let Some(u) = self.user.get_mut(eh_id(eh)) {
                u.refs += 1;
            }
        }
    }

    /// One reference fewer; the last one frees the handler.
    fn release(&mut self, h: Handler) {
        if let Handler::User(eh, _) = h {
            if let Some(u) = self.user.get_mut(eh_id(eh)) {
                u.refs -= 1;
                if u.refs == 0 {
                    self.user.remove(eh_id(eh));
                }
            }
        }
    }

    fn put_comm(&mut self, comm: MPI_Comm, h: Handler) {
        self.retain(h);
        if let Some(old) = self.by_comm.insert(comm, h) {
            self.release(old);
        }
    }

    fn put_session(&mut self, session: MPI_Session, h: Handler) {
        self.retain(h);
        if let Some(old) = self.by_session.insert(session.0, h) {
            self.release(old);
        }
    }

    /// A handle to return from `MPI_*_get_errhandler`: a new reference.
    fn hand_out(&mut self, h: Handler) -> MPI_Errhandler {
        self.retain(h);
        handle_of(h)
    }
}

fn handle_of(h: Handler) -> MPI_Errhandler {
    match h {
        Handler::Fatal => MPI_ERRORS_ARE_FATAL,
        Handler::Abort => MPI_ERRORS_ABORT,
        Handler::Return => MPI_ERRORS_RETURN,
        Handler::User(h, _) => h,
    }
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
        table.put_comm(child, h);
    }
}

/// Forgets a freed communicator's handler.
pub(crate) fn forget_errhandler(comm: MPI_Comm) {
    let mut table = errhandlers();
    if let Some(old) = table.by_comm.remove(&comm) {
        table.release(old);
    }
}

/// Gives a new communicator the handler `h` (`MPI_Comm_create_from_group`).
pub(crate) fn set_comm_errhandler(comm: MPI_Comm, h: MPI_Errhandler) -> Result<()> {
    let mut table = errhandlers();
    let handler = table.resolve(h, ErrKind::Comm)?;
    table.put_comm(comm, handler);
    Ok(())
}

/// Gives a session its handler (`MPI_Session_init`, `MPI_Session_set_errhandler`).
pub(crate) fn set_session_errhandler(session: MPI_Session, h: MPI_Errhandler) -> Result<()> {
    let mut table = errhandlers();
    let handler = table.resolve(h, ErrKind::Session)?;
    table.put_session(session, handler);
    Ok(())
}

/// Forgets a finalized session's handler.
pub(crate) fn forget_session(session: MPI_Session) {
    let mut table = errhandlers();
    if let Some(old) = table.by_session.remove(&session.0) {
        table.release(old);
    }
}

/// Runs `handler` for `code` on the object whose handle bits are `object`; `Fatal` and `Abort`
/// end the job with `message`. Returns the code the failing call returns.
fn invoke(handler: Handler, object: usize, mut code: c_int, message: impl FnOnce() -> String) -> c_int {
    match handler {
        Handler::Return => code,
        Handler::User(_, f) => {
            let mut o = object;
            // SAFETY: `f` is the application's handler, registered through
            // MPI_*_create_errhandler for this kind of object, whose handle is `o`'s bits.
            unsafe { f(&mut o, &mut code) };
            code
        }
        Handler::Fatal | Handler::Abort => {
            let message = message();
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

fn fatal_message(name: &str, err: &MpiError, code: c_int) -> String {
    let rank = crate::engine().map(|e| e.rank()).unwrap_or(0);
    format!("ferrompi: rank {rank}: {name}: {} ({})", err.message, class_name(code))
}

/// Raises `err` on `comm`'s error handler and returns the code the call must return.
pub fn raise(comm: MPI_Comm, name: &str, err: MpiError) -> c_int {
    let code = class_code(err.class);
    invoke(handler_of(comm), comm.0, code, || fatal_message(name, &err, code))
}

/// Like [`api`] for calls on a session: errors go to the session's handler, or to
/// `MPI_COMM_SELF`'s when the handle names no live session.
pub fn api_session(session: MPI_Session, name: &'static str, body: impl FnOnce() -> Result<()>) -> c_int {
    match body() {
        Ok(()) => MPI_SUCCESS,
        Err(e) => raise_session(session, name, e),
    }
}

pub(crate) fn raise_session(session: MPI_Session, name: &str, err: MpiError) -> c_int {
    let handler = errhandlers().by_session.get(&session.0).copied();
    match handler {
        Some(h) => {
            let code = class_code(err.class);
            invoke(h, session.0, code, || fatal_message(name, &err, code))
        }
        None => raise(MPI_COMM_SELF, name, err),
    }
}

/// Raises `err` on the handler `h` that a creating call was given for the object it creates
/// (`MPI_Session_init`, `MPI_Comm_create_from_group`: the standard has the handler "also
/// invoked if the call encounters an error"), with the kind's null handle as the object; on
/// `MPI_COMM_SELF`'s handler when `h` is not a usable one.
pub(crate) fn raise_with(h: MPI_Errhandler, kind: ErrKind, name: &str, err: MpiError) -> c_int {
    let handler = errhandlers().resolve(h, kind);
    let null = match kind {
        ErrKind::Comm => MPI_COMM_NULL.0,
        ErrKind::Win => MPI_WIN_NULL.0,
        ErrKind::File => MPI_FILE_NULL.0,
        ErrKind::Session => MPI_SESSION_NULL.0,
    };
    match handler {
        Ok(handler) => {
            let code = class_code(err.class);
            invoke(handler, null, code, || fatal_message(name, &err, code))
        }
        Err(_) => raise(MPI_COMM_SELF, name, err),
    }
}

/// Checks that `h` can go on an object of `kind`, before anything is created with it.
pub(crate) fn check_errhandler(h: MPI_Errhandler, kind: ErrKind) -> Result<()> {
    errhandlers().resolve(h, kind).map(|_| ())
}

/// Raises `err` on the default file error handler: errors of file calls on invalid handles.
fn raise_file(name: &str, err: MpiError) -> c_int {
    let handler = errhandlers().file_default.unwrap_or(Handler::Return);
    let code = class_code(err.class);
    invoke(handler, MPI_FILE_NULL.0, code, || fatal_message(name, &err, code))
}

fn class_name(code: c_int) -> &'static str {
    let text = CLASS_TEXT.get(code as usize).copied().unwrap_or("MPI_ERR_UNKNOWN: unknown error");
    text.split(':').next().unwrap_or(text)
}

// ---- MPI functions ----------------------------------------------------------------------

#[no_mangle]
pub unsafe extern "C" fn PMPI_Error_class(errorcode: c_int, errorclass: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Error_class", || {
        let class = if is_predefined_class(errorcode) {
            errorcode
        } else {
            match crate::errcodes::class_of(errorcode) {
                Some(class) => class,
                None => return mpi_core::error::fail(ErrorClass::Arg, format!("{errorcode} is not an error code")),
            }
        };
        crate::out(errorclass, class)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Error_string(errorcode: c_int, string: *mut c_char, resultlen: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Error_string", || {
        if let Some(text) = usize::try_from(errorcode).ok().and_then(|c| CLASS_TEXT.get(c)) {
            return write_c_string(string, resultlen, text, MPI_MAX_ERROR_STRING);
        }
        let Some(text) = crate::errcodes::string_of(errorcode) else {
            return mpi_core::error::fail(ErrorClass::Arg, format!("{errorcode} is not an error code"));
        };
        write_c_string(string, resultlen, &text, MPI_MAX_ERROR_STRING)
    })
}

/// `MPI_*_create_errhandler`: a handle for `f`, usable on objects of `kind` only.
unsafe fn create_errhandler(kind: ErrKind, f: Option<UserFn>, errhandler: *mut MPI_Errhandler) -> Result<()> {
    let Some(f) = f else {
        return mpi_core::error::fail(ErrorClass::Arg, "null error handler function");
    };
    if errhandler.is_null() {
        return mpi_core::error::fail(ErrorClass::Arg, "null errhandler argument");
    }
    let id = errhandlers().user.insert(UserHandler { kind, f, refs: 1 });
    unsafe { crate::out(errhandler, MPI_Errhandler(id.token() as usize)) }
}

/// A handler function of any kind as the common [`UserFn`] (the handle argument is
/// pointer-sized for every kind).
macro_rules! user_fn {
    ($f:expr, $handle:ty) => {
        // SAFETY: the two function pointer types differ only in a pointer-sized pointee.
        $f.map(|f| unsafe { std::mem::transmute::<unsafe extern "C" fn(*mut $handle, *mut c_int, ...), UserFn>(f) })
    };
}

/// The error code a handler is called with by `MPI_*_call_errhandler`: codes no class has are
/// passed as `MPI_ERR_UNKNOWN`; added ones as they are.
fn call_code(errorcode: c_int) -> c_int {
    if is_predefined_class(errorcode) || crate::errcodes::class_of(errorcode).is_some() {
        errorcode
    } else {
        MPI_ERR_UNKNOWN
    }
}

fn call_message(name: &str, errorcode: c_int) -> String {
    format!("ferrompi: {name}: error {errorcode} ({})", class_name(call_code(errorcode)))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_create_errhandler(
    comm_errhandler_fn: MPI_Comm_errhandler_function,
    errhandler: *mut MPI_Errhandler,
) -> c_int {
    let f = user_fn!(comm_errhandler_fn, MPI_Comm);
    api(MPI_COMM_SELF, "MPI_Comm_create_errhandler", || unsafe { create_errhandler(ErrKind::Comm, f, errhandler) })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_set_errhandler(comm: MPI_Comm, errhandler: MPI_Errhandler) -> c_int {
    api(comm, "MPI_Comm_set_errhandler", || {
        handles::comm(comm)?;
        let mut table = errhandlers();
        let handler = table.resolve(errhandler, ErrKind::Comm)?;
        table.put_comm(comm, handler);
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_get_errhandler(comm: MPI_Comm, errhandler: *mut MPI_Errhandler) -> c_int {
    api(comm, "MPI_Comm_get_errhandler", || {
        handles::comm(comm)?;
        if errhandler.is_null() {
            return mpi_core::error::fail(ErrorClass::Arg, "null errhandler argument");
        }
        let h = handler_of(comm);
        crate::out(errhandler, errhandlers().hand_out(h))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Errhandler_free(errhandler: *mut MPI_Errhandler) -> c_int {
    api(MPI_COMM_SELF, "MPI_Errhandler_free", || {
        let h = crate::read(errhandler)?;
        if h.0 >= 4096 {
            let mut table = errhandlers();
            let Some(f) = table.user.get(eh_id(h)).map(|u| u.f) else {
                return mpi_core::error::fail(ErrorClass::Errhandler, format!("invalid error handler {:#x}", h.0));
            };
            table.release(Handler::User(h, f));
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
    invoke(handler_of(comm), comm.0, call_code(errorcode), || call_message("MPI_Comm_call_errhandler", errorcode));
    // The standard: MPI_Comm_call_errhandler returns MPI_SUCCESS if the handler returned.
    MPI_SUCCESS
}

// ---- windows (the windows themselves are win.rs) ------------------------------------------

/// Like [`api`] for calls on a window: errors go to the window's handler, or to
/// `MPI_COMM_SELF`'s when the handle names no live window.
pub fn api_win(win: MPI_Win, name: &'static str, body: impl FnOnce() -> Result<()>) -> c_int {
    match body() {
        Ok(()) => MPI_SUCCESS,
        Err(e) => raise_win(win, name, e),
    }
}

pub(crate) fn raise_win(win: MPI_Win, name: &str, err: MpiError) -> c_int {
    match win_handler(win) {
        Ok(h) => {
            let code = class_code(err.class);
            invoke(h, win.0, code, || fatal_message(name, &err, code))
        }
        Err(_) => raise(MPI_COMM_SELF, name, err),
    }
}

/// A live window's handler (`MPI_ERR_WIN` for anything else); `MPI_ERRORS_ARE_FATAL` unless set.
fn win_handler(win: MPI_Win) -> Result<Handler> {
    crate::win::live(win)?;
    Ok(errhandlers().by_win.get(&win.0).copied().unwrap_or(Handler::Fatal))
}

/// Forgets a freed window's handler.
pub(crate) fn forget_win(win: MPI_Win) {
    let mut table = errhandlers();
    if let Some(old) = table.by_win.remove(&win.0) {
        table.release(old);
    }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_create_errhandler(win_errhandler_fn: MPI_Win_errhandler_function, errhandler: *mut MPI_Errhandler) -> c_int {
    let f = user_fn!(win_errhandler_fn, MPI_Win);
    api(MPI_COMM_SELF, "MPI_Win_create_errhandler", || unsafe { create_errhandler(ErrKind::Win, f, errhandler) })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_set_errhandler(win: MPI_Win, errhandler: MPI_Errhandler) -> c_int {
    api_win(win, "MPI_Win_set_errhandler", || {
        win_handler(win)?;
        let mut table = errhandlers();
        let h = table.resolve(errhandler, ErrKind::Win)?;
        table.retain(h);
        if let Some(old) = table.by_win.insert(win.0, h) {
            table.release(old);
        }
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_get_errhandler(win: MPI_Win, errhandler: *mut MPI_Errhandler) -> c_int {
    api_win(win, "MPI_Win_get_errhandler", || {
        let h = win_handler(win)?;
        if errhandler.is_null() {
            return mpi_core::error::fail(ErrorClass::Arg, "null errhandler argument");
        }
        let h = errhandlers().hand_out(h);
        unsafe { crate::out(errhandler, h) }
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_call_errhandler(win: MPI_Win, errorcode: c_int) -> c_int {
    const NAME: &str = "MPI_Win_call_errhandler";
    match win_handler(win) {
        Ok(h) => {
            invoke(h, win.0, call_code(errorcode), || call_message(NAME, errorcode));
            MPI_SUCCESS
        }
        Err(e) => raise_win(win, NAME, e),
    }
}

// ---- files: the default file handler; no file can be opened yet --------------------------

/// Files are not implemented yet (I/O, a later issue): `MPI_FILE_NULL` stands for the default
/// file error handler, as the standard says (MPI-5.0 §15.7); any other handle is `MPI_ERR_FILE`,
/// raised on that default handler (`MPI_ERRORS_RETURN` unless changed).
fn no_file(file: MPI_File) -> MpiError {
    MpiError::new(ErrorClass::File, format!("invalid file handle {:#x} (files are not implemented yet)", file.0))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_File_create_errhandler(file_errhandler_fn: MPI_File_errhandler_function, errhandler: *mut MPI_Errhandler) -> c_int {
    let f = user_fn!(file_errhandler_fn, MPI_File);
    api(MPI_COMM_SELF, "MPI_File_create_errhandler", || unsafe { create_errhandler(ErrKind::File, f, errhandler) })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_File_set_errhandler(file: MPI_File, errhandler: MPI_Errhandler) -> c_int {
    const NAME: &str = "MPI_File_set_errhandler";
    if file != MPI_FILE_NULL {
        return raise_file(NAME, no_file(file));
    }
    let mut table = errhandlers();
    match table.resolve(errhandler, ErrKind::File) {
        Ok(h) => {
            table.retain(h);
            if let Some(old) = table.file_default.replace(h) {
                table.release(old);
            }
            MPI_SUCCESS
        }
        Err(e) => {
            drop(table);
            raise_file(NAME, e)
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_File_get_errhandler(file: MPI_File, errhandler: *mut MPI_Errhandler) -> c_int {
    const NAME: &str = "MPI_File_get_errhandler";
    if file != MPI_FILE_NULL {
        return raise_file(NAME, no_file(file));
    }
    if errhandler.is_null() {
        return raise_file(NAME, MpiError::new(ErrorClass::Arg, "null errhandler argument"));
    }
    let mut table = errhandlers();
    let h = table.file_default.unwrap_or(Handler::Return);
    let h = table.hand_out(h);
    drop(table);
    match unsafe { crate::out(errhandler, h) } {
        Ok(()) => MPI_SUCCESS,
        Err(e) => raise_file(NAME, e),
    }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_File_call_errhandler(fh: MPI_File, errorcode: c_int) -> c_int {
    const NAME: &str = "MPI_File_call_errhandler";
    if fh != MPI_FILE_NULL {
        return raise_file(NAME, no_file(fh));
    }
    let handler = errhandlers().file_default.unwrap_or(Handler::Return);
    invoke(handler, fh.0, call_code(errorcode), || call_message(NAME, errorcode));
    MPI_SUCCESS
}

// ---- sessions (the sessions themselves are session.rs) -----------------------------------

#[no_mangle]
pub unsafe extern "C" fn PMPI_Session_create_errhandler(session_errhandler_fn: MPI_Session_errhandler_function, errhandler: *mut MPI_Errhandler) -> c_int {
    let f = user_fn!(session_errhandler_fn, MPI_Session);
    api(MPI_COMM_SELF, "MPI_Session_create_errhandler", || unsafe { create_errhandler(ErrKind::Session, f, errhandler) })
}

/// A live session's handler (`MPI_ERR_SESSION` for anything else).
fn session_handler(session: MPI_Session) -> Result<Handler> {
    match errhandlers().by_session.get(&session.0) {
        Some(&h) => Ok(h),
        None => mpi_core::error::fail(ErrorClass::Session, format!("invalid session handle {:#x}", session.0)),
    }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Session_set_errhandler(session: MPI_Session, errhandler: MPI_Errhandler) -> c_int {
    api_session(session, "MPI_Session_set_errhandler", || {
        session_handler(session)?;
        set_session_errhandler(session, errhandler)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Session_get_errhandler(session: MPI_Session, errhandler: *mut MPI_Errhandler) -> c_int {
    api_session(session, "MPI_Session_get_errhandler", || {
        let h = session_handler(session)?;
        if errhandler.is_null() {
            return mpi_core::error::fail(ErrorClass::Arg, "null errhandler argument");
        }
        let h = errhandlers().hand_out(h);
        unsafe { crate::out(errhandler, h) }
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Session_call_errhandler(session: MPI_Session, errorcode: c_int) -> c_int {
    const NAME: &str = "MPI_Session_call_errhandler";
    match session_handler(session) {
        Ok(h) => {
            invoke(h, session.0, call_code(errorcode), || call_message(NAME, errorcode));
            MPI_SUCCESS
        }
        Err(e) => raise_session(session, NAME, e),
    }
}
