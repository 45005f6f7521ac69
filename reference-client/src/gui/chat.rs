//! The chat window: menu, online list with the group-chat entry, the
//! message column, the emoji panel, the input line and the status bar.
//!
//! It draws what the model holds and emits [`Message`]s; it decides nothing.

use fltk::app::Sender;
use fltk::browser::HoldBrowser;
use fltk::button::{Button, ReturnButton};
use fltk::enums::{Align, Color, FrameType, Shortcut};
use fltk::frame::Frame;
use fltk::group::Group;
use fltk::input::Input;
use fltk::menu::{MenuBar, MenuFlag};
use fltk::prelude::*;
use fltk::window::Window;
use protocol::emoji::EMOJI;

use super::Message;
use super::emoji;
use super::rows::{Rows, human_size};
use crate::model::{Model, describe_user};
use crate::net::Status;

/// The chat window's size.
pub const CHAT_SIZE: (i32, i32) = (780, 560);

const MENU_H: i32 = 26;
const LIST_W: i32 = 190;
const STATUS_H: i32 = 24;
const INPUT_H: i32 = 32;
const TOOLS_H: i32 = 34;
/// The first line of the online list, the seed's "Group chat" entry.
const GROUP_CHAT: &str = "群聊 Group chat";

/// The chat window and the widgets that change.
pub struct ChatWindow {
    /// The window itself.
    pub window: Window,
    /// The message column.
    pub rows: Rows,
    /// The online list; line 1 is the group chat.
    pub users: HoldBrowser,
    users_label: Frame,
    /// Where messages are typed.
    pub input: Input,
    emoji_panel: Group,
    status: Frame,
    /// How many model lines are shown.
    pub shown: usize,
}

impl ChatWindow {
    /// Builds and shows the chat window.
    pub fn open(sender: Sender<Message>) -> Self {
        let (w, h) = CHAT_SIZE;
        let mut window = Window::default().with_size(w, h).with_label("ChatLab");
        let mut menu = MenuBar::new(0, 0, w, MENU_H, None);
        let items = [
            ("聊天 Chat/发送图片 Send photo…", Message::SendPhoto),
            ("聊天 Chat/发送文件 Send file…", Message::SendFile),
            (
                "聊天 Chat/已收到的图片和文件 Received photos and files…",
                Message::Browse,
            ),
            (
                "聊天 Chat/保存聊天记录 Save transcript…",
                Message::SaveTranscript,
            ),
            ("聊天 Chat/退出 Quit", Message::Quit),
            ("查看 View/在线用户列表 Online list", Message::ToggleUsers),
        ];
        for (path, message) in items {
            menu.add_emit(path, Shortcut::None, MenuFlag::Normal, sender, message);
        }

        let body_h = h - MENU_H - STATUS_H - INPUT_H - TOOLS_H - 8;
        let mut users_label = Frame::new(0, MENU_H, LIST_W, 22, "在线用户 Online");
        users_label.set_align(Align::Left | Align::Inside);
        let mut users = HoldBrowser::new(0, MENU_H + 22, LIST_W, body_h - 22, None);
        users.emit(sender, Message::SelectUser);
        let rows = Rows::new(LIST_W + 4, MENU_H, w - LIST_W - 4, body_h, sender);

        // The toolbar: the emoji toggle, the (hidden) panel, photo and file.
        let tools_y = MENU_H + body_h + 4;
        let mut toggle = Button::new(LIST_W + 4, tools_y, 100, 30, "表情 Emoji");
        toggle.set_image(Some(emoji::image(0, 20)));
        toggle.set_align(Align::ImageNextToText | Align::Inside);
        toggle.emit(sender, Message::ToggleEmoji);
        let mut emoji_panel = Group::new(LIST_W + 108, tools_y, 7 * 34, 30, None);
        for (i, e) in EMOJI.iter().enumerate() {
            let mut button = Button::new(LIST_W + 108 + 34 * i as i32, tools_y, 32, 30, None);
            button.set_image(Some(emoji::image(i, 24)));
            button.set_frame(FrameType::FlatBox);
            button.set_tooltip(&format!("{} :{}:", e.chinese, e.name));
            button.emit(sender, Message::Emoji(i));
        }
        emoji_panel.end();
        emoji_panel.hide();
        let mut photo = Button::new(w - 200, tools_y, 96, 30, "图片 Photo");
        photo.emit(sender, Message::SendPhoto);
        let mut file = Button::new(w - 100, tools_y, 96, 30, "文件 File");
        file.emit(sender, Message::SendFile);

        let input_y = tools_y + TOOLS_H;
        let mut input = Input::new(4, input_y, w - 104, INPUT_H, None);
        input.set_text_size(15);
        // Enter in the input, or the button, sends.
        let mut send = ReturnButton::new(w - 96, input_y, 92, INPUT_H, "发送 Send");
        send.emit(sender, Message::Send);

        let mut status = Frame::new(0, h - STATUS_H, w, STATUS_H, None);
        status.set_frame(FrameType::ThinDownBox);
        status.set_align(Align::Left | Align::Inside);
        window.end();
        window.set_icon(Some(emoji::image(0, 32)));
        window.set_callback(move |_| {
            // The close button asks first, like the menu's Quit; Escape does nothing.
            if fltk::app::event() == fltk::enums::Event::Close {
                sender.send(Message::Quit);
            }
        });
        window.show();
        let _ = input.take_focus();
        ChatWindow {
            window,
            rows,
            users,
            users_label,
            input,
            emoji_panel,
            status,
            shown: 0,
        }
    }

    /// Appends the model's lines that are not shown yet.
    pub fn show_new_lines(&mut self, model: &Model) {
        for (index, line) in model.lines().iter().enumerate().skip(self.shown) {
            self.rows.push(index, line);
        }
        self.shown = model.lines().len();
        self.rows.scroll_to_end();
    }

    /// Rebuilds the online list and selects the current partner.
    pub fn show_users(&mut self, model: &Model) {
        self.users.clear();
        self.users.add(GROUP_CHAT);
        let me = model.me().map(|me| me.username.clone());
        let mut selected = 1;
        for (i, user) in model.users().iter().enumerate() {
            let mut text = describe_user(user).replace('@', "@@");
            if Some(&user.username) == me.as_ref() {
                text.push_str(" (我 me)");
            }
            self.users.add(&text);
            if Some(&user.username) == model.target() {
                selected = i as i32 + 2;
            }
        }
        self.users.select(selected);
        self.users_label
            .set_label(&format!("在线用户 Online: {}", model.users().len()));
        self.show_status(model);
    }

    /// The online user behind browser line `line`; `None` for the group chat.
    pub fn user_at(model: &Model, line: i32) -> Option<String> {
        let index = usize::try_from(line).ok()?.checked_sub(2)?;
        model.users().get(index).map(|u| u.username.to_string())
    }

    /// Updates the title ("ChatLab — 小明 → Julia") and the status bar.
    pub fn show_status(&mut self, model: &Model) {
        self.window.set_label(&model.title());
        let (text, colour) = match model.status() {
            Status::Online => (
                format!("● 已连接 connected · {} online", model.users().len()),
                Color::from_rgb(0, 120, 0),
            ),
            Status::Connecting => ("○ 连接中 connecting…".to_owned(), Color::DarkYellow),
            Status::Reconnecting { secs, reason } => (
                format!("○ 连接断开 {reason}; reconnecting in {secs} s"),
                Color::from_rgb(170, 60, 0),
            ),
            Status::Offline => ("✕ 离线 offline".to_owned(), Color::from_rgb(170, 0, 0)),
        };
        self.status.set_label(&text);
        self.status.set_label_color(colour);
        self.status.redraw();
    }

    /// Shows or hides the emoji panel.
    pub fn toggle_emoji(&mut self) {
        if self.emoji_panel.visible() {
            self.emoji_panel.hide();
        } else {
            self.emoji_panel.show();
        }
        self.window.redraw();
    }

    /// Hides the emoji panel (after a pick, like the seed's panel).
    pub fn hide_emoji(&mut self) {
        self.emoji_panel.hide();
        self.window.redraw();
    }

    /// Shows or hides the online list, giving its room to the messages.
    pub fn toggle_users(&mut self) {
        let scroll = &mut self.rows.scroll;
        if self.users.visible() {
            self.users.hide();
            self.users_label.hide();
            scroll.resize(0, scroll.y(), self.window.w(), scroll.h());
        } else {
            self.users.show();
            self.users_label.show();
            scroll.resize(
                LIST_W + 4,
                scroll.y(),
                self.window.w() - LIST_W - 4,
                scroll.h(),
            );
        }
        self.window.redraw();
    }
}

/// The question asked when a file arrives, as the seed's pop-up asked
/// whether to open it at once.
pub fn file_question(from: &str, name: &str, size: u64) -> String {
    format!(
        "{from} 发送了文件 sent a file:\n{name} ({})\n\n打开还是保存？Open it or save it?",
        human_size(size)
    )
}
