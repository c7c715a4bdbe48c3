//! The scheduler: binds pending pods to nodes.
//!
//! Filters: the node is Ready and schedulable, its taints are tolerated, it matches the pod's
//! `nodeSelector` and required node affinity, the pod's host ports are free on it, and it has
//! room for the pod's requests (CPU, memory, pod count) within its allocatable. Among the nodes
//! left, scores favour spreading the replicas of one owner across nodes (weight 2) and the
//! least allocated node (weight 1), as Kubernetes' default plugins do. Binding goes through the `binding` subresource; decisions
//! are recorded as `Scheduled` / `FailedScheduling` events worded as Kubernetes words them, and
//! a pod that fits nowhere gets `PodScheduled=False` (`Unschedulable`) and is retried when
//! nodes or pods change.
//!
//! [`choose`] is the pure decision; [`run`] is the API shell.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use futures::StreamExt as _;
use k4t_api::validation::quantity::Quantity;
use k8s_openapi::api::core::v1::{Node, Pod, PodStatus};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Client, ResourceExt as _};
use serde_json::json;
use tokio::sync::Notify;

use crate::Config;
use crate::recorder::Recorder;

/// The scheduler's name in `spec.schedulerName` and in events.
pub const NAME: &str = "default-scheduler";

/// What a pod asks for, in milli-CPU and bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Request {
    pub cpu_millis: i128,
    pub memory_bytes: i128,
}

fn quantity(
    q: Option<&k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
) -> Option<Quantity> {
    q.and_then(|q| Quantity::parse(&q.0).ok())
}

/// The effective request of a pod, as the scheduler computes it: the larger of the sum over
/// regular containers and the largest init container, plus the pod overhead.
pub fn pod_request(pod: &Pod) -> Request {
    let Some(spec) = pod.spec.as_ref() else {
        return Request::default();
    };
    let of = |c: &k8s_openapi::api::core::v1::Container| {
        let req = c.resources.as_ref().and_then(|r| r.requests.as_ref());
        Request {
            cpu_millis: quantity(req.and_then(|r| r.get("cpu"))).map_or(0, |q| q.milli_value()),
            memory_bytes: quantity(req.and_then(|r| r.get("memory"))).map_or(0, |q| q.value()),
        }
    };
    let mut sum = Request::default();
    for c in &spec.containers {
        let r = of(c);
        sum.cpu_millis += r.cpu_millis;
        sum.memory_bytes += r.memory_bytes;
    }
    for c in spec.init_containers.iter().flatten() {
        let r = of(c);
        sum.cpu_millis = sum.cpu_millis.max(r.cpu_millis);
        sum.memory_bytes = sum.memory_bytes.max(r.memory_bytes);
    }
    if let Some(overhead) = spec.overhead.as_ref() {
        sum.cpu_millis += quantity(overhead.get("cpu")).map_or(0, |q| q.milli_value());
        sum.memory_bytes += quantity(overhead.get("memory")).map_or(0, |q| q.value());
    }
    sum
}

/// What is already placed on a node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allocated {
    pub cpu_millis: i128,
    pub memory_bytes: i128,
    pub pods: i128,
    /// Host ports in use: (protocol, host IP, port).
    pub host_ports: BTreeSet<(String, String, i32)>,
    /// Pods per controlling owner (UID), to spread replicas.
    pub by_owner: BTreeMap<String, i128>,
}

fn host_ports(pod: &Pod) -> Vec<(String, String, i32)> {
    pod.spec
        .iter()
        .flat_map(|s| {
            s.containers
                .iter()
                .chain(s.init_containers.iter().flatten())
        })
        .flat_map(|c| c.ports.iter().flatten())
        .filter_map(|p| {
            let port = p.host_port.filter(|h| *h > 0)?;
            Some((
                p.protocol.clone().unwrap_or_else(|| "TCP".to_owned()),
                p.host_ip.clone().unwrap_or_else(|| "0.0.0.0".to_owned()),
                port,
            ))
        })
        .collect()
}

fn owner_uid(pod: &Pod) -> Option<&str> {
    pod.metadata
        .owner_references
        .as_ref()?
        .iter()
        .find(|r| r.controller == Some(true))
        .map(|r| r.uid.as_str())
}

impl Allocated {
    /// Counts `pod` as placed here.
    pub fn add(&mut self, pod: &Pod) {
        let r = pod_request(pod);
        self.cpu_millis += r.cpu_millis;
        self.memory_bytes += r.memory_bytes;
        self.pods += 1;
        self.host_ports.extend(host_ports(pod));
        if let Some(owner) = owner_uid(pod) {
            *self.by_owner.entry(owner.to_owned()).or_default() += 1;
        }
    }

    fn port_conflict(&self, pod: &Pod) -> bool {
        host_ports(pod).iter().any(|(proto, ip, port)| {
            self.host_ports.iter().any(|(p, i, n)| {
                p == proto && n == port && (i == ip || i == "0.0.0.0" || ip == "0.0.0.0")
            })
        })
    }
}

/// Sums the requests of the pods bound to each node that still hold resources.
pub fn allocations<'a>(pods: impl IntoIterator<Item = &'a Pod>) -> HashMap<String, Allocated> {
    let mut out: HashMap<String, Allocated> = HashMap::new();
    for p in pods {
        let Some(node) = p
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .filter(|n| !n.is_empty())
        else {
            continue;
        };
        let phase = p
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .unwrap_or("");
        if phase == "Succeeded" || phase == "Failed" {
            continue;
        }
        out.entry(node.to_owned()).or_default().add(p);
    }
    out
}

fn tolerates(pod: &Pod, taint: &k8s_openapi::api::core::v1::Taint) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.tolerations.as_ref())
        .into_iter()
        .flatten()
        .any(|t| {
            let effect_ok = t
                .effect
                .as_deref()
                .is_none_or(|e| e.is_empty() || e == taint.effect);
            let key_ok = match t.operator.as_deref() {
                Some("Exists") => t
                    .key
                    .as_deref()
                    .is_none_or(|k| k.is_empty() || k == taint.key),
                _ => {
                    t.key.as_deref() == Some(taint.key.as_str())
                        && t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or("")
                }
            };
            effect_ok && key_ok
        })
}

fn requirement_matches(
    r: &k8s_openapi::api::core::v1::NodeSelectorRequirement,
    value: Option<&str>,
) -> bool {
    let values = r.values.as_deref().unwrap_or_default();
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| !values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(v), Some(bound)) = (
                value.and_then(|v| v.parse::<i64>().ok()),
                values.first().and_then(|b| b.parse::<i64>().ok()),
            ) else {
                return false;
            };
            if r.operator == "Gt" {
                v > bound
            } else {
                v < bound
            }
        }
        _ => false,
    }
}

/// Whether the node satisfies the pod's required node affinity (any term; within a term,
/// every expression and field).
fn affinity_matches(pod: &Pod, node: &Node) -> bool {
    let Some(required) = pod
        .spec
        .as_ref()
        .and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
    else {
        return true;
    };
    let labels = node.metadata.labels.clone().unwrap_or_default();
    let name = node.metadata.name.clone().unwrap_or_default();
    required.node_selector_terms.iter().any(|term| {
        let exprs = term.match_expressions.iter().flatten();
        let fields = term.match_fields.iter().flatten();
        let has_any = term
            .match_expressions
            .as_ref()
            .is_some_and(|e| !e.is_empty())
            || term.match_fields.as_ref().is_some_and(|f| !f.is_empty());
        has_any
            && exprs
                .clone()
                .all(|r| requirement_matches(r, labels.get(&r.key).map(String::as_str)))
            && fields
                .clone()
                .all(|r| r.key == "metadata.name" && requirement_matches(r, Some(name.as_str())))
    })
}

/// Why a node was filtered out, as the scheduler's message counts it.
fn node_fit(pod: &Pod, node: &Node, allocated: &Allocated) -> Result<i128, String> {
    let spec = node.spec.as_ref();
    if spec.and_then(|s| s.unschedulable).unwrap_or(false) {
        return Err("node(s) were unschedulable".into());
    }
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .map(|c| c.status.as_str());
    match ready {
        Some("True") => {}
        Some("False") => {
            return Err("node(s) had untolerated taint {node.kubernetes.io/not-ready: }".into());
        }
        _ => {
            return Err("node(s) had untolerated taint {node.kubernetes.io/unreachable: }".into());
        }
    }
    for taint in spec.and_then(|s| s.taints.as_ref()).into_iter().flatten() {
        if (taint.effect == "NoSchedule" || taint.effect == "NoExecute") && !tolerates(pod, taint) {
            return Err(format!(
                "node(s) had untolerated taint {{{}: {}}}",
                taint.key,
                taint.value.as_deref().unwrap_or("")
            ));
        }
    }
    let labels = node.metadata.labels.clone().unwrap_or_default();
    let selector_ok = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_selector.as_ref())
        .is_none_or(|sel| sel.iter().all(|(k, v)| labels.get(k) == Some(v)));
    if !selector_ok || !affinity_matches(pod, node) {
        return Err("node(s) didn't match Pod's node affinity/selector".into());
    }
    if allocated.port_conflict(pod) {
        return Err("node(s) didn't have free ports for the requested pod ports".into());
    }
    let alloc = node.status.as_ref().and_then(|s| s.allocatable.as_ref());
    let cap = |name: &str| quantity(alloc.and_then(|a| a.get(name)));
    let req = pod_request(pod);
    if let Some(pods) = cap("pods")
        && allocated.pods + 1 > pods.value()
    {
        return Err("Too many pods".into());
    }
    let cpu = cap("cpu").map_or(i128::MAX, |q| q.milli_value());
    if req.cpu_millis > 0 && allocated.cpu_millis + req.cpu_millis > cpu {
        return Err("Insufficient cpu".into());
    }
    let memory = cap("memory").map_or(i128::MAX, |q| q.value());
    if req.memory_bytes > 0 && allocated.memory_bytes + req.memory_bytes > memory {
        return Err("Insufficient memory".into());
    }
    // Least allocated: the score is the free share left after placing the pod, in per mille.
    let share = |used: i128, total: i128| {
        if total <= 0 || total == i128::MAX {
            1000
        } else {
            1000 - used * 1000 / total
        }
    };
    let least_allocated = (share(allocated.cpu_millis + req.cpu_millis, cpu)
        + share(allocated.memory_bytes + req.memory_bytes, memory))
        / 2;
    // Spreading: fewer replicas of the same owner on a node is better.
    let siblings = owner_uid(pod).map_or(0, |o| allocated.by_owner.get(o).copied().unwrap_or(0));
    let spread = 1000 / (1 + siblings);
    Ok(least_allocated + 2 * spread)
}

/// Picks the node for `pod`, or explains why none fits with the scheduler's message.
pub fn choose(
    pod: &Pod,
    nodes: &[Arc<Node>],
    allocated: &HashMap<String, Allocated>,
) -> Result<String, String> {
    if nodes.is_empty() {
        return Err("no nodes available to schedule pods".to_owned());
    }
    let mut best: Option<(i128, String)> = None;
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for node in nodes {
        let name = node.name_any();
        let none = Allocated::default();
        let a = allocated.get(&name).unwrap_or(&none);
        match node_fit(pod, node, a) {
            Ok(score) => {
                if best
                    .as_ref()
                    .is_none_or(|(s, n)| score > *s || (score == *s && name < *n))
                {
                    best = Some((score, name));
                }
            }
            Err(reason) => *reasons.entry(reason).or_default() += 1,
        }
    }
    if let Some((_, name)) = best {
        return Ok(name);
    }
    let n = nodes.len();
    let mut parts: Vec<String> = reasons.iter().map(|(r, c)| format!("{c} {r}")).collect();
    parts.sort();
    Err(format!(
        "0/{n} nodes are available: {}. preemption: 0/{n} nodes are available: {n} Preemption is not helpful for scheduling.",
        parts.join(", ")
    ))
}

fn pending(pod: &Pod) -> bool {
    let spec = pod.spec.as_ref();
    let unbound = spec
        .and_then(|s| s.node_name.as_deref())
        .is_none_or(str::is_empty);
    let ours = spec
        .and_then(|s| s.scheduler_name.as_deref())
        .unwrap_or(NAME)
        == NAME;
    let gated = spec
        .and_then(|s| s.scheduling_gates.as_ref())
        .is_some_and(|g| !g.is_empty());
    unbound && ours && !gated && pod.metadata.deletion_timestamp.is_none()
}

/// What the scheduler keeps of a pod: everything but its managedFields (as Kubernetes'
/// scheduler drops them from its informer cache) and, of its status, the phase. A copy of every
/// pod is held for as long as it lives, so the rest would cost the server memory per pod.
fn slim_pod(pod: &mut Pod) {
    pod.metadata.managed_fields = None;
    if let Some(status) = pod.status.as_mut() {
        *status = PodStatus {
            phase: status.phase.take(),
            ..PodStatus::default()
        };
    }
}

/// Runs the scheduler until the task is dropped.
pub async fn run(client: Client, config: Config) {
    let pods: Api<Pod> = Api::all(client.clone());
    let nodes: Api<Node> = Api::all(client.clone());
    let (pod_store, pod_writer) = reflector::store::<Pod>();
    let (node_store, node_writer) = reflector::store::<Node>();
    let wake = Arc::new(Notify::new());
    let pod_stream = {
        let wake = wake.clone();
        watcher(pods, watcher::Config::default())
            .default_backoff()
            .modify(slim_pod)
            .reflect(pod_writer)
            .applied_objects()
            .for_each(move |_| {
                wake.notify_one();
                async {}
            })
    };
    let node_stream = {
        let wake = wake.clone();
        watcher(nodes, watcher::Config::default())
            .default_backoff()
            .modify(|n: &mut Node| n.metadata.managed_fields = None)
            .reflect(node_writer)
            .applied_objects()
            .for_each(move |_| {
                wake.notify_one();
                async {}
            })
    };
    let recorder = Recorder::new(client.clone(), NAME);
    let loop_ = schedule_loop(client, pod_store, node_store, wake, recorder, config);
    tokio::join!(pod_stream, node_stream, loop_);
}

async fn schedule_loop(
    client: Client,
    pods: Store<Pod>,
    nodes: Store<Node>,
    wake: Arc<Notify>,
    recorder: Recorder,
    config: Config,
) {
    // The message last recorded per unschedulable pod, so a retry that fails the same way
    // does not repeat the event.
    let mut failed: HashMap<String, String> = HashMap::new();
    loop {
        // Wake on any change, or retry unschedulable pods now and then.
        let _ = tokio::time::timeout(config.retry_after, wake.notified()).await;
        if pods.wait_until_ready().await.is_err() || nodes.wait_until_ready().await.is_err() {
            continue;
        }
        let all = pods.state();
        let node_list = nodes.state();
        let mut allocated = allocations(all.iter().map(|p| p.as_ref()));
        let mut queue: Vec<&Arc<Pod>> = all.iter().filter(|p| pending(p)).collect();
        queue.sort_by(|a, b| {
            a.metadata
                .creation_timestamp
                .cmp(&b.metadata.creation_timestamp)
        });
        failed.retain(|uid, _| queue.iter().any(|p| p.metadata.uid.as_deref() == Some(uid)));
        for pod in queue {
            let name = pod.name_any();
            let ns = pod.namespace().unwrap_or_default();
            let uid = pod.metadata.uid.clone().unwrap_or_default();
            match choose(pod, &node_list, &allocated) {
                Ok(node) => {
                    let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
                    let binding = json!({
                        "apiVersion": "v1", "kind": "Binding",
                        "metadata": {"name": name, "namespace": ns, "uid": uid},
                        "target": {"apiVersion": "v1", "kind": "Node", "name": node},
                    });
                    match api
                        .create_subresource::<serde_json::Value, serde_json::Value>(
                            "binding",
                            &name,
                            &PostParams::default(),
                            &binding,
                        )
                        .await
                    {
                        Ok(_) => {
                            allocated.entry(node.clone()).or_default().add(pod);
                            failed.remove(&uid);
                            recorder
                                .record(
                                    pod,
                                    "Normal",
                                    "Scheduled",
                                    &format!("Successfully assigned {ns}/{name} to {node}"),
                                    "Binding",
                                )
                                .await;
                        }
                        Err(e) => {
                            tracing::debug!(pod = %name, error = %e, "binding failed; will retry")
                        }
                    }
                }
                Err(message) => {
                    if failed.get(&uid) == Some(&message) {
                        continue;
                    }
                    failed.insert(uid.clone(), message.clone());
                    let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
                    let status = json!({"status": {"conditions": [{
                        "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                        "message": message, "lastProbeTime": null,
                        "lastTransitionTime": k4t_api::rest::format_time(jiff::Timestamp::now()),
                    }]}});
                    if let Err(e) = api
                        .patch_status(&name, &PatchParams::default(), &Patch::Strategic(status))
                        .await
                    {
                        tracing::debug!(pod = %name, error = %e, "writing PodScheduled=False");
                    }
                    recorder
                        .record(pod, "Warning", "FailedScheduling", &message, "Scheduling")
                        .await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, ready: &str, cpu: &str, labels: &[(&str, &str)]) -> Arc<Node> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": name, "labels": labels.iter().cloned().collect::<BTreeMap<_, _>>()},
                "status": {
                    "conditions": [{"type": "Ready", "status": ready}],
                    "allocatable": {"cpu": cpu, "memory": "4Gi", "pods": "110"}
                }
            }))
            .unwrap(),
        )
    }

    fn pod(cpu: &str, selector: Option<(&str, &str)>) -> Pod {
        let mut p = json!({"metadata": {"name": "p", "namespace": "default"}, "spec": {"containers": [
            {"name": "a", "image": "i", "resources": {"requests": {"cpu": cpu}}}
        ]}});
        if let Some((k, v)) = selector {
            p["spec"]["nodeSelector"] = json!({k: v});
        }
        serde_json::from_value(p).unwrap()
    }

    #[test]
    fn picks_a_ready_fitting_least_allocated_node() {
        let nodes = vec![node("a", "True", "2", &[]), node("b", "True", "2", &[])];
        let mut alloc = HashMap::new();
        alloc.insert(
            "a".to_owned(),
            Allocated {
                cpu_millis: 1500,
                memory_bytes: 0,
                pods: 3,
                ..Default::default()
            },
        );
        assert_eq!(
            choose(&pod("500m", None), &nodes, &alloc),
            Ok("b".to_owned())
        );
    }

    #[test]
    fn explains_failures_like_kubernetes() {
        let nodes = vec![
            node("a", "True", "1", &[("disk", "ssd")]),
            node("b", "False", "8", &[]),
            node("c", "True", "8", &[("disk", "hdd")]),
        ];
        let err = choose(&pod("2", Some(("disk", "ssd"))), &nodes, &HashMap::new()).unwrap_err();
        assert_eq!(
            err,
            "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        );
        assert_eq!(
            choose(&pod("1", None), &[], &HashMap::new()).unwrap_err(),
            "no nodes available to schedule pods"
        );
    }

    #[test]
    fn requests_sum_containers_and_take_the_largest_init() {
        let p: Pod = serde_json::from_value(json!({"spec": {
            "containers": [
                {"name": "a", "image": "i", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}},
                {"name": "b", "image": "i", "resources": {"requests": {"cpu": "200m"}}}
            ],
            "initContainers": [{"name": "i", "image": "i", "resources": {"requests": {"cpu": "1"}}}]
        }}))
        .unwrap();
        assert_eq!(
            pod_request(&p),
            Request {
                cpu_millis: 1000,
                memory_bytes: 64 * 1024 * 1024
            }
        );
    }

    fn with(mut p: Pod, f: impl FnOnce(&mut serde_json::Value)) -> Pod {
        let mut v = serde_json::to_value(&p).unwrap();
        f(&mut v);
        p = serde_json::from_value(v).unwrap();
        p
    }

    fn tainted(n: &Arc<Node>, key: &str, value: &str, effect: &str) -> Arc<Node> {
        let mut n = (**n).clone();
        n.spec.get_or_insert_with(Default::default).taints =
            Some(vec![k8s_openapi::api::core::v1::Taint {
                key: key.into(),
                value: Some(value.into()),
                effect: effect.into(),
                time_added: None,
            }]);
        Arc::new(n)
    }

    #[test]
    fn taints_keep_pods_off_unless_tolerated() {
        let nodes = vec![tainted(
            &node("a", "True", "2", &[]),
            "dedicated",
            "db",
            "NoSchedule",
        )];
        let err = choose(&pod("100m", None), &nodes, &HashMap::new()).unwrap_err();
        assert!(
            err.starts_with(
                "0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: db}."
            ),
            "{err}"
        );
        let equal = with(pod("100m", None), |v| {
            v["spec"]["tolerations"] = json!([{"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}]);
        });
        assert_eq!(choose(&equal, &nodes, &HashMap::new()), Ok("a".to_owned()));
        let exists = with(pod("100m", None), |v| {
            v["spec"]["tolerations"] = json!([{"operator": "Exists"}]);
        });
        assert_eq!(choose(&exists, &nodes, &HashMap::new()), Ok("a".to_owned()));
        let wrong = with(pod("100m", None), |v| {
            v["spec"]["tolerations"] = json!([{"key": "dedicated", "value": "web"}]);
        });
        assert!(choose(&wrong, &nodes, &HashMap::new()).is_err());
        // PreferNoSchedule is only a preference.
        let soft = vec![tainted(
            &node("a", "True", "2", &[]),
            "k",
            "v",
            "PreferNoSchedule",
        )];
        assert_eq!(
            choose(&pod("100m", None), &soft, &HashMap::new()),
            Ok("a".to_owned())
        );
    }

    #[test]
    fn required_node_affinity_filters_nodes() {
        let nodes = vec![
            node("a", "True", "2", &[("zone", "x"), ("gen", "3")]),
            node("b", "True", "2", &[("zone", "y"), ("gen", "5")]),
        ];
        let affinity = |terms: serde_json::Value| {
            with(pod("100m", None), |v| {
                v["spec"]["affinity"] = json!({"nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}
                }});
            })
        };
        let none = HashMap::new();
        let p = affinity(
            json!([{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["y"]}]}]),
        );
        assert_eq!(choose(&p, &nodes, &none), Ok("b".to_owned()));
        let p = affinity(
            json!([{"matchExpressions": [{"key": "gen", "operator": "Lt", "values": ["4"]}]}]),
        );
        assert_eq!(choose(&p, &nodes, &none), Ok("a".to_owned()));
        let p = affinity(
            json!([{"matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["a"]}]}]),
        );
        assert_eq!(choose(&p, &nodes, &none), Ok("b".to_owned()));
        let p =
            affinity(json!([{"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]}]));
        assert!(
            choose(&p, &nodes, &none)
                .unwrap_err()
                .contains("2 node(s) didn't match Pod's node affinity/selector")
        );
    }

    #[test]
    fn host_ports_are_not_shared() {
        let nodes = vec![node("a", "True", "2", &[])];
        let web = |port: i64| {
            with(pod("100m", None), |v| {
                v["spec"]["containers"][0]["ports"] =
                    json!([{"containerPort": 80, "hostPort": port}]);
            })
        };
        let alloc = allocations([&with(web(8080), |v| v["spec"]["nodeName"] = json!("a"))]);
        assert!(
            choose(&web(8080), &nodes, &alloc)
                .unwrap_err()
                .contains("1 node(s) didn't have free ports for the requested pod ports")
        );
        assert_eq!(choose(&web(8081), &nodes, &alloc), Ok("a".to_owned()));
    }

    #[test]
    fn replicas_of_one_owner_spread_across_nodes() {
        let nodes = vec![node("a", "True", "8", &[]), node("b", "True", "8", &[])];
        let owned = |node_name: Option<&str>| {
            with(pod("100m", None), |v| {
                v["metadata"]["ownerReferences"] = json!([{
                    "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
                    "uid": "rs-1", "controller": true
                }]);
                if let Some(n) = node_name {
                    v["spec"]["nodeName"] = json!(n);
                }
            })
        };
        // "a" is less allocated, but it already runs a sibling; "b" runs only a stranger.
        let sibling = owned(Some("a"));
        let stranger = with(pod("1", None), |v| v["spec"]["nodeName"] = json!("b"));
        let alloc = allocations([&sibling, &stranger]);
        assert_eq!(choose(&owned(None), &nodes, &alloc), Ok("b".to_owned()));
    }
}
