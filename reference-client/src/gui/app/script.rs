//! The test script behind `--test-send`, `--test-photo` and `--test-expect`:
//! it drives the chat window through the same calls as its buttons, so the
//! Xvfb test exercises the real code paths, and ends the run with a
//! screenshot once the expected message and every photo have arrived.

use anyhow::Context;
use protocol::Kind;

use super::App;
use crate::clock;
use crate::gui::screenshot;
use crate::model::{Body, LineKind};
use crate::net;

impl App {
    /// Test script: right after the login, send what the flags say, through
    /// the same calls as the Send button and the Photo button.
    pub(super) fn run_test_script(&mut self) {
        let Some(client) = &self.client else { return };
        if let Some(text) = &self.options.test_send
            && let Ok(request) = self.model.compose(text, clock::now())
        {
            client.send(request);
        }
        if let Some(path) = &self.options.test_photo {
            let (kind, path, to) = (Kind::Photo, path.clone(), self.model.target().cloned());
            client.command(net::Command::Upload { kind, path, to });
        }
    }

    /// Test script: once a line other than our own contains the expected
    /// text and every photo is in, save a screenshot of the chat window and
    /// stop.
    pub(super) fn check_test(&mut self) {
        let Some(expect) = &self.options.test_expect else {
            return;
        };
        let lines = self.model.lines();
        let seen = lines
            .iter()
            .any(|line| line.kind != LineKind::Own && line.body_text().contains(expect.as_str()));
        let downloading = lines
            .iter()
            .any(|line| matches!(line.body, Body::Photo { path: None, .. }));
        if !seen || downloading || self.exit.is_some() {
            return;
        }
        let result = match (&self.options.screenshot, &mut self.chat) {
            // From the top: the login, our message and photo, then theirs.
            (Some(path), Some(chat)) => {
                chat.rows.scroll_to_top();
                screenshot::save(&mut chat.window, path)
                    .with_context(|| format!("cannot save a screenshot to {}", path.display()))
            }
            _ => Ok(()),
        };
        self.exit = Some(result);
    }
}
