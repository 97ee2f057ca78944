//! The C test suite: compiles every `tests/c/*.c` program and runs it under an MPI launcher at
//! each rank count its directives list.
//!
//! Directives live in the comments at the top of each C file (before the first line of code),
//! one per `/* ... */` comment or one per line inside a block comment:
//!
//! | directive                  | meaning                                                          |
//! |----------------------------|------------------------------------------------------------------|
//! | `ranks: 1 2 4`             | rank counts to run at (default `1`); one trial per count          |
//! | `expect-exit: 3`           | the launcher must exit with this status (default 0; under `slurm`, 137 too: see `slurm_abort_status`) |
//! | `expect-exit: nonzero`     | the launcher must exit with any status but 0                     |
//! | `expect-stderr: text`      | stderr must contain `text` (repeatable)                          |
//! | `expect-stdout: text`      | stdout must contain `text` (repeatable)                          |
//! | `mpirun-args: --foo bar`   | extra launcher arguments, before the program                     |
//! | `env: K=V K2=V2`           | run once more with these variables set (repeatable: one variant each) |
//! | `timeout: 60`              | seconds before the job is killed and the trial fails (default 60) |
//! | `impl: ours abi-compat`    | implementations the test applies to (default all); others skip it |
//! | `stdin: text`              | feed `text` plus a newline to the launcher's stdin (default: none) |
//!
//! Trials are named `<file stem>::n<ranks>` and, for an `env:` variant, `::<K=V,...>` after it.
//!
//! The implementation under test comes from `FERROMPI_TEST_IMPL`:
//! - `ours` (default): `$FERROMPI_PREFIX/bin/mpicc`, `$FERROMPI_PREFIX/bin/mpirun -n N`
//!   (`FERROMPI_PREFIX` defaults to `<workspace>/build/install`);
//! - `abi-compat`: compiled with MPICH's `$FERROMPI_VENV/bin/mpicc_abi` (default
//!   `<workspace>/.venv`), run with our `mpirun` and `LD_LIBRARY_PATH=$FERROMPI_PREFIX/lib`;
//! - `mpich`: compiled with `mpicc_abi`, run with the venv's `mpiexec -n N` (validates the tests);
//! - `hydra`: compiled with our `mpicc`, run with the venv's `mpiexec -n N`, MPICH's launcher
//!   (our library bootstraps through its PMI-1 server on `PMI_FD`);
//! - `slurm`: compiled with our `mpicc`, run with Slurm's `srun --mpi=pmi2 -n N` (our library
//!   bootstraps through slurmd's PMI server on `PMI_FD`); needs a cluster that `srun` reaches
//!   (`SLURM_CONF`; `tests/slurm/with-slurm.sh` starts a private one). `FERROMPI_SRUN` names
//!   another `srun`. Each trial is its own job, oversubscribed (`--overcommit`) so that rank
//!   counts above the machine's cores still start;
//! - `mpich-lib`: compiled with `mpicc_abi` and run on MPICH's own library, started by our
//!   `mpirun` (MPICH bootstraps through our PMI-1 server).
//!
//! Other knobs: `FERROMPI_TEST_ONLY` (whitespace-separated name prefixes: only those programs),
//! `FERROMPI_TEST_MPIRUN_ARGS` (whitespace-separated launcher arguments added to
//! every trial, e.g. `-H h1:2,h2:2 --launch-agent tests/hosts/agent.sh` to run the suite
//! across test hosts), `FERROMPI_TEST_TIMEOUT_SCALE` (float, multiplies every timeout). Trials run one at
//! a time unless `--test-threads` is given: MPI jobs already oversubscribe small machines.

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Impl {
    Ours,
    AbiCompat,
    Mpich,
    Hydra,
    Slurm,
    MpichLib,
}

impl Impl {
    fn name(self) -> &'static str {
        match self {
            Impl::Ours => "ours",
            Impl::AbiCompat => "abi-compat",
            Impl::Mpich => "mpich",
            Impl::Hydra => "hydra",
            Impl::Slurm => "slurm",
            Impl::MpichLib => "mpich-lib",
        }
    }
    fn from_env() -> Result<Impl, String> {
        match std::env::var("FERROMPI_TEST_IMPL").as_deref() {
            Err(_) | Ok("") | Ok("ours") => Ok(Impl::Ours),
            Ok("abi-compat") => Ok(Impl::AbiCompat),
            Ok("mpich") => Ok(Impl::Mpich),
            Ok("hydra") => Ok(Impl::Hydra),
            Ok("slurm") => Ok(Impl::Slurm),
            Ok("mpich-lib") => Ok(Impl::MpichLib),
            Ok(other) => Err(format!(
                "FERROMPI_TEST_IMPL={other:?} is not one of: ours, abi-compat, mpich, hydra, slurm, mpich-lib"
            )),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum ExpectExit {
    Code(i32),
    NonZero,
}

#[derive(Clone, Debug)]
struct Spec {
    name: String,
    source: PathBuf,
    ranks: Vec<u32>,
    expect_exit: ExpectExit,
    expect_stderr: Vec<String>,
    expect_stdout: Vec<String>,
    mpirun_args: Vec<String>,
    env_variants: Vec<Vec<(String, String)>>,
    timeout: Duration,
    impls: Option<Vec<String>>,
    stdin: Option<String>,
}

/// Paths and commands of the implementation under test.
struct Setup {
    imp: Impl,
    /// The compiler wrapper.
    cc: PathBuf,
    /// The `mpi.h` it compiles against: a newer one invalidates the cached binaries.
    mpi_header: PathBuf,
    launcher: PathBuf,
    /// Launcher arguments before `-n N` (srun's PMI and oversubscription options).
    launcher_args: Vec<String>,
    /// `LD_LIBRARY_PATH` to set for the job, if any.
    ld_path: Option<PathBuf>,
    build_dir: PathBuf,
    c_dir: PathBuf,
    timeout_scale: f64,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn env_path(var: &str, default: PathBuf) -> PathBuf {
    match std::env::var_os(var) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => default,
    }
}

/// `target/<profile>/c_suite` next to this test binary (falls back to `<workspace>/target`).
fn target_dir() -> PathBuf {
    if let Ok(exe) = std::env::current_exe() {
        // target/<profile>/deps/c_suite-<hash>
        if let Some(profile_dir) = exe.parent().and_then(Path::parent) {
            return profile_dir.join("c_suite");
        }
    }
    workspace_root().join("target").join("c_suite")
}

/// `$FERROMPI_SRUN`, else `srun` on `PATH` (a path that does not exist when there is none, so
/// that `missing_tools` names it).
fn find_srun() -> PathBuf {
    if let Some(p) = std::env::var_os("FERROMPI_SRUN").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join("srun"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("/usr/bin/srun"))
}

fn setup() -> Result<Setup, String> {
    let imp = Impl::from_env()?;
    let root = workspace_root();
    let prefix = env_path("FERROMPI_PREFIX", root.join("build").join("install"));
    let venv = env_path("FERROMPI_VENV", root.join(".venv"));
    let mpi_header = match imp {
        Impl::Ours | Impl::Hydra | Impl::Slurm => prefix.join("include/mpi.h"),
        _ => venv.join("include/mpi_abi.h"),
    };
    let (cc, launcher, ld_path, key) = match imp {
        Impl::Ours => (
            prefix.join("bin/mpicc"),
            prefix.join("bin/mpirun"),
            None,
            "ours",
        ),
        Impl::AbiCompat => (
            venv.join("bin/mpicc_abi"),
            prefix.join("bin/mpirun"),
            Some(prefix.join("lib")),
            "mpicc_abi",
        ),
        Impl::Mpich => (
            venv.join("bin/mpicc_abi"),
            venv.join("bin/mpiexec"),
            None,
            "mpicc_abi",
        ),
        Impl::Hydra => (prefix.join("bin/mpicc"), venv.join("bin/mpiexec"), None, "ours"),
        Impl::Slurm => (prefix.join("bin/mpicc"), find_srun(), None, "ours"),
        Impl::MpichLib => (venv.join("bin/mpicc_abi"), prefix.join("bin/mpirun"), None, "mpicc_abi"),
    };
    let launcher_args = match imp {
        // --mpi=pmi2 whatever the cluster's MpiDefault (without it every task would be a
        // singleton); --overcommit so that N tasks start on fewer CPUs; --kill-on-bad-exit so
        // that a rank dying makes the step end, as mpirun and hydra end the job.
        Impl::Slurm => ["--mpi=pmi2", "--overcommit", "--kill-on-bad-exit=1", "--quiet"]
            .map(str::to_string)
            .to_vec(),
        _ => Vec::new(),
    };
    let timeout_scale = match std::env::var("FERROMPI_TEST_TIMEOUT_SCALE") {
        Ok(s) if !s.is_empty() => {
            s.parse::<f64>().ok().filter(|x| *x > 0.0).ok_or_else(|| {
                format!("FERROMPI_TEST_TIMEOUT_SCALE={s:?} is not a positive number")
            })?
        }
        _ => 1.0,
    };
    Ok(Setup {
        imp,
        cc,
        mpi_header,
        launcher,
        launcher_args,
        ld_path,
        build_dir: target_dir().join(key),
        c_dir: root.join("tests").join("c"),
        timeout_scale,
    })
}

impl Setup {
    /// A message telling the user how to get the missing tool, or None when all is there.
    fn missing_tools(&self) -> Option<String> {
        let mut msgs = Vec::new();
        let how_ours = "build and install ferrompi first: `make install` in the workspace root \
                        (or point FERROMPI_PREFIX at an install prefix)";
        let how_venv = "create the MPICH venv first: `python3 -m venv .venv && \
                        .venv/bin/pip install mpich==5.0.2` in the workspace root \
                        (or point FERROMPI_VENV at a venv holding bin/mpicc_abi)";
        let how_slurm = "install Slurm (`tools/ensure-deps.sh --with-slurm`) and run the suite \
                         inside a cluster: `tests/slurm/with-slurm.sh cargo test ...` \
                         (or point FERROMPI_SRUN at srun)";
        for (path, how) in [
            (
                &self.cc,
                if matches!(self.imp, Impl::Ours | Impl::Hydra | Impl::Slurm) {
                    how_ours
                } else {
                    how_venv
                },
            ),
            (
                &self.launcher,
                match self.imp {
                    Impl::Mpich | Impl::Hydra => how_venv,
                    Impl::Slurm => how_slurm,
                    _ => how_ours,
                },
            ),
        ] {
            if !path.is_file() {
                msgs.push(format!(
                    "FERROMPI_TEST_IMPL={}: {} does not exist; {how}",
                    self.imp.name(),
                    path.display()
                ));
            }
        }
        if msgs.is_empty() {
            None
        } else {
            Some(msgs.join("\n"))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Directives

const KEYS: &[&str] = &[
    "ranks",
    "expect-exit",
    "expect-stderr",
    "expect-stdout",
    "mpirun-args",
    "env",
    "timeout",
    "impl",
    "stdin",
];

/// The comment text before the first line of code.
fn header_comments(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        let t = rest.trim_start();
        if let Some(body) = t.strip_prefix("/*") {
            match body.find("*/") {
                Some(end) => {
                    out.push(body[..end].to_string());
                    rest = &body[end + 2..];
                }
                None => {
                    out.push(body.to_string());
                    break;
                }
            }
        } else if let Some(body) = t.strip_prefix("//") {
            let end = body.find('\n').unwrap_or(body.len());
            out.push(body[..end].to_string());
            rest = &body[end..];
        } else {
            break;
        }
    }
    out
}

fn parse_spec(path: &Path) -> Result<Spec, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let name = path.file_stem().unwrap().to_string_lossy().into_owned();
    let mut spec = Spec {
        name,
        source: path.to_path_buf(),
        ranks: vec![1],
        expect_exit: ExpectExit::Code(0),
        expect_stderr: vec![],
        expect_stdout: vec![],
        mpirun_args: vec![],
        env_variants: vec![],
        timeout: Duration::from_secs(60),
        impls: None,
        stdin: None,
    };
    let bad = |what: &str| format!("{}: bad directive {what:?}", path.display());
    for comment in header_comments(&text) {
        for line in comment.lines() {
            let line = line.trim().trim_start_matches('*').trim();
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let key = key.trim();
            if !KEYS.contains(&key) {
                continue;
            }
            let value = value.trim();
            match key {
                "ranks" => {
                    spec.ranks = value
                        .split_whitespace()
                        .map(|s| s.parse::<u32>().ok().filter(|n| *n > 0))
                        .collect::<Option<Vec<_>>>()
                        .filter(|v| !v.is_empty())
                        .ok_or_else(|| bad(line))?;
                }
                "expect-exit" => {
                    spec.expect_exit = if value == "nonzero" {
                        ExpectExit::NonZero
                    } else {
                        ExpectExit::Code(value.parse().map_err(|_| bad(line))?)
                    };
                }
                "expect-stderr" => spec.expect_stderr.push(value.to_string()),
                "expect-stdout" => spec.expect_stdout.push(value.to_string()),
                "mpirun-args" => spec
                    .mpirun_args
                    .extend(value.split_whitespace().map(str::to_string)),
                "env" => {
                    let vars = value
                        .split_whitespace()
                        .map(|kv| {
                            kv.split_once('=')
                                .map(|(k, v)| (k.to_string(), v.to_string()))
                        })
                        .collect::<Option<Vec<_>>>()
                        .filter(|v| !v.is_empty())
                        .ok_or_else(|| bad(line))?;
                    spec.env_variants.push(vars);
                }
                "timeout" => {
                    let secs: f64 = value.parse().map_err(|_| bad(line))?;
                    if secs.is_nan() || secs <= 0.0 {
                        return Err(bad(line));
                    }
                    spec.timeout = Duration::from_secs_f64(secs);
                }
                "impl" => {
                    let list: Vec<String> = value.split_whitespace().map(str::to_string).collect();
                    for i in &list {
                        if !["ours", "abi-compat", "mpich", "hydra", "slurm", "mpich-lib"].contains(&i.as_str()) {
                            return Err(bad(line));
                        }
                    }
                    spec.impls = Some(list);
                }
                "stdin" => spec.stdin = Some(value.to_string()),
                _ => unreachable!(),
            }
        }
    }
    Ok(spec)
}

// ---------------------------------------------------------------------------------------------
// Compilation (once per file, cached by modification time)

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

fn compile_lock(name: &str) -> Arc<Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<String, Arc<Mutex<()>>>>> = OnceLock::new();
    LOCKS
        .get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry(name.to_string())
        .or_default()
        .clone()
}

fn compile(setup: &Setup, spec: &Spec) -> Result<PathBuf, String> {
    let lock = compile_lock(&spec.name);
    let _guard = lock.lock().unwrap_or_else(|e| e.into_inner());
    std::fs::create_dir_all(&setup.build_dir)
        .map_err(|e| format!("cannot create {}: {e}", setup.build_dir.display()))?;
    let exe = setup.build_dir.join(&spec.name);
    let header = setup.c_dir.join("testutil.h");
    if let Some(built) = mtime(&exe) {
        let inputs = [
            mtime(&spec.source),
            mtime(&header),
            mtime(&setup.cc),
            mtime(&setup.mpi_header),
        ];
        if !inputs.iter().any(|t| matches!(t, Some(t) if *t > built)) {
            return Ok(exe);
        }
    }
    let tmp = setup
        .build_dir
        .join(format!(".{}.tmp{}", spec.name, std::process::id()));
    let out = Command::new(&setup.cc)
        .args(["-Wall", "-Werror", "-O1", "-pthread", "-I"])
        .arg(&setup.c_dir)
        .arg(&spec.source)
        .arg("-o")
        .arg(&tmp)
        .arg("-lm")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", setup.cc.display()))?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!(
            "compiling {} with {} failed ({}):\n{}{}",
            spec.source.display(),
            setup.cc.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    std::fs::rename(&tmp, &exe).map_err(|e| format!("cannot rename to {}: {e}", exe.display()))?;
    Ok(exe)
}

// ---------------------------------------------------------------------------------------------
// Running a job with a deadline

struct JobResult {
    status: Option<ExitStatus>,
    timed_out: bool,
    elapsed: Duration,
    stdout: String,
    stderr: String,
}

fn spawn_reader(mut r: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    rx
}

fn kill_group(pgid: u32, sig: libc::c_int) {
    // The launcher runs in its own process group (see `process_group(0)`), so this reaches it
    // and every rank that did not move itself elsewhere.
    unsafe {
        libc::kill(-(pgid as libc::pid_t), sig);
    }
}

fn run_job(mut cmd: Command, stdin: Option<&str>, timeout: Duration) -> Result<JobResult, String> {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    let pid = child.id();
    if let Some(text) = stdin {
        let mut w = child.stdin.take().unwrap();
        let text = format!("{text}\n");
        std::thread::spawn(move || {
            let _ = w.write_all(text.as_bytes());
            // dropping `w` closes the pipe: EOF for the reader
        });
    }
    let out_rx = spawn_reader(child.stdout.take().unwrap());
    let err_rx = spawn_reader(child.stderr.take().unwrap());
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) => {}
            Err(e) => return Err(format!("waiting for the launcher: {e}")),
        }
        if start.elapsed() >= timeout {
            timed_out = true;
            // Ask politely (the launcher tears its ranks down), then force.
            kill_group(pid, libc::SIGTERM);
            let grace = Instant::now();
            while grace.elapsed() < Duration::from_secs(3) {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            kill_group(pid, libc::SIGKILL);
            let _ = child.kill();
            break child.wait().ok();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    // A rank that outlived the launcher could hold our pipes open forever: reap the group.
    kill_group(pid, libc::SIGKILL);
    let collect = |rx: mpsc::Receiver<Vec<u8>>| {
        rx.recv_timeout(Duration::from_secs(5))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_else(|_| "<output still held open by a leftover process>".to_string())
    };
    Ok(JobResult {
        status,
        timed_out,
        elapsed,
        stdout: collect(out_rx),
        stderr: collect(err_rx),
    })
}

fn tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

fn describe(st: Option<ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match st {
        None => "unknown status".into(),
        Some(st) => match (st.code(), st.signal()) {
            (Some(c), _) => format!("exit {c}"),
            (None, Some(sig)) => format!("killed by signal {sig}"),
            _ => format!("{st}"),
        },
    }
}

/// srun cannot carry an MPI_Abort's error code: slurmd kills the step with SIGKILL and srun
/// returns the highest task status, 137 whenever a task was killed before it exited. So under
/// `slurm` an expected non-zero code `C` also accepts 137; the job must still end, non-zero.
fn slurm_abort_status(imp: Impl, want: i32, got: i32) -> bool {
    imp == Impl::Slurm && want != 0 && got == 128 + libc::SIGKILL
}

fn run_trial(
    setup: &Setup,
    spec: &Spec,
    ranks: u32,
    env: &[(String, String)],
) -> Result<Completion, Failed> {
    if let Some(impls) = &spec.impls {
        if !impls.iter().any(|i| i == setup.imp.name()) {
            return Ok(Completion::ignored_with(format!(
                "applies to impl {}, not {}",
                impls.join(" "),
                setup.imp.name()
            )));
        }
    }
    if let Some(msg) = setup.missing_tools() {
        return Err(msg.into());
    }
    let exe = compile(setup, spec)?;
    let mut cmd = Command::new(&setup.launcher);
    let extra = std::env::var("FERROMPI_TEST_MPIRUN_ARGS").unwrap_or_default();
    cmd.args(&setup.launcher_args).arg("-n")
        .arg(ranks.to_string())
        .args(extra.split_whitespace())
        .args(&spec.mpirun_args)
        .arg(&exe);
    cmd.current_dir(&setup.build_dir);
    if let Some(lib) = &setup.ld_path {
        let mut v = lib.as_os_str().to_owned();
        if let Some(old) = std::env::var_os("LD_LIBRARY_PATH").filter(|o| !o.is_empty()) {
            v.push(":");
            v.push(old);
        }
        cmd.env("LD_LIBRARY_PATH", v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let timeout = spec.timeout.mul_f64(setup.timeout_scale);
    let res = run_job(cmd, spec.stdin.as_deref(), timeout)?;

    let mut problems = Vec::new();
    if res.timed_out {
        problems.push(format!(
            "timed out after {:.1} s and was killed",
            timeout.as_secs_f64()
        ));
    } else {
        let code = res.status.and_then(|s| {
            use std::os::unix::process::ExitStatusExt;
            s.code().or_else(|| s.signal().map(|sig| 128 + sig))
        });
        let ok = match (&spec.expect_exit, code) {
            (ExpectExit::Code(want), Some(c)) => c == *want || slurm_abort_status(setup.imp, *want, c),
            (ExpectExit::NonZero, Some(c)) => c != 0,
            (_, None) => false,
        };
        if !ok {
            let want = match &spec.expect_exit {
                ExpectExit::Code(c) => format!("exit {c}"),
                ExpectExit::NonZero => "a non-zero exit".to_string(),
            };
            problems.push(format!("expected {want}, got {}", describe(res.status)));
        }
    }
    for s in &spec.expect_stderr {
        if !res.stderr.contains(s.as_str()) {
            problems.push(format!("stderr does not contain {s:?}"));
        }
    }
    for s in &spec.expect_stdout {
        if !res.stdout.contains(s.as_str()) {
            problems.push(format!("stdout does not contain {s:?}"));
        }
    }
    if problems.is_empty() {
        return Ok(Completion::Completed);
    }
    let env_desc: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    Err(format!(
        "{}\ncommand: {}{} {} -n {ranks} {} {} {}  ({:.2} s, impl {})\n--- stdout (tail) ---\n{}\n--- stderr (tail) ---\n{}",
        problems.join("\n"),
        if env_desc.is_empty() { String::new() } else { format!("{} ", env_desc.join(" ")) },
        setup.launcher.display(),
        setup.launcher_args.join(" "),
        std::env::var("FERROMPI_TEST_MPIRUN_ARGS").unwrap_or_default(),
        spec.mpirun_args.join(" "),
        exe.display(),
        res.elapsed.as_secs_f64(),
        setup.imp.name(),
        tail(&res.stdout, 4000),
        tail(&res.stderr, 4000),
    )
    .into())
}

fn main() {
    let mut args = Arguments::from_args();
    if args.test_threads.is_none() && std::env::var_os("RUST_TEST_THREADS").is_none() {
        args.test_threads = Some(1);
    }
    let setup = match setup() {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("c_suite: {e}");
            std::process::exit(2);
        }
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&setup.c_dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "c"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    // FERROMPI_TEST_ONLY="p2p_ coll_": only the programs whose names start so (libtest takes
    // one filter; a run over several families wants more).
    let only: Vec<String> = std::env::var("FERROMPI_TEST_ONLY").unwrap_or_default().split_whitespace().map(str::to_string).collect();
    files.retain(|f| {
        let stem = f.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        only.is_empty() || only.iter().any(|p| stem.starts_with(p.as_str()))
    });

    let mut trials = Vec::new();
    for file in files {
        let spec = match parse_spec(&file) {
            Ok(s) => Arc::new(s),
            Err(e) => {
                let name = file.file_stem().unwrap().to_string_lossy().into_owned();
                trials.push(Trial::test(format!("{name}::directives"), move || {
                    Err(e.into())
                }));
                continue;
            }
        };
        let mut variants: Vec<Vec<(String, String)>> = vec![vec![]];
        variants.extend(spec.env_variants.iter().cloned());
        for &n in &spec.ranks {
            for env in &variants {
                let mut name = format!("{}::n{n}", spec.name);
                if !env.is_empty() {
                    let kv: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    name.push_str(&format!("::{}", kv.join(",")));
                }
                let (setup, spec, env) = (setup.clone(), spec.clone(), env.clone());
                trials.push(Trial::ignorable_test(name, move || {
                    run_trial(&setup, &spec, n, &env)
                }));
            }
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
