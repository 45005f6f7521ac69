//! Accounts on disk, with salted password hashes (REG-4, REG-5).
//!
//! The file `accounts.txt` in the data folder has one account per line:
//!
//! ```text
//! username<TAB>nickname<TAB>$argon2id$v=19$m=4096,t=2,p=1$<salt>$<hash>
//! ```
//!
//! A tab can separate the fields because none of them can contain one: a
//! username is letters, digits, `_`, `-` and `.` (NAME-1), a nickname has no
//! control characters (NAME-2), and a PHC hash string is printable ASCII.
//!
//! The password itself is never stored, not even encrypted: only a hash made
//! by Argon2id, a password-hashing function, with a new random salt for every
//! account. A stolen file then gives away no password quickly, and two users
//! with the same password do not get the same line.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use protocol::{Nickname, Username};

/// The seed accounts of SPEC.md section 6: username, password, nickname.
/// They are hashed like any other account the first time the server starts.
const SEED_ACCOUNTS: &[(&str, &str, &str)] = &[
    ("user1", "114514", "konbi"),
    ("admin", "HytidelSB", "Hytidel"),
    ("Julia", "sunyu", "Julia"),
    ("Meggie", "maiji", "Meggie"),
    ("小明", "xiaoming123", "小明"),
];

/// Argon2id cost: 4 MiB of memory and 2 passes, a few milliseconds a hash.
///
/// That is slow enough to make guessing expensive and fast enough that 100
/// users can register and log in at once on a student laptop (LOAD-1). A real
/// service would use more memory (OWASP suggests 19 MiB): see the lab's
/// extensions.
const MEMORY_KIB: u32 = 4096;
const PASSES: u32 = 2;

/// One account as the server keeps it: never the password (REG-4).
#[derive(Clone)]
pub struct Account {
    pub nickname: Nickname,
    /// The PHC string of the password's hash, with its salt and cost.
    pub hash: String,
}

/// Every account, and the file they are appended to.
pub struct Accounts {
    accounts: HashMap<String, Account>,
    file: File,
}

impl Accounts {
    /// Loads `accounts.txt` from `dir`, or creates it with the seed accounts.
    pub fn open(dir: &Path) -> std::io::Result<Accounts> {
        let path = dir.join("accounts.txt");
        if !path.exists() {
            // Write the whole file under another name, then rename it: a
            // server killed half way leaves no half-written accounts file.
            let tmp = dir.join("accounts.txt.tmp");
            let mut file = File::create(&tmp)?;
            for &(username, password, nickname) in SEED_ACCOUNTS {
                writeln!(file, "{username}\t{nickname}\t{}", hash_password(password)?)?;
            }
            file.sync_all()?;
            std::fs::rename(&tmp, &path)?;
        }
        let mut accounts = HashMap::new();
        for line in BufReader::new(File::open(&path)?).lines() {
            let line = line?;
            let mut fields = line.split('\t');
            let (Some(username), Some(nickname), Some(hash), None) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                // A line cut short by a crash in the middle of `add`: that
                // account was never confirmed to anyone (REG-5), so skip it.
                eprintln!("accounts.txt: skipping a damaged line");
                continue;
            };
            let (Ok(username), Ok(nickname)) = (Username::new(username), Nickname::new(nickname))
            else {
                eprintln!("accounts.txt: skipping an account with an invalid name");
                continue;
            };
            let hash = hash.to_owned();
            accounts.insert(username.into_string(), Account { nickname, hash });
        }
        let file = OpenOptions::new().append(true).open(&path)?;
        Ok(Accounts { accounts, file })
    }

    /// The account with this username, if there is one.
    pub fn get(&self, username: &str) -> Option<&Account> {
        self.accounts.get(username)
    }

    /// True if this username is taken (REG-3: `NAME_TAKEN`).
    pub fn contains(&self, username: &str) -> bool {
        self.accounts.contains_key(username)
    }

    /// Stores a new account durably, then remembers it.
    ///
    /// REG-5: the line is on the disk (`sync_data`) before this returns, so
    /// an account we confirm with `1003|1|…` survives the server being killed.
    pub fn add(
        &mut self,
        username: &Username,
        nickname: &Nickname,
        hash: String,
    ) -> std::io::Result<()> {
        writeln!(self.file, "{username}\t{nickname}\t{hash}")?;
        self.file.sync_data()?;
        let nickname = nickname.clone();
        self.accounts
            .insert(username.to_string(), Account { nickname, hash });
        Ok(())
    }
}

/// A salted hash of `password`, as a PHC string (REG-4).
///
/// Slow on purpose: call it without holding a lock that other threads need.
pub fn hash_password(password: &str) -> std::io::Result<String> {
    let params = Params::new(MEMORY_KIB, PASSES, 1, None).map_err(std::io::Error::other)?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    // A new random salt for every account: equal passwords get different hashes.
    let salt = SaltString::encode_b64(&random_bytes::<16>()).map_err(std::io::Error::other)?;
    let hash = argon2
        .hash_password(password.as_bytes(), &salt)
        .map_err(std::io::Error::other)?;
    Ok(hash.to_string())
}

/// True if `password` matches the stored hash. The hash string says which cost
/// it was made with, and the comparison takes constant time.
///
/// Slow on purpose, like `hash_password`.
pub fn password_matches(hash: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// `N` random bytes from the operating system, for salts, tickets and ids:
/// values nobody can predict (SIDE-2).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0; N];
    // The operating system's random source does not fail on any system this
    // kit supports; if it did, no secret could be made safely at all.
    getrandom::fill(&mut bytes).expect("the operating system has a random source");
    bytes
}
