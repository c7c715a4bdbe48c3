//! What the server does by itself: the namespaces that always exist, and expiring events
//! (Kubernetes keeps events for `--event-ttl`, 1 h, through etcd leases).

use std::sync::Arc;

use bytes::Bytes;
use jiff::Timestamp;
use k4t_api::registry;
use k4t_api::rest::{self, WriteCtx};
use k4t_store::{ListOptions, StoreError};
use serde_json::{Value, json};

use crate::Shared;

/// Namespaces every cluster has.
pub const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Creates the system namespaces that are missing.
pub(crate) async fn bootstrap(shared: &Shared) {
    let Some(def) = registry::find("", "v1", "namespaces") else {
        return;
    };
    for ns in SYSTEM_NAMESPACES {
        let key = def.key(None, ns);
        if shared.store.get(&key).is_some() {
            continue;
        }
        let ctx = WriteCtx {
            def,
            namespace: None,
            now: shared.clock.now(),
            manager: "k4t",
        };
        let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        let created = rest::create(&ctx, obj, &uuid::Uuid::new_v4().to_string(), "")
            .map_err(|e| e.to_string())
            .and_then(|o| serde_json::to_vec(&o).map_err(|e| e.to_string()));
        match created {
            Ok(bytes) => match shared.store.create(&key, Bytes::from(bytes)).await {
                Ok(_) | Err(StoreError::AlreadyExists { .. }) => {}
                Err(e) => tracing::error!(namespace = ns, error = %e, "creating system namespace"),
            },
            Err(e) => tracing::error!(namespace = ns, error = %e, "creating system namespace"),
        }
    }
}

/// Periodic work until shutdown.
pub(crate) async fn run(shared: Arc<Shared>) {
    let mut tick =
        tokio::time::interval(std::time::Duration::from_secs(60).min(shared.config.event_ttl));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut shutdown = shared.shutdown.clone();
    loop {
        tokio::select! {
            _ = tick.tick() => expire_events(&shared).await,
            _ = crate::stopped(&mut shutdown) => return,
        }
    }
}

/// The time an event was last seen.
fn event_last_seen(v: &Value) -> Option<Timestamp> {
    ["lastTimestamp", "eventTime"]
        .iter()
        .filter_map(|f| v.get(*f).and_then(Value::as_str))
        .chain(
            v.pointer("/series/lastObservedTime")
                .and_then(Value::as_str),
        )
        .chain(
            v.pointer("/metadata/creationTimestamp")
                .and_then(Value::as_str),
        )
        .filter_map(|s| s.parse::<Timestamp>().ok())
        .max()
}

async fn expire_events(shared: &Shared) {
    let Some(def) = registry::find("", "v1", "events") else {
        return;
    };
    let Ok(ttl) = jiff::SignedDuration::try_from(shared.config.event_ttl) else {
        return;
    };
    let cutoff = shared.clock.now() - ttl;
    let prefix = def.prefix(None);
    let Ok(list) = shared
        .store
        .list(ListOptions {
            prefix: &prefix,
            at: None,
            start_after: None,
            limit: None,
            filter: None,
        })
        .await
    else {
        return;
    };
    let mut expired = 0usize;
    for o in &list.items {
        let Ok(v) = serde_json::from_slice::<Value>(&o.value) else {
            continue;
        };
        if event_last_seen(&v).is_some_and(|t| t < cutoff) {
            match shared.store.delete(&o.key, o.mod_revision).await {
                Ok(_) => expired += 1,
                Err(StoreError::Conflict { .. } | StoreError::NotFound { .. }) => {}
                Err(e) => tracing::warn!(key = %o.key, error = %e, "expiring event"),
            }
        }
    }
    if expired > 0 {
        tracing::debug!(expired, "expired events");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_seen_is_the_latest_timestamp() {
        let v = json!({"metadata": {"creationTimestamp": "2026-01-01T00:00:00Z"}, "lastTimestamp": "2026-01-01T01:00:00Z"});
        assert_eq!(event_last_seen(&v), "2026-01-01T01:00:00Z".parse().ok());
        let v = json!({"metadata": {}});
        assert_eq!(event_last_seen(&v), None);
    }
}
