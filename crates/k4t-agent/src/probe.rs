//! The probe worker's decisions, as the kubelet's `doProbe` takes them: when to probe at all
//! (a new container instance resets the worker; nothing runs before `initialDelaySeconds`,
//! liveness and readiness wait for the startup probe), how outcomes accumulate into a published
//! result (consecutive runs against `successThreshold`/`failureThreshold`), and when the worker
//! holds or stops. Pure: the prober (`prober`) runs the handler and feeds the outcome back.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Probe;

use crate::probe_io::Raw;

/// Which probe a worker runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Startup,
    Readiness,
    Liveness,
}

impl Kind {
    /// As events name it: `Liveness probe failed: ...`.
    pub fn title(self) -> &'static str {
        match self {
            Kind::Startup => "Startup",
            Kind::Readiness => "Readiness",
            Kind::Liveness => "Liveness",
        }
    }
}

/// A published probe result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Unknown,
    Success,
    Failure,
}

/// The container as a probe worker sees it at a tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub id: String,
    pub running: bool,
    pub terminated: bool,
    pub started_at: Option<Timestamp>,
    /// The container status' `started` (the startup probe has passed, or there is none).
    pub started: bool,
}

/// The pod around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PodObserved {
    pub terminal: bool,
    pub deleting: bool,
    pub restart_never: bool,
}

/// A result to record for a container instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    pub id: String,
    pub outcome: Outcome,
}

/// What the worker does at this tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing to run now; record `publish` if set.
    Idle(Option<Publish>),
    /// Run the handler (after recording `publish` if set) and report with [`Worker::outcome`].
    Probe(Option<Publish>),
    /// The worker ends, after recording `publish` if set.
    Stop(Option<Publish>),
}

/// Thresholds and delay of a probe, with the API's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    pub initial_delay_seconds: i64,
    pub period_seconds: u64,
    pub timeout_seconds: u64,
    pub success_threshold: u32,
    pub failure_threshold: u32,
}

impl Params {
    pub fn of(probe: &Probe) -> Self {
        let pos = |v: Option<i32>, d: i32| u32::try_from(v.unwrap_or(d).max(1)).unwrap_or(1);
        Self {
            initial_delay_seconds: i64::from(probe.initial_delay_seconds.unwrap_or(0).max(0)),
            period_seconds: u64::from(pos(probe.period_seconds, 10)),
            timeout_seconds: u64::from(pos(probe.timeout_seconds, 1)),
            success_threshold: pos(probe.success_threshold, 1),
            failure_threshold: pos(probe.failure_threshold, 3),
        }
    }
}

/// One probe worker's state (per pod, container name and kind; it outlives restarts).
#[derive(Debug, Clone)]
pub struct Worker {
    pub kind: Kind,
    pub params: Params,
    container_id: Option<String>,
    last: Option<Outcome>,
    run: u32,
    on_hold: bool,
}

impl Worker {
    pub fn new(kind: Kind, params: Params) -> Self {
        Self {
            kind,
            params,
            container_id: None,
            last: None,
            run: 0,
            on_hold: false,
        }
    }

    fn initial(&self) -> Outcome {
        match self.kind {
            Kind::Readiness => Outcome::Failure,
            Kind::Liveness => Outcome::Success,
            Kind::Startup => Outcome::Unknown,
        }
    }

    /// Decides a tick: `container` is the latest instance of the worker's container, if any.
    pub fn tick(&mut self, pod: PodObserved, container: Option<&Observed>, now: Timestamp) -> Step {
        if pod.terminal {
            return Step::Stop(None);
        }
        let Some(c) = container.filter(|c| !c.id.is_empty()) else {
            return Step::Idle(None);
        };
        let mut publish = None;
        if self.container_id.as_deref() != Some(c.id.as_str()) {
            self.container_id = Some(c.id.clone());
            self.last = None;
            self.run = 0;
            self.on_hold = false;
            publish = Some(Publish {
                id: c.id.clone(),
                outcome: self.initial(),
            });
        }
        if self.on_hold {
            return Step::Idle(publish);
        }
        if !c.running {
            let p = Some(Publish {
                id: c.id.clone(),
                outcome: Outcome::Failure,
            });
            return if c.terminated && pod.restart_never {
                Step::Stop(p)
            } else {
                Step::Idle(p)
            };
        }
        if pod.deleting && matches!(self.kind, Kind::Liveness | Kind::Startup) {
            return Step::Stop(Some(Publish {
                id: c.id.clone(),
                outcome: Outcome::Success,
            }));
        }
        let since_start = c
            .started_at
            .map(|s| now.duration_since(s).as_secs())
            .unwrap_or(0);
        if since_start < self.params.initial_delay_seconds {
            return Step::Idle(publish);
        }
        let gated = match self.kind {
            Kind::Startup => c.started,
            Kind::Liveness | Kind::Readiness => !c.started,
        };
        if gated {
            return Step::Idle(publish);
        }
        Step::Probe(publish)
    }

    /// Accounts one handler run (`None`: the handler errored, which counts for nothing).
    pub fn outcome(&mut self, raw: Option<Raw>) -> Option<Publish> {
        let result = match raw? {
            Raw::Success | Raw::Warning => Outcome::Success,
            Raw::Failure | Raw::Unknown => Outcome::Failure,
        };
        if self.last == Some(result) {
            self.run = self.run.saturating_add(1);
        } else {
            self.last = Some(result);
            self.run = 1;
        }
        let threshold = match result {
            Outcome::Failure => self.params.failure_threshold,
            _ => self.params.success_threshold,
        };
        if self.run < threshold {
            return None;
        }
        let id = self.container_id.clone()?;
        if (self.kind == Kind::Liveness && result == Outcome::Failure) || self.kind == Kind::Startup
        {
            self.on_hold = true;
            self.run = 0;
        }
        Some(Publish {
            id,
            outcome: result,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    fn params(fail: u32, succ: u32, delay: i64) -> Params {
        Params {
            initial_delay_seconds: delay,
            period_seconds: 1,
            timeout_seconds: 1,
            success_threshold: succ,
            failure_threshold: fail,
        }
    }

    fn running(id: &str, started: bool) -> Observed {
        Observed {
            id: id.into(),
            running: true,
            terminated: false,
            started_at: Some(t(0)),
            started,
        }
    }

    fn publish(id: &str, outcome: Outcome) -> Option<Publish> {
        Some(Publish {
            id: id.into(),
            outcome,
        })
    }

    #[test]
    fn initial_results_per_kind() {
        for (kind, want) in [
            (Kind::Readiness, Outcome::Failure),
            (Kind::Liveness, Outcome::Success),
            (Kind::Startup, Outcome::Unknown),
        ] {
            let mut w = Worker::new(kind, params(3, 1, 0));
            let started = kind != Kind::Startup;
            assert_eq!(
                w.tick(PodObserved::default(), Some(&running("a", started)), t(5)),
                Step::Probe(publish("a", want))
            );
        }
    }

    #[test]
    fn liveness_publishes_failure_at_the_threshold_then_holds() {
        let mut w = Worker::new(Kind::Liveness, params(3, 1, 0));
        let c = running("a", true);
        let pod = PodObserved::default();
        assert!(matches!(w.tick(pod, Some(&c), t(1)), Step::Probe(_)));
        assert_eq!(w.outcome(Some(Raw::Failure)), None);
        assert_eq!(w.outcome(Some(Raw::Failure)), None);
        // An error counts for nothing; a success resets the run.
        assert_eq!(w.outcome(None), None);
        assert_eq!(
            w.outcome(Some(Raw::Success)),
            publish("a", Outcome::Success)
        );
        assert_eq!(w.outcome(Some(Raw::Failure)), None);
        assert_eq!(w.outcome(Some(Raw::Unknown)), None);
        assert_eq!(
            w.outcome(Some(Raw::Failure)),
            publish("a", Outcome::Failure)
        );
        assert_eq!(w.tick(pod, Some(&c), t(2)), Step::Idle(None));
        // A new instance lifts the hold and starts from the initial value.
        assert_eq!(
            w.tick(pod, Some(&running("b", true)), t(3)),
            Step::Probe(publish("b", Outcome::Success))
        );
    }

    #[test]
    fn readiness_needs_success_threshold_and_failure_threshold() {
        let mut w = Worker::new(Kind::Readiness, params(2, 2, 0));
        let c = running("a", true);
        w.tick(PodObserved::default(), Some(&c), t(1));
        assert_eq!(w.outcome(Some(Raw::Success)), None);
        assert_eq!(
            w.outcome(Some(Raw::Warning)),
            publish("a", Outcome::Success)
        );
        assert_eq!(
            w.outcome(Some(Raw::Success)),
            publish("a", Outcome::Success)
        );
        assert_eq!(w.outcome(Some(Raw::Failure)), None);
        assert_eq!(
            w.outcome(Some(Raw::Failure)),
            publish("a", Outcome::Failure)
        );
        // Readiness never holds.
        assert!(matches!(
            w.tick(PodObserved::default(), Some(&c), t(2)),
            Step::Probe(None)
        ));
    }

    #[test]
    fn startup_gates_liveness_and_stops_itself_once_started() {
        let pod = PodObserved::default();
        let mut live = Worker::new(Kind::Liveness, params(1, 1, 0));
        let mut startup = Worker::new(Kind::Startup, params(3, 1, 0));
        let not_started = running("a", false);
        assert_eq!(
            live.tick(pod, Some(&not_started), t(1)),
            Step::Idle(publish("a", Outcome::Success))
        );
        assert!(matches!(
            startup.tick(pod, Some(&not_started), t(1)),
            Step::Probe(_)
        ));
        assert_eq!(
            startup.outcome(Some(Raw::Success)),
            publish("a", Outcome::Success)
        );
        let started = running("a", true);
        assert_eq!(startup.tick(pod, Some(&started), t(2)), Step::Idle(None));
        assert_eq!(live.tick(pod, Some(&started), t(2)), Step::Probe(None));
    }

    #[test]
    fn initial_delay_in_whole_seconds_since_start() {
        let mut w = Worker::new(Kind::Liveness, params(3, 1, 5));
        let pod = PodObserved::default();
        let c = running("a", true);
        assert!(matches!(w.tick(pod, Some(&c), t(4)), Step::Idle(_)));
        assert_eq!(w.tick(pod, Some(&c), t(5)), Step::Probe(None));
    }

    #[test]
    fn stopped_containers_and_terminating_pods() {
        let mut w = Worker::new(Kind::Readiness, params(3, 1, 0));
        let mut c = running("a", true);
        w.tick(PodObserved::default(), Some(&c), t(1));
        c.running = false;
        c.terminated = true;
        assert_eq!(
            w.tick(PodObserved::default(), Some(&c), t(2)),
            Step::Idle(publish("a", Outcome::Failure))
        );
        let never = PodObserved {
            restart_never: true,
            ..Default::default()
        };
        assert_eq!(
            w.tick(never, Some(&c), t(3)),
            Step::Stop(publish("a", Outcome::Failure))
        );
        let deleting = PodObserved {
            deleting: true,
            ..Default::default()
        };
        let mut live = Worker::new(Kind::Liveness, params(3, 1, 0));
        live.tick(PodObserved::default(), Some(&running("b", true)), t(1));
        assert_eq!(
            live.tick(deleting, Some(&running("b", true)), t(2)),
            Step::Stop(publish("b", Outcome::Success))
        );
        let terminal = PodObserved {
            terminal: true,
            ..Default::default()
        };
        assert_eq!(live.tick(terminal, None, t(3)), Step::Stop(None));
        assert_eq!(
            Worker::new(Kind::Liveness, params(3, 1, 0)).tick(PodObserved::default(), None, t(1)),
            Step::Idle(None)
        );
    }

    #[test]
    fn params_defaults() {
        let p = Params::of(&Probe::default());
        assert_eq!(p, params(3, 1, 0).with_period(10));
    }

    impl Params {
        fn with_period(mut self, s: u64) -> Self {
            self.period_seconds = s;
            self
        }
    }
}
