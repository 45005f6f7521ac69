//! The fltk desktop client: a login window, a registration dialog and the
//! chat window. This is the only module that names fltk types.
//!
//! Everything that happens reaches the FLTK event loop as one [`Message`]:
//! button presses through `emit`, network events through the same channel
//! from the network thread (fltk's `Sender::send` wakes the loop). The
//! network thread never touches a widget; [`app::App`] applies each message
//! to the [`crate::model::Model`] and then updates the widgets.

mod app;
mod chat;
mod emoji;
mod files;
pub mod layout;
mod login;
mod rows;
mod screenshot;

use std::path::PathBuf;
use std::time::Duration;

use crate::net;

/// How the GUI starts.
#[derive(Debug, Clone)]
pub struct Options {
    /// Initial server address in the login window.
    pub addr: String,
    /// Photo port override, `HOST:PORT`.
    pub photo_addr: Option<String>,
    /// File port override, `HOST:PORT`.
    pub file_addr: Option<String>,
    /// Initial username.
    pub user: String,
    /// Initial password.
    pub password: String,
    /// Cache directory; default `~/.cache/chatlab/USER`.
    pub cache_dir: Option<PathBuf>,
    /// Whether to reconnect after the connection is lost.
    pub reconnect: bool,
    /// Log in at once instead of waiting for the Login button.
    pub autologin: bool,
    /// Save a PNG of the window and exit (see the `--screenshot` flag).
    pub screenshot: Option<PathBuf>,
    /// Test script: send this once logged in.
    pub test_send: Option<String>,
    /// Test script: send this photo once logged in, as if chosen in the
    /// file chooser.
    pub test_photo: Option<PathBuf>,
    /// Test script: wait for a line containing this (and for every photo
    /// to be downloaded), then screenshot and exit.
    pub test_expect: Option<String>,
    /// Test script: fail after this long.
    pub test_timeout: Duration,
}

/// Everything the event loop reacts to.
#[derive(Debug, Clone)]
pub enum Message {
    /// From the network thread.
    Net(net::Event),
    /// Login window: Login button or Enter.
    Login,
    /// Login window: Register button.
    OpenRegister,
    /// Login window: Clear button.
    Clear,
    /// Registration dialog: Register button or Enter.
    Register,
    /// From the registration helper thread: the nickname, or why it failed.
    Registered(Result<String, String>),
    /// Chat window: Send button or Enter.
    Send,
    /// Chat window: show or hide the emoji panel.
    ToggleEmoji,
    /// Chat window: emoji `n` of `protocol::emoji::EMOJI` was picked.
    Emoji(usize),
    /// Chat window: a line of the online list was clicked.
    SelectUser,
    /// Menu: send a photo.
    SendPhoto,
    /// Menu: send a file.
    SendFile,
    /// Menu: browse received photos and files.
    Browse,
    /// A file row's Open (`save` false) or Save button was pressed.
    FetchFile {
        /// The item's id.
        id: String,
        /// Save it somewhere rather than open it.
        save: bool,
    },
    /// Ask where to, then copy this local file there.
    SaveCopy(PathBuf),
    /// Open a local photo or file with the desktop's default program.
    Open(PathBuf),
    /// Menu: save the conversation as text.
    SaveTranscript,
    /// Menu: show or hide the online list.
    ToggleUsers,
    /// Menu or window close button: leave, after confirming.
    Quit,
    /// Test script: the deadline passed.
    TestTimeout,
}

/// Runs the GUI until the user quits.
pub fn run(options: Options) -> anyhow::Result<()> {
    app::App::run(options)
}
