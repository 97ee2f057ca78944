//! Thin wrappers over the system calls the transport needs.

use std::sync::atomic::AtomicU32;
use std::time::{Duration, Instant};

/// FUTEX_WAIT on a word in shared memory (no FUTEX_PRIVATE_FLAG: the word is shared between
/// processes, and between several mappings of one process in tests). Returns when woken, when
/// `*word != expected` at the time of the call, on timeout, or on a signal; the caller re-checks.
pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Duration) {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs().min(i32::MAX as u64) as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: `word` is a live, aligned 32-bit atomic (in our mapping) for the duration of the
    // call; `ts` outlives the call; FUTEX_WAIT ignores the remaining arguments. The kernel only
    // reads the word. Errors (EAGAIN, ETIMEDOUT, EINTR) all mean "return and re-check".
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &ts as *const libc::timespec,
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

/// FUTEX_WAKE all waiters on `word` (shared futex).
pub(crate) fn futex_wake(word: &AtomicU32) {
    // SAFETY: `word` is a live, aligned 32-bit atomic; FUTEX_WAKE does not access memory through
    // it (the address only names the wait queue) and ignores the remaining arguments.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE,
            i32::MAX,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

/// Let any process of our uid ptrace-attach (and so process_vm_readv) us under Yama
/// ptrace_scope=1. EINVAL (no Yama) and other errors are ignored: the probe tells what works.
pub(crate) fn allow_ptrace_any() {
    // SAFETY: prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY) takes no pointers and only changes this
    // process's Yama ptracer exception.
    unsafe {
        libc::prctl(libc::PR_SET_PTRACER, libc::PR_SET_PTRACER_ANY, 0 as libc::c_ulong, 0 as libc::c_ulong, 0 as libc::c_ulong);
    }
}

/// FNV-1a, 64 bits.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// POSIX shm name of a job's segment: `/ferrompi-<uid>-<key, sanitised, cut>-<fnv64(key)>`.
pub(crate) fn segment_name(job_key: &str) -> String {
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    let clean: String = job_key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '_' })
        .take(80)
        .collect();
    format!("/ferrompi-{uid}-{clean}-{:016x}", fnv1a(job_key.as_bytes()))
}

/// Polls `cond` until it holds or `deadline` passes: spins briefly, then yields, then sleeps with
/// a growing interval (at most 2 ms), so waiting ranks leave the cores to the ones being waited
/// for. Returns whether `cond` held.
pub(crate) fn wait_until(deadline: Instant, mut cond: impl FnMut() -> bool) -> bool {
    let mut i: u32 = 0;
    let mut nap = Duration::from_micros(20);
    loop {
        if cond() {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return cond();
        }
        if i < 64 {
            std::hint::spin_loop();
        } else if i < 128 {
            std::thread::yield_now();
        } else {
            std::thread::sleep(nap.min(deadline - now));
            nap = (nap * 2).min(Duration::from_millis(2));
        }
        i = i.saturating_add(1);
    }
}
