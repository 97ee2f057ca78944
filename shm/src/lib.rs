//! Intra-host shared-memory transport.
