//! An in-memory [`Runtime`](crate::Runtime) for the agent's tests.
//!
//! STUB: to be implemented.
