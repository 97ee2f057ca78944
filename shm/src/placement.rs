//! Where the ranks of one host run: on CPUs of their own, when there are enough.
//!
//! Unbound, the ranks a launcher starts begin on the CPU that forked them, and the kernel's
//! load balancer takes milliseconds to spread them. Until it does, two ranks that wait on each
//! other share one core and every wait costs a spin and a time slice: a 256 KiB bcast at 2
//! ranks took 300-500 us a call for its first ~20 calls and 20 us once the ranks ran apart
//! (docs/benchmarks.md, "Collectives"). Bound from the start, as Open MPI's mpirun binds
//! its ranks by default, the first call is as fast as the rest.

use std::io;

use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::unistd::Pid;

/// Binds this process to its share of the CPUs it may run on: the `local_size` ranks of the
/// host (which start with the same CPU set) get disjoint blocks of it in local rank order,
/// `n / local_size` CPUs each for `n` CPUs (one each where there are as many CPUs as ranks;
/// more leave room for the threads of a rank). Leaves the process alone, returning
/// `Ok(None)`, when its set has fewer CPUs than there are ranks (ranks outnumber them, or a
/// launcher such as `srun --cpu-bind` already placed each rank) or when `FERROMPI_BIND=0`;
/// otherwise returns the CPUs bound to.
pub fn bind_local_rank(local_rank: usize, local_size: usize) -> io::Result<Option<Vec<usize>>> {
    if crate::env_flag_off("FERROMPI_BIND") || local_size < 2 || local_rank >= local_size {
        return Ok(None);
    }
    let me = Pid::from_raw(0);
    let allowed = sched_getaffinity(me).map_err(io::Error::from)?;
    let cpus: Vec<usize> = (0..CpuSet::count()).filter(|&c| allowed.is_set(c).unwrap_or(false)).collect();
    let n = cpus.len();
    if n < local_size {
        return Ok(None);
    }
    let share = cpus[local_rank * n / local_size..(local_rank + 1) * n / local_size].to_vec();
    let mut set = CpuSet::new();
    for &cpu in &share {
        set.set(cpu).map_err(io::Error::from)?;
    }
    sched_setaffinity(me, &set).map_err(io::Error::from)?;
    Ok(Some(share))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Vec<usize> {
        let set = sched_getaffinity(Pid::from_raw(0)).unwrap();
        (0..CpuSet::count()).filter(|&c| set.is_set(c).unwrap()).collect()
    }

    /// Each call runs on a thread of its own: affinity is per thread, so the test's binding
    /// does not leak into the other tests.
    fn on_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::spawn(f).join().unwrap()
    }

    #[test]
    fn ranks_get_disjoint_shares_covering_the_set() {
        let cpus = allowed();
        assert!(!cpus.is_empty());
        for size in 2..=cpus.len().clamp(2, 5) {
            let mut seen = Vec::new();
            for rank in 0..size {
                let (bound, now) = on_thread(move || (bind_local_rank(rank, size).unwrap(), allowed()));
                let Some(bound) = bound else {
                    assert!(cpus.len() < size, "rank {rank} of {size} left unbound with {} CPUs", cpus.len());
                    continue;
                };
                assert_eq!(bound, now, "rank {rank} of {size}: the thread runs where it was told");
                assert!(bound.len() == cpus.len() / size || bound.len() == cpus.len().div_ceil(size));
                seen.extend(bound);
            }
            if cpus.len() >= size {
                assert_eq!(seen, cpus, "{size} ranks: disjoint, in order, covering every CPU");
            }
        }
    }

    #[test]
    fn left_alone_when_ranks_outnumber_cpus_or_run_alone() {
        let n = allowed().len();
        assert_eq!(on_thread(move || bind_local_rank(0, n + 1).unwrap()), None);
        assert_eq!(on_thread(|| bind_local_rank(0, 1).unwrap()), None);
        assert_eq!(on_thread(move || bind_local_rank(n + 1, n + 1).unwrap()), None);
        assert_eq!(on_thread(allowed), allowed(), "nothing changed");
    }
}
