//! The batch: every immediate subfolder of the submissions folder is one
//! student, graded in parallel up to `--jobs`, each result written the moment
//! it is known, then the class files.
//!
//! Workers take the next submission from a shared counter, so a slow
//! submission never holds up the others. Grading one submission cannot fail
//! (it yields a not-gradable result instead), and a panic in a worker is
//! caught and turned into a not-gradable result too: the batch always ends
//! with one result per student.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::Context as _;

use crate::grade::{Batch, grade};
use crate::report;
use crate::result::{self, Integrity, Status, StudentResult, Timing};

/// The students of a submissions folder: (id, folder), sorted by id.
/// Folders whose names start with `.` are not students.
pub fn students(dir: &Path) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !entry.file_type()?.is_dir() {
            continue;
        }
        out.push((name, entry.path()));
    }
    out.sort();
    Ok(out)
}

/// What a batch run produced.
#[derive(Debug)]
pub struct Summary {
    /// Every student's result, sorted by id.
    pub results: Vec<StudentResult>,
    /// Wall time of the whole batch, in seconds.
    pub seconds: f64,
}

/// Grades every student with `jobs` workers and writes all outputs to `out`.
pub fn run(batch: &Batch, submissions: &Path, out: &Path, jobs: usize) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let students = students(submissions)?;
    std::fs::create_dir_all(out.join("students"))
        .with_context(|| format!("cannot create {}", out.display()))?;
    std::fs::create_dir_all(out.join("gradescope"))?;
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<StudentResult>> = Mutex::new(Vec::new());
    let total = students.len();
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1).min(total.max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some((id, dir)) = students.get(i) else {
                        break;
                    };
                    let r = std::panic::catch_unwind(|| grade(batch, i, id, dir))
                        .unwrap_or_else(|_| crashed(batch, id));
                    if let Err(e) = write_student(out, &r) {
                        log::error!("cannot write the result of {id}: {e:#}");
                    }
                    let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                    eprintln!(
                        "[{n}/{total}] {id}: {} {} / {}{} ({:.1} s)",
                        r.status.as_str(),
                        report::csv_number(r.score),
                        report::csv_number(r.max_score),
                        r.reason
                            .as_deref()
                            .map(|x| format!(" — {x}"))
                            .unwrap_or_default(),
                        r.timing.wall_ms as f64 / 1000.0
                    );
                    results.lock().expect("results lock").push(r);
                }
            });
        }
    });
    let mut results = results.into_inner().expect("results lock");
    results.sort_by(|a, b| a.student.cmp(&b.student));
    std::fs::write(out.join("class.csv"), report::class_csv(&results))?;
    std::fs::write(
        out.join("overview.html"),
        report::overview(&results, "ChatLab class overview"),
    )?;
    Ok(Summary {
        results,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Writes a student's instructor result, student reports and Gradescope file.
pub fn write_student(out: &Path, r: &StudentResult) -> anyhow::Result<()> {
    let dir = out.join("students").join(&r.student);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("result.json"),
        serde_json::to_string_pretty(r)? + "\n",
    )?;
    std::fs::write(dir.join("report.txt"), report::report_txt(r))?;
    std::fs::write(
        dir.join("report.json"),
        serde_json::to_string_pretty(&report::student_view(r))? + "\n",
    )?;
    let gs = out.join("gradescope").join(&r.student);
    std::fs::create_dir_all(&gs)?;
    std::fs::write(
        gs.join("results.json"),
        serde_json::to_string_pretty(&report::gradescope(r))? + "\n",
    )?;
    Ok(())
}

/// The result of a worker that panicked (a bug in this program, not the
/// student's): not gradable, with a reason that says so.
fn crashed(batch: &Batch, id: &str) -> StudentResult {
    let levels = result::empty_levels(&batch.rubric, batch.level);
    StudentResult {
        student: id.to_owned(),
        status: Status::NotGradable,
        reason: Some(
            "internal error: the batch grader panicked on this submission; see its log".into(),
        ),
        score: 0.0,
        max_score: levels.iter().map(|l| l.max).sum(),
        levels,
        tests: Vec::new(),
        manifest: None,
        integrity: Integrity {
            seed: batch.seed,
            level: batch.level,
            level_run: batch.level,
            harness_version: batch.harness_version.clone(),
            harness_sha256: batch.harness_sha256.clone(),
            classroom_version: env!("CARGO_PKG_VERSION").to_owned(),
            submission_sha256: None,
            rubric_sha256: batch.rubric_sha256.clone(),
        },
        limits: batch.limits.clone(),
        enforced: batch.caps.enforced(),
        notes: Vec::new(),
        timing: Timing {
            started_at: jiff::Timestamp::now().to_string(),
            wall_ms: 0,
        },
    }
}
