//! The real kubectl against a real `k4t server`: everyday commands with default flags.

// These tests wait on real processes in wall-clock time; virtual time does not apply.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{Server, eventually, table};

const POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
    app: web
spec:
  containers:
  - name: app
    image: busybox:1.36
    command: [sleep, '3600']
    ports:
    - containerPort: 8080
      name: http
";

#[test]
fn version_and_api_resources() {
    let s = Server::start();
    let k = s.kubectl();
    let out = k.ok(&["version"]);
    assert!(out.contains("Server Version: v1.36.0"), "{out}");
    let out = k.ok(&["api-resources"]);
    let rows = table(&out);
    assert_eq!(
        rows[0],
        ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    );
    for (name, short, gv, kind) in [
        ("pods", "po", "v1", "Pod"),
        ("deployments", "deploy", "apps/v1", "Deployment"),
        ("replicasets", "rs", "apps/v1", "ReplicaSet"),
        ("namespaces", "ns", "v1", "Namespace"),
        ("leases", "", "coordination.k8s.io/v1", "Lease"),
    ] {
        assert!(
            rows.iter().any(|r| r[0] == name
                && r.contains(&gv.to_owned())
                && r.contains(&kind.to_owned())
                && (short.is_empty() || r[1] == short)),
            "{name} missing in\n{out}"
        );
    }
    assert!(
        out.contains("podpresets") && out.contains("settings.k8s.io/v1alpha1"),
        "{out}"
    );
    assert!(
        out.contains("endpointslices") && out.contains("events.k8s.io/v1"),
        "{out}"
    );
}

#[test]
fn system_namespaces_and_default_service_accounts_exist() {
    let s = Server::start();
    let k = s.kubectl();
    let out = k.ok(&["get", "namespaces"]);
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        assert!(
            table(&out).iter().any(|r| r[0] == ns && r[1] == "Active"),
            "{ns} in\n{out}"
        );
    }
    k.ok(&["create", "namespace", "team"]);
    let out = eventually(
        Duration::from_secs(20),
        "default service account in team",
        || {
            let r = k.run(&["get", "serviceaccount", "default", "-n", "team"]);
            (r.status == 0).then_some(r.stdout)
        },
    );
    assert_eq!(table(&out)[0], ["NAME", "AGE"]);
}

#[test]
fn create_apply_and_get_in_every_format() {
    let s = Server::start();
    let k = s.kubectl();
    let f = k.write("pod.yaml", POD);
    assert_eq!(k.ok(&["apply", "-f", &f]).trim(), "pod/web created");
    k.write(
        "pod.yaml",
        &POD.replace("busybox:1.36", "busybox:1.37")
            .replace("app: web", "app: web\n    tier: front"),
    );
    assert_eq!(k.ok(&["apply", "-f", &f]).trim(), "pod/web configured");
    assert_eq!(k.ok(&["apply", "-f", &f]).trim(), "pod/web unchanged");
    let dup = k.run(&["create", "-f", &f]);
    assert_ne!(dup.status, 0);
    assert!(
        dup.stderr
            .contains("Error from server (AlreadyExists): error when creating")
            && dup.stderr.contains("pods \"web\" already exists"),
        "{}",
        dup.stderr
    );

    let rows = table(&k.ok(&["get", "pods"]));
    assert_eq!(rows[0], ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
    assert_eq!(&rows[1][..4], ["web", "0/1", "Pending", "0"]);
    let rows = table(&k.ok(&["get", "pods", "-o", "wide"]));
    assert_eq!(
        rows[0],
        [
            "NAME",
            "READY",
            "STATUS",
            "RESTARTS",
            "AGE",
            "IP",
            "NODE",
            "NOMINATED NODE",
            "READINESS GATES"
        ]
    );
    assert_eq!(&rows[1][5..], ["<none>", "<none>", "<none>", "<none>"]);

    let pod: Value = serde_json::from_str(&k.ok(&["get", "pod", "web", "-o", "json"])).unwrap();
    assert_eq!(pod["spec"]["containers"][0]["image"], "busybox:1.37");
    assert_eq!(pod["metadata"]["labels"]["tier"], "front");
    assert_eq!(pod["metadata"]["generation"], 2);
    assert_eq!(pod["spec"]["restartPolicy"], "Always");
    assert_eq!(pod["spec"]["containers"][0]["ports"][0]["protocol"], "TCP");
    assert!(
        pod["metadata"]["uid"]
            .as_str()
            .is_some_and(|u| u.len() == 36)
    );
    let last_applied =
        pod["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .unwrap();
    assert!(last_applied.contains("busybox:1.37") && last_applied.ends_with('\n'));

    let yaml = k.ok(&["get", "pod", "web", "-o", "yaml"]);
    assert!(
        yaml.contains("kind: Pod") && yaml.contains("image: busybox:1.37"),
        "{yaml}"
    );
    assert_eq!(k.ok(&["get", "pods", "-o", "name"]).trim(), "pod/web");
    assert_eq!(
        k.ok(&[
            "get",
            "pod",
            "web",
            "-o",
            "jsonpath={.spec.containers[0].ports[0].name}"
        ]),
        "http"
    );
    let rows = table(&k.ok(&[
        "get",
        "pods",
        "-o",
        "custom-columns=NAME:.metadata.name,IMAGE:.spec.containers[0].image",
    ]));
    assert_eq!(rows, [vec!["NAME", "IMAGE"], vec!["web", "busybox:1.37"]]);
    let rows = table(&k.ok(&["get", "pods", "--show-labels"]));
    assert_eq!(rows[0].last().unwrap(), "LABELS");
    assert_eq!(rows[1].last().unwrap(), "app=web,tier=front");

    k.write("b.yaml", &POD.replace("name: web", "name: alpha"));
    k.ok(&["create", "-f", "b.yaml"]);
    let names: Vec<String> = table(&k.ok(&["get", "pods", "--sort-by=.metadata.name"]))
        .into_iter()
        .skip(1)
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(names, ["alpha", "web"]);
    let names: Vec<String> = table(&k.ok(&[
        "get",
        "pods",
        "--sort-by=.metadata.creationTimestamp",
        "-o",
        "name",
    ]))
    .into_iter()
    .map(|r| r[0].clone())
    .collect();
    assert_eq!(names, ["pod/web", "pod/alpha"]);
    let rows = table(&k.ok(&["get", "pods", "-A"]));
    assert_eq!(rows[0][0], "NAMESPACE");
    assert!(rows.iter().skip(1).all(|r| r[0] == "default"));
    let rows = table(&k.ok(&["get", "pods", "-l", "tier=front"]));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][0], "web");
    let rows = table(&k.ok(&["get", "pods", "--field-selector", "metadata.name=alpha"]));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][0], "alpha");
}

#[test]
fn label_annotate_patch_replace_and_edit() {
    let s = Server::start();
    let k = s.kubectl();
    let f = k.write("pod.yaml", POD);
    k.ok(&["create", "-f", &f]);
    assert_eq!(
        k.ok(&["label", "pod", "web", "env=prod"]).trim(),
        "pod/web labeled"
    );
    assert_eq!(
        k.ok(&["annotate", "pod", "web", "note=first"]).trim(),
        "pod/web annotated"
    );
    let err = k.fails(&["label", "pod", "web", "env=dev"]);
    assert!(
        err.contains("'env' already has a value (prod), and --overwrite is false"),
        "{err}"
    );
    k.ok(&["label", "pod", "web", "env=dev", "--overwrite"]);
    k.ok(&[
        "patch",
        "pod",
        "web",
        "-p",
        r#"{"metadata":{"labels":{"strategic":"yes"}}}"#,
    ]);
    k.ok(&[
        "patch",
        "pod",
        "web",
        "--type=merge",
        "-p",
        r#"{"metadata":{"annotations":{"merge":"yes"}}}"#,
    ]);
    k.ok(&[
        "patch",
        "pod",
        "web",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/containers/0/image","value":"busybox:1.38"}]"#,
    ]);
    let pod: Value = serde_json::from_str(&k.ok(&["get", "pod", "web", "-o", "json"])).unwrap();
    assert_eq!(pod["metadata"]["labels"]["env"], "dev");
    assert_eq!(pod["metadata"]["labels"]["strategic"], "yes");
    assert_eq!(pod["metadata"]["annotations"]["note"], "first");
    assert_eq!(pod["metadata"]["annotations"]["merge"], "yes");
    assert_eq!(pod["spec"]["containers"][0]["image"], "busybox:1.38");
    let out = k.ok(&[
        "patch",
        "pod",
        "web",
        "-p",
        r#"{"metadata":{"labels":{"strategic":"yes"}}}"#,
    ]);
    assert!(out.contains("patched (no change)"), "{out}");
    let err = k.fails(&[
        "patch",
        "pod",
        "web",
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/metadata/labels/missing"}]"#,
    ]);
    assert!(
        err.contains("The request is invalid") && err.contains("/metadata/labels/missing"),
        "{err}"
    );
    // A pod's spec is mostly immutable, as in Kubernetes.
    let err = k.fails(&[
        "patch",
        "pod",
        "web",
        "-p",
        r#"{"spec":{"restartPolicy":"Never"}}"#,
    ]);
    assert!(
        err.contains("Forbidden: pod updates may not change fields other than"),
        "{err}"
    );

    // replace with the current resourceVersion works; a stale one conflicts.
    let mut current: Value =
        serde_json::from_str(&k.ok(&["get", "pod", "web", "-o", "json"])).unwrap();
    current["metadata"]["labels"]["replaced"] = "yes".into();
    k.write("replace.json", &current.to_string());
    assert_eq!(
        k.ok(&["replace", "-f", "replace.json"]).trim(),
        "pod/web replaced"
    );
    current["metadata"]["labels"]["again"] = "yes".into();
    k.write("stale.json", &current.to_string());
    let err = k.fails(&["replace", "-f", "stale.json"]);
    assert!(
        err.contains("Error from server (Conflict)")
            && err.contains("Operation cannot be fulfilled on pods \"web\": the object has been modified; please apply your changes to the latest version and try again"),
        "{err}"
    );

    // edit through an editor script.
    let editor = k.write(
        "editor.sh",
        "#!/bin/sh\nsed -i 's/replaced: \"yes\"/replaced: edited/' \"$1\"\n",
    );
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut cmd = k.command(&["edit", "pod", "web"]);
    cmd.env("EDITOR", &editor).env("KUBE_EDITOR", &editor);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "pod/web edited"
    );
    assert_eq!(
        k.ok(&[
            "get",
            "pod",
            "web",
            "-o",
            "jsonpath={.metadata.labels.replaced}"
        ]),
        "edited"
    );
    let managers = k.ok(&[
        "get",
        "pod",
        "web",
        "--show-managed-fields",
        "-o",
        "jsonpath={.metadata.managedFields[*].manager}",
    ]);
    for m in ["kubectl-create", "kubectl-label", "kubectl-edit"] {
        assert!(managers.contains(m), "{m} missing from {managers}");
    }
}

#[test]
fn get_watch_prints_changes() {
    let s = Server::start();
    let k = s.kubectl();
    let f = k.write(
        "pod.yaml",
        &POD.replace("spec:\n", "spec:\n  nodeName: node-without-agent\n"),
    );
    let watch = k.spawn(&["get", "pods", "-w"], &s.dir.path().join("watch.out"));
    // The initial list prints the header (no pods yet: "No resources found" goes to stderr).
    std::thread::sleep(Duration::from_millis(500));
    k.ok(&["create", "-f", &f]);
    watch.wait_for("web", Duration::from_secs(20));
    k.ok(&["delete", "pod", "web", "--wait=false"]);
    let out = watch.wait_for("Terminating", Duration::from_secs(20));
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("web")).collect();
    assert!(lines.len() >= 2, "{out}");
    assert!(lines[0].contains("Pending"), "{out}");
    assert!(out.contains("NAME") && out.contains("STATUS"), "{out}");

    let events = k.spawn(&["get", "events", "-w"], &s.dir.path().join("events.out"));
    std::thread::sleep(Duration::from_millis(500));
    k.write(
        "event.yaml",
        "apiVersion: v1
kind: Event
metadata:
  name: web.1
involvedObject:
  kind: Pod
  name: web
  namespace: default
reason: Tested
message: hello from the test
type: Normal
source:
  component: e2e
firstTimestamp: \"2026-01-01T00:00:00Z\"
lastTimestamp: \"2026-01-01T00:00:00Z\"
count: 1
",
    );
    k.ok(&["create", "-f", "event.yaml"]);
    let out = events.wait_for("hello from the test", Duration::from_secs(20));
    assert!(out.contains("Tested") && out.contains("pod/web"), "{out}");
}

#[test]
fn describe_pod_shows_its_events() {
    let s = Server::start();
    let k = s.kubectl();
    let f = k.write("pod.yaml", POD);
    k.ok(&["create", "-f", &f]);
    let uid = k.ok(&["get", "pod", "web", "-o", "jsonpath={.metadata.uid}"]);
    let event = format!(
        "apiVersion: v1
kind: Event
metadata:
  name: web.2
involvedObject:
  apiVersion: v1
  kind: Pod
  name: web
  namespace: default
  uid: {uid}
reason: Unhealthy
message: 'Liveness probe failed: HTTP probe failed with statuscode: 500'
type: Warning
source:
  component: kubelet
count: 3
firstTimestamp: \"2026-01-01T00:00:00Z\"
lastTimestamp: \"2026-01-01T00:10:00Z\"
"
    );
    k.write("event.yaml", &event);
    k.ok(&["create", "-f", "event.yaml"]);
    let out = k.ok(&["describe", "pod", "web"]);
    assert!(out.contains("Name:") && out.contains("web"), "{out}");
    assert!(
        out.contains("Image:") && out.contains("busybox:1.36"),
        "{out}"
    );
    assert!(out.contains("8080/TCP"), "{out}");
    assert!(
        out.contains("QoS Class:") && out.contains("BestEffort"),
        "{out}"
    );
    let events = out.split("Events:").nth(1).unwrap_or_default();
    assert!(
        events.contains("Warning") && events.contains("Unhealthy") && events.contains("(x3 over"),
        "{out}"
    );
    assert!(
        events.contains("Liveness probe failed: HTTP probe failed with statuscode: 500"),
        "{out}"
    );
}

#[test]
fn bound_pods_stay_terminating_until_forced() {
    let s = Server::start();
    let k = s.kubectl();
    k.write(
        "pod.yaml",
        &POD.replace("spec:\n", "spec:\n  nodeName: node-without-agent\n"),
    );
    k.write("free.yaml", &POD.replace("name: web", "name: free"));
    k.ok(&["create", "-f", "pod.yaml", "-f", "free.yaml"]);
    // An unbound pod goes at once.
    assert_eq!(
        k.ok(&["delete", "pod", "free"]).trim(),
        "pod \"free\" deleted"
    );
    assert!(
        k.fails(&["get", "pod", "free"])
            .contains("Error from server (NotFound): pods \"free\" not found")
    );
    // A bound pod waits for its node agent.
    k.ok(&["delete", "pod", "web", "--wait=false"]);
    let rows = table(&k.ok(&["get", "pod", "web"]));
    assert_eq!(rows[1][2], "Terminating");
    let pod: Value = serde_json::from_str(&k.ok(&["get", "pod", "web", "-o", "json"])).unwrap();
    assert_eq!(pod["metadata"]["deletionGracePeriodSeconds"], 30);
    let r = k.run(&["delete", "pod", "web", "--timeout=2s"]);
    assert_ne!(
        r.status, 0,
        "delete --wait should time out while the pod is held"
    );
    let r = k.run(&["delete", "pod", "web", "--grace-period=0", "--force"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("Immediate deletion does not wait for confirmation"),
        "{}",
        r.stderr
    );
    assert!(k.fails(&["get", "pod", "web"]).contains("NotFound"));
}

#[test]
fn deleting_a_namespace_deletes_its_contents() {
    let s = Server::start();
    let k = s.kubectl();
    k.ok(&["create", "namespace", "doomed"]);
    let f = k.write("pod.yaml", POD);
    k.ok(&["create", "-f", &f, "-n", "doomed"]);
    k.ok(&[
        "create",
        "configmap",
        "settings",
        "-n",
        "doomed",
        "--from-literal=a=b",
    ]);
    k.ok(&[
        "create",
        "secret",
        "generic",
        "creds",
        "-n",
        "doomed",
        "--from-literal=user=admin",
    ]);
    let out = k.ok(&["delete", "namespace", "doomed", "--timeout=60s"]);
    assert_eq!(out.trim(), "namespace \"doomed\" deleted");
    assert!(
        k.fails(&["get", "namespace", "doomed"])
            .contains("namespaces \"doomed\" not found")
    );
    assert!(
        k.run(&["get", "configmaps", "-n", "doomed", "-o", "name"])
            .stdout
            .trim()
            .is_empty()
    );
    assert!(
        k.run(&["get", "pods", "-n", "doomed", "-o", "name"])
            .stdout
            .trim()
            .is_empty()
    );
    // New content cannot go into a namespace while it terminates.
    k.ok(&["create", "namespace", "held"]);
    k.write(
        "bound.yaml",
        &POD.replace("spec:\n", "spec:\n  nodeName: node-without-agent\n"),
    );
    k.ok(&["create", "-f", "bound.yaml", "-n", "held"]);
    k.ok(&["delete", "namespace", "held", "--wait=false"]);
    eventually(
        Duration::from_secs(20),
        "namespace held terminating",
        || {
            k.ok(&["get", "namespace", "held"])
                .contains("Terminating")
                .then_some(())
        },
    );
    let err = k.fails(&["create", "configmap", "late", "-n", "held"]);
    assert!(
        err.contains(
            "unable to create new content in namespace held because it is being terminated"
        ),
        "{err}"
    );
}

#[test]
fn explain_uses_the_served_schemas() {
    let s = Server::start();
    let k = s.kubectl();
    let out = k.ok(&["explain", "pod.spec.containers.livenessProbe"]);
    assert!(
        out.contains("KIND:       Pod") && out.contains("FIELD: livenessProbe <Probe>"),
        "{out}"
    );
    assert!(
        out.contains("httpGet") && out.contains("periodSeconds"),
        "{out}"
    );
    let out = k.ok(&["explain", "deployment.spec.strategy"]);
    assert!(
        out.contains("GROUP:      apps") && out.contains("rollingUpdate"),
        "{out}"
    );
}

#[test]
fn create_configmap_secret_and_namespace() {
    let s = Server::start();
    let k = s.kubectl();
    assert_eq!(
        k.ok(&["create", "namespace", "apps"]).trim(),
        "namespace/apps created"
    );
    assert_eq!(
        k.ok(&[
            "create",
            "configmap",
            "cfg",
            "-n",
            "apps",
            "--from-literal=color=blue",
            "--from-literal=size=2"
        ])
        .trim(),
        "configmap/cfg created"
    );
    assert_eq!(
        k.ok(&[
            "create",
            "secret",
            "generic",
            "pw",
            "-n",
            "apps",
            "--from-literal=password=s3cret"
        ])
        .trim(),
        "secret/pw created"
    );
    let rows = table(&k.ok(&["get", "configmap", "cfg", "-n", "apps"]));
    assert_eq!(rows[0], ["NAME", "DATA", "AGE"]);
    assert_eq!(&rows[1][..2], ["cfg", "2"]);
    let rows = table(&k.ok(&["get", "secret", "pw", "-n", "apps"]));
    assert_eq!(rows[0], ["NAME", "TYPE", "DATA", "AGE"]);
    assert_eq!(&rows[1][..3], ["pw", "Opaque", "1"]);
    assert_eq!(
        k.ok(&[
            "get",
            "secret",
            "pw",
            "-n",
            "apps",
            "-o",
            "jsonpath={.data.password}"
        ]),
        "czNjcmV0"
    );
    assert_eq!(
        k.ok(&[
            "get",
            "configmap",
            "cfg",
            "-n",
            "apps",
            "-o",
            "jsonpath={.data.color}"
        ]),
        "blue"
    );
}

#[test]
fn watches_end_on_timeout_and_compacted_versions_are_gone() {
    use support::Auth;
    let s = Server::start_with(&["--compaction-interval", "1s", "--compaction-retain", "5"]);
    let k = s.kubectl();
    for i in 0..20 {
        k.ok(&["create", "configmap", &format!("c{i}")]);
    }
    let started = std::time::Instant::now();
    let r = s.raw(
        Auth::Admin,
        "GET",
        "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1",
        None,
        Vec::new(),
    );
    assert_eq!(r.status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the watch did not end on its timeout"
    );
    assert_eq!(
        r.body.lines().filter(|l| l.contains("\"ADDED\"")).count(),
        20,
        "{}",
        r.body
    );
    // After compaction, an old resourceVersion is gone for watches and exact lists.
    eventually(
        Duration::from_secs(20),
        "a watch from revision 2 to be refused",
        || {
            let r = s.raw(Auth::Admin, "GET", "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=2&timeoutSeconds=2", None, Vec::new());
            (r.status == 200 && r.body.contains("\"ERROR\""))
                .then_some(())
                .map(|_| {
                    let ev: Value = serde_json::from_str(r.body.lines().next().unwrap()).unwrap();
                    assert_eq!(ev["object"]["code"], 410);
                    assert_eq!(ev["object"]["reason"], "Expired");
                    assert!(
                        ev["object"]["message"]
                            .as_str()
                            .unwrap()
                            .starts_with("too old resource version: 2"),
                        "{ev}"
                    );
                })
        },
    );
    let r = s.raw(
        Auth::Admin,
        "GET",
        "/api/v1/namespaces/default/configmaps?resourceVersion=2&resourceVersionMatch=Exact",
        None,
        Vec::new(),
    );
    assert_eq!(r.status, 410, "{}", r.body);
    // A watch from the current version sees only what comes next.
    let list = s
        .raw(
            Auth::Admin,
            "GET",
            "/api/v1/namespaces/default/configmaps",
            None,
            Vec::new(),
        )
        .json();
    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    let k2 = k.clone();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        k2.ok(&["create", "configmap", "fresh"]);
    });
    let r = s.raw(
        Auth::Admin,
        "GET",
        &format!(
            "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=3"
        ),
        None,
        Vec::new(),
    );
    writer.join().unwrap();
    let names: Vec<String> = r
        .body
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["object"]["metadata"]["name"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(names, ["fresh"], "{}", r.body);
}
