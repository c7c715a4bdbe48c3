//! Building responses: content negotiation (JSON, YAML, Table, PartialObjectMetadata), Status
//! errors and warning headers.

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use k4t_api::error::ApiError;
use k4t_api::registry::ResourceDef;
use k4t_api::table;
use serde_json::{Value, json};

pub const JSON: &str = "application/json";
pub const YAML: &str = "application/yaml";
pub const TABLE_CONTENT_TYPE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";
pub const PARTIAL_CONTENT_TYPE: &str =
    "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io";
pub const PARTIAL_LIST_CONTENT_TYPE: &str =
    "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io";

/// The representation a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Json,
    Yaml,
    /// A `meta.k8s.io/v1` Table.
    Table,
    /// `PartialObjectMetadata` / `PartialObjectMetadataList`.
    Metadata,
}

/// Picks the first media range in `Accept` the server can produce; `None` if none (406).
pub fn negotiate(accept: Option<&str>) -> Option<Output> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Some(Output::Json);
    };
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let essence = parts.next().unwrap_or("").to_ascii_lowercase();
        let mut as_ = None;
        let mut group = None;
        for p in parts {
            if let Some((k, v)) = p.split_once('=') {
                match k.trim() {
                    "as" => as_ = Some(v.trim().to_owned()),
                    "g" => group = Some(v.trim().to_owned()),
                    _ => {}
                }
            }
        }
        match essence.as_str() {
            "application/json" | "application/*" | "*/*" => {
                match (as_.as_deref(), group.as_deref()) {
                    (None, _) => return Some(Output::Json),
                    (Some("Table"), Some("meta.k8s.io")) => return Some(Output::Table),
                    (
                        Some("PartialObjectMetadata" | "PartialObjectMetadataList"),
                        Some("meta.k8s.io"),
                    ) => {
                        return Some(Output::Metadata);
                    }
                    _ => continue,
                }
            }
            "application/yaml" if as_.is_none() => return Some(Output::Yaml),
            _ => continue,
        }
    }
    None
}

/// A response with a body and content type.
pub fn bytes(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    let mut resp = Response::new(Body::from(body.into()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static(JSON)),
    );
    resp
}

/// A JSON value as a response.
pub fn json_value(status: StatusCode, v: &Value) -> Response<Body> {
    bytes(status, JSON, serde_json::to_vec(v).unwrap_or_default())
}

/// The Status response of an error.
pub fn error(err: &ApiError) -> Response<Body> {
    let status = StatusCode::from_u16(err.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = json_value(status, &err.status_body());
    if err.code() == 401 {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"kubernetes-master\""),
        );
    }
    resp
}

/// Adds `Warning: 299 - "<text>"` headers, escaped so kubectl does not drop them.
pub fn add_warnings(resp: &mut Response<Body>, warnings: &[String]) {
    for w in warnings {
        let escaped = w.replace('\\', "\\\\").replace('"', "\\\"");
        if let Ok(v) = HeaderValue::from_str(&format!("299 - \"{escaped}\"")) {
            resp.headers_mut().append(header::WARNING, v);
        }
    }
}

/// Encodes one object in the requested output.
pub fn object(
    status: StatusCode,
    out: Output,
    def: &ResourceDef,
    obj: &[u8],
    now: jiff::Timestamp,
) -> Response<Body> {
    match out {
        Output::Json => bytes(status, JSON, Bytes::copy_from_slice(obj)),
        Output::Yaml => match serde_json::from_slice::<Value>(obj) {
            Ok(v) => bytes(
                status,
                YAML,
                serde_saphyr::to_string(&v).unwrap_or_default(),
            ),
            Err(_) => bytes(status, JSON, Bytes::copy_from_slice(obj)),
        },
        Output::Table => {
            let v: Value = serde_json::from_slice(obj).unwrap_or(Value::Null);
            let rv = v
                .pointer("/metadata/resourceVersion")
                .cloned()
                .unwrap_or(Value::Null);
            let t = table_json(
                def,
                vec![v],
                &json!({"resourceVersion": rv}),
                IncludeObject::Metadata,
                now,
                true,
            );
            bytes(
                status,
                TABLE_CONTENT_TYPE,
                serde_json::to_vec(&t).unwrap_or_default(),
            )
        }
        Output::Metadata => {
            let v: Value = serde_json::from_slice(obj).unwrap_or(Value::Null);
            bytes(
                status,
                PARTIAL_CONTENT_TYPE,
                serde_json::to_vec(&partial(&v)).unwrap_or_default(),
            )
        }
    }
}

/// What Table rows carry (`?includeObject=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    None,
    Metadata,
    Object,
}

impl IncludeObject {
    pub fn parse(s: Option<&str>) -> Result<Self, ApiError> {
        match s {
            None | Some("") | Some("Metadata") => Ok(Self::Metadata),
            Some("None") => Ok(Self::None),
            Some("Object") => Ok(Self::Object),
            Some(other) => Err(ApiError::BadRequest(format!(
                "includeObject: unsupported value {other:?}"
            ))),
        }
    }
}

/// An object's `PartialObjectMetadata`.
pub fn partial(obj: &Value) -> Value {
    let mut meta = obj.get("metadata").cloned().unwrap_or_else(|| json!({}));
    if let Some(m) = meta.as_object_mut() {
        m.remove("managedFields");
    }
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta})
}

/// A Table of `objs` with the kind's columns.
pub fn table_json(
    def: &ResourceDef,
    objs: Vec<Value>,
    list_meta: &Value,
    include: IncludeObject,
    now: jiff::Timestamp,
    with_columns: bool,
) -> Value {
    // The objects are consumed: their metadata moves into the rows instead of being copied.
    let rows: Vec<Value> = objs
        .into_iter()
        .map(|mut o| {
            let cells = table::cells(def, &o, now);
            let object = match include {
                IncludeObject::None => None,
                IncludeObject::Metadata => {
                    let mut meta = o.get_mut("metadata").map(Value::take).unwrap_or_else(|| json!({}));
                    if let Some(m) = meta.as_object_mut() {
                        m.remove("managedFields");
                    }
                    Some(json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta}))
                }
                IncludeObject::Object => Some(o),
            };
            let mut row = serde_json::Map::with_capacity(2);
            row.insert("cells".into(), Value::Array(cells));
            if let Some(obj) = object {
                row.insert("object".into(), obj);
            }
            Value::Object(row)
        })
        .collect();
    let mut t = json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "rows": rows,
    });
    if with_columns {
        t["columnDefinitions"] = columns_json(def);
    }
    t
}

pub fn columns_json(def: &ResourceDef) -> Value {
    Value::Array(
        table::columns(def)
            .into_iter()
            .map(|c| {
                json!({"name": c.name, "type": c.ty, "format": c.format, "description": c.description, "priority": c.priority})
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_follows_kubectl() {
        let kubectl_get = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(negotiate(Some(kubectl_get)), Some(Output::Table));
        assert_eq!(
            negotiate(Some("application/vnd.kubernetes.protobuf,application/json")),
            Some(Output::Json)
        );
        assert_eq!(negotiate(Some("application/json, */*")), Some(Output::Json));
        assert_eq!(negotiate(None), Some(Output::Json));
        assert_eq!(negotiate(Some("application/yaml")), Some(Output::Yaml));
        assert_eq!(negotiate(Some("application/vnd.kubernetes.protobuf")), None);
        assert_eq!(
            negotiate(Some(
                "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
            )),
            Some(Output::Metadata)
        );
    }

    #[test]
    fn warnings_are_escaped() {
        let mut r = bytes(StatusCode::OK, JSON, "{}");
        add_warnings(&mut r, &["unknown field \"spec.x\"".to_owned()]);
        assert_eq!(
            r.headers()[header::WARNING],
            "299 - \"unknown field \\\"spec.x\\\"\""
        );
    }
}
