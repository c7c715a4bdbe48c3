//! Label and field selectors: parsing the query-string forms and matching.
//!
//! STUB: to be implemented.

use std::collections::BTreeMap;

/// A parsed label selector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {}

impl LabelSelector {
    pub fn parse(s: &str) -> Result<Self, String> {
        let _ = s;
        Ok(Self {})
    }
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let _ = labels;
        true
    }
    pub fn is_empty(&self) -> bool {
        true
    }
}

/// A parsed field selector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {}

impl FieldSelector {
    pub fn parse(s: &str) -> Result<Self, String> {
        let _ = s;
        Ok(Self {})
    }
    /// `value_of` returns the object's value for a field name, or `None` for a field the
    /// resource does not support.
    pub fn matches(&self, value_of: &dyn Fn(&str) -> Option<String>) -> bool {
        let _ = value_of;
        true
    }
    pub fn is_empty(&self) -> bool {
        true
    }
}
