//! `k4t-bench workloads`: a Deployment of demo pods scaled 0 → N → 0. Times the scale-up until
//! the Deployment reports every replica ready and available, and the scale-down until every
//! pod is gone, with the CPU each k4t process spent meanwhile. The API server with its
//! controllers and the node agent run as two processes (`k4t server --no-agent` and
//! `k4t agent`), so the controllers' share is not mixed with the pods' start-up.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context as _;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use tokio::time::Instant;

use crate::ServerProc;

fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// The node agent as its own process, stopped cleanly (its pods with it) on drop.
struct AgentProc {
    child: Child,
}

impl AgentProc {
    fn start(bin: &Path, kubeconfig: &Path, data: &Path, max_pods: usize) -> anyhow::Result<Self> {
        let child = Command::new(bin)
            .args(["agent", "--log", "warn", "--kubeconfig"])
            .arg(kubeconfig)
            .arg("--data-dir")
            .arg(data)
            .args([
                "--node-name",
                "bench",
                "--pod-bridge",
                "k4tb0",
                "--pod-cidr",
                "10.42.128.0/20",
                "--cgroup-parent",
                "k4t-bench",
                "--shutdown-grace-period",
                "2s",
                "--max-pods",
                &max_pods.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting the agent {}", bin.display()))?;
        Ok(Self { child })
    }
}

impl Drop for AgentProc {
    fn drop(&mut self) {
        crate::stop_gracefully(&mut self.child);
    }
}

fn deployment() -> anyhow::Result<Deployment> {
    Ok(serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "bench"}},
            "template": {
                "metadata": {"labels": {"app": "bench"}},
                "spec": {
                    "terminationGracePeriodSeconds": 5,
                    "containers": [{
                        "name": "app",
                        "image": "k4t/demo",
                        "ports": [{"containerPort": 8080, "name": "http"}],
                        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 1}
                    }]
                }
            }
        }
    }))?)
}

async fn scale(api: &Api<Deployment>, n: usize) -> anyhow::Result<()> {
    let patch = serde_json::json!({"spec": {"replicas": n}});
    api.patch_scale("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

pub async fn run(bin: &PathBuf, n: usize) -> anyhow::Result<()> {
    let server = ServerProc::start(bin)?;
    let agent = AgentProc::start(
        bin,
        &server.kubeconfig,
        &server.dir.path().join("agent"),
        n + 10,
    )?;
    let client = server.client().await?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client, "default");
    // The node must be Ready before the pods come.
    tokio::time::sleep(Duration::from_secs(3)).await;
    deployments
        .create(&PostParams::default(), &deployment()?)
        .await?;

    let server_pid = server.child.id();
    let agent_pid = agent.child.id();
    let (s0, a0) = (cpu_seconds(server_pid), cpu_seconds(agent_pid));
    let t = Instant::now();
    scale(&deployments, n).await?;
    loop {
        let d = deployments.get("web").await?;
        let st = d.status.unwrap_or_default();
        if st.ready_replicas == Some(n as i32)
            && st.available_replicas == Some(n as i32)
            && st.updated_replicas == Some(n as i32)
        {
            break;
        }
        anyhow::ensure!(
            t.elapsed() < Duration::from_secs(600),
            "timed out scaling up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let up = t.elapsed();
    let (s1, a1) = (cpu_seconds(server_pid), cpu_seconds(agent_pid));

    tokio::time::sleep(Duration::from_secs(5)).await;
    let (s2, a2) = (cpu_seconds(server_pid), cpu_seconds(agent_pid));
    let t = Instant::now();
    scale(&deployments, 0).await?;
    loop {
        if pods.list(&ListParams::default()).await?.items.is_empty() {
            break;
        }
        anyhow::ensure!(
            t.elapsed() < Duration::from_secs(600),
            "timed out scaling down"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let down = t.elapsed();
    let (s3, a3) = (cpu_seconds(server_pid), cpu_seconds(agent_pid));

    println!("| measure | result |\n|---|---|");
    println!(
        "| Deployment scaled 0 → {n}: until {n}/{n} ready and available | {:.1} s |",
        up.as_secs_f64()
    );
    println!(
        "| CPU meanwhile: API server + controllers / node agent | {:.1} s / {:.1} s |",
        s1 - s0,
        a1 - a0
    );
    println!(
        "| Deployment scaled {n} → 0: until every pod is gone | {:.1} s |",
        down.as_secs_f64()
    );
    println!(
        "| CPU meanwhile: API server + controllers / node agent | {:.1} s / {:.1} s |",
        s3 - s2,
        a3 - a2
    );
    drop(agent);
    Ok(())
}
