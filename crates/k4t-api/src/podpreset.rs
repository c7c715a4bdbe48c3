//! `settings.k8s.io/v1alpha1` PodPreset, as Kubernetes 1.19 specified it (removed upstream in
//! 1.20, so k8s-openapi has no type for it).

use std::borrow::Cow;

use k8s_openapi::api::core::v1::{EnvFromSource, EnvVar, Volume, VolumeMount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ListMeta, ObjectMeta};
use schemars::JsonSchema;
use serde::de::Error as _;
use serde::{Deserialize, Serialize};

/// PodPreset is a policy resource that defines additional runtime requirements for a Pod.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodPreset {
    pub metadata: ObjectMeta,
    pub spec: Option<PodPresetSpec>,
}

/// PodPresetSpec is a description of a pod preset.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.k8s.api.settings.v1alpha1.PodPresetSpec")]
pub struct PodPresetSpec {
    /// Selector is a label query over a set of resources, in this case pods. Required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Env defines the collection of EnvVar to inject into containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<EnvVar>>,
    /// EnvFrom defines the collection of EnvFromSource to inject into containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_from: Option<Vec<EnvFromSource>>,
    /// Volumes defines the collection of Volume to inject into the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<Vec<Volume>>,
    /// VolumeMounts defines the collection of VolumeMount to inject into containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_mounts: Option<Vec<VolumeMount>>,
}

impl k8s_openapi::Resource for PodPreset {
    const API_VERSION: &'static str = "settings.k8s.io/v1alpha1";
    const GROUP: &'static str = "settings.k8s.io";
    const KIND: &'static str = "PodPreset";
    const VERSION: &'static str = "v1alpha1";
    const URL_PATH_SEGMENT: &'static str = "podpresets";
    type Scope = k8s_openapi::NamespaceResourceScope;
}

impl k8s_openapi::ListableResource for PodPreset {
    const LIST_KIND: &'static str = "PodPresetList";
}

impl k8s_openapi::Metadata for PodPreset {
    type Ty = ObjectMeta;
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    #[serde(default)]
    metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    spec: Option<PodPresetSpec>,
}

impl Serialize for PodPreset {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Wire {
            api_version: Some(<Self as k8s_openapi::Resource>::API_VERSION.to_owned()),
            kind: Some(<Self as k8s_openapi::Resource>::KIND.to_owned()),
            metadata: self.metadata.clone(),
            spec: self.spec.clone(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for PodPreset {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = Wire::deserialize(d)?;
        if let Some(v) = &w.api_version
            && v != <Self as k8s_openapi::Resource>::API_VERSION
        {
            return Err(D::Error::invalid_value(
                serde::de::Unexpected::Str(v),
                &<Self as k8s_openapi::Resource>::API_VERSION,
            ));
        }
        if let Some(k) = &w.kind
            && k != <Self as k8s_openapi::Resource>::KIND
        {
            return Err(D::Error::invalid_value(
                serde::de::Unexpected::Str(k),
                &<Self as k8s_openapi::Resource>::KIND,
            ));
        }
        Ok(PodPreset {
            metadata: w.metadata,
            spec: w.spec,
        })
    }
}

impl JsonSchema for PodPreset {
    fn schema_name() -> Cow<'static, str> {
        "io.k8s.api.settings.v1alpha1.PodPreset".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let metadata = generator.subschema_for::<ObjectMeta>();
        let spec = generator.subschema_for::<PodPresetSpec>();
        schemars::json_schema!({
            "description": "PodPreset is a policy resource that defines additional runtime requirements for a Pod.",
            "type": "object",
            "properties": {
                "apiVersion": {
                    "description": "APIVersion defines the versioned schema of this representation of an object.",
                    "type": "string",
                },
                "kind": {
                    "description": "Kind is a string value representing the REST resource this object represents.",
                    "type": "string",
                },
                "metadata": metadata,
                "spec": spec,
            },
        })
    }
}

/// A list of PodPresets, as the API answers it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodPresetList {
    pub metadata: ListMeta,
    pub items: Vec<PodPreset>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_type_meta() {
        let json = serde_json::json!({
            "apiVersion": "settings.k8s.io/v1alpha1",
            "kind": "PodPreset",
            "metadata": {"name": "allow-database"},
            "spec": {
                "selector": {"matchLabels": {"role": "frontend"}},
                "env": [{"name": "DB_PORT", "value": "6379"}],
                "volumeMounts": [{"mountPath": "/cache", "name": "cache-volume"}],
                "volumes": [{"name": "cache-volume", "emptyDir": {}}]
            }
        });
        let p: PodPreset = serde_json::from_value(json.clone()).expect("decodes");
        assert_eq!(serde_json::to_value(&p).expect("encodes"), json);
        let wrong = serde_json::json!({"apiVersion": "v1", "kind": "PodPreset"});
        assert!(serde_json::from_value::<PodPreset>(wrong).is_err());
    }
}
