//! Tests of the runtime's bookkeeping that need no supervisor: the environment it gives
//! containers, and re-adoption of what a state directory records (without isolation, so
//! they run unprivileged).

use super::*;
use crate::Mount;

fn config(env: &[(&str, &str)], user: Option<u32>) -> ContainerConfig {
    ContainerConfig {
        name: "c".to_owned(),
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        run_as_user: user,
        ..ContainerConfig::default()
    }
}

#[test]
fn containers_get_the_default_environment_unless_set() {
    let names = |env: Vec<(String, String)>| {
        env.into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(container_env(&config(&[("A", "1")], None), "web-0", false)),
        [
            format!("PATH={}", procfs::DEFAULT_PATH),
            "HOSTNAME=web-0".to_owned(),
            "HOME=/root".to_owned(),
            "A=1".to_owned()
        ]
    );
    assert_eq!(
        names(container_env(
            &config(&[("PATH", "/x"), ("HOSTNAME", "h"), ("HOME", "/h")], None),
            "web-0",
            false
        )),
        ["PATH=/x", "HOSTNAME=h", "HOME=/h"]
    );
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned();
    let env = names(container_env(
        &config(&[], Some(4_000_000)),
        "ignored",
        true,
    ));
    assert!(env.contains(&format!("HOSTNAME={host}")), "{env:?}");
    assert!(env.contains(&"HOME=/".to_owned()), "{env:?}");
}

fn me() -> ProcRef {
    let pid = std::process::id() as i32;
    ProcRef {
        pid,
        start: procfs::start_time(pid).unwrap(),
    }
}

fn dead_process() -> ProcRef {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id() as i32;
    let start = procfs::start_time(pid).unwrap();
    child.wait().unwrap();
    ProcRef { pid, start }
}

struct Fixture {
    dir: tempfile::TempDir,
    sandbox: String,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = state::new_id();
        let sdir = state::sandboxes_dir(&dir.path().join("state")).join(&sandbox);
        std::fs::create_dir_all(&sdir).unwrap();
        let rec = SandboxRecord {
            id: sandbox.clone(),
            pod_uid: "uid-1".to_owned(),
            pod_name: "web".to_owned(),
            namespace: "default".to_owned(),
            hostname: "web".to_owned(),
            host_network: true,
            share_process_namespace: false,
            log_directory: dir.path().join("logs"),
            labels: BTreeMap::from([("app".to_owned(), "web".to_owned())]),
            created_at: 1_700_000_000_000_000_000,
            isolated: false,
            ip: None,
            host_veth: None,
            init: None,
            stopped: false,
        };
        state::write_json(&sdir.join(SANDBOX_FILE), &rec).unwrap();
        Fixture { dir, sandbox }
    }

    fn config(&self) -> ProcessConfig {
        let mut c = ProcessConfig::new(
            self.dir.path().join("state"),
            "/nonexistent/k4t".into(),
            vec!["shim".into()],
        );
        c.isolate = false;
        c
    }

    /// Records a container with what its supervisor wrote.
    fn container(
        &self,
        name: &str,
        attempt: u32,
        started: Option<Started>,
        exited: Option<Exited>,
    ) -> String {
        let id = state::new_id();
        let cdir = state::containers_dir(&self.dir.path().join("state")).join(&id);
        std::fs::create_dir_all(&cdir).unwrap();
        let rec = ContainerRecord {
            id: id.clone(),
            sandbox_id: self.sandbox.clone(),
            pod_uid: "uid-1".to_owned(),
            config: ContainerConfig {
                name: name.to_owned(),
                attempt,
                argv: vec!["sleep".to_owned()],
                mounts: vec![Mount {
                    host_path: "/h".into(),
                    container_path: "/c".into(),
                    read_only: false,
                }],
                labels: BTreeMap::from([(labels::CONTAINER_NAME.to_owned(), name.to_owned())]),
                ..ContainerConfig::default()
            },
            created_at: 1_700_000_001_000_000_000,
            isolated: false,
            sandbox_init: None,
            join: JoinNamespaces::default(),
            cgroup: CgroupPaths::default(),
        };
        state::write_json(&cdir.join(CONTAINER_FILE), &rec).unwrap();
        if let Some(s) = started {
            state::write_json(&cdir.join(STARTED_FILE), &s).unwrap();
        }
        if let Some(e) = exited {
            state::write_json(&cdir.join(EXITED_FILE), &e).unwrap();
        }
        id
    }
}

#[tokio::test]
async fn a_new_runtime_readopts_what_the_state_directory_records() {
    let f = Fixture::new();
    let started = |supervisor| Started {
        supervisor,
        process: supervisor,
        started_at: 1_700_000_002_000_000_000,
    };
    let running = f.container("running", 2, Some(started(me())), None);
    let ended = f.container(
        "ended",
        0,
        Some(started(me())),
        Some(Exited {
            exit: exit::exit_of(exit::Ended::Exited(7), 0, "bye".to_owned()),
            started_at: Some(1_700_000_002_000_000_000),
            finished_at: 1_700_000_003_000_000_000,
        }),
    );
    let orphaned = f.container("orphaned", 1, Some(started(dead_process())), None);
    let created = f.container("created", 0, None, None);
    // A container directory without a record (creation interrupted) is dropped.
    let partial = state::containers_dir(&f.dir.path().join("state")).join(state::new_id());
    std::fs::create_dir_all(&partial).unwrap();

    let rt = ProcessRuntime::new(f.config()).await.unwrap();
    // A pod's listing holds exactly its own sandbox and containers.
    let pod = rt.list_pod("uid-1").await.unwrap();
    assert_eq!(pod.sandboxes.len(), 1);
    let mut ids: Vec<&str> = pod.containers.iter().map(|c| c.id.as_str()).collect();
    ids.sort_unstable();
    let mut want = [
        running.as_str(),
        ended.as_str(),
        orphaned.as_str(),
        created.as_str(),
    ];
    want.sort_unstable();
    assert_eq!(ids, want);
    let other = rt.list_pod("uid-2").await.unwrap();
    assert!(other.sandboxes.is_empty() && other.containers.is_empty());
    let info = rt.info();
    assert!(!info.isolation && !info.isolation_message.is_empty() && info.node_pod_ip.is_none());
    let sandboxes = rt.list_sandboxes().await.unwrap();
    assert_eq!(sandboxes.len(), 1);
    assert_eq!(
        (
            sandboxes[0].id.as_str(),
            sandboxes[0].state,
            sandboxes[0].ip
        ),
        (f.sandbox.as_str(), SandboxState::Ready, None)
    );
    assert_eq!(
        sandboxes[0].labels.get(labels::POD_UID).map(String::as_str),
        Some("uid-1")
    );
    assert_eq!(
        sandboxes[0].labels.get("app").map(String::as_str),
        Some("web")
    );

    let s = rt.container_status(&running).await.unwrap();
    assert_eq!(
        (s.state, s.attempt, s.exit_code),
        (ContainerState::Running, 2, None)
    );
    assert_eq!(s.started_at, Some(timestamp(1_700_000_002_000_000_000)));
    let s = rt.container_status(&ended).await.unwrap();
    assert_eq!(
        (s.state, s.exit_code, s.reason.as_str(), s.message.as_str()),
        (ContainerState::Exited, Some(7), "Error", "bye")
    );
    assert_eq!(s.finished_at, Some(timestamp(1_700_000_003_000_000_000)));
    assert_eq!(
        rt.container_status(&created).await.unwrap().state,
        ContainerState::Created
    );
    assert!(!partial.exists());

    // The orphaned container's supervisor is gone without a word: its exit is unknown.
    let s = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let s = rt.container_status(&orphaned).await.unwrap();
            if s.state == ContainerState::Exited {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
    assert_eq!((s.exit_code, s.reason.as_str()), (Some(255), "Error"));
    assert!(s.message.contains("supervisor"), "{}", s.message);
    let recorded = state::containers_dir(&f.dir.path().join("state"))
        .join(&orphaned)
        .join(EXITED_FILE);
    assert!(
        recorded.exists(),
        "the unknown exit is recorded for the next runtime"
    );

    // A running container cannot be removed; exited ones can; the sandbox goes last.
    let err = rt.remove_container(&running).await.unwrap_err();
    assert_eq!(
        err,
        RuntimeError::Other(format!("container {running} is running: stop it first"))
    );
    rt.remove_container(&ended).await.unwrap();
    assert_eq!(
        rt.container_status(&ended).await.unwrap_err(),
        RuntimeError::ContainerNotFound(ended.clone())
    );
    let pod = rt.list_pod("uid-1").await.unwrap();
    assert!(pod.containers.iter().all(|c| c.id != ended) && pod.containers.len() == 3);
    drop(rt);

    // A second runtime sees the same (the running container is still the test process).
    let rt = ProcessRuntime::new(f.config()).await.unwrap();
    let mut names: Vec<(String, ContainerState)> = rt
        .list_containers()
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.name, c.state))
        .collect();
    names.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        names,
        [
            ("created".to_owned(), ContainerState::Created),
            ("orphaned".to_owned(), ContainerState::Exited),
            ("running".to_owned(), ContainerState::Running),
        ]
    );
}

#[tokio::test]
async fn unknown_objects_and_bad_configs_are_errors() {
    let f = Fixture::new();
    let rt = ProcessRuntime::new(f.config()).await.unwrap();
    assert_eq!(
        rt.stop_sandbox("nope").await.unwrap_err(),
        RuntimeError::SandboxNotFound("nope".to_owned())
    );
    assert_eq!(
        rt.start_container("nope").await.unwrap_err(),
        RuntimeError::ContainerNotFound("nope".to_owned())
    );
    assert_eq!(
        rt.create_container("nope", &config(&[], None))
            .await
            .unwrap_err(),
        RuntimeError::SandboxNotFound("nope".to_owned())
    );
    let mut c = config(&[], None);
    c.argv = vec![];
    assert_eq!(
        rt.create_container(&f.sandbox, &c).await.unwrap_err(),
        RuntimeError::CreateFailed("container c: no command specified".to_owned())
    );
    let mut bad = f.config();
    bad.pod_cidr = "10.0.0.0".to_owned();
    assert!(ProcessRuntime::new(bad).await.is_err());
    // Stopping a sandbox marks it not ready and says so.
    let mut events = rt.subscribe();
    rt.stop_sandbox(&f.sandbox).await.unwrap();
    assert_eq!(
        rt.list_sandboxes().await.unwrap()[0].state,
        SandboxState::NotReady
    );
    assert_eq!(
        events.recv().await.unwrap(),
        RuntimeEvent::SandboxStopped {
            id: f.sandbox.clone(),
            pod_uid: "uid-1".to_owned()
        }
    );
    assert!(matches!(
        rt.create_container(&f.sandbox, &config(&[], None)).await,
        Err(RuntimeError::CreateFailed(_))
    ));
    rt.remove_sandbox(&f.sandbox).await.unwrap();
    assert!(rt.list_sandboxes().await.unwrap().is_empty());
    let pod = rt.list_pod("uid-1").await.unwrap();
    assert!(pod.sandboxes.is_empty() && pod.containers.is_empty());
}
