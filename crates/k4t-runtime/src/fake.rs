//! An in-memory [`Runtime`](crate::Runtime) for the agent's tests.
//!
//! It records every call, keeps sandboxes and containers in memory, and lets a test script
//! what the processes do: exits ([`FakeRuntime::exit`]), exec results, start failures and the
//! exit code a stop produces. Everything is deterministic: IDs count up, and timestamps come
//! from tokio's clock (virtual under `#[tokio::test(start_paused = true)]`) added to a fixed
//! base, unless a test injects its own clock.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt as _;
use futures::future::BoxFuture;
use jiff::Timestamp;
use parking_lot::Mutex;
use tokio::sync::broadcast;

use crate::{
    ContainerConfig, ContainerId, ContainerState, ContainerStatus, ExecResult, Result, Runtime,
    RuntimeError, RuntimeEvent, RuntimeInfo, SandboxConfig, SandboxId, SandboxState, SandboxStatus,
    labels,
};

/// One call the runtime received, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    RunSandbox {
        pod_uid: String,
    },
    StopSandbox {
        id: SandboxId,
    },
    RemoveSandbox {
        id: SandboxId,
    },
    CreateContainer {
        sandbox: SandboxId,
        name: String,
        attempt: u32,
    },
    StartContainer {
        id: ContainerId,
    },
    StopContainer {
        id: ContainerId,
        grace: Duration,
    },
    RemoveContainer {
        id: ContainerId,
    },
    ExecSync {
        id: ContainerId,
        argv: Vec<String>,
        timeout: Duration,
    },
}

/// What an `exec_sync` does: its result, after `delay`. A delay at or beyond the call's
/// timeout makes the call time out instead (after the timeout, in tokio time).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecScript {
    pub result: ExecResult,
    pub delay: Duration,
}

impl ExecScript {
    pub fn exit(code: i32) -> Self {
        ExecScript {
            result: ExecResult {
                exit_code: code,
                ..ExecResult::default()
            },
            delay: Duration::ZERO,
        }
    }

    pub fn output(code: i32, stdout: &str) -> Self {
        ExecScript {
            result: ExecResult {
                exit_code: code,
                stdout: stdout.as_bytes().to_vec(),
                ..ExecResult::default()
            },
            delay: Duration::ZERO,
        }
    }

    /// Never answers within any timeout.
    pub fn hang() -> Self {
        ExecScript {
            result: ExecResult::default(),
            delay: Duration::MAX,
        }
    }
}

type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

struct State {
    calls: Vec<Call>,
    next_id: u64,
    sandboxes: BTreeMap<SandboxId, SandboxStatus>,
    containers: BTreeMap<ContainerId, ContainerStatus>,
    /// Container name → queued start failures (messages).
    start_failures: HashMap<String, VecDeque<String>>,
    sandbox_failures: VecDeque<String>,
    /// Container name → queued exec scripts; the last one stays once the queue has one left.
    exec_scripts: HashMap<String, VecDeque<ExecScript>>,
    /// Container name → exit code produced by `stop_container`.
    stop_codes: HashMap<String, i32>,
    info: RuntimeInfo,
}

/// The in-memory runtime. Cheap to clone: clones share state.
#[derive(Clone)]
pub struct FakeRuntime {
    state: Arc<Mutex<State>>,
    events: broadcast::Sender<RuntimeEvent>,
    clock: Clock,
}

impl Default for FakeRuntime {
    fn default() -> Self {
        Self::new()
    }
}

/// The wall-clock time the fake's virtual clock starts at.
pub const FAKE_EPOCH_SECONDS: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

impl FakeRuntime {
    /// A runtime whose timestamps follow tokio's clock from [`FAKE_EPOCH_SECONDS`].
    /// Call it inside a tokio runtime when tests rely on virtual time.
    pub fn new() -> Self {
        let start = tokio::time::Instant::now();
        let base = Timestamp::from_second(FAKE_EPOCH_SECONDS).unwrap_or(Timestamp::UNIX_EPOCH);
        let clock: Clock = Arc::new(move || {
            let elapsed = tokio::time::Instant::now().saturating_duration_since(start);
            base.checked_add(elapsed).unwrap_or(base)
        });
        Self::with_clock(clock)
    }

    /// A runtime whose timestamps come from `clock`.
    pub fn with_clock(clock: Arc<dyn Fn() -> Timestamp + Send + Sync>) -> Self {
        let (events, _) = broadcast::channel(1024);
        FakeRuntime {
            state: Arc::new(Mutex::new(State {
                calls: Vec::new(),
                next_id: 1,
                sandboxes: BTreeMap::new(),
                containers: BTreeMap::new(),
                start_failures: HashMap::new(),
                sandbox_failures: VecDeque::new(),
                exec_scripts: HashMap::new(),
                stop_codes: HashMap::new(),
                info: RuntimeInfo {
                    name: "fake".to_owned(),
                    version: "0.1.0".to_owned(),
                    isolation: true,
                    isolation_message: String::new(),
                    node_pod_ip: Some(IpAddr::V4(Ipv4Addr::new(10, 42, 0, 1))),
                },
            })),
            events,
            clock,
        }
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().calls.clone()
    }

    /// The calls so far, forgetting them.
    pub fn take_calls(&self) -> Vec<Call> {
        std::mem::take(&mut self.state.lock().calls)
    }

    pub fn set_info(&self, info: RuntimeInfo) {
        self.state.lock().info = info;
    }

    /// Makes the next `start_container` of a container with this name fail with `message`
    /// (the container then reports `StartError`, exit code 128).
    pub fn fail_next_start(&self, container_name: &str, message: &str) {
        self.state
            .lock()
            .start_failures
            .entry(container_name.to_owned())
            .or_default()
            .push_back(message.to_owned());
    }

    /// Makes the next `run_sandbox` fail with `message`.
    pub fn fail_next_sandbox(&self, message: &str) {
        self.state
            .lock()
            .sandbox_failures
            .push_back(message.to_owned());
    }

    /// Queues what `exec_sync` does in containers with this name. Scripts are used in order;
    /// the last one keeps answering. Without a script an exec exits 0 with no output.
    pub fn script_exec(&self, container_name: &str, script: ExecScript) {
        self.state
            .lock()
            .exec_scripts
            .entry(container_name.to_owned())
            .or_default()
            .push_back(script);
    }

    /// The exit code `stop_container` gives containers with this name (default 143: the
    /// process dies of SIGTERM).
    pub fn set_stop_exit_code(&self, container_name: &str, code: i32) {
        self.state
            .lock()
            .stop_codes
            .insert(container_name.to_owned(), code);
    }

    /// Makes a running container exit with `code` and `reason` (empty: `Completed` for 0,
    /// else `Error`), and emits `ContainerExited`.
    pub fn exit(&self, id: &str, code: i32, reason: &str) -> Result<()> {
        let now = (self.clock)();
        let event = {
            let mut st = self.state.lock();
            let c = st
                .containers
                .get_mut(id)
                .ok_or_else(|| RuntimeError::ContainerNotFound(id.to_owned()))?;
            if c.state != ContainerState::Running {
                return Err(RuntimeError::Other(format!(
                    "container {id} is not running"
                )));
            }
            terminate(c, code, reason, now);
            exited_event(c)
        };
        let _ = self.events.send(event);
        Ok(())
    }

    /// Exits the newest running container with this name (see [`FakeRuntime::exit`]).
    pub fn exit_by_name(&self, container_name: &str, code: i32, reason: &str) -> Result<()> {
        let id = self
            .running_id(container_name)
            .ok_or_else(|| RuntimeError::ContainerNotFound(container_name.to_owned()))?;
        self.exit(&id, code, reason)
    }

    /// The ID of the newest running container with this name.
    pub fn running_id(&self, container_name: &str) -> Option<ContainerId> {
        let st = self.state.lock();
        st.containers
            .values()
            .filter(|c| c.name == container_name && c.state == ContainerState::Running)
            .max_by_key(|c| (c.created_at, c.id.clone()))
            .map(|c| c.id.clone())
    }

    /// Every container, in ID order (creation order).
    pub fn containers(&self) -> Vec<ContainerStatus> {
        self.state.lock().containers.values().cloned().collect()
    }

    /// Every sandbox, in ID order (creation order).
    pub fn sandboxes(&self) -> Vec<SandboxStatus> {
        self.state.lock().sandboxes.values().cloned().collect()
    }

    /// Marks a sandbox not ready (as if its init died) and emits `SandboxStopped`.
    pub fn kill_sandbox(&self, id: &str) -> Result<()> {
        let event = {
            let mut st = self.state.lock();
            let s = st
                .sandboxes
                .get_mut(id)
                .ok_or_else(|| RuntimeError::SandboxNotFound(id.to_owned()))?;
            s.state = SandboxState::NotReady;
            RuntimeEvent::SandboxStopped {
                id: s.id.clone(),
                pod_uid: pod_uid(&s.labels),
            }
        };
        let _ = self.events.send(event);
        Ok(())
    }

    fn next_id(st: &mut State) -> String {
        let n = st.next_id;
        st.next_id += 1;
        format!("{n:064x}")
    }
}

fn pod_uid(labels: &BTreeMap<String, String>) -> String {
    labels.get(labels::POD_UID).cloned().unwrap_or_default()
}

fn exited_event(c: &ContainerStatus) -> RuntimeEvent {
    RuntimeEvent::ContainerExited {
        id: c.id.clone(),
        pod_uid: pod_uid(&c.labels),
    }
}

fn terminate(c: &mut ContainerStatus, code: i32, reason: &str, now: Timestamp) {
    c.state = ContainerState::Exited;
    c.exit_code = Some(code);
    c.finished_at = Some(now);
    c.reason = if !reason.is_empty() {
        reason.to_owned()
    } else if code == 0 {
        "Completed".to_owned()
    } else {
        "Error".to_owned()
    };
    c.signal = match code {
        137 => Some(9),
        143 => Some(15),
        _ => None,
    };
}

impl Runtime for FakeRuntime {
    fn info(&self) -> RuntimeInfo {
        self.state.lock().info.clone()
    }

    fn run_sandbox(&self, config: &SandboxConfig) -> BoxFuture<'_, Result<SandboxStatus>> {
        let config = config.clone();
        async move {
            let now = (self.clock)();
            let mut st = self.state.lock();
            st.calls.push(Call::RunSandbox {
                pod_uid: config.pod_uid.clone(),
            });
            if let Some(msg) = st.sandbox_failures.pop_front() {
                return Err(RuntimeError::SandboxFailed(msg));
            }
            let id = Self::next_id(&mut st);
            let n = st.sandboxes.len() as u32;
            let ip = (!config.host_network)
                .then(|| IpAddr::V4(Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 42, 0, 2)) + n)));
            let mut labels = config.labels.clone();
            labels
                .entry(labels::POD_UID.to_owned())
                .or_insert_with(|| config.pod_uid.clone());
            labels
                .entry(labels::POD_NAME.to_owned())
                .or_insert_with(|| config.pod_name.clone());
            labels
                .entry(labels::POD_NAMESPACE.to_owned())
                .or_insert_with(|| config.namespace.clone());
            let status = SandboxStatus {
                id: id.clone(),
                state: SandboxState::Ready,
                ip,
                created_at: now,
                labels,
            };
            st.sandboxes.insert(id, status.clone());
            Ok(status)
        }
        .boxed()
    }

    fn stop_sandbox(&self, id: &str) -> BoxFuture<'_, Result<()>> {
        let id = id.to_owned();
        async move {
            let now = (self.clock)();
            let mut events = Vec::new();
            {
                let mut st = self.state.lock();
                st.calls.push(Call::StopSandbox { id: id.clone() });
                let sandbox = st
                    .sandboxes
                    .get_mut(&id)
                    .ok_or_else(|| RuntimeError::SandboxNotFound(id.clone()))?;
                let was_ready = sandbox.state == SandboxState::Ready;
                sandbox.state = SandboxState::NotReady;
                let uid = pod_uid(&sandbox.labels);
                for c in st.containers.values_mut() {
                    if c.sandbox_id == id && c.state == ContainerState::Running {
                        terminate(c, 137, "", now);
                        events.push(exited_event(c));
                    }
                }
                if was_ready {
                    events.push(RuntimeEvent::SandboxStopped {
                        id: id.clone(),
                        pod_uid: uid,
                    });
                }
            }
            for e in events {
                let _ = self.events.send(e);
            }
            Ok(())
        }
        .boxed()
    }

    fn remove_sandbox(&self, id: &str) -> BoxFuture<'_, Result<()>> {
        let id = id.to_owned();
        async move {
            let mut st = self.state.lock();
            st.calls.push(Call::RemoveSandbox { id: id.clone() });
            if st.sandboxes.remove(&id).is_none() {
                return Err(RuntimeError::SandboxNotFound(id));
            }
            st.containers.retain(|_, c| c.sandbox_id != id);
            Ok(())
        }
        .boxed()
    }

    fn list_sandboxes(&self) -> BoxFuture<'_, Result<Vec<SandboxStatus>>> {
        async move { Ok(self.sandboxes()) }.boxed()
    }

    fn create_container(
        &self,
        sandbox: &str,
        config: &ContainerConfig,
    ) -> BoxFuture<'_, Result<ContainerId>> {
        let sandbox = sandbox.to_owned();
        let config = config.clone();
        async move {
            let now = (self.clock)();
            let mut st = self.state.lock();
            st.calls.push(Call::CreateContainer {
                sandbox: sandbox.clone(),
                name: config.name.clone(),
                attempt: config.attempt,
            });
            let sandbox_labels = match st.sandboxes.get(&sandbox) {
                Some(s) if s.state == SandboxState::Ready => s.labels.clone(),
                Some(_) => {
                    return Err(RuntimeError::CreateFailed(format!(
                        "sandbox {sandbox} is not ready"
                    )));
                }
                None => return Err(RuntimeError::SandboxNotFound(sandbox)),
            };
            let id = Self::next_id(&mut st);
            let mut labels = config.labels.clone();
            if let Some(uid) = sandbox_labels.get(labels::POD_UID) {
                labels
                    .entry(labels::POD_UID.to_owned())
                    .or_insert_with(|| uid.clone());
            }
            labels
                .entry(labels::CONTAINER_NAME.to_owned())
                .or_insert_with(|| config.name.clone());
            st.containers.insert(
                id.clone(),
                ContainerStatus {
                    id: id.clone(),
                    sandbox_id: sandbox,
                    name: config.name.clone(),
                    attempt: config.attempt,
                    image: config.image.clone(),
                    state: ContainerState::Created,
                    created_at: now,
                    started_at: None,
                    finished_at: None,
                    exit_code: None,
                    signal: None,
                    reason: String::new(),
                    message: String::new(),
                    log_path: config.log_path.clone(),
                    labels,
                },
            );
            Ok(id)
        }
        .boxed()
    }

    fn start_container(&self, id: &str) -> BoxFuture<'_, Result<()>> {
        let id = id.to_owned();
        async move {
            let now = (self.clock)();
            let event = {
                let mut st = self.state.lock();
                st.calls.push(Call::StartContainer { id: id.clone() });
                let name = match st.containers.get(&id) {
                    Some(c) if c.state == ContainerState::Created => c.name.clone(),
                    Some(_) => {
                        return Err(RuntimeError::StartFailed(format!(
                            "container {id} is not in the created state"
                        )));
                    }
                    None => return Err(RuntimeError::ContainerNotFound(id)),
                };
                let failure = st
                    .start_failures
                    .get_mut(&name)
                    .and_then(VecDeque::pop_front);
                let c = st
                    .containers
                    .get_mut(&id)
                    .ok_or_else(|| RuntimeError::ContainerNotFound(id.clone()))?;
                if let Some(msg) = failure {
                    c.state = ContainerState::Exited;
                    c.exit_code = Some(128);
                    c.finished_at = Some(now);
                    c.reason = "StartError".to_owned();
                    c.message = msg.clone();
                    return Err(RuntimeError::StartFailed(msg));
                }
                c.state = ContainerState::Running;
                c.started_at = Some(now);
                RuntimeEvent::ContainerStarted {
                    id: c.id.clone(),
                    pod_uid: pod_uid(&c.labels),
                }
            };
            let _ = self.events.send(event);
            Ok(())
        }
        .boxed()
    }

    fn stop_container(&self, id: &str, grace: Duration) -> BoxFuture<'_, Result<()>> {
        let id = id.to_owned();
        async move {
            let now = (self.clock)();
            let event = {
                let mut st = self.state.lock();
                st.calls.push(Call::StopContainer {
                    id: id.clone(),
                    grace,
                });
                let Some(name) = st.containers.get(&id).map(|c| c.name.clone()) else {
                    return Err(RuntimeError::ContainerNotFound(id));
                };
                let code = st.stop_codes.get(&name).copied().unwrap_or(143);
                let c = st
                    .containers
                    .get_mut(&id)
                    .ok_or_else(|| RuntimeError::ContainerNotFound(id.clone()))?;
                if c.state != ContainerState::Running {
                    return Ok(());
                }
                terminate(c, code, "", now);
                exited_event(c)
            };
            let _ = self.events.send(event);
            Ok(())
        }
        .boxed()
    }

    fn remove_container(&self, id: &str) -> BoxFuture<'_, Result<()>> {
        let id = id.to_owned();
        async move {
            let mut st = self.state.lock();
            st.calls.push(Call::RemoveContainer { id: id.clone() });
            match st.containers.get(&id) {
                None => Err(RuntimeError::ContainerNotFound(id)),
                Some(c) if c.state == ContainerState::Running => Err(RuntimeError::Other(format!(
                    "container {id} is running: stop it first"
                ))),
                Some(_) => {
                    st.containers.remove(&id);
                    Ok(())
                }
            }
        }
        .boxed()
    }

    fn list_containers(&self) -> BoxFuture<'_, Result<Vec<ContainerStatus>>> {
        async move { Ok(self.containers()) }.boxed()
    }

    fn container_status(&self, id: &str) -> BoxFuture<'_, Result<ContainerStatus>> {
        let id = id.to_owned();
        async move {
            self.state
                .lock()
                .containers
                .get(&id)
                .cloned()
                .ok_or(RuntimeError::ContainerNotFound(id))
        }
        .boxed()
    }

    fn exec_sync(
        &self,
        id: &str,
        argv: &[String],
        timeout: Duration,
    ) -> BoxFuture<'_, Result<ExecResult>> {
        let id = id.to_owned();
        let argv = argv.to_vec();
        async move {
            let script = {
                let mut st = self.state.lock();
                st.calls.push(Call::ExecSync {
                    id: id.clone(),
                    argv,
                    timeout,
                });
                let name = match st.containers.get(&id) {
                    Some(c) if c.state == ContainerState::Running => c.name.clone(),
                    Some(_) => {
                        return Err(RuntimeError::Other(format!(
                            "container {id} is not running"
                        )));
                    }
                    None => return Err(RuntimeError::ContainerNotFound(id)),
                };
                match st.exec_scripts.get_mut(&name) {
                    Some(q) if q.len() > 1 => q.pop_front().unwrap_or_default(),
                    Some(q) => q.front().cloned().unwrap_or_default(),
                    None => ExecScript::default(),
                }
            };
            if script.delay >= timeout {
                tokio::time::sleep(timeout).await;
                return Ok(ExecResult {
                    exit_code: -1,
                    timed_out: true,
                    ..ExecResult::default()
                });
            }
            if !script.delay.is_zero() {
                tokio::time::sleep(script.delay).await;
            }
            Ok(script.result)
        }
        .boxed()
    }

    fn subscribe(&self) -> broadcast::Receiver<RuntimeEvent> {
        self.events.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sandbox_config(uid: &str) -> SandboxConfig {
        SandboxConfig {
            pod_uid: uid.to_owned(),
            pod_name: "web".to_owned(),
            namespace: "default".to_owned(),
            hostname: "web".to_owned(),
            ..SandboxConfig::default()
        }
    }

    fn container_config(name: &str) -> ContainerConfig {
        ContainerConfig {
            name: name.to_owned(),
            argv: vec!["sleep".to_owned(), "1".to_owned()],
            ..ContainerConfig::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn lifecycle_is_recorded_and_emits_events() {
        let rt = FakeRuntime::new();
        let mut events = rt.subscribe();
        let sb = rt.run_sandbox(&sandbox_config("u1")).await.unwrap();
        assert_eq!(sb.id.len(), 64);
        assert_eq!(
            sb.labels.get(labels::POD_UID).map(String::as_str),
            Some("u1")
        );
        let id = rt
            .create_container(&sb.id, &container_config("app"))
            .await
            .unwrap();
        assert_eq!(
            rt.container_status(&id).await.unwrap().state,
            ContainerState::Created
        );
        rt.start_container(&id).await.unwrap();
        assert_eq!(
            events.recv().await.unwrap(),
            RuntimeEvent::ContainerStarted {
                id: id.clone(),
                pod_uid: "u1".to_owned()
            }
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
        rt.exit(&id, 1, "").unwrap();
        assert_eq!(
            events.recv().await.unwrap(),
            RuntimeEvent::ContainerExited {
                id: id.clone(),
                pod_uid: "u1".to_owned()
            }
        );
        let st = rt.container_status(&id).await.unwrap();
        assert_eq!(
            (st.state, st.exit_code, st.reason.as_str()),
            (ContainerState::Exited, Some(1), "Error")
        );
        let started = st.started_at.unwrap();
        assert_eq!(st.finished_at.unwrap().duration_since(started).as_secs(), 5);
        rt.remove_container(&id).await.unwrap();
        rt.stop_sandbox(&sb.id).await.unwrap();
        rt.remove_sandbox(&sb.id).await.unwrap();
        assert_eq!(
            rt.calls(),
            vec![
                Call::RunSandbox {
                    pod_uid: "u1".to_owned()
                },
                Call::CreateContainer {
                    sandbox: sb.id.clone(),
                    name: "app".to_owned(),
                    attempt: 0
                },
                Call::StartContainer { id: id.clone() },
                Call::RemoveContainer { id: id.clone() },
                Call::StopSandbox { id: sb.id.clone() },
                Call::RemoveSandbox { id: sb.id.clone() },
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn start_failures_become_start_errors() {
        let rt = FakeRuntime::new();
        let sb = rt.run_sandbox(&sandbox_config("u1")).await.unwrap();
        rt.fail_next_start("app", "exec: \"nope\": executable file not found in $PATH");
        let id = rt
            .create_container(&sb.id, &container_config("app"))
            .await
            .unwrap();
        let err = rt.start_container(&id).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "exec: \"nope\": executable file not found in $PATH"
        );
        let st = rt.container_status(&id).await.unwrap();
        assert_eq!(
            (st.exit_code, st.reason.as_str()),
            (Some(128), "StartError")
        );
        // Only the next start fails.
        let id2 = rt
            .create_container(&sb.id, &container_config("app"))
            .await
            .unwrap();
        rt.start_container(&id2).await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn exec_scripts_and_timeouts() {
        let rt = FakeRuntime::new();
        let sb = rt.run_sandbox(&sandbox_config("u1")).await.unwrap();
        let id = rt
            .create_container(&sb.id, &container_config("app"))
            .await
            .unwrap();
        rt.start_container(&id).await.unwrap();
        let argv = vec!["cat".to_owned(), "/tmp/healthy".to_owned()];
        assert_eq!(
            rt.exec_sync(&id, &argv, Duration::from_secs(1))
                .await
                .unwrap()
                .exit_code,
            0
        );
        rt.script_exec("app", ExecScript::output(0, "ok"));
        rt.script_exec("app", ExecScript::exit(1));
        rt.script_exec("app", ExecScript::hang());
        assert_eq!(
            rt.exec_sync(&id, &argv, Duration::from_secs(1))
                .await
                .unwrap()
                .stdout,
            b"ok"
        );
        assert_eq!(
            rt.exec_sync(&id, &argv, Duration::from_secs(1))
                .await
                .unwrap()
                .exit_code,
            1
        );
        let start = tokio::time::Instant::now();
        let r = rt
            .exec_sync(&id, &argv, Duration::from_secs(3))
            .await
            .unwrap();
        assert!(r.timed_out);
        assert_eq!(start.elapsed(), Duration::from_secs(3));
        // The last script keeps answering.
        assert!(
            rt.exec_sync(&id, &argv, Duration::from_secs(1))
                .await
                .unwrap()
                .timed_out
        );
    }

    #[tokio::test(start_paused = true)]
    async fn stop_uses_the_scripted_code_and_sandbox_stop_kills_all() {
        let rt = FakeRuntime::new();
        let mut events = rt.subscribe();
        let sb = rt.run_sandbox(&sandbox_config("u1")).await.unwrap();
        let a = rt
            .create_container(&sb.id, &container_config("a"))
            .await
            .unwrap();
        let b = rt
            .create_container(&sb.id, &container_config("b"))
            .await
            .unwrap();
        rt.start_container(&a).await.unwrap();
        rt.start_container(&b).await.unwrap();
        rt.set_stop_exit_code("a", 0);
        rt.stop_container(&a, Duration::from_secs(30))
            .await
            .unwrap();
        let st = rt.container_status(&a).await.unwrap();
        assert_eq!((st.exit_code, st.reason.as_str()), (Some(0), "Completed"));
        rt.stop_sandbox(&sb.id).await.unwrap();
        let st = rt.container_status(&b).await.unwrap();
        assert_eq!((st.exit_code, st.signal), (Some(137), Some(9)));
        let mut seen = Vec::new();
        while let Ok(e) = events.try_recv() {
            seen.push(e);
        }
        assert_eq!(
            seen.last(),
            Some(&RuntimeEvent::SandboxStopped {
                id: sb.id.clone(),
                pod_uid: "u1".to_owned()
            })
        );
        assert!(
            rt.create_container(&sb.id, &container_config("c"))
                .await
                .is_err()
        );
        assert_eq!(
            rt.list_sandboxes().await.unwrap()[0].state,
            SandboxState::NotReady
        );
    }
}
