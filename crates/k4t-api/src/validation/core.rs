//! The smaller core/v1 kinds: Namespace, Node, ConfigMap, Secret and ServiceAccount.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Secret, ServiceAccount};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as KQuantity;
use serde_json::Value;

use super::meta::{
    validate_finalizer_name, validate_immutable, validate_kube_finalizer_name, validate_label_name,
    validate_object_meta, validate_object_meta_update,
};
use super::names::{NameRule, invalid_each, is_config_map_key, is_label_value, validate_cidr};
use super::pod::validate_taint_effect;
use super::quantity::Quantity;
use super::typed::{self, json};
use crate::error::{BadValue, FieldError, FieldPath};

/// Largest total size of a Secret's or ConfigMap's data.
pub const MAX_SECRET_SIZE: usize = 1024 * 1024;

fn decode_pair<T: serde::de::DeserializeOwned + schemars::JsonSchema>(
    new: &Value,
    old: &Value,
) -> Result<(T, T), Vec<FieldError>> {
    match (typed::decode(new), typed::decode(old)) {
        (Ok(n), Ok(o)) => Ok((n, o)),
        (Err(e), _) | (_, Err(e)) => Err(vec![e]),
    }
}

// ---- Namespace ----

fn validate_namespace(ns: &Namespace) -> Vec<FieldError> {
    let mut errs = validate_object_meta(
        &ns.metadata,
        false,
        NameRule::DnsLabel,
        &FieldPath::new("metadata"),
    );
    let path = FieldPath::new("spec").child("finalizers");
    for f in ns.spec.iter().flat_map(|s| s.finalizers.iter().flatten()) {
        errs.extend(validate_finalizer_name(f, &path));
        errs.extend(validate_kube_finalizer_name(f, &path));
    }
    errs
}

pub(crate) fn validate_namespace_create(obj: &Value) -> Vec<FieldError> {
    match typed::decode::<Namespace>(obj) {
        Ok(ns) => validate_namespace(&ns),
        Err(e) => vec![e],
    }
}

/// `ValidateNamespaceUpdate` (only metadata rules).
pub(crate) fn validate_namespace_update(new: &Value, old: &Value) -> Vec<FieldError> {
    match decode_pair::<Namespace>(new, old) {
        Ok((n, o)) => {
            validate_object_meta_update(&n.metadata, &o.metadata, &FieldPath::new("metadata"))
        }
        Err(e) => e,
    }
}

/// `ValidateNamespaceStatusUpdate`: the phase follows the deletion timestamp.
pub(crate) fn validate_namespace_status_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let (n, o) = match decode_pair::<Namespace>(new, old) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let mut errs =
        validate_object_meta_update(&n.metadata, &o.metadata, &FieldPath::new("metadata"));
    let phase = n
        .status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_default();
    let path = FieldPath::new("status").child("Phase");
    if n.metadata.deletion_timestamp.is_none() {
        if phase != "Active" {
            errs.push(FieldError::invalid(
                path,
                &phase,
                "may only be 'Active' if `deletionTimestamp` is empty",
            ));
        }
    } else if phase != "Terminating" {
        errs.push(FieldError::invalid(
            path,
            &phase,
            "may only be 'Terminating' if `deletionTimestamp` is not empty",
        ));
    }
    errs
}

/// `ValidateNamespaceFinalizeUpdate`, for the `finalize` subresource.
pub fn validate_namespace_finalize_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let (n, o) = match decode_pair::<Namespace>(new, old) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let mut errs =
        validate_object_meta_update(&n.metadata, &o.metadata, &FieldPath::new("metadata"));
    let path = FieldPath::new("spec").child("finalizers");
    for (i, f) in n
        .spec
        .iter()
        .flat_map(|s| s.finalizers.iter().flatten())
        .enumerate()
    {
        errs.extend(validate_finalizer_name(f, &path.index(i)));
        errs.extend(validate_kube_finalizer_name(f, &path.index(i)));
    }
    errs
}

// ---- Node ----

fn taint_json(key: &str, value: &str, effect: &str) -> String {
    format!(
        "{{\"Key\":{},\"Value\":{},\"Effect\":{},\"TimeAdded\":null}}",
        json(&key),
        json(&value),
        json(&effect)
    )
}

fn validate_resource_quantities(
    list: Option<&BTreeMap<String, KQuantity>>,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (k, v) in list.into_iter().flatten() {
        let p = path.child(k);
        match Quantity::parse(&v.0) {
            Err(e) => errs.push(FieldError::invalid(&p, &v.0, e)),
            Ok(q) => {
                if q.is_negative() {
                    errs.push(FieldError::invalid(
                        &p,
                        q.to_string(),
                        "must be greater than or equal to 0",
                    ));
                }
                let integer = ["pods", "services", "secrets", "configmaps"].contains(&k.as_str())
                    || (k.contains('/') && !k.contains("kubernetes.io/"));
                if integer && !q.is_integer() {
                    errs.push(FieldError::invalid(&p, q.to_string(), "must be an integer"));
                }
            }
        }
    }
    errs
}

/// `ValidateNode`.
fn validate_node(node: &Node) -> Vec<FieldError> {
    let meta_path = FieldPath::new("metadata");
    let mut errs = validate_object_meta(&node.metadata, false, NameRule::DnsSubdomain, &meta_path);
    let spec = node.spec.clone().unwrap_or_default();
    // Kubernetes reports taint problems under metadata.taints (sic).
    let taints_path = meta_path.child("taints");
    let mut unique: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (i, t) in spec.taints.iter().flatten().enumerate() {
        let p = taints_path.index(i);
        errs.extend(validate_label_name(&t.key, &p.child("key")));
        let value = t.value.as_deref().unwrap_or("");
        let msgs = is_label_value(value);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(p.child("value"), value, msgs.join(";")));
        }
        errs.extend(validate_taint_effect(&t.effect, false, &p.child("effect")));
        let keys = unique.entry(t.effect.clone()).or_default();
        if keys.contains(&t.key) {
            let mut e =
                FieldError::duplicate(&p, BadValue::Raw(taint_json(&t.key, value, &t.effect)));
            e.detail = "taints must be unique by key and effect pair".to_owned();
            errs.push(e);
            continue;
        }
        keys.insert(t.key.clone());
    }
    let status = node.status.clone().unwrap_or_default();
    errs.extend(validate_resource_quantities(
        status.capacity.as_ref(),
        &FieldPath::new("status").child("capacity"),
    ));
    errs.extend(validate_resource_quantities(
        status.allocatable.as_ref(),
        &FieldPath::new("status").child("allocatable"),
    ));
    let cidrs = spec.pod_cidrs.clone().unwrap_or_default();
    let cidr_path = FieldPath::new("spec").child("podCIDRs");
    for (i, c) in cidrs.iter().enumerate() {
        errs.extend(validate_cidr(&cidr_path.index(i), c));
    }
    if cidrs.len() > 1 {
        let v6 = cidrs.iter().filter(|c| c.contains(':')).count();
        if cidrs.len() > 2 || v6 != 1 {
            errs.push(FieldError::invalid(
                &cidr_path,
                BadValue::Raw(json(&cidrs)),
                "may specify no more than one CIDR for each IP family",
            ));
        }
        let mut seen = BTreeSet::new();
        for (i, c) in cidrs.iter().enumerate() {
            if !seen.insert(c) {
                errs.push(FieldError::duplicate(cidr_path.index(i), c));
            }
        }
    }
    errs
}

pub(crate) fn validate_node_create(obj: &Value) -> Vec<FieldError> {
    match typed::decode::<Node>(obj) {
        Ok(n) => validate_node(&n),
        Err(e) => vec![e],
    }
}

/// `ValidateNodeUpdate`: metadata, addresses, and the spec fields that are fixed once set.
fn validate_node_update_rules(n: &Node, o: &Node) -> Vec<FieldError> {
    let meta_path = FieldPath::new("metadata");
    let mut errs = validate_object_meta_update(&n.metadata, &o.metadata, &meta_path);
    let status = n.status.clone().unwrap_or_default();
    errs.extend(validate_resource_quantities(
        status.capacity.as_ref(),
        &FieldPath::new("status").child("capacity"),
    ));
    errs.extend(validate_resource_quantities(
        status.allocatable.as_ref(),
        &FieldPath::new("status").child("allocatable"),
    ));
    let mut seen = Vec::new();
    for (i, a) in status.addresses.iter().flatten().enumerate() {
        let key = (a.type_.clone(), a.address.clone());
        if seen.contains(&key) {
            errs.push(FieldError::duplicate(
                FieldPath::new("status").child("addresses").index(i),
                BadValue::Raw(format!(
                    "{{\"Type\":{},\"Address\":{}}}",
                    json(&a.type_),
                    json(&a.address)
                )),
            ));
        }
        seen.push(key);
    }
    let ns = n.spec.clone().unwrap_or_default();
    let os = o.spec.clone().unwrap_or_default();
    let old_cidrs = os.pod_cidrs.clone().unwrap_or_default();
    let new_cidrs = ns.pod_cidrs.clone().unwrap_or_default();
    if !old_cidrs.is_empty() {
        let msg = "node updates may not change podCIDR except from \"\" to valid";
        if old_cidrs.len() != new_cidrs.len() {
            errs.push(FieldError::forbidden(
                FieldPath::new("spec").child("podCIDRs"),
                msg,
            ));
        } else {
            for (a, b) in old_cidrs.iter().zip(&new_cidrs) {
                if a != b {
                    errs.push(FieldError::forbidden(
                        FieldPath::new("spec").child("podCIDRs"),
                        msg,
                    ));
                }
            }
        }
    }
    let old_provider = os.provider_id.clone().unwrap_or_default();
    if !old_provider.is_empty() && old_provider != ns.provider_id.clone().unwrap_or_default() {
        errs.push(FieldError::forbidden(
            FieldPath::new("spec").child("providerID"),
            "node updates may not change providerID except from \"\" to valid",
        ));
    }
    if ns.external_id != os.external_id {
        errs.push(FieldError::forbidden(
            FieldPath::new("spec").child("externalID"),
            "may not be updated",
        ));
    }
    errs
}

pub(crate) fn validate_node_update(new: &Value, old: &Value) -> Vec<FieldError> {
    match decode_pair::<Node>(new, old) {
        Ok((n, o)) => {
            let mut errs = validate_node(&n);
            errs.extend(validate_node_update_rules(&n, &o));
            errs
        }
        Err(e) => e,
    }
}

pub(crate) fn validate_node_status_update(new: &Value, old: &Value) -> Vec<FieldError> {
    match decode_pair::<Node>(new, old) {
        Ok((n, o)) => validate_node_update_rules(&n, &o),
        Err(e) => e,
    }
}

// ---- ConfigMap ----

fn validate_config_map(cm: &ConfigMap) -> Vec<FieldError> {
    let mut errs = validate_object_meta(
        &cm.metadata,
        true,
        NameRule::DnsSubdomain,
        &FieldPath::new("metadata"),
    );
    let mut total = 0usize;
    let binary = cm.binary_data.clone().unwrap_or_default();
    for (k, v) in cm.data.iter().flatten() {
        let p = FieldPath::new("data").key(k);
        errs.extend(invalid_each(&p, k, is_config_map_key(k)));
        if binary.contains_key(k) {
            errs.push(FieldError::invalid(
                &p,
                k,
                "duplicate of key present in binaryData",
            ));
        }
        total += v.len();
    }
    for (k, v) in &binary {
        errs.extend(invalid_each(
            &FieldPath::new("binaryData").key(k),
            k,
            is_config_map_key(k),
        ));
        total += v.0.len();
    }
    if total > MAX_SECRET_SIZE {
        errs.push(FieldError::too_long("", MAX_SECRET_SIZE));
    }
    errs
}

pub(crate) fn validate_config_map_create(obj: &Value) -> Vec<FieldError> {
    match typed::decode::<ConfigMap>(obj) {
        Ok(cm) => validate_config_map(&cm),
        Err(e) => vec![e],
    }
}

pub(crate) fn validate_config_map_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let (n, o) = match decode_pair::<ConfigMap>(new, old) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let mut errs =
        validate_object_meta_update(&n.metadata, &o.metadata, &FieldPath::new("metadata"));
    if o.immutable == Some(true) {
        let msg = "field is immutable when `immutable` is set";
        if n.immutable != Some(true) {
            errs.push(FieldError::forbidden(FieldPath::new("immutable"), msg));
        }
        if n.data.clone().unwrap_or_default() != o.data.clone().unwrap_or_default() {
            errs.push(FieldError::forbidden(FieldPath::new("data"), msg));
        }
        if n.binary_data.clone().unwrap_or_default() != o.binary_data.clone().unwrap_or_default() {
            errs.push(FieldError::forbidden(FieldPath::new("binaryData"), msg));
        }
    }
    errs.extend(validate_config_map(&n));
    errs
}

// ---- Secret ----

fn secret_data(s: &Secret) -> BTreeMap<String, ByteString> {
    let mut data = s.data.clone().unwrap_or_default();
    // stringData is write-only and wins over data, as the v1 conversion merges it.
    for (k, v) in s.string_data.iter().flatten() {
        data.insert(k.clone(), ByteString(v.clone().into_bytes()));
    }
    data
}

fn validate_secret(s: &Secret) -> Vec<FieldError> {
    let mut errs = validate_object_meta(
        &s.metadata,
        true,
        NameRule::DnsSubdomain,
        &FieldPath::new("metadata"),
    );
    let data_path = FieldPath::new("data");
    let data = secret_data(s);
    let mut total = 0usize;
    for (k, v) in &data {
        errs.extend(invalid_each(&data_path.key(k), k, is_config_map_key(k)));
        total += v.0.len();
    }
    if total > MAX_SECRET_SIZE {
        errs.push(FieldError::too_long(&data_path, MAX_SECRET_SIZE));
    }
    let valid_json = |key: &str, errs: &mut Vec<FieldError>| match data.get(key) {
        None => errs.push(FieldError::required(data_path.key(key), "")),
        Some(b) => {
            if let Err(e) = serde_json::from_slice::<serde_json::Map<String, Value>>(&b.0) {
                errs.push(FieldError::invalid(
                    data_path.key(key),
                    "<secret contents redacted>",
                    e.to_string(),
                ));
            }
        }
    };
    match s.type_.as_deref().unwrap_or("") {
        "kubernetes.io/service-account-token" => {
            let name = s
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("kubernetes.io/service-account.name"))
                .cloned()
                .unwrap_or_default();
            if name.is_empty() {
                errs.push(FieldError::required(
                    FieldPath::new("metadata")
                        .child("annotations")
                        .key("kubernetes.io/service-account.name"),
                    "",
                ));
            }
        }
        "kubernetes.io/dockercfg" => valid_json(".dockercfg", &mut errs),
        "kubernetes.io/dockerconfigjson" => valid_json(".dockerconfigjson", &mut errs),
        "kubernetes.io/basic-auth"
            if !data.contains_key("username") && !data.contains_key("password") =>
        {
            errs.push(FieldError::required(data_path.key("username"), ""));
            errs.push(FieldError::required(data_path.key("password"), ""));
        }
        "kubernetes.io/ssh-auth" if data.get("ssh-privatekey").is_none_or(|v| v.0.is_empty()) => {
            errs.push(FieldError::required(data_path.key("ssh-privatekey"), ""));
        }
        "kubernetes.io/tls" => {
            if !data.contains_key("tls.crt") {
                errs.push(FieldError::required(data_path.key("tls.crt"), ""));
            }
            if !data.contains_key("tls.key") {
                errs.push(FieldError::required(data_path.key("tls.key"), ""));
            }
        }
        _ => {}
    }
    errs
}

pub(crate) fn validate_secret_create(obj: &Value) -> Vec<FieldError> {
    match typed::decode::<Secret>(obj) {
        Ok(s) => validate_secret(&s),
        Err(e) => vec![e],
    }
}

pub(crate) fn validate_secret_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let (n, o) = match decode_pair::<Secret>(new, old) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let mut errs =
        validate_object_meta_update(&n.metadata, &o.metadata, &FieldPath::new("metadata"));
    let ty = |s: &Secret| s.type_.clone().unwrap_or_default();
    errs.extend(validate_immutable(&ty(&n), &ty(&o), FieldPath::new("type")));
    if o.immutable == Some(true) {
        let msg = "field is immutable when `immutable` is set";
        if n.immutable != Some(true) {
            errs.push(FieldError::forbidden(FieldPath::new("immutable"), msg));
        }
        if secret_data(&n) != secret_data(&o) {
            errs.push(FieldError::forbidden(FieldPath::new("data"), msg));
        }
    }
    errs.extend(validate_secret(&n));
    errs
}

// ---- ServiceAccount ----

pub(crate) fn validate_service_account_create(obj: &Value) -> Vec<FieldError> {
    match typed::decode::<ServiceAccount>(obj) {
        Ok(sa) => validate_object_meta(
            &sa.metadata,
            true,
            NameRule::DnsSubdomain,
            &FieldPath::new("metadata"),
        ),
        Err(e) => vec![e],
    }
}

pub(crate) fn validate_service_account_update(new: &Value, old: &Value) -> Vec<FieldError> {
    match decode_pair::<ServiceAccount>(new, old) {
        Ok((n, o)) => {
            let mut errs =
                validate_object_meta_update(&n.metadata, &o.metadata, &FieldPath::new("metadata"));
            errs.extend(validate_object_meta(
                &n.metadata,
                true,
                NameRule::DnsSubdomain,
                &FieldPath::new("metadata"),
            ));
            errs
        }
        Err(e) => e,
    }
}
