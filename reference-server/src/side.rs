//! The photo and file ports (SPEC.md section 10): `auth`, `put`, `get` and
//! `quit` on a connection of their own, one thread per connection.
//!
//! Bodies are counted, never searched for an end marker (SIDE-3): after
//! `put SIZE SHA256` exactly SIZE bytes are read, whatever they contain, and
//! streamed to a temporary file while they are hashed. Who may fetch what is
//! the room's decision (SHARE-3); this module only moves bytes.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;

use protocol::limits::MAX_SIDE_LINE;
use protocol::side::is_image;
use protocol::{
    FrameBuffer, ItemId, Kind, SideCode, SideCommand, SideReply, Username, parse_side_command,
};
use socket2::Socket;

use crate::net::{Shared, linger};
use crate::store::Upload;

/// A side connection's state: its socket, its framing, and who it is.
struct Side<'a> {
    shared: &'a Shared,
    kind: Kind,
    socket: &'a Socket,
    frames: FrameBuffer,
    user: Option<Username>,
}

/// What to do after a command.
enum Next {
    Continue,
    Close,
}

/// Serves one side connection until `quit`, an error that closes it, or EOF.
pub(crate) fn serve(shared: &Arc<Shared>, kind: Kind, socket: &Socket, peer: SocketAddr) {
    log::debug!("{kind:?} connection from {peer}");
    let mut side = Side {
        shared,
        kind,
        socket,
        frames: FrameBuffer::new(MAX_SIDE_LINE),
        user: None,
    };
    if let Err(e) = side.run() {
        log::debug!("{kind:?} connection from {peer} ended: {e}");
    }
    let _ = socket.shutdown(Shutdown::Write);
    linger(socket);
}

impl Side<'_> {
    fn run(&mut self) -> io::Result<()> {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            while let Some(line) = self.frames.next_line() {
                let command = match line {
                    Ok(line) => parse_side_command(line),
                    Err(e) => Err(protocol::SideError {
                        what: "command",
                        line: e.to_string(),
                    }),
                };
                let next = match command {
                    Ok(command) => self.command(command)?,
                    Err(e) => {
                        // SIDE-8: answered, and the connection stays usable.
                        self.reply(SideCode::Malformed, &e.to_string())?;
                        Next::Continue
                    }
                };
                if let Next::Close = next {
                    return Ok(());
                }
            }
            let n = match self.socket_read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.frames.push(&buf[..n]);
        }
    }

    fn command(&mut self, command: SideCommand) -> io::Result<Next> {
        match command {
            SideCommand::Auth(ticket) => {
                let user = self.shared.core().room.redeem(&ticket);
                match user {
                    Some(user) => {
                        log::info!("{user} opened the {:?} port", self.kind);
                        self.user = Some(user);
                        self.send(&SideReply::Ok)?;
                    }
                    None => self.reply(SideCode::BadTicket, "that ticket is not valid")?, // SIDE-2
                }
                Ok(Next::Continue)
            }
            SideCommand::Put { size, sha256 } => self.put(size, sha256),
            SideCommand::Get(id) => {
                self.get(&id)?;
                Ok(Next::Continue)
            }
            SideCommand::Quit => {
                self.send(&SideReply::Ok)?; // SIDE-8
                Ok(Next::Close)
            }
        }
    }

    /// `put SIZE SHA256` and its body (SIDE-3 to SIDE-6).
    fn put(&mut self, size: u64, sha256: protocol::Sha256) -> io::Result<Next> {
        let config = self.shared.config();
        let limit = match self.kind {
            Kind::Photo => config.max_photo,
            Kind::File => config.max_file,
        };
        if size > limit {
            // SIDE-4: refuse without reading the body, and close.
            self.reply(SideCode::TooLarge, &format!("at most {limit} bytes"))?;
            return Ok(Next::Close);
        }
        let Some(user) = self.user.clone() else {
            // SIDE-2. The body follows anyway; skip it to stay in step.
            self.body(size, None)?;
            self.reply(SideCode::NotAuthed, "send auth TICKET first")?;
            return Ok(Next::Continue);
        };
        let mut upload = self.shared.store().upload()?;
        if let Err(e) = self.body(size, Some(&mut upload)) {
            upload.discard();
            return Err(e);
        }
        if upload.sha256() != sha256 {
            upload.discard();
            self.reply(SideCode::HashMismatch, "the SHA-256 of the bytes differs")?;
            return Ok(Next::Continue);
        }
        if self.kind == Kind::Photo && !is_image(upload.head()) {
            upload.discard();
            self.reply(SideCode::NotImage, "a photo is a PNG, JPEG or GIF image")?; // SIDE-5
            return Ok(Next::Continue);
        }
        let id = self
            .shared
            .core()
            .room
            .add_item(self.kind, user.clone(), size, sha256);
        if let Err(e) = upload.commit(self.shared.store(), &id) {
            log::error!("cannot store upload {id}: {e}");
            self.reply(SideCode::TooLarge, "the server could not store it")?;
            return Ok(Next::Close);
        }
        log::info!(
            "{user} uploaded {id} ({size} bytes) on the {:?} port",
            self.kind
        );
        self.send(&SideReply::Stored(id))?;
        Ok(Next::Continue)
    }

    /// Reads exactly `size` body bytes, into `upload` or nowhere.
    fn body(&mut self, size: u64, mut upload: Option<&mut Upload>) -> io::Result<()> {
        let mut left = size;
        let buffered = self
            .frames
            .take_raw(usize::try_from(size).unwrap_or(usize::MAX));
        left -= buffered.len() as u64;
        if let Some(upload) = upload.as_deref_mut() {
            upload.write(&buffered)?;
        }
        let mut buf = vec![0u8; 64 * 1024];
        while left > 0 {
            let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = match self.socket_read(&mut buf[..want]) {
                Ok(0) => {
                    return Err(io::Error::new(
                        ErrorKind::UnexpectedEof,
                        "the body ended early",
                    ));
                }
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if let Some(upload) = upload.as_deref_mut() {
                upload.write(&buf[..n])?;
            }
            left -= n as u64;
        }
        Ok(())
    }

    /// `get ID` (SIDE-7): the bytes, or one answer for every id you may not have.
    fn get(&mut self, id: &str) -> io::Result<()> {
        let Some(user) = &self.user else {
            return self.reply(SideCode::NotAuthed, "send auth TICKET first"); // SIDE-2
        };
        // A word that is not an item-id (such as ../../etc/passwd) is never
        // looked up, let alone joined to a path.
        let item = ItemId::new(id).ok().and_then(|id| {
            let core = self.shared.core();
            core.room.items().fetchable(user, id.as_str()).cloned()
        });
        let file =
            item.and_then(|item| Some((self.shared.store().open_item(&item.id).ok()?, item)));
        let Some((mut file, item)) = file else {
            return self.reply(
                SideCode::NoSuchItem,
                "no item with that id is available to you",
            );
        };
        self.send(&SideReply::Body {
            size: item.size,
            sha256: item.sha256.clone(),
        })?;
        let copied = io::copy(&mut (&mut file).take(item.size), &mut self.socket_writer())?;
        if copied != item.size {
            return Err(io::Error::other(format!(
                "item {} is shorter on disk",
                item.id
            )));
        }
        Ok(())
    }

    fn reply(&mut self, code: SideCode, reason: &str) -> io::Result<()> {
        self.send(&SideReply::Err {
            code,
            reason: reason.to_owned(),
        })
    }

    fn send(&mut self, reply: &SideReply) -> io::Result<()> {
        self.socket_writer().write_all(&reply.to_bytes())
    }

    fn socket_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self.socket).read(buf)
    }

    fn socket_writer(&self) -> &Socket {
        self.socket
    }
}
