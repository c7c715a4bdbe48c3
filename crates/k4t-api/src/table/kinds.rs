//! The printers of every kind but pods, over the object's JSON.

use std::collections::BTreeSet;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as metav1;
use serde::Deserialize;
use serde_json::Value;

use super::json::{arr_at, bool_at, get, i64_at, len_at, opt_i64_at, opt_str_at, str_at, time_at};
use crate::duration::since;
use crate::selector::{LabelSelector, format_labels};

fn name(obj: &Value) -> Value {
    Value::from(str_at(obj, &["metadata", "name"]))
}

fn age(obj: &Value, now: Timestamp) -> Value {
    Value::from(since(now, time_at(obj, &["metadata", "creationTimestamp"])))
}

/// `layoutContainerCells`: container names and images, each joined with `,`.
fn containers_and_images(template_spec: Option<&Value>) -> (Value, Value) {
    let containers = template_spec.map_or(&[][..], |s| arr_at(s, &["containers"]));
    let names: Vec<&str> = containers.iter().map(|c| str_at(c, &["name"])).collect();
    let images: Vec<&str> = containers.iter().map(|c| str_at(c, &["image"])).collect();
    (Value::from(names.join(",")), Value::from(images.join(",")))
}

fn label_selector(v: Option<&Value>) -> Result<Option<metav1::LabelSelector>, ()> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => metav1::LabelSelector::deserialize(v)
            .map(Some)
            .map_err(|_| ()),
    }
}

/// A string-to-string map field as `labels.FormatLabels` prints it.
fn format_map(v: Option<&Value>) -> String {
    let pairs = v
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or("")));
    format_labels(pairs)
}

pub fn deployment(obj: &Value, now: Timestamp) -> Vec<Value> {
    let selector = match label_selector(get(obj, &["spec", "selector"])) {
        Ok(sel) => match LabelSelector::from_optional_label_selector(sel.as_ref()) {
            Ok(s) => s.to_string(),
            Err(_) => "<invalid>".to_owned(),
        },
        Err(()) => "<invalid>".to_owned(),
    };
    let (names, images) = containers_and_images(get(obj, &["spec", "template", "spec"]));
    vec![
        name(obj),
        Value::from(format!(
            "{}/{}",
            i64_at(obj, &["status", "readyReplicas"]),
            i64_at(obj, &["spec", "replicas"])
        )),
        Value::from(i64_at(obj, &["status", "updatedReplicas"])),
        Value::from(i64_at(obj, &["status", "availableReplicas"])),
        age(obj, now),
        names,
        images,
        Value::from(selector),
    ]
}

pub fn replica_set(obj: &Value, now: Timestamp) -> Vec<Value> {
    let selector = match label_selector(get(obj, &["spec", "selector"])) {
        Ok(sel) => crate::selector::format_label_selector(sel.as_ref()),
        Err(()) => "<error>".to_owned(),
    };
    let (names, images) = containers_and_images(get(obj, &["spec", "template", "spec"]));
    vec![
        name(obj),
        Value::from(i64_at(obj, &["spec", "replicas"])),
        Value::from(i64_at(obj, &["status", "replicas"])),
        Value::from(i64_at(obj, &["status", "readyReplicas"])),
        age(obj, now),
        names,
        images,
        Value::from(selector),
    ]
}

/// `loadBalancerStatusStringer` for wide output: unique IPs or hostnames, sorted.
fn load_balancer_ingress(obj: &Value) -> String {
    let set: BTreeSet<&str> = arr_at(obj, &["status", "loadBalancer", "ingress"])
        .iter()
        .filter_map(|i| {
            let ip = str_at(i, &["ip"]);
            let host = str_at(i, &["hostname"]);
            if !ip.is_empty() {
                Some(ip)
            } else if !host.is_empty() {
                Some(host)
            } else {
                None
            }
        })
        .collect();
    set.into_iter().collect::<Vec<_>>().join(",")
}

fn service_external_ip(obj: &Value) -> String {
    let external: Vec<&str> = arr_at(obj, &["spec", "externalIPs"])
        .iter()
        .map(|v| v.as_str().unwrap_or(""))
        .collect();
    match str_at(obj, &["spec", "type"]) {
        "ClusterIP" | "NodePort" => {
            if external.is_empty() {
                "<none>".to_owned()
            } else {
                external.join(",")
            }
        }
        "LoadBalancer" => {
            let lb = load_balancer_ingress(obj);
            if !external.is_empty() {
                let mut all: Vec<&str> = Vec::new();
                if !lb.is_empty() {
                    all.extend(lb.split(','));
                }
                all.extend(external);
                all.join(",")
            } else if !lb.is_empty() {
                lb
            } else {
                "<pending>".to_owned()
            }
        }
        "ExternalName" => str_at(obj, &["spec", "externalName"]).to_owned(),
        _ => "<unknown>".to_owned(),
    }
}

/// `80/TCP`, `80:30080/TCP`, joined with `,`.
fn service_ports(obj: &Value) -> String {
    let ports: Vec<String> = arr_at(obj, &["spec", "ports"])
        .iter()
        .map(|p| {
            let port = i64_at(p, &["port"]);
            let proto = str_at(p, &["protocol"]);
            let node_port = i64_at(p, &["nodePort"]);
            if node_port > 0 {
                format!("{port}:{node_port}/{proto}")
            } else {
                format!("{port}/{proto}")
            }
        })
        .collect();
    if ports.is_empty() {
        "<none>".to_owned()
    } else {
        ports.join(",")
    }
}

pub fn service(obj: &Value, now: Timestamp) -> Vec<Value> {
    // Objects written before `clusterIPs` existed only carry `clusterIP`.
    let cluster_ip = arr_at(obj, &["spec", "clusterIPs"])
        .first()
        .and_then(Value::as_str)
        .or_else(|| opt_str_at(obj, &["spec", "clusterIP"]).filter(|s| !s.is_empty()))
        .unwrap_or("<none>");
    vec![
        name(obj),
        Value::from(str_at(obj, &["spec", "type"])),
        Value::from(cluster_ip),
        Value::from(service_external_ip(obj)),
        Value::from(service_ports(obj)),
        age(obj, now),
        Value::from(format_map(get(obj, &["spec", "selector"]))),
    ]
}

/// `net.JoinHostPort`: IPv6 addresses get brackets.
fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `formatEndpoints`: up to three addresses, then `+ N more...`.
fn format_endpoints(obj: &Value) -> String {
    let subsets = arr_at(obj, &["subsets"]);
    if subsets.is_empty() {
        return "<none>".to_owned();
    }
    const MAX: usize = 3;
    let mut list: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0usize;
    for ss in subsets {
        let addresses = arr_at(ss, &["addresses"]);
        let ports = arr_at(ss, &["ports"]);
        if ports.is_empty() {
            // Headless services without ports list bare addresses.
            count += addresses.len();
            for a in addresses {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push(str_at(a, &["ip"]).to_owned());
            }
            continue;
        }
        for p in ports {
            count += addresses.len();
            for a in addresses {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push(join_host_port(str_at(a, &["ip"]), i64_at(p, &["port"])));
            }
        }
    }
    let ret = list.join(",");
    if more {
        format!("{ret} + {} more...", count.saturating_sub(MAX))
    } else {
        ret
    }
}

pub fn endpoints(obj: &Value, now: Timestamp) -> Vec<Value> {
    vec![name(obj), Value::from(format_endpoints(obj)), age(obj, now)]
}

/// `listWithMoreString`: `<unset>` when empty.
fn list_with_more(list: &[String], more: bool, count: usize, max: usize) -> String {
    let ret = list.join(",");
    if more {
        return format!("{ret} + {} more...", count.saturating_sub(max));
    }
    if ret.is_empty() {
        "<unset>".to_owned()
    } else {
        ret
    }
}

pub fn endpoint_slice(obj: &Value, now: Timestamp) -> Vec<Value> {
    const MAX: usize = 3;
    let mut ports: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0;
    for p in arr_at(obj, &["ports"]) {
        if ports.len() < MAX {
            let port = match (opt_i64_at(p, &["port"]), opt_str_at(p, &["name"])) {
                (Some(n), _) => n.to_string(),
                (None, Some(name)) => name.to_owned(),
                (None, None) => "*".to_owned(),
            };
            ports.push(port);
        } else if ports.len() == MAX {
            more = true;
        }
        count += 1;
    }
    let ports = list_with_more(&ports, more, count, MAX);

    let mut addresses: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0;
    for e in arr_at(obj, &["endpoints"]) {
        for a in arr_at(e, &["addresses"]) {
            if addresses.len() < MAX {
                addresses.push(a.as_str().unwrap_or("").to_owned());
            } else if addresses.len() == MAX {
                more = true;
            }
            count += 1;
        }
    }
    let endpoints = list_with_more(&addresses, more, count, MAX);
    vec![
        name(obj),
        Value::from(str_at(obj, &["addressType"])),
        Value::from(ports),
        Value::from(endpoints),
        age(obj, now),
    ]
}

fn node_address(obj: &Value, ty: &str) -> String {
    arr_at(obj, &["status", "addresses"])
        .iter()
        .find(|a| str_at(a, &["type"]) == ty)
        .map_or_else(
            || "<none>".to_owned(),
            |a| str_at(a, &["address"]).to_owned(),
        )
}

/// Roles from `node-role.kubernetes.io/<role>` keys and the `kubernetes.io/role` value.
fn node_roles(obj: &Value) -> String {
    let mut roles: BTreeSet<&str> = BTreeSet::new();
    for (k, v) in get(obj, &["metadata", "labels"])
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
            if !role.is_empty() {
                roles.insert(role);
            }
        } else if k == "kubernetes.io/role" {
            let v = v.as_str().unwrap_or("");
            if !v.is_empty() {
                roles.insert(v);
            }
        }
    }
    if roles.is_empty() {
        "<none>".to_owned()
    } else {
        roles.into_iter().collect::<Vec<_>>().join(",")
    }
}

pub fn node(obj: &Value, now: Timestamp) -> Vec<Value> {
    // The last Ready condition wins, as Go builds a map by type.
    let ready = arr_at(obj, &["status", "conditions"])
        .iter()
        .rev()
        .find(|c| str_at(c, &["type"]) == "Ready");
    let mut status = vec![match ready {
        Some(c) if str_at(c, &["status"]) == "True" => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }];
    if bool_at(obj, &["spec", "unschedulable"]) {
        status.push("SchedulingDisabled");
    }
    let info = |field: &str| {
        let v = str_at(obj, &["status", "nodeInfo", field]);
        Value::from(if v.is_empty() { "<unknown>" } else { v })
    };
    vec![
        name(obj),
        Value::from(status.join(",")),
        Value::from(node_roles(obj)),
        age(obj, now),
        Value::from(str_at(obj, &["status", "nodeInfo", "kubeletVersion"])),
        Value::from(node_address(obj, "InternalIP")),
        Value::from(node_address(obj, "ExternalIP")),
        info("osImage"),
        info("kernelVersion"),
        info("containerRuntimeVersion"),
    ]
}

/// The `core/v1` Event form; events.k8s.io/v1 events are stored and printed the same way.
pub fn event(obj: &Value, now: Timestamp) -> Vec<Value> {
    let first_seen = match time_at(obj, &["firstTimestamp"]) {
        Some(t) => since(now, Some(t)),
        None => since(now, time_at(obj, &["eventTime"])),
    };
    let mut last_seen = match time_at(obj, &["lastTimestamp"]) {
        Some(t) => since(now, Some(t)),
        None => first_seen.clone(),
    };
    let series = get(obj, &["series"]).filter(|s| !s.is_null());
    let count = match series {
        Some(s) => {
            last_seen = since(now, time_at(s, &["lastObservedTime"]));
            i64_at(s, &["count"])
        }
        None => match i64_at(obj, &["count"]) {
            // Singleton events of the newer API carry no count.
            0 => 1,
            n => n,
        },
    };
    let kind = str_at(obj, &["involvedObject", "kind"]).to_lowercase();
    let involved_name = str_at(obj, &["involvedObject", "name"]);
    let target = if involved_name.is_empty() {
        kind
    } else {
        format!("{kind}/{involved_name}")
    };
    let first_non_empty = |a: &'_ str, b: &'_ str| -> String {
        if a.is_empty() {
            b.to_owned()
        } else {
            a.to_owned()
        }
    };
    let component = first_non_empty(
        str_at(obj, &["source", "component"]),
        str_at(obj, &["reportingComponent"]),
    );
    let instance = first_non_empty(
        str_at(obj, &["source", "host"]),
        str_at(obj, &["reportingInstance"]),
    );
    let source = if instance.is_empty() {
        component
    } else {
        format!("{component}, {instance}")
    };
    vec![
        Value::from(last_seen),
        Value::from(str_at(obj, &["type"])),
        Value::from(str_at(obj, &["reason"])),
        Value::from(target),
        Value::from(str_at(obj, &["involvedObject", "fieldPath"])),
        Value::from(source),
        Value::from(str_at(obj, &["message"]).trim()),
        Value::from(first_seen),
        Value::from(count),
        name(obj),
    ]
}

pub fn namespace(obj: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        name(obj),
        Value::from(str_at(obj, &["status", "phase"])),
        age(obj, now),
    ]
}

pub fn secret(obj: &Value, now: Timestamp) -> Vec<Value> {
    // The API server folds `stringData` into `data`; count the union for objects that were
    // stored unfolded.
    let data = get(obj, &["data"]).and_then(Value::as_object);
    let string_data = get(obj, &["stringData"]).and_then(Value::as_object);
    let extra = string_data.map_or(0, |sd| {
        sd.keys()
            .filter(|k| data.is_none_or(|d| !d.contains_key(*k)))
            .count()
    });
    let count = data.map_or(0, |d| d.len()) + extra;
    vec![
        name(obj),
        Value::from(str_at(obj, &["type"])),
        Value::from(count),
        age(obj, now),
    ]
}

pub fn service_account(obj: &Value, now: Timestamp) -> Vec<Value> {
    vec![name(obj), age(obj, now)]
}

pub fn config_map(obj: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        name(obj),
        Value::from(len_at(obj, &["data"]) + len_at(obj, &["binaryData"])),
        age(obj, now),
    ]
}

pub fn lease(obj: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        name(obj),
        Value::from(str_at(obj, &["spec", "holderIdentity"])),
        age(obj, now),
    ]
}

/// The default table convertor: the name and the creation time in RFC 3339 (UTC).
pub fn default(obj: &Value) -> Vec<Value> {
    let created = match time_at(obj, &["metadata", "creationTimestamp"]) {
        Some(t) => t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => "0001-01-01T00:00:00Z".to_owned(),
    };
    vec![name(obj), Value::from(created)]
}
