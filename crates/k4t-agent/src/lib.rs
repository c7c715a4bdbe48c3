//! k4t's node agent: the kubelet of a k4t node.
//!
//! It is a client of the API (kube-rs) like any other: it registers its Node, renews its Lease,
//! watches the pods bound to it, runs them on a [`k4t_runtime::Runtime`], probes them, restarts
//! them by their restart policy with CrashLoopBackOff, and writes their status and events back.
//!
//! The decisions are pure functions over values, tested with virtual time: the crash-loop
//! backoff table ([`backoff`]), probe workers ([`probe`]), what a pod sync must do
//! ([`actions`]), the API status of a pod ([`status`]) and event correlation ([`events`]). The
//! rest of the crate is the I/O shell around them.

pub mod actions;
pub mod agent;
pub mod backoff;
pub mod containerspec;
pub mod events;
pub mod node;
pub mod pleg;
pub mod pods;
pub mod probe;
pub mod probe_io;
pub mod prober;
pub mod status;
pub mod stream;
pub mod tunnel;
pub mod volumes;

/// The User-Agent of probes: `kube-probe/<major>.<minor>` of the Kubernetes version served.
pub const PROBE_USER_AGENT: &str = "kube-probe/1.36";
