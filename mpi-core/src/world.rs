//! Bootstrap: who we are, who else is in the job, and which of them share our host.
//!
//! A process started by a PMI server (our `mpirun`, MPICH's hydra, Slurm's `srun --mpi=pmi2`)
//! learns its rank and the job's size from PMI, publishes its host identity in the key-value
//! space and reads everyone else's. A process started without one is a 1-rank job.

use crate::error::{fail, ErrorClass, Result};

pub struct World {
    pub rank: usize,
    pub size: usize,
    /// Unique per job: names the shared-memory segment.
    pub job_id: String,
    /// `MPI_APPNUM` as the launcher reports it (-1 when it does not know).
    pub appnum: i32,
    /// World ranks on this host, ascending; our local rank is our index here.
    pub local_ranks: Vec<usize>,
    /// The host of each world rank, named by the lowest world rank on it (the node-aware
    /// collectives group ranks by it).
    pub host_of: Vec<u32>,
    /// Names this job's shared-memory segment on this host; equal in every local rank, and
    /// unique even where the launcher's job id is not (see `bootstrap`).
    pub shm_key: String,
    pub pmi: Option<pmi::Client>,
}

impl World {
    pub fn bootstrap() -> Result<World> {
        let client = pmi::Client::from_env().or_else(|e| fail(ErrorClass::Other, format!("PMI bootstrap failed: {e}")))?;
        let Some(pmi) = client else {
            return Ok(World {
                rank: 0,
                size: 1,
                job_id: format!("singleton-{}", std::process::id()),
                appnum: 0,
                local_ranks: vec![0],
                host_of: vec![0],
                shm_key: format!("singleton-{}", std::process::id()),
                pmi: None,
            });
        };
        let (rank, size) = (pmi.rank(), pmi.size());
        let mut world = World {
            rank,
            size,
            job_id: pmi.job_id().to_string(),
            appnum: pmi.appnum(),
            local_ranks: vec![rank],
            host_of: Vec::new(),
            shm_key: String::new(),
            pmi: Some(pmi),
        };
        let me = host_identity();
        // Each rank adds a random nonce to its host identity, and a host's segment is named
        // after its lowest rank's nonce. The launcher's job id alone is not unique enough:
        // Slurm's job ids start again at 1 in a new cluster (and wrap), so a segment left by
        // a job killed while its ranks were attaching, or a second cluster on the same machine,
        // would collide with a later job's.
        let nonce = random_u64();
        let values = world.allgather("host", &format!("{me}#{nonce:016x}"))?;
        let split = |v: &str| -> (String, String) {
            match v.rsplit_once('#') {
                Some((h, n)) => (h.to_string(), n.to_string()),
                None => (v.to_string(), String::new()),
            }
        };
        let (hosts, nonces): (Vec<String>, Vec<String>) = values.iter().map(|v| split(v)).unzip();
        world.local_ranks = (0..size).filter(|&r| hosts[r] == me).collect();
        world.host_of = hosts.iter().map(|h| hosts.iter().position(|x| x == h).unwrap_or(0) as u32).collect();
        let leader = world.local_ranks.first().copied().unwrap_or(rank);
        world.shm_key = format!("{}.{leader}.{}", world.job_id, nonces[leader]);
        Ok(world)
    }

    /// A barrier through the launcher (PMI fence), which needs no transport.
    pub fn fence(&mut self) -> Result<()> {
        match self.pmi.as_mut() {
            Some(pmi) => pmi.fence().or_else(|e| fail(ErrorClass::Other, format!("PMI fence: {e}"))),
            None => Ok(()),
        }
    }

    /// Every rank's `value` for `key`, indexed by rank: each rank publishes its own, then all
    /// meet in a PMI fence. Values must fit PMI's 1024 bytes.
    pub fn allgather(&mut self, key: &str, value: &str) -> Result<Vec<String>> {
        let (rank, size) = (self.rank, self.size);
        let Some(pmi) = self.pmi.as_mut() else {
            return Ok(vec![value.to_string()]);
        };
        if size == 1 {
            return Ok(vec![value.to_string()]);
        }
        let io = |e: std::io::Error| crate::error::MpiError::new(ErrorClass::Other, format!("PMI: {e}"));
        pmi.put(&format!("{key}-{rank}"), value).map_err(io)?;
        pmi.fence().map_err(io)?;
        (0..size)
            .map(|r| {
                if r == rank {
                    return Ok(value.to_string());
                }
                match pmi.get(&format!("{key}-{r}")).map_err(io)? {
                    Some(v) => Ok(v),
                    None => fail(ErrorClass::Other, format!("PMI: rank {r} published no `{key}`")),
                }
            })
            .collect()
    }

    pub fn local_rank(&self) -> usize {
        self.local_ranks.iter().position(|&r| r == self.rank).unwrap_or(0)
    }
}

/// "Same host" means the same hostname and the same kernel boot: two containers on one machine
/// with one hostname but separate kernels' views can never share memory, and two hosts never
/// share a boot id.
fn host_identity() -> String {
    let host = nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default();
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    format!("{host}/{}", boot.trim())
}

/// 64 random bits from the kernel (the time and pid if that fails: uniqueness, not secrecy).
fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    // SAFETY: getrandom writes at most `b.len()` bytes into `b`, which lives across the call.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    if n == 8 {
        return u64::from_ne_bytes(b);
    }
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    t ^ ((std::process::id() as u64) << 32)
}

/// This host's name, for `MPI_Get_processor_name`.
pub fn processor_name() -> String {
    nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_else(|_| "localhost".into())
}
