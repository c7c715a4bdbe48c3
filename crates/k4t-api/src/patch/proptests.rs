//! Random documents and patches of all three kinds never make the patch functions panic:
//! errors are fine, panics are not.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::fake_schema::{DEPLOYMENT, FakeSchema, POD, SERVICE};
use super::{json_patch, merge_patch, strategic_merge_patch};

/// Field names of the fake schema, directives and a few strangers, so that random documents
/// reach the interesting code paths.
const KEYS: &[&str] = &[
    "metadata",
    "spec",
    "status",
    "template",
    "strategy",
    "rollingUpdate",
    "type",
    "labels",
    "annotations",
    "finalizers",
    "ownerReferences",
    "uid",
    "containers",
    "initContainers",
    "volumes",
    "tolerations",
    "name",
    "image",
    "env",
    "value",
    "ports",
    "containerPort",
    "protocol",
    "port",
    "command",
    "securityContext",
    "emptyDir",
    "hostPath",
    "a",
    "b",
    "$patch",
    "$retainKeys",
    "$setElementOrder/containers",
    "$setElementOrder/finalizers",
    "$setElementOrder/env",
    "$setElementOrder/labels",
    "$setElementOrder/",
    "$setElementOrderX",
    "$deleteFromPrimitiveList/finalizers",
    "$deleteFromPrimitiveList/containers",
    "$deleteFromPrimitiveList",
];

const STRINGS: &[&str] = &[
    "", "delete", "replace", "merge", "bogus", "nginx", "a", "b", "name", "type", "TCP",
];

const PATHS: &[&str] = &[
    "",
    "/",
    "/metadata",
    "/metadata/labels",
    "/metadata/labels/a",
    "/metadata/labels/~1x",
    "/spec/containers",
    "/spec/containers/0",
    "/spec/containers/0/image",
    "/spec/containers/-",
    "/spec/containers/9",
    "/spec/containers/-1",
    "/spec/containers/99999999999999999999999",
    "/a/b/c",
    "a/b",
    "/~2",
    "/~",
];

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(KEYS).prop_map(str::to_owned)
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-2i64..100).prop_map(Value::from),
        Just(json!(1.5)),
        prop::sample::select(STRINGS).prop_map(Value::from),
    ]
}

pub(crate) fn document() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(6, 96, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn json_patch_op() -> impl Strategy<Value = Value> {
    let op = prop::sample::select(&["add", "remove", "replace", "move", "copy", "test", "x"][..]);
    let path = prop::sample::select(PATHS);
    let from = prop::sample::select(PATHS);
    (op, path, from, document(), any::<u8>()).prop_map(|(op, path, from, value, drop)| {
        let mut m = Map::new();
        if drop & 1 == 0 {
            m.insert("op".into(), op.into());
        }
        if drop & 2 == 0 {
            m.insert("path".into(), path.into());
        }
        if drop & 4 == 0 {
            m.insert("from".into(), from.into());
        }
        if drop & 8 == 0 {
            m.insert("value".into(), value);
        }
        Value::Object(m)
    })
}

fn json_patch_doc() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::collection::vec(json_patch_op(), 0..6).prop_map(Value::Array),
        document(),
    ]
}

fn live_pod() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "labels": {"a": "b"}, "finalizers": ["a", "b"],
            "ownerReferences": [{"uid": "u", "name": "rs"}]},
        "spec": {"containers": [
            {"name": "nginx", "image": "nginx", "env": [{"name": "a", "value": "b"}],
                "ports": [{"containerPort": 80, "protocol": "TCP"}], "command": ["a"]},
            {"name": "b", "image": "b"}],
            "volumes": [{"name": "a", "emptyDir": {}}],
            "tolerations": [{"key": "a"}]},
        "status": {"phase": "Running"}
    })
}

fn type_name() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&[POD, DEPLOYMENT, SERVICE, "io.example.v1.Unknown"][..])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn json_patch_never_panics(doc in document(), patch in json_patch_doc()) {
        let _ = json_patch(&doc, &patch);
        let _ = json_patch(&live_pod(), &patch);
    }

    #[test]
    fn merge_patch_never_panics(doc in document(), patch in document()) {
        let _ = merge_patch(&doc, &patch);
    }

    #[test]
    fn strategic_merge_patch_never_panics(
        doc in document(),
        patch in document(),
        type_name in type_name(),
    ) {
        let _ = strategic_merge_patch(&doc, &patch, type_name, &FakeSchema);
        let _ = strategic_merge_patch(&live_pod(), &patch, POD, &FakeSchema);
    }

    #[test]
    fn strategic_merge_patch_output_has_no_directives(patch in document()) {
        if let Ok(out) = strategic_merge_patch(&live_pod(), &patch, POD, &FakeSchema) {
            prop_assert!(!has_directive(&out), "directive leaked: {out}");
        }
    }
}

/// Whether a directive key appears anywhere in `v`. The patched pod and the random keys never
/// reach a free-form (`Any`) field, the only place where such keys would be plain data.
fn has_directive(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, child)| {
            k == "$patch"
                || k == "$retainKeys"
                || k.starts_with("$setElementOrder")
                || k.starts_with("$deleteFromPrimitiveList")
                || has_directive(child)
        }),
        Value::Array(items) => items.iter().any(has_directive),
        _ => false,
    }
}
