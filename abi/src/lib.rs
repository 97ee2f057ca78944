//! The MPI-5 standard ABI.
