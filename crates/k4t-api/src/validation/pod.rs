//! Pods and pod templates: `ValidatePodSpec`, `ValidatePodCreate`, `ValidatePodUpdate`,
//! `ValidatePodStatusUpdate` and `ValidatePodTemplateSpec`.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    Affinity, Container, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod,
    PodAffinityTerm, PodDNSConfig, PodSpec, PodTemplateSpec, Toleration, TopologySpreadConstraint,
    WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use super::container::{
    ContainerCtx, ResourceScope, validate_apparmor_profile, validate_container_common,
    validate_container_only_for_pod, validate_containers, validate_init_containers,
    validate_resource_requirements, validate_seccomp_profile,
};
use super::meta::{
    validate_annotations, validate_label_name, validate_label_selector, validate_labels,
    validate_object_meta, validate_object_meta_update,
};
use super::names::{
    NameRule, inclusive_range_error, invalid_each, is_dns1123_subdomain,
    is_dns1123_subdomain_with_underscore, is_label_value, is_valid_id, validate_dns1123_label,
    validate_dns1123_subdomain, validate_ip, validate_qualified_name,
};
use super::quantity::Quantity;
use super::typed::{self, json};
use super::volumes::{validate_local_descending_path, validate_volumes};
use crate::error::{BadValue, FieldError, FieldPath};

/// Knobs of pod-spec validation that differ between real pods and templates.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PodOpts {
    /// The spec belongs to a Pod (not a template inside another kind).
    pub resource_is_pod: bool,
}

const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";
const DELETION_COST_ANNOTATION: &str = "controller.kubernetes.io/pod-deletion-cost";
const SECCOMP_POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const SECCOMP_CONTAINER_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";
const APPARMOR_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

fn all_containers(spec: &PodSpec) -> impl Iterator<Item = &str> {
    spec.init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter())
        .map(|c| c.name.as_str())
        .chain(
            spec.ephemeral_containers
                .iter()
                .flatten()
                .map(|c| c.name.as_str()),
        )
}

fn validate_seccomp_annotation(p: &str, path: &FieldPath) -> Vec<FieldError> {
    if p == "runtime/default" || p == "docker/default" || p == "unconfined" {
        return Vec::new();
    }
    if let Some(local) = p.strip_prefix("localhost/") {
        return validate_local_descending_path(local, path);
    }
    vec![FieldError::invalid(
        path,
        p,
        "must be a valid seccomp profile",
    )]
}

fn valid_deletion_cost(v: &str) -> bool {
    let first_ok = match v.as_bytes().first() {
        Some(b'-') => true,
        Some(b'0') => v == "0",
        Some(c) => c.is_ascii_digit(),
        None => false,
    };
    first_ok && v.parse::<i32>().is_ok()
}

/// `ValidatePodSpecificAnnotations`.
fn validate_pod_specific_annotations(
    annotations: Option<&BTreeMap<String, String>>,
    spec: &PodSpec,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let empty = BTreeMap::new();
    let annotations = annotations.unwrap_or(&empty);
    if let Some(v) = annotations.get(MIRROR_ANNOTATION)
        && spec.node_name.as_deref().unwrap_or("").is_empty()
    {
        errs.push(FieldError::invalid(
            path.key(MIRROR_ANNOTATION),
            v,
            "must set spec.nodeName if mirror pod annotation is set",
        ));
    }
    if let Some(v) = annotations.get(DELETION_COST_ANNOTATION)
        && !valid_deletion_cost(v)
    {
        errs.push(FieldError::invalid(
            path.key(DELETION_COST_ANNOTATION),
            v,
            "must be a 32bit integer",
        ));
    }
    if let Some(p) = annotations.get(SECCOMP_POD_ANNOTATION) {
        errs.extend(validate_seccomp_annotation(
            p,
            &path.child(SECCOMP_POD_ANNOTATION),
        ));
    }
    for (k, p) in annotations {
        if k.starts_with(SECCOMP_CONTAINER_PREFIX) {
            errs.extend(validate_seccomp_annotation(p, &path.child(k)));
        }
    }
    for (k, p) in annotations {
        let Some(container) = k.strip_prefix(APPARMOR_PREFIX) else {
            continue;
        };
        if !all_containers(spec).any(|c| c == container) {
            errs.push(FieldError::invalid(
                path.key(k),
                container,
                "container not found",
            ));
        }
        let ok = p.is_empty()
            || p == "runtime/default"
            || p == "unconfined"
            || p.starts_with("localhost/");
        if !ok {
            errs.push(FieldError::invalid(
                path.key(k),
                p,
                format!(
                    "invalid AppArmor profile name: {}",
                    crate::error::go_quote(p)
                ),
            ));
        }
    }
    errs
}

/// `ValidatePodSpec`.
pub(crate) fn validate_pod_spec(
    spec: &PodSpec,
    pod_meta: Option<&ObjectMeta>,
    path: &FieldPath,
    opts: PodOpts,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if spec.termination_grace_period_seconds.is_none() {
        errs.push(FieldError::required(
            path.child("terminationGracePeriodSeconds"),
            "",
        ));
    }
    let host_users = spec.host_users.unwrap_or(true);
    let (vols, verrs) = validate_volumes(
        spec.volumes.as_deref().unwrap_or(&[]),
        pod_meta,
        &path.child("volumes"),
        opts.resource_is_pod,
    );
    errs.extend(verrs);
    let claim_names: BTreeSet<String> = spec
        .resource_claims
        .iter()
        .flatten()
        .filter(|c| !c.name.is_empty())
        .map(|c| c.name.clone())
        .collect();
    errs.extend(validate_pod_resource_claims(
        spec,
        &path.child("resourceClaims"),
    ));
    let restart_policy = spec.restart_policy.as_deref().unwrap_or("");
    let ctx = ContainerCtx {
        volumes: &vols,
        grace_period: spec.termination_grace_period_seconds,
        pod_restart_policy: restart_policy,
        host_users,
        claim_names: &claim_names,
    };
    errs.extend(validate_containers(
        &spec.containers,
        &ctx,
        &path.child("containers"),
    ));
    errs.extend(validate_init_containers(
        spec.init_containers.as_deref().unwrap_or(&[]),
        &spec.containers,
        &ctx,
        &path.child("initContainers"),
    ));
    errs.extend(validate_ephemeral_containers(
        spec,
        &ctx,
        &path.child("ephemeralContainers"),
    ));
    errs.extend(validate_pod_resources(
        spec,
        &claim_names,
        &path.child("resources"),
    ));
    errs.extend(validate_host_network_deps(spec, path, opts));
    match restart_policy {
        "Always" | "OnFailure" | "Never" => {}
        "" => errs.push(FieldError::required(path.child("restartPolicy"), "")),
        other => errs.push(FieldError::not_supported(
            path.child("restartPolicy"),
            other,
            &["Always", "OnFailure", "Never"],
        )),
    }
    let dns_policy = spec.dns_policy.as_deref().unwrap_or("");
    match dns_policy {
        "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None" => {}
        "" => errs.push(FieldError::required(path.child("dnsPolicy"), "")),
        other => errs.push(FieldError::not_supported(
            path.child("dnsPolicy"),
            other,
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        )),
    }
    errs.extend(validate_labels(
        spec.node_selector.as_ref(),
        &path.child("nodeSelector"),
    ));
    errs.extend(validate_pod_security_context(
        spec,
        &path.child("securityContext"),
    ));
    if let Some(a) = &spec.affinity {
        errs.extend(validate_affinity(a, &path.child("affinity")));
    }
    errs.extend(validate_dns_config(
        spec.dns_config.as_ref(),
        dns_policy,
        &path.child("dnsConfig"),
    ));
    for (i, g) in spec.readiness_gates.iter().flatten().enumerate() {
        errs.extend(validate_qualified_name(
            &g.condition_type,
            &path.child("readinessGates").index(i).child("conditionType"),
        ));
    }
    let mut seen_gates: BTreeSet<&str> = BTreeSet::new();
    for (i, g) in spec.scheduling_gates.iter().flatten().enumerate() {
        let p = path.child("schedulingGates").index(i);
        errs.extend(validate_qualified_name(&g.name, &p));
        if !seen_gates.insert(&g.name) {
            errs.push(FieldError::duplicate(&p, &g.name));
        }
    }
    errs.extend(validate_topology_spread(
        spec.topology_spread_constraints.as_deref().unwrap_or(&[]),
        &path.child("topologySpreadConstraints"),
    ));
    if !host_users {
        let msg = "when `pod.Spec.HostUsers` is false";
        if spec.host_network == Some(true) {
            errs.push(FieldError::forbidden(path.child("hostNetwork"), msg));
        }
        if spec.host_pid == Some(true) {
            errs.push(FieldError::forbidden(path.child("HostPID"), msg));
        }
        if spec.host_ipc == Some(true) {
            errs.push(FieldError::forbidden(path.child("HostIPC"), msg));
        }
    }
    if let Some(sa) = spec
        .service_account_name
        .as_deref()
        .filter(|s| !s.is_empty())
    {
        errs.extend(invalid_each(
            &path.child("serviceAccountName"),
            sa,
            NameRule::DnsSubdomain.check(sa, false),
        ));
    }
    if let Some(node) = spec.node_name.as_deref().filter(|s| !s.is_empty()) {
        errs.extend(invalid_each(
            &path.child("nodeName"),
            node,
            NameRule::DnsSubdomain.check(node, false),
        ));
    }
    if let Some(ads) = spec.active_deadline_seconds
        && !(1..=i64::from(i32::MAX)).contains(&ads)
    {
        errs.push(FieldError::invalid(
            path.child("activeDeadlineSeconds"),
            ads,
            inclusive_range_error(1, i64::from(i32::MAX)),
        ));
    }
    if let Some(h) = spec.hostname.as_deref().filter(|s| !s.is_empty()) {
        errs.extend(validate_dns1123_label(h, &path.child("hostname")));
    }
    if let Some(s) = spec.subdomain.as_deref().filter(|s| !s.is_empty()) {
        errs.extend(validate_dns1123_label(s, &path.child("subdomain")));
    }
    errs.extend(validate_tolerations(
        spec.tolerations.as_deref().unwrap_or(&[]),
        &path.child("tolerations"),
    ));
    for (i, ha) in spec.host_aliases.iter().flatten().enumerate() {
        let p = path.child("hostAliases").index(i);
        errs.extend(validate_ip(&p.child("ip"), &ha.ip));
        for (j, h) in ha.hostnames.iter().flatten().enumerate() {
            errs.extend(validate_dns1123_subdomain(
                h,
                &p.child("hostnames").index(j),
            ));
        }
    }
    if let Some(pc) = spec
        .priority_class_name
        .as_deref()
        .filter(|s| !s.is_empty())
    {
        errs.extend(invalid_each(
            &path.child("priorityClassName"),
            pc,
            is_dns1123_subdomain(pc),
        ));
    }
    if let Some(rc) = &spec.runtime_class_name {
        errs.extend(invalid_each(
            &path.child("runtimeClassName"),
            rc,
            is_dns1123_subdomain(rc),
        ));
    }
    if let Some(pp) = &spec.preemption_policy {
        match pp.as_str() {
            "PreemptLowerPriority" | "Never" => {}
            "" => errs.push(FieldError::required(path.child("preemptionPolicy"), "")),
            other => errs.push(FieldError::not_supported(
                path.child("preemptionPolicy"),
                other,
                &["PreemptLowerPriority", "Never"],
            )),
        }
    }
    if let Some(overhead) = &spec.overhead {
        let req = k8s_openapi::api::core::v1::ResourceRequirements {
            limits: Some(overhead.clone()),
            ..Default::default()
        };
        errs.extend(validate_resource_requirements(
            Some(&req),
            &BTreeSet::new(),
            &path.child("overhead"),
            ResourceScope::Container,
        ));
    }
    if let Some(os) = &spec.os {
        errs.extend(validate_os(spec, &os.name, path));
    }
    errs
}

fn validate_pod_resource_claims(spec: &PodSpec, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut names: BTreeSet<&str> = BTreeSet::new();
    for (i, c) in spec.resource_claims.iter().flatten().enumerate() {
        let p = path.index(i);
        if c.name.is_empty() {
            errs.push(FieldError::required(p.child("name"), ""));
        } else if names.contains(c.name.as_str()) {
            errs.push(FieldError::duplicate(p.child("name"), &c.name));
        } else {
            errs.extend(validate_dns1123_label(&c.name, &p.child("name")));
            names.insert(&c.name);
        }
        let raw = || BadValue::Raw(json(c));
        match (&c.resource_claim_name, &c.resource_claim_template_name) {
            (Some(_), Some(_)) => errs.push(FieldError::invalid(
                &p,
                raw(),
                "at most one of `resourceClaimName` or `resourceClaimTemplateName` may be specified",
            )),
            (None, None) => errs.push(FieldError::invalid(
                &p,
                raw(),
                "must specify one of: `resourceClaimName`, `resourceClaimTemplateName`",
            )),
            _ => {}
        }
        if let Some(n) = &c.resource_claim_name {
            errs.extend(invalid_each(
                &p.child("resourceClaimName"),
                n,
                is_dns1123_subdomain(n),
            ));
        }
        if let Some(n) = &c.resource_claim_template_name {
            errs.extend(invalid_each(
                &p.child("resourceClaimTemplateName"),
                n,
                is_dns1123_subdomain(n),
            ));
        }
    }
    errs
}

/// Ephemeral containers may only use a subset of container fields.
fn validate_ephemeral_containers(
    spec: &PodSpec,
    ctx: &ContainerCtx<'_>,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(ecs) = &spec.ephemeral_containers else {
        return errs;
    };
    let others: BTreeSet<&str> = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .map(|c| c.name.as_str())
        .collect();
    let mut all = others.clone();
    for (i, ec) in ecs.iter().enumerate() {
        let p = path.index(i);
        let mut as_container = serde_json::to_value(ec).unwrap_or(Value::Null);
        if let Some(o) = as_container.as_object_mut() {
            o.remove("targetContainerName");
        }
        let c: Container = typed::decode(&as_container).unwrap_or_default();
        errs.extend(validate_container_common(&c, ctx, &p));
        errs.extend(validate_container_only_for_pod(&c, &p));
        if !all.insert(&ec.name) {
            errs.push(FieldError::duplicate(p.child("name"), &ec.name));
        }
        if let Some(t) = ec
            .target_container_name
            .as_deref()
            .filter(|t| !t.is_empty())
            && !others.contains(t)
        {
            errs.push(FieldError::not_found(p.child("targetContainerName"), t));
        }
        let msg = "cannot be set for an Ephemeral Container";
        let forbidden = [
            ("ports", ec.ports.is_some()),
            ("resources", ec.resources.is_some()),
            ("livenessProbe", ec.liveness_probe.is_some()),
            ("readinessProbe", ec.readiness_probe.is_some()),
            ("startupProbe", ec.startup_probe.is_some()),
            ("lifecycle", ec.lifecycle.is_some()),
            ("resizePolicy", ec.resize_policy.is_some()),
            ("restartPolicy", ec.restart_policy.is_some()),
        ];
        for (f, set) in forbidden {
            if set {
                errs.push(FieldError::forbidden(p.child(f), msg));
            }
        }
        for (j, vm) in ec.volume_mounts.iter().flatten().enumerate() {
            let vp = p.child("volumeMounts").index(j);
            if vm.sub_path.as_deref().is_some_and(|s| !s.is_empty()) {
                errs.push(FieldError::forbidden(vp.child("subPath"), msg));
            }
            if vm.sub_path_expr.as_deref().is_some_and(|s| !s.is_empty()) {
                errs.push(FieldError::forbidden(vp.child("subPathExpr"), msg));
            }
        }
    }
    errs
}

/// Pod-level resources (`spec.resources`): cpu, memory and hugepages only, and consistent with
/// the containers.
fn validate_pod_resources(
    spec: &PodSpec,
    claim_names: &BTreeSet<String>,
    path: &FieldPath,
) -> Vec<FieldError> {
    let Some(res) = &spec.resources else {
        return Vec::new();
    };
    let mut errs = Vec::new();
    if res.claims.is_some() {
        errs.push(FieldError::forbidden(
            path.child("claims"),
            "claims cannot be set for Resources at pod-level",
        ));
    }
    errs.extend(validate_resource_requirements(
        Some(res),
        claim_names,
        path,
        ResourceScope::Pod,
    ));
    // Aggregate container requests must fit in the pod's requests.
    let mut aggregate: BTreeMap<String, Quantity> = BTreeMap::new();
    for c in &spec.containers {
        for (k, v) in c
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .into_iter()
            .flatten()
        {
            if let Ok(q) = Quantity::parse(&v.0) {
                let e = aggregate
                    .entry(k.clone())
                    .or_insert_with(|| Quantity::from_units(0));
                *e = e.add(&q);
            }
        }
    }
    for c in spec.init_containers.iter().flatten() {
        for (k, v) in c
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .into_iter()
            .flatten()
        {
            if let Ok(q) = Quantity::parse(&v.0) {
                let e = aggregate
                    .entry(k.clone())
                    .or_insert_with(|| Quantity::from_units(0));
                if q.cmp_value(e).is_gt() {
                    *e = q;
                }
            }
        }
    }
    let pod_requests = res.requests.clone().unwrap_or_default();
    for (k, agg) in &aggregate {
        let pod_q = pod_requests
            .get(k)
            .and_then(|q| Quantity::parse(&q.0).ok())
            .unwrap_or_else(|| Quantity::from_units(0));
        if agg.cmp_value(&pod_q).is_gt() {
            errs.push(FieldError::invalid(
                path.child("requests").key(k),
                pod_q.to_string(),
                format!("must be greater than or equal to aggregate container requests of {agg}"),
            ));
        }
    }
    let pod_limits = res.limits.clone().unwrap_or_default();
    for (i, c) in spec.containers.iter().enumerate() {
        for (k, v) in c
            .resources
            .as_ref()
            .and_then(|r| r.limits.as_ref())
            .into_iter()
            .flatten()
        {
            let (Ok(cl), Some(Ok(pl))) = (
                Quantity::parse(&v.0),
                pod_limits.get(k).map(|q| Quantity::parse(&q.0)),
            ) else {
                continue;
            };
            if cl.cmp_value(&pl).is_gt() {
                errs.push(FieldError::invalid(
                    path.child("containers").index(i).key(k).child("limits"),
                    cl.to_string(),
                    format!("must be less than or equal to pod limits of {pl}"),
                ));
            }
        }
    }
    errs
}

fn validate_host_network_deps(spec: &PodSpec, path: &FieldPath, opts: PodOpts) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if spec.host_network != Some(true) {
        return errs;
    }
    let cp = path.child("containers");
    for (i, c) in spec.containers.iter().enumerate() {
        for (j, port) in c.ports.iter().flatten().enumerate() {
            let hp = port.host_port.unwrap_or(0);
            if (opts.resource_is_pod || hp != 0) && hp != port.container_port {
                errs.push(FieldError::invalid(
                    cp.index(i).child("ports").index(j).child("hostPort"),
                    hp,
                    "must match `containerPort` when `hostNetwork` is true",
                ));
            }
        }
    }
    errs
}

fn sysctl_segment_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) => {
            alnum(f) && alnum(l) && b.iter().all(|&c| alnum(c) || c == b'-' || c == b'_')
        }
        _ => false,
    }
}

fn is_valid_sysctl_name(name: &str) -> bool {
    name.len() <= 253 && name.split(['.', '/']).all(sysctl_segment_ok)
}

fn validate_pod_security_context(spec: &PodSpec, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(sc) = &spec.security_context else {
        return errs;
    };
    if let Some(g) = sc.fs_group {
        errs.extend(
            is_valid_id(g)
                .into_iter()
                .map(|m| FieldError::invalid(path.child("fsGroup"), g, m)),
        );
    }
    if let Some(u) = sc.run_as_user {
        errs.extend(
            is_valid_id(u)
                .into_iter()
                .map(|m| FieldError::invalid(path.child("runAsUser"), u, m)),
        );
    }
    if let Some(g) = sc.run_as_group {
        errs.extend(
            is_valid_id(g)
                .into_iter()
                .map(|m| FieldError::invalid(path.child("runAsGroup"), g, m)),
        );
    }
    for (i, g) in sc.supplemental_groups.iter().flatten().enumerate() {
        errs.extend(
            is_valid_id(*g)
                .into_iter()
                .map(|m| FieldError::invalid(path.child("supplementalGroups").index(i), *g, m)),
        );
    }
    if spec.share_process_namespace == Some(true) && spec.host_pid == Some(true) {
        errs.push(FieldError::invalid(
            path.child("shareProcessNamespace"),
            true,
            "ShareProcessNamespace and HostPID cannot both be enabled",
        ));
    }
    let mut names: BTreeSet<&str> = BTreeSet::new();
    for (i, s) in sc.sysctls.iter().flatten().enumerate() {
        let p = path.child("sysctls").index(i).child("name");
        if s.name.is_empty() {
            errs.push(FieldError::required(&p, ""));
        } else if !is_valid_sysctl_name(&s.name) {
            errs.push(FieldError::invalid(
                &p,
                &s.name,
                "must have at most 253 characters and match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$",
            ));
        } else if names.contains(s.name.as_str()) {
            errs.push(FieldError::duplicate(&p, &s.name));
        }
        let normalized = s.name.replace('/', ".");
        if spec.host_network == Some(true) && normalized.starts_with("net.") {
            errs.push(FieldError::invalid(
                &p,
                &s.name,
                "may not be specified when 'hostNetwork' is true",
            ));
        } else if spec.host_ipc == Some(true)
            && (normalized.starts_with("kernel.shm")
                || normalized.starts_with("kernel.msg")
                || normalized.starts_with("kernel.sem")
                || normalized.starts_with("fs.mqueue."))
        {
            errs.push(FieldError::invalid(
                &p,
                &s.name,
                "may not be specified when 'hostIPC' is true",
            ));
        }
        names.insert(&s.name);
    }
    if let Some(p) = &sc.fs_group_change_policy
        && p != "OnRootMismatch"
        && p != "Always"
    {
        errs.push(FieldError::not_supported(
            path.child("fsGroupChangePolicy"),
            p,
            &["Always", "OnRootMismatch"],
        ));
    }
    errs.extend(validate_seccomp_profile(
        sc.seccomp_profile.as_ref(),
        &path.child("seccompProfile"),
    ));
    errs.extend(validate_apparmor_profile(
        sc.app_armor_profile.as_ref(),
        &path.child("appArmorProfile"),
    ));
    if let Some(p) = &sc.supplemental_groups_policy
        && p != "Merge"
        && p != "Strict"
    {
        errs.push(FieldError::not_supported(
            path.child("supplementalGroupsPolicy"),
            p,
            &["Merge", "Strict"],
        ));
    }
    if let Some(p) = &sc.se_linux_change_policy
        && p != "MountOption"
        && p != "Recursive"
    {
        errs.push(FieldError::not_supported(
            path.child("seLinuxChangePolicy"),
            p,
            &["MountOption", "Recursive"],
        ));
    }
    errs
}

fn validate_node_selector_requirement(
    rq: &NodeSelectorRequirement,
    allow_invalid_values: bool,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let values = rq.values.as_deref().unwrap_or(&[]);
    match rq.operator.as_str() {
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
        "Gt" | "Lt" => {
            if values.len() != 1 {
                errs.push(FieldError::required(
                    path.child("values"),
                    "must be specified single value when `operator` is 'Lt' or 'Gt'",
                ));
            }
        }
        other => errs.push(FieldError::invalid(
            path.child("operator"),
            other,
            "not a valid selector operator",
        )),
    }
    errs.extend(validate_label_name(&rq.key, &path.child("key")));
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

fn validate_node_selector_term(
    term: &NodeSelectorTerm,
    allow_invalid: bool,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (j, rq) in term.match_expressions.iter().flatten().enumerate() {
        errs.extend(validate_node_selector_requirement(
            rq,
            allow_invalid,
            &path.child("matchExpressions").index(j),
        ));
    }
    for (j, rq) in term.match_fields.iter().flatten().enumerate() {
        let p = path.child("matchFields").index(j);
        let values = rq.values.as_deref().unwrap_or(&[]);
        match rq.operator.as_str() {
            "In" | "NotIn" => {
                if values.len() != 1 {
                    errs.push(FieldError::required(
                        p.child("values"),
                        "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
                    ));
                }
            }
            other => errs.push(FieldError::invalid(
                p.child("operator"),
                other,
                "not a valid selector operator",
            )),
        }
        if rq.key != "metadata.name" {
            errs.push(FieldError::invalid(
                p.child("key"),
                &rq.key,
                "not a valid field selector key",
            ));
        } else {
            for (k, v) in values.iter().enumerate() {
                errs.extend(invalid_each(
                    &p.child("values").index(k),
                    v,
                    is_dns1123_subdomain(v),
                ));
            }
        }
    }
    errs
}

fn validate_node_selector(ns: &NodeSelector, path: &FieldPath) -> Vec<FieldError> {
    let tp = path.child("nodeSelectorTerms");
    if ns.node_selector_terms.is_empty() {
        return vec![FieldError::required(
            tp,
            "must have at least one node selector term",
        )];
    }
    ns.node_selector_terms
        .iter()
        .enumerate()
        .flat_map(|(i, t)| validate_node_selector_term(t, false, &tp.index(i)))
        .collect()
}

fn validate_pod_affinity_term(t: &PodAffinityTerm, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = validate_label_selector(
        t.label_selector.as_ref(),
        false,
        &path.child("labelSelector"),
    );
    errs.extend(validate_label_selector(
        t.namespace_selector.as_ref(),
        false,
        &path.child("namespaceSelector"),
    ));
    for ns in t.namespaces.iter().flatten() {
        errs.extend(invalid_each(
            &path.child("namespace"),
            ns,
            NameRule::DnsLabel.check(ns, false),
        ));
    }
    for (field, keys) in [
        ("matchLabelKeys", &t.match_label_keys),
        ("mismatchLabelKeys", &t.mismatch_label_keys),
    ] {
        let keys = keys.as_deref().unwrap_or(&[]);
        if keys.is_empty() {
            continue;
        }
        if t.label_selector.is_none() {
            errs.push(FieldError::forbidden(
                path.child(field),
                "must not be specified when labelSelector is not set",
            ));
            continue;
        }
        for (i, k) in keys.iter().enumerate() {
            errs.extend(validate_label_name(k, &path.child(field).index(i)));
        }
    }
    if t.topology_key.is_empty() {
        errs.push(FieldError::required(
            path.child("topologyKey"),
            "can not be empty",
        ));
    }
    errs.extend(validate_label_name(
        &t.topology_key,
        &path.child("topologyKey"),
    ));
    errs
}

fn validate_weighted_terms(terms: &[WeightedPodAffinityTerm], path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (j, t) in terms.iter().enumerate() {
        if !(1..=100).contains(&t.weight) {
            errs.push(FieldError::invalid(
                path.index(j).child("weight"),
                t.weight,
                "must be in the range 1-100",
            ));
        }
        errs.extend(validate_pod_affinity_term(
            &t.pod_affinity_term,
            &path.index(j).child("podAffinityTerm"),
        ));
    }
    errs
}

fn validate_affinity(a: &Affinity, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(na) = &a.node_affinity {
        let p = path.child("nodeAffinity");
        if let Some(req) = &na.required_during_scheduling_ignored_during_execution {
            errs.extend(validate_node_selector(
                req,
                &p.child("requiredDuringSchedulingIgnoredDuringExecution"),
            ));
        }
        let pref = p.child("preferredDuringSchedulingIgnoredDuringExecution");
        for (i, t) in na
            .preferred_during_scheduling_ignored_during_execution
            .iter()
            .flatten()
            .enumerate()
        {
            if !(1..=100).contains(&t.weight) {
                errs.push(FieldError::invalid(
                    pref.index(i).child("weight"),
                    t.weight,
                    "must be in the range 1-100",
                ));
            }
            errs.extend(validate_node_selector_term(
                &t.preference,
                true,
                &pref.index(i).child("preference"),
            ));
        }
    }
    for (name, pa) in [
        (
            "podAffinity",
            a.pod_affinity.as_ref().map(|p| {
                (
                    &p.required_during_scheduling_ignored_during_execution,
                    &p.preferred_during_scheduling_ignored_during_execution,
                )
            }),
        ),
        (
            "podAntiAffinity",
            a.pod_anti_affinity.as_ref().map(|p| {
                (
                    &p.required_during_scheduling_ignored_during_execution,
                    &p.preferred_during_scheduling_ignored_during_execution,
                )
            }),
        ),
    ] {
        let Some((required, preferred)) = pa else {
            continue;
        };
        let p = path.child(name);
        for (i, t) in required.iter().flatten().enumerate() {
            errs.extend(validate_pod_affinity_term(
                t,
                &p.child("requiredDuringSchedulingIgnoredDuringExecution")
                    .index(i),
            ));
        }
        if let Some(pref) = preferred {
            errs.extend(validate_weighted_terms(
                pref,
                &p.child("preferredDuringSchedulingIgnoredDuringExecution"),
            ));
        }
    }
    errs
}

fn validate_dns_config(
    cfg: Option<&PodDNSConfig>,
    dns_policy: &str,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if dns_policy == "None" {
        let Some(cfg) = cfg else {
            return vec![FieldError::required(
                path,
                "must provide `dnsConfig` when `dnsPolicy` is None",
            )];
        };
        if cfg.nameservers.as_ref().is_none_or(Vec::is_empty) {
            return vec![FieldError::required(
                path.child("nameservers"),
                "must provide at least one DNS nameserver when `dnsPolicy` is None",
            )];
        }
    }
    let Some(cfg) = cfg else {
        return errs;
    };
    let nameservers = cfg.nameservers.as_deref().unwrap_or(&[]);
    if nameservers.len() > 3 {
        errs.push(FieldError::invalid(
            path.child("nameservers"),
            BadValue::Raw(json(&nameservers)),
            "must not have more than 3 nameservers",
        ));
    }
    for (i, ns) in nameservers.iter().enumerate() {
        errs.extend(validate_ip(&path.child("nameservers").index(i), ns));
    }
    let searches = cfg.searches.as_deref().unwrap_or(&[]);
    if searches.len() > 32 {
        errs.push(FieldError::invalid(
            path.child("searches"),
            BadValue::Raw(json(&searches)),
            "must not have more than 32 search paths",
        ));
    }
    if searches.join(" ").len() > 2048 {
        errs.push(FieldError::invalid(
            path.child("searches"),
            BadValue::Raw(json(&searches)),
            "must not have more than 2048 characters (including spaces) in the search list",
        ));
    }
    for (i, s) in searches.iter().enumerate() {
        if s != "." {
            let trimmed = s.strip_suffix('.').unwrap_or(s);
            errs.extend(invalid_each(
                &path.child("searches").index(i),
                trimmed,
                is_dns1123_subdomain_with_underscore(trimmed),
            ));
        }
    }
    for (i, o) in cfg.options.iter().flatten().enumerate() {
        if o.name.as_deref().unwrap_or("").is_empty() {
            errs.push(FieldError::required(
                path.child("options").index(i),
                "must not be empty",
            ));
        }
    }
    errs
}

/// `ValidateTolerations`.
pub(crate) fn validate_tolerations(
    tolerations: &[Toleration],
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, t) in tolerations.iter().enumerate() {
        let p = path.index(i);
        let key = t.key.as_deref().unwrap_or("");
        let operator = t.operator.as_deref().unwrap_or("");
        let effect = t.effect.as_deref().unwrap_or("");
        let value = t.value.as_deref().unwrap_or("");
        if !key.is_empty() {
            errs.extend(validate_label_name(key, &p.child("key")));
        }
        if key.is_empty() && operator != "Exists" {
            errs.push(FieldError::invalid(
                p.child("operator"),
                operator,
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        if t.toleration_seconds.is_some() && effect != "NoExecute" {
            errs.push(FieldError::invalid(
                p.child("effect"),
                effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        match operator {
            "Equal" | "" => {
                let msgs = is_label_value(value);
                if !msgs.is_empty() {
                    errs.push(FieldError::invalid(
                        p.child("operator"),
                        value,
                        msgs.join(";"),
                    ));
                }
            }
            "Exists" => {
                if !value.is_empty() {
                    errs.push(FieldError::invalid(
                        p.child("operator"),
                        value,
                        "value must be empty when `operator` is 'Exists'",
                    ));
                }
            }
            other => errs.push(FieldError::not_supported(
                p.child("operator"),
                other,
                &["Equal", "Exists"],
            )),
        }
        if !effect.is_empty() {
            errs.extend(validate_taint_effect(effect, true, &p.child("effect")));
        }
    }
    errs
}

/// `validateTaintEffect`.
pub(crate) fn validate_taint_effect(
    effect: &str,
    allow_empty: bool,
    path: &FieldPath,
) -> Vec<FieldError> {
    if !allow_empty && effect.is_empty() {
        return vec![FieldError::required(path, "")];
    }
    match effect {
        "NoSchedule" | "PreferNoSchedule" | "NoExecute" => Vec::new(),
        other => vec![FieldError::not_supported(
            path,
            other,
            &["NoSchedule", "PreferNoSchedule", "NoExecute"],
        )],
    }
}

fn validate_topology_spread(
    constraints: &[TopologySpreadConstraint],
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, c) in constraints.iter().enumerate() {
        let p = path.index(i);
        if c.max_skew <= 0 {
            errs.push(FieldError::invalid(
                p.child("maxSkew"),
                c.max_skew,
                "must be greater than zero",
            ));
        }
        if c.topology_key.is_empty() {
            errs.push(FieldError::required(
                p.child("topologyKey"),
                "can not be empty",
            ));
        }
        if c.when_unsatisfiable != "DoNotSchedule" && c.when_unsatisfiable != "ScheduleAnyway" {
            errs.push(FieldError::not_supported(
                p.child("whenUnsatisfiable"),
                &c.when_unsatisfiable,
                &["DoNotSchedule", "ScheduleAnyway"],
            ));
        }
        if constraints[i + 1..].iter().any(|o| {
            o.topology_key == c.topology_key && o.when_unsatisfiable == c.when_unsatisfiable
        }) {
            errs.push(FieldError::duplicate(
                p.child("{topologyKey, whenUnsatisfiable}"),
                format!("{{{}, {}}}", c.topology_key, c.when_unsatisfiable),
            ));
        }
        if let Some(md) = c.min_domains {
            if md <= 0 {
                errs.push(FieldError::invalid(
                    p.child("minDomains"),
                    md,
                    "must be greater than zero",
                ));
            }
            if c.when_unsatisfiable != "DoNotSchedule" {
                errs.push(FieldError::invalid(
                    p.child("minDomains"),
                    md,
                    format!(
                        "can only use minDomains if whenUnsatisfiable=DoNotSchedule, not {}",
                        c.when_unsatisfiable
                    ),
                ));
            }
        }
        for (f, v) in [
            ("nodeAffinityPolicy", &c.node_affinity_policy),
            ("nodeTaintsPolicy", &c.node_taints_policy),
        ] {
            if let Some(v) = v
                && v != "Honor"
                && v != "Ignore"
            {
                errs.push(FieldError::not_supported(
                    p.child(f),
                    v,
                    &["Honor", "Ignore"],
                ));
            }
        }
        let keys = c.match_label_keys.as_deref().unwrap_or(&[]);
        if !keys.is_empty() {
            let mlk = p.child("matchLabelKeys");
            let mut selector_keys: BTreeSet<&str> = BTreeSet::new();
            match &c.label_selector {
                Some(ls) => {
                    selector_keys.extend(ls.match_labels.iter().flatten().map(|(k, _)| k.as_str()));
                    selector_keys.extend(
                        ls.match_expressions
                            .iter()
                            .flatten()
                            .map(|e| e.key.as_str()),
                    );
                }
                None => errs.push(FieldError::forbidden(
                    &mlk,
                    "must not be specified when labelSelector is not set",
                )),
            }
            for (j, k) in keys.iter().enumerate() {
                errs.extend(validate_label_name(k, &mlk.index(j)));
                if selector_keys.contains(k.as_str()) {
                    errs.push(FieldError::invalid(
                        mlk.index(j),
                        k,
                        "exists in both matchLabelKeys and labelSelector",
                    ));
                }
            }
        }
        errs.extend(validate_label_selector(
            c.label_selector.as_ref(),
            false,
            &p.child("labelSelector"),
        ));
    }
    errs
}

fn validate_os(spec: &PodSpec, name: &str, path: &FieldPath) -> Vec<FieldError> {
    let os_path = path.child("os");
    if name.is_empty() {
        return vec![FieldError::required(
            os_path.child("name"),
            "cannot be empty",
        )];
    }
    if name != "linux" && name != "windows" {
        return vec![FieldError::not_supported(
            os_path,
            name,
            &["linux", "windows"],
        )];
    }
    let mut errs = Vec::new();
    let containers = spec
        .containers
        .iter()
        .enumerate()
        .map(|(i, c)| (path.child("containers").index(i), c))
        .chain(
            spec.init_containers
                .iter()
                .flatten()
                .enumerate()
                .map(|(i, c)| (path.child("initContainers").index(i), c)),
        );
    if name == "linux" {
        if spec
            .security_context
            .as_ref()
            .is_some_and(|s| s.windows_options.is_some())
        {
            errs.push(FieldError::forbidden(
                path.child("securityContext").child("windowsOptions"),
                "windows options cannot be set for a linux pod",
            ));
        }
        for (cp, c) in containers {
            if c.security_context
                .as_ref()
                .is_some_and(|s| s.windows_options.is_some())
            {
                errs.push(FieldError::forbidden(
                    cp.child("securityContext").child("windowsOptions"),
                    "windows options cannot be set for a linux pod",
                ));
            }
        }
        return errs;
    }
    let msg = "cannot be set for a windows pod";
    if let Some(sc) = &spec.security_context {
        let scp = path.child("securityContext");
        let checks = [
            (scp.child("appArmorProfile"), sc.app_armor_profile.is_some()),
            (scp.child("seLinuxOptions"), sc.se_linux_options.is_some()),
            (path.child("hostUsers"), spec.host_users.is_some()),
            (path.child("hostPID"), spec.host_pid == Some(true)),
            (path.child("hostIPC"), spec.host_ipc == Some(true)),
            (scp.child("seccompProfile"), sc.seccomp_profile.is_some()),
            (scp.child("fsGroup"), sc.fs_group.is_some()),
            (
                scp.child("fsGroupChangePolicy"),
                sc.fs_group_change_policy.is_some(),
            ),
            (
                scp.child("sysctls"),
                sc.sysctls.as_ref().is_some_and(|s| !s.is_empty()),
            ),
            (
                path.child("shareProcessNamespace"),
                spec.share_process_namespace.is_some(),
            ),
            (scp.child("runAsUser"), sc.run_as_user.is_some()),
            (scp.child("runAsGroup"), sc.run_as_group.is_some()),
            (
                scp.child("supplementalGroups"),
                sc.supplemental_groups.is_some(),
            ),
            (
                scp.child("supplementalGroupsPolicy"),
                sc.supplemental_groups_policy.is_some(),
            ),
            (
                scp.child("seLinuxChangePolicy"),
                sc.se_linux_change_policy.is_some(),
            ),
        ];
        for (p, set) in checks {
            if set {
                errs.push(FieldError::forbidden(p, msg));
            }
        }
    }
    for (cp, c) in containers {
        let Some(sc) = &c.security_context else {
            continue;
        };
        let scp = cp.child("securityContext");
        let checks = [
            ("appArmorProfile", sc.app_armor_profile.is_some()),
            ("seLinuxOptions", sc.se_linux_options.is_some()),
            ("seccompProfile", sc.seccomp_profile.is_some()),
            ("capabilities", sc.capabilities.is_some()),
            (
                "readOnlyRootFilesystem",
                sc.read_only_root_filesystem.is_some(),
            ),
            ("privileged", sc.privileged.is_some()),
            (
                "allowPrivilegeEscalation",
                sc.allow_privilege_escalation.is_some(),
            ),
            ("procMount", sc.proc_mount.is_some()),
            ("runAsUser", sc.run_as_user.is_some()),
            ("runAsGroup", sc.run_as_group.is_some()),
        ];
        for (f, set) in checks {
            if set {
                errs.push(FieldError::forbidden(scp.child(f), msg));
            }
        }
    }
    errs
}

/// `validatePodMetadataAndSpec`.
fn validate_pod_metadata_and_spec(pod: &Pod, meta: &ObjectMeta) -> Vec<FieldError> {
    let meta_path = FieldPath::new("metadata");
    let spec_path = FieldPath::new("spec");
    let default_spec = PodSpec::default();
    let spec = pod.spec.as_ref().unwrap_or(&default_spec);
    let mut errs = validate_object_meta(meta, true, NameRule::DnsSubdomain, &meta_path);
    errs.extend(validate_pod_specific_annotations(
        meta.annotations.as_ref(),
        spec,
        &meta_path.child("annotations"),
    ));
    errs.extend(validate_pod_spec(
        spec,
        Some(meta),
        &spec_path,
        PodOpts {
            resource_is_pod: true,
        },
    ));
    if spec
        .service_account_name
        .as_deref()
        .unwrap_or("")
        .is_empty()
    {
        for (vi, v) in spec.volumes.iter().flatten().enumerate() {
            for (si, s) in v
                .projected
                .iter()
                .flat_map(|p| p.sources.iter().flatten())
                .enumerate()
            {
                if s.service_account_token.is_some() {
                    errs.push(FieldError::forbidden(
                        spec_path
                            .child("volumes")
                            .index(vi)
                            .child("projected")
                            .child("sources")
                            .index(si)
                            .child("serviceAccountToken"),
                        "must not be specified when serviceAccountName is not set",
                    ));
                }
            }
        }
    }
    for (i, c) in spec.containers.iter().enumerate() {
        errs.extend(validate_container_only_for_pod(
            c,
            &spec_path.child("containers").index(i),
        ));
    }
    for (i, c) in spec.init_containers.iter().flatten().enumerate() {
        errs.extend(validate_container_only_for_pod(
            c,
            &spec_path.child("initContainers").index(i),
        ));
    }
    errs
}

/// `ValidatePodCreate`.
pub(crate) fn validate_create(obj: &Value) -> Vec<FieldError> {
    let pod: Pod = match typed::decode(obj) {
        Ok(p) => p,
        Err(e) => return vec![e],
    };
    let spec_path = FieldPath::new("spec");
    let mut errs = validate_pod_metadata_and_spec(&pod, &pod.metadata);
    if let Some(spec) = &pod.spec {
        if spec
            .ephemeral_containers
            .as_ref()
            .is_some_and(|e| !e.is_empty())
        {
            errs.push(FieldError::forbidden(
                spec_path.child("ephemeralContainers"),
                "cannot be set on create",
            ));
        }
        if spec.node_name.as_deref().is_some_and(|n| !n.is_empty())
            && spec
                .scheduling_gates
                .as_ref()
                .is_some_and(|g| !g.is_empty())
        {
            errs.push(FieldError::forbidden(
                spec_path.child("nodeName"),
                "cannot be set until all schedulingGates have been cleared",
            ));
        }
    }
    errs
}

/// The fields a pod update may change, in Kubernetes' wording.
const UPDATABLE_POD_SPEC_FIELDS: &str = "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

fn validate_container_updates(
    new: &[Container],
    old: &[Container],
    path: &FieldPath,
) -> (Vec<FieldError>, bool) {
    if new.len() != old.len() {
        return (
            vec![FieldError::forbidden(
                path,
                "pod updates may not add or remove containers",
            )],
            true,
        );
    }
    let mut errs = Vec::new();
    for (i, c) in new.iter().enumerate() {
        let image = c.image.as_deref().unwrap_or("");
        if image.is_empty() {
            errs.push(FieldError::required(path.index(i).child("image"), ""));
        }
        if image.trim().len() != image.len() {
            errs.push(FieldError::invalid(
                path.index(i).child("image"),
                image,
                "must not have leading or trailing whitespace",
            ));
        }
    }
    (errs, false)
}

fn validate_only_added_tolerations(
    new: &[Toleration],
    old: &[Toleration],
    path: &FieldPath,
) -> Vec<FieldError> {
    for o in old {
        let found = new.iter().any(|n| {
            let mut o2 = o.clone();
            o2.toleration_seconds = n.toleration_seconds;
            &o2 == n
        });
        if !found {
            return vec![FieldError::forbidden(
                path,
                "existing toleration can not be modified except its tolerationSeconds",
            )];
        }
    }
    validate_tolerations(new, path)
}

/// `ValidatePodUpdate`.
pub(crate) fn validate_update(new_obj: &Value, old_obj: &Value) -> Vec<FieldError> {
    let (new, old): (Pod, Pod) = match (typed::decode(new_obj), typed::decode(old_obj)) {
        (Ok(n), Ok(o)) => (n, o),
        (Err(e), _) | (_, Err(e)) => return vec![e],
    };
    let meta_path = FieldPath::new("metadata");
    let spec_path = FieldPath::new("spec");
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata, &meta_path);
    errs.extend(validate_pod_metadata_and_spec(&new, &new.metadata));
    errs.extend(validate_annotation_updates(
        &new,
        &old,
        &meta_path.child("annotations"),
    ));

    let new_spec = new.spec.clone().unwrap_or_default();
    let old_spec = old.spec.clone().unwrap_or_default();
    let (e, stop) = validate_container_updates(
        &new_spec.containers,
        &old_spec.containers,
        &spec_path.child("containers"),
    );
    errs.extend(e);
    if stop {
        return errs;
    }
    let empty = Vec::new();
    let (e, stop) = validate_container_updates(
        new_spec.init_containers.as_ref().unwrap_or(&empty),
        old_spec.init_containers.as_ref().unwrap_or(&empty),
        &spec_path.child("initContainers"),
    );
    errs.extend(e);
    if stop {
        return errs;
    }
    let ads_path = spec_path.child("activeDeadlineSeconds");
    match (
        new_spec.active_deadline_seconds,
        old_spec.active_deadline_seconds,
    ) {
        (Some(n), _) if !(0..=i64::from(i32::MAX)).contains(&n) => {
            errs.push(FieldError::invalid(
                &ads_path,
                n,
                inclusive_range_error(0, i64::from(i32::MAX)),
            ));
            return errs;
        }
        (Some(n), Some(o)) if o < n => {
            errs.push(FieldError::invalid(
                &ads_path,
                n,
                "must be less than or equal to previous value",
            ));
            return errs;
        }
        (None, Some(_)) => errs.push(FieldError::invalid(
            &ads_path,
            BadValue::Raw("null".to_owned()),
            "must not update from a positive integer to nil value",
        )),
        _ => {}
    }
    errs.extend(validate_only_added_tolerations(
        new_spec.tolerations.as_deref().unwrap_or(&[]),
        old_spec.tolerations.as_deref().unwrap_or(&[]),
        &spec_path.child("tolerations"),
    ));
    let old_gates: BTreeSet<&str> = old_spec
        .scheduling_gates
        .iter()
        .flatten()
        .map(|g| g.name.as_str())
        .collect();
    let mut new_gates: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, g) in new_spec.scheduling_gates.iter().flatten().enumerate() {
        new_gates.insert(&g.name, i);
    }
    for (name, i) in new_gates {
        if !old_gates.contains(name) {
            errs.push(FieldError::forbidden(
                spec_path.child("schedulingGates").index(i).child("name"),
                format!("only deletion is allowed, but found new scheduling gate '{name}'"),
            ));
        }
    }

    // Everything else must be unchanged: put the allowed changes back and compare.
    let mut munged = new_spec.clone();
    for (c, o) in munged.containers.iter_mut().zip(&old_spec.containers) {
        c.image = o.image.clone();
    }
    if let (Some(ni), Some(oi)) = (
        munged.init_containers.as_mut(),
        old_spec.init_containers.as_ref(),
    ) {
        for (c, o) in ni.iter_mut().zip(oi) {
            c.image = o.image.clone();
        }
    }
    munged.active_deadline_seconds = old_spec.active_deadline_seconds;
    munged.scheduling_gates = old_spec.scheduling_gates.clone();
    munged.tolerations = old_spec.tolerations.clone();
    if old_spec
        .termination_grace_period_seconds
        .is_some_and(|t| t < 0)
        && munged.termination_grace_period_seconds == Some(1)
    {
        munged.termination_grace_period_seconds = old_spec.termination_grace_period_seconds;
    }
    let gated = old_spec
        .scheduling_gates
        .as_ref()
        .is_some_and(|g| !g.is_empty());
    if gated {
        let old_sel = old_spec.node_selector.clone().unwrap_or_default();
        let new_sel = munged.node_selector.clone().unwrap_or_default();
        if old_sel != new_sel {
            if old_sel.iter().any(|(k, v)| new_sel.get(k) != Some(v)) {
                errs.push(FieldError::invalid(
                    spec_path.child("nodeSelector"),
                    BadValue::Raw(json(&new_sel)),
                    "only additions to spec.nodeSelector are allowed (no mutations or deletions)",
                ));
            }
            munged.node_selector = old_spec.node_selector.clone();
        }
    }
    let schema = typed::schema_of::<PodSpec>();
    let to_cmp = |s: &PodSpec| {
        let mut v = serde_json::to_value(s).unwrap_or(Value::Null);
        typed::normalize_for_compare(&mut v, &schema, &schema);
        v
    };
    let (old_v, new_v) = (to_cmp(&old_spec), to_cmp(&munged));
    if old_v != new_v {
        let mut lines = Vec::new();
        diff_values(&old_v, &new_v, "", &mut lines);
        let diff = format!("  core.PodSpec{{\n{}  }}\n", lines.concat());
        errs.push(FieldError::forbidden(
            &spec_path,
            format!(
                "pod updates may not change fields other than {UPDATABLE_POD_SPEC_FIELDS}\n{diff}"
            ),
        ));
    }
    errs
}

/// `field` with its first letter upper-cased, approximating the Go field name.
fn go_name(field: &str) -> String {
    let mut c = field.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Lists the leaves that differ between two JSON values, in the style of `cmp.Diff`.
fn diff_values(old: &Value, new: &Value, path: &str, out: &mut Vec<String>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let p = if path.is_empty() {
                    go_name(k)
                } else {
                    format!("{path}.{}", go_name(k))
                };
                let null = Value::Null;
                diff_values(
                    a.get(k).unwrap_or(&null),
                    b.get(k).unwrap_or(&null),
                    &p,
                    out,
                );
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff_values(x, y, &format!("{path}[{i}]"), out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => {
            if !a.is_null() {
                out.push(format!("- \t{path}: {},\n", json(a)));
            }
            if !b.is_null() {
                out.push(format!("+ \t{path}: {},\n", json(b)));
            }
        }
    }
}

/// `ValidatePodSpecificAnnotationUpdates`.
fn validate_annotation_updates(new: &Pod, old: &Pod, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let empty = BTreeMap::new();
    let na = new.metadata.annotations.as_ref().unwrap_or(&empty);
    let oa = old.metadata.annotations.as_ref().unwrap_or(&empty);
    for (k, ov) in oa {
        if na.get(k) == Some(ov) {
            continue;
        }
        if k.starts_with(APPARMOR_PREFIX) {
            errs.push(FieldError::forbidden(
                path.key(k),
                "may not remove or update AppArmor annotations",
            ));
        }
        if k == MIRROR_ANNOTATION {
            errs.push(FieldError::forbidden(
                path.key(k),
                "may not remove or update mirror pod annotation",
            ));
        }
    }
    for k in na.keys() {
        if oa.contains_key(k) {
            continue;
        }
        if k.starts_with(APPARMOR_PREFIX) {
            errs.push(FieldError::forbidden(
                path.key(k),
                "may not add AppArmor annotations",
            ));
        }
        if k == MIRROR_ANNOTATION {
            errs.push(FieldError::forbidden(
                path.key(k),
                "may not add mirror pod annotation",
            ));
        }
    }
    let default_spec = PodSpec::default();
    errs.extend(validate_pod_specific_annotations(
        new.metadata.annotations.as_ref(),
        new.spec.as_ref().unwrap_or(&default_spec),
        path,
    ));
    errs
}

fn validate_ips(
    ips: &[String],
    path: &FieldPath,
    index_value: impl Fn(usize) -> String,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, ip) in ips.iter().enumerate() {
        errs.extend(validate_ip(&path.index(i), ip));
    }
    if ips.len() > 1 && errs.is_empty() {
        let v4 = ips.iter().filter(|ip| !ip.contains(':')).count();
        let v6 = ips.len() - v4;
        if ips.len() > 2 || v4 != 1 || v6 != 1 {
            let all: Vec<String> = (0..ips.len()).map(&index_value).collect();
            errs.push(FieldError::invalid(
                path,
                BadValue::Raw(format!("[{}]", all.join(","))),
                "may specify no more than one IP for each IP family",
            ));
        }
        let mut seen = BTreeSet::new();
        for (i, ip) in ips.iter().enumerate() {
            if !seen.insert(ip) {
                errs.push(FieldError::duplicate(
                    path.index(i),
                    BadValue::Raw(index_value(i)),
                ));
            }
        }
    }
    errs
}

fn state_terminated(s: &k8s_openapi::api::core::v1::ContainerStatus) -> Option<i32> {
    s.state
        .as_ref()
        .and_then(|st| st.terminated.as_ref())
        .map(|t| t.exit_code)
}

/// `ValidatePodStatusUpdate`, for the fields k4t's node agent writes.
pub(crate) fn validate_status_update(new_obj: &Value, old_obj: &Value) -> Vec<FieldError> {
    let (new, old): (Pod, Pod) = match (typed::decode(new_obj), typed::decode(old_obj)) {
        (Ok(n), Ok(o)) => (n, o),
        (Err(e), _) | (_, Err(e)) => return vec![e],
    };
    let meta_path = FieldPath::new("metadata");
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata, &meta_path);
    errs.extend(validate_annotation_updates(
        &new,
        &old,
        &meta_path.child("annotations"),
    ));
    let status = new.status.clone().unwrap_or_default();
    let old_status = old.status.clone().unwrap_or_default();
    // Kubernetes reports these under metadata.conditions (sic).
    for (i, c) in status.conditions.iter().flatten().enumerate() {
        if ["PodScheduled", "Ready", "Initialized"].contains(&c.type_.as_str()) {
            continue;
        }
        errs.extend(validate_qualified_name(
            &c.type_,
            &meta_path.child("conditions").index(i).child("Type"),
        ));
    }
    let status_path = FieldPath::new("status");
    let node = |p: &Pod| {
        p.spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default()
    };
    if node(&new) != node(&old) {
        errs.push(FieldError::forbidden(
            status_path.child("nodeName"),
            "may not be changed directly",
        ));
    }
    let nominated = status.nominated_node_name.clone().unwrap_or_default();
    if nominated != old_status.nominated_node_name.clone().unwrap_or_default()
        && !nominated.is_empty()
    {
        errs.extend(invalid_each(
            &status_path.child("nominatedNodeName"),
            &nominated,
            is_dns1123_subdomain(&nominated),
        ));
    }
    // The QoS class may be set once (k4t's API server may leave it to the node agent).
    let (nq, oq) = (
        status.qos_class.clone().unwrap_or_default(),
        old_status.qos_class.clone().unwrap_or_default(),
    );
    if !oq.is_empty() && nq != oq {
        errs.push(FieldError::invalid(
            status_path.child("qosClass"),
            &nq,
            "field is immutable",
        ));
    }
    let restart_policy = old
        .spec
        .as_ref()
        .and_then(|s| s.restart_policy.clone())
        .unwrap_or_default();
    let transition = |new_s: &Option<Vec<k8s_openapi::api::core::v1::ContainerStatus>>,
                      old_s: &Option<Vec<k8s_openapi::api::core::v1::ContainerStatus>>,
                      path: FieldPath,
                      policy: &str,
                      sidecars: &BTreeSet<String>| {
        let mut errs = Vec::new();
        if policy == "Always" {
            return errs;
        }
        for (i, o) in old_s.iter().flatten().enumerate() {
            let Some(code) = state_terminated(o) else {
                continue;
            };
            if code != 0 && policy == "OnFailure" {
                continue;
            }
            if sidecars.contains(&o.name) {
                continue;
            }
            if new_s
                .iter()
                .flatten()
                .any(|n| n.name == o.name && state_terminated(n).is_none())
            {
                errs.push(FieldError::forbidden(
                    path.index(i).child("state"),
                    "may not be transitioned to non-terminated state",
                ));
            }
        }
        errs
    };
    let sidecars: BTreeSet<String> = old
        .spec
        .iter()
        .flat_map(|s| s.init_containers.iter().flatten())
        .filter(|c| c.restart_policy.as_deref() == Some("Always"))
        .map(|c| c.name.clone())
        .collect();
    errs.extend(transition(
        &status.container_statuses,
        &old_status.container_statuses,
        status_path.child("containerStatuses"),
        &restart_policy,
        &BTreeSet::new(),
    ));
    errs.extend(transition(
        &status.init_container_statuses,
        &old_status.init_container_statuses,
        status_path.child("initContainerStatuses"),
        &restart_policy,
        &sidecars,
    ));
    errs.extend(transition(
        &status.ephemeral_container_statuses,
        &old_status.ephemeral_container_statuses,
        status_path.child("ephemeralContainerStatuses"),
        "Never",
        &BTreeSet::new(),
    ));
    let pod_ips: Vec<String> = status
        .pod_ips
        .iter()
        .flatten()
        .map(|p| p.ip.clone())
        .collect();
    errs.extend(validate_ips(&pod_ips, &status_path.child("podIPs"), |i| {
        format!("{{\"IP\":{}}}", json(&pod_ips[i]))
    }));
    let host_ips: Vec<String> = status
        .host_ips
        .iter()
        .flatten()
        .map(|p| p.ip.clone())
        .collect();
    if let Some(first) = host_ips.first()
        && status.host_ip.as_deref().unwrap_or("") != first
    {
        errs.push(FieldError::invalid(
            status_path.child("hostIPs").index(0).child("ip"),
            first,
            "must be equal to `hostIP`",
        ));
    }
    errs.extend(validate_ips(
        &host_ips,
        &status_path.child("hostIPs"),
        |i| format!("{{\"IP\":{}}}", json(&host_ips[i])),
    ));
    errs
}

/// `ValidatePodTemplateSpec`, for templates inside Deployments and ReplicaSets.
pub(crate) fn validate_pod_template_spec(t: &PodTemplateSpec, path: &FieldPath) -> Vec<FieldError> {
    let default_meta = ObjectMeta::default();
    let meta = t.metadata.as_ref().unwrap_or(&default_meta);
    let default_spec = PodSpec::default();
    let spec = t.spec.as_ref().unwrap_or(&default_spec);
    let mut errs = validate_labels(meta.labels.as_ref(), &path.child("labels"));
    errs.extend(validate_annotations(
        meta.annotations.as_ref(),
        &path.child("annotations"),
    ));
    errs.extend(validate_pod_specific_annotations(
        meta.annotations.as_ref(),
        spec,
        &path.child("annotations"),
    ));
    errs.extend(validate_pod_spec(
        spec,
        None,
        &path.child("spec"),
        PodOpts {
            resource_is_pod: false,
        },
    ));
    if spec
        .ephemeral_containers
        .as_ref()
        .is_some_and(|e| !e.is_empty())
    {
        errs.push(FieldError::forbidden(
            path.child("spec").child("ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        ));
    }
    errs
}
