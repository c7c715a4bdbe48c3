//! Kubernetes API machinery for k4t, without I/O.
//!
//! Everything here is a function over values: decoding request bodies, defaulting, validation,
//! patches, selectors, Table printing, OpenAPI and discovery documents, and the create / update /
//! delete rules that turn a request and the stored object into the object to store. The API server
//! crate wraps these in HTTP and the store.

pub mod clock;
pub mod decode;
pub mod defaults;
pub mod discovery;
pub mod duration;
pub mod error;
pub mod events;
pub mod managed_fields;
pub mod openapi;
pub mod patch;
pub mod podpreset;
pub mod podstream;
pub mod protobuf;
pub mod registry;
pub mod rest;
pub mod schema;
pub mod selector;
pub mod table;
pub mod validation;

pub use error::{ApiError, FieldError, FieldPath};
