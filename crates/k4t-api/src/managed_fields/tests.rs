use proptest::prelude::*;
use serde_json::{Value, json};

use super::{Write, update};
use crate::patch::fake_schema::{CONFIG_MAP, DEPLOYMENT, FakeSchema, POD};

const T1: &str = "2026-11-22T07:00:00Z";
const T2: &str = "2026-11-22T08:00:00Z";
const T3: &str = "2026-11-22T09:00:00Z";

fn write<'a>(manager: &'a str, time: &'a str, type_name: &'a str) -> Write<'a> {
    Write {
        manager,
        operation: "Update",
        api_version: if type_name == DEPLOYMENT {
            "apps/v1"
        } else {
            "v1"
        },
        time,
        subresource: None,
        type_name,
    }
}

fn entry(manager: &str, time: &str, api_version: &str, fields: Value) -> Value {
    json!({"manager": manager, "operation": "Update", "apiVersion": api_version, "time": time,
        "fieldsType": "FieldsV1", "fieldsV1": fields})
}

/// Runs `update` and returns the resulting managedFields (null when there are none).
fn run(old: Option<&Value>, mut new: Value, w: &Write<'_>) -> Value {
    update(old, &mut new, w, &FakeSchema);
    new["metadata"]
        .get("managedFields")
        .cloned()
        .unwrap_or(Value::Null)
}

fn with_managed(mut obj: Value, managed: Value) -> Value {
    obj["metadata"]["managedFields"] = managed;
    obj
}

fn created_pod() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "uid": "u1", "resourceVersion": "1",
            "creationTimestamp": T1, "generation": 1,
            "labels": {"app": "web"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}\n"},
            "finalizers": ["example.com/f"]},
        "spec": {
            "containers": [{"name": "nginx", "image": "nginx:1.25",
                "ports": [{"containerPort": 80, "protocol": "TCP"}],
                "env": [{"name": "POD", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}],
                "resources": {},
                "imagePullPolicy": "IfNotPresent"}],
            "restartPolicy": "Always",
            "securityContext": {},
            "tolerations": [{"key": "a", "operator": "Exists"}]
        },
        "status": {"phase": "Pending"}
    })
}

fn created_pod_fields() -> Value {
    json!({
        "f:metadata": {
            "f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}},
            "f:finalizers": {".": {}, "v:\"example.com/f\"": {}},
            "f:labels": {".": {}, "f:app": {}}
        },
        "f:spec": {
            "f:containers": {
                "k:{\"name\":\"nginx\"}": {
                    ".": {},
                    "f:env": {".": {}, "k:{\"name\":\"POD\"}": {
                        ".": {}, "f:name": {}, "f:valueFrom": {".": {}, "f:fieldRef": {}}}},
                    "f:image": {},
                    "f:imagePullPolicy": {},
                    "f:name": {},
                    "f:ports": {".": {}, "k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                        ".": {}, "f:containerPort": {}, "f:protocol": {}}},
                    "f:resources": {}
                }
            },
            "f:restartPolicy": {},
            "f:securityContext": {},
            "f:tolerations": {}
        }
    })
}

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "default", "uid": "u2", "labels": {"app": "api"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "api"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": "api"}},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]}
            }
        },
        "status": {"replicas": 2}
    })
}

fn deployment_fields() -> Value {
    json!({
        "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
        "f:spec": {
            "f:replicas": {},
            "f:selector": {},
            "f:strategy": {
                "f:rollingUpdate": {".": {}, "f:maxSurge": {}, "f:maxUnavailable": {}},
                "f:type": {}
            },
            "f:template": {
                "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                "f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {".": {}, "f:image": {}, "f:name": {}}}}
            }
        }
    })
}

fn created_deployment() -> Value {
    with_managed(
        deployment(),
        json!([entry("kubectl-create", T1, "apps/v1", deployment_fields())]),
    )
}

#[test]
fn create_owns_every_field_but_system_metadata_and_status() {
    let got = run(None, created_pod(), &write("kubectl-create", T1, POD));
    assert_eq!(
        got,
        json!([entry("kubectl-create", T1, "v1", created_pod_fields())])
    );
}

#[test]
fn create_marks_only_pointer_structs_maps_and_lists_as_owned_whole() {
    let got = run(None, deployment(), &write("kubectl-create", T1, DEPLOYMENT));
    assert_eq!(
        got,
        json!([entry("kubectl-create", T1, "apps/v1", deployment_fields())])
    );
}

#[test]
fn a_status_write_owns_status_and_metadata_but_not_spec() {
    // The status subresource may change labels and annotations, never the spec.
    let w = Write {
        subresource: Some("status"),
        ..write("kubelet", T1, POD)
    };
    let got = run(None, created_pod(), &w);
    let mut fields = created_pod_fields();
    fields.as_object_mut().unwrap().remove("f:spec");
    fields["f:status"] = json!({"f:phase": {}});
    let mut expected = entry("kubelet", T1, "v1", fields);
    expected["subresource"] = json!("status");
    assert_eq!(got, json!([expected]));
}

#[test]
fn changed_fields_move_to_the_writer() {
    let old = created_deployment();
    let mut new = old.clone();
    new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.27");
    let got = run(Some(&old), new, &write("kubectl-set", T2, DEPLOYMENT));

    let mut create_fields = deployment_fields();
    create_fields["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"app\"}"] =
        json!({".": {}, "f:name": {}});
    assert_eq!(
        got,
        json!([
            entry("kubectl-create", T1, "apps/v1", create_fields),
            entry(
                "kubectl-set",
                T2,
                "apps/v1",
                json!({"f:spec": {"f:template": {"f:spec": {
                "f:containers": {"k:{\"name\":\"app\"}": {"f:image": {}}}}}}})
            ),
        ])
    );
}

#[test]
fn same_manager_again_merges_into_its_entry_and_restamps_it() {
    let old = created_deployment();
    let mut new = old.clone();
    new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.27");
    let step1 = with_managed(
        new.clone(),
        run(Some(&old), new, &write("kubectl-set", T2, DEPLOYMENT)),
    );
    let mut step2 = step1.clone();
    step2["spec"]["template"]["metadata"]["annotations"] = json!({"r": "1"});
    let got = run(Some(&step1), step2, &write("kubectl-set", T3, DEPLOYMENT));
    assert_eq!(got.as_array().unwrap().len(), 2);
    assert_eq!(
        got[1],
        entry(
            "kubectl-set",
            T3,
            "apps/v1",
            json!({"f:spec": {"f:template": {
            "f:metadata": {"f:annotations": {".": {}, "f:r": {}}},
            "f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {"f:image": {}}}}}}})
        )
    );
}

#[test]
fn removed_fields_leave_every_entry_and_empty_entries_go() {
    let mut old = created_deployment();
    old["metadata"]["labels"]["tier"] = json!("front");
    old["metadata"]["managedFields"]
        .as_array_mut()
        .unwrap()
        .push(entry(
            "kubectl-label",
            T2,
            "apps/v1",
            json!({"f:metadata": {"f:labels": {"f:tier": {}}}}),
        ));
    let mut new = old.clone();
    new["metadata"]["labels"] = json!({"app": "api"});
    let got = run(Some(&old), new, &write("kubectl-edit", T3, DEPLOYMENT));
    assert_eq!(
        got,
        json!([entry("kubectl-create", T1, "apps/v1", deployment_fields())])
    );
}

#[test]
fn removed_list_elements_leave_their_owners() {
    let mut old = deployment();
    old["spec"]["template"]["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "sidecar", "image": "envoy"}));
    let old = with_managed(
        old.clone(),
        run(None, old, &write("kubectl-create", T1, DEPLOYMENT)),
    );
    let sidecar = &old["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:template"]["f:spec"]
        ["f:containers"]["k:{\"name\":\"sidecar\"}"];
    assert_eq!(*sidecar, json!({".": {}, "f:image": {}, "f:name": {}}));

    let mut new = old.clone();
    new["spec"]["template"]["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .pop();
    let got = run(Some(&old), new, &write("kubectl-edit", T2, DEPLOYMENT));
    assert_eq!(
        got,
        json!([entry("kubectl-create", T1, "apps/v1", deployment_fields())])
    );
}

#[test]
fn a_write_that_changes_nothing_keeps_managed_fields() {
    let old = created_deployment();
    // The new object came without managedFields (a PUT body that dropped them): the stored
    // ones stay, and no empty entry appears for the writer.
    let mut new = old.clone();
    new["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("managedFields");
    new["metadata"]["resourceVersion"] = json!("99");
    new["status"]["replicas"] = json!(5);
    let got = run(Some(&old), new, &write("kubectl-replace", T2, DEPLOYMENT));
    assert_eq!(got, old["metadata"]["managedFields"]);
}

#[test]
fn status_writes_are_tracked_apart_and_ignore_spec() {
    let old = with_managed(
        created_pod(),
        json!([entry("kubectl-create", T1, "v1", created_pod_fields())]),
    );
    let mut new = old.clone();
    new["status"] = json!({"phase": "Running", "podIP": "10.0.0.5",
        "conditions": [{"type": "Ready", "status": "True"}]});
    new["spec"]["restartPolicy"] = json!("Never");
    let w = Write {
        subresource: Some("status"),
        ..write("kubelet", T2, POD)
    };
    let got = run(Some(&old), new, &w);
    let mut kubelet = entry(
        "kubelet",
        T2,
        "v1",
        json!({"f:status": {
            "f:conditions": {".": {}, "k:{\"type\":\"Ready\"}": {".": {}, "f:status": {}, "f:type": {}}},
            "f:phase": {},
            "f:podIP": {}
        }}),
    );
    kubelet["subresource"] = json!("status");
    assert_eq!(
        got,
        json!([
            entry("kubectl-create", T1, "v1", created_pod_fields()),
            kubelet
        ])
    );
}

#[test]
fn scale_writes_own_replicas() {
    let old = created_deployment();
    let mut new = old.clone();
    new["spec"]["replicas"] = json!(3);
    let w = Write {
        subresource: Some("scale"),
        api_version: "autoscaling/v1",
        ..write("kubectl", T2, DEPLOYMENT)
    };
    let got = run(Some(&old), new, &w);
    let mut create_fields = deployment_fields();
    create_fields["f:spec"]
        .as_object_mut()
        .unwrap()
        .remove("f:replicas");
    let mut scale = entry(
        "kubectl",
        T2,
        "autoscaling/v1",
        json!({"f:spec": {"f:replicas": {}}}),
    );
    scale["subresource"] = json!("scale");
    assert_eq!(
        got,
        json!([entry("kubectl-create", T1, "apps/v1", create_fields), scale])
    );
}

#[test]
fn entries_sort_by_operation_then_time() {
    let old = with_managed(
        json!({"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}}),
        json!([
            entry("late", T3, "v1", json!({"f:data": {"f:b": {}}})),
            {"manager": "applier", "operation": "Apply", "apiVersion": "v1", "time": T3,
                "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:a": {}}}},
        ]),
    );
    let mut new = old.clone();
    new["data"]["c"] = json!("3");
    let got = run(Some(&old), new, &write("early", T1, CONFIG_MAP));
    let managers: Vec<&str> = got
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["manager"].as_str().unwrap())
        .collect();
    assert_eq!(managers, ["applier", "early", "late"]);
}

#[test]
fn managed_fields_sent_by_the_client_replace_the_stored_ones() {
    let old = created_deployment();
    let sent = json!([entry(
        "someone",
        T2,
        "apps/v1",
        json!({"f:metadata": {"f:labels": {"f:app": {}}}})
    )]);
    let new = with_managed(deployment(), sent.clone());
    assert_eq!(
        run(Some(&old), new, &write("kubectl-edit", T3, DEPLOYMENT)),
        sent
    );
    // An entry with no manager clears them.
    let new = with_managed(deployment(), json!([{}]));
    assert_eq!(
        run(Some(&old), new, &write("kubectl-edit", T3, DEPLOYMENT)),
        Value::Null
    );
    // An empty list keeps the stored ones.
    let new = with_managed(deployment(), json!([]));
    assert_eq!(
        run(Some(&old), new, &write("kubectl-edit", T3, DEPLOYMENT)),
        old["metadata"]["managedFields"]
    );
}

#[test]
fn objects_without_metadata_are_left_alone() {
    let mut new = json!({"spec": {"replicas": 1}});
    update(None, &mut new, &write("x", T1, DEPLOYMENT), &FakeSchema);
    assert_eq!(new, json!({"spec": {"replicas": 1}}));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn update_never_panics(
        old in crate::patch::proptests::document(),
        new in crate::patch::proptests::document(),
        status in any::<bool>(),
    ) {
        let w = Write {
            subresource: status.then_some("status"),
            ..write("m", T1, POD)
        };
        let mut new_obj = json!({"metadata": {"managedFields": old.clone()}, "spec": new.clone()});
        update(Some(&old), &mut new_obj, &w, &FakeSchema);
        let mut new_obj = json!({"metadata": {}, "spec": new});
        let old_obj = json!({"metadata": {"managedFields": [{"manager": "x", "fieldsV1": old}]}});
        update(Some(&old_obj), &mut new_obj, &w, &FakeSchema);
    }
}
