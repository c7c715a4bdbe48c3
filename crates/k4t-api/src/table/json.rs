//! Lenient, allocation-free reads of canonical object JSON: a missing or mistyped field reads as
//! Go's zero value, the way the printers see it after decoding.

use jiff::Timestamp;
use serde_json::Value;

pub fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    Some(cur)
}

pub fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    get(v, path).and_then(Value::as_str).unwrap_or("")
}

pub fn opt_str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    get(v, path).and_then(Value::as_str)
}

pub fn i64_at(v: &Value, path: &[&str]) -> i64 {
    get(v, path).and_then(Value::as_i64).unwrap_or(0)
}

pub fn opt_i64_at(v: &Value, path: &[&str]) -> Option<i64> {
    get(v, path).and_then(Value::as_i64)
}

pub fn bool_at(v: &Value, path: &[&str]) -> bool {
    get(v, path).and_then(Value::as_bool).unwrap_or(false)
}

pub fn arr_at<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    get(v, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The number of entries of an object-valued field.
pub fn len_at(v: &Value, path: &[&str]) -> usize {
    get(v, path)
        .and_then(Value::as_object)
        .map_or(0, |m| m.len())
}

/// A `metav1.Time`/`MicroTime`. Absent, unparsable and Go's zero time all read as `None`.
pub fn time_at(v: &Value, path: &[&str]) -> Option<Timestamp> {
    parse_time(get(v, path)?.as_str()?)
}

pub fn parse_time(s: &str) -> Option<Timestamp> {
    let t: Timestamp = s.parse().ok()?;
    non_zero(t)
}

/// Go's zero `time.Time` (0001-01-01T00:00:00Z) is "unset" to the printers.
pub fn non_zero(t: Timestamp) -> Option<Timestamp> {
    // Seconds from 0001-01-01T00:00:00Z to the Unix epoch.
    const GO_ZERO: i64 = -62_135_596_800;
    (t.as_second() != GO_ZERO || t.subsec_nanosecond() != 0).then_some(t)
}
