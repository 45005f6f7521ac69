//! Laying out one message body: text runs and emoji images flowed into lines
//! of a given width.
//!
//! This is plain arithmetic over a `measure` function, so it is unit-tested
//! without a display; the chat window passes FLTK's text measurement in.
//! Lines break between characters, which suits Chinese (no spaces between
//! words) and is good enough for the short Latin words of a chat.

use protocol::emoji::{Segment, segments};

/// One piece of a laid-out line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Text, drawn from `x` with width `w`.
    Text {
        /// Left edge, from the start of the line.
        x: i32,
        /// Width.
        w: i32,
        /// The text.
        text: String,
    },
    /// An emoji image (an index into `protocol::emoji::EMOJI`) at `x`.
    Emoji {
        /// Left edge, from the start of the line.
        x: i32,
        /// Which emoji.
        index: usize,
    },
}

/// Flows `text` into lines at most `width` wide; emoji (EMOJI-2: only the
/// seven known shortcodes) take `emoji_w` each, text as `measure` says.
pub fn flow(
    text: &str,
    width: i32,
    emoji_w: i32,
    measure: impl Fn(&str) -> i32,
) -> Vec<Vec<Piece>> {
    flow_segments(segments(text), width, emoji_w, measure)
}

/// Flows `text` into lines like [`flow`], with shortcodes left as text (for
/// notices, which quote names and errors rather than chat).
pub fn flow_plain(text: &str, width: i32, measure: impl Fn(&str) -> i32) -> Vec<Vec<Piece>> {
    flow_segments(vec![Segment::Text(text)], width, 0, measure)
}

fn flow_segments(
    segments: Vec<Segment<'_>>,
    width: i32,
    emoji_w: i32,
    measure: impl Fn(&str) -> i32,
) -> Vec<Vec<Piece>> {
    let mut lines: Vec<Vec<Piece>> = vec![Vec::new()];
    let mut x = 0;
    for segment in segments {
        match segment {
            Segment::Emoji(emoji) => {
                if x + emoji_w > width && x > 0 {
                    lines.push(Vec::new());
                    x = 0;
                }
                let index = protocol::emoji::EMOJI
                    .iter()
                    .position(|e| e.name == emoji.name)
                    .unwrap_or(0);
                lines
                    .last_mut()
                    .expect("never empty")
                    .push(Piece::Emoji { x, index });
                x += emoji_w;
            }
            Segment::Text(run) => {
                for (i, part) in run.split('\n').enumerate() {
                    if i > 0 {
                        lines.push(Vec::new());
                        x = 0;
                    }
                    let mut start = x;
                    let mut current = String::new();
                    for ch in part.chars() {
                        current.push(ch);
                        let w = measure(&current);
                        if start + w > width && current.chars().count() > 1 {
                            current.pop();
                            let w = measure(&current);
                            let line = lines.last_mut().expect("never empty");
                            line.push(Piece::Text {
                                x: start,
                                w,
                                text: std::mem::take(&mut current),
                            });
                            lines.push(Vec::new());
                            start = 0;
                            current.push(ch);
                        } else if start + w > width && start > 0 {
                            // Not even one character fits after an emoji.
                            lines.push(Vec::new());
                            start = 0;
                        }
                    }
                    if !current.is_empty() {
                        let w = measure(&current);
                        lines.last_mut().expect("never empty").push(Piece::Text {
                            x: start,
                            w,
                            text: current,
                        });
                        x = start + w;
                    } else {
                        x = start;
                    }
                }
            }
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character 10 pixels wide.
    fn chars(s: &str) -> i32 {
        10 * s.chars().count() as i32
    }

    fn text(x: i32, s: &str) -> Piece {
        Piece::Text {
            x,
            w: chars(s),
            text: s.into(),
        }
    }

    #[test]
    fn short_text_is_one_line() {
        assert_eq!(flow("大家好", 100, 24, chars), [vec![text(0, "大家好")]]);
    }

    #[test]
    fn long_text_wraps_between_characters() {
        assert_eq!(
            flow("今晚开会吗八点见", 50, 24, chars),
            [vec![text(0, "今晚开会吗")], vec![text(0, "八点见")]]
        );
    }

    #[test]
    fn emoji_sit_between_text_runs() {
        assert_eq!(
            flow("好:happy:的:nope:", 200, 24, chars),
            [vec![
                text(0, "好"),
                Piece::Emoji { x: 10, index: 0 },
                text(34, "的:nope:"),
            ]]
        );
    }

    #[test]
    fn plain_text_keeps_shortcodes() {
        assert_eq!(
            flow_plain("a:happy:", 100, chars),
            [vec![text(0, "a:happy:")]]
        );
    }

    #[test]
    fn newlines_start_new_lines() {
        assert_eq!(
            flow("a\n:sob:b", 100, 24, chars),
            [
                vec![text(0, "a")],
                vec![Piece::Emoji { x: 0, index: 4 }, text(24, "b")]
            ]
        );
    }
}
