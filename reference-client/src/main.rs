//! reference-client: the ChatLab desktop client, built on FLTK.
//!
//! For now this is the foundation the chat GUI will grow on: it opens a
//! window titled "ChatLab" with a label in Chinese and English, and runs the
//! FLTK event loop until the window is closed. The point is to prove, on every
//! machine and in CI, that FLTK builds from source, finds an X display and
//! renders CJK text through pango and fontconfig.
//!
//! `--screenshot PATH` draws the window once, saves what is on screen as a PNG
//! and exits instead of waiting for the user: the integration test runs it
//! under Xvfb and checks the picture.
//!
//! Set `RUST_LOG=reference_client=debug` to see what it does.

mod screenshot;

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use fltk::{app, enums::Font, frame::Frame, prelude::*, window::Window};

/// Command-line arguments.
#[derive(Parser)]
#[command(about = "The ChatLab desktop client")]
struct Args {
    /// Draw the window, save it as a PNG at PATH and exit.
    #[arg(long, value_name = "PATH")]
    screenshot: Option<PathBuf>,
}

/// The window's title, also what a window manager shows in its task list.
const TITLE: &str = "ChatLab";

/// The label: Chinese first, so a missing CJK font shows up as boxes at once.
const GREETING: &str = "聊天室 ChatLab";

fn main() -> anyhow::Result<()> {
    env_logger::init();
    let args = Args::parse();

    let app = app::App::default();
    let mut window = main_window();
    window.show();
    log::debug!("window shown: {}x{}", window.w(), window.h());

    match args.screenshot {
        Some(path) => screenshot::save(&mut window, &path)
            .with_context(|| format!("cannot save a screenshot to {}", path.display())),
        None => app.run().context("the FLTK event loop failed"),
    }
}

/// Builds the main window: for now one label across its middle.
fn main_window() -> Window {
    let window = Window::default().with_size(480, 160).with_label(TITLE);
    let mut greeting = Frame::default_fill().with_label(GREETING);
    greeting.set_label_size(32);
    // Helvetica maps to pango's "Sans", which fontconfig falls back from to a
    // CJK font (fonts-noto-cjk, installed by .ci/setup) for the Chinese part.
    greeting.set_label_font(Font::Helvetica);
    window.end();
    window
}
