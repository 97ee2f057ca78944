//! `MPI_<Handle>_toint` / `_fromint` (the standard ABI's replacement for c2f/f2c), and
//! address arithmetic.
//!
//! A predefined handle converts to its own value. A library-created handle is a 64-bit token
//! that does not fit an `int`, so it gets a number >= 4096 from a table that maps both ways;
//! converting the same handle twice gives the same number. Entries are never removed: a
//! converted handle costs 16 bytes for the life of the process.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use crate::generated::types::*;

#[derive(Default)]
struct IntTable {
    handles: Vec<usize>,
    ints: HashMap<usize, c_int>,
}

static TABLE: LazyLock<Mutex<IntTable>> = LazyLock::new(Default::default);

const FIRST_INT: usize = 4096;

fn to_int(handle: usize) -> c_int {
    if handle < FIRST_INT {
        return handle as c_int;
    }
    let mut t = TABLE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(&i) = t.ints.get(&handle) {
        return i;
    }
    let i = (FIRST_INT + t.handles.len()) as c_int;
    t.handles.push(handle);
    t.ints.insert(handle, i);
    i
}

/// The handle an int stands for; 0 (never a valid handle) for an int no handle converted to.
fn from_int(i: c_int) -> usize {
    if i < 0 {
        return 0;
    }
    let i = i as usize;
    if i < FIRST_INT {
        return i;
    }
    let t = TABLE.lock().unwrap_or_else(|p| p.into_inner());
    t.handles.get(i - FIRST_INT).copied().unwrap_or(0)
}

macro_rules! convert {
    ($($handle:ident: $to:ident, $from:ident;)*) => {$(
        #[no_mangle]
        pub unsafe extern "C" fn $to(h: $handle) -> c_int {
            to_int(h.0)
        }

        #[no_mangle]
        pub unsafe extern "C" fn $from(i: c_int) -> $handle {
            $handle(from_int(i))
        }
    )*};
}

// fn PMPI_Comm_toint fn PMPI_Comm_fromint fn PMPI_Type_toint fn PMPI_Type_fromint
// fn PMPI_Errhandler_toint fn PMPI_Errhandler_fromint fn PMPI_File_toint fn PMPI_File_fromint
// fn PMPI_Group_toint fn PMPI_Group_fromint fn PMPI_Info_toint fn PMPI_Info_fromint
// fn PMPI_Message_toint fn PMPI_Message_fromint fn PMPI_Op_toint fn PMPI_Op_fromint
// fn PMPI_Request_toint fn PMPI_Request_fromint fn PMPI_Session_toint fn PMPI_Session_fromint
// fn PMPI_Win_toint fn PMPI_Win_fromint
convert! {
    MPI_Comm: PMPI_Comm_toint, PMPI_Comm_fromint;
    MPI_Datatype: PMPI_Type_toint, PMPI_Type_fromint;
    MPI_Errhandler: PMPI_Errhandler_toint, PMPI_Errhandler_fromint;
    MPI_File: PMPI_File_toint, PMPI_File_fromint;
    MPI_Group: PMPI_Group_toint, PMPI_Group_fromint;
    MPI_Info: PMPI_Info_toint, PMPI_Info_fromint;
    MPI_Message: PMPI_Message_toint, PMPI_Message_fromint;
    MPI_Op: PMPI_Op_toint, PMPI_Op_fromint;
    MPI_Request: PMPI_Request_toint, PMPI_Request_fromint;
    MPI_Session: PMPI_Session_toint, PMPI_Session_fromint;
    MPI_Win: PMPI_Win_toint, PMPI_Win_fromint;
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Aint_add(base: MPI_Aint, disp: MPI_Aint) -> MPI_Aint {
    base.wrapping_add(disp)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Aint_diff(addr1: MPI_Aint, addr2: MPI_Aint) -> MPI_Aint {
    addr1.wrapping_sub(addr2)
}
