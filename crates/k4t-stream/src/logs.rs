//! Reading container logs in the CRI format (`<RFC3339Nano> <stdout|stderr> <F|P> <content>`)
//! the way `GET pods/{name}/log` serves them: `tailLines` counted across rotated files,
//! `sinceSeconds`/`sinceTime`, `timestamps`, `limitBytes`, and `follow` across rotations
//! until the container ends.
//!
//! The line handling is pure ([`parse_entry`], [`LogWriter`], [`tail_start`]); [`follow`]
//! is the thin file-reading loop over it.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};
use tokio::sync::mpsc;

/// What the client asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    pub tail_lines: Option<u64>,
    /// Only entries at or after this time (Unix nanoseconds).
    pub since_nanos: Option<i128>,
    pub timestamps: bool,
    pub limit_bytes: Option<u64>,
    pub follow: bool,
}

/// One parsed entry of a CRI log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    pub nanos: i128,
    pub stream: &'a str,
    /// `false` for a partial (`P`) entry: the line goes on in the next entry.
    pub full: bool,
    pub content: &'a [u8],
}

/// Parses one line (without its newline); `None` for a line that is not a CRI entry.
pub fn parse_entry(line: &[u8]) -> Option<Entry<'_>> {
    let mut parts = line.splitn(4, |&b| b == b' ');
    let ts = std::str::from_utf8(parts.next()?).ok()?;
    let stream = std::str::from_utf8(parts.next()?).ok()?;
    let tag = parts.next()?;
    let content = parts.next().unwrap_or_default();
    let nanos = ts.parse::<jiff::Timestamp>().ok()?.as_nanosecond();
    let full = match tag {
        b"F" => true,
        b"P" => false,
        // Tags may carry more fields after a colon (`F:x`); the first is what matters.
        t => t.first() != Some(&b'P'),
    };
    Some(Entry {
        nanos,
        stream,
        full,
        content,
    })
}

/// Formats a time as the kubelet prefixes log lines with `timestamps=true`:
/// RFC3339 with exactly nine fractional digits, in UTC.
pub fn format_timestamp(nanos: i128) -> String {
    let Ok(ts) = jiff::Timestamp::from_nanosecond(nanos) else {
        return String::new();
    };
    format!(
        "{}.{:09}Z",
        ts.strftime("%Y-%m-%dT%H:%M:%S"),
        ts.subsec_nanosecond()
    )
}

/// Turns CRI lines into what the client reads, applying `since`, `timestamps` and
/// `limitBytes`.
#[derive(Debug)]
pub struct LogWriter {
    since_nanos: Option<i128>,
    timestamps: bool,
    remaining: Option<u64>,
}

impl LogWriter {
    pub fn new(opts: &LogOptions) -> Self {
        Self {
            since_nanos: opts.since_nanos,
            timestamps: opts.timestamps,
            remaining: opts.limit_bytes,
        }
    }

    /// Whether `limitBytes` is used up.
    pub fn done(&self) -> bool {
        self.remaining == Some(0)
    }

    /// Appends the client's bytes for one CRI line to `out`.
    pub fn line(&mut self, line: &[u8], out: &mut Vec<u8>) {
        let Some(e) = parse_entry(line) else { return };
        if self.since_nanos.is_some_and(|s| e.nanos < s) {
            return;
        }
        let start = out.len();
        if self.timestamps {
            out.extend_from_slice(format_timestamp(e.nanos).as_bytes());
            out.push(b' ');
        }
        out.extend_from_slice(e.content);
        if e.full {
            out.push(b'\n');
        }
        if let Some(left) = self.remaining.as_mut() {
            let wrote = (out.len() - start) as u64;
            if wrote > *left {
                out.truncate(start + *left as usize);
                *left = 0;
            } else {
                *left -= wrote;
            }
        }
    }

    /// Feeds a chunk of whole lines (each ending in `\n`).
    pub fn lines(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        for line in chunk.split_inclusive(|&b| b == b'\n') {
            if self.done() {
                return;
            }
            self.line(line.strip_suffix(b"\n").unwrap_or(line), out);
        }
    }
}

/// Where reading starts so that at most `n` lines are left: `(file index, byte offset)`
/// over `files` (oldest first), each given as its content.
pub fn tail_start(files: &[&[u8]], n: u64) -> (usize, usize) {
    let mut wanted = n;
    for (i, data) in files.iter().enumerate().rev() {
        // Count lines from the end of this file; an unfinished last line is not a line yet.
        let mut end = data.len();
        while end > 0 {
            if wanted == 0 {
                return (i, end);
            }
            let body = &data[..end];
            let body = body.strip_suffix(b"\n").unwrap_or(body);
            match body.iter().rposition(|&b| b == b'\n') {
                Some(p) => {
                    end = p + 1;
                }
                None => end = 0,
            }
            wanted -= 1;
        }
        if wanted == 0 {
            return (i, 0);
        }
    }
    (0, 0)
}

/// The files of one container instance's log, oldest first: rotated ones, then `path`.
pub async fn log_files(path: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return vec![path.to_path_buf()];
    };
    let mut names = Vec::new();
    if let Ok(mut rd) = tokio::fs::read_dir(dir).await {
        while let Ok(Some(e)) = rd.next_entry().await {
            if let Ok(n) = e.file_name().into_string() {
                names.push(n);
            }
        }
    }
    let prefix = format!("{name}.");
    let mut rotated: Vec<&String> = names.iter().filter(|n| n.starts_with(&prefix)).collect();
    rotated.sort_unstable();
    let mut out: Vec<PathBuf> = rotated.into_iter().map(|n| dir.join(n)).collect();
    out.push(path.to_path_buf());
    out
}

/// Whether the container still writes to its log.
pub type IsRunning = Box<dyn FnMut() -> BoxFuture<'static, bool> + Send>;

/// How long a follower sleeps at the end of the file.
const FOLLOW_POLL: Duration = Duration::from_millis(100);

/// Streams the log at `path` to `tx` as `opts` ask, following it while `running` says the
/// container runs. Ends early when the receiver goes away.
pub async fn follow(
    path: PathBuf,
    opts: LogOptions,
    mut running: IsRunning,
    tx: mpsc::Sender<Bytes>,
) {
    let mut writer = LogWriter::new(&opts);
    let files = log_files(&path).await;
    // The rotated files are read whole; the current one is then followed from where the
    // tail (or the start) puts it.
    let mut contents = Vec::with_capacity(files.len());
    for f in &files {
        contents.push(tokio::fs::read(f).await.unwrap_or_default());
    }
    let (first, offset) = match opts.tail_lines {
        Some(n) => tail_start(&contents.iter().map(Vec::as_slice).collect::<Vec<_>>(), n),
        None => (0, 0),
    };
    let last = contents.len() - 1;
    for (i, data) in contents.iter().enumerate().take(last).skip(first) {
        let from = if i == first { offset } else { 0 };
        if !send(&mut writer, &data[from..], &tx).await {
            return;
        }
    }
    let current = &contents[last];
    let start = if first == last { offset } else { 0 };
    // Only whole lines of the current file: the rest is re-read when it is complete.
    let upto = current
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1)
        .max(start);
    if !send(&mut writer, &current[start..upto], &tx).await {
        return;
    }
    if !opts.follow || writer.done() {
        return;
    }
    let mut pos = upto as u64;
    let mut file = tokio::fs::File::open(&path).await.ok();
    let mut pending: Vec<u8> = Vec::new();
    let mut idle_rounds = 0u32;
    loop {
        let mut progressed = false;
        if let Some(f) = file.as_mut() {
            let mut buf = Vec::new();
            if f.seek(SeekFrom::Start(pos)).await.is_ok()
                && f.read_to_end(&mut buf).await.is_ok()
                && !buf.is_empty()
            {
                pos += buf.len() as u64;
                pending.extend_from_slice(&buf);
                if let Some(p) = pending.iter().rposition(|&b| b == b'\n') {
                    let rest = pending.split_off(p + 1);
                    let whole = std::mem::replace(&mut pending, rest);
                    if !send(&mut writer, &whole, &tx).await || writer.done() {
                        return;
                    }
                }
                progressed = true;
            }
        }
        if progressed {
            idle_rounds = 0;
            continue;
        }
        // At the end of what we hold: the file may have been rotated (a new file at `path`).
        if rotated_away(file.as_ref(), &path).await {
            file = tokio::fs::File::open(&path).await.ok();
            pos = 0;
            pending.clear();
            continue;
        }
        idle_rounds += 1;
        // The container's state is checked every few rounds; once it has ended and the file
        // is drained, the stream ends (as `kubectl logs -f` does when a container exits).
        if idle_rounds % 5 == 1 && !running().await {
            // One more read: the supervisor flushes the last lines as the process ends.
            if idle_rounds > 1 {
                return;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(FOLLOW_POLL) => {}
            _ = tx.closed() => return,
        }
    }
}

async fn rotated_away(file: Option<&tokio::fs::File>, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(now) = tokio::fs::metadata(path).await else {
        return false;
    };
    match file {
        None => true,
        Some(f) => match f.metadata().await {
            Ok(held) => held.ino() != now.ino() || held.dev() != now.dev(),
            Err(_) => true,
        },
    }
}

async fn send(writer: &mut LogWriter, chunk: &[u8], tx: &mpsc::Sender<Bytes>) -> bool {
    if chunk.is_empty() {
        return true;
    }
    let mut out = Vec::with_capacity(chunk.len());
    writer.lines(chunk, &mut out);
    out.is_empty() || tx.send(Bytes::from(out)).await.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(opts: &LogOptions, data: &[u8]) -> String {
        let mut w = LogWriter::new(opts);
        let mut out = Vec::new();
        w.lines(data, &mut out);
        String::from_utf8(out).unwrap()
    }

    const LOG: &[u8] = b"2023-11-14T22:13:20.5Z stdout F one\n\
2023-11-14T22:13:21Z stderr F two\n\
2023-11-14T22:13:22.000000001Z stdout P thr\n\
2023-11-14T22:13:22.000000002Z stdout F ee\n";

    #[test]
    fn entries_parse() {
        let e = parse_entry(b"2023-11-14T22:13:20.5Z stdout P a b c").unwrap();
        assert_eq!(e.stream, "stdout");
        assert!(!e.full);
        assert_eq!(e.content, b"a b c");
        assert_eq!(e.nanos, 1_700_000_000_500_000_000);
        assert_eq!(
            parse_entry(b"2023-11-14T22:13:20Z stdout F")
                .unwrap()
                .content,
            b""
        );
        assert!(parse_entry(b"garbage").is_none());
        assert!(parse_entry(b"").is_none());
    }

    #[test]
    fn plain_timestamps_since_and_limit() {
        assert_eq!(render(&LogOptions::default(), LOG), "one\ntwo\nthree\n");
        let ts = LogOptions {
            timestamps: true,
            ..Default::default()
        };
        assert!(render(&ts, LOG).starts_with(
            "2023-11-14T22:13:20.500000000Z one\n2023-11-14T22:13:21.000000000Z two\n"
        ));
        let since = LogOptions {
            since_nanos: Some(1_700_000_001_000_000_000),
            ..Default::default()
        };
        assert_eq!(render(&since, LOG), "two\nthree\n");
        let limit = LogOptions {
            limit_bytes: Some(6),
            ..Default::default()
        };
        assert_eq!(render(&limit, LOG), "one\ntw");
    }

    #[test]
    fn tail_counts_across_files() {
        let a: &[u8] = b"1\n2\n3\n";
        let b: &[u8] = b"4\n5\n";
        assert_eq!(tail_start(&[a, b], 0), (1, 2 * 2));
        assert_eq!(tail_start(&[a, b], 1), (1, 2));
        assert_eq!(tail_start(&[a, b], 2), (1, 0));
        assert_eq!(tail_start(&[a, b], 3), (0, 4));
        assert_eq!(tail_start(&[a, b], 5), (0, 0));
        assert_eq!(tail_start(&[a, b], 50), (0, 0));
        assert_eq!(tail_start(&[b"", b"x\n"], 1), (1, 0));
        assert_eq!(tail_start(&[], 3), (0, 0));
    }

    fn line(i: u32) -> String {
        format!("2023-11-14T22:13:{:02}Z stdout F line {i}\n", i % 60)
    }

    async fn collect(path: PathBuf, opts: LogOptions, running: bool) -> String {
        let (tx, mut rx) = mpsc::channel(16);
        let task = tokio::spawn(follow(
            path,
            opts,
            Box::new(move || Box::pin(async move { running })),
            tx,
        ));
        let mut out = Vec::new();
        while let Some(b) = rx.recv().await {
            out.extend_from_slice(&b);
        }
        task.await.unwrap();
        String::from_utf8(out).unwrap()
    }

    #[tokio::test]
    async fn tail_and_read_across_rotated_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.log");
        std::fs::write(
            dir.path().join("0.log.20231114-221320.000000001"),
            line(1) + &line(2),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("0.log.20231114-221321.000000001"),
            line(3) + &line(4),
        )
        .unwrap();
        std::fs::write(dir.path().join("1.log"), line(9)).unwrap();
        std::fs::write(&path, line(5)).unwrap();
        let all = collect(path.clone(), LogOptions::default(), false).await;
        assert_eq!(all, "line 1\nline 2\nline 3\nline 4\nline 5\n");
        let tail = LogOptions {
            tail_lines: Some(3),
            ..Default::default()
        };
        assert_eq!(collect(path, tail, false).await, "line 3\nline 4\nline 5\n");
    }

    #[tokio::test]
    async fn follow_sees_new_lines_and_rotation_then_ends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.log");
        std::fs::write(&path, line(1)).unwrap();
        let running = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (tx, mut rx) = mpsc::channel(16);
        let r = running.clone();
        let task = tokio::spawn(follow(
            path.clone(),
            LogOptions {
                follow: true,
                ..Default::default()
            },
            Box::new(move || {
                let r = r.clone();
                Box::pin(async move { r.load(std::sync::atomic::Ordering::SeqCst) })
            }),
            tx,
        ));
        assert_eq!(&rx.recv().await.unwrap()[..], b"line 1\n");
        {
            use std::io::Write as _;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap();
            f.write_all(line(2).as_bytes()).unwrap();
        }
        assert_eq!(&rx.recv().await.unwrap()[..], b"line 2\n");
        std::fs::rename(&path, dir.path().join("0.log.20231114-221320.000000001")).unwrap();
        std::fs::write(&path, line(3)).unwrap();
        assert_eq!(&rx.recv().await.unwrap()[..], b"line 3\n");
        running.store(false, std::sync::atomic::Ordering::SeqCst);
        assert!(rx.recv().await.is_none());
        task.await.unwrap();
    }
}
