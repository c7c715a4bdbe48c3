//! `metadata.managedFields`: which manager set which fields, in the FieldsV1 format, kept the
//! way the apiserver keeps it for writes that are not server-side apply.
//!
//! A write compares the stored object with the new one (structured-merge-diff style): fields
//! it adds or changes move to the writer's entry, fields it removes leave every entry, and
//! entries left empty go. Lists are walked by their list-map keys (`k:{…}`) or as sets
//! (`v:…`) as the schema's list markers say; atomic lists, atomic structs and scalars are
//! leaves.
//!
//! The Go apiserver compares typed objects, in which non-pointer structs (`spec`, `template`,
//! `strategy`, …) always exist; a JSON object omits them. We treat those fields, known by
//! name, as present on both sides, so that they are never owned as a whole (no `.` under
//! `f:spec`), as in Kubernetes.

mod fieldset;

use std::collections::HashSet;
use std::sync::LazyLock;

use serde_json::{Map, Value};

use crate::schema::{FieldInfo, SchemaLookup, Shape};
use fieldset::FieldSet;

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
///
/// As in Kubernetes, managedFields sent with a write to the main resource replace the stored
/// ones (an entry without a manager, e.g. `[{}]`, clears them); an absent or empty list keeps
/// the stored ones. A write that changes no field leaves them as they were.
pub fn update(old: Option<&Value>, new: &mut Value, write: &Write<'_>, schema: &dyn SchemaLookup) {
    let Some(new_meta) = new.get("metadata").and_then(Value::as_object) else {
        return;
    };
    let sent = new_meta
        .get("managedFields")
        .and_then(Value::as_array)
        .filter(|list| write.subresource.is_none() && !list.is_empty());
    let stored = || {
        old.and_then(|o| o.pointer("/metadata/managedFields"))
            .and_then(Value::as_array)
    };
    let base: Vec<Value> = sent.or_else(stored).cloned().unwrap_or_default();

    let mut entries: Vec<Entry> = base.iter().filter_map(Entry::parse).collect();
    let mut dirty = entries.len() != base.len();

    let mut changed = FieldSet::default();
    let mut removed = FieldSet::default();
    let comparer = Comparer {
        schema,
        status_write: write.subresource == Some("status"),
    };
    comparer.compare_root(old, new, write.type_name, &mut changed, &mut removed);

    for entry in &mut entries {
        let lost = entry.fields.difference(&changed) | entry.fields.difference(&removed);
        entry.dirty |= lost;
    }
    if !changed.is_empty() {
        let subresource = write.subresource.map(str::to_owned);
        let existing = entries.iter_mut().find(|e| {
            e.manager == write.manager
                && e.operation == write.operation
                && e.subresource == subresource
        });
        match existing {
            Some(entry) => {
                entry.fields.union(&changed);
                entry.stamp(write);
            }
            None => {
                let mut entry = Entry {
                    manager: write.manager.to_owned(),
                    operation: write.operation.to_owned(),
                    subresource,
                    fields: changed,
                    raw: Map::new(),
                    dirty: true,
                };
                entry.stamp(write);
                entries.push(entry);
            }
        }
    }
    let before = entries.len();
    entries.retain(|e| !e.fields.is_empty());
    dirty |= entries.len() != before || entries.iter().any(|e| e.dirty);

    let list = if dirty {
        let mut list: Vec<Value> = entries.into_iter().map(Entry::encode).collect();
        list.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
        list
    } else {
        base
    };
    if let Some(Value::Object(meta)) = new.get_mut("metadata") {
        if list.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(list));
        }
    }
}

/// Kubernetes orders entries by operation, time, manager, apiVersion and subresource.
fn sort_key(entry: &Value) -> [&str; 5] {
    let get = |k: &str| entry.get(k).and_then(Value::as_str).unwrap_or("");
    [
        get("operation"),
        get("time"),
        get("manager"),
        get("apiVersion"),
        get("subresource"),
    ]
}

/// One managedFields entry; identity is (manager, operation, subresource).
struct Entry {
    manager: String,
    operation: String,
    subresource: Option<String>,
    fields: FieldSet,
    /// The entry as stored, kept verbatim unless its fields change.
    raw: Map<String, Value>,
    dirty: bool,
}

impl Entry {
    fn parse(v: &Value) -> Option<Entry> {
        let raw = v.as_object()?;
        let manager = raw.get("manager")?.as_str()?.to_owned();
        let operation = raw
            .get("operation")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let subresource = raw
            .get("subresource")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        let fields = match raw.get("fieldsV1") {
            Some(v) => FieldSet::from_fields_v1(v)?,
            None => FieldSet::default(),
        };
        Some(Entry {
            manager,
            operation,
            subresource,
            fields,
            raw: raw.clone(),
            dirty: false,
        })
    }

    /// Marks the entry as written now by `write`.
    fn stamp(&mut self, write: &Write<'_>) {
        self.raw
            .insert("apiVersion".into(), write.api_version.into());
        self.raw.insert("time".into(), write.time.into());
        self.dirty = true;
    }

    fn encode(self) -> Value {
        if !self.dirty {
            return Value::Object(self.raw);
        }
        let mut out = self.raw;
        out.insert("manager".into(), self.manager.into());
        out.insert("operation".into(), self.operation.into());
        out.insert("fieldsType".into(), "FieldsV1".into());
        out.insert("fieldsV1".into(), self.fields.to_fields_v1());
        match self.subresource {
            Some(s) => out.insert("subresource".into(), s.into()),
            None => out.remove("subresource"),
        };
        Value::Object(out)
    }
}

/// Metadata the apiserver fills in itself; nobody manages it.
const SYSTEM_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

/// Struct types marked `+structType=atomic` in the Kubernetes API: owned as a whole.
const ATOMIC_STRUCTS: &[&str] = &[
    "meta.v1.LabelSelector",
    "core.v1.LocalObjectReference",
    "core.v1.ObjectReference",
    "core.v1.TypedLocalObjectReference",
    "core.v1.TypedObjectReference",
    "core.v1.SecretReference",
    "core.v1.ConfigMapKeySelector",
    "core.v1.SecretKeySelector",
    "core.v1.ObjectFieldSelector",
    "core.v1.ResourceFieldSelector",
    "core.v1.NodeSelector",
    "CrossVersionObjectReference",
];

fn is_atomic_struct(type_name: &str) -> bool {
    ATOMIC_STRUCTS.iter().any(|s| type_name.ends_with(s))
}

/// The value a field has in Go's zero object when JSON omits it: non-pointer structs are
/// `{}` and `PodSpec.containers` is `null`, so neither is ever added or removed as a whole.
fn zero_value(parent: &str, field: &str, node: &Node<'_>) -> Option<&'static Value> {
    static EMPTY_OBJECT: LazyLock<Value> = LazyLock::new(|| Value::Object(Map::new()));
    static EMPTY_LIST: Value = Value::Array(Vec::new());
    match node {
        Node::Struct(_) => {
            let non_pointer = matches!(
                field,
                "metadata"
                    | "spec"
                    | "status"
                    | "template"
                    | "jobTemplate"
                    | "strategy"
                    | "updateStrategy"
            ) || (field == "resources" && !parent.ends_with(".PodSpec"));
            non_pointer.then(|| &*EMPTY_OBJECT)
        }
        Node::List(..) if field == "containers" && parent.ends_with(".PodSpec") => {
            Some(&EMPTY_LIST)
        }
        _ => None,
    }
}

/// How a value is walked.
enum Node<'a> {
    /// Compared whole.
    Leaf,
    /// A struct of the named type: `f:<field>` children.
    Struct(std::borrow::Cow<'a, str>),
    /// A map: `f:<key>` children of the given shape.
    Map(Shape),
    /// A list walked element by element.
    List(Shape, ListMode),
    /// No schema: objects are walked as maps of the same, anything else is a leaf.
    Deduced,
}

enum ListMode {
    Set,
    Keys(Vec<String>),
}

impl Node<'static> {
    fn of_field(info: &FieldInfo) -> Self {
        if let Shape::List(elem) = &info.shape {
            let mode = match info.list_type.as_deref() {
                Some("atomic") => return Node::Leaf,
                Some("set") => ListMode::Set,
                Some("map") if !info.list_map_keys.is_empty() => {
                    ListMode::Keys(info.list_map_keys.clone())
                }
                _ => match &info.patch_merge_key {
                    Some(key) => ListMode::Keys(vec![key.clone()]),
                    None if info.patch_strategies.iter().any(|s| s == "merge") => ListMode::Set,
                    None => return Node::Leaf,
                },
            };
            return Node::List((**elem).clone(), mode);
        }
        Self::of_shape(&info.shape)
    }

    /// A map value or list element: no list markers, so lists inside are atomic.
    fn of_shape(shape: &Shape) -> Self {
        match shape {
            Shape::Scalar | Shape::List(_) => Node::Leaf,
            Shape::Any => Node::Deduced,
            Shape::Object(name) if is_atomic_struct(name) => Node::Leaf,
            Shape::Object(name) => Node::Struct(name.clone().into()),
            Shape::Map(inner) => Node::Map((**inner).clone()),
        }
    }
}

/// Where a map being walked sits, for the fields nobody manages.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Root,
    RootMetadata,
    Inner,
}

struct Comparer<'s> {
    schema: &'s dyn SchemaLookup,
    status_write: bool,
}

impl Comparer<'_> {
    fn compare_root(
        &self,
        old: Option<&Value>,
        new: &Value,
        type_name: &str,
        changed: &mut FieldSet,
        removed: &mut FieldSet,
    ) {
        let empty = Map::new();
        let old = old.and_then(Value::as_object).unwrap_or(&empty);
        let Some(new) = new.as_object() else {
            return;
        };
        let node = Node::Struct(type_name.into());
        self.compare_maps(Some(old), Some(new), &node, Level::Root, changed, removed);
    }

    fn skipped(&self, level: Level, key: &str) -> bool {
        match level {
            Level::Root => {
                matches!(key, "apiVersion" | "kind")
                    || (key == "status" && !self.status_write)
                    || (key == "spec" && self.status_write)
            }
            Level::RootMetadata => SYSTEM_METADATA.contains(&key),
            Level::Inner => false,
        }
    }

    fn child_node(&self, node: &Node<'_>, key: &str) -> Node<'static> {
        match node {
            Node::Struct(name) => match self.schema.field(name, key) {
                Some(info) => Node::of_field(&info),
                None => Node::Deduced,
            },
            Node::Map(shape) => Node::of_shape(shape),
            _ => Node::Deduced,
        }
    }

    fn compare(
        &self,
        old: Option<&Value>,
        new: Option<&Value>,
        node: &Node<'_>,
        changed: &mut FieldSet,
        removed: &mut FieldSet,
    ) {
        let old = old.filter(|v| !v.is_null());
        let new = new.filter(|v| !v.is_null());
        match node {
            Node::Leaf => compare_leaf(old, new, changed, removed),
            Node::Struct(_) | Node::Map(_) | Node::Deduced => {
                match (old.map(Value::as_object), new.map(Value::as_object)) {
                    (Some(None), _) | (_, Some(None)) => compare_leaf(old, new, changed, removed),
                    (o, n) => self.compare_maps(
                        o.flatten(),
                        n.flatten(),
                        node,
                        Level::Inner,
                        changed,
                        removed,
                    ),
                }
            }
            Node::List(elem, mode) => match (old.map(Value::as_array), new.map(Value::as_array)) {
                (Some(None), _) | (_, Some(None)) => compare_leaf(old, new, changed, removed),
                (o, n) => self.compare_lists(
                    o.flatten().map(Vec::as_slice),
                    n.flatten().map(Vec::as_slice),
                    elem,
                    mode,
                    changed,
                    removed,
                ),
            },
        }
    }

    fn compare_maps(
        &self,
        old: Option<&Map<String, Value>>,
        new: Option<&Map<String, Value>>,
        node: &Node<'_>,
        level: Level,
        changed: &mut FieldSet,
        removed: &mut FieldSet,
    ) {
        let is_empty = |m: Option<&Map<String, Value>>| m.is_none_or(Map::is_empty);
        if is_empty(old) && is_empty(new) {
            // Empty and absent stay distinct: an empty map is a leaf.
            let wrap = |m: Option<&Map<String, Value>>| m.map(|_| Value::Object(Map::new()));
            compare_leaf(wrap(old).as_ref(), wrap(new).as_ref(), changed, removed);
            return;
        }
        let parent = match node {
            Node::Struct(name) => name.as_ref(),
            _ => "",
        };
        let keys = old
            .into_iter()
            .flat_map(Map::keys)
            .chain(new.into_iter().flat_map(|n| {
                n.keys()
                    .filter(move |k| old.is_none_or(|o| !o.contains_key(*k)))
            }));
        for key in keys {
            if self.skipped(level, key) {
                continue;
            }
            let (o, n) = (old.and_then(|m| m.get(key)), new.and_then(|m| m.get(key)));
            if o.is_some() && o == n {
                // Equal values add, change and remove nothing.
                continue;
            }
            let child = self.child_node(node, key);
            let zero = zero_value(parent, key, &child);
            // Inside a map that is itself new or gone, nothing is there on that side.
            let o = old.and(present(o).or(zero));
            let n = new.and(present(n).or(zero));
            let child_level = if level == Level::Root && key == "metadata" {
                Level::RootMetadata
            } else {
                Level::Inner
            };
            let path = format!("f:{key}");
            let mut ch = changed.children.remove(&path).unwrap_or_default();
            let mut rm = removed.children.remove(&path).unwrap_or_default();
            if child_level == Level::RootMetadata {
                // Walked here rather than in `compare` so the system fields can be skipped.
                self.compare_maps(
                    o.and_then(Value::as_object),
                    n.and_then(Value::as_object),
                    &child,
                    child_level,
                    &mut ch,
                    &mut rm,
                );
                ch.member = false;
                rm.member = false;
            } else {
                self.compare(o, n, &child, &mut ch, &mut rm);
            }
            if !ch.is_empty() {
                changed.children.insert(path.clone(), ch);
            }
            if !rm.is_empty() {
                removed.children.insert(path, rm);
            }
        }
        mark_container(old.is_some(), new.is_some(), changed, removed);
    }

    fn compare_lists(
        &self,
        old: Option<&[Value]>,
        new: Option<&[Value]>,
        elem: &Shape,
        mode: &ListMode,
        changed: &mut FieldSet,
        removed: &mut FieldSet,
    ) {
        if old.is_none_or(<[Value]>::is_empty) && new.is_none_or(<[Value]>::is_empty) {
            let wrap = |l: Option<&[Value]>| l.map(|_| Value::Array(Vec::new()));
            compare_leaf(wrap(old).as_ref(), wrap(new).as_ref(), changed, removed);
            return;
        }
        let elem_node = match mode {
            ListMode::Set => Node::Leaf,
            ListMode::Keys(_) => Node::of_shape(elem),
        };
        let old_items = index_items(old.unwrap_or_default(), mode);
        let new_items = index_items(new.unwrap_or_default(), mode);
        let keys = old_items.iter().map(|(k, _)| k).chain(
            new_items
                .iter()
                .map(|(k, _)| k)
                .filter(|k| find_item(&old_items, k).is_none()),
        );
        for key in keys {
            let o = find_item(&old_items, key);
            let n = find_item(&new_items, key);
            if o.is_some() && o == n {
                continue;
            }
            let mut ch = changed.children.remove(key).unwrap_or_default();
            let mut rm = removed.children.remove(key).unwrap_or_default();
            self.compare(o, n, &elem_node, &mut ch, &mut rm);
            if !ch.is_empty() {
                changed.children.insert(key.clone(), ch);
            }
            if !rm.is_empty() {
                removed.children.insert(key.clone(), rm);
            }
        }
        mark_container(old.is_some(), new.is_some(), changed, removed);
    }
}

/// Nulls are absent values.
fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

fn find_item<'v>(items: &[(String, &'v Value)], key: &str) -> Option<&'v Value> {
    items.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
}

/// A map or list that appears or disappears is itself added or removed.
fn mark_container(had: bool, has: bool, changed: &mut FieldSet, removed: &mut FieldSet) {
    if !had && has {
        changed.member = true;
    }
    if had && !has {
        removed.member = true;
    }
}

fn compare_leaf(
    old: Option<&Value>,
    new: Option<&Value>,
    changed: &mut FieldSet,
    removed: &mut FieldSet,
) {
    match (old, new) {
        (None, Some(_)) => changed.member = true,
        (Some(_), None) => removed.member = true,
        (Some(a), Some(b)) if a != b => changed.member = true,
        _ => {}
    }
}

/// The path element of each list item (`k:{…}` by key fields, `v:…` for sets and for items
/// that are not objects), first occurrence only.
fn index_items<'v>(items: &'v [Value], mode: &ListMode) -> Vec<(String, &'v Value)> {
    let mut seen = HashSet::with_capacity(items.len());
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let key = match (mode, item) {
            (ListMode::Keys(keys), Value::Object(fields)) => {
                let mut sorted: Vec<&String> = keys.iter().collect();
                sorted.sort();
                let mut key = Map::new();
                for k in sorted {
                    if let Some(v) = fields.get(k) {
                        key.insert(k.clone(), v.clone());
                    }
                }
                format!("k:{}", Value::Object(key))
            }
            _ => format!("v:{item}"),
        };
        if seen.insert(key.clone()) {
            out.push((key, item));
        }
    }
    out
}

#[cfg(test)]
mod tests;
