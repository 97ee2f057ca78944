//! The board collectives of several ranks, each a thread, on cells in process memory: long
//! mixed sequences with random roots, sizes and delays (so that leaves of a reduce and the root
//! of a bcast run ahead), results checked against references.

use std::cell::UnsafeCell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::buffer::UserBuf;
use crate::datatype::Kind;
use crate::op::BuiltinOp;

/// Cells of one board in process memory.
struct Memory {
    counters: Vec<[AtomicU64; 2]>,
    payload: Vec<UnsafeCell<[u8; shm::Board::AREA]>>,
}

// SAFETY: the payload is written by its cell's thread only, and read by the others as the
// counters (Release / Acquire) allow: the protocol under test.
unsafe impl Sync for Memory {}

struct TestCells {
    mem: Arc<Memory>,
    me: usize,
}

impl Cells for TestCells {
    fn size(&self) -> usize {
        self.mem.counters.len()
    }
    fn me(&self) -> usize {
        self.me
    }
    fn arrived(&self, cell: usize) -> u64 {
        self.mem.counters[cell][0].load(Ordering::Acquire)
    }
    fn left(&self, cell: usize) -> u64 {
        self.mem.counters[cell][1].load(Ordering::Acquire)
    }
    fn publish(&self, arrive: u64, leave: u64) {
        self.mem.counters[self.me][0].store(arrive, Ordering::Release);
        self.mem.counters[self.me][1].store(leave, Ordering::Release);
    }
    fn write(&self, offset: usize, data: &[u8]) {
        // SAFETY: my cell, not read meanwhile (the protocol).
        let cell = unsafe { &mut *self.mem.payload[self.me].get() };
        cell[offset..offset + data.len()].copy_from_slice(data);
    }
    fn read(&self, cell: usize, offset: usize, len: usize) -> &[u8] {
        // SAFETY: not written meanwhile (the protocol).
        let cell = unsafe { &*self.mem.payload[cell].get() };
        &cell[offset..offset + len]
    }
}

fn boards(n: usize) -> Vec<BoardColl<TestCells>> {
    let mem = Arc::new(Memory {
        counters: (0..n).map(|_| [AtomicU64::new(0), AtomicU64::new(0)]).collect(),
        payload: (0..n).map(|_| UnsafeCell::new([0; shm::Board::AREA])).collect(),
    });
    (0..n).map(|me| BoardColl::new(TestCells { mem: Arc::clone(&mem), me })).collect()
}

/// Spins (yielding) until ready; a wait of seconds is a deadlock.
fn spin(ready: &dyn Fn() -> bool) -> Result<()> {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < Duration::from_secs(20), "board collective deadlocked");
        std::thread::yield_now();
    }
    Ok(())
}

/// A deterministic xorshift generator; every rank draws the same call sequence from it.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn value(rank: usize, call: usize, i: usize) -> i64 {
    (rank as i64 + 1) * 1000 + call as i64 * 7 + i as i64
}

fn bytes_of(v: &[i64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_ne_bytes()).collect()
}

#[test]
fn mixed_calls_with_runners_ahead_give_exact_results() {
    for n in [2, 3, 4] {
        let boards = boards(n);
        std::thread::scope(|s| {
            for b in &boards {
                s.spawn(move || {
                    let me = b.cells.me();
                    let mut rng = Rng(0x9e37_79b9 + n as u64);
                    let mut delay = Rng(me as u64 * 31 + 7);
                    for call in 0..400 {
                        let what = rng.below(6);
                        let root = rng.below(n as u64) as usize;
                        let len = 1 + rng.below(PAYLOAD as u64 / 8) as usize;
                        if delay.below(8) == 0 {
                            std::thread::sleep(Duration::from_micros(delay.below(300)));
                        }
                        let mine: Vec<i64> = (0..len).map(|i| value(me, call, i)).collect();
                        let mut send = bytes_of(&mine);
                        let mut recv = vec![0u8; len * 8];
                        let sb: Buf = UserBuf::from_slice(&mut send).into();
                        let rb: Buf = UserBuf::from_slice(&mut recv).into();
                        let total: Vec<i64> = (0..len).map(|i| (0..n).map(|r| value(r, call, i)).sum()).collect();
                        match what {
                            0 => b.barrier(&mut spin).unwrap(),
                            1 => {
                                b.bcast(root, &sb, &mut spin).unwrap();
                                let want: Vec<i64> = (0..len).map(|i| value(root, call, i)).collect();
                                assert_eq!(send, bytes_of(&want), "bcast {call} on {n} ranks");
                            }
                            2 => {
                                // The root in place on odd calls.
                                let in_place = me == root && call % 2 == 1;
                                if in_place {
                                    recv.copy_from_slice(&send);
                                }
                                let contribution = if in_place { &rb } else { &sb };
                                b.reduce(root, contribution, (me == root).then_some(&rb), BuiltinOp::Sum, Kind::I64, &mut spin).unwrap();
                                if me == root {
                                    assert_eq!(recv, bytes_of(&total), "reduce {call} on {n} ranks");
                                }
                            }
                            4 => {
                                // Blocks of len / n elements; in place on odd calls.
                                let blk = (len / n).max(1);
                                let mut all: Vec<u8> = (0..n).flat_map(|r| bytes_of(&(0..blk).map(|i| if r == me { value(me, call, i) } else { -1 }).collect::<Vec<_>>())).collect();
                                let ab: Buf = UserBuf::from_slice(&mut all).into();
                                let mine: Buf = UserBuf::from_slice(&mut send[..blk * 8]).into();
                                b.allgather((call % 2 == 0).then_some(&mine), &ab, blk * 8, &mut spin).unwrap();
                                let want: Vec<i64> = (0..n).flat_map(|r| (0..blk).map(move |i| value(r, call, i))).collect();
                                assert_eq!(all, bytes_of(&want), "allgather {call} on {n} ranks");
                            }
                            5 => {
                                // Block j of rank r: value(r, call, j * blk + i); in place on odd calls.
                                let blk = (len / n).max(1);
                                let mut out: Vec<u8> = bytes_of(&(0..n * blk).map(|i| value(me, call, i)).collect::<Vec<_>>());
                                let mut into = vec![0u8; n * blk * 8];
                                let ob: Buf = UserBuf::from_slice(&mut out).into();
                                let ib: Buf = UserBuf::from_slice(&mut into).into();
                                let got = if call % 2 == 0 {
                                    b.alltoall(Some(&ob), &ib, blk * 8, &mut spin).unwrap();
                                    &into
                                } else {
                                    b.alltoall(None, &ob, blk * 8, &mut spin).unwrap();
                                    &out
                                };
                                let want: Vec<i64> = (0..n).flat_map(|r| (0..blk).map(move |i| value(r, call, me * blk + i))).collect();
                                assert_eq!(got, &bytes_of(&want), "alltoall {call} on {n} ranks");
                            }
                            _ => {
                                // In place on odd calls.
                                let (contribution, result) = if call % 2 == 1 { (&sb, &sb) } else { (&sb, &rb) };
                                b.allreduce(contribution, result, BuiltinOp::Sum, Kind::I64, &mut spin).unwrap();
                                let got = if call % 2 == 1 { &send } else { &recv };
                                assert_eq!(got, &bytes_of(&total), "allreduce {call} on {n} ranks");
                            }
                        }
                    }
                });
            }
        });
    }
}

#[test]
fn allreduce_is_bit_identical_on_every_rank_and_in_rank_order() {
    let n = 3;
    let boards = boards(n);
    let results: Vec<Vec<u8>> = std::thread::scope(|s| {
        let handles: Vec<_> = boards
            .iter()
            .map(|b| {
                s.spawn(move || {
                    let me = b.cells.me();
                    // Sums whose value depends on the association order.
                    let mine: Vec<f64> = (0..64).map(|i| [1e16, 1.0, -1e16][me] * (i as f64 + 1.0)).collect();
                    let mut send: Vec<u8> = mine.iter().flat_map(|x| x.to_ne_bytes()).collect();
                    let mut recv = vec![0u8; send.len()];
                    let sb: Buf = UserBuf::from_slice(&mut send).into();
                    b.allreduce(&sb, &UserBuf::from_slice(&mut recv).into(), BuiltinOp::Sum, Kind::F64, &mut spin).unwrap();
                    recv
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(results.iter().all(|r| r == &results[0]));
    // c0 + (c1 + c2): 1e16 * x + (x - 1e16 * x), rounded as that association rounds it.
    let first = f64::from_ne_bytes(results[0][..8].try_into().unwrap());
    assert_eq!(first, 1e16 + (1.0 + -1e16));
}

/// Leaves of reduces and the root of bcasts run ahead of a slow reader until the area wraps:
/// they must wait for it (the first rule) or overwrite what it has yet to read.
#[test]
fn runners_ahead_wait_for_a_slow_reader() {
    let n = 3;
    let boards = boards(n);
    std::thread::scope(|s| {
        for b in &boards {
            s.spawn(move || {
                let me = b.cells.me();
                let len = PAYLOAD / 8;
                for call in 0..60 {
                    let mine: Vec<i64> = (0..len).map(|i| value(me, call, i)).collect();
                    let mut send = bytes_of(&mine);
                    let mut recv = vec![0u8; len * 8];
                    let rb: Buf = UserBuf::from_slice(&mut recv).into();
                    if me == 0 {
                        std::thread::sleep(Duration::from_micros(200));
                    }
                    b.reduce(0, &UserBuf::from_slice(&mut send).into(), (me == 0).then_some(&rb), BuiltinOp::Sum, Kind::I64, &mut spin).unwrap();
                    if me == 0 {
                        let total: Vec<i64> = (0..len).map(|i| (0..n).map(|r| value(r, call, i)).sum()).collect();
                        assert_eq!(recv, bytes_of(&total), "reduce {call}");
                    }
                }
                for call in 0..60 {
                    let mut buf = if me == 1 { bytes_of(&(0..64).map(|i| value(1, call, i)).collect::<Vec<_>>()) } else { vec![0u8; 512] };
                    if me == 2 {
                        std::thread::sleep(Duration::from_micros(100));
                    }
                    b.bcast(1, &UserBuf::from_slice(&mut buf).into(), &mut spin).unwrap();
                    assert_eq!(buf, bytes_of(&(0..64).map(|i| value(1, call, i)).collect::<Vec<_>>()), "bcast {call}");
                }
            });
        }
    });
}
