//! Leases (coordination.k8s.io/v1).

use k8s_openapi::api::coordination::v1::Lease;
use serde_json::Value;

use super::meta::{validate_object_meta_generic, validate_object_meta_update_generic};
use super::names::{NameRule, invalid_each, is_qualified_name};
use crate::error::{FieldError, FieldPath};

fn validate_spec(lease: &Lease) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(spec) = &lease.spec else {
        return errs;
    };
    let path = FieldPath::new("spec");
    if let Some(d) = spec.lease_duration_seconds.filter(|d| *d <= 0) {
        errs.push(FieldError::invalid(
            path.child("leaseDurationSeconds"),
            d,
            "must be greater than 0",
        ));
    }
    if let Some(t) = spec.lease_transitions.filter(|t| *t < 0) {
        errs.push(FieldError::invalid(
            path.child("leaseTransitions"),
            t,
            "must be greater than or equal to 0",
        ));
    }
    if let Some(strategy) = &spec.strategy {
        // Kubernetes reports this one at spec.strategy.strategy (sic).
        let sp = path.child("strategy").child("strategy");
        if strategy.contains('/') {
            errs.extend(invalid_each(&sp, strategy, is_qualified_name(strategy)));
        } else if strategy != "OldestEmulationVersion" {
            errs.push(FieldError::not_supported(
                &sp,
                strategy,
                &["OldestEmulationVersion"],
            ));
        }
    }
    let holder = spec.preferred_holder.as_deref().unwrap_or("");
    if !holder.is_empty() && spec.strategy.as_deref().unwrap_or("").is_empty() {
        errs.push(FieldError::forbidden(
            path.child("preferredHolder"),
            "may only be specified if `strategy` is defined",
        ));
    }
    errs
}

/// `ValidateLease`.
pub(crate) fn validate_create(obj: &Value) -> Vec<FieldError> {
    match super::typed::decode::<Lease>(obj) {
        Ok(l) => {
            let mut errs = validate_object_meta_generic(
                &l.metadata,
                true,
                NameRule::DnsSubdomain,
                &FieldPath::new("metadata"),
            );
            errs.extend(validate_spec(&l));
            errs
        }
        Err(e) => vec![e],
    }
}

/// `ValidateLeaseUpdate`.
pub(crate) fn validate_update(new: &Value, old: &Value) -> Vec<FieldError> {
    match (
        super::typed::decode::<Lease>(new),
        super::typed::decode::<Lease>(old),
    ) {
        (Ok(n), Ok(o)) => {
            let mut errs = validate_object_meta_update_generic(
                &n.metadata,
                &o.metadata,
                &FieldPath::new("metadata"),
            );
            errs.extend(validate_spec(&n));
            errs
        }
        (Err(e), _) | (_, Err(e)) => vec![e],
    }
}
