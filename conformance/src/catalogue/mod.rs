//! The catalogue: one entry per test, with its slug, level, the SPEC.md rules
//! it checks, a one-line description, hints for the mistakes students really
//! make, and the tests it depends on.
//!
//! Tests live in one module per level. A test marked `modes` also runs in the
//! delivery modes of FRAME-3 (`slug@bytes`, `slug@split`, `slug@coalesce`);
//! those variants belong to Level 2 at least, because framing does.

use crate::check::Outcome;
use crate::conn::Delivery;
use crate::cx::Cx;

mod level1;
mod level2;
mod level3;
mod level4;
mod level5;
mod level6;
mod presence;
mod share;
mod slow_reader;

/// One test in the catalogue.
#[derive(Debug)]
pub struct TestCase {
    /// Stable name, used by `--only`, `--skip` and reports.
    pub slug: &'static str,
    /// The level (1 to 6) whose rules it checks.
    pub level: u8,
    /// The SPEC.md rule IDs it checks.
    pub rules: &'static [&'static str],
    /// One line saying what it checks.
    pub description: &'static str,
    /// The mistakes that usually make it fail, and how to fix them.
    pub hints: &'static [&'static str],
    /// Slugs that must pass first; otherwise this test is skipped.
    pub deps: &'static [&'static str],
    /// Also run in every delivery mode (FRAME-3).
    pub modes: bool,
    /// The test body.
    pub run: fn(&mut Cx) -> Outcome,
}

/// A test as it is scheduled: a catalogue entry in one delivery mode.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The catalogue entry.
    pub case: &'static TestCase,
    /// The delivery mode.
    pub delivery: Delivery,
    /// `case.slug` plus the mode suffix.
    pub slug: String,
    /// The level, raised to 2 for delivery variants.
    pub level: u8,
    /// The rules, plus FRAME-3 (and FRAME-4 for split) for variants.
    pub rules: Vec<&'static str>,
    /// Dependencies, plus the whole-frame test for variants.
    pub deps: Vec<String>,
}

/// Every catalogue entry, level by level.
pub fn cases() -> Vec<&'static TestCase> {
    [
        level1::TESTS,
        level2::TESTS,
        level3::TESTS,
        presence::TESTS,
        level4::TESTS,
        level5::TESTS,
        share::TESTS,
        level6::TESTS,
    ]
    .iter()
    .flat_map(|t| t.iter())
    .collect()
}

/// Every schedulable test, with delivery variants after their level's tests.
pub fn entries() -> Vec<Entry> {
    let mut out = Vec::new();
    for case in cases() {
        out.push(Entry {
            case,
            delivery: Delivery::Whole,
            slug: case.slug.to_owned(),
            level: case.level,
            rules: case.rules.to_vec(),
            deps: case.deps.iter().map(|d| (*d).to_owned()).collect(),
        });
    }
    for case in cases().into_iter().filter(|c| c.modes) {
        for delivery in [Delivery::Bytes, Delivery::Split, Delivery::Coalesce] {
            let mut rules = case.rules.to_vec();
            rules.push("FRAME-3");
            if delivery == Delivery::Split {
                rules.push("FRAME-4");
            }
            let mut deps: Vec<String> = case.deps.iter().map(|d| (*d).to_owned()).collect();
            deps.push(case.slug.to_owned());
            out.push(Entry {
                case,
                delivery,
                slug: format!("{}{}", case.slug, delivery.suffix()),
                level: case.level.max(2),
                rules,
                deps,
            });
        }
    }
    out.sort_by_key(|e| e.level);
    out
}

/// The entry with this slug.
pub fn find(slug: &str) -> Option<Entry> {
    entries().into_iter().find(|e| e.slug == slug)
}
