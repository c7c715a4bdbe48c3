//! Strategic merge patch, with the semantics of apimachinery's `strategicpatch` as the
//! apiserver runs it (`StrategicMergeMapPatch`: parallel lists merged, unmatched nulls
//! ignored), driven by [`SchemaLookup`] instead of Go struct tags.
//!
//! Where Go copies a patch value verbatim into the result (a key the original lacks, a new list
//! element, an atomic list) and relies on decoding into a typed object to drop directives and
//! nulls, we merge the value into an empty one instead, so the result never carries directives.

use std::fmt;

use serde_json::{Map, Value};

use super::PatchError;
use crate::schema::{FieldInfo, SchemaLookup, Shape};

const PATCH_DIRECTIVE: &str = "$patch";
const RETAIN_KEYS_DIRECTIVE: &str = "$retainKeys";
const SET_ELEMENT_ORDER: &str = "$setElementOrder";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";

type JsonMap = Map<String, Value>;

pub(super) fn apply(
    doc: &Value,
    patch: &Value,
    type_name: &str,
    schema: &dyn SchemaLookup,
) -> Result<Value, PatchError> {
    let patch = match patch {
        Value::Object(p) => p,
        // Go decodes `null` into an empty map: nothing to do.
        Value::Null => return Ok(doc.clone()),
        other => {
            return Err(PatchError::Malformed(format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                super::go_json_kind(other)
            )));
        }
    };
    let Value::Object(original) = doc else {
        return Err(PatchError::Failed("invalid JSON document".into()));
    };
    let merger = Merger { schema };
    let ctx = Ctx::Type(type_name);
    let root = Path::Root;
    if let Some(directive) = patch.get(PATCH_DIRECTIVE) {
        return match directive.as_str() {
            Some("replace") => Ok(Value::Object(merger.fresh_object(patch, ctx, &root)?)),
            Some("delete") => Ok(Value::Object(JsonMap::new())),
            _ => Err(bad_patch_type(directive, patch)),
        };
    }
    let mut out = original.clone();
    merger.merge_object(&mut out, patch, ctx, &root)?;
    Ok(Value::Object(out))
}

/// What is known about the object being merged.
#[derive(Clone, Copy)]
enum Ctx<'a> {
    /// A struct of the named schema type.
    Type(&'a str),
    /// A map whose values all have this shape.
    Map(&'a Shape),
    /// Nothing: merged like a JSON merge patch, lists replaced.
    Unknown,
}

impl<'a> Ctx<'a> {
    fn of(shape: &'a Shape) -> Self {
        match shape {
            Shape::Object(name) => Self::Type(name),
            Shape::Map(inner) => Self::Map(inner),
            _ => Self::Unknown,
        }
    }
}

/// Where we are in the patched object, for error messages; built on the stack, rendered only
/// when an error needs it.
enum Path<'a> {
    Root,
    Field(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Root => f.write_str("<root>"),
            Self::Field(Self::Root, name) => f.write_str(name),
            Self::Field(parent, name) => write!(f, "{parent}.{name}"),
            Self::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

struct Merger<'s> {
    schema: &'s dyn SchemaLookup,
}

impl Merger<'_> {
    fn field_info(&self, ctx: Ctx<'_>, key: &str) -> Option<FieldInfo> {
        match ctx {
            Ctx::Type(name) => self.schema.field(name, key),
            Ctx::Map(shape) => Some(plain_field(shape)),
            Ctx::Unknown => None,
        }
    }

    /// Merges `patch` (which has no `$patch` directive of its own to act on) into `original`.
    fn merge_object(
        &self,
        original: &mut JsonMap,
        patch: &JsonMap,
        ctx: Ctx<'_>,
        path: &Path<'_>,
    ) -> Result<(), PatchError> {
        if let Some(retain) = patch.get(RETAIN_KEYS_DIRECTIVE) {
            retain_keys(original, patch, retain)?;
        }
        // `$setElementOrder` lists are handled first, together with the list they order.
        let mut ordered: Vec<&str> = Vec::new();
        for (key, value) in patch {
            if let Some(rest) = key.strip_prefix(SET_ELEMENT_ORDER) {
                let Some(field) = rest.strip_prefix('/') else {
                    return Err(PatchError::Malformed(
                        "invalid patch format of setElementOrder list".into(),
                    ));
                };
                self.set_element_order(original, patch, field, value, ctx, path)?;
                ordered.push(field);
            }
        }
        for (key, value) in patch {
            if key == PATCH_DIRECTIVE
                || key == RETAIN_KEYS_DIRECTIVE
                || key.starts_with(SET_ELEMENT_ORDER)
                || ordered.contains(&key.as_str())
            {
                continue;
            }
            if let Some(rest) = key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
                let Some(field) = rest.strip_prefix('/') else {
                    return Err(PatchError::Malformed(
                        "invalid patch format of primitive list".into(),
                    ));
                };
                delete_from_primitive_list(original, field, value)?;
                continue;
            }
            self.merge_field(original, key, value, ctx, path)?;
        }
        Ok(())
    }

    fn merge_field(
        &self,
        original: &mut JsonMap,
        key: &str,
        value: &Value,
        ctx: Ctx<'_>,
        path: &Path<'_>,
    ) -> Result<(), PatchError> {
        if value.is_null() {
            original.remove(key);
            return Ok(());
        }
        let info = self.field_info(ctx, key);
        let path = Path::Field(path, key);
        match original.get_mut(key) {
            Some(slot) => {
                if !self.merge_value(slot, value, info.as_ref(), &path)? || slot.is_null() {
                    original.remove(key);
                }
            }
            None => {
                let mut slot = Value::Null;
                if self.merge_value(&mut slot, value, info.as_ref(), &path)? && !slot.is_null() {
                    original.insert(key.to_owned(), slot);
                }
            }
        }
        Ok(())
    }

    /// Merges a non-null patch value into `slot` (null when the original has nothing there).
    /// Returns false when the value is to be deleted (`$patch: delete` on a map).
    fn merge_value(
        &self,
        slot: &mut Value,
        patch: &Value,
        info: Option<&FieldInfo>,
        path: &Path<'_>,
    ) -> Result<bool, PatchError> {
        let Some(info) = info else {
            return self.merge_unknown(slot, patch, path);
        };
        match &info.shape {
            Shape::Any => {
                *slot = patch.clone();
                Ok(true)
            }
            Shape::Scalar => {
                if patch.is_object() || patch.is_array() {
                    return Err(mismatch(path, "a scalar", patch));
                }
                *slot = patch.clone();
                Ok(true)
            }
            Shape::Object(name) => {
                let Value::Object(p) = patch else {
                    return Err(mismatch(path, "an object", patch));
                };
                let replace = has_strategy(info, "replace");
                self.merge_map_value(slot, p, Ctx::Type(name), replace, path)
            }
            Shape::Map(inner) => {
                let Value::Object(p) = patch else {
                    return Err(mismatch(path, "an object", patch));
                };
                let replace = has_strategy(info, "replace");
                self.merge_map_value(slot, p, Ctx::Map(inner), replace, path)
            }
            Shape::List(elem) => {
                let Value::Array(p) = patch else {
                    return Err(mismatch(path, "a list", patch));
                };
                let merged = if has_strategy(info, "merge") {
                    let original = match slot.take() {
                        Value::Array(items) => items,
                        _ => Vec::new(),
                    };
                    self.merge_list(original, p, elem, info.patch_merge_key.as_deref(), path)?
                } else {
                    self.fresh_list(p, Some(&plain_field(elem)), path)?
                };
                *slot = Value::Array(merged);
                Ok(true)
            }
        }
    }

    /// A field the schema does not know: JSON merge patch semantics.
    fn merge_unknown(
        &self,
        slot: &mut Value,
        patch: &Value,
        path: &Path<'_>,
    ) -> Result<bool, PatchError> {
        match patch {
            Value::Object(p) => self.merge_map_value(slot, p, Ctx::Unknown, false, path),
            Value::Array(items) => {
                *slot = Value::Array(self.fresh_list(items, None, path)?);
                Ok(true)
            }
            other => {
                *slot = other.clone();
                Ok(true)
            }
        }
    }

    fn merge_map_value(
        &self,
        slot: &mut Value,
        patch: &JsonMap,
        ctx: Ctx<'_>,
        replace: bool,
        path: &Path<'_>,
    ) -> Result<bool, PatchError> {
        if let Some(directive) = patch.get(PATCH_DIRECTIVE) {
            return match directive.as_str() {
                Some("replace") => {
                    *slot = Value::Object(self.fresh_object(patch, ctx, path)?);
                    Ok(true)
                }
                // Go leaves an empty map here, which a typed decode turns into an empty
                // struct; deleting the field is what the directive asks for.
                Some("delete") => Ok(false),
                _ => Err(bad_patch_type(directive, patch)),
            };
        }
        if !replace && let Value::Object(original) = slot {
            self.merge_object(original, patch, ctx, path)?;
            return Ok(true);
        }
        *slot = Value::Object(self.fresh_object(patch, ctx, path)?);
        Ok(true)
    }

    /// The patch map merged into nothing: directives applied, nulls dropped.
    fn fresh_object(
        &self,
        patch: &JsonMap,
        ctx: Ctx<'_>,
        path: &Path<'_>,
    ) -> Result<JsonMap, PatchError> {
        let mut out = JsonMap::new();
        self.merge_object(&mut out, patch, ctx, path)?;
        Ok(out)
    }

    /// A list that replaces the original whole (atomic lists, unknown fields): each element is
    /// cleaned of directives; elements deleted by `$patch: delete` are dropped.
    fn fresh_list(
        &self,
        items: &[Value],
        elem: Option<&FieldInfo>,
        path: &Path<'_>,
    ) -> Result<Vec<Value>, PatchError> {
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            if item.is_null() {
                out.push(Value::Null);
                continue;
            }
            let mut slot = Value::Null;
            if self.merge_value(&mut slot, item, elem, &Path::Index(path, i))? {
                out.push(slot);
            }
        }
        Ok(out)
    }

    /// Merges a list with the `merge` strategy: maps by merge key, primitives as a set.
    fn merge_list(
        &self,
        original: Vec<Value>,
        patch: &[Value],
        elem: &Shape,
        merge_key: Option<&str>,
        path: &Path<'_>,
    ) -> Result<Vec<Value>, PatchError> {
        if original.is_empty() && patch.is_empty() {
            return Ok(original);
        }
        if element_kind(&original, patch)? != Kind::Object {
            let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
            for v in original.iter().chain(patch) {
                if !merged.contains(v) {
                    merged.push(v.clone());
                }
            }
            let patch_ids: Vec<Option<&Value>> = patch.iter().map(Some).collect();
            let server_ids: Vec<Option<&Value>> = original.iter().map(Some).collect();
            return Ok(normalize_order(merged, &patch_ids, &server_ids, None));
        }
        let Some(key) = merge_key else {
            return Err(PatchError::Failed(
                "cannot merge lists without merge key for type struct".into(),
            ));
        };
        let ctx = Ctx::of(elem);
        let mut original = original;
        let mut plain: Vec<&JsonMap> = Vec::with_capacity(patch.len());
        let mut replace = false;
        for item in patch.iter().filter_map(Value::as_object) {
            let Some(directive) = item.get(PATCH_DIRECTIVE) else {
                plain.push(item);
                continue;
            };
            match directive.as_str() {
                Some("delete") => {
                    let Some(value) = item.get(key) else {
                        return Err(no_merge_key(item, key));
                    };
                    original.retain(|o| o.get(key) != Some(value));
                }
                Some("replace") => replace = true,
                Some("merge") => {
                    return Err(PatchError::Failed(
                        "merging lists cannot yet be specified in the patch".into(),
                    ));
                }
                _ => return Err(bad_patch_type(directive, item)),
            }
        }
        if replace {
            let mut out = Vec::with_capacity(plain.len());
            for (i, item) in plain.iter().enumerate() {
                out.push(Value::Object(self.fresh_object(
                    item,
                    ctx,
                    &Path::Index(path, i),
                )?));
            }
            return Ok(out);
        }
        let server_ids: Vec<Option<Value>> = original.iter().map(|o| o.get(key).cloned()).collect();
        for (i, item) in plain.iter().enumerate() {
            let Some(value) = item.get(key) else {
                return Err(no_merge_key(item, key));
            };
            let item_path = Path::Index(path, i);
            match original.iter_mut().find(|o| o.get(key) == Some(value)) {
                Some(Value::Object(existing)) => {
                    self.merge_object(existing, item, ctx, &item_path)?
                }
                _ => original.push(Value::Object(self.fresh_object(item, ctx, &item_path)?)),
            }
        }
        let patch_ids: Vec<Option<&Value>> = plain.iter().map(|m| m.get(key)).collect();
        let server_ids: Vec<Option<&Value>> = server_ids.iter().map(Option::as_ref).collect();
        Ok(normalize_order(
            original,
            &patch_ids,
            &server_ids,
            Some(key),
        ))
    }

    /// `$setElementOrder/<field>`: merges the field's patch list (if any) and puts the result
    /// in the given order; elements only the server has keep their place relative to the
    /// others as well as they can.
    fn set_element_order(
        &self,
        original: &mut JsonMap,
        patch: &JsonMap,
        field: &str,
        order: &Value,
        ctx: Ctx<'_>,
        path: &Path<'_>,
    ) -> Result<(), PatchError> {
        let Value::Array(order) = order else {
            return Err(PatchError::Malformed(
                "invalid patch format of setElementOrder list".into(),
            ));
        };
        let info = self.field_info(ctx, field);
        let (elem, merge, merge_key) = match &info {
            Some(
                info @ FieldInfo {
                    shape: Shape::List(elem),
                    ..
                },
            ) => (
                Some(elem.as_ref()),
                has_strategy(info, "merge"),
                info.patch_merge_key.as_deref(),
            ),
            _ => (None, false, None),
        };
        let patch_list = match patch.get(field) {
            None => None,
            Some(Value::Array(items)) => Some(items.as_slice()),
            Some(other) => return Err(bad_arg_type("[]interface {}", other)),
        };
        let original_list = match original.get_mut(field) {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => Some(std::mem::take(items)),
            Some(other) => return Err(bad_arg_type("[]interface {}", other)),
        };
        let has_maps = order
            .iter()
            .chain(patch_list.unwrap_or_default())
            .chain(original_list.iter().flatten())
            .any(Value::is_object);
        let key = merge_key.filter(|_| has_maps);
        validate_set_order(patch_list.unwrap_or_default(), order, key)?;
        if let Some(key) = key {
            for entry in order {
                let Value::Object(m) = entry else {
                    return Err(bad_arg_type("map[string]interface {}", entry));
                };
                if !m.contains_key(key) {
                    return Err(no_merge_key(m, key));
                }
            }
        }
        let ident = |v: &Value| -> Option<Value> {
            match key {
                Some(k) => v.get(k).cloned(),
                None => Some(v.clone()),
            }
        };
        let server_ids: Vec<Option<Value>> = original_list.iter().flatten().map(ident).collect();
        let field_path = Path::Field(path, field);
        let merged = match (original_list, patch_list, elem) {
            (None, None, _) => return Ok(()),
            (Some(list), None, _) => list,
            (list, Some(items), Some(elem)) if merge => self.merge_list(
                list.unwrap_or_default(),
                items,
                elem,
                merge_key,
                &field_path,
            )?,
            (_, Some(items), elem) => {
                let elem = elem.map(plain_field);
                self.fresh_list(items, elem.as_ref(), &field_path)?
            }
        };
        let order_ids: Vec<Option<&Value>> = order
            .iter()
            .map(|v| match key {
                Some(k) => v.get(k),
                None => Some(v),
            })
            .collect();
        let server_ids: Vec<Option<&Value>> = server_ids.iter().map(Option::as_ref).collect();
        let result = normalize_order(merged, &order_ids, &server_ids, key);
        original.insert(field.to_owned(), Value::Array(result));
        Ok(())
    }
}

/// A field description with no strategy: map values and list elements.
fn plain_field(shape: &Shape) -> FieldInfo {
    FieldInfo {
        shape: shape.clone(),
        patch_strategies: Vec::new(),
        patch_merge_key: None,
        list_type: None,
        list_map_keys: Vec::new(),
    }
}

fn has_strategy(info: &FieldInfo, strategy: &str) -> bool {
    info.patch_strategies.iter().any(|s| s == strategy)
}

/// `$retainKeys`: every non-null field of the patch must be listed, and fields of the original
/// that are not listed are dropped.
fn retain_keys(original: &mut JsonMap, patch: &JsonMap, retain: &Value) -> Result<(), PatchError> {
    let Value::Array(retain) = retain else {
        return Err(PatchError::Malformed(
            "invalid patch format of retainKeys".into(),
        ));
    };
    let listed = |key: &str| retain.iter().any(|r| r.as_str() == Some(key));
    for (key, value) in patch {
        if value.is_null()
            || key == RETAIN_KEYS_DIRECTIVE
            || key == PATCH_DIRECTIVE
            || key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            || key.starts_with(SET_ELEMENT_ORDER)
        {
            continue;
        }
        if !listed(key) {
            return Err(PatchError::Malformed(
                "invalid patch format of retainKeys".into(),
            ));
        }
    }
    original.retain(|key, _| listed(key));
    Ok(())
}

/// `$deleteFromPrimitiveList/<field>`: removes the listed values from the original list.
fn delete_from_primitive_list(
    original: &mut JsonMap,
    field: &str,
    value: &Value,
) -> Result<(), PatchError> {
    let Value::Array(remove) = value else {
        return Err(PatchError::Malformed(
            "invalid patch format of primitive list".into(),
        ));
    };
    if let Some(Value::Array(items)) = original.get_mut(field) {
        items.retain(|v| !remove.contains(v));
    }
    Ok(())
}

/// Checks that the patch list's elements appear in the `$setElementOrder` list, in the same
/// relative order (deleted elements and directive elements aside).
fn validate_set_order(
    patch: &[Value],
    order: &[Value],
    key: Option<&str>,
) -> Result<(), PatchError> {
    if patch.is_empty() || order.is_empty() {
        return Ok(());
    }
    let mut items: Vec<&Value> = Vec::with_capacity(patch.len());
    for item in patch {
        if key.is_some() {
            let Value::Object(m) = item else {
                return Err(bad_arg_type("map[string]interface {}", item));
            };
            if m.get(PATCH_DIRECTIVE).and_then(Value::as_str) == Some("delete") {
                continue;
            }
        }
        items.push(item);
    }
    let (mut pi, mut si) = (0, 0);
    while pi < items.len() && si < order.len() {
        if items[pi].get(PATCH_DIRECTIVE).is_some() {
            pi += 1;
            continue;
        }
        if merge_key_value_equal(items[pi], &order[si], key)? {
            pi += 1;
        }
        si += 1;
    }
    if pi < items.len() {
        return Err(PatchError::Failed(format!(
            "The order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER} list:\n{}\n",
            GoFmt::list(patch),
            GoFmt::list(order)
        )));
    }
    Ok(())
}

fn merge_key_value_equal(
    left: &Value,
    right: &Value,
    key: Option<&str>,
) -> Result<bool, PatchError> {
    let Some(key) = key else {
        return Ok(left == right);
    };
    let mut values = [left, right].into_iter().map(|v| {
        let Value::Object(m) = v else {
            return Err(bad_arg_type("map[string]interface {}", v));
        };
        m.get(key).ok_or_else(|| no_merge_key(m, key))
    });
    match (values.next(), values.next()) {
        (Some(l), Some(r)) => Ok(l? == r?),
        _ => Ok(false),
    }
}

/// Orders a merged list: the elements the patch (or `$setElementOrder`) names, in its order,
/// interleaved with the elements only the server has, in their original order. Where an
/// element of each kind competes for a place, the server-only one goes first only if both are
/// in the original list and it came first there; new elements therefore come before the
/// server-only elements that follow them.
fn normalize_order(
    merged: Vec<Value>,
    patch_ids: &[Option<&Value>],
    server_ids: &[Option<&Value>],
    key: Option<&str>,
) -> Vec<Value> {
    let find = |ids: &[Option<&Value>], id: Option<&Value>| {
        id.and_then(|id| ids.iter().position(|x| *x == Some(id)))
    };
    let len = merged.len();
    let mut from_patch = Vec::new();
    let mut server_only = Vec::new();
    for value in merged {
        let id = match key {
            Some(k) => value.get(k),
            None => Some(&value),
        };
        let server = find(server_ids, id);
        match find(patch_ids, id) {
            Some(p) => from_patch.push((server, p, value)),
            None => server_only.push((server, value)),
        }
    }
    from_patch.sort_by_key(|(_, p, _)| *p);
    server_only.sort_by_key(|(s, _)| s.unwrap_or(usize::MAX));
    let mut out = Vec::with_capacity(len);
    let mut left = server_only.into_iter().peekable();
    let mut right = from_patch.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some((Some(l), _)), Some((Some(r), _, _))) => l < r,
            (Some(_), Some(_)) => false,
        };
        let next = if take_left {
            left.next().map(|(_, v)| v)
        } else {
            right.next().map(|(_, _, v)| v)
        };
        out.extend(next);
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

impl Kind {
    fn of(v: &Value) -> Self {
        match v {
            Value::Object(_) => Self::Object,
            Value::Array(_) => Self::Array,
            Value::String(_) => Self::String,
            Value::Number(_) => Self::Number,
            Value::Bool(_) => Self::Bool,
            Value::Null => Self::Null,
        }
    }
}

/// The common kind of all elements of a merging list; lists of lists and mixed lists are
/// errors, as in Go.
fn element_kind(original: &[Value], patch: &[Value]) -> Result<Kind, PatchError> {
    let mut kind = None;
    for v in original.iter().chain(patch) {
        let k = Kind::of(v);
        if k == Kind::Array {
            return Err(PatchError::Failed(
                "lists of lists are not supported".into(),
            ));
        }
        match kind {
            None => kind = Some(k),
            Some(prev) if prev != k => {
                return Err(PatchError::Failed(format!(
                    "list element types are not identical: [{} {}]",
                    GoFmt::list(original),
                    GoFmt::list(patch)
                )));
            }
            Some(_) => {}
        }
    }
    Ok(kind.unwrap_or(Kind::Null))
}

fn mismatch(path: &Path<'_>, expected: &str, got: &Value) -> PatchError {
    let got = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    };
    PatchError::Failed(format!(
        "unable to apply patch at {path}: expected {expected}, got {got}"
    ))
}

fn bad_patch_type(directive: &Value, map: &JsonMap) -> PatchError {
    PatchError::Failed(format!(
        "unknown patch type: {} in map: {}",
        GoFmt(directive),
        GoFmt::map(map)
    ))
}

fn no_merge_key(map: &JsonMap, key: &str) -> PatchError {
    PatchError::Failed(format!(
        "map: {} does not contain declared merge key: {key}",
        GoFmt::map(map)
    ))
}

fn bad_arg_type(expected: &str, actual: &Value) -> PatchError {
    let actual = match actual {
        Value::Null => "%!s(<nil>)",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    };
    PatchError::Failed(format!("expected a {expected}, but received a {actual}"))
}

/// A JSON value printed the way Go's `%v` prints the decoded `interface{}`, because the
/// apimachinery messages users see embed values that way (`map[image:nginx name:web]`).
struct GoFmt<'a>(&'a Value);

impl GoFmt<'_> {
    fn list(items: &[Value]) -> String {
        let mut out = String::from("[");
        for (i, v) in items.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(&GoFmt(v).to_string());
        }
        out.push(']');
        out
    }

    fn map(map: &JsonMap) -> String {
        let mut keys: Vec<&String> = map.keys().collect();
        keys.sort();
        let mut out = String::from("map[");
        for (i, k) in keys.into_iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(k);
            out.push(':');
            if let Some(v) = map.get(k) {
                out.push_str(&GoFmt(v).to_string());
            }
        }
        out.push(']');
        out
    }
}

impl fmt::Display for GoFmt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Value::Null => f.write_str("<nil>"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{n}"),
            Value::String(s) => f.write_str(s),
            Value::Array(items) => f.write_str(&GoFmt::list(items)),
            Value::Object(map) => f.write_str(&GoFmt::map(map)),
        }
    }
}

#[cfg(test)]
mod tests;
