//! Talking to pods end to end with the real kubectl: `logs` (every flag, follow, previous,
//! rotation), `exec` (stdin, tty, exit codes, the pod's own hostname and /tmp), `cp` both
//! ways, and `port-forward` with several ports, many requests and a refused port. The API
//! server reaches the node agent through the agent's tunnel, as it would on another machine.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{Kubectl, Server, eventually};

fn apply(k: &Kubectl, name: &str, yaml: &str) {
    let path = k.write(&format!("{name}.yaml"), yaml);
    k.ok(&["apply", "-f", &path]);
}

fn pod(k: &Kubectl, name: &str) -> Value {
    serde_json::from_str(&k.ok(&["get", "pod", name, "-o", "json"])).expect("pod json")
}

#[track_caller]
fn wait_running(k: &Kubectl, name: &str) {
    eventually(Duration::from_secs(60), &format!("{name} running"), || {
        let p = pod(k, name);
        (p["status"]["phase"] == "Running"
            && p["status"]["containerStatuses"]
                .as_array()
                .is_some_and(|cs| cs.iter().all(|c| c["state"]["running"].is_object())))
        .then_some(())
    });
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

/// `k4t demo serve` style pods are not needed here: plain shells write the logs.
const TALK: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: talk
  labels: {app: talk}
spec:
  containers:
  - name: counter
    image: busybox
    command: ["sh", "-c", "i=0; while [ $i -lt 200 ]; do echo \"counter line $i padded to make it longer\"; i=$((i+1)); done; echo to-stderr >&2; sleep 100000"]
  - name: ticker
    image: busybox
    command: ["sh", "-c", "i=0; while [ $i -lt 8 ]; do echo tick $i; i=$((i+1)); sleep 1; done; exit 3"]
---
apiVersion: v1
kind: Pod
metadata:
  name: blocked
  labels: {app: blocked}
spec:
  initContainers:
  - name: wait
    image: busybox
    command: ["sh", "-c", "echo init says hi; sleep 100000"]
  containers:
  - name: app
    image: busybox
    command: ["sleep", "100000"]
"#;

#[test]
fn logs_with_every_flag_follow_previous_and_rotation() {
    let server = Server::start_node(&[
        "--container-log-max-size",
        "2Ki",
        "--container-log-max-files",
        "3",
        "--crashloop-backoff-initial",
        "2s",
    ]);
    let k = server.kubectl();
    apply(&k, "talk", TALK);
    eventually(Duration::from_secs(60), "counter done", || {
        let r = k.run(&["logs", "talk", "-c", "counter"]);
        r.stdout.contains("to-stderr").then_some(())
    });

    // Rotation: 200 lines of ~50 bytes went through 2 KiB files, at most 3 kept; the tail
    // still counts lines across the rotated files.
    let logs_dir = server.data_dir().join("agent/pods");
    let rotated = walk(&logs_dir)
        .into_iter()
        .filter(|p| p.contains("/counter/0.log."))
        .count();
    assert_eq!(rotated, 2, "two rotated files kept next to the current one");
    let tail = k.ok(&["logs", "talk", "-c", "counter", "--tail", "30"]);
    let expected: Vec<String> = (171..200)
        .map(|i| format!("counter line {i} padded to make it longer"))
        .chain(["to-stderr".to_owned()])
        .collect();
    assert_eq!(lines(&tail), expected, "tail across files");
    // Everything still kept is contiguous and ends with the last line.
    let all = k.ok(&["logs", "talk", "-c", "counter"]);
    let all = lines(&all);
    assert!(
        all.len() > 30 && all.len() < 200,
        "older files were removed: {}",
        all.len()
    );
    assert_eq!(all.last(), Some(&"to-stderr"));

    // --timestamps, --since, --since-time, --limit-bytes.
    let ts = k.ok(&[
        "logs",
        "talk",
        "-c",
        "counter",
        "--tail",
        "2",
        "--timestamps",
    ]);
    let re = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z counter line 199 padded")
        .unwrap();
    assert!(re.is_match(&ts), "{ts}");
    assert_eq!(
        lines(&k.ok(&["logs", "talk", "-c", "counter", "--since", "1h"])).len(),
        all.len()
    );
    let future = "2999-01-01T00:00:00Z";
    assert_eq!(
        k.ok(&["logs", "talk", "-c", "counter", "--since-time", future]),
        ""
    );
    assert_eq!(
        k.ok(&[
            "logs",
            "talk",
            "-c",
            "counter",
            "--tail",
            "1",
            "--limit-bytes",
            "4"
        ]),
        "to-s"
    );

    // -f streams new lines as they are written and ends when the container ends.
    eventually(Duration::from_secs(60), "ticker restarted", || {
        (pod(&k, "talk")["status"]["containerStatuses"][1]["restartCount"]
            .as_i64()
            .unwrap_or(0)
            >= 1)
            .then_some(())
    });
    eventually(Duration::from_secs(30), "ticker running again", || {
        pod(&k, "talk")["status"]["containerStatuses"][1]["state"]["running"]
            .is_object()
            .then_some(())
    });
    let out = k.cwd.join("follow.out");
    let mut follow = k.spawn(&["logs", "-f", "talk", "-c", "ticker"], &out);
    follow.wait_for("tick 1", Duration::from_secs(20));
    let seen_early = follow.output();
    assert!(
        !seen_early.contains("tick 7"),
        "lines arrive as written: {seen_early}"
    );
    follow.wait_for("tick 7", Duration::from_secs(20));
    let code = eventually(
        Duration::from_secs(20),
        "logs -f ends with the container",
        || follow.exited(),
    );
    assert_eq!(code, 0);

    // --previous: the instance before the restart; none for a container that never restarted.
    let prev = k.ok(&["logs", "talk", "-c", "ticker", "--previous"]);
    assert_eq!(
        lines(&prev),
        (0..8).map(|i| format!("tick {i}")).collect::<Vec<_>>()
    );
    let err = k.fails(&["logs", "talk", "-c", "counter", "--previous"]);
    assert!(
        err.contains(r#"previous terminated container "counter" in pod "talk" not found"#),
        "{err}"
    );

    // --all-containers with --prefix, and -l across pods.
    let every = k.ok(&[
        "logs",
        "talk",
        "--all-containers",
        "--prefix",
        "--tail",
        "1",
    ]);
    assert!(every.contains("[pod/talk/counter] to-stderr"), "{every}");
    assert!(every.contains("[pod/talk/ticker] tick"), "{every}");
    let by_label = k.ok(&[
        "logs", "-l", "app=talk", "-c", "counter", "--tail", "1", "--prefix",
    ]);
    assert!(
        by_label.contains("[pod/talk/counter] to-stderr"),
        "{by_label}"
    );

    // Errors read as in Kubernetes.
    let err = k.fails(&["logs", "blocked", "-c", "app"]);
    assert!(
        err.contains(r#"container "app" in pod "blocked" is waiting to start: PodInitializing"#),
        "{err}"
    );
    assert!(
        k.ok(&["logs", "blocked", "-c", "wait"])
            .contains("init says hi")
    );
    // Without -c kubectl picks the first container itself and says so.
    let r = k.run(&["logs", "talk", "--tail", "1"]);
    assert_eq!(r.stdout, "to-stderr\n");
    assert!(
        r.stderr
            .contains(r#"Defaulted container "counter" out of: counter, ticker"#),
        "{}",
        r.stderr
    );
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.to_string_lossy().into_owned());
        }
    }
    out
}

const SHELL: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: shell
spec:
  containers:
  - name: sh
    image: busybox
    workingDir: /tmp
    env: [{name: GREETING, value: hello-from-env}]
    command: ["sleep", "100000"]
---
apiVersion: v1
kind: Pod
metadata:
  name: reader
spec:
  restartPolicy: Never
  containers:
  - name: cat
    image: busybox
    stdin: true
    stdinOnce: true
    command: ["sh", "-c", "while read l; do echo got-$l; done; echo stdin-closed"]
"#;

#[test]
fn exec_attach_and_cp() {
    let server = Server::start_node(&[]);
    let k = server.kubectl();
    apply(&k, "shell", SHELL);
    wait_running(&k, "shell");

    // The pod's own hostname, env and working directory.
    assert_eq!(k.ok(&["exec", "shell", "--", "hostname"]).trim(), "shell");
    assert_eq!(
        k.ok(&["exec", "shell", "--", "sh", "-c", "echo $GREETING; pwd"]),
        "hello-from-env\n/tmp\n"
    );
    // stdout and stderr both arrive.
    let r = k.run(&["exec", "shell", "--", "sh", "-c", "echo out; echo err >&2"]);
    assert_eq!((r.status, r.stdout.as_str()), (0, "out\n"));
    assert!(r.stderr.contains("err"), "{}", r.stderr);
    // stdin is piped through, and its end reaches the command.
    let out = k.ok_stdin(
        &["exec", "-i", "shell", "--", "sh", "-c", "wc -l; echo eof"],
        "a\nb\nc\n",
    );
    assert_eq!(out, "3\neof\n");
    // /tmp is the pod's own, not the host's.
    let marker = format!("k4t-talk-{}", std::process::id());
    k.ok(&[
        "exec",
        "shell",
        "--",
        "sh",
        "-c",
        &format!("echo inside > /tmp/{marker}"),
    ]);
    assert_eq!(
        k.ok(&["exec", "shell", "--", "cat", &format!("/tmp/{marker}")]),
        "inside\n"
    );
    assert!(!std::path::Path::new("/tmp").join(&marker).exists());
    // Exit codes propagate, as kubectl shows them.
    let r = k.run(&["exec", "shell", "--", "sh", "-c", "exit 7"]);
    assert_eq!(r.status, 7);
    assert!(
        r.stderr.contains("command terminated with exit code 7"),
        "{}",
        r.stderr
    );
    // A missing binary fails to start, as Kubernetes reports it.
    let r = k.run(&["exec", "shell", "--", "no-such-binary"]);
    assert_eq!(r.status, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains(r#"exec: "no-such-binary": executable file not found in $PATH"#),
        "{}",
        r.stderr
    );
    // A terminal: -t under a real pty (script), with its size passed on.
    let script = std::process::Command::new("script")
        .args([
            "-qec",
            &format!(
                "stty cols 91 rows 27; {} exec -it shell -- sh -c 'tty; stty size'",
                support::kubectl_bin().display()
            ),
            "/dev/null",
        ])
        .env("KUBECONFIG", &k.kubeconfig)
        .env("KUBECACHEDIR", &k.cache_dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script");
    let text = String::from_utf8_lossy(&script.stdout);
    assert!(text.contains("/dev/pts/"), "a terminal: {text}");
    assert!(text.contains("27 91"), "its size: {text}");
    // Unknown container: the API server's message.
    let err = k.fails(&["exec", "shell", "-c", "nope", "--", "true"]);
    assert!(
        err.contains("container nope is not valid for pod shell")
            || err.contains("container nope not found"),
        "{err}"
    );

    // The same over SPDY, what kubectl falls back to (and what older versions speak).
    let spdy = |args: &[&str], stdin: &str| {
        use std::io::Write as _;
        let mut child = k
            .command(args)
            .env("KUBECTL_REMOTE_COMMAND_WEBSOCKETS", "false")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("kubectl");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("kubectl output")
    };
    let out = spdy(
        &[
            "exec",
            "-i",
            "shell",
            "--",
            "sh",
            "-c",
            "cat; hostname; exit 5",
        ],
        "over spdy\n",
    );
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "over spdy\nshell\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("command terminated with exit code 5"));

    // attach: the container's stdin from kubectl, its output back, and with stdinOnce the
    // end of kubectl's stdin ends the container and the session.
    wait_running(&k, "reader");
    let r = k.run_stdin(&["attach", "-i", "reader", "-c", "cat"], Some("one\ntwo\n"));
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(r.stdout.contains("got-one\ngot-two\n"), "{}", r.stdout);
    eventually(Duration::from_secs(20), "reader completed", || {
        (pod(&k, "reader")["status"]["phase"] == "Succeeded").then_some(())
    });
    assert_eq!(
        k.ok(&["logs", "reader"]),
        "got-one\ngot-two\nstdin-closed\n"
    );

    // cp in and out, a file and a directory.
    let src = k.cwd.join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("a.txt"), "file a\n").unwrap();
    std::fs::write(src.join("sub/b.txt"), "file b\n").unwrap();
    let a = src.join("a.txt").to_string_lossy().into_owned();
    k.ok(&["cp", &a, "shell:/tmp/a.txt"]);
    assert_eq!(
        k.ok(&["exec", "shell", "--", "cat", "/tmp/a.txt"]),
        "file a\n"
    );
    k.ok(&["cp", &src.to_string_lossy(), "shell:/tmp/tree"]);
    assert_eq!(
        k.ok(&["exec", "shell", "--", "cat", "/tmp/tree/sub/b.txt"]),
        "file b\n"
    );
    let back = k.cwd.join("back");
    k.ok(&["cp", "shell:/tmp/tree", &back.to_string_lossy()]);
    assert_eq!(
        std::fs::read_to_string(back.join("sub/b.txt")).unwrap(),
        "file b\n"
    );
    assert_eq!(
        std::fs::read_to_string(back.join("a.txt")).unwrap(),
        "file a\n"
    );
    let one = k.cwd.join("one.txt");
    k.ok(&["cp", "shell:/tmp/a.txt", &one.to_string_lossy()]);
    assert_eq!(std::fs::read_to_string(one).unwrap(), "file a\n");
}

const FORWARDED: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: fwd
spec:
  containers:
  - name: web
    image: k4t/demo
  - name: local-only
    image: k4t/demo
    args: ["--listen", "127.0.0.1:9090"]
"#;

/// One HTTP/1.1 GET to `127.0.0.1:port` (a port kubectl forwards).
fn get_local(port: u16) -> Result<(u16, String), String> {
    use std::io::{Read as _, Write as _};
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    s.write_all(b"GET / HTTP/1.1\r\nHost: fwd\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut out = String::new();
    s.read_to_string(&mut out).map_err(|e| e.to_string())?;
    let code = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("no status line in {out:?}"))?;
    let body = out.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    Ok((code, body))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn forward(k: &Kubectl, name: &str, pairs: &[String], spdy: bool) -> support::Background {
    let out = k.cwd.join(format!("{name}.out"));
    let mut args = vec!["port-forward", "pod/fwd"];
    args.extend(pairs.iter().map(String::as_str));
    if spdy {
        // kubectl 1.32's switch back to the plain SPDY upgrade older clients use.
        let f = std::fs::File::create(&out).expect("output");
        let child = k
            .command(&args)
            .env("KUBECTL_PORT_FORWARD_WEBSOCKETS", "false")
            .stdout(f.try_clone().expect("clone"))
            .stderr(f)
            .spawn()
            .expect("kubectl port-forward");
        return support::Background::from_child(child, out);
    }
    k.spawn(&args, &out)
}

#[test]
fn port_forward_many_ports_and_connections() {
    let server = Server::start_node(&[]);
    let k = server.kubectl();
    apply(&k, "fwd", FORWARDED);
    wait_running(&k, "fwd");

    for spdy in [false, true] {
        let (web, local_only) = (free_port(), free_port());
        let pf = forward(
            &k,
            if spdy { "pf-spdy" } else { "pf-ws" },
            &[format!("{web}:8080"), format!("{local_only}:9090")],
            spdy,
        );
        pf.wait_for(
            &format!("Forwarding from 127.0.0.1:{local_only} -> 9090"),
            Duration::from_secs(20),
        );
        // A port the pod listens on only on its own loopback is reached too.
        assert_eq!(
            get_local(local_only).unwrap(),
            (200, "You've hit fwd\n".to_owned())
        );
        for i in 0..200 {
            let r = get_local(web);
            assert_eq!(
                r,
                Ok((200, "You've hit fwd\n".to_owned())),
                "sequential request {i} (spdy: {spdy})"
            );
        }
        let handles: Vec<_> = (0..50)
            .map(|_| std::thread::spawn(move || get_local(web)))
            .collect();
        for (i, h) in handles.into_iter().enumerate() {
            let r = h.join().expect("request thread");
            assert_eq!(
                r,
                Ok((200, "You've hit fwd\n".to_owned())),
                "concurrent request {i} (spdy: {spdy})"
            );
        }
        let out = pf.output();
        assert!(
            out.contains(&format!("Handling connection for {web}")),
            "{out}"
        );
    }

    // Client libraries speak the WebSocket channel protocol instead (kube-rs here): ports in
    // the query, one connection per port; and exec through the same library.
    client_library_port_forward_and_exec(&server);

    // Malformed SPDY and channel frames end their own session only.
    malformed_frames_end_only_their_session(&server);
    let again = free_port();
    let pf = forward(&k, "pf-after", &[format!("{again}:8080")], false);
    pf.wait_for("Forwarding from 127.0.0.1", Duration::from_secs(20));
    assert_eq!(
        get_local(again).unwrap(),
        (200, "You've hit fwd\n".to_owned())
    );
    drop(pf);

    // A port nothing listens on: kubectl shows Kubernetes' error and ends the session.
    let closed = free_port();
    let mut pf = forward(&k, "pf-closed", &[format!("{closed}:7777")], false);
    pf.wait_for("Forwarding from 127.0.0.1", Duration::from_secs(20));
    let _ = get_local(closed);
    let out = pf.wait_for("lost connection to pod", Duration::from_secs(20));
    assert!(
        out.contains("error forwarding port 7777 to pod")
            && out.contains("dial tcp4 127.0.0.1:7777: connect: connection refused"),
        "{out}"
    );
    let code = eventually(
        Duration::from_secs(20),
        "kubectl port-forward exits",
        || pf.exited(),
    );
    assert_ne!(code, 0);
}

/// Runs `f` with a kube-rs client of `server` on a runtime of its own.
fn with_client<F, Fut>(server: &Server, f: F)
where
    F: FnOnce(kube::Client) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let config = server.client_config(support::Auth::Admin);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = kube::Client::try_from(config).expect("client");
        f(client).await;
    });
}

/// Sends one HTTP GET over a forwarded stream and reads the answer to its end.
async fn get_over<S>(s: &mut S) -> String
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    s.write_all(b"GET / HTTP/1.1\r\nHost: fwd\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_string(&mut out))
        .await
        .expect("answer in time")
        .expect("read");
    out
}

fn client_library_port_forward_and_exec(server: &Server) {
    use k8s_openapi::api::core::v1::Pod;
    use tokio::io::AsyncReadExt as _;
    with_client(server, |client| async move {
        let pods: kube::Api<Pod> = kube::Api::default_namespaced(client);
        // One port per session: the protocol has no per-connection close, so a session ends
        // (and its streams with it) once all of its connections have.
        for port in [8080u16, 9090] {
            let mut pf = pods.portforward("fwd", &[port]).await.expect("portforward");
            let mut s = pf.take_stream(port).expect("stream");
            let out = get_over(&mut s).await;
            assert!(out.starts_with("HTTP/1.1 200"), "port {port}: {out}");
            assert!(out.ends_with("You've hit fwd\n"), "port {port}: {out}");
            // The read ended because the session closed once its only connection had:
            // v4 has no per-connection close. (kube-rs' `join` then fails trying to send a
            // close of its own after the server's, so the forwarder is simply dropped.)
            drop((s, pf));
        }

        let mut attached = pods
            .exec(
                "fwd",
                ["sh", "-c", "echo from-kube-rs; exit 3"],
                &kube::api::AttachParams::default()
                    .container("web")
                    .stderr(false),
            )
            .await
            .expect("exec");
        let mut out = String::new();
        attached
            .stdout()
            .expect("stdout")
            .read_to_string(&mut out)
            .await
            .expect("read");
        assert_eq!(out, "from-kube-rs\n");
        let status = attached
            .take_status()
            .expect("status")
            .await
            .expect("a status");
        assert_eq!(
            status.reason.as_deref(),
            Some("NonZeroExitCode"),
            "{status:?}"
        );
    });
}

/// Garbage after a plain SPDY upgrade, and channel messages for channels that do not exist:
/// the server ends (or ignores) them and keeps serving.
fn malformed_frames_end_only_their_session(server: &Server) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    with_client(server, |client| async move {
        let req = http::Request::post("/api/v1/namespaces/default/pods/fwd/portforward")
            .header(http::header::CONNECTION, "Upgrade")
            .header(http::header::UPGRADE, "SPDY/3.1")
            .header("X-Stream-Protocol-Version", "portforward.k8s.io")
            .body(kube::client::Body::from(Vec::new()))
            .expect("request");
        let resp = client.send(req).await.expect("upgrade request");
        assert_eq!(resp.status(), http::StatusCode::SWITCHING_PROTOCOLS);
        let io = hyper::upgrade::on(resp).await.expect("upgraded");
        let mut io = hyper_util::rt::TokioIo::new(io);
        // A control frame of SPDY version 2, then noise.
        io.write_all(b"\x80\x02\x00\x01\x00\x00\x00\x0aGARBAGE-GARBAGE-GARBAGE")
            .await
            .expect("write garbage");
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), io.read_to_end(&mut rest)).await;
        assert!(read.is_ok(), "the server closes a session it cannot parse");

        // The channel protocol: messages on channels no port has, empty ones, then a real
        // request on the right channel still gets its answer.
        let pods: kube::Api<k8s_openapi::api::core::v1::Pod> =
            kube::Api::default_namespaced(client.clone());
        let mut pf = pods.portforward("fwd", &[8080]).await.expect("portforward");
        let mut s = pf.take_stream(8080).expect("stream");
        let out = get_over(&mut s).await;
        assert!(out.ends_with("You've hit fwd\n"), "{out}");
        drop((s, pf));
        let mut ws = client
            .connect(
                http::Request::get("/api/v1/namespaces/default/pods/fwd/portforward?ports=8080")
                    .body(Vec::new())
                    .expect("request"),
            )
            .await
            .expect("websocket")
            .into_stream();
        use futures::SinkExt as _;
        use tokio_tungstenite::tungstenite::Message;
        for junk in [vec![], vec![200u8, 1, 2], vec![1u8; 70_000], vec![255u8]] {
            ws.send(Message::Binary(junk.into()))
                .await
                .expect("send junk");
        }
        ws.send(Message::Binary(
            [
                &[0u8][..],
                b"GET / HTTP/1.1\r\nHost: fwd\r\nConnection: close\r\n\r\n",
            ]
            .concat()
            .into(),
        ))
        .await
        .expect("send request");
        use futures::StreamExt as _;
        let mut answer = Vec::new();
        while let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::from_secs(20), ws.next()).await {
            match m {
                Message::Binary(b) if b.first() == Some(&0) && b.len() > 3 => {
                    answer.extend_from_slice(&b[1..])
                }
                Message::Close(_) => break,
                _ => {}
            }
        }
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.ends_with("You've hit fwd\n"), "{answer}");
    });
}

#[test]
fn python_client_talks_to_a_pod() {
    let server = Server::start_node(&[]);
    let k = server.kubectl();
    apply(
        &k,
        "py-talk",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: py-talk}\nspec:\n  containers:\n  - {name: app, image: k4t/demo}\n",
    );
    wait_running(&k, "py-talk");
    let stdout = support::run_python("talk.py", &server.kubeconfig);
    assert!(stdout.contains("python talk: ok"), "{stdout}");
}
