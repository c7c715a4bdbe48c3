//! The agent's Node: registration, status (conditions, capacity, addresses, node info) and
//! the heartbeat Lease in `kube-node-lease`, as the kubelet keeps them.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

/// Facts about the machine, read once at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    pub hostname: String,
    pub cpus: u64,
    pub memory_bytes: u64,
    pub ephemeral_storage_bytes: u64,
    pub machine_id: String,
    pub boot_id: String,
    pub kernel_version: String,
    pub os_image: String,
    pub architecture: String,
    pub internal_ip: Option<IpAddr>,
}

fn read_trim(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// The address the machine uses to reach the outside. Connecting a UDP socket only picks a
/// route: no packet is sent.
fn primary_ip() -> Option<IpAddr> {
    let sock = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    sock.connect("10.255.255.255:9").ok()?;
    let ip = sock.local_addr().ok()?.ip();
    (!ip.is_unspecified()).then_some(ip)
}

impl Machine {
    /// Reads the machine (`data_dir` is where ephemeral storage is measured).
    pub fn read(data_dir: &std::path::Path, node_ip: Option<IpAddr>) -> Machine {
        let meminfo = read_trim("/proc/meminfo");
        let memory_kib: u64 = meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let os_image = read_trim("/etc/os-release")
            .lines()
            .find_map(|l| {
                l.strip_prefix("PRETTY_NAME=")
                    .map(|v| v.trim_matches('"').to_owned())
            })
            .unwrap_or_else(|| "Linux".to_owned());
        let storage = rustix::fs::statvfs(data_dir)
            .map(|s| s.f_blocks.saturating_mul(s.f_frsize))
            .unwrap_or(0);
        Machine {
            hostname: read_trim("/proc/sys/kernel/hostname"),
            cpus: std::thread::available_parallelism()
                .map(|n| n.get() as u64)
                .unwrap_or(1),
            memory_bytes: memory_kib * 1024,
            ephemeral_storage_bytes: storage,
            machine_id: read_trim("/etc/machine-id"),
            boot_id: read_trim("/proc/sys/kernel/random/boot_id"),
            kernel_version: read_trim("/proc/sys/kernel/osrelease"),
            os_image,
            architecture: match std::env::consts::ARCH {
                "x86_64" => "amd64".to_owned(),
                "aarch64" => "arm64".to_owned(),
                other => other.to_owned(),
            },
            internal_ip: node_ip.or_else(primary_ip),
        }
    }
}

/// How the agent describes its node.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub max_pods: u64,
    pub pod_cidr: Option<String>,
    /// The port the agent serves logs and exec on (`daemonEndpoints.kubeletEndpoint`).
    pub agent_port: u16,
    pub runtime: k4t_runtime::RuntimeInfo,
    pub kubelet_version: String,
}

/// The memory kept back from pods, as the kubelet's default hard eviction threshold.
const RESERVED_MEMORY: u64 = 100 * 1024 * 1024;

/// The node's labels: the well-known ones plus the configured ones.
pub fn node_labels(settings: &NodeSettings, m: &Machine) -> BTreeMap<String, String> {
    let mut labels: BTreeMap<String, String> = [
        ("kubernetes.io/hostname", settings.name.as_str()),
        ("kubernetes.io/os", "linux"),
        ("kubernetes.io/arch", m.architecture.as_str()),
        ("beta.kubernetes.io/os", "linux"),
        ("beta.kubernetes.io/arch", m.architecture.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    labels.extend(settings.labels.clone());
    labels
}

fn condition(
    ty: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: &str,
    previous: &[Value],
) -> Value {
    let transition = previous
        .iter()
        .find(|c| c["type"] == ty && c["status"] == status)
        .and_then(|c| c.get("lastTransitionTime").cloned())
        .unwrap_or_else(|| json!(now));
    json!({
        "type": ty, "status": status, "reason": reason, "message": message,
        "lastHeartbeatTime": now, "lastTransitionTime": transition,
    })
}

/// The node's allocatable resources (what pods may use), as quantities.
pub fn allocatable(settings: &NodeSettings, m: &Machine) -> BTreeMap<String, String> {
    [
        ("cpu", m.cpus.to_string()),
        (
            "memory",
            format!(
                "{}Ki",
                m.memory_bytes.saturating_sub(RESERVED_MEMORY) / 1024
            ),
        ),
        (
            "ephemeral-storage",
            (m.ephemeral_storage_bytes / 10 * 9).to_string(),
        ),
        ("pods", settings.max_pods.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The node status the agent reports (pure; `previous` conditions keep their transition times).
pub fn node_status(
    settings: &NodeSettings,
    m: &Machine,
    now: Timestamp,
    previous: &[Value],
) -> Value {
    let now = k4t_api::rest::format_time(now);
    let capacity = json!({
        "cpu": m.cpus.to_string(),
        "memory": format!("{}Ki", m.memory_bytes / 1024),
        "ephemeral-storage": format!("{}Ki", m.ephemeral_storage_bytes / 1024),
        "pods": settings.max_pods.to_string(),
    });
    let allocatable = json!(allocatable(settings, m));
    let mut conditions = vec![
        condition(
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
            &now,
            previous,
        ),
        condition(
            "DiskPressure",
            "False",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure",
            &now,
            previous,
        ),
        condition(
            "PIDPressure",
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
            &now,
            previous,
        ),
        condition(
            "Ready",
            "True",
            "KubeletReady",
            "kubelet is posting ready status",
            &now,
            previous,
        ),
    ];
    if !settings.runtime.isolation {
        conditions.push(condition(
            "PodIsolation",
            "False",
            "IsolationUnavailable",
            &settings.runtime.isolation_message,
            &now,
            previous,
        ));
    }
    let mut addresses = Vec::new();
    if let Some(ip) = m.internal_ip {
        addresses.push(json!({"type": "InternalIP", "address": ip.to_string()}));
    }
    addresses.push(json!({"type": "Hostname", "address": m.hostname}));
    json!({
        "capacity": capacity,
        "allocatable": allocatable,
        "conditions": conditions,
        "addresses": addresses,
        "daemonEndpoints": {"kubeletEndpoint": {"Port": settings.agent_port}},
        "nodeInfo": {
            "machineID": m.machine_id,
            "systemUUID": m.machine_id,
            "bootID": m.boot_id,
            "kernelVersion": m.kernel_version,
            "osImage": m.os_image,
            "containerRuntimeVersion": format!("{}://{}", settings.runtime.name, settings.runtime.version),
            "kubeletVersion": settings.kubelet_version,
            "kubeProxyVersion": "",
            "operatingSystem": "linux",
            "architecture": m.architecture,
        },
    })
}

/// Errors talking to the API about the node.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("registering node {node}: {source}")]
    Register { node: String, source: kube::Error },
    #[error("updating node {node} status: {source}")]
    Status { node: String, source: kube::Error },
    #[error("renewing lease kube-node-lease/{node}: {source}")]
    Lease { node: String, source: kube::Error },
}

/// Creates the Node if it does not exist and writes its status.
pub async fn register(
    client: &Client,
    settings: &NodeSettings,
    m: &Machine,
    now: Timestamp,
) -> Result<Node, NodeError> {
    let api: Api<Node> = Api::all(client.clone());
    let labels = node_labels(settings, m);
    let mut spec = json!({});
    if let Some(cidr) = &settings.pod_cidr {
        spec = json!({"podCIDR": cidr, "podCIDRs": [cidr]});
    }
    let node: Node = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": settings.name, "labels": labels},
        "spec": spec,
    }))
    .map_err(|e| NodeError::Register {
        node: settings.name.clone(),
        source: kube::Error::SerdeError(e),
    })?;
    let pp = PostParams {
        field_manager: Some("k4t-agent".into()),
        ..Default::default()
    };
    match api.create(&pp, &node).await {
        Ok(_) => tracing::info!(node = %settings.name, "registered the node"),
        Err(kube::Error::Api(e)) if e.code == 409 => {
            let patch = json!({"metadata": {"labels": labels}});
            api.patch(
                &settings.name,
                &PatchParams::default(),
                &Patch::Merge(patch),
            )
            .await
            .map_err(|source| NodeError::Register {
                node: settings.name.clone(),
                source,
            })?;
        }
        Err(source) => {
            return Err(NodeError::Register {
                node: settings.name.clone(),
                source,
            });
        }
    }
    update_status(client, settings, m, now).await
}

/// Writes the node status, keeping condition transition times.
pub async fn update_status(
    client: &Client,
    settings: &NodeSettings,
    m: &Machine,
    now: Timestamp,
) -> Result<Node, NodeError> {
    let api: Api<Node> = Api::all(client.clone());
    let current = api
        .get_status(&settings.name)
        .await
        .map_err(|source| NodeError::Status {
            node: settings.name.clone(),
            source,
        })?;
    let previous: Vec<Value> = current
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .map(|c| {
            c.iter()
                .filter_map(|c| serde_json::to_value(c).ok())
                .collect()
        })
        .unwrap_or_default();
    let status = node_status(settings, m, now, &previous);
    api.patch_status(
        &settings.name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": status})),
    )
    .await
    .map_err(|source| NodeError::Status {
        node: settings.name.clone(),
        source,
    })
}

/// How long a lease is valid, and how often the agent renews it (the kubelet's defaults).
pub const LEASE_DURATION_SECONDS: i32 = 40;
pub const LEASE_RENEW_INTERVAL: Duration = Duration::from_secs(10);

/// Creates or renews the node's Lease.
pub async fn renew_lease(
    client: &Client,
    node: &str,
    node_uid: Option<&str>,
    now: Timestamp,
) -> Result<(), NodeError> {
    let api: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let renew = k4t_api::rest::format_micro_time(now);
    let err = |source| NodeError::Lease {
        node: node.to_owned(),
        source,
    };
    match api.get_opt(node).await.map_err(err)? {
        Some(_) => {
            let patch = json!({"spec": {"renewTime": renew, "holderIdentity": node, "leaseDurationSeconds": LEASE_DURATION_SECONDS}});
            api.patch(node, &PatchParams::default(), &Patch::Merge(patch))
                .await
                .map_err(err)?;
        }
        None => {
            let mut meta = json!({"name": node, "namespace": "kube-node-lease"});
            if let Some(uid) = node_uid {
                meta["ownerReferences"] =
                    json!([{"apiVersion": "v1", "kind": "Node", "name": node, "uid": uid}]);
            }
            let lease: Lease = serde_json::from_value(json!({
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": meta,
                "spec": {"holderIdentity": node, "leaseDurationSeconds": LEASE_DURATION_SECONDS, "renewTime": renew},
            }))
            .map_err(|e| err(kube::Error::SerdeError(e)))?;
            api.create(&PostParams::default(), &lease)
                .await
                .map_err(err)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(isolation: bool) -> NodeSettings {
        NodeSettings {
            name: "node-1".into(),
            labels: [(
                "node-role.kubernetes.io/control-plane".to_owned(),
                "true".to_owned(),
            )]
            .into(),
            max_pods: 110,
            pod_cidr: Some("10.42.0.0/24".into()),
            agent_port: 10250,
            runtime: k4t_runtime::RuntimeInfo {
                name: "process".into(),
                version: "0.1.0".into(),
                isolation,
                isolation_message:
                    "k4t is not running as root: pods share the host network without isolation"
                        .into(),
                node_pod_ip: None,
            },
            kubelet_version: "v1.36.0+k4t-0.1.0".into(),
        }
    }

    fn machine() -> Machine {
        Machine {
            hostname: "vm".into(),
            cpus: 2,
            memory_bytes: 4 * 1024 * 1024 * 1024,
            ephemeral_storage_bytes: 100 * 1024 * 1024 * 1024,
            machine_id: "abc".into(),
            boot_id: "boot".into(),
            kernel_version: "6.1.0".into(),
            os_image: "Debian GNU/Linux 12 (bookworm)".into(),
            architecture: "amd64".into(),
            internal_ip: Some("192.168.1.5".parse().unwrap()),
        }
    }

    #[test]
    fn status_has_kubelet_conditions_and_resources() {
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let s = node_status(&settings(true), &machine(), t0, &[]);
        assert_eq!(s["capacity"]["cpu"], "2");
        assert_eq!(s["capacity"]["memory"], "4194304Ki");
        assert_eq!(s["allocatable"]["memory"], "4091904Ki");
        let ready = s["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Ready")
            .unwrap();
        assert_eq!(
            (ready["status"].as_str(), ready["reason"].as_str()),
            (Some("True"), Some("KubeletReady"))
        );
        assert_eq!(s["addresses"][0]["address"], "192.168.1.5");
        assert_eq!(s["nodeInfo"]["containerRuntimeVersion"], "process://0.1.0");
        // A later status keeps transition times of unchanged conditions.
        let prev: Vec<Value> = s["conditions"].as_array().unwrap().clone();
        let t1: Timestamp = "2026-01-01T00:05:00Z".parse().unwrap();
        let s2 = node_status(&settings(true), &machine(), t1, &prev);
        let ready2 = s2["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Ready")
            .unwrap();
        assert_eq!(ready2["lastTransitionTime"], "2026-01-01T00:00:00Z");
        assert_eq!(ready2["lastHeartbeatTime"], "2026-01-01T00:05:00Z");
    }

    #[test]
    fn without_isolation_the_node_says_so() {
        let s = node_status(&settings(false), &machine(), Timestamp::UNIX_EPOCH, &[]);
        let c = s["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "PodIsolation")
            .unwrap();
        assert_eq!(c["status"], "False");
        assert!(
            c["message"]
                .as_str()
                .unwrap()
                .contains("not running as root")
        );
        let labels = node_labels(&settings(false), &machine());
        assert_eq!(labels["kubernetes.io/hostname"], "node-1");
        assert_eq!(labels["node-role.kubernetes.io/control-plane"], "true");
    }
}
