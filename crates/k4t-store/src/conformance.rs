//! The backend contract, tested once and run against every backend.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::memory::MemoryBackend;
use crate::sqlite::{Durability, SqliteBackend};
use crate::{Backend, BackendEvent, KeyValue, Result, Revision, StoreError};

pub(crate) fn val(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// Takes `n` items from `stream`, failing the test if they do not come within seconds.
pub(crate) async fn take<T>(stream: &mut BoxStream<'static, T>, n: usize) -> Vec<T> {
    let mut items = Vec::with_capacity(n);
    while items.len() < n {
        let item = tokio::time::timeout(Duration::from_secs(20), stream.next())
            .await
            .unwrap_or_else(|_| panic!("timed out after {} of {n} items", items.len()));
        match item {
            Some(item) => items.push(item),
            None => panic!("stream ended after {} of {n} items", items.len()),
        }
    }
    items
}

/// Asserts that nothing more arrives soon.
pub(crate) async fn quiet<T: std::fmt::Debug>(stream: &mut BoxStream<'static, T>) {
    if let Ok(item) = tokio::time::timeout(Duration::from_millis(100), stream.next()).await {
        panic!("unexpected item {item:?}");
    }
}

fn revisions_of(events: &[Result<BackendEvent>]) -> Vec<Revision> {
    events
        .iter()
        .map(|event| event.as_ref().expect("event").revision())
        .collect()
}

fn kv(key: &str, value: &str, create_revision: Revision, mod_revision: Revision) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: val(value),
        create_revision,
        mod_revision,
    }
}

async fn revisions(b: Arc<dyn Backend>) {
    assert_eq!(b.current_revision().await.unwrap(), 0);
    assert_eq!(b.create("/a", val("1")).await.unwrap(), 1);
    assert_eq!(b.update("/a", val("2"), 1).await.unwrap(), 2);
    assert_eq!(b.delete("/a", 2).await.unwrap(), 3);
    assert_eq!(b.create("/b", val("1")).await.unwrap(), 4);
    // Failed conditional writes do not consume a revision.
    assert!(b.create("/b", val("x")).await.is_err());
    assert!(b.update("/b", val("x"), 1).await.is_err());
    assert!(b.delete("/a", 3).await.is_err());
    assert_eq!(b.current_revision().await.unwrap(), 4);
    assert_eq!(b.create("/a", val("again")).await.unwrap(), 5);
    assert_eq!(b.current_revision().await.unwrap(), 5);
}

async fn conditional_writes(b: Arc<dyn Backend>) {
    let r1 = b.create("/k", val("v1")).await.unwrap();
    assert_eq!(
        b.create("/k", val("v2")).await,
        Err(StoreError::AlreadyExists { key: "/k".into() })
    );
    assert_eq!(
        b.update("/missing", val("v"), 1).await,
        Err(StoreError::NotFound {
            key: "/missing".into()
        })
    );
    assert_eq!(
        b.delete("/missing", 1).await,
        Err(StoreError::NotFound {
            key: "/missing".into()
        })
    );
    assert_eq!(
        b.update("/k", val("v2"), r1 + 7).await,
        Err(StoreError::Conflict {
            key: "/k".into(),
            expected: r1 + 7,
            actual: r1
        })
    );
    let r2 = b.update("/k", val("v2"), r1).await.unwrap();
    assert_eq!(b.get("/k").await.unwrap(), Some(kv("/k", "v2", r1, r2)));
    assert_eq!(
        b.delete("/k", r1).await,
        Err(StoreError::Conflict {
            key: "/k".into(),
            expected: r1,
            actual: r2
        })
    );
    let r3 = b.delete("/k", r2).await.unwrap();
    assert_eq!(b.get("/k").await.unwrap(), None);
    assert_eq!(
        b.update("/k", val("v3"), r2).await,
        Err(StoreError::NotFound { key: "/k".into() })
    );
    assert_eq!(
        b.delete("/k", r3).await,
        Err(StoreError::NotFound { key: "/k".into() })
    );
    // A new incarnation has its own create revision.
    let r4 = b.create("/k", val("v4")).await.unwrap();
    assert_eq!(b.get("/k").await.unwrap(), Some(kv("/k", "v4", r4, r4)));
}

/// Writes a history over a few keys and returns the expected state after each revision.
async fn build_history(b: &Arc<dyn Backend>) -> Vec<BTreeMap<String, KeyValue>> {
    let mut states = vec![BTreeMap::new()];
    let mut state: BTreeMap<String, KeyValue> = BTreeMap::new();
    for step in 0..30_i64 {
        let key = format!("/registry/pods/ns/p{}", step % 4);
        let value = format!("v{step}");
        let revision = match state.get(&key).cloned() {
            None => b.create(&key, val(&value)).await.unwrap(),
            Some(old) if step % 3 == 0 => {
                let revision = b.delete(&key, old.mod_revision).await.unwrap();
                state.remove(&key);
                states.push(state.clone());
                assert_eq!(revision, states.len() as i64 - 1);
                continue;
            }
            Some(old) => b.update(&key, val(&value), old.mod_revision).await.unwrap(),
        };
        let create_revision = state.get(&key).map_or(revision, |old| old.create_revision);
        state.insert(key.clone(), kv(&key, &value, create_revision, revision));
        states.push(state.clone());
        assert_eq!(revision, states.len() as i64 - 1);
    }
    states
}

async fn range_at_past_revisions(b: Arc<dyn Backend>) {
    let states = build_history(&b).await;
    let current = states.len() as i64 - 1;
    for (revision, state) in states.iter().enumerate() {
        let revision = revision as i64;
        let (kvs, at) = b.range("/registry/", Some(revision)).await.unwrap();
        assert_eq!(at, revision);
        assert_eq!(
            kvs,
            state.values().cloned().collect::<Vec<_>>(),
            "at {revision}"
        );
    }
    let (kvs, at) = b.range("", None).await.unwrap();
    assert_eq!(at, current);
    assert_eq!(
        kvs,
        states[current as usize]
            .values()
            .cloned()
            .collect::<Vec<_>>()
    );
    assert_eq!(
        b.range("", Some(current + 1)).await,
        Err(StoreError::FutureRevision {
            requested: current + 1,
            current
        })
    );
}

async fn prefix_isolation(b: Arc<dyn Backend>) {
    for key in [
        "/registry/pods",
        "/registry/pods/default/web",
        "/registry/pods/kube-system/dns",
        "/registry/podpresets/default/x",
        "/registry/pods0",
        "/registry/pods/é/ü",
        "/registry/q",
    ] {
        b.create(key, val(key)).await.unwrap();
    }
    let keys = |kvs: Vec<KeyValue>| kvs.into_iter().map(|kv| kv.key).collect::<Vec<_>>();
    let (pods, _) = b.range("/registry/pods/", None).await.unwrap();
    assert_eq!(
        keys(pods),
        [
            "/registry/pods/default/web",
            "/registry/pods/kube-system/dns",
            "/registry/pods/é/ü"
        ]
    );
    let (pods, _) = b.range("/registry/pods/", Some(7)).await.unwrap();
    assert_eq!(pods.len(), 3);
    // Without the slash, the prefix is a plain byte prefix, as in etcd.
    let (loose, _) = b.range("/registry/pod", None).await.unwrap();
    assert_eq!(loose.len(), 6);
    let (accented, _) = b.range("/registry/pods/é", None).await.unwrap();
    assert_eq!(keys(accented), ["/registry/pods/é/ü"]);
    let (exact, _) = b.range("/registry/pods", None).await.unwrap();
    assert_eq!(exact.len(), 5);
    let (nothing, _) = b.range("/registry/pods/none/", None).await.unwrap();
    assert!(nothing.is_empty());

    let mut pods = b.watch("/registry/pods/", 0);
    let events = take(&mut pods, 3).await;
    assert_eq!(revisions_of(&events), [2, 3, 6]);
    b.create("/registry/podpresets/default/y", val("y"))
        .await
        .unwrap();
    let r = b
        .create("/registry/pods/default/db", val("db"))
        .await
        .unwrap();
    let events = take(&mut pods, 1).await;
    assert_eq!(revisions_of(&events), [r]);
    quiet(&mut pods).await;
}

async fn watch_history_then_live(b: Arc<dyn Backend>) {
    let r1 = b.create("/w/a", val("a1")).await.unwrap();
    let r2 = b.update("/w/a", val("a2"), r1).await.unwrap();
    let r3 = b.create("/w/b", val("b1")).await.unwrap();
    let r4 = b.delete("/w/a", r2).await.unwrap();

    let mut watch = b.watch("/w/", r1);
    let history = take(&mut watch, 3).await;
    let history: Vec<_> = history.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        history,
        [
            BackendEvent::Put {
                kv: kv("/w/a", "a2", r1, r2),
                prev: Some(kv("/w/a", "a1", r1, r1)),
            },
            BackendEvent::Put {
                kv: kv("/w/b", "b1", r3, r3),
                prev: None
            },
            BackendEvent::Delete {
                prev: kv("/w/a", "a2", r1, r2),
                revision: r4
            },
        ]
    );
    let r5 = b.update("/w/b", val("b2"), r3).await.unwrap();
    let r6 = b.create("/w/a", val("a3")).await.unwrap();
    let live: Vec<_> = take(&mut watch, 2)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        live,
        [
            BackendEvent::Put {
                kv: kv("/w/b", "b2", r3, r5),
                prev: Some(kv("/w/b", "b1", r3, r3)),
            },
            BackendEvent::Put {
                kv: kv("/w/a", "a3", r6, r6),
                prev: None
            },
        ]
    );
    quiet(&mut watch).await;

    // A watch from beyond the current revision waits for it.
    let mut future = b.watch("/w/", r6 + 2);
    b.create("/w/c", val("c")).await.unwrap();
    b.create("/w/d", val("d")).await.unwrap();
    let r9 = b.create("/w/e", val("e")).await.unwrap();
    assert_eq!(revisions_of(&take(&mut future, 1).await), [r9]);
}

async fn watch_without_gaps(b: Arc<dyn Backend>) {
    const WRITERS: usize = 4;
    const WRITES: usize = 150;
    let total = (WRITERS * WRITES) as i64;
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let b = b.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..WRITES {
                b.create(&format!("/g/{w}/{i}"), val("x")).await.unwrap();
            }
        }));
    }
    // Watches that start while the writes go on, each from where the store is then.
    let mut watches = Vec::new();
    for _ in 0..10 {
        let after = b.current_revision().await.unwrap();
        watches.push((after, b.watch("", after)));
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    for writer in writers {
        writer.await.unwrap();
    }
    for (after, mut watch) in watches {
        let events = take(&mut watch, (total - after) as usize).await;
        let expected: Vec<Revision> = (after + 1..=total).collect();
        assert_eq!(revisions_of(&events), expected, "watch after {after}");
        quiet(&mut watch).await;
    }
}

/// A watcher that does not read while many commits go by still gets every event.
async fn watch_catches_up_after_lagging(b: Arc<dyn Backend>) {
    let mut watch = b.watch("/lag/", 0);
    let n = crate::feed::FEED_CAPACITY + 200;
    for i in 0..n {
        b.create(&format!("/lag/{i:05}"), val("x")).await.unwrap();
    }
    let events = take(&mut watch, n).await;
    assert_eq!(revisions_of(&events), (1..=n as i64).collect::<Vec<_>>());
    quiet(&mut watch).await;
}

async fn compaction(b: Arc<dyn Backend>) {
    let states = build_history(&b).await;
    let current = states.len() as i64 - 1;
    let target = current - 10;
    assert_eq!(b.compacted_revision().await.unwrap(), 0);
    b.compact(target).await.unwrap();
    assert_eq!(b.compacted_revision().await.unwrap(), target);
    assert_eq!(b.current_revision().await.unwrap(), current);

    assert_eq!(
        b.range("", Some(target - 1)).await,
        Err(StoreError::Compacted {
            requested: target - 1,
            compacted: target
        })
    );
    for revision in target..=current {
        let (kvs, _) = b.range("", Some(revision)).await.unwrap();
        assert_eq!(
            kvs,
            states[revision as usize]
                .values()
                .cloned()
                .collect::<Vec<_>>(),
            "at {revision}"
        );
    }
    let mut old = b.watch("", target - 1);
    assert_eq!(
        take(&mut old, 1).await,
        [Err(StoreError::Compacted {
            requested: target - 1,
            compacted: target
        })]
    );
    assert!(old.next().await.is_none());
    let mut watch = b.watch("", target);
    let events = take(&mut watch, 10).await;
    assert_eq!(
        revisions_of(&events),
        (target + 1..=current).collect::<Vec<_>>()
    );

    assert_eq!(
        b.compact(target).await,
        Err(StoreError::Compacted {
            requested: target,
            compacted: target
        })
    );
    assert_eq!(
        b.compact(current + 1).await,
        Err(StoreError::FutureRevision {
            requested: current + 1,
            current
        })
    );
    // Compacting everything, even when the newest write was a delete, keeps the revision.
    let last = states[current as usize].values().next().cloned().unwrap();
    let deleted = b.delete(&last.key, last.mod_revision).await.unwrap();
    b.compact(deleted).await.unwrap();
    assert_eq!(b.current_revision().await.unwrap(), deleted);
    let (kvs, at) = b.range("", None).await.unwrap();
    assert_eq!(at, deleted);
    assert_eq!(kvs.len(), states[current as usize].len() - 1);
    assert_eq!(b.create("/next", val("n")).await.unwrap(), deleted + 1);
    // The events after the compaction are still served.
    let mut after = b.watch("", deleted);
    assert_eq!(revisions_of(&take(&mut after, 1).await), [deleted + 1]);
}

async fn closing_ends_watches(b: Arc<dyn Backend>) {
    b.create("/c/a", val("a")).await.unwrap();
    let mut watch = b.watch("/c/", 0);
    assert_eq!(revisions_of(&take(&mut watch, 1).await), [1]);
    drop(b);
    let end = tokio::time::timeout(Duration::from_secs(10), watch.next())
        .await
        .expect("watch ends");
    assert!(end.is_none(), "{end:?}");
}

macro_rules! conformance {
    ($name:ident, $make:expr) => {
        mod $name {
            use super::*;

            conformance!(@tests $make;
                revisions, conditional_writes, range_at_past_revisions, prefix_isolation,
                watch_history_then_live, watch_catches_up_after_lagging, compaction,
                closing_ends_watches);

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn watch_without_gaps() {
                let (backend, _dir) = $make;
                super::watch_without_gaps(backend).await;
            }
        }
    };
    (@tests $make:expr; $($test:ident),*) => {
        $(
            #[tokio::test]
            async fn $test() {
                let (backend, _dir) = $make;
                super::$test(backend).await;
            }
        )*
    };
}

fn memory() -> (Arc<dyn Backend>, ()) {
    (Arc::new(MemoryBackend::new()), ())
}

pub(crate) fn sqlite_in(dir: &tempfile::TempDir, durability: Durability) -> Arc<dyn Backend> {
    Arc::new(SqliteBackend::open(&dir.path().join("store.db"), durability).unwrap())
}

fn sqlite(durability: Durability) -> (Arc<dyn Backend>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (sqlite_in(&dir, durability), dir)
}

conformance!(memory_backend, memory());
conformance!(sqlite_backend, sqlite(Durability::Normal));
conformance!(sqlite_backend_full, sqlite(Durability::Full));

mod sqlite_only {
    use super::*;

    async fn snapshot(
        b: &Arc<dyn Backend>,
    ) -> (Revision, Revision, Vec<Vec<KeyValue>>, Vec<BackendEvent>) {
        let current = b.current_revision().await.unwrap();
        let compacted = b.compacted_revision().await.unwrap();
        let mut ranges = Vec::new();
        for at in compacted..=current {
            ranges.push(b.range("", Some(at)).await.unwrap().0);
        }
        let mut watch = b.watch("", compacted);
        let history = take(&mut watch, (current - compacted) as usize)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        (current, compacted, ranges, history)
    }

    #[tokio::test]
    async fn reopen_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        let b = sqlite_in(&dir, Durability::Full);
        build_history(&b).await;
        b.compact(12).await.unwrap();
        let first = b.get("/registry/pods/ns/p1").await.unwrap();
        let before = snapshot(&b).await;
        // No close call: dropping is all a crash-free shutdown does.
        drop(b);

        let b = sqlite_in(&dir, Durability::Full);
        assert_eq!(snapshot(&b).await, before);
        assert_eq!(b.get("/registry/pods/ns/p1").await.unwrap(), first);
        let (current, ..) = before;
        assert_eq!(b.create("/new", val("n")).await.unwrap(), current + 1);
        // Conditions work from the reloaded index.
        let p1 = first.unwrap();
        assert_eq!(
            b.create(&p1.key, val("x")).await,
            Err(StoreError::AlreadyExists {
                key: p1.key.clone()
            })
        );
        b.update(&p1.key, val("y"), p1.mod_revision).await.unwrap();
    }

    #[tokio::test]
    async fn reopen_after_compacting_away_a_trailing_delete() {
        let dir = tempfile::tempdir().unwrap();
        let b = sqlite_in(&dir, Durability::Normal);
        let r1 = b.create("/a", val("a")).await.unwrap();
        let r2 = b.delete("/a", r1).await.unwrap();
        b.compact(r2).await.unwrap();
        drop(b);
        let b = sqlite_in(&dir, Durability::Normal);
        assert_eq!(b.current_revision().await.unwrap(), r2);
        assert_eq!(b.compacted_revision().await.unwrap(), r2);
        assert_eq!(b.range("", None).await.unwrap(), (vec![], r2));
        assert_eq!(b.create("/a", val("again")).await.unwrap(), r2 + 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn group_commit_under_concurrent_writers() {
        let dir = tempfile::tempdir().unwrap();
        let b = sqlite_in(&dir, Durability::Full);
        let mut tasks = Vec::new();
        for w in 0..8 {
            let b = b.clone();
            tasks.push(tokio::spawn(async move {
                let mut revisions = Vec::new();
                for i in 0..50 {
                    let key = format!("/c/{w}/{i}");
                    revisions.push(b.create(&key, val("v")).await.unwrap());
                    // Every writer also races the others for one shared key.
                    let _ = b.create("/c/shared", val(&key)).await;
                }
                revisions
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 400);
        // 400 creates and exactly one winner of the shared key.
        assert_eq!(b.current_revision().await.unwrap(), 401);
        let (kvs, _) = b.range("/c/", None).await.unwrap();
        assert_eq!(kvs.len(), 401);
    }

    /// The environment variable that turns the crash test into the child that gets killed.
    const CRASH_CHILD: &str = "K4T_STORE_CRASH_CHILD";

    /// The child writes until it is killed, printing each acknowledged revision; the parent
    /// kills it with SIGKILL mid-write, reopens the file and finds every acknowledged write.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn recovers_after_sigkill() {
        if let Ok(path) = std::env::var(CRASH_CHILD) {
            let b = SqliteBackend::open(std::path::Path::new(&path), Durability::Full).unwrap();
            let b: Arc<dyn Backend> = Arc::new(b);
            let mut tasks = Vec::new();
            for w in 0..4 {
                let b = b.clone();
                tasks.push(tokio::spawn(async move {
                    for i in 0.. {
                        let key = format!("/crash/{w}/{i}");
                        let revision = b.create(&key, val(&key)).await.unwrap();
                        println!("ack {revision} {key}");
                    }
                }));
            }
            for task in tasks {
                task.await.unwrap();
            }
            return;
        }

        use std::io::BufRead;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "conformance::sqlite_only::recovers_after_sigkill",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CRASH_CHILD, &path)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        struct Kill(std::process::Child);
        impl Drop for Kill {
            fn drop(&mut self) {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }
        let stdout = child.stdout.take().unwrap();
        let mut child = Kill(child);
        let acked = tokio::task::spawn_blocking(move || {
            let mut acked = BTreeMap::new();
            for line in std::io::BufReader::new(stdout).lines() {
                let line = line.unwrap();
                let mut words = line.split_whitespace();
                if words.next() != Some("ack") {
                    continue;
                }
                let revision: Revision = words.next().unwrap().parse().unwrap();
                acked.insert(revision, words.next().unwrap().to_owned());
                if acked.len() == 2_000 {
                    break;
                }
            }
            acked
        })
        .await
        .unwrap();
        assert_eq!(acked.len(), 2_000, "the child stopped early");
        // SIGKILL, while the child is still writing.
        child.0.kill().unwrap();
        child.0.wait().unwrap();

        let b = sqlite_in(&dir, Durability::Full);
        let current = b.current_revision().await.unwrap();
        assert!(current >= 2_000, "current {current}");
        let (kvs, _) = b.range("/crash/", None).await.unwrap();
        // Revisions are contiguous and every acknowledged write is there.
        assert_eq!(kvs.len() as i64, current);
        let by_revision: BTreeMap<_, _> = kvs
            .into_iter()
            .map(|kv| (kv.mod_revision, kv.key))
            .collect();
        for (revision, key) in &acked {
            assert_eq!(by_revision.get(revision), Some(key));
        }
        assert_eq!(b.create("/after", val("a")).await.unwrap(), current + 1);
    }
}
