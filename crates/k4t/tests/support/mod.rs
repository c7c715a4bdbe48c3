//! End-to-end test support: a real `k4t server` process on a free loopback port with its own
//! data directory, and the real `kubectl` pointed at it through the kubeconfig it wrote.
//!
//! Every process a test starts is killed when its guard drops, also when the test fails.

#![allow(dead_code)]
// These tests wait on real processes in wall-clock time; virtual time does not apply.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// The `k4t` binary under test.
pub fn k4t_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_k4t"))
}

/// The kubectl on the PATH. A missing kubectl fails the test: CI must have it.
pub fn kubectl_bin() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let p = dir.join("kubectl");
        if p.is_file() {
            return p;
        }
    }
    panic!("kubectl is not on the PATH; the e2e suite needs the real kubectl");
}

/// A `k4t server` process.
pub struct Server {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub kubeconfig: PathBuf,
    pub cache_dir: PathBuf,
    extra_args: Vec<String>,
    /// Runs the embedded node agent (on its own pod bridge and subnet).
    agent: Option<NetSlot>,
    /// Where the server's stderr goes (read it when a test fails).
    pub log: PathBuf,
}

impl Server {
    /// Starts a server on a free port with a fresh data directory.
    pub fn start() -> Server {
        Self::start_with(&[])
    }

    /// Starts a server with extra `k4t server` flags.
    pub fn start_with(args: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut s = Server {
            child: None,
            kubeconfig: dir.path().join("data/kubeconfig"),
            cache_dir: dir.path().join("kube-cache"),
            log: dir.path().join("server.log"),
            dir,
            port: 0,
            extra_args: args.iter().map(|s| s.to_string()).collect(),
            agent: None,
        };
        s.spawn();
        s
    }

    /// Starts a server that runs its node agent, with extra flags. The pod network gets a
    /// bridge and subnet of its own, so tests run side by side.
    pub fn start_node(args: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut s = Server {
            child: None,
            kubeconfig: dir.path().join("data/kubeconfig"),
            cache_dir: dir.path().join("kube-cache"),
            log: dir.path().join("server.log"),
            dir,
            port: 0,
            extra_args: args.iter().map(|s| s.to_string()).collect(),
            agent: Some(NetSlot::take()),
        };
        s.spawn();
        s
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn spawn(&mut self) {
        let bind = format!("127.0.0.1:{}", self.port);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let mut child = Command::new(k4t_bin())
            .arg("server")
            .arg("--data-dir")
            .arg(self.data_dir())
            .arg("--bind")
            .arg(&bind)
            .args(&self.extra_args)
            .args(match &self.agent {
                None => vec!["--no-agent".to_owned()],
                Some(slot) => vec![
                    "--shutdown-grace-period".to_owned(),
                    "2s".to_owned(),
                    "--node-name".to_owned(),
                    format!("node-{}", slot.n),
                    "--pod-bridge".to_owned(),
                    format!("k4te{}", slot.n),
                    "--pod-cidr".to_owned(),
                    format!("10.42.{}.0/24", slot.n),
                    "--cgroup-parent".to_owned(),
                    format!("k4t-node-{}", slot.n),
                ],
            })
            .env("K4T_LOG", "info,k4t_apiserver=debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn k4t server");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut url = None;
        for line in lines.by_ref() {
            let line = line.expect("read server stdout");
            if let Some(u) = line.strip_prefix("server: ") {
                url = Some(u.to_owned());
                break;
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let url = url.unwrap_or_else(|| {
            let _ = child.kill();
            panic!(
                "k4t server did not start; log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            )
        });
        self.port = url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port in server url");
        self.child = Some(child);
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// The admin token.
    pub fn token(&self) -> String {
        std::fs::read_to_string(self.data_dir().join("token"))
            .expect("token")
            .trim()
            .to_owned()
    }

    /// The server's CA certificate (PEM).
    pub fn ca_pem(&self) -> String {
        std::fs::read_to_string(self.data_dir().join("tls/ca.crt")).expect("ca")
    }

    /// SIGKILLs the server, as a crash would.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERMs the server and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same port and data directory.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// A kubectl bound to this server.
    pub fn kubectl(&self) -> Kubectl {
        Kubectl {
            kubeconfig: self.kubeconfig.clone(),
            cache_dir: self.cache_dir.clone(),
            cwd: self.dir.path().to_owned(),
        }
    }

    /// The server log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A server with an agent stops its pods on a clean stop; a SIGKILL would leave them.
        if self.agent.is_some()
            && let Some(mut c) = self.child.take()
        {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while c.try_wait().ok().flatten().is_none() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        self.kill9();
    }
}

/// A pod network of its own for one test server: a number (bridge `k4te<n>`, subnet
/// `10.42.<n>.0/24`) held under an exclusive lock for as long as the test runs, so parallel
/// test processes never share one. The lock goes with the process, also when it crashes.
pub struct NetSlot {
    pub n: u32,
    _lock: std::fs::File,
}

impl NetSlot {
    pub fn take() -> NetSlot {
        use rustix::fs::{FlockOperation, flock};
        let dir = std::env::temp_dir().join("k4t-e2e-net");
        std::fs::create_dir_all(&dir).expect("lock dir");
        for n in 100..250 {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(dir.join(format!("{n}.lock")))
                .expect("lock file");
            if flock(&f, FlockOperation::NonBlockingLockExclusive).is_ok() {
                return NetSlot { n, _lock: f };
            }
        }
        panic!("no free pod network slot");
    }

    /// The pod subnet's first address (the bridge's).
    pub fn gateway(&self) -> String {
        format!("10.42.{}.1", self.n)
    }
}

/// The result of a kubectl run.
#[derive(Debug)]
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            status: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// The real kubectl with its own kubeconfig and discovery cache.
#[derive(Clone)]
pub struct Kubectl {
    pub kubeconfig: PathBuf,
    pub cache_dir: PathBuf,
    pub cwd: PathBuf,
}

impl Kubectl {
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(kubectl_bin());
        c.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("KUBECACHEDIR", &self.cache_dir)
            .env_remove("KUBECTL_EXTERNAL_DIFF")
            .current_dir(&self.cwd);
        c
    }

    /// Runs kubectl with a timeout of 60 s.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_stdin(args, None)
    }

    pub fn run_stdin(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut c = self.command(args);
        c.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().expect("spawn kubectl");
        if let Some(input) = stdin {
            use std::io::Write as _;
            let mut s = child.stdin.take().expect("stdin");
            s.write_all(input.as_bytes()).expect("write stdin");
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            if child.try_wait().expect("wait").is_some() {
                break;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.wait_with_output().expect("kubectl output").into()
    }

    /// Runs kubectl and asserts it succeeded; returns stdout.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(
            r.status, 0,
            "kubectl {args:?} failed:\nstdout: {}\nstderr: {}",
            r.stdout, r.stderr
        );
        r.stdout
    }

    /// Like [`ok`](Self::ok) with stdin.
    #[track_caller]
    pub fn ok_stdin(&self, args: &[&str], stdin: &str) -> String {
        let r = self.run_stdin(args, Some(stdin));
        assert_eq!(
            r.status, 0,
            "kubectl {args:?} failed:\nstdout: {}\nstderr: {}",
            r.stdout, r.stderr
        );
        r.stdout
    }

    /// Runs kubectl and asserts it failed; returns stderr.
    #[track_caller]
    pub fn fails(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_ne!(
            r.status, 0,
            "kubectl {args:?} unexpectedly succeeded:\n{}",
            r.stdout
        );
        r.stderr
    }

    /// Starts a long-running kubectl (e.g. `get -w`) with its output going to a file.
    pub fn spawn(&self, args: &[&str], out: &Path) -> Background {
        let f = std::fs::File::create(out).expect("output file");
        let f2 = f.try_clone().expect("clone");
        let child = self
            .command(args)
            .stdout(Stdio::from(f))
            .stderr(Stdio::from(f2))
            .spawn()
            .expect("spawn kubectl");
        Background {
            child,
            out: out.to_owned(),
        }
    }

    /// Writes a manifest file in the working directory and returns its path as a string.
    pub fn write(&self, name: &str, contents: &str) -> String {
        let p = self.cwd.join(name);
        std::fs::write(&p, contents).expect("write manifest");
        p.to_string_lossy().into_owned()
    }
}

/// A background kubectl, killed on drop.
pub struct Background {
    child: Child,
    out: PathBuf,
}

impl Background {
    /// Wraps a child started elsewhere whose output goes to `out`.
    pub fn from_child(child: Child, out: PathBuf) -> Background {
        Background { child, out }
    }

    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// Waits until the output contains `needle`, or panics after `timeout`.
    #[track_caller]
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let out = self.output();
            if out.contains(needle) {
                return out;
            }
            if std::time::Instant::now() > deadline {
                panic!("timed out waiting for {needle:?} in:\n{out}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn exited(&mut self) -> Option<i32> {
        self.child
            .try_wait()
            .ok()
            .flatten()
            .map(|s| s.code().unwrap_or(-1))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `tests/python/<script>` with the Python `kubernetes` client (`K4T_PYTHON`, else
/// `python3`) against `kubeconfig`; asserts it succeeded and returns its stdout.
#[track_caller]
pub fn run_python(script: &str, kubeconfig: &Path) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let python = std::env::var("K4T_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let out = Command::new(&python)
        .arg(&path)
        .env("KUBECONFIG", kubeconfig)
        .output()
        .unwrap_or_else(|e| panic!("running {python}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "python client failed (is the `kubernetes` package installed?):\n{stdout}\n{stderr}"
    );
    stdout
}

/// Polls `f` until it returns `Some`, or panics after `timeout`.
#[track_caller]
pub fn eventually<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if std::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Splits `kubectl get` table output into rows of whitespace-separated cells (header
/// included).
pub fn table(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            // Columns are separated by 2+ spaces; single spaces occur inside cells.
            let mut cells = Vec::new();
            let mut cur = String::new();
            let mut spaces = 0;
            for ch in l.chars() {
                if ch == ' ' {
                    spaces += 1;
                    continue;
                }
                if spaces >= 2 && !cur.is_empty() {
                    cells.push(std::mem::take(&mut cur));
                } else if spaces == 1 {
                    cur.push(' ');
                }
                spaces = 0;
                cur.push(ch);
            }
            if !cur.is_empty() {
                cells.push(cur);
            }
            cells
        })
        .collect()
}

/// A raw HTTP answer.
#[derive(Debug)]
pub struct Raw {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Raw {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not json ({e}): {}", self.body))
    }
}

/// Which credentials a raw request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth<'a> {
    Admin,
    None,
    Token(&'a str),
}

impl Server {
    /// A kube-rs client configured from the kubeconfig, with the chosen credentials.
    pub fn client_config(&self, auth: Auth<'_>) -> kube::Config {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let kc = kube::config::Kubeconfig::read_from(&self.kubeconfig).expect("kubeconfig");
        let mut config = rt
            .block_on(kube::Config::from_custom_kubeconfig(
                kc,
                &kube::config::KubeConfigOptions::default(),
            ))
            .expect("config");
        match auth {
            Auth::Admin => {}
            Auth::None => config.auth_info.token = None,
            Auth::Token(t) => config.auth_info.token = Some(t.to_owned().into()),
        }
        config
    }

    /// Sends one raw request with kube-rs' HTTP stack (TLS against the server's CA).
    pub fn raw(
        &self,
        auth: Auth<'_>,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Raw {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = self.client_config(auth);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let client = kube::Client::try_from(config).expect("client");
            let mut req = http::Request::builder().method(method).uri(path);
            if let Some(ct) = content_type {
                req = req.header(http::header::CONTENT_TYPE, ct);
            }
            let req = req.body(kube::client::Body::from(body)).expect("request");
            let resp = client.send(req).await.expect("send");
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let bytes = http_body_util::BodyExt::collect(resp.into_body())
                .await
                .expect("body")
                .to_bytes();
            Raw {
                status,
                headers,
                body: String::from_utf8_lossy(&bytes).into_owned(),
            }
        })
    }
}
