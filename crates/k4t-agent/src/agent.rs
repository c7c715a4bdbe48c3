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
    /// The most a clean stop of the agent waits for each pod (the kubelet's
    /// `shutdownGracePeriod`): pods' own grace periods are cut to it.
    pub shutdown_grace: Duration,
    pub agent_port: u16,
    /// Container log rotation (Kubernetes: 10 MiB, 5 files).
    pub log_rotation: k4t_runtime::LogRotation,
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
            shutdown_grace: Duration::from_secs(30),
            agent_port: 10250,
            log_rotation: k4t_runtime::LogRotation::default(),
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

/// Why the agent could not run.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("creating {path}: {source}")]
    Dir {
        path: String,
        source: std::io::Error,
    },
    #[error("starting the probers' thread: {0}")]
    ProbeThread(std::io::Error),
}

/// Runs the node agent until `shutdown` is raised: the node's registration and lease, and a
/// worker per pod bound to the node.
pub async fn run(
    client: Client,
    runtime: Arc<dyn k4t_runtime::Runtime>,
    config: AgentConfig,
    clock: Arc<dyn Clock>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), AgentError> {
    use crate::backoff::Backoff;
    use crate::events::EventSink;
    use crate::pleg::RuntimeCache;
    use crate::pods::{PodWorker, Shared, Stop};
    use futures::StreamExt as _;
    use k8s_openapi::api::core::v1::Pod;
    use kube::runtime::{WatchStreamExt as _, watcher};
    use std::collections::HashMap;
    use tokio::sync::Notify;

    std::fs::create_dir_all(config.root_dir.join("pods")).map_err(|source| AgentError::Dir {
        path: config.root_dir.join("pods").display().to_string(),
        source,
    })?;
    let machine = Machine::read(&config.root_dir, config.node_ip);
    let info = runtime.info();
    let settings = NodeSettings {
        name: config.node_name.clone(),
        labels: config.node_labels.clone(),
        max_pods: config.max_pods,
        pod_cidr: config.pod_cidr.clone(),
        agent_port: config.agent_port,
        runtime: info.clone(),
        kubelet_version: KUBELET_VERSION.to_owned(),
    };
    let allocatable = node::allocatable(&settings, &machine);
    let host_ip = config.node_ip.or(machine.internal_ip);
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(node_loop(
        client.clone(),
        settings,
        machine,
        clock.clone(),
        config.node_status_interval,
        shutdown.clone(),
    ));

    tasks.spawn(crate::tunnel::run(
        client.clone(),
        config.node_name.clone(),
        Arc::new(crate::stream::StreamServer::new(runtime.clone())),
        shutdown.clone(),
    ));

    let events = EventSink::new(client.clone(), &config.node_name);
    // On a current-thread runtime (paused-time tests) the workers stay on it: there are no
    // other threads to wake, and paused time reaches only that runtime.
    let probe_thread = match tokio::runtime::Handle::current().runtime_flavor() {
        tokio::runtime::RuntimeFlavor::CurrentThread => None,
        _ => Some(crate::prober::ProbeThread::start().map_err(AgentError::ProbeThread)?),
    };
    let shared = Arc::new(Shared {
        client: client.clone(),
        runtime: runtime.clone(),
        cache: RuntimeCache::new(runtime.clone()),
        events: events.clone(),
        probe_ctx: crate::prober::Context {
            runtime: runtime.clone(),
            events,
            clock: clock.clone(),
            agent_started: tokio::time::Instant::now(),
            spawner: probe_thread.as_ref().map(|t| t.handle().clone()),
        },
        clock,
        node_name: config.node_name.clone(),
        root_dir: config.root_dir.clone(),
        host_ip,
        allocatable,
        backoff: parking_lot::Mutex::new(Backoff::new(config.backoff_initial, config.backoff_max)),
        self_exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("k4t")),
        resync: Duration::from_secs(10),
        shutdown_grace: config.shutdown_grace,
        log_rotation: config.log_rotation,
    });

    struct Handle {
        pod: watch::Sender<Option<Arc<Pod>>>,
        wake: Arc<Notify>,
    }
    let (stop_tx, stop_rx) = watch::channel(None::<Stop>);
    let mut workers: HashMap<String, Handle> = HashMap::new();
    let mut running = tokio::task::JoinSet::new();
    let spawn = |uid: String,
                 pod: Option<Arc<Pod>>,
                 running: &mut tokio::task::JoinSet<String>|
     -> Handle {
        let (tx, rx) = watch::channel(pod);
        let wake = Arc::new(Notify::new());
        let worker = PodWorker::new(
            shared.clone(),
            uid.clone(),
            rx,
            stop_rx.clone(),
            wake.clone(),
        );
        running.spawn(async move {
            worker.run().await;
            uid
        });
        Handle { pod: tx, wake }
    };

    let api: kube::Api<Pod> = kube::Api::all(client.clone());
    let wc = watcher::Config::default().fields(&format!("spec.nodeName={}", config.node_name));
    // managedFields are unread by the agent, and each pod worker holds its pod for as long as
    // the pod lives.
    let mut stream =
        std::pin::pin!(watcher(api, wc).modify(|p: &mut Pod| p.metadata.managed_fields = None));
    let mut runtime_events = runtime.subscribe();
    let mut seen_in_init: Option<std::collections::HashSet<String>> = None;
    let mut shutdown_rx = shutdown.clone();
    let mut adopted_orphans = false;
    loop {
        tokio::select! {
            ev = stream.next() => {
                let Some(ev) = ev else { break };
                let ev = match ev {
                    Ok(ev) => ev,
                    Err(e) => {
                        tracing::warn!(error = %e, "watching the node's pods");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                match ev {
                    watcher::Event::Init => seen_in_init = Some(Default::default()),
                    watcher::Event::InitApply(pod) | watcher::Event::Apply(pod) => {
                        let Some(uid) = pod.metadata.uid.clone() else { continue };
                        if let Some(seen) = seen_in_init.as_mut() {
                            seen.insert(uid.clone());
                        }
                        let pod = Arc::new(pod);
                        match workers.get(&uid) {
                            Some(h) => { h.pod.send_replace(Some(pod)); }
                            None => {
                                let h = spawn(uid.clone(), Some(pod), &mut running);
                                workers.insert(uid, h);
                            }
                        }
                    }
                    watcher::Event::Delete(pod) => {
                        if let Some(h) = pod.metadata.uid.as_ref().and_then(|u| workers.get(u)) {
                            h.pod.send_replace(None);
                        }
                    }
                    watcher::Event::InitDone => {
                        let seen = seen_in_init.take().unwrap_or_default();
                        for (uid, h) in &workers {
                            if !seen.contains(uid) {
                                h.pod.send_replace(None);
                            }
                        }
                        if !adopted_orphans {
                            adopted_orphans = true;
                            // Pods the runtime still runs that the API no longer has.
                            if let Ok(snap) = shared.cache.fresh().await {
                                for uid in snap.pods() {
                                    if let std::collections::hash_map::Entry::Vacant(slot) = workers.entry(uid.clone()) {
                                        slot.insert(spawn(uid, None, &mut running));
                                    }
                                }
                            }
                        }
                    }
                }
            }
            ev = runtime_events.recv() => {
                use k4t_runtime::RuntimeEvent as E;
                match ev {
                    Ok(E::ContainerStarted { pod_uid, .. } | E::ContainerExited { pod_uid, .. } | E::SandboxStopped { pod_uid, .. }) => {
                        if let Some(h) = workers.get(&pod_uid) {
                            h.wake.notify_one();
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        for h in workers.values() {
                            h.wake.notify_one();
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                        runtime_events = runtime.subscribe();
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
            Some(done) = running.join_next() => {
                if let Ok(uid) = done {
                    // A worker that ended while its pod came back (same uid) is restarted.
                    if let Some(h) = workers.remove(&uid) {
                        let pod = h.pod.borrow().clone();
                        if pod.is_some() {
                            let h = spawn(uid.clone(), pod, &mut running);
                            workers.insert(uid, h);
                        }
                    }
                }
            }
            _ = stopped(&mut shutdown_rx) => break,
        }
    }
    let stop = if config.leave_running {
        Stop::Leave
    } else {
        Stop::StopPod
    };
    stop_tx.send_replace(Some(stop));
    while running.join_next().await.is_some() {}
    tasks.shutdown().await;
    Ok(())
}
