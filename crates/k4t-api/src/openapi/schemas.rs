//! The schemas of every served kind, generated from k8s-openapi's `schemars` impls and reshaped
//! into what the Kubernetes apiserver publishes.
//!
//! The canonical form kept here uses v3 references (`#/components/schemas/<name>`) and allows
//! keywords beside `$ref`, the way k8s-openapi writes them; [`v3_form`] and [`v2_form`] turn it
//! into each document's dialect.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::{apps, autoscaling, coordination, core, discovery, events};
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use super::facts;
use crate::registry::{RESOURCES, ResourceDef};

/// Schema name → schema.
pub type Definitions = BTreeMap<String, Value>;

pub const REF_PREFIX_V3: &str = "#/components/schemas/";
pub const REF_PREFIX_V2: &str = "#/definitions/";

pub const INT_OR_STRING: &str = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
pub const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";
pub const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
pub const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
pub const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
pub const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
pub const WATCH_EVENT: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent";
pub const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
pub const API_RESOURCE_LIST: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList";
pub const SCALE: &str = "io.k8s.api.autoscaling.v1.Scale";
pub const BINDING: &str = "io.k8s.api.core.v1.Binding";

/// The schema name of a resource's list kind.
pub fn list_schema_name(def: &ResourceDef) -> String {
    format!("{}List", def.schema)
}

/// The group-versions that carry the shared meta kinds (Status, DeleteOptions, WatchEvent):
/// the core group and every served group, plus autoscaling/v1 whose Scale is served.
pub fn meta_group_versions() -> Vec<(&'static str, &'static str)> {
    let mut gvs: BTreeSet<(&'static str, &'static str)> =
        RESOURCES.iter().map(|r| (r.group, r.version)).collect();
    gvs.insert(("", "v1"));
    gvs.insert(("autoscaling", "v1"));
    gvs.into_iter().collect()
}

/// Runs schemars over every type the documents reference.
fn generate() -> Definitions {
    let mut g = SchemaSettings::openapi3()
        .with(|s| {
            // The transforms reshape for OpenAPI 3 in ways Kubernetes does not (nullable,
            // `allOf` wrapping everywhere); ours run afterwards, per dialect.
            s.transforms.clear();
            s.meta_schema = None;
        })
        .into_generator();
    let roots: &[fn(&mut SchemaGenerator) -> schemars::Schema] = &[
        SchemaGenerator::subschema_for::<core::v1::ConfigMap>,
        SchemaGenerator::subschema_for::<core::v1::Endpoints>,
        SchemaGenerator::subschema_for::<core::v1::Event>,
        SchemaGenerator::subschema_for::<core::v1::Namespace>,
        SchemaGenerator::subschema_for::<core::v1::Node>,
        SchemaGenerator::subschema_for::<core::v1::Pod>,
        SchemaGenerator::subschema_for::<core::v1::Secret>,
        SchemaGenerator::subschema_for::<core::v1::ServiceAccount>,
        SchemaGenerator::subschema_for::<core::v1::Service>,
        SchemaGenerator::subschema_for::<core::v1::Binding>,
        SchemaGenerator::subschema_for::<apps::v1::Deployment>,
        SchemaGenerator::subschema_for::<apps::v1::ReplicaSet>,
        SchemaGenerator::subschema_for::<coordination::v1::Lease>,
        SchemaGenerator::subschema_for::<discovery::v1::EndpointSlice>,
        SchemaGenerator::subschema_for::<events::v1::Event>,
        SchemaGenerator::subschema_for::<crate::podpreset::PodPreset>,
        SchemaGenerator::subschema_for::<autoscaling::v1::Scale>,
        SchemaGenerator::subschema_for::<meta::Status>,
        SchemaGenerator::subschema_for::<meta::DeleteOptions>,
        SchemaGenerator::subschema_for::<meta::WatchEvent<core::v1::Pod>>,
        SchemaGenerator::subschema_for::<meta::Patch>,
        SchemaGenerator::subschema_for::<meta::APIResourceList>,
        SchemaGenerator::subschema_for::<meta::ListMeta>,
    ];
    for root in roots {
        root(&mut g);
    }
    g.take_definitions(false).into_iter().collect()
}

/// The canonical definitions: generated, then given Kubernetes' extensions and list kinds.
pub fn canonical() -> Definitions {
    let mut defs = generate();
    for schema in defs.values_mut() {
        drop_null_types(schema);
        drop_required_metadata(schema);
    }
    add_list_kinds(&mut defs);
    add_group_version_kinds(&mut defs);
    add_field_facts(&mut defs, &facts::all());
    defs
}

/// Schemas derived by schemars spell `Option<T>` as `type: [T, "null"]` or
/// `anyOf: [T, {type: null}]`; Kubernetes just omits the field.
fn drop_null_types(v: &mut Value) {
    match v {
        Value::Object(obj) => {
            if let Some(Value::Array(types)) = obj.get_mut("type") {
                types.retain(|t| t != "null");
                if let [single] = types.as_slice() {
                    let single = single.clone();
                    obj.insert("type".into(), single);
                }
            }
            let any_of = match obj.get_mut("anyOf") {
                Some(Value::Array(branches)) => {
                    branches.retain(|b| b != &json!({"type": "null"}));
                    match branches.as_slice() {
                        [Value::Object(single)] => Some(single.clone()),
                        _ => None,
                    }
                }
                _ => None,
            };
            if let Some(single) = any_of {
                obj.remove("anyOf");
                for (k, val) in single {
                    obj.entry(k).or_insert(val);
                }
            }
            if obj.get("default") == Some(&Value::Null) {
                obj.remove("default");
            }
            obj.values_mut().for_each(drop_null_types);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null_types),
        _ => {}
    }
}

/// k8s-openapi marks `metadata` required on every kind because its Rust field is not optional;
/// Kubernetes' published schemas never require it.
fn drop_required_metadata(schema: &mut Value) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    let meta_ref = obj
        .get("properties")
        .and_then(|p| p.get("metadata"))
        .and_then(ref_target)
        .is_some_and(|t| t == OBJECT_META || t == LIST_META);
    if !meta_ref {
        return;
    }
    if let Some(Value::Array(required)) = obj.get_mut("required") {
        required.retain(|r| r != "metadata");
        if required.is_empty() {
            obj.remove("required");
        }
    }
}

fn type_meta_property(which: &str) -> Value {
    // The same texts every kind's apiVersion / kind carry in k8s-openapi.
    match which {
        "apiVersion" => json!({
            "description": "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
            "type": "string",
        }),
        _ => json!({
            "description": "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
            "type": "string",
        }),
    }
}

/// k8s-openapi 0.29 models lists as `List<T>` without a schema, so the `<Kind>List` schemas are
/// written here.
fn add_list_kinds(defs: &mut Definitions) {
    for def in RESOURCES {
        let kind = def.kind;
        let list = json!({
            "description": format!("{kind}List is a list of {kind} objects."),
            "type": "object",
            "properties": {
                "apiVersion": type_meta_property("apiVersion"),
                "kind": type_meta_property("kind"),
                "items": {
                    "description": format!("items is the list of {kind} objects."),
                    "type": "array",
                    "items": {"$ref": format!("{REF_PREFIX_V3}{}", def.schema)},
                },
                "metadata": {
                    "$ref": format!("{REF_PREFIX_V3}{LIST_META}"),
                    "description": "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
                },
            },
            "required": ["items"],
        });
        defs.insert(list_schema_name(def), list);
    }
}

fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "kind": kind, "version": version})
}

fn add_group_version_kinds(defs: &mut Definitions) {
    let mut gvks: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for def in RESOURCES {
        gvks.entry(def.schema.to_owned())
            .or_default()
            .push(gvk(def.group, def.version, def.kind));
        gvks.entry(list_schema_name(def)).or_default().push(gvk(
            def.group,
            def.version,
            &def.list_kind(),
        ));
    }
    for (name, kind) in [
        (STATUS, "Status"),
        (DELETE_OPTIONS, "DeleteOptions"),
        (WATCH_EVENT, "WatchEvent"),
    ] {
        gvks.insert(
            name.to_owned(),
            meta_group_versions()
                .into_iter()
                .map(|(g, v)| gvk(g, v, kind))
                .collect(),
        );
    }
    gvks.insert(SCALE.to_owned(), vec![gvk("autoscaling", "v1", "Scale")]);
    gvks.insert(BINDING.to_owned(), vec![gvk("", "v1", "Binding")]);
    gvks.insert(
        API_RESOURCE_LIST.to_owned(),
        vec![gvk("", "v1", "APIResourceList")],
    );
    for (name, list) in gvks {
        if let Some(Value::Object(obj)) = defs.get_mut(&name) {
            obj.insert("x-kubernetes-group-version-kind".into(), Value::Array(list));
        }
    }
}

/// Puts the tsv facts on the fields they describe. Facts about types or fields the documents do
/// not contain are skipped.
fn add_field_facts(defs: &mut Definitions, facts: &[facts::FieldFact]) {
    for fact in facts {
        let Some(prop) = defs
            .get_mut(&fact.schema)
            .and_then(|s| s.get_mut("properties"))
            .and_then(|p| p.get_mut(&fact.field))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        if let Some(s) = &fact.patch_strategy {
            prop.insert("x-kubernetes-patch-strategy".into(), json!(s));
        }
        if let Some(k) = &fact.patch_merge_key {
            prop.insert("x-kubernetes-patch-merge-key".into(), json!(k));
        }
        if let Some(t) = &fact.list_type {
            prop.insert("x-kubernetes-list-type".into(), json!(t));
        }
        if !fact.list_map_keys.is_empty() {
            prop.insert(
                "x-kubernetes-list-map-keys".into(),
                json!(fact.list_map_keys),
            );
        }
    }
}

/// The schema a `$ref` (direct, or wrapped in a one-element `allOf`) points at, by name.
pub fn ref_target(schema: &Value) -> Option<&str> {
    let direct = schema.get("$ref").and_then(Value::as_str);
    let wrapped = || match schema.get("allOf").and_then(Value::as_array)?.as_slice() {
        [only] => only.get("$ref").and_then(Value::as_str),
        _ => None,
    };
    let r = direct.or_else(wrapped)?;
    r.strip_prefix(REF_PREFIX_V3)
        .or_else(|| r.strip_prefix(REF_PREFIX_V2))
}

/// Every `$ref` target named anywhere inside `v`.
pub fn refs_in(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(obj) => {
            if let Some(Value::String(r)) = obj.get("$ref") {
                let name = r
                    .strip_prefix(REF_PREFIX_V3)
                    .or_else(|| r.strip_prefix(REF_PREFIX_V2))
                    .unwrap_or(r);
                out.insert(name.to_owned());
            }
            obj.values().for_each(|v| refs_in(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs_in(v, out)),
        _ => {}
    }
}

/// `roots` and every schema they reach through references.
pub fn closure<'a>(
    defs: &Definitions,
    roots: impl IntoIterator<Item = &'a str>,
) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = roots.into_iter().map(str::to_owned).collect();
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(schema) = defs.get(&name) {
            let mut refs = BTreeSet::new();
            refs_in(schema, &mut refs);
            todo.extend(refs.into_iter().filter(|r| !seen.contains(r)));
        }
    }
    seen
}

/// Kubernetes' OpenAPI v3 cannot put keywords beside `$ref`, so such a schema holds the
/// reference in a one-element `allOf`.
fn wrap_ref_siblings(v: &mut Value) {
    match v {
        Value::Object(obj) => {
            obj.values_mut().for_each(wrap_ref_siblings);
            if obj.len() > 1
                && let Some(r) = obj.remove("$ref")
            {
                obj.insert("allOf".into(), json!([{"$ref": r}]));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(wrap_ref_siblings),
        _ => {}
    }
}

fn rewrite_refs(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::Object(obj) => {
            if let Some(Value::String(r)) = obj.get_mut("$ref")
                && let Some(name) = r.strip_prefix(from)
            {
                *r = format!("{to}{name}");
            }
            obj.values_mut().for_each(|v| rewrite_refs(v, from, to));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_refs(v, from, to)),
        _ => {}
    }
}

fn description_only(schema: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(d) = schema.get("description") {
        out.insert("description".into(), d.clone());
    }
    out
}

/// The named schemas in OpenAPI v3 form.
pub fn v3_form(defs: &Definitions, names: &BTreeSet<String>) -> Map<String, Value> {
    let mut out = Map::new();
    for name in names {
        let Some(schema) = defs.get(name) else {
            continue;
        };
        let schema = match name.as_str() {
            INT_OR_STRING => {
                let mut s = description_only(schema);
                s.insert("format".into(), json!("int-or-string"));
                s.insert(
                    "oneOf".into(),
                    json!([{"type": "integer"}, {"type": "string"}]),
                );
                Value::Object(s)
            }
            QUANTITY => {
                let mut s = description_only(schema);
                s.insert(
                    "oneOf".into(),
                    json!([{"type": "string"}, {"type": "number"}]),
                );
                Value::Object(s)
            }
            _ => {
                let mut s = schema.clone();
                wrap_ref_siblings(&mut s);
                s
            }
        };
        out.insert(name.clone(), schema);
    }
    out
}

/// The named schemas in Swagger 2.0 form.
pub fn v2_form(defs: &Definitions, names: &BTreeSet<String>) -> Map<String, Value> {
    let mut out = Map::new();
    for name in names {
        let Some(schema) = defs.get(name) else {
            continue;
        };
        let schema = match name.as_str() {
            INT_OR_STRING => {
                let mut s = description_only(schema);
                s.insert("format".into(), json!("int-or-string"));
                s.insert("type".into(), json!("string"));
                Value::Object(s)
            }
            QUANTITY => {
                let mut s = description_only(schema);
                s.insert("type".into(), json!("string"));
                Value::Object(s)
            }
            _ => {
                let mut s = schema.clone();
                rewrite_refs(&mut s, REF_PREFIX_V3, REF_PREFIX_V2);
                s
            }
        };
        out.insert(name.clone(), schema);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prop<'a>(defs: &'a Definitions, schema: &str, field: &str) -> &'a Value {
        defs.get(schema)
            .and_then(|s| s.get("properties"))
            .and_then(|p| p.get(field))
            .unwrap_or_else(|| panic!("{schema}.{field} missing"))
    }

    #[test]
    fn covers_every_served_kind_and_list() {
        let defs = canonical();
        for def in RESOURCES {
            for name in [def.schema.to_owned(), list_schema_name(def)] {
                let gvks = defs
                    .get(&name)
                    .and_then(|s| s.get("x-kubernetes-group-version-kind"))
                    .unwrap_or_else(|| panic!("{name} has no gvk"));
                assert_eq!(gvks[0]["group"], def.group, "{name}");
                assert_eq!(gvks[0]["version"], def.version, "{name}");
            }
        }
        let status = &defs[STATUS]["x-kubernetes-group-version-kind"];
        assert!(status.as_array().unwrap().contains(&json!({
            "group": "apps", "kind": "Status", "version": "v1"
        })));
        assert_eq!(
            defs[SCALE]["x-kubernetes-group-version-kind"],
            json!([{"group": "autoscaling", "kind": "Scale", "version": "v1"}])
        );
    }

    #[test]
    fn every_reference_resolves() {
        let defs = canonical();
        let mut refs = BTreeSet::new();
        for schema in defs.values() {
            refs_in(schema, &mut refs);
        }
        for r in refs {
            assert!(defs.contains_key(&r), "{r} is referenced but missing");
        }
    }

    #[test]
    fn metadata_is_not_required() {
        let defs = canonical();
        for name in ["io.k8s.api.core.v1.Pod", "io.k8s.api.apps.v1.Deployment"] {
            assert!(defs[name].get("required").is_none(), "{name}");
        }
        assert_eq!(
            defs["io.k8s.api.core.v1.PodList"]["required"],
            json!(["items"])
        );
    }

    #[test]
    fn tsv_facts_land_on_fields() {
        let defs = canonical();
        let check = |schema: &str, field: &str, want: Value| {
            let p = prop(&defs, schema, field);
            for (k, v) in want.as_object().unwrap() {
                assert_eq!(p.get(k), Some(v), "{schema}.{field} {k}");
            }
        };
        check(
            "io.k8s.api.core.v1.PodSpec",
            "containers",
            json!({
                "x-kubernetes-patch-strategy": "merge",
                "x-kubernetes-patch-merge-key": "name",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
            }),
        );
        check(
            "io.k8s.api.core.v1.Container",
            "ports",
            json!({
                "x-kubernetes-patch-merge-key": "containerPort",
                "x-kubernetes-list-map-keys": ["containerPort", "protocol"],
            }),
        );
        check(
            OBJECT_META,
            "finalizers",
            json!({"x-kubernetes-patch-strategy": "merge", "x-kubernetes-list-type": "set"}),
        );
        check(
            "io.k8s.api.apps.v1.DeploymentSpec",
            "strategy",
            json!({"x-kubernetes-patch-strategy": "retainKeys"}),
        );
        check(
            "io.k8s.api.core.v1.PodSpec",
            "volumes",
            json!({"x-kubernetes-patch-strategy": "merge,retainKeys"}),
        );
        check(
            "io.k8s.api.core.v1.EphemeralContainer",
            "env",
            json!({"x-kubernetes-patch-merge-key": "name"}),
        );
        assert!(
            prop(&defs, "io.k8s.api.core.v1.PodSpec", "nodeName")
                .get("x-kubernetes-patch-strategy")
                .is_none()
        );
    }

    #[test]
    fn derived_schemas_lose_null_types() {
        let defs = canonical();
        let spec = &defs["io.k8s.api.settings.v1alpha1.PodPresetSpec"]["properties"];
        assert_eq!(spec["env"]["type"], "array");
        assert_eq!(
            spec["selector"]["$ref"],
            "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"
        );
        assert!(spec["selector"].get("anyOf").is_none());
    }

    #[test]
    fn dialects() {
        let defs = canonical();
        let names: BTreeSet<String> =
            ["io.k8s.api.apps.v1.DeploymentSpec", INT_OR_STRING, QUANTITY]
                .map(str::to_owned)
                .into();
        let v3 = v3_form(&defs, &names);
        let strategy = &v3["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["strategy"];
        assert_eq!(
            strategy["allOf"],
            json!([{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy"}])
        );
        assert!(strategy.get("$ref").is_none());
        assert_eq!(strategy["x-kubernetes-patch-strategy"], "retainKeys");
        assert_eq!(v3[INT_OR_STRING]["format"], "int-or-string");
        assert_eq!(v3[QUANTITY]["oneOf"][1]["type"], "number");

        let v2 = v2_form(&defs, &names);
        let strategy = &v2["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["strategy"];
        assert_eq!(
            strategy["$ref"],
            "#/definitions/io.k8s.api.apps.v1.DeploymentStrategy"
        );
        assert_eq!(v2[INT_OR_STRING]["type"], "string");
        assert_eq!(v2[QUANTITY]["type"], "string");
    }
}
