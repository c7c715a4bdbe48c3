//! What one pod sync must do, decided from the pod's spec, what the runtime holds and the probe
//! results, as the kubelet's `computePodActions` decides it: create the sandbox, run the next
//! init container, kill running containers whose liveness or startup probe failed or whose
//! spec changed, (re)start exited ones by the restart policy, or stop the whole pod once
//! nothing is left to run. Pure; the crash-loop backoff is applied by the caller just before a
//! start.

use std::collections::BTreeMap;

use k4t_runtime::{ContainerState, ContainerStatus, SandboxState, SandboxStatus, labels};
use k8s_openapi::api::core::v1::{Container, Pod};
use sha2::{Digest as _, Sha256};

use crate::probe::{Kind, Outcome};

/// Why a running container is killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillReason {
    Liveness,
    Startup,
    DefinitionChanged,
    UnknownState,
}

/// A running (or unknown) container instance to stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kill {
    pub id: String,
    pub name: String,
    pub reason: KillReason,
    /// The `Killing` event's message.
    pub message: String,
}

/// The plan of one sync.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actions {
    /// Stop every container and the sandbox (nothing more will run, or the sandbox changed).
    pub kill_pod: bool,
    /// Create a new sandbox (none is ready). `sandbox_changed`: one existed and is gone.
    pub create_sandbox: bool,
    pub sandbox_changed: bool,
    pub kill: Vec<Kill>,
    /// The init container (index in `spec.initContainers`) to start next.
    pub start_init: Option<usize>,
    /// The regular containers (indices in `spec.containers`) to start.
    pub start: Vec<usize>,
}

/// A stable hash of a container's spec: a new hash means a changed definition.
pub fn spec_hash(c: &Container) -> String {
    let json = serde_json::to_vec(c).unwrap_or_default();
    hex::encode(&Sha256::digest(&json)[..4])
}

/// The pod's restart policy (`Always` when unset).
pub fn restart_policy(pod: &Pod) -> &str {
    pod.spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        .unwrap_or("Always")
}

/// The latest instance of container `name` among `instances`.
pub fn latest<'a>(instances: &'a [ContainerStatus], name: &str) -> Option<&'a ContainerStatus> {
    instances
        .iter()
        .filter(|c| c.name == name)
        .max_by_key(|c| (c.attempt, c.created_at))
}

/// The latest instance of `name` that has exited (the one the backoff looks at).
pub fn latest_exited<'a>(
    instances: &'a [ContainerStatus],
    name: &str,
) -> Option<&'a ContainerStatus> {
    instances
        .iter()
        .filter(|c| c.name == name && c.state == ContainerState::Exited)
        .max_by_key(|c| (c.attempt, c.created_at))
}

/// The attempt number the next instance of `name` gets.
pub fn next_attempt(instances: &[ContainerStatus], name: &str) -> u32 {
    latest(instances, name).map_or(0, |c| c.attempt.saturating_add(1))
}

/// Computes the actions of a sync of a pod that is not being deleted.
/// `sandboxes` are this pod's, newest first; `containers` every instance of its containers;
/// `probes` the published liveness and startup results by container instance.
pub fn compute(
    pod: &Pod,
    sandboxes: &[SandboxStatus],
    containers: &[ContainerStatus],
    probes: &BTreeMap<(String, Kind), Outcome>,
) -> Actions {
    let mut a = Actions::default();
    let Some(spec) = pod.spec.as_ref() else {
        return a;
    };
    let policy = restart_policy(pod);
    let ready = sandboxes.first().filter(|s| s.state == SandboxState::Ready);
    let Some(sandbox) = ready else {
        let ran_before = !sandboxes.is_empty() && !containers.is_empty();
        a.sandbox_changed = !sandboxes.is_empty();
        a.kill_pod = containers
            .iter()
            .any(|c| matches!(c.state, ContainerState::Running | ContainerState::Unknown));
        // A `Never` pod whose containers already ran does not get a new sandbox: it is done.
        if ran_before && policy == "Never" {
            a.kill_pod = true;
            return a;
        }
        a.create_sandbox = true;
        if spec.init_containers.as_ref().is_some_and(|i| !i.is_empty()) {
            a.start_init = Some(0);
        } else {
            a.start = (0..spec.containers.len()).collect();
        }
        return a;
    };
    let current: Vec<ContainerStatus> = containers
        .iter()
        .filter(|c| c.sandbox_id == sandbox.id)
        .cloned()
        .collect();

    for (i, c) in spec.init_containers.iter().flatten().enumerate() {
        match latest(&current, &c.name) {
            None => {
                a.start_init = Some(i);
                return a;
            }
            Some(s) => match s.state {
                ContainerState::Running => return a,
                ContainerState::Created => {
                    a.start_init = Some(i);
                    return a;
                }
                ContainerState::Unknown => {
                    a.kill.push(unknown_kill(s));
                    a.start_init = Some(i);
                    return a;
                }
                ContainerState::Exited if s.exit_code == Some(0) => {}
                ContainerState::Exited => {
                    if policy == "Never" {
                        a.kill_pod = true;
                    } else {
                        a.start_init = Some(i);
                    }
                    return a;
                }
            },
        }
    }

    let mut keep = 0usize;
    for (i, c) in spec.containers.iter().enumerate() {
        let Some(s) = latest(&current, &c.name) else {
            a.start.push(i);
            continue;
        };
        match s.state {
            ContainerState::Running => {
                let failed = |k| probes.get(&(s.id.clone(), k)) == Some(&Outcome::Failure);
                let hash = s.labels.get(labels::CONTAINER_HASH);
                let (reason, mut message, restart) = if hash.is_some_and(|h| *h != spec_hash(c)) {
                    (
                        KillReason::DefinitionChanged,
                        format!("Container {} definition changed", c.name),
                        true,
                    )
                } else if failed(Kind::Liveness) {
                    (
                        KillReason::Liveness,
                        format!("Container {} failed liveness probe", c.name),
                        policy != "Never",
                    )
                } else if failed(Kind::Startup) {
                    (
                        KillReason::Startup,
                        format!("Container {} failed startup probe", c.name),
                        policy != "Never",
                    )
                } else {
                    keep += 1;
                    continue;
                };
                if restart && reason != KillReason::DefinitionChanged {
                    message.push_str(", will be restarted");
                }
                a.kill.push(Kill {
                    id: s.id.clone(),
                    name: c.name.clone(),
                    reason,
                    message,
                });
                if restart {
                    a.start.push(i);
                }
            }
            ContainerState::Created => a.start.push(i),
            ContainerState::Unknown => {
                a.kill.push(unknown_kill(s));
                a.start.push(i);
            }
            ContainerState::Exited => {
                let again = match policy {
                    "Never" => false,
                    "OnFailure" => s.exit_code != Some(0),
                    _ => true,
                };
                if again {
                    a.start.push(i);
                }
            }
        }
    }
    if keep == 0 && a.start.is_empty() {
        a.kill_pod = true;
    }
    a
}

fn unknown_kill(s: &ContainerStatus) -> Kill {
    Kill {
        id: s.id.clone(),
        name: s.name.clone(),
        reason: KillReason::UnknownState,
        message: "Container is in \"unknown\" state, try killing it before restart".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;
    use serde_json::json;

    fn pod(policy: &str, init: &[&str], containers: &[&str]) -> Pod {
        let c = |n: &&str| json!({"name": n, "image": "img"});
        serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u"},
            "spec": {
                "restartPolicy": policy,
                "initContainers": init.iter().map(c).collect::<Vec<_>>(),
                "containers": containers.iter().map(c).collect::<Vec<_>>(),
            }
        }))
        .unwrap()
    }

    fn sandbox(id: &str, ready: bool) -> SandboxStatus {
        SandboxStatus {
            id: id.into(),
            state: if ready {
                SandboxState::Ready
            } else {
                SandboxState::NotReady
            },
            ip: None,
            created_at: Timestamp::UNIX_EPOCH,
            labels: BTreeMap::new(),
        }
    }

    fn inst(
        p: &Pod,
        name: &str,
        attempt: u32,
        state: ContainerState,
        code: Option<i32>,
    ) -> ContainerStatus {
        let spec = p.spec.as_ref().unwrap();
        let c = spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
            .find(|c| c.name == name)
            .unwrap();
        ContainerStatus {
            id: format!("{name}-{attempt}"),
            sandbox_id: "s1".into(),
            name: name.into(),
            attempt,
            image: "img".into(),
            state,
            created_at: Timestamp::UNIX_EPOCH,
            started_at: None,
            finished_at: None,
            exit_code: code,
            signal: None,
            reason: String::new(),
            message: String::new(),
            log_path: Default::default(),
            labels: [(labels::CONTAINER_HASH.to_string(), spec_hash(c))].into(),
        }
    }

    use ContainerState::{Exited, Running};

    #[test]
    fn a_new_pod_gets_a_sandbox_and_its_first_containers() {
        let p = pod("Always", &[], &["a", "b"]);
        let a = compute(&p, &[], &[], &BTreeMap::new());
        assert!(a.create_sandbox && !a.sandbox_changed && !a.kill_pod);
        assert_eq!(a.start, vec![0, 1]);
        let p = pod("Always", &["i1", "i2"], &["a"]);
        let a = compute(&p, &[], &[], &BTreeMap::new());
        assert_eq!((a.start_init, a.start.len()), (Some(0), 0));
    }

    #[test]
    fn restart_policy_matrix() {
        for (policy, code, restart) in [
            ("Always", 0, true),
            ("Always", 1, true),
            ("OnFailure", 0, false),
            ("OnFailure", 1, true),
            ("Never", 0, false),
            ("Never", 1, false),
        ] {
            let p = pod(policy, &[], &["a"]);
            let c = inst(&p, "a", 0, Exited, Some(code));
            let a = compute(&p, &[sandbox("s1", true)], &[c], &BTreeMap::new());
            assert_eq!(a.start == vec![0], restart, "{policy} {code}");
            assert_eq!(a.kill_pod, !restart, "{policy} {code}");
        }
    }

    #[test]
    fn init_containers_in_order() {
        let p = pod("Always", &["i1", "i2"], &["a"]);
        let sb = [sandbox("s1", true)];
        let i1 = inst(&p, "i1", 0, Running, None);
        assert_eq!(
            compute(&p, &sb, &[i1], &BTreeMap::new()),
            Actions::default()
        );
        let i1 = inst(&p, "i1", 0, Exited, Some(0));
        let a = compute(&p, &sb, std::slice::from_ref(&i1), &BTreeMap::new());
        assert_eq!(a.start_init, Some(1));
        let i2 = inst(&p, "i2", 0, Exited, Some(1));
        let a = compute(&p, &sb, &[i1.clone(), i2.clone()], &BTreeMap::new());
        assert_eq!(a.start_init, Some(1));
        let i2ok = inst(&p, "i2", 1, Exited, Some(0));
        let a = compute(&p, &sb, &[i1.clone(), i2, i2ok], &BTreeMap::new());
        assert_eq!((a.start_init, a.start.clone()), (None, vec![0]));
        // Never: a failed init container fails the pod.
        let p = pod("Never", &["i1"], &["a"]);
        let i1 = inst(&p, "i1", 0, Exited, Some(2));
        let a = compute(&p, &sb, &[i1], &BTreeMap::new());
        assert!(a.kill_pod && a.start_init.is_none() && a.start.is_empty());
    }

    #[test]
    fn liveness_failure_kills_and_restarts_by_policy() {
        for (policy, restart, message) in [
            (
                "Always",
                true,
                "Container a failed liveness probe, will be restarted",
            ),
            ("Never", false, "Container a failed liveness probe"),
        ] {
            let p = pod(policy, &[], &["a"]);
            let c = inst(&p, "a", 3, Running, None);
            let probes = [((c.id.clone(), Kind::Liveness), Outcome::Failure)].into();
            let a = compute(&p, &[sandbox("s1", true)], &[c], &probes);
            assert_eq!(a.kill.len(), 1);
            assert_eq!(a.kill[0].message, message);
            assert_eq!(a.kill[0].reason, KillReason::Liveness);
            assert_eq!(a.start == vec![0], restart);
            assert_eq!(a.kill_pod, !restart);
        }
        let p = pod("Always", &[], &["a"]);
        let c = inst(&p, "a", 0, Running, None);
        let probes = [((c.id.clone(), Kind::Startup), Outcome::Failure)].into();
        let a = compute(
            &p,
            &[sandbox("s1", true)],
            std::slice::from_ref(&c),
            &probes,
        );
        assert_eq!(
            a.kill[0].message,
            "Container a failed startup probe, will be restarted"
        );
        let probes = [((c.id.clone(), Kind::Liveness), Outcome::Success)].into();
        assert_eq!(
            compute(&p, &[sandbox("s1", true)], &[c], &probes),
            Actions::default()
        );
    }

    #[test]
    fn a_changed_definition_restarts_the_container() {
        let p = pod("Never", &[], &["a"]);
        let mut c = inst(&p, "a", 0, Running, None);
        c.labels.insert(labels::CONTAINER_HASH.into(), "old".into());
        let a = compute(&p, &[sandbox("s1", true)], &[c], &BTreeMap::new());
        assert_eq!(a.kill[0].message, "Container a definition changed");
        assert_eq!(a.start, vec![0]);
    }

    #[test]
    fn a_lost_sandbox_is_recreated_and_init_reruns() {
        let p = pod("Always", &["i"], &["a"]);
        let mut c = inst(&p, "a", 2, Running, None);
        c.sandbox_id = "s0".into();
        let a = compute(&p, &[sandbox("s0", false)], &[c.clone()], &BTreeMap::new());
        assert!(a.create_sandbox && a.sandbox_changed && a.kill_pod);
        assert_eq!(a.start_init, Some(0));
        let p = pod("Never", &[], &["a"]);
        let a = compute(&p, &[sandbox("s0", false)], &[c], &BTreeMap::new());
        assert!(!a.create_sandbox && a.kill_pod);
    }

    #[test]
    fn attempts_and_latest() {
        let p = pod("Always", &[], &["a"]);
        let list = [
            inst(&p, "a", 0, Exited, Some(1)),
            inst(&p, "a", 1, Exited, Some(1)),
            inst(&p, "a", 2, Running, None),
        ];
        assert_eq!(next_attempt(&list, "a"), 3);
        assert_eq!(latest(&list, "a").unwrap().attempt, 2);
        assert_eq!(latest_exited(&list, "a").unwrap().attempt, 1);
        assert_eq!(next_attempt(&list, "b"), 0);
    }
}
