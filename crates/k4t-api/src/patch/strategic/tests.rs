use serde_json::{Value, json};

use crate::patch::fake_schema::{DEPLOYMENT, FakeSchema, POD, SERVICE};
use crate::patch::{PatchError, strategic_merge_patch};

#[track_caller]
fn check(type_name: &str, original: Value, patch: Value, expected: Value) {
    let got = strategic_merge_patch(&original, &patch, type_name, &FakeSchema);
    assert_eq!(got, Ok(expected), "patch {patch}");
}

#[track_caller]
fn check_err(type_name: &str, original: Value, patch: Value, expected: PatchError) {
    let got = strategic_merge_patch(&original, &patch, type_name, &FakeSchema);
    assert_eq!(got, Err(expected), "patch {patch}");
}

fn failed(msg: &str) -> PatchError {
    PatchError::Failed(msg.into())
}

fn malformed(msg: &str) -> PatchError {
    PatchError::Malformed(msg.into())
}

/// A pod spec whose containers are named `names`, each with image `<name>:1`.
fn pod_with(names: &[&str]) -> Value {
    let containers: Vec<Value> = names
        .iter()
        .map(|n| json!({"name": n, "image": format!("{n}:1")}))
        .collect();
    json!({"spec": {"containers": containers}})
}

fn container_names(v: &Value) -> Vec<&str> {
    v["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect()
}

#[track_caller]
fn check_order(original: &[&str], patch: Value, expected: &[&str]) {
    let got = strategic_merge_patch(&pod_with(original), &patch, POD, &FakeSchema).unwrap();
    assert_eq!(container_names(&got), expected, "patch {patch}");
}

// What kubectl sends (docs/kubectl-protocol.md §3.2, §3.14, §3.16).

#[test]
fn kubectl_client_side_apply_second_apply() {
    let live = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "uid": "u1",
            "labels": {"app": "web"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{old}\n"}},
        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25",
            "ports": [{"containerPort": 80, "protocol": "TCP"}],
            "imagePullPolicy": "IfNotPresent"}],
            "restartPolicy": "Always"},
        "status": {"phase": "Running"}
    });
    let patch = json!({
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{new}\n"},
            "labels": {"tier": "front"}},
        "spec": {"$setElementOrder/containers": [{"name": "nginx"}],
            "containers": [{"image": "nginx:1.26", "name": "nginx"}]}
    });
    let expected = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "uid": "u1",
            "labels": {"app": "web", "tier": "front"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{new}\n"}},
        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.26",
            "ports": [{"containerPort": 80, "protocol": "TCP"}],
            "imagePullPolicy": "IfNotPresent"}],
            "restartPolicy": "Always"},
        "status": {"phase": "Running"}
    });
    check(POD, live, patch, expected);
}

#[test]
fn kubectl_rollout_restart() {
    let live = json!({
        "metadata": {"name": "api", "generation": 3},
        "spec": {"replicas": 2, "template": {
            "metadata": {"labels": {"app": "api"}},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]}}}
    });
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": "2026-11-22T07:11:46Z"}}}}});
    let mut expected = live.clone();
    expected["spec"]["template"]["metadata"]["annotations"] =
        json!({"kubectl.kubernetes.io/restartedAt": "2026-11-22T07:11:46Z"});
    check(DEPLOYMENT, live, patch, expected);
}

#[test]
fn kubectl_set_image_keeps_other_containers_and_order() {
    let live = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "app", "image": "nginx:1.25", "env": [{"name": "A", "value": "1"}]},
        {"name": "sidecar", "image": "envoy:1"}
    ]}}}});
    let patch = json!({"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "app"}, {"name": "sidecar"}],
        "containers": [{"image": "nginx:1.27", "name": "app"}]}}}});
    let expected = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "app", "image": "nginx:1.27", "env": [{"name": "A", "value": "1"}]},
        {"name": "sidecar", "image": "envoy:1"}
    ]}}}});
    check(DEPLOYMENT, live, patch, expected);
}

// Maps.

#[test]
fn maps_merge_recursively_and_null_deletes() {
    let cases = [
        (
            json!({"metadata": {"labels": {"a": "1", "b": "2"}}}),
            json!({"metadata": {"labels": {"a": null, "c": "3"}}}),
            json!({"metadata": {"labels": {"b": "2", "c": "3"}}}),
        ),
        (
            json!({"metadata": {"labels": {"a": "1"}}}),
            json!({"metadata": {"labels": null}}),
            json!({"metadata": {}}),
        ),
        (
            json!({"metadata": {"name": "x"}}),
            json!({"metadata": {"labels": {"a": "1", "gone": null}}}),
            json!({"metadata": {"name": "x", "labels": {"a": "1"}}}),
        ),
        (
            json!({"metadata": {"name": "x"}}),
            json!({"metadata": {"annotations": null}, "status": null}),
            json!({"metadata": {"name": "x"}}),
        ),
        (
            json!({"spec": {"restartPolicy": "Always"}}),
            json!({"spec": {"restartPolicy": "Never", "nodeName": "n1"}}),
            json!({"spec": {"restartPolicy": "Never", "nodeName": "n1"}}),
        ),
    ];
    for (original, patch, expected) in cases {
        check(POD, original, patch, expected);
    }
}

#[test]
fn unknown_fields_merge_like_a_merge_patch() {
    check(
        POD,
        json!({"spec": {"extra": {"a": 1, "list": [1, 2], "keep": true}}}),
        json!({"spec": {"extra": {"a": 2, "list": [3], "b": {"c": null, "d": 1}}}}),
        json!({"spec": {"extra": {"a": 2, "list": [3], "keep": true, "b": {"d": 1}}}}),
    );
    // A type the schema does not know at all behaves the same.
    check(
        "io.example.v1.Widget",
        json!({"spec": {"items": [{"name": "a"}], "size": 1}}),
        json!({"spec": {"items": [{"name": "b"}]}}),
        json!({"spec": {"items": [{"name": "b"}], "size": 1}}),
    );
}

#[test]
fn free_form_values_are_replaced_whole() {
    check(
        DEPLOYMENT,
        json!({"spec": {"strategy": {"rollingUpdate": {"maxSurge": "25%"}}}}),
        json!({"spec": {"strategy": {"rollingUpdate": {"maxSurge": 2}}}}),
        json!({"spec": {"strategy": {"rollingUpdate": {"maxSurge": 2}}}}),
    );
}

#[test]
fn map_directives() {
    let cases = [
        // `$patch: replace` replaces the whole map.
        (
            json!({"metadata": {"labels": {"a": "1", "b": "2"}}}),
            json!({"metadata": {"labels": {"$patch": "replace", "c": "3"}}}),
            json!({"metadata": {"labels": {"c": "3"}}}),
        ),
        // ... also when nested maps inside carry their own directives.
        (
            json!({"spec": {"securityContext": {"runAsUser": 1, "fsGroup": 2}}}),
            json!({"spec": {"securityContext": {"$patch": "replace", "fsGroup": 3}}}),
            json!({"spec": {"securityContext": {"fsGroup": 3}}}),
        ),
        // `$patch: delete` removes the map.
        (
            json!({"spec": {"securityContext": {"runAsUser": 1}, "nodeName": "n"}}),
            json!({"spec": {"securityContext": {"$patch": "delete"}}}),
            json!({"spec": {"nodeName": "n"}}),
        ),
        (
            json!({"spec": {"nodeName": "n"}}),
            json!({"spec": {"securityContext": {"$patch": "delete"}}}),
            json!({"spec": {"nodeName": "n"}}),
        ),
        (
            json!({"spec": {"nodeName": "n"}}),
            json!({"spec": {"securityContext": {"$patch": "replace", "runAsUser": 5}}}),
            json!({"spec": {"nodeName": "n", "securityContext": {"runAsUser": 5}}}),
        ),
    ];
    for (original, patch, expected) in cases {
        check(POD, original, patch, expected);
    }
}

#[test]
fn whole_object_directives() {
    check(
        POD,
        json!({"metadata": {"name": "a"}, "spec": {"nodeName": "n"}}),
        json!({"$patch": "replace", "metadata": {"name": "b"}}),
        json!({"metadata": {"name": "b"}}),
    );
    check(
        POD,
        json!({"metadata": {"name": "a"}}),
        json!({"$patch": "delete"}),
        json!({}),
    );
    check(
        POD,
        json!({"metadata": {"name": "a"}}),
        Value::Null,
        json!({"metadata": {"name": "a"}}),
    );
}

// Lists merged by key.

#[test]
fn merge_by_key_merges_matching_elements_recursively() {
    let original = json!({"spec": {"containers": [
        {"name": "app", "image": "app:1",
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
            "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443, "protocol": "TCP"}],
            "volumeMounts": [{"mountPath": "/data", "name": "data"}],
            "command": ["sh", "-c", "run"]}
    ]}});
    let patch = json!({"spec": {"containers": [
        {"name": "app",
            "env": [{"name": "B", "value": "3"}],
            "ports": [{"containerPort": 443, "name": "https"}],
            "volumeMounts": [{"mountPath": "/data", "readOnly": true}],
            "command": ["run"]}
    ]}});
    let expected = json!({"spec": {"containers": [
        {"name": "app", "image": "app:1",
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}],
            "ports": [{"containerPort": 80, "protocol": "TCP"},
                {"containerPort": 443, "protocol": "TCP", "name": "https"}],
            "volumeMounts": [{"mountPath": "/data", "name": "data", "readOnly": true}],
            "command": ["run"]}
    ]}});
    check(POD, original, patch, expected);
}

#[test]
fn merge_by_key_other_types() {
    check(
        SERVICE,
        json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443, "targetPort": 8443}]}}),
        json!({"spec": {"ports": [{"port": 80, "targetPort": "http"}]}}),
        json!({"spec": {"ports": [{"port": 80, "targetPort": "http"}, {"port": 443, "targetPort": 8443}]}}),
    );
    check(
        POD,
        json!({"metadata": {"ownerReferences": [{"uid": "u1", "name": "rs-1", "kind": "ReplicaSet"}]}}),
        json!({"metadata": {"ownerReferences": [{"uid": "u1", "controller": true}]}}),
        json!({"metadata": {"ownerReferences": [
            {"uid": "u1", "name": "rs-1", "kind": "ReplicaSet", "controller": true}]}}),
    );
}

#[test]
fn merge_by_key_element_directives() {
    let original = || {
        json!({"spec": {"containers": [
            {"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}, {"name": "c", "image": "c:1"}
        ]}})
    };
    // Delete by key.
    check(
        POD,
        original(),
        json!({"spec": {"containers": [{"name": "b", "$patch": "delete"}]}}),
        json!({"spec": {"containers": [{"name": "a", "image": "a:1"}, {"name": "c", "image": "c:1"}]}}),
    );
    // Deleting something absent changes nothing.
    check(
        POD,
        original(),
        json!({"spec": {"containers": [{"name": "zzz", "$patch": "delete"}]}}),
        original(),
    );
    // Replace: the list becomes exactly the other elements.
    check(
        POD,
        original(),
        json!({"spec": {"containers": [{"$patch": "replace"}, {"name": "only", "image": "o:1"}]}}),
        json!({"spec": {"containers": [{"name": "only", "image": "o:1"}]}}),
    );
    check(
        POD,
        original(),
        json!({"spec": {"containers": [{"$patch": "replace"}]}}),
        json!({"spec": {"containers": []}}),
    );
}

#[test]
fn new_elements_are_cleaned_of_directives_and_nulls() {
    check(
        POD,
        json!({"spec": {"nodeName": "n"}}),
        json!({"spec": {"initContainers": [
            {"name": "gone", "$patch": "delete"},
            {"name": "init", "image": "busybox", "workingDir": null,
                "env": [{"name": "X", "value": "1"}],
                "$setElementOrder/env": [{"name": "X"}]}
        ]}}),
        json!({"spec": {"nodeName": "n", "initContainers": [
            {"name": "init", "image": "busybox", "env": [{"name": "X", "value": "1"}]}
        ]}}),
    );
}

#[test]
fn merge_list_ordering() {
    // New elements without `$setElementOrder` come before the server-only ones, as in Go.
    check_order(
        &["a"],
        json!({"spec": {"containers": [{"name": "b"}]}}),
        &["b", "a"],
    );
    // Patched elements take the patch's order; a server-only element that came before the
    // first of them in the live list stays in front.
    check_order(
        &["a", "b", "c"],
        json!({"spec": {"containers": [{"name": "c", "image": "x"}, {"name": "a", "image": "y"}]}}),
        &["b", "c", "a"],
    );
    // An empty patch list is no change for a merging list.
    check_order(
        &["a", "b"],
        json!({"spec": {"containers": []}}),
        &["a", "b"],
    );
}

#[test]
fn set_element_order() {
    // The order list decides; server-only elements are interleaved by their live order.
    check_order(
        &["a", "b", "c"],
        json!({"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "d"}],
            "containers": [{"name": "d", "image": "d:1"}]}}),
        &["a", "d", "b", "c"],
    );
    // Reordering only.
    check_order(
        &["a", "b"],
        json!({"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}}),
        &["b", "a"],
    );
    check_order(
        &["a", "b", "c"],
        json!({"spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}]}}),
        &["b", "c", "a"],
    );
    // Adding while keeping others.
    check_order(
        &["a", "b"],
        json!({"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
            "containers": [{"name": "c", "image": "c:1"}]}}),
        &["a", "b", "c"],
    );
    // The list did not exist yet.
    check_order(
        &[],
        json!({"spec": {"$setElementOrder/containers": [{"name": "y"}, {"name": "x"}],
            "containers": [{"name": "y"}, {"name": "x"}]}}),
        &["y", "x"],
    );
}

#[test]
fn set_element_order_never_leaks() {
    check(
        POD,
        json!({"metadata": {"finalizers": ["a", "b"]}}),
        json!({"metadata": {"$setElementOrder/finalizers": ["b", "a"]},
            "spec": {"$setElementOrder/tolerations": [], "nodeName": "n"}}),
        json!({"metadata": {"finalizers": ["b", "a"]}, "spec": {"nodeName": "n"}}),
    );
}

#[test]
fn set_element_order_with_deletions_and_primitives() {
    check(
        POD,
        json!({"metadata": {"finalizers": ["a", "b", "c"]}}),
        json!({"metadata": {"$setElementOrder/finalizers": ["c", "a"],
            "$deleteFromPrimitiveList/finalizers": ["b"]}}),
        json!({"metadata": {"finalizers": ["c", "a"]}}),
    );
    check_order(
        &["a", "b", "c"],
        json!({"spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}],
            "containers": [{"name": "b", "$patch": "delete"}]}}),
        &["c", "a"],
    );
}

// Lists of primitives with the merge strategy.

#[test]
fn primitive_merge_lists() {
    let cases = [
        (
            json!({"metadata": {"finalizers": ["a", "b"]}}),
            json!({"metadata": {"finalizers": ["b"]}}),
            json!({"metadata": {"finalizers": ["a", "b"]}}),
        ),
        (
            json!({"metadata": {"finalizers": ["a", "b"]}}),
            json!({"metadata": {"finalizers": ["c"]}}),
            json!({"metadata": {"finalizers": ["c", "a", "b"]}}),
        ),
        (
            json!({"metadata": {"finalizers": ["a", "b", "c"]}}),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "zzz"]}}),
            json!({"metadata": {"finalizers": ["a", "c"]}}),
        ),
        (
            json!({"metadata": {}}),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}}),
            json!({"metadata": {}}),
        ),
        (
            json!({"metadata": {}}),
            json!({"metadata": {"finalizers": ["x", "x", "y"]}}),
            json!({"metadata": {"finalizers": ["x", "y"]}}),
        ),
    ];
    for (original, patch, expected) in cases {
        check(POD, original, patch, expected);
    }
}

#[test]
fn atomic_lists_are_replaced() {
    check(
        POD,
        json!({"spec": {"tolerations": [{"key": "a"}, {"key": "b"}],
            "containers": [{"name": "c", "args": ["1", "2"]}]}}),
        json!({"spec": {"tolerations": [{"key": "c", "operator": "Exists"}],
            "containers": [{"name": "c", "args": ["3"]}]}}),
        json!({"spec": {"tolerations": [{"key": "c", "operator": "Exists"}],
            "containers": [{"name": "c", "args": ["3"]}]}}),
    );
}

// retainKeys.

#[test]
fn retain_keys() {
    // Volumes (merge,retainKeys): switching the volume source.
    check(
        POD,
        json!({"spec": {"volumes": [{"name": "data", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "c"}}]}}),
        json!({"spec": {"volumes": [{"name": "data", "hostPath": {"path": "/srv"},
            "$retainKeys": ["hostPath", "name"]}]}}),
        json!({"spec": {"volumes": [{"name": "data", "hostPath": {"path": "/srv"}},
            {"name": "cfg", "configMap": {"name": "c"}}]}}),
    );
    // Deployment strategy (retainKeys): RollingUpdate to Recreate.
    check(
        DEPLOYMENT,
        json!({"spec": {"replicas": 1, "strategy": {"type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}}}),
        json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": null}}}),
        json!({"spec": {"replicas": 1, "strategy": {"type": "Recreate"}}}),
    );
    // Keys merged, not replaced, when retained.
    check(
        DEPLOYMENT,
        json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}}}),
        json!({"spec": {"strategy": {"$retainKeys": ["type", "rollingUpdate"], "rollingUpdate": {"maxSurge": 2}}}}),
        json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 2, "maxUnavailable": 0}}}}),
    );
}

// Errors.

#[test]
fn malformed_patches() {
    let pod =
        || json!({"metadata": {"finalizers": ["a"]}, "spec": {"containers": [{"name": "a"}]}});
    let cases = [
        (
            json!(["a"]),
            "json: cannot unmarshal array into Go value of type map[string]interface {}",
        ),
        (
            json!("x"),
            "json: cannot unmarshal string into Go value of type map[string]interface {}",
        ),
        (
            json!({"spec": {"strategy": {"$retainKeys": "type"}}}),
            "invalid patch format of retainKeys",
        ),
        (
            json!({"metadata": {"labels": {"$retainKeys": ["a"], "b": "1"}}}),
            "invalid patch format of retainKeys",
        ),
        (
            json!({"spec": {"$setElementOrder/containers": {"name": "a"}}}),
            "invalid patch format of setElementOrder list",
        ),
        (
            json!({"spec": {"$setElementOrderX": []}}),
            "invalid patch format of setElementOrder list",
        ),
        (
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}}),
            "invalid patch format of primitive list",
        ),
    ];
    for (patch, msg) in cases {
        check_err(POD, pod(), patch, malformed(msg));
    }
}

#[test]
fn patches_that_cannot_apply() {
    let pod = || {
        json!({"metadata": {"labels": {"a": "1"}, "finalizers": ["f"]},
            "spec": {"containers": [{"name": "a", "image": "a:1"}]}})
    };
    let cases = [
        (
            json!({"spec": {"containers": [{"image": "x"}]}}),
            "map: map[image:x] does not contain declared merge key: name",
        ),
        (
            json!({"spec": {"containers": [{"$patch": "delete", "image": "x"}]}}),
            "map: map[$patch:delete image:x] does not contain declared merge key: name",
        ),
        (
            json!({"spec": {"containers": [{"name": "a", "$patch": "bogus"}]}}),
            "unknown patch type: bogus in map: map[$patch:bogus name:a]",
        ),
        (
            json!({"metadata": {"labels": {"$patch": "bogus"}}}),
            "unknown patch type: bogus in map: map[$patch:bogus]",
        ),
        (
            json!({"$patch": true}),
            "unknown patch type: true in map: map[$patch:true]",
        ),
        (
            json!({"spec": {"containers": [{"$patch": "merge"}]}}),
            "merging lists cannot yet be specified in the patch",
        ),
        (
            json!({"spec": {"containers": {"name": "a"}}}),
            "unable to apply patch at spec.containers: expected a list, got an object",
        ),
        (
            json!({"metadata": {"labels": ["a"]}}),
            "unable to apply patch at metadata.labels: expected an object, got a list",
        ),
        (
            json!({"spec": "nope"}),
            "unable to apply patch at spec: expected an object, got a string",
        ),
        (
            json!({"spec": {"containers": [{"name": "a", "image": {"tag": "1"}}]}}),
            "unable to apply patch at spec.containers[0].image: expected a scalar, got an object",
        ),
        (
            json!({"spec": {"containers": ["a"]}}),
            "list element types are not identical: [[map[image:a:1 name:a]] [a]]",
        ),
        (
            json!({"metadata": {"finalizers": [["x"]]}}),
            "lists of lists are not supported",
        ),
        (
            json!({"spec": {"$setElementOrder/containers": [{"name": "a"}],
                "containers": [{"name": "b"}]}}),
            "The order in patch list:\n[map[name:b]]\n doesn't match $setElementOrder list:\n[map[name:a]]\n",
        ),
        (
            json!({"spec": {"$setElementOrder/containers": [{"image": "a"}]}}),
            "map: map[image:a] does not contain declared merge key: name",
        ),
    ];
    for (patch, msg) in cases {
        check_err(POD, pod(), patch, failed(msg));
    }
}

#[test]
fn non_object_document_is_an_error() {
    check_err(
        POD,
        json!([1]),
        json!({"a": 1}),
        failed("invalid JSON document"),
    );
}
