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
    pub fn from_label_selector(
        sel: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
    ) -> Result<Self, String> {
        let _ = sel;
        Ok(Self {})
    }
}

impl std::fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("")
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
    /// The field names the selector uses.
    pub fn fields(&self) -> Vec<&str> {
        Vec::new()
    }
}
