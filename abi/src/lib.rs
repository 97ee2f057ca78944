//! The MPI-5 standard ABI.

pub mod errors;

// Written by abi/gen/generate.py: types, constants, the MPI_ -> PMPI_ forwarders
// and PMPI_ stubs for every function not hand-written.  The forwarders call
// `crate::PMPI_Xxx`, so every hand-written PMPI_ function must be re-exported
// here at the crate root as well (e.g. `pub use comm::*;`).
#[rustfmt::skip]
pub mod generated;
pub use generated::consts::*;
pub use generated::types::*;
pub use generated::unsupported::*;
