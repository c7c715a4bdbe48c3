//! What a container runs with, as the kubelet derives it from the pod: the environment
//! (`env` with `$(VAR)` references, `valueFrom` field, resource, ConfigMap and Secret
//! references, `envFrom`) and the argv (`command` and `args` combined, references expanded).
//!
//! Pure: ConfigMaps and Secrets come in through [`Lookup`], so the shell decides how to fetch
//! them. Errors carry the texts the kubelet puts in `CreateContainerConfigError`.

use std::collections::BTreeMap;

use k4t_api::validation::quantity::Quantity;
use k8s_openapi::api::core::v1::{Container, EnvVar, Pod};

/// Where ConfigMap and Secret data comes from.
pub trait Lookup {
    /// The data of a ConfigMap in the pod's namespace (`None`: it does not exist).
    fn config_map(&self, name: &str) -> Option<BTreeMap<String, String>>;
    /// The decoded data of a Secret in the pod's namespace (`None`: it does not exist).
    fn secret(&self, name: &str) -> Option<BTreeMap<String, Vec<u8>>>;
}

/// Why a container's configuration could not be built (`CreateContainerConfigError`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("configmap {0:?} not found")]
    ConfigMapNotFound(String),
    #[error("secret {0:?} not found")]
    SecretNotFound(String),
    #[error("couldn't find key {key} in ConfigMap {namespace}/{name}")]
    ConfigMapKeyNotFound {
        namespace: String,
        name: String,
        key: String,
    },
    #[error("couldn't find key {key} in Secret {namespace}/{name}")]
    SecretKeyNotFound {
        namespace: String,
        name: String,
        key: String,
    },
    #[error("{0}")]
    Field(String),
}

/// Facts about the pod that field references read but the pod object may not hold yet.
#[derive(Debug, Clone, Default)]
pub struct Runtime {
    pub host_ip: String,
    pub pod_ip: String,
    pub pod_ips: Vec<String>,
    pub node_name: String,
}

/// Expands `$(VAR)` references as Kubernetes does: `$$` escapes, unknown references stay as
/// written, `$(` without a closing `)` stays as written.
pub fn expand(input: &str, vars: &dyn Fn(&str) -> Option<String>) -> String {
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' && i + 1 < bytes.len() {
            match bytes[i + 1] {
                b'$' => {
                    out.push('$');
                    i += 2;
                    continue;
                }
                b'(' => {
                    if let Some(end) = input[i + 2..].find(')') {
                        let name = &input[i + 2..i + 2 + end];
                        match vars(name) {
                            Some(v) => out.push_str(&v),
                            None => out.push_str(&input[i..i + 3 + end]),
                        }
                        i += 3 + end;
                        continue;
                    }
                }
                _ => {}
            }
        }
        let ch = input[i..].chars().next().unwrap_or('\u{fffd}');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

fn labels_text(m: &BTreeMap<String, String>) -> String {
    m.iter()
        .map(|(k, v)| {
            format!(
                "{k}=\"{}\"",
                v.replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The value of a downward-API field path (`metadata.name`, `metadata.labels['app']`,
/// `status.podIP`, …).
pub fn field_value(pod: &Pod, rt: &Runtime, path: &str) -> Result<String, ConfigError> {
    let meta = &pod.metadata;
    let spec = pod.spec.as_ref();
    if let Some(rest) = path
        .strip_prefix("metadata.labels['")
        .and_then(|r| r.strip_suffix("']"))
    {
        return Ok(meta
            .labels
            .as_ref()
            .and_then(|l| l.get(rest))
            .cloned()
            .unwrap_or_default());
    }
    if let Some(rest) = path
        .strip_prefix("metadata.annotations['")
        .and_then(|r| r.strip_suffix("']"))
    {
        return Ok(meta
            .annotations
            .as_ref()
            .and_then(|l| l.get(rest))
            .cloned()
            .unwrap_or_default());
    }
    Ok(match path {
        "metadata.name" => meta.name.clone().unwrap_or_default(),
        "metadata.namespace" => meta.namespace.clone().unwrap_or_default(),
        "metadata.uid" => meta.uid.clone().unwrap_or_default(),
        "metadata.labels" => labels_text(&meta.labels.clone().unwrap_or_default()),
        "metadata.annotations" => labels_text(&meta.annotations.clone().unwrap_or_default()),
        "spec.nodeName" => spec
            .and_then(|s| s.node_name.clone())
            .unwrap_or_else(|| rt.node_name.clone()),
        "spec.serviceAccountName" => spec
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_default(),
        "status.hostIP" => rt.host_ip.clone(),
        "status.hostIPs" => rt.host_ip.clone(),
        "status.podIP" => rt.pod_ip.clone(),
        "status.podIPs" => rt.pod_ips.join(","),
        other => {
            return Err(ConfigError::Field(format!(
                "unsupported fieldPath: {other}"
            )));
        }
    })
}

/// The value of a `resourceFieldRef` (`limits.cpu`, `requests.memory`, …) with its divisor;
/// an unset limit falls back to the node's allocatable, as the kubelet does.
pub fn resource_value(
    container: &Container,
    resource: &str,
    divisor: Option<&str>,
    node_allocatable: &BTreeMap<String, String>,
) -> Result<String, ConfigError> {
    let (kind, name) = resource
        .split_once('.')
        .ok_or_else(|| ConfigError::Field(format!("unsupported resource: {resource}")))?;
    let res = container.resources.as_ref();
    let map = match kind {
        "limits" => res.and_then(|r| r.limits.as_ref()),
        "requests" => res.and_then(|r| r.requests.as_ref()),
        _ => {
            return Err(ConfigError::Field(format!(
                "unsupported resource: {resource}"
            )));
        }
    };
    let value = map
        .and_then(|m| m.get(name))
        .map(|q| q.0.clone())
        .or_else(|| {
            if kind == "limits" {
                node_allocatable.get(name).cloned()
            } else {
                None
            }
        })
        .unwrap_or_else(|| "0".to_owned());
    let q = Quantity::parse(&value).map_err(ConfigError::Field)?;
    let d = Quantity::parse(divisor.filter(|d| !d.is_empty()).unwrap_or("1"))
        .map_err(ConfigError::Field)?;
    let (num, den) = (q.milli_value(), d.milli_value().max(1));
    // Rounded up, as the kubelet's ExtractContainerResourceValue does (cpu "1m" is "1").
    let v = (num + den - 1) / den;
    Ok(v.to_string())
}

fn env_var_value(
    pod: &Pod,
    container: &Container,
    rt: &Runtime,
    lookup: &dyn Lookup,
    var: &EnvVar,
    resolved: &dyn Fn(&str) -> Option<String>,
    node_allocatable: &BTreeMap<String, String>,
) -> Result<Option<String>, ConfigError> {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    if let Some(from) = var.value_from.as_ref() {
        if let Some(f) = from.field_ref.as_ref() {
            return field_value(pod, rt, &f.field_path).map(Some);
        }
        if let Some(r) = from.resource_field_ref.as_ref() {
            return resource_value(
                container,
                &r.resource,
                r.divisor.as_ref().map(|d| d.0.as_str()),
                node_allocatable,
            )
            .map(Some);
        }
        if let Some(c) = from.config_map_key_ref.as_ref() {
            let optional = c.optional.unwrap_or(false);
            return match lookup.config_map(&c.name) {
                None if optional => Ok(None),
                None => Err(ConfigError::ConfigMapNotFound(c.name.clone())),
                Some(data) => match data.get(&c.key) {
                    Some(v) => Ok(Some(v.clone())),
                    None if optional => Ok(None),
                    None => Err(ConfigError::ConfigMapKeyNotFound {
                        namespace: ns,
                        name: c.name.clone(),
                        key: c.key.clone(),
                    }),
                },
            };
        }
        if let Some(s) = from.secret_key_ref.as_ref() {
            let optional = s.optional.unwrap_or(false);
            return match lookup.secret(&s.name) {
                None if optional => Ok(None),
                None => Err(ConfigError::SecretNotFound(s.name.clone())),
                Some(data) => match data.get(&s.key) {
                    Some(v) => Ok(Some(String::from_utf8_lossy(v).into_owned())),
                    None if optional => Ok(None),
                    None => Err(ConfigError::SecretKeyNotFound {
                        namespace: ns,
                        name: s.name.clone(),
                        key: s.key.clone(),
                    }),
                },
            };
        }
        return Ok(None);
    }
    Ok(Some(expand(var.value.as_deref().unwrap_or(""), resolved)))
}

/// A container's environment: the variables in order, and the `envFrom` keys skipped as
/// invalid names.
pub type Environment = (Vec<(String, String)>, Vec<String>);

/// The environment of a container, in Kubernetes' order (`envFrom` first, then `env`, later
/// entries winning), and the names of keys `envFrom` skipped as invalid.
pub fn environment(
    pod: &Pod,
    container: &Container,
    rt: &Runtime,
    lookup: &dyn Lookup,
    node_allocatable: &BTreeMap<String, String>,
) -> Result<Environment, ConfigError> {
    let mut order: Vec<String> = Vec::new();
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    let mut skipped = Vec::new();
    let set =
        |order: &mut Vec<String>, values: &mut BTreeMap<String, String>, k: String, v: String| {
            if !values.contains_key(&k) {
                order.push(k.clone());
            }
            values.insert(k, v);
        };
    for from in container.env_from.iter().flatten() {
        let prefix = from.prefix.clone().unwrap_or_default();
        if let Some(c) = from.config_map_ref.as_ref() {
            match lookup.config_map(&c.name) {
                Some(data) => {
                    for (k, v) in data {
                        let key = format!("{prefix}{k}");
                        if key.is_empty() || key.contains('=') {
                            skipped.push(key);
                            continue;
                        }
                        set(&mut order, &mut values, key, v);
                    }
                }
                None if c.optional.unwrap_or(false) => {}
                None => return Err(ConfigError::ConfigMapNotFound(c.name.clone())),
            }
        }
        if let Some(s) = from.secret_ref.as_ref() {
            match lookup.secret(&s.name) {
                Some(data) => {
                    for (k, v) in data {
                        let key = format!("{prefix}{k}");
                        if key.is_empty() || key.contains('=') {
                            skipped.push(key);
                            continue;
                        }
                        set(
                            &mut order,
                            &mut values,
                            key,
                            String::from_utf8_lossy(&v).into_owned(),
                        );
                    }
                }
                None if s.optional.unwrap_or(false) => {}
                None => return Err(ConfigError::SecretNotFound(s.name.clone())),
            }
        }
    }
    for var in container.env.iter().flatten() {
        // `$(VAR)` sees the variables defined before this one.
        let snapshot = values.clone();
        let resolved = |name: &str| snapshot.get(name).cloned();
        if let Some(v) =
            env_var_value(pod, container, rt, lookup, var, &resolved, node_allocatable)?
        {
            set(&mut order, &mut values, var.name.clone(), v);
        }
    }
    let env = order
        .into_iter()
        .filter_map(|k| values.get(&k).map(|v| (k.clone(), v.clone())))
        .collect();
    Ok((env, skipped))
}

/// The argv of a container: `command` then `args`, with `$(VAR)` references expanded from its
/// environment. Without `command` there is no image entrypoint in the process runtime, so the
/// first of `args` is the executable.
pub fn argv(container: &Container, env: &[(String, String)]) -> Vec<String> {
    let lookup = |name: &str| {
        env.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    container
        .command
        .iter()
        .flatten()
        .chain(container.args.iter().flatten())
        .map(|a| expand(a, &lookup))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Data;

    impl Lookup for Data {
        fn config_map(&self, name: &str) -> Option<BTreeMap<String, String>> {
            (name == "cfg").then(|| {
                [
                    ("color".to_owned(), "blue".to_owned()),
                    ("bad=key".to_owned(), "x".to_owned()),
                ]
                .into()
            })
        }
        fn secret(&self, name: &str) -> Option<BTreeMap<String, Vec<u8>>> {
            (name == "pw").then(|| [("password".to_owned(), b"s3cret".to_vec())].into())
        }
    }

    fn pod(container: serde_json::Value) -> (Pod, Container) {
        let p: Pod = serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "default", "uid": "u1", "labels": {"app": "web"}},
            "spec": {"containers": [container], "nodeName": "node-1", "serviceAccountName": "default"}
        }))
        .unwrap();
        let c = p.spec.as_ref().unwrap().containers[0].clone();
        (p, c)
    }

    fn rt() -> Runtime {
        Runtime {
            host_ip: "192.168.1.5".into(),
            pod_ip: "10.42.0.7".into(),
            pod_ips: vec!["10.42.0.7".into()],
            node_name: "node-1".into(),
        }
    }

    #[test]
    fn expansion_rules() {
        let vars = |n: &str| (n == "A").then(|| "x".to_owned());
        assert_eq!(expand("$(A)-$(B)-$$(A)-$(", &vars), "x-$(B)-$(A)-$(");
        assert_eq!(expand("plain", &vars), "plain");
        assert_eq!(expand("é$(A)", &vars), "éx");
    }

    #[test]
    fn env_resolves_every_source_in_order() {
        let (p, c) = pod(json!({
            "name": "app", "image": "i",
            "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}],
            "env": [
                {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
                {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "pw", "key": "password"}}},
                {"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "color"}}},
                {"name": "GREETING", "value": "hello $(POD) on $(IP)"},
                {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
                {"name": "OPT", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "x", "optional": true}}}
            ],
            "resources": {"limits": {"memory": "64Mi"}}
        }));
        let (env, skipped) = environment(&p, &c, &rt(), &Data, &BTreeMap::new()).unwrap();
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("CFG_color"), Some("blue"));
        assert_eq!(skipped, ["CFG_bad=key"]);
        assert_eq!(get("POD"), Some("web"));
        assert_eq!(get("APP"), Some("web"));
        assert_eq!(get("PW"), Some("s3cret"));
        assert_eq!(get("COLOR"), Some("blue"));
        assert_eq!(get("GREETING"), Some("hello web on 10.42.0.7"));
        assert_eq!(get("MEM"), Some("64"));
        assert_eq!(get("OPT"), None);
        assert_eq!(env[0].0, "CFG_color");
    }

    #[test]
    fn missing_references_are_config_errors() {
        let (p, c) = pod(json!({"name": "app", "image": "i", "env": [
            {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "missing"}}}
        ]}));
        let err = environment(&p, &c, &rt(), &Data, &BTreeMap::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "couldn't find key missing in ConfigMap default/cfg"
        );
        let (p, c) = pod(json!({"name": "app", "image": "i", "env": [
            {"name": "X", "valueFrom": {"secretKeyRef": {"name": "other", "key": "k"}}}
        ]}));
        assert_eq!(
            environment(&p, &c, &rt(), &Data, &BTreeMap::new())
                .unwrap_err()
                .to_string(),
            "secret \"other\" not found"
        );
    }

    #[test]
    fn argv_combines_command_and_args() {
        let (_, c) = pod(
            json!({"name": "app", "image": "i", "command": ["sh", "-c"], "args": ["echo $(MSG)"]}),
        );
        assert_eq!(
            argv(&c, &[("MSG".into(), "hi".into())]),
            ["sh", "-c", "echo hi"]
        );
        let (_, c) = pod(json!({"name": "app", "image": "i", "args": ["sleep", "10"]}));
        assert_eq!(argv(&c, &[]), ["sleep", "10"]);
    }

    #[test]
    fn resource_fields_round_up_with_divisors() {
        let (_, c) = pod(
            json!({"name": "app", "image": "i", "resources": {"limits": {"cpu": "250m"}, "requests": {"cpu": "100m"}}}),
        );
        assert_eq!(
            resource_value(&c, "limits.cpu", None, &BTreeMap::new()).unwrap(),
            "1"
        );
        assert_eq!(
            resource_value(&c, "limits.cpu", Some("1m"), &BTreeMap::new()).unwrap(),
            "250"
        );
        assert_eq!(
            resource_value(&c, "requests.cpu", Some("1m"), &BTreeMap::new()).unwrap(),
            "100"
        );
        let alloc: BTreeMap<String, String> = [("memory".to_owned(), "2Gi".to_owned())].into();
        assert_eq!(
            resource_value(&c, "limits.memory", Some("1Gi"), &alloc).unwrap(),
            "2"
        );
    }
}
