//! `mpirun` / `mpiexec`: starts a job on this host or across hosts, serves PMI-1 and PMI-2 to
//! its ranks, forwards stdio and signals, and reports how the job ended.
//!
//! Layout: [`cli`] (options), [`spawn`] (starting one host's ranks), [`job`] (the single-host
//! poll loop), [`output`] (whole-line forwarding), [`signals`]; across hosts: [`hosts`] (host
//! lists and placement), [`head`] (mpirun's loop), [`daemon`] (`mpirun --ferrompi-daemon`, one
//! per host), [`proto`] (their TCP protocol).

pub mod cli;
pub mod daemon;
pub mod head;
pub mod hosts;
pub mod job;
pub mod output;
pub mod pmi_conn;
pub mod proto;
pub mod signals;
pub mod slurm;
pub mod spawn;

/// Argument that turns the binary into the per-host daemon (`mpirun --ferrompi-daemon ...`).
pub const DAEMON_FLAG: &str = "--ferrompi-daemon";

/// Variables forwarded to remote ranks without `-x` (the launch agent may not pass mpirun's
/// environment): the library's and libfabric's settings.
const FORWARD_PREFIXES: &[&str] = &["FERROMPI_", "FI_"];

use clap::Parser;

/// Entry point of both binaries; returns the exit status.
pub fn main_entry() -> i32 {
    let raw: Vec<String> = std::env::args().collect();
    if raw.get(1).map(String::as_str) == Some(DAEMON_FLAG) {
        return daemon::main(&raw[2..]);
    }
    let args = cli::normalize_args(raw);
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    if cli.np == Some(0) || cli.ppn == Some(0) {
        eprintln!("mpirun: -n and -N must be at least 1");
        return 2;
    }
    let timeout = cli.timeout.or_else(|| std::env::var("MPIEXEC_TIMEOUT").ok().and_then(|s| s.trim().parse().ok())).filter(|&t| t > 0);
    if !cli.hosts.is_empty() || cli.hostfile.is_some() {
        return run_on_hosts(&cli, timeout, None);
    }
    // In a Slurm allocation the job runs on its nodes, started through srun.
    match slurm::allocation() {
        Some(Ok(list)) => return run_on_hosts(&cli, timeout, Some(list)),
        Some(Err(e)) => {
            eprintln!("mpirun: {e}");
            return 2;
        }
        None => {}
    }
    let spec = spawn::JobSpec {
        job_id: spawn::new_job_id(),
        size: cli.np.or(cli.ppn).unwrap_or(1),
        program: cli.command[0].clone(),
        args: cli.command[1..].to_vec(),
        env: cli::exports(&cli.export),
        hostname: spawn::hostname(),
    };
    let opts = job::RunOptions { tag_output: cli.tag_output, timeout: timeout.map(std::time::Duration::from_secs) };
    job::run(&spec, &opts)
}

/// The job on hosts: `-H`/`--hostfile`, or `allocation` (a Slurm allocation's nodes).
fn run_on_hosts(cli: &cli::Cli, timeout: Option<u64>, allocation: Option<Vec<hosts::HostSlots>>) -> i32 {
    let in_slurm = allocation.is_some();
    let mut list = match allocation.map(Ok).unwrap_or_else(|| hosts::parse_host_list(&cli.hosts)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("mpirun: -H: {e}");
            return 2;
        }
    };
    if let Some(path) = &cli.hostfile {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("mpirun: --hostfile {}: {e}", path.display());
                return 2;
            }
        };
        match hosts::parse_hostfile(&text) {
            Ok(l) => {
                for h in l {
                    match list.iter_mut().find(|x| x.name == h.name) {
                        Some(x) => x.slots += h.slots,
                        None => list.push(h),
                    }
                }
            }
            Err(e) => {
                eprintln!("mpirun: --hostfile {}: {e}", path.display());
                return 2;
            }
        }
    }
    if list.is_empty() {
        eprintln!("mpirun: the host list is empty");
        return 2;
    }
    let total: usize = list.iter().map(|h| cli.ppn.unwrap_or(h.slots)).sum();
    let np = cli.np.unwrap_or(total.max(1));
    let placement = hosts::place(&list, np, cli.ppn, cli.map_by);
    // srun starts the daemons in an allocation unless another agent is named.
    // FERROMPI_SRUN names the srun to use (tests; a wrapper).
    let srun = in_slurm && cli.launch_agent.is_none();
    let agent_line = match &cli.launch_agent {
        Some(a) => a.clone(),
        None if srun => std::env::var("FERROMPI_SRUN").ok().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| "srun".into()),
        None => "ssh".into(),
    };
    let agent: Vec<String> = agent_line.split_whitespace().map(str::to_string).collect();
    if agent.is_empty() {
        eprintln!("mpirun: --launch-agent is empty");
        return 2;
    }
    let mut env = cli::exports(&cli.export);
    for (k, v) in std::env::vars() {
        if FORWARD_PREFIXES.iter().any(|p| k.starts_with(p)) && !env.iter().any(|(e, _)| *e == k) {
            env.insert(0, (k, v));
        }
    }
    let job = proto::JobMsg {
        job_id: spawn::new_job_id(),
        size: np as u32,
        universe_size: np as u32,
        program: cli.command[0].clone(),
        args: cli.command[1..].to_vec(),
        env,
        cwd: std::env::current_dir().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default(),
        process_mapping: hosts::process_mapping(&placement),
        ranks: Vec::new(),
        stdin: false,
    };
    let opts = head::HostOptions {
        tag_output: cli.tag_output,
        timeout: timeout.map(std::time::Duration::from_secs),
        agent,
        srun,
        head_address: cli.head_address.clone(),
        launch_timeout: std::time::Duration::from_secs(cli.launch_timeout.max(1)),
    };
    head::run(job, &placement, &opts)
}
