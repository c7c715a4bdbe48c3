//! `k4t-bench talk`: talking to pods through the API server and the node agent's tunnel.
//! Port-forward throughput (MB/s through one `kubectl port-forward` session, download and
//! upload) next to the same transfer straight to the pod's IP, and `kubectl exec` round-trip
//! latency next to `kubectl get pod` (the same kubectl start-up and API round trip, without
//! the stream), so the ratios show what the tunnel and the exec cost.
//!
//! The pod runs this binary's `blast` server: each connection sends one line, `get <bytes>`
//! (the server answers that many bytes) or `put <bytes>` (the server reads that many and
//! answers `ok`).

// Timing kubectl runs is wall-clock time.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::ServerProc;
use crate::pods::kubectl;

/// The pod's side: serves `get`/`put` requests on `port` until killed.
pub fn blast(port: u16) -> anyhow::Result<()> {
    let l = TcpListener::bind(("0.0.0.0", port))?;
    for conn in l.incoming() {
        let Ok(conn) = conn else { continue };
        std::thread::spawn(move || {
            let _ = serve_one(conn);
        });
    }
    Ok(())
}

fn serve_one(conn: TcpStream) -> anyhow::Result<()> {
    let mut r = BufReader::new(conn.try_clone()?);
    let mut w = conn;
    let mut line = String::new();
    r.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (verb, n) = (
        parts.next(),
        parts.next().and_then(|n| n.parse::<u64>().ok()),
    );
    let chunk = vec![0x5au8; 256 * 1024];
    match (verb, n) {
        (Some("get"), Some(mut left)) => {
            while left > 0 {
                let k = left.min(chunk.len() as u64) as usize;
                w.write_all(&chunk[..k])?;
                left -= k as u64;
            }
        }
        (Some("put"), Some(mut left)) => {
            let mut buf = vec![0u8; 256 * 1024];
            while left > 0 {
                let want = left.min(buf.len() as u64) as usize;
                let k = r.read(&mut buf[..want])?;
                if k == 0 {
                    bail!("short upload");
                }
                left -= k as u64;
            }
            w.write_all(b"ok\n")?;
        }
        _ => bail!("bad request {line:?}"),
    }
    Ok(())
}

fn transfer(addr: &str, verb: &str, bytes: u64) -> anyhow::Result<Duration> {
    let mut s = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
    let t = Instant::now();
    s.write_all(format!("{verb} {bytes}\n").as_bytes())?;
    if verb == "get" {
        let mut buf = vec![0u8; 256 * 1024];
        let mut got = 0u64;
        while got < bytes {
            let k = s.read(&mut buf)?;
            if k == 0 {
                bail!("download ended after {got} of {bytes} bytes");
            }
            got += k as u64;
        }
    } else {
        let chunk = vec![0xa5u8; 256 * 1024];
        let mut left = bytes;
        while left > 0 {
            let k = left.min(chunk.len() as u64) as usize;
            s.write_all(&chunk[..k])?;
            left -= k as u64;
        }
        let mut ok = [0u8; 3];
        s.read_exact(&mut ok)?;
    }
    Ok(t.elapsed())
}

fn mbps(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub async fn run(bin: &PathBuf, mib: u64, runs: usize, exec_runs: usize) -> anyhow::Result<()> {
    let bench = std::env::current_exe().context("finding k4t-bench")?;
    let server = ServerProc::start_with(
        bin,
        &[
            "--node-name",
            "bench-talk",
            "--pod-bridge",
            "k4tt0",
            "--pod-cidr",
            "10.42.160.0/24",
            "--cgroup-parent",
            "k4t-bench-talk",
            "--shutdown-grace-period",
            "2s",
        ],
    )?;
    let kc = server.kubeconfig.clone();
    let manifest = server.data_dir().join("blast.yaml");
    std::fs::write(
        &manifest,
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: blast}}\nspec:\n  containers:\n  - name: blast\n    image: k4t/bench\n    command: [{:?}, \"blast\", \"--port\", \"9000\"]\n    readinessProbe: {{tcpSocket: {{port: 9000}}, periodSeconds: 1}}\n",
            bench.display().to_string()
        ),
    )?;
    kubectl(&kc, &["apply", "-f", &manifest.to_string_lossy()])?;
    kubectl(
        &kc,
        &[
            "wait",
            "--for=condition=Ready",
            "pod/blast",
            "--timeout=60s",
        ],
    )?;
    let ip = kubectl(
        &kc,
        &["get", "pod", "blast", "-o", "jsonpath={.status.podIP}"],
    )?;
    let direct = format!("{}:9000", ip.trim());

    let local = free_port()?;
    let mut pf = Command::new("kubectl")
        .args(["port-forward", "pod/blast", &format!("{local}:9000")])
        .env("KUBECONFIG", &kc)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting kubectl port-forward")?;
    let mut first = String::new();
    let mut out = BufReader::new(pf.stdout.take().context("stdout")?);
    out.read_line(&mut first)?;
    if !first.contains("Forwarding from") {
        bail!("kubectl port-forward said {first:?}");
    }
    // kubectl prints a line per connection; a closed pipe would end it.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let tunnel = format!("127.0.0.1:{local}");
    let bytes = mib * 1024 * 1024;
    // One warm-up of each, then the median of `runs`.
    let mut rows = Vec::new();
    for verb in ["get", "put"] {
        let best = |addr: &str| -> anyhow::Result<f64> {
            transfer(addr, verb, bytes.min(16 << 20))
                .with_context(|| format!("warming up: {verb} through {addr}"))?;
            let mut speeds: Vec<f64> = (0..runs)
                .map(|_| transfer(addr, verb, bytes).map(|d| mbps(bytes, d)))
                .collect::<anyhow::Result<_>>()
                .with_context(|| format!("{verb} through {addr}"))?;
            speeds.sort_by(f64::total_cmp);
            Ok(speeds[speeds.len() / 2])
        };
        let through = best(&tunnel)?;
        let straight = best(&direct)?;
        let what = if verb == "get" {
            "download (pod → client)"
        } else {
            "upload (client → pod)"
        };
        rows.push(format!(
            "| port-forward {what}, {mib} MiB | {through:.0} MB/s | {straight:.0} MB/s | {:.2} |",
            through / straight
        ));
    }
    let _ = pf.kill();
    let _ = pf.wait();

    let time_kubectl = |args: &[&str]| -> anyhow::Result<Vec<Duration>> {
        kubectl(&kc, args)?;
        let mut v = Vec::new();
        for _ in 0..exec_runs {
            let t = Instant::now();
            kubectl(&kc, args)?;
            v.push(t.elapsed());
        }
        v.sort();
        Ok(v)
    };
    let exec = time_kubectl(&["exec", "blast", "--", "true"])?;
    let get = time_kubectl(&["get", "pod", "blast", "-o", "name"])?;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("| measurement | k4t | reference | ratio |");
    println!("|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
    println!(
        "| `kubectl exec blast -- true`, p50 (ref: `kubectl get pod`) | {:.1} ms | {:.1} ms | {:.2} |",
        ms(percentile(&exec, 0.5)),
        ms(percentile(&get, 0.5)),
        ms(percentile(&exec, 0.5)) / ms(percentile(&get, 0.5))
    );
    println!(
        "| `kubectl exec blast -- true`, p99 (ref: `kubectl get pod`) | {:.1} ms | {:.1} ms | {:.2} |",
        ms(percentile(&exec, 0.99)),
        ms(percentile(&get, 0.99)),
        ms(percentile(&exec, 0.99)) / ms(percentile(&get, 0.99))
    );
    kubectl(&kc, &["delete", "pod", "blast", "--grace-period=1"])?;
    drop(server);
    Ok(())
}
