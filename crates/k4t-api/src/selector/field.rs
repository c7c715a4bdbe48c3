//! Field selectors: apimachinery's `fields.ParseSelector` syntax with backslash escaping, the
//! per-kind field labels the API server accepts, and matching.

use std::fmt;

/// `=` (also written `==`) or `!=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldOperator {
    Equals,
    NotEquals,
}

/// One `field=value` or `field!=value` term; the value is unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequirement {
    pub field: String,
    pub op: FieldOperator,
    pub value: String,
}

impl FieldRequirement {
    fn matches(&self, actual: &str) -> bool {
        match self.op {
            FieldOperator::Equals => actual == self.value,
            FieldOperator::NotEquals => actual != self.value,
        }
    }
}

impl fmt::Display for FieldRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.op {
            FieldOperator::Equals => "=",
            FieldOperator::NotEquals => "!=",
        };
        write!(f, "{}{op}{}", self.field, escape_value(&self.value))
    }
}

/// A parsed field selector: the AND of its terms. The empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    terms: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// Parses `a=b,c!=d` (`fields.ParseSelector`). In values, `\,`, `\=` and `\\` stand for
    /// `,`, `=` and `\`; an unescaped `,` splits terms. Terms are kept in sorted order, as Go
    /// sorts them before parsing, so the first bad term in that order is the one reported.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut parts = split_terms(s);
        parts.sort_unstable();
        let mut terms = Vec::with_capacity(parts.len());
        for part in parts {
            if part.is_empty() {
                continue;
            }
            let Some((lhs, op, rhs)) = split_term(part) else {
                return Err(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                ));
            };
            terms.push(FieldRequirement {
                field: lhs.to_owned(),
                op,
                value: unescape_value(rhs)?,
            });
        }
        Ok(Self { terms })
    }

    /// The selector `field=value`.
    pub fn one_term_equal(field: &str, value: &str) -> Self {
        Self {
            terms: vec![FieldRequirement {
                field: field.to_owned(),
                op: FieldOperator::Equals,
                value: value.to_owned(),
            }],
        }
    }

    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.terms
    }

    /// The field names the selector mentions, so the API server can reject unsupported ones
    /// before matching (see [`FieldSelector::for_resource`]).
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.terms.iter().map(|t| t.field.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// `value_of` returns the object's value for a field name, or `None` for a field the
    /// resource does not support. Like Kubernetes' `fields.Set.Get`, a missing value counts as
    /// the empty string: `x!=a` matches, `x=` matches. Check the fields with
    /// [`FieldSelector::for_resource`] first to answer 400 for unsupported ones.
    pub fn matches(&self, value_of: &dyn Fn(&str) -> Option<String>) -> bool {
        self.terms.iter().all(|t| {
            let v = value_of(&t.field);
            t.matches(v.as_deref().unwrap_or(""))
        })
    }

    /// [`FieldSelector::matches`] over borrowed values, e.g. a list of `(field, value)` pairs.
    pub fn matches_with<'a>(&self, value_of: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.terms
            .iter()
            .all(|t| t.matches(value_of(&t.field).unwrap_or("")))
    }

    /// The value a field must equal for any object to match, if the selector pins one.
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| t.field == field && t.op == FieldOperator::Equals)
            .map(|t| t.value.as_str())
    }

    /// What the API server does with a field selector before listing a resource (the kind's
    /// field label conversion): every field must be one the kind accepts, and legacy spellings
    /// are rewritten (`spec.host` to `spec.nodeName` for pods). The error is Kubernetes' text,
    /// e.g. `field label not supported: spec.bogus`; the API server answers it as 400.
    ///
    /// events.k8s.io/v1 Events keep their `regarding.*` and `reportingController` spellings,
    /// which is how `registry::selectable_fields` names them.
    pub fn for_resource(&self, group: &str, kind: &str) -> Result<Self, String> {
        let labels = field_labels(group, kind);
        let mut terms = Vec::with_capacity(self.terms.len());
        for t in &self.terms {
            let field = if labels.accepted.contains(&t.field.as_str()) {
                t.field.clone()
            } else if let Some((_, to)) = labels.aliases.iter().find(|(from, _)| *from == t.field) {
                (*to).to_owned()
            } else {
                return Err(labels.reject(&t.field));
            };
            terms.push(FieldRequirement {
                field,
                op: t.op,
                value: t.value.clone(),
            });
        }
        Ok(Self { terms })
    }
}

/// `fields.Selector.String()`: terms joined with `,`, values escaped.
impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{t}")?;
        }
        Ok(())
    }
}

/// The field labels one kind accepts in field selectors.
#[derive(Debug, Clone, Copy)]
pub struct FieldLabels {
    /// Accepted as they are.
    pub accepted: &'static [&'static str],
    /// Accepted and rewritten: (client spelling, stored spelling).
    pub aliases: &'static [(&'static str, &'static str)],
    /// Whether the kind has its own conversion function in Kubernetes; kinds without one use
    /// the generic metadata-only conversion, which words its error differently.
    pub kind_specific: bool,
}

impl FieldLabels {
    /// The error Kubernetes answers for a field the kind does not accept.
    pub fn reject(&self, field: &str) -> String {
        if self.kind_specific {
            format!("field label not supported: {field}")
        } else {
            format!(
                "{} is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
                super::validation::go_quote(field)
            )
        }
    }
}

const METADATA_ONLY: &[&str] = &["metadata.name", "metadata.namespace"];

/// The field labels Kubernetes 1.36 registers per kind (`AddFieldLabelConversionFunc` in
/// `pkg/apis/<group>/<version>/conversion.go`); any other kind gets the metadata-only default.
pub fn field_labels(group: &str, kind: &str) -> FieldLabels {
    let specific = |accepted, aliases| FieldLabels {
        accepted,
        aliases,
        kind_specific: true,
    };
    match (group, kind) {
        ("", "Pod") => specific(
            &[
                "metadata.name",
                "metadata.namespace",
                "spec.nodeName",
                "spec.restartPolicy",
                "spec.schedulerName",
                "spec.serviceAccountName",
                "spec.hostNetwork",
                "status.phase",
                "status.podIP",
                "status.podIPs",
                "status.nominatedNodeName",
            ],
            &[("spec.host", "spec.nodeName")],
        ),
        ("", "Node") => specific(&["metadata.name", "spec.unschedulable"], &[]),
        ("", "ReplicationController") => specific(
            &["metadata.name", "metadata.namespace", "status.replicas"],
            &[],
        ),
        ("", "Event") => specific(
            &[
                "involvedObject.kind",
                "involvedObject.namespace",
                "involvedObject.name",
                "involvedObject.uid",
                "involvedObject.apiVersion",
                "involvedObject.resourceVersion",
                "involvedObject.fieldPath",
                "reason",
                "reportingComponent",
                "source",
                "type",
                "metadata.namespace",
                "metadata.name",
            ],
            &[],
        ),
        ("events.k8s.io", "Event") => specific(
            &[
                "regarding.kind",
                "regarding.namespace",
                "regarding.name",
                "regarding.uid",
                "regarding.apiVersion",
                "regarding.resourceVersion",
                "regarding.fieldPath",
                "reason",
                "reportingController",
                "type",
                "metadata.namespace",
                "metadata.name",
            ],
            &[],
        ),
        ("", "Namespace") => specific(&["status.phase", "metadata.name"], &[]),
        ("", "Secret") => specific(&["type", "metadata.namespace", "metadata.name"], &[]),
        ("", "Service") => specific(
            &[
                "metadata.namespace",
                "metadata.name",
                "spec.clusterIP",
                "spec.type",
            ],
            &[],
        ),
        _ => FieldLabels {
            accepted: METADATA_ONLY,
            aliases: &[],
            kind_specific: false,
        },
    }
}

/// `fields.EscapeValue`: prefixes `\`, `,` and `=` with a backslash.
pub fn escape_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `fields.UnescapeValue`, with its error texts.
pub fn unescape_value(s: &str) -> Result<String, String> {
    if !s.contains(['\\', ',', '=']) {
        return Ok(s.to_owned());
    }
    let mut out = String::with_capacity(s.len());
    let mut in_slash = false;
    for c in s.chars() {
        if in_slash {
            match c {
                '\\' | ',' | '=' => out.push(c),
                _ => {
                    return Err(format!(
                        "invalid field selector: invalid escape sequence: \\{c}"
                    ));
                }
            }
            in_slash = false;
            continue;
        }
        match c {
            '\\' => in_slash = true,
            // Go prints the rune with %v: its code point.
            ',' | '=' => {
                return Err(format!(
                    "invalid field selector: unescaped character in value: {}",
                    c as u32
                ));
            }
            _ => out.push(c),
        }
    }
    if in_slash {
        return Err("invalid field selector: invalid escape sequence: \\".to_owned());
    }
    Ok(out)
}

/// Splits on commas not escaped by a backslash; the escapes stay in the terms.
fn split_terms(s: &str) -> Vec<&str> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut in_slash = false;
    for (i, c) in s.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(&s[start..i]);
            start = i + 1;
        }
    }
    terms.push(&s[start..]);
    terms
}

/// Splits a term at the first operator; at one position `!=` is tried before `==` before `=`.
fn split_term(term: &str) -> Option<(&str, FieldOperator, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for (op, kind) in [
            ("!=", FieldOperator::NotEquals),
            ("==", FieldOperator::Equals),
            ("=", FieldOperator::Equals),
        ] {
            if let Some(rhs) = rest.strip_prefix(op) {
                return Some((&term[..i], kind, rhs));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, want: Result<&str, &str>) {
        let got = FieldSelector::parse(input).map(|s| s.to_string());
        assert_eq!(
            got.as_deref().map_err(String::as_str),
            want,
            "input {input:?}"
        );
    }

    #[test]
    fn parse_and_print() {
        check("", Ok(""));
        check(",", Ok(""));
        check("a=b", Ok("a=b"));
        check("a==b", Ok("a=b"));
        check("a!=b", Ok("a!=b"));
        check("z=1,a=2", Ok("a=2,z=1"));
        check("a=", Ok("a="));
        check("=b", Ok("=b"));
        check("a=b\\,c", Ok("a=b\\,c"));
        check("a=b\\=c\\\\", Ok("a=b\\=c\\\\"));
        check(
            "metadata.name!=x,status.phase=Running",
            Ok("metadata.name!=x,status.phase=Running"),
        );
        check(" a = b ", Ok(" a = b "));
    }

    #[test]
    fn parse_errors() {
        check("a", Err("invalid selector: 'a'; can't understand 'a'"));
        check(
            "x=1,b",
            Err("invalid selector: 'x=1,b'; can't understand 'b'"),
        );
        check(
            "a=b=c",
            Err("invalid field selector: unescaped character in value: 61"),
        );
        check(
            "a=b\\",
            Err("invalid field selector: invalid escape sequence: \\"),
        );
        check(
            "a=b\\x",
            Err("invalid field selector: invalid escape sequence: \\x"),
        );
        check(
            "a===b",
            Err("invalid field selector: unescaped character in value: 61"),
        );
    }

    #[test]
    fn values_round_trip() {
        let s = FieldSelector::parse("a=x\\,y\\=z\\\\").expect("parses");
        assert_eq!(s.requirements()[0].value, "x,y=z\\");
        assert_eq!(FieldSelector::parse(&s.to_string()).expect("parses"), s);
        assert_eq!(escape_value("a,b=c\\"), "a\\,b\\=c\\\\");
    }

    #[test]
    fn matching() {
        let fields = |f: &str| -> Option<String> {
            match f {
                "metadata.name" => Some("web".into()),
                "status.phase" => Some("Running".into()),
                "spec.nodeName" => Some(String::new()),
                _ => None,
            }
        };
        let cases: &[(&str, bool)] = &[
            ("", true),
            ("metadata.name=web", true),
            ("metadata.name==web", true),
            ("metadata.name=db", false),
            ("metadata.name!=db", true),
            ("status.phase=Running,metadata.name=web", true),
            ("status.phase!=Running,metadata.name=web", false),
            ("spec.nodeName=", true),
            ("spec.nodeName!=", false),
            ("unknown=", true),
            ("unknown!=x", true),
        ];
        for (sel, want) in cases {
            let s = FieldSelector::parse(sel).expect("parses");
            assert_eq!(s.matches(&fields), *want, "{sel}");
        }
        let s = FieldSelector::parse("a=1,b!=2").expect("parses");
        assert_eq!(s.fields().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(s.requires_exact_match("a"), Some("1"));
        assert_eq!(s.requires_exact_match("b"), None);
        assert!(s.matches_with(|f| if f == "a" { Some("1") } else { None }));
    }

    #[test]
    fn field_labels_per_kind() {
        let conv = |g: &str, k: &str, sel: &str| {
            FieldSelector::parse(sel)
                .expect("parses")
                .for_resource(g, k)
                .map(|s| s.to_string())
        };
        assert_eq!(
            conv("", "Pod", "spec.bogus=x"),
            Err("field label not supported: spec.bogus".to_owned())
        );
        assert_eq!(
            conv("", "Pod", "spec.host=n1,status.phase=Running"),
            Ok("spec.nodeName=n1,status.phase=Running".to_owned())
        );
        assert_eq!(
            conv("", "Node", "metadata.namespace=x"),
            Err("field label not supported: metadata.namespace".to_owned())
        );
        assert_eq!(
            conv("", "Node", "spec.unschedulable=true"),
            Ok("spec.unschedulable=true".to_owned())
        );
        assert_eq!(
            conv("", "ConfigMap", "data.x=y"),
            Err("\"data.x\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"".to_owned())
        );
        assert_eq!(
            conv("apps", "Deployment", "metadata.name=a,metadata.namespace=b"),
            Ok("metadata.name=a,metadata.namespace=b".to_owned())
        );
        assert_eq!(
            conv("events.k8s.io", "Event", "regarding.kind=Pod"),
            Ok("regarding.kind=Pod".to_owned())
        );
        assert_eq!(
            conv("events.k8s.io", "Event", "involvedObject.kind=Pod"),
            Err("field label not supported: involvedObject.kind".to_owned())
        );
        assert_eq!(
            conv("", "Event", "involvedObject.kind=Pod,source=kubelet"),
            Ok("involvedObject.kind=Pod,source=kubelet".to_owned())
        );
        // The first unsupported field in sorted order is the one reported.
        assert_eq!(
            conv("", "Service", "z=1,b=2"),
            Err("field label not supported: b".to_owned())
        );
    }
}
