//! The generator's own chat frames: how a sender writes them and how a
//! receiver reads them back.
//!
//! A message's text is `<seq> <sent ns>` (plus `x` padding), so that the
//! receiver can check per-sender order (CHAT-4) and compute the latency from
//! the sender's clock. Receivers decode most frames straight from the bytes
//! ([`quick_chat`]) and the rest with the full parser ([`parsed_chat`]).

use protocol::{Request, Text, Username};

use crate::run::Run;

/// Appends one of the generator's chat frames: `seq`, then the sending
/// time, which the receiver subtracts from its own clock.
pub fn encode_chat(run: &Run, username: &Username, seq: u32, out: &mut Vec<u8>) {
    // The padding is an empty string filled to width with `x`: no second
    // allocation per message.
    let text = Text::new(format!(
        "{seq} {}{:x<pad$}",
        run.now_ns(),
        "",
        pad = run.work.pad
    ))
    .expect("a valid text");
    Request::Chat {
        username: username.clone(),
        text,
    }
    .encode(out);
}

/// The fields of one of the generator's own chat frames, decoded from the
/// bytes without building strings: `1002|b<sender>|<seq> <sent ns>x...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fields {
    pub sender: usize,
    pub seq: u32,
    pub sent: u64,
}

/// Decodes a `1002` written by the generator; `None` for any other frame,
/// which then goes through the full parser.
pub fn quick_chat(line: &[u8]) -> Option<Fields> {
    let rest = line.strip_prefix(b"1002|b")?;
    let (sender, rest) = digits(rest)?;
    let rest = rest.strip_prefix(b"|")?;
    let (seq, rest) = digits(rest)?;
    let rest = rest.strip_prefix(b" ")?;
    let (sent, rest) = digits(rest)?;
    if !rest.iter().all(|&b| b == b'x') {
        return None;
    }
    Some(Fields {
        sender: usize::try_from(sender).ok()?,
        seq: u32::try_from(seq).ok()?,
        sent,
    })
}

/// A run of ASCII digits at the start of `bytes`, and what follows it.
fn digits(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let end = bytes
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(bytes.len());
    if end == 0 || end > 19 {
        return None;
    }
    let value = bytes[..end]
        .iter()
        .fold(0u64, |v, &b| v * 10 + u64::from(b - b'0'));
    Some((value, &bytes[end..]))
}

/// The same fields from a parsed `1002`.
pub fn parsed_chat(nickname: &str, text: &str) -> Option<Fields> {
    let sender = nickname.strip_prefix('b')?.parse().ok()?;
    let mut words = text.split(' ');
    let seq = words.next()?.parse().ok()?;
    let sent = words.next()?.trim_end_matches('x').parse().ok()?;
    Some(Fields { sender, seq, sent })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_frames_carry_their_padding_and_parse_back() {
        let work = crate::run::Workload {
            clients: 2,
            senders: 1,
            messages: 1,
            batch: 1,
            rate: 0,
            window: 16,
            pad: 5,
            idle: false,
        };
        let run = Run::new(work, "127.0.0.1:1".parse().unwrap());
        let mut out = Vec::new();
        encode_chat(&run, &Username::new("bench-7").unwrap(), 3, &mut out);
        let line = out.strip_suffix(b"\n").expect("one LF-terminated frame");
        assert!(line.starts_with(b"0002|bench-7|3 ") && line.ends_with(b"xxxxx"));
        let text = std::str::from_utf8(&line[b"0002|bench-7|".len()..]).unwrap();
        assert_eq!(text.matches('x').count(), 5, "{text}");
        let fields = parsed_chat("b7", text).expect("the receiver's parser reads it");
        assert_eq!((fields.sender, fields.seq), (7, 3));
    }

    #[test]
    fn the_shortcut_agrees_with_the_parser_and_refuses_other_frames() {
        let line = b"1002|b12|345 6789xxx";
        let quick = quick_chat(line).expect("a generator frame");
        assert_eq!(
            quick,
            Fields {
                sender: 12,
                seq: 345,
                sent: 6789
            }
        );
        assert_eq!(parsed_chat("b12", "345 6789xxx"), Some(quick));
        for other in [
            &b"1002|b12|345 6789\\p"[..],
            b"1002|someone|345 6789",
            b"1010|JOIN|bench-1|b1|2",
            b"1002|b12|345",
        ] {
            assert_eq!(
                quick_chat(other),
                None,
                "{}",
                String::from_utf8_lossy(other)
            );
        }
    }
}
