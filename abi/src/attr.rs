//! Communicator attributes. Issue 2 has the predefined attributes of MPI_COMM_WORLD and
//! MPI_COMM_SELF; user keyvals come with issue 4.

use std::ffi::c_void;
use std::sync::OnceLock;

use mpi_core::engine::TAG_UB;
use mpi_core::error::{fail, ErrorClass};

use crate::errors::api;
use crate::generated::consts::*;
use crate::generated::types::*;
use crate::{engine, handles, out};

/// Values of the predefined attributes, at stable addresses: the standard hands out a
/// pointer to the value, not the value.
struct Predefined {
    tag_ub: c_int,
    host: c_int,
    io: c_int,
    wtime_is_global: c_int,
    appnum: c_int,
    universe_size: c_int,
    lastusedcode: c_int,
}

static PREDEFINED: OnceLock<Predefined> = OnceLock::new();

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_get_attr(comm: MPI_Comm, comm_keyval: c_int, attribute_val: *mut c_void, flag: *mut c_int) -> c_int {
    api(comm, "MPI_Comm_get_attr", || {
        let e = engine()?;
        handles::comm(comm)?;
        if flag.is_null() || attribute_val.is_null() {
            return fail(ErrorClass::Arg, "null flag or attribute_val argument");
        }
        let p = PREDEFINED.get_or_init(|| Predefined {
            tag_ub: TAG_UB,
            // No process is the host; every process can do I/O; clocks are not synchronised.
            host: MPI_PROC_NULL,
            io: MPI_ANY_SOURCE,
            wtime_is_global: 0,
            appnum: e.appnum(),
            universe_size: e.size() as c_int,
            lastusedcode: MPI_ERR_LASTCODE,
        });
        let value: Option<&c_int> = match comm_keyval {
            MPI_TAG_UB => Some(&p.tag_ub),
            MPI_HOST => Some(&p.host),
            MPI_IO => Some(&p.io),
            MPI_WTIME_IS_GLOBAL => Some(&p.wtime_is_global),
            // A launcher that does not know the application number (Slurm says -1) leaves it unset.
            MPI_APPNUM => (p.appnum >= 0).then_some(&p.appnum),
            MPI_UNIVERSE_SIZE => Some(&p.universe_size),
            MPI_LASTUSEDCODE => Some(&p.lastusedcode),
            _ => return fail(ErrorClass::Keyval, format!("keyval {comm_keyval} is not a predefined attribute (user keyvals are not implemented yet)")),
        };
        match value {
            Some(v) => {
                // `attribute_val` is declared `void *` but points to the caller's `void *`.
                out(attribute_val as *mut *const c_int, v as *const c_int)?;
                out(flag, 1)
            }
            None => out(flag, 0),
        }
    })
}
