//! Turning JSON into the typed k8s-openapi structs the checks are written against.
//!
//! Go decodes a missing field as its zero value, so Kubernetes' validation sees `port: 0` or
//! `name: ""` and reports them in its own words. k8s-openapi instead refuses JSON that lacks a
//! required field. To keep Kubernetes' behaviour, missing (or null) required fields are filled
//! with zero values first, driven by the JSON schemas k8s-openapi generates for each type.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{FieldError, FieldErrorType};

static SCHEMAS: LazyLock<Mutex<HashMap<String, Arc<Value>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The root schema of `T` (with its `$defs`), generated once.
pub(crate) fn schema_of<T: JsonSchema>() -> Arc<Value> {
    let name = T::schema_name().into_owned();
    let mut cache = SCHEMAS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = cache.get(&name) {
        return s.clone();
    }
    let schema = Arc::new(
        schemars::SchemaGenerator::default()
            .into_root_schema_for::<T>()
            .to_value(),
    );
    cache.insert(name, schema.clone());
    schema
}

/// Decodes `value` as `T`, with Go's zero values for missing required fields.
pub(crate) fn decode<T: DeserializeOwned + JsonSchema>(value: &Value) -> Result<T, FieldError> {
    // Values in the server's pipeline are canonical (they went through the typed structs
    // once), so they decode as they are; the schema walk is only for the rest.
    if let Ok(t) = T::deserialize(value) {
        return Ok(t);
    }
    let schema = schema_of::<T>();
    let mut v = value.clone();
    fill_required(&mut v, &schema, &schema, 0);
    serde_json::from_value(v).map_err(|e| FieldError {
        ty: FieldErrorType::Internal,
        field: "<root>".to_owned(),
        value: None,
        detail: format!("the object could not be decoded: {e}"),
    })
}

/// Decodes `value` as `T` like [`decode`], and also returns the JSON pointers of the required
/// fields it had to fill in, with the zero values used (so a caller writing the object back can
/// leave out what the client never sent).
pub(crate) fn decode_tracking<T: DeserializeOwned + JsonSchema + serde::Serialize>(
    value: &Value,
) -> Result<(T, Vec<(String, Value)>), FieldError> {
    // A value that already holds every field `T` writes needs no filling; checking that by a
    // round trip costs less than the schema walk.
    if let Ok(t) = T::deserialize(value)
        && serde_json::to_value(&t).is_ok_and(|v| v == *value)
    {
        return Ok((t, Vec::new()));
    }
    let schema = schema_of::<T>();
    let mut v = value.clone();
    let mut filled = Vec::new();
    fill(&mut v, &schema, &schema, 0, "", &mut Some(&mut filled));
    let t = serde_json::from_value(v).map_err(|e| FieldError {
        ty: FieldErrorType::Internal,
        field: "<root>".to_owned(),
        value: None,
        detail: format!("the object could not be decoded: {e}"),
    })?;
    Ok((t, filled))
}

/// Decodes the `metadata` of an object (an empty one when absent or malformed).
pub(crate) fn meta_of(value: &Value) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
    value
        .get("metadata")
        .and_then(|m| decode(m).ok())
        .unwrap_or_default()
}

fn resolve<'a>(schema: &'a Value, root: &'a Value, depth: usize) -> &'a Value {
    let mut s = schema;
    for _ in 0..8 {
        let Some(r) = s.get("$ref").and_then(Value::as_str) else {
            return s;
        };
        let name = r.rsplit('/').next().unwrap_or(r);
        match root
            .get("$defs")
            .or_else(|| root.get("definitions"))
            .and_then(|d| d.get(name))
        {
            Some(t) => s = t,
            None => return s,
        }
    }
    let _ = depth;
    s
}

/// The zero value Go would decode for a field of this schema.
fn zero_of(schema: &Value, root: &Value, depth: usize) -> Value {
    let s = resolve(schema, root, depth);
    if s.get("x-kubernetes-int-or-string").is_some() {
        return Value::from(0);
    }
    match s.get("type").and_then(Value::as_str) {
        Some("string") => Value::String(String::new()),
        Some("integer") | Some("number") => Value::from(0),
        Some("boolean") => Value::Bool(false),
        Some("array") => Value::Array(Vec::new()),
        _ => {
            let mut obj = Value::Object(Map::new());
            fill_required(&mut obj, schema, root, depth + 1);
            obj
        }
    }
}

/// Fills missing or null required fields with zero values, recursively.
pub(crate) fn fill_required(value: &mut Value, schema: &Value, root: &Value, depth: usize) {
    fill(value, schema, root, depth, "", &mut None);
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn fill(
    value: &mut Value,
    schema: &Value,
    root: &Value,
    depth: usize,
    pointer: &str,
    filled: &mut Option<&mut Vec<(String, Value)>>,
) {
    if depth > 64 {
        return;
    }
    let s = resolve(schema, root, depth);
    match value {
        Value::Object(map) => {
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                for (k, v) in map.iter_mut() {
                    if let Some(ps) = props.get(k) {
                        let p = format!("{pointer}/{}", escape(k));
                        fill(v, ps, root, depth + 1, &p, filled);
                    }
                }
                if let Some(req) = s.get("required").and_then(Value::as_array) {
                    for name in req.iter().filter_map(Value::as_str) {
                        let missing = map.get(name).is_none_or(Value::is_null);
                        if missing && let Some(ps) = props.get(name) {
                            let zero = zero_of(ps, root, depth + 1);
                            if let Some(f) = filled.as_deref_mut() {
                                f.push((format!("{pointer}/{}", escape(name)), zero.clone()));
                            }
                            map.insert(name.to_owned(), zero);
                        }
                    }
                }
            }
            if let Some(ap) = s.get("additionalProperties").filter(|a| a.is_object()) {
                for (k, v) in map.iter_mut() {
                    if v.is_null() {
                        *v = zero_of(ap, root, depth + 1);
                    } else {
                        let p = format!("{pointer}/{}", escape(k));
                        fill(v, ap, root, depth + 1, &p, filled);
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(is) = s.get("items") {
                for (i, v) in items.iter_mut().enumerate() {
                    if v.is_null() {
                        *v = zero_of(is, root, depth + 1);
                    } else {
                        fill(v, is, root, depth + 1, &format!("{pointer}/{i}"), filled);
                    }
                }
            }
        }
        _ => {}
    }
}

/// Rewrites `value` into the form Kubernetes' semantic equality compares: absent, null, empty
/// lists and empty maps are all the same, while an empty struct is not absent.
pub(crate) fn normalize_for_compare(value: &mut Value, schema: &Value, root: &Value) {
    normalize(value, schema, root, 0);
}

fn normalize(value: &mut Value, schema: &Value, root: &Value, depth: usize) {
    if depth > 64 {
        return;
    }
    let s = resolve(schema, root, depth);
    match value {
        Value::Object(map) => {
            let props = s.get("properties").and_then(Value::as_object);
            let ap = s.get("additionalProperties").filter(|a| a.is_object());
            for (k, v) in map.iter_mut() {
                if let Some(ps) = props.and_then(|p| p.get(k)).or(ap) {
                    normalize(v, ps, root, depth + 1);
                }
            }
            map.retain(|k, v| {
                let sub = props.and_then(|p| p.get(k)).or(ap);
                let is_map = sub.is_some_and(|ss| {
                    resolve(ss, root, depth + 1)
                        .get("additionalProperties")
                        .is_some_and(Value::is_object)
                });
                match v {
                    Value::Null => false,
                    Value::Array(a) => !a.is_empty(),
                    Value::Object(o) => !(o.is_empty() && is_map),
                    _ => true,
                }
            });
        }
        Value::Array(items) => {
            if let Some(is) = s.get("items") {
                for v in items.iter_mut() {
                    normalize(v, is, root, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// Renders a value as Go's `json.Marshal` would for an error message.
pub(crate) fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Pod, Service};
    use serde_json::json;

    #[test]
    fn fills_go_zero_values() {
        let pod: Pod = decode(&json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [{"ports": [{}]}, null], "volumes": [{}]}
        }))
        .unwrap();
        let spec = pod.spec.unwrap();
        assert_eq!(spec.containers.len(), 2);
        assert_eq!(spec.containers[0].name, "");
        assert_eq!(
            spec.containers[0].ports.as_ref().unwrap()[0].container_port,
            0
        );
        assert_eq!(spec.volumes.unwrap()[0].name, "");

        let pod: Pod = decode(&json!({"spec": {}})).unwrap();
        assert!(pod.spec.unwrap().containers.is_empty());

        let svc: Service = decode(&json!({"spec": {"ports": [{"targetPort": "http"}]}})).unwrap();
        assert_eq!(svc.spec.unwrap().ports.unwrap()[0].port, 0);
    }

    #[test]
    fn wrong_types_are_an_error_not_a_panic() {
        let e = decode::<Pod>(&json!({"spec": {"containers": "x"}})).unwrap_err();
        assert_eq!(e.ty, FieldErrorType::Internal);
    }

    #[test]
    fn normalization_ignores_empty_maps_but_not_empty_structs() {
        let schema = schema_of::<Pod>();
        let mut a = json!({"spec": {"nodeSelector": {}, "volumes": [], "securityContext": {}}});
        normalize_for_compare(&mut a, &schema, &schema);
        assert_eq!(a, json!({"spec": {"securityContext": {}}}));
    }
}
