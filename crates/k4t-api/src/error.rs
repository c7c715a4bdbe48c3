//! API errors and the one mapping from them to a Kubernetes `Status`.
//!
//! Messages, reasons and codes follow apimachinery's `errors` and `field` packages, because
//! kubectl builds what it prints from them (`Error from server (NotFound): pods "x" not found`,
//! `The Pod "x" is invalid: spec.containers[0].image: Required value`).

use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    ListMeta, Status, StatusCause, StatusDetails,
};

/// What kind of problem a field has; the variants and their texts are apimachinery's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldErrorType {
    Required,
    Invalid,
    NotSupported,
    Duplicate,
    Forbidden,
    TooLong,
    TooMany,
    NotFound,
    Internal,
}

impl FieldErrorType {
    /// The text that starts the error body, e.g. "Required value".
    pub fn text(self) -> &'static str {
        match self {
            Self::Required => "Required value",
            Self::Invalid => "Invalid value",
            Self::NotSupported => "Unsupported value",
            Self::Duplicate => "Duplicate value",
            Self::Forbidden => "Forbidden",
            Self::TooLong => "Too long",
            Self::TooMany => "Too many",
            Self::NotFound => "Not found",
            Self::Internal => "Internal error",
        }
    }

    /// The `StatusCause.reason` of this type, e.g. "FieldValueRequired".
    pub fn cause_reason(self) -> &'static str {
        match self {
            Self::Required => "FieldValueRequired",
            Self::Invalid => "FieldValueInvalid",
            Self::NotSupported => "FieldValueNotSupported",
            Self::Duplicate => "FieldValueDuplicate",
            Self::Forbidden => "FieldValueForbidden",
            Self::TooLong => "FieldValueTooLong",
            Self::TooMany => "FieldValueTooMany",
            Self::NotFound => "FieldValueNotFound",
            Self::Internal => "InternalError",
        }
    }
}

/// A value shown in an error body, printed the way Go's `%#v` prints it.
#[derive(Debug, Clone, PartialEq)]
pub enum BadValue {
    Str(String),
    Int(i64),
    Bool(bool),
    /// Already formatted (for structs, lists and maps).
    Raw(String),
}

impl fmt::Display for BadValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadValue::Str(s) => write!(f, "{}", go_quote(s)),
            BadValue::Int(i) => write!(f, "{i}"),
            BadValue::Bool(b) => write!(f, "{b}"),
            BadValue::Raw(s) => f.write_str(s),
        }
    }
}

impl From<&str> for BadValue {
    fn from(s: &str) -> Self {
        BadValue::Str(s.to_owned())
    }
}
impl From<String> for BadValue {
    fn from(s: String) -> Self {
        BadValue::Str(s)
    }
}
impl From<&String> for BadValue {
    fn from(s: &String) -> Self {
        BadValue::Str(s.clone())
    }
}
impl From<i64> for BadValue {
    fn from(i: i64) -> Self {
        BadValue::Int(i)
    }
}
impl From<i32> for BadValue {
    fn from(i: i32) -> Self {
        BadValue::Int(i64::from(i))
    }
}
impl From<bool> for BadValue {
    fn from(b: bool) -> Self {
        BadValue::Bool(b)
    }
}

/// Quotes a string as Go's `%q` does for printable text.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One problem with one field, as apimachinery's `field.Error`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub ty: FieldErrorType,
    /// The path, e.g. `spec.containers[0].image`.
    pub field: String,
    pub value: Option<BadValue>,
    pub detail: String,
}

impl FieldError {
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            ty: FieldErrorType::Required,
            field: field.into(),
            value: None,
            detail: detail.into(),
        }
    }
    pub fn invalid(
        field: impl Into<String>,
        value: impl Into<BadValue>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            ty: FieldErrorType::Invalid,
            field: field.into(),
            value: Some(value.into()),
            detail: detail.into(),
        }
    }
    pub fn not_supported<S: AsRef<str>>(
        field: impl Into<String>,
        value: impl Into<BadValue>,
        supported: &[S],
    ) -> Self {
        let detail = if supported.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = supported.iter().map(|s| go_quote(s.as_ref())).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self {
            ty: FieldErrorType::NotSupported,
            field: field.into(),
            value: Some(value.into()),
            detail,
        }
    }
    pub fn duplicate(field: impl Into<String>, value: impl Into<BadValue>) -> Self {
        Self {
            ty: FieldErrorType::Duplicate,
            field: field.into(),
            value: Some(value.into()),
            detail: String::new(),
        }
    }
    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            ty: FieldErrorType::Forbidden,
            field: field.into(),
            value: None,
            detail: detail.into(),
        }
    }
    pub fn too_long(field: impl Into<String>, max_bytes: usize) -> Self {
        Self {
            ty: FieldErrorType::TooLong,
            field: field.into(),
            value: None,
            detail: format!("may not be more than {max_bytes} bytes"),
        }
    }
    pub fn too_many(field: impl Into<String>, actual: usize, max: usize) -> Self {
        Self {
            ty: FieldErrorType::TooMany,
            field: field.into(),
            value: Some(BadValue::Int(actual as i64)),
            detail: format!("must have at most {max} items"),
        }
    }
    pub fn not_found(field: impl Into<String>, value: impl Into<BadValue>) -> Self {
        Self {
            ty: FieldErrorType::NotFound,
            field: field.into(),
            value: Some(value.into()),
            detail: String::new(),
        }
    }

    /// The error without its field, as apimachinery's `ErrorBody`.
    pub fn body(&self) -> String {
        let mut s = match (self.ty, &self.value) {
            (
                FieldErrorType::Required
                | FieldErrorType::Forbidden
                | FieldErrorType::TooLong
                | FieldErrorType::Internal,
                _,
            )
            | (_, None) => self.ty.text().to_owned(),
            (ty, Some(v)) => format!("{}: {v}", ty.text()),
        };
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

/// Builds field paths such as `spec.containers[0].ports[1].name`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPath(String);

impl FieldPath {
    pub fn new(root: &str) -> Self {
        Self(root.to_owned())
    }
    pub fn child(&self, name: &str) -> Self {
        if self.0.is_empty() {
            Self(name.to_owned())
        } else {
            Self(format!("{}.{name}", self.0))
        }
    }
    pub fn index(&self, i: usize) -> Self {
        Self(format!("{}[{i}]", self.0))
    }
    pub fn key(&self, k: &str) -> Self {
        Self(format!("{}[{k}]", self.0))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&FieldPath> for String {
    fn from(p: &FieldPath) -> String {
        p.0.clone()
    }
}
impl From<FieldPath> for String {
    fn from(p: FieldPath) -> String {
        p.0
    }
}

/// A resource as named in errors: `pods`, `deployments.apps`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupResource {
    pub group: String,
    pub resource: String,
}

impl GroupResource {
    pub fn new(group: &str, resource: &str) -> Self {
        Self {
            group: group.to_owned(),
            resource: resource.to_owned(),
        }
    }
}

impl fmt::Display for GroupResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            f.write_str(&self.resource)
        } else {
            write!(f, "{}.{}", self.resource, self.group)
        }
    }
}

/// A kind as named in errors: `Pod`, `Deployment.apps`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupKind {
    pub group: String,
    pub kind: String,
}

impl GroupKind {
    pub fn new(group: &str, kind: &str) -> Self {
        Self {
            group: group.to_owned(),
            kind: kind.to_owned(),
        }
    }
}

impl fmt::Display for GroupKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            f.write_str(&self.kind)
        } else {
            write!(f, "{}.{}", self.kind, self.group)
        }
    }
}

/// Every error the API can answer with. [`ApiError::to_status`] is the only place that turns
/// one into a `Status`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("{resource} {name:?} not found")]
    NotFound {
        resource: GroupResource,
        name: String,
    },
    #[error("{resource} {name:?} already exists")]
    AlreadyExists {
        resource: GroupResource,
        name: String,
    },
    /// An optimistic-concurrency or precondition failure.
    #[error("Operation cannot be fulfilled on {resource} {name:?}: {message}")]
    Conflict {
        resource: GroupResource,
        name: String,
        message: String,
    },
    #[error("{}", invalid_message(kind, name, errors))]
    Invalid {
        kind: GroupKind,
        name: String,
        errors: Vec<FieldError>,
    },
    #[error("{0}")]
    BadRequest(String),
    /// A 422 without field causes (e.g. a JSON patch that cannot apply).
    #[error("{0}")]
    Unprocessable(String),
    #[error("Unauthorized")]
    Unauthorized,
    #[error("{}", forbidden_message(resource, name, message))]
    Forbidden {
        resource: GroupResource,
        name: String,
        message: String,
    },
    #[error("{action} is not supported on resources of kind {:?}", resource.to_string())]
    MethodNotAllowed {
        resource: GroupResource,
        action: String,
    },
    #[error("Request entity too large: {0}")]
    RequestEntityTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    NotAcceptable(String),
    /// A resource version that was compacted away (watch, list, continue).
    #[error("{0}")]
    Expired(String),
    #[error("{0}")]
    Gone(String),
    /// A path that names no resource (404 without details).
    #[error("the server could not find the requested resource")]
    UnknownPath,
    #[error("{0}")]
    Timeout(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("{0}")]
    ServiceUnavailable(String),
    #[error("Internal error occurred: {0}")]
    Internal(String),
}

fn invalid_message(kind: &GroupKind, name: &str, errors: &[FieldError]) -> String {
    let mut msgs: Vec<String> = Vec::new();
    for e in errors {
        let m = e.to_string();
        if !msgs.contains(&m) {
            msgs.push(m);
        }
    }
    match msgs.len() {
        0 => format!("{kind} {} is invalid", go_quote(name)),
        1 => format!("{kind} {} is invalid: {}", go_quote(name), msgs[0]),
        _ => format!(
            "{kind} {} is invalid: [{}]",
            go_quote(name),
            msgs.join(", ")
        ),
    }
}

fn forbidden_message(resource: &GroupResource, name: &str, message: &str) -> String {
    if name.is_empty() {
        format!("{resource} is forbidden: {message}")
    } else {
        format!("{resource} {} is forbidden: {message}", go_quote(name))
    }
}

impl ApiError {
    pub fn not_found(group: &str, resource: &str, name: &str) -> Self {
        Self::NotFound {
            resource: GroupResource::new(group, resource),
            name: name.to_owned(),
        }
    }
    pub fn already_exists(group: &str, resource: &str, name: &str) -> Self {
        Self::AlreadyExists {
            resource: GroupResource::new(group, resource),
            name: name.to_owned(),
        }
    }
    /// The 409 an update with a stale resourceVersion gets.
    pub fn conflict_modified(group: &str, resource: &str, name: &str) -> Self {
        Self::Conflict {
            resource: GroupResource::new(group, resource),
            name: name.to_owned(),
            message: "the object has been modified; please apply your changes to the latest version and try again"
                .to_owned(),
        }
    }
    pub fn invalid(group: &str, kind: &str, name: &str, errors: Vec<FieldError>) -> Self {
        Self::Invalid {
            kind: GroupKind::new(group, kind),
            name: name.to_owned(),
            errors,
        }
    }
    pub fn forbidden(group: &str, resource: &str, name: &str, message: impl Into<String>) -> Self {
        Self::Forbidden {
            resource: GroupResource::new(group, resource),
            name: name.to_owned(),
            message: message.into(),
        }
    }

    pub fn code(&self) -> u16 {
        match self {
            Self::NotFound { .. } | Self::UnknownPath => 404,
            Self::AlreadyExists { .. } | Self::Conflict { .. } => 409,
            Self::Invalid { .. } | Self::Unprocessable(_) => 422,
            Self::BadRequest(_) => 400,
            Self::Unauthorized => 401,
            Self::Forbidden { .. } => 403,
            Self::MethodNotAllowed { .. } => 405,
            Self::NotAcceptable(_) => 406,
            Self::RequestEntityTooLarge(_) => 413,
            Self::UnsupportedMediaType(_) => 415,
            Self::Expired(_) | Self::Gone(_) => 410,
            Self::TooManyRequests(_) => 429,
            Self::Internal(_) => 500,
            Self::ServiceUnavailable(_) => 503,
            Self::Timeout(_) => 504,
        }
    }

    pub fn reason(&self) -> &'static str {
        match self {
            Self::NotFound { .. } | Self::UnknownPath => "NotFound",
            Self::AlreadyExists { .. } => "AlreadyExists",
            Self::Conflict { .. } => "Conflict",
            Self::Invalid { .. } | Self::Unprocessable(_) => "Invalid",
            Self::BadRequest(_) => "BadRequest",
            Self::Unauthorized => "Unauthorized",
            Self::Forbidden { .. } => "Forbidden",
            Self::MethodNotAllowed { .. } => "MethodNotAllowed",
            Self::NotAcceptable(_) => "NotAcceptable",
            Self::RequestEntityTooLarge(_) => "RequestEntityTooLarge",
            Self::UnsupportedMediaType(_) => "UnsupportedMediaType",
            Self::Expired(_) => "Expired",
            Self::Gone(_) => "Gone",
            Self::TooManyRequests(_) => "TooManyRequests",
            Self::Internal(_) => "InternalError",
            Self::ServiceUnavailable(_) => "ServiceUnavailable",
            Self::Timeout(_) => "Timeout",
        }
    }

    /// The `Status` object the API answers this error with.
    /// The `Status` as a response body: with `kind`, `apiVersion` and `metadata`, which
    /// clients need to recognise it.
    pub fn status_body(&self) -> serde_json::Value {
        let mut body = serde_json::to_value(self.to_status())
            .unwrap_or_else(|_| serde_json::Value::Object(Default::default()));
        if let Some(m) = body.as_object_mut() {
            m.insert("kind".into(), "Status".into());
            m.insert("apiVersion".into(), "v1".into());
            m.entry("metadata")
                .or_insert_with(|| serde_json::Value::Object(Default::default()));
        }
        body
    }

    pub fn to_status(&self) -> Status {
        let details = match self {
            Self::NotFound { resource, name }
            | Self::AlreadyExists { resource, name }
            | Self::Conflict { resource, name, .. }
            | Self::Forbidden { resource, name, .. } => Some(StatusDetails {
                group: non_empty(&resource.group),
                kind: Some(resource.resource.clone()),
                name: non_empty(name),
                ..Default::default()
            }),
            Self::MethodNotAllowed { resource, .. } => Some(StatusDetails {
                group: non_empty(&resource.group),
                kind: Some(resource.resource.clone()),
                ..Default::default()
            }),
            Self::Invalid { kind, name, errors } => Some(StatusDetails {
                group: non_empty(&kind.group),
                kind: Some(kind.kind.clone()),
                name: non_empty(name),
                causes: Some(
                    errors
                        .iter()
                        .map(|e| StatusCause {
                            reason: Some(e.ty.cause_reason().to_owned()),
                            message: Some(e.body()),
                            field: Some(e.field.clone()),
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            Self::Internal(msg) => Some(StatusDetails {
                causes: Some(vec![StatusCause {
                    reason: Some("UnexpectedServerResponse".to_owned()),
                    message: Some(msg.clone()),
                    field: None,
                }]),
                ..Default::default()
            }),
            _ => None,
        };
        Status {
            code: Some(i32::from(self.code())),
            details,
            message: Some(self.to_string()),
            metadata: ListMeta::default(),
            reason: Some(self.reason().to_owned()),
            status: Some("Failure".to_owned()),
        }
    }
}

fn non_empty(s: &str) -> Option<String> {
    if s.is_empty() {
        None
    } else {
        Some(s.to_owned())
    }
}

/// The `Status` a successful delete answers with when the object is already gone.
pub fn success_status(group: &str, resource: &str, name: &str, uid: Option<String>) -> Status {
    Status {
        code: None,
        details: Some(StatusDetails {
            group: non_empty(group),
            kind: Some(resource.to_owned()),
            name: non_empty(name),
            uid,
            ..Default::default()
        }),
        message: None,
        metadata: ListMeta::default(),
        reason: None,
        status: Some("Success".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_message_matches_apimachinery() {
        let e = ApiError::invalid(
            "",
            "Pod",
            "x",
            vec![FieldError::required("spec.containers[0].image", "")],
        );
        assert_eq!(
            e.to_string(),
            "Pod \"x\" is invalid: spec.containers[0].image: Required value"
        );
        let e = ApiError::invalid(
            "apps",
            "Deployment",
            "d",
            vec![
                FieldError::invalid("metadata.name", "A_b", "a lowercase RFC 1123 subdomain"),
                FieldError::not_supported(
                    "spec.strategy.type",
                    "X",
                    &["Recreate", "RollingUpdate"],
                ),
            ],
        );
        assert_eq!(
            e.to_string(),
            "Deployment.apps \"d\" is invalid: [metadata.name: Invalid value: \"A_b\": a lowercase RFC 1123 subdomain, spec.strategy.type: Unsupported value: \"X\": supported values: \"Recreate\", \"RollingUpdate\"]"
        );
        let st = e.to_status();
        assert_eq!(st.code, Some(422));
        let causes = st.details.and_then(|d| d.causes).unwrap_or_default();
        assert_eq!(causes[0].reason.as_deref(), Some("FieldValueInvalid"));
        assert_eq!(
            causes[0].message.as_deref(),
            Some("Invalid value: \"A_b\": a lowercase RFC 1123 subdomain")
        );
    }

    #[test]
    fn status_bodies_carry_kind_and_version() {
        let b = ApiError::BadRequest("nope".into()).status_body();
        assert_eq!(b["kind"], "Status");
        assert_eq!(b["apiVersion"], "v1");
        assert_eq!(b["metadata"], serde_json::json!({}));
        assert_eq!(b["status"], "Failure");
        assert_eq!(b["reason"], "BadRequest");
        assert_eq!(b["code"], 400);
        assert_eq!(b["message"], "nope");
    }

    #[test]
    fn not_found_names_the_group() {
        assert_eq!(
            ApiError::not_found("apps", "deployments", "x").to_string(),
            "deployments.apps \"x\" not found"
        );
        assert_eq!(
            ApiError::not_found("", "pods", "x").to_string(),
            "pods \"x\" not found"
        );
        let st = serde_json::to_value(ApiError::not_found("", "pods", "x").to_status())
            .unwrap_or_default();
        assert_eq!(st["kind"], "Status");
        assert_eq!(st["apiVersion"], "v1");
        assert_eq!(st["details"]["kind"], "pods");
    }
}
