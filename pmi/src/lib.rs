//! PMI-1 / PMI-2 wire protocols.
