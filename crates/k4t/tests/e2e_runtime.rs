//! End-to-end tests of the process runtime: `ProcessRuntime` driven directly, with the real
//! `k4t` binary as the per-container supervisor (`k4t shim`), as root (namespaces, cgroups,
//! a bridge). Each test has its own bridge, pod CIDR, cgroup parent and state directory, so
//! tests run in parallel; a guard removes everything a test created, also when it fails.

// The helpers below are test code too: a failure is a panic with the error.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use k4t_runtime::process::{ProcessConfig, ProcessRuntime};
use k4t_runtime::{
    ContainerConfig, ContainerState, ContainerStatus, Mount, Resources, Runtime, RuntimeError,
    RuntimeEvent, SandboxConfig, SandboxState, labels,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::broadcast;

const K4T: &str = env!("CARGO_BIN_EXE_k4t");

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        .unwrap_or(false)
}

/// One test's node: its runtime over its own state directory, bridge, CIDR and cgroup
/// parent. Dropping it (also on a panic) removes every pod and what the node set up.
struct Node {
    rt: Option<ProcessRuntime>,
    config: ProcessConfig,
    dir: tempfile::TempDir,
    index: u8,
}

/// The supervisor binary: the k4t under test, or `K4T_E2E_SHIM` (to measure a release build).
fn shim_program() -> PathBuf {
    std::env::var_os("K4T_E2E_SHIM")
        .filter(|s| !s.is_empty())
        .map_or_else(|| PathBuf::from(K4T), PathBuf::from)
}

fn config_for(index: u8, dir: &Path, isolate: bool) -> ProcessConfig {
    let mut c = ProcessConfig::new(dir.join("state"), shim_program(), vec!["shim".into()]);
    c.bridge = format!("k4te2e{index}");
    c.pod_cidr = format!("10.231.{index}.0/24");
    c.cgroup_parent = format!("k4t-e2e-{index}");
    c.isolate = isolate;
    c
}

impl Node {
    async fn new(index: u8) -> Node {
        Self::with_isolation(index, true).await
    }

    async fn with_isolation(index: u8, isolate: bool) -> Node {
        assert!(
            is_root(),
            "the process runtime's e2e tests need root (namespaces, cgroups, a bridge)"
        );
        Self::over(index, isolate, tempfile::tempdir().unwrap()).await
    }

    /// A node over `dir`, re-adopting whatever a runtime left there.
    async fn over(index: u8, isolate: bool, dir: tempfile::TempDir) -> Node {
        let config = config_for(index, dir.path(), isolate);
        let rt = ProcessRuntime::new(config.clone()).await.unwrap();
        Node {
            rt: Some(rt),
            config,
            dir,
            index,
        }
    }

    fn rt(&self) -> &ProcessRuntime {
        self.rt.as_ref().unwrap()
    }

    /// Drops the runtime object (as a `kill -9` of k4t would) and opens a new one over the
    /// same state directory.
    async fn restart(&mut self) {
        self.rt = None;
        self.rt = Some(ProcessRuntime::new(self.config.clone()).await.unwrap());
    }

    fn logs(&self) -> PathBuf {
        self.dir.path().join("logs")
    }

    async fn sandbox(&self, name: &str) -> k4t_runtime::SandboxStatus {
        self.sandbox_with(name, false).await
    }

    async fn sandbox_with(&self, name: &str, host_network: bool) -> k4t_runtime::SandboxStatus {
        self.sandbox_full(name, host_network, false).await
    }

    async fn sandbox_full(
        &self,
        name: &str,
        host_network: bool,
        share_process_namespace: bool,
    ) -> k4t_runtime::SandboxStatus {
        let config = SandboxConfig {
            pod_uid: format!("uid-{name}-{}", self.index),
            pod_name: name.to_owned(),
            namespace: "default".to_owned(),
            hostname: name.to_owned(),
            host_network,
            share_process_namespace,
            log_directory: self.logs().join(name),
            labels: BTreeMap::from([("app".to_owned(), name.to_owned())]),
        };
        self.rt().run_sandbox(&config).await.unwrap()
    }

    fn container(&self, pod: &str, name: &str, argv: &[&str]) -> ContainerConfig {
        ContainerConfig {
            name: name.to_owned(),
            attempt: 0,
            image: "busybox".to_owned(),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            log_path: self.logs().join(pod).join(name).join("0.log"),
            termination_message_path: Some("/dev/termination-log".to_owned()),
            labels: BTreeMap::from([(labels::CONTAINER_NAME.to_owned(), name.to_owned())]),
            ..ContainerConfig::default()
        }
    }

    /// Creates and starts a container.
    async fn run(&self, sandbox: &str, config: &ContainerConfig) -> String {
        let id = self.rt().create_container(sandbox, config).await.unwrap();
        self.rt().start_container(&id).await.unwrap();
        id
    }

    /// Removes every sandbox and the node's bridge and cgroups, and checks nothing is left.
    async fn cleanup(mut self) {
        let rt = self.rt.take().unwrap();
        remove_everything(&rt).await;
        drop(rt);
        assert_clean(&self.config);
    }
}

async fn remove_everything(rt: &ProcessRuntime) {
    for s in rt.list_sandboxes().await.unwrap() {
        rt.remove_sandbox(&s.id).await.unwrap();
    }
    assert!(rt.list_containers().await.unwrap().is_empty());
    rt.teardown_node().await.unwrap();
}

fn assert_clean(config: &ProcessConfig) {
    let links = std::fs::read_dir("/sys/class/net").unwrap();
    let names: Vec<String> = links
        .map(|l| l.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.contains(&config.bridge),
        "bridge {} left behind",
        config.bridge
    );
    for root in ["memory", "cpu", "pids", "unified", ""] {
        let p = Path::new("/sys/fs/cgroup")
            .join(root)
            .join(&config.cgroup_parent);
        assert!(!p.exists(), "cgroup {} left behind", p.display());
    }
    let ipam = config.state_dir.join("ipam");
    let held: Vec<_> = std::fs::read_dir(&ipam)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name())
                .filter(|n| n != "last_reserved_ip")
                .collect()
        })
        .unwrap_or_default();
    assert!(held.is_empty(), "pod IPs still allocated: {held:?}");
}

impl Drop for Node {
    fn drop(&mut self) {
        if self.rt.is_none() {
            return;
        }
        // A failed test: clean up with a runtime of its own (re-adopting what is left).
        self.rt = None;
        let config = self.config.clone();
        let _ = std::thread::spawn(move || {
            let tokio = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            tokio.block_on(async move {
                if let Ok(rt) = ProcessRuntime::new(config).await {
                    for s in rt.list_sandboxes().await.unwrap_or_default() {
                        let _ = rt.remove_sandbox(&s.id).await;
                    }
                    let _ = rt.teardown_node().await;
                }
            });
        })
        .join();
    }
}

async fn wait_exited(rt: &ProcessRuntime, id: &str) -> ContainerStatus {
    let wait = async {
        loop {
            let s = rt.container_status(id).await.unwrap();
            if s.state == ContainerState::Exited {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .expect("the container did not exit in 30 s")
}

/// The next `ContainerExited` for `id`.
async fn exited_event(events: &mut broadcast::Receiver<RuntimeEvent>, id: &str) {
    let wait = async {
        loop {
            if let RuntimeEvent::ContainerExited { id: got, .. } = events.recv().await.unwrap()
                && got == id
            {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .expect("no ContainerExited event in 30 s");
}

async fn exec(rt: &ProcessRuntime, id: &str, argv: &[&str]) -> (i32, String, String) {
    let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    let r = rt
        .exec_sync(id, &argv, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(!r.timed_out);
    (
        r.exit_code,
        String::from_utf8_lossy(&r.stdout).into_owned(),
        String::from_utf8_lossy(&r.stderr).into_owned(),
    )
}

/// `GET /` over HTTP/1.0, retried until the server answers (it may still be starting).
async fn http_get(addr: SocketAddr) -> String {
    let attempt = || async {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        s.write_all(b"GET / HTTP/1.0\r\nHost: test\r\n\r\n").await?;
        let mut out = String::new();
        s.read_to_string(&mut out).await?;
        Ok::<_, std::io::Error>(out)
    };
    let retry = async {
        loop {
            match attempt().await {
                Ok(body) => return body,
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), retry)
        .await
        .unwrap_or_else(|_| panic!("{addr} did not answer"))
}

fn log_entries(path: &Path) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|l| {
            let mut f = l.splitn(4, ' ');
            let ts = f.next().unwrap();
            check_timestamp(ts);
            let stream = f.next().unwrap().to_owned();
            let tag = f.next().unwrap().to_owned();
            let content = f.next().unwrap_or_default().to_owned();
            (stream, tag, content)
        })
        .collect()
}

/// A CRI log timestamp: RFC 3339 in UTC, close to now.
fn check_timestamp(s: &str) {
    let t: jiff::Timestamp = s
        .parse()
        .unwrap_or_else(|e| panic!("bad timestamp {s:?}: {e}"));
    assert!(s.ends_with('Z'), "{s}");
    assert!(
        t.duration_until(jiff::Timestamp::now()).as_secs().abs() < 600,
        "{s}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_pods_listen_on_the_same_port_each_on_its_own_ip() {
    let node = Node::new(1).await;
    let info = node.rt().info();
    assert!(info.isolation, "{}", info.isolation_message);
    assert_eq!(info.node_pod_ip, Some("10.231.1.1".parse().unwrap()));
    let mut pods = Vec::new();
    for name in ["pod-a", "pod-b", "pod-c"] {
        let sb = node.sandbox(name).await;
        assert_eq!(sb.state, SandboxState::Ready);
        let ip = sb.ip.expect("a pod IP");
        let c = node.container(
            name,
            "app",
            &[K4T, "demo", "serve", "--listen", "0.0.0.0:8080"],
        );
        let id = node.run(&sb.id, &c).await;
        pods.push((name, ip, id));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for (name, _, id) in &pods {
        let s = node.rt().container_status(id).await.unwrap();
        let log = std::fs::read_to_string(&s.log_path).unwrap_or_default();
        assert_eq!(
            s.state,
            ContainerState::Running,
            "{name} ended: {s:?}\n{log}"
        );
    }
    let ips: Vec<IpAddr> = pods.iter().map(|p| p.1).collect();
    assert_eq!(
        ips,
        ["10.231.1.2", "10.231.1.3", "10.231.1.4"].map(|s| s.parse::<IpAddr>().unwrap())
    );
    for (name, ip, _) in &pods {
        let answer = http_get(SocketAddr::new(*ip, 8080)).await;
        assert!(
            answer.ends_with(&format!("You've hit {name}\n")),
            "{answer}"
        );
    }
    let (_, _, a) = &pods[0];
    // Own UTS and PID namespaces: the pod's hostname; PID 1 is the container's entrypoint.
    assert_eq!(
        exec(node.rt(), a, &["hostname"]).await,
        (0, "pod-a\n".to_owned(), String::new())
    );
    assert_eq!(
        exec(node.rt(), a, &["cat", "/proc/1/comm"]).await.1,
        "k4t\n"
    );
    // Own network namespace: lo and eth0 only (the 127.0.0.1 request below reaches its own
    // server, not the host's).
    let (_, links, _) = exec(node.rt(), a, &["cat", "/proc/net/dev"]).await;
    let mut names: Vec<&str> = links
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["eth0", "lo"], "{links}");
    // Pods reach each other and the host (the bridge's address).
    let host = tokio::net::TcpListener::bind("10.231.1.1:0").await.unwrap();
    let host_port = host.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = host.accept().await {
            let _ = s.write_all(b"hello from the host\n").await;
        }
    });
    let script = format!(
        "exec 3<>/dev/tcp/{}/8080; printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3; \
         exec 4<>/dev/tcp/10.231.1.1/{host_port}; cat <&4; \
         exec 5<>/dev/tcp/127.0.0.1/8080; printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&5; cat <&5",
        pods[1].1
    );
    let (code, out, err) = exec(node.rt(), a, &["bash", "-c", &script]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("You've hit pod-b\n"), "{out}");
    assert!(out.contains("hello from the host\n"), "{out}");
    assert!(out.contains("You've hit pod-a\n"), "{out}");
    // A private /tmp per container.
    let marker = format!("k4t-e2e-{}", std::process::id());
    assert_eq!(
        exec(node.rt(), a, &["touch", &format!("/tmp/{marker}")])
            .await
            .0,
        0
    );
    assert!(!Path::new("/tmp").join(&marker).exists());
    assert_eq!(
        exec(node.rt(), a, &["ls", &format!("/tmp/{marker}")])
            .await
            .0,
        0
    );
    node.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_reasons_logs_and_termination_messages() {
    let node = Node::new(2).await;
    let rt = node.rt();
    let sb = node.sandbox("exits").await;
    let mut events = rt.subscribe();

    let ok = node
        .run(
            &sb.id,
            &node.container(
                "exits",
                "ok",
                &["sh", "-c", "echo hello; echo oops >&2; printf partial"],
            ),
        )
        .await;
    let s = wait_exited(rt, &ok).await;
    assert_eq!(
        (s.exit_code, s.signal, s.reason.as_str()),
        (Some(0), None, "Completed")
    );
    assert!(s.started_at.is_some() && s.finished_at >= s.started_at);
    let entries = log_entries(&s.log_path);
    let mut sorted: Vec<_> = entries
        .iter()
        .map(|(s, t, c)| format!("{s} {t} {c}"))
        .collect();
    sorted.sort();
    assert_eq!(
        sorted,
        ["stderr F oops", "stdout F hello", "stdout F partial"]
    );

    let failed = node
        .run(
            &sb.id,
            &node.container(
                "exits",
                "fail",
                &["sh", "-c", "echo bye > /dev/termination-log; exit 1"],
            ),
        )
        .await;
    let s = wait_exited(rt, &failed).await;
    assert_eq!(
        (s.exit_code, s.reason.as_str(), s.message.as_str()),
        (Some(1), "Error", "bye\n")
    );

    // SIGTERM ends it: the entrypoint is PID 1 of its own PID namespace, where only a
    // handler can end it on SIGTERM (as in any container); this one exits 143.
    let termed = node
        .run(
            &sb.id,
            &node.container(
                "exits",
                "term",
                &["sh", "-c", "trap 'exit 143' TERM; sleep 1000 & wait"],
            ),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let start = tokio::time::Instant::now();
    rt.stop_container(&termed, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(start.elapsed() < Duration::from_secs(5));
    let s = rt.container_status(&termed).await.unwrap();
    assert_eq!(
        (s.state, s.exit_code, s.signal, s.reason.as_str()),
        (ContainerState::Exited, Some(143), None, "Error")
    );

    // SIGTERM ignored: SIGKILL after the grace period, 137.
    let stubborn = node
        .run(
            &sb.id,
            &node.container(
                "exits",
                "stubborn",
                &["sh", "-c", "trap '' TERM; echo ready; sleep 1000"],
            ),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let start = tokio::time::Instant::now();
    rt.stop_container(&stubborn, Duration::from_millis(700))
        .await
        .unwrap();
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_secs(5),
        "{took:?}"
    );
    let s = rt.container_status(&stubborn).await.unwrap();
    assert_eq!((s.exit_code, s.signal), (Some(137), Some(9)));

    // The exit event comes well under a second after the process ends.
    while events.try_recv().is_ok() {}
    let quick = node
        .run(
            &sb.id,
            &node.container("exits", "quick", &["sh", "-c", "sleep 0.3; exit 4"]),
        )
        .await;
    let start = tokio::time::Instant::now();
    exited_event(&mut events, &quick).await;
    let latency = start.elapsed().saturating_sub(Duration::from_millis(300));
    assert!(
        latency < Duration::from_millis(500),
        "ContainerExited came {latency:?} after the exit"
    );
    assert_eq!(
        rt.container_status(&quick).await.unwrap().exit_code,
        Some(4)
    );

    // A missing executable fails the start with the message users know.
    let id = rt
        .create_container(&sb.id, &node.container("exits", "nope", &["nope"]))
        .await
        .unwrap();
    let err = rt.start_container(&id).await.unwrap_err();
    assert_eq!(
        err,
        RuntimeError::StartFailed(r#"exec: "nope": executable file not found in $PATH"#.to_owned())
    );
    let s = rt.container_status(&id).await.unwrap();
    assert_eq!(
        (s.state, s.exit_code, s.reason.as_str()),
        (ContainerState::Exited, Some(128), "StartError")
    );
    node.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_limit_oom_kills_with_reason_oomkilled() {
    let node = Node::new(3).await;
    let rt = node.rt();
    let sb = node.sandbox("oom").await;
    let mut c = node.container("oom", "hog", &["tail", "/dev/zero"]);
    c.resources = Resources {
        memory_limit_bytes: Some(16 << 20),
        cpu_limit_millis: Some(500),
        cpu_request_millis: Some(100),
    };
    let hog = node.run(&sb.id, &c).await;
    let s = wait_exited(rt, &hog).await;
    assert_eq!(
        (s.exit_code, s.signal, s.reason.as_str()),
        (Some(137), Some(9), "OOMKilled")
    );

    // Limits are applied to the container's cgroup.
    let mut c = node.container("oom", "limited", &["sleep", "1000"]);
    c.resources = Resources {
        memory_limit_bytes: Some(32 << 20),
        cpu_limit_millis: Some(250),
        cpu_request_millis: Some(500),
    };
    let limited = node.run(&sb.id, &c).await;
    let (_, cgroups, _) = exec(rt, &limited, &["cat", "/proc/self/cgroup"]).await;
    let memory_path = cgroups
        .lines()
        .find_map(|l| {
            l.strip_prefix("0::")
                .filter(|_| !Path::new("/sys/fs/cgroup/memory").exists())
                .or_else(|| l.split_once(":memory:").map(|(_, p)| p))
        })
        .unwrap_or_else(|| panic!("no memory cgroup in {cgroups}"));
    assert!(
        memory_path.contains(&format!("k4t-e2e-3/poduid-oom-3/{limited}")),
        "{cgroups}"
    );
    if Path::new("/sys/fs/cgroup/memory").exists() {
        let dir = Path::new("/sys/fs/cgroup/memory").join(memory_path.trim_start_matches('/'));
        assert_eq!(
            std::fs::read_to_string(dir.join("memory.limit_in_bytes"))
                .unwrap()
                .trim(),
            "33554432"
        );
        let cpu = Path::new("/sys/fs/cgroup/cpu").join(memory_path.trim_start_matches('/'));
        assert_eq!(
            std::fs::read_to_string(cpu.join("cpu.cfs_quota_us"))
                .unwrap()
                .trim(),
            "25000"
        );
        assert_eq!(
            std::fs::read_to_string(cpu.join("cpu.shares"))
                .unwrap()
                .trim(),
            "512"
        );
    } else {
        let dir = Path::new("/sys/fs/cgroup").join(memory_path.trim_start_matches('/'));
        assert_eq!(
            std::fs::read_to_string(dir.join("memory.max"))
                .unwrap()
                .trim(),
            "33554432"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("cpu.max")).unwrap().trim(),
            "25000 100000"
        );
    }
    rt.stop_container(&limited, Duration::ZERO).await.unwrap();
    assert_eq!(
        rt.container_status(&limited).await.unwrap().exit_code,
        Some(137)
    );
    node.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_sync_runs_in_the_container() {
    let node = Node::new(4).await;
    let rt = node.rt();
    let sb = node.sandbox("execs").await;
    let data = node.dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("hello"), "from the host\n").unwrap();
    let rw = node.dir.path().join("rw");
    std::fs::create_dir_all(&rw).unwrap();
    let mut c = node.container("execs", "app", &["sleep", "1000"]);
    c.env = vec![("GREETING".into(), "hi there".into())];
    c.working_dir = Some("/etc".into());
    c.mounts = vec![
        Mount {
            host_path: data.clone(),
            container_path: "/k4t-e2e/data".into(),
            read_only: true,
        },
        Mount {
            host_path: rw.clone(),
            container_path: "/tmp/rw".into(),
            read_only: false,
        },
    ];
    let id = node.run(&sb.id, &c).await;

    assert_eq!(
        exec(
            rt,
            &id,
            &["sh", "-c", "echo $GREETING; pwd; echo err >&2; exit 3"]
        )
        .await,
        (3, "hi there\n/etc\n".to_owned(), "err\n".to_owned())
    );
    // Mounts: read-only where asked.
    assert_eq!(
        exec(rt, &id, &["cat", "/k4t-e2e/data/hello"]).await.1,
        "from the host\n"
    );
    let (code, _, err) = exec(rt, &id, &["touch", "/k4t-e2e/data/x"]).await;
    assert_ne!(code, 0);
    assert!(err.contains("Read-only file system"), "{err}");
    assert_eq!(
        exec(rt, &id, &["sh", "-c", "echo written > /tmp/rw/out"])
            .await
            .0,
        0
    );
    assert_eq!(
        std::fs::read_to_string(rw.join("out")).unwrap(),
        "written\n"
    );
    // Output is capped at 10 KiB per stream.
    let (code, out, _) = exec(
        rt,
        &id,
        &["sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x"],
    )
    .await;
    assert_eq!((code, out.len()), (0, 10 * 1024));
    // A timeout.
    let argv: Vec<String> = ["sleep", "30"].iter().map(|s| s.to_string()).collect();
    let start = tokio::time::Instant::now();
    let r = rt
        .exec_sync(&id, &argv, Duration::from_millis(300))
        .await
        .unwrap();
    assert!(r.timed_out);
    assert!(start.elapsed() < Duration::from_secs(5));
    // A missing executable.
    let err = rt
        .exec_sync(&id, &["nope".to_owned()], Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        RuntimeError::StartFailed(r#"exec: "nope": executable file not found in $PATH"#.to_owned())
    );
    // Another user.
    let mut c = node.container("execs", "nobody", &["sleep", "1000"]);
    c.run_as_user = Some(65534);
    let nobody = node.run(&sb.id, &c).await;
    assert_eq!(exec(rt, &nobody, &["id", "-u"]).await.1, "65534\n");
    node.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_are_readopted_by_a_new_runtime() {
    let mut node = Node::new(5).await;
    let sb = node.sandbox("survivor").await;
    let mut c = node.container(
        "survivor",
        "runner",
        &["sh", "-c", "echo started; sleep 1000"],
    );
    c.attempt = 3;
    c.labels.insert(labels::RESTART_COUNT.into(), "3".into());
    let runner = node.run(&sb.id, &c).await;
    let ender = node
        .run(
            &sb.id,
            &node.container("survivor", "ender", &["sh", "-c", "sleep 1.5; exit 7"]),
        )
        .await;
    let before = node.rt().list_containers().await.unwrap();
    let runner_pid = supervisor_pid(&node.config, &runner);

    node.rt = None;
    // The ender exits while no runtime object exists.
    tokio::time::sleep(Duration::from_secs(2)).await;
    node.restart().await;
    let rt = node.rt();

    let sandboxes = rt.list_sandboxes().await.unwrap();
    assert_eq!(sandboxes.len(), 1);
    assert_eq!(
        (
            sandboxes[0].id.as_str(),
            sandboxes[0].state,
            sandboxes[0].ip
        ),
        (sb.id.as_str(), SandboxState::Ready, sb.ip)
    );
    assert_eq!(
        sandboxes[0].labels.get("app").map(String::as_str),
        Some("survivor")
    );
    let after = rt.list_containers().await.unwrap();
    assert_eq!(after.len(), 2);
    let r = after.iter().find(|c| c.id == runner).unwrap();
    let r0 = before.iter().find(|c| c.id == runner).unwrap();
    assert_eq!(r, r0, "the running container is reported as before");
    assert_eq!((r.state, r.attempt), (ContainerState::Running, 3));
    assert_eq!(supervisor_pid(&node.config, &runner), runner_pid);
    let e = after.iter().find(|c| c.id == ender).unwrap();
    assert_eq!(
        (e.state, e.exit_code, e.reason.as_str()),
        (ContainerState::Exited, Some(7), "Error")
    );
    let started = e.started_at.unwrap();
    let finished = e.finished_at.unwrap();
    assert!(
        finished.duration_since(started) >= jiff::SignedDuration::from_millis(1400),
        "{started} {finished}"
    );

    // The re-adopted container is still watched, and its output still logged.
    let mut events = rt.subscribe();
    assert_eq!(exec(rt, &runner, &["hostname"]).await.1, "survivor\n");
    // Its shell is PID 1 of the container and ignores SIGTERM: the SIGKILL after the grace
    // period ends it, and its child with it.
    rt.stop_container(&runner, Duration::from_secs(1))
        .await
        .unwrap();
    exited_event(&mut events, &runner).await;
    assert_eq!(
        rt.container_status(&runner).await.unwrap().exit_code,
        Some(137)
    );
    let log = log_entries(&r.log_path);
    assert_eq!(
        log,
        [("stdout".to_owned(), "F".to_owned(), "started".to_owned())]
    );
    node.cleanup().await;
}

/// Where [`runtime_owner_for_the_kill_test`] keeps its runtime's state; set only when the
/// kill test runs it as a child process.
const OWNER_DIR: &str = "K4T_E2E_OWNER_DIR";

/// Not a test of its own: the process that [`containers_survive_a_kill_9_of_their_runtime`]
/// starts and kills. It starts two containers, prints their IDs and waits to be killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_owner_for_the_kill_test() {
    let Some(dir) = std::env::var_os(OWNER_DIR) else {
        return;
    };
    let rt = ProcessRuntime::new(config_for(9, Path::new(&dir), true))
        .await
        .unwrap();
    let sandbox = SandboxConfig {
        pod_uid: "uid-killed".to_owned(),
        pod_name: "killed".to_owned(),
        hostname: "killed".to_owned(),
        ..SandboxConfig::default()
    };
    let sb = rt.run_sandbox(&sandbox).await.unwrap();
    let mut ids = vec![sb.id.clone()];
    for (name, argv) in [("runner", "sleep 1000"), ("ender", "sleep 1; exit 7")] {
        let c = ContainerConfig {
            name: name.to_owned(),
            attempt: 1,
            argv: vec!["sh".to_owned(), "-c".to_owned(), argv.to_owned()],
            log_path: Path::new(&dir).join(format!("{name}.log")),
            ..ContainerConfig::default()
        };
        let id = rt.create_container(&sb.id, &c).await.unwrap();
        rt.start_container(&id).await.unwrap();
        ids.push(id);
    }
    println!("ids {}", ids.join(" "));
    tokio::time::sleep(Duration::from_secs(120)).await;
    panic!("the owner was not killed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_survive_a_kill_9_of_their_runtime() {
    use tokio::io::AsyncBufReadExt as _;
    let dir = tempfile::tempdir().unwrap();
    let mut owner = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["runtime_owner_for_the_kill_test", "--exact", "--nocapture"])
        .env(OWNER_DIR, dir.path())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(owner.stdout.take().unwrap()).lines();
    let ids = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(ids) = line.strip_prefix("ids ") {
                return ids.split(' ').map(str::to_owned).collect::<Vec<_>>();
            }
        }
        panic!("the owner ended without starting its containers");
    })
    .await
    .unwrap();
    let [sandbox, runner, ender] = ids.as_slice() else {
        panic!("{ids:?}")
    };
    owner.start_kill().unwrap();
    let status = owner.wait().await.unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    // The ender exits while nothing owns the runtime.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let node = Node::over(9, true, dir).await;
    let rt = node.rt();
    let sandboxes = rt.list_sandboxes().await.unwrap();
    assert_eq!(
        (
            sandboxes.len(),
            sandboxes[0].id.as_str(),
            sandboxes[0].state
        ),
        (1, sandbox.as_str(), SandboxState::Ready)
    );
    let r = rt.container_status(runner).await.unwrap();
    assert_eq!((r.state, r.attempt), (ContainerState::Running, 1));
    let e = rt.container_status(ender).await.unwrap();
    assert_eq!(
        (e.state, e.exit_code, e.reason.as_str()),
        (ContainerState::Exited, Some(7), "Error")
    );
    assert!(e.finished_at.is_some());
    assert_eq!(exec(rt, runner, &["hostname"]).await.1, "killed\n");
    rt.stop_container(runner, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(
        rt.container_status(runner).await.unwrap().exit_code,
        Some(137)
    );
    node.cleanup().await;
}

fn supervisor_pid(config: &ProcessConfig, id: &str) -> i64 {
    let started = std::fs::read_to_string(
        config
            .state_dir
            .join("containers")
            .join(id)
            .join("started.json"),
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&started).unwrap();
    v["supervisor"]["pid"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_network_pods_share_the_hosts_network_and_hostname() {
    let node = Node::new(6).await;
    let rt = node.rt();
    let sb = node.sandbox_with("hostnet", true).await;
    assert_eq!(sb.ip, None);
    let id = node
        .run(
            &sb.id,
            &node.container("hostnet", "app", &["sleep", "1000"]),
        )
        .await;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(exec(rt, &id, &["hostname"]).await.1, host);
    let (_, links, _) = exec(rt, &id, &["cat", "/proc/net/dev"]).await;
    assert!(
        links.contains(&format!("{}:", node.config.bridge)),
        "{links}"
    );
    // Still its own PID namespace, the entrypoint PID 1.
    assert_eq!(exec(rt, &id, &["cat", "/proc/1/comm"]).await.1, "sleep\n");
    node.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_isolation_containers_run_on_the_host() {
    let node = Node::with_isolation(7, false).await;
    let rt = node.rt();
    let info = rt.info();
    assert!(!info.isolation);
    assert!(
        info.isolation_message.contains("host's network"),
        "{}",
        info.isolation_message
    );
    let sb = node.sandbox("plain").await;
    assert_eq!(sb.ip, None);
    let id = node
        .run(
            &sb.id,
            &node.container("plain", "app", &["sh", "-c", "echo out; exit 5"]),
        )
        .await;
    let s = wait_exited(rt, &id).await;
    assert_eq!((s.exit_code, s.reason.as_str()), (Some(5), "Error"));
    assert_eq!(
        log_entries(&s.log_path),
        [("stdout".to_owned(), "F".to_owned(), "out".to_owned())]
    );
    let id = node
        .run(
            &sb.id,
            &node.container("plain", "sleeper", &["sleep", "1000"]),
        )
        .await;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(exec(rt, &id, &["hostname"]).await.1, host);
    // Its own process group and session.
    let (_, out, _) = exec(
        rt,
        &id,
        &["sh", "-c", "ps -o pgid= -p $$ || cat /proc/$$/stat"],
    )
    .await;
    assert!(!out.is_empty());
    rt.stop_container(&id, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(rt.container_status(&id).await.unwrap().exit_code, Some(143));
    node.cleanup().await;
}

/// What a supervisor's memory is made of, from `/proc/<pid>/smaps`, in kB.
#[derive(Debug, Default)]
struct Footprint {
    rss: u64,
    pss: u64,
    /// Pages no other process maps (clean and dirty).
    uss: u64,
    /// Dirty private pages of the k4t binary's own mappings: its relocated data, written by
    /// the dynamic loader at every exec.
    binary_dirty: u64,
    /// Everything else dirty and private: heap, stack, libc's data.
    other_dirty: u64,
}

fn footprint(smaps: &str, binary: &str) -> Footprint {
    let mut f = Footprint::default();
    let mut in_binary = false;
    for line in smaps.lines() {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or_default();
        if !first.ends_with(':') {
            in_binary = line.ends_with(binary);
            continue;
        }
        let kb = || {
            words
                .clone()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        match first {
            "Rss:" => f.rss += kb(),
            "Pss:" => f.pss += kb(),
            "Private_Clean:" => f.uss += kb(),
            "Private_Dirty:" => {
                f.uss += kb();
                if in_binary {
                    f.binary_dirty += kb();
                } else {
                    f.other_dirty += kb();
                }
            }
            _ => {}
        }
    }
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisors_are_small() {
    let node = Node::new(8).await;
    let rt = node.rt();
    let sb = node.sandbox("small").await;
    let mut ids = Vec::new();
    let start = tokio::time::Instant::now();
    for i in 0..10 {
        let c = node.container("small", &format!("app{i}"), &["sleep", "1000"]);
        ids.push(node.run(&sb.id, &c).await);
    }
    eprintln!("create + start: {:?} per container", start.elapsed() / 10);
    let binary = shim_program().to_string_lossy().into_owned();
    let mut footprints = Vec::new();
    for id in &ids {
        let pid = supervisor_pid(&node.config, id);
        let threads = std::fs::read_dir(format!("/proc/{pid}/task"))
            .unwrap()
            .count();
        assert_eq!(threads, 1, "the supervisor is single-threaded");
        let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap();
        footprints.push(footprint(&smaps, &binary));
    }
    let mean =
        |f: fn(&Footprint) -> u64| footprints.iter().map(f).sum::<u64>() / footprints.len() as u64;
    eprintln!(
        "{} supervisors of {binary}, mean kB: Rss {} Pss {} Uss {} binary_dirty {} other_dirty {}",
        footprints.len(),
        mean(|f| f.rss),
        mean(|f| f.pss),
        mean(|f| f.uss),
        mean(|f| f.binary_dirty),
        mean(|f| f.other_dirty)
    );
    // Its own data (heap, stack) stays small; the k4t binary's pages, relocated or not, are
    // the same in every supervisor.
    for f in &footprints {
        assert!(f.other_dirty < 1024, "{f:?}");
    }
    for id in &ids {
        rt.stop_container(id, Duration::ZERO).await.unwrap();
    }
    node.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pid_namespaces_per_container_or_shared_by_the_pod() {
    let node = Node::new(10).await;
    let rt = node.rt();
    let comms = |out: &str| -> Vec<String> {
        let mut v: Vec<String> = out.lines().map(str::to_owned).collect();
        v.sort();
        v
    };
    let list = ["sh", "-c", "cat /proc/[0-9]*/comm"];

    // Apart (the default): each container sees only its own processes, its entrypoint PID 1.
    let sb = node.sandbox("apart").await;
    let a = node
        .run(&sb.id, &node.container("apart", "a", &["sleep", "1000"]))
        .await;
    let b = node
        .run(&sb.id, &node.container("apart", "b", &["sleep", "1001"]))
        .await;
    assert_eq!(
        exec(rt, &a, &["cat", "/proc/1/cmdline"]).await.1,
        "sleep\u{0}1000\u{0}"
    );
    assert_eq!(
        exec(rt, &b, &["cat", "/proc/1/cmdline"]).await.1,
        "sleep\u{0}1001\u{0}"
    );
    let seen: Vec<String> = comms(&exec(rt, &a, &list).await.1)
        .into_iter()
        .filter(|c| c != "cat" && c != "sh")
        .collect();
    assert_eq!(
        seen,
        ["sleep"],
        "only its own entrypoint besides the exec'd command"
    );

    // Shared (`shareProcessNamespace: true`): the pod's init is PID 1 and every container's
    // processes are visible to the others.
    let sb = node.sandbox_full("shared", false, true).await;
    let c = node
        .run(&sb.id, &node.container("shared", "c", &["sleep", "1002"]))
        .await;
    let d = node
        .run(&sb.id, &node.container("shared", "d", &["sleep", "1003"]))
        .await;
    assert_eq!(exec(rt, &c, &["cat", "/proc/1/comm"]).await.1, "k4t\n");
    let (_, out, _) = exec(
        rt,
        &d,
        &["sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"],
    )
    .await;
    assert!(
        out.contains("sleep 1002") && out.contains("sleep 1003"),
        "{out}"
    );
    node.cleanup().await;
}
