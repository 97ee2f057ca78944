//! Schedules of several processes driven through `Protocol`s and an in-memory network that
//! reorders packets: several collectives outstanding at once, advanced in varying orders.

use super::*;
use crate::datatype::Kind;
use crate::op::BuiltinOp;
use crate::matching::{Envelope, Selector};
use crate::protocol::{Bulk, Config, Link, Protocol, SendData, SendMode};

/// A deterministic xorshift generator.
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

/// Tag offset of messages to the remote group (as the engine's `INTER_TAG`).
const INTER: i32 = 1 << 29;

/// One process's wire: process `base + rank` of a group starting at `base`; the remote group
/// (if any) starts at `remote_base`.
struct TestWire<'a> {
    proto: &'a mut Protocol,
    rank: usize,
    base: usize,
    remote_base: usize,
}

impl Wire for TestWire<'_> {
    fn send(&mut self, to: Peer, tag: i32, data: UserBuf) -> Result<Option<ReqId>> {
        let (proc, tag) = match to {
            Peer::Local(r) => (self.base + r, tag),
            Peer::Remote(r) => (self.remote_base + r, tag + INTER),
        };
        let env = Envelope { ctx: 1, src: self.rank as u32, tag };
        Ok(Some(self.proto.isend(proc, env, SendData::User(data.into()), SendMode::Standard)))
    }
    fn recv(&mut self, from: Peer, tag: i32, into: UserBuf) -> Result<ReqId> {
        let (src, tag) = match from {
            Peer::Local(r) => (r, tag),
            Peer::Remote(r) => (r, tag + INTER),
        };
        Ok(self.proto.irecv(Selector { ctx: 1, src: Some(src as u32), tag: Some(tag) }, into.into()))
    }
    fn done(&mut self, r: ReqId) -> Result<bool> {
        match self.proto.take(r)? {
            Some(s) if s.error.is_some() => fail(ErrorClass::Truncate, "collective message longer than its buffer"),
            Some(_) => Ok(true),
            None => Ok(false),
        }
    }
    fn forget(&mut self, r: ReqId) {
        let _ = self.proto.detach(r);
    }
}

/// A process: its group (base, rank), the remote group's base, and its schedules.
struct Proc {
    base: usize,
    rank: usize,
    remote_base: usize,
    scheds: Vec<Schedule>,
}

/// Runs every process's schedules to completion. Each round advances the schedules of each
/// process in a shuffled order, then delivers every packet in flight, shuffled.
fn drive(procs: &mut [Proc], eager: usize, seed: u64) {
    let n = procs.len();
    let link = Link { eager_limit: eager, chunk: 100, bulk: Bulk::Stream };
    let mut protos: Vec<Protocol> = (0..n).map(|_| Protocol::new(n, Config { link, split_min: usize::MAX })).collect();
    let mut rng = Rng(seed | 1);
    for _ in 0..100_000 {
        let mut all_done = true;
        for (i, p) in procs.iter_mut().enumerate() {
            let mut w = TestWire { proto: &mut protos[i], rank: p.rank, base: p.base, remote_base: p.remote_base };
            let k = p.scheds.len();
            let first = if k > 0 { rng.below(k) } else { 0 };
            for j in 0..k {
                let s = &mut p.scheds[(first + j) % k];
                all_done &= s.advance(&mut w).unwrap();
                // The engine runs these outside its lock; here, at once.
                if let Some(u) = s.take_user_step() {
                    u.run();
                }
            }
        }
        if all_done {
            return;
        }
        let mut wire = Vec::new();
        for (from, proto) in protos.iter_mut().enumerate() {
            for to in 0..n {
                proto.flush(to, &mut |h, payload| {
                    wire.push((from, to, [h, payload].concat()));
                    true
                });
            }
        }
        for i in (1..wire.len()).rev() {
            wire.swap(i, rng.below(i + 1));
        }
        for (from, to, rec) in wire {
            protos[to].on_packet(from, &rec).unwrap();
        }
    }
    panic!("schedules made no progress");
}

fn builtin(op: BuiltinOp, kind: Kind) -> Reduction {
    Reduction { op: Op::Builtin { op, kind }, count: 0 }
}

fn intra(size: usize) -> Vec<Proc> {
    (0..size).map(|rank| Proc { base: 0, rank, remote_base: 0, scheds: Vec::new() }).collect()
}

fn i64s(v: &[u8]) -> Vec<i64> {
    v.chunks_exact(8).map(|c| i64::from_ne_bytes(c.try_into().unwrap())).collect()
}

fn bytes_of(v: &[i64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_ne_bytes()).collect()
}

/// Several collectives outstanding on every rank at once (distinct tags, as the engine gives
/// them), advanced in varying orders, eager and rendezvous sizes, sizes 1 to 7.
#[test]
fn outstanding_collectives_complete_with_correct_results() {
    for size in 1..=7usize {
        for (seed, elems) in [(7u64, 3usize), (99, 40)] {
            let mut procs = intra(size);
            let mut bufs: Vec<Vec<Vec<u8>>> = Vec::new();
            let root_b = size / 2;
            let root_r = size - 1;
            for p in procs.iter_mut() {
                let rank = p.rank;
                let contrib: Vec<i64> = (0..elems).map(|i| (rank * 1000 + i) as i64).collect();
                let mut mine = vec![
                    bytes_of(&contrib),                                                                       // 0: allreduce in/out
                    if rank == root_b { bytes_of(&vec![42i64; elems]) } else { vec![0; elems * 8] },          // 1: bcast
                    bytes_of(&contrib),                                                                       // 2: reduce send
                    vec![0; elems * 8],                                                                       // 3: reduce recv
                ];
                let mut ar = Schedule::new();
                let b = ar.user(UserBuf::from_slice(&mut mine[0]));
                allreduce(&mut ar, rank, size, b, &builtin(BuiltinOp::Sum, Kind::I64), 10);
                let mut bc = Schedule::new();
                let b = bc.user(UserBuf::from_slice(&mut mine[1]));
                bcast(&mut bc, rank, size, root_b, b, 11);
                let mut bar = Schedule::new();
                barrier(&mut bar, rank, size, 12);
                let mut rd = Schedule::new();
                let s = rd.user(UserBuf::from_slice(&mut mine[2]));
                let r = rd.user(UserBuf::from_slice(&mut mine[3]));
                reduce(&mut rd, rank, size, root_r, Some(s), r, &builtin(BuiltinOp::Sum, Kind::I64), 13);
                p.scheds = vec![ar, bc, bar, rd];
                bufs.push(mine);
            }
            // Large messages (40 i64 = 320 bytes) go by rendezvous with a 64-byte eager limit.
            drive(&mut procs, 64, seed + size as u64);
            for (rank, mine) in bufs.iter().enumerate() {
                let want: Vec<i64> = (0..elems).map(|i| (0..size).map(|r| (r * 1000 + i) as i64).sum()).collect();
                assert_eq!(i64s(&mine[0]), want, "allreduce, size {size}, rank {rank}");
                assert_eq!(i64s(&mine[1]), vec![42; elems], "bcast, size {size}, rank {rank}");
                if rank == root_r {
                    assert_eq!(i64s(&mine[3]), want, "reduce, size {size}");
                } else {
                    assert_eq!(i64s(&mine[3]), vec![0; elems], "reduce wrote a non-root's buffer");
                }
            }
        }
    }
}

/// Float sums come out bit-identical on every rank, whatever order messages arrive in.
#[test]
fn allreduce_floats_are_bit_identical() {
    for size in 2..=9usize {
        let mut procs = intra(size);
        let mut bufs: Vec<Vec<u8>> = (0..size)
            .map(|r| (0..16).flat_map(|i| (1.0f64 / (r * 16 + i + 3) as f64 * 1e10f64.powi((r % 3) as i32)).to_ne_bytes()).collect())
            .collect();
        for (p, b) in procs.iter_mut().zip(bufs.iter_mut()) {
            let mut s = Schedule::new();
            let r = s.user(UserBuf::from_slice(b));
            allreduce(&mut s, p.rank, size, r, &builtin(BuiltinOp::Sum, Kind::F64), 4);
            p.scheds.push(s);
        }
        drive(&mut procs, 4096, 5 + size as u64);
        for b in &bufs[1..] {
            assert_eq!(b, &bufs[0], "size {size}");
        }
    }
}

/// A persistent collective: built once, restarted with new contents each time.
#[test]
fn restart_reuses_the_schedule() {
    let size = 5;
    let mut procs = intra(size);
    let mut bufs: Vec<Vec<u8>> = vec![vec![0; 16]; size];
    for (p, b) in procs.iter_mut().zip(bufs.iter_mut()) {
        let mut s = Schedule::new();
        let r = s.user(UserBuf::from_slice(b));
        allreduce(&mut s, p.rank, size, r, &builtin(BuiltinOp::Max, Kind::I64), 4);
        p.scheds.push(s);
    }
    for iter in 0..4i64 {
        for (rank, b) in bufs.iter_mut().enumerate() {
            b.copy_from_slice(&bytes_of(&[rank as i64 * iter, -(rank as i64) - iter]));
        }
        for p in procs.iter_mut() {
            p.scheds[0].restart();
        }
        drive(&mut procs, 64, 11 + iter as u64);
        for b in &bufs {
            assert_eq!(i64s(b), vec![(size as i64 - 1) * iter, -iter]);
        }
    }
}

#[test]
fn large_scratch_starts_where_the_application_buffer_does_in_its_page() {
    let mut app = vec![0u8; 3 * PAGE];
    for offset in [0, 16, 1000, 4095] {
        let mut s = Schedule::new();
        s.user(UserBuf::from_slice(&mut app[offset..offset + PAGE]));
        for _ in 0..2 {
            // The second build takes the first one's memory from the pool.
            let large = s.scratch(PAGE + 8);
            let small = s.scratch(64);
            assert_eq!(s.bufs[large.buf].addr() % PAGE, (app.as_ptr() as usize + offset) % PAGE);
            assert_eq!(s.bufs[large.buf].len(), PAGE + 8);
            assert_eq!(s.bufs[small.buf].len(), 64);
            s.clear();
            s.user(UserBuf::from_slice(&mut app[offset..offset + PAGE]));
        }
    }
}

/// Scattered buffers are packed when the schedule starts and unpacked at its end; the
/// neighbour round moves several messages at once.
#[test]
fn neighbour_ring_and_copies() {
    let size = 4;
    let mut procs = intra(size);
    let mut bufs: Vec<(Vec<u8>, Vec<u8>)> = (0..size).map(|r| (vec![r as u8; 8], vec![0u8; 16])).collect();
    for (p, (send, recv)) in procs.iter_mut().zip(bufs.iter_mut()) {
        let mut s = Schedule::new();
        let sb = s.user(UserBuf::from_slice(send));
        let rb = s.user(UserBuf::from_slice(recv));
        let (left, right) = ((p.rank + size - 1) % size, (p.rank + 1) % size);
        neighbor(&mut s, &[(Some(left), 1, rb.slice(0, 8)), (Some(right), 2, rb.slice(8, 8))], &[(Some(left), 2, sb), (Some(right), 1, sb)]);
        assert_eq!(s.rounds(), 1);
        p.scheds.push(s);
    }
    drive(&mut procs, 64, 3);
    for (rank, (_, recv)) in bufs.iter().enumerate() {
        let (left, right) = ((rank + size - 1) % size, (rank + 1) % size);
        assert_eq!(recv[..8], [left as u8; 8]);
        assert_eq!(recv[8..], [right as u8; 8]);
    }
}

/// Intercommunicator allreduce and bcast between groups of 3 and 2 processes.
#[test]
fn intercommunicator_allreduce_and_bcast() {
    let (a, b) = (3usize, 2usize);
    let mut procs = two_groups(a, b);
    let mut sends: Vec<Vec<u8>> = (0..a + b).map(|w| bytes_of(&[w as i64 + 1])).collect();
    let mut recvs: Vec<Vec<u8>> = vec![vec![0; 8]; a + b];
    let mut bc: Vec<Vec<u8>> = (0..a + b).map(|w| bytes_of(&[if w == a + 1 { 77 } else { 0 }])).collect();
    for (w, p) in procs.iter_mut().enumerate() {
        let size = if w < a { a } else { b };
        let mut s = Schedule::new();
        let sr = s.user(UserBuf::from_slice(&mut sends[w]));
        let rr = s.user(UserBuf::from_slice(&mut recvs[w]));
        inter_allreduce(&mut s, p.rank, size, sr, rr, &builtin(BuiltinOp::Sum, Kind::I64), 4);
        let mut t = Schedule::new();
        let br = t.user(UserBuf::from_slice(&mut bc[w]));
        // Group B's rank 1 (process a + 1) is the root; its group partner passes PROC_NULL.
        let root = if w < a { InterRoot::Remote(1) } else if w == a + 1 { InterRoot::Me } else { InterRoot::None };
        inter_bcast(&mut t, p.rank, size, root, br, 2);
        p.scheds = vec![s, t];
    }
    drive(&mut procs, 64, 17);
    let sum_a: i64 = (1..=a as i64).sum();
    let sum_b: i64 = (a as i64 + 1..=(a + b) as i64).sum();
    for w in 0..a + b {
        assert_eq!(i64s(&recvs[w]), vec![if w < a { sum_b } else { sum_a }], "process {w}");
        if w != a {
            assert_eq!(i64s(&bc[w]), vec![77], "bcast at process {w}");
        }
    }
}

/// A message longer than its receive range fails the schedule with `MPI_ERR_TRUNCATE`.
#[test]
fn truncation_fails_the_schedule() {
    let mut procs = intra(2);
    let mut long = vec![1u8; 16];
    let mut short = vec![0u8; 8];
    let mut s0 = Schedule::new();
    let r = s0.user(UserBuf::from_slice(&mut long));
    s0.send(Peer::Local(1), 1, r);
    let mut s1 = Schedule::new();
    let r = s1.user(UserBuf::from_slice(&mut short));
    s1.recv(Peer::Local(0), 1, r);
    procs[0].scheds.push(s0);
    let link = Link { eager_limit: 64, chunk: 100, bulk: Bulk::Stream };
    let mut protos: Vec<Protocol> = (0..2).map(|_| Protocol::new(2, Config { link, split_min: usize::MAX })).collect();
    let mut w0 = TestWire { proto: &mut protos[0], rank: 0, base: 0, remote_base: 0 };
    // An eager send completes when its packet leaves.
    assert!(!procs[0].scheds[0].advance(&mut w0).unwrap());
    let mut wire = Vec::new();
    protos[0].flush(1, &mut |h, p| {
        wire.push([h, p].concat());
        true
    });
    let mut w0 = TestWire { proto: &mut protos[0], rank: 0, base: 0, remote_base: 0 };
    assert!(procs[0].scheds[0].advance(&mut w0).unwrap());
    for rec in wire {
        protos[1].on_packet(0, &rec).unwrap();
    }
    let mut w1 = TestWire { proto: &mut protos[1], rank: 1, base: 0, remote_base: 0 };
    assert_eq!(s1.advance(&mut w1).err().map(|e| e.class), Some(ErrorClass::Truncate));
}

/// A non-commutative user operation: the product of 2x2 integer matrices (wrapping), one
/// matrix of four `i64` per element, `inout = input * inout`.
struct MatProduct;

impl crate::op::UserFunction for MatProduct {
    fn call(&self, inout: &mut [u8], input: &[u8], count: usize) -> Result<()> {
        for k in 0..count {
            let a = i64s(&input[k * 32..][..32]);
            let b = i64s(&inout[k * 32..][..32]);
            let m = |i: usize, j: usize| a[2 * i].wrapping_mul(b[j]).wrapping_add(a[2 * i + 1].wrapping_mul(b[2 + j]));
            inout[k * 32..][..32].copy_from_slice(&bytes_of(&[m(0, 0), m(0, 1), m(1, 0), m(1, 1)]));
        }
        Ok(())
    }
    fn span(&self, count: usize) -> Result<usize> {
        Ok(32 * count)
    }
}

fn matprod(count: usize) -> Reduction {
    Reduction { op: Op::User { func: std::sync::Arc::new(MatProduct), commutative: false }, count }
}

/// Rank `r`'s `count` matrices: distinct, so that any change of order shows.
fn matrices(r: usize, count: usize) -> Vec<i64> {
    (0..count).flat_map(|k| { let x = (r * 7 + k * 3 + 1) as i64; [x, 1, x % 3 - 1, 2] }).collect()
}

/// The rank-order product of the matrices of ranks `from..to`.
fn ordered(from: usize, to: usize, count: usize) -> Vec<i64> {
    let mut acc = bytes_of(&matrices(from, count));
    for r in from + 1..to {
        let mut next = bytes_of(&matrices(r, count));
        crate::op::apply(&matprod(count).op, &mut next, &acc, count).unwrap();
        acc = next;
    }
    i64s(&acc)
}

/// Reduce (every root), allreduce, scan and exscan with a non-commutative user operation
/// combine in rank order, through user steps handed out of the schedule.
#[test]
fn non_commutative_user_op_in_rank_order() {
    let count = 3;
    for size in 1..=7usize {
        for root in 0..size {
            let mut procs = intra(size);
            let mut bufs: Vec<Vec<Vec<u8>>> = (0..size)
                .map(|r| vec![bytes_of(&matrices(r, count)), vec![0; 32 * count], bytes_of(&matrices(r, count)), vec![0; 32 * count], vec![0; 32 * count]])
                .collect();
            for (p, b) in procs.iter_mut().zip(bufs.iter_mut()) {
                let [send, recv, all, scan_out, exscan_out] = &mut b[..] else { unreachable!() };
                let mut rd = Schedule::new();
                let (sr, rr) = (rd.user(UserBuf::from_slice(send)), rd.user(UserBuf::from_slice(recv)));
                reduce(&mut rd, p.rank, size, root, Some(sr), rr, &matprod(count), 1);
                let mut ar = Schedule::new();
                let a = ar.user(UserBuf::from_slice(all));
                allreduce(&mut ar, p.rank, size, a, &matprod(count), 2);
                let mut sc = Schedule::new();
                let (sr, rr) = (sc.user(UserBuf::from_slice(send)), sc.user(UserBuf::from_slice(scan_out)));
                scan::scan(&mut sc, p.rank, size, Some(sr), rr, false, &matprod(count), 3);
                let mut ex = Schedule::new();
                let (sr, rr) = (ex.user(UserBuf::from_slice(send)), ex.user(UserBuf::from_slice(exscan_out)));
                scan::scan(&mut ex, p.rank, size, Some(sr), rr, true, &matprod(count), 4);
                p.scheds = vec![rd, ar, sc, ex];
            }
            drive(&mut procs, 64, 31 + (size * 8 + root) as u64);
            let all = ordered(0, size, count);
            for (rank, b) in bufs.iter().enumerate() {
                if rank == root {
                    assert_eq!(i64s(&b[1]), all, "reduce, size {size}, root {root}");
                }
                assert_eq!(i64s(&b[2]), all, "allreduce, size {size}, rank {rank}");
                assert_eq!(i64s(&b[3]), ordered(0, rank + 1, count), "scan, size {size}, rank {rank}");
                if rank > 0 {
                    assert_eq!(i64s(&b[4]), ordered(0, rank, count), "exscan, size {size}, rank {rank}");
                }
            }
        }
    }
}

/// Reduce-scatter with a user operation, equal blocks (binomial scatter) and unequal ones.
#[test]
fn reduce_scatter_with_user_op() {
    for size in 1..=5usize {
        for equal in [true, false] {
            let counts: Vec<usize> = (0..size).map(|i| if equal { 2 } else { i % 3 }).collect();
            let total: usize = counts.iter().sum();
            let mut blocks = Vec::new();
            let mut at = 0;
            for &c in &counts {
                blocks.push((at * 32, c * 32));
                at += c;
            }
            let mut procs = intra(size);
            let mut bufs: Vec<(Vec<u8>, Vec<u8>)> = (0..size).map(|r| (bytes_of(&matrices(r, total)), vec![0; 32 * counts[r]])).collect();
            for (p, (send, recv)) in procs.iter_mut().zip(bufs.iter_mut()) {
                let mut s = Schedule::new();
                let (sr, rr) = (s.user(UserBuf::from_slice(send)), s.user(UserBuf::from_slice(recv)));
                scan::reduce_scatter(&mut s, p.rank, size, Some(sr), rr, 32 * total, &blocks, &matprod(total), (5, 6));
                p.scheds.push(s);
            }
            drive(&mut procs, 64, 77 + size as u64);
            let all = ordered(0, size, total);
            for (rank, (_, recv)) in bufs.iter().enumerate() {
                let first = blocks[rank].0 / 8;
                assert_eq!(i64s(recv), all[first..first + 4 * counts[rank]], "size {size}, equal {equal}, rank {rank}");
            }
        }
    }
}

/// A scattered buffer staged as its span for a user operation: the result is stored through
/// the type map, leaving the application's bytes in the gaps as they were.
#[test]
fn span_staging_leaves_gaps_alone() {
    use crate::typemap::TypeMap;
    let int = TypeMap::predefined(Kind::I64, None, 0);
    // Two blocks of one i64, 3 apart: data at 0 and 24, gaps between.
    let vector = std::sync::Arc::new(TypeMap::vector(2, 1, 3, false, &int).unwrap());
    let size = 3;
    let mut procs = intra(size);
    let mut mem: Vec<Vec<u8>> = (0..size).map(|r| bytes_of(&[r as i64 + 1, -1, -2, 10 * (r as i64 + 1)])).collect();
    for (p, m) in procs.iter_mut().zip(mem.iter_mut()) {
        let mut s = Schedule::new();
        // SAFETY: `m` outlives the schedule's run and holds the vector's data.
        let b = Buf::Typed(unsafe { crate::buffer::TypedBuf::new(m.as_mut_ptr(), 1, vector.clone()) }.unwrap());
        let red = Reduction { op: Op::User { func: std::sync::Arc::new(SumFirstAndLast), commutative: true }, count: 1 };
        let r = s.stage_span(&b, true).unwrap();
        assert_eq!(r.len(), 32);
        allreduce(&mut s, p.rank, size, r, &red, 1);
        s.unstage(r);
        p.scheds.push(s);
    }
    drive(&mut procs, 64, 5);
    for m in &mem {
        assert_eq!(i64s(m), vec![6, -1, -2, 60]);
    }
}

/// Sums the two `i64`s at the ends of a 32-byte span (the vector above), scribbling over the
/// gap in `inout` to show that it never reaches the application.
struct SumFirstAndLast;

impl crate::op::UserFunction for SumFirstAndLast {
    fn call(&self, inout: &mut [u8], input: &[u8], _count: usize) -> Result<()> {
        let (a, mut b) = (i64s(input), i64s(inout));
        b = vec![a[0] + b[0], 99, 99, a[3] + b[3]];
        inout.copy_from_slice(&bytes_of(&b));
        Ok(())
    }
    fn span(&self, count: usize) -> Result<usize> {
        Ok(if count == 0 { 0 } else { 32 })
    }
}

/// Processes of two groups of `a` and `b` (group A first), for intercommunicator schedules.
fn two_groups(a: usize, b: usize) -> Vec<Proc> {
    (0..a + b)
        .map(|w| if w < a { Proc { base: 0, rank: w, remote_base: a, scheds: Vec::new() } } else { Proc { base: a, rank: w - a, remote_base: 0, scheds: Vec::new() } })
        .collect()
}

/// Intercommunicator gather, scatter, allgather and alltoall between groups of 3 and 2: the
/// root is group B's rank 1; values name the sending process and the block.
#[test]
fn intercommunicator_gather_like() {
    let (a, b) = (3usize, 2usize);
    let mut procs = two_groups(a, b);
    let group = |w: usize| if w < a { (w, a, b) } else { (w - a, b, a) }; // (rank, size, remote size)
    // Per process: gather send, gather recv (root), scatter send (root), scatter recv,
    // allgather recv, alltoall send, alltoall recv.
    let mut bufs: Vec<Vec<Vec<u8>>> = (0..a + b)
        .map(|w| {
            let (_, _, remote) = group(w);
            vec![
                bytes_of(&[w as i64]),
                vec![0; 8 * a],
                bytes_of(&(0..a as i64).map(|k| 100 * w as i64 + k).collect::<Vec<_>>()),
                vec![0; 8],
                vec![0; 8 * remote],
                bytes_of(&(0..remote as i64).map(|k| 10 * w as i64 + k).collect::<Vec<_>>()),
                vec![0; 8 * remote],
            ]
        })
        .collect();
    let root_w = a + 1;
    for (w, p) in procs.iter_mut().enumerate() {
        let (_, _, remote) = group(w);
        let root = if w < a { InterRoot::Remote(1) } else if w == root_w { InterRoot::Me } else { InterRoot::None };
        let [gs, gr, ss, sr, agr, ats, atr] = &mut bufs[w][..] else { unreachable!() };
        let mut s = Schedule::new();
        let (gs, gr, ss, sr, agr, ats, atr) = (
            s.user(UserBuf::from_slice(gs)),
            s.user(UserBuf::from_slice(gr)),
            s.user(UserBuf::from_slice(ss)),
            s.user(UserBuf::from_slice(sr)),
            s.user(UserBuf::from_slice(agr)),
            s.user(UserBuf::from_slice(ats)),
            s.user(UserBuf::from_slice(atr)),
        );
        let blocks = |r: Range, n: usize| (0..n).map(|i| r.slice(8 * i, 8)).collect::<Vec<_>>();
        inter::gather(&mut s, root, gs, &blocks(gr, a), 1);
        inter::scatter(&mut s, root, &blocks(ss, a), sr, 2);
        inter::allgather(&mut s, gs, &blocks(agr, remote), 3);
        inter::alltoall(&mut s, &blocks(ats, remote), &blocks(atr, remote), 4);
        p.scheds.push(s);
    }
    drive(&mut procs, 64, 23);
    for (w, mine) in bufs.iter().enumerate() {
        let (rank, _, remote) = group(w);
        let remote_w = |k: usize| if w < a { a + k } else { k };
        if w == root_w {
            assert_eq!(i64s(&mine[1]), (0..a as i64).collect::<Vec<_>>(), "gather at the root");
        } else {
            assert_eq!(i64s(&mine[1]), vec![0; a], "gather wrote process {w}");
        }
        let want_scatter = if w < a { 100 * root_w as i64 + rank as i64 } else { 0 };
        assert_eq!(i64s(&mine[3]), vec![want_scatter], "scatter at process {w}");
        assert_eq!(i64s(&mine[4]), (0..remote).map(|k| remote_w(k) as i64).collect::<Vec<_>>(), "allgather at {w}");
        assert_eq!(i64s(&mine[6]), (0..remote).map(|k| 10 * remote_w(k) as i64 + rank as i64).collect::<Vec<_>>(), "alltoall at {w}");
    }
}

/// Intercommunicator reduce-scatter with a non-commutative user operation: each group gets
/// the other group's product in its rank order, cut into uneven blocks (one empty).
#[test]
fn intercommunicator_reduce_scatter() {
    let (a, b) = (3usize, 2usize);
    let total = a * b;
    let mut procs = two_groups(a, b);
    let counts = |size: usize| -> Vec<usize> {
        let mut c = vec![total / size; size];
        c[0] += total / size;
        c[size - 1] = 0;
        c
    };
    let mut bufs: Vec<(Vec<u8>, Vec<u8>)> = (0..a + b)
        .map(|w| {
            let size = if w < a { a } else { b };
            let rank = if w < a { w } else { w - a };
            (bytes_of(&matrices(w, total)), vec![0; 32 * counts(size)[rank]])
        })
        .collect();
    for (w, p) in procs.iter_mut().enumerate() {
        let size = if w < a { a } else { b };
        let mut at = 0;
        let blocks: Vec<(usize, usize)> = counts(size)
            .iter()
            .map(|&c| {
                at += c;
                (32 * (at - c), 32 * c)
            })
            .collect();
        let (send, recv) = &mut bufs[w];
        let mut s = Schedule::new();
        let (sr, rr) = (s.user(UserBuf::from_slice(send)), s.user(UserBuf::from_slice(recv)));
        inter::reduce_scatter(&mut s, p.rank, size, sr, rr, 32 * total, &blocks, &matprod(total), (5, 6));
        p.scheds.push(s);
    }
    drive(&mut procs, 64, 41);
    for (w, (_, recv)) in bufs.iter().enumerate() {
        let (rank, size, theirs) = if w < a { (w, a, a..a + b) } else { (w - a, b, 0..a) };
        let c = counts(size);
        let first: usize = c[..rank].iter().sum();
        let all = ordered(theirs.start, theirs.end, total);
        assert_eq!(i64s(recv), all[4 * first..4 * (first + c[rank])], "process {w}");
    }
}

/// Every algorithm of bcast, reduce, allreduce and allgather on sizes 1 to 9, with more and
/// with fewer elements than ranks, eager and rendezvous messages, every root: exact results.
#[test]
fn every_algorithm_gives_exact_results() {
    type Red = fn(&mut Schedule, usize, usize, Range, &Reduction, i32);
    type RootRed = fn(&mut Schedule, usize, usize, usize, Option<Range>, Range, &Reduction, i32);
    type Gat = fn(&mut Schedule, usize, usize, Range, i32);
    let allreduces: [(&str, Red); 3] = [("recursive doubling", allreduce), ("rabenseifner", large::allreduce_rabenseifner), ("ring", large::allreduce_ring)];
    let reduces: [(&str, RootRed); 2] = [("binomial", reduce), ("reduce-scatter-gather", large::reduce_scatter_gather)];
    let gathers: [(&str, Gat); 3] = [("ring", allgather_ring), ("bruck", allgather_bruck), ("recursive doubling", allgather_recursive_doubling)];
    for size in 1..=9usize {
        for (elems, eager) in [(3usize, 4096usize), (37, 64)] {
            let contrib = |rank: usize| -> Vec<i64> { (0..elems).map(|i| (rank * 1000 + i * 7) as i64).collect() };
            let sum: Vec<i64> = (0..elems).map(|i| (0..size).map(|r| (r * 1000 + i * 7) as i64).sum()).collect();
            for (name, build) in allreduces {
                let mut procs = intra(size);
                let mut bufs: Vec<Vec<u8>> = (0..size).map(|r| bytes_of(&contrib(r))).collect();
                for (p, b) in procs.iter_mut().zip(bufs.iter_mut()) {
                    let mut s = Schedule::new();
                    let r = s.user(UserBuf::from_slice(b));
                    build(&mut s, p.rank, size, r, &builtin(BuiltinOp::Sum, Kind::I64), 3);
                    p.scheds.push(s);
                }
                drive(&mut procs, eager, (size * 31 + elems) as u64);
                for (rank, b) in bufs.iter().enumerate() {
                    assert_eq!(i64s(b), sum, "allreduce {name}, size {size}, {elems} elements, rank {rank}");
                }
            }
            // The ring from a separate send buffer, which it must leave as it was.
            let mut procs = intra(size);
            let mut sends: Vec<Vec<u8>> = (0..size).map(|r| bytes_of(&contrib(r))).collect();
            let mut recvs: Vec<Vec<u8>> = vec![vec![0xee; elems * 8]; size];
            for ((p, sb), rb) in procs.iter_mut().zip(sends.iter_mut()).zip(recvs.iter_mut()) {
                let mut s = Schedule::new();
                let (sr, rr) = (s.user(UserBuf::from_slice(sb)), s.user(UserBuf::from_slice(rb)));
                large::allreduce_ring_from(&mut s, p.rank, size, Some(sr), rr, &builtin(BuiltinOp::Sum, Kind::I64), 3);
                p.scheds.push(s);
            }
            drive(&mut procs, eager, (size * 37 + elems) as u64);
            for (rank, (sb, rb)) in sends.iter().zip(&recvs).enumerate() {
                assert_eq!(i64s(rb), sum, "allreduce ring from a send buffer, size {size}, {elems} elements, rank {rank}");
                assert_eq!(i64s(sb), contrib(rank), "allreduce ring changed the send buffer of rank {rank}");
            }
            for root in 0..size {
                for (name, build) in reduces {
                    let mut procs = intra(size);
                    let mut sends: Vec<Vec<u8>> = (0..size).map(|r| bytes_of(&contrib(r))).collect();
                    let mut recvs: Vec<Vec<u8>> = vec![vec![0xee; elems * 8]; size];
                    for ((p, sb), rb) in procs.iter_mut().zip(sends.iter_mut()).zip(recvs.iter_mut()) {
                        let mut s = Schedule::new();
                        let sr = s.user(UserBuf::from_slice(sb));
                        let rr = s.user(UserBuf::from_slice(rb));
                        // The root passes MPI_IN_PLACE on odd sizes: its data is in `recv`.
                        let in_place = p.rank == root && size % 2 == 1;
                        if in_place {
                            rb.copy_from_slice(sb);
                        }
                        build(&mut s, p.rank, size, root, (!in_place).then_some(sr), if p.rank == root { rr } else { Range::EMPTY }, &builtin(BuiltinOp::Sum, Kind::I64), 5);
                        p.scheds.push(s);
                    }
                    drive(&mut procs, eager, (size * 17 + root) as u64);
                    assert_eq!(i64s(&recvs[root]), sum, "reduce {name}, size {size}, root {root}, {elems} elements");
                    for (rank, (sb, rb)) in sends.iter().zip(&recvs).enumerate() {
                        assert_eq!(i64s(sb), contrib(rank), "reduce {name} changed the send buffer of rank {rank}");
                        if rank != root {
                            assert!(rb.iter().all(|&x| x == 0xee), "reduce {name} wrote rank {rank}'s receive buffer");
                        }
                    }
                }
                let mut procs = intra(size);
                let mut bufs: Vec<Vec<u8>> = (0..size).map(|r| if r == root { bytes_of(&contrib(99)) } else { vec![0; elems * 8] }).collect();
                for (p, b) in procs.iter_mut().zip(bufs.iter_mut()) {
                    let mut s = Schedule::new();
                    let r = s.user(UserBuf::from_slice(b));
                    large::bcast_scatter_allgather(&mut s, p.rank, size, root, r, 2);
                    p.scheds.push(s);
                }
                drive(&mut procs, eager, (size * 13 + root) as u64);
                for (rank, b) in bufs.iter().enumerate() {
                    assert_eq!(i64s(b), contrib(99), "bcast scatter-allgather, size {size}, root {root}, rank {rank}");
                }
            }
            for (name, build) in gathers {
                if name == "recursive doubling" && !size.is_power_of_two() {
                    continue;
                }
                let mut procs = intra(size);
                let mut bufs: Vec<Vec<u8>> = (0..size)
                    .map(|r| {
                        let mut v = vec![0u8; size * elems * 8];
                        v[r * elems * 8..(r + 1) * elems * 8].copy_from_slice(&bytes_of(&contrib(r)));
                        v
                    })
                    .collect();
                for (p, b) in procs.iter_mut().zip(bufs.iter_mut()) {
                    let mut s = Schedule::new();
                    let r = s.user(UserBuf::from_slice(b));
                    build(&mut s, p.rank, size, r, 7);
                    p.scheds.push(s);
                }
                drive(&mut procs, eager, (size * 7 + elems) as u64);
                let want: Vec<i64> = (0..size).flat_map(contrib).collect();
                for (rank, b) in bufs.iter().enumerate() {
                    assert_eq!(i64s(b), want, "allgather {name}, size {size}, {elems} elements, rank {rank}");
                }
            }
        }
    }
}

/// The piece-wise allreduces give bit-identical float results on every rank too.
#[test]
fn large_allreduces_are_bit_identical() {
    for size in [3usize, 4, 6] {
        for build in [large::allreduce_rabenseifner as fn(&mut Schedule, usize, usize, Range, &Reduction, i32), large::allreduce_ring] {
            let mut procs = intra(size);
            let mut bufs: Vec<Vec<u8>> = (0..size)
                .map(|r| (0..50).flat_map(|i| (1.0f64 / (r * 50 + i + 3) as f64 * 1e10f64.powi((r % 3) as i32)).to_ne_bytes()).collect())
                .collect();
            for (p, b) in procs.iter_mut().zip(bufs.iter_mut()) {
                let mut s = Schedule::new();
                let r = s.user(UserBuf::from_slice(b));
                build(&mut s, p.rank, size, r, &builtin(BuiltinOp::Sum, Kind::F64), 4);
                p.scheds.push(s);
            }
            drive(&mut procs, 128, 9 + size as u64);
            for b in &bufs[1..] {
                assert_eq!(b, &bufs[0], "size {size}");
            }
        }
    }
}

/// The node-aware collectives over hosts laid out in blocks, round-robin and unevenly, every
/// root: exact results (the leaders' step by each flat algorithm).
#[test]
fn node_aware_collectives_give_exact_results() {
    let layouts: [&[u32]; 5] = [&[0, 0, 1, 1], &[0, 1, 0, 1], &[5, 5, 5, 2], &[0, 1, 1, 2, 2, 2, 0], &[3, 0, 3, 0, 3, 0, 1, 1, 3]];
    type Red = fn(&mut Schedule, usize, usize, Range, &Reduction, i32);
    let across: [Red; 3] = [allreduce, large::allreduce_rabenseifner, large::allreduce_ring];
    for hosts in layouts {
        let size = hosts.len();
        let layout = node_aware::Layout::new(hosts);
        let elems = 11;
        let contrib = |rank: usize| -> Vec<i64> { (0..elems).map(|i| (rank * 100 + i) as i64).collect() };
        let sum: Vec<i64> = (0..elems).map(|i| (0..size).map(|r| (r * 100 + i) as i64).sum()).collect();
        for (k, flat) in across.into_iter().enumerate() {
            let mut procs = intra(size);
            let mut bufs: Vec<Vec<u8>> = (0..size).map(|r| bytes_of(&contrib(r))).collect();
            for (p, b) in procs.iter_mut().zip(bufs.iter_mut()) {
                let mut s = Schedule::new();
                let r = s.user(UserBuf::from_slice(b));
                node_aware::allreduce(&mut s, &layout, p.rank, r, &builtin(BuiltinOp::Sum, Kind::I64), 3, &|s, r, n, b, t| flat(s, r, n, b, &builtin(BuiltinOp::Sum, Kind::I64), t));
                let mut bar = Schedule::new();
                node_aware::barrier(&mut bar, &layout, p.rank, 4);
                p.scheds = vec![s, bar];
            }
            drive(&mut procs, 64, (size * 3 + k) as u64);
            for (rank, b) in bufs.iter().enumerate() {
                assert_eq!(i64s(b), sum, "allreduce over {hosts:?}, leaders' algorithm {k}, rank {rank}");
            }
        }
        for root in 0..size {
            let mut procs = intra(size);
            let mut bc: Vec<Vec<u8>> = (0..size).map(|r| if r == root { bytes_of(&contrib(77)) } else { vec![0; elems * 8] }).collect();
            let mut sends: Vec<Vec<u8>> = (0..size).map(|r| bytes_of(&contrib(r))).collect();
            let mut recvs: Vec<Vec<u8>> = vec![vec![0; elems * 8]; size];
            for (((p, b), sb), rb) in procs.iter_mut().zip(bc.iter_mut()).zip(sends.iter_mut()).zip(recvs.iter_mut()) {
                let mut s = Schedule::new();
                let r = s.user(UserBuf::from_slice(b));
                node_aware::bcast(&mut s, &layout, p.rank, root, r, 2, &|s, r, n, b, t| large::bcast_scatter_allgather(s, r, n, 0, b, t));
                let mut t = Schedule::new();
                let sr = t.user(UserBuf::from_slice(sb));
                let rr = t.user(UserBuf::from_slice(rb));
                node_aware::reduce(&mut t, &layout, p.rank, root, Some(sr), rr, &builtin(BuiltinOp::Sum, Kind::I64), 5);
                p.scheds = vec![s, t];
            }
            drive(&mut procs, 64, (size * 5 + root) as u64);
            for (rank, b) in bc.iter().enumerate() {
                assert_eq!(i64s(b), contrib(77), "bcast over {hosts:?}, root {root}, rank {rank}");
            }
            assert_eq!(i64s(&recvs[root]), sum, "reduce over {hosts:?}, root {root}");
            for (rank, sb) in sends.iter().enumerate() {
                assert_eq!(i64s(sb), contrib(rank), "reduce changed rank {rank}'s send buffer");
            }
        }
    }
}

/// Alltoall, pairwise and Bruck, on sizes 1 to 9, with and without MPI_IN_PLACE.
#[test]
fn alltoall_algorithms_give_exact_results() {
    type Build = fn(&mut Schedule, usize, usize, Option<Range>, Range, i32);
    let builds: [(&str, Build); 2] = [("pairwise", alltoall), ("bruck", alltoall_bruck)];
    for size in 1..=9usize {
        for (name, build) in builds {
            for in_place in [false, true] {
                let elems = 3;
                // Element e of the block rank `from` sends to rank `to`.
                let val = |from: usize, to: usize, e: usize| (from * 10000 + to * 100 + e) as i64;
                let mut procs = intra(size);
                let mut sends: Vec<Vec<u8>> =
                    (0..size).map(|r| bytes_of(&(0..size).flat_map(|to| (0..elems).map(move |e| val(r, to, e))).collect::<Vec<_>>())).collect();
                let mut recvs: Vec<Vec<u8>> = if in_place { sends.clone() } else { vec![vec![0; size * elems * 8]; size] };
                for ((p, sb), rb) in procs.iter_mut().zip(sends.iter_mut()).zip(recvs.iter_mut()) {
                    let mut s = Schedule::new();
                    let sr = s.user(UserBuf::from_slice(sb));
                    let rr = s.user(UserBuf::from_slice(rb));
                    build(&mut s, p.rank, size, (!in_place).then_some(sr), rr, 6);
                    p.scheds.push(s);
                }
                drive(&mut procs, 64, (size * 11) as u64);
                for (rank, rb) in recvs.iter().enumerate() {
                    let want: Vec<i64> = (0..size).flat_map(|from| (0..elems).map(move |e| val(from, rank, e))).collect();
                    assert_eq!(i64s(rb), want, "alltoall {name}, size {size}, in place {in_place}, rank {rank}");
                }
            }
        }
    }
}
