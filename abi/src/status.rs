//! `MPI_Status`: how the engine's status is stored in the C struct, and the status queries.
//!
//! The five `MPI_internal` ints hold: [0], [1] the received byte count (low, high 32 bits), as
//! bytes of memory layout (a `MPI_DOUBLE_INT` counts 16, its extent);
//! [2] 1 if the request was cancelled; [3], [4] unused (zero).

use mpi_core::error::{ErrorClass, MpiError, Result};
use mpi_core::protocol::Status;

use crate::errors::{api, class_code};
use crate::generated::consts::*;
use crate::generated::types::*;
use crate::{handles, out};

/// Fills a status the application passed (null is `MPI_STATUS_IGNORE`). `MPI_ERROR` is left
/// alone: single-completion calls report errors through their return code.
pub(crate) unsafe fn write_status(ptr: *mut MPI_Status, st: &Status) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: non-null status pointer from the application.
    let s = unsafe { &mut *ptr };
    s.MPI_SOURCE = st.source;
    s.MPI_TAG = st.tag;
    let bytes = st.bytes as u64;
    s.MPI_internal = [bytes as u32 as c_int, (bytes >> 32) as u32 as c_int, st.cancelled as c_int, 0, 0];
}

/// Like `write_status`, and sets `MPI_ERROR` (multiple-completion calls).
pub(crate) unsafe fn write_status_with_error(ptr: *mut MPI_Status, st: &Status) {
    if ptr.is_null() {
        return;
    }
    unsafe {
        write_status(ptr, st);
        (*ptr).MPI_ERROR = st.error.map_or(MPI_SUCCESS, class_code);
    }
}

/// The error a completed request carries, as a `Result`.
pub(crate) fn check(st: &Status) -> Result<()> {
    match st.error {
        None => Ok(()),
        Some(ErrorClass::Truncate) => Err(MpiError::new(
            ErrorClass::Truncate,
            format!("message from rank {} with tag {} truncated to the {}-byte receive buffer", st.source, st.tag, st.bytes),
        )),
        Some(class) => Err(MpiError::new(class, "request completed with an error")),
    }
}

fn status_bytes(s: &MPI_Status) -> u64 {
    (s.MPI_internal[0] as u32 as u64) | ((s.MPI_internal[1] as u32 as u64) << 32)
}

/// Elements of `datatype` in the status's byte count, or `MPI_UNDEFINED`.
fn count_of(status: *const MPI_Status, datatype: MPI_Datatype) -> Result<MPI_Count> {
    let s = unsafe { crate::read(status)? };
    let bytes = status_bytes(&s);
    // Data arrives as the packed stream of the type (for contiguous types, their memory
    // image): its size per element.
    let size = handles::type_map(datatype)?.size() as u64;
    Ok(match (size, bytes) {
        (0, 0) => 0,
        (0, _) => MPI_UNDEFINED as MPI_Count,
        (size, bytes) if bytes % size != 0 => MPI_UNDEFINED as MPI_Count,
        (size, bytes) => (bytes / size) as MPI_Count,
    })
}

fn narrow(n: MPI_Count) -> c_int {
    c_int::try_from(n).unwrap_or(MPI_UNDEFINED)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Get_count_c(status: *const MPI_Status, datatype: MPI_Datatype, count: *mut MPI_Count) -> c_int {
    api(MPI_COMM_SELF, "MPI_Get_count", || out(count, count_of(status, datatype)?))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Get_count(status: *const MPI_Status, datatype: MPI_Datatype, count: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Get_count", || out(count, narrow(count_of(status, datatype)?)))
}

/// Basic elements in the status's byte count (a MAXLOC pair is two), or `MPI_UNDEFINED`.
fn elements_of(status: *const MPI_Status, datatype: MPI_Datatype) -> Result<MPI_Count> {
    let s = unsafe { crate::read(status)? };
    let bytes = status_bytes(&s) as usize;
    let n = handles::type_map(datatype)?.elements_in(bytes);
    Ok(n.map_or(MPI_UNDEFINED as MPI_Count, |n| n as MPI_Count))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Get_elements_c(status: *const MPI_Status, datatype: MPI_Datatype, count: *mut MPI_Count) -> c_int {
    api(MPI_COMM_SELF, "MPI_Get_elements", || out(count, elements_of(status, datatype)?))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Get_elements(status: *const MPI_Status, datatype: MPI_Datatype, count: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Get_elements", || out(count, narrow(elements_of(status, datatype)?)))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Get_elements_x(status: *const MPI_Status, datatype: MPI_Datatype, count: *mut MPI_Count) -> c_int {
    PMPI_Get_elements_c(status, datatype, count)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Status_set_elements_c(status: *mut MPI_Status, datatype: MPI_Datatype, count: MPI_Count) -> c_int {
    api(MPI_COMM_SELF, "MPI_Status_set_elements", || {
        let bytes = handles::extent_bytes(count, datatype)? as u64;
        let mut s = crate::read(status)?;
        s.MPI_internal[0] = bytes as u32 as c_int;
        s.MPI_internal[1] = (bytes >> 32) as u32 as c_int;
        out(status, s)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Status_set_elements(status: *mut MPI_Status, datatype: MPI_Datatype, count: c_int) -> c_int {
    PMPI_Status_set_elements_c(status, datatype, count.into())
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Test_cancelled(status: *const MPI_Status, flag: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Test_cancelled", || {
        let s = crate::read(status)?;
        out(flag, (s.MPI_internal[2] != 0) as c_int)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Status_set_cancelled(status: *mut MPI_Status, flag: c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Status_set_cancelled", || {
        let mut s = crate::read(status)?;
        s.MPI_internal[2] = (flag != 0) as c_int;
        out(status, s)
    })
}

macro_rules! status_field {
    ($get:ident, $set:ident, $name_get:literal, $name_set:literal, $field:ident) => {
        #[no_mangle]
        pub unsafe extern "C" fn $get(status: *const MPI_Status, value: *mut c_int) -> c_int {
            api(MPI_COMM_SELF, $name_get, || out(value, crate::read(status)?.$field))
        }

        #[no_mangle]
        pub unsafe extern "C" fn $set(status: *mut MPI_Status, value: c_int) -> c_int {
            api(MPI_COMM_SELF, $name_set, || {
                let mut s = crate::read(status)?;
                s.$field = value;
                out(status, s)
            })
        }
    };
}

// fn PMPI_Status_get_source fn PMPI_Status_set_source fn PMPI_Status_get_tag
// fn PMPI_Status_set_tag fn PMPI_Status_get_error fn PMPI_Status_set_error
status_field!(PMPI_Status_get_source, PMPI_Status_set_source, "MPI_Status_get_source", "MPI_Status_set_source", MPI_SOURCE);
status_field!(PMPI_Status_get_tag, PMPI_Status_set_tag, "MPI_Status_get_tag", "MPI_Status_set_tag", MPI_TAG);
status_field!(PMPI_Status_get_error, PMPI_Status_set_error, "MPI_Status_get_error", "MPI_Status_set_error", MPI_ERROR);
