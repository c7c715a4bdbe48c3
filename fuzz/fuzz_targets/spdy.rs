//! SPDY/3.1 frames from arbitrary bytes: decoding errors are fine, panics are not, and every
//! frame that decodes must encode again and decode to itself.
#![no_main]

use bytes::BytesMut;
use k4t_stream::spdy::Codec;
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::{Decoder, Encoder};

fuzz_target!(|data: &[u8]| {
    let mut decoder = Codec::new();
    let mut encoder = Codec::new();
    let mut checker = Codec::new();
    let mut src = BytesMut::from(data);
    while let Ok(Some(frame)) = decoder.decode(&mut src) {
        let mut wire = BytesMut::new();
        encoder
            .encode(frame.clone(), &mut wire)
            .expect("a decoded frame encodes");
        let again = checker
            .decode(&mut wire)
            .expect("a re-encoded frame decodes");
        assert_eq!(again, Some(frame));
        assert!(wire.is_empty());
    }
});
