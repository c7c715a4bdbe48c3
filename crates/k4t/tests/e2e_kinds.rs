//! Every served kind through kubectl: created from YAML, listed with the columns Kubernetes
//! prints, and the subresources kubectl uses (scale).

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::time::Duration;

use support::{Server, eventually, table};

const OBJECTS: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: k4t/demo:1
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-rs
spec:
  replicas: 1
  selector:
    matchLabels: {app: rs}
  template:
    metadata:
      labels: {app: rs}
    spec:
      containers:
      - name: app
        image: k4t/demo:1
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: v1
kind: Endpoints
metadata:
  name: web
subsets:
- addresses:
  - ip: 10.42.0.5
  ports:
  - port: 8080
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
ports:
- port: 8080
  protocol: TCP
endpoints:
- addresses: [10.42.0.5]
---
apiVersion: v1
kind: Node
metadata:
  name: node-1
  labels: {node-role.kubernetes.io/worker: ""}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data: {a: "1", b: "2"}
---
apiVersion: v1
kind: Secret
metadata:
  name: tls
type: Opaque
stringData: {key: value}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: robot
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: leader
spec:
  holderIdentity: node-1
  leaseDurationSeconds: 15
---
apiVersion: settings.k8s.io/v1alpha1
kind: PodPreset
metadata:
  name: allow-database
spec:
  selector:
    matchLabels: {role: frontend}
  env:
  - name: DB_PORT
    value: "6379"
  volumeMounts:
  - mountPath: /cache
    name: cache-volume
  volumes:
  - name: cache-volume
    emptyDir: {}
"#;

#[test]
fn every_kind_prints_kubernetes_columns() {
    let s = Server::start();
    let k = s.kubectl();
    let f = k.write("objects.yaml", OBJECTS);
    let out = k.ok(&["apply", "-f", &f]);
    for line in [
        "deployment.apps/web created",
        "replicaset.apps/web-rs created",
        "service/web created",
        "endpoints/web created",
        "endpointslice.discovery.k8s.io/web-abc created",
        "node/node-1 created",
        "configmap/cfg created",
        "secret/tls created",
        "serviceaccount/robot created",
        "lease.coordination.k8s.io/leader created",
        "podpreset.settings.k8s.io/allow-database created",
    ] {
        assert!(out.contains(line), "{line} missing:\n{out}");
    }
    let header = |args: &[&str]| table(&k.ok(args)).first().cloned().unwrap_or_default();
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["get", "deployments"],
            &["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        ),
        (
            &["get", "deployments", "-o", "wide"],
            &[
                "NAME",
                "READY",
                "UP-TO-DATE",
                "AVAILABLE",
                "AGE",
                "CONTAINERS",
                "IMAGES",
                "SELECTOR",
            ],
        ),
        (
            &["get", "replicasets"],
            &["NAME", "DESIRED", "CURRENT", "READY", "AGE"],
        ),
        (
            &["get", "services"],
            &[
                "NAME",
                "TYPE",
                "CLUSTER-IP",
                "EXTERNAL-IP",
                "PORT(S)",
                "AGE",
            ],
        ),
        (&["get", "endpoints"], &["NAME", "ENDPOINTS", "AGE"]),
        (
            &["get", "endpointslices"],
            &["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"],
        ),
        (
            &["get", "nodes"],
            &["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
        ),
        (&["get", "namespaces"], &["NAME", "STATUS", "AGE"]),
        (&["get", "configmaps"], &["NAME", "DATA", "AGE"]),
        (&["get", "secrets"], &["NAME", "TYPE", "DATA", "AGE"]),
        (&["get", "serviceaccounts"], &["NAME", "AGE"]),
        (&["get", "leases"], &["NAME", "HOLDER", "AGE"]),
        (&["get", "podpresets"], &["NAME", "CREATED AT"]),
    ];
    for (args, want) in cases {
        assert_eq!(header(args), *want, "kubectl {args:?}");
    }
    // The Deployment controller makes its ReplicaSet at once; with no node, its pods stay
    // Pending: 2 up to date, none ready or available.
    let rows = eventually(Duration::from_secs(30), "deployment status", || {
        let rows = table(&k.ok(&["get", "deployment", "web", "-o", "wide"]));
        (rows[1][..4] == ["web", "0/2", "2", "0"]).then_some(rows)
    });
    assert_eq!(&rows[1][5..], ["app", "k4t/demo:1", "app=web"]);
    let rows = table(&k.ok(&["get", "service", "web"]));
    assert_eq!(rows[1][1], "ClusterIP");
    assert!(
        rows[1][2].starts_with("10.43."),
        "cluster IP from the service range: {:?}",
        rows[1]
    );
    assert_eq!(rows[1][4], "80/TCP");
    let rows = table(&k.ok(&["get", "endpoints", "web"]));
    assert_eq!(rows[1][1], "10.42.0.5:8080");
    let rows = table(&k.ok(&["get", "nodes"]));
    assert_eq!(&rows[1][..3], ["node-1", "Unknown", "worker"]);
    let rows = table(&k.ok(&["get", "configmaps", "cfg"]));
    assert_eq!(rows[1][1], "2");
    let rows = table(&k.ok(&["get", "leases"]));
    assert_eq!(rows[1][1], "node-1");
    // `kubectl get all` uses the "all" category.
    let out = k.ok(&["get", "all"]);
    assert!(
        out.contains("deployment.apps/web")
            && out.contains("service/web")
            && out.contains("replicaset.apps/web-rs"),
        "{out}"
    );
}

#[test]
fn scale_subresource_and_events_in_both_versions() {
    let s = Server::start();
    let k = s.kubectl();
    let f = k.write("objects.yaml", OBJECTS);
    k.ok(&["apply", "-f", &f]);
    assert_eq!(
        k.ok(&["scale", "deployment", "web", "--replicas=5"]).trim(),
        "deployment.apps/web scaled"
    );
    assert_eq!(
        k.ok(&[
            "get",
            "deployment",
            "web",
            "-o",
            "jsonpath={.spec.replicas}"
        ]),
        "5"
    );
    assert_eq!(
        k.ok(&[
            "get",
            "deployment",
            "web",
            "-o",
            "jsonpath={.metadata.generation}"
        ]),
        "2"
    );
    assert_eq!(
        k.ok(&["scale", "replicaset", "web-rs", "--replicas=0"])
            .trim(),
        "replicaset.apps/web-rs scaled"
    );
    let err = k.fails(&["scale", "deployment", "web", "--replicas=-1"]);
    assert!(
        err.contains("--replicas=COUNT") || err.contains("must be greater than or equal to 0"),
        "{err}"
    );

    k.write(
        "event.yaml",
        "apiVersion: events.k8s.io/v1
kind: Event
metadata:
  name: web.17
eventTime: \"2026-01-01T00:00:00.000000Z\"
reportingController: k4t.io/e2e
reportingInstance: e2e-1
action: Testing
reason: Scaled
note: scaled for the test
type: Normal
regarding:
  apiVersion: apps/v1
  kind: Deployment
  name: web
  namespace: default
",
    );
    k.ok(&["create", "-f", "event.yaml"]);
    let rows = table(&k.ok(&["get", "events"]));
    assert!(
        rows.iter()
            .any(|r| r.contains(&"Scaled".to_owned()) && r.contains(&"deployment/web".to_owned())),
        "{rows:?}"
    );
    let core = k.ok(&[
        "get",
        "events.v1.",
        "web.17",
        "-o",
        "jsonpath={.message}|{.involvedObject.kind}|{.source.component}",
    ]);
    assert!(
        core.starts_with("scaled for the test|Deployment|"),
        "{core}"
    );
    let v1 = k.ok(&[
        "get",
        "events.v1.events.k8s.io",
        "web.17",
        "-o",
        "jsonpath={.note}|{.regarding.name}|{.reportingController}",
    ]);
    assert_eq!(v1, "scaled for the test|web|k4t.io/e2e");
    let by_field = k.ok(&[
        "get",
        "events.v1.events.k8s.io",
        "--field-selector",
        "regarding.name=web",
        "-o",
        "name",
    ]);
    // The Deployment controller's events about `web` match too; nothing about anything else.
    let names: Vec<&str> = by_field.lines().collect();
    assert!(names.contains(&"event.events.k8s.io/web.17"), "{by_field}");
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("event.events.k8s.io/web.")),
        "{by_field}"
    );
}
