//! What a run produces: the options that drive it and the results it returns,
//! all serialisable with serde, so batch grading can store and compare them.

use serde::{Deserialize, Serialize};

use crate::target::OutputLine;
use crate::transcript::Event;

/// What to run and how.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Options {
    /// Highest level to grade (cumulative).
    pub level: u8,
    /// Run only these slugs (a trailing `*` matches a prefix, `@bytes`
    /// matches every test run in that delivery mode, and a rule ID selects
    /// every test that checks it).
    pub only: Vec<String>,
    /// Leave out these slugs (same patterns).
    pub skip: Vec<String>,
    /// Seed for every random choice.
    pub seed: u64,
    /// Run everything this many times and label failures flaky or not.
    pub repeat: u32,
    /// Multiplies every timeout.
    pub time_scale: f64,
    /// Worker threads.
    pub jobs: usize,
    /// How a student reruns the grader, e.g. `conformance`.
    pub program: String,
    /// The target as written on the command line (empty for the default).
    pub target_args: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            level: 6,
            only: Vec::new(),
            skip: Vec::new(),
            seed: 0,
            repeat: 1,
            time_scale: 1.0,
            jobs: 2,
            program: "conformance".into(),
            target_args: None,
        }
    }
}

/// Pass, fail or skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every check held.
    Pass,
    /// A check failed.
    Fail,
    /// Not run: a dependency failed, or the target cannot support it.
    Skip,
}

/// Everything a student needs to fix one failure.
#[derive(Debug, Clone, Serialize)]
pub struct FailureReport {
    /// The rule ID.
    pub rule: String,
    /// The rule's text from SPEC.md.
    pub rule_text: String,
    /// What went wrong, in one line.
    pub reason: String,
    /// What SPEC.md wants.
    pub expected: Option<String>,
    /// What the server sent.
    pub actual: Option<String>,
    /// Column of the first wrong character in `actual`.
    pub caret: Option<usize>,
    /// Hints, most specific first.
    pub hints: Vec<String>,
    /// Every connection's bytes, in order, with timings.
    pub transcript: Vec<Event>,
    /// The server's own output (spawned servers only), last lines.
    pub server_output: Vec<OutputLine>,
    /// How the server process ended, if it did during the test.
    pub server_exit: Option<String>,
    /// One command that reruns exactly this test.
    pub rerun: String,
}

/// The result of one test (over all `--repeat` runs).
#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    /// The slug.
    pub slug: String,
    /// The level.
    pub level: u8,
    /// The rules it checks.
    pub rules: Vec<String>,
    /// What it checks.
    pub description: String,
    /// The outcome.
    pub status: Status,
    /// Why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// The first failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureReport>,
    /// Remarks, such as the quiet window used instead of PING.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Runs (with `--repeat`).
    pub runs: u32,
    /// Runs that failed.
    pub failed_runs: u32,
    /// `deterministic` (failed every run) or `flaky`, for failures with `--repeat` > 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
    /// Wall time of the (last) run in milliseconds.
    pub duration_ms: u64,
}

/// The result of a whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// The seed every report prints.
    pub seed: u64,
    /// The graded level.
    pub level: u8,
    /// The target, as on the command line.
    pub target: String,
    /// One entry per selected test, in catalogue order.
    pub tests: Vec<TestResult>,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// How many times the suite ran.
    pub repeat: u32,
    /// Remarks about the whole run.
    pub notes: Vec<String>,
}

impl Results {
    /// True if no test failed.
    pub fn passed(&self) -> bool {
        self.tests.iter().all(|t| t.status != Status::Fail)
    }
}

/// The harness could not grade at all (exit code 2).
#[derive(Debug, Clone, thiserror::Error)]
pub enum RunError {
    /// The selection is empty or invalid.
    #[error("{0}")]
    Usage(String),
    /// The server never came up, or nothing listens at `--addr`.
    #[error("{0}")]
    Target(String),
}
