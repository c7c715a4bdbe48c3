//! The Deployment controller: rolls a Deployment's pod template out through ReplicaSets, as
//! kube-controller-manager's deployment controller does — one ReplicaSet per template
//! (`pod-template-hash`), RollingUpdate within `maxSurge` / `maxUnavailable` or Recreate,
//! revisions, `revisionHistoryLimit`, pause, and the `Progressing` / `Available` conditions
//! that `kubectl rollout status` reads.
//!
//! [`plan`] decides one step from the Deployment and its ReplicaSets, pure; [`run`] is the
//! kube-rs shell. Each step only writes ReplicaSets' `spec.replicas` (and creates the new
//! one); the ReplicaSet controller does the pods, and their status changes wake this one.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use jiff::Timestamp;
use k4t_api::selector::LabelSelector;
use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet, ReplicaSetSpec,
};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, Resource as _, ResourceExt as _};

use crate::recorder::Recorder;
use crate::{Config, Error};

const NAME: &str = "deployment-controller";
pub const HASH_LABEL: &str = "pod-template-hash";
pub const REVISION: &str = "deployment.kubernetes.io/revision";
pub const DESIRED: &str = "deployment.kubernetes.io/desired-replicas";
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";

// ---------------------------------------------------------------------------------------
// The pure core

/// `pod-template-hash` of a template: FNV-1a of its JSON, written with the alphabet
/// Kubernetes uses for generated names (no vowels, no look-alike digits).
pub fn template_hash(template: &PodTemplateSpec) -> String {
    let json = serde_json::to_string(template).unwrap_or_default();
    let mut h: u32 = 0x811c_9dc5;
    for b in json.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    h.to_string()
        .bytes()
        .map(|b| ALPHANUMS[usize::from(b) % ALPHANUMS.len()] as char)
        .collect()
}

/// The template without the label the ReplicaSet adds, to compare with the Deployment's.
fn without_hash(template: &PodTemplateSpec) -> PodTemplateSpec {
    let mut t = template.clone();
    if let Some(labels) = t.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(HASH_LABEL);
    }
    t
}

fn replicas_of(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0)
}

fn available_of(rs: &ReplicaSet) -> i32 {
    rs.status
        .as_ref()
        .and_then(|s| s.available_replicas)
        .unwrap_or(0)
}

fn revision_of(rs: &ReplicaSet) -> i64 {
    rs.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(REVISION))
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// An `IntOrString` of a rolling update resolved against `replicas` (unset is 25 %):
/// percentages round up for surge and down for unavailability, as Kubernetes rounds them.
fn resolve(v: Option<&IntOrString>, replicas: i32, round_up: bool) -> i32 {
    let default = IntOrString::String("25%".to_owned());
    match v.unwrap_or(&default) {
        IntOrString::Int(n) => *n,
        IntOrString::String(s) => {
            let pct: f64 = s.trim_end_matches('%').parse().unwrap_or(0.0);
            let exact = pct * f64::from(replicas) / 100.0;
            if round_up {
                exact.ceil() as i32
            } else {
                exact.floor() as i32
            }
        }
    }
}

/// (maxSurge, maxUnavailable) of a Deployment; both zero is read as one unavailable, as
/// Kubernetes does. Recreate has neither.
pub fn surge_and_unavailable(d: &Deployment) -> (i32, i32) {
    let spec = d.spec.as_ref();
    let replicas = spec.and_then(|s| s.replicas).unwrap_or(1);
    let strategy = spec.and_then(|s| s.strategy.as_ref());
    if strategy.and_then(|s| s.type_.as_deref()) == Some("Recreate") {
        return (0, 0);
    }
    let rolling = strategy.and_then(|s| s.rolling_update.as_ref());
    let surge = resolve(rolling.and_then(|r| r.max_surge.as_ref()), replicas, true);
    let unavailable = resolve(
        rolling.and_then(|r| r.max_unavailable.as_ref()),
        replicas,
        false,
    );
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable.min(replicas))
    }
}

/// One step of a Deployment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// Create the new ReplicaSet (named `<deployment>-<hash>`) with this many replicas.
    pub create: Option<(String, i32)>,
    /// New `spec.replicas` of existing ReplicaSets, by name.
    pub scale: BTreeMap<String, i32>,
    /// Set the new ReplicaSet's revision (it was an old one brought back, or unrevised).
    pub revise: Option<(String, i64)>,
    /// Old ReplicaSets past `revisionHistoryLimit`, to delete.
    pub delete: Vec<String>,
    /// The Deployment's revision annotation.
    pub revision: i64,
    pub status: DeploymentStatus,
    /// When the progress deadline runs out, if it has not.
    pub recheck_after: Option<Duration>,
}

fn condition(
    previous: Option<&DeploymentStatus>,
    type_: &str,
    status: &str,
    reason: &str,
    message: String,
    now: Timestamp,
) -> DeploymentCondition {
    let old = previous
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == type_));
    let same = old.is_some_and(|c| c.status == status);
    let same_reason = same && old.is_some_and(|c| c.reason.as_deref() == Some(reason));
    DeploymentCondition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message),
        last_transition_time: if same {
            old.and_then(|c| c.last_transition_time.clone())
        } else {
            Some(Time(now))
        },
        last_update_time: if same_reason {
            old.and_then(|c| c.last_update_time.clone())
        } else {
            Some(Time(now))
        },
    }
}

/// Decides one step of the Deployment `d` whose ReplicaSets (owned by it) are `sets`.
pub fn plan(d: &Deployment, sets: &[ReplicaSet], now: Timestamp) -> Plan {
    let mut plan = Plan::default();
    let Some(spec) = d.spec.as_ref() else {
        return plan;
    };
    let replicas = spec.replicas.unwrap_or(1).max(0);
    let paused = spec.paused.unwrap_or(false);
    let template = spec.template.clone();
    let hash = template_hash(&template);
    let name = d.name_any();
    let (surge, unavailable) = surge_and_unavailable(d);
    let recreate = spec.strategy.as_ref().and_then(|s| s.type_.as_deref()) == Some("Recreate");

    let new = sets.iter().find(|rs| {
        rs.spec
            .as_ref()
            .and_then(|s| s.template.as_ref())
            .map(without_hash)
            == Some(template.clone())
    });
    let mut olds: Vec<&ReplicaSet> = sets
        .iter()
        .filter(|rs| new.is_none_or(|n| n.metadata.uid != rs.metadata.uid))
        .collect();
    // Oldest first: scaled down first, cleaned up first.
    olds.sort_by_key(|rs| {
        (
            revision_of(rs),
            rs.metadata.creation_timestamp.as_ref().map(|t| t.0),
        )
    });
    let max_old_revision = olds.iter().map(|rs| revision_of(rs)).max().unwrap_or(0);
    let new_name = new.map_or_else(|| format!("{name}-{hash}"), |rs| rs.name_any());
    plan.revision = match new {
        Some(rs) if revision_of(rs) > max_old_revision => revision_of(rs),
        _ => max_old_revision + 1,
    };
    if let Some(rs) = new
        && revision_of(rs) != plan.revision
    {
        plan.revise = Some((rs.name_any(), plan.revision));
    }

    let old_replicas: i32 = olds.iter().map(|rs| replicas_of(rs)).sum();
    let new_replicas = new.map_or(0, replicas_of);
    let new_available = new.map_or(0, available_of);
    let all_replicas = old_replicas + new_replicas;

    if paused {
        // Paused: only scale, never roll. The new set (or the newest) follows `replicas`.
        if let Some(rs) = new.or(olds.last().copied())
            && replicas_of(rs) != replicas
            && all_replicas - replicas_of(rs) == 0
        {
            plan.scale.insert(rs.name_any(), replicas);
        }
    } else if recreate {
        let old_pods: i32 = olds
            .iter()
            .map(|rs| rs.status.as_ref().map_or(0, |s| s.replicas))
            .sum();
        for rs in &olds {
            if replicas_of(rs) != 0 {
                plan.scale.insert(rs.name_any(), 0);
            }
        }
        if old_replicas == 0 && old_pods == 0 {
            match new {
                None => plan.create = Some((new_name.clone(), replicas)),
                Some(rs) if replicas_of(rs) != replicas => {
                    plan.scale.insert(rs.name_any(), replicas);
                }
                Some(_) => {}
            }
        } else if new.is_none() {
            plan.create = Some((new_name.clone(), 0));
        }
    } else {
        // The new set grows within replicas + maxSurge.
        let target_new = if new_replicas > replicas {
            replicas
        } else {
            let room = (replicas + surge - all_replicas).max(0);
            new_replicas + room.min(replicas - new_replicas)
        };
        match new {
            None => plan.create = Some((new_name.clone(), target_new)),
            Some(rs) if target_new != new_replicas => {
                plan.scale.insert(rs.name_any(), target_new);
            }
            Some(_) => {}
        }
        // Old sets shrink while replicas - maxUnavailable stay available.
        let min_available = replicas - unavailable;
        let new_unavailable = (new_replicas - new_available).max(0);
        let mut budget = all_replicas - min_available - new_unavailable;
        // Unhealthy old replicas go first: they count for nothing.
        for rs in &olds {
            if budget <= 0 {
                break;
            }
            let unhealthy = (replicas_of(rs) - available_of(rs)).max(0);
            let cut = unhealthy.min(budget);
            if cut > 0 {
                plan.scale.insert(rs.name_any(), replicas_of(rs) - cut);
                budget -= cut;
            }
        }
        let available_all: i32 = sets.iter().map(available_of).sum();
        let mut spare = (available_all - min_available).min(budget);
        for rs in &olds {
            if spare <= 0 {
                break;
            }
            let now_replicas = plan
                .scale
                .get(&rs.name_any())
                .copied()
                .unwrap_or(replicas_of(rs));
            let cut = now_replicas.min(spare);
            if cut > 0 {
                plan.scale.insert(rs.name_any(), now_replicas - cut);
                spare -= cut;
            }
        }
    }

    // History: old sets scaled to zero beyond the limit go, oldest first.
    let limit = spec.revision_history_limit.unwrap_or(10).max(0) as usize;
    let idle: Vec<&&ReplicaSet> = olds
        .iter()
        .filter(|rs| {
            replicas_of(rs) == 0
                && rs.status.as_ref().map_or(0, |s| s.replicas) == 0
                && !plan.scale.contains_key(&rs.name_any())
        })
        .collect();
    if idle.len() > limit {
        plan.delete = idle[..idle.len() - limit]
            .iter()
            .map(|rs| rs.name_any())
            .collect();
    }

    // Status, from the sets as they are (this step's writes show in the next one).
    let sum = |f: &dyn Fn(&ReplicaSet) -> i32| -> i32 { sets.iter().map(f).sum() };
    let status_replicas = sum(&|rs| rs.status.as_ref().map_or(0, |s| s.replicas));
    let ready = sum(&|rs| {
        rs.status
            .as_ref()
            .and_then(|s| s.ready_replicas)
            .unwrap_or(0)
    });
    let available = sum(&available_of);
    let updated = new
        .and_then(|rs| rs.status.as_ref())
        .map_or(0, |s| s.replicas);
    let previous = d.status.as_ref();
    let mut conditions: Vec<DeploymentCondition> = Vec::new();
    conditions.push(if available >= replicas - unavailable {
        condition(
            previous,
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.".into(),
            now,
        )
    } else {
        condition(
            previous,
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.".into(),
            now,
        )
    });
    let complete = updated == replicas
        && status_replicas == replicas
        && available >= replicas
        && new.is_some_and(|rs| replicas_of(rs) == replicas)
        && old_replicas == 0;
    let old_progressing = previous
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Progressing"));
    let deadline = spec.progress_deadline_seconds.unwrap_or(600);
    let progressed = previous.is_none_or(|s| {
        s.replicas.unwrap_or(0) != status_replicas
            || s.updated_replicas.unwrap_or(0) != updated
            || s.ready_replicas.unwrap_or(0) != ready
            || s.available_replicas.unwrap_or(0) != available
            || s.observed_generation != d.metadata.generation
    });
    let progressing = if paused {
        condition(
            previous,
            "Progressing",
            "Unknown",
            "DeploymentPaused",
            "Deployment is paused".into(),
            now,
        )
    } else if complete {
        condition(
            previous,
            "Progressing",
            "True",
            "NewReplicaSetAvailable",
            format!("ReplicaSet \"{new_name}\" has successfully progressed."),
            now,
        )
    } else if new.is_none() {
        condition(
            previous,
            "Progressing",
            "True",
            "NewReplicaSetCreated",
            format!("Created new replica set \"{new_name}\""),
            now,
        )
    } else {
        let last_update = old_progressing
            .and_then(|c| c.last_update_time.as_ref())
            .map(|t| t.0)
            .unwrap_or(now);
        let timed_out = old_progressing
            .is_some_and(|c| c.reason.as_deref() == Some("ProgressDeadlineExceeded"));
        let elapsed = now.as_second() - last_update.as_second();
        if progressed && !timed_out {
            let mut c = condition(
                previous,
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                format!("ReplicaSet \"{new_name}\" is progressing."),
                now,
            );
            c.last_update_time = Some(Time(now));
            plan.recheck_after = Some(Duration::from_secs(deadline.max(1) as u64));
            c
        } else if timed_out || elapsed >= i64::from(deadline) {
            condition(
                previous,
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                format!("ReplicaSet \"{new_name}\" has timed out progressing."),
                now,
            )
        } else {
            plan.recheck_after = Some(Duration::from_secs(
                (i64::from(deadline) - elapsed).max(1) as u64
            ));
            old_progressing.cloned().unwrap_or_else(|| {
                condition(
                    previous,
                    "Progressing",
                    "True",
                    "FoundNewReplicaSet",
                    format!("Found new replica set \"{new_name}\""),
                    now,
                )
            })
        }
    };
    conditions.push(progressing);
    plan.status = DeploymentStatus {
        observed_generation: d.metadata.generation,
        replicas: Some(status_replicas),
        updated_replicas: Some(updated),
        ready_replicas: Some(ready),
        available_replicas: Some(available),
        unavailable_replicas: Some((all_replicas.max(replicas) - available).max(0)),
        conditions: Some(conditions),
        collision_count: previous.and_then(|s| s.collision_count),
        terminating_replicas: None,
    };
    plan
}

/// The new ReplicaSet of a Deployment's template.
pub fn new_replica_set(d: &Deployment, name: &str, replicas: i32, revision: i64) -> ReplicaSet {
    let spec = d.spec.clone().unwrap_or_default();
    let hash = template_hash(&spec.template);
    let mut template = spec.template.clone();
    let meta = template.metadata.get_or_insert_with(ObjectMeta::default);
    meta.labels
        .get_or_insert_with(BTreeMap::new)
        .insert(HASH_LABEL.to_owned(), hash.clone());
    let mut selector = spec.selector.clone();
    selector
        .match_labels
        .get_or_insert_with(BTreeMap::new)
        .insert(HASH_LABEL.to_owned(), hash.clone());
    let (surge, _) = surge_and_unavailable(d);
    let desired = spec.replicas.unwrap_or(1);
    let mut labels = meta.labels.clone().unwrap_or_default();
    labels.insert(HASH_LABEL.to_owned(), hash);
    ReplicaSet {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: d.namespace(),
            labels: Some(labels),
            annotations: Some(BTreeMap::from([
                (REVISION.to_owned(), revision.to_string()),
                (DESIRED.to_owned(), desired.to_string()),
                (MAX_REPLICAS.to_owned(), (desired + surge).to_string()),
            ])),
            owner_references: d.controller_owner_ref(&()).map(|mut r| {
                r.block_owner_deletion = Some(true);
                vec![r]
            }),
            ..Default::default()
        },
        spec: Some(ReplicaSetSpec {
            replicas: Some(replicas),
            min_ready_seconds: spec.min_ready_seconds,
            selector,
            template: Some(template),
        }),
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

async fn reconcile(d: Arc<Deployment>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    if d.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let ns = d.namespace().unwrap_or_default();
    let name = d.name_any();
    let key = format!("deployments/{ns}/{name}");
    let err = |source| Error::Kube {
        object: key.clone(),
        source,
    };
    let sets_api: Api<ReplicaSet> = Api::namespaced(ctx.client.clone(), &ns);
    let deployments: Api<Deployment> = Api::namespaced(ctx.client.clone(), &ns);
    let uid = d.metadata.uid.clone().unwrap_or_default();
    let selector = d
        .spec
        .as_ref()
        .and_then(|s| LabelSelector::from_label_selector(&s.selector).ok())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(LabelSelector::nothing);
    let no_labels = BTreeMap::new();
    let mut sets: Vec<ReplicaSet> = Vec::new();
    for rs in sets_api
        .list(&ListParams::default())
        .await
        .map_err(err)?
        .items
    {
        let controller = rs
            .metadata
            .owner_references
            .as_ref()
            .and_then(|refs| refs.iter().find(|r| r.controller == Some(true)));
        let matches = selector.matches(rs.metadata.labels.as_ref().unwrap_or(&no_labels));
        match controller {
            Some(r) if r.uid == uid && matches => sets.push(rs),
            // An orphan the selector matches is adopted (say, one left by `--cascade=orphan`).
            None if matches && rs.metadata.deletion_timestamp.is_none() => {
                let mut refs = rs.metadata.owner_references.clone().unwrap_or_default();
                refs.extend(d.controller_owner_ref(&()).map(|mut r| {
                    r.block_owner_deletion = Some(true);
                    r
                }));
                let patch = serde_json::json!({"metadata": {"ownerReferences": refs}});
                match sets_api
                    .patch(
                        &rs.name_any(),
                        &PatchParams::default(),
                        &Patch::Merge(&patch),
                    )
                    .await
                {
                    Ok(adopted) => sets.push(adopted),
                    Err(e) => {
                        tracing::warn!(replicaset = %rs.name_any(), error = %e, "adopting")
                    }
                }
            }
            _ => {}
        }
    }
    let p = plan(&d, &sets, Timestamp::now());
    let d_ref = d.object_ref(&());
    let pp = PatchParams::default();

    if let Some((rs_name, replicas)) = &p.create {
        let rs = new_replica_set(&d, rs_name, *replicas, p.revision);
        match sets_api.create(&PostParams::default(), &rs).await {
            Ok(_) => {
                let note = format!("Scaled up replica set {rs_name} from 0 to {replicas}");
                ctx.recorder
                    .record_about(&d_ref, "Normal", "ScalingReplicaSet", &note, "Scale")
                    .await;
            }
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => return Err(err(e)),
        }
    }
    if let Some((rs_name, revision)) = &p.revise {
        let patch =
            serde_json::json!({"metadata": {"annotations": {REVISION: revision.to_string()}}});
        sets_api
            .patch(rs_name, &pp, &Patch::Merge(&patch))
            .await
            .map_err(err)?;
    }
    let desired = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let (surge, _) = surge_and_unavailable(&d);
    for (rs_name, replicas) in &p.scale {
        let from = sets
            .iter()
            .find(|rs| rs.metadata.name.as_deref() == Some(rs_name))
            .map_or(0, replicas_of);
        let patch = serde_json::json!({
            "metadata": {"annotations": {DESIRED: desired.to_string(), MAX_REPLICAS: (desired + surge).to_string()}},
            "spec": {"replicas": replicas},
        });
        sets_api
            .patch(rs_name, &pp, &Patch::Merge(&patch))
            .await
            .map_err(err)?;
        let verb = if *replicas > from { "up" } else { "down" };
        let note = format!("Scaled {verb} replica set {rs_name} from {from} to {replicas}");
        ctx.recorder
            .record_about(&d_ref, "Normal", "ScalingReplicaSet", &note, "Scale")
            .await;
    }
    for rs_name in &p.delete {
        match sets_api.delete(rs_name, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(err(e)),
        }
    }
    let revision = p.revision.to_string();
    let current_revision = d
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(REVISION))
        .cloned();
    if current_revision.as_deref() != Some(revision.as_str()) {
        let patch = serde_json::json!({"metadata": {"annotations": {REVISION: revision}}});
        deployments
            .patch(&name, &pp, &Patch::Merge(&patch))
            .await
            .map_err(err)?;
    }
    if d.status.as_ref() != Some(&p.status) {
        let patch = serde_json::json!({"status": p.status});
        deployments
            .patch_status(&name, &pp, &Patch::Merge(&patch))
            .await
            .map_err(err)?;
    }
    Ok(match p.recheck_after {
        Some(after) => Action::requeue(after),
        None => Action::await_change(),
    })
}

fn error_policy(_d: Arc<Deployment>, err: &Error, ctx: Arc<Ctx>) -> Action {
    tracing::warn!(error = %err, "deployment reconcile failed");
    Action::requeue(ctx.config.retry_after)
}

/// Runs the controller: reconciles every Deployment, and again when one of its ReplicaSets
/// changes.
pub async fn run(client: Client, config: Config) {
    let deployments: Api<Deployment> = Api::all(client.clone());
    let sets: Api<ReplicaSet> = Api::all(client.clone());
    let ctx = Arc::new(Ctx {
        recorder: Recorder::new(client.clone(), NAME),
        client,
        config,
    });
    Controller::new(deployments, watcher::Config::default())
        .owns(sets, watcher::Config::default())
        .run(reconcile, error_policy, ctx)
        .for_each(|_| async {})
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{
        DeploymentSpec, DeploymentStrategy, ReplicaSetStatus, RollingUpdateDeployment,
    };
    use k8s_openapi::api::core::v1::{Container, EnvVar, PodSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as MetaSelector;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn template(env: &str) -> PodTemplateSpec {
        PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(BTreeMap::from([("app".into(), "web".into())])),
                ..Default::default()
            }),
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "app".into(),
                    env: Some(vec![EnvVar {
                        name: "V".into(),
                        value: Some(env.into()),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        }
    }

    fn deployment(replicas: i32, surge: i32, unavailable: i32, env: &str) -> Deployment {
        Deployment {
            metadata: ObjectMeta {
                name: Some("web".into()),
                namespace: Some("default".into()),
                uid: Some("d-uid".into()),
                generation: Some(1),
                ..Default::default()
            },
            spec: Some(DeploymentSpec {
                replicas: Some(replicas),
                selector: MetaSelector {
                    match_labels: Some(BTreeMap::from([("app".into(), "web".into())])),
                    ..Default::default()
                },
                strategy: Some(DeploymentStrategy {
                    type_: Some("RollingUpdate".into()),
                    rolling_update: Some(RollingUpdateDeployment {
                        max_surge: Some(IntOrString::Int(surge)),
                        max_unavailable: Some(IntOrString::Int(unavailable)),
                    }),
                }),
                template: template(env),
                ..Default::default()
            }),
            status: None,
        }
    }

    /// A ReplicaSet of `d`'s template for `env`, with `replicas` wanted and `available` up.
    fn set(d: &Deployment, env: &str, revision: i64, replicas: i32, available: i32) -> ReplicaSet {
        let mut d = d.clone();
        if let Some(s) = d.spec.as_mut() {
            s.template = template(env);
        }
        let name = format!("web-{env}");
        let mut rs = new_replica_set(&d, &name, replicas, revision);
        rs.metadata.uid = Some(format!("uid-{env}"));
        rs.status = Some(ReplicaSetStatus {
            replicas,
            ready_replicas: Some(available),
            available_replicas: Some(available),
            ..Default::default()
        });
        rs
    }

    const NOW: &str = "2026-01-01T00:10:00Z";

    #[test]
    fn percentages_round_as_kubernetes_rounds_them() {
        let mut d = deployment(10, 0, 0, "a");
        let rolling = |d: &mut Deployment, s: &str, u: &str| {
            let r = d
                .spec
                .as_mut()
                .unwrap()
                .strategy
                .as_mut()
                .unwrap()
                .rolling_update
                .as_mut()
                .unwrap();
            r.max_surge = Some(IntOrString::String(s.into()));
            r.max_unavailable = Some(IntOrString::String(u.into()));
        };
        rolling(&mut d, "25%", "25%");
        assert_eq!(surge_and_unavailable(&d), (3, 2));
        rolling(&mut d, "0%", "0%");
        assert_eq!(surge_and_unavailable(&d), (0, 1));
        assert_eq!(surge_and_unavailable(&deployment(3, 1, 0, "a")), (1, 0));
    }

    #[test]
    fn a_first_rollout_creates_the_set_with_every_replica() {
        let d = deployment(3, 1, 0, "a");
        let p = plan(&d, &[], t(NOW));
        let hash = template_hash(&template("a"));
        assert_eq!(p.create, Some((format!("web-{hash}"), 3)));
        assert_eq!(p.revision, 1);
        let progressing = &p.status.conditions.as_ref().unwrap()[1];
        assert_eq!(progressing.reason.as_deref(), Some("NewReplicaSetCreated"));
    }

    #[test]
    fn a_rolling_update_surges_then_trades_old_for_new_as_new_ones_become_available() {
        let d = deployment(3, 1, 0, "b");
        // Step 1: the new set gets the one surge pod; nothing old can go yet.
        let old = set(&d, "a", 1, 3, 3);
        let p = plan(&d, std::slice::from_ref(&old), t(NOW));
        assert_eq!(p.create.as_ref().map(|c| c.1), Some(1));
        assert!(p.scale.is_empty(), "{:?}", p.scale);
        assert_eq!(p.revision, 2);
        // Step 2: the new pod is available: one old one goes.
        let new = set(&d, "b", 2, 1, 1);
        let p = plan(&d, &[old.clone(), new.clone()], t(NOW));
        assert_eq!(p.create, None);
        assert_eq!(p.scale, BTreeMap::from([("web-a".to_owned(), 2)]));
        // Step 3: the new pod is not yet available: nothing moves.
        let unready = set(&d, "b", 2, 1, 0);
        let p = plan(&d, &[old, unready], t(NOW));
        assert!(p.scale.is_empty() && p.create.is_none(), "{:?}", p.scale);
        // Done: new at 3, old at 0, the rollout is complete.
        let done = plan(&d, &[set(&d, "a", 1, 0, 0), set(&d, "b", 2, 3, 3)], t(NOW));
        assert!(done.scale.is_empty());
        let progressing = &done.status.conditions.as_ref().unwrap()[1];
        assert_eq!(
            progressing.reason.as_deref(),
            Some("NewReplicaSetAvailable")
        );
        assert_eq!(done.status.updated_replicas, Some(3));
    }

    #[test]
    fn max_unavailable_lets_old_replicas_go_before_new_ones_are_up() {
        let d = deployment(4, 0, 1, "b");
        let p = plan(&d, &[set(&d, "a", 1, 4, 4)], t(NOW));
        // No surge: the new set cannot start until an old replica went.
        assert_eq!(p.create.as_ref().map(|c| c.1), Some(0));
        assert_eq!(p.scale, BTreeMap::from([("web-a".to_owned(), 3)]));
    }

    #[test]
    fn recreate_empties_the_old_sets_before_the_new_one_starts() {
        let mut d = deployment(2, 1, 0, "b");
        d.spec.as_mut().unwrap().strategy = Some(DeploymentStrategy {
            type_: Some("Recreate".into()),
            rolling_update: None,
        });
        let p = plan(&d, &[set(&d, "a", 1, 2, 2)], t(NOW));
        assert_eq!(p.scale, BTreeMap::from([("web-a".to_owned(), 0)]));
        assert_eq!(p.create.as_ref().map(|c| c.1), Some(0));
        let p = plan(&d, &[set(&d, "a", 1, 0, 0), set(&d, "b", 2, 0, 0)], t(NOW));
        assert_eq!(p.scale, BTreeMap::from([("web-b".to_owned(), 2)]));
    }

    #[test]
    fn undo_brings_an_old_set_back_under_a_new_revision() {
        let d = deployment(1, 1, 0, "a");
        let p = plan(&d, &[set(&d, "a", 1, 0, 0), set(&d, "b", 2, 1, 1)], t(NOW));
        assert_eq!(p.revision, 3);
        assert_eq!(p.revise, Some(("web-a".to_owned(), 3)));
        assert_eq!(p.scale, BTreeMap::from([("web-a".to_owned(), 1)]));
    }

    #[test]
    fn history_beyond_the_limit_goes_oldest_first() {
        let mut d = deployment(1, 1, 0, "d");
        d.spec.as_mut().unwrap().revision_history_limit = Some(1);
        let sets = [
            set(&d, "a", 1, 0, 0),
            set(&d, "b", 2, 0, 0),
            set(&d, "c", 3, 0, 0),
            set(&d, "d", 4, 1, 1),
        ];
        assert_eq!(plan(&d, &sets, t(NOW)).delete, ["web-a", "web-b"]);
    }

    #[test]
    fn a_rollout_without_progress_times_out_after_the_deadline() {
        let mut d = deployment(1, 1, 0, "b");
        d.spec.as_mut().unwrap().progress_deadline_seconds = Some(60);
        let sets = [set(&d, "a", 1, 1, 1), set(&d, "b", 2, 1, 0)];
        let first = plan(&d, &sets, t("2026-01-01T00:00:00Z"));
        assert_eq!(
            first.status.conditions.as_ref().unwrap()[1]
                .reason
                .as_deref(),
            Some("ReplicaSetUpdated")
        );
        assert_eq!(first.recheck_after, Some(Duration::from_secs(60)));
        d.status = Some(first.status);
        let later = plan(&d, &sets, t("2026-01-01T00:00:30Z"));
        assert_eq!(later.recheck_after, Some(Duration::from_secs(30)));
        d.status = Some(later.status);
        let timed_out = plan(&d, &sets, t("2026-01-01T00:01:01Z"));
        let c = &timed_out.status.conditions.as_ref().unwrap()[1];
        assert_eq!(
            (c.status.as_str(), c.reason.as_deref()),
            ("False", Some("ProgressDeadlineExceeded"))
        );
        assert_eq!(
            c.message.as_deref(),
            Some("ReplicaSet \"web-b\" has timed out progressing.")
        );
    }

    #[test]
    fn a_paused_deployment_scales_but_does_not_roll() {
        let mut d = deployment(3, 1, 0, "b");
        d.spec.as_mut().unwrap().paused = Some(true);
        let p = plan(&d, &[set(&d, "a", 1, 2, 2)], t(NOW));
        assert_eq!(p.create, None);
        assert_eq!(p.scale, BTreeMap::from([("web-a".to_owned(), 3)]));
        let c = &p.status.conditions.as_ref().unwrap()[1];
        assert_eq!(c.reason.as_deref(), Some("DeploymentPaused"));
    }
}
