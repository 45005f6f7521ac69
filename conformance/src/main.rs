//! `conformance`: grades a ChatLab chat server over TCP against SPEC.md.
//!
//! With no target it starts the reference server itself (this binary, run
//! with the hidden `reference-server` subcommand, once per test) and grades
//! it. Point it at your own server with `--cmd 'python3 server.py {port}'`
//! (started fresh for every test) or `--addr 127.0.0.1:8090` (already
//! running). `RUST_LOG=debug` shows what the runner does.

use std::io::{IsTerminal, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use conformance::catalogue::entries;
use conformance::report::{Format, Rubric, render};
use conformance::{Options, RunError, Target};

const AFTER_HELP: &str = "\
Targets:
  (none)                  grade the reference server, started by this binary
  --cmd 'python3 server.py {port} {data_dir}'
                          start a fresh server for every test; {port}, {photo_port},
                          {file_port} and {data_dir} are replaced
  --addr 127.0.0.1:8090   grade a server that is already running

Exit codes:
  0  every selected test passed
  1  at least one test failed
  2  the grader could not run (bad usage, or the server never came up)

Examples:
  conformance --level 1 --cmd 'python3 server.py {port}'
  conformance --only chat-no-echo --seed 42 --cmd 'python3 server.py {port}'
  conformance --format gradescope --output results.json --cmd './run.sh {port} {data_dir}'";

/// Grades a ChatLab chat server against SPEC.md.
#[derive(Debug, Parser)]
#[command(name = "conformance", version, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// A running server's chat address, e.g. 127.0.0.1:8090
    #[arg(long, conflicts_with = "cmd")]
    addr: Option<String>,
    /// A command that starts your server; run once per test
    #[arg(long)]
    cmd: Option<String>,
    /// Photo port of a running server (--addr) [default: chat port + 1]
    #[arg(long)]
    photo_port: Option<u16>,
    /// File port of a running server (--addr) [default: chat port + 2]
    #[arg(long)]
    file_port: Option<u16>,
    /// Grade levels 1 to N (cumulative)
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u8).range(1..=6))]
    level: u8,
    /// Run only these tests (slugs, prefix*, @bytes/@split/@coalesce, or rule IDs such as FRAME-3)
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Leave out these tests (same patterns as --only)
    #[arg(long, value_delimiter = ',')]
    skip: Vec<String>,
    /// List the catalogue and exit
    #[arg(long)]
    list: bool,
    /// Report format
    #[arg(long, value_enum, default_value_t = Format::Terminal)]
    format: Format,
    /// Write the report to this file instead of stdout
    #[arg(long)]
    output: Option<std::path::PathBuf>,
    /// Rubric JSON mapping levels and tests to points
    #[arg(long)]
    rubric: Option<std::path::PathBuf>,
    /// Seed for all random data [default: from the clock; printed in every report]
    #[arg(long)]
    seed: Option<u64>,
    /// Run the suite N times and label each failure deterministic or flaky
    #[arg(long, default_value_t = 1)]
    repeat: u32,
    /// Multiply every timeout (e.g. 3 on a slow machine)
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Tests run in parallel (each on its own server with --cmd)
    #[arg(long)]
    jobs: Option<usize>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the catalogue: slug, level, rules, description
    List,
    /// Measure the grader: the full suite against the reference server, and a
    /// silent server that accepts connections and never answers
    Bench {
        /// Runs against the reference server
        #[arg(long, default_value_t = 3)]
        runs: u32,
    },
    /// Run the reference server in this process (used by the default target)
    #[command(hide = true)]
    ReferenceServer {
        /// Arguments for the reference server
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    env_logger::init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match real_main(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("conformance: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn real_main(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Some(Command::ReferenceServer { args }) => return reference_server(args),
        Some(Command::List) => return list(),
        Some(Command::Bench { runs }) => return bench(*runs, cli.jobs),
        None if cli.list => return list(),
        None => {}
    }
    let (target, target_args) = target(&cli)?;
    let seed = cli.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64 % 1_000_000)
            .unwrap_or(1)
    });
    let options = Options {
        level: cli.level,
        only: cli.only.clone(),
        skip: cli.skip.clone(),
        seed,
        repeat: cli.repeat.max(1),
        time_scale: cli.time_scale,
        jobs: cli.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        }),
        program: "conformance".into(),
        target_args: Some(target_args),
    };
    let rubric = match &cli.rubric {
        Some(path) => Rubric::load(path)?,
        None => Rubric::default(),
    };
    let results = match conformance::run(&target, &options) {
        Ok(results) => results,
        Err(RunError::Usage(msg)) => {
            eprintln!("conformance: {msg}");
            return Ok(ExitCode::from(2));
        }
        Err(RunError::Target(msg)) => {
            eprintln!("conformance: cannot grade: {msg}");
            return Ok(ExitCode::from(2));
        }
    };
    let colour =
        cli.output.is_none() && cli.format == Format::Terminal && std::io::stdout().is_terminal();
    let text = render(&results, cli.format, &rubric, colour);
    match &cli.output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
        }
    }
    Ok(if results.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The target and how to write it in a rerun command.
fn target(cli: &Cli) -> anyhow::Result<(Target, String)> {
    if let Some(addr) = &cli.addr {
        let chat: SocketAddr = addr
            .to_socket_addrs()
            .with_context(|| format!("--addr {addr} is not HOST:PORT"))?
            .next()
            .with_context(|| format!("--addr {addr} resolves to nothing"))?;
        let at = |port: u16| SocketAddr::new(chat.ip(), port);
        let target = Target::Addr {
            chat,
            photo: at(cli.photo_port.unwrap_or(chat.port() + 1)),
            file: at(cli.file_port.unwrap_or(chat.port() + 2)),
        };
        let args = target.to_args();
        return Ok((target, args));
    }
    if let Some(cmd) = &cli.cmd {
        if cli.photo_port.is_some() || cli.file_port.is_some() {
            anyhow::bail!(
                "with --cmd the grader picks free ports for every test; pass {{photo_port}} and {{file_port}} to your server instead of --photo-port/--file-port"
            );
        }
        let target = Target::Cmd {
            template: cmd.clone(),
            photo_offset: 1,
            file_offset: 2,
        };
        let args = target.to_args();
        return Ok((target, args));
    }
    Ok((default_target()?, String::new()))
}

/// This executable, run as the reference server (fast password hashing: the
/// grader checks that hashes are salted, not how slow they are).
pub fn default_target() -> anyhow::Result<Target> {
    let exe = std::env::current_exe().context("cannot find this executable")?;
    Ok(conformance::target::reference_target(&exe))
}

fn list() -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    for e in entries() {
        writeln!(
            out,
            "L{}  {:<28} {:<32} {}",
            e.level,
            e.slug,
            e.rules.join(","),
            e.case.description
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn bench(runs: u32, jobs: Option<usize>) -> anyhow::Result<ExitCode> {
    let jobs = jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    let mut out = std::io::stdout().lock();
    let options = Options {
        level: 6,
        seed: 1,
        jobs,
        ..Options::default()
    };
    let reference = default_target()?;
    let mut times = Vec::new();
    for run in 1..=runs {
        let started = std::time::Instant::now();
        let results = conformance::run(&reference, &options).map_err(|e| anyhow::anyhow!("{e}"))?;
        let secs = started.elapsed().as_secs_f64();
        let failed = results
            .tests
            .iter()
            .filter(|t| t.status != conformance::Status::Pass)
            .count();
        writeln!(
            out,
            "reference server, full suite ({} tests, {jobs} jobs), run {run}: {secs:.2} s, {failed} not passed",
            results.tests.len()
        )?;
        times.push(secs);
    }
    times.sort_by(f64::total_cmp);
    writeln!(
        out,
        "reference server, full suite: median {:.2} s",
        times[times.len() / 2]
    )?;
    let silent = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/servers/silent.py");
    let target = Target::Cmd {
        template: format!("python3 {silent} {{port}}"),
        photo_offset: 1,
        file_offset: 2,
    };
    let started = std::time::Instant::now();
    let results = conformance::run(&target, &options).map_err(|e| anyhow::anyhow!("{e}"))?;
    let failed = results
        .tests
        .iter()
        .filter(|t| t.status == conformance::Status::Fail)
        .count();
    writeln!(
        out,
        "silent server (accepts, never answers), full suite: {:.2} s, {failed} failed, {} skipped",
        started.elapsed().as_secs_f64(),
        results.tests.len() - failed
    )?;
    Ok(ExitCode::SUCCESS)
}

fn reference_server(args: &[String]) -> anyhow::Result<ExitCode> {
    let args = reference_server::Args::try_parse_from(
        std::iter::once("reference-server".to_owned()).chain(args.iter().cloned()),
    )?;
    let (stop_tx, stop_rx) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop_tx.send(());
    })
    .context("cannot install the signal handler")?;
    let server = reference_server::Server::bind(args.into_config())?;
    println!(
        "chatlab reference server listening on chat={} photo={} file={}",
        server.chat_addr(),
        server.photo_addr(),
        server.file_addr()
    );
    server.run_until(|| {
        let _ = stop_rx.recv();
    });
    Ok(ExitCode::SUCCESS)
}
