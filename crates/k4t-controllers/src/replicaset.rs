//! The ReplicaSet controller: keeps `spec.replicas` pods of a ReplicaSet's template alive,
//! adopts orphan pods its selector matches, releases owned pods it no longer matches, and
//! reports the set's status — what kube-controller-manager's replicaset controller does, with
//! one deliberate difference: among pods otherwise equal for scale-down, k4t removes the
//! **oldest** first (Kubernetes removes the newest, keeping the longest-running and possibly
//! leakiest replicas).
//!
//! [`plan`] is the whole decision, pure; [`run`] is the kube-rs shell around it. Decisions are
//! made from a list read from the API server, not from a watch cache: the API server answers a
//! list only after its cache has applied every write it acknowledged, so pods this controller
//! just created are always counted and a lagging watch cannot make it create too many (the
//! job Kubernetes' "expectations" do for its informer-fed controller).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use jiff::Timestamp;
use k4t_api::selector::LabelSelector;
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetCondition, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, Resource as _, ResourceExt as _};

use crate::recorder::Recorder;
use crate::{Config, Error};

const NAME: &str = "replicaset-controller";

/// At most this many pods are created or deleted in one pass (Kubernetes' `burstReplicas`).
pub const BURST: usize = 500;

// ---------------------------------------------------------------------------------------
// The pure core

/// What a ReplicaSet should do about the pods of its namespace.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// Orphans to adopt (pod names).
    pub adopt: Vec<String>,
    /// Owned pods the selector no longer matches, to release (pod names).
    pub release: Vec<String>,
    /// Pods to create.
    pub create: usize,
    /// Pods to delete, in order (pod names).
    pub delete: Vec<String>,
    /// The status the set reports, computed from the pods before this plan is carried out.
    pub status: ReplicaSetStatus,
    /// When a ready pod becomes available (minReadySeconds), so the status changes without
    /// any event to wake the controller.
    pub recheck_after: Option<Duration>,
}

/// A pod that neither ended nor is being deleted.
pub fn is_active(p: &Pod) -> bool {
    let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
    p.metadata.deletion_timestamp.is_none() && !matches!(phase, Some("Succeeded" | "Failed"))
}

fn controller_ref(p: &Pod) -> Option<&OwnerReference> {
    p.metadata
        .owner_references
        .as_ref()?
        .iter()
        .find(|r| r.controller == Some(true))
}

/// Since when the pod has been Ready, if it is.
fn ready_since(p: &Pod) -> Option<Timestamp> {
    let c = p
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")?;
    (c.status == "True").then(|| {
        c.last_transition_time
            .as_ref()
            .map(|t| t.0)
            .unwrap_or(Timestamp::UNIX_EPOCH)
    })
}

fn is_ready(p: &Pod) -> bool {
    ready_since(p).is_some()
}

fn restarts(p: &Pod) -> i32 {
    p.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|cs| cs.iter().map(|c| c.restart_count).max().unwrap_or(0))
        .unwrap_or(0)
}

fn created(p: &Pod) -> Timestamp {
    p.metadata
        .creation_timestamp
        .as_ref()
        .map(|t| t.0)
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

fn phase_rank(p: &Pod) -> u8 {
    match p.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Pending") | None => 0,
        Some("Unknown") => 1,
        _ => 2,
    }
}

/// The order in which pods are given up when scaling down, first to go first: unscheduled
/// before scheduled, Pending before Unknown before Running, not ready before ready, more
/// restarts before fewer (as Kubernetes ranks them); then, where Kubernetes keeps the oldest,
/// k4t gives up the oldest (see the module documentation). The name breaks the last tie so the
/// order is total.
pub fn deletion_order(a: &Pod, b: &Pod) -> Ordering {
    let scheduled = |p: &Pod| {
        p.spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .is_some_and(|n| !n.is_empty())
    };
    scheduled(a)
        .cmp(&scheduled(b))
        .then_with(|| phase_rank(a).cmp(&phase_rank(b)))
        .then_with(|| is_ready(a).cmp(&is_ready(b)))
        .then_with(|| restarts(b).cmp(&restarts(a)))
        .then_with(|| created(a).cmp(&created(b)))
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

/// Decides what the ReplicaSet does with the pods of its namespace.
pub fn plan(rs: &ReplicaSet, pods: &[Pod], now: Timestamp, failure: Option<&str>) -> Plan {
    let uid = rs.metadata.uid.as_deref().unwrap_or_default();
    let spec = rs.spec.as_ref();
    let selector = spec
        .and_then(|s| LabelSelector::from_label_selector(&s.selector).ok())
        // An invalid or empty selector selects nothing (validation should have refused it).
        .filter(|s| !s.is_empty())
        .unwrap_or_else(LabelSelector::nothing);
    let replicas = spec.and_then(|s| s.replicas).unwrap_or(1).max(0) as usize;
    let min_ready = spec.and_then(|s| s.min_ready_seconds).unwrap_or(0).max(0);
    let template_labels = spec
        .and_then(|s| s.template.as_ref())
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let no_labels = BTreeMap::new();

    let mut plan = Plan::default();
    let mut owned: Vec<&Pod> = Vec::new();
    for p in pods {
        let labels = p.metadata.labels.as_ref().unwrap_or(&no_labels);
        let matches = selector.matches(labels);
        let name = p.metadata.name.clone().unwrap_or_default();
        match controller_ref(p) {
            Some(r) if r.uid == uid => {
                if matches {
                    owned.push(p);
                } else if p.metadata.deletion_timestamp.is_none() {
                    plan.release.push(name);
                }
            }
            Some(_) => {}
            None => {
                // A set being deleted adopts nothing.
                if matches && is_active(p) && rs.metadata.deletion_timestamp.is_none() {
                    plan.adopt.push(name);
                    owned.push(p);
                }
            }
        }
    }
    let active: Vec<&Pod> = owned.iter().copied().filter(|p| is_active(p)).collect();
    let terminating = owned
        .iter()
        .filter(|p| {
            let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
            p.metadata.deletion_timestamp.is_some()
                && !matches!(phase, Some("Succeeded" | "Failed"))
        })
        .count();

    if rs.metadata.deletion_timestamp.is_none() {
        if active.len() < replicas {
            plan.create = (replicas - active.len()).min(BURST);
        } else if active.len() > replicas {
            let mut doomed = active.clone();
            doomed.sort_by(|a, b| deletion_order(a, b));
            plan.delete = doomed
                .iter()
                .take((active.len() - replicas).min(BURST))
                .filter_map(|p| p.metadata.name.clone())
                .collect();
        }
    }

    let mut ready = 0;
    let mut available = 0;
    let mut fully_labeled = 0;
    let mut next_available: Option<i64> = None;
    for p in &active {
        let labels = p.metadata.labels.as_ref().unwrap_or(&no_labels);
        if template_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
        {
            fully_labeled += 1;
        }
        let Some(since) = ready_since(p) else {
            continue;
        };
        ready += 1;
        let ready_for = now.as_second() - since.as_second();
        if min_ready == 0 || ready_for >= i64::from(min_ready) {
            available += 1;
        } else {
            let left = i64::from(min_ready) - ready_for;
            next_available = Some(next_available.map_or(left, |n| n.min(left)));
        }
    }
    plan.recheck_after = next_available.map(|s| Duration::from_secs(s.max(1) as u64));

    let previous = rs.status.as_ref();
    let mut conditions: Vec<ReplicaSetCondition> = previous
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.type_ != "ReplicaFailure")
        .collect();
    if let Some(message) = failure {
        let old = previous
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == "ReplicaFailure"));
        conditions.push(ReplicaSetCondition {
            type_: "ReplicaFailure".to_owned(),
            status: "True".to_owned(),
            reason: Some("FailedCreate".to_owned()),
            message: Some(message.to_owned()),
            last_transition_time: old
                .and_then(|c| c.last_transition_time.clone())
                .or(Some(Time(now))),
        });
    }
    plan.status = ReplicaSetStatus {
        replicas: active.len() as i32,
        fully_labeled_replicas: Some(fully_labeled),
        ready_replicas: Some(ready),
        available_replicas: Some(available),
        observed_generation: rs.metadata.generation,
        conditions: (!conditions.is_empty()).then_some(conditions),
        terminating_replicas: Some(terminating as i32),
    };
    plan
}

/// The pod the ReplicaSet creates from its template.
pub fn pod_from_template(rs: &ReplicaSet) -> Pod {
    let template = rs.spec.as_ref().and_then(|s| s.template.clone());
    let meta = template
        .as_ref()
        .and_then(|t| t.metadata.clone())
        .unwrap_or_default();
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", rs.name_any())),
            namespace: rs.namespace(),
            labels: meta.labels,
            annotations: meta.annotations,
            finalizers: meta.finalizers,
            owner_references: rs.controller_owner_ref(&()).map(|mut r| {
                r.block_owner_deletion = Some(true);
                vec![r]
            }),
            ..Default::default()
        },
        spec: template.and_then(|t| t.spec),
        status: None,
    }
}

// ---------------------------------------------------------------------------------------
// The I/O shell

struct Ctx {
    client: Client,
    config: Config,
    recorder: Recorder,
}

fn kube_err(object: String) -> impl FnOnce(kube::Error) -> Error {
    move |source| Error::Kube { object, source }
}

async fn reconcile(rs: Arc<ReplicaSet>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let ns = rs.namespace().unwrap_or_default();
    let name = rs.name_any();
    let key = format!("replicasets/{ns}/{name}");
    let pods_api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let sets: Api<ReplicaSet> = Api::namespaced(ctx.client.clone(), &ns);
    let pods = pods_api
        .list(&ListParams::default())
        .await
        .map_err(kube_err(format!("pods/{ns}")))?
        .items;
    let first = plan(&rs, &pods, Timestamp::now(), None);
    let rs_ref = rs.object_ref(&());

    let owner = rs.controller_owner_ref(&()).map(|mut r| {
        r.block_owner_deletion = Some(true);
        r
    });
    for pod in &first.adopt {
        // A merge patch replaces the list: the pod had no controller, so keep its other owners.
        let mut refs = pods
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(pod))
            .and_then(|p| p.metadata.owner_references.clone())
            .unwrap_or_default();
        refs.extend(owner.clone());
        let patch = serde_json::json!({"metadata": {"ownerReferences": refs}});
        if let Err(e) = pods_api
            .patch(pod, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            tracing::warn!(pod = %pod, replicaset = %key, error = %e, "adopting a pod");
        }
    }
    for pod in &first.release {
        let uid = rs.metadata.uid.clone().unwrap_or_default();
        let patch = serde_json::json!({
            "metadata": {"ownerReferences": [{"$patch": "delete", "uid": uid}]}
        });
        if let Err(e) = pods_api
            .patch(pod, &PatchParams::default(), &Patch::Strategic(&patch))
            .await
        {
            tracing::warn!(pod = %pod, replicaset = %key, error = %e, "releasing a pod");
        }
    }

    let mut failure: Option<String> = None;
    // Kubernetes creates in doubling batches (1, 2, 4, …) so a template that cannot be created
    // fails once, not `replicas` times.
    let mut left = first.create;
    let mut batch = 1;
    while left > 0 && failure.is_none() {
        let n = batch.min(left);
        let creates = (0..n).map(|_| {
            let api = pods_api.clone();
            let pod = pod_from_template(&rs);
            async move { api.create(&PostParams::default(), &pod).await }
        });
        for result in futures::future::join_all(creates).await {
            match result {
                Ok(p) => {
                    let note = format!("Created pod: {}", p.name_any());
                    ctx.recorder
                        .record_about(&rs_ref, "Normal", "SuccessfulCreate", &note, "Create")
                        .await;
                }
                Err(e) => {
                    let message = match &e {
                        kube::Error::Api(s) => s.message.clone(),
                        other => other.to_string(),
                    };
                    let note = format!("Error creating: {message}");
                    ctx.recorder
                        .record_about(&rs_ref, "Warning", "FailedCreate", &note, "Create")
                        .await;
                    failure = Some(message);
                }
            }
        }
        left -= n;
        batch *= 2;
    }
    for pod in &first.delete {
        match pods_api.delete(pod, &DeleteParams::default()).await {
            Ok(_) => {
                let note = format!("Deleted pod: {pod}");
                ctx.recorder
                    .record_about(&rs_ref, "Normal", "SuccessfulDelete", &note, "Delete")
                    .await;
            }
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                let note = format!("Error deleting: {e}");
                ctx.recorder
                    .record_about(&rs_ref, "Warning", "FailedDelete", &note, "Delete")
                    .await;
            }
        }
    }

    let status = if failure.is_some() {
        plan(&rs, &pods, Timestamp::now(), failure.as_deref()).status
    } else {
        first.status.clone()
    };
    if rs.status.as_ref() != Some(&status) {
        let patch = serde_json::json!({"status": status});
        sets.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(kube_err(key))?;
    }
    Ok(match (failure, first.recheck_after) {
        (Some(_), _) => Action::requeue(ctx.config.retry_after),
        (None, Some(after)) => Action::requeue(after),
        (None, None) => Action::await_change(),
    })
}

fn error_policy(_rs: Arc<ReplicaSet>, err: &Error, ctx: Arc<Ctx>) -> Action {
    tracing::warn!(error = %err, "replicaset reconcile failed");
    Action::requeue(ctx.config.retry_after)
}

/// Runs the controller: reconciles every ReplicaSet, and again when one of its pods changes.
pub async fn run(client: Client, config: Config) {
    let sets: Api<ReplicaSet> = Api::all(client.clone());
    // Only the pods' metadata (owner references) is needed to map their changes to their
    // ReplicaSet; reconcile reads the pods themselves.
    let pods: Api<PartialObjectMeta<Pod>> = Api::all(client.clone());
    let ctx = Arc::new(Ctx {
        recorder: Recorder::new(client.clone(), NAME),
        client,
        config,
    });
    Controller::new(sets, watcher::Config::default())
        .owns(pods, watcher::Config::default())
        .run(reconcile, error_policy, ctx)
        .for_each(|_| async {})
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::ReplicaSetSpec;
    use k8s_openapi::api::core::v1::{PodCondition, PodSpec, PodStatus, PodTemplateSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as MetaSelector;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn labels(app: &str) -> BTreeMap<String, String> {
        BTreeMap::from([("app".to_owned(), app.to_owned())])
    }

    fn rs(replicas: i32, min_ready: i32) -> ReplicaSet {
        ReplicaSet {
            metadata: ObjectMeta {
                name: Some("web".into()),
                namespace: Some("default".into()),
                uid: Some("rs-uid".into()),
                generation: Some(2),
                ..Default::default()
            },
            spec: Some(ReplicaSetSpec {
                replicas: Some(replicas),
                min_ready_seconds: Some(min_ready),
                selector: MetaSelector {
                    match_labels: Some(labels("web")),
                    ..Default::default()
                },
                template: Some(PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(labels("web")),
                        ..Default::default()
                    }),
                    spec: Some(PodSpec::default()),
                }),
            }),
            status: None,
        }
    }

    struct P {
        name: &'static str,
        created: &'static str,
        node: bool,
        phase: &'static str,
        ready_since: Option<&'static str>,
        restarts: i32,
        owner: Option<&'static str>,
        app: &'static str,
    }

    const BASE: P = P {
        name: "p",
        created: "2026-01-01T00:00:00Z",
        node: true,
        phase: "Running",
        ready_since: Some("2026-01-01T00:00:10Z"),
        restarts: 0,
        owner: Some("rs-uid"),
        app: "web",
    };

    fn pod(p: P) -> Pod {
        let mut status = k8s_openapi::api::core::v1::ContainerStatus {
            name: "c".into(),
            restart_count: p.restarts,
            ..Default::default()
        };
        status.ready = p.ready_since.is_some();
        Pod {
            metadata: ObjectMeta {
                name: Some(p.name.into()),
                creation_timestamp: Some(Time(t(p.created))),
                labels: Some(labels(p.app)),
                owner_references: p.owner.map(|uid| {
                    vec![OwnerReference {
                        api_version: "apps/v1".into(),
                        kind: "ReplicaSet".into(),
                        name: "web".into(),
                        uid: uid.into(),
                        controller: Some(true),
                        block_owner_deletion: Some(true),
                    }]
                }),
                ..Default::default()
            },
            spec: Some(PodSpec {
                node_name: p.node.then(|| "n1".to_owned()),
                ..Default::default()
            }),
            status: Some(PodStatus {
                phase: Some(p.phase.into()),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: if p.ready_since.is_some() {
                        "True"
                    } else {
                        "False"
                    }
                    .into(),
                    last_transition_time: p.ready_since.map(|s| Time(t(s))),
                    ..Default::default()
                }]),
                container_statuses: Some(vec![status]),
                ..Default::default()
            }),
        }
    }

    const NOW: &str = "2026-01-01T00:01:00Z";

    #[test]
    fn creates_what_is_missing_and_counts_what_is_there() {
        let pods = vec![
            pod(P { name: "a", ..BASE }),
            pod(P {
                name: "b",
                ready_since: None,
                ..BASE
            }),
            // Ended and terminating pods do not count.
            pod(P {
                name: "c",
                phase: "Failed",
                ..BASE
            }),
        ];
        let p = plan(&rs(5, 0), &pods, t(NOW), None);
        assert_eq!(p.create, 3);
        assert!(p.delete.is_empty() && p.adopt.is_empty() && p.release.is_empty());
        assert_eq!(p.status.replicas, 2);
        assert_eq!(p.status.ready_replicas, Some(1));
        assert_eq!(p.status.available_replicas, Some(1));
        assert_eq!(p.status.fully_labeled_replicas, Some(2));
        assert_eq!(p.status.observed_generation, Some(2));
        assert_eq!(p.recheck_after, None);
    }

    #[test]
    fn scale_down_gives_up_the_least_useful_then_the_oldest() {
        let pods = vec![
            pod(P {
                name: "oldest",
                created: "2026-01-01T00:00:00Z",
                ..BASE
            }),
            pod(P {
                name: "newest",
                created: "2026-01-01T00:00:30Z",
                ..BASE
            }),
            pod(P {
                name: "middle",
                created: "2026-01-01T00:00:20Z",
                ..BASE
            }),
            pod(P {
                name: "restarted",
                created: "2026-01-01T00:00:40Z",
                restarts: 3,
                ..BASE
            }),
            pod(P {
                name: "unready",
                created: "2026-01-01T00:00:50Z",
                ready_since: None,
                ..BASE
            }),
            pod(P {
                name: "pending",
                created: "2026-01-01T00:00:55Z",
                phase: "Pending",
                ready_since: None,
                ..BASE
            }),
            pod(P {
                name: "unscheduled",
                created: "2026-01-01T00:00:58Z",
                node: false,
                phase: "Pending",
                ready_since: None,
                ..BASE
            }),
        ];
        let order = |replicas| plan(&rs(replicas, 0), &pods, t(NOW), None).delete;
        assert_eq!(
            order(1),
            [
                "unscheduled",
                "pending",
                "unready",
                "restarted",
                "oldest",
                "middle"
            ]
        );
        assert_eq!(order(6), ["unscheduled"]);
        assert_eq!(order(7), Vec::<String>::new());
    }

    #[test]
    fn adopts_matching_orphans_and_releases_what_no_longer_matches() {
        let pods = vec![
            pod(P {
                name: "orphan",
                owner: None,
                ..BASE
            }),
            pod(P {
                name: "other-orphan",
                owner: None,
                app: "db",
                ..BASE
            }),
            pod(P {
                name: "relabeled",
                app: "db",
                ..BASE
            }),
            pod(P {
                name: "someone-elses",
                owner: Some("other-uid"),
                ..BASE
            }),
        ];
        let p = plan(&rs(1, 0), &pods, t(NOW), None);
        assert_eq!(p.adopt, ["orphan"]);
        assert_eq!(p.release, ["relabeled"]);
        assert_eq!((p.create, p.delete.len(), p.status.replicas), (0, 0, 1));
    }

    #[test]
    fn min_ready_seconds_delays_availability_and_asks_for_a_recheck() {
        let pods = vec![
            pod(P {
                name: "long-ready",
                ready_since: Some("2026-01-01T00:00:00Z"),
                ..BASE
            }),
            pod(P {
                name: "just-ready",
                ready_since: Some("2026-01-01T00:00:50Z"),
                ..BASE
            }),
        ];
        let p = plan(&rs(2, 30), &pods, t(NOW), None);
        assert_eq!(p.status.ready_replicas, Some(2));
        assert_eq!(p.status.available_replicas, Some(1));
        assert_eq!(p.recheck_after, Some(Duration::from_secs(20)));
    }

    #[test]
    fn a_failed_create_is_a_condition_that_goes_when_creates_work_again() {
        let failing = plan(&rs(1, 0), &[], t(NOW), Some("pods \"x\" is forbidden"));
        let conditions = failing.status.conditions.clone().unwrap();
        assert_eq!(conditions.len(), 1);
        assert_eq!(conditions[0].type_, "ReplicaFailure");
        assert_eq!(conditions[0].reason.as_deref(), Some("FailedCreate"));
        let mut set = rs(1, 0);
        set.status = Some(failing.status);
        let ok = plan(&set, &[], t(NOW), None);
        assert_eq!(ok.status.conditions, None);
    }

    #[test]
    fn a_set_being_deleted_neither_creates_nor_adopts() {
        let mut set = rs(3, 0);
        set.metadata.deletion_timestamp = Some(Time(t(NOW)));
        let pods = vec![pod(P {
            name: "orphan",
            owner: None,
            ..BASE
        })];
        let p = plan(&set, &pods, t(NOW), None);
        assert_eq!((p.create, p.adopt.len(), p.delete.len()), (0, 0, 0));
    }

    #[test]
    fn pods_from_the_template_are_owned_by_the_set() {
        let pod = pod_from_template(&rs(1, 0));
        assert_eq!(pod.metadata.generate_name.as_deref(), Some("web-"));
        assert_eq!(pod.metadata.labels, Some(labels("web")));
        let owner = &pod.metadata.owner_references.unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
            ("ReplicaSet", "rs-uid", Some(true))
        );
        assert_eq!(owner.block_owner_deletion, Some(true));
    }
}
