//! The protocol's constants (SPEC.md section 1), in one place so that every
//! crate and every test agrees on them.

/// Default chat port (SPEC.md section 1).
pub const CHAT_PORT: u16 = 8090;
/// The photo port is the chat port plus this offset.
pub const PHOTO_PORT_OFFSET: u16 = 1;
/// The file port is the chat port plus this offset.
pub const FILE_PORT_OFFSET: u16 = 2;
/// Bytes in one chat frame a client sends, including its LF (FRAME-5).
pub const MAX_FRAME: usize = 4096;
/// Bytes in one chat frame a server sends, including its LF (FRAME-5): a
/// relayed chat gains a nickname, and a history entry a time and names.
pub const MAX_SERVER_FRAME: usize = 8192;
/// Bytes in one side-port command line, including its LF (section 10).
pub const MAX_SIDE_LINE: usize = 1024;
/// Bytes in one photo (SIDE-4).
pub const MAX_PHOTO: u64 = 2 * 1024 * 1024;
/// Bytes in one file (SIDE-4).
pub const MAX_FILE: u64 = 8 * 1024 * 1024;
/// Messages a server keeps at least (HIST-3).
pub const MIN_HISTORY: usize = 20;
/// Messages a server replays at most (HIST-3).
pub const MAX_HISTORY: usize = 500;
/// Characters in a username or nickname (NAME-1, NAME-2).
pub const MAX_NAME_CHARS: usize = 32;
/// Characters in a password (NAME-3).
pub const MAX_PASSWORD_CHARS: usize = 64;
/// Characters in the display name of a shared item (section 5).
pub const MAX_ITEM_NAME_CHARS: usize = 255;
