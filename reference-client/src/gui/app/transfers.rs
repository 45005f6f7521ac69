//! Photos and files in the GUI: choosing one to send, fetching what others
//! share (photos at once, files after asking, like the seed's "open it
//! now?" pop-up), and opening or copying a file once it has arrived.

use std::path::PathBuf;

use fltk::dialog;
use protocol::{Kind, SharedItem};

use super::App;
use crate::cache;
use crate::gui::chat::file_question;
use crate::gui::{Message, files};
use crate::net;

/// What to do with a file once it has been downloaded.
pub(super) enum FileAction {
    Open,
    SaveAs(PathBuf),
}

impl App {
    /// A photo is fetched at once and shown inline; for a file the user is
    /// asked whether to open or save it (the seed asked "open it now?").
    pub(super) fn offer(&mut self, item: SharedItem) {
        if item.kind == Kind::File {
            if self.options.test_expect.is_some() {
                return;
            }
            let question = file_question(item.nickname.as_str(), item.name.as_str(), item.size);
            match dialog::choice2_default(&question, "稍后 Later", "打开 Open", "另存为 Save as…")
            {
                Some(1) => self.fetch_file(item.id.as_str(), false),
                Some(2) => self.fetch_file(item.id.as_str(), true),
                _ => {}
            }
            return;
        }
        let dest = cache::item_path(&self.cache_dir, item.id.as_str(), item.name.as_str());
        if let Some(client) = &self.client {
            client.command(net::Command::Download { item, dest });
        }
    }

    /// Opens or saves the shared file `id`: at once if it is already in the
    /// cache, else after fetching it.
    pub(super) fn fetch_file(&mut self, id: &str, save: bool) {
        let Some(item) = self.model.item(id).cloned() else {
            // One of our own uploads: it is in the cache already.
            if let Some(path) = self.own_copy(id) {
                self.sender.send(if save {
                    Message::SaveCopy(path)
                } else {
                    Message::Open(path)
                });
            }
            return;
        };
        let action = if save {
            match files::choose("另存为 Save as", true, "") {
                Some(path) => FileAction::SaveAs(path),
                None => return,
            }
        } else {
            FileAction::Open
        };
        let dest = cache::item_path(&self.cache_dir, item.id.as_str(), item.name.as_str());
        if dest.is_file() {
            self.file_actions.insert(id.to_owned(), action);
            self.finish_file(&item, &dest);
        } else if let Some(client) = &self.client {
            self.file_actions.insert(id.to_owned(), action);
            client.command(net::Command::Download { item, dest });
        }
    }

    /// Opens or copies a downloaded file, as the user chose when it came.
    pub(super) fn finish_file(&mut self, item: &SharedItem, path: &std::path::Path) {
        match self.file_actions.remove(item.id.as_str()) {
            Some(FileAction::Open) => self.sender.send(Message::Open(path.to_owned())),
            Some(FileAction::SaveAs(dest)) => {
                if let Err(e) = std::fs::copy(path, &dest) {
                    dialog::alert_default(&format!("cannot save {}: {e}", dest.display()));
                }
            }
            None => {}
        }
    }

    pub(super) fn upload(&mut self, kind: Kind) {
        let (title, filter) = match kind {
            Kind::Photo => ("选择图片 Choose a photo", "Images\t*.{png,jpg,jpeg,gif}"),
            Kind::File => ("选择文件 Choose a file", ""),
        };
        let Some(path) = files::choose(title, false, filter) else {
            return;
        };
        if let Some(client) = &self.client {
            let to = self.model.target().cloned();
            client.command(net::Command::Upload { kind, path, to });
        }
    }

    /// The cached copy of our own upload `id`.
    fn own_copy(&self, id: &str) -> Option<PathBuf> {
        self.model.lines().iter().find_map(|line| match &line.body {
            crate::model::Body::File {
                id: line_id,
                path: Some(path),
                ..
            } if line_id == id => Some(path.clone()),
            _ => None,
        })
    }
}
