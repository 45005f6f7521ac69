//! The conversation view: a scrollable column of message rows, where each row
//! is a coloured header (sender and time) and a body of text runs, emoji
//! images, or an inline photo.
//!
//! Rows are only ever appended; a photo row is created at its full height at
//! once and gets its image when the download finishes, so nothing below it
//! ever has to move.

use std::collections::HashMap;
use std::path::Path;

use fltk::app::Sender;
use fltk::button::Button;
use fltk::enums::{Align, Color, Font, FrameType};
use fltk::frame::Frame;
use fltk::group::{Scroll, ScrollType};
use fltk::image::SharedImage;
use fltk::prelude::*;

use super::layout::{Piece, flow, flow_plain};
use super::{Message, emoji};
use crate::clock::Zone;
use crate::model::{Body, Line, LineKind};

const PAD: i32 = 8;
const INDENT: i32 = 12;
const HEADER_H: i32 = 20;
const LINE_H: i32 = 26;
const EMOJI_SIZE: i32 = 24;
const TEXT_SIZE: i32 = 14;
const PHOTO: (i32, i32) = (240, 170);
/// Room for the vertical scrollbar.
const SCROLLBAR: i32 = 18;

/// The colour of a line's header, after the seed client: blue for your own
/// group messages, green for others', grey for private ones you sent, red for
/// private ones you received.
pub fn colour(kind: LineKind) -> Color {
    match kind {
        LineKind::Own => Color::from_rgb(20, 60, 200),
        LineKind::Other => Color::from_rgb(0, 130, 40),
        LineKind::PrivateOut => Color::from_rgb(110, 110, 110),
        LineKind::PrivateIn => Color::from_rgb(200, 20, 20),
        LineKind::System => Color::from_rgb(90, 90, 140),
        LineKind::Error => Color::from_rgb(170, 60, 0),
    }
}

/// The message column.
pub struct Rows {
    /// The scrolling container that holds every row.
    pub scroll: Scroll,
    height: i32,
    /// Photo frames by line index, to fill in when the download finishes.
    photos: HashMap<usize, Frame>,
    zone: Zone,
    sender: Sender<Message>,
}

impl Rows {
    /// An empty column at the given place in the current group.
    pub fn new(x: i32, y: i32, w: i32, h: i32, sender: Sender<Message>) -> Self {
        let mut scroll = Scroll::new(x, y, w, h, None);
        scroll.set_type(ScrollType::VerticalAlways);
        scroll.set_frame(FrameType::DownBox);
        scroll.set_color(Color::White);
        scroll.end();
        Rows {
            scroll,
            height: 0,
            photos: HashMap::new(),
            zone: Zone::Local,
            sender,
        }
    }

    /// Appends the row for line `index`.
    pub fn push(&mut self, index: usize, line: &Line) {
        let width = self.scroll.w() - SCROLLBAR - 2 * PAD;
        // Children live in window coordinates, shifted by the scroll position.
        let x = self.scroll.x() - self.scroll.xposition() + PAD;
        let top = self.scroll.y() - self.scroll.yposition() + self.height;
        let mut y = top + 4;
        self.scroll.begin();
        let system = matches!(line.kind, LineKind::System | LineKind::Error);
        if !system {
            let time = self.zone.date_time(line.time);
            let history = if line.history {
                "  · 历史 history"
            } else {
                ""
            };
            let mut header = label(
                x,
                y,
                width,
                HEADER_H,
                &format!("{}  ({time}){history}", line.header()),
            );
            header.set_label_color(colour(line.kind));
            header.set_label_font(Font::HelveticaBold);
            y += HEADER_H;
        }
        match &line.body {
            Body::Text(text) if system => {
                let text = format!("{}  {text}", self.zone.time(line.time));
                y = text_lines(x, y, width, &text, colour(line.kind), false);
            }
            Body::Text(text) => {
                y = text_lines(x + INDENT, y, width - INDENT, text, Color::Black, true)
            }
            Body::Photo { name, path, .. } => {
                let mut frame = label(
                    x + INDENT,
                    y,
                    PHOTO.0,
                    PHOTO.1,
                    &format!("[图片 photo {name} …]"),
                );
                frame.set_frame(FrameType::BorderBox);
                frame.set_color(Color::from_rgb(245, 245, 245));
                frame.set_align(Align::Center | Align::Inside);
                if let Some(path) = path {
                    show_photo(&mut frame, path);
                }
                self.photos.insert(index, frame);
                y += PHOTO.1 + 4;
            }
            Body::File { id, name, size, .. } => {
                let text = format!("[文件 file] {name} ({})", human_size(*size));
                y = text_lines(
                    x + INDENT,
                    y,
                    width - INDENT - 200,
                    &text,
                    Color::DarkBlue,
                    false,
                );
                // Open or save it at any time, not only when it arrives.
                let (bx, by) = (x + width - 196, y - LINE_H);
                let mut open = Button::new(bx, by, 96, LINE_H - 2, "打开 Open");
                open.emit(
                    self.sender,
                    Message::FetchFile {
                        id: id.clone(),
                        save: false,
                    },
                );
                let mut save = Button::new(bx + 100, by, 96, LINE_H - 2, "保存 Save…");
                save.emit(
                    self.sender,
                    Message::FetchFile {
                        id: id.clone(),
                        save: true,
                    },
                );
            }
        }
        self.scroll.end();
        self.height += y - top + 6;
        self.scroll.redraw();
    }

    /// Shows the downloaded photo of line `index`.
    pub fn set_photo(&mut self, index: usize, path: &Path) {
        if let Some(frame) = self.photos.get_mut(&index) {
            show_photo(frame, path);
            self.scroll.redraw();
        }
    }

    /// Scrolls to the oldest row.
    pub fn scroll_to_top(&mut self) {
        self.scroll.scroll_to(0, 0);
        self.scroll.redraw();
    }

    /// Scrolls to the newest row.
    pub fn scroll_to_end(&mut self) {
        let bottom = (self.height - self.scroll.h() + 8).max(0);
        self.scroll.scroll_to(0, bottom);
        self.scroll.redraw();
    }
}

/// A left-aligned text frame. `@` starts a symbol in FLTK labels, so it is
/// doubled to show as itself.
fn label(x: i32, y: i32, w: i32, h: i32, text: &str) -> Frame {
    let mut frame = Frame::new(x, y, w, h, None);
    frame.set_label(&text.replace('@', "@@"));
    frame.set_align(Align::Left | Align::Inside);
    frame.set_label_size(TEXT_SIZE);
    frame
}

/// Lays `text` out (emoji as images when `emoji` is set) from `y`; returns
/// the y below it.
fn text_lines(x: i32, mut y: i32, width: i32, text: &str, colour: Color, emoji: bool) -> i32 {
    fltk::draw::set_font(Font::Helvetica, TEXT_SIZE);
    let measure = |s: &str| fltk::draw::width(s).ceil() as i32 + 1;
    let lines = if emoji {
        flow(text, width, EMOJI_SIZE, measure)
    } else {
        flow_plain(text, width, measure)
    };
    for pieces in lines {
        for piece in pieces {
            match piece {
                Piece::Text { x: px, text, .. } => {
                    // The frame runs to the end of the line: a measurement a
                    // pixel short must not clip the last glyph.
                    let mut frame = label(x + px, y, width - px, LINE_H, &text);
                    frame.set_label_color(colour);
                }
                Piece::Emoji { x: px, index } => {
                    let mut frame = Frame::new(
                        x + px,
                        y + (LINE_H - EMOJI_SIZE) / 2,
                        EMOJI_SIZE,
                        EMOJI_SIZE,
                        None,
                    );
                    frame.set_image(Some(emoji::image(index, EMOJI_SIZE)));
                    frame.set_tooltip(protocol::emoji::EMOJI[index].chinese);
                }
            }
        }
        y += LINE_H;
    }
    y
}

fn show_photo(frame: &mut Frame, path: &Path) {
    match SharedImage::load(path) {
        Ok(mut image) => {
            image.scale(PHOTO.0 - 4, PHOTO.1 - 4, true, false);
            frame.set_label("");
            frame.set_image(Some(image));
        }
        Err(e) => frame.set_label(&format!("[cannot show {}: {e}]", path.display())),
    }
    frame.redraw();
}

/// `12 bytes`, `3.4 KB`, `1.2 MB`.
pub fn human_size(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} bytes"),
        1024..1_048_576 => format!("{:.1} KB", bytes as f64 / 1024.0),
        _ => format!("{:.1} MB", bytes as f64 / 1_048_576.0),
    }
}
