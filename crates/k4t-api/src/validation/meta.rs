//! `ObjectMeta` validation on create and update, labels, annotations, owner references,
//! finalizers and label selectors (apimachinery's `api/validation` and `apis/meta/v1/validation`,
//! plus the core group's finalizer-name rule).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, LabelSelectorRequirement, ObjectMeta, OwnerReference,
};

use super::names::{NameRule, invalid_each, is_label_value, is_qualified_name};
use super::typed::json;
use crate::error::{BadValue, FieldError, FieldPath};

/// Largest total size of a metadata.annotations map (keys and values).
pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

const FIELD_IMMUTABLE: &str = "field is immutable";

/// `ValidateLabelName`.
pub fn validate_label_name(name: &str, path: &FieldPath) -> Vec<FieldError> {
    invalid_each(path, name, is_qualified_name(name))
}

/// `ValidateLabels`: keys are qualified names, values label values; all reported at `path`.
pub fn validate_labels(
    labels: Option<&BTreeMap<String, String>>,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (k, v) in labels.into_iter().flatten() {
        errs.extend(validate_label_name(k, path));
        errs.extend(invalid_each(path, v, is_label_value(v)));
    }
    errs
}

/// `ValidateAnnotations`: case-insensitive qualified-name keys and a total size limit.
pub fn validate_annotations(
    annotations: Option<&BTreeMap<String, String>>,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut total = 0usize;
    for (k, v) in annotations.into_iter().flatten() {
        errs.extend(invalid_each(path, k, is_qualified_name(&k.to_lowercase())));
        total += k.len() + v.len();
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(FieldError::too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT));
    }
    errs
}

/// An owner reference rendered as Go's JSON would (field order of the Go struct).
fn owner_ref_json(r: &OwnerReference) -> String {
    let mut s = format!(
        "{{\"apiVersion\":{},\"kind\":{},\"name\":{},\"uid\":{}",
        json(&r.api_version),
        json(&r.kind),
        json(&r.name),
        json(&r.uid)
    );
    if let Some(c) = r.controller {
        s.push_str(&format!(",\"controller\":{c}"));
    }
    if let Some(b) = r.block_owner_deletion {
        s.push_str(&format!(",\"blockOwnerDeletion\":{b}"));
    }
    s.push('}');
    s
}

/// (group, version) of an apiVersion string, as `schema.ParseGroupVersion` splits it; `None`
/// when it has more than one slash.
fn parse_group_version(api_version: &str) -> Option<(String, String)> {
    if api_version.is_empty() {
        return Some((String::new(), String::new()));
    }
    let parts: Vec<&str> = api_version.split('/').collect();
    match parts.as_slice() {
        [v] => Some((String::new(), (*v).to_owned())),
        [g, v] => Some(((*g).to_owned(), (*v).to_owned())),
        _ => None,
    }
}

fn validate_owner_reference(r: &OwnerReference, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let (group, version) = parse_group_version(&r.api_version).unwrap_or_default();
    if version.is_empty() {
        errs.push(FieldError::invalid(
            path.child("apiVersion"),
            &r.api_version,
            "version must not be empty",
        ));
    }
    if r.kind.is_empty() {
        errs.push(FieldError::invalid(
            path.child("kind"),
            &r.kind,
            "must not be empty",
        ));
    }
    if r.name.is_empty() {
        errs.push(FieldError::invalid(
            path.child("name"),
            &r.name,
            "must not be empty",
        ));
    }
    if r.uid.is_empty() {
        errs.push(FieldError::invalid(
            path.child("uid"),
            &r.uid,
            "must not be empty",
        ));
    }
    if group.is_empty() && version == "v1" && r.kind == "Event" {
        errs.push(FieldError::invalid(
            path,
            BadValue::Raw(owner_ref_json(r)),
            "/v1, Kind=Event is disallowed from being an owner",
        ));
    }
    errs
}

/// `ValidateOwnerReferences`: each reference complete, at most one controller.
pub fn validate_owner_references(
    refs: Option<&Vec<OwnerReference>>,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(refs) = refs else {
        return errs;
    };
    let mut first_controller: Option<String> = None;
    for r in refs {
        errs.extend(validate_owner_reference(r, path));
        if r.controller == Some(true) {
            let name = format!("{}/{}", r.kind, r.name);
            match &first_controller {
                Some(first) => {
                    let all: Vec<String> = refs.iter().map(owner_ref_json).collect();
                    errs.push(FieldError::invalid(
                        path,
                        BadValue::Raw(format!("[{}]", all.join(","))),
                        format!(
                            "Only one reference can have Controller set to true. Found \"true\" in references for {first} and {name}"
                        ),
                    ));
                }
                None => first_controller = Some(name),
            }
        }
    }
    errs
}

/// The finalizer names the core group knows without a domain prefix.
const STANDARD_FINALIZERS: [&str; 3] = ["kubernetes", "orphan", "foregroundDeletion"];

/// The core group's rule that unprefixed finalizers must be standard ones.
pub(crate) fn validate_kube_finalizer_name(name: &str, path: &FieldPath) -> Vec<FieldError> {
    if !name.contains('/') && !STANDARD_FINALIZERS.contains(&name) {
        vec![FieldError::invalid(
            path,
            name,
            "name is neither a standard finalizer name nor is it fully qualified",
        )]
    } else {
        Vec::new()
    }
}

/// `ValidateFinalizerName`: a qualified name.
pub(crate) fn validate_finalizer_name(name: &str, path: &FieldPath) -> Vec<FieldError> {
    invalid_each(path, name, is_qualified_name(name))
}

fn validate_finalizers(finalizers: &[String], path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for f in finalizers {
        errs.extend(validate_finalizer_name(f, path));
    }
    let orphan = finalizers.iter().any(|f| f == "orphan");
    let foreground = finalizers.iter().any(|f| f == "foregroundDeletion");
    if orphan && foreground {
        errs.push(FieldError::invalid(
            path,
            BadValue::Raw(json(&finalizers)),
            "finalizer orphan and foregroundDeletion cannot be both set",
        ));
    }
    errs
}

fn validate_field_manager(manager: &str, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if manager.len() > 128 {
        errs.push(FieldError::too_long(path, 128));
    }
    for (i, c) in manager.char_indices() {
        if c.is_control() {
            errs.push(FieldError::invalid(
                path,
                manager,
                format!("invalid character U+{:04X} (at position {i})", c as u32),
            ));
        }
    }
    errs
}

fn validate_managed_fields(meta: &ObjectMeta, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, mf) in meta.managed_fields.iter().flatten().enumerate() {
        let p = path.index(i);
        let op = mf.operation.clone().unwrap_or_default();
        if op != "Apply" && op != "Update" {
            errs.push(FieldError::invalid(
                p.child("operation"),
                op,
                "must be `Apply` or `Update`",
            ));
        }
        if let Some(ft) = &mf.fields_type
            && !ft.is_empty()
            && ft != "FieldsV1"
        {
            errs.push(FieldError::invalid(
                p.child("fieldsType"),
                ft,
                "must be `FieldsV1`",
            ));
        }
        errs.extend(validate_field_manager(
            mf.manager.as_deref().unwrap_or(""),
            &p.child("manager"),
        ));
        if mf.subresource.as_deref().unwrap_or("").len() > 256 {
            errs.push(FieldError::too_long(p.child("subresource"), 256));
        }
    }
    errs
}

/// apimachinery's `ValidateObjectMeta` (name, generateName, namespace, labels, annotations,
/// owner references, finalizers, managed fields).
pub(crate) fn validate_object_meta_generic(
    meta: &ObjectMeta,
    namespaced: bool,
    rule: NameRule,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = meta.name.as_deref().unwrap_or("");
    let generate_name = meta.generate_name.as_deref().unwrap_or("");
    if !generate_name.is_empty() {
        errs.extend(invalid_each(
            &path.child("generateName"),
            generate_name,
            rule.check(generate_name, true),
        ));
    }
    if name.is_empty() {
        errs.push(FieldError::required(
            path.child("name"),
            "name or generateName is required",
        ));
    } else {
        errs.extend(invalid_each(
            &path.child("name"),
            name,
            rule.check(name, false),
        ));
    }
    let namespace = meta.namespace.as_deref().unwrap_or("");
    if namespaced {
        if namespace.is_empty() {
            errs.push(FieldError::required(path.child("namespace"), ""));
        } else {
            errs.extend(invalid_each(
                &path.child("namespace"),
                namespace,
                NameRule::DnsLabel.check(namespace, false),
            ));
        }
    } else if !namespace.is_empty() {
        errs.push(FieldError::forbidden(
            path.child("namespace"),
            "not allowed on this type",
        ));
    }
    errs.extend(validate_generation(meta, path));
    errs.extend(validate_labels(meta.labels.as_ref(), &path.child("labels")));
    errs.extend(validate_annotations(
        meta.annotations.as_ref(),
        &path.child("annotations"),
    ));
    errs.extend(validate_owner_references(
        meta.owner_references.as_ref(),
        &path.child("ownerReferences"),
    ));
    errs.extend(validate_finalizers(
        meta.finalizers.as_deref().unwrap_or(&[]),
        &path.child("finalizers"),
    ));
    errs.extend(validate_managed_fields(meta, &path.child("managedFields")));
    errs
}

fn validate_generation(meta: &ObjectMeta, path: &FieldPath) -> Vec<FieldError> {
    match meta.generation {
        Some(g) if g < 0 => vec![FieldError::invalid(
            path.child("generation"),
            g,
            "must be greater than or equal to 0",
        )],
        _ => Vec::new(),
    }
}

/// The core group's `ValidateObjectMeta`: the generic checks plus the finalizer-name rule.
pub(crate) fn validate_object_meta(
    meta: &ObjectMeta,
    namespaced: bool,
    rule: NameRule,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = validate_object_meta_generic(meta, namespaced, rule, path);
    for (i, f) in meta.finalizers.iter().flatten().enumerate() {
        errs.extend(validate_kube_finalizer_name(
            f,
            &path.child("finalizers").index(i),
        ));
    }
    errs
}

fn immutable<T: serde::Serialize + PartialEq>(
    new: &T,
    old: &T,
    path: FieldPath,
) -> Option<FieldError> {
    (new != old).then(|| FieldError::invalid(path, BadValue::Raw(json(new)), FIELD_IMMUTABLE))
}

fn immutable_str(new: &str, old: &str, path: FieldPath) -> Option<FieldError> {
    (new != old).then(|| FieldError::invalid(path, new, FIELD_IMMUTABLE))
}

/// apimachinery's `ValidateObjectMetaUpdate`.
pub(crate) fn validate_object_meta_update_generic(
    new: &ObjectMeta,
    old: &ObjectMeta,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if old.deletion_timestamp.is_some() {
        let old_f: Vec<&String> = old.finalizers.iter().flatten().collect();
        let mut extra: Vec<&String> = new
            .finalizers
            .iter()
            .flatten()
            .filter(|f| !old_f.contains(f))
            .collect();
        extra.sort();
        extra.dedup();
        if !extra.is_empty() {
            let quoted: Vec<String> = extra.iter().map(|f| crate::error::go_quote(f)).collect();
            errs.push(FieldError::forbidden(
                path.child("finalizers"),
                format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                    quoted.join(", ")
                ),
            ));
        }
    }
    let rv = new.resource_version.as_deref().unwrap_or("");
    if rv.is_empty() {
        errs.push(FieldError::invalid(
            path.child("resourceVersion"),
            rv,
            "must be specified for an update",
        ));
    }
    let (ng, og) = (new.generation.unwrap_or(0), old.generation.unwrap_or(0));
    if ng < og {
        errs.push(FieldError::invalid(
            path.child("generation"),
            ng,
            "must not be decremented",
        ));
    }
    let s = |o: &Option<String>| o.clone().unwrap_or_default();
    errs.extend(immutable_str(
        &s(&new.name),
        &s(&old.name),
        path.child("name"),
    ));
    errs.extend(immutable_str(
        &s(&new.namespace),
        &s(&old.namespace),
        path.child("namespace"),
    ));
    errs.extend(immutable_str(&s(&new.uid), &s(&old.uid), path.child("uid")));
    errs.extend(immutable(
        &new.creation_timestamp,
        &old.creation_timestamp,
        path.child("creationTimestamp"),
    ));
    errs.extend(immutable(
        &new.deletion_timestamp,
        &old.deletion_timestamp,
        path.child("deletionTimestamp"),
    ));
    errs.extend(immutable(
        &new.deletion_grace_period_seconds,
        &old.deletion_grace_period_seconds,
        path.child("deletionGracePeriodSeconds"),
    ));
    errs.extend(validate_labels(new.labels.as_ref(), &path.child("labels")));
    errs.extend(validate_annotations(
        new.annotations.as_ref(),
        &path.child("annotations"),
    ));
    errs.extend(validate_owner_references(
        new.owner_references.as_ref(),
        &path.child("ownerReferences"),
    ));
    errs.extend(validate_managed_fields(new, &path.child("managedFields")));
    errs
}

/// The core group's `ValidateObjectMetaUpdate`.
pub(crate) fn validate_object_meta_update(
    new: &ObjectMeta,
    old: &ObjectMeta,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = validate_object_meta_update_generic(new, old, path);
    for (i, f) in new.finalizers.iter().flatten().enumerate() {
        errs.extend(validate_kube_finalizer_name(
            f,
            &path.child("finalizers").index(i),
        ));
    }
    errs
}

/// `ValidateImmutableField` for any serializable value (rendered as JSON).
pub(crate) fn validate_immutable<T: serde::Serialize + PartialEq>(
    new: &T,
    old: &T,
    path: FieldPath,
) -> Vec<FieldError> {
    immutable(new, old, path).into_iter().collect()
}

/// A label selector rendered as Go's JSON would (`matchLabels` before `matchExpressions`).
pub(crate) fn selector_json(sel: Option<&LabelSelector>) -> String {
    let Some(sel) = sel else {
        return "null".to_owned();
    };
    let mut parts = Vec::new();
    if let Some(ml) = &sel.match_labels
        && !ml.is_empty()
    {
        parts.push(format!("\"matchLabels\":{}", json(ml)));
    }
    if let Some(me) = &sel.match_expressions
        && !me.is_empty()
    {
        let exprs: Vec<String> = me
            .iter()
            .map(|r| {
                let mut s = format!(
                    "{{\"key\":{},\"operator\":{}",
                    json(&r.key),
                    json(&r.operator)
                );
                if let Some(v) = &r.values
                    && !v.is_empty()
                {
                    s.push_str(&format!(",\"values\":{}", json(v)));
                }
                s.push('}');
                s
            })
            .collect();
        parts.push(format!("\"matchExpressions\":[{}]", exprs.join(",")));
    }
    format!("{{{}}}", parts.join(","))
}

fn validate_selector_requirement(
    r: &LabelSelectorRequirement,
    allow_invalid_values: bool,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let values = r.values.as_deref().unwrap_or(&[]);
    match r.operator.as_str() {
        "In" | "NotIn" => {
            if values.is_empty() {
                errs.push(FieldError::required(
                    path.child("values"),
                    "must be specified when `operator` is 'In' or 'NotIn'",
                ));
            }
        }
        "Exists" | "DoesNotExist" => {
            if !values.is_empty() {
                errs.push(FieldError::forbidden(
                    path.child("values"),
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                ));
            }
        }
        op => errs.push(FieldError::invalid(
            path.child("operator"),
            op,
            "not a valid selector operator",
        )),
    }
    errs.extend(validate_label_name(&r.key, &path.child("key")));
    if !allow_invalid_values {
        for (i, v) in values.iter().enumerate() {
            errs.extend(invalid_each(
                &path.child("values").index(i),
                v,
                is_label_value(v),
            ));
        }
    }
    errs
}

/// `ValidateLabelSelector`.
pub fn validate_label_selector(
    sel: Option<&LabelSelector>,
    allow_invalid_values: bool,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(sel) = sel else {
        return errs;
    };
    errs.extend(validate_labels(
        sel.match_labels.as_ref(),
        &path.child("matchLabels"),
    ));
    for (i, r) in sel.match_expressions.iter().flatten().enumerate() {
        errs.extend(validate_selector_requirement(
            r,
            allow_invalid_values,
            &path.child("matchExpressions").index(i),
        ));
    }
    errs
}

/// What `metav1.LabelSelectorAsSelector` makes of a selector.
#[derive(Debug, Clone, PartialEq)]
pub enum Selector<'a> {
    /// A nil selector: matches nothing.
    Nothing,
    /// An empty selector: matches everything.
    Everything,
    /// Requirements that all must hold.
    Requirements(&'a LabelSelector),
}

/// A label selector with invalid parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid label selector")]
pub struct InvalidSelector;

/// Converts a selector as `LabelSelectorAsSelector` does; `Err` when it has invalid parts.
pub fn selector_from(sel: Option<&LabelSelector>) -> Result<Selector<'_>, InvalidSelector> {
    let Some(s) = sel else {
        return Ok(Selector::Nothing);
    };
    let empty = s.match_labels.as_ref().is_none_or(BTreeMap::is_empty)
        && s.match_expressions.as_ref().is_none_or(Vec::is_empty);
    if empty {
        return Ok(Selector::Everything);
    }
    if !validate_label_selector(Some(s), false, &FieldPath::new("")).is_empty() {
        return Err(InvalidSelector);
    }
    Ok(Selector::Requirements(s))
}

impl Selector<'_> {
    /// `Selector.Empty()`: true only for the match-everything selector.
    pub fn is_empty(&self) -> bool {
        matches!(self, Selector::Everything)
    }

    /// Whether a label set matches.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Selector::Nothing => false,
            Selector::Everything => true,
            Selector::Requirements(s) => label_selector_matches(s, labels),
        }
    }
}

/// Whether `labels` satisfy a (valid) label selector.
pub fn label_selector_matches(sel: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let labels_ok = sel
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let exprs_ok = sel.match_expressions.iter().flatten().all(|r| {
        let values = r.values.as_deref().unwrap_or(&[]);
        let got = labels.get(&r.key);
        match r.operator.as_str() {
            "In" => got.is_some_and(|g| values.contains(g)),
            "NotIn" => got.is_none_or(|g| !values.contains(g)),
            "Exists" => got.is_some(),
            "DoesNotExist" => got.is_none(),
            _ => false,
        }
    });
    labels_ok && exprs_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta(v: serde_json::Value) -> ObjectMeta {
        serde_json::from_value(v).unwrap()
    }

    fn msgs(errs: Vec<FieldError>) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn create_rules() {
        let p = FieldPath::new("metadata");
        let check =
            |v, namespaced, rule| msgs(validate_object_meta(&meta(v), namespaced, rule, &p));
        assert!(
            check(
                json!({"name": "web", "namespace": "default"}),
                true,
                NameRule::DnsSubdomain
            )
            .is_empty()
        );
        assert_eq!(
            check(
                json!({"namespace": "default"}),
                true,
                NameRule::DnsSubdomain
            ),
            vec!["metadata.name: Required value: name or generateName is required"]
        );
        assert_eq!(
            check(json!({"name": "web"}), true, NameRule::DnsSubdomain),
            vec!["metadata.namespace: Required value"]
        );
        assert_eq!(
            check(
                json!({"name": "n1", "namespace": "x"}),
                false,
                NameRule::DnsSubdomain
            ),
            vec!["metadata.namespace: Forbidden: not allowed on this type"]
        );
        assert_eq!(
            check(
                json!({"name": "w", "namespace": "d", "labels": {"app": "-bad"}}),
                true,
                NameRule::DnsSubdomain
            ),
            vec![
                "metadata.labels: Invalid value: \"-bad\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
            ]
        );
        assert_eq!(
            check(
                json!({"name": "w", "namespace": "d", "finalizers": ["custom"]}),
                true,
                NameRule::DnsSubdomain
            ),
            vec![
                "metadata.finalizers[0]: Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified"
            ]
        );
        let big = "x".repeat(TOTAL_ANNOTATION_SIZE_LIMIT);
        assert_eq!(
            check(
                json!({"name": "w", "namespace": "d", "annotations": {"a": big}}),
                true,
                NameRule::DnsSubdomain
            ),
            vec!["metadata.annotations: Too long: may not be more than 262144 bytes"]
        );
        assert_eq!(
            check(
                json!({"name": "w", "namespace": "d", "ownerReferences": [
                    {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "a", "uid": "1", "controller": true},
                    {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "b", "uid": "2", "controller": true},
                    {"apiVersion": "", "kind": "", "name": "", "uid": ""}
                ]}),
                true,
                NameRule::DnsSubdomain
            ),
            vec![
                "metadata.ownerReferences: Invalid value: [{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"a\",\"uid\":\"1\",\"controller\":true},{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"b\",\"uid\":\"2\",\"controller\":true},{\"apiVersion\":\"\",\"kind\":\"\",\"name\":\"\",\"uid\":\"\"}]: Only one reference can have Controller set to true. Found \"true\" in references for ReplicaSet/a and ReplicaSet/b",
                "metadata.ownerReferences.apiVersion: Invalid value: \"\": version must not be empty",
                "metadata.ownerReferences.kind: Invalid value: \"\": must not be empty",
                "metadata.ownerReferences.name: Invalid value: \"\": must not be empty",
                "metadata.ownerReferences.uid: Invalid value: \"\": must not be empty",
            ]
        );
    }

    #[test]
    fn update_rules() {
        let p = FieldPath::new("metadata");
        let old = meta(json!({"name": "a", "namespace": "d", "uid": "1", "resourceVersion": "5"}));
        let new = meta(json!({"name": "b", "namespace": "d", "uid": "2", "resourceVersion": "5"}));
        assert_eq!(
            msgs(validate_object_meta_update(&new, &old, &p)),
            vec![
                "metadata.name: Invalid value: \"b\": field is immutable",
                "metadata.uid: Invalid value: \"2\": field is immutable",
            ]
        );
        let new = meta(json!({"name": "a", "namespace": "d", "uid": "1"}));
        assert_eq!(
            msgs(validate_object_meta_update(&new, &old, &p)),
            vec!["metadata.resourceVersion: Invalid value: \"\": must be specified for an update"]
        );
    }

    #[test]
    fn selectors() {
        let sel: LabelSelector = serde_json::from_value(json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]
        }))
        .unwrap();
        let labels = |v: serde_json::Value| -> BTreeMap<String, String> {
            serde_json::from_value(v).unwrap()
        };
        assert!(label_selector_matches(
            &sel,
            &labels(json!({"app": "web", "tier": "a"}))
        ));
        assert!(!label_selector_matches(
            &sel,
            &labels(json!({"app": "web"}))
        ));
        assert_eq!(
            selector_json(Some(&sel)),
            "{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"a\",\"b\"]}]}"
        );
        let bad: LabelSelector = serde_json::from_value(json!({
            "matchExpressions": [{"key": "k", "operator": "Foo"}, {"key": "k", "operator": "In"}]
        }))
        .unwrap();
        assert_eq!(
            msgs(validate_label_selector(
                Some(&bad),
                false,
                &FieldPath::new("spec.selector")
            )),
            vec![
                "spec.selector.matchExpressions[0].operator: Invalid value: \"Foo\": not a valid selector operator",
                "spec.selector.matchExpressions[1].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
            ]
        );
        assert_eq!(selector_from(Some(&bad)), Err(InvalidSelector));
        assert!(
            selector_from(Some(&LabelSelector::default()))
                .unwrap()
                .is_empty()
        );
        assert_eq!(selector_from(None), Ok(Selector::Nothing));
    }
}
