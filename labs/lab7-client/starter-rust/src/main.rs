//! ChatLab lab 7 starter, Rust track: a terminal chat client.
//!
//! Usage: `lab7-client HOST PORT USERNAME PASSWORD`
//!
//! It connects, logs in, prints every frame the server sends and sends each
//! line you type as a chat. The `protocol` crate already frames, escapes and
//! parses; the `TODO (lab 7)` parts are yours. Read labs/lab7-client/README.md.

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::thread;

use protocol::limits::MAX_SERVER_FRAME;
use protocol::{FrameBuffer, Request, Response, Text, Username, parse_response};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: lab7-client HOST PORT USERNAME PASSWORD");
        std::process::exit(2);
    }
    let (host, port, user, password) = (&args[1], &args[2], &args[3], &args[4]);
    let mut stream = TcpStream::connect(format!("{host}:{port}"))?;
    let login = Request::Login {
        username: user.clone(),
        password: password.clone(),
    };
    stream.write_all(&login.to_bytes())?;

    // The reader thread: the keyboard and the socket both block, so each gets
    // its own thread.
    let reader = stream.try_clone()?;
    thread::spawn(move || read_loop(reader));

    let Ok(me) = Username::new(user.clone()) else {
        eprintln!("{user} is not a valid username (SPEC.md NAME-1)");
        std::process::exit(2);
    };
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        // TODO (lab 7): commands such as /to USER text (0004), /list (0006),
        // /send PATH (0008, a side connection, put, 0009) and /quit (0005).
        let Ok(text) = Text::new(line) else { continue };
        let chat = Request::Chat {
            username: me.clone(),
            text,
        };
        stream.write_all(&chat.to_bytes())?;
    }
    Ok(())
}

/// Prints what the server sends, one frame at a time.
fn read_loop(mut stream: TcpStream) {
    let mut frames = FrameBuffer::new(MAX_SERVER_FRAME); // FRAME-5: a server's frames may be longer
    let mut buf = [0u8; 65536];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => {
                println!("-- disconnected");
                return;
            }
            Ok(n) => n,
        };
        frames.push(&buf[..n]);
        while let Some(Ok(line)) = frames.next_line() {
            match parse_response(line) {
                Ok(Response::Chat { nickname, text }) => {
                    println!("{}: {}", nickname.as_str(), text.as_str())
                }
                // TODO (lab 7): show 1001 (did the login work?), the online
                // list (1006, 1010), private messages (1004), history (1011,
                // 1012), shared items (1009) and errors (1900). Show emoji
                // shortcodes with protocol::emoji::segments (EMOJI-2).
                Ok(other) => println!("< {other:?}"),
                Err(e) => println!("< a frame SPEC.md does not allow: {e}"),
            }
        }
    }
}
