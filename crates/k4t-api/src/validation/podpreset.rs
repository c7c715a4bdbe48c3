//! PodPresets (settings.k8s.io/v1alpha1), with the rules Kubernetes 1.19 had.

use serde_json::Value;

use super::container::{validate_env, validate_env_from};
use super::meta::{validate_label_selector, validate_object_meta, validate_object_meta_update};
use super::names::NameRule;
use super::volumes::{validate_volume_mounts, validate_volumes};
use crate::error::{FieldError, FieldPath};
use crate::podpreset::PodPreset;

fn validate_spec(pp: &PodPreset) -> Vec<FieldError> {
    let path = FieldPath::new("spec");
    let spec = pp.spec.clone().unwrap_or_default();
    let default_selector = Default::default();
    let mut errs = validate_label_selector(
        Some(spec.selector.as_ref().unwrap_or(&default_selector)),
        false,
        &path.child("selector"),
    );
    if spec.env.is_none()
        && spec.env_from.is_none()
        && spec.volume_mounts.is_none()
        && spec.volumes.is_none()
    {
        // Kubernetes names all four fields in one path.
        errs.push(FieldError::required(
            path.child("volumes")
                .child("env")
                .child("envFrom")
                .child("volumeMounts"),
            "must specify at least one",
        ));
    }
    let volumes = spec.volumes.clone().unwrap_or_default();
    let (vols, verrs) = validate_volumes(&volumes, None, &path.child("volumes"), false);
    errs.extend(verrs);
    errs.extend(validate_env(
        spec.env.as_deref().unwrap_or(&[]),
        &path.child("env"),
    ));
    errs.extend(validate_env_from(
        spec.env_from.as_deref().unwrap_or(&[]),
        &path.child("envFrom"),
    ));
    errs.extend(validate_volume_mounts(
        spec.volume_mounts.as_deref().unwrap_or(&[]),
        &[],
        &vols,
        None,
        &path.child("volumeMounts"),
    ));
    errs
}

/// `ValidatePodPreset`.
pub(crate) fn validate_create(obj: &Value) -> Vec<FieldError> {
    match super::typed::decode::<PodPreset>(obj) {
        Ok(pp) => {
            let mut errs = validate_object_meta(
                &pp.metadata,
                true,
                NameRule::DnsSubdomain,
                &FieldPath::new("metadata"),
            );
            errs.extend(validate_spec(&pp));
            errs
        }
        Err(e) => vec![e],
    }
}

/// `ValidatePodPresetUpdate`.
pub(crate) fn validate_update(new: &Value, old: &Value) -> Vec<FieldError> {
    match (
        super::typed::decode::<PodPreset>(new),
        super::typed::decode::<PodPreset>(old),
    ) {
        (Ok(n), Ok(o)) => {
            let mut errs =
                validate_object_meta_update(&n.metadata, &o.metadata, &FieldPath::new("metadata"));
            errs.extend(validate_spec(&n));
            errs
        }
        (Err(e), _) | (_, Err(e)) => vec![e],
    }
}
