//! Endpoints, EndpointSlices, Leases, Events and PodPresets.

use serde_json::json;

use super::{Case, check_create, check_update, def, del, set};

#[test]
fn endpoints() {
    let base = json!({
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "my-service", "namespace": "default"},
        "subsets": [{"addresses": [{"ip": "10.244.1.5"}], "ports": [{"port": 9376}]}]
    });
    let cases: &[Case] = &[
        (
            "subset without addresses",
            |v| del(v, "/subsets/0/addresses"),
            &["subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`"],
        ),
        (
            "address not an IP",
            |v| set(v, "/subsets/0/addresses/0/ip", json!("10.244.1")),
            &[
                "subsets[0].addresses[0].ip: Invalid value: \"10.244.1\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                "subsets[0].addresses[0].ip: Invalid value: \"10.244.1\": must be a valid IP address",
            ],
        ),
        (
            "loopback address",
            |v| set(v, "/subsets/0/addresses/0/ip", json!("127.0.0.1")),
            &[
                "subsets[0].addresses[0].ip: Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)",
            ],
        ),
        (
            "two ports without names",
            |v| set(v, "/subsets/0/ports/1", json!({"port": 9377})),
            &[
                "subsets[0].ports[0].name: Required value",
                "subsets[0].ports[1].name: Required value",
            ],
        ),
        (
            "port protocol",
            |v| set(v, "/subsets/0/ports/0/protocol", json!("ICMP")),
            &[
                "subsets[0].ports[0].protocol: Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
            ],
        ),
    ];
    check_create(def("", "Endpoints"), &base, cases);
}

#[test]
fn endpoint_slice() {
    let base = json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "example-abc", "namespace": "default", "labels": {"kubernetes.io/service-name": "example"}},
        "addressType": "IPv4",
        "ports": [{"name": "http", "protocol": "TCP", "port": 80}],
        "endpoints": [{"addresses": ["10.1.2.3"], "conditions": {"ready": true}, "hostname": "pod-1", "nodeName": "node-1", "zone": "us-west2-a"}]
    });
    let cases: &[Case] = &[
        (
            "address type",
            |v| set(v, "/addressType", json!("IPv5")),
            &[
                "addressType: Unsupported value: \"IPv5\": supported values: \"FQDN\", \"IPv4\", \"IPv6\"",
            ],
        ),
        (
            "endpoint without addresses",
            |v| set(v, "/endpoints/0/addresses", json!([])),
            &["endpoints[0].addresses: Required value: must contain at least 1 address"],
        ),
        (
            "IPv6 address in an IPv4 slice",
            |v| set(v, "/endpoints/0/addresses/0", json!("fd00::1")),
            &[
                "endpoints[0].addresses[0]: Invalid value: \"fd00::1\": must be a valid IPv4 address",
            ],
        ),
        (
            "hostname",
            |v| set(v, "/endpoints/0/hostname", json!("Pod_1")),
            &[
                "endpoints[0].hostname: Invalid value: \"Pod_1\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
            ],
        ),
        (
            "port protocol",
            |v| set(v, "/ports/0/protocol", json!("HTTP")),
            &[
                "ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
            ],
        ),
        (
            "duplicate port names",
            |v| set(v, "/ports/1", json!({"name": "http", "port": 81})),
            &["ports[1].name: Duplicate value: \"http\""],
        ),
        (
            "FQDN addresses",
            |v| {
                set(v, "/addressType", json!("FQDN"));
                set(v, "/endpoints/0/addresses/0", json!("db.example.com"));
            },
            &[],
        ),
    ];
    check_create(def("discovery.k8s.io", "EndpointSlice"), &base, cases);
    let updates: &[Case] = &[
        (
            "endpoint added",
            |v| set(v, "/endpoints/1", json!({"addresses": ["10.1.2.4"]})),
            &[],
        ),
        (
            "address type changed",
            |v| set(v, "/addressType", json!("IPv6")),
            &[
                "endpoints[0].addresses[0]: Invalid value: \"10.1.2.3\": must be a valid IPv6 address",
                "addressType: Invalid value: \"IPv6\": field is immutable",
            ],
        ),
    ];
    check_update(
        def("discovery.k8s.io", "EndpointSlice"),
        &base,
        updates,
        false,
    );
}

#[test]
fn lease() {
    let base = json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "node-1", "namespace": "kube-node-lease"},
        "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40}
    });
    let cases: &[Case] = &[
        (
            "zero duration",
            |v| set(v, "/spec/leaseDurationSeconds", json!(0)),
            &["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"],
        ),
        (
            "negative transitions",
            |v| set(v, "/spec/leaseTransitions", json!(-1)),
            &["spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0"],
        ),
        (
            "preferred holder without strategy",
            |v| set(v, "/spec/preferredHolder", json!("node-2")),
            &["spec.preferredHolder: Forbidden: may only be specified if `strategy` is defined"],
        ),
        (
            "unknown strategy",
            |v| set(v, "/spec/strategy", json!("Newest")),
            &[
                "spec.strategy.strategy: Unsupported value: \"Newest\": supported values: \"OldestEmulationVersion\"",
            ],
        ),
    ];
    check_create(def("coordination.k8s.io", "Lease"), &base, cases);
    let updates: &[Case] = &[
        (
            "renew",
            |v| set(v, "/spec/renewTime", json!("2026-01-02T03:04:15.000000Z")),
            &[],
        ),
        (
            "zero duration",
            |v| set(v, "/spec/leaseDurationSeconds", json!(0)),
            &["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"],
        ),
    ];
    check_update(def("coordination.k8s.io", "Lease"), &base, updates, false);
}

#[test]
fn core_events() {
    let base = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "web.17a2b3c4d5e6f708", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default", "apiVersion": "v1"},
        "reason": "Started",
        "message": "Started container web",
        "type": "Normal",
        "source": {"component": "kubelet", "host": "node-1"},
        "count": 1
    });
    let cases: &[Case] = &[
        (
            "involved object in another namespace",
            |v| set(v, "/involvedObject/namespace", json!("other")),
            &["involvedObject.namespace: Invalid value: \"other\": does not match event.namespace"],
        ),
        (
            "no name",
            |v| del(v, "/metadata/name"),
            &["metadata.name: Required value: name or generateName is required"],
        ),
        (
            "event time without the reporting fields",
            |v| set(v, "/eventTime", json!("2026-01-02T03:04:05.000000Z")),
            &[
                "reportingController: Required value",
                "reportingController: Invalid value: \"\": name part must be non-empty",
                "reportingController: Invalid value: \"\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
                "reportingInstance: Required value",
                "action: Required value",
            ],
        ),
    ];
    check_create(def("", "Event"), &base, cases);
    let updates: &[Case] = &[("count bumped", |v| set(v, "/count", json!(2)), &[])];
    check_update(def("", "Event"), &base, updates, false);
}

#[test]
fn events_k8s_io_events() {
    let base = json!({
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": "web.17a2b3c4d5e6f708", "namespace": "default"},
        "eventTime": "2026-01-02T03:04:05.000000Z",
        "reportingController": "k4t.io/kubelet",
        "reportingInstance": "node-1",
        "action": "Started",
        "reason": "Started",
        "regarding": {"kind": "Pod", "name": "web", "namespace": "default"},
        "note": "Started container web",
        "type": "Normal"
    });
    let cases: &[Case] = &[
        (
            "type",
            |v| set(v, "/type", json!("Info")),
            &["type: Invalid value: \"\": has invalid value: Info"],
        ),
        (
            "deprecated count",
            |v| set(v, "/deprecatedCount", json!(3)),
            &["count: Invalid value: \"\": needs to be unset"],
        ),
        (
            "note too long",
            |v| set(v, "/note", json!("x".repeat(1025))),
            &["message: Invalid value: \"\": can have at most 1024 characters"],
        ),
        (
            "series of one",
            |v| {
                set(
                    v,
                    "/series",
                    json!({"count": 1, "lastObservedTime": "2026-01-02T03:04:06.000000Z"}),
                )
            },
            &["series.count: Invalid value: \"\": should be at least 2"],
        ),
        (
            "no event time",
            |v| del(v, "/eventTime"),
            &["eventTime: Required value"],
        ),
        (
            "name format",
            |v| set(v, "/metadata/name", json!("Web")),
            &[
                "metadata.name: Invalid value: \"Web\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            ],
        ),
    ];
    check_create(def("events.k8s.io", "Event"), &base, cases);
    let updates: &[Case] = &[
        (
            "series added",
            |v| {
                set(
                    v,
                    "/series",
                    json!({"count": 2, "lastObservedTime": "2026-01-02T03:04:06.000000Z"}),
                )
            },
            &[],
        ),
        (
            "note changed",
            |v| set(v, "/note", json!("other")),
            &["message: Invalid value: \"other\": field is immutable"],
        ),
    ];
    check_update(def("events.k8s.io", "Event"), &base, updates, false);
}

#[test]
fn pod_preset() {
    let base = json!({
        "apiVersion": "settings.k8s.io/v1alpha1",
        "kind": "PodPreset",
        "metadata": {"name": "allow-database", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"role": "frontend"}},
            "env": [{"name": "DB_PORT", "value": "6379"}],
            "volumeMounts": [{"mountPath": "/cache", "name": "cache-volume"}],
            "volumes": [{"name": "cache-volume", "emptyDir": {}}]
        }
    });
    let cases: &[Case] = &[
        (
            "nothing to inject",
            |v| {
                set(
                    v,
                    "/spec",
                    json!({"selector": {"matchLabels": {"role": "frontend"}}}),
                )
            },
            &["spec.volumes.env.envFrom.volumeMounts: Required value: must specify at least one"],
        ),
        (
            "mount of an unknown volume",
            |v| set(v, "/spec/volumeMounts/0/name", json!("nope")),
            &["spec.volumeMounts[0].name: Not found: \"nope\""],
        ),
        (
            "env name",
            |v| set(v, "/spec/env/0/name", json!("")),
            &["spec.env[0].name: Required value"],
        ),
        (
            "selector",
            |v| {
                set(
                    v,
                    "/spec/selector/matchExpressions",
                    json!([{"key": "role", "operator": "Exists", "values": ["x"]}]),
                )
            },
            &[
                "spec.selector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            ],
        ),
        (
            "volume with two sources",
            |v| set(v, "/spec/volumes/0/secret", json!({"secretName": "s"})),
            &[
                "spec.volumes[0].secret: Forbidden: may not specify more than 1 volume type",
                "spec.volumeMounts[0].name: Not found: \"cache-volume\"",
            ],
        ),
    ];
    check_create(def("settings.k8s.io", "PodPreset"), &base, cases);
    let updates: &[Case] = &[(
        "env added",
        |v| set(v, "/spec/env/1", json!({"name": "DB_HOST", "value": "db"})),
        &[],
    )];
    check_update(def("settings.k8s.io", "PodPreset"), &base, updates, false);
}
