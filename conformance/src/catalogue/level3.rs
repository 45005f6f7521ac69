//! Level 3, part one: registration, names and login reasons (NAME, REG,
//! LOGIN-5, LOGIN-6); the online list, notices and logout are in `presence`.
//!
//! Tests that compare exact counts or lists need a server of their own: they
//! run with `--cmd` (and by default) and are skipped with `--addr`.

use std::path::Path;

use protocol::escape::escape;

use crate::check::{Failure, Outcome, Stop};
use crate::conn::Conn;
use crate::cx::{Account, Cx};
use crate::frames;

use super::TestCase;

/// The Level 3 tests.
pub const TESTS: &[TestCase] = &[
    TestCase {
        slug: "reg-ok",
        level: 3,
        rules: &["REG-1", "REG-2"],
        description: "registering answers 1003|1|nickname|username, does not log in, and the new account can log in",
        hints: &[
            "registering does not log the connection in: the client sends 0001 next",
            "the answer is 1003|1|nickname|username (nickname first), like 1001",
        ],
        deps: &["login-ok", "ping"],
        modes: false,
        run: reg_ok,
    },
    TestCase {
        slug: "reg-taken",
        level: 3,
        rules: &["REG-3"],
        description: "registering an existing username gets NAME_TAKEN and leaves the account as it was",
        hints: &["check whether the username exists before you create (or overwrite!) the account"],
        deps: &["reg-ok"],
        modes: false,
        run: reg_taken,
    },
    TestCase {
        slug: "reg-bad-name",
        level: 3,
        rules: &["NAME-1", "REG-3"],
        description: "usernames with spaces, |, /, 33 characters or none get BAD_NAME; Unicode letters and exact case are fine",
        hints: &[
            "allow letters and digits of any script (str.isalnum() in Python), _ - and . only, 1 to 32 characters",
            "compare usernames exactly: Julia and julia are two users",
        ],
        deps: &["reg-ok"],
        modes: false,
        run: reg_bad_name,
    },
    TestCase {
        slug: "reg-bad-password",
        level: 3,
        rules: &["NAME-3", "REG-3"],
        description: "empty, 65-character or control-character passwords get BAD_PASSWORD",
        hints: &["a password is 1 to 64 characters (not bytes) without control characters"],
        deps: &["reg-ok"],
        modes: false,
        run: reg_bad_password,
    },
    TestCase {
        slug: "reg-bad-nickname",
        level: 3,
        rules: &["NAME-2", "REG-3"],
        description: "nicknames with edge spaces, control characters, 33 characters or none get BAD_NICKNAME; spaces, emoji and | inside are fine",
        hints: &[
            "a nickname is 1 to 32 characters, no control characters, no white space at either end",
        ],
        deps: &["reg-ok"],
        modes: false,
        run: reg_bad_nickname,
    },
    TestCase {
        slug: "reg-order",
        level: 3,
        rules: &["REG-3"],
        description: "when several reasons apply, NAME_TAKEN, BAD_NAME, BAD_PASSWORD, BAD_NICKNAME come in that order",
        hints: &["check the reasons in REG-3's order and answer with the first that applies"],
        deps: &["reg-ok"],
        modes: false,
        run: reg_order,
    },
    TestCase {
        slug: "reg-hashed",
        level: 3,
        rules: &["REG-4"],
        description: "no file in the data directory holds a password in clear text or as a bare SHA-256",
        hints: &[
            "store a salted hash from a password-hashing function: hashlib.scrypt or hashlib.pbkdf2_hmac with os.urandom(16) as salt",
            "never write the password itself, or hashlib.sha256(password) without salt, to disk",
        ],
        deps: &["reg-ok"],
        modes: false,
        run: reg_hashed,
    },
    TestCase {
        slug: "reg-durable",
        level: 3,
        rules: &["REG-5"],
        description: "an account registered before the server is killed can log in after a restart",
        hints: &[
            "write the account file (and flush it: use `with open(...)`) before you send 1003|1",
            "read the accounts back from the data directory when the server starts",
        ],
        deps: &["reg-ok"],
        modes: false,
        run: reg_durable,
    },
    TestCase {
        slug: "login-reasons",
        level: 3,
        rules: &["LOGIN-5"],
        description: "failed logins say UNKNOWN_USER, WRONG_PASSWORD or ALREADY_ONLINE and echo the username",
        hints: &["answer 1001|0|REASON|username with the username that was sent"],
        deps: &["login-ok"],
        modes: false,
        run: login_reasons,
    },
    TestCase {
        slug: "login-bad-input",
        level: 3,
        rules: &["LOGIN-6"],
        description: "logins with invalid names or passwords fail with a reason code instead of a crash",
        hints: &["a username that breaks NAME-1 simply does not exist: answer UNKNOWN_USER"],
        deps: &["login-ok", "ping"],
        modes: false,
        run: login_bad_input,
    },
    TestCase {
        slug: "err-login-state-l3",
        level: 3,
        rules: &["ERR-4"],
        description: "0005 and 0006 before login get NOT_LOGGED_IN; 0003 while logged in gets ALREADY_LOGGED_IN",
        hints: &["check the login state for the Level 3 frames too"],
        deps: &["login-ok", "ping"],
        modes: false,
        run: err_login_state_l3,
    },
];

/// `0003|username|password|nickname` with every field escaped.
fn register_frame(username: &str, password: &str, nickname: &str) -> Vec<u8> {
    frames::register(username, password, nickname)
}

/// Sends a registration and expects `1003|0|reason|username`.
fn refused(conn: &mut Conn, fields: (&str, &str, &str), reason: &str, rule: &str) -> Outcome {
    conn.send(&register_frame(fields.0, fields.1, fields.2))?;
    conn.expect(&format!("1003|0|{reason}|{}", escape(fields.0)), rule)?;
    Ok(())
}

fn fresh_account(cx: &mut Cx, prefix: &str) -> Account {
    let tag = cx.rng.hex(6);
    Account {
        username: format!("{prefix}{tag}"),
        password: format!("pw {}", cx.rng.hex(8)),
        nickname: format!("红 {tag} ❤"),
    }
}

fn reg_ok(cx: &mut Cx) -> Outcome {
    let account = fresh_account(cx, "r");
    let mut c1 = cx.connect()?;
    cx.register(&mut c1, &account)?;
    c1.send(&frames::list())?;
    c1.expect("1900|NOT_LOGGED_IN|*", "REG-2")
        .map_err(|f| f.with_hint("registering must not log the connection in"))?;
    cx.login(&mut c1, &account)?;
    Ok(())
}

fn reg_taken(cx: &mut Cx) -> Outcome {
    let existing = cx.accounts(1)?.remove(0);
    let mut c1 = cx.connect()?;
    refused(
        &mut c1,
        (&existing.username, "another-password", "Thief"),
        "NAME_TAKEN",
        "REG-3",
    )?;
    cx.login(&mut c1, &existing)
        .map_err(|f| f.with_hint("a refused registration must not change the existing account"))?;
    Ok(())
}

fn reg_bad_name(cx: &mut Cx) -> Outcome {
    let mut c1 = cx.connect()?;
    let long = "a".repeat(33);
    for bad in ["小 明", "a|b", "../x", long.as_str(), "", "tab\there"] {
        refused(&mut c1, (bad, "password", "Nick"), "BAD_NAME", "NAME-1")?;
    }
    let tag = cx.rng.hex(4);
    let upper = Account {
        username: format!("Case{tag}"),
        password: "pw1".into(),
        nickname: "Upper".into(),
    };
    let lower = Account {
        username: format!("case{tag}"),
        password: "pw2".into(),
        nickname: "lower".into(),
    };
    let unicode = Account {
        username: format!("陈.磊-2_{tag}"),
        password: "pw3".into(),
        nickname: "陈磊".into(),
    };
    let longest = Account {
        username: format!("{tag}{}", "b".repeat(28)),
        password: "pw4".into(),
        nickname: "Long".into(),
    };
    for account in [&upper, &lower, &unicode, &longest] {
        cx.register(&mut c1, account).map_err(|f| {
            let mut f = f;
            f.rule = "NAME-1".into();
            f.with_hint("this username is valid (NAME-1) and is not taken: usernames are compared exactly, byte for byte")
        })?;
    }
    Ok(())
}

fn reg_bad_password(cx: &mut Cx) -> Outcome {
    let mut c1 = cx.connect()?;
    let name = format!("p{}", cx.rng.hex(6));
    let long = "p".repeat(65);
    for bad in ["", long.as_str(), "pass\nword", "pass\u{7}"] {
        refused(&mut c1, (&name, bad, "Nick"), "BAD_PASSWORD", "NAME-3")?;
    }
    let ok = Account {
        username: name,
        password: "密".repeat(64),
        nickname: "Nick".into(),
    };
    cx.register(&mut c1, &ok)
        .map_err(|f| f.with_hint("64 characters (not bytes) is the longest valid password"))?;
    Ok(())
}

fn reg_bad_nickname(cx: &mut Cx) -> Outcome {
    let mut c1 = cx.connect()?;
    let name = format!("n{}", cx.rng.hex(6));
    let long = "n".repeat(33);
    for bad in ["", " lead", "trail ", long.as_str(), "two\nlines"] {
        refused(&mut c1, (&name, "password", bad), "BAD_NICKNAME", "NAME-2")?;
    }
    let ok = Account {
        username: name,
        password: "password".into(),
        nickname: "红 | ❤ \\ 😀".into(),
    };
    cx.register(&mut c1, &ok)
        .map_err(|f| f.with_hint("spaces, emoji, | and \\ inside a nickname are fine (NAME-2)"))?;
    Ok(())
}

fn reg_order(cx: &mut Cx) -> Outcome {
    let existing = cx.accounts(1)?.remove(0);
    let mut c1 = cx.connect()?;
    let name = format!("o{}", cx.rng.hex(6));
    refused(
        &mut c1,
        (&existing.username, "", " bad"),
        "NAME_TAKEN",
        "REG-3",
    )?;
    refused(&mut c1, ("bad name", "", " bad"), "BAD_NAME", "REG-3")?;
    refused(&mut c1, (&name, "", " bad"), "BAD_PASSWORD", "REG-3")?;
    Ok(())
}

fn reg_hashed(cx: &mut Cx) -> Outcome {
    let Some(dir) = cx.server.data_dir.clone() else {
        return Err(Stop::Skip(
            "needs the server's data directory, which only --cmd gives".into(),
        ));
    };
    let account = Account {
        username: format!("h{}", cx.rng.hex(6)),
        password: format!("Secret-{}", cx.rng.hex(12)),
        nickname: "Hash".into(),
    };
    let mut c1 = cx.connect()?;
    cx.register(&mut c1, &account)?;
    let sha = protocol::Sha256::of(account.password.as_bytes()).into_string();
    let mut files = Vec::new();
    collect_files(&dir, &mut files);
    for path in &files {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let rel = path
            .strip_prefix(&dir)
            .unwrap_or(path)
            .display()
            .to_string();
        if contains(&bytes, account.password.as_bytes()) {
            return Err(Failure::new(
                "REG-4",
                format!("the data file {rel} holds the password in clear text"),
            )
            .into());
        }
        if contains(&bytes, sha.as_bytes()) {
            return Err(Failure::new(
                "REG-4",
                format!("the data file {rel} holds the unsalted SHA-256 of the password, which anyone can look up"),
            )
            .into());
        }
    }
    if files.is_empty() {
        cx.notes.push(
            "the data directory was empty after a registration; REG-5 checks durability".into(),
        );
    }
    Ok(())
}

fn collect_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, out);
        } else if entry.metadata().is_ok_and(|m| m.len() < 64 << 20) {
            out.push(path);
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn reg_durable(cx: &mut Cx) -> Outcome {
    if cx.server.process.is_none() {
        return Err(Stop::Skip(
            "needs to restart the server, which only works with --cmd".into(),
        ));
    }
    let account = fresh_account(cx, "d");
    let mut c1 = cx.connect()?;
    cx.register(&mut c1, &account)?;
    c1.close();
    cx.restart(false)?;
    let mut c2 = cx.connect()?;
    cx.login(&mut c2, &account).map_err(|f| {
        let mut f = f;
        f.rule = "REG-5".into();
        f.with_hint(
            "the account registered before the restart is gone: save it before answering 1003|1",
        )
    })?;
    Ok(())
}

fn login_reasons(cx: &mut Cx) -> Outcome {
    let account = cx.accounts(1)?.remove(0);
    let mut c1 = cx.connect()?;
    let ghost = format!("ghost{}", cx.rng.hex(6));
    c1.send(&frames::login(&ghost, "x"))?;
    c1.expect(&format!("1001|0|UNKNOWN_USER|{ghost}"), "LOGIN-5")?;
    c1.send(&frames::login(&account.username, "wrong"))?;
    c1.expect(
        &format!("1001|0|WRONG_PASSWORD|{}", escape(&account.username)),
        "LOGIN-5",
    )?;
    cx.login(&mut c1, &account)?;
    let mut c2 = cx.connect()?;
    c2.send(&frames::login(&account.username, &account.password))?;
    c2.expect(
        &format!("1001|0|ALREADY_ONLINE|{}", escape(&account.username)),
        "LOGIN-5",
    )?;
    Ok(())
}

fn login_bad_input(cx: &mut Cx) -> Outcome {
    let account = cx.accounts(1)?.remove(0);
    let mut c1 = cx.connect()?;
    let long_name = "n".repeat(33);
    let cases = [
        ("a b".to_owned(), "x".to_owned(), "UNKNOWN_USER"),
        (String::new(), String::new(), "UNKNOWN_USER"),
        (long_name, "x".into(), "UNKNOWN_USER"),
        ("../../etc".into(), "x".into(), "UNKNOWN_USER"),
        (account.username.clone(), "p".repeat(65), "WRONG_PASSWORD"),
        (account.username.clone(), String::new(), "WRONG_PASSWORD"),
    ];
    for (user, pass, reason) in cases {
        c1.send(&frames::login(&user, &pass))?;
        c1.expect(&format!("1001|0|{reason}|{}", escape(&user)), "LOGIN-6")?;
    }
    cx.silent(
        &mut [&mut c1],
        "LOGIN-6",
        "each failed login gets exactly one 1001",
    )?;
    cx.login(&mut c1, &account)?;
    Ok(())
}

/// The exact `1006` frame for these accounts (LIST-1).
/// Logs in and checks the `1006` that follows exactly.
fn err_login_state_l3(cx: &mut Cx) -> Outcome {
    let account = cx.accounts(1)?.remove(0);
    let mut c1 = cx.connect()?;
    for frame in [frames::logout(), frames::list()] {
        c1.send(&frame)?;
        c1.expect("1900|NOT_LOGGED_IN|*", "ERR-4")?;
    }
    cx.login(&mut c1, &account)?;
    c1.send(&register_frame(
        &format!("x{}", cx.rng.hex(6)),
        "pw",
        "Nick",
    ))?;
    c1.expect("1900|ALREADY_LOGGED_IN|*", "ERR-4")?;
    Ok(())
}
