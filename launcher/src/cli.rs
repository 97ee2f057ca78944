//! Command line (clap derive).

use clap::Parser;

/// mpirun / mpiexec: start an MPI job on this host, or across hosts (-H, --hostfile).
///
/// Inside a Slurm allocation (salloc, sbatch) without -H or --hostfile, the allocation's nodes
/// are the hosts (-n defaults to its task count) and srun starts mpirun's daemon on each of
/// them, unless --launch-agent names another agent.
///
/// Output: each rank's stdout and stderr go to mpirun's stdout and stderr as whole lines (lines
/// of different ranks never interleave). With --tag-output each line is prefixed with
/// `[R] ` where R is the rank. stdin goes to rank 0; other ranks read /dev/null.
///
/// Exit status: 0 if every rank exits 0; otherwise the first failing rank's exit code, 128+N if
/// it was killed by signal N, or the MPI_Abort error code.
#[derive(Parser, Debug, Clone)]
#[command(name = "mpirun", version)]
pub struct Cli {
    /// Number of ranks (also -np). Default: 1 on this host; with hosts, every slot (or
    /// hosts x --ppn).
    #[arg(short = 'n', long = "np", value_name = "N")]
    pub np: Option<usize>,

    /// Hosts to run on: `host[:slots],...` (a host without a count has one slot; repeatable).
    #[arg(short = 'H', long = "host", value_name = "HOST[:SLOTS],...")]
    pub hosts: Vec<String>,

    /// File of hosts, Open MPI's format: `host [slots=N]` per line, `#` comments.
    #[arg(long, value_name = "FILE")]
    pub hostfile: Option<std::path::PathBuf>,

    /// Ranks per host (overrides the hosts' slot counts).
    #[arg(short = 'N', long = "ppn", value_name = "N")]
    pub ppn: Option<usize>,

    /// Rank placement: `slot` (fill each host's slots in order; default) or `node` (round-robin).
    #[arg(long, value_name = "POLICY", default_value = "slot")]
    pub map_by: crate::hosts::MapBy,

    /// Command that starts the per-host daemon: run as `CMD HOST COMMAND...` (like ssh).
    /// Default: ssh, or srun inside a Slurm allocation.
    #[arg(long, value_name = "CMD")]
    pub launch_agent: Option<String>,

    /// Address the hosts' daemons connect back to (default: per host, the source address of
    /// the route to it, then every other local address).
    #[arg(long, value_name = "ADDR")]
    pub head_address: Option<String>,

    /// Seconds a host's daemon may take to connect before the job is ended.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub launch_timeout: u64,

    /// Export VAR (with its current value) or set VAR=VAL in every rank; repeatable.
    #[arg(short = 'x', value_name = "VAR[=VAL]")]
    pub export: Vec<String>,

    /// Prefix every output line with `[R] ` (R = rank).
    #[arg(long)]
    pub tag_output: bool,

    /// Kill the job after SECS seconds (exit status 124). Also MPIEXEC_TIMEOUT.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,

    /// Accepted for Open MPI compatibility (any rank count works on any host).
    #[arg(long)]
    pub oversubscribe: bool,

    /// Accepted for Open MPI compatibility.
    #[arg(long)]
    pub allow_run_as_root: bool,

    /// Program to run, then its arguments (`--` before the program is optional).
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true, value_name = "PROGRAM")]
    pub command: Vec<String>,
}

/// Rewrite Open MPI / hydra single-dash long options (`-np 4`) into what clap understands,
/// looking only at mpirun's own options (before the program).
pub fn normalize_args<I: IntoIterator<Item = String>>(args: I) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut it = args.into_iter();
    if let Some(argv0) = it.next() {
        out.push(argv0);
    }
    let mut in_options = true;
    let mut takes_value = false;
    for a in it {
        if !in_options {
            out.push(a);
            continue;
        }
        if takes_value {
            takes_value = false;
            out.push(a);
            continue;
        }
        let a = match a.as_str() {
            "-np" => "-n".to_string(),
            "-tag-output" => "--tag-output".to_string(),
            "-oversubscribe" => "--oversubscribe".to_string(),
            "-allow-run-as-root" => "--allow-run-as-root".to_string(),
            "-timeout" => "--timeout".to_string(),
            "-host" | "--hosts" | "-hosts" => "--host".to_string(),
            "-hostfile" | "-machinefile" | "--machinefile" | "-f" => "--hostfile".to_string(),
            "-ppn" | "-npernode" | "--npernode" => "--ppn".to_string(),
            "-map-by" => "--map-by".to_string(),
            "-launch-agent" | "--launcher-exec" | "-launcher-exec" => "--launch-agent".to_string(),
            "-head-address" => "--head-address".to_string(),
            _ => a,
        };
        match a.as_str() {
            "--" => in_options = false,
            "-n" | "--np" | "-x" | "--timeout" | "-H" | "--host" | "--hostfile" | "-N" | "--ppn" | "--map-by" | "--launch-agent"
            | "--head-address" | "--launch-timeout" => takes_value = true,
            s if s.starts_with('-') => {}
            _ => in_options = false,
        }
        out.push(a);
    }
    out
}

/// Parse `-x` entries into (name, value) pairs; `VAR` alone takes the current value (skipped
/// if unset).
pub fn exports(list: &[String]) -> Vec<(String, String)> {
    list.iter()
        .filter_map(|e| match e.split_once('=') {
            Some((k, v)) => Some((k.to_string(), v.to_string())),
            None => std::env::var(e).ok().map(|v| (e.clone(), v)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(normalize_args(args.iter().map(|s| s.to_string()))).unwrap()
    }

    #[test]
    fn np_and_program_args() {
        let c = parse(&["mpirun", "-np", "4", "-x", "A=1", "--tag-output", "prog", "-np", "--x", "-n"]);
        assert_eq!(c.np, Some(4));
        assert_eq!(c.export, vec!["A=1"]);
        assert!(c.tag_output);
        assert_eq!(c.command, vec!["prog", "-np", "--x", "-n"]);
        let c = parse(&["mpiexec", "-n", "2", "--oversubscribe", "--allow-run-as-root", "--", "ls", "-l"]);
        assert_eq!((c.np, c.command.clone()), (Some(2), vec!["ls".to_string(), "-l".to_string()]));
        let c = parse(&["mpirun", "--np", "3", "-x", "B", "-x", "C=2", "true"]);
        assert_eq!(c.np, Some(3));
        assert_eq!(c.export.len(), 2);
        let c = parse(&["mpirun", "true"]);
        assert_eq!(c.np, None);
        assert!(Cli::try_parse_from(["mpirun", "-n", "2"]).is_err());
        let c = parse(&["mpirun", "-host", "a:2,b", "-H", "c", "-N", "2", "--map-by", "node", "--launch-agent", "ssh -p 22", "-hostfile", "f", "prog", "-H", "x"]);
        assert_eq!(c.hosts, vec!["a:2,b", "c"]);
        assert_eq!(c.ppn, Some(2));
        assert_eq!(c.map_by, crate::hosts::MapBy::Node);
        assert_eq!(c.launch_agent.as_deref(), Some("ssh -p 22"));
        assert_eq!(c.hostfile.as_deref(), Some(std::path::Path::new("f")));
        assert_eq!(c.command, vec!["prog", "-H", "x"]);
    }
}
