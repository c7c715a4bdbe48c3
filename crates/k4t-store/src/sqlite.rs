//! The SQLite [`Backend`](crate::Backend): a revision log in the style of k3s's kine.
//!
//! Table `kv` has one row per write; its integer primary key is the revision. A row records the
//! key (`name`, a BLOB so that range bounds compare bytewise), whether the write created or
//! deleted the key, the key's create revision, the revision of the row it replaced
//! (`prev_revision`, 0 for a create) and the value (empty for a delete: the deleted value is the
//! `prev_revision` row's). The latest row of a key that is not a delete is its current value.
//! Table `meta` holds the compacted revision.
//!
//! One writer thread owns the write connection and commits requests in groups: it takes what is
//! queued, checks and applies each request in order in one transaction, commits once, and only
//! then answers them and publishes their changes to the live feed. It keeps the create and mod
//! revisions of every live key in memory so conditions need no query. Reads use a small pool of
//! other connections on tokio's blocking threads; WAL lets them run beside the writer.
//!
//! Invariant: after compaction to `c`, the rows with revision <= `c` are exactly the latest row
//! of every key live at `c`; later rows are untouched. Compaction from `old` to `c` therefore
//! only deletes the rows that rows in (`old`, `c`] replaced, and the delete rows in that span.
//!
//! Only one process may open a database at a time: the writer assumes it is the only one.

use std::collections::HashMap;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use parking_lot::Mutex;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::{broadcast, oneshot};

use crate::feed::{self, Batch, History};
use crate::{Backend, BackendEvent, KeyValue, Result, Revision, StoreError};

/// How hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: the WAL is fsynced at each commit (survives power loss).
    #[default]
    Full,
    /// `synchronous=NORMAL`: survives a crash of the process, not of the machine.
    Normal,
}

/// The most requests committed in one transaction.
const MAX_BATCH: usize = 512;
/// Idle read connections kept open.
const MAX_IDLE_READERS: usize = 4;
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS kv (
    id INTEGER PRIMARY KEY,
    name BLOB NOT NULL,
    created INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    create_revision INTEGER NOT NULL,
    prev_revision INTEGER NOT NULL,
    value BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS kv_name_id ON kv (name, id);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
";

/// The SQLite backend.
pub struct SqliteBackend {
    /// `None` only while dropping.
    writer: Option<mpsc::Sender<Request>>,
    thread: Option<JoinHandle<()>>,
    readers: Arc<Readers>,
    /// The writer thread takes the sender out when it exits, which ends every watch.
    feed: Arc<Mutex<Option<broadcast::Sender<Batch>>>>,
    revision: Arc<AtomicI64>,
    compacted: Arc<AtomicI64>,
}

enum Op {
    Create {
        key: String,
        value: Bytes,
    },
    Update {
        key: String,
        value: Bytes,
        expected: Revision,
    },
    Delete {
        key: String,
        expected: Revision,
    },
    Compact {
        revision: Revision,
    },
}

struct Request {
    op: Op,
    reply: oneshot::Sender<Result<Revision>>,
}

fn db_error(path: &Path, error: impl Display) -> StoreError {
    StoreError::Backend(format!("sqlite database {}: {error}", path.display()))
}

fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

impl SqliteBackend {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path, durability: Durability) -> Result<Self> {
        let err = |e: rusqlite::Error| db_error(path, e);
        let conn = open_connection(path).map_err(err)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))
            .map_err(err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(db_error(
                path,
                format!("cannot use write-ahead logging (journal mode {mode})"),
            ));
        }
        let synchronous = match durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", synchronous)
            .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;

        let (revision, compacted) = revisions(&conn).map_err(err)?;
        let index = load_index(&conn).map_err(err)?;

        let revision = Arc::new(AtomicI64::new(revision));
        let compacted = Arc::new(AtomicI64::new(compacted));
        let (feed_tx, _) = broadcast::channel(feed::FEED_CAPACITY);
        let feed = Arc::new(Mutex::new(Some(feed_tx)));
        let (writer, requests) = mpsc::channel();
        let mut state = Writer {
            conn,
            path: path.to_owned(),
            index,
            revision: revision.clone(),
            compacted: compacted.clone(),
            feed: feed.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("k4t-store-writer".to_owned())
            .spawn(move || state.run(requests))
            .map_err(|e| db_error(path, format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            writer: Some(writer),
            thread: Some(thread),
            readers: Arc::new(Readers {
                path: path.to_owned(),
                idle: Mutex::new(Vec::new()),
            }),
            feed,
            revision,
            compacted,
        })
    }

    fn submit(&self, op: Op) -> BoxFuture<'_, Result<Revision>> {
        let (reply, answer) = oneshot::channel();
        let sent = self
            .writer
            .as_ref()
            .is_some_and(|writer| writer.send(Request { op, reply }).is_ok());
        Box::pin(async move {
            if !sent {
                return Err(StoreError::Closed);
            }
            answer.await.map_err(|_| StoreError::Closed)?
        })
    }

    fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<Result<T>> + Send + 'static,
    ) -> BoxFuture<'static, Result<T>> {
        read(self.readers.clone(), f)
    }
}

impl Drop for SqliteBackend {
    fn drop(&mut self) {
        // Closing the queue lets the writer finish what is queued and exit; waiting for it
        // means the file can be reopened as soon as this returns.
        drop(self.writer.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!(path = %self.readers.path.display(), "sqlite writer thread panicked");
        }
    }
}

/// The current and the compacted revision. The current one is at least the compacted one even
/// when compaction removed the rows up to it.
fn revisions(conn: &Connection) -> rusqlite::Result<(Revision, Revision)> {
    conn.query_row(
        "SELECT COALESCE((SELECT MAX(id) FROM kv), 0), \
                COALESCE((SELECT value FROM meta WHERE key = 'compacted'), 0)",
        [],
        |row| {
            let last: Revision = row.get(0)?;
            let compacted: Revision = row.get(1)?;
            Ok((last.max(compacted), compacted))
        },
    )
}

/// The key in column `column` of `row`.
fn key_at(row: &rusqlite::Row<'_>, column: usize) -> rusqlite::Result<String> {
    let name: Vec<u8> = row.get(column)?;
    String::from_utf8(name).map_err(|e| rusqlite::Error::Utf8Error(column, e.utf8_error()))
}

fn load_index(conn: &Connection) -> rusqlite::Result<HashMap<String, (Revision, Revision)>> {
    let mut stmt = conn.prepare(
        "SELECT name, MAX(id), create_revision, deleted FROM kv GROUP BY name ORDER BY name",
    )?;
    let mut rows = stmt.query([])?;
    let mut index = HashMap::new();
    while let Some(row) = rows.next()? {
        let deleted: bool = row.get(3)?;
        if !deleted {
            index.insert(key_at(row, 0)?, (row.get(2)?, row.get(1)?));
        }
    }
    Ok(index)
}

struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<Result<T>>) -> Result<T> {
        let idle = self.idle.lock().pop();
        let mut conn = match idle {
            Some(conn) => conn,
            None => open_connection(&self.path)
                .and_then(|conn| conn.pragma_update(None, "query_only", true).map(|()| conn))
                .map_err(|e| db_error(&self.path, e))?,
        };
        let result = f(&mut conn);
        let mut idle = self.idle.lock();
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        result.map_err(|e| db_error(&self.path, e))?
    }
}

fn read<T: Send + 'static>(
    readers: Arc<Readers>,
    f: impl FnOnce(&mut Connection) -> rusqlite::Result<Result<T>> + Send + 'static,
) -> BoxFuture<'static, Result<T>> {
    Box::pin(async move {
        let path = readers.path.clone();
        tokio::task::spawn_blocking(move || readers.with(f))
            .await
            .map_err(|e| db_error(&path, format!("read task failed: {e}")))?
    })
}

/// The SQL condition on `column` for keys under `prefix`, and its parameters.
fn prefix_condition(column: &str, prefix: &str) -> (String, Vec<Vec<u8>>) {
    if prefix.is_empty() {
        return ("1".to_owned(), Vec::new());
    }
    match feed::prefix_end(prefix.as_bytes()) {
        Some(end) => (
            format!("{column} >= ? AND {column} < ?"),
            vec![prefix.as_bytes().to_vec(), end],
        ),
        None => (format!("{column} >= ?"), vec![prefix.as_bytes().to_vec()]),
    }
}

fn range_at(
    conn: &mut Connection,
    prefix: &str,
    at: Option<Revision>,
) -> rusqlite::Result<Result<(Vec<KeyValue>, Revision)>> {
    let tx = conn.transaction()?;
    let (current, compacted) = revisions(&tx)?;
    let at = match at {
        None => current,
        Some(at) if at < compacted => {
            return Ok(Err(StoreError::Compacted {
                requested: at,
                compacted,
            }));
        }
        Some(at) if at > current => {
            return Ok(Err(StoreError::FutureRevision {
                requested: at,
                current,
            }));
        }
        Some(at) => at,
    };
    let (condition, bounds) = prefix_condition("name", prefix);
    // SQLite takes the other columns of an aggregate row from the row with the MAX.
    let sql = format!(
        "SELECT name, MAX(id), create_revision, deleted, value FROM kv \
         WHERE {condition} AND id <= ? GROUP BY name ORDER BY name"
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    let mut params: Vec<&dyn rusqlite::ToSql> =
        bounds.iter().map(|b| b as &dyn rusqlite::ToSql).collect();
    params.push(&at);
    let mut rows = stmt.query(params.as_slice())?;
    let mut kvs = Vec::new();
    while let Some(row) = rows.next()? {
        let deleted: bool = row.get(3)?;
        if deleted {
            continue;
        }
        let value: Vec<u8> = row.get(4)?;
        kvs.push(KeyValue {
            key: key_at(row, 0)?,
            value: Bytes::from(value),
            create_revision: row.get(2)?,
            mod_revision: row.get(1)?,
        });
    }
    Ok(Ok((kvs, at)))
}

fn get_key(conn: &mut Connection, key: &str) -> rusqlite::Result<Result<Option<KeyValue>>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, create_revision, deleted, value FROM kv WHERE name = ?1 \
         ORDER BY id DESC LIMIT 1",
    )?;
    let row = stmt
        .query_row(params![key.as_bytes()], |row| {
            let mod_revision: Revision = row.get(0)?;
            let create_revision: Revision = row.get(1)?;
            let deleted: bool = row.get(2)?;
            let value: Vec<u8> = row.get(3)?;
            Ok((!deleted).then(|| KeyValue {
                key: key.to_owned(),
                value: Bytes::from(value),
                create_revision,
                mod_revision,
            }))
        })
        .optional()?;
    Ok(Ok(row.flatten()))
}

fn history(
    conn: &mut Connection,
    prefix: &str,
    after: Revision,
    limit: usize,
) -> rusqlite::Result<Result<Vec<BackendEvent>>> {
    let tx = conn.transaction()?;
    let (_, compacted) = revisions(&tx)?;
    if after < compacted {
        return Ok(Err(StoreError::Compacted {
            requested: after,
            compacted,
        }));
    }
    // `+r.name` keeps SQLite on the primary key: recent history is a short id range, while the
    // key index would visit every past row under the prefix.
    let (condition, bounds) = prefix_condition("+r.name", prefix);
    let sql = format!(
        "SELECT r.id, r.name, r.deleted, r.create_revision, r.prev_revision, r.value, p.value \
         FROM kv r LEFT JOIN kv p ON p.id = r.prev_revision \
         WHERE r.id > ? AND {condition} ORDER BY r.id LIMIT ?"
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = tx.prepare_cached(&sql)?;
    let mut params: Vec<&dyn rusqlite::ToSql> = vec![&after];
    params.extend(bounds.iter().map(|b| b as &dyn rusqlite::ToSql));
    params.push(&limit);
    let mut rows = stmt.query(params.as_slice())?;
    let mut events = Vec::new();
    while let Some(row) = rows.next()? {
        let revision: Revision = row.get(0)?;
        let key = key_at(row, 1)?;
        let deleted: bool = row.get(2)?;
        let create_revision: Revision = row.get(3)?;
        let prev_revision: Revision = row.get(4)?;
        let value: Vec<u8> = row.get(5)?;
        let prev_value: Option<Vec<u8>> = row.get(6)?;
        let prev = match prev_value {
            Some(value) if prev_revision > 0 => Some(KeyValue {
                key: key.clone(),
                value: Bytes::from(value),
                create_revision,
                mod_revision: prev_revision,
            }),
            _ => None,
        };
        let event = if deleted {
            let Some(prev) = prev else {
                return Ok(Err(StoreError::Backend(format!(
                    "revision {revision} deletes key {key} but its previous value is missing"
                ))));
            };
            BackendEvent::Delete { prev, revision }
        } else {
            BackendEvent::Put {
                kv: KeyValue {
                    key,
                    value: Bytes::from(value),
                    create_revision,
                    mod_revision: revision,
                },
                prev,
            }
        };
        events.push(event);
    }
    Ok(Ok(events))
}

struct SqliteHistory(Arc<Readers>);

impl History for SqliteHistory {
    fn history(
        &self,
        prefix: &str,
        after: Revision,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<BackendEvent>>> {
        let prefix = prefix.to_owned();
        read(self.0.clone(), move |conn| {
            history(conn, &prefix, after, limit)
        })
    }
}

impl Backend for SqliteBackend {
    fn current_revision(&self) -> BoxFuture<'_, Result<Revision>> {
        let revision = self.revision.load(Ordering::Acquire);
        Box::pin(std::future::ready(Ok(revision)))
    }

    fn create(&self, key: &str, value: Bytes) -> BoxFuture<'_, Result<Revision>> {
        self.submit(Op::Create {
            key: key.to_owned(),
            value,
        })
    }

    fn update(
        &self,
        key: &str,
        value: Bytes,
        expected: Revision,
    ) -> BoxFuture<'_, Result<Revision>> {
        self.submit(Op::Update {
            key: key.to_owned(),
            value,
            expected,
        })
    }

    fn delete(&self, key: &str, expected: Revision) -> BoxFuture<'_, Result<Revision>> {
        self.submit(Op::Delete {
            key: key.to_owned(),
            expected,
        })
    }

    fn get(&self, key: &str) -> BoxFuture<'_, Result<Option<KeyValue>>> {
        let key = key.to_owned();
        self.read(move |conn| get_key(conn, &key))
    }

    fn range(
        &self,
        prefix: &str,
        at: Option<Revision>,
    ) -> BoxFuture<'_, Result<(Vec<KeyValue>, Revision)>> {
        let prefix = prefix.to_owned();
        self.read(move |conn| range_at(conn, &prefix, at))
    }

    fn watch(&self, prefix: &str, after: Revision) -> BoxStream<'static, Result<BackendEvent>> {
        let feed = self.feed.lock().as_ref().map(broadcast::Sender::subscribe);
        let history = Arc::new(SqliteHistory(self.readers.clone()));
        feed::watch_stream(history, feed, prefix, after)
    }

    fn compact(&self, revision: Revision) -> BoxFuture<'_, Result<()>> {
        let done = self.submit(Op::Compact { revision });
        Box::pin(async move { done.await.map(|_| ()) })
    }

    fn compacted_revision(&self) -> BoxFuture<'_, Result<Revision>> {
        let compacted = self.compacted.load(Ordering::Acquire);
        Box::pin(std::future::ready(Ok(compacted)))
    }
}

/// The writer thread's state.
struct Writer {
    conn: Connection,
    path: PathBuf,
    /// Live key -> (create revision, mod revision), as committed.
    index: HashMap<String, (Revision, Revision)>,
    revision: Arc<AtomicI64>,
    compacted: Arc<AtomicI64>,
    feed: Arc<Mutex<Option<broadcast::Sender<Batch>>>>,
}

/// What a batch changed, applied to the writer's state once it committed.
struct Pending {
    /// Key -> its state after the batch so far (`None`: deleted).
    index: HashMap<String, Option<(Revision, Revision)>>,
    revision: Revision,
    compacted: Revision,
    events: Vec<BackendEvent>,
}

impl Writer {
    fn run(&mut self, requests: mpsc::Receiver<Request>) {
        while let Ok(first) = requests.recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match requests.try_recv() {
                    Ok(request) => batch.push(request),
                    Err(_) => break,
                }
            }
            self.commit(batch);
        }
        // Every handle is gone and the queue is drained.
        self.feed.lock().take();
    }

    fn commit(&mut self, batch: Vec<Request>) {
        let mut pending = Pending {
            index: HashMap::new(),
            revision: self.revision.load(Ordering::Acquire),
            compacted: self.compacted.load(Ordering::Acquire),
            events: Vec::new(),
        };
        let outcome = (|| {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut results = Vec::with_capacity(batch.len());
            for request in &batch {
                results.push(apply(&tx, &self.index, &mut pending, &request.op)?);
            }
            tx.commit()?;
            Ok::<_, rusqlite::Error>(results)
        })();
        let results = match outcome {
            Ok(results) => results,
            Err(error) => {
                tracing::error!(path = %self.path.display(), %error, "sqlite commit failed");
                let error = db_error(&self.path, error);
                for request in batch {
                    let _ = request.reply.send(Err(error.clone()));
                }
                return;
            }
        };
        for (key, state) in pending.index {
            match state {
                Some(revisions) => self.index.insert(key, revisions),
                None => self.index.remove(&key),
            };
        }
        self.revision.store(pending.revision, Ordering::Release);
        self.compacted.store(pending.compacted, Ordering::Release);
        if !pending.events.is_empty()
            && let Some(feed) = self.feed.lock().as_ref()
        {
            // No subscriber is not an error: the history has it.
            let _ = feed.send(Batch::from(pending.events));
        }
        for (request, result) in batch.into_iter().zip(results) {
            let _ = request.reply.send(result);
        }
    }
}

/// Checks and applies one request inside the batch's transaction. The outer error is a
/// database failure, which fails the whole batch; the inner one fails only this request.
fn apply(
    tx: &rusqlite::Transaction<'_>,
    index: &HashMap<String, (Revision, Revision)>,
    pending: &mut Pending,
    op: &Op,
) -> rusqlite::Result<Result<Revision>> {
    let live = |pending: &Pending, key: &str| match pending.index.get(key) {
        Some(state) => *state,
        None => index.get(key).copied(),
    };
    let condition = |pending: &Pending, key: &str, expected: Revision| match live(pending, key) {
        None => Err(StoreError::NotFound {
            key: key.to_owned(),
        }),
        Some((_, actual)) if actual != expected => Err(StoreError::Conflict {
            key: key.to_owned(),
            expected,
            actual,
        }),
        Some(revisions) => Ok(revisions),
    };
    match op {
        Op::Create { key, value } => {
            if live(pending, key).is_some() {
                return Ok(Err(StoreError::AlreadyExists { key: key.clone() }));
            }
            let revision = pending.revision + 1;
            insert(tx, revision, key, false, revision, 0, value)?;
            pending.revision = revision;
            pending
                .index
                .insert(key.clone(), Some((revision, revision)));
            pending.events.push(BackendEvent::Put {
                kv: KeyValue {
                    key: key.clone(),
                    value: value.clone(),
                    create_revision: revision,
                    mod_revision: revision,
                },
                prev: None,
            });
            Ok(Ok(revision))
        }
        Op::Update {
            key,
            value,
            expected,
        } => {
            let (create_revision, prev_revision) = match condition(pending, key, *expected) {
                Ok(revisions) => revisions,
                Err(error) => return Ok(Err(error)),
            };
            let revision = pending.revision + 1;
            let prev = value_at(tx, prev_revision)?;
            insert(
                tx,
                revision,
                key,
                false,
                create_revision,
                prev_revision,
                value,
            )?;
            pending.revision = revision;
            pending
                .index
                .insert(key.clone(), Some((create_revision, revision)));
            pending.events.push(BackendEvent::Put {
                kv: KeyValue {
                    key: key.clone(),
                    value: value.clone(),
                    create_revision,
                    mod_revision: revision,
                },
                prev: Some(KeyValue {
                    key: key.clone(),
                    value: prev,
                    create_revision,
                    mod_revision: prev_revision,
                }),
            });
            Ok(Ok(revision))
        }
        Op::Delete { key, expected } => {
            let (create_revision, prev_revision) = match condition(pending, key, *expected) {
                Ok(revisions) => revisions,
                Err(error) => return Ok(Err(error)),
            };
            let revision = pending.revision + 1;
            let prev = value_at(tx, prev_revision)?;
            insert(
                tx,
                revision,
                key,
                true,
                create_revision,
                prev_revision,
                &Bytes::new(),
            )?;
            pending.revision = revision;
            pending.index.insert(key.clone(), None);
            pending.events.push(BackendEvent::Delete {
                prev: KeyValue {
                    key: key.clone(),
                    value: prev,
                    create_revision,
                    mod_revision: prev_revision,
                },
                revision,
            });
            Ok(Ok(revision))
        }
        Op::Compact { revision } => {
            let revision = *revision;
            if revision <= pending.compacted {
                return Ok(Err(StoreError::Compacted {
                    requested: revision,
                    compacted: pending.compacted,
                }));
            }
            if revision > pending.revision {
                return Ok(Err(StoreError::FutureRevision {
                    requested: revision,
                    current: pending.revision,
                }));
            }
            let from = pending.compacted;
            // The rows replaced within the span, then the span's delete rows (whose replaced
            // rows the first statement removed).
            tx.prepare_cached(
                "DELETE FROM kv WHERE id IN (SELECT prev_revision FROM kv \
                 WHERE id > ?1 AND id <= ?2 AND prev_revision > 0)",
            )?
            .execute(params![from, revision])?;
            tx.prepare_cached("DELETE FROM kv WHERE id > ?1 AND id <= ?2 AND deleted = 1")?
                .execute(params![from, revision])?;
            tx.prepare_cached(
                "INSERT INTO meta (key, value) VALUES ('compacted', ?1) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![revision])?;
            pending.compacted = revision;
            Ok(Ok(revision))
        }
    }
}

fn insert(
    tx: &rusqlite::Transaction<'_>,
    revision: Revision,
    key: &str,
    deleted: bool,
    create_revision: Revision,
    prev_revision: Revision,
    value: &Bytes,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO kv (id, name, created, deleted, create_revision, prev_revision, value) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        revision,
        key.as_bytes(),
        create_revision == revision,
        deleted,
        create_revision,
        prev_revision,
        value.as_ref(),
    ])?;
    Ok(())
}

fn value_at(tx: &rusqlite::Transaction<'_>, revision: Revision) -> rusqlite::Result<Bytes> {
    let value: Vec<u8> = tx
        .prepare_cached("SELECT value FROM kv WHERE id = ?1")?
        .query_row(params![revision], |row| row.get(0))?;
    Ok(Bytes::from(value))
}
