//! The agent's side of the tunnel to the API server (see the API server's `tunnel.rs`): it
//! keeps a control request open and, for each `dial <id>` line, opens a connection back that
//! it upgrades to raw bytes and serves the streaming endpoints on (`stream.rs`). Every
//! connection goes from the agent to the API server, so an agent behind NAT is reachable.

use std::sync::Arc;
use std::time::Duration;

use futures::{AsyncBufReadExt as _, StreamExt as _};
use http::{Request, StatusCode, header};
use kube::Client;
use tokio::sync::watch;

use crate::stream::StreamServer;

/// The upgrade token of a reverse connection (the API server's `TUNNEL_PROTOCOL`).
const TUNNEL_PROTOCOL: &str = "k4t-tunnel";

/// Keeps the control stream open until `shutdown`, reconnecting after failures.
pub async fn run(
    client: Client,
    node: String,
    server: Arc<StreamServer>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut delay = Duration::from_millis(200);
    loop {
        let req = Request::get(format!("/k4t/v1/nodes/{node}/tunnel"))
            .body(Vec::new())
            .unwrap_or_default();
        let session = async {
            let reader = client.request_stream(req).await?;
            let mut lines = reader.lines();
            while let Some(line) = lines.next().await {
                let line = line.map_err(kube::Error::ReadEvents)?;
                if let Some(id) = line.strip_prefix("dial ") {
                    let (client, server, id) = (client.clone(), server.clone(), id.to_owned());
                    tokio::spawn(async move {
                        if let Err(e) = dial(client, &id, server).await {
                            tracing::warn!(error = %e, "opening a tunnel connection to the API server");
                        }
                    });
                }
            }
            Ok::<_, kube::Error>(())
        };
        let started = tokio::time::Instant::now();
        tokio::select! {
            r = session => {
                if let Err(e) = r {
                    tracing::warn!(error = %e, "the tunnel to the API server broke; reconnecting");
                }
            }
            _ = crate::agent::stopped(&mut shutdown) => return,
        }
        // A session that lasted a while resets the back-off.
        if started.elapsed() > Duration::from_secs(30) {
            delay = Duration::from_millis(200);
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = crate::agent::stopped(&mut shutdown) => return,
        }
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

#[derive(Debug, thiserror::Error)]
enum DialError {
    #[error("{0}")]
    Kube(#[from] kube::Error),
    #[error("the API server answered {0} instead of switching protocols")]
    NotUpgraded(StatusCode),
    #[error("upgrading: {0}")]
    Upgrade(#[from] hyper::Error),
}

/// Opens one reverse connection and serves one streaming request (with its upgrade) on it.
async fn dial(client: Client, id: &str, server: Arc<StreamServer>) -> Result<(), DialError> {
    let req = Request::get(format!("/k4t/v1/tunnels/{id}"))
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, TUNNEL_PROTOCOL)
        .body(kube::client::Body::from(Vec::new()))
        .map_err(|e| DialError::Kube(kube::Error::HttpError(e)))?;
    let resp = client.send(req).await?;
    if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
        return Err(DialError::NotUpgraded(resp.status()));
    }
    let io = hyper::upgrade::on(resp).await?;
    let service = hyper::service::service_fn(move |req| server.clone().handle(req));
    // The API server is the client on this connection; it closes it when the request (and
    // any upgraded stream) is done.
    hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .with_upgrades()
        .await?;
    Ok(())
}
