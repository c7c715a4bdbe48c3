//! Bodies sent to subresources: `pods/binding` (`ValidatePodBinding`) and `*/scale`
//! (`ValidateScale`).

use k8s_openapi::api::autoscaling::v1::Scale;
use k8s_openapi::api::core::v1::Binding;
use serde_json::Value;

use super::meta::validate_object_meta_generic;
use super::names::NameRule;
use super::typed;
use crate::error::{FieldError, FieldPath};

/// `ValidatePodBinding`: the target must be a Node, by name.
pub fn validate_pod_binding(obj: &Value) -> Vec<FieldError> {
    let b: Binding = match typed::decode(obj) {
        Ok(b) => b,
        Err(e) => return vec![e],
    };
    let mut errs = Vec::new();
    let kind = b.target.kind.as_deref().unwrap_or("");
    if !kind.is_empty() && kind != "Node" {
        errs.push(FieldError::not_supported(
            FieldPath::new("target").child("kind"),
            kind,
            &["Node", "<empty>"],
        ));
    }
    if b.target.name.as_deref().unwrap_or("").is_empty() {
        errs.push(FieldError::required(
            FieldPath::new("target").child("name"),
            "",
        ));
    }
    errs
}

/// `ValidateScale`: metadata and a non-negative replica count.
pub fn validate_scale(obj: &Value) -> Vec<FieldError> {
    let s: Scale = match typed::decode(obj) {
        Ok(s) => s,
        Err(e) => return vec![e],
    };
    let mut errs = validate_object_meta_generic(
        &s.metadata,
        true,
        NameRule::DnsSubdomain,
        &FieldPath::new("metadata"),
    );
    let replicas = s.spec.and_then(|sp| sp.replicas).unwrap_or(0);
    if replicas < 0 {
        errs.push(FieldError::invalid(
            FieldPath::new("spec").child("replicas"),
            replicas,
            "must be greater than or equal to 0",
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msgs(errs: Vec<FieldError>) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn binding_targets_a_node() {
        assert!(
            validate_pod_binding(
                &json!({"metadata": {"name": "p"}, "target": {"kind": "Node", "name": "n1"}})
            )
            .is_empty()
        );
        assert_eq!(
            msgs(validate_pod_binding(
                &json!({"metadata": {"name": "p"}, "target": {"kind": "Pod"}})
            )),
            vec![
                "target.kind: Unsupported value: \"Pod\": supported values: \"Node\", \"<empty>\"",
                "target.name: Required value",
            ]
        );
    }

    #[test]
    fn scale_replicas() {
        let ok =
            json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {"replicas": 3}});
        assert!(validate_scale(&ok).is_empty());
        let bad =
            json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {"replicas": -1}});
        assert_eq!(
            msgs(validate_scale(&bad)),
            vec!["spec.replicas: Invalid value: -1: must be greater than or equal to 0"]
        );
    }
}
