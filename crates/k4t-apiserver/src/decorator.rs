//! How stored values become served objects: the store calls this for every value it caches,
//! once, so lists and watch fan-out reuse the bytes.

use bytes::Bytes;
use k4t_api::registry::{RESOURCES, ResourceDef, selectable_fields};
use k4t_store::{Attrs, Decorator, Revision};
use serde_json::Value;

/// Sets `metadata.resourceVersion` and extracts labels and selectable fields.
#[derive(Debug, Default)]
pub struct KubeDecorator;

/// The resource a store key belongs to (for shared storage, the stored version's resource).
pub fn def_for_key(key: &str) -> Option<&'static ResourceDef> {
    let rest = key.strip_prefix("/registry/")?;
    RESOURCES
        .iter()
        .filter(|d| {
            rest.starts_with(d.storage) && rest.as_bytes().get(d.storage.len()) == Some(&b'/')
        })
        // The longest storage prefix wins; among resources sharing one, the first listed
        // (the stored version) does.
        .fold(None, |best: Option<&'static ResourceDef>, d| match best {
            Some(b) if b.storage.len() >= d.storage.len() => Some(b),
            _ => Some(d),
        })
}

impl Decorator for KubeDecorator {
    fn decorate(&self, key: &str, value: &Bytes, revision: Revision) -> (Bytes, Attrs) {
        let Ok(mut obj) = serde_json::from_slice::<Value>(value) else {
            tracing::warn!(key, "stored value is not json");
            return (value.clone(), Attrs::default());
        };
        let meta = k4t_api::rest::meta_mut(&mut obj);
        meta.insert(
            "resourceVersion".into(),
            Value::String(revision.to_string()),
        );
        let labels = meta
            .get("labels")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        let fields = def_for_key(key)
            .map(|def| {
                selectable_fields(def, &obj)
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect()
            })
            .unwrap_or_default();
        let bytes = serde_json::to_vec(&obj)
            .map(Bytes::from)
            .unwrap_or_else(|_| value.clone());
        (bytes, Attrs { labels, fields })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_their_resources() {
        assert_eq!(
            def_for_key("/registry/pods/default/web").map(|d| d.kind),
            Some("Pod")
        );
        assert_eq!(
            def_for_key("/registry/podpresets/default/p").map(|d| d.kind),
            Some("PodPreset")
        );
        assert_eq!(
            def_for_key("/registry/services/specs/default/s").map(|d| d.kind),
            Some("Service")
        );
        assert_eq!(
            def_for_key("/registry/services/endpoints/default/s").map(|d| d.kind),
            Some("Endpoints")
        );
        assert_eq!(
            def_for_key("/registry/events/default/e").map(|d| d.group),
            Some("")
        );
        assert!(def_for_key("/registry/nothing/x").is_none());
    }

    #[test]
    fn decorate_sets_resource_version_and_attrs() {
        let v = Bytes::from_static(
            br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"default","labels":{"app":"web"}},"spec":{"nodeName":"n1"}}"#,
        );
        let (bytes, attrs) = KubeDecorator.decorate("/registry/pods/default/web", &v, 42);
        let obj: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(obj["metadata"]["resourceVersion"], "42");
        assert_eq!(attrs.labels.get("app").map(String::as_str), Some("web"));
        assert!(
            attrs
                .fields
                .contains(&("spec.nodeName".to_owned(), "n1".to_owned()))
        );
    }
}

#[cfg(test)]
mod event_tests {
    use super::*;

    #[test]
    fn events_are_indexed_by_involved_object() {
        let v = Bytes::from_static(
            br#"{"apiVersion":"v1","kind":"Event","metadata":{"name":"e","namespace":"default"},"involvedObject":{"kind":"Pod","name":"web","uid":"u1"},"reason":"R"}"#,
        );
        let (_, attrs) = KubeDecorator.decorate("/registry/events/default/e", &v, 3);
        assert!(
            attrs
                .fields
                .contains(&("involvedObject.name".to_owned(), "web".to_owned())),
            "{:?}",
            attrs.fields
        );
        assert!(
            attrs
                .fields
                .contains(&("involvedObject.uid".to_owned(), "u1".to_owned())),
            "{:?}",
            attrs.fields
        );
    }
}
