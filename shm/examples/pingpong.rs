//! Ping-pong between two forked processes over shm rings (busy polling):
//! `cargo run --release -p shm --example pingpong [size_bytes] [iters]`.
use std::time::Instant;

use nix::sys::wait::waitpid;
use nix::unistd::{fork, ForkResult};
use shm::{Config, Node};

fn main() {
    let size: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(8);
    let iters: usize = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let key = format!("pingpong-{}", std::process::id());
    if std::env::var("SELF").is_ok() {
        // Single-process cost of try_send + poll through the self ring, and of an empty poll.
        let node = Node::attach(&key, 0, 1, &Config::default()).expect("attach");
        let buf = vec![1u8; size];
        let t = Instant::now();
        for _ in 0..iters {
            assert!(node.try_send(0, &[&buf]));
            node.poll(&mut |_, _| {});
        }
        println!("{size} B: {:.1} ns per try_send+poll", t.elapsed().as_nanos() as f64 / iters as f64);
        let t = Instant::now();
        for _ in 0..iters {
            node.poll(&mut |_, _| {});
        }
        println!("empty poll: {:.1} ns", t.elapsed().as_nanos() as f64 / iters as f64);
        return;
    }
    // SAFETY: single-threaded here; the child runs `rank(1)` and exits.
    let child = match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            rank(&key, 1, size, iters);
            std::process::exit(0);
        }
        ForkResult::Parent { child } => child,
    };
    rank(&key, 0, size, iters);
    waitpid(child, None).expect("waitpid");
}

fn rank(key: &str, me: usize, size: usize, iters: usize) {
    let node = Node::attach(key, me, 2, &Config::from_env().unwrap()).expect("attach");
    let size = size.min(node.max_record());
    let buf = vec![1u8; size];
    let peer = 1 - me;
    let warm = iters / 10;
    let mut t0 = Instant::now();
    for i in 0..warm + iters {
        if i == warm {
            t0 = Instant::now();
        }
        if me == 0 {
            while !node.try_send(peer, &[&buf]) {}
        }
        let mut got = 0;
        while got == 0 {
            got = node.poll(&mut |_, _| {});
        }
        if me == 1 {
            while !node.try_send(peer, &[&buf]) {}
        }
    }
    if me == 0 {
        let dt = t0.elapsed();
        println!("{size} B: {:.3} us one-way", dt.as_secs_f64() * 1e6 / iters as f64 / 2.0);
    }
}
