//! `mpi-core`: the MPI engine.
//!
//! See `docs/architecture.md` for the layers. The engine knows no C types and no libfabric;
//! transports move bytes between ranks and know no MPI semantics.

pub mod board;
pub mod buffer;
pub mod collective;
pub mod datatype;
pub mod engine;
pub mod error;
pub mod group;
pub mod info;
pub mod matching;
pub mod op;
pub mod packet;
pub mod protocol;
pub mod rma;
pub mod schedule;
pub mod slab;
pub mod transport;
pub mod tuning;
pub mod typemap;
pub mod world;
