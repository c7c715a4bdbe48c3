//! Label and field selectors: parsing the query-string forms, converting `metav1.LabelSelector`,
//! matching, and printing them back the way Kubernetes does.
//!
//! Errors are `String`s carrying apimachinery's exact text; the API server wraps them in a 400.

mod field;
mod label;
mod validation;

pub use field::{
    FieldLabels, FieldOperator, FieldRequirement, FieldSelector, escape_value, field_labels,
    unescape_value,
};
pub use label::{LabelSelector, Operator, Requirement, format_label_selector, format_labels};
pub use validation::{label_key_errors, label_value_errors};

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn label_parse_never_panics(s in "\\PC{0,40}") {
            let _ = LabelSelector::parse(&s);
        }

        #[test]
        fn label_parse_never_panics_on_selector_alphabet(s in "[a-z0-9=!(),<> .\\-/_\t]{0,40}") {
            if let Ok(sel) = LabelSelector::parse(&s) {
                // What we print parses back to the same selector.
                let again = LabelSelector::parse(&sel.to_string());
                prop_assert_eq!(again, Ok(sel));
            }
        }

        #[test]
        fn field_parse_never_panics(s in "\\PC{0,40}") {
            let _ = FieldSelector::parse(&s);
        }

        #[test]
        fn field_parse_round_trips(s in "[a-z.=!,\\\\é]{0,30}") {
            if let Ok(sel) = FieldSelector::parse(&s) {
                // Same terms; the order may differ, as Go sorts the raw (escaped) terms.
                let terms = |s: &FieldSelector| {
                    let mut t: Vec<String> = s.requirements().iter().map(ToString::to_string).collect();
                    t.sort();
                    t
                };
                let again = FieldSelector::parse(&sel.to_string());
                prop_assert!(again.is_ok());
                prop_assert_eq!(again.map(|a| terms(&a)).unwrap_or_default(), terms(&sel));
            }
        }

        #[test]
        fn escaping_round_trips(s in "\\PC{0,30}") {
            prop_assert_eq!(unescape_value(&escape_value(&s)), Ok(s));
        }
    }
}
