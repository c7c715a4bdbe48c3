//! Running probe and hook handlers: HTTP GET, TCP connect, gRPC health check and exec, with
//! the kubelet's transport rules and output texts. Each returns what Kubernetes' probers
//! return: a raw result with its output, or an error (which the worker retries and then
//! discards).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use self::bytes_util::take_prefix;
use http_body_util::BodyExt as _;
use k8s_openapi::api::core::v1::{Container, HTTPGetAction};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// The outcome of one handler run, as Kubernetes' probers classify it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raw {
    Success,
    Warning,
    Failure,
    Unknown,
}

/// A handler's result and output text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub result: Raw,
    pub output: String,
}

impl Outcome {
    fn new(result: Raw, output: impl Into<String>) -> Self {
        Self {
            result,
            output: output.into(),
        }
    }
}

/// The most of a body (and of exec output) the kubelet reads.
pub const MAX_OUTPUT: usize = 10 * 1024;

mod bytes_util {
    /// At most `max` bytes of `b`, as a string.
    pub fn take_prefix(b: &[u8], max: usize) -> String {
        String::from_utf8_lossy(&b[..b.len().min(max)]).into_owned()
    }
}

/// Resolves a probe port (a number, or a named container port).
pub fn resolve_port(port: &IntOrString, container: &Container) -> Result<u16, String> {
    let n = match port {
        IntOrString::Int(n) => i64::from(*n),
        IntOrString::String(name) => container
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .map(|p| i64::from(p.container_port))
            .or_else(|| name.parse::<i64>().ok())
            .ok_or_else(|| format!("couldn't find port {name:?} in container"))?,
    };
    u16::try_from(n)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("invalid port number: {n}"))
}

fn dial_error(addr: &SocketAddr, e: &std::io::Error) -> String {
    let what = match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connect: connection refused".to_owned(),
        std::io::ErrorKind::TimedOut => "i/o timeout".to_owned(),
        std::io::ErrorKind::HostUnreachable => "connect: no route to host".to_owned(),
        std::io::ErrorKind::NetworkUnreachable => "connect: network is unreachable".to_owned(),
        _ => format!("connect: {e}"),
    };
    format!("dial tcp {addr}: {what}")
}

/// A TLS client that does not verify certificates (the kubelet's probes don't).
fn insecure_tls() -> tokio_rustls::TlsConnector {
    #[derive(Debug)]
    struct NoVerify(Arc<rustls::crypto::CryptoProvider>);
    impl rustls::client::danger::ServerCertVerifier for NoVerify {
        fn verify_server_cert(
            &self,
            _: &rustls::pki_types::CertificateDer<'_>,
            _: &[rustls::pki_types::CertificateDer<'_>],
            _: &rustls::pki_types::ServerName<'_>,
            _: &[u8],
            _: rustls::pki_types::UnixTime,
        ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            m: &[u8],
            c: &rustls::pki_types::CertificateDer<'_>,
            d: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                m,
                c,
                d,
                &self.0.signature_verification_algorithms,
            )
        }
        fn verify_tls13_signature(
            &self,
            m: &[u8],
            c: &rustls::pki_types::CertificateDer<'_>,
            d: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                m,
                c,
                d,
                &self.0.signature_verification_algorithms,
            )
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// One HTTP GET exchange: the status, the first 10 KiB of the body and the `Location`.
async fn get_once(
    scheme: &str,
    addr: SocketAddr,
    host_header: &str,
    path: &str,
    headers: &[(String, String)],
) -> Result<(u16, Vec<u8>, Option<String>), String> {
    let url = format!("{scheme}://{host_header}{path}");
    let err = |msg: String| format!("Get \"{url}\": {msg}");
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| err(dial_error(&addr, &e)))?;
    let _ = tcp.set_nodelay(true);
    let mut req = http::Request::get(path).header(http::header::HOST, host_header);
    let mut has_ua = false;
    let mut accept: Option<String> = None;
    for (k, v) in headers {
        if k.eq_ignore_ascii_case("host") {
            continue;
        }
        if k.eq_ignore_ascii_case("user-agent") {
            has_ua = true;
        }
        if k.eq_ignore_ascii_case("accept") {
            accept = Some(v.clone());
            continue;
        }
        req = req.header(k.as_str(), v.as_str());
    }
    if !has_ua {
        req = req.header(http::header::USER_AGENT, crate::PROBE_USER_AGENT);
    }
    match accept {
        None => req = req.header(http::header::ACCEPT, "*/*"),
        Some(a) if a.is_empty() => {}
        Some(a) => req = req.header(http::header::ACCEPT, a),
    }
    req = req.header(http::header::CONNECTION, "close");
    let req = req
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .map_err(|e| err(e.to_string()))?;
    macro_rules! exchange {
        ($io:expr) => {{
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new($io))
                    .await
                    .map_err(|e| err(e.to_string()))?;
            let exchange = async {
                let resp = sender
                    .send_request(req)
                    .await
                    .map_err(|e| err(e.to_string()))?;
                let status = resp.status().as_u16();
                let location = resp
                    .headers()
                    .get(http::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let mut body = resp.into_body();
                let mut buf = Vec::new();
                while let Some(frame) = body.frame().await {
                    let Ok(frame) = frame else { break };
                    if let Ok(data) = frame.into_data() {
                        buf.extend_from_slice(&data);
                        if buf.len() >= MAX_OUTPUT {
                            buf.truncate(MAX_OUTPUT);
                            break;
                        }
                    }
                }
                Ok((status, buf, location))
            };
            // The connection is driven here, next to the exchange, rather than in a task of
            // its own: 500 probes a second would otherwise be 500 task spawns and hand-offs
            // between threads. It is dropped (closed) once the body is read.
            let mut exchange = std::pin::pin!(exchange);
            let mut conn = std::pin::pin!(conn);
            let mut conn_done = false;
            loop {
                tokio::select! {
                    r = &mut exchange => break r,
                    _ = &mut conn, if !conn_done => conn_done = true,
                }
            }
        }};
    }
    if scheme == "https" {
        let name = rustls::pki_types::ServerName::try_from(
            host_header.split(':').next().unwrap_or("").to_owned(),
        )
        .unwrap_or_else(|_| rustls::pki_types::ServerName::IpAddress(addr.ip().into()));
        let tls = insecure_tls()
            .connect(name, tcp)
            .await
            .map_err(|e| err(e.to_string()))?;
        exchange!(tls)
    } else {
        exchange!(tcp)
    }
}

/// An HTTP GET probe against `ip` (the pod IP unless `httpGet.host` is set).
pub async fn http_get(
    action: &HTTPGetAction,
    container: &Container,
    pod_ip: IpAddr,
    timeout: Duration,
) -> Result<Outcome, String> {
    let port = resolve_port(&action.port, container)?;
    let scheme = action
        .scheme
        .as_deref()
        .unwrap_or("HTTP")
        .to_ascii_lowercase();
    let host = action.host.clone().filter(|h| !h.is_empty());
    let ip: IpAddr = match &host {
        Some(h) => match h.parse() {
            Ok(ip) => ip,
            Err(_) => tokio::net::lookup_host((h.as_str(), port))
                .await
                .ok()
                .and_then(|mut a| a.next())
                .map(|a| a.ip())
                .ok_or_else(|| format!("dial tcp: lookup {h}: no such host"))?,
        },
        None => pod_ip,
    };
    let headers: Vec<(String, String)> = action
        .http_headers
        .iter()
        .flatten()
        .map(|h| (h.name.clone(), h.value.clone()))
        .collect();
    let host_header = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| {
            let h = host.clone().unwrap_or_else(|| ip.to_string());
            if h.contains(':') {
                format!("[{h}]:{port}")
            } else {
                format!("{h}:{port}")
            }
        });
    let mut path = action.path.clone().unwrap_or_else(|| "/".into());
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    let addr = SocketAddr::new(ip, port);
    let url = format!("{scheme}://{host_header}{path}");
    let run = async {
        let mut current = path.clone();
        for _ in 0..10 {
            let (status, body, location) =
                get_once(&scheme, addr, &host_header, &current, &headers).await?;
            if (300..400).contains(&status)
                && let Some(loc) = location
            {
                // Redirects to the same host are followed; others are evaluated as they are.
                let same_host = loc.starts_with('/')
                    || loc
                        .split_once("://")
                        .map(|(_, rest)| rest.split('/').next().unwrap_or("") == host_header)
                        .unwrap_or(false);
                if same_host {
                    current = if loc.starts_with('/') {
                        loc
                    } else {
                        format!(
                            "/{}",
                            loc.split_once("://")
                                .and_then(|(_, r)| r.split_once('/'))
                                .map_or("", |(_, p)| p)
                        )
                    };
                    continue;
                }
                return Ok(Outcome::new(
                    Raw::Warning,
                    format!(
                        "Probe terminated redirects, Response body: {}",
                        take_prefix(&body, MAX_OUTPUT)
                    ),
                ));
            }
            return Ok(classify_status(status, &body));
        }
        Ok(Outcome::new(
            Raw::Failure,
            format!("Get \"{url}\": stopped after 10 redirects"),
        ))
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(r) => r.or_else(|e: String| Ok(Outcome::new(Raw::Failure, e))),
        Err(_) => Ok(Outcome::new(
            Raw::Failure,
            format!(
                "Get \"{url}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
            ),
        )),
    }
}

/// Kubernetes' classification of an HTTP status.
pub fn classify_status(status: u16, body: &[u8]) -> Outcome {
    if (200..400).contains(&status) {
        if status >= 300 {
            return Outcome::new(
                Raw::Warning,
                format!(
                    "Probe terminated redirects, Response body: {}",
                    take_prefix(body, MAX_OUTPUT)
                ),
            );
        }
        return Outcome::new(Raw::Success, take_prefix(body, MAX_OUTPUT));
    }
    Outcome::new(
        Raw::Failure,
        format!("HTTP probe failed with statuscode: {status}"),
    )
}

/// A TCP connect probe.
pub async fn tcp(host: Option<&str>, port: u16, pod_ip: IpAddr, timeout: Duration) -> Outcome {
    let ip = host
        .and_then(|h| h.parse::<IpAddr>().ok())
        .unwrap_or(pod_ip);
    let addr = SocketAddr::new(ip, port);
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Outcome::new(Raw::Success, ""),
        Ok(Err(e)) => Outcome::new(Raw::Failure, dial_error(&addr, &e)),
        Err(_) => Outcome::new(Raw::Failure, format!("dial tcp {addr}: i/o timeout")),
    }
}

/// A gRPC health-check probe (`grpc.health.v1.Health/Check`).
pub async fn grpc(pod_ip: IpAddr, port: u16, service: &str, timeout: Duration) -> Outcome {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    let addr = SocketAddr::new(pod_ip, port);
    let secs = timeout.as_secs_f64();
    let run = async {
        let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|e| {
                Outcome::new(
                    Raw::Failure,
                    format!("error: failed to connect service at \"{addr}\": {e}"),
                )
            })?
            .user_agent(crate::PROBE_USER_AGENT)
            .map_err(|e| {
                Outcome::new(
                    Raw::Failure,
                    format!("error: failed to connect service at \"{addr}\": {e}"),
                )
            })?;
        let channel = endpoint.connect().await.map_err(|e| {
            Outcome::new(
                Raw::Failure,
                format!("error: failed to connect service at \"{addr}\": {e}"),
            )
        })?;
        let resp = HealthClient::new(channel)
            .check(HealthCheckRequest { service: service.to_owned() })
            .await
            .map_err(|s| match s.code() {
                tonic::Code::Unimplemented => Outcome::new(
                    Raw::Failure,
                    format!("error: this server does not implement the grpc health protocol (grpc.health.v1.Health): {}", s.message()),
                ),
                tonic::Code::DeadlineExceeded => Outcome::new(Raw::Failure, format!("timeout: health rpc did not complete within {secs}s")),
                _ => Outcome::new(Raw::Failure, format!("error: health rpc probe failed: {s}")),
            })?;
        let status = resp.into_inner().status();
        if status == ServingStatus::Serving {
            Ok(Outcome::new(Raw::Success, "service healthy"))
        } else {
            Err(Outcome::new(
                Raw::Failure,
                format!(
                    "service unhealthy (responded with {:?})",
                    status.as_str_name()
                ),
            ))
        }
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(Ok(o) | Err(o)) => o,
        Err(_) => Outcome::new(
            Raw::Failure,
            format!("timeout: failed to connect service {addr:?} within {secs}s"),
        ),
    }
}

/// An exec probe through the runtime.
pub async fn exec(
    runtime: &dyn k4t_runtime::Runtime,
    container_id: &str,
    argv: &[String],
    timeout: Duration,
) -> Result<Outcome, String> {
    let r = runtime
        .exec_sync(container_id, argv, timeout)
        .await
        .map_err(|e| e.to_string())?;
    if r.timed_out {
        return Ok(Outcome::new(
            Raw::Failure,
            format!(
                "command timed out: {:?} timed out after {}s",
                argv.join(" "),
                timeout.as_secs()
            ),
        ));
    }
    let mut out = r.stdout;
    out.extend_from_slice(&r.stderr);
    let text = take_prefix(&out, MAX_OUTPUT);
    Ok(Outcome::new(
        if r.exit_code == 0 {
            Raw::Success
        } else {
            Raw::Failure
        },
        text,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    async fn serve_once(
        status_line: &'static str,
        extra: &'static str,
    ) -> (SocketAddr, tokio::task::JoinHandle<String>) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let h = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).await.unwrap();
            let req = String::from_utf8_lossy(&buf[..n]).into_owned();
            s.write_all(
                format!("{status_line}\r\n{extra}content-length: 2\r\nconnection: close\r\n\r\nok")
                    .as_bytes(),
            )
            .await
            .unwrap();
            req
        });
        (addr, h)
    }

    fn container() -> Container {
        serde_json::from_value(
            serde_json::json!({"name": "app", "ports": [{"name": "http", "containerPort": 8080}]}),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn http_probe_classifies_and_sends_the_kubelet_headers() {
        let (addr, req) = serve_once("HTTP/1.1 200 OK", "").await;
        let action = HTTPGetAction {
            path: Some("/healthz".into()),
            port: IntOrString::Int(addr.port() as i32),
            ..Default::default()
        };
        let o = http_get(&action, &container(), addr.ip(), Duration::from_secs(2))
            .await
            .unwrap();
        assert_eq!(o.result, Raw::Success);
        let req = req.await.unwrap();
        assert!(req.starts_with("GET /healthz HTTP/1.1"), "{req}");
        assert!(
            req.to_ascii_lowercase()
                .contains(&format!("user-agent: {}", crate::PROBE_USER_AGENT).to_ascii_lowercase())
        );
        let (addr, _) = serve_once("HTTP/1.1 500 Internal Server Error", "").await;
        let action = HTTPGetAction {
            port: IntOrString::Int(addr.port() as i32),
            ..Default::default()
        };
        let o = http_get(&action, &container(), addr.ip(), Duration::from_secs(2))
            .await
            .unwrap();
        assert_eq!(
            o,
            Outcome::new(Raw::Failure, "HTTP probe failed with statuscode: 500")
        );
    }

    #[tokio::test]
    async fn refused_connections_read_like_go() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let action = HTTPGetAction {
            path: Some("/ready".into()),
            port: IntOrString::Int(port as i32),
            ..Default::default()
        };
        let o = http_get(
            &action,
            &container(),
            "127.0.0.1".parse().unwrap(),
            Duration::from_secs(2),
        )
        .await
        .unwrap();
        assert_eq!(o.result, Raw::Failure);
        assert_eq!(
            o.output,
            format!(
                "Get \"http://127.0.0.1:{port}/ready\": dial tcp 127.0.0.1:{port}: connect: connection refused"
            )
        );
        let t = tcp(
            None,
            port,
            "127.0.0.1".parse().unwrap(),
            Duration::from_secs(1),
        )
        .await;
        assert_eq!(
            t.output,
            format!("dial tcp 127.0.0.1:{port}: connect: connection refused")
        );
    }

    #[test]
    fn named_ports_resolve() {
        assert_eq!(
            resolve_port(&IntOrString::String("http".into()), &container()),
            Ok(8080)
        );
        assert_eq!(
            resolve_port(&IntOrString::String("9090".into()), &container()),
            Ok(9090)
        );
        assert!(resolve_port(&IntOrString::String("nope".into()), &container()).is_err());
        assert_eq!(classify_status(302, b"x").result, Raw::Warning);
    }
}
