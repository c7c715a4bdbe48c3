//! STUB (being replaced by the correlating sink): writes the agent's events one by one.

use k8s_openapi::api::core::v1::Pod;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

#[derive(Clone)]
pub struct EventSink {
    _node: String,
}

impl EventSink {
    pub fn new(_client: kube::Client, node_name: String) -> Self {
        Self { _node: node_name }
    }
    pub fn pod(&self, pod: &Pod, type_: EventType, reason: &str, message: String) {
        tracing::info!(pod = ?pod.metadata.name, ?type_, reason, message, "event");
    }
    pub fn container(
        &self,
        pod: &Pod,
        container: &str,
        is_init: bool,
        type_: EventType,
        reason: &str,
        message: String,
    ) {
        tracing::info!(pod = ?pod.metadata.name, container, is_init, ?type_, reason, message, "event");
    }
}
