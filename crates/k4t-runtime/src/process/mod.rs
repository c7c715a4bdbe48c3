//! The process runtime: k4t's default, with no daemon. Each pod sandbox is a set of
//! namespaces held by a tiny init process; each container is a process tree owned by its own
//! supervisor (`k4t shim start`), which survives k4t and records the container's start, log
//! and exit under the state directory. A new [`ProcessRuntime`] over the same directory
//! re-adopts everything (see [`state`] for the layout).
//!
//! As root (isolation on):
//! - a pod gets its own network namespace (a veth on the node bridge, an IP from [`ipam`]),
//!   UTS namespace (its hostname), IPC namespace and PID namespace whose PID 1 is the pod's
//!   init (it reaps orphans); `host_network` pods keep the host's network and UTS namespaces;
//! - a container gets its own PID namespace whose PID 1 is its entrypoint, as Kubernetes
//!   gives each container (the pod's, with `shareProcessNamespace`), its own mount namespace
//!   (its `/proc`, a private `/tmp`, its mounts, its termination message file) and its own
//!   cgroup with its limits ([`cgroups`]).
//!
//! Without root, pods share the host's network and containers run without namespaces or
//! cgroups, each in its own session and process group.

mod attach;
mod cgroups;
mod exit;
mod ipam;
mod log;
mod net;
mod procfs;
mod shim;
mod state;
mod stream;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::OsString;
use std::net::IpAddr;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::FutureExt as _;
use futures::future::BoxFuture;
use jiff::Timestamp;
use parking_lot::Mutex;
use tokio::sync::broadcast;
use tokio::task::AbortHandle;

pub use self::cgroups::{CgroupPaths, Cgroups, FakeCgroups, FsCgroups, Layout};
pub use self::ipam::{Ipam, Ipv4Net};
pub use self::shim::{EXEC_OUTPUT_LIMIT, shim_main};

use self::exit::Exit;
use self::ipam::Ipv4Net as Net;
use self::net::HostNetwork;
use self::state::{
    CONTAINER_FILE, ContainerRecord, EXITED_FILE, Exited, JoinNamespaces, ProcRef, SANDBOX_FILE,
    STARTED_FILE, SandboxRecord, Started,
};
use crate::{
    ContainerConfig, ContainerId, ContainerState, ContainerStatus, ExecResult, PodListing, Result,
    Runtime, RuntimeError, RuntimeEvent, RuntimeInfo, SandboxConfig, SandboxId, SandboxState,
    SandboxStatus, labels,
};

/// How the process runtime is set up on this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessConfig {
    /// Where sandboxes, containers and IP allocations are recorded.
    pub state_dir: PathBuf,
    /// The supervisor binary and the arguments before its subcommand: k4t passes itself and
    /// `["shim"]` (the supervisor is `k4t shim ...`).
    pub shim_program: PathBuf,
    pub shim_args: Vec<String>,
    /// The node bridge pods are attached to.
    pub bridge: String,
    /// The pods' subnet; the bridge takes its first address.
    pub pod_cidr: String,
    /// The cgroup under each hierarchy's root that holds the pods' cgroups.
    pub cgroup_parent: String,
    /// Use namespaces and cgroups when running as root (false forces the unprivileged mode).
    pub isolate: bool,
}

impl ProcessConfig {
    /// The defaults: bridge `k4t0`, pod CIDR `10.42.0.0/24`, cgroup parent `k4t`.
    pub fn new(state_dir: PathBuf, shim_program: PathBuf, shim_args: Vec<String>) -> Self {
        ProcessConfig {
            state_dir,
            shim_program,
            shim_args,
            bridge: "k4t0".to_owned(),
            pod_cidr: "10.42.0.0/24".to_owned(),
            cgroup_parent: "k4t".to_owned(),
            isolate: true,
        }
    }
}

/// The pod network of an isolated runtime.
struct Network {
    host: HostNetwork,
    bridge_index: u32,
    ipam: Ipam,
}

/// A container as the runtime knows it: its record and what its supervisor wrote.
#[derive(Debug, Clone)]
struct Entry {
    rec: ContainerRecord,
    started: Option<Started>,
    exited: Option<Exited>,
}

/// The allocator settings of the supervisors (k4t's jemalloc reads them from this variable;
/// containers never see it, as they get exactly their own environment). A supervisor is
/// single-threaded and allocates little: one arena, no thread cache and no retained dirty
/// pages cut its private memory by a quarter against the defaults, which suit the server.
const SHIM_MALLOC_CONF: (&str, &str) = (
    "_RJEM_MALLOC_CONF",
    "narenas:1,tcache:false,dirty_decay_ms:0,muzzy_decay_ms:0",
);

/// What the runtime knows of its sandboxes and containers, with an index by pod UID so that
/// a pod worker's listing costs the same with 500 pods on the node as with 5.
#[derive(Default)]
struct Cache {
    sandboxes: BTreeMap<SandboxId, SandboxRecord>,
    containers: BTreeMap<ContainerId, Entry>,
    by_pod: HashMap<String, PodIds>,
}

#[derive(Default)]
struct PodIds {
    sandboxes: BTreeSet<SandboxId>,
    containers: BTreeSet<ContainerId>,
}

impl Cache {
    fn replace(
        &mut self,
        sandboxes: BTreeMap<SandboxId, SandboxRecord>,
        containers: BTreeMap<ContainerId, Entry>,
    ) {
        *self = Cache::default();
        for (id, rec) in sandboxes {
            self.insert_sandbox(id, rec);
        }
        for (id, e) in containers {
            self.insert_container(id, e);
        }
    }

    fn insert_sandbox(&mut self, id: SandboxId, rec: SandboxRecord) {
        if let Some(old) = self.sandboxes.insert(id.clone(), rec) {
            self.unindex(&old.pod_uid, |p| {
                p.sandboxes.remove(&id);
            });
        }
        let uid = self.sandboxes[&id].pod_uid.clone();
        self.by_pod.entry(uid).or_default().sandboxes.insert(id);
    }

    fn remove_sandbox(&mut self, id: &str) -> Option<SandboxRecord> {
        let rec = self.sandboxes.remove(id)?;
        self.unindex(&rec.pod_uid, |p| {
            p.sandboxes.remove(id);
        });
        Some(rec)
    }

    fn insert_container(&mut self, id: ContainerId, e: Entry) {
        if let Some(old) = self.containers.insert(id.clone(), e) {
            self.unindex(&old.rec.pod_uid, |p| {
                p.containers.remove(&id);
            });
        }
        let uid = self.containers[&id].rec.pod_uid.clone();
        self.by_pod.entry(uid).or_default().containers.insert(id);
    }

    fn remove_container(&mut self, id: &str) -> Option<Entry> {
        let e = self.containers.remove(id)?;
        self.unindex(&e.rec.pod_uid, |p| {
            p.containers.remove(id);
        });
        Some(e)
    }

    fn unindex(&mut self, uid: &str, f: impl FnOnce(&mut PodIds)) {
        if let Some(p) = self.by_pod.get_mut(uid) {
            f(p);
            if p.sandboxes.is_empty() && p.containers.is_empty() {
                self.by_pod.remove(uid);
            }
        }
    }

    /// The sandboxes and containers of one pod, in ID order.
    fn of_pod(&self, uid: &str) -> (Vec<&SandboxRecord>, Vec<&Entry>) {
        let Some(p) = self.by_pod.get(uid) else {
            return (Vec::new(), Vec::new());
        };
        (
            p.sandboxes
                .iter()
                .filter_map(|id| self.sandboxes.get(id))
                .collect(),
            p.containers
                .iter()
                .filter_map(|id| self.containers.get(id))
                .collect(),
        )
    }
}

struct Inner {
    config: ProcessConfig,
    isolation: bool,
    isolation_message: String,
    net: Option<Network>,
    pod_net: Net,
    cgroups: Option<FsCgroups>,
    events: broadcast::Sender<RuntimeEvent>,
    cache: Mutex<Cache>,
    /// Watches on supervisors and pod inits, by container or sandbox ID.
    watches: Mutex<BTreeMap<String, AbortHandle>>,
}

/// The process runtime (see the module documentation). Dropping it stops its watches and
/// leaves every sandbox and container running.
pub struct ProcessRuntime {
    inner: Arc<Inner>,
}

impl Drop for ProcessRuntime {
    fn drop(&mut self) {
        for (_, h) in std::mem::take(&mut *self.inner.watches.lock()) {
            h.abort();
        }
    }
}

fn err_other(e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Other(e.to_string())
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

fn timestamp(nanos: i64) -> Timestamp {
    Timestamp::from_nanosecond(i128::from(nanos)).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn now_nanos() -> i64 {
    Timestamp::now().as_nanosecond() as i64
}

/// Opens a pidfd on `p` if it is still that process (a zombie counts).
fn pidfd_of(p: ProcRef) -> Option<OwnedFd> {
    let pid = rustix::process::Pid::from_raw(p.pid)?;
    let fd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok()?;
    // Checked after opening: the pidfd then surely refers to the process that was checked.
    procfs::is_same_process(p.pid, p.start).then_some(fd)
}

/// Waits until the process `p` has ended, at most `timeout`; whether it has.
async fn wait_gone(p: ProcRef, timeout: Duration) -> bool {
    let Some(fd) = pidfd_of(p) else { return true };
    let Ok(fd) = k4t_sys::Readable::new(fd) else {
        return !procfs::is_same_process(p.pid, p.start);
    };
    tokio::time::timeout(timeout, fd.readable()).await.is_ok()
}

/// Whether the process `p` is alive (not a zombie).
fn is_alive(p: ProcRef) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", p.pid)).unwrap_or_default();
    procfs::parse_start_time(&stat) == Some(p.start)
        && stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
}

/// Signals the process group `pid` leads; whether there was one.
fn signal_group(pid: i32, sig: rustix::process::Signal) -> bool {
    rustix::process::Pid::from_raw(pid)
        .is_some_and(|pid| rustix::process::kill_process_group(pid, sig).is_ok())
}

fn signal_process(pid: i32, sig: rustix::process::Signal) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid) {
        let _ = rustix::process::kill_process(pid, sig);
    }
}

impl ProcessRuntime {
    /// Opens the runtime over `config.state_dir`, sets up the node bridge (as root) and
    /// re-adopts the sandboxes and containers recorded there. Call it inside a tokio runtime.
    pub async fn new(config: ProcessConfig) -> Result<ProcessRuntime> {
        let pod_net: Net = config.pod_cidr.parse().map_err(RuntimeError::Other)?;
        for d in [
            state::sandboxes_dir(&config.state_dir),
            state::containers_dir(&config.state_dir),
        ] {
            std::fs::create_dir_all(&d)
                .map_err(|e| err_other(format!("creating {}: {e}", d.display())))?;
        }
        let (isolation, isolation_message) = if !config.isolate {
            (false, "isolation is turned off: pods share the host's network and run without namespaces or cgroups".to_owned())
        } else if !is_root() {
            (false, "k4t is not running as root: pods share the host's network and run without namespaces or cgroups".to_owned())
        } else {
            (true, String::new())
        };
        let (net, cgroups) = if isolation {
            let cgroups = FsCgroups::detect(&config.cgroup_parent)
                .map_err(|e| err_other(format!("finding the cgroup filesystems: {e}")))?;
            let host = HostNetwork::new(&config.bridge, pod_net)
                .map_err(|e| err_other(format!("opening a netlink socket: {e}")))?;
            let bridge_index = host.ensure_bridge().await.map_err(RuntimeError::Other)?;
            let ipam = Ipam::new(&config.state_dir.join("ipam"), pod_net)
                .map_err(|e| err_other(format!("opening the pod IP allocations: {e}")))?;
            (
                Some(Network {
                    host,
                    bridge_index,
                    ipam,
                }),
                Some(cgroups),
            )
        } else {
            (None, None)
        };
        let (events, _) = broadcast::channel(4096);
        let inner = Arc::new(Inner {
            config,
            isolation,
            isolation_message,
            net,
            pod_net,
            cgroups,
            events,
            cache: Mutex::new(Cache::default()),
            watches: Mutex::new(BTreeMap::new()),
        });
        inner.load()?;
        Ok(ProcessRuntime { inner })
    }

    /// The runtime's configuration.
    pub fn config(&self) -> &ProcessConfig {
        &self.inner.config
    }

    /// Removes what the runtime set up on the node rather than per pod: the bridge and the
    /// cgroup parent (for tests and uninstalling; pods must have been removed).
    pub async fn teardown_node(&self) -> Result<()> {
        if let Some(net) = &self.inner.net {
            net.host
                .delete_bridge()
                .await
                .map_err(RuntimeError::Other)?;
        }
        if let Some(cg) = &self.inner.cgroups {
            cg.remove_parent().map_err(err_other)?;
        }
        Ok(())
    }
}

impl Inner {
    fn sandbox_dir(&self, id: &str) -> PathBuf {
        state::sandboxes_dir(&self.config.state_dir).join(id)
    }

    fn container_dir(&self, id: &str) -> PathBuf {
        state::containers_dir(&self.config.state_dir).join(id)
    }

    /// Reads the state directory into the cache and watches what still runs.
    fn load(self: &Arc<Self>) -> Result<()> {
        let sdir = state::sandboxes_dir(&self.config.state_dir);
        let cdir = state::containers_dir(&self.config.state_dir);
        let mut sandboxes = BTreeMap::new();
        for id in state::list_ids(&sdir).map_err(err_other)? {
            match state::read_json::<SandboxRecord>(&sdir.join(&id).join(SANDBOX_FILE)) {
                Ok(Some(mut rec)) => {
                    // Its init never started (k4t died while creating it): no namespaces to
                    // join, so it can hold no container.
                    if rec.isolated && rec.init.is_none() {
                        rec.stopped = true;
                    }
                    sandboxes.insert(id, rec);
                }
                // A sandbox whose creation was interrupted: nothing of it is usable.
                Ok(None) => {
                    let _ = std::fs::remove_dir_all(sdir.join(&id));
                }
                Err(e) => {
                    tracing::warn!(sandbox = %id, error = %e, "skipping an unreadable sandbox record")
                }
            }
        }
        let mut containers = BTreeMap::new();
        for id in state::list_ids(&cdir).map_err(err_other)? {
            let dir = cdir.join(&id);
            let rec = match state::read_json::<ContainerRecord>(&dir.join(CONTAINER_FILE)) {
                Ok(Some(rec)) => rec,
                Ok(None) => {
                    let _ = std::fs::remove_dir_all(&dir);
                    continue;
                }
                Err(e) => {
                    tracing::warn!(container = %id, error = %e, "skipping an unreadable container record");
                    continue;
                }
            };
            let started = state::read_json::<Started>(&dir.join(STARTED_FILE))
                .ok()
                .flatten();
            let exited = state::read_json::<Exited>(&dir.join(EXITED_FILE))
                .ok()
                .flatten();
            containers.insert(
                id,
                Entry {
                    rec,
                    started,
                    exited,
                },
            );
        }
        let running: Vec<(String, ProcRef)> = containers
            .iter()
            .filter(|(_, e)| e.exited.is_none())
            .filter_map(|(id, e)| e.started.map(|s| (id.clone(), s.supervisor)))
            .collect();
        let ready: Vec<(String, ProcRef)> = sandboxes
            .iter()
            .filter(|(_, s)| !s.stopped)
            .filter_map(|(id, s)| s.init.map(|i| (id.clone(), i)))
            .collect();
        {
            let mut cache = self.cache.lock();
            cache.replace(sandboxes, containers);
        }
        for (id, sup) in running {
            self.watch_container(&id, sup);
        }
        for (id, init) in ready {
            self.watch_sandbox(&id, init);
        }
        Ok(())
    }

    /// Watches a container's supervisor: when it ends, the container has ended.
    fn watch_container(self: &Arc<Self>, id: &str, supervisor: ProcRef) {
        let weak = Arc::downgrade(self);
        let key = id.to_owned();
        let task = tokio::spawn(async move {
            wait_gone(supervisor, Duration::MAX).await;
            if let Some(inner) = Weak::upgrade(&weak) {
                inner.watches.lock().remove(&key);
                inner.container_ended(&key);
            }
        });
        self.watches
            .lock()
            .insert(id.to_owned(), task.abort_handle());
    }

    /// Watches a pod's init: when it ends, the sandbox is no longer ready.
    fn watch_sandbox(self: &Arc<Self>, id: &str, init: ProcRef) {
        let weak = Arc::downgrade(self);
        let key = id.to_owned();
        let task = tokio::spawn(async move {
            wait_gone(init, Duration::MAX).await;
            if let Some(inner) = Weak::upgrade(&weak) {
                inner.watches.lock().remove(&key);
                inner.sandbox_ended(&key);
            }
        });
        self.watches
            .lock()
            .insert(id.to_owned(), task.abort_handle());
    }

    /// The container's supervisor is gone: records its exit (the supervisor's, or an unknown
    /// one if it died without writing it) and emits `ContainerExited` once.
    fn container_ended(&self, id: &str) {
        let dir = self.container_dir(id);
        let exited = match state::read_json::<Exited>(&dir.join(EXITED_FILE)) {
            Ok(Some(e)) => e,
            _ => {
                let (started_at, process) = {
                    let cache = self.cache.lock();
                    let Some(e) = cache.containers.get(id) else {
                        return;
                    };
                    if e.exited.is_some() {
                        return;
                    }
                    (
                        e.started.map(|s| s.started_at),
                        e.started.map(|s| s.process),
                    )
                };
                // Without its supervisor nothing owns the process any more: end it.
                if let Some(p) = process.filter(|p| is_alive(*p)) {
                    self.kill_container_processes(id, p);
                }
                let e = Exited {
                    exit: Exit {
                        exit_code: 255,
                        signal: None,
                        reason: exit::REASON_ERROR.to_owned(),
                        message:
                            "the container's supervisor ended without recording its exit status"
                                .to_owned(),
                    },
                    started_at,
                    finished_at: now_nanos(),
                };
                if let Err(err) = state::write_json(&dir.join(EXITED_FILE), &e) {
                    tracing::warn!(container = %id, error = %err, "recording an unknown exit");
                }
                e
            }
        };
        let event = {
            let mut cache = self.cache.lock();
            let Some(e) = cache.containers.get_mut(id) else {
                return;
            };
            if e.exited.is_some() {
                return;
            }
            e.exited = Some(exited);
            RuntimeEvent::ContainerExited {
                id: id.to_owned(),
                pod_uid: e.rec.pod_uid.clone(),
            }
        };
        let _ = self.events.send(event);
    }

    fn sandbox_ended(&self, id: &str) {
        let event = {
            let mut cache = self.cache.lock();
            let Some(s) = cache.sandboxes.get_mut(id) else {
                return;
            };
            if s.stopped {
                return;
            }
            s.stopped = true;
            if let Err(e) = state::write_json(&self.sandbox_dir(id).join(SANDBOX_FILE), &*s) {
                tracing::warn!(sandbox = %id, error = %e, "recording a stopped sandbox");
            }
            RuntimeEvent::SandboxStopped {
                id: id.to_owned(),
                pod_uid: s.pod_uid.clone(),
            }
        };
        let _ = self.events.send(event);
    }

    /// SIGKILL to everything of a container: its cgroup, else its process group.
    fn kill_container_processes(&self, id: &str, process: ProcRef) {
        let cgroup = {
            let cache = self.cache.lock();
            cache
                .containers
                .get(id)
                .filter(|e| e.rec.isolated)
                .map(|e| e.rec.cgroup.clone())
        };
        if let Some(cg) = cgroup.filter(|c| !c.dirs.is_empty()) {
            let _ = cg.kill_all();
        }
        if procfs::is_same_process(process.pid, process.start) {
            let _ = signal_group(process.pid, rustix::process::Signal::KILL);
            signal_process(process.pid, rustix::process::Signal::KILL);
        }
    }

    /// Runs `shim_program shim_args... args...` to completion and returns its stdout.
    async fn run_shim(&self, args: &[OsString], timeout: Duration) -> Result<Vec<u8>, String> {
        let mut cmd = tokio::process::Command::new(&self.config.shim_program);
        cmd.args(&self.config.shim_args)
            .args(args)
            .env(SHIM_MALLOC_CONF.0, SHIM_MALLOC_CONF.1)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let out = tokio::time::timeout(timeout, cmd.output())
            .await
            .map_err(|_| {
                format!(
                    "the supervisor {} did not answer in {timeout:?}",
                    self.config.shim_program.display()
                )
            })?
            .map_err(|e| {
                format!(
                    "running the supervisor {}: {e}",
                    self.config.shim_program.display()
                )
            })?;
        if out.stdout.is_empty() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(format!(
                "the supervisor {} failed ({}): {}",
                self.config.shim_program.display(),
                out.status,
                stderr.trim()
            ));
        }
        Ok(out.stdout)
    }

    fn sandbox_status(&self, rec: &SandboxRecord) -> SandboxStatus {
        let mut labels = rec.labels.clone();
        labels
            .entry(labels::POD_UID.to_owned())
            .or_insert_with(|| rec.pod_uid.clone());
        labels
            .entry(labels::POD_NAME.to_owned())
            .or_insert_with(|| rec.pod_name.clone());
        labels
            .entry(labels::POD_NAMESPACE.to_owned())
            .or_insert_with(|| rec.namespace.clone());
        SandboxStatus {
            id: rec.id.clone(),
            state: if rec.stopped {
                SandboxState::NotReady
            } else {
                SandboxState::Ready
            },
            ip: rec.ip.map(IpAddr::V4),
            created_at: timestamp(rec.created_at),
            labels,
        }
    }

    async fn run_sandbox(self: &Arc<Self>, config: SandboxConfig) -> Result<SandboxStatus> {
        let id = state::new_id();
        let dir = self.sandbox_dir(&id);
        let mut rec = SandboxRecord {
            id: id.clone(),
            pod_uid: config.pod_uid.clone(),
            pod_name: config.pod_name.clone(),
            namespace: config.namespace.clone(),
            hostname: config.hostname.clone(),
            host_network: config.host_network || !self.isolation,
            share_process_namespace: config.share_process_namespace,
            log_directory: config.log_directory.clone(),
            labels: config.labels.clone(),
            created_at: now_nanos(),
            isolated: self.isolation,
            ip: None,
            host_veth: None,
            init: None,
            stopped: false,
        };
        let fail = |msg: String| RuntimeError::SandboxFailed(msg);
        std::fs::create_dir_all(&dir)
            .map_err(|e| fail(format!("creating {}: {e}", dir.display())))?;
        if let Err(e) = self.setup_sandbox(&mut rec, &dir).await {
            self.teardown_sandbox(&rec).await;
            if let (Some(net), Some(ip)) = (&self.net, rec.ip) {
                let _ = net.ipam.release(ip, &rec.id);
            }
            let _ = std::fs::remove_dir_all(&dir);
            return Err(fail(e));
        }
        let status = self.sandbox_status(&rec);
        let init = rec.init;
        self.cache.lock().insert_sandbox(id.clone(), rec);
        if let Some(init) = init {
            self.watch_sandbox(&id, init);
        }
        Ok(status)
    }

    /// Starts the pod's init in its new namespaces and connects its network.
    async fn setup_sandbox(&self, rec: &mut SandboxRecord, dir: &Path) -> Result<(), String> {
        state::write_json(&dir.join(SANDBOX_FILE), rec).map_err(|e| e.to_string())?;
        if !rec.isolated {
            return Ok(());
        }
        let out = self
            .run_shim(
                &["sandbox".into(), dir.as_os_str().to_owned()],
                Duration::from_secs(30),
            )
            .await?;
        let out = String::from_utf8_lossy(&out);
        let line = out.trim();
        let pid: i32 = match line.strip_prefix("ok ") {
            Some(pid) => pid
                .parse()
                .map_err(|_| format!("unexpected answer from the supervisor: {line:?}"))?,
            None => return Err(line.strip_prefix("error ").unwrap_or(line).to_owned()),
        };
        let start = procfs::start_time(pid)
            .ok_or_else(|| format!("the pod's init (pid {pid}) died at once"))?;
        rec.init = Some(ProcRef { pid, start });
        // Recorded before the network, so a crash in between leaves nothing unknown behind.
        state::write_json(&dir.join(SANDBOX_FILE), rec).map_err(|e| e.to_string())?;
        if !rec.host_network
            && let Some(net) = &self.net
        {
            let ip = net
                .ipam
                .allocate(&rec.id)
                .map_err(|e| format!("allocating a pod IP: {e}"))?;
            rec.ip = Some(ip);
            let veth = net::host_veth_name(&rec.id);
            rec.host_veth = Some(veth.clone());
            state::write_json(&dir.join(SANDBOX_FILE), rec).map_err(|e| e.to_string())?;
            net.host
                .attach(net.bridge_index, pid as u32, &veth, ip)
                .await?;
        }
        Ok(())
    }

    /// Kills the pod's init (and with it its PID namespace) and unplugs its network; keeps
    /// its IP allocated.
    async fn teardown_sandbox(&self, rec: &SandboxRecord) {
        if let Some(init) = rec.init {
            if procfs::is_same_process(init.pid, init.start) {
                signal_process(init.pid, rustix::process::Signal::KILL);
            }
            wait_gone(init, Duration::from_secs(10)).await;
        }
        if let (Some(net), Some(veth)) = (&self.net, &rec.host_veth)
            && let Err(e) = net.host.detach(veth).await
        {
            tracing::warn!(sandbox = %rec.id, error = %e, "removing the pod's veth");
        }
    }

    async fn stop_sandbox(&self, id: &str) -> Result<()> {
        let (rec, containers) = {
            let cache = self.cache.lock();
            let rec = cache
                .sandboxes
                .get(id)
                .cloned()
                .ok_or_else(|| RuntimeError::SandboxNotFound(id.to_owned()))?;
            let containers: Vec<String> = cache
                .containers
                .iter()
                .filter(|(_, e)| {
                    e.rec.sandbox_id == id && e.exited.is_none() && e.started.is_some()
                })
                .map(|(cid, _)| cid.clone())
                .collect();
            (rec, containers)
        };
        for cid in containers {
            self.stop_container(&cid, Duration::ZERO).await?;
        }
        self.teardown_sandbox(&rec).await;
        self.sandbox_ended(id);
        Ok(())
    }

    async fn remove_sandbox(&self, id: &str) -> Result<()> {
        if !self.cache.lock().sandboxes.contains_key(id) {
            return Err(RuntimeError::SandboxNotFound(id.to_owned()));
        }
        self.stop_sandbox(id).await?;
        let containers: Vec<String> = {
            let cache = self.cache.lock();
            cache
                .containers
                .iter()
                .filter(|(_, e)| e.rec.sandbox_id == id)
                .map(|(cid, _)| cid.clone())
                .collect()
        };
        for cid in containers {
            self.remove_container(&cid).await?;
        }
        let Some(rec) = self.cache.lock().remove_sandbox(id) else {
            return Ok(());
        };
        if let Some(h) = self.watches.lock().remove(id) {
            h.abort();
        }
        if let (Some(net), Some(ip)) = (&self.net, rec.ip)
            && let Err(e) = net.ipam.release(ip, id)
        {
            tracing::warn!(sandbox = %id, error = %e, "releasing the pod IP");
        }
        if let Some(cg) = &self.cgroups {
            // Another sandbox of the same pod may still hold the pod's cgroup.
            let still_used = self
                .cache
                .lock()
                .sandboxes
                .values()
                .any(|s| s.pod_uid == rec.pod_uid);
            if !still_used {
                let _ = cg.remove_pod(&rec.pod_uid);
            }
        }
        let dir = self.sandbox_dir(id);
        std::fs::remove_dir_all(&dir)
            .map_err(|e| err_other(format!("removing {}: {e}", dir.display())))?;
        Ok(())
    }

    fn create_container(&self, sandbox: &str, config: ContainerConfig) -> Result<ContainerId> {
        let sb = match self.cache.lock().sandboxes.get(sandbox) {
            Some(s) if !s.stopped => s.clone(),
            Some(_) => {
                return Err(RuntimeError::CreateFailed(format!(
                    "sandbox {sandbox} is not ready"
                )));
            }
            None => return Err(RuntimeError::SandboxNotFound(sandbox.to_owned())),
        };
        if config.argv.first().is_none_or(String::is_empty) {
            return Err(RuntimeError::CreateFailed(format!(
                "container {}: no command specified",
                config.name
            )));
        }
        let id = state::new_id();
        let dir = self.container_dir(&id);
        let fail = |msg: String| RuntimeError::CreateFailed(msg);
        std::fs::create_dir_all(&dir)
            .map_err(|e| fail(format!("creating {}: {e}", dir.display())))?;
        let result = (|| {
            std::fs::write(dir.join(shim::TERMINATION_LOG), b"").map_err(|e| {
                format!(
                    "creating the termination message file in {}: {e}",
                    dir.display()
                )
            })?;
            let cgroup = match (&self.cgroups, sb.isolated) {
                (Some(cg), true) => cg
                    .create(&sb.pod_uid, &id, &config.resources)
                    .map_err(|e| e.to_string())?,
                _ => CgroupPaths::default(),
            };
            let mut config = config;
            config.env = container_env(&config, &sb.hostname, sb.host_network);
            config
                .labels
                .entry(labels::POD_UID.to_owned())
                .or_insert_with(|| sb.pod_uid.clone());
            config
                .labels
                .entry(labels::CONTAINER_NAME.to_owned())
                .or_insert_with(|| config.name.clone());
            let own = sb.isolated && !sb.host_network;
            let rec = ContainerRecord {
                id: id.clone(),
                sandbox_id: sb.id.clone(),
                pod_uid: sb.pod_uid.clone(),
                config,
                created_at: now_nanos(),
                isolated: sb.isolated,
                sandbox_init: sb.init,
                join: JoinNamespaces {
                    net: own,
                    uts: own,
                    ipc: sb.isolated,
                    pid: sb.isolated && sb.share_process_namespace,
                },
                cgroup,
            };
            state::write_json(&dir.join(CONTAINER_FILE), &rec).map_err(|e| e.to_string())?;
            Ok::<_, String>(rec)
        })();
        match result {
            Ok(rec) => {
                self.cache.lock().insert_container(
                    id.clone(),
                    Entry {
                        rec,
                        started: None,
                        exited: None,
                    },
                );
                Ok(id)
            }
            Err(msg) => {
                if let Some(cg) = &self.cgroups {
                    let _ = cg.remove(&sb.pod_uid, &id);
                }
                let _ = std::fs::remove_dir_all(&dir);
                Err(fail(msg))
            }
        }
    }

    async fn start_container(self: &Arc<Self>, id: &str) -> Result<()> {
        let pod_uid = match self.cache.lock().containers.get(id) {
            Some(e) if e.started.is_none() && e.exited.is_none() => e.rec.pod_uid.clone(),
            Some(_) => {
                return Err(RuntimeError::StartFailed(format!(
                    "container {id} is not in the created state"
                )));
            }
            None => return Err(RuntimeError::ContainerNotFound(id.to_owned())),
        };
        let dir = self.container_dir(id);
        let answer = self
            .run_shim(
                &["start".into(), dir.as_os_str().to_owned()],
                Duration::from_secs(60),
            )
            .await;
        let started = state::read_json::<Started>(&dir.join(STARTED_FILE))
            .ok()
            .flatten();
        let exited = state::read_json::<Exited>(&dir.join(EXITED_FILE))
            .ok()
            .flatten();
        let failure = match &answer {
            Ok(out) => {
                let out = String::from_utf8_lossy(out);
                let line = out.lines().next().unwrap_or_default().trim().to_owned();
                match line.strip_prefix("error ") {
                    Some(msg) => Some(msg.to_owned()),
                    None if line.starts_with("ok") && started.is_some() => None,
                    None => Some(format!("unexpected answer from the supervisor: {line:?}")),
                }
            }
            Err(msg) => Some(msg.clone()),
        };
        if let Some(msg) = failure {
            let exited = exited.unwrap_or_else(|| Exited {
                exit: exit::start_error(msg.clone()),
                started_at: None,
                finished_at: now_nanos(),
            });
            if let Some(e) = self.cache.lock().containers.get_mut(id) {
                e.exited = Some(exited);
            }
            return Err(RuntimeError::StartFailed(msg));
        }
        let Some(started) = started else {
            return Err(RuntimeError::StartFailed(format!(
                "container {id}: no start recorded"
            )));
        };
        if let Some(e) = self.cache.lock().containers.get_mut(id) {
            e.started = Some(started);
        }
        let _ = self.events.send(RuntimeEvent::ContainerStarted {
            id: id.to_owned(),
            pod_uid,
        });
        self.watch_container(id, started.supervisor);
        Ok(())
    }

    async fn stop_container(&self, id: &str, grace: Duration) -> Result<()> {
        let started = {
            let cache = self.cache.lock();
            let e = cache
                .containers
                .get(id)
                .ok_or_else(|| RuntimeError::ContainerNotFound(id.to_owned()))?;
            if e.exited.is_some() {
                return Ok(());
            }
            match e.started {
                Some(s) => (s, e.rec.isolated),
                None => return Ok(()),
            }
        };
        let (started, isolated) = started;
        let p = started.process;
        if !grace.is_zero() && procfs::is_same_process(p.pid, p.start) {
            // Once: some programs take a second SIGTERM as "quit now". In its own PID
            // namespace only the entrypoint is told, as a container runtime does: it is PID 1
            // there and decides what its children get (a shell that ignores SIGTERM is ended
            // by the SIGKILL after the grace period). Without one, the process group is the
            // closest thing to "the container".
            if isolated || !signal_group(p.pid, rustix::process::Signal::TERM) {
                signal_process(p.pid, rustix::process::Signal::TERM);
            }
            wait_gone(started.supervisor, grace).await;
        }
        let mut gone = false;
        for _ in 0..10 {
            if is_alive(started.supervisor) {
                self.kill_container_processes(id, p);
            }
            if wait_gone(started.supervisor, Duration::from_secs(1)).await {
                gone = true;
                break;
            }
        }
        if !gone {
            return Err(err_other(format!(
                "container {id} did not stop: its supervisor (pid {}) still runs",
                started.supervisor.pid
            )));
        }
        self.container_ended(id);
        Ok(())
    }

    async fn remove_container(&self, id: &str) -> Result<()> {
        let e = {
            let cache = self.cache.lock();
            cache
                .containers
                .get(id)
                .cloned()
                .ok_or_else(|| RuntimeError::ContainerNotFound(id.to_owned()))?
        };
        if e.started.is_some() && e.exited.is_none() {
            return Err(err_other(format!(
                "container {id} is running: stop it first"
            )));
        }
        if let Some(h) = self.watches.lock().remove(id) {
            h.abort();
        }
        if let Some(cg) = self.cgroups.as_ref().filter(|_| e.rec.isolated)
            && let Err(err) = cg.remove(&e.rec.pod_uid, id)
        {
            tracing::warn!(container = %id, error = %err, "removing the container's cgroup");
        }
        let dir = self.container_dir(id);
        std::fs::remove_dir_all(&dir)
            .map_err(|err| err_other(format!("removing {}: {err}", dir.display())))?;
        self.cache.lock().remove_container(id);
        Ok(())
    }

    fn container_status(e: &Entry) -> ContainerStatus {
        let state = match (&e.started, &e.exited) {
            (_, Some(_)) => ContainerState::Exited,
            (Some(_), None) => ContainerState::Running,
            (None, None) => ContainerState::Created,
        };
        let started_at = e
            .exited
            .as_ref()
            .and_then(|x| x.started_at)
            .or(e.started.map(|s| s.started_at));
        let c = &e.rec.config;
        ContainerStatus {
            id: e.rec.id.clone(),
            sandbox_id: e.rec.sandbox_id.clone(),
            name: c.name.clone(),
            attempt: c.attempt,
            image: c.image.clone(),
            state,
            created_at: timestamp(e.rec.created_at),
            started_at: started_at.map(timestamp),
            finished_at: e.exited.as_ref().map(|x| timestamp(x.finished_at)),
            exit_code: e.exited.as_ref().map(|x| x.exit.exit_code),
            signal: e.exited.as_ref().and_then(|x| x.exit.signal),
            reason: e
                .exited
                .as_ref()
                .map(|x| x.exit.reason.clone())
                .unwrap_or_default(),
            message: e
                .exited
                .as_ref()
                .map(|x| x.exit.message.clone())
                .unwrap_or_default(),
            log_path: c.log_path.clone(),
            labels: c.labels.clone(),
        }
    }

    /// Checks that `id` runs and `argv` names a command; returns whether it has a terminal.
    fn exec_target(&self, id: &str, argv: &[String]) -> Result<bool> {
        let tty = match self.cache.lock().containers.get(id) {
            Some(e) if e.started.is_some() && e.exited.is_none() => e.rec.config.tty,
            Some(_) => return Err(err_other(format!("container {id} is not running"))),
            None => return Err(RuntimeError::ContainerNotFound(id.to_owned())),
        };
        if argv.first().is_none_or(String::is_empty) {
            return Err(RuntimeError::StartFailed(
                "exec: no command specified".to_owned(),
            ));
        }
        Ok(tty)
    }

    async fn exec_sync(
        &self,
        id: &str,
        argv: Vec<String>,
        timeout: Duration,
    ) -> Result<ExecResult> {
        self.exec_target(id, &argv)?;
        let ms = u64::try_from(timeout.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut args: Vec<OsString> = vec![
            "exec".into(),
            self.container_dir(id).into_os_string(),
            ms.to_string().into(),
        ];
        args.extend(argv.iter().map(OsString::from));
        // The supervisor enforces the timeout; this one only catches a supervisor that hangs.
        let out = self
            .run_shim(&args, timeout.saturating_add(Duration::from_secs(10)))
            .await
            .map_err(RuntimeError::Other)?;
        match shim::ExecOutput::decode(&out) {
            Ok(o) => Ok(ExecResult {
                exit_code: o.exit_code,
                stdout: o.stdout,
                stderr: o.stderr,
                timed_out: o.timed_out,
            }),
            Err(msg) if msg.starts_with("exec: ") => Err(RuntimeError::StartFailed(msg)),
            Err(msg) => Err(RuntimeError::Other(msg)),
        }
    }
}

impl Inner {
    async fn exec(
        &self,
        id: &str,
        argv: Vec<String>,
        stdin: bool,
        tty: bool,
    ) -> Result<crate::ExecSession> {
        self.exec_target(id, &argv)?;
        let dir = self.container_dir(id);
        let status = dir.join(format!("exec-{}.status", rand::random::<u64>()));
        let mut cmd = tokio::process::Command::new(&self.config.shim_program);
        cmd.args(&self.config.shim_args)
            .arg("exec-stream")
            .arg(&dir)
            .arg(&status)
            .arg(if tty { "1" } else { "0" })
            .args(&argv)
            .env(SHIM_MALLOC_CONF.0, SHIM_MALLOC_CONF.1)
            .kill_on_drop(true);
        let spawn_err = |e: std::io::Error| {
            err_other(format!(
                "running the supervisor {}: {e}",
                self.config.shim_program.display()
            ))
        };
        struct Streams {
            stdin: Option<crate::StreamWriter>,
            stdout: crate::StreamReader,
            stderr: Option<crate::StreamReader>,
            terminal: Option<Box<dyn crate::TerminalSize>>,
        }
        let session_io: Streams;
        let child = if tty {
            let (master, slave) = shim::open_pty().map_err(|e| {
                err_other(format!("allocating a terminal for an exec in {id}: {e}"))
            })?;
            let dup = |fd: &OwnedFd| fd.try_clone().map_err(spawn_err);
            cmd.stdin(Stdio::from(dup(&slave)?))
                .stdout(Stdio::from(dup(&slave)?))
                .stderr(Stdio::from(slave));
            let child = cmd.spawn().map_err(spawn_err)?;
            // The terminal's other side now lives only in the command: its exit ends the
            // output.
            drop(cmd);
            let master = stream::PtyMaster::new(master).map_err(spawn_err)?;
            session_io = Streams {
                stdin: stdin.then(|| Box::new(master.clone()) as _),
                stdout: Box::new(master.clone()),
                stderr: None,
                terminal: Some(Box::new(master)),
            };
            child
        } else {
            cmd.stdin(if stdin { Stdio::piped() } else { Stdio::null() })
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = cmd.spawn().map_err(spawn_err)?;
            drop(cmd);
            let out = child
                .stdout
                .take()
                .ok_or_else(|| err_other("no stdout pipe"))?;
            let err = child
                .stderr
                .take()
                .ok_or_else(|| err_other("no stderr pipe"))?;
            session_io = Streams {
                stdin: child.stdin.take().map(|w| Box::new(w) as _),
                stdout: Box::new(out),
                stderr: Some(Box::new(err)),
                terminal: None,
            };
            child
        };
        let exit = async move {
            let mut child = child;
            let waited = child.wait().await;
            let recorded = stream::read_stream_status(&status);
            let _ = std::fs::remove_file(&status);
            match (recorded, waited) {
                (Some(shim::StreamStatus::Exited(code)), _) => Ok(code),
                (Some(shim::StreamStatus::StartFailed(msg)), _) if msg.starts_with("exec: ") => {
                    Err(RuntimeError::StartFailed(msg))
                }
                (Some(shim::StreamStatus::StartFailed(msg)), _) => Err(RuntimeError::Other(msg)),
                (None, Ok(st)) => Err(err_other(format!(
                    "the exec supervisor ended ({st}) without recording an exit"
                ))),
                (None, Err(e)) => Err(err_other(format!("waiting for the exec supervisor: {e}"))),
            }
        }
        .boxed();
        Ok(crate::ExecSession {
            stdin: session_io.stdin,
            stdout: session_io.stdout,
            stderr: session_io.stderr,
            terminal: session_io.terminal,
            exit,
        })
    }

    async fn attach(&self, id: &str) -> Result<crate::ExecSession> {
        // Attaching needs no command: any non-empty argv passes the check.
        let tty = self.exec_target(id, &["attach".to_owned()])?;
        stream::attach(&self.container_dir(id), tty)
            .await
            .map_err(|e| err_other(format!("attaching to container {id}: {e}")))
    }

    async fn port_forward(
        &self,
        sandbox: &str,
        port: u16,
    ) -> std::io::Result<tokio::net::TcpStream> {
        let netns = {
            let cache = self.cache.lock();
            let rec = cache.sandboxes.get(sandbox).ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("sandbox {sandbox} not found"),
                )
            })?;
            if rec.stopped {
                return Err(std::io::Error::other(format!(
                    "sandbox {sandbox} is not running"
                )));
            }
            match rec.init {
                Some(init) if rec.isolated && !rec.host_network => {
                    if !is_alive(init) {
                        return Err(std::io::Error::other(format!(
                            "sandbox {sandbox} is not running"
                        )));
                    }
                    Some(PathBuf::from(format!("/proc/{}/ns/net", init.pid)))
                }
                _ => None,
            }
        };
        stream::dial_in_netns(netns.as_deref(), port, Duration::from_secs(10))
            .await
            .map_err(|e| match &netns {
                Some(ns) => std::io::Error::new(
                    e.kind(),
                    format!(
                        "failed to connect to localhost:{port} inside namespace \"{}\": {e}",
                        ns.display()
                    ),
                ),
                None => e,
            })
    }
}

/// The container's environment: the defaults a container runtime adds (as containerd and
/// runc do from the image and the sandbox: `PATH`, `HOSTNAME`, `HOME`) unless set, then the
/// configured variables in order.
fn container_env(
    config: &ContainerConfig,
    hostname: &str,
    host_network: bool,
) -> Vec<(String, String)> {
    let has = |k: &str| config.env.iter().any(|(n, _)| n == k);
    let mut env = Vec::new();
    if !has("PATH") {
        env.push(("PATH".to_owned(), procfs::DEFAULT_PATH.to_owned()));
    }
    if !has("HOSTNAME") {
        let name = if host_network {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|s| s.trim().to_owned())
                .unwrap_or_default()
        } else {
            hostname.to_owned()
        };
        if !name.is_empty() {
            env.push(("HOSTNAME".to_owned(), name));
        }
    }
    if !has("HOME") {
        let uid = config.run_as_user.unwrap_or(0);
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        env.push(("HOME".to_owned(), procfs::home_dir(&passwd, uid)));
    }
    env.extend(config.env.iter().cloned());
    env
}

impl Runtime for ProcessRuntime {
    fn info(&self) -> RuntimeInfo {
        RuntimeInfo {
            name: "process".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            isolation: self.inner.isolation,
            isolation_message: self.inner.isolation_message.clone(),
            node_pod_ip: self
                .inner
                .net
                .as_ref()
                .map(|_| IpAddr::V4(self.inner.pod_net.gateway())),
        }
    }

    fn run_sandbox(&self, config: &SandboxConfig) -> BoxFuture<'_, Result<SandboxStatus>> {
        let config = config.clone();
        async move { self.inner.run_sandbox(config).await }.boxed()
    }

    fn stop_sandbox(&self, id: &str) -> BoxFuture<'_, Result<()>> {
        let id = id.to_owned();
        async move { self.inner.stop_sandbox(&id).await }.boxed()
    }

    fn remove_sandbox(&self, id: &str) -> BoxFuture<'_, Result<()>> {
        let id = id.to_owned();
        async move { self.inner.remove_sandbox(&id).await }.boxed()
    }

    fn list_sandboxes(&self) -> BoxFuture<'_, Result<Vec<SandboxStatus>>> {
        async move {
            let cache = self.inner.cache.lock();
            Ok(cache
                .sandboxes
                .values()
                .map(|s| self.inner.sandbox_status(s))
                .collect())
        }
        .boxed()
    }

    fn list_pod(&self, pod_uid: &str) -> BoxFuture<'_, Result<PodListing>> {
        let uid = pod_uid.to_owned();
        async move {
            let cache = self.inner.cache.lock();
            let (sandboxes, containers) = cache.of_pod(&uid);
            Ok(PodListing {
                sandboxes: sandboxes
                    .into_iter()
                    .map(|s| self.inner.sandbox_status(s))
                    .collect(),
                containers: containers
                    .into_iter()
                    .map(Inner::container_status)
                    .collect(),
            })
        }
        .boxed()
    }

    fn create_container(
        &self,
        sandbox: &str,
        config: &ContainerConfig,
    ) -> BoxFuture<'_, Result<ContainerId>> {
        let sandbox = sandbox.to_owned();
        let config = config.clone();
        async move { self.inner.create_container(&sandbox, config) }.boxed()
    }

    fn start_container(&self, id: &str) -> BoxFuture<'_, Result<()>> {
        let id = id.to_owned();
        async move { self.inner.start_container(&id).await }.boxed()
    }

    fn stop_container(&self, id: &str, grace: Duration) -> BoxFuture<'_, Result<()>> {
        let id = id.to_owned();
        async move { self.inner.stop_container(&id, grace).await }.boxed()
    }

    fn remove_container(&self, id: &str) -> BoxFuture<'_, Result<()>> {
        let id = id.to_owned();
        async move { self.inner.remove_container(&id).await }.boxed()
    }

    fn list_containers(&self) -> BoxFuture<'_, Result<Vec<ContainerStatus>>> {
        async move {
            let cache = self.inner.cache.lock();
            Ok(cache
                .containers
                .values()
                .map(Inner::container_status)
                .collect())
        }
        .boxed()
    }

    fn container_status(&self, id: &str) -> BoxFuture<'_, Result<ContainerStatus>> {
        let id = id.to_owned();
        async move {
            let cache = self.inner.cache.lock();
            cache
                .containers
                .get(&id)
                .map(Inner::container_status)
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
        async move { self.inner.exec_sync(&id, argv, timeout).await }.boxed()
    }

    fn exec(
        &self,
        id: &str,
        argv: &[String],
        stdin: bool,
        tty: bool,
    ) -> BoxFuture<'_, Result<crate::ExecSession>> {
        let id = id.to_owned();
        let argv = argv.to_vec();
        async move { self.inner.exec(&id, argv, stdin, tty).await }.boxed()
    }

    fn attach(&self, id: &str) -> BoxFuture<'_, Result<crate::ExecSession>> {
        let id = id.to_owned();
        async move { self.inner.attach(&id).await }.boxed()
    }

    fn port_forward(
        &self,
        sandbox: &str,
        port: u16,
    ) -> BoxFuture<'_, std::io::Result<tokio::net::TcpStream>> {
        let id = sandbox.to_owned();
        async move { self.inner.port_forward(&id, port).await }.boxed()
    }

    fn subscribe(&self) -> broadcast::Receiver<RuntimeEvent> {
        self.inner.events.subscribe()
    }
}

#[cfg(test)]
mod tests;
