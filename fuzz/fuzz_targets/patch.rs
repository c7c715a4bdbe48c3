//! JSON patch, merge patch and strategic merge patch of arbitrary documents with arbitrary
//! patches, typed as every served kind: errors are fine, panics are not.
#![no_main]

use k4t_api::registry::RESOURCES;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    // The input is "<document>\0<patch>".
    let Some(split) = rest.iter().position(|b| *b == 0) else { return };
    let (doc, patch) = (&rest[..split], &rest[split + 1..]);
    let (Ok(doc), Ok(patch)) =
        (serde_json::from_slice::<serde_json::Value>(doc), serde_json::from_slice::<serde_json::Value>(patch))
    else {
        return;
    };
    let def = &RESOURCES[selector as usize % RESOURCES.len()];
    let _ = k4t_api::patch::json_patch(&doc, &patch);
    let _ = k4t_api::patch::merge_patch(&doc, &patch);
    let _ = k4t_api::patch::strategic_merge_patch(&doc, &patch, def.schema, k4t_api::rest::schema());
});
