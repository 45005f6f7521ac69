//! Photos and files on this machine: choosing one to send, browsing the
//! received ones (the seed's menu "查看本地图片和文件"), opening one with the
//! desktop's default program, and saving the conversation as text.

use std::path::{Path, PathBuf};
use std::process::Child;

use fltk::app::Sender;
use fltk::browser::HoldBrowser;
use fltk::button::Button;
use fltk::dialog::{NativeFileChooser, NativeFileChooserType};
use fltk::prelude::*;
use fltk::window::Window;

use super::Message;
use crate::cache;
use crate::clock::Zone;
use crate::model::Model;

/// Asks for a file to open (`save` false) or a place to save to (`save` true).
pub fn choose(title: &str, save: bool, filter: &str) -> Option<PathBuf> {
    let kind = if save {
        NativeFileChooserType::BrowseSaveFile
    } else {
        NativeFileChooserType::BrowseFile
    };
    let mut chooser = NativeFileChooser::new(kind);
    chooser.set_title(title);
    if !filter.is_empty() {
        chooser.set_filter(filter);
    }
    chooser.show();
    let path = chooser.filename();
    (!path.as_os_str().is_empty()).then_some(path)
}

/// Opens `path` with the desktop's default program (`xdg-open` on Linux,
/// `open` on macOS). The child is returned so the caller can reap it.
pub fn open(path: &Path) -> std::io::Result<Child> {
    let program = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    std::process::Command::new(program).arg(path).spawn()
}

/// Writes every line of the conversation to `path`, one per line with its
/// date and time, like the seed client that kept `clientUSER.txt`.
pub fn save_transcript(model: &Model, path: &Path) -> std::io::Result<()> {
    let text: String = model
        .lines()
        .iter()
        .map(|line| format!("[{}] {}\n", Zone::Local.date_time(line.time), line.plain()))
        .collect();
    std::fs::write(path, text)
}

/// The "Received photos and files" window: the cache directory's files,
/// with buttons to open one or the folder (through [`Message::Open`]).
pub fn browse(dir: &Path, sender: Sender<Message>) -> Window {
    let files = cache::list(dir);
    let mut window = Window::default()
        .with_size(520, 380)
        .with_label("已收到的图片和文件 Received photos and files");
    let mut list = HoldBrowser::new(10, 10, 500, 310, None);
    for file in &files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        list.add(&name.replace('@', "@@"));
    }
    if files.is_empty() {
        list.add(&format!("(empty: nothing in {})", dir.display()));
    }
    let mut open_file = Button::new(10, 335, 160, 32, "打开 Open");
    let mut open_dir = Button::new(180, 335, 160, 32, "打开文件夹 Folder");
    let mut close = Button::new(350, 335, 160, 32, "关闭 Close");
    window.end();
    let chosen = list.clone();
    open_file.set_callback(move |_| {
        let index = chosen.value();
        if index >= 1
            && let Some(path) = files.get(index as usize - 1)
        {
            sender.send(Message::Open(path.clone()));
        }
    });
    let folder = dir.to_owned();
    open_dir.set_callback(move |_| sender.send(Message::Open(folder.clone())));
    close.set_callback(|b| {
        if let Some(mut window) = b.window() {
            window.hide();
        }
    });
    window.show();
    window
}
