//! Pod volumes on the node: where each lives on the host, what files ConfigMap, Secret,
//! downward API and projected volumes hold, and the mounts each container gets.
//!
//! The file contents are computed purely ([`volume_files`]); [`prepare`] writes them the way
//! the kubelet's atomic writer does (a timestamped directory, a `..data` symlink swapped
//! atomically, and one symlink per top-level entry), so a container never sees a half-written
//! update.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{Container, KeyToPath, Pod, Volume};

use crate::containerspec::{self, ConfigError, Lookup};

/// A file of a volume: path relative to the volume root, content, mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub path: String,
    pub content: Vec<u8>,
    pub mode: u32,
}

/// The host directory of a pod's volume.
pub fn volume_dir(pod_dir: &Path, volume: &Volume) -> PathBuf {
    let kind = if volume.empty_dir.is_some() {
        "kubernetes.io~empty-dir"
    } else if volume.config_map.is_some() {
        "kubernetes.io~configmap"
    } else if volume.secret.is_some() {
        "kubernetes.io~secret"
    } else if volume.downward_api.is_some() {
        "kubernetes.io~downward-api"
    } else if volume.projected.is_some() {
        "kubernetes.io~projected"
    } else {
        "kubernetes.io~other"
    };
    pod_dir.join("volumes").join(kind).join(&volume.name)
}

fn items_files(
    data: &BTreeMap<String, Vec<u8>>,
    items: Option<&Vec<KeyToPath>>,
    default_mode: u32,
    what: &str,
    optional: bool,
) -> Result<Vec<File>, ConfigError> {
    match items {
        None => Ok(data
            .iter()
            .map(|(k, v)| File {
                path: k.clone(),
                content: v.clone(),
                mode: default_mode,
            })
            .collect()),
        Some(items) => {
            let mut out = Vec::new();
            for it in items {
                match data.get(&it.key) {
                    Some(v) => out.push(File {
                        path: it.path.clone(),
                        content: v.clone(),
                        mode: it.mode.map_or(default_mode, |m| m as u32),
                    }),
                    None if optional => {}
                    None => {
                        return Err(ConfigError::Field(format!(
                            "configmap references non-existent config key: {} ({what})",
                            it.key
                        )));
                    }
                }
            }
            Ok(out)
        }
    }
}

/// The files of a ConfigMap, Secret, downward API or projected volume (empty for the others).
pub fn volume_files(
    pod: &Pod,
    volume: &Volume,
    rt: &containerspec::Runtime,
    lookup: &dyn Lookup,
) -> Result<Vec<File>, ConfigError> {
    if let Some(cm) = &volume.config_map {
        let optional = cm.optional.unwrap_or(false);
        let mode = cm.default_mode.map_or(0o644, |m| m as u32);
        return match lookup.config_map(&cm.name) {
            Some(data) => {
                let data = data.into_iter().map(|(k, v)| (k, v.into_bytes())).collect();
                items_files(&data, cm.items.as_ref(), mode, &cm.name, optional)
            }
            None if optional => Ok(Vec::new()),
            None => Err(ConfigError::ConfigMapNotFound(cm.name.clone())),
        };
    }
    if let Some(s) = &volume.secret {
        let optional = s.optional.unwrap_or(false);
        let name = s.secret_name.clone().unwrap_or_default();
        let mode = s.default_mode.map_or(0o644, |m| m as u32);
        return match lookup.secret(&name) {
            Some(data) => items_files(&data, s.items.as_ref(), mode, &name, optional),
            None if optional => Ok(Vec::new()),
            None => Err(ConfigError::SecretNotFound(name)),
        };
    }
    if let Some(d) = &volume.downward_api {
        let mode = d.default_mode.map_or(0o644, |m| m as u32);
        return downward_files(pod, d.items.as_deref().unwrap_or_default(), mode, rt);
    }
    if let Some(p) = &volume.projected {
        let mode = p.default_mode.map_or(0o644, |m| m as u32);
        let mut out = Vec::new();
        for src in p.sources.iter().flatten() {
            if let Some(cm) = &src.config_map {
                let optional = cm.optional.unwrap_or(false);
                match lookup.config_map(&cm.name) {
                    Some(data) => {
                        let data = data.into_iter().map(|(k, v)| (k, v.into_bytes())).collect();
                        out.extend(items_files(
                            &data,
                            cm.items.as_ref(),
                            mode,
                            &cm.name,
                            optional,
                        )?);
                    }
                    None if optional => {}
                    None => return Err(ConfigError::ConfigMapNotFound(cm.name.clone())),
                }
            }
            if let Some(s) = &src.secret {
                let optional = s.optional.unwrap_or(false);
                match lookup.secret(&s.name) {
                    Some(data) => out.extend(items_files(
                        &data,
                        s.items.as_ref(),
                        mode,
                        &s.name,
                        optional,
                    )?),
                    None if optional => {}
                    None => return Err(ConfigError::SecretNotFound(s.name.clone())),
                }
            }
            if let Some(d) = &src.downward_api {
                out.extend(downward_files(
                    pod,
                    d.items.as_deref().unwrap_or_default(),
                    mode,
                    rt,
                )?);
            }
        }
        return Ok(out);
    }
    Ok(Vec::new())
}

fn downward_files(
    pod: &Pod,
    items: &[k8s_openapi::api::core::v1::DownwardAPIVolumeFile],
    mode: u32,
    rt: &containerspec::Runtime,
) -> Result<Vec<File>, ConfigError> {
    let mut out = Vec::new();
    for it in items {
        let value = if let Some(f) = &it.field_ref {
            containerspec::field_value(pod, rt, &f.field_path)?
        } else if let Some(r) = &it.resource_field_ref {
            let container = pod
                .spec
                .as_ref()
                .and_then(|s| {
                    s.containers
                        .iter()
                        .find(|c| Some(&c.name) == r.container_name.as_ref())
                })
                .cloned()
                .unwrap_or_default();
            containerspec::resource_value(
                &container,
                &r.resource,
                r.divisor.as_ref().map(|d| d.0.as_str()),
                &BTreeMap::new(),
            )?
        } else {
            String::new()
        };
        out.push(File {
            path: it.path.clone(),
            content: value.into_bytes(),
            mode: it.mode.map_or(mode, |m| m as u32),
        });
    }
    Ok(out)
}

/// The mounts of one container: `(host path, container path, read-only)`.
pub fn container_mounts(
    pod: &Pod,
    container: &Container,
    pod_dir: &Path,
) -> Result<Vec<k4t_runtime::Mount>, ConfigError> {
    let volumes = pod
        .spec
        .as_ref()
        .and_then(|s| s.volumes.clone())
        .unwrap_or_default();
    let mut out = Vec::new();
    for m in container.volume_mounts.iter().flatten() {
        let Some(v) = volumes.iter().find(|v| v.name == m.name) else {
            return Err(ConfigError::Field(format!(
                "cannot find volume {:?} to mount into container {:?}",
                m.name, container.name
            )));
        };
        let mut host = match &v.host_path {
            Some(hp) => PathBuf::from(&hp.path),
            None => volume_dir(pod_dir, v),
        };
        let sub = m.sub_path.clone().unwrap_or_default();
        if !sub.is_empty() {
            if sub.starts_with('/') || sub.split('/').any(|c| c == "..") {
                return Err(ConfigError::Field(format!("invalid subPath {sub:?}")));
            }
            host = host.join(sub);
        }
        let read_only = m.read_only.unwrap_or(false)
            || v.config_map.is_some()
            || v.secret.is_some()
            || v.downward_api.is_some()
            || v.projected.is_some();
        out.push(k4t_runtime::Mount {
            host_path: host,
            container_path: PathBuf::from(&m.mount_path),
            read_only,
        });
    }
    Ok(out)
}

/// Errors preparing volumes on disk.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("volume {volume} at {path}: {source}")]
    Io {
        volume: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("hostPath {path} of volume {volume}: {message}")]
    HostPath {
        volume: String,
        path: String,
        message: String,
    },
}

/// Creates the pod's volume directories and writes their files.
pub fn prepare(
    pod: &Pod,
    pod_dir: &Path,
    rt: &containerspec::Runtime,
    lookup: &dyn Lookup,
) -> Result<(), VolumeError> {
    let volumes = pod
        .spec
        .as_ref()
        .and_then(|s| s.volumes.clone())
        .unwrap_or_default();
    for v in &volumes {
        if let Some(hp) = &v.host_path {
            check_host_path(&v.name, &hp.path, hp.type_.as_deref().unwrap_or(""))?;
            continue;
        }
        let dir = volume_dir(pod_dir, v);
        let io = |source| VolumeError::Io {
            volume: v.name.clone(),
            path: dir.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        if v.empty_dir.is_some() {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).map_err(io)?;
            continue;
        }
        let files = volume_files(pod, v, rt, lookup)?;
        atomic_write(&dir, &files).map_err(io)?;
    }
    Ok(())
}

fn check_host_path(volume: &str, path: &str, ty: &str) -> Result<(), VolumeError> {
    let p = Path::new(path);
    let err = |message: &str| VolumeError::HostPath {
        volume: volume.to_owned(),
        path: path.to_owned(),
        message: message.to_owned(),
    };
    match ty {
        "DirectoryOrCreate" => {
            if !p.exists() {
                std::fs::create_dir_all(p).map_err(|e| err(&e.to_string()))?;
            }
            Ok(())
        }
        "Directory" if !p.is_dir() => Err(err("hostPath type check failed: is not a directory")),
        "File" if !p.is_file() => Err(err("hostPath type check failed: is not a file")),
        "FileOrCreate" => {
            if !p.exists() {
                if let Some(parent) = p.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| err(&e.to_string()))?;
                }
                std::fs::File::create(p).map_err(|e| err(&e.to_string()))?;
            }
            Ok(())
        }
        "Socket" | "CharDevice" | "BlockDevice" if !p.exists() => {
            Err(err("hostPath type check failed: does not exist"))
        }
        _ => Ok(()),
    }
}

/// The kubelet's atomic writer: files go to a fresh `..<timestamp>` directory, `..data` is
/// swapped to point at it, and each top-level name is a symlink through `..data`.
pub fn atomic_write(dir: &Path, files: &[File]) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let stamp = format!("..{}", jiff::Timestamp::now().as_nanosecond());
    let target = dir.join(&stamp);
    std::fs::create_dir_all(&target)?;
    for f in files {
        if f.path.starts_with('/') || f.path.split('/').any(|c| c == ".." || c.starts_with("..")) {
            continue;
        }
        let p = target.join(&f.path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&p, &f.content)?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(f.mode))?;
    }
    let tmp_link = dir.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp_link);
    std::os::unix::fs::symlink(&stamp, &tmp_link)?;
    let previous = std::fs::read_link(dir.join("..data")).ok();
    std::fs::rename(&tmp_link, dir.join("..data"))?;
    let mut tops: Vec<String> = files
        .iter()
        .filter_map(|f| f.path.split('/').next().map(str::to_owned))
        .collect();
    tops.sort();
    tops.dedup();
    for top in &tops {
        let link = dir.join(top);
        if std::fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(Path::new("..data").join(top), &link)?;
        }
    }
    // Names that are gone and the previous generation.
    for entry in std::fs::read_dir(dir)?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("..") && !tops.contains(&name) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    if let Some(prev) = previous
        && prev != Path::new(&stamp)
    {
        let _ = std::fs::remove_dir_all(dir.join(prev));
    }
    Ok(())
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
                    ("a.conf".to_owned(), "x=1".to_owned()),
                    ("b".to_owned(), "2".to_owned()),
                ]
                .into()
            })
        }
        fn secret(&self, name: &str) -> Option<BTreeMap<String, Vec<u8>>> {
            (name == "pw").then(|| [("password".to_owned(), b"s3cret".to_vec())].into())
        }
    }

    fn pod() -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "default", "uid": "u1", "labels": {"app": "web", "tier": "front"}},
            "spec": {
                "containers": [{"name": "app", "image": "i", "volumeMounts": [
                    {"name": "cache", "mountPath": "/cache"},
                    {"name": "cfg", "mountPath": "/etc/cfg"},
                    {"name": "info", "mountPath": "/etc/podinfo", "readOnly": true}
                ]}],
                "volumes": [
                    {"name": "cache", "emptyDir": {}},
                    {"name": "cfg", "configMap": {"name": "cfg", "items": [{"key": "a.conf", "path": "conf/a.conf"}]}},
                    {"name": "pw", "secret": {"secretName": "pw", "defaultMode": 256}},
                    {"name": "info", "downwardAPI": {"items": [
                        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                        {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}}
                    ]}}
                ]
            }
        }))
        .unwrap()
    }

    #[test]
    fn files_and_mounts() {
        let p = pod();
        let vols = p.spec.as_ref().unwrap().volumes.clone().unwrap();
        let rt = containerspec::Runtime::default();
        let cfg = volume_files(&p, &vols[1], &rt, &Data).unwrap();
        assert_eq!(
            cfg,
            vec![File {
                path: "conf/a.conf".into(),
                content: b"x=1".to_vec(),
                mode: 0o644
            }]
        );
        let pw = volume_files(&p, &vols[2], &rt, &Data).unwrap();
        assert_eq!(pw[0].mode, 0o400);
        let info = volume_files(&p, &vols[3], &rt, &Data).unwrap();
        assert_eq!(
            String::from_utf8(info[0].content.clone()).unwrap(),
            "app=\"web\"\ntier=\"front\""
        );
        let mounts = container_mounts(
            &p,
            &p.spec.as_ref().unwrap().containers[0],
            Path::new("/pods/u1"),
        )
        .unwrap();
        assert_eq!(
            mounts[0].host_path,
            Path::new("/pods/u1/volumes/kubernetes.io~empty-dir/cache")
        );
        assert!(!mounts[0].read_only);
        assert!(mounts[1].read_only && mounts[2].read_only);
    }

    #[test]
    fn prepare_writes_atomically_and_updates() {
        let dir = tempfile_dir();
        let p = pod();
        prepare(&p, &dir, &containerspec::Runtime::default(), &Data).unwrap();
        let cfg = dir.join("volumes/kubernetes.io~configmap/cfg");
        assert_eq!(
            std::fs::read_to_string(cfg.join("conf/a.conf")).unwrap(),
            "x=1"
        );
        assert!(
            std::fs::symlink_metadata(cfg.join("conf"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        atomic_write(
            &cfg,
            &[File {
                path: "b".into(),
                content: b"new".to_vec(),
                mode: 0o644,
            }],
        )
        .unwrap();
        assert_eq!(std::fs::read_to_string(cfg.join("b")).unwrap(), "new");
        assert!(
            !cfg.join("conf").exists(),
            "names that are gone are removed"
        );
        let generations = std::fs::read_dir(&cfg).unwrap().filter(|e| {
            let n = e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .into_owned();
            n.starts_with("..") && n != "..data"
        });
        assert_eq!(generations.count(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn tempfile_dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "k4t-vol-{}",
            jiff::Timestamp::now().as_nanosecond()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
