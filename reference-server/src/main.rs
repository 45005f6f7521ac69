//! `reference-server`: the ChatLab reference chat server.
//!
//! With no arguments it serves SPEC.md's default ports (chat 8090, photo 8091,
//! file 8092) on 127.0.0.1, keeping its data in `./chatlab-data`. `--help`
//! lists every setting. Logs go to stderr: `RUST_LOG=info` (the default) shows
//! connections, logins and the online count, `RUST_LOG=debug` adds every chat
//! message; `--log LEVEL` overrides `RUST_LOG`.
//!
//! When the ports are open it prints one line on stdout,
//! `chatlab reference server listening on chat=ADDR photo=ADDR file=ADDR`,
//! which scripts may wait for. Ctrl-C stops it gracefully.

use std::process::ExitCode;

use clap::Parser;
use reference_server::Args;

fn main() -> ExitCode {
    let args = Args::parse();
    let mut logger =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    if let Some(filter) = &args.log {
        logger.parse_filters(filter);
    }
    logger.init();
    match reference_server::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One clear message, never a panic trace.
            eprintln!("reference-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}
