//! `chat-bench`: a load generator for any ChatLab server (Level 3 or higher,
//! since it registers its own accounts).
//!
//! N clients log in; the first S of them each send M chat messages; every
//! client checks that it received every other sender's messages, in order
//! (CHAT-4). It reports connect+login time, deliveries per second, latency
//! percentiles, losses and the server's resident memory.
//!
//! ```text
//! chat-bench --clients 100 --senders 100 --messages 2000          # saturate
//! chat-bench --clients 10 --senders 10 --messages 2000 --rate 20000  # paced
//! chat-bench --clients 10000 --idle 10                             # hold idle clients
//! chat-bench --addr 127.0.0.1:8090 --server-pid 1234 ...          # any server
//! ```
//!
//! Without `--addr` it starts the reference server as a child process (this
//! same executable, hidden subcommand `serve`), on free ports with a fresh
//! data directory, so its memory can be measured on its own.

mod pacer;
mod reactor;
mod run;
mod session;
mod stats;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use protocol::{FrameBuffer, Request, Response, parse_response};

use run::{Run, Workload, phase};
use stats::rss_kib;

#[derive(Debug, Parser)]
#[command(name = "chat-bench", about = "Load generator for ChatLab chat servers")]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    serve: Option<Serve>,
    #[command(flatten)]
    bench: BenchArgs,
}

#[derive(Debug, Subcommand)]
enum Serve {
    /// Run the reference server (used by chat-bench itself)
    #[command(hide = true)]
    Serve(reference_server::Args),
}

#[derive(Debug, clap::Args)]
struct BenchArgs {
    /// Chat port of the server to measure [default: start the reference server]
    #[arg(long)]
    addr: Option<SocketAddr>,
    /// Process id of that server, to report its memory
    #[arg(long)]
    server_pid: Option<u32>,
    /// Clients that log in (N)
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// Clients that send (S), at most N
    #[arg(long, default_value_t = 100)]
    senders: usize,
    /// Messages per sender (M)
    #[arg(long, default_value_t = 1000)]
    messages: u32,
    /// Frames per write when saturating
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Offered deliveries per second (paced, one frame per write); 0 saturates
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Frames in flight per receiver, split between the senders (flow control:
    /// keep it under the server's queue, 16384 frames for the reference server)
    #[arg(long, default_value_t = 8192)]
    window: u32,
    /// Extra bytes of text per message
    #[arg(long, default_value_t = 0)]
    pad: usize,
    /// Only log the clients in and hold them idle for this many seconds
    #[arg(long)]
    idle: Option<u64>,
    /// Event-loop threads of the generator (each drives many clients)
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Logins in flight at once
    #[arg(long, default_value_t = 1000)]
    login_burst: usize,
    /// Give up on a run after this many seconds
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// Extra arguments for the reference server started without --addr
    #[arg(long, allow_hyphen_values = true)]
    server_args: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Serve::Serve(args)) = cli.serve {
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
        return match reference_server::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("chat-bench serve: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    match bench(cli.bench) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chat-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The reference server as a child process, killed when dropped.
struct ServerProcess {
    child: Child,
    /// Removed when the server is gone.
    _data_dir: tempfile::TempDir,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_server(args: &BenchArgs) -> anyhow::Result<(ServerProcess, SocketAddr)> {
    let dir = tempfile::tempdir()?;
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["serve", "--port", "0", "--log", "warn"])
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--max-clients", &(args.clients + 64).to_string()])
        .args(["--max-per-ip", &(args.clients + 64).to_string()]);
    if let Some(extra) = &args.server_args {
        cmd.args(extra.split_whitespace());
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start the server")?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line)?;
    let addr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("chat="))
        .with_context(|| format!("unexpected ready line {line:?}"))?
        .parse()?;
    Ok((
        ServerProcess {
            child,
            _data_dir: dir,
        },
        addr,
    ))
}

fn bench(args: BenchArgs) -> anyhow::Result<()> {
    if args.clients < 2 || args.senders == 0 || args.senders > args.clients {
        bail!("need at least 2 clients and 1 to N senders");
    }
    let (server, addr, pid) = match args.addr {
        Some(addr) => (None, addr, args.server_pid),
        None => {
            let (child, addr) = spawn_server(&args)?;
            let pid = child.child.id();
            (Some(child), addr, Some(pid))
        }
    };
    println!(
        "chat-bench: {} clients, {} senders x {} messages, {} against {addr}",
        args.clients,
        args.senders,
        args.messages,
        if args.idle.is_some() {
            "idle".to_owned()
        } else if args.rate > 0 {
            format!("paced at {} deliveries/s", args.rate)
        } else {
            format!("saturating, {} frames per write", args.batch)
        }
    );
    let started = Instant::now();
    register(addr, args.clients)?;
    println!("accounts ready in {:.2?}", started.elapsed());
    let work = Workload {
        clients: args.clients,
        senders: args.senders,
        messages: args.messages,
        batch: args.batch,
        rate: args.rate,
        window: (args.window / args.senders as u32).max(16),
        pad: args.pad,
        idle: args.idle.is_some(),
    };
    let run = Arc::new(Run::new(work, addr));
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let login_start = run.epoch.elapsed();
    let login_cpu = stats::CpuMeter::start(pid);
    let workers = args.threads.clamp(1, args.clients);
    let mut threads = Vec::new();
    for t in 0..workers {
        let run = run.clone();
        let ids: Vec<usize> = (t..args.clients).step_by(workers).collect();
        let burst = args.login_burst.div_ceil(workers);
        let thread = std::thread::Builder::new()
            .name(format!("generator-{t}"))
            .spawn(move || reactor::worker(&run, ids, burst))
            .context("cannot start a generator thread")?;
        threads.push(thread);
    }
    let settled = wait_until(deadline, || {
        run.logged_in.load(Ordering::Relaxed) + run.login_errors.load(Ordering::Relaxed)
            == args.clients
    });
    let login_time =
        Duration::from_nanos(run.last_login_ns.load(Ordering::Relaxed)).saturating_sub(login_start);
    let logged_in = run.logged_in.load(Ordering::Relaxed);
    let login_cpu = login_cpu.report();
    run.open(phase::FENCE);
    wait_until(deadline, || {
        run.login_reported.load(Ordering::Acquire) == workers
    });
    let each = run.login_latency.lock().unwrap().clone();
    println!(
        "connect+login: {logged_in}/{} clients in {:.1} ms{}{login_cpu}; each login p50 {:.1} ms, p99 {:.1} ms",
        args.clients,
        login_time.as_secs_f64() * 1e3,
        if settled { "" } else { " (timed out)" },
        ms(each.quantile(0.5)),
        ms(each.quantile(0.99)),
    );
    wait_until(deadline, || {
        run.fenced.load(Ordering::Relaxed) + run.lost.load(Ordering::Relaxed) == logged_in
    });
    report_memory("server memory, clients logged in", pid);
    if let Some(idle) = args.idle {
        let fenced = run.fenced.load(Ordering::Relaxed);
        println!("idle: {fenced} clients logged in and fenced; holding them for {idle} s");
        wait_until(Instant::now() + Duration::from_secs(idle), || false);
        run.open(phase::RUN);
        wait_until(deadline, || {
            run.finished.load(Ordering::Relaxed) + run.lost.load(Ordering::Relaxed) >= fenced
        });
        let alive = run.finished.load(Ordering::Relaxed);
        println!(
            "idle: {alive}/{} clients still answer a ping after {idle} s",
            args.clients
        );
        report_memory("server memory, idle", pid);
        run.finish();
        join(threads);
        drop(server);
        if alive < args.clients {
            bail!(
                "{} of {} clients did not stay logged in and answering",
                args.clients - alive,
                args.clients
            );
        }
        return Ok(());
    }
    let run_start = run.epoch.elapsed();
    let run_cpu = stats::CpuMeter::start(pid);
    run.open(phase::RUN);
    let pacer = if args.rate > 0 {
        let sockets = std::mem::take(&mut *run.pacer_sockets.lock().unwrap());
        let run = run.clone();
        Some(
            std::thread::Builder::new()
                .name("pacer".into())
                .spawn(move || pacer::pace(&run, sockets))
                .context("cannot start the pacer thread")?,
        )
    } else {
        None
    };
    let finished = wait_until(deadline, || {
        run.finished.load(Ordering::Relaxed) + run.lost.load(Ordering::Relaxed) == logged_in
    });
    run.finish();
    join(threads.into_iter().chain(pacer).collect());
    let elapsed = Duration::from_nanos(run.last_delivery_ns.load(Ordering::Relaxed))
        .saturating_sub(run_start);
    let delivered = run.delivered.load(Ordering::Relaxed);
    let expected = args.senders as u64 * u64::from(args.messages) * (args.clients as u64 - 1);
    let latency = run.latency.lock().unwrap();
    println!(
        "deliveries: {delivered}/{expected} in {:.3} s = {:.0} deliveries/s{}{}",
        elapsed.as_secs_f64(),
        delivered as f64 / elapsed.as_secs_f64().max(1e-9),
        if finished { "" } else { " (timed out)" },
        run_cpu.report()
    );
    println!(
        "latency: p50 {:.3} ms, p99 {:.3} ms, max-bucket p99.9 {:.3} ms ({} samples)",
        ms(latency.quantile(0.5)),
        ms(latency.quantile(0.99)),
        ms(latency.quantile(0.999)),
        latency.count()
    );
    println!(
        "losses: {}, out-of-order: {}, error frames: {}, failed logins: {}, lost connections: {}",
        expected - delivered.min(expected),
        run.order_errors.load(Ordering::Relaxed),
        run.server_errors.load(Ordering::Relaxed),
        run.login_errors.load(Ordering::Relaxed),
        run.lost.load(Ordering::Relaxed)
    );
    report_memory("server memory after the run", pid);
    drop(server);
    // A run that lost or reordered anything is not a measurement: say so
    // with the exit status too, so scripts cannot record it as one.
    let problems = (expected - delivered.min(expected))
        + run.order_errors.load(Ordering::Relaxed)
        + run.server_errors.load(Ordering::Relaxed)
        + (run.login_errors.load(Ordering::Relaxed) + run.lost.load(Ordering::Relaxed)) as u64;
    if problems > 0 || !finished {
        bail!("the run was not clean (see the losses line above)");
    }
    Ok(())
}

/// Joins the generator threads, reporting any that failed.
fn join(threads: Vec<std::thread::JoinHandle<anyhow::Result<()>>>) {
    for thread in threads {
        match thread.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("chat-bench: a generator thread failed: {e:#}"),
            Err(_) => eprintln!("chat-bench: a generator thread panicked"),
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn report_memory(what: &str, pid: Option<u32>) {
    if let Some((rss, peak)) = pid.and_then(rss_kib) {
        let threads = pid.and_then(stats::threads).unwrap_or(0);
        println!(
            "{what}: RSS {:.1} MiB (peak {:.1} MiB), {threads} threads",
            rss as f64 / 1024.0,
            peak as f64 / 1024.0
        );
    }
}

/// Polls `done` every few milliseconds until it holds or the deadline passes.
fn wait_until(deadline: Instant, mut done: impl FnMut() -> bool) -> bool {
    while !done() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    true
}

/// Registers the bench accounts, eight connections in parallel; an account
/// that already exists from an earlier run is fine.
fn register(addr: SocketAddr, clients: usize) -> anyhow::Result<()> {
    let workers = 8.min(clients);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| scope.spawn(move || register_some(addr, (w..clients).step_by(workers))))
            .collect();
        handles
            .into_iter()
            .try_for_each(|h| h.join().expect("register thread"))
    })
}

fn register_some(addr: SocketAddr, ids: impl Iterator<Item = usize>) -> anyhow::Result<()> {
    let mut stream =
        TcpStream::connect(addr).with_context(|| format!("cannot connect to {addr}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut out = Vec::new();
    let mut count = 0;
    for i in ids {
        Request::Register {
            username: run::username(i),
            password: run::password(i),
            nickname: run::nickname(i),
        }
        .encode(&mut out);
        count += 1;
    }
    stream.write_all(&out)?;
    let mut frames = FrameBuffer::new(1 << 16);
    let mut buf = vec![0u8; 16 * 1024];
    while count > 0 {
        while let Some(line) = frames.next_line() {
            match parse_response(line?) {
                Ok(Response::RegisterResult(protocol::AuthResult::Ok { .. })) => count -= 1,
                Ok(Response::RegisterResult(protocol::AuthResult::Failed { reason, username })) => {
                    if reason != protocol::FailReason::Code(protocol::Reason::NameTaken) {
                        bail!("cannot register {username}: {reason:?}");
                    }
                    count -= 1;
                }
                other => bail!("unexpected answer to a registration: {other:?}"),
            }
        }
        if count == 0 {
            break;
        }
        let n = std::io::Read::read(&mut stream, &mut buf)?;
        if n == 0 {
            bail!("the server closed the connection during registration");
        }
        frames.push(&buf[..n]);
    }
    Ok(())
}
