//! No data loss: every write the server acknowledged survives a SIGKILL, and the store opens
//! cleanly afterwards.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, ObjectMeta, PostParams};
use support::{Auth, Server};

#[test]
fn acknowledged_writes_survive_kill_9() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut s = Server::start();
    let acked: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let config = s.client_config(Auth::Admin);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let client = rt
                .block_on(async { kube::Client::try_from(config.clone()) })
                .unwrap();
            let acked = acked.clone();
            let stop = stop.clone();
            rt.spawn(async move {
                let api: Api<ConfigMap> = Api::namespaced(client, "default");
                let mut i = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let name = format!("w{w}-{i}");
                    let cm = ConfigMap {
                        metadata: ObjectMeta {
                            name: Some(name.clone()),
                            ..Default::default()
                        },
                        data: Some([("i".to_owned(), i.to_string())].into()),
                        ..Default::default()
                    };
                    if api.create(&PostParams::default(), &cm).await.is_ok() {
                        acked.lock().unwrap().insert(name);
                    }
                    i += 1;
                }
            })
        })
        .collect();
    // Let the writers get going, then crash the server under them.
    std::thread::sleep(Duration::from_millis(1500));
    s.kill9();
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        let _ = rt.block_on(w);
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 50,
        "too few writes to prove anything: {}",
        acked.len()
    );

    s.restart();
    let config = s.client_config(Auth::Admin);
    let stored: BTreeSet<String> = rt.block_on(async move {
        let api: Api<ConfigMap> =
            Api::namespaced(kube::Client::try_from(config).unwrap(), "default");
        api.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter_map(|c| c.metadata.name)
            .collect()
    });
    let lost: Vec<&String> = acked.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged writes lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    // The restarted server keeps working.
    let k = s.kubectl();
    k.ok(&["create", "configmap", "after-restart", "--from-literal=a=b"]);
    assert_eq!(
        k.ok(&[
            "get",
            "configmap",
            "after-restart",
            "-o",
            "jsonpath={.data.a}"
        ]),
        "b"
    );
    eprintln!(
        "acknowledged {} writes before the crash; all present after restart",
        acked.len()
    );
}
