//! Services (`ValidateService`, `ValidateServiceUpdate`, `ValidateServiceStatusUpdate`), minus
//! what needs an IP allocator.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::container::validate_protocol;
use super::meta::{validate_labels, validate_object_meta, validate_object_meta_update};
use super::names::{
    NameRule, is_dns1123_subdomain, is_valid_port_num, validate_cidr, validate_dns1123_label,
    validate_ip, validate_port_num_or_name, validate_qualified_name,
};
use super::typed::{self, json};
use crate::error::{BadValue, FieldError, FieldPath};

const MAX_CLIENT_IP_AFFINITY_SECONDS: i32 = 86400;
const LB_SOURCE_RANGES_ANNOTATION: &str = "service.beta.kubernetes.io/load-balancer-source-ranges";

fn is_headless(spec: &ServiceSpec) -> bool {
    spec.cluster_ips
        .as_deref()
        .is_some_and(|ips| ips.len() == 1 && ips[0] == "None")
}

fn s(o: &Option<String>) -> &str {
    o.as_deref().unwrap_or("")
}

fn externally_accessible(spec: &ServiceSpec) -> bool {
    let t = s(&spec.type_);
    t == "LoadBalancer"
        || t == "NodePort"
        || (t == "ClusterIP" && spec.external_ips.as_ref().is_some_and(|e| !e.is_empty()))
}

fn needs_health_check(spec: &ServiceSpec) -> bool {
    s(&spec.type_) == "LoadBalancer" && s(&spec.external_traffic_policy) == "Local"
}

/// The internal `core.ServicePort` as Go's JSON renders it in duplicate-port errors.
fn port_key_json(protocol: &str, port: i32) -> String {
    format!(
        "{{\"Name\":\"\",\"Protocol\":{},\"AppProtocol\":null,\"Port\":{port},\"TargetPort\":0,\"NodePort\":0}}",
        json(&protocol)
    )
}

fn validate_service_port(
    sp: &ServicePort,
    require_name: bool,
    names: &mut BTreeSet<String>,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = s(&sp.name);
    if require_name && name.is_empty() {
        errs.push(FieldError::required(path.child("name"), ""));
    } else if !name.is_empty() {
        errs.extend(validate_dns1123_label(name, &path.child("name")));
        if !names.insert(name.to_owned()) {
            errs.push(FieldError::duplicate(path.child("name"), name));
        }
    }
    for m in is_valid_port_num(i64::from(sp.port)) {
        errs.push(FieldError::invalid(path.child("port"), sp.port, m));
    }
    errs.extend(validate_protocol(s(&sp.protocol), &path.child("protocol")));
    let target = sp.target_port.clone().unwrap_or(IntOrString::Int(0));
    errs.extend(validate_port_num_or_name(
        &target,
        &path.child("targetPort"),
    ));
    if let Some(ap) = &sp.app_protocol {
        errs.extend(validate_qualified_name(ap, &path.child("appProtocol")));
    }
    errs
}

fn validate_cluster_ips(spec: &ServiceSpec) -> Vec<FieldError> {
    if s(&spec.type_) == "ExternalName" {
        return Vec::new();
    }
    let mut errs = Vec::new();
    let spec_path = FieldPath::new("spec");
    let ips_path = spec_path.child("clusterIPs");
    let ips = spec.cluster_ips.as_deref().unwrap_or(&[]);
    let ips_json = || BadValue::Raw(json(&ips));
    let cluster_ip = s(&spec.cluster_ip);
    if !cluster_ip.is_empty() {
        if ips.is_empty() {
            errs.push(FieldError::required(&ips_path, ""));
        } else if ips[0] != cluster_ip {
            errs.push(FieldError::invalid(
                &ips_path,
                ips_json(),
                "first value must match `clusterIP`",
            ));
        }
    } else if !ips.is_empty() {
        errs.push(FieldError::invalid(
            &ips_path,
            ips_json(),
            "must be empty when `clusterIP` is not specified",
        ));
    }
    let families = spec.ip_families.as_deref().unwrap_or(&[]);
    let mut seen = BTreeSet::new();
    for (i, f) in families.iter().enumerate() {
        let p = spec_path.child("ipFamilies").index(i);
        if f != "IPv4" && f != "IPv6" {
            errs.push(FieldError::not_supported(&p, f, &["IPv4", "IPv6"]));
        }
        if !seen.insert(f) {
            errs.push(FieldError::duplicate(&p, f));
        }
    }
    if let Some(policy) = &spec.ip_family_policy
        && !["SingleStack", "PreferDualStack", "RequireDualStack"].contains(&policy.as_str())
    {
        errs.push(FieldError::not_supported(
            spec_path.child("ipFamilyPolicy"),
            policy,
            &["PreferDualStack", "RequireDualStack", "SingleStack"],
        ));
    }
    let mut invalid_ips = false;
    for (i, ip) in ips.iter().enumerate() {
        if i == 0 && ip == "None" {
            if ips.len() > 1 {
                invalid_ips = true;
                errs.push(FieldError::invalid(
                    &ips_path,
                    ips_json(),
                    "'None' must be the first and only value",
                ));
            }
            continue;
        }
        let e = validate_ip(&ips_path.index(i), ip);
        invalid_ips |= !e.is_empty();
        errs.extend(e);
    }
    if ips.len() > 2 {
        errs.push(FieldError::invalid(
            &ips_path,
            ips_json(),
            "may only hold up to 2 values",
        ));
    }
    if invalid_ips {
        return errs;
    }
    if ips.len() > 1 {
        let v6 = ips.iter().filter(|ip| ip.contains(':')).count();
        if v6 != 1 || ips.len() != 2 {
            errs.push(FieldError::invalid(
                &ips_path,
                ips_json(),
                "may specify no more than one IP for each IP family",
            ));
        }
    }
    if !is_headless(spec) {
        for (i, ip) in ips.iter().enumerate().take(families.len()) {
            let is_v6 = ip.contains(':');
            if families[i] == "IPv4" && is_v6 {
                errs.push(FieldError::invalid(
                    ips_path.index(i),
                    ip,
                    format!("expected an IPv4 value as indicated by `ipFamilies[{i}]`"),
                ));
            }
            if families[i] == "IPv6" && !is_v6 {
                errs.push(FieldError::invalid(
                    ips_path.index(i),
                    ip,
                    format!("expected an IPv6 value as indicated by `ipFamilies[{i}]`"),
                ));
            }
        }
    }
    errs
}

/// `ValidateService`.
fn validate_service(svc: &Service) -> Vec<FieldError> {
    let meta_path = FieldPath::new("metadata");
    let mut errs = validate_object_meta(&svc.metadata, true, NameRule::Dns1035Label, &meta_path);
    let default = ServiceSpec::default();
    let spec = svc.spec.as_ref().unwrap_or(&default);
    let spec_path = FieldPath::new("spec");
    let ty = s(&spec.type_);
    let ports = spec.ports.as_deref().unwrap_or(&[]);
    let headless = is_headless(spec);
    if ports.is_empty() && !headless && ty != "ExternalName" {
        errs.push(FieldError::required(spec_path.child("ports"), ""));
    }
    let first_ip = || {
        spec.cluster_ips
            .as_ref()
            .and_then(|i| i.first())
            .cloned()
            .unwrap_or_default()
    };
    match ty {
        "LoadBalancer" if headless => errs.push(FieldError::invalid(
            spec_path.child("clusterIPs").index(0),
            first_ip(),
            "may not be set to 'None' for LoadBalancer services",
        )),
        "NodePort" if headless => errs.push(FieldError::invalid(
            spec_path.child("clusterIPs").index(0),
            first_ip(),
            "may not be set to 'None' for NodePort services",
        )),
        "ExternalName" => {
            if spec.cluster_ips.as_ref().is_some_and(|i| !i.is_empty()) {
                errs.push(FieldError::forbidden(
                    spec_path.child("clusterIPs"),
                    "may not be set for ExternalName services",
                ));
            }
            if spec.ip_families.as_ref().is_some_and(|i| !i.is_empty()) {
                errs.push(FieldError::forbidden(
                    spec_path.child("ipFamilies"),
                    "may not be set for ExternalName services",
                ));
            }
            if spec.ip_family_policy.is_some() {
                errs.push(FieldError::forbidden(
                    spec_path.child("ipFamilyPolicy"),
                    "may not be set for ExternalName services",
                ));
            }
            let cname = s(&spec.external_name);
            let cname = cname.strip_suffix('.').unwrap_or(cname);
            if cname.is_empty() {
                errs.push(FieldError::required(spec_path.child("externalName"), ""));
            } else {
                errs.extend(super::names::invalid_each(
                    &spec_path.child("externalName"),
                    cname,
                    is_dns1123_subdomain(cname),
                ));
            }
        }
        _ => {}
    }
    let mut names = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        errs.extend(validate_service_port(
            p,
            ports.len() > 1,
            &mut names,
            &spec_path.child("ports").index(i),
        ));
    }
    if spec.selector.is_some() {
        errs.extend(validate_labels(
            spec.selector.as_ref(),
            &spec_path.child("selector"),
        ));
    }
    let affinity = s(&spec.session_affinity);
    match affinity {
        "" => errs.push(FieldError::required(spec_path.child("sessionAffinity"), "")),
        "ClientIP" | "None" => {}
        other => errs.push(FieldError::not_supported(
            spec_path.child("sessionAffinity"),
            other,
            &["ClientIP", "None"],
        )),
    }
    let sac_path = spec_path.child("sessionAffinityConfig");
    if affinity == "ClientIP" {
        let when = "when session affinity type is ClientIP";
        match spec
            .session_affinity_config
            .as_ref()
            .map(|c| c.client_ip.as_ref())
        {
            None => errs.push(FieldError::required(&sac_path, when)),
            Some(None) => errs.push(FieldError::required(sac_path.child("clientIP"), when)),
            Some(Some(cip)) => match cip.timeout_seconds {
                None => errs.push(FieldError::required(
                    sac_path.child("clientIP").child("timeoutSeconds"),
                    when,
                )),
                Some(t) if t <= 0 || t > MAX_CLIENT_IP_AFFINITY_SECONDS => {
                    errs.push(FieldError::invalid(
                        sac_path.child("clientIP").child("timeoutSeconds"),
                        t,
                        format!(
                            "must be greater than 0 and less than {MAX_CLIENT_IP_AFFINITY_SECONDS}"
                        ),
                    ))
                }
                _ => {}
            },
        }
    } else if affinity == "None" && spec.session_affinity_config.is_some() {
        errs.push(FieldError::forbidden(
            &sac_path,
            "must not be set when session affinity is None",
        ));
    }
    errs.extend(validate_cluster_ips(spec));
    for (i, ip) in spec.external_ips.iter().flatten().enumerate() {
        let p = spec_path.child("externalIPs").index(i);
        let e = validate_ip(&p, ip);
        if e.is_empty() {
            errs.extend(validate_non_special_ip(ip, &p));
        } else {
            errs.extend(e);
        }
    }
    match ty {
        "" => errs.push(FieldError::required(spec_path.child("type"), "")),
        "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName" => {}
        other => errs.push(FieldError::not_supported(
            spec_path.child("type"),
            other,
            &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
        )),
    }
    if ty == "ClusterIP" {
        for (i, p) in ports.iter().enumerate() {
            if p.node_port.unwrap_or(0) != 0 {
                errs.push(FieldError::forbidden(
                    spec_path.child("ports").index(i).child("nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
                ));
            }
        }
    }
    let mut node_ports = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        let np = p.node_port.unwrap_or(0);
        if np == 0 {
            continue;
        }
        if !node_ports.insert((s(&p.protocol).to_owned(), np)) {
            errs.push(FieldError::duplicate(
                spec_path.child("ports").index(i).child("nodePort"),
                np,
            ));
        }
    }
    let mut seen_ports = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        if !seen_ports.insert((s(&p.protocol).to_owned(), p.port)) {
            errs.push(FieldError::duplicate(
                spec_path.child("ports").index(i),
                BadValue::Raw(port_key_json(s(&p.protocol), p.port)),
            ));
        }
    }
    let ranges = spec.load_balancer_source_ranges.as_deref().unwrap_or(&[]);
    if !ranges.is_empty() {
        let p = spec_path.child("LoadBalancerSourceRanges");
        if ty != "LoadBalancer" {
            errs.push(FieldError::forbidden(
                &p,
                "may only be used when `type` is 'LoadBalancer'",
            ));
        }
        for (i, r) in ranges.iter().enumerate() {
            errs.extend(validate_cidr(&p.index(i), r.trim()));
        }
    } else if let Some(val) = svc
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(LB_SOURCE_RANGES_ANNOTATION))
    {
        let p = meta_path
            .child("annotations")
            .key(LB_SOURCE_RANGES_ANNOTATION);
        if ty != "LoadBalancer" {
            errs.push(FieldError::forbidden(
                &p,
                "may only be used when `type` is 'LoadBalancer'",
            ));
        }
        let val = val.trim();
        if !val.is_empty() {
            for r in val.split(',') {
                errs.extend(validate_cidr(&p, r.trim()));
            }
        }
    }
    if spec.allocate_load_balancer_node_ports.is_some() && ty != "LoadBalancer" {
        errs.push(FieldError::forbidden(
            spec_path.child("allocateLoadBalancerNodePorts"),
            "may only be used when `type` is 'LoadBalancer'",
        ));
    }
    if ty == "LoadBalancer" && spec.allocate_load_balancer_node_ports.is_none() {
        errs.push(FieldError::required(
            FieldPath::new("allocateLoadBalancerNodePorts"),
            "",
        ));
    }
    if let Some(class) = &spec.load_balancer_class {
        if ty == "LoadBalancer" {
            errs.extend(validate_qualified_name(
                class,
                &spec_path.child("loadBalancerClass"),
            ));
        } else {
            errs.push(FieldError::forbidden(
                spec_path.child("loadBalancerClass"),
                "may only be used when `type` is 'LoadBalancer'",
            ));
        }
    }
    let etp = s(&spec.external_traffic_policy);
    if !externally_accessible(spec) {
        if !etp.is_empty() {
            errs.push(FieldError::invalid(
                spec_path.child("externalTrafficPolicy"),
                etp,
                "may only be set for externally-accessible services",
            ));
        }
    } else if etp.is_empty() {
        errs.push(FieldError::required(
            spec_path.child("externalTrafficPolicy"),
            "",
        ));
    } else if etp != "Cluster" && etp != "Local" {
        errs.push(FieldError::not_supported(
            spec_path.child("externalTrafficPolicy"),
            etp,
            &["Cluster", "Local"],
        ));
    }
    let hc = spec.health_check_node_port.unwrap_or(0);
    if !needs_health_check(spec) {
        if hc != 0 {
            errs.push(FieldError::invalid(
                spec_path.child("healthCheckNodePort"),
                hc,
                "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
            ));
        }
    } else if hc == 0 {
        errs.push(FieldError::required(
            spec_path.child("healthCheckNodePort"),
            "",
        ));
    } else {
        for m in is_valid_port_num(i64::from(hc)) {
            errs.push(FieldError::invalid(
                spec_path.child("healthCheckNodePort"),
                hc,
                m,
            ));
        }
    }
    match &spec.internal_traffic_policy {
        None if ["NodePort", "LoadBalancer", "ClusterIP"].contains(&ty) => {
            errs.push(FieldError::required(
                spec_path.child("internalTrafficPolicy"),
                "",
            ));
        }
        Some(p) if p != "Cluster" && p != "Local" => {
            errs.push(FieldError::not_supported(
                spec_path.child("internalTrafficPolicy"),
                p,
                &["Cluster", "Local"],
            ));
        }
        _ => {}
    }
    if let Some(td) = &spec.traffic_distribution {
        let supported = ["PreferClose", "PreferSameZone", "PreferSameNode"];
        if !supported.contains(&td.as_str()) {
            errs.push(FieldError::not_supported(
                spec_path.child("trafficDistribution"),
                td,
                &supported,
            ));
        }
    }
    errs
}

/// `ValidateNonSpecialIP`.
pub(crate) fn validate_non_special_ip(ip: &str, path: &FieldPath) -> Vec<FieldError> {
    use std::net::IpAddr;
    let Ok(addr) = ip.parse::<IpAddr>() else {
        return vec![FieldError::invalid(path, ip, "must be a valid IP address")];
    };
    let mut errs = Vec::new();
    if addr.is_unspecified() {
        errs.push(FieldError::invalid(
            path,
            ip,
            format!("may not be unspecified ({ip})"),
        ));
    }
    if addr.is_loopback() {
        errs.push(FieldError::invalid(
            path,
            ip,
            "may not be in the loopback range (127.0.0.0/8, ::1/128)",
        ));
    }
    let link_local_unicast = match addr {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    };
    if link_local_unicast {
        errs.push(FieldError::invalid(
            path,
            ip,
            "may not be in the link-local range (169.254.0.0/16, fe80::/10)",
        ));
    }
    let link_local_multicast = match addr {
        IpAddr::V4(v4) => v4.octets()[..3] == [224, 0, 0],
        IpAddr::V6(v6) => (v6.segments()[0] & 0xff0f) == 0xff02,
    };
    if link_local_multicast {
        errs.push(FieldError::invalid(
            path,
            ip,
            "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",
        ));
    }
    errs
}

pub(crate) fn validate_create(obj: &Value) -> Vec<FieldError> {
    match typed::decode::<Service>(obj) {
        Ok(svc) => validate_service(&svc),
        Err(e) => vec![e],
    }
}

/// `ValidateServiceUpdate`: cluster IPs and families may not change, then the whole service.
pub(crate) fn validate_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let (n, o): (Service, Service) = match (typed::decode(new), typed::decode(old)) {
        (Ok(n), Ok(o)) => (n, o),
        (Err(e), _) | (_, Err(e)) => return vec![e],
    };
    let mut errs =
        validate_object_meta_update(&n.metadata, &o.metadata, &FieldPath::new("metadata"));
    let default = ServiceSpec::default();
    let ns = n.spec.as_ref().unwrap_or(&default);
    let os = o.spec.as_ref().unwrap_or(&default);
    let ips_path = FieldPath::new("spec").child("clusterIPs");
    let new_ips = ns.cluster_ips.clone().unwrap_or_default();
    let old_ips = os.cluster_ips.clone().unwrap_or_default();
    let external_name = s(&ns.type_) == "ExternalName" || s(&os.type_) == "ExternalName";
    if !(external_name || is_headless(ns) && is_headless(os)) {
        let raw = || BadValue::Raw(json(&new_ips));
        if old_ips.len() == new_ips.len() {
            for (i, ip) in old_ips.iter().enumerate() {
                if *ip != new_ips[i] {
                    errs.push(FieldError::invalid(
                        ips_path.index(i),
                        raw(),
                        "may not change once set",
                    ));
                }
            }
        } else if old_ips.len() > new_ips.len() {
            if new_ips.is_empty() {
                errs.push(FieldError::invalid(
                    ips_path.index(0),
                    raw(),
                    "primary clusterIP can not be unset",
                ));
            }
            if !old_ips.is_empty() && !new_ips.is_empty() && new_ips[0] != old_ips[0] {
                errs.push(FieldError::invalid(
                    ips_path.index(0),
                    raw(),
                    "may not change once set",
                ));
            }
            if new_ips.len() == 1 && s(&ns.ip_family_policy) != "SingleStack" {
                errs.push(FieldError::invalid(
                    FieldPath::new("spec").child("ipFamilyPolicy"),
                    BadValue::Raw(json(&ns.ip_family_policy)),
                    "must be set to 'SingleStack' when releasing the secondary clusterIP",
                ));
            }
        } else if !old_ips.is_empty() && new_ips[0] != old_ips[0] {
            errs.push(FieldError::invalid(
                ips_path.index(0),
                raw(),
                "may not change once set",
            ));
        }
    }
    if !external_name && is_headless(ns) == is_headless(os) && !is_headless(ns) {
        let nf = ns.ip_families.clone().unwrap_or_default();
        let of = os.ip_families.clone().unwrap_or_default();
        let fam_path = FieldPath::new("spec").child("ipFamilies").index(0);
        if nf.len() == of.len() {
            for (i, f) in of.iter().enumerate() {
                if *f != nf[i] {
                    errs.push(FieldError::invalid(
                        &fam_path,
                        BadValue::Raw(json(&nf)),
                        "may not change once set",
                    ));
                }
            }
        } else if of.len() > nf.len() {
            if new_ips.is_empty() {
                errs.push(FieldError::invalid(
                    &fam_path,
                    BadValue::Raw(json(&nf)),
                    "primary ipFamily can not be unset",
                ));
            }
            if !nf.is_empty() && nf[0] != of[0] {
                errs.push(FieldError::invalid(
                    &fam_path,
                    BadValue::Raw(json(&new_ips)),
                    "may not change once set",
                ));
            }
            if nf.len() == 1 && s(&ns.ip_family_policy) != "SingleStack" {
                errs.push(FieldError::invalid(
                    FieldPath::new("spec").child("ipFamilyPolicy"),
                    BadValue::Raw(json(&ns.ip_family_policy)),
                    "must be set to 'SingleStack' when releasing the secondary ipFamily",
                ));
            }
        } else if !of.is_empty() && !nf.is_empty() && nf[0] != of[0] {
            errs.push(FieldError::invalid(
                &fam_path,
                BadValue::Raw(json(&new_ips)),
                "may not change once set",
            ));
        }
    }
    if s(&ns.type_) == "LoadBalancer"
        && s(&os.type_) == "LoadBalancer"
        && ns.load_balancer_class != os.load_balancer_class
    {
        errs.push(FieldError::invalid(
            FieldPath::new("spec").child("loadBalancerClass"),
            BadValue::Raw(json(&ns.load_balancer_class)),
            "may not change once set",
        ));
    }
    if needs_health_check(os)
        && needs_health_check(ns)
        && ns.health_check_node_port != os.health_check_node_port
    {
        errs.push(FieldError::forbidden(
            FieldPath::new("spec").child("healthCheckNodePort"),
            "field is immutable",
        ));
    }
    errs.extend(validate_service(&n));
    errs
}

/// `ValidateServiceStatusUpdate`.
pub(crate) fn validate_status_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let (n, o): (Service, Service) = match (typed::decode(new), typed::decode(old)) {
        (Ok(n), Ok(o)) => (n, o),
        (Err(e), _) | (_, Err(e)) => return vec![e],
    };
    let mut errs =
        validate_object_meta_update(&n.metadata, &o.metadata, &FieldPath::new("metadata"));
    let path = FieldPath::new("status")
        .child("loadBalancer")
        .child("ingress");
    let ingress = n
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.clone())
        .unwrap_or_default();
    let ty = n
        .spec
        .as_ref()
        .map(|sp| s(&sp.type_).to_owned())
        .unwrap_or_default();
    if ty != "LoadBalancer" && !ingress.is_empty() {
        errs.push(FieldError::forbidden(
            &path,
            "may only be used when `spec.type` is 'LoadBalancer'",
        ));
        return errs;
    }
    for (i, ing) in ingress.iter().enumerate() {
        let p = path.index(i);
        let ip = s(&ing.ip);
        if !ip.is_empty() {
            errs.extend(validate_ip(&p.child("ip"), ip));
        }
        match &ing.ip_mode {
            None if !ip.is_empty() => errs.push(FieldError::required(
                p.child("ipMode"),
                "must be specified when `ip` is set",
            )),
            Some(_) if ip.is_empty() => errs.push(FieldError::forbidden(
                p.child("ipMode"),
                "may not be specified when `ip` is not set",
            )),
            Some(m) if m != "VIP" && m != "Proxy" => errs.push(FieldError::not_supported(
                p.child("ipMode"),
                m,
                &["Proxy", "VIP"],
            )),
            _ => {}
        }
        let host = s(&ing.hostname);
        if !host.is_empty() {
            errs.extend(super::names::invalid_each(
                &p.child("hostname"),
                host,
                is_dns1123_subdomain(host),
            ));
            if host.parse::<std::net::IpAddr>().is_ok() {
                errs.push(FieldError::invalid(
                    p.child("hostname"),
                    host,
                    "must be a DNS name, not an IP address",
                ));
            }
        }
    }
    errs
}
