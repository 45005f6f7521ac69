//! A reference server inside the test process, on free ports, with its data
//! in a temporary directory that starts from the seed accounts.

use std::net::SocketAddr;

use reference_server::{Config, Server, ServerHandle};

/// A running reference server; shut down when dropped.
pub struct TestServer {
    handle: Option<ServerHandle>,
    /// The chat port.
    pub chat: SocketAddr,
    /// The photo port.
    pub photo: SocketAddr,
    /// The file port.
    pub file: SocketAddr,
    _data: tempfile::TempDir,
}

impl TestServer {
    /// Binds `127.0.0.1:0` (every port free and chosen by the system) and
    /// starts serving; the ports are open when this returns.
    pub fn start() -> TestServer {
        let data = tempfile::tempdir().expect("cannot create a data directory");
        let config = Config {
            port: 0,
            data_dir: data.path().join("data"),
            ..Config::default()
        };
        let server = Server::bind(config).expect("cannot start the reference server");
        let handle = server.spawn();
        TestServer {
            chat: handle.chat_addr(),
            photo: handle.photo_addr(),
            file: handle.file_addr(),
            handle: Some(handle),
            _data: data,
        }
    }

    /// Stops the server (LOAD-7: every client gets `SHUTDOWN`), then starts
    /// it again on the same ports and data, as an admin restarting it would.
    pub fn restart(&mut self) {
        self.stop();
        let config = Config {
            port: self.chat.port(),
            photo_port: Some(self.photo.port()),
            file_port: Some(self.file.port()),
            data_dir: self._data.path().join("data"),
            ..Config::default()
        };
        let server = Server::bind(config).expect("cannot restart the reference server");
        self.handle = Some(server.spawn());
    }

    /// Stops the server; its ports refuse connections from then on.
    pub fn stop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.shutdown();
        }
    }

    /// The client arguments that point at this server.
    pub fn client_args(&self) -> Vec<String> {
        vec![
            "--addr".into(),
            self.chat.to_string(),
            "--photo-addr".into(),
            self.photo.to_string(),
            "--file-addr".into(),
            self.file.to_string(),
        ]
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}
