//! Third-party clients against k4t: the Python `kubernetes` client from PyPI.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use support::Server;

#[test]
fn python_client_lists_watches_and_creates_a_deployment() {
    let s = Server::start();
    let stdout = support::run_python("client.py", &s.kubeconfig);
    assert!(stdout.contains("python client: ok"), "{stdout}");
}
