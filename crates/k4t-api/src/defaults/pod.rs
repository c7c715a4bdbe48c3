//! Pod and pod-template defaults (`SetDefaults_PodSpec`, `SetDefaults_Pod`, the container,
//! probe, volume and env defaults), plus what the default admission plugins add to new pods
//! (ServiceAccount, Priority, DefaultTolerationSeconds).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, EnvVar, HTTPGetAction, Lifecycle, Pod, PodSecurityContext, PodSpec, Probe,
    ResourceRequirements, Toleration, Volume,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as KQuantity;

use crate::validation::quantity::Quantity;

const DEFAULT_FILE_MODE: i32 = 0o644;

/// Rounds every quantity up to milli-units and prints it canonically, as the API server stores
/// resource lists.
pub(crate) fn default_resource_list(list: &mut Option<BTreeMap<String, KQuantity>>) {
    for q in list.iter_mut().flat_map(|l| l.values_mut()) {
        if let Ok(v) = Quantity::parse(&q.0) {
            q.0 = v.round_up_to_milli().to_string();
        }
    }
}

/// The tag `ParseImageName` finds: `latest` when neither tag nor digest is given, `None` when
/// the reference does not parse.
fn image_tag(image: &str) -> Option<String> {
    if image.is_empty() || image.chars().any(char::is_whitespace) {
        return None;
    }
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (repo, tag) = match name[last_slash..].rfind(':') {
        Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
        None => (name, None),
    };
    // The repository path (after any registry host) must be lower case.
    let path = match repo.split_once('/') {
        Some((host, rest)) if host.contains('.') || host.contains(':') || host == "localhost" => {
            rest
        }
        _ => repo,
    };
    if path.is_empty() || path.chars().any(|c| c.is_ascii_uppercase()) {
        return None;
    }
    match (tag, digest) {
        (Some(t), _) => Some(t.to_owned()),
        (None, Some(_)) => Some(String::new()),
        (None, None) => Some("latest".to_owned()),
    }
}

/// `Always` for `latest` or untagged images, `IfNotPresent` otherwise.
pub fn default_pull_policy(image: &str) -> &'static str {
    if image_tag(image).as_deref() == Some("latest") {
        "Always"
    } else {
        "IfNotPresent"
    }
}

fn default_http_get(h: &mut HTTPGetAction) {
    if h.path.as_deref().unwrap_or("").is_empty() {
        h.path = Some("/".to_owned());
    }
    if h.scheme.as_deref().unwrap_or("").is_empty() {
        h.scheme = Some("HTTP".to_owned());
    }
}

fn default_probe(p: &mut Probe) {
    for (field, value) in [
        (&mut p.timeout_seconds, 1),
        (&mut p.period_seconds, 10),
        (&mut p.success_threshold, 1),
        (&mut p.failure_threshold, 3),
    ] {
        if field.unwrap_or(0) == 0 {
            *field = Some(value);
        }
    }
    if let Some(h) = &mut p.http_get {
        default_http_get(h);
    }
    if let Some(g) = &mut p.grpc
        && g.service.is_none()
    {
        g.service = Some(String::new());
    }
}

fn default_lifecycle(l: &mut Lifecycle) {
    for h in [&mut l.post_start, &mut l.pre_stop].into_iter().flatten() {
        if let Some(hg) = &mut h.http_get {
            default_http_get(hg);
        }
    }
}

fn default_env(env: &mut Option<Vec<EnvVar>>) {
    for e in env.iter_mut().flatten() {
        if let Some(fr) = e.value_from.as_mut().and_then(|v| v.field_ref.as_mut())
            && fr.api_version.as_deref().unwrap_or("").is_empty()
        {
            fr.api_version = Some("v1".to_owned());
        }
    }
}

fn default_resources(r: &mut Option<ResourceRequirements>) {
    let r = r.get_or_insert_with(Default::default);
    default_resource_list(&mut r.limits);
    default_resource_list(&mut r.requests);
}

/// `SetDefaults_Container` and the defaults of what a container holds.
pub(crate) fn default_container(c: &mut Container) {
    if c.image_pull_policy.as_deref().unwrap_or("").is_empty() {
        c.image_pull_policy =
            Some(default_pull_policy(c.image.as_deref().unwrap_or("")).to_owned());
    }
    if c.termination_message_path
        .as_deref()
        .unwrap_or("")
        .is_empty()
    {
        c.termination_message_path = Some("/dev/termination-log".to_owned());
    }
    if c.termination_message_policy
        .as_deref()
        .unwrap_or("")
        .is_empty()
    {
        c.termination_message_policy = Some("File".to_owned());
    }
    for p in c.ports.iter_mut().flatten() {
        if p.protocol.as_deref().unwrap_or("").is_empty() {
            p.protocol = Some("TCP".to_owned());
        }
    }
    default_env(&mut c.env);
    default_resources(&mut c.resources);
    for p in [
        &mut c.liveness_probe,
        &mut c.readiness_probe,
        &mut c.startup_probe,
    ]
    .into_iter()
    .flatten()
    {
        default_probe(p);
    }
    if let Some(l) = &mut c.lifecycle {
        default_lifecycle(l);
    }
}

/// `SetDefaults_Volume` and the volume sources' defaults.
pub(crate) fn default_volume(v: &mut Volume) {
    let source_set = {
        let mut copy = serde_json::to_value(&*v).unwrap_or_default();
        if let Some(o) = copy.as_object_mut() {
            o.remove("name");
            o.retain(|_, v| !v.is_null());
        }
        copy.as_object().is_some_and(|o| !o.is_empty())
    };
    if !source_set {
        v.empty_dir = Some(Default::default());
    }
    if let Some(ed) = &mut v.empty_dir
        && let Some(limit) = &mut ed.size_limit
        && let Ok(q) = Quantity::parse(&limit.0)
    {
        limit.0 = q.to_string();
    }
    if let Some(hp) = &mut v.host_path
        && hp.type_.is_none()
    {
        hp.type_ = Some(String::new());
    }
    if let Some(s) = &mut v.secret {
        s.default_mode.get_or_insert(DEFAULT_FILE_MODE);
    }
    if let Some(c) = &mut v.config_map {
        c.default_mode.get_or_insert(DEFAULT_FILE_MODE);
    }
    if let Some(d) = &mut v.downward_api {
        d.default_mode.get_or_insert(DEFAULT_FILE_MODE);
        for f in d.items.iter_mut().flatten() {
            if let Some(fr) = &mut f.field_ref
                && fr.api_version.as_deref().unwrap_or("").is_empty()
            {
                fr.api_version = Some("v1".to_owned());
            }
        }
    }
    if let Some(p) = &mut v.projected {
        p.default_mode.get_or_insert(DEFAULT_FILE_MODE);
        for src in p.sources.iter_mut().flatten() {
            if let Some(t) = &mut src.service_account_token {
                t.expiration_seconds.get_or_insert(3600);
            }
            for f in src
                .downward_api
                .iter_mut()
                .flat_map(|d| d.items.iter_mut().flatten())
            {
                if let Some(fr) = &mut f.field_ref
                    && fr.api_version.as_deref().unwrap_or("").is_empty()
                {
                    fr.api_version = Some("v1".to_owned());
                }
            }
        }
    }
    if let Some(img) = &mut v.image
        && img.pull_policy.as_deref().unwrap_or("").is_empty()
    {
        let tag = image_tag(img.reference.as_deref().unwrap_or(""));
        img.pull_policy = Some(
            if tag.as_deref() == Some("latest") {
                "Always"
            } else {
                "IfNotPresent"
            }
            .to_owned(),
        );
    }
}

/// `SetDefaults_PodSpec` and everything below it: what both pods and templates get.
pub(crate) fn default_pod_spec(spec: &mut PodSpec) {
    if spec.dns_policy.as_deref().unwrap_or("").is_empty() {
        spec.dns_policy = Some("ClusterFirst".to_owned());
    }
    if spec.restart_policy.as_deref().unwrap_or("").is_empty() {
        spec.restart_policy = Some("Always".to_owned());
    }
    if spec.security_context.is_none() {
        spec.security_context = Some(PodSecurityContext::default());
    }
    spec.termination_grace_period_seconds.get_or_insert(30);
    if spec.scheduler_name.as_deref().unwrap_or("").is_empty() {
        spec.scheduler_name = Some("default-scheduler".to_owned());
    }
    // v1 keeps serviceAccount as an alias of serviceAccountName; the newer field wins.
    if spec
        .service_account_name
        .as_deref()
        .unwrap_or("")
        .is_empty()
        && spec
            .service_account
            .as_deref()
            .is_some_and(|s| !s.is_empty())
    {
        spec.service_account_name = spec.service_account.clone();
    }
    spec.service_account = spec.service_account_name.clone().filter(|s| !s.is_empty());
    for v in spec.volumes.iter_mut().flatten() {
        default_volume(v);
    }
    for c in spec
        .init_containers
        .iter_mut()
        .flatten()
        .chain(spec.containers.iter_mut())
    {
        default_container(c);
    }
    for ec in spec.ephemeral_containers.iter_mut().flatten() {
        if ec.image_pull_policy.as_deref().unwrap_or("").is_empty() {
            ec.image_pull_policy =
                Some(default_pull_policy(ec.image.as_deref().unwrap_or("")).to_owned());
        }
        if ec
            .termination_message_path
            .as_deref()
            .unwrap_or("")
            .is_empty()
        {
            ec.termination_message_path = Some("/dev/termination-log".to_owned());
        }
        if ec
            .termination_message_policy
            .as_deref()
            .unwrap_or("")
            .is_empty()
        {
            ec.termination_message_policy = Some("File".to_owned());
        }
        default_env(&mut ec.env);
    }
    default_resource_list(&mut spec.overhead);
    if let Some(r) = &mut spec.resources {
        default_resource_list(&mut r.limits);
        default_resource_list(&mut r.requests);
    }
}

/// Requests default to limits for each resource only limited (pods only, not templates).
fn default_requests_from_limits(c: &mut Container) {
    let Some(r) = &mut c.resources else {
        return;
    };
    let Some(limits) = &r.limits else {
        return;
    };
    let requests = r.requests.get_or_insert_with(BTreeMap::new);
    for (k, v) in limits {
        requests.entry(k.clone()).or_insert_with(|| v.clone());
    }
}

/// `SetDefaults_Pod`: the pod-only defaults on top of the spec's.
pub(crate) fn default_pod(pod: &mut Pod) {
    let spec = pod.spec.get_or_insert_with(Default::default);
    default_pod_spec(spec);
    for c in spec
        .containers
        .iter_mut()
        .chain(spec.init_containers.iter_mut().flatten())
    {
        default_requests_from_limits(c);
    }
    spec.enable_service_links.get_or_insert(true);
    if spec.host_network == Some(true) {
        for c in spec
            .containers
            .iter_mut()
            .chain(spec.init_containers.iter_mut().flatten())
        {
            for p in c.ports.iter_mut().flatten() {
                if p.host_port.unwrap_or(0) == 0 {
                    p.host_port = Some(p.container_port);
                }
            }
        }
    }
    // v1 carries the first pod and host IPs twice; keep the pairs in step.
    if let Some(st) = &mut pod.status {
        let pod_ip = st.pod_ip.clone().filter(|s| !s.is_empty());
        match (&st.pod_ips, pod_ip) {
            (Some(ips), _) if !ips.is_empty() => st.pod_ip = Some(ips[0].ip.clone()),
            (_, Some(ip)) => st.pod_ips = Some(vec![k8s_openapi::api::core::v1::PodIP { ip }]),
            _ => {}
        }
        let host_ip = st.host_ip.clone().filter(|s| !s.is_empty());
        match (&st.host_ips, host_ip) {
            (Some(ips), _) if !ips.is_empty() => st.host_ip = Some(ips[0].ip.clone()),
            (_, Some(ip)) => st.host_ips = Some(vec![k8s_openapi::api::core::v1::HostIP { ip }]),
            _ => {}
        }
    }
}

/// The priorities of the built-in PriorityClasses.
fn builtin_priority(class: &str) -> Option<i32> {
    match class {
        "system-node-critical" => Some(2_000_001_000),
        "system-cluster-critical" => Some(2_000_000_000),
        _ => None,
    }
}

fn not_ready_toleration(key: &str) -> Toleration {
    Toleration {
        key: Some(key.to_owned()),
        operator: Some("Exists".to_owned()),
        effect: Some("NoExecute".to_owned()),
        toleration_seconds: Some(300),
        value: None,
    }
}

/// What Kubernetes' default admission plugins add to a pod: the `default` service account
/// (ServiceAccount), priority 0 and PreemptLowerPriority without a priority class (Priority), and
/// 300 s tolerations of not-ready and unreachable nodes (DefaultTolerationSeconds). Each only
/// fills what is missing, so applying them again changes nothing.
pub(crate) fn admission_defaults(pod: &mut Pod) {
    let spec = pod.spec.get_or_insert_with(Default::default);
    if spec
        .service_account_name
        .as_deref()
        .unwrap_or("")
        .is_empty()
    {
        spec.service_account_name = Some("default".to_owned());
        spec.service_account = Some("default".to_owned());
    }
    let class = spec.priority_class_name.clone().unwrap_or_default();
    let priority = if class.is_empty() {
        Some(0)
    } else {
        builtin_priority(&class)
    };
    if spec.priority.is_none() {
        spec.priority = priority;
    }
    if spec.preemption_policy.is_none() && priority.is_some() {
        spec.preemption_policy = Some("PreemptLowerPriority".to_owned());
    }
    let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
    let tolerates = |key: &str, ts: &[Toleration]| {
        ts.iter().any(|t| {
            let k = t.key.as_deref().unwrap_or("");
            let e = t.effect.as_deref().unwrap_or("");
            (k == key || k.is_empty()) && (e == "NoExecute" || e.is_empty())
        })
    };
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        if !tolerates(key, tolerations) {
            tolerations.push(not_ready_toleration(key));
        }
    }
}

/// The QoS class of a pod (`qos.ComputePodQOS`, without pod-level resources).
pub fn qos_class(spec: &PodSpec) -> &'static str {
    let supported = ["cpu", "memory"];
    let mut requests: BTreeMap<&str, Quantity> = BTreeMap::new();
    let mut limits: BTreeMap<&str, Quantity> = BTreeMap::new();
    let mut guaranteed = true;
    let positive = |q: &KQuantity| {
        Quantity::parse(&q.0)
            .ok()
            .filter(|v| !v.is_zero() && !v.is_negative())
    };
    for c in spec
        .init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter())
    {
        let r = c.resources.as_ref();
        for (k, v) in r.and_then(|r| r.requests.as_ref()).into_iter().flatten() {
            if let (Some(name), Some(q)) = (supported.iter().find(|s| **s == k), positive(v)) {
                let e = requests
                    .entry(name)
                    .or_insert_with(|| Quantity::from_units(0));
                *e = e.add(&q);
            }
        }
        let mut found = 0;
        for (k, v) in r.and_then(|r| r.limits.as_ref()).into_iter().flatten() {
            if let (Some(name), Some(q)) = (supported.iter().find(|s| **s == k), positive(v)) {
                found += 1;
                let e = limits
                    .entry(name)
                    .or_insert_with(|| Quantity::from_units(0));
                *e = e.add(&q);
            }
        }
        if found != supported.len() {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    if guaranteed
        && requests
            .iter()
            .all(|(k, r)| limits.get(k).is_some_and(|l| l.cmp_value(r).is_eq()))
        && requests.len() == limits.len()
    {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_policy_by_tag() {
        for (image, want) in [
            ("nginx", "Always"),
            ("nginx:latest", "Always"),
            ("nginx:1.25", "IfNotPresent"),
            ("registry.example.com:5000/team/app", "Always"),
            ("registry.example.com:5000/team/app:v2", "IfNotPresent"),
            (
                "nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "IfNotPresent",
            ),
            (
                "nginx:latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "Always",
            ),
            ("Nginx", "IfNotPresent"),
            ("", "IfNotPresent"),
        ] {
            assert_eq!(default_pull_policy(image), want, "{image}");
        }
    }
}
