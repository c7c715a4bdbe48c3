//! The Swagger 2.0 document in the protobuf form `/openapi/v2` answers
//! `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf` with: gnostic's
//! `openapi.v2.Document` (`openapiv2/OpenAPIv2.proto` of gnostic-models, which client-go 1.32
//! vendors).
//!
//! kubectl fetches it to validate on the client what it cannot leave to the server, a
//! `kind: List` above all: kube-openapi's `pkg/util/proto` reads `definitions`, kubectl finds each
//! item's schema by its `x-kubernetes-group-version-kind`, and the `fieldValidation` check walks
//! the PATCH operations under `paths`.
//!
//! [`pb`] declares, by hand, the messages and fields of that proto the served document uses;
//! [`document`] fills them from the JSON document the way gnostic's `ParseDocument` reads it, and
//! prost writes the bytes. Vendor extensions, defaults, enums and examples travel as
//! `Any { yaml }`; the YAML written is JSON text, which is flow-style YAML and quotes every
//! string, so a YAML 1.1 reader never turns `no` or `on` into a boolean.
//!
//! Left out, because gnostic has no field for them or the served document never has them (the
//! round-trip test fails if it ever does): schema keys outside Swagger 2.0 (`oneOf`, `anyOf`,
//! `nullable`, …), `xml`, `externalDocs`, `tags`, top-level `parameters`/`responses`, response
//! `headers`/`examples`, `file` response schemas (sent as ordinary schemas), array `items` of
//! non-body parameters, numeric bounds of non-body parameters, and OAuth2 security definitions.

use prost::Message as _;
use serde_json::{Map, Value};

/// The gnostic `openapi.v2` messages the served document uses, with gnostic's field numbers.
/// Messages keep all their fields up to the last one used, except where noted.
pub mod pb {
    /// `Document`, without `parameters` (10), `responses` (11), `tags` (14) and
    /// `external_docs` (15).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Document {
        #[prost(string, tag = "1")]
        pub swagger: String,
        #[prost(message, optional, tag = "2")]
        pub info: Option<Info>,
        #[prost(string, tag = "3")]
        pub host: String,
        #[prost(string, tag = "4")]
        pub base_path: String,
        #[prost(string, repeated, tag = "5")]
        pub schemes: Vec<String>,
        #[prost(string, repeated, tag = "6")]
        pub consumes: Vec<String>,
        #[prost(string, repeated, tag = "7")]
        pub produces: Vec<String>,
        #[prost(message, optional, tag = "8")]
        pub paths: Option<Paths>,
        #[prost(message, optional, tag = "9")]
        pub definitions: Option<Definitions>,
        #[prost(message, repeated, tag = "12")]
        pub security: Vec<SecurityRequirement>,
        #[prost(message, optional, tag = "13")]
        pub security_definitions: Option<SecurityDefinitions>,
        #[prost(message, repeated, tag = "16")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// `Info`, without `terms_of_service` (4), `contact` (5) and `license` (6).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Info {
        #[prost(string, tag = "1")]
        pub title: String,
        #[prost(string, tag = "2")]
        pub version: String,
        #[prost(string, tag = "3")]
        pub description: String,
        #[prost(message, repeated, tag = "7")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// `Any`, without the `google.protobuf.Any value` (1) gnostic never fills when parsing.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Any {
        #[prost(string, tag = "2")]
        pub yaml: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NamedAny {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(message, optional, tag = "2")]
        pub value: Option<Any>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Paths {
        #[prost(message, repeated, tag = "1")]
        pub vendor_extension: Vec<NamedAny>,
        #[prost(message, repeated, tag = "2")]
        pub path: Vec<NamedPathItem>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NamedPathItem {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(message, optional, tag = "2")]
        pub value: Option<PathItem>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct PathItem {
        #[prost(string, tag = "1")]
        pub xref: String,
        #[prost(message, optional, tag = "2")]
        pub get: Option<Operation>,
        #[prost(message, optional, tag = "3")]
        pub put: Option<Operation>,
        #[prost(message, optional, tag = "4")]
        pub post: Option<Operation>,
        #[prost(message, optional, tag = "5")]
        pub delete: Option<Operation>,
        #[prost(message, optional, tag = "6")]
        pub options: Option<Operation>,
        #[prost(message, optional, tag = "7")]
        pub head: Option<Operation>,
        #[prost(message, optional, tag = "8")]
        pub patch: Option<Operation>,
        #[prost(message, repeated, tag = "9")]
        pub parameters: Vec<ParametersItem>,
        #[prost(message, repeated, tag = "10")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// `Operation`, without `external_docs` (4).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Operation {
        #[prost(string, repeated, tag = "1")]
        pub tags: Vec<String>,
        #[prost(string, tag = "2")]
        pub summary: String,
        #[prost(string, tag = "3")]
        pub description: String,
        #[prost(string, tag = "5")]
        pub operation_id: String,
        #[prost(string, repeated, tag = "6")]
        pub produces: Vec<String>,
        #[prost(string, repeated, tag = "7")]
        pub consumes: Vec<String>,
        #[prost(message, repeated, tag = "8")]
        pub parameters: Vec<ParametersItem>,
        #[prost(message, optional, tag = "9")]
        pub responses: Option<Responses>,
        #[prost(string, repeated, tag = "10")]
        pub schemes: Vec<String>,
        #[prost(bool, tag = "11")]
        pub deprecated: bool,
        #[prost(message, repeated, tag = "12")]
        pub security: Vec<SecurityRequirement>,
        #[prost(message, repeated, tag = "13")]
        pub vendor_extension: Vec<NamedAny>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ParametersItem {
        #[prost(oneof = "parameters_item::Oneof", tags = "1, 2")]
        pub oneof: Option<parameters_item::Oneof>,
    }

    pub mod parameters_item {
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Oneof {
            #[prost(message, tag = "1")]
            Parameter(super::Parameter),
            #[prost(message, tag = "2")]
            JsonReference(super::JsonReference),
        }
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct JsonReference {
        #[prost(string, tag = "1")]
        pub xref: String,
        #[prost(string, tag = "2")]
        pub description: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Parameter {
        #[prost(oneof = "parameter::Oneof", tags = "1, 2")]
        pub oneof: Option<parameter::Oneof>,
    }

    pub mod parameter {
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Oneof {
            #[prost(message, tag = "1")]
            BodyParameter(super::BodyParameter),
            #[prost(message, tag = "2")]
            NonBodyParameter(super::NonBodyParameter),
        }
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct BodyParameter {
        #[prost(string, tag = "1")]
        pub description: String,
        #[prost(string, tag = "2")]
        pub name: String,
        #[prost(string, tag = "3")]
        pub r#in: String,
        #[prost(bool, tag = "4")]
        pub required: bool,
        #[prost(message, optional, boxed, tag = "5")]
        pub schema: Option<Box<Schema>>,
        #[prost(message, repeated, tag = "6")]
        pub vendor_extension: Vec<NamedAny>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NonBodyParameter {
        #[prost(oneof = "non_body_parameter::Oneof", tags = "1, 2, 3, 4")]
        pub oneof: Option<non_body_parameter::Oneof>,
    }

    pub mod non_body_parameter {
        /// Header and path parameters share one field layout, as do query and form parameters.
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Oneof {
            #[prost(message, tag = "1")]
            HeaderParameterSubSchema(super::PathParameterSubSchema),
            #[prost(message, tag = "2")]
            FormDataParameterSubSchema(super::QueryParameterSubSchema),
            #[prost(message, tag = "3")]
            QueryParameterSubSchema(super::QueryParameterSubSchema),
            #[prost(message, tag = "4")]
            PathParameterSubSchema(super::PathParameterSubSchema),
        }
    }

    /// `QueryParameterSubSchema`, also the layout of `FormDataParameterSubSchema`; without
    /// `items` (8) and the numeric and length bounds (11 to 19, 22).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct QueryParameterSubSchema {
        #[prost(bool, tag = "1")]
        pub required: bool,
        #[prost(string, tag = "2")]
        pub r#in: String,
        #[prost(string, tag = "3")]
        pub description: String,
        #[prost(string, tag = "4")]
        pub name: String,
        #[prost(bool, tag = "5")]
        pub allow_empty_value: bool,
        #[prost(string, tag = "6")]
        pub r#type: String,
        #[prost(string, tag = "7")]
        pub format: String,
        #[prost(string, tag = "9")]
        pub collection_format: String,
        #[prost(message, optional, tag = "10")]
        pub default: Option<Any>,
        #[prost(bool, tag = "20")]
        pub unique_items: bool,
        #[prost(message, repeated, tag = "21")]
        pub r#enum: Vec<Any>,
        #[prost(message, repeated, tag = "23")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// `PathParameterSubSchema`, also the layout of `HeaderParameterSubSchema`; without `items`
    /// (7) and the numeric and length bounds (10 to 18, 21).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct PathParameterSubSchema {
        #[prost(bool, tag = "1")]
        pub required: bool,
        #[prost(string, tag = "2")]
        pub r#in: String,
        #[prost(string, tag = "3")]
        pub description: String,
        #[prost(string, tag = "4")]
        pub name: String,
        #[prost(string, tag = "5")]
        pub r#type: String,
        #[prost(string, tag = "6")]
        pub format: String,
        #[prost(string, tag = "8")]
        pub collection_format: String,
        #[prost(message, optional, tag = "9")]
        pub default: Option<Any>,
        #[prost(bool, tag = "19")]
        pub unique_items: bool,
        #[prost(message, repeated, tag = "20")]
        pub r#enum: Vec<Any>,
        #[prost(message, repeated, tag = "22")]
        pub vendor_extension: Vec<NamedAny>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Responses {
        #[prost(message, repeated, tag = "1")]
        pub response_code: Vec<NamedResponseValue>,
        #[prost(message, repeated, tag = "2")]
        pub vendor_extension: Vec<NamedAny>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NamedResponseValue {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(message, optional, tag = "2")]
        pub value: Option<ResponseValue>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ResponseValue {
        #[prost(oneof = "response_value::Oneof", tags = "1, 2")]
        pub oneof: Option<response_value::Oneof>,
    }

    pub mod response_value {
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Oneof {
            #[prost(message, tag = "1")]
            Response(super::Response),
            #[prost(message, tag = "2")]
            JsonReference(super::JsonReference),
        }
    }

    /// `Response`, without `headers` (3) and `examples` (4).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Response {
        #[prost(string, tag = "1")]
        pub description: String,
        #[prost(message, optional, tag = "2")]
        pub schema: Option<SchemaItem>,
        #[prost(message, repeated, tag = "5")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// `SchemaItem`, without `file_schema` (2).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SchemaItem {
        #[prost(oneof = "schema_item::Oneof", tags = "1")]
        pub oneof: Option<schema_item::Oneof>,
    }

    pub mod schema_item {
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Oneof {
            #[prost(message, tag = "1")]
            Schema(Box<super::Schema>),
        }
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Definitions {
        #[prost(message, repeated, tag = "1")]
        pub additional_properties: Vec<NamedSchema>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NamedSchema {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(message, optional, tag = "2")]
        pub value: Option<Schema>,
    }

    /// `Schema`, without `xml` (28) and `external_docs` (29).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Schema {
        #[prost(string, tag = "1")]
        pub xref: String,
        #[prost(string, tag = "2")]
        pub format: String,
        #[prost(string, tag = "3")]
        pub title: String,
        #[prost(string, tag = "4")]
        pub description: String,
        #[prost(message, optional, tag = "5")]
        pub default: Option<Any>,
        #[prost(double, tag = "6")]
        pub multiple_of: f64,
        #[prost(double, tag = "7")]
        pub maximum: f64,
        #[prost(bool, tag = "8")]
        pub exclusive_maximum: bool,
        #[prost(double, tag = "9")]
        pub minimum: f64,
        #[prost(bool, tag = "10")]
        pub exclusive_minimum: bool,
        #[prost(int64, tag = "11")]
        pub max_length: i64,
        #[prost(int64, tag = "12")]
        pub min_length: i64,
        #[prost(string, tag = "13")]
        pub pattern: String,
        #[prost(int64, tag = "14")]
        pub max_items: i64,
        #[prost(int64, tag = "15")]
        pub min_items: i64,
        #[prost(bool, tag = "16")]
        pub unique_items: bool,
        #[prost(int64, tag = "17")]
        pub max_properties: i64,
        #[prost(int64, tag = "18")]
        pub min_properties: i64,
        #[prost(string, repeated, tag = "19")]
        pub required: Vec<String>,
        #[prost(message, repeated, tag = "20")]
        pub r#enum: Vec<Any>,
        #[prost(message, optional, tag = "21")]
        pub additional_properties: Option<AdditionalPropertiesItem>,
        #[prost(message, optional, tag = "22")]
        pub r#type: Option<TypeItem>,
        #[prost(message, optional, tag = "23")]
        pub items: Option<ItemsItem>,
        #[prost(message, repeated, tag = "24")]
        pub all_of: Vec<Schema>,
        #[prost(message, optional, tag = "25")]
        pub properties: Option<Properties>,
        #[prost(string, tag = "26")]
        pub discriminator: String,
        #[prost(bool, tag = "27")]
        pub read_only: bool,
        #[prost(message, optional, tag = "30")]
        pub example: Option<Any>,
        #[prost(message, repeated, tag = "31")]
        pub vendor_extension: Vec<NamedAny>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct AdditionalPropertiesItem {
        #[prost(oneof = "additional_properties_item::Oneof", tags = "1, 2")]
        pub oneof: Option<additional_properties_item::Oneof>,
    }

    pub mod additional_properties_item {
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Oneof {
            #[prost(message, tag = "1")]
            Schema(Box<super::Schema>),
            #[prost(bool, tag = "2")]
            Boolean(bool),
        }
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TypeItem {
        #[prost(string, repeated, tag = "1")]
        pub value: Vec<String>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ItemsItem {
        #[prost(message, repeated, tag = "1")]
        pub schema: Vec<Schema>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Properties {
        #[prost(message, repeated, tag = "1")]
        pub additional_properties: Vec<NamedSchema>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SecurityRequirement {
        #[prost(message, repeated, tag = "1")]
        pub additional_properties: Vec<NamedStringArray>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NamedStringArray {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(message, optional, tag = "2")]
        pub value: Option<StringArray>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct StringArray {
        #[prost(string, repeated, tag = "1")]
        pub value: Vec<String>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SecurityDefinitions {
        #[prost(message, repeated, tag = "1")]
        pub additional_properties: Vec<NamedSecurityDefinitionsItem>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NamedSecurityDefinitionsItem {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(message, optional, tag = "2")]
        pub value: Option<SecurityDefinitionsItem>,
    }

    /// `SecurityDefinitionsItem`, without the OAuth2 flows (3 to 6).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SecurityDefinitionsItem {
        #[prost(oneof = "security_definitions_item::Oneof", tags = "1, 2")]
        pub oneof: Option<security_definitions_item::Oneof>,
    }

    pub mod security_definitions_item {
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Oneof {
            #[prost(message, tag = "1")]
            BasicAuthenticationSecurity(super::BasicAuthenticationSecurity),
            #[prost(message, tag = "2")]
            ApiKeySecurity(super::ApiKeySecurity),
        }
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct BasicAuthenticationSecurity {
        #[prost(string, tag = "1")]
        pub r#type: String,
        #[prost(string, tag = "2")]
        pub description: String,
        #[prost(message, repeated, tag = "3")]
        pub vendor_extension: Vec<NamedAny>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ApiKeySecurity {
        #[prost(string, tag = "1")]
        pub r#type: String,
        #[prost(string, tag = "2")]
        pub name: String,
        #[prost(string, tag = "3")]
        pub r#in: String,
        #[prost(string, tag = "4")]
        pub description: String,
        #[prost(message, repeated, tag = "5")]
        pub vendor_extension: Vec<NamedAny>,
    }
}

fn text(o: &Map<String, Value>, key: &str) -> String {
    o.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn flag(o: &Map<String, Value>, key: &str) -> bool {
    o.get(key).and_then(Value::as_bool).unwrap_or_default()
}

fn number(o: &Map<String, Value>, key: &str) -> f64 {
    o.get(key).and_then(Value::as_f64).unwrap_or_default()
}

fn integer(o: &Map<String, Value>, key: &str) -> i64 {
    match o.get(key) {
        Some(v) => v
            .as_i64()
            // A float where an integer belongs is truncated, as Go's conversion does.
            .or_else(|| v.as_f64().map(|f| f as i64))
            .unwrap_or_default(),
        None => 0,
    }
}

/// The strings of a value that is one string or an array of them.
fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn object(v: &Value) -> &Map<String, Value> {
    static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);
    v.as_object().unwrap_or(&EMPTY)
}

fn array<'a>(o: &'a Map<String, Value>, key: &str) -> impl Iterator<Item = &'a Value> {
    o.get(key).and_then(Value::as_array).into_iter().flatten()
}

/// Every member of an object that is a plain map (`definitions`, `properties`): there an `x-`
/// key is a name like any other.
fn members(v: Option<&Value>) -> impl Iterator<Item = (&String, &Value)> {
    v.and_then(Value::as_object).into_iter().flatten()
}

/// The members of an object that also carries vendor extensions (`paths`, `responses`),
/// the extensions excluded.
fn entries(v: Option<&Value>) -> impl Iterator<Item = (&String, &Value)> {
    members(v).filter(|(k, _)| !k.starts_with("x-"))
}

fn any(v: &Value) -> pb::Any {
    pb::Any {
        // Serializing a `Value` cannot fail: its keys are strings.
        yaml: serde_json::to_string(v).unwrap_or_default(),
    }
}

/// The `x-` members of `o`.
fn extensions(o: &Map<String, Value>) -> Vec<pb::NamedAny> {
    o.iter()
        .filter(|(k, _)| k.starts_with("x-"))
        .map(|(k, v)| pb::NamedAny {
            name: k.clone(),
            value: Some(any(v)),
        })
        .collect()
}

fn named_schemas(v: Option<&Value>) -> Vec<pb::NamedSchema> {
    members(v)
        .map(|(name, s)| pb::NamedSchema {
            name: name.clone(),
            value: Some(schema(s)),
        })
        .collect()
}

/// A `Schema`, with every Swagger 2.0 key gnostic reads, not only those the served document
/// uses today: a schema gaining one then reaches kubectl without a change here.
fn schema(v: &Value) -> pb::Schema {
    use pb::additional_properties_item::Oneof as Ap;
    let o = object(v);
    pb::Schema {
        xref: text(o, "$ref"),
        format: text(o, "format"),
        title: text(o, "title"),
        description: text(o, "description"),
        default: o.get("default").map(any),
        multiple_of: number(o, "multipleOf"),
        maximum: number(o, "maximum"),
        exclusive_maximum: flag(o, "exclusiveMaximum"),
        minimum: number(o, "minimum"),
        exclusive_minimum: flag(o, "exclusiveMinimum"),
        max_length: integer(o, "maxLength"),
        min_length: integer(o, "minLength"),
        pattern: text(o, "pattern"),
        max_items: integer(o, "maxItems"),
        min_items: integer(o, "minItems"),
        unique_items: flag(o, "uniqueItems"),
        max_properties: integer(o, "maxProperties"),
        min_properties: integer(o, "minProperties"),
        required: strings(o.get("required")),
        r#enum: array(o, "enum").map(any).collect(),
        additional_properties: match o.get("additionalProperties") {
            Some(Value::Bool(b)) => Some(Ap::Boolean(*b)),
            Some(s @ Value::Object(_)) => Some(Ap::Schema(Box::new(schema(s)))),
            _ => None,
        }
        .map(|a| pb::AdditionalPropertiesItem { oneof: Some(a) }),
        r#type: o.get("type").map(|t| pb::TypeItem {
            value: strings(Some(t)),
        }),
        items: o.get("items").map(|items| pb::ItemsItem {
            schema: match items {
                Value::Array(each) => each.iter().map(schema).collect(),
                one => vec![schema(one)],
            },
        }),
        all_of: array(o, "allOf").map(schema).collect(),
        // Present but empty differs from absent: kube-openapi reads an object with properties
        // as a kind and one without as a map.
        properties: o.get("properties").map(|p| pb::Properties {
            additional_properties: named_schemas(Some(p)),
        }),
        discriminator: text(o, "discriminator"),
        read_only: flag(o, "readOnly"),
        example: o.get("example").map(any),
        vendor_extension: extensions(o),
    }
}

fn query_parameter(o: &Map<String, Value>) -> pb::QueryParameterSubSchema {
    pb::QueryParameterSubSchema {
        required: flag(o, "required"),
        r#in: text(o, "in"),
        description: text(o, "description"),
        name: text(o, "name"),
        allow_empty_value: flag(o, "allowEmptyValue"),
        r#type: text(o, "type"),
        format: text(o, "format"),
        collection_format: text(o, "collectionFormat"),
        default: o.get("default").map(any),
        unique_items: flag(o, "uniqueItems"),
        r#enum: array(o, "enum").map(any).collect(),
        vendor_extension: extensions(o),
    }
}

fn path_parameter(o: &Map<String, Value>) -> pb::PathParameterSubSchema {
    pb::PathParameterSubSchema {
        required: flag(o, "required"),
        r#in: text(o, "in"),
        description: text(o, "description"),
        name: text(o, "name"),
        r#type: text(o, "type"),
        format: text(o, "format"),
        collection_format: text(o, "collectionFormat"),
        default: o.get("default").map(any),
        unique_items: flag(o, "uniqueItems"),
        r#enum: array(o, "enum").map(any).collect(),
        vendor_extension: extensions(o),
    }
}

/// A `Parameter`, by its `in`; `None` for a location Swagger 2.0 does not define.
fn parameter(o: &Map<String, Value>) -> Option<pb::Parameter> {
    use pb::non_body_parameter::Oneof as Nb;
    use pb::parameter::Oneof as P;
    let non_body = match o.get("in").and_then(Value::as_str)? {
        "body" => {
            return Some(pb::Parameter {
                oneof: Some(P::BodyParameter(pb::BodyParameter {
                    description: text(o, "description"),
                    name: text(o, "name"),
                    r#in: text(o, "in"),
                    required: flag(o, "required"),
                    schema: o.get("schema").map(|s| Box::new(schema(s))),
                    vendor_extension: extensions(o),
                })),
            });
        }
        "header" => Nb::HeaderParameterSubSchema(path_parameter(o)),
        "formData" => Nb::FormDataParameterSubSchema(query_parameter(o)),
        "query" => Nb::QueryParameterSubSchema(query_parameter(o)),
        "path" => Nb::PathParameterSubSchema(path_parameter(o)),
        _ => return None,
    };
    Some(pb::Parameter {
        oneof: Some(P::NonBodyParameter(pb::NonBodyParameter {
            oneof: Some(non_body),
        })),
    })
}

fn json_reference(o: &Map<String, Value>) -> pb::JsonReference {
    pb::JsonReference {
        xref: text(o, "$ref"),
        description: text(o, "description"),
    }
}

/// The `parameters` of an operation or path item; one neither a parameter nor a reference is
/// left out.
fn parameters(o: &Map<String, Value>) -> Vec<pb::ParametersItem> {
    use pb::parameters_item::Oneof as Pi;
    array(o, "parameters")
        .filter_map(|p| {
            let p = object(p);
            let item = if p.contains_key("$ref") {
                Pi::JsonReference(json_reference(p))
            } else {
                Pi::Parameter(parameter(p)?)
            };
            Some(pb::ParametersItem { oneof: Some(item) })
        })
        .collect()
}

fn responses(v: &Value) -> pb::Responses {
    use pb::response_value::Oneof as Rv;
    use pb::schema_item::Oneof as Si;
    pb::Responses {
        response_code: entries(Some(v))
            .map(|(code, r)| {
                let ro = object(r);
                let value = if ro.contains_key("$ref") {
                    Rv::JsonReference(json_reference(ro))
                } else {
                    Rv::Response(pb::Response {
                        description: text(ro, "description"),
                        schema: ro.get("schema").map(|s| pb::SchemaItem {
                            oneof: Some(Si::Schema(Box::new(schema(s)))),
                        }),
                        vendor_extension: extensions(ro),
                    })
                };
                pb::NamedResponseValue {
                    name: code.clone(),
                    value: Some(pb::ResponseValue { oneof: Some(value) }),
                }
            })
            .collect(),
        vendor_extension: extensions(object(v)),
    }
}

fn security(o: &Map<String, Value>) -> Vec<pb::SecurityRequirement> {
    array(o, "security")
        .map(|requirement| pb::SecurityRequirement {
            additional_properties: members(Some(requirement))
                .map(|(name, scopes)| pb::NamedStringArray {
                    name: name.clone(),
                    value: Some(pb::StringArray {
                        value: strings(Some(scopes)),
                    }),
                })
                .collect(),
        })
        .collect()
}

fn operation(v: &Value) -> pb::Operation {
    let o = object(v);
    pb::Operation {
        tags: strings(o.get("tags")),
        summary: text(o, "summary"),
        description: text(o, "description"),
        operation_id: text(o, "operationId"),
        produces: strings(o.get("produces")),
        consumes: strings(o.get("consumes")),
        parameters: parameters(o),
        responses: o.get("responses").map(responses),
        schemes: strings(o.get("schemes")),
        deprecated: flag(o, "deprecated"),
        security: security(o),
        vendor_extension: extensions(o),
    }
}

fn path_item(v: &Value) -> pb::PathItem {
    let o = object(v);
    let op = |method: &str| o.get(method).map(operation);
    pb::PathItem {
        xref: text(o, "$ref"),
        get: op("get"),
        put: op("put"),
        post: op("post"),
        delete: op("delete"),
        options: op("options"),
        head: op("head"),
        patch: op("patch"),
        parameters: parameters(o),
        vendor_extension: extensions(o),
    }
}

/// A `SecurityDefinitionsItem`, by its `type`; `None` for one this module leaves out.
fn security_definition(v: &Value) -> Option<pb::SecurityDefinitionsItem> {
    use pb::security_definitions_item::Oneof as Sd;
    let o = object(v);
    let item = match o.get("type").and_then(Value::as_str)? {
        "basic" => Sd::BasicAuthenticationSecurity(pb::BasicAuthenticationSecurity {
            r#type: text(o, "type"),
            description: text(o, "description"),
            vendor_extension: extensions(o),
        }),
        "apiKey" => Sd::ApiKeySecurity(pb::ApiKeySecurity {
            r#type: text(o, "type"),
            name: text(o, "name"),
            r#in: text(o, "in"),
            description: text(o, "description"),
            vendor_extension: extensions(o),
        }),
        _ => return None,
    };
    Some(pb::SecurityDefinitionsItem { oneof: Some(item) })
}

/// The `openapi.v2.Document` of a Swagger 2.0 document. Anything that is not an object is an
/// empty document.
pub fn document(doc: &Value) -> pb::Document {
    let o = object(doc);
    pb::Document {
        swagger: text(o, "swagger"),
        info: o.get("info").map(|i| {
            let io = object(i);
            pb::Info {
                title: text(io, "title"),
                version: text(io, "version"),
                description: text(io, "description"),
                vendor_extension: extensions(io),
            }
        }),
        host: text(o, "host"),
        base_path: text(o, "basePath"),
        schemes: strings(o.get("schemes")),
        consumes: strings(o.get("consumes")),
        produces: strings(o.get("produces")),
        paths: o.get("paths").map(|p| pb::Paths {
            vendor_extension: extensions(object(p)),
            path: entries(Some(p))
                .map(|(path, item)| pb::NamedPathItem {
                    name: path.clone(),
                    value: Some(path_item(item)),
                })
                .collect(),
        }),
        definitions: o.get("definitions").map(|d| pb::Definitions {
            additional_properties: named_schemas(Some(d)),
        }),
        security: security(o),
        security_definitions: o
            .get("securityDefinitions")
            .map(|s| pb::SecurityDefinitions {
                additional_properties: members(Some(s))
                    .filter_map(|(name, def)| {
                        Some(pb::NamedSecurityDefinitionsItem {
                            name: name.clone(),
                            value: Some(security_definition(def)?),
                        })
                    })
                    .collect(),
            }),
        vendor_extension: extensions(o),
    }
}

/// The protobuf bytes of [`document`].
pub fn encode(doc: &Value) -> Vec<u8> {
    document(doc).encode_to_vec()
}

#[cfg(test)]
mod tests;
