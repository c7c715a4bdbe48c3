//! The column definitions of each printer, as Kubernetes 1.36's `printers.go` declares them.

use super::Column;
use super::descriptions as d;

const fn col(
    name: &'static str,
    ty: &'static str,
    description: &'static str,
    priority: i32,
) -> Column {
    Column {
        name,
        ty,
        format: "",
        description,
        priority,
    }
}

const NAME: Column = Column {
    name: "Name",
    ty: "string",
    format: "name",
    description: d::OBJECT_META_NAME,
    priority: 0,
};
const AGE: Column = col("Age", "string", d::OBJECT_META_CREATION_TIMESTAMP, 0);
const CONTAINERS: Column = col(
    "Containers",
    "string",
    "Names of each container in the template.",
    1,
);
const IMAGES: Column = col(
    "Images",
    "string",
    "Images referenced by each container in the template.",
    1,
);

pub static POD: &[Column] = &[
    NAME,
    col(
        "Ready",
        "string",
        "The aggregate readiness state of this pod for accepting traffic.",
        0,
    ),
    col(
        "Status",
        "string",
        "The aggregate status of the containers in this pod.",
        0,
    ),
    col(
        "Restarts",
        "string",
        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
        0,
    ),
    AGE,
    col("IP", "string", d::POD_STATUS_POD_IP, 1),
    col("Node", "string", d::POD_SPEC_NODE_NAME, 1),
    col(
        "Nominated Node",
        "string",
        d::POD_STATUS_NOMINATED_NODE_NAME,
        1,
    ),
    col("Readiness Gates", "string", d::POD_SPEC_READINESS_GATES, 1),
];

pub static REPLICA_SET: &[Column] = &[
    NAME,
    col("Desired", "integer", d::EXT_REPLICA_SET_SPEC_REPLICAS, 0),
    col("Current", "integer", d::EXT_REPLICA_SET_STATUS_REPLICAS, 0),
    col(
        "Ready",
        "integer",
        d::EXT_REPLICA_SET_STATUS_READY_REPLICAS,
        0,
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    col("Selector", "string", d::EXT_REPLICA_SET_SPEC_SELECTOR, 1),
];

pub static DEPLOYMENT: &[Column] = &[
    NAME,
    col("Ready", "string", "Number of the pod with ready state", 0),
    col(
        "Up-to-date",
        "string",
        d::EXT_DEPLOYMENT_STATUS_UPDATED_REPLICAS,
        0,
    ),
    col(
        "Available",
        "string",
        d::EXT_DEPLOYMENT_STATUS_AVAILABLE_REPLICAS,
        0,
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    col("Selector", "string", d::EXT_DEPLOYMENT_SPEC_SELECTOR, 1),
];

pub static SERVICE: &[Column] = &[
    NAME,
    col("Type", "string", d::SERVICE_SPEC_TYPE, 0),
    col("Cluster-IP", "string", d::SERVICE_SPEC_CLUSTER_IP, 0),
    col("External-IP", "string", d::SERVICE_SPEC_EXTERNAL_IPS, 0),
    col("Port(s)", "string", d::SERVICE_SPEC_PORTS, 0),
    AGE,
    col("Selector", "string", d::SERVICE_SPEC_SELECTOR, 1),
];

pub static ENDPOINTS: &[Column] = &[
    NAME,
    col("Endpoints", "string", d::ENDPOINTS_SUBSETS, 0),
    AGE,
];

pub static ENDPOINT_SLICE: &[Column] = &[
    NAME,
    col("AddressType", "string", d::ENDPOINT_SLICE_ADDRESS_TYPE, 0),
    col("Ports", "string", d::ENDPOINT_SLICE_PORTS, 0),
    col("Endpoints", "string", d::ENDPOINT_SLICE_ENDPOINTS, 0),
    AGE,
];

pub static NODE: &[Column] = &[
    NAME,
    col("Status", "string", "The status of the node", 0),
    col("Roles", "string", "The roles of the node", 0),
    AGE,
    col("Version", "string", d::NODE_SYSTEM_INFO_KUBELET_VERSION, 0),
    col("Internal-IP", "string", d::NODE_STATUS_ADDRESSES, 1),
    col("External-IP", "string", d::NODE_STATUS_ADDRESSES, 1),
    col("OS-Image", "string", d::NODE_SYSTEM_INFO_OS_IMAGE, 1),
    col(
        "Kernel-Version",
        "string",
        d::NODE_SYSTEM_INFO_KERNEL_VERSION,
        1,
    ),
    col(
        "Container-Runtime",
        "string",
        d::NODE_SYSTEM_INFO_CONTAINER_RUNTIME_VERSION,
        1,
    ),
];

pub static EVENT: &[Column] = &[
    col("Last Seen", "string", d::EVENT_LAST_TIMESTAMP, 0),
    col("Type", "string", d::EVENT_TYPE, 0),
    col("Reason", "string", d::EVENT_REASON, 0),
    col("Object", "string", d::EVENT_INVOLVED_OBJECT, 0),
    col("Subobject", "string", d::OBJECT_REFERENCE_FIELD_PATH, 1),
    col("Source", "string", d::EVENT_SOURCE, 1),
    col("Message", "string", d::EVENT_MESSAGE, 0),
    col("First Seen", "string", d::EVENT_FIRST_TIMESTAMP, 1),
    col("Count", "string", d::EVENT_COUNT, 1),
    Column {
        priority: 1,
        ..NAME
    },
];

pub static NAMESPACE: &[Column] = &[
    NAME,
    col("Status", "string", "The status of the namespace", 0),
    AGE,
];

pub static SECRET: &[Column] = &[
    NAME,
    col("Type", "string", d::SECRET_TYPE, 0),
    col("Data", "string", d::SECRET_DATA, 0),
    AGE,
];

pub static SERVICE_ACCOUNT: &[Column] = &[NAME, AGE];

pub static CONFIG_MAP: &[Column] = &[NAME, col("Data", "string", d::CONFIG_MAP_DATA, 0), AGE];

pub static LEASE: &[Column] = &[
    NAME,
    col("Holder", "string", d::LEASE_SPEC_HOLDER_IDENTITY, 0),
    AGE,
];

/// The apiserver's default table convertor, for kinds without a printer.
pub static DEFAULT: &[Column] = &[
    NAME,
    col("Created At", "date", d::OBJECT_META_CREATION_TIMESTAMP, 0),
];
