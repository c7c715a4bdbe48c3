//! The pod printer: READY, STATUS and RESTARTS as `kubectl get pods` shows them.

use std::borrow::Cow;

use jiff::Timestamp;
use k8s_openapi::api::core::v1 as corev1;
use serde_json::{Value, json};

use super::json::{get, non_zero, opt_str_at, parse_time, str_at, time_at};
use crate::duration::{human_duration, since};

/// The parts of a container state the printer looks at. Go checks `waiting`, `running` and
/// `terminated` independently, so all three are kept.
#[derive(Debug, Default)]
struct State<'a> {
    waiting: Option<&'a str>,
    running: bool,
    terminated: Option<Terminated<'a>>,
}

#[derive(Debug)]
struct Terminated<'a> {
    reason: &'a str,
    exit_code: i64,
    signal: i64,
}

#[derive(Debug)]
struct ContainerStatus<'a> {
    name: &'a str,
    ready: bool,
    started: Option<bool>,
    restart_count: i64,
    state: State<'a>,
    /// `lastState.terminated.finishedAt`, when the last state is terminated.
    last_finished: Option<Option<Timestamp>>,
}

/// A pod as the printer sees it, borrowing from the object.
#[derive(Debug, Default)]
pub(super) struct PodView<'a> {
    name: &'a str,
    created: Option<Timestamp>,
    deleting: bool,
    phase: &'a str,
    reason: &'a str,
    /// (type, status, reason)
    conditions: Vec<(&'a str, &'a str, &'a str)>,
    /// (name, restartPolicy == Always) of each init container in the spec.
    init_containers: Vec<(&'a str, bool)>,
    containers: usize,
    init_statuses: Vec<ContainerStatus<'a>>,
    statuses: Vec<ContainerStatus<'a>>,
    first_pod_ip: Option<&'a str>,
    node_name: &'a str,
    nominated_node_name: &'a str,
    readiness_gates: Vec<&'a str>,
}

/// The entries of a JSON object (none for anything else). Walking an object once is much
/// cheaper than one map lookup per field on a large list.
fn entries(v: Option<&Value>) -> impl Iterator<Item = (&str, &Value)> {
    v.and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v))
}

fn as_str(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn array(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

fn present(v: &Value) -> bool {
    !v.is_null()
}

fn state_from_json(v: Option<&Value>) -> State<'_> {
    let mut state = State::default();
    for (k, v) in entries(v) {
        match k {
            "waiting" if present(v) => state.waiting = Some(str_at(v, &["reason"])),
            "running" if present(v) => state.running = true,
            "terminated" if present(v) => {
                let mut t = Terminated {
                    reason: "",
                    exit_code: 0,
                    signal: 0,
                };
                for (k, v) in entries(Some(v)) {
                    match k {
                        "reason" => t.reason = as_str(v),
                        "exitCode" => t.exit_code = v.as_i64().unwrap_or(0),
                        "signal" => t.signal = v.as_i64().unwrap_or(0),
                        _ => {}
                    }
                }
                state.terminated = Some(t);
            }
            _ => {}
        }
    }
    state
}

fn status_from_json(v: &Value) -> ContainerStatus<'_> {
    let mut c = ContainerStatus {
        name: "",
        ready: false,
        started: None,
        restart_count: 0,
        state: State::default(),
        last_finished: None,
    };
    for (k, v) in entries(Some(v)) {
        match k {
            "name" => c.name = as_str(v),
            "ready" => c.ready = v.as_bool().unwrap_or(false),
            "started" => c.started = v.as_bool(),
            "restartCount" => c.restart_count = v.as_i64().unwrap_or(0),
            "state" => c.state = state_from_json(Some(v)),
            "lastState" => {
                c.last_finished = get(v, &["terminated"])
                    .filter(|t| present(t))
                    .map(|t| time_at(t, &["finishedAt"]));
            }
            _ => {}
        }
    }
    c
}

impl<'a> PodView<'a> {
    pub(super) fn from_json(pod: &'a Value) -> Self {
        let mut view = Self::default();
        for (k, v) in entries(Some(pod)) {
            match k {
                "metadata" => {
                    for (k, v) in entries(Some(v)) {
                        match k {
                            "name" => view.name = as_str(v),
                            "creationTimestamp" => view.created = v.as_str().and_then(parse_time),
                            "deletionTimestamp" => view.deleting = present(v),
                            _ => {}
                        }
                    }
                }
                "spec" => {
                    for (k, v) in entries(Some(v)) {
                        match k {
                            "initContainers" => {
                                view.init_containers = array(v)
                                    .iter()
                                    .map(|c| {
                                        (
                                            str_at(c, &["name"]),
                                            str_at(c, &["restartPolicy"]) == "Always",
                                        )
                                    })
                                    .collect();
                            }
                            "containers" => view.containers = array(v).len(),
                            "nodeName" => view.node_name = as_str(v),
                            "readinessGates" => {
                                view.readiness_gates = array(v)
                                    .iter()
                                    .map(|g| opt_str_at(g, &["conditionType"]).unwrap_or(""))
                                    .collect();
                            }
                            _ => {}
                        }
                    }
                }
                "status" => {
                    for (k, v) in entries(Some(v)) {
                        match k {
                            "phase" => view.phase = as_str(v),
                            "reason" => view.reason = as_str(v),
                            "nominatedNodeName" => view.nominated_node_name = as_str(v),
                            "podIPs" => {
                                view.first_pod_ip = array(v).first().map(|ip| str_at(ip, &["ip"]));
                            }
                            "conditions" => {
                                view.conditions = array(v)
                                    .iter()
                                    .map(|c| {
                                        let (mut t, mut s, mut r) = ("", "", "");
                                        for (k, v) in entries(Some(c)) {
                                            match k {
                                                "type" => t = as_str(v),
                                                "status" => s = as_str(v),
                                                "reason" => r = as_str(v),
                                                _ => {}
                                            }
                                        }
                                        (t, s, r)
                                    })
                                    .collect();
                            }
                            "initContainerStatuses" => {
                                view.init_statuses =
                                    array(v).iter().map(status_from_json).collect();
                            }
                            "containerStatuses" => {
                                view.statuses = array(v).iter().map(status_from_json).collect();
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        view
    }

    pub(super) fn from_typed(pod: &'a corev1::Pod) -> Self {
        let spec = pod.spec.as_ref();
        let status = pod.status.as_ref();
        let typed_state = |s: Option<&'a corev1::ContainerState>| -> State<'a> {
            let Some(s) = s else {
                return State::default();
            };
            State {
                waiting: s
                    .waiting
                    .as_ref()
                    .map(|w| w.reason.as_deref().unwrap_or("")),
                running: s.running.is_some(),
                terminated: s.terminated.as_ref().map(|t| Terminated {
                    reason: t.reason.as_deref().unwrap_or(""),
                    exit_code: i64::from(t.exit_code),
                    signal: i64::from(t.signal.unwrap_or(0)),
                }),
            }
        };
        let typed_status = |c: &'a corev1::ContainerStatus| ContainerStatus {
            name: &c.name,
            ready: c.ready,
            started: c.started,
            restart_count: i64::from(c.restart_count),
            state: typed_state(c.state.as_ref()),
            last_finished: c
                .last_state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .map(|t| t.finished_at.as_ref().and_then(|f| non_zero(f.0))),
        };
        Self {
            name: pod.metadata.name.as_deref().unwrap_or(""),
            created: pod
                .metadata
                .creation_timestamp
                .as_ref()
                .and_then(|t| non_zero(t.0)),
            deleting: pod.metadata.deletion_timestamp.is_some(),
            phase: status.and_then(|s| s.phase.as_deref()).unwrap_or(""),
            reason: status.and_then(|s| s.reason.as_deref()).unwrap_or(""),
            conditions: status
                .and_then(|s| s.conditions.as_ref())
                .into_iter()
                .flatten()
                .map(|c| {
                    (
                        c.type_.as_str(),
                        c.status.as_str(),
                        c.reason.as_deref().unwrap_or(""),
                    )
                })
                .collect(),
            init_containers: spec
                .and_then(|s| s.init_containers.as_ref())
                .into_iter()
                .flatten()
                .map(|c| {
                    (
                        c.name.as_str(),
                        c.restart_policy.as_deref() == Some("Always"),
                    )
                })
                .collect(),
            containers: spec.map_or(0, |s| s.containers.len()),
            init_statuses: status
                .and_then(|s| s.init_container_statuses.as_ref())
                .into_iter()
                .flatten()
                .map(typed_status)
                .collect(),
            statuses: status
                .and_then(|s| s.container_statuses.as_ref())
                .into_iter()
                .flatten()
                .map(typed_status)
                .collect(),
            first_pod_ip: status
                .and_then(|s| s.pod_ips.as_ref())
                .and_then(|ips| ips.first())
                .map(|ip| ip.ip.as_str()),
            node_name: spec.and_then(|s| s.node_name.as_deref()).unwrap_or(""),
            nominated_node_name: status
                .and_then(|s| s.nominated_node_name.as_deref())
                .unwrap_or(""),
            readiness_gates: spec
                .and_then(|s| s.readiness_gates.as_ref())
                .into_iter()
                .flatten()
                .map(|g| g.condition_type.as_str())
                .collect(),
        }
    }

    fn is_restartable_init(&self, name: &str) -> bool {
        self.init_containers
            .iter()
            .find(|(n, _)| *n == name)
            .is_some_and(|(_, always)| *always)
    }

    /// Whether the first `Initialized` condition is True.
    fn initialized(&self) -> bool {
        self.conditions
            .iter()
            .find(|(t, _, _)| *t == "Initialized")
            .is_some_and(|(_, s, _)| *s == "True")
    }

    fn ready_condition(&self) -> bool {
        self.conditions
            .iter()
            .any(|(t, s, _)| *t == "Ready" && *s == "True")
    }

    /// The row's cells: name, ready, status, restarts, age, IP, node, nominated node,
    /// readiness gates.
    pub(super) fn cells(&self, now: Timestamp) -> Vec<Value> {
        let mut restarts: i64 = 0;
        let mut sidecar_restarts: i64 = 0;
        let total = self.containers
            + self
                .init_containers
                .iter()
                .filter(|(_, always)| *always)
                .count();
        let mut ready = 0usize;
        let mut last_restart: Option<Timestamp> = None;
        let mut last_sidecar_restart: Option<Timestamp> = None;
        let later = |cur: &mut Option<Timestamp>, t: Option<Option<Timestamp>>| {
            if let Some(Some(t)) = t
                && cur.is_none_or(|c| c < t)
            {
                *cur = Some(t);
            }
        };

        let mut reason: Cow<'a, str> = Cow::Borrowed(if self.reason.is_empty() {
            self.phase
        } else {
            self.reason
        });
        if self
            .conditions
            .iter()
            .any(|(t, _, r)| *t == "PodScheduled" && *r == "SchedulingGated")
        {
            reason = Cow::Borrowed("SchedulingGated");
        }

        let mut initializing = false;
        let n_init = self.init_containers.len();
        for (i, c) in self.init_statuses.iter().enumerate() {
            restarts += c.restart_count;
            later(&mut last_restart, c.last_finished);
            let restartable = self.is_restartable_init(c.name);
            if restartable {
                sidecar_restarts += c.restart_count;
                later(&mut last_sidecar_restart, c.last_finished);
            }
            if c.state
                .terminated
                .as_ref()
                .is_some_and(|t| t.exit_code == 0)
            {
                continue;
            }
            if restartable && c.started == Some(true) {
                if c.ready {
                    ready += 1;
                }
                continue;
            }
            if let Some(t) = &c.state.terminated {
                reason = Cow::Owned(if !t.reason.is_empty() {
                    format!("Init:{}", t.reason)
                } else if t.signal != 0 {
                    format!("Init:Signal:{}", t.signal)
                } else {
                    format!("Init:ExitCode:{}", t.exit_code)
                });
            } else if let Some(w) = c
                .state
                .waiting
                .filter(|w| !w.is_empty() && *w != "PodInitializing")
            {
                reason = Cow::Owned(format!("Init:{w}"));
            } else {
                reason = Cow::Owned(format!("Init:{i}/{n_init}"));
            }
            initializing = true;
            break;
        }

        if !initializing || self.initialized() {
            restarts = sidecar_restarts;
            last_restart = last_sidecar_restart;
            let mut has_running = false;
            let mut error_reason: Option<Cow<'a, str>> = None;
            for c in self.statuses.iter().rev() {
                restarts += c.restart_count;
                later(&mut last_restart, c.last_finished);
                if let Some(w) = c.state.waiting.filter(|w| !w.is_empty()) {
                    reason = Cow::Borrowed(w);
                } else if let Some(t) = &c.state.terminated {
                    reason = if !t.reason.is_empty() {
                        Cow::Borrowed(t.reason)
                    } else if t.signal != 0 {
                        Cow::Owned(format!("Signal:{}", t.signal))
                    } else {
                        Cow::Owned(format!("ExitCode:{}", t.exit_code))
                    };
                    if t.exit_code != 0 {
                        error_reason = Some(reason.clone());
                    }
                } else if c.ready && c.state.running {
                    has_running = true;
                    ready += 1;
                }
            }
            if reason == "Completed" {
                if has_running && self.ready_condition() {
                    reason = Cow::Borrowed("Running");
                } else if let Some(e) = error_reason {
                    reason = e;
                } else if has_running {
                    reason = Cow::Borrowed("NotReady");
                }
            }
        }

        if self.deleting && self.reason == "NodeLost" {
            reason = Cow::Borrowed("Unknown");
        } else if self.deleting && self.phase != "Succeeded" && self.phase != "Failed" {
            reason = Cow::Borrowed("Terminating");
        }

        let restarts_cell = match last_restart {
            Some(t) if restarts != 0 => {
                format!("{restarts} ({} ago)", human_duration(now.duration_since(t)))
            }
            _ => restarts.to_string(),
        };

        // Wide columns: the server always computes them; kubectl hides them without `-o wide`.
        let or_none = |s: &str| {
            if s.is_empty() {
                "<none>".to_owned()
            } else {
                s.to_owned()
            }
        };
        let readiness_gates = if self.readiness_gates.is_empty() {
            "<none>".to_owned()
        } else {
            let true_count = self
                .readiness_gates
                .iter()
                .filter(|gate| {
                    self.conditions
                        .iter()
                        .find(|(t, _, _)| t == *gate)
                        .is_some_and(|(_, s, _)| *s == "True")
                })
                .count();
            format!("{true_count}/{}", self.readiness_gates.len())
        };
        vec![
            Value::from(self.name),
            Value::from(format!("{ready}/{total}")),
            Value::from(reason.into_owned()),
            Value::from(restarts_cell),
            Value::from(since(now, self.created)),
            Value::from(or_none(self.first_pod_ip.unwrap_or(""))),
            Value::from(or_none(self.node_name)),
            Value::from(or_none(self.nominated_node_name)),
            Value::from(readiness_gates),
        ]
    }

    /// The row conditions Kubernetes sets on finished pods.
    pub(super) fn conditions(&self) -> Vec<Value> {
        match self.phase {
            "Succeeded" => vec![json!({
                "type": "Completed",
                "status": "True",
                "reason": "Succeeded",
                "message": "The pod has completed successfully."
            })],
            "Failed" => vec![json!({
                "type": "Completed",
                "status": "True",
                "reason": "Failed",
                "message": "The pod failed."
            })],
            _ => Vec::new(),
        }
    }
}
