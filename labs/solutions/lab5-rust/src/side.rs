//! The photo and file ports (SPEC.md section 10).
//!
//! A side connection carries command lines (`auth`, `put`, `get`, `quit`) and
//! raw bodies. A body is never found by looking for an end marker inside it:
//! the `put SIZE SHA256` line says how many bytes follow, and we read exactly
//! that many (SIDE-3). A photo may contain any bytes, including `EOF`.
//!
//! ```text
//!  client:  put 2048 9f86d0…\n<2048 raw bytes>     (sent together, no sleep)
//!  server:  ok p3f9a0c1d2e4b5a67\n
//! ```
//!
//! Uploads are saved as `items/ID` in the data folder, where ID is chosen
//! here from random bytes (SIDE-6). The name a client gives an upload travels
//! only in `0009` and `1009` and never reaches the file system, so `../../x`
//! is just a funny name.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;

use protocol::limits::{MAX_FILE, MAX_PHOTO, MAX_SIDE_LINE};
use protocol::parse_side_command;
use protocol::side::is_image;
use protocol::{FrameBuffer, ItemId, Kind, Sha256, SideCode, SideCommand, SideReply, Username};

use crate::accounts::random_bytes;
use crate::room::Room;

/// Accepts side connections forever, one thread each (SIDE-1).
pub fn accept_loop(listener: TcpListener, kind: Kind, room: Arc<Room>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let room = Arc::clone(&room);
        thread::spawn(move || {
            let mut side = Side {
                stream,
                lines: FrameBuffer::new(MAX_SIDE_LINE),
                kind,
                user: None,
                room,
            };
            // An error means the client went away: that ends this connection only.
            let _ = side.serve();
        });
    }
}

/// One side connection.
struct Side {
    stream: TcpStream,
    /// Command lines, and the start of a body that came in the same read.
    lines: FrameBuffer,
    kind: Kind,
    /// Who this connection authenticated as, with `auth TICKET` (SIDE-2).
    user: Option<Username>,
    room: Arc<Room>,
}

/// Replies that need no words of their own.
fn err(code: SideCode, reason: &str) -> SideReply {
    SideReply::Err {
        code,
        reason: reason.to_owned(),
    }
}

impl Side {
    /// Commands until `quit` or close (SIDE-1).
    fn serve(&mut self) -> std::io::Result<()> {
        while let Some(line) = self.next_line()? {
            let Ok(line) = line else {
                // SIDE-8: a line over MAX_SIDE_LINE is not a command; the
                // buffer skips the rest of it, and the connection stays usable.
                self.reply(&err(
                    SideCode::Malformed,
                    "a command line is at most 1024 bytes",
                ))?;
                continue;
            };
            match parse_side_command(&line) {
                Ok(SideCommand::Auth(ticket)) => {
                    let reply = self.auth(&ticket);
                    self.reply(&reply)?;
                }
                Ok(SideCommand::Put { size, sha256 }) => {
                    let max = match self.kind {
                        Kind::Photo => MAX_PHOTO,
                        Kind::File => MAX_FILE,
                    };
                    if size > max {
                        // SIDE-4: refuse before reading a single byte of the
                        // body, and close: the body is on its way, and we
                        // will not read it.
                        let reason = format!("at most {max} bytes on this port");
                        return self.reply(&err(SideCode::TooLarge, &reason));
                    }
                    let reply = self.put(size, &sha256)?;
                    self.reply(&reply)?;
                }
                Ok(SideCommand::Get(id)) => self.get(&id)?,
                Ok(SideCommand::Quit) => {
                    return self.reply(&SideReply::Ok); // SIDE-8: ok, then we close
                }
                // SIDE-8: not a command; the connection stays usable.
                Err(_) => {
                    self.reply(&err(SideCode::Malformed, "expected auth, put, get or quit"))?
                }
            }
        }
        Ok(())
    }

    /// `auth TICKET` (SIDE-2).
    fn auth(&mut self, ticket: &str) -> SideReply {
        self.user = self.room.ticket_owner(ticket);
        match self.user {
            Some(_) => SideReply::Ok,
            None => err(SideCode::BadTicket, "that ticket is not valid"),
        }
    }

    /// The body of `put SIZE SHA256`, and what to answer (SIDE-3, SIDE-5, SIDE-6).
    fn put(&mut self, size: u64, sha256: &Sha256) -> std::io::Result<SideReply> {
        // Read the body even if we refuse it, or its bytes would be taken
        // for commands (SIDE-2). `size` fits in memory: it is at most 8 MiB.
        let body = self.read_body(size as usize)?;
        let Some(user) = self.user.clone() else {
            return Ok(err(SideCode::NotAuthed, "send auth TICKET first"));
        };
        if &Sha256::of(&body) != sha256 {
            return Ok(err(
                SideCode::HashMismatch,
                "the bytes do not match their SHA-256",
            ));
        }
        if self.kind == Kind::Photo && !is_image(&body) {
            return Ok(err(SideCode::NotImage, "a photo is a PNG, JPEG or GIF")); // SIDE-5
        }
        // SIDE-6: our id, from random bytes: unique across both ports, and
        // nothing the client sent is part of it.
        let letter = match self.kind {
            Kind::Photo => 'p',
            Kind::File => 'f',
        };
        let hex: String = random_bytes::<8>()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let id = ItemId::new(format!("{letter}{hex}")).map_err(std::io::Error::other)?;
        std::fs::write(self.room.item_path(&id), &body)?;
        self.room
            .add_item(id.clone(), self.kind, user, size, sha256.clone());
        Ok(SideReply::Stored(id))
    }

    /// `get ID`: the reply, then the body (SIDE-7).
    fn get(&mut self, id: &str) -> std::io::Result<()> {
        let Some(user) = self.user.clone() else {
            return self.reply(&err(SideCode::NotAuthed, "send auth TICKET first"));
        };
        // `../../etc/passwd` is not an item-id, so it is not even looked up:
        // the same answer as for an id that does not exist, or is not yours.
        let found = ItemId::new(id)
            .ok()
            .and_then(|id| Some((self.room.item_for(&user, &id)?, id)));
        let Some(((size, sha256), id)) = found else {
            return self.reply(&err(
                SideCode::NoSuchItem,
                "no item with that id is available to you",
            ));
        };
        let body = std::fs::read(self.room.item_path(&id))?;
        // The reply line and the body in one write: the size says where the body ends.
        let mut out = SideReply::Body { size, sha256 }.to_bytes();
        out.extend_from_slice(&body);
        self.stream.write_all(&out)
    }

    fn reply(&mut self, reply: &SideReply) -> std::io::Result<()> {
        self.stream.write_all(&reply.to_bytes())
    }

    /// The next command line (too long: `Err`), or `None` when the client closed.
    fn next_line(&mut self) -> std::io::Result<Option<Result<Vec<u8>, protocol::FrameError>>> {
        loop {
            if let Some(line) = self.lines.next_line() {
                return Ok(Some(line.map(<[u8]>::to_vec)));
            }
            let mut buf = [0u8; 4096];
            let n = self.stream.read(&mut buf)?;
            if n == 0 {
                return Ok(None);
            }
            self.lines.push(&buf[..n]);
        }
    }

    /// Exactly `size` bytes of body: first what the line buffer already holds
    /// (it came in the same read as the command), then straight from the socket.
    fn read_body(&mut self, size: usize) -> std::io::Result<Vec<u8>> {
        let mut body = self.lines.take_raw(size);
        let start = body.len();
        body.resize(size, 0);
        self.stream.read_exact(&mut body[start..])?;
        Ok(body)
    }
}
