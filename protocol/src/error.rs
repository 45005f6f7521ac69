//! Codes and errors: the `1900` error codes, the reason codes of `1001`/`1003`,
//! and the crate's own error type for frames that do not parse.
//!
//! nom's errors never leave this crate (STYLE.md practice 3): every parser
//! failure becomes a [`FrameError`], whose [`FrameError::code`] is the code a
//! server sends back (ERR-2, ERR-7) and whose `Display` is the readable reason.

use std::fmt;

use serde::Serialize;

macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)*
        }

        impl $name {
            /// Every value, in SPEC.md order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The code as it appears on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            /// Looks a wire code up; `None` if it is not one of this type's codes.
            pub fn from_wire(s: &str) -> Option<Self> {
                match s {
                    $($text => Some($name::$variant),)*
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

code_enum!(
    /// The code of a `1900` error frame (ERR-2).
    ErrorCode {
        /// The frame does not match the grammar.
        Malformed = "MALFORMED",
        /// Four digits that are not a client-to-server id.
        UnknownType = "UNKNOWN_TYPE",
        /// A backslash escape other than `\\ \p \n \r` (ESC-3).
        BadEscape = "BAD_ESCAPE",
        /// The frame is not valid UTF-8 (FRAME-2).
        NotUtf8 = "NOT_UTF8",
        /// The line is longer than `MAX_FRAME` (FRAME-5, ERR-3).
        TooLong = "TOO_LONG",
        /// A field has the right syntax but an unacceptable value.
        BadField = "BAD_FIELD",
        /// The frame needs a logged-in connection (ERR-4).
        NotLoggedIn = "NOT_LOGGED_IN",
        /// The connection is already logged in (ERR-4).
        AlreadyLoggedIn = "ALREADY_LOGGED_IN",
        /// The username in a `0002` is not the logged-in one (ERR-5).
        Impersonation = "IMPERSONATION",
        /// The recipient is not logged in (PRIV-2, SHARE-1).
        UserOffline = "USER_OFFLINE",
        /// The shared item does not exist or is not yours (SHARE-2).
        NoSuchItem = "NO_SUCH_ITEM",
        /// The connection stopped reading and is being closed (LOAD-3).
        SlowConsumer = "SLOW_CONSUMER",
        /// The server has no room for this connection (LOAD-6).
        ServerFull = "SERVER_FULL",
        /// The server is shutting down (LOAD-7).
        Shutdown = "SHUTDOWN",
    }
);

code_enum!(
    /// The reason code in a failed `1001` or `1003` (LOGIN-5, REG-3).
    Reason {
        /// No account has that username.
        UnknownUser = "UNKNOWN_USER",
        /// The password does not match.
        WrongPassword = "WRONG_PASSWORD",
        /// The account is logged in on another connection.
        AlreadyOnline = "ALREADY_ONLINE",
        /// Registration: the username exists.
        NameTaken = "NAME_TAKEN",
        /// Registration: the username breaks NAME-1.
        BadName = "BAD_NAME",
        /// Registration: the password breaks NAME-3.
        BadPassword = "BAD_PASSWORD",
        /// Registration: the nickname breaks NAME-2.
        BadNickname = "BAD_NICKNAME",
        /// Registration: the server could not store the account (REG-3).
        ServerError = "SERVER_ERROR",
    }
);

code_enum!(
    /// The code of a side-port `err` reply (section 10).
    SideCode {
        /// The line is not a side-port command (SIDE-8).
        Malformed = "MALFORMED",
        /// `put` or `get` before `auth` (SIDE-2).
        NotAuthed = "NOT_AUTHED",
        /// The ticket is unknown or expired (SIDE-2).
        BadTicket = "BAD_TICKET",
        /// The declared size is over the port's limit (SIDE-4).
        TooLarge = "TOO_LARGE",
        /// The body's SHA-256 differs from the declared one (SIDE-3).
        HashMismatch = "HASH_MISMATCH",
        /// The photo port got bytes that are not a PNG, JPEG or GIF (SIDE-5).
        NotImage = "NOT_IMAGE",
        /// No item with that id is available to this user (SIDE-7).
        NoSuchItem = "NO_SUCH_ITEM",
    }
);

/// Why a line is not a valid frame. Each variant maps to one `1900` code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The content is not valid UTF-8 (FRAME-2).
    #[error("the frame is not valid UTF-8 (byte {valid_up_to} starts an invalid sequence)")]
    NotUtf8 {
        /// Bytes that were valid before the first invalid one.
        valid_up_to: usize,
    },
    /// The line is longer than `MAX_FRAME` bytes (FRAME-5).
    #[error("the line is longer than {max} bytes")]
    TooLong {
        /// The limit that was exceeded.
        max: usize,
    },
    /// The content contains NUL or CR (FRAME-6).
    #[error("the frame contains a {0} byte, which frames may not contain")]
    ControlByte(&'static str),
    /// The first field is not four ASCII digits.
    #[error("a frame starts with a four-digit id, not {0:?}")]
    BadId(String),
    /// Four digits that are not a frame this side may receive.
    #[error("{0} is not a frame id this side may receive")]
    UnknownType(String),
    /// The frame has the wrong number of fields for its id.
    #[error("frame {id} takes {expected} fields after the id, not {got}")]
    FieldCount {
        /// The frame id.
        id: &'static str,
        /// What the grammar wants, e.g. "2" or "an even number".
        expected: String,
        /// How many fields came.
        got: usize,
    },
    /// A field holds an escape other than `\\ \p \n \r` (ESC-3).
    #[error("field {field} has an unknown escape {escape:?}")]
    BadEscape {
        /// 1-based index of the field, counting the id as field 1.
        field: usize,
        /// The escape as written, such as `\q` or a lone `\`.
        escape: String,
    },
    /// A field does not match its grammar (a token, id, count or keyword).
    #[error("field {field} ({what}) is not valid: {value:?}")]
    FieldSyntax {
        /// 1-based index of the field, counting the id as field 1.
        field: usize,
        /// The grammar rule the field should match.
        what: &'static str,
        /// The field as received (unescaped).
        value: String,
    },
    /// A field has the right syntax but an unacceptable value (CHAT-5, NAME-1).
    #[error("field {field} ({what}) is not acceptable: {reason}")]
    BadField {
        /// 1-based index of the field, counting the id as field 1.
        field: usize,
        /// The grammar rule the field should match.
        what: &'static str,
        /// Why it was rejected.
        reason: crate::NameError,
    },
}

impl FrameError {
    /// The `1900` code a server answers this error with (ERR-2, ERR-3).
    pub fn code(&self) -> ErrorCode {
        match self {
            FrameError::NotUtf8 { .. } => ErrorCode::NotUtf8,
            FrameError::TooLong { .. } => ErrorCode::TooLong,
            FrameError::ControlByte(_)
            | FrameError::BadId(_)
            | FrameError::FieldCount { .. }
            | FrameError::FieldSyntax { .. } => ErrorCode::Malformed,
            FrameError::UnknownType(_) => ErrorCode::UnknownType,
            FrameError::BadEscape { .. } => ErrorCode::BadEscape,
            FrameError::BadField { .. } => ErrorCode::BadField,
        }
    }
}
