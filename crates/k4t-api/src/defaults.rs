//! Kubernetes' defaulting for the served kinds (what the API server fills in on create and
//! update).
//!
//! STUB: to be implemented.

use serde_json::Value;

use crate::registry::ResourceDef;

/// Fills in defaults, in place.
pub fn apply(def: &ResourceDef, obj: &mut Value) {
    let _ = (def, obj);
}
