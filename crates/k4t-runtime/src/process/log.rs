//! Container logs in the CRI format the kubelet reads (`kubectl logs`):
//! `<RFC3339Nano timestamp> <stdout|stderr> <F|P> <content>\n`, one entry per line of output;
//! a line longer than [`MAX_LINE`] is cut into partial (`P`) entries ended by a full (`F`) one,
//! and output that ends without a newline is flushed as a full entry.

use std::io::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

/// The longest content of one log entry (containerd's default).
pub const MAX_LINE: usize = 16 * 1024;

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// Formats nanoseconds since the Unix epoch as Go's `time.RFC3339Nano` in UTC:
/// `2006-01-02T15:04:05.999999999Z`, trailing zeros of the fraction (and a bare `.`) dropped.
pub fn rfc3339_nano(unix_nanos: i128) -> String {
    let secs = unix_nanos.div_euclid(1_000_000_000);
    let nanos = unix_nanos.rem_euclid(1_000_000_000) as u32;
    let days = secs.div_euclid(86_400) as i64;
    let sod = secs.rem_euclid(86_400) as u32;
    let (y, m, d) = civil_from_days(days);
    let mut out = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day) (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Now, in nanoseconds since the Unix epoch.
pub fn now_nanos() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

/// Splits one stream's output into log entries, keeping an unfinished line between reads.
#[derive(Debug, Default)]
pub struct LineSplitter {
    pending: Vec<u8>,
}

/// One log entry's content and whether it ends a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub content: Vec<u8>,
    pub full: bool,
}

impl LineSplitter {
    /// Feeds output; returns the entries it completes.
    pub fn feed(&mut self, mut data: &[u8]) -> Vec<Entry> {
        let mut out = Vec::new();
        while let Some(nl) = data.iter().position(|&b| b == b'\n') {
            self.pending.extend_from_slice(&data[..nl]);
            data = &data[nl + 1..];
            self.split_long(&mut out);
            let mut line = std::mem::take(&mut self.pending);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            out.push(Entry {
                content: line,
                full: true,
            });
        }
        self.pending.extend_from_slice(data);
        self.split_long(&mut out);
        out
    }

    /// Ends the stream: an unfinished line becomes a full entry.
    pub fn finish(&mut self) -> Option<Entry> {
        if self.pending.is_empty() {
            return None;
        }
        Some(Entry {
            content: std::mem::take(&mut self.pending),
            full: true,
        })
    }

    fn split_long(&mut self, out: &mut Vec<Entry>) {
        while self.pending.len() > MAX_LINE {
            let rest = self.pending.split_off(MAX_LINE);
            let head = std::mem::replace(&mut self.pending, rest);
            out.push(Entry {
                content: head,
                full: false,
            });
        }
    }
}

/// Writes one entry in the CRI format; returns how many bytes that took.
pub fn write_entry(
    w: &mut impl Write,
    unix_nanos: i128,
    stream: Stream,
    entry: &Entry,
) -> io::Result<usize> {
    let mut buf = Vec::with_capacity(entry.content.len() + 48);
    buf.extend_from_slice(rfc3339_nano(unix_nanos).as_bytes());
    buf.push(b' ');
    buf.extend_from_slice(stream.as_str().as_bytes());
    buf.extend_from_slice(if entry.full { b" F " } else { b" P " });
    buf.extend_from_slice(&entry.content);
    buf.push(b'\n');
    w.write_all(&buf)?;
    Ok(buf.len())
}

/// The name a rotated log file gets: `<file>.<YYYYMMDD-hhmmss.nnnnnnnnn>` (UTC), so rotated
/// files sort by name in the order they were written. The kubelet uses the same pattern
/// with second precision; the nanoseconds keep two rotations in one second apart.
pub fn rotated_name(file_name: &str, unix_nanos: i128) -> String {
    let ts = rfc3339_nano(unix_nanos - unix_nanos.rem_euclid(1_000_000_000));
    // `2023-11-14T22:13:20Z` → `20231114-221320`
    let digits: String = ts.chars().filter(char::is_ascii_digit).collect();
    format!(
        "{file_name}.{}-{}.{:09}",
        &digits[..8],
        &digits[8..14],
        unix_nanos.rem_euclid(1_000_000_000)
    )
}

/// Rotated files of `file_name` among `names`, oldest first.
pub fn rotated_of<'a>(file_name: &str, names: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let prefix = format!("{file_name}.");
    let mut out: Vec<&str> = names
        .into_iter()
        .filter(|n| {
            n.strip_prefix(&prefix)
                .is_some_and(|rest| rest.len() == 25 && rest.as_bytes()[8] == b'-')
        })
        .collect();
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_match_go_rfc3339nano() {
        let check =
            |nanos: i128, expected: &str| assert_eq!(rfc3339_nano(nanos), expected, "{nanos}");
        check(0, "1970-01-01T00:00:00Z");
        check(1_700_000_000_123_456_789, "2023-11-14T22:13:20.123456789Z");
        check(1_700_000_000_120_000_000, "2023-11-14T22:13:20.12Z");
        check(951_782_400_000_000_001, "2000-02-29T00:00:00.000000001Z");
        check(4_102_444_799_000_000_000, "2099-12-31T23:59:59Z");
        check(-1_000_000_000, "1969-12-31T23:59:59Z");
    }

    #[test]
    fn timestamps_agree_with_jiff() {
        for secs in [
            0i64,
            86_399,
            86_400,
            1_000_000_000,
            1_709_164_800,
            1_735_689_599,
            2_000_000_000,
        ] {
            let ts = jiff::Timestamp::from_second(secs).unwrap();
            assert_eq!(
                rfc3339_nano(i128::from(secs) * 1_000_000_000),
                ts.to_string()
            );
        }
    }

    fn entries(chunks: &[&[u8]]) -> Vec<(String, bool)> {
        let mut s = LineSplitter::default();
        let mut out: Vec<Entry> = chunks.iter().flat_map(|c| s.feed(c)).collect();
        out.extend(s.finish());
        out.into_iter()
            .map(|e| (String::from_utf8(e.content).unwrap(), e.full))
            .collect()
    }

    #[test]
    fn lines_are_split_across_reads() {
        let e = |s: &str, full| (s.to_owned(), full);
        assert_eq!(
            entries(&[b"a\nb", b"c\n\n"]),
            vec![e("a", true), e("bc", true), e("", true)]
        );
        assert_eq!(
            entries(&[b"crlf\r\n", b"tail"]),
            vec![e("crlf", true), e("tail", true)]
        );
        assert_eq!(entries(&[]), vec![]);
    }

    #[test]
    fn long_lines_become_partial_entries() {
        let long = vec![b'x'; MAX_LINE * 2 + 5];
        let mut data = long.clone();
        data.push(b'\n');
        let got = entries(&[&data[..100], &data[100..]]);
        let lens: Vec<(usize, bool)> = got.iter().map(|(s, f)| (s.len(), *f)).collect();
        assert_eq!(lens, vec![(MAX_LINE, false), (MAX_LINE, false), (5, true)]);
    }

    #[test]
    fn rotated_names_sort_by_time() {
        let a = rotated_name("0.log", 1_700_000_000_123_456_789);
        assert_eq!(a, "0.log.20231114-221320.123456789");
        let b = rotated_name("0.log", 1_700_000_000_200_000_000);
        let c = rotated_name("0.log", 1_700_000_001_000_000_000);
        let names = [
            c.as_str(),
            "0.log",
            a.as_str(),
            "1.log.x",
            b.as_str(),
            "10.log.20231114-221320.123456789",
        ];
        assert_eq!(
            rotated_of("0.log", names),
            vec![a.as_str(), b.as_str(), c.as_str()]
        );
    }

    #[test]
    fn entry_format() {
        let mut out = Vec::new();
        write_entry(
            &mut out,
            1_700_000_000_000_000_000,
            Stream::Stderr,
            &Entry {
                content: b"boom".to_vec(),
                full: true,
            },
        )
        .unwrap();
        write_entry(
            &mut out,
            17_000_000_005,
            Stream::Stdout,
            &Entry {
                content: b"par".to_vec(),
                full: false,
            },
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "2023-11-14T22:13:20Z stderr F boom\n1970-01-01T00:00:17.000000005Z stdout P par\n"
        );
    }
}
