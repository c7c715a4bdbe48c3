//! `k4t demo serve`: a small HTTP app for examples and tests, in the role of the book's `kubia`.
//!
//! `/` answers `You've hit <hostname>`, `/healthz` answers `ok`, and knobs — as flags and over
//! HTTP at `/knobs?name=value` — make it fail after N requests (with 500, as `kubia-unhealthy`
//! does), add latency, return errors at a rate, leak memory, or exit (`/quitquitquit`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use parking_lot::Mutex;

/// The app's knobs; every one can be set by flag and changed at `/knobs`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Knobs {
    /// Answer 500 to every request after this many (0: never).
    #[arg(long, default_value_t = 0)]
    pub fail_after: u64,
    /// Extra latency added to every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Fraction of answers (0.0–1.0) that are 500s.
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Memory leaked per request, in KiB.
    #[arg(long, default_value_t = 0)]
    pub leak_kib_per_request: u64,
    /// Memory leaked per second, in KiB, whether or not requests come.
    #[arg(long, default_value_t = 0)]
    pub leak_kib_per_second: u64,
}

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    /// Print one line per answered request (`<time> GET <path> <status>`) on stdout.
    #[arg(long)]
    pub log_requests: bool,
    #[command(flatten)]
    pub knobs: Knobs,
}

struct App {
    hostname: String,
    log_requests: bool,
    knobs: Mutex<Knobs>,
    requests: AtomicU64,
    leaked: Mutex<Vec<Vec<u8>>>,
    quit: tokio::sync::Notify,
}

impl App {
    fn leak(&self, kib: u64) {
        if kib > 0 {
            // Touch the pages so the leak shows in RSS.
            self.leaked.lock().push(vec![0xA5; (kib * 1024) as usize]);
        }
    }

    fn leaked_kib(&self) -> u64 {
        self.leaked
            .lock()
            .iter()
            .map(|v| v.len() as u64 / 1024)
            .sum()
    }

    fn set_knobs(&self, query: &str) -> Result<(), String> {
        let mut k = self.knobs.lock();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let bad =
                |e: &dyn std::fmt::Display| format!("invalid value {value:?} for {name}: {e}");
            match name.as_ref() {
                "fail_after" => k.fail_after = value.parse().map_err(|e| bad(&e))?,
                "latency_ms" => k.latency_ms = value.parse().map_err(|e| bad(&e))?,
                "error_rate" => k.error_rate = value.parse().map_err(|e| bad(&e))?,
                "leak_kib_per_request" => {
                    k.leak_kib_per_request = value.parse().map_err(|e| bad(&e))?
                }
                "leak_kib_per_second" => {
                    k.leak_kib_per_second = value.parse().map_err(|e| bad(&e))?
                }
                "reset" => self.requests.store(0, Ordering::Relaxed),
                other => return Err(format!("unknown knob {other}")),
            }
        }
        Ok(())
    }

    fn knobs_json(&self) -> String {
        let k = self.knobs.lock();
        serde_json::json!({
            "fail_after": k.fail_after,
            "latency_ms": k.latency_ms,
            "error_rate": k.error_rate,
            "leak_kib_per_request": k.leak_kib_per_request,
            "leak_kib_per_second": k.leak_kib_per_second,
            "requests": self.requests.load(Ordering::Relaxed),
            "leaked_kib": self.leaked_kib(),
        })
        .to_string()
    }
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

async fn handle(
    app: Arc<App>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let r = answer(&app, req).await;
    if app.log_requests {
        println!(
            "{} {method} {path} {}",
            jiff::Timestamp::now(),
            r.status().as_u16()
        );
    }
    Ok(r)
}

async fn answer(app: &Arc<App>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    match path.as_str() {
        "/knobs" => {
            if let Some(q) = req.uri().query()
                && let Err(e) = app.set_knobs(q)
            {
                return text(StatusCode::BAD_REQUEST, format!("{e}\n"));
            }
            return text(StatusCode::OK, app.knobs_json() + "\n");
        }
        "/quitquitquit" => {
            app.quit.notify_one();
            return text(StatusCode::OK, "bye\n");
        }
        _ => {}
    }
    let n = app.requests.fetch_add(1, Ordering::Relaxed) + 1;
    let knobs = app.knobs.lock().clone();
    app.leak(knobs.leak_kib_per_request);
    if knobs.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(knobs.latency_ms)).await;
    }
    if knobs.fail_after > 0 && n > knobs.fail_after {
        return text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "I'm not well. Please restart me!\n",
        );
    }
    if knobs.error_rate > 0.0 && rand::random::<f64>() < knobs.error_rate {
        return text(StatusCode::INTERNAL_SERVER_ERROR, "injected error\n");
    }
    match path.as_str() {
        "/healthz" => text(StatusCode::OK, "ok\n"),
        _ => text(StatusCode::OK, format!("You've hit {}\n", app.hostname)),
    }
}

/// Runs the app until `/quitquitquit` or a signal.
pub fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting tokio")?;
    rt.block_on(async move {
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "unknown".into());
        let app = Arc::new(App {
            hostname,
            log_requests: args.log_requests,
            knobs: Mutex::new(args.knobs),
            requests: AtomicU64::new(0),
            leaked: Mutex::new(Vec::new()),
            quit: tokio::sync::Notify::new(),
        });
        let listener = tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
        eprintln!("demo: listening on {}", args.listen);
        let leaker = {
            let app = app.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                loop {
                    tick.tick().await;
                    let kib = app.knobs.lock().leak_kib_per_second;
                    app.leak(kib);
                }
            })
        };
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((tcp, _)) = accepted else { continue };
                    let app = app.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req| handle(app.clone(), req));
                        let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                            .serve_connection(TokioIo::new(tcp), service)
                            .await;
                    });
                }
                _ = app.quit.notified() => {
                    eprintln!("demo: /quitquitquit");
                    break;
                }
                _ = term.recv() => {
                    println!("{} SIGTERM, exiting", jiff::Timestamp::now());
                    break;
                }
            }
        }
        leaker.abort();
        anyhow::Ok(())
    })
}
