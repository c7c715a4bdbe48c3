//! The crash-loop backoff table: how long a container that exited must wait before it is
//! started again. The kubelet's rules: one entry per (pod, container, container spec hash);
//! the first restart is immediate, the next waits `initial`, each later one doubles up to
//! `max`; an entry not advanced for 600 s has expired (a container that ran ten minutes
//! starts over). In memory only, as in the kubelet: an agent restart forgets it.

use std::collections::HashMap;
use std::time::Duration;

use jiff::Timestamp;

/// After this long without a restart an entry no longer counts.
pub const RESET_AFTER: Duration = Duration::from_secs(600);

/// The table key: pod name, namespace and uid, container name and spec hash.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key(String);

impl Key {
    pub fn new(pod: &str, namespace: &str, uid: &str, container: &str, hash: &str) -> Self {
        Self(format!("{pod}_{namespace}_{uid}_{container}_{hash}"))
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    backoff: Duration,
    last_update: Timestamp,
}

/// The backoff table of one agent.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    entries: HashMap<Key, Entry>,
}

/// What to do with a container that exited at `finished_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Start it now (the table has been advanced).
    Start,
    /// Wait: `backoff` is the current back-off, `remaining` how long until it ends.
    Wait {
        backoff: Duration,
        remaining: Duration,
    },
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max: max.max(initial),
            entries: HashMap::new(),
        }
    }

    fn expired(entry: &Entry, at: Timestamp) -> bool {
        at.duration_since(entry.last_update)
            .try_into()
            .is_ok_and(|d: Duration| d > RESET_AFTER)
    }

    /// Decides for a container whose latest instance exited at `finished_at`, at `now`.
    /// Starting advances the entry, as the kubelet's `Next` does.
    pub fn decide(&mut self, key: &Key, finished_at: Timestamp, now: Timestamp) -> Decision {
        if let Some(e) = self.entries.get(key)
            && !Self::expired(e, finished_at)
        {
            let since: Duration = now
                .duration_since(finished_at)
                .try_into()
                .unwrap_or_default();
            if since < e.backoff {
                return Decision::Wait {
                    backoff: e.backoff,
                    remaining: e.backoff - since,
                };
            }
        }
        self.next(key, now);
        Decision::Start
    }

    fn next(&mut self, key: &Key, now: Timestamp) {
        let entry = match self.entries.get(key) {
            Some(e) if !Self::expired(e, now) => Entry {
                backoff: (e.backoff * 2).min(self.max),
                last_update: now,
            },
            _ => Entry {
                backoff: self.initial,
                last_update: now,
            },
        };
        self.entries.insert(key.clone(), entry);
    }

    /// Drops entries that can no longer matter.
    pub fn gc(&mut self, now: Timestamp) {
        self.entries.retain(|_, e| !Self::expired(e, now));
    }

    /// Drops every entry of a pod (it is gone from the node).
    pub fn forget_pod(&mut self, uid: &str) {
        let needle = format!("_{uid}_");
        self.entries.retain(|k, _| !k.0.contains(&needle));
    }
}

/// A duration as Go's `time.Duration.String()` prints whole seconds: `10s`, `1m20s`, `5m0s`.
pub fn go_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let ms = d.subsec_millis();
    if secs >= 3600 {
        format!("{}h{}m{}s", secs / 3600, (secs % 3600) / 60, secs % 60)
    } else if secs >= 60 {
        format!("{}m{}s", secs / 60, secs % 60)
    } else if ms > 0 {
        let s = format!("{secs}.{ms:03}");
        format!("{}s", s.trim_end_matches('0'))
    } else {
        format!("{secs}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + secs).unwrap()
    }

    fn key() -> Key {
        Key::new("p", "ns", "u1", "c", "h")
    }

    /// A container that crashes the moment it starts: the delays between restarts.
    #[test]
    fn crash_loop_sequence() {
        let mut b = Backoff::new(Duration::from_secs(10), Duration::from_secs(300));
        let k = key();
        let mut now = t(0);
        let mut waits = vec![];
        for _ in 0..9 {
            // The container exits at `now`; retry every second until allowed.
            let finished = now;
            loop {
                match b.decide(&k, finished, now) {
                    Decision::Start => break,
                    Decision::Wait { remaining, .. } => now += remaining,
                }
            }
            waits.push(now.duration_since(finished).as_secs());
        }
        assert_eq!(waits, vec![0, 10, 20, 40, 80, 160, 300, 300, 300]);
    }

    #[test]
    fn wait_reports_the_backoff_and_remaining_time() {
        let mut b = Backoff::new(Duration::from_secs(10), Duration::from_secs(300));
        let k = key();
        assert_eq!(b.decide(&k, t(0), t(0)), Decision::Start);
        assert_eq!(
            b.decide(&k, t(1), t(4)),
            Decision::Wait {
                backoff: Duration::from_secs(10),
                remaining: Duration::from_secs(7)
            }
        );
        assert_eq!(b.decide(&k, t(1), t(11)), Decision::Start);
        assert_eq!(
            b.decide(&k, t(12), t(12)),
            Decision::Wait {
                backoff: Duration::from_secs(20),
                remaining: Duration::from_secs(20)
            }
        );
    }

    #[test]
    fn a_long_run_resets_the_backoff() {
        let mut b = Backoff::new(Duration::from_secs(10), Duration::from_secs(300));
        let k = key();
        b.decide(&k, t(0), t(0));
        b.decide(&k, t(0), t(10));
        b.decide(&k, t(10), t(30));
        // Ran from 30 to 700: finished more than 600 s after the last restart.
        assert_eq!(b.decide(&k, t(700), t(700)), Decision::Start);
        assert_eq!(
            b.decide(&k, t(701), t(701)),
            Decision::Wait {
                backoff: Duration::from_secs(10),
                remaining: Duration::from_secs(10)
            }
        );
    }

    #[test]
    fn keys_are_independent_and_pods_can_be_forgotten() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(4));
        let a = Key::new("p", "ns", "u1", "a", "h");
        let other_hash = Key::new("p", "ns", "u1", "a", "h2");
        b.decide(&a, t(0), t(0));
        assert!(matches!(b.decide(&a, t(0), t(0)), Decision::Wait { .. }));
        assert_eq!(b.decide(&other_hash, t(0), t(0)), Decision::Start);
        b.forget_pod("u1");
        assert_eq!(b.decide(&a, t(0), t(0)), Decision::Start);
        b.gc(t(10_000));
        assert!(b.entries.is_empty());
    }

    #[test]
    fn small_flag_values_cap() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(4));
        let k = key();
        let mut now = t(0);
        let mut waits = vec![];
        for _ in 0..5 {
            let finished = now;
            while let Decision::Wait { remaining, .. } = b.decide(&k, finished, now) {
                now += remaining;
            }
            waits.push(now.duration_since(finished).as_secs());
        }
        assert_eq!(waits, vec![0, 1, 2, 4, 4]);
    }

    #[test]
    fn go_durations() {
        for (secs, want) in [
            (10, "10s"),
            (40, "40s"),
            (80, "1m20s"),
            (160, "2m40s"),
            (300, "5m0s"),
            (3700, "1h1m40s"),
        ] {
            assert_eq!(go_duration(Duration::from_secs(secs)), want);
        }
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
    }
}
