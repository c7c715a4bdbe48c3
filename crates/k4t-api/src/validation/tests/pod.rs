//! Pods: creation, spec updates and status updates.

use serde_json::{Value, json};

use super::{Case, check_create, check_update, def, del, set, update_errors};

fn pod() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "containers": [{
                "name": "web",
                "image": "nginx:1.25",
                "ports": [{"name": "http", "containerPort": 80}],
                "env": [
                    {"name": "MODE", "value": "prod"},
                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
                ],
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "1", "memory": "128Mi"}},
                "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
                "livenessProbe": {"tcpSocket": {"port": 80}}
            }],
            "volumes": [
                {"name": "data", "emptyDir": {}},
                {"name": "cfg", "configMap": {"name": "web-config"}}
            ]
        }
    })
}

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

#[test]
fn subdomain_message_is_kubernetes_text() {
    assert_eq!(
        crate::validation::names::is_dns1123_subdomain("Web"),
        vec![SUBDOMAIN_MSG]
    );
}

const CREATE_CASES: &[Case] = &[
    (
        "no containers",
        |v| set(v, "/spec/containers", json!([])),
        &["spec.containers: Required value"],
    ),
    (
        "image required",
        |v| set(v, "/spec/containers/0/image", json!("")),
        &["spec.containers[0].image: Required value"],
    ),
    (
        "container name format",
        |v| set(v, "/spec/containers/0/name", json!("Web_1")),
        &[
            "spec.containers[0].name: Invalid value: \"Web_1\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
        ],
    ),
    (
        "init container reuses a container name",
        |v| {
            set(
                v,
                "/spec/initContainers",
                json!([{"name": "web", "image": "busybox"}]),
            )
        },
        &["spec.initContainers[0].name: Duplicate value: \"web\""],
    ),
    (
        "containerPort out of range",
        |v| set(v, "/spec/containers/0/ports/0/containerPort", json!(70000)),
        &[
            "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
        ],
    ),
    (
        "containerPort missing",
        |v| set(v, "/spec/containers/0/ports/0/containerPort", json!(0)),
        &["spec.containers[0].ports[0].containerPort: Required value"],
    ),
    (
        "port protocol",
        |v| set(v, "/spec/containers/0/ports/0/protocol", json!("HTTP")),
        &[
            "spec.containers[0].ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
        ],
    ),
    (
        "duplicate port name",
        |v| {
            set(
                v,
                "/spec/containers/0/ports/1",
                json!({"name": "http", "containerPort": 81}),
            )
        },
        &["spec.containers[0].ports[1].name: Duplicate value: \"http\""],
    ),
    (
        "port name format",
        |v| set(v, "/spec/containers/0/ports/0/name", json!("HTTP")),
        &[
            "spec.containers[0].ports[0].name: Invalid value: \"HTTP\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
            "spec.containers[0].ports[0].name: Invalid value: \"HTTP\": must contain at least one letter (a-z)",
        ],
    ),
    (
        "env name",
        |v| set(v, "/spec/containers/0/env/0/name", json!("A=B")),
        &[
            "spec.containers[0].env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='",
        ],
    ),
    (
        "env name required",
        |v| set(v, "/spec/containers/0/env/0/name", json!("")),
        &["spec.containers[0].env[0].name: Required value"],
    ),
    (
        "valueFrom without a source",
        |v| set(v, "/spec/containers/0/env/1/valueFrom", json!({})),
        &[
            "spec.containers[0].env[1].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
        ],
    ),
    (
        "value and valueFrom",
        |v| set(v, "/spec/containers/0/env/1/value", json!("x")),
        &[
            "spec.containers[0].env[1].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty",
        ],
    ),
    (
        "two valueFrom sources",
        |v| {
            set(
                v,
                "/spec/containers/0/env/1/valueFrom/secretKeyRef",
                json!({"name": "s", "key": "k"}),
            )
        },
        &[
            "spec.containers[0].env[1].valueFrom: Invalid value: \"\": may not have more than one field specified at a time",
        ],
    ),
    (
        "fieldRef path unknown",
        |v| {
            set(
                v,
                "/spec/containers/0/env/1/valueFrom/fieldRef/fieldPath",
                json!("spec.foo"),
            )
        },
        &[
            "spec.containers[0].env[1].valueFrom.fieldRef.fieldPath: Invalid value: \"spec.foo\": error converting fieldPath: field label not supported: spec.foo",
        ],
    ),
    (
        "fieldRef path not exposed to env",
        |v| {
            set(
                v,
                "/spec/containers/0/env/1/valueFrom/fieldRef/fieldPath",
                json!("status.phase"),
            )
        },
        &[
            "spec.containers[0].env[1].valueFrom.fieldRef.fieldPath: Unsupported value: \"status.phase\": supported values: \"metadata.name\", \"metadata.namespace\", \"metadata.uid\", \"spec.nodeName\", \"spec.serviceAccountName\", \"status.hostIP\", \"status.hostIPs\", \"status.podIP\", \"status.podIPs\"",
        ],
    ),
    (
        "fieldRef label subscript",
        |v| {
            set(
                v,
                "/spec/containers/0/env/1/valueFrom/fieldRef/fieldPath",
                json!("metadata.labels['bad key']"),
            )
        },
        &[
            "spec.containers[0].env[1].valueFrom.fieldRef: Invalid value: \"bad key\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        ],
    ),
    (
        "configMapKeyRef without key",
        |v| {
            set(
                v,
                "/spec/containers/0/env/1/valueFrom",
                json!({"configMapKeyRef": {"name": "cfg"}}),
            )
        },
        &["spec.containers[0].env[1].valueFrom.configMapKeyRef.key: Required value"],
    ),
    (
        "envFrom without a source",
        |v| set(v, "/spec/containers/0/envFrom", json!([{"prefix": "X_"}])),
        &[
            "spec.containers[0].envFrom: Invalid value: \"\": must specify one of: `configMapRef` or `secretRef`",
        ],
    ),
    (
        "envFrom configMapRef without name",
        |v| {
            set(
                v,
                "/spec/containers/0/envFrom",
                json!([{"configMapRef": {}}]),
            )
        },
        &["spec.containers[0].envFrom[0].configMapRef.name: Required value"],
    ),
    (
        "mount of an unknown volume",
        |v| set(v, "/spec/containers/0/volumeMounts/0/name", json!("nope")),
        &["spec.containers[0].volumeMounts[0].name: Not found: \"nope\""],
    ),
    (
        "duplicate mount path",
        |v| {
            set(
                v,
                "/spec/containers/0/volumeMounts/1",
                json!({"name": "cfg", "mountPath": "/data"}),
            )
        },
        &["spec.containers[0].volumeMounts[1].mountPath: Invalid value: \"/data\": must be unique"],
    ),
    (
        "mount path required",
        |v| set(v, "/spec/containers/0/volumeMounts/0/mountPath", json!("")),
        &["spec.containers[0].volumeMounts[0].mountPath: Required value"],
    ),
    (
        "two volume sources (the volume is then unknown to mounts)",
        |v| set(v, "/spec/volumes/0/hostPath", json!({"path": "/tmp"})),
        &[
            "spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type",
            "spec.containers[0].volumeMounts[0].name: Not found: \"data\"",
        ],
    ),
    (
        "duplicate volume name",
        |v| set(v, "/spec/volumes/1/name", json!("data")),
        &["spec.volumes[1].name: Duplicate value: \"data\""],
    ),
    (
        "volume name format",
        |v| set(v, "/spec/volumes/1/name", json!("Cfg")),
        &[
            "spec.volumes[1].name: Invalid value: \"Cfg\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
        ],
    ),
    (
        "configMap volume without name",
        |v| set(v, "/spec/volumes/1/configMap/name", json!("")),
        &["spec.volumes[1].configMap.name: Required value"],
    ),
    (
        "file mode",
        |v| set(v, "/spec/volumes/1/configMap/defaultMode", json!(512)),
        &[
            "spec.volumes[1].configMap.defaultMode: Invalid value: 512: must be a number between 0 and 0777 (octal), both inclusive",
        ],
    ),
    (
        "item path escapes the volume",
        |v| {
            set(
                v,
                "/spec/volumes/1/configMap/items",
                json!([{"key": "k", "path": "../x"}]),
            )
        },
        &[
            "spec.volumes[1].configMap.items[0].path: Invalid value: \"../x\": must not contain '..'",
        ],
    ),
    (
        "hostPath type",
        |v| {
            set(
                v,
                "/spec/volumes/0",
                json!({"name": "data", "hostPath": {"path": "/srv", "type": "Dir"}}),
            )
        },
        &[
            "spec.volumes[0].hostPath.type: Unsupported value: \"Dir\": supported values: \"\", \"BlockDevice\", \"CharDevice\", \"Directory\", \"DirectoryOrCreate\", \"File\", \"FileOrCreate\", \"Socket\"",
            "spec.containers[0].volumeMounts[0].name: Not found: \"data\"",
        ],
    ),
    (
        "requests above limits",
        |v| set(v, "/spec/containers/0/resources/requests/cpu", json!("2")),
        &[
            "spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 1",
        ],
    ),
    (
        "negative limit (requests default to it)",
        |v| {
            set(
                v,
                "/spec/containers/0/resources/limits/memory",
                json!("-1Mi"),
            )
        },
        &[
            "spec.containers[0].resources.limits[memory]: Invalid value: \"-1Mi\": must be greater than or equal to 0",
            "spec.containers[0].resources.requests[memory]: Invalid value: \"-1Mi\": must be greater than or equal to 0",
        ],
    ),
    (
        "unknown resource name",
        |v| set(v, "/spec/containers/0/resources/limits/gpu", json!("1")),
        &[
            "spec.containers[0].resources.limits[gpu]: Invalid value: \"gpu\": must be a standard resource type or fully qualified",
            "spec.containers[0].resources.limits[gpu]: Invalid value: \"gpu\": must be a standard resource for containers",
            "spec.containers[0].resources.requests[gpu]: Invalid value: \"gpu\": must be a standard resource type or fully qualified",
            "spec.containers[0].resources.requests[gpu]: Invalid value: \"gpu\": must be a standard resource for containers",
        ],
    ),
    (
        "extended resource requests must equal limits",
        |v| {
            set(
                v,
                "/spec/containers/0/resources/limits/example.com~1gpu",
                json!("2"),
            );
            set(
                v,
                "/spec/containers/0/resources/requests/example.com~1gpu",
                json!("1"),
            );
        },
        &[
            "spec.containers[0].resources.requests: Invalid value: \"1\": must be equal to example.com/gpu limit of 2",
        ],
    ),
    (
        "liveness successThreshold",
        |v| {
            set(
                v,
                "/spec/containers/0/livenessProbe/successThreshold",
                json!(2),
            )
        },
        &["spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"],
    ),
    (
        "probe without handler",
        |v| {
            set(
                v,
                "/spec/containers/0/readinessProbe",
                json!({"periodSeconds": 5}),
            )
        },
        &["spec.containers[0].readinessProbe: Required value: must specify a handler type"],
    ),
    (
        "probe with two handlers",
        |v| {
            set(
                v,
                "/spec/containers/0/livenessProbe/exec",
                json!({"command": ["true"]}),
            )
        },
        &[
            "spec.containers[0].livenessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type",
        ],
    ),
    (
        "exec without command",
        |v| set(v, "/spec/containers/0/livenessProbe", json!({"exec": {}})),
        &["spec.containers[0].livenessProbe.exec.command: Required value"],
    ),
    (
        "readiness terminationGracePeriodSeconds",
        |v| {
            set(
                v,
                "/spec/containers/0/readinessProbe/terminationGracePeriodSeconds",
                json!(10),
            )
        },
        &[
            "spec.containers[0].readinessProbe.terminationGracePeriodSeconds: Invalid value: 10: must not be set for readinessProbes",
        ],
    ),
    (
        "liveness terminationGracePeriodSeconds zero",
        |v| {
            set(
                v,
                "/spec/containers/0/livenessProbe/terminationGracePeriodSeconds",
                json!(0),
            )
        },
        &[
            "spec.containers[0].livenessProbe.terminationGracePeriodSeconds: Invalid value: 0: must be greater than 0",
        ],
    ),
    (
        "negative period",
        |v| {
            set(
                v,
                "/spec/containers/0/readinessProbe/periodSeconds",
                json!(-1),
            )
        },
        &[
            "spec.containers[0].readinessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 0",
        ],
    ),
    (
        "probe port name",
        |v| {
            set(
                v,
                "/spec/containers/0/readinessProbe/httpGet/port",
                json!("web_port"),
            )
        },
        &[
            "spec.containers[0].readinessProbe.httpGet.port: Invalid value: \"web_port\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
        ],
    ),
    (
        "probe port number",
        |v| {
            set(
                v,
                "/spec/containers/0/livenessProbe/tcpSocket/port",
                json!(0),
            )
        },
        &[
            "spec.containers[0].livenessProbe.tcpSocket.port: Invalid value: 0: must be between 1 and 65535, inclusive",
        ],
    ),
    (
        "httpGet scheme",
        |v| {
            set(
                v,
                "/spec/containers/0/readinessProbe/httpGet/scheme",
                json!("FTP"),
            )
        },
        &[
            "spec.containers[0].readinessProbe.httpGet.scheme: Unsupported value: \"FTP\": supported values: \"HTTP\", \"HTTPS\"",
        ],
    ),
    (
        "grpc probe port",
        |v| {
            set(
                v,
                "/spec/containers/0/livenessProbe",
                json!({"grpc": {"port": 70000}}),
            )
        },
        &[
            "spec.containers[0].livenessProbe.grpc.port: Invalid value: 70000: must be between 1 and 65535, inclusive",
        ],
    ),
    (
        "probe on a regular init container",
        |v| {
            set(
                v,
                "/spec/initContainers",
                json!([{"name": "init", "image": "busybox", "livenessProbe": {"exec": {"command": ["true"]}}}]),
            )
        },
        &[
            "spec.initContainers[0].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always",
        ],
    ),
    (
        "lifecycle on a regular init container",
        |v| {
            set(
                v,
                "/spec/initContainers",
                json!([{"name": "init", "image": "busybox", "lifecycle": {"postStart": {"exec": {"command": ["true"]}}}}]),
            )
        },
        &[
            "spec.initContainers[0].lifecycle: Forbidden: may not be set for init containers without restartPolicy=Always",
        ],
    ),
    (
        "sidecar probes are checked like regular ones",
        |v| {
            set(
                v,
                "/spec/initContainers",
                json!([{"name": "side", "image": "busybox", "restartPolicy": "Always", "startupProbe": {"exec": {"command": ["true"]}, "successThreshold": 3}}]),
            )
        },
        &["spec.initContainers[0].startupProbe.successThreshold: Invalid value: 3: must be 1"],
    ),
    (
        "init container restartPolicy",
        |v| {
            set(
                v,
                "/spec/initContainers",
                json!([{"name": "init", "image": "busybox", "restartPolicy": "OnFailure"}]),
            )
        },
        &[
            "spec.initContainers[0].restartPolicy: Unsupported value: \"OnFailure\": supported values: \"Always\"",
        ],
    ),
    (
        "regular container restartPolicy",
        |v| set(v, "/spec/containers/0/restartPolicy", json!("Always")),
        &["spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers"],
    ),
    (
        "restartPolicy",
        |v| set(v, "/spec/restartPolicy", json!("Sometimes")),
        &[
            "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
        ],
    ),
    (
        "dnsPolicy",
        |v| set(v, "/spec/dnsPolicy", json!("Foo")),
        &[
            "spec.dnsPolicy: Unsupported value: \"Foo\": supported values: \"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\"",
        ],
    ),
    (
        "dnsPolicy None without dnsConfig",
        |v| set(v, "/spec/dnsPolicy", json!("None")),
        &["spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"],
    ),
    (
        "imagePullPolicy",
        |v| set(v, "/spec/containers/0/imagePullPolicy", json!("Sometimes")),
        &[
            "spec.containers[0].imagePullPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\"",
        ],
    ),
    (
        "terminationMessagePolicy",
        |v| {
            set(
                v,
                "/spec/containers/0/terminationMessagePolicy",
                json!("Never"),
            )
        },
        &[
            "spec.containers[0].terminationMessagePolicy: Unsupported value: \"Never\": supported values: \"File\", \"FallbackToLogsOnError\"",
        ],
    ),
    (
        "activeDeadlineSeconds",
        |v| set(v, "/spec/activeDeadlineSeconds", json!(0)),
        &[
            "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive",
        ],
    ),
    (
        "nodeSelector value",
        |v| set(v, "/spec/nodeSelector", json!({"disk": "-ssd"})),
        &[
            "spec.nodeSelector: Invalid value: \"-ssd\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        ],
    ),
    (
        "toleration without key needs Exists",
        |v| {
            set(
                v,
                "/spec/tolerations",
                json!([{"operator": "Equal", "value": "x"}]),
            )
        },
        &[
            "spec.tolerations[0].operator: Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
        ],
    ),
    (
        "tolerationSeconds needs NoExecute",
        |v| {
            set(
                v,
                "/spec/tolerations",
                json!([{"key": "k", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 5}]),
            )
        },
        &[
            "spec.tolerations[0].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set",
        ],
    ),
    (
        "toleration effect",
        |v| {
            set(
                v,
                "/spec/tolerations",
                json!([{"key": "k", "operator": "Exists", "effect": "Never"}]),
            )
        },
        &[
            "spec.tolerations[0].effect: Unsupported value: \"Never\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
        ],
    ),
    (
        "toleration operator",
        |v| {
            set(
                v,
                "/spec/tolerations",
                json!([{"key": "k", "operator": "In"}]),
            )
        },
        &[
            "spec.tolerations[0].operator: Unsupported value: \"In\": supported values: \"Equal\", \"Exists\"",
        ],
    ),
    (
        "readiness gate",
        |v| {
            set(
                v,
                "/spec/readinessGates",
                json!([{"conditionType": "bad type"}]),
            )
        },
        &[
            "spec.readinessGates[0].conditionType: Invalid value: \"bad type\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        ],
    ),
    (
        "preStop sleep beyond the grace period",
        |v| {
            set(
                v,
                "/spec/containers/0/lifecycle",
                json!({"preStop": {"sleep": {"seconds": 40}}}),
            )
        },
        &[
            "spec.containers[0].lifecycle.preStop.sleep: Invalid value: 40: must be non-negative and less than terminationGracePeriodSeconds (30)",
        ],
    ),
    (
        "hostNetwork hostPort must match",
        |v| {
            set(v, "/spec/hostNetwork", json!(true));
            set(v, "/spec/containers/0/ports/0/hostPort", json!(8081));
        },
        &[
            "spec.containers[0].ports[0].hostPort: Invalid value: 8081: must match `containerPort` when `hostNetwork` is true",
        ],
    ),
    (
        "host port used twice",
        |v| {
            set(v, "/spec/containers/0/ports/0/hostPort", json!(8080));
            set(
                v,
                "/spec/containers/1",
                json!({"name": "side", "image": "busybox", "ports": [{"containerPort": 9000, "hostPort": 8080}]}),
            );
        },
        &["spec.containers[1].ports[0].hostPort: Duplicate value: \"TCP//8080\""],
    ),
    (
        "ephemeral containers on create",
        |v| {
            set(
                v,
                "/spec/ephemeralContainers",
                json!([{"name": "debug", "image": "busybox"}]),
            )
        },
        &["spec.ephemeralContainers: Forbidden: cannot be set on create"],
    ),
    (
        "padded image",
        |v| set(v, "/spec/containers/0/image", json!(" nginx")),
        &[
            "spec.containers[0].image: Invalid value: \" nginx\": must not have leading or trailing whitespace",
        ],
    ),
    (
        "serviceAccountName",
        |v| set(v, "/spec/serviceAccountName", json!("Bad_SA")),
        &[
            "spec.serviceAccountName: Invalid value: \"Bad_SA\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        ],
    ),
    (
        "hostname",
        |v| set(v, "/spec/hostname", json!("a.b")),
        &["spec.hostname: Invalid value: \"a.b\": must not contain dots"],
    ),
    (
        "node affinity operator",
        |v| {
            set(
                v,
                "/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms",
                json!([{"matchExpressions": [{"key": "zone", "operator": "Equals", "values": ["a"]}]}]),
            )
        },
        &[
            "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator: Invalid value: \"Equals\": not a valid selector operator",
        ],
    ),
    (
        "pod anti-affinity topology key",
        |v| {
            set(
                v,
                "/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution",
                json!([{"labelSelector": {"matchLabels": {"app": "web"}}}]),
            )
        },
        &[
            "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Required value: can not be empty",
            "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Invalid value: \"\": name part must be non-empty",
            "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Invalid value: \"\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        ],
    ),
    (
        "topology spread constraint",
        |v| {
            set(
                v,
                "/spec/topologySpreadConstraints",
                json!([{"maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "Maybe"}]),
            )
        },
        &[
            "spec.topologySpreadConstraints[0].maxSkew: Invalid value: 0: must be greater than zero",
            "spec.topologySpreadConstraints[0].whenUnsatisfiable: Unsupported value: \"Maybe\": supported values: \"DoNotSchedule\", \"ScheduleAnyway\"",
        ],
    ),
    (
        "missing name",
        |v| del(v, "/metadata/name"),
        &["metadata.name: Required value: name or generateName is required"],
    ),
    (
        "generateName instead of a name is checked with the generated name",
        |v| {
            del(v, "/metadata/name");
            set(v, "/metadata/generateName", json!("web-"));
        },
        &["metadata.name: Required value: name or generateName is required"],
    ),
    (
        "name format",
        |v| set(v, "/metadata/name", json!("Web")),
        &[
            "metadata.name: Invalid value: \"Web\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        ],
    ),
    (
        "missing namespace",
        |v| del(v, "/metadata/namespace"),
        &["metadata.namespace: Required value"],
    ),
    (
        "label key",
        |v| set(v, "/metadata/labels", json!({"bad key": "x"})),
        &[
            "metadata.labels: Invalid value: \"bad key\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        ],
    ),
    (
        "label value too long",
        |v| set(v, "/metadata/labels/app", json!("x".repeat(64))),
        &[
            "metadata.labels: Invalid value: \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\": must be no more than 63 bytes",
        ],
    ),
    (
        "annotation key with two slashes",
        |v| set(v, "/metadata/annotations", json!({"a/b/c": "x"})),
        &[
            "metadata.annotations: Invalid value: \"a/b/c\": a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
        ],
    ),
    (
        "deletion cost annotation",
        |v| {
            set(
                v,
                "/metadata/annotations",
                json!({"controller.kubernetes.io/pod-deletion-cost": "abc"}),
            )
        },
        &[
            "metadata.annotations[controller.kubernetes.io/pod-deletion-cost]: Invalid value: \"abc\": must be a 32bit integer",
        ],
    ),
    (
        "owner reference without uid",
        |v| {
            set(
                v,
                "/metadata/ownerReferences",
                json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": ""}]),
            )
        },
        &["metadata.ownerReferences.uid: Invalid value: \"\": must not be empty"],
    ),
];

#[test]
fn pod_create() {
    check_create(def("", "Pod"), &pod(), CREATE_CASES);
}

const UPDATE_CASES: &[Case] = &[
    (
        "image change",
        |v| set(v, "/spec/containers/0/image", json!("nginx:1.26")),
        &[],
    ),
    (
        "labels change",
        |v| set(v, "/metadata/labels/tier", json!("front")),
        &[],
    ),
    (
        "activeDeadlineSeconds set",
        |v| set(v, "/spec/activeDeadlineSeconds", json!(60)),
        &[],
    ),
    (
        "toleration added",
        |v| {
            set(
                v,
                "/spec/tolerations/2",
                json!({"key": "gpu", "operator": "Exists"}),
            )
        },
        &[],
    ),
    (
        "container added",
        |v| {
            set(
                v,
                "/spec/containers/1",
                json!({"name": "side", "image": "busybox"}),
            )
        },
        &["spec.containers: Forbidden: pod updates may not add or remove containers"],
    ),
    (
        "port changed",
        |v| set(v, "/spec/containers/0/ports/0/containerPort", json!(8080)),
        &[
            "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n  core.PodSpec{\n- \tContainers[0].Ports[0].ContainerPort: 80,\n+ \tContainers[0].Ports[0].ContainerPort: 8080,\n  }\n",
        ],
    ),
    (
        "name changed",
        |v| set(v, "/metadata/name", json!("web2")),
        &["metadata.name: Invalid value: \"web2\": field is immutable"],
    ),
    (
        "uid changed",
        |v| set(v, "/metadata/uid", json!("other")),
        &["metadata.uid: Invalid value: \"other\": field is immutable"],
    ),
    (
        "negative activeDeadlineSeconds",
        |v| set(v, "/spec/activeDeadlineSeconds", json!(-5)),
        &[
            "spec.activeDeadlineSeconds: Invalid value: -5: must be between 1 and 2147483647, inclusive",
            "spec.activeDeadlineSeconds: Invalid value: -5: must be between 0 and 2147483647, inclusive",
        ],
    ),
    (
        "existing toleration changed",
        |v| set(v, "/spec/tolerations/1/operator", json!("Equal")),
        &[
            "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds",
        ],
    ),
    (
        "no resourceVersion",
        |v| del(v, "/metadata/resourceVersion"),
        &["metadata.resourceVersion: Invalid value: \"\": must be specified for an update"],
    ),
];

#[test]
fn pod_update() {
    check_update(def("", "Pod"), &pod(), UPDATE_CASES, false);
}

#[test]
fn pod_update_deadline_may_only_shrink() {
    let mut base = pod();
    set(&mut base, "/spec/activeDeadlineSeconds", json!(60));
    let cases: &[Case] = &[
        (
            "shorter",
            |v| set(v, "/spec/activeDeadlineSeconds", json!(30)),
            &[],
        ),
        (
            "longer",
            |v| set(v, "/spec/activeDeadlineSeconds", json!(90)),
            &[
                "spec.activeDeadlineSeconds: Invalid value: 90: must be less than or equal to previous value",
            ],
        ),
        (
            "removed",
            |v| del(v, "/spec/activeDeadlineSeconds"),
            &[
                "spec.activeDeadlineSeconds: Invalid value: null: must not update from a positive integer to nil value",
            ],
        ),
    ];
    check_update(def("", "Pod"), &base, cases, false);
}

const STATUS_CASES: &[Case] = &[
    (
        "kubelet reports a running pod",
        |v| {
            set(v, "/status/phase", json!("Running"));
            set(v, "/status/podIP", json!("10.244.0.7"));
            set(v, "/status/hostIP", json!("192.168.1.10"));
            set(
                v,
                "/status/conditions",
                json!([{"type": "Ready", "status": "True"}, {"type": "ContainersReady", "status": "True"}]),
            );
        },
        &[],
    ),
    (
        "node changed through status",
        |v| set(v, "/spec/nodeName", json!("node-2")),
        &["status.nodeName: Forbidden: may not be changed directly"],
    ),
    (
        "custom condition type",
        |v| {
            set(
                v,
                "/status/conditions",
                json!([{"type": "bad type", "status": "True"}]),
            )
        },
        &[
            "metadata.conditions[0].Type: Invalid value: \"bad type\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        ],
    ),
    (
        "pod IP",
        |v| set(v, "/status/podIP", json!("10.244.0.256")),
        &[
            "status.podIPs[0]: Invalid value: \"10.244.0.256\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        ],
    ),
    (
        "two IPv4 pod IPs",
        |v| {
            set(
                v,
                "/status/podIPs",
                json!([{"ip": "10.244.0.7"}, {"ip": "10.244.0.8"}]),
            )
        },
        &[
            "status.podIPs: Invalid value: [{\"IP\":\"10.244.0.7\"},{\"IP\":\"10.244.0.8\"}]: may specify no more than one IP for each IP family",
        ],
    ),
    (
        "dual-stack pod IPs",
        |v| {
            set(
                v,
                "/status/podIPs",
                json!([{"ip": "10.244.0.7"}, {"ip": "fd00::7"}]),
            )
        },
        &[],
    ),
    (
        "QoS class changed",
        |v| set(v, "/status/qosClass", json!("Guaranteed")),
        &["status.qosClass: Invalid value: \"Guaranteed\": field is immutable"],
    ),
];

#[test]
fn pod_status_update() {
    check_update(def("", "Pod"), &pod(), STATUS_CASES, true);
}

#[test]
fn terminated_containers_stay_terminated_unless_restarted() {
    let mut base = pod();
    set(&mut base, "/spec/restartPolicy", json!("Never"));
    set(
        &mut base,
        "/status/containerStatuses",
        json!([{"name": "web", "image": "nginx:1.25", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": 1}}}]),
    );
    let cases: &[Case] = &[(
        "terminated to running",
        |v| {
            set(
                v,
                "/status/containerStatuses/0/state",
                json!({"running": {}}),
            )
        },
        &[
            "status.containerStatuses[0].state: Forbidden: may not be transitioned to non-terminated state",
        ],
    )];
    check_update(def("", "Pod"), &base, cases, true);
    let got = update_errors(
        def("", "Pod"),
        &base,
        |v| set(v, "/spec/restartPolicy", json!("Never")),
        true,
    );
    assert!(got.is_empty(), "{got:?}");
}
