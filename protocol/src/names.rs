//! Validated newtypes for the values that have a grammar of their own
//! (SPEC.md sections 4 and 5).
//!
//! Each type has a private field and is only built through `new`/`TryFrom`, so
//! a value that exists is valid and can always be encoded: "make invalid values
//! unrepresentable". Their errors say which rule was broken, so the server can
//! pick the right reason code.

use std::fmt;

use serde::Serialize;

use crate::limits::{MAX_ITEM_NAME_CHARS, MAX_NAME_CHARS, MAX_PASSWORD_CHARS};

/// Why a value was rejected by one of the newtypes in this module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The value is empty.
    #[error("it is empty")]
    Empty,
    /// The value has more characters than allowed.
    #[error("it has {len} characters, more than the {max} allowed")]
    TooLong {
        /// Characters in the value.
        len: usize,
        /// The most characters allowed.
        max: usize,
    },
    /// The value contains a character its grammar does not allow.
    #[error("it contains {ch:?}, which is not allowed here")]
    BadChar {
        /// The first character that is not allowed.
        ch: char,
    },
    /// The value begins or ends with white space (NAME-2).
    #[error("it begins or ends with white space")]
    EdgeSpace,
}

fn check_len(s: &str, max: usize) -> Result<(), NameError> {
    let len = s.chars().count();
    if len == 0 {
        return Err(NameError::Empty);
    }
    if len > max {
        return Err(NameError::TooLong { len, max });
    }
    Ok(())
}

fn check_chars(s: &str, ok: impl Fn(char) -> bool) -> Result<(), NameError> {
    match s.chars().find(|&c| !ok(c)) {
        Some(ch) => Err(NameError::BadChar { ch }),
        None => Ok(()),
    }
}

macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident, $check:path) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Validates `value` and wraps it.
            pub fn new(value: impl Into<String>) -> Result<Self, NameError> {
                let value = value.into();
                $check(&value)?;
                Ok(Self(value))
            }

            /// The value as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The value as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl TryFrom<&str> for $name {
            type Error = NameError;
            fn try_from(value: &str) -> Result<Self, NameError> {
                Self::new(value)
            }
        }

        impl TryFrom<String> for $name {
            type Error = NameError;
            fn try_from(value: String) -> Result<Self, NameError> {
                Self::new(value)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// NAME-1: 1 to 32 letters, digits, `_`, `-` or `.`.
fn check_username(s: &str) -> Result<(), NameError> {
    check_len(s, MAX_NAME_CHARS)?;
    check_chars(s, |c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// NAME-2: 1 to 32 characters, no control characters, no white space at either end.
fn check_nickname(s: &str) -> Result<(), NameError> {
    check_len(s, MAX_NAME_CHARS)?;
    check_chars(s, |c| !c.is_control())?;
    if s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return Err(NameError::EdgeSpace);
    }
    Ok(())
}

/// NAME-3: 1 to 64 characters, no control characters.
fn check_password(s: &str) -> Result<(), NameError> {
    check_len(s, MAX_PASSWORD_CHARS)?;
    check_chars(s, |c| !c.is_control())
}

/// CHAT-5 and FRAME-6: at least one character, and no NUL (which no escape can carry).
fn check_text(s: &str) -> Result<(), NameError> {
    if s.is_empty() {
        return Err(NameError::Empty);
    }
    check_chars(s, |c| c != '\0')
}

/// The display name of a shared item: a text of at most 255 characters.
fn check_item_name(s: &str) -> Result<(), NameError> {
    check_text(s)?;
    check_len(s, MAX_ITEM_NAME_CHARS)
}

/// `token = 1*32( ALPHA / DIGIT / "-" / "_" )` (PING-1).
fn check_token(s: &str) -> Result<(), NameError> {
    check_len(s, 32)?;
    check_chars(s, |c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

/// `item-id = 1*64( ALPHA / DIGIT / "-" / "_" )` (SIDE-6).
fn check_item_id(s: &str) -> Result<(), NameError> {
    check_len(s, 64)?;
    check_chars(s, |c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

fn check_hex(s: &str, n: usize) -> Result<(), NameError> {
    check_chars(s, |c| matches!(c, '0'..='9' | 'a'..='f'))?;
    match s.len() {
        0 => Err(NameError::Empty),
        len if len == n => Ok(()),
        len => Err(NameError::TooLong { len, max: n }),
    }
}

/// `ticket-value = 32HEXLC` (SIDE-2).
fn check_ticket(s: &str) -> Result<(), NameError> {
    check_hex(s, 32)
}

/// `sha256 = 64HEXLC` (SIDE-3).
fn check_sha256(s: &str) -> Result<(), NameError> {
    check_hex(s, 64)
}

string_newtype!(
    /// A valid username (NAME-1), such as `小明` or `user1`.
    Username,
    check_username
);
string_newtype!(
    /// A valid nickname (NAME-2), such as `红红 ❤`.
    Nickname,
    check_nickname
);
string_newtype!(
    /// A valid password (NAME-3).
    Password,
    check_password
);
string_newtype!(
    /// Chat text: at least one character and no NUL (CHAT-5).
    Text,
    check_text
);
string_newtype!(
    /// The display name of a shared photo or file: 1 to 255 characters.
    ItemName,
    check_item_name
);
string_newtype!(
    /// A ping token (PING-1).
    Token,
    check_token
);
string_newtype!(
    /// A server-chosen photo or file id (SIDE-6).
    ItemId,
    check_item_id
);
string_newtype!(
    /// A side-port ticket: 32 lowercase hex characters (SIDE-2).
    Ticket,
    check_ticket
);
string_newtype!(
    /// A SHA-256 digest as 64 lowercase hex characters (SIDE-3).
    Sha256,
    check_sha256
);

impl Sha256 {
    /// The SHA-256 digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        use sha2::Digest;
        Self::from_digest(&sha2::Sha256::digest(bytes))
    }

    /// Wraps a finished 32-byte digest, for callers that hash incrementally.
    pub fn from_digest(digest: &[u8]) -> Self {
        use std::fmt::Write;
        let mut hex = String::with_capacity(64);
        for b in digest {
            let _ = write!(hex, "{b:02x}");
        }
        Self(hex)
    }
}

impl Ticket {
    /// Builds a ticket from 16 random bytes (SIDE-2: unpredictable).
    /// The caller supplies the randomness, since this crate has no I/O.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        use std::fmt::Write;
        let mut hex = String::with_capacity(32);
        for b in bytes {
            let _ = write!(hex, "{b:02x}");
        }
        Self(hex)
    }
}
