//! Datatype queries: size, extent and true extent of predefined and derived types, from their
//! type maps (`mpi_core::typemap`). A predefined type's lower bound is 0, its extent `sizeof`
//! and its size the data bytes (less than the extent for pair types such as `MPI_DOUBLE_INT`);
//! both are 0 for optional types this build does not support. Constructors: `typector.rs`.

use mpi_core::error::Result;
use mpi_core::typemap::TypeMap;

use crate::errors::api;
use crate::generated::consts::*;
use crate::generated::types::*;
use crate::{handles, out};

fn size_of(datatype: MPI_Datatype) -> Result<MPI_Count> {
    Ok(handles::type_map(datatype)?.size() as MPI_Count)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_size_c(datatype: MPI_Datatype, size: *mut MPI_Count) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_size", || out(size, size_of(datatype)?))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_size(datatype: MPI_Datatype, size: *mut c_int) -> c_int {
    // A size an int cannot hold is MPI_UNDEFINED (MPI-5.0 §5.1.5).
    api(MPI_COMM_SELF, "MPI_Type_size", || out(size, c_int::try_from(size_of(datatype)?).unwrap_or(MPI_UNDEFINED)))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_size_x(datatype: MPI_Datatype, size: *mut MPI_Count) -> c_int {
    PMPI_Type_size_c(datatype, size)
}

fn bounds(t: &TypeMap) -> (i64, i64) {
    (t.lb(), t.extent())
}

fn true_bounds(t: &TypeMap) -> (i64, i64) {
    (t.true_lb(), t.true_extent())
}

macro_rules! extent_query {
    ($($pmpi:ident, $name:literal, $t:ty, $of:expr;)*) => {$(
        #[no_mangle]
        pub unsafe extern "C" fn $pmpi(datatype: MPI_Datatype, lb: *mut $t, extent: *mut $t) -> c_int {
            api(MPI_COMM_SELF, $name, || {
                let (l, e) = $of(&*handles::type_map(datatype)?);
                out(lb, l as $t)?;
                out(extent, e as $t)
            })
        }
    )*};
}

// fn PMPI_Type_get_extent fn PMPI_Type_get_extent_c fn PMPI_Type_get_extent_x
// fn PMPI_Type_get_true_extent fn PMPI_Type_get_true_extent_c fn PMPI_Type_get_true_extent_x
extent_query! {
    PMPI_Type_get_extent, "MPI_Type_get_extent", MPI_Aint, bounds;
    PMPI_Type_get_extent_c, "MPI_Type_get_extent", MPI_Count, bounds;
    PMPI_Type_get_extent_x, "MPI_Type_get_extent_x", MPI_Count, bounds;
    PMPI_Type_get_true_extent, "MPI_Type_get_true_extent", MPI_Aint, true_bounds;
    PMPI_Type_get_true_extent_c, "MPI_Type_get_true_extent", MPI_Count, true_bounds;
    PMPI_Type_get_true_extent_x, "MPI_Type_get_true_extent_x", MPI_Count, true_bounds;
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Get_address(location: *const std::ffi::c_void, address: *mut MPI_Aint) -> c_int {
    api(MPI_COMM_SELF, "MPI_Get_address", || out(address, location as MPI_Aint))
}
