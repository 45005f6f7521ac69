//! Grading one submission: find its manifest, copy it, build it, run the
//! instructor's conformance grader against it in the sandbox, and turn
//! whatever happens into a [`StudentResult`].
//!
//! The grader runs as a child process (`conformance --cmd … --format json`),
//! so a submission can only ever hurt its own grader: a crash, a hang or a
//! flood ends in a result for that submission, never in the end of the
//! batch. The wall-time limit kills the child's whole process group; a user
//! of the submission's own (when the batch runs as root) lets a final sweep
//! kill even the processes that left the group. When the machine allows it,
//! the grader and the student's server share a network namespace of their
//! own, where only loopback exists: the server cannot reach the network, and
//! parallel submissions never compete for ports.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::Value;

use crate::limits::{self, Capabilities, Limits};
use crate::manifest::{self, Manifest};
use crate::result::{self, Integrity, Status, StudentResult, Timing};
use crate::rubric::Rubric;
use crate::sandbox::{self, SandboxSpec, shell_quote};
use crate::submission;

/// Everything that is the same for every submission of a batch.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The instructor's conformance binary.
    pub conformance: PathBuf,
    /// This program, run by the grader as `classroom sandbox`.
    pub classroom: PathBuf,
    /// Highest level graded.
    pub level: u8,
    /// The seed of every random choice.
    pub seed: u64,
    /// Limits per submission.
    pub limits: Limits,
    /// What the machine enforces.
    pub caps: Capabilities,
    /// Points and hidden tests.
    pub rubric: Rubric,
    /// The rubric file, if one was given.
    pub rubric_path: Option<PathBuf>,
    /// SHA-256 of the rubric file, if one was given.
    pub rubric_sha256: Option<String>,
    /// `conformance --version`.
    pub harness_version: Option<String>,
    /// SHA-256 of the conformance binary.
    pub harness_sha256: String,
    /// Tests the grader runs in parallel for one submission.
    pub harness_jobs: usize,
    /// The grader's `--time-scale`.
    pub time_scale: f64,
    /// The first user id of this batch; submission `i` runs as `uid_base + i`.
    pub uid_base: u32,
}

impl Batch {
    /// Asks the conformance binary for its version and hashes it.
    pub fn harness_identity(conformance: &Path) -> anyhow::Result<(Option<String>, String)> {
        let sha = submission::file_hash(conformance).with_context(|| {
            format!(
                "cannot read the conformance grader {}",
                conformance.display()
            )
        })?;
        let version = Command::new(conformance)
            .arg("--version")
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .filter(|v| !v.is_empty());
        Ok((version, sha))
    }

    /// The user id for submission `index`, if students get users of their own.
    pub fn uid(&self, index: usize) -> Option<u32> {
        self.caps.setpriv.then(|| self.uid_base + index as u32)
    }
}

/// Grades the submission in `dir` as student `student`, the `index`-th of
/// the batch. Never fails: every problem becomes a not-gradable result.
pub fn grade(batch: &Batch, index: usize, student: &str, dir: &Path) -> StudentResult {
    let started = Instant::now();
    let started_at = jiff::Timestamp::now().to_string();
    let mut result = StudentResult {
        student: student.to_owned(),
        status: Status::NotGradable,
        reason: None,
        score: 0.0,
        max_score: 0.0,
        levels: result::empty_levels(&batch.rubric, batch.level),
        tests: Vec::new(),
        manifest: None,
        integrity: Integrity {
            seed: batch.seed,
            level: batch.level,
            level_run: batch.level,
            harness_version: batch.harness_version.clone(),
            harness_sha256: batch.harness_sha256.clone(),
            classroom_version: env!("CARGO_PKG_VERSION").to_owned(),
            submission_sha256: submission::content_hash(dir).ok(),
            rubric_sha256: batch.rubric_sha256.clone(),
        },
        limits: batch.limits.clone(),
        enforced: batch.caps.enforced(),
        notes: Vec::new(),
        timing: Timing {
            started_at,
            wall_ms: 0,
        },
    };
    result.max_score = result::round2(result.levels.iter().map(|l| l.max).sum());
    let uid = batch.uid(index);
    let outcome = match manifest::discover(dir) {
        Err(reason) => Err(reason),
        Ok(m) => {
            result.integrity.level_run = m.level.unwrap_or(6).min(batch.level);
            result.manifest = Some(m.clone());
            run(batch, &m, result.integrity.level_run, uid, dir, started)
        }
    };
    let mut leftovers = None;
    if let Some(uid) = uid {
        sandbox::sweep_uid(uid);
        let left = sandbox::processes_of(uid);
        if !left.is_empty() {
            log::warn!(
                "{student}: {} processes of uid {uid} survived the sweep",
                left.len()
            );
            leftovers = Some(format!(
                "{} processes of the submission survived the final sweep: {}",
                left.len(),
                left.join(", ")
            ));
        }
    }
    match outcome {
        Ok((json, notes)) => {
            let scored = result::score(
                &json,
                &batch.rubric,
                batch.level,
                result.integrity.level_run,
            );
            result.status = Status::Graded;
            result.score = scored.score;
            result.max_score = scored.max;
            result.levels = scored.levels;
            result.tests = scored.tests;
            result.notes = scored.notes;
            result.notes.extend(notes);
        }
        Err(reason) => result.reason = Some(reason),
    }
    result.notes.extend(leftovers);
    result.timing.wall_ms = started.elapsed().as_millis() as u64;
    result
}

/// Copies, builds and grades; the error is a not-gradable reason.
fn run(
    batch: &Batch,
    m: &Manifest,
    level_run: u8,
    uid: Option<u32>,
    dir: &Path,
    started: Instant,
) -> Result<(Value, Vec<String>), String> {
    let deadline = started + Duration::from_secs(batch.limits.wall_time_secs);
    let work = workspace().map_err(|e| format!("internal error: {e:#}"))?;
    let sub = work.path().join("sub");
    let links = submission::copy(dir, &sub, uid)
        .map_err(|e| format!("cannot copy the submission: {e:#}"))?;
    let mut notes = Vec::new();
    if !links.is_empty() {
        let names: Vec<String> = links.iter().map(|l| l.display().to_string()).collect();
        notes.push(format!(
            "symbolic links were left out of the copy: {}",
            names.join(", ")
        ));
    }
    let spec = |command: &str| SandboxSpec {
        command: command.to_owned(),
        workdir: sub.clone(),
        uid,
        prlimit: batch.caps.prlimit,
        limits: batch.limits.clone(),
    };
    let write_spec = |name: &str, s: &SandboxSpec| -> Result<PathBuf, String> {
        let path = work.path().join(name);
        let json = serde_json::to_string_pretty(s).expect("spec serialises");
        std::fs::write(&path, json).map_err(|e| format!("internal error: {e}"))?;
        Ok(path)
    };
    if let Some(setup) = &m.setup {
        let path = write_spec("setup.json", &spec(setup))?;
        let log = work.path().join("setup.log");
        let mut cmd = Command::new(&batch.classroom);
        cmd.arg("sandbox").arg("--spec").arg(&path);
        let status =
            run_until(cmd, &log, deadline).map_err(|e| format!("internal error: {e:#}"))?;
        let tail = tail(&log, 12);
        match status {
            None => {
                return Err(format!(
                    "the setup step `{setup}` did not finish within the wall time of {} s",
                    batch.limits.wall_time_secs
                ));
            }
            Some(s) if !s.success() => {
                return Err(format!(
                    "the setup step `{setup}` failed ({}): {tail}",
                    describe(s)
                ));
            }
            Some(_) => {}
        }
    }
    let path = write_spec("server.json", &spec(&m.command))?;
    let template = format!(
        "{} sandbox --spec {} --port {{port}} --photo-port {{photo_port}} --file-port {{file_port}} --data-dir {{data_dir}}",
        shell_quote(&batch.classroom.to_string_lossy()),
        shell_quote(&path.to_string_lossy()),
    );
    let results = work.path().join("results.json");
    let log = work.path().join("harness.log");
    let mut cmd = if let Some(flags) = &batch.caps.netns {
        let mut c = Command::new("unshare");
        c.args(flags)
            .args(["--", "sh", "-c"])
            .arg(format!("{} && exec \"$@\"", limits::NETNS_LOOPBACK_UP))
            .arg("sh")
            .arg(&batch.conformance);
        c
    } else {
        Command::new(&batch.conformance)
    };
    cmd.arg("--cmd")
        .arg(&template)
        .arg("--level")
        .arg(level_run.to_string())
        .arg("--seed")
        .arg(batch.seed.to_string())
        .arg("--format")
        .arg("json")
        .arg("--output")
        .arg(&results)
        .arg("--jobs")
        .arg(batch.harness_jobs.to_string())
        .arg("--time-scale")
        .arg(batch.time_scale.to_string())
        // The grader's data directories live in the workspace, which is
        // removed even if the grader is killed.
        .env("TMPDIR", work.path().join("tmp"));
    let status = run_until(cmd, &log, deadline).map_err(|e| format!("internal error: {e:#}"))?;
    let Some(status) = status else {
        return Err(format!(
            "grading did not finish within the wall time of {} s; the grader was stopped",
            batch.limits.wall_time_secs
        ));
    };
    match status.code() {
        Some(0 | 1) => {
            let text = std::fs::read_to_string(&results)
                .map_err(|e| format!("the grader wrote no results: {e}"))?;
            let mut json: Value = serde_json::from_str(&text)
                .map_err(|e| format!("the grader's results are not JSON: {e}"))?;
            student_commands(&mut json, &template, &m.command);
            Ok((json, notes))
        }
        Some(2) => {
            let why = tail(&log, 6);
            let marker = "conformance: cannot grade: ";
            let why = why
                .rfind(marker)
                .map_or(why.as_str(), |i| &why[i + marker.len()..]);
            Err(format!("the server could not be graded: {why}"))
        }
        _ => Err(format!(
            "the grader itself failed ({}): {}",
            describe(status),
            tail(&log, 6)
        )),
    }
}

/// Puts the student's own command back where the grader quotes the
/// sandbox wrapper (`target`, and each failure's `rerun`), so that a rerun
/// line in a report is one the student can type.
fn student_commands(json: &mut Value, template: &str, command: &str) {
    let quoted = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let fix = |v: &mut Value| {
        if let Some(text) = v.as_str() {
            let fixed = text
                .replace(&quoted(template), &quoted(command))
                .replace(template, command);
            *v = Value::String(fixed);
        }
    };
    fix(&mut json["target"]);
    for t in json["tests"].as_array_mut().into_iter().flatten() {
        if t["failure"].is_object() {
            fix(&mut t["failure"]["rerun"]);
        }
    }
}

/// A fresh workspace whose folders the student's user may traverse.
fn workspace() -> anyhow::Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    let work = tempfile::Builder::new().prefix("classroom-").tempdir()?;
    std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o711))?;
    let tmp = work.path().join("tmp");
    std::fs::create_dir(&tmp)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o711))?;
    Ok(work)
}

/// Runs `cmd` in a process group of its own with stdout and stderr in
/// `log`, until it exits or `deadline` passes; then kills the whole group.
/// `None` means the deadline passed.
pub fn run_until(
    mut cmd: Command,
    log: &Path,
    deadline: Instant,
) -> anyhow::Result<Option<ExitStatus>> {
    use std::os::unix::process::CommandExt;
    let file = std::fs::File::create(log)?;
    cmd.stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .process_group(0);
    let mut child = cmd.spawn().context("cannot start the grader")?;
    let mut pause = Duration::from_millis(5);
    loop {
        if let Some(status) = child.try_wait()? {
            kill_group(child.id());
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            kill_group(child.id());
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        // Polling a child with a growing pause: std has no wait with a
        // timeout, and one thread per submission is all this costs.
        std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Sends SIGKILL to every process of a process group.
pub fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The last `n` non-empty lines of a log, joined with " / ", at most 600 bytes.
fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read(path).unwrap_or_default();
    let start = text.len().saturating_sub(64 * 1024);
    let text = String::from_utf8_lossy(&text[start..]);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let joined = lines[lines.len().saturating_sub(n)..].join(" / ");
    if joined.len() > 600 {
        let mut cut = joined.len() - 600;
        while !joined.is_char_boundary(cut) {
            cut += 1;
        }
        format!("…{}", &joined[cut..])
    } else if joined.is_empty() {
        "no output".to_owned()
    } else {
        joined
    }
}

fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => "unknown status".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reruns_name_the_students_command() {
        let template = "/bin/classroom sandbox --spec /tmp/x/server.json --port {port}";
        let mut json = serde_json::json!({
            "target": format!("--cmd '{template}'"),
            "tests": [{"failure": {"rerun": format!("conformance --cmd '{template}' --only a")}}, {}],
        });
        student_commands(&mut json, template, "python3 server.py {port}");
        assert_eq!(json["target"], "--cmd 'python3 server.py {port}'");
        assert_eq!(
            json["tests"][0]["failure"]["rerun"],
            "conformance --cmd 'python3 server.py {port}' --only a"
        );
    }
}
