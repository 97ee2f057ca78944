//! Inside a Slurm allocation (`salloc`, `sbatch`): the allocation is mpirun's host list and
//! `srun` starts the per-host daemons (one step, one daemon per node), as Open MPI and MPICH do,
//! so that the ranks live inside the allocation and Slurm accounts, confines and cancels them.
//!
//! Slurm describes the allocation in the environment in compressed forms:
//! `SLURM_JOB_NODELIST=node[1-3,5],gpu07` (hostlist syntax) and `SLURM_TASKS_PER_NODE=2(x3),1`.

use crate::hosts::{HostError, HostSlots};

/// The allocation this process runs in, as hosts with the number of tasks Slurm gave each, or
/// `None` outside one. Needs `SLURM_JOB_ID` (or `SLURM_JOBID`) and `SLURM_JOB_NODELIST` (or
/// `SLURM_NODELIST`); slots come from `SLURM_TASKS_PER_NODE` (else `SLURM_JOB_CPUS_PER_NODE`,
/// else one per node).
pub fn allocation() -> Option<Result<Vec<HostSlots>, HostError>> {
    let var = |names: &[&str]| names.iter().find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()));
    var(&["SLURM_JOB_ID", "SLURM_JOBID"])?;
    let nodelist = var(&["SLURM_JOB_NODELIST", "SLURM_NODELIST"])?;
    let per_node = var(&["SLURM_TASKS_PER_NODE", "SLURM_JOB_CPUS_PER_NODE"]);
    Some(hosts_of(&nodelist, per_node.as_deref()))
}

/// Combine a node list and a per-node count list into hosts with slots.
pub fn hosts_of(nodelist: &str, per_node: Option<&str>) -> Result<Vec<HostSlots>, HostError> {
    let names = expand_nodelist(nodelist)?;
    let counts = match per_node {
        Some(p) => expand_counts(p)?,
        None => vec![1; names.len()],
    };
    if counts.len() != names.len() {
        return Err(HostError(format!(
            "Slurm's node list `{nodelist}` has {} nodes but its task counts `{}` describe {}",
            names.len(),
            per_node.unwrap_or(""),
            counts.len()
        )));
    }
    Ok(names.into_iter().zip(counts).map(|(name, slots)| HostSlots { name, slots }).collect())
}

/// Expand Slurm's hostlist syntax: comma-separated items, each a name with bracketed ranges
/// (`n[1-3,5]`, zero-padded `n[01-10]`, several groups as in `r[1-2]-n[1-2]`, expanded in order
/// with the last group varying fastest, as Slurm does).
pub fn expand_nodelist(list: &str) -> Result<Vec<String>, HostError> {
    let bad = |why: &str| HostError(format!("bad Slurm node list `{list}`: {why}"));
    let mut out = Vec::new();
    // Split on commas outside brackets.
    let mut items = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in list.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.checked_sub(1).ok_or_else(|| bad("unbalanced `]`"))?,
            ',' if depth == 0 => {
                items.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(bad("unbalanced `[`"));
    }
    items.push(&list[start..]);
    for item in items.into_iter().map(str::trim).filter(|s| !s.is_empty()) {
        // Names so far, each extended by the next literal part or range group.
        let mut names = vec![String::new()];
        let mut rest = item;
        while !rest.is_empty() {
            match rest.find('[') {
                None => {
                    names.iter_mut().for_each(|n| n.push_str(rest));
                    rest = "";
                }
                Some(open) => {
                    let lit = &rest[..open];
                    let close = rest[open..].find(']').map(|p| p + open).ok_or_else(|| bad("unbalanced `[`"))?;
                    let values = expand_ranges(&rest[open + 1..close]).map_err(|e| bad(&e))?;
                    names = names.iter().flat_map(|n| values.iter().map(move |v| format!("{n}{lit}{v}"))).collect();
                    if names.len() > 1_000_000 {
                        return Err(bad("too many nodes"));
                    }
                    rest = &rest[close + 1..];
                }
            }
        }
        out.extend(names);
    }
    if out.is_empty() {
        return Err(bad("no nodes"));
    }
    Ok(out)
}

/// `1-3,5,08-10` -> `1 2 3 5 08 09 10` (a range keeps the width of its lower bound).
fn expand_ranges(spec: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for part in spec.split(',').map(str::trim) {
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        let num = |s: &str| s.parse::<u64>().map_err(|_| format!("`{part}` is not a number or range"));
        let (a, b) = (num(lo)?, num(hi)?);
        if b < a || b - a > 1_000_000 {
            return Err(format!("bad range `{part}`"));
        }
        let width = lo.len();
        out.extend((a..=b).map(|v| format!("{v:0width$}")));
    }
    Ok(out)
}

/// Expand `SLURM_TASKS_PER_NODE`'s form: `2(x3),1` -> `2 2 2 1`.
pub fn expand_counts(spec: &str) -> Result<Vec<usize>, HostError> {
    let bad = || HostError(format!("bad Slurm task count list `{spec}`"));
    let mut out = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (n, rep) = match part.split_once('(') {
            Some((n, r)) => {
                let r = r.strip_suffix(')').and_then(|r| r.strip_prefix('x')).ok_or_else(bad)?;
                (n, r.parse::<usize>().map_err(|_| bad())?)
            }
            None => (part, 1),
        };
        let n: usize = n.parse().map_err(|_| bad())?;
        if rep > 1_000_000 {
            return Err(bad());
        }
        out.extend(std::iter::repeat(n).take(rep));
    }
    Ok(out)
}

/// Variable through which mpirun tells the daemons of its srun step which host index each node
/// is (`--ferrompi-daemon slurm ...`): the node names in host order, comma-separated.
pub const NODES_VAR: &str = "FERROMPI_SLURM_NODES";

/// The srun command line that starts one daemon on each of `nodes`: `--ntasks-per-node=1` over
/// exactly these nodes; `--mpi=none` (the daemon serves the ranks' PMI itself, and a PMI server
/// of Slurm's would leave PMI_* variables for the ranks to inherit); `--whole` and
/// `--cpu-bind=none` so that the ranks the daemon forks may use every CPU of the allocation on
/// their node (a step gets only the CPUs it asks for otherwise); `--overlap` so that other steps
/// of the job may run beside it; `--input=all` so that every daemon reads the job's secret from
/// mpirun; `--kill-on-bad-exit` so that one failing daemon ends the step.
pub fn srun_args(srun: &[String], nodes: &[String]) -> Vec<String> {
    let mut v = srun.to_vec();
    let n = nodes.len();
    v.extend(
        [
            format!("--nodes={n}"),
            format!("--ntasks={n}"),
            "--ntasks-per-node=1".into(),
            format!("--nodelist={}", nodes.join(",")),
            "--mpi=none".into(),
            "--whole".into(),
            "--cpu-bind=none".into(),
            "--overlap".into(),
            "--input=all".into(),
            "--kill-on-bad-exit=1".into(),
            "--quiet".into(),
        ]
        .into_iter(),
    );
    v
}

/// The host index of the daemon on this node: the position of `SLURMD_NODENAME` (the node's
/// Slurm name, set in every task) in [`NODES_VAR`].
pub fn daemon_index() -> Result<u32, String> {
    let me = std::env::var("SLURMD_NODENAME").map_err(|_| "SLURMD_NODENAME is not set (not started by srun?)".to_string())?;
    let nodes = std::env::var(NODES_VAR).map_err(|_| format!("{NODES_VAR} is not set"))?;
    nodes
        .split(',')
        .position(|n| n == me)
        .map(|i| i as u32)
        .ok_or_else(|| format!("node {me} is not one of the job's nodes ({nodes})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &str) -> Vec<String> {
        expand_nodelist(s).unwrap()
    }

    #[test]
    fn nodelists() {
        assert_eq!(names("node[1-3,5]"), ["node1", "node2", "node3", "node5"]);
        assert_eq!(names("n[01-02]"), ["n01", "n02"]);
        assert_eq!(names("vm"), ["vm"]);
        assert_eq!(names("a,b[8-10],c"), ["a", "b8", "b9", "b10", "c"]);
        assert_eq!(names("n[098-101]"), ["n098", "n099", "n100", "n101"]);
        assert_eq!(names("r[1-2]-n[1-2]"), ["r1-n1", "r1-n2", "r2-n1", "r2-n2"]);
        assert_eq!(names("gpu[7],cpu[1-2].x"), ["gpu7", "cpu1.x", "cpu2.x"]);
        for bad in ["n[1-", "n1]", "n[a-b]", "n[3-1]", "", "n[]"] {
            assert!(expand_nodelist(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn counts() {
        assert_eq!(expand_counts("2(x3),1").unwrap(), [2, 2, 2, 1]);
        assert_eq!(expand_counts("4").unwrap(), [4]);
        assert_eq!(expand_counts("1,2(x2)").unwrap(), [1, 2, 2]);
        assert!(expand_counts("2(3)").is_err());
        assert!(expand_counts("x").is_err());
        let h = hosts_of("n[1-3]", Some("2(x2),1")).unwrap();
        assert_eq!(h, vec![HostSlots { name: "n1".into(), slots: 2 }, HostSlots { name: "n2".into(), slots: 2 }, HostSlots { name: "n3".into(), slots: 1 }]);
        assert!(hosts_of("n[1-3]", Some("2")).is_err());
        assert_eq!(hosts_of("a,b", None).unwrap().iter().map(|h| h.slots).sum::<usize>(), 2);
    }

    #[test]
    fn srun_line() {
        let v = srun_args(&["srun".into()], &["n1".into(), "n2".into()]);
        assert_eq!(&v[..5], ["srun", "--nodes=2", "--ntasks=2", "--ntasks-per-node=1", "--nodelist=n1,n2"]);
    }
}
