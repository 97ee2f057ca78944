//! Unit tests: rings through a one-rank node (its self ring), and several Nodes of one job in
//! threads of this process. Multi-process tests live in tests/multiproc.rs.

use super::*;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn key(tag: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("ut-{}-{tag}-{}-{nanos}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

fn shm_path(node_name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(format!("/dev/shm{node_name}"))
}

fn solo(tag: &str, ring: usize) -> Node {
    Node::attach(&key(tag), 0, 1, &Config { ring_bytes: ring }).unwrap()
}

/// Deterministic record content for (src, dst, seq).
fn gen(src: usize, dst: usize, seq: u64, maxlen: usize) -> Vec<u8> {
    let h = sys::fnv1a(&[src as u8, dst as u8]) ^ seq.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    #[allow(clippy::manual_is_multiple_of)] // MSRV 1.80
    let len = if seq % 997 == 0 { maxlen } else { (h % 97) as usize }.max(8);
    let mut v = vec![0u8; len];
    v[..8].copy_from_slice(&seq.to_le_bytes());
    for (i, b) in v[8..].iter_mut().enumerate() {
        *b = (h as u8).wrapping_add(i as u8).wrapping_mul(31);
    }
    v
}

fn drain(node: &Node) -> Vec<(usize, Vec<u8>)> {
    let mut out = Vec::new();
    node.poll(&mut |p, r| out.push((p, r.to_vec())));
    out
}

#[test]
fn parse_sizes() {
    assert_eq!(parse_size("262144"), Some(262144));
    assert_eq!(parse_size("256K"), Some(262144));
    assert_eq!(parse_size("1MiB"), Some(1 << 20));
    assert_eq!(parse_size("x"), None);
    assert_eq!(parse_size("12Q"), None);
    assert_eq!(Config::default().ring_bytes, 256 * 1024);
}

#[test]
fn bad_arguments_are_errors() {
    let k = key("bad");
    assert_eq!(Node::attach(&k, 1, 1, &Config::default()).unwrap_err().kind(), io::ErrorKind::InvalidInput);
    assert_eq!(Node::attach(&k, 0, 0, &Config::default()).unwrap_err().kind(), io::ErrorKind::InvalidInput);
    assert_eq!(Node::attach("", 0, 1, &Config::default()).unwrap_err().kind(), io::ErrorKind::InvalidInput);
    let e = Node::attach(&k, 0, 1, &Config { ring_bytes: usize::MAX }).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    // None of these created anything.
    assert!(!shm_path(&sys::segment_name(&k)).exists());
}

#[test]
fn small_ring_is_rounded_up() {
    let n = solo("round", 100);
    assert_eq!(n.ring_bytes(), MIN_RING);
    assert_eq!(n.max_record(), MIN_RING / 2 - 8);
    let n = solo("round2", 5000);
    assert_eq!(n.ring_bytes(), 8192);
}

#[test]
fn solo_roundtrip_parts_and_bad_peer() {
    let n = solo("rt", 4096);
    assert_eq!((n.local_rank(), n.local_size()), (0, 1));
    assert!(n.try_send(0, &[b"head", b"", b"payload"]));
    assert!(n.try_send(0, &[]));
    assert!(!n.try_send(1, &[b"x"]));
    assert!(!n.try_send(usize::MAX, &[b"x"]));
    let got = drain(&n);
    assert_eq!(got, vec![(0, b"headpayload".to_vec()), (0, vec![])]);
    assert_eq!(n.poll(&mut |_, _| panic!("no more")), 0);
    assert!(!n.single_copy(5));
    assert!(n.read_remote(3, 0, &mut [0u8; 4]).is_err());
}

#[test]
fn full_ring_then_room_again() {
    let n = solo("full", 4096);
    let rec = [7u8; 56]; // 64 bytes per record with its length word
    let mut sent = 0;
    while n.try_send(0, &[&rec]) {
        sent += 1;
        assert!(sent <= 64);
    }
    assert_eq!(sent, 4096 / 64, "a ring holds exactly cap bytes");
    assert!(!n.try_send(0, &[b""]));
    let mut got = 0;
    assert_eq!(n.poll(&mut |_, r| {
        assert_eq!(r, &rec[..]);
        got += 1
    }), sent);
    assert_eq!(got, sent);
    assert!(n.try_send(0, &[&rec]));
    assert_eq!(drain(&n).len(), 1);
}

#[test]
fn max_record_at_every_offset() {
    let n = solo("max", 4096);
    let max = n.max_record();
    assert!(!n.try_send(0, &[&vec![1u8; max + 1]]));
    assert!(!n.try_send(0, &[&vec![1u8; max], b"x"]));
    // Shift the ring position by 8 bytes at a time over a full lap, sending a max record at each.
    for shift in 0..(4096 / 8) as u64 {
        let big: Vec<u8> = (0..max).map(|i| (i as u64 ^ shift) as u8).collect();
        assert!(n.try_send(0, &[&big]), "max record at shift {shift}");
        assert!(n.try_send(0, &[]), "empty record");
        let got = drain(&n);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1, big);
        assert!(got[1].1.is_empty());
    }
}

#[test]
fn wraparound_many_sizes() {
    let n = solo("wrap", 4096);
    let mut seq = 0u64;
    let mut expect = 0u64;
    // Odd sizes so that records straddle the end in all sorts of ways; keep the ring part full.
    for round in 0..20_000u64 {
        let len = ((round * 37) % 700) as usize + 8;
        let mut v = vec![(round % 251) as u8; len];
        v[..8].copy_from_slice(&seq.to_le_bytes());
        if n.try_send(0, &[&v[..8], &v[8..]]) {
            seq += 1;
        }
        if round % 3 == 0 || seq == expect {
            continue;
        }
        n.poll(&mut |_, r| {
            let s = u64::from_le_bytes(r[..8].try_into().unwrap());
            assert_eq!(s, expect);
            expect += 1;
        });
    }
    n.poll(&mut |_, r| {
        assert_eq!(u64::from_le_bytes(r[..8].try_into().unwrap()), expect);
        expect += 1;
    });
    assert_eq!(seq, expect);
    assert!(seq > 10_000);
}

#[test]
fn many_small_records() {
    let n = solo("small", 64 * 1024);
    let mut total = 0usize;
    for batch in 0..100u64 {
        let mut k = 0u64;
        while k < 1000 && n.try_send(0, &[&(batch * 1000 + k).to_le_bytes()]) {
            k += 1;
        }
        assert_eq!(k, 1000);
        let mut next = batch * 1000;
        total += n.poll(&mut |_, r| {
            assert_eq!(r, &next.to_le_bytes());
            next += 1;
        });
    }
    assert_eq!(total, 100_000);
}

#[test]
fn poll_is_not_reentrant_and_callback_may_send() {
    let n = solo("reent", 4096);
    assert!(n.try_send(0, &[b"a"]));
    let mut seen = Vec::new();
    n.poll(&mut |_, r| {
        seen.push(r.to_vec());
        assert_eq!(n.poll(&mut |_, _| panic!("re-entered")), 0);
        assert!(n.try_send(0, &[b"b"])); // lands after the current batch
    });
    assert_eq!(seen, vec![b"a".to_vec()]);
    assert_eq!(drain(&n), vec![(0, b"b".to_vec())]);
}

#[test]
fn solo_wait_behaviour() {
    let n = solo("solowait", 4096);
    // Nothing to do: returns after about the timeout.
    let t = Instant::now();
    n.wait(Duration::from_millis(50));
    let e = t.elapsed();
    assert!(e >= Duration::from_millis(45) && e < Duration::from_secs(5), "{e:?}");
    // Something waiting: returns at once.
    assert!(n.try_send(0, &[b"x"]));
    let t = Instant::now();
    n.wait(Duration::from_secs(10));
    assert!(t.elapsed() < Duration::from_secs(1));
    drain(&n);
    // wake_self before wait: the next wait returns at once, the one after sleeps again.
    n.wake_self();
    let t = Instant::now();
    n.wait(Duration::from_secs(10));
    assert!(t.elapsed() < Duration::from_secs(1));
    let t = Instant::now();
    n.wait(Duration::from_millis(20));
    assert!(t.elapsed() >= Duration::from_millis(15));
    // zero timeout never blocks
    let t = Instant::now();
    n.wait(Duration::ZERO);
    assert!(t.elapsed() < Duration::from_secs(1));
}

#[test]
fn wake_self_from_other_thread() {
    let n = Arc::new(solo("wakeself", 4096));
    let n2 = n.clone();
    let h = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        n2.wake_self();
    });
    let t = Instant::now();
    n.wait(Duration::from_secs(20));
    let e = t.elapsed();
    h.join().unwrap();
    assert!(e >= Duration::from_millis(90) && e < Duration::from_secs(10), "{e:?}");
}

fn attach_all(tag: &str, size: usize, ring: usize) -> Vec<Node> {
    let k = key(tag);
    let hs: Vec<_> = (0..size)
        .map(|r| {
            let k = k.clone();
            std::thread::spawn(move || Node::attach_timeout(&k, r, size, &Config { ring_bytes: ring }, Duration::from_secs(30)))
        })
        .collect();
    hs.into_iter().map(|h| h.join().unwrap().unwrap()).collect()
}

#[test]
fn no_leftover_after_attach_and_mode() {
    let nodes = attach_all("left", 3, 4096);
    let name = nodes[0].segment_name().to_string();
    assert!(name.starts_with("/ferrompi-"));
    assert!(!shm_path(&name).exists(), "segment still linked after attach");
    for (i, n) in nodes.iter().enumerate() {
        assert_eq!(n.local_rank(), i);
        assert_eq!(n.segment_name(), name);
        for p in 0..3 {
            assert!(n.single_copy(p));
        }
    }
}

#[test]
fn created_with_mode_0600() {
    use std::os::unix::fs::PermissionsExt;
    // Attach rank 0 of 2 in a thread; look at the file while it waits for rank 1.
    let k = key("mode");
    let name = sys::segment_name(&k);
    let k2 = k.clone();
    let h = std::thread::spawn(move || Node::attach_timeout(&k2, 0, 2, &Config { ring_bytes: 4096 }, Duration::from_secs(30)));
    let path = shm_path(&name);
    assert!(sys::wait_until(Instant::now() + Duration::from_secs(10), || path.exists()));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let n1 = Node::attach(&k, 1, 2, &Config { ring_bytes: 4096 }).unwrap();
    let n0 = h.join().unwrap().unwrap();
    assert!(!path.exists());
    assert!(n0.try_send(1, &[b"hi"]));
    assert_eq!(drain(&n1), vec![(0, b"hi".to_vec())]);
}

#[test]
fn stale_segment_is_a_clear_error() {
    let k = key("stale");
    let name = sys::segment_name(&k);
    let fd = nix::sys::mman::shm_open(name.as_str(), OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDWR, Mode::S_IRUSR | Mode::S_IWUSR).unwrap();
    drop(fd);
    let e = Node::attach(&k, 0, 1, &Config::default()).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
    assert!(e.to_string().contains("already exists"), "{e}");
    assert!(shm_path(&name).exists(), "must not remove a segment it does not own");
    nix::sys::mman::shm_unlink(name.as_str()).unwrap();
}

#[test]
fn opener_times_out_without_creator() {
    let k = key("nocreator");
    let t = Instant::now();
    let e = Node::attach_timeout(&k, 1, 2, &Config::default(), Duration::from_millis(200)).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(!shm_path(&sys::segment_name(&k)).exists());
}

#[test]
fn creator_times_out_without_peer_and_unlinks() {
    let k = key("nopeer");
    let e = Node::attach_timeout(&k, 0, 2, &Config::default(), Duration::from_millis(200)).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    assert!(e.to_string().contains("1 of 2"), "{e}");
    assert!(!shm_path(&sys::segment_name(&k)).exists());
}

#[test]
fn local_size_mismatch_is_an_error() {
    let k = key("mismatch");
    let k2 = k.clone();
    let h = std::thread::spawn(move || Node::attach_timeout(&k2, 0, 2, &Config { ring_bytes: 4096 }, Duration::from_millis(2000)));
    let e = Node::attach_timeout(&k, 1, 3, &Config { ring_bytes: 4096 }, Duration::from_secs(10)).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    assert!(h.join().unwrap().is_err());
    assert!(!shm_path(&sys::segment_name(&k)).exists());
}

#[test]
fn opener_adopts_creator_ring_size() {
    let k = key("adopt");
    let k2 = k.clone();
    let h = std::thread::spawn(move || Node::attach(&k2, 0, 2, &Config { ring_bytes: 8192 }));
    let n1 = Node::attach(&k, 1, 2, &Config { ring_bytes: 1 << 20 }).unwrap();
    let n0 = h.join().unwrap().unwrap();
    assert_eq!(n1.ring_bytes(), 8192);
    assert_eq!(n0.max_record(), n1.max_record());
}

#[test]
fn read_remote_same_process() {
    let nodes = attach_all("rr", 2, 4096);
    let src: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();
    let mut dst = vec![0u8; src.len()];
    assert!(nodes[0].single_copy(1));
    nodes[0].read_remote(1, src.as_ptr() as usize, &mut dst).unwrap();
    assert_eq!(src, dst);
    nodes[1].read_remote(0, src.as_ptr() as usize + 10, &mut dst[..0]).unwrap();
    assert!(nodes[1].read_remote(0, 8, &mut dst[..16]).is_err()); // unmapped address
    assert!(nodes[1].read_remote(0, usize::MAX - 4, &mut dst[..16]).is_err());
}

/// Moves `count` records from every node to every other node (threads), checking content, order
/// and a checksum per pair; waits with `wait` when idle.
fn exchange(nodes: Vec<Node>, count: u64) {
    let size = nodes.len();
    let hs: Vec<_> = nodes
        .into_iter()
        .map(|node| {
            std::thread::spawn(move || {
                let me = node.local_rank();
                let maxlen = node.max_record().min(3000);
                let mut sent = vec![0u64; size];
                let mut recv = vec![0u64; size];
                let mut sum_sent = vec![0u64; size];
                let mut sum_recv = vec![0u64; size];
                sent[me] = count;
                recv[me] = count;
                let mut idle = 0u32;
                while sent.iter().chain(recv.iter()).any(|&c| c < count) {
                    let mut progress = false;
                    for p in 0..size {
                        let mut burst = 0;
                        while sent[p] < count && burst < 32 {
                            let v = gen(me, p, sent[p], maxlen);
                            if !node.try_send(p, &[&v[..8], &v[8..]]) {
                                break;
                            }
                            sum_sent[p] = sum_sent[p].wrapping_add(sys::fnv1a(&v));
                            sent[p] += 1;
                            burst += 1;
                            progress = true;
                        }
                    }
                    let got = node.poll(&mut |src, r| {
                        let want = gen(src, me, recv[src], maxlen);
                        assert_eq!(r, &want[..], "record {} from {src} to {me}", recv[src]);
                        sum_recv[src] = sum_recv[src].wrapping_add(sys::fnv1a(r));
                        recv[src] += 1;
                    });
                    if got > 0 || progress {
                        idle = 0;
                    } else {
                        idle += 1;
                        if idle < 32 {
                            std::hint::spin_loop();
                        } else if idle < 64 {
                            std::thread::yield_now();
                        } else {
                            node.wait(Duration::from_millis(20));
                        }
                    }
                }
                (me, sum_sent, sum_recv)
            })
        })
        .collect();
    let res: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    for (me, _, sum_recv) in &res {
        for (src, sum_sent, _) in &res {
            if src != me {
                assert_eq!(sum_recv[*src], sum_sent[*me], "checksum {src} -> {me}");
            }
        }
    }
}

#[test]
fn threads_two_nodes_100k_each_way() {
    exchange(attach_all("thr2", 2, 64 * 1024), 100_000);
}

#[test]
fn threads_four_nodes_small_rings() {
    exchange(attach_all("thr4", 4, 4096), 20_000);
}

#[test]
fn sleeping_waiter_is_woken_by_send() {
    let mut nodes = attach_all("wake", 2, 4096);
    let n1 = Arc::new(nodes.pop().unwrap());
    let n0 = nodes.pop().unwrap();
    for round in 0..5 {
        let h = std::thread::spawn({
            let n1 = n1.clone();
            move || {
                std::thread::sleep(Duration::from_millis(50));
                assert!(n1.try_send(0, &[b"wake up"]));
            }
        });
        let t = Instant::now();
        n0.wait(Duration::from_secs(30));
        let e = t.elapsed();
        h.join().unwrap();
        assert!(e < Duration::from_secs(5), "round {round}: woken after {e:?}");
        assert!(e >= Duration::from_millis(40), "round {round}: returned before the send: {e:?}");
        assert_eq!(drain(&n0), vec![(1, b"wake up".to_vec())]);
    }
}

#[test]
fn blocked_sender_is_woken_when_space_frees() {
    let mut nodes = attach_all("space", 2, 4096);
    let n1 = nodes.pop().unwrap();
    let n0 = nodes.pop().unwrap();
    while n0.try_send(1, &[&[0u8; 500]]) {}
    let h = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        let k = n1.poll(&mut |_, _| {});
        assert!(k > 0);
        n1
    });
    let t = Instant::now();
    n0.wait(Duration::from_secs(30));
    let e = t.elapsed();
    let _n1 = h.join().unwrap();
    assert!(e < Duration::from_secs(5) && e >= Duration::from_millis(40), "{e:?}");
    assert!(n0.try_send(1, &[&[0u8; 500]]));
    // The notification was consumed: a further wait with nothing to do sleeps.
    let t = Instant::now();
    n0.wait(Duration::from_millis(30));
    assert!(t.elapsed() >= Duration::from_millis(25));
}

#[test]
fn boards_are_claimed_until_every_member_releases_them() {
    let nodes: Vec<Arc<Node>> = attach_all("board", 2, 4096).into_iter().map(Arc::new).collect();
    let first = nodes[0].claim_board(2).unwrap();
    let a = nodes[0].board(first, vec![0, 1], 0).unwrap();
    let b = nodes[1].board(first, vec![0, 1], 1).unwrap();
    // Not a claimed board, not my cell, a member that is not a local rank, too many members.
    assert!(nodes[1].board((first + 1) % BOARDS, vec![0, 1], 1).is_none());
    assert!(nodes[1].board(first, vec![0, 1], 0).is_none());
    assert!(nodes[1].board(first, vec![0, 1, 2], 1).is_none());
    assert!(nodes[0].claim_board(3).is_none());
    // The others can all be claimed, then none.
    let rest: Vec<usize> = std::iter::from_fn(|| nodes[1].claim_board(1)).collect();
    assert_eq!(rest.len(), BOARDS - 1);
    assert!(!rest.contains(&first));
    drop(a);
    assert!(nodes[0].claim_board(2).is_none(), "one member still holds it");
    drop(b);
    assert_eq!(nodes[0].claim_board(2), Some(first));
}

#[test]
fn board_counters_and_payload_reach_a_sleeping_member() {
    let nodes: Vec<Arc<Node>> = attach_all("board-wake", 2, 4096).into_iter().map(Arc::new).collect();
    let index = nodes[0].claim_board(2).unwrap();
    let cells: Vec<Board> = (0..2).map(|i| nodes[i].board(index, vec![0, 1], i).unwrap()).collect();
    assert_eq!((cells[1].arrived(0), cells[1].left(0)), (0, 0), "a claim resets the counters");
    std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let start = Instant::now();
            while cells[1].arrived(0) < 1 {
                nodes[1].wait_unless(Duration::from_secs(10), || cells[1].arrived(0) >= 1);
            }
            (cells[1].read(0, 1, 5).to_vec(), start.elapsed())
        });
        std::thread::sleep(Duration::from_millis(50));
        cells[0].write(1, b"hello");
        cells[0].publish(1, 0);
        let (got, waited) = reader.join().unwrap();
        assert_eq!(got, b"hello");
        assert!(waited < Duration::from_secs(5), "woken by publish, not by the timeout: {waited:?}");
    });
    assert_eq!((cells[1].arrived(0), cells[1].left(0)), (1, 0));
}
