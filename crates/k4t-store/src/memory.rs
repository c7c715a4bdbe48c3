//! An in-memory [`Backend`](crate::Backend) with the same semantics as the SQLite one, for tests.
//!
//! It keeps the state at the compacted revision, the log of every change since, and the current
//! state; compaction folds the log's head into the compacted state.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Bound;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use parking_lot::Mutex;
use tokio::sync::broadcast;

use crate::feed::{self, Batch, History};
use crate::{Backend, BackendEvent, KeyValue, Result, Revision, StoreError};

/// The in-memory backend.
pub struct MemoryBackend {
    state: Arc<Mutex<State>>,
    /// Dropped with the backend, which ends every watch.
    feed: broadcast::Sender<Batch>,
}

#[derive(Default)]
struct State {
    current: BTreeMap<String, KeyValue>,
    revision: Revision,
    compacted: Revision,
    /// The live keys at `compacted`.
    base: BTreeMap<String, KeyValue>,
    /// Every change after `compacted`, in revision order.
    log: Vec<BackendEvent>,
}

impl MemoryBackend {
    pub fn new() -> Self {
        let (feed, _) = broadcast::channel(feed::FEED_CAPACITY);
        Self {
            state: Arc::default(),
            feed,
        }
    }

    /// Runs `change` under the lock and, if it produced an event, logs and publishes it.
    fn write(
        &self,
        change: impl FnOnce(&State, Revision) -> Result<BackendEvent>,
    ) -> Result<Revision> {
        let mut state = self.state.lock();
        let revision = state.revision + 1;
        let event = change(&state, revision)?;
        match &event {
            BackendEvent::Put { kv, .. } => {
                state.current.insert(kv.key.clone(), kv.clone());
            }
            BackendEvent::Delete { prev, .. } => {
                state.current.remove(&prev.key);
            }
        }
        state.revision = revision;
        state.log.push(event.clone());
        // Published under the lock so the feed is in revision order.
        let batch: Batch = Arc::from(vec![event]);
        let _ = self.feed.send(batch);
        Ok(revision)
    }
}

impl Default for MemoryBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock();
        f.debug_struct("MemoryBackend")
            .field("revision", &state.revision)
            .field("compacted", &state.compacted)
            .field("keys", &state.current.len())
            .finish()
    }
}

fn apply(map: &mut BTreeMap<String, KeyValue>, event: &BackendEvent) {
    match event {
        BackendEvent::Put { kv, .. } => {
            map.insert(kv.key.clone(), kv.clone());
        }
        BackendEvent::Delete { prev, .. } => {
            map.remove(&prev.key);
        }
    }
}

fn live<'a>(state: &'a State, key: &str, expected: Revision) -> Result<&'a KeyValue> {
    let kv = state.current.get(key).ok_or_else(|| StoreError::NotFound {
        key: key.to_owned(),
    })?;
    if kv.mod_revision != expected {
        return Err(StoreError::Conflict {
            key: key.to_owned(),
            expected,
            actual: kv.mod_revision,
        });
    }
    Ok(kv)
}

impl State {
    fn range(&self, prefix: &str, at: Option<Revision>) -> Result<(Vec<KeyValue>, Revision)> {
        let under = |map: &BTreeMap<String, KeyValue>| -> Vec<KeyValue> {
            map.range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
                .take_while(|(key, _)| key.starts_with(prefix))
                .map(|(_, kv)| kv.clone())
                .collect()
        };
        let Some(at) = at else {
            return Ok((under(&self.current), self.revision));
        };
        self.check_at(at)?;
        let mut map = self.base.clone();
        for event in self.log.iter().take_while(|event| event.revision() <= at) {
            apply(&mut map, event);
        }
        Ok((under(&map), at))
    }

    fn check_at(&self, at: Revision) -> Result<()> {
        if at < self.compacted {
            return Err(StoreError::Compacted {
                requested: at,
                compacted: self.compacted,
            });
        }
        if at > self.revision {
            return Err(StoreError::FutureRevision {
                requested: at,
                current: self.revision,
            });
        }
        Ok(())
    }
}

struct MemoryHistory(Arc<Mutex<State>>);

impl History for MemoryHistory {
    fn history(
        &self,
        prefix: &str,
        after: Revision,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<BackendEvent>>> {
        let state = self.0.lock();
        let result = if after < state.compacted {
            Err(StoreError::Compacted {
                requested: after,
                compacted: state.compacted,
            })
        } else {
            let start = state.log.partition_point(|event| event.revision() <= after);
            Ok(state.log[start..]
                .iter()
                .filter(|event| event.key().starts_with(prefix))
                .take(limit)
                .cloned()
                .collect())
        };
        Box::pin(std::future::ready(result))
    }
}

impl Backend for MemoryBackend {
    fn current_revision(&self) -> BoxFuture<'_, Result<Revision>> {
        let revision = self.state.lock().revision;
        Box::pin(std::future::ready(Ok(revision)))
    }

    fn create(&self, key: &str, value: Bytes) -> BoxFuture<'_, Result<Revision>> {
        let result = self.write(|state, revision| {
            if state.current.contains_key(key) {
                return Err(StoreError::AlreadyExists {
                    key: key.to_owned(),
                });
            }
            Ok(BackendEvent::Put {
                kv: KeyValue {
                    key: key.to_owned(),
                    value,
                    create_revision: revision,
                    mod_revision: revision,
                },
                prev: None,
            })
        });
        Box::pin(std::future::ready(result))
    }

    fn update(
        &self,
        key: &str,
        value: Bytes,
        expected: Revision,
    ) -> BoxFuture<'_, Result<Revision>> {
        let result = self.write(|state, revision| {
            let prev = live(state, key, expected)?;
            Ok(BackendEvent::Put {
                kv: KeyValue {
                    key: key.to_owned(),
                    value,
                    create_revision: prev.create_revision,
                    mod_revision: revision,
                },
                prev: Some(prev.clone()),
            })
        });
        Box::pin(std::future::ready(result))
    }

    fn delete(&self, key: &str, expected: Revision) -> BoxFuture<'_, Result<Revision>> {
        let result = self.write(|state, revision| {
            let prev = live(state, key, expected)?;
            Ok(BackendEvent::Delete {
                prev: prev.clone(),
                revision,
            })
        });
        Box::pin(std::future::ready(result))
    }

    fn get(&self, key: &str) -> BoxFuture<'_, Result<Option<KeyValue>>> {
        let kv = self.state.lock().current.get(key).cloned();
        Box::pin(std::future::ready(Ok(kv)))
    }

    fn range(
        &self,
        prefix: &str,
        at: Option<Revision>,
    ) -> BoxFuture<'_, Result<(Vec<KeyValue>, Revision)>> {
        let result = self.state.lock().range(prefix, at);
        Box::pin(std::future::ready(result))
    }

    fn watch(&self, prefix: &str, after: Revision) -> BoxStream<'static, Result<BackendEvent>> {
        let feed = self.feed.subscribe();
        let history = Arc::new(MemoryHistory(self.state.clone()));
        feed::watch_stream(history, Some(feed), prefix, after)
    }

    fn compact(&self, revision: Revision) -> BoxFuture<'_, Result<()>> {
        let mut state = self.state.lock();
        let result = if revision <= state.compacted {
            Err(StoreError::Compacted {
                requested: revision,
                compacted: state.compacted,
            })
        } else if revision > state.revision {
            Err(StoreError::FutureRevision {
                requested: revision,
                current: state.revision,
            })
        } else {
            let state = &mut *state;
            let end = state
                .log
                .partition_point(|event| event.revision() <= revision);
            for event in state.log.drain(..end) {
                apply(&mut state.base, &event);
            }
            state.compacted = revision;
            Ok(())
        };
        Box::pin(std::future::ready(result))
    }

    fn compacted_revision(&self) -> BoxFuture<'_, Result<Revision>> {
        let compacted = self.state.lock().compacted;
        Box::pin(std::future::ready(Ok(compacted)))
    }
}
