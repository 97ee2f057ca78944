//! Layout of the one shared segment of a job on a host, and the types placed in it.
//!
//! ```text
//! offset 0            Header                     (one 128-byte block)
//! off_slots           Slot[local_size]           (two 128-byte lines per local rank)
//! off_ctl             RingCtl[local_size^2]      (two 128-byte lines per directed pair)
//! off_data (page al.) data[local_size^2][cap]    (cap bytes per ring, cap a power of two >= 4 KiB)
//! off_boards          BoardCtl[BOARDS]           (one 128-byte block per board)
//! off_cells           Cell[BOARDS][local_size]   (a 128-byte block + BOARD_AREA bytes per cell)
//! ```
//!
//! The ring carrying records from local rank `s` to local rank `d` has index `s * local_size + d`
//! (for both its `RingCtl` and its data). Board `b`'s cell `i` (the `i`-th member of the group
//! that claimed it, not a local rank) is `Cell` number `b * local_size + i`.
//!
//! Everything placed in the segment is made only of atomics (valid for every bit pattern, and the
//! segment starts zeroed by `ftruncate`), so a reference to it may be formed from any suitably
//! aligned in-bounds pointer. The base of the mapping is page aligned and every offset below is a
//! multiple of 128, which covers the alignment of every type here.

use std::io;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64};

/// Cache-line size used for padding: 128 bytes, because x86_64 prefetches lines in adjacent pairs
/// (the same choice as crossbeam's `CachePadded`).
pub(crate) const LINE: usize = 128;
pub(crate) const PAGE: usize = 4096;

/// "FERROSHM" read as a little-endian word, plus the layout version in the low byte.
pub(crate) const MAGIC: u64 = 0x4d48_534f_5252_4546 ^ LAYOUT_VERSION as u64;
pub(crate) const LAYOUT_VERSION: u32 = 2;

/// Smallest and largest ring capacity accepted (after rounding up to a power of two).
pub(crate) const MIN_RING: usize = 4096;
pub(crate) const MAX_RING: usize = 1 << 30;
/// Largest local_size accepted (bounds the segment-size arithmetic well inside u64).
pub(crate) const MAX_LOCAL_SIZE: usize = 1 << 12;

/// A value aligned (and so padded) to its own pair of cache lines.
#[repr(C, align(128))]
pub(crate) struct CachePadded<T>(pub T);

impl<T> std::ops::Deref for CachePadded<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The segment header; written by the creator (local rank 0) before `magic`.
#[repr(C)]
pub(crate) struct Header {
    /// `0` while the creator initialises the segment; `MAGIC` once it is ready. Stored last by the
    /// creator with Release; openers load it with Acquire before reading any other field, so the
    /// plain (Relaxed) initialisation stores below happen-before their reads.
    pub magic: AtomicU64,
    /// `LAYOUT_VERSION`. Written once by the creator before `magic`.
    pub version: AtomicU32,
    /// Number of local ranks (= number of slots; rings = local_size^2). Written once before `magic`.
    pub local_size: AtomicU32,
    /// Capacity in bytes of every ring's data area; a power of two in [MIN_RING, MAX_RING].
    /// Written once before `magic`.
    pub ring_bytes: AtomicU64,
    /// Total size in bytes of the segment (= the file size). Written once before `magic`.
    pub total_bytes: AtomicU64,
    /// FNV-1a hash of the job key, so that an opener can tell a foreign segment. Written once
    /// before `magic`.
    pub key_hash: AtomicU64,
    /// Number of local ranks that have mapped the segment and published their `Ident`.
    /// Each rank increments it once with AcqRel after publishing its slot; the rank whose
    /// increment makes it `local_size` unlinks the name. A rank that loads `local_size` here with
    /// Acquire synchronises with every increment (they form one release sequence), so every
    /// rank's `Ident` is visible to it.
    pub attached: AtomicU32,
}

/// Per-rank doorbell, on its own line pair; written by the peers that wake this rank.
#[repr(C)]
pub(crate) struct Doorbell {
    /// Futex word (shared futex, never FUTEX_PRIVATE_FLAG): a sequence number bumped (SeqCst
    /// `fetch_add`, wrapping) by whoever wakes this rank; the rank's `wait` sleeps in FUTEX_WAIT
    /// while it still holds the value it loaded before announcing itself in `sleepers`.
    pub seq: AtomicU32,
    /// Number of threads of this rank that are inside `wait` (announced before their last check
    /// of the rings, with a SeqCst fence after it). Senders read it after a SeqCst fence that
    /// follows their publication of new data, and bump `seq` + FUTEX_WAKE only when it is
    /// non-zero. See `Node::wait` for the argument that no wake-up is lost.
    pub sleepers: AtomicU32,
}

/// Per-rank identity, written once at attach.
#[repr(C)]
pub(crate) struct Ident {
    /// The rank's process id (in its pid namespace), for process_vm_readv. Relaxed store before
    /// `ready`/`attached` (Release); read after `attached` reaches local_size (Acquire).
    pub pid: AtomicI32,
    /// 0 until the rank has published `pid` and `probe_addr`, then 1. Set with `swap` so that a
    /// second attach of the same local rank is detected.
    pub ready: AtomicU32,
    /// Address, in the rank's address space, of a u64 holding `probe_value(pid, rank)`; peers
    /// read it with process_vm_readv to learn whether single-copy works. Published like `pid`.
    pub probe_addr: AtomicU64,
}

#[repr(C)]
pub(crate) struct Slot {
    pub bell: CachePadded<Doorbell>,
    pub ident: CachePadded<Ident>,
}

/// Control words of one SPSC ring. The producer owns `tail`'s line, the consumer `head`'s.
#[repr(C)]
pub(crate) struct RingCtl {
    /// Producer position: total bytes ever appended (records + padding + skipped ends), never
    /// wrapped (u64 does not overflow in practice; differences use wrapping arithmetic).
    /// Written only by the producer, with Release after the record bytes and length word are in
    /// place; the consumer loads it with Acquire, which makes those bytes visible.
    pub tail: CachePadded<AtomicU64>,
    pub cons: CachePadded<ConsumerLine>,
}

#[repr(C)]
pub(crate) struct ConsumerLine {
    /// Consumer position: total bytes ever released. Written only by the consumer, with Release
    /// after it finished reading the released records; the producer loads it with Acquire before
    /// overwriting that space, so the consumer's reads happen-before the producer's new writes.
    pub head: AtomicU64,
    /// 1 when the producer found the ring full and wants to be woken when space is released;
    /// 0 otherwise. Set by the producer (then SeqCst fence, then re-load of `head`); cleared by
    /// the consumer after it stored a new `head` and a SeqCst fence, and the clearing is always
    /// followed by a wake of the producer if it sleeps. Lives on the consumer's line because it
    /// is written by the producer only in the (rare) full case.
    pub want_space: AtomicU32,
}

/// Claim of one board (`board.rs`), on its own 128-byte block.
#[repr(C)]
pub(crate) struct BoardCtl {
    /// 0 when free, 1 once claimed. Claimed by `compare_exchange(0, 1)` with Acquire, which
    /// synchronises with the Release store of 0 by the last user of its previous claim, so the
    /// claimer's reset of the cells happens after every earlier use of them.
    pub claimed: AtomicU32,
    /// Members that have not yet released the board; set by the claimer before the board's
    /// index is handed to the members (through the rings, which order it), decremented (AcqRel)
    /// by each member's release; the one that brings it to 0 stores `claimed = 0` (Release).
    pub users: AtomicU32,
}

/// The counters of one member's cell; its payload area follows (`BOARD_AREA` bytes, written
/// by the member only and read by the others as the counters allow).
#[repr(C)]
pub(crate) struct CellCounters {
    /// Written by the cell's member only, with Release after the payload it announces; peers
    /// load it with Acquire before reading that payload. Monotonic (u64: never wraps).
    pub arrive: AtomicU64,
    /// Written by the cell's member only, with Release once it has finished reading other
    /// cells' payloads for the call it names; a member loads it with Acquire before
    /// overwriting payload the reader may still read.
    pub leave: AtomicU64,
}

/// Boards in a segment: communicators that use one at the same time, per host.
pub(crate) const BOARDS: usize = 16;
/// Bytes of payload in a cell.
pub(crate) const BOARD_AREA: usize = 32 * 1024;
/// Bytes of one cell: its counters' block, then its payload.
pub(crate) const CELL_BYTES: usize = LINE + BOARD_AREA;

/// Record encoding inside a ring's data area (positions are multiples of 8):
///
/// ```text
/// [len: u64 little/native endian, < WRAP][len bytes][0..7 bytes padding to a multiple of 8]
/// [WRAP: u64]  -> the rest of the data area up to its end is unused; the next record is at 0
/// ```
///
/// A record never straddles the end of the data area; when it would, the producer writes WRAP
/// (there are always >= 8 bytes left since positions and capacity are multiples of 8) and
/// continues at offset 0.
pub(crate) const WRAP: u64 = u64::MAX;
pub(crate) const LEN_WORD: usize = 8;

#[inline]
pub(crate) fn record_bytes(len: usize) -> usize {
    LEN_WORD + ((len + 7) & !7)
}

/// Largest payload per record for a ring of capacity `cap`: with records of at most cap/2 bytes,
/// a record always fits into an empty ring whatever the offset (either before the end, or after a
/// wrap whose skipped end is shorter than the record), so a sender can never be stuck forever.
#[inline]
pub(crate) fn max_record(cap: usize) -> usize {
    cap / 2 - LEN_WORD
}

pub(crate) fn probe_value(pid: i32, rank: usize) -> u64 {
    0x5052_4f42_455f_5731 ^ (pid as u32 as u64) ^ ((rank as u64) << 40)
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Layout {
    pub n: usize,
    pub cap: usize,
    pub off_slots: usize,
    pub off_ctl: usize,
    pub off_data: usize,
    pub off_boards: usize,
    pub off_cells: usize,
    pub total: usize,
}

fn too_big(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("shm: segment size overflows ({what})"))
}

impl Layout {
    pub fn new(n: usize, cap: usize) -> io::Result<Layout> {
        if n == 0 || n > MAX_LOCAL_SIZE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("shm: local_size {n} out of range 1..={MAX_LOCAL_SIZE}"),
            ));
        }
        if !cap.is_power_of_two() || !(MIN_RING..=MAX_RING).contains(&cap) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("shm: ring capacity {cap} is not a power of two in {MIN_RING}..={MAX_RING}"),
            ));
        }
        let rings = n * n;
        let off_slots = std::mem::size_of::<CachePadded<Header>>();
        let off_ctl = off_slots + n * std::mem::size_of::<Slot>();
        let end_ctl = off_ctl + rings * std::mem::size_of::<RingCtl>();
        let off_data = (end_ctl + PAGE - 1) & !(PAGE - 1);
        let off_boards = rings
            .checked_mul(cap)
            .and_then(|d| d.checked_add(off_data))
            .ok_or_else(|| too_big("rings"))?;
        let off_cells = off_boards + BOARDS * LINE;
        let total = (BOARDS * n)
            .checked_mul(CELL_BYTES)
            .and_then(|c| c.checked_add(off_cells))
            .ok_or_else(|| too_big("boards"))?;
        if i64::try_from(total).is_err() {
            return Err(too_big("file size"));
        }
        Ok(Layout { n, cap, off_slots, off_ctl, off_data, off_boards, off_cells, total })
    }

    #[inline]
    pub fn ring(&self, src: usize, dst: usize) -> usize {
        src * self.n + dst
    }
    #[inline]
    pub fn slot_off(&self, rank: usize) -> usize {
        self.off_slots + rank * std::mem::size_of::<Slot>()
    }
    #[inline]
    pub fn ctl_off(&self, ring: usize) -> usize {
        self.off_ctl + ring * std::mem::size_of::<RingCtl>()
    }
    #[inline]
    pub fn data_off(&self, ring: usize) -> usize {
        self.off_data + ring * self.cap
    }
    #[inline]
    pub fn board_off(&self, board: usize) -> usize {
        self.off_boards + board * LINE
    }
    #[inline]
    pub fn cell_off(&self, board: usize, cell: usize) -> usize {
        self.off_cells + (board * self.n + cell) * CELL_BYTES
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn sizes_and_alignment() {
        assert_eq!(std::mem::size_of::<CachePadded<Header>>(), LINE);
        assert_eq!(std::mem::size_of::<Slot>(), 2 * LINE);
        assert_eq!(std::mem::size_of::<RingCtl>(), 2 * LINE);
        let l = Layout::new(4, 4096).unwrap();
        assert_eq!(l.off_data % PAGE, 0);
        assert_eq!(l.off_boards, l.off_data + 16 * 4096);
        assert_eq!(l.total, l.off_cells + BOARDS * 4 * CELL_BYTES);
        assert_eq!(l.cell_off(BOARDS - 1, 3) + CELL_BYTES, l.total);
        assert!(std::mem::size_of::<CachePadded<BoardCtl>>() == LINE && std::mem::size_of::<CachePadded<CellCounters>>() == LINE);
        assert!(Layout::new(0, 4096).is_err());
        assert!(Layout::new(2, 5000).is_err());
        assert!(Layout::new(MAX_LOCAL_SIZE, MAX_RING).is_ok() || cfg!(target_pointer_width = "32"));
        assert_eq!(record_bytes(0), 8);
        assert_eq!(record_bytes(1), 16);
        assert_eq!(record_bytes(8), 16);
        assert_eq!(max_record(4096), 2040);
    }
}
