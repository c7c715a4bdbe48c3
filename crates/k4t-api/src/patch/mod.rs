//! The three patch formats of `PATCH` requests: JSON patch (RFC 6902), JSON merge patch
//! (RFC 7386) and Kubernetes strategic merge patch. Each is a pure function from the stored
//! object and the patch document to the patched object; decoding the result into a typed
//! object, defaulting and validation are the caller's business.

mod strategic;

#[cfg(test)]
pub(crate) mod fake_schema;
#[cfg(test)]
pub(crate) mod proptests;

use ::json_patch as jp;
use jp::jsonptr::PointerBuf;
use serde_json::Value;

use crate::schema::SchemaLookup;

/// Why a patch could not be applied; the message is what the API answers.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PatchError {
    /// The patch document itself is malformed (400 BadRequest).
    #[error("{0}")]
    Malformed(String),
    /// The patch is well-formed but cannot apply to this object (422 / 500 in Kubernetes).
    #[error("{0}")]
    Failed(String),
}

/// Applies an RFC 6902 JSON patch (`application/json-patch+json`).
///
/// A document that is not an array of operation objects, or an operation with an unknown
/// `op` or without its `path`/`from`, is [`PatchError::Malformed`]; an operation that cannot
/// apply (missing path, index out of range, failed `test`) is [`PatchError::Failed`]. The
/// messages are those of the JSON patch library the Kubernetes apiserver uses.
pub fn json_patch(doc: &Value, patch: &Value) -> Result<Value, PatchError> {
    let ops = match patch {
        Value::Array(ops) => ops,
        // Go decodes `null` into an empty patch, which changes nothing.
        Value::Null => return Ok(doc.clone()),
        other => {
            return Err(PatchError::Malformed(format!(
                "json: cannot unmarshal {} into Go value of type jsonpatch.Patch",
                go_json_kind(other)
            )));
        }
    };
    // Go rejects the whole document before applying anything if an element is not an object.
    if let Some(bad) = ops.iter().find(|op| !op.is_object() && !op.is_null()) {
        return Err(PatchError::Malformed(format!(
            "json: cannot unmarshal {} into Go value of type jsonpatch.Operation",
            go_json_kind(bad)
        )));
    }
    let mut out = doc.clone();
    for op in ops {
        let op = JsonOp::decode(op)?;
        op.apply(&mut out)?;
    }
    Ok(out)
}

/// Applies an RFC 7386 merge patch (`application/merge-patch+json`).
///
/// A patch that is not an object replaces the document, as the RFC says; Kubernetes would then
/// fail to decode the result, which is the caller's check.
pub fn merge_patch(doc: &Value, patch: &Value) -> Result<Value, PatchError> {
    let mut out = doc.clone();
    jp::merge(&mut out, patch);
    Ok(out)
}

/// Applies a strategic merge patch to `doc`, whose schema type is `type_name`
/// (e.g. `io.k8s.api.core.v1.Pod`).
///
/// Lists merge by the merge keys `schema` gives, and the directives `$patch`, `$retainKeys`,
/// `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>` are honoured and never
/// appear in the result. Fields the schema does not know merge like a JSON merge patch.
pub fn strategic_merge_patch(
    doc: &Value,
    patch: &Value,
    type_name: &str,
    schema: &dyn SchemaLookup,
) -> Result<Value, PatchError> {
    strategic::apply(doc, patch, type_name, schema)
}

/// The JSON type names Go's decoder puts in its "cannot unmarshal X" errors.
fn go_json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpKind {
    Add,
    Remove,
    Replace,
    Move,
    Copy,
    Test,
}

impl OpKind {
    fn name(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Remove => "remove",
            Self::Replace => "replace",
            Self::Move => "move",
            Self::Copy => "copy",
            Self::Test => "test",
        }
    }
}

/// One decoded operation; `op` is `None` when `path` or `from` is not a JSON pointer, which
/// Kubernetes reports as a path missing from the document when the operation runs.
struct JsonOp<'a> {
    kind: OpKind,
    path: &'a str,
    from: &'a str,
    op: Option<jp::PatchOperation>,
}

impl<'a> JsonOp<'a> {
    fn decode(raw: &'a Value) -> Result<Self, PatchError> {
        // A null operation decodes to an empty one in Go, which has no kind.
        let Some(obj) = raw.as_object() else {
            return Err(PatchError::Malformed("Unexpected kind: unknown".into()));
        };
        let kind = match obj.get("op").and_then(Value::as_str) {
            Some("add") => OpKind::Add,
            Some("remove") => OpKind::Remove,
            Some("replace") => OpKind::Replace,
            Some("move") => OpKind::Move,
            Some("copy") => OpKind::Copy,
            Some("test") => OpKind::Test,
            Some(other) => {
                return Err(PatchError::Malformed(format!("Unexpected kind: {other}")));
            }
            None => return Err(PatchError::Malformed("Unexpected kind: unknown".into())),
        };
        let Some(path) = obj.get("path").and_then(Value::as_str) else {
            return Err(PatchError::Malformed(format!(
                "{} operation failed to decode path: operation missing path field: missing value",
                kind.name()
            )));
        };
        let from = if matches!(kind, OpKind::Move | OpKind::Copy) {
            let Some(from) = obj.get("from").and_then(Value::as_str) else {
                return Err(PatchError::Malformed(format!(
                    "{} operation failed to decode from: operation, missing from field: missing value",
                    kind.name()
                )));
            };
            from
        } else {
            ""
        };
        // A missing value is null, as in Go's decoder.
        let value = obj.get("value").cloned().unwrap_or(Value::Null);
        let op = Self::build(kind, path, from, value);
        Ok(Self {
            kind,
            path,
            from,
            op,
        })
    }

    fn build(kind: OpKind, path: &str, from: &str, value: Value) -> Option<jp::PatchOperation> {
        let path = PointerBuf::parse(path).ok()?;
        let op = match kind {
            OpKind::Add => jp::PatchOperation::Add(jp::AddOperation { path, value }),
            OpKind::Remove => jp::PatchOperation::Remove(jp::RemoveOperation { path }),
            OpKind::Replace => jp::PatchOperation::Replace(jp::ReplaceOperation { path, value }),
            OpKind::Test => jp::PatchOperation::Test(jp::TestOperation { path, value }),
            OpKind::Move => jp::PatchOperation::Move(jp::MoveOperation {
                from: PointerBuf::parse(from).ok()?,
                path,
            }),
            OpKind::Copy => jp::PatchOperation::Copy(jp::CopyOperation {
                from: PointerBuf::parse(from).ok()?,
                path,
            }),
        };
        Some(op)
    }

    fn apply(&self, doc: &mut Value) -> Result<(), PatchError> {
        let Some(op) = &self.op else {
            // Only a bad pointer leaves `op` empty: report it where the source or the target
            // would be looked up.
            let from_bad = matches!(self.kind, OpKind::Move | OpKind::Copy)
                && PointerBuf::parse(self.from).is_err();
            return Err(if from_bad {
                self.missing_from()
            } else {
                self.missing_path(doc)
            });
        };
        // Each operation runs alone on our own copy, so a failure needs no undo and the
        // document still shows the state the failing operation saw.
        jp::patch_unsafe(doc, std::slice::from_ref(op)).map_err(|e| match e.kind {
            jp::PatchErrorKind::TestFailed => {
                PatchError::Failed(format!("testing value {} failed: test failed", self.path))
            }
            jp::PatchErrorKind::InvalidFromPointer => self.missing_from(),
            jp::PatchErrorKind::CannotMoveInsideItself => PatchError::Failed(format!(
                "move operation does not apply: cannot move {} into itself",
                self.from
            )),
            _ => self.missing_path(doc),
        })
    }

    fn missing_from(&self) -> PatchError {
        PatchError::Failed(format!(
            "{} operation does not apply: doc is missing from path: {}: missing value",
            self.kind.name(),
            self.from
        ))
    }

    /// The message for a target path that does not resolve, phrased per operation the way
    /// Kubernetes' JSON patch library phrases it.
    fn missing_path(&self, doc: &Value) -> PatchError {
        let path = self.path;
        let (parent, last) = match path.rfind('/') {
            Some(i) => (doc.pointer(&path[..i]), unescape_token(&path[i + 1..])),
            None => (None, String::new()),
        };
        let bad_index =
            || format!("Unable to access invalid index: {last}: invalid index referenced");
        let msg = match (self.kind, parent) {
            (OpKind::Add, Some(Value::Array(_))) => {
                format!("error in add for path: '{path}': {}", bad_index())
            }
            (OpKind::Add, _) => {
                format!(
                    "add operation does not apply: doc is missing path: \"{path}\": missing value"
                )
            }
            (OpKind::Remove, Some(Value::Object(_))) => format!(
                "error in remove for path: '{path}': Unable to remove nonexistent key: {last}: missing value"
            ),
            (OpKind::Remove, Some(Value::Array(_))) => {
                format!("error in remove for path: '{path}': {}", bad_index())
            }
            (OpKind::Remove, _) => format!(
                "remove operation does not apply: doc is missing path: \"{path}\": missing value"
            ),
            (OpKind::Replace, Some(Value::Object(_) | Value::Array(_))) => format!(
                "replace operation does not apply: doc is missing key: {path}: missing value"
            ),
            (OpKind::Replace, _) => format!(
                "replace operation does not apply: doc is missing path: {path}: missing value"
            ),
            (OpKind::Move | OpKind::Copy, _) => format!(
                "{} operation does not apply: doc is missing destination path: {path}: missing value",
                self.kind.name()
            ),
            (OpKind::Test, _) => {
                format!("test operation does not apply: is missing path: {path}: missing value")
            }
        };
        PatchError::Failed(msg)
    }
}

/// Decodes one JSON pointer token (`~1` is `/`, `~0` is `~`).
fn unescape_token(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pod() -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}
        })
    }

    #[track_caller]
    fn check_json(patch: Value, expected: Result<Value, PatchError>) {
        assert_eq!(json_patch(&pod(), &patch), expected, "patch {patch}");
    }

    fn failed(msg: &str) -> Result<Value, PatchError> {
        Err(PatchError::Failed(msg.into()))
    }

    fn malformed(msg: &str) -> Result<Value, PatchError> {
        Err(PatchError::Malformed(msg.into()))
    }

    #[test]
    fn json_patch_applies_operations_in_order() {
        let mut expected = pod();
        expected["metadata"]["labels"]["tier"] = json!("front");
        expected["spec"]["containers"][0]["image"] = json!("nginx:1.26");
        check_json(
            json!([
                {"op": "test", "path": "/metadata/name", "value": "web"},
                {"op": "add", "path": "/metadata/labels/tier", "value": "front"},
                {"op": "replace", "path": "/spec/containers/0/image", "value": "nginx:1.26"}
            ]),
            Ok(expected),
        );
    }

    #[test]
    fn json_patch_move_copy_remove_and_append() {
        let mut expected = pod();
        expected["metadata"]["labels"] = json!({"role": "web"});
        expected["metadata"]["annotations"] = json!({"copied": "web"});
        expected["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "sidecar"}));
        check_json(
            json!([
                {"op": "move", "from": "/metadata/labels/app", "path": "/metadata/labels/role"},
                {"op": "add", "path": "/metadata/annotations", "value": {}},
                {"op": "copy", "from": "/metadata/name", "path": "/metadata/annotations/copied"},
                {"op": "add", "path": "/spec/containers/-", "value": {"name": "sidecar"}},
                {"op": "add", "path": "/metadata/labels/x", "value": 1},
                {"op": "remove", "path": "/metadata/labels/x"}
            ]),
            Ok(expected),
        );
    }

    #[test]
    fn json_patch_escaped_pointer_tokens() {
        let mut expected = pod();
        expected["metadata"]["labels"]["app.kubernetes.io/name"] = json!("web");
        check_json(
            json!([{"op": "add", "path": "/metadata/labels/app.kubernetes.io~1name", "value": "web"}]),
            Ok(expected),
        );
    }

    #[test]
    fn json_patch_null_is_an_empty_patch() {
        check_json(Value::Null, Ok(pod()));
        check_json(json!([]), Ok(pod()));
    }

    #[test]
    fn json_patch_malformed_documents() {
        let cases = [
            (
                json!({"op": "add"}),
                "json: cannot unmarshal object into Go value of type jsonpatch.Patch",
            ),
            (
                json!("[]"),
                "json: cannot unmarshal string into Go value of type jsonpatch.Patch",
            ),
            (
                json!([1]),
                "json: cannot unmarshal number into Go value of type jsonpatch.Operation",
            ),
            (
                json!([{"op": "bogus", "path": "/a"}]),
                "Unexpected kind: bogus",
            ),
            (json!([{"path": "/a"}]), "Unexpected kind: unknown"),
            (json!([null]), "Unexpected kind: unknown"),
            (
                json!([{"op": "add", "value": 1}]),
                "add operation failed to decode path: operation missing path field: missing value",
            ),
            (
                json!([{"op": "move", "path": "/a"}]),
                "move operation failed to decode from: operation, missing from field: missing value",
            ),
        ];
        for (patch, msg) in cases {
            check_json(patch, malformed(msg));
        }
    }

    #[test]
    fn json_patch_operations_that_do_not_apply() {
        let cases = [
            (
                json!([{"op": "test", "path": "/metadata/name", "value": "other"}]),
                "testing value /metadata/name failed: test failed",
            ),
            (
                json!([{"op": "test", "path": "/metadata/nope", "value": "x"}]),
                "test operation does not apply: is missing path: /metadata/nope: missing value",
            ),
            (
                json!([{"op": "add", "path": "/status/phase", "value": "Running"}]),
                "add operation does not apply: doc is missing path: \"/status/phase\": missing value",
            ),
            (
                json!([{"op": "add", "path": "/spec/containers/5", "value": {}}]),
                "error in add for path: '/spec/containers/5': Unable to access invalid index: 5: invalid index referenced",
            ),
            (
                json!([{"op": "remove", "path": "/metadata/labels/nope"}]),
                "error in remove for path: '/metadata/labels/nope': Unable to remove nonexistent key: nope: missing value",
            ),
            (
                json!([{"op": "remove", "path": "/status/phase"}]),
                "remove operation does not apply: doc is missing path: \"/status/phase\": missing value",
            ),
            (
                json!([{"op": "remove", "path": "/spec/containers/-"}]),
                "error in remove for path: '/spec/containers/-': Unable to access invalid index: -: invalid index referenced",
            ),
            (
                json!([{"op": "replace", "path": "/metadata/nope", "value": 1}]),
                "replace operation does not apply: doc is missing key: /metadata/nope: missing value",
            ),
            (
                json!([{"op": "move", "from": "/metadata/nope", "path": "/metadata/x"}]),
                "move operation does not apply: doc is missing from path: /metadata/nope: missing value",
            ),
            (
                json!([{"op": "copy", "from": "/metadata/name", "path": "/status/x"}]),
                "copy operation does not apply: doc is missing destination path: /status/x: missing value",
            ),
            (
                json!([{"op": "add", "path": "metadata", "value": 1}]),
                "add operation does not apply: doc is missing path: \"metadata\": missing value",
            ),
            (
                json!([{"op": "move", "from": "/metadata", "path": "/metadata/labels/m"}]),
                "move operation does not apply: cannot move /metadata into itself",
            ),
        ];
        for (patch, msg) in cases {
            check_json(patch, failed(msg));
        }
    }

    #[test]
    fn json_patch_failure_after_success_changes_nothing() {
        // The caller's document is never touched, whatever ran before the failing op.
        let doc = pod();
        let patch = json!([
            {"op": "replace", "path": "/metadata/name", "value": "x"},
            {"op": "test", "path": "/metadata/name", "value": "web"}
        ]);
        assert!(json_patch(&doc, &patch).is_err());
        assert_eq!(doc, pod());
    }

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let cases = [
            (
                json!({"metadata": {"labels": {"env": "prod"}}}),
                json!({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": "web", "labels": {"app": "web", "env": "prod"}},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}}),
            ),
            (
                json!({"metadata": {"labels": null}, "spec": {"containers": [{"name": "x"}]}}),
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                    "spec": {"containers": [{"name": "x"}]}}),
            ),
            (
                json!(["not", "an", "object"]),
                json!(["not", "an", "object"]),
            ),
            (json!("text"), json!("text")),
        ];
        for (patch, expected) in cases {
            assert_eq!(merge_patch(&pod(), &patch), Ok(expected), "patch {patch}");
        }
    }
}
