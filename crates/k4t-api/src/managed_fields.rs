//! `metadata.managedFields`: which manager set which fields, in the FieldsV1 format.
//!
//! STUB: to be implemented.

use serde_json::Value;

use crate::schema::SchemaLookup;

/// Who wrote, and how.
#[derive(Debug, Clone)]
pub struct Write<'a> {
    /// The field manager (`kubectl-client-side-apply`, `kubectl-edit`, …).
    pub manager: &'a str,
    /// `Update` or `Apply`.
    pub operation: &'a str,
    /// `v1`, `apps/v1`, …
    pub api_version: &'a str,
    /// RFC 3339 time of the write, seconds precision.
    pub time: &'a str,
    /// `status`, `scale`, … or `None` for the main resource.
    pub subresource: Option<&'a str>,
    /// Schema name of the object, e.g. `io.k8s.api.core.v1.Pod`.
    pub type_name: &'a str,
}

/// Updates `new["metadata"]["managedFields"]` for a write; `old` is the stored object before
/// the write (`None` on create).
pub fn update(old: Option<&Value>, new: &mut Value, write: &Write<'_>, schema: &dyn SchemaLookup) {
    let _ = (old, new, write, schema);
}
