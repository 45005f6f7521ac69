//! `chat-bench`: a load generator for any ChatLab server (Level 3 or higher,
//! since it registers its own accounts).
//!
//! N clients log in; the first S of them each send M chat messages; every
//! client checks that it received every other sender's messages, in order
//! (CHAT-4). It reports connect+login time, deliveries per second, latency
//! percentiles, losses, the server's resident memory, and the CPU time of
//! server and generator in each phase. It exits non-zero if anything was
//! lost, reordered or refused.
//!
//! ```text
//! chat-bench --clients 100 --senders 100 --messages 2000          # saturate
//! chat-bench --clients 10 --senders 10 --messages 2000 --rate 20000  # paced
//! chat-bench --clients 10000 --idle 10                             # hold idle clients
//! chat-bench --addr 127.0.0.1:8090 --server-pid 1234 ...          # any server
//! chat-bench --suite                                               # BENCHMARKS.md's table
//! chat-bench stalls --seconds 10                                   # how often the machine stalls
//! ```
//!
//! The clients run in `--threads` event loops (default 1, see `reactor`), so
//! that the generator leaves most of a two-core machine to the server.
//!
//! Without `--addr` it starts the reference server as a child process (this
//! same executable, hidden subcommand `serve`), on free ports with a fresh
//! data directory, so its memory can be measured on its own.

mod bench;
mod frames;
mod pacer;
mod reactor;
mod run;
mod server;
mod session;
mod stalls;
mod stats;
mod suite;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use bench::BenchArgs;

#[derive(Debug, Parser)]
#[command(name = "chat-bench", about = "Load generator for ChatLab chat servers")]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Run every workload of BENCHMARKS.md against the reference server and
    /// print the table of targets
    #[arg(long, conflicts_with_all = ["addr", "idle", "rate"])]
    suite: bool,
    /// Runs of each workload in --suite (the table shows their median)
    #[arg(long, default_value_t = 3, requires = "suite")]
    runs: usize,
    #[command(flatten)]
    bench: BenchArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the reference server (used by chat-bench itself)
    #[command(hide = true)]
    Serve(reference_server::Args),
    /// Measure how often this machine wakes a sleeping thread more than 1 ms
    /// late (a virtual machine's paused CPUs), to read latency figures by
    Stalls {
        /// How long to measure
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (name, result) = match cli.command {
        Some(Command::Serve(args)) => {
            env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
                .init();
            ("chat-bench serve", reference_server::run(args))
        }
        Some(Command::Stalls { seconds }) => ("chat-bench stalls", print_stalls(seconds)),
        None if cli.suite => (
            "chat-bench",
            suite::run(cli.runs.max(1), cli.bench.server_args.as_deref()),
        ),
        None => (
            "chat-bench",
            bench::bench(&cli.bench, &mut std::io::stdout()).map(|_| ()),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `chat-bench stalls`: probes for `seconds` and prints what it saw.
fn print_stalls(seconds: f64) -> anyhow::Result<()> {
    let duration = std::time::Duration::try_from_secs_f64(seconds)
        .map_err(|_| anyhow::anyhow!("--seconds must be a positive number, such as 10"))?;
    println!("{}", stalls::probe(duration));
    Ok(())
}
