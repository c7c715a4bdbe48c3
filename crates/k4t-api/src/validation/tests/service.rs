//! Services.

use serde_json::{Value, json};

use super::{Case, check_create, check_update, def, del, set};

fn service() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "my-service", "namespace": "default"},
        "spec": {
            "selector": {"app.kubernetes.io/name": "MyApp"},
            "ports": [{"protocol": "TCP", "port": 80, "targetPort": 9376}]
        }
    })
}

const CREATE_CASES: &[Case] = &[
    (
        "no ports",
        |v| del(v, "/spec/ports"),
        &["spec.ports: Required value"],
    ),
    (
        "headless services need no ports",
        |v| {
            del(v, "/spec/ports");
            set(v, "/spec/clusterIP", json!("None"));
        },
        &[],
    ),
    (
        "two ports without names",
        |v| set(v, "/spec/ports", json!([{"port": 80}, {"port": 443}])),
        &[
            "spec.ports[0].name: Required value",
            "spec.ports[1].name: Required value",
        ],
    ),
    (
        "duplicate port names",
        |v| {
            set(
                v,
                "/spec/ports",
                json!([{"name": "web", "port": 80}, {"name": "web", "port": 443}]),
            )
        },
        &["spec.ports[1].name: Duplicate value: \"web\""],
    ),
    (
        "port name format",
        |v| set(v, "/spec/ports/0/name", json!("Web")),
        &[
            "spec.ports[0].name: Invalid value: \"Web\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
        ],
    ),
    (
        "port number",
        |v| set(v, "/spec/ports/0/port", json!(0)),
        &["spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"],
    ),
    (
        "protocol",
        |v| set(v, "/spec/ports/0/protocol", json!("HTTP")),
        &[
            "spec.ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
        ],
    ),
    (
        "targetPort name",
        |v| set(v, "/spec/ports/0/targetPort", json!("Web_Port")),
        &[
            "spec.ports[0].targetPort: Invalid value: \"Web_Port\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
        ],
    ),
    (
        "type",
        |v| set(v, "/spec/type", json!("Internal")),
        &[
            "spec.type: Unsupported value: \"Internal\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
        ],
    ),
    (
        "selector value",
        |v| set(v, "/spec/selector", json!({"app": "-"})),
        &[
            "spec.selector: Invalid value: \"-\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        ],
    ),
    (
        "nodePort on a ClusterIP service",
        |v| set(v, "/spec/ports/0/nodePort", json!(30080)),
        &["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"],
    ),
    (
        "NodePort service",
        |v| {
            set(v, "/spec/type", json!("NodePort"));
            set(v, "/spec/ports/0/nodePort", json!(30080));
        },
        &[],
    ),
    (
        "same port twice",
        |v| {
            set(
                v,
                "/spec/ports",
                json!([{"name": "a", "port": 80}, {"name": "b", "port": 80}]),
            )
        },
        &[
            "spec.ports[1]: Duplicate value: {\"Name\":\"\",\"Protocol\":\"TCP\",\"AppProtocol\":null,\"Port\":80,\"TargetPort\":0,\"NodePort\":0}",
        ],
    ),
    (
        "name must be a DNS-1035 label",
        |v| set(v, "/metadata/name", json!("1svc")),
        &[
            "metadata.name: Invalid value: \"1svc\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
        ],
    ),
    (
        "clusterIP not an IP",
        |v| set(v, "/spec/clusterIP", json!("10.0.0.300")),
        &[
            "spec.clusterIPs[0]: Invalid value: \"10.0.0.300\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        ],
    ),
    (
        "clusterIPs not matching clusterIP",
        |v| {
            set(v, "/spec/clusterIP", json!("10.96.0.10"));
            set(v, "/spec/clusterIPs", json!(["10.96.0.11"]));
        },
        &["spec.clusterIPs: Invalid value: [\"10.96.0.11\"]: first value must match `clusterIP`"],
    ),
    (
        "sessionAffinity",
        |v| set(v, "/spec/sessionAffinity", json!("Sticky")),
        &[
            "spec.sessionAffinity: Unsupported value: \"Sticky\": supported values: \"ClientIP\", \"None\"",
        ],
    ),
    (
        "ExternalName without a name",
        |v| set(v, "/spec/type", json!("ExternalName")),
        &["spec.externalName: Required value"],
    ),
    (
        "headless LoadBalancer",
        |v| {
            set(v, "/spec/type", json!("LoadBalancer"));
            set(v, "/spec/clusterIP", json!("None"));
        },
        &[
            "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for LoadBalancer services",
        ],
    ),
    (
        "ipFamilies",
        |v| set(v, "/spec/ipFamilies", json!(["IPv5"])),
        &["spec.ipFamilies[0]: Unsupported value: \"IPv5\": supported values: \"IPv4\", \"IPv6\""],
    ),
    (
        "externalTrafficPolicy on an internal service",
        |v| set(v, "/spec/externalTrafficPolicy", json!("Local")),
        &[
            "spec.externalTrafficPolicy: Invalid value: \"Local\": may only be set for externally-accessible services",
        ],
    ),
];

#[test]
fn service_create() {
    check_create(def("", "Service"), &service(), CREATE_CASES);
}

#[test]
fn service_update() {
    let mut base = service();
    set(&mut base, "/spec/clusterIP", json!("10.96.0.10"));
    let cases: &[Case] = &[
        (
            "new port",
            |v| set(v, "/spec/ports/1", json!({"name": "https", "port": 443})),
            &["spec.ports[0].name: Required value"],
        ),
        (
            "selector change",
            |v| set(v, "/spec/selector", json!({"app": "other"})),
            &[],
        ),
        (
            "clusterIP change",
            |v| {
                set(v, "/spec/clusterIP", json!("10.96.0.11"));
                set(v, "/spec/clusterIPs", json!(["10.96.0.11"]));
            },
            &["spec.clusterIPs[0]: Invalid value: [\"10.96.0.11\"]: may not change once set"],
        ),
    ];
    check_update(def("", "Service"), &base, cases, false);
}

#[test]
fn normalizing_cluster_ips_on_update() {
    let old = json!({"spec": {"clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"]}});
    let mut new = json!({"spec": {"clusterIP": "10.96.0.10"}});
    crate::defaults::normalize_service_cluster_ips(&mut new, &old);
    assert_eq!(
        new,
        json!({"spec": {"clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"]}})
    );
    let mut new = json!({"spec": {"clusterIP": "", "clusterIPs": ["10.96.0.10"]}});
    crate::defaults::normalize_service_cluster_ips(&mut new, &old);
    assert_eq!(new, json!({"spec": {"clusterIP": ""}}));
    let mut new = json!({"spec": {"clusterIP": "10.96.0.12", "clusterIPs": ["10.96.0.10"]}});
    crate::defaults::normalize_service_cluster_ips(&mut new, &old);
    assert_eq!(
        new,
        json!({"spec": {"clusterIP": "10.96.0.12", "clusterIPs": ["10.96.0.12"]}})
    );
}

#[test]
fn allocated_values_survive_an_apply_that_omits_them() {
    let old = json!({
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "type": "NodePort",
            "clusterIP": "10.96.0.10",
            "clusterIPs": ["10.96.0.10"],
            "ports": [{"name": "http", "port": 80, "nodePort": 30080}]
        }
    });
    let mut new = json!({
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"type": "NodePort", "ports": [{"name": "http", "port": 80}]}
    });
    crate::defaults::prepare_service_update(&mut new, &old);
    assert_eq!(new["spec"]["clusterIP"], json!("10.96.0.10"));
    assert_eq!(new["spec"]["clusterIPs"], json!(["10.96.0.10"]));
    assert_eq!(new["spec"]["ports"][0]["nodePort"], json!(30080));
}
