//! The login window and the registration dialog, laid out like the seed
//! clients': server address, username, password; Login, Register, Clear;
//! Enter submits. They only collect text and emit [`Message`]s; checking and
//! talking to the server is the app's job.

use fltk::app::Sender;
use fltk::button::{Button, ReturnButton};
use fltk::enums::{Color, Font};
use fltk::frame::Frame;
use fltk::input::{Input, SecretInput};
use fltk::prelude::*;
use fltk::window::Window;

use super::Message;

/// The banner: Chinese first, so a missing CJK font shows up at once.
const BANNER: &str = "聊天室 ChatLab";

/// The login window's size.
pub const LOGIN_SIZE: (i32, i32) = (480, 300);

/// Where the fields start and how wide they are.
const FIELD_X: i32 = 150;
const FIELD_W: i32 = 250;

/// The login window.
pub struct LoginWindow {
    /// The window itself.
    pub window: Window,
    /// Server address, `HOST:PORT`.
    pub addr: Input,
    /// Username.
    pub user: Input,
    /// Password.
    pub password: SecretInput,
    /// A line under the fields: "connecting…" or the last error.
    pub note: Frame,
}

impl LoginWindow {
    /// Builds the window (not shown yet) with initial field values.
    pub fn new(sender: Sender<Message>, addr: &str, user: &str, password: &str) -> Self {
        let (w, h) = LOGIN_SIZE;
        let mut window = Window::default()
            .with_size(w, h)
            .with_label("用户登录 ChatLab login");
        let mut banner = Frame::new(0, 10, w, 70, BANNER);
        banner.set_label_size(32);
        // Helvetica maps to pango's "Sans", which fontconfig falls back from
        // to a CJK font (fonts-noto-cjk, installed by .ci/setup).
        banner.set_label_font(Font::Helvetica);
        let mut addr_in = Input::new(FIELD_X, 95, FIELD_W, 28, "服务器 Server:");
        addr_in.set_value(addr);
        let mut user_in = Input::new(FIELD_X, 130, FIELD_W, 28, "用户名 Username:");
        user_in.set_value(user);
        let mut password_in = SecretInput::new(FIELD_X, 165, FIELD_W, 28, "密码 Password:");
        password_in.set_value(password);
        let mut note = Frame::new(20, 198, w - 40, 24, None);
        note.set_label_color(Color::from_rgb(160, 30, 30));

        // A ReturnButton fires on Enter anywhere in the window.
        let mut login = ReturnButton::new(60, 235, 110, 32, "登录 Login");
        login.emit(sender, Message::Login);
        let mut register = Button::new(185, 235, 110, 32, "注册 Register");
        register.emit(sender, Message::OpenRegister);
        let mut clear = Button::new(310, 235, 110, 32, "清空 Clear");
        clear.emit(sender, Message::Clear);
        window.end();
        // The seed client set its own window icon; ours is the happy emoji.
        window.set_icon(Some(super::emoji::image(0, 32)));
        window.set_callback(move |_| {
            if fltk::app::event() == fltk::enums::Event::Close {
                fltk::app::quit();
            }
        });
        LoginWindow {
            window,
            addr: addr_in,
            user: user_in,
            password: password_in,
            note,
        }
    }

    /// Empties the username and password (the seed's Clear button).
    pub fn clear(&mut self) {
        self.user.set_value("");
        self.password.set_value("");
        self.note.set_label("");
        let _ = self.user.take_focus();
    }

    /// Shows `text` under the fields.
    pub fn set_note(&mut self, text: &str) {
        self.note.set_label(text);
        self.window.redraw();
    }
}

/// The registration dialog: username, password, confirm password, nickname.
pub struct RegisterDialog {
    /// The dialog window.
    pub window: Window,
    /// The wanted username.
    pub user: Input,
    /// The wanted password.
    pub password: SecretInput,
    /// The password again.
    pub confirm: SecretInput,
    /// The wanted nickname (empty: the username).
    pub nickname: Input,
}

impl RegisterDialog {
    /// Builds and shows the dialog, modal over the login window.
    pub fn open(sender: Sender<Message>, user: &str) -> Self {
        let mut window = Window::default()
            .with_size(440, 240)
            .with_label("用户注册 Register");
        let mut user_in = Input::new(FIELD_X, 20, FIELD_W, 28, "用户名 Username:");
        user_in.set_value(user);
        let password = SecretInput::new(FIELD_X, 55, FIELD_W, 28, "密码 Password:");
        let confirm = SecretInput::new(FIELD_X, 90, FIELD_W, 28, "确认 Confirm:");
        let nickname = Input::new(FIELD_X, 125, FIELD_W, 28, "昵称 Nickname:");
        let mut ok = ReturnButton::new(90, 180, 120, 32, "注册 Register");
        ok.emit(sender, Message::Register);
        let mut cancel = Button::new(230, 180, 120, 32, "取消 Cancel");
        cancel.set_callback(|b| {
            if let Some(mut window) = b.window() {
                window.hide();
            }
        });
        window.end();
        window.make_modal(true);
        window.show();
        RegisterDialog {
            window,
            user: user_in,
            password,
            confirm,
            nickname,
        }
    }
}
