//! What the patch and managed-fields code needs to know about the shape of each served type:
//! for a field of a named schema type, whether it is an object, map, list or scalar, and its
//! strategic-merge-patch strategy and merge key (from `../shared/data/strategic-merge-keys.tsv`,
//! embedded at build time) and its server-side-apply list markers.
//!
//! Type names are OpenAPI schema names, e.g. `io.k8s.api.core.v1.PodSpec`.

/// The shape of a field's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// An object of the named schema type.
    Object(String),
    /// A map from strings to values of the inner shape (`additionalProperties`).
    Map(Box<Shape>),
    /// A list of values of the inner shape.
    List(Box<Shape>),
    /// A string, number or boolean.
    Scalar,
    /// Free-form or int-or-string: merged as a whole.
    Any,
}

/// Everything known about one field of one type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldInfo {
    pub shape: Shape,
    /// `x-kubernetes-patch-strategy`, split on commas: `merge`, `retainKeys`, `replace`.
    pub patch_strategies: Vec<String>,
    /// `x-kubernetes-patch-merge-key`.
    pub patch_merge_key: Option<String>,
    /// `x-kubernetes-list-type`: `atomic`, `set` or `map`.
    pub list_type: Option<String>,
    /// `x-kubernetes-list-map-keys`.
    pub list_map_keys: Vec<String>,
}

/// Looks up fields by type name and JSON field name.
pub trait SchemaLookup {
    fn field(&self, type_name: &str, field: &str) -> Option<FieldInfo>;
}
