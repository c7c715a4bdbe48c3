//! The probe workers of a pod: one task per (container, probe kind) that ticks every
//! `periodSeconds`, asks the [`probe::Worker`] what to do, runs the handler (`probe_io`),
//! writes the `Unhealthy`/`ProbeWarning` events and publishes results. A changed result wakes
//! the pod worker at once, so a liveness failure is acted on without waiting for a resync.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use k4t_api::clock::Clock;
use k4t_runtime::Runtime;
use k8s_openapi::api::core::v1::{Container, Pod, Probe};
use parking_lot::Mutex;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::events::{EventSink, EventType};
use crate::probe::{Kind, Observed, Outcome, PodObserved, Publish, Step, Worker};
use crate::probe_io::{self, Raw};

/// What probe workers read of their pod, refreshed by each pod sync.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct View {
    pub pod: PodObserved,
    pub pod_ip: Option<IpAddr>,
    /// The latest instance of each container, by name.
    pub containers: BTreeMap<String, Observed>,
}

/// What the probe workers need from the agent.
#[derive(Clone)]
pub struct Context {
    pub runtime: Arc<dyn Runtime>,
    pub events: EventSink,
    pub clock: Arc<dyn Clock>,
    /// When the agent started: workers created within one period of it start with jitter.
    pub agent_started: tokio::time::Instant,
    /// Where the workers run: the probers' own thread ([`ProbeThread`]), or with `None` the
    /// caller's runtime (as in paused-time tests).
    pub spawner: Option<tokio::runtime::Handle>,
}

/// A thread with a single-threaded runtime of its own for the probe workers.
///
/// 500 pods probed every second are 500 short tasks a second that do nothing but wait on a
/// timer and a socket. On the multi-threaded runtime each batch of them also woke an idle
/// worker to steal a share. On one thread of their own they run back to back, the API
/// server's and the pod workers' threads stay asleep, and neither delays the other's timers
/// (k4t at 500 pods, by hand: 8.6–8.7 % of a core against 9.0–10.3 %; docs/benchmarks.md).
pub struct ProbeThread {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl ProbeThread {
    /// Starts the thread. Its workers end when this is dropped.
    pub fn start() -> std::io::Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = rt.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("k4t-probes".into())
            .spawn(move || {
                let _ = rt.block_on(stopped);
            })?;
        Ok(Self {
            handle,
            stop: Some(stop),
        })
    }

    pub fn handle(&self) -> &tokio::runtime::Handle {
        &self.handle
    }
}

impl Drop for ProbeThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A pod's probe workers and their published results.
pub struct PodProbes {
    results: Mutex<BTreeMap<(String, Kind), Outcome>>,
    view: watch::Sender<View>,
    wake: Arc<Notify>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Drop for PodProbes {
    fn drop(&mut self) {
        for t in self.tasks.get_mut().drain(..) {
            t.abort();
        }
    }
}

impl PodProbes {
    /// `wake` is notified whenever a published result changes.
    pub fn new(wake: Arc<Notify>) -> Arc<Self> {
        Arc::new(Self {
            results: Mutex::new(BTreeMap::new()),
            view: watch::Sender::new(View::default()),
            wake,
            tasks: Mutex::new(Vec::new()),
        })
    }

    /// Starts the workers of every probe of the pod's containers (startup, readiness,
    /// liveness, in that order), once.
    pub fn start(self: &Arc<Self>, ctx: &Context, pod: &Arc<Pod>) {
        let mut tasks = self.tasks.lock();
        if !tasks.is_empty() {
            return;
        }
        let Some(spec) = pod.spec.as_ref() else {
            return;
        };
        let sidecars = spec
            .init_containers
            .iter()
            .flatten()
            .filter(|c| c.restart_policy.as_deref() == Some("Always"));
        for c in spec.containers.iter().chain(sidecars) {
            for (kind, probe) in [
                (Kind::Startup, &c.startup_probe),
                (Kind::Readiness, &c.readiness_probe),
                (Kind::Liveness, &c.liveness_probe),
            ] {
                if let Some(p) = probe {
                    let task = run_worker(
                        ctx.clone(),
                        pod.clone(),
                        c.clone(),
                        kind,
                        p.clone(),
                        self.clone(),
                    );
                    tasks.push(match &ctx.spawner {
                        Some(rt) => rt.spawn(task),
                        None => tokio::spawn(task),
                    });
                }
            }
        }
    }

    /// The published results of every container instance.
    pub fn results(&self) -> BTreeMap<(String, Kind), Outcome> {
        self.results.lock().clone()
    }

    /// Replaces the view the workers read (they are woken if it changed).
    pub fn set_view(&self, view: View) {
        self.view.send_if_modified(|v| {
            if *v == view {
                false
            } else {
                *v = view;
                true
            }
        });
    }

    fn publish(&self, kind: Kind, p: Publish) {
        let changed = self.results.lock().insert((p.id, kind), p.outcome) != Some(p.outcome);
        if changed {
            self.wake.notify_one();
        }
    }

    fn forget(&self, kind: Kind, id: &str) {
        self.results.lock().remove(&(id.to_owned(), kind));
    }
}

/// Probe ticks fall on a grid of this step from the agent's start, so that the node's probes
/// wake the agent in batches rather than one at a time: 500 probes a second would otherwise be
/// 500 wake-ups of the runtime's threads, each with its context switches (k4t's CPU at 500
/// pods, measured by hand: 12–13 % of a core with no grid, 11–12 % with 10 ms, 9 % with 50 ms;
/// see docs/benchmarks.md for the bench's figures). A tick moves by less than a
/// step: nothing in a probe's semantics is finer than its one-second period, and the kubelet
/// itself spreads probe starts at random over a whole period.
const TICK_GRID: Duration = Duration::from_millis(50);

/// The first point of the grid at or after `t`.
fn on_grid(origin: tokio::time::Instant, t: tokio::time::Instant) -> tokio::time::Instant {
    let step = TICK_GRID.as_nanos();
    let since = t.saturating_duration_since(origin).as_nanos();
    let steps = since.div_ceil(step);
    origin + Duration::from_nanos(u64::try_from(steps * step).unwrap_or(u64::MAX))
}

async fn run_worker(
    ctx: Context,
    pod: Arc<Pod>,
    container: Container,
    kind: Kind,
    probe: Probe,
    probes: Arc<PodProbes>,
) {
    let mut worker = Worker::new(kind, crate::probe::Params::of(&probe));
    let period = Duration::from_secs(worker.params.period_seconds);
    let origin = ctx.agent_started;
    let mut first = tokio::time::Instant::now();
    if origin.elapsed() < period {
        first += period.mul_f64(rand::random::<f64>());
    }
    let mut view = probes.view.subscribe();
    // Ticks keep their phase when one is late (as the kubelet's Go ticker does), and so stay
    // on the grid.
    let mut ticker = tokio::time::interval_at(on_grid(origin, first), period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_seen: Option<Observed> = None;
    let mut last_id: Option<String> = None;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            changed = view.changed() => {
                if changed.is_err() {
                    break;
                }
                // Readiness is probed as soon as its container (re)appears or starts, rather
                // than at the next tick; the other kinds keep their cadence.
                let now_seen = view.borrow().containers.get(&container.name).cloned();
                let trigger = kind == Kind::Readiness && now_seen != last_seen;
                last_seen = now_seen;
                if !trigger {
                    continue;
                }
                ticker.reset_at(on_grid(origin, tokio::time::Instant::now() + period));
            }
        }
        let (pod_obs, pod_ip, obs) = {
            let v = view.borrow_and_update();
            (v.pod, v.pod_ip, v.containers.get(&container.name).cloned())
        };
        if let Some(o) = &obs
            && last_id.as_deref() != Some(o.id.as_str())
            && let Some(old) = last_id.replace(o.id.clone())
        {
            probes.forget(kind, &old);
        }
        let step = worker.tick(pod_obs, obs.as_ref(), ctx.clock.now());
        let (run, stop, publish) = match step {
            Step::Idle(p) => (false, false, p),
            Step::Probe(p) => (true, false, p),
            Step::Stop(p) => (false, true, p),
        };
        if let Some(p) = publish {
            probes.publish(kind, p);
        }
        if stop {
            break;
        }
        let (true, Some(o)) = (run, obs) else {
            continue;
        };
        let ip = pod_ip.unwrap_or(IpAddr::from([127, 0, 0, 1]));
        // Boxed: the handler's state (an HTTP exchange, a gRPC channel) lives only while it
        // runs, and the worker that sleeps between probes stays small.
        let raw = Box::pin(run_probe(
            &ctx,
            &probe,
            &container,
            &o.id,
            ip,
            worker.params.timeout_seconds,
        ))
        .await;
        match &raw {
            Ok(out) => match out.result {
                Raw::Failure => ctx.events.container(
                    &pod,
                    &container.name,
                    false,
                    EventType::Warning,
                    "Unhealthy",
                    format!("{} probe failed: {}", kind.title(), out.output.trim_end()),
                ),
                Raw::Warning => ctx.events.container(
                    &pod,
                    &container.name,
                    false,
                    EventType::Warning,
                    "ProbeWarning",
                    format!("{} probe warning: {}", kind.title(), out.output.trim_end()),
                ),
                Raw::Success | Raw::Unknown => {}
            },
            Err(e) => ctx.events.container(
                &pod,
                &container.name,
                false,
                EventType::Warning,
                "Unhealthy",
                format!(
                    "{} probe errored and resulted in unknown state: {e}",
                    kind.title()
                ),
            ),
        }
        if let Some(p) = worker.outcome(raw.ok().map(|o| o.result)) {
            probes.publish(kind, p);
        }
    }
    if let Some(id) = last_id {
        probes.forget(kind, &id);
    }
}

/// Runs a probe's handler once, retrying errors as the kubelet does (three calls at most).
async fn run_probe(
    ctx: &Context,
    probe: &Probe,
    container: &Container,
    container_id: &str,
    pod_ip: IpAddr,
    timeout_seconds: u64,
) -> Result<probe_io::Outcome, String> {
    let timeout = Duration::from_secs(timeout_seconds);
    let mut last = Err("probe has no handler".to_owned());
    for _ in 0..3 {
        last = run_handler(ctx, probe, container, container_id, pod_ip, timeout).await;
        if last.is_ok() {
            break;
        }
    }
    last
}

async fn run_handler(
    ctx: &Context,
    probe: &Probe,
    container: &Container,
    container_id: &str,
    pod_ip: IpAddr,
    timeout: Duration,
) -> Result<probe_io::Outcome, String> {
    if let Some(exec) = &probe.exec {
        let argv = expand_static(container, exec.command.as_deref().unwrap_or_default());
        return probe_io::exec(ctx.runtime.as_ref(), container_id, &argv, timeout).await;
    }
    if let Some(http) = &probe.http_get {
        return probe_io::http_get(http, container, pod_ip, timeout).await;
    }
    if let Some(tcp) = &probe.tcp_socket {
        let port = probe_io::resolve_port(&tcp.port, container)?;
        return Ok(probe_io::tcp(tcp.host.as_deref(), port, pod_ip, timeout).await);
    }
    if let Some(grpc) = &probe.grpc {
        let port = u16::try_from(grpc.port).map_err(|_| format!("invalid port {}", grpc.port))?;
        let service = grpc.service.as_deref().unwrap_or_default();
        return Ok(probe_io::grpc(pod_ip, port, service, timeout).await);
    }
    Err("probe has no handler".to_owned())
}

/// `$(VAR)` in exec commands expands from the container's literal `env` values only.
pub fn expand_static(container: &Container, argv: &[String]) -> Vec<String> {
    let env: BTreeMap<&str, &str> = container
        .env
        .iter()
        .flatten()
        .filter_map(|e| e.value.as_deref().map(|v| (e.name.as_str(), v)))
        .collect();
    argv.iter()
        .map(|a| crate::containerspec::expand(a, &|k| env.get(k).map(|v| (*v).to_owned())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_on_the_probers_thread_end_with_it() {
        struct Dropped(std::sync::mpsc::Sender<&'static str>);
        impl Drop for Dropped {
            fn drop(&mut self) {
                let _ = self.0.send("dropped");
            }
        }
        let thread = ProbeThread::start().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let name = tx.clone();
        thread.handle().spawn(async move {
            let here = std::thread::current().name() == Some("k4t-probes");
            let _ = name.send(if here { "on k4t-probes" } else { "elsewhere" });
        });
        let guard = Dropped(tx);
        thread.handle().spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        let wait = Duration::from_secs(10);
        assert_eq!(rx.recv_timeout(wait), Ok("on k4t-probes"));
        drop(thread);
        assert_eq!(rx.recv_timeout(wait), Ok("dropped"));
    }

    #[tokio::test(start_paused = true)]
    async fn ticks_round_up_to_the_grid() {
        let origin = tokio::time::Instant::now();
        let at = |ms| origin + Duration::from_millis(ms);
        assert_eq!(TICK_GRID, Duration::from_millis(50));
        assert_eq!(on_grid(origin, origin), origin);
        assert_eq!(on_grid(origin, at(1)), at(50));
        assert_eq!(on_grid(origin, at(50)), at(50));
        assert_eq!(on_grid(origin, at(1_234)), at(1_250));
        // Before the origin (cannot happen: the origin is the agent's start) stays at it.
        assert_eq!(on_grid(at(5), origin), at(5));
    }
}
