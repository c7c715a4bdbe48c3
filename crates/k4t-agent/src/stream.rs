//! The agent's streaming endpoints, the kubelet's paths: `/containerLogs/{ns}/{pod}/{c}`,
//! `/exec/{ns}/{pod}/{c}`, `/attach/{ns}/{pod}/{c}`, `/portForward/{ns}/{pod}`. The API
//! server has already checked the request against the pod and names the container instance
//! (`containerID`) or the pod (`uid`); this side reads the log files, runs the command,
//! attaches, or dials the port. Exec and attach speak the channel protocol over WebSocket
//! (v5, v4) or SPDY (v4); port-forward speaks SPDY (in a WebSocket or plain) or the
//! WebSocket channel protocol. It is served over the tunnel the agent opens to the API
//! server (`tunnel.rs`).

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt as _, StreamExt as _};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt as _, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use k4t_api::error::ApiError;
use k4t_runtime::{ContainerState, ExecSession, Runtime, RuntimeError};
use k4t_stream::channel::{self, Incoming as ChannelIn, Outcome, Version};
use k4t_stream::logs::{self, LogOptions};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;

pub type Body = BoxBody<Bytes, io::Error>;

/// The WebSocket subprotocol of port-forward: SPDY/3.1 carried in binary messages.
pub const PORT_FORWARD_WS: &str = "SPDY/3.1+portforward.k8s.io";
/// The SPDY upgrade's protocol header value for port-forward.
pub const PORT_FORWARD_SPDY: &str = "portforward.k8s.io";

/// Serves the streaming endpoints for the containers of one runtime.
pub struct StreamServer {
    runtime: Arc<dyn Runtime>,
}

fn full(b: impl Into<Bytes>) -> Body {
    http_body_util::Full::new(b.into())
        .map_err(|never| match never {})
        .boxed()
}

fn error(err: &ApiError) -> Response<Body> {
    let mut resp = Response::new(full(err.status_body().to_string()));
    *resp.status_mut() =
        StatusCode::from_u16(err.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn bad(msg: impl Into<String>) -> Response<Body> {
    error(&ApiError::BadRequest(msg.into()))
}

/// `process://abc` → `abc`.
fn strip_scheme(id: &str) -> &str {
    id.split_once("://").map_or(id, |(_, rest)| rest)
}

struct Params(HashMap<String, Vec<String>>);

impl Params {
    fn parse(q: Option<&str>) -> Self {
        let mut m: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in form_urlencoded::parse(q.unwrap_or("").as_bytes()) {
            m.entry(k.into_owned()).or_default().push(v.into_owned());
        }
        Params(m)
    }

    fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).and_then(|v| v.last()).map(String::as_str)
    }

    fn all(&self, k: &str) -> Vec<String> {
        self.0.get(k).cloned().unwrap_or_default()
    }

    fn flag(&self, k: &str) -> bool {
        matches!(self.get(k), Some("true" | "1" | "True"))
    }

    fn int(&self, k: &str) -> Result<Option<i64>, String> {
        match self.get(k) {
            None | Some("") => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .map(Some)
                .map_err(|_| format!("invalid value for {k}: {v:?}")),
        }
    }
}

impl StreamServer {
    pub fn new(runtime: Arc<dyn Runtime>) -> Self {
        Self { runtime }
    }

    pub async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> Result<Response<Body>, Infallible> {
        let path = req.uri().path().to_owned();
        let segs: Vec<String> = path.split('/').skip(1).map(percent_decode).collect();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let params = Params::parse(req.uri().query());
        let resp = match (req.method(), segs.as_slice()) {
            (&Method::GET, ["containerLogs", _ns, _pod, _c]) => self.logs(&params).await,
            (&Method::GET | &Method::POST, ["exec", _ns, _pod, _c]) => {
                self.exec(&params, req).await
            }
            (&Method::GET | &Method::POST, ["attach", _ns, _pod, _c]) => {
                self.attach(&params, req).await
            }
            (&Method::GET | &Method::POST, ["portForward", ns, pod]) => {
                let pod = format!("{ns}/{pod}");
                self.port_forward(&params, pod, req).await
            }
            _ => error(&ApiError::UnknownPath),
        };
        Ok(resp)
    }

    async fn logs(&self, p: &Params) -> Response<Body> {
        let id = strip_scheme(p.get("containerID").unwrap_or("")).to_owned();
        let status = match self.runtime.container_status(&id).await {
            Ok(s) => s,
            Err(RuntimeError::ContainerNotFound(_)) => {
                return error(&ApiError::not_found("", "containers", &id));
            }
            Err(e) => return error(&ApiError::Internal(e.to_string())),
        };
        let mut opts = LogOptions {
            follow: p.flag("follow"),
            timestamps: p.flag("timestamps"),
            ..LogOptions::default()
        };
        match p.int("tailLines") {
            Ok(Some(n)) if n < 0 => {
                return bad("tailLines: Invalid value: must be greater than or equal to 0");
            }
            Ok(n) => opts.tail_lines = n.map(|n| n as u64),
            Err(msg) => return bad(msg),
        }
        match p.int("limitBytes") {
            Ok(Some(n)) if n < 1 => {
                return bad("limitBytes: Invalid value: must be greater than 0");
            }
            Ok(n) => opts.limit_bytes = n.map(|n| n as u64),
            Err(msg) => return bad(msg),
        }
        let now = jiff::Timestamp::now().as_nanosecond();
        match p.int("sinceSeconds") {
            Ok(Some(n)) if n < 1 => {
                return bad("sinceSeconds: Invalid value: must be greater than 0");
            }
            Ok(Some(n)) => opts.since_nanos = Some(now - i128::from(n) * 1_000_000_000),
            Ok(None) => {}
            Err(msg) => return bad(msg),
        }
        if let Some(t) = p.get("sinceTime").filter(|t| !t.is_empty()) {
            match t.parse::<jiff::Timestamp>() {
                Ok(ts) => opts.since_nanos = Some(ts.as_nanosecond()),
                Err(e) => return bad(format!("invalid sinceTime {t:?}: {e}")),
            }
        }
        let (tx, rx) = mpsc::channel::<Bytes>(16);
        let runtime = self.runtime.clone();
        let running: logs::IsRunning = Box::new(move || {
            let runtime = runtime.clone();
            let id = id.clone();
            Box::pin(async move {
                runtime
                    .container_status(&id)
                    .await
                    .is_ok_and(|s| s.state == ContainerState::Running)
            })
        });
        tokio::spawn(logs::follow(status.log_path.clone(), opts, running, tx));
        let body = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv()
                .await
                .map(|b| (Ok::<_, io::Error>(Frame::data(b)), rx))
        });
        let mut resp = Response::new(BoxBody::new(StreamBody::new(body)));
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        resp
    }

    async fn exec(&self, p: &Params, req: Request<Incoming>) -> Response<Body> {
        let argv = p.all("command");
        if argv.is_empty() || argv[0].is_empty() {
            return bad("you must specify at least 1 command");
        }
        self.channel_session(p, req, |runtime, id, stdin, tty| {
            Box::pin(async move { runtime.exec(&id, &argv, stdin, tty).await })
        })
        .await
    }

    async fn attach(&self, p: &Params, req: Request<Incoming>) -> Response<Body> {
        self.channel_session(p, req, |runtime, id, _, _| {
            Box::pin(async move { runtime.attach(&id).await })
        })
        .await
    }

    /// Upgrades an exec or attach request to the channel protocol over WebSocket and runs
    /// the session `start` opens.
    async fn channel_session(
        &self,
        p: &Params,
        mut req: Request<Incoming>,
        start: impl FnOnce(
            Arc<dyn Runtime>,
            String,
            bool,
            bool,
        )
            -> futures::future::BoxFuture<'static, Result<ExecSession, RuntimeError>>,
    ) -> Response<Body> {
        let upgrade = upgrade_token(&req);
        // WebSocket (kubectl 1.30+, client libraries) or SPDY (older kubectl, and kubectl's
        // fallback when a WebSocket upgrade is refused on the way).
        let version = if upgrade == "websocket" {
            let offered: Vec<String> = req
                .headers()
                .get_all(header::SEC_WEBSOCKET_PROTOCOL)
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_owned))
                .collect();
            match channel::negotiate(offered.iter().map(String::as_str)) {
                Some(v) => Some(v),
                None => {
                    return bad(format!(
                        "unsupported subprotocols {offered:?}: this server speaks {}",
                        channel::PROTOCOLS.join(", ")
                    ));
                }
            }
        } else if upgrade.starts_with("spdy/3.1") {
            let offers_v4 = req
                .headers()
                .get_all("x-stream-protocol-version")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .any(|p| p.trim() == channel::PROTOCOLS[1]);
            if !offers_v4 {
                return bad(format!(
                    "unsupported stream protocols: over SPDY this server speaks {}",
                    channel::PROTOCOLS[1]
                ));
            }
            None
        } else {
            return bad(
                "streaming needs a WebSocket upgrade (v5.channel.k8s.io, v4.channel.k8s.io) or a SPDY/3.1 upgrade (v4.channel.k8s.io)",
            );
        };
        let (stdin, stdout, stderr, tty) = (
            p.flag("stdin"),
            p.flag("stdout"),
            p.flag("stderr"),
            p.flag("tty"),
        );
        if !stdin && !stdout && !stderr {
            return bad("you must specify at least 1 of stdin, stdout, stderr");
        }
        let id = strip_scheme(p.get("containerID").unwrap_or("")).to_owned();
        let session = match start(self.runtime.clone(), id, stdin, tty).await {
            Ok(s) => s,
            Err(RuntimeError::ContainerNotFound(_)) => {
                return bad(format!(
                    "container not found ({:?})",
                    p.get("container").unwrap_or("")
                ));
            }
            Err(e) => return error(&ApiError::Internal(e.to_string())),
        };
        let Some(version) = version else {
            let on_upgrade = hyper::upgrade::on(&mut req);
            tokio::spawn(async move {
                match on_upgrade.await {
                    Ok(io) => {
                        let want = SpdyStreams {
                            stdin,
                            stdout,
                            stderr: stderr && !tty,
                            tty,
                        };
                        run_spdy_exec(TokioIo::new(io), session, want).await;
                    }
                    Err(e) => tracing::debug!(error = %e, "stream upgrade"),
                }
            });
            let mut resp = Response::new(full(Bytes::new()));
            *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
            let h = resp.headers_mut();
            h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
            h.insert(header::UPGRADE, HeaderValue::from_static("SPDY/3.1"));
            h.insert(
                "x-stream-protocol-version",
                HeaderValue::from_static(channel::PROTOCOLS[1]),
            );
            return resp;
        };
        let Some(resp) = ws_accept(&req, version.name()) else {
            return bad("missing Sec-WebSocket-Key");
        };
        let on_upgrade = hyper::upgrade::on(&mut req);
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(io) => {
                    let ws = WebSocketStream::from_raw_socket(TokioIo::new(io), Role::Server, None)
                        .await;
                    run_exec(ws, version, session, stdout, stderr).await;
                }
                Err(e) => tracing::debug!(error = %e, "stream upgrade"),
            }
        });
        resp
    }

    async fn port_forward(
        &self,
        p: &Params,
        pod: String,
        mut req: Request<Incoming>,
    ) -> Response<Body> {
        let uid = p.get("uid").unwrap_or("").to_owned();
        let sandbox = match self.runtime.list_pod(&uid).await {
            Ok(l) => l
                .sandboxes
                .into_iter()
                .filter(|s| s.state == k4t_runtime::SandboxState::Ready)
                .max_by_key(|s| s.created_at)
                .map(|s| s.id),
            Err(e) => return error(&ApiError::Internal(e.to_string())),
        };
        let Some(sandbox) = sandbox else {
            return bad(format!("pod {pod} has no running sandbox on this node"));
        };
        let dialer: Arc<dyn k4t_stream::portforward::Dialer> = Arc::new(SandboxDialer {
            runtime: self.runtime.clone(),
            sandbox: sandbox.clone(),
        });
        let upgrade = upgrade_token(&req);
        if upgrade == "websocket" && !ws_offers(&req, PORT_FORWARD_WS) {
            return self
                .channel_port_forward(p, &pod, sandbox, dialer, req)
                .await;
        }
        if upgrade == "websocket" {
            let offered: Vec<String> = req
                .headers()
                .get_all(header::SEC_WEBSOCKET_PROTOCOL)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(',').map(|s| s.trim().to_owned()))
                .collect();
            if !offered.iter().any(|o| o == PORT_FORWARD_WS) {
                return bad(format!(
                    "unsupported port-forward subprotocols {offered:?}: this server speaks {PORT_FORWARD_WS}"
                ));
            }
            let Some(resp) = ws_accept(&req, PORT_FORWARD_WS) else {
                return bad("missing Sec-WebSocket-Key");
            };
            let on_upgrade = hyper::upgrade::on(&mut req);
            tokio::spawn(async move {
                let Ok(io) = on_upgrade.await else { return };
                let ws =
                    WebSocketStream::from_raw_socket(TokioIo::new(io), Role::Server, None).await;
                let bytes = ws_byte_stream(ws);
                if let Err(e) = k4t_stream::portforward::serve(bytes, dialer, sandbox).await {
                    tracing::debug!(error = %e, "port-forward session");
                }
            });
            return resp;
        }
        if upgrade.starts_with("spdy/3.1") {
            let offered: Vec<String> = req
                .headers()
                .get_all("x-stream-protocol-version")
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_owned))
                .collect();
            if !offered.iter().any(|o| o == PORT_FORWARD_SPDY) {
                return bad(format!(
                    "unsupported port-forward protocols {offered:?}: this server speaks {PORT_FORWARD_SPDY}"
                ));
            }
            let on_upgrade = hyper::upgrade::on(&mut req);
            tokio::spawn(async move {
                let Ok(io) = on_upgrade.await else { return };
                if let Err(e) =
                    k4t_stream::portforward::serve(TokioIo::new(io), dialer, sandbox).await
                {
                    tracing::debug!(error = %e, "port-forward session");
                }
            });
            let mut resp = Response::new(full(Bytes::new()));
            *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
            let h = resp.headers_mut();
            h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
            h.insert(header::UPGRADE, HeaderValue::from_static("SPDY/3.1"));
            h.insert(
                "x-stream-protocol-version",
                HeaderValue::from_static(PORT_FORWARD_SPDY),
            );
            return resp;
        }
        bad("port-forward needs a WebSocket or SPDY/3.1 upgrade")
    }
}

impl StreamServer {
    /// Port-forward over the WebSocket channel protocol (`v4.channel.k8s.io`), what client
    /// libraries such as kube-rs and the Python client speak: the ports come in the query,
    /// one connection per port for the session; port `i` uses channel `2i` for data and
    /// `2i+1` for errors, and each channel first carries its port number (two bytes, little
    /// endian). The session closes once every connection has ended.
    async fn channel_port_forward(
        &self,
        p: &Params,
        pod: &str,
        sandbox: String,
        dialer: Arc<dyn k4t_stream::portforward::Dialer>,
        mut req: Request<Incoming>,
    ) -> Response<Body> {
        let mut ports = Vec::new();
        for value in p.all("ports").into_iter().chain(p.all("port")) {
            for part in value.split(',') {
                match part.trim().parse::<u16>() {
                    Ok(port) if port > 0 => ports.push(port),
                    _ => {
                        return bad(format!(
                            "invalid port {part:?}: must be a number from 1 to 65535"
                        ));
                    }
                }
            }
        }
        if ports.is_empty() {
            return bad("query parameter \"ports\" is required");
        }
        if !ws_offers(&req, channel::PROTOCOLS[1]) {
            return bad(format!(
                "unsupported port-forward subprotocols: this server speaks {PORT_FORWARD_WS} and {}",
                channel::PROTOCOLS[1]
            ));
        }
        let Some(resp) = ws_accept(&req, channel::PROTOCOLS[1]) else {
            return bad("missing Sec-WebSocket-Key");
        };
        let on_upgrade = hyper::upgrade::on(&mut req);
        let pod = pod.to_owned();
        tokio::spawn(async move {
            let Ok(io) = on_upgrade.await else { return };
            let ws = WebSocketStream::from_raw_socket(TokioIo::new(io), Role::Server, None).await;
            run_channel_port_forward(ws, ports, dialer, format!("{pod} ({sandbox})")).await;
        });
        resp
    }
}

async fn run_channel_port_forward<S>(
    ws: WebSocketStream<S>,
    ports: Vec<u16>,
    dialer: Arc<dyn k4t_stream::portforward::Dialer>,
    pod: String,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sink, mut stream) = ws.split();
    let (out_tx, mut out_rx) = mpsc::channel::<Message>(32);
    let msg =
        |ch: usize, data: &[u8]| Message::Binary(Bytes::from(channel::encode(ch as u8, data)));
    let mut inbound = Vec::new();
    let mut relays = Vec::new();
    for (i, &port) in ports.iter().enumerate() {
        for ch in [2 * i, 2 * i + 1] {
            let _ = out_tx.send(msg(ch, &port.to_le_bytes())).await;
        }
        let (in_tx, mut in_rx) = mpsc::channel::<Bytes>(8);
        inbound.push(in_tx);
        let (tx, dialer, pod) = (out_tx.clone(), dialer.clone(), pod.clone());
        relays.push(tokio::spawn(async move {
            let upstream = match dialer.dial(port).await {
                Ok(u) => u,
                Err(e) => {
                    let text = format!("error forwarding port {port} to pod {pod}, uid : {e}");
                    let _ = tx.send(msg(2 * i + 1, text.as_bytes())).await;
                    return;
                }
            };
            let (mut rd, mut wr) = tokio::io::split(upstream);
            let up = async {
                while let Some(b) = in_rx.recv().await {
                    if wr.write_all(&b).await.is_err() {
                        break;
                    }
                }
                let _ = wr.shutdown().await;
            };
            let down = async {
                let mut buf = vec![0u8; 32 * 1024];
                loop {
                    match rd.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if tx.send(msg(2 * i, &buf[..n])).await.is_err() {
                                break;
                            }
                        }
                    }
                }
            };
            // The connection is over when the pod's side ends it; the client's end of input
            // only half-closes it.
            tokio::pin!(up, down);
            tokio::select! {
                _ = &mut up => down.await,
                _ = &mut down => {}
            }
        }));
    }
    drop(out_tx);
    let writer = send_then_close(&mut sink, &mut out_rx);
    let reader = async {
        while let Some(Ok(m)) = stream.next().await {
            let Some(b) = channel_bytes(m) else {
                continue;
            };
            let Some((&ch, data)) = b.split_first() else {
                continue;
            };
            let ch = ch as usize;
            if ch.is_multiple_of(2)
                && let Some(tx) = inbound.get(ch / 2)
                && !data.is_empty()
            {
                let _ = tx.send(Bytes::copy_from_slice(data)).await;
            }
        }
    };
    tokio::select! {
        _ = writer => {}
        _ = reader => {}
    }
    for r in relays {
        r.abort();
    }
}

/// The bytes of a channel message. Clients may send text frames as well as binary ones (the
/// Python client writes stdin as text), as Kubernetes accepts; a close ends the session
/// with the stream.
fn channel_bytes(m: Message) -> Option<Bytes> {
    match m {
        Message::Binary(b) => Some(b),
        Message::Text(t) => Some(Bytes::copy_from_slice(t.as_bytes())),
        _ => None,
    }
}

/// The protocol a request asks to upgrade to, lower-cased (`websocket`, `spdy/3.1`).
fn upgrade_token<B>(req: &Request<B>) -> String {
    req.headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Whether the client offers `protocol` among its WebSocket subprotocols.
fn ws_offers<B>(req: &Request<B>, protocol: &str) -> bool {
    req.headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == protocol)
}

struct SandboxDialer {
    runtime: Arc<dyn Runtime>,
    sandbox: String,
}

impl k4t_stream::portforward::Dialer for SandboxDialer {
    fn dial(
        &self,
        port: u16,
    ) -> futures::future::BoxFuture<'static, io::Result<Box<dyn k4t_stream::portforward::Upstream>>>
    {
        let runtime = self.runtime.clone();
        let sandbox = self.sandbox.clone();
        Box::pin(async move {
            let s = runtime.port_forward(&sandbox, port).await?;
            Ok(Box::new(s) as Box<dyn k4t_stream::portforward::Upstream>)
        })
    }
}

fn percent_decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The 101 answer to a WebSocket upgrade with `protocol`.
fn ws_accept<B>(req: &Request<B>, protocol: &'static str) -> Option<Response<Body>> {
    let key = req.headers().get(header::SEC_WEBSOCKET_KEY)?;
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let mut resp = Response::new(full(Bytes::new()));
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(
        header::SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(&accept).ok()?,
    );
    h.insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(protocol),
    );
    Some(resp)
}

/// The bytes carried in a WebSocket's binary messages, as one byte stream both ways (the
/// port-forward tunnel: a SPDY session split across messages at arbitrary points).
fn ws_byte_stream<S>(ws: WebSocketStream<S>) -> tokio::io::DuplexStream
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (ours, theirs) = tokio::io::duplex(256 * 1024);
    let (mut rd, mut wr) = tokio::io::split(theirs);
    let (mut sink, mut stream) = ws.split();
    tokio::spawn(async move {
        let inbound = async {
            while let Some(Ok(msg)) = stream.next().await {
                match msg {
                    Message::Binary(b) if wr.write_all(&b).await.is_err() => break,
                    Message::Binary(_) => {}
                    Message::Close(_) => break,
                    _ => {}
                }
            }
            let _ = wr.shutdown().await;
        };
        let outbound = async {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match rd.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if sink
                            .send(Message::Binary(Bytes::copy_from_slice(&buf[..n])))
                            .await
                            .is_err()
                        {
                            break;
                        }
                    }
                }
            }
            let _ = sink.send(normal_close()).await;
        };
        // The session is over when the client closes or the SPDY side ends.
        tokio::select! {
            _ = inbound => {}
            _ = outbound => {}
        }
    });
    ours
}

/// Sends what the session queues, then a normal close once nothing can queue more.
async fn send_then_close<S>(
    sink: &mut futures::stream::SplitSink<WebSocketStream<S>, Message>,
    rx: &mut mpsc::Receiver<Message>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    while let Some(m) = rx.recv().await {
        if sink.send(m).await.is_err() {
            return;
        }
    }
    let _ = sink.send(normal_close()).await;
}

/// Which streams a SPDY exec or attach client opens (from its query).
#[derive(Debug, Clone, Copy)]
struct SpdyStreams {
    stdin: bool,
    stdout: bool,
    stderr: bool,
    tty: bool,
}

/// Runs one exec or attach over SPDY (`v4.channel.k8s.io`): the client opens one stream per
/// standard stream plus `error` (and `resize` with a terminal), each answered with a
/// SYN_REPLY; output goes out as DATA on its stream, the exit as a `Status` on the error
/// stream, then every stream is finished and the session ends.
async fn run_spdy_exec<IO>(io: IO, session: ExecSession, want: SpdyStreams)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    use k4t_stream::spdy::{Codec, Frame, Headers};
    use tokio_util::codec::Framed;

    let ExecSession {
        mut stdin,
        stdout,
        stderr,
        terminal,
        exit,
    } = session;
    let (mut sink, mut frames) = Framed::new(io, Codec::new()).split();
    let (out_tx, mut out_rx) = mpsc::channel::<Frame>(32);
    let writer = tokio::spawn(async move {
        while let Some(f) = out_rx.recv().await {
            if sink.send(f).await.is_err() {
                return;
            }
        }
        let _ = sink.close().await;
    });
    // Stream ids by type, known once the client opened them all.
    let mut ids: HashMap<String, u32> = HashMap::new();
    let expected = 1
        + usize::from(want.stdin)
        + usize::from(want.stdout)
        + usize::from(want.stderr)
        + usize::from(want.tty);
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<HashMap<String, u32>>();
    let mut ready_tx = Some(ready_tx);
    let output = {
        let tx = out_tx.clone();
        async move {
            let Ok(ids) = ready_rx.await else { return };
            let pump = |mut r: k4t_runtime::StreamReader,
                        id: Option<u32>,
                        tx: mpsc::Sender<Frame>| async move {
                let mut buf = vec![0u8; 32 * 1024];
                loop {
                    match r.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if let Some(stream_id) = id {
                                let data = Bytes::copy_from_slice(&buf[..n]);
                                if tx
                                    .send(Frame::Data {
                                        stream_id,
                                        fin: false,
                                        data,
                                    })
                                    .await
                                    .is_err()
                                {
                                    break;
                                }
                            }
                        }
                    }
                }
            };
            let out_id = ids.get("stdout").copied();
            let err_id = ids.get("stderr").copied();
            let out = tokio::spawn(pump(stdout, out_id, tx.clone()));
            let err = stderr.map(|e| tokio::spawn(pump(e, err_id, tx.clone())));
            let outcome = finish(exit, out, err).await;
            let fin = |stream_id| Frame::Data {
                stream_id,
                fin: true,
                data: Bytes::new(),
            };
            if let Some(&id) = ids.get("error") {
                let data = Bytes::from(channel::status_json(&outcome));
                let _ = tx
                    .send(Frame::Data {
                        stream_id: id,
                        fin: false,
                        data,
                    })
                    .await;
                let _ = tx.send(fin(id)).await;
            }
            for id in [out_id, err_id].into_iter().flatten() {
                let _ = tx.send(fin(id)).await;
            }
            let last = ids.values().copied().max().unwrap_or(0);
            let _ = tx
                .send(Frame::GoAway {
                    last_stream_id: last,
                    status: 0,
                })
                .await;
        }
    };
    let reader = async {
        let mut resize_buf: Vec<u8> = Vec::new();
        while let Some(Ok(frame)) = frames.next().await {
            match frame {
                Frame::SynStream {
                    stream_id, headers, ..
                } => {
                    let kind = headers.get("streamtype").unwrap_or("").to_owned();
                    let _ = out_tx
                        .send(Frame::SynReply {
                            stream_id,
                            fin: false,
                            headers: Headers::new(),
                        })
                        .await;
                    ids.insert(kind, stream_id);
                    if ids.len() >= expected
                        && let Some(tx) = ready_tx.take()
                    {
                        let _ = tx.send(ids.clone());
                    }
                }
                Frame::Data {
                    stream_id,
                    fin,
                    data,
                } => {
                    if ids.get("stdin") == Some(&stream_id) {
                        if let Some(w) = stdin.as_mut()
                            && !data.is_empty()
                            && w.write_all(&data).await.is_err()
                        {
                            stdin = None;
                        }
                        if fin && let Some(mut w) = stdin.take() {
                            let _ = w.shutdown().await;
                        }
                    } else if ids.get("resize") == Some(&stream_id) {
                        // One JSON object per size, one after another.
                        resize_buf.extend_from_slice(&data);
                        let mut de = serde_json::Deserializer::from_slice(&resize_buf)
                            .into_iter::<serde_json::Value>();
                        let mut used = 0;
                        while let Some(Ok(v)) = de.next() {
                            used = de.byte_offset();
                            let (w, h) = (v["Width"].as_u64(), v["Height"].as_u64());
                            if let (Some(w), Some(h), Some(t)) = (w, h, &terminal) {
                                t.resize(w as u16, h as u16);
                            }
                        }
                        resize_buf.drain(..used);
                    }
                }
                Frame::Ping { id } => {
                    let _ = out_tx.send(Frame::Ping { id }).await;
                }
                Frame::GoAway { .. } => break,
                _ => {}
            }
        }
    };
    tokio::select! {
        _ = output => {}
        _ = reader => {}
    }
    drop(out_tx);
    let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
}

/// Waits for the command's end, then for its output pumps to drain what the pipes still
/// hold (at most 2 s: a background process may keep them open); returns how it ended.
async fn finish(
    exit: futures::future::BoxFuture<'static, Result<i32, RuntimeError>>,
    out: tokio::task::JoinHandle<()>,
    err: Option<tokio::task::JoinHandle<()>>,
) -> Outcome {
    let outcome = match exit.await {
        Ok(code) => Outcome::Exited(code),
        Err(RuntimeError::StartFailed(msg)) => Outcome::Failed(format!(
            "error executing command in container: failed to exec in container: {msg}"
        )),
        Err(e) => Outcome::Failed(format!("error executing command in container: {e}")),
    };
    let drain = async {
        let _ = out.await;
        if let Some(e) = err {
            let _ = e.await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
    outcome
}

/// A close frame with code 1000: client-go reads any other close as an error.
fn normal_close() -> Message {
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    Message::Close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    }))
}

/// Runs one exec over the channel protocol: stdin and resizes in, stdout and stderr out, then
/// the exit as a `Status` on the error channel and a normal close. The command is killed if
/// the client goes away first.
async fn run_exec<S>(
    ws: WebSocketStream<S>,
    version: Version,
    session: ExecSession,
    want_stdout: bool,
    want_stderr: bool,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let ExecSession {
        mut stdin,
        stdout,
        stderr,
        terminal,
        exit,
    } = session;
    let (mut sink, mut stream) = ws.split();
    let (out_tx, mut out_rx) = mpsc::channel::<Message>(32);
    let pump = |mut r: Box<dyn tokio::io::AsyncRead + Send + Unpin>, ch: u8, forward: bool| {
        let tx = out_tx.clone();
        async move {
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                match r.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if forward
                            && tx
                                .send(Message::Binary(Bytes::from(channel::encode(ch, &buf[..n]))))
                                .await
                                .is_err()
                        {
                            break;
                        }
                    }
                }
            }
        }
    };
    let out_done = tokio::spawn(pump(stdout, channel::STDOUT, want_stdout));
    let err_done = stderr.map(|e| tokio::spawn(pump(e, channel::STDERR, want_stderr)));
    let finished = {
        let tx = out_tx.clone();
        async move {
            let outcome = finish(exit, out_done, err_done).await;
            let _ = tx
                .send(Message::Binary(Bytes::from(channel::status(&outcome))))
                .await;
        }
    };
    drop(out_tx);
    let writer = send_then_close(&mut sink, &mut out_rx);
    let reader = async {
        while let Some(msg) = stream.next().await {
            let Ok(msg) = msg else { break };
            // After a close the stream ends.
            let Some(b) = channel_bytes(msg) else {
                continue;
            };
            match channel::decode(version, &b) {
                ChannelIn::Stdin(data) => {
                    if let Some(w) = stdin.as_mut()
                        && w.write_all(data).await.is_err()
                    {
                        stdin = None;
                    }
                }
                ChannelIn::Close(channel::STDIN) => {
                    if let Some(mut w) = stdin.take() {
                        let _ = w.shutdown().await;
                    }
                }
                ChannelIn::Resize { width, height } => {
                    if let Some(t) = &terminal {
                        t.resize(width, height);
                    }
                }
                ChannelIn::BadResize(e) => tracing::debug!(error = %e, "exec resize"),
                ChannelIn::Close(_) | ChannelIn::Ignored => {}
            };
        }
        // The client is gone: dropping the session kills the command.
    };
    tokio::pin!(finished);
    tokio::pin!(writer);
    tokio::select! {
        _ = async { tokio::join!(&mut finished, &mut writer) } => {}
        _ = reader => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_ids_lose_their_scheme() {
        assert_eq!(strip_scheme("process://abc"), "abc");
        assert_eq!(strip_scheme("abc"), "abc");
    }

    #[test]
    fn params_repeat_and_flag() {
        let p = Params::parse(Some(
            "command=sh&command=-c&command=echo%20hi&stdin=true&tty=1",
        ));
        assert_eq!(p.all("command"), vec!["sh", "-c", "echo hi"]);
        assert!(p.flag("stdin") && p.flag("tty") && !p.flag("stderr"));
        assert_eq!(percent_decode("a%2Fb"), "a/b");
    }
}
