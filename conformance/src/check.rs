//! What a failed check looks like, and the comparisons that produce one.
//!
//! Tests compare what a server sent with what SPEC.md says it must send. An
//! expectation is a frame pattern in which a field `*` matches any value, such
//! as `1001|0|*|admin`; a mismatch yields a [`Failure`] that names the rule,
//! shows expected against actual, and marks the first wrong byte with a caret.

use serde::Serialize;

use crate::transcript::show;

/// Why a test stopped early.
#[derive(Debug, Clone)]
pub enum Stop {
    /// A check failed.
    Fail(Failure),
    /// The test cannot run against this target (the reason says why).
    Skip(String),
}

impl From<Failure> for Stop {
    fn from(f: Failure) -> Self {
        Stop::Fail(f)
    }
}

/// The outcome of one test body.
pub type Outcome = Result<(), Stop>;

/// One failed check.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// The SPEC.md rule the server broke.
    pub rule: String,
    /// One line saying what went wrong, in words a student can act on.
    pub reason: String,
    /// What SPEC.md wants (a pattern, `*` for any field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// What the server sent instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// Character offset in `actual` of the first wrong character.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caret: Option<usize>,
    /// A hint specific to this failure, shown before the test's general hints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Failure {
    /// A failure with a reason and nothing to compare.
    pub fn new(rule: &str, reason: impl Into<String>) -> Self {
        Failure {
            rule: rule.to_owned(),
            reason: reason.into(),
            expected: None,
            actual: None,
            caret: None,
            hint: None,
        }
    }

    /// A failure comparing an expected pattern with the line that came.
    pub fn mismatch(rule: &str, reason: impl Into<String>, pattern: &str, actual: &[u8]) -> Self {
        let actual_text = show(actual);
        let caret = first_difference(pattern, actual).map(|byte| {
            // Convert the byte offset into a column in the shown text.
            show(&actual[..byte.min(actual.len())]).chars().count()
        });
        Failure {
            rule: rule.to_owned(),
            reason: reason.into(),
            expected: Some(pattern.to_owned()),
            actual: Some(actual_text),
            caret,
            hint: None,
        }
    }

    /// Adds a failure-specific hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// True if `line` matches `pattern`, where a pattern field `*` matches any
/// field and a trailing `|**` matches any number of further fields.
pub fn matches(pattern: &str, line: &[u8]) -> bool {
    first_difference(pattern, line).is_none()
}

/// The byte offset in `line` of the first byte that breaks `pattern`, or
/// `None` if the line matches.
pub fn first_difference(pattern: &str, line: &[u8]) -> Option<usize> {
    let mut offset = 0;
    let mut fields = line.split(|&b| b == b'|');
    let pattern_fields: Vec<&str> = pattern.split('|').collect();
    for (i, want) in pattern_fields.iter().enumerate() {
        if *want == "**" {
            return None;
        }
        let Some(got) = fields.next() else {
            // The line has fewer fields: it is wrong where it ends.
            return Some(line.len());
        };
        if *want != "*" {
            let want = want.as_bytes();
            if got != want {
                let common = got.iter().zip(want).take_while(|(a, b)| a == b).count();
                return Some(offset + common);
            }
        }
        offset += got.len() + 1;
        if i + 1 == pattern_fields.len() && fields.next().is_some() {
            // The line has more fields than the pattern: the extra `|` is wrong.
            return Some(offset - 1);
        }
    }
    None
}

/// The field at `index` (0 is the id) of a raw line, lossily decoded.
pub fn field(line: &[u8], index: usize) -> String {
    line.split(|&b| b == b'|')
        .nth(index)
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .unwrap_or_default()
}
