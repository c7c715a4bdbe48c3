//! Kubernetes' defaulting for the served kinds (what the API server fills in on create and
//! update), with Kubernetes 1.36's values.
//!
//! [`apply`] is the registered defaulting (`SetDefaults_*` and the declarative defaults), plus
//! what the default admission plugins add to pods and the v1 conversions that keep paired
//! fields in step. All of it only fills what is missing, so applying it twice is the same as
//! once, and it is safe on updates. What Kubernetes does once at creation (`PrepareForCreate`:
//! a new namespace's `kubernetes` finalizer, a new pod's Pending status) is in
//! [`prepare_for_create`]; [`apply`] also does it for objects that were never stored (no `uid`
//! and no `resourceVersion`).

mod apps;
mod core;
mod pod;

#[cfg(test)]
mod tests;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::registry::ResourceDef;
use crate::validation::typed_decode_tracking;

pub use pod::{default_pull_policy, qos_class};

/// Decodes `obj` as `T`, lets `f` change it and writes it back; leaves `obj` untouched when it
/// does not decode (validation reports that). Required fields the client left out and that
/// defaulting did not set stay left out (Go keeps them as nil pointers, e.g. a missing
/// Deployment selector, which validation must still see as missing).
fn with_typed<T>(obj: &mut Value, f: impl FnOnce(&mut T))
where
    T: DeserializeOwned + Serialize + schemars::JsonSchema,
{
    let Ok((mut typed, filled)) = typed_decode_tracking::<T>(obj) else {
        return;
    };
    f(&mut typed);
    let Ok(mut out) = serde_json::to_value(&typed) else {
        return;
    };
    // Deepest first, so parents are judged after their children went.
    for (pointer, zero) in filled.iter().rev() {
        if out.pointer(pointer) == Some(zero)
            && let Some((parent, key)) = pointer.rsplit_once('/')
            && let Some(Value::Object(o)) = out.pointer_mut(parent)
        {
            o.remove(&key.replace("~1", "/").replace("~0", "~"));
        }
    }
    *obj = out;
}

/// Whether the object has never been stored (the API server gives every stored object a uid
/// and a resourceVersion).
fn is_new(obj: &Value) -> bool {
    let meta = obj.get("metadata");
    let empty = |k: &str| {
        meta.and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    };
    empty("uid") && empty("resourceVersion")
}

/// Fills in defaults, in place.
pub fn apply(def: &ResourceDef, obj: &mut Value) {
    match (def.group, def.kind) {
        ("", "Pod") => with_typed(obj, |p: &mut k8s_openapi::api::core::v1::Pod| {
            pod::default_pod(p);
            pod::admission_defaults(p);
        }),
        ("", "Service") => with_typed(obj, core::default_service),
        ("", "Namespace") => with_typed(obj, core::default_namespace),
        ("", "Node") => with_typed(obj, core::default_node),
        ("", "Secret") => with_typed(obj, core::default_secret),
        ("", "Endpoints") => with_typed(obj, core::default_endpoints),
        ("apps", "Deployment") => with_typed(obj, apps::default_deployment),
        ("apps", "ReplicaSet") => with_typed(obj, apps::default_replica_set),
        ("discovery.k8s.io", "EndpointSlice") => with_typed(obj, core::default_endpoint_slice),
        ("settings.k8s.io", "PodPreset") => {
            with_typed(obj, |p: &mut crate::podpreset::PodPreset| {
                if let Some(spec) = &mut p.spec {
                    for v in spec.volumes.iter_mut().flatten() {
                        pod::default_volume(v);
                    }
                    for e in spec.env.iter_mut().flatten() {
                        if let Some(fr) = e.value_from.as_mut().and_then(|v| v.field_ref.as_mut())
                            && fr.api_version.as_deref().unwrap_or("").is_empty()
                        {
                            fr.api_version = Some("v1".to_owned());
                        }
                    }
                }
            })
        }
        _ => {}
    }
    if is_new(obj) {
        prepare_for_create(def, obj);
    }
}

/// What Kubernetes sets once when an object is created: the `kubernetes` finalizer and Active
/// phase of a namespace, and a pod's initial status (phase Pending and its QoS class).
pub fn prepare_for_create(def: &ResourceDef, obj: &mut Value) {
    match (def.group, def.kind) {
        ("", "Namespace") => with_typed(obj, core::prepare_namespace_for_create),
        ("", "Pod") => with_typed(obj, |p: &mut k8s_openapi::api::core::v1::Pod| {
            let qos = p.spec.as_ref().map_or("BestEffort", qos_class).to_owned();
            let status = p.status.get_or_insert_with(Default::default);
            if status.phase.as_deref().unwrap_or("").is_empty() {
                status.phase = Some("Pending".to_owned());
            }
            if status.qos_class.as_deref().unwrap_or("").is_empty() {
                status.qos_class = Some(qos);
            }
        }),
        _ => {}
    }
}

/// What the service registry does to an updated Service before validating it: values the
/// client left out but that were allocated (clusterIP, clusterIPs, nodePorts,
/// healthCheckNodePort) are kept from `old` (`patchAllocatedValues`), then `clusterIP` and
/// `clusterIPs` are reconciled ([`normalize_service_cluster_ips`]).
pub fn prepare_service_update(new: &mut Value, old: &Value) {
    let (Ok((mut n, _)), Ok((o, _))) = (
        typed_decode_tracking::<k8s_openapi::api::core::v1::Service>(new),
        typed_decode_tracking::<k8s_openapi::api::core::v1::Service>(old),
    ) else {
        return;
    };
    core::patch_allocated_values(&mut n, &o);
    if let Ok(v) = serde_json::to_value(&n) {
        *new = v;
    }
    normalize_service_cluster_ips(new, old);
}

/// Keeps a Service's `clusterIP` and `clusterIPs` consistent on update, as the service
/// registry does before validating (`NormalizeClusterIPs`): an old client that sends only
/// `clusterIP` keeps its `clusterIPs`, and clearing `clusterIP` clears the unchanged list.
pub fn normalize_service_cluster_ips(new: &mut Value, old: &Value) {
    let get = |v: &Value, k: &str| v.get("spec").and_then(|s| s.get(k)).cloned();
    let str_of = |v: Option<Value>| {
        v.and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let list_of = |v: Option<Value>| -> Vec<String> {
        v.and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default()
    };
    let (old_ip, old_ips) = (
        str_of(get(old, "clusterIP")),
        list_of(get(old, "clusterIPs")),
    );
    let (new_ip, mut new_ips) = (
        str_of(get(new, "clusterIP")),
        list_of(get(new, "clusterIPs")),
    );
    if !old_ips.is_empty() && new_ips.is_empty() && old_ip == new_ip {
        new_ips = old_ips.clone();
    }
    if old_ip != new_ip {
        if !old_ip.is_empty() && new_ip.is_empty() {
            if new_ips == old_ips {
                new_ips.clear();
            }
        } else if new_ips == old_ips {
            new_ips = vec![new_ip];
        }
    }
    if let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) {
        if new_ips.is_empty() {
            spec.remove("clusterIPs");
        } else {
            spec.insert("clusterIPs".to_owned(), serde_json::json!(new_ips));
        }
    }
}
