//! The real kubectl, with its default flags, on what it validates itself against the protobuf
//! `/openapi/v2`: a manifest of `kind: List`.

// These tests wait on real processes in wall-clock time; virtual time does not apply.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use serde_json::Value;
use support::{Kubectl, Server};

const LIST: &str = "apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: settings
  data:
    mode: fast
- apiVersion: v1
  kind: Service
  metadata:
    name: web
  spec:
    selector:
      app: web
    ports:
    - name: http
      port: 80
      targetPort: 8080
";

fn get_json(k: &Kubectl, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.extend(["-o", "json"]);
    serde_json::from_str(&k.ok(&args)).expect("kubectl -o json prints json")
}

fn assert_list_objects_exist(k: &Kubectl) {
    let cm = get_json(k, &["get", "configmap", "settings"]);
    assert_eq!(cm["data"]["mode"], "fast", "{cm}");
    let svc = get_json(k, &["get", "service", "web"]);
    assert_eq!(svc["spec"]["ports"][0]["port"], 80, "{svc}");
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], 8080, "{svc}");
    assert_eq!(svc["spec"]["selector"]["app"], "web", "{svc}");
}

#[test]
fn create_a_list() {
    let s = Server::start();
    let k = s.kubectl();
    let f = k.write("list.yaml", LIST);
    assert_eq!(
        k.ok(&["create", "-f", &f]),
        "configmap/settings created\nservice/web created\n"
    );
    assert_list_objects_exist(&k);
    // Applying what `create` made adds the last-applied annotation, as Kubernetes does.
    let r = k.run(&["apply", "-f", &f]);
    assert_eq!(r.status, 0, "{r:?}");
    assert_eq!(
        r.stdout,
        "configmap/settings configured\nservice/web configured\n"
    );
    assert!(
        r.stderr.contains(
            "Warning: resource configmaps/settings is missing the kubectl.kubernetes.io/last-applied-configuration annotation"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(
        k.ok(&["delete", "-f", &f]),
        "configmap \"settings\" deleted\nservice \"web\" deleted\n"
    );
}

#[test]
fn apply_a_list() {
    let s = Server::start();
    let k = s.kubectl();
    let f = k.write("list.yaml", LIST);
    assert_eq!(
        k.ok(&["apply", "-f", &f]),
        "configmap/settings created\nservice/web created\n"
    );
    assert_list_objects_exist(&k);
    assert_eq!(
        k.ok(&["apply", "-f", &f]),
        "configmap/settings unchanged\nservice/web unchanged\n"
    );
    let changed = LIST.replace("mode: fast", "mode: slow");
    let f = k.write("list.yaml", &changed);
    assert_eq!(
        k.ok(&["apply", "-f", &f]),
        "configmap/settings configured\nservice/web unchanged\n"
    );
    let cm = get_json(&k, &["get", "configmap", "settings"]);
    assert_eq!(cm["data"]["mode"], "slow", "{cm}");
}

#[test]
fn unknown_fields_are_refused() {
    let s = Server::start();
    let k = s.kubectl();
    // In a List, kubectl validates against the v2 document itself.
    let list = LIST.replace("  data:\n", "  bogus: 1\n  data:\n");
    let f = k.write("bad-list.yaml", &list);
    let want = format!(
        "error: error validating \"{f}\": error validating data: ValidationError(ConfigMap): \
         unknown field \"bogus\" in io.k8s.api.core.v1.ConfigMap; if you choose to ignore these \
         errors, turn validation off with --validate=false\n"
    );
    assert_eq!(k.fails(&["create", "-f", &f]), want);
    assert_eq!(k.fails(&["apply", "-f", &f]), want);
    assert!(
        k.fails(&["get", "configmap", "settings"])
            .contains("NotFound")
    );
    // A single object is left to the server's strict field validation.
    let f = k.write(
        "bad.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\nbogus: 1\n",
    );
    assert_eq!(
        k.fails(&["create", "-f", &f]),
        format!(
            "Error from server (BadRequest): error when creating \"{f}\": ConfigMap in version \
             \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \
             \"bogus\"\n"
        )
    );
    let out = k.ok(&["explain", "pods.spec.containers"]);
    assert!(out.contains("FIELD: containers <[]Container>"), "{out}");
}
