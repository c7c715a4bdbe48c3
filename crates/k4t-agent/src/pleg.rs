//! The agent's view of the runtime (the role of the kubelet's PLEG cache): one listing of
//! sandboxes and containers shared by every pod worker. A worker that needs state at least as
//! new as "now" waits for a listing that started after it asked, and concurrent askers share
//! one listing, so 500 pods syncing at once cost a handful of listings, not 500.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use k4t_runtime::{ContainerStatus, Runtime, RuntimeError, SandboxStatus, labels};
use tokio::sync::Mutex;

/// Everything the runtime holds, grouped by pod uid.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub sandboxes: HashMap<String, Vec<SandboxStatus>>,
    pub containers: HashMap<String, Vec<ContainerStatus>>,
}

impl Snapshot {
    /// A pod's sandboxes (newest first) and container instances.
    pub fn of(&self, uid: &str) -> (Vec<SandboxStatus>, Vec<ContainerStatus>) {
        (
            self.sandboxes.get(uid).cloned().unwrap_or_default(),
            self.containers.get(uid).cloned().unwrap_or_default(),
        )
    }

    /// Every pod uid the runtime holds anything of.
    pub fn pods(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .sandboxes
            .keys()
            .chain(self.containers.keys())
            .cloned()
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

struct Listed {
    /// Requests numbered below this are answered by `snapshot`.
    covers: u64,
    snapshot: Arc<Snapshot>,
}

/// The shared, coalescing listing.
pub struct RuntimeCache {
    runtime: Arc<dyn Runtime>,
    requests: AtomicU64,
    listed: Mutex<Listed>,
}

impl RuntimeCache {
    pub fn new(runtime: Arc<dyn Runtime>) -> Self {
        Self {
            runtime,
            requests: AtomicU64::new(0),
            listed: Mutex::new(Listed {
                covers: 0,
                snapshot: Arc::default(),
            }),
        }
    }

    /// A snapshot taken after this call began.
    pub async fn fresh(&self) -> Result<Arc<Snapshot>, RuntimeError> {
        let mine = self.requests.fetch_add(1, Ordering::SeqCst);
        let mut listed = self.listed.lock().await;
        if listed.covers > mine {
            return Ok(listed.snapshot.clone());
        }
        let covers = self.requests.load(Ordering::SeqCst);
        let snapshot = Arc::new(self.list().await?);
        *listed = Listed {
            covers,
            snapshot: snapshot.clone(),
        };
        Ok(snapshot)
    }

    async fn list(&self) -> Result<Snapshot, RuntimeError> {
        let mut s = Snapshot::default();
        for sb in self.runtime.list_sandboxes().await? {
            let Some(uid) = sb.labels.get(labels::POD_UID).cloned() else {
                continue;
            };
            s.sandboxes.entry(uid).or_default().push(sb);
        }
        for list in s.sandboxes.values_mut() {
            list.sort_by_key(|s| std::cmp::Reverse(s.created_at));
        }
        for c in self.runtime.list_containers().await? {
            let Some(uid) = c.labels.get(labels::POD_UID).cloned() else {
                continue;
            };
            s.containers.entry(uid).or_default().push(c);
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k4t_runtime::SandboxConfig;
    use k4t_runtime::fake::FakeRuntime;

    #[tokio::test]
    async fn every_asker_sees_changes_made_before_it_asked() {
        let rt = Arc::new(FakeRuntime::new());
        let cache = Arc::new(RuntimeCache::new(rt.clone()));
        assert!(cache.fresh().await.unwrap().pods().is_empty());
        let config = SandboxConfig {
            pod_uid: "u1".into(),
            labels: [(labels::POD_UID.to_string(), "u1".to_string())].into(),
            ..Default::default()
        };
        rt.run_sandbox(&config).await.unwrap();
        let snaps = futures::future::join_all((0..50).map(|_| {
            let c = cache.clone();
            async move { c.fresh().await.unwrap() }
        }))
        .await;
        assert!(snaps.iter().all(|s| s.pods() == vec!["u1".to_string()]));
    }
}
