//! The watch cache: the latest state and recent events in memory, fed by the backend's watch.
//!
//! One task follows `backend.watch("", revision)` and applies each change: it decorates the
//! value once, swaps the new state in, appends the event to a ring of recent events and hands
//! it to every matching watcher, all under one lock, so a watcher registered under that lock
//! sees the ring up to some event and every later one live. Gets and lists clone the state (an
//! `imbl::OrdMap`, so a clone is O(1)) and read it without the lock.
//!
//! Invariants:
//! - the ring holds every event with a revision in (`ring_start`, `revision`], in order;
//! - an event with a revision above the floor of a pending write is kept in the ring until that
//!   write has taken its object from it;
//! - a watcher never blocks the cache: one whose buffer is full is cut off with an error.
//!
//! A watch that starts after the current revision waits for it (as etcd's does); one that starts
//! before the ring replays the backend's history and joins the ring once it reached it.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use imbl::OrdMap;
use parking_lot::Mutex;
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::{
    Backend, BackendEvent, Decorator, KeyValue, Object, ObjectRef, Result, Revision, StoreError,
};

/// Tuning of the cache and compaction.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// How many recent events the cache keeps at most for watches that start in the past.
    pub event_history: usize,
    /// Events older than [`event_fresh`](Self::event_fresh) are dropped down to this many, as
    /// Kubernetes' watch cache shrinks to its lower bound: a burst (500 pods starting) is not
    /// held in memory for long after it is over.
    pub event_history_min: usize,
    /// How long an event is kept whatever the count (Kubernetes' `eventFreshDuration`).
    pub event_fresh: Duration,
    /// How often the backend is compacted (zero: never).
    pub compact_interval: Duration,
    /// How many revisions behind the current one compaction keeps.
    pub compact_keep: i64,
    /// Events buffered per watcher before a slow watcher is cut off.
    pub watcher_buffer: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            event_history: 10_000,
            event_history_min: 1_000,
            event_fresh: Duration::from_secs(75),
            compact_interval: Duration::from_secs(300),
            compact_keep: 10_000,
            watcher_buffer: 10_000,
        }
    }
}

/// A watch event as the cache serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchEventType {
    Added,
    Modified,
    Deleted,
}

#[derive(Debug, Clone)]
pub struct WatchEvent {
    pub ty: WatchEventType,
    /// The object after the change; for `Deleted`, its last state decorated at the deletion
    /// revision.
    pub object: ObjectRef,
    /// The object before the change (for `Modified` and `Deleted`).
    pub prev: Option<ObjectRef>,
    pub revision: Revision,
}

/// What to list.
pub struct ListOptions<'a> {
    /// Key prefix, e.g. `/registry/pods/default/`.
    pub prefix: &'a str,
    /// `None`: the latest state (from the cache). `Some(rev)`: exactly at that revision (from a
    /// recent snapshot or the backend); `Compacted` if too old.
    pub at: Option<Revision>,
    /// Only keys after this one (exclusive): the position of a continue token.
    pub start_after: Option<&'a str>,
    /// At most this many items (after filtering).
    pub limit: Option<usize>,
    /// Only objects this returns true for.
    pub filter: Option<&'a (dyn Fn(&Object) -> bool + Send + Sync)>,
}

impl<'a> ListOptions<'a> {
    /// Everything under `prefix`, at the latest revision.
    pub fn prefix(prefix: &'a str) -> Self {
        Self {
            prefix,
            at: None,
            start_after: None,
            limit: None,
            filter: None,
        }
    }
}

impl Default for ListOptions<'_> {
    fn default() -> Self {
        Self::prefix("")
    }
}

/// A list answer.
#[derive(Debug, Clone)]
pub struct ListResult {
    pub items: Vec<ObjectRef>,
    /// The revision the list is at.
    pub revision: Revision,
    /// When the limit cut the list short: the last key returned (for a continue token).
    pub continue_after: Option<String>,
    /// When cut short: how many matching items remain, if known.
    pub remaining: Option<i64>,
}

/// The error a watcher that fell behind ends with.
pub const FELL_BEHIND: &str = "watcher fell behind";

/// How many list snapshots (by revision) are kept for paginated lists.
const SNAPSHOTS: usize = 32;
/// How many backend events the cache applies under one lock.
const APPLY_CHUNK: usize = 256;
/// How long a list at a revision the cache has not reached waits for it.
const FUTURE_WAIT: Duration = Duration::from_secs(3);
const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);

type Objects = OrdMap<String, ObjectRef>;

/// The cache-fronted store the API server uses.
pub struct Store {
    shared: Arc<Shared>,
    tasks: Vec<AbortHandle>,
}

struct Shared {
    backend: Arc<dyn Backend>,
    decorator: Arc<dyn Decorator>,
    config: StoreConfig,
    state: Mutex<State>,
    /// The latest revision applied to `state`.
    applied: watch::Sender<Revision>,
    /// The backend's compacted revision, as last seen.
    compacted: AtomicI64,
}

struct State {
    objects: Objects,
    revision: Revision,
    ring: VecDeque<Arc<WatchEvent>>,
    /// When each event of the ring entered it.
    ring_times: VecDeque<Instant>,
    /// The ring holds every event after this revision.
    ring_start: Revision,
    /// Floors of pending writes (revision -> count): events above the lowest stay in the ring.
    holds: BTreeMap<Revision, usize>,
    watchers: Vec<Watcher>,
    /// Most recently used first.
    snapshots: VecDeque<Snapshot>,
    closed: bool,
}

struct Watcher {
    prefix: String,
    after: Revision,
    tx: mpsc::Sender<Arc<WatchEvent>>,
    /// Why the cache ended this watcher, read by its stream after the buffered events.
    end: Arc<Mutex<Option<StoreError>>>,
}

/// The state at `revision` of the keys under `prefix`.
struct Snapshot {
    revision: Revision,
    prefix: String,
    objects: Objects,
}

/// What a write falls back to when its event is not in the ring (the cache re-listed).
enum Fallback {
    Put {
        value: Bytes,
        create_revision: Option<Revision>,
    },
    Delete {
        before: Option<ObjectRef>,
    },
}

impl Store {
    /// Loads the current state from `backend` and follows its watch.
    pub async fn open(
        backend: Arc<dyn Backend>,
        decorator: Arc<dyn Decorator>,
        config: StoreConfig,
    ) -> Result<Arc<Store>> {
        let compacted = backend.compacted_revision().await?;
        let (kvs, revision) = backend.range("", None).await?;
        let objects = decorate_all(&*decorator, kvs);
        let (applied, _) = watch::channel(revision);
        let compact_interval = config.compact_interval;
        let shared = Arc::new(Shared {
            backend,
            decorator,
            config,
            state: Mutex::new(State {
                objects,
                revision,
                ring: VecDeque::new(),
                ring_times: VecDeque::new(),
                ring_start: revision,
                holds: BTreeMap::new(),
                watchers: Vec::new(),
                snapshots: VecDeque::new(),
                closed: false,
            }),
            applied,
            compacted: AtomicI64::new(compacted),
        });
        let mut tasks = vec![tokio::spawn(follow(shared.clone())).abort_handle()];
        if !compact_interval.is_zero() {
            tasks.push(tokio::spawn(compactor(shared.clone())).abort_handle());
        }
        Ok(Arc::new(Store { shared, tasks }))
    }

    /// The latest revision the cache has applied.
    pub fn revision(&self) -> Revision {
        *self.shared.applied.borrow()
    }

    /// The backend's compacted revision, as the cache last saw it.
    pub fn compacted_revision(&self) -> Revision {
        self.shared.compacted.load(Ordering::Acquire)
    }

    /// The backend the cache follows.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.shared.backend
    }

    pub fn get(&self, key: &str) -> Option<ObjectRef> {
        self.shared.state.lock().objects.get(key).cloned()
    }

    pub async fn list(&self, opts: ListOptions<'_>) -> Result<ListResult> {
        let (snapshot, cached) = self.shared.view(opts.prefix, opts.at).await?;
        let result = paginate(&snapshot.objects, snapshot.revision, &opts);
        if result.continue_after.is_some() && !cached {
            let mut state = self.shared.state.lock();
            let kept = state
                .snapshots
                .iter()
                .any(|s| s.revision == snapshot.revision && s.prefix == snapshot.prefix);
            if !kept {
                state.snapshots.push_front(snapshot);
                state.snapshots.truncate(SNAPSHOTS);
            }
        }
        Ok(result)
    }

    /// Creates `key`; returns the object once the cache has applied the write.
    pub async fn create(&self, key: &str, value: Bytes) -> Result<ObjectRef> {
        let hold = Hold::new(&self.shared);
        let revision = self.shared.backend.create(key, value.clone()).await?;
        let fallback = Fallback::Put {
            value,
            create_revision: Some(revision),
        };
        self.shared.written(hold, key, revision, fallback).await
    }

    /// Updates `key` if its mod revision is `expected`; returns the object once the cache has
    /// applied the write.
    pub async fn update(&self, key: &str, value: Bytes, expected: Revision) -> Result<ObjectRef> {
        let hold = Hold::new(&self.shared);
        let before = self.get(key);
        let revision = self
            .shared
            .backend
            .update(key, value.clone(), expected)
            .await?;
        let fallback = Fallback::Put {
            value,
            create_revision: before.map(|object| object.create_revision),
        };
        self.shared.written(hold, key, revision, fallback).await
    }

    /// Deletes `key` if its mod revision is `expected`; returns its last state decorated at
    /// the deletion revision, once the cache has applied the delete.
    pub async fn delete(&self, key: &str, expected: Revision) -> Result<ObjectRef> {
        let hold = Hold::new(&self.shared);
        let before = self.get(key);
        let revision = self.shared.backend.delete(key, expected).await?;
        self.shared
            .written(hold, key, revision, Fallback::Delete { before })
            .await
    }

    /// Events for keys under `prefix` with a revision greater than `after`. `Compacted` if the
    /// cache and the backend no longer hold them. A watch from a revision the cache has not
    /// reached yet waits for it.
    pub fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream> {
        // History before the compacted revision is gone for everyone, even where the ring
        // still holds it: a client must see the same answer whichever server or cache it asks.
        let compacted = self.compacted_revision();
        if after < compacted {
            return Err(StoreError::Compacted {
                requested: after,
                compacted,
            });
        }
        {
            let mut state = self.shared.state.lock();
            if after >= state.ring_start {
                let buffer = self.shared.config.watcher_buffer;
                return Ok(state.register(prefix, after, buffer));
            }
        }
        Ok(WatchStream {
            inner: Inner::Replay {
                shared: self.shared.clone(),
                stream: self.shared.backend.watch(prefix, after),
                prefix: prefix.to_owned(),
                last: after,
            },
        })
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        let mut state = self.shared.state.lock();
        state.closed = true;
        for watcher in state.watchers.drain(..) {
            *watcher.end.lock() = Some(StoreError::Closed);
        }
    }
}

fn object(
    decorator: &dyn Decorator,
    key: &str,
    value: &Bytes,
    create_revision: Revision,
    revision: Revision,
) -> ObjectRef {
    let (value, attrs) = decorator.decorate(key, value, revision);
    Arc::new(Object {
        key: key.to_owned(),
        value,
        create_revision,
        mod_revision: revision,
        attrs,
    })
}

fn decorate_all(decorator: &dyn Decorator, kvs: Vec<KeyValue>) -> Objects {
    kvs.into_iter()
        .map(|kv| {
            let object = object(
                decorator,
                &kv.key,
                &kv.value,
                kv.create_revision,
                kv.mod_revision,
            );
            (kv.key, object)
        })
        .collect()
}

/// The page of `objects` that `opts` asks for.
fn paginate(objects: &Objects, revision: Revision, opts: &ListOptions<'_>) -> ListResult {
    let lower = match opts.start_after {
        Some(after) if after >= opts.prefix => Bound::Excluded(after),
        _ => Bound::Included(opts.prefix),
    };
    let mut matching = objects
        .range::<_, str>((lower, Bound::Unbounded))
        .take_while(|(key, _)| key.starts_with(opts.prefix))
        .map(|(_, object)| object)
        .filter(|object| opts.filter.is_none_or(|filter| filter(object)));
    let limit = opts.limit.filter(|limit| *limit > 0);
    let mut items = Vec::new();
    let mut more = false;
    for object in matching.by_ref() {
        if limit.is_some_and(|limit| items.len() >= limit) {
            more = true;
            break;
        }
        items.push(object.clone());
    }
    let (continue_after, remaining) = if more {
        let last = items.last().map(|object| object.key.clone());
        // Counting what a selector matches means filtering the rest: not cheap.
        let remaining = opts.filter.is_none().then(|| {
            let rest = matching.count();
            i64::try_from(rest).unwrap_or(i64::MAX).saturating_add(1)
        });
        (last, remaining)
    } else {
        (None, None)
    };
    ListResult {
        items,
        revision,
        continue_after,
        remaining,
    }
}

/// Keeps the events a write may need in the ring while it waits.
struct Hold<'a> {
    shared: &'a Shared,
    floor: Revision,
}

impl<'a> Hold<'a> {
    fn new(shared: &'a Shared) -> Self {
        let mut state = shared.state.lock();
        let floor = state.revision;
        *state.holds.entry(floor).or_default() += 1;
        Hold { shared, floor }
    }
}

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        let mut state = self.shared.state.lock();
        if let Some(count) = state.holds.get_mut(&self.floor) {
            *count -= 1;
            if *count == 0 {
                state.holds.remove(&self.floor);
            }
        }
        state.trim_ring(&self.shared.config);
    }
}

impl State {
    /// Registers a watcher of `prefix` after `after`, which must not be before `ring_start`.
    fn register(&mut self, prefix: &str, after: Revision, buffer: usize) -> WatchStream {
        let (tx, rx) = mpsc::channel(buffer.max(1));
        let end = Arc::new(Mutex::new(None));
        if self.closed {
            *end.lock() = Some(StoreError::Closed);
            return WatchStream::live(VecDeque::new(), rx, end);
        }
        let start = self.ring.partition_point(|event| event.revision <= after);
        let backlog = self
            .ring
            .range(start..)
            .filter(|event| event.object.key.starts_with(prefix))
            .cloned()
            .collect();
        self.watchers.push(Watcher {
            prefix: prefix.to_owned(),
            after,
            tx,
            end: end.clone(),
        });
        WatchStream::live(backlog, rx, end)
    }

    fn dispatch(&mut self, event: &Arc<WatchEvent>) {
        self.watchers.retain(|watcher| {
            if event.revision <= watcher.after || !event.object.key.starts_with(&watcher.prefix)
            {
                return !watcher.tx.is_closed();
            }
            match watcher.tx.try_send(event.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::debug!(prefix = %watcher.prefix, "cutting off a watcher that fell behind");
                    *watcher.end.lock() = Some(StoreError::Backend(FELL_BEHIND.to_owned()));
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
    }

    fn trim_ring(&mut self, config: &StoreConfig) {
        let floor = self.holds.keys().next().copied();
        let now = Instant::now();
        while let Some(front) = self.ring.front() {
            let full = self.ring.len() > config.event_history;
            let stale = self.ring.len() > config.event_history_min
                && self
                    .ring_times
                    .front()
                    .is_some_and(|&at| now.saturating_duration_since(at) > config.event_fresh);
            if !(full || stale) || floor.is_some_and(|floor| front.revision > floor) {
                break;
            }
            self.ring_start = front.revision;
            self.ring.pop_front();
            self.ring_times.pop_front();
        }
    }

    /// The ring's event at `revision`.
    fn event_at(&self, revision: Revision) -> Option<Arc<WatchEvent>> {
        let index = self
            .ring
            .binary_search_by_key(&revision, |event| event.revision)
            .ok()?;
        self.ring.get(index).cloned()
    }
}

impl Shared {
    fn object(
        &self,
        key: &str,
        value: &Bytes,
        create_revision: Revision,
        revision: Revision,
    ) -> ObjectRef {
        object(&*self.decorator, key, value, create_revision, revision)
    }

    /// Applies backend events (in revision order) to the cache and hands them to watchers.
    fn apply(&self, events: Vec<BackendEvent>) {
        let (mut objects, mut last) = {
            let state = self.state.lock();
            (state.objects.clone(), state.revision)
        };
        // Decorating happens outside the lock; only this task changes `objects`.
        let mut built = Vec::with_capacity(events.len());
        for event in events {
            let revision = event.revision();
            if revision <= last {
                continue;
            }
            last = revision;
            let event = match event {
                BackendEvent::Put { kv, .. } => {
                    let object =
                        self.object(&kv.key, &kv.value, kv.create_revision, kv.mod_revision);
                    let prev = objects.insert(kv.key, object.clone());
                    let ty = if prev.is_some() {
                        WatchEventType::Modified
                    } else {
                        WatchEventType::Added
                    };
                    WatchEvent {
                        ty,
                        object,
                        prev,
                        revision,
                    }
                }
                BackendEvent::Delete { prev, revision } => {
                    let cached = objects.remove(&prev.key);
                    let object =
                        self.object(&prev.key, &prev.value, prev.create_revision, revision);
                    let prev = cached.unwrap_or_else(|| {
                        self.object(
                            &prev.key,
                            &prev.value,
                            prev.create_revision,
                            prev.mod_revision,
                        )
                    });
                    WatchEvent {
                        ty: WatchEventType::Deleted,
                        object,
                        prev: Some(prev),
                        revision,
                    }
                }
            };
            built.push(Arc::new(event));
        }
        if built.is_empty() {
            return;
        }
        let now = Instant::now();
        let mut state = self.state.lock();
        state.objects = objects;
        state.revision = last;
        for event in built {
            state.dispatch(&event);
            state.ring.push_back(event);
            state.ring_times.push_back(now);
        }
        state.trim_ring(&self.config);
        drop(state);
        self.applied.send_replace(last);
    }

    /// Replaces the cache with a fresh list, after the backend could not replay what the cache
    /// missed. Watchers cannot be told what changed in between, so they are ended.
    fn reset(&self, kvs: Vec<KeyValue>, revision: Revision) {
        let objects = decorate_all(&*self.decorator, kvs);
        let compacted = self.compacted.load(Ordering::Acquire);
        let mut state = self.state.lock();
        let revision = revision.max(state.revision);
        let missed = state.revision;
        state.objects = objects;
        state.revision = revision;
        state.ring.clear();
        state.ring_times.clear();
        state.ring_start = revision;
        state.snapshots.clear();
        for watcher in state.watchers.drain(..) {
            *watcher.end.lock() = Some(StoreError::Compacted {
                requested: missed,
                compacted,
            });
        }
        drop(state);
        self.applied.send_replace(revision);
    }

    async fn wait_applied(&self, revision: Revision) -> Result<()> {
        let mut applied = self.applied.subscribe();
        applied
            .wait_for(|applied| *applied >= revision)
            .await
            .map(|_| ())
            .map_err(|_| StoreError::Closed)
    }

    /// The cache's object for the write of `key` at `revision`, once applied.
    async fn written(
        &self,
        hold: Hold<'_>,
        key: &str,
        revision: Revision,
        fallback: Fallback,
    ) -> Result<ObjectRef> {
        self.wait_applied(revision).await?;
        let event = self.state.lock().event_at(revision);
        drop(hold);
        if let Some(event) = event
            && event.object.key == key
        {
            return Ok(event.object.clone());
        }
        tracing::debug!(key, revision, "write's event is not in the watch cache");
        match fallback {
            Fallback::Put {
                value,
                create_revision,
            } => Ok(self.object(key, &value, create_revision.unwrap_or(revision), revision)),
            // Only the served bytes of the deleted object are left; decorating them again sets
            // the deletion revision.
            Fallback::Delete {
                before: Some(before),
            } => Ok(self.object(key, &before.value, before.create_revision, revision)),
            Fallback::Delete { before: None } => Err(StoreError::Backend(format!(
                "key {key} was deleted at revision {revision} but its last state is not cached"
            ))),
        }
    }

    /// The state to list `prefix` from at `at`, and whether it is already a kept snapshot.
    async fn view(&self, prefix: &str, at: Option<Revision>) -> Result<(Snapshot, bool)> {
        let current = |state: &State| Snapshot {
            revision: state.revision,
            prefix: String::new(),
            objects: state.objects.clone(),
        };
        let Some(at) = at else {
            return Ok((current(&self.state.lock()), false));
        };
        let compacted = self.compacted.load(Ordering::Acquire);
        if at < compacted {
            return Err(StoreError::Compacted {
                requested: at,
                compacted,
            });
        }
        if at > *self.applied.borrow() {
            let waited = tokio::time::timeout(FUTURE_WAIT, self.wait_applied(at)).await;
            if !matches!(waited, Ok(Ok(()))) {
                return Err(StoreError::FutureRevision {
                    requested: at,
                    current: *self.applied.borrow(),
                });
            }
        }
        let undo = {
            let mut state = self.state.lock();
            if at == state.revision {
                return Ok((current(&state), false));
            }
            let kept = state
                .snapshots
                .iter()
                .position(|s| s.revision == at && prefix.starts_with(&s.prefix));
            if let Some(snapshot) = kept.and_then(|index| state.snapshots.remove(index)) {
                let view = Snapshot {
                    revision: snapshot.revision,
                    prefix: snapshot.prefix.clone(),
                    objects: snapshot.objects.clone(),
                };
                state.snapshots.push_front(snapshot);
                return Ok((view, true));
            }
            if at >= state.ring_start {
                let start = state.ring.partition_point(|event| event.revision <= at);
                let undo: Vec<_> = state.ring.range(start..).cloned().collect();
                Some((state.objects.clone(), undo))
            } else {
                None
            }
        };
        if let Some((mut objects, undo)) = undo {
            // Roll the latest state back through the newer events.
            for event in undo.iter().rev() {
                let key = event.object.key.clone();
                match (&event.ty, &event.prev) {
                    (WatchEventType::Added, _) | (_, None) => {
                        objects.remove(&key);
                    }
                    (_, Some(prev)) => {
                        objects.insert(key, prev.clone());
                    }
                }
            }
            let snapshot = Snapshot {
                revision: at,
                prefix: String::new(),
                objects,
            };
            return Ok((snapshot, false));
        }
        let (kvs, revision) = self.backend.range(prefix, Some(at)).await?;
        let snapshot = Snapshot {
            revision,
            prefix: prefix.to_owned(),
            objects: decorate_all(&*self.decorator, kvs),
        };
        Ok((snapshot, false))
    }

    async fn compact_once(&self) {
        let current = match self.backend.current_revision().await {
            Ok(current) => current,
            Err(error) => {
                tracing::warn!(%error, "cannot read the current revision to compact");
                return;
            }
        };
        let target = current.saturating_sub(self.config.compact_keep.max(0));
        if target <= 0 || target <= self.compacted.load(Ordering::Acquire) {
            return;
        }
        match self.backend.compact(target).await {
            Ok(()) => {
                self.compacted.fetch_max(target, Ordering::AcqRel);
                tracing::debug!(revision = target, "compacted the store");
            }
            Err(StoreError::Compacted { compacted, .. }) => {
                self.compacted.fetch_max(compacted, Ordering::AcqRel);
            }
            Err(error) => tracing::warn!(%error, revision = target, "compaction failed"),
        }
    }

    /// A replayed backend event as a watch event.
    fn replayed(&self, event: BackendEvent) -> Arc<WatchEvent> {
        let event = match event {
            BackendEvent::Put { kv, prev } => {
                let object = self.object(&kv.key, &kv.value, kv.create_revision, kv.mod_revision);
                let prev = prev.map(|prev| {
                    self.object(
                        &prev.key,
                        &prev.value,
                        prev.create_revision,
                        prev.mod_revision,
                    )
                });
                WatchEvent {
                    ty: if prev.is_some() {
                        WatchEventType::Modified
                    } else {
                        WatchEventType::Added
                    },
                    object,
                    prev,
                    revision: kv.mod_revision,
                }
            }
            BackendEvent::Delete { prev, revision } => WatchEvent {
                ty: WatchEventType::Deleted,
                object: self.object(&prev.key, &prev.value, prev.create_revision, revision),
                prev: Some(self.object(
                    &prev.key,
                    &prev.value,
                    prev.create_revision,
                    prev.mod_revision,
                )),
                revision,
            },
        };
        Arc::new(event)
    }
}

/// Follows the backend's watch for as long as the store lives.
async fn follow(shared: Arc<Shared>) {
    let mut delay = RETRY_MIN;
    loop {
        let from = *shared.applied.borrow();
        let mut events = shared.backend.watch("", from).ready_chunks(APPLY_CHUNK);
        let failure = loop {
            let Some(chunk) = events.next().await else {
                break None;
            };
            let mut applied = Vec::with_capacity(chunk.len());
            let mut failure = None;
            for item in chunk {
                match item {
                    Ok(event) => applied.push(event),
                    Err(error) => {
                        failure = Some(error);
                        break;
                    }
                }
            }
            shared.apply(applied);
            if failure.is_some() {
                break failure;
            }
            delay = RETRY_MIN;
        };
        drop(events);
        match failure {
            Some(StoreError::Compacted { compacted, .. }) => {
                shared.compacted.fetch_max(compacted, Ordering::AcqRel);
                tracing::warn!(
                    revision = from,
                    compacted,
                    "the backend compacted what the watch cache missed; re-listing"
                );
                loop {
                    match shared.backend.range("", None).await {
                        Ok((kvs, revision)) => {
                            shared.reset(kvs, revision);
                            break;
                        }
                        Err(error) => {
                            tracing::warn!(%error, "re-listing the store failed; retrying");
                            tokio::time::sleep(delay).await;
                            delay = (delay * 2).min(RETRY_MAX);
                        }
                    }
                }
            }
            Some(error) => {
                tracing::warn!(%error, "the backend watch failed; resuming");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(RETRY_MAX);
            }
            None => {
                tracing::warn!("the backend watch ended; resuming");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(RETRY_MAX);
            }
        }
    }
}

/// Compacts the backend every `compact_interval`.
async fn compactor(shared: Arc<Shared>) {
    // `sleep` copes with any period (an interval's arithmetic could overflow).
    loop {
        tokio::time::sleep(shared.config.compact_interval).await;
        shared.compact_once().await;
    }
}

/// A stream of watch events. It ends with an error when the watcher fell too far behind, when
/// the cache had to re-list (`Compacted`), or when the store closed (`Closed`).
pub struct WatchStream {
    inner: Inner,
}

enum Inner {
    Live {
        backlog: VecDeque<Arc<WatchEvent>>,
        rx: mpsc::Receiver<Arc<WatchEvent>>,
        end: Arc<Mutex<Option<StoreError>>>,
    },
    /// Replaying the backend's history until the ring covers it.
    Replay {
        shared: Arc<Shared>,
        stream: BoxStream<'static, Result<BackendEvent>>,
        prefix: String,
        last: Revision,
    },
    Done,
}

impl WatchStream {
    fn live(
        backlog: VecDeque<Arc<WatchEvent>>,
        rx: mpsc::Receiver<Arc<WatchEvent>>,
        end: Arc<Mutex<Option<StoreError>>>,
    ) -> Self {
        WatchStream {
            inner: Inner::Live { backlog, rx, end },
        }
    }
}

impl Stream for WatchStream {
    type Item = Result<Arc<WatchEvent>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match &mut this.inner {
                Inner::Done => return Poll::Ready(None),
                Inner::Live { backlog, rx, end } => {
                    if let Some(event) = backlog.pop_front() {
                        return Poll::Ready(Some(Ok(event)));
                    }
                    if let Some(event) = ready!(rx.poll_recv(cx)) {
                        return Poll::Ready(Some(Ok(event)));
                    }
                    let end = end.lock().take();
                    this.inner = Inner::Done;
                    return Poll::Ready(end.map(Err));
                }
                Inner::Replay {
                    shared,
                    stream,
                    prefix,
                    last,
                } => {
                    let joined = {
                        let mut state = shared.state.lock();
                        (state.ring_start <= *last)
                            .then(|| state.register(prefix, *last, shared.config.watcher_buffer))
                    };
                    if let Some(live) = joined {
                        *this = live;
                        continue;
                    }
                    match ready!(stream.poll_next_unpin(cx)) {
                        Some(Ok(event)) => {
                            if event.revision() <= *last {
                                continue;
                            }
                            *last = event.revision();
                            return Poll::Ready(Some(Ok(shared.replayed(event))));
                        }
                        Some(Err(error)) => {
                            this.inner = Inner::Done;
                            return Poll::Ready(Some(Err(error)));
                        }
                        None => {
                            this.inner = Inner::Done;
                            return Poll::Ready(Some(Err(StoreError::Closed)));
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
