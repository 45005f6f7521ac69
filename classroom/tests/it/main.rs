//! Integration tests of `classroom`: batch grading of the fixture
//! submissions (good, partial, crashing, hanging, flooding, fork-happy,
//! ungradable) through the real conformance grader, with snapshots of the
//! class CSV and of per-student results; the sandbox's output cap; re-grades;
//! and the platform generators.
//!
//! The conformance binary is another package's, which Cargo does not build
//! for this crate's tests. [`conformance`] builds it once per test run with
//! `cargo build -p conformance` into a target directory of its own (inside
//! this one), so it is always current and never waits on the lock that the
//! running `cargo test` holds on its own target directory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use assert_cmd::prelude::*;
use serde_json::Value;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn fixtures() -> PathBuf {
    workspace().join("fixtures/submissions")
}

/// The conformance binary, built once.
fn conformance() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = PathBuf::from(env!("CARGO_BIN_EXE_classroom"));
        // target/debug/classroom -> target/classroom-it
        let target = exe
            .parent()
            .and_then(Path::parent)
            .unwrap()
            .join("classroom-it");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(workspace())
            .args(["build", "--quiet", "-p", "conformance", "--target-dir"])
            .arg(&target)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cargo build -p conformance failed");
        target.join("debug/conformance")
    })
}

fn classroom() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_classroom"));
    cmd.env("RUST_LOG", "warn");
    cmd
}

/// Copies some fixture submissions into a fresh class folder.
fn class(students: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for s in students {
        copy_dir(&fixtures().join(s), &dir.path().join("submissions").join(s));
    }
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_name() == "__pycache__" {
            continue;
        }
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Runs `classroom grade` on `dir/submissions` into `dir/grades`.
fn grade(dir: &Path, extra: &[&str]) -> PathBuf {
    let out = dir.join("grades");
    classroom()
        .arg("grade")
        .arg(dir.join("submissions"))
        .arg("--out")
        .arg(&out)
        .arg("--conformance")
        .arg(conformance())
        .args([
            "--level",
            "1",
            "--seed",
            "7",
            "--jobs",
            "2",
            "--harness-jobs",
            "1",
            "--max-procs",
            "64",
        ])
        // Generous timeouts: the verdicts must not depend on the machine's load.
        .args(["--time-scale", "4"])
        .args(extra)
        .assert()
        .success();
    out
}

/// Replaces what changes from run to run: the ports the grader picked.
fn stable(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("127.0.0.1:") {
        out.push_str(&rest[..i + 10]);
        rest = &rest[i + 10..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        out.push_str(if digits > 0 { "[port]" } else { "" });
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

fn result_json(out: &Path, student: &str) -> Value {
    let text =
        std::fs::read_to_string(out.join("students").join(student).join("result.json")).unwrap();
    serde_json::from_str(&stable(&text)).unwrap()
}

/// A result with what differs between machines and runs taken out.
fn redacted(mut v: Value) -> Value {
    v["timing"] = "[timing]".into();
    v["integrity"]["harness_sha256"] = "[sha]".into();
    v["integrity"]["harness_version"] = "[version]".into();
    v["integrity"]["classroom_version"] = "[version]".into();
    v["enforced"] = "[machine]".into();
    for t in v["tests"].as_array_mut().into_iter().flatten() {
        // The catalogue's wording belongs to the conformance crate.
        t["description"] = "[catalogue]".into();
        if !t["failure"].is_null() {
            t["failure"] = "[failure report]".into();
        }
    }
    v
}

#[test]
fn a_class_of_fixtures_gets_one_result_each() {
    // Every fixture submission: a new one must join the snapshots.
    let mut students: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    students.sort();
    let students: Vec<&str> = students.iter().map(String::as_str).collect();
    let dir = class(&students);
    let out = grade(dir.path(), &[]);
    for s in &students {
        for f in ["result.json", "report.txt", "report.json"] {
            assert!(
                out.join("students").join(s).join(f).is_file(),
                "{s}/{f} missing"
            );
        }
        assert!(
            out.join("gradescope")
                .join(s)
                .join("results.json")
                .is_file()
        );
    }
    let csv = std::fs::read_to_string(out.join("class.csv")).unwrap();
    insta::assert_snapshot!("class_csv", stable(&csv));
    insta::assert_json_snapshot!("alice_good", redacted(result_json(&out, "alice-good")));
    insta::assert_json_snapshot!("frank_flood", redacted(result_json(&out, "frank-flood")));
    // The fork-happy submission left nothing behind: the sweep would say so.
    let grace = result_json(&out, "grace-forks");
    assert_eq!(grace["status"], "graded");
    assert!(
        !grace.to_string().contains("survived the final sweep"),
        "{grace}"
    );
    let html = std::fs::read_to_string(out.join("overview.html")).unwrap();
    assert!(
        html.contains("chat-no-echo") || html.contains("CHAT-2"),
        "the echo bug is a shared failure"
    );
    assert!(html.contains("not_gradable"));
}

#[test]
fn a_regrade_with_the_same_seed_gives_the_same_verdicts() {
    let dir = class(&["alice-good", "carol-echo", "dave-crash", "heidi-empty"]);
    let first = grade(dir.path(), &[]);
    let csv1 = stable(&std::fs::read_to_string(first.join("class.csv")).unwrap());
    let statuses = |out: &Path| -> Vec<(String, String)> {
        let v = result_json(out, "carol-echo");
        v["tests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["slug"].as_str().unwrap().to_owned(),
                    t["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let tests1 = statuses(&first);
    std::fs::rename(&first, dir.path().join("first")).unwrap();
    let second = grade(dir.path(), &[]);
    assert_eq!(
        csv1,
        stable(&std::fs::read_to_string(second.join("class.csv")).unwrap())
    );
    assert_eq!(tests1, statuses(&second));
    let v = result_json(&second, "carol-echo");
    assert_eq!(v["integrity"]["seed"], 7);
    assert!(
        v["integrity"]["submission_sha256"]
            .as_str()
            .is_some_and(|h| h.len() == 64)
    );
    assert!(
        v["integrity"]["harness_sha256"]
            .as_str()
            .is_some_and(|h| h.len() == 64)
    );
}

#[test]
fn hidden_tests_count_but_students_see_only_their_number() {
    let dir = class(&["carol-echo"]);
    let rubric = dir.path().join("rubric.toml");
    std::fs::write(&rubric, "[tests.chat-no-echo]\nhidden = true\n").unwrap();
    let out = grade(dir.path(), &["--rubric", rubric.to_str().unwrap()]);
    let instructor = result_json(&out, "carol-echo");
    assert!(instructor.to_string().contains("chat-no-echo"));
    let student = std::fs::read_to_string(out.join("students/carol-echo/report.json")).unwrap();
    let gradescope =
        std::fs::read_to_string(out.join("gradescope/carol-echo/results.json")).unwrap();
    let report = std::fs::read_to_string(out.join("students/carol-echo/report.txt")).unwrap();
    for text in [&student, &gradescope, &report] {
        assert!(!text.contains("chat-no-echo"), "hidden slug leaked: {text}");
    }
    for text in [&gradescope, &report] {
        assert!(
            text.contains("1 hidden test in category Level 1: passed 0"),
            "{text}"
        );
    }
    let student: Value = serde_json::from_str(&student).unwrap();
    assert_eq!(
        student["hidden"],
        serde_json::json!([{"level": 1, "count": 1, "passed": 0}])
    );
    // The hidden failure still costs its points.
    assert_eq!(instructor["score"], 27.0);
}

#[test]
fn the_wall_time_limit_ends_a_submission_not_the_batch() {
    let dir = class(&["erin-hang", "heidi-empty"]);
    let out = grade(dir.path(), &["--wall-time", "1"]);
    let v = result_json(&out, "erin-hang");
    assert_eq!(v["status"], "not_gradable");
    assert!(
        v["reason"].as_str().unwrap().contains("wall time of 1 s"),
        "{v}"
    );
    assert_eq!(result_json(&out, "heidi-empty")["status"], "not_gradable");
}

#[test]
fn the_sandbox_caps_output_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let spec = serde_json::json!({
        "command": "yes flood",
        "workdir": dir.path(),
        "uid": null,
        "prlimit": false,
        "limits": {"wall_time_secs": 10, "cpu_secs": 10, "memory_mb": 256, "max_procs": 16,
                   "max_output_kb": 4, "max_file_mb": 1, "max_open_files": 64},
    });
    let path = dir.path().join("spec.json");
    std::fs::write(&path, spec.to_string()).unwrap();
    let out = classroom()
        .arg("sandbox")
        .arg("--spec")
        .arg(&path)
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    // The cap kills the student's program (and its process group).
    assert_eq!(out.status.signal(), Some(9), "{:?}", out.status);
    assert!(
        out.stdout.len() <= 4096 + 200,
        "{} bytes forwarded",
        out.stdout.len()
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("more than 4 KB (the output limit)"),
        "{stderr}"
    );
}

#[test]
fn platform_files_are_generated() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    classroom()
        .arg("gradescope-bundle")
        .arg(&bundle)
        .arg("--conformance")
        .arg(conformance())
        .args(["--level", "2", "--seed", "3"])
        .assert()
        .success();
    let run = std::fs::read_to_string(bundle.join("run_autograder")).unwrap();
    assert!(
        run.contains("--level=2") && run.contains("--seed=3"),
        "{run}"
    );
    for f in ["setup.sh", "bin/conformance", "bin/classroom"] {
        assert!(bundle.join(f).is_file(), "{f}");
    }
    // Run the bundle as Gradescope would, with /autograder moved to a temp dir.
    let root = dir.path().join("autograder");
    copy_dir(&bundle, &root.join("source"));
    copy_dir(&fixtures().join("carol-echo"), &root.join("submission"));
    let status = Command::new("bash")
        .arg(root.join("source/run_autograder"))
        .env("CHATLAB_AUTOGRADER_ROOT", &root)
        .status()
        .unwrap();
    assert!(status.success());
    let results = std::fs::read_to_string(root.join("results/results.json")).unwrap();
    let results: Value = serde_json::from_str(&results).unwrap();
    // Level 1 passes but for the echo (27 of 30); Level 2 is not implemented.
    assert!(results["score"].as_f64().unwrap() >= 27.0, "{results}");
    let tests = results["tests"].as_array().unwrap();
    assert!(
        tests
            .iter()
            .any(|t| t["number"] == "chat-no-echo" && t["score"] == 0.0)
    );
    let workflow = dir.path().join(".github/workflows/chatlab.yml");
    classroom()
        .arg("github-workflow")
        .arg(&workflow)
        .args(["--kit-repo", "uni/chatlab", "--level", "3"])
        .assert()
        .success();
    let yml = std::fs::read_to_string(workflow).unwrap();
    assert!(yml.contains("repository: uni/chatlab") && yml.contains("--level 3"));
}
