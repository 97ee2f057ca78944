//! The transports as the engine drives them.
//!
//! A transport moves records of bytes between this process and its peers and knows nothing of
//! MPI; each numbers its peers its own way (shared memory by local rank, libfabric by world
//! rank) and the engine keeps the mapping. The progress engine polls every transport in turn.

use std::io;
use std::time::Duration;

pub trait Transport: Send + Sync {
    /// A short name for messages ("shm", "ofi tcp;ofi_rxm").
    fn name(&self) -> String;
    /// Largest record `try_send` accepts.
    fn max_record(&self) -> usize;
    /// Queues one record, the concatenation of `parts`, for `peer`; false when there is no
    /// room now (the caller keeps it and retries after progress).
    fn try_send(&self, peer: usize, parts: &[&[u8]]) -> bool;
    /// Calls `f(peer, record)` for each record that arrived; returns how many.
    fn poll(&self, f: &mut dyn FnMut(usize, &[u8])) -> usize;
    /// Whether single-copy reads and writes of `peer`'s memory work.
    fn single_copy(&self, _peer: usize) -> bool {
        false
    }
    /// Reads `dst.len()` bytes at `addr` in `peer`'s memory.
    fn read_remote(&self, _peer: usize, _addr: usize, _dst: &mut [u8]) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
    /// Writes `src` to `addr` in `peer`'s memory.
    fn write_remote(&self, _peer: usize, _addr: usize, _src: &[u8]) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
    /// Blocks until a record may have arrived (or room appeared), `wake_self` is called, or
    /// `timeout` passes; spurious returns are fine. A transport that cannot block sleeps
    /// briefly instead.
    fn wait(&self, timeout: Duration) {
        std::thread::sleep(timeout.min(Duration::from_micros(50)));
    }
    /// Ends a `wait` of another thread of this process.
    fn wake_self(&self) {}
    /// Whether a record `try_send` accepted may still be on its way when the sender exits (a
    /// network transport that needs the sender's progress to deliver). Such peers exchange
    /// goodbyes in `MPI_Finalize`.
    fn delivers_later(&self) -> bool {
        false
    }
    /// Makes progress until every send accepted so far has completed, or `timeout` passes.
    fn drain(&self, _timeout: Duration) {}
    /// An operation the transport could not complete (a failed completion), if one happened
    /// since the last call.
    fn take_error(&self) -> Option<io::Error> {
        None
    }
}

impl Transport for shm::Node {
    fn name(&self) -> String {
        "shm".into()
    }
    fn max_record(&self) -> usize {
        shm::Node::max_record(self)
    }
    fn try_send(&self, peer: usize, parts: &[&[u8]]) -> bool {
        shm::Node::try_send(self, peer, parts)
    }
    fn poll(&self, f: &mut dyn FnMut(usize, &[u8])) -> usize {
        shm::Node::poll(self, f)
    }
    fn single_copy(&self, peer: usize) -> bool {
        shm::Node::single_copy(self, peer)
    }
    fn read_remote(&self, peer: usize, addr: usize, dst: &mut [u8]) -> io::Result<()> {
        shm::Node::read_remote(self, peer, addr, dst)
    }
    fn write_remote(&self, peer: usize, addr: usize, src: &[u8]) -> io::Result<()> {
        shm::Node::write_remote(self, peer, addr, src)
    }
    fn wait(&self, timeout: Duration) {
        shm::Node::wait(self, timeout)
    }
    fn wake_self(&self) {
        shm::Node::wake_self(self)
    }
}

impl Transport for transport_efa::Endpoint {
    fn name(&self) -> String {
        format!("ofi {}", self.provider())
    }
    fn max_record(&self) -> usize {
        transport_efa::Endpoint::max_record(self)
    }
    fn try_send(&self, peer: usize, parts: &[&[u8]]) -> bool {
        transport_efa::Endpoint::try_send(self, peer, parts)
    }
    fn poll(&self, f: &mut dyn FnMut(usize, &[u8])) -> usize {
        transport_efa::Endpoint::poll(self, f)
    }
    fn delivers_later(&self) -> bool {
        true
    }
    fn drain(&self, timeout: Duration) {
        self.drain_sends(timeout);
    }
    fn take_error(&self) -> Option<io::Error> {
        transport_efa::Endpoint::take_error(self)
    }
}
