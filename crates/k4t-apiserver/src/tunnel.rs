//! Reaching node agents for the streaming subresources (`pods/{name}/log`, `exec`,
//! `attach`, `portforward`) over connections the agents open, so an agent behind NAT or a
//! firewall is reachable as long as it reaches the API server.
//!
//! An agent keeps one control request open (`GET /k4t/v1/nodes/{node}/tunnel`, a stream of
//! `dial <id>` lines). To reach it, the API server writes a `dial` line and waits for the
//! agent to open a fresh connection (`GET /k4t/v1/tunnels/{id}`, upgraded to raw bytes); on
//! that reversed connection the API server is the HTTP client and the agent serves the
//! kubelet-style request (`/containerLogs/…`, `/exec/…`, `/portForward/…`). Upgrades
//! (WebSocket, SPDY) pass through untouched: the API server splices the client's upgraded
//! connection to the agent's.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use k4t_api::error::ApiError;
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};

/// The upgrade token of a reverse connection.
pub const TUNNEL_PROTOCOL: &str = "k4t-tunnel";

/// How long the API server waits for an agent to dial back.
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);

/// How often an idle control stream carries a keep-alive line, so a dead agent is noticed.
const KEEPALIVE: Duration = Duration::from_secs(15);

#[derive(Default)]
pub(crate) struct Tunnels {
    nodes: Mutex<HashMap<String, (u64, mpsc::Sender<u64>)>>,
    pending: Mutex<HashMap<u64, oneshot::Sender<Upgraded>>>,
    next: AtomicU64,
}

/// Removes a node's registration when its control stream ends, unless a newer one took over.
struct Registration {
    tunnels: Arc<Tunnels>,
    node: String,
    generation: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut nodes = self.tunnels.nodes.lock();
        if nodes
            .get(&self.node)
            .is_some_and(|(g, _)| *g == self.generation)
        {
            nodes.remove(&self.node);
            tracing::info!(node = %self.node, "node agent tunnel closed");
        }
    }
}

impl Tunnels {
    /// `GET /k4t/v1/nodes/{node}/tunnel`: the agent's control stream.
    pub(crate) fn control(
        self: &Arc<Self>,
        node: &str,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Response<Body> {
        let (tx, rx) = mpsc::channel::<u64>(64);
        let generation = self.next.fetch_add(1, Ordering::Relaxed);
        self.nodes.lock().insert(node.to_owned(), (generation, tx));
        tracing::info!(%node, "node agent tunnel open");
        let reg = Registration {
            tunnels: self.clone(),
            node: node.to_owned(),
            generation,
        };
        // The stream ends with the server, so a stopping server does not wait for it.
        let lines = futures::stream::unfold(
            (rx, reg, shutdown),
            |(mut rx, reg, mut shutdown)| async move {
                let line = tokio::select! {
                    next = tokio::time::timeout(KEEPALIVE, rx.recv()) => match next {
                        Ok(Some(id)) => format!("dial {id}\n"),
                        Ok(None) => return None,
                        Err(_) => "\n".to_owned(),
                    },
                    _ = crate::stopped(&mut shutdown) => return None,
                };
                Some((
                    Ok::<_, std::io::Error>(Bytes::from(line)),
                    (rx, reg, shutdown),
                ))
            },
        );
        let mut resp = Response::new(Body::from_stream(lines));
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        resp
    }

    /// `GET /k4t/v1/tunnels/{id}` with `Upgrade: k4t-tunnel`: an agent dialling back.
    pub(crate) fn accept(&self, id: &str, req: &mut Request<Body>) -> Response<Body> {
        let Some(waiter) = id
            .parse::<u64>()
            .ok()
            .and_then(|id| self.pending.lock().remove(&id))
        else {
            return crate::respond::error(&ApiError::not_found("", "tunnels", id));
        };
        let upgrades = req.headers().get(header::UPGRADE).is_some_and(|v| {
            v.as_bytes()
                .eq_ignore_ascii_case(TUNNEL_PROTOCOL.as_bytes())
        });
        let Some(on_upgrade) = upgrades
            .then(|| req.extensions_mut().remove::<hyper::upgrade::OnUpgrade>())
            .flatten()
        else {
            return crate::respond::error(&ApiError::BadRequest(format!(
                "a tunnel connection must upgrade to {TUNNEL_PROTOCOL}"
            )));
        };
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(io) => {
                    let _ = waiter.send(io);
                }
                Err(e) => tracing::warn!(error = %e, "upgrading a tunnel connection"),
            }
        });
        let mut resp = Response::new(Body::empty());
        *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        resp.headers_mut()
            .insert(header::UPGRADE, HeaderValue::from_static(TUNNEL_PROTOCOL));
        resp
    }

    /// A fresh connection to the agent of `node`.
    async fn dial(&self, node: &str) -> Result<Upgraded, ApiError> {
        let unreachable = || {
            ApiError::ServiceUnavailable(format!(
                "error dialing backend: the node agent of node \"{node}\" is not connected"
            ))
        };
        let sender = self
            .nodes
            .lock()
            .get(node)
            .map(|(_, tx)| tx.clone())
            .ok_or_else(unreachable)?;
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().insert(id, tx);
        let result = async {
            sender.send(id).await.map_err(|_| unreachable())?;
            tokio::time::timeout(DIAL_TIMEOUT, rx)
                .await
                .map_err(|_| {
                    ApiError::ServiceUnavailable(format!(
                        "error dialing backend: the node agent of node \"{node}\" did not connect back in {DIAL_TIMEOUT:?}"
                    ))
                })?
                .map_err(|_| unreachable())
        }
        .await;
        self.pending.lock().remove(&id);
        result
    }

    /// Sends `req` (its method, headers and body) to `path_and_query` on the agent of
    /// `node` and relays the answer: a body streamed back, or an upgrade spliced through.
    pub(crate) async fn proxy(
        &self,
        node: &str,
        path_and_query: &str,
        mut req: Request<Body>,
    ) -> Result<Response<Body>, ApiError> {
        let io = self.dial(node).await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| ApiError::Internal(format!("talking to the node agent of {node}: {e}")))?;
        tokio::spawn(async move {
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!(error = %e, "node agent connection");
            }
        });
        let client_upgrade = req.extensions_mut().remove::<hyper::upgrade::OnUpgrade>();
        let mut out = Request::builder()
            .method(req.method().clone())
            .uri(path_and_query);
        for (k, v) in req.headers() {
            if k == header::AUTHORIZATION || k == header::HOST {
                continue;
            }
            out = out.header(k, v);
        }
        let out = out
            .header(header::HOST, "agent")
            .body(std::mem::take(req.body_mut()))
            .map_err(|e| ApiError::Internal(format!("building the agent request: {e}")))?;
        let mut resp = sender
            .send_request(out)
            .await
            .map_err(|e| ApiError::Internal(format!("talking to the node agent of {node}: {e}")))?;
        if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
            let Some(client_upgrade) = client_upgrade else {
                return Err(ApiError::BadRequest(
                    "the node agent upgraded a request that asked for no upgrade".to_owned(),
                ));
            };
            let agent_upgrade = hyper::upgrade::on(&mut resp);
            tokio::spawn(async move {
                let (Ok(client), Ok(agent)) = (client_upgrade.await, agent_upgrade.await) else {
                    return;
                };
                let mut client = TokioIo::new(client);
                let mut agent = TokioIo::new(agent);
                let _ = tokio::io::copy_bidirectional(&mut client, &mut agent).await;
            });
            let (parts, _) = resp.into_parts();
            return Ok(Response::from_parts(parts, Body::empty()));
        }
        let (parts, body) = resp.into_parts();
        Ok(Response::from_parts(parts, Body::new(body)))
    }
}
