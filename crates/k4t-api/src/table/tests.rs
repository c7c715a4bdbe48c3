use jiff::Timestamp;
use serde_json::{Value, json};

use super::*;
use crate::registry::{RESOURCES, find_kind};

fn def(group: &str, kind: &str) -> &'static ResourceDef {
    find_kind(group, kind).expect("served kind")
}

fn ts(s: &str) -> Timestamp {
    s.parse().expect("timestamp")
}

const NOW: &str = "2024-05-01T12:00:00Z";

#[derive(serde::Deserialize)]
struct PodCase {
    name: String,
    now: String,
    pod: Value,
    want: Vec<Value>,
    #[serde(default)]
    conditions: Vec<Value>,
}

#[test]
fn pod_status_ready_restarts() {
    let cases: Vec<PodCase> =
        serde_json::from_str(include_str!("testdata/pods.json")).expect("fixtures");
    assert!(cases.len() > 30);
    let pods = def("", "Pod");
    for c in &cases {
        let now = ts(&c.now);
        let got = row(pods, &c.pod, now);
        assert_eq!(got.cells, c.want, "case {:?}", c.name);
        assert_eq!(got.conditions, c.conditions, "conditions of {:?}", c.name);
        // The typed path prints the same row.
        let typed: k8s_openapi::api::core::v1::Pod =
            serde_json::from_value(c.pod.clone()).expect("fixture decodes as a Pod");
        assert_eq!(pod_row(&typed, now), got, "typed case {:?}", c.name);
        assert_eq!(got.cells.len(), columns(pods).len());
    }
}

/// Every served kind's columns and cells line up, and the name column is where Kubernetes
/// puts it.
#[test]
fn columns_match_cells_for_every_kind() {
    let obj = json!({"metadata": {"name": "x", "creationTimestamp": "2024-05-01T11:00:00Z"}});
    for d in RESOURCES {
        let cols = columns(d);
        let cells = cells(d, &obj, ts(NOW));
        assert_eq!(cols.len(), cells.len(), "{}/{}", d.group, d.kind);
        let name_cols: Vec<usize> = cols
            .iter()
            .enumerate()
            .filter(|(_, c)| c.format == "name")
            .map(|(i, _)| i)
            .collect();
        assert_eq!(name_cols.len(), 1, "{}/{}", d.group, d.kind);
        assert_eq!(cells[name_cols[0]], json!("x"), "{}/{}", d.group, d.kind);
        for c in &cols {
            assert!(
                !c.description.is_empty(),
                "{}/{} {}",
                d.group,
                d.kind,
                c.name
            );
        }
    }
}

fn names(cols: &[Column]) -> Vec<(&'static str, &'static str, i32)> {
    cols.iter().map(|c| (c.name, c.ty, c.priority)).collect()
}

/// Checks one object's cells against what `kubectl get -o wide` shows.
fn check(group: &str, kind: &str, obj: Value, want: Value) {
    let got = cells(def(group, kind), &obj, ts(NOW));
    assert_eq!(Value::from(got), want, "{group}/{kind}");
}

#[test]
fn column_definitions() {
    assert_eq!(
        names(&columns(def("", "Pod"))),
        [
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Status", "string", 0),
            ("Restarts", "string", 0),
            ("Age", "string", 0),
            ("IP", "string", 1),
            ("Node", "string", 1),
            ("Nominated Node", "string", 1),
            ("Readiness Gates", "string", 1),
        ]
    );
    assert_eq!(
        names(&columns(def("", "Event"))),
        [
            ("Last Seen", "string", 0),
            ("Type", "string", 0),
            ("Reason", "string", 0),
            ("Object", "string", 0),
            ("Subobject", "string", 1),
            ("Source", "string", 1),
            ("Message", "string", 0),
            ("First Seen", "string", 1),
            ("Count", "string", 1),
            ("Name", "string", 1),
        ]
    );
    assert_eq!(
        columns(def("events.k8s.io", "Event")),
        columns(def("", "Event"))
    );
    assert_eq!(
        names(&columns(def("apps", "ReplicaSet"))),
        [
            ("Name", "string", 0),
            ("Desired", "integer", 0),
            ("Current", "integer", 0),
            ("Ready", "integer", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ]
    );
    assert_eq!(
        names(&columns(def("settings.k8s.io", "PodPreset"))),
        [("Name", "string", 0), ("Created At", "date", 0)]
    );
    assert_eq!(
        columns(def("", "Pod"))[0].description,
        "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
    );
    assert!(
        columns(def("", "Pod"))[4]
            .description
            .contains("in UTC.\n\nPopulated by the system.")
    );
}

#[test]
fn deployment_rows() {
    check(
        "apps",
        "Deployment",
        json!({
            "metadata": {"name": "web", "creationTimestamp": "2024-04-30T12:00:00Z"},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]}]},
                "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}, {"name": "side", "image": "busybox"}]}}
            },
            "status": {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}
        }),
        json!([
            "web",
            "2/3",
            3,
            2,
            "24h",
            "nginx,side",
            "nginx:1.25,busybox",
            "app=web,tier in (a,b)"
        ]),
    );
    check(
        "apps",
        "Deployment",
        json!({"metadata": {"name": "empty"}, "spec": {"selector": {}, "template": {}}}),
        json!(["empty", "0/0", 0, 0, "<unknown>", "", "", ""]),
    );
    check(
        "apps",
        "Deployment",
        json!({"metadata": {"name": "bad"}, "spec": {"selector": {"matchLabels": {"-": "x"}}}}),
        json!(["bad", "0/0", 0, 0, "<unknown>", "", "", "<invalid>"]),
    );
}

#[test]
fn replica_set_rows() {
    check(
        "apps",
        "ReplicaSet",
        json!({
            "metadata": {"name": "web-7d4b9", "creationTimestamp": "2024-05-01T11:50:00Z"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "7d4b9"}},
                     "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}},
            "status": {"replicas": 3, "readyReplicas": 1}
        }),
        json!([
            "web-7d4b9",
            3,
            3,
            1,
            "10m",
            "nginx",
            "nginx",
            "app=web,pod-template-hash=7d4b9"
        ]),
    );
    check(
        "apps",
        "ReplicaSet",
        json!({"metadata": {"name": "none"}, "spec": {"selector": {}}}),
        json!(["none", 0, 0, 0, "<unknown>", "", "", "<none>"]),
    );
    check(
        "apps",
        "ReplicaSet",
        json!({"metadata": {"name": "bad"}, "spec": {"selector": {"matchExpressions": [{"key": "a", "operator": "Nope"}]}}}),
        json!(["bad", 0, 0, 0, "<unknown>", "", "", "<error>"]),
    );
}

#[test]
fn service_rows() {
    let created = "2024-05-01T11:59:00Z";
    check(
        "",
        "Service",
        json!({
            "metadata": {"name": "web", "creationTimestamp": created},
            "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                     "ports": [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
                     "selector": {"tier": "front", "app": "web"}}
        }),
        json!([
            "web",
            "ClusterIP",
            "10.96.0.10",
            "<none>",
            "80/TCP,53/UDP",
            "60s",
            "app=web,tier=front"
        ]),
    );
    check(
        "",
        "Service",
        json!({
            "metadata": {"name": "np"},
            "spec": {"type": "NodePort", "clusterIPs": ["10.96.0.11"], "externalIPs": ["1.2.3.4", "5.6.7.8"],
                     "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}
        }),
        json!([
            "np",
            "NodePort",
            "10.96.0.11",
            "1.2.3.4,5.6.7.8",
            "80:30080/TCP",
            "<unknown>",
            "<none>"
        ]),
    );
    check(
        "",
        "Service",
        json!({
            "metadata": {"name": "lb"},
            "spec": {"type": "LoadBalancer", "clusterIPs": ["10.96.0.12"], "ports": [{"port": 443, "nodePort": 31443, "protocol": "TCP"}]},
            "status": {"loadBalancer": {}}
        }),
        json!([
            "lb",
            "LoadBalancer",
            "10.96.0.12",
            "<pending>",
            "443:31443/TCP",
            "<unknown>",
            "<none>"
        ]),
    );
    check(
        "",
        "Service",
        json!({
            "metadata": {"name": "lb2"},
            "spec": {"type": "LoadBalancer", "clusterIPs": ["10.96.0.13"], "externalIPs": ["9.9.9.9"]},
            "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}, {"hostname": "a.example.com"}, {"ip": "203.0.113.9"}]}}
        }),
        json!([
            "lb2",
            "LoadBalancer",
            "10.96.0.13",
            "203.0.113.9,a.example.com,9.9.9.9",
            "<none>",
            "<unknown>",
            "<none>"
        ]),
    );
    check(
        "",
        "Service",
        json!({"metadata": {"name": "ext"}, "spec": {"type": "ExternalName", "externalName": "db.example.com"}}),
        json!([
            "ext",
            "ExternalName",
            "<none>",
            "db.example.com",
            "<none>",
            "<unknown>",
            "<none>"
        ]),
    );
    check(
        "",
        "Service",
        json!({"metadata": {"name": "headless"}, "spec": {"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"]}}),
        json!([
            "headless",
            "ClusterIP",
            "None",
            "<none>",
            "<none>",
            "<unknown>",
            "<none>"
        ]),
    );
}

#[test]
fn endpoints_rows() {
    check(
        "",
        "Endpoints",
        json!({
            "metadata": {"name": "web"},
            "subsets": [
                {"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "ports": [{"port": 8080}]},
                {"addresses": [{"ip": "10.0.0.3"}, {"ip": "fd00::4"}], "ports": [{"port": 8080}]}
            ]
        }),
        json!([
            "web",
            "10.0.0.1:8080,10.0.0.2:8080,10.0.0.3:8080 + 1 more...",
            "<unknown>"
        ]),
    );
    check(
        "",
        "Endpoints",
        json!({"metadata": {"name": "v6"}, "subsets": [{"addresses": [{"ip": "fd00::4"}], "ports": [{"port": 80}, {"port": 443}]}]}),
        json!(["v6", "[fd00::4]:80,[fd00::4]:443", "<unknown>"]),
    );
    check(
        "",
        "Endpoints",
        json!({"metadata": {"name": "headless"}, "subsets": [{"addresses": [{"ip": "10.0.0.1"}]}]}),
        json!(["headless", "10.0.0.1", "<unknown>"]),
    );
    check(
        "",
        "Endpoints",
        json!({"metadata": {"name": "empty"}}),
        json!(["empty", "<none>", "<unknown>"]),
    );
    check(
        "",
        "Endpoints",
        json!({"metadata": {"name": "notready"}, "subsets": [{"notReadyAddresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]}),
        json!(["notready", "", "<unknown>"]),
    );
}

#[test]
fn endpoint_slice_rows() {
    check(
        "discovery.k8s.io",
        "EndpointSlice",
        json!({
            "metadata": {"name": "web-abc"},
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 80}, {"name": "named"}, {}, {"port": 9}],
            "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2", "10.0.0.3", "10.0.0.4"]}]
        }),
        json!([
            "web-abc",
            "IPv4",
            "80,named,* + 1 more...",
            "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...",
            "<unknown>"
        ]),
    );
    check(
        "discovery.k8s.io",
        "EndpointSlice",
        json!({"metadata": {"name": "e"}, "addressType": "IPv6"}),
        json!(["e", "IPv6", "<unset>", "<unset>", "<unknown>"]),
    );
}

#[test]
fn node_rows() {
    check(
        "",
        "Node",
        json!({
            "metadata": {"name": "node-1", "creationTimestamp": "2024-04-21T12:00:00Z",
                         "labels": {"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/": "", "kubernetes.io/role": "worker", "other": "x"}},
            "spec": {"unschedulable": true},
            "status": {
                "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
                "addresses": [{"type": "Hostname", "address": "node-1"}, {"type": "InternalIP", "address": "192.168.1.10"}],
                "nodeInfo": {"kubeletVersion": "v1.36.0", "osImage": "Debian GNU/Linux 12 (bookworm)", "kernelVersion": "6.1.0", "containerRuntimeVersion": "k4t://0.1.0"}
            }
        }),
        json!([
            "node-1",
            "Ready,SchedulingDisabled",
            "control-plane,worker",
            "10d",
            "v1.36.0",
            "192.168.1.10",
            "<none>",
            "Debian GNU/Linux 12 (bookworm)",
            "6.1.0",
            "k4t://0.1.0"
        ]),
    );
    check(
        "",
        "Node",
        json!({"metadata": {"name": "n2"}, "status": {"conditions": [{"type": "Ready", "status": "Unknown"}], "addresses": [{"type": "ExternalIP", "address": "1.2.3.4"}]}}),
        json!([
            "n2",
            "NotReady",
            "<none>",
            "<unknown>",
            "",
            "<none>",
            "1.2.3.4",
            "<unknown>",
            "<unknown>",
            "<unknown>"
        ]),
    );
    check(
        "",
        "Node",
        json!({"metadata": {"name": "n3"}}),
        json!([
            "n3",
            "Unknown",
            "<none>",
            "<unknown>",
            "",
            "<none>",
            "<none>",
            "<unknown>",
            "<unknown>",
            "<unknown>"
        ]),
    );
}

#[test]
fn event_rows() {
    let base = json!({
        "metadata": {"name": "web.17c", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "web-7d4b9", "fieldPath": "spec.containers{app}"},
        "reason": "BackOff",
        "message": "  Back-off restarting failed container\n",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": "2024-05-01T11:44:00Z",
        "lastTimestamp": "2024-05-01T11:58:00Z",
        "count": 3,
        "type": "Warning"
    });
    for (group, d) in [("", "Event"), ("events.k8s.io", "Event")] {
        check(
            group,
            d,
            base.clone(),
            json!([
                "2m",
                "Warning",
                "BackOff",
                "pod/web-7d4b9",
                "spec.containers{app}",
                "kubelet, node-1",
                "Back-off restarting failed container",
                "16m",
                3,
                "web.17c"
            ]),
        );
    }
    // A new-API event: no first/last timestamps or count, a reporting controller, a series.
    check(
        "",
        "Event",
        json!({
            "metadata": {"name": "e2"},
            "involvedObject": {"kind": "Node"},
            "reason": "Starting",
            "eventTime": "2024-05-01T11:49:59.900001Z",
            "reportingComponent": "kube-proxy",
            "reportingInstance": "kube-proxy-node-1",
            "series": {"count": 4, "lastObservedTime": "2024-05-01T11:59:30.000000Z"},
            "type": "Normal"
        }),
        json!([
            "30s",
            "Normal",
            "Starting",
            "node",
            "",
            "kube-proxy, kube-proxy-node-1",
            "",
            "10m",
            4,
            "e2"
        ]),
    );
    check(
        "",
        "Event",
        json!({"metadata": {"name": "e3"}, "involvedObject": {"kind": "Pod", "name": "p"}, "source": {"component": "scheduler"}, "eventTime": "2024-05-01T11:59:00.000000Z"}),
        json!(["60s", "", "", "pod/p", "", "scheduler", "", "60s", 1, "e3"]),
    );
    check(
        "",
        "Event",
        json!({"metadata": {"name": "e4"}}),
        json!(["<unknown>", "", "", "", "", "", "", "<unknown>", 1, "e4"]),
    );
}

#[test]
fn simple_kind_rows() {
    let created = "2024-05-01T09:00:00Z";
    check(
        "",
        "Namespace",
        json!({"metadata": {"name": "default", "creationTimestamp": created}, "status": {"phase": "Active"}}),
        json!(["default", "Active", "3h"]),
    );
    check(
        "",
        "ConfigMap",
        json!({"metadata": {"name": "cfg", "creationTimestamp": created}, "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}),
        json!(["cfg", 3, "3h"]),
    );
    check(
        "",
        "ConfigMap",
        json!({"metadata": {"name": "empty"}}),
        json!(["empty", 0, "<unknown>"]),
    );
    check(
        "",
        "Secret",
        json!({"metadata": {"name": "s", "creationTimestamp": created}, "type": "Opaque", "data": {"a": "MQ=="}, "stringData": {"a": "x", "b": "y"}}),
        json!(["s", "Opaque", 2, "3h"]),
    );
    check(
        "",
        "ServiceAccount",
        json!({"metadata": {"name": "default", "creationTimestamp": created}, "secrets": [{"name": "x"}]}),
        json!(["default", "3h"]),
    );
    check(
        "coordination.k8s.io",
        "Lease",
        json!({"metadata": {"name": "kube-scheduler", "creationTimestamp": created}, "spec": {"holderIdentity": "k4t_1234"}}),
        json!(["kube-scheduler", "k4t_1234", "3h"]),
    );
    check(
        "coordination.k8s.io",
        "Lease",
        json!({"metadata": {"name": "free"}, "spec": {}}),
        json!(["free", "", "<unknown>"]),
    );
    check(
        "settings.k8s.io",
        "PodPreset",
        json!({"metadata": {"name": "allow-database", "creationTimestamp": "2024-05-01T09:00:00Z"}}),
        json!(["allow-database", "2024-05-01T09:00:00Z"]),
    );
    check(
        "settings.k8s.io",
        "PodPreset",
        json!({"metadata": {"name": "no-time"}}),
        json!(["no-time", "0001-01-01T00:00:00Z"]),
    );
}

#[test]
fn garbage_never_panics() {
    let junk = [
        json!(null),
        json!(42),
        json!("x"),
        json!([1, 2]),
        json!({"metadata": 3, "spec": [], "status": "x"}),
        json!({"spec": {"containers": "x", "initContainers": [1, null]}, "status": {"containerStatuses": [null, 1, {"state": null, "lastState": {"terminated": null}}]}}),
        json!({"subsets": [{"addresses": 1, "ports": [null]}], "endpoints": [{"addresses": [1]}], "ports": [1]}),
        json!({"metadata": {"creationTimestamp": "not a time", "labels": {"node-role.kubernetes.io/x": 1}}}),
    ];
    for d in RESOURCES {
        for obj in &junk {
            let cells = cells(d, obj, ts(NOW));
            assert_eq!(cells.len(), columns(d).len(), "{}/{}", d.group, d.kind);
        }
    }
}

#[test]
fn ten_thousand_pods() {
    let pods = def("", "Pod");
    let template: Value = json!({
        "metadata": {"name": "web", "namespace": "default", "creationTimestamp": "2024-05-01T11:00:00Z",
                     "labels": {"app": "web"}, "uid": "x", "resourceVersion": "1"},
        "spec": {"containers": [{"name": "app", "image": "nginx", "ports": [{"containerPort": 80}]}], "nodeName": "node-1"},
        "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.1"}],
                   "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}],
                   "containerStatuses": [{"name": "app", "ready": true, "restartCount": 1, "image": "nginx", "imageID": "",
                                          "state": {"running": {"startedAt": "2024-05-01T11:01:00Z"}},
                                          "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2024-05-01T11:00:30Z"}}}]}
    });
    let list: Vec<Value> = (0..10_000).map(|_| template.clone()).collect();
    let now = ts(NOW);
    let rows: Vec<Vec<Value>> = list.iter().map(|p| cells(pods, p, now)).collect();
    assert_eq!(rows.len(), 10_000);
    assert_eq!(
        rows[9_999],
        json!([
            "web",
            "1/1",
            "Running",
            "1 (59m ago)",
            "60m",
            "10.0.0.1",
            "node-1",
            "<none>",
            "<none>"
        ])
        .as_array()
        .cloned()
        .unwrap_or_default()
    );
}
