//! Containers: names, images, ports, env, resources, probes, lifecycle hooks and security
//! contexts (`validateContainers`, `validateInitContainers`, `validateContainerCommon`).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvFromSource, EnvVar, HTTPGetAction, Lifecycle, LifecycleHandler,
    Probe, ResourceRequirements, SecurityContext,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as KQuantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::names::{
    NameRule, invalid_each, is_config_map_key, is_env_var_name, is_http_header_name,
    is_qualified_name, is_valid_id, is_valid_port_name, is_valid_port_num, validate_dns1123_label,
    validate_port_num_or_name,
};
use super::quantity::Quantity;
use super::volumes::{
    VolumeMap, validate_object_field_selector, validate_pull_policy,
    validate_resource_field_selector, validate_volume_devices, validate_volume_mounts,
};
use crate::error::{BadValue, FieldError, FieldPath};

/// What the container checks need from the pod around them.
pub(crate) struct ContainerCtx<'a> {
    pub volumes: &'a VolumeMap<'a>,
    pub grace_period: Option<i64>,
    pub pod_restart_policy: &'a str,
    pub host_users: bool,
    pub claim_names: &'a BTreeSet<String>,
}

const ENV_FIELD_PATHS: [&str; 9] = [
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

/// `validateContainers` for `spec.containers`.
pub(crate) fn validate_containers(
    containers: &[Container],
    ctx: &ContainerCtx<'_>,
    path: &FieldPath,
) -> Vec<FieldError> {
    if containers.is_empty() {
        return vec![FieldError::required(path, "")];
    }
    let mut errs = Vec::new();
    let mut names: BTreeSet<&str> = BTreeSet::new();
    for (i, c) in containers.iter().enumerate() {
        let p = path.index(i);
        errs.extend(validate_container_common(c, ctx, &p));
        if !names.insert(&c.name) {
            errs.push(FieldError::duplicate(p.child("name"), &c.name));
        }
        if let Some(l) = &c.lifecycle {
            errs.extend(validate_lifecycle(
                l,
                ctx.grace_period,
                &p.child("lifecycle"),
            ));
        }
        errs.extend(validate_probe_kind(
            c.liveness_probe.as_ref(),
            ProbeKind::Liveness,
            ctx,
            &p.child("livenessProbe"),
        ));
        errs.extend(validate_probe_kind(
            c.readiness_probe.as_ref(),
            ProbeKind::Readiness,
            ctx,
            &p.child("readinessProbe"),
        ));
        errs.extend(validate_probe_kind(
            c.startup_probe.as_ref(),
            ProbeKind::Startup,
            ctx,
            &p.child("startupProbe"),
        ));
        if c.restart_policy.is_some() {
            errs.push(FieldError::forbidden(
                p.child("restartPolicy"),
                "may not be set for non-init containers",
            ));
        }
    }
    errs.extend(check_host_port_conflicts(
        containers.iter().enumerate(),
        path,
    ));
    errs
}

/// `validateInitContainers`.
pub(crate) fn validate_init_containers(
    inits: &[Container],
    regular: &[Container],
    ctx: &ContainerCtx<'_>,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut names: BTreeSet<&str> = regular.iter().map(|c| c.name.as_str()).collect();
    for (i, c) in inits.iter().enumerate() {
        let p = path.index(i);
        errs.extend(validate_container_common(c, ctx, &p));
        let mut restart_always = false;
        if let Some(rp) = &c.restart_policy {
            if rp != "Always" {
                errs.push(FieldError::not_supported(
                    p.child("restartPolicy"),
                    rp,
                    &["Always"],
                ));
            }
            restart_always = rp == "Always";
        }
        if names.contains(c.name.as_str()) {
            errs.push(FieldError::duplicate(p.child("name"), &c.name));
        } else if !c.name.is_empty() {
            names.insert(&c.name);
        }
        errs.extend(check_host_port_conflicts(std::iter::once((i, c)), path));
        if restart_always {
            if let Some(l) = &c.lifecycle {
                errs.extend(validate_lifecycle(
                    l,
                    ctx.grace_period,
                    &p.child("lifecycle"),
                ));
            }
            errs.extend(validate_probe_kind(
                c.liveness_probe.as_ref(),
                ProbeKind::Liveness,
                ctx,
                &p.child("livenessProbe"),
            ));
            errs.extend(validate_probe_kind(
                c.readiness_probe.as_ref(),
                ProbeKind::Readiness,
                ctx,
                &p.child("readinessProbe"),
            ));
            errs.extend(validate_probe_kind(
                c.startup_probe.as_ref(),
                ProbeKind::Startup,
                ctx,
                &p.child("startupProbe"),
            ));
        } else {
            let msg = "may not be set for init containers without restartPolicy=Always";
            if c.lifecycle.is_some() {
                errs.push(FieldError::forbidden(p.child("lifecycle"), msg));
            }
            if c.liveness_probe.is_some() {
                errs.push(FieldError::forbidden(p.child("livenessProbe"), msg));
            }
            if c.readiness_probe.is_some() {
                errs.push(FieldError::forbidden(p.child("readinessProbe"), msg));
            }
            if c.startup_probe.is_some() {
                errs.push(FieldError::forbidden(p.child("startupProbe"), msg));
            }
        }
    }
    errs
}

fn check_host_port_conflicts<'a>(
    containers: impl Iterator<Item = (usize, &'a Container)>,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut errs = Vec::new();
    for (ci, c) in containers {
        for (pi, port) in c.ports.iter().flatten().enumerate() {
            let hp = port.host_port.unwrap_or(0);
            if hp == 0 {
                continue;
            }
            let key = format!(
                "{}/{}/{hp}",
                port.protocol.as_deref().unwrap_or(""),
                port.host_ip.as_deref().unwrap_or("")
            );
            if !seen.insert(key.clone()) {
                errs.push(FieldError::duplicate(
                    path.index(ci).child("ports").index(pi).child("hostPort"),
                    key,
                ));
            }
        }
    }
    errs
}

/// `validateContainerCommon`: what regular, init and ephemeral containers share.
pub(crate) fn validate_container_common(
    c: &Container,
    ctx: &ContainerCtx<'_>,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name_path = path.child("name");
    if c.name.is_empty() {
        errs.push(FieldError::required(&name_path, ""));
    } else {
        errs.extend(validate_dns1123_label(&c.name, &name_path));
    }
    if c.image.as_deref().unwrap_or("").is_empty() {
        errs.push(FieldError::required(path.child("image"), ""));
    }
    match c.termination_message_policy.as_deref().unwrap_or("") {
        "File" | "FallbackToLogsOnError" => {}
        "" => errs.push(FieldError::required(
            path.child("terminationMessagePolicy"),
            "",
        )),
        other => errs.push(FieldError::not_supported(
            path.child("terminationMessagePolicy"),
            other,
            &["File", "FallbackToLogsOnError"],
        )),
    }
    let mounts = c.volume_mounts.as_deref().unwrap_or(&[]);
    let devices = c.volume_devices.as_deref().unwrap_or(&[]);
    errs.extend(validate_container_ports(
        c.ports.as_deref().unwrap_or(&[]),
        &path.child("ports"),
    ));
    errs.extend(validate_env(
        c.env.as_deref().unwrap_or(&[]),
        &path.child("env"),
    ));
    errs.extend(validate_env_from(
        c.env_from.as_deref().unwrap_or(&[]),
        &path.child("envFrom"),
    ));
    errs.extend(validate_volume_mounts(
        mounts,
        devices,
        ctx.volumes,
        Some(c),
        &path.child("volumeMounts"),
    ));
    errs.extend(validate_volume_devices(
        devices,
        mounts,
        ctx.volumes,
        &path.child("volumeDevices"),
    ));
    errs.extend(validate_pull_policy(
        c.image_pull_policy.as_deref().unwrap_or(""),
        &path.child("imagePullPolicy"),
    ));
    errs.extend(validate_resource_requirements(
        c.resources.as_ref(),
        ctx.claim_names,
        &path.child("resources"),
        ResourceScope::Container,
    ));
    errs.extend(validate_resize_policy(
        c,
        ctx.pod_restart_policy,
        &path.child("resizePolicy"),
    ));
    errs.extend(validate_security_context(
        c.security_context.as_ref(),
        &path.child("securityContext"),
        ctx.host_users,
    ));
    errs
}

fn validate_container_ports(ports: &[ContainerPort], path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut names: BTreeSet<&str> = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let p = path.index(i);
        if let Some(name) = port.name.as_deref().filter(|n| !n.is_empty()) {
            let msgs = is_valid_port_name(name);
            if !msgs.is_empty() {
                errs.extend(invalid_each(&p.child("name"), name, msgs));
            } else if !names.insert(name) {
                errs.push(FieldError::duplicate(p.child("name"), name));
            }
        }
        if port.container_port == 0 {
            errs.push(FieldError::required(p.child("containerPort"), ""));
        } else {
            for m in is_valid_port_num(i64::from(port.container_port)) {
                errs.push(FieldError::invalid(
                    p.child("containerPort"),
                    port.container_port,
                    m,
                ));
            }
        }
        if let Some(hp) = port.host_port.filter(|h| *h != 0) {
            for m in is_valid_port_num(i64::from(hp)) {
                errs.push(FieldError::invalid(p.child("hostPort"), hp, m));
            }
        }
        errs.extend(validate_protocol(
            port.protocol.as_deref().unwrap_or(""),
            &p.child("protocol"),
        ));
    }
    errs
}

/// TCP, UDP or SCTP.
pub(crate) fn validate_protocol(protocol: &str, path: &FieldPath) -> Vec<FieldError> {
    match protocol {
        "" => vec![FieldError::required(path, "")],
        "TCP" | "UDP" | "SCTP" => Vec::new(),
        other => vec![FieldError::not_supported(
            path,
            other,
            &["SCTP", "TCP", "UDP"],
        )],
    }
}

/// `ValidateEnv`.
pub(crate) fn validate_env(vars: &[EnvVar], path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, ev) in vars.iter().enumerate() {
        let p = path.index(i);
        if ev.name.is_empty() {
            errs.push(FieldError::required(p.child("name"), ""));
        } else {
            errs.extend(invalid_each(
                &p.child("name"),
                &ev.name,
                is_env_var_name(&ev.name),
            ));
        }
        errs.extend(validate_env_value_from(ev, &p.child("valueFrom")));
    }
    errs
}

fn validate_key_selector(name: &str, key: &str, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = invalid_each(
        &path.child("name"),
        name,
        NameRule::DnsSubdomain.check(name, false),
    );
    if key.is_empty() {
        errs.push(FieldError::required(path.child("key"), ""));
    } else {
        errs.extend(invalid_each(
            &path.child("key"),
            key,
            is_config_map_key(key),
        ));
    }
    errs
}

fn validate_env_value_from(ev: &EnvVar, path: &FieldPath) -> Vec<FieldError> {
    let Some(vf) = &ev.value_from else {
        return Vec::new();
    };
    let mut errs = Vec::new();
    let mut n = 0;
    if let Some(fr) = &vf.field_ref {
        n += 1;
        errs.extend(validate_object_field_selector(
            fr,
            &ENV_FIELD_PATHS,
            &path.child("fieldRef"),
        ));
    }
    if let Some(rf) = &vf.resource_field_ref {
        n += 1;
        errs.extend(validate_resource_field_selector(
            rf,
            &path.child("resourceFieldRef"),
            false,
        ));
    }
    if let Some(cm) = &vf.config_map_key_ref {
        n += 1;
        errs.extend(validate_key_selector(
            &cm.name,
            &cm.key,
            &path.child("configMapKeyRef"),
        ));
    }
    if let Some(s) = &vf.secret_key_ref {
        n += 1;
        errs.extend(validate_key_selector(
            &s.name,
            &s.key,
            &path.child("secretKeyRef"),
        ));
    }
    if vf.file_key_ref.is_some() {
        n += 1;
    }
    if n == 0 {
        errs.push(FieldError::invalid(
            path,
            "",
            "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
        ));
    } else if !ev.value.as_deref().unwrap_or("").is_empty() {
        errs.push(FieldError::invalid(
            path,
            "",
            "may not be specified when `value` is not empty",
        ));
    } else if n > 1 {
        errs.push(FieldError::invalid(
            path,
            "",
            "may not have more than one field specified at a time",
        ));
    }
    errs
}

/// `ValidateEnvFrom`.
pub(crate) fn validate_env_from(sources: &[EnvFromSource], path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, ef) in sources.iter().enumerate() {
        let p = path.index(i);
        if let Some(prefix) = ef.prefix.as_deref().filter(|s| !s.is_empty()) {
            errs.extend(invalid_each(
                &p.child("prefix"),
                prefix,
                is_env_var_name(prefix),
            ));
        }
        let mut n = 0;
        if let Some(cm) = &ef.config_map_ref {
            n += 1;
            errs.extend(validate_env_source_name(&cm.name, &p.child("configMapRef")));
        }
        if let Some(s) = &ef.secret_ref {
            n += 1;
            errs.extend(validate_env_source_name(&s.name, &p.child("secretRef")));
        }
        if n == 0 {
            errs.push(FieldError::invalid(
                path,
                "",
                "must specify one of: `configMapRef` or `secretRef`",
            ));
        } else if n > 1 {
            errs.push(FieldError::invalid(
                path,
                "",
                "may not have more than one field specified at a time",
            ));
        }
    }
    errs
}

fn validate_env_source_name(name: &str, path: &FieldPath) -> Vec<FieldError> {
    if name.is_empty() {
        vec![FieldError::required(path.child("name"), "")]
    } else {
        invalid_each(
            &path.child("name"),
            name,
            NameRule::DnsSubdomain.check(name, true),
        )
    }
}

/// Whether resource lists are checked for a container or for the whole pod.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResourceScope {
    Container,
    Pod,
}

const STANDARD_RESOURCES: [&str; 19] = [
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "resourcequotas",
    "services",
    "replicationcontrollers",
    "secrets",
    "persistentvolumeclaims",
    "configmaps",
    "services.nodeports",
    "services.loadbalancers",
    "requests.storage",
];

fn is_hugepages(name: &str) -> bool {
    name.starts_with("hugepages-")
}

fn is_native_resource(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

fn is_overcommit_allowed(name: &str) -> bool {
    is_native_resource(name) && !is_hugepages(name)
}

fn is_extended_resource_name(name: &str) -> bool {
    if is_native_resource(name) || name.starts_with("requests.") {
        return false;
    }
    is_qualified_name(&format!("requests.{name}")).is_empty()
}

fn is_integer_resource(name: &str) -> bool {
    [
        "pods",
        "services",
        "replicationcontrollers",
        "resourcequotas",
        "secrets",
        "configmaps",
        "persistentvolumeclaims",
        "services.nodeports",
        "services.loadbalancers",
    ]
    .contains(&name)
        || is_extended_resource_name(name)
}

fn validate_resource_name(name: &str, path: &FieldPath, scope: ResourceScope) -> Vec<FieldError> {
    let mut errs = invalid_each(path, name, is_qualified_name(name));
    if !errs.is_empty() {
        return errs;
    }
    let unprefixed = !name.contains('/');
    if unprefixed
        && !STANDARD_RESOURCES.contains(&name)
        && !is_hugepages(name)
        && !name.starts_with("requests.hugepages-")
    {
        errs.push(FieldError::invalid(
            path,
            name,
            "must be a standard resource type or fully qualified",
        ));
        if scope == ResourceScope::Pod {
            return errs;
        }
    }
    match scope {
        ResourceScope::Container => {
            if unprefixed {
                if !["cpu", "memory", "ephemeral-storage"].contains(&name) && !is_hugepages(name) {
                    errs.push(FieldError::invalid(
                        path,
                        name,
                        "must be a standard resource for containers",
                    ));
                }
            } else if !is_native_resource(name) && !is_extended_resource_name(name) {
                errs.push(FieldError::invalid(
                    path,
                    name,
                    "doesn't follow extended resource name standard",
                ));
            }
        }
        ResourceScope::Pod => {
            if !["cpu", "memory"].contains(&name) && !is_hugepages(name) {
                errs.push(FieldError::not_supported(path, name, &["cpu", "memory"]));
            }
        }
    }
    errs
}

fn validate_quantity_value(
    name: &str,
    q: &KQuantity,
    path: &FieldPath,
) -> (Option<Quantity>, Vec<FieldError>) {
    match Quantity::parse(&q.0) {
        Err(e) => (None, vec![FieldError::invalid(path, &q.0, e)]),
        Ok(v) => {
            let mut errs = Vec::new();
            if v.is_negative() {
                errs.push(FieldError::invalid(
                    path,
                    v.to_string(),
                    "must be greater than or equal to 0",
                ));
            }
            if is_integer_resource(name) && v.milli_value() % 1000 != 0 {
                errs.push(FieldError::invalid(
                    path,
                    v.to_string(),
                    "must be an integer",
                ));
            }
            (Some(v), errs)
        }
    }
}

/// `validateResourceRequirements`: names, quantities, requests ≤ limits, claims.
pub(crate) fn validate_resource_requirements(
    req: Option<&ResourceRequirements>,
    claim_names: &BTreeSet<String>,
    path: &FieldPath,
    scope: ResourceScope,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(req) = req else {
        return errs;
    };
    let empty = BTreeMap::new();
    let limits = req.limits.as_ref().unwrap_or(&empty);
    let requests = req.requests.as_ref().unwrap_or(&empty);
    let lim_path = path.child("limits");
    let req_path = path.child("requests");
    let (mut lim_cpu_mem, mut req_cpu_mem, mut lim_huge, mut req_huge) =
        (false, false, false, false);
    let mut parsed_limits: BTreeMap<&str, Quantity> = BTreeMap::new();
    for (name, q) in limits {
        let p = lim_path.key(name);
        errs.extend(validate_resource_name(name, &p, scope));
        let (v, e) = validate_quantity_value(name, q, &p);
        errs.extend(e);
        if let Some(v) = v {
            parsed_limits.insert(name, v);
        }
        lim_huge |= is_hugepages(name);
        lim_cpu_mem |= name == "cpu" || name == "memory";
    }
    for (name, q) in requests {
        let p = req_path.key(name);
        errs.extend(validate_resource_name(name, &p, scope));
        let (v, e) = validate_quantity_value(name, q, &p);
        errs.extend(e);
        match (v, parsed_limits.get(name.as_str())) {
            (Some(v), Some(lim)) => {
                let ord = v.cmp_value(lim);
                if ord != std::cmp::Ordering::Equal && !is_overcommit_allowed(name) {
                    errs.push(FieldError::invalid(
                        &req_path,
                        v.to_string(),
                        format!("must be equal to {name} limit of {lim}"),
                    ));
                } else if ord == std::cmp::Ordering::Greater {
                    errs.push(FieldError::invalid(
                        &req_path,
                        v.to_string(),
                        format!("must be less than or equal to {name} limit of {lim}"),
                    ));
                }
            }
            (_, None) if !limits.contains_key(name) && !is_overcommit_allowed(name) => {
                errs.push(FieldError::required(
                    &lim_path,
                    "Limit must be set for non overcommitable resources",
                ));
            }
            _ => {}
        }
        req_huge |= is_hugepages(name);
        req_cpu_mem |= name == "cpu" || name == "memory";
    }
    if !lim_cpu_mem && !req_cpu_mem && (lim_huge || req_huge) {
        errs.push(FieldError::forbidden(
            path,
            "HugePages require cpu or memory",
        ));
    }
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for (i, claim) in req.claims.iter().flatten().enumerate() {
        let p = path.child("claims").index(i);
        if claim.name.is_empty() {
            errs.push(FieldError::required(&p, ""));
            continue;
        }
        let request = claim.request.as_deref().unwrap_or("");
        if seen.contains(&claim.name) {
            errs.push(FieldError::duplicate(&p, &claim.name));
        } else {
            let mut key = claim.name.clone();
            if !request.is_empty() {
                errs.extend(validate_dns1123_label(request, &p.child("request")));
                key = format!("{}/{request}", claim.name);
            }
            if seen.contains(&key) {
                errs.push(FieldError::duplicate(&p, &key));
            }
            seen.insert(key);
        }
        if !claim_names.contains(&claim.name) {
            let detail = if claim_names.is_empty() {
                "must be one of the names in pod.spec.resourceClaims which is empty".to_owned()
            } else {
                let names: Vec<&str> = claim_names.iter().map(String::as_str).collect();
                format!(
                    "must be one of the names in pod.spec.resourceClaims: {}",
                    names.join(", ")
                )
            };
            let mut e = FieldError::not_found(&p, &claim.name);
            e.detail = detail;
            errs.push(e);
        }
    }
    errs
}

fn validate_resize_policy(
    c: &Container,
    pod_restart_policy: &str,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for (i, p) in c.resize_policy.iter().flatten().enumerate() {
        if !seen.insert(&p.resource_name) {
            errs.push(FieldError::duplicate(path.index(i), &p.resource_name));
        }
        match p.resource_name.as_str() {
            "cpu" | "memory" => {}
            "" => errs.push(FieldError::required(path, "")),
            other => errs.push(FieldError::not_supported(path, other, &["cpu", "memory"])),
        }
        match p.restart_policy.as_str() {
            "NotRequired" | "RestartContainer" => {}
            "" => errs.push(FieldError::required(path, "")),
            other => errs.push(FieldError::not_supported(
                path,
                other,
                &["NotRequired", "RestartContainer"],
            )),
        }
        if pod_restart_policy == "Never" && p.restart_policy != "NotRequired" {
            errs.push(FieldError::invalid(
                path,
                &p.restart_policy,
                "must be 'NotRequired' when `restartPolicy` is 'Never'",
            ));
        }
    }
    errs
}

/// The seccomp profile checks shared by pod and container security contexts.
pub(crate) fn validate_seccomp_profile(
    sp: Option<&k8s_openapi::api::core::v1::SeccompProfile>,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(sp) = sp else {
        return errs;
    };
    match sp.type_.as_str() {
        "Localhost" | "RuntimeDefault" | "Unconfined" => {}
        "" => errs.push(FieldError::required(
            path.child("type"),
            "type is required when seccompProfile is set",
        )),
        other => errs.push(FieldError::not_supported(
            path.child("type"),
            other,
            &["Localhost", "RuntimeDefault", "Unconfined"],
        )),
    }
    if sp.type_ == "Localhost" {
        match &sp.localhost_profile {
            None => errs.push(FieldError::required(
                path.child("localhostProfile"),
                "must be set when seccomp type is Localhost",
            )),
            Some(p) => errs.extend(super::volumes::validate_local_descending_path(
                p,
                &path.child("localhostProfile"),
            )),
        }
    } else if sp.localhost_profile.is_some() {
        errs.push(FieldError::invalid(
            path.child("localhostProfile"),
            BadValue::Raw(super::typed::json(sp)),
            "can only be set when seccomp type is Localhost",
        ));
    }
    errs
}

/// The AppArmor profile checks shared by pod and container security contexts.
pub(crate) fn validate_apparmor_profile(
    p: Option<&k8s_openapi::api::core::v1::AppArmorProfile>,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(p) = p else {
        return errs;
    };
    match p.type_.as_str() {
        "Localhost" => match &p.localhost_profile {
            None => errs.push(FieldError::required(
                path.child("localhostProfile"),
                "must be set when AppArmor type is Localhost",
            )),
            Some(lp) => {
                if lp.trim() != lp {
                    errs.push(FieldError::invalid(
                        path.child("localhostProfile"),
                        lp,
                        "must not be padded with whitespace",
                    ));
                } else if lp.is_empty() {
                    errs.push(FieldError::required(
                        path.child("localhostProfile"),
                        "must be set when AppArmor type is Localhost",
                    ));
                }
                if lp.len() > 4095 {
                    errs.push(FieldError::too_long(path.child("localhostProfile"), 4095));
                }
            }
        },
        "RuntimeDefault" | "Unconfined" => {
            if let Some(lp) = &p.localhost_profile {
                errs.push(FieldError::invalid(
                    path.child("localhostProfile"),
                    lp,
                    "can only be set when AppArmor type is Localhost",
                ));
            }
        }
        "" => errs.push(FieldError::required(
            path.child("type"),
            "type is required when appArmorProfile is set",
        )),
        other => errs.push(FieldError::not_supported(
            path.child("type"),
            other,
            &["Localhost", "RuntimeDefault", "Unconfined"],
        )),
    }
    errs
}

/// `ValidateSecurityContext` for a container.
fn validate_security_context(
    sc: Option<&SecurityContext>,
    path: &FieldPath,
    host_users: bool,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(sc) = sc else {
        return errs;
    };
    if let Some(uid) = sc.run_as_user {
        errs.extend(
            is_valid_id(uid)
                .into_iter()
                .map(|m| FieldError::invalid(path.child("runAsUser"), uid, m)),
        );
    }
    if let Some(gid) = sc.run_as_group {
        errs.extend(
            is_valid_id(gid)
                .into_iter()
                .map(|m| FieldError::invalid(path.child("runAsGroup"), gid, m)),
        );
    }
    if let Some(pm) = &sc.proc_mount {
        if pm != "Default" && pm != "Unmasked" {
            errs.push(FieldError::not_supported(
                path.child("procMount"),
                pm,
                &["Default", "Unmasked"],
            ));
        }
        if host_users && pm == "Unmasked" {
            errs.push(FieldError::invalid(
                path.child("procMount"),
                pm,
                "`hostUsers` must be false to use `Unmasked`",
            ));
        }
    }
    errs.extend(validate_seccomp_profile(
        sc.seccomp_profile.as_ref(),
        &path.child("seccompProfile"),
    ));
    if sc.allow_privilege_escalation == Some(false) {
        let raw = || BadValue::Raw(super::typed::json(sc));
        if sc.privileged == Some(true) {
            errs.push(FieldError::invalid(
                path,
                raw(),
                "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
            ));
        }
        let adds_sys_admin = sc
            .capabilities
            .as_ref()
            .and_then(|c| c.add.as_ref())
            .is_some_and(|a| a.iter().any(|c| c == "CAP_SYS_ADMIN"));
        if adds_sys_admin {
            errs.push(FieldError::invalid(
                path,
                raw(),
                "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
            ));
        }
    }
    errs.extend(validate_apparmor_profile(
        sc.app_armor_profile.as_ref(),
        &path.child("appArmorProfile"),
    ));
    errs
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ProbeKind {
    Liveness,
    Readiness,
    Startup,
}

fn validate_probe_kind(
    probe: Option<&Probe>,
    kind: ProbeKind,
    ctx: &ContainerCtx<'_>,
    path: &FieldPath,
) -> Vec<FieldError> {
    let Some(probe) = probe else {
        return Vec::new();
    };
    let mut errs = validate_probe(probe, ctx.grace_period, path);
    let success = probe.success_threshold.unwrap_or(0);
    match kind {
        ProbeKind::Liveness | ProbeKind::Startup if success != 1 => {
            errs.push(FieldError::invalid(
                path.child("successThreshold"),
                success,
                "must be 1",
            ));
        }
        ProbeKind::Readiness => {
            if let Some(t) = probe.termination_grace_period_seconds {
                errs.push(FieldError::invalid(
                    path.child("terminationGracePeriodSeconds"),
                    t,
                    "must not be set for readinessProbes",
                ));
            }
        }
        _ => {}
    }
    errs
}

fn nonnegative(v: i32, path: FieldPath) -> Option<FieldError> {
    (v < 0).then(|| FieldError::invalid(path, v, "must be greater than or equal to 0"))
}

fn validate_probe(probe: &Probe, grace: Option<i64>, path: &FieldPath) -> Vec<FieldError> {
    let handler = Handler {
        exec: probe
            .exec
            .as_ref()
            .map(|e| e.command.as_deref().unwrap_or(&[]).is_empty()),
        http_get: probe.http_get.as_ref(),
        tcp_socket: probe.tcp_socket.as_ref().map(|t| &t.port),
        grpc: probe.grpc.as_ref().map(|g| g.port),
        sleep: None,
    };
    let mut errs = validate_handler(&handler, grace, path);
    errs.extend(nonnegative(
        probe.initial_delay_seconds.unwrap_or(0),
        path.child("initialDelaySeconds"),
    ));
    errs.extend(nonnegative(
        probe.timeout_seconds.unwrap_or(0),
        path.child("timeoutSeconds"),
    ));
    errs.extend(nonnegative(
        probe.period_seconds.unwrap_or(0),
        path.child("periodSeconds"),
    ));
    errs.extend(nonnegative(
        probe.success_threshold.unwrap_or(0),
        path.child("successThreshold"),
    ));
    errs.extend(nonnegative(
        probe.failure_threshold.unwrap_or(0),
        path.child("failureThreshold"),
    ));
    if let Some(t) = probe.termination_grace_period_seconds.filter(|t| *t <= 0) {
        errs.push(FieldError::invalid(
            path.child("terminationGracePeriodSeconds"),
            t,
            "must be greater than 0",
        ));
    }
    errs
}

/// The handler of a probe or hook; `exec` holds whether its command is empty.
struct Handler<'a> {
    exec: Option<bool>,
    http_get: Option<&'a HTTPGetAction>,
    tcp_socket: Option<&'a IntOrString>,
    grpc: Option<i32>,
    sleep: Option<i64>,
}

fn validate_handler(h: &Handler<'_>, grace: Option<i64>, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut n = 0;
    let more = "may not specify more than 1 handler type";
    if let Some(empty_command) = h.exec {
        if n > 0 {
            errs.push(FieldError::forbidden(path.child("exec"), more));
        } else {
            n += 1;
            if empty_command {
                errs.push(FieldError::required(
                    path.child("exec").child("command"),
                    "",
                ));
            }
        }
    }
    if let Some(hg) = h.http_get {
        if n > 0 {
            errs.push(FieldError::forbidden(path.child("httpGet"), more));
        } else {
            n += 1;
            errs.extend(validate_http_get(hg, &path.child("httpGet")));
        }
    }
    if let Some(port) = h.tcp_socket {
        if n > 0 {
            errs.push(FieldError::forbidden(path.child("tcpSocket"), more));
        } else {
            n += 1;
            errs.extend(validate_port_num_or_name(
                port,
                &path.child("tcpSocket").child("port"),
            ));
        }
    }
    if let Some(port) = h.grpc {
        if n > 0 {
            errs.push(FieldError::forbidden(path.child("grpc"), more));
        } else {
            n += 1;
            errs.extend(validate_port_num_or_name(
                &IntOrString::Int(port),
                &path.child("grpc").child("port"),
            ));
        }
    }
    if let Some(seconds) = h.sleep {
        if n > 0 {
            errs.push(FieldError::forbidden(path.child("sleep"), more));
        } else {
            n += 1;
            if let Some(g) = grace
                && (seconds < 0 || seconds > g)
            {
                errs.push(FieldError::invalid(
                    path.child("sleep"),
                    seconds,
                    format!(
                        "must be non-negative and less than terminationGracePeriodSeconds ({g})"
                    ),
                ));
            }
        }
    }
    if n == 0 {
        errs.push(FieldError::required(path, "must specify a handler type"));
    }
    errs
}

fn validate_http_get(hg: &HTTPGetAction, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if hg.path.as_deref().unwrap_or("").is_empty() {
        errs.push(FieldError::required(path.child("path"), ""));
    }
    errs.extend(validate_port_num_or_name(&hg.port, &path.child("port")));
    let scheme = hg.scheme.as_deref().unwrap_or("");
    if scheme != "HTTP" && scheme != "HTTPS" {
        errs.push(FieldError::not_supported(
            path.child("scheme"),
            scheme,
            &["HTTP", "HTTPS"],
        ));
    }
    for h in hg.http_headers.iter().flatten() {
        errs.extend(invalid_each(
            &path.child("httpHeaders"),
            &h.name,
            is_http_header_name(&h.name),
        ));
    }
    errs
}

fn lifecycle_handler(h: &LifecycleHandler) -> Handler<'_> {
    Handler {
        exec: h
            .exec
            .as_ref()
            .map(|e| e.command.as_deref().unwrap_or(&[]).is_empty()),
        http_get: h.http_get.as_ref(),
        tcp_socket: h.tcp_socket.as_ref().map(|t| &t.port),
        grpc: None,
        sleep: h.sleep.as_ref().map(|s| s.seconds),
    }
}

fn validate_lifecycle(l: &Lifecycle, grace: Option<i64>, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(h) = &l.post_start {
        errs.extend(validate_handler(
            &lifecycle_handler(h),
            grace,
            &path.child("postStart"),
        ));
    }
    if let Some(h) = &l.pre_stop {
        errs.extend(validate_handler(
            &lifecycle_handler(h),
            grace,
            &path.child("preStop"),
        ));
    }
    errs
}

/// `validateContainerOnlyForPod`: images of real pods may not be padded.
pub(crate) fn validate_container_only_for_pod(c: &Container, path: &FieldPath) -> Vec<FieldError> {
    let image = c.image.as_deref().unwrap_or("");
    if image.len() != image.trim().len() {
        vec![FieldError::invalid(
            path.child("image"),
            image,
            "must not have leading or trailing whitespace",
        )]
    } else {
        Vec::new()
    }
}
