//! Intra-host shared-memory transport.
//!
//! Moves bytes between the ranks of one host; knows no MPI semantics (no tags, no matching).
//! The engine (mpi-core) drives it through [`Node`]:
//!
//! * [`Node::attach`] creates (local rank 0) or opens (the others) the job's one POSIX shared
//!   memory segment on this host, mode 0600, and returns once every local rank has mapped it; the
//!   name is unlinked by the rank that completes the attach count, so nothing is left in
//!   `/dev/shm` even if the job is killed later.
//! * [`Node::try_send`] appends a record (concatenation of parts) to the lock-free SPSC ring
//!   towards a peer; [`Node::poll`] hands the records waiting in my incoming rings to a callback,
//!   FIFO per peer, without copying them.
//! * [`Node::wait`] / [`Node::wake_self`] block on a futex doorbell in the segment.
//! * [`Node::claim_board`] / [`Node::board`] give a group of local ranks a [`Board`], cells of
//!   counters and payload in the segment on which they meet without messages (`board.rs`).
//! * [`Node::read_remote`] reads a peer's memory with one copy (process_vm_readv), when
//!   [`Node::single_copy`] says the probe at attach succeeded.
//!
//! See `layout.rs` for the segment layout and the encoding of every shared field, and the
//! comments in `try_send`, `poll` and `wait` for the memory-ordering arguments.
//!
//! Thread safety: `Node` is `Send + Sync`. Each outgoing ring has a process-local lock (held only
//! for the few stores of one `try_send`), and `poll` takes a process-local try-lock over all
//! incoming rings (a concurrent or re-entrant `poll` returns 0 instead of blocking).
//!
//! Environment: `FERROMPI_SHM_RING_BYTES` (read by [`Config::from_env`]; bytes, or with a
//! `K`/`KiB`/`M`/`MiB` suffix), `FERROMPI_SHM_SINGLE_COPY=0` (disable single copy),
//! `FERROMPI_SHM_ATTACH_TIMEOUT_MS` (bound on the wait for the other local ranks in `attach`,
//! default 60000), `FERROMPI_BIND=0` (leave the process's CPU set alone: [`bind_local_rank`]).

mod board;
mod layout;
mod placement;
mod sys;

pub use board::Board;
pub use placement::bind_local_rank;

use std::fs::File;
use std::io;
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};

use layout::*;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

/// The POSIX shared-memory name (as for shm_open; the file is `/dev/shm` + name) that the
/// segment of job `job_key` has while its local ranks attach. A launcher may `shm_unlink` it
/// after a job failed during start-up (ranks that time out in `attach` already do).
pub fn segment_name(job_key: &str) -> String {
    sys::segment_name(job_key)
}

/// Configuration of the transport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Bytes of ring per directed pair of local ranks; rounded up to a power of two, at least
    /// 4 KiB, at most 1 GiB. Default 256 KiB; env `FERROMPI_SHM_RING_BYTES` via [`Config::from_env`].
    /// The creator's value wins (openers adopt the capacity found in the segment).
    pub ring_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config { ring_bytes: DEFAULT_RING_BYTES }
    }
}

/// Default ring size per directed pair.
pub const DEFAULT_RING_BYTES: usize = 256 * 1024;

impl Config {
    /// The default configuration with `FERROMPI_SHM_RING_BYTES` applied if set.
    pub fn from_env() -> io::Result<Config> {
        let mut cfg = Config::default();
        if let Ok(v) = std::env::var("FERROMPI_SHM_RING_BYTES") {
            cfg.ring_bytes = parse_size(&v).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("FERROMPI_SHM_RING_BYTES={v:?} is not a size (e.g. 262144, 256K, 1M)"),
                )
            })?;
        }
        Ok(cfg)
    }
}

fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: usize = num.parse().ok()?;
    let mul = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mul)
}

fn env_flag_off(name: &str) -> bool {
    matches!(std::env::var(name).as_deref().map(str::trim), Ok("0") | Ok("false") | Ok("no") | Ok("off"))
}

fn default_attach_timeout() -> Duration {
    std::env::var("FERROMPI_SHM_ATTACH_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_secs(60))
}

/// Producer-side state of one outgoing ring, process-local (behind the ring's lock).
struct TxState {
    /// My copy of the ring's `tail` (I am its only writer).
    tail: u64,
    /// Last value of the consumer's `head` I loaded; a lower bound of the real one.
    cached_head: u64,
}

/// Consumer-side state, process-local (behind the poll lock).
struct RxState {
    /// My copy of the `head` of the ring from each peer (I am its only writer).
    heads: Box<[u64]>,
}

/// This process's view of the host's one segment of the job.
pub struct Node {
    map: memmap2::MmapRaw,
    lay: Layout,
    rank: usize,
    name: String,
    /// Per outgoing ring (indexed by peer).
    tx: Box<[Mutex<TxState>]>,
    rx: Mutex<RxState>,
    /// Per peer: my last `try_send` to it failed for lack of room (and set the ring's
    /// `want_space`); `wait` then also returns when the consumer has cleared `want_space`.
    send_blocked: Box<[AtomicBool]>,
    /// Set by `wake_self`; consumed by `wait`.
    self_wake: AtomicBool,
    pids: Box<[i32]>,
    single_copy: Box<[bool]>,
    /// The word peers read in their single-copy probe (kept alive as long as the Node).
    _probe: Box<u64>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("name", &self.name)
            .field("local_rank", &self.rank)
            .field("local_size", &self.lay.n)
            .field("ring_bytes", &self.lay.cap)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn err(kind: io::ErrorKind, msg: String) -> io::Error {
    io::Error::new(kind, msg)
}

/// Removes the segment's name when an attach fails part-way, so a failed job leaves nothing.
struct UnlinkOnError<'a> {
    name: &'a str,
    armed: bool,
}
impl Drop for UnlinkOnError<'_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = nix::sys::mman::shm_unlink(self.name);
        }
    }
}

impl Node {
    /// Create (local rank 0) or open (others) the one segment of this job on this host.
    /// `job_key` is unique per job (e.g. the PMI kvs name); the name is derived from it and the uid.
    ///
    /// Returns once all `local_size` local ranks have attached (bounded by
    /// `FERROMPI_SHM_ATTACH_TIMEOUT_MS`, default 60 s); by then the name has been unlinked.
    pub fn attach(job_key: &str, local_rank: usize, local_size: usize, cfg: &Config) -> io::Result<Node> {
        Self::attach_timeout(job_key, local_rank, local_size, cfg, default_attach_timeout())
    }

    /// [`Node::attach`] with an explicit bound on the total wait for the other local ranks.
    pub fn attach_timeout(
        job_key: &str,
        local_rank: usize,
        local_size: usize,
        cfg: &Config,
        timeout: Duration,
    ) -> io::Result<Node> {
        let deadline = Instant::now() + timeout;
        if local_size == 0 || local_rank >= local_size {
            return Err(err(
                io::ErrorKind::InvalidInput,
                format!("shm: local rank {local_rank} is not below local size {local_size}"),
            ));
        }
        if job_key.is_empty() {
            return Err(err(io::ErrorKind::InvalidInput, "shm: empty job key".into()));
        }
        if cfg.ring_bytes > MAX_RING {
            return Err(err(
                io::ErrorKind::InvalidInput,
                format!("shm: ring_bytes {} exceeds the maximum {MAX_RING}", cfg.ring_bytes),
            ));
        }
        let cap = cfg.ring_bytes.max(MIN_RING).next_power_of_two();
        let mut lay = Layout::new(local_size, cap)?;
        let name = sys::segment_name(job_key);
        let key_hash = sys::fnv1a(job_key.as_bytes());
        let mut guard = UnlinkOnError { name: &name, armed: false };

        sys::allow_ptrace_any();

        let map = if local_rank == 0 {
            let fd = match nix::sys::mman::shm_open(
                name.as_str(),
                OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDWR,
                Mode::S_IRUSR | Mode::S_IWUSR,
            ) {
                Ok(fd) => fd,
                Err(Errno::EEXIST) => {
                    return Err(err(
                        io::ErrorKind::AlreadyExists,
                        format!(
                            "shm: segment /dev/shm{name} already exists (stale segment of an earlier job \
                             with the same key {job_key:?}?); remove it or use a unique job key"
                        ),
                    ))
                }
                Err(e) => return Err(err(io::Error::from(e).kind(), format!("shm: shm_open({name}) failed: {e}"))),
            };
            guard.armed = true;
            let file = File::from(fd);
            // The umask may only have removed bits; make the mode exactly 0600 anyway.
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            if let Ok(vfs) = nix::sys::statvfs::fstatvfs(&file) {
                let avail = (vfs.blocks_available() as u128) * (vfs.fragment_size() as u128);
                if avail < lay.total as u128 {
                    return Err(err(
                        io::ErrorKind::OutOfMemory,
                        format!(
                            "shm: segment needs {} bytes ({local_size}^2 rings of {cap} bytes, {BOARDS} boards of \
                             {local_size} cells of {CELL_BYTES} bytes) but /dev/shm has {avail} free; lower \
                             FERROMPI_SHM_RING_BYTES",
                            lay.total
                        ),
                    ));
                }
            }
            file.set_len(lay.total as u64)
                .map_err(|e| err(e.kind(), format!("shm: ftruncate({name}, {}) failed: {e}", lay.total)))?;
            let map = memmap2::MmapOptions::new().len(lay.total).map_raw(&file)?;
            // SAFETY: the mapping is `lay.total` bytes, page aligned, and Header (atomics only)
            // fits at offset 0.
            let hdr = unsafe { &*(map.as_ptr() as *const Header) };
            // Plain initialisation; published by the Release store of `magic` below.
            hdr.version.store(LAYOUT_VERSION, Ordering::Relaxed);
            hdr.local_size.store(local_size as u32, Ordering::Relaxed);
            hdr.ring_bytes.store(cap as u64, Ordering::Relaxed);
            hdr.total_bytes.store(lay.total as u64, Ordering::Relaxed);
            hdr.key_hash.store(key_hash, Ordering::Relaxed);
            hdr.magic.store(MAGIC, Ordering::Release);
            map
        } else {
            // The creator may not have created / sized / initialised the segment yet: retry.
            let mut fd = None;
            sys::wait_until(deadline, || {
                match nix::sys::mman::shm_open(name.as_str(), OFlag::O_RDWR, Mode::empty()) {
                    Ok(f) => {
                        fd = Some(Ok(f));
                        true
                    }
                    Err(Errno::ENOENT) => false,
                    Err(e) => {
                        fd = Some(Err(e));
                        true
                    }
                }
            });
            let file = match fd {
                Some(Ok(f)) => File::from(f),
                Some(Err(e)) => {
                    return Err(err(io::Error::from(e).kind(), format!("shm: shm_open({name}) failed: {e}")))
                }
                None => {
                    return Err(err(
                        io::ErrorKind::TimedOut,
                        format!(
                            "shm: local rank {local_rank}: segment /dev/shm{name} was not created by local \
                             rank 0 within {timeout:?}"
                        ),
                    ))
                }
            };
            guard.armed = true;
            // ftruncate sets the size in one step: once it is non-zero it is final.
            let mut size = 0u64;
            sys::wait_until(deadline, || {
                size = file.metadata().map(|m| m.len()).unwrap_or(0);
                size > 0
            });
            if size < std::mem::size_of::<Header>() as u64 || size > isize::MAX as u64 {
                return Err(err(
                    io::ErrorKind::TimedOut,
                    format!("shm: segment /dev/shm{name} was not sized by local rank 0 within {timeout:?}"),
                ));
            }
            let map = memmap2::MmapOptions::new().len(size as usize).map_raw(&file)?;
            // SAFETY: as above; the mapping is at least size_of::<Header>() bytes.
            let hdr = unsafe { &*(map.as_ptr() as *const Header) };
            // Acquire pairs with the creator's Release store: the header fields are visible after.
            if !sys::wait_until(deadline, || hdr.magic.load(Ordering::Acquire) == MAGIC) {
                return Err(err(
                    io::ErrorKind::TimedOut,
                    format!("shm: segment /dev/shm{name} was not initialised by local rank 0 within {timeout:?}"),
                ));
            }
            let (ver, n, c, tot, kh) = (
                hdr.version.load(Ordering::Relaxed),
                hdr.local_size.load(Ordering::Relaxed) as usize,
                hdr.ring_bytes.load(Ordering::Relaxed) as usize,
                hdr.total_bytes.load(Ordering::Relaxed),
                hdr.key_hash.load(Ordering::Relaxed),
            );
            if ver != LAYOUT_VERSION || kh != key_hash {
                return Err(err(
                    io::ErrorKind::InvalidData,
                    format!("shm: segment /dev/shm{name} belongs to another job or ferrompi version"),
                ));
            }
            if n != local_size {
                return Err(err(
                    io::ErrorKind::InvalidData,
                    format!("shm: local rank {local_rank} expects local size {local_size} but the segment was created for {n}"),
                ));
            }
            lay = Layout::new(n, c).map_err(|e| err(io::ErrorKind::InvalidData, e.to_string()))?;
            if tot != size || lay.total as u64 != size {
                return Err(err(io::ErrorKind::InvalidData, format!("shm: segment /dev/shm{name} has an inconsistent size")));
            }
            map
        };

        let probe = Box::new(0u64);
        let pid = std::process::id() as i32;
        let mut node = Node {
            map,
            lay,
            rank: local_rank,
            name: name.clone(),
            tx: (0..local_size).map(|_| Mutex::new(TxState { tail: 0, cached_head: 0 })).collect(),
            rx: Mutex::new(RxState { heads: vec![0; local_size].into_boxed_slice() }),
            send_blocked: (0..local_size).map(|_| AtomicBool::new(false)).collect(),
            self_wake: AtomicBool::new(false),
            pids: vec![0; local_size].into_boxed_slice(),
            single_copy: vec![false; local_size].into_boxed_slice(),
            _probe: probe,
        };
        *node._probe = probe_value(pid, local_rank);

        // Publish my identity, then count myself in (AcqRel: Release publishes the identity to
        // whoever observes the final count; see Header::attached).
        let me = &node.slot(local_rank).ident;
        if me.ready.swap(1, Ordering::Relaxed) != 0 {
            return Err(err(
                io::ErrorKind::AlreadyExists,
                format!("shm: local rank {local_rank} attached twice to /dev/shm{name}"),
            ));
        }
        me.pid.store(pid, Ordering::Relaxed);
        me.probe_addr.store(&*node._probe as *const u64 as usize as u64, Ordering::Relaxed);
        let hdr = node.header();
        let before = hdr.attached.fetch_add(1, Ordering::AcqRel) as usize;
        if before >= local_size {
            return Err(err(
                io::ErrorKind::InvalidData,
                format!("shm: more than {local_size} ranks attached to /dev/shm{name}"),
            ));
        }
        if before + 1 == local_size {
            // Everyone has mapped the segment: drop the name now, so nothing can be left behind.
            let _ = nix::sys::mman::shm_unlink(name.as_str());
            guard.armed = false;
        }
        // Acquire: synchronises with every rank's increment (one release sequence), so all
        // identities are visible below.
        if !sys::wait_until(deadline, || hdr.attached.load(Ordering::Acquire) as usize >= local_size) {
            let k = hdr.attached.load(Ordering::Acquire);
            return Err(err(
                io::ErrorKind::TimedOut,
                format!("shm: only {k} of {local_size} local ranks attached to /dev/shm{name} within {timeout:?}"),
            ));
        }
        guard.armed = false;
        drop(guard);

        let pids: Vec<i32> = (0..local_size).map(|r| node.slot(r).ident.pid.load(Ordering::Relaxed)).collect();
        let allow = !env_flag_off("FERROMPI_SHM_SINGLE_COPY");
        let mut sc = vec![false; local_size];
        if allow {
            for (peer, ok) in sc.iter_mut().enumerate() {
                let addr = node.slot(peer).ident.probe_addr.load(Ordering::Relaxed) as usize;
                let mut word = [0u8; 8];
                *ok = read_vm(pids[peer], addr, &mut word).is_ok()
                    && u64::from_ne_bytes(word) == probe_value(pids[peer], peer);
            }
        }
        node.pids = pids.into_boxed_slice();
        node.single_copy = sc.into_boxed_slice();
        Ok(node)
    }

    /// This process's local rank.
    pub fn local_rank(&self) -> usize {
        self.rank
    }

    /// Number of local ranks on this host.
    pub fn local_size(&self) -> usize {
        self.lay.n
    }

    /// Capacity of each ring in bytes (the configured size rounded up to a power of two).
    pub fn ring_bytes(&self) -> usize {
        self.lay.cap
    }

    /// The POSIX shm name the segment had (already unlinked once `attach` returned).
    pub fn segment_name(&self) -> &str {
        &self.name
    }

    /// Largest record (sum of parts) `try_send` accepts: half a ring minus the 8-byte length word.
    pub fn max_record(&self) -> usize {
        max_record(self.lay.cap)
    }

    #[inline]
    fn base(&self) -> *mut u8 {
        self.map.as_mut_ptr()
    }

    #[inline]
    fn header(&self) -> &Header {
        // SAFETY: offset 0 of a live, page-aligned mapping at least Layout::total bytes long;
        // Header is made of atomics (valid for any bits). The reference lives no longer than &self,
        // which keeps the mapping alive.
        unsafe { &*(self.base() as *const Header) }
    }

    #[inline]
    fn slot(&self, rank: usize) -> &Slot {
        debug_assert!(rank < self.lay.n);
        // SAFETY: slot_off(rank) + size_of::<Slot>() <= off_ctl <= total for rank < n (all callers
        // check), 128-aligned; Slot is made of atomics; lifetime bounded by &self as above.
        unsafe { &*(self.base().add(self.lay.slot_off(rank)) as *const Slot) }
    }

    #[inline]
    fn ctl(&self, ring: usize) -> &RingCtl {
        debug_assert!(ring < self.lay.n * self.lay.n);
        // SAFETY: ctl_off(ring) + size_of::<RingCtl>() <= off_data for ring < n^2 (callers build
        // `ring` from ranks < n), 128-aligned; atomics only; lifetime bounded by &self.
        unsafe { &*(self.base().add(self.lay.ctl_off(ring)) as *const RingCtl) }
    }

    #[inline]
    fn data(&self, ring: usize) -> *mut u8 {
        // SAFETY: data_off(ring) + cap <= total for ring < n^2: in bounds of the mapping.
        unsafe { self.base().add(self.lay.data_off(ring)) }
    }

    /// Bump `rank`'s doorbell and wake its sleeping threads. Callers only do this after a SeqCst
    /// fence and a load of `sleepers` that returned non-zero (see `wait`).
    #[inline(never)]
    fn ring_bell(&self, rank: usize) {
        let bell = &self.slot(rank).bell.0;
        bell.seq.fetch_add(1, Ordering::SeqCst);
        sys::futex_wake(&bell.seq);
    }

    /// Append one record, the concatenation of `parts` (e.g. a header then a payload), to the ring
    /// towards local rank `peer`. Returns false when the ring has no room now (the caller retries
    /// later; `wait` returns once room was made), and also — always — when `peer` is not a local
    /// rank or the record is longer than [`Node::max_record`]. Wakes `peer` if it sleeps.
    pub fn try_send(&self, peer: usize, parts: &[&[u8]]) -> bool {
        let n = self.lay.n;
        if peer >= n {
            return false;
        }
        let mut len = 0usize;
        for p in parts {
            len = match len.checked_add(p.len()) {
                Some(l) => l,
                None => return false,
            };
        }
        if len > self.max_record() {
            return false;
        }
        let cap = self.lay.cap as u64;
        let mask = cap - 1;
        let rec = record_bytes(len) as u64;
        let ring = self.lay.ring(self.rank, peer);
        let ctl = self.ctl(ring);
        let mut tx = lock(&self.tx[peer]);
        let tail = tx.tail;
        let off = tail & mask;
        // Bytes skipped at the end of the data area when the record does not fit before it.
        let skip = if off + rec > cap { cap - off } else { 0 };
        let need = skip + rec;
        let fits = |head: u64| {
            let used = tail.wrapping_sub(head);
            used <= cap && need <= cap - used
        };
        if !fits(tx.cached_head) {
            // Acquire pairs with the consumer's Release store of `head`: its reads of the records
            // before `head` happen-before our overwriting them below.
            tx.cached_head = ctl.cons.0.head.load(Ordering::Acquire);
            if !fits(tx.cached_head) {
                // Ask to be woken when the consumer frees space. Dekker with the consumer (`poll`):
                // we store want_space, fence, load head; it stores head, fences, loads want_space.
                // With both fences SeqCst, at least one side sees the other's store: either we see
                // the new head here (and go on), or the consumer sees want_space and wakes us.
                self.send_blocked[peer].store(true, Ordering::Relaxed);
                ctl.cons.0.want_space.store(1, Ordering::Relaxed);
                fence(Ordering::SeqCst);
                tx.cached_head = ctl.cons.0.head.load(Ordering::Acquire);
                if !fits(tx.cached_head) {
                    return false;
                }
            }
        }
        let data = self.data(ring);
        let mut pos = tail;
        // SAFETY (whole block): every write is inside this ring's data area (offsets < cap, and a
        // record [off, off + rec) never passes cap: the wrap case restarts at 0 and rec <= cap/2).
        // The bytes [tail, tail + need) are free space: the consumer has released them (head was
        // loaded with Acquire above and tail + need - head <= cap), and it reads nothing beyond
        // `tail` until we publish the new tail below. Offsets are multiples of 8, so the u64
        // writes are aligned.
        unsafe {
            if skip != 0 {
                (data.add(off as usize) as *mut u64).write(WRAP);
                pos += skip;
            }
            let o = (pos & mask) as usize;
            (data.add(o) as *mut u64).write(len as u64);
            let mut d = data.add(o + LEN_WORD);
            for p in parts {
                std::ptr::copy_nonoverlapping(p.as_ptr(), d, p.len());
                d = d.add(p.len());
            }
        }
        let new_tail = tail + need;
        tx.tail = new_tail;
        // Release: publishes the record bytes, the length word and any WRAP marker written above
        // to the consumer, which loads `tail` with Acquire before reading them.
        ctl.tail.0.store(new_tail, Ordering::Release);
        drop(tx);
        if self.send_blocked[peer].load(Ordering::Relaxed) {
            self.send_blocked[peer].store(false, Ordering::Relaxed);
        }
        // Lost-wake-up prevention (Dekker with `wait`): we store tail, SeqCst fence, load the
        // receiver's `sleepers`; the waiter increments `sleepers`, SeqCst fence, loads every
        // incoming `tail`. One of the two sees the other's store: either the waiter sees our
        // record and does not sleep, or we see it announced and bump its doorbell + FUTEX_WAKE.
        fence(Ordering::SeqCst);
        if self.slot(peer).bell.0.sleepers.load(Ordering::Relaxed) != 0 {
            self.ring_bell(peer);
        }
        true
    }

    /// Call `f(peer, record)` for each record waiting in my incoming rings, FIFO per peer; returns
    /// the count. `f` may call `try_send` (outgoing rings are separate). The record slices point
    /// into the rings and are released after `f` returns (per peer, after its batch). A `poll`
    /// running concurrently in another thread of this process, or re-entered from `f`, returns 0.
    pub fn poll(&self, f: &mut dyn FnMut(usize, &[u8])) -> usize {
        let mut rx = match self.rx.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
            Err(TryLockError::WouldBlock) => return 0,
        };
        let n = self.lay.n;
        let cap = self.lay.cap as u64;
        let mask = cap - 1;
        let maxrec = self.max_record() as u64;
        let mut count = 0usize;
        // Range of peers whose ring I released space in (checked for want_space below).
        let (mut lo, mut hi) = (usize::MAX, 0usize);
        for peer in 0..n {
            let ring = self.lay.ring(peer, self.rank);
            let ctl = self.ctl(ring);
            // Acquire pairs with the producer's Release store: the records before `tail` are
            // fully written and visible.
            let tail = ctl.tail.0.load(Ordering::Acquire);
            let mut head = rx.heads[peer];
            if tail == head {
                continue;
            }
            let data = self.data(ring);
            if tail.wrapping_sub(head) > cap {
                // Corrupt tail (a misbehaving peer): drop what is there rather than read garbage.
                head = tail;
            }
            while head != tail {
                let off = head & mask;
                // SAFETY: off < cap and 8-aligned, so the word is inside this ring's data area;
                // it lies in [head, tail), written by the producer before its Release of tail.
                let word = unsafe { (data.add(off as usize) as *const u64).read() };
                let avail = tail.wrapping_sub(head);
                if word == WRAP {
                    let skip = cap - off;
                    if skip > avail {
                        head = tail;
                        break;
                    }
                    head += skip;
                    continue;
                }
                let rec = record_bytes(word.min(maxrec + 1) as usize) as u64;
                if word > maxrec || rec > avail || off + rec > cap {
                    head = tail; // corrupt record: skip the rest
                    break;
                }
                // SAFETY: [off + 8, off + 8 + word) lies inside the data area (checked above) and
                // inside [head, tail), which the producer does not touch until we release it by
                // advancing `head` after `f` returns; the slice does not outlive this call.
                let rec_slice =
                    unsafe { std::slice::from_raw_parts(data.add(off as usize + LEN_WORD), word as usize) };
                f(peer, rec_slice);
                count += 1;
                head += rec;
            }
            rx.heads[peer] = head;
            // Release: our reads of the records (and f's uses of the slices) happen-before the
            // producer's reuse of the space, which it loads `head` with Acquire for.
            ctl.cons.0.head.store(head, Ordering::Release);
            lo = lo.min(peer);
            hi = peer;
        }
        if lo <= hi {
            // Dekker with a producer that found its ring full (see try_send): head stored above,
            // SeqCst fence, then load want_space. If set, clear it and wake the producer if it
            // sleeps (the clearing is what its `wait` checks; same fence/sleepers argument as for
            // records, with want_space in the role of tail).
            fence(Ordering::SeqCst);
            let mut wake = false;
            for peer in lo..=hi {
                let ctl = self.ctl(self.lay.ring(peer, self.rank));
                if ctl.cons.0.want_space.load(Ordering::Relaxed) != 0 {
                    ctl.cons.0.want_space.store(0, Ordering::Relaxed);
                    wake = true;
                }
            }
            if wake {
                fence(Ordering::SeqCst);
                for peer in 0..n {
                    // A spurious wake of a peer that did not ask is harmless; being precise would
                    // need a per-peer list, and this path is rare.
                    if self.slot(peer).bell.0.sleepers.load(Ordering::Relaxed) != 0 {
                        self.ring_bell(peer);
                    }
                }
            }
        }
        count
    }

    /// Whether `wait` should return at once: a record is waiting in an incoming ring, room was
    /// made in an outgoing ring on which my last `try_send` failed, or `wake_self` was called.
    /// Loads are Relaxed: callers put a SeqCst fence before (see `wait`).
    fn ready(&self) -> bool {
        if self.self_wake.load(Ordering::Relaxed) {
            return true;
        }
        let n = self.lay.n;
        for peer in 0..n {
            let ctl = self.ctl(self.lay.ring(peer, self.rank));
            if ctl.tail.0.load(Ordering::Relaxed) != ctl.cons.0.head.load(Ordering::Relaxed) {
                return true;
            }
            if self.send_blocked[peer].load(Ordering::Relaxed) {
                let out = self.ctl(self.lay.ring(self.rank, peer));
                if out.cons.0.want_space.load(Ordering::Relaxed) == 0 {
                    // Consume the notification: the caller retries its send after we return; a
                    // new failure sets the flag again.
                    self.send_blocked[peer].store(false, Ordering::Relaxed);
                    return true;
                }
            }
        }
        false
    }

    /// Block until a record may be waiting for me, room may have been made in an outgoing ring on
    /// which `try_send` last returned false, `wake_self` is called, or `timeout` passes. Returns at
    /// once if one is already the case. Spurious returns are possible; callers re-poll.
    ///
    /// Protocol (why no wake-up is lost):
    /// 1. `seq = doorbell.seq` (SeqCst load);
    /// 2. `sleepers += 1` (SeqCst), SeqCst fence;
    /// 3. re-check: incoming `tail != head`, cleared `want_space` on blocked outgoing rings,
    ///    `self_wake`; if any, return;
    /// 4. FUTEX_WAIT(doorbell.seq, seq, timeout); 5. `sleepers -= 1`.
    ///
    /// A waker stores its datum (tail / want_space = 0 / self_wake), SeqCst fence, loads
    /// `sleepers`, and if non-zero bumps `seq` then FUTEX_WAKE. By the fences, either step 3 sees
    /// the datum, or the waker sees `sleepers > 0`; then its bump comes after step 1, so either
    /// FUTEX_WAIT finds `seq` changed and returns at once, or the waiter is already queued on the
    /// futex (the kernel checks the value and queues atomically) and FUTEX_WAKE wakes it.
    pub fn wait(&self, timeout: Duration) {
        self.wait_unless(timeout, || false)
    }

    /// [`wait`](Self::wait), which also returns once `done()` holds: `done` reads what a peer's
    /// [`Board::publish`] stores, and is checked in step 3 (a publisher wakes sleeping members
    /// after its SeqCst fence, as a sender does).
    pub fn wait_unless(&self, timeout: Duration, done: impl Fn() -> bool) {
        if self.self_wake.swap(false, Ordering::Relaxed) {
            return;
        }
        let bell = &self.slot(self.rank).bell.0;
        let seq = bell.seq.load(Ordering::SeqCst);
        bell.sleepers.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if !self.ready() && !done() && !timeout.is_zero() {
            sys::futex_wait(&bell.seq, seq, timeout);
        }
        bell.sleepers.fetch_sub(1, Ordering::SeqCst);
        self.self_wake.store(false, Ordering::Relaxed);
    }

    /// Wake this process's own waiter (another thread of this process made progress). If no thread
    /// is in `wait`, the next `wait` returns at once.
    pub fn wake_self(&self) {
        self.self_wake.store(true, Ordering::Relaxed);
        // Same Dekker as try_send: datum (self_wake), SeqCst fence, load sleepers.
        fence(Ordering::SeqCst);
        if self.slot(self.rank).bell.0.sleepers.load(Ordering::Relaxed) != 0 {
            self.ring_bell(self.rank);
        }
    }

    /// Single-copy read of dst.len() bytes at `remote_addr` in local rank `peer`'s address space
    /// (process_vm_readv; partial transfers are continued).
    pub fn read_remote(&self, peer: usize, remote_addr: usize, dst: &mut [u8]) -> io::Result<()> {
        if peer >= self.lay.n {
            return Err(err(
                io::ErrorKind::InvalidInput,
                format!("shm: read_remote from local rank {peer} of {}", self.lay.n),
            ));
        }
        read_vm(self.pids[peer], remote_addr, dst)
    }

    /// Single-copy write of `src` to `remote_addr` in local rank `peer`'s address space
    /// (process_vm_writev; partial transfers are continued). Works whenever `read_remote` does:
    /// both need the same ptrace permission.
    pub fn write_remote(&self, peer: usize, remote_addr: usize, src: &[u8]) -> io::Result<()> {
        if peer >= self.lay.n {
            return Err(err(
                io::ErrorKind::InvalidInput,
                format!("shm: write_remote to local rank {peer} of {}", self.lay.n),
            ));
        }
        write_vm(self.pids[peer], remote_addr, src)
    }

    /// Whether `read_remote` from `peer` works: probed once at attach (ptrace rules may forbid CMA);
    /// `FERROMPI_SHM_SINGLE_COPY=0` forces false so tests exercise the engine's pipelined fallback.
    pub fn single_copy(&self, peer: usize) -> bool {
        self.single_copy.get(peer).copied().unwrap_or(false)
    }
}

fn write_vm(pid: i32, remote_addr: usize, src: &[u8]) -> io::Result<()> {
    use nix::sys::uio::{process_vm_writev, RemoteIoVec};
    cross_memory_copy(pid, remote_addr, src.len(), "process_vm_writev", |done| {
        let local = [io::IoSlice::new(&src[done..])];
        let remote = [RemoteIoVec { base: remote_addr + done, len: src.len() - done }];
        process_vm_writev(nix::unistd::Pid::from_raw(pid), &local, &remote)
    })
}

fn read_vm(pid: i32, remote_addr: usize, dst: &mut [u8]) -> io::Result<()> {
    use nix::sys::uio::{process_vm_readv, RemoteIoVec};
    let total = dst.len();
    cross_memory_copy(pid, remote_addr, total, "process_vm_readv", |done| {
        let mut local = [io::IoSliceMut::new(&mut dst[done..])];
        let remote = [RemoteIoVec { base: remote_addr + done, len: total - done }];
        process_vm_readv(nix::unistd::Pid::from_raw(pid), &mut local, &remote)
    })
}

/// Runs `step(done)` (one process_vm_readv/writev call from byte `done` on) until `total`
/// bytes are copied: the calls may copy less than asked, and EINTR restarts them.
fn cross_memory_copy(
    pid: i32,
    remote_addr: usize,
    total: usize,
    what: &str,
    mut step: impl FnMut(usize) -> nix::Result<usize>,
) -> io::Result<()> {
    if remote_addr.checked_add(total).is_none() {
        return Err(err(io::ErrorKind::InvalidInput, "shm: remote address range overflows".into()));
    }
    let mut done = 0usize;
    while done < total {
        match step(done) {
            Ok(0) => {
                return Err(err(
                    io::ErrorKind::UnexpectedEof,
                    format!("shm: {what} with pid {pid} stopped at {done} of {total} bytes"),
                ))
            }
            Ok(k) => done += k,
            Err(Errno::EINTR) => {}
            Err(e) => {
                return Err(err(
                    io::Error::from(e).kind(),
                    format!("shm: {what} of {} bytes at {:#x} with pid {pid}: {e}", total - done, remote_addr + done),
                ))
            }
        }
    }
    Ok(())
}

/// Compile-time check that Node is Send + Sync.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Node>();
};

#[cfg(test)]
mod tests;
