//! k4t's store: a revisioned key-value store with etcd semantics, and the watch cache in front
//! of it.
//!
//! - [`Backend`] is the storage contract, shaped like etcd's KV + watch API so an etcd backend
//!   fits without changing callers: one global revision, create-if-absent, update-if-revision,
//!   delete-if-revision, range at a revision, watch from a revision, compaction.
//! - [`sqlite::SqliteBackend`] (the default) keeps a revision log in SQLite (WAL), the design
//!   k3s's kine uses; a write is acknowledged only after its transaction committed.
//! - [`memory::MemoryBackend`] is the same contract in memory, for tests.
//! - [`Store`] is what the API server uses: an in-memory cache of the latest state and of recent
//!   events, fed by the backend's watch, so gets, lists and watches do not touch the backend.
//!
//! The store knows nothing of Kubernetes kinds; a [`Decorator`] given at construction turns a
//! stored value into the bytes served (with `metadata.resourceVersion` set) and extracts the labels
//! and fields used by selectors.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;

pub mod cache;
mod feed;
pub mod memory;
pub mod sqlite;

#[cfg(test)]
mod conformance;

pub use cache::{ListOptions, ListResult, Store, StoreConfig, WatchEvent, WatchEventType};

/// A store revision: etcd's `mod_revision` / Kubernetes' `resourceVersion`. Starts at 1 for the
/// first write; 0 means "no revision".
pub type Revision = i64;

/// A key with its value and revisions, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: Bytes,
    /// The revision that created this key (this incarnation of it).
    pub create_revision: Revision,
    /// The revision of the last write to this key.
    pub mod_revision: Revision,
}

/// One change, as a backend watch reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendEvent {
    /// A create or an update; `prev` is the value before an update.
    Put {
        kv: KeyValue,
        prev: Option<KeyValue>,
    },
    /// A delete at `revision`; `prev` is the value that was deleted.
    Delete { prev: KeyValue, revision: Revision },
}

impl BackendEvent {
    pub fn revision(&self) -> Revision {
        match self {
            BackendEvent::Put { kv, .. } => kv.mod_revision,
            BackendEvent::Delete { revision, .. } => *revision,
        }
    }
    pub fn key(&self) -> &str {
        match self {
            BackendEvent::Put { kv, .. } => &kv.key,
            BackendEvent::Delete { prev, .. } => &prev.key,
        }
    }
}

/// Store errors. Messages are lower-case and name the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("key {key} already exists")]
    AlreadyExists { key: String },
    #[error("key {key} not found")]
    NotFound { key: String },
    /// The key's current mod revision is not the expected one.
    #[error("key {key} was modified: expected revision {expected}, found {actual}")]
    Conflict {
        key: String,
        expected: Revision,
        actual: Revision,
    },
    /// The requested revision was compacted away.
    #[error("revision {requested} has been compacted (compacted revision {compacted})")]
    Compacted {
        requested: Revision,
        compacted: Revision,
    },
    /// The requested revision is in the future.
    #[error("revision {requested} is newer than the current revision {current}")]
    FutureRevision {
        requested: Revision,
        current: Revision,
    },
    #[error("store backend failed: {0}")]
    Backend(String),
    #[error("store is closed")]
    Closed,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The storage contract (etcd's KV and watch, reduced to what the API server needs).
pub trait Backend: Send + Sync + 'static {
    /// The revision of the last committed write (0 when empty).
    fn current_revision(&self) -> BoxFuture<'_, Result<Revision>>;

    /// Creates `key` if it does not exist; returns the new revision.
    fn create(&self, key: &str, value: Bytes) -> BoxFuture<'_, Result<Revision>>;

    /// Replaces `key` if its mod revision is `expected`; returns the new revision.
    fn update(
        &self,
        key: &str,
        value: Bytes,
        expected: Revision,
    ) -> BoxFuture<'_, Result<Revision>>;

    /// Deletes `key` if its mod revision is `expected`; returns the deletion's revision.
    fn delete(&self, key: &str, expected: Revision) -> BoxFuture<'_, Result<Revision>>;

    /// The value of `key` at the current revision.
    fn get(&self, key: &str) -> BoxFuture<'_, Result<Option<KeyValue>>>;

    /// All keys starting with `prefix` at revision `at` (current when `None`), in key order, and
    /// the revision the answer is at. `Compacted` if `at` is before the compacted revision.
    fn range(
        &self,
        prefix: &str,
        at: Option<Revision>,
    ) -> BoxFuture<'_, Result<(Vec<KeyValue>, Revision)>>;

    /// Every change to keys starting with `prefix` with a revision greater than `after`, in
    /// revision order: first the history, then live changes as they commit. The stream yields
    /// `Err(Compacted)` and ends if `after` is before the compacted revision.
    fn watch(&self, prefix: &str, after: Revision) -> BoxStream<'static, Result<BackendEvent>>;

    /// Forgets the history before `revision` (the latest value of every live key is kept).
    fn compact(&self, revision: Revision) -> BoxFuture<'_, Result<()>>;

    /// The revision history was compacted to (0 if never).
    fn compacted_revision(&self) -> BoxFuture<'_, Result<Revision>>;
}

/// What the cache keeps of an object besides its bytes: what selectors need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attrs {
    pub labels: BTreeMap<String, String>,
    /// Field-selector fields and their values (e.g. `spec.nodeName`).
    pub fields: Vec<(String, String)>,
}

/// An object as the cache serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub key: String,
    /// The served bytes: the stored value as decorated (with its resourceVersion set).
    pub value: Bytes,
    pub create_revision: Revision,
    pub mod_revision: Revision,
    pub attrs: Attrs,
}

/// Turns stored values into served objects. Supplied by the API server, which knows the kinds.
pub trait Decorator: Send + Sync + 'static {
    /// The served bytes of `value` stored under `key` at `revision` (sets the resourceVersion),
    /// and its selector attributes.
    fn decorate(&self, key: &str, value: &Bytes, revision: Revision) -> (Bytes, Attrs);
}

/// A decorator that serves values unchanged and extracts nothing (for tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct Plain;

impl Decorator for Plain {
    fn decorate(&self, _key: &str, value: &Bytes, _revision: Revision) -> (Bytes, Attrs) {
        (value.clone(), Attrs::default())
    }
}

/// A shared handle to an object.
pub type ObjectRef = Arc<Object>;
