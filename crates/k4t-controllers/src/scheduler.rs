//! The scheduler: binds pending pods to nodes.
//!
//! Filters: the node is Ready and schedulable, matches the pod's `nodeSelector`, and has room
//! for the pod's requests (CPU, memory, pod count) within its allocatable. Among the nodes
//! left, the least allocated wins. Binding goes through the `binding` subresource; decisions
//! are recorded as `Scheduled` / `FailedScheduling` events worded as Kubernetes words them, and
//! a pod that fits nowhere gets `PodScheduled=False` (`Unschedulable`) and is retried when
//! nodes or pods change.
//!
//! [`choose`] is the pure decision; [`run`] is the API shell.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use futures::StreamExt as _;
use k4t_api::validation::quantity::Quantity;
use k8s_openapi::api::core::v1::{Node, Pod};
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Allocated {
    pub cpu_millis: i128,
    pub memory_bytes: i128,
    pub pods: i128,
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
        let r = pod_request(p);
        let a = out.entry(node.to_owned()).or_default();
        a.cpu_millis += r.cpu_millis;
        a.memory_bytes += r.memory_bytes;
        a.pods += 1;
    }
    out
}

/// Why a node was filtered out, as the scheduler's message counts it.
fn node_fit(pod: &Pod, node: &Node, allocated: &Allocated) -> Result<i128, &'static str> {
    let spec = node.spec.as_ref();
    if spec.and_then(|s| s.unschedulable).unwrap_or(false) {
        return Err("node(s) were unschedulable");
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
            return Err("node(s) had untolerated taint {node.kubernetes.io/not-ready: }");
        }
        _ => return Err("node(s) had untolerated taint {node.kubernetes.io/unreachable: }"),
    }
    let labels = node.metadata.labels.clone().unwrap_or_default();
    if let Some(selector) = pod.spec.as_ref().and_then(|s| s.node_selector.as_ref())
        && !selector.iter().all(|(k, v)| labels.get(k) == Some(v))
    {
        return Err("node(s) didn't match Pod's node affinity/selector");
    }
    let alloc = node.status.as_ref().and_then(|s| s.allocatable.as_ref());
    let cap = |name: &str| quantity(alloc.and_then(|a| a.get(name)));
    let req = pod_request(pod);
    if let Some(pods) = cap("pods")
        && allocated.pods + 1 > pods.value()
    {
        return Err("Too many pods");
    }
    let cpu = cap("cpu").map_or(i128::MAX, |q| q.milli_value());
    if req.cpu_millis > 0 && allocated.cpu_millis + req.cpu_millis > cpu {
        return Err("Insufficient cpu");
    }
    let memory = cap("memory").map_or(i128::MAX, |q| q.value());
    if req.memory_bytes > 0 && allocated.memory_bytes + req.memory_bytes > memory {
        return Err("Insufficient memory");
    }
    // Least allocated: the score is the free share left after placing the pod, in per mille.
    let share = |used: i128, total: i128| {
        if total <= 0 || total == i128::MAX {
            1000
        } else {
            1000 - used * 1000 / total
        }
    };
    Ok(share(allocated.cpu_millis + req.cpu_millis, cpu)
        + share(allocated.memory_bytes + req.memory_bytes, memory))
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
    let mut reasons: BTreeMap<&'static str, usize> = BTreeMap::new();
    for node in nodes {
        let name = node.name_any();
        let a = allocated.get(&name).copied().unwrap_or_default();
        match node_fit(pod, node, &a) {
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
                            let a = allocated.entry(node.clone()).or_default();
                            let r = pod_request(pod);
                            a.cpu_millis += r.cpu_millis;
                            a.memory_bytes += r.memory_bytes;
                            a.pods += 1;
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
}
