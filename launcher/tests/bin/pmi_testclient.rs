//! Test program for the launcher's integration tests: a PMI client driven by its arguments.
//!
//! Each argument is an action, run in order; `@R:action` runs it on rank R only.
//!   init            connect (Client::from_env; FERROMPI_PMI picks the protocol)
//!   singleton       check that from_env sees no process manager
//!   info            print `rank=R size=S appnum=A jobid=J local=L/N`
//!   exchange        put `key-R`, fence, get every rank's key; print `rank R exchanged N`
//!   long            put_long a 5000-byte value, fence, check every rank's
//!   mapping         print PMI_process_mapping
//!   fence           fence
//!   finalize        finalize
//!   abort:C:MSG     PMI abort with code C and message MSG, then sleep
//!   exit:C          exit with code C
//!   kill:S          raise signal S
//!   sleep:MS        sleep MS milliseconds
//!   lines:N         print N long lines, each in several small writes
//!   cat             copy stdin to stdout
//!   env:VAR         print VAR=value (or VAR unset)
//!   ignoreterm      ignore SIGTERM
//!   grandchild      start `sleep 1000` (its pid printed) and keep going
//!   partial:TEXT    write TEXT without a newline

use std::io::{Read, Write};

fn main() {
    let rank: usize = std::env::var("PMI_RANK").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut client: Option<pmi::Client> = None;
    let out = std::io::stdout();
    for arg in std::env::args().skip(1) {
        let action = match arg.strip_prefix('@') {
            Some(rest) => {
                let (r, a) = rest.split_once(':').expect("@R:action");
                if r.parse::<usize>().unwrap() != rank {
                    continue;
                }
                a.to_string()
            }
            None => arg.clone(),
        };
        let (name, param) = action.split_once(':').unwrap_or((action.as_str(), ""));
        const C: &str = "call init first";
        match name {
            "init" => {
                client = Some(pmi::Client::from_env().expect("PMI init").expect("not a singleton"));
            }
            "singleton" => {
                assert!(pmi::Client::from_env().expect("from_env").is_none());
                println!("singleton");
            }
            "info" => {
                let c = client.as_ref().expect(C);
                println!(
                    "rank={} size={} appnum={} jobid={} local={}/{}",
                    c.rank(),
                    c.size(),
                    c.appnum(),
                    c.job_id(),
                    std::env::var("MPI_LOCALRANKID").unwrap_or_default(),
                    std::env::var("MPI_LOCALNRANKS").unwrap_or_default()
                );
            }
            "exchange" => {
                let c = client.as_mut().expect(C);
                c.put(&format!("key-{}", c.rank()), &format!("value-{}", c.rank())).unwrap();
                c.fence().unwrap();
                for p in 0..c.size() {
                    assert_eq!(c.get(&format!("key-{p}")).unwrap(), Some(format!("value-{p}")));
                }
                println!("rank {} exchanged {}", c.rank(), c.size());
            }
            "long" => {
                let c = client.as_mut().expect(C);
                let v = |r: usize| format!("{r}:") + &"abcdefgh".repeat(625);
                c.put_long(&format!("long-{}", c.rank()), &v(c.rank())).unwrap();
                c.fence().unwrap();
                for p in 0..c.size() {
                    assert_eq!(c.get_long(&format!("long-{p}")).unwrap(), Some(v(p)));
                }
                println!("rank {} long ok", c.rank());
            }
            "mapping" => {
                let c = client.as_mut().expect(C);
                println!("mapping={}", c.job_attr("PMI_process_mapping").unwrap().unwrap_or_default());
            }
            "fence" => client.as_mut().expect(C).fence().unwrap(),
            "finalize" => client.as_mut().expect(C).finalize().unwrap(),
            "abort" => {
                let (code, msg) = param.split_once(':').unwrap_or((param, ""));
                client.as_mut().expect(C).abort(code.parse().unwrap(), msg).unwrap();
                std::thread::sleep(std::time::Duration::from_secs(60));
            }
            "exit" => {
                out.lock().flush().unwrap();
                std::process::exit(param.parse().unwrap());
            }
            "kill" => {
                out.lock().flush().unwrap();
                unsafe { libc::raise(param.parse().unwrap()) };
                std::thread::sleep(std::time::Duration::from_secs(60));
            }
            "sleep" => std::thread::sleep(std::time::Duration::from_millis(param.parse().unwrap())),
            "lines" => {
                let n: usize = param.parse().unwrap();
                let fd = 1;
                for i in 0..n {
                    let line = format!("rank {rank} line {i} {}\n", "x".repeat(200 + rank * 10));
                    // Several writes per line to tempt interleaving.
                    for chunk in line.as_bytes().chunks(37) {
                        unsafe { libc::write(fd, chunk.as_ptr() as *const libc::c_void, chunk.len()) };
                    }
                }
            }
            "cat" => {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s).unwrap();
                print!("{s}");
                out.lock().flush().unwrap();
            }
            "env" => match std::env::var(param) {
                Ok(v) => println!("{param}={v}"),
                Err(_) => println!("{param} unset"),
            },
            "ignoreterm" => unsafe {
                libc::signal(libc::SIGTERM, libc::SIG_IGN);
            },
            "grandchild" => {
                let child = std::process::Command::new("sleep").arg("1000").stdout(std::process::Stdio::null()).spawn().unwrap();
                println!("grandchild={}", child.id());
                std::mem::forget(child);
            }
            "partial" => {
                print!("{param}");
                out.lock().flush().unwrap();
            }
            other => panic!("unknown action {other}"),
        }
        out.lock().flush().unwrap();
    }
}
