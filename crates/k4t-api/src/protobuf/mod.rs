//! Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`), decoded into the
//! JSON a JSON client would have sent for the same Go object.
//!
//! client-go's typed clients (so `kubectl create namespace|configmap|secret|deployment|...`) POST
//! protobuf and have no JSON fallback. A body is the magic `k8s\0` followed by a
//! `runtime.Unknown` envelope whose `raw` bytes are the object, encoded with the message of its
//! apiVersion/kind. The schema comes from the generated [`table`]; this module owns the envelope,
//! the wire walk and Kubernetes' JSON conventions for the messages that are not plain objects
//! (quantities, times, int-or-string, raw JSON, byte slices as base64, maps, inline structs).
//! Zero scalars that Go writes to protobuf but leaves out of JSON are dropped, so `""`, `0` and
//! `false` reach the JSON only where Go's JSON encoder would print them.
//!
//! The decoder never panics and allocates no more than the input justifies: every length prefix
//! is checked against the bytes that remain, and message nesting is bounded by [`MAX_DEPTH`].

mod schema;
mod table;
#[cfg(test)]
mod tests;
mod wire;

use base64::Engine as _;
use serde_json::{Map, Number, Value};

use schema::{Card, Field, Shape, Ty, Zero};
use wire::{Raw, Reader};

/// The media type of Kubernetes protobuf bodies.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The bytes every Kubernetes protobuf body starts with.
const MAGIC: [u8; 4] = *b"k8s\0";

/// How deep messages may nest. Kubernetes objects of the served kinds nest about 15 deep; the
/// bound keeps a crafted body from exhausting the stack.
pub const MAX_DEPTH: usize = 64;

/// Why a protobuf body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtobufError {
    #[error("empty data")]
    EmptyData,
    #[error(
        "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"
    )]
    NotProtobuf,
    #[error("empty body")]
    EmptyBody,
    #[error("object 'Kind' is missing in the protobuf envelope")]
    MissingKind,
    #[error("object 'apiVersion' is missing in the protobuf envelope of kind {kind}")]
    MissingApiVersion { kind: String },
    /// The kind has no protobuf schema here (for example PodPreset, which Kubernetes never
    /// served as protobuf): the server answers 415 as for any unsupported media type.
    #[error("{kind} in {api_version} has no protobuf encoding")]
    UnsupportedKind { api_version: String, kind: String },
    #[error("invalid protobuf body{}: {reason}", at(path))]
    Invalid { path: String, reason: Reason },
}

fn at(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(" at {path}")
    }
}

/// What is wrong at one place of a protobuf body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    #[error("unexpected end of data")]
    Truncated,
    #[error("length {len} exceeds the {remaining} remaining bytes")]
    Length { len: u64, remaining: usize },
    #[error("varint longer than 64 bits")]
    VarintOverflow,
    #[error("invalid field number {0}")]
    FieldNumber(u64),
    #[error("field {tag} has unsupported wire type {wire_type}")]
    UnsupportedWireType { tag: u32, wire_type: u8 },
    #[error("wrong wire type {got} for a {expected} field")]
    WireType { expected: &'static str, got: u8 },
    #[error("messages nested deeper than {MAX_DEPTH}")]
    TooDeep,
    #[error("impossible IntOrString.Type {0}")]
    IntOrStringType(i64),
    #[error("time {0}s is outside the years 0 to 9999")]
    TimeRange(i64),
    #[error("number is not finite")]
    NotFinite,
    #[error("embedded object is not JSON: {0}")]
    RawJson(String),
}

/// Decodes a protobuf request body into the object's JSON, `apiVersion` and `kind` included.
pub fn decode_body(body: &[u8]) -> Result<Value, ProtobufError> {
    decode_at(body, 0)
}

/// Whether protobuf bodies of this kind can be decoded.
pub fn has_schema(api_version: &str, kind: &str) -> bool {
    schema::root(api_version, kind).is_some()
}

fn decode_at(body: &[u8], depth: usize) -> Result<Value, ProtobufError> {
    let data = match body.strip_prefix(&MAGIC) {
        _ if body.is_empty() => return Err(ProtobufError::EmptyData),
        None => return Err(ProtobufError::NotProtobuf),
        Some([]) => return Err(ProtobufError::EmptyBody),
        Some(data) => data,
    };
    let envelope = Envelope::parse(data).map_err(|e| e.into_error("envelope"))?;
    if envelope.kind.is_empty() {
        return Err(ProtobufError::MissingKind);
    }
    if envelope.api_version.is_empty() {
        return Err(ProtobufError::MissingApiVersion {
            kind: envelope.kind,
        });
    }
    let Some(index) = schema::root(&envelope.api_version, &envelope.kind) else {
        return Err(ProtobufError::UnsupportedKind {
            api_version: envelope.api_version,
            kind: envelope.kind,
        });
    };
    let object = message_value(index, &envelope.raw, depth + 1).map_err(|e| e.into_error(""))?;
    let mut out = Map::new();
    out.insert("apiVersion".to_owned(), Value::String(envelope.api_version));
    out.insert("kind".to_owned(), Value::String(envelope.kind));
    if let Some(Value::Object(fields)) = object {
        out.extend(fields);
    }
    Ok(Value::Object(out))
}

/// `runtime.Unknown`: typeMeta = 1 (apiVersion = 1, kind = 2), raw = 2, contentEncoding = 3,
/// contentType = 4. Kubernetes ignores the last two when decoding, and so does this.
struct Envelope<'a> {
    api_version: String,
    kind: String,
    raw: Vec<&'a [u8]>,
}

impl<'a> Envelope<'a> {
    fn parse(data: &'a [u8]) -> Result<Self, Invalid> {
        let mut env = Envelope {
            api_version: String::new(),
            kind: String::new(),
            raw: Vec::new(),
        };
        let mut r = Reader::new(data);
        while !r.is_empty() {
            match r.field().map_err(Invalid::here)? {
                (1, raw) => {
                    let type_meta = bytes(raw).map_err(|e| Invalid::here(e).at("typeMeta"))?;
                    let mut t = Reader::new(type_meta);
                    while !t.is_empty() {
                        let (tag, raw) = t.field().map_err(|e| Invalid::here(e).at("typeMeta"))?;
                        let target = match tag {
                            1 => &mut env.api_version,
                            2 => &mut env.kind,
                            _ => continue,
                        };
                        let s = bytes(raw).map_err(|e| Invalid::here(e).at("typeMeta"))?;
                        *target = String::from_utf8_lossy(s).into_owned();
                    }
                }
                // The object itself; occurrences concatenate, as protobuf merges them.
                (2, raw) => env
                    .raw
                    .push(bytes(raw).map_err(|e| Invalid::here(e).at("raw"))?),
                _ => {}
            }
        }
        Ok(env)
    }
}

fn bytes(raw: Raw<'_>) -> Result<&[u8], Reason> {
    match raw {
        Raw::Bytes(b) => Ok(b),
        other => Err(Reason::WireType {
            expected: "length-delimited",
            got: other.wire_type(),
        }),
    }
}

/// An error and where it happened, the path growing as the error unwinds.
#[derive(Debug)]
struct Invalid {
    /// Innermost segment first.
    path: Vec<Segment>,
    reason: Reason,
}

#[derive(Debug)]
enum Segment {
    Field(&'static str),
    Index(usize),
    Key(String),
}

impl Invalid {
    fn here(reason: Reason) -> Self {
        Self {
            path: Vec::new(),
            reason,
        }
    }

    fn at(mut self, field: &'static str) -> Self {
        // Inline structs have no name of their own.
        if !field.is_empty() {
            self.path.push(Segment::Field(field));
        }
        self
    }

    fn at_index(mut self, index: usize) -> Self {
        self.path.push(Segment::Index(index));
        self
    }

    fn at_key(mut self, key: &str) -> Self {
        self.path.push(Segment::Key(key.to_owned()));
        self
    }

    fn into_error(self, root: &str) -> ProtobufError {
        let mut path = root.to_owned();
        for segment in self.path.iter().rev() {
            match segment {
                Segment::Field(name) => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(name);
                }
                Segment::Index(i) => path.push_str(&format!("[{i}]")),
                Segment::Key(k) => path.push_str(&format!("[{k:?}]")),
            }
        }
        ProtobufError::Invalid {
            path,
            reason: self.reason,
        }
    }
}

impl From<Reason> for Invalid {
    fn from(reason: Reason) -> Self {
        Self::here(reason)
    }
}

/// The JSON of one message whose encoding is spread over `parts` (protobuf merges repeated
/// occurrences of a singular message field). `None` is JSON null: a zero time, no raw JSON.
fn message_value(index: u16, parts: &[&[u8]], depth: usize) -> Result<Option<Value>, Invalid> {
    if depth > MAX_DEPTH {
        return Err(Reason::TooDeep.into());
    }
    let Some(message) = schema::message(index) else {
        // The table is checked by a test; an index out of range cannot come from input.
        return Ok(None);
    };
    match &message.shape {
        Shape::Object(fields) => object(fields, parts, depth).map(|m| Some(Value::Object(m))),
        Shape::List(ty) => {
            let items = [Field::new(1, "items", *ty, Card::Repeated, Zero::Keep)];
            let mut m = object(&items, parts, depth)?;
            Ok(Some(
                m.remove("items")
                    .unwrap_or_else(|| Value::Array(Vec::new())),
            ))
        }
        Shape::Quantity => {
            let [s] = last_fields(parts, [1])?;
            // A quantity with no string is Go's zero Quantity.
            let s = s.map(|raw| scalar(Ty::String, raw)).transpose()?;
            Ok(Some(s.unwrap_or_else(|| Value::String("0".to_owned()))))
        }
        Shape::Time | Shape::MicroTime => {
            // Go marshals a zero time as an empty message.
            if parts.iter().all(|p| p.is_empty()) {
                return Ok(None);
            }
            let [seconds, nanos] = last_fields(parts, [1, 2])?;
            let seconds = int(Ty::Int64, seconds)?;
            let nanos = int(Ty::Int32, nanos)?;
            let micro = matches!(message.shape, Shape::MicroTime);
            Ok(format_time(seconds, if micro { nanos } else { 0 }, micro)?.map(Value::String))
        }
        Shape::IntOrString => {
            let [ty, int_val, str_val] = last_fields(parts, [1, 2, 3])?;
            match int(Ty::Int64, ty)? {
                0 => Ok(Some(Value::from(int(Ty::Int32, int_val)?))),
                1 => Ok(Some(
                    str_val
                        .map(|raw| scalar(Ty::String, raw))
                        .transpose()?
                        .unwrap_or_else(|| "".into()),
                )),
                other => Err(Reason::IntOrStringType(other).into()),
            }
        }
        Shape::RawJson => {
            let [raw] = last_fields(parts, [1])?;
            let raw = match raw {
                None => return Ok(None),
                Some(raw) => bytes(raw)?,
            };
            if raw.is_empty() {
                Ok(None)
            } else if raw.starts_with(&MAGIC) {
                decode_at(raw, depth)
                    .map(Some)
                    .map_err(|e| Reason::RawJson(e.to_string()).into())
            } else {
                serde_json::from_slice(raw)
                    .map(Some)
                    .map_err(|e| Reason::RawJson(e.to_string()).into())
            }
        }
    }
}

/// The last occurrence of each of `tags` in a small special message.
fn last_fields<'a, const N: usize>(
    parts: &[&'a [u8]],
    tags: [u32; N],
) -> Result<[Option<Raw<'a>>; N], Invalid> {
    let mut out = [None; N];
    for part in parts {
        let mut r = Reader::new(part);
        while !r.is_empty() {
            let (tag, raw) = r.field()?;
            if let Some(i) = tags.iter().position(|&t| t == tag) {
                out[i] = Some(raw);
            }
        }
    }
    Ok(out)
}

fn int(ty: Ty, raw: Option<Raw<'_>>) -> Result<i64, Invalid> {
    Ok(match raw.map(|raw| scalar(ty, raw)).transpose()? {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        _ => 0,
    })
}

/// What is gathered for one field while the occurrences are read.
enum Slot<'a> {
    Empty,
    Value(Value),
    Parts(Vec<&'a [u8]>),
    List(Vec<Value>),
    Map(Map<String, Value>),
}

fn object<'a>(
    fields: &[Field],
    parts: &[&'a [u8]],
    depth: usize,
) -> Result<Map<String, Value>, Invalid> {
    let mut slots: Vec<Slot<'a>> = fields.iter().map(|_| Slot::Empty).collect();
    for part in parts {
        let mut r = Reader::new(part);
        while !r.is_empty() {
            let (tag, raw) = r.field()?;
            // Unknown fields are skipped, as Go's generated code does.
            let Ok(i) = fields.binary_search_by_key(&tag, |f| f.tag) else {
                continue;
            };
            let (field, slot) = (&fields[i], &mut slots[i]);
            gather(field, slot, raw, depth).map_err(|e| e.at(field.json))?;
        }
    }
    let mut out = Map::new();
    let mut inline = Vec::new();
    for (field, slot) in fields.iter().zip(slots) {
        let value = match slot {
            Slot::Empty => continue,
            Slot::Value(v) => {
                if field.zero == Zero::Omit && is_zero(&v) {
                    continue;
                }
                v
            }
            Slot::Parts(parts) => {
                let Ty::Message(index) = field.ty else {
                    continue;
                };
                match message_value(index, &parts, depth + 1).map_err(|e| e.at(field.json))? {
                    Some(Value::Object(m)) if field.card == Card::Inline => {
                        inline.push(m);
                        continue;
                    }
                    Some(v) => v,
                    None => continue,
                }
            }
            Slot::List(items) if items.is_empty() => continue,
            Slot::List(items) => Value::Array(items),
            Slot::Map(m) => Value::Object(m),
        };
        out.insert(field.json.to_owned(), value);
    }
    // In Go, a field of the outer struct shadows one of an embedded struct.
    for m in inline {
        for (k, v) in m {
            out.entry(k).or_insert(v);
        }
    }
    Ok(out)
}

fn gather<'a>(
    field: &Field,
    slot: &mut Slot<'a>,
    raw: Raw<'a>,
    depth: usize,
) -> Result<(), Invalid> {
    match (field.card, field.ty) {
        (Card::Single | Card::Inline, Ty::Message(_)) => {
            let b = bytes(raw)?;
            match slot {
                Slot::Parts(parts) => parts.push(b),
                _ => *slot = Slot::Parts(vec![b]),
            }
        }
        (Card::Single | Card::Inline, ty) => *slot = Slot::Value(scalar(ty, raw)?),
        (Card::Repeated, ty) => {
            if !matches!(slot, Slot::List(_)) {
                *slot = Slot::List(Vec::new());
            }
            let Slot::List(items) = slot else {
                return Ok(());
            };
            match (ty, raw) {
                (Ty::Message(index), raw) => {
                    let n = items.len();
                    let v = message_value(index, &[bytes(raw)?], depth + 1)
                        .map_err(|e| e.at_index(n))?;
                    items.push(v.unwrap_or(Value::Null));
                }
                (Ty::Bool | Ty::Int32 | Ty::Int64 | Ty::Double, Raw::Bytes(packed)) => {
                    let mut r = Reader::new(packed);
                    while !r.is_empty() {
                        let raw = if ty == Ty::Double {
                            Raw::Fixed64(r.fixed64()?)
                        } else {
                            Raw::Varint(r.varint()?)
                        };
                        items.push(scalar(ty, raw)?);
                    }
                }
                (ty, raw) => items.push(scalar(ty, raw)?),
            }
        }
        (Card::Map, ty) => {
            if !matches!(slot, Slot::Map(_)) {
                *slot = Slot::Map(Map::new());
            }
            let Slot::Map(map) = slot else { return Ok(()) };
            let (key, value) = map_entry(ty, bytes(raw)?, depth)?;
            map.insert(key, value);
        }
    }
    Ok(())
}

/// One `map<string, ty>` entry: key = 1, value = 2; a missing value is the zero value.
fn map_entry(ty: Ty, entry: &[u8], depth: usize) -> Result<(String, Value), Invalid> {
    let mut key = String::new();
    let mut value = None;
    let mut value_parts = Vec::new();
    let mut r = Reader::new(entry);
    while !r.is_empty() {
        match r.field()? {
            (1, raw) => key = String::from_utf8_lossy(bytes(raw)?).into_owned(),
            (2, raw) if matches!(ty, Ty::Message(_)) => value_parts.push(bytes(raw)?),
            (2, raw) => value = Some(raw),
            _ => {}
        }
    }
    let value = match ty {
        Ty::Message(index) => message_value(index, &value_parts, depth + 1)
            .map_err(|e| e.at_key(&key))?
            .unwrap_or(Value::Null),
        _ => match value {
            Some(raw) => scalar(ty, raw).map_err(|e| Invalid::here(e).at_key(&key))?,
            None => zero(ty),
        },
    };
    Ok((key, value))
}

fn scalar(ty: Ty, raw: Raw<'_>) -> Result<Value, Reason> {
    Ok(match (ty, raw) {
        // Go keeps invalid UTF-8 in strings and its JSON encoder replaces it; so does this.
        (Ty::String, Raw::Bytes(b)) => Value::String(String::from_utf8_lossy(b).into_owned()),
        (Ty::Bytes, Raw::Bytes(b)) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        (Ty::Bool, Raw::Varint(v)) => Value::Bool(v != 0),
        // Go's generated code truncates varints to the field's width.
        (Ty::Int32, Raw::Varint(v)) => Value::from(v as i32),
        (Ty::Int64, Raw::Varint(v)) => Value::from(v as i64),
        (Ty::Double, Raw::Fixed64(v)) => Number::from_f64(f64::from_bits(v))
            .map(Value::Number)
            .ok_or(Reason::NotFinite)?,
        (ty, raw) => {
            let expected = match ty {
                Ty::String | Ty::Bytes | Ty::Message(_) => "length-delimited",
                Ty::Bool | Ty::Int32 | Ty::Int64 => "varint",
                Ty::Double => "64-bit",
            };
            return Err(Reason::WireType {
                expected,
                got: raw.wire_type(),
            });
        }
    })
}

fn zero(ty: Ty) -> Value {
    match ty {
        Ty::String | Ty::Bytes => Value::String(String::new()),
        Ty::Bool => Value::Bool(false),
        Ty::Int32 | Ty::Int64 => Value::from(0),
        Ty::Double => Value::from(0.0),
        Ty::Message(_) => Value::Null,
    }
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        _ => false,
    }
}

/// Unix seconds of Go's zero `time.Time` (0001-01-01T00:00:00Z), which marshals to null.
const GO_ZERO_TIME: i64 = -62_135_596_800;
/// Go's JSON encoder refuses times outside the years 0 to 9999.
const MIN_TIME: i64 = -62_167_219_200;
const MAX_TIME: i64 = 253_402_300_799;

/// RFC 3339 in UTC: to the second (`metav1.Time`) or the microsecond (`metav1.MicroTime`, whose
/// nanoseconds Kubernetes truncates to microseconds before normalizing like `time.Unix`).
fn format_time(seconds: i64, nanos: i64, micro: bool) -> Result<Option<String>, Reason> {
    let nanos = nanos - nanos % 1_000;
    let seconds = seconds
        .checked_add(nanos.div_euclid(1_000_000_000))
        .ok_or(Reason::TimeRange(seconds))?;
    let nanos = nanos.rem_euclid(1_000_000_000);
    if seconds == GO_ZERO_TIME && nanos == 0 {
        return Ok(None);
    }
    if !(MIN_TIME..=MAX_TIME).contains(&seconds) {
        return Err(Reason::TimeRange(seconds));
    }
    let (days, secs) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let date = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        secs / 3_600,
        secs / 60 % 60,
        secs % 60
    );
    Ok(Some(if micro {
        format!("{date}.{:06}Z", nanos / 1_000)
    } else {
        format!("{date}Z")
    }))
}

/// The proleptic Gregorian date of a day count from 1970-01-01 (Howard Hinnant's algorithm).
/// Done by hand because jiff's timestamps stop a day short of the end of year 9999, which Go
/// still prints.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}
