//! Decoding request bodies.
