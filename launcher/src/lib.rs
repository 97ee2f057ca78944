//! `mpirun` / `mpiexec`: starts a job on this host, serves PMI-1 and PMI-2 to its ranks,
//! forwards stdio and signals, and reports how the job ended.
//!
//! Layout: [`cli`] (options), [`spawn`] (starting one host's ranks: the seam for the per-host
//! daemon), [`job`] (the poll loop), [`output`] (whole-line forwarding), [`signals`].

pub mod cli;
pub mod job;
pub mod output;
pub mod signals;
pub mod spawn;

use clap::Parser;

/// Entry point of both binaries; returns the exit status.
pub fn main_entry() -> i32 {
    let args = cli::normalize_args(std::env::args());
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    if cli.np == 0 {
        eprintln!("mpirun: -n must be at least 1");
        return 2;
    }
    let timeout = cli.timeout.or_else(|| std::env::var("MPIEXEC_TIMEOUT").ok().and_then(|s| s.trim().parse().ok())).filter(|&t| t > 0);
    let spec = spawn::JobSpec {
        job_id: spawn::new_job_id(),
        size: cli.np,
        program: cli.command[0].clone(),
        args: cli.command[1..].to_vec(),
        env: cli::exports(&cli.export),
        hostname: spawn::hostname(),
    };
    let opts = job::RunOptions { tag_output: cli.tag_output, timeout: timeout.map(std::time::Duration::from_secs) };
    job::run(&spec, &opts)
}
