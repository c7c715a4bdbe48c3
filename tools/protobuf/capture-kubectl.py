#!/usr/bin/env python3
"""Capture the protobuf request bodies that `kubectl create ...` sends.

A throw-away API server on 127.0.0.1 (plain http, so kubectl sends no credentials) answers the
legacy discovery documents kubectl needs, records each POST body, and answers with a minimal JSON
object. Used to produce crates/k4t-api/src/protobuf/testdata/*.bin, and beside each the JSON that
`kubectl ... --dry-run=client -o json` prints for the same object (*.json):

    python3 tools/protobuf/capture-kubectl.py crates/k4t-api/src/protobuf/testdata
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CORE = [
    ("namespaces", "namespace", False, "Namespace", ["ns"]),
    ("configmaps", "configmap", True, "ConfigMap", ["cm"]),
    ("secrets", "secret", True, "Secret", []),
    ("serviceaccounts", "serviceaccount", True, "ServiceAccount", ["sa"]),
    ("services", "service", True, "Service", ["svc"]),
    ("pods", "pod", True, "Pod", ["po"]),
]
GROUPS = {
    "apps/v1": [("deployments", "deployment", True, "Deployment", ["deploy"])],
    "batch/v1": [("jobs", "job", True, "Job", []), ("cronjobs", "cronjob", True, "CronJob", ["cj"])],
}
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


def resource_list(group_version, resources):
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": [
            {"name": n, "singularName": s, "namespaced": ns, "kind": k, "verbs": VERBS, "shortNames": sn}
            for (n, s, ns, k, sn) in resources
        ],
    }


def discovery(path):
    if path == "/version":
        return {"major": "1", "minor": "32", "gitVersion": "v1.32.4", "platform": "linux/amd64"}
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}
    if path == "/api/v1":
        return resource_list("v1", CORE)
    if path == "/apis":
        groups = []
        for gv in GROUPS:
            g, v = gv.split("/")
            entry = {"groupVersion": gv, "version": v}
            groups.append({"name": g, "versions": [entry], "preferredVersion": entry})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
    for gv, resources in GROUPS.items():
        if path == "/apis/" + gv:
            return resource_list(gv, resources)
    return None


class Handler(BaseHTTPRequestHandler):
    captured = []

    def log_message(self, *args):
        pass

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        doc = discovery(self.path.split("?")[0])
        if doc is None:
            self.reply(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound",
                             "code": 404})
        else:
            self.reply(200, doc)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        Handler.captured.append((self.path, self.headers.get("Content-Type"), self.headers.get("Accept"), body))
        path = self.path.split("?")[0]
        plural = path.rstrip("/").split("/")[-1]
        kind, api_version = "Status", "v1"
        for gv, resources in [("v1", CORE)] + list(GROUPS.items()):
            for (n, _, _, k, _) in resources:
                if n == plural:
                    kind, api_version = k, gv
        self.reply(201, {"apiVersion": api_version, "kind": kind, "metadata": {"name": "captured"}})


COMMANDS = {
    "namespace": ["create", "namespace", "demo"],
    "configmap": ["create", "configmap", "c", "--from-literal=a=b", "--from-file=bin=BINFILE"],
    "secret": ["create", "secret", "generic", "s", "--from-literal=user=admin", "--from-literal=pass=s3cr3t"],
    "serviceaccount": ["create", "serviceaccount", "sa"],
    "service": ["create", "service", "clusterip", "web", "--tcp=80:8080"],
    "deployment": ["create", "deployment", "web", "--image=nginx", "--replicas=2", "--port=80"],
    "job": ["create", "job", "j", "--image=busybox", "--", "echo", "hi"],
    "cronjob": ["create", "cronjob", "cj", "--image=busybox", "--schedule=*/5 * * * *", "--", "date"],
}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d" % server.server_address[1]
    with tempfile.TemporaryDirectory() as tmp:
        binfile = os.path.join(tmp, "bin")
        with open(binfile, "wb") as f:
            f.write(bytes([0x00, 0xFF, 0xFE, 0x80, 0x01]))
        kubeconfig = os.path.join(tmp, "kubeconfig")
        with open(kubeconfig, "w") as f:
            f.write("apiVersion: v1\nkind: Config\n")
        for name, args in COMMANDS.items():
            args = [a.replace("BINFILE", binfile) for a in args]
            Handler.captured.clear()
            base = ["kubectl", "--kubeconfig", kubeconfig, "--server", url, "--cache-dir",
                    os.path.join(tmp, "cache-" + name), "-n", "default"]
            res = subprocess.run(base + args, capture_output=True, text=True, timeout=60)
            if not Handler.captured:
                sys.exit("%s: no POST captured: %s %s" % (name, res.stdout, res.stderr))
            path, ctype, accept, body = Handler.captured[-1]
            with open(os.path.join(out, name + ".bin"), "wb") as f:
                f.write(body)
            # kubectl's own JSON encoding of the same object: what the decoder must reproduce.
            dry = subprocess.run(base + ["--dry-run=client", "-o", "json"] + args, capture_output=True, text=True,
                                 timeout=60, check=True)
            with open(os.path.join(out, name + ".json"), "w") as f:
                f.write(dry.stdout)
            print("%-15s POST %s\n                Content-Type: %s\n                Accept: %s\n"
                  "                %d bytes; kubectl said: %s" % (
                      name, path, ctype, accept, len(body), (res.stdout + res.stderr).strip()))
    server.shutdown()


if __name__ == "__main__":
    main()
