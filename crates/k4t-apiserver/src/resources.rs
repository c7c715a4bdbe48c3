//! The REST verbs on resources: get, list, create, update, patch, delete, deletecollection and
//! the status, scale, binding and finalize subresources.
//!
//! Each write reads the stored object from the store's cache, asks `k4t_api::rest` what to
//! store, and writes it conditionally on the revision it read; a conflict with a concurrent
//! writer is retried when the client did not pin a resourceVersion.

use std::sync::Arc;

use axum::body::Body;
use base64::Engine as _;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt as _;
use k4t_api::decode::{self, BodyFormat, FieldValidation, MAX_BODY_BYTES, Parsed};
use k4t_api::error::ApiError;
use k4t_api::registry::{self, ResourceDef, Subresource};
use k4t_api::rest::{self, DeleteOpts, DeleteOutcome, Propagation, UpdateOutcome, WriteCtx};
use k4t_api::selector::{FieldSelector, LabelSelector};
use k4t_store::{ListOptions, Object, ObjectRef, StoreError};
use rand::Rng as _;
use serde_json::{Value, json};

use crate::Shared;
use crate::query::Query;
use crate::respond::{self, IncludeObject, Output};
use crate::route::ResourcePath;
use crate::{admission, watch_stream};

/// How many times a read-modify-write retries after losing a race.
const MAX_RETRIES: usize = 16;

pub(crate) async fn handle(
    shared: Arc<Shared>,
    rp: ResourcePath,
    query: Query,
    req: Request<Body>,
) -> Response<Body> {
    match handle_inner(&shared, &rp, &query, req).await {
        Ok(resp) => resp,
        Err(e) => {
            if e.code() >= 500 {
                tracing::warn!(error = %e, resource = rp.def.plural, "request failed");
            }
            respond::error(&e)
        }
    }
}

/// The resource whose objects are stored for `def` (events.k8s.io events are core events).
pub(crate) fn storage_def(def: &'static ResourceDef) -> &'static ResourceDef {
    if def.group == "events.k8s.io" {
        registry::find("", "v1", "events").unwrap_or(def)
    } else {
        def
    }
}

/// The stored bytes of an object as `def` presents them.
pub(crate) fn view_bytes(def: &ResourceDef, stored: &Bytes) -> Bytes {
    if def.group != "events.k8s.io" {
        return stored.clone();
    }
    match serde_json::from_slice::<Value>(stored) {
        Ok(v) => Bytes::from(
            serde_json::to_vec(&k4t_api::events::core_to_events_v1(&v)).unwrap_or_default(),
        ),
        Err(_) => stored.clone(),
    }
}

fn view_value(def: &ResourceDef, stored: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(&view_bytes(def, stored))
        .map_err(|e| ApiError::Internal(format!("stored object is not json: {e}")))
}

fn to_storage(def: &ResourceDef, v: Value) -> Value {
    if def.group == "events.k8s.io" {
        k4t_api::events::events_v1_to_core(&v)
    } else {
        v
    }
}

/// Maps a store error on an object to the API error Kubernetes answers.
pub(crate) fn store_error(def: &ResourceDef, name: &str, e: StoreError) -> ApiError {
    match e {
        StoreError::AlreadyExists { .. } => ApiError::already_exists(def.group, def.plural, name),
        StoreError::NotFound { .. } => ApiError::not_found(def.group, def.plural, name),
        StoreError::Conflict { .. } => ApiError::conflict_modified(def.group, def.plural, name),
        StoreError::Compacted {
            requested,
            compacted,
        } => ApiError::Expired(format!(
            "too old resource version: {requested} ({compacted})"
        )),
        StoreError::FutureRevision { requested, current } => ApiError::Timeout(format!(
            "Too large resource version: {requested}, current: {current}"
        )),
        other => ApiError::Internal(other.to_string()),
    }
}

async fn read_body(req: Request<Body>) -> Result<(Bytes, Option<String>), ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut body = req.into_body();
    let mut buf = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| ApiError::BadRequest(format!("reading the request body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > MAX_BODY_BYTES {
                drain(body).await;
                return Err(too_large());
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok((buf.freeze(), content_type))
}

/// Reads and drops the rest of an oversized body (bounded), so an HTTP/1.1 client that is
/// still sending sees the 413 instead of a broken connection.
async fn drain(mut body: Body) {
    const DRAIN_LIMIT: usize = 64 * 1024 * 1024;
    let mut drained = 0usize;
    let deadline = tokio::time::sleep(std::time::Duration::from_secs(10));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            frame = body.frame() => match frame {
                Some(Ok(f)) => {
                    drained += f.data_ref().map_or(0, |d| d.len());
                    if drained > DRAIN_LIMIT {
                        return;
                    }
                }
                _ => return,
            },
            _ = &mut deadline => return,
        }
    }
}

fn too_large() -> ApiError {
    ApiError::RequestEntityTooLarge(format!("limit is {MAX_BODY_BYTES}"))
}

fn manager(query: &Query, req: &Request<Body>) -> Result<String, ApiError> {
    match query.get("fieldManager") {
        Some(m) if m.chars().count() > 128 => Err(ApiError::BadRequest(
            "fieldManager: Too long: may not be more than 128 bytes".to_owned(),
        )),
        Some(m) if !m.is_empty() => Ok(m.to_owned()),
        _ => Ok(rest::manager_from_user_agent(
            req.headers()
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok()),
        )),
    }
}

async fn handle_inner(
    shared: &Arc<Shared>,
    rp: &ResourcePath,
    query: &Query,
    req: Request<Body>,
) -> Result<Response<Body>, ApiError> {
    let def = rp.def;
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let out = respond::negotiate(accept.as_deref()).ok_or_else(|| {
        ApiError::NotAcceptable(
            "only the following media types are accepted: application/json, application/yaml, application/json;as=Table;v=v1;g=meta.k8s.io"
                .to_owned(),
        )
    })?;
    let method = req.method().clone();
    let not_allowed = || ApiError::MethodNotAllowed {
        resource: k4t_api::error::GroupResource::new(def.group, def.plural),
        action: method.to_string(),
    };
    if def.namespaced && rp.name.is_some() && rp.namespace.is_none() {
        return Err(ApiError::UnknownPath);
    }
    let name = rp.name.as_deref();
    match (&method, name, rp.subresource) {
        (&Method::GET, None, None) => {
            if rp.legacy_watch || query.flag("watch") {
                watch_stream::serve(shared.clone(), def, rp.namespace.clone(), query, out).await
            } else {
                list(shared, def, rp.namespace.as_deref(), query, out).await
            }
        }
        (&Method::GET, Some(name), None | Some(Subresource::Status)) => {
            if rp.legacy_watch {
                let mut q = query.clone();
                q = q.with("fieldSelector", &format!("metadata.name={name}"));
                return watch_stream::serve(shared.clone(), def, rp.namespace.clone(), &q, out)
                    .await;
            }
            get(shared, def, rp.namespace.as_deref(), name, out)
        }
        (&Method::GET, Some(name), Some(Subresource::Scale)) => {
            let obj = current(shared, def, rp.namespace.as_deref(), name)?;
            Ok(respond::json_value(
                StatusCode::OK,
                &rest::scale_of(&parse_stored(&obj)?),
            ))
        }
        (&Method::POST, None, None) => {
            if def.namespaced && rp.namespace.is_none() {
                return Err(not_allowed());
            }
            create(shared, def, rp.namespace.as_deref(), query, req, out).await
        }
        (&Method::POST, Some(name), Some(Subresource::Binding)) => {
            bind(shared, def, rp.namespace.as_deref(), name, query, req).await
        }
        (
            &Method::PUT,
            Some(name),
            None | Some(Subresource::Status | Subresource::Finalize | Subresource::Scale),
        ) => {
            update(
                shared,
                def,
                rp.namespace.as_deref(),
                name,
                rp.subresource,
                query,
                req,
                out,
            )
            .await
        }
        (&Method::PATCH, Some(name), None | Some(Subresource::Status | Subresource::Scale)) => {
            patch(
                shared,
                def,
                rp.namespace.as_deref(),
                name,
                rp.subresource,
                query,
                req,
                out,
            )
            .await
        }
        (&Method::DELETE, Some(name), None) => {
            delete(shared, def, rp.namespace.as_deref(), name, query, req, out).await
        }
        (&Method::DELETE, None, None) => {
            if def.namespaced && rp.namespace.is_none() {
                return Err(not_allowed());
            }
            delete_collection(shared, def, rp.namespace.as_deref(), query, req).await
        }
        (
            _,
            Some(_),
            Some(
                Subresource::Log
                | Subresource::Exec
                | Subresource::Attach
                | Subresource::PortForward,
            ),
        ) => {
            let sub = rp.subresource.ok_or(ApiError::UnknownPath)?;
            let ns = rp.namespace.as_deref().ok_or(ApiError::UnknownPath)?;
            let name = rp.name.as_deref().ok_or(ApiError::UnknownPath)?;
            let obj = current(shared, def, Some(ns), name)?;
            crate::streaming::serve(shared, parse_stored(&obj)?, sub, query, req).await
        }
        _ => Err(not_allowed()),
    }
}

fn parse_stored(obj: &Object) -> Result<Value, ApiError> {
    serde_json::from_slice(&obj.value)
        .map_err(|e| ApiError::Internal(format!("stored object is not json: {e}")))
}

fn current(
    shared: &Shared,
    def: &'static ResourceDef,
    ns: Option<&str>,
    name: &str,
) -> Result<ObjectRef, ApiError> {
    let sdef = storage_def(def);
    shared
        .store
        .get(&sdef.key(ns, name))
        .ok_or_else(|| ApiError::not_found(def.group, def.plural, name))
}

fn get(
    shared: &Shared,
    def: &'static ResourceDef,
    ns: Option<&str>,
    name: &str,
    out: Output,
) -> Result<Response<Body>, ApiError> {
    let obj = current(shared, def, ns, name)?;
    Ok(respond::object(
        StatusCode::OK,
        out,
        def,
        &view_bytes(def, &obj.value),
        shared.clock.now(),
    ))
}

/// Parsed `labelSelector` and `fieldSelector`, with field names checked against the resource.
pub(crate) struct Selectors {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    /// events.k8s.io names fields of the stored core/v1 Event differently.
    events_v1: bool,
}

/// The stored core/v1 field an events.k8s.io/v1 field selector names.
fn core_event_field(field: &str) -> String {
    if let Some(rest) = field.strip_prefix("regarding.") {
        format!("involvedObject.{rest}")
    } else if field == "reportingController" {
        "reportingComponent".to_owned()
    } else {
        field.to_owned()
    }
}

impl Selectors {
    pub fn parse(def: &'static ResourceDef, query: &Query) -> Result<Self, ApiError> {
        let labels = LabelSelector::parse(query.get("labelSelector").unwrap_or(""))
            .map_err(ApiError::BadRequest)?;
        let fields = FieldSelector::parse(query.get("fieldSelector").unwrap_or(""))
            .and_then(|f| f.for_resource(def.group, def.kind))
            .map_err(ApiError::BadRequest)?;
        Ok(Self {
            labels,
            fields,
            events_v1: def.group == "events.k8s.io",
        })
    }

    pub fn matches(&self, obj: &Object) -> bool {
        if !self.labels.matches(&obj.attrs.labels) {
            return false;
        }
        if self.fields.is_empty() {
            return true;
        }
        let lookup = |f: &str| {
            obj.attrs
                .fields
                .iter()
                .find(|(k, _)| k == f)
                .map(|(_, v)| v.clone())
        };
        if self.events_v1 {
            self.fields.matches(&|f: &str| lookup(&core_event_field(f)))
        } else {
            self.fields.matches(&lookup)
        }
    }
}

/// A continue token: where a paginated list resumes, and at which revision.
fn encode_continue(revision: i64, after: &str) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": revision, "start": after});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token.to_string())
}

fn decode_continue(token: &str, prefix: &str) -> Result<(i64, String), ApiError> {
    let bad = || ApiError::BadRequest(format!("continue key is not valid: {token}"));
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let rv = v["rv"].as_i64().ok_or_else(bad)?;
    let start = v["start"].as_str().ok_or_else(bad)?.to_owned();
    if !start.starts_with(prefix) {
        return Err(bad());
    }
    Ok((rv, start))
}

/// Parses `resourceVersion` as a revision (400 if malformed).
pub(crate) fn parse_rv(rv: &str) -> Result<i64, ApiError> {
    rv.parse::<i64>()
        .map_err(|_| ApiError::BadRequest(format!("invalid resource version: {rv:?}")))
}

/// Waits until the cache has caught up with `rv` (bounded), for "not older than" reads.
pub(crate) async fn wait_for_revision(shared: &Shared, rv: i64) -> Result<(), ApiError> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(3);
    while shared.store.revision() < rv {
        if tokio::time::Instant::now() >= deadline {
            return Err(ApiError::Timeout(format!(
                "Too large resource version: {rv}, current: {}",
                shared.store.revision()
            )));
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    Ok(())
}

async fn list(
    shared: &Shared,
    def: &'static ResourceDef,
    ns: Option<&str>,
    query: &Query,
    out: Output,
) -> Result<Response<Body>, ApiError> {
    let sdef = storage_def(def);
    let prefix = sdef.prefix(ns);
    let selectors = Selectors::parse(def, query)?;
    let limit = query.int("limit")?.filter(|l| *l > 0).map(|l| l as usize);
    let rv = query.get("resourceVersion").unwrap_or("");
    let rv_match = query.get("resourceVersionMatch").unwrap_or("");
    let (at, start_after) = match query.get("continue").filter(|c| !c.is_empty()) {
        Some(token) => {
            if !rv.is_empty() && rv != "0" {
                return Err(ApiError::BadRequest(
                    "specifying resource version is not allowed when using continue".into(),
                ));
            }
            let (rv, start) = decode_continue(token, &prefix)?;
            (Some(rv), Some(start))
        }
        None => {
            let at = match (rv, rv_match) {
                ("", "") | ("0", _) => None,
                ("", m) => {
                    return Err(ApiError::BadRequest(format!(
                        "resourceVersionMatch is forbidden unless resourceVersion is provided (got {m:?})"
                    )));
                }
                (n, "Exact") => Some(parse_rv(n)?),
                (n, "" | "NotOlderThan") => {
                    wait_for_revision(shared, parse_rv(n)?).await?;
                    None
                }
                (_, m) => {
                    return Err(ApiError::BadRequest(format!(
                        "resourceVersionMatch: Unsupported value: {m:?}: supported values: \"Exact\", \"NotOlderThan\""
                    )));
                }
            };
            (at, None)
        }
    };
    let filter = |o: &Object| selectors.matches(o);
    let res = shared
        .store
        .list(ListOptions { prefix: &prefix, at, start_after: start_after.as_deref(), limit, filter: Some(&filter) })
        .await
        .map_err(|e| match e {
            StoreError::Compacted { .. } if start_after.is_some() => ApiError::Expired(
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.".to_owned(),
            ),
            e => store_error(def, "", e),
        })?;
    let mut list_meta = json!({"resourceVersion": res.revision.to_string()});
    if let Some(after) = &res.continue_after {
        list_meta["continue"] = json!(encode_continue(res.revision, after));
        if let Some(n) = res.remaining {
            list_meta["remainingItemCount"] = json!(n);
        }
    }
    let now = shared.clock.now();
    match out {
        Output::Json | Output::Yaml => {
            let mut body =
                Vec::with_capacity(64 + res.items.iter().map(|o| o.value.len() + 1).sum::<usize>());
            body.extend_from_slice(
                format!(
                    "{{\"kind\":\"{}\",\"apiVersion\":\"{}\",\"metadata\":{},\"items\":[",
                    def.list_kind(),
                    def.api_version(),
                    list_meta
                )
                .as_bytes(),
            );
            for (i, o) in res.items.iter().enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                body.extend_from_slice(&view_bytes(def, &o.value));
            }
            body.extend_from_slice(b"]}");
            if out == Output::Yaml {
                let v: Value =
                    serde_json::from_slice(&body).map_err(|e| ApiError::Internal(e.to_string()))?;
                return Ok(respond::bytes(
                    StatusCode::OK,
                    respond::YAML,
                    serde_saphyr::to_string(&v).unwrap_or_default(),
                ));
            }
            Ok(respond::bytes(StatusCode::OK, respond::JSON, body))
        }
        Output::Table => {
            let include = IncludeObject::parse(query.get("includeObject"))?;
            let objs: Vec<Value> = res
                .items
                .iter()
                .map(|o| view_value(def, &o.value))
                .collect::<Result<_, _>>()?;
            let t = respond::table_json(def, objs, &list_meta, include, now, true);
            Ok(respond::bytes(
                StatusCode::OK,
                respond::TABLE_CONTENT_TYPE,
                serde_json::to_vec(&t).unwrap_or_default(),
            ))
        }
        Output::Metadata => {
            let items: Vec<Value> = res
                .items
                .iter()
                .map(|o| view_value(def, &o.value).map(|v| respond::partial(&v)))
                .collect::<Result<_, _>>()?;
            let body = json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta, "items": items});
            Ok(respond::bytes(
                StatusCode::OK,
                respond::PARTIAL_LIST_CONTENT_TYPE,
                serde_json::to_vec(&body).unwrap_or_default(),
            ))
        }
    }
}

/// Records a core/v1 event about `about` on behalf of the API server's admission (failures are
/// logged: the write it is about has happened).
async fn record_event(shared: &Shared, about: &Value, type_: &str, reason: &str, message: &str) {
    let Some(edef) = registry::find("", "v1", "events") else {
        return;
    };
    let ns = rest::meta_str(about, "namespace").to_owned();
    let name = rest::meta_str(about, "name").to_owned();
    let now = k4t_api::rest::format_time(shared.clock.now());
    let event = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": format!("{name}.{}", random_suffix()), "namespace": ns},
        "involvedObject": {
            "apiVersion": about.get("apiVersion").cloned().unwrap_or(Value::Null),
            "kind": about.get("kind").cloned().unwrap_or(Value::Null),
            "namespace": ns,
            "name": name,
            "uid": rest::meta_str(about, "uid"),
        },
        "reason": reason,
        "message": message,
        "type": type_,
        "source": {"component": "podpreset-admission"},
        "reportingComponent": "podpreset-admission",
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    });
    let ctx = write_ctx(shared, edef, Some(&ns), "podpreset-admission");
    let uid = uuid::Uuid::new_v4().to_string();
    let result = match rest::create(&ctx, event, &uid, &random_suffix()) {
        Ok(obj) => {
            let key = storage_def(edef).key(Some(&ns), rest::meta_str(&obj, "name"));
            match to_bytes(&obj) {
                Ok(bytes) => shared
                    .store
                    .create(&key, bytes)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                Err(e) => Err(format!("{e:?}")),
            }
        }
        Err(e) => Err(format!("{e:?}")),
    };
    if let Err(e) = result {
        tracing::warn!(pod = %name, error = %e, "recording a podpreset event");
    }
}

fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..5)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

fn write_ctx<'a>(
    shared: &Shared,
    def: &'static ResourceDef,
    ns: Option<&'a str>,
    manager: &'a str,
) -> WriteCtx<'a> {
    WriteCtx {
        def: storage_def(def),
        namespace: ns,
        now: shared.clock.now(),
        manager,
    }
}

fn to_bytes(v: &Value) -> Result<Bytes, ApiError> {
    serde_json::to_vec(v)
        .map(Bytes::from)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

fn respond_written(
    shared: &Shared,
    status: StatusCode,
    out: Output,
    def: &ResourceDef,
    stored: &Bytes,
    warnings: &[String],
) -> Response<Body> {
    let mut resp = respond::object(
        status,
        out,
        def,
        &view_bytes(def, stored),
        shared.clock.now(),
    );
    respond::add_warnings(&mut resp, warnings);
    resp
}

async fn create(
    shared: &Shared,
    def: &'static ResourceDef,
    ns: Option<&str>,
    query: &Query,
    req: Request<Body>,
    out: Output,
) -> Result<Response<Body>, ApiError> {
    let validation = FieldValidation::parse(query.get("fieldValidation"))?;
    let dry_run = query.dry_run()?;
    let manager = manager(query, &req)?;
    let (body, content_type) = read_body(req).await?;
    let format = BodyFormat::from_content_type(content_type.as_deref())?;
    let decoded = decode::decode_object(def, &body, format, validation)?;
    let value = to_storage(def, decoded.value);
    let sdef = storage_def(def);
    if sdef.namespaced {
        let ns = ns.unwrap_or("");
        admission::check_namespace(shared, def, ns, k4t_api::rest::meta_str(&value, "name"))?;
    }
    let ctx = write_ctx(shared, def, ns, &manager);
    let uid = uuid::Uuid::new_v4().to_string();
    let mut obj = rest::create(&ctx, value, &uid, &random_suffix())?;
    let _allocating = if (sdef.group, sdef.kind) == ("", "Service") {
        Some(shared.service_lock.lock().await)
    } else {
        None
    };
    let after = admission::on_create(shared, sdef, &mut obj).await?;
    let name = rest::meta_str(&obj, "name").to_owned();
    if dry_run {
        return Ok(respond_written(
            shared,
            StatusCode::CREATED,
            out,
            def,
            &to_bytes(&obj)?,
            &decoded.warnings,
        ));
    }
    let key = sdef.key(ns, &name);
    let stored = shared
        .store
        .create(&key, to_bytes(&obj)?)
        .await
        .map_err(|e| store_error(def, &name, e))?;
    if let Some(message) = &after.preset_conflict {
        record_event(shared, &obj, "Warning", "PodPresetConflict", message).await;
    }
    Ok(respond_written(
        shared,
        StatusCode::CREATED,
        out,
        def,
        &stored.value,
        &decoded.warnings,
    ))
}

/// Writes what an update turned into; `None` means the write lost a race and may be retried.
async fn apply_outcome(
    shared: &Shared,
    def: &'static ResourceDef,
    key: &str,
    name: &str,
    old: &ObjectRef,
    outcome: UpdateOutcome,
) -> Result<Option<Bytes>, ApiError> {
    let res = match outcome {
        UpdateOutcome::Unchanged => return Ok(Some(old.value.clone())),
        UpdateOutcome::Write(v) => {
            shared
                .store
                .update(key, to_bytes(&v)?, old.mod_revision)
                .await
        }
        UpdateOutcome::Delete(_) => shared.store.delete(key, old.mod_revision).await,
    };
    match res {
        Ok(obj) => Ok(Some(obj.value.clone())),
        Err(StoreError::Conflict { .. } | StoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(store_error(def, name, e)),
    }
}

#[allow(clippy::too_many_arguments)]
async fn update(
    shared: &Shared,
    def: &'static ResourceDef,
    ns: Option<&str>,
    name: &str,
    sub: Option<Subresource>,
    query: &Query,
    req: Request<Body>,
    out: Output,
) -> Result<Response<Body>, ApiError> {
    let validation = FieldValidation::parse(query.get("fieldValidation"))?;
    let dry_run = query.dry_run()?;
    let manager = manager(query, &req)?;
    let (body, content_type) = read_body(req).await?;
    let format = BodyFormat::from_content_type(content_type.as_deref())?;
    let sdef = storage_def(def);
    let key = sdef.key(ns, name);
    let (value, warnings) = if sub == Some(Subresource::Scale) {
        let parsed = decode::parse(&body, format)
            .map_err(|e| ApiError::BadRequest(format!("decoding Scale: {e}")))?;
        (parsed.value, Vec::new())
    } else {
        let d = decode::decode_object(def, &body, format, validation)?;
        (to_storage(def, d.value), d.warnings)
    };
    let pinned = !rest::meta_str(&value, "resourceVersion").is_empty();
    for _ in 0..MAX_RETRIES {
        let old = current(shared, def, ns, name)?;
        let old_value = parse_stored(&old)?;
        let ctx = write_ctx(shared, def, ns, &manager);
        let outcome = match sub {
            None => rest::update(&ctx, value.clone(), &old_value)?,
            Some(Subresource::Status) => rest::update_status(&ctx, value.clone(), &old_value)?,
            Some(Subresource::Finalize) => {
                rest::finalize_namespace(&ctx, value.clone(), &old_value)?
            }
            Some(Subresource::Scale) => rest::apply_scale(&ctx, &value, &old_value)?,
            Some(_) => return Err(ApiError::UnknownPath),
        };
        if dry_run {
            let v = match outcome {
                UpdateOutcome::Write(v) | UpdateOutcome::Delete(v) => to_bytes(&v)?,
                UpdateOutcome::Unchanged => old.value.clone(),
            };
            return Ok(respond_written(
                shared,
                StatusCode::OK,
                out,
                def,
                &v,
                &warnings,
            ));
        }
        if let Some(stored) = apply_outcome(shared, def, &key, name, &old, outcome).await? {
            if sub == Some(Subresource::Scale) {
                let v: Value = serde_json::from_slice(&stored)
                    .map_err(|e| ApiError::Internal(e.to_string()))?;
                return Ok(respond::json_value(StatusCode::OK, &rest::scale_of(&v)));
            }
            return Ok(respond_written(
                shared,
                StatusCode::OK,
                out,
                def,
                &stored,
                &warnings,
            ));
        }
        if pinned {
            return Err(ApiError::conflict_modified(def.group, def.plural, name));
        }
    }
    Err(ApiError::conflict_modified(def.group, def.plural, name))
}

/// The patch formats (`Content-Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PatchType {
    Json,
    Merge,
    Strategic,
}

fn patch_type(content_type: Option<&str>) -> Result<PatchType, ApiError> {
    let essence = content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json-patch+json" => Ok(PatchType::Json),
        "application/merge-patch+json" => Ok(PatchType::Merge),
        "application/strategic-merge-patch+json" => Ok(PatchType::Strategic),
        "application/apply-patch+yaml" | "application/apply-patch+cbor" => Err(ApiError::UnsupportedMediaType(
            "the body of the request was in an unknown format - server-side apply (application/apply-patch+yaml) is not supported by this server yet; use client-side kubectl apply (without --server-side)".to_owned(),
        )),
        other => Err(ApiError::UnsupportedMediaType(format!(
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {other:?})"
        ))),
    }
}

fn apply_patch(
    kind: PatchType,
    target: &Value,
    patch: &Value,
    type_name: &str,
) -> Result<Value, ApiError> {
    let res = match kind {
        PatchType::Json => k4t_api::patch::json_patch(target, patch),
        PatchType::Merge => k4t_api::patch::merge_patch(target, patch),
        PatchType::Strategic => {
            k4t_api::patch::strategic_merge_patch(target, patch, type_name, k4t_api::rest::schema())
        }
    };
    res.map_err(|e| match e {
        k4t_api::patch::PatchError::Malformed(m) => ApiError::BadRequest(m),
        k4t_api::patch::PatchError::Failed(m) => ApiError::Unprocessable(m),
    })
}

#[allow(clippy::too_many_arguments)]
async fn patch(
    shared: &Shared,
    def: &'static ResourceDef,
    ns: Option<&str>,
    name: &str,
    sub: Option<Subresource>,
    query: &Query,
    req: Request<Body>,
    out: Output,
) -> Result<Response<Body>, ApiError> {
    let validation = FieldValidation::parse(query.get("fieldValidation"))?;
    let dry_run = query.dry_run()?;
    let manager = manager(query, &req)?;
    let (body, content_type) = read_body(req).await?;
    let kind = patch_type(content_type.as_deref())?;
    let patch_doc = decode::parse_json(&body)
        .map_err(|e| ApiError::BadRequest(format!("error decoding patch: {e}")))?
        .value;
    match (kind, &patch_doc) {
        (PatchType::Json, Value::Array(_))
        | (PatchType::Merge | PatchType::Strategic, Value::Object(_)) => {}
        _ => {
            return Err(ApiError::BadRequest(
                "the patch is not of the right shape for its type".to_owned(),
            ));
        }
    }
    let pinned = patch_doc
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty());
    let sdef = storage_def(def);
    let key = sdef.key(ns, name);
    for _ in 0..MAX_RETRIES {
        let old = current(shared, def, ns, name)?;
        let old_value = parse_stored(&old)?;
        let ctx = write_ctx(shared, def, ns, &manager);
        let (outcome, warnings) = if sub == Some(Subresource::Scale) {
            let scale = rest::scale_of(&old_value);
            let patched = apply_patch(kind, &scale, &patch_doc, "io.k8s.api.autoscaling.v1.Scale")?;
            (rest::apply_scale(&ctx, &patched, &old_value)?, Vec::new())
        } else {
            let target = view_value(def, &old.value)?;
            let patched = apply_patch(kind, &target, &patch_doc, def.schema)?;
            let decoded = decode::decode_value(
                def,
                Parsed {
                    value: patched,
                    duplicates: Vec::new(),
                },
                validation,
            )?;
            let value = to_storage(def, decoded.value);
            let outcome = match sub {
                None => rest::update(&ctx, value, &old_value)?,
                Some(Subresource::Status) => rest::update_status(&ctx, value, &old_value)?,
                Some(_) => return Err(ApiError::UnknownPath),
            };
            (outcome, decoded.warnings)
        };
        if dry_run {
            let v = match outcome {
                UpdateOutcome::Write(v) | UpdateOutcome::Delete(v) => to_bytes(&v)?,
                UpdateOutcome::Unchanged => old.value.clone(),
            };
            return Ok(respond_written(
                shared,
                StatusCode::OK,
                out,
                def,
                &v,
                &warnings,
            ));
        }
        if let Some(stored) = apply_outcome(shared, def, &key, name, &old, outcome).await? {
            if sub == Some(Subresource::Scale) {
                let v: Value = serde_json::from_slice(&stored)
                    .map_err(|e| ApiError::Internal(e.to_string()))?;
                return Ok(respond::json_value(StatusCode::OK, &rest::scale_of(&v)));
            }
            return Ok(respond_written(
                shared,
                StatusCode::OK,
                out,
                def,
                &stored,
                &warnings,
            ));
        }
        if pinned {
            return Err(ApiError::conflict_modified(def.group, def.plural, name));
        }
    }
    Err(ApiError::conflict_modified(def.group, def.plural, name))
}

/// DeleteOptions from the body (may be empty) and the query string.
async fn delete_opts(query: &Query, req: Request<Body>) -> Result<(DeleteOpts, bool), ApiError> {
    let (body, _) = read_body(req).await?;
    let mut opts = DeleteOpts::default();
    let mut dry_run = query.dry_run()?;
    if !body.iter().all(u8::is_ascii_whitespace) {
        let v: Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("error decoding DeleteOptions: {e}")))?;
        opts.grace_period_seconds = v.get("gracePeriodSeconds").and_then(Value::as_i64);
        if let Some(p) = v.get("propagationPolicy").and_then(Value::as_str) {
            opts.propagation = Some(Propagation::parse(p)?);
        }
        if let Some(o) = v.get("orphanDependents").and_then(Value::as_bool) {
            opts.propagation.get_or_insert(if o {
                Propagation::Orphan
            } else {
                Propagation::Background
            });
        }
        opts.precondition_uid = v
            .pointer("/preconditions/uid")
            .and_then(Value::as_str)
            .map(str::to_owned);
        opts.precondition_resource_version = v
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if v.get("dryRun")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
        {
            dry_run = true;
        }
    }
    if let Some(g) = query.int("gracePeriodSeconds")? {
        opts.grace_period_seconds = Some(g);
    }
    if let Some(p) = query.get("propagationPolicy") {
        opts.propagation = Some(Propagation::parse(p)?);
    }
    if let Some(o) = query.get("orphanDependents") {
        opts.propagation.get_or_insert(if o == "true" {
            Propagation::Orphan
        } else {
            Propagation::Background
        });
    }
    Ok((opts, dry_run))
}

/// Deletes one object; answers with what the API returns for it.
pub(crate) async fn delete_one(
    shared: &Shared,
    def: &'static ResourceDef,
    ns: Option<&str>,
    name: &str,
    opts: &DeleteOpts,
    dry_run: bool,
    manager: &str,
) -> Result<Bytes, ApiError> {
    let sdef = storage_def(def);
    let key = sdef.key(ns, name);
    for _ in 0..MAX_RETRIES {
        let old = current(shared, def, ns, name)?;
        let old_value = parse_stored(&old)?;
        let ctx = write_ctx(shared, def, ns, manager);
        let outcome = rest::delete(&ctx, &old_value, opts)?;
        if dry_run {
            return Ok(match outcome {
                DeleteOutcome::Pending(v) => to_bytes(&v)?,
                _ => old.value.clone(),
            });
        }
        let res = match outcome {
            DeleteOutcome::AlreadyPending => return Ok(old.value.clone()),
            DeleteOutcome::Now => shared.store.delete(&key, old.mod_revision).await,
            DeleteOutcome::Pending(v) => {
                shared
                    .store
                    .update(&key, to_bytes(&v)?, old.mod_revision)
                    .await
            }
        };
        match res {
            Ok(obj) => return Ok(obj.value.clone()),
            Err(StoreError::Conflict { .. }) => continue,
            Err(StoreError::NotFound { .. }) => {
                return Err(ApiError::not_found(def.group, def.plural, name));
            }
            Err(e) => return Err(store_error(def, name, e)),
        }
    }
    Err(ApiError::conflict_modified(def.group, def.plural, name))
}

#[allow(clippy::too_many_arguments)]
async fn delete(
    shared: &Shared,
    def: &'static ResourceDef,
    ns: Option<&str>,
    name: &str,
    query: &Query,
    req: Request<Body>,
    out: Output,
) -> Result<Response<Body>, ApiError> {
    let manager = manager(query, &req)?;
    let (opts, dry_run) = delete_opts(query, req).await?;
    let stored = delete_one(shared, def, ns, name, &opts, dry_run, &manager).await?;
    Ok(respond_written(
        shared,
        StatusCode::OK,
        out,
        def,
        &stored,
        &[],
    ))
}

async fn delete_collection(
    shared: &Shared,
    def: &'static ResourceDef,
    ns: Option<&str>,
    query: &Query,
    req: Request<Body>,
) -> Result<Response<Body>, ApiError> {
    let manager = manager(query, &req)?;
    let selectors = Selectors::parse(def, query)?;
    let (opts, dry_run) = delete_opts(query, req).await?;
    let sdef = storage_def(def);
    let prefix = sdef.prefix(ns);
    let filter = |o: &Object| selectors.matches(o);
    let res = shared
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
    let mut items = Vec::new();
    for o in &res.items {
        let v = parse_stored(o)?;
        let name = rest::meta_str(&v, "name").to_owned();
        let ns = v
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .map(str::to_owned);
        match delete_one(shared, def, ns.as_deref(), &name, &opts, dry_run, &manager).await {
            Ok(bytes) => items.push(view_value(def, &bytes)?),
            Err(ApiError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(respond::json_value(
        StatusCode::OK,
        &json!({"kind": def.list_kind(), "apiVersion": def.api_version(), "metadata": {"resourceVersion": shared.store.revision().to_string()}, "items": items}),
    ))
}

async fn bind(
    shared: &Shared,
    def: &'static ResourceDef,
    ns: Option<&str>,
    name: &str,
    query: &Query,
    req: Request<Body>,
) -> Result<Response<Body>, ApiError> {
    let manager = manager(query, &req)?;
    let (body, content_type) = read_body(req).await?;
    let format = BodyFormat::from_content_type(content_type.as_deref())?;
    let binding = decode::parse(&body, format)
        .map_err(|e| ApiError::BadRequest(format!("decoding Binding: {e}")))?
        .value;
    let key = def.key(ns, name);
    for _ in 0..MAX_RETRIES {
        let old = current(shared, def, ns, name)?;
        let old_value = parse_stored(&old)?;
        let ctx = write_ctx(shared, def, ns, &manager);
        let new = rest::bind(&ctx, &old_value, &binding)?;
        match shared
            .store
            .update(&key, to_bytes(&new)?, old.mod_revision)
            .await
        {
            Ok(_) => {
                return Ok(respond::json_value(
                    StatusCode::CREATED,
                    &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
                ));
            }
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(store_error(def, name, e)),
        }
    }
    Err(ApiError::conflict_modified(def.group, def.plural, name))
}

/// The protobuf media type kubectl asks `/openapi/v2` for, and the spelling Kubernetes answers
/// with (and also accepts).
const OPENAPI_V2_PROTOBUF_REQUESTED: &str =
    "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
const OPENAPI_V2_PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpenApiV2Format {
    Json,
    Protobuf,
}

/// What `/openapi/v2` serves, in the order a wildcard picks from.
const OPENAPI_V2_FORMATS: [(&str, OpenApiV2Format); 3] = [
    (respond::JSON, OpenApiV2Format::Json),
    (OPENAPI_V2_PROTOBUF_REQUESTED, OpenApiV2Format::Protobuf),
    (OPENAPI_V2_PROTOBUF, OpenApiV2Format::Protobuf),
];

/// The representation of `/openapi/v2` an `Accept` header picks, as Kubernetes negotiates it:
/// media ranges by descending quality, a concrete type before a wildcard at equal quality, and
/// the first range anything served matches wins. `None` is 406.
fn openapi_v2_format(accept: &str) -> Option<OpenApiV2Format> {
    let accept = if accept.trim().is_empty() {
        "*/*"
    } else {
        accept
    };
    let mut ranges: Vec<(String, String, f32)> = accept
        .split(',')
        .filter_map(|range| {
            let mut parts = range.split(';').map(str::trim);
            let (kind, sub) = parts.next()?.split_once('/')?;
            let q = parts
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
                .map_or(Some(1.0), |(_, v)| v.trim().parse::<f32>().ok())?;
            let ascii = |s: &str| s.trim().to_ascii_lowercase();
            (q > 0.0).then(|| (ascii(kind), ascii(sub), q))
        })
        .collect();
    let wildcards = |(kind, sub, _): &(String, String, f32)| (kind == "*", sub == "*");
    ranges.sort_by(|a, b| b.2.total_cmp(&a.2).then(wildcards(a).cmp(&wildcards(b))));
    ranges.iter().find_map(|(kind, sub, _)| {
        OPENAPI_V2_FORMATS.iter().find_map(|(media, format)| {
            let (k, s) = media.split_once('/')?;
            ((kind == "*" || kind == k) && (sub == "*" || sub == s)).then_some(*format)
        })
    })
}

pub(crate) fn openapi_v2(accept: &str) -> Response<Body> {
    let Some(format) = openapi_v2_format(accept) else {
        return respond::error(&ApiError::NotAcceptable(format!(
            "only the following media types are accepted: {}, {OPENAPI_V2_PROTOBUF}",
            respond::JSON
        )));
    };
    let api = k4t_api::openapi::global();
    let (content_type, body, hash) = match format {
        OpenApiV2Format::Json => (respond::JSON, api.v2_document(), api.v2_hash()),
        // Encoded on first request: only kubectl's client-side validation needs it.
        OpenApiV2Format::Protobuf => (
            OPENAPI_V2_PROTOBUF,
            api.v2_protobuf(),
            api.v2_protobuf_hash(),
        ),
    };
    let mut resp = respond::bytes(StatusCode::OK, content_type, Bytes::from_static(body));
    let headers = resp.headers_mut();
    if let Ok(v) = http::HeaderValue::from_str(&format!("\"{hash}\"")) {
        headers.insert(header::ETAG, v);
    }
    // One URL, two representations: a cache must not answer one Accept with the other.
    headers.insert(header::VARY, http::HeaderValue::from_static("Accept"));
    headers.insert(
        header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-cache, private"),
    );
    resp
}

pub(crate) fn openapi_v3_index() -> Response<Body> {
    let mut resp = respond::bytes(
        StatusCode::OK,
        respond::JSON,
        Bytes::from_static(k4t_api::openapi::global().v3_index()),
    );
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-cache, private"),
    );
    resp
}

pub(crate) fn openapi_v3(path: &str) -> Response<Body> {
    match k4t_api::openapi::global().v3_document(path) {
        Some((doc, hash)) => {
            let mut resp = respond::bytes(StatusCode::OK, respond::JSON, Bytes::from_static(doc));
            // The URL carries the hash, so a client may keep the document as long as it likes.
            resp.headers_mut().insert(
                header::CACHE_CONTROL,
                http::HeaderValue::from_static("public, immutable"),
            );
            if let Ok(v) = http::HeaderValue::from_str(&format!("\"{hash}\"")) {
                resp.headers_mut().insert(header::ETAG, v);
            }
            resp
        }
        None => respond::error(&ApiError::UnknownPath),
    }
}

#[cfg(test)]
mod openapi_v2_tests {
    use super::*;

    fn check(accept: &str, want: Option<OpenApiV2Format>) {
        assert_eq!(openapi_v2_format(accept), want, "{accept:?}");
    }

    #[test]
    fn negotiates_the_representation() {
        use OpenApiV2Format::{Json, Protobuf};
        check("", Some(Json));
        check("*/*", Some(Json));
        check("application/json", Some(Json));
        check("application/json, */*", Some(Json));
        check(OPENAPI_V2_PROTOBUF_REQUESTED, Some(Protobuf));
        check(OPENAPI_V2_PROTOBUF, Some(Protobuf));
        check(
            "application/com.github.proto-openapi.spec.v2@v1.0+protobuf, application/json",
            Some(Protobuf),
        );
        check(
            "application/json;q=0.9, application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
            Some(Protobuf),
        );
        check(
            "application/com.github.proto-openapi.spec.v2@v1.0+protobuf;q=0.5, application/json",
            Some(Json),
        );
        // A concrete type goes before a wildcard of the same quality.
        check(
            "*/*, application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
            Some(Protobuf),
        );
        check(
            "*/*;q=0.1, application/com.github.proto-openapi.spec.v2@v1.0+protobuf;q=0.5",
            Some(Protobuf),
        );
        check("application/*", Some(Json));
        check("APPLICATION/JSON; charset=utf-8", Some(Json));
        check("text/html, application/json;q=0", None);
        check("text/html", None);
        check("text/*", None);
        check("garbage", None);
    }

    #[test]
    fn serves_protobuf_and_json() {
        let resp = openapi_v2(OPENAPI_V2_PROTOBUF_REQUESTED);
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()[header::CONTENT_TYPE], OPENAPI_V2_PROTOBUF);
        assert_eq!(resp.headers()[header::VARY], "Accept");
        assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-cache, private");
        let api = k4t_api::openapi::global();
        assert_eq!(
            resp.headers()[header::ETAG],
            format!("\"{}\"", api.v2_protobuf_hash()).as_str()
        );
        let resp = openapi_v2("application/json");
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()[header::CONTENT_TYPE], respond::JSON);
        assert_eq!(
            resp.headers()[header::ETAG],
            format!("\"{}\"", api.v2_hash()).as_str()
        );
        assert_eq!(openapi_v2("text/html").status(), StatusCode::NOT_ACCEPTABLE);
    }
}
