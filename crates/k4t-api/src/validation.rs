//! Validation of the served kinds, with Kubernetes' field paths and messages.
//!
//! STUB: to be implemented.

use serde_json::Value;

use crate::error::FieldError;
use crate::registry::ResourceDef;

/// Validation of a new object (already defaulted), metadata included.
pub fn validate_create(def: &ResourceDef, obj: &Value) -> Vec<FieldError> {
    let _ = (def, obj);
    Vec::new()
}

/// Validation of an update of the main resource (already defaulted), metadata included.
pub fn validate_update(def: &ResourceDef, new: &Value, old: &Value) -> Vec<FieldError> {
    let _ = (def, new, old);
    Vec::new()
}

/// Validation of an update through the `status` subresource.
pub fn validate_status_update(def: &ResourceDef, new: &Value, old: &Value) -> Vec<FieldError> {
    let _ = (def, new, old);
    Vec::new()
}
