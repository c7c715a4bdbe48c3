//! Defaults of the other kinds: Service, Namespace, Node, Secret, Endpoints, EndpointSlice.

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{
    ClientIPConfig, Endpoints, Namespace, Node, Secret, Service, SessionAffinityConfig,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::pod::default_resource_list;

fn empty(s: &Option<String>) -> bool {
    s.as_deref().unwrap_or("").is_empty()
}

/// `SetDefaults_Service`, the clusterIP/clusterIPs pairing a create makes, and the IP family
/// fields the service registry fills for a single-stack IPv4 cluster.
pub(crate) fn default_service(svc: &mut Service) {
    let spec = svc.spec.get_or_insert_with(Default::default);
    if empty(&spec.session_affinity) {
        spec.session_affinity = Some("None".to_owned());
    }
    match spec.session_affinity.as_deref() {
        Some("None") => spec.session_affinity_config = None,
        Some("ClientIP") => {
            let has_timeout = spec
                .session_affinity_config
                .as_ref()
                .and_then(|c| c.client_ip.as_ref())
                .and_then(|c| c.timeout_seconds)
                .is_some();
            if !has_timeout {
                spec.session_affinity_config = Some(SessionAffinityConfig {
                    client_ip: Some(ClientIPConfig {
                        timeout_seconds: Some(10800),
                    }),
                });
            }
        }
        _ => {}
    }
    if empty(&spec.type_) {
        spec.type_ = Some("ClusterIP".to_owned());
    }
    for p in spec.ports.iter_mut().flatten() {
        if empty(&p.protocol) {
            p.protocol = Some("TCP".to_owned());
        }
        let unset = match &p.target_port {
            None => true,
            Some(IntOrString::Int(0)) => true,
            Some(IntOrString::String(s)) => s.is_empty(),
            Some(_) => false,
        };
        if unset {
            p.target_port = Some(IntOrString::Int(p.port));
        }
    }
    let ty = spec.type_.clone().unwrap_or_default();
    let externally_accessible = ty == "LoadBalancer"
        || ty == "NodePort"
        || (ty == "ClusterIP" && spec.external_ips.as_ref().is_some_and(|e| !e.is_empty()));
    if externally_accessible && empty(&spec.external_traffic_policy) {
        spec.external_traffic_policy = Some("Cluster".to_owned());
    }
    if spec.internal_traffic_policy.is_none()
        && ["NodePort", "LoadBalancer", "ClusterIP"].contains(&ty.as_str())
    {
        spec.internal_traffic_policy = Some("Cluster".to_owned());
    }
    if ty == "LoadBalancer" {
        spec.allocate_load_balancer_node_ports.get_or_insert(true);
    }
    if !empty(&spec.cluster_ip) && spec.cluster_ips.as_ref().is_none_or(Vec::is_empty) {
        spec.cluster_ips = Some(vec![spec.cluster_ip.clone().unwrap_or_default()]);
    }
    if ty != "ExternalName" {
        let headless = spec.cluster_ip.as_deref() == Some("None");
        if spec.ip_family_policy.is_none() {
            let selectorless = spec.selector.as_ref().is_none_or(|s| s.is_empty());
            spec.ip_family_policy = Some(
                if headless && selectorless {
                    "RequireDualStack"
                } else {
                    "SingleStack"
                }
                .to_owned(),
            );
        }
        if spec.ip_families.as_ref().is_none_or(Vec::is_empty) {
            let v6 = spec
                .cluster_ip
                .as_deref()
                .is_some_and(|ip| ip.contains(':'));
            spec.ip_families = Some(vec![if v6 { "IPv6" } else { "IPv4" }.to_owned()]);
        }
    }
    if ty == "LoadBalancer" {
        for ing in svc
            .status
            .iter_mut()
            .flat_map(|s| s.load_balancer.iter_mut())
            .flat_map(|lb| lb.ingress.iter_mut().flatten())
        {
            if !empty(&ing.ip) && ing.ip_mode.is_none() {
                ing.ip_mode = Some("VIP".to_owned());
            }
        }
    }
}

fn needs_node_port(s: &k8s_openapi::api::core::v1::ServiceSpec) -> bool {
    match s.type_.as_deref() {
        Some("NodePort") => true,
        Some("LoadBalancer") => s.allocate_load_balancer_node_ports != Some(false),
        _ => false,
    }
}

/// `patchAllocatedValues`: allocated values an update left out are kept from the old Service.
pub(crate) fn patch_allocated_values(new: &mut Service, old: &Service) {
    let (Some(ns), Some(os)) = (new.spec.as_mut(), old.spec.as_ref()) else {
        return;
    };
    let needs_cluster_ip = |t: &Option<String>| t.as_deref() != Some("ExternalName");
    if needs_cluster_ip(&os.type_) && needs_cluster_ip(&ns.type_) {
        if empty(&ns.cluster_ip) {
            ns.cluster_ip = os.cluster_ip.clone();
        }
        if ns.cluster_ips.as_ref().is_none_or(Vec::is_empty)
            && os.cluster_ips.as_ref().is_some_and(|i| !i.is_empty())
        {
            ns.cluster_ips = os.cluster_ips.clone();
        }
    }
    if needs_node_port(os) && needs_node_port(ns) {
        let used = |s: &k8s_openapi::api::core::v1::ServiceSpec| -> Vec<i32> {
            s.ports
                .iter()
                .flatten()
                .filter_map(|p| p.node_port)
                .filter(|p| *p != 0)
                .collect()
        };
        let (old_used, new_used) = (used(os), used(ns));
        let taken: Vec<i32> = old_used
            .into_iter()
            .filter(|p| new_used.contains(p))
            .collect();
        for p in ns.ports.iter_mut().flatten() {
            if p.node_port.unwrap_or(0) != 0 {
                continue;
            }
            let old_val = os
                .ports
                .iter()
                .flatten()
                .rev()
                .find(|o| o.name == p.name)
                .and_then(|o| o.node_port)
                .unwrap_or(0);
            if !taken.contains(&old_val) && old_val != 0 {
                p.node_port = Some(old_val);
            }
        }
    }
    let needs_hc = |s: &k8s_openapi::api::core::v1::ServiceSpec| {
        s.type_.as_deref() == Some("LoadBalancer")
            && s.external_traffic_policy.as_deref() == Some("Local")
    };
    if needs_hc(os) && needs_hc(ns) && ns.health_check_node_port.unwrap_or(0) == 0 {
        ns.health_check_node_port = os.health_check_node_port;
    }
}

/// The `kubernetes.io/metadata.name` label and the Active phase.
pub(crate) fn default_namespace(ns: &mut Namespace) {
    if let Some(name) = ns.metadata.name.clone().filter(|n| !n.is_empty()) {
        ns.metadata
            .labels
            .get_or_insert_with(Default::default)
            .insert("kubernetes.io/metadata.name".to_owned(), name);
    }
    let status = ns.status.get_or_insert_with(Default::default);
    if empty(&status.phase) {
        status.phase = Some("Active".to_owned());
    }
}

/// What a namespace gets once, at creation: the `kubernetes` finalizer.
pub(crate) fn prepare_namespace_for_create(ns: &mut Namespace) {
    let spec = ns.spec.get_or_insert_with(Default::default);
    let finalizers = spec.finalizers.get_or_insert_with(Vec::new);
    if !finalizers.iter().any(|f| f == "kubernetes") {
        finalizers.push("kubernetes".to_owned());
    }
    let status = ns.status.get_or_insert_with(Default::default);
    status.phase = Some("Active".to_owned());
}

/// Allocatable defaults to capacity; podCIDR and podCIDRs are kept in step.
pub(crate) fn default_node(node: &mut Node) {
    if let Some(status) = &mut node.status {
        default_resource_list(&mut status.capacity);
        default_resource_list(&mut status.allocatable);
        if status.allocatable.is_none() && status.capacity.is_some() {
            status.allocatable = status.capacity.clone();
        }
    }
    if let Some(spec) = &mut node.spec {
        match (
            &spec.pod_cidrs,
            spec.pod_cidr.clone().filter(|c| !c.is_empty()),
        ) {
            (Some(cidrs), _) if !cidrs.is_empty() => spec.pod_cidr = Some(cidrs[0].clone()),
            (_, Some(cidr)) => spec.pod_cidrs = Some(vec![cidr]),
            _ => {}
        }
    }
}

/// Type `Opaque`, and `stringData` folded into `data` as the v1 conversion does.
pub(crate) fn default_secret(s: &mut Secret) {
    if empty(&s.type_) {
        s.type_ = Some("Opaque".to_owned());
    }
    if let Some(sd) = s.string_data.take() {
        let data = s.data.get_or_insert_with(Default::default);
        for (k, v) in sd {
            data.insert(k, ByteString(v.into_bytes()));
        }
    }
}

/// Endpoint ports default to TCP.
pub(crate) fn default_endpoints(ep: &mut Endpoints) {
    for p in ep
        .subsets
        .iter_mut()
        .flatten()
        .flat_map(|s| s.ports.iter_mut().flatten())
    {
        if empty(&p.protocol) {
            p.protocol = Some("TCP".to_owned());
        }
    }
}

/// EndpointSlice ports default to TCP and an empty name.
pub(crate) fn default_endpoint_slice(es: &mut EndpointSlice) {
    for p in es.ports.iter_mut().flatten() {
        p.name.get_or_insert_with(String::new);
        p.protocol.get_or_insert_with(|| "TCP".to_owned());
    }
}
