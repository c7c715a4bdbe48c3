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

// ---------------------------------------------------------------------------------------
// Admission: what the PodPreset admission plugin of Kubernetes 1.19 did to a pod being created.

/// The pod annotation that opts a pod out of presets.
pub const EXCLUDE_ANNOTATION: &str = "podpreset.admission.kubernetes.io/exclude";
/// The prefix of the annotation naming each preset applied (`…podpreset-<name>: <rv>`).
pub const APPLIED_ANNOTATION_PREFIX: &str = "podpreset.admission.kubernetes.io/podpreset-";

/// What admission did to a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admitted {
    /// No preset selects the pod, or it opted out.
    Untouched,
    /// These presets (by name) were merged in.
    Applied(Vec<String>),
    /// The presets (by name) conflict with the pod or each other: none was applied.
    Conflict {
        presets: Vec<String>,
        message: String,
    },
}

fn selects(preset: &PodPreset, labels: &std::collections::BTreeMap<String, String>) -> bool {
    let Some(sel) = preset.spec.as_ref().and_then(|s| s.selector.as_ref()) else {
        return false;
    };
    match crate::selector::LabelSelector::from_label_selector(sel) {
        // An empty selector selects every pod of the namespace, as in Kubernetes 1.19.
        Ok(s) => s.matches(labels),
        Err(_) => false,
    }
}

fn merge_env(
    preset: &str,
    into: &mut Vec<EnvVar>,
    add: &[EnvVar],
    container: &str,
) -> Result<(), String> {
    for v in add {
        match into.iter().find(|e| e.name == v.name) {
            Some(found) if found != v => {
                return Err(format!(
                    "merging env for {preset} has a conflict on {}: {} does not match {} in container {container}",
                    v.name,
                    describe_env(v),
                    describe_env(found)
                ));
            }
            Some(_) => {}
            None => into.push(v.clone()),
        }
    }
    Ok(())
}

fn describe_env(v: &EnvVar) -> String {
    match (&v.value, &v.value_from) {
        (Some(value), _) => format!("value {value:?}"),
        (None, Some(_)) => "a valueFrom source".to_owned(),
        (None, None) => "an empty value".to_owned(),
    }
}

fn merge_mounts(
    preset: &str,
    into: &mut Vec<VolumeMount>,
    add: &[VolumeMount],
    container: &str,
) -> Result<(), String> {
    for m in add {
        if let Some(found) = into.iter().find(|f| f.name == m.name) {
            if found != m {
                return Err(format!(
                    "merging volume mounts for {preset} has a conflict on mount {}: mounted at {} does not match {} in container {container}",
                    m.name, m.mount_path, found.mount_path
                ));
            }
            continue;
        }
        if let Some(found) = into.iter().find(|f| f.mount_path == m.mount_path) {
            return Err(format!(
                "merging volume mounts for {preset} has a conflict on mount path {}: volume {} does not match {} in container {container}",
                m.mount_path, m.name, found.name
            ));
        }
        into.push(m.clone());
    }
    Ok(())
}

fn merge_volumes(preset: &str, into: &mut Vec<Volume>, add: &[Volume]) -> Result<(), String> {
    for v in add {
        match into.iter().find(|f| f.name == v.name) {
            Some(found) if found != v => {
                return Err(format!(
                    "merging volumes for {preset} has a conflict on volume {}: its source differs from the pod's",
                    v.name
                ));
            }
            Some(_) => {}
            None => into.push(v.clone()),
        }
    }
    Ok(())
}

/// Merges into `pod` the presets of its namespace that select it: their env, envFrom and
/// volumeMounts into every container and init container, their volumes into the pod, and an
/// annotation per preset with its resourceVersion. A conflict (an env var, volume or mount of
/// the same name with different content) applies none of them. Presets are applied in name
/// order.
pub fn admit(pod: &mut k8s_openapi::api::core::v1::Pod, presets: &[PodPreset]) -> Admitted {
    let annotations = pod.metadata.annotations.clone().unwrap_or_default();
    if annotations.get(EXCLUDE_ANNOTATION).map(String::as_str) == Some("true") {
        return Admitted::Untouched;
    }
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    let mut matching: Vec<&PodPreset> = presets.iter().filter(|p| selects(p, &labels)).collect();
    if matching.is_empty() {
        return Admitted::Untouched;
    }
    matching.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let names: Vec<String> = matching
        .iter()
        .map(|p| p.metadata.name.clone().unwrap_or_default())
        .collect();
    let mut merged = pod.clone();
    let result = (|| -> Result<(), String> {
        let Some(spec) = merged.spec.as_mut() else {
            return Ok(());
        };
        for preset in &matching {
            let name = preset.metadata.name.as_deref().unwrap_or_default();
            let Some(ps) = preset.spec.as_ref() else {
                continue;
            };
            merge_volumes(
                name,
                spec.volumes.get_or_insert_with(Vec::new),
                ps.volumes.as_deref().unwrap_or_default(),
            )?;
            let init = spec.init_containers.iter_mut().flatten();
            for c in spec.containers.iter_mut().chain(init) {
                merge_env(
                    name,
                    c.env.get_or_insert_with(Vec::new),
                    ps.env.as_deref().unwrap_or_default(),
                    &c.name,
                )?;
                if let Some(from) = &ps.env_from {
                    c.env_from
                        .get_or_insert_with(Vec::new)
                        .extend(from.iter().cloned());
                }
                merge_mounts(
                    name,
                    c.volume_mounts.get_or_insert_with(Vec::new),
                    ps.volume_mounts.as_deref().unwrap_or_default(),
                    &c.name,
                )?;
            }
        }
        Ok(())
    })();
    match result {
        Err(message) => Admitted::Conflict {
            presets: names,
            message,
        },
        Ok(()) => {
            let ann = merged
                .metadata
                .annotations
                .get_or_insert_with(Default::default);
            for preset in &matching {
                ann.insert(
                    format!(
                        "{APPLIED_ANNOTATION_PREFIX}{}",
                        preset.metadata.name.as_deref().unwrap_or_default()
                    ),
                    preset.metadata.resource_version.clone().unwrap_or_default(),
                );
            }
            // Empty lists the merge created where nothing was added stay absent.
            if let Some(spec) = merged.spec.as_mut() {
                if spec.volumes.as_ref().is_some_and(Vec::is_empty) {
                    spec.volumes = None;
                }
                let init = spec.init_containers.iter_mut().flatten();
                for c in spec.containers.iter_mut().chain(init) {
                    if c.env.as_ref().is_some_and(Vec::is_empty) {
                        c.env = None;
                    }
                    if c.volume_mounts.as_ref().is_some_and(Vec::is_empty) {
                        c.volume_mounts = None;
                    }
                }
            }
            *pod = merged;
            Admitted::Applied(names)
        }
    }
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

    fn preset(name: &str, env_value: &str) -> PodPreset {
        let mut p: PodPreset = serde_json::from_value(serde_json::json!({
            "apiVersion": "settings.k8s.io/v1alpha1",
            "kind": "PodPreset",
            "metadata": {"name": name, "resourceVersion": "42"},
            "spec": {
                "selector": {"matchLabels": {"role": "frontend"}},
                "env": [{"name": "DB_PORT", "value": env_value}],
                "volumeMounts": [{"mountPath": "/cache", "name": "cache-volume"}],
                "volumes": [{"name": "cache-volume", "emptyDir": {}}]
            }
        }))
        .expect("preset");
        p.metadata.name = Some(name.to_owned());
        p
    }

    fn pod(
        labels: serde_json::Value,
        annotations: serde_json::Value,
    ) -> k8s_openapi::api::core::v1::Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "website", "labels": labels, "annotations": annotations},
            "spec": {"containers": [{"name": "website", "image": "nginx", "ports": [{"containerPort": 80}]}]}
        }))
        .expect("pod")
    }

    #[test]
    fn the_documented_example_gets_env_mount_volume_and_annotation() {
        let mut p = pod(
            serde_json::json!({"role": "frontend"}),
            serde_json::json!({}),
        );
        assert_eq!(
            admit(&mut p, &[preset("allow-database", "6379")]),
            Admitted::Applied(vec!["allow-database".to_owned()])
        );
        let v = serde_json::to_value(&p).expect("pod");
        assert_eq!(
            v["spec"]["containers"][0]["env"],
            serde_json::json!([{"name": "DB_PORT", "value": "6379"}])
        );
        assert_eq!(
            v["spec"]["containers"][0]["volumeMounts"],
            serde_json::json!([{"mountPath": "/cache", "name": "cache-volume"}])
        );
        assert_eq!(
            v["spec"]["volumes"],
            serde_json::json!([{"name": "cache-volume", "emptyDir": {}}])
        );
        assert_eq!(
            v["metadata"]["annotations"]["podpreset.admission.kubernetes.io/podpreset-allow-database"],
            "42"
        );
        // Applying again changes nothing: same content is no conflict.
        let before = p.clone();
        assert!(matches!(
            admit(&mut p, &[preset("allow-database", "6379")]),
            Admitted::Applied(_)
        ));
        assert_eq!(p, before);
    }

    #[test]
    fn conflicts_apply_nothing_and_say_why() {
        let mut p = pod(
            serde_json::json!({"role": "frontend"}),
            serde_json::json!({}),
        );
        let before = p.clone();
        let got = admit(&mut p, &[preset("a", "6379"), preset("b", "1234")]);
        let Admitted::Conflict { presets, message } = got else {
            panic!("{got:?}")
        };
        assert_eq!(presets, ["a", "b"]);
        assert!(
            message.contains("merging env for b has a conflict on DB_PORT"),
            "{message}"
        );
        assert_eq!(p, before);
    }

    #[test]
    fn unselected_and_excluded_pods_are_untouched() {
        let mut other = pod(
            serde_json::json!({"role": "backend"}),
            serde_json::json!({}),
        );
        assert_eq!(admit(&mut other, &[preset("a", "1")]), Admitted::Untouched);
        let mut excluded = pod(
            serde_json::json!({"role": "frontend"}),
            serde_json::json!({EXCLUDE_ANNOTATION: "true"}),
        );
        let before = excluded.clone();
        assert_eq!(
            admit(&mut excluded, &[preset("a", "1")]),
            Admitted::Untouched
        );
        assert_eq!(excluded, before);
    }
}
