//! The pod workers: one task per pod bound to the node. A sync reads the runtime's state,
//! asks [`actions::compute`] what to do, does it (sandbox, volumes, kills with preStop and
//! grace, starts behind the crash-loop backoff, postStart), computes the status with
//! [`status::pod_status`] and patches it when it changed. A pod with a deletionTimestamp is
//! terminated gracefully and then removed from the API; a pod gone from the API is cleaned
//! off the node.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use k4t_api::clock::Clock;
use k4t_runtime::{
    ContainerConfig, ContainerState, ContainerStatus, Runtime, SandboxConfig, SandboxState,
    SandboxStatus, labels,
};
use k8s_openapi::api::core::v1::{ConfigMap, Container, LifecycleHandler, Pod, PodStatus, Secret};
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, Preconditions};
use serde_json::Value;
use tokio::sync::{Notify, watch};

use crate::actions::{self, KillReason};
use crate::backoff::{self, Backoff, Decision};
use crate::containerspec;
use crate::events::{EventSink, EventType};
use crate::pleg::RuntimeCache;
use crate::probe::{Kind, Observed, Outcome, PodObserved};
use crate::prober::{self, PodProbes};
use crate::status::{self, PodView, Terminal, Waiting};
use crate::volumes;

/// What every pod worker shares.
pub struct Shared {
    pub client: kube::Client,
    pub runtime: Arc<dyn Runtime>,
    pub cache: RuntimeCache,
    pub events: EventSink,
    pub probe_ctx: prober::Context,
    pub clock: Arc<dyn Clock>,
    pub node_name: String,
    pub root_dir: PathBuf,
    pub host_ip: Option<IpAddr>,
    pub allocatable: BTreeMap<String, String>,
    pub backoff: parking_lot::Mutex<Backoff>,
    /// The program `image: k4t/demo` runs (the k4t binary).
    pub self_exe: PathBuf,
    /// How often a pod is synced when nothing happens.
    pub resync: Duration,
    /// The most a clean agent stop gives each pod.
    pub shutdown_grace: Duration,
    pub log_rotation: k4t_runtime::LogRotation,
}

impl Shared {
    pub fn pod_dir(&self, uid: &str) -> PathBuf {
        self.root_dir.join("pods").join(uid)
    }
}

/// How a worker ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The agent stops and leaves the pod running (it is re-adopted at the next start).
    Leave,
    /// The agent stops and stops the pod's containers first.
    StopPod,
}

enum Flow {
    Again(Duration),
    Done,
}

/// One pod's worker.
pub struct PodWorker {
    shared: Arc<Shared>,
    uid: String,
    pod_rx: watch::Receiver<Option<Arc<Pod>>>,
    stop_rx: watch::Receiver<Option<Stop>>,
    last_pod: Option<Arc<Pod>>,
    wake: Arc<Notify>,
    probes: Arc<PodProbes>,
    waiting: BTreeMap<String, Waiting>,
    /// The status last computed (a patch is sent when the next one differs).
    computed: Option<PodStatus>,
    /// The status the API holds, as the last patch returned it (the base of the next diff).
    server: Option<PodStatus>,
    terminal: Option<Terminal>,
}

impl PodWorker {
    pub fn new(
        shared: Arc<Shared>,
        uid: String,
        pod_rx: watch::Receiver<Option<Arc<Pod>>>,
        stop_rx: watch::Receiver<Option<Stop>>,
        wake: Arc<Notify>,
    ) -> Self {
        let probes = PodProbes::new(wake.clone());
        Self {
            shared,
            uid,
            pod_rx,
            stop_rx,
            last_pod: None,
            wake,
            probes,
            waiting: BTreeMap::new(),
            computed: None,
            server: None,
            terminal: None,
        }
    }

    /// Runs until the pod is gone from the node, or the agent stops.
    pub async fn run(mut self) {
        loop {
            let stop = *self.stop_rx.borrow();
            if let Some(stop) = stop {
                if stop == Stop::StopPod {
                    Box::pin(self.stop_for_shutdown()).await;
                }
                return;
            }
            // Boxed: a sync's state lives only while it runs, and the worker that waits
            // between syncs (one per pod, for the pod's life) stays small.
            let flow = match Box::pin(self.sync()).await {
                Ok(f) => f,
                Err(e) => {
                    tracing::warn!(pod = %self.name(), error = %e, "pod sync failed");
                    Flow::Again(Duration::from_secs(2))
                }
            };
            let wait = match flow {
                Flow::Done => return,
                Flow::Again(d) => d,
            };
            tokio::select! {
                r = self.pod_rx.changed() => {
                    if r.is_err() {
                        return;
                    }
                }
                _ = self.wake.notified() => {}
                _ = self.stop_rx.changed() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    fn name(&self) -> String {
        self.last_pod
            .as_ref()
            .map(|p| {
                format!(
                    "{}/{}",
                    p.metadata.namespace.as_deref().unwrap_or_default(),
                    p.metadata.name.as_deref().unwrap_or_default()
                )
            })
            .unwrap_or_else(|| self.uid.clone())
    }

    async fn sync(&mut self) -> SyncResult<Flow> {
        let pod = self.pod_rx.borrow_and_update().clone();
        let Some(pod) = pod else {
            self.cleanup().await?;
            return Ok(Flow::Done);
        };
        if self.server.is_none() {
            self.server = pod.status.clone();
        }
        self.last_pod = Some(pod.clone());
        self.probes.start(&self.shared.probe_ctx, &pod);
        let (sandboxes, containers) = self.shared.cache.pod(&self.uid).await?;

        if pod.metadata.deletion_timestamp.is_some() {
            return self.terminate(&pod, &sandboxes, &containers).await;
        }
        let old_phase = self
            .computed
            .as_ref()
            .or(pod.status.as_ref())
            .and_then(|s| s.phase.clone());
        if self.terminal.is_none()
            && let Some(phase @ ("Succeeded" | "Failed")) = old_phase.as_deref()
        {
            // Terminal phases are sticky: nothing runs again.
            self.terminal = Some(Terminal {
                phase: phase.to_owned(),
                reason: pod
                    .status
                    .as_ref()
                    .and_then(|s| s.reason.clone())
                    .unwrap_or_default(),
                message: pod
                    .status
                    .as_ref()
                    .and_then(|s| s.message.clone())
                    .unwrap_or_default(),
            });
        }
        if self.terminal.is_none()
            && let Some(deadline) = self.deadline_exceeded(&pod)
        {
            self.shared.events.pod(
                &pod,
                EventType::Warning,
                "DeadlineExceeded",
                deadline.message.clone(),
            );
            self.terminal = Some(deadline);
        }
        if self.terminal.is_some() {
            self.kill_all(&pod, &containers, None).await;
            self.stop_sandboxes(&sandboxes).await;
            self.update_status(&pod).await?;
            return Ok(Flow::Again(self.shared.resync.max(Duration::from_secs(60))));
        }

        let liveness: BTreeMap<(String, Kind), Outcome> = self
            .probes
            .results()
            .into_iter()
            .filter(|((_, k), _)| matches!(k, Kind::Liveness | Kind::Startup))
            .collect();
        let plan = actions::compute(&pod, &sandboxes, &containers, &liveness);
        // What the runtime shows now is published before anything is changed, as the
        // kubelet's SyncPod does: a container that exited is seen terminated (`Error`,
        // `Completed`) before it is started again, also when it restarts at once.
        self.update_status(&pod).await?;
        let mut requeue = self.shared.resync;
        if plan.kill_pod {
            self.kill_all(&pod, &containers, None).await;
            self.stop_sandboxes(&sandboxes).await;
        }
        if plan.sandbox_changed {
            self.shared.events.pod(
                &pod,
                EventType::Normal,
                "SandboxChanged",
                "Pod sandbox changed, it will be killed and re-created.",
            );
        }
        let sandbox = if plan.create_sandbox {
            match self.create_sandbox(&pod, sandboxes.len()).await {
                Ok(s) => Some(s),
                Err(e) => {
                    self.shared.events.pod(
                        &pod,
                        EventType::Warning,
                        "FailedCreatePodSandBox",
                        format!("Failed to create pod sandbox: {e}"),
                    );
                    requeue = Duration::from_secs(5);
                    None
                }
            }
        } else {
            sandboxes
                .first()
                .filter(|s| s.state == SandboxState::Ready)
                .cloned()
        };
        for k in &plan.kill {
            let c = find_container(&pod, &k.name);
            self.kill_container(
                &pod,
                &k.id,
                &k.name,
                c.1,
                Some(k.message.clone()),
                Some(k.reason),
                None,
            )
            .await;
        }
        if let Some(sandbox) = sandbox {
            let spec = pod.spec.clone().unwrap_or_default();
            let lookup = fetch_lookup(&self.shared.client, &pod).await;
            let mut starts: Vec<(Container, bool)> = Vec::new();
            if let Some(i) = plan.start_init
                && let Some(c) = spec.init_containers.as_ref().and_then(|v| v.get(i))
            {
                starts.push((c.clone(), true));
            }
            for &i in &plan.start {
                if let Some(c) = spec.containers.get(i) {
                    starts.push((c.clone(), false));
                }
            }
            for (c, is_init) in starts {
                if let Some(wait) = self
                    .start_container(&pod, &c, is_init, &sandbox, &containers, &lookup)
                    .await
                {
                    requeue = requeue.min(wait);
                }
            }
        }
        self.gc(&containers).await;
        self.update_status(&pod).await?;
        Ok(Flow::Again(requeue))
    }

    fn deadline_exceeded(&self, pod: &Pod) -> Option<Terminal> {
        let ads = pod.spec.as_ref()?.active_deadline_seconds?;
        let start = self
            .computed
            .as_ref()
            .or(pod.status.as_ref())
            .and_then(|s| s.start_time.as_ref())?
            .0;
        let now = self.shared.clock.now();
        (now.duration_since(start).as_secs() >= ads).then(|| Terminal {
            phase: "Failed".into(),
            reason: "DeadlineExceeded".into(),
            message: "Pod was active on the node longer than the specified deadline".into(),
        })
    }

    async fn create_sandbox(&mut self, pod: &Pod, attempt: usize) -> Result<SandboxStatus, String> {
        let dir = self.shared.pod_dir(&self.uid);
        let rt = self.facts(None);
        let lookup = fetch_lookup(&self.shared.client, pod).await;
        volumes::prepare(pod, &dir, &rt, &lookup).map_err(|e| e.to_string())?;
        let meta = &pod.metadata;
        let name = meta.name.clone().unwrap_or_default();
        let namespace = meta.namespace.clone().unwrap_or_default();
        let spec = pod.spec.as_ref();
        let hostname = spec
            .and_then(|s| s.hostname.clone())
            .unwrap_or_else(|| name.clone());
        let mut labels = BTreeMap::new();
        labels.insert(labels::POD_UID.to_owned(), self.uid.clone());
        labels.insert(labels::POD_NAME.to_owned(), name.clone());
        labels.insert(labels::POD_NAMESPACE.to_owned(), namespace.clone());
        labels.insert("io.k4t.sandbox.attempt".to_owned(), attempt.to_string());
        let config = SandboxConfig {
            pod_uid: self.uid.clone(),
            pod_name: name,
            namespace,
            hostname,
            host_network: spec.and_then(|s| s.host_network).unwrap_or(false),
            share_process_namespace: spec
                .and_then(|s| s.share_process_namespace)
                .unwrap_or(false),
            log_directory: dir.join("logs"),
            labels,
        };
        let sb = self
            .shared
            .runtime
            .run_sandbox(&config)
            .await
            .map_err(|e| e.to_string())?;
        // Init containers run again in a new sandbox: forget why they waited before.
        self.waiting.clear();
        Ok(sb)
    }

    /// The facts field references read: IPs and node name.
    fn facts(&self, sandbox: Option<&SandboxStatus>) -> containerspec::Runtime {
        let host_ip = self
            .shared
            .host_ip
            .map(|i| i.to_string())
            .unwrap_or_default();
        let pod_ip = sandbox
            .and_then(|s| s.ip)
            .map(|i| i.to_string())
            .unwrap_or_else(|| host_ip.clone());
        containerspec::Runtime {
            host_ip,
            pod_ips: vec![pod_ip.clone()],
            pod_ip,
            node_name: self.shared.node_name.clone(),
        }
    }

    /// Starts one container unless its backoff says wait. Returns how long to wait before the
    /// next attempt when it did not start.
    async fn start_container(
        &mut self,
        pod: &Pod,
        c: &Container,
        is_init: bool,
        sandbox: &SandboxStatus,
        instances: &[ContainerStatus],
        lookup: &MapLookup,
    ) -> Option<Duration> {
        let meta = &pod.metadata;
        let (pod_name, ns) = (
            meta.name.clone().unwrap_or_default(),
            meta.namespace.clone().unwrap_or_default(),
        );
        let hash = actions::spec_hash(c);
        let events = self.shared.events.clone();
        let event = |t: EventType, reason: &str, msg: String| {
            events.container(pod, &c.name, is_init, t, reason, msg);
        };
        if let Some(prev) = actions::latest_exited(instances, &c.name) {
            let key = backoff::Key::new(&pod_name, &ns, &self.uid, &c.name, &hash);
            let finished = prev.finished_at.unwrap_or(prev.created_at);
            let now = self.shared.clock.now();
            let decision = self.shared.backoff.lock().decide(&key, finished, now);
            if let Decision::Wait { backoff, remaining } = decision {
                event(
                    EventType::Warning,
                    "BackOff",
                    format!(
                        "Back-off restarting failed container {} in pod {pod_name}_{ns}({})",
                        c.name, self.uid
                    ),
                );
                self.waiting.insert(
                    c.name.clone(),
                    Waiting {
                        reason: "CrashLoopBackOff".into(),
                        message: format!(
                            "back-off {} restarting failed container={} pod={pod_name}_{ns}({})",
                            backoff::go_duration(backoff),
                            c.name,
                            self.uid
                        ),
                    },
                );
                return Some(remaining);
            }
        }
        let fail = |this: &mut Self, reason: &str, message: String| {
            event(EventType::Warning, "Failed", format!("Error: {message}"));
            this.waiting.insert(
                c.name.clone(),
                Waiting {
                    reason: reason.into(),
                    message,
                },
            );
            Some(Duration::from_secs(10))
        };
        let facts = self.facts(Some(sandbox));
        let (env, _skipped) =
            match containerspec::environment(pod, c, &facts, lookup, &self.shared.allocatable) {
                Ok(e) => e,
                Err(e) => return fail(self, "CreateContainerConfigError", e.to_string()),
            };
        let argv = match self.argv(c, &env) {
            Ok(a) => a,
            Err(e) => return fail(self, "CreateContainerConfigError", e),
        };
        let dir = self.shared.pod_dir(&self.uid);
        let mounts = match volumes::container_mounts(pod, c, &dir) {
            Ok(m) => m,
            Err(e) => return fail(self, "CreateContainerConfigError", e.to_string()),
        };
        let attempt = actions::next_attempt(instances, &c.name);
        let image = c.image.clone().unwrap_or_default();
        event(
            EventType::Normal,
            "Pulled",
            format!("Container image {image:?} already present on machine"),
        );
        let mut labels = BTreeMap::new();
        labels.insert(labels::POD_UID.to_owned(), self.uid.clone());
        labels.insert(labels::POD_NAME.to_owned(), pod_name.clone());
        labels.insert(labels::POD_NAMESPACE.to_owned(), ns.clone());
        labels.insert(labels::CONTAINER_NAME.to_owned(), c.name.clone());
        labels.insert(labels::CONTAINER_HASH.to_owned(), hash);
        labels.insert(labels::RESTART_COUNT.to_owned(), attempt.to_string());
        labels.insert(
            labels::CONTAINER_KIND.to_owned(),
            if is_init { "init" } else { "regular" }.to_owned(),
        );
        let sc = c.security_context.as_ref();
        let psc = pod.spec.as_ref().and_then(|s| s.security_context.as_ref());
        let config = ContainerConfig {
            name: c.name.clone(),
            attempt,
            image,
            argv,
            env,
            working_dir: c.working_dir.clone().filter(|w| !w.is_empty()),
            run_as_user: sc
                .and_then(|s| s.run_as_user)
                .or(psc.and_then(|s| s.run_as_user))
                .and_then(|u| u32::try_from(u).ok()),
            run_as_group: sc
                .and_then(|s| s.run_as_group)
                .or(psc.and_then(|s| s.run_as_group))
                .and_then(|g| u32::try_from(g).ok()),
            mounts,
            resources: resources(c),
            stdin: c.stdin.unwrap_or(false),
            stdin_once: c.stdin_once.unwrap_or(false),
            tty: c.tty.unwrap_or(false),
            log_path: dir
                .join("logs")
                .join(&c.name)
                .join(format!("{attempt}.log")),
            log_rotation: self.shared.log_rotation,
            termination_message_path: Some(
                c.termination_message_path
                    .clone()
                    .unwrap_or_else(|| "/dev/termination-log".into()),
            ),
            labels,
        };
        let id = match self
            .shared
            .runtime
            .create_container(&sandbox.id, &config)
            .await
        {
            Ok(id) => id,
            Err(e) => return fail(self, "CreateContainerError", e.to_string()),
        };
        event(
            EventType::Normal,
            "Created",
            format!("Created container: {}", c.name),
        );
        if let Err(e) = self.shared.runtime.start_container(&id).await {
            return fail(self, "RunContainerError", e.to_string());
        }
        event(
            EventType::Normal,
            "Started",
            format!("Started container {}", c.name),
        );
        self.waiting.remove(&c.name);
        if let Some(hook) = c.lifecycle.as_ref().and_then(|l| l.post_start.as_ref())
            && let Err(e) = self.run_hook(hook, c, &id, sandbox, None).await
        {
            tracing::info!(pod = %self.name(), container = %c.name, error = %e, "postStart hook failed");
            event(
                EventType::Warning,
                "FailedPostStartHook",
                "PostStartHook failed".into(),
            );
            self.kill_container(
                pod,
                &id,
                &c.name,
                is_init,
                Some("FailedPostStartHook".into()),
                None,
                None,
            )
            .await;
            self.waiting.insert(
                c.name.clone(),
                Waiting {
                    reason: "PostStartHookError".into(),
                    message: e,
                },
            );
        }
        None
    }

    /// The container's argv: its command and args, or for the demo image the demo app.
    fn argv(&self, c: &Container, env: &[(String, String)]) -> Result<Vec<String>, String> {
        let no_command = c.command.as_ref().is_none_or(|v| v.is_empty());
        let image = c.image.as_deref().unwrap_or_default();
        if no_command && is_demo_image(image) {
            let mut with = c.clone();
            let mut command = vec![
                self.shared.self_exe.display().to_string(),
                "demo".into(),
                "serve".into(),
            ];
            command.extend(c.args.iter().flatten().cloned());
            with.command = Some(command);
            with.args = None;
            return Ok(containerspec::argv(&with, env));
        }
        let argv = containerspec::argv(c, env);
        if argv.is_empty() {
            return Err(format!(
                "no command specified: the process runtime does not run image {image:?}'s entrypoint; give the container a command"
            ));
        }
        Ok(argv)
    }

    /// Runs a lifecycle hook handler inside the container (exec), against it (httpGet), or
    /// sleeps. `limit` bounds how long it may take.
    async fn run_hook(
        &self,
        hook: &LifecycleHandler,
        c: &Container,
        id: &str,
        sandbox: &SandboxStatus,
        limit: Option<Duration>,
    ) -> Result<(), String> {
        let limit = limit.unwrap_or(Duration::from_secs(120));
        if let Some(exec) = &hook.exec {
            let argv = prober::expand_static(c, exec.command.as_deref().unwrap_or_default());
            let r = self
                .shared
                .runtime
                .exec_sync(id, &argv, limit)
                .await
                .map_err(|e| e.to_string())?;
            if r.exit_code != 0 || r.timed_out {
                let mut out = r.stdout;
                out.extend_from_slice(&r.stderr);
                return Err(format!(
                    "command {:?} exited with {}: {}",
                    argv.join(" "),
                    r.exit_code,
                    String::from_utf8_lossy(&out)
                ));
            }
            return Ok(());
        }
        if let Some(http) = &hook.http_get {
            let ip = sandbox
                .ip
                .or(self.shared.host_ip)
                .unwrap_or(IpAddr::from([127, 0, 0, 1]));
            let out = crate::probe_io::http_get(http, c, ip, limit).await?;
            return match out.result {
                crate::probe_io::Raw::Success | crate::probe_io::Raw::Warning => Ok(()),
                _ => Err(out.output),
            };
        }
        if let Some(sleep) = &hook.sleep {
            let secs = u64::try_from(sleep.seconds).unwrap_or(0);
            tokio::time::sleep(Duration::from_secs(secs).min(limit)).await;
            return Ok(());
        }
        Err("hook has no handler".into())
    }

    /// Kills one container: `Killing` event, preStop within the grace period, then the
    /// runtime's SIGTERM, grace, SIGKILL.
    #[allow(clippy::too_many_arguments)]
    async fn kill_container(
        &self,
        pod: &Pod,
        id: &str,
        name: &str,
        is_init: bool,
        message: Option<String>,
        reason: Option<KillReason>,
        grace_override: Option<i64>,
    ) {
        let (c, _) = find_container(pod, name);
        let spec = pod.spec.as_ref();
        let probe_grace = |p: Option<&k8s_openapi::api::core::v1::Probe>| {
            p.and_then(|p| p.termination_grace_period_seconds)
        };
        let grace = grace_override
            .or(pod.metadata.deletion_grace_period_seconds)
            .or(match reason {
                Some(KillReason::Liveness) => {
                    probe_grace(c.as_ref().and_then(|c| c.liveness_probe.as_ref()))
                }
                Some(KillReason::Startup) => {
                    probe_grace(c.as_ref().and_then(|c| c.startup_probe.as_ref()))
                }
                _ => None,
            })
            .or(spec.and_then(|s| s.termination_grace_period_seconds))
            .unwrap_or(30)
            .max(0);
        self.shared.events.container(
            pod,
            name,
            is_init,
            EventType::Normal,
            "Killing",
            message.unwrap_or_else(|| format!("Stopping container {name}")),
        );
        let mut grace = Duration::from_secs(u64::try_from(grace).unwrap_or(0));
        if let Some(c) = &c
            && let Some(pre) = c.lifecycle.as_ref().and_then(|l| l.pre_stop.as_ref())
            && !grace.is_zero()
        {
            let started = tokio::time::Instant::now();
            let sandbox = self.sandbox_of(id).await;
            let run = self.run_hook(pre, c, id, &sandbox, Some(grace));
            let failed = match tokio::time::timeout(grace, run).await {
                Ok(Ok(())) => false,
                Ok(Err(e)) => {
                    tracing::info!(pod = %self.name(), container = name, error = %e, "preStop hook failed");
                    true
                }
                Err(_) => false,
            };
            if failed {
                self.shared.events.container(
                    pod,
                    name,
                    is_init,
                    EventType::Warning,
                    "FailedPreStopHook",
                    "PreStopHook failed",
                );
            }
            let spent = Duration::from_secs(started.elapsed().as_secs());
            grace = grace.saturating_sub(spent);
        }
        let grace = grace.max(Duration::from_secs(2));
        if let Err(e) = self.shared.runtime.stop_container(id, grace).await {
            tracing::warn!(pod = %self.name(), container = name, error = %e, "stopping a container");
        }
    }

    async fn sandbox_of(&self, container_id: &str) -> SandboxStatus {
        let empty = SandboxStatus {
            id: String::new(),
            state: SandboxState::NotReady,
            ip: None,
            created_at: jiff::Timestamp::UNIX_EPOCH,
            labels: BTreeMap::new(),
        };
        let Ok((sbs, cs)) = self.shared.cache.pod(&self.uid).await else {
            return empty;
        };
        cs.iter()
            .find(|c| c.id == container_id)
            .and_then(|c| sbs.iter().find(|s| s.id == c.sandbox_id))
            .cloned()
            .unwrap_or(empty)
    }

    /// Kills every running container of the pod in parallel.
    async fn kill_all(&self, pod: &Pod, containers: &[ContainerStatus], grace: Option<i64>) {
        let running: Vec<&ContainerStatus> = containers
            .iter()
            .filter(|c| matches!(c.state, ContainerState::Running | ContainerState::Unknown))
            .collect();
        join_all(running.into_iter().map(|c| {
            let is_init = c.labels.get(labels::CONTAINER_KIND).map(String::as_str) == Some("init");
            self.kill_container(pod, &c.id, &c.name, is_init, None, None, grace)
        }))
        .await;
    }

    async fn stop_sandboxes(&self, sandboxes: &[SandboxStatus]) {
        for s in sandboxes.iter().filter(|s| s.state == SandboxState::Ready) {
            if let Err(e) = self.shared.runtime.stop_sandbox(&s.id).await {
                tracing::warn!(pod = %self.name(), error = %e, "stopping the sandbox");
            }
        }
    }

    /// Terminates a pod being deleted, then removes it from the API.
    async fn terminate(
        &mut self,
        pod: &Pod,
        sandboxes: &[SandboxStatus],
        containers: &[ContainerStatus],
    ) -> SyncResult<Flow> {
        let grace = pod
            .metadata
            .deletion_grace_period_seconds
            .or(pod
                .spec
                .as_ref()
                .and_then(|s| s.termination_grace_period_seconds))
            .unwrap_or(30)
            .max(1);
        // The status shows the pod terminating (readiness probes still run) before the wait.
        self.update_status(pod).await?;
        self.kill_all(pod, containers, Some(grace)).await;
        self.stop_sandboxes(sandboxes).await;
        if self.terminal.is_none() {
            let (_, after) = self.shared.cache.pod(&self.uid).await?;
            let spec = pod.spec.as_ref();
            let all_zero = spec.is_some_and(|s| {
                s.containers.iter().all(|c| {
                    actions::latest(&after, &c.name).is_some_and(|i| i.exit_code == Some(0))
                })
            });
            self.terminal = Some(Terminal {
                phase: if all_zero { "Succeeded" } else { "Failed" }.into(),
                reason: String::new(),
                message: String::new(),
            });
        }
        self.update_status(pod).await?;
        let api: Api<Pod> = Api::namespaced(
            self.shared.client.clone(),
            pod.metadata.namespace.as_deref().unwrap_or("default"),
        );
        let dp = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: Some(self.uid.clone()),
                resource_version: None,
            }),
            ..Default::default()
        };
        match api
            .delete(pod.metadata.name.as_deref().unwrap_or_default(), &dp)
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
            Err(e) => return Err(e.into()),
        }
        // The watch delivers the deletion; the cleanup follows it.
        Ok(Flow::Again(Duration::from_secs(5)))
    }

    /// Removes everything of a pod gone from the API.
    async fn cleanup(&mut self) -> SyncResult<()> {
        let (sandboxes, containers) = self.shared.cache.pod(&self.uid).await?;
        if let Some(pod) = self.last_pod.clone() {
            self.kill_all(&pod, &containers, Some(2)).await;
        } else {
            for c in containers
                .iter()
                .filter(|c| c.state != ContainerState::Exited)
            {
                let _ = self
                    .shared
                    .runtime
                    .stop_container(&c.id, Duration::from_secs(2))
                    .await;
            }
        }
        for c in &containers {
            let _ = self.shared.runtime.remove_container(&c.id).await;
        }
        for s in &sandboxes {
            let _ = self.shared.runtime.stop_sandbox(&s.id).await;
            let _ = self.shared.runtime.remove_sandbox(&s.id).await;
        }
        self.shared.backoff.lock().forget_pod(&self.uid);
        let dir = self.shared.pod_dir(&self.uid);
        if let Err(e) = tokio::fs::remove_dir_all(&dir).await
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(dir = %dir.display(), error = %e, "removing a pod directory");
        }
        Ok(())
    }

    /// On a clean agent stop: stops the pod's containers and sandbox, keeping their records
    /// (restart counts continue when the agent starts again).
    async fn stop_for_shutdown(&mut self) {
        let Some(pod) = self.last_pod.clone() else {
            return;
        };
        let Ok((sandboxes, containers)) = self.shared.cache.pod(&self.uid).await else {
            return;
        };
        let own = pod
            .spec
            .as_ref()
            .and_then(|s| s.termination_grace_period_seconds)
            .unwrap_or(30);
        let cap = i64::try_from(self.shared.shutdown_grace.as_secs()).unwrap_or(i64::MAX);
        self.kill_all(&pod, &containers, Some(own.min(cap))).await;
        self.stop_sandboxes(&sandboxes).await;
    }

    /// Keeps the latest two instances of each container; removes older ones and sandboxes
    /// that are no longer used.
    async fn gc(&self, containers: &[ContainerStatus]) {
        let mut by_name: BTreeMap<&str, Vec<&ContainerStatus>> = BTreeMap::new();
        for c in containers {
            by_name.entry(&c.name).or_default().push(c);
        }
        for list in by_name.values_mut() {
            list.sort_by_key(|c| std::cmp::Reverse((c.attempt, c.created_at)));
            for old in list.iter().skip(2) {
                if old.state == ContainerState::Exited {
                    let _ = self.shared.runtime.remove_container(&old.id).await;
                }
            }
        }
    }

    /// Computes the status and patches it when it changed.
    async fn update_status(&mut self, pod: &Pod) -> SyncResult<()> {
        let (sandboxes, containers) = self.shared.cache.pod(&self.uid).await?;
        let results = self.probes.results();
        let pick = |kind: Kind| -> BTreeMap<String, bool> {
            results
                .iter()
                .filter(|((_, k), _)| *k == kind)
                .map(|((id, _), o)| (id.clone(), *o == Outcome::Success))
                .collect()
        };
        let readiness = pick(Kind::Readiness);
        let startup = pick(Kind::Startup);
        let runtime_name = self.shared.runtime.info().name;
        let old = self.computed.clone().or_else(|| pod.status.clone());
        let view = PodView {
            pod,
            sandboxes: &sandboxes,
            containers: &containers,
            waiting: &self.waiting,
            readiness: &readiness,
            startup: &startup,
            runtime_name: &runtime_name,
            host_ip: self.shared.host_ip,
            terminal: self.terminal.as_ref(),
            now: self.shared.clock.now(),
        };
        let new = status::pod_status(&view, old.as_ref());
        self.publish_probe_view(pod, &new, &containers, sandboxes.first());
        if Some(&new) == self.computed.as_ref() {
            return Ok(());
        }
        let base = self
            .server
            .clone()
            .or_else(|| pod.status.clone())
            .unwrap_or_default();
        let diff = merge_diff(&serde_json::to_value(&base)?, &serde_json::to_value(&new)?);
        if let Some(diff) = diff {
            let api: Api<Pod> = Api::namespaced(
                self.shared.client.clone(),
                pod.metadata.namespace.as_deref().unwrap_or("default"),
            );
            let patch = serde_json::json!({ "status": diff });
            match api
                .patch_status(
                    pod.metadata.name.as_deref().unwrap_or_default(),
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await
            {
                Ok(p) => self.server = p.status,
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.computed = Some(new);
        Ok(())
    }

    fn publish_probe_view(
        &self,
        pod: &Pod,
        status: &PodStatus,
        containers: &[ContainerStatus],
        sandbox: Option<&SandboxStatus>,
    ) {
        let started: BTreeMap<&str, bool> = status
            .container_statuses
            .iter()
            .flatten()
            .chain(status.init_container_statuses.iter().flatten())
            .map(|s| (s.name.as_str(), s.started.unwrap_or(false)))
            .collect();
        let mut view = prober::View {
            pod: PodObserved {
                terminal: matches!(status.phase.as_deref(), Some("Succeeded" | "Failed")),
                deleting: pod.metadata.deletion_timestamp.is_some(),
                restart_never: actions::restart_policy(pod) == "Never",
            },
            pod_ip: sandbox.and_then(|s| s.ip).or(self.shared.host_ip),
            containers: BTreeMap::new(),
        };
        let names: Vec<&str> = containers.iter().map(|c| c.name.as_str()).collect();
        for name in names {
            if view.containers.contains_key(name) {
                continue;
            }
            if let Some(c) = actions::latest(containers, name) {
                view.containers.insert(
                    name.to_owned(),
                    Observed {
                        id: c.id.clone(),
                        running: c.state == ContainerState::Running,
                        terminated: c.state == ContainerState::Exited,
                        started_at: c.started_at,
                        started: started.get(name).copied().unwrap_or(false),
                    },
                );
            }
        }
        self.probes.set_view(view);
    }
}

/// The spec of container `name` and whether it is an init container.
fn find_container(pod: &Pod, name: &str) -> (Option<Container>, bool) {
    let Some(spec) = pod.spec.as_ref() else {
        return (None, false);
    };
    if let Some(c) = spec.containers.iter().find(|c| c.name == name) {
        return (Some(c.clone()), false);
    }
    let init = spec
        .init_containers
        .iter()
        .flatten()
        .find(|c| c.name == name)
        .cloned();
    let found = init.is_some();
    (init, found)
}

/// Whether an image name means k4t's demo app (run by the process runtime without a command).
pub fn is_demo_image(image: &str) -> bool {
    let name = image.split('@').next().unwrap_or_default();
    let name = match name.rsplit_once(':') {
        Some((n, tag)) if !tag.contains('/') => n,
        _ => name,
    };
    matches!(name.rsplit('/').next(), Some("k4t-demo" | "kubia")) || name.ends_with("k4t/demo")
}

fn resources(c: &Container) -> k4t_runtime::Resources {
    let get =
        |m: Option<&BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>,
         k: &str| { m.and_then(|m| m.get(k)).map(|q| q.0.clone()) };
    let r = c.resources.as_ref();
    let limits = r.and_then(|r| r.limits.as_ref());
    let requests = r.and_then(|r| r.requests.as_ref());
    k4t_runtime::Resources {
        memory_limit_bytes: get(limits, "memory").and_then(|q| bytes(&q)),
        cpu_limit_millis: get(limits, "cpu").and_then(|q| millis(&q)),
        cpu_request_millis: get(requests, "cpu")
            .or_else(|| get(limits, "cpu"))
            .and_then(|q| millis(&q)),
    }
}

fn bytes(q: &str) -> Option<u64> {
    let q = k4t_api::validation::quantity::Quantity::parse(q).ok()?;
    u64::try_from(q.value()).ok()
}

fn millis(q: &str) -> Option<u64> {
    let q = k4t_api::validation::quantity::Quantity::parse(q).ok()?;
    u64::try_from(q.milli_value()).ok()
}

/// ConfigMaps and Secrets a pod refers to, fetched once per sync.
#[derive(Debug, Default)]
pub struct MapLookup {
    config_maps: BTreeMap<String, BTreeMap<String, String>>,
    secrets: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
}

impl containerspec::Lookup for MapLookup {
    fn config_map(&self, name: &str) -> Option<BTreeMap<String, String>> {
        self.config_maps.get(name).cloned()
    }
    fn secret(&self, name: &str) -> Option<BTreeMap<String, Vec<u8>>> {
        self.secrets.get(name).cloned()
    }
}

/// The names of the ConfigMaps and Secrets a pod's spec refers to.
pub fn referenced(pod: &Pod) -> (Vec<String>, Vec<String>) {
    fn walk(v: &Value, cms: &mut Vec<String>, secrets: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    let name = v.get("name").and_then(Value::as_str);
                    match (k.as_str(), name) {
                        ("configMap" | "configMapRef" | "configMapKeyRef", Some(n)) => {
                            cms.push(n.to_owned())
                        }
                        ("secret" | "secretRef" | "secretKeyRef", Some(n)) => {
                            secrets.push(n.to_owned())
                        }
                        _ => {}
                    }
                    if k == "secret"
                        && let Some(n) = v.get("secretName").and_then(Value::as_str)
                    {
                        secrets.push(n.to_owned());
                    }
                    walk(v, cms, secrets);
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, cms, secrets)),
            _ => {}
        }
    }
    let (mut cms, mut secrets) = (Vec::new(), Vec::new());
    if let Ok(spec) = serde_json::to_value(&pod.spec) {
        walk(&spec, &mut cms, &mut secrets);
    }
    cms.sort();
    cms.dedup();
    secrets.sort();
    secrets.dedup();
    (cms, secrets)
}

async fn fetch_lookup(client: &kube::Client, pod: &Pod) -> MapLookup {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let (cms, secrets) = referenced(pod);
    let mut out = MapLookup::default();
    let cm_api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    for name in cms {
        if let Ok(Some(cm)) = cm_api.get_opt(&name).await {
            let mut data: BTreeMap<String, String> = cm.data.unwrap_or_default();
            for (k, v) in cm.binary_data.unwrap_or_default() {
                data.insert(k, String::from_utf8_lossy(&v.0).into_owned());
            }
            out.config_maps.insert(name, data);
        }
    }
    let secret_api: Api<Secret> = Api::namespaced(client.clone(), ns);
    for name in secrets {
        if let Ok(Some(s)) = secret_api.get_opt(&name).await {
            let mut data: BTreeMap<String, Vec<u8>> = s
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.0))
                .collect();
            for (k, v) in s.string_data.unwrap_or_default() {
                data.insert(k, v.into_bytes());
            }
            out.secrets.insert(name, data);
        }
    }
    out
}

/// The JSON merge patch that turns `old` into `new` (`None` when they are equal). Lists are
/// replaced whole, as merge patch does.
pub fn merge_diff(old: &Value, new: &Value) -> Option<Value> {
    if old == new {
        return None;
    }
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut patch = serde_json::Map::new();
            for (k, v) in n {
                match o.get(k) {
                    Some(ov) => {
                        if let Some(d) = merge_diff(ov, v) {
                            patch.insert(k.clone(), d);
                        }
                    }
                    None => {
                        patch.insert(k.clone(), v.clone());
                    }
                }
            }
            for k in o.keys() {
                if !n.contains_key(k) {
                    patch.insert(k.clone(), Value::Null);
                }
            }
            (!patch.is_empty()).then_some(Value::Object(patch))
        }
        _ => Some(new.clone()),
    }
}

/// Why a sync failed (it is retried).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Runtime(#[from] k4t_runtime::RuntimeError),
    #[error(transparent)]
    Api(#[from] kube::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

type SyncResult<T> = Result<T, SyncError>;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_diffs() {
        let check = |old: Value, new: Value, want: Option<Value>| {
            let d = merge_diff(&old, &new);
            assert_eq!(d, want);
            if let Some(d) = d {
                assert_eq!(k4t_api::patch::merge_patch(&old, &d).unwrap(), new);
            }
        };
        check(json!({"a": 1}), json!({"a": 1}), None);
        check(
            json!({"phase": "Pending", "reason": "x", "s": {"waiting": {"r": 1}}}),
            json!({"phase": "Running", "s": {"running": {"t": 2}}}),
            Some(
                json!({"phase": "Running", "reason": null, "s": {"waiting": null, "running": {"t": 2}}}),
            ),
        );
        check(
            json!({"l": [1, 2]}),
            json!({"l": [1]}),
            Some(json!({"l": [1]})),
        );
    }

    #[test]
    fn references_are_found_everywhere() {
        let pod: Pod = serde_json::from_value(json!({
            "spec": {
                "containers": [{
                    "name": "a",
                    "env": [
                        {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm1", "key": "k"}}},
                        {"name": "Y", "valueFrom": {"secretKeyRef": {"name": "s1", "key": "k"}}}
                    ],
                    "envFrom": [{"configMapRef": {"name": "cm2"}}, {"secretRef": {"name": "s2"}}]
                }],
                "volumes": [
                    {"name": "v1", "configMap": {"name": "cm3"}},
                    {"name": "v2", "secret": {"secretName": "s3"}},
                    {"name": "v3", "projected": {"sources": [{"configMap": {"name": "cm4"}}, {"secret": {"name": "s4"}}]}}
                ]
            }
        }))
        .unwrap();
        let (cms, secrets) = referenced(&pod);
        assert_eq!(cms, ["cm1", "cm2", "cm3", "cm4"]);
        assert_eq!(secrets, ["s1", "s2", "s3", "s4"]);
    }

    #[test]
    fn demo_images() {
        for (image, want) in [
            ("k4t/demo", true),
            ("k4t/demo:1.0", true),
            ("localhost:5000/k4t/demo:v2", true),
            ("luksa/kubia", true),
            ("k4t-demo", true),
            ("busybox", false),
            ("nginx:1.27", false),
        ] {
            assert_eq!(is_demo_image(image), want, "{image}");
        }
    }
}
