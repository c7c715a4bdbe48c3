//! Decoding request bodies into canonical objects, with the strict field checks of
//! `fieldValidation`.
//!
//! A body is parsed into a JSON value (remembering duplicate keys, which a map would silently
//! collapse), then decoded into the k8s-openapi type of its kind (remembering the fields the
//! type does not know), then encoded again: the canonical JSON the server stores.

use std::fmt;

use serde::Serialize;
use serde::de::{DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::registry::ResourceDef;

/// The largest request body the API accepts, as Kubernetes (3 MiB).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// How to treat unknown and duplicate fields (`?fieldValidation=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    Ignore,
    /// Accept, and warn about each problem (the default when unset).
    #[default]
    Warn,
    Strict,
}

impl FieldValidation {
    pub fn parse(s: Option<&str>) -> Result<Self, ApiError> {
        match s {
            None | Some("") => Ok(Self::Warn),
            Some("Ignore") => Ok(Self::Ignore),
            Some("Warn") => Ok(Self::Warn),
            Some("Strict") => Ok(Self::Strict),
            Some(other) => Err(ApiError::BadRequest(format!(
                "fieldValidation parameter unsupported: {other}. Must be one of Ignore, Warn, Strict"
            ))),
        }
    }
}

/// The media types a body may come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    Json,
    Yaml,
    /// `application/vnd.kubernetes.protobuf`, which kubectl's typed commands
    /// (`create namespace|configmap|secret|deployment…`) send.
    Protobuf,
}

impl BodyFormat {
    /// The format of a `Content-Type`; a missing one is JSON (the Python client sends none).
    pub fn from_content_type(content_type: Option<&str>) -> Result<Self, ApiError> {
        let Some(ct) = content_type else {
            return Ok(Self::Json);
        };
        let essence = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "" | "application/json" | "*/*" => Ok(Self::Json),
            "application/yaml" | "application/x-yaml" | "text/yaml" => Ok(Self::Yaml),
            crate::protobuf::MEDIA_TYPE => Ok(Self::Protobuf),
            _ => Err(unsupported_media_type(&essence)),
        }
    }
}

/// The 415 for a body in a format the API does not read.
pub fn unsupported_media_type(media_type: &str) -> ApiError {
    ApiError::UnsupportedMediaType(format!(
        "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {media_type})"
    ))
}

/// A parsed body: the value and the paths of keys that appeared twice.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub value: Value,
    pub duplicates: Vec<String>,
}

/// Parses a body. The error text is the parser's.
pub fn parse(body: &[u8], format: BodyFormat) -> Result<Parsed, String> {
    match format {
        BodyFormat::Json => parse_json(body),
        BodyFormat::Yaml => {
            let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
            let value: Value = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
            Ok(Parsed {
                value,
                duplicates: Vec::new(),
            })
        }
        BodyFormat::Protobuf => crate::protobuf::decode_body(body)
            .map(|value| Parsed {
                value,
                duplicates: Vec::new(),
            })
            .map_err(|e| e.to_string()),
    }
}

/// Parses JSON, remembering duplicate keys by path (`metadata.name`, `spec.containers[0].image`).
pub fn parse_json(body: &[u8]) -> Result<Parsed, String> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let mut duplicates = Vec::new();
    let value = TrackedValue {
        path: &mut Vec::new(),
        duplicates: &mut duplicates,
    }
    .deserialize(&mut de)
    .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(Parsed { value, duplicates })
}

#[derive(Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

fn render_path(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => {
                out.push_str(&format!("[{i}]"));
            }
        }
    }
    out
}

struct TrackedValue<'a> {
    path: &'a mut Vec<Seg>,
    duplicates: &'a mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for TrackedValue<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TrackedValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        loop {
            self.path.push(Seg::Index(out.len()));
            let next = seq.next_element_seed(TrackedValue {
                path: self.path,
                duplicates: self.duplicates,
            });
            self.path.pop();
            match next? {
                Some(v) => out.push(v),
                None => break,
            }
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            self.path.push(Seg::Key(key.clone()));
            let value = map.next_value_seed(TrackedValue {
                path: self.path,
                duplicates: self.duplicates,
            });
            if out.contains_key(&key) {
                self.duplicates.push(render_path(self.path));
            }
            self.path.pop();
            out.insert(key, value?);
        }
        Ok(Value::Object(out))
    }
}

/// A value decoded into its kind's type and encoded again.
#[derive(Debug, Clone, PartialEq)]
pub struct Canonical {
    pub value: Value,
    /// Paths of fields the kind does not have (dropped).
    pub unknown: Vec<String>,
}

/// Decodes `value` as `K` and encodes it back, collecting unknown fields.
pub fn canonicalize_as<K: DeserializeOwned + Serialize>(value: Value) -> Result<Canonical, String> {
    let mut unknown = Vec::new();
    let typed: K = serde_ignored::deserialize(value, |path| unknown.push(ignored_path(&path)))
        .map_err(|e: serde_json::Error| e.to_string())?;
    let value = serde_json::to_value(&typed).map_err(|e| e.to_string())?;
    Ok(Canonical { value, unknown })
}

fn ignored_path(path: &serde_ignored::Path<'_>) -> String {
    fn walk(path: &serde_ignored::Path<'_>, out: &mut String) {
        use serde_ignored::Path;
        match path {
            Path::Root => {}
            Path::Seq { parent, index } => {
                walk(parent, out);
                out.push_str(&format!("[{index}]"));
            }
            Path::Map { parent, key } => {
                walk(parent, out);
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Path::Some { parent }
            | Path::NewtypeStruct { parent }
            | Path::NewtypeVariant { parent } => walk(parent, out),
        }
    }
    let mut out = String::new();
    walk(path, &mut out);
    out
}

/// Decodes `value` into the type of `def` and encodes it back.
pub fn canonicalize(def: &ResourceDef, value: Value) -> Result<Canonical, String> {
    use k8s_openapi::api::{apps, coordination, core, discovery, events};
    match (def.group, def.kind) {
        ("", "ConfigMap") => canonicalize_as::<core::v1::ConfigMap>(value),
        ("", "Endpoints") => canonicalize_as::<core::v1::Endpoints>(value),
        ("", "Event") => canonicalize_as::<core::v1::Event>(value),
        ("", "Namespace") => canonicalize_as::<core::v1::Namespace>(value),
        ("", "Node") => canonicalize_as::<core::v1::Node>(value),
        ("", "Pod") => canonicalize_as::<core::v1::Pod>(value),
        ("", "Secret") => canonicalize_as::<core::v1::Secret>(value),
        ("", "ServiceAccount") => canonicalize_as::<core::v1::ServiceAccount>(value),
        ("", "Service") => canonicalize_as::<core::v1::Service>(value),
        ("apps", "Deployment") => canonicalize_as::<apps::v1::Deployment>(value),
        ("apps", "ReplicaSet") => canonicalize_as::<apps::v1::ReplicaSet>(value),
        ("coordination.k8s.io", "Lease") => canonicalize_as::<coordination::v1::Lease>(value),
        ("discovery.k8s.io", "EndpointSlice") => {
            canonicalize_as::<discovery::v1::EndpointSlice>(value)
        }
        ("events.k8s.io", "Event") => canonicalize_as::<events::v1::Event>(value),
        ("settings.k8s.io", "PodPreset") => canonicalize_as::<crate::podpreset::PodPreset>(value),
        (group, kind) => Err(format!("no codec for {kind}.{group}")),
    }
}

/// A decoded request body.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The canonical object (unknown fields dropped).
    pub value: Value,
    /// `Warning` texts for unknown and duplicate fields when validation is `Warn`.
    pub warnings: Vec<String>,
}

/// Decodes the body of a create or update of `def`, applying `fieldValidation`.
pub fn decode_object(
    def: &ResourceDef,
    body: &[u8],
    format: BodyFormat,
    validation: FieldValidation,
) -> Result<Decoded, ApiError> {
    if format == BodyFormat::Protobuf {
        let value = crate::protobuf::decode_body(body).map_err(|e| match e {
            crate::protobuf::ProtobufError::UnsupportedKind { .. } => {
                unsupported_media_type(crate::protobuf::MEDIA_TYPE)
            }
            other => ApiError::BadRequest(format!(
                "the object provided is unrecognized (must be of type {}): {other}",
                def.kind
            )),
        })?;
        return decode_value(
            def,
            Parsed {
                value,
                duplicates: Vec::new(),
            },
            validation,
        );
    }
    let parsed = parse(body, format).map_err(|e| {
        ApiError::BadRequest(format!(
            "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: {e}",
            def.kind
        ))
    })?;
    decode_value(def, parsed, validation)
}

/// Like [`decode_object`] for an already parsed body (e.g. the result of a patch).
pub fn decode_value(
    def: &ResourceDef,
    parsed: Parsed,
    validation: FieldValidation,
) -> Result<Decoded, ApiError> {
    let Parsed {
        mut value,
        duplicates,
    } = parsed;
    let Some(obj) = value.as_object_mut() else {
        return Err(ApiError::BadRequest(format!(
            "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: expected an object",
            def.kind
        )));
    };
    let expected_version = def.api_version();
    match obj.get("apiVersion") {
        None => {
            obj.insert("apiVersion".into(), Value::String(expected_version.clone()));
        }
        Some(Value::String(v)) if *v == expected_version => {}
        Some(Value::String(v)) => {
            return Err(ApiError::BadRequest(format!(
                "the API version in the data ({v}) does not match the expected API version ({expected_version})"
            )));
        }
        Some(_) => return Err(cannot_handle(def, "apiVersion must be a string")),
    }
    match obj.get("kind") {
        None => {
            obj.insert("kind".into(), Value::String(def.kind.to_owned()));
        }
        Some(Value::String(k)) if k == def.kind => {}
        Some(Value::String(k)) => {
            return Err(ApiError::BadRequest(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                def.kind
            )));
        }
        Some(_) => return Err(cannot_handle(def, "kind must be a string")),
    }
    let canonical = canonicalize(def, value).map_err(|e| cannot_handle(def, &e))?;
    let mut problems: Vec<String> = canonical
        .unknown
        .iter()
        .map(|p| format!("unknown field {p:?}"))
        .collect();
    problems.extend(duplicates.iter().map(|p| format!("duplicate field {p:?}")));
    let warnings = match validation {
        FieldValidation::Ignore => Vec::new(),
        FieldValidation::Warn => problems,
        FieldValidation::Strict if problems.is_empty() => Vec::new(),
        FieldValidation::Strict => {
            return Err(cannot_handle(
                def,
                &format!("strict decoding error: {}", problems.join(", ")),
            ));
        }
    };
    Ok(Decoded {
        value: canonical.value,
        warnings,
    })
}

fn cannot_handle(def: &ResourceDef, detail: &str) -> ApiError {
    ApiError::BadRequest(format!(
        "{kind} in version {version:?} cannot be handled as a {kind}: {detail}",
        kind = def.kind,
        version = def.version
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::find;

    fn pods() -> &'static ResourceDef {
        find("", "v1", "pods").expect("pods")
    }

    #[test]
    fn duplicates_are_reported_with_paths() {
        let p = parse_json(br#"{"a":1,"b":{"c":[{"d":1,"d":2}]},"a":3}"#).unwrap();
        assert_eq!(p.duplicates, vec!["b.c[0].d".to_owned(), "a".to_owned()]);
        assert_eq!(p.value["a"], 3);
    }

    #[test]
    fn strict_rejects_unknown_and_duplicate_fields() {
        let body = br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x","name":"y"},"spec":{"bogus":1,"containers":[{"name":"c","image":"i","imagee":"j"}]}}"#;
        let err =
            decode_object(pods(), body, BodyFormat::Json, FieldValidation::Strict).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: unknown field \"spec.bogus\", unknown field \"spec.containers[0].imagee\", duplicate field \"metadata.name\""
        );
        let ok = decode_object(pods(), body, BodyFormat::Json, FieldValidation::Warn).unwrap();
        assert_eq!(ok.warnings.len(), 3);
        assert!(ok.value["spec"].get("bogus").is_none());
        let ok = decode_object(pods(), body, BodyFormat::Json, FieldValidation::Ignore).unwrap();
        assert!(ok.warnings.is_empty());
    }

    #[test]
    fn wrong_version_and_malformed_bodies_are_bad_requests() {
        let err = decode_object(
            pods(),
            br#"{"apiVersion":"apps/v1","kind":"Pod"}"#,
            BodyFormat::Json,
            FieldValidation::Strict,
        )
        .unwrap_err();
        assert_eq!(err.code(), 400);
        let err = decode_object(
            pods(),
            b"{not json",
            BodyFormat::Json,
            FieldValidation::Strict,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the object provided is unrecognized (must be of type Pod)"),
            "{err}"
        );
        let err = decode_object(
            pods(),
            br#"{"spec":{"containers":"x"}}"#,
            BodyFormat::Json,
            FieldValidation::Strict,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Pod in version \"v1\" cannot be handled as a Pod: "),
            "{err}"
        );
    }

    #[test]
    fn yaml_bodies_decode() {
        let body = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: c\n    image: busybox\n";
        let d = decode_object(pods(), body, BodyFormat::Yaml, FieldValidation::Strict).unwrap();
        assert_eq!(d.value["metadata"]["name"], "web");
        assert_eq!(
            BodyFormat::from_content_type(Some("application/json; charset=utf-8")).unwrap(),
            BodyFormat::Json
        );
        assert_eq!(
            BodyFormat::from_content_type(None).unwrap(),
            BodyFormat::Json
        );
        assert_eq!(
            BodyFormat::from_content_type(Some("application/vnd.kubernetes.protobuf")).unwrap(),
            BodyFormat::Protobuf
        );
        assert_eq!(
            BodyFormat::from_content_type(Some("application/cbor"))
                .unwrap_err()
                .code(),
            415
        );
    }
}
