//! Keeps a `default` ServiceAccount in every namespace that is not being deleted (what
//! kube-controller-manager's serviceaccount controller does).

use std::sync::Arc;

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, ObjectMeta, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, ResourceExt as _};

use crate::{Config, Error};

pub const DEFAULT: &str = "default";

struct Ctx {
    client: Client,
    config: Config,
}

async fn reconcile(ns: Arc<Namespace>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    if ns.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let name = ns.name_any();
    let api: Api<ServiceAccount> = Api::namespaced(ctx.client.clone(), &name);
    let err = |source| Error::Kube {
        object: format!("serviceaccounts/{name}/{DEFAULT}"),
        source,
    };
    if api.get_opt(DEFAULT).await.map_err(err)?.is_some() {
        return Ok(Action::await_change());
    }
    let sa = ServiceAccount {
        metadata: ObjectMeta {
            name: Some(DEFAULT.to_owned()),
            ..Default::default()
        },
        ..Default::default()
    };
    match api
        .create(
            &PostParams {
                field_manager: Some("serviceaccount-controller".into()),
                ..Default::default()
            },
            &sa,
        )
        .await
    {
        Ok(_) => tracing::debug!(namespace = %name, "created the default service account"),
        // Exists (raced) or the namespace began terminating: nothing to do.
        Err(kube::Error::Api(e)) if e.code == 409 || e.code == 403 || e.code == 404 => {}
        Err(source) => return Err(err(source)),
    }
    Ok(Action::await_change())
}

fn error_policy(_ns: Arc<Namespace>, err: &Error, ctx: Arc<Ctx>) -> Action {
    tracing::warn!(error = %err, "serviceaccount reconcile failed");
    Action::requeue(ctx.config.retry_after)
}

/// Runs the controller: reconciles namespaces, and again when a `default` account changes.
pub async fn run(client: Client, config: Config) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let accounts: Api<ServiceAccount> = Api::all(client.clone());
    let ctx = Arc::new(Ctx { client, config });
    Controller::new(namespaces, watcher::Config::default())
        .watches(
            accounts,
            watcher::Config::default().fields("metadata.name=default"),
            |sa| sa.namespace().map(|ns| ObjectRef::<Namespace>::new(&ns)),
        )
        .run(reconcile, error_policy, ctx)
        .for_each(|_| async {})
        .await;
}
