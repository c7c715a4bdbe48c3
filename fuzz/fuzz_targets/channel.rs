//! The exec/attach WebSocket channel demultiplexer: any client message, in either protocol
//! version, is classified without panicking, and a resize decodes only from valid JSON.
#![no_main]

use k4t_stream::channel::{self, Incoming, Version};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for version in [Version::V4, Version::V5] {
        match channel::decode(version, data) {
            Incoming::Stdin(payload) => assert_eq!(payload, &data[1..]),
            Incoming::Resize { .. } => assert_eq!(data[0], channel::RESIZE),
            Incoming::Close(_) => assert_eq!(version, Version::V5),
            Incoming::Ignored | Incoming::BadResize(_) => {}
        }
    }
});
