//! The `chat-bench` load generator, run small: it must start its own
//! reference server, log every client in, count every delivery and report a
//! clean run, in each of its modes. These are not timed tests: the figures
//! belong to BENCHMARKS.md, and only the counts are checked here.

use std::process::Command;

use assert_cmd::cargo::cargo_bin;

/// Runs chat-bench with `args` (plus cheap password hashes) and returns its
/// report, asserting that it exited 0.
fn bench(args: &[&str]) -> String {
    let output = Command::new(cargo_bin("chat-bench"))
        .args(args)
        .args(["--timeout", "60", "--server-args", "--hash-memory-kib 64"])
        .output()
        .expect("chat-bench runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "chat-bench {args:?} failed:\n{stdout}\n{stderr}"
    );
    stdout
}

fn line<'a>(report: &'a str, prefix: &str) -> &'a str {
    report
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line in:\n{report}"))
}

const CLEAN: &str =
    "losses: 0, out-of-order: 0, error frames: 0, failed logins: 0, lost connections: 0";

#[test]
fn saturating_run_counts_every_delivery_in_order() {
    // 5 senders x 400 messages to 7 clients: each message reaches the 6 others.
    let report = bench(&["--clients", "7", "--senders", "5", "--messages", "400"]);
    assert!(
        line(&report, "connect+login:").starts_with("connect+login: 7/7 clients"),
        "{report}"
    );
    assert!(
        line(&report, "deliveries:").starts_with("deliveries: 12000/12000 in"),
        "{report}"
    );
    assert_eq!(line(&report, "losses:"), CLEAN);
}

#[test]
fn paced_run_and_two_generator_threads_count_every_delivery() {
    let report = bench(&[
        "--clients",
        "6",
        "--senders",
        "3",
        "--messages",
        "30",
        "--rate",
        "3000",
        "--threads",
        "2",
    ]);
    assert!(
        line(&report, "deliveries:").starts_with("deliveries: 450/450 in"),
        "{report}"
    );
    assert_eq!(line(&report, "losses:"), CLEAN);
}

#[test]
fn idle_clients_all_log_in_and_answer_a_ping() {
    let report = bench(&["--clients", "120", "--idle", "0", "--login-burst", "16"]);
    assert!(
        line(&report, "connect+login:").starts_with("connect+login: 120/120 clients"),
        "{report}"
    );
    assert_eq!(
        line(&report, "idle: 120/"),
        "idle: 120/120 clients still answer a ping after 0 s"
    );
}

#[test]
fn the_stall_probe_reports_one_tally_per_core_and_refuses_a_bad_duration() {
    let output = Command::new(cargo_bin("chat-bench"))
        .args(["stalls", "--seconds", "0.2"])
        .output()
        .expect("chat-bench runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    assert!(stdout.starts_with("machine stalls over 0.2 s"), "{stdout}");
    assert_eq!(
        stdout.matches("stalls over 1 ms").count(),
        cores,
        "{stdout}"
    );

    let output = Command::new(cargo_bin("chat-bench"))
        .args(["stalls", "--seconds", "inf"])
        .output()
        .expect("chat-bench runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--seconds must be a positive number"),
        "{stderr}"
    );
}
