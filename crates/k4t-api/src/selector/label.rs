//! Label selectors: apimachinery's `labels.Parse` query syntax, `metav1.LabelSelector`
//! conversion, matching and printing.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as metav1;

use super::validation::{
    aggregate, go_quote, go_string_slice, invalid, label_key_errors, label_value_errors,
};

/// The relation a [`Requirement`] expresses between a label and its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    In,
    NotIn,
    /// `=`
    Equals,
    /// `==`
    DoubleEquals,
    /// `!=`
    NotEquals,
    /// A bare key.
    Exists,
    /// `!key`
    DoesNotExist,
    /// `>`: the label parses as an integer greater than the value.
    GreaterThan,
    /// `<`
    LessThan,
}

impl Operator {
    /// The operator's name as apimachinery's `selection.Operator` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::NotIn => "notin",
            Self::Equals => "=",
            Self::DoubleEquals => "==",
            Self::NotEquals => "!=",
            Self::Exists => "exists",
            Self::DoesNotExist => "!",
            Self::GreaterThan => "gt",
            Self::LessThan => "lt",
        }
    }
}

/// One condition of a label selector. Built only through parsing or conversion, so it is
/// always valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    key: String,
    op: Operator,
    values: Vec<String>,
}

impl Requirement {
    /// apimachinery's `NewRequirement`: validates the key, the operator's arity and every value,
    /// with error paths (`key`, `values[0][app]`) relative to the selector. `nil_values` says
    /// how Go would print an empty value list (`[]string(nil)` rather than `[]string{}`).
    fn new(key: &str, op: Operator, values: Vec<String>, nil_values: bool) -> Result<Self, String> {
        let mut errs = Vec::new();
        let key_errs = label_key_errors(key);
        if !key_errs.is_empty() {
            errs.push(invalid("key", &go_quote(key), &key_errs.join("; ")));
        }
        let shown = || go_string_slice((!nil_values).then_some(values.as_slice()));
        match op {
            Operator::In | Operator::NotIn => {
                if values.is_empty() {
                    errs.push(invalid(
                        "values",
                        &shown(),
                        "for 'in', 'notin' operators, values set can't be empty",
                    ));
                }
            }
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals => {
                if values.len() != 1 {
                    errs.push(invalid(
                        "values",
                        &shown(),
                        "exact-match compatibility requires one single value",
                    ));
                }
            }
            Operator::Exists | Operator::DoesNotExist => {
                if !values.is_empty() {
                    errs.push(invalid(
                        "values",
                        &shown(),
                        "values set must be empty for exists and does not exist",
                    ));
                }
            }
            Operator::GreaterThan | Operator::LessThan => {
                if values.len() != 1 {
                    errs.push(invalid(
                        "values",
                        &shown(),
                        "for 'Gt', 'Lt' operators, exactly one value is required",
                    ));
                }
                for (i, v) in values.iter().enumerate() {
                    if v.parse::<i64>().is_err() {
                        errs.push(invalid(
                            &format!("values[{i}]"),
                            &go_quote(v),
                            "for 'Gt', 'Lt' operators, the value must be an integer",
                        ));
                    }
                }
            }
        }
        for (i, v) in values.iter().enumerate() {
            let value_errs = label_value_errors(v);
            if !value_errs.is_empty() {
                errs.push(invalid(
                    &format!("values[{i}][{key}]"),
                    &go_quote(v),
                    &value_errs.join("; "),
                ));
            }
        }
        match aggregate(errs) {
            Some(e) => Err(e),
            None => Ok(Self {
                key: key.to_owned(),
                op,
                values,
            }),
        }
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn operator(&self) -> Operator {
        self.op
    }

    /// The values, in the order given (sorted and de-duplicated when parsed from a string).
    pub fn values(&self) -> &[String] {
        &self.values
    }

    fn has_value(&self, v: &str) -> bool {
        self.values.iter().any(|x| x == v)
    }

    /// Whether a label set, seen through `get`, satisfies this requirement.
    pub fn matches_with<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        let label = get(&self.key);
        match self.op {
            Operator::In | Operator::Equals | Operator::DoubleEquals => {
                label.is_some_and(|v| self.has_value(v))
            }
            Operator::NotIn | Operator::NotEquals => label.is_none_or(|v| !self.has_value(v)),
            Operator::Exists => label.is_some(),
            Operator::DoesNotExist => label.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let (Some(label), [bound]) = (label, self.values.as_slice()) else {
                    return false;
                };
                let (Ok(have), Ok(bound)) = (label.parse::<i64>(), bound.parse::<i64>()) else {
                    return false;
                };
                if self.op == Operator::GreaterThan {
                    have > bound
                } else {
                    have < bound
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.op == Operator::DoesNotExist {
            f.write_str("!")?;
        }
        f.write_str(&self.key)?;
        match self.op {
            Operator::Exists | Operator::DoesNotExist => return Ok(()),
            Operator::Equals => f.write_str("=")?,
            Operator::DoubleEquals => f.write_str("==")?,
            Operator::NotEquals => f.write_str("!=")?,
            Operator::In => f.write_str(" in ")?,
            Operator::NotIn => f.write_str(" notin ")?,
            Operator::GreaterThan => f.write_str(">")?,
            Operator::LessThan => f.write_str("<")?,
        }
        let set = matches!(self.op, Operator::In | Operator::NotIn);
        if set {
            f.write_str("(")?;
        }
        // Printed sorted, whatever order the values were given in.
        let mut values: Vec<&str> = self.values.iter().map(String::as_str).collect();
        values.sort_unstable();
        f.write_str(&values.join(","))?;
        if set {
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// A parsed label selector: the AND of its requirements.
///
/// Two selectors select everything and nothing respectively, and the difference matters:
/// * an empty selector (the query string `""`, or a `metav1.LabelSelector` with neither
///   `matchLabels` nor `matchExpressions`) has no requirements and matches every object;
/// * a missing `metav1.LabelSelector` (`None` given to
///   [`LabelSelector::from_optional_label_selector`], or [`LabelSelector::nothing`]) matches no
///   object at all. Both print as the empty string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
    nothing: bool,
}

impl LabelSelector {
    /// The selector that matches every label set.
    pub fn everything() -> Self {
        Self::default()
    }

    /// The selector that matches no label set.
    pub fn nothing() -> Self {
        Self {
            requirements: Vec::new(),
            nothing: true,
        }
    }

    /// Parses the query-string form (`labels.Parse`), e.g. `app=web,tier in (a,b),!canary`.
    /// Errors carry apimachinery's text.
    pub fn parse(s: &str) -> Result<Self, String> {
        let tokens = lex(s);
        let mut parser = Parser {
            tokens: &tokens,
            pos: 0,
        };
        let mut requirements = parser.parse()?;
        // Deterministic order, as Go sorts by key (stable for equal keys here).
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Self {
            requirements,
            nothing: false,
        })
    }

    /// `metav1.LabelSelectorAsSelector` of a present selector.
    pub fn from_label_selector(sel: &metav1::LabelSelector) -> Result<Self, String> {
        let labels = sel.match_labels.as_ref();
        let exprs = sel.match_expressions.as_deref().unwrap_or_default();
        if labels.is_none_or(BTreeMap::is_empty) && exprs.is_empty() {
            return Ok(Self::everything());
        }
        let mut requirements = Vec::new();
        for (k, v) in labels.into_iter().flatten() {
            requirements.push(Requirement::new(
                k,
                Operator::Equals,
                vec![v.clone()],
                false,
            )?);
        }
        for expr in exprs {
            let op = match expr.operator.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => {
                    return Err(format!(
                        "{} is not a valid pod selector operator",
                        go_quote(other)
                    ));
                }
            };
            let values = expr.values.clone().unwrap_or_default();
            // Go copies the values with `append([]string(nil), ...)`: no values is a nil slice.
            let nil = values.is_empty();
            requirements.push(Requirement::new(&expr.key, op, values, nil)?);
        }
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Self {
            requirements,
            nothing: false,
        })
    }

    /// `metav1.LabelSelectorAsSelector`: `None` selects nothing.
    pub fn from_optional_label_selector(
        sel: Option<&metav1::LabelSelector>,
    ) -> Result<Self, String> {
        match sel {
            Some(sel) => Self::from_label_selector(sel),
            None => Ok(Self::nothing()),
        }
    }

    /// `labels.SelectorFromSet`: every label must equal its value; an empty set selects
    /// everything (a Service's `spec.selector`, a ReplicationController's).
    pub fn from_set(set: &BTreeMap<String, String>) -> Self {
        Self {
            requirements: set
                .iter()
                .map(|(k, v)| Requirement {
                    key: k.clone(),
                    op: Operator::Equals,
                    values: vec![v.clone()],
                })
                .collect(),
            nothing: false,
        }
    }

    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// Whether this selector matches no object whatever its labels.
    pub fn is_nothing(&self) -> bool {
        self.nothing
    }

    /// Whether the selector matches every label set (`labels.Selector.Empty`). The nothing
    /// selector is not empty.
    pub fn is_empty(&self) -> bool {
        !self.nothing && self.requirements.is_empty()
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches_with(|k| labels.get(k).map(String::as_str))
    }

    /// Matches labels seen through a lookup, e.g. straight from an object's JSON.
    pub fn matches_with<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches_with(&get))
    }

    /// Matches the `metadata.labels` of an object in its JSON form.
    pub fn matches_object(&self, obj: &serde_json::Value) -> bool {
        let labels = obj.get("metadata").and_then(|m| m.get("labels"));
        self.matches_with(|k| labels.and_then(|l| l.get(k)).and_then(|v| v.as_str()))
    }

    /// The value a label must have for any object to match, if the selector pins one
    /// (`RequiresExactMatch`).
    pub fn requires_exact_match(&self, label: &str) -> Option<&str> {
        let r = self.requirements.iter().find(|r| r.key == label)?;
        match (r.op, r.values.as_slice()) {
            (Operator::Equals | Operator::DoubleEquals | Operator::In, [v]) => Some(v),
            _ => None,
        }
    }
}

/// `labels.Selector.String()`: requirements joined with `,`, e.g. `app=web,tier in (a,b)`.
impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

/// `metav1.FormatLabelSelector`, as the `-o wide` SELECTOR columns and `describe` print it:
/// `<none>` for a missing or empty selector, `<error>` for an invalid one.
pub fn format_label_selector(sel: Option<&metav1::LabelSelector>) -> String {
    match LabelSelector::from_optional_label_selector(sel) {
        Ok(s) => {
            let out = s.to_string();
            if out.is_empty() {
                "<none>".to_owned()
            } else {
                out
            }
        }
        Err(_) => "<error>".to_owned(),
    }
}

/// `labels.FormatLabels`: `k=v` pairs sorted by key, `<none>` when there are none.
pub fn format_labels<'a>(labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut pairs: Vec<(&str, &str)> = labels.into_iter().collect();
    if pairs.is_empty() {
        return "<none>".to_owned();
    }
    pairs.sort_unstable();
    let parts: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    parts.join(",")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    EndOfString,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

fn token_of(s: &str) -> Option<Tok> {
    Some(match s {
        ")" => Tok::ClosedPar,
        "," => Tok::Comma,
        "!" => Tok::DoesNotExist,
        "==" => Tok::DoubleEquals,
        "=" => Tok::Equals,
        ">" => Tok::GreaterThan,
        "in" => Tok::In,
        "<" => Tok::LessThan,
        "!=" => Tok::NotEquals,
        "notin" => Tok::NotIn,
        "(" => Tok::OpenPar,
        _ => return None,
    })
}

fn is_whitespace(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special(c: u8) -> bool {
    matches!(c, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

/// The lexer of `labels.Parse`, byte by byte. A NUL byte ends the input, as in Go.
fn lex(s: &str) -> Vec<(Tok, &str)> {
    let b = s.as_bytes();
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        while is_whitespace(at(pos)) {
            pos += 1;
        }
        let c = at(pos);
        if c == 0 {
            out.push((Tok::EndOfString, ""));
            return out;
        }
        let start = pos;
        if is_special(c) {
            // Grow the symbol while it stays a known token ("!" then "!=", "=" then "==").
            let mut last: Option<(Tok, usize)> = None;
            while is_special(at(pos)) {
                match token_of(&s[start..=pos]) {
                    Some(t) => {
                        last = Some((t, pos + 1));
                        pos += 1;
                    }
                    None => break,
                }
            }
            // Every single special byte is a token, so `last` is always set.
            let (tok, end) = last.unwrap_or((Tok::EndOfString, start + 1));
            pos = end;
            out.push((tok, &s[start..end]));
        } else {
            while !(at(pos) == 0 || is_special(at(pos)) || is_whitespace(at(pos))) {
                pos += 1;
            }
            let lit = &s[start..pos];
            out.push((token_of(lit).unwrap_or(Tok::Identifier), lit));
        }
    }
}

/// Whether `in`/`notin` are operators (after a key) or plain values.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    KeyAndOperator,
    Values,
}

struct Parser<'t, 's> {
    tokens: &'t [(Tok, &'s str)],
    pos: usize,
}

impl<'s> Parser<'_, 's> {
    fn peek(&self, ctx: Ctx) -> (Tok, &'s str) {
        let (tok, lit) = self
            .tokens
            .get(self.pos)
            .copied()
            .unwrap_or((Tok::EndOfString, ""));
        match (ctx, tok) {
            (Ctx::Values, Tok::In | Tok::NotIn) => (Tok::Identifier, lit),
            _ => (tok, lit),
        }
    }

    fn next(&mut self, ctx: Ctx) -> (Tok, &'s str) {
        let t = self.peek(ctx);
        self.pos += 1;
        t
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, String> {
        let mut reqs = Vec::new();
        loop {
            let (tok, lit) = self.peek(Ctx::Values);
            match tok {
                Tok::Identifier | Tok::DoesNotExist => {
                    let r = self
                        .requirement()
                        .map_err(|e| format!("unable to parse requirement: {e}"))?;
                    reqs.push(r);
                    let (t, l) = self.next(Ctx::Values);
                    match t {
                        Tok::EndOfString => return Ok(reqs),
                        Tok::Comma => {
                            let (t2, l2) = self.peek(Ctx::Values);
                            if t2 != Tok::Identifier && t2 != Tok::DoesNotExist {
                                return Err(format!(
                                    "found '{l2}', expected: identifier after ','"
                                ));
                            }
                        }
                        _ => {
                            return Err(format!("found '{l}', expected: ',' or 'end of string'"));
                        }
                    }
                }
                Tok::EndOfString => return Ok(reqs),
                _ => {
                    return Err(format!(
                        "found '{lit}', expected: !, identifier, or 'end of string'"
                    ));
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        let (key, unary) = self.key_and_inferred_operator()?;
        if let Some(op) = unary {
            return Requirement::new(key, op, Vec::new(), false);
        }
        let op = self.operator()?;
        let values = match op {
            Operator::In | Operator::NotIn => self.value_set()?,
            _ => self.exact_value()?,
        };
        Requirement::new(key, op, values, false)
    }

    fn key_and_inferred_operator(&mut self) -> Result<(&'s str, Option<Operator>), String> {
        let (mut tok, mut lit) = self.next(Ctx::Values);
        let mut not = false;
        if tok == Tok::DoesNotExist {
            not = true;
            (tok, lit) = self.next(Ctx::Values);
        }
        if tok != Tok::Identifier {
            return Err(format!("found '{lit}', expected: identifier"));
        }
        let key_errs = label_key_errors(lit);
        if !key_errs.is_empty() {
            return Err(invalid("<nil>", &go_quote(lit), &key_errs.join("; ")));
        }
        let (t, _) = self.peek(Ctx::Values);
        let op = if not {
            Some(Operator::DoesNotExist)
        } else if t == Tok::EndOfString || t == Tok::Comma {
            Some(Operator::Exists)
        } else {
            None
        };
        Ok((lit, op))
    }

    fn operator(&mut self) -> Result<Operator, String> {
        let (tok, lit) = self.next(Ctx::KeyAndOperator);
        Ok(match tok {
            Tok::In => Operator::In,
            Tok::Equals => Operator::Equals,
            Tok::DoubleEquals => Operator::DoubleEquals,
            Tok::GreaterThan => Operator::GreaterThan,
            Tok::LessThan => Operator::LessThan,
            Tok::NotIn => Operator::NotIn,
            Tok::NotEquals => Operator::NotEquals,
            _ => {
                return Err(format!(
                    "found '{lit}', expected: in, notin, =, ==, !=, gt, lt"
                ));
            }
        })
    }

    /// `(a,b,c)`: a sorted set; `()` and empty items stand for the empty value.
    fn value_set(&mut self) -> Result<Vec<String>, String> {
        let (tok, lit) = self.next(Ctx::Values);
        if tok != Tok::OpenPar {
            return Err(format!("found '{lit}' expected: '('"));
        }
        let (tok, lit) = self.peek(Ctx::Values);
        match tok {
            Tok::Identifier | Tok::Comma => {
                let set = self.identifiers()?;
                let (tok, _) = self.next(Ctx::Values);
                if tok != Tok::ClosedPar {
                    return Err(format!("found '{lit}', expected: ')'"));
                }
                Ok(set)
            }
            Tok::ClosedPar => {
                self.next(Ctx::Values);
                Ok(vec![String::new()])
            }
            _ => Err(format!("found '{lit}', expected: ',', ')' or identifier")),
        }
    }

    fn identifiers(&mut self) -> Result<Vec<String>, String> {
        let mut set: Vec<String> = Vec::new();
        let insert = |set: &mut Vec<String>, v: &str| {
            if let Err(i) = set.binary_search_by(|x| x.as_str().cmp(v)) {
                set.insert(i, v.to_owned());
            }
        };
        loop {
            let (tok, lit) = self.next(Ctx::Values);
            match tok {
                Tok::Identifier => {
                    insert(&mut set, lit);
                    let (t2, l2) = self.peek(Ctx::Values);
                    match t2 {
                        Tok::Comma => continue,
                        Tok::ClosedPar => return Ok(set),
                        _ => return Err(format!("found '{l2}', expected: ',' or ')'")),
                    }
                }
                Tok::Comma => {
                    if set.is_empty() {
                        insert(&mut set, "");
                    }
                    let (t2, _) = self.peek(Ctx::Values);
                    if t2 == Tok::ClosedPar {
                        insert(&mut set, "");
                        return Ok(set);
                    }
                    if t2 == Tok::Comma {
                        self.next(Ctx::Values);
                        insert(&mut set, "");
                    }
                }
                _ => return Err(format!("found '{lit}', expected: ',', or identifier")),
            }
        }
    }

    fn exact_value(&mut self) -> Result<Vec<String>, String> {
        let (tok, _) = self.peek(Ctx::Values);
        if tok == Tok::EndOfString || tok == Tok::Comma {
            return Ok(vec![String::new()]);
        }
        let (tok, lit) = self.next(Ctx::Values);
        if tok == Tok::Identifier {
            return Ok(vec![lit.to_owned()]);
        }
        Err(format!("found '{lit}', expected: identifier"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// Parses `input` and checks its printed form (or the error).
    fn check(input: &str, want: Result<&str, &str>) {
        let got = LabelSelector::parse(input).map(|s| s.to_string());
        assert_eq!(
            got.as_deref().map_err(String::as_str),
            want,
            "input {input:?}"
        );
    }

    const KEY_REGEX: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
    const VALUE_REGEX: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

    #[test]
    fn parse_and_print() {
        check("", Ok(""));
        check("   ", Ok(""));
        check("a=b", Ok("a=b"));
        check("a==b", Ok("a==b"));
        check("a!=b", Ok("a!=b"));
        check(" a = b , c != d ", Ok("a=b,c!=d"));
        check("x=", Ok("x="));
        check("x=,z=a", Ok("x=,z=a"));
        check("z,!y,x", Ok("x,!y,z"));
        check("a in (z,x,y)", Ok("a in (x,y,z)"));
        check("a in (x,x)", Ok("a in (x)"));
        check("a notin (x)", Ok("a notin (x)"));
        check("a in ()", Ok("a in ()"));
        check("a in (,)", Ok("a in ()"));
        check("a in (x,,y)", Ok("a in (,x,y)"));
        check("a in (,x)", Ok("a in (,x)"));
        check("a in (x,)", Ok("a in (,x)"));
        check(
            "x in (foo,,baz),y,z notin ()",
            Ok("x in (,baz,foo),y,z notin ()"),
        );
        check("in in (in,notin)", Ok("in in (in,notin)"));
        check("a>1,b<20", Ok("a>1,b<20"));
        check("example.com/app=web", Ok("example.com/app=web"));
        check("a\tin\n(b)", Ok("a in (b)"));
        check("a=b\0,c=d", Ok("a=b"));
    }

    #[test]
    fn parse_errors() {
        check(
            "a b",
            Err("unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
        );
        check("a=b c", Err("found 'c', expected: ',' or 'end of string'"));
        check("a=b,", Err("found '', expected: identifier after ','"));
        check("a=b,,c", Err("found ',', expected: identifier after ','"));
        check(
            ",a",
            Err("found ',', expected: !, identifier, or 'end of string'"),
        );
        check(
            "=a",
            Err("found '=', expected: !, identifier, or 'end of string'"),
        );
        check(
            "!",
            Err("unable to parse requirement: found '', expected: identifier"),
        );
        check(
            "!=a",
            Err("found '!=', expected: !, identifier, or 'end of string'"),
        );
        check(
            "a in b",
            Err("unable to parse requirement: found 'b' expected: '('"),
        );
        check(
            "a in (",
            Err("unable to parse requirement: found '', expected: ',', ')' or identifier"),
        );
        check(
            "a in (b",
            Err("unable to parse requirement: found '', expected: ',' or ')'"),
        );
        check(
            "a in (b c)",
            Err("unable to parse requirement: found 'c', expected: ',' or ')'"),
        );
        check(
            "a in (=)",
            Err("unable to parse requirement: found '=', expected: ',', ')' or identifier"),
        );
        check(
            "a in (,=)",
            Err("unable to parse requirement: found '=', expected: ',', or identifier"),
        );
        check(
            "a==(",
            Err("unable to parse requirement: found '(', expected: identifier"),
        );
        check(
            "a===b",
            Err("unable to parse requirement: found '=', expected: identifier"),
        );
        check(
            "a>b",
            Err(
                "unable to parse requirement: values[0]: Invalid value: \"b\": for 'Gt', 'Lt' operators, the value must be an integer",
            ),
        );
        check(
            "b<-2",
            Err(&format!(
                "unable to parse requirement: values[0][b]: Invalid value: \"-2\": {VALUE_REGEX}"
            )),
        );
        check(
            "-a=b",
            Err(&format!(
                "unable to parse requirement: <nil>: Invalid value: \"-a\": {KEY_REGEX}"
            )),
        );
        check(
            "a=-b",
            Err(&format!(
                "unable to parse requirement: values[0][a]: Invalid value: \"-b\": {VALUE_REGEX}"
            )),
        );
        check(
            "a in (-x,-y)",
            Err(&format!(
                "unable to parse requirement: [values[0][a]: Invalid value: \"-x\": {VALUE_REGEX}, values[1][a]: Invalid value: \"-y\": {VALUE_REGEX}]"
            )),
        );
    }

    #[test]
    fn matching() {
        let l = labels(&[("app", "web"), ("tier", "front"), ("n", "5")]);
        let cases: &[(&str, bool)] = &[
            ("", true),
            ("app=web", true),
            ("app==web", true),
            ("app=db", false),
            ("app!=db", true),
            ("missing!=x", true),
            ("app in (db,web)", true),
            ("app notin (web)", false),
            ("missing notin (web)", true),
            ("missing in (web)", false),
            ("app", true),
            ("missing", false),
            ("!missing", true),
            ("!app", false),
            ("n>4", true),
            ("n>5", false),
            ("n<6", true),
            ("app>1", false),
            ("missing<1", false),
            ("app=web,tier=back", false),
            ("app=web,tier=front", true),
        ];
        for (sel, want) in cases {
            let s = LabelSelector::parse(sel).expect("parses");
            assert_eq!(s.matches(&l), *want, "{sel}");
        }
        let obj = serde_json::json!({"metadata": {"labels": {"app": "web"}}});
        assert!(
            LabelSelector::parse("app=web")
                .expect("parses")
                .matches_object(&obj)
        );
        assert!(
            !LabelSelector::parse("app=db")
                .expect("parses")
                .matches_object(&obj)
        );
        assert!(
            LabelSelector::parse("!app")
                .expect("parses")
                .matches_object(&serde_json::json!({}))
        );
    }

    fn sel(json: serde_json::Value) -> metav1::LabelSelector {
        serde_json::from_value(json).expect("label selector")
    }

    #[test]
    fn from_metav1() {
        let s = LabelSelector::from_label_selector(&sel(serde_json::json!({
            "matchLabels": {"tier": "front", "app": "web"},
            "matchExpressions": [
                {"key": "env", "operator": "In", "values": ["prod", "dev"]},
                {"key": "canary", "operator": "DoesNotExist"},
                {"key": "zone", "operator": "Exists"},
                {"key": "b", "operator": "NotIn", "values": ["x"]}
            ]
        })))
        .expect("valid");
        assert_eq!(
            s.to_string(),
            "app=web,b notin (x),!canary,env in (dev,prod),tier=front,zone"
        );
        assert!(s.matches(&labels(&[
            ("app", "web"),
            ("tier", "front"),
            ("env", "dev"),
            ("zone", "a")
        ])));
        assert!(!s.matches(&labels(&[
            ("app", "web"),
            ("tier", "front"),
            ("env", "qa"),
            ("zone", "a")
        ])));

        let empty = LabelSelector::from_label_selector(&sel(serde_json::json!({}))).expect("valid");
        assert!(empty.is_empty());
        assert!(empty.matches(&BTreeMap::new()));
        let none = LabelSelector::from_optional_label_selector(None).expect("valid");
        assert!(!none.is_empty());
        assert!(none.is_nothing());
        assert!(!none.matches(&BTreeMap::new()));
        assert_eq!(none.to_string(), "");

        let err = |json: serde_json::Value| {
            LabelSelector::from_label_selector(&sel(json)).expect_err("invalid")
        };
        assert_eq!(
            err(serde_json::json!({"matchExpressions": [{"key": "a", "operator": "Foo"}]})),
            "\"Foo\" is not a valid pod selector operator"
        );
        assert_eq!(
            err(serde_json::json!({"matchExpressions": [{"key": "a", "operator": "In"}]})),
            "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty"
        );
        assert_eq!(
            err(
                serde_json::json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]})
            ),
            "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty"
        );
        assert_eq!(
            err(
                serde_json::json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x", "y"]}]})
            ),
            "values: Invalid value: []string{\"x\", \"y\"}: values set must be empty for exists and does not exist"
        );
        assert_eq!(
            err(serde_json::json!({"matchLabels": {"-a": "b"}})),
            format!("key: Invalid value: \"-a\": {KEY_REGEX}")
        );
        assert_eq!(
            err(serde_json::json!({"matchLabels": {"a": "-b"}})),
            format!("values[0][a]: Invalid value: \"-b\": {VALUE_REGEX}")
        );
        assert_eq!(
            err(
                serde_json::json!({"matchExpressions": [{"key": "-a", "operator": "In", "values": []}]})
            ),
            format!(
                "[key: Invalid value: \"-a\": {KEY_REGEX}, values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty]"
            )
        );
    }

    #[test]
    fn formatting_helpers() {
        assert_eq!(format_label_selector(None), "<none>");
        assert_eq!(
            format_label_selector(Some(&sel(serde_json::json!({})))),
            "<none>"
        );
        assert_eq!(
            format_label_selector(Some(&sel(
                serde_json::json!({"matchLabels": {"app": "web"}})
            ))),
            "app=web"
        );
        assert_eq!(
            format_label_selector(Some(&sel(serde_json::json!({"matchLabels": {"app": "-"}})))),
            "<error>"
        );
        assert_eq!(format_labels([]), "<none>");
        assert_eq!(format_labels([("b", "2"), ("a", "1")]), "a=1,b=2");
        let set = labels(&[("b", "2"), ("a", "1")]);
        let s = LabelSelector::from_set(&set);
        assert_eq!(s.to_string(), "a=1,b=2");
        assert!(s.matches(&set));
        assert!(LabelSelector::from_set(&BTreeMap::new()).is_empty());
        let p = LabelSelector::parse("a in (x),b=y,c in (p,q)").expect("parses");
        assert_eq!(p.requires_exact_match("a"), Some("x"));
        assert_eq!(p.requires_exact_match("b"), Some("y"));
        assert_eq!(p.requires_exact_match("c"), None);
        assert_eq!(p.requires_exact_match("d"), None);
    }
}
