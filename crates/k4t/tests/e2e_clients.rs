//! Third-party clients against k4t: the Python `kubernetes` client from PyPI.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use support::Server;

#[test]
fn python_client_lists_watches_and_creates_a_deployment() {
    let s = Server::start();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/client.py");
    let python = std::env::var("K4T_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let out = std::process::Command::new(&python)
        .arg(script)
        .env("KUBECONFIG", &s.kubeconfig)
        .output()
        .unwrap_or_else(|e| panic!("running {python}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "python client failed (is the `kubernetes` package installed?):\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("python client: ok"), "{stdout}");
}
