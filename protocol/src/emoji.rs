//! Emoji shortcodes (SPEC.md section 12, EMOJI-1 and EMOJI-2).
//!
//! Emoji travel as `:name:` inside chat text; servers pass them through and
//! clients turn the seven known ones into images. This module is the one list
//! of them, and splits a text into plain runs and emoji for display.

/// One of the seven image emoji of the seed clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Emoji {
    /// The shortcode without colons, such as `happy`.
    pub name: &'static str,
    /// The Chinese name the seed client used, such as 愉快.
    pub chinese: &'static str,
}

impl Emoji {
    /// The shortcode with its colons, such as `:happy:`.
    pub fn shortcode(&self) -> String {
        format!(":{}:", self.name)
    }

    /// The image's file name under `fixtures/emoji/`.
    pub fn file_name(&self) -> String {
        format!("{}.png", self.name)
    }
}

/// The seven required emoji, in the order of SPEC.md section 12.
pub const EMOJI: [Emoji; 7] = [
    Emoji {
        name: "happy",
        chinese: "愉快",
    },
    Emoji {
        name: "cute",
        chinese: "可爱",
    },
    Emoji {
        name: "love",
        chinese: "爱你",
    },
    Emoji {
        name: "joy",
        chinese: "笑哭",
    },
    Emoji {
        name: "sob",
        chinese: "大哭",
    },
    Emoji {
        name: "sweat",
        chinese: "流汗",
    },
    Emoji {
        name: "upset",
        chinese: "难受",
    },
];

/// A piece of chat text: plain text, or one known emoji.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment<'a> {
    /// Text to show as it is (including unknown shortcodes, EMOJI-2).
    Text(&'a str),
    /// A known emoji to show as its image.
    Emoji(Emoji),
}

/// Splits `text` into plain runs and known emoji, in order.
pub fn segments(text: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut plain = 0;
    let mut i = 0;
    while let Some(open) = text[i..].find(':').map(|o| i + o) {
        let after = open + 1;
        let Some(close) = text[after..].find(':').map(|c| after + c) else {
            break;
        };
        match EMOJI.iter().find(|e| e.name == &text[after..close]) {
            Some(emoji) => {
                if plain < open {
                    out.push(Segment::Text(&text[plain..open]));
                }
                out.push(Segment::Emoji(*emoji));
                plain = close + 1;
                i = close + 1;
            }
            // Not an emoji: the closing colon may open the next shortcode.
            None => i = close,
        }
    }
    if plain < text.len() {
        out.push(Segment::Text(&text[plain..]));
    }
    out
}
