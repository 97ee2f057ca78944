//! Several `Protocol`s driven through an in-memory network that can reorder packets.

use super::*;

/// A deterministic xorshift generator: reproducible "random" delivery orders.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

struct Net {
    procs: Vec<Protocol>,
    /// Packets in flight: (from, to, record).
    wire: Vec<(usize, usize, Vec<u8>)>,
    rng: Option<Rng>,
    /// Records a transport takes per flush and peer before it reports "full".
    capacity: usize,
    /// Fail every single-copy write (the sender then streams its share).
    refuse_writes: bool,
    /// Leave single-copy reads in `deferred` instead of performing them.
    defer_reads: bool,
    deferred: Vec<RemoteRead>,
    /// Exposed send buffers by key: (address, length). Reads must name one of them.
    exposed: std::collections::HashMap<u64, (usize, usize)>,
    next_key: u64,
    /// Fail every exposure (registration) / every RDMA read.
    refuse_exposures: bool,
    fail_rdma: bool,
    /// RDMA reads started, completing some steps later in any order: (process, read).
    rdma: Vec<(usize, RemoteRead)>,
}

impl Net {
    fn new(n: usize, config: Config, bulk: Bulk) -> Net {
        let config = Config { link: Link { bulk, ..config.link }, ..config };
        let procs: Vec<Protocol> = (0..n).map(|_| Protocol::new(n, config)).collect();
        Net {
            procs,
            wire: Vec::new(),
            rng: None,
            capacity: 4,
            refuse_writes: false,
            defer_reads: false,
            deferred: Vec::new(),
            exposed: Default::default(),
            next_key: 1,
            refuse_exposures: false,
            fail_rdma: false,
            rdma: Vec::new(),
        }
    }

    /// What an I/O layer does before flushing: register the buffers `Rts` packets announce.
    fn expose(&mut self) {
        for p in &mut self.procs {
            for e in p.take_exposures() {
                if self.refuse_exposures {
                    p.exposed(&e, None);
                    continue;
                }
                let key = self.next_key;
                self.next_key += 1;
                self.exposed.insert(key, (e.buf.addr(), e.buf.len()));
                // Peers name the memory by offset, as providers without FI_MR_VIRT_ADDR do.
                p.exposed(&e, Some(Exposed { addr: 0, key, handle: key }));
            }
        }
    }

    /// Completes some of the RDMA reads in flight (all of them without a generator).
    fn complete_rdma(&mut self) {
        let mut i = 0;
        while i < self.rdma.len() {
            if self.rng.as_mut().is_some_and(|r| r.below(2) == 0) {
                i += 1;
                continue;
            }
            let (proc, read) = self.rdma.swap_remove(i);
            let ok = !self.fail_rdma;
            if ok {
                let key = read.key.unwrap();
                let &(base, len) = self.exposed.get(&key).expect("RDMA read under a key nobody exposed");
                assert!(read.addr + read.dst.len() <= len, "RDMA read past the exposed buffer");
                let dst = read.dst.bytes_mut();
                // SAFETY: every process of this test lives in this address space; `base` is a
                // live exposed send buffer of `len` bytes (its request holds it until `Fin`).
                unsafe { std::ptr::copy_nonoverlapping((base + read.addr) as *const u8, dst.as_mut_ptr(), dst.len()) };
            }
            self.procs[proc].read_done(&read, ok);
        }
    }

    fn reordering(mut self, seed: u64) -> Net {
        self.rng = Some(Rng(seed));
        self
    }

    /// One round: every process flushes, then packets are delivered (all of them, in arrival
    /// order or shuffled), then single-copy reads are performed.
    fn step(&mut self) {
        self.expose();
        let n = self.procs.len();
        for from in 0..n {
            for to in 0..n {
                let mut taken = 0;
                let cap = self.capacity;
                let wire = &mut self.wire;
                self.procs[from].flush(to, &mut |h, p| {
                    if taken == cap {
                        return false;
                    }
                    taken += 1;
                    let mut rec = h.to_vec();
                    rec.extend_from_slice(p);
                    wire.push((from, to, rec));
                    true
                });
            }
        }
        let mut batch = std::mem::take(&mut self.wire);
        if let Some(rng) = &mut self.rng {
            for i in (1..batch.len()).rev() {
                batch.swap(i, rng.below(i + 1));
            }
        }
        for (from, to, rec) in batch {
            self.procs[to].on_packet(from, &rec).unwrap();
        }
        self.complete_rdma();
        for (i, p) in self.procs.iter_mut().enumerate() {
            if self.defer_reads {
                self.deferred.extend(p.take_reads());
            }
            for r in p.take_reads() {
                if r.key.is_some() {
                    self.rdma.push((i, r));
                    continue;
                }
                let dst = r.dst.bytes_mut();
                // SAFETY: every process of this test lives in this address space, and `addr`
                // is a live send buffer of `dst.len()` bytes or more (the sender's request
                // stays incomplete until `Fin`).
                unsafe { std::ptr::copy_nonoverlapping(r.addr as *const u8, dst.as_mut_ptr(), dst.len()) };
                p.read_done(&r, true);
            }
            for w in p.take_writes() {
                let ok = !self.refuse_writes;
                if ok {
                    // SAFETY: as above: `addr` is a live receive buffer with room for `src`.
                    unsafe { std::ptr::copy_nonoverlapping(w.src.bytes().as_ptr(), w.addr as *mut u8, w.src.len()) };
                }
                p.write_done(&w, ok);
            }
            for (_, handle) in p.take_concealed() {
                assert!(self.exposed.remove(&handle).is_some(), "released twice or never exposed");
            }
        }
    }

    fn run_until(&mut self, mut done: impl FnMut(&mut Net) -> bool) {
        for _ in 0..100_000 {
            if done(self) {
                return;
            }
            self.step();
        }
        panic!("no progress");
    }

    fn wait(&mut self, proc: usize, req: ReqId) -> Status {
        let mut out = None;
        self.run_until(|net| {
            out = net.procs[proc].take(req).unwrap();
            out.is_some()
        });
        out.unwrap()
    }
}

const LINK: Link = Link { eager_limit: 64, chunk: 100, bulk: Bulk::Cma };
const BULKS: [Bulk; 3] = [Bulk::Cma, Bulk::Stream, Bulk::RdmaRead];
const SMALL: Config = Config { link: LINK, split_min: 1_000_000 };
/// Single-copy messages from 300 bytes on are copied by both ends.
const SPLIT: Config = Config { link: LINK, split_min: 300 };

fn env(ctx: u32, src: u32, tag: i32) -> Envelope {
    Envelope { ctx, src, tag }
}

fn sel(ctx: u32, src: Option<u32>, tag: Option<i32>) -> Selector {
    Selector { ctx, src, tag }
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

fn send_recv(config: Config, len: usize, bulk: Bulk, mode: SendMode) {
    let mut net = Net::new(2, config, bulk);
    let data = pattern(len, 3);
    let mut out = vec![0u8; len];
    let s = net.procs[0].isend(1, env(0, 0, 9), SendData::Owned(data.clone()), mode);
    let r = net.procs[1].irecv(sel(0, Some(0), Some(9)), UserBuf::from_slice(&mut out).into());
    let st = net.wait(1, r);
    net.wait(0, s);
    assert_eq!(st, Status { source: 0, tag: 9, bytes: len, error: None, cancelled: false });
    assert_eq!(out, data);
    assert!(net.exposed.is_empty(), "registrations left after the transfer");
}

#[test]
fn eager_rendezvous_and_pipelined() {
    for len in [0, 1, 64, 65, 99, 100, 101, 1000, 4096, 8192, 20000] {
        for config in [SMALL, SPLIT] {
            for bulk in BULKS {
                send_recv(config, len, bulk, SendMode::Standard);
                send_recv(config, len, bulk, SendMode::Synchronous);
            }
        }
    }
}

#[test]
fn unexpected_then_posted() {
    for len in [10, 1000] {
        for bulk in BULKS {
            let mut net = Net::new(2, SMALL, bulk);
            let data = pattern(len, 1);
            let s = net.procs[0].isend(1, env(0, 0, 1), SendData::Owned(data.clone()), SendMode::Standard);
            for _ in 0..3 {
                net.step();
            }
            assert!(net.procs[1].iprobe(&sel(0, None, None)).is_some());
            let mut out = vec![0u8; len];
            let r = net.procs[1].irecv(sel(0, None, None), UserBuf::from_slice(&mut out).into());
            net.wait(1, r);
            net.wait(0, s);
            assert_eq!(out, data);
        }
    }
}

#[test]
fn truncation_delivers_what_fits() {
    for len in [50, 500] {
        for bulk in BULKS {
            let mut net = Net::new(2, SMALL, bulk);
            let data = pattern(len, 5);
            let mut out = vec![0u8; 20];
            let s = net.procs[0].isend(1, env(0, 0, 0), SendData::Owned(data.clone()), SendMode::Standard);
            let r = net.procs[1].irecv(sel(0, Some(0), Some(0)), UserBuf::from_slice(&mut out).into());
            let st = net.wait(1, r);
            net.wait(0, s);
            assert_eq!(st.error, Some(ErrorClass::Truncate));
            assert_eq!(st.bytes, 20);
            assert_eq!(out, data[..20]);
        }
    }
}

#[test]
fn synchronous_send_waits_for_the_match() {
    let mut net = Net::new(2, SMALL, Bulk::Cma);
    let s = net.procs[0].isend(1, env(0, 0, 0), SendData::Owned(vec![1, 2, 3]), SendMode::Synchronous);
    for _ in 0..10 {
        net.step();
        assert_eq!(net.procs[0].peek(s).unwrap(), None, "ssend completed before the receive was posted");
    }
    let mut out = [0u8; 3];
    let r = net.procs[1].irecv(sel(0, None, None), UserBuf::from_slice(&mut out).into());
    net.wait(1, r);
    net.wait(0, s);
    assert_eq!(out, [1, 2, 3]);
}

/// Messages from one sender on one communicator and tag are received in send order, however
/// the network reorders them, for eager and rendezvous sizes mixed.
#[test]
fn non_overtaking_under_reordering() {
    for seed in 1..20u64 {
        let mut net = Net::new(2, SMALL, BULKS[seed as usize % 3]).reordering(seed);
        let msgs: Vec<Vec<u8>> = (0..60).map(|i| pattern(if i % 3 == 0 { 300 } else { 8 }, i as u8)).collect();
        let sends: Vec<_> = msgs
            .iter()
            .map(|m| net.procs[0].isend(1, env(0, 0, 4), SendData::Owned(m.clone()), SendMode::Standard))
            .collect();
        let mut outs: Vec<Vec<u8>> = msgs.iter().map(|m| vec![0; m.len()]).collect();
        // Half posted before arrival, half after.
        let mut recvs = Vec::new();
        for (i, out) in outs.iter_mut().enumerate() {
            if i == 30 {
                for _ in 0..5 {
                    net.step();
                }
            }
            recvs.push(net.procs[1].irecv(sel(0, Some(0), Some(4)), UserBuf::from_slice(out).into()));
        }
        for r in recvs {
            net.wait(1, r);
        }
        for s in sends {
            net.wait(0, s);
        }
        assert_eq!(outs, msgs, "seed {seed}");
        assert!(net.exposed.is_empty(), "seed {seed}: registrations left");
    }
}

/// Three senders flood rank 0 before it posts anything; every message arrives once, and in
/// order per sender.
#[test]
fn many_to_one_flood() {
    let mut net = Net::new(4, SMALL, Bulk::Stream).reordering(7);
    net.capacity = 64;
    let per_sender = 500u32;
    let mut sends = Vec::new();
    for from in 1..4usize {
        for i in 0..per_sender {
            let data = (from as u32 * 1_000_000 + i).to_le_bytes().to_vec();
            sends.push((from, net.procs[from].isend(0, env(0, from as u32, 0), SendData::Owned(data), SendMode::Standard)));
        }
    }
    for _ in 0..50 {
        net.step();
    }
    let mut last = [None::<u32>; 4];
    for _ in 0..3 * per_sender {
        let mut out = [0u8; 4];
        let r = net.procs[0].irecv(sel(0, None, None), UserBuf::from_slice(&mut out).into());
        let st = net.wait(0, r);
        let v = u32::from_le_bytes(out);
        let from = st.source as usize;
        assert_eq!(v / 1_000_000, from as u32);
        let i = v % 1_000_000;
        assert_eq!(last[from].map_or(0, |l| l + 1), i);
        last[from] = Some(i);
    }
    for (from, s) in sends {
        net.wait(from, s);
    }
}

#[test]
fn wildcards_and_contexts() {
    let mut net = Net::new(3, SMALL, Bulk::Cma);
    let a = net.procs[1].isend(0, env(5, 1, 11), SendData::Owned(vec![1]), SendMode::Standard);
    let b = net.procs[2].isend(0, env(6, 2, 22), SendData::Owned(vec![2]), SendMode::Standard);
    let mut x = [0u8];
    let mut y = [0u8];
    // Context 6 first, though its message may come second: contexts never mix.
    let ry = net.procs[0].irecv(sel(6, None, None), UserBuf::from_slice(&mut y).into());
    let rx = net.procs[0].irecv(sel(5, None, Some(11)), UserBuf::from_slice(&mut x).into());
    let sy = net.wait(0, ry);
    let sx = net.wait(0, rx);
    net.wait(1, a);
    net.wait(2, b);
    assert_eq!((x[0], sx.source, sx.tag), (1, 1, 11));
    assert_eq!((y[0], sy.source, sy.tag), (2, 2, 22));
}

#[test]
fn matched_probe_and_receive() {
    for len in [5, 500] {
        let mut net = Net::new(2, SMALL, Bulk::Stream);
        let s = net.procs[0].isend(1, env(0, 0, 3), SendData::Owned(pattern(len, 9)), SendMode::Standard);
        let mut found = None;
        net.run_until(|n| {
            found = n.procs[1].improbe(&sel(0, None, None));
            found.is_some()
        });
        let (msg, st) = found.unwrap();
        assert_eq!((st.source, st.tag, st.bytes), (0, 3, len));
        // The message is gone from the queue: a second probe finds nothing.
        assert!(net.procs[1].iprobe(&sel(0, None, None)).is_none());
        let mut out = vec![0u8; len];
        let r = net.procs[1].imrecv(msg, UserBuf::from_slice(&mut out).into()).unwrap();
        assert!(net.procs[1].imrecv(msg, UserBuf::EMPTY.into()).is_err());
        net.wait(1, r);
        net.wait(0, s);
        assert_eq!(out, pattern(len, 9));
    }
}

#[test]
fn cancel_posted_receive() {
    let mut net = Net::new(2, SMALL, Bulk::Cma);
    let mut out = [0u8; 4];
    let r = net.procs[1].irecv(sel(0, None, None), UserBuf::from_slice(&mut out).into());
    net.procs[1].cancel(r).unwrap();
    let st = net.procs[1].take(r).unwrap().unwrap();
    assert!(st.cancelled);
    // A later message is not swallowed by the cancelled receive.
    let s = net.procs[0].isend(1, env(0, 0, 0), SendData::Owned(vec![7; 4]), SendMode::Standard);
    net.wait(0, s);
    net.step();
    assert!(net.procs[1].iprobe(&sel(0, None, None)).is_some());
}

#[test]
fn detached_requests_vanish_on_completion() {
    let mut net = Net::new(2, SMALL, Bulk::Stream);
    let s = net.procs[0].isend(1, env(0, 0, 0), SendData::Owned(pattern(1000, 0)), SendMode::Standard);
    net.procs[0].detach(s).unwrap();
    let mut out = vec![0u8; 1000];
    let r = net.procs[1].irecv(sel(0, None, None), UserBuf::from_slice(&mut out).into());
    net.wait(1, r);
    assert!(!net.procs[0].is_quiet());
    net.run_until(|n| !n.procs[0].is_request(s));
    assert!(net.procs[0].take(s).is_err());
    assert!(net.procs[0].is_quiet());
}

#[test]
fn stale_request_is_an_error() {
    let mut p = Protocol::new(1, SMALL);
    let r = p.completed(Status::default());
    assert!(p.take(r).unwrap().is_some());
    assert_eq!(p.take(r).unwrap_err().class, ErrorClass::Request);
    assert_eq!(p.cancel(r).unwrap_err().class, ErrorClass::Request);
}

/// A failed single-copy read falls back to the pipelined copy.
#[test]
fn failed_read_falls_back() {
    let mut net = Net::new(2, SMALL, Bulk::Cma);
    let data = pattern(700, 2);
    let s = net.procs[0].isend(1, env(0, 0, 0), SendData::Owned(data.clone()), SendMode::Standard);
    let mut out = vec![0u8; 700];
    let r = net.procs[1].irecv(sel(0, None, None), UserBuf::from_slice(&mut out).into());
    // Deliver the Rts by hand, then refuse the read.
    let mut recs = Vec::new();
    net.procs[0].flush(1, &mut |h, p| {
        recs.push([h, p].concat());
        true
    });
    for rec in recs {
        net.procs[1].on_packet(0, &rec).unwrap();
    }
    let reads = net.procs[1].take_reads();
    assert_eq!(reads.len(), 1);
    net.procs[1].read_done(&reads[0], false);
    net.wait(1, r);
    net.wait(0, s);
    assert_eq!(out, data);
}

/// The fast path sends only when nothing is queued ahead (ordering) and the transport takes
/// the packet; otherwise it changes nothing and the message goes through `isend`.
#[test]
fn send_now_keeps_order() {
    let mut net = Net::new(2, SMALL, Bulk::Stream);
    // Refused by the transport: nothing happens.
    assert!(!net.procs[0].send_now(1, env(0, 0, 0), &[1], &mut |_, _| false));
    // Too large for eager.
    assert!(!net.procs[0].send_now(1, env(0, 0, 0), &[0; 65], &mut |_, _| true));
    // A queued send is ahead: the fast path must not overtake it.
    let queued = net.procs[0].isend(1, env(0, 0, 0), SendData::Owned(vec![1]), SendMode::Standard);
    assert!(!net.procs[0].send_now(1, env(0, 0, 0), &[2], &mut |_, _| true));
    net.wait(0, queued);
    let mut wire = Vec::new();
    assert!(net.procs[0].send_now(1, env(0, 0, 0), &[2], &mut |h, p| {
        wire.push([h, p].concat());
        true
    }));
    for rec in wire {
        net.wire.push((0, 1, rec));
    }
    let mut a = [0u8];
    let mut b = [0u8];
    let ra = net.procs[1].irecv(sel(0, None, None), UserBuf::from_slice(&mut a).into());
    let rb = net.procs[1].irecv(sel(0, None, None), UserBuf::from_slice(&mut b).into());
    net.wait(1, ra);
    net.wait(1, rb);
    assert_eq!((a[0], b[0]), (1, 2));
}

/// Both ends copy: truncation, and a failed write or read, still deliver every byte once.
#[test]
fn split_copy_truncation_and_fallbacks() {
    for (buf_len, refuse_writes, fail_read) in
        [(20000, false, false), (3000, false, false), (5000, false, false), (20000, true, false), (20000, false, true), (9000, true, true)]
    {
        let mut net = Net::new(2, SPLIT, Bulk::Cma);
        net.refuse_writes = refuse_writes;
        let data = pattern(20000, 4);
        let mut out = vec![0u8; buf_len];
        let s = net.procs[0].isend(1, env(0, 0, 0), SendData::Owned(data.clone()), SendMode::Standard);
        let r = net.procs[1].irecv(sel(0, None, None), UserBuf::from_slice(&mut out).into());
        if fail_read {
            // Deliver the Rts by hand and refuse the receiver's read.
            let mut recs = Vec::new();
            net.procs[0].flush(1, &mut |h, p| {
                recs.push([h, p].concat());
                true
            });
            for rec in recs {
                net.procs[1].on_packet(0, &rec).unwrap();
            }
            for read in net.procs[1].take_reads() {
                net.procs[1].read_done(&read, false);
            }
        }
        let st = net.wait(1, r);
        net.wait(0, s);
        let n = buf_len.min(20000);
        assert_eq!(out[..n], data[..n], "buf {buf_len} refuse_writes {refuse_writes} fail_read {fail_read}");
        assert_eq!(st.bytes, n);
        assert_eq!(st.error, (buf_len < 20000).then_some(ErrorClass::Truncate));
    }
}

/// A split send completes only after the receiver has every byte (its `Fin`), never when
/// its own write is done.
#[test]
fn split_send_waits_for_fin() {
    let mut net = Net::new(2, SPLIT, Bulk::Cma);
    let s = net.procs[0].isend(1, env(0, 0, 0), SendData::Owned(pattern(10000, 1)), SendMode::Standard);
    let mut out = vec![0u8; 10000];
    let r = net.procs[1].irecv(sel(0, None, None), UserBuf::from_slice(&mut out).into());
    // Hold back the receiver's read: the sender's write alone must not complete the send.
    net.defer_reads = true;
    for _ in 0..10 {
        net.step();
        assert_eq!(net.procs[0].peek(s).unwrap(), None);
    }
    assert_eq!(net.deferred.len(), 1);
    for read in std::mem::take(&mut net.deferred) {
        let dst = read.dst.bytes_mut();
        // SAFETY: as in `Net::step`.
        unsafe { std::ptr::copy_nonoverlapping(read.addr as *const u8, dst.as_mut_ptr(), dst.len()) };
        net.procs[1].read_done(&read, true);
    }
    net.wait(1, r);
    net.wait(0, s);
    assert_eq!(out, pattern(10000, 1));
}

/// RDMA reads: the send buffer is exposed before its `Rts` leaves, the receiver reads straight
/// into its buffer (truncated when shorter), and the registration is released when the send
/// completes, however late the reads finish.
#[test]
fn rdma_read_rendezvous() {
    for (buf_len, seed) in [(20000, 1), (20000, 2), (5000, 3), (0, 4)] {
        let mut net = Net::new(2, SMALL, Bulk::RdmaRead).reordering(seed);
        let data = pattern(20000, 6);
        let mut out = vec![0u8; buf_len];
        let s = net.procs[0].isend(1, env(0, 0, 0), SendData::Owned(data.clone()), SendMode::Standard);
        let r = net.procs[1].irecv(sel(0, None, None), UserBuf::from_slice(&mut out).into());
        let st = net.wait(1, r);
        net.wait(0, s);
        assert_eq!(out[..], data[..buf_len]);
        assert_eq!(st.bytes, buf_len);
        assert_eq!(st.error, (buf_len < 20000).then_some(ErrorClass::Truncate));
        assert!(net.exposed.is_empty(), "registration not released");
        assert!(net.procs[0].is_quiet() && net.procs[1].is_quiet());
    }
}

/// The `Rts` waits for its registration: nothing leaves for that peer until the I/O layer
/// answered, and later packets to it stay behind the `Rts` (order).
#[test]
fn rts_waits_for_its_exposure() {
    let mut net = Net::new(2, SMALL, Bulk::RdmaRead);
    net.procs[0].isend(1, env(0, 0, 0), SendData::Owned(pattern(1000, 1)), SendMode::Standard);
    net.procs[0].isend(1, env(0, 0, 0), SendData::Owned(pattern(8, 2)), SendMode::Standard);
    let mut sent = 0;
    net.procs[0].flush(1, &mut |_, _| {
        sent += 1;
        true
    });
    assert_eq!(sent, 0, "the Rts left before its buffer was registered");
    let e = net.procs[0].take_exposures();
    assert_eq!(e.len(), 1);
    net.procs[0].exposed(&e[0], Some(Exposed { addr: 0, key: 5, handle: 5 }));
    let mut headers = Vec::new();
    net.procs[0].flush(1, &mut |h, _| {
        headers.push(Header::decode(h).unwrap().0);
        true
    });
    assert_eq!(headers.len(), 2);
    assert_eq!((headers[0].kind(), headers[0].key), (PacketKind::Rts, Some(5)));
    assert_eq!(headers[1].kind(), PacketKind::Eager);
}

/// A buffer that cannot be registered goes by stream; a read that fails streams its bytes and
/// the peer's later messages stream from the start. Every registration is released either way.
#[test]
fn rdma_fallbacks() {
    for (refuse_exposures, fail_rdma) in [(true, false), (false, true)] {
        let mut net = Net::new(2, SMALL, Bulk::RdmaRead).reordering(9);
        net.refuse_exposures = refuse_exposures;
        net.fail_rdma = fail_rdma;
        for round in 0..2u8 {
            let data = pattern(3000, round);
            let mut out = vec![0u8; 3000];
            let s = net.procs[0].isend(1, env(0, 0, 0), SendData::Owned(data.clone()), SendMode::Synchronous);
            let r = net.procs[1].irecv(sel(0, None, None), UserBuf::from_slice(&mut out).into());
            net.wait(1, r);
            net.wait(0, s);
            assert_eq!(out, data, "refuse_exposures {refuse_exposures} fail_rdma {fail_rdma} round {round}");
            assert!(net.exposed.is_empty());
        }
    }
}

/// Byte offsets, in stream order, of `n` elements of a vector of 2 blocks of 3 `i32`s with a
/// stride of 5 `i32`s (extent 32 bytes): the layout `strided_type` describes, listed naively.
fn strided_offsets(n: usize) -> Vec<usize> {
    let mut v = Vec::new();
    for e in 0..n {
        for b in 0..2 {
            for i in 0..12 {
                v.push(e * 32 + b * 20 + i);
            }
        }
    }
    v
}

fn strided_type() -> std::sync::Arc<crate::typemap::TypeMap> {
    use crate::typemap::TypeMap;
    let int = TypeMap::predefined(crate::datatype::Kind::I32, None, 0);
    std::sync::Arc::new(TypeMap::vector(2, 3, 5, false, &int).unwrap())
}

/// Scattered (derived-type) buffers on either end or both: eager and rendezvous sizes, every
/// bulk path, reordering. The receiver gets the sender's stream in its own layout, and the
/// bytes between its blocks stay untouched.
#[test]
fn scattered_buffers_any_end() {
    use crate::buffer::TypedBuf;
    for n in [1, 2, 50] {
        let stream = pattern(24 * n, n as u8);
        for bulk in BULKS {
            for (typed_send, typed_recv) in [(true, false), (false, true), (true, true)] {
                let mut net = Net::new(2, SMALL, bulk).reordering(n as u64 + 3);
                let offs = strided_offsets(n);
                let mut smem = vec![0u8; 32 * n];
                for (k, &o) in offs.iter().enumerate() {
                    smem[o] = stream[k];
                }
                let mut contiguous_src = stream.clone();
                let sbuf = if typed_send {
                    // SAFETY: `smem` outlives the send (we wait for it below).
                    Buf::Typed(unsafe { TypedBuf::new(smem.as_mut_ptr(), n, strided_type()) }.unwrap())
                } else {
                    UserBuf::from_slice(&mut contiguous_src).into()
                };
                let mut rmem = vec![0xEEu8; 32 * n];
                let rbuf = if typed_recv {
                    // SAFETY: `rmem` outlives the receive.
                    Buf::Typed(unsafe { TypedBuf::new(rmem.as_mut_ptr(), n, strided_type()) }.unwrap())
                } else {
                    UserBuf::from_slice(&mut rmem[..24 * n]).into()
                };
                let what = format!("n {n} {bulk:?} typed_send {typed_send} typed_recv {typed_recv}");
                let s = net.procs[0].isend(1, env(0, 0, 0), SendData::User(sbuf), SendMode::Standard);
                let r = net.procs[1].irecv(sel(0, None, None), rbuf);
                let st = net.wait(1, r);
                net.wait(0, s);
                assert_eq!((st.bytes, st.error), (24 * n, None), "{what}");
                if typed_recv {
                    let mut expect = vec![0xEEu8; 32 * n];
                    for (k, &o) in offs.iter().enumerate() {
                        expect[o] = stream[k];
                    }
                    assert_eq!(rmem, expect, "{what}");
                } else {
                    assert_eq!(rmem[..24 * n], stream[..], "{what}");
                }
                assert!(net.exposed.is_empty(), "{what}");
            }
        }
    }
}
