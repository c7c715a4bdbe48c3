//! Request entry: health endpoints, authentication, and dispatch to discovery, OpenAPI and the
//! resource verbs.

use std::sync::Arc;

use axum::body::Body;
use http::{Method, Request, Response, StatusCode, header};
use k4t_api::discovery;
use k4t_api::error::ApiError;
use serde_json::json;

use crate::Shared;
use crate::query::Query;
use crate::respond;
use crate::route::{self, Route};

/// The Kubernetes version whose API k4t serves (k8s-openapi's `v1_36` types).
pub const KUBE_MAJOR: &str = "1";
pub const KUBE_MINOR: &str = "36";
pub const KUBE_GIT_VERSION: &str = concat!("v1.36.0+k4t-", env!("CARGO_PKG_VERSION"));

pub(crate) async fn handle(
    shared: Arc<Shared>,
    req: Request<hyper::body::Incoming>,
) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let req = Request::from_parts(parts, Body::new(body));
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let started = tokio::time::Instant::now();
    let resp = dispatch(shared, req).await;
    tracing::debug!(%method, %path, status = resp.status().as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "request");
    resp
}

fn authenticated(shared: &Shared, req: &Request<Body>) -> bool {
    let Some(value) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(token) = value.strip_prefix("Bearer ").map(str::trim) else {
        return false;
    };
    constant_time_eq(token.as_bytes(), shared.token.as_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn dispatch(shared: Arc<Shared>, req: Request<Body>) -> Response<Body> {
    let route = route::parse(req.uri().path());
    if let Route::Health(_) = route {
        return respond::bytes(StatusCode::OK, "text/plain; charset=utf-8", "ok");
    }
    if !authenticated(&shared, &req) {
        return respond::error(&ApiError::Unauthorized);
    }
    let query = Query::parse(req.uri().query());
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let get_only = |f: &dyn Fn() -> Response<Body>| -> Response<Body> {
        if req.method() == Method::GET || req.method() == Method::HEAD {
            f()
        } else {
            respond::error(&ApiError::MethodNotAllowed {
                resource: k4t_api::error::GroupResource::new("", ""),
                action: req.method().to_string(),
            })
        }
    };
    match route {
        Route::Health(_) => respond::bytes(StatusCode::OK, "text/plain; charset=utf-8", "ok"),
        Route::Version => get_only(&|| {
            respond::json_value(
                StatusCode::OK,
                &json!({
                    "major": KUBE_MAJOR,
                    "minor": KUBE_MINOR,
                    "gitVersion": KUBE_GIT_VERSION,
                    "gitCommit": "k4t",
                    "gitTreeState": "clean",
                    "buildDate": "2026-11-22T00:00:00Z",
                    "goVersion": "rust",
                    "compiler": "rustc",
                    "platform": format!("linux/{}", go_arch()),
                }),
            )
        }),
        Route::CoreGroup => get_only(&|| {
            if discovery::wants_aggregated(&accept) {
                respond::bytes(
                    StatusCode::OK,
                    discovery::AGGREGATED_CONTENT_TYPE,
                    serde_json::to_vec(&discovery::aggregated(true)).unwrap_or_default(),
                )
            } else {
                respond::json_value(
                    StatusCode::OK,
                    &discovery::api_versions(&shared.server_address),
                )
            }
        }),
        Route::Groups => get_only(&|| {
            if discovery::wants_aggregated(&accept) {
                respond::bytes(
                    StatusCode::OK,
                    discovery::AGGREGATED_CONTENT_TYPE,
                    serde_json::to_vec(&discovery::aggregated(false)).unwrap_or_default(),
                )
            } else {
                respond::json_value(StatusCode::OK, &discovery::api_group_list())
            }
        }),
        Route::Group(g) => get_only(&|| match discovery::api_group(&g) {
            Some(v) => respond::json_value(StatusCode::OK, &v),
            None => respond::error(&ApiError::UnknownPath),
        }),
        Route::GroupVersion { group, version } => {
            get_only(&|| match discovery::api_resource_list(&group, &version) {
                Some(v) => respond::json_value(StatusCode::OK, &v),
                None => respond::error(&ApiError::UnknownPath),
            })
        }
        Route::OpenApiV2 => get_only(&|| crate::resources::openapi_v2(&accept)),
        Route::OpenApiV3Index => get_only(&crate::resources::openapi_v3_index),
        Route::OpenApiV3(path) => get_only(&|| crate::resources::openapi_v3(&path)),
        Route::Metrics => {
            get_only(&|| respond::bytes(StatusCode::OK, "text/plain; version=0.0.4", ""))
        }
        Route::TunnelControl(node) => {
            if req.method() == Method::GET {
                shared.tunnels.control(&node, shared.shutdown.clone())
            } else {
                respond::error(&ApiError::MethodNotAllowed {
                    resource: k4t_api::error::GroupResource::new("", "tunnel"),
                    action: req.method().to_string(),
                })
            }
        }
        Route::TunnelDial(id) => {
            let mut req = req;
            shared.tunnels.accept(&id, &mut req)
        }
        Route::Resource(rp) => crate::resources::handle(shared, rp, query, req).await,
        Route::NotFound => respond::error(&ApiError::UnknownPath),
    }
}

fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
