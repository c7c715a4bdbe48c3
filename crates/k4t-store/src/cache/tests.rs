use std::collections::BTreeMap;
use std::sync::atomic::AtomicUsize;

use futures::future::BoxFuture;
use proptest::prelude::*;

use super::*;
use crate::conformance::{quiet, sqlite_in, take, val};
use crate::memory::MemoryBackend;
use crate::sqlite::Durability;
use crate::{Attrs, Decorator};

/// Serves `value@revision` and labels the object with its value, so tests see decoration.
struct Rv;

impl Decorator for Rv {
    fn decorate(&self, _key: &str, value: &Bytes, revision: Revision) -> (Bytes, Attrs) {
        let text = String::from_utf8_lossy(value);
        let base = text.split('@').next().unwrap_or_default().to_owned();
        let mut attrs = Attrs::default();
        attrs.labels.insert("value".to_owned(), base.clone());
        (Bytes::from(format!("{base}@{revision}")), attrs)
    }
}

fn config() -> StoreConfig {
    StoreConfig {
        event_history: 100,
        event_history_min: 100,
        event_fresh: Duration::from_secs(75),
        compact_interval: Duration::ZERO,
        compact_keep: 0,
        watcher_buffer: 1000,
    }
}

async fn open(backend: Arc<dyn Backend>, config: StoreConfig) -> Arc<Store> {
    Store::open(backend, Arc::new(Rv), config).await.unwrap()
}

fn memory() -> Arc<dyn Backend> {
    Arc::new(MemoryBackend::new())
}

fn served(object: &Object) -> String {
    String::from_utf8(object.value.to_vec()).unwrap()
}

fn keys(items: &[ObjectRef]) -> Vec<String> {
    items.iter().map(|object| object.key.clone()).collect()
}

fn watch(
    store: &Store,
    prefix: &str,
    after: Revision,
) -> BoxStream<'static, Result<Arc<WatchEvent>>> {
    store.watch(prefix, after).unwrap().boxed()
}

fn summary(events: &[Result<Arc<WatchEvent>>]) -> Vec<(WatchEventType, String, Revision)> {
    events
        .iter()
        .map(|event| {
            let event = event.as_ref().unwrap();
            (event.ty, event.object.key.clone(), event.revision)
        })
        .collect()
}

#[tokio::test]
async fn open_loads_and_decorates_the_backend_state() {
    let backend = memory();
    backend.create("/r/a", val("a")).await.unwrap();
    backend.create("/r/b", val("b")).await.unwrap();
    backend.update("/r/a", val("a2"), 1).await.unwrap();
    let store = open(backend, config()).await;
    assert_eq!(store.revision(), 3);
    let a = store.get("/r/a").unwrap();
    assert_eq!(served(&a), "a2@3");
    assert_eq!((a.create_revision, a.mod_revision), (1, 3));
    assert_eq!(a.attrs.labels["value"], "a2");
    let list = store.list(ListOptions::prefix("/r/")).await.unwrap();
    assert_eq!(keys(&list.items), ["/r/a", "/r/b"]);
    assert_eq!(list.revision, 3);
    assert_eq!(list.continue_after, None);
}

#[tokio::test]
async fn writes_return_the_cached_object() {
    let store = open(memory(), config()).await;
    let mut events = watch(&store, "/w/", 0);
    let created = store.create("/w/a", val("x")).await.unwrap();
    assert_eq!(served(&created), "x@1");
    assert!(Arc::ptr_eq(&created, &store.get("/w/a").unwrap()));
    let updated = store.update("/w/a", val("y"), 1).await.unwrap();
    assert_eq!(served(&updated), "y@2");
    assert_eq!((updated.create_revision, updated.mod_revision), (1, 2));
    let deleted = store.delete("/w/a", 2).await.unwrap();
    // The last state, decorated at the deletion revision.
    assert_eq!(served(&deleted), "y@3");
    assert_eq!(deleted.mod_revision, 3);
    assert!(store.get("/w/a").is_none());

    let events = take(&mut events, 3).await;
    let events: Vec<_> = events.into_iter().map(Result::unwrap).collect();
    assert_eq!(events[0].ty, WatchEventType::Added);
    assert!(events[0].prev.is_none());
    assert!(Arc::ptr_eq(&events[0].object, &created));
    assert_eq!(events[1].ty, WatchEventType::Modified);
    assert!(Arc::ptr_eq(events[1].prev.as_ref().unwrap(), &created));
    assert_eq!(events[2].ty, WatchEventType::Deleted);
    assert!(Arc::ptr_eq(&events[2].object, &deleted));
    assert!(Arc::ptr_eq(events[2].prev.as_ref().unwrap(), &updated));

    // Backend errors come through unchanged, and consume no revision.
    store.create("/w/b", val("b")).await.unwrap();
    assert_eq!(
        store.create("/w/b", val("b")).await,
        Err(StoreError::AlreadyExists { key: "/w/b".into() })
    );
    assert_eq!(
        store.update("/w/b", val("c"), 1).await,
        Err(StoreError::Conflict {
            key: "/w/b".into(),
            expected: 1,
            actual: 4
        })
    );
    assert_eq!(
        store.delete("/w/none", 1).await,
        Err(StoreError::NotFound {
            key: "/w/none".into()
        })
    );
    assert_eq!(store.revision(), 4);
}

#[tokio::test]
async fn list_limits_and_continues_at_the_first_pages_revision() {
    let store = open(memory(), config()).await;
    for i in 0..25 {
        store
            .create(&format!("/l/{i:02}"), val(&format!("v{}", i % 2)))
            .await
            .unwrap();
    }
    store.create("/m/other", val("x")).await.unwrap();
    let first = store
        .list(ListOptions {
            limit: Some(10),
            ..ListOptions::prefix("/l/")
        })
        .await
        .unwrap();
    assert_eq!(first.items.len(), 10);
    assert_eq!(first.continue_after.as_deref(), Some("/l/09"));
    assert_eq!(first.remaining, Some(15));
    assert_eq!(first.revision, 26);

    // Changes after the first page do not show in the next ones.
    store.delete("/l/15", 16).await.unwrap();
    store.create("/l/99", val("new")).await.unwrap();
    store.update("/l/20", val("changed"), 21).await.unwrap();

    let second = store
        .list(ListOptions {
            at: Some(first.revision),
            start_after: first.continue_after.as_deref(),
            limit: Some(10),
            ..ListOptions::prefix("/l/")
        })
        .await
        .unwrap();
    assert_eq!(
        keys(&second.items),
        (10..20).map(|i| format!("/l/{i}")).collect::<Vec<_>>()
    );
    assert_eq!(second.remaining, Some(5));
    let third = store
        .list(ListOptions {
            at: Some(first.revision),
            start_after: second.continue_after.as_deref(),
            limit: Some(10),
            ..ListOptions::prefix("/l/")
        })
        .await
        .unwrap();
    assert_eq!(third.items.len(), 5);
    assert_eq!(served(&third.items[0]), "v0@21");
    assert_eq!(third.continue_after, None);
    assert_eq!(third.remaining, None);

    // A limit equal to what is left is not cut short.
    let exact = store
        .list(ListOptions {
            limit: Some(25),
            ..ListOptions::prefix("/l/")
        })
        .await
        .unwrap();
    assert_eq!(exact.continue_after, None);

    // With a filter, the limit counts matches, and the remainder is not counted.
    let odd = |object: &Object| object.attrs.labels["value"] == "v1";
    let filtered = store
        .list(ListOptions {
            limit: Some(3),
            filter: Some(&odd),
            ..ListOptions::prefix("/l/")
        })
        .await
        .unwrap();
    assert_eq!(keys(&filtered.items), ["/l/01", "/l/03", "/l/05"]);
    assert_eq!(filtered.continue_after.as_deref(), Some("/l/05"));
    assert_eq!(filtered.remaining, None);
}

#[tokio::test]
async fn list_at_past_revisions_from_ring_and_backend() {
    for event_history in [100, 2] {
        let backend = memory();
        let store = open(
            backend.clone(),
            StoreConfig {
                event_history,
                ..config()
            },
        )
        .await;
        let mut expected = vec![Vec::<String>::new()];
        let mut live = BTreeMap::new();
        for i in 0..12 {
            let key = format!("/p/{}", i % 5);
            match live.get(&key).copied() {
                Some(revision) if i % 2 == 0 => {
                    store.delete(&key, revision).await.unwrap();
                    live.remove(&key);
                }
                Some(revision) => {
                    let object = store.update(&key, val(&key), revision).await.unwrap();
                    live.insert(key, object.mod_revision);
                }
                None => {
                    let object = store.create(&key, val(&key)).await.unwrap();
                    live.insert(key, object.mod_revision);
                }
            }
            expected.push(
                live.iter()
                    .map(|(key, revision)| format!("{key}@{revision}"))
                    .collect(),
            );
        }
        for (revision, expected) in expected.iter().enumerate() {
            let list = store
                .list(ListOptions {
                    at: Some(revision as i64),
                    ..ListOptions::prefix("/p/")
                })
                .await
                .unwrap();
            assert_eq!(list.revision, revision as i64);
            let got: Vec<_> = list
                .items
                .iter()
                .map(|object| format!("{}@{}", object.key, object.mod_revision))
                .collect();
            assert_eq!(&got, expected, "at {revision}, ring of {event_history}");
        }
        backend.compact(6).await.unwrap();
        if event_history == 2 {
            assert_eq!(
                store
                    .list(ListOptions {
                        at: Some(3),
                        ..ListOptions::prefix("/p/")
                    })
                    .await
                    .unwrap_err(),
                StoreError::Compacted {
                    requested: 3,
                    compacted: 6
                }
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn list_at_a_future_revision_waits_then_fails() {
    let store = open(memory(), config()).await;
    store.create("/f/a", val("a")).await.unwrap();
    assert_eq!(
        store
            .list(ListOptions {
                at: Some(5),
                ..ListOptions::prefix("/f/")
            })
            .await
            .unwrap_err(),
        StoreError::FutureRevision {
            requested: 5,
            current: 1
        }
    );
}

#[tokio::test(start_paused = true)]
async fn old_events_leave_the_ring_down_to_its_lower_bound() {
    let backend = memory();
    let store = open(
        backend.clone(),
        StoreConfig {
            event_history_min: 3,
            ..config()
        },
    )
    .await;
    let ring = |store: &Store| store.shared.state.lock().ring.len();
    for i in 0..10 {
        store
            .create(&format!("/burst/{i}"), val("b"))
            .await
            .unwrap();
    }
    assert_eq!(ring(&store), 10, "fresh events stay, above the lower bound");
    tokio::time::advance(Duration::from_secs(76)).await;
    let last = store.create("/after", val("a")).await.unwrap();
    assert_eq!(
        ring(&store),
        3,
        "stale events are dropped down to the lower bound"
    );
    // A watch from before the ring still sees every event, replayed from the backend.
    let mut events = watch(&store, "", 0);
    let got = take(&mut events, last.mod_revision as usize).await;
    assert_eq!(
        summary(&got).iter().map(|s| s.2).collect::<Vec<_>>(),
        (1..=last.mod_revision).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn watch_from_the_past_replays_the_backend_then_joins_the_ring() {
    let backend = memory();
    let store = open(
        backend.clone(),
        StoreConfig {
            event_history: 5,
            ..config()
        },
    )
    .await;
    let mut revision = 0;
    for i in 0..20 {
        let key = format!("/h/{}", i % 3);
        revision = match store.get(&key) {
            Some(object) => store.update(&key, val("u"), object.mod_revision).await,
            None => store.create(&key, val("c")).await,
        }
        .unwrap()
        .mod_revision;
    }
    assert_eq!(revision, 20);
    for after in [0, 2, 14, 15, 19, 20] {
        let current = store.revision();
        let mut events = watch(&store, "", after);
        let got = take(&mut events, (current - after) as usize).await;
        let summary = summary(&got);
        assert_eq!(
            summary.iter().map(|s| s.2).collect::<Vec<_>>(),
            (after + 1..=current).collect::<Vec<_>>()
        );
        for (ty, _, revision) in summary.iter().filter(|s| s.2 <= 20) {
            let expected = if *revision <= 3 {
                WatchEventType::Added
            } else {
                WatchEventType::Modified
            };
            assert_eq!(*ty, expected, "at {revision}");
        }
        // Then live, without a gap or a duplicate.
        let object = store
            .create(&format!("/live/{after}"), val("l"))
            .await
            .unwrap();
        let next = take(&mut events, 1).await;
        assert_eq!(summary_of_one(&next), object.mod_revision);
        quiet(&mut events).await;
        store
            .delete(&object.key, object.mod_revision)
            .await
            .unwrap();
        let next = take(&mut events, 1).await;
        assert_eq!(next[0].as_ref().unwrap().ty, WatchEventType::Deleted);
    }
    // Replays keep to the prefix.
    let mut only = watch(&store, "/h/1", 0);
    let got = take(&mut only, 7).await;
    assert!(summary(&got).iter().all(|(_, key, _)| key == "/h/1"));

    // Compacted behind the cache's back: the replay reports it.
    backend.compact(10).await.unwrap();
    let mut replay = watch(&store, "", 3);
    assert_eq!(
        take(&mut replay, 1).await[0].as_ref().unwrap_err(),
        &StoreError::Compacted {
            requested: 3,
            compacted: 10
        }
    );
    assert!(replay.next().await.is_none());
    // Compacted by the cache's compactor (keeping nothing): the watch is refused.
    store.shared.compact_once().await;
    let current = store.revision();
    assert_eq!(store.compacted_revision(), current);
    assert!(matches!(
        store.watch("", 3),
        Err(StoreError::Compacted { requested: 3, compacted }) if compacted == current
    ));
    // The ring holds older events, but compacted history is gone for every watcher.
    assert!(store.watch("", current - 1).is_err());
    assert!(store.watch("", current).is_ok());
}

fn summary_of_one(events: &[Result<Arc<WatchEvent>>]) -> Revision {
    events[0].as_ref().unwrap().revision
}

#[tokio::test]
async fn watch_from_a_future_revision_waits_for_it() {
    let store = open(memory(), config()).await;
    let mut events = watch(&store, "/x/", 2);
    for key in ["/x/a", "/x/b", "/x/c"] {
        store.create(key, val("v")).await.unwrap();
    }
    let got = take(&mut events, 1).await;
    assert_eq!(summary(&got), [(WatchEventType::Added, "/x/c".into(), 3)]);
}

#[tokio::test]
async fn extreme_configurations_work() {
    let store = open(
        memory(),
        StoreConfig {
            event_history: 0,
            event_history_min: 0,
            event_fresh: Duration::MAX,
            compact_interval: Duration::MAX,
            compact_keep: i64::MIN,
            watcher_buffer: 0,
        },
    )
    .await;
    // Without a ring, writes still get their own event's object.
    let a = store.create("/e/a", val("a")).await.unwrap();
    assert_eq!(served(&a), "a@1");
    let a = store.update("/e/a", val("b"), 1).await.unwrap();
    assert_eq!(served(&a), "b@2");
    assert_eq!(served(&store.delete("/e/a", 2).await.unwrap()), "b@3");
    // Watches from the past replay the backend; a buffer of one still delivers.
    let mut events = watch(&store, "/e/", 0);
    assert_eq!(take(&mut events, 3).await.len(), 3);
    store.create("/e/b", val("b")).await.unwrap();
    assert_eq!(summary_of_one(&take(&mut events, 1).await), 4);
    // A negative number of revisions to keep keeps none.
    store.shared.compact_once().await;
    assert_eq!(store.compacted_revision(), 4);
}

#[tokio::test]
async fn watches_keep_to_their_prefix() {
    let store = open(memory(), config()).await;
    let mut pods = watch(&store, "/registry/pods/", 0);
    store
        .create("/registry/podpresets/default/p", val("p"))
        .await
        .unwrap();
    store
        .create("/registry/pods/default/web", val("w"))
        .await
        .unwrap();
    let got = take(&mut pods, 1).await;
    assert_eq!(
        got[0].as_ref().unwrap().object.key,
        "/registry/pods/default/web"
    );
    quiet(&mut pods).await;
    let list = store
        .list(ListOptions::prefix("/registry/pods/"))
        .await
        .unwrap();
    assert_eq!(keys(&list.items), ["/registry/pods/default/web"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_watcher_is_cut_off_while_fast_ones_keep_going() {
    let store = open(
        memory(),
        StoreConfig {
            watcher_buffer: 8,
            ..config()
        },
    )
    .await;
    let mut slow = watch(&store, "", 0);
    let mut fast: Vec<_> = (0..3).map(|_| watch(&store, "", 0)).collect();
    for i in 0..50 {
        let object = store.create(&format!("/s/{i:02}"), val("v")).await.unwrap();
        for events in &mut fast {
            let got = take(events, 1).await;
            assert_eq!(got[0].as_ref().unwrap().revision, object.mod_revision);
        }
    }
    // The slow one gets what was buffered, then the error, then the end.
    let got = take(&mut slow, 9).await;
    for (i, event) in got[..8].iter().enumerate() {
        assert_eq!(event.as_ref().unwrap().revision, i as i64 + 1);
    }
    assert_eq!(
        got[8].as_ref().unwrap_err(),
        &StoreError::Backend(FELL_BEHIND.to_owned())
    );
    assert!(slow.next().await.is_none());
    assert!(store.shared.state.lock().watchers.len() <= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let backend = sqlite_in(&dir, Durability::Normal);
    let store = open(backend.clone(), config()).await;
    let mut all = watch(&store, "", 0);
    let mut tasks = Vec::new();
    for w in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..40 {
                let key = format!("/cw/{w}/{i}");
                let created = store.create(&key, val("a")).await.unwrap();
                assert_eq!(served(&created), format!("a@{}", created.mod_revision));
                let updated = store
                    .update(&key, val("b"), created.mod_revision)
                    .await
                    .unwrap();
                assert_eq!(updated.create_revision, created.mod_revision);
                assert!(updated.mod_revision > created.mod_revision);
                if i % 4 == 0 {
                    let deleted = store.delete(&key, updated.mod_revision).await.unwrap();
                    assert_eq!(served(&deleted), format!("b@{}", deleted.mod_revision));
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let total = 8 * (40 + 40 + 10);
    assert_eq!(store.revision(), total);
    let events = take(&mut all, total as usize).await;
    assert_eq!(
        events
            .iter()
            .map(|e| e.as_ref().unwrap().revision)
            .collect::<Vec<_>>(),
        (1..=total).collect::<Vec<_>>()
    );
    let (kvs, revision) = backend.range("", None).await.unwrap();
    let list = store.list(ListOptions::default()).await.unwrap();
    assert_eq!(list.revision, revision);
    assert_eq!(
        keys(&list.items),
        kvs.iter().map(|kv| kv.key.clone()).collect::<Vec<_>>()
    );
    assert_eq!(list.items.len(), 8 * 30);
}

#[tokio::test(start_paused = true)]
async fn the_compactor_keeps_the_configured_history() {
    let backend = memory();
    let store = open(
        backend.clone(),
        StoreConfig {
            compact_interval: Duration::from_secs(60),
            compact_keep: 5,
            ..config()
        },
    )
    .await;
    for i in 0..20 {
        store.create(&format!("/c/{i}"), val("v")).await.unwrap();
    }
    tokio::time::sleep(Duration::from_secs(59)).await;
    assert_eq!(backend.compacted_revision().await.unwrap(), 0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(backend.compacted_revision().await.unwrap(), 15);
    assert_eq!(store.compacted_revision(), 15);
    // Nothing new: the next round leaves it.
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(backend.compacted_revision().await.unwrap(), 15);
    store.create("/c/new", val("v")).await.unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(backend.compacted_revision().await.unwrap(), 16);
    // History before the compaction is gone even though the ring still holds it; what is
    // after it is served from the ring.
    assert!(matches!(
        store.watch("/c/", 10),
        Err(StoreError::Compacted {
            requested: 10,
            compacted: 16
        })
    ));
    let mut events = watch(&store, "/c/", 16);
    assert_eq!(take(&mut events, 5).await.len(), 5);
}

/// A backend whose watches can be broken off with a `Compacted` error, like a watch that lost
/// a race with compaction.
struct Breakable {
    inner: MemoryBackend,
    breaks: watch::Sender<usize>,
    watches: AtomicUsize,
}

impl Backend for Breakable {
    fn current_revision(&self) -> BoxFuture<'_, Result<Revision>> {
        self.inner.current_revision()
    }
    fn create(&self, key: &str, value: Bytes) -> BoxFuture<'_, Result<Revision>> {
        self.inner.create(key, value)
    }
    fn update(
        &self,
        key: &str,
        value: Bytes,
        expected: Revision,
    ) -> BoxFuture<'_, Result<Revision>> {
        self.inner.update(key, value, expected)
    }
    fn delete(&self, key: &str, expected: Revision) -> BoxFuture<'_, Result<Revision>> {
        self.inner.delete(key, expected)
    }
    fn get(&self, key: &str) -> BoxFuture<'_, Result<Option<KeyValue>>> {
        self.inner.get(key)
    }
    fn range(
        &self,
        prefix: &str,
        at: Option<Revision>,
    ) -> BoxFuture<'_, Result<(Vec<KeyValue>, Revision)>> {
        self.inner.range(prefix, at)
    }
    fn watch(&self, prefix: &str, after: Revision) -> BoxStream<'static, Result<BackendEvent>> {
        self.watches.fetch_add(1, Ordering::SeqCst);
        let mut broken = self.breaks.subscribe();
        broken.mark_unchanged();
        let error = StoreError::Compacted {
            requested: after,
            compacted: after + 1,
        };
        self.inner
            .watch(prefix, after)
            .take_until(async move {
                let _ = broken.changed().await;
            })
            .chain(futures::stream::once(async move { Err(error) }))
            .boxed()
    }
    fn compact(&self, revision: Revision) -> BoxFuture<'_, Result<()>> {
        self.inner.compact(revision)
    }
    fn compacted_revision(&self) -> BoxFuture<'_, Result<Revision>> {
        self.inner.compacted_revision()
    }
}

#[tokio::test]
async fn the_cache_relists_when_its_backend_watch_fails() {
    let backend = Arc::new(Breakable {
        inner: MemoryBackend::new(),
        breaks: watch::channel(0).0,
        watches: AtomicUsize::new(0),
    });
    let store = open(backend.clone(), config()).await;
    store.create("/b/a", val("a")).await.unwrap();
    let mut before = watch(&store, "/b/", 0);
    assert_eq!(take(&mut before, 1).await.len(), 1);

    // Writes the cache misses while its watch is broken, then the break.
    backend.inner.create("/b/missed", val("m")).await.unwrap();
    backend.breaks.send_modify(|n| *n += 1);
    let object = store.create("/b/c", val("c")).await.unwrap();
    assert_eq!(served(&object), "c@3");
    assert!(backend.watches.load(Ordering::SeqCst) >= 2);
    assert_eq!(
        keys(&store.list(ListOptions::prefix("/b/")).await.unwrap().items),
        ["/b/a", "/b/c", "/b/missed"]
    );
    // The watcher could not be told what changed: it is ended so that its client re-lists.
    let mut rest = Vec::new();
    while let Some(item) = before.next().await {
        rest.push(item);
    }
    assert!(
        matches!(rest.last(), Some(Err(StoreError::Compacted { .. }))),
        "{rest:?}"
    );
    // And the cache goes on.
    let mut after = watch(&store, "/b/", store.revision());
    store.delete("/b/a", 1).await.unwrap();
    assert_eq!(
        take(&mut after, 1).await[0].as_ref().unwrap().ty,
        WatchEventType::Deleted
    );
}

#[tokio::test]
async fn dropping_the_store_ends_its_watches() {
    let store = open(memory(), config()).await;
    store.create("/d/a", val("a")).await.unwrap();
    let mut events = watch(&store, "", 0);
    drop(store);
    assert_eq!(take(&mut events, 1).await[0].as_ref().unwrap().revision, 1);
    assert_eq!(
        events.next().await.map(|e| e.map(|_| ())),
        Some(Err(StoreError::Closed))
    );
    assert!(events.next().await.is_none());
}

// A random sequence of writes and reads against a plain model of etcd's semantics.

#[derive(Debug, Clone)]
enum Op {
    Create(usize),
    Update(usize, bool),
    Delete(usize, bool),
    ListAt(usize),
    Compact,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..6usize).prop_map(Op::Create),
        4 => (0..6usize, any::<bool>()).prop_map(|(k, stale)| Op::Update(k, stale)),
        2 => (0..6usize, any::<bool>()).prop_map(|(k, stale)| Op::Delete(k, stale)),
        2 => any::<usize>().prop_map(Op::ListAt),
        1 => Just(Op::Compact),
    ]
}

#[derive(Default)]
struct Model {
    /// key -> (value, create revision, mod revision)
    live: BTreeMap<String, (String, Revision, Revision)>,
    revision: Revision,
    /// The served list after each revision.
    states: Vec<Vec<String>>,
}

impl Model {
    fn served(&self) -> Vec<String> {
        self.live
            .iter()
            .map(|(key, (value, create, revision))| format!("{key}={value}@{revision}/{create}"))
            .collect()
    }
    fn commit(&mut self) -> Revision {
        self.revision += 1;
        let served = self.served();
        self.states.push(served);
        self.revision
    }
}

fn rendered(items: &[ObjectRef]) -> Vec<String> {
    items
        .iter()
        .map(|o| format!("{}={}/{}", o.key, served(o), o.create_revision))
        .collect()
}

async fn run_model(backend: Arc<dyn Backend>, ops: Vec<Op>) {
    let store = open(
        backend.clone(),
        StoreConfig {
            event_history: 4,
            ..config()
        },
    )
    .await;
    let mut model = Model {
        states: vec![Vec::new()],
        ..Model::default()
    };
    let mut events = watch(&store, "/k/", 0);
    let mut compacted = 0;
    for (step, op) in ops.into_iter().enumerate() {
        let key = |k: usize| format!("/k/{k}");
        match op {
            Op::Create(k) => {
                let key = key(k);
                let value = format!("c{step}");
                let got = store.create(&key, val(&value)).await;
                if model.live.contains_key(&key) {
                    assert_eq!(got, Err(StoreError::AlreadyExists { key }));
                } else {
                    let revision = model.revision + 1;
                    model
                        .live
                        .insert(key.clone(), (value.clone(), revision, revision));
                    model.commit();
                    let got = got.unwrap();
                    assert_eq!(served(&got), format!("{value}@{revision}"));
                    assert_eq!(
                        (got.create_revision, got.mod_revision),
                        (revision, revision)
                    );
                }
            }
            Op::Update(k, stale) | Op::Delete(k, stale) if !model.live.contains_key(&key(k)) => {
                let key = key(k);
                let expected = if stale { 1 } else { model.revision };
                let got = if matches!(op, Op::Update(..)) {
                    store.update(&key, val("u"), expected).await
                } else {
                    store.delete(&key, expected).await
                };
                assert_eq!(got, Err(StoreError::NotFound { key }));
            }
            Op::Update(k, stale) => {
                let key = key(k);
                let (_, create, current) = model.live[&key].clone();
                let expected = if stale { current - 1 } else { current };
                let value = format!("u{step}");
                let got = store.update(&key, val(&value), expected).await;
                if stale {
                    assert_eq!(
                        got,
                        Err(StoreError::Conflict {
                            key,
                            expected,
                            actual: current
                        })
                    );
                } else {
                    let revision = model.revision + 1;
                    model.live.insert(key, (value.clone(), create, revision));
                    model.commit();
                    let got = got.unwrap();
                    assert_eq!(served(&got), format!("{value}@{revision}"));
                    assert_eq!((got.create_revision, got.mod_revision), (create, revision));
                }
            }
            Op::Delete(k, stale) => {
                let key = key(k);
                let (value, create, current) = model.live[&key].clone();
                let expected = if stale { current - 1 } else { current };
                let got = store.delete(&key, expected).await;
                if stale {
                    assert_eq!(
                        got,
                        Err(StoreError::Conflict {
                            key,
                            expected,
                            actual: current
                        })
                    );
                } else {
                    model.live.remove(&key);
                    let revision = model.commit();
                    let got = got.unwrap();
                    assert_eq!(served(&got), format!("{value}@{revision}"));
                    assert_eq!((got.create_revision, got.mod_revision), (create, revision));
                }
            }
            Op::ListAt(seed) => {
                let at = (seed % (model.states.len())) as Revision;
                let got = store
                    .list(ListOptions {
                        at: Some(at),
                        ..ListOptions::prefix("/k/")
                    })
                    .await;
                // The ring may still serve what the backend compacted.
                match got {
                    Ok(got) => {
                        assert_eq!(rendered(&got.items), model.states[at as usize], "at {at}");
                    }
                    Err(error) => {
                        assert!(at < compacted, "at {at}: {error}");
                        assert!(matches!(error, StoreError::Compacted { .. }), "{error}");
                    }
                }
            }
            Op::Compact => {
                if model.revision > compacted {
                    compacted = model.revision;
                    backend.compact(compacted).await.unwrap();
                }
            }
        }
        assert_eq!(store.revision(), model.revision);
        let list = store.list(ListOptions::prefix("/k/")).await.unwrap();
        assert_eq!(rendered(&list.items), model.served());
    }
    // The watch saw every change, in order, and replaying it gives the model's state.
    let got = take(&mut events, model.revision as usize).await;
    let mut replayed: BTreeMap<String, ObjectRef> = BTreeMap::new();
    for (i, event) in got.iter().enumerate() {
        let event = event.as_ref().unwrap();
        assert_eq!(event.revision, i as i64 + 1);
        let present = replayed.contains_key(&event.object.key);
        match event.ty {
            WatchEventType::Added => assert!(!present),
            WatchEventType::Modified | WatchEventType::Deleted => assert!(present),
        }
        if event.ty == WatchEventType::Deleted {
            replayed.remove(&event.object.key);
        } else {
            replayed.insert(event.object.key.clone(), event.object.clone());
        }
    }
    let replayed: Vec<_> = replayed.into_values().collect();
    assert_eq!(rendered(&replayed), model.served());
    quiet(&mut events).await;
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn the_cache_follows_a_memory_backend(ops in prop::collection::vec(op(), 1..60)) {
        runtime().block_on(run_model(memory(), ops));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn the_cache_follows_a_sqlite_backend(ops in prop::collection::vec(op(), 1..60)) {
        let dir = tempfile::tempdir().unwrap();
        runtime().block_on(run_model(sqlite_in(&dir, Durability::Normal), ops));
    }
}
