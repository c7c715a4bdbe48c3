//! Namespace lifecycle: when a namespace is being deleted, delete everything in it, and once
//! nothing is left remove the `kubernetes` finalizer so the API server removes the namespace
//! (what kube-controller-manager's namespace controller does).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use k4t_api::registry::RESOURCES;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, ResourceExt as _};

use crate::{Config, Error};

/// The finalizer the API server puts in `spec.finalizers` of every namespace.
pub const FINALIZER: &str = "kubernetes";

struct Ctx {
    client: Client,
    config: Config,
}

/// The namespaced resources to empty, each once (events.k8s.io events are core events).
fn namespaced_resources() -> Vec<ApiResource> {
    RESOURCES
        .iter()
        .filter(|r| r.namespaced && r.group != "events.k8s.io")
        .map(|r| {
            ApiResource::from_gvk_with_plural(
                &GroupVersionKind::gvk(r.group, r.version, r.kind),
                r.plural,
            )
        })
        .collect()
}

/// What remains to do for a namespace being deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Not being deleted, or already finalized: nothing.
    Idle,
    /// Delete the contents, then look again.
    DeleteContents,
    /// Empty: remove the finalizer.
    Finalize,
}

/// Decides the step from the namespace and how many objects are left in it.
pub fn next_step(ns: &Namespace, remaining: Option<usize>) -> Step {
    let deleting = ns.metadata.deletion_timestamp.is_some();
    let has_finalizer = ns
        .spec
        .as_ref()
        .and_then(|s| s.finalizers.as_ref())
        .is_some_and(|f| f.iter().any(|x| x == FINALIZER));
    match (deleting, has_finalizer, remaining) {
        (true, true, Some(0)) => Step::Finalize,
        (true, true, _) => Step::DeleteContents,
        _ => Step::Idle,
    }
}

async fn count_remaining(client: &Client, ns: &str) -> Result<usize, Error> {
    let mut total = 0;
    for ar in namespaced_resources() {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
        let list = api
            .list_metadata(&ListParams::default())
            .await
            .map_err(|source| Error::Kube {
                object: format!("{}/{ns}", ar.plural),
                source,
            })?;
        total += list.items.len();
    }
    Ok(total)
}

async fn reconcile(ns: Arc<Namespace>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let name = ns.name_any();
    match next_step(&ns, None) {
        Step::Idle => return Ok(Action::await_change()),
        Step::DeleteContents | Step::Finalize => {}
    }
    for ar in namespaced_resources() {
        let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &name, &ar);
        api.delete_collection(&DeleteParams::background(), &ListParams::default())
            .await
            .map_err(|source| Error::Kube {
                object: format!("{}/{name}", ar.plural),
                source,
            })?;
    }
    let remaining = count_remaining(&ctx.client, &name).await?;
    if next_step(&ns, Some(remaining)) != Step::Finalize {
        tracing::debug!(namespace = %name, remaining, "namespace not empty yet");
        return Ok(Action::requeue(Duration::from_secs(2)));
    }
    let mut finalized = (*ns).clone();
    if let Some(spec) = finalized.spec.as_mut() {
        spec.finalizers = spec
            .finalizers
            .take()
            .map(|f| f.into_iter().filter(|x| x != FINALIZER).collect());
    }
    finalized.metadata.managed_fields = None;
    let api: Api<Namespace> = Api::all(ctx.client.clone());
    match api
        .replace_subresource("finalize", &name, &PostParams::default(), &finalized)
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 404 => {}
        Err(source) => {
            return Err(Error::Kube {
                object: format!("namespaces/{name}"),
                source,
            });
        }
    }
    tracing::info!(namespace = %name, "namespace finalized");
    Ok(Action::await_change())
}

fn error_policy(_ns: Arc<Namespace>, err: &Error, ctx: Arc<Ctx>) -> Action {
    tracing::warn!(error = %err, "namespace reconcile failed");
    Action::requeue(ctx.config.retry_after)
}

/// Runs the namespace controller.
pub async fn run(client: Client, config: Config) {
    let api: Api<Namespace> = Api::all(client.clone());
    let ctx = Arc::new(Ctx { client, config });
    Controller::new(api, watcher::Config::default())
        .run(reconcile, error_policy, ctx)
        .for_each(|_| async {})
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::NamespaceSpec;

    fn ns(deleting: bool, finalizers: &[&str]) -> Namespace {
        let mut n = Namespace::default();
        if deleting {
            n.metadata.deletion_timestamp = Some(
                k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::UNIX_EPOCH),
            );
        }
        n.spec = Some(NamespaceSpec {
            finalizers: Some(finalizers.iter().map(|s| s.to_string()).collect()),
        });
        n
    }

    #[test]
    fn steps() {
        assert_eq!(next_step(&ns(false, &["kubernetes"]), Some(0)), Step::Idle);
        assert_eq!(
            next_step(&ns(true, &["kubernetes"]), None),
            Step::DeleteContents
        );
        assert_eq!(
            next_step(&ns(true, &["kubernetes"]), Some(3)),
            Step::DeleteContents
        );
        assert_eq!(
            next_step(&ns(true, &["kubernetes"]), Some(0)),
            Step::Finalize
        );
        assert_eq!(next_step(&ns(true, &[]), Some(0)), Step::Idle);
    }

    #[test]
    fn every_namespaced_kind_is_emptied_once() {
        let rs = namespaced_resources();
        assert!(rs.iter().any(|r| r.plural == "pods"));
        assert_eq!(rs.iter().filter(|r| r.plural == "events").count(), 1);
    }
}
