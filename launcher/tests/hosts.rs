//! Multi-host jobs on test hosts made of network namespaces (`tests/hosts/netns.sh`), launched
//! through `tests/hosts/agent.sh`. Needs root and `ip netns`; otherwise every test is skipped
//! with a message. The namespaces are created once, and removed at the end (also when tests
//! fail) unless they existed before.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};

const MPIRUN: &str = env!("CARGO_BIN_EXE_mpirun");
const CLIENT: &str = env!("CARGO_BIN_EXE_ferrompi-pmi-testclient");
/// No job may take longer than this.
const LIMIT: Duration = Duration::from_secs(40);

fn hosts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/hosts")
}

fn agent() -> String {
    hosts_dir().join("agent.sh").to_string_lossy().into_owned()
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// Run mpirun; `during(pid)` runs while it does (on this thread, after the start).
fn mpirun_with(args: &[&str], stdin: Option<String>, during: Option<Box<dyn FnOnce(u32)>>) -> Out {
    let start = Instant::now();
    let mut cmd = Command::new(MPIRUN);
    cmd.args(args).stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() }).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.env_remove("FERROMPI_PMI");
    let mut child = cmd.spawn().expect("spawn mpirun");
    if let Some(text) = stdin {
        let mut w = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            let _ = w.write_all(text.as_bytes());
        });
    }
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t1 = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = so.read_to_string(&mut s);
        s
    });
    let t2 = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = se.read_to_string(&mut s);
        s
    });
    if let Some(f) = during {
        f(child.id());
    }
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("mpirun {args:?} did not finish within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = start.elapsed();
    let out = Out { code: status.code().unwrap_or(-1), stdout: t1.join().unwrap(), stderr: t2.join().unwrap(), elapsed };
    eprintln!("mpirun {args:?} -> {} in {:?}\n--- stdout\n{}--- stderr\n{}", out.code, out.elapsed, out.stdout, out.stderr);
    out
}

/// mpirun with the netns agent on the given hosts.
fn on_hosts(hosts: &str, rest: &[&str]) -> Out {
    let agent = agent();
    let mut args = vec!["-H", hosts, "--launch-agent", agent.as_str()];
    args.extend_from_slice(rest);
    mpirun_with(&args, None, None)
}

fn sorted_lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_string).collect();
    v.sort();
    v
}

fn check(cond: bool, what: impl FnOnce() -> String) -> Result<(), Failed> {
    if cond {
        Ok(())
    } else {
        Err(what().into())
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ferrompi-hosts-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A launch agent script in `dir`: `body` runs with the host in $1 (then `shift`ed away is up
/// to the body) and `$AGENT` set to the netns agent.
fn script(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\nAGENT='{}'\n{body}\n", agent())).unwrap();
    Command::new("chmod").arg("+x").arg(&p).status().unwrap();
    p.to_string_lossy().into_owned()
}

fn pid_alive(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rsplit(')').next().unwrap_or("").trim().chars().next();
    !stat.is_empty() && state != Some('Z')
}

// ---- tests ----

fn exchange(proto: &str) -> Result<(), Failed> {
    let agent = agent();
    let env = format!("FERROMPI_PMI={proto}");
    let o = mpirun_with(
        &["-H", "h1:2,h2:2", "--launch-agent", &agent, "-x", &env, CLIENT, "init", "info", "env:PMI_HOSTNAME", "exchange", "long", "mapping", "finalize"],
        None,
        None,
    );
    check(o.code == 0, || format!("exit {}", o.code))?;
    let lines: Vec<&str> = o.stdout.lines().collect();
    let jobid = lines.iter().find_map(|l| l.split("jobid=").nth(1)).unwrap().split(' ').next().unwrap().to_string();
    for r in 0..4 {
        let (local, host) = (r % 2, if r < 2 { "h1" } else { "h2" });
        check(lines.contains(&format!("rank={r} size=4 appnum=0 jobid={jobid} local={local}/2").as_str()), || format!("rank {r} info: {lines:?}"))?;
        check(lines.contains(&format!("rank {r} exchanged 4").as_str()), || format!("rank {r} exchange"))?;
        check(lines.contains(&format!("rank {r} long ok").as_str()), || format!("rank {r} long"))?;
        let _ = host;
    }
    check(lines.iter().filter(|l| **l == "PMI_HOSTNAME=h1").count() == 2, || "two ranks on h1".into())?;
    check(lines.iter().filter(|l| **l == "PMI_HOSTNAME=h2").count() == 2, || "two ranks on h2".into())?;
    check(lines.iter().filter(|l| **l == "mapping=(vector,(0,2,2))").count() == 4, || "process mapping".into())
}

fn map_by_node_and_hostfile() -> Result<(), Failed> {
    let o = on_hosts("h1,h2", &["-n", "4", "--map-by", "node", "sh", "-c", "echo $PMI_RANK $(hostname) $MPI_LOCALRANKID/$MPI_LOCALNRANKS"]);
    check(o.code == 0, || format!("exit {}", o.code))?;
    check(sorted_lines(&o.stdout) == ["0 h1 0/2", "1 h2 0/2", "2 h1 1/2", "3 h2 1/2"], || o.stdout.clone())?;
    let o = on_hosts("h1,h2", &["-n", "4", "--map-by", "node", CLIENT, "init", "mapping", "finalize"]);
    check(o.stdout.lines().filter(|l| *l == "mapping=(vector,(0,2,1),(0,2,1))").count() == 4, || o.stdout.clone())?;
    // Hostfile (comments, blank lines), -N overrides its slots, no -n: hosts x N ranks.
    let dir = temp_dir("hostfile");
    let hf = dir.join("hosts");
    std::fs::write(&hf, "# test hosts\n\nh2 slots=4   # second first\nh1 slots=1\n").unwrap();
    let agent = agent();
    let o = mpirun_with(&["--hostfile", hf.to_str().unwrap(), "-N", "1", "--launch-agent", &agent, "sh", "-c", "echo $PMI_RANK $(hostname) $PMI_SIZE"], None, None);
    check(o.code == 0, || format!("exit {}", o.code))?;
    check(sorted_lines(&o.stdout) == ["0 h2 2", "1 h1 2"], || o.stdout.clone())?;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

fn exit_codes() -> Result<(), Failed> {
    let o = on_hosts("h1:2,h2:2", &["sh", "-c", "if [ $PMI_RANK = 3 ]; then exit 5; fi; exec sleep 30"]);
    check(o.code == 5, || format!("exit {}", o.code))?;
    check(o.stderr.contains("rank 3 (on h2) exited with code 5"), || o.stderr.clone())?;
    check(o.elapsed < Duration::from_secs(10), || format!("{:?}", o.elapsed))?;
    let o = on_hosts("h1:2,h2:2", &[CLIENT, "@2:kill:9", "sleep:30000"]);
    check(o.code == 128 + 9, || format!("exit {}", o.code))?;
    check(o.stderr.contains("rank 2") && o.stderr.contains("on h2") && o.stderr.contains("SIGKILL"), || o.stderr.clone())?;
    let o = on_hosts("h1:2,h2:2", &[CLIENT, "init", "@3:abort:7:bad thing", "sleep:30000"]);
    check(o.code == 7, || format!("exit {}", o.code))?;
    check(o.stderr.contains("rank 3 called MPI_Abort with error code 7: bad thing"), || o.stderr.clone())?;
    check(o.elapsed < Duration::from_secs(10), || format!("{:?}", o.elapsed))?;
    // A rank that leaves without finalizing while the others wait in a fence.
    let o = on_hosts("h1:1,h2:1", &[CLIENT, "init", "@1:exit:0", "fence", "finalize"]);
    check(o.code == 1 && o.stderr.contains("rank 1 (on h2) exited without finalizing"), || o.stderr.clone())
}

fn output_and_tags() -> Result<(), Failed> {
    let o = on_hosts("h1:2,h2:2", &["--tag-output", "sh", "-c", "echo out $PMI_RANK $(hostname); echo err $PMI_RANK >&2"]);
    check(o.code == 0, || format!("exit {}", o.code))?;
    check(sorted_lines(&o.stdout) == ["[0] out 0 h1", "[1] out 1 h1", "[2] out 2 h2", "[3] out 3 h2"], || o.stdout.clone())?;
    check(sorted_lines(&o.stderr) == ["[0] err 0", "[1] err 1", "[2] err 2", "[3] err 3"], || o.stderr.clone())?;
    // Many long lines from every host: whole lines only.
    let per = 300;
    let o = on_hosts("h1:2,h2:2", &[CLIENT, &format!("lines:{per}")]);
    let lines: Vec<&str> = o.stdout.lines().collect();
    check(lines.len() == 4 * per, || format!("{} lines", lines.len()))?;
    for l in lines {
        let r: usize = l.split(' ').nth(1).unwrap().parse().unwrap();
        check(l.ends_with(&format!(" {}", "x".repeat(200 + r * 10))), || format!("mixed line: {l}"))?;
    }
    // stdin goes to rank 0 (first host), partial last line flushed.
    let text = "hello\nworld\n".repeat(20000);
    let agent = agent();
    let o = mpirun_with(&["-H", "h2:1,h1:1", "--launch-agent", &agent, CLIENT, "cat"], Some(text.clone()), None);
    check(o.code == 0 && o.stdout == text, || format!("stdin: {} bytes of {}", o.stdout.len(), text.len()))?;
    let o = on_hosts("h1,h2", &[CLIENT, "partial:xyz"]);
    check(o.stdout.matches("xyz").count() == 2, || o.stdout.clone())
}

fn unreachable_host() -> Result<(), Failed> {
    // No namespace h9: the agent fails.
    let o = on_hosts("h1:2,h9:2", &["sleep", "30"]);
    check(o.code != 0, || "exit 0".into())?;
    check(o.stderr.contains("host h9 cannot be reached"), || o.stderr.clone())?;
    check(o.elapsed < Duration::from_secs(10), || format!("{:?}", o.elapsed))?;
    // An agent that does nothing: the daemon never connects.
    let dir = temp_dir("noconnect");
    let a = script(&dir, "agent", "exec sleep 60");
    let o = mpirun_with(&["-H", "h1,h2", "--launch-agent", &a, "--launch-timeout", "2", "true"], None, None);
    check(o.code != 0, || "exit 0".into())?;
    check(o.stderr.contains("host h1: its daemon did not connect within 2 s"), || o.stderr.clone())?;
    check(o.elapsed < Duration::from_secs(10), || format!("{:?}", o.elapsed))?;
    // An agent that fails at once for h1 only (h2's never connects), so that h1 is the host
    // the job names: with both agents failing, which exit is reaped first is a race.
    let fails = script(&dir, "fails-for-h1", "[ \"$1\" = h1 ] && exit 1\nexec sleep 60");
    let o = mpirun_with(&["-H", "h1,h2", "--launch-agent", &fails, "true"], None, None);
    check(o.code != 0 && o.stderr.contains("host h1 cannot be reached"), || o.stderr.clone())?;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

fn daemon_killed() -> Result<(), Failed> {
    let dir = temp_dir("killed");
    let pidfile = dir.join("h2.pid");
    // The agent chain execs into the daemon, so this shell's pid is the daemon's.
    let a = script(&dir, "agent", &format!("[ \"$1\" = h2 ] && echo $$ > '{}'\nexec \"$AGENT\" \"$@\"", pidfile.display()));
    let pf = pidfile.clone();
    let o = mpirun_with(
        &["-H", "h1:2,h2:2", "--launch-agent", &a, "sh", "-c", "echo pid $$; exec sleep 30"],
        None,
        Some(Box::new(move |_| {
            let t = Instant::now();
            let pid = loop {
                if let Some(p) = std::fs::read_to_string(&pf).ok().and_then(|s| s.trim().parse::<i32>().ok()) {
                    break p;
                }
                assert!(t.elapsed() < Duration::from_secs(10), "no daemon pid");
                std::thread::sleep(Duration::from_millis(20));
            };
            std::thread::sleep(Duration::from_millis(1000));
            unsafe { libc::kill(pid, libc::SIGKILL) };
        })),
    );
    check(o.code != 0, || "exit 0".into())?;
    check(o.stderr.contains("host h2: its daemon died"), || o.stderr.clone())?;
    check(o.elapsed < Duration::from_secs(12), || format!("{:?}", o.elapsed))?;
    let pids: Vec<i32> = o.stdout.lines().filter_map(|l| l.strip_prefix("pid ")).map(|p| p.parse().unwrap()).collect();
    check(pids.len() == 4, || format!("rank pids {pids:?}"))?;
    std::thread::sleep(Duration::from_millis(300));
    for p in pids {
        check(!pid_alive(p), || format!("rank process {p} still alive"))?;
    }
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

fn secret_not_visible() -> Result<(), Failed> {
    let dir = temp_dir("secret");
    let tokfile = dir.join("token");
    let a = script(&dir, "agent", &format!("IFS= read -r tok\nprintf '%s\\n' \"$tok\" > '{}'\nprintf '%s\\n' \"$tok\" | exec \"$AGENT\" \"$@\"", tokfile.display()));
    let tf = tokfile.clone();
    let found = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let f2 = found.clone();
    let o = mpirun_with(
        &["-H", "h1:2,h2:2", "--launch-agent", &a, "sh", "-c", "echo started; sleep 2"],
        None,
        Some(Box::new(move |_| {
            let t = Instant::now();
            let tok = loop {
                if let Some(s) = std::fs::read_to_string(&tf).ok().filter(|s| s.ends_with('\n')) {
                    break s.trim().to_string();
                }
                assert!(t.elapsed() < Duration::from_secs(10), "no token");
                std::thread::sleep(Duration::from_millis(20));
            };
            assert_eq!(tok.len(), 64);
            std::thread::sleep(Duration::from_millis(1000));
            let mut procs = 0;
            for e in std::fs::read_dir("/proc").unwrap().flatten() {
                if !e.file_name().to_string_lossy().chars().all(|c| c.is_ascii_digit()) {
                    continue;
                }
                procs += 1;
                for f in ["cmdline", "environ"] {
                    if let Ok(b) = std::fs::read(e.path().join(f)) {
                        if String::from_utf8_lossy(&b).contains(&tok) {
                            f2.lock().unwrap().push(format!("{}/{f}", e.path().display()));
                        }
                    }
                }
            }
            assert!(procs > 5);
        })),
    );
    check(o.code == 0 && o.stdout.matches("started").count() == 4, || format!("exit {}", o.code))?;
    let found = found.lock().unwrap().clone();
    check(found.is_empty(), || format!("the secret is visible in {found:?}"))?;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

fn wrong_secret_refused() -> Result<(), Failed> {
    let dir = temp_dir("wrong");
    // First a daemon with a wrong secret (refused, exits 1), then the real one.
    let a = script(&dir, "agent", "IFS= read -r tok\necho \"x$tok\" | \"$AGENT\" \"$@\"\necho \"wrong daemon exit $?\" >&2\nprintf '%s\\n' \"$tok\" | exec \"$AGENT\" \"$@\"");
    let o = mpirun_with(&["-H", "h1,h2", "--launch-agent", &a, "sh", "-c", "echo ok $PMI_RANK"], None, None);
    check(o.code == 0, || format!("exit {}", o.code))?;
    check(o.stderr.matches("refused a connection from 198.18.").count() == 2 && o.stderr.contains("wrong secret"), || o.stderr.clone())?;
    check(o.stderr.contains("wrong daemon exit 1"), || o.stderr.clone())?;
    check(sorted_lines(&o.stdout) == ["ok 0", "ok 1"], || o.stdout.clone())?;
    // Only a wrong secret: the job ends naming the host.
    let b = script(&dir, "bad", "IFS= read -r tok\necho \"x$tok\" | exec \"$AGENT\" \"$@\"");
    let o = mpirun_with(&["-H", "h1,h2", "--launch-agent", &b, "true"], None, None);
    check(o.code != 0 && o.stderr.contains("cannot be reached"), || o.stderr.clone())?;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

fn raw_connection_refused() -> Result<(), Failed> {
    let dir = temp_dir("raw");
    let argfile = dir.join("args");
    // Record the daemon's arguments (addresses), wait, then start the daemon.
    let a = script(&dir, "agent", &format!("echo \"$@\" > '{}.tmp'; mv '{0}.tmp' '{0}'\nsleep 1\nexec \"$AGENT\" \"$@\"", argfile.display()));
    let af = argfile.clone();
    let result = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let r2 = result.clone();
    let o = mpirun_with(
        &["-H", "h1", "--launch-agent", &a, "sh", "-c", "echo ran"],
        None,
        Some(Box::new(move |_| {
            let t = Instant::now();
            let args = loop {
                if let Ok(s) = std::fs::read_to_string(&af) {
                    break s;
                }
                assert!(t.elapsed() < Duration::from_secs(10), "no args");
                std::thread::sleep(Duration::from_millis(10));
            };
            let port = args.split_whitespace().last().unwrap().rsplit(':').next().unwrap().to_string();
            let mut s = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            // A hello frame with a wrong secret: length, tag 1, version 1, token "nope", host 0, "x".
            let mut body = vec![1u8];
            body.extend_from_slice(&1u32.to_le_bytes());
            body.extend_from_slice(&4u32.to_le_bytes());
            body.extend_from_slice(b"nope");
            body.extend_from_slice(&0u32.to_le_bytes());
            body.extend_from_slice(&1u32.to_le_bytes());
            body.extend_from_slice(b"x");
            let mut frame = (body.len() as u32).to_le_bytes().to_vec();
            frame.extend(body);
            s.write_all(&frame).unwrap();
            let mut buf = [0u8; 64];
            *r2.lock().unwrap() = match s.read(&mut buf) {
                Ok(0) => "closed".into(),
                Ok(n) => format!("got {n} bytes"),
                Err(e) => format!("error {e}"),
            };
        })),
    );
    let result = result.lock().unwrap().clone();
    check(result == "closed" || result.contains("reset"), || format!("wrong-secret connection: {result}"))?;
    check(o.stderr.contains("wrong secret"), || o.stderr.clone())?;
    // The job itself was not disturbed.
    check(o.code == 0 && o.stdout == "ran\n", || format!("exit {}", o.code))?;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

fn signals_and_timeout() -> Result<(), Failed> {
    let agent = agent();
    let o = mpirun_with(
        &["-H", "h1:2,h2:2", "--launch-agent", &agent, "sh", "-c", "echo pid $$; exec sleep 30"],
        None,
        Some(Box::new(|pid| {
            std::thread::sleep(Duration::from_millis(1500));
            unsafe { libc::kill(pid as i32, libc::SIGINT) };
        })),
    );
    check(o.code == 128 + libc::SIGINT, || format!("exit {}", o.code))?;
    check(o.elapsed < Duration::from_secs(10), || format!("{:?}", o.elapsed))?;
    for p in o.stdout.lines().filter_map(|l| l.strip_prefix("pid ")).map(|p| p.parse::<i32>().unwrap()) {
        check(!pid_alive(p), || format!("rank process {p} still alive"))?;
    }
    // mpirun itself killed: every daemon sees the connection close and ends its ranks.
    let o = mpirun_with(
        &["-H", "h1:2,h2:2", "--launch-agent", &agent, "sh", "-c", "echo pid $$; exec sleep 30"],
        None,
        Some(Box::new(|pid| {
            std::thread::sleep(Duration::from_millis(1500));
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        })),
    );
    let pids: Vec<i32> = o.stdout.lines().filter_map(|l| l.strip_prefix("pid ")).map(|p| p.parse().unwrap()).collect();
    check(pids.len() == 4, || format!("rank pids {pids:?}"))?;
    let t = Instant::now();
    while pids.iter().any(|&p| pid_alive(p)) && t.elapsed() < Duration::from_secs(6) {
        std::thread::sleep(Duration::from_millis(50));
    }
    for p in pids {
        check(!pid_alive(p), || format!("rank process {p} outlived mpirun"))?;
    }
    let o = on_hosts("h1,h2", &["--timeout", "1", "sleep", "30"]);
    check(o.code == 124, || format!("exit {}", o.code))?;
    check(o.elapsed < Duration::from_secs(8), || format!("{:?}", o.elapsed))
}

type TestFn = fn() -> Result<(), Failed>;

fn main() {
    let args = Arguments::from_args();
    let tests: Vec<(&str, TestFn)> = vec![
        ("two_hosts_pmi1_exchange", || exchange("1")),
        ("two_hosts_pmi2_exchange", || exchange("2")),
        ("map_by_node_and_hostfile", map_by_node_and_hostfile),
        ("exit_codes_across_hosts", exit_codes),
        ("output_tags_and_stdin", output_and_tags),
        ("unreachable_host_ends_job", unreachable_host),
        ("killed_daemon_ends_job", daemon_killed),
        ("secret_not_in_proc", secret_not_visible),
        ("wrong_secret_refused", wrong_secret_refused),
        ("raw_connection_with_wrong_secret_refused", raw_connection_refused),
        ("signals_and_timeout", signals_and_timeout),
    ];
    let netns = hosts_dir().join("netns.sh");
    let existed = Command::new("ip").args(["netns", "list"]).output().map(|o| {
        let s = String::from_utf8_lossy(&o.stdout).to_string();
        s.lines().any(|l| l.starts_with("ferrompi-h1")) && s.lines().any(|l| l.starts_with("ferrompi-h2"))
    });
    let up = Command::new(&netns).args(["up", "2"]).status();
    let skip = match &up {
        Ok(s) if s.success() => None,
        Ok(s) if s.code() == Some(77) => Some("not root or no `ip netns` (netns.sh exited 77)".to_string()),
        Ok(s) => Some(format!("netns.sh up 2 failed ({s})")),
        Err(e) => Some(format!("cannot run {}: {e}", netns.display())),
    };
    if let Some(why) = &skip {
        eprintln!("SKIPPING multi-host tests: {why}");
    }
    let trials = tests.into_iter().map(|(name, f)| Trial::test(name, f).with_ignored_flag(skip.is_some())).collect();
    let conclusion = libtest_mimic::run(&args, trials);
    if skip.is_none() && !matches!(existed, Ok(true)) {
        let _ = Command::new(&netns).arg("down").status();
    }
    conclusion.exit();
}
