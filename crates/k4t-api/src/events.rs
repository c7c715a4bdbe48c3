//! Conversion between the two versions of Event: core/v1 (how events are stored) and
//! events.k8s.io/v1 (a view of the same objects with renamed fields), as Kubernetes converts
//! them.

use serde_json::{Map, Value};

/// core/v1 field → events.k8s.io/v1 field.
const RENAMES: &[(&str, &str)] = &[
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("reportingComponent", "reportingController"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
];

fn rename(obj: &Value, to_events_v1: bool, api_version: &str) -> Value {
    let Some(map) = obj.as_object() else {
        return obj.clone();
    };
    let mut out = Map::with_capacity(map.len());
    for (k, v) in map {
        let key = RENAMES
            .iter()
            .find_map(|(core, ev)| {
                if to_events_v1 && k == core {
                    Some(*ev)
                } else if !to_events_v1 && k == ev {
                    Some(*core)
                } else {
                    None
                }
            })
            .unwrap_or(k.as_str());
        out.insert(key.to_owned(), v.clone());
    }
    out.insert("apiVersion".into(), Value::String(api_version.to_owned()));
    out.insert("kind".into(), Value::String("Event".into()));
    Value::Object(out)
}

/// A stored core/v1 Event as events.k8s.io/v1 shows it.
pub fn core_to_events_v1(core: &Value) -> Value {
    rename(core, true, "events.k8s.io/v1")
}

/// An events.k8s.io/v1 Event as stored (core/v1).
pub fn events_v1_to_core(ev: &Value) -> Value {
    rename(ev, false, "v1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip() {
        let core = json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "web.1", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "web"},
            "reason": "Started", "message": "Started container app",
            "source": {"component": "kubelet"}, "count": 2, "type": "Normal",
            "reportingComponent": "kubelet"
        });
        let ev = core_to_events_v1(&core);
        assert_eq!(ev["apiVersion"], "events.k8s.io/v1");
        assert_eq!(ev["regarding"]["name"], "web");
        assert_eq!(ev["note"], "Started container app");
        assert_eq!(ev["deprecatedCount"], 2);
        assert_eq!(ev["reportingController"], "kubelet");
        assert_eq!(events_v1_to_core(&ev), core);
    }
}
