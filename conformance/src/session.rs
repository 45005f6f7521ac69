//! Property-based sessions: random multi-client conversations of valid and
//! invalid frames, checked step by step against a model of SPEC.md Levels 1
//! and 2, and random garbage after which a fresh client must still be served.
//!
//! proptest generates the sessions from the test's seed and, when one fails,
//! shrinks it to a minimal failing session, which is replayed once more on a
//! fresh server so the report's transcript shows exactly that session.

use std::cell::RefCell;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use protocol::escape::escape;

use crate::check::{Failure, Outcome, Stop};
use crate::conn::Conn;
use crate::cx::{Account, Cx, SEED_ACCOUNTS, chat, chat_out};

/// Clients in a session; each uses its own seed account.
const CLIENTS: usize = 3;

/// One step of a session.
#[derive(Debug, Clone)]
pub enum Step {
    /// Client logs in with its account.
    Login(usize),
    /// Client logs in with a wrong password.
    WrongPassword(usize),
    /// Client chats as itself.
    Chat(usize, String),
    /// Client chats claiming another client's username (ERR-5).
    Impersonate(usize, usize),
    /// Client sends a frame that gets one error: (bytes, code).
    Bad(usize, usize),
    /// Client sends an empty line (FRAME-7).
    Empty(usize),
}

/// Frames that each earn exactly one error whatever the login state, by ERR-7.
const BAD: [(&str, &str); 5] = [
    ("9999|x\n", "UNKNOWN_TYPE"),
    ("hello\n", "MALFORMED"),
    ("0007|a|b\n", "MALFORMED"),
    ("0002|user1|bad\\q\n", "BAD_ESCAPE"),
    ("0002|user1|\n", "BAD_FIELD"),
];

fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("a".to_owned()),
            Just("|".to_owned()),
            Just("\\".to_owned()),
            Just("\n".to_owned()),
            Just("\r".to_owned()),
            Just("大家好".to_owned()),
            Just("😀".to_owned()),
            Just(":happy:".to_owned()),
            Just(" ".to_owned()),
            Just("\\p".to_owned()),
        ],
        1..6,
    )
    .prop_map(|parts| parts.concat())
}

fn step() -> impl Strategy<Value = Step> {
    let who = 0..CLIENTS;
    prop_oneof![
        3 => who.clone().prop_map(Step::Login),
        1 => who.clone().prop_map(Step::WrongPassword),
        4 => (who.clone(), text()).prop_map(|(i, t)| Step::Chat(i, t)),
        1 => (who.clone(), 1..CLIENTS).prop_map(|(i, d)| Step::Impersonate(i, (i + d) % CLIENTS)),
        1 => (who.clone(), 0..BAD.len()).prop_map(|(i, b)| Step::Bad(i, b)),
        1 => who.prop_map(Step::Empty),
    ]
}

fn account(i: usize) -> Account {
    let (u, p, n) = SEED_ACCOUNTS[i];
    Account {
        username: u.into(),
        password: p.into(),
        nickname: n.into(),
    }
}

/// Runs one session against a fresh server; `Err((rule, reason))` at the
/// first step whose frames differ from the model's.
fn play(cx: &mut Cx, steps: &[Step]) -> Result<(), (String, String)> {
    let fail = |f: Failure| (f.rule.clone(), f.reason);
    cx.restart(false).map_err(|e| match e {
        Stop::Fail(f) => fail(f),
        Stop::Skip(s) => ("LOAD-5".into(), s),
    })?;
    let mut conns: Vec<Conn> = Vec::new();
    for _ in 0..CLIENTS {
        conns.push(cx.connect().map_err(fail)?);
    }
    let mut logged = [false; CLIENTS];
    for (n, step) in steps.iter().enumerate() {
        let mut want: Vec<Vec<String>> = vec![Vec::new(); CLIENTS];
        let (actor, bytes, rule) = match step {
            Step::Login(i) => {
                let a = account(*i);
                want[*i].push(if logged[*i] {
                    "1900|ALREADY_LOGGED_IN|*".into()
                } else {
                    format!("1001|1|{}|{}", escape(&a.nickname), escape(&a.username))
                });
                logged[*i] = true;
                (
                    *i,
                    crate::frames::login(&a.username, &a.password),
                    "LOGIN-2",
                )
            }
            Step::WrongPassword(i) => {
                let a = account(*i);
                want[*i].push(if logged[*i] {
                    "1900|ALREADY_LOGGED_IN|*".into()
                } else {
                    format!("1001|0|*|{}", escape(&a.username))
                });
                (*i, crate::frames::login(&a.username, "not-it"), "LOGIN-3")
            }
            Step::Chat(i, t) => {
                let a = account(*i);
                if logged[*i] {
                    for j in (0..CLIENTS).filter(|&j| j != *i && logged[j]) {
                        want[j].push(chat_out(&a.nickname, t));
                    }
                } else {
                    want[*i].push("1900|NOT_LOGGED_IN|*".into());
                }
                (*i, chat(&a.username, t), "CHAT-1")
            }
            Step::Impersonate(i, j) => {
                want[*i].push(if logged[*i] {
                    "1900|IMPERSONATION|*".into()
                } else {
                    "1900|NOT_LOGGED_IN|*".into()
                });
                (*i, chat(&account(*j).username, "forged"), "ERR-5")
            }
            Step::Bad(i, b) => {
                want[*i].push(format!("1900|{}|*", BAD[*b].1));
                (*i, BAD[*b].0.as_bytes().to_vec(), "ERR-2")
            }
            Step::Empty(i) => (*i, b"\n".to_vec(), "FRAME-7"),
        };
        conns[actor].send(&bytes).map_err(fail)?;
        // The actor's fence first: then everything its frame caused is queued (PING-2).
        let order = std::iter::once(actor).chain((0..CLIENTS).filter(|&j| j != actor));
        for j in order {
            let got = cx.fence(&mut conns[j]).map_err(fail)?;
            let ok = got.len() == want[j].len()
                && got
                    .iter()
                    .zip(&want[j])
                    .all(|(g, w)| crate::check::matches(w, g));
            if !ok {
                let shown: Vec<String> = got.iter().map(|g| crate::transcript::short(g)).collect();
                return Err((
                    rule.to_owned(),
                    format!(
                        "step {} ({step:?}): C{} expected {:?} but received {shown:?}",
                        n + 1,
                        j + 1,
                        want[j]
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn runner(cx: &mut Cx, cases: u32) -> TestRunner {
    let mut seed = [0u8; 32];
    for chunk in seed.chunks_mut(8) {
        chunk.copy_from_slice(&cx.rng.next_u64().to_le_bytes());
    }
    let config = Config {
        cases,
        max_shrink_iters: 60,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed))
}

/// Random sessions of valid and invalid frames, checked against the model.
pub fn sessions(cx: &mut Cx) -> Outcome {
    cx.need_fresh()?;
    let mut runner = runner(cx, 12);
    let last = RefCell::new(None);
    let cell = RefCell::new(&mut *cx);
    let result = runner.run(&proptest::collection::vec(step(), 1..16), |steps| {
        let mut cx = cell.borrow_mut();
        cx.fresh_transcript();
        match play(&mut cx, &steps) {
            Ok(()) => Ok(()),
            Err(e) => {
                *last.borrow_mut() = Some(e.clone());
                Err(TestCaseError::fail(e.1))
            }
        }
    });
    match result {
        Ok(()) => Ok(()),
        Err(TestError::Fail(_, minimal)) => {
            // Replay the minimal session so the transcript shows exactly it.
            cx.fresh_transcript();
            let (rule, reason) = play(cx, &minimal)
                .err()
                .or_else(|| last.borrow().clone())
                .unwrap_or_default();
            Err(Failure::new(
                &rule,
                format!(
                    "a random session failed; shrunk to {} steps: {reason}",
                    minimal.len()
                ),
            )
            .with_hint(format!("the minimal session: {minimal:?}"))
            .into())
        }
        Err(TestError::Abort(why)) => {
            Err(Failure::new("ERR-1", format!("random sessions aborted: {why}")).into())
        }
    }
}

/// Random garbage on a connection, after which a fresh client must be served.
pub fn garbage(cx: &mut Cx) -> Outcome {
    let mut runner = runner(cx, 24);
    let last = RefCell::new(None);
    let cell = RefCell::new(&mut *cx);
    let strategy = proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..2000), 1..4);
    let result = runner.run(&strategy, |writes| {
        let mut cx = cell.borrow_mut();
        cx.fresh_transcript();
        match spray(&mut cx, &writes) {
            Ok(()) => Ok(()),
            Err(f) => {
                *last.borrow_mut() = Some(f.clone());
                Err(TestCaseError::fail(f.reason))
            }
        }
    });
    match result {
        Ok(()) => Ok(()),
        Err(TestError::Fail(_, minimal)) => {
            let sizes: Vec<usize> = minimal.iter().map(Vec::len).collect();
            let f = last
                .borrow()
                .clone()
                .unwrap_or_else(|| Failure::new("LOAD-5", "the server stopped serving"));
            Err(Failure::new("LOAD-5", format!("after random garbage (shrunk to writes of {sizes:?} bytes) a new client was not served: {}", f.reason))
                .with_hint(format!("the minimal garbage: {:?}", minimal.iter().map(|w| crate::transcript::show(w)).collect::<Vec<_>>()))
                .into())
        }
        Err(TestError::Abort(why)) => Err(Failure::new("LOAD-5", format!("aborted: {why}")).into()),
    }
}

fn spray(cx: &mut Cx, writes: &[Vec<u8>]) -> Result<(), Failure> {
    let mut g = cx.connect()?;
    for w in writes {
        let _ = g.send_whole(w);
    }
    g.close();
    let mut fresh = cx.connect()?;
    let token = format!("alive{}", cx.rng.hex(6));
    fresh.send(&crate::frames::ping(&token))?;
    fresh.expect(&format!("1007|{token}"), "LOAD-5")?;
    Ok(())
}
