//! Field escaping (SPEC.md section 3, ESC-1 to ESC-3).
//!
//! Four characters cannot travel raw inside a field: `\`, `|`, LF and CR. They
//! become `\\`, `\p`, `\n` and `\r`. Escaping `|` as `\p` (not `\|`) means a
//! raw `|` is always a separator, so a receiver may split a line on `|` first
//! and unescape each field afterwards (ESC-2).

use std::borrow::Cow;

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

/// The length in bytes of `text` once escaped (ESC-1), without escaping it:
/// each of the four escaped characters takes one byte more.
pub fn escaped_len(text: &str) -> usize {
    text.len()
        + text
            .bytes()
            .filter(|b| matches!(b, b'\\' | b'|' | b'\n' | b'\r'))
            .count()
}

/// `text` escaped for use as one field (ESC-1).
pub fn escape(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    escape_into(text, &mut out);
    // Escaping replaces ASCII bytes with ASCII bytes, so UTF-8 stays valid.
    String::from_utf8(out).expect("escaping keeps UTF-8 valid")
}

/// Unescapes one field (ESC-2): `field = *( safe-char / escape )` with
/// `escape = "\" ( "\" / "p" / "n" / "r" )`. On failure returns the
/// offending escape as written (such as `\q`, or `\` alone at the end) for
/// the error message (ESC-3).
///
/// This is the hottest loop of every peer, so it jumps from backslash to
/// backslash with `memchr` and copies the runs between them; profiling showed
/// nom's character-at-a-time `escaped_transform` spending a quarter of all
/// parsing time here.
pub fn unescape(raw: &str) -> Result<Cow<'_, str>, String> {
    let bytes = raw.as_bytes();
    let Some(first) = memchr::memchr(b'\\', bytes) else {
        // The common case: nothing to unescape, nothing to copy.
        return Ok(Cow::Borrowed(raw));
    };
    let mut out = String::with_capacity(raw.len());
    let mut plain = 0;
    let mut at = first;
    loop {
        out.push_str(&raw[plain..at]);
        let replacement = match bytes.get(at + 1) {
            Some(b'\\') => '\\',
            Some(b'p') => '|',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            _ => return Err(first_bad_escape(&raw[at..])),
        };
        out.push(replacement);
        plain = at + 2;
        match memchr::memchr(b'\\', &bytes[plain..]) {
            Some(next) => at = plain + next,
            None => break,
        }
    }
    out.push_str(&raw[plain..]);
    Ok(Cow::Owned(out))
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
