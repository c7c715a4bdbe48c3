//! Table-driven tests of the validation of each kind: a valid fixture, then one mutation per
//! rule with the exact messages `kubectl` would print.

use serde_json::{Value, json};

use crate::error::FieldError;
use crate::registry::{ResourceDef, find_kind};

mod apps;
mod core;
mod fuzz;
mod misc;
mod pod;
mod service;

pub(super) fn def(group: &str, kind: &str) -> &'static ResourceDef {
    find_kind(group, kind).expect("kind is served")
}

/// The messages of an error list, without repeats (as the API server's Status message).
pub(super) fn messages(errs: &[FieldError]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in errs {
        let m = e.to_string();
        if !out.contains(&m) {
            out.push(m);
        }
    }
    out
}

/// Sets the value at a JSON pointer, creating objects on the way.
pub(super) fn set(v: &mut Value, pointer: &str, value: Value) {
    let mut cur = v;
    let parts: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|p| p.replace("~1", "/").replace("~0", "~"))
        .collect();
    for (i, p) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        cur = match cur {
            Value::Array(a) => {
                let idx: usize = p.parse().expect("array index");
                if idx == a.len() {
                    a.push(Value::Null);
                }
                &mut a[idx]
            }
            other => {
                if !other.is_object() {
                    *other = json!({});
                }
                other
                    .as_object_mut()
                    .expect("object")
                    .entry(p.clone())
                    .or_insert(Value::Null)
            }
        };
        if last {
            *cur = value;
            return;
        }
    }
}

/// Removes the value at a JSON pointer.
pub(super) fn del(v: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer");
    match v.pointer_mut(parent) {
        Some(Value::Object(o)) => {
            o.remove(key);
        }
        Some(Value::Array(a)) => {
            a.remove(key.parse::<usize>().expect("index"));
        }
        _ => {}
    }
}

/// A mutation of a fixture, and the messages it must produce.
pub(super) type Case = (&'static str, fn(&mut Value), &'static [&'static str]);

/// Defaults `obj` as the API server would, then validates it for creation.
pub(super) fn create_errors(def: &ResourceDef, obj: &Value) -> Vec<String> {
    let mut v = obj.clone();
    crate::defaults::apply(def, &mut v);
    messages(&super::validate_create(def, &v))
}

/// Runs create cases: each mutation of `base` must give exactly the expected messages.
pub(super) fn check_create(def: &ResourceDef, base: &Value, cases: &[Case]) {
    assert_eq!(
        create_errors(def, base),
        Vec::<String>::new(),
        "{}: valid fixture",
        def.kind
    );
    for (name, mutate, want) in cases {
        let mut v = base.clone();
        mutate(&mut v);
        let got = create_errors(def, &v);
        assert_eq!(got, *want, "{}: {name}", def.kind);
    }
}

/// Defaults both sides (the old one as created, then stored with a uid and resourceVersion),
/// then validates an
/// update of `old` by `mutate(old)`.
pub(super) fn update_errors(
    def: &ResourceDef,
    old: &Value,
    mutate: fn(&mut Value),
    status: bool,
) -> Vec<String> {
    let mut old = old.clone();
    crate::defaults::apply(def, &mut old);
    set(
        &mut old,
        "/metadata/uid",
        json!("6f6c3b36-0000-4000-8000-000000000001"),
    );
    set(&mut old, "/metadata/resourceVersion", json!("7"));
    set(
        &mut old,
        "/metadata/creationTimestamp",
        json!("2026-01-02T03:04:05Z"),
    );
    let mut new = old.clone();
    mutate(&mut new);
    crate::defaults::apply(def, &mut new);
    let errs = if status {
        super::validate_status_update(def, &new, &old)
    } else {
        super::validate_update(def, &new, &old)
    };
    messages(&errs)
}

/// Runs update cases against a stored `base`.
pub(super) fn check_update(def: &ResourceDef, base: &Value, cases: &[Case], status: bool) {
    for (name, mutate, want) in cases {
        let got = update_errors(def, base, *mutate, status);
        assert_eq!(got, *want, "{} update: {name}", def.kind);
    }
}
