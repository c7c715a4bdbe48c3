//! Server-side printing: the Table columns and cells kubectl shows for each kind.
//!
//! STUB: to be implemented.

use serde_json::Value;

use crate::registry::ResourceDef;

/// A Table column definition (`meta.k8s.io/v1` TableColumnDefinition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    /// `string`, `integer`, `number`, `boolean` or `date`.
    pub ty: &'static str,
    /// `name` for the name column, else empty.
    pub format: &'static str,
    pub description: &'static str,
    /// 0 always shown; 1 only with `-o wide`.
    pub priority: i32,
}

/// The columns of a kind.
pub fn columns(def: &ResourceDef) -> Vec<Column> {
    let _ = def;
    vec![Column {
        name: "Name",
        ty: "string",
        format: "name",
        description: "",
        priority: 0,
    }]
}

/// The cells of one object's row, in column order.
pub fn cells(def: &ResourceDef, obj: &Value, now: jiff::Timestamp) -> Vec<Value> {
    let _ = (def, now);
    vec![obj["metadata"]["name"].clone()]
}
