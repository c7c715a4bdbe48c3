//! [`SchemaIndex`]: the field shapes and patch facts of the generated schemas, for strategic
//! merge patch and managed fields.

use std::collections::HashMap;

use serde_json::Value;

use super::schemas::{Definitions, ref_target};
use crate::schema::{FieldInfo, SchemaLookup, Shape};

/// Every field of every generated schema, precomputed.
#[derive(Debug, Default)]
pub struct SchemaIndex {
    types: HashMap<String, HashMap<String, FieldInfo>>,
}

impl SchemaIndex {
    pub fn from_definitions(defs: &Definitions) -> Self {
        let mut types = HashMap::new();
        for (name, schema) in defs {
            let Some(props) = schema.get("properties").and_then(Value::as_object) else {
                continue;
            };
            let fields = props
                .iter()
                .map(|(field, prop)| (field.clone(), field_info(prop, defs)))
                .collect();
            types.insert(name.clone(), fields);
        }
        Self { types }
    }

    /// Whether the index knows the named type.
    pub fn has_type(&self, type_name: &str) -> bool {
        self.types.contains_key(type_name)
    }
}

impl SchemaLookup for SchemaIndex {
    fn field(&self, type_name: &str, field: &str) -> Option<FieldInfo> {
        self.types.get(type_name)?.get(field).cloned()
    }
}

fn string_ext(prop: &Value, key: &str) -> Option<String> {
    prop.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn field_info(prop: &Value, defs: &Definitions) -> FieldInfo {
    FieldInfo {
        shape: shape_of(prop, defs, 0),
        patch_strategies: string_ext(prop, "x-kubernetes-patch-strategy")
            .map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        patch_merge_key: string_ext(prop, "x-kubernetes-patch-merge-key"),
        list_type: string_ext(prop, "x-kubernetes-list-type"),
        list_map_keys: prop
            .get("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
            .map(|keys| {
                keys.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Deep enough for any Kubernetes type; a guard against reference cycles of non-object types.
const MAX_DEPTH: usize = 16;

/// The shape of a value the schema describes.
pub fn shape_of(schema: &Value, defs: &Definitions, depth: usize) -> Shape {
    if depth > MAX_DEPTH {
        return Shape::Any;
    }
    if let Some(name) = ref_target(schema) {
        return named_shape(name, defs, depth + 1);
    }
    let flag = |k: &str| schema.get(k).and_then(Value::as_bool) == Some(true);
    if flag("x-kubernetes-int-or-string")
        || flag("x-kubernetes-preserve-unknown-fields")
        || schema.get("oneOf").is_some()
        || schema.get("anyOf").is_some()
    {
        return Shape::Any;
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("array") => Shape::List(Box::new(match schema.get("items") {
            Some(items) => shape_of(items, defs, depth + 1),
            None => Shape::Any,
        })),
        Some("object") => match schema.get("additionalProperties") {
            Some(ap @ Value::Object(_)) => Shape::Map(Box::new(shape_of(ap, defs, depth + 1))),
            _ => Shape::Any,
        },
        Some("string" | "integer" | "number" | "boolean") => Shape::Scalar,
        _ => Shape::Any,
    }
}

fn named_shape(name: &str, defs: &Definitions, depth: usize) -> Shape {
    match defs.get(name) {
        Some(schema) if schema.get("properties").is_some() => Shape::Object(name.to_owned()),
        Some(schema) => shape_of(schema, defs, depth),
        None => Shape::Any,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openapi::schemas::canonical;
    use serde_json::json;

    fn obj(name: &str) -> Shape {
        Shape::Object(name.to_owned())
    }

    #[test]
    fn pod_fields() {
        let index = SchemaIndex::from_definitions(&canonical());
        let shape = |t: &str, f: &str| {
            index
                .field(t, f)
                .unwrap_or_else(|| panic!("{t}.{f} unknown"))
                .shape
        };
        let core = |t: &str| format!("io.k8s.api.core.v1.{t}");
        assert_eq!(shape(&core("Pod"), "spec"), obj(&core("PodSpec")));
        assert_eq!(
            shape(&core("Pod"), "metadata"),
            obj("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
        );
        assert_eq!(
            shape(&core("PodSpec"), "containers"),
            Shape::List(Box::new(obj(&core("Container"))))
        );
        assert_eq!(
            shape(&core("Container"), "env"),
            Shape::List(Box::new(obj(&core("EnvVar"))))
        );
        assert_eq!(shape(&core("EnvVar"), "value"), Shape::Scalar);
        assert_eq!(
            shape(&core("Container"), "command"),
            Shape::List(Box::new(Shape::Scalar))
        );
        assert_eq!(
            shape(&core("PodSpec"), "nodeSelector"),
            Shape::Map(Box::new(Shape::Scalar))
        );
        assert_eq!(
            shape(&core("ResourceRequirements"), "limits"),
            Shape::Map(Box::new(Shape::Any))
        );
        assert_eq!(
            shape(&core("ContainerPort"), "containerPort"),
            Shape::Scalar
        );
        assert_eq!(shape(&core("HTTPGetAction"), "port"), Shape::Any);
        assert_eq!(
            shape(
                "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
                "creationTimestamp"
            ),
            Shape::Scalar
        );
        assert_eq!(
            shape(
                "io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry",
                "fieldsV1"
            ),
            Shape::Any
        );
        assert_eq!(
            shape(&core("Secret"), "data"),
            Shape::Map(Box::new(Shape::Scalar))
        );
        assert_eq!(
            shape(&core("PodList"), "items"),
            Shape::List(Box::new(obj(&core("Pod"))))
        );
        assert_eq!(
            shape("io.k8s.api.settings.v1alpha1.PodPresetSpec", "env"),
            Shape::List(Box::new(obj(&core("EnvVar"))))
        );
        assert!(index.field(&core("Pod"), "bogus").is_none());
        assert!(index.field("io.k8s.api.core.v1.Bogus", "spec").is_none());
    }

    #[test]
    fn patch_facts() {
        let index = SchemaIndex::from_definitions(&canonical());
        let containers = index
            .field("io.k8s.api.core.v1.PodSpec", "containers")
            .unwrap();
        assert_eq!(containers.patch_strategies, ["merge"]);
        assert_eq!(containers.patch_merge_key.as_deref(), Some("name"));
        assert_eq!(containers.list_type.as_deref(), Some("map"));
        assert_eq!(containers.list_map_keys, ["name"]);
        let volumes = index
            .field("io.k8s.api.core.v1.PodSpec", "volumes")
            .unwrap();
        assert_eq!(volumes.patch_strategies, ["merge", "retainKeys"]);
        let ports = index
            .field("io.k8s.api.core.v1.Container", "ports")
            .unwrap();
        assert_eq!(ports.list_map_keys, ["containerPort", "protocol"]);
        let strategy = index
            .field("io.k8s.api.apps.v1.DeploymentSpec", "strategy")
            .unwrap();
        assert_eq!(strategy.patch_strategies, ["retainKeys"]);
        assert_eq!(strategy.shape, obj("io.k8s.api.apps.v1.DeploymentStrategy"));
        let finalizers = index
            .field(
                "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
                "finalizers",
            )
            .unwrap();
        assert_eq!(finalizers.patch_strategies, ["merge"]);
        assert_eq!(finalizers.list_type.as_deref(), Some("set"));
        let tolerations = index
            .field("io.k8s.api.core.v1.PodSpec", "tolerations")
            .unwrap();
        assert!(tolerations.patch_strategies.is_empty());
        assert_eq!(tolerations.list_type.as_deref(), Some("atomic"));
    }

    #[test]
    fn shapes_of_schema_forms() {
        let defs = canonical();
        let check = |schema: Value, want: Shape| assert_eq!(shape_of(&schema, &defs, 0), want);
        check(json!({"type": "string"}), Shape::Scalar);
        check(json!({"type": "object"}), Shape::Any);
        check(
            json!({"type": "object", "additionalProperties": {"type": "integer"}}),
            Shape::Map(Box::new(Shape::Scalar)),
        );
        check(
            json!({"allOf": [{"$ref": "#/components/schemas/io.k8s.api.core.v1.Probe"}], "description": "x"}),
            obj("io.k8s.api.core.v1.Probe"),
        );
        check(
            json!({"$ref": "#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString"}),
            Shape::Any,
        );
        check(
            json!({"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity"}),
            Shape::Any,
        );
        check(json!({"$ref": "#/components/schemas/Missing"}), Shape::Any);
        check(json!({"type": "array"}), Shape::List(Box::new(Shape::Any)));
        check(
            json!({"x-kubernetes-preserve-unknown-fields": true}),
            Shape::Any,
        );
    }
}
