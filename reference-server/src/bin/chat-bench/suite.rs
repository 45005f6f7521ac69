//! `chat-bench --suite`: every workload of BENCHMARKS.md against the
//! reference server, each run a few times, and one table of the issue's
//! targets with the median of the runs, ready to paste into BENCHMARKS.md.
//!
//! Each run starts its own server, as a single `chat-bench` command does, so
//! no run inherits another's accounts, history or memory.

use std::time::Duration;

use anyhow::bail;
use clap::Parser;

use crate::bench::{self, BenchArgs, Report};
use crate::stalls;

/// One workload: its name in the table and its exact command line.
struct Workload {
    name: &'static str,
    args: &'static str,
    checks: &'static [Check],
}

/// What a workload's runs are compared with.
#[derive(Clone, Copy)]
enum Check {
    /// Deliveries per second against ngIRCd's 3.1-5.3 M/s.
    Throughput,
    /// Paced p99 latency under 1 ms.
    PacedP99,
    /// Server RSS after the run under 64 MiB.
    Memory,
    /// Connect+login of every client under 0.5 s.
    Login,
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "N = 10, saturating",
        args: "--clients 10 --senders 10 --messages 50000",
        checks: &[Check::Throughput],
    },
    Workload {
        name: "N = 100, saturating",
        args: "--clients 100 --senders 100 --messages 1000",
        checks: &[Check::Throughput],
    },
    Workload {
        name: "N = 1000, saturating",
        args: "--clients 1000 --senders 100 --messages 100",
        checks: &[Check::Throughput, Check::Memory],
    },
    Workload {
        name: "N = 10, paced at 20,000/s",
        args: "--clients 10 --senders 10 --messages 2000 --rate 20000",
        checks: &[Check::PacedP99],
    },
    Workload {
        name: "1,000 clients log in",
        args: "--clients 1000 --idle 1",
        checks: &[Check::Login],
    },
];

/// The command line of one workload, parsed as `chat-bench` parses its own.
#[derive(Parser)]
struct OneRun {
    #[command(flatten)]
    bench: BenchArgs,
}

/// How long the suite probes for machine stalls before its paced runs.
const STALL_PROBE: Duration = Duration::from_secs(5);

/// ngIRCd's range on this kind of machine (the figures), M/s.
const NGIRCD: (f64, f64) = (3.1, 5.3);

/// Runs every workload `runs` times and prints the table.
pub fn run(runs: usize, server_args: Option<&str>) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    let mut failures = 0;
    let mut stalls = None;
    for workload in WORKLOADS {
        if workload.checks.iter().any(|c| matches!(c, Check::PacedP99)) {
            // What the machine itself adds to a paced run's tail (see
            // `stalls`), measured while nothing else runs.
            let seen = stalls::probe(STALL_PROBE);
            println!("before the paced runs, {seen}");
            stalls = Some(seen);
        }
        let mut argv = vec!["chat-bench".to_owned()];
        argv.extend(workload.args.split_whitespace().map(str::to_owned));
        if let Some(extra) = server_args {
            argv.extend(["--server-args".to_owned(), extra.to_owned()]);
        }
        let args = OneRun::try_parse_from(&argv)?.bench;
        let mut reports = Vec::new();
        for i in 1..=runs {
            match bench::bench(&args, &mut std::io::sink()) {
                Ok(report) => {
                    println!("{}, run {i}/{runs}: {}", workload.name, summary(&report));
                    reports.push(report);
                }
                Err(e) => {
                    failures += 1;
                    println!("{}, run {i}/{runs}: FAILED: {e:#}", workload.name);
                }
            }
        }
        for &check in workload.checks {
            rows.push(row(workload, check, &reports));
        }
    }
    println!();
    println!(
        "| Target | Command (`chat-bench …`) | Median of {runs} (min–max) | Steal | Verdict |"
    );
    println!("| --- | --- | ---: | ---: | --- |");
    for row in rows {
        println!("{row}");
    }
    if let Some(seen) = stalls {
        println!();
        println!("Before the paced runs, {seen}.");
    }
    if failures > 0 {
        bail!("{failures} run(s) were not clean");
    }
    Ok(())
}

fn summary(report: &Report) -> String {
    let mut parts = vec![format!("login {:.0} ms", ms(report.login))];
    if let Some(rate) = report.deliveries_per_s {
        parts.push(format!("{:.2} M deliveries/s", rate / 1e6));
    }
    if let (Some(p50), Some(p99)) = (report.p50, report.p99) {
        parts.push(format!("p50 {:.2} ms, p99 {:.2} ms", ms(p50), ms(p99)));
    }
    if let Some(rss) = report.rss_after_kib {
        parts.push(format!("RSS {:.0} MiB", rss as f64 / 1024.0));
    }
    if let Some(steal) = report.steal {
        parts.push(format!("steal {steal:.1}%"));
    }
    parts.join(", ")
}

/// One line of the table: the median of what `check` looks at.
fn row(workload: &Workload, check: Check, reports: &[Report]) -> String {
    let values: Vec<f64> = reports
        .iter()
        .filter_map(|r| match check {
            Check::Throughput => r.deliveries_per_s.map(|v| v / 1e6),
            Check::PacedP99 => r.p99.map(ms),
            Check::Memory => r.rss_after_kib.map(|kib| kib as f64 / 1024.0),
            Check::Login => Some(r.login.as_secs_f64()),
        })
        .collect();
    let steal = median(reports.iter().filter_map(|r| r.steal).collect());
    let (target, unit) = match check {
        Check::Throughput => (format!("{}: deliveries/s", workload.name), " M/s"),
        Check::PacedP99 => (format!("{}: p99 under 1 ms", workload.name), " ms"),
        Check::Memory => (format!("{}: RSS after under 64 MiB", workload.name), " MiB"),
        Check::Login => (format!("{}: under 0.5 s", workload.name), " s"),
    };
    let Some(mid) = median(values.clone()) else {
        return format!(
            "| {target} | `{}` | no clean run | | missed |",
            workload.args
        );
    };
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let verdict = match check {
        Check::Throughput if mid >= 2.0 * NGIRCD.1 => "twice ngIRCd's best: met, aim met",
        Check::Throughput if mid >= NGIRCD.1 => "at least ngIRCd's best (5.3 M/s): met",
        Check::Throughput if mid >= NGIRCD.0 => "within ngIRCd's 3.1–5.3 M/s",
        Check::Throughput => "below ngIRCd's 3.1 M/s: missed",
        Check::PacedP99 if mid < 1.0 => "met",
        Check::Memory if mid < 64.0 => "met",
        Check::Login if mid < 0.5 => "met",
        _ => "missed",
    };
    format!(
        "| {target} | `{}` | {mid:.2}{unit} ({low:.2}–{high:.2}) | {} | {verdict} |",
        workload.args,
        steal.map_or_else(String::new, |s| format!("{s:.1}%")),
    )
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(values[values.len() / 2])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(rate: f64, login_ms: u64) -> Report {
        Report {
            login: Duration::from_millis(login_ms),
            deliveries_per_s: Some(rate * 1e6),
            p50: Some(Duration::from_micros(200)),
            p99: Some(Duration::from_micros(900)),
            rss_after_kib: Some(40 * 1024),
            steal: Some(1.0),
        }
    }

    #[test]
    fn rows_show_the_median_and_compare_it_with_the_targets() {
        let n10 = &WORKLOADS[0];
        let reports = [report(2.0, 600), report(4.0, 400), report(9.0, 700)];
        let line = row(n10, Check::Throughput, &reports);
        assert!(line.contains("4.00 M/s (2.00–9.00)"), "{line}");
        assert!(line.ends_with("within ngIRCd's 3.1–5.3 M/s |"), "{line}");
        let line = row(n10, Check::Login, &reports);
        assert!(
            line.contains("0.60 s") && line.ends_with("missed |"),
            "{line}"
        );
        let line = row(n10, Check::PacedP99, &reports);
        assert!(
            line.contains("0.90 ms") && line.ends_with("met |"),
            "{line}"
        );
        let line = row(n10, Check::Throughput, &[report(11.0, 1)]);
        assert!(line.ends_with("aim met |"), "{line}");
        let line = row(n10, Check::Throughput, &[]);
        assert!(line.contains("no clean run"), "{line}");
    }
}
