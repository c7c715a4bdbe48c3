//! Namespaces, Nodes, ConfigMaps, Secrets and ServiceAccounts.

use serde_json::json;

use super::{Case, check_create, check_update, def, set};

const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

#[test]
fn namespace() {
    let base = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}});
    assert!(LABEL_MSG.starts_with("a lowercase RFC 1123 label"));
    let cases: &[Case] = &[
        (
            "name format",
            |v| set(v, "/metadata/name", json!("Team")),
            &[
                "metadata.name: Invalid value: \"Team\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
            ],
        ),
        (
            "dots in the name",
            |v| set(v, "/metadata/name", json!("team.a")),
            &["metadata.name: Invalid value: \"team.a\": must not contain dots"],
        ),
        (
            "namespace of a namespace",
            |v| set(v, "/metadata/namespace", json!("default")),
            &["metadata.namespace: Forbidden: not allowed on this type"],
        ),
        (
            "unqualified finalizer",
            |v| set(v, "/spec/finalizers", json!(["custom"])),
            &[
                "spec.finalizers: Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified",
            ],
        ),
        (
            "qualified finalizer",
            |v| set(v, "/spec/finalizers", json!(["example.com/cleanup"])),
            &[],
        ),
    ];
    check_create(def("", "Namespace"), &base, cases);
    let status: &[Case] = &[
        (
            "terminating without deletion",
            |v| set(v, "/status/phase", json!("Terminating")),
            &[
                "status.Phase: Invalid value: \"Terminating\": may only be 'Active' if `deletionTimestamp` is empty",
            ],
        ),
        ("active", |v| set(v, "/status/phase", json!("Active")), &[]),
    ];
    check_update(def("", "Namespace"), &base, status, true);
    let updates: &[Case] = &[
        (
            "label added",
            |v| set(v, "/metadata/labels/team", json!("a")),
            &[],
        ),
        (
            "renamed",
            |v| set(v, "/metadata/name", json!("team-b")),
            &["metadata.name: Invalid value: \"team-b\": field is immutable"],
        ),
    ];
    check_update(def("", "Namespace"), &base, updates, false);
}

#[test]
fn node() {
    let base = json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "node-1", "labels": {"kubernetes.io/hostname": "node-1"}},
        "spec": {"taints": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]},
        "status": {"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}}
    });
    let cases: &[Case] = &[
        (
            "taint effect",
            |v| set(v, "/spec/taints/0/effect", json!("Sometimes")),
            &[
                "metadata.taints[0].effect: Unsupported value: \"Sometimes\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
            ],
        ),
        (
            "taint without effect",
            |v| set(v, "/spec/taints/0/effect", json!("")),
            &["metadata.taints[0].effect: Required value"],
        ),
        (
            "duplicate taint",
            |v| {
                set(
                    v,
                    "/spec/taints/1",
                    json!({"key": "dedicated", "value": "db", "effect": "NoSchedule"}),
                )
            },
            &[
                "metadata.taints[1]: Duplicate value: {\"Key\":\"dedicated\",\"Value\":\"db\",\"Effect\":\"NoSchedule\",\"TimeAdded\":null}: taints must be unique by key and effect pair",
            ],
        ),
        (
            "taint value",
            |v| set(v, "/spec/taints/0/value", json!("db only")),
            &[
                "metadata.taints[0].value: Invalid value: \"db only\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
            ],
        ),
        (
            "negative capacity (allocatable defaults to it)",
            |v| set(v, "/status/capacity/cpu", json!("-1")),
            &[
                "status.capacity.cpu: Invalid value: \"-1\": must be greater than or equal to 0",
                "status.allocatable.cpu: Invalid value: \"-1\": must be greater than or equal to 0",
            ],
        ),
        (
            "fractional pods",
            |v| set(v, "/status/capacity/pods", json!("1.5")),
            &[
                "status.capacity.pods: Invalid value: \"1500m\": must be an integer",
                "status.allocatable.pods: Invalid value: \"1500m\": must be an integer",
            ],
        ),
        (
            "namespace on a node",
            |v| set(v, "/metadata/namespace", json!("default")),
            &["metadata.namespace: Forbidden: not allowed on this type"],
        ),
    ];
    check_create(def("", "Node"), &base, cases);
    let mut stored = base.clone();
    set(&mut stored, "/spec/podCIDR", json!("10.244.1.0/24"));
    set(&mut stored, "/spec/providerID", json!("k4t://node-1"));
    let updates: &[Case] = &[
        (
            "cordon",
            |v| set(v, "/spec/unschedulable", json!(true)),
            &[],
        ),
        (
            "podCIDR changed",
            |v| {
                set(v, "/spec/podCIDR", json!("10.244.2.0/24"));
                set(v, "/spec/podCIDRs", json!(["10.244.2.0/24"]));
            },
            &[
                "spec.podCIDRs: Forbidden: node updates may not change podCIDR except from \"\" to valid",
            ],
        ),
        (
            "providerID changed",
            |v| set(v, "/spec/providerID", json!("k4t://node-2")),
            &[
                "spec.providerID: Forbidden: node updates may not change providerID except from \"\" to valid",
            ],
        ),
    ];
    check_update(def("", "Node"), &stored, updates, false);
    let status: &[Case] = &[(
        "heartbeat",
        |v| {
            set(
                v,
                "/status/conditions",
                json!([{"type": "Ready", "status": "True"}]),
            )
        },
        &[],
    )];
    check_update(def("", "Node"), &stored, status, true);
}

#[test]
fn config_map() {
    let base = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "game-demo", "namespace": "default"},
        "data": {"player_initial_lives": "3", "game.properties": "enemy.types=aliens"}
    });
    let cases: &[Case] = &[
        (
            "key format",
            |v| set(v, "/data/a b", json!("x")),
            &[
                "data[a b]: Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
            ],
        ),
        (
            "key in data and binaryData",
            |v| set(v, "/binaryData", json!({"player_initial_lives": "Mw=="})),
            &[
                "data[player_initial_lives]: Invalid value: \"player_initial_lives\": duplicate of key present in binaryData",
            ],
        ),
        (
            "too large",
            |v| set(v, "/data/big", json!("x".repeat(1024 * 1024))),
            &[": Too long: may not be more than 1048576 bytes"],
        ),
        (
            "dot-dot key",
            |v| set(v, "/data/..x", json!("x")),
            &["data[..x]: Invalid value: \"..x\": must not start with '..'"],
        ),
    ];
    check_create(def("", "ConfigMap"), &base, cases);
    let mut frozen = base.clone();
    set(&mut frozen, "/immutable", json!(true));
    let updates: &[Case] = &[
        (
            "data of an immutable ConfigMap",
            |v| set(v, "/data/player_initial_lives", json!("5")),
            &["data: Forbidden: field is immutable when `immutable` is set"],
        ),
        (
            "immutable unset",
            |v| set(v, "/immutable", json!(false)),
            &["immutable: Forbidden: field is immutable when `immutable` is set"],
        ),
        (
            "labels of an immutable ConfigMap",
            |v| set(v, "/metadata/labels/x", json!("y")),
            &[],
        ),
    ];
    check_update(def("", "ConfigMap"), &frozen, updates, false);
}

#[test]
fn secret() {
    let base = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db-pass", "namespace": "default"},
        "data": {"password": "cGFzcw=="}
    });
    let cases: &[Case] = &[
        (
            "TLS secret without its keys",
            |v| set(v, "/type", json!("kubernetes.io/tls")),
            &[
                "data[tls.crt]: Required value",
                "data[tls.key]: Required value",
            ],
        ),
        (
            "TLS secret from stringData",
            |v| {
                set(v, "/type", json!("kubernetes.io/tls"));
                set(v, "/stringData", json!({"tls.crt": "c", "tls.key": "k"}));
            },
            &[],
        ),
        (
            "basic auth without username and password",
            |v| {
                set(v, "/type", json!("kubernetes.io/basic-auth"));
                set(v, "/data", json!({"token": "eA=="}));
            },
            &[
                "data[username]: Required value",
                "data[password]: Required value",
            ],
        ),
        (
            "service account token without the account",
            |v| set(v, "/type", json!("kubernetes.io/service-account-token")),
            &["metadata.annotations[kubernetes.io/service-account.name]: Required value"],
        ),
        (
            "key format",
            |v| set(v, "/data/a b", json!("eA==")),
            &[
                "data[a b]: Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
            ],
        ),
        (
            "too large",
            |v| set(v, "/stringData", json!({"big": "x".repeat(1024 * 1024)})),
            &["data: Too long: may not be more than 1048576 bytes"],
        ),
    ];
    check_create(def("", "Secret"), &base, cases);
    let updates: &[Case] = &[
        ("new data", |v| set(v, "/data/password", json!("bmV3")), &[]),
        (
            "type changed",
            |v| set(v, "/type", json!("kubernetes.io/tls")),
            &[
                "type: Invalid value: \"kubernetes.io/tls\": field is immutable",
                "data[tls.crt]: Required value",
                "data[tls.key]: Required value",
            ],
        ),
    ];
    check_update(def("", "Secret"), &base, updates, false);
    let mut frozen = base.clone();
    set(&mut frozen, "/immutable", json!(true));
    let frozen_updates: &[Case] = &[(
        "data of an immutable Secret",
        |v| set(v, "/data/password", json!("bmV3")),
        &["data: Forbidden: field is immutable when `immutable` is set"],
    )];
    check_update(def("", "Secret"), &frozen, frozen_updates, false);
}

#[test]
fn service_account() {
    let base = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "build-robot", "namespace": "default"}});
    let cases: &[Case] = &[(
        "name format",
        |v| set(v, "/metadata/name", json!("build_robot")),
        &[
            "metadata.name: Invalid value: \"build_robot\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        ],
    )];
    check_create(def("", "ServiceAccount"), &base, cases);
}
