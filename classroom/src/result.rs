//! One student's result: the status (graded or not gradable), the score per
//! level and per test, and everything needed to trust and reproduce it.
//!
//! A result is built from the conformance grader's `--format json` output,
//! read as plain JSON (`serde_json::Value`) rather than through the grader's
//! types: the batch grader runs the instructor's copy of the grader as a
//! separate program, and must survive a field it does not know. Every
//! submission gets a result, even when grading fails: `not_gradable` is its
//! own state, with a reason, and is never confused with a score of zero.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::limits::{Enforced, Limits};
use crate::manifest::Manifest;
use crate::rubric::Rubric;

/// Whether the submission could be graded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The grader ran; the score counts.
    Graded,
    /// The grader could not run (no manifest, setup failed, the server never
    /// came up, time ran out...): the reason says why. Not a zero.
    NotGradable,
}

impl Status {
    /// The word used in the CSV and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Graded => "graded",
            Status::NotGradable => "not_gradable",
        }
    }
}

/// One student's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StudentResult {
    /// The student id (the submission folder's name).
    pub student: String,
    /// Graded or not gradable.
    pub status: Status,
    /// Why it is not gradable, or a remark on a graded run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Points earned.
    pub score: f64,
    /// Points available at the instructor's level.
    pub max_score: f64,
    /// Points per level, levels 1 to the graded level.
    pub levels: Vec<LevelScore>,
    /// Every test run, in the grader's order.
    pub tests: Vec<TestOutcome>,
    /// How the server was started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Manifest>,
    /// Seed, versions and hashes: what makes the result reproducible.
    pub integrity: Integrity,
    /// The limits that applied.
    pub limits: Limits,
    /// Which of them the machine enforced.
    pub enforced: Enforced,
    /// The grader's general remarks (such as how silence was checked).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// When and how long (left out of comparisons between re-grades).
    pub timing: Timing,
}

/// Points of one level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelScore {
    /// The level (1 to 6).
    pub level: u8,
    /// Points earned.
    pub score: f64,
    /// Points available.
    pub max: f64,
    /// Tests passed.
    pub passed: usize,
    /// Tests run.
    pub total: usize,
}

/// One test's outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestOutcome {
    /// The test's slug.
    pub slug: String,
    /// Its level.
    pub level: u8,
    /// `pass`, `fail` or `skip`.
    pub status: String,
    /// Points earned.
    pub points: f64,
    /// Points available.
    pub max_points: f64,
    /// Hidden from students by the rubric.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
    /// The SPEC.md rules it checks.
    #[serde(default)]
    pub rules: Vec<String>,
    /// What it checks.
    #[serde(default)]
    pub description: String,
    /// One line: the failure's rule and reason, or why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The grader's full failure report (transcript included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Value>,
}

impl TestOutcome {
    /// True if the test passed.
    pub fn passed(&self) -> bool {
        self.status == "pass"
    }
}

/// What a re-grade must match to give the same verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integrity {
    /// The seed of every random choice of the grader.
    pub seed: u64,
    /// The level the instructor graded (1 to 6).
    pub level: u8,
    /// The level actually run (lower if the manifest claims less).
    pub level_run: u8,
    /// `conformance --version`, if it answers.
    pub harness_version: Option<String>,
    /// SHA-256 of the conformance binary used.
    pub harness_sha256: String,
    /// This program's version.
    pub classroom_version: String,
    /// SHA-256 over the submission's files (paths and contents).
    pub submission_sha256: Option<String>,
    /// SHA-256 of the rubric file, if one was given.
    pub rubric_sha256: Option<String>,
}

/// When a result was made and how long it took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timing {
    /// When grading started (RFC 3339, UTC).
    pub started_at: String,
    /// Wall time of the whole submission, in milliseconds.
    pub wall_ms: u64,
}

/// The graded part of a result: tests, levels and score.
#[derive(Debug, Clone, Default)]
pub struct Scored {
    /// Every test.
    pub tests: Vec<TestOutcome>,
    /// Levels 1 to the instructor's level.
    pub levels: Vec<LevelScore>,
    /// Points earned.
    pub score: f64,
    /// Points available.
    pub max: f64,
    /// The grader's notes.
    pub notes: Vec<String>,
}

/// Scores the conformance grader's JSON with the rubric. Levels above
/// `level_run` (not claimed by the student) score zero out of their points.
pub fn score(json: &Value, rubric: &Rubric, level: u8, level_run: u8) -> Scored {
    let raw: Vec<&Value> = json["tests"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let keys: Vec<(String, u8)> = raw
        .iter()
        .map(|t| (str_of(t, "slug"), t["level"].as_u64().unwrap_or(1) as u8))
        .collect();
    let max_points = rubric.max_points(&keys);
    let tests: Vec<TestOutcome> = raw
        .iter()
        .zip(&keys)
        .zip(&max_points)
        .map(|((t, (slug, level)), &max)| {
            let status = str_of(t, "status");
            let failure = t.get("failure").filter(|f| !f.is_null()).cloned();
            let message = match &failure {
                Some(f) => Some(format!("{}: {}", str_of(f, "rule"), str_of(f, "reason"))),
                None => t["skip_reason"].as_str().map(|s| format!("skipped: {s}")),
            };
            TestOutcome {
                hidden: rubric.hidden(slug),
                points: if status == "pass" { max } else { 0.0 },
                max_points: max,
                status,
                slug: slug.clone(),
                level: *level,
                rules: t["rules"]
                    .as_array()
                    .map(|r| {
                        r.iter()
                            .filter_map(|x| x.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
                description: str_of(t, "description"),
                message,
                failure,
            }
        })
        .collect();
    let levels: Vec<LevelScore> = (1..=level)
        .map(|l| {
            let of_level: Vec<&TestOutcome> = tests.iter().filter(|t| t.level == l).collect();
            let max = if l <= level_run && !of_level.is_empty() {
                of_level.iter().map(|t| t.max_points).sum()
            } else {
                rubric.levels.get(&l).copied().unwrap_or(0.0)
            };
            LevelScore {
                level: l,
                score: round2(of_level.iter().map(|t| t.points).sum()),
                max: round2(max),
                passed: of_level.iter().filter(|t| t.passed()).count(),
                total: of_level.len(),
            }
        })
        .collect();
    Scored {
        score: round2(levels.iter().map(|l| l.score).sum()),
        max: round2(levels.iter().map(|l| l.max).sum()),
        tests,
        levels,
        notes: json["notes"]
            .as_array()
            .map(|n| {
                n.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// The levels of a submission that could not be graded: zero of each
/// level's points, no tests.
pub fn empty_levels(rubric: &Rubric, level: u8) -> Vec<LevelScore> {
    (1..=level)
        .map(|l| LevelScore {
            level: l,
            score: 0.0,
            max: rubric.levels.get(&l).copied().unwrap_or(0.0),
            passed: 0,
            total: 0,
        })
        .collect()
}

/// Rounds to two decimals, so that shares such as 20/3 print the same
/// everywhere and re-grades compare equal.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn str_of(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_follow_the_rubric_and_unclaimed_levels_count_zero() {
        let json = serde_json::json!({
            "seed": 1, "level": 1, "notes": ["quiet window"],
            "tests": [
                {"slug": "a", "level": 1, "status": "pass", "rules": ["CHAT-1"], "description": "d"},
                {"slug": "b", "level": 1, "status": "fail", "failure": {"rule": "CHAT-2", "reason": "no reply"}},
                {"slug": "c", "level": 1, "status": "skip", "skip_reason": "needs b"},
            ]
        });
        let rubric: Rubric = toml::from_str("[tests.c]\nhidden = true\n").unwrap();
        let s = score(&json, &rubric, 2, 1);
        assert_eq!(s.score, 10.0);
        assert_eq!(s.max, 50.0);
        assert_eq!(
            s.levels[1],
            LevelScore {
                level: 2,
                score: 0.0,
                max: 20.0,
                passed: 0,
                total: 0
            }
        );
        assert_eq!(s.tests[1].message.as_deref(), Some("CHAT-2: no reply"));
        assert_eq!(s.tests[2].message.as_deref(), Some("skipped: needs b"));
        assert!(s.tests[2].hidden);
        assert_eq!(s.notes, ["quiet window"]);
    }
}
