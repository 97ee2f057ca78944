//! User-defined error classes, codes and strings (MPI-4.1 9.5): `MPI_Add_error_class`,
//! `MPI_Add_error_code`, `MPI_Add_error_string` and their `MPI_Remove_` counterparts.
//!
//! Added values are numbered from `MPI_ERR_LASTCODE + 1` up, classes and codes from one
//! counter, so every value names one class or one code; `MPI_LASTUSEDCODE` (the attribute on
//! `MPI_COMM_WORLD`) is the largest handed out. They are local to the process, as the standard
//! allows: a program adds them in the same order everywhere to get the same values.

use std::collections::BTreeMap;
use std::ffi::{c_char, c_int, CStr};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, MutexGuard};

use mpi_core::error::{fail, ErrorClass, Result};

use crate::errors::api;
use crate::generated::consts::*;
use crate::out;

/// The value `MPI_LASTUSEDCODE` points to: it must stay at one address for the attribute.
pub(crate) static LAST_USED: AtomicI32 = AtomicI32::new(MPI_ERR_LASTCODE);

struct Added {
    /// The class of a code; a class is its own.
    class: c_int,
    string: String,
}

#[derive(Default)]
struct Table {
    added: BTreeMap<c_int, Added>,
}

static TABLE: Mutex<Table> = Mutex::new(Table { added: BTreeMap::new() });

fn table() -> MutexGuard<'static, Table> {
    TABLE.lock().unwrap_or_else(|e| e.into_inner())
}

impl Table {
    fn add(&mut self, class: Option<c_int>) -> Result<c_int> {
        let last = LAST_USED.load(Ordering::Relaxed);
        let Some(value) = last.checked_add(1) else {
            return fail(ErrorClass::Other, "no error code left to add");
        };
        self.added.insert(value, Added { class: class.unwrap_or(value), string: String::new() });
        LAST_USED.store(value, Ordering::Relaxed);
        Ok(value)
    }

    fn is_class(&self, value: c_int) -> bool {
        self.added.get(&value).is_some_and(|a| a.class == value)
    }

    fn added(&mut self, value: c_int) -> Result<&mut Added> {
        match self.added.get_mut(&value) {
            Some(a) => Ok(a),
            None => fail(ErrorClass::Arg, format!("{value} is no error class or code added by MPI_Add_error_class/code")),
        }
    }
}

/// The class of an added class or code (`None` for any other value).
pub(crate) fn class_of(value: c_int) -> Option<c_int> {
    table().added.get(&value).map(|a| a.class)
}

/// The string of an added class or code (empty until `MPI_Add_error_string`).
pub(crate) fn string_of(value: c_int) -> Option<String> {
    table().added.get(&value).map(|a| a.string.clone())
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Add_error_class(errorclass: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Add_error_class", || {
        let value = table().add(None)?;
        unsafe { out(errorclass, value) }
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Add_error_code(errorclass: c_int, errorcode: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Add_error_code", || {
        let mut t = table();
        // A predefined class (0..=MPI_ERR_LASTCODE's predefined ones) or an added one.
        let predefined = crate::errors::is_predefined_class(errorclass);
        if !predefined && !t.is_class(errorclass) {
            return fail(ErrorClass::Arg, format!("{errorclass} is not an error class"));
        }
        let value = t.add(Some(errorclass))?;
        unsafe { out(errorcode, value) }
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Add_error_string(errorcode: c_int, string: *const c_char) -> c_int {
    api(MPI_COMM_SELF, "MPI_Add_error_string", || {
        if string.is_null() {
            return fail(ErrorClass::Arg, "null string");
        }
        // SAFETY: a NUL-terminated string from the application.
        let text = unsafe { CStr::from_ptr(string) }.to_string_lossy().into_owned();
        if text.len() >= MPI_MAX_ERROR_STRING as usize {
            return fail(ErrorClass::Arg, format!("error string of {} characters (at most {})", text.len(), MPI_MAX_ERROR_STRING - 1));
        }
        // Strings of predefined classes and codes cannot change (MPI_ERR_ARG, as in MPICH).
        table().added(errorcode)?.string = text;
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Remove_error_string(errorcode: c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Remove_error_string", || {
        table().added(errorcode)?.string.clear();
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Remove_error_code(errorcode: c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Remove_error_code", || {
        let mut t = table();
        let a = t.added(errorcode)?;
        if a.class == errorcode {
            return fail(ErrorClass::Arg, format!("{errorcode} is an error class, not a code"));
        }
        // MPI-4.1 9.5: a code with a string attached cannot be removed.
        if !a.string.is_empty() {
            return fail(ErrorClass::Arg, format!("error code {errorcode} still has a string"));
        }
        t.added.remove(&errorcode);
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Remove_error_class(errorclass: c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Remove_error_class", || {
        let mut t = table();
        let a = t.added(errorclass)?;
        if a.class != errorclass {
            return fail(ErrorClass::Arg, format!("{errorclass} is an error code, not a class"));
        }
        // MPI-4.1 9.5: a class with a string or with codes of its own cannot be removed.
        if !a.string.is_empty() {
            return fail(ErrorClass::Arg, format!("error class {errorclass} still has a string"));
        }
        if t.added.iter().any(|(&v, a)| v != errorclass && a.class == errorclass) {
            return fail(ErrorClass::Arg, format!("error class {errorclass} still has error codes"));
        }
        t.added.remove(&errorclass);
        Ok(())
    })
}
