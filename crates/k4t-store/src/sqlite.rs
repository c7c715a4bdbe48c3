//! The SQLite [`Backend`](crate::Backend): a revision log in the style of k3s's kine.
//!
//! STUB: to be implemented.

use std::path::Path;

use crate::Result;

/// How hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: the WAL is fsynced at each commit (survives power loss).
    #[default]
    Full,
    /// `synchronous=NORMAL`: survives a crash of the process, not of the machine.
    Normal,
}

/// The SQLite backend.
pub struct SqliteBackend {}

impl SqliteBackend {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path, durability: Durability) -> Result<Self> {
        let _ = (path, durability);
        Ok(Self {})
    }
}
