//! Measurements: a latency histogram, and the resident memory of a process.

use std::time::Duration;

/// Sub-buckets per power of two: values are kept to within about 1.5%.
const SUB: u64 = 64;

/// A log-linear histogram of nanosecond values, cheap to record into and to
/// merge, so that every receiver thread keeps its own.
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
}

impl Histogram {
    pub fn new() -> Self {
        Self {
            counts: vec![0; (64 * SUB) as usize],
            total: 0,
        }
    }

    fn bucket(ns: u64) -> usize {
        if ns < SUB {
            return ns as usize;
        }
        let power = 63 - ns.leading_zeros() as u64; // ns >= 2^power
        let shift = power - 6; // SUB = 2^6
        let sub = (ns >> shift) - SUB;
        ((power - 5) * SUB + sub) as usize
    }

    fn lower_bound(bucket: usize) -> u64 {
        let bucket = bucket as u64;
        if bucket < SUB {
            return bucket;
        }
        let power = bucket / SUB + 5;
        let sub = bucket % SUB;
        (SUB + sub) << (power - 6)
    }

    pub fn record(&mut self, value: Duration) {
        let ns = u64::try_from(value.as_nanos()).unwrap_or(u64::MAX);
        self.counts[Self::bucket(ns)] += 1;
        self.total += 1;
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    /// The value below which a fraction `q` of the samples lie.
    pub fn quantile(&self, q: f64) -> Duration {
        let want = ((self.total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (bucket, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= want {
                return Duration::from_nanos(Self::lower_bound(bucket));
            }
        }
        Duration::ZERO
    }
}

/// Resident and peak resident memory of a process, in KiB, from /proc.
pub fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// CPU time a process has used so far (user and system, all its threads),
/// from /proc; `None` for this process means the generator itself.
pub fn cpu_time(pid: Option<u32>) -> Option<Duration> {
    let path = pid.map_or_else(
        || "/proc/self/stat".to_owned(),
        |p| format!("/proc/{p}/stat"),
    );
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name, which is in parentheses and may hold
    // spaces: utime and stime are the 12th and 13th, in USER_HZ (always 100
    // in what Linux reports through /proc).
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ').skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((user + system) * 10))
}

/// CPU time used by the server and by the generator since a starting point,
/// so that each phase's report shows who was busy.
pub struct CpuMeter {
    server_pid: Option<u32>,
    server: Option<Duration>,
    generator: Option<Duration>,
    machine: Option<MachineTicks>,
}

/// The machine's CPU ticks from /proc/stat: all of them, and those stolen by
/// the hypervisor (a virtual machine's cores are shared with other guests,
/// and stolen time shows up as latency that neither server nor generator
/// caused).
#[derive(Debug, Clone, Copy)]
struct MachineTicks {
    total: u64,
    steal: u64,
}

fn machine_ticks() -> Option<MachineTicks> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    Some(MachineTicks {
        total: fields.iter().sum(),
        steal: *fields.get(7)?,
    })
}

impl CpuMeter {
    pub fn start(server_pid: Option<u32>) -> Self {
        Self {
            server_pid,
            server: server_pid.and_then(|p| cpu_time(Some(p))),
            generator: cpu_time(None),
            machine: machine_ticks(),
        }
    }

    /// Percent of the machine's CPU time stolen since the start.
    pub fn steal(&self) -> Option<f64> {
        let (then, now) = (self.machine?, machine_ticks()?);
        let total = now.total.saturating_sub(then.total).max(1);
        Some(100.0 * now.steal.saturating_sub(then.steal) as f64 / total as f64)
    }

    /// ", server CPU 1.23 s, generator CPU 0.45 s, steal 0.4%", as far as
    /// known.
    pub fn report(&self) -> String {
        let mut out = String::new();
        let now_server = self.server_pid.and_then(|p| cpu_time(Some(p)));
        if let (Some(then), Some(now)) = (self.server, now_server) {
            out += &format!(", server CPU {:.2} s", (now - then).as_secs_f64());
        }
        if let (Some(then), Some(now)) = (self.generator, cpu_time(None)) {
            out += &format!(", generator CPU {:.2} s", (now - then).as_secs_f64());
        }
        if let Some(steal) = self.steal() {
            out += &format!(", steal {steal:.1}%");
        }
        out
    }
}

/// Threads of a process, from /proc.
pub fn threads(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("Threads:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_close() {
        let mut h = Histogram::new();
        for us in 1..=1000u64 {
            h.record(Duration::from_micros(us));
        }
        let p50 = h.quantile(0.5).as_micros() as f64;
        let p99 = h.quantile(0.99).as_micros() as f64;
        assert!((p50 - 500.0).abs() / 500.0 < 0.03, "{p50}");
        assert!((p99 - 990.0).abs() / 990.0 < 0.03, "{p99}");
    }
}
