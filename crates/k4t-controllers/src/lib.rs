//! k4t's controllers. Each is a client of the API (kube-rs `Controller`: watch, reconcile,
//! requeue), so it runs in `k4t server` or against any Kubernetes API server.
//!
//! - [`namespace`]: deletes the contents of a terminating namespace, then finalizes it.
//! - [`serviceaccount`]: keeps a `default` ServiceAccount in every namespace.
//! - [`scheduler`]: binds pending pods to Ready nodes that fit them.
//! - [`replicaset`]: keeps a ReplicaSet's pods alive, scaled, adopted and counted.
//! - [`deployment`]: rolls a Deployment's template out through ReplicaSets.
//! - [`gc`]: deletes or orphans the dependents of deleted Deployments and ReplicaSets.

use std::time::Duration;

use kube::Client;
use tokio::task::JoinSet;

pub mod deployment;
pub mod gc;
pub mod namespace;
pub mod recorder;
pub mod replicaset;
pub mod scheduler;
pub mod serviceaccount;

/// Errors of one reconcile; they requeue with backoff.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("api request for {object} failed: {source}")]
    Kube {
        object: String,
        #[source]
        source: kube::Error,
    },
}

/// Settings shared by the controllers.
#[derive(Debug, Clone)]
pub struct Config {
    /// How long before a failed reconcile is retried.
    pub retry_after: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            retry_after: Duration::from_secs(5),
        }
    }
}

/// Runs every controller until the task set is dropped.
pub fn spawn_all(client: Client, config: Config, tasks: &mut JoinSet<()>) {
    tasks.spawn(namespace::run(client.clone(), config.clone()));
    tasks.spawn(serviceaccount::run(client.clone(), config.clone()));
    tasks.spawn(replicaset::run(client.clone(), config.clone()));
    tasks.spawn(deployment::run(client.clone(), config.clone()));
    tasks.spawn(gc::run(client.clone(), config.clone()));
    tasks.spawn(scheduler::run(client, config));
}
