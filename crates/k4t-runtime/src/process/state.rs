//! The process runtime's state on disk, so that a new runtime over the same directory (k4t
//! restarted) sees the same sandboxes and containers:
//!
//! ```text
//! <state_dir>/sandboxes/<id>/sandbox.json     written by the runtime
//! <state_dir>/containers/<id>/container.json  written by the runtime at create
//! <state_dir>/containers/<id>/started.json    written by the supervisor once the process runs
//! <state_dir>/containers/<id>/exited.json     written by the supervisor when it has ended
//! <state_dir>/containers/<id>/shim.log        the supervisor's own diagnostics
//! <state_dir>/ipam/...                         pod IP allocations
//! ```
//!
//! Every file is replaced atomically (write to a temporary name, then rename).

use std::collections::BTreeMap;
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::cgroups::CgroupPaths;
use super::exit::Exit;
use crate::ContainerConfig;

/// A process identified beyond its PID (see [`super::procfs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcRef {
    pub pid: i32,
    pub start: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxRecord {
    pub id: String,
    pub pod_uid: String,
    pub pod_name: String,
    pub namespace: String,
    pub hostname: String,
    pub host_network: bool,
    #[serde(default)]
    pub share_process_namespace: bool,
    pub log_directory: PathBuf,
    pub labels: BTreeMap<String, String>,
    pub created_at: i64,
    /// Whether the pod has its own namespaces (root mode).
    pub isolated: bool,
    pub ip: Option<Ipv4Addr>,
    pub host_veth: Option<String>,
    /// The pod's init process (PID 1 of its PID namespace).
    pub init: Option<ProcRef>,
    /// Set once the sandbox was stopped (or found dead).
    pub stopped: bool,
}

/// Which of the sandbox's namespaces a container joins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinNamespaces {
    pub net: bool,
    pub uts: bool,
    pub ipc: bool,
    pub pid: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerRecord {
    pub id: String,
    pub sandbox_id: String,
    pub pod_uid: String,
    pub config: ContainerConfig,
    pub created_at: i64,
    /// Own mount namespace, cgroup, and the sandbox's namespaces (root mode).
    pub isolated: bool,
    /// The sandbox's init, whose namespaces the container joins.
    pub sandbox_init: Option<ProcRef>,
    pub join: JoinNamespaces,
    pub cgroup: CgroupPaths,
}

/// Written by the supervisor once the container's process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Started {
    pub supervisor: ProcRef,
    pub process: ProcRef,
    pub started_at: i64,
}

/// Written by the supervisor when the container has ended (or could not start).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exited {
    #[serde(flatten)]
    pub exit: Exit,
    pub started_at: Option<i64>,
    pub finished_at: i64,
}

pub const SANDBOX_FILE: &str = "sandbox.json";
pub const CONTAINER_FILE: &str = "container.json";
pub const STARTED_FILE: &str = "started.json";
pub const EXITED_FILE: &str = "exited.json";
pub const SHIM_LOG: &str = "shim.log";

pub fn sandboxes_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("sandboxes")
}

pub fn containers_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("containers")
}

/// Replaces `path` with `value` as JSON, atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let data = serde_json::to_vec(value).map_err(io::Error::other)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, data)
        .map_err(|e| io::Error::new(e.kind(), format!("writing {}: {e}", path.display())))?;
    std::fs::rename(&tmp, path)
        .map_err(|e| io::Error::new(e.kind(), format!("writing {}: {e}", path.display())))
}

/// Reads `path` as JSON; `None` when it does not exist.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> io::Result<Option<T>> {
    match std::fs::read(path) {
        Ok(data) => serde_json::from_slice(&data).map(Some).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("reading {}: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("reading {}: {e}", path.display()),
        )),
    }
}

/// The subdirectories of `dir` whose names are IDs (64 hex digits).
pub fn list_ids(dir: &Path) -> io::Result<Vec<String>> {
    let mut ids = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(ids),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let name = entry?.file_name();
        if let Some(name) = name.to_str()
            && is_id(name)
        {
            ids.push(name.to_owned());
        }
    }
    ids.sort();
    Ok(ids)
}

pub fn is_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A new random ID: 64 lower-case hex digits, like containerd's.
pub fn new_id() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Mount, Resources};

    #[test]
    fn ids() {
        let a = new_id();
        assert!(is_id(&a), "{a}");
        assert_ne!(a, new_id());
        assert!(!is_id("abc"));
        assert!(!is_id(&"A".repeat(64)));
    }

    #[test]
    fn records_round_trip_and_list() {
        let dir = tempfile::tempdir().unwrap();
        let id = new_id();
        let cdir = containers_dir(dir.path()).join(&id);
        std::fs::create_dir_all(&cdir).unwrap();
        std::fs::create_dir_all(containers_dir(dir.path()).join("not-an-id")).unwrap();
        let rec = ContainerRecord {
            id: id.clone(),
            sandbox_id: new_id(),
            pod_uid: "u1".to_owned(),
            config: ContainerConfig {
                name: "app".to_owned(),
                argv: vec!["sleep".to_owned(), "1".to_owned()],
                env: vec![("A".to_owned(), "b".to_owned())],
                mounts: vec![Mount {
                    host_path: "/h".into(),
                    container_path: "/c".into(),
                    read_only: true,
                }],
                resources: Resources {
                    memory_limit_bytes: Some(1),
                    ..Resources::default()
                },
                ..ContainerConfig::default()
            },
            created_at: 1_700_000_000_000_000_000,
            isolated: true,
            sandbox_init: Some(ProcRef { pid: 7, start: 99 }),
            join: JoinNamespaces {
                net: true,
                uts: true,
                ipc: true,
                pid: true,
            },
            cgroup: CgroupPaths {
                dirs: vec!["/sys/fs/cgroup/memory/k4t/podu1/x".into()],
                kill: None,
                oom: None,
            },
        };
        write_json(&cdir.join(CONTAINER_FILE), &rec).unwrap();
        assert_eq!(
            read_json::<ContainerRecord>(&cdir.join(CONTAINER_FILE)).unwrap(),
            Some(rec)
        );
        let exited = Exited {
            exit: super::super::exit::start_error("boom".to_owned()),
            started_at: None,
            finished_at: 5,
        };
        write_json(&cdir.join(EXITED_FILE), &exited).unwrap();
        assert_eq!(
            read_json::<Exited>(&cdir.join(EXITED_FILE)).unwrap(),
            Some(exited)
        );
        assert_eq!(
            read_json::<Started>(&cdir.join(STARTED_FILE)).unwrap(),
            None
        );
        assert_eq!(list_ids(&containers_dir(dir.path())).unwrap(), vec![id]);
        assert!(list_ids(&sandboxes_dir(dir.path())).unwrap().is_empty());
        std::fs::write(cdir.join(STARTED_FILE), "{").unwrap();
        assert!(
            read_json::<Started>(&cdir.join(STARTED_FILE))
                .unwrap_err()
                .to_string()
                .contains("started.json")
        );
    }
}
