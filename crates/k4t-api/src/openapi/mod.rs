//! OpenAPI v2 and v3 documents of the served kinds, and the schema index behind strategic merge
//! patch.
//!
//! kubectl 1.32 needs `/openapi/v3` to create or apply with its default `--validate=strict`: it
//! looks for a PATCH operation with the object's `x-kubernetes-group-version-kind` and a
//! `fieldValidation` parameter, and then leaves validation to the server. It computes
//! client-side-apply patches from the schemas' patch extensions, and `kubectl explain` walks them.
//! What it cannot leave to the server, a `kind: List` above all, it validates itself against
//! `/openapi/v2`, fetched as protobuf: see [`v2proto`].
//!
//! Everything is built once from k8s-openapi's `schemars` schemas plus
//! `data/strategic-merge-keys.tsv`, and kept as serialized bytes: see [`global`] and
//! [`schema_index`].

pub mod facts;
pub mod index;
pub mod paths;
pub mod schemas;
pub mod v2proto;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{LazyLock, OnceLock};

use serde_json::{Value, json};
use sha2::{Digest, Sha512};

pub use index::SchemaIndex;
pub use schemas::Definitions;

use crate::registry::group_versions;

/// The key of a group-version in the v3 index: `api/v1`, `apis/apps/v1`.
pub fn group_version_key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// The hash that versions a document in its index URL: SHA-512 in upper-case hex, as Kubernetes
/// spells it.
pub fn hash(bytes: &[u8]) -> String {
    hex::encode_upper(Sha512::digest(bytes))
}

fn security_scheme() -> Value {
    json!({
        "BearerToken": {
            "description": "Bearer Token authentication",
            "in": "header",
            "name": "authorization",
            "type": "apiKey",
        }
    })
}

fn info() -> Value {
    json!({"title": "Kubernetes", "version": "unversioned"})
}

/// The OpenAPI v3 document of one group-version, with only the schemas it references.
pub fn v3_document(defs: &Definitions, group: &str, version: &str) -> Value {
    let items = paths::group_version_paths(group, version);
    let names = schemas::closure(
        defs,
        paths::referenced_schemas(&items).iter().map(String::as_str),
    );
    json!({
        "openapi": "3.0.0",
        "info": info(),
        "paths": paths::v3_paths(&items),
        "components": {
            "schemas": schemas::v3_form(defs, &names),
            "securitySchemes": security_scheme(),
        },
    })
}

/// The Swagger 2.0 document of every served group-version.
pub fn v2_document(defs: &Definitions) -> Value {
    let mut items = Vec::new();
    for (group, version) in group_versions() {
        items.extend(paths::group_version_paths(group, version));
    }
    let names = schemas::closure(
        defs,
        paths::referenced_schemas(&items).iter().map(String::as_str),
    );
    json!({
        "swagger": "2.0",
        "info": info(),
        "paths": paths::v2_paths(&items),
        "definitions": schemas::v2_form(defs, &names),
        "securityDefinitions": security_scheme(),
        "security": [{"BearerToken": []}],
    })
}

/// Every `$ref` of a document that names no schema of the document.
pub fn unresolved_refs(doc: &Value) -> Vec<String> {
    let present: BTreeSet<&String> = doc
        .pointer("/components/schemas")
        .or_else(|| doc.get("definitions"))
        .and_then(Value::as_object)
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    let mut refs = BTreeSet::new();
    schemas::refs_in(doc, &mut refs);
    refs.into_iter().filter(|r| !present.contains(r)).collect()
}

/// One serialized document and its hash.
#[derive(Debug, Clone)]
struct Serialized {
    bytes: Vec<u8>,
    hash: String,
}

impl Serialized {
    fn new(doc: &Value) -> Self {
        // Serializing a `Value` cannot fail: its keys are strings.
        Self::from_bytes(serde_json::to_vec(doc).unwrap_or_default())
    }

    fn from_bytes(bytes: Vec<u8>) -> Self {
        let hash = hash(&bytes);
        Self { bytes, hash }
    }
}

/// The documents the server answers `/openapi/v2`, `/openapi/v3` and `/openapi/v3/<gv>` with.
#[derive(Debug, Clone)]
pub struct OpenApi {
    index: Vec<u8>,
    v3: BTreeMap<String, Serialized>,
    v2: Serialized,
    /// The v2 document in protobuf, encoded from `v2` when first asked for: only kubectl's
    /// client-side validation of a `kind: List` needs it.
    v2_protobuf: OnceLock<Serialized>,
}

impl OpenApi {
    /// Builds every document from the canonical definitions. Expensive: use [`global`].
    pub fn build(defs: &Definitions) -> Self {
        let mut v3 = BTreeMap::new();
        for (group, version) in group_versions() {
            v3.insert(
                group_version_key(group, version),
                Serialized::new(&v3_document(defs, group, version)),
            );
        }
        let index_paths: serde_json::Map<String, Value> = v3
            .iter()
            .map(|(key, doc)| {
                (
                    key.clone(),
                    json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={}", doc.hash)}),
                )
            })
            .collect();
        let index = serde_json::to_vec(&json!({"paths": index_paths})).unwrap_or_default();
        Self {
            index,
            v3,
            v2: Serialized::new(&v2_document(defs)),
            v2_protobuf: OnceLock::new(),
        }
    }

    /// `GET /openapi/v3`: `{"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=…"}}}`.
    pub fn v3_index(&self) -> &[u8] {
        &self.index
    }

    /// The document at `/openapi/v3/<path>` (`api/v1`, `apis/apps/v1`) and its hash.
    pub fn v3_document(&self, path: &str) -> Option<(&[u8], &str)> {
        let path = path.trim_matches('/');
        self.v3
            .get(path)
            .map(|d| (d.bytes.as_slice(), d.hash.as_str()))
    }

    /// The index keys of the v3 documents.
    pub fn v3_paths(&self) -> impl Iterator<Item = &str> {
        self.v3.keys().map(String::as_str)
    }

    /// `GET /openapi/v2` as JSON.
    pub fn v2_document(&self) -> &[u8] {
        &self.v2.bytes
    }

    pub fn v2_hash(&self) -> &str {
        &self.v2.hash
    }

    fn v2_protobuf_serialized(&self) -> &Serialized {
        self.v2_protobuf.get_or_init(|| {
            // The JSON was serialized from a `Value` just before, so it parses back.
            let doc: Value = serde_json::from_slice(&self.v2.bytes).unwrap_or_default();
            Serialized::from_bytes(v2proto::encode(&doc))
        })
    }

    /// `GET /openapi/v2` as protobuf: gnostic's `openapi.v2.Document`, see [`v2proto`].
    pub fn v2_protobuf(&self) -> &[u8] {
        &self.v2_protobuf_serialized().bytes
    }

    /// The hash of [`v2_protobuf`](Self::v2_protobuf).
    pub fn v2_protobuf_hash(&self) -> &str {
        &self.v2_protobuf_serialized().hash
    }
}

static DEFINITIONS: LazyLock<Definitions> = LazyLock::new(schemas::canonical);
// The documents and the index each build from a definitions tree of their own and drop it:
// the tree is large, and a server that never serves OpenAPI needs only the index.
static GLOBAL: LazyLock<OpenApi> = LazyLock::new(|| OpenApi::build(&schemas::canonical()));
static INDEX: LazyLock<SchemaIndex> =
    LazyLock::new(|| SchemaIndex::from_definitions(&schemas::canonical()));

/// The canonical definitions every document and the schema index derive from.
pub fn definitions() -> &'static Definitions {
    &DEFINITIONS
}

/// The documents, built on first use.
pub fn global() -> &'static OpenApi {
    &GLOBAL
}

/// The field index of the served schemas, built on first use.
pub fn schema_index() -> &'static SchemaIndex {
    &INDEX
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::RESOURCES;
    use crate::schema::{SchemaLookup, Shape};

    fn parse(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).expect("valid json")
    }

    /// What kubectl looks for before leaving validation to the server.
    fn has_validating_patch(doc: &Value, group: &str, version: &str, kind: &str) -> bool {
        let want = json!({"group": group, "kind": kind, "version": version});
        doc["paths"].as_object().unwrap().values().any(|item| {
            let Some(patch) = item.get("patch") else {
                return false;
            };
            patch.get("x-kubernetes-group-version-kind") == Some(&want)
                && patch["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["name"] == "fieldValidation" && p["in"] == "query")
        })
    }

    #[test]
    fn index_lists_every_group_version() {
        let api = global();
        let index = parse(api.v3_index());
        let paths = index["paths"].as_object().unwrap();
        let gvs = group_versions();
        assert_eq!(paths.len(), gvs.len());
        for (g, v) in gvs {
            let key = group_version_key(g, v);
            let (_, hash) = api.v3_document(&key).unwrap();
            assert_eq!(
                paths[&key]["serverRelativeURL"],
                format!("/openapi/v3/{key}?hash={hash}")
            );
            assert_eq!(hash.len(), 128);
            assert!(
                hash.chars()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
            );
        }
        assert!(paths.contains_key("api/v1"));
        assert!(paths.contains_key("apis/settings.k8s.io/v1alpha1"));
        assert!(api.v3_document("apis/batch/v1").is_none());
        assert!(api.v3_document("/api/v1").is_some());
    }

    #[test]
    fn every_kind_has_a_validating_patch_and_its_schema() {
        let api = global();
        for def in RESOURCES {
            let key = group_version_key(def.group, def.version);
            let doc = parse(api.v3_document(&key).unwrap().0);
            assert_eq!(doc["openapi"], "3.0.0");
            assert!(
                has_validating_patch(&doc, def.group, def.version, def.kind),
                "{key} {}",
                def.kind
            );
            let schema = &doc["components"]["schemas"][def.schema];
            assert_eq!(
                schema["x-kubernetes-group-version-kind"],
                json!([{"group": def.group, "kind": def.kind, "version": def.version}]),
                "{}",
                def.schema
            );
            assert!(
                doc["components"]["schemas"]
                    .get(format!("{}List", def.schema))
                    .is_some()
            );
        }
        let v2 = parse(api.v2_document());
        assert_eq!(v2["swagger"], "2.0");
        for def in RESOURCES {
            assert!(has_validating_patch(&v2, def.group, def.version, def.kind));
        }
    }

    #[test]
    fn every_ref_resolves_within_its_document() {
        let api = global();
        for key in api.v3_paths() {
            let doc = parse(api.v3_document(key).unwrap().0);
            assert_eq!(unresolved_refs(&doc), Vec::<String>::new(), "{key}");
            let mut refs = BTreeSet::new();
            schemas::refs_in(&doc, &mut refs);
            assert!(!refs.is_empty());
            let text = String::from_utf8(api.v3_document(key).unwrap().0.to_vec()).unwrap();
            assert!(!text.contains("#/definitions/"), "{key}");
        }
        let v2 = parse(api.v2_document());
        assert_eq!(unresolved_refs(&v2), Vec::<String>::new());
        let text = String::from_utf8(api.v2_document().to_vec()).unwrap();
        assert!(!text.contains("#/components/"));
        assert!(!text.contains("\"allOf\""));
    }

    #[test]
    fn documents_hold_only_what_they_reference() {
        let api = global();
        let apps = parse(api.v3_document("apis/apps/v1").unwrap().0);
        let schemas = apps["components"]["schemas"].as_object().unwrap();
        assert!(schemas.contains_key("io.k8s.api.autoscaling.v1.Scale"));
        assert!(schemas.contains_key("io.k8s.api.core.v1.PodSpec"));
        assert!(!schemas.contains_key("io.k8s.api.core.v1.Pod"));
        assert!(!schemas.contains_key("io.k8s.api.coordination.v1.Lease"));
        let lease = parse(api.v3_document("apis/coordination.k8s.io/v1").unwrap().0);
        let schemas = lease["components"]["schemas"].as_object().unwrap();
        assert!(!schemas.contains_key("io.k8s.api.core.v1.PodSpec"));
        assert!(schemas.contains_key(schemas::STATUS));
        assert!(schemas.contains_key(schemas::WATCH_EVENT));
        assert!(schemas.contains_key(schemas::PATCH));
    }

    #[test]
    fn v3_shapes_match_kubernetes() {
        let doc = parse(global().v3_document("api/v1").unwrap().0);
        let schemas = &doc["components"]["schemas"];
        let containers = &schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
        assert_eq!(containers["type"], "array");
        assert_eq!(
            containers["items"]["$ref"],
            "#/components/schemas/io.k8s.api.core.v1.Container"
        );
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
        assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
        assert_eq!(containers["x-kubernetes-list-type"], "map");
        assert_eq!(containers["x-kubernetes-list-map-keys"], json!(["name"]));
        let probe = &schemas["io.k8s.api.core.v1.Container"]["properties"]["livenessProbe"];
        assert_eq!(
            probe["allOf"],
            json!([{"$ref": "#/components/schemas/io.k8s.api.core.v1.Probe"}])
        );
        assert!(probe["description"].is_string());
        assert_eq!(
            schemas[schemas::INT_OR_STRING]["oneOf"],
            json!([{"type": "integer"}, {"type": "string"}])
        );
        assert!(schemas["io.k8s.api.core.v1.Pod"].get("required").is_none());
        let delete_options = schemas[schemas::DELETE_OPTIONS]["x-kubernetes-group-version-kind"]
            .as_array()
            .unwrap();
        assert!(delete_options.len() > 5);
        assert!(
            delete_options
                .contains(&json!({"group": "", "kind": "DeleteOptions", "version": "v1"}))
        );
    }

    #[test]
    fn hashes_are_stable_across_builds() {
        let a = OpenApi::build(definitions());
        let b = OpenApi::build(&schemas::canonical());
        assert_eq!(a.v3_index(), b.v3_index());
        for key in a.v3_paths() {
            assert_eq!(a.v3_document(key), b.v3_document(key), "{key}");
        }
        assert_eq!(a.v2_hash(), b.v2_hash());
        assert_eq!(hash(b"x"), hash(b"x"));
        assert_ne!(hash(b"x"), hash(b"y"));
    }

    #[test]
    fn schema_index_walks_a_pod() {
        let index = schema_index();
        let mut ty = "io.k8s.api.core.v1.Pod".to_owned();
        for field in ["spec", "containers", "env", "valueFrom", "secretKeyRef"] {
            let info = index
                .field(&ty, field)
                .unwrap_or_else(|| panic!("{ty}.{field}"));
            ty = match info.shape {
                Shape::Object(t) => t,
                Shape::List(inner) => match *inner {
                    Shape::Object(t) => t,
                    other => panic!("{ty}.{field}: {other:?}"),
                },
                other => panic!("{ty}.{field}: {other:?}"),
            };
        }
        assert_eq!(ty, "io.k8s.api.core.v1.SecretKeySelector");
        assert!(index.has_type("io.k8s.api.settings.v1alpha1.PodPreset"));
    }
}
