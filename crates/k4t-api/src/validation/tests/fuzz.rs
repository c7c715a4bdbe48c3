//! Property tests: no input makes validation or defaulting panic.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::set;

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

/// Valid objects of several kinds, to mutate.
fn fixtures() -> Vec<(&'static str, &'static str, Value)> {
    let template = json!({
        "metadata": {"labels": {"app": "web"}},
        "spec": {
            "initContainers": [{"name": "init", "image": "busybox", "restartPolicy": "Always",
                                "startupProbe": {"exec": {"command": ["true"]}}}],
            "containers": [{
                "name": "web", "image": "nginx",
                "ports": [{"name": "http", "containerPort": 80, "hostPort": 8080}],
                "env": [{"name": "A", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}}}],
                "envFrom": [{"configMapRef": {"name": "cfg"}}],
                "resources": {"limits": {"cpu": "1", "memory": "1Gi", "hugepages-2Mi": "2Mi"}},
                "volumeMounts": [{"name": "p", "mountPath": "/p", "subPath": "x"}],
                "volumeDevices": [{"name": "pvc", "devicePath": "/dev/x"}],
                "livenessProbe": {"httpGet": {"port": "http", "httpHeaders": [{"name": "X", "value": "y"}]}},
                "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
                "securityContext": {"runAsUser": 1000, "allowPrivilegeEscalation": false, "capabilities": {"add": ["NET_ADMIN"]}}
            }],
            "volumes": [
                {"name": "p", "projected": {"sources": [
                    {"serviceAccountToken": {"path": "token"}},
                    {"downwardAPI": {"items": [{"path": "l", "fieldRef": {"fieldPath": "metadata.labels['app']"}}]}},
                    {"configMap": {"name": "c", "items": [{"key": "k", "path": "k"}]}}
                ]}},
                {"name": "pvc", "persistentVolumeClaim": {"claimName": "data"}}
            ],
            "serviceAccountName": "web",
            "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 10, "preference": {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}}
            ]}},
            "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule",
                                           "labelSelector": {"matchLabels": {"app": "web"}}, "matchLabelKeys": ["pod-template-hash"]}],
            "dnsPolicy": "None",
            "dnsConfig": {"nameservers": ["1.1.1.1"], "searches": ["svc.cluster.local."], "options": [{"name": "ndots", "value": "2"}]},
            "securityContext": {"sysctls": [{"name": "net.core.somaxconn", "value": "1024"}], "seccompProfile": {"type": "RuntimeDefault"}},
            "os": {"name": "linux"}
        }
    });
    let mut pod = template.clone();
    set(
        &mut pod,
        "/metadata",
        json!({"name": "web", "namespace": "default"}),
    );
    vec![
        ("", "Pod", pod),
        (
            "apps",
            "Deployment",
            json!({"metadata": {"name": "d", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template.clone()}}),
        ),
        (
            "apps",
            "ReplicaSet",
            json!({"metadata": {"name": "r", "namespace": "default"},
            "spec": {"selector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]}, "template": template}}),
        ),
        (
            "",
            "Service",
            json!({"metadata": {"name": "s", "namespace": "default"},
            "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local", "healthCheckNodePort": 31000,
                     "clusterIP": "10.96.0.1", "ports": [{"name": "a", "port": 80, "nodePort": 30001}, {"name": "b", "port": 81}],
                     "sessionAffinity": "ClientIP", "externalIPs": ["192.0.2.1"]}}),
        ),
        (
            "",
            "Node",
            json!({"metadata": {"name": "n"}, "spec": {"podCIDRs": ["10.0.0.0/24", "fd00::/64"],
            "taints": [{"key": "k", "effect": "NoSchedule"}]}, "status": {"capacity": {"cpu": "1"}}}),
        ),
        (
            "",
            "Secret",
            json!({"metadata": {"name": "s", "namespace": "d"}, "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": "e30="}}),
        ),
        (
            "events.k8s.io",
            "Event",
            json!({"metadata": {"name": "e", "namespace": "d"}, "eventTime": "2026-01-01T00:00:00.000000Z",
            "series": {"count": 2, "lastObservedTime": "2026-01-01T00:00:01.000000Z"}, "reportingController": "a/b",
            "reportingInstance": "i", "action": "A", "reason": "R", "type": "Normal",
            "regarding": {"kind": "Pod", "name": "p", "namespace": "d"}}),
        ),
        (
            "discovery.k8s.io",
            "EndpointSlice",
            json!({"metadata": {"name": "e", "namespace": "d"}, "addressType": "FQDN",
            "endpoints": [{"addresses": ["a.example.com"], "hints": {"forZones": [{"name": "z"}]}}]}),
        ),
    ]
}

/// JSON pointers of every value inside `v`.
fn pointers(v: &Value, prefix: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                let p = format!("{prefix}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(c, p, out);
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                let p = format!("{prefix}/{i}");
                out.push(p.clone());
                pointers(c, p, out);
            }
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn mutated_fixtures_never_panic(which in 0usize..8, at in any::<prop::sample::Index>(), with in value()) {
        let all = fixtures();
        let (group, kind, base) = &all[which % all.len()];
        let def = crate::registry::find_kind(group, kind).expect("served");
        let mut ps = Vec::new();
        pointers(base, String::new(), &mut ps);
        let mut v = base.clone();
        set(&mut v, at.get(&ps).as_str(), with);
        let mut d = v.clone();
        crate::defaults::apply(def, &mut d);
        let _ = crate::validation::validate_create(def, &d);
        let mut stored = base.clone();
        crate::defaults::apply(def, &mut stored);
        set(&mut stored, "/metadata/uid", json!("u"));
        set(&mut stored, "/metadata/resourceVersion", json!("1"));
        let _ = crate::validation::validate_update(def, &d, &stored);
        let _ = crate::validation::validate_status_update(def, &d, &stored);
        if *kind == "Service" {
            let mut n = v.clone();
            crate::defaults::prepare_service_update(&mut n, &stored);
        }
    }
}

#[test]
fn fixtures_are_valid() {
    for (group, kind, obj) in fixtures() {
        let def = crate::registry::find_kind(group, kind).expect("served");
        let got = super::create_errors(def, &obj);
        assert!(got.is_empty(), "{kind}: {got:?}");
    }
}
