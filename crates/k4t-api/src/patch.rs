//! JSON patch (RFC 6902), JSON merge patch (RFC 7386) and Kubernetes strategic merge patch.
//!
//! STUB: to be implemented (see the module's tests for the contract).

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
pub fn json_patch(doc: &Value, patch: &Value) -> Result<Value, PatchError> {
    let _ = (doc, patch);
    Err(PatchError::Malformed("json patch not implemented".into()))
}

/// Applies an RFC 7386 merge patch (`application/merge-patch+json`).
pub fn merge_patch(doc: &Value, patch: &Value) -> Result<Value, PatchError> {
    let _ = (doc, patch);
    Err(PatchError::Malformed("merge patch not implemented".into()))
}

/// Applies a strategic merge patch to `doc`, whose schema type is `type_name`
/// (e.g. `io.k8s.api.core.v1.Pod`).
pub fn strategic_merge_patch(
    doc: &Value,
    patch: &Value,
    type_name: &str,
    schema: &dyn SchemaLookup,
) -> Result<Value, PatchError> {
    let _ = (doc, patch, type_name, schema);
    Err(PatchError::Malformed(
        "strategic merge patch not implemented".into(),
    ))
}
