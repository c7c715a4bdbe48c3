//! Go-style durations as kubectl prints them (`HumanDuration`, `ShortHumanDuration`), and the
//! "since" and event-interval helpers built on them.
//!
//! The arithmetic follows apimachinery's `util/duration` on a Go `time.Duration`: a signed count
//! of nanoseconds that saturates at ±292 years, with truncation toward zero at every step.

use jiff::{SignedDuration, Timestamp};

const NANOS_PER_SECOND: i64 = 1_000_000_000;
const NANOS_PER_MINUTE: i64 = 60 * NANOS_PER_SECOND;
const NANOS_PER_HOUR: i64 = 60 * NANOS_PER_MINUTE;

/// A Go `time.Duration` is an `int64` of nanoseconds; `time.Since` saturates instead of wrapping.
fn go_nanos(d: SignedDuration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(if d.is_negative() { i64::MIN } else { i64::MAX })
}

/// apimachinery's `HumanDuration`: about two or three significant figures, e.g. `80s`, `2m5s`,
/// `16m`, `3h10m`, `47h`, `5d3h`, `200d`, `2y30d`, `9y`.
///
/// Up to one second in the future still prints `0s` (clock skew); further is `<invalid>`.
pub fn human_duration(d: SignedDuration) -> String {
    let n = go_nanos(d);
    let seconds = n / NANOS_PER_SECOND;
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    if seconds < 0 {
        return "0s".to_owned();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = n / NANOS_PER_MINUTE;
    if minutes < 10 {
        let s = seconds % 60;
        if s == 0 {
            return format!("{minutes}m");
        }
        return format!("{minutes}m{s}s");
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = n / NANOS_PER_HOUR;
    if hours < 8 {
        let m = minutes % 60;
        if m == 0 {
            return format!("{hours}h");
        }
        return format!("{hours}h{m}m");
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        if h == 0 {
            return format!("{}d", hours / 24);
        }
        return format!("{}d{h}h", hours / 24);
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        if dy == 0 {
            return format!("{}y", hours / 24 / 365);
        }
        return format!("{}y{dy}d", hours / 24 / 365);
    }
    format!("{}y", hours / 24 / 365)
}

/// apimachinery's `ShortHumanDuration`: one unit only, e.g. `59s`, `5m`, `23h`, `364d`, `2y`.
pub fn short_human_duration(d: SignedDuration) -> String {
    let n = go_nanos(d);
    let seconds = n / NANOS_PER_SECOND;
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    if seconds < 0 {
        return "0s".to_owned();
    }
    if seconds < 60 {
        return format!("{seconds}s");
    }
    let minutes = n / NANOS_PER_MINUTE;
    if minutes < 60 {
        return format!("{minutes}m");
    }
    let hours = n / NANOS_PER_HOUR;
    if hours < 24 {
        return format!("{hours}h");
    }
    if hours < 24 * 365 {
        return format!("{}d", hours / 24);
    }
    format!("{}y", hours / 24 / 365)
}

/// The printers' `translateTimestampSince`: `<unknown>` for a missing (zero) timestamp, else the
/// [`human_duration`] from `t` to `now`.
pub fn since(now: Timestamp, t: Option<Timestamp>) -> String {
    match t {
        Some(t) => human_duration(now.duration_since(t)),
        None => "<unknown>".to_owned(),
    }
}

/// The timestamps of an event that decide its describe-style age.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventTimes {
    pub event_time: Option<Timestamp>,
    pub first_timestamp: Option<Timestamp>,
    pub last_timestamp: Option<Timestamp>,
    pub count: i32,
    /// `series.count` and `series.lastObservedTime`, when the event has a series.
    pub series: Option<(i32, Option<Timestamp>)>,
}

/// The Age column of `kubectl describe`'s `Events:` table (and the LAST SEEN of `kubectl events`):
/// `2m (x3 over 16m)` for a repeated event or a series, else the time since it was first seen.
pub fn event_interval(now: Timestamp, e: &EventTimes) -> String {
    let first = match e.event_time {
        Some(t) => since(now, Some(t)),
        None => since(now, e.first_timestamp),
    };
    if let Some((count, last_observed)) = e.series {
        return format!("{} (x{count} over {first})", since(now, last_observed));
    }
    if e.count > 1 {
        return format!(
            "{} (x{} over {first})",
            since(now, e.last_timestamp),
            e.count
        );
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: i64) -> SignedDuration {
        SignedDuration::from_secs(s)
    }

    #[test]
    fn human_duration_thresholds() {
        const M: i64 = 60;
        const H: i64 = 3600;
        const D: i64 = 24 * H;
        const Y: i64 = 365 * D;
        let cases: &[(SignedDuration, &str)] = &[
            (SignedDuration::from_nanos(-2_000_000_001), "<invalid>"),
            (secs(-2), "<invalid>"),
            (SignedDuration::from_millis(-1999), "0s"),
            (secs(-1), "0s"),
            (SignedDuration::from_millis(-500), "0s"),
            (secs(0), "0s"),
            (SignedDuration::from_millis(999), "0s"),
            (secs(1), "1s"),
            (secs(80), "80s"),
            (secs(119), "119s"),
            (SignedDuration::from_millis(119_999), "119s"),
            (secs(120), "2m"),
            (secs(125), "2m5s"),
            (secs(9 * M + 59), "9m59s"),
            (secs(10 * M), "10m"),
            (secs(10 * M + 30), "10m"),
            (secs(16 * M), "16m"),
            (secs(179 * M + 59), "179m"),
            (secs(3 * H), "3h"),
            (secs(3 * H + 10 * M), "3h10m"),
            (secs(7 * H + 59 * M + 59), "7h59m"),
            (secs(8 * H), "8h"),
            (secs(8 * H + 30 * M), "8h"),
            (secs(47 * H + 59 * M), "47h"),
            (secs(48 * H), "2d"),
            (secs(5 * D + 3 * H), "5d3h"),
            (secs(7 * D + 23 * H), "7d23h"),
            (secs(8 * D), "8d"),
            (secs(8 * D + 5 * H), "8d"),
            (secs(200 * D), "200d"),
            (secs(2 * Y - 1), "729d"),
            (secs(2 * Y), "2y"),
            (secs(2 * Y + 30 * D), "2y30d"),
            (secs(8 * Y - 1), "7y364d"),
            (secs(8 * Y), "8y"),
            (secs(9 * Y + 100 * D), "9y"),
            (SignedDuration::MAX, "292y"),
            (SignedDuration::MIN, "<invalid>"),
        ];
        for (d, want) in cases {
            assert_eq!(human_duration(*d), *want, "{d:?}");
        }
    }

    #[test]
    fn short_human_duration_thresholds() {
        let cases: &[(i64, &str)] = &[
            (-2, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (59, "59s"),
            (60, "1m"),
            (3599, "59m"),
            (3600, "1h"),
            (86_399, "23h"),
            (86_400, "1d"),
            (365 * 86_400 - 1, "364d"),
            (365 * 86_400, "1y"),
            (3 * 365 * 86_400 + 5, "3y"),
        ];
        for (s, want) in cases {
            assert_eq!(short_human_duration(secs(*s)), *want, "{s}");
        }
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("valid timestamp")
    }

    #[test]
    fn since_and_event_interval() {
        let now = ts("2024-05-01T12:00:00Z");
        assert_eq!(since(now, None), "<unknown>");
        assert_eq!(since(now, Some(ts("2024-05-01T11:58:40Z"))), "80s");
        assert_eq!(since(now, Some(ts("2024-05-01T12:00:05Z"))), "<invalid>");

        let single = EventTimes {
            first_timestamp: Some(ts("2024-05-01T11:44:00Z")),
            last_timestamp: Some(ts("2024-05-01T11:44:00Z")),
            count: 1,
            ..Default::default()
        };
        assert_eq!(event_interval(now, &single), "16m");
        let repeated = EventTimes {
            last_timestamp: Some(ts("2024-05-01T11:58:00Z")),
            count: 3,
            ..single
        };
        assert_eq!(event_interval(now, &repeated), "2m (x3 over 16m)");
        let series = EventTimes {
            event_time: Some(ts("2024-05-01T11:50:00Z")),
            first_timestamp: None,
            last_timestamp: None,
            count: 0,
            series: Some((4, Some(ts("2024-05-01T11:59:30Z")))),
        };
        assert_eq!(event_interval(now, &series), "30s (x4 over 10m)");
        assert_eq!(event_interval(now, &EventTimes::default()), "<unknown>");
    }
}
