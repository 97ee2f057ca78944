//! The algorithms on an in-memory `CollPeer`: one thread per rank, messages queued FIFO per
//! (source, destination, tag). Sizes 1..=9, every root, several kinds and ops, compared with a
//! sequential reference.

use super::*;
use crate::error::MpiError;
use crate::op::reduce_packed;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

type Queues = HashMap<(usize, usize, i32), VecDeque<Vec<u8>>>;

#[derive(Default)]
struct Mailbox {
    queues: Mutex<Queues>,
    arrived: Condvar,
    sent: AtomicUsize,
}

struct MemPeer {
    rank: usize,
    size: usize,
    mb: Arc<Mailbox>,
}

impl CollPeer for MemPeer {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn send(&mut self, dest: usize, tag: i32, data: &[u8]) -> Result<()> {
        if dest >= self.size {
            return fail(ErrorClass::Rank, format!("send to {dest}"));
        }
        let mut q = self.mb.queues.lock().unwrap();
        q.entry((self.rank, dest, tag))
            .or_default()
            .push_back(data.to_vec());
        self.mb.sent.fetch_add(1, Ordering::Relaxed);
        self.mb.arrived.notify_all();
        Ok(())
    }
    fn recv(&mut self, src: usize, tag: i32, buf: &mut [u8]) -> Result<()> {
        if src >= self.size {
            return fail(ErrorClass::Rank, format!("recv from {src}"));
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut q = self.mb.queues.lock().unwrap();
        loop {
            if let Some(m) = q
                .get_mut(&(src, self.rank, tag))
                .and_then(|d| d.pop_front())
            {
                if m.len() != buf.len() {
                    // The algorithms always know the exact size: anything else is a bug.
                    return fail(
                        ErrorClass::Truncate,
                        format!(
                            "rank {} got {} bytes from {src} for {}",
                            self.rank,
                            m.len(),
                            buf.len()
                        ),
                    );
                }
                buf.copy_from_slice(&m);
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                return fail(
                    ErrorClass::Intern,
                    format!("rank {} timed out waiting for {src} tag {tag}", self.rank),
                );
            }
            q = self.mb.arrived.wait_timeout(q, deadline - now).unwrap().0;
        }
    }
    fn sendrecv(
        &mut self,
        dest: usize,
        stag: i32,
        data: &[u8],
        src: usize,
        rtag: i32,
        buf: &mut [u8],
    ) -> Result<()> {
        // Sends never block here, so sending first cannot deadlock.
        self.send(dest, stag, data)?;
        self.recv(src, rtag, buf)
    }
}

/// Runs `f` on `size` ranks at once and returns each rank's result; checks that no message
/// was left unreceived.
fn run<R: Send>(size: usize, f: impl Fn(&mut MemPeer) -> R + Sync) -> Vec<R> {
    run_counted(size, f).0
}

/// `run`, also returning how many messages were sent in all.
fn run_counted<R: Send>(size: usize, f: impl Fn(&mut MemPeer) -> R + Sync) -> (Vec<R>, usize) {
    let mb = Arc::new(Mailbox::default());
    let out = std::thread::scope(|s| {
        let handles: Vec<_> = (0..size)
            .map(|rank| {
                let mut peer = MemPeer {
                    rank,
                    size,
                    mb: mb.clone(),
                };
                let f = &f;
                s.spawn(move || f(&mut peer))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let q = mb.queues.lock().unwrap();
    let left: usize = q.values().map(|d| d.len()).sum();
    assert_eq!(left, 0, "size {size}: {left} messages never received");
    (out, mb.sent.load(Ordering::SeqCst))
}

struct Rng(u64);
impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// How a test fills buffers of a kind.
#[derive(Clone, Copy, PartialEq)]
enum Fill {
    /// Random bytes (integers: every value; bitwise ops).
    Bytes,
    /// Small integral values in every float field, so sums and products are exact in any order.
    Exact,
    /// Random finite floats of mixed magnitude: rounding depends on the order of combination.
    Inexact,
}

fn contribution(kind: Kind, n: usize, fill: Fill, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(n * kind.size());
    for _ in 0..n {
        let start = out.len();
        match (kind, fill) {
            (Kind::F64, Fill::Exact) => {
                out.extend_from_slice(&((rng.next() % 9) as f64 - 4.0).to_ne_bytes())
            }
            (Kind::F64, Fill::Inexact) => {
                let m = (rng.next() % 1_000_000) as f64 / 997.0;
                let e = (rng.next() % 40) as i32 - 20;
                out.extend_from_slice(&(m * 2f64.powi(e)).to_ne_bytes())
            }
            (Kind::F32, Fill::Inexact) => {
                let m = (rng.next() % 1_000_000) as f32 / 997.0;
                out.extend_from_slice(&(m * 2f32.powi((rng.next() % 20) as i32 - 10)).to_ne_bytes())
            }
            (Kind::F32, _) => out.extend_from_slice(&((rng.next() % 9) as f32 - 4.0).to_ne_bytes()),
            (Kind::ComplexF64, _) => {
                for _ in 0..2 {
                    out.extend_from_slice(&((rng.next() % 5) as f64 - 2.0).to_ne_bytes());
                }
            }
            (Kind::TwoInt, _) => {
                out.extend_from_slice(&((rng.next() % 4) as i32).to_ne_bytes()); // ties likely
                out.extend_from_slice(&(seed as i32).to_ne_bytes()); // index = rank
            }
            (Kind::DoubleInt, _) => {
                out.extend_from_slice(&((rng.next() % 4) as f64).to_ne_bytes());
                out.extend_from_slice(&(seed as i32).to_ne_bytes()); // packed: no padding
            }
            _ => {
                for _ in 0..kind.extent() {
                    out.push(rng.next() as u8);
                }
            }
        }
        assert_eq!(out.len() - start, kind.size());
    }
    out
}

/// Reduction of all contributions in rank order: ((c0 op c1) op c2) ...
fn sequential(kind: Kind, op: BuiltinOp, contribs: &[Vec<u8>]) -> Vec<u8> {
    let mut acc = contribs[0].clone();
    for c in &contribs[1..] {
        let mut next = c.clone();
        reduce_packed(op, kind, &mut next, &acc).unwrap();
        acc = next;
    }
    acc
}

/// `buf` with every float zero made +0.0: the sign of a zero result depends on the grouping
/// of the operations (e.g. `(0 * -1) - 0` is -0), which the reference cannot mirror.
fn norm(kind: Kind, buf: &[u8]) -> Vec<u8> {
    let mut out = buf.to_vec();
    let f64_fields: &[usize] = match kind {
        Kind::F64 | Kind::DoubleInt => &[0],
        Kind::ComplexF64 => &[0, 8],
        _ => &[],
    };
    for e in out.chunks_exact_mut(kind.size()) {
        for &off in f64_fields {
            if f64::from_ne_bytes(e[off..off + 8].try_into().unwrap()) == 0.0 {
                e[off..off + 8].copy_from_slice(&0f64.to_ne_bytes());
            }
        }
        if kind == Kind::F32 && f32::from_ne_bytes(e[..4].try_into().unwrap()) == 0.0 {
            e[..4].copy_from_slice(&0f32.to_ne_bytes());
        }
    }
    out
}

/// (kind, op, fill) cases whose result does not depend on the order of combination.
const EXACT_CASES: [(Kind, BuiltinOp, Fill); 12] = [
    (Kind::I32, BuiltinOp::Sum, Fill::Bytes),
    (Kind::I64, BuiltinOp::Prod, Fill::Bytes),
    (Kind::U8, BuiltinOp::Bxor, Fill::Bytes),
    (Kind::U16, BuiltinOp::Max, Fill::Bytes),
    (Kind::I8, BuiltinOp::Min, Fill::Bytes),
    (Kind::Byte, BuiltinOp::Bor, Fill::Bytes),
    (Kind::I32, BuiltinOp::Lxor, Fill::Bytes),
    (Kind::F64, BuiltinOp::Sum, Fill::Exact),
    (Kind::F32, BuiltinOp::Max, Fill::Inexact),
    (Kind::ComplexF64, BuiltinOp::Prod, Fill::Exact),
    (Kind::TwoInt, BuiltinOp::Maxloc, Fill::Bytes),
    (Kind::DoubleInt, BuiltinOp::Minloc, Fill::Bytes),
];

const COUNTS: [usize; 4] = [0, 1, 5, 67];

#[test]
fn barrier_synchronises() {
    for size in 1..=9 {
        let arrived = AtomicUsize::new(0);
        run(size, |p| {
            for round in 0..4 {
                arrived.fetch_add(1, Ordering::SeqCst);
                barrier(p).unwrap();
                // Everyone has arrived at this round's barrier before anyone leaves it.
                assert!(
                    arrived.load(Ordering::SeqCst) >= size * (round + 1),
                    "size {size} round {round}"
                );
                barrier(p).unwrap(); // nobody starts the next round before all have checked
            }
        });
    }
}

#[test]
fn message_counts() {
    for size in 1..=9usize {
        let rounds = (usize::BITS - (size - 1).leading_zeros()) as usize; // ceil(log2 size)
        let (_, sent) = run_counted(size, |p| barrier(p).unwrap());
        assert_eq!(sent, size * rounds, "barrier, size {size}");
        let (_, sent) = run_counted(size, |p| bcast(p, &mut [0u8; 4], size / 2).unwrap());
        assert_eq!(sent, size - 1, "bcast, size {size}");
        let (_, sent) = run_counted(size, |p| {
            let mut r = [0u8; 4];
            reduce(
                p,
                &[1, 2, 3, 4],
                &mut r,
                Kind::I32,
                BuiltinOp::Sum,
                size - 1,
            )
            .unwrap()
        });
        assert_eq!(sent, size - 1, "reduce, size {size}");
        let pof2 = 1usize << (usize::BITS - 1 - size.leading_zeros());
        let (_, sent) = run_counted(size, |p| {
            let mut r = [0u8; 4];
            allreduce(p, &[1, 2, 3, 4], &mut r, Kind::I32, BuiltinOp::Sum).unwrap()
        });
        let log = pof2.trailing_zeros() as usize;
        assert_eq!(
            sent,
            pof2 * log + 2 * (size - pof2),
            "allreduce, size {size}"
        );
    }
}

#[test]
fn bcast_all_sizes_and_roots() {
    for size in 1..=9 {
        for root in 0..size {
            for len in [0usize, 1, 13, 1000] {
                let data: Vec<u8> = (0..len).map(|i| (i * 7 + root) as u8).collect();
                let got = run(size, |p| {
                    let mut buf = if p.rank == root {
                        data.clone()
                    } else {
                        vec![0xEE; len]
                    };
                    bcast(p, &mut buf, root).unwrap();
                    buf
                });
                for (r, b) in got.iter().enumerate() {
                    assert_eq!(b, &data, "size {size} root {root} len {len} rank {r}");
                }
            }
        }
    }
}

#[test]
fn reduce_all_sizes_roots_kinds() {
    for size in 1..=9 {
        for (kind, op, fill) in EXACT_CASES {
            for n in COUNTS {
                let contribs: Vec<Vec<u8>> = (0..size)
                    .map(|r| contribution(kind, n, fill, r as u64))
                    .collect();
                let want = norm(kind, &sequential(kind, op, &contribs));
                for root in 0..size {
                    let got = run(size, |p| {
                        let mine = &contribs[p.rank];
                        let mut recv = if p.rank == root {
                            vec![0u8; mine.len()]
                        } else {
                            Vec::new()
                        };
                        reduce(p, mine, &mut recv, kind, op, root).unwrap();
                        // the in-place form gives the same
                        let mut inplace = mine.clone();
                        reduce_in_place(p, &mut inplace, kind, op, root).unwrap();
                        if p.rank != root {
                            assert_eq!(&inplace, mine, "non-root buffer changed");
                        }
                        (recv, inplace)
                    });
                    assert_eq!(
                        norm(kind, &got[root].0),
                        want,
                        "{kind:?} {op:?} size {size} root {root} n {n}"
                    );
                    assert_eq!(
                        norm(kind, &got[root].1),
                        want,
                        "in place: {kind:?} {op:?} size {size} root {root} n {n}"
                    );
                }
            }
        }
    }
}

#[test]
fn allreduce_all_sizes_kinds() {
    for size in 1..=9 {
        for (kind, op, fill) in EXACT_CASES {
            for n in COUNTS {
                let contribs: Vec<Vec<u8>> = (0..size)
                    .map(|r| contribution(kind, n, fill, r as u64 + 100))
                    .collect();
                let want = norm(kind, &sequential(kind, op, &contribs));
                let got = run(size, |p| {
                    let mine = &contribs[p.rank];
                    let mut recv = vec![0u8; mine.len()];
                    allreduce(p, mine, &mut recv, kind, op).unwrap();
                    let mut inplace = mine.clone();
                    allreduce_in_place(p, &mut inplace, kind, op).unwrap();
                    assert_eq!(recv, inplace);
                    recv
                });
                for (r, g) in got.iter().enumerate() {
                    assert_eq!(
                        g, &got[0],
                        "{kind:?} {op:?} size {size} n {n} rank {r}: not bit-identical"
                    );
                    assert_eq!(
                        norm(kind, g),
                        want,
                        "{kind:?} {op:?} size {size} n {n} rank {r}"
                    );
                }
            }
        }
    }
}

#[test]
fn allreduce_float_sums_are_bit_identical_across_ranks() {
    for size in 1..=9 {
        for (kind, n) in [(Kind::F64, 257usize), (Kind::F32, 100)] {
            let contribs: Vec<Vec<u8>> = (0..size)
                .map(|r| contribution(kind, n, Fill::Inexact, r as u64 + 7))
                .collect();
            let want = sequential(kind, BuiltinOp::Sum, &contribs);
            let got = run(size, |p| {
                let mut recv = vec![0u8; contribs[p.rank].len()];
                let mine = &contribs[p.rank];
                allreduce(p, mine, &mut recv, kind, BuiltinOp::Sum).unwrap();
                recv
            });
            for g in &got[1..] {
                assert_eq!(g, &got[0], "{kind:?} size {size}: ranks disagree bitwise");
            }
            // and close to the sequential sum
            let es = kind.extent();
            for k in 0..n {
                let (a, b) = match kind {
                    Kind::F64 => (
                        f64::from_ne_bytes(got[0][k * es..][..8].try_into().unwrap()),
                        f64::from_ne_bytes(want[k * es..][..8].try_into().unwrap()),
                    ),
                    _ => (
                        f32::from_ne_bytes(got[0][k * es..][..4].try_into().unwrap()) as f64,
                        f32::from_ne_bytes(want[k * es..][..4].try_into().unwrap()) as f64,
                    ),
                };
                let tol = if kind == Kind::F64 { 1e-12 } else { 1e-5 };
                assert!(
                    (a - b).abs() <= tol * b.abs().max(1e-30),
                    "{kind:?} size {size} element {k}: {a} vs {b}"
                );
            }
        }
    }
}

#[test]
fn collectives_in_sequence_do_not_mix() {
    // Several collectives back to back on the same peers, with different roots.
    for size in 1..=9 {
        let got = run(size, |p| {
            let mut out = Vec::new();
            for i in 0..size {
                let mut b = vec![p.rank as u8; 3];
                bcast(p, &mut b, i).unwrap();
                out.push(b[0]);
                let mine = (p.rank as i32 + i as i32).to_ne_bytes();
                let mut r = [0u8; 4];
                allreduce(p, &mine, &mut r, Kind::I32, BuiltinOp::Sum).unwrap();
                out.push(i32::from_ne_bytes(r) as u8);
                barrier(p).unwrap();
                let mut r = if p.rank == i {
                    vec![0u8; 4]
                } else {
                    Vec::new()
                };
                reduce(p, &mine, &mut r, Kind::I32, BuiltinOp::Max, i).unwrap();
                if p.rank == i {
                    out.push(i32::from_ne_bytes(r[..4].try_into().unwrap()) as u8);
                }
            }
            out
        });
        let tri = size * (size - 1) / 2;
        for (rank, o) in got.iter().enumerate() {
            let mut want = Vec::new();
            for i in 0..size {
                want.push(i as u8);
                want.push((tri + i * size) as u8);
                if rank == i {
                    want.push((size - 1 + i) as u8);
                }
            }
            assert_eq!(o, &want, "size {size} rank {rank}");
        }
    }
}

fn class(r: Result<()>) -> ErrorClass {
    r.map_err(|e: MpiError| e.class).unwrap_err()
}

#[test]
fn bad_arguments_fail_before_any_message() {
    run(4, |p| {
        let mut b = [0u8; 8];
        assert_eq!(class(bcast(p, &mut b, 4)), ErrorClass::Root);
        let mut r = [0u8; 8];
        assert_eq!(
            class(reduce(p, &[0; 8], &mut r, Kind::I32, BuiltinOp::Sum, 9)),
            ErrorClass::Root
        );
        assert_eq!(
            class(reduce(p, &[0; 8], &mut r, Kind::Char, BuiltinOp::Sum, 0)),
            ErrorClass::Op
        );
        assert_eq!(
            class(reduce(p, &[0; 8], &mut r, Kind::I32, BuiltinOp::Replace, 0)),
            ErrorClass::Op
        );
        assert_eq!(
            class(reduce(
                p,
                &[0; 7],
                &mut r[..7],
                Kind::I32,
                BuiltinOp::Sum,
                0
            )),
            ErrorClass::Count
        );
        assert_eq!(
            class(allreduce(p, &[0; 8], &mut r, Kind::F64, BuiltinOp::Band)),
            ErrorClass::Op
        );
        assert_eq!(
            class(allreduce(
                p,
                &[0; 8],
                &mut r[..4],
                Kind::I32,
                BuiltinOp::Sum
            )),
            ErrorClass::Buffer
        );
        assert_eq!(
            class(allreduce_in_place(
                p,
                &mut r[..6],
                Kind::I32,
                BuiltinOp::Sum
            )),
            ErrorClass::Count
        );
        if p.rank == 0 {
            let mut short = [0u8; 4];
            assert_eq!(
                class(reduce(p, &[0; 8], &mut short, Kind::I32, BuiltinOp::Sum, 0)),
                ErrorClass::Buffer
            );
        }
        assert_eq!(p.mb.sent.load(Ordering::SeqCst), 0);
    });
    // A peer that is not a member of its own communicator.
    let mut bad = MemPeer {
        rank: 3,
        size: 2,
        mb: Arc::new(Mailbox::default()),
    };
    assert_eq!(class(barrier(&mut bad)), ErrorClass::Intern);
}
