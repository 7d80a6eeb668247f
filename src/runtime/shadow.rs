//! Shadow testing: a copy of a sampled fraction of production inputs goes through a bounded,
//! preallocated queue to the supervisor thread, which runs the shadow model and compares its
//! label with production's. The caller never waits for (or sees) the shadow.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::card::InputKind;
use crate::error::Status;
use crate::sampling::EvenSampler;
use crate::session::Input;

/// One queued comparison: the production input (copied into preallocated buffers) and
/// production's answer.
pub(crate) struct ShadowItem {
    kind: InputKind,
    text: String,
    values: Vec<f32>,
    bytes: Vec<u8>,
    /// Production's label, or `None` when production failed.
    pub production_label: Option<Arc<str>>,
}

impl ShadowItem {
    fn with_capacity(max_bytes: usize, max_values: usize) -> ShadowItem {
        ShadowItem {
            kind: InputKind::Text,
            text: String::with_capacity(max_bytes),
            values: Vec::with_capacity(max_values),
            bytes: Vec::with_capacity(max_bytes),
            production_label: None,
        }
    }

    /// Copies `input` in; false (nothing copied) when it does not fit the preallocated buffers.
    fn fill(&mut self, input: Input<'_>, production_label: Option<&Arc<str>>) -> bool {
        let fits = match input {
            Input::Text(t) => t.len() <= self.text.capacity(),
            Input::Utf8(_) => false,
            Input::Tensor(v) => v.len() <= self.values.capacity(),
            Input::Bytes(b) => b.len() <= self.bytes.capacity(),
        };
        if !fits {
            return false;
        }
        self.kind = input.kind();
        self.text.clear();
        self.values.clear();
        self.bytes.clear();
        match input {
            Input::Text(t) => self.text.push_str(t),
            Input::Utf8(_) => unreachable!("refused above"),
            Input::Tensor(v) => self.values.extend_from_slice(v),
            Input::Bytes(b) => self.bytes.extend_from_slice(b),
        }
        self.production_label = production_label.cloned();
        true
    }

    /// The copied input.
    pub fn input(&self) -> Input<'_> {
        match self.kind {
            InputKind::Text => Input::Text(&self.text),
            InputKind::Tensor => Input::Tensor(&self.values),
            InputKind::Bytes => Input::Bytes(&self.bytes),
        }
    }
}

struct Ring {
    items: Vec<ShadowItem>,
    head: usize,
    len: usize,
}

/// Counters of a shadow deployment.
#[derive(Default)]
pub(crate) struct ShadowCounters {
    pub sampled: AtomicU64,
    pub compared: AtomicU64,
    pub agreed: AtomicU64,
    pub production_errors: AtomicU64,
    pub shadow_errors: AtomicU64,
    pub skipped_queue_full: AtomicU64,
    pub skipped_too_large: AtomicU64,
    pub discarded_at_stop: AtomicU64,
}

/// The bounded queue between request threads and the supervisor.
pub(crate) struct ShadowQueue {
    ring: Mutex<Ring>,
    /// Which production requests are sampled: request k is when floor((k+1)·f) > floor(k·f).
    sampler: EvenSampler,
    /// Buffer sizes of every item (for [`spare`](Self::spare)).
    item_bytes: usize,
    item_values: usize,
    pub counters: ShadowCounters,
}

impl ShadowQueue {
    pub fn new(capacity: usize, fraction: f64, max_bytes: usize, max_values: usize) -> ShadowQueue {
        let items = (0..capacity).map(|_| ShadowItem::with_capacity(max_bytes, max_values)).collect();
        ShadowQueue {
            ring: Mutex::new(Ring { items, head: 0, len: 0 }),
            sampler: EvenSampler::new(fraction),
            item_bytes: max_bytes,
            item_values: max_values,
            counters: ShadowCounters::default(),
        }
    }

    /// The sampling fraction.
    pub fn fraction(&self) -> f64 {
        self.sampler.fraction()
    }

    /// Whether this production request is sampled (exactly `fraction` of requests, spread evenly).
    pub fn sample(&self) -> bool {
        self.sampler.sample()
    }

    /// Queues a copy of `input` and production's answer; true when queued (the caller then
    /// wakes the supervisor). Never blocks beyond the short queue lock, never allocates.
    pub fn offer(&self, input: Input<'_>, production: std::result::Result<&Arc<str>, Status>) -> bool {
        self.counters.sampled.fetch_add(1, Ordering::Relaxed);
        let mut ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        let capacity = ring.items.len();
        if ring.len == capacity {
            self.counters.skipped_queue_full.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        let tail = (ring.head + ring.len) % capacity;
        if !ring.items[tail].fill(input, production.ok()) {
            self.counters.skipped_too_large.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        ring.len += 1;
        true
    }

    /// Takes the oldest queued item by swapping it with `spare` (the consumer's own buffers):
    /// no copy, no allocation. False when the queue is empty.
    pub fn take(&self, spare: &mut ShadowItem) -> bool {
        let mut ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        if ring.len == 0 {
            return false;
        }
        let head = ring.head;
        std::mem::swap(&mut ring.items[head], spare);
        ring.head = (head + 1) % ring.items.len();
        ring.len -= 1;
        true
    }

    /// A spare item shaped like the queue's (for [`take`](Self::take)).
    pub fn spare(&self) -> ShadowItem {
        ShadowItem::with_capacity(self.item_bytes, self.item_values)
    }

    /// Items waiting.
    pub fn pending(&self) -> usize {
        self.ring.lock().unwrap_or_else(|e| e.into_inner()).len
    }

    /// Drops every waiting item, counting them as discarded.
    pub fn discard_all(&self) {
        let mut ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        self.counters.discarded_at_stop.fetch_add(ring.len as u64, Ordering::Relaxed);
        ring.len = 0;
    }
}

/// Shadow testing results.
#[derive(Clone, Debug, PartialEq)]
pub struct ShadowReport {
    /// The shadow model's version.
    pub version: String,
    /// Fraction of production requests sampled.
    pub fraction: f64,
    /// Production requests sampled.
    pub sampled: u64,
    /// Comparisons made (both answered).
    pub compared: u64,
    /// Comparisons where the shadow gave production's label.
    pub agreed: u64,
    /// `agreed / compared` (NaN before the first comparison).
    pub agreement_rate: f64,
    /// Shadow requests that failed.
    pub shadow_errors: u64,
    /// Sampled requests whose production answer was an error (the shadow still ran; not compared).
    pub production_errors: u64,
    /// Sampled requests not shadowed because the queue was full.
    pub skipped_queue_full: u64,
    /// Sampled requests not shadowed because the input was larger than the queue's buffers.
    pub skipped_too_large: u64,
    /// Items still queued.
    pub pending: u64,
    /// Items dropped when the shadow was removed or the runtime shut down.
    pub discarded: u64,
    /// The shadow's own latency p95 in µs (its monitor's window; kept apart from production's).
    pub latency_p95_us: f64,
    /// The shadow's requests in its monitor window.
    pub window_count: u64,
}
