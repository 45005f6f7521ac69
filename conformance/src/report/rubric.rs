//! Points: a rubric maps levels and tests to points.
//!
//! The file is JSON: `{"levels": {"1": 30, "2": 20}, "tests": {"chat-basic": 5}}`.
//! A test listed under `tests` is worth that many points; the other tests of
//! a level share that level's points equally. The default gives 100 points,
//! weighted towards the early levels that every student must reach.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::runner::{Results, Status};

/// Points per level and per test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rubric {
    /// Points for each level, shared by its tests.
    pub levels: BTreeMap<u8, f64>,
    /// Points for single tests, overriding their share.
    #[serde(default)]
    pub tests: BTreeMap<String, f64>,
}

impl Default for Rubric {
    fn default() -> Self {
        Rubric {
            levels: [
                (1, 30.0),
                (2, 20.0),
                (3, 20.0),
                (4, 15.0),
                (5, 10.0),
                (6, 5.0),
            ]
            .into(),
            tests: BTreeMap::new(),
        }
    }
}

impl Rubric {
    /// Reads a rubric from a JSON file.
    pub fn load(path: &std::path::Path) -> anyhow::Result<Rubric> {
        use anyhow::Context;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the rubric {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("the rubric {} is not valid JSON of the form {{\"levels\": {{\"1\": 30}}, \"tests\": {{}}}}", path.display()))
    }

    /// The points each test of `results` is worth, in order.
    pub fn max_points(&self, results: &Results) -> Vec<f64> {
        let mut shared: BTreeMap<u8, usize> = BTreeMap::new();
        for t in &results.tests {
            if !self.tests.contains_key(&t.slug) {
                *shared.entry(t.level).or_default() += 1;
            }
        }
        results
            .tests
            .iter()
            .map(|t| match self.tests.get(&t.slug) {
                Some(&p) => p,
                None => {
                    self.levels.get(&t.level).copied().unwrap_or(0.0)
                        / shared[&t.level].max(1) as f64
                }
            })
            .collect()
    }

    /// (score, max score) of a run: a test scores its points if it passed.
    pub fn score(&self, results: &Results) -> (f64, f64) {
        let max = self.max_points(results);
        let got: f64 = results
            .tests
            .iter()
            .zip(&max)
            .filter(|(t, _)| t.status == Status::Pass)
            .map(|(_, p)| p)
            .sum();
        (got + 0.0, max.iter().sum::<f64>() + 0.0)
    }
}
