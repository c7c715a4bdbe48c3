//! Server-side printing: the Table columns and cells kubectl shows for each kind.
//!
//! kubectl asks for `as=Table` and prints what the server computes, so the columns and cells
//! here are those of the Kubernetes 1.36 apiserver's printers (`pkg/printers/internalversion`).
//! As there, the cells always include the `-o wide` columns (priority 1); kubectl hides them
//! unless asked. Kinds without a printer (PodPresets, and anything unknown) get the apiserver's
//! default table convertor: `Name` and `Created At`.
//!
//! Objects are read leniently: a missing field prints as Go's zero value would, never as an
//! error, so a row can always be produced.

mod columns;
mod descriptions;
mod json;
mod kinds;
mod pod;

use serde_json::Value;

use crate::registry::ResourceDef;

/// A Table column definition (`meta.k8s.io/v1` TableColumnDefinition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    /// `string`, `integer`, `number`, `boolean` or `date`.
    pub ty: &'static str,
    /// `name` for the name column, else empty.
    pub format: &'static str,
    pub description: &'static str,
    /// 0 always shown; 1 only with `-o wide`.
    pub priority: i32,
}

/// One Table row, without the object (the API server adds it as `includeObject` asks).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// In column order.
    pub cells: Vec<Value>,
    /// `TableRowCondition`s: Kubernetes marks finished pods `Completed`.
    pub conditions: Vec<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Printer {
    Pod,
    Deployment,
    ReplicaSet,
    Service,
    Endpoints,
    EndpointSlice,
    Node,
    Event,
    Namespace,
    ConfigMap,
    Secret,
    ServiceAccount,
    Lease,
    Default,
}

fn printer(def: &ResourceDef) -> Printer {
    match (def.group, def.kind) {
        ("", "Pod") => Printer::Pod,
        ("apps", "Deployment") => Printer::Deployment,
        ("apps", "ReplicaSet") => Printer::ReplicaSet,
        ("", "Service") => Printer::Service,
        ("", "Endpoints") => Printer::Endpoints,
        ("discovery.k8s.io", "EndpointSlice") => Printer::EndpointSlice,
        ("", "Node") => Printer::Node,
        // Both event APIs share one storage and one printer, over the core/v1 form.
        ("" | "events.k8s.io", "Event") => Printer::Event,
        ("", "Namespace") => Printer::Namespace,
        ("", "ConfigMap") => Printer::ConfigMap,
        ("", "Secret") => Printer::Secret,
        ("", "ServiceAccount") => Printer::ServiceAccount,
        ("coordination.k8s.io", "Lease") => Printer::Lease,
        _ => Printer::Default,
    }
}

fn column_defs(p: Printer) -> &'static [Column] {
    match p {
        Printer::Pod => columns::POD,
        Printer::Deployment => columns::DEPLOYMENT,
        Printer::ReplicaSet => columns::REPLICA_SET,
        Printer::Service => columns::SERVICE,
        Printer::Endpoints => columns::ENDPOINTS,
        Printer::EndpointSlice => columns::ENDPOINT_SLICE,
        Printer::Node => columns::NODE,
        Printer::Event => columns::EVENT,
        Printer::Namespace => columns::NAMESPACE,
        Printer::ConfigMap => columns::CONFIG_MAP,
        Printer::Secret => columns::SECRET,
        Printer::ServiceAccount => columns::SERVICE_ACCOUNT,
        Printer::Lease => columns::LEASE,
        Printer::Default => columns::DEFAULT,
    }
}

/// The columns of a kind.
pub fn columns(def: &ResourceDef) -> Vec<Column> {
    column_defs(printer(def)).to_vec()
}

/// The cells of one object's row, in column order. `obj` is the object in its canonical JSON
/// form (events.k8s.io events in their stored core/v1 form).
pub fn cells(def: &ResourceDef, obj: &Value, now: jiff::Timestamp) -> Vec<Value> {
    row(def, obj, now).cells
}

/// The cells and row conditions of one object.
pub fn row(def: &ResourceDef, obj: &Value, now: jiff::Timestamp) -> Row {
    let p = printer(def);
    if p == Printer::Pod {
        let view = pod::PodView::from_json(obj);
        return Row {
            cells: view.cells(now),
            conditions: view.conditions(),
        };
    }
    let cells = match p {
        Printer::Deployment => kinds::deployment(obj, now),
        Printer::ReplicaSet => kinds::replica_set(obj, now),
        Printer::Service => kinds::service(obj, now),
        Printer::Endpoints => kinds::endpoints(obj, now),
        Printer::EndpointSlice => kinds::endpoint_slice(obj, now),
        Printer::Node => kinds::node(obj, now),
        Printer::Event => kinds::event(obj, now),
        Printer::Namespace => kinds::namespace(obj, now),
        Printer::ConfigMap => kinds::config_map(obj, now),
        Printer::Secret => kinds::secret(obj, now),
        Printer::ServiceAccount => kinds::service_account(obj, now),
        Printer::Lease => kinds::lease(obj, now),
        Printer::Pod | Printer::Default => kinds::default(obj),
    };
    Row {
        cells,
        conditions: Vec::new(),
    }
}

/// A pod's row from the typed object, for callers that already decoded it.
pub fn pod_row(pod: &k8s_openapi::api::core::v1::Pod, now: jiff::Timestamp) -> Row {
    let view = pod::PodView::from_typed(pod);
    Row {
        cells: view.cells(now),
        conditions: view.conditions(),
    }
}

/// A pod's cells from the typed object (see [`pod_row`]).
pub fn pod_cells(pod: &k8s_openapi::api::core::v1::Pod, now: jiff::Timestamp) -> Vec<Value> {
    pod_row(pod, now).cells
}

#[cfg(test)]
mod tests;
