//! Property tests: no input makes validation or defaulting panic.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::registry::RESOURCES;

/// Field names that reach deep into the kinds' validation.
const KEYS: &[&str] = &[
    "metadata",
    "name",
    "namespace",
    "labels",
    "annotations",
    "spec",
    "status",
    "containers",
    "initContainers",
    "image",
    "ports",
    "containerPort",
    "hostPort",
    "protocol",
    "env",
    "value",
    "valueFrom",
    "fieldRef",
    "fieldPath",
    "volumes",
    "volumeMounts",
    "mountPath",
    "emptyDir",
    "configMap",
    "secret",
    "projected",
    "sources",
    "resources",
    "requests",
    "limits",
    "cpu",
    "memory",
    "livenessProbe",
    "readinessProbe",
    "httpGet",
    "tcpSocket",
    "exec",
    "command",
    "port",
    "path",
    "selector",
    "matchLabels",
    "matchExpressions",
    "key",
    "operator",
    "values",
    "template",
    "replicas",
    "strategy",
    "rollingUpdate",
    "maxSurge",
    "maxUnavailable",
    "type",
    "clusterIP",
    "clusterIPs",
    "targetPort",
    "tolerations",
    "effect",
    "taints",
    "data",
    "stringData",
    "addressType",
    "endpoints",
    "addresses",
    "subsets",
    "ip",
    "eventTime",
    "involvedObject",
    "regarding",
    "series",
    "count",
    "leaseDurationSeconds",
    "ownerReferences",
    "finalizers",
    "uid",
    "resourceVersion",
    "lifecycle",
    "preStop",
    "sleep",
    "seconds",
    "affinity",
    "nodeAffinity",
    "topologySpreadConstraints",
    "ipFamilies",
    "sessionAffinity",
    "capacity",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-3i64..70000).prop_map(Value::from),
        "[a-zA-Z0-9._/%:@ -]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("1Gi"),
            Just("-1"),
            Just("100m"),
            Just("None"),
            Just("TCP"),
            Just("Always"),
            Just("10.0.0.1"),
            Just("25%"),
            Just("In"),
            Just("Exists"),
            Just("NoExecute"),
            Just("v1"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|kv| {
                let m: Map<String, Value> =
                    kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
                Value::Object(m)
            }),
        ]
    })
}

fn run_all(obj: &Value, other: &Value) {
    for def in RESOURCES {
        let mut a = obj.clone();
        crate::defaults::apply(def, &mut a);
        let mut b = other.clone();
        crate::defaults::apply(def, &mut b);
        let _ = crate::validation::validate_create(def, &a);
        let _ = crate::validation::validate_create(def, obj);
        let _ = crate::validation::validate_update(def, &a, &b);
        let _ = crate::validation::validate_status_update(def, &a, &b);
        let _ = crate::validation::validate_namespace_finalize_update(&a, &b);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_objects_never_panic(obj in value(), other in value()) {
        run_all(&obj, &other);
    }

    #[test]
    fn random_specs_never_panic(spec in value(), meta in value()) {
        let obj = json!({"metadata": meta, "spec": spec, "status": {}});
        let tpl = json!({"metadata": {"name": "x", "namespace": "d"}, "spec": {"template": {"spec": spec}}});
        run_all(&obj, &tpl);
    }
}
