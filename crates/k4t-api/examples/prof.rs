//! Rough per-operation costs of the write path for one pod (decode, create, defaults,
//! validation, managed fields, Table cells), for profiling: `cargo run --release -p k4t-api
//! --example prof`.

// A throwaway measurement: wall-clock time is what it measures, and a failure may simply panic.
#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    clippy::unwrap_used
)]

use k4t_api::decode::{self, BodyFormat, FieldValidation};
use k4t_api::registry::find;
use k4t_api::rest::{self, WriteCtx};

fn main() {
    let def = find("", "v1", "pods").unwrap();
    let body = serde_json::to_vec(&serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "bench-1", "labels": {"app": "bench", "tier": "web"}},
        "spec": {"containers": [{
            "name": "app", "image": "k4t/demo:1",
            "command": ["k4t", "demo", "serve", "--port", "8080"],
            "ports": [{"containerPort": 8080, "name": "http"}],
            "env": [{"name": "MODE", "value": "bench"}],
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 1},
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}
        }]}
    }))
    .unwrap();
    let n = 2000;
    let now: jiff::Timestamp = "2026-11-22T07:00:00Z".parse().unwrap();
    let t = std::time::Instant::now();
    let mut decoded = None;
    for _ in 0..n {
        decoded = Some(
            decode::decode_object(def, &body, BodyFormat::Json, FieldValidation::Strict).unwrap(),
        );
    }
    println!("decode: {:?}/op", t.elapsed() / n);
    let v = decoded.unwrap().value;
    let ctx = WriteCtx {
        def,
        namespace: Some("default"),
        now,
        manager: "bench",
    };
    let t = std::time::Instant::now();
    let mut obj = None;
    for _ in 0..n {
        obj = Some(rest::create(&ctx, v.clone(), "uid", "").unwrap());
    }
    println!("rest::create: {:?}/op", t.elapsed() / n);
    let obj = obj.unwrap();
    let t = std::time::Instant::now();
    for _ in 0..n {
        let mut o = v.clone();
        k4t_api::defaults::apply(def, &mut o);
    }
    println!("defaults::apply: {:?}/op", t.elapsed() / n);
    let t = std::time::Instant::now();
    for _ in 0..n {
        let _ = k4t_api::validation::validate_create(def, &obj);
    }
    println!("validate: {:?}/op", t.elapsed() / n);
    let t = std::time::Instant::now();
    for _ in 0..n {
        let mut o = obj.clone();
        let w = k4t_api::managed_fields::Write {
            manager: "m",
            operation: "Update",
            api_version: "v1",
            time: "t",
            subresource: None,
            type_name: def.schema,
        };
        k4t_api::managed_fields::update(None, &mut o, &w, rest::schema());
    }
    println!("managed_fields: {:?}/op", t.elapsed() / n);
    let bytes = serde_json::to_vec(&obj).unwrap();
    println!("size {}", bytes.len());
    let t = std::time::Instant::now();
    for _ in 0..n {
        let mut o: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        o["metadata"]["resourceVersion"] = "1".into();
        let _ = serde_json::to_vec(&o).unwrap();
    }
    println!("decorate-ish: {:?}/op", t.elapsed() / n);
    let t = std::time::Instant::now();
    for _ in 0..n {
        let _ = k4t_api::table::cells(def, &obj, now);
    }
    println!("table cells: {:?}/op", t.elapsed() / n);
}
