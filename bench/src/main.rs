//! `k4t-bench`: reproducible benchmarks of k4t. Each subcommand starts a real `k4t server`
//! process (release build), drives it through the HTTP API as clients do, and prints a Markdown
//! table for `docs/benchmarks.md`.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use hdrhistogram::Histogram;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, ObjectMeta, PostParams};
use tokio::time::Instant;

mod pods;
mod talk;
mod workloads;

#[derive(Parser)]
#[command(about = "Benchmarks of k4t; results go to docs/benchmarks.md")]
struct Cli {
    /// The k4t binary to measure.
    #[arg(long, default_value = "target/release/k4t")]
    k4t: PathBuf,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// API server and store: creates, lists, pagination, watch fan-out, memory.
    Api {
        #[arg(long, default_value_t = 10_000)]
        pods: usize,
        #[arg(long, default_value_t = 8)]
        clients: usize,
        #[arg(long, default_value_t = 100)]
        watchers: usize,
        /// Pods created while the watchers watch.
        #[arg(long, default_value_t = 1_000)]
        watch_events: usize,
    },
    /// The node agent on the process runtime: pods to Ready, steady-state cost, probe
    /// latencies. Needs root (pod namespaces, cgroups, a bridge).
    Pods {
        /// Pod counts to measure, one after the other.
        #[arg(long = "count", default_values_t = vec![100, 500])]
        counts: Vec<usize>,
        /// Pods used for the liveness and readiness latency measurements (of each kind).
        #[arg(long, default_value_t = 20)]
        latency_pods: usize,
        /// containerd containers started next to the largest count, to measure the peer's
        /// per-container shim in the same run (`bench/containerd-shims.sh`).
        #[arg(long, default_value_t = 20)]
        containerd_peers: usize,
    },
    /// A Deployment of demo pods scaled 0 → N → 0, the server (API and controllers) and the
    /// node agent as two processes. Needs root.
    Workloads {
        /// Replicas to scale to.
        #[arg(long, default_value_t = 200)]
        replicas: usize,
    },
    /// Port-forward throughput and `kubectl exec` round trips through the node agent's
    /// tunnel. Needs root.
    Talk {
        /// Bytes per transfer, in MiB.
        #[arg(long, default_value_t = 256)]
        mib: u64,
        /// Transfers per direction and path (the median is reported).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// `kubectl exec` runs.
        #[arg(long, default_value_t = 50)]
        exec_runs: usize,
    },
    /// The pod side of `talk` (runs inside the benchmark's pod).
    #[command(hide = true)]
    Blast {
        #[arg(long)]
        port: u16,
    },
}

/// A k4t server process, killed on drop.
struct ServerProc {
    child: Child,
    kubeconfig: PathBuf,
    dir: tempfile::TempDir,
}

impl ServerProc {
    /// The API server alone (no node agent).
    fn start(bin: &PathBuf) -> anyhow::Result<Self> {
        Self::start_with(bin, &["--no-agent"])
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn start_with(bin: &PathBuf, extra: &[&str]) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut child = Command::new(bin)
            .args([
                "server",
                "--bind",
                "127.0.0.1:0",
                "--log",
                "warn",
                "--data-dir",
            ])
            .arg(dir.path().join("data"))
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let mut kubeconfig = None;
        for line in lines.by_ref() {
            let line = line?;
            if let Some(p) = line.strip_prefix("kubeconfig: ") {
                kubeconfig = Some(PathBuf::from(p));
            }
            if line.starts_with("server: ") {
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        let kubeconfig = kubeconfig.context("server printed no kubeconfig")?;
        Ok(Self {
            child,
            kubeconfig,
            dir,
        })
    }

    /// Resident memory of the server process, in MiB.
    fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }

    /// CPU time (user + system) the server used so far, in seconds.
    fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        let after = stat.rsplit(')').next().unwrap_or("");
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        // utime and stime are fields 14 and 15 of /proc/pid/stat; 11 and 12 after the name.
        (ticks(11) + ticks(12)) / 100.0
    }

    async fn client(&self) -> anyhow::Result<kube::Client> {
        let kc = kube::config::Kubeconfig::read_from(&self.kubeconfig)?;
        let config =
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await?;
        Ok(kube::Client::try_from(config)?)
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        stop_gracefully(&mut self.child);
    }
}

/// SIGTERM, up to a minute to exit, then SIGKILL: a clean stop lets a node agent stop its pods.
// Waiting on a process is wall-clock time.
#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
fn stop_gracefully(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().ok().flatten().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn pod(name: &str) -> Pod {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "bench", "tier": "web"}},
        "spec": {"containers": [{
            "name": "app",
            "image": "k4t/demo:1",
            "command": ["k4t", "demo", "serve", "--port", "8080"],
            "ports": [{"containerPort": 8080, "name": "http"}],
            "env": [{"name": "MODE", "value": "bench"}],
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 1},
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}
        }]}
    }))
    .unwrap_or_default()
}

fn ms(d: std::time::Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn hist() -> Histogram<u64> {
    Histogram::new(3).expect("a histogram with 3 significant digits")
}

async fn median_of<F, Fut>(runs: usize, mut f: F) -> anyhow::Result<(std::time::Duration, usize)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<usize>>,
{
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..runs {
        let t = Instant::now();
        size = f().await?;
        times.push(t.elapsed());
    }
    times.sort();
    Ok((times[times.len() / 2], size))
}

async fn api(
    bin: &PathBuf,
    pods: usize,
    clients: usize,
    watchers: usize,
    watch_events: usize,
) -> anyhow::Result<()> {
    let server = ServerProc::start(bin)?;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let idle_rss = server.rss_mib();
    let mut rows: Vec<(String, String)> =
        vec![("server RSS, idle".into(), format!("{idle_rss:.1} MiB"))];

    // Creates: `clients` concurrent clients, each with its own connection.
    let cpu_before = server.cpu_seconds();
    let mut handles = Vec::new();
    let started = Instant::now();
    for c in 0..clients {
        let client = server.client().await?;
        handles.push(tokio::spawn(async move {
            let api: Api<Pod> = Api::namespaced(client, "default");
            let mut h = hist();
            let mut i = c;
            while i < pods {
                let t = Instant::now();
                api.create(&PostParams::default(), &pod(&format!("bench-{i:05}")))
                    .await?;
                h.record(t.elapsed().as_micros() as u64).ok();
                i += clients;
            }
            anyhow::Ok(h)
        }));
    }
    let mut latency = hist();
    for h in handles {
        latency.add(h.await??).ok();
    }
    let elapsed = started.elapsed();
    let cpu = server.cpu_seconds() - cpu_before;
    rows.push((
        format!("create {pods} pods, {clients} concurrent clients"),
        format!(
            "{:.0} creates/s ({:.2} s); latency p50 {:.2} ms, p99 {:.2} ms; server CPU {:.1} s",
            pods as f64 / elapsed.as_secs_f64(),
            elapsed.as_secs_f64(),
            latency.value_at_quantile(0.5) as f64 / 1000.0,
            latency.value_at_quantile(0.99) as f64 / 1000.0,
            cpu
        ),
    ));
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    rows.push((
        format!("server RSS with {pods} pods"),
        format!("{:.1} MiB", server.rss_mib()),
    ));

    // Lists, as raw bytes (JSON and Table), then paginated.
    let client = server.client().await?;
    let raw = |path: String, accept: &'static str| {
        let client = client.clone();
        async move {
            let req = http_get(&path, accept)?;
            let text = client.request_text(req).await?;
            anyhow::Ok(text.len())
        }
    };
    let (t, size) = median_of(5, || raw("/api/v1/pods".into(), "application/json")).await?;
    rows.push((
        format!("list all {pods} pods, JSON (median of 5)"),
        format!("{} ({:.1} MiB)", ms(t), size as f64 / 1048576.0),
    ));
    let (t, _) = median_of(5, || {
        raw(
            "/api/v1/pods".into(),
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
        )
    })
    .await?;
    rows.push((
        format!("list all {pods} pods as a Table, as kubectl asks (median of 5)"),
        ms(t),
    ));
    let paginated = || {
        let client = client.clone();
        async move {
            let mut cont: Option<String> = None;
            let mut pages = 0;
            loop {
                let mut path = "/api/v1/pods?limit=500".to_owned();
                if let Some(c) = &cont {
                    path.push_str(&format!("&continue={c}"));
                }
                let text = client
                    .request_text(http_get(&path, "application/json")?)
                    .await?;
                pages += 1;
                // The list metadata comes first; read the token without parsing the page.
                match continue_token(&text) {
                    Some(c) => cont = Some(c),
                    None => break,
                }
            }
            anyhow::Ok(pages)
        }
    };
    let (t, pages) = median_of(3, paginated).await?;
    rows.push((
        format!("paginated list, limit=500 ({pages} pages, median of 3)"),
        ms(t),
    ));

    // kubectl get pods -A: the whole command, process start included.
    let cache = tempfile::tempdir()?;
    let mut times = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let out = Command::new("kubectl")
            .args(["get", "pods", "-A"])
            .env("KUBECONFIG", &server.kubeconfig)
            .env("KUBECACHEDIR", cache.path())
            .stdout(Stdio::piped())
            .output()?;
        if !out.status.success() {
            bail!(
                "kubectl get pods -A failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        times.push(t.elapsed());
    }
    times.sort();
    rows.push((
        format!("`kubectl get pods -A` with {pods} pods (median of 3, whole command)"),
        ms(times[1]),
    ));

    // Watch fan-out.
    let ns: Api<Namespace> = Api::all(client.clone());
    ns.create(
        &PostParams::default(),
        &Namespace {
            metadata: ObjectMeta {
                name: Some("watched".into()),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await?;
    let received = Arc::new(tokio::sync::Mutex::new(Vec::<(String, Instant)>::new()));
    let start_rv = Api::<Pod>::namespaced(client.clone(), "watched")
        .list_metadata(&Default::default())
        .await?
        .metadata
        .resource_version
        .unwrap_or_default();
    let mut watch_tasks = Vec::new();
    let ready = Arc::new(tokio::sync::Barrier::new(watchers + 1));
    for _ in 0..watchers {
        let client = server.client().await?;
        let received = received.clone();
        let ready = ready.clone();
        let start_rv = start_rv.clone();
        watch_tasks.push(tokio::spawn(async move {
            // A raw watch, read line by line: the measurement is the server's delivery, not a
            // client's JSON decoding.
            let req = http::Request::get(format!(
                "/api/v1/namespaces/watched/pods?watch=true&resourceVersion={start_rv}"
            ))
            .header(http::header::ACCEPT, "application/json")
            .body(kube::client::Body::empty())?;
            let resp = client.send(req).await?;
            let mut body = resp.into_body();
            ready.wait().await;
            let mut pending = Vec::new();
            let mut seen = 0;
            while let Some(frame) = http_body_util::BodyExt::frame(&mut body).await {
                let Ok(data) = frame?.into_data() else {
                    continue;
                };
                let now = Instant::now();
                pending.extend_from_slice(&data);
                while let Some(nl) = pending.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=nl).collect();
                    if let Some(name) = event_pod_name(&line) {
                        received.lock().await.push((name, now));
                        seen += 1;
                    }
                }
                if seen >= watch_events {
                    break;
                }
            }
            anyhow::Ok(())
        }));
    }
    ready.wait().await;
    let sent: Arc<tokio::sync::Mutex<HashMap<String, Instant>>> = Arc::default();
    let writers: Vec<_> = (0..clients)
        .map(|c| {
            let client = client.clone();
            let sent = sent.clone();
            tokio::spawn(async move {
                let api: Api<Pod> = Api::namespaced(client, "watched");
                let mut i = c;
                while i < watch_events {
                    let name = format!("w-{i:05}");
                    sent.lock().await.insert(name.clone(), Instant::now());
                    api.create(&PostParams::default(), &pod(&name)).await?;
                    i += clients;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    let write_started = Instant::now();
    futures::future::try_join_all(writers)
        .await?
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let write_time = write_started.elapsed();
    for t in watch_tasks {
        t.await??;
    }
    let sent = sent.lock().await;
    let mut delivery = hist();
    for (name, at) in received.lock().await.iter() {
        if let Some(t0) = sent.get(name) {
            delivery
                .record(at.saturating_duration_since(*t0).as_micros() as u64)
                .ok();
        }
    }
    rows.push((
        format!(
            "watch fan-out: {watch_events} creates ({:.0}/s) to {watchers} watchers",
            watch_events as f64 / write_time.as_secs_f64()
        ),
        format!(
            "{} deliveries; from create call to watcher: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            delivery.len(),
            delivery.value_at_quantile(0.5) as f64 / 1000.0,
            delivery.value_at_quantile(0.99) as f64 / 1000.0,
            delivery.max() as f64 / 1000.0
        ),
    ));
    rows.push((
        "server RSS at the end".into(),
        format!("{:.1} MiB", server.rss_mib()),
    ));

    println!("| measurement | result |");
    println!("|---|---|");
    for (k, v) in rows {
        println!("| {k} | {v} |");
    }
    Ok(())
}

/// The `metadata.continue` of a list, read without parsing the items.
fn continue_token(list: &str) -> Option<String> {
    let head = &list[..list.find("\"items\"")?];
    let start = head.find("\"continue\":\"")? + "\"continue\":\"".len();
    let end = head[start..].find('"')?;
    Some(head[start..start + end].to_owned()).filter(|c| !c.is_empty())
}

/// The pod name of an ADDED watch event line for a `w-` pod.
fn event_pod_name(line: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(line).ok()?;
    if !text.starts_with("{\"type\":\"ADDED\"") {
        return None;
    }
    let start = text.find("\"name\":\"w-")? + "\"name\":\"".len();
    let end = text[start..].find('"')?;
    Some(text[start..start + end].to_owned())
}

fn http_get(path: &str, accept: &str) -> anyhow::Result<http::Request<Vec<u8>>> {
    Ok(http::Request::get(path)
        .header(http::header::ACCEPT, accept)
        .body(Vec::new())?)
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Cmd::Blast { port } = cli.command {
        return talk::blast(port);
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        match cli.command {
            Cmd::Api {
                pods,
                clients,
                watchers,
                watch_events,
            } => api(&cli.k4t, pods, clients, watchers, watch_events).await,
            Cmd::Pods {
                counts,
                latency_pods,
                containerd_peers,
            } => pods::run(&cli.k4t, &counts, latency_pods, containerd_peers).await,
            Cmd::Workloads { replicas } => workloads::run(&cli.k4t, replicas).await,
            Cmd::Talk {
                mib,
                runs,
                exec_runs,
            } => talk::run(&cli.k4t, mib, runs, exec_runs).await,
            Cmd::Blast { .. } => Ok(()),
        }
    })?;
    Ok(())
}
