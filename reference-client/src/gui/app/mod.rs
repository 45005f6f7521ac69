//! The App: owns the model, the windows and the network client, and applies
//! each [`Message`] from the event loop to them. It is the one place where
//! the model, the network and the widgets meet.

mod script;
mod transfers;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Child;
use std::thread::JoinHandle;

use anyhow::{Context, anyhow};
use fltk::app::{self, Scheme, Sender};
use fltk::dialog;
use fltk::prelude::*;
use fltk::window::Window;
use protocol::{AuthResult, Kind, Response};

use super::chat::ChatWindow;
use super::login::{LoginWindow, RegisterDialog};
use super::{Message, Options, files, screenshot};
use crate::model::{Body, Effect, Model, describe_reason};
use crate::net::{self, Client, Event};
use crate::{cache, clock};
use transfers::FileAction;

/// The GUI's state.
pub struct App {
    options: Options,
    sender: Sender<Message>,
    model: Model,
    client: Option<Client>,
    login: LoginWindow,
    register: Option<RegisterDialog>,
    registering: Option<JoinHandle<()>>,
    chat: Option<ChatWindow>,
    browse: Option<Window>,
    cache_dir: PathBuf,
    /// Programs started to open files; reaped as they exit.
    children: Vec<Child>,
    file_actions: HashMap<String, FileAction>,
    /// Set when the event loop should stop, with the exit status.
    exit: Option<anyhow::Result<()>>,
}

impl App {
    /// Builds the login window and runs the event loop until the user quits.
    pub fn run(options: Options) -> anyhow::Result<()> {
        let fltk_app = app::App::default().with_scheme(Scheme::Gtk);
        let (sender, receiver) = app::channel::<Message>();
        let mut login = LoginWindow::new(sender, &options.addr, &options.user, &options.password);
        login.window.show();
        if let (Some(path), false) = (&options.screenshot, options.autologin) {
            // Just the login window, for the smoke test and the README.
            return screenshot::save(&mut login.window, path)
                .with_context(|| format!("cannot save a screenshot to {}", path.display()));
        }
        if options.autologin {
            sender.send(Message::Login);
        }
        if options.test_expect.is_some() {
            let timeout = options.test_timeout.as_secs_f64();
            app::add_timeout3(timeout, move |_| sender.send(Message::TestTimeout));
        }
        let mut this = App {
            cache_dir: options.cache_dir.clone().unwrap_or_default(),
            options,
            sender,
            model: Model::new(),
            client: None,
            login,
            register: None,
            registering: None,
            chat: None,
            browse: None,
            children: Vec::new(),
            file_actions: HashMap::new(),
            exit: None,
        };
        let mut result = Ok(());
        while fltk_app.wait() {
            while let Some(message) = receiver.recv() {
                this.handle(message);
            }
            if let Some(exit) = this.exit.take() {
                result = exit;
                break;
            }
        }
        // Log out and join the network threads before the process ends.
        drop(this.client.take());
        if let Some(thread) = this.registering.take() {
            let _ = thread.join();
        }
        result
    }

    fn handle(&mut self, message: Message) {
        self.children
            .retain_mut(|child| matches!(child.try_wait(), Ok(None)));
        match message {
            Message::Net(event) => self.on_net(event),
            Message::Login => self.start_login(),
            Message::OpenRegister => {
                let user = self.login.user.value();
                self.register = Some(RegisterDialog::open(self.sender, &user));
            }
            Message::Clear => self.login.clear(),
            Message::Register => self.start_register(),
            Message::Registered(Ok(nickname)) => {
                if let Some(dialog) = self.register.take() {
                    self.login.user.set_value(&dialog.user.value());
                    self.login.password.set_value(&dialog.password.value());
                    let mut window = dialog.window;
                    window.hide();
                }
                let text = format!("注册成功 registered as {nickname}!\n请登录 Now log in.");
                dialog::message_default(&text);
            }
            Message::Registered(Err(e)) => {
                dialog::alert_default(&format!("注册失败 registration failed:\n{e}"))
            }
            Message::Send => self.send_input(),
            Message::ToggleEmoji => self.with_chat(ChatWindow::toggle_emoji),
            Message::Emoji(i) => self.with_chat(|chat| {
                chat.input
                    .insert(&protocol::emoji::EMOJI[i].shortcode())
                    .ok();
                chat.hide_emoji();
                let _ = chat.input.take_focus();
            }),
            Message::SelectUser => self.select_user(),
            Message::FetchFile { id, save } => self.fetch_file(&id, save),
            Message::SaveCopy(path) => {
                if let Some(dest) = files::choose("另存为 Save as", true, "")
                    && let Err(e) = std::fs::copy(&path, &dest)
                {
                    dialog::alert_default(&format!("cannot save {}: {e}", dest.display()));
                }
            }
            Message::SendPhoto => self.upload(Kind::Photo),
            Message::SendFile => self.upload(Kind::File),
            Message::Browse => self.browse = Some(files::browse(&self.cache_dir, self.sender)),
            Message::Open(path) => match files::open(&path) {
                Ok(child) => self.children.push(child),
                Err(e) => dialog::alert_default(&format!("cannot open {}: {e}", path.display())),
            },
            Message::SaveTranscript => {
                if let Some(path) = files::choose("保存聊天记录 Save transcript", true, "")
                    && let Err(e) = files::save_transcript(&self.model, &path)
                {
                    dialog::alert_default(&format!("cannot save {}: {e}", path.display()));
                }
            }
            Message::ToggleUsers => self.with_chat(ChatWindow::toggle_users),
            Message::Quit => {
                let testing = self.options.test_expect.is_some();
                if self.chat.is_none()
                    || testing
                    || dialog::choice2_default(
                        "确定要离开聊天室吗？\nLeave the chat room?",
                        "取消 Cancel",
                        "退出 Leave",
                        "",
                    ) == Some(1)
                {
                    self.exit = Some(Ok(()));
                }
            }
            Message::TestTimeout => {
                let expect = self.options.test_expect.clone().unwrap_or_default();
                self.exit = Some(Err(anyhow!(
                    "test: no line containing {expect:?} within {:?}",
                    self.options.test_timeout
                )));
            }
        }
    }

    fn with_chat(&mut self, f: impl FnOnce(&mut ChatWindow)) {
        if let Some(chat) = &mut self.chat {
            f(chat);
        }
    }

    fn start_login(&mut self) {
        if self.client.is_some() {
            return; // already connecting or connected
        }
        let user = self.login.user.value().trim().to_owned();
        let password = self.login.password.value();
        if user.is_empty() || password.is_empty() {
            dialog::alert_default("请输入用户名和密码 — enter a username and a password");
            return;
        }
        let config = match self.config(&user, &password) {
            Ok(config) => config,
            Err(e) => {
                dialog::alert_default(&format!("{e:#}"));
                return;
            }
        };
        self.cache_dir = config.cache_dir.clone();
        self.login.set_note("连接中 connecting…");
        self.model = Model::new();
        let sender = self.sender;
        self.client = Some(Client::start(config, move |event| {
            sender.send(Message::Net(event))
        }));
    }

    fn config(&self, user: &str, password: &str) -> anyhow::Result<net::Config> {
        let resolve = |addr: &str| -> anyhow::Result<std::net::SocketAddr> {
            use std::net::ToSocketAddrs;
            addr.trim()
                .to_socket_addrs()
                .ok()
                .and_then(|mut a| a.next())
                .with_context(|| format!("服务器地址无效 — {addr:?} is not a HOST:PORT address"))
        };
        let cache_dir = self
            .options
            .cache_dir
            .clone()
            .unwrap_or_else(|| cache::default_dir(user));
        let mut config = net::Config::new(
            resolve(&self.login.addr.value())?,
            user,
            password,
            cache_dir,
        );
        if let Some(addr) = &self.options.photo_addr {
            config.photo = resolve(addr)?;
        }
        if let Some(addr) = &self.options.file_addr {
            config.file = resolve(addr)?;
        }
        config.reconnect = self.options.reconnect;
        Ok(config)
    }

    fn start_register(&mut self) {
        let Some(dialog) = &self.register else { return };
        let (user, password) = (
            dialog.user.value().trim().to_owned(),
            dialog.password.value(),
        );
        let nickname = match dialog.nickname.value().trim() {
            "" => user.clone(),
            nickname => nickname.to_owned(),
        };
        if user.is_empty() || password.is_empty() {
            dialog::alert_default("请输入用户名和密码 — enter a username and a password");
            return;
        }
        if password != dialog.confirm.value() {
            dialog::alert_default("两次密码输入不一致 — the two passwords differ");
            return;
        }
        let addr = match self.config(&user, &password) {
            Ok(config) => config.chat,
            Err(e) => return dialog::alert_default(&format!("{e:#}")),
        };
        if let Some(previous) = self.registering.take() {
            let _ = previous.join();
        }
        let sender = self.sender;
        // Registering blocks on the network: do it off the event loop.
        self.registering = Some(std::thread::spawn(move || {
            let result = net::register(addr, &user, &password, &nickname).map_err(|e| match e {
                net::RegisterError::Rejected(reason) => describe_reason(&reason),
                other => other.to_string(),
            });
            sender.send(Message::Registered(result));
        }));
    }

    fn on_net(&mut self, event: Event) {
        let logged_in = matches!(
            &event,
            Event::Frame(Response::LoginResult(AuthResult::Ok { .. }))
        );
        if let Event::Downloaded { item, path } = &event {
            self.finish_file(item, path);
        }
        let effects = self.model.apply(event, clock::now());
        if logged_in && self.chat.is_none() {
            self.login.window.hide();
            let mut chat = ChatWindow::open(self.sender);
            chat.show_users(&self.model);
            self.chat = Some(chat);
            self.run_test_script();
        }
        for effect in effects {
            match effect {
                Effect::LoginFailed(text) => {
                    self.client = None;
                    self.login.set_note("");
                    if self.options.test_expect.is_some() {
                        self.exit = Some(Err(anyhow!("login failed: {text}")));
                    } else {
                        dialog::alert_default(&format!("登录失败 login failed:\n{text}"));
                    }
                }
                Effect::Offer(item) => self.offer(item),
                Effect::LineChanged(index) => {
                    if let (Some(chat), Some(line)) =
                        (&mut self.chat, self.model.lines().get(index))
                        && let Body::Photo {
                            path: Some(path), ..
                        } = &line.body
                    {
                        chat.rows.set_photo(index, path);
                    }
                }
                Effect::UsersChanged => self.with_chat_model(ChatWindow::show_users),
                Effect::TitleChanged | Effect::StatusChanged => {
                    self.with_chat_model(ChatWindow::show_status)
                }
                Effect::LinesAdded => {}
            }
        }
        self.with_chat_model(ChatWindow::show_new_lines);
        self.check_test();
    }

    fn with_chat_model(&mut self, f: impl FnOnce(&mut ChatWindow, &Model)) {
        if let Some(chat) = &mut self.chat {
            f(chat, &self.model);
        }
    }

    fn send_input(&mut self) {
        let (Some(chat), Some(client)) = (&mut self.chat, &self.client) else {
            return;
        };
        let text = chat.input.value();
        if text.trim().is_empty() {
            return;
        }
        match self.model.compose(&text, clock::now()) {
            Ok(request) => {
                client.send(request);
                chat.input.set_value("");
            }
            Err(e) => self.model.notice(clock::now(), e, true),
        }
        chat.show_new_lines(&self.model);
    }

    fn select_user(&mut self) {
        let Some(chat) = &mut self.chat else { return };
        let target = ChatWindow::user_at(&self.model, chat.users.value());
        if let Err(e) = self.model.select(target.as_deref()) {
            dialog::alert_default(&e);
        }
        chat.show_users(&self.model);
    }
}
