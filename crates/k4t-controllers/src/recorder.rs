//! Events from controllers, through kube-rs' recorder (events.k8s.io/v1, with its series
//! deduplication); kubectl sees them as core/v1 events like any other.

use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use kube::Client;
use kube::Resource as _;
use kube::runtime::events::{Event, EventType, Recorder as KubeRecorder, Reporter};

/// Records events on behalf of one controller.
#[derive(Clone)]
pub struct Recorder {
    inner: KubeRecorder,
}

impl Recorder {
    pub fn new(client: Client, controller: &str) -> Self {
        let reporter = Reporter {
            controller: controller.to_owned(),
            instance: None,
        };
        Self {
            inner: KubeRecorder::new(client, reporter),
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
        if let Err(e) = self.inner.publish(&ev, object).await {
            tracing::debug!(error = %e, reason, "recording an event");
        }
    }
}
