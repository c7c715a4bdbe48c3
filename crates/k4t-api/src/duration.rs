//! Go-style durations as kubectl prints them (`HumanDuration`, `ShortHumanDuration`).
//!
//! STUB: to be implemented.

/// apimachinery's `HumanDuration` of a signed duration.
pub fn human_duration(d: jiff::SignedDuration) -> String {
    format!("{}s", d.as_secs())
}
