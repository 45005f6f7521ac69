//! The whole suite passes against the reference server every time: three runs
//! in a row (`--repeat 3`) with zero failures and zero flakes.

use conformance::report::{Rubric, terminal};
use conformance::runner::{Options, Status, run};

use crate::reference;

#[test]
fn the_reference_server_passes_everything_three_times_in_a_row() {
    let _heavy = crate::heavy();
    let options = Options {
        level: 6,
        seed: 20261122,
        repeat: 3,
        jobs: 2,
        // Other tests run beside this one on two cores.
        time_scale: 5.0,
        ..Options::default()
    };
    let results = run(&reference(), &options).expect("the reference server starts");
    let bad: Vec<&str> = results
        .tests
        .iter()
        .filter(|t| t.status != Status::Pass)
        .map(|t| t.slug.as_str())
        .collect();
    assert!(
        bad.is_empty(),
        "not passed: {bad:?}\n{}",
        terminal(&results, &Rubric::default(), false)
    );
    assert!(
        results
            .tests
            .iter()
            .all(|t| t.runs == 3 && t.failed_runs == 0)
    );
}
