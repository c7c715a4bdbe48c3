//! Watch: a chunked stream of newline-delimited watch events, as JSON objects or Table rows,
//! with Kubernetes' resourceVersion semantics (synthetic ADDED events for "" and "0", resume
//! after a concrete version, 410 Expired when it was compacted), selector transitions,
//! bookmarks, `sendInitialEvents` and timeouts.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use futures::StreamExt as _;
use http::{Response, StatusCode};
use k4t_api::error::ApiError;
use k4t_api::registry::ResourceDef;
use k4t_store::{ListOptions, Object, ObjectRef, StoreError, WatchEventType};
use rand::Rng as _;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::Shared;
use crate::query::Query;
use crate::resources::{
    Selectors, parse_rv, storage_def, store_error, view_bytes, wait_for_revision,
};
use crate::respond::{self, IncludeObject, Output};

/// How one watch renders events.
struct Encoder {
    def: &'static ResourceDef,
    out: Output,
    include: IncludeObject,
    columns_sent: bool,
}

impl Encoder {
    fn event(&mut self, ty: &str, stored: &Bytes, now: jiff::Timestamp) -> Bytes {
        let view = view_bytes(self.def, stored);
        let mut line = Vec::with_capacity(view.len() + 40);
        line.extend_from_slice(b"{\"type\":\"");
        line.extend_from_slice(ty.as_bytes());
        line.extend_from_slice(b"\",\"object\":");
        match self.out {
            Output::Json | Output::Yaml => line.extend_from_slice(&view),
            Output::Table => {
                let v: Value = serde_json::from_slice(&view).unwrap_or(Value::Null);
                let rv = v
                    .pointer("/metadata/resourceVersion")
                    .cloned()
                    .unwrap_or(Value::Null);
                let t = respond::table_json(
                    self.def,
                    vec![v],
                    &json!({"resourceVersion": rv}),
                    self.include,
                    now,
                    !self.columns_sent,
                );
                self.columns_sent = true;
                line.extend_from_slice(&serde_json::to_vec(&t).unwrap_or_default());
            }
            Output::Metadata => {
                let v: Value = serde_json::from_slice(&view).unwrap_or(Value::Null);
                line.extend_from_slice(
                    &serde_json::to_vec(&respond::partial(&v)).unwrap_or_default(),
                );
            }
        }
        line.extend_from_slice(b"}\n");
        Bytes::from(line)
    }

    fn bookmark(&self, revision: i64, initial_events_end: bool) -> Bytes {
        let mut meta = json!({"resourceVersion": revision.to_string()});
        if initial_events_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let obj =
            json!({"kind": self.def.kind, "apiVersion": self.def.api_version(), "metadata": meta});
        Bytes::from(format!("{}\n", json!({"type": "BOOKMARK", "object": obj})))
    }
}

fn error_event(err: &ApiError) -> Bytes {
    let mut status = serde_json::to_value(err.to_status()).unwrap_or_else(|_| json!({}));
    status["kind"] = json!("Status");
    status["apiVersion"] = json!("v1");
    Bytes::from(format!("{}\n", json!({"type": "ERROR", "object": status})))
}

fn content_type(out: Output) -> &'static str {
    match out {
        Output::Table => respond::TABLE_CONTENT_TYPE,
        _ => respond::JSON,
    }
}

fn streaming_response(out: Output, rx: mpsc::Receiver<Bytes>) -> Response<Body> {
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    let mut resp = Response::new(Body::from_stream(stream));
    *resp.status_mut() = StatusCode::OK;
    if let Ok(v) = http::HeaderValue::from_str(content_type(out)) {
        resp.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    resp.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-cache, private"),
    );
    resp
}

pub(crate) async fn serve(
    shared: Arc<Shared>,
    def: &'static ResourceDef,
    ns: Option<String>,
    query: &Query,
    out: Output,
) -> Result<Response<Body>, ApiError> {
    let sdef = storage_def(def);
    let prefix = sdef.prefix(ns.as_deref());
    let selectors = Selectors::parse(def, query)?;
    let include = IncludeObject::parse(query.get("includeObject"))?;
    let allow_bookmarks = query.flag("allowWatchBookmarks");
    let rv = query.get("resourceVersion").unwrap_or("").to_owned();
    let send_initial = match query.get("sendInitialEvents") {
        None | Some("") => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "sendInitialEvents: invalid value {other:?}"
            )));
        }
    };
    if send_initial.is_some() {
        if query.get("resourceVersionMatch") != Some("NotOlderThan") {
            return Err(ApiError::invalid(
                "meta.k8s.io",
                "ListOptions",
                "",
                vec![k4t_api::error::FieldError::forbidden(
                    "resourceVersionMatch",
                    "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                )],
            ));
        }
        if send_initial == Some(true) && !allow_bookmarks {
            return Err(ApiError::invalid(
                "meta.k8s.io",
                "ListOptions",
                "",
                vec![k4t_api::error::FieldError::forbidden(
                    "allowWatchBookmarks",
                    "sendInitialEvents requires setting allowWatchBookmarks to true",
                )],
            ));
        }
    }
    let timeout = match query.int("timeoutSeconds")? {
        Some(s) if s > 0 => Duration::from_secs(s as u64),
        _ => {
            let min = shared.config.min_request_timeout;
            min + min.mul_f64(rand::rng().random::<f64>())
        }
    };

    // Where the stream starts, and which objects are sent first as ADDED.
    let synthetic = match send_initial {
        Some(v) => v,
        None => rv.is_empty() || rv == "0",
    };
    let mut encoder = Encoder {
        def,
        out,
        include,
        columns_sent: false,
    };
    let (initial, start): (Vec<ObjectRef>, i64) = if synthetic {
        if send_initial == Some(true) && !rv.is_empty() && rv != "0" {
            wait_for_revision(&shared, parse_rv(&rv)?).await?;
        }
        let filter = |o: &Object| selectors.matches(o);
        let list = shared
            .store
            .list(ListOptions {
                prefix: &prefix,
                at: None,
                start_after: None,
                limit: None,
                filter: Some(&filter),
            })
            .await
            .map_err(|e| store_error(def, "", e))?;
        (list.items, list.revision)
    } else if rv.is_empty() || rv == "0" {
        (Vec::new(), shared.store.revision())
    } else {
        (Vec::new(), parse_rv(&rv)?)
    };

    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let mut events = match shared.store.watch(&prefix, start) {
        Ok(s) => s,
        Err(StoreError::Compacted {
            requested,
            compacted,
        }) => {
            let err = ApiError::Expired(format!(
                "too old resource version: {requested} ({compacted})"
            ));
            let _ = tx.try_send(error_event(&err));
            drop(tx);
            return Ok(streaming_response(out, rx));
        }
        Err(e) => return Err(store_error(def, "", e)),
    };

    let mut shutdown = shared.shutdown.clone();
    let bookmark_interval = shared.config.bookmark_interval;
    tokio::spawn(async move {
        let now = shared.clock.now();
        for o in &initial {
            if tx
                .send(encoder.event("ADDED", &o.value, now))
                .await
                .is_err()
            {
                return;
            }
        }
        if send_initial == Some(true) && tx.send(encoder.bookmark(start, true)).await.is_err() {
            return;
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut bookmarks = tokio::time::interval_at(
            tokio::time::Instant::now() + bookmark_interval,
            bookmark_interval,
        );
        let mut last_revision = start;
        loop {
            tokio::select! {
                ev = events.next() => {
                    let Some(ev) = ev else { return };
                    let ev = match ev {
                        Ok(ev) => ev,
                        Err(e) => {
                            tracing::debug!(error = %e, "watch ended by the store");
                            return;
                        }
                    };
                    last_revision = ev.revision;
                    let now_matches = selectors.matches(&ev.object);
                    let before_matched = ev.prev.as_ref().is_some_and(|p| selectors.matches(p));
                    let ty = match ev.ty {
                        WatchEventType::Added if now_matches => "ADDED",
                        WatchEventType::Modified if now_matches && before_matched => "MODIFIED",
                        WatchEventType::Modified if now_matches => "ADDED",
                        WatchEventType::Modified if before_matched => "DELETED",
                        WatchEventType::Deleted if before_matched || now_matches => "DELETED",
                        _ => continue,
                    };
                    let line = encoder.event(ty, &ev.object.value, shared.clock.now());
                    if tx.send(line).await.is_err() {
                        return;
                    }
                }
                _ = bookmarks.tick(), if allow_bookmarks => {
                    if tx.send(encoder.bookmark(last_revision, false)).await.is_err() {
                        return;
                    }
                }
                _ = &mut deadline => return,
                _ = crate::stopped(&mut shutdown) => return,
                _ = tx.closed() => return,
            }
        }
    });
    Ok(streaming_response(out, rx))
}
