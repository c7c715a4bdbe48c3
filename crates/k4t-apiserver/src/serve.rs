//! The HTTPS listener: TLS (rustls), HTTP/1.1 and HTTP/2 (hyper), one task per connection,
//! and an orderly shutdown that ends watches and waits for in-flight requests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use k4t_api::clock::Clock;
use k4t_store::Store;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::pki::{self, Identity};
use crate::{Config, Shared, StartError, StoreKind, decorator, handler, housekeeping};

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub identity: Identity,
    /// `https://<addr>` as clients on this machine reach it.
    pub url: String,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    store: Arc<Store>,
}

impl Running {
    /// The store behind the server (for in-process tests and benchmarks).
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Stops accepting, ends watches, waits (bounded) for requests in flight.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

fn tls_acceptor(identity: &Identity) -> Result<TlsAcceptor, StartError> {
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(identity.cert_pem.as_bytes())
            .chain(CertificateDer::pem_slice_iter(identity.ca_pem.as_bytes()))
            .collect::<Result<_, _>>()
            .map_err(|e| StartError::Tls(e.to_string()))?;
    let key = PrivateKeyDer::from_pem_slice(identity.key_pem.as_bytes())
        .map_err(|e| StartError::Tls(e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StartError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| StartError::Tls(e.to_string()))?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(cfg)))
}

pub(crate) async fn start(config: Config, clock: Arc<dyn Clock>) -> Result<Running, StartError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::DataDir {
        dir: config.data_dir.clone(),
        source,
    })?;
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.bind,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.bind,
        source,
    })?;
    let client_host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        addr.ip().to_string()
    };
    let url = if client_host.contains(':') {
        format!("https://[{client_host}]:{}", addr.port())
    } else {
        format!("https://{client_host}:{}", addr.port())
    };
    let mut names = config.tls_sans.clone();
    if !addr.ip().is_unspecified() {
        names.push(addr.ip().to_string());
    }
    let identity =
        pki::ensure(&config.data_dir, &url, &pki::serving_names(&names)).map_err(|source| {
            StartError::Pki {
                dir: config.data_dir.clone(),
                source,
            }
        })?;
    let acceptor = tls_acceptor(&identity)?;

    let backend: Arc<dyn k4t_store::Backend> = match &config.store {
        StoreKind::Sqlite { durability } => Arc::new(k4t_store::sqlite::SqliteBackend::open(
            &config.data_dir.join("store.db"),
            *durability,
        )?),
        StoreKind::Memory => Arc::new(k4t_store::memory::MemoryBackend::new()),
    };
    let store = Store::open(
        backend,
        Arc::new(decorator::KubeDecorator),
        config.store_config.clone(),
    )
    .await?;

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let shared = Arc::new(Shared {
        store: store.clone(),
        clock,
        token: identity.token.clone(),
        server_address: format!("{client_host}:{}", addr.port()),
        config,
        shutdown: shutdown_rx.clone(),
        service_lock: tokio::sync::Mutex::new(()),
        tunnels: Arc::default(),
    });
    housekeeping::bootstrap(&shared).await;
    let housekeeping_task = tokio::spawn(housekeeping::run(shared.clone()));

    let task = tokio::spawn(accept_loop(
        listener,
        acceptor,
        shared,
        shutdown_rx,
        housekeeping_task,
    ));
    tracing::info!(%url, kubeconfig = %identity.kubeconfig.display(), "api server listening");
    Ok(Running {
        addr,
        identity,
        url,
        shutdown: shutdown_tx,
        task,
        store,
    })
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
    housekeeping_task: tokio::task::JoinHandle<()>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                let shared = shared.clone();
                let mut conn_shutdown = shutdown.clone();
                conns.spawn(async move {
                    let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => tls,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "tls handshake failed");
                            return;
                        }
                        Err(_) => return,
                    };
                    let service = hyper::service::service_fn(move |req| {
                        let shared = shared.clone();
                        async move { Ok::<_, std::convert::Infallible>(handler::handle(shared, req).await) }
                    });
                    let builder = auto::Builder::new(TokioExecutor::new());
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
                    tokio::pin!(conn);
                    tokio::select! {
                        res = conn.as_mut() => {
                            if let Err(e) = res {
                                tracing::debug!(%peer, error = %e, "connection ended with an error");
                            }
                        }
                        _ = crate::stopped(&mut conn_shutdown) => {
                            conn.as_mut().graceful_shutdown();
                            let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
                        }
                    }
                });
            }
            _ = crate::stopped(&mut shutdown) => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    housekeeping_task.abort();
    tracing::info!("api server stopped");
}
