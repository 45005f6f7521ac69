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

#[test]
fn a_running_reference_server_passes_with_addr() {
    let _heavy = crate::heavy();
    let data = tempfile::tempdir().expect("temporary data directory");
    let config = reference_server::Config {
        port: 0,
        data_dir: data.path().to_path_buf(),
        hash_cost: reference_server::accounts::HashCost {
            memory_kib: 64,
            iterations: 1,
        },
        ..reference_server::Config::default()
    };
    let server = reference_server::Server::bind(config).expect("the reference server binds");
    let target = conformance::Target::Addr {
        chat: server.chat_addr(),
        photo: server.photo_addr(),
        file: server.file_addr(),
    };
    let handle = server.spawn();
    let options = Options {
        level: 6,
        seed: 11,
        time_scale: 5.0,
        ..Options::default()
    };
    let results = run(&target, &options).expect("the server accepts");
    handle.shutdown();
    assert!(
        results.passed(),
        "{}",
        terminal(&results, &Rubric::default(), false)
    );
    // Tests that need a server of their own are skipped, with the reason.
    let skipped: Vec<&str> = results
        .tests
        .iter()
        .filter(|t| t.status == Status::Skip)
        .map(|t| t.slug.as_str())
        .collect();
    assert!(
        skipped.contains(&"reg-durable") && skipped.contains(&"load-shutdown"),
        "{skipped:?}"
    );
}
