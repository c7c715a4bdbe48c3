//! Validation of the served kinds, with Kubernetes' field paths and messages.
//!
//! Each kind's rules live in a submodule and follow Kubernetes' validation functions (and the
//! order they report in), so `kubectl` prints the same `The Pod "x" is invalid: ...` text. The
//! objects arrive as JSON in the canonical v1 form and already defaulted; they are decoded into
//! the k8s-openapi types (with Go's zero values for missing required fields) before checking.
//!
//! The entry points also run the checks every object gets from the generic registry
//! (`rest.BeforeCreate` / `BeforeUpdate`): metadata with the path-segment name rule, run after
//! the kind's own rules on create and before them on update.

pub mod names;
pub mod quantity;

mod apps;
mod container;
mod core;
mod endpoints;
mod events;
mod lease;
pub mod meta;
mod pod;
mod podpreset;
mod service;
mod subresources;
mod typed;
mod volumes;

#[cfg(test)]
mod tests;

use serde_json::Value;

use crate::error::{FieldError, FieldPath};
use crate::registry::ResourceDef;
use names::NameRule;

pub use self::core::validate_namespace_finalize_update;
pub use subresources::{validate_pod_binding, validate_scale};
pub(crate) use typed::decode_tracking as typed_decode_tracking;

/// Validation of a new object (already defaulted), metadata included.
pub fn validate_create(def: &ResourceDef, obj: &Value) -> Vec<FieldError> {
    let errs = match (def.group, def.kind) {
        ("", "Pod") => pod::validate_create(obj),
        ("", "ConfigMap") => core::validate_config_map_create(obj),
        ("", "Secret") => core::validate_secret_create(obj),
        ("", "Namespace") => core::validate_namespace_create(obj),
        ("", "Node") => core::validate_node_create(obj),
        ("", "ServiceAccount") => core::validate_service_account_create(obj),
        ("", "Service") => service::validate_create(obj),
        ("", "Endpoints") => endpoints::validate_endpoints_create(obj),
        ("", "Event") => events::validate_create(obj, false),
        ("events.k8s.io", "Event") => events::validate_create(obj, true),
        ("apps", "Deployment") => apps::validate_deployment_create(obj),
        ("apps", "ReplicaSet") => apps::validate_replica_set_create(obj),
        ("coordination.k8s.io", "Lease") => lease::validate_create(obj),
        ("discovery.k8s.io", "EndpointSlice") => endpoints::validate_endpoint_slice_create(obj),
        ("settings.k8s.io", "PodPreset") => podpreset::validate_create(obj),
        _ => Vec::new(),
    };
    if !errs.is_empty() {
        return errs;
    }
    let meta = typed::meta_of(obj);
    meta::validate_object_meta_generic(
        &meta,
        def.namespaced,
        NameRule::PathSegment,
        &FieldPath::new("metadata"),
    )
}

/// The metadata checks every update gets before the kind's own rules.
fn common_update(def: &ResourceDef, new: &Value, old: &Value) -> Vec<FieldError> {
    let path = FieldPath::new("metadata");
    let (nm, om) = (typed::meta_of(new), typed::meta_of(old));
    let mut errs =
        meta::validate_object_meta_generic(&nm, def.namespaced, NameRule::PathSegment, &path);
    errs.extend(meta::validate_object_meta_update_generic(&nm, &om, &path));
    errs
}

/// Validation of an update of the main resource (already defaulted), metadata included.
pub fn validate_update(def: &ResourceDef, new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = common_update(def, new, old);
    errs.extend(match (def.group, def.kind) {
        ("", "Pod") => pod::validate_update(new, old),
        ("", "ConfigMap") => core::validate_config_map_update(new, old),
        ("", "Secret") => core::validate_secret_update(new, old),
        ("", "Namespace") => core::validate_namespace_update(new, old),
        ("", "Node") => core::validate_node_update(new, old),
        ("", "ServiceAccount") => core::validate_service_account_update(new, old),
        ("", "Service") => service::validate_update(new, old),
        ("", "Endpoints") => endpoints::validate_endpoints_update(new, old),
        ("", "Event") => events::validate_update(new, old, false),
        ("events.k8s.io", "Event") => events::validate_update(new, old, true),
        ("apps", "Deployment") => apps::validate_deployment_update(new, old),
        ("apps", "ReplicaSet") => apps::validate_replica_set_update(new, old),
        ("coordination.k8s.io", "Lease") => lease::validate_update(new, old),
        ("discovery.k8s.io", "EndpointSlice") => {
            endpoints::validate_endpoint_slice_update(new, old)
        }
        ("settings.k8s.io", "PodPreset") => podpreset::validate_update(new, old),
        _ => Vec::new(),
    });
    errs
}

/// Validation of an update through the `status` subresource.
pub fn validate_status_update(def: &ResourceDef, new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = common_update(def, new, old);
    errs.extend(match (def.group, def.kind) {
        ("", "Pod") => pod::validate_status_update(new, old),
        ("", "Namespace") => core::validate_namespace_status_update(new, old),
        ("", "Node") => core::validate_node_status_update(new, old),
        ("", "Service") => service::validate_status_update(new, old),
        ("apps", "Deployment") => apps::validate_deployment_status_update(new, old),
        ("apps", "ReplicaSet") => apps::validate_replica_set_status_update(new, old),
        _ => {
            let path = FieldPath::new("metadata");
            meta::validate_object_meta_update(&typed::meta_of(new), &typed::meta_of(old), &path)
        }
    });
    errs
}
