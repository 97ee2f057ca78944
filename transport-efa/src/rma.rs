//! Zero-copy bulk data, as bookkeeping with no I/O: which user buffers are registered and for
//! how many transfers, and which RMA reads are queued, in flight and finished. The endpoint
//! makes the libfabric calls this asks for (register, post a read, close a registration), so the
//! rules below are unit-tested without a provider.
//!
//! # Registrations and their invalidation
//! A peer can read our memory only through a registration (`fi_mr_reg`, access
//! `FI_REMOTE_READ`), and providers with `FI_MR_LOCAL` (efa) also want the destination of a
//! read registered (`FI_READ`). A registration pins the pages it covers, so a key kept after the
//! application freed or remapped the memory would let the device read or write pages that no
//! longer belong to the buffer: silent corruption.
//!
//! [`Registry`] makes that impossible by construction: an entry lives exactly as long as some
//! transfer uses it. It is made when the first transfer of a buffer starts, shared by every
//! transfer of the same range that overlaps it in time (a broadcast root sending one buffer to
//! many peers registers it once), and closed when the last of them completes. MPI forbids the
//! application to free or modify a buffer while an operation on it is pending, so no entry can
//! outlive the memory it describes. What this gives up is reuse *across* operations; on EFA
//! that is the provider's business: `efa` routes `fi_mr_reg` through libfabric's own
//! registration cache (`FI_EFA_MR_CACHE_ENABLE`, on by default), whose memory monitor
//! (`FI_MR_CACHE_MONITOR`: userfaultfd, memhooks or kdreg2) sees `munmap`/`madvise` and drops
//! stale entries, which a library interposed between the application and libc could not do
//! reliably (glibc's `free` unmaps through internal calls nobody can hook). On `tcp` and `udp`
//! registration is a table entry, not a pin.

use std::collections::{HashMap, VecDeque};
use std::io;

/// Requested keys start here: 1 and 2 are the bounce-buffer regions'.
const FIRST_KEY: u64 = 16;

/// The memory range and access a registration covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Range {
    addr: usize,
    len: usize,
    access: u64,
}

struct Entry<R> {
    range: Range,
    reg: R,
    users: usize,
}

/// Registrations of user memory in use, reference-counted per (address, length, access).
pub struct Registry<R> {
    entries: HashMap<u64, Entry<R>>,
    by_range: HashMap<Range, u64>,
    next: u64,
}

impl<R> Default for Registry<R> {
    fn default() -> Self {
        Registry { entries: HashMap::new(), by_range: HashMap::new(), next: FIRST_KEY }
    }
}

impl<R> Registry<R> {
    /// A handle on a registration of `addr..addr+len` with `access`: the existing one, with one
    /// more user, or a new one made by `register(requested_key)` (the key is unique among this
    /// registry's handles, for providers that take keys from the application).
    pub fn acquire(
        &mut self,
        addr: usize,
        len: usize,
        access: u64,
        register: impl FnOnce(u64) -> io::Result<R>,
    ) -> io::Result<u64> {
        let range = Range { addr, len, access };
        if let Some(&handle) = self.by_range.get(&range) {
            if let Some(e) = self.entries.get_mut(&handle) {
                e.users += 1;
                return Ok(handle);
            }
        }
        let handle = self.next;
        let reg = register(handle)?;
        self.next += 1;
        self.entries.insert(handle, Entry { range, reg, users: 1 });
        self.by_range.insert(range, handle);
        Ok(handle)
    }

    pub fn get(&self, handle: u64) -> Option<&R> {
        self.entries.get(&handle).map(|e| &e.reg)
    }

    /// One user of `handle` is done. Returns the registration when it was the last: the
    /// caller closes it. An unknown handle returns None.
    pub fn release(&mut self, handle: u64) -> Option<R> {
        let e = self.entries.get_mut(&handle)?;
        e.users -= 1;
        if e.users > 0 {
            return None;
        }
        let e = self.entries.remove(&handle)?;
        self.by_range.remove(&e.range);
        Some(e.reg)
    }

    /// Registrations open now.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

}

/// One `fi_read` to post: `len` bytes at remote address `remote` into local address `dst`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    pub token: u64,
    pub dst: usize,
    pub len: usize,
    pub remote: u64,
}

struct Transfer<T> {
    /// Pieces not completed yet (queued or in flight).
    left: usize,
    failed: bool,
    meta: T,
}

/// A transfer whose every piece has completed.
#[derive(Debug, PartialEq, Eq)]
pub struct Finished<T> {
    pub token: u64,
    /// Every piece completed without error.
    pub ok: bool,
    pub meta: T,
}

/// RMA reads: transfers cut into pieces, posted on a bounded set of operation slots.
///
/// A transfer is reported finished only once none of its pieces can still write the
/// destination, so a failed piece does not let the caller reuse memory another piece of the
/// same transfer is still filling.
pub struct Reads<T> {
    transfers: HashMap<u64, Transfer<T>>,
    queue: VecDeque<Piece>,
    /// Per operation slot, the piece in flight on it.
    in_flight: Vec<Option<Piece>>,
    free: Vec<usize>,
}

impl<T: Copy> Reads<T> {
    /// At most `ops` reads in flight at once.
    pub fn new(ops: usize) -> Reads<T> {
        Reads { transfers: HashMap::new(), queue: VecDeque::new(), in_flight: vec![None; ops], free: (0..ops).rev().collect() }
    }

    /// Queues a read of `len` bytes at `remote` into `dst` as pieces of at most `piece_max`
    /// bytes; `meta` goes back with its `Finished`. An empty read finishes at once.
    pub fn start(&mut self, token: u64, dst: usize, len: usize, remote: u64, piece_max: usize, meta: T) -> Option<Finished<T>> {
        if len == 0 {
            return Some(Finished { token, ok: true, meta });
        }
        let piece_max = piece_max.max(1);
        let mut off = 0;
        let mut left = 0;
        while off < len {
            let n = piece_max.min(len - off);
            self.queue.push_back(Piece { token, dst: dst + off, len: n, remote: remote + off as u64 });
            off += n;
            left += 1;
        }
        self.transfers.insert(token, Transfer { left, failed: false, meta });
        None
    }

    /// The next piece to post, on a free operation slot, and its transfer's `meta`. Pieces of a
    /// transfer that already failed are dropped on the way (finishing it when they were its
    /// last: pushed to `finished`).
    pub fn next(&mut self, finished: &mut Vec<Finished<T>>) -> Option<(usize, Piece, T)> {
        let op = *self.free.last()?;
        while let Some(piece) = self.queue.pop_front() {
            let Some(t) = self.transfers.get(&piece.token) else { continue };
            if t.failed {
                finished.extend(self.piece_done(piece.token, false));
                continue;
            }
            let meta = t.meta;
            self.free.pop();
            self.in_flight[op] = Some(piece);
            return Some((op, piece, meta));
        }
        None
    }

    /// Posting the piece `next` returned on `op` failed: with `retry` (the provider said
    /// `FI_EAGAIN`) it goes back to the head of the queue; otherwise it counts as failed.
    pub fn not_posted(&mut self, op: usize, retry: bool) -> Option<Finished<T>> {
        let piece = self.in_flight[op].take()?;
        self.free.push(op);
        if retry {
            self.queue.push_front(piece);
            None
        } else {
            self.piece_done(piece.token, false)
        }
    }

    /// The read on `op` completed (`ok`) or completed with an error.
    pub fn completed(&mut self, op: usize, ok: bool) -> Option<Finished<T>> {
        let piece = self.in_flight.get_mut(op)?.take()?;
        self.free.push(op);
        self.piece_done(piece.token, ok)
    }

    fn piece_done(&mut self, token: u64, ok: bool) -> Option<Finished<T>> {
        let t = self.transfers.get_mut(&token)?;
        t.left -= 1;
        t.failed |= !ok;
        if t.left > 0 {
            return None;
        }
        let t = self.transfers.remove(&token)?;
        Some(Finished { token, ok: !t.failed, meta: t.meta })
    }

    /// Whether pieces wait for a free operation slot or for the provider.
    #[cfg(test)]
    fn has_queued(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Transfers not finished.
    #[cfg(test)]
    fn active(&self) -> usize {
        self.transfers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_are_shared_while_in_use_and_closed_after() {
        let mut r: Registry<&str> = Registry::default();
        let mut made = 0;
        let a = r.acquire(0x1000, 64, 1, |_| { made += 1; Ok("a") }).unwrap();
        let b = r.acquire(0x1000, 64, 1, |_| { made += 1; Ok("b") }).unwrap();
        assert_eq!((a, made), (b, 1), "a second user of the same range shares the registration");
        let c = r.acquire(0x1000, 64, 2, |k| { assert_ne!(k, a); Ok("c") }).unwrap();
        assert_ne!(a, c, "another access mode is another registration");
        assert_eq!(r.release(a), None);
        assert_eq!(r.release(a), Some("a"), "the last user closes it");
        assert_eq!(r.release(a), None, "a closed handle is unknown");
        // The same range later gets a fresh registration (never the old key).
        let d = r.acquire(0x1000, 64, 1, |_| Ok("d")).unwrap();
        assert!(d != a && d != c);
        assert_eq!(r.get(d), Some(&"d"));
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn failed_registration_leaves_nothing() {
        let mut r: Registry<u8> = Registry::default();
        assert!(r.acquire(1, 1, 1, |_| Err(io::Error::other("no"))).is_err());
        assert_eq!(r.len(), 0);
        assert!(r.acquire(1, 1, 1, |_| Ok(7)).is_ok());
    }

    fn drain(reads: &mut Reads<u8>, fin: &mut Vec<Finished<u8>>) -> Vec<(usize, Piece)> {
        let mut out = Vec::new();
        while let Some((op, p, _)) = reads.next(fin) {
            out.push((op, p));
        }
        out
    }

    #[test]
    fn pieces_cover_the_transfer_within_the_op_limit() {
        let mut reads = Reads::new(2);
        let mut fin = Vec::new();
        assert!(reads.start(7, 1000, 10, 5000, 4, 0).is_none());
        let posted = drain(&mut reads, &mut fin);
        assert_eq!(posted.len(), 2, "two ops");
        assert_eq!(posted[0].1, Piece { token: 7, dst: 1000, len: 4, remote: 5000 });
        assert_eq!(posted[1].1, Piece { token: 7, dst: 1004, len: 4, remote: 5004 });
        assert!(reads.completed(posted[0].0, true).is_none());
        let (op, last, _) = reads.next(&mut fin).unwrap();
        assert_eq!(last, Piece { token: 7, dst: 1008, len: 2, remote: 5008 });
        assert!(reads.completed(posted[1].0, true).is_none());
        assert_eq!(reads.completed(op, true), Some(Finished { token: 7, ok: true, meta: 0 }));
        assert_eq!(reads.active(), 0);
        assert!(reads.start(8, 0, 0, 0, 4, 1).is_some_and(|f| f.ok), "empty read finishes at once");
    }

    #[test]
    fn a_failed_piece_finishes_the_transfer_only_when_none_is_in_flight() {
        let mut reads = Reads::new(2);
        let mut fin = Vec::new();
        reads.start(1, 0, 12, 0, 4, 9);
        let posted = drain(&mut reads, &mut fin);
        assert!(reads.completed(posted[0].0, false).is_none(), "piece 2 still writes the buffer");
        // The queued third piece is dropped, not posted.
        assert!(reads.next(&mut fin).is_none());
        assert!(fin.is_empty());
        assert_eq!(reads.completed(posted[1].0, true), Some(Finished { token: 1, ok: false, meta: 9 }));
        assert!(!reads.has_queued());
    }

    #[test]
    fn eagain_requeues_and_other_errors_fail() {
        let mut reads = Reads::new(1);
        let mut fin = Vec::new();
        reads.start(3, 0, 8, 0, 4, 0);
        let (op, p, _) = reads.next(&mut fin).unwrap();
        assert!(reads.not_posted(op, true).is_none());
        let (op2, p2, _) = reads.next(&mut fin).unwrap();
        assert_eq!((op, p), (op2, p2), "retried first");
        assert!(reads.not_posted(op2, false).is_none(), "the second piece is still queued");
        // The second piece belongs to a failed transfer: dropped, and the transfer finishes.
        assert!(reads.next(&mut fin).is_none());
        assert_eq!(fin, vec![Finished { token: 3, ok: false, meta: 0 }]);
    }
}
