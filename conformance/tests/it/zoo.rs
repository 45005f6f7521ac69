//! The zoo: every deliberately broken server in `fixtures/servers/` is graded
//! and its verdict compared with an insta snapshot, so each bug is shown to be
//! caught by the test meant for it, and any change of wording shows up in
//! review. Then the union of what failed must cover the whole catalogue: a
//! new catalogue test without a zoo server that fails it fails here.
//!
//! Servers are graded two at a time. A Python server costs about a second of
//! start-up per test, so the one-bug servers of Levels 3 to 6 are graded with
//! only the tests their bug is about (`--only`); `chatroom.py`, the correct
//! server they are built on, is graded with the whole catalogue.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use conformance::catalogue::entries;
use conformance::runner::{Options, Results, Status, run};

use crate::{summary, zoo};

/// One graded zoo server.
struct Graded {
    /// The snapshot's name.
    name: &'static str,
    /// The file in `fixtures/servers/`.
    file: &'static str,
    /// The highest level graded.
    level: u8,
    /// Only these tests (`--only` patterns), or the whole level when empty.
    only: &'static [&'static str],
    /// Whether it frames its input. The delivery variants (`@bytes`...) and
    /// `chat-order` are left out of a full grading for servers without
    /// framing: how they fail depends on how the kernel splits the bytes.
    framed: bool,
}

const fn full(file: &'static str, level: u8) -> Graded {
    Graded {
        name: file,
        file,
        level,
        only: &[],
        framed: true,
    }
}

const fn unframed(file: &'static str, level: u8) -> Graded {
    Graded {
        name: file,
        file,
        level,
        only: &[],
        framed: false,
    }
}

const fn only(file: &'static str, only: &'static [&'static str]) -> Graded {
    Graded {
        name: file,
        file,
        level: 6,
        only,
        framed: true,
    }
}

/// Every zoo server, the slowest first so the two graders finish together.
/// The seed-style servers, which take one `recv` as one message, are graded
/// at Level 1 only, where their own bugs (echo, chat before login) show.
const ZOO: &[Graded] = &[
    full("chatroom.py", 6),
    full("silent.py", 6),
    full("level1_good.py", 1),
    unframed("seed000.py", 1),
    unframed("seed001.py", 1),
    unframed("seed002.py", 1),
    unframed("seed003.py", 1),
    unframed("seed004.py", 1),
    only(
        "bug_echo.py",
        &["chat-no-echo", "frame-too-long", "ping-fence"],
    ),
    only(
        "bug_no_cr_strip.py",
        &["frame-crlf", "frame-empty-lines", "@split"],
    ),
    only("bug_no_escape_out.py", &["esc-roundtrip"]),
    only("bug_no_ping.py", &["ping"]),
    only("bug_trust_name.py", &["err-impersonation"]),
    only("bug_crash_after_login.py", &["login-ok"]),
    // Every delivery variant fails on a server without framing, whatever
    // the symptom (the summary hides it, FRAME-3).
    only(
        "bug_no_framing.py",
        &[
            "frame-split",
            "frame-sticky",
            "frame-crlf",
            "@bytes",
            "@split",
            "@coalesce",
        ],
    ),
    only("bug_first_line_only.py", &["chat-order", "@coalesce"]),
    only("bug_unbounded.py", &["frame-too-long"]),
    only("bug_plain_passwords.py", &["reg-hashed"]),
    only("bug_list_resend.py", &["list-no-resend", "note-join"]),
    only("bug_no_leave.py", &["note-leave"]),
    only(
        "bug_no_empty_check.py",
        &["chat-empty-text", "err-order", "prop-sessions"],
    ),
    only("bug_lax_utf8.py", &["err-codes", "err-order"]),
    only(
        "bug_lax_escape.py",
        &["esc-bad", "err-order", "prop-sessions"],
    ),
    only(
        "bug_no_login_state.py",
        &["err-login-state", "err-stays-open"],
    ),
    only("bug_no_nul_check.py", &["frame-control-bytes", "err-order"]),
    only("bug_lax_names.py", &["reg-bad-name", "reg-order"]),
    only("bug_memory_only.py", &["reg-durable"]),
    only("bug_gbk_out.py", &["chat-utf8"]),
    only("bug_emoji_render.py", &["emoji-shortcodes"]),
    only("bug_register_logs_in.py", &["reg-ok"]),
    only("bug_reg_overwrite.py", &["reg-taken"]),
    only("bug_no_password_check.py", &["reg-bad-password"]),
    only("bug_no_nick_check.py", &["reg-bad-nickname"]),
    only("bug_vague_reasons.py", &["login-reasons"]),
    only("bug_login_bad_name.py", &["login-bad-input"]),
    only("bug_register_while_logged_in.py", &["err-login-state-l3"]),
    only("bug_list_unsorted.py", &["list-query"]),
    only("bug_list_no_self.py", &["login-list"]),
    only("bug_logout_no_close.py", &["logout"]),
    only(
        "bug_logout_stays_online.py",
        &["logout-relogin", "note-leave"],
    ),
    only("bug_join_on_failed_login.py", &["note-failed-login"]),
    only("bug_priv_leak.py", &["priv-basic"]),
    only("bug_priv_offline.py", &["priv-offline"]),
    only("bug_priv_self.py", &["priv-self"]),
    only("bug_priv_check_order.py", &["priv-not-logged-in"]),
    only("bug_hist_leak.py", &["hist-replay"]),
    only("bug_hist_oldest.py", &["hist-limit"]),
    only("bug_hist_memory.py", &["hist-restart"]),
    only("bug_hist_float_time.py", &["hist-times"]),
    only("bug_ticket_reuse.py", &["side-ticket"]),
    only("bug_eof_sentinel.py", &["side-put-get"]),
    only("bug_no_size_limit.py", &["side-limits"]),
    only("bug_wrong_hash_ok.py", &["side-hash-mismatch"]),
    only("bug_no_image_check.py", &["side-not-image"]),
    only("bug_client_ids.py", &["side-ids"]),
    only("bug_path_traversal.py", &["side-traversal"]),
    only("bug_side_malformed_close.py", &["side-malformed"]),
    only("bug_share_echo.py", &["share-room"]),
    only("bug_fetch_any.py", &["share-private", "side-traversal"]),
    only("bug_share_any.py", &["share-not-owner"]),
    only(
        "bug_thread_pool.py",
        &["load-many-clients", "load-server-full"],
    ),
    only("bug_accept_blocks.py", &["load-idle-client"]),
    only("bug_blocking_send.py", &["load-slow-reader"]),
    only("bug_drop_slow.py", &["load-slow-reader"]),
    only("bug_die_on_bad_utf8.py", &["load-garbage", "prop-garbage"]),
    only("bug_no_shutdown.py", &["load-shutdown"]),
];

/// Catalogue tests that no zoo server fails, each with the reason no Python
/// server can show the bug. Keep it empty: a test that no server can fail
/// checks nothing.
const UNBROKEN: &[(&str, &str)] = &[];

fn options(server: &Graded) -> Options {
    Options {
        level: server.level,
        seed: 4242,
        only: server.only.iter().map(|s| (*s).into()).collect(),
        skip: if server.framed {
            Vec::new()
        } else {
            // `chat-order` too: whether a burst of chats lands in one
            // `recv` is up to the scheduler.
            vec![
                "@bytes".into(),
                "@split".into(),
                "@coalesce".into(),
                "chat-order".into(),
            ]
        },
        jobs: 2,
        time_scale: 3.0,
        ..Options::default()
    }
}

fn grade_all() -> Vec<(&'static Graded, Results, Duration)> {
    let next = AtomicUsize::new(0);
    let out = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        // Two graders at a time: on two cores, more Python servers at once
        // only turns deadlines into flakes.
        for _ in 0..2 {
            s.spawn(|| {
                while let Some(server) = ZOO.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let options = options(server);
                    let started = Instant::now();
                    // One retry if the server did not come up: on a loaded machine a
                    // Python start can take long; a second failure is real.
                    let target = zoo(server.file);
                    let results = run(&target, &options)
                        .or_else(|_| run(&target, &options))
                        .unwrap_or_else(|e| panic!("{}: {e}", server.name));
                    out.lock()
                        .unwrap()
                        .push((server, results, started.elapsed()));
                }
            });
        }
    });
    let mut all = out.into_inner().unwrap();
    all.sort_by_key(|(server, _, _)| ZOO.iter().position(|s| s.name == server.name));
    all
}

/// The zoo's verdicts, graded once for both tests of this module.
fn graded() -> &'static [(&'static Graded, Results, Duration)] {
    static GRADED: OnceLock<Vec<(&'static Graded, Results, Duration)>> = OnceLock::new();
    GRADED.get_or_init(|| {
        let _heavy = crate::heavy();
        grade_all()
    })
}

#[test]
fn every_zoo_server_gets_its_verdict() {
    for (server, results, elapsed) in graded() {
        let file = server.file;
        insta::assert_snapshot!(server.name.trim_end_matches(".py"), summary(results));
        match file {
            "level1_good.py" | "chatroom.py" => {
                assert!(
                    results.passed(),
                    "{file} must pass its level:\n{}",
                    summary(results)
                )
            }
            _ => assert!(!results.passed(), "{file} has a bug and must fail"),
        }
        if file == "silent.py" {
            assert!(
                elapsed.as_secs() < 60,
                "a silent server took {elapsed:?} to grade"
            );
            assert!(
                results
                    .tests
                    .iter()
                    .filter(|t| t.status == Status::Fail)
                    .count()
                    <= 3
            );
        }
    }
}

#[test]
fn every_catalogue_test_fails_on_some_zoo_server() {
    let failed: BTreeSet<&str> = graded()
        .iter()
        .flat_map(|(_, results, _)| &results.tests)
        .filter(|t| t.status == Status::Fail)
        .map(|t| t.slug.as_str())
        .collect();
    let unbroken: Vec<String> = entries()
        .into_iter()
        .map(|e| e.slug)
        .filter(|slug| !failed.contains(slug.as_str()))
        .filter(|slug| !UNBROKEN.iter().any(|(s, _)| s == slug))
        .collect();
    assert!(
        unbroken.is_empty(),
        "no zoo server fails these catalogue tests, so nothing shows that they can fail: {unbroken:?}\n\
         add a one-bug server to fixtures/servers/ (see its README.md) and list it in ZOO"
    );
    for (slug, why) in UNBROKEN {
        assert!(
            !failed.contains(slug),
            "{slug} is allowed to fail on no zoo server ({why}), but one fails it: take it off UNBROKEN"
        );
    }
}
