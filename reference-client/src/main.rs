//! reference-client: the ChatLab chat client, as an fltk desktop window or,
//! with `--terminal`, as lines on stdin and stdout.
//!
//! ```text
//! reference-client                                   # the GUI, login window first
//! reference-client --terminal --user Julia           # password from CHATLAB_PASSWORD or stdin
//! reference-client --terminal --addr 127.0.0.1:8090 --user Julia --password sunyu
//! ```
//!
//! The library (`reference_client`) holds everything; this file only turns
//! arguments into options. Set `RUST_LOG=reference_client=debug` to see what
//! the client does; logs go to stderr.

use std::io::BufRead;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Parser;
use reference_client::{cache, clock::Zone, net, terminal};

/// Command-line arguments.
#[derive(Parser, Debug)]
#[command(about = "The ChatLab chat client: a desktop window, or --terminal")]
struct Args {
    /// Run in the terminal instead of opening a window.
    #[arg(long)]
    terminal: bool,
    /// The server's chat port.
    #[arg(long, default_value = "127.0.0.1:8090")]
    addr: String,
    /// The photo port (default: the chat port + 1).
    #[arg(long, value_name = "ADDR")]
    photo_addr: Option<String>,
    /// The file port (default: the chat port + 2).
    #[arg(long, value_name = "ADDR")]
    file_addr: Option<String>,
    /// The username to log in with.
    #[arg(long)]
    user: Option<String>,
    /// The password; without it, the terminal mode reads `CHATLAB_PASSWORD`,
    /// then the first line of stdin. Visible to other local users in `ps`.
    #[arg(long)]
    password: Option<String>,
    /// Register the account first (`0003`), with this nickname.
    #[arg(long, value_name = "NICKNAME")]
    register: Option<String>,
    /// Where photos and files are kept (default: ~/.cache/chatlab/USER).
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Do not reconnect when the connection is lost.
    #[arg(long)]
    no_reconnect: bool,
    /// Terminal mode: print times in UTC instead of local time.
    #[arg(long)]
    utc: bool,
    /// Terminal mode: print no times at all (for tests).
    #[arg(long)]
    no_time: bool,
    /// GUI: log in at once with --addr, --user and --password.
    #[arg(long)]
    autologin: bool,
    /// GUI: save a PNG of the window at PATH and exit (after --test-expect
    /// is seen, when given; else as soon as the first window is drawn).
    #[arg(long, value_name = "PATH")]
    screenshot: Option<PathBuf>,
    /// GUI test: send this message once logged in.
    #[arg(long, value_name = "TEXT")]
    test_send: Option<String>,
    /// GUI test: send this photo once logged in.
    #[arg(long, value_name = "PATH")]
    test_photo: Option<PathBuf>,
    /// GUI test: wait until a line containing this text is shown, and every
    /// photo received so far is downloaded.
    #[arg(long, value_name = "TEXT")]
    test_expect: Option<String>,
    /// GUI test: give up (exit 1) after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    test_timeout: u64,
}

fn main() -> anyhow::Result<()> {
    env_logger::init();
    let args = Args::parse();
    if args.terminal {
        let code = run_terminal(args)?;
        std::process::exit(code);
    }
    run_gui(args)
}

fn run_terminal(args: Args) -> anyhow::Result<i32> {
    let user = args.user.clone().context("--terminal needs --user")?;
    let password = match args.password.clone() {
        Some(p) => p,
        None => match std::env::var("CHATLAB_PASSWORD") {
            Ok(p) => p,
            Err(_) => {
                eprint!("password for {user}: ");
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                line.trim_end_matches(['\r', '\n']).to_owned()
            }
        },
    };
    let config = config(&args, &user, &password)?;
    if let Some(nickname) = &args.register {
        match net::register(config.chat, &user, &password, nickname) {
            Ok(nickname) => println!("* registered {user} with nickname {nickname}"),
            Err(net::RegisterError::Rejected(reason)) => {
                bail!(
                    "registration refused: {}",
                    reference_client::model::describe_reason(&reason)
                )
            }
            Err(e) => bail!("registration failed: {e}"),
        }
    }
    let zone = match (args.no_time, args.utc) {
        (true, _) => None,
        (false, true) => Some(Zone::Utc),
        (false, false) => Some(Zone::Local),
    };
    Ok(terminal::run(terminal::Options { config, zone }))
}

/// Builds the network configuration from the arguments.
fn config(args: &Args, user: &str, password: &str) -> anyhow::Result<net::Config> {
    let cache_dir = args
        .cache_dir
        .clone()
        .unwrap_or_else(|| cache::default_dir(user));
    let mut config = net::Config::new(resolve(&args.addr)?, user, password, cache_dir);
    if let Some(addr) = &args.photo_addr {
        config.photo = resolve(addr)?;
    }
    if let Some(addr) = &args.file_addr {
        config.file = resolve(addr)?;
    }
    config.reconnect = !args.no_reconnect;
    Ok(config)
}

fn resolve(addr: &str) -> anyhow::Result<SocketAddr> {
    addr.to_socket_addrs()
        .with_context(|| format!("{addr} is not a HOST:PORT address"))?
        .next()
        .with_context(|| format!("{addr} resolves to no address"))
}

#[cfg(not(feature = "gui"))]
fn run_gui(_: Args) -> anyhow::Result<()> {
    bail!("this build has no GUI (built without the `gui` feature); use --terminal")
}

#[cfg(feature = "gui")]
fn run_gui(args: Args) -> anyhow::Result<()> {
    use reference_client::gui;
    let options = gui::Options {
        addr: args.addr.clone(),
        photo_addr: args.photo_addr.clone(),
        file_addr: args.file_addr.clone(),
        user: args.user.clone().unwrap_or_default(),
        password: args.password.clone().unwrap_or_default(),
        cache_dir: args.cache_dir.clone(),
        reconnect: !args.no_reconnect,
        autologin: args.autologin,
        screenshot: args.screenshot.clone(),
        test_send: args.test_send.clone(),
        test_photo: args.test_photo.clone(),
        test_expect: args.test_expect.clone(),
        test_timeout: std::time::Duration::from_secs(args.test_timeout),
    };
    gui::run(options)
}
