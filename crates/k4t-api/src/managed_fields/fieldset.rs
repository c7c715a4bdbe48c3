//! A set of field paths as a tree, and its FieldsV1 encoding.
//!
//! Each node is one path element, keyed the way FieldsV1 keys it (`f:name`, `k:{"name":"x"}`,
//! `v:"value"`); `member` says the path of the node itself is in the set. In FieldsV1 a member
//! node with children carries a `.` key, and a member leaf is `{}`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldSet {
    pub(crate) member: bool,
    pub(crate) children: BTreeMap<String, FieldSet>,
}

impl FieldSet {
    pub(crate) fn is_empty(&self) -> bool {
        !self.member && self.children.is_empty()
    }

    /// Removes every path that is a member of `other` (paths only, not whole subtrees);
    /// returns whether anything was removed.
    pub(crate) fn difference(&mut self, other: &FieldSet) -> bool {
        let mut changed = false;
        if other.member && self.member {
            self.member = false;
            changed = true;
        }
        for (key, theirs) in &other.children {
            if let Some(ours) = self.children.get_mut(key) {
                changed |= ours.difference(theirs);
                if ours.is_empty() {
                    self.children.remove(key);
                }
            }
        }
        changed
    }

    /// Adds every path of `other`.
    pub(crate) fn union(&mut self, other: &FieldSet) {
        self.member |= other.member;
        for (key, theirs) in &other.children {
            self.children.entry(key.clone()).or_default().union(theirs);
        }
    }

    /// Reads a FieldsV1 object; anything that is not an object is not a set.
    pub(crate) fn from_fields_v1(v: &Value) -> Option<FieldSet> {
        let Value::Object(map) = v else {
            return None;
        };
        let mut set = FieldSet::default();
        for (key, child) in map {
            if key == "." {
                set.member = true;
                continue;
            }
            let mut child = FieldSet::from_fields_v1(child)?;
            if child.children.is_empty() {
                // `{}` is a leaf: the path itself is in the set.
                child.member = true;
            }
            set.children.insert(key.clone(), child);
        }
        Some(set)
    }

    pub(crate) fn to_fields_v1(&self) -> Value {
        let mut map = Map::new();
        if self.member && !self.children.is_empty() {
            map.insert(".".into(), Value::Object(Map::new()));
        }
        for (key, child) in &self.children {
            map.insert(key.clone(), child.to_fields_v1());
        }
        Value::Object(map)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn set(v: Value) -> FieldSet {
        FieldSet::from_fields_v1(&v).unwrap()
    }

    #[test]
    fn round_trips_fields_v1() {
        let v = json!({
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}}}}
        });
        assert_eq!(set(v.clone()).to_fields_v1(), v);
        assert_eq!(FieldSet::from_fields_v1(&json!([])), None);
        assert_eq!(FieldSet::from_fields_v1(&json!({"f:a": 1})), None);
    }

    #[test]
    fn difference_removes_paths_not_subtrees() {
        let mut a = set(json!({"f:labels": {".": {}, "f:app": {}, "f:tier": {}}, "f:x": {}}));
        assert!(a.difference(&set(json!({"f:labels": {".": {}, "f:app": {}}}))));
        assert_eq!(a, set(json!({"f:labels": {"f:tier": {}}, "f:x": {}})));
        assert!(!a.difference(&set(json!({"f:other": {}}))));
        assert!(a.difference(&set(json!({"f:labels": {"f:tier": {}}, "f:x": {}}))));
        assert!(a.is_empty());
    }

    #[test]
    fn union_adds_paths() {
        let mut a = set(json!({"f:labels": {"f:app": {}}}));
        a.union(&set(
            json!({"f:labels": {".": {}, "f:tier": {}}, "f:x": {}}),
        ));
        assert_eq!(
            a,
            set(json!({"f:labels": {".": {}, "f:app": {}, "f:tier": {}}, "f:x": {}}))
        );
    }
}
