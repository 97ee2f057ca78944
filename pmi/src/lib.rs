//! PMI-1 / PMI-2 wire protocols.
//!
//! * [`wire`]: codec for both protocols (no I/O).
//! * [`Client`]: what the MPI library uses at init (`Client::from_env`).
//! * [`server`]: request handling, KVS and fence accounting for `mpirun` and, later, the
//!   per-host daemon (see the module docs for how a fence is relayed).
//!
//! Wire facts: `/work/shared/reference/pmi.md` (hydra and Slurm behaviour).

pub mod client;
pub mod server;
pub mod wire;

pub use client::{Client, Options, Protocol};
pub use server::{Action, JobInfo, Kvs, NodeServer};
pub use wire::{Decoder, Message, Wire, WireError};
