//! The agent's events, counted and aggregated the way client-go's `EventCorrelator` does, so
//! `kubectl describe` shows `(x3 over 16m)`.
//!
//! - [`EventCorrelator`] is pure (time is an argument): similar events with ten distinct
//!   messages within ten minutes become one `(combined from similar events): ...` event, a
//!   repeat of an identical event becomes a patch of the existing one (`count` + 1, new
//!   `lastTimestamp`), and a token bucket per object (burst 25, one more every 5 minutes) drops
//!   the rest.
//! - [`EventSink`] is what the agent calls: it never blocks (a bounded queue; a full queue drops
//!   the event with a warning) and a background task correlates and writes core/v1 Events
//!   through an [`EventWriter`] ([`KubeWriter`] over a `kube::Client`), with client-go's
//!   retries.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use jiff::{SignedDuration, Timestamp};
use k4t_api::clock::{Clock, SystemClock};
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// The component the agent reports as (`source.component`, `reportingComponent`).
pub const COMPONENT: &str = "kubelet";

/// How many events may wait for the writer (client-go's `maxQueuedEvents`).
pub const QUEUE_CAPACITY: usize = 1000;
/// Write attempts per event and the pause between them (client-go's recorder).
pub const MAX_TRIES: u32 = 12;
pub const RETRY_INTERVAL: Duration = Duration::from_secs(10);

const COMBINED_PREFIX: &str = "(combined from similar events): ";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// A reference to a pod, as client-go's `GetReference` makes it.
pub fn pod_ref(pod: &Pod) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".to_owned()),
        kind: Some("Pod".to_owned()),
        name: pod.metadata.name.clone(),
        namespace: pod.metadata.namespace.clone(),
        uid: pod.metadata.uid.clone(),
        resource_version: pod.metadata.resource_version.clone(),
        field_path: None,
    }
}

/// A reference to one container of a pod: `fieldPath` is `spec.containers{c}` or
/// `spec.initContainers{c}`.
pub fn container_ref(pod: &Pod, container: &str, is_init: bool) -> ObjectReference {
    let list = if is_init {
        "initContainers"
    } else {
        "containers"
    };
    ObjectReference {
        field_path: Some(format!("spec.{list}{{{container}}}")),
        ..pod_ref(pod)
    }
}

/// A reference to a node as the kubelet makes it: its UID is the node's name.
pub fn node_ref(node_name: &str) -> ObjectReference {
    ObjectReference {
        kind: Some("Node".to_owned()),
        name: Some(node_name.to_owned()),
        uid: Some(node_name.to_owned()),
        ..Default::default()
    }
}

/// client-go names events `<object>.<unix nanoseconds in hex>`.
fn event_name(object: &str, at: Timestamp) -> String {
    format!("{object}.{:x}", at.as_nanosecond() as i64)
}

/// A new event as the kubelet's recorder makes it (count 1, first = last = `now`, no
/// `eventTime`); `node_name` is the source host and the reporting instance.
pub fn make_event(
    involved: ObjectReference,
    type_: EventType,
    reason: &str,
    message: &str,
    node_name: &str,
    now: Timestamp,
) -> Event {
    let namespace = involved
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".to_owned());
    Event {
        metadata: ObjectMeta {
            name: Some(event_name(
                involved.name.as_deref().unwrap_or_default(),
                now,
            )),
            namespace: Some(namespace),
            ..Default::default()
        },
        involved_object: involved,
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        count: Some(1),
        type_: Some(type_.as_str().to_owned()),
        source: Some(EventSource {
            component: Some(COMPONENT.to_owned()),
            host: Some(node_name.to_owned()),
        }),
        reporting_component: Some(COMPONENT.to_owned()),
        reporting_instance: Some(node_name.to_owned()),
        ..Default::default()
    }
}

/// The correlator's knobs; the defaults are client-go's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CorrelatorOptions {
    /// Entries kept by each of the three caches (least recently used evicted first).
    pub cache_size: usize,
    /// Distinct messages of similar events before they are combined.
    pub max_events: usize,
    /// A similar event older than this starts a fresh count of distinct messages.
    pub max_interval: SignedDuration,
    /// Events an object may produce at once...
    pub spam_burst: u32,
    /// ...and how many more per second after that.
    pub spam_qps: f64,
}

impl Default for CorrelatorOptions {
    fn default() -> Self {
        Self {
            cache_size: 4096,
            max_events: 10,
            max_interval: SignedDuration::from_secs(600),
            spam_burst: 25,
            spam_qps: 1.0 / 300.0,
        }
    }
}

/// What to do with an event after correlation.
#[derive(Debug, Clone, PartialEq)]
pub enum Correlation {
    /// Write this new Event.
    Create(Event),
    /// Merge-patch the existing Event `event.metadata.name` with `patch`; if it no longer
    /// exists (events expire), create `event` instead.
    Patch { event: Event, patch: Value },
    /// The spam filter dropped it.
    Skip,
}

/// A tiny LRU map (groupcache's `lru.Cache`: a hit refreshes the entry).
#[derive(Debug)]
struct Lru<V> {
    map: HashMap<String, (V, u64)>,
    order: BTreeMap<u64, String>,
    tick: u64,
    cap: usize,
}

impl<V> Lru<V> {
    fn new(cap: usize) -> Self {
        Self {
            map: HashMap::new(),
            order: BTreeMap::new(),
            tick: 0,
            cap: cap.max(1),
        }
    }

    fn touch(&mut self, key: &str) -> u64 {
        self.tick += 1;
        if let Some((_, t)) = self.map.get_mut(key) {
            self.order.remove(t);
            *t = self.tick;
            self.order.insert(self.tick, key.to_owned());
        }
        self.tick
    }

    fn get(&mut self, key: &str) -> Option<&V> {
        if !self.map.contains_key(key) {
            return None;
        }
        self.touch(key);
        self.map.get(key).map(|(v, _)| v)
    }

    fn put(&mut self, key: String, value: V) {
        if let Some((_, t)) = self.map.remove(&key) {
            self.order.remove(&t);
        }
        self.tick += 1;
        self.order.insert(self.tick, key.clone());
        self.map.insert(key, (value, self.tick));
        while self.map.len() > self.cap {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            self.map.remove(&oldest);
        }
    }
}

#[derive(Debug, Clone)]
struct Similar {
    messages: BTreeSet<String>,
    last: Timestamp,
}

#[derive(Debug, Clone)]
struct Observation {
    count: i32,
    first: Option<Time>,
    name: Option<String>,
    resource_version: Option<String>,
}

#[derive(Debug, Clone)]
struct Bucket {
    tokens: f64,
    last: Timestamp,
}

fn s(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or_default()
}

/// Source and involved object, without the field path (the spam filter's key).
fn object_key(e: &Event) -> Vec<&str> {
    let src = e.source.as_ref();
    let o = &e.involved_object;
    vec![
        src.map_or("", |s| s.component.as_deref().unwrap_or_default()),
        src.map_or("", |s| s.host.as_deref().unwrap_or_default()),
        s(&o.kind),
        s(&o.namespace),
        s(&o.name),
        s(&o.uid),
        s(&o.api_version),
    ]
}

/// client-go's `getEventKey`: identical events share it. The parts are joined with a NUL so
/// that different splits of the same text cannot collide.
fn event_key(e: &Event) -> String {
    let mut parts = object_key(e);
    parts.push(s(&e.involved_object.field_path));
    parts.push(s(&e.type_));
    parts.push(s(&e.reason));
    parts.push(s(&e.message));
    parts.join("\0")
}

/// `EventAggregatorByReasonFunc`: similar events differ only by message (and field path).
fn aggregate_key(e: &Event) -> String {
    let mut parts = object_key(e);
    parts.push(s(&e.type_));
    parts.push(s(&e.reason));
    parts.push(s(&e.reporting_component));
    parts.push(s(&e.reporting_instance));
    parts.join("\0")
}

/// client-go's `EventCorrelator` with explicit time.
#[derive(Debug)]
pub struct EventCorrelator {
    options: CorrelatorOptions,
    similar: Lru<Similar>,
    observed: Lru<Observation>,
    spam: Lru<Bucket>,
}

impl Default for EventCorrelator {
    fn default() -> Self {
        Self::new(CorrelatorOptions::default())
    }
}

impl EventCorrelator {
    pub fn new(options: CorrelatorOptions) -> Self {
        Self {
            options,
            similar: Lru::new(options.cache_size),
            observed: Lru::new(options.cache_size),
            spam: Lru::new(options.cache_size),
        }
    }

    /// Aggregates, counts and filters one event observed at `now`.
    pub fn correlate(&mut self, event: Event, now: Timestamp) -> Correlation {
        let (mut event, key) = self.aggregate(event, now);
        let patch = match self.observed.get(&key).cloned().filter(|o| o.count > 0) {
            Some(o) => {
                event.metadata.name = o.name;
                event.metadata.resource_version = o.resource_version;
                event.first_timestamp = o.first;
                event.count = Some(o.count.saturating_add(1));
                Some(json!({
                    "count": event.count,
                    "lastTimestamp": event.last_timestamp,
                    "message": event.message,
                }))
            }
            None => None,
        };
        self.observed.put(key, observation(&event));
        if !self.accept(&event, now) {
            return Correlation::Skip;
        }
        match patch {
            Some(patch) => Correlation::Patch { event, patch },
            None => Correlation::Create(event),
        }
    }

    /// Records what the API returned for a written event (its name, count and version).
    pub fn update_state(&mut self, event: &Event) {
        self.observed.put(event_key(event), observation(event));
    }

    /// `EventAggregate`: the event to record and the key it is counted under.
    fn aggregate(&mut self, event: Event, now: Timestamp) -> (Event, String) {
        let agg = aggregate_key(&event);
        let mut record = self
            .similar
            .get(&agg)
            .cloned()
            .filter(|r| now.duration_since(r.last) <= self.options.max_interval)
            .unwrap_or_else(|| Similar {
                messages: BTreeSet::new(),
                last: now,
            });
        record
            .messages
            .insert(event.message.clone().unwrap_or_default());
        record.last = now;
        if record.messages.len() < self.options.max_events {
            self.similar.put(agg, record);
            let key = event_key(&event);
            return (event, key);
        }
        // Keep the set below the threshold so each further distinct message aggregates again.
        record.messages.pop_first();
        self.similar.put(agg.clone(), record);
        let combined = Event {
            metadata: ObjectMeta {
                name: Some(event_name(s(&event.involved_object.name), now)),
                namespace: event.metadata.namespace.clone(),
                ..Default::default()
            },
            count: Some(1),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            message: Some(format!("{COMBINED_PREFIX}{}", s(&event.message))),
            involved_object: event.involved_object,
            type_: event.type_,
            reason: event.reason,
            source: event.source,
            ..Default::default()
        };
        (combined, agg)
    }

    /// The per-object token bucket; false drops the event.
    fn accept(&mut self, event: &Event, now: Timestamp) -> bool {
        let key = object_key(event).join("\0");
        let burst = f64::from(self.options.spam_burst);
        let mut bucket = self.spam.get(&key).cloned().unwrap_or(Bucket {
            tokens: burst,
            last: now,
        });
        let elapsed = now.duration_since(bucket.last).as_secs_f64().max(0.0);
        bucket.tokens = (bucket.tokens + elapsed * self.options.spam_qps).min(burst);
        bucket.last = bucket.last.max(now);
        let ok = bucket.tokens >= 1.0;
        if ok {
            bucket.tokens -= 1.0;
        }
        self.spam.put(key, bucket);
        ok
    }
}

fn observation(e: &Event) -> Observation {
    Observation {
        count: e.count.unwrap_or(0),
        first: e.first_timestamp.clone(),
        name: e.metadata.name.clone(),
        resource_version: e.metadata.resource_version.clone(),
    }
}

/// Why a write failed, which decides whether it is retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The event to patch is gone: create it instead.
    #[error("event {0} not found")]
    NotFound(String),
    /// The API refused it (invalid, already exists, namespace terminating): not retried.
    #[error("event {name} rejected: {message}")]
    Rejected { name: String, message: String },
    /// The API could not be reached: retried.
    #[error("writing event {name}: {message}")]
    Unavailable { name: String, message: String },
}

/// Writes Events to the API (the real one, or a fake in tests).
pub trait EventWriter: Send + Sync + 'static {
    fn create<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<Event, WriteError>>;
    fn patch<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        patch: &'a Value,
    ) -> BoxFuture<'a, Result<Event, WriteError>>;
}

/// The [`EventWriter`] over the API.
#[derive(Clone)]
pub struct KubeWriter(pub Client);

fn write_error(name: &str, e: kube::Error) -> WriteError {
    match e {
        kube::Error::Api(s) if s.code == 404 => WriteError::NotFound(name.to_owned()),
        kube::Error::Api(s) => WriteError::Rejected {
            name: name.to_owned(),
            message: s.message,
        },
        other => WriteError::Unavailable {
            name: name.to_owned(),
            message: other.to_string(),
        },
    }
}

impl EventWriter for KubeWriter {
    fn create<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<Event, WriteError>> {
        Box::pin(async move {
            let ns = s(&event.metadata.namespace);
            let api: Api<Event> = Api::namespaced(self.0.clone(), ns);
            api.create(&PostParams::default(), event)
                .await
                .map_err(|e| write_error(s(&event.metadata.name), e))
        })
    }

    fn patch<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        patch: &'a Value,
    ) -> BoxFuture<'a, Result<Event, WriteError>> {
        Box::pin(async move {
            let api: Api<Event> = Api::namespaced(self.0.clone(), namespace);
            api.patch(name, &PatchParams::default(), &Patch::Merge(patch))
                .await
                .map_err(|e| write_error(name, e))
        })
    }
}

/// One attempt at writing a correlated event (client-go's `recordEvent`): `Ok` when written
/// or given up on, `Err` when worth retrying.
async fn record(
    writer: &dyn EventWriter,
    correlator: &mut EventCorrelator,
    correlation: &Correlation,
) -> Result<(), WriteError> {
    let result = match correlation {
        Correlation::Skip => return Ok(()),
        Correlation::Create(event) => writer.create(event).await,
        Correlation::Patch { event, patch } => {
            let ns = s(&event.metadata.namespace);
            match writer.patch(ns, s(&event.metadata.name), patch).await {
                Err(WriteError::NotFound(_)) => {
                    let mut fresh = event.clone();
                    fresh.metadata.resource_version = None;
                    writer.create(&fresh).await
                }
                other => other,
            }
        }
    };
    match result {
        Ok(written) => {
            correlator.update_state(&written);
            Ok(())
        }
        Err(e @ WriteError::Unavailable { .. }) => Err(e),
        Err(e) => {
            tracing::warn!(error = %e, "event rejected; not retrying");
            Ok(())
        }
    }
}

/// Correlates and writes queued events until every sender is gone.
async fn run(
    mut rx: mpsc::Receiver<(Event, Timestamp)>,
    writer: Arc<dyn EventWriter>,
    options: CorrelatorOptions,
    retry_interval: Duration,
) {
    let mut correlator = EventCorrelator::new(options);
    while let Some((event, at)) = rx.recv().await {
        let correlation = correlator.correlate(event, at);
        for attempt in 1..=MAX_TRIES {
            match record(writer.as_ref(), &mut correlator, &correlation).await {
                Ok(()) => break,
                Err(e) if attempt == MAX_TRIES => {
                    tracing::warn!(error = %e, "event not written; retry limit reached");
                }
                Err(e) => {
                    tracing::debug!(error = %e, attempt, "event not written; retrying");
                    // The first pause is random so that agents do not all retry together.
                    let pause = if attempt == 1 {
                        retry_interval.mul_f64(rand::random::<f64>())
                    } else {
                        retry_interval
                    };
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }
}

/// The agent's event recorder: cheap to clone, never blocks.
#[derive(Clone)]
pub struct EventSink {
    tx: mpsc::Sender<(Event, Timestamp)>,
    node_name: Arc<str>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for EventSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSink")
            .field("node_name", &self.node_name)
            .finish_non_exhaustive()
    }
}

impl EventSink {
    /// A sink writing through `client`, with the system clock. Spawns the writer task: call it
    /// inside a tokio runtime. The task ends when the last clone of the sink is dropped.
    pub fn new(client: Client, node_name: &str) -> EventSink {
        Self::with_writer(
            Arc::new(KubeWriter(client)),
            node_name,
            Arc::new(SystemClock),
        )
    }

    /// A sink over any writer and clock (tests, virtual time).
    pub fn with_writer(
        writer: Arc<dyn EventWriter>,
        node_name: &str,
        clock: Arc<dyn Clock>,
    ) -> EventSink {
        Self::with_options(
            writer,
            node_name,
            clock,
            CorrelatorOptions::default(),
            QUEUE_CAPACITY,
        )
    }

    /// As [`EventSink::with_writer`], with correlator knobs and a queue size of one's own.
    pub fn with_options(
        writer: Arc<dyn EventWriter>,
        node_name: &str,
        clock: Arc<dyn Clock>,
        options: CorrelatorOptions,
        capacity: usize,
    ) -> EventSink {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        tokio::spawn(run(rx, writer, options, RETRY_INTERVAL));
        EventSink {
            tx,
            node_name: node_name.into(),
            clock,
        }
    }

    /// Queues an event about `involved`; drops it with a warning when the queue is full.
    pub fn emit(
        &self,
        involved: ObjectReference,
        type_: EventType,
        reason: &str,
        message: impl Into<String>,
    ) {
        let now = self.clock.now();
        let event = make_event(
            involved,
            type_,
            reason,
            &message.into(),
            &self.node_name,
            now,
        );
        if let Err(e) = self.tx.try_send((event, now)) {
            let (event, _) = match e {
                mpsc::error::TrySendError::Full(v) | mpsc::error::TrySendError::Closed(v) => v,
            };
            tracing::warn!(
                reason = s(&event.reason),
                object = s(&event.involved_object.name),
                message = s(&event.message),
                "too many queued events; dropped one"
            );
        }
    }

    /// An event about a pod.
    pub fn pod(&self, pod: &Pod, type_: EventType, reason: &str, message: impl Into<String>) {
        self.emit(pod_ref(pod), type_, reason, message);
    }

    /// An event about one container of a pod (`fieldPath` `spec.containers{c}` or
    /// `spec.initContainers{c}`).
    pub fn container(
        &self,
        pod: &Pod,
        container: &str,
        is_init: bool,
        type_: EventType,
        reason: &str,
        message: impl Into<String>,
    ) {
        self.emit(
            container_ref(pod, container, is_init),
            type_,
            reason,
            message,
        );
    }

    /// An event about this sink's node.
    pub fn node(&self, type_: EventType, reason: &str, message: impl Into<String>) {
        self.emit(node_ref(&self.node_name), type_, reason, message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod_obj(name: &str) -> ObjectReference {
        ObjectReference {
            kind: Some("Pod".into()),
            namespace: Some("default".into()),
            name: Some(name.into()),
            uid: Some(format!("uid-{name}")),
            api_version: Some("v1".into()),
            ..Default::default()
        }
    }

    fn ev(name: &str, reason: &str, msg: &str, now: Timestamp) -> Event {
        make_event(pod_obj(name), EventType::Warning, reason, msg, "n1", now)
    }

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + secs).unwrap()
    }

    #[test]
    fn a_repeated_event_is_counted_on_the_first_one() {
        let mut c = EventCorrelator::default();
        let Correlation::Create(first) = c.correlate(ev("p", "BackOff", "back-off", t(0)), t(0))
        else {
            panic!("first occurrence must be created");
        };
        assert_eq!(first.count, Some(1));
        c.update_state(&first);
        match c.correlate(ev("p", "BackOff", "back-off", t(30)), t(30)) {
            Correlation::Patch { event, patch } => {
                assert_eq!(event.metadata.name, first.metadata.name);
                assert_eq!(event.count, Some(2));
                assert_eq!(event.first_timestamp, Some(Time(t(0))));
                assert_eq!(patch["count"], 2);
            }
            other => panic!("expected a patch, got {other:?}"),
        }
        match c.correlate(ev("p", "BackOff", "back-off", t(60)), t(60)) {
            Correlation::Patch { event, .. } => assert_eq!(event.count, Some(3)),
            other => panic!("expected a patch, got {other:?}"),
        }
    }

    #[test]
    fn different_objects_and_reasons_are_counted_apart() {
        let mut c = EventCorrelator::default();
        assert!(matches!(
            c.correlate(ev("a", "Unhealthy", "x", t(0)), t(0)),
            Correlation::Create(_)
        ));
        assert!(matches!(
            c.correlate(ev("b", "Unhealthy", "x", t(0)), t(0)),
            Correlation::Create(_)
        ));
        assert!(matches!(
            c.correlate(ev("a", "Killing", "x", t(0)), t(0)),
            Correlation::Create(_)
        ));
    }

    #[test]
    fn many_distinct_messages_are_combined() {
        let mut c = EventCorrelator::default();
        for i in 0..9 {
            let out = c.correlate(ev("p", "Unhealthy", &format!("m{i}"), t(i)), t(i));
            assert!(
                matches!(out, Correlation::Create(_)),
                "message {i}: {out:?}"
            );
        }
        let Correlation::Create(combined) = c.correlate(ev("p", "Unhealthy", "m9", t(9)), t(9))
        else {
            panic!("the tenth distinct message starts the combined event");
        };
        assert!(
            combined
                .message
                .as_deref()
                .unwrap()
                .starts_with(COMBINED_PREFIX)
        );
        c.update_state(&combined);
        match c.correlate(ev("p", "Unhealthy", "m10", t(10)), t(10)) {
            Correlation::Patch { event, .. } => assert_eq!(event.count, Some(2)),
            other => panic!("expected the combined event to be counted, got {other:?}"),
        }
    }

    #[test]
    fn similar_events_older_than_the_interval_start_over() {
        let mut c = EventCorrelator::default();
        for i in 0..9 {
            c.correlate(ev("p", "Unhealthy", &format!("m{i}"), t(i)), t(i));
        }
        // Eleven minutes later the distinct-message count starts again.
        let out = c.correlate(ev("p", "Unhealthy", "late", t(660)), t(660));
        let Correlation::Create(e) = out else {
            panic!("expected a create, got {out:?}");
        };
        assert_eq!(e.message.as_deref(), Some("late"));
    }

    #[test]
    fn the_spam_filter_drops_after_the_burst_and_refills_slowly() {
        let mut c = EventCorrelator::default();
        for i in 0..25 {
            let out = c.correlate(ev("p", &format!("R{i}"), "x", t(0)), t(0));
            assert_ne!(out, Correlation::Skip, "event {i} is within the burst");
        }
        assert_eq!(
            c.correlate(ev("p", "R25", "x", t(0)), t(0)),
            Correlation::Skip
        );
        // Another object has its own bucket.
        assert_ne!(
            c.correlate(ev("q", "R0", "x", t(0)), t(0)),
            Correlation::Skip
        );
        // One token comes back every five minutes.
        assert_eq!(
            c.correlate(ev("p", "R26", "x", t(200)), t(200)),
            Correlation::Skip
        );
        assert_ne!(
            c.correlate(ev("p", "R27", "x", t(301)), t(301)),
            Correlation::Skip
        );
    }
}
