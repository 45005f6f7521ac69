//! The runner: a function from (target, options) to [`Results`].
//!
//! It selects tests (`--level`, `--only`, `--skip`), then runs them on
//! `--jobs` worker threads. A test starts only when the tests it depends on
//! have finished; if one of them did not pass, the test is reported as skipped
//! because of it. With `--cmd` every test gets a server of its own, so tests
//! are independent and can run in parallel; with `--addr` tests share the
//! running server and use fresh random usernames (or, below Level 3, the seed
//! accounts, one test at a time). Each test has a hard deadline: when it
//! passes, the test's server is killed, which ends any read it is blocked in.

use std::collections::HashMap;
use std::net::TcpStream;
use std::sync::mpsc;
use std::sync::{Condvar, Mutex};
use std::time::Instant;

use crate::catalogue::{Entry, entries};
use crate::check::{Failure, Stop};
use crate::cx::{Cx, Env, Timing};
use crate::rng::Rng;
use crate::spec;
use crate::target::{Instance, OutputLine, Target};

pub use crate::results::{FailureReport, Options, Results, RunError, Status, TestResult};
use crate::transcript::Event;

/// True if `pattern` selects `entry`.
pub fn selects(pattern: &str, entry: &Entry) -> bool {
    if pattern.starts_with('@') {
        return entry.slug.ends_with(pattern);
    }
    if let Some(prefix) = pattern.strip_suffix('*') {
        return entry.slug.starts_with(prefix);
    }
    if spec::is_rule_id(pattern) {
        return entry.rules.contains(&pattern);
    }
    entry.slug == pattern
}

/// The tests `options` select, in catalogue order.
pub fn select(options: &Options) -> Result<Vec<Entry>, RunError> {
    for pattern in options.only.iter().chain(&options.skip) {
        if !entries().iter().any(|e| selects(pattern, e)) {
            return Err(RunError::Usage(format!(
                "no test matches `{pattern}`; `conformance --list` shows the slugs"
            )));
        }
    }
    let chosen: Vec<Entry> = entries()
        .into_iter()
        .filter(|e| {
            if options.only.is_empty() {
                e.level <= options.level
            } else {
                options.only.iter().any(|p| selects(p, e))
            }
        })
        .filter(|e| !options.skip.iter().any(|p| selects(p, e)))
        .collect();
    if chosen.is_empty() {
        return Err(RunError::Usage("no test selected".into()));
    }
    Ok(chosen)
}

/// Grades `target`: selects, runs (`repeat` times) and merges the results.
pub fn run(target: &Target, options: &Options) -> Result<Results, RunError> {
    let started = Instant::now();
    let chosen = select(options)?;
    let timing = Timing::scaled(options.time_scale);
    preflight(target, timing)?;
    let mut notes = Vec::new();
    let register = !target.spawns() && options.level >= 3;
    if !target.spawns() {
        notes.push(if register {
            "the server is shared: tests register fresh random users and run one at a time; tests that need a server of their own are skipped".to_owned()
        } else {
            "the server is shared and tests use the seed accounts, so they run one at a time".to_owned()
        });
    }
    // On a shared server every group chat reaches every logged-in test user,
    // so tests there run one at a time.
    let jobs = if target.spawns() {
        options.jobs.max(1)
    } else {
        1
    };
    let mut runs: Vec<Vec<TestResult>> = Vec::new();
    for _ in 0..options.repeat.max(1) {
        runs.push(run_once(target, options, &chosen, timing, register, jobs));
    }
    let tests = merge(runs);
    if options.level < 2 {
        notes.push(format!(
            "Level 1 has no PING, so silence was checked with a {} ms quiet window; a frame that comes later could be missed",
            timing.quiet.as_millis()
        ));
    }
    Ok(Results {
        seed: options.seed,
        level: options.level,
        target: options
            .target_args
            .clone()
            .unwrap_or_else(|| target.to_args()),
        tests,
        duration_ms: started.elapsed().as_millis() as u64,
        repeat: options.repeat.max(1),
        notes,
    })
}

/// Checks that the target can be reached at all (exit code 2 otherwise).
fn preflight(target: &Target, timing: Timing) -> Result<(), RunError> {
    match target {
        Target::Addr { chat, .. } => TcpStream::connect_timeout(chat, timing.reply * 3)
            .map(drop)
            .map_err(|e| RunError::Target(format!("nothing accepts connections at {chat}: {e}; start your server first, or use --cmd"))),
        Target::Cmd { .. } => Instance::start(target, timing.startup)
            .map(drop)
            .map_err(|e| RunError::Target(e.0)),
    }
}

#[derive(Clone)]
enum Slot {
    Pending,
    Running,
    Done(Box<TestResult>),
}

fn run_once(
    target: &Target,
    options: &Options,
    chosen: &[Entry],
    timing: Timing,
    register: bool,
    jobs: usize,
) -> Vec<TestResult> {
    let index: HashMap<&str, usize> = chosen
        .iter()
        .enumerate()
        .map(|(i, e)| (e.slug.as_str(), i))
        .collect();
    let ping = index.get("ping").copied();
    let state = Mutex::new(vec![Slot::Pending; chosen.len()]);
    let changed = Condvar::new();
    std::thread::scope(|s| {
        for _ in 0..jobs.min(chosen.len()) {
            s.spawn(|| {
                while let Some((i, fence)) =
                    next_ready(&state, &changed, chosen, &index, ping, options.level)
                {
                    let env = Env {
                        level: chosen[i].level,
                        timing,
                        fence,
                        fresh: target.spawns(),
                        register,
                        delivery: chosen[i].delivery,
                    };
                    let result = run_entry(&chosen[i], target, options, env);
                    state.lock().expect("scheduler lock")[i] = Slot::Done(Box::new(result));
                    changed.notify_all();
                }
            });
        }
    });
    state
        .into_inner()
        .expect("scheduler lock")
        .into_iter()
        .map(|slot| match slot {
            Slot::Done(r) => *r,
            _ => unreachable!("every test finishes before the scope ends"),
        })
        .collect()
}

/// Picks the next test whose dependencies are done, marking tests whose
/// dependencies failed as skipped. Returns the index and whether the PING
/// fence may be used; `None` when everything is done.
fn next_ready(
    state: &Mutex<Vec<Slot>>,
    changed: &Condvar,
    chosen: &[Entry],
    index: &HashMap<&str, usize>,
    ping: Option<usize>,
    level: u8,
) -> Option<(usize, bool)> {
    let mut slots = state.lock().expect("scheduler lock");
    loop {
        let mut waiting = false;
        let mut pick = None;
        for i in 0..slots.len() {
            if !matches!(slots[i], Slot::Pending) {
                continue;
            }
            let entry = &chosen[i];
            let mut deps: Vec<usize> = entry
                .deps
                .iter()
                .filter_map(|d| index.get(d.as_str()).copied())
                .collect();
            // Every test waits for `ping`, which decides how silence is proven.
            if let Some(p) = ping.filter(|&p| p != i && level >= 2) {
                deps.push(p);
            }
            let mut ready = true;
            let mut broken = None;
            for &d in &deps {
                match &slots[d] {
                    Slot::Done(r) if r.status == Status::Pass => {}
                    Slot::Done(r) if Some(d) == ping && !entry.deps.iter().any(|x| x == "ping") => {
                        let _ = r; // ping failed: fall back to the quiet window
                    }
                    Slot::Done(r) => {
                        broken = Some((r.slug.clone(), r.status));
                        break;
                    }
                    _ => ready = false,
                }
            }
            if let Some((dep, status)) = broken {
                let why = match status {
                    Status::Fail => format!("depends on {dep}, which failed"),
                    _ => format!("depends on {dep}, which was skipped"),
                };
                slots[i] = Slot::Done(Box::new(skipped(entry, why)));
                changed.notify_all();
                continue;
            }
            if ready {
                pick = Some(i);
                break;
            }
            waiting = true;
        }
        if let Some(i) = pick {
            let fence = level >= 2
                && match ping {
                    Some(p) => matches!(&slots[p], Slot::Done(r) if r.status == Status::Pass),
                    None => true,
                };
            slots[i] = Slot::Running;
            return Some((i, fence));
        }
        let running = slots.iter().any(|s| matches!(s, Slot::Running));
        if !waiting && !running {
            return None;
        }
        slots = changed.wait(slots).expect("scheduler lock");
    }
}

fn skipped(entry: &Entry, why: String) -> TestResult {
    TestResult {
        slug: entry.slug.clone(),
        level: entry.level,
        rules: entry.rules.iter().map(|r| (*r).to_owned()).collect(),
        description: entry.case.description.to_owned(),
        status: Status::Skip,
        skip_reason: Some(why),
        failure: None,
        notes: Vec::new(),
        runs: 1,
        failed_runs: 0,
        verdict: None,
        duration_ms: 0,
    }
}

/// Runs one test on its own server (or the shared one) under a deadline.
fn run_entry(entry: &Entry, target: &Target, options: &Options, env: Env) -> TestResult {
    let started = Instant::now();
    let mut result = skipped(entry, String::new());
    result.skip_reason = None;
    let rerun = format!(
        "{} {} --level {} --only {} --seed {}",
        options.program,
        options
            .target_args
            .clone()
            .unwrap_or_else(|| target.to_args()),
        env.level,
        entry.slug,
        options.seed
    )
    .replace("  ", " ");
    let mut instance = match Instance::start(target, env.timing.startup) {
        Ok(instance) => instance,
        Err(e) => {
            result.status = Status::Fail;
            result.failed_runs = 1;
            result.failure = Some(report(
                entry,
                Failure::new(
                    "LOGIN-4",
                    format!("the server could not be started for this test: {}", e.0),
                ),
                Vec::new(),
                Vec::new(),
                None,
                rerun,
            ));
            return result;
        }
    };
    let deadline = env.timing.test;
    let env_timing_quiet = env.timing.quiet;
    let pid = instance.process.as_ref().map(|p| p.pid());
    let rng = Rng::for_test(options.seed, &entry.slug);
    let run = entry.case.run;
    let (outcome, transcript, notes, timed_out) = std::thread::scope(|s| {
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let instance = &mut instance;
        let handle = s.spawn(move || {
            let mut cx = Cx::new(rng, env, instance);
            let outcome = run(&mut cx);
            let _ = done_tx.send(());
            (outcome, cx.tx.events(), cx.notes)
        });
        let timed_out = done_rx.recv_timeout(deadline).is_err();
        if timed_out {
            // Killing the server ends every read the test is blocked in.
            if let Some(pid) = pid {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", "--", &format!("-{pid}")])
                    .status();
            }
        }
        match handle.join() {
            Ok((o, t, n)) => (o, t, n, timed_out),
            Err(_) => (
                Err(Stop::Fail(Failure::new(
                    "ERR-1",
                    "the grader itself panicked in this test; please report it",
                ))),
                Vec::new(),
                Vec::new(),
                timed_out,
            ),
        }
    });
    if outcome.is_err()
        && let Some(p) = instance.process.as_mut()
    {
        // A server that just crashed may need a moment to be seen as
        // exited; the crash explains a failure better than its symptom.
        let until = Instant::now() + env_timing_quiet;
        while p.exited().is_none() && Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    let exit = instance.process.as_mut().and_then(|p| {
        p.exited().map(|status| {
            // Reap it and read the rest of its output before explaining.
            p.kill();
            p.explain_exit(status)
        })
    });
    result.notes = notes;
    result.duration_ms = started.elapsed().as_millis() as u64;
    let outcome = if timed_out {
        Err(Stop::Fail(Failure::new(
            entry.rules[0],
            format!(
                "the test did not finish within its deadline of {} s",
                deadline.as_secs()
            ),
        )))
    } else {
        outcome
    };
    match outcome {
        Ok(()) => result.status = Status::Pass,
        Err(Stop::Skip(why)) => {
            result.status = Status::Skip;
            result.skip_reason = Some(why);
        }
        Err(Stop::Fail(mut failure)) => {
            if let Some(exit) = &exit {
                // The crash explains the failure better than its symptom does.
                failure.hint = Some(format!("the check that noticed it: {}", failure.reason));
                failure.reason = format!("your server stopped during this test: {exit}");
                failure.rule = entry.rules[0].to_owned();
            }
            result.status = Status::Fail;
            result.failed_runs = 1;
            let output = instance
                .process
                .as_ref()
                .map(|p| p.output())
                .unwrap_or_default();
            let tail = output[output.len().saturating_sub(40)..].to_vec();
            result.failure = Some(report(entry, failure, transcript, tail, exit, rerun));
        }
    }
    result
}

fn report(
    entry: &Entry,
    failure: Failure,
    transcript: Vec<Event>,
    server_output: Vec<OutputLine>,
    server_exit: Option<String>,
    rerun: String,
) -> FailureReport {
    let rule_text = spec::rule(&failure.rule)
        .map(|r| r.text.clone())
        .unwrap_or_default();
    let mut hints: Vec<String> = failure.hint.iter().cloned().collect();
    hints.extend(entry.case.hints.iter().map(|h| (*h).to_owned()));
    FailureReport {
        rule: failure.rule,
        rule_text,
        reason: failure.reason,
        expected: failure.expected,
        actual: failure.actual,
        caret: failure.caret,
        hints,
        transcript,
        server_output,
        server_exit,
        rerun,
    }
}

/// Merges the runs of `--repeat`: a test fails if any run failed, and the
/// verdict says whether it failed every time.
fn merge(runs: Vec<Vec<TestResult>>) -> Vec<TestResult> {
    let count = runs.len() as u32;
    let mut iter = runs.into_iter();
    let mut merged = iter.next().unwrap_or_default();
    for run in iter {
        for (m, r) in merged.iter_mut().zip(run) {
            m.runs += 1;
            m.failed_runs += r.failed_runs;
            if m.status != Status::Fail && r.status == Status::Fail {
                m.status = Status::Fail;
                m.failure = r.failure;
                m.skip_reason = None;
            }
        }
    }
    if count > 1 {
        for m in &mut merged {
            if m.failed_runs == 0 {
                continue;
            }
            m.verdict = Some(if m.failed_runs == m.runs {
                format!("deterministic: failed all {} runs", m.runs)
            } else {
                format!("flaky: failed {} of {} runs", m.failed_runs, m.runs)
            });
        }
    }
    merged
}
