"""The Python `kubernetes` client (PyPI) against k4t: list and watch pods, create a Deployment.

Run by the e2e test `python_client`; KUBECONFIG points at the server under test.
"""

import os
import sys
import threading
import time

from kubernetes import client, config, watch


def main() -> int:
    config.load_kube_config(config_file=os.environ["KUBECONFIG"])
    core = client.CoreV1Api()
    apps = client.AppsV1Api()

    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name="py-pod", labels={"app": "py"}),
        spec=client.V1PodSpec(containers=[client.V1Container(name="app", image="busybox", command=["sleep", "3600"])]),
    )
    created = core.create_namespaced_pod("default", pod)
    assert created.metadata.uid, "created pod has a uid"
    assert created.status.phase == "Pending", created.status.phase

    pods = core.list_namespaced_pod("default", label_selector="app=py")
    names = [p.metadata.name for p in pods.items]
    assert names == ["py-pod"], names
    assert pods.metadata.resource_version, "list has a resourceVersion"

    # A watch without resourceVersion first sees the existing pods as ADDED, then changes.
    seen = []

    def label_later():
        time.sleep(1.0)
        core.patch_namespaced_pod("py-pod", "default", {"metadata": {"labels": {"touched": "yes"}}})

    threading.Thread(target=label_later, daemon=True).start()
    w = watch.Watch()
    for event in w.stream(core.list_namespaced_pod, "default", timeout_seconds=10):
        obj = event["object"]
        seen.append((event["type"], obj.metadata.name, (obj.metadata.labels or {}).get("touched")))
        if event["type"] == "MODIFIED":
            w.stop()
    assert seen[0] == ("ADDED", "py-pod", None), seen
    assert ("MODIFIED", "py-pod", "yes") in seen, seen

    deployment = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="py-deploy"),
        spec=client.V1DeploymentSpec(
            replicas=2,
            selector=client.V1LabelSelector(match_labels={"app": "py-deploy"}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": "py-deploy"}),
                spec=client.V1PodSpec(containers=[client.V1Container(name="app", image="busybox")]),
            ),
        ),
    )
    d = apps.create_namespaced_deployment("default", deployment)
    assert d.spec.replicas == 2
    assert d.spec.strategy.type == "RollingUpdate", d.spec.strategy
    assert d.spec.revision_history_limit == 10
    assert d.metadata.generation == 1
    got = apps.read_namespaced_deployment("py-deploy", "default")
    assert got.metadata.uid == d.metadata.uid

    try:
        core.read_namespaced_pod("nope", "default")
        raise AssertionError("expected 404")
    except client.exceptions.ApiException as e:
        assert e.status == 404, e.status

    core.delete_namespaced_pod("py-pod", "default")
    print("python client: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
