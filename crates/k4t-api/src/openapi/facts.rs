//! The strategic-merge-patch and list-type facts of `data/strategic-merge-keys.tsv`, keyed by
//! OpenAPI schema name.
//!
//! k8s-openapi's schemas carry Kubernetes' descriptions but none of the struct-tag extensions, so
//! the file (read from the Go API types) is the only source for them.

const TSV: &str = include_str!("../../data/strategic-merge-keys.tsv");

/// What the Go struct tags and `+listType` markers say about one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldFact {
    /// The OpenAPI schema holding the field, e.g. `io.k8s.api.core.v1.PodSpec`.
    pub schema: String,
    /// The JSON field name.
    pub field: String,
    /// `patchStrategy` as written in the tag: `merge`, `retainKeys`, `merge,retainKeys`.
    pub patch_strategy: Option<String>,
    pub patch_merge_key: Option<String>,
    pub list_type: Option<String>,
    pub list_map_keys: Vec<String>,
}

/// The OpenAPI schema name of a Go type in a `group/version` package of the tsv.
///
/// `EphemeralContainerCommon` is embedded inline in `EphemeralContainer`, so its fields live there.
pub fn schema_name(group_version: &str, go_type: &str) -> Option<String> {
    let package = match group_version {
        "meta/v1" => "io.k8s.apimachinery.pkg.apis.meta.v1".to_owned(),
        gv => {
            let (group, version) = gv.split_once('/')?;
            if group.is_empty() || version.is_empty() || version.contains('/') {
                return None;
            }
            format!("io.k8s.api.{group}.{version}")
        }
    };
    let go_type = match go_type {
        "EphemeralContainerCommon" => "EphemeralContainer",
        t => t,
    };
    if go_type.is_empty() {
        return None;
    }
    Some(format!("{package}.{go_type}"))
}

/// Parses one data line; `None` for comments, blank lines and lines of the wrong shape.
pub fn parse_line(line: &str) -> Option<FieldFact> {
    if line.starts_with('#') || line.trim().is_empty() {
        return None;
    }
    let cols: Vec<&str> = line.split('\t').collect();
    let [gv, go_type, field, strategy, merge_key, markers] = cols.as_slice() else {
        return None;
    };
    if field.is_empty() {
        return None;
    }
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let mut list_type = None;
    let mut list_map_keys = Vec::new();
    for marker in markers.split_whitespace() {
        match marker.split_once('=') {
            Some(("listType", v)) => list_type = Some(v.to_owned()),
            Some(("listMapKey", v)) => list_map_keys.push(v.to_owned()),
            _ => {}
        }
    }
    Some(FieldFact {
        schema: schema_name(gv, go_type)?,
        field: (*field).to_owned(),
        patch_strategy: non_empty(strategy),
        patch_merge_key: non_empty(merge_key),
        list_type,
        list_map_keys,
    })
}

/// Every fact of the embedded file.
pub fn all() -> Vec<FieldFact> {
    TSV.lines().filter_map(parse_line).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_data_line_parses() {
        let data_lines = TSV
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .count();
        assert_eq!(all().len(), data_lines);
        assert!(data_lines > 100);
    }

    #[test]
    fn schema_names() {
        let check = |gv: &str, t: &str, want: Option<&str>| {
            assert_eq!(schema_name(gv, t).as_deref(), want, "{gv} {t}");
        };
        check("core/v1", "PodSpec", Some("io.k8s.api.core.v1.PodSpec"));
        check(
            "apps/v1",
            "DeploymentSpec",
            Some("io.k8s.api.apps.v1.DeploymentSpec"),
        );
        check(
            "discovery/v1",
            "EndpointSlice",
            Some("io.k8s.api.discovery.v1.EndpointSlice"),
        );
        check(
            "meta/v1",
            "ObjectMeta",
            Some("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
        );
        check(
            "core/v1",
            "EphemeralContainerCommon",
            Some("io.k8s.api.core.v1.EphemeralContainer"),
        );
        check("v1", "Pod", None);
        check("core/v1", "", None);
    }

    #[test]
    fn parses_markers() {
        let f = parse_line(
            "core/v1\tContainer\tports\tmerge\tcontainerPort\tlistType=map listMapKey=containerPort listMapKey=protocol",
        )
        .unwrap();
        assert_eq!(
            f,
            FieldFact {
                schema: "io.k8s.api.core.v1.Container".into(),
                field: "ports".into(),
                patch_strategy: Some("merge".into()),
                patch_merge_key: Some("containerPort".into()),
                list_type: Some("map".into()),
                list_map_keys: vec!["containerPort".into(), "protocol".into()],
            }
        );
        let f = parse_line("apps/v1\tDeploymentSpec\tstrategy\tretainKeys\t\t").unwrap();
        assert_eq!(f.patch_strategy.as_deref(), Some("retainKeys"));
        assert_eq!(f.list_type, None);
        assert!(parse_line("# comment").is_none());
        assert!(parse_line("core/v1\tPodSpec\tvolumes").is_none());
    }
}
