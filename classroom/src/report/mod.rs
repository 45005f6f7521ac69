//! What a batch writes: the class CSV, per-student reports (text and JSON),
//! the HTML overview and Gradescope's `results.json`.
//!
//! Two audiences read them. The instructor's files (`class.csv`,
//! `students/ID/result.json`, `overview.html`) show every test. The
//! student's files (`students/ID/report.txt`, `students/ID/report.json`,
//! `gradescope/ID/results.json`) show a hidden test only as a count per level
//! ([`student_view`]), so that handing them out does not reveal it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use crate::result::{StudentResult, TestOutcome};

mod csv;
mod gradescope;
mod html;

pub use csv::{class_csv, number as csv_number};
pub use gradescope::gradescope;
pub use html::overview;

/// Hidden tests of one level, as students see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HiddenSummary {
    /// The level.
    pub level: u8,
    /// How many hidden tests it has.
    pub count: usize,
    /// How many of them passed.
    pub passed: usize,
}

impl HiddenSummary {
    /// The sentence students see.
    pub fn sentence(&self) -> String {
        format!(
            "{} hidden test{} in category Level {}: passed {}",
            self.count,
            if self.count == 1 { "" } else { "s" },
            self.level,
            self.passed
        )
    }
}

/// The hidden tests of a result, summarised per level.
pub fn hidden_summary(r: &StudentResult) -> Vec<HiddenSummary> {
    let mut by_level: BTreeMap<u8, (usize, usize)> = BTreeMap::new();
    for t in r.tests.iter().filter(|t| t.hidden) {
        let e = by_level.entry(t.level).or_default();
        e.0 += 1;
        e.1 += usize::from(t.passed());
    }
    by_level
        .into_iter()
        .map(|(level, (count, passed))| HiddenSummary {
            level,
            count,
            passed,
        })
        .collect()
}

/// The result as a student may see it: hidden tests replaced by counts.
pub fn student_view(r: &StudentResult) -> Value {
    let mut v = serde_json::to_value(r).expect("result serialises");
    let visible: Vec<&TestOutcome> = r.tests.iter().filter(|t| !t.hidden).collect();
    v["tests"] = serde_json::to_value(visible).expect("tests serialise");
    v["hidden"] = serde_json::to_value(hidden_summary(r)).expect("summary serialises");
    v
}

/// The student's text report: score, failures with transcripts and hints,
/// hidden-test counts, and how to reproduce the run.
pub fn report_txt(r: &StudentResult) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "ChatLab grade for {}", r.student);
    let _ = writeln!(s, "Status: {}", r.status.as_str());
    if let Some(reason) = &r.reason {
        let _ = writeln!(s, "Reason: {reason}");
    }
    let _ = writeln!(s, "Score: {} / {}", r.score, r.max_score);
    for l in &r.levels {
        let _ = writeln!(
            s,
            "  Level {}: {} / {}  ({} of {} tests passed)",
            l.level, l.score, l.max, l.passed, l.total
        );
    }
    for h in hidden_summary(r) {
        let _ = writeln!(s, "  {}", h.sentence());
    }
    if let Some(m) = &r.manifest {
        let _ = writeln!(s, "Server command: {}  ({})", m.command, m.source);
    }
    let failed: Vec<&TestOutcome> = r
        .tests
        .iter()
        .filter(|t| !t.hidden && !t.passed())
        .collect();
    if !failed.is_empty() {
        let _ = writeln!(s, "\nTests that did not pass ({}):", failed.len());
    }
    for t in failed {
        let _ = writeln!(s, "\n[L{}] {} ({})", t.level, t.slug, t.status);
        if !t.description.is_empty() {
            let _ = writeln!(s, "  checks: {}", t.description);
        }
        if let Some(m) = &t.message {
            let _ = writeln!(s, "  {m}");
        }
        if let Some(f) = &t.failure {
            failure_txt(&mut s, f);
        }
    }
    for n in &r.notes {
        let _ = writeln!(s, "\nNote: {n}");
    }
    let i = &r.integrity;
    let _ = writeln!(
        s,
        "\nSeed {} · level {} (run: {}) · {} (sha256 {}) · classroom {} · submission sha256 {}",
        i.seed,
        i.level,
        i.level_run,
        i.harness_version.as_deref().unwrap_or("conformance"),
        short(&i.harness_sha256),
        i.classroom_version,
        i.submission_sha256.as_deref().map(short).unwrap_or("-"),
    );
    s
}

fn failure_txt(s: &mut String, f: &Value) {
    let text = |k: &str| f[k].as_str().filter(|x| !x.is_empty());
    if let Some(rule_text) = text("rule_text") {
        let _ = writeln!(s, "  rule: {rule_text}");
    }
    if let (Some(e), Some(a)) = (text("expected"), text("actual")) {
        let _ = writeln!(s, "  expected: {e}\n  actual:   {a}");
        if let Some(col) = f["caret"].as_u64() {
            let _ = writeln!(s, "            {}^", " ".repeat(col as usize));
        }
    }
    if let Some(events) = f["transcript"].as_array().filter(|e| !e.is_empty()) {
        let _ = writeln!(s, "  transcript:");
        for e in events.iter().take(200) {
            let arrow = match e["dir"].as_str() {
                Some("sent") => "→",
                Some("received") => "←",
                _ => "·",
            };
            let _ = writeln!(
                s,
                "    {:>6} ms  {:<3} {arrow} {}",
                e["at_ms"].as_u64().unwrap_or(0),
                e["conn"].as_str().unwrap_or(""),
                e["text"].as_str().unwrap_or("")
            );
        }
    }
    if let Some(exit) = text("server_exit") {
        let _ = writeln!(s, "  your server stopped: {exit}");
    }
    if let Some(out) = f["server_output"].as_array().filter(|o| !o.is_empty()) {
        let _ = writeln!(s, "  your server's last output:");
        for line in out.iter().rev().take(10).rev() {
            let _ = writeln!(s, "    {}", line["text"].as_str().unwrap_or(""));
        }
    }
    for h in f["hints"].as_array().into_iter().flatten() {
        let _ = writeln!(s, "  hint: {}", h.as_str().unwrap_or(""));
    }
    if let Some(rerun) = text("rerun") {
        let _ = writeln!(s, "  rerun: {rerun}");
    }
}

/// The first 12 characters of a hash.
pub fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}
