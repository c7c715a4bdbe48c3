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

    /// One pod's sandboxes (newest first) and container instances, read after this call
    /// began. A pod worker's sync needs only its own pod: asking the runtime for it alone
    /// keeps a sync's cost independent of how many pods the node runs.
    pub async fn pod(
        &self,
        uid: &str,
    ) -> Result<(Vec<SandboxStatus>, Vec<ContainerStatus>), RuntimeError> {
        let mut l = self.runtime.list_pod(uid).await?;
        l.sandboxes.sort_by_key(|s| std::cmp::Reverse(s.created_at));
        Ok((l.sandboxes, l.containers))
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

    #[tokio::test]
    async fn a_pod_listing_holds_that_pod_only_newest_sandbox_first() {
        let rt = Arc::new(FakeRuntime::new());
        let cache = RuntimeCache::new(rt.clone());
        let sandbox = |uid: &str| SandboxConfig {
            pod_uid: uid.into(),
            labels: [(labels::POD_UID.to_string(), uid.to_string())].into(),
            ..Default::default()
        };
        let first = rt.run_sandbox(&sandbox("u1")).await.unwrap();
        rt.run_sandbox(&sandbox("u2")).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        let second = rt.run_sandbox(&sandbox("u1")).await.unwrap();
        let (sandboxes, containers) = cache.pod("u1").await.unwrap();
        let ids: Vec<_> = sandboxes.iter().map(|s| s.id.clone()).collect();
        assert_eq!(ids, [second.id, first.id]);
        assert!(containers.is_empty());
        assert_eq!(cache.pod("nobody").await.unwrap().0, []);
    }
}
