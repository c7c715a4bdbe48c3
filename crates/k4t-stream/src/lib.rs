//! Streaming to containers: the wire protocols kubectl speaks for `logs`, `exec`, `attach`
//! and `port-forward`, as pure codecs plus small session loops over any byte stream.
//!
//! - [`spdy`]: a SPDY/3.1 framer (the subset Kubernetes uses) with zlib header compression.
//! - [`portforward`]: a port-forward session over SPDY (`portforward.k8s.io`).
