//! Streaming to containers: the wire protocols kubectl speaks for `logs`, `exec`, `attach`
//! and `port-forward`, as pure codecs plus small session loops over any byte stream.
//!
//! - [`spdy`]: a SPDY/3.1 framer (the subset Kubernetes uses) with zlib header compression.
//! - [`portforward`]: a port-forward session over SPDY (`portforward.k8s.io`).
//! - [`channel`]: the channel protocol of exec and attach over WebSocket (v5 and v4).
//! - [`logs`]: reading CRI-format container logs as `pods/{name}/log` serves them.

pub mod channel;
pub mod logs;
pub mod portforward;
pub mod spdy;
