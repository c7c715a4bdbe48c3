//! The node agent end to end: the real kubectl against `k4t server` running its agent on the
//! process runtime (as root: own network, mount, UTS and PID namespaces per pod, cgroups).
//! Durations are shortened only through pod specs and the agent's flags.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::io::{Read as _, Write as _};
use std::time::Duration;

use serde_json::Value;
use support::{Kubectl, Server, eventually, table};

const FAST_BACKOFF: &[&str] = &[
    "--crashloop-backoff-initial",
    "1s",
    "--crashloop-backoff-max",
    "4s",
];

fn pod(k: &Kubectl, name: &str) -> Value {
    serde_json::from_str(&k.ok(&["get", "pod", name, "-o", "json"])).expect("pod json")
}

fn container_status(p: &Value) -> &Value {
    &p["status"]["containerStatuses"][0]
}

fn restarts(k: &Kubectl, name: &str) -> i64 {
    container_status(&pod(k, name))["restartCount"]
        .as_i64()
        .unwrap_or(0)
}

fn apply(k: &Kubectl, name: &str, yaml: &str) {
    let path = k.write(&format!("{name}.yaml"), yaml);
    k.ok(&["apply", "-f", &path]);
}

#[track_caller]
fn wait_until(k: &Kubectl, what: &str, secs: u64, f: impl Fn(&Kubectl) -> bool) {
    eventually(Duration::from_secs(secs), what, || f(k).then_some(()));
}

fn phase(k: &Kubectl, name: &str) -> String {
    pod(k, name)["status"]["phase"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn describe(k: &Kubectl, name: &str) -> String {
    k.ok(&["describe", "pod", name])
}

/// A plain HTTP GET (tests only talk to loopback and pod IPs).
fn http_get(ip: &str, port: u16, path: &str) -> Option<(u16, String)> {
    let addr = format!("{ip}:{port}").parse().ok()?;
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {ip}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let code = out.split_whitespace().nth(1)?.parse().ok()?;
    let body = out.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    Some((code, body))
}

#[test]
fn exec_liveness_restarts_the_container_as_the_classic_example() {
    let s = Server::start_node(&[]);
    let k = s.kubectl();
    apply(
        &k,
        "liveness-exec",
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: liveness-exec
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: liveness
    image: busybox
    command: ["/bin/sh", "-c", "touch /tmp/healthy; sleep 3; rm -f /tmp/healthy; sleep 600"]
    livenessProbe:
      exec:
        command: ["cat", "/tmp/healthy"]
      initialDelaySeconds: 1
      periodSeconds: 1
      failureThreshold: 2
"#,
    );
    // As against Kubernetes, `get pod NAME -w` needs the pod to exist.
    let watch = k.spawn(
        &["get", "pod", "liveness-exec", "-w"],
        &s.dir.path().join("watch.txt"),
    );
    wait_until(&k, "two restarts", 90, |k| {
        restarts(k, "liveness-exec") >= 2
    });
    let p = pod(&k, "liveness-exec");
    let cs = container_status(&p);
    assert_eq!(cs["lastState"]["terminated"]["exitCode"], 137, "{cs}");
    assert_eq!(cs["lastState"]["terminated"]["reason"], "Error", "{cs}");
    let d = describe(&k, "liveness-exec");
    assert!(d.contains("Liveness probe failed: "), "{d}");
    assert!(d.contains("No such file or directory"), "{d}");
    assert!(
        d.contains("Container liveness failed liveness probe, will be restarted"),
        "{d}"
    );
    // `get -w` printed the pod as it went: created, running, then running with restarts.
    let w = watch.wait_for("liveness-exec", Duration::from_secs(5));
    let rows = table(&w);
    assert!(rows.len() >= 4, "{w}");
    assert!(
        rows.iter()
            .any(|r| r.get(2).map(String::as_str) == Some("Running")),
        "{w}"
    );
    assert!(
        rows.iter()
            .any(|r| r.get(3).is_some_and(|c| c.starts_with("1 ("))),
        "{w}"
    );
}

#[test]
fn http_liveness_against_the_demo_app_and_crash_loop_backoff() {
    let s = Server::start_node(FAST_BACKOFF);
    let k = s.kubectl();
    apply(
        &k,
        "kubia",
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: kubia-liveness
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: kubia
    image: k4t/demo
    args: ["--fail-after", "5"]
    livenessProbe:
      httpGet:
        path: /
        port: 8080
      periodSeconds: 1
      failureThreshold: 3
---
apiVersion: v1
kind: Pod
metadata:
  name: crasher
spec:
  containers:
  - name: crash
    image: busybox
    command: ["sh", "-c", "sleep 1; exit 1"]
"#,
    );
    let watch = k.spawn(
        &["get", "pod", "crasher", "-w"],
        &s.dir.path().join("watch.txt"),
    );
    // The back-off grows 1s, 2s, 4s and stays at the cap.
    let mut messages: Vec<String> = Vec::new();
    eventually(Duration::from_secs(60), "back-off up to 4s", || {
        let p = pod(&k, "crasher");
        if let Some(m) = container_status(&p)["state"]["waiting"]["message"].as_str()
            && messages.last().map(String::as_str) != Some(m)
        {
            messages.push(m.to_owned());
        }
        messages
            .iter()
            .any(|m| {
                m.starts_with("back-off 4s restarting failed container=crash pod=crasher_default(")
            })
            .then_some(())
    });
    let order: Vec<&str> = messages
        .iter()
        .filter_map(|m| m.split_whitespace().nth(1))
        .collect();
    let pos = |d: &str| order.iter().position(|o| *o == d);
    assert!(pos("1s").is_some() || pos("2s").is_some(), "{messages:?}");
    if let (Some(a), Some(b)) = (pos("2s"), pos("4s")) {
        assert!(a < b, "{messages:?}");
    }
    let w = watch.output();
    for status in ["Running", "Error", "CrashLoopBackOff"] {
        assert!(w.contains(status), "no {status} in:\n{w}");
    }
    let d = describe(&k, "crasher");
    assert!(
        d.contains("Back-off restarting failed container crash in pod crasher_default("),
        "{d}"
    );

    wait_until(&k, "the demo app restarted twice", 90, |k| {
        restarts(k, "kubia-liveness") >= 2
    });
    let rows = table(&k.ok(&["get", "pod", "kubia-liveness"]));
    let cell = &rows[1][3];
    let re_ok = cell
        .split_once(" (")
        .is_some_and(|(n, ago)| n.parse::<u32>().is_ok() && ago.ends_with(" ago)"));
    assert!(re_ok, "RESTARTS {cell:?}");
    let d = describe(&k, "kubia-liveness");
    assert!(
        d.contains("Liveness probe failed: HTTP probe failed with statuscode: 500"),
        "{d}"
    );
    assert!(
        d.contains("Container kubia failed liveness probe, will be restarted"),
        "{d}"
    );
}

#[test]
fn restart_policy_and_exit_code_matrix() {
    let s = Server::start_node(FAST_BACKOFF);
    let k = s.kubectl();
    let mut yaml = String::new();
    for policy in ["Always", "OnFailure", "Never"] {
        for code in [0, 1] {
            yaml.push_str(&format!(
                r#"---
apiVersion: v1
kind: Pod
metadata:
  name: {}-{code}
spec:
  restartPolicy: {policy}
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "sleep 1; exit {code}"]
"#,
                policy.to_lowercase()
            ));
        }
    }
    apply(&k, "matrix", &yaml);
    let terminated = |k: &Kubectl, name: &str| -> Option<Value> {
        let p = pod(k, name);
        let t = container_status(&p)["state"]["terminated"].clone();
        (!t.is_null()).then_some(t)
    };
    // Never and OnFailure with exit 0 end; their phase and reason are final.
    for (name, want_phase, want_reason, want_code) in [
        ("never-0", "Succeeded", "Completed", 0),
        ("never-1", "Failed", "Error", 1),
        ("onfailure-0", "Succeeded", "Completed", 0),
    ] {
        wait_until(&k, &format!("{name} {want_phase}"), 60, |k| {
            phase(k, name) == want_phase
        });
        let t = terminated(&k, name).expect("terminated state");
        assert_eq!(t["reason"], want_reason, "{name}: {t}");
        assert_eq!(t["exitCode"], want_code, "{name}: {t}");
        assert_eq!(restarts(&k, name), 0, "{name}");
    }
    // Always restarts after either exit; OnFailure after a failure. The pod stays Running.
    for (name, reason) in [
        ("always-0", "Completed"),
        ("always-1", "Error"),
        ("onfailure-1", "Error"),
    ] {
        wait_until(&k, &format!("{name} restarted"), 60, |k| {
            restarts(k, name) >= 1
        });
        let p = pod(&k, name);
        assert_eq!(p["status"]["phase"], "Running", "{name}");
        assert_eq!(
            container_status(&p)["lastState"]["terminated"]["reason"],
            reason,
            "{name}"
        );
    }
    let rows = table(&k.ok(&["get", "pods"]));
    let status_of = |n: &str| {
        rows.iter()
            .find(|r| r[0] == n)
            .map(|r| r[2].clone())
            .unwrap_or_default()
    };
    assert_eq!(status_of("never-0"), "Completed");
    assert_eq!(status_of("never-1"), "Error");
    assert_eq!(status_of("onfailure-0"), "Completed");
}

#[test]
fn readiness_toggles_ready_and_startup_holds_liveness() {
    let s = Server::start_node(&[]);
    let k = s.kubectl();
    let host = s.dir.path().join("shared");
    std::fs::create_dir_all(&host).unwrap();
    apply(
        &k,
        "probes",
        &format!(
            r#"
apiVersion: v1
kind: Pod
metadata:
  name: ready
spec:
  containers:
  - name: app
    image: busybox
    command: ["sleep", "600"]
    readinessProbe:
      exec:
        command: ["cat", "/data/ready"]
      periodSeconds: 1
    volumeMounts:
    - name: data
      mountPath: /data
  volumes:
  - name: data
    hostPath:
      path: {}
---
apiVersion: v1
kind: Pod
metadata:
  name: slow-start
spec:
  containers:
  - name: app
    image: busybox
    command: ["sh", "-c", "sleep 4; touch /tmp/started; sleep 600"]
    startupProbe:
      exec:
        command: ["cat", "/tmp/started"]
      periodSeconds: 1
      failureThreshold: 30
    livenessProbe:
      exec:
        command: ["cat", "/tmp/started"]
      periodSeconds: 1
      failureThreshold: 1
"#,
            host.display()
        ),
    );
    let ready_cell = |k: &Kubectl| table(&k.ok(&["get", "pod", "ready"]))[1][1].clone();
    let ready_condition = |k: &Kubectl| {
        let p = pod(k, "ready");
        p["status"]["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready").cloned())
            .unwrap_or_default()
    };
    wait_until(&k, "ready running", 30, |k| phase(k, "ready") == "Running");
    assert_eq!(ready_cell(&k), "0/1");
    let c = ready_condition(&k);
    assert_eq!(c["status"], "False", "{c}");
    assert_eq!(c["reason"], "ContainersNotReady", "{c}");
    std::fs::write(host.join("ready"), "yes").unwrap();
    wait_until(&k, "READY 1/1", 20, |k| ready_cell(k) == "1/1");
    assert_eq!(ready_condition(&k)["status"], "True");
    std::fs::remove_file(host.join("ready")).unwrap();
    wait_until(&k, "READY 0/1", 20, |k| ready_cell(k) == "0/1");
    assert_eq!(ready_condition(&k)["status"], "False");

    wait_until(&k, "slow-start ready", 40, |k| {
        container_status(&pod(k, "slow-start"))["ready"] == true
    });
    let p = pod(&k, "slow-start");
    assert_eq!(container_status(&p)["started"], true);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(restarts(&k, "slow-start"), 0);
    let d = describe(&k, "slow-start");
    assert!(d.contains("Startup probe failed: "), "{d}");
    assert!(!d.contains("Liveness probe failed"), "{d}");
}

#[test]
fn init_containers_run_in_order_and_hooks_and_grace() {
    let s = Server::start_node(&[]);
    let k = s.kubectl();
    let host = s.dir.path().join("shared");
    std::fs::create_dir_all(&host).unwrap();
    apply(
        &k,
        "init",
        &format!(
            r#"
apiVersion: v1
kind: Pod
metadata:
  name: init
spec:
  initContainers:
  - name: first
    image: busybox
    command: ["sh", "-c", "sleep 2; echo one >> /data/order"]
    volumeMounts: [{{name: data, mountPath: /data}}]
  - name: second
    image: busybox
    command: ["sh", "-c", "echo two >> /data/order"]
    volumeMounts: [{{name: data, mountPath: /data}}]
  containers:
  - name: app
    image: busybox
    command: ["sh", "-c", "echo app >> /data/order; trap 'echo term >> /data/order; exit 0' TERM; while true; do sleep 0.2; done"]
    lifecycle:
      preStop:
        exec:
          command: ["sh", "-c", "echo prestop >> /data/order"]
    volumeMounts: [{{name: data, mountPath: /data}}]
  volumes:
  - name: data
    hostPath:
      path: {}
---
apiVersion: v1
kind: Pod
metadata:
  name: stubborn
spec:
  restartPolicy: Never
  containers:
  - name: app
    image: busybox
    command: ["sh", "-c", "trap '' TERM; while true; do sleep 0.2; done"]
    livenessProbe:
      exec:
        command: ["cat", "/nonexistent"]
      initialDelaySeconds: 1
      periodSeconds: 1
      failureThreshold: 1
      terminationGracePeriodSeconds: 3
"#,
            host.display()
        ),
    );
    let watch = k.spawn(
        &["get", "pod", "init", "-w"],
        &s.dir.path().join("watch.txt"),
    );
    wait_until(&k, "init running", 40, |k| phase(k, "init") == "Running");
    let w = watch.output();
    assert!(w.contains("Init:0/2"), "{w}");
    let order = std::fs::read_to_string(host.join("order")).unwrap();
    assert_eq!(order, "one\ntwo\napp\n");
    k.ok(&["delete", "pod", "init", "--wait=true", "--timeout=60s"]);
    let order = std::fs::read_to_string(host.join("order")).unwrap();
    assert_eq!(order, "one\ntwo\napp\nprestop\nterm\n");

    // A process that ignores SIGTERM is killed once the probe's grace period is over.
    wait_until(&k, "stubborn failed", 60, |k| {
        phase(k, "stubborn") == "Failed"
    });
    let p = pod(&k, "stubborn");
    let t = &container_status(&p)["state"]["terminated"];
    assert_eq!(t["exitCode"], 137, "{t}");
    let ts = |v: &Value| {
        v.as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_second()
    };
    // initialDelay 1 s + grace 3 s (whole seconds in the API).
    assert!(ts(&t["finishedAt"]) - ts(&t["startedAt"]) >= 3, "{t}");
}

#[test]
fn memory_limit_gives_oomkilled() {
    let s = Server::start_node(&[]);
    let k = s.kubectl();
    apply(
        &k,
        "oom",
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: hog
spec:
  restartPolicy: Never
  containers:
  - name: hog
    image: k4t/demo
    args: ["--leak-kib-per-second", "65536"]
    resources:
      limits:
        memory: 32Mi
"#,
    );
    wait_until(&k, "hog failed", 60, |k| phase(k, "hog") == "Failed");
    let p = pod(&k, "hog");
    let t = &container_status(&p)["state"]["terminated"];
    assert_eq!(t["reason"], "OOMKilled", "{t}");
    assert_eq!(t["exitCode"], 137, "{t}");
    let rows = table(&k.ok(&["get", "pod", "hog"]));
    assert_eq!(rows[1][2], "OOMKilled");
}

#[test]
fn pods_have_their_own_ip_and_hostname() {
    let s = Server::start_node(&[]);
    let k = s.kubectl();
    let mut yaml = String::new();
    for i in 0..3 {
        yaml.push_str(&format!(
            r#"---
apiVersion: v1
kind: Pod
metadata:
  name: web-{i}
spec:
  containers:
  - name: web
    image: k4t/demo
    ports: [{{containerPort: 8080}}]
    readinessProbe:
      httpGet: {{path: /healthz, port: 8080}}
      periodSeconds: 1
"#
        ));
    }
    apply(&k, "webs", &yaml);
    let mut ips = Vec::new();
    for i in 0..3 {
        let name = format!("web-{i}");
        wait_until(&k, &format!("{name} ready"), 40, |k| {
            container_status(&pod(k, &name))["ready"] == true
        });
        let p = pod(&k, &name);
        let ip = p["status"]["podIP"].as_str().unwrap().to_owned();
        assert_eq!(p["status"]["podIPs"][0]["ip"], ip.as_str());
        let (code, body) = http_get(&ip, 8080, "/").expect("pod answers on its IP");
        assert_eq!(code, 200);
        assert_eq!(body.trim(), format!("You've hit {name}"));
        ips.push(ip);
    }
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 3, "{ips:?}");
}

#[test]
fn containers_survive_kill_9_of_k4t() {
    let mut s = Server::start_node(&[]);
    let k = s.kubectl();
    apply(
        &k,
        "survive",
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: web
    image: k4t/demo
---
apiVersion: v1
kind: Pod
metadata:
  name: short
spec:
  restartPolicy: Never
  containers:
  - name: short
    image: busybox
    command: ["sh", "-c", "sleep 8; exit 3"]
"#,
    );
    wait_until(&k, "both running", 30, |k| {
        phase(k, "web") == "Running" && phase(k, "short") == "Running"
    });
    let before = pod(&k, "web");
    let id = container_status(&before)["containerID"].clone();
    let ip = before["status"]["podIP"].as_str().unwrap().to_owned();
    s.kill9();
    // Meanwhile the app keeps answering and the short one ends.
    assert_eq!(http_get(&ip, 8080, "/").map(|r| r.0), Some(200));
    std::thread::sleep(Duration::from_secs(9));
    s.restart();
    let k = s.kubectl();
    wait_until(&k, "short reported", 30, |k| phase(k, "short") == "Failed");
    let t = container_status(&pod(&k, "short"))["state"]["terminated"].clone();
    assert_eq!(t["exitCode"], 3, "{t}");
    let after = pod(&k, "web");
    let cs = container_status(&after);
    assert_eq!(cs["containerID"], id);
    assert_eq!(cs["restartCount"], 0);
    assert!(cs["state"]["running"].is_object(), "{cs}");
    assert_eq!(http_get(&ip, 8080, "/").map(|r| r.0), Some(200));
}
