//! The transports as the engine drives them.
//!
//! A transport moves records of bytes between this process and its peers and knows nothing of
//! MPI; each numbers its peers its own way (shared memory by local rank, libfabric by world
//! rank) and the engine keeps the mapping. The progress engine polls every transport in turn.

use std::io;
use std::time::Duration;

use crate::buffer::UserBuf;
use crate::protocol::{Bulk, Exposed};

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
    /// How rendezvous payloads can move to and from `peer`: by address (`Bulk::Cma`: the
    /// `*_remote` calls work), by RDMA read under a key (`expose` / `start_read`), or only
    /// as records.
    fn bulk(&self, _peer: usize) -> Bulk {
        Bulk::Stream
    }
    /// Reads `dst.len()` bytes at `addr` in `peer`'s memory, now (`Bulk::Cma`).
    fn read_remote(&self, _peer: usize, _addr: usize, _dst: &mut [u8]) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
    /// Writes `src` to `addr` in `peer`'s memory, now (`Bulk::Cma`).
    fn write_remote(&self, _peer: usize, _addr: usize, _src: &[u8]) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
    /// Registers `buf` for peers to RDMA-read until `conceal(handle)` (`Bulk::RdmaRead`).
    fn expose(&self, _buf: UserBuf) -> io::Result<Exposed> {
        Err(io::ErrorKind::Unsupported.into())
    }
    /// Releases an `expose`d buffer.
    fn conceal(&self, _handle: u64) {}
    /// Starts an RDMA read of `dst.len()` bytes at `addr` under `key` in `peer`'s memory; its
    /// end is reported once through `finished_reads` with `token`. `dst` stays valid until then
    /// (its request is not complete before).
    fn start_read(&self, _token: u64, _peer: usize, _addr: u64, _key: u64, _dst: UserBuf) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
    /// Calls `f(token, ok)` for each read started with `start_read` that has ended.
    fn finished_reads(&self, _f: &mut dyn FnMut(u64, bool)) {}
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

/// The engine keeps the segment's `Node` shared: communicators' boards live in it too.
impl Transport for std::sync::Arc<shm::Node> {
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
    fn bulk(&self, peer: usize) -> Bulk {
        if shm::Node::single_copy(self, peer) {
            Bulk::Cma
        } else {
            Bulk::Stream
        }
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
    fn bulk(&self, _peer: usize) -> Bulk {
        if self.rma() {
            Bulk::RdmaRead
        } else {
            Bulk::Stream
        }
    }
    fn expose(&self, buf: UserBuf) -> io::Result<Exposed> {
        // SAFETY: `buf` is a send buffer (or the engine's copy of one) whose request stays
        // incomplete, so the memory mapped and unchanged, until the receiver's `Fin`; the
        // protocol releases the exposure (`take_concealed`) only after that.
        let e = unsafe { transport_efa::Endpoint::expose(self, buf.bytes().as_ptr(), buf.len()) }?;
        Ok(Exposed { addr: e.addr, key: e.key, handle: e.handle })
    }
    fn conceal(&self, handle: u64) {
        transport_efa::Endpoint::conceal(self, handle)
    }
    fn start_read(&self, token: u64, peer: usize, addr: u64, key: u64, dst: UserBuf) -> io::Result<()> {
        // SAFETY: `dst` is part of a receive buffer whose request cannot complete before this
        // read is reported through `finished_reads` (the protocol waits for `read_done`), and
        // nothing else writes it meanwhile (`UserBuf`'s contract).
        unsafe { transport_efa::Endpoint::start_read(self, token, peer, addr, key, dst.bytes_mut().as_mut_ptr(), dst.len()) }
    }
    fn finished_reads(&self, f: &mut dyn FnMut(u64, bool)) {
        transport_efa::Endpoint::finished_reads(self, f)
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
