"""The Python `kubernetes` client (PyPI) talking to a pod on k4t: logs, exec over the
WebSocket channel protocol (stdin, stdout, stderr, exit code) and port-forward.

Run by the e2e test `python_client_talks_to_a_pod`; KUBECONFIG points at the server, whose node
agent runs the pod `py-talk` (the demo app on port 8080).
"""

import os
import sys

from kubernetes import client, config
from kubernetes.stream import portforward, stream


def main() -> int:
    config.load_kube_config(config_file=os.environ["KUBECONFIG"])
    core = client.CoreV1Api()

    log = core.read_namespaced_pod_log("py-talk", "default", container="app", tail_lines=5)
    assert isinstance(log, str), type(log)

    out = stream(
        core.connect_get_namespaced_pod_exec,
        "py-talk",
        "default",
        command=["sh", "-c", "echo out-$HOSTNAME; echo err >&2"],
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
    )
    assert "out-py-talk" in out, out

    resp = stream(
        core.connect_get_namespaced_pod_exec,
        "py-talk",
        "default",
        command=["sh", "-c", "read line; echo got-$line; exit 4"],
        stderr=True,
        stdin=True,
        stdout=True,
        tty=False,
        _preload_content=False,
    )
    resp.write_stdin("hello\n")
    got = ""
    while resp.is_open():
        resp.update(timeout=5)
        got += resp.read_stdout() if resp.peek_stdout() else ""
    assert "got-hello" in got, got
    code = resp.returncode
    assert code == 4, code
    resp.close()

    pf = portforward(core.connect_get_namespaced_pod_portforward, "py-talk", "default", ports="8080")
    sock = pf.socket(8080)
    sock.setblocking(True)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: py\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    sock.close()
    assert data.startswith(b"HTTP/1.1 200"), data
    assert data.endswith(b"You've hit py-talk\n"), data
    assert pf.error(8080) is None, pf.error(8080)

    print("python talk: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
