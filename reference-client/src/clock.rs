//! Wall-clock time for display: the one place the client reads the clock.
//!
//! The model never reads the clock itself; callers pass `now` in, so tests can
//! use fixed times. Live `1002`/`1004` frames carry no time, so the client
//! stamps them when they arrive (SPEC.md section 9, after HIST-5); history
//! entries carry the server's time.

use jiff::{Timestamp, tz::TimeZone};

/// Seconds since the Unix epoch, now.
pub fn now() -> i64 {
    Timestamp::now().as_second()
}

/// How to show times: in the machine's time zone, or in UTC (for tests and
/// for comparing logs across machines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// The system time zone (`TZ`, `/etc/localtime`).
    Local,
    /// Coordinated Universal Time.
    Utc,
}

impl Zone {
    /// `HH:MM:SS` of the Unix time `secs`.
    pub fn time(self, secs: i64) -> String {
        self.format(secs, "%H:%M:%S")
    }

    /// `YYYY-MM-DD HH:MM:SS` of the Unix time `secs`, as the seed client showed.
    pub fn date_time(self, secs: i64) -> String {
        self.format(secs, "%Y-%m-%d %H:%M:%S")
    }

    fn format(self, secs: i64, pattern: &str) -> String {
        let zone = match self {
            Zone::Local => TimeZone::system(),
            Zone::Utc => TimeZone::UTC,
        };
        match Timestamp::from_second(secs) {
            Ok(t) => t.to_zoned(zone).strftime(pattern).to_string(),
            // A server may send any u64 (HIST-5 only asks for monotonic times).
            Err(_) => format!("@{secs}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_utc() {
        // The time of the Level 4 transcript in SPEC.md section 13.
        assert_eq!(Zone::Utc.time(1_795_412_100), "05:35:00");
        assert_eq!(Zone::Utc.date_time(1_795_412_100), "2026-11-23 05:35:00");
        assert_eq!(Zone::Utc.time(i64::MAX), format!("@{}", i64::MAX));
    }
}
