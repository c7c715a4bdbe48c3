//! Which container a `pods/{name}/log|exec|attach|portforward` request reaches, with the
//! API server's and the kubelet's checks and messages: the container name (defaulted when
//! the pod has one container, or from the `kubectl.kubernetes.io/default-container`
//! annotation), then the instance from the pod's status (the running one, the last
//! terminated one for logs, or the previous one).

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

use crate::error::ApiError;

/// The annotation naming the container commands default to.
pub const DEFAULT_CONTAINER_ANNOTATION: &str = "kubectl.kubernetes.io/default-container";

fn names(pod: &Pod) -> (Vec<String>, Vec<String>) {
    let spec = pod.spec.as_ref();
    let app = spec
        .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    let init = spec
        .and_then(|s| s.init_containers.as_ref())
        .map(|cs| cs.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    (app, init)
}

fn pod_name(pod: &Pod) -> &str {
    pod.metadata.name.as_deref().unwrap_or("")
}

/// The container a request names, or the one it defaults to; errors as the API server
/// words them.
pub fn container_name(pod: &Pod, requested: Option<&str>) -> Result<String, ApiError> {
    let (app, init) = names(pod);
    let name = pod_name(pod);
    match requested.filter(|c| !c.is_empty()) {
        Some(c) => {
            if app.iter().chain(&init).any(|n| n == c) {
                Ok(c.to_owned())
            } else {
                Err(ApiError::BadRequest(format!(
                    "container {c} is not valid for pod {name}"
                )))
            }
        }
        None => {
            if let Some(d) = pod
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(DEFAULT_CONTAINER_ANNOTATION))
                .filter(|d| app.contains(d))
            {
                return Ok(d.clone());
            }
            if app.len() == 1 {
                return Ok(app[0].clone());
            }
            let mut msg = format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                app.join(" ")
            );
            if !init.is_empty() {
                msg.push_str(&format!(
                    " or one of the init containers: [{}]",
                    init.join(" ")
                ));
            }
            Err(ApiError::BadRequest(msg))
        }
    }
}

fn status_of<'a>(pod: &'a Pod, container: &str) -> Option<&'a ContainerStatus> {
    let st = pod.status.as_ref()?;
    st.container_statuses
        .iter()
        .flatten()
        .chain(st.init_container_statuses.iter().flatten())
        .find(|s| s.name == container)
}

/// The container ID whose log a request reads (the kubelet's rules).
pub fn log_container_id(pod: &Pod, container: &str, previous: bool) -> Result<String, ApiError> {
    let name = pod_name(pod);
    let bad = |m: String| ApiError::BadRequest(m);
    let Some(status) = status_of(pod, container) else {
        return Err(bad(format!(
            "container \"{container}\" in pod \"{name}\" is waiting to start: ContainerCreating"
        )));
    };
    let state = status.state.clone().unwrap_or_default();
    let last = status
        .last_state
        .as_ref()
        .and_then(|l| l.terminated.as_ref())
        .and_then(|t| t.container_id.clone())
        .filter(|id| !id.is_empty());
    if previous {
        return last.ok_or_else(|| {
            bad(format!(
                "previous terminated container \"{container}\" in pod \"{name}\" not found"
            ))
        });
    }
    if state.running.is_some() {
        return status.container_id.clone().ok_or_else(|| {
            bad(format!(
                "container \"{container}\" in pod \"{name}\" is waiting to start - no logs yet"
            ))
        });
    }
    if let Some(t) = &state.terminated {
        return t
            .container_id
            .clone()
            .filter(|id| !id.is_empty())
            .or(last)
            .ok_or_else(|| {
                bad(format!(
                    "container \"{container}\" in pod \"{name}\" is terminated"
                ))
            });
    }
    if let Some(id) = last {
        return Ok(id);
    }
    match state.waiting.and_then(|w| w.reason) {
        Some(reason) => Err(bad(format!(
            "container \"{container}\" in pod \"{name}\" is waiting to start: {reason}"
        ))),
        None => Err(bad(format!(
            "container \"{container}\" in pod \"{name}\" is waiting to start - no logs yet"
        ))),
    }
}

/// The running container an exec or attach reaches.
pub fn running_container_id(pod: &Pod, container: &str) -> Result<String, ApiError> {
    status_of(pod, container)
        .filter(|s| s.state.as_ref().is_some_and(|st| st.running.is_some()))
        .and_then(|s| s.container_id.clone())
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ApiError::BadRequest(format!("container not found (\"{container}\")")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    fn two() -> Pod {
        pod(json!({
            "metadata": {"name": "web"},
            "spec": {"initContainers": [{"name": "setup"}], "containers": [{"name": "a"}, {"name": "b"}]},
            "status": {"containerStatuses": [
                {"name": "a", "containerID": "process://a2", "state": {"running": {}},
                 "lastState": {"terminated": {"exitCode": 1, "containerID": "process://a1"}},
                 "ready": true, "restartCount": 1, "image": "", "imageID": ""},
                {"name": "b", "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                 "ready": false, "restartCount": 0, "image": "", "imageID": ""}
            ]}
        }))
    }

    fn msg(e: ApiError) -> String {
        match e {
            ApiError::BadRequest(m) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn names_default_or_are_checked() {
        let p = two();
        assert_eq!(container_name(&p, Some("b")).unwrap(), "b");
        assert_eq!(container_name(&p, Some("setup")).unwrap(), "setup");
        assert_eq!(
            msg(container_name(&p, Some("x")).unwrap_err()),
            "container x is not valid for pod web"
        );
        assert_eq!(
            msg(container_name(&p, None).unwrap_err()),
            "a container name must be specified for pod web, choose one of: [a b] or one of the init containers: [setup]"
        );
        let mut annotated = p.clone();
        annotated.metadata.annotations =
            Some([(DEFAULT_CONTAINER_ANNOTATION.to_owned(), "b".to_owned())].into());
        assert_eq!(container_name(&annotated, None).unwrap(), "b");
        let one =
            pod(json!({"metadata": {"name": "x"}, "spec": {"containers": [{"name": "only"}]}}));
        assert_eq!(container_name(&one, None).unwrap(), "only");
    }

    #[test]
    fn log_instances_follow_the_kubelet() {
        let p = two();
        assert_eq!(log_container_id(&p, "a", false).unwrap(), "process://a2");
        assert_eq!(log_container_id(&p, "a", true).unwrap(), "process://a1");
        assert_eq!(
            msg(log_container_id(&p, "b", true).unwrap_err()),
            "previous terminated container \"b\" in pod \"web\" not found"
        );
        assert_eq!(
            msg(log_container_id(&p, "b", false).unwrap_err()),
            "container \"b\" in pod \"web\" is waiting to start: CrashLoopBackOff"
        );
        assert_eq!(
            msg(log_container_id(&p, "setup", false).unwrap_err()),
            "container \"setup\" in pod \"web\" is waiting to start: ContainerCreating"
        );
        assert_eq!(running_container_id(&p, "a").unwrap(), "process://a2");
        assert_eq!(
            msg(running_container_id(&p, "b").unwrap_err()),
            "container not found (\"b\")"
        );
    }
}
