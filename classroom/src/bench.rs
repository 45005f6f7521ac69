//! `classroom bench-class`: generates a class of N submissions by cycling
//! through the fixture submissions (good, crashing, hanging, flooding,
//! fork-happy, ungradable...), grades it like a real batch, and prints the
//! wall time and throughput. The figure to beat: 50 submissions in under two
//! minutes on a 2-core machine.

use std::path::Path;

use anyhow::Context as _;

use crate::batch;
use crate::grade::Batch;
use crate::result::Status;
use crate::submission;

/// Generates and grades a class of `count` submissions.
pub fn run(
    batch: &Batch,
    fixtures: &Path,
    count: usize,
    jobs: usize,
    keep: Option<&Path>,
) -> anyhow::Result<()> {
    let kinds = batch::students(fixtures)
        .with_context(|| format!("no fixture submissions in {}", fixtures.display()))?;
    anyhow::ensure!(
        !kinds.is_empty(),
        "no fixture submissions in {}",
        fixtures.display()
    );
    let temp = tempfile::Builder::new()
        .prefix("classroom-bench-")
        .tempdir()?;
    let root = keep.unwrap_or(temp.path());
    let class = root.join("submissions");
    std::fs::create_dir_all(&class)?;
    for i in 0..count {
        let (kind, dir) = &kinds[i % kinds.len()];
        submission::copy(dir, &class.join(format!("s{i:03}-{kind}")), None)?;
    }
    let out = root.join("grades");
    let summary = batch::run(batch, &class, &out, jobs)?;
    let graded = summary
        .results
        .iter()
        .filter(|r| r.status == Status::Graded)
        .count();
    let slowest = summary.results.iter().max_by_key(|r| r.timing.wall_ms);
    println!(
        "graded a class of {count} ({} kinds of fixture, {graded} graded, {} not gradable) at level {} with --jobs {jobs}",
        kinds.len(),
        count - graded,
        batch.level
    );
    println!(
        "wall time {:.1} s, throughput {:.1} submissions/minute, mean {:.2} s per submission per job",
        summary.seconds,
        count as f64 * 60.0 / summary.seconds.max(0.001),
        summary.seconds * jobs as f64 / count.max(1) as f64
    );
    if let Some(r) = slowest {
        println!(
            "slowest: {} ({:.1} s)",
            r.student,
            r.timing.wall_ms as f64 / 1000.0
        );
    }
    if keep.is_some() {
        println!("class and grades kept in {}", root.display());
    }
    Ok(())
}
