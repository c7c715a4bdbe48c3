//! Request bodies of every served kind, as JSON and YAML, under every fieldValidation mode,
//! through decoding, defaulting and validation: errors are fine, panics are not.
#![no_main]

use k4t_api::decode::{self, BodyFormat, FieldValidation};
use k4t_api::registry::RESOURCES;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let def = &RESOURCES[selector as usize % RESOURCES.len()];
    let format = if selector & 0x80 == 0 { BodyFormat::Json } else { BodyFormat::Yaml };
    let validation = match selector % 3 {
        0 => FieldValidation::Strict,
        1 => FieldValidation::Warn,
        _ => FieldValidation::Ignore,
    };
    if let Ok(decoded) = decode::decode_object(def, body, format, validation) {
        let mut v = decoded.value;
        k4t_api::defaults::apply(def, &mut v);
        let _ = k4t_api::validation::validate_create(def, &v);
        let _ = k4t_api::table::cells(def, &v, k8s_openapi::jiff::Timestamp::UNIX_EPOCH);
    }
});
