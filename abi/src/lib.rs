//! `libmpi_abi.so.1`: the MPI-5 standard ABI over the `mpi-core` engine.
//!
//! This crate only translates: C handles into engine ids (`handles`), C buffers into
//! `UserBuf`s, engine errors into error codes raised through the error handler (`errors`).
//! `generated/` holds what `abi/gen/generate.py` writes from the MPI Forum's API description:
//! the types, the constants, an `MPI_Xxx` forwarder for every function (so that profiling
//! libraries can interpose) and a `PMPI_Xxx` stub for every function not written here.
//!
//! Pointers from the application are trusted to be valid for what the standard says they
//! point to, as in any C MPI library; null is checked wherever it could be passed by mistake.

#![allow(non_snake_case, clippy::missing_safety_doc)]

mod attr;
mod coll;
mod comm;
mod datatype;
mod errcodes;
mod errors;
mod gather;
mod gatherv;
mod generated;
mod group;
mod handles;
mod info;
mod init;
mod op;
mod p2p;
mod requests;
mod scan;
mod session;
mod status;
mod toint;
mod topo;
mod typector;
mod win;

use std::ffi::c_char;
use std::sync::OnceLock;

use mpi_core::engine::Engine;
use mpi_core::error::{fail, ErrorClass, Result};

pub use attr::*;
pub use comm::*;
pub use datatype::*;
pub use errcodes::*;
pub use errors::*;
pub use generated::collectives::*;
pub use generated::unsupported::*;
pub use group::*;
pub use info::*;
pub use init::*;
pub use op::*;
pub use p2p::*;
pub use requests::*;
pub use session::*;
pub use status::*;
pub use toint::*;
pub use topo::*;
pub use typector::*;
pub use win::*;

use generated::types::c_int;

static ENGINE: OnceLock<Engine> = OnceLock::new();

/// The engine, from the first `MPI_Init` or `MPI_Session_init` until the world model and every
/// session have been finalized (`init.rs`).
pub(crate) fn engine() -> Result<&'static Engine> {
    if init::is_finalized() {
        return fail(ErrorClass::Other, "MPI has been finalized");
    }
    match ENGINE.get() {
        Some(e) => Ok(e),
        None => fail(ErrorClass::Other, "MPI is not initialized"),
    }
}

/// Stores `value` through an output argument.
pub(crate) unsafe fn out<T>(ptr: *mut T, value: T) -> Result<()> {
    if ptr.is_null() {
        return fail(ErrorClass::Arg, "null output argument");
    }
    // SAFETY: non-null, and the application passes a pointer to a `T` as the standard asks.
    unsafe { ptr.write(value) };
    Ok(())
}

/// Reads an input-output argument.
pub(crate) unsafe fn read<T: Copy>(ptr: *const T) -> Result<T> {
    if ptr.is_null() {
        return fail(ErrorClass::Arg, "null argument");
    }
    // SAFETY: as in `out`.
    Ok(unsafe { ptr.read() })
}

/// Copies `text` into a C buffer of `max` bytes (NUL-terminated, truncated if needed) and
/// its length into `resultlen`.
pub(crate) unsafe fn write_c_string(buf: *mut c_char, resultlen: *mut c_int, text: &str, max: c_int) -> Result<()> {
    if buf.is_null() {
        return fail(ErrorClass::Arg, "null string buffer");
    }
    let n = text.len().min(max as usize - 1);
    // SAFETY: the standard sizes `buf` to `max` bytes; we write at most `max`.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf as *mut u8, n);
        *buf.add(n) = 0;
        out(resultlen, n as c_int)
    }
}
