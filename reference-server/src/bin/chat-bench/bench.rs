//! One benchmark run: its command line, the phases it goes through (log in,
//! fence, run), and what it reports.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::run::{Run, Workload, phase};
use crate::stats::{self, rss_kib};
use crate::{pacer, reactor, server};

/// The workload and the server to measure.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Chat port of the server to measure [default: start the reference server]
    #[arg(long)]
    pub addr: Option<SocketAddr>,
    /// Process id of that server, to report its memory
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Clients that log in (N)
    #[arg(long, default_value_t = 100)]
    pub clients: usize,
    /// Clients that send (S), at most N
    #[arg(long, default_value_t = 100)]
    pub senders: usize,
    /// Messages per sender (M)
    #[arg(long, default_value_t = 1000)]
    pub messages: u32,
    /// Frames per write when saturating
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Offered deliveries per second (paced, one frame per write); 0 saturates
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Frames in flight per receiver, split between the senders (flow control:
    /// keep it under the server's queue, 16384 frames for the reference server)
    #[arg(long, default_value_t = 8192)]
    pub window: u32,
    /// Extra bytes of text per message
    #[arg(long, default_value_t = 0)]
    pub pad: usize,
    /// Only log the clients in and hold them idle for this many seconds
    #[arg(long)]
    pub idle: Option<u64>,
    /// Event-loop threads of the generator (each drives many clients)
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Logins in flight at once
    #[arg(long, default_value_t = 1000)]
    pub login_burst: usize,
    /// Give up on a run after this many seconds
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    /// Extra arguments for the reference server started without --addr
    #[arg(long, allow_hyphen_values = true)]
    pub server_args: Option<String>,
}

/// What one run measured, for the suite's table.
#[derive(Debug, Clone)]
pub struct Report {
    /// Connect+login of every client.
    pub login: Duration,
    /// Deliveries per second (not for `--idle`).
    pub deliveries_per_s: Option<f64>,
    pub p50: Option<Duration>,
    pub p99: Option<Duration>,
    /// The server's resident memory after the run, every client still
    /// connected (after the idle hold for `--idle`).
    pub rss_after_kib: Option<u64>,
    /// Percent of the machine's CPU time stolen by the hypervisor.
    pub steal: Option<f64>,
}

/// Runs one workload and reports it on `out`; an error if the run was not
/// clean (a loss, a reordering, an error frame, a failed login).
pub fn bench(args: &BenchArgs, out: &mut dyn Write) -> anyhow::Result<Report> {
    if args.clients < 2 || args.senders == 0 || args.senders > args.clients {
        bail!("need at least 2 clients and 1 to N senders");
    }
    let (server, addr, pid) = match args.addr {
        Some(addr) => (None, addr, args.server_pid),
        None => {
            let (child, addr) = server::spawn(args.clients, args.server_args.as_deref())?;
            let pid = child.child.id();
            (Some(child), addr, Some(pid))
        }
    };
    writeln!(
        out,
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
    )?;
    let started = Instant::now();
    server::register(addr, args.clients)?;
    writeln!(out, "accounts ready in {:.2?}", started.elapsed())?;
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
    let login_steal = login_cpu.steal();
    let login_cpu = login_cpu.report();
    run.open(phase::FENCE);
    wait_until(deadline, || {
        run.login_reported.load(Ordering::Acquire) == workers
    });
    let each = run.login_latency.lock().unwrap().clone();
    writeln!(
        out,
        "connect+login: {logged_in}/{} clients in {:.1} ms{}{login_cpu}; each login p50 {:.1} ms, p99 {:.1} ms",
        args.clients,
        login_time.as_secs_f64() * 1e3,
        if settled { "" } else { " (timed out)" },
        ms(each.quantile(0.5)),
        ms(each.quantile(0.99)),
    )?;
    wait_until(deadline, || {
        run.fenced.load(Ordering::Relaxed) + run.lost.load(Ordering::Relaxed) == logged_in
    });
    report_memory(out, "server memory, clients logged in", pid)?;
    if let Some(idle) = args.idle {
        let fenced = run.fenced.load(Ordering::Relaxed);
        writeln!(
            out,
            "idle: {fenced} clients logged in and fenced; holding them for {idle} s"
        )?;
        wait_until(Instant::now() + Duration::from_secs(idle), || false);
        run.open(phase::RUN);
        wait_until(deadline, || {
            run.finished.load(Ordering::Relaxed) + run.lost.load(Ordering::Relaxed) >= fenced
        });
        let alive = run.finished.load(Ordering::Relaxed);
        writeln!(
            out,
            "idle: {alive}/{} clients still answer a ping after {idle} s",
            args.clients
        )?;
        report_memory(out, "server memory, idle", pid)?;
        run.finish();
        join(threads);
        let rss_after_kib = rss_kib_of(pid);
        drop(server);
        if alive < args.clients {
            bail!(
                "{} of {} clients did not stay logged in and answering",
                args.clients - alive,
                args.clients
            );
        }
        return Ok(Report {
            login: login_time,
            deliveries_per_s: None,
            p50: None,
            p99: None,
            rss_after_kib,
            steal: login_steal,
        });
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
    // Every receiver has everything, so the server's queues are empty, and
    // every client is still connected: the memory a server keeps after a
    // burst, not what it frees as the clients leave.
    let rss_after_kib = rss_kib_of(pid);
    let memory_after = memory_line("server memory after the run, clients still connected", pid);
    run.finish();
    join(threads.into_iter().chain(pacer).collect());
    let elapsed = Duration::from_nanos(run.last_delivery_ns.load(Ordering::Relaxed))
        .saturating_sub(run_start);
    let delivered = run.delivered.load(Ordering::Relaxed);
    let expected = args.senders as u64 * u64::from(args.messages) * (args.clients as u64 - 1);
    let latency = run.latency.lock().unwrap();
    writeln!(
        out,
        "deliveries: {delivered}/{expected} in {:.3} s = {:.0} deliveries/s{}{}",
        elapsed.as_secs_f64(),
        delivered as f64 / elapsed.as_secs_f64().max(1e-9),
        if finished { "" } else { " (timed out)" },
        run_cpu.report()
    )?;
    writeln!(
        out,
        "latency: p50 {:.3} ms, p99 {:.3} ms, max-bucket p99.9 {:.3} ms ({} samples)",
        ms(latency.quantile(0.5)),
        ms(latency.quantile(0.99)),
        ms(latency.quantile(0.999)),
        latency.count()
    )?;
    writeln!(
        out,
        "losses: {}, out-of-order: {}, error frames: {}, failed logins: {}, lost connections: {}",
        expected - delivered.min(expected),
        run.order_errors.load(Ordering::Relaxed),
        run.server_errors.load(Ordering::Relaxed),
        run.login_errors.load(Ordering::Relaxed),
        run.lost.load(Ordering::Relaxed)
    )?;
    if let Some(line) = memory_after {
        writeln!(out, "{line}")?;
    }
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
    Ok(Report {
        login: login_time,
        deliveries_per_s: Some(delivered as f64 / elapsed.as_secs_f64().max(1e-9)),
        p50: Some(latency.quantile(0.5)),
        p99: Some(latency.quantile(0.99)),
        rss_after_kib,
        steal: run_cpu.steal(),
    })
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

fn report_memory(out: &mut dyn Write, what: &str, pid: Option<u32>) -> std::io::Result<()> {
    match memory_line(what, pid) {
        Some(line) => writeln!(out, "{line}"),
        None => Ok(()),
    }
}

/// `what: RSS … (peak …), N threads` for the server, if its pid is known.
fn memory_line(what: &str, pid: Option<u32>) -> Option<String> {
    let (rss, peak) = pid.and_then(rss_kib)?;
    let threads = pid.and_then(stats::threads).unwrap_or(0);
    Some(format!(
        "{what}: RSS {:.1} MiB (peak {:.1} MiB), {threads} threads",
        rss as f64 / 1024.0,
        peak as f64 / 1024.0
    ))
}

fn rss_kib_of(pid: Option<u32>) -> Option<u64> {
    pid.and_then(rss_kib).map(|(rss, _)| rss)
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
