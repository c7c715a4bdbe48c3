//! Container runtimes for the node agent, behind one trait shaped like Kubernetes' CRI.
//!
//! - [`Runtime`]: pod sandboxes (the shared namespaces and IP of a pod) and containers (one
//!   process tree each): create, start, stop with a grace period, remove, list, status,
//!   `exec_sync` (probes and hooks), and a stream of lifecycle events (the PLEG's input).
//! - [`process`]: the default runtime, no daemon: namespaces, cgroups, a bridge network, and a
//!   small supervisor per container that owns the process, its log and its exit status so
//!   containers survive a restart of k4t.
//! - `fake`: an in-memory runtime for the agent's tests.
//!
//! The agent never learns how a runtime works; it reads back everything it needs (pod uid,
//! container name, restart count, spec hash) from the labels it put on sandboxes and
//! containers, as the kubelet does with CRI labels and annotations.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use futures::FutureExt as _;
use futures::future::BoxFuture;
use jiff::Timestamp;
use tokio::sync::broadcast;

pub mod fake;
pub mod process;

pub type SandboxId = String;
pub type ContainerId = String;

/// Labels the agent puts on sandboxes and containers (and reads back after a restart).
pub mod labels {
    pub const POD_UID: &str = "io.kubernetes.pod.uid";
    pub const POD_NAME: &str = "io.kubernetes.pod.name";
    pub const POD_NAMESPACE: &str = "io.kubernetes.pod.namespace";
    pub const CONTAINER_NAME: &str = "io.kubernetes.container.name";
    pub const CONTAINER_HASH: &str = "io.kubernetes.container.hash";
    pub const RESTART_COUNT: &str = "io.kubernetes.container.restartCount";
    /// `init`, `sidecar` or `regular`.
    pub const CONTAINER_KIND: &str = "io.k4t.container.kind";
}

/// What a pod sandbox needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SandboxConfig {
    pub pod_uid: String,
    pub pod_name: String,
    pub namespace: String,
    /// The pod's hostname (its own UTS namespace unless host network).
    pub hostname: String,
    /// Share the node's network namespace (`hostNetwork: true`).
    pub host_network: bool,
    /// All containers share the pod's PID namespace (`shareProcessNamespace: true`); otherwise
    /// each container has its own, its entrypoint PID 1, as in Kubernetes.
    pub share_process_namespace: bool,
    /// Where the pod's container logs go (`<dir>/<container>/<restart>.log`).
    pub log_directory: PathBuf,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxState {
    Ready,
    NotReady,
}

/// What a runtime holds of one pod.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodListing {
    pub sandboxes: Vec<SandboxStatus>,
    pub containers: Vec<ContainerStatus>,
}

/// A sandbox as the runtime reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxStatus {
    pub id: SandboxId,
    pub state: SandboxState,
    /// The pod IP (`None` with host network: the node IP applies).
    pub ip: Option<IpAddr>,
    pub created_at: Timestamp,
    pub labels: BTreeMap<String, String>,
}

/// A host path made visible in the container.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Mount {
    pub host_path: PathBuf,
    pub container_path: PathBuf,
    pub read_only: bool,
}

/// Resource limits of one container.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Resources {
    pub memory_limit_bytes: Option<u64>,
    /// CPU limit in millicores (a CFS quota).
    pub cpu_limit_millis: Option<u64>,
    /// CPU request in millicores (shares / weight).
    pub cpu_request_millis: Option<u64>,
}

/// What one container needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContainerConfig {
    pub name: String,
    /// The restart count of this instance (0 for the first).
    pub attempt: u32,
    /// Recorded, not pulled, by the process runtime.
    pub image: String,
    /// The argv, already combined from `command` and `args` with `$(VAR)` expanded.
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub working_dir: Option<String>,
    pub run_as_user: Option<u32>,
    pub run_as_group: Option<u32>,
    pub mounts: Vec<Mount>,
    pub resources: Resources,
    pub stdin: bool,
    pub stdin_once: bool,
    pub tty: bool,
    /// The CRI-format log file of this instance.
    pub log_path: PathBuf,
    /// When the log file is rotated.
    #[serde(default)]
    pub log_rotation: LogRotation,
    /// Read after exit for the termination message (`terminationMessagePath`).
    pub termination_message_path: Option<String>,
    pub labels: BTreeMap<String, String>,
}

/// Size-based rotation of a container's log (the kubelet's `containerLogMaxSize` and
/// `containerLogMaxFiles`): past `max_size` bytes the file is renamed to
/// `<file>.<YYYYMMDD-hhmmss.nnnnnnnnn>` and a new one started; at most `max_files` files
/// (the current one included) are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogRotation {
    pub max_size: u64,
    pub max_files: u32,
}

impl Default for LogRotation {
    fn default() -> Self {
        Self {
            max_size: 10 * 1024 * 1024,
            max_files: 5,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerState {
    Created,
    Running,
    Exited,
    Unknown,
}

/// A container instance as the runtime reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerStatus {
    pub id: ContainerId,
    pub sandbox_id: SandboxId,
    pub name: String,
    pub attempt: u32,
    pub image: String,
    pub state: ContainerState,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub exit_code: Option<i32>,
    /// The signal that ended the process, if one did.
    pub signal: Option<i32>,
    /// `Completed`, `Error`, `OOMKilled` or `StartError` once exited.
    pub reason: String,
    pub message: String,
    pub log_path: PathBuf,
    pub labels: BTreeMap<String, String>,
}

/// The outcome of a command run to completion in a container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecResult {
    pub exit_code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub timed_out: bool,
}

/// A writable stream of an exec (its stdin).
pub type StreamWriter = Box<dyn tokio::io::AsyncWrite + Send + Unpin>;
/// A readable stream of an exec (its stdout or stderr).
pub type StreamReader = Box<dyn tokio::io::AsyncRead + Send + Unpin>;

/// A command running in a container with its standard streams attached (`kubectl exec`).
/// Dropping it kills the command.
pub struct ExecSession {
    /// The command's stdin (with a terminal: the terminal's input).
    pub stdin: Option<StreamWriter>,
    /// The command's stdout (with a terminal: everything the terminal shows).
    pub stdout: StreamReader,
    /// The command's stderr; `None` with a terminal, which merges it into stdout.
    pub stderr: Option<StreamReader>,
    /// Resizes the terminal, when there is one.
    pub terminal: Option<Box<dyn TerminalSize>>,
    /// The exit code once the command ended (128 + signal when a signal ended it), or
    /// [`RuntimeError::StartFailed`] when it could not start.
    pub exit: BoxFuture<'static, Result<i32>>,
}

/// The size of an exec's terminal.
pub trait TerminalSize: Send + Sync {
    fn resize(&self, width: u16, height: u16);
}

/// Something the agent should look at now rather than at its next relist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeEvent {
    ContainerStarted { id: ContainerId, pod_uid: String },
    ContainerExited { id: ContainerId, pod_uid: String },
    SandboxStopped { id: SandboxId, pod_uid: String },
}

/// What the runtime tells the node about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeInfo {
    /// `process://` style prefix of container IDs in pod status (`process`, `containerd`).
    pub name: String,
    pub version: String,
    /// Whether pods get their own namespaces, cgroups and IPs (false when not root).
    pub isolation: bool,
    /// Why isolation is off, for the node's conditions.
    pub isolation_message: String,
    /// The node's address on the pod network (the bridge), if any.
    pub node_pod_ip: Option<IpAddr>,
}

/// Runtime errors. Messages are lower-case and name the sandbox or container.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    #[error("sandbox {0} not found")]
    SandboxNotFound(SandboxId),
    #[error("container {0} not found")]
    ContainerNotFound(ContainerId),
    /// The container could not be created (the agent reports `CreateContainerError`).
    #[error("{0}")]
    CreateFailed(String),
    /// The process could not be started (the agent reports `RunContainerError`); the message
    /// is what Kubernetes users see, e.g. `exec: "nope": executable file not found in $PATH`.
    #[error("{0}")]
    StartFailed(String),
    #[error("sandbox setup failed: {0}")]
    SandboxFailed(String),
    #[error("{0}")]
    Other(String),
}

pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;

/// A container runtime (CRI-shaped).
pub trait Runtime: Send + Sync + 'static {
    fn info(&self) -> RuntimeInfo;

    /// Creates and starts a pod sandbox (namespaces, network).
    fn run_sandbox(&self, config: &SandboxConfig) -> BoxFuture<'_, Result<SandboxStatus>>;
    /// Stops a sandbox: every container in it is killed at once.
    fn stop_sandbox(&self, id: &str) -> BoxFuture<'_, Result<()>>;
    fn remove_sandbox(&self, id: &str) -> BoxFuture<'_, Result<()>>;
    fn list_sandboxes(&self) -> BoxFuture<'_, Result<Vec<SandboxStatus>>>;

    /// One pod's sandboxes and container instances: those labelled with `pod_uid`
    /// ([`labels::POD_UID`]), as `list_sandboxes` and `list_containers` report them. A runtime
    /// with many pods should filter before building statuses: a pod worker asks at every sync.
    fn list_pod(&self, pod_uid: &str) -> BoxFuture<'_, Result<PodListing>> {
        let uid = pod_uid.to_owned();
        async move {
            let of_pod = |l: &BTreeMap<String, String>| l.get(labels::POD_UID) == Some(&uid);
            let sandboxes = self
                .list_sandboxes()
                .await?
                .into_iter()
                .filter(|s| of_pod(&s.labels))
                .collect();
            let containers = self
                .list_containers()
                .await?
                .into_iter()
                .filter(|c| of_pod(&c.labels))
                .collect();
            Ok(PodListing {
                sandboxes,
                containers,
            })
        }
        .boxed()
    }

    fn create_container(
        &self,
        sandbox: &str,
        config: &ContainerConfig,
    ) -> BoxFuture<'_, Result<ContainerId>>;
    fn start_container(&self, id: &str) -> BoxFuture<'_, Result<()>>;
    /// Sends SIGTERM, waits up to `grace`, then SIGKILL; returns once the process is gone.
    fn stop_container(&self, id: &str, grace: Duration) -> BoxFuture<'_, Result<()>>;
    fn remove_container(&self, id: &str) -> BoxFuture<'_, Result<()>>;
    /// Every container instance the runtime knows (running and exited).
    fn list_containers(&self) -> BoxFuture<'_, Result<Vec<ContainerStatus>>>;
    fn container_status(&self, id: &str) -> BoxFuture<'_, Result<ContainerStatus>>;

    /// Runs a command inside a running container (its namespaces, cgroup, env and working
    /// directory) and collects its output (at most 10 KiB of each stream).
    fn exec_sync(
        &self,
        id: &str,
        argv: &[String],
        timeout: Duration,
    ) -> BoxFuture<'_, Result<ExecResult>>;

    /// Starts a command inside a running container (its namespaces, cgroup, env, working
    /// directory and user) with its standard streams handed to the caller; with `tty` it
    /// gets a terminal as its stdin, stdout and stderr.
    fn exec(
        &self,
        id: &str,
        argv: &[String],
        stdin: bool,
        tty: bool,
    ) -> BoxFuture<'_, Result<ExecSession>> {
        let _ = (argv, stdin, tty);
        let id = id.to_owned();
        async move {
            Err(RuntimeError::Other(format!(
                "streaming exec into container {id} is not supported by this runtime"
            )))
        }
        .boxed()
    }

    /// Attaches to a running container's stdio (`kubectl attach`): its output from now on,
    /// its stdin (when it has one) and its terminal size (when it has one). `exit` resolves
    /// with 0 when the container ends.
    fn attach(&self, id: &str) -> BoxFuture<'_, Result<ExecSession>> {
        let id = id.to_owned();
        async move {
            Err(RuntimeError::Other(format!(
                "attaching to container {id} is not supported by this runtime"
            )))
        }
        .boxed()
    }

    /// Opens a TCP connection to `port` on the pod's loopback, inside its network namespace
    /// (what `kubectl port-forward` reaches).
    fn port_forward(
        &self,
        sandbox: &str,
        port: u16,
    ) -> BoxFuture<'_, std::io::Result<tokio::net::TcpStream>> {
        let _ = port;
        let id = sandbox.to_owned();
        async move {
            Err(std::io::Error::other(format!(
                "port forwarding into sandbox {id} is not supported by this runtime"
            )))
        }
        .boxed()
    }

    /// Lifecycle events as they happen.
    fn subscribe(&self) -> broadcast::Receiver<RuntimeEvent>;
}
