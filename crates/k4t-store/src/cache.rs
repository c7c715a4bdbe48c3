//! The watch cache: the latest state and recent events in memory, fed by the backend's watch.
//!
//! STUB: to be implemented.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;

use crate::{Backend, Decorator, Object, ObjectRef, Result, Revision, StoreError};

/// Tuning of the cache and compaction.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// How many recent events the cache keeps for watches that start in the past.
    pub event_history: usize,
    /// How often the backend is compacted.
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

/// The cache-fronted store the API server uses.
pub struct Store {}

impl Store {
    /// Loads the current state from `backend` and follows its watch.
    pub async fn open(
        backend: Arc<dyn Backend>,
        decorator: Arc<dyn Decorator>,
        config: StoreConfig,
    ) -> Result<Arc<Store>> {
        let _ = (backend, decorator, config);
        Err(StoreError::Closed)
    }

    /// The latest revision the cache has applied.
    pub fn revision(&self) -> Revision {
        0
    }

    pub fn get(&self, key: &str) -> Option<ObjectRef> {
        let _ = key;
        None
    }

    pub async fn list(&self, opts: ListOptions<'_>) -> Result<ListResult> {
        let _ = opts;
        Err(StoreError::Closed)
    }

    /// Creates `key`; returns the object once the cache has applied the write.
    pub async fn create(&self, key: &str, value: Bytes) -> Result<ObjectRef> {
        let _ = (key, value);
        Err(StoreError::Closed)
    }

    /// Updates `key` if its mod revision is `expected`; returns the object once the cache has
    /// applied the write.
    pub async fn update(&self, key: &str, value: Bytes, expected: Revision) -> Result<ObjectRef> {
        let _ = (key, value, expected);
        Err(StoreError::Closed)
    }

    /// Deletes `key` if its mod revision is `expected`; returns its last state decorated at
    /// the deletion revision, once the cache has applied the delete.
    pub async fn delete(&self, key: &str, expected: Revision) -> Result<ObjectRef> {
        let _ = (key, expected);
        Err(StoreError::Closed)
    }

    /// Events for keys under `prefix` with a revision greater than `after`. `Compacted` if the
    /// cache and the backend no longer hold them.
    pub fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream> {
        let _ = (prefix, after);
        Err(StoreError::Closed)
    }
}

/// A stream of watch events. It ends with an error when the watcher fell too far behind.
pub struct WatchStream {}

impl Stream for WatchStream {
    type Item = Result<Arc<WatchEvent>>;
    fn poll_next(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(None)
    }
}
