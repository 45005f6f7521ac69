//! Property tests (STYLE.md practice 5): encoding then parsing is the
//! identity for arbitrary Unicode (ESC-1, ESC-2), and however a byte stream is
//! cut into reads, the frame buffer yields the same frames (FRAME-3, FRAME-4).

use proptest::prelude::*;
use protocol::escape::{escape, escaped_len, unescape};
use protocol::limits::MAX_FRAME;
use protocol::{
    AuthResult, Event, FrameBuffer, HistoryEntry, ItemId, ItemName, Kind, Nickname, OnlineUser,
    Request, Response, Sha256, SharedItem, Text, Token, Username, parse_request, parse_response,
};

/// Text that stresses escaping: the four escaped characters, backslash-letter
/// pairs that look like escapes, CJK, emoji and shortcodes, plus anything else.
fn text() -> impl Strategy<Value = Text> {
    let piece = prop_oneof![
        Just("|".to_owned()),
        Just("\\".to_owned()),
        Just("\n".to_owned()),
        Just("\r".to_owned()),
        Just("\\p".to_owned()),
        Just("\\n".to_owned()),
        Just("小明说：".to_owned()),
        Just("😀".to_owned()),
        Just(":happy:".to_owned()),
        "[^\u{0}]{1,8}",
    ];
    prop::collection::vec(piece, 1..12).prop_map(|p| Text::new(p.concat()).unwrap())
}

fn username() -> impl Strategy<Value = Username> {
    prop_oneof![
        "[A-Za-z0-9_.-]{1,32}",
        "[小明红陈磊刘柔辰]{1,6}",
        "[a-z]{1,4}[甲乙丙]{1,3}",
    ]
    .prop_map(|s| Username::new(s).unwrap())
}

fn nickname() -> impl Strategy<Value = Nickname> {
    prop_oneof![
        "[A-Za-z0-9]{1,10}",
        "[^\\p{Cc}\\s]([^\\p{Cc}]{0,20}[^\\p{Cc}\\s])?"
    ]
    .prop_filter_map("NAME-2", |s| Nickname::new(s).ok())
}

fn token() -> impl Strategy<Value = Token> {
    "[A-Za-z0-9_-]{1,32}".prop_map(|s| Token::new(s).unwrap())
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        ("[^\u{0}]{0,20}", "[^\u{0}]{0,20}")
            .prop_map(|(username, password)| Request::Login { username, password }),
        (username(), text()).prop_map(|(username, text)| Request::Chat { username, text }),
        ("[^\u{0}]{0,20}", "[^\u{0}]{0,20}", "[^\u{0}]{0,20}").prop_map(
            |(username, password, nickname)| Request::Register {
                username,
                password,
                nickname
            }
        ),
        (username(), text()).prop_map(|(to, text)| Request::Private { to, text }),
        Just(Request::Logout),
        Just(Request::List),
        token().prop_map(|token| Request::Ping { token }),
        Just(Request::Ticket),
        (prop::option::of(username()), "[a-z0-9]{1,64}", text()).prop_map(|(to, id, name)| {
            let name: String = name.as_str().chars().take(255).collect();
            Request::Share {
                to,
                id: ItemId::new(id).unwrap(),
                name: ItemName::new(name).unwrap(),
            }
        }),
    ]
}

fn response() -> impl Strategy<Value = Response> {
    prop_oneof![
        (nickname(), username()).prop_map(|(nickname, username)| Response::LoginResult(
            AuthResult::Ok { nickname, username }
        )),
        (nickname(), text()).prop_map(|(nickname, text)| Response::Chat { nickname, text }),
        (username(), nickname(), text()).prop_map(|(from, nickname, text)| Response::Private {
            from,
            nickname,
            text
        }),
        prop::collection::vec((username(), nickname()), 0..5).prop_map(|users| Response::List {
            users: users
                .into_iter()
                .map(|(username, nickname)| OnlineUser { username, nickname })
                .collect()
        }),
        (username(), nickname(), any::<u64>(), any::<bool>()).prop_map(|(u, n, count, join)| {
            Response::Notice {
                event: if join { Event::Join } else { Event::Leave },
                username: u,
                nickname: n,
                count,
            }
        }),
        (
            any::<u64>(),
            username(),
            nickname(),
            prop::option::of(username()),
            text()
        )
            .prop_map(
                |(time, from, nickname, to, text)| Response::History(HistoryEntry {
                    time,
                    from,
                    nickname,
                    to,
                    text
                })
            ),
        (
            username(),
            nickname(),
            any::<u64>(),
            prop::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(
                |(from, nickname, size, bytes)| Response::Shared(SharedItem {
                    kind: if size % 2 == 0 {
                        Kind::Photo
                    } else {
                        Kind::File
                    },
                    from,
                    nickname,
                    to: None,
                    id: ItemId::new("p1").unwrap(),
                    name: ItemName::new("照片 1.png").unwrap(),
                    size,
                    sha256: Sha256::of(&bytes),
                })
            ),
        "[^\u{0}]{0,40}".prop_map(|reason| Response::error(protocol::ErrorCode::BadField, reason)),
    ]
}

/// Cuts `bytes` into reads at the given (sorted, deduplicated) offsets.
fn cut(bytes: &[u8], mut cuts: Vec<usize>) -> Vec<&[u8]> {
    cuts.retain(|&c| c > 0 && c < bytes.len());
    cuts.sort_unstable();
    cuts.dedup();
    let mut out = Vec::new();
    let mut start = 0;
    for c in cuts.into_iter().chain([bytes.len()]) {
        out.push(&bytes[start..c]);
        start = c;
    }
    out
}

fn lines_of(reads: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut buffer = FrameBuffer::new(MAX_FRAME);
    let mut lines = Vec::new();
    for read in reads {
        buffer.push(read);
        while let Some(line) = buffer.next_line() {
            lines.push(line.expect("no frame here is oversize").to_vec());
        }
    }
    assert_eq!(buffer.pending(), 0, "every frame ended with LF");
    lines
}

proptest! {
    // ESC-1, ESC-2: unescape(escape(s)) == s for every string.
    #[test]
    fn escaping_is_reversible(s in "\\PC*|[|\\\\\r\n]*") {
        let escaped = escape(&s);
        prop_assert!(!escaped.contains(['|', '\n', '\r']));
        prop_assert_eq!(escaped_len(&s), escaped.len());
        prop_assert_eq!(unescape(&escaped).unwrap(), s);
    }

    // ESC-1, ESC-2 through whole frames, client to server.
    #[test]
    fn requests_round_trip(frame in request()) {
        let bytes = frame.to_bytes();
        prop_assert_eq!(bytes.iter().filter(|&&b| b == b'\n').count(), 1);
        let parsed = parse_request(&bytes[..bytes.len() - 1]).unwrap();
        prop_assert_eq!(parsed, frame);
    }

    // ESC-1, ESC-2 through whole frames, server to client.
    #[test]
    fn responses_round_trip(frame in response()) {
        let bytes = frame.to_bytes();
        let parsed = parse_response(&bytes[..bytes.len() - 1]).unwrap();
        prop_assert_eq!(parsed, frame);
    }

    // FRAME-3, FRAME-4: any cutting of a stream, CR LF or LF, gives the same frames.
    #[test]
    fn any_chunking_yields_the_same_frames(
        frames in prop::collection::vec(request(), 1..20),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..40),
        crlf in any::<bool>(),
    ) {
        let mut stream = Vec::new();
        for frame in &frames {
            let mut bytes = frame.to_bytes();
            if crlf {
                bytes.insert(bytes.len() - 1, b'\r');
            }
            stream.extend_from_slice(&bytes);
        }
        let offsets = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        let lines = lines_of(&cut(&stream, offsets));
        let parsed: Vec<Request> = lines.iter().map(|l| parse_request(l).unwrap()).collect();
        prop_assert_eq!(parsed, frames);
    }

    // FRAME-5: whatever the input, the buffer never holds much more than
    // MAX_FRAME plus one read, and it recovers at the next LF.
    #[test]
    fn garbage_never_grows_the_buffer(
        reads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..3000), 1..30),
    ) {
        let mut buffer = FrameBuffer::new(MAX_FRAME);
        for read in &reads {
            buffer.push(read);
            prop_assert!(buffer.pending() <= MAX_FRAME + read.len());
            while let Some(line) = buffer.next_line() {
                if let Ok(line) = line {
                    prop_assert!(line.len() < MAX_FRAME);
                    let _ = parse_request(line);
                }
            }
            prop_assert!(buffer.pending() < MAX_FRAME);
        }
        buffer.push(b"\n0006\n");
        let mut last = None;
        while let Some(line) = buffer.next_line() {
            last = Some(line.map(<[u8]>::to_vec));
        }
        prop_assert_eq!(last, Some(Ok(b"0006".to_vec())));
    }
}
