//! The binary: exit codes 0/1/2, the formats, and plain-words errors.

use std::process::{Command, Output};

use crate::{exe, zoo_path};

fn conformance(args: &[&str]) -> Output {
    let _heavy = crate::heavy();
    Command::new(exe())
        .args(args)
        .output()
        .expect("conformance runs")
}

fn zoo_cmd(file: &str) -> String {
    format!("python3 {} {{port}} {{data_dir}}", zoo_path(file).display())
}

#[test]
fn list_exits_0_and_names_every_test() {
    let out = conformance(&["--list"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("login-ok") && text.contains("chat-basic@bytes") && text.contains("LOAD-7")
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(
        conformance(&["--only", "no-such-test"]).status.code(),
        Some(2)
    );
    assert_eq!(conformance(&["--level", "9"]).status.code(), Some(2));
    let help = conformance(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("Exit codes"));
}

#[test]
fn a_server_that_never_comes_up_exits_2_with_the_reason() {
    let out = conformance(&[
        "--cmd",
        "python3 -c 'import sys; print(\"bye\"); sys.exit(3)'",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("exited with status 3") && err.contains("bye"),
        "{err}"
    );
    let out = conformance(&["--addr", "127.0.0.1:1"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_passing_run_exits_0_and_prints_its_seed() {
    let out = conformance(&[
        "--level",
        "1",
        "--seed",
        "99",
        "--cmd",
        &zoo_cmd("level1_good.py"),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("seed 99") && text.contains("all passed"),
        "{text}"
    );
}

#[test]
fn a_failure_exits_1_in_every_format() {
    let cmd = zoo_cmd("bug_echo.py");
    let base = ["--only", "chat-no-echo", "--seed", "5", "--cmd", &cmd];
    let run = |format: &str| {
        let mut args = base.to_vec();
        args.extend(["--format", format]);
        let out = conformance(&args);
        assert_eq!(out.status.code(), Some(1), "{format}");
        String::from_utf8(out.stdout).expect("utf-8")
    };
    let terminal = run("terminal");
    for part in [
        "CHAT-2",
        "expected: (nothing",
        "^",
        "Transcript",
        "C1  ←",
        "Hint:",
        "Rerun: conformance --cmd",
        "--only chat-no-echo --seed 5",
    ] {
        assert!(terminal.contains(part), "no {part:?} in\n{terminal}");
    }
    let json: serde_json::Value = serde_json::from_str(&run("json")).expect("json");
    assert_eq!(json["seed"], 5);
    assert_eq!(json["tests"][0]["status"], "fail");
    let gradescope: serde_json::Value =
        serde_json::from_str(&run("gradescope")).expect("gradescope json");
    assert_eq!(gradescope["tests"][0]["score"], 0.0);
    assert!(gradescope["tests"][0]["max_score"].as_f64().unwrap() > 0.0);
    assert_eq!(gradescope["tests"][0]["visibility"], "visible");
    let junit = run("junit");
    assert!(
        junit.contains("<testcase classname=\"level1\" name=\"chat-no-echo\"")
            && junit.contains("<failure")
    );
    let tap = run("tap");
    assert!(
        tap.starts_with("TAP version 14\n1..1\n# ChatLab conformance, levels 1-6, seed 5\nnot ok 1 - chat-no-echo"),
        "{tap}"
    );
}

#[test]
fn repeat_labels_failures_and_a_rubric_sets_the_points() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let rubric = dir.path().join("rubric.json");
    std::fs::write(
        &rubric,
        r#"{"levels": {"1": 10}, "tests": {"chat-no-echo": 7}}"#,
    )
    .expect("rubric written");
    let cmd = zoo_cmd("bug_echo.py");
    let out = conformance(&[
        "--only",
        "chat-basic,chat-no-echo",
        "--repeat",
        "2",
        "--seed",
        "8",
        "--format",
        "gradescope",
        "--rubric",
        rubric.to_str().expect("utf-8 path"),
        "--cmd",
        &cmd,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("gradescope json");
    assert_eq!(
        json["score"], 10.0,
        "chat-basic passed and gets the level's 10 points"
    );
    assert_eq!(json["tests"][1]["max_score"], 7.0);
    let output = json["tests"][1]["output"].as_str().expect("output text");
    assert!(
        output.contains("deterministic: failed all 2 runs"),
        "{output}"
    );
}
