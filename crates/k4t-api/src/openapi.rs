//! OpenAPI v2 and v3 documents of the served kinds, and the schema index behind strategic merge
//! patch.
//!
//! STUB: to be implemented.
