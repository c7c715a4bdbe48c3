//! k4t's Kubernetes API server.
//!
//! It owns the HTTPS listener, authentication, the REST verbs over the store, watch streams,
//! discovery and OpenAPI. The rules of each verb (defaulting, validation, graceful deletion…)
//! are pure functions in `k4t-api`; this crate feeds them the stored objects and writes what
//! they return. It is the only component that touches the store.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use k4t_api::clock::{Clock, SystemClock};
use k4t_store::Store;
use tokio::sync::watch;

mod admission;
pub mod decorator;
mod handler;
mod housekeeping;
pub mod pki;
mod query;
mod resources;
pub mod respond;
pub mod route;
mod serve;
mod streaming;
mod tunnel;
mod watch_stream;

pub use serve::Running;

/// Which backend holds the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreKind {
    /// SQLite revision log at `<data-dir>/store.db`.
    Sqlite {
        durability: k4t_store::sqlite::Durability,
    },
    /// In memory (tests).
    Memory,
}

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub bind: SocketAddr,
    /// Extra names and addresses for the serving certificate.
    pub tls_sans: Vec<String>,
    pub store: StoreKind,
    pub store_config: k4t_store::StoreConfig,
    /// How long events live (Kubernetes: 1 h).
    pub event_ttl: Duration,
    /// Watches without `timeoutSeconds` end after a random time between this and twice this
    /// (Kubernetes' `--min-request-timeout`, 1800 s).
    pub min_request_timeout: Duration,
    /// How often watches that allow bookmarks get one.
    pub bookmark_interval: Duration,
}

impl Config {
    pub fn new(data_dir: PathBuf, bind: SocketAddr) -> Self {
        Self {
            data_dir,
            bind,
            tls_sans: Vec::new(),
            store: StoreKind::Sqlite {
                durability: k4t_store::sqlite::Durability::Full,
            },
            store_config: k4t_store::StoreConfig::default(),
            event_ttl: Duration::from_secs(3600),
            min_request_timeout: Duration::from_secs(1800),
            bookmark_interval: Duration::from_secs(60),
        }
    }
}

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("preparing certificates and tokens in {dir}: {source}")]
    Pki { dir: PathBuf, source: pki::PkiError },
    #[error("opening the store: {0}")]
    Store(#[from] k4t_store::StoreError),
    #[error("binding {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("tls configuration: {0}")]
    Tls(String),
    #[error("creating data directory {dir}: {source}")]
    DataDir {
        dir: PathBuf,
        source: std::io::Error,
    },
}

/// State shared by every request.
pub(crate) struct Shared {
    pub store: Arc<Store>,
    pub clock: Arc<dyn Clock>,
    pub token: String,
    pub server_address: String,
    pub config: Config,
    pub shutdown: watch::Receiver<bool>,
    /// Serializes Service creates so two cannot take the same address.
    pub service_lock: tokio::sync::Mutex<()>,
    /// Connections to node agents, for the streaming subresources.
    pub tunnels: Arc<tunnel::Tunnels>,
}

/// Starts the API server; it runs until [`Running::shutdown`].
pub async fn start(config: Config) -> Result<Running, StartError> {
    start_with_clock(config, Arc::new(SystemClock)).await
}

/// [`start`] with an injected wall clock.
pub async fn start_with_clock(
    config: Config,
    clock: Arc<dyn Clock>,
) -> Result<Running, StartError> {
    serve::start(config, clock).await
}

/// Resolves when the shutdown signal is raised (or its sender is gone).
pub(crate) async fn stopped(rx: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not Send: drop it before the future ends.
    let _ = rx.wait_for(|s| *s).await.map(|_| ());
}
