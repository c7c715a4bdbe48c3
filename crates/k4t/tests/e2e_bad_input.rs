//! Bad input gets Kubernetes' errors, as kubectl prints them, and stores nothing.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use support::{Auth, Kubectl, Server};

const GOOD_POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: good
spec:
  containers:
  - name: app
    image: busybox
";

fn assert_no_pods(k: &Kubectl) {
    let out = k.ok(&["get", "pods", "-o", "name"]);
    assert!(out.trim().is_empty(), "something was stored: {out}");
}

#[test]
fn malformed_yaml_and_json_are_rejected() {
    let s = Server::start();
    let k = s.kubectl();
    k.write(
        "bad.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n spec: [\n",
    );
    let err = k.fails(&["create", "-f", "bad.yaml"]);
    assert!(
        err.contains("error converting YAML to JSON") || err.contains("error parsing"),
        "{err}"
    );
    k.write("bad.json", "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", ");
    let err = k.fails(&["create", "-f", "bad.json"]);
    assert!(err.contains("bad.json"), "{err}");
    // The server itself, for clients that do not parse first.
    let r = s.raw(
        Auth::Admin,
        "POST",
        "/api/v1/namespaces/default/pods",
        Some("application/json"),
        b"{\"apiVersion\":".to_vec(),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    let st = r.json();
    assert_eq!(
        (
            st["kind"].as_str(),
            st["reason"].as_str(),
            st["code"].as_i64()
        ),
        (Some("Status"), Some("BadRequest"), Some(400))
    );
    assert!(
        st["message"]
            .as_str()
            .unwrap()
            .contains("couldn't get version/kind; json parse error"),
        "{st}"
    );
    let r = s.raw(
        Auth::Admin,
        "POST",
        "/api/v1/namespaces/default/pods",
        Some("application/yaml"),
        b"a: [".to_vec(),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    let r = s.raw(
        Auth::Admin,
        "POST",
        "/api/v1/namespaces/default/pods",
        Some("application/json"),
        b"{\"spec\":{\"containers\":\"nope\"}}".to_vec(),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("Pod in version \"v1\" cannot be handled as a Pod"),
        "{}",
        r.body
    );
    let r = s.raw(
        Auth::Admin,
        "POST",
        "/api/v1/namespaces/default/pods",
        Some("text/plain"),
        b"hello".to_vec(),
    );
    assert_eq!(r.status, 415, "{}", r.body);
    assert_eq!(r.json()["reason"], "UnsupportedMediaType");
    assert_no_pods(&k);
}

#[test]
fn unknown_fields_under_strict_validation() {
    let s = Server::start();
    let k = s.kubectl();
    k.write(
        "pod.yaml",
        &GOOD_POD.replace(
            "    image: busybox\n",
            "    image: busybox\n    imagee: typo\n  bogus: true\n",
        ),
    );
    let err = k.fails(&["create", "-f", "pod.yaml"]);
    assert!(
        err.contains("Error from server (BadRequest): error when creating \"pod.yaml\": Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: unknown field \"spec.bogus\", unknown field \"spec.containers[0].imagee\""),
        "{err}"
    );
    assert_no_pods(&k);
    // --validate=warn stores it and prints the warnings.
    let r = k.run(&["create", "-f", "pod.yaml", "--validate=warn"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("Warning: unknown field \"spec.bogus\""),
        "{}",
        r.stderr
    );
    k.ok(&["delete", "pod", "good"]);
    // A duplicate field, sent raw (kubectl's own parser would collapse it).
    let body = br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"dup","name":"dup"},"spec":{"containers":[{"name":"a","image":"b"}]}}"#;
    let r = s.raw(
        Auth::Admin,
        "POST",
        "/api/v1/namespaces/default/pods?fieldValidation=Strict",
        Some("application/json"),
        body.to_vec(),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("duplicate field \"metadata.name\""),
        "{}",
        r.body
    );
    assert_no_pods(&k);
}

#[test]
fn invalid_objects_are_unprocessable() {
    let s = Server::start();
    let k = s.kubectl();
    k.write(
        "name.yaml",
        &GOOD_POD.replace("name: good", "name: Bad_Name"),
    );
    let err = k.fails(&["create", "-f", "name.yaml"]);
    assert!(
        err.contains("The Pod \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"),
        "{err}"
    );
    k.write("image.yaml", &GOOD_POD.replace("    image: busybox\n", ""));
    let err = k.fails(&["create", "-f", "image.yaml"]);
    assert!(
        err.contains("The Pod \"good\" is invalid: spec.containers[0].image: Required value"),
        "{err}"
    );
    k.write(
        "probe.yaml",
        &GOOD_POD.replace(
            "    image: busybox\n",
            "    image: busybox\n    livenessProbe:\n      exec:\n        command: [cat, /tmp/healthy]\n      successThreshold: 2\n",
        ),
    );
    let err = k.fails(&["create", "-f", "probe.yaml"]);
    assert!(
        err.contains(
            "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"
        ),
        "{err}"
    );
    k.write(
        "nohandler.yaml",
        &GOOD_POD.replace(
            "    image: busybox\n",
            "    image: busybox\n    readinessProbe:\n      periodSeconds: 5\n",
        ),
    );
    let err = k.fails(&["create", "-f", "nohandler.yaml"]);
    assert!(
        err.contains(
            "spec.containers[0].readinessProbe: Required value: must specify a handler type"
        ),
        "{err}"
    );
    let r = s.raw(
        Auth::Admin,
        "POST",
        "/api/v1/namespaces/default/pods",
        Some("application/json"),
        br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":{"containers":[{"name":"a"}]}}"#.to_vec(),
    );
    assert_eq!(r.status, 422);
    let st = r.json();
    assert_eq!(st["reason"], "Invalid");
    assert_eq!(st["details"]["kind"], "Pod");
    assert_eq!(
        st["details"]["causes"][0]["field"],
        "spec.containers[0].image"
    );
    assert_eq!(st["details"]["causes"][0]["reason"], "FieldValueRequired");
    assert_no_pods(&k);
}

#[test]
fn oversized_bodies_get_413() {
    let s = Server::start();
    let k = s.kubectl();
    let big = "x".repeat(3 * 1024 * 1024 + 10);
    let cm = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"}, "data": {"blob": big}});
    k.write("big.json", &cm.to_string());
    let err = k.fails(&["create", "-f", "big.json"]);
    assert!(
        err.contains("Request entity too large: limit is 3145728"),
        "{err}"
    );
    let r = s.raw(
        Auth::Admin,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some("application/json"),
        cm.to_string().into_bytes(),
    );
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["reason"], "RequestEntityTooLarge");
    assert!(k.ok(&["get", "configmaps", "-o", "name"]).trim().is_empty());
}

#[test]
fn stale_resource_version_conflicts() {
    let s = Server::start();
    let k = s.kubectl();
    k.write("pod.yaml", GOOD_POD);
    k.ok(&["create", "-f", "pod.yaml"]);
    let mut pod: serde_json::Value =
        serde_json::from_str(&k.ok(&["get", "pod", "good", "-o", "json"])).unwrap();
    k.ok(&["label", "pod", "good", "moved=on"]);
    pod["metadata"]["labels"] = serde_json::json!({"lost": "update"});
    k.write("stale.json", &pod.to_string());
    let err = k.fails(&["replace", "-f", "stale.json"]);
    assert!(err.contains("Error from server (Conflict): error when replacing \"stale.json\": Operation cannot be fulfilled on pods \"good\": the object has been modified"), "{err}");
    assert_eq!(
        k.ok(&["get", "pod", "good", "-o", "jsonpath={.metadata.labels}"]),
        r#"{"moved":"on"}"#
    );
}

#[test]
fn unknown_resources_are_not_found() {
    let s = Server::start();
    let k = s.kubectl();
    let err = k.fails(&["get", "frobnicators"]);
    assert!(
        err.contains("error: the server doesn't have a resource type \"frobnicators\""),
        "{err}"
    );
    let err = k.fails(&["get", "pod", "missing"]);
    assert!(
        err.contains("Error from server (NotFound): pods \"missing\" not found"),
        "{err}"
    );
    let err = k.fails(&["get", "deployment", "missing"]);
    assert!(
        err.contains("Error from server (NotFound): deployments.apps \"missing\" not found"),
        "{err}"
    );
    let r = s.raw(Auth::Admin, "GET", "/api/v1/frobnicators", None, Vec::new());
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["reason"], "NotFound");
    let r = s.raw(
        Auth::Admin,
        "GET",
        "/api/v1/namespaces/default/pods?fieldSelector=spec.bogus%3Dx",
        None,
        Vec::new(),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["message"], "field label not supported: spec.bogus");
}

#[test]
fn missing_or_wrong_tokens_get_401() {
    let s = Server::start();
    let k = s.kubectl();
    for auth in [Auth::None, Auth::Token("not-the-token")] {
        let r = s.raw(
            auth,
            "GET",
            "/api/v1/namespaces/default/pods",
            None,
            Vec::new(),
        );
        assert_eq!(r.status, 401, "{auth:?}");
        let st = r.json();
        assert_eq!(st["kind"], "Status");
        assert_eq!(st["reason"], "Unauthorized");
        assert_eq!(st["message"], "Unauthorized");
        assert_eq!(st["code"], 401);
    }
    // Health endpoints answer without a token, as in Kubernetes.
    for path in ["/livez", "/readyz", "/healthz"] {
        let r = s.raw(Auth::None, "GET", path, None, Vec::new());
        assert_eq!((r.status, r.body.as_str()), (200, "ok"), "{path}");
    }
    // kubectl with a wrong token.
    let kc = std::fs::read_to_string(&s.kubeconfig)
        .unwrap()
        .replace(&s.token(), "wrong-token");
    let bad = s.dir.path().join("bad-kubeconfig");
    std::fs::write(&bad, kc).unwrap();
    let out = k
        .command(&["get", "pods"])
        .env("KUBECONFIG", &bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("You must be logged in to the server"), "{err}");
}

#[test]
fn the_server_survives_all_of_it() {
    let s = Server::start();
    let bodies: &[&[u8]] = &[b"", b"null", b"[]", b"{}", b"{\"kind\":5}", b"\xff\xfe", b"{\"metadata\":{\"name\":[]}}", b"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"x\"},\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"b\",\"ports\":[{\"containerPort\":\"x\"}]}]}}"];
    for body in bodies {
        for (method, ct) in [
            ("POST", "application/json"),
            ("PUT", "application/json"),
            ("PATCH", "application/merge-patch+json"),
            ("PATCH", "application/strategic-merge-patch+json"),
            ("PATCH", "application/json-patch+json"),
        ] {
            let path = if method == "POST" {
                "/api/v1/namespaces/default/pods"
            } else {
                "/api/v1/namespaces/default/pods/x"
            };
            let r = s.raw(Auth::Admin, method, path, Some(ct), body.to_vec());
            assert!(
                (400..500).contains(&r.status),
                "{method} {ct} {:?} -> {} {}",
                String::from_utf8_lossy(body),
                r.status,
                r.body
            );
        }
    }
    let r = s.raw(
        Auth::Admin,
        "PATCH",
        "/api/v1/namespaces/default/pods/x",
        Some("application/apply-patch+yaml"),
        b"{}".to_vec(),
    );
    assert_eq!(r.status, 415, "{}", r.body);
    assert!(r.body.contains("server-side apply"), "{}", r.body);
    let r = s.raw(Auth::None, "GET", "/livez", None, Vec::new());
    assert_eq!(r.status, 200);
}

#[test]
fn method_not_allowed_dry_run_and_deletecollection() {
    let s = Server::start();
    let k = s.kubectl();
    let r = s.raw(
        Auth::Admin,
        "POST",
        "/api/v1/pods",
        Some("application/json"),
        GOOD_POD_JSON.as_bytes().to_vec(),
    );
    assert_eq!(r.status, 405, "{}", r.body);
    assert_eq!(r.json()["reason"], "MethodNotAllowed");
    // Server-side dry run validates and answers without storing.
    k.write("pod.yaml", GOOD_POD);
    let out = k.ok(&["create", "-f", "pod.yaml", "--dry-run=server"]);
    assert!(out.contains("pod/good created (server dry run)"), "{out}");
    assert_no_pods(&k);
    // deletecollection with a label selector removes exactly the matching objects.
    for (name, tier) in [("a", "web"), ("b", "web"), ("c", "db")] {
        k.ok(&["create", "configmap", name]);
        k.ok(&["label", "configmap", name, &format!("tier={tier}")]);
    }
    let r = s.raw(
        Auth::Admin,
        "DELETE",
        "/api/v1/namespaces/default/configmaps?labelSelector=tier%3Dweb",
        None,
        Vec::new(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let left = k.ok(&["get", "configmaps", "-l", "tier", "-o", "name"]);
    assert_eq!(left.trim(), "configmap/c");
}

const GOOD_POD_JSON: &str = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x","namespace":"default"},"spec":{"containers":[{"name":"a","image":"b"}]}}"#;
