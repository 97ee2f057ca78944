//! Inter-host record transport over libfabric reliable-datagram endpoints (`FI_EP_RDM`).
//!
//! Moves records of bytes between processes; knows no MPI semantics (no tags, no matching, no
//! ordering guarantees beyond the provider's), like `shm::Node`. The engine uses it for ranks on
//! other hosts; its protocol (eager packets, rendezvous with a clear-to-send pipeline of `Data`
//! chunks, per-pair sequence numbers that restore order) runs unchanged over any record
//! transport. On AWS the provider is `efa` (SRD: reliable, *unordered*); here the same code runs
//! on `tcp;ofi_rxm`, `udp;ofi_rxd` and `shm`, optionally with EFA's demands forced on
//! ([`Config::efa_modes`]).
//!
//! # API
//! * [`Endpoint::open`] picks a provider (`fi_getinfo`, API 1.17, or 1.18 when the library has
//!   it; `FI_EP_RDM`, `FI_TAGGED | FI_MSG | FI_DIRECTED_RECV`, plus `FI_RMA` when offered), opens
//!   fabric, domain, completion queue, address vector and endpoint, allocates and (when needed)
//!   registers the two bounded buffer pools and pre-posts the receives.
//! * [`Endpoint::name`] is our address, to publish through the bootstrap;
//!   [`Endpoint::set_peers`] inserts everybody's (index = peer id = world rank).
//! * [`Endpoint::try_send`] sends one record (the concatenation of `parts`), or returns false
//!   when out of send slots or provider credits (`FI_EAGAIN`): the caller polls and retries.
//! * [`Endpoint::poll`] reads up to 64 completions, hands each received record to the callback
//!   with the sender's peer id, reposts the receive buffers, and returns send buffers to the pool.
//! * [`Endpoint::take_error`]: the first error seen since the last call (completion errors,
//!   failed posts); logged once to stderr, never an abort or a hang.
//! * Zero-copy bulk data, where the provider offers `FI_RMA`: [`Endpoint::expose`] registers a
//!   buffer for peers to read and says where they find it, [`Endpoint::start_read`] reads a
//!   peer's exposed memory straight into ours, [`Endpoint::finished_reads`] reports each read
//!   once. Registrations live exactly as long as the transfers using them (`rma.rs` explains
//!   why that is the invalidation story).
//!
//! # Tag layout
//! ```text
//!  63    60 59                        32 31                              0
//! +--------+----------------------------+---------------------------------+
//! | proto  | reserved / context (28)    | low 32 bits                     |
//! +--------+----------------------------+---------------------------------+
//! ```
//! * `proto` (4 bits): 0 = engine record (all tagged traffic). 1..15 are reserved; bulk data
//!   does not use tags (it moves by RMA read, below).
//! * The sender's peer id travels in the 4-byte remote CQ data (`fi_tsenddata`,
//!   `FI_REMOTE_CQ_DATA`) when the provider's `cq_data_size >= 4` (efa: 4; tcp, udp, shm: 8).
//!   The tag of an engine record is then 0.
//! * Fallback when CQ data is absent (or [`Config::no_cq_data`] /
//!   `FERROMPI_OFI_NO_CQ_DATA=1` forces it): the peer id is in the tag's bits 32..59 (so at most
//!   2^28 peers) and no CQ data is sent.
//! * Receives for engine records match `proto == 0` and the low 32 bits == 0, ignoring bits
//!   32..59; a completion carrying `FI_REMOTE_CQ_DATA` is decoded from its data, any other from
//!   the tag. So both layouts are accepted by every receiver, whatever it sends with.
//!
//! # Buffers and bounds
//! * Send: a pool of at most 64 bounce buffers of 64 KiB (fewer if `tx_attr.size` is smaller),
//!   registered once at open when the provider asks for `FI_MR_LOCAL` (or [`Config::efa_modes`]
//!   forces it), their `fi_mr_desc` passed with every send. A record of at most `inject_size`
//!   bytes is copied into a scratch buffer and sent with `fi_tinject(data)` (no completion, no
//!   buffer held); a larger one is copied into a free bounce buffer and sent with
//!   `fi_tsend(data)` with that buffer's own `fi_context2` (the `FI_CONTEXT`/`FI_CONTEXT2` mode
//!   contract); the buffer returns to the pool when the send completes. No free buffer: `false`.
//! * Receive: at most 64 buffers of 64 KiB (fewer if `rx_attr.size` is smaller) pre-posted with
//!   `fi_trecv` from `FI_ADDR_UNSPEC`; each is reposted right after its record was delivered.
//!   Nothing here grows: when all are filled and the application does not poll, the provider
//!   holds the unexpected messages in its own bounded resources (see the README per provider),
//!   pushing back on the sender (`FI_EAGAIN`) when those are full.
//! * The completion queue is sized from the pools (send + receive slots + 64); `fi_tinject`
//!   produces no completions, so it cannot overflow.
//! * [`Endpoint::max_record`] = min(`max_msg_size`, 64 KiB). Every record is sent from one
//!   contiguous buffer, so `iov_limit` (>= 1) is always honoured.
//!
//! # Threads
//! `Endpoint` is `Send + Sync`. All libfabric calls are made under one process-local mutex (so
//! we ask providers for `FI_THREAD_DOMAIN`, the cheapest level), held only for the calls
//! themselves; records are delivered to the `poll` callback *outside* it, so the callback may
//! call `try_send`. A `poll` running in another thread, or re-entered from the callback,
//! returns 0.
//!
//! # Fork
//! Before the first `fi_getinfo` we set `FI_EFA_FORK_SAFE=1` unless the environment already
//! sets it. The efa provider registers memory with the device; without fork support requested
//! it installs a `pthread_atfork` handler that aborts the process on `fork()` (a child would
//! share, copy-on-write, pages the device DMAs into, corrupting the parent's transfers). MPI
//! programs fork (`system`, `popen`, Python's `subprocess`), so we ask for fork safety: rdma-core
//! then marks registered memory `MADV_DONTFORK` (or uses the kernel's copy-on-fork support on
//! Linux >= 5.13) and fork works; the child must not use the parent's endpoint. Other providers
//! ignore the variable. It is set with `std::env::set_var` once, before libfabric reads its
//! environment; do it early (at `open`, before other threads call `getenv`).
//!
//! # Environment
//! | variable | meaning |
//! |---|---|
//! | `FERROMPI_OFI_PROVIDER` | provider name, e.g. `tcp;ofi_rxm`, `udp;ofi_rxd`, `shm`, `efa` (wins over `FI_PROVIDER`) |
//! | `FI_PROVIDER` | libfabric's own provider filter; also read as the provider when the above is unset |
//! | `FERROMPI_OFI_EFA_MODES=1` | request and honour EFA's modes even where the provider does not need them |
//! | `FERROMPI_OFI_NO_CQ_DATA=1` | send with the fallback tag layout (peer id in the tag, no CQ data) |
//! | `FI_EFA_FORK_SAFE` | set to 1 by us when unset (see Fork) |
//! | `FI_OFI_RXD_MAX_UNACKED` | set to 8 by us when unset and the library is older than 2.5 (see `limit_rxd_window`) |

// `is_multiple_of` is newer than the workspace's rust-version (1.80).
#![allow(clippy::manual_is_multiple_of)]

mod rma;
mod sys;

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};

use rma::{Finished, Reads, Registry};
use sys::{Attrs, Completion, CqError, MemReg, Net, Region, Slot};

/// Tag layout constants (see the crate docs).
pub mod tag {
    /// Bits 60..63: the protocol.
    pub const PROTO_SHIFT: u32 = 60;
    pub const PROTO_MASK: u64 = 0xF << PROTO_SHIFT;
    /// Protocol 0: engine records.
    pub const PROTO_RECORD: u64 = 0;
    /// Bits 32..59: reserved / context; in the fallback layout the sender's peer id.
    pub const PEER_SHIFT: u32 = 32;
    pub const PEER_BITS: u32 = 28;
    pub const PEER_MASK: u64 = ((1u64 << PEER_BITS) - 1) << PEER_SHIFT;
    /// Bits 0..31.
    pub const LOW_MASK: u64 = 0xFFFF_FFFF;

    /// The tag of an engine record from `peer` (`peer` is put in the tag only in the fallback
    /// layout).
    pub fn record(peer: u32, in_tag: bool) -> u64 {
        (PROTO_RECORD << PROTO_SHIFT) | if in_tag { ((peer as u64) << PEER_SHIFT) & PEER_MASK } else { 0 }
    }
    /// What a receive for engine records ignores: the peer-id field.
    pub const RECORD_IGNORE: u64 = PEER_MASK;
    /// The peer id in a fallback-layout tag.
    pub fn peer_of(tag: u64) -> u32 {
        ((tag & PEER_MASK) >> PEER_SHIFT) as u32
    }
}

/// Bounce buffers for sends (at most; fewer if the provider's transmit queue is smaller).
pub const SEND_SLOTS: usize = 64;
/// Pre-posted receive buffers (at most; fewer if the provider's receive queue is smaller).
pub const RECV_SLOTS: usize = 64;
/// Bytes per buffer, and so the largest record.
pub const SLOT_BYTES: usize = 64 * 1024;
/// Completions read per `poll`.
pub const POLL_BATCH: usize = 64;
/// RMA reads in flight at once (at most; fewer if the provider's transmit queue is smaller).
pub const READ_OPS: usize = 16;
/// Bytes per `fi_read` (at most; less if `max_msg_size` is smaller).
pub const READ_PIECE: usize = 4 << 20;

/// The mode bits we honour: every operation carries its own `fi_context2`.
const OUR_MODES: u64 = sys::FI_CONTEXT | sys::FI_CONTEXT2;
/// The memory-registration modes we honour (those the efa provider demands).
const OUR_MR_MODES: i32 = sys::FI_MR_LOCAL | sys::FI_MR_ALLOCATED | sys::FI_MR_PROV_KEY | sys::FI_MR_VIRT_ADDR;

/// Configuration of the transport.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// Provider name (`fi_info -l`, e.g. `tcp;ofi_rxm`); None: `efa` if present, else the first
    /// suitable one that is not `shm` (which cannot leave the host).
    pub provider: Option<String>,
    /// Request and honour exactly what the efa provider demands, even on providers that do not
    /// need it: mode `FI_CONTEXT | FI_CONTEXT2` and mr_mode `FI_MR_LOCAL | FI_MR_ALLOCATED |
    /// FI_MR_PROV_KEY | FI_MR_VIRT_ADDR`: buffers registered (allocated and touched before
    /// registration), descriptors passed with every operation, keys taken from the provider, one
    /// context per operation. So the code path EFA takes runs on tcp/udp/shm.
    pub efa_modes: bool,
    /// Send with the fallback tag layout (peer id in the tag) even when the provider has CQ data.
    pub no_cq_data: bool,
    /// Do not offer RMA reads ([`Endpoint::rma`] false) even when the provider has `FI_RMA`:
    /// large messages then travel as the engine's clear-to-send pipeline.
    pub no_rma: bool,
}

fn env_on(name: &str) -> bool {
    matches!(
        std::env::var(name).as_deref().map(str::trim),
        Ok("1") | Ok("true") | Ok("yes") | Ok("on")
    )
}

impl Config {
    /// `provider` from `FERROMPI_OFI_PROVIDER`, else `FI_PROVIDER` (which libfabric also reads as
    /// a filter); `efa_modes` from `FERROMPI_OFI_EFA_MODES=1`; `no_cq_data` from
    /// `FERROMPI_OFI_NO_CQ_DATA=1`; `no_rma` from `FERROMPI_OFI_NO_RMA=1`.
    pub fn from_env() -> Config {
        let provider = ["FERROMPI_OFI_PROVIDER", "FI_PROVIDER"]
            .iter()
            .filter_map(|k| std::env::var(k).ok())
            .map(|v| v.trim().to_owned())
            .find(|v| !v.is_empty());
        Config {
            provider,
            efa_modes: env_on("FERROMPI_OFI_EFA_MODES"),
            no_cq_data: env_on("FERROMPI_OFI_NO_CQ_DATA"),
            no_rma: env_on("FERROMPI_OFI_NO_RMA"),
        }
    }
}

/// Set `FI_EFA_FORK_SAFE=1` unless set (see the crate docs, "Fork").
fn request_fork_safety() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("FI_EFA_FORK_SAFE").is_none() {
            std::env::set_var("FI_EFA_FORK_SAFE", "1");
        }
    });
}

/// `FI_OFI_RXD_MAX_UNACKED` (rxd's per-peer window, default 128 packets) for libfabric older
/// than 2.5, unless the environment already sets it.
///
/// Before the fix for ofiwg/libfabric#11481 (PR #11501, "prov/udp,rxd: fix CQ overflow case",
/// merged 2025-10; present in 2.5.1, absent in Debian's 1.17), the `udp` provider's receive
/// progress (`udpx_ep_progress`) writes each datagram's completion into its CQ without checking
/// for room. `ofi_rxd` binds one such CQ (tx + rx size entries) for its sends and receives and,
/// handling an ACK, can post a window of data packets whose send completions `udp` writes at
/// once; the CQ fills (rxd then logs `error sending packet: -11`), and the next received datagram
/// overwrites an unread completion: one receive completion is lost and another is read twice, so
/// rxd processes a packet buffer it has already freed and reposted (`could not find posted rx to
/// release`). Records then complete truncated, with another datagram's length (a 1440-byte
/// completion holding a shorter record), with wrong bytes, never, or rxd dereferences a garbage
/// peer id and crashes. With a window of 8 the CQ never filled in our runs (C reproducer and the
/// two-process exchange test, where the default window failed about half the runs). Only rxd
/// reads the variable, when libfabric initialises its providers (the first `fi_getinfo`), so this
/// runs before ours; a process that initialised libfabric earlier keeps rxd's default.
fn limit_rxd_window(lib: u32) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if lib < sys::fi_version(2, 5) && std::env::var_os("FI_OFI_RXD_MAX_UNACKED").is_none() {
            std::env::set_var("FI_OFI_RXD_MAX_UNACKED", "8");
        }
    });
}

/// Whether we can use an fi_info entry as returned.
fn usable(a: &Attrs) -> bool {
    a.caps & sys::FI_TAGGED != 0
        && a.mode & !OUR_MODES == 0
        && a.mr_mode & !(OUR_MR_MODES | sys::FI_MR_BASIC | sys::FI_MR_SCALABLE) == 0
        && a.max_msg_size > 0
}

/// The entry to open: the forced provider's first usable entry; otherwise `efa` if present,
/// else the first usable one that is not the host-local `shm`.
fn choose(entries: &[Attrs], forced: Option<&str>) -> Option<usize> {
    let ok = |i: &usize| usable(&entries[*i]);
    let idx = 0..entries.len();
    match forced {
        Some(p) => idx.clone().filter(ok).find(|&i| entries[i].prov_name == p).or_else(|| idx.clone().find(ok)),
        None => idx
            .clone()
            .filter(ok)
            .find(|&i| entries[i].prov_name == "efa")
            .or_else(|| idx.filter(ok).find(|&i| entries[i].prov_name != "shm")),
    }
}

/// State behind the endpoint's mutex: everything that calls libfabric or holds slots.
struct Inner {
    net: Net,
    send_r: usize,
    recv_r: usize,
    send_free: Vec<Slot>,
    /// Receive buffers delivered but not reposted yet (the provider said FI_EAGAIN).
    repost: Vec<Slot>,
    /// fi_addr per peer id.
    peers: Vec<Option<u64>>,
    /// Our own peer id (what receivers see as the sender).
    me: Option<u32>,
    /// Copy buffer for `fi_tinject`.
    scratch: Vec<u8>,
    /// Registrations of user memory in use (exposed send buffers, read destinations).
    regs: Registry<MemReg>,
    reads: Reads<ReadMeta>,
    /// Reads finished since the engine last asked: (token, ok).
    finished_reads: Vec<(u64, bool)>,
}

/// What posting the pieces of one read needs.
#[derive(Clone, Copy, Debug)]
struct ReadMeta {
    src: sys::fi_addr_t,
    key: u64,
    /// Registration of the destination (FI_MR_LOCAL), released when the read finishes.
    local: Option<u64>,
}

/// Where a peer finds memory we exposed ([`Endpoint::expose`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exposed {
    /// The address a peer's `fi_read` names: the buffer's own address where the provider uses
    /// virtual addressing (`FI_MR_VIRT_ADDR`), else the offset in the registration (0).
    pub addr: u64,
    pub key: u64,
    /// For [`Endpoint::conceal`].
    pub handle: u64,
}

/// Scratch of `poll`, behind its try-lock.
#[derive(Default)]
struct PollState {
    comps: Vec<Completion>,
    deliver: Vec<(usize, Slot, usize)>,
}

/// One libfabric RDM endpoint of this process.
pub struct Endpoint {
    inner: Mutex<Inner>,
    poll_state: Mutex<PollState>,
    send_region: Arc<Region>,
    recv_region: Arc<Region>,
    send_slots: usize,
    recv_slots: usize,
    provider: String,
    attrs: Attrs,
    name: Vec<u8>,
    max_record: usize,
    inject_limit: usize,
    cq_data: bool,
    registered: bool,
    /// RMA reads offered ([`Endpoint::rma`]).
    rma: bool,
    /// Peers name our exposed memory by virtual address (else by offset).
    virt_addr: bool,
    read_piece: usize,
    efa_modes: bool,
    api_version: u32,
    error: Mutex<Option<io::Error>>,
    error_logged: AtomicBool,
    /// `Inner::finished_reads` is not empty: lets `finished_reads` skip the lock on every
    /// progress round when no read has ended.
    reads_finished: AtomicBool,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("provider", &self.provider)
            .field("fabric", &self.attrs.fabric_name)
            .field("domain", &self.attrs.domain_name)
            .field("max_record", &self.max_record)
            .field("inject", &self.inject_limit)
            .field("cq_data", &self.cq_data)
            .field("registered", &self.registered)
            .field("send_slots", &self.send_slots)
            .field("recv_slots", &self.recv_slots)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

const EAGAIN: isize = -(sys::FI_EAGAIN as isize);

impl Endpoint {
    /// Open this process's endpoint (see the crate docs).
    pub fn open(cfg: &Config) -> io::Result<Endpoint> {
        request_fork_safety();
        let lib = sys::library_version()?;
        limit_rxd_window(lib);
        let api = if lib >= sys::fi_version(1, 18) { sys::fi_version(1, 18) } else { sys::fi_version(1, 17) };
        let forced = cfg.provider.as_deref().filter(|p| !p.is_empty());
        let base = sys::FI_TAGGED | sys::FI_MSG | sys::FI_DIRECTED_RECV;
        let mut last_err = None;
        let mut picked = None;
        // FI_RMA if offered: ask with it first, then without.
        for caps in [base | sys::FI_RMA, base] {
            let hints = sys::Hints {
                caps,
                mode: OUR_MODES,
                mr_mode: OUR_MR_MODES,
                threading: sys::FI_THREAD_DOMAIN,
                prov_name: forced.map(str::to_owned),
            };
            match sys::getinfo(api, &hints) {
                Ok(list) => {
                    let entries: Vec<Attrs> = (0..list.len()).map(|i| list.attrs(i)).collect();
                    if let Some(i) = choose(&entries, forced) {
                        picked = Some(list.select(i)?);
                        break;
                    }
                }
                Err(e) => last_err = Some(e),
            }
        }
        let info = picked.ok_or_else(|| {
            let why = last_err.map(|e| e.to_string()).unwrap_or_else(|| "no suitable entry".into());
            io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "transport-efa: no libfabric provider{} offers FI_EP_RDM with FI_TAGGED ({why}); \
                     `fi_info -t FI_EP_RDM` lists what this host has",
                    forced.map(|p| format!(" named {p:?}")).unwrap_or_default()
                ),
            )
        })?;
        let attrs = info.attrs();

        let send_slots = SEND_SLOTS.min(attrs.tx_size.max(1));
        let recv_slots = RECV_SLOTS.min(attrs.rx_size.max(1));
        let max_record = SLOT_BYTES.min(attrs.max_msg_size);
        let inject_limit = attrs.inject_size.min(max_record);
        let cq_data = !cfg.no_cq_data && attrs.cq_data_size >= 4;
        let registered = cfg.efa_modes || attrs.mr_mode & sys::FI_MR_LOCAL != 0 || attrs.mode & sys::FI_LOCAL_MR != 0;
        let rma = !cfg.no_rma && attrs.caps & sys::FI_RMA != 0;
        let virt_addr = attrs.mr_mode & (sys::FI_MR_VIRT_ADDR | sys::FI_MR_BASIC) != 0;
        let read_piece = READ_PIECE.min(attrs.max_msg_size);
        let read_ops = if rma { READ_OPS.min(attrs.tx_size.max(1)) } else { 0 };
        let cq_size = send_slots + recv_slots + read_ops + POLL_BATCH;

        let mut net = Net::open(&info, cq_size, 64, read_ops)?;
        // Keys: used only by providers without FI_MR_PROV_KEY, which want them unique per domain.
        let (send_mem, send_tokens) = Region::new(send_slots, SLOT_BYTES)?;
        let (send_r, send_region) = net.add_region(send_mem, registered, sys::FI_SEND, 1)?;
        let (recv_mem, recv_tokens) = Region::new(recv_slots, SLOT_BYTES)?;
        let (recv_r, recv_region) = net.add_region(recv_mem, registered, sys::FI_RECV, 2)?;
        let name = net.getname()?;

        let mut inner = Inner {
            net,
            send_r,
            recv_r,
            send_free: send_tokens,
            repost: Vec::new(),
            peers: Vec::new(),
            me: None,
            scratch: Vec::with_capacity(inject_limit),
            regs: Registry::default(),
            reads: Reads::new(read_ops),
            finished_reads: Vec::new(),
        };
        for slot in recv_tokens {
            match inner.net.trecv(recv_r, slot, sys::FI_ADDR_UNSPEC, tag::record(0, false), tag::RECORD_IGNORE) {
                Ok(()) => {}
                Err((slot, EAGAIN)) => inner.repost.push(slot),
                Err((_, e)) => return Err(sys::fi_err("fi_trecv", e)),
            }
        }
        Ok(Endpoint {
            inner: Mutex::new(inner),
            poll_state: Mutex::new(PollState::default()),
            send_region,
            recv_region,
            send_slots,
            recv_slots,
            provider: attrs.prov_name.clone(),
            attrs,
            name,
            max_record,
            inject_limit,
            cq_data,
            registered,
            rma,
            virt_addr,
            read_piece,
            efa_modes: cfg.efa_modes,
            api_version: api,
            error: Mutex::new(None),
            error_logged: AtomicBool::new(false),
            reads_finished: AtomicBool::new(false),
        })
    }

    /// The provider, e.g. `tcp;ofi_rxm`.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// Our address (`fi_getname`), to publish through the bootstrap.
    pub fn name(&self) -> Vec<u8> {
        self.name.clone()
    }

    /// A one-line description: provider, fabric, domain, limits and modes in use.
    pub fn describe(&self) -> String {
        format!(
            "{} (fabric {}, domain {}, api {}.{}): max_record {}, inject {}, max_msg_size {}, tx/rx slots {}/{}, \
             iov_limit {}, cq_data {} ({} bytes offered), mr {}{}, rma {}, mode {:#x}, mr_mode {:#x}",
            self.provider,
            self.attrs.fabric_name,
            self.attrs.domain_name,
            self.api_version >> 16,
            self.api_version & 0xffff,
            self.max_record,
            self.inject_limit,
            self.attrs.max_msg_size,
            self.send_slots,
            self.recv_slots,
            self.attrs.tx_iov_limit,
            if self.cq_data { "on" } else { "off (peer id in tag)" },
            self.attrs.cq_data_size,
            if self.registered { "registered" } else { "unregistered" },
            if self.efa_modes { " (efa modes forced)" } else { "" },
            if !self.rma { "off" } else if self.virt_addr { "read (virtual addresses)" } else { "read (offsets)" },
            self.attrs.mode,
            self.attrs.mr_mode,
        )
    }

    /// Whether the sender's id travels in CQ data (else in the tag).
    pub fn uses_cq_data(&self) -> bool {
        self.cq_data
    }

    /// Whether our buffers are registered and their descriptors passed (FI_MR_LOCAL path).
    pub fn registered(&self) -> bool {
        self.registered
    }

    /// Records up to this many bytes go through `fi_tinject`.
    pub fn inject_size(&self) -> usize {
        self.inject_limit
    }

    /// Set our own peer id explicitly (needed when our own entry in `set_peers` is `None`).
    pub fn set_self_id(&self, me: usize) -> io::Result<()> {
        let id = self.check_id(me)?;
        lock(&self.inner).me = Some(id);
        Ok(())
    }

    fn check_id(&self, id: usize) -> io::Result<u32> {
        let limit = if self.cq_data { u32::MAX as usize } else { (1usize << tag::PEER_BITS) - 1 };
        if id > limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("transport-efa: peer id {id} above the layout's limit {limit}"),
            ));
        }
        Ok(id as u32)
    }

    /// Insert the peers' addresses (`fi_av_insert`); index = peer id (world rank), `None` = not
    /// reached through this endpoint. Our own id is the index whose name equals ours (or what
    /// [`Endpoint::set_self_id`] set); one of the two is required.
    pub fn set_peers(&self, names: &[Option<Vec<u8>>]) -> io::Result<()> {
        if !names.is_empty() {
            self.check_id(names.len() - 1)?;
        }
        let mut g = lock(&self.inner);
        let mut peers = Vec::with_capacity(names.len());
        let mut me = None;
        for (i, n) in names.iter().enumerate() {
            match n {
                None => peers.push(None),
                Some(addr) => {
                    // FI_ADDR_STR addresses (shm: "fi_shm://<pid>...") vary in length and are
                    // read up to their NUL: make sure there is one. Binary formats have a fixed
                    // length, ours: the provider reads that many bytes.
                    let mut addr = addr.clone();
                    if self.attrs.addr_format == sys::FI_ADDR_STR {
                        if !addr.contains(&0) {
                            addr.push(0);
                        }
                    } else if addr.len() != self.name.len() {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidInput,
                            format!(
                                "transport-efa: address of peer {i} has {} bytes, ours {} (different provider?)",
                                addr.len(),
                                self.name.len()
                            ),
                        ));
                    }
                    if names[i].as_deref() == Some(&self.name[..]) {
                        me = Some(i as u32);
                    }
                    peers.push(Some(g.net.av_insert(&addr)?));
                }
            }
        }
        if me.is_none() && g.me.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "transport-efa: our own name is not among the peers: call set_self_id first",
            ));
        }
        if me.is_some() {
            g.me = me;
        }
        g.peers = peers;
        Ok(())
    }

    /// Largest record `try_send` accepts: min(`max_msg_size`, buffer size).
    pub fn max_record(&self) -> usize {
        self.max_record
    }

    /// Send one record, the concatenation of `parts`, to `peer`. False when there is no send
    /// buffer or provider credit now (the caller polls and retries), and also — always — when
    /// `peer` is unknown or the record is longer than [`Endpoint::max_record`]. A failed post
    /// other than `FI_EAGAIN` is recorded for [`Endpoint::take_error`] (and returns false).
    pub fn try_send(&self, peer: usize, parts: &[&[u8]]) -> bool {
        let mut len = 0usize;
        for p in parts {
            len = match len.checked_add(p.len()) {
                Some(l) => l,
                None => return false,
            };
        }
        if len > self.max_record {
            return false;
        }
        let mut g = lock(&self.inner);
        let Some(Some(dest)) = g.peers.get(peer).copied() else { return false };
        let Some(me) = g.me else { return false };
        let data = self.cq_data.then_some(me as u64);
        let tag = tag::record(me, !self.cq_data);
        let inner = &mut *g;
        if len <= self.inject_limit {
            inner.scratch.clear();
            for p in parts {
                inner.scratch.extend_from_slice(p);
            }
            return match inner.net.tinject(&inner.scratch, dest, tag, data) {
                Ok(()) => true,
                Err(EAGAIN) => false,
                Err(e) => {
                    // (set_error takes only the error lock, never while waiting for `inner`.)
                    self.set_error(sys::fi_err("fi_tinject", e));
                    false
                }
            };
        }
        let Some(mut slot) = inner.send_free.pop() else { return false };
        let buf = self.send_region.bytes_mut(&mut slot);
        let mut off = 0;
        for p in parts {
            buf[off..off + p.len()].copy_from_slice(p);
            off += p.len();
        }
        match inner.net.tsend(inner.send_r, slot, len, dest, tag, data) {
            Ok(()) => true,
            Err((slot, e)) => {
                inner.send_free.push(slot);
                if e != EAGAIN {
                    self.set_error(sys::fi_err("fi_tsend", e));
                }
                false
            }
        }
    }

    /// Read up to [`POLL_BATCH`] completions: call `f(peer, record)` for each received record
    /// (peer = the sender's id), repost its buffer, return finished sends' buffers to the pool.
    /// Returns the number of records delivered. Errors are kept for [`Endpoint::take_error`].
    /// `f` may call `try_send`; a concurrent or re-entrant `poll` returns 0.
    pub fn poll(&self, f: &mut dyn FnMut(usize, &[u8])) -> usize {
        let mut ps = match self.poll_state.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
            Err(TryLockError::WouldBlock) => return 0,
        };
        let PollState { comps, deliver } = &mut *ps;
        let mut errors: Vec<io::Error> = Vec::new();
        {
            let mut g = lock(&self.inner);
            let inner = &mut *g;
            self.repost_backlog(inner, &mut errors);
            match inner.net.cq_read(POLL_BATCH, comps) {
                Ok(_) => {}
                Err(e) if e == -(sys::FI_EAVAIL as isize) => {
                    // Bounded: at most one error entry per posted operation.
                    for _ in 0..(self.send_slots + self.recv_slots + 1) {
                        match inner.net.cq_readerr() {
                            Some(err) => self.on_cq_error(inner, err, &mut errors),
                            None => break,
                        }
                    }
                }
                Err(e) => errors.push(sys::fi_err("fi_cq_read", e)),
            }
            self.post_reads(inner);
            for c in comps.drain(..) {
                if let Some(op) = c.read {
                    let done = inner.reads.completed(op, true);
                    self.read_finished(inner, done);
                    continue;
                }
                let Some(slot) = c.slot else { continue };
                if c.region == inner.send_r {
                    inner.send_free.push(slot);
                } else if c.region == inner.recv_r {
                    let peer =
                        if c.flags & sys::FI_REMOTE_CQ_DATA != 0 { c.data as u32 } else { tag::peer_of(c.tag) };
                    deliver.push((peer as usize, slot, c.len.min(self.recv_region.slot_bytes())));
                }
            }
        }
        for e in errors {
            self.set_error(e);
        }
        let n = deliver.len();
        for (peer, slot, len) in deliver.iter() {
            f(*peer, &self.recv_region.bytes(slot)[..*len]);
        }
        if n > 0 {
            let mut errors = Vec::new();
            let mut g = lock(&self.inner);
            let inner = &mut *g;
            inner.repost.extend(deliver.drain(..).map(|(_, s, _)| s));
            self.repost_backlog(inner, &mut errors);
            drop(g);
            for e in errors {
                self.set_error(e);
            }
        }
        n
    }

    fn repost_backlog(&self, inner: &mut Inner, errors: &mut Vec<io::Error>) {
        while let Some(slot) = inner.repost.pop() {
            match inner.net.trecv(inner.recv_r, slot, sys::FI_ADDR_UNSPEC, tag::record(0, false), tag::RECORD_IGNORE) {
                Ok(()) => {}
                Err((slot, e)) => {
                    inner.repost.push(slot);
                    if e != EAGAIN {
                        errors.push(sys::fi_err("fi_trecv (repost)", e));
                    }
                    break;
                }
            }
        }
    }

    fn on_cq_error(&self, inner: &mut Inner, err: CqError, errors: &mut Vec<io::Error>) {
        if let Some(op) = err.read {
            // Not an error of the job: the engine falls back to streaming the same bytes.
            let done = inner.reads.completed(op, false);
            self.read_finished(inner, done);
            return;
        }
        let canceled = err.err == sys::FI_ECANCELED;
        if let Some(slot) = err.slot {
            if err.region == inner.send_r {
                inner.send_free.push(slot);
            } else {
                // A failed receive (truncation, peer gone): the buffer goes back into service.
                inner.repost.push(slot);
            }
        }
        if !canceled {
            let what = if err.flags & sys::FI_RECV != 0 { "receive" } else { "send" };
            errors.push(io::Error::other(format!(
                "transport-efa ({}): {what} completed with an error: {}",
                self.provider, err.message
            )));
        }
    }

    /// Whether peers can read memory we [`expose`](Endpoint::expose), and we theirs
    /// ([`start_read`](Endpoint::start_read)): the provider offers `FI_RMA` and
    /// [`Config::no_rma`] is off.
    pub fn rma(&self) -> bool {
        self.rma
    }

    /// Registers `buf..buf+len` for peers to read (`FI_REMOTE_READ`) and says where they find
    /// it. Concurrent exposures of the same range share one registration (see `rma.rs` for why
    /// nothing outlives its last [`conceal`](Endpoint::conceal)).
    ///
    /// # Safety
    /// The memory must stay mapped, and unmodified if readers are to see what it holds now,
    /// until `conceal(handle)`.
    pub unsafe fn expose(&self, buf: *const u8, len: usize) -> io::Result<Exposed> {
        if !self.rma {
            return Err(io::Error::new(io::ErrorKind::Unsupported, "transport-efa: RMA is off"));
        }
        let mut g = lock(&self.inner);
        let inner = &mut *g;
        let net = &mut inner.net;
        // SAFETY: the caller keeps the memory mapped until `conceal`, which closes the
        // registration after its last user.
        let handle = inner.regs.acquire(buf as usize, len, sys::FI_REMOTE_READ, |key| unsafe {
            net.mr_reg(buf, len, sys::FI_REMOTE_READ, key)
        })?;
        let key = inner.regs.get(handle).map_or(0, |r| r.key);
        let addr = if self.virt_addr { buf as u64 } else { 0 };
        Ok(Exposed { addr, key, handle })
    }

    /// A transfer of memory exposed as `handle` is over (every reader has finished).
    pub fn conceal(&self, handle: u64) {
        let mut g = lock(&self.inner);
        let inner = &mut *g;
        if let Some(reg) = inner.regs.release(handle) {
            if let Err(e) = inner.net.mr_close(reg) {
                drop(g);
                self.set_error(e);
            }
        }
    }

    /// Starts reading `len` bytes at `addr` under `key` (what the peer's [`expose`] returned)
    /// in `peer`'s memory into `dst`, as `fi_read`s of at most 4 MiB, a bounded number in flight.
    /// Its end, successful or not, is reported once by [`finished_reads`] with `token`; a failed
    /// post is reported the same way, so the caller has one path for both.
    ///
    /// # Safety
    /// `dst..dst+len` must stay valid for writes, and untouched by the caller, until `token`
    /// is reported.
    ///
    /// [`expose`]: Endpoint::expose
    /// [`finished_reads`]: Endpoint::finished_reads
    pub unsafe fn start_read(&self, token: u64, peer: usize, addr: u64, key: u64, dst: *mut u8, len: usize) -> io::Result<()> {
        if !self.rma {
            return Err(io::Error::new(io::ErrorKind::Unsupported, "transport-efa: RMA is off"));
        }
        let mut g = lock(&self.inner);
        let inner = &mut *g;
        let Some(Some(src)) = inner.peers.get(peer).copied() else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("transport-efa: unknown peer {peer}")));
        };
        let local = if self.registered && len > 0 {
            let net = &mut inner.net;
            // SAFETY: the caller keeps dst valid until the read is reported, and the
            // registration is released when it finishes (`read_finished`).
            Some(inner.regs.acquire(dst as usize, len, sys::FI_READ, |key| unsafe { net.mr_reg(dst, len, sys::FI_READ, key) })?)
        } else {
            None
        };
        let meta = ReadMeta { src, key, local };
        let done = inner.reads.start(token, dst as usize, len, addr, self.read_piece, meta);
        self.read_finished(inner, done);
        self.post_reads(inner);
        Ok(())
    }

    /// Calls `f(token, ok)` for each read finished since the last call.
    pub fn finished_reads(&self, f: &mut dyn FnMut(u64, bool)) {
        if !self.reads_finished.swap(false, Ordering::Acquire) {
            return;
        }
        let done = std::mem::take(&mut lock(&self.inner).finished_reads);
        for (token, ok) in done {
            f(token, ok);
        }
    }

    /// Posts queued read pieces while operation slots are free and the provider takes them.
    fn post_reads(&self, inner: &mut Inner) {
        let mut finished = Vec::new();
        while let Some((op, piece, meta)) = inner.reads.next(&mut finished) {
            let desc = meta.local.and_then(|h| inner.regs.get(h)).map_or(std::ptr::null_mut(), |r| r.desc);
            // SAFETY: `start_read`'s caller keeps the destination valid until the transfer is
            // reported, which `Reads` does only after every posted piece has completed; `desc`
            // is the live registration of that destination (released at the same time).
            let posted = unsafe {
                let dst = piece.dst as *mut u8;
                inner.net.read(op, dst, piece.len, desc, meta.src, piece.remote, meta.key)
            };
            match posted {
                Ok(()) => {}
                Err(EAGAIN) => {
                    let done = inner.reads.not_posted(op, true);
                    debug_assert!(done.is_none());
                    break;
                }
                Err(_) => finished.extend(inner.reads.not_posted(op, false)),
            }
        }
        for f in finished {
            self.read_finished(inner, Some(f));
        }
    }

    fn read_finished(&self, inner: &mut Inner, done: Option<Finished<ReadMeta>>) {
        let Some(f) = done else { return };
        if let Some(reg) = f.meta.local.and_then(|h| inner.regs.release(h)) {
            if let Err(e) = inner.net.mr_close(reg) {
                self.set_error(e);
            }
        }
        inner.finished_reads.push((f.token, f.ok));
        // Release: the push (under the inner lock) happens before a reader sees the flag.
        self.reads_finished.store(true, Ordering::Release);
    }

    /// User-memory registrations open now (exposed buffers and read destinations in use).
    pub fn registrations(&self) -> usize {
        lock(&self.inner).regs.len()
    }

    fn set_error(&self, e: io::Error) {
        if !self.error_logged.swap(true, Ordering::Relaxed) {
            eprintln!("ferrompi: {e}");
        }
        let mut slot = lock(&self.error);
        if slot.is_none() {
            *slot = Some(e);
        }
    }

    /// The first error seen since the last call (completion errors, failed posts), if any.
    pub fn take_error(&self) -> Option<io::Error> {
        lock(&self.error).take()
    }

    /// Send buffers currently free (all of them when no `fi_tsend` is in flight).
    pub fn free_send_buffers(&self) -> usize {
        lock(&self.inner).send_free.len()
    }

    /// Receive buffers posted to the provider now, and those waiting to be reposted (the
    /// provider answered `FI_EAGAIN`); they add up to the pool size between polls.
    pub fn receive_buffers(&self) -> (usize, usize) {
        let g = lock(&self.inner);
        (g.net.posted_count(g.recv_r), g.repost.len())
    }

    /// Poll (discarding records) until every `fi_tsend` has completed or `timeout` passed;
    /// true when all completed. `fi_tinject` sends have no completion and are not covered.
    pub fn drain_sends(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.free_send_buffers() == self.send_slots {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            if self.poll(&mut |_, _| {}) == 0 {
                std::thread::yield_now();
            }
        }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        // Let sends in flight finish (bounded), so a last record is not cut off by the close.
        self.drain_sends(Duration::from_secs(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(prov: &str) -> Attrs {
        Attrs { prov_name: prov.into(), caps: sys::FI_TAGGED, max_msg_size: 1 << 20, ..Attrs::default() }
    }

    #[test]
    fn choose_prefers_efa_and_skips_shm() {
        let e = [attrs("shm"), attrs("tcp;ofi_rxm"), attrs("efa")];
        assert_eq!(choose(&e, None), Some(2));
        let e = [attrs("shm"), attrs("tcp;ofi_rxm")];
        assert_eq!(choose(&e, None), Some(1));
        assert_eq!(choose(&e, Some("shm")), Some(0));
        let mut bad = attrs("efa");
        bad.mode = sys::FI_MSG_PREFIX;
        assert_eq!(choose(&[bad, attrs("udp;ofi_rxd")], None), Some(1));
    }

    #[test]
    fn tag_layout() {
        assert_eq!(tag::record(5, false), 0);
        let t = tag::record(0x0ABC_DEF1, true);
        assert_eq!(t & tag::PROTO_MASK, 0);
        assert_eq!(t & tag::LOW_MASK, 0);
        assert_eq!(tag::peer_of(t), 0x0ABC_DEF1);
        assert_eq!(tag::PEER_MASK | tag::PROTO_MASK | tag::LOW_MASK, u64::MAX);
        assert_eq!(tag::PEER_MASK & (tag::PROTO_MASK | tag::LOW_MASK), 0);
    }

    #[test]
    fn config_from_env_defaults() {
        let c = Config::default();
        assert!(c.provider.is_none() && !c.efa_modes && !c.no_cq_data);
    }
}
