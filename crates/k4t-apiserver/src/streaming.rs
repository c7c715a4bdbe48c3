//! The streaming subresources of pods (`log`, `exec`, `attach`, `portforward`): the API
//! server's checks (which container, which instance; pure, in `k4t_api::podstream`), then
//! the request goes on to the pod's node agent through its tunnel, kubelet-style paths.

use std::sync::Arc;

use axum::body::Body;
use http::{Request, Response, StatusCode};
use k4t_api::error::ApiError;
use k4t_api::podstream;
use k4t_api::registry::Subresource;
use k8s_openapi::api::core::v1::Pod;
use serde_json::Value;

use crate::Shared;
use crate::query::Query;

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub(crate) async fn serve(
    shared: &Arc<Shared>,
    pod: Value,
    sub: Subresource,
    query: &Query,
    req: Request<Body>,
) -> Result<Response<Body>, ApiError> {
    let pod: Pod = serde_json::from_value(pod)
        .map_err(|e| ApiError::Internal(format!("stored pod does not decode: {e}")))?;
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let node = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .filter(|n| !n.is_empty());
    let raw_query = req.uri().query().unwrap_or("").to_owned();
    let path = match sub {
        Subresource::Log => {
            let container = podstream::container_name(&pod, query.get("container"))?;
            // An unscheduled pod has no logs yet: an empty answer, as Kubernetes gives.
            let Some(_) = node else {
                return Ok(Response::builder()
                    .status(StatusCode::OK)
                    .header(http::header::CONTENT_TYPE, "text/plain")
                    .body(Body::empty())
                    .unwrap_or_default());
            };
            let id = podstream::log_container_id(&pod, &container, query.flag("previous"))?;
            format!(
                "/containerLogs/{}/{}/{}?{raw_query}&containerID={}",
                enc(&ns),
                enc(&name),
                enc(&container),
                enc(&id)
            )
        }
        Subresource::Exec | Subresource::Attach => {
            let container = podstream::container_name(&pod, query.get("container"))?;
            if node.is_none() {
                return Err(ApiError::BadRequest(format!(
                    "pod {name} does not have a host assigned"
                )));
            }
            let id = podstream::running_container_id(&pod, &container)?;
            let verb = if sub == Subresource::Exec {
                "exec"
            } else {
                "attach"
            };
            format!(
                "/{verb}/{}/{}/{}?{raw_query}&containerID={}",
                enc(&ns),
                enc(&name),
                enc(&container),
                enc(&id)
            )
        }
        Subresource::PortForward => {
            if node.is_none() {
                return Err(ApiError::BadRequest(format!(
                    "pod {name} does not have a host assigned"
                )));
            }
            format!(
                "/portForward/{}/{}?{raw_query}&uid={}",
                enc(&ns),
                enc(&name),
                enc(&uid)
            )
        }
        _ => return Err(ApiError::UnknownPath),
    };
    let node = node.unwrap_or_default();
    shared.tunnels.proxy(&node, &path, req).await
}
