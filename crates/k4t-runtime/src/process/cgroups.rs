//! Container cgroups: a `k4t/pod<uid>/<container-id>` subtree in every hierarchy that
//! matters, for both layouts Linux machines have:
//! - v1 (and "hybrid"): one hierarchy per controller group (`memory`, `cpu,cpuacct`, `pids`),
//!   plus the v2 mount without controllers, if any, whose `cgroup.kill` still kills a tree;
//! - v2: one tree with controllers enabled down through `cgroup.subtree_control`.
//!
//! [`Cgroups`] is what the runtime calls (create with limits, remove); [`CgroupPaths`] is what
//! the supervisor gets (join, count OOM kills, kill everything). What to write for given
//! resources is decided by pure functions ([`v1_settings`], [`v2_settings`]).

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

use crate::Resources;

/// The CFS period used for CPU limits, in microseconds (the kernel's default).
pub const CPU_PERIOD_US: u64 = 100_000;

/// cgroup v1 `cpu.shares` for a CPU request, as the kubelet computes it (no request: the
/// minimum, 2).
pub fn cpu_shares(request_millis: Option<u64>) -> u64 {
    let shares = request_millis.unwrap_or(0).saturating_mul(1024) / 1000;
    shares.clamp(2, 262_144)
}

/// CFS quota in microseconds per [`CPU_PERIOD_US`] for a CPU limit (at least 1 ms, the
/// kernel's minimum).
pub fn cpu_quota(limit_millis: u64) -> u64 {
    (limit_millis.saturating_mul(CPU_PERIOD_US) / 1000).max(1000)
}

/// cgroup v2 `cpu.weight` for v1 shares (the conversion runc and the kubelet use).
pub fn cpu_weight(shares: u64) -> u64 {
    1 + (shares.saturating_sub(2) * 9999) / 262_142
}

/// (controller, file, value) writes for a v1 container cgroup, in order.
pub fn v1_settings(res: &Resources) -> Vec<(&'static str, &'static str, String)> {
    let mut out = Vec::new();
    if let Some(limit) = res.memory_limit_bytes {
        out.push(("memory", "memory.limit_in_bytes", limit.to_string()));
        // Same limit for memory+swap: a container never swaps past its limit.
        out.push(("memory", "memory.memsw.limit_in_bytes", limit.to_string()));
    }
    out.push((
        "cpu",
        "cpu.shares",
        cpu_shares(res.cpu_request_millis).to_string(),
    ));
    if let Some(limit) = res.cpu_limit_millis {
        out.push(("cpu", "cpu.cfs_period_us", CPU_PERIOD_US.to_string()));
        out.push(("cpu", "cpu.cfs_quota_us", cpu_quota(limit).to_string()));
    }
    out
}

/// (file, value) writes for a v2 container cgroup, in order.
pub fn v2_settings(res: &Resources) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(limit) = res.memory_limit_bytes {
        out.push(("memory.max", limit.to_string()));
        out.push(("memory.swap.max", "0".to_owned()));
    }
    out.push((
        "cpu.weight",
        cpu_weight(cpu_shares(res.cpu_request_millis)).to_string(),
    ));
    if let Some(limit) = res.cpu_limit_millis {
        out.push(("cpu.max", format!("{} {CPU_PERIOD_US}", cpu_quota(limit))));
    }
    out
}

/// Files that may be missing without it being an error (no swap accounting).
fn optional(file: &str) -> bool {
    matches!(file, "memory.memsw.limit_in_bytes" | "memory.swap.max")
}

/// The cgroup hierarchies of a machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// v1 controller hierarchies (controllers, mount point), and the v2 mount if any.
    V1 {
        hierarchies: Vec<(Vec<String>, PathBuf)>,
        unified: Option<PathBuf>,
    },
    /// One v2 tree.
    V2 { root: PathBuf },
}

/// The v1 controllers whose hierarchies containers join.
const V1_CONTROLLERS: [&str; 4] = ["memory", "cpu", "cpuacct", "pids"];

/// Finds the layout from `/proc/self/mountinfo`.
pub fn detect(mountinfo: &str) -> Option<Layout> {
    let mut hierarchies = Vec::new();
    let mut unified = None;
    for line in mountinfo.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let Some(mount_point) = pre.split_whitespace().nth(4) else {
            continue;
        };
        let mut post = post.split_whitespace();
        let fstype = post.next().unwrap_or_default();
        let super_opts = post.nth(1).unwrap_or_default();
        match fstype {
            "cgroup2" => unified = Some(PathBuf::from(mount_point)),
            "cgroup" => {
                let controllers: Vec<String> = super_opts
                    .split(',')
                    .filter(|o| V1_CONTROLLERS.contains(o))
                    .map(str::to_owned)
                    .collect();
                if !controllers.is_empty() {
                    hierarchies.push((controllers, PathBuf::from(mount_point)));
                }
            }
            _ => {}
        }
    }
    match (hierarchies.is_empty(), unified) {
        (false, unified) => Some(Layout::V1 {
            hierarchies,
            unified,
        }),
        (true, Some(root)) => Some(Layout::V2 { root }),
        (true, None) => None,
    }
}

/// A container cgroup as the supervisor uses it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CgroupPaths {
    /// The directories the container joins: one per v1 hierarchy (plus the v2 mount in a
    /// hybrid layout), or one v2 directory.
    pub dirs: Vec<PathBuf>,
    /// `cgroup.kill`, where the kernel has it.
    pub kill: Option<PathBuf>,
    /// The file with an `oom_kill <n>` line (v1 `memory.oom_control`, v2 `memory.events`).
    pub oom: Option<PathBuf>,
}

impl CgroupPaths {
    /// Moves the calling process into every directory.
    pub fn join_self(&self) -> io::Result<()> {
        for d in &self.dirs {
            std::fs::write(d.join("cgroup.procs"), "0").map_err(|e| {
                io::Error::new(e.kind(), format!("joining cgroup {}: {e}", d.display()))
            })?;
        }
        Ok(())
    }

    /// Every process in the cgroup.
    pub fn pids(&self) -> Vec<i32> {
        let mut pids = BTreeSet::new();
        for d in &self.dirs {
            if let Ok(s) = std::fs::read_to_string(d.join("cgroup.procs")) {
                pids.extend(s.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
            }
        }
        pids.into_iter().collect()
    }

    /// How many processes the OOM killer killed in the cgroup.
    pub fn oom_kills(&self) -> u64 {
        self.oom
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .map(|s| parse_oom_kills(&s))
            .unwrap_or(0)
    }

    /// Sends SIGKILL to every process in the cgroup: through `cgroup.kill` when there is
    /// one, else to each listed process (a fork racing with the list is caught by the caller
    /// calling again until [`CgroupPaths::pids`] is empty).
    pub fn kill_all(&self) -> io::Result<()> {
        if let Some(kill) = &self.kill
            && std::fs::write(kill, "1").is_ok()
        {
            return Ok(());
        }
        for pid in self.pids() {
            if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
        Ok(())
    }
}

fn parse_oom_kills(s: &str) -> u64 {
    s.lines()
        .find_map(|l| {
            l.strip_prefix("oom_kill ")
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Creating and removing container cgroups (the runtime's side).
pub trait Cgroups: Send + Sync {
    /// Creates `<pod>/<container>` with the resource limits applied.
    fn create(&self, pod_uid: &str, container_id: &str, res: &Resources)
    -> io::Result<CgroupPaths>;
    /// Removes a container's cgroup (its processes must be gone).
    fn remove(&self, pod_uid: &str, container_id: &str) -> io::Result<()>;
    /// Removes the pod's cgroup once its containers' are gone.
    fn remove_pod(&self, pod_uid: &str) -> io::Result<()>;
}

/// The real cgroup filesystem (any root: tests point it at a temporary directory).
#[derive(Debug, Clone)]
pub struct FsCgroups {
    layout: Layout,
    /// The subtree under each hierarchy's root, e.g. `k4t`.
    base: String,
}

impl FsCgroups {
    pub fn new(layout: Layout, base: &str) -> Self {
        FsCgroups {
            layout,
            base: base.to_owned(),
        }
    }

    /// The machine's layout, from `/proc/self/mountinfo`.
    pub fn detect(base: &str) -> io::Result<Self> {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")?;
        let layout = detect(&mountinfo)
            .ok_or_else(|| io::Error::other("no cgroup filesystem is mounted"))?;
        Ok(Self::new(layout, base))
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    fn pod_rel(&self, pod_uid: &str) -> PathBuf {
        Path::new(&self.base).join(format!("pod{pod_uid}"))
    }

    /// Every hierarchy root the subtree lives in.
    fn roots(&self) -> Vec<PathBuf> {
        match &self.layout {
            Layout::V1 {
                hierarchies,
                unified,
            } => hierarchies
                .iter()
                .map(|(_, p)| p.clone())
                .chain(unified.clone())
                .collect(),
            Layout::V2 { root } => vec![root.clone()],
        }
    }

    fn write(dir: &Path, file: &str, value: &str) -> io::Result<()> {
        match std::fs::write(dir.join(file), value) {
            Err(e) if e.kind() == io::ErrorKind::NotFound && optional(file) => Ok(()),
            Err(e) => Err(io::Error::new(
                e.kind(),
                format!("writing {value} to {}: {e}", dir.join(file).display()),
            )),
            Ok(()) => Ok(()),
        }
    }

    /// v2: enables the available controllers from `root` down to the pod's directory.
    fn enable_v2_controllers(root: &Path, rel: &Path) -> io::Result<Vec<String>> {
        let available =
            std::fs::read_to_string(root.join("cgroup.controllers")).unwrap_or_default();
        let wanted: Vec<String> = available
            .split_whitespace()
            .filter(|c| matches!(*c, "cpu" | "memory" | "pids"))
            .map(str::to_owned)
            .collect();
        let line = wanted
            .iter()
            .map(|c| format!("+{c}"))
            .collect::<Vec<_>>()
            .join(" ");
        let mut dir = root.to_owned();
        let levels: Vec<_> = std::iter::once(None)
            .chain(rel.components().map(Some))
            .collect();
        for level in levels {
            if let Some(c) = level {
                dir.push(c);
                mkdir(&dir)?;
            }
            if !line.is_empty() {
                let current =
                    std::fs::read_to_string(dir.join("cgroup.subtree_control")).unwrap_or_default();
                if !wanted
                    .iter()
                    .all(|w| current.split_whitespace().any(|c| c == w))
                {
                    Self::write(&dir, "cgroup.subtree_control", &line)?;
                }
            }
        }
        Ok(wanted)
    }
}

fn mkdir(dir: &Path) -> io::Result<()> {
    match std::fs::create_dir(dir) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(io::Error::new(
            e.kind(),
            format!("creating cgroup {}: {e}", dir.display()),
        )),
        _ => Ok(()),
    }
}

fn rmdir(dir: &Path) -> io::Result<()> {
    match std::fs::remove_dir(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io::Error::new(
            e.kind(),
            format!("removing cgroup {}: {e}", dir.display()),
        )),
        _ => Ok(()),
    }
}

impl FsCgroups {
    /// Removes the parent of all pods' cgroups (every pod's must be gone).
    pub fn remove_parent(&self) -> io::Result<()> {
        let mut first_err = None;
        for root in self.roots() {
            if let Err(e) = rmdir(&root.join(&self.base)) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

impl Cgroups for FsCgroups {
    fn create(
        &self,
        pod_uid: &str,
        container_id: &str,
        res: &Resources,
    ) -> io::Result<CgroupPaths> {
        let rel = self.pod_rel(pod_uid).join(container_id);
        let mut paths = CgroupPaths::default();
        match &self.layout {
            Layout::V1 {
                hierarchies,
                unified,
            } => {
                let settings = v1_settings(res);
                for (controllers, mount) in hierarchies {
                    let dir = mount.join(&rel);
                    std::fs::create_dir_all(&dir).map_err(|e| {
                        io::Error::new(e.kind(), format!("creating cgroup {}: {e}", dir.display()))
                    })?;
                    for (controller, file, value) in &settings {
                        if controllers.iter().any(|c| c == controller) {
                            Self::write(&dir, file, value)?;
                        }
                    }
                    if controllers.iter().any(|c| c == "memory") {
                        paths.oom = Some(dir.join("memory.oom_control"));
                    }
                    paths.dirs.push(dir);
                }
                if let Some(unified) = unified {
                    let dir = unified.join(&rel);
                    std::fs::create_dir_all(&dir).map_err(|e| {
                        io::Error::new(e.kind(), format!("creating cgroup {}: {e}", dir.display()))
                    })?;
                    if dir.join("cgroup.kill").exists() {
                        paths.kill = Some(dir.join("cgroup.kill"));
                    }
                    paths.dirs.push(dir);
                }
            }
            Layout::V2 { root } => {
                let pod = self.pod_rel(pod_uid);
                let enabled = Self::enable_v2_controllers(root, &pod)?;
                let dir = root.join(&rel);
                mkdir(&dir)?;
                for (file, value) in v2_settings(res) {
                    let controller = file.split('.').next().unwrap_or_default();
                    if enabled.iter().any(|c| c == controller) {
                        Self::write(&dir, file, &value)?;
                    }
                }
                if enabled.iter().any(|c| c == "memory") {
                    paths.oom = Some(dir.join("memory.events"));
                }
                paths.kill = Some(dir.join("cgroup.kill"));
                paths.dirs.push(dir);
            }
        }
        Ok(paths)
    }

    fn remove(&self, pod_uid: &str, container_id: &str) -> io::Result<()> {
        let rel = self.pod_rel(pod_uid).join(container_id);
        let mut first_err = None;
        for root in self.roots() {
            if let Err(e) = rmdir(&root.join(&rel)) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn remove_pod(&self, pod_uid: &str) -> io::Result<()> {
        let rel = self.pod_rel(pod_uid);
        let mut first_err = None;
        for root in self.roots() {
            if let Err(e) = rmdir(&root.join(&rel)) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

/// A fake for tests: records calls, creates nothing; its paths are empty, so joining,
/// listing and killing do nothing.
#[derive(Debug, Default)]
pub struct FakeCgroups {
    calls: Mutex<Vec<String>>,
}

impl FakeCgroups {
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().clone()
    }
}

impl Cgroups for FakeCgroups {
    fn create(
        &self,
        pod_uid: &str,
        container_id: &str,
        res: &Resources,
    ) -> io::Result<CgroupPaths> {
        self.calls.lock().push(format!(
            "create pod{pod_uid}/{container_id} memory={:?} cpu_limit={:?} cpu_request={:?}",
            res.memory_limit_bytes, res.cpu_limit_millis, res.cpu_request_millis
        ));
        Ok(CgroupPaths::default())
    }

    fn remove(&self, pod_uid: &str, container_id: &str) -> io::Result<()> {
        self.calls
            .lock()
            .push(format!("remove pod{pod_uid}/{container_id}"));
        Ok(())
    }

    fn remove_pod(&self, pod_uid: &str) -> io::Result<()> {
        self.calls.lock().push(format!("remove pod{pod_uid}"));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_conversions_match_the_kubelet() {
        let check = |req: Option<u64>, shares: u64| assert_eq!(cpu_shares(req), shares, "{req:?}");
        check(None, 2);
        check(Some(0), 2);
        check(Some(1), 2);
        check(Some(100), 102);
        check(Some(1000), 1024);
        check(Some(2500), 2560);
        check(Some(10_000_000), 262_144);
        assert_eq!(cpu_quota(500), 50_000);
        assert_eq!(cpu_quota(1), 1000);
        assert_eq!(cpu_quota(2000), 200_000);
        assert_eq!(cpu_weight(2), 1);
        assert_eq!(cpu_weight(1024), 39);
        assert_eq!(cpu_weight(262_144), 10_000);
    }

    #[test]
    fn settings_for_resources() {
        let res = Resources {
            memory_limit_bytes: Some(33_554_432),
            cpu_limit_millis: Some(500),
            cpu_request_millis: Some(250),
        };
        let v1: Vec<String> = v1_settings(&res)
            .iter()
            .map(|(c, f, v)| format!("{c}:{f}={v}"))
            .collect();
        assert_eq!(
            v1,
            [
                "memory:memory.limit_in_bytes=33554432",
                "memory:memory.memsw.limit_in_bytes=33554432",
                "cpu:cpu.shares=256",
                "cpu:cpu.cfs_period_us=100000",
                "cpu:cpu.cfs_quota_us=50000",
            ]
        );
        let v2: Vec<String> = v2_settings(&res)
            .iter()
            .map(|(f, v)| format!("{f}={v}"))
            .collect();
        assert_eq!(
            v2,
            [
                "memory.max=33554432",
                "memory.swap.max=0",
                "cpu.weight=10",
                "cpu.max=50000 100000"
            ]
        );
        let none: Vec<String> = v2_settings(&Resources::default())
            .iter()
            .map(|(f, v)| format!("{f}={v}"))
            .collect();
        assert_eq!(none, ["cpu.weight=1"]);
    }

    const HYBRID: &str = "\
25 1 0:23 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
26 25 0:24 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
27 25 0:25 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
28 25 0:26 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
29 25 0:27 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
30 25 0:28 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
31 25 0:29 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
32 25 0:30 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn layouts_are_detected() {
        let Some(Layout::V1 {
            hierarchies,
            unified,
        }) = detect(HYBRID)
        else {
            panic!("not v1")
        };
        let names: Vec<String> = hierarchies
            .iter()
            .map(|(c, p)| format!("{}@{}", c.join(","), p.display()))
            .collect();
        assert_eq!(
            names,
            [
                "cpu@/sys/fs/cgroup/cpu",
                "cpuacct@/sys/fs/cgroup/cpuacct",
                "memory@/sys/fs/cgroup/memory",
                "pids@/sys/fs/cgroup/pids"
            ]
        );
        assert_eq!(unified, Some(PathBuf::from("/sys/fs/cgroup/unified")));
        let combined =
            "40 25 0:40 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n";
        let Some(Layout::V1 {
            hierarchies,
            unified: None,
        }) = detect(combined)
        else {
            panic!("not v1")
        };
        assert_eq!(hierarchies[0].0, ["cpu", "cpuacct"]);
        let v2 = "30 1 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(
            detect(v2),
            Some(Layout::V2 {
                root: PathBuf::from("/sys/fs/cgroup")
            })
        );
        assert_eq!(detect("22 1 8:1 / / rw - ext4 /dev/vda rw\n"), None);
    }

    #[test]
    fn v1_tree_is_created_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mem = root.join("memory");
        let cpu = root.join("cpu");
        let unified = root.join("unified");
        for d in [&mem, &cpu, &unified] {
            std::fs::create_dir_all(d).unwrap();
        }
        let cg = FsCgroups::new(
            Layout::V1 {
                hierarchies: vec![
                    (vec!["memory".into()], mem.clone()),
                    (vec!["cpu".into()], cpu.clone()),
                ],
                unified: Some(unified.clone()),
            },
            "k4t",
        );
        let res = Resources {
            memory_limit_bytes: Some(1 << 25),
            cpu_limit_millis: Some(250),
            cpu_request_millis: None,
        };
        let paths = cg.create("u1", "c1", &res).unwrap();
        let cdir = |r: &Path| r.join("k4t/podu1/c1");
        assert_eq!(paths.dirs, vec![cdir(&mem), cdir(&cpu), cdir(&unified)]);
        assert_eq!(
            std::fs::read_to_string(cdir(&mem).join("memory.limit_in_bytes")).unwrap(),
            "33554432"
        );
        assert_eq!(
            std::fs::read_to_string(cdir(&cpu).join("cpu.cfs_quota_us")).unwrap(),
            "25000"
        );
        assert_eq!(
            std::fs::read_to_string(cdir(&cpu).join("cpu.shares")).unwrap(),
            "2"
        );
        assert!(!cdir(&cpu).join("memory.limit_in_bytes").exists());
        assert_eq!(paths.oom, Some(cdir(&mem).join("memory.oom_control")));
        std::fs::write(
            cdir(&mem).join("memory.oom_control"),
            "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
        )
        .unwrap();
        assert_eq!(paths.oom_kills(), 3);
        std::fs::write(cdir(&mem).join("cgroup.procs"), "12\n7\n").unwrap();
        std::fs::write(cdir(&cpu).join("cgroup.procs"), "7\n").unwrap();
        assert_eq!(paths.pids(), vec![7, 12]);
        // A real cgroup directory's files vanish with it; here they must go first.
        for d in paths.dirs.iter() {
            for f in std::fs::read_dir(d).unwrap() {
                std::fs::remove_file(f.unwrap().path()).unwrap();
            }
        }
        cg.remove("u1", "c1").unwrap();
        cg.remove_pod("u1").unwrap();
        assert!(!mem.join("k4t/podu1").exists() && !unified.join("k4t/podu1").exists());
        // Removing what is already gone is fine.
        cg.remove("u1", "c1").unwrap();
    }

    #[test]
    fn v2_tree_enables_controllers_on_the_way_down() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        std::fs::write(root.join("cgroup.controllers"), "cpuset cpu io memory pids").unwrap();
        let cg = FsCgroups::new(Layout::V2 { root: root.clone() }, "k4t");
        let res = Resources {
            memory_limit_bytes: Some(1 << 20),
            ..Resources::default()
        };
        let paths = cg.create("u1", "c1", &res).unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join("cgroup.subtree_control")).unwrap(),
            "+cpu +memory +pids"
        );
        assert_eq!(
            std::fs::read_to_string(root.join("k4t/podu1/cgroup.subtree_control")).unwrap(),
            "+cpu +memory +pids"
        );
        assert!(!root.join("k4t/podu1/c1/cgroup.subtree_control").exists());
        assert_eq!(
            std::fs::read_to_string(root.join("k4t/podu1/c1/memory.max")).unwrap(),
            "1048576"
        );
        assert_eq!(paths.kill, Some(root.join("k4t/podu1/c1/cgroup.kill")));
        assert_eq!(paths.oom, Some(root.join("k4t/podu1/c1/memory.events")));
        std::fs::write(
            root.join("k4t/podu1/c1/memory.events"),
            "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n",
        )
        .unwrap();
        assert_eq!(paths.oom_kills(), 1);
    }

    #[test]
    fn v2_without_the_memory_controller_skips_memory_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        std::fs::write(root.join("cgroup.controllers"), "hugetlb").unwrap();
        let cg = FsCgroups::new(Layout::V2 { root: root.clone() }, "k4t");
        let res = Resources {
            memory_limit_bytes: Some(1 << 20),
            ..Resources::default()
        };
        let paths = cg.create("u1", "c1", &res).unwrap();
        assert!(!root.join("k4t/podu1/c1/memory.max").exists());
        assert_eq!(paths.oom, None);
    }

    #[test]
    fn the_fake_records() {
        let f = FakeCgroups::default();
        let p = f.create("u", "c", &Resources::default()).unwrap();
        assert!(p.dirs.is_empty() && p.pids().is_empty() && p.oom_kills() == 0);
        f.remove("u", "c").unwrap();
        assert_eq!(
            f.calls(),
            [
                "create podu/c memory=None cpu_limit=None cpu_request=None",
                "remove podu/c"
            ]
        );
    }
}
