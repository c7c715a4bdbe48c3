//! The API status of a pod, computed from what the runtime reports and what the agent knows
//! (probe results, the reason a container could not start), the way the kubelet's
//! `generateAPIPodStatus` does: container statuses (`convertToAPIContainerStatuses`), `ready` and
//! `started` (the probe manager's view), the phase (`getPhase` and its post-processing), the
//! kubelet-owned conditions with their transition times, IPs, start time and QoS class.
//! Pure: no I/O, the time is an argument.
//!
//! Deliberate differences from the kubelet, each because k4t has no image store or because a
//! status must survive an agent restart without the kubelet's in-memory caches:
//! - `image` is the spec's image and `imageID` is `sha256:` followed by the hex SHA-256 of that
//!   image string (see [`image_id`]): stable, image-shaped, but not a registry digest.
//! - When the runtime holds only the newest instance of a container, `lastState` is taken from
//!   `old` (the previous instance's termination), so `kubectl get pods` keeps showing
//!   `N (Xs ago)` after the runtime pruned older instances.
//! - After an agent restart, a container instance that `old` reported as `started`/`ready` keeps
//!   that value until its probes report (the kubelet keys this on its own start time).
//! - A ready sandbox without an IP of its own (host network, or no isolation) gets the host IP
//!   as pod IP and counts as networked for `PodReadyToStartContainers`; pod IPs are kept from
//!   `old` once the sandbox is gone, so finished pods keep showing their IP.

use std::collections::BTreeMap;
use std::net::IpAddr;

use jiff::Timestamp;
use k4t_runtime::{
    ContainerId, ContainerState as RuntimeState, ContainerStatus, SandboxState, SandboxStatus,
};
use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus as ApiContainerStatus, HostIP, Pod, PodCondition, PodIP,
    PodSpec, PodStatus, VolumeMountStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use sha2::{Digest, Sha256};

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

/// Pod phases.
pub const PENDING: &str = "Pending";
pub const RUNNING: &str = "Running";
pub const SUCCEEDED: &str = "Succeeded";
pub const FAILED: &str = "Failed";

/// The conditions the kubelet owns, in the order it writes them.
pub const POD_READY_TO_START_CONTAINERS: &str = "PodReadyToStartContainers";
pub const INITIALIZED: &str = "Initialized";
pub const READY: &str = "Ready";
pub const CONTAINERS_READY: &str = "ContainersReady";
pub const POD_SCHEDULED: &str = "PodScheduled";

/// Waiting reasons the status itself produces.
pub const CONTAINER_CREATING: &str = "ContainerCreating";
pub const POD_INITIALIZING: &str = "PodInitializing";
/// The terminated reason of a container the runtime lost.
pub const CONTAINER_STATUS_UNKNOWN: &str = "ContainerStatusUnknown";

const LOST_WHILE_RUNNING: &str = "The container could not be located when the pod was deleted.  The container used to be Running";
const NOT_LOCATED: &str = "The container could not be located when the pod was terminated";
const INIT_LOST: &str = "Unable to get init container status from container runtime and pod has been initialized, treat it as exited normally";

const UNKNOWN_CONTAINER_STATUSES: &str = "UnknownContainerStatuses";
const POD_COMPLETED: &str = "PodCompleted";
const POD_FAILED: &str = "PodFailed";
const CONTAINERS_NOT_READY: &str = "ContainersNotReady";
const CONTAINERS_NOT_INITIALIZED: &str = "ContainersNotInitialized";
const READINESS_GATES_NOT_READY: &str = "ReadinessGatesNotReady";

/// The kubelet's `imageID` stand-in: `sha256:<hex SHA-256 of the image reference>`. The process
/// runtime pulls nothing, so there is no registry digest; this keeps the field stable and in
/// the shape clients expect.
pub fn image_id(image: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(image.as_bytes())))
}

/// Whether an init container is a sidecar (`restartPolicy: Always` on the container).
pub fn is_sidecar(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

/// API timestamps carry whole seconds; truncating here keeps a regenerated status equal to the
/// one read back from the API.
fn time(t: Timestamp) -> Time {
    Time(Timestamp::from_second(t.as_second()).unwrap_or(t))
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

fn waiting_state(reason: Option<&str>, message: Option<&str>) -> ContainerState {
    ContainerState {
        waiting: Some(ContainerStateWaiting {
            reason: reason.and_then(non_empty),
            message: message.and_then(non_empty),
        }),
        ..Default::default()
    }
}

fn terminated_state(t: ContainerStateTerminated) -> ContainerState {
    ContainerState {
        terminated: Some(t),
        ..Default::default()
    }
}

fn lost_termination(message: &str) -> ContainerStateTerminated {
    ContainerStateTerminated {
        reason: Some(CONTAINER_STATUS_UNKNOWN.to_owned()),
        message: Some(message.to_owned()),
        exit_code: 137,
        ..Default::default()
    }
}

fn state_of(s: &ApiContainerStatus) -> (bool, bool, bool) {
    let st = s.state.as_ref();
    (
        st.is_some_and(|s| s.waiting.is_some()),
        st.is_some_and(|s| s.running.is_some()),
        st.is_some_and(|s| s.terminated.is_some()),
    )
}

fn terminated(s: &ApiContainerStatus) -> Option<&ContainerStateTerminated> {
    s.state.as_ref().and_then(|s| s.terminated.as_ref())
}

fn last_terminated(s: &ApiContainerStatus) -> Option<&ContainerStateTerminated> {
    s.last_state.as_ref().and_then(|s| s.terminated.as_ref())
}

/// What the conversion needs besides one container's own data.
struct Ctx<'a> {
    view: &'a PodView<'a>,
    spec: &'a PodSpec,
    has_init: bool,
    deleting: bool,
    /// Some regular container has an instance in the runtime.
    any_regular_instance: bool,
}

/// The runtime's instances of one container, newest first.
fn instances<'a>(view: &PodView<'a>, name: &str) -> Vec<&'a ContainerStatus> {
    let mut v: Vec<&ContainerStatus> = view.containers.iter().filter(|c| c.name == name).collect();
    v.sort_by_key(|c| std::cmp::Reverse((c.created_at, c.attempt)));
    v
}

/// The kubelet's `ShouldContainerBeRestarted`, from the newest instance (sidecars restart
/// whatever the pod's policy).
fn should_restart(
    ctx: &Ctx<'_>,
    c: &Container,
    is_init: bool,
    latest: Option<&ContainerStatus>,
) -> bool {
    if ctx.deleting {
        return false;
    }
    let Some(latest) = latest else { return true };
    match latest.state {
        RuntimeState::Running => false,
        RuntimeState::Created | RuntimeState::Unknown => true,
        RuntimeState::Exited => {
            if is_init && is_sidecar(c) {
                return true;
            }
            match ctx.spec.restart_policy.as_deref().unwrap_or("Always") {
                "Never" => false,
                "OnFailure" => latest.exit_code.unwrap_or(0) != 0,
                _ => true,
            }
        }
    }
}

/// One runtime instance as an API container status (`convertContainerStatus`).
fn convert_instance(
    ctx: &Ctx<'_>,
    c: &Container,
    inst: &ContainerStatus,
    old: Option<&ApiContainerStatus>,
) -> ApiContainerStatus {
    let cid = format!("{}://{}", ctx.view.runtime_name, inst.id);
    let mut s = ApiContainerStatus {
        name: c.name.clone(),
        image: c.image.clone().unwrap_or_default(),
        image_id: image_id(c.image.as_deref().unwrap_or_default()),
        container_id: Some(cid.clone()),
        restart_count: i32::try_from(inst.attempt).unwrap_or(i32::MAX),
        ..Default::default()
    };
    let old_running = old.is_some_and(|o| state_of(o).1);
    s.state = Some(match inst.state {
        RuntimeState::Running => ContainerState {
            running: Some(ContainerStateRunning {
                started_at: Some(time(inst.started_at.unwrap_or(inst.created_at))),
            }),
            ..Default::default()
        },
        RuntimeState::Created => waiting_state(None, None),
        RuntimeState::Exited => terminated_state(ContainerStateTerminated {
            exit_code: inst
                .exit_code
                .or(inst.signal.map(|sig| 128 + sig))
                .unwrap_or(0),
            signal: inst.signal,
            reason: non_empty(&inst.reason),
            message: non_empty(&inst.message),
            started_at: inst.started_at.map(time),
            finished_at: inst.finished_at.map(time),
            container_id: Some(cid.clone()),
        }),
        RuntimeState::Unknown if old_running => {
            s.restart_count = old.map_or(0, |o| o.restart_count.saturating_add(1));
            terminated_state(lost_termination(NOT_LOCATED))
        }
        RuntimeState::Unknown => waiting_state(None, None),
    });
    // Kept only for the same instance: a new instance must earn `started` itself.
    if inst.state == RuntimeState::Running
        && let Some(o) = old.filter(|o| o.container_id.as_deref() == Some(cid.as_str()))
    {
        s.started = o.started;
        s.ready = o.ready;
    }
    if let Some(r) = &c.resources {
        let empty = r.limits.as_ref().is_none_or(|l| l.is_empty())
            && r.requests.as_ref().is_none_or(|l| l.is_empty())
            && r.claims.as_ref().is_none_or(|l| l.is_empty());
        if !empty {
            s.resources = Some(r.clone());
            s.allocated_resources = r.requests.clone().filter(|r| !r.is_empty());
        }
    }
    s
}

/// The previous instance's termination as `old` recorded it, when the runtime no longer holds
/// that instance.
fn last_state_from_old(old: &ApiContainerStatus, current_id: Option<&str>) -> ContainerState {
    [terminated(old), last_terminated(old)]
        .into_iter()
        .flatten()
        .find(|t| t.container_id.is_none() || t.container_id.as_deref() != current_id)
        .map(|t| terminated_state(t.clone()))
        .unwrap_or_default()
}

/// `convertToAPIContainerStatuses` for the regular or the init containers, followed by the
/// probe manager's `started`/`ready`.
fn convert_statuses(
    ctx: &Ctx<'_>,
    containers: &[Container],
    old: &[ApiContainerStatus],
    is_init: bool,
) -> Vec<ApiContainerStatus> {
    let view = ctx.view;
    let default_reason = if ctx.has_init {
        POD_INITIALIZING
    } else {
        CONTAINER_CREATING
    };
    let mut out = Vec::with_capacity(containers.len());
    for c in containers {
        let old_c = old.iter().find(|o| o.name == c.name);
        let insts = instances(view, &c.name);
        let latest = insts.first().copied();

        let mut st = match old_c {
            Some(o) if terminated(o).is_some() => o.clone(),
            _ => ApiContainerStatus {
                name: c.name.clone(),
                image: c.image.clone().unwrap_or_default(),
                state: Some(waiting_state(Some(default_reason), None)),
                restart_count: old_c.map_or(0, |o| o.restart_count),
                last_state: old_c.and_then(|o| o.last_state.clone()),
                ..Default::default()
            },
        };
        match latest {
            Some(newest) => {
                let mut s = convert_instance(ctx, c, newest, old_c);
                s.last_state = Some(match (insts.get(1), old_c) {
                    (Some(prev), _) => convert_instance(ctx, c, prev, old_c)
                        .state
                        .unwrap_or_default(),
                    (None, Some(o)) => last_state_from_old(o, s.container_id.as_deref()),
                    (None, None) => ContainerState::default(),
                });
                st = s;
            }
            None => {
                // A container the runtime lost while it ran counts as stopped, not as never
                // started, so the pod does not fall back to Pending.
                let was_running = old_c.is_some_and(|o| state_of(o).1);
                if was_running && state_of(&st).0 && last_terminated(&st).is_none() {
                    st.last_state = Some(terminated_state(lost_termination(LOST_WHILE_RUNNING)));
                    if !ctx.deleting {
                        st.restart_count = st.restart_count.saturating_add(1);
                    }
                }
            }
        }
        if st.last_state.is_none() {
            st.last_state = Some(ContainerState::default());
        }
        st.volume_mounts = volume_mounts(c);

        let mut waiting_applies = true;
        if is_init {
            let exited_ok = latest
                .is_some_and(|l| l.state == RuntimeState::Exited && l.exit_code.unwrap_or(0) == 0);
            if exited_ok {
                waiting_applies = false;
            } else if latest.is_none()
                && !is_sidecar(c)
                && ctx.any_regular_instance
                && state_of(&st).0
            {
                st.state = Some(terminated_state(ContainerStateTerminated {
                    reason: Some("Completed".to_owned()),
                    message: Some(INIT_LOST.to_owned()),
                    exit_code: 0,
                    ..Default::default()
                }));
                waiting_applies = false;
            }
        }
        if waiting_applies
            && should_restart(ctx, c, is_init, latest)
            && let Some(w) = view.waiting.get(&c.name)
        {
            if state_of(&st).2 {
                st.last_state = st.state.take();
            }
            st.state = Some(waiting_state(Some(&w.reason), Some(&w.message)));
        }

        probe_view(view, c, is_init, latest, &mut st);
        out.push(st);
    }
    if !is_init {
        // Clients expect regular container statuses sorted by name, as the kubelet sorts them.
        out.sort_by(|a, b| a.name.cmp(&b.name));
    }
    out
}

/// The probe manager's `started` and `ready` for one container status.
fn probe_view(
    view: &PodView<'_>,
    c: &Container,
    is_init: bool,
    latest: Option<&ContainerStatus>,
    st: &mut ApiContainerStatus,
) {
    let (_, running, _) = state_of(st);
    // The instance the status describes: probe results are keyed by it.
    let id = latest
        .filter(|l| {
            st.container_id.as_deref() == Some(&format!("{}://{}", view.runtime_name, l.id))
        })
        .map(|l| l.id.as_str());
    let kept_started = st.started == Some(true);
    let kept_ready = st.ready;
    let started = running
        && match id.and_then(|id| view.startup.get(id)) {
            Some(result) => *result,
            None => kept_started || c.startup_probe.is_none(),
        };
    st.started = Some(started);
    if is_init && !is_sidecar(c) {
        st.ready = terminated(st).is_some_and(|t| t.exit_code == 0);
        return;
    }
    st.ready = started
        && match id.and_then(|id| view.readiness.get(id)) {
            Some(result) => *result,
            None => c.readiness_probe.is_none() || kept_ready,
        };
}

/// The kubelet's `volumeMounts` status (RecursiveReadOnlyMounts): the spec's mounts.
fn volume_mounts(c: &Container) -> Option<Vec<VolumeMountStatus>> {
    let mounts = c.volume_mounts.as_ref().filter(|m| !m.is_empty())?;
    Some(
        mounts
            .iter()
            .map(|m| {
                let ro = m.read_only == Some(true);
                VolumeMountStatus {
                    name: m.name.clone(),
                    mount_path: m.mount_path.clone(),
                    read_only: ro.then_some(true),
                    recursive_read_only: ro.then(|| "Disabled".to_owned()),
                    volume_status: None,
                }
            })
            .collect(),
    )
}

/// `getPhase`: the phase from the container statuses (regular and init together).
fn phase(
    spec: &PodSpec,
    statuses: &BTreeMap<&str, &ApiContainerStatus>,
    pod_is_terminal: bool,
    pod_has_initialized: bool,
) -> &'static str {
    let policy = spec.restart_policy.as_deref().unwrap_or("Always");
    let init = spec.init_containers.as_deref().unwrap_or_default();
    let (mut pending_init, mut failed_init, mut pending_sidecar) = (0, 0, 0);
    let (mut unknown, mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0, 0);

    for c in init.iter().filter(|c| !is_sidecar(c)) {
        let Some(s) = statuses.get(c.name.as_str()) else {
            pending_init += 1;
            continue;
        };
        match state_of(s) {
            (_, true, _) => pending_init += 1,
            (_, _, true) => {
                if terminated(s).is_some_and(|t| t.exit_code != 0) {
                    failed_init += 1;
                }
            }
            (true, _, _) => match last_terminated(s) {
                Some(t) if t.exit_code != 0 => failed_init += 1,
                Some(_) => {}
                None => pending_init += 1,
            },
            _ => pending_init += 1,
        }
    }
    for c in init.iter().filter(|c| is_sidecar(c)) {
        let Some(s) = statuses.get(c.name.as_str()) else {
            unknown += 1;
            continue;
        };
        match state_of(s) {
            (_, true, _) => {
                if s.started != Some(true) {
                    pending_sidecar += 1;
                }
                running += 1;
            }
            (_, _, true) => {}
            (true, _, _) => {
                if last_terminated(s).is_none() {
                    pending_sidecar += 1;
                    waiting += 1;
                }
            }
            _ => {
                pending_sidecar += 1;
                unknown += 1;
            }
        }
    }
    for c in &spec.containers {
        let Some(s) = statuses.get(c.name.as_str()) else {
            unknown += 1;
            continue;
        };
        match state_of(s) {
            (_, true, _) => running += 1,
            (_, _, true) => {
                stopped += 1;
                if terminated(s).is_some_and(|t| t.exit_code == 0) {
                    succeeded += 1;
                }
            }
            (true, _, _) => {
                if last_terminated(s).is_some() {
                    stopped += 1;
                } else {
                    waiting += 1;
                }
            }
            _ => unknown += 1,
        }
    }

    if failed_init > 0 && policy == "Never" {
        return FAILED;
    }
    if pending_init > 0 || (pending_sidecar > 0 && !pod_has_initialized) || waiting > 0 {
        return PENDING;
    }
    if running > 0 && unknown == 0 {
        return RUNNING;
    }
    if running == 0 && stopped > 0 && unknown == 0 {
        if pod_is_terminal {
            return if stopped == succeeded {
                SUCCEEDED
            } else {
                FAILED
            };
        }
        if policy == "Always" {
            return RUNNING;
        }
        if stopped == succeeded {
            return SUCCEEDED;
        }
        if policy == "Never" {
            return FAILED;
        }
        return RUNNING;
    }
    PENDING
}

fn is_terminal_phase(p: Option<&str>) -> bool {
    matches!(p, Some(SUCCEEDED) | Some(FAILED))
}

/// Go prints a `[]string` as `[a b]`.
fn go_list(names: &[&str]) -> String {
    format!("[{}]", names.join(" "))
}

fn condition(
    ty: &str,
    status: bool,
    reason: Option<&str>,
    message: Option<String>,
) -> PodCondition {
    PodCondition {
        type_: ty.to_owned(),
        status: if status { "True" } else { "False" }.to_owned(),
        reason: reason.map(str::to_owned),
        message: message.filter(|m| !m.is_empty()),
        ..Default::default()
    }
}

fn containers_ready(
    spec: &PodSpec,
    statuses: &BTreeMap<&str, &ApiContainerStatus>,
    phase: &str,
) -> PodCondition {
    if statuses.is_empty() {
        return condition(
            CONTAINERS_READY,
            false,
            Some(UNKNOWN_CONTAINER_STATUSES),
            None,
        );
    }
    let (mut unknown, mut unready) = (Vec::new(), Vec::new());
    let sidecars = spec
        .init_containers
        .iter()
        .flatten()
        .filter(|c| is_sidecar(c));
    for c in sidecars.chain(spec.containers.iter()) {
        match statuses.get(c.name.as_str()) {
            Some(s) if !s.ready => unready.push(c.name.as_str()),
            Some(_) => {}
            None => unknown.push(c.name.as_str()),
        }
    }
    if (phase == SUCCEEDED && unknown.is_empty()) || phase == FAILED {
        let reason = if phase == FAILED {
            POD_FAILED
        } else {
            POD_COMPLETED
        };
        return condition(CONTAINERS_READY, false, Some(reason), None);
    }
    let mut messages = Vec::new();
    if !unknown.is_empty() {
        messages.push(format!(
            "containers with unknown status: {}",
            go_list(&unknown)
        ));
    }
    if !unready.is_empty() {
        messages.push(format!(
            "containers with unready status: {}",
            go_list(&unready)
        ));
    }
    if messages.is_empty() {
        condition(CONTAINERS_READY, true, None, None)
    } else {
        condition(
            CONTAINERS_READY,
            false,
            Some(CONTAINERS_NOT_READY),
            Some(messages.join(", ")),
        )
    }
}

fn pod_ready(
    spec: &PodSpec,
    containers_ready: &PodCondition,
    conditions: &[PodCondition],
) -> PodCondition {
    if containers_ready.status != "True" {
        let mut c = containers_ready.clone();
        c.type_ = READY.to_owned();
        return c;
    }
    let mut messages = Vec::new();
    for gate in spec.readiness_gates.iter().flatten() {
        let ty = &gate.condition_type;
        match conditions.iter().find(|c| &c.type_ == ty) {
            None => messages.push(format!(
                "corresponding condition of pod readiness gate \"{ty}\" does not exist."
            )),
            Some(c) if c.status != "True" => messages.push(format!(
                "the status of pod readiness gate \"{ty}\" is not \"True\", but {}",
                c.status
            )),
            Some(_) => {}
        }
    }
    if messages.is_empty() {
        condition(READY, true, None, None)
    } else {
        condition(
            READY,
            false,
            Some(READINESS_GATES_NOT_READY),
            Some(messages.join(", ")),
        )
    }
}

fn initialized(
    spec: &PodSpec,
    statuses: &BTreeMap<&str, &ApiContainerStatus>,
    phase: &str,
) -> PodCondition {
    let init = spec.init_containers.as_deref().unwrap_or_default();
    if statuses.is_empty() && !init.is_empty() {
        return condition(INITIALIZED, false, Some(UNKNOWN_CONTAINER_STATUSES), None);
    }
    let (mut unknown, mut incomplete) = (Vec::new(), Vec::new());
    for c in init {
        let Some(s) = statuses.get(c.name.as_str()) else {
            unknown.push(c.name.as_str());
            continue;
        };
        let done = if is_sidecar(c) {
            s.started == Some(true)
        } else {
            s.ready
        };
        if !done {
            incomplete.push(c.name.as_str());
        }
    }
    if phase == SUCCEEDED && unknown.is_empty() {
        return condition(INITIALIZED, true, Some(POD_COMPLETED), None);
    }
    // Once a regular container has run, the pod stays initialized while sidecars restart.
    let regular_started = spec.containers.iter().any(|c| {
        statuses
            .get(c.name.as_str())
            .is_some_and(|s| state_of(s).1 || state_of(s).2)
    });
    if regular_started {
        return condition(INITIALIZED, true, None, None);
    }
    let mut messages = Vec::new();
    if !unknown.is_empty() {
        messages.push(format!(
            "containers with unknown status: {}",
            go_list(&unknown)
        ));
    }
    if !incomplete.is_empty() {
        messages.push(format!(
            "containers with incomplete status: {}",
            go_list(&incomplete)
        ));
    }
    if messages.is_empty() {
        condition(INITIALIZED, true, None, None)
    } else {
        condition(
            INITIALIZED,
            false,
            Some(CONTAINERS_NOT_INITIALIZED),
            Some(messages.join(", ")),
        )
    }
}

/// `PodSandboxChanged` negated: the newest sandbox is ready, alone, and networked.
fn sandbox_ready(view: &PodView<'_>) -> bool {
    let Some(newest) = newest_sandbox(view) else {
        return false;
    };
    let ready = view
        .sandboxes
        .iter()
        .filter(|s| s.state == SandboxState::Ready)
        .count();
    ready == 1 && newest.state == SandboxState::Ready
}

fn newest_sandbox<'a>(view: &PodView<'a>) -> Option<&'a SandboxStatus> {
    view.sandboxes.iter().max_by_key(|s| s.created_at)
}

/// Moves `lastTransitionTime` only when the condition's status differs from `old`'s.
fn stamp(mut c: PodCondition, old: &[PodCondition], now: Timestamp) -> PodCondition {
    let kept = old
        .iter()
        .find(|o| o.type_ == c.type_ && o.status == c.status)
        .and_then(|o| o.last_transition_time.clone());
    c.last_transition_time = Some(kept.unwrap_or_else(|| time(now)));
    c.last_probe_time = None;
    c
}

fn kubelet_owned(ty: &str) -> bool {
    matches!(
        ty,
        POD_SCHEDULED | READY | INITIALIZED | CONTAINERS_READY | POD_READY_TO_START_CONTAINERS
    ) || ty.starts_with("PodResize")
}

/// The pod's status as the API should hold it. `old` is the status the API holds now: its
/// condition transition times are kept unless the condition flips, its `startTime` is kept,
/// and the last state of containers the runtime no longer holds is taken from it.
pub fn pod_status(view: &PodView<'_>, old: Option<&PodStatus>) -> PodStatus {
    let pod = view.pod;
    let default_spec = PodSpec::default();
    let spec = pod.spec.as_ref().unwrap_or(&default_spec);
    let default_status = PodStatus::default();
    let api = pod.status.as_ref().unwrap_or(&default_status);
    let old = old.unwrap_or(api);
    let init = spec.init_containers.as_deref().unwrap_or_default();

    let regular_names = |name: &str| spec.containers.iter().any(|c| c.name == name);
    let newest = newest_sandbox(view);
    let ctx = Ctx {
        view,
        spec,
        has_init: !init.is_empty(),
        deleting: pod.metadata.deletion_timestamp.is_some(),
        any_regular_instance: view.containers.iter().any(|c| regular_names(&c.name)),
    };
    // The kubelet's `HasAnyActiveRegularContainerStarted`: a regular container exists in the
    // current sandbox.
    let pod_has_initialized = view
        .containers
        .iter()
        .any(|c| regular_names(&c.name) && newest.is_none_or(|s| s.id == c.sandbox_id));

    let container_statuses = convert_statuses(
        &ctx,
        &spec.containers,
        old.container_statuses.as_deref().unwrap_or_default(),
        false,
    );
    let init_statuses = convert_statuses(
        &ctx,
        init,
        old.init_container_statuses.as_deref().unwrap_or_default(),
        true,
    );
    let by_name: BTreeMap<&str, &ApiContainerStatus> = container_statuses
        .iter()
        .chain(init_statuses.iter())
        .map(|s| (s.name.as_str(), s))
        .collect();

    let nothing_runs = view
        .containers
        .iter()
        .all(|c| c.state != RuntimeState::Running);
    let pod_is_terminal = view.terminal.is_some() || (ctx.deleting && nothing_runs);
    let mut phase_now = phase(spec, &by_name, pod_is_terminal, pod_has_initialized).to_owned();
    if !is_terminal_phase(Some(&phase_now)) {
        if is_terminal_phase(old.phase.as_deref()) {
            phase_now = old.phase.clone().unwrap_or_default();
        } else if is_terminal_phase(api.phase.as_deref()) {
            phase_now = api.phase.clone().unwrap_or_default();
        }
    }
    let (mut reason, mut message) = (None, None);
    if old.phase.as_deref() == Some(phase_now.as_str()) {
        reason = old.reason.clone().or_else(|| api.reason.clone());
        message = old.message.clone().or_else(|| api.message.clone());
    }
    if let Some(t) = view.terminal {
        phase_now = t.phase.clone();
        reason = non_empty(&t.reason);
        message = non_empty(&t.message);
    }
    // Terminal phases are final, whatever the containers now say.
    if is_terminal_phase(api.phase.as_deref()) && api.phase.as_deref() != Some(phase_now.as_str()) {
        phase_now = api.phase.clone().unwrap_or_default();
    }

    let old_conditions = old.conditions.as_deref().unwrap_or_default();
    let mut conditions: Vec<PodCondition> = api
        .conditions
        .as_deref()
        .or(old.conditions.as_deref())
        .unwrap_or_default()
        .iter()
        .filter(|c| !kubelet_owned(&c.type_))
        .cloned()
        .collect();
    let generation = pod.metadata.generation;
    let containers_ready_c = containers_ready(spec, &by_name, &phase_now);
    let ready_c = pod_ready(spec, &containers_ready_c, &conditions);
    let owned = [
        condition(
            POD_READY_TO_START_CONTAINERS,
            sandbox_ready(view),
            None,
            None,
        ),
        initialized(spec, &by_name, &phase_now),
        ready_c,
        containers_ready_c,
        condition(POD_SCHEDULED, true, None, None),
    ];
    for c in owned {
        let mut c = stamp(c, old_conditions, view.now);
        c.observed_generation = generation;
        conditions.push(c);
    }

    let mut status = PodStatus {
        phase: Some(phase_now),
        reason,
        message,
        conditions: Some(conditions),
        container_statuses: Some(container_statuses),
        init_container_statuses: (!init.is_empty()).then_some(init_statuses),
        qos_class: old
            .qos_class
            .clone()
            .or_else(|| Some(k4t_api::defaults::qos_class(spec).to_owned())),
        start_time: old
            .start_time
            .clone()
            .or_else(|| api.start_time.clone())
            .or_else(|| Some(time(view.now))),
        observed_generation: generation,
        ..Default::default()
    };
    set_ips(view, spec, old, &mut status);
    status
}

fn set_ips(view: &PodView<'_>, spec: &PodSpec, old: &PodStatus, status: &mut PodStatus) {
    if let Some(ip) = view.host_ip {
        status.host_ip = Some(ip.to_string());
        status.host_ips = Some(vec![HostIP { ip: ip.to_string() }]);
    }
    let sandbox = newest_sandbox(view).filter(|s| s.state == SandboxState::Ready);
    let host_network = spec.host_network == Some(true);
    let pod_ip = match sandbox {
        Some(s) if !host_network => s.ip.or(view.host_ip),
        _ if host_network => view.host_ip,
        _ => None,
    };
    match pod_ip {
        Some(ip) => {
            status.pod_ip = Some(ip.to_string());
            status.pod_ips = Some(vec![PodIP { ip: ip.to_string() }]);
        }
        None => {
            status.pod_ip = old.pod_ip.clone();
            status.pod_ips = old.pod_ips.clone();
        }
    }
}

/// The status manager's `TerminatePod`: the last status of a pod whose containers are all
/// gone. Containers without a terminated state are reported as lost
/// (`ContainerStatusUnknown`, exit 137) — regular containers once the pod had initialized,
/// init containers up to the last one that tried to start — and a phase that is not terminal
/// yet becomes `Failed`.
pub fn terminated_pod_status(pod: &Pod, status: &PodStatus) -> PodStatus {
    let mut out = status.clone();
    let lost = || terminated_state(lost_termination(NOT_LOCATED));
    if has_initialized(pod, status) {
        for s in out.container_statuses.iter_mut().flatten() {
            if terminated(s).is_none() {
                s.state = Some(lost());
            }
        }
    }
    if let Some(init) = out.init_container_statuses.as_mut() {
        // Every init container up to the last one that left waiting (or at least the first).
        let tried = init
            .iter()
            .rposition(|s| !state_of(s).0 || last_terminated(s).is_some())
            .map_or(init.len().min(1), |i| i + 1);
        for s in init.iter_mut().take(tried) {
            if terminated(s).is_none() {
                s.state = Some(lost());
            }
        }
    }
    if !is_terminal_phase(out.phase.as_deref()) {
        out.phase = Some(FAILED.to_owned());
    }
    out
}

/// The status manager's `hasPodInitialized`.
fn has_initialized(pod: &Pod, status: &PodStatus) -> bool {
    let init = pod
        .spec
        .as_ref()
        .and_then(|s| s.init_containers.as_deref())
        .unwrap_or_default();
    if init.is_empty() {
        return true;
    }
    if status
        .container_statuses
        .iter()
        .flatten()
        .any(|s| last_terminated(s).is_some() || !state_of(s).0)
    {
        return true;
    }
    let statuses = status
        .init_container_statuses
        .as_deref()
        .unwrap_or_default();
    let (Some(s), Some(c)) = (statuses.last(), init.get(statuses.len().wrapping_sub(1))) else {
        return false;
    };
    if is_sidecar(c) {
        state_of(s).1 && s.started == Some(true)
    } else {
        [terminated(s), last_terminated(s)]
            .into_iter()
            .flatten()
            .any(|t| t.exit_code == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use std::path::PathBuf;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    fn ts(s: i64) -> Time {
        Time(t(s))
    }

    fn pod(spec: Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "default", "uid": "u1"},
            "spec": spec,
        }))
        .unwrap()
    }

    fn app(extra: Value) -> Value {
        let mut c = json!({"name": "app", "image": "busybox"});
        if let (Some(c), Some(e)) = (c.as_object_mut(), extra.as_object()) {
            c.extend(e.clone());
        }
        c
    }

    fn instance(name: &str, id: &str, attempt: u32, state: RuntimeState) -> ContainerStatus {
        ContainerStatus {
            id: id.into(),
            sandbox_id: "sb1".into(),
            name: name.into(),
            attempt,
            image: "busybox".into(),
            state,
            created_at: t(i64::from(attempt) * 100),
            started_at: Some(t(i64::from(attempt) * 100 + 1)),
            finished_at: None,
            exit_code: None,
            signal: None,
            reason: String::new(),
            message: String::new(),
            log_path: PathBuf::new(),
            labels: BTreeMap::new(),
        }
    }

    fn running(name: &str, id: &str, attempt: u32) -> ContainerStatus {
        instance(name, id, attempt, RuntimeState::Running)
    }

    fn exited(name: &str, id: &str, attempt: u32, code: i32) -> ContainerStatus {
        let mut c = instance(name, id, attempt, RuntimeState::Exited);
        c.finished_at = Some(t(i64::from(attempt) * 100 + 50));
        c.exit_code = Some(code);
        c.reason = if code == 0 { "Completed" } else { "Error" }.into();
        c
    }

    fn sandbox(ip: Option<&str>) -> SandboxStatus {
        SandboxStatus {
            id: "sb1".into(),
            state: SandboxState::Ready,
            ip: ip.map(|i| i.parse().unwrap()),
            created_at: t(0),
            labels: BTreeMap::new(),
        }
    }

    /// Everything a view borrows, owned.
    struct Fixture {
        pod: Pod,
        sandboxes: Vec<SandboxStatus>,
        containers: Vec<ContainerStatus>,
        waiting: BTreeMap<String, Waiting>,
        readiness: BTreeMap<ContainerId, bool>,
        startup: BTreeMap<ContainerId, bool>,
        terminal: Option<Terminal>,
        host_ip: Option<IpAddr>,
        now: Timestamp,
    }

    impl Fixture {
        fn new(pod: Pod, containers: Vec<ContainerStatus>) -> Self {
            Fixture {
                pod,
                sandboxes: vec![sandbox(Some("10.42.0.7"))],
                containers,
                waiting: BTreeMap::new(),
                readiness: BTreeMap::new(),
                startup: BTreeMap::new(),
                terminal: None,
                host_ip: Some("192.168.1.5".parse().unwrap()),
                now: t(1000),
            }
        }

        fn waiting(mut self, name: &str, reason: &str, message: &str) -> Self {
            self.waiting.insert(
                name.into(),
                Waiting {
                    reason: reason.into(),
                    message: message.into(),
                },
            );
            self
        }

        fn status(&self, old: Option<&PodStatus>) -> PodStatus {
            let view = PodView {
                pod: &self.pod,
                sandboxes: &self.sandboxes,
                containers: &self.containers,
                waiting: &self.waiting,
                readiness: &self.readiness,
                startup: &self.startup,
                runtime_name: "process",
                host_ip: self.host_ip,
                terminal: self.terminal.as_ref(),
                now: self.now,
            };
            pod_status(&view, old)
        }
    }

    fn cond<'a>(s: &'a PodStatus, ty: &str) -> &'a PodCondition {
        s.conditions
            .as_ref()
            .unwrap()
            .iter()
            .find(|c| c.type_ == ty)
            .unwrap()
    }

    /// (status, reason, message) of a condition.
    fn cond_sum(s: &PodStatus, ty: &str) -> (String, Option<String>, Option<String>) {
        let c = cond(s, ty);
        (c.status.clone(), c.reason.clone(), c.message.clone())
    }

    fn cs<'a>(s: &'a PodStatus, name: &str) -> &'a ApiContainerStatus {
        s.container_statuses
            .iter()
            .chain(s.init_container_statuses.iter())
            .flatten()
            .find(|c| c.name == name)
            .unwrap()
    }

    /// `waiting:<reason>`, `running`, `terminated:<reason>:<code>` or `none`.
    fn state_str(st: Option<&ContainerState>) -> String {
        match st {
            Some(ContainerState {
                waiting: Some(w), ..
            }) => format!("waiting:{}", w.reason.clone().unwrap_or_default()),
            Some(ContainerState {
                running: Some(_), ..
            }) => "running".into(),
            Some(ContainerState {
                terminated: Some(t),
                ..
            }) => format!(
                "terminated:{}:{}",
                t.reason.clone().unwrap_or_default(),
                t.exit_code
            ),
            _ => "none".into(),
        }
    }

    fn f(s: &str) -> (String, Option<String>, Option<String>) {
        (s.into(), None, None)
    }

    fn f_r(s: &str, r: &str, m: Option<&str>) -> (String, Option<String>, Option<String>) {
        (s.into(), Some(r.into()), m.map(str::to_owned))
    }

    #[test]
    fn restart_policy_and_exit_code_matrix() {
        // (restartPolicy, exit code, waiting reason the sync recorded, phase, container state,
        //  Ready condition reason)
        type Case<'a> = (
            &'a str,
            i32,
            Option<&'a str>,
            &'a str,
            &'a str,
            Option<&'a str>,
        );
        let cases: &[Case<'_>] = &[
            (
                "Always",
                0,
                None,
                RUNNING,
                "terminated:Completed:0",
                Some(CONTAINERS_NOT_READY),
            ),
            (
                "Always",
                1,
                None,
                RUNNING,
                "terminated:Error:1",
                Some(CONTAINERS_NOT_READY),
            ),
            (
                "Always",
                1,
                Some("CrashLoopBackOff"),
                RUNNING,
                "waiting:CrashLoopBackOff",
                Some(CONTAINERS_NOT_READY),
            ),
            (
                "Always",
                0,
                Some("CrashLoopBackOff"),
                RUNNING,
                "waiting:CrashLoopBackOff",
                Some(CONTAINERS_NOT_READY),
            ),
            (
                "OnFailure",
                0,
                None,
                SUCCEEDED,
                "terminated:Completed:0",
                Some(POD_COMPLETED),
            ),
            // A stale waiting reason does not apply to a container that will not restart.
            (
                "OnFailure",
                0,
                Some("CrashLoopBackOff"),
                SUCCEEDED,
                "terminated:Completed:0",
                Some(POD_COMPLETED),
            ),
            (
                "OnFailure",
                1,
                None,
                RUNNING,
                "terminated:Error:1",
                Some(CONTAINERS_NOT_READY),
            ),
            (
                "OnFailure",
                1,
                Some("CrashLoopBackOff"),
                RUNNING,
                "waiting:CrashLoopBackOff",
                Some(CONTAINERS_NOT_READY),
            ),
            (
                "Never",
                0,
                None,
                SUCCEEDED,
                "terminated:Completed:0",
                Some(POD_COMPLETED),
            ),
            (
                "Never",
                1,
                None,
                FAILED,
                "terminated:Error:1",
                Some(POD_FAILED),
            ),
            (
                "Never",
                137,
                Some("CrashLoopBackOff"),
                FAILED,
                "terminated:Error:137",
                Some(POD_FAILED),
            ),
        ];
        for (policy, code, waiting, phase, state, ready_reason) in cases {
            let mut fx = Fixture::new(
                pod(json!({"restartPolicy": policy, "containers": [app(json!({}))]})),
                vec![exited("app", "c1", 0, *code)],
            );
            if let Some(w) = waiting {
                fx = fx.waiting(
                    "app",
                    w,
                    "back-off 10s restarting failed container=app pod=web_default(u1)",
                );
            }
            let s = fx.status(None);
            let case = format!("{policy} exit {code} waiting {waiting:?}");
            assert_eq!(s.phase.as_deref(), Some(*phase), "{case}");
            assert_eq!(s.reason, None, "{case}");
            let c = cs(&s, "app");
            assert_eq!(state_str(c.state.as_ref()), *state, "{case}");
            assert!(!c.ready, "{case}");
            assert_eq!(c.started, Some(false), "{case}");
            assert_eq!(cond(&s, READY).reason.as_deref(), *ready_reason, "{case}");
            assert_eq!(
                cond(&s, CONTAINERS_READY).reason.as_deref(),
                *ready_reason,
                "{case}"
            );
            if waiting.is_some() && state.starts_with("waiting") {
                assert_eq!(
                    state_str(c.last_state.as_ref()),
                    format!(
                        "terminated:{}:{code}",
                        if *code == 0 { "Completed" } else { "Error" }
                    ),
                    "{case}"
                );
            }
        }
    }

    #[test]
    fn crash_loop_back_off_keeps_the_last_termination() {
        let fx = Fixture::new(
            pod(json!({"containers": [app(json!({}))]})),
            vec![exited("app", "c3", 3, 1), exited("app", "c4", 4, 1)],
        )
        .waiting(
            "app",
            "CrashLoopBackOff",
            "back-off 40s restarting failed container=app pod=web_default(u1)",
        );
        let s = fx.status(None);
        let c = cs(&s, "app");
        let w = c.state.as_ref().unwrap().waiting.as_ref().unwrap();
        assert_eq!(w.reason.as_deref(), Some("CrashLoopBackOff"));
        assert_eq!(
            w.message.as_deref(),
            Some("back-off 40s restarting failed container=app pod=web_default(u1)")
        );
        let last = c.last_state.as_ref().unwrap().terminated.as_ref().unwrap();
        assert_eq!(last.exit_code, 1);
        assert_eq!(last.reason.as_deref(), Some("Error"));
        assert_eq!(last.container_id.as_deref(), Some("process://c4"));
        assert_eq!(last.started_at, Some(ts(401)));
        assert_eq!(last.finished_at, Some(ts(450)));
        assert_eq!(c.restart_count, 4);
        assert_eq!(c.container_id.as_deref(), Some("process://c4"));
        assert_eq!(s.phase.as_deref(), Some(RUNNING));
        assert_eq!(
            cond_sum(&s, READY),
            f_r(
                "False",
                CONTAINERS_NOT_READY,
                Some("containers with unready status: [app]")
            )
        );

        // The restarted instance runs; the runtime pruned all but it: lastState from `old`.
        let fx2 = Fixture::new(
            pod(json!({"containers": [app(json!({}))]})),
            vec![running("app", "c5", 5)],
        );
        let s2 = fx2.status(Some(&s));
        let c2 = cs(&s2, "app");
        assert_eq!(state_str(c2.state.as_ref()), "running");
        assert_eq!(c2.restart_count, 5);
        assert_eq!(
            c2.last_state
                .as_ref()
                .unwrap()
                .terminated
                .as_ref()
                .unwrap()
                .container_id
                .as_deref(),
            Some("process://c4")
        );
        assert!(c2.ready);
        // Once that status is old, the same instance keeps that last state.
        let s3 = fx2.status(Some(&s2));
        assert_eq!(cs(&s3, "app").last_state, c2.last_state);
    }

    #[test]
    fn running_with_previous_instance_and_container_fields() {
        let mut r = running("app", "c2", 1);
        r.started_at =
            Some(Timestamp::from_second(1_800_000_101).unwrap() + SignedDurationExt::millis(700));
        let fx = Fixture::new(
            pod(json!({"containers": [app(json!({
                "volumeMounts": [{"name": "data", "mountPath": "/data"}, {"name": "cfg", "mountPath": "/etc/cfg", "readOnly": true}],
                "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "200m"}}
            }))]})),
            vec![exited("app", "c1", 0, 137), r],
        );
        let s = fx.status(None);
        let v = serde_json::to_value(cs(&s, "app")).unwrap();
        assert_eq!(
            v,
            json!({
                "name": "app",
                "image": "busybox",
                "imageID": image_id("busybox"),
                "containerID": "process://c2",
                "state": {"running": {"startedAt": "2027-01-15T08:01:41Z"}},
                "lastState": {"terminated": {
                    "exitCode": 137, "reason": "Error", "containerID": "process://c1",
                    "startedAt": "2027-01-15T08:00:01Z", "finishedAt": "2027-01-15T08:00:50Z"
                }},
                "ready": true,
                "started": true,
                "restartCount": 1,
                "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "200m"}},
                "allocatedResources": {"cpu": "100m"},
                "volumeMounts": [
                    {"name": "data", "mountPath": "/data"},
                    {"name": "cfg", "mountPath": "/etc/cfg", "readOnly": true, "recursiveReadOnly": "Disabled"}
                ],
            })
        );
        assert!(image_id("busybox").starts_with("sha256:"));
        assert_eq!(image_id("busybox").len(), 7 + 64);
        assert_eq!(s.phase.as_deref(), Some(RUNNING));
    }

    /// `jiff` spans for sub-second offsets in tests.
    struct SignedDurationExt;
    impl SignedDurationExt {
        fn millis(n: i64) -> jiff::SignedDuration {
            jiff::SignedDuration::from_millis(n)
        }
    }

    #[test]
    fn never_started_containers_wait() {
        let fx = Fixture::new(pod(json!({"containers": [app(json!({}))]})), vec![]);
        let s = fx.status(None);
        let v = serde_json::to_value(cs(&s, "app")).unwrap();
        assert_eq!(
            v,
            json!({
                "name": "app", "image": "busybox", "imageID": "",
                "state": {"waiting": {"reason": "ContainerCreating"}},
                "lastState": {}, "ready": false, "started": false, "restartCount": 0,
            })
        );
        assert_eq!(s.phase.as_deref(), Some(PENDING));
        assert_eq!(s.init_container_statuses, None);
        // A start failure recorded by the sync replaces the default reason.
        let fx = fx.waiting(
            "app",
            "CreateContainerConfigError",
            "configmap \"cfg\" not found",
        );
        let s = fx.status(None);
        let w = cs(&s, "app").state.clone().unwrap().waiting.unwrap();
        assert_eq!(
            (w.reason.as_deref(), w.message.as_deref()),
            (
                Some("CreateContainerConfigError"),
                Some("configmap \"cfg\" not found")
            )
        );
        assert_eq!(s.phase.as_deref(), Some(PENDING));
    }

    fn init_pod(policy: &str) -> Pod {
        pod(json!({
            "restartPolicy": policy,
            "initContainers": [
                {"name": "init-a", "image": "busybox"},
                {"name": "init-b", "image": "busybox"},
            ],
            "containers": [app(json!({}))],
        }))
    }

    #[test]
    fn init_containers_in_progress() {
        // (runtime instances, waiting, phase, states of init-a/init-b/app, Initialized)
        type Case = (
            Vec<ContainerStatus>,
            Option<(&'static str, &'static str)>,
            &'static str,
            [&'static str; 3],
            (String, Option<String>, Option<String>),
        );
        let cases: Vec<(&str, Case)> = vec![
            (
                "nothing started",
                (
                    vec![],
                    None,
                    PENDING,
                    [
                        "waiting:PodInitializing",
                        "waiting:PodInitializing",
                        "waiting:PodInitializing",
                    ],
                    f_r(
                        "False",
                        CONTAINERS_NOT_INITIALIZED,
                        Some("containers with incomplete status: [init-a init-b]"),
                    ),
                ),
            ),
            (
                "second init running",
                (
                    vec![exited("init-a", "a1", 0, 0), running("init-b", "b1", 0)],
                    None,
                    PENDING,
                    [
                        "terminated:Completed:0",
                        "running",
                        "waiting:PodInitializing",
                    ],
                    f_r(
                        "False",
                        CONTAINERS_NOT_INITIALIZED,
                        Some("containers with incomplete status: [init-b]"),
                    ),
                ),
            ),
            (
                "init failed, backing off",
                (
                    vec![exited("init-a", "a1", 0, 2)],
                    Some(("init-a", "CrashLoopBackOff")),
                    PENDING,
                    [
                        "waiting:CrashLoopBackOff",
                        "waiting:PodInitializing",
                        "waiting:PodInitializing",
                    ],
                    f_r(
                        "False",
                        CONTAINERS_NOT_INITIALIZED,
                        Some("containers with incomplete status: [init-a init-b]"),
                    ),
                ),
            ),
            (
                "initialized",
                (
                    vec![
                        exited("init-a", "a1", 0, 0),
                        exited("init-b", "b1", 0, 0),
                        running("app", "c1", 0),
                    ],
                    // A stale back-off of a completed init container is ignored.
                    Some(("init-a", "CrashLoopBackOff")),
                    RUNNING,
                    [
                        "terminated:Completed:0",
                        "terminated:Completed:0",
                        "running",
                    ],
                    f("True"),
                ),
            ),
            (
                "init containers pruned after the app started",
                (
                    vec![running("app", "c1", 0)],
                    None,
                    RUNNING,
                    [
                        "terminated:Completed:0",
                        "terminated:Completed:0",
                        "running",
                    ],
                    f("True"),
                ),
            ),
        ];
        for (name, (containers, waiting, phase, states, initialized)) in cases {
            let mut fx = Fixture::new(init_pod("Always"), containers);
            if let Some((c, r)) = waiting {
                fx = fx.waiting(
                    c,
                    r,
                    "back-off 10s restarting failed container=init-a pod=web_default(u1)",
                );
            }
            let s = fx.status(None);
            assert_eq!(s.phase.as_deref(), Some(phase), "{name}");
            let got: Vec<String> = ["init-a", "init-b", "app"]
                .iter()
                .map(|n| state_str(cs(&s, n).state.as_ref()))
                .collect();
            assert_eq!(got, states, "{name}");
            assert_eq!(cond_sum(&s, INITIALIZED), initialized, "{name}");
            let names: Vec<&str> = s
                .init_container_statuses
                .iter()
                .flatten()
                .map(|c| c.name.as_str())
                .collect();
            assert_eq!(names, ["init-a", "init-b"], "{name}");
        }
    }

    #[test]
    fn init_container_readiness_and_failure_under_never() {
        let fx = Fixture::new(
            init_pod("Always"),
            vec![exited("init-a", "a1", 0, 0), running("init-b", "b1", 0)],
        );
        let s = fx.status(None);
        assert!(cs(&s, "init-a").ready);
        assert_eq!(cs(&s, "init-a").started, Some(false));
        assert!(!cs(&s, "init-b").ready);
        assert_eq!(cs(&s, "init-b").started, Some(true));

        let fx = Fixture::new(init_pod("Never"), vec![exited("init-a", "a1", 0, 1)]);
        let s = fx.status(None);
        assert_eq!(s.phase.as_deref(), Some(FAILED));
        assert_eq!(
            state_str(cs(&s, "init-a").state.as_ref()),
            "terminated:Error:1"
        );
        assert_eq!(cond_sum(&s, READY), f_r("False", POD_FAILED, None));
        assert_eq!(
            cond_sum(&s, INITIALIZED),
            f_r(
                "False",
                CONTAINERS_NOT_INITIALIZED,
                Some("containers with incomplete status: [init-a init-b]")
            )
        );
    }

    #[test]
    fn sidecars() {
        let p = pod(json!({
            "initContainers": [{"name": "proxy", "image": "envoy", "restartPolicy": "Always",
                                "startupProbe": {"exec": {"command": ["true"]}}}],
            "containers": [app(json!({}))],
        }));
        // Running but not started yet: the pod is still initializing.
        let fx = Fixture::new(p.clone(), vec![running("proxy", "p1", 0)]);
        let s = fx.status(None);
        assert_eq!(s.phase.as_deref(), Some(PENDING));
        assert_eq!(cs(&s, "proxy").started, Some(false));
        assert_eq!(
            cond_sum(&s, INITIALIZED),
            f_r(
                "False",
                CONTAINERS_NOT_INITIALIZED,
                Some("containers with incomplete status: [proxy]")
            )
        );
        // Started, app running: Running, and the sidecar's readiness counts.
        let mut fx = Fixture::new(
            p.clone(),
            vec![running("proxy", "p1", 0), running("app", "c1", 0)],
        );
        fx.startup.insert("p1".into(), true);
        let s = fx.status(None);
        assert_eq!(s.phase.as_deref(), Some(RUNNING));
        assert_eq!(cond_sum(&s, INITIALIZED), f("True"));
        assert_eq!(cond_sum(&s, CONTAINERS_READY), f("True"));
        // The sidecar crashed after the app started: still Running, still initialized.
        let fx = Fixture::new(
            p,
            vec![exited("proxy", "p1", 0, 1), running("app", "c1", 0)],
        )
        .waiting("proxy", "CrashLoopBackOff", "back-off");
        let s = fx.status(None);
        assert_eq!(s.phase.as_deref(), Some(RUNNING));
        assert_eq!(cond_sum(&s, INITIALIZED), f("True"));
        assert_eq!(
            cond_sum(&s, CONTAINERS_READY),
            f_r(
                "False",
                CONTAINERS_NOT_READY,
                Some("containers with unready status: [proxy]")
            )
        );
    }

    #[test]
    fn readiness_flips_move_transition_times() {
        let p = pod(json!({"containers": [
            app(json!({"readinessProbe": {"httpGet": {"port": 8080}}})),
            {"name": "side", "image": "busybox", "readinessProbe": {"exec": {"command": ["true"]}}},
        ]}));
        let mut fx = Fixture::new(p, vec![running("app", "c1", 0), running("side", "s1", 0)]);
        // t=1000: no probe result yet.
        let s1 = fx.status(None);
        assert_eq!(
            cond_sum(&s1, READY),
            f_r(
                "False",
                CONTAINERS_NOT_READY,
                Some("containers with unready status: [app side]")
            )
        );
        assert_eq!(cond(&s1, READY).last_transition_time, Some(ts(1000)));
        assert_eq!(cond(&s1, READY).last_probe_time, None);
        assert!(!cs(&s1, "app").ready);
        assert_eq!(cs(&s1, "app").started, Some(true));

        // t=1010: app passes; side still fails: still not ready, time kept, message changes.
        fx.now = t(1010);
        fx.readiness.insert("c1".into(), true);
        fx.readiness.insert("s1".into(), false);
        let s2 = fx.status(Some(&s1));
        assert_eq!(
            cond_sum(&s2, READY),
            f_r(
                "False",
                CONTAINERS_NOT_READY,
                Some("containers with unready status: [side]")
            )
        );
        assert_eq!(cond(&s2, READY).last_transition_time, Some(ts(1000)));

        // t=1020: both pass: flips to True.
        fx.now = t(1020);
        fx.readiness.insert("s1".into(), true);
        let s3 = fx.status(Some(&s2));
        assert_eq!(cond_sum(&s3, READY), f("True"));
        assert_eq!(cond_sum(&s3, CONTAINERS_READY), f("True"));
        assert_eq!(cond(&s3, READY).last_transition_time, Some(ts(1020)));
        assert_eq!(
            cond(&s3, CONTAINERS_READY).last_transition_time,
            Some(ts(1020))
        );
        // Conditions that did not flip keep their first time.
        for ty in [POD_SCHEDULED, INITIALIZED, POD_READY_TO_START_CONTAINERS] {
            assert_eq!(cond(&s3, ty).last_transition_time, Some(ts(1000)), "{ty}");
            assert_eq!(cond(&s3, ty).status, "True", "{ty}");
        }

        // t=1030: app fails again: back to False.
        fx.now = t(1030);
        fx.readiness.insert("c1".into(), false);
        let s4 = fx.status(Some(&s3));
        assert_eq!(
            cond_sum(&s4, READY),
            f_r(
                "False",
                CONTAINERS_NOT_READY,
                Some("containers with unready status: [app]")
            )
        );
        assert_eq!(cond(&s4, READY).last_transition_time, Some(ts(1030)));
        assert_eq!(s4.start_time, Some(ts(1000)));

        // The order the kubelet writes them in.
        let order: Vec<&str> = s4
            .conditions
            .as_ref()
            .unwrap()
            .iter()
            .map(|c| c.type_.as_str())
            .collect();
        assert_eq!(
            order,
            [
                POD_READY_TO_START_CONTAINERS,
                INITIALIZED,
                READY,
                CONTAINERS_READY,
                POD_SCHEDULED
            ]
        );
        // Statuses are sorted by name, as the kubelet sorts them.
        let names: Vec<&str> = s4
            .container_statuses
            .iter()
            .flatten()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["app", "side"]);
    }

    #[test]
    fn readiness_survives_an_agent_restart_until_probed() {
        let p = pod(
            json!({"containers": [app(json!({"readinessProbe": {"httpGet": {"port": 8080}}}))]}),
        );
        let mut fx = Fixture::new(p, vec![running("app", "c1", 0)]);
        fx.readiness.insert("c1".into(), true);
        let before = fx.status(None);
        assert!(cs(&before, "app").ready);
        // The agent restarted: no probe result yet, same instance: still ready.
        fx.readiness.clear();
        let after = fx.status(Some(&before));
        assert!(cs(&after, "app").ready);
        assert_eq!(cond_sum(&after, READY), f("True"));
        // A new instance must pass its probe.
        fx.containers = vec![exited("app", "c1", 0, 1), running("app", "c2", 1)];
        let next = fx.status(Some(&after));
        assert!(!cs(&next, "app").ready);
    }

    #[test]
    fn startup_probe_gates_started_and_ready() {
        let p = pod(
            json!({"containers": [app(json!({"startupProbe": {"exec": {"command": ["true"]}}}))]}),
        );
        // (startup result, started, ready)
        for (result, started, ready) in [
            (None, false, false),
            (Some(false), false, false),
            (Some(true), true, true),
        ] {
            let mut fx = Fixture::new(p.clone(), vec![running("app", "c1", 0)]);
            if let Some(r) = result {
                fx.startup.insert("c1".into(), r);
            }
            let s = fx.status(None);
            assert_eq!(cs(&s, "app").started, Some(started), "{result:?}");
            assert_eq!(cs(&s, "app").ready, ready, "{result:?}");
            assert_eq!(s.phase.as_deref(), Some(RUNNING));
        }
    }

    #[test]
    fn readiness_gates() {
        let p = |conds: Value| -> Pod {
            serde_json::from_value(json!({
                "metadata": {"name": "web", "namespace": "default"},
                "spec": {"readinessGates": [{"conditionType": "example.com/lb"}], "containers": [app(json!({}))]},
                "status": {"conditions": conds},
            }))
            .unwrap()
        };
        let cases = [
            (
                json!([]),
                f_r(
                    "False",
                    READINESS_GATES_NOT_READY,
                    Some(
                        "corresponding condition of pod readiness gate \"example.com/lb\" does not exist.",
                    ),
                ),
            ),
            (
                json!([{"type": "example.com/lb", "status": "False"}]),
                f_r(
                    "False",
                    READINESS_GATES_NOT_READY,
                    Some(
                        "the status of pod readiness gate \"example.com/lb\" is not \"True\", but False",
                    ),
                ),
            ),
            (
                json!([{"type": "example.com/lb", "status": "True"}]),
                f("True"),
            ),
        ];
        for (conds, ready) in cases {
            let fx = Fixture::new(p(conds.clone()), vec![running("app", "c1", 0)]);
            let s = fx.status(None);
            assert_eq!(cond_sum(&s, READY), ready, "{conds}");
            assert_eq!(cond_sum(&s, CONTAINERS_READY), f("True"), "{conds}");
            // The gate's own condition is preserved, ahead of the kubelet's.
            if conds.as_array().is_some_and(|a| !a.is_empty()) {
                assert_eq!(s.conditions.as_ref().unwrap()[0].type_, "example.com/lb");
            }
        }
    }

    #[test]
    fn qos_classes() {
        let r = |v: Value| app(json!({"resources": v}));
        let cases = [
            (vec![r(json!({}))], vec![], "BestEffort"),
            (
                vec![r(json!({"requests": {"cpu": "100m"}}))],
                vec![],
                "Burstable",
            ),
            (
                vec![r(
                    json!({"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}),
                )],
                vec![],
                "Guaranteed",
            ),
            (
                vec![r(
                    json!({"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "1Gi"}}),
                )],
                vec![],
                "Burstable",
            ),
            // An init container without limits spoils Guaranteed.
            (
                vec![r(
                    json!({"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}),
                )],
                vec![json!({"name": "init", "image": "busybox"})],
                "Burstable",
            ),
        ];
        for (containers, init, class) in cases {
            let fx = Fixture::new(
                pod(json!({"containers": containers, "initContainers": init})),
                vec![],
            );
            assert_eq!(fx.status(None).qos_class.as_deref(), Some(class), "{class}");
        }
        // The API's class is immutable: kept.
        let fx = Fixture::new(pod(json!({"containers": [app(json!({}))]})), vec![]);
        let old = PodStatus {
            qos_class: Some("Burstable".into()),
            ..Default::default()
        };
        assert_eq!(
            fx.status(Some(&old)).qos_class.as_deref(),
            Some("Burstable")
        );
    }

    #[test]
    fn ips_and_sandbox_readiness() {
        let host: IpAddr = "192.168.1.5".parse().unwrap();
        // (hostNetwork, sandboxes, expected podIP, PodReadyToStartContainers)
        let mut not_ready = sandbox(Some("10.42.0.7"));
        not_ready.state = SandboxState::NotReady;
        let cases = [
            (
                false,
                vec![sandbox(Some("10.42.0.7"))],
                Some("10.42.0.7"),
                "True",
            ),
            (true, vec![sandbox(None)], Some("192.168.1.5"), "True"),
            (true, vec![], Some("192.168.1.5"), "False"),
            // No isolation: the sandbox has no address of its own.
            (false, vec![sandbox(None)], Some("192.168.1.5"), "True"),
            (false, vec![], None, "False"),
            (false, vec![not_ready], None, "False"),
        ];
        for (host_network, sandboxes, ip, ready) in cases {
            let mut fx = Fixture::new(
                pod(json!({"hostNetwork": host_network, "containers": [app(json!({}))]})),
                vec![],
            );
            fx.sandboxes = sandboxes.clone();
            let s = fx.status(None);
            let case = format!("hostNetwork {host_network} sandboxes {sandboxes:?}");
            assert_eq!(s.pod_ip.as_deref(), ip, "{case}");
            assert_eq!(
                s.pod_ips
                    .map(|v| v.into_iter().map(|i| i.ip).collect::<Vec<_>>()),
                ip.map(|i| vec![i.to_owned()]),
                "{case}"
            );
            assert_eq!(s.host_ip, Some(host.to_string()), "{case}");
            assert_eq!(s.host_ips.unwrap()[0].ip, host.to_string(), "{case}");
            assert_eq!(
                cond(&fx.status(None), POD_READY_TO_START_CONTAINERS).status,
                ready,
                "{case}"
            );
        }
        // Once the sandbox is gone, the pod keeps the IP it had.
        let mut fx = Fixture::new(
            pod(json!({"restartPolicy": "Never", "containers": [app(json!({}))]})),
            vec![exited("app", "c1", 0, 0)],
        );
        let s1 = fx.status(None);
        fx.sandboxes.clear();
        let s2 = fx.status(Some(&s1));
        assert_eq!(s2.pod_ip.as_deref(), Some("10.42.0.7"));
    }

    #[test]
    fn start_time_and_terminal_phases() {
        let p = pod(json!({"containers": [app(json!({}))]}));
        let mut fx = Fixture::new(p.clone(), vec![running("app", "c1", 0)]);
        let s1 = fx.status(None);
        assert_eq!(s1.start_time, Some(ts(1000)));
        fx.now = t(2000);
        assert_eq!(fx.status(Some(&s1)).start_time, Some(ts(1000)));

        // activeDeadlineSeconds: the agent's decision overrides the containers.
        fx.terminal = Some(Terminal {
            phase: FAILED.into(),
            reason: "DeadlineExceeded".into(),
            message: "Pod was active on the node longer than the specified deadline".into(),
        });
        let s2 = fx.status(Some(&s1));
        assert_eq!(s2.phase.as_deref(), Some(FAILED));
        assert_eq!(s2.reason.as_deref(), Some("DeadlineExceeded"));
        assert_eq!(
            s2.message.as_deref(),
            Some("Pod was active on the node longer than the specified deadline")
        );
        assert_eq!(cond_sum(&s2, READY), f_r("False", POD_FAILED, None));

        // Terminal is sticky: the reason stays with the phase.
        fx.terminal = None;
        let s3 = fx.status(Some(&s2));
        assert_eq!(s3.phase.as_deref(), Some(FAILED));
        assert_eq!(s3.reason.as_deref(), Some("DeadlineExceeded"));
    }

    #[test]
    fn deleted_pods_end_by_exit_codes() {
        let mut p = pod(json!({"containers": [app(json!({}))]}));
        p.metadata.deletion_timestamp = Some(ts(900));
        for (code, phase) in [(143, FAILED), (0, SUCCEEDED)] {
            let fx = Fixture::new(p.clone(), vec![exited("app", "c1", 0, code)]).waiting(
                "app",
                "CrashLoopBackOff",
                "stale",
            );
            let s = fx.status(None);
            assert_eq!(s.phase.as_deref(), Some(phase), "exit {code}");
            // No restart is coming, so no waiting reason either.
            assert!(state_str(cs(&s, "app").state.as_ref()).starts_with("terminated"));
        }
        // Still running while being deleted: Running.
        let fx = Fixture::new(p, vec![running("app", "c1", 0)]);
        assert_eq!(fx.status(None).phase.as_deref(), Some(RUNNING));
    }

    #[test]
    fn a_container_lost_while_running_counts_as_restarted() {
        let p = pod(json!({"containers": [app(json!({}))]}));
        let fx = Fixture::new(p.clone(), vec![running("app", "c1", 0)]);
        let s1 = fx.status(None);
        let gone = Fixture::new(p, vec![]);
        let s2 = gone.status(Some(&s1));
        let c = cs(&s2, "app");
        assert_eq!(state_str(c.state.as_ref()), "waiting:ContainerCreating");
        let last = c.last_state.as_ref().unwrap().terminated.as_ref().unwrap();
        assert_eq!(last.reason.as_deref(), Some(CONTAINER_STATUS_UNKNOWN));
        assert_eq!(last.message.as_deref(), Some(LOST_WHILE_RUNNING));
        assert_eq!(last.exit_code, 137);
        assert_eq!(c.restart_count, 1);
        assert_eq!(s2.phase.as_deref(), Some(RUNNING));
    }

    #[test]
    fn terminated_pod_status_marks_the_lost() {
        let p = pod(json!({"containers": [app(json!({})), {"name": "b", "image": "busybox"}]}));
        let fx = Fixture::new(
            p.clone(),
            vec![running("app", "c1", 0), exited("b", "b1", 0, 0)],
        );
        let s = terminated_pod_status(&p, &fx.status(None));
        assert_eq!(s.phase.as_deref(), Some(FAILED));
        assert_eq!(
            state_str(cs(&s, "app").state.as_ref()),
            "terminated:ContainerStatusUnknown:137"
        );
        assert_eq!(
            state_str(cs(&s, "b").state.as_ref()),
            "terminated:Completed:0"
        );

        // Init containers: only those that tried to start (at least the first).
        let p = init_pod("Always");
        let fx = Fixture::new(p.clone(), vec![]);
        let s = terminated_pod_status(&p, &fx.status(None));
        assert_eq!(
            state_str(cs(&s, "init-a").state.as_ref()),
            "terminated:ContainerStatusUnknown:137"
        );
        assert_eq!(
            state_str(cs(&s, "init-b").state.as_ref()),
            "waiting:PodInitializing"
        );
        assert_eq!(
            state_str(cs(&s, "app").state.as_ref()),
            "waiting:PodInitializing"
        );
        assert_eq!(s.phase.as_deref(), Some(FAILED));
    }

    #[test]
    fn observed_generation_and_scheduled_condition() {
        let mut p = pod(json!({"containers": [app(json!({}))]}));
        p.metadata.generation = Some(3);
        p.status = Some(PodStatus {
            conditions: Some(vec![PodCondition {
                type_: POD_SCHEDULED.into(),
                status: "True".into(),
                last_transition_time: Some(ts(5)),
                ..Default::default()
            }]),
            ..Default::default()
        });
        let fx = Fixture::new(p, vec![]);
        let s = fx.status(None);
        assert_eq!(s.observed_generation, Some(3));
        let c = cond(&s, POD_SCHEDULED);
        assert_eq!(c.last_transition_time, Some(ts(5)));
        assert_eq!(c.observed_generation, Some(3));
        assert_eq!(s.conditions.as_ref().unwrap().len(), 5);
    }
}
