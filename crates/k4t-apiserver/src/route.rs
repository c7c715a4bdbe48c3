//! Parsing request paths into what they address. Kubernetes paths are regular but not
//! static-route friendly (`/api/v1/namespaces/{ns}` is an object, `/api/v1/namespaces/{ns}/pods`
//! a collection), so one parser handles them all.

use k4t_api::registry::{self, ResourceDef, Subresource};

/// What a path addresses.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    Version,
    Health(&'static str),
    /// `/api`
    CoreGroup,
    /// `/apis`
    Groups,
    /// `/apis/<group>`
    Group(String),
    /// `/api/v1`, `/apis/<group>/<version>`
    GroupVersion {
        group: String,
        version: String,
    },
    OpenApiV2,
    OpenApiV3Index,
    /// `/openapi/v3/<path>`
    OpenApiV3(String),
    Metrics,
    /// `/k4t/v1/nodes/<node>/tunnel`: a node agent's control stream.
    TunnelControl(String),
    /// `/k4t/v1/tunnels/<id>`: a node agent dialling back.
    TunnelDial(String),
    Resource(ResourcePath),
    NotFound,
}

/// A resource path.
#[derive(Debug, Clone)]
pub struct ResourcePath {
    pub def: &'static ResourceDef,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<Subresource>,
    /// The legacy `/watch/` prefix was used.
    pub legacy_watch: bool,
}

impl PartialEq for ResourcePath {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.def, other.def)
            && self.namespace == other.namespace
            && self.name == other.name
            && self.subresource == other.subresource
            && self.legacy_watch == other.legacy_watch
    }
}

/// Parses a request path (without the query string).
pub fn parse(path: &str) -> Route {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    match segs.as_slice() {
        ["version"] => Route::Version,
        ["livez"] | ["livez", ..] => Route::Health("livez"),
        ["readyz"] | ["readyz", ..] => Route::Health("readyz"),
        ["healthz"] | ["healthz", ..] => Route::Health("healthz"),
        ["metrics"] => Route::Metrics,
        ["k4t", "v1", "nodes", node, "tunnel"] if !node.is_empty() => {
            Route::TunnelControl((*node).to_owned())
        }
        ["k4t", "v1", "tunnels", id] if !id.is_empty() => Route::TunnelDial((*id).to_owned()),
        ["openapi", "v2"] => Route::OpenApiV2,
        ["openapi", "v3"] => Route::OpenApiV3Index,
        ["openapi", "v3", rest @ ..] if !rest.is_empty() => Route::OpenApiV3(rest.join("/")),
        ["api"] => Route::CoreGroup,
        ["api", "v1"] => Route::GroupVersion {
            group: String::new(),
            version: "v1".into(),
        },
        ["api", "v1", rest @ ..] => resource("", "v1", rest),
        ["apis"] => Route::Groups,
        ["apis", group] => Route::Group((*group).to_owned()),
        ["apis", group, version] => Route::GroupVersion {
            group: (*group).to_owned(),
            version: (*version).to_owned(),
        },
        ["apis", group, version, rest @ ..] => resource(group, version, rest),
        _ => Route::NotFound,
    }
}

fn resource(group: &str, version: &str, rest: &[&str]) -> Route {
    let (legacy_watch, rest) = match rest {
        ["watch", tail @ ..] => (true, tail),
        _ => (false, rest),
    };
    let found = |plural: &str| registry::find(group, version, plural);
    let route = |def, namespace: Option<&str>, name: Option<&str>, sub: Option<&str>| -> Route {
        let subresource = match sub {
            None => None,
            Some(s) => match Subresource::from_name(s) {
                Some(sr) if def_has(def, sr) => Some(sr),
                _ => return Route::NotFound,
            },
        };
        if name.is_some_and(str::is_empty) || namespace.is_some_and(str::is_empty) {
            return Route::NotFound;
        }
        Route::Resource(ResourcePath {
            def,
            namespace: namespace.map(str::to_owned),
            name: name.map(str::to_owned),
            subresource,
            legacy_watch,
        })
    };
    match rest {
        // A namespaced collection, object or subresource.
        ["namespaces", ns, plural, tail @ ..] if found(plural).is_some_and(|d| d.namespaced) => {
            let def = found(plural).expect("checked");
            match tail {
                [] => route(def, Some(ns), None, None),
                [name] => route(def, Some(ns), Some(name), None),
                [name, sub] => route(def, Some(ns), Some(name), Some(sub)),
                _ => Route::NotFound,
            }
        }
        // Cluster-scoped resources, and namespaced collections across all namespaces.
        [plural, tail @ ..] => {
            let Some(def) = found(plural) else {
                return Route::NotFound;
            };
            match tail {
                [] => route(def, None, None, None),
                [name] if !def.namespaced => route(def, None, Some(name), None),
                [name, sub] if !def.namespaced => route(def, None, Some(name), Some(sub)),
                _ => Route::NotFound,
            }
        }
        [] => Route::NotFound,
    }
}

fn def_has(def: &ResourceDef, sub: Subresource) -> bool {
    def.has_subresource(sub)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(path: &str) -> ResourcePath {
        match parse(path) {
            Route::Resource(r) => r,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn paths() {
        let r = res("/api/v1/namespaces/default/pods/web");
        assert_eq!(
            (r.def.plural, r.namespace.as_deref(), r.name.as_deref()),
            ("pods", Some("default"), Some("web"))
        );
        let r = res("/api/v1/namespaces/default");
        assert_eq!(
            (r.def.plural, r.namespace, r.name.as_deref()),
            ("namespaces", None, Some("default"))
        );
        let r = res("/api/v1/namespaces/default/finalize");
        assert_eq!(r.subresource, Some(Subresource::Finalize));
        let r = res("/api/v1/namespaces/default/pods/web/status");
        assert_eq!(r.subresource, Some(Subresource::Status));
        let r = res("/api/v1/pods");
        assert_eq!((r.def.plural, r.namespace), ("pods", None));
        let r = res("/apis/apps/v1/namespaces/x/deployments/d/scale");
        assert_eq!(r.subresource, Some(Subresource::Scale));
        let r = res("/api/v1/watch/namespaces/default/pods");
        assert!(r.legacy_watch);
        assert_eq!(parse("/api/v1/pods/web"), Route::NotFound);
        assert_eq!(
            parse("/api/v1/namespaces/default/pods/web/bogus"),
            Route::NotFound
        );
        assert_eq!(parse("/api/v1/bogus"), Route::NotFound);
        assert_eq!(
            parse("/openapi/v3/apis/apps/v1"),
            Route::OpenApiV3("apis/apps/v1".into())
        );
        assert_eq!(
            parse("/apis/apps/v1"),
            Route::GroupVersion {
                group: "apps".into(),
                version: "v1".into()
            }
        );
        assert_eq!(parse("/livez/ping"), Route::Health("livez"));
    }
}
