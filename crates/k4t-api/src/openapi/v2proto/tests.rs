use std::collections::BTreeSet;

use prost::Message as _;
use serde_json::json;

use super::*;
use crate::openapi::global;
use crate::openapi::schemas::REF_PREFIX_V2;
use crate::registry::RESOURCES;

// Back to JSON from the decoded messages, to compare with the JSON document: whatever the
// encoder drops or misplaces shows up as a difference.

fn put_str(m: &mut Map<String, Value>, key: &str, s: &str) {
    if !s.is_empty() {
        m.insert(key.into(), json!(s));
    }
}

fn put_strs(m: &mut Map<String, Value>, key: &str, s: &[String]) {
    if !s.is_empty() {
        m.insert(key.into(), json!(s));
    }
}

fn put_true(m: &mut Map<String, Value>, key: &str, b: bool) {
    if b {
        m.insert(key.into(), json!(true));
    }
}

fn put_number(m: &mut Map<String, Value>, key: &str, n: f64) {
    if n != 0.0 {
        m.insert(key.into(), json!(n));
    }
}

fn put_integer(m: &mut Map<String, Value>, key: &str, n: i64) {
    if n != 0 {
        m.insert(key.into(), json!(n));
    }
}

fn put_any(m: &mut Map<String, Value>, key: &str, a: &Option<pb::Any>) {
    if a.is_some() {
        m.insert(key.into(), any_json(a));
    }
}

fn put_anys(m: &mut Map<String, Value>, key: &str, a: &[pb::Any]) {
    if !a.is_empty() {
        let values = a.iter().map(|a| any_json(&Some(a.clone())));
        m.insert(key.into(), values.collect());
    }
}

/// The YAML of an `Any`, read as kube-openapi does: it must parse as YAML, and is JSON, which
/// both YAML 1.2 and go-yaml accept.
fn any_json(a: &Option<pb::Any>) -> Value {
    let yaml = &a.as_ref().expect("any has a value").yaml;
    let from_yaml: Value = serde_saphyr::from_str(yaml).expect("any is yaml");
    let from_json: Value = serde_json::from_str(yaml).expect("any is json");
    assert_eq!(from_yaml, from_json, "{yaml}");
    from_json
}

fn put_extensions(m: &mut Map<String, Value>, ext: &[pb::NamedAny]) {
    for e in ext {
        m.insert(e.name.clone(), any_json(&e.value));
    }
}

fn schema_json(s: &pb::Schema) -> Value {
    use pb::additional_properties_item::Oneof as Ap;
    let mut m = Map::new();
    put_str(&mut m, "$ref", &s.xref);
    put_str(&mut m, "format", &s.format);
    put_str(&mut m, "title", &s.title);
    put_str(&mut m, "description", &s.description);
    put_any(&mut m, "default", &s.default);
    put_number(&mut m, "multipleOf", s.multiple_of);
    put_number(&mut m, "maximum", s.maximum);
    put_true(&mut m, "exclusiveMaximum", s.exclusive_maximum);
    put_number(&mut m, "minimum", s.minimum);
    put_true(&mut m, "exclusiveMinimum", s.exclusive_minimum);
    put_integer(&mut m, "maxLength", s.max_length);
    put_integer(&mut m, "minLength", s.min_length);
    put_str(&mut m, "pattern", &s.pattern);
    put_integer(&mut m, "maxItems", s.max_items);
    put_integer(&mut m, "minItems", s.min_items);
    put_true(&mut m, "uniqueItems", s.unique_items);
    put_integer(&mut m, "maxProperties", s.max_properties);
    put_integer(&mut m, "minProperties", s.min_properties);
    put_strs(&mut m, "required", &s.required);
    put_anys(&mut m, "enum", &s.r#enum);
    match s.additional_properties.as_ref().map(|a| &a.oneof) {
        Some(Some(Ap::Schema(s))) => {
            m.insert("additionalProperties".into(), schema_json(s));
        }
        Some(Some(Ap::Boolean(b))) => {
            m.insert("additionalProperties".into(), json!(b));
        }
        Some(None) => panic!("additionalProperties without a value"),
        None => {}
    }
    if let Some(t) = &s.r#type {
        let v = match t.value.as_slice() {
            [one] => json!(one),
            many => json!(many),
        };
        m.insert("type".into(), v);
    }
    if let Some(items) = &s.items {
        let v = match items.schema.as_slice() {
            [one] => schema_json(one),
            many => many.iter().map(schema_json).collect(),
        };
        m.insert("items".into(), v);
    }
    if !s.all_of.is_empty() {
        m.insert("allOf".into(), s.all_of.iter().map(schema_json).collect());
    }
    if let Some(p) = &s.properties {
        m.insert("properties".into(), named_schemas(&p.additional_properties));
    }
    put_str(&mut m, "discriminator", &s.discriminator);
    put_true(&mut m, "readOnly", s.read_only);
    put_any(&mut m, "example", &s.example);
    put_extensions(&mut m, &s.vendor_extension);
    Value::Object(m)
}

fn named_schemas(named: &[pb::NamedSchema]) -> Value {
    let mut m = Map::new();
    for n in named {
        let s = n.value.as_ref().expect("named schema has a value");
        m.insert(n.name.clone(), schema_json(s));
    }
    Value::Object(m)
}

fn reference_json(r: &pb::JsonReference) -> Value {
    let mut m = Map::new();
    put_str(&mut m, "$ref", &r.xref);
    put_str(&mut m, "description", &r.description);
    Value::Object(m)
}

fn parameter_json(p: &pb::ParametersItem) -> Value {
    use pb::non_body_parameter::Oneof as Nb;
    use pb::parameter::Oneof as P;
    use pb::parameters_item::Oneof as Pi;
    let mut m = Map::new();
    let parameter = match &p.oneof {
        Some(Pi::Parameter(p)) => p,
        Some(Pi::JsonReference(r)) => return reference_json(r),
        None => panic!("parameters item without a value"),
    };
    let query = |m: &mut Map<String, Value>, q: &pb::QueryParameterSubSchema| {
        put_true(m, "required", q.required);
        put_str(m, "in", &q.r#in);
        put_str(m, "description", &q.description);
        put_str(m, "name", &q.name);
        put_true(m, "allowEmptyValue", q.allow_empty_value);
        put_str(m, "type", &q.r#type);
        put_str(m, "format", &q.format);
        put_str(m, "collectionFormat", &q.collection_format);
        put_any(m, "default", &q.default);
        put_true(m, "uniqueItems", q.unique_items);
        put_anys(m, "enum", &q.r#enum);
        put_extensions(m, &q.vendor_extension);
    };
    let path = |m: &mut Map<String, Value>, q: &pb::PathParameterSubSchema| {
        put_true(m, "required", q.required);
        put_str(m, "in", &q.r#in);
        put_str(m, "description", &q.description);
        put_str(m, "name", &q.name);
        put_str(m, "type", &q.r#type);
        put_str(m, "format", &q.format);
        put_str(m, "collectionFormat", &q.collection_format);
        put_any(m, "default", &q.default);
        put_true(m, "uniqueItems", q.unique_items);
        put_anys(m, "enum", &q.r#enum);
        put_extensions(m, &q.vendor_extension);
    };
    match &parameter.oneof {
        Some(P::BodyParameter(b)) => {
            put_str(&mut m, "description", &b.description);
            put_str(&mut m, "name", &b.name);
            put_str(&mut m, "in", &b.r#in);
            put_true(&mut m, "required", b.required);
            if let Some(s) = &b.schema {
                m.insert("schema".into(), schema_json(s));
            }
            put_extensions(&mut m, &b.vendor_extension);
        }
        Some(P::NonBodyParameter(nb)) => match &nb.oneof {
            Some(Nb::QueryParameterSubSchema(q)) => {
                assert_eq!(q.r#in, "query");
                query(&mut m, q);
            }
            Some(Nb::FormDataParameterSubSchema(q)) => {
                assert_eq!(q.r#in, "formData");
                query(&mut m, q);
            }
            Some(Nb::PathParameterSubSchema(q)) => {
                assert_eq!(q.r#in, "path");
                path(&mut m, q);
            }
            Some(Nb::HeaderParameterSubSchema(q)) => {
                assert_eq!(q.r#in, "header");
                path(&mut m, q);
            }
            None => panic!("non-body parameter without a value"),
        },
        None => panic!("parameter without a value"),
    }
    Value::Object(m)
}

fn security_json(reqs: &[pb::SecurityRequirement]) -> Value {
    reqs.iter()
        .map(|r| {
            let mut m = Map::new();
            for n in &r.additional_properties {
                let scopes = n
                    .value
                    .as_ref()
                    .map(|v| v.value.clone())
                    .unwrap_or_default();
                m.insert(n.name.clone(), json!(scopes));
            }
            Value::Object(m)
        })
        .collect()
}

fn operation_json(op: &pb::Operation) -> Value {
    use pb::response_value::Oneof as Rv;
    use pb::schema_item::Oneof as Si;
    let mut m = Map::new();
    put_strs(&mut m, "tags", &op.tags);
    put_str(&mut m, "summary", &op.summary);
    put_str(&mut m, "description", &op.description);
    put_str(&mut m, "operationId", &op.operation_id);
    put_strs(&mut m, "produces", &op.produces);
    put_strs(&mut m, "consumes", &op.consumes);
    if !op.parameters.is_empty() {
        m.insert(
            "parameters".into(),
            op.parameters.iter().map(parameter_json).collect(),
        );
    }
    if let Some(r) = &op.responses {
        let mut codes = Map::new();
        for named in &r.response_code {
            let value = match named.value.as_ref().and_then(|v| v.oneof.as_ref()) {
                Some(Rv::Response(resp)) => {
                    let mut rm = Map::new();
                    put_str(&mut rm, "description", &resp.description);
                    if let Some(item) = &resp.schema {
                        let Some(Si::Schema(s)) = &item.oneof else {
                            panic!("response schema without a value");
                        };
                        rm.insert("schema".into(), schema_json(s));
                    }
                    put_extensions(&mut rm, &resp.vendor_extension);
                    Value::Object(rm)
                }
                Some(Rv::JsonReference(r)) => reference_json(r),
                None => panic!("response {} without a value", named.name),
            };
            codes.insert(named.name.clone(), value);
        }
        put_extensions(&mut codes, &r.vendor_extension);
        m.insert("responses".into(), Value::Object(codes));
    }
    put_strs(&mut m, "schemes", &op.schemes);
    put_true(&mut m, "deprecated", op.deprecated);
    if !op.security.is_empty() {
        m.insert("security".into(), security_json(&op.security));
    }
    put_extensions(&mut m, &op.vendor_extension);
    Value::Object(m)
}

fn path_item_json(item: &pb::PathItem) -> Value {
    let mut m = Map::new();
    put_str(&mut m, "$ref", &item.xref);
    for (method, op) in [
        ("get", &item.get),
        ("put", &item.put),
        ("post", &item.post),
        ("delete", &item.delete),
        ("options", &item.options),
        ("head", &item.head),
        ("patch", &item.patch),
    ] {
        if let Some(op) = op {
            m.insert(method.into(), operation_json(op));
        }
    }
    if !item.parameters.is_empty() {
        m.insert(
            "parameters".into(),
            item.parameters.iter().map(parameter_json).collect(),
        );
    }
    put_extensions(&mut m, &item.vendor_extension);
    Value::Object(m)
}

fn document_json(d: &pb::Document) -> Value {
    use pb::security_definitions_item::Oneof as Sd;
    let mut m = Map::new();
    put_str(&mut m, "swagger", &d.swagger);
    if let Some(i) = &d.info {
        let mut im = Map::new();
        put_str(&mut im, "title", &i.title);
        put_str(&mut im, "version", &i.version);
        put_str(&mut im, "description", &i.description);
        put_extensions(&mut im, &i.vendor_extension);
        m.insert("info".into(), Value::Object(im));
    }
    put_str(&mut m, "host", &d.host);
    put_str(&mut m, "basePath", &d.base_path);
    put_strs(&mut m, "schemes", &d.schemes);
    put_strs(&mut m, "consumes", &d.consumes);
    put_strs(&mut m, "produces", &d.produces);
    if let Some(p) = &d.paths {
        let mut paths = Map::new();
        for named in &p.path {
            let item = named.value.as_ref().expect("path item has a value");
            paths.insert(named.name.clone(), path_item_json(item));
        }
        put_extensions(&mut paths, &p.vendor_extension);
        m.insert("paths".into(), Value::Object(paths));
    }
    if let Some(defs) = &d.definitions {
        m.insert(
            "definitions".into(),
            named_schemas(&defs.additional_properties),
        );
    }
    if !d.security.is_empty() {
        m.insert("security".into(), security_json(&d.security));
    }
    if let Some(sd) = &d.security_definitions {
        let mut defs = Map::new();
        for n in &sd.additional_properties {
            let mut dm = Map::new();
            match n.value.as_ref().and_then(|v| v.oneof.as_ref()) {
                Some(Sd::ApiKeySecurity(k)) => {
                    put_str(&mut dm, "type", &k.r#type);
                    put_str(&mut dm, "name", &k.name);
                    put_str(&mut dm, "in", &k.r#in);
                    put_str(&mut dm, "description", &k.description);
                    put_extensions(&mut dm, &k.vendor_extension);
                }
                Some(Sd::BasicAuthenticationSecurity(b)) => {
                    put_str(&mut dm, "type", &b.r#type);
                    put_str(&mut dm, "description", &b.description);
                    put_extensions(&mut dm, &b.vendor_extension);
                }
                None => panic!("security definition {} without a value", n.name),
            }
            defs.insert(n.name.clone(), Value::Object(dm));
        }
        m.insert("securityDefinitions".into(), Value::Object(defs));
    }
    put_extensions(&mut m, &d.vendor_extension);
    Value::Object(m)
}

fn served_json() -> Value {
    serde_json::from_slice(global().v2_document()).expect("v2 json")
}

fn served_protobuf() -> pb::Document {
    pb::Document::decode(global().v2_protobuf()).expect("v2 protobuf decodes")
}

#[test]
fn decodes_back_to_the_json_document() {
    let json_doc = served_json();
    let back = document_json(&served_protobuf());
    // Compared piecewise so a failure names the definition or path that differs.
    for section in ["definitions", "paths"] {
        let want = json_doc[section].as_object().expect("section");
        let got = back[section].as_object().expect("section decoded");
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "{section}"
        );
        for (name, value) in want {
            assert_eq!(&got[name], value, "{section} {name}");
        }
    }
    assert_eq!(back, json_doc);
}

/// What kube-openapi's `NewOpenAPIData` rejects, which would fail every client-side
/// validation.
fn check_parsable(s: &pb::Schema, names: &BTreeSet<&str>, path: &str) {
    use pb::additional_properties_item::Oneof as Ap;
    let types = s
        .r#type
        .as_ref()
        .map(|t| t.value.clone())
        .unwrap_or_default();
    if !s.xref.is_empty() {
        assert!(s.properties.is_none(), "{path}: $ref with properties");
        assert!(types.is_empty(), "{path}: $ref with a type");
        let target = s.xref.strip_prefix(REF_PREFIX_V2).expect("definitions ref");
        assert!(names.contains(target), "{path}: unknown model {target}");
        return;
    }
    assert!(types.len() <= 1, "{path}: several types");
    match types.first().map(String::as_str) {
        Some("array") => {
            let items = s
                .items
                .as_ref()
                .map(|i| i.schema.as_slice())
                .unwrap_or_default();
            let [item] = items else {
                panic!("{path}: array without exactly one item schema");
            };
            check_parsable(item, names, &format!("{path}[]"));
        }
        Some("object") | None => {
            for p in s.properties.iter().flat_map(|p| &p.additional_properties) {
                let value = p.value.as_ref().expect("property schema");
                check_parsable(value, names, &format!("{path}.{}", p.name));
            }
            if let Some(Some(Ap::Schema(sub))) = s.additional_properties.as_ref().map(|a| &a.oneof)
            {
                check_parsable(sub, names, &format!("{path}{{}}"));
            }
        }
        Some(t) => assert!(
            ["string", "number", "integer", "boolean"].contains(&t),
            "{path}: unknown primitive type {t}"
        ),
    }
}

#[test]
fn every_definition_parses_as_kube_openapi_reads_it() {
    let doc = served_protobuf();
    let defs = &doc
        .definitions
        .as_ref()
        .expect("definitions")
        .additional_properties;
    let names: BTreeSet<&str> = defs.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names.len(), defs.len());
    for d in defs {
        check_parsable(d.value.as_ref().expect("schema"), &names, &d.name);
    }
}

fn gvks(s: &pb::Schema) -> Vec<Value> {
    s.vendor_extension
        .iter()
        .find(|e| e.name == "x-kubernetes-group-version-kind")
        .map(|e| any_json(&e.value))
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
}

/// kubectl finds the schema of each item of a List by its group-version-kind.
#[test]
fn every_served_kind_and_list_has_its_definition_and_gvk() {
    use pb::additional_properties_item::Oneof as Ap;
    let doc = served_protobuf();
    let defs = &doc
        .definitions
        .as_ref()
        .expect("definitions")
        .additional_properties;
    let find = |name: &str| {
        defs.iter()
            .find(|d| d.name == name)
            .and_then(|d| d.value.as_ref())
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    for def in RESOURCES {
        let schema = find(def.schema);
        let want = json!({"group": def.group, "kind": def.kind, "version": def.version});
        assert!(gvks(schema).contains(&want), "{}", def.schema);
        assert!(schema.properties.is_some(), "{}", def.schema);
        let list = find(&format!("{}List", def.schema));
        let want = json!({"group": def.group, "kind": def.list_kind(), "version": def.version});
        assert!(gvks(list).contains(&want), "{} list", def.schema);
        assert_eq!(list.required, ["items"]);
    }
    let config_map = find("io.k8s.api.core.v1.ConfigMap");
    assert_eq!(
        gvks(config_map),
        [json!({"group": "", "kind": "ConfigMap", "version": "v1"})]
    );
    let data = config_map
        .properties
        .iter()
        .flat_map(|p| &p.additional_properties)
        .find(|p| p.name == "data")
        .and_then(|p| p.value.as_ref())
        .expect("ConfigMap.data");
    let Some(Some(Ap::Schema(values))) = data.additional_properties.as_ref().map(|a| &a.oneof)
    else {
        panic!("ConfigMap.data has no value schema");
    };
    assert_eq!(values.r#type.as_ref().expect("type").value, ["string"]);
}

/// kubectl's `fieldValidation` check: the PATCH of the kind, marked with its
/// group-version-kind, takes the query parameter.
#[test]
fn every_kind_has_a_patch_with_field_validation() {
    use pb::non_body_parameter::Oneof as Nb;
    use pb::parameter::Oneof as P;
    use pb::parameters_item::Oneof as Pi;
    let doc = served_protobuf();
    let paths = &doc.paths.as_ref().expect("paths").path;
    for def in RESOURCES {
        let want = json!({"group": def.group, "kind": def.kind, "version": def.version});
        let patch = paths
            .iter()
            .filter_map(|p| p.value.as_ref()?.patch.as_ref())
            .find(|op| {
                op.vendor_extension.iter().any(|e| {
                    e.name == "x-kubernetes-group-version-kind" && any_json(&e.value) == want
                })
            })
            .unwrap_or_else(|| panic!("no patch for {}", def.kind));
        assert!(
            patch.parameters.iter().any(|p| matches!(
                &p.oneof,
                Some(Pi::Parameter(pb::Parameter {
                    oneof: Some(P::NonBodyParameter(pb::NonBodyParameter {
                        oneof: Some(Nb::QueryParameterSubSchema(q)),
                    })),
                })) if q.name == "fieldValidation"
            )),
            "{}",
            def.kind
        );
    }
}

#[test]
fn document_header() {
    let doc = served_protobuf();
    assert_eq!(doc.swagger, "2.0");
    let info = doc.info.expect("info");
    assert_eq!(
        (info.title.as_str(), info.version.as_str()),
        ("Kubernetes", "unversioned")
    );
    assert_eq!(doc.security.len(), 1);
    assert_eq!(global().v2_protobuf_hash().len(), 128);
    assert_ne!(global().v2_protobuf_hash(), global().v2_hash());
}

// Wire bytes written out by hand from the field numbers of gnostic's proto, independently of
// the declarations in `pb`.

fn check_schema(input: Value, want_hex: &str) {
    assert_eq!(
        hex::encode(schema(&input).encode_to_vec()),
        want_hex,
        "{input}"
    );
}

#[test]
fn schema_wire_format() {
    check_schema(json!({}), "");
    // Field 1 ($ref), length-delimited.
    check_schema(
        json!({"$ref": "#/definitions/A"}),
        "0a0f232f646566696e6974696f6e732f41",
    );
    // An empty properties message (25) is still written: present differs from absent.
    check_schema(json!({"properties": {}}), "ca0100");
    // additionalProperties (21): false is a oneof member, written although it is the default.
    check_schema(json!({"additionalProperties": false}), "aa01021000");
    check_schema(json!({"additionalProperties": true}), "aa01021001");
    check_schema(
        json!({"additionalProperties": {"type": "string"}}),
        "aa010d0a0bb201080a06737472696e67",
    );
    // type (22) is a TypeItem { repeated string value = 1 }.
    check_schema(json!({"type": "string"}), "b201080a06737472696e67");
    // Repeated strings (required, 19) keep empty elements.
    check_schema(json!({"required": ["", "a"]}), "9a01009a010161");
    // A negative int64 (minLength, 12) is a ten-byte varint; a double (maximum, 7) is fixed
    // 64-bit little-endian.
    check_schema(json!({"minLength": -1}), "60ffffffffffffffffff01");
    check_schema(json!({"maximum": 1.5}), "39000000000000f83f");
    check_schema(json!({"uniqueItems": false, "maxLength": 0}), "");
    // Vendor extensions: NamedAny { name, Any { yaml = 2 } } in field 31.
    check_schema(json!({"x-a": "no"}), "fa010d0a03782d6112061204226e6f22");
}

fn check_parameter(input: Value, want_hex: &str) {
    let item = parameters(object(&json!({"parameters": [input.clone()]})));
    let bytes: Vec<u8> = item.iter().flat_map(|p| p.encode_to_vec()).collect();
    assert_eq!(hex::encode(bytes), want_hex, "{input}");
}

#[test]
fn parameter_wire_format() {
    // ParametersItem.parameter (1) > Parameter.non_body_parameter (2) >
    // NonBodyParameter.query_parameter_sub_schema (3) > in (2), name (4).
    check_parameter(
        json!({"in": "query", "name": "a"}),
        "0a0e120c1a0a12057175657279220161",
    );
    // ... path_parameter_sub_schema (4) > required (1), in (2), name (4).
    check_parameter(
        json!({"in": "path", "name": "n", "required": true}),
        "0a0f120d220b080112047061746822016e",
    );
    // Parameter.body_parameter (1) > name (2), in (3), schema (5).
    check_parameter(
        json!({"in": "body", "name": "b", "schema": {"$ref": "#/definitions/A"}}),
        "0a1e0a1c1201621a04626f64792a110a0f232f646566696e6974696f6e732f41",
    );
    // ParametersItem.json_reference (2).
    check_parameter(
        json!({"$ref": "#/parameters/p"}),
        "12100a0e232f706172616d65746572732f70",
    );
    // A location Swagger 2.0 does not define is left out.
    check_parameter(json!({"in": "cookie", "name": "c"}), "");
}

#[test]
fn document_wire_format() {
    let doc = json!({
        "swagger": "2.0",
        "info": {"title": "T", "version": "v"},
        "paths": {},
        "definitions": {},
        "security": [{"B": []}],
        "securityDefinitions": {
            "B": {"type": "apiKey", "name": "n", "in": "header"},
            "O": {"type": "oauth2", "flow": "implicit"},
        },
    });
    // The OAuth2 definition is left out.
    let want = [
        "0a03322e30",                                 // swagger (1)
        "12060a0154120176",                           // info (2): title (1), version (2)
        "4200",                                       // paths (8)
        "4a00",                                       // definitions (9)
        "62070a050a01421200",                         // security (12): B, no scopes
        "6a1c0a1a0a01421215",                         // securityDefinitions (13): B
        "12130a066170694b657912016e1a06686561646572", // api_key_security (2)
    ]
    .concat();
    assert_eq!(hex::encode(encode(&doc)), want);
    assert_eq!(encode(&json!("not a document")), Vec::<u8>::new());
}

fn decode_schema(input: Value) -> pb::Schema {
    pb::Schema::decode(schema(&input).encode_to_vec().as_slice()).expect("schema decodes")
}

#[test]
fn schema_shapes_decode() {
    let s = decode_schema(json!({
        "type": "array",
        "items": [{"type": "string"}, {"type": "integer"}],
        "default": ["a"],
        "enum": ["x", 1],
        "allOf": [{"$ref": "#/definitions/A"}],
        "x-kubernetes-list-map-keys": ["name", "protocol"],
        "oneOf": [{"type": "string"}],
    }));
    assert_eq!(s.items.as_ref().expect("items").schema.len(), 2);
    assert_eq!(any_json(&s.default), json!(["a"]));
    assert_eq!(s.r#enum.len(), 2);
    assert_eq!(s.all_of[0].xref, "#/definitions/A");
    assert_eq!(
        any_json(&s.vendor_extension[0].value),
        json!(["name", "protocol"])
    );
    // oneOf has no field in Swagger 2.0's schema: dropped.
    assert_eq!(
        schema_json(&s),
        json!({
            "type": "array",
            "items": [{"type": "string"}, {"type": "integer"}],
            "default": ["a"],
            "enum": ["x", 1],
            "allOf": [{"$ref": "#/definitions/A"}],
            "x-kubernetes-list-map-keys": ["name", "protocol"],
        })
    );
    // In a plain map an `x-` key is a name, not an extension.
    let s = decode_schema(json!({"properties": {"x-name": {"type": "string"}}}));
    assert_eq!(
        schema_json(&s),
        json!({"properties": {"x-name": {"type": "string"}}})
    );
}

#[test]
fn paths_round_trip() {
    let doc = json!({"paths": {
        "/x/{name}": {
            "parameters": [
                {"in": "path", "name": "name", "required": true, "type": "string", "uniqueItems": true},
                {"in": "query", "name": "pretty", "type": "string", "uniqueItems": true},
                {"in": "header", "name": "h", "type": "string"},
                {"in": "formData", "name": "f", "type": "string", "allowEmptyValue": true},
                {"$ref": "#/parameters/p"},
            ],
            "patch": {
                "operationId": "patchX",
                "parameters": [
                    {"in": "body", "name": "body", "required": true, "schema": {"$ref": "#/definitions/A"}},
                ],
                "responses": {
                    "200": {"description": "OK", "schema": {"$ref": "#/definitions/A"}},
                    "401": {"$ref": "#/responses/unauthorized"},
                    "x-r": 1,
                },
                "security": [{"B": ["s"]}],
                "deprecated": true,
                "x-kubernetes-action": "patch",
            },
            "x-p": {"a": [1, "b"]},
        },
        "x-paths": true,
    }});
    let decoded = pb::Document::decode(encode(&doc).as_slice()).expect("decodes");
    assert_eq!(document_json(&decoded), doc);
}
