//! The rules of the REST verbs: given a request and the stored object, what to store.
//!
//! This is the registry strategy of the Kubernetes apiserver (`PrepareForCreate`,
//! `PrepareForUpdate`, `BeforeDelete`, graceful deletion, finalizers, generation, system
//! metadata) as pure functions over JSON values. The API server feeds them what it read from the
//! store and writes what they return.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::error::{ApiError, FieldError};
use crate::registry::ResourceDef;
use crate::schema::SchemaLookup;
use crate::{defaults, managed_fields, validation};

/// The request facts every write needs.
#[derive(Debug, Clone, Copy)]
pub struct WriteCtx<'a> {
    pub def: &'static ResourceDef,
    /// The namespace in the URL.
    pub namespace: Option<&'a str>,
    pub now: Timestamp,
    /// The field manager (from `?fieldManager=` or the user agent).
    pub manager: &'a str,
}

/// Formats a timestamp as Kubernetes' `Time` (RFC 3339, seconds, UTC).
pub fn format_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Formats a timestamp as Kubernetes' `MicroTime`.
pub fn format_micro_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S.%6fZ").to_string()
}

/// The field manager Kubernetes derives from a user agent: the part before the first `/`.
pub fn manager_from_user_agent(user_agent: Option<&str>) -> String {
    let ua = user_agent.unwrap_or("unknown");
    let prefix = ua.split('/').next().unwrap_or(ua);
    let prefix: String = prefix
        .chars()
        .filter(|c| !c.is_control())
        .take(128)
        .collect();
    if prefix.is_empty() {
        "unknown".to_owned()
    } else {
        prefix
    }
}

/// `metadata` of an object, created if missing.
pub fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.is_object() {
        *obj = Value::Object(Map::new());
    }
    let map = obj.as_object_mut().expect("just made an object");
    let meta = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    meta.as_object_mut().expect("just made an object")
}

/// A string field of `metadata`, or "".
pub fn meta_str<'v>(obj: &'v Value, field: &str) -> &'v str {
    obj.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn meta_i64(obj: &Value, field: &str) -> Option<i64> {
    obj.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_i64)
}

fn finalizers(obj: &Value) -> Vec<String> {
    obj.get("metadata")
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn set_finalizers(obj: &mut Value, list: &[String]) {
    let meta = meta_mut(obj);
    if list.is_empty() {
        meta.remove("finalizers");
    } else {
        meta.insert("finalizers".into(), json!(list));
    }
}

/// System metadata clients cannot set.
const SYSTEM_META: &[&str] = &[
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "selfLink",
    "managedFields",
];

/// The object without metadata and status: what `generation` tracks.
fn spec_part(obj: &Value) -> Value {
    match obj.as_object() {
        Some(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| {
                    !matches!(k.as_str(), "metadata" | "status" | "apiVersion" | "kind")
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        None => Value::Null,
    }
}

fn invalid(def: &ResourceDef, obj: &Value, errors: Vec<FieldError>) -> ApiError {
    ApiError::invalid(def.group, def.kind, meta_str(obj, "name"), errors)
}

/// The schema facts strategic merge patch and managedFields use.
pub fn schema() -> &'static dyn SchemaLookup {
    crate::openapi::schema_index()
}

fn record_write(
    ctx: &WriteCtx<'_>,
    old: Option<&Value>,
    new: &mut Value,
    subresource: Option<&str>,
) {
    let time = format_time(ctx.now);
    let api_version = ctx.def.api_version();
    let write = managed_fields::Write {
        manager: ctx.manager,
        operation: "Update",
        api_version: &api_version,
        time: &time,
        subresource,
        type_name: ctx.def.schema,
    };
    managed_fields::update(old, new, &write, schema());
}

/// Length a generated name's prefix is cut to, leaving room for the random suffix.
const MAX_GENERATED_PREFIX: usize = 58;

/// Prepares a new object for storage: system metadata, kind rules, defaults, validation.
/// `uid` and `name_suffix` (5 random characters for `generateName`) come from the caller so
/// this stays deterministic.
pub fn create(
    ctx: &WriteCtx<'_>,
    mut obj: Value,
    uid: &str,
    name_suffix: &str,
) -> Result<Value, ApiError> {
    let def = ctx.def;
    let now = format_time(ctx.now);
    {
        let meta = meta_mut(&mut obj);
        if def.namespaced {
            let body_ns = meta
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            match ctx.namespace {
                Some(url_ns) if body_ns.is_empty() => {
                    meta.insert("namespace".into(), Value::String(url_ns.to_owned()));
                }
                Some(url_ns) if body_ns != url_ns => {
                    return Err(ApiError::BadRequest(
                        "the namespace of the provided object does not match the namespace sent on the request"
                            .to_owned(),
                    ));
                }
                _ => {}
            }
        } else {
            meta.remove("namespace");
        }
        let name = meta.get("name").and_then(Value::as_str).unwrap_or("");
        let generate = meta
            .get("generateName")
            .and_then(Value::as_str)
            .unwrap_or("");
        if name.is_empty() && !generate.is_empty() {
            let prefix: String = generate.chars().take(MAX_GENERATED_PREFIX).collect();
            meta.insert(
                "name".into(),
                Value::String(format!("{prefix}{name_suffix}")),
            );
        }
        let rv = meta
            .get("resourceVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !rv.is_empty() {
            return Err(ApiError::BadRequest(
                "resourceVersion should not be set on objects to be created".to_owned(),
            ));
        }
        meta.remove("resourceVersion");
        for f in SYSTEM_META {
            meta.remove(*f);
        }
        meta.insert("uid".into(), Value::String(uid.to_owned()));
        meta.insert("creationTimestamp".into(), Value::String(now.clone()));
        if def.has_generation {
            meta.insert("generation".into(), json!(1));
        }
    }
    prepare_for_create(def, &mut obj);
    defaults::apply(def, &mut obj);
    let errors = validation::validate_create(def, &obj);
    if !errors.is_empty() {
        return Err(invalid(def, &obj, errors));
    }
    record_write(ctx, None, &mut obj, None);
    Ok(obj)
}

/// What an update turned into.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateOutcome {
    /// Store this object.
    Write(Value),
    /// Nothing changed: answer with the stored object, write nothing.
    Unchanged,
    /// The update removed the last finalizer of an object being deleted: delete it.
    Delete(Value),
}

fn check_identity(ctx: &WriteCtx<'_>, obj: &mut Value, url_name: &str) -> Result<(), ApiError> {
    let def = ctx.def;
    let meta = meta_mut(obj);
    let body_name = meta.get("name").and_then(Value::as_str).unwrap_or("");
    if body_name.is_empty() {
        meta.insert("name".into(), Value::String(url_name.to_owned()));
    } else if body_name != url_name {
        return Err(ApiError::BadRequest(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({url_name})"
        )));
    }
    if def.namespaced {
        let body_ns = meta
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        match ctx.namespace {
            Some(url_ns) if body_ns.is_empty() => {
                meta.insert("namespace".into(), Value::String(url_ns.to_owned()));
            }
            Some(url_ns) if body_ns != url_ns => {
                return Err(ApiError::BadRequest(
                    "the namespace of the provided object does not match the namespace sent on the request".to_owned(),
                ));
            }
            _ => {}
        }
    } else {
        meta.remove("namespace");
    }
    Ok(())
}

fn check_preconditions(def: &ResourceDef, new: &Value, old: &Value) -> Result<(), ApiError> {
    let name = meta_str(old, "name");
    let rv = meta_str(new, "resourceVersion");
    if !rv.is_empty() && rv != meta_str(old, "resourceVersion") {
        return Err(ApiError::conflict_modified(def.group, def.plural, name));
    }
    let uid = meta_str(new, "uid");
    if !uid.is_empty() && uid != meta_str(old, "uid") {
        return Err(ApiError::Conflict {
            resource: crate::error::GroupResource::new(def.group, def.plural),
            name: name.to_owned(),
            message: format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                meta_str(old, "uid")
            ),
        });
    }
    Ok(())
}

/// Copies the system metadata of `old` onto `new`.
fn keep_system_meta(new: &mut Value, old: &Value) {
    let old_meta = old
        .get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let meta = meta_mut(new);
    for f in SYSTEM_META {
        match old_meta.get(*f) {
            Some(v) => meta.insert((*f).to_owned(), v.clone()),
            None => meta.remove(*f),
        };
    }
    match old_meta.get("resourceVersion") {
        Some(v) => meta.insert("resourceVersion".into(), v.clone()),
        None => meta.remove("resourceVersion"),
    };
}

/// Whether two versions of an object differ in anything but bookkeeping.
fn same_object(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        let meta = meta_mut(&mut v);
        meta.remove("resourceVersion");
        meta.remove("managedFields");
        v
    };
    strip(a) == strip(b)
}

fn finish_update(
    ctx: &WriteCtx<'_>,
    mut new: Value,
    old: &Value,
    subresource: Option<&str>,
) -> Result<UpdateOutcome, ApiError> {
    let def = ctx.def;
    if def.has_generation && spec_part(&new) != spec_part(old) {
        let generation = meta_i64(old, "generation").unwrap_or(0) + 1;
        meta_mut(&mut new).insert("generation".into(), json!(generation));
    }
    if same_object(&new, old) {
        return Ok(UpdateOutcome::Unchanged);
    }
    let deleting = !meta_str(old, "deletionTimestamp").is_empty();
    if deleting
        && finalizers(&new).is_empty()
        && meta_i64(old, "deletionGracePeriodSeconds") == Some(0)
    {
        return Ok(UpdateOutcome::Delete(new));
    }
    record_write(ctx, Some(old), &mut new, subresource);
    Ok(UpdateOutcome::Write(new))
}

/// A replace (PUT) or patch of the main resource.
pub fn update(ctx: &WriteCtx<'_>, mut new: Value, old: &Value) -> Result<UpdateOutcome, ApiError> {
    let def = ctx.def;
    check_identity(ctx, &mut new, meta_str(old, "name"))?;
    check_preconditions(def, &new, old)?;
    keep_system_meta(&mut new, old);
    prepare_for_update(def, &mut new, old);
    if (def.group, def.kind) == ("", "Service") {
        defaults::prepare_service_update(&mut new, old);
    }
    defaults::apply(def, &mut new);
    let errors = validation::validate_update(def, &new, old);
    if !errors.is_empty() {
        return Err(invalid(def, &new, errors));
    }
    finish_update(ctx, new, old, None)
}

/// An update through the `status` subresource: only status (and ordinary metadata) change.
pub fn update_status(
    ctx: &WriteCtx<'_>,
    mut new: Value,
    old: &Value,
) -> Result<UpdateOutcome, ApiError> {
    let def = ctx.def;
    check_identity(ctx, &mut new, meta_str(old, "name"))?;
    check_preconditions(def, &new, old)?;
    keep_system_meta(&mut new, old);
    if let (Some(new_map), Some(old_map)) = (new.as_object_mut(), old.as_object()) {
        new_map.retain(|k, _| matches!(k.as_str(), "metadata" | "status" | "apiVersion" | "kind"));
        for (k, v) in old_map {
            if !matches!(k.as_str(), "metadata" | "status" | "apiVersion" | "kind") {
                new_map.insert(k.clone(), v.clone());
            }
        }
    }
    defaults::apply(def, &mut new);
    let errors = validation::validate_status_update(def, &new, old);
    if !errors.is_empty() {
        return Err(invalid(def, &new, errors));
    }
    finish_update(ctx, new, old, Some("status"))
}

/// An update through the namespace `finalize` subresource: only `spec.finalizers` change.
pub fn finalize_namespace(
    ctx: &WriteCtx<'_>,
    mut new: Value,
    old: &Value,
) -> Result<UpdateOutcome, ApiError> {
    check_identity(ctx, &mut new, meta_str(old, "name"))?;
    check_preconditions(ctx.def, &new, old)?;
    let finalizers = new.pointer("/spec/finalizers").cloned();
    let mut out = old.clone();
    let spec = out
        .as_object_mut()
        .map(|m| m.entry("spec").or_insert_with(|| json!({})))
        .and_then(Value::as_object_mut);
    if let Some(spec) = spec {
        match finalizers {
            Some(f) if f.as_array().is_some_and(|a| !a.is_empty()) => {
                spec.insert("finalizers".into(), f);
            }
            _ => {
                spec.remove("finalizers");
            }
        }
    }
    if same_object(&out, old) {
        return Ok(UpdateOutcome::Unchanged);
    }
    if namespace_finalized(&out) && !meta_str(&out, "deletionTimestamp").is_empty() {
        return Ok(UpdateOutcome::Delete(out));
    }
    record_write(ctx, Some(old), &mut out, Some("finalize"));
    Ok(UpdateOutcome::Write(out))
}

fn namespace_finalized(ns: &Value) -> bool {
    let spec_empty = ns
        .pointer("/spec/finalizers")
        .and_then(Value::as_array)
        .is_none_or(|a| a.is_empty());
    spec_empty && finalizers(ns).is_empty()
}

/// What a kind resets on create: clients cannot set status, except where Kubernetes lets them
/// (nodes register with theirs).
fn prepare_for_create(def: &ResourceDef, obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    match (def.group, def.kind) {
        ("", "Pod") | ("", "Namespace") | ("apps", "Deployment") | ("apps", "ReplicaSet") => {
            map.remove("status");
        }
        ("", "Service") => {
            map.insert("status".into(), json!({"loadBalancer": {}}));
        }
        _ => {}
    }
    defaults::prepare_for_create(def, obj);
}

/// What a kind keeps from the stored object on an update of the main resource.
fn prepare_for_update(def: &ResourceDef, new: &mut Value, old: &Value) {
    if !def.has_status {
        return;
    }
    let Some(map) = new.as_object_mut() else {
        return;
    };
    match old.get("status") {
        Some(status) => map.insert("status".into(), status.clone()),
        None => map.remove("status"),
    };
    if (def.group, def.kind) == ("", "Namespace") {
        // spec.finalizers change only through the finalize subresource.
        let old_fins = old.pointer("/spec/finalizers").cloned();
        if let Some(spec) = map
            .entry("spec")
            .or_insert_with(|| json!({}))
            .as_object_mut()
        {
            match old_fins {
                Some(f) => spec.insert("finalizers".into(), f),
                None => spec.remove("finalizers"),
            };
        }
    }
}

/// `propagationPolicy` of DeleteOptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    Orphan,
    Background,
    Foreground,
}

impl Propagation {
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        match s {
            "Orphan" => Ok(Self::Orphan),
            "Background" => Ok(Self::Background),
            "Foreground" => Ok(Self::Foreground),
            other => Err(ApiError::invalid(
                "",
                "DeleteOptions",
                "",
                vec![FieldError::not_supported(
                    "propagationPolicy",
                    other,
                    &["Foreground", "Background", "Orphan"],
                )],
            )),
        }
    }
}

/// The parts of DeleteOptions the rules use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeleteOpts {
    pub grace_period_seconds: Option<i64>,
    pub propagation: Option<Propagation>,
    pub precondition_uid: Option<String>,
    pub precondition_resource_version: Option<String>,
}

/// What a delete turned into.
#[derive(Debug, Clone, PartialEq)]
pub enum DeleteOutcome {
    /// Remove the object now.
    Now,
    /// Store this object (deletionTimestamp set; finalizers or a grace period hold it).
    Pending(Value),
    /// Already being deleted and nothing changes.
    AlreadyPending,
}

pub const FINALIZER_ORPHAN: &str = "orphan";
pub const FINALIZER_FOREGROUND: &str = "foregroundDeletion";

/// The rules of DELETE: preconditions, graceful deletion (pods), propagation finalizers,
/// namespace finalization.
pub fn delete(
    ctx: &WriteCtx<'_>,
    old: &Value,
    opts: &DeleteOpts,
) -> Result<DeleteOutcome, ApiError> {
    let def = ctx.def;
    let name = meta_str(old, "name");
    let precondition_failed = |message: String| ApiError::Conflict {
        resource: crate::error::GroupResource::new(def.group, def.plural),
        name: name.to_owned(),
        message,
    };
    if let Some(uid) = &opts.precondition_uid
        && uid != meta_str(old, "uid")
    {
        return Err(precondition_failed(format!(
            "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
            meta_str(old, "uid")
        )));
    }
    if let Some(rv) = &opts.precondition_resource_version
        && rv != meta_str(old, "resourceVersion")
    {
        return Err(precondition_failed(format!(
            "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
            meta_str(old, "resourceVersion")
        )));
    }
    if let Some(g) = opts.grace_period_seconds
        && g < 0
    {
        return Err(ApiError::invalid(
            "",
            "DeleteOptions",
            "",
            vec![FieldError::invalid(
                "gracePeriodSeconds",
                g,
                "must be greater than or equal to 0",
            )],
        ));
    }

    let now = ctx.now;
    let deleting = !meta_str(old, "deletionTimestamp").is_empty();
    let mut new = old.clone();

    // Propagation finalizers, as the garbage collector expects them.
    let mut fins = finalizers(old);
    let before = fins.clone();
    match opts.propagation {
        Some(Propagation::Orphan) => {
            fins.retain(|f| f != FINALIZER_FOREGROUND);
            if !fins.iter().any(|f| f == FINALIZER_ORPHAN) {
                fins.push(FINALIZER_ORPHAN.to_owned());
            }
        }
        Some(Propagation::Foreground) => {
            fins.retain(|f| f != FINALIZER_ORPHAN);
            if !fins.iter().any(|f| f == FINALIZER_FOREGROUND) {
                fins.push(FINALIZER_FOREGROUND.to_owned());
            }
        }
        Some(Propagation::Background) => {
            fins.retain(|f| f != FINALIZER_ORPHAN && f != FINALIZER_FOREGROUND);
        }
        None => {}
    }
    // The namespace owner of a Foreground delete must wait for its dependents even when it
    // has none yet; an already-deleting object only takes new GC finalizers before it goes.
    let fins_changed = fins != before;
    set_finalizers(&mut new, &fins);

    if (def.group, def.kind) == ("", "Namespace") {
        if namespace_finalized(&new) {
            return Ok(DeleteOutcome::Now);
        }
        if deleting {
            return Ok(if fins_changed {
                DeleteOutcome::Pending(new)
            } else {
                DeleteOutcome::AlreadyPending
            });
        }
        let meta = meta_mut(&mut new);
        meta.insert("deletionTimestamp".into(), json!(format_time(now)));
        meta.insert("deletionGracePeriodSeconds".into(), json!(0));
        if let Some(m) = new.as_object_mut() {
            let status = m.entry("status").or_insert_with(|| json!({}));
            if let Some(s) = status.as_object_mut() {
                s.insert("phase".into(), json!("Terminating"));
            }
        }
        return Ok(DeleteOutcome::Pending(new));
    }

    // Graceful deletion: only pods, as in Kubernetes.
    let grace = if (def.group, def.kind) == ("", "Pod") {
        let mut g = opts
            .grace_period_seconds
            .or_else(|| {
                old.pointer("/spec/terminationGracePeriodSeconds")
                    .and_then(Value::as_i64)
            })
            .unwrap_or(30);
        let bound = old
            .pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.is_empty());
        let phase = old
            .pointer("/status/phase")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !bound || phase == "Succeeded" || phase == "Failed" {
            g = 0;
        }
        g
    } else {
        0
    };

    if deleting {
        let current_grace = meta_i64(old, "deletionGracePeriodSeconds").unwrap_or(0);
        let mut changed = fins_changed;
        if grace < current_grace {
            let new_deadline = now + jiff::SignedDuration::from_secs(grace);
            let meta = meta_mut(&mut new);
            let existing = meta
                .get("deletionTimestamp")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<Timestamp>().ok());
            if existing.is_none_or(|e| new_deadline < e) {
                meta.insert("deletionTimestamp".into(), json!(format_time(new_deadline)));
            }
            meta.insert("deletionGracePeriodSeconds".into(), json!(grace));
            changed = true;
        }
        if grace == 0 && fins.is_empty() && opts.grace_period_seconds == Some(0) {
            return Ok(DeleteOutcome::Now);
        }
        if fins.is_empty() && meta_i64(&new, "deletionGracePeriodSeconds") == Some(0) {
            return Ok(DeleteOutcome::Now);
        }
        return Ok(if changed {
            DeleteOutcome::Pending(new)
        } else {
            DeleteOutcome::AlreadyPending
        });
    }

    if fins.is_empty() && grace == 0 {
        return Ok(DeleteOutcome::Now);
    }
    let generation = meta_i64(old, "generation");
    let meta = meta_mut(&mut new);
    meta.insert(
        "deletionTimestamp".into(),
        json!(format_time(now + jiff::SignedDuration::from_secs(grace))),
    );
    meta.insert("deletionGracePeriodSeconds".into(), json!(grace));
    if let Some(g) = generation {
        meta.insert("generation".into(), json!(g + 1));
    }
    Ok(DeleteOutcome::Pending(new))
}

/// The autoscaling/v1 Scale of a Deployment or ReplicaSet.
pub fn scale_of(obj: &Value) -> Value {
    let meta = obj.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let mut scale_meta = Map::new();
    for f in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(v) = meta.get(f) {
            scale_meta.insert(f.to_owned(), v.clone());
        }
    }
    let selector = obj
        .pointer("/spec/selector")
        .and_then(|s| serde_json::from_value(s.clone()).ok())
        .and_then(
            |s: k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector| {
                crate::selector::LabelSelector::from_label_selector(&s).ok()
            },
        )
        .map(|s| s.to_string())
        .unwrap_or_default();
    let mut status = Map::new();
    status.insert(
        "replicas".into(),
        obj.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
    );
    if !selector.is_empty() {
        status.insert("selector".into(), json!(selector));
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": scale_meta,
        "spec": {"replicas": obj.pointer("/spec/replicas").cloned().unwrap_or(json!(1))},
        "status": status,
    })
}

/// Applies a Scale (already patched or replaced by the client) to its Deployment or
/// ReplicaSet.
pub fn apply_scale(
    ctx: &WriteCtx<'_>,
    scale: &Value,
    old: &Value,
) -> Result<UpdateOutcome, ApiError> {
    let def = ctx.def;
    let name = meta_str(old, "name");
    let rv = scale
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !rv.is_empty() && rv != meta_str(old, "resourceVersion") {
        return Err(ApiError::conflict_modified(def.group, def.plural, name));
    }
    let replicas = match scale.pointer("/spec/replicas") {
        None | Some(Value::Null) => 0,
        Some(v) => v
            .as_i64()
            .ok_or_else(|| ApiError::BadRequest("spec.replicas must be an integer".into()))?,
    };
    if replicas < 0 {
        return Err(ApiError::invalid(
            "autoscaling",
            "Scale",
            name,
            vec![FieldError::invalid(
                "spec.replicas",
                replicas,
                "must be greater than or equal to 0",
            )],
        ));
    }
    let mut new = old.clone();
    if let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("replicas".into(), json!(replicas));
    }
    let errors = validation::validate_update(def, &new, old);
    if !errors.is_empty() {
        return Err(invalid(def, &new, errors));
    }
    finish_update(ctx, new, old, Some("scale"))
}

/// Binds a pod to a node (the `binding` subresource).
pub fn bind(ctx: &WriteCtx<'_>, pod: &Value, binding: &Value) -> Result<Value, ApiError> {
    let name = meta_str(pod, "name");
    let target = binding
        .pointer("/target/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if target.is_empty() {
        return Err(ApiError::invalid(
            "",
            "Binding",
            meta_str(binding, "name"),
            vec![FieldError::required("target.name", "")],
        ));
    }
    let conflict = |message: String| ApiError::Conflict {
        resource: crate::error::GroupResource::new("", "pods/binding"),
        name: name.to_owned(),
        message,
    };
    if !meta_str(pod, "deletionTimestamp").is_empty() {
        return Err(conflict(format!(
            "pod {name} is being deleted, cannot be assigned to a host"
        )));
    }
    let current = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !current.is_empty() {
        return Err(conflict(format!(
            "pod {name} is already assigned to node {current:?}"
        )));
    }
    let mut new = pod.clone();
    if let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("nodeName".into(), json!(target));
    }
    if let Some(annotations) = binding
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
    {
        let meta = meta_mut(&mut new);
        let a = meta.entry("annotations").or_insert_with(|| json!({}));
        if let Some(a) = a.as_object_mut() {
            for (k, v) in annotations {
                a.insert(k.clone(), v.clone());
            }
        }
    }
    set_condition(&mut new, "PodScheduled", "True", None, None, ctx.now);
    record_write(ctx, Some(pod), &mut new, Some("binding"));
    Ok(new)
}

/// Sets a pod-style condition in `status.conditions`, moving `lastTransitionTime` only when
/// the status flips.
pub fn set_condition(
    obj: &mut Value,
    ty: &str,
    status: &str,
    reason: Option<&str>,
    message: Option<&str>,
    now: Timestamp,
) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    let st = map.entry("status").or_insert_with(|| json!({}));
    let Some(st) = st.as_object_mut() else { return };
    let conds = st.entry("conditions").or_insert_with(|| json!([]));
    let Some(conds) = conds.as_array_mut() else {
        return;
    };
    let mut cond = json!({"type": ty, "status": status, "lastProbeTime": null});
    if let Some(r) = reason {
        cond["reason"] = json!(r);
    }
    if let Some(m) = message {
        cond["message"] = json!(m);
    }
    match conds.iter_mut().find(|c| c["type"] == ty) {
        Some(existing) => {
            let flipped = existing["status"] != status;
            cond["lastTransitionTime"] = if flipped {
                json!(format_time(now))
            } else {
                existing["lastTransitionTime"].clone()
            };
            *existing = cond;
        }
        None => {
            cond["lastTransitionTime"] = json!(format_time(now));
            conds.push(cond);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::find;

    fn ctx(plural: &str) -> WriteCtx<'static> {
        WriteCtx {
            def: find("", "v1", plural)
                .or_else(|| find("apps", "v1", plural))
                .expect("served"),
            namespace: Some("default"),
            now: "2026-11-22T07:00:00Z".parse().expect("time"),
            manager: "kubectl-create",
        }
    }

    fn pod(node: Option<&str>) -> Value {
        let mut p = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": "busybox"}]}
        });
        if let Some(n) = node {
            p["spec"]["nodeName"] = json!(n);
        }
        p
    }

    #[test]
    fn create_sets_system_metadata() {
        let out = create(&ctx("pods"), pod(None), "uid-1", "abcde").unwrap();
        assert_eq!(out["metadata"]["uid"], "uid-1");
        assert_eq!(out["metadata"]["namespace"], "default");
        assert_eq!(out["metadata"]["creationTimestamp"], "2026-11-22T07:00:00Z");
        assert_eq!(out["metadata"]["generation"], 1);
        assert_eq!(out["status"]["phase"], "Pending");
        assert_eq!(out["status"]["qosClass"], "BestEffort");
    }

    #[test]
    fn generate_name_and_namespace_mismatch() {
        let mut p = pod(None);
        p["metadata"] = json!({"generateName": "web-", "namespace": "default"});
        let out = create(&ctx("pods"), p, "u", "x7k2q").unwrap();
        assert_eq!(out["metadata"]["name"], "web-x7k2q");
        let mut p = pod(None);
        p["metadata"]["namespace"] = json!("other");
        assert_eq!(create(&ctx("pods"), p, "u", "s").unwrap_err().code(), 400);
        let mut p = pod(None);
        p["metadata"]["resourceVersion"] = json!("5");
        assert_eq!(create(&ctx("pods"), p, "u", "s").unwrap_err().code(), 400);
    }

    #[test]
    fn update_keeps_status_and_bumps_generation_on_spec_change() {
        let c = ctx("pods");
        let mut old = create(&c, pod(None), "u", "").unwrap();
        old["metadata"]["resourceVersion"] = json!("7");
        let mut new = old.clone();
        new["status"] = json!({"phase": "Running"});
        new["metadata"]["labels"]["x"] = json!("y");
        let UpdateOutcome::Write(w) = update(&c, new, &old).unwrap() else {
            panic!("expected a write")
        };
        assert_eq!(w["status"]["phase"], "Pending");
        assert_eq!(w["metadata"]["generation"], 1);
        let mut new = old.clone();
        new["spec"]["containers"][0]["image"] = json!("busybox:2");
        let UpdateOutcome::Write(w) = update(&c, new, &old).unwrap() else {
            panic!("expected a write")
        };
        assert_eq!(w["metadata"]["generation"], 2);
        assert_eq!(
            update(&c, old.clone(), &old).unwrap(),
            UpdateOutcome::Unchanged
        );
        let mut stale = old.clone();
        stale["metadata"]["resourceVersion"] = json!("6");
        stale["metadata"]["labels"]["z"] = json!("1");
        assert_eq!(update(&c, stale, &old).unwrap_err().code(), 409);
    }

    #[test]
    fn status_update_keeps_spec() {
        let c = ctx("pods");
        let mut old = create(&c, pod(None), "u", "").unwrap();
        old["metadata"]["resourceVersion"] = json!("3");
        let mut new = old.clone();
        new["status"]["phase"] = json!("Running");
        new["spec"]["containers"][0]["image"] = json!("changed");
        let UpdateOutcome::Write(w) = update_status(&c, new, &old).unwrap() else {
            panic!("expected a write")
        };
        assert_eq!(w["status"]["phase"], "Running");
        assert_eq!(w["spec"]["containers"][0]["image"], "busybox");
    }

    #[test]
    fn bound_pods_delete_gracefully_and_unbound_at_once() {
        let c = ctx("pods");
        let unbound = create(&c, pod(None), "u", "").unwrap();
        assert_eq!(
            delete(&c, &unbound, &DeleteOpts::default()).unwrap(),
            DeleteOutcome::Now
        );
        let bound = create(&c, pod(Some("node-1")), "u", "").unwrap();
        let DeleteOutcome::Pending(p) = delete(&c, &bound, &DeleteOpts::default()).unwrap() else {
            panic!("expected a pending delete")
        };
        assert_eq!(p["metadata"]["deletionGracePeriodSeconds"], 30);
        assert_eq!(p["metadata"]["deletionTimestamp"], "2026-11-22T07:00:30Z");
        // A second plain delete changes nothing; a forced one removes it.
        assert_eq!(
            delete(&c, &p, &DeleteOpts::default()).unwrap(),
            DeleteOutcome::AlreadyPending
        );
        let force = DeleteOpts {
            grace_period_seconds: Some(0),
            ..Default::default()
        };
        assert_eq!(delete(&c, &p, &force).unwrap(), DeleteOutcome::Now);
        assert_eq!(delete(&c, &bound, &force).unwrap(), DeleteOutcome::Now);
        let wrong_uid = DeleteOpts {
            precondition_uid: Some("other".into()),
            ..Default::default()
        };
        assert_eq!(delete(&c, &bound, &wrong_uid).unwrap_err().code(), 409);
    }

    #[test]
    fn finalizers_hold_deletion_until_removed() {
        let c = ctx("configmaps");
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        let mut old = create(&c, cm, "u", "").unwrap();
        old["metadata"]["resourceVersion"] = json!("3");
        let orphan = DeleteOpts {
            propagation: Some(Propagation::Orphan),
            ..Default::default()
        };
        let DeleteOutcome::Pending(p) = delete(&c, &old, &orphan).unwrap() else {
            panic!("expected pending")
        };
        assert_eq!(p["metadata"]["finalizers"], json!(["orphan"]));
        let mut cleared = p.clone();
        meta_mut(&mut cleared).remove("finalizers");
        assert!(matches!(
            update(&c, cleared, &p).unwrap(),
            UpdateOutcome::Delete(_)
        ));
    }

    #[test]
    fn namespaces_terminate_then_finalize() {
        let c = WriteCtx {
            namespace: None,
            ..ctx("namespaces")
        };
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}});
        let old = create(&c, ns, "u", "").unwrap();
        assert_eq!(old["spec"]["finalizers"], json!(["kubernetes"]));
        let DeleteOutcome::Pending(p) = delete(&c, &old, &DeleteOpts::default()).unwrap() else {
            panic!("expected pending")
        };
        assert_eq!(p["status"]["phase"], "Terminating");
        let mut fin = p.clone();
        fin["spec"]["finalizers"] = json!([]);
        assert!(matches!(
            finalize_namespace(&c, fin, &p).unwrap(),
            UpdateOutcome::Delete(_)
        ));
    }

    #[test]
    fn binding_sets_node_once() {
        let c = ctx("pods");
        let p = create(&c, pod(None), "u", "").unwrap();
        let b = json!({"metadata": {"name": "web"}, "target": {"kind": "Node", "name": "node-1"}});
        let bound = bind(&c, &p, &b).unwrap();
        assert_eq!(bound["spec"]["nodeName"], "node-1");
        assert_eq!(bound["status"]["conditions"][0]["type"], "PodScheduled");
        assert_eq!(bind(&c, &bound, &b).unwrap_err().code(), 409);
    }
}
