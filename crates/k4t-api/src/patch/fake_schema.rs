//! A small hand-written [`SchemaLookup`] for the patch and managed-fields tests, with the
//! strategies, merge keys and list markers of `data/strategic-merge-keys.tsv` for the types
//! the tests use.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::schema::{FieldInfo, SchemaLookup, Shape};

pub(crate) const POD: &str = "io.k8s.api.core.v1.Pod";
pub(crate) const DEPLOYMENT: &str = "io.k8s.api.apps.v1.Deployment";
pub(crate) const SERVICE: &str = "io.k8s.api.core.v1.Service";
pub(crate) const CONFIG_MAP: &str = "io.k8s.api.core.v1.ConfigMap";

const CORE: &str = "io.k8s.api.core.v1.";
const APPS: &str = "io.k8s.api.apps.v1.";
const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.";

/// How a field is described in the table below.
#[derive(Clone, Copy)]
enum S {
    Scalar,
    Any,
    /// An object of a type in `CORE`, `APPS` or `META` (given with its prefix).
    Obj(&'static str),
    StrMap,
    /// An atomic list of scalars.
    Atomic,
    /// A list of objects with no strategy (atomic).
    AtomicOf(&'static str),
    /// A list of objects merged by key: type, merge key, list-map keys, extra strategy.
    MergeBy(&'static str, &'static str, &'static [&'static str], bool),
    /// A set of scalars merged as a primitive list.
    Set,
}

/// (type, field, description), type names with their prefix.
const FIELDS: &[(&str, &str, S)] = &[
    // Top-level kinds.
    ("core.Pod", "apiVersion", S::Scalar),
    ("core.Pod", "kind", S::Scalar),
    ("core.Pod", "metadata", S::Obj("meta.ObjectMeta")),
    ("core.Pod", "spec", S::Obj("core.PodSpec")),
    ("core.Pod", "status", S::Obj("core.PodStatus")),
    ("apps.Deployment", "apiVersion", S::Scalar),
    ("apps.Deployment", "kind", S::Scalar),
    ("apps.Deployment", "metadata", S::Obj("meta.ObjectMeta")),
    ("apps.Deployment", "spec", S::Obj("apps.DeploymentSpec")),
    ("apps.Deployment", "status", S::Obj("apps.DeploymentStatus")),
    ("core.Service", "apiVersion", S::Scalar),
    ("core.Service", "kind", S::Scalar),
    ("core.Service", "metadata", S::Obj("meta.ObjectMeta")),
    ("core.Service", "spec", S::Obj("core.ServiceSpec")),
    ("core.Service", "status", S::Obj("core.ServiceStatus")),
    ("core.ConfigMap", "apiVersion", S::Scalar),
    ("core.ConfigMap", "kind", S::Scalar),
    ("core.ConfigMap", "metadata", S::Obj("meta.ObjectMeta")),
    ("core.ConfigMap", "data", S::StrMap),
    // ObjectMeta.
    ("meta.ObjectMeta", "name", S::Scalar),
    ("meta.ObjectMeta", "generateName", S::Scalar),
    ("meta.ObjectMeta", "namespace", S::Scalar),
    ("meta.ObjectMeta", "uid", S::Scalar),
    ("meta.ObjectMeta", "resourceVersion", S::Scalar),
    ("meta.ObjectMeta", "generation", S::Scalar),
    ("meta.ObjectMeta", "creationTimestamp", S::Scalar),
    ("meta.ObjectMeta", "deletionTimestamp", S::Scalar),
    ("meta.ObjectMeta", "deletionGracePeriodSeconds", S::Scalar),
    ("meta.ObjectMeta", "selfLink", S::Scalar),
    ("meta.ObjectMeta", "labels", S::StrMap),
    ("meta.ObjectMeta", "annotations", S::StrMap),
    ("meta.ObjectMeta", "finalizers", S::Set),
    (
        "meta.ObjectMeta",
        "ownerReferences",
        S::MergeBy("meta.OwnerReference", "uid", &["uid"], false),
    ),
    (
        "meta.ObjectMeta",
        "managedFields",
        S::AtomicOf("meta.ManagedFieldsEntry"),
    ),
    ("meta.OwnerReference", "apiVersion", S::Scalar),
    ("meta.OwnerReference", "kind", S::Scalar),
    ("meta.OwnerReference", "name", S::Scalar),
    ("meta.OwnerReference", "uid", S::Scalar),
    ("meta.OwnerReference", "controller", S::Scalar),
    ("meta.OwnerReference", "blockOwnerDeletion", S::Scalar),
    ("meta.ManagedFieldsEntry", "manager", S::Scalar),
    ("meta.ManagedFieldsEntry", "fieldsV1", S::Any),
    ("meta.LabelSelector", "matchLabels", S::StrMap),
    (
        "meta.LabelSelector",
        "matchExpressions",
        S::AtomicOf("meta.LabelSelectorRequirement"),
    ),
    ("meta.LabelSelectorRequirement", "key", S::Scalar),
    ("meta.LabelSelectorRequirement", "operator", S::Scalar),
    ("meta.LabelSelectorRequirement", "values", S::Atomic),
    // PodSpec and what it holds.
    (
        "core.PodSpec",
        "containers",
        S::MergeBy("core.Container", "name", &["name"], false),
    ),
    (
        "core.PodSpec",
        "initContainers",
        S::MergeBy("core.Container", "name", &["name"], false),
    ),
    (
        "core.PodSpec",
        "volumes",
        S::MergeBy("core.Volume", "name", &["name"], true),
    ),
    (
        "core.PodSpec",
        "imagePullSecrets",
        S::MergeBy("core.LocalObjectReference", "name", &["name"], false),
    ),
    (
        "core.PodSpec",
        "tolerations",
        S::AtomicOf("core.Toleration"),
    ),
    ("core.PodSpec", "nodeSelector", S::StrMap),
    ("core.PodSpec", "nodeName", S::Scalar),
    ("core.PodSpec", "restartPolicy", S::Scalar),
    ("core.PodSpec", "dnsPolicy", S::Scalar),
    ("core.PodSpec", "schedulerName", S::Scalar),
    ("core.PodSpec", "serviceAccountName", S::Scalar),
    ("core.PodSpec", "terminationGracePeriodSeconds", S::Scalar),
    (
        "core.PodSpec",
        "securityContext",
        S::Obj("core.PodSecurityContext"),
    ),
    ("core.PodSecurityContext", "runAsUser", S::Scalar),
    ("core.PodSecurityContext", "fsGroup", S::Scalar),
    ("core.PodSecurityContext", "supplementalGroups", S::Atomic),
    ("core.LocalObjectReference", "name", S::Scalar),
    ("core.Toleration", "key", S::Scalar),
    ("core.Toleration", "operator", S::Scalar),
    ("core.Toleration", "value", S::Scalar),
    ("core.Toleration", "effect", S::Scalar),
    ("core.Toleration", "tolerationSeconds", S::Scalar),
    ("core.Container", "name", S::Scalar),
    ("core.Container", "image", S::Scalar),
    ("core.Container", "imagePullPolicy", S::Scalar),
    ("core.Container", "workingDir", S::Scalar),
    ("core.Container", "terminationMessagePath", S::Scalar),
    ("core.Container", "command", S::Atomic),
    ("core.Container", "args", S::Atomic),
    (
        "core.Container",
        "env",
        S::MergeBy("core.EnvVar", "name", &["name"], false),
    ),
    (
        "core.Container",
        "ports",
        S::MergeBy(
            "core.ContainerPort",
            "containerPort",
            &["containerPort", "protocol"],
            false,
        ),
    ),
    (
        "core.Container",
        "volumeMounts",
        S::MergeBy("core.VolumeMount", "mountPath", &["mountPath"], false),
    ),
    (
        "core.Container",
        "resources",
        S::Obj("core.ResourceRequirements"),
    ),
    (
        "core.Container",
        "securityContext",
        S::Obj("core.SecurityContext"),
    ),
    ("core.Container", "livenessProbe", S::Obj("core.Probe")),
    ("core.SecurityContext", "privileged", S::Scalar),
    ("core.SecurityContext", "runAsUser", S::Scalar),
    ("core.Probe", "httpGet", S::Obj("core.HTTPGetAction")),
    ("core.Probe", "periodSeconds", S::Scalar),
    ("core.HTTPGetAction", "path", S::Scalar),
    ("core.HTTPGetAction", "port", S::Any),
    ("core.ResourceRequirements", "limits", S::StrMap),
    ("core.ResourceRequirements", "requests", S::StrMap),
    ("core.EnvVar", "name", S::Scalar),
    ("core.EnvVar", "value", S::Scalar),
    ("core.EnvVar", "valueFrom", S::Obj("core.EnvVarSource")),
    (
        "core.EnvVarSource",
        "fieldRef",
        S::Obj("core.ObjectFieldSelector"),
    ),
    ("core.ObjectFieldSelector", "fieldPath", S::Scalar),
    ("core.ObjectFieldSelector", "apiVersion", S::Scalar),
    ("core.ContainerPort", "containerPort", S::Scalar),
    ("core.ContainerPort", "protocol", S::Scalar),
    ("core.ContainerPort", "name", S::Scalar),
    ("core.ContainerPort", "hostPort", S::Scalar),
    ("core.VolumeMount", "name", S::Scalar),
    ("core.VolumeMount", "mountPath", S::Scalar),
    ("core.VolumeMount", "readOnly", S::Scalar),
    ("core.Volume", "name", S::Scalar),
    (
        "core.Volume",
        "emptyDir",
        S::Obj("core.EmptyDirVolumeSource"),
    ),
    (
        "core.Volume",
        "configMap",
        S::Obj("core.ConfigMapVolumeSource"),
    ),
    (
        "core.Volume",
        "hostPath",
        S::Obj("core.HostPathVolumeSource"),
    ),
    ("core.EmptyDirVolumeSource", "medium", S::Scalar),
    ("core.EmptyDirVolumeSource", "sizeLimit", S::Scalar),
    ("core.ConfigMapVolumeSource", "name", S::Scalar),
    ("core.ConfigMapVolumeSource", "defaultMode", S::Scalar),
    ("core.HostPathVolumeSource", "path", S::Scalar),
    ("core.HostPathVolumeSource", "type", S::Scalar),
    ("core.PodStatus", "phase", S::Scalar),
    ("core.PodStatus", "podIP", S::Scalar),
    (
        "core.PodStatus",
        "conditions",
        S::MergeBy("core.PodCondition", "type", &["type"], false),
    ),
    ("core.PodCondition", "type", S::Scalar),
    ("core.PodCondition", "status", S::Scalar),
    // Deployments.
    ("apps.DeploymentSpec", "replicas", S::Scalar),
    ("apps.DeploymentSpec", "revisionHistoryLimit", S::Scalar),
    ("apps.DeploymentSpec", "progressDeadlineSeconds", S::Scalar),
    (
        "apps.DeploymentSpec",
        "selector",
        S::Obj("meta.LabelSelector"),
    ),
    (
        "apps.DeploymentSpec",
        "template",
        S::Obj("core.PodTemplateSpec"),
    ),
    (
        "apps.DeploymentSpec",
        "strategy",
        S::Obj("apps.DeploymentStrategy"),
    ),
    ("apps.DeploymentStrategy", "type", S::Scalar),
    (
        "apps.DeploymentStrategy",
        "rollingUpdate",
        S::Obj("apps.RollingUpdateDeployment"),
    ),
    ("apps.RollingUpdateDeployment", "maxSurge", S::Any),
    ("apps.RollingUpdateDeployment", "maxUnavailable", S::Any),
    ("apps.DeploymentStatus", "replicas", S::Scalar),
    ("apps.DeploymentStatus", "observedGeneration", S::Scalar),
    (
        "core.PodTemplateSpec",
        "metadata",
        S::Obj("meta.ObjectMeta"),
    ),
    ("core.PodTemplateSpec", "spec", S::Obj("core.PodSpec")),
    // Services.
    (
        "core.ServiceSpec",
        "ports",
        S::MergeBy("core.ServicePort", "port", &["port", "protocol"], false),
    ),
    ("core.ServiceSpec", "selector", S::StrMap),
    ("core.ServiceSpec", "type", S::Scalar),
    ("core.ServiceSpec", "clusterIP", S::Scalar),
    ("core.ServiceSpec", "clusterIPs", S::Atomic),
    ("core.ServicePort", "name", S::Scalar),
    ("core.ServicePort", "port", S::Scalar),
    ("core.ServicePort", "targetPort", S::Any),
    ("core.ServicePort", "protocol", S::Scalar),
    ("core.ServicePort", "nodePort", S::Scalar),
];

/// Expands `core.X` / `apps.X` / `meta.X` into a full schema name.
fn full(short: &str) -> String {
    let (group, name) = short.split_once('.').unwrap_or(("", short));
    let prefix = match group {
        "core" => CORE,
        "apps" => APPS,
        _ => META,
    };
    format!("{prefix}{name}")
}

fn info(shape: Shape) -> FieldInfo {
    FieldInfo {
        shape,
        patch_strategies: Vec::new(),
        patch_merge_key: None,
        list_type: None,
        list_map_keys: Vec::new(),
    }
}

fn describe(s: S) -> FieldInfo {
    match s {
        S::Scalar => info(Shape::Scalar),
        S::Any => info(Shape::Any),
        S::Obj(t) => info(Shape::Object(full(t))),
        S::StrMap => info(Shape::Map(Box::new(Shape::Scalar))),
        S::Atomic => FieldInfo {
            list_type: Some("atomic".into()),
            ..info(Shape::List(Box::new(Shape::Scalar)))
        },
        S::AtomicOf(t) => FieldInfo {
            list_type: Some("atomic".into()),
            ..info(Shape::List(Box::new(Shape::Object(full(t)))))
        },
        S::MergeBy(t, key, keys, retain) => FieldInfo {
            shape: Shape::List(Box::new(Shape::Object(full(t)))),
            patch_strategies: if retain {
                vec!["merge".into(), "retainKeys".into()]
            } else {
                vec!["merge".into()]
            },
            patch_merge_key: Some(key.into()),
            list_type: Some("map".into()),
            list_map_keys: keys.iter().map(|k| (*k).to_owned()).collect(),
        },
        S::Set => FieldInfo {
            patch_strategies: vec!["merge".into()],
            list_type: Some("set".into()),
            ..info(Shape::List(Box::new(Shape::Scalar)))
        },
    }
}

/// Every field, by full type name and field name; `DeploymentSpec.strategy` carries
/// `retainKeys` as in the real tables.
static TABLE: LazyLock<HashMap<String, HashMap<&'static str, FieldInfo>>> = LazyLock::new(|| {
    let mut table: HashMap<String, HashMap<&'static str, FieldInfo>> = HashMap::new();
    for (t, f, s) in FIELDS {
        let mut info = describe(*s);
        if *t == "apps.DeploymentSpec" && *f == "strategy" {
            info.patch_strategies = vec!["retainKeys".into()];
        }
        table.entry(full(t)).or_default().insert(f, info);
    }
    table
});

/// The fake lookup.
pub(crate) struct FakeSchema;

impl SchemaLookup for FakeSchema {
    fn field(&self, type_name: &str, field: &str) -> Option<FieldInfo> {
        TABLE.get(type_name)?.get(field).cloned()
    }
}
