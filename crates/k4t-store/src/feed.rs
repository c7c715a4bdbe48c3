//! What the backends share for watches: the live feed of committed changes, and the stream that
//! joins a backend's history with that feed without gaps or duplicates.
//!
//! A watch subscribes to the feed first and reads history second, so every change is in one or
//! the other (or both: duplicates are dropped by revision). A subscriber that falls behind the
//! feed's bounded buffer goes back to reading history from its last revision, so a slow reader
//! costs memory in the history store, not in the feed.

use std::collections::VecDeque;
use std::sync::Arc;

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use tokio::sync::broadcast;

use crate::{BackendEvent, Result, Revision};

/// The changes of one commit, in revision order.
pub(crate) type Batch = Arc<[BackendEvent]>;

/// How many commits the live feed buffers per subscriber before it lags.
pub(crate) const FEED_CAPACITY: usize = 1024;

/// How many history events one read returns.
pub(crate) const HISTORY_CHUNK: usize = 1000;

/// A backend's history of changes.
pub(crate) trait History: Send + Sync + 'static {
    /// Up to `limit` changes to keys under `prefix` with a revision greater than `after`, in
    /// revision order; `Compacted` if `after` is before the compacted revision.
    fn history(
        &self,
        prefix: &str,
        after: Revision,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<BackendEvent>>>;
}

/// The upper bound (exclusive) of the keys starting with `prefix`, as bytes; `None` when there
/// is none (empty prefix, or a prefix of 0xff bytes only).
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

struct WatchState<H> {
    history: Arc<H>,
    /// `None` once the feed is closed (the backend shut down).
    feed: Option<broadcast::Receiver<Batch>>,
    prefix: String,
    /// The revision of the last event handed out (or queued in `pending`).
    last: Revision,
    pending: VecDeque<BackendEvent>,
    catching_up: bool,
    done: bool,
}

impl<H: History> WatchState<H> {
    async fn next(&mut self) -> Option<Result<BackendEvent>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(Ok(event));
            }
            if self.done {
                return None;
            }
            if self.catching_up {
                match self
                    .history
                    .history(&self.prefix, self.last, HISTORY_CHUNK)
                    .await
                {
                    Ok(events) => {
                        if events.len() < HISTORY_CHUNK {
                            self.catching_up = false;
                            // With the feed closed, the history read was the last one.
                            self.done = self.feed.is_none();
                        }
                        queue_newer(&mut self.last, &mut self.pending, events);
                    }
                    Err(error) => {
                        self.done = true;
                        return Some(Err(error));
                    }
                }
                continue;
            }
            let Some(feed) = self.feed.as_mut() else {
                self.done = true;
                continue;
            };
            match feed.recv().await {
                Ok(batch) => {
                    let prefix = self.prefix.as_str();
                    let events = batch.iter().filter(|event| event.key().starts_with(prefix));
                    queue_newer(&mut self.last, &mut self.pending, events.cloned());
                }
                Err(broadcast::error::RecvError::Lagged(_)) => self.catching_up = true,
                Err(broadcast::error::RecvError::Closed) => {
                    // The backend closed: read what is left of the history, then end.
                    self.feed = None;
                    self.catching_up = true;
                }
            }
        }
    }
}

/// Queues the events newer than `last`, which the feed and the history may both hold.
fn queue_newer(
    last: &mut Revision,
    pending: &mut VecDeque<BackendEvent>,
    events: impl IntoIterator<Item = BackendEvent>,
) {
    for event in events {
        if event.revision() > *last {
            *last = event.revision();
            pending.push_back(event);
        }
    }
}

/// The watch stream of every change under `prefix` after `after`: history first, then the
/// live feed. The caller subscribes to `feed` before calling, so the first history read happens
/// after the subscription. `None` for a backend that is already closed.
pub(crate) fn watch_stream<H: History>(
    history: Arc<H>,
    feed: Option<broadcast::Receiver<Batch>>,
    prefix: &str,
    after: Revision,
) -> BoxStream<'static, Result<BackendEvent>> {
    let state = WatchState {
        history,
        feed,
        prefix: prefix.to_owned(),
        last: after,
        pending: VecDeque::new(),
        catching_up: true,
        done: false,
    };
    futures::stream::unfold(state, |mut state| async move {
        let item = state.next().await?;
        Some((item, state))
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(prefix: &[u8], expected: Option<&[u8]>) {
        assert_eq!(prefix_end(prefix).as_deref(), expected, "prefix {prefix:?}");
    }

    #[test]
    fn prefix_ends() {
        check(b"", None);
        check(b"/registry/pods/", Some(b"/registry/pods0"));
        check(b"a", Some(b"b"));
        check(b"a\xff", Some(b"b"));
        check(b"\xff\xff", None);
    }
}
