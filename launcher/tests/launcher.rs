//! Integration tests for mpirun: real jobs of shell commands and of the PMI test client.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MPIRUN: &str = env!("CARGO_BIN_EXE_mpirun");
const CLIENT: &str = env!("CARGO_BIN_EXE_ferrompi-pmi-testclient");
/// No test job may take longer than this.
const LIMIT: Duration = Duration::from_secs(30);

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

fn mpirun_with(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>, sig_after: Option<(Duration, i32)>) -> Out {
    let start = Instant::now();
    let mut cmd = Command::new(MPIRUN);
    cmd.args(args).stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() }).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.env_remove("FERROMPI_PMI");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn mpirun");
    if let Some(text) = stdin {
        let mut w = child.stdin.take().unwrap();
        let text = text.to_string();
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
    let mut signalled = false;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if let Some((after, sig)) = sig_after {
            if !signalled && start.elapsed() >= after {
                unsafe { libc::kill(child.id() as i32, sig) };
                signalled = true;
            }
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

fn mpirun(args: &[&str]) -> Out {
    mpirun_with(args, &[], None, None)
}

fn sorted_lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_string).collect();
    v.sort();
    v
}

#[test]
fn success_and_first_failing_exit_code() {
    let o = mpirun(&["-n", "3", "sh", "-c", "exit 0"]);
    assert_eq!(o.code, 0);
    let o = mpirun(&["-n", "3", "sh", "-c", "if [ $PMI_RANK = 1 ]; then exit 5; fi; exec sleep 30"]);
    assert_eq!(o.code, 5);
    assert!(o.stderr.contains("rank 1 exited with code 5"), "{}", o.stderr);
    assert!(o.elapsed < Duration::from_secs(8));
}

#[test]
fn signal_death_is_128_plus_signal() {
    let o = mpirun(&["-n", "3", CLIENT, "@2:kill:9", "sleep:30000"]);
    assert_eq!(o.code, 128 + 9);
    assert!(o.stderr.contains("rank 2") && o.stderr.contains("SIGKILL"), "{}", o.stderr);
    assert!(o.elapsed < Duration::from_secs(8));
}

fn abort(proto: &str) {
    let o = mpirun_with(&["-n", "3", CLIENT, "init", "@1:abort:7:bad thing; happened", "sleep:30000"], &[("FERROMPI_PMI", proto)], None, None);
    assert_eq!(o.code, 7);
    assert!(o.stderr.contains("rank 1 called MPI_Abort with error code 7: bad thing; happened"), "{}", o.stderr);
    assert!(o.elapsed < Duration::from_secs(8));
}

#[test]
fn abort_pmi1() {
    abort("1");
}

#[test]
fn abort_pmi2() {
    abort("2");
}

fn exchange(proto: &str, n: usize) {
    let ns = n.to_string();
    let o = mpirun_with(&["-n", &ns, CLIENT, "init", "info", "exchange", "long", "mapping", "finalize"], &[("FERROMPI_PMI", proto)], None, None);
    assert_eq!(o.code, 0);
    let lines = o.stdout.lines().collect::<Vec<_>>();
    let jobid = lines.iter().find_map(|l| l.split("jobid=").nth(1)).unwrap().split(' ').next().unwrap().to_string();
    assert!(jobid.starts_with("ferrompi-"), "{jobid}");
    for r in 0..n {
        assert!(lines.contains(&format!("rank={r} size={n} appnum=0 jobid={jobid} local={r}/{n}").as_str()), "{lines:?}");
        assert!(lines.contains(&format!("rank {r} exchanged {n}").as_str()));
        assert!(lines.contains(&format!("rank {r} long ok").as_str()));
    }
    let mapping = format!("mapping=(vector,(0,1,{n}))");
    assert_eq!(lines.iter().filter(|l| **l == mapping).count(), n);
}

#[test]
fn pmi1_exchange() {
    exchange("1", 4);
}

#[test]
fn pmi2_exchange() {
    exchange("2", 4);
}

#[test]
fn eight_ranks_on_two_cores() {
    exchange("1", 8);
    exchange("2", 8);
}

#[test]
fn job_ids_differ_between_runs() {
    let a = mpirun(&["sh", "-c", "echo $PMI_JOBID"]);
    let b = mpirun(&["sh", "-c", "echo $PMI_JOBID"]);
    assert!(a.stdout.starts_with("ferrompi-"));
    assert_ne!(a.stdout, b.stdout);
}

#[test]
fn stdin_goes_to_rank_0_only() {
    let text = "hello\nworld\n".repeat(5000);
    let o = mpirun_with(&["-n", "3", CLIENT, "cat"], &[], Some(&text), None);
    assert_eq!(o.code, 0);
    assert_eq!(o.stdout, text);
}

#[test]
fn whole_lines_under_concurrency() {
    let n = 4;
    let per = 400;
    let o = mpirun(&["-n", "4", CLIENT, &format!("lines:{per}")]);
    assert_eq!(o.code, 0);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines.len(), n * per);
    for l in lines {
        let mut it = l.split(' ');
        assert_eq!(it.next(), Some("rank"));
        let r: usize = it.next().unwrap().parse().unwrap();
        assert_eq!(it.next(), Some("line"));
        let _: usize = it.next().unwrap().parse().unwrap();
        assert_eq!(it.next().unwrap(), "x".repeat(200 + r * 10), "mixed line: {l}");
    }
}

#[test]
fn tag_output() {
    let o = mpirun(&["-n", "2", "--tag-output", "sh", "-c", "echo out $PMI_RANK; echo err $PMI_RANK >&2"]);
    assert_eq!(o.code, 0);
    assert_eq!(sorted_lines(&o.stdout), vec!["[0] out 0", "[1] out 1"]);
    assert_eq!(sorted_lines(&o.stderr), vec!["[0] err 0", "[1] err 1"]);
}

#[test]
fn partial_last_line_is_flushed() {
    let o = mpirun(&["sh", "-c", "printf abc"]);
    assert_eq!(o.stdout, "abc");
    let o = mpirun(&["-n", "2", "--", CLIENT, "partial:xyz"]);
    assert_eq!(o.stdout.matches("xyz").count(), 2);
    assert!(o.stdout.contains("xyz\nxyz"), "{:?}", o.stdout);
}

#[test]
fn export_variables() {
    let o = mpirun_with(
        &["-n", "2", "-x", "FOO=bar baz", "-x", "MPIRUN_TEST_VAR", "-x", "MPIRUN_TEST_UNSET", "sh", "-c", "echo \"$FOO|$MPIRUN_TEST_VAR|${MPIRUN_TEST_UNSET-unset}|$PMI_SIZE\""],
        &[("MPIRUN_TEST_VAR", "v1")],
        None,
        None,
    );
    assert_eq!(o.code, 0);
    assert_eq!(o.stdout, "bar baz|v1|unset|2\n".repeat(2));
}

#[test]
fn compat_options_and_program_args() {
    let o = mpirun(&["-np", "2", "--oversubscribe", "--allow-run-as-root", "sh", "-c", "printf '%s\\n' \"$*\"", "sh", "-n", "--tag-output"]);
    assert_eq!(o.code, 0);
    assert_eq!(o.stdout, "-n --tag-output\n".repeat(2));
    let o = mpirun(&["-n", "1", "mpirun-no-such-program"]);
    assert_eq!(o.code, 127);
}

#[test]
fn teardown_kills_ranks_that_ignore_sigterm() {
    let o = mpirun(&["-n", "3", CLIENT, "ignoreterm", "@1:sleep:500", "@1:exit:3", "sleep:30000"]);
    assert_eq!(o.code, 3);
    assert!(o.elapsed >= Duration::from_millis(1500), "SIGKILL came before the grace period");
    assert!(o.elapsed < Duration::from_secs(8));
}

#[test]
fn teardown_reaches_rank_children() {
    let o = mpirun(&["-n", "2", CLIENT, "grandchild", "@1:sleep:500", "@1:exit:4", "sleep:30000"]);
    assert_eq!(o.code, 4);
    let pids: Vec<i32> = o.stdout.lines().filter_map(|l| l.strip_prefix("grandchild=")).map(|p| p.parse().unwrap()).collect();
    assert_eq!(pids.len(), 2);
    std::thread::sleep(Duration::from_millis(300));
    for pid in pids {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat.rsplit(')').next().unwrap_or("").trim().chars().next();
        assert!(stat.is_empty() || state == Some('Z'), "grandchild {pid} still alive: {stat}");
    }
}

#[test]
fn exit_without_finalize_does_not_hang_others() {
    let o = mpirun(&["-n", "2", CLIENT, "init", "@0:exit:0", "fence", "finalize"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("rank 0 exited without finalizing"), "{}", o.stderr);
}

#[test]
fn sigint_is_forwarded() {
    let o = mpirun_with(&["-n", "2", "sleep", "30"], &[], None, Some((Duration::from_millis(500), libc::SIGINT)));
    assert_eq!(o.code, 128 + libc::SIGINT);
    assert!(o.elapsed < Duration::from_secs(8));
    let o = mpirun_with(&["-n", "2", CLIENT, "ignoreterm", "sleep:30000"], &[], None, Some((Duration::from_millis(500), libc::SIGTERM)));
    // mpirun reports the signal it got; ranks that ignore it are killed after the grace period.
    assert_eq!(o.code, 128 + libc::SIGTERM);
    assert!(o.elapsed >= Duration::from_millis(2000) && o.elapsed < Duration::from_secs(8));
}

#[test]
fn timeout_option() {
    let o = mpirun(&["--timeout", "1", "-n", "2", "sleep", "30"]);
    assert_eq!(o.code, 124);
    assert!(o.elapsed < Duration::from_secs(6));
}

#[test]
fn shm_leftovers_are_removed() {
    let o = mpirun(&["-n", "2", "sh", "-c", "touch /dev/shm/test-$PMI_JOBID-$PMI_RANK && echo $PMI_JOBID"]);
    assert_eq!(o.code, 0);
    let jobid = o.stdout.lines().next().unwrap();
    let left: Vec<_> = std::fs::read_dir("/dev/shm").unwrap().flatten().filter(|e| e.file_name().to_string_lossy().contains(jobid)).collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn singleton_without_launcher() {
    let o = Command::new(CLIENT)
        .arg("singleton")
        .env_remove("PMI_FD")
        .env_remove("PMI_PORT")
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stdout), "singleton\n");
}

#[test]
fn mpiexec_is_the_same_program() {
    let mpiexec = MPIRUN.replace("mpirun", "mpiexec");
    let o = Command::new(mpiexec).args(["-n", "2", "sh", "-c", "echo $PMI_RANK"]).output().unwrap();
    assert!(o.status.success());
    assert_eq!(sorted_lines(&String::from_utf8_lossy(&o.stdout)), vec!["0", "1"]);
}
