//! Datatype queries. Issue 2 has the predefined types only: lower bound 0, extent `sizeof`,
//! size the data bytes (less than the extent for pair types such as `MPI_DOUBLE_INT`), and
//! both 0 for optional types this build does not support.

use mpi_core::datatype::Kind;
use mpi_core::error::Result;

use crate::errors::api;
use crate::generated::consts::*;
use crate::generated::types::*;
use crate::{handles, out};

fn size_of(datatype: MPI_Datatype) -> Result<MPI_Count> {
    Ok(handles::datatype(datatype)?.map_or(0, Kind::size) as MPI_Count)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_size_c(datatype: MPI_Datatype, size: *mut MPI_Count) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_size", || out(size, size_of(datatype)?))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_size(datatype: MPI_Datatype, size: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_size", || out(size, size_of(datatype)? as c_int))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_size_x(datatype: MPI_Datatype, size: *mut MPI_Count) -> c_int {
    PMPI_Type_size_c(datatype, size)
}

macro_rules! extent_query {
    ($($pmpi:ident, $name:literal, $t:ty, $of:expr;)*) => {$(
        #[no_mangle]
        pub unsafe extern "C" fn $pmpi(datatype: MPI_Datatype, lb: *mut $t, extent: *mut $t) -> c_int {
            api(MPI_COMM_SELF, $name, || {
                let e = handles::datatype(datatype)?.map_or(0, $of);
                out(lb, 0)?;
                out(extent, e as $t)
            })
        }
    )*};
}

// fn PMPI_Type_get_extent fn PMPI_Type_get_extent_c fn PMPI_Type_get_extent_x
// fn PMPI_Type_get_true_extent fn PMPI_Type_get_true_extent_c fn PMPI_Type_get_true_extent_x
extent_query! {
    PMPI_Type_get_extent, "MPI_Type_get_extent", MPI_Aint, Kind::extent;
    PMPI_Type_get_extent_c, "MPI_Type_get_extent", MPI_Count, Kind::extent;
    PMPI_Type_get_extent_x, "MPI_Type_get_extent_x", MPI_Count, Kind::extent;
    PMPI_Type_get_true_extent, "MPI_Type_get_true_extent", MPI_Aint, Kind::true_extent;
    PMPI_Type_get_true_extent_c, "MPI_Type_get_true_extent", MPI_Count, Kind::true_extent;
    PMPI_Type_get_true_extent_x, "MPI_Type_get_true_extent_x", MPI_Count, Kind::true_extent;
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Get_address(location: *const std::ffi::c_void, address: *mut MPI_Aint) -> c_int {
    api(MPI_COMM_SELF, "MPI_Get_address", || out(address, location as MPI_Aint))
}
