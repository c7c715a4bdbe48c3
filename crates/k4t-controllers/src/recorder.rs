//! Events from controllers, through kube-rs' recorder (events.k8s.io/v1, with its series
//! deduplication); kubectl sees them as core/v1 events like any other.
//!
//! kube-rs counts an event into an earlier series when type, reason, action and object match,
//! whatever the note; Kubernetes' recorders also key on the message, so `Scaled up replica
//! set a from 0 to 1` and `Scaled down replica set b from 3 to 2` stay two events. One kube-rs
//! recorder per note gives Kubernetes' keying.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use kube::Client;
use kube::Resource as _;
use kube::runtime::events::{Event, EventType, Recorder as KubeRecorder, Reporter};
use parking_lot::Mutex;

/// Records events on behalf of one controller.
#[derive(Clone)]
pub struct Recorder {
    client: Client,
    reporter: Reporter,
    by_note: Arc<Mutex<HashMap<String, KubeRecorder>>>,
}

/// Notes remembered for counting repeats; past this the memory is dropped and starts over.
const NOTES: usize = 512;

impl Recorder {
    pub fn new(client: Client, controller: &str) -> Self {
        let reporter = Reporter {
            controller: controller.to_owned(),
            instance: None,
        };
        Self {
            client,
            reporter,
            by_note: Arc::default(),
        }
    }

    /// Records an event about a pod; failures are logged, never fatal.
    pub async fn record(&self, pod: &Pod, type_: &str, reason: &str, note: &str, action: &str) {
        self.record_about(&pod.object_ref(&()), type_, reason, note, action)
            .await;
    }

    /// Records an event about any object; failures are logged, never fatal.
    pub async fn record_about(
        &self,
        object: &ObjectReference,
        type_: &str,
        reason: &str,
        note: &str,
        action: &str,
    ) {
        let ev = Event {
            type_: if type_ == "Warning" {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: reason.to_owned(),
            note: Some(note.to_owned()),
            action: action.to_owned(),
            secondary: None,
        };
        let recorder = {
            let mut map = self.by_note.lock();
            if map.len() >= NOTES && !map.contains_key(note) {
                map.clear();
            }
            map.entry(note.to_owned())
                .or_insert_with(|| KubeRecorder::new(self.client.clone(), self.reporter.clone()))
                .clone()
        };
        if let Err(e) = recorder.publish(&ev, object).await {
            tracing::debug!(error = %e, reason, "recording an event");
        }
    }
}
