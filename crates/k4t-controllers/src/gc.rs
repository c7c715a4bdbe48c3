//! The garbage collector for the workload kinds: ReplicaSets owned by Deployments and pods
//! owned by ReplicaSets. It deletes dependents whose owner is gone (background propagation),
//! deletes the dependents of an owner being deleted in the foreground and then lets the owner
//! go (the `foregroundDeletion` finalizer), and orphans the dependents of an owner deleted with
//! `--cascade=orphan` (the `orphan` finalizer) — what kube-controller-manager's garbage
//! collector does, for these kinds.
//!
//! [`decide`] is the decision from what the watches show, pure; the shell confirms that an
//! owner is really gone with a live read before deleting anything for it (a watch may not have
//! shown a brand-new owner yet).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Client, Resource};
use tokio::sync::Notify;

use crate::Config;

pub const ORPHAN: &str = "orphan";
pub const FOREGROUND: &str = "foregroundDeletion";

/// An object as the collector sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub owners: Vec<OwnerReference>,
    pub deleting: bool,
    pub finalizers: Vec<String>,
}

impl Node {
    pub fn of(kind: &'static str, meta: &ObjectMeta) -> Self {
        Node {
            kind,
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
            uid: meta.uid.clone().unwrap_or_default(),
            owners: meta.owner_references.clone().unwrap_or_default(),
            deleting: meta.deletion_timestamp.is_some(),
            finalizers: meta.finalizers.clone().unwrap_or_default(),
        }
    }
}

/// What the collector does.
#[derive(Debug, Clone, PartialEq)]
pub enum Step<'a> {
    /// Delete `dependent`: its owner `owner` (a UID) is gone. Confirm first.
    DeleteOrphaned { dependent: &'a Node, owner: String },
    /// Delete `dependent` of an owner deleted in the foreground.
    DeleteForeground { dependent: &'a Node },
    /// Remove the owner reference to `owner` from `dependent`.
    Orphan { dependent: &'a Node, owner: String },
    /// Remove `finalizer` from `owner`: its dependents are handled.
    Finalize {
        owner: &'a Node,
        finalizer: &'static str,
    },
}

/// The steps that bring the objects in line with their owner references.
pub fn decide(nodes: &[Node]) -> Vec<Step<'_>> {
    let by_uid: BTreeMap<&str, &Node> = nodes.iter().map(|n| (n.uid.as_str(), n)).collect();
    let mut dependents: BTreeMap<&str, Vec<&Node>> = BTreeMap::new();
    for n in nodes {
        for o in &n.owners {
            dependents.entry(o.uid.as_str()).or_default().push(n);
        }
    }
    let mut steps = Vec::new();
    for n in nodes {
        // Only owners of the kinds collected here are known: a reference to another kind (a
        // pod owned by something k4t does not serve yet) is left alone.
        let owner_kind = match n.kind {
            "ReplicaSet" => "Deployment",
            "Pod" => "ReplicaSet",
            _ => continue,
        };
        for o in n.owners.iter().filter(|o| o.kind == owner_kind) {
            if !by_uid.contains_key(o.uid.as_str()) && !n.deleting {
                steps.push(Step::DeleteOrphaned {
                    dependent: n,
                    owner: o.uid.clone(),
                });
            }
        }
    }
    for owner in nodes.iter().filter(|n| n.deleting) {
        let deps = dependents
            .get(owner.uid.as_str())
            .cloned()
            .unwrap_or_default();
        if owner.finalizers.iter().any(|f| f == ORPHAN) {
            for d in &deps {
                steps.push(Step::Orphan {
                    dependent: d,
                    owner: owner.uid.clone(),
                });
            }
            if deps.is_empty() {
                steps.push(Step::Finalize {
                    owner,
                    finalizer: ORPHAN,
                });
            }
        } else if owner.finalizers.iter().any(|f| f == FOREGROUND) {
            for d in deps.iter().filter(|d| !d.deleting) {
                steps.push(Step::DeleteForeground { dependent: d });
            }
            if deps.is_empty() {
                steps.push(Step::Finalize {
                    owner,
                    finalizer: FOREGROUND,
                });
            }
        }
    }
    steps
}

// ---------------------------------------------------------------------------------------
// The I/O shell

struct Apis {
    client: Client,
}

impl Apis {
    async fn patch_meta(&self, n: &Node, patch: serde_json::Value) -> kube::Result<()> {
        let pp = PatchParams::default();
        let p = Patch::Merge(&patch);
        let client = self.client.clone();
        match n.kind {
            "Deployment" => {
                Api::<Deployment>::namespaced(client, &n.namespace)
                    .patch(&n.name, &pp, &p)
                    .await?;
            }
            "ReplicaSet" => {
                Api::<ReplicaSet>::namespaced(client, &n.namespace)
                    .patch(&n.name, &pp, &p)
                    .await?;
            }
            _ => {
                Api::<Pod>::namespaced(client, &n.namespace)
                    .patch(&n.name, &pp, &p)
                    .await?;
            }
        }
        Ok(())
    }

    async fn delete(&self, n: &Node, dp: &DeleteParams) -> kube::Result<()> {
        let dp = DeleteParams {
            preconditions: Some(kube::api::Preconditions {
                uid: Some(n.uid.clone()),
                resource_version: None,
            }),
            ..dp.clone()
        };
        let r = match n.kind {
            "ReplicaSet" => Api::<ReplicaSet>::namespaced(self.client.clone(), &n.namespace)
                .delete(&n.name, &dp)
                .await
                .map(|_| ()),
            _ => Api::<Pod>::namespaced(self.client.clone(), &n.namespace)
                .delete(&n.name, &dp)
                .await
                .map(|_| ()),
        };
        match r {
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
            other => other,
        }
    }

    /// Whether the owner with `uid` of `dependent` still exists, read live.
    async fn owner_exists(&self, dependent: &Node, uid: &str) -> kube::Result<bool> {
        let ns = &dependent.namespace;
        let lp = Default::default();
        let uids: Vec<Option<String>> = match dependent.kind {
            "ReplicaSet" => Api::<Deployment>::namespaced(self.client.clone(), ns)
                .list(&lp)
                .await?
                .items
                .into_iter()
                .map(|o| o.metadata.uid)
                .collect(),
            _ => Api::<ReplicaSet>::namespaced(self.client.clone(), ns)
                .list(&lp)
                .await?
                .items
                .into_iter()
                .map(|o| o.metadata.uid)
                .collect(),
        };
        Ok(uids.iter().any(|u| u.as_deref() == Some(uid)))
    }
}

fn nodes(
    d: &Store<PartialObjectMeta<Deployment>>,
    r: &Store<PartialObjectMeta<ReplicaSet>>,
    p: &Store<PartialObjectMeta<Pod>>,
) -> Vec<Node> {
    let mut out: Vec<Node> = d
        .state()
        .iter()
        .map(|o| Node::of("Deployment", o.meta()))
        .collect();
    out.extend(r.state().iter().map(|o| Node::of("ReplicaSet", o.meta())));
    out.extend(p.state().iter().map(|o| Node::of("Pod", o.meta())));
    out
}

async fn pass(apis: &Apis, all: &[Node]) {
    let mut confirmed: BTreeMap<String, bool> = BTreeMap::new();
    let mut done: BTreeSet<String> = BTreeSet::new();
    for step in decide(all) {
        let result = match step {
            Step::DeleteOrphaned { dependent, owner } => {
                let exists = match confirmed.get(&owner) {
                    Some(e) => *e,
                    None => match apis.owner_exists(dependent, &owner).await {
                        Ok(e) => {
                            confirmed.insert(owner.clone(), e);
                            e
                        }
                        Err(_) => true,
                    },
                };
                if exists || !done.insert(dependent.uid.clone()) {
                    continue;
                }
                apis.delete(dependent, &DeleteParams::background()).await
            }
            Step::DeleteForeground { dependent } => {
                if !done.insert(dependent.uid.clone()) {
                    continue;
                }
                apis.delete(dependent, &DeleteParams::foreground()).await
            }
            Step::Orphan { dependent, owner } => {
                // A merge patch replaces the list: write the others back.
                let keep: Vec<&OwnerReference> =
                    dependent.owners.iter().filter(|o| o.uid != owner).collect();
                apis.patch_meta(
                    dependent,
                    serde_json::json!({"metadata": {"ownerReferences": keep}}),
                )
                .await
            }
            Step::Finalize { owner, finalizer } => {
                let rest: Vec<&String> = owner
                    .finalizers
                    .iter()
                    .filter(|f| *f != finalizer)
                    .collect();
                apis.patch_meta(owner, serde_json::json!({"metadata": {"finalizers": rest}}))
                    .await
            }
        };
        if let Err(e) = result {
            tracing::debug!(error = %e, "garbage collection step");
        }
    }
}

/// Runs the collector: a pass after every change the watches show, debounced.
pub async fn run(client: Client, _config: Config) {
    let wake = Arc::new(Notify::new());
    // Only metadata is watched: owner references, finalizers and deletion are all the
    // collector reads, and a full copy of every pod would cost the server memory per pod.
    let (d_store, d_writer) = reflector::store::<PartialObjectMeta<Deployment>>();
    let (r_store, r_writer) = reflector::store::<PartialObjectMeta<ReplicaSet>>();
    let (p_store, p_writer) = reflector::store::<PartialObjectMeta<Pod>>();
    macro_rules! follow {
        ($api:expr, $writer:expr) => {{
            let wake = wake.clone();
            watcher($api, watcher::Config::default())
                .default_backoff()
                // managedFields are most of an object's metadata, and unread here.
                .modify(|o| o.metadata.managed_fields = None)
                .reflect($writer)
                .touched_objects()
                .for_each(move |_| {
                    wake.notify_one();
                    async {}
                })
        }};
    }
    let d = follow!(
        Api::<PartialObjectMeta<Deployment>>::all(client.clone()),
        d_writer
    );
    let r = follow!(
        Api::<PartialObjectMeta<ReplicaSet>>::all(client.clone()),
        r_writer
    );
    let p = follow!(Api::<PartialObjectMeta<Pod>>::all(client.clone()), p_writer);
    let apis = Apis { client };
    let loop_ = async {
        loop {
            wake.notified().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            let all = nodes(&d_store, &r_store, &p_store);
            pass(&apis, &all).await;
        }
    };
    tokio::join!(d, r, p, loop_);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(kind: &'static str, uid: &str, owner: Option<(&str, &str)>) -> Node {
        Node {
            kind,
            namespace: "default".into(),
            name: format!("{kind}-{uid}"),
            uid: uid.into(),
            owners: owner
                .map(|(kind, uid)| OwnerReference {
                    kind: kind.into(),
                    uid: uid.into(),
                    controller: Some(true),
                    ..Default::default()
                })
                .into_iter()
                .collect(),
            deleting: false,
            finalizers: Vec::new(),
        }
    }

    fn names(steps: &[Step<'_>]) -> Vec<String> {
        steps
            .iter()
            .map(|s| match s {
                Step::DeleteOrphaned { dependent, owner } => {
                    format!("delete {} (owner {owner} gone)", dependent.uid)
                }
                Step::DeleteForeground { dependent } => format!("delete {}", dependent.uid),
                Step::Orphan { dependent, owner } => {
                    format!("orphan {} from {owner}", dependent.uid)
                }
                Step::Finalize { owner, finalizer } => {
                    format!("finalize {} {finalizer}", owner.uid)
                }
            })
            .collect()
    }

    #[test]
    fn dependents_of_a_gone_owner_are_deleted_and_other_owners_left_alone() {
        let nodes = [
            node("Deployment", "d1", None),
            node("ReplicaSet", "rs1", Some(("Deployment", "d1"))),
            node("ReplicaSet", "rs2", Some(("Deployment", "gone"))),
            node("Pod", "p1", Some(("ReplicaSet", "rs2"))),
            node("Pod", "p2", Some(("ReplicaSet", "rs-gone"))),
            // A kind this collector does not know owns it: not its business.
            node("Pod", "p3", Some(("Job", "job-gone"))),
        ];
        assert_eq!(
            names(&decide(&nodes)),
            [
                "delete rs2 (owner gone gone)",
                "delete p2 (owner rs-gone gone)"
            ]
        );
    }

    #[test]
    fn the_orphan_finalizer_releases_dependents_then_the_owner() {
        let mut owner = node("Deployment", "d1", None);
        owner.deleting = true;
        owner.finalizers = vec![ORPHAN.into()];
        let nodes = [
            owner.clone(),
            node("ReplicaSet", "rs1", Some(("Deployment", "d1"))),
        ];
        assert_eq!(names(&decide(&nodes)), ["orphan rs1 from d1"]);
        assert_eq!(names(&decide(&[owner])), ["finalize d1 orphan"]);
    }

    #[test]
    fn the_foreground_finalizer_waits_for_the_dependents_to_go() {
        let mut owner = node("ReplicaSet", "rs1", None);
        owner.deleting = true;
        owner.finalizers = vec![FOREGROUND.into()];
        let mut going = node("Pod", "p2", Some(("ReplicaSet", "rs1")));
        going.deleting = true;
        let nodes = [
            owner.clone(),
            node("Pod", "p1", Some(("ReplicaSet", "rs1"))),
            going,
        ];
        assert_eq!(names(&decide(&nodes)), ["delete p1"]);
        assert_eq!(
            names(&decide(&[owner])),
            ["finalize rs1 foregroundDeletion"]
        );
    }
}
