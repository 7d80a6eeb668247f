//! The request path: one SPSC ring ("lane") per recorder, claimed by a session, drained by the
//! analysis under the monitor's lock. No lock, no allocation, no syscall on `record`.

use std::sync::Arc;
use std::time::Instant;

use crate::record::{Record, MAX_FEATURES};
use crate::ring::Ring;
use crate::sync::{AtomicBool, AtomicU64, Ordering};

/// One producer's ring and its counters.
#[derive(Debug)]
pub(crate) struct Lane {
    ring: Ring<Record>,
    /// Held by the one [`Recorder`] that may push into `ring`.
    claimed: AtomicBool,
    /// Records refused because `ring` was full (written by the producer only).
    dropped: AtomicU64,
}

/// The producer side of a monitor, shared by its recorders and its analysis.
#[derive(Debug)]
pub(crate) struct Ingest {
    lanes: Box<[Lane]>,
    epoch: Instant,
    feature_indices: heapless::Vec<u32, MAX_FEATURES>,
}

impl Ingest {
    pub(crate) fn new(lanes: usize, ring_capacity: usize, feature_indices: &[u32]) -> Ingest {
        let lanes = (0..lanes)
            .map(|_| Lane {
                ring: Ring::new(ring_capacity),
                claimed: AtomicBool::new(false),
                dropped: AtomicU64::new(0),
            })
            .collect();
        Ingest {
            lanes,
            epoch: Instant::now(),
            feature_indices: heapless::Vec::from_slice(feature_indices).expect("validated by the config"),
        }
    }

    /// Claims a free lane for a new producer.
    pub(crate) fn claim(self: &Arc<Self>, version: u16) -> Option<Recorder> {
        let lane = self.lanes.iter().position(|lane| {
            // Acquire pairs with the Release in `Recorder::drop`: the new producer sees the
            // previous producer's last `tail`.
            lane.claimed.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok()
        })?;
        Some(Recorder { ingest: Arc::clone(self), lane, version })
    }

    /// Pops every waiting record into `sink`, lane by lane.
    ///
    /// # Safety
    /// The caller must be the only consumer: the monitor calls it with its analysis lock held.
    pub(crate) unsafe fn drain(&self, mut sink: impl FnMut(Record)) -> usize {
        let mut count = 0;
        for lane in self.lanes.iter() {
            // SAFETY: the caller guarantees a single consumer.
            while let Some(record) = unsafe { lane.ring.pop() } {
                sink(record);
                count += 1;
            }
        }
        count
    }

    /// Records refused by full rings so far, all lanes.
    pub(crate) fn dropped(&self) -> u64 {
        self.lanes.iter().map(|lane| lane.dropped.load(Ordering::Relaxed)).sum()
    }

    /// Records waiting in the rings.
    pub(crate) fn pending(&self) -> u64 {
        self.lanes.iter().map(|lane| lane.ring.len() as u64).sum()
    }

    /// Lanes currently held by a recorder.
    pub(crate) fn lanes_in_use(&self) -> usize {
        self.lanes.iter().filter(|lane| lane.claimed.load(Ordering::Relaxed)).count()
    }
}

/// The producer handle a session keeps: pushes one [`Record`] per request into its own lane.
///
/// `Send`, not `Sync`, and `record` takes `&mut self`: one thread at a time, which is what makes
/// the lane single-producer. Dropping it frees the lane for another recorder; records it pushed
/// stay in the lane until the next analysis.
#[derive(Debug)]
pub struct Recorder {
    ingest: Arc<Ingest>,
    lane: usize,
    version: u16,
}

impl Recorder {
    /// Pushes `record`, stamped with this recorder's version and the time `at`. Returns false
    /// when the lane was full: the record is then counted as dropped (never lost silently).
    /// Wait-free: two atomic loads, one copy, one atomic store (plus one atomic add when full).
    #[inline]
    pub fn record_at(&mut self, mut record: Record, at: Instant) -> bool {
        record.timestamp_ns = at.saturating_duration_since(self.ingest.epoch).as_nanos() as u64;
        record.version = self.version;
        let lane = &self.ingest.lanes[self.lane];
        // SAFETY: this recorder holds the lane's claim (taken in `Ingest::claim`, released only in
        // `drop`) and `&mut self` keeps it on one thread at a time: a single producer.
        match unsafe { lane.ring.push(record) } {
            Ok(()) => true,
            Err(_) => {
                lane.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Indexes of the input tensor values the monitor tracks for drift (at most [`MAX_FEATURES`]);
    /// the caller copies those values into [`Record::features`].
    pub fn feature_indices(&self) -> &[u32] {
        &self.ingest.feature_indices
    }

    /// The model version id this recorder stamps.
    pub fn version(&self) -> u16 {
        self.version
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        // Release: the next claimer's Acquire sees every push this recorder made.
        self.ingest.lanes[self.lane].claimed.store(false, Ordering::Release);
    }
}

/// A lane handed from one recorder to another on another thread while the consumer drains:
/// `RUSTFLAGS="--cfg loom" cargo test --release --lib loom`.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;

    #[test]
    fn lane_handoff_keeps_single_producer_and_counts() {
        loom::model(|| {
            let ingest = Arc::new(Ingest::new(1, 2, &[]));
            let first = ingest.claim(0).expect("free lane");
            assert!(ingest.claim(0).is_none(), "one producer per lane");
            let t = std::time::Instant::now();
            let writer = {
                let ingest = ingest.clone();
                loom::thread::spawn(move || {
                    let mut first = first;
                    let mut accepted = usize::from(first.record_at(Record::success(1, 0, 0.5, 1), t));
                    drop(first);
                    let mut second = loop {
                        if let Some(r) = ingest.claim(1) {
                            break r;
                        }
                        loom::thread::yield_now();
                    };
                    accepted += usize::from(second.record_at(Record::success(2, 0, 0.5, 1), t));
                    accepted += usize::from(second.record_at(Record::success(3, 0, 0.5, 1), t));
                    accepted
                })
            };
            // Without this yield loom explores a single interleaving: it never preempts a thread
            // whose first operation is an atomic load (loom bug tokio-rs/loom#392).
            loom::thread::yield_now();
            let mut seen = Vec::new();
            // SAFETY: this thread is the only consumer.
            unsafe { ingest.drain(|r| seen.push(r.latency_ns)) };
            let accepted = writer.join().unwrap();
            // SAFETY: as above.
            unsafe { ingest.drain(|r| seen.push(r.latency_ns)) };
            assert_eq!(seen.len(), accepted);
            assert_eq!(seen.len() as u64 + ingest.dropped(), 3);
            assert!(seen.windows(2).all(|w| w[0] < w[1]));
        });
    }
}
