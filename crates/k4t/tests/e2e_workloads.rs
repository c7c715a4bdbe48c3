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
    let list = json(k, &["get", "pods", "-l", "app=api", "-o", "json"]);
    let live: Vec<&Value> = list["items"]
        .as_array()
        .expect("items")
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
    (live.len(), with_foo)
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
