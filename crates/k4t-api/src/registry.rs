//! The resources k4t serves: names, scope, verbs, subresources and where each is stored.
//!
//! One static table drives discovery, OpenAPI, routing and the per-kind hooks (decoding,
//! defaulting, validation, printing, selectable fields).

use serde_json::Value;

/// A subresource a resource offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subresource {
    Status,
    Scale,
    Binding,
    Log,
    Exec,
    Attach,
    PortForward,
    Finalize,
}

impl Subresource {
    pub fn name(self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Scale => "scale",
            Self::Binding => "binding",
            Self::Log => "log",
            Self::Exec => "exec",
            Self::Attach => "attach",
            Self::PortForward => "portforward",
            Self::Finalize => "finalize",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "status" => Self::Status,
            "scale" => Self::Scale,
            "binding" => Self::Binding,
            "log" => Self::Log,
            "exec" => Self::Exec,
            "attach" => Self::Attach,
            "portforward" => Self::PortForward,
            "finalize" => Self::Finalize,
            _ => return None,
        })
    }

    /// (group, version, kind) of what the subresource takes and answers, for discovery.
    pub fn response_kind(self, parent: &ResourceDef) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Status | Self::Finalize => (parent.group, parent.version, parent.kind),
            Self::Scale => ("autoscaling", "v1", "Scale"),
            Self::Binding => ("", "v1", "Binding"),
            Self::Log => ("", "v1", "Pod"),
            Self::Exec => ("", "v1", "PodExecOptions"),
            Self::Attach => ("", "v1", "PodAttachOptions"),
            Self::PortForward => ("", "v1", "PodPortForwardOptions"),
        }
    }

    pub fn verbs(self) -> &'static [&'static str] {
        match self {
            Self::Status | Self::Scale => &["get", "patch", "update"],
            Self::Binding => &["create"],
            Self::Log => &["get"],
            Self::Exec | Self::Attach | Self::PortForward => &["create", "get"],
            Self::Finalize => &["update"],
        }
    }
}

/// One served resource in one group-version.
#[derive(Debug)]
pub struct ResourceDef {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub subresources: &'static [Subresource],
    /// The OpenAPI schema name of the kind, e.g. `io.k8s.api.core.v1.Pod`.
    pub schema: &'static str,
    /// The storage prefix segment. Two resources with the same value are two versions of
    /// one stored object (core/v1 and events.k8s.io/v1 events).
    pub storage: &'static str,
    /// Whether spec changes bump `metadata.generation`.
    pub has_generation: bool,
    /// Whether the main resource ignores status changes (the status subresource owns them).
    pub has_status: bool,
}

impl ResourceDef {
    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    pub fn has_subresource(&self, sub: Subresource) -> bool {
        self.subresources.contains(&sub)
    }

    /// The store key of an object: `/registry/<storage>/<namespace>/<name>` or
    /// `/registry/<storage>/<name>`.
    pub fn key(&self, namespace: Option<&str>, name: &str) -> String {
        match (self.namespaced, namespace) {
            (true, Some(ns)) => format!("/registry/{}/{ns}/{name}", self.storage),
            _ => format!("/registry/{}/{name}", self.storage),
        }
    }

    /// The key prefix of a list: all namespaces, or one.
    pub fn prefix(&self, namespace: Option<&str>) -> String {
        match (self.namespaced, namespace) {
            (true, Some(ns)) => format!("/registry/{}/{ns}/", self.storage),
            _ => format!("/registry/{}/", self.storage),
        }
    }

    /// The verbs of the main resource.
    pub fn verbs(&self) -> &'static [&'static str] {
        &[
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ]
    }
}

use Subresource as S;

/// Every resource k4t serves, in discovery order.
pub static RESOURCES: &[ResourceDef] = &[
    ResourceDef {
        group: "",
        version: "v1",
        kind: "ConfigMap",
        plural: "configmaps",
        singular: "configmap",
        namespaced: true,
        short_names: &["cm"],
        categories: &[],
        subresources: &[],
        schema: "io.k8s.api.core.v1.ConfigMap",
        storage: "configmaps",
        has_generation: false,
        has_status: false,
    },
    ResourceDef {
        group: "",
        version: "v1",
        kind: "Endpoints",
        plural: "endpoints",
        singular: "endpoints",
        namespaced: true,
        short_names: &["ep"],
        categories: &[],
        subresources: &[],
        schema: "io.k8s.api.core.v1.Endpoints",
        storage: "services/endpoints",
        has_generation: false,
        has_status: false,
    },
    ResourceDef {
        group: "",
        version: "v1",
        kind: "Event",
        plural: "events",
        singular: "event",
        namespaced: true,
        short_names: &["ev"],
        categories: &[],
        subresources: &[],
        schema: "io.k8s.api.core.v1.Event",
        storage: "events",
        has_generation: false,
        has_status: false,
    },
    ResourceDef {
        group: "",
        version: "v1",
        kind: "Namespace",
        plural: "namespaces",
        singular: "namespace",
        namespaced: false,
        short_names: &["ns"],
        categories: &[],
        subresources: &[S::Status, S::Finalize],
        schema: "io.k8s.api.core.v1.Namespace",
        storage: "namespaces",
        has_generation: false,
        has_status: true,
    },
    ResourceDef {
        group: "",
        version: "v1",
        kind: "Node",
        plural: "nodes",
        singular: "node",
        namespaced: false,
        short_names: &["no"],
        categories: &[],
        subresources: &[S::Status],
        schema: "io.k8s.api.core.v1.Node",
        storage: "minions",
        has_generation: false,
        has_status: true,
    },
    ResourceDef {
        group: "",
        version: "v1",
        kind: "Pod",
        plural: "pods",
        singular: "pod",
        namespaced: true,
        short_names: &["po"],
        categories: &["all"],
        subresources: &[
            S::Status,
            S::Binding,
            S::Log,
            S::Exec,
            S::Attach,
            S::PortForward,
        ],
        schema: "io.k8s.api.core.v1.Pod",
        storage: "pods",
        has_generation: true,
        has_status: true,
    },
    ResourceDef {
        group: "",
        version: "v1",
        kind: "Secret",
        plural: "secrets",
        singular: "secret",
        namespaced: true,
        short_names: &[],
        categories: &[],
        subresources: &[],
        schema: "io.k8s.api.core.v1.Secret",
        storage: "secrets",
        has_generation: false,
        has_status: false,
    },
    ResourceDef {
        group: "",
        version: "v1",
        kind: "ServiceAccount",
        plural: "serviceaccounts",
        singular: "serviceaccount",
        namespaced: true,
        short_names: &["sa"],
        categories: &[],
        subresources: &[],
        schema: "io.k8s.api.core.v1.ServiceAccount",
        storage: "serviceaccounts",
        has_generation: false,
        has_status: false,
    },
    ResourceDef {
        group: "",
        version: "v1",
        kind: "Service",
        plural: "services",
        singular: "service",
        namespaced: true,
        short_names: &["svc"],
        categories: &["all"],
        subresources: &[S::Status],
        schema: "io.k8s.api.core.v1.Service",
        storage: "services/specs",
        has_generation: false,
        has_status: true,
    },
    ResourceDef {
        group: "apps",
        version: "v1",
        kind: "Deployment",
        plural: "deployments",
        singular: "deployment",
        namespaced: true,
        short_names: &["deploy"],
        categories: &["all"],
        subresources: &[S::Status, S::Scale],
        schema: "io.k8s.api.apps.v1.Deployment",
        storage: "deployments",
        has_generation: true,
        has_status: true,
    },
    ResourceDef {
        group: "apps",
        version: "v1",
        kind: "ReplicaSet",
        plural: "replicasets",
        singular: "replicaset",
        namespaced: true,
        short_names: &["rs"],
        categories: &["all"],
        subresources: &[S::Status, S::Scale],
        schema: "io.k8s.api.apps.v1.ReplicaSet",
        storage: "replicasets",
        has_generation: true,
        has_status: true,
    },
    ResourceDef {
        group: "coordination.k8s.io",
        version: "v1",
        kind: "Lease",
        plural: "leases",
        singular: "lease",
        namespaced: true,
        short_names: &[],
        categories: &[],
        subresources: &[],
        schema: "io.k8s.api.coordination.v1.Lease",
        storage: "leases",
        has_generation: false,
        has_status: false,
    },
    ResourceDef {
        group: "discovery.k8s.io",
        version: "v1",
        kind: "EndpointSlice",
        plural: "endpointslices",
        singular: "endpointslice",
        namespaced: true,
        short_names: &[],
        categories: &[],
        subresources: &[],
        schema: "io.k8s.api.discovery.v1.EndpointSlice",
        storage: "endpointslices",
        has_generation: true,
        has_status: false,
    },
    ResourceDef {
        group: "events.k8s.io",
        version: "v1",
        kind: "Event",
        plural: "events",
        singular: "event",
        namespaced: true,
        short_names: &["ev"],
        categories: &[],
        subresources: &[],
        schema: "io.k8s.api.events.v1.Event",
        storage: "events",
        has_generation: false,
        has_status: false,
    },
    ResourceDef {
        group: "settings.k8s.io",
        version: "v1alpha1",
        kind: "PodPreset",
        plural: "podpresets",
        singular: "podpreset",
        namespaced: true,
        short_names: &[],
        categories: &[],
        subresources: &[],
        schema: "io.k8s.api.settings.v1alpha1.PodPreset",
        storage: "podpresets",
        has_generation: true,
        has_status: false,
    },
];

/// The group-versions served, in discovery order (the core group first).
pub fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    for r in RESOURCES {
        if !out.contains(&(r.group, r.version)) {
            out.push((r.group, r.version));
        }
    }
    out.sort_by_key(|(g, _)| {
        if g.is_empty() {
            String::new()
        } else {
            format!("~{g}")
        }
    });
    out
}

/// The resource with this plural in this group-version.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceDef> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The resource of this kind in this group (any served version).
pub fn find_kind(group: &str, kind: &str) -> Option<&'static ResourceDef> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.kind == kind)
}

/// The resource that `apiVersion` + `kind` name.
pub fn find_api_version_kind(api_version: &str, kind: &str) -> Option<&'static ResourceDef> {
    let (group, version) = split_api_version(api_version);
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.kind == kind)
}

/// `apps/v1` → (`apps`, `v1`); `v1` → (``, `v1`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

/// The fields a field selector may name for this resource, with their values in `obj`.
/// `metadata.name` and `metadata.namespace` work for every resource, as in Kubernetes.
pub fn selectable_fields(def: &ResourceDef, obj: &Value) -> Vec<(&'static str, String)> {
    let s = |path: &[&str]| -> String {
        let mut v = obj;
        for p in path {
            match v.get(p) {
                Some(next) => v = next,
                None => return String::new(),
            }
        }
        match v {
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        }
    };
    let mut out = vec![("metadata.name", s(&["metadata", "name"]))];
    if def.namespaced {
        out.push(("metadata.namespace", s(&["metadata", "namespace"])));
    }
    match (def.group, def.kind) {
        ("", "Pod") => {
            out.push(("spec.nodeName", s(&["spec", "nodeName"])));
            out.push(("spec.restartPolicy", s(&["spec", "restartPolicy"])));
            out.push(("spec.schedulerName", s(&["spec", "schedulerName"])));
            out.push((
                "spec.serviceAccountName",
                s(&["spec", "serviceAccountName"]),
            ));
            out.push(("spec.hostNetwork", {
                let v = s(&["spec", "hostNetwork"]);
                if v.is_empty() { "false".to_owned() } else { v }
            }));
            out.push(("status.phase", s(&["status", "phase"])));
            out.push(("status.podIP", s(&["status", "podIP"])));
            let ips: Vec<String> = obj
                .pointer("/status/podIPs")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|i| i.get("ip").and_then(Value::as_str).map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            out.push(("status.podIPs", ips.join(",")));
            out.push((
                "status.nominatedNodeName",
                s(&["status", "nominatedNodeName"]),
            ));
        }
        ("", "Event") => {
            for f in [
                "kind",
                "namespace",
                "name",
                "uid",
                "apiVersion",
                "resourceVersion",
                "fieldPath",
            ] {
                let key: &'static str = match f {
                    "kind" => "involvedObject.kind",
                    "namespace" => "involvedObject.namespace",
                    "name" => "involvedObject.name",
                    "uid" => "involvedObject.uid",
                    "apiVersion" => "involvedObject.apiVersion",
                    "resourceVersion" => "involvedObject.resourceVersion",
                    _ => "involvedObject.fieldPath",
                };
                out.push((key, s(&["involvedObject", f])));
            }
            out.push(("reason", s(&["reason"])));
            out.push(("reportingComponent", s(&["reportingComponent"])));
            out.push(("source", {
                let c = s(&["source", "component"]);
                if c.is_empty() {
                    s(&["reportingComponent"])
                } else {
                    c
                }
            }));
            out.push(("type", s(&["type"])));
        }
        ("", "Namespace") => out.push(("status.phase", s(&["status", "phase"]))),
        ("", "Node") => out.push(("spec.unschedulable", {
            let v = s(&["spec", "unschedulable"]);
            if v.is_empty() { "false".to_owned() } else { v }
        })),
        ("", "Secret") => out.push(("type", s(&["type"]))),
        ("", "Service") => {
            out.push(("spec.clusterIP", s(&["spec", "clusterIP"])));
            out.push(("spec.type", s(&["spec", "type"])));
        }
        ("apps", "ReplicaSet") => out.push(("status.replicas", {
            let v = s(&["status", "replicas"]);
            if v.is_empty() { "0".to_owned() } else { v }
        })),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_lookup() {
        let pods = find("", "v1", "pods").expect("pods served");
        assert_eq!(
            pods.key(Some("default"), "web"),
            "/registry/pods/default/web"
        );
        assert_eq!(pods.prefix(None), "/registry/pods/");
        let ns = find("", "v1", "namespaces").expect("namespaces served");
        assert_eq!(ns.key(None, "default"), "/registry/namespaces/default");
        assert_eq!(
            find_api_version_kind("apps/v1", "Deployment").map(|d| d.plural),
            Some("deployments")
        );
        assert_eq!(group_versions()[0], ("", "v1"));
    }

    #[test]
    fn storage_prefixes_do_not_overlap() {
        // A list of one resource must never see another's keys.
        for a in RESOURCES {
            for b in RESOURCES {
                if a.storage != b.storage {
                    assert!(
                        !a.prefix(None).starts_with(&b.prefix(None)),
                        "{} vs {}",
                        a.storage,
                        b.storage
                    );
                }
            }
        }
    }
}
