//! Reports: what a run looks like to a student (the terminal), to tools
//! (JSON, JUnit, TAP) and to Gradescope, with points from a rubric.

use serde::{Deserialize, Serialize};

use crate::runner::Results;

mod formats;
pub mod rubric;
mod terminal;

pub use formats::{gradescope, json, junit, tap};
pub use rubric::Rubric;
pub use terminal::terminal;

/// The output formats of `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// The human report (colour only on a terminal).
    Terminal,
    /// The full results as JSON.
    Json,
    /// JUnit XML, for CI systems.
    Junit,
    /// Gradescope's results.json.
    Gradescope,
    /// Test Anything Protocol, version 14.
    Tap,
}

/// Renders `results` in `format`.
pub fn render(results: &Results, format: Format, rubric: &Rubric, colour: bool) -> String {
    match format {
        Format::Terminal => terminal(results, rubric, colour),
        Format::Json => json(results),
        Format::Junit => junit(results),
        Format::Gradescope => gradescope(results, rubric),
        Format::Tap => tap(results),
    }
}
