//! An in-memory [`Backend`](crate::Backend) with the same semantics as the SQLite one, for tests.
//!
//! STUB: to be implemented.

/// The in-memory backend.
#[derive(Debug, Default)]
pub struct MemoryBackend {}

impl MemoryBackend {
    pub fn new() -> Self {
        Self {}
    }
}
