//! `chat-bench stalls`: how often this machine stops running a thread that
//! asked to wake up, whatever the server does.
//!
//! On a virtual machine the hypervisor can pause a virtual CPU for a few
//! milliseconds, and wake a halted one late; `/proc/stat` counts only part
//! of that as steal. A paced latency run is only as good as the machine, so
//! the suite measures it before its paced runs: one probe thread per core
//! sleeps 100 µs at a time, at the highest priority the system allows
//! (`SCHED_FIFO` for root, so that no other thread of this machine can delay
//! it), and counts every wake-up that came more than a millisecond late.
//! On the machine of BENCHMARKS.md an idle system loses about 1 % of each
//! core's time that way, in stalls of up to 18 ms.

use std::fmt;
use std::time::{Duration, Instant};

/// How long a probe sleeps between two looks at the clock.
const NAP: Duration = Duration::from_micros(100);

/// A wake-up later than this counts as a stall.
const LATE: Duration = Duration::from_millis(1);

/// What the probes saw.
#[derive(Debug)]
pub struct Stalls {
    pub probes: Vec<Tally>,
    pub duration: Duration,
    /// Whether the probes ran as `SCHED_FIFO` (else at normal priority, and
    /// they also count delays the machine's other threads caused).
    pub realtime: bool,
}

/// The stalls of one probe thread.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Tally {
    pub count: usize,
    pub total: Duration,
    pub longest: Duration,
}

impl Tally {
    /// Counts one gap between two looks at the clock if it was a stall.
    fn observe(&mut self, gap: Duration) {
        if gap > LATE {
            self.count += 1;
            self.total += gap;
            self.longest = self.longest.max(gap);
        }
    }
}

/// Runs one probe per core for `duration` and returns what they saw.
pub fn probe(duration: Duration) -> Stalls {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let results: Vec<(Tally, bool)> = std::thread::scope(|scope| {
        let probes: Vec<_> = (0..cores)
            .map(|_| scope.spawn(move || probe_thread(duration)))
            .collect();
        probes
            .into_iter()
            .map(|p| p.join().unwrap_or_default())
            .collect()
    });
    Stalls {
        realtime: results.iter().all(|(_, rt)| *rt),
        probes: results.into_iter().map(|(tally, _)| tally).collect(),
        duration,
    }
}

fn probe_thread(duration: Duration) -> (Tally, bool) {
    let realtime = raise_priority();
    let mut tally = Tally::default();
    let mut last = Instant::now();
    let end = last + duration;
    while last < end {
        std::thread::sleep(NAP);
        let now = Instant::now();
        tally.observe(now - last);
        last = now;
    }
    (tally, realtime)
}

/// Makes the calling thread `SCHED_FIFO` at the highest priority, if allowed.
fn raise_priority() -> bool {
    use thread_priority::{
        RealtimeThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
        set_thread_priority_and_policy, thread_native_id,
    };
    let policy = ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo);
    set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Max, policy).is_ok()
}

impl fmt::Display for Stalls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.duration.as_secs_f64().max(1e-9);
        write!(
            f,
            "machine stalls over {:.1} s ({} probes, {}): ",
            secs,
            self.probes.len(),
            if self.realtime {
                "SCHED_FIFO"
            } else {
                "normal priority, so this machine's own load counts too"
            }
        )?;
        let parts: Vec<String> = self
            .probes
            .iter()
            .map(|t| {
                format!(
                    "{} stalls over 1 ms, {:.1}% of the time, longest {:.1} ms",
                    t.count,
                    t.total.as_secs_f64() / secs * 100.0,
                    t.longest.as_secs_f64() * 1e3
                )
            })
            .collect();
        write!(f, "{}", parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_late_wake_ups_count_as_stalls() {
        let mut tally = Tally::default();
        for us in [100, 900, 1_000, 1_500, 3_000, 120] {
            tally.observe(Duration::from_micros(us));
        }
        assert_eq!(
            tally,
            Tally {
                count: 2,
                total: Duration::from_micros(4_500),
                longest: Duration::from_micros(3_000),
            }
        );
    }

    #[test]
    fn a_short_probe_reports_every_core() {
        let stalls = probe(Duration::from_millis(50));
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        assert_eq!(stalls.probes.len(), cores);
        let line = stalls.to_string();
        assert!(line.starts_with("machine stalls over "), "{line}");
        assert_eq!(line.matches("stalls over 1 ms").count(), cores, "{line}");
    }
}
