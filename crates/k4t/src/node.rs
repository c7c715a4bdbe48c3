//! The node side of the binary: the flags a node agent takes (shared by `k4t server`, which
//! runs one for its own machine, and `k4t agent`, which joins a server), and the runtime it
//! runs pods on.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::watch;

use crate::parse_duration;

#[derive(clap::Args, Debug, Clone)]
pub struct NodeArgs {
    /// The node's name [default: the hostname].
    #[arg(long, env = "K4T_NODE_NAME")]
    pub node_name: Option<String>,
    /// The node's address as reported to the API [default: the machine's primary address].
    #[arg(long)]
    pub node_ip: Option<std::net::IpAddr>,
    /// Extra node labels, `key=value` (repeatable).
    #[arg(long = "node-label", value_parser = parse_label)]
    pub node_labels: Vec<(String, String)>,
    /// Leave pods running when k4t stops cleanly (they are re-adopted at the next start).
    #[arg(long)]
    pub leave_running: bool,
    /// On a clean stop, the most each pod is given to terminate (pods' own grace periods are
    /// cut to it), like the kubelet's shutdownGracePeriod.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub shutdown_grace_period: Duration,
    /// CrashLoopBackOff: the first delay before a crashed container is restarted again.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub crashloop_backoff_initial: Duration,
    /// CrashLoopBackOff: the longest delay.
    #[arg(long, default_value = "300s", value_parser = parse_duration)]
    pub crashloop_backoff_max: Duration,
    /// The bridge pods are attached to (with the process runtime, as root).
    #[arg(long, default_value = "k4t0")]
    pub pod_bridge: String,
    /// The pods' subnet on this node; the bridge takes its first address.
    #[arg(long, default_value = "10.42.0.0/24")]
    pub pod_cidr: String,
    /// The cgroup, under each cgroup hierarchy's root, that holds the pods' cgroups.
    #[arg(long, default_value = "k4t")]
    pub cgroup_parent: String,
    /// How many pods the node accepts.
    #[arg(long, default_value_t = 110)]
    pub max_pods: u64,
    /// A container's log file is rotated when it reaches this size (`10Mi`, `512Ki`, bytes).
    #[arg(long, default_value = "10Mi", value_parser = parse_size)]
    pub container_log_max_size: u64,
    /// The most log files kept per container instance, the current one included.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(2..))]
    pub container_log_max_files: u32,
}

/// `10Mi`, `512Ki`, `1G`, `4096` → bytes.
fn parse_size(s: &str) -> Result<u64, String> {
    let bad = || {
        format!("invalid size {s:?}: want a number with an optional Ki, Mi, Gi, K, M or G suffix")
    };
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| bad())?;
    let mult: u64 = match unit {
        "" => 1,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "K" | "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        _ => return Err(bad()),
    };
    n.checked_mul(mult).filter(|&b| b > 0).ok_or_else(bad)
}

fn parse_label(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("invalid label {s:?}: want key=value"))
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_lowercase())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "k4t-node".to_owned())
}

impl NodeArgs {
    pub fn name(&self) -> String {
        self.node_name.clone().unwrap_or_else(hostname)
    }

    pub fn agent_config(&self, root_dir: PathBuf) -> k4t_agent::agent::AgentConfig {
        let mut c = k4t_agent::agent::AgentConfig::new(self.name(), root_dir);
        c.node_ip = self.node_ip;
        c.node_labels = self.node_labels.iter().cloned().collect();
        c.leave_running = self.leave_running;
        c.shutdown_grace = self.shutdown_grace_period;
        c.backoff_initial = self.crashloop_backoff_initial;
        c.backoff_max = self.crashloop_backoff_max;
        c.max_pods = self.max_pods;
        c.pod_cidr = Some(self.pod_cidr.clone());
        c.log_rotation = k4t_runtime::LogRotation {
            max_size: self.container_log_max_size,
            max_files: self.container_log_max_files,
        };
        c
    }
}

/// Opens the container runtime pods run on, its state under `dir`: the process runtime, whose
/// per-container supervisor is this same binary (`k4t shim`).
pub async fn open_runtime(
    args: &NodeArgs,
    dir: &Path,
) -> anyhow::Result<Arc<dyn k4t_runtime::Runtime>> {
    let exe = std::env::current_exe().context("finding the k4t binary for the supervisor")?;
    let mut config =
        k4t_runtime::process::ProcessConfig::new(dir.to_path_buf(), exe, vec!["shim".to_owned()]);
    config.bridge = args.pod_bridge.clone();
    config.pod_cidr = args.pod_cidr.clone();
    config.cgroup_parent = args.cgroup_parent.clone();
    let runtime = k4t_runtime::process::ProcessRuntime::new(config).await?;
    Ok(Arc::new(runtime))
}

/// Runs the node agent for this machine until `shutdown`.
pub async fn run_agent(
    client: kube::Client,
    args: &NodeArgs,
    data_dir: &Path,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let runtime = open_runtime(args, &data_dir.join("runtime"))
        .await
        .with_context(|| format!("opening the runtime in {}", data_dir.display()))?;
    let config = args.agent_config(data_dir.join("agent"));
    k4t_agent::agent::run(
        client,
        runtime,
        config,
        Arc::new(k4t_api::clock::SystemClock),
        shutdown,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        assert_eq!(super::parse_size("10Mi"), Ok(10 << 20));
        assert_eq!(super::parse_size("4096"), Ok(4096));
        assert_eq!(super::parse_size("2K"), Ok(2000));
        assert!(super::parse_size("0").is_err());
        assert!(super::parse_size("1Xi").is_err());
        assert!(super::parse_size("").is_err());
    }
}
