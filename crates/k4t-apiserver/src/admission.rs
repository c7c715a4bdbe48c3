//! Admission that needs the store: namespace lifecycle (no new content in missing or
//! terminating namespaces), Service address allocation, and PodPresets merged into new pods.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use k4t_api::error::{ApiError, FieldError};
use k4t_api::registry::{self, ResourceDef};
use k4t_store::ListOptions;
use serde_json::{Value, json};

use crate::Shared;

/// Kubernetes' NamespaceLifecycle admission for a create in `ns`.
pub(crate) fn check_namespace(
    shared: &Shared,
    def: &ResourceDef,
    ns: &str,
    name: &str,
) -> Result<(), ApiError> {
    let Some(ns_def) = registry::find("", "v1", "namespaces") else {
        return Ok(());
    };
    let Some(obj) = shared.store.get(&ns_def.key(None, ns)) else {
        return Err(ApiError::not_found("", "namespaces", ns));
    };
    let v: Value = serde_json::from_slice(&obj.value).unwrap_or(Value::Null);
    if v.pointer("/metadata/deletionTimestamp")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
    {
        return Err(ApiError::forbidden(
            def.group,
            def.plural,
            name,
            format!(
                "unable to create new content in namespace {ns} because it is being terminated"
            ),
        ));
    }
    Ok(())
}

/// The service network (k3s's default): cluster IPs come from here.
const SERVICE_NET: Ipv4Addr = Ipv4Addr::new(10, 43, 0, 0);
const SERVICE_PREFIX: u32 = 16;
const NODE_PORTS: std::ops::RangeInclusive<i64> = 30000..=32767;

fn in_service_net(ip: Ipv4Addr) -> bool {
    let mask = u32::MAX << (32 - SERVICE_PREFIX);
    u32::from(ip) & mask == u32::from(SERVICE_NET)
}

/// Every object under `prefix`, now.
async fn list_all(shared: &Shared, prefix: &str) -> Result<k4t_store::ListResult, ApiError> {
    shared
        .store
        .list(ListOptions {
            prefix,
            at: None,
            start_after: None,
            limit: None,
            filter: None,
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// What admission leaves to do once the created object is stored.
#[derive(Debug, Default)]
pub(crate) struct AfterCreate {
    /// A warning event about the new pod: PodPresets that conflict with it (none applied).
    pub preset_conflict: Option<String>,
}

/// Admission of a create that needs the rest of the store: Service cluster IPs and node
/// ports, PodPresets for pods.
pub(crate) async fn on_create(
    shared: &Shared,
    def: &ResourceDef,
    obj: &mut Value,
) -> Result<AfterCreate, ApiError> {
    match (def.group, def.kind) {
        ("", "Service") => {
            allocate_service(shared, def, obj).await?;
            Ok(AfterCreate::default())
        }
        ("", "Pod") => apply_presets(shared, obj).await,
        _ => Ok(AfterCreate::default()),
    }
}

/// The PodPreset admission of Kubernetes 1.19 (see `k4t_api::podpreset::admit`): only the
/// fields a preset can add are written back into the pod being created.
async fn apply_presets(shared: &Shared, obj: &mut Value) -> Result<AfterCreate, ApiError> {
    use k4t_api::podpreset::{Admitted, PodPreset, admit};
    let ns = k4t_api::rest::meta_str(obj, "namespace").to_owned();
    let Some(pdef) = registry::find("settings.k8s.io", "v1alpha1", "podpresets") else {
        return Ok(AfterCreate::default());
    };
    let list = list_all(shared, &pdef.prefix(Some(&ns))).await?;
    if list.items.is_empty() {
        return Ok(AfterCreate::default());
    }
    let presets: Vec<PodPreset> = list
        .items
        .iter()
        .filter_map(|o| serde_json::from_slice(&o.value).ok())
        .collect();
    let Ok(mut pod) = serde_json::from_value::<k8s_openapi::api::core::v1::Pod>(obj.clone()) else {
        return Ok(AfterCreate::default());
    };
    match admit(&mut pod, &presets) {
        Admitted::Untouched => Ok(AfterCreate::default()),
        Admitted::Conflict { presets, message } => Ok(AfterCreate {
            preset_conflict: Some(format!(
                "conflict occurred while applying podpresets: {} on pod: {}: {message}",
                presets.join(","),
                k4t_api::rest::meta_str(obj, "name")
            )),
        }),
        Admitted::Applied(_) => {
            let merged =
                serde_json::to_value(&pod).map_err(|e| ApiError::Internal(e.to_string()))?;
            if let Some(a) = merged.pointer("/metadata/annotations") {
                k4t_api::rest::meta_mut(obj).insert("annotations".into(), a.clone());
            }
            let (Some(spec), Some(new_spec)) = (obj.get_mut("spec"), merged.get("spec")) else {
                return Ok(AfterCreate::default());
            };
            if let (Some(spec), Some(v)) = (spec.as_object_mut(), new_spec.get("volumes")) {
                spec.insert("volumes".into(), v.clone());
            }
            for list in ["containers", "initContainers"] {
                let (Some(cs), Some(new_cs)) = (
                    spec.get_mut(list).and_then(Value::as_array_mut),
                    new_spec.get(list).and_then(Value::as_array),
                ) else {
                    continue;
                };
                for (c, new_c) in cs.iter_mut().zip(new_cs) {
                    let Some(c) = c.as_object_mut() else { continue };
                    for field in ["env", "envFrom", "volumeMounts"] {
                        if let Some(v) = new_c.get(field) {
                            c.insert(field.into(), v.clone());
                        }
                    }
                }
            }
            Ok(AfterCreate::default())
        }
    }
}

async fn allocate_service(
    shared: &Shared,
    def: &ResourceDef,
    obj: &mut Value,
) -> Result<(), ApiError> {
    let name = k4t_api::rest::meta_str(obj, "name").to_owned();
    let ty = obj
        .pointer("/spec/type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_owned();
    if ty == "ExternalName" {
        return Ok(());
    }
    let existing = list_all(shared, &def.prefix(None)).await?;
    let mut used_ips = HashSet::new();
    let mut used_ports = HashSet::new();
    for o in &existing.items {
        let v: Value = serde_json::from_slice(&o.value).unwrap_or(Value::Null);
        if let Some(ip) = v.pointer("/spec/clusterIP").and_then(Value::as_str) {
            used_ips.insert(ip.to_owned());
        }
        for p in v
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(np) = p.get("nodePort").and_then(Value::as_i64) {
                used_ports.insert(np);
            }
        }
    }
    let invalid = |field: &str, value: String, detail: String| {
        ApiError::invalid(
            "",
            "Service",
            &name,
            vec![FieldError::invalid(
                field,
                k4t_api::error::BadValue::Raw(value),
                detail,
            )],
        )
    };
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
        return Ok(());
    };
    let requested = spec
        .get("clusterIP")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let ip = if requested == "None" {
        "None".to_owned()
    } else if !requested.is_empty() {
        let parsed: Ipv4Addr = requested.parse().map_err(|_| {
            invalid(
                "spec.clusterIPs",
                format!("[\"{requested}\"]"),
                "must be a valid IP address".into(),
            )
        })?;
        if !in_service_net(parsed) {
            return Err(invalid(
                "spec.clusterIPs",
                format!("[\"{requested}\"]"),
                format!(
                    "failed to allocate IP {requested}: the provided IP ({requested}) is not in the valid range. The range of valid IPs is {SERVICE_NET}/{SERVICE_PREFIX}"
                ),
            ));
        }
        if used_ips.contains(&requested) {
            return Err(invalid(
                "spec.clusterIPs",
                format!("[\"{requested}\"]"),
                format!("failed to allocate IP {requested}: provided IP is already allocated"),
            ));
        }
        requested
    } else {
        let base = u32::from(SERVICE_NET);
        let size = 1u32 << (32 - SERVICE_PREFIX);
        // .0 is the network, .1 is kept for the `kubernetes` service, the last is broadcast.
        let start = 2 + rand::random::<u32>() % (size - 3);
        let found = (0..size - 3)
            .map(|i| Ipv4Addr::from(base + 2 + (start - 2 + i) % (size - 3)).to_string())
            .find(|ip| !used_ips.contains(ip));
        found.ok_or_else(|| {
            ApiError::Internal("failed to allocate a serviceIP: range is full".to_owned())
        })?
    };
    spec.insert("clusterIP".into(), json!(ip));
    spec.insert("clusterIPs".into(), json!([ip]));
    if ip != "None" || !spec.contains_key("ipFamilies") {
        spec.insert("ipFamilies".into(), json!(["IPv4"]));
    }
    spec.entry("ipFamilyPolicy")
        .or_insert_with(|| json!("SingleStack"));
    if ty == "NodePort" || ty == "LoadBalancer" {
        if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
            for p in ports {
                if p.get("nodePort")
                    .and_then(Value::as_i64)
                    .is_some_and(|n| n != 0)
                {
                    continue;
                }
                let free = NODE_PORTS
                    .clone()
                    .find(|n| !used_ports.contains(n))
                    .ok_or_else(|| {
                        ApiError::Internal(
                            "failed to allocate a nodePort: range is full".to_owned(),
                        )
                    })?;
                used_ports.insert(free);
                p["nodePort"] = json!(free);
            }
        }
        spec.entry("externalTrafficPolicy")
            .or_insert_with(|| json!("Cluster"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_net() {
        assert!(in_service_net(Ipv4Addr::new(10, 43, 7, 9)));
        assert!(!in_service_net(Ipv4Addr::new(10, 44, 0, 1)));
    }
}
