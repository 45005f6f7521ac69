//! Gradescope's `results.json` for one student.
//!
//! Format (Gradescope autograder specification): a top-level `score`, and
//! `tests`, each with `name`, `score`, `max_score`, `status`, `visibility`
//! and `output`. Visible tests appear one by one, with the failure text and
//! transcript; hidden tests (by rubric) are folded into one entry per level
//! that names only the level, the count and how many passed. A submission
//! that could not be graded gets a score of 0 and an `output` that says why,
//! so the student sees the reason instead of an empty page.

use serde_json::{Value, json};

use crate::report::{hidden_summary, report_txt};
use crate::result::{Status, StudentResult};

/// The `results.json` Gradescope reads.
pub fn gradescope(r: &StudentResult) -> Value {
    let mut tests: Vec<Value> = r
        .tests
        .iter()
        .filter(|t| !t.hidden)
        .map(|t| {
            let mut output = String::new();
            if let Some(m) = &t.message {
                output.push_str(m);
            }
            if let Some(f) = &t.failure {
                if let Some(events) = f["transcript"].as_array() {
                    output.push_str("\n\ntranscript:\n");
                    for e in events.iter().take(100) {
                        let arrow = match e["dir"].as_str() {
                            Some("sent") => "→",
                            Some("received") => "←",
                            _ => "·",
                        };
                        output.push_str(&format!(
                            "{:<3} {arrow} {}\n",
                            e["conn"].as_str().unwrap_or(""),
                            e["text"].as_str().unwrap_or("")
                        ));
                    }
                }
                for h in f["hints"].as_array().into_iter().flatten() {
                    output.push_str(&format!("hint: {}\n", h.as_str().unwrap_or("")));
                }
            }
            json!({
                "name": format!("L{} {}: {}", t.level, t.slug, t.description),
                "number": t.slug,
                "score": t.points,
                "max_score": t.max_points,
                "status": if t.passed() { "passed" } else { "failed" },
                "tags": t.rules,
                "visibility": "visible",
                "output": if t.passed() { "passed".to_owned() } else { output },
            })
        })
        .collect();
    for h in hidden_summary(r) {
        let of_level = r.tests.iter().filter(|t| t.hidden && t.level == h.level);
        let (score, max): (f64, f64) =
            of_level.fold((0.0, 0.0), |(s, m), t| (s + t.points, m + t.max_points));
        tests.push(json!({
            "name": format!("Level {} hidden tests", h.level),
            "score": crate::result::round2(score),
            "max_score": crate::result::round2(max),
            "status": if h.passed == h.count { "passed" } else { "failed" },
            "visibility": "visible",
            "output": h.sentence(),
        }));
    }
    let output = match r.status {
        Status::Graded => format!(
            "ChatLab conformance, levels 1-{} (seed {}). Score {} / {}.",
            r.integrity.level_run, r.integrity.seed, r.score, r.max_score
        ),
        Status::NotGradable => format!(
            "Your submission could not be graded: {}\n\n{}",
            r.reason.as_deref().unwrap_or("unknown reason"),
            report_txt(r)
        ),
    };
    json!({
        "score": r.score,
        "execution_time": r.timing.wall_ms as f64 / 1000.0,
        "output": output,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    })
}
