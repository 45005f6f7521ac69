//! The terminal report: one line per test, then every failure in full (rule
//! text, expected against actual with a caret, transcript, server output,
//! hints, rerun command), then a per-level summary and the score.
//!
//! Colour is used only when stdout is a terminal, so redirected reports and
//! snapshots stay plain text.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::report::Rubric;
use crate::runner::{FailureReport, Results, Status, TestResult};
use crate::transcript::render;

struct Paint(bool);

impl Paint {
    fn c(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
}

/// Renders the human report.
pub fn terminal(results: &Results, rubric: &Rubric, colour: bool) -> String {
    let p = Paint(colour);
    let mut out = String::new();
    let target = if results.target.is_empty() {
        "the reference server".to_owned()
    } else {
        results.target.clone()
    };
    let _ = writeln!(
        out,
        "{} {target}, levels 1-{}, seed {}",
        p.c("1", "ChatLab conformance:"),
        results.level,
        results.seed
    );
    for note in &results.notes {
        let _ = writeln!(out, "  note: {note}");
    }
    let _ = writeln!(out);
    let width = results
        .tests
        .iter()
        .map(|t| t.slug.chars().count())
        .max()
        .unwrap_or(10);
    for t in &results.tests {
        let tag = match t.status {
            Status::Pass => p.c("32", "PASS"),
            Status::Fail => p.c("31;1", "FAIL"),
            Status::Skip => p.c("33", "SKIP"),
        };
        let detail = match (&t.failure, &t.skip_reason) {
            (Some(f), _) => format!("{}: {}", f.rule, f.reason),
            (None, Some(why)) => why.clone(),
            _ => t.description.clone(),
        };
        let verdict = t
            .verdict
            .as_ref()
            .map(|v| format!(" [{v}]"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {tag}  L{}  {:<width$}  {detail}{verdict}",
            t.level, t.slug
        );
    }
    let failures: Vec<&TestResult> = results
        .tests
        .iter()
        .filter(|t| t.failure.is_some())
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(out, "\n{}", p.c("1", "Failures"));
        for t in failures {
            failure(&mut out, &p, t, t.failure.as_ref().expect("filtered"));
        }
    }
    summary(&mut out, &p, results, rubric);
    out
}

fn failure(out: &mut String, p: &Paint, t: &TestResult, f: &FailureReport) {
    let _ = writeln!(
        out,
        "\n{} {} (Level {}): {}",
        p.c("31;1", "✗"),
        p.c("1", &t.slug),
        t.level,
        t.description
    );
    if let Some(v) = &t.verdict {
        let _ = writeln!(out, "  {v}");
    }
    if !f.rule_text.is_empty() {
        let _ = writeln!(
            out,
            "  {} {}",
            p.c("1", &format!("{}:", f.rule)),
            f.rule_text
        );
    }
    let _ = writeln!(out, "  {}", f.reason);
    if let (Some(expected), Some(actual)) = (&f.expected, &f.actual) {
        let _ = writeln!(out, "    expected: {expected}");
        let _ = writeln!(out, "    actual:   {actual}");
        if let Some(col) = f.caret {
            let _ = writeln!(
                out,
                "              {}{}",
                " ".repeat(display_width(actual, col)),
                p.c("31;1", "^")
            );
        }
    }
    if !f.transcript.is_empty() {
        let _ = writeln!(
            out,
            "  Transcript (→ sent by the grader, ← received from your server):"
        );
        let lines = render(&f.transcript);
        let skip = lines.len().saturating_sub(60);
        if skip > 0 {
            let _ = writeln!(
                out,
                "    … {skip} earlier events left out (see --format json)"
            );
        }
        for line in &lines[skip..] {
            let _ = writeln!(out, "    {}", truncate(line, 200));
        }
    }
    if let Some(exit) = &f.server_exit {
        let _ = writeln!(out, "  Your server stopped: {exit}");
    }
    if !f.server_output.is_empty() {
        let _ = writeln!(
            out,
            "  Your server's output (last {} lines):",
            f.server_output.len()
        );
        for l in &f.server_output {
            let _ = writeln!(
                out,
                "    {:>6} ms {}  {}",
                l.at_ms,
                l.stream,
                truncate(&l.text, 200)
            );
        }
    }
    for (i, hint) in f.hints.iter().enumerate() {
        let label = if i == 0 { "Hint:" } else { "     " };
        let _ = writeln!(out, "  {} {hint}", p.c("36", label));
    }
    let _ = writeln!(out, "  {} {}", p.c("1", "Rerun:"), f.rerun);
}

/// Columns taken by the first `chars` characters (CJK and emoji take two).
fn display_width(s: &str, chars: usize) -> usize {
    s.chars()
        .take(chars)
        .map(|c| {
            if (c as u32) >= 0x1100 && !c.is_ascii() {
                2
            } else {
                1
            }
        })
        .sum()
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}… ({} characters)", s.chars().count())
    }
}

fn summary(out: &mut String, p: &Paint, results: &Results, rubric: &Rubric) {
    let points = rubric.max_points(results);
    let mut rows: BTreeMap<u8, [f64; 5]> = BTreeMap::new();
    for (t, pts) in results.tests.iter().zip(&points) {
        let row = rows.entry(t.level).or_default();
        match t.status {
            Status::Pass => {
                row[0] += 1.0;
                row[3] += pts;
            }
            Status::Fail => row[1] += 1.0,
            Status::Skip => row[2] += 1.0,
        }
        row[4] += pts;
    }
    let _ = writeln!(out, "\n{}", p.c("1", "Summary"));
    let _ = writeln!(out, "  Level  Passed  Failed  Skipped  Points");
    for (level, r) in &rows {
        let _ = writeln!(
            out,
            "  {:>5}  {:>6}  {:>6}  {:>7}  {:>5.1} / {:.1}",
            level, r[0], r[1], r[2], r[3], r[4]
        );
    }
    let (score, max) = rubric.score(results);
    let passed = results
        .tests
        .iter()
        .filter(|t| t.status == Status::Pass)
        .count();
    let failed = results
        .tests
        .iter()
        .filter(|t| t.status == Status::Fail)
        .count();
    let skipped = results.tests.len() - passed - failed;
    let verdict = if failed == 0 {
        p.c("32;1", "all passed")
    } else {
        p.c("31;1", &format!("{failed} failed"))
    };
    let _ = writeln!(
        out,
        "\n{verdict}: {passed} passed, {failed} failed, {skipped} skipped; score {score:.1} / {max:.1}; seed {}; {:.1} s",
        results.seed,
        results.duration_ms as f64 / 1000.0
    );
}
