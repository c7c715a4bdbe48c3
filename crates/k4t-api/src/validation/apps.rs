//! Deployments and ReplicaSets (`pkg/apis/apps/validation`, plus the selector immutability the
//! apps/v1 registry strategies add).

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentStatus, DeploymentStrategy, ReplicaSet, ReplicaSetStatus,
    RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::meta::{
    selector_from, selector_json, validate_label_selector, validate_object_meta,
    validate_object_meta_update,
};
use super::names::{NameRule, is_valid_percent};
use super::pod::validate_pod_template_spec;
use super::typed::{self, json};
use crate::error::{BadValue, FieldError, FieldPath};

fn nonnegative(v: i64, path: FieldPath) -> Option<FieldError> {
    (v < 0).then(|| FieldError::invalid(path, v, "must be greater than or equal to 0"))
}

fn int_or_string_json(v: &IntOrString) -> BadValue {
    match v {
        IntOrString::Int(i) => BadValue::Raw(i.to_string()),
        IntOrString::String(s) => BadValue::Raw(json(s)),
    }
}

/// The value of an int-or-percent as a number (percent sign dropped), 0 when unparsable.
fn int_or_percent_value(v: &IntOrString) -> i64 {
    match v {
        IntOrString::Int(i) => i64::from(*i),
        IntOrString::String(s) => {
            if is_valid_percent(s).is_empty() {
                s.trim_end_matches('%').parse().unwrap_or(0)
            } else {
                // Go's IntValue() parses the string as an integer, 0 on failure.
                s.parse().unwrap_or(0)
            }
        }
    }
}

fn validate_positive_int_or_percent(v: &IntOrString, path: &FieldPath) -> Vec<FieldError> {
    match v {
        IntOrString::String(s) => is_valid_percent(s)
            .into_iter()
            .map(|m| FieldError::invalid(path, int_or_string_json(v), m))
            .collect(),
        IntOrString::Int(i) => nonnegative(i64::from(*i), path.clone())
            .into_iter()
            .collect(),
    }
}

fn is_not_more_than_100_percent(v: &IntOrString, path: &FieldPath) -> Option<FieldError> {
    match v {
        IntOrString::String(s)
            if is_valid_percent(s).is_empty() && int_or_percent_value(v) > 100 =>
        {
            Some(FieldError::invalid(
                path,
                int_or_string_json(v),
                "must not be greater than 100%",
            ))
        }
        _ => None,
    }
}

/// Whether the JSON object had a `spec.selector` (k8s-openapi makes it non-optional, Go keeps a
/// nil pointer).
fn has_selector(raw: &Value) -> bool {
    raw.get("spec")
        .and_then(|s| s.get("selector"))
        .is_some_and(|s| !s.is_null())
}

fn validate_rolling_update(ru: &RollingUpdateDeployment, path: &FieldPath) -> Vec<FieldError> {
    let zero = IntOrString::Int(0);
    let max_unavailable = ru.max_unavailable.as_ref().unwrap_or(&zero);
    let max_surge = ru.max_surge.as_ref().unwrap_or(&zero);
    let mut errs = validate_positive_int_or_percent(max_unavailable, &path.child("maxUnavailable"));
    errs.extend(validate_positive_int_or_percent(
        max_surge,
        &path.child("maxSurge"),
    ));
    if int_or_percent_value(max_unavailable) == 0 && int_or_percent_value(max_surge) == 0 {
        errs.push(FieldError::invalid(
            path.child("maxUnavailable"),
            int_or_string_json(max_unavailable),
            "may not be 0 when `maxSurge` is 0",
        ));
    }
    errs.extend(is_not_more_than_100_percent(
        max_unavailable,
        &path.child("maxUnavailable"),
    ));
    errs
}

fn strategy_json(s: &DeploymentStrategy) -> String {
    let ru = match &s.rolling_update {
        None => "null".to_owned(),
        Some(r) => format!(
            "{{\"MaxUnavailable\":{},\"MaxSurge\":{}}}",
            r.max_unavailable.as_ref().map_or("0".to_owned(), json),
            r.max_surge.as_ref().map_or("0".to_owned(), json)
        ),
    };
    format!(
        "{{\"Type\":{},\"RollingUpdate\":{ru}}}",
        json(&s.type_.clone().unwrap_or_default())
    )
}

fn validate_strategy(s: Option<&DeploymentStrategy>, path: &FieldPath) -> Vec<FieldError> {
    let default = DeploymentStrategy::default();
    let s = s.unwrap_or(&default);
    match s.type_.as_deref().unwrap_or("") {
        "Recreate" => match s.rolling_update {
            Some(_) => vec![FieldError::forbidden(
                path.child("rollingUpdate"),
                "may not be specified when strategy `type` is 'Recreate'",
            )],
            None => Vec::new(),
        },
        "RollingUpdate" => match &s.rolling_update {
            None => vec![FieldError::required(
                path.child("rollingUpdate"),
                "this should be defaulted and never be nil",
            )],
            Some(ru) => validate_rolling_update(ru, &path.child("rollingUpdate")),
        },
        _ => vec![FieldError::not_supported(
            path,
            BadValue::Raw(strategy_json(s)),
            &["Recreate", "RollingUpdate"],
        )],
    }
}

/// `ValidatePodTemplateSpecForReplicaSet` after the selector checks.
fn validate_selector_and_template(
    selector: Option<&LabelSelector>,
    template: Option<&PodTemplateSpec>,
    kind: &str,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match selector {
        None => errs.push(FieldError::required(path.child("selector"), "")),
        Some(sel) => {
            errs.extend(validate_label_selector(
                Some(sel),
                false,
                &path.child("selector"),
            ));
            let empty = sel.match_labels.as_ref().is_none_or(|m| m.is_empty())
                && sel.match_expressions.as_ref().is_none_or(Vec::is_empty);
            if empty {
                errs.push(FieldError::invalid(
                    path.child("selector"),
                    BadValue::Raw(selector_json(Some(sel))),
                    "empty selector is invalid for deployment",
                ));
            }
        }
    }
    let tpath = path.child("template");
    match selector_from(selector) {
        Err(_) => errs.push(FieldError::invalid(
            path.child("selector"),
            BadValue::Raw(selector_json(selector)),
            "invalid label selector",
        )),
        Ok(sel) => {
            let default = PodTemplateSpec::default();
            let template = template.unwrap_or(&default);
            let labels = template
                .metadata
                .as_ref()
                .and_then(|m| m.labels.clone())
                .unwrap_or_default();
            if !sel.is_empty() && !sel.matches(&labels) {
                let raw = if template
                    .metadata
                    .as_ref()
                    .and_then(|m| m.labels.as_ref())
                    .is_some()
                {
                    json(&labels)
                } else {
                    "null".to_owned()
                };
                errs.push(FieldError::invalid(
                    tpath.child("metadata").child("labels"),
                    BadValue::Raw(raw),
                    "`selector` does not match template `labels`",
                ));
            }
            errs.extend(validate_pod_template_spec(template, &tpath));
            let spec = template.spec.as_ref();
            let rp = spec
                .and_then(|s| s.restart_policy.clone())
                .unwrap_or_default();
            if rp != "Always" {
                errs.push(FieldError::not_supported(
                    tpath.child("spec").child("restartPolicy"),
                    &rp,
                    &["Always"],
                ));
            }
            if spec.is_some_and(|s| s.active_deadline_seconds.is_some()) {
                errs.push(FieldError::forbidden(
                    tpath.child("spec").child("activeDeadlineSeconds"),
                    format!("activeDeadlineSeconds in {kind} is not Supported"),
                ));
            }
        }
    }
    errs
}

fn validate_deployment_spec(d: &Deployment, raw: &Value) -> Vec<FieldError> {
    let path = FieldPath::new("spec");
    let default = Default::default();
    let spec: &k8s_openapi::api::apps::v1::DeploymentSpec = d.spec.as_ref().unwrap_or(&default);
    let mut errs = Vec::new();
    errs.extend(nonnegative(
        i64::from(spec.replicas.unwrap_or(0)),
        path.child("replicas"),
    ));
    errs.extend(validate_selector_and_template(
        has_selector(raw).then_some(&spec.selector),
        Some(&spec.template),
        "ReplicaSet",
        &path,
    ));
    errs.extend(validate_strategy(
        spec.strategy.as_ref(),
        &path.child("strategy"),
    ));
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    errs.extend(nonnegative(
        i64::from(min_ready),
        path.child("minReadySeconds"),
    ));
    if let Some(r) = spec.revision_history_limit {
        errs.extend(nonnegative(
            i64::from(r),
            path.child("revisionHistoryLimit"),
        ));
    }
    if let Some(p) = spec.progress_deadline_seconds {
        errs.extend(nonnegative(
            i64::from(p),
            path.child("progressDeadlineSeconds"),
        ));
        if p <= min_ready {
            errs.push(FieldError::invalid(
                path.child("progressDeadlineSeconds"),
                p,
                "must be greater than minReadySeconds",
            ));
        }
    }
    errs
}

/// `ValidateDeployment`.
pub(crate) fn validate_deployment_create(obj: &Value) -> Vec<FieldError> {
    let d: Deployment = match typed::decode(obj) {
        Ok(d) => d,
        Err(e) => return vec![e],
    };
    let mut errs = validate_object_meta(
        &d.metadata,
        true,
        NameRule::DnsSubdomain,
        &FieldPath::new("metadata"),
    );
    errs.extend(validate_deployment_spec(&d, obj));
    errs
}

/// `ValidateDeploymentUpdate` plus selector immutability.
pub(crate) fn validate_deployment_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let (n, o): (Deployment, Deployment) = match (typed::decode(new), typed::decode(old)) {
        (Ok(n), Ok(o)) => (n, o),
        (Err(e), _) | (_, Err(e)) => return vec![e],
    };
    let mut errs =
        validate_object_meta_update(&n.metadata, &o.metadata, &FieldPath::new("metadata"));
    errs.extend(validate_deployment_spec(&n, new));
    let sel = |d: &Deployment| d.spec.as_ref().map(|s| s.selector.clone());
    errs.extend(selector_immutable(sel(&n).as_ref(), sel(&o).as_ref()));
    errs
}

fn selector_immutable(
    new: Option<&LabelSelector>,
    old: Option<&LabelSelector>,
) -> Option<FieldError> {
    let norm = |s: Option<&LabelSelector>| {
        s.map(|s| LabelSelector {
            match_labels: s.match_labels.clone().filter(|m| !m.is_empty()),
            match_expressions: s.match_expressions.clone().filter(|m| !m.is_empty()),
        })
    };
    (norm(new) != norm(old)).then(|| {
        FieldError::invalid(
            FieldPath::new("spec").child("selector"),
            BadValue::Raw(selector_json(new)),
            "field is immutable",
        )
    })
}

/// `ValidateDeploymentStatusUpdate`.
pub(crate) fn validate_deployment_status_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let (n, o): (Deployment, Deployment) = match (typed::decode(new), typed::decode(old)) {
        (Ok(n), Ok(o)) => (n, o),
        (Err(e), _) | (_, Err(e)) => return vec![e],
    };
    let mut errs =
        validate_object_meta_update(&n.metadata, &o.metadata, &FieldPath::new("metadata"));
    let path = FieldPath::new("status");
    let s: DeploymentStatus = n.status.clone().unwrap_or_default();
    errs.extend(nonnegative(
        s.observed_generation.unwrap_or(0),
        path.child("observedGeneration"),
    ));
    let replicas = s.replicas.unwrap_or(0);
    let updated = s.updated_replicas.unwrap_or(0);
    let ready = s.ready_replicas.unwrap_or(0);
    let available = s.available_replicas.unwrap_or(0);
    errs.extend(nonnegative(i64::from(replicas), path.child("replicas")));
    errs.extend(nonnegative(
        i64::from(updated),
        path.child("updatedReplicas"),
    ));
    errs.extend(nonnegative(i64::from(ready), path.child("readyReplicas")));
    errs.extend(nonnegative(
        i64::from(available),
        path.child("availableReplicas"),
    ));
    errs.extend(nonnegative(
        i64::from(s.unavailable_replicas.unwrap_or(0)),
        path.child("unavailableReplicas"),
    ));
    if let Some(c) = s.collision_count {
        errs.extend(nonnegative(i64::from(c), path.child("collisionCount")));
    }
    let msg = "cannot be greater than status.replicas";
    if updated > replicas {
        errs.push(FieldError::invalid(
            path.child("updatedReplicas"),
            updated,
            msg,
        ));
    }
    if ready > replicas {
        errs.push(FieldError::invalid(path.child("readyReplicas"), ready, msg));
    }
    if available > replicas {
        errs.push(FieldError::invalid(
            path.child("availableReplicas"),
            available,
            msg,
        ));
    }
    if available > ready {
        errs.push(FieldError::invalid(
            path.child("availableReplicas"),
            available,
            "cannot be greater than readyReplicas",
        ));
    }
    let old_cc = o.status.as_ref().and_then(|s| s.collision_count);
    if is_decremented(s.collision_count, old_cc) {
        errs.push(FieldError::invalid(
            path.child("collisionCount"),
            s.collision_count.unwrap_or(0),
            "cannot be decremented",
        ));
    }
    errs
}

fn is_decremented(new: Option<i32>, old: Option<i32>) -> bool {
    match (new, old) {
        (None, Some(_)) => true,
        (Some(n), Some(o)) => n < o,
        _ => false,
    }
}

fn validate_replica_set_spec(rs: &ReplicaSet, raw: &Value) -> Vec<FieldError> {
    let path = FieldPath::new("spec");
    let default = Default::default();
    let spec: &k8s_openapi::api::apps::v1::ReplicaSetSpec = rs.spec.as_ref().unwrap_or(&default);
    let mut errs = Vec::new();
    errs.extend(nonnegative(
        i64::from(spec.replicas.unwrap_or(0)),
        path.child("replicas"),
    ));
    errs.extend(nonnegative(
        i64::from(spec.min_ready_seconds.unwrap_or(0)),
        path.child("minReadySeconds"),
    ));
    errs.extend(validate_selector_and_template(
        has_selector(raw).then_some(&spec.selector),
        spec.template.as_ref(),
        "ReplicaSet",
        &path,
    ));
    errs
}

/// `ValidateReplicaSet`.
pub(crate) fn validate_replica_set_create(obj: &Value) -> Vec<FieldError> {
    let rs: ReplicaSet = match typed::decode(obj) {
        Ok(r) => r,
        Err(e) => return vec![e],
    };
    let mut errs = validate_object_meta(
        &rs.metadata,
        true,
        NameRule::DnsSubdomain,
        &FieldPath::new("metadata"),
    );
    errs.extend(validate_replica_set_spec(&rs, obj));
    errs
}

/// `ValidateReplicaSetUpdate` plus selector immutability.
pub(crate) fn validate_replica_set_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let (n, o): (ReplicaSet, ReplicaSet) = match (typed::decode(new), typed::decode(old)) {
        (Ok(n), Ok(o)) => (n, o),
        (Err(e), _) | (_, Err(e)) => return vec![e],
    };
    let mut errs =
        validate_object_meta_update(&n.metadata, &o.metadata, &FieldPath::new("metadata"));
    errs.extend(validate_replica_set_spec(&n, new));
    let sel = |r: &ReplicaSet| r.spec.as_ref().map(|s| s.selector.clone());
    errs.extend(selector_immutable(sel(&n).as_ref(), sel(&o).as_ref()));
    errs
}

/// `ValidateReplicaSetStatusUpdate`.
pub(crate) fn validate_replica_set_status_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let (n, o): (ReplicaSet, ReplicaSet) = match (typed::decode(new), typed::decode(old)) {
        (Ok(n), Ok(o)) => (n, o),
        (Err(e), _) | (_, Err(e)) => return vec![e],
    };
    let mut errs =
        validate_object_meta_update(&n.metadata, &o.metadata, &FieldPath::new("metadata"));
    let path = FieldPath::new("status");
    let s: ReplicaSetStatus = n.status.clone().unwrap_or_default();
    let replicas = s.replicas;
    let fully = s.fully_labeled_replicas.unwrap_or(0);
    let ready = s.ready_replicas.unwrap_or(0);
    let available = s.available_replicas.unwrap_or(0);
    errs.extend(nonnegative(i64::from(replicas), path.child("replicas")));
    errs.extend(nonnegative(
        i64::from(fully),
        path.child("fullyLabeledReplicas"),
    ));
    errs.extend(nonnegative(i64::from(ready), path.child("readyReplicas")));
    errs.extend(nonnegative(
        i64::from(available),
        path.child("availableReplicas"),
    ));
    errs.extend(nonnegative(
        s.observed_generation.unwrap_or(0),
        path.child("observedGeneration"),
    ));
    let msg = "cannot be greater than status.replicas";
    if fully > replicas {
        errs.push(FieldError::invalid(
            path.child("fullyLabeledReplicas"),
            fully,
            msg,
        ));
    }
    if ready > replicas {
        errs.push(FieldError::invalid(path.child("readyReplicas"), ready, msg));
    }
    if available > replicas {
        errs.push(FieldError::invalid(
            path.child("availableReplicas"),
            available,
            msg,
        ));
    }
    if available > ready {
        errs.push(FieldError::invalid(
            path.child("availableReplicas"),
            available,
            "cannot be greater than readyReplicas",
        ));
    }
    errs
}
