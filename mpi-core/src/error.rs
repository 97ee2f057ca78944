//! MPI errors as the engine reports them.
//!
//! The engine names error classes; the `abi` crate maps them to the standard ABI's integer
//! values and runs the communicator's error handler. Nothing in the engine panics on bad input:
//! every invalid argument becomes an `MpiError` with the class the standard names.

use std::fmt;

/// The MPI error classes (MPI-5.0 §9.4). Only the names live here; `abi` owns the numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    Buffer,
    Count,
    Type,
    Tag,
    Comm,
    Rank,
    Request,
    Root,
    Group,
    Op,
    Topology,
    Dims,
    Arg,
    Unknown,
    Truncate,
    Other,
    Intern,
    InStatus,
    Pending,
    Keyval,
    NoMem,
    Base,
    InfoKey,
    InfoValue,
    InfoNokey,
    Info,
    Spawn,
    Port,
    Service,
    Name,
    Win,
    Size,
    Disp,
    Locktype,
    Assert,
    RmaConflict,
    RmaSync,
    RmaRange,
    RmaAttach,
    RmaShared,
    RmaFlavor,
    File,
    NotSame,
    Amode,
    UnsupportedDatarep,
    UnsupportedOperation,
    NoSuchFile,
    FileExists,
    BadFile,
    Access,
    NoSpace,
    Quota,
    ReadOnly,
    FileInUse,
    DupDatarep,
    Conversion,
    Io,
    Session,
    ProcAborted,
    ValueTooLarge,
    Errhandler,
}

/// An error with its class and a message for `MPI_Error_string` and fatal handlers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MpiError {
    pub class: ErrorClass,
    pub message: String,
}

impl MpiError {
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        MpiError { class, message: message.into() }
    }
}

impl fmt::Display for MpiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.class, self.message)
    }
}

impl std::error::Error for MpiError {}

pub type Result<T> = std::result::Result<T, MpiError>;

/// Shorthand for `Err(MpiError::new(..))`.
pub fn fail<T>(class: ErrorClass, message: impl Into<String>) -> Result<T> {
    Err(MpiError::new(class, message))
}
