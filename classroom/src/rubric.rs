//! The instructor's rubric: points per level and per test, and which tests
//! are hidden from students.
//!
//! Points follow the conformance grader's rubric exactly (a level's points are
//! shared equally by its tests unless a test has points of its own; the
//! default gives 100 points, 30/20/20/15/10/5 for levels 1 to 6), so a score
//! in `class.csv` is the score a student sees when they run the grader
//! themselves. The batch grader adds one thing: `hidden = true`. A hidden test
//! counts, but students see only "N hidden tests in Level L: passed M".
//!
//! ```toml
//! [levels]
//! 1 = 30
//! 2 = 20
//!
//! [tests.chat-broadcast]
//! points = 5
//! hidden = true
//! ```
//!
//! A conformance rubric in JSON (`{"levels": {...}, "tests": {"slug": 5}}`)
//! is accepted as it is, with no hidden tests.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// Points and visibility for every test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rubric {
    /// Points of each level, shared by its tests.
    #[serde(default = "default_levels")]
    pub levels: BTreeMap<u8, f64>,
    /// Tests with points or visibility of their own.
    #[serde(default)]
    pub tests: BTreeMap<String, TestRule>,
}

/// What the rubric says about one test.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestRule {
    /// Points, instead of a share of the level's.
    #[serde(default)]
    pub points: Option<f64>,
    /// Counted, but shown to students only as a count per level.
    #[serde(default)]
    pub hidden: bool,
}

fn default_levels() -> BTreeMap<u8, f64> {
    [
        (1, 30.0),
        (2, 20.0),
        (3, 20.0),
        (4, 15.0),
        (5, 10.0),
        (6, 5.0),
    ]
    .into()
}

impl Default for Rubric {
    fn default() -> Self {
        Rubric {
            levels: default_levels(),
            tests: BTreeMap::new(),
        }
    }
}

/// The conformance grader's own JSON rubric.
#[derive(Deserialize)]
struct ConformanceRubric {
    levels: BTreeMap<u8, f64>,
    #[serde(default)]
    tests: BTreeMap<String, f64>,
}

impl Rubric {
    /// Reads a TOML rubric, or a conformance JSON rubric (by extension).
    pub fn load(path: &Path) -> anyhow::Result<Rubric> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the rubric {}", path.display()))?;
        if path.extension().is_some_and(|e| e == "json") {
            let c: ConformanceRubric = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a conformance rubric", path.display()))?;
            let tests = c
                .tests
                .into_iter()
                .map(|(slug, p)| {
                    (
                        slug,
                        TestRule {
                            points: Some(p),
                            hidden: false,
                        },
                    )
                })
                .collect();
            return Ok(Rubric {
                levels: c.levels,
                tests,
            });
        }
        toml::from_str(&text).with_context(|| format!("{} is not a valid rubric", path.display()))
    }

    /// True if the test is hidden from students.
    pub fn hidden(&self, slug: &str) -> bool {
        self.tests.get(slug).is_some_and(|t| t.hidden)
    }

    /// The points each test is worth, given every test's (slug, level).
    pub fn max_points(&self, tests: &[(String, u8)]) -> Vec<f64> {
        let own = |slug: &str| self.tests.get(slug).and_then(|t| t.points);
        let mut shared: BTreeMap<u8, usize> = BTreeMap::new();
        for (slug, level) in tests {
            if own(slug).is_none() {
                *shared.entry(*level).or_default() += 1;
            }
        }
        tests
            .iter()
            .map(|(slug, level)| match own(slug) {
                Some(p) => p,
                None => {
                    self.levels.get(level).copied().unwrap_or(0.0)
                        / shared.get(level).copied().unwrap_or(1).max(1) as f64
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_shared_like_the_conformance_rubric() {
        let r: Rubric = toml::from_str("[tests.b]\npoints = 10\nhidden = true\n").unwrap();
        let tests = [
            ("a".to_owned(), 1),
            ("b".to_owned(), 1),
            ("c".to_owned(), 1),
            ("d".to_owned(), 2),
        ];
        assert_eq!(r.max_points(&tests), [15.0, 10.0, 15.0, 20.0]);
        assert!(r.hidden("b") && !r.hidden("a"));
    }

    #[test]
    fn conformance_json_rubrics_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        std::fs::write(&path, r#"{"levels": {"1": 50}, "tests": {"x": 5}}"#).unwrap();
        let r = Rubric::load(&path).unwrap();
        assert_eq!(r.levels[&1], 50.0);
        assert_eq!(r.tests["x"].points, Some(5.0));
        std::fs::write(dir.path().join("r.toml"), "[tests.x]\nhiden = true\n").unwrap();
        assert!(Rubric::load(&dir.path().join("r.toml")).is_err());
    }
}
