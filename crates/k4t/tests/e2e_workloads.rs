//! Workloads end to end: the real kubectl against `k4t server` with its controllers and node
//! agent, replicas of the built-in demo app on the process runtime (as root).

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{Kubectl, Server, eventually, table};

const REPLICASET: &str = r#"
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: app
        image: k4t/demo
        readinessProbe:
          httpGet: {path: /healthz, port: 8080}
          periodSeconds: 1
"#;

/// The set's pods that are not being deleted: (name, creationTimestamp, ready).
fn live_pods(k: &Kubectl) -> Vec<(String, String, bool)> {
    let list: Value = serde_json::from_str(&k.ok(&["get", "pods", "-l", "app=web", "-o", "json"]))
        .expect("pod list json");
    let mut pods: Vec<(String, String, bool)> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .map(|p| {
            let ready = p["status"]["conditions"].as_array().is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            });
            (
                p["metadata"]["name"].as_str().expect("name").to_owned(),
                p["metadata"]["creationTimestamp"]
                    .as_str()
                    .expect("creationTimestamp")
                    .to_owned(),
                ready,
            )
        })
        .collect();
    pods.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    pods
}

fn wait_ready(k: &Kubectl, n: usize) -> Vec<(String, String, bool)> {
    eventually(
        Duration::from_secs(60),
        &format!("{n} ready replicas"),
        || {
            let pods = live_pods(k);
            let rs = table(&k.ok(&["get", "rs", "web"]));
            (pods.len() == n
                && pods.iter().all(|p| p.2)
                && rs.get(1).is_some_and(|r| r[3] == n.to_string()))
            .then_some(pods)
        },
    )
}

#[test]
fn a_replicaset_keeps_its_replicas_scales_and_removes_the_oldest_first() {
    let s = Server::start_node(&[]);
    let k = s.kubectl();
    let path = k.write("rs.yaml", REPLICASET);
    k.ok(&["apply", "-f", &path]);
    let pods = wait_ready(&k, 3);

    // The columns kubectl shows for ReplicaSets, and the status behind them.
    let rs = table(&k.ok(&["get", "rs", "web"]));
    assert_eq!(rs[0], ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]);
    assert_eq!(&rs[1][..4], ["web", "3", "3", "3"]);
    let status: Value =
        serde_json::from_str(&k.ok(&["get", "rs", "web", "-o", "json"])).expect("rs json");
    assert_eq!(status["status"]["availableReplicas"], 3);
    assert_eq!(status["status"]["fullyLabeledReplicas"], 3);
    assert_eq!(
        status["status"]["observedGeneration"],
        status["metadata"]["generation"]
    );
    let owner = serde_json::from_str::<Value>(&k.ok(&["get", "pod", &pods[0].0, "-o", "json"]))
        .expect("pod json")["metadata"]["ownerReferences"][0]
        .clone();
    assert_eq!(owner["kind"], "ReplicaSet");
    assert_eq!(owner["controller"], true);
    assert_eq!(owner["uid"], status["metadata"]["uid"]);

    // A deleted pod is replaced.
    k.ok(&["delete", "pod", &pods[0].0, "--wait=false"]);
    let after = wait_ready(&k, 3);
    assert!(after.iter().all(|p| p.0 != pods[0].0), "{after:?}");
    let events = k.ok(&["describe", "rs", "web"]);
    assert!(events.contains("SuccessfulCreate"), "{events}");
    assert!(events.contains("Created pod: web-"), "{events}");

    // Up to 5, then down to 1: the survivor is the newest replica.
    k.ok(&["scale", "rs", "web", "--replicas=5"]);
    let five = wait_ready(&k, 5);
    k.ok(&["scale", "rs", "web", "--replicas=1"]);
    let one = wait_ready(&k, 1);
    assert_eq!(one[0].0, five[4].0, "kept {one:?} of {five:?}");
    let events = k.ok(&["describe", "rs", "web"]);
    assert!(events.contains("SuccessfulDelete"), "{events}");

    // A pod relabeled out of the selector is released, and replaced.
    let survivor = one[0].0.clone();
    k.ok(&["label", "pod", &survivor, "app=other", "--overwrite"]);
    let replaced = wait_ready(&k, 1);
    assert_ne!(replaced[0].0, survivor);
    let released: Value =
        serde_json::from_str(&k.ok(&["get", "pod", &survivor, "-o", "json"])).expect("pod json");
    assert!(
        released["metadata"]["ownerReferences"]
            .as_array()
            .is_none_or(|r| r.is_empty()),
        "{released}"
    );
}

const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 3
  selector:
    matchLabels: {app: api}
  strategy:
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
  template:
    metadata:
      labels: {app: api}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: app
        image: k4t/demo
        readinessProbe:
          httpGet: {path: /healthz, port: 8080}
          periodSeconds: 1
"#;

fn json(k: &Kubectl, args: &[&str]) -> Value {
    serde_json::from_str(&k.ok(args)).expect("json")
}

/// Pods of the Deployment not being deleted, and how many of them run the env var FOO.
fn api_pods(k: &Kubectl) -> (usize, usize) {
    try_api_pods(k).expect("the pods of deployment api")
}

#[test]
fn a_deployment_rolls_out_within_its_surge_undoes_and_cascades() {
    let s = Server::start_node(&[]);
    let k = s.kubectl();
    let path = k.write("deploy.yaml", DEPLOYMENT);
    k.ok(&["apply", "-f", &path]);
    let out = k.ok(&["rollout", "status", "deployment/api", "--timeout=60s"]);
    assert!(out.contains("successfully rolled out"), "{out}");
    let table_ = table(&k.ok(&["get", "deploy", "api"]));
    assert_eq!(
        table_[0],
        ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    );
    assert_eq!(&table_[1][..4], ["api", "3/3", "3", "3"]);
    let d = json(&k, &["get", "deploy", "api", "-o", "json"]);
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "1"
    );
    let conditions = d["status"]["conditions"].as_array().expect("conditions");
    // A deleted replica is replaced.
    let before = api_pod_names(&k);
    k.ok(&["delete", "pod", &before[0], "--wait=false"]);
    eventually(Duration::from_secs(60), "a replacement", || {
        let names = api_pod_names(&k);
        (names.len() == 3 && !names.contains(&before[0])).then_some(())
    });
    k.ok(&["rollout", "status", "deployment/api", "--timeout=60s"]);
    assert!(
        conditions
            .iter()
            .any(|c| c["type"] == "Available" && c["status"] == "True")
    );
    assert!(
        conditions
            .iter()
            .any(|c| c["type"] == "Progressing" && c["reason"] == "NewReplicaSetAvailable"),
        "{conditions:?}"
    );

    // A change rolls out one surge pod at a time: never more than replicas + maxSurge pods,
    // never fewer than replicas ready-or-old ones.
    k.ok(&["set", "env", "deployment/api", "FOO=bar"]);
    let mut most = 0;
    eventually(
        Duration::from_secs(90),
        "the new template everywhere",
        || {
            let (live, with_foo) = api_pods(&k);
            most = most.max(live);
            (live == 3 && with_foo == 3).then_some(())
        },
    );
    assert!(most <= 4, "saw {most} pods at once");
    let out = k.ok(&["rollout", "status", "deployment/api", "--timeout=60s"]);
    assert!(out.contains("successfully rolled out"), "{out}");
    let rs = table(&k.ok(&["get", "rs", "-l", "app=api"]));
    assert_eq!(rs.len(), 3, "{rs:?}");
    assert!(rs.iter().any(|r| r[1] == "0"), "{rs:?}");
    let history = k.ok(&["rollout", "history", "deployment/api"]);
    assert!(history.contains('1') && history.contains('2'), "{history}");
    let events = k.ok(&["describe", "deploy", "api"]);
    assert!(events.contains("Scaled up replica set api-"), "{events}");
    assert!(events.contains("Scaled down replica set api-"), "{events}");

    // Undo brings the first template back, as revision 3.
    k.ok(&["rollout", "undo", "deployment/api"]);
    eventually(Duration::from_secs(90), "the old template back", || {
        let (live, with_foo) = api_pods(&k);
        (live == 3 && with_foo == 0).then_some(())
    });
    let out = k.ok(&["rollout", "status", "deployment/api", "--timeout=60s"]);
    assert!(out.contains("successfully rolled out"), "{out}");
    let d = json(&k, &["get", "deploy", "api", "-o", "json"]);
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "3"
    );

    // Deleting the Deployment takes its ReplicaSets and their pods with it.
    k.ok(&["delete", "deployment", "api"]);
    eventually(Duration::from_secs(60), "replicasets and pods gone", || {
        let rs = json(&k, &["get", "rs", "-l", "app=api", "-o", "json"]);
        let pods = api_pods(&k).0;
        (rs["items"].as_array().is_some_and(|i| i.is_empty()) && pods == 0).then_some(())
    });
}

#[test]
fn deleting_with_cascade_orphan_leaves_the_replicasets_and_pods() {
    let s = Server::start_node(&[]);
    let k = s.kubectl();
    let path = k.write(
        "deploy.yaml",
        &DEPLOYMENT.replace("replicas: 3", "replicas: 1"),
    );
    k.ok(&["apply", "-f", &path]);
    k.ok(&["rollout", "status", "deployment/api", "--timeout=60s"]);
    // kubectl waits for the deletion, which the orphan finalizer holds until the collector
    // released the dependents.
    k.ok(&["delete", "deployment", "api", "--cascade=orphan"]);
    let gone = k.fails(&["get", "deployment", "api"]);
    assert!(gone.contains("NotFound"), "{gone}");
    let rs = json(&k, &["get", "rs", "-l", "app=api", "-o", "json"]);
    let items = rs["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{rs}");
    assert!(
        items[0]["metadata"]["ownerReferences"]
            .as_array()
            .is_none_or(|r| r.is_empty()),
        "{rs}"
    );
    assert_eq!(api_pods(&k).0, 1);

    // Applied again, the Deployment adopts the ReplicaSet it left: no second one, no new pod.
    k.ok(&["apply", "-f", &path]);
    k.ok(&["rollout", "status", "deployment/api", "--timeout=60s"]);
    let rs = json(&k, &["get", "rs", "-l", "app=api", "-o", "json"]);
    let items = rs["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{rs}");
    assert_eq!(
        items[0]["metadata"]["ownerReferences"][0]["kind"], "Deployment",
        "{rs}"
    );
    assert_eq!(api_pods(&k).0, 1);
}

/// Names of the Deployment's live pods, oldest first.
fn api_pod_names(k: &Kubectl) -> Vec<String> {
    let list = json(k, &["get", "pods", "-l", "app=api", "-o", "json"]);
    let mut pods: Vec<(String, String)> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .map(|p| {
            (
                p["metadata"]["creationTimestamp"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
                p["metadata"]["name"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    pods.sort();
    pods.into_iter().map(|(_, n)| n).collect()
}

#[test]
fn a_deployment_scales_restarts_and_reports_a_stuck_rollout() {
    let s = Server::start_node(&[]);
    let k = s.kubectl();
    let manifest = DEPLOYMENT.replace("replicas: 3", "replicas: 2\n  progressDeadlineSeconds: 10");
    let path = k.write("deploy.yaml", &manifest);
    k.ok(&["apply", "-f", &path]);
    k.ok(&["rollout", "status", "deployment/api", "--timeout=60s"]);

    // Scaled up, then down to one: the one kept is the newest.
    k.ok(&["scale", "deployment", "api", "--replicas=5"]);
    k.ok(&["rollout", "status", "deployment/api", "--timeout=60s"]);
    let five = eventually(Duration::from_secs(30), "five pods", || {
        let names = api_pod_names(&k);
        (names.len() == 5).then_some(names)
    });
    k.ok(&["scale", "deployment", "api", "--replicas=1"]);
    let one = eventually(Duration::from_secs(30), "one pod", || {
        let names = api_pod_names(&k);
        (names.len() == 1).then_some(names)
    });
    assert_eq!(one[0], five[4], "kept {one:?} of {five:?}");

    // A restart replaces every pod.
    k.ok(&["rollout", "restart", "deployment/api"]);
    k.ok(&["rollout", "status", "deployment/api", "--timeout=60s"]);
    let restarted = eventually(Duration::from_secs(30), "the old pod gone", || {
        let names = api_pod_names(&k);
        (names.len() == 1 && names[0] != one[0]).then_some(names)
    });
    assert_ne!(restarted, one);

    // A template whose pods never get ready: `rollout status` fails once the deadline passed,
    // and the old pod keeps serving.
    k.ok(&[
        "patch",
        "deployment",
        "api",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/template/spec/containers/0/readinessProbe/httpGet/port","value":9999}]"#,
    ]);
    let r = k.run(&["rollout", "status", "deployment/api", "--timeout=60s"]);
    assert_ne!(r.status, 0, "{}", r.stdout);
    assert!(
        r.stderr
            .contains("deployment \"api\" exceeded its progress deadline"),
        "{}",
        r.stderr
    );
    let d = json(&k, &["get", "deploy", "api", "-o", "json"]);
    let progressing = d["status"]["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .find(|c| c["type"] == "Progressing")
        .cloned()
        .expect("Progressing");
    assert_eq!(progressing["status"], "False");
    assert_eq!(progressing["reason"], "ProgressDeadlineExceeded");
    assert!(api_pod_names(&k).contains(&restarted[0]));
}

/// (live pods, of which with FOO) when the API answers; `None` while it does not (the server
/// is restarting).
fn try_api_pods(k: &Kubectl) -> Option<(usize, usize)> {
    let r = k.run(&["get", "pods", "-l", "app=api", "-o", "json"]);
    if r.status != 0 {
        return None;
    }
    let list: Value = serde_json::from_str(&r.stdout).ok()?;
    let live: Vec<&Value> = list["items"]
        .as_array()?
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .collect();
    let with_foo = live
        .iter()
        .filter(|p| {
            p["spec"]["containers"][0]["env"]
                .as_array()
                .is_some_and(|e| e.iter().any(|v| v["name"] == "FOO"))
        })
        .count();
    Some((live.len(), with_foo))
}

#[test]
fn a_rollout_survives_a_server_crash_without_overshooting() {
    let mut s = Server::start_node(&[]);
    let k = s.kubectl();
    let manifest = DEPLOYMENT.replace("replicas: 3", "replicas: 4\n  minReadySeconds: 1");
    let path = k.write("deploy.yaml", &manifest);
    k.ok(&["apply", "-f", &path]);
    k.ok(&["rollout", "status", "deployment/api", "--timeout=60s"]);
    k.ok(&["set", "env", "deployment/api", "FOO=bar"]);
    let mut most = 0;
    eventually(Duration::from_secs(60), "the rollout under way", || {
        let (live, with_foo) = try_api_pods(&k)?;
        most = most.max(live);
        (1..4).contains(&with_foo).then_some(())
    });
    s.kill9();
    s.restart();
    eventually(Duration::from_secs(120), "the rollout finished", || {
        let (live, with_foo) = try_api_pods(&k)?;
        most = most.max(live);
        (live == 4 && with_foo == 4).then_some(())
    });
    assert!(
        most <= 5,
        "saw {most} pods at once (replicas 4 + maxSurge 1)"
    );
    let out = k.ok(&["rollout", "status", "deployment/api", "--timeout=60s"]);
    assert!(out.contains("successfully rolled out"), "{out}");
}

const PRESET: &str = r#"
apiVersion: settings.k8s.io/v1alpha1
kind: PodPreset
metadata:
  name: allow-database
spec:
  selector:
    matchLabels:
      role: frontend
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

fn frontend_pod(name: &str) -> String {
    format!(
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels:
    app: website
    role: frontend
spec:
  containers:
    - name: website
      image: k4t/demo
      ports:
        - containerPort: 80
"#
    )
}

#[test]
fn podpresets_are_merged_into_new_pods_and_conflicts_leave_them_untouched() {
    let s = Server::start();
    let k = s.kubectl();
    k.ok(&["apply", "-f", &k.write("preset.yaml", PRESET)]);
    k.ok(&[
        "apply",
        "-f",
        &k.write("website.yaml", &frontend_pod("website")),
    ]);
    let pod = json(&k, &["get", "pod", "website", "-o", "json"]);
    let c = &pod["spec"]["containers"][0];
    assert_eq!(
        c["env"],
        serde_json::json!([{"name": "DB_PORT", "value": "6379"}])
    );
    assert_eq!(
        c["volumeMounts"],
        serde_json::json!([{"mountPath": "/cache", "name": "cache-volume"}])
    );
    assert_eq!(
        pod["spec"]["volumes"],
        serde_json::json!([{"name": "cache-volume", "emptyDir": {}}])
    );
    let preset_rv = json(&k, &["get", "podpreset", "allow-database", "-o", "json"])["metadata"]
        ["resourceVersion"]
        .clone();
    assert_eq!(
        pod["metadata"]["annotations"]["podpreset.admission.kubernetes.io/podpreset-allow-database"],
        preset_rv
    );

    // Pods made by a ReplicaSet get presets too; a pod that opts out does not.
    let rs = REPLICASET
        .replace("replicas: 3", "replicas: 1")
        .replace("labels: {app: web}", "labels: {app: web, role: frontend}");
    k.ok(&["apply", "-f", &k.write("rs.yaml", &rs)]);
    let made = eventually(Duration::from_secs(30), "the replicaset's pod", || {
        let list = json(&k, &["get", "pods", "-l", "app=web", "-o", "json"]);
        list["items"].as_array().and_then(|i| i.first().cloned())
    });
    assert_eq!(made["spec"]["containers"][0]["env"][0]["name"], "DB_PORT");
    let excluded = frontend_pod("excluded").replace(
        "  labels:",
        "  annotations:\n    podpreset.admission.kubernetes.io/exclude: \"true\"\n  labels:",
    );
    k.ok(&["apply", "-f", &k.write("excluded.yaml", &excluded)]);
    let pod = json(&k, &["get", "pod", "excluded", "-o", "json"]);
    assert!(pod["spec"]["containers"][0]["env"].is_null(), "{pod}");

    // A second preset that disagrees on DB_PORT: the next pod gets neither, and an event says
    // why. Existing pods never change.
    let conflicting = PRESET
        .replace("allow-database", "other-port")
        .replace("\"6379\"", "\"1234\"");
    k.ok(&["apply", "-f", &k.write("conflict.yaml", &conflicting)]);
    k.ok(&[
        "apply",
        "-f",
        &k.write("website2.yaml", &frontend_pod("website2")),
    ]);
    let pod = json(&k, &["get", "pod", "website2", "-o", "json"]);
    assert!(pod["spec"]["containers"][0]["env"].is_null(), "{pod}");
    assert!(pod["spec"]["volumes"].is_null(), "{pod}");
    let described = k.ok(&["describe", "pod", "website2"]);
    assert!(described.contains("PodPresetConflict"), "{described}");
    assert!(
        described.contains("merging env for other-port has a conflict on DB_PORT"),
        "{described}"
    );
    let first = json(&k, &["get", "pod", "website", "-o", "json"]);
    assert_eq!(first["spec"]["containers"][0]["env"][0]["value"], "6379");
}

#[test]
fn pause_resume_set_image_and_foreground_deletion() {
    let s = Server::start_node(&[]);
    let k = s.kubectl();
    let path = k.write(
        "deploy.yaml",
        &DEPLOYMENT.replace("replicas: 3", "replicas: 1"),
    );
    k.ok(&["apply", "-f", &path]);
    k.ok(&["rollout", "status", "deployment/api", "--timeout=60s"]);

    // Paused, a change waits; resumed, it rolls out.
    k.ok(&["rollout", "pause", "deployment/api"]);
    k.ok(&["set", "image", "deployment/api", "app=k4t/demo:v2"]);
    let d = eventually(Duration::from_secs(30), "the pause observed", || {
        let d = json(&k, &["get", "deploy", "api", "-o", "json"]);
        (d["status"]["observedGeneration"] == d["metadata"]["generation"]).then_some(d)
    });
    let progressing = d["status"]["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .find(|c| c["type"] == "Progressing")
        .cloned()
        .expect("Progressing");
    assert_eq!(progressing["reason"], "DeploymentPaused");
    let rs = json(&k, &["get", "rs", "-l", "app=api", "-o", "json"]);
    assert_eq!(rs["items"].as_array().map(Vec::len), Some(1), "{rs}");
    k.ok(&["rollout", "resume", "deployment/api"]);
    k.ok(&["rollout", "status", "deployment/api", "--timeout=60s"]);
    let images = k.ok(&[
        "get",
        "pods",
        "-l",
        "app=api",
        "-o",
        "jsonpath={.items[*].spec.containers[0].image}",
    ]);
    assert!(
        images.split_whitespace().all(|i| i == "k4t/demo:v2"),
        "{images}"
    );

    // Foreground: the Deployment stays, Terminating, until its ReplicaSets and pods are gone.
    k.ok(&["delete", "deployment", "api", "--cascade=foreground"]);
    let gone = k.fails(&["get", "deployment", "api"]);
    assert!(gone.contains("NotFound"), "{gone}");
    let rs = json(&k, &["get", "rs", "-l", "app=api", "-o", "json"]);
    assert_eq!(rs["items"].as_array().map(Vec::len), Some(0), "{rs}");
}

fn sleeper(name: &str, extra_spec: &str, extra_container: &str) -> String {
    format!(
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  terminationGracePeriodSeconds: 1
{extra_spec}
  containers:
  - name: c
    image: busybox
    command: ["sleep", "3600"]
{extra_container}
"#
    )
}

fn node_of(k: &Kubectl, pod: &str) -> String {
    k.ok(&["get", "pod", pod, "-o", "jsonpath={.spec.nodeName}"])
}

#[test]
fn the_scheduler_honours_taints_tolerations_and_host_ports() {
    let s = Server::start_node(&[]);
    let k = s.kubectl();
    let node = eventually(Duration::from_secs(30), "the node", || {
        let n = k.ok(&["get", "nodes", "-o", "jsonpath={.items[0].metadata.name}"]);
        (!n.is_empty()).then_some(n)
    });
    k.ok(&["taint", "node", &node, "dedicated=db:NoSchedule"]);
    k.ok(&[
        "apply",
        "-f",
        &k.write("plain.yaml", &sleeper("plain", "", "")),
    ]);
    let tolerant = sleeper(
        "tolerant",
        "  tolerations:\n  - {key: dedicated, operator: Equal, value: db, effect: NoSchedule}",
        "",
    );
    k.ok(&["apply", "-f", &k.write("tolerant.yaml", &tolerant)]);
    eventually(Duration::from_secs(30), "the tolerant pod bound", || {
        (node_of(&k, "tolerant") == node).then_some(())
    });
    let described = eventually(Duration::from_secs(30), "FailedScheduling", || {
        let d = k.ok(&["describe", "pod", "plain"]);
        d.contains("FailedScheduling").then_some(d)
    });
    assert!(
        described
            .contains("0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: db}."),
        "{described}"
    );
    assert_eq!(node_of(&k, "plain"), "");
    // The taint removed, the pending pod is scheduled.
    k.ok(&["taint", "node", &node, "dedicated-"]);
    eventually(Duration::from_secs(30), "the plain pod bound", || {
        (node_of(&k, "plain") == node).then_some(())
    });

    // Two pods asking for the same host port: the second cannot go anywhere.
    let port = "    ports:\n    - {containerPort: 18081, hostPort: 18081}";
    k.ok(&[
        "apply",
        "-f",
        &k.write("hp1.yaml", &sleeper("hp1", "", port)),
    ]);
    eventually(Duration::from_secs(30), "hp1 bound", || {
        (node_of(&k, "hp1") == node).then_some(())
    });
    k.ok(&[
        "apply",
        "-f",
        &k.write("hp2.yaml", &sleeper("hp2", "", port)),
    ]);
    let described = eventually(Duration::from_secs(30), "FailedScheduling", || {
        let d = k.ok(&["describe", "pod", "hp2"]);
        d.contains("FailedScheduling").then_some(d)
    });
    assert!(
        described.contains("1 node(s) didn't have free ports for the requested pod ports"),
        "{described}"
    );
}
