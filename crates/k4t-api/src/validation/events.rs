//! Events, served as core/v1 and events.k8s.io/v1 views of one stored object
//! (`ValidateEventCreate` / `ValidateEventUpdate`). Kubernetes validates the internal form, so
//! errors use the core/v1 field names (`involvedObject`, `message`...) whichever API was called.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use super::meta::{validate_object_meta, validate_object_meta_update};
use super::names::{NameRule, invalid_each, is_dns1123_subdomain, is_qualified_name};
use super::typed::{self, json};
use crate::error::{BadValue, FieldError, FieldPath};

const REPORTING_INSTANCE_LIMIT: usize = 128;
const ACTION_LIMIT: usize = 128;
const REASON_LIMIT: usize = 128;
const NOTE_LIMIT: usize = 1024;

/// The internal event fields validation looks at.
#[derive(Debug, Clone, Default, PartialEq)]
struct CoreEvent {
    meta: ObjectMeta,
    involved: Value,
    involved_namespace: String,
    reason: String,
    message: String,
    source: Value,
    source_set: bool,
    first_timestamp: Value,
    last_timestamp: Value,
    count: i32,
    type_: String,
    event_time: Value,
    series: Option<(i32, bool)>,
    series_raw: Value,
    action: String,
    related: Value,
    reporting_controller: String,
    reporting_instance: String,
}

fn is_set(v: &Value) -> bool {
    !v.is_null() && v.as_str() != Some("")
}

fn from_core(v: &Value) -> Result<CoreEvent, FieldError> {
    let e: k8s_openapi::api::core::v1::Event = typed::decode(v)?;
    let source = e.source.clone().unwrap_or_default();
    Ok(CoreEvent {
        meta: e.metadata.clone(),
        involved: to(&e.involved_object),
        involved_namespace: e.involved_object.namespace.clone().unwrap_or_default(),
        reason: e.reason.clone().unwrap_or_default(),
        message: e.message.clone().unwrap_or_default(),
        source_set: source.component.as_deref().is_some_and(|c| !c.is_empty())
            || source.host.as_deref().is_some_and(|h| !h.is_empty()),
        source: to(&source),
        first_timestamp: to(&e.first_timestamp),
        last_timestamp: to(&e.last_timestamp),
        count: e.count.unwrap_or(0),
        type_: e.type_.clone().unwrap_or_default(),
        event_time: to(&e.event_time),
        series: e
            .series
            .as_ref()
            .map(|s| (s.count.unwrap_or(0), s.last_observed_time.is_some())),
        series_raw: to(&e.series),
        action: e.action.clone().unwrap_or_default(),
        related: to(&e.related),
        reporting_controller: e.reporting_component.clone().unwrap_or_default(),
        reporting_instance: e.reporting_instance.clone().unwrap_or_default(),
    })
}

fn from_events_v1(v: &Value) -> Result<CoreEvent, FieldError> {
    let e: k8s_openapi::api::events::v1::Event = typed::decode(v)?;
    let regarding = e.regarding.clone().unwrap_or_default();
    let source = e.deprecated_source.clone().unwrap_or_default();
    Ok(CoreEvent {
        meta: e.metadata.clone(),
        involved: to(&regarding),
        involved_namespace: regarding.namespace.clone().unwrap_or_default(),
        reason: e.reason.clone().unwrap_or_default(),
        message: e.note.clone().unwrap_or_default(),
        source_set: source.component.as_deref().is_some_and(|c| !c.is_empty())
            || source.host.as_deref().is_some_and(|h| !h.is_empty()),
        source: to(&source),
        first_timestamp: to(&e.deprecated_first_timestamp),
        last_timestamp: to(&e.deprecated_last_timestamp),
        count: e.deprecated_count.unwrap_or(0),
        type_: e.type_.clone().unwrap_or_default(),
        event_time: to(&e.event_time),
        series: e.series.as_ref().map(|s| (s.count, true)),
        series_raw: to(&e.series),
        action: e.action.clone().unwrap_or_default(),
        related: to(&e.related),
        reporting_controller: e.reporting_controller.clone().unwrap_or_default(),
        reporting_instance: e.reporting_instance.clone().unwrap_or_default(),
    })
}

/// A JSON snapshot of a field, for immutability checks.
fn to<T: serde::Serialize>(x: &T) -> Value {
    serde_json::to_value(x).unwrap_or(Value::Null)
}

fn decode(v: &Value, events_api: bool) -> Result<CoreEvent, FieldError> {
    if events_api {
        from_events_v1(v)
    } else {
        from_core(v)
    }
}

/// `legacyValidateEvent`: what every event must satisfy.
fn legacy(e: &CoreEvent) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let ns = e.meta.namespace.clone().unwrap_or_default();
    let inv_ns_path = FieldPath::new("involvedObject").child("namespace");
    let mismatch = || {
        FieldError::invalid(
            &inv_ns_path,
            &e.involved_namespace,
            "does not match event.namespace",
        )
    };
    if !is_set(&e.event_time) {
        if e.involved_namespace.is_empty() {
            if !ns.is_empty() && ns != "default" {
                errs.push(mismatch());
            }
        } else if ns != e.involved_namespace {
            errs.push(mismatch());
        }
    } else {
        if e.involved_namespace.is_empty() && ns != "default" && ns != "kube-system" {
            errs.push(mismatch());
        }
        if e.reporting_controller.is_empty() {
            errs.push(FieldError::required(
                FieldPath::new("reportingController"),
                "",
            ));
        }
        errs.extend(invalid_each(
            &FieldPath::new("reportingController"),
            &e.reporting_controller,
            is_qualified_name(&e.reporting_controller),
        ));
        let limits = [
            (
                "reportingInstance",
                &e.reporting_instance,
                REPORTING_INSTANCE_LIMIT,
                true,
            ),
            ("action", &e.action, ACTION_LIMIT, true),
            ("reason", &e.reason, REASON_LIMIT, true),
            ("message", &e.message, NOTE_LIMIT, false),
        ];
        for (field, value, limit, required) in limits {
            if required && value.is_empty() {
                errs.push(FieldError::required(FieldPath::new(field), ""));
            }
            if value.len() > limit {
                errs.push(FieldError::invalid(
                    FieldPath::new(field),
                    "",
                    format!("can have at most {limit} characters"),
                ));
            }
        }
    }
    errs.extend(invalid_each(
        &FieldPath::new("namespace"),
        &ns,
        is_dns1123_subdomain(&ns),
    ));
    errs
}

fn validate_series(e: &CoreEvent) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some((count, last_observed)) = e.series {
        if count < 2 {
            errs.push(FieldError::invalid(
                FieldPath::new("series.count"),
                "",
                "should be at least 2",
            ));
        }
        if !last_observed {
            errs.push(FieldError::required(
                FieldPath::new("series.lastObservedTime"),
                "",
            ));
        }
    }
    errs
}

/// `ValidateEventCreate`; `events_api` is true for requests through events.k8s.io/v1.
pub(crate) fn validate_create(obj: &Value, events_api: bool) -> Vec<FieldError> {
    let e = match decode(obj, events_api) {
        Ok(e) => e,
        Err(err) => return vec![err],
    };
    let mut errs = legacy(&e);
    if !events_api {
        return errs;
    }
    errs.extend(validate_object_meta(
        &e.meta,
        true,
        NameRule::DnsSubdomain,
        &FieldPath::new("metadata"),
    ));
    errs.extend(validate_series(&e));
    if !is_set(&e.event_time) {
        errs.push(FieldError::required(FieldPath::new("eventTime"), ""));
    }
    if e.type_ != "Normal" && e.type_ != "Warning" {
        errs.push(FieldError::invalid(
            FieldPath::new("type"),
            "",
            format!("has invalid value: {}", e.type_),
        ));
    }
    if is_set(&e.first_timestamp) {
        errs.push(FieldError::invalid(
            FieldPath::new("firstTimestamp"),
            "",
            "needs to be unset",
        ));
    }
    if is_set(&e.last_timestamp) {
        errs.push(FieldError::invalid(
            FieldPath::new("lastTimestamp"),
            "",
            "needs to be unset",
        ));
    }
    if e.count != 0 {
        errs.push(FieldError::invalid(
            FieldPath::new("count"),
            "",
            "needs to be unset",
        ));
    }
    if e.source_set {
        errs.push(FieldError::invalid(
            FieldPath::new("source"),
            "",
            "needs to be unset",
        ));
    }
    errs
}

/// `ValidateEventUpdate`.
pub(crate) fn validate_update(new: &Value, old: &Value, events_api: bool) -> Vec<FieldError> {
    let (n, o) = match (decode(new, events_api), decode(old, events_api)) {
        (Ok(n), Ok(o)) => (n, o),
        (Err(e), _) | (_, Err(e)) => return vec![e],
    };
    let mut errs = legacy(&n);
    if !events_api {
        return errs;
    }
    errs.extend(validate_object_meta_update(
        &n.meta,
        &o.meta,
        &FieldPath::new("metadata"),
    ));
    if n.series_raw != o.series_raw {
        errs.extend(validate_series(&n));
    }
    let immutable: Vec<(&str, Value, Value)> = vec![
        ("involvedObject", n.involved.clone(), o.involved.clone()),
        (
            "reason",
            Value::from(n.reason.clone()),
            Value::from(o.reason.clone()),
        ),
        (
            "message",
            Value::from(n.message.clone()),
            Value::from(o.message.clone()),
        ),
        ("source", n.source.clone(), o.source.clone()),
        (
            "firstTimestamp",
            n.first_timestamp.clone(),
            o.first_timestamp.clone(),
        ),
        (
            "lastTimestamp",
            n.last_timestamp.clone(),
            o.last_timestamp.clone(),
        ),
        ("count", Value::from(n.count), Value::from(o.count)),
        (
            "reason",
            Value::from(n.reason.clone()),
            Value::from(o.reason.clone()),
        ),
        (
            "type",
            Value::from(n.type_.clone()),
            Value::from(o.type_.clone()),
        ),
        ("eventTime", n.event_time.clone(), o.event_time.clone()),
        (
            "action",
            Value::from(n.action.clone()),
            Value::from(o.action.clone()),
        ),
        ("related", n.related.clone(), o.related.clone()),
        (
            "reportingController",
            Value::from(n.reporting_controller.clone()),
            Value::from(o.reporting_controller.clone()),
        ),
        (
            "reportingInstance",
            Value::from(n.reporting_instance.clone()),
            Value::from(o.reporting_instance.clone()),
        ),
    ];
    for (field, nv, ov) in immutable {
        if nv != ov {
            errs.push(FieldError::invalid(
                FieldPath::new(field),
                BadValue::Raw(json(&nv)),
                "field is immutable",
            ));
        }
    }
    errs
}
