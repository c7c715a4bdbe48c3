//! Endpoints (core/v1) and EndpointSlices (discovery.k8s.io/v1).

use std::collections::BTreeSet;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{EndpointAddress, Endpoints};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::Value;

use super::container::validate_protocol;
use super::meta::{
    validate_immutable, validate_labels, validate_object_meta, validate_object_meta_update,
};
use super::names::{
    NameRule, invalid_each, is_dns1123_label, is_dns1123_subdomain, is_valid_port_num,
    validate_dns1123_label, validate_ip, validate_qualified_name,
};
use super::service::validate_non_special_ip;
use super::typed::{self, json};
use crate::error::{BadValue, FieldError, FieldPath};

fn validate_endpoint_address(a: &EndpointAddress, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = validate_ip(&path.child("ip"), &a.ip);
    if let Some(h) = a.hostname.as_deref().filter(|h| !h.is_empty()) {
        errs.extend(validate_dns1123_label(h, &path.child("hostname")));
    }
    if let Some(n) = &a.node_name {
        errs.extend(invalid_each(
            &path.child("nodeName"),
            n,
            NameRule::DnsSubdomain.check(n, false),
        ));
    }
    errs.extend(validate_non_special_ip(&a.ip, &path.child("ip")));
    errs
}

/// `ValidateEndpoints`.
fn validate_endpoints(ep: &Endpoints) -> Vec<FieldError> {
    let mut errs = validate_object_meta(
        &ep.metadata,
        true,
        NameRule::DnsSubdomain,
        &FieldPath::new("metadata"),
    );
    let path = FieldPath::new("subsets");
    for (i, ss) in ep.subsets.iter().flatten().enumerate() {
        let p = path.index(i);
        let addrs = ss.addresses.as_deref().unwrap_or(&[]);
        let not_ready = ss.not_ready_addresses.as_deref().unwrap_or(&[]);
        if addrs.is_empty() && not_ready.is_empty() {
            errs.push(FieldError::required(
                &p,
                "must specify `addresses` or `notReadyAddresses`",
            ));
        }
        for (j, a) in addrs.iter().enumerate() {
            errs.extend(validate_endpoint_address(a, &p.child("addresses").index(j)));
        }
        for (j, a) in not_ready.iter().enumerate() {
            errs.extend(validate_endpoint_address(
                a,
                &p.child("notReadyAddresses").index(j),
            ));
        }
        let ports = ss.ports.as_deref().unwrap_or(&[]);
        for (j, port) in ports.iter().enumerate() {
            let pp = p.child("ports").index(j);
            let name = port.name.as_deref().unwrap_or("");
            if ports.len() > 1 && name.is_empty() {
                errs.push(FieldError::required(pp.child("name"), ""));
            } else if !name.is_empty() {
                errs.extend(validate_dns1123_label(name, &pp.child("name")));
            }
            for m in is_valid_port_num(i64::from(port.port)) {
                errs.push(FieldError::invalid(pp.child("port"), port.port, m));
            }
            errs.extend(validate_protocol(
                port.protocol.as_deref().unwrap_or(""),
                &pp.child("protocol"),
            ));
            if let Some(ap) = &port.app_protocol {
                errs.extend(validate_qualified_name(ap, &pp.child("appProtocol")));
            }
        }
    }
    errs
}

pub(crate) fn validate_endpoints_create(obj: &Value) -> Vec<FieldError> {
    match typed::decode::<Endpoints>(obj) {
        Ok(ep) => validate_endpoints(&ep),
        Err(e) => vec![e],
    }
}

pub(crate) fn validate_endpoints_update(new: &Value, old: &Value) -> Vec<FieldError> {
    match (
        typed::decode::<Endpoints>(new),
        typed::decode::<Endpoints>(old),
    ) {
        (Ok(n), Ok(o)) => {
            let mut errs =
                validate_object_meta_update(&n.metadata, &o.metadata, &FieldPath::new("metadata"));
            errs.extend(validate_endpoints(&n));
            errs
        }
        (Err(e), _) | (_, Err(e)) => vec![e],
    }
}

const MAX_ADDRESSES: usize = 100;
const MAX_PORTS: usize = 100;
const MAX_ENDPOINTS: usize = 1000;
const MAX_TOPOLOGY_LABELS: usize = 16;
const MAX_HINTS: usize = 8;

/// `ValidateEndpointSlice`; `allow_deprecated_ip` accepts the old `IP` address type on update.
fn validate_endpoint_slice(es: &EndpointSlice, allow_deprecated_ip: bool) -> Vec<FieldError> {
    let mut errs = validate_object_meta(
        &es.metadata,
        true,
        NameRule::DnsSubdomain,
        &FieldPath::new("metadata"),
    );
    let at_path = FieldPath::new("addressType");
    let mut supported = vec!["FQDN", "IPv4", "IPv6"];
    if allow_deprecated_ip {
        supported.insert(1, "IP");
    }
    if es.address_type.is_empty() {
        errs.push(FieldError::required(&at_path, ""));
    } else if !supported.contains(&es.address_type.as_str()) {
        errs.push(FieldError::not_supported(
            &at_path,
            &es.address_type,
            &supported,
        ));
    }
    let ep_path = FieldPath::new("endpoints");
    let endpoints = es.endpoints.as_deref().unwrap_or(&[]);
    if endpoints.len() > MAX_ENDPOINTS {
        errs.push(FieldError::too_many(
            &ep_path,
            endpoints.len(),
            MAX_ENDPOINTS,
        ));
    } else {
        for (i, ep) in endpoints.iter().enumerate() {
            let p = ep_path.index(i);
            let ap = p.child("addresses");
            if ep.addresses.is_empty() {
                errs.push(FieldError::required(&ap, "must contain at least 1 address"));
            } else if ep.addresses.len() > MAX_ADDRESSES {
                errs.push(FieldError::too_many(&ap, ep.addresses.len(), MAX_ADDRESSES));
            }
            for (j, a) in ep.addresses.iter().enumerate() {
                let aj = ap.index(j);
                match es.address_type.as_str() {
                    "IP" => errs.extend(validate_ip(&aj, a)),
                    "IPv4" => {
                        if matches!(a.parse::<IpAddr>(), Ok(IpAddr::V4(_))) {
                            errs.extend(validate_non_special_ip(a, &aj));
                        } else {
                            errs.push(FieldError::invalid(&aj, a, "must be a valid IPv4 address"));
                        }
                    }
                    "IPv6" => {
                        if matches!(a.parse::<IpAddr>(), Ok(IpAddr::V6(_))) {
                            errs.extend(validate_non_special_ip(a, &aj));
                        } else {
                            errs.push(FieldError::invalid(&aj, a, "must be a valid IPv6 address"));
                        }
                    }
                    "FQDN" => errs.extend(validate_fqdn(a, &aj)),
                    _ => {}
                }
            }
            if let Some(nn) = &ep.node_name {
                errs.extend(invalid_each(
                    &p.child("nodeName"),
                    nn,
                    NameRule::DnsSubdomain.check(nn, false),
                ));
            }
            let tp = p.child("deprecatedTopology");
            if let Some(t) = &ep.deprecated_topology {
                if t.len() > MAX_TOPOLOGY_LABELS {
                    errs.push(FieldError::too_many(&tp, t.len(), MAX_TOPOLOGY_LABELS));
                }
                errs.extend(validate_labels(Some(t), &tp));
            }
            if let Some(h) = &ep.hostname {
                errs.extend(validate_dns1123_label(h, &p.child("hostname")));
            }
            if let Some(hints) = &ep.hints {
                let zones = hints.for_zones.as_deref().unwrap_or(&[]);
                let zp = p.child("hints").child("forZones");
                if zones.len() > MAX_HINTS {
                    errs.push(FieldError::too_many(&zp, zones.len(), MAX_HINTS));
                } else {
                    let mut seen = BTreeSet::new();
                    for (k, z) in zones.iter().enumerate() {
                        let zk = zp.index(k).child("name");
                        if !seen.insert(&z.name) {
                            errs.push(FieldError::duplicate(&zk, &z.name));
                        } else {
                            errs.extend(invalid_each(
                                &zk,
                                &z.name,
                                super::names::is_label_value(&z.name),
                            ));
                        }
                    }
                }
            }
        }
    }
    let port_path = FieldPath::new("ports");
    let ports = es.ports.as_deref().unwrap_or(&[]);
    if ports.len() > MAX_PORTS {
        errs.push(FieldError::too_many(&port_path, ports.len(), MAX_PORTS));
        return errs;
    }
    let mut names = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let p = port_path.index(i);
        let name = port.name.clone().unwrap_or_default();
        if !name.is_empty() {
            errs.extend(invalid_each(
                &p.child("name"),
                &name,
                is_dns1123_label(&name),
            ));
        }
        if !names.insert(name.clone()) {
            errs.push(FieldError::duplicate(
                p.child("name"),
                BadValue::Raw(json(&name)),
            ));
        }
        match port.protocol.as_deref() {
            None => errs.push(FieldError::required(p.child("protocol"), "")),
            Some(proto) if !["SCTP", "TCP", "UDP"].contains(&proto) => {
                errs.push(FieldError::not_supported(
                    p.child("protocol"),
                    proto,
                    &["SCTP", "TCP", "UDP"],
                ));
            }
            _ => {}
        }
        if let Some(ap) = &port.app_protocol {
            errs.extend(validate_qualified_name(ap, &p.child("appProtocol")));
        }
    }
    errs
}

/// `IsFullyQualifiedDomainName`.
fn validate_fqdn(name: &str, path: &FieldPath) -> Vec<FieldError> {
    if name.is_empty() {
        return vec![FieldError::required(path, "")];
    }
    let name = name.strip_suffix('.').unwrap_or(name);
    let e = is_dns1123_subdomain(name);
    if !e.is_empty() {
        return vec![FieldError::invalid(path, name, e.join(","))];
    }
    if name.split('.').count() < 2 {
        return vec![FieldError::invalid(
            path,
            name,
            "should be a domain with at least two segments separated by dots",
        )];
    }
    for label in name.split('.') {
        let e = is_dns1123_label(label);
        if !e.is_empty() {
            return vec![FieldError::invalid(path, label, e.join(","))];
        }
    }
    Vec::new()
}

pub(crate) fn validate_endpoint_slice_create(obj: &Value) -> Vec<FieldError> {
    match typed::decode::<EndpointSlice>(obj) {
        Ok(es) => validate_endpoint_slice(&es, false),
        Err(e) => vec![e],
    }
}

pub(crate) fn validate_endpoint_slice_update(new: &Value, old: &Value) -> Vec<FieldError> {
    match (
        typed::decode::<EndpointSlice>(new),
        typed::decode::<EndpointSlice>(old),
    ) {
        (Ok(n), Ok(o)) => {
            let mut errs =
                validate_object_meta_update(&n.metadata, &o.metadata, &FieldPath::new("metadata"));
            errs.extend(validate_endpoint_slice(&n, true));
            errs.extend(validate_immutable(
                &n.address_type,
                &o.address_type,
                FieldPath::new("addressType"),
            ));
            errs
        }
        (Err(e), _) | (_, Err(e)) => vec![e],
    }
}
