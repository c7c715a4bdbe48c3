//! Deployments and ReplicaSets.

use serde_json::{Value, json};

use super::{Case, check_create, check_update, def, del, set};

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "nginx-deployment", "namespace": "default", "labels": {"app": "nginx"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.14.2", "ports": [{"containerPort": 80}]}]}
            }
        }
    })
}

const MISMATCH: &str = "spec.template.metadata.labels: Invalid value: {\"app\":\"nginx\"}: `selector` does not match template `labels`";

const DEPLOYMENT_CASES: &[Case] = &[
    (
        "no selector",
        |v| del(v, "/spec/selector"),
        &["spec.selector: Required value", MISMATCH],
    ),
    (
        "selector does not match",
        |v| set(v, "/spec/selector/matchLabels/app", json!("web")),
        &[MISMATCH],
    ),
    (
        "empty selector",
        |v| set(v, "/spec/selector", json!({})),
        &["spec.selector: Invalid value: {}: empty selector is invalid for deployment"],
    ),
    (
        "invalid selector (the template is then not checked)",
        |v| {
            set(v, "/spec/selector/matchLabels/app", json!("-x"));
            set(v, "/spec/template/spec/containers/0/image", json!(""));
        },
        &[
            "spec.selector.matchLabels: Invalid value: \"-x\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
            "spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"-x\"}}: invalid label selector",
        ],
    ),
    (
        "selector expression",
        |v| {
            set(
                v,
                "/spec/selector",
                json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["nginx", "web"]}]}),
            )
        },
        &[],
    ),
    (
        "negative replicas",
        |v| set(v, "/spec/replicas", json!(-1)),
        &["spec.replicas: Invalid value: -1: must be greater than or equal to 0"],
    ),
    (
        "template restartPolicy",
        |v| set(v, "/spec/template/spec/restartPolicy", json!("Never")),
        &[
            "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"",
        ],
    ),
    (
        "template activeDeadlineSeconds",
        |v| set(v, "/spec/template/spec/activeDeadlineSeconds", json!(30)),
        &[
            "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported",
        ],
    ),
    (
        "strategy type",
        |v| set(v, "/spec/strategy", json!({"type": "BlueGreen"})),
        &[
            "spec.strategy: Unsupported value: {\"Type\":\"BlueGreen\",\"RollingUpdate\":null}: supported values: \"Recreate\", \"RollingUpdate\"",
        ],
    ),
    (
        "Recreate with rollingUpdate",
        |v| {
            set(
                v,
                "/spec/strategy",
                json!({"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}),
            )
        },
        &[
            "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'",
        ],
    ),
    (
        "maxSurge and maxUnavailable both zero",
        |v| {
            set(
                v,
                "/spec/strategy",
                json!({"rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}}),
            )
        },
        &[
            "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: \"0%\": may not be 0 when `maxSurge` is 0",
        ],
    ),
    (
        "maxUnavailable above 100%",
        |v| {
            set(
                v,
                "/spec/strategy",
                json!({"rollingUpdate": {"maxUnavailable": "150%"}}),
            )
        },
        &[
            "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: \"150%\": must not be greater than 100%",
        ],
    ),
    (
        "maxSurge not a percentage",
        |v| {
            set(
                v,
                "/spec/strategy",
                json!({"rollingUpdate": {"maxSurge": "abc"}}),
            )
        },
        &[
            "spec.strategy.rollingUpdate.maxSurge: Invalid value: \"abc\": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
        ],
    ),
    (
        "negative maxSurge",
        |v| {
            set(
                v,
                "/spec/strategy",
                json!({"rollingUpdate": {"maxSurge": -1}}),
            )
        },
        &[
            "spec.strategy.rollingUpdate.maxSurge: Invalid value: -1: must be greater than or equal to 0",
        ],
    ),
    (
        "negative minReadySeconds",
        |v| set(v, "/spec/minReadySeconds", json!(-1)),
        &["spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0"],
    ),
    (
        "progressDeadlineSeconds not above minReadySeconds",
        |v| set(v, "/spec/minReadySeconds", json!(600)),
        &["spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds"],
    ),
    (
        "negative revisionHistoryLimit",
        |v| set(v, "/spec/revisionHistoryLimit", json!(-1)),
        &["spec.revisionHistoryLimit: Invalid value: -1: must be greater than or equal to 0"],
    ),
    (
        "template container without image",
        |v| set(v, "/spec/template/spec/containers/0/image", json!("")),
        &["spec.template.spec.containers[0].image: Required value"],
    ),
    (
        "template without containers",
        |v| set(v, "/spec/template/spec/containers", json!([])),
        &["spec.template.spec.containers: Required value"],
    ),
    (
        "template label value",
        |v| set(v, "/spec/template/metadata/labels/tier", json!("-")),
        &[
            "spec.template.labels: Invalid value: \"-\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        ],
    ),
    (
        "ephemeral containers in a template",
        |v| {
            set(
                v,
                "/spec/template/spec/ephemeralContainers",
                json!([{"name": "debug", "image": "busybox"}]),
            )
        },
        &[
            "spec.template.spec.ephemeralContainers: Forbidden: ephemeral containers not allowed in pod template",
        ],
    ),
];

#[test]
fn deployment_create() {
    check_create(def("apps", "Deployment"), &deployment(), DEPLOYMENT_CASES);
}

#[test]
fn deployment_update() {
    let cases: &[Case] = &[
        ("scale", |v| set(v, "/spec/replicas", json!(5)), &[]),
        (
            "new image",
            |v| {
                set(
                    v,
                    "/spec/template/spec/containers/0/image",
                    json!("nginx:1.16.1"),
                )
            },
            &[],
        ),
        (
            "selector changed",
            |v| {
                set(v, "/spec/selector/matchLabels/tier", json!("web"));
                set(v, "/spec/template/metadata/labels/tier", json!("web"));
            },
            &[
                "spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"nginx\",\"tier\":\"web\"}}: field is immutable",
            ],
        ),
        (
            "template broken by the update",
            |v| set(v, "/spec/template/spec/containers/0/name", json!("")),
            &["spec.template.spec.containers[0].name: Required value"],
        ),
    ];
    check_update(def("apps", "Deployment"), &deployment(), cases, false);
}

#[test]
fn deployment_status_update() {
    let cases: &[Case] = &[
        (
            "controller progress",
            |v| {
                set(
                    v,
                    "/status",
                    json!({"observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 2, "availableReplicas": 2}),
                )
            },
            &[],
        ),
        (
            "more ready than replicas",
            |v| {
                set(
                    v,
                    "/status",
                    json!({"replicas": 1, "readyReplicas": 2, "availableReplicas": 2}),
                )
            },
            &[
                "status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas",
                "status.availableReplicas: Invalid value: 2: cannot be greater than status.replicas",
            ],
        ),
        (
            "negative observedGeneration",
            |v| set(v, "/status/observedGeneration", json!(-1)),
            &["status.observedGeneration: Invalid value: -1: must be greater than or equal to 0"],
        ),
    ];
    check_update(def("apps", "Deployment"), &deployment(), cases, true);
}

fn replica_set() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "frontend", "namespace": "default", "labels": {"app": "guestbook", "tier": "frontend"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"tier": "frontend"}},
            "template": {
                "metadata": {"labels": {"tier": "frontend"}},
                "spec": {"containers": [{"name": "php-redis", "image": "us-docker.pkg.dev/google-samples/containers/gke/gb-frontend:v5"}]}
            }
        }
    })
}

#[test]
fn replica_set_create_and_update() {
    let cases: &[Case] = &[
        (
            "no selector",
            |v| del(v, "/spec/selector"),
            &[
                "spec.selector: Required value",
                "spec.template.metadata.labels: Invalid value: {\"tier\":\"frontend\"}: `selector` does not match template `labels`",
            ],
        ),
        (
            "negative replicas",
            |v| set(v, "/spec/replicas", json!(-2)),
            &["spec.replicas: Invalid value: -2: must be greater than or equal to 0"],
        ),
        (
            "template restartPolicy",
            |v| set(v, "/spec/template/spec/restartPolicy", json!("OnFailure")),
            &[
                "spec.template.spec.restartPolicy: Unsupported value: \"OnFailure\": supported values: \"Always\"",
            ],
        ),
        (
            "empty selector",
            |v| set(v, "/spec/selector", json!({"matchLabels": {}})),
            &["spec.selector: Invalid value: {}: empty selector is invalid for deployment"],
        ),
    ];
    check_create(def("apps", "ReplicaSet"), &replica_set(), cases);
    let updates: &[Case] = &[
        ("scale", |v| set(v, "/spec/replicas", json!(0)), &[]),
        (
            "selector changed",
            |v| set(v, "/spec/selector/matchLabels/app", json!("guestbook")),
            &[
                "spec.template.metadata.labels: Invalid value: {\"tier\":\"frontend\"}: `selector` does not match template `labels`",
                "spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"guestbook\",\"tier\":\"frontend\"}}: field is immutable",
            ],
        ),
    ];
    check_update(def("apps", "ReplicaSet"), &replica_set(), updates, false);
    let status: &[Case] = &[(
        "available above ready",
        |v| {
            set(
                v,
                "/status",
                json!({"replicas": 3, "readyReplicas": 1, "availableReplicas": 2}),
            )
        },
        &["status.availableReplicas: Invalid value: 2: cannot be greater than readyReplicas"],
    )];
    check_update(def("apps", "ReplicaSet"), &replica_set(), status, true);
}
