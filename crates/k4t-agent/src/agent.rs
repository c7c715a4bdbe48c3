//! The agent's main loop: registers the node, keeps its Lease and status fresh, watches the
//! pods bound to it and runs one worker per pod.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use k4t_api::clock::Clock;
use kube::Client;
use tokio::sync::watch;

use crate::node::{self, Machine, NodeSettings};

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub node_name: String,
    /// Where pod directories (volumes, logs) live.
    pub root_dir: PathBuf,
    pub node_ip: Option<IpAddr>,
    pub node_labels: BTreeMap<String, String>,
    pub pod_cidr: Option<String>,
    pub max_pods: u64,
    /// CrashLoopBackOff's first delay and cap (Kubernetes: 10 s and 300 s).
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// How often the node status is written even when nothing changed.
    pub node_status_interval: Duration,
    /// Leave pods running when the agent stops cleanly (they are re-adopted at the next start).
    pub leave_running: bool,
    pub agent_port: u16,
}

impl AgentConfig {
    pub fn new(node_name: String, root_dir: PathBuf) -> Self {
        Self {
            node_name,
            root_dir,
            node_ip: None,
            node_labels: BTreeMap::new(),
            pod_cidr: None,
            max_pods: 110,
            backoff_initial: Duration::from_secs(10),
            backoff_max: Duration::from_secs(300),
            node_status_interval: Duration::from_secs(60),
            leave_running: false,
            agent_port: 10250,
        }
    }
}

/// The version the agent reports as `kubeletVersion`.
pub const KUBELET_VERSION: &str = concat!("v1.36.0+k4t-", env!("CARGO_PKG_VERSION"));

/// Keeps the node registered: Lease every 10 s, status on a slower cadence.
pub async fn node_loop(
    client: Client,
    settings: NodeSettings,
    machine: Machine,
    clock: Arc<dyn Clock>,
    status_interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let node_uid = loop {
        match node::register(&client, &settings, &machine, clock.now()).await {
            Ok(n) => break n.metadata.uid.clone(),
            Err(e) => tracing::warn!(error = %e, "registering the node; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = stopped(&mut shutdown) => return,
        }
    };
    let mut lease = tokio::time::interval(node::LEASE_RENEW_INTERVAL);
    let mut status = tokio::time::interval(status_interval);
    loop {
        tokio::select! {
            _ = lease.tick() => {
                if let Err(e) = node::renew_lease(&client, &settings.name, node_uid.as_deref(), clock.now()).await {
                    tracing::warn!(error = %e, "renewing the node lease");
                }
            }
            _ = status.tick() => {
                if let Err(e) = node::update_status(&client, &settings, &machine, clock.now()).await {
                    tracing::warn!(error = %e, "updating the node status");
                }
            }
            _ = stopped(&mut shutdown) => return,
        }
    }
}

/// Resolves when the shutdown signal is raised (or its sender is gone).
pub(crate) async fn stopped(rx: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not Send: drop it before the future ends.
    let _ = rx.wait_for(|s| *s).await.map(|_| ());
}
