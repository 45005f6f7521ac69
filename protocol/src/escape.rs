//! Field escaping (SPEC.md section 3, ESC-1 to ESC-3).
//!
//! Four characters cannot travel raw inside a field: `\`, `|`, LF and CR. They
//! become `\\`, `\p`, `\n` and `\r`. Escaping `|` as `\p` (not `\|`) means a
//! raw `|` is always a separator, so a receiver may split a line on `|` first
//! and unescape each field afterwards (ESC-2).

use nom::branch::alt;
use nom::bytes::complete::{escaped_transform, is_not};
use nom::character::complete::char;
use nom::combinator::{all_consuming, value};
use nom::{IResult, Parser};

/// Appends `text` to `out`, escaped for use as one field (ESC-1).
pub fn escape_into(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    let mut plain = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'\\' => b"\\\\",
            b'|' => b"\\p",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            _ => continue,
        };
        out.extend_from_slice(&bytes[plain..i]);
        out.extend_from_slice(esc);
        plain = i + 1;
    }
    out.extend_from_slice(&bytes[plain..]);
}

/// `text` escaped for use as one field (ESC-1).
pub fn escape(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    escape_into(text, &mut out);
    // Escaping replaces ASCII bytes with ASCII bytes, so UTF-8 stays valid.
    String::from_utf8(out).expect("escaping keeps UTF-8 valid")
}

/// `escape = "\" ( "\" / "p" / "n" / "r" )`, unescaped.
fn escape_sequence(input: &str) -> IResult<&str, &str> {
    alt((
        value("\\", char('\\')),
        value("|", char('p')),
        value("\n", char('n')),
        value("\r", char('r')),
    ))
    .parse(input)
}

/// `field = *( safe-char / escape )`, returned unescaped (ESC-2).
fn field(input: &str) -> IResult<&str, String> {
    escaped_transform(is_not("\\"), '\\', escape_sequence).parse(input)
}

/// Unescapes one field (ESC-2). On failure returns the offending escape as
/// written (such as `\q`, or `\` alone at the end) for the error message (ESC-3).
pub fn unescape(raw: &str) -> Result<String, String> {
    if !raw.contains('\\') {
        return Ok(raw.to_owned());
    }
    match all_consuming(field).parse(raw) {
        Ok((_, text)) => Ok(text),
        Err(_) => Err(first_bad_escape(raw)),
    }
}

/// Finds the first escape that ESC-3 rejects, to name it in the error.
fn first_bad_escape(raw: &str) -> String {
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('\\' | 'p' | 'n' | 'r') => {}
                Some(other) => return format!("\\{other}"),
                None => return "\\".to_owned(),
            }
        }
    }
    "\\".to_owned()
}
