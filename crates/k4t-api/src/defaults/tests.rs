//! Defaulting tests on the Kubernetes documentation examples, compared as whole objects.

use serde_json::{Value, json};

use crate::registry::find_kind;

fn defaulted(group: &str, kind: &str, obj: Value) -> Value {
    let def = find_kind(group, kind).expect("served kind");
    let mut once = obj;
    super::apply(def, &mut once);
    let mut twice = once.clone();
    super::apply(def, &mut twice);
    assert_eq!(once, twice, "{kind}: defaulting is idempotent");
    once
}

const NOT_READY: &str = "node.kubernetes.io/not-ready";
const UNREACHABLE: &str = "node.kubernetes.io/unreachable";

#[test]
fn docs_nginx_pod() {
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "nginx", "namespace": "default"},
        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.14.2", "ports": [{"containerPort": 80}]}]}
    });
    assert_eq!(
        defaulted("", "Pod", pod),
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "nginx", "namespace": "default"},
            "spec": {
                "containers": [{
                    "image": "nginx:1.14.2",
                    "imagePullPolicy": "IfNotPresent",
                    "name": "nginx",
                    "ports": [{"containerPort": 80, "protocol": "TCP"}],
                    "resources": {},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File"
                }],
                "dnsPolicy": "ClusterFirst",
                "enableServiceLinks": true,
                "preemptionPolicy": "PreemptLowerPriority",
                "priority": 0,
                "restartPolicy": "Always",
                "schedulerName": "default-scheduler",
                "securityContext": {},
                "serviceAccount": "default",
                "serviceAccountName": "default",
                "terminationGracePeriodSeconds": 30,
                "tolerations": [
                    {"effect": "NoExecute", "key": NOT_READY, "operator": "Exists", "tolerationSeconds": 300},
                    {"effect": "NoExecute", "key": UNREACHABLE, "operator": "Exists", "tolerationSeconds": 300}
                ]
            },
            "status": {"phase": "Pending", "qosClass": "BestEffort"}
        })
    );
}

#[test]
fn docs_liveness_pod_with_volumes_and_resources() {
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "liveness-http", "namespace": "default", "uid": "u", "resourceVersion": "1"},
        "spec": {
            "serviceAccount": "builder",
            "priorityClassName": "system-node-critical",
            "tolerations": [{"operator": "Exists"}],
            "containers": [{
                "name": "liveness",
                "image": "registry.k8s.io/e2e-test-images/agnhost:2.40",
                "args": ["liveness"],
                "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
                "resources": {"limits": {"cpu": "0.5", "memory": "0.5Gi"}},
                "livenessProbe": {
                    "httpGet": {"port": 8080, "httpHeaders": [{"name": "Custom-Header", "value": "Awesome"}]},
                    "initialDelaySeconds": 3,
                    "periodSeconds": 3
                },
                "readinessProbe": {"grpc": {"port": 2379}},
                "volumeMounts": [{"name": "cache", "mountPath": "/cache"}, {"name": "cfg", "mountPath": "/etc/cfg"}]
            }],
            "volumes": [
                {"name": "cache"},
                {"name": "cfg", "configMap": {"name": "app"}},
                {"name": "host", "hostPath": {"path": "/var/log"}},
                {"name": "info", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}
            ]
        }
    });
    assert_eq!(
        defaulted("", "Pod", pod),
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "liveness-http", "namespace": "default", "uid": "u", "resourceVersion": "1"},
            "spec": {
                "containers": [{
                    "args": ["liveness"],
                    "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}}],
                    "image": "registry.k8s.io/e2e-test-images/agnhost:2.40",
                    "imagePullPolicy": "IfNotPresent",
                    "livenessProbe": {
                        "failureThreshold": 3,
                        "httpGet": {"httpHeaders": [{"name": "Custom-Header", "value": "Awesome"}], "path": "/", "port": 8080, "scheme": "HTTP"},
                        "initialDelaySeconds": 3,
                        "periodSeconds": 3,
                        "successThreshold": 1,
                        "timeoutSeconds": 1
                    },
                    "name": "liveness",
                    "readinessProbe": {
                        "failureThreshold": 3,
                        "grpc": {"port": 2379, "service": ""},
                        "periodSeconds": 10,
                        "successThreshold": 1,
                        "timeoutSeconds": 1
                    },
                    "resources": {
                        "limits": {"cpu": "500m", "memory": "512Mi"},
                        "requests": {"cpu": "500m", "memory": "512Mi"}
                    },
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "volumeMounts": [{"mountPath": "/cache", "name": "cache"}, {"mountPath": "/etc/cfg", "name": "cfg"}]
                }],
                "dnsPolicy": "ClusterFirst",
                "enableServiceLinks": true,
                "preemptionPolicy": "PreemptLowerPriority",
                "priority": 2000001000,
                "priorityClassName": "system-node-critical",
                "restartPolicy": "Always",
                "schedulerName": "default-scheduler",
                "securityContext": {},
                "serviceAccount": "builder",
                "serviceAccountName": "builder",
                "terminationGracePeriodSeconds": 30,
                "tolerations": [{"operator": "Exists"}],
                "volumes": [
                    {"emptyDir": {}, "name": "cache"},
                    {"configMap": {"defaultMode": 420, "name": "app"}, "name": "cfg"},
                    {"hostPath": {"path": "/var/log", "type": ""}, "name": "host"},
                    {"downwardAPI": {"defaultMode": 420, "items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels"}, "path": "labels"}]}, "name": "info"}
                ]
            }
        })
    );
}

#[test]
fn new_pod_status_and_qos() {
    let pod = json!({
        "metadata": {"name": "qos", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "busybox", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}
    });
    let out = defaulted("", "Pod", pod);
    assert_eq!(
        out["status"],
        json!({"phase": "Pending", "qosClass": "Guaranteed"})
    );
    assert_eq!(
        out["spec"]["containers"][0]["imagePullPolicy"],
        json!("Always")
    );
    let pod = json!({
        "metadata": {"name": "qos", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36", "resources": {"requests": {"memory": "64Mi"}}}]}
    });
    assert_eq!(
        defaulted("", "Pod", pod)["status"]["qosClass"],
        json!("Burstable")
    );
}

#[test]
fn pod_status_ips_are_kept_in_step() {
    let pod = json!({
        "metadata": {"name": "p", "namespace": "default", "uid": "u", "resourceVersion": "3"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        "status": {"phase": "Running", "podIP": "10.244.0.5", "hostIPs": [{"ip": "192.168.1.10"}]}
    });
    let out = defaulted("", "Pod", pod);
    assert_eq!(
        out["status"],
        json!({"phase": "Running", "podIP": "10.244.0.5", "podIPs": [{"ip": "10.244.0.5"}], "hostIP": "192.168.1.10", "hostIPs": [{"ip": "192.168.1.10"}]})
    );
}

#[test]
fn docs_nginx_deployment() {
    let deployment = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "nginx-deployment", "namespace": "default", "labels": {"app": "nginx"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.14.2", "ports": [{"containerPort": 80}]}]}
            }
        }
    });
    assert_eq!(
        defaulted("apps", "Deployment", deployment),
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "nginx-deployment", "namespace": "default", "labels": {"app": "nginx"}},
            "spec": {
                "progressDeadlineSeconds": 600,
                "replicas": 3,
                "revisionHistoryLimit": 10,
                "selector": {"matchLabels": {"app": "nginx"}},
                "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}, "type": "RollingUpdate"},
                "template": {
                    "metadata": {"labels": {"app": "nginx"}},
                    "spec": {
                        "containers": [{
                            "image": "nginx:1.14.2",
                            "imagePullPolicy": "IfNotPresent",
                            "name": "nginx",
                            "ports": [{"containerPort": 80, "protocol": "TCP"}],
                            "resources": {},
                            "terminationMessagePath": "/dev/termination-log",
                            "terminationMessagePolicy": "File"
                        }],
                        "dnsPolicy": "ClusterFirst",
                        "restartPolicy": "Always",
                        "schedulerName": "default-scheduler",
                        "securityContext": {},
                        "terminationGracePeriodSeconds": 30
                    }
                }
            }
        })
    );
}

#[test]
fn deployment_recreate_and_missing_selector() {
    let d = json!({
        "metadata": {"name": "d", "namespace": "default"},
        "spec": {"strategy": {"type": "Recreate"}, "template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}}
    });
    let out = defaulted("apps", "Deployment", d);
    assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
    assert_eq!(out["spec"]["replicas"], json!(1));
    assert!(
        out["spec"].get("selector").is_none(),
        "a missing selector stays missing"
    );
}

#[test]
fn docs_replica_set() {
    let rs = json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "frontend", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"tier": "frontend"}},
            "template": {"metadata": {"labels": {"tier": "frontend"}}, "spec": {"containers": [{"name": "php-redis", "image": "gb-frontend:v5"}]}}
        }
    });
    let out = defaulted("apps", "ReplicaSet", rs);
    assert_eq!(out["spec"]["replicas"], json!(1));
    assert_eq!(
        out["spec"]["template"]["spec"]["restartPolicy"],
        json!("Always")
    );
    assert!(
        out["spec"]["template"]["spec"]
            .get("enableServiceLinks")
            .is_none(),
        "pod-only default"
    );
}

#[test]
fn docs_service() {
    let svc = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "my-service", "namespace": "default"},
        "spec": {"selector": {"app.kubernetes.io/name": "MyApp"}, "ports": [{"protocol": "TCP", "port": 80, "targetPort": 9376}]}
    });
    assert_eq!(
        defaulted("", "Service", svc),
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "my-service", "namespace": "default"},
            "spec": {
                "internalTrafficPolicy": "Cluster",
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
                "ports": [{"port": 80, "protocol": "TCP", "targetPort": 9376}],
                "selector": {"app.kubernetes.io/name": "MyApp"},
                "sessionAffinity": "None",
                "type": "ClusterIP"
            }
        })
    );
}

#[test]
fn service_variants() {
    let svc = json!({
        "metadata": {"name": "lb", "namespace": "default"},
        "spec": {"type": "LoadBalancer", "sessionAffinity": "ClientIP", "clusterIP": "10.96.0.20", "ports": [{"name": "http", "port": 80}]}
    });
    let out = defaulted("", "Service", svc);
    assert_eq!(
        out["spec"]["ports"][0],
        json!({"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80})
    );
    assert_eq!(out["spec"]["externalTrafficPolicy"], json!("Cluster"));
    assert_eq!(out["spec"]["allocateLoadBalancerNodePorts"], json!(true));
    assert_eq!(
        out["spec"]["sessionAffinityConfig"],
        json!({"clientIP": {"timeoutSeconds": 10800}})
    );
    assert_eq!(out["spec"]["clusterIPs"], json!(["10.96.0.20"]));
    let headless =
        json!({"metadata": {"name": "h", "namespace": "default"}, "spec": {"clusterIP": "None"}});
    let out = defaulted("", "Service", headless);
    assert_eq!(out["spec"]["ipFamilyPolicy"], json!("RequireDualStack"));
    assert_eq!(out["spec"]["clusterIPs"], json!(["None"]));
    let external = json!({"metadata": {"name": "e", "namespace": "default"}, "spec": {"type": "ExternalName", "externalName": "db.example.com"}});
    let out = defaulted("", "Service", external);
    assert!(out["spec"].get("ipFamilyPolicy").is_none());
    assert!(out["spec"].get("internalTrafficPolicy").is_none());
}

#[test]
fn namespace_gets_its_label_finalizer_and_phase_once() {
    let out = defaulted(
        "",
        "Namespace",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}),
    );
    assert_eq!(
        out,
        json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "team-a", "labels": {"kubernetes.io/metadata.name": "team-a"}},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"}
        })
    );
    // Once stored, the namespace controller may remove the finalizer; updates keep it removed.
    let stored = json!({
        "metadata": {"name": "team-a", "uid": "u", "resourceVersion": "9", "labels": {"kubernetes.io/metadata.name": "team-a"}},
        "spec": {"finalizers": []},
        "status": {"phase": "Terminating"}
    });
    let out = defaulted("", "Namespace", stored);
    assert_eq!(out["spec"]["finalizers"], json!([]));
    assert_eq!(out["status"]["phase"], json!("Terminating"));
}

#[test]
fn secret_string_data_and_type() {
    let out = defaulted(
        "",
        "Secret",
        json!({"metadata": {"name": "s", "namespace": "default"}, "data": {"a": "eA=="}, "stringData": {"username": "admin"}}),
    );
    assert_eq!(out["type"], json!("Opaque"));
    assert_eq!(out["data"], json!({"a": "eA==", "username": "YWRtaW4="}));
    assert!(out.get("stringData").is_none());
}

#[test]
fn node_and_endpoints() {
    let out = defaulted(
        "",
        "Node",
        json!({"metadata": {"name": "n1"}, "spec": {"podCIDR": "10.244.1.0/24"}, "status": {"capacity": {"cpu": "4", "memory": "8192Mi"}}}),
    );
    assert_eq!(
        out["status"]["allocatable"],
        json!({"cpu": "4", "memory": "8Gi"})
    );
    assert_eq!(out["spec"]["podCIDRs"], json!(["10.244.1.0/24"]));
    let out = defaulted(
        "discovery.k8s.io",
        "EndpointSlice",
        json!({"metadata": {"name": "s", "namespace": "default"}, "addressType": "IPv4", "ports": [{"port": 80}]}),
    );
    assert_eq!(
        out["ports"],
        json!([{"name": "", "port": 80, "protocol": "TCP"}])
    );
    let out = defaulted(
        "",
        "Endpoints",
        json!({"metadata": {"name": "e", "namespace": "default"}, "subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]}),
    );
    assert_eq!(
        out["subsets"][0]["ports"],
        json!([{"port": 80, "protocol": "TCP"}])
    );
}

#[test]
fn pod_preset_volumes_and_env() {
    let out = defaulted(
        "settings.k8s.io",
        "PodPreset",
        json!({
            "apiVersion": "settings.k8s.io/v1alpha1",
            "kind": "PodPreset",
            "metadata": {"name": "p", "namespace": "default"},
            "spec": {
                "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                "volumes": [{"name": "v", "secret": {"secretName": "s"}}]
            }
        }),
    );
    assert_eq!(
        out["spec"]["volumes"][0]["secret"]["defaultMode"],
        json!(420)
    );
    assert_eq!(
        out["spec"]["env"][0]["valueFrom"]["fieldRef"]["apiVersion"],
        json!("v1")
    );
}

#[test]
fn undecodable_objects_are_left_alone() {
    let def = find_kind("", "Pod").expect("pods");
    let mut v = json!({"spec": {"containers": "nope"}});
    super::apply(def, &mut v);
    assert_eq!(v, json!({"spec": {"containers": "nope"}}));
}
