//! `k4t-bench pods`: the node agent on the process runtime. Times `kubectl apply` of N demo
//! pods (httpGet readiness every second) until all are Ready; measures k4t's steady-state CPU
//! and RSS with them running, and the per-container supervisors' memory separately; and the
//! latency from a liveness threshold being crossed to the kill, and from a readiness change to
//! the pod's status in the API (both read against the demo app's own request log).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, bail};
use futures::StreamExt as _;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams};
use kube::runtime::watcher;
use tokio::time::Instant;

use crate::{ServerProc, hist};

fn demo_pod(name: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut container = serde_json::json!({
        "name": "app",
        "image": "k4t/demo",
        "ports": [{"containerPort": 8080, "name": "http"}],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 1},
    });
    if let (Some(c), Some(e)) = (container.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            c.insert(k.clone(), v.clone());
        }
    }
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "bench"}},
        "spec": {"terminationGracePeriodSeconds": 5, "containers": [container]}
    })
}

/// How the pods are handed to `kubectl apply`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// One file of many manifests, the way people keep them: a YAML stream (each document in
    /// JSON, which is YAML). kubectl 1.32 decodes the server's whole `/openapi/v3/api/v1` once
    /// per document, to learn that it may leave validation to the server.
    Stream,
    /// One `kind: List` holding them all, as `kubectl get -o yaml` writes it: kubectl validates
    /// it once, itself, against `/openapi/v2`.
    List,
}

impl Form {
    fn name(self) -> &'static str {
        match self {
            Form::Stream => "YAML stream",
            Form::List => "one List",
        }
    }
}

fn write_manifests(path: &Path, items: &[serde_json::Value], form: Form) -> anyhow::Result<()> {
    let out = match form {
        Form::Stream => {
            let mut out = String::new();
            for item in items {
                out.push_str("---\n");
                out.push_str(&serde_json::to_string(item)?);
                out.push('\n');
            }
            out
        }
        Form::List => serde_json::to_string(&serde_json::json!({
            "apiVersion": "v1",
            "kind": "List",
            "items": items,
        }))?,
    };
    std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))
}

/// Applies `items` in `form` and waits until all are Ready: the time to that, and of the
/// apply command itself.
async fn apply_until_ready(
    server: &ServerProc,
    api: &Api<Pod>,
    dir: &Path,
    items: &[serde_json::Value],
    form: Form,
) -> anyhow::Result<(Duration, Duration)> {
    let path = dir.join(format!("pods-{}-{form:?}.yaml", items.len()));
    write_manifests(&path, items, form)?;
    let t = Instant::now();
    kubectl(
        &server.kubeconfig,
        &["apply", "-f", &path.display().to_string()],
    )?;
    let applied = t.elapsed();
    wait_all(api, items.len(), is_ready, Duration::from_secs(600)).await?;
    Ok((t.elapsed(), applied))
}

fn ready_row(n: usize, form: Form, ready: Duration, applied: Duration) -> (String, String) {
    (
        format!("{n} pods as {}: `kubectl apply` → all Ready", form.name()),
        format!(
            "{:.1} s (apply itself {:.1} s)",
            ready.as_secs_f64(),
            applied.as_secs_f64()
        ),
    )
}

/// Deletes every bench pod and waits until the API holds none.
async fn delete_all(api: &Api<Pod>) -> anyhow::Result<Duration> {
    let t = Instant::now();
    api.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().labels("app=bench"),
    )
    .await?;
    wait_all(api, 0, |_| true, Duration::from_secs(600))
        .await
        .ok();
    loop {
        if api
            .list(&ListParams::default().labels("app=bench"))
            .await?
            .items
            .is_empty()
        {
            return Ok(t.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn is_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

pub(crate) fn kubectl(kubeconfig: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .output()
        .context("running kubectl")?;
    if !out.status.success() {
        bail!("kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Memory of a set of processes, in KiB: means over them, and the largest RSS.
#[derive(Debug, Default, Clone, Copy)]
struct Mem {
    count: usize,
    rss: f64,
    rss_max: u64,
    pss: f64,
    /// Private memory: anonymous pages (heap, stack, copied-on-write data).
    anon: f64,
}

impl Mem {
    fn row(&self) -> String {
        format!(
            "RSS mean {:.0} KiB (max {}), PSS mean {:.0} KiB, anonymous mean {:.0} KiB",
            self.rss, self.rss_max, self.pss, self.anon
        )
    }
}

/// Memory of the processes whose command line (arguments split) `pick` selects.
fn mem_of(pick: impl Fn(&[&[u8]]) -> bool) -> Mem {
    let (mut rss, mut pss, mut anon) = (Vec::new(), Vec::new(), Vec::new());
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Mem::default();
    };
    for e in dir.flatten() {
        let p = e.path();
        let Ok(cmd) = std::fs::read(p.join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmd.split(|b| *b == 0).collect();
        if !pick(&args) {
            continue;
        }
        let Ok(rollup) = std::fs::read_to_string(p.join("smaps_rollup")) else {
            continue;
        };
        let field = |key: &str| -> Option<u64> {
            rollup
                .lines()
                .find(|l| l.starts_with(key))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        };
        if let (Some(r), Some(ps), Some(a)) = (field("Rss:"), field("Pss:"), field("Anonymous:")) {
            rss.push(r);
            pss.push(ps);
            anon.push(a);
        }
    }
    if rss.is_empty() {
        return Mem::default();
    }
    let mean = |v: &[u64]| v.iter().sum::<u64>() as f64 / v.len() as f64;
    Mem {
        count: rss.len(),
        rss: mean(&rss),
        rss_max: rss.iter().copied().max().unwrap_or(0),
        pss: mean(&pss),
        anon: mean(&anon),
    }
}

/// k4t's per-container supervisors (`k4t shim start`, which stays as the supervisor).
fn supervisors() -> Mem {
    mem_of(|a| a.len() >= 3 && a[1] == b"shim" && a[2] == b"start")
}

/// k4t's per-pod inits (`k4t shim sandbox`: PID 1 of the pod, holding its namespaces).
fn pod_inits() -> Mem {
    mem_of(|a| a.len() >= 3 && a[1] == b"shim" && a[2] == b"sandbox")
}

/// containerd's runc shims, measured by `bench/containerd-shims.sh` in the same run.
fn containerd_shims(n: usize, dir: &Path) -> anyhow::Result<Mem> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("containerd-shims.sh");
    let work = dir.join("containerd");
    let out = Command::new(&script)
        .args(["start", &n.to_string()])
        .arg(&work)
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    let mem = if out.status.success() {
        Ok(mem_of(|a| {
            a.first()
                .is_some_and(|p| p.ends_with(b"containerd-shim-runc-v2"))
        }))
    } else {
        Err(anyhow::anyhow!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        ))
    };
    let _ = Command::new(&script).arg("stop").arg(&work).status();
    mem
}

async fn wait_all(
    api: &Api<Pod>,
    n: usize,
    pred: fn(&Pod) -> bool,
    limit: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    let mut stream = std::pin::pin!(watcher(
        api.clone(),
        watcher::Config::default().labels("app=bench")
    ));
    let mut state: HashMap<String, bool> = HashMap::new();
    loop {
        let ev = tokio::time::timeout_at(deadline, stream.next())
            .await
            .context("timed out")?
            .context("watch ended")??;
        match ev {
            watcher::Event::Apply(p) | watcher::Event::InitApply(p) => {
                let name = p.metadata.name.clone().unwrap_or_default();
                state.insert(name, pred(&p));
            }
            watcher::Event::Delete(p) => {
                state.remove(&p.metadata.name.clone().unwrap_or_default());
            }
            _ => {}
        }
        if state.len() >= n && state.values().filter(|v| **v).count() >= n {
            return Ok(());
        }
    }
}

pub async fn run(
    bin: &PathBuf,
    counts: &[usize],
    latency_pods: usize,
    containerd_peers: usize,
) -> anyhow::Result<()> {
    let max = counts
        .iter()
        .copied()
        .max()
        .unwrap_or(100)
        .max(latency_pods);
    let max_pods = (max + 10).to_string();
    let server = ServerProc::start_with(
        bin,
        &[
            "--node-name",
            "bench",
            "--max-pods",
            &max_pods,
            "--pod-bridge",
            "k4tb0",
            "--pod-cidr",
            "10.42.128.0/20",
            "--shutdown-grace-period",
            "2s",
            "--crashloop-backoff-initial",
            "1s",
            "--crashloop-backoff-max",
            "1s",
        ],
    )?;
    let client = server.client().await?;
    let api: Api<Pod> = Api::namespaced(client.clone(), "default");
    // The node must be Ready before pods are applied.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let dir = tempfile::tempdir()?;
    let mut rows: Vec<(String, String)> = Vec::new();

    for &n in counts {
        let items: Vec<serde_json::Value> = (0..n)
            .map(|i| demo_pod(&format!("web-{i:04}"), serde_json::json!({})))
            .collect();
        // As one List first, on a server that has not yet held these pods: the steady state
        // is measured on that run.
        let (ready, applied) =
            apply_until_ready(&server, &api, dir.path(), &items, Form::List).await?;
        rows.push(ready_row(n, Form::List, ready, applied));
        // Steady state with the pods running and probed every second: two windows one after
        // the other, the second well clear of what the start-up left to finish.
        tokio::time::sleep(Duration::from_secs(10)).await;
        let window = Duration::from_secs(30);
        for (from, to) in [(10, 40), (40, 70)] {
            let cpu0 = server.cpu_seconds();
            tokio::time::sleep(window).await;
            let cpu = (server.cpu_seconds() - cpu0) / window.as_secs_f64() * 100.0;
            rows.push((
                format!("{n} pods: k4t CPU, steady state ({from}–{to} s after all Ready)"),
                format!("{cpu:.1} % of one core"),
            ));
        }
        rows.push((
            format!("{n} pods: k4t RSS"),
            format!("{:.1} MiB", server.rss_mib()),
        ));
        let sup = supervisors();
        rows.push((
            format!("{n} pods: per-container supervisors ({})", sup.count),
            sup.row(),
        ));
        let inits = pod_inits();
        rows.push((
            format!("{n} pods: per-pod inits ({})", inits.count),
            inits.row(),
        ));
        if n == max {
            let peer = containerd_shims(containerd_peers, dir.path())?;
            rows.push((
                format!(
                    "peer, same run: containerd-shim-runc-v2, one per container ({})",
                    peer.count
                ),
                peer.row(),
            ));
            if sup.rss > 0.0 && sup.anon > 0.0 {
                rows.push((
                    "containerd shim ÷ k4t supervisor".into(),
                    format!(
                        "RSS {:.1}×, anonymous {:.1}×",
                        peer.rss / sup.rss,
                        peer.anon / sup.anon
                    ),
                ));
            }
        }
        let gone = delete_all(&api).await?;
        rows.push((
            format!("{n} pods: delete → all gone"),
            format!("{:.1} s", gone.as_secs_f64()),
        ));
        let (ready, applied) =
            apply_until_ready(&server, &api, dir.path(), &items, Form::Stream).await?;
        rows.push(ready_row(n, Form::Stream, ready, applied));
        delete_all(&api).await?;
    }

    let (live, ready) = latencies(&server, &api, latency_pods, dir.path()).await?;
    for (what, mut h) in [
        ("liveness threshold crossed → kill (SIGTERM)", live),
        ("readiness change → pod status in the API", ready),
    ] {
        if h.is_empty() {
            rows.push((what.into(), "no samples".into()));
            continue;
        }
        h.auto(true);
        rows.push((
            what.into(),
            format!(
                "p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} samples)",
                h.value_at_quantile(0.5) as f64 / 1000.0,
                h.value_at_quantile(0.99) as f64 / 1000.0,
                h.max() as f64 / 1000.0,
                h.len()
            ),
        ));
    }
    println!("| measure | result |\n|---|---|");
    for (k, v) in rows {
        println!("| {k} | {v} |");
    }
    Ok(())
}

/// Parses the demo's request log lines (`<time> GET <path> <status>`, and `<time> SIGTERM`)
/// out of a CRI log file.
fn demo_lines(path: &Path) -> Vec<(Timestamp, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            // CRI: `<time> <stream> <tag> <message>`.
            let msg = l.splitn(4, ' ').nth(3)?;
            let (ts, rest) = msg.split_once(' ')?;
            Some((ts.parse().ok()?, rest.to_owned()))
        })
        .collect()
}

async fn latencies(
    server: &ServerProc,
    api: &Api<Pod>,
    n: usize,
    dir: &Path,
) -> anyhow::Result<(hdrhistogram::Histogram<u64>, hdrhistogram::Histogram<u64>)> {
    let mut live = hist();
    let mut ready = hist();
    if n == 0 {
        return Ok((live, ready));
    }
    // Liveness: each instance fails its third probe; the kill follows the threshold.
    let mut items = Vec::new();
    for i in 0..n {
        items.push(demo_pod(
            &format!("live-{i:03}"),
            serde_json::json!({
                "args": ["--fail-after", "2", "--log-requests"],
                "livenessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1, "failureThreshold": 1},
                "readinessProbe": null,
            }),
        ));
        items.push(demo_pod(
            &format!("ready-{i:03}"),
            // The change is the probe result's: one answer decides it either way, so the
            // demo's log line of that answer is when it happened.
            serde_json::json!({
                "args": ["--log-requests"],
                "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 1, "failureThreshold": 1},
            }),
        ));
    }
    let path = dir.join("latency.yaml");
    write_manifests(&path, &items, Form::Stream)?;
    // Readiness flips seen by a watch, with the time they arrived.
    let flips: std::sync::Arc<flips::Flips> = Default::default();
    let watch = {
        let api = api.clone();
        let flips = flips.clone();
        tokio::spawn(async move {
            let mut stream =
                std::pin::pin!(watcher(api, watcher::Config::default().labels("app=bench")));
            while let Some(Ok(ev)) = stream.next().await {
                if let watcher::Event::Apply(p) = ev {
                    flips.record(&p, Timestamp::now());
                }
            }
        })
    };
    kubectl(
        &server.kubeconfig,
        &["apply", "-f", &path.display().to_string()],
    )?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    // Toggle readiness of the `ready-*` pods through the demo's knobs, a few times.
    for round in 0..6 {
        let rate = if round % 2 == 0 { "1" } else { "0" };
        for p in api
            .list(&ListParams::default().labels("app=bench"))
            .await?
            .items
        {
            let name = p.metadata.name.clone().unwrap_or_default();
            let Some(ip) = p.status.as_ref().and_then(|s| s.pod_ip.clone()) else {
                continue;
            };
            if name.starts_with("ready-") {
                let _ = tokio::process::Command::new("curl")
                    .args([
                        "-s",
                        "-o",
                        "/dev/null",
                        &format!("http://{ip}:8080/knobs?error_rate={rate}"),
                    ])
                    .status()
                    .await;
            }
        }
        tokio::time::sleep(Duration::from_secs(4)).await;
    }
    watch.abort();
    // Read the demo logs: pods/<uid>/logs/app/<attempt>.log under the agent's directory.
    let pods_dir = server.data_dir().join("agent/pods");
    for p in api
        .list(&ListParams::default().labels("app=bench"))
        .await?
        .items
    {
        let name = p.metadata.name.clone().unwrap_or_default();
        let uid = p.metadata.uid.clone().unwrap_or_default();
        let logs = pods_dir.join(&uid).join("logs/app");
        let Ok(files) = std::fs::read_dir(&logs) else {
            continue;
        };
        let mut lines: Vec<(Timestamp, String)> = Vec::new();
        for f in files.flatten() {
            lines.extend(demo_lines(&f.path()));
        }
        lines.sort_by_key(|l| l.0);
        if name.starts_with("live-") {
            // The failing probe answer that crossed the threshold, then SIGTERM.
            let mut last_fail: Option<Timestamp> = None;
            for (t, msg) in &lines {
                if msg.starts_with("GET / 500") {
                    last_fail = Some(*t);
                } else if msg.starts_with("SIGTERM")
                    && let Some(f) = last_fail.take()
                {
                    let us = t.duration_since(f).as_micros().max(0) as u64;
                    live.record(us).ok();
                }
            }
        } else {
            // The first probe answer with the new readiness, then the API's flip.
            let mut prev_ok: Option<bool> = None;
            let mut changes = Vec::new();
            for (t, msg) in &lines {
                let Some(code) = msg.strip_prefix("GET /healthz ") else {
                    continue;
                };
                let ok = code.trim() == "200";
                if prev_ok.is_some_and(|p| p != ok) {
                    changes.push((*t, ok));
                }
                prev_ok = Some(ok);
            }
            for (t, ok) in changes {
                if let Some(seen) = flips.first_after(&name, ok, t) {
                    let us = seen.duration_since(t).as_micros().max(0) as u64;
                    ready.record(us).ok();
                }
            }
        }
    }
    api.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().labels("app=bench"),
    )
    .await?;
    Ok((live, ready))
}

mod flips {
    use super::*;
    use std::sync::Mutex;

    /// Ready-condition values by pod, with the time each was first seen.
    #[derive(Default)]
    pub struct Flips(Mutex<BTreeMap<String, Vec<(Timestamp, bool)>>>);

    impl Flips {
        pub fn record(&self, p: &Pod, at: Timestamp) {
            let name = p.metadata.name.clone().unwrap_or_default();
            let ready = is_ready(p);
            let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
            let v = m.entry(name).or_default();
            if v.last().map(|l| l.1) != Some(ready) {
                v.push((at, ready));
            }
        }

        /// When the pod was first seen with readiness `ready` after `t`.
        pub fn first_after(&self, name: &str, ready: bool, t: Timestamp) -> Option<Timestamp> {
            let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
            m.get(name)?
                .iter()
                .find(|(at, r)| *r == ready && *at >= t)
                .map(|(at, _)| *at)
        }
    }
}
