//! Measures the store: acknowledged SQLite creates per second from concurrent writers (straight
//! to the backend and through the watch cache), list latency from the cache, and watch fan-out.
//!
//! `cargo run --release -p k4t-store --example bench -- [DIR] [CREATES]`; the databases go to a
//! temporary directory inside DIR (default: the system's temporary directory).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use k4t_store::sqlite::{Durability, SqliteBackend};
use k4t_store::{Backend, ListOptions, Plain, Store, StoreConfig};
use tokio::time::Instant;

const WRITERS: usize = 8;

fn pod(i: usize) -> Bytes {
    let mut json = format!(
        r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"web-{i}","namespace":"default","labels":{{"app":"web"}}}},"spec":{{"containers":[{{"name":"web","image":"nginx:1.27"}}]}},"status":{{"phase":"Pending","message":""#
    );
    // About a kilobyte, the size of a small pod.
    json.push_str(&"x".repeat(700));
    json.push_str(r#""}}"#);
    Bytes::from(json)
}

/// `count` creates from `WRITERS` tasks through `create`; returns creates per second.
async fn creates<F, Fut>(count: usize, create: F) -> f64
where
    F: Fn(String, Bytes) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let create = create.clone();
        tasks.push(tokio::spawn(async move {
            for i in (w..count).step_by(WRITERS) {
                create(format!("/registry/pods/default/web-{i}"), pod(i)).await;
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer");
    }
    count as f64 / start.elapsed().as_secs_f64()
}

fn config() -> StoreConfig {
    StoreConfig {
        compact_interval: Duration::ZERO,
        ..StoreConfig::default()
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let parent = args.next().map_or_else(std::env::temp_dir, Into::into);
    let count: usize = args
        .next()
        .map_or(20_000, |n| n.parse().expect("CREATES is a number"));
    let dir = tempfile::tempdir_in(&parent).expect("temporary directory");
    println!(
        "{WRITERS} writers, {count} creates of {} bytes, in {}",
        pod(0).len(),
        parent.display()
    );

    for durability in [Durability::Full, Durability::Normal] {
        let path = dir.path().join(format!("backend-{durability:?}.db"));
        let backend: Arc<dyn Backend> =
            Arc::new(SqliteBackend::open(&path, durability).expect("open"));
        let b = backend.clone();
        let rate = creates(count, move |key, value| {
            let b = b.clone();
            async move {
                b.create(&key, value).await.expect("create");
            }
        })
        .await;
        println!("sqlite {durability:?}: {rate:.0} acknowledged creates/s (backend)");

        let path = dir.path().join(format!("store-{durability:?}.db"));
        let backend: Arc<dyn Backend> =
            Arc::new(SqliteBackend::open(&path, durability).expect("open"));
        let store = Store::open(backend, Arc::new(Plain), config())
            .await
            .expect("store");
        let s = store.clone();
        let rate = creates(count, move |key, value| {
            let s = s.clone();
            async move {
                s.create(&key, value).await.expect("create");
            }
        })
        .await;
        println!("sqlite {durability:?}: {rate:.0} acknowledged creates/s (through the cache)");
    }

    // Lists of 10,000 objects from the cache.
    let path = dir.path().join("list.db");
    let backend: Arc<dyn Backend> =
        Arc::new(SqliteBackend::open(&path, Durability::Normal).expect("open"));
    let store = Store::open(backend, Arc::new(Plain), config())
        .await
        .expect("store");
    let s = store.clone();
    creates(10_000, move |key, value| {
        let s = s.clone();
        async move {
            s.create(&key, value).await.expect("create");
        }
    })
    .await;
    store
        .create("/registry/services/default/web", pod(0))
        .await
        .expect("create");
    let rounds = 200;
    let start = Instant::now();
    for _ in 0..rounds {
        let list = store
            .list(ListOptions::prefix("/registry/pods/"))
            .await
            .expect("list");
        assert_eq!(list.items.len(), 10_000);
    }
    let full = start.elapsed() / rounds;
    let start = Instant::now();
    let mut pages = 0;
    let mut after: Option<String> = None;
    let at = store.revision();
    loop {
        let page = store
            .list(ListOptions {
                at: Some(at),
                start_after: after.as_deref(),
                limit: Some(500),
                ..ListOptions::prefix("/registry/pods/")
            })
            .await
            .expect("list");
        pages += 1;
        match page.continue_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let paged = start.elapsed();
    let app = |object: &k4t_store::Object| object.value.len() > 10;
    let start = Instant::now();
    for _ in 0..rounds {
        store
            .list(ListOptions {
                filter: Some(&app),
                ..ListOptions::prefix("/registry/pods/")
            })
            .await
            .expect("list");
    }
    let filtered = start.elapsed() / rounds;
    println!(
        "list of 10,000 from the cache: {full:?} (with a filter: {filtered:?}); \
         {pages} pages of 500 at a fixed revision: {paged:?} in all"
    );

    // Fan-out: 100 watchers of every pod while 8 writers create.
    let watchers = 100;
    let events = 5_000;
    let from = store.revision();
    let mut tasks = Vec::new();
    for _ in 0..watchers {
        let mut watch = store.watch("/registry/pods/", from).expect("watch");
        tasks.push(tokio::spawn(async move {
            let mut seen = 0;
            while seen < events {
                match watch.next().await {
                    Some(Ok(_)) => seen += 1,
                    other => panic!("watch ended: {other:?}"),
                }
            }
        }));
    }
    let start = Instant::now();
    let s = store.clone();
    let rate = creates(events, move |key, value| {
        let s = s.clone();
        async move {
            let key = key.replace("web-", "fan-");
            s.create(&key, value).await.expect("create");
        }
    })
    .await;
    for task in tasks {
        task.await.expect("watcher");
    }
    let elapsed = start.elapsed();
    println!(
        "{watchers} watchers x {events} events: all delivered in {elapsed:?} \
         ({:.0} deliveries/s; writers at {rate:.0} creates/s, Normal)",
        (watchers * events) as f64 / elapsed.as_secs_f64()
    );
}
