//! STUB: to be implemented. The API status of a pod, computed from what the runtime reports and
//! what the agent knows (probe results, the reason a container could not start), the way the
//! kubelet's `generateAPIPodStatus` does. Pure: no I/O, the time is an argument.

use std::collections::BTreeMap;
use std::net::IpAddr;

use jiff::Timestamp;
use k4t_runtime::{ContainerId, ContainerStatus, SandboxStatus};
use k8s_openapi::api::core::v1::{Pod, PodStatus};

/// Why a container is waiting, as the last sync decided (`ContainerCreating`,
/// `CrashLoopBackOff` with `back-off 40s restarting failed container=...`,
/// `CreateContainerConfigError`, `CreateContainerError`, `RunContainerError`, `PodInitializing`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub reason: String,
    pub message: String,
}

/// A decision of the agent that ends the pod regardless of its containers
/// (activeDeadlineSeconds: phase `Failed`, reason `DeadlineExceeded`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terminal {
    pub phase: String,
    pub reason: String,
    pub message: String,
}

/// Everything the status is computed from.
#[derive(Debug, Clone)]
pub struct PodView<'a> {
    pub pod: &'a Pod,
    /// This pod's sandboxes as the runtime reports them, newest first.
    pub sandboxes: &'a [SandboxStatus],
    /// Every instance of this pod's containers the runtime still holds (running and exited;
    /// the agent keeps at least the latest and the previous instance of each container).
    pub containers: &'a [ContainerStatus],
    /// Per container name: why it is waiting, when the last sync could not (re)start it.
    pub waiting: &'a BTreeMap<String, Waiting>,
    /// Per container instance: the readiness probe's current result (absent: no result yet).
    pub readiness: &'a BTreeMap<ContainerId, bool>,
    /// Per container instance: whether the startup probe has succeeded (absent: no result yet).
    pub startup: &'a BTreeMap<ContainerId, bool>,
    /// The runtime's name: container IDs in the status are `<runtime_name>://<id>`.
    pub runtime_name: &'a str,
    pub host_ip: Option<IpAddr>,
    pub terminal: Option<&'a Terminal>,
    pub now: Timestamp,
}

/// The pod's status as the API should hold it. `old` is the status the API holds now: its
/// condition transition times are kept unless the condition flips, its `startTime` is kept,
/// and the last state of containers the runtime no longer holds is taken from it.
pub fn pod_status(view: &PodView<'_>, old: Option<&PodStatus>) -> PodStatus {
    let _ = (view, old);
    PodStatus::default()
}
