//! Machine-readable reports: JSON (everything), JUnit XML, Gradescope's
//! `results.json` (per-test score, max score and visibility) and TAP 14.

use std::fmt::Write as _;

use serde_json::json;

use crate::report::Rubric;
use crate::runner::{FailureReport, Results, Status, TestResult};
use crate::transcript::render;

/// The full results as pretty JSON.
pub fn json(results: &Results) -> String {
    serde_json::to_string_pretty(results).expect("results serialise")
}

/// A plain-text account of one failure, for formats that carry text.
fn failure_text(t: &TestResult, f: &FailureReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}: {}", f.rule, f.rule_text);
    let _ = writeln!(s, "{}", f.reason);
    if let (Some(e), Some(a)) = (&f.expected, &f.actual) {
        let _ = writeln!(s, "expected: {e}\nactual:   {a}");
        if let Some(col) = f.caret {
            let _ = writeln!(s, "          {}^", " ".repeat(col));
        }
    }
    if let Some(v) = &t.verdict {
        let _ = writeln!(s, "{v}");
    }
    let _ = writeln!(s, "transcript:");
    for line in render(&f.transcript) {
        let _ = writeln!(s, "  {line}");
    }
    for hint in &f.hints {
        let _ = writeln!(s, "hint: {hint}");
    }
    let _ = writeln!(s, "rerun: {}", f.rerun);
    s
}

fn xml(s: &str) -> String {
    s.chars()
        .filter(|&c| c == '\n' || c == '\t' || !c.is_control())
        .collect::<String>()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// JUnit XML, one test suite per level.
pub fn junit(results: &Results) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let failures = results
        .tests
        .iter()
        .filter(|t| t.status == Status::Fail)
        .count();
    let _ = writeln!(
        s,
        "<testsuites name=\"chatlab-conformance seed {}\" tests=\"{}\" failures=\"{failures}\" time=\"{:.3}\">",
        results.seed,
        results.tests.len(),
        results.duration_ms as f64 / 1000.0
    );
    for level in 1..=6u8 {
        let tests: Vec<&TestResult> = results.tests.iter().filter(|t| t.level == level).collect();
        if tests.is_empty() {
            continue;
        }
        let fails = tests.iter().filter(|t| t.status == Status::Fail).count();
        let skips = tests.iter().filter(|t| t.status == Status::Skip).count();
        let _ = writeln!(
            s,
            "  <testsuite name=\"level{level}\" tests=\"{}\" failures=\"{fails}\" skipped=\"{skips}\">",
            tests.len()
        );
        for t in tests {
            let _ = write!(
                s,
                "    <testcase classname=\"level{level}\" name=\"{}\" time=\"{:.3}\">",
                xml(&t.slug),
                t.duration_ms as f64 / 1000.0
            );
            match (&t.failure, &t.skip_reason) {
                (Some(f), _) => {
                    let _ = write!(
                        s,
                        "<failure message=\"{}\">{}</failure>",
                        xml(&format!("{}: {}", f.rule, f.reason)),
                        xml(&failure_text(t, f))
                    );
                }
                (None, Some(why)) => {
                    let _ = write!(s, "<skipped message=\"{}\"/>", xml(why));
                }
                _ => {}
            }
            let _ = writeln!(s, "</testcase>");
        }
        let _ = writeln!(s, "  </testsuite>");
    }
    s.push_str("</testsuites>\n");
    s
}

/// Gradescope's `results.json`.
pub fn gradescope(results: &Results, rubric: &Rubric) -> String {
    let max = rubric.max_points(results);
    let (score, _) = rubric.score(results);
    let tests: Vec<serde_json::Value> = results
        .tests
        .iter()
        .zip(&max)
        .map(|(t, &m)| {
            let output = match (&t.failure, &t.skip_reason) {
                (Some(f), _) => failure_text(t, f),
                (None, Some(why)) => format!("skipped: {why}"),
                _ => "passed".to_owned(),
            };
            json!({
                "name": format!("{} (L{}): {}", t.slug, t.level, t.description),
                "number": t.slug,
                "score": if t.status == Status::Pass { m } else { 0.0 },
                "max_score": m,
                "status": if t.status == Status::Pass { "passed" } else { "failed" },
                "tags": t.rules,
                "visibility": "visible",
                "output": output,
            })
        })
        .collect();
    let value = json!({
        "score": score,
        "execution_time": results.duration_ms as f64 / 1000.0,
        "output": format!("ChatLab conformance, levels 1-{}, seed {}", results.level, results.seed),
        "visibility": "visible",
        "stdout_visibility": "visible",
        "tests": tests,
    });
    serde_json::to_string_pretty(&value).expect("json serialises")
}

/// TAP version 14, with a YAML block for each failure.
pub fn tap(results: &Results) -> String {
    let mut s = format!(
        "TAP version 14\n1..{}\n# ChatLab conformance, levels 1-{}, seed {}\n",
        results.tests.len(),
        results.level,
        results.seed
    );
    for (i, t) in results.tests.iter().enumerate() {
        let n = i + 1;
        match (t.status, &t.failure, &t.skip_reason) {
            (Status::Pass, _, _) => {
                let _ = writeln!(s, "ok {n} - {}", t.slug);
            }
            (Status::Skip, _, why) => {
                let _ = writeln!(
                    s,
                    "ok {n} - {} # SKIP {}",
                    t.slug,
                    why.clone().unwrap_or_default()
                );
            }
            (Status::Fail, f, _) => {
                let _ = writeln!(s, "not ok {n} - {}", t.slug);
                if let Some(f) = f {
                    let _ = writeln!(
                        s,
                        "  ---\n  rule: {}\n  message: {}",
                        f.rule,
                        serde_json::to_string(&f.reason).unwrap_or_default()
                    );
                    if let (Some(e), Some(a)) = (&f.expected, &f.actual) {
                        let _ = writeln!(
                            s,
                            "  expected: {}\n  actual: {}",
                            serde_json::to_string(e).unwrap_or_default(),
                            serde_json::to_string(a).unwrap_or_default()
                        );
                    }
                    let _ = writeln!(
                        s,
                        "  rerun: {}\n  ...",
                        serde_json::to_string(&f.rerun).unwrap_or_default()
                    );
                }
            }
        }
    }
    s
}
