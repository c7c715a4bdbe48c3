//! The shape of the generated protobuf table: messages, their fields and the kinds at the root.

use super::table::{MESSAGES, ROOTS};

/// One protobuf message of the Kubernetes API.
#[derive(Debug)]
pub(super) struct Message {
    /// Full proto name, e.g. `k8s.io.api.core.v1.Pod`: for the table tests and Debug output.
    #[allow(dead_code)]
    pub name: &'static str,
    pub shape: Shape,
}

/// How a message appears in JSON.
#[derive(Debug)]
pub(super) enum Shape {
    /// A JSON object of its fields, sorted by tag.
    Object(&'static [Field]),
    /// `resource.Quantity`: `string string = 1`, a JSON string.
    Quantity,
    /// `metav1.Time`: seconds (+ nanos, dropped), RFC 3339 to the second; empty means null.
    Time,
    /// `metav1.MicroTime`: seconds + nanos, RFC 3339 to the microsecond; empty means null.
    MicroTime,
    /// `intstr.IntOrString`: type, intVal, strVal; a JSON number or string.
    IntOrString,
    /// `runtime.RawExtension`, `metav1.FieldsV1`: `bytes raw = 1` holding JSON.
    RawJson,
    /// A Go named slice (`type X []T`): `repeated T items = 1`, a JSON array.
    // No kind in ROOTS reaches one yet; the generator emits it when one does.
    #[allow(dead_code)]
    List(Ty),
}

/// One field of an object message.
#[derive(Debug)]
pub(super) struct Field {
    pub tag: u32,
    /// The JSON name; empty for an inline (embedded) struct.
    pub json: &'static str,
    pub ty: Ty,
    pub card: Card,
    pub zero: Zero,
}

impl Field {
    pub(super) const fn new(tag: u32, json: &'static str, ty: Ty, card: Card, zero: Zero) -> Self {
        Self {
            tag,
            json,
            ty,
            card,
            zero,
        }
    }
}

/// The type of a field's values (of a map's values for [`Card::Map`]; map keys are strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ty {
    String,
    Bool,
    Int32,
    Int64,
    // No kind in ROOTS has a float field yet.
    #[allow(dead_code)]
    Double,
    /// Go `[]byte`: base64 in JSON.
    Bytes,
    /// An index into [`MESSAGES`].
    Message(u16),
}

/// How many values a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Card {
    Single,
    Repeated,
    /// `map<string, ty>`: entries are messages with key = 1 and value = 2.
    Map,
    /// An embedded Go struct (`json:",inline"`): its fields join the parent's JSON object.
    Inline,
}

/// What a zero scalar on the wire means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Zero {
    /// A value: a Go pointer (only on the wire when set) or a field Go always prints.
    Keep,
    /// "Unset": a non-pointer Go field with omitempty, which Go writes to protobuf even when
    /// zero but leaves out of JSON.
    Omit,
}

/// A kind a protobuf body may carry.
#[derive(Debug)]
pub(super) struct Root {
    /// `None` matches any apiVersion (`DeleteOptions` is registered in every group-version).
    pub api_version: Option<&'static str>,
    pub kind: &'static str,
    pub message: u16,
}

pub(super) fn message(index: u16) -> Option<&'static Message> {
    MESSAGES.get(usize::from(index))
}

/// The message that encodes `kind` in `api_version`.
pub(super) fn root(api_version: &str, kind: &str) -> Option<u16> {
    ROOTS
        .iter()
        .find(|r| r.kind == kind && r.api_version.is_none_or(|v| v == api_version))
        .map(|r| r.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        let mut names: Vec<&str> = MESSAGES.iter().map(|m| m.name).collect();
        let sorted = names.clone();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names, sorted, "messages are sorted and unique");
        for m in MESSAGES {
            if let Shape::Object(fields) = m.shape {
                assert!(
                    fields.windows(2).all(|w| w[0].tag < w[1].tag),
                    "{} fields sorted by tag",
                    m.name
                );
                for f in fields {
                    if let Ty::Message(i) = f.ty {
                        assert!(
                            message(i).is_some(),
                            "{}.{} refers to a message",
                            m.name,
                            f.json
                        );
                    }
                    assert_eq!(
                        f.json.is_empty(),
                        f.card == Card::Inline,
                        "{}.{}",
                        m.name,
                        f.tag
                    );
                    if f.zero == Zero::Omit {
                        assert!(
                            !matches!(f.ty, Ty::Message(_)) && f.card == Card::Single,
                            "{}.{}",
                            m.name,
                            f.json
                        );
                    }
                }
            }
        }
        for r in ROOTS {
            assert!(
                message(r.message).is_some_and(|m| m.name.ends_with(&format!(".{}", r.kind))),
                "{}",
                r.kind
            );
        }
    }

    #[test]
    fn roots() {
        let name = |av, k| root(av, k).and_then(message).map(|m| m.name);
        assert_eq!(
            name("apps/v1", "Deployment"),
            Some("k8s.io.api.apps.v1.Deployment")
        );
        assert_eq!(name("v1", "Binding"), Some("k8s.io.api.core.v1.Binding"));
        assert_eq!(
            name("apps/v1", "DeleteOptions"),
            Some("k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions")
        );
        assert_eq!(name("v1", "Deployment"), None);
        assert_eq!(name("settings.k8s.io/v1alpha1", "PodPreset"), None);
    }
}
