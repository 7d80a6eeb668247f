//! Telemetry out of the device, through hooks the host owns (the library never does network I/O).
//!
//! - **Recording** (the request path): [`Telemetry::record_request`] and
//!   [`Telemetry::record_event`] put a fixed-size record into a bounded lock-free queue
//!   (`crossbeam_queue::ArrayQueue`); a full queue pushes its oldest record out and counts it.
//!   Successful requests are sampled at `request_sample_rate` (exactly that fraction, spread
//!   evenly); failed requests and events are always recorded. No lock, no allocation, no I/O.
//! - **Batching** (the host's scheduler): [`Telemetry::flush`] numbers the queued records, cuts
//!   batches by record count and bytes, writes each as JSON Lines ([`jsonl`], schema
//!   `mlops_edge.telemetry` v1) and hands it to the host's upload callback with a batch id. The
//!   callback answers [`Verdict::Ok`], [`Verdict::Retry`] (the same batch — same id, same bytes —
//!   is offered again after an exponential backoff with jitter) or [`Verdict::Drop`]. Nothing is
//!   deleted before OK or DROP; no record is offered again after OK.
//! - **Signal**: an optional "ready" callback fires (once until the next flush) when
//!   `batch_max_records` records have been recorded since the last flush; it should only wake the
//!   host's scheduler.
//! - **Spool** (optional): records leaving the queue are appended to a checksummed file
//!   (the `spool` module); after an app kill the next [`Telemetry::new`] recovers them (cutting a
//!   torn tail) and offers an interrupted batch again with its id.
//!
//! Accounting is exact: `recorded = sent + dropped_queue_full + dropped_by_host + pending`.

pub mod jsonl;
pub mod record;
mod spool;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_queue::ArrayQueue;

use crate::error::{fail, Result, Status};
use crate::events::Event;
use crate::sampling::EvenSampler;
use crate::session::Prediction;
use jsonl::BatchHeader;
use record::{inline, EventRecord, Queued, RecordBody, RequestRecord, TelemetryRecord};
use spool::{OpenBatch, Outcome, Spool};

/// Largest `queue_capacity`.
pub const MAX_QUEUE_CAPACITY: usize = 1 << 20;

/// How telemetry is sized and behaves. Fixed at creation.
#[derive(Clone, Debug)]
pub struct TelemetryOptions {
    /// Records the lock-free queue holds (16..=1,048,576; default 4096). Records taken out of it
    /// wait for a batch in a buffer of the same size: at most twice this many records (plus the
    /// batch being offered) are kept in memory.
    pub queue_capacity: usize,
    /// Fraction of successful requests recorded (0..=1, default 1). Failed requests and events
    /// are always recorded.
    pub request_sample_rate: f64,
    /// Most records per batch (1..=100,000, default 500).
    pub batch_max_records: usize,
    /// Most bytes per batch (1 KiB..=64 MiB, default 256 KiB); a single record larger than this
    /// still goes out alone.
    pub batch_max_bytes: usize,
    /// Backoff after the first RETRY (default 1 s); doubles per retry up to `retry_max`, each
    /// wait drawn in [delay/2, delay).
    pub retry_initial: Duration,
    /// Longest backoff (default 5 min).
    pub retry_max: Duration,
    /// The spool file, if records should survive an app kill (default none).
    pub spool_path: Option<PathBuf>,
    /// Largest spool file (4 KiB..=1 GiB, default 4 MiB); records that do not fit after a
    /// compaction stay in memory only (counted as `spool_skipped`).
    pub spool_max_bytes: u64,
    /// `fsync` every spool write (survives power loss too; slower). Default false: writes reach
    /// the OS, which survives an app kill.
    pub spool_sync: bool,
    /// Written into each batch's header (at most 64 bytes; default empty).
    pub device_id: String,
}

impl Default for TelemetryOptions {
    fn default() -> Self {
        TelemetryOptions {
            queue_capacity: 4096,
            request_sample_rate: 1.0,
            batch_max_records: 500,
            batch_max_bytes: 256 * 1024,
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(300),
            spool_path: None,
            spool_max_bytes: 4 << 20,
            spool_sync: false,
            device_id: String::new(),
        }
    }
}

impl TelemetryOptions {
    fn validate(&self) -> Result<()> {
        let invalid = |message: String| fail(Status::InvalidArgument, message);
        if !(16..=MAX_QUEUE_CAPACITY).contains(&self.queue_capacity) {
            return invalid(format!("queue_capacity {} is not in 16..={MAX_QUEUE_CAPACITY}", self.queue_capacity));
        }
        if !(0.0..=1.0).contains(&self.request_sample_rate) {
            return invalid(format!("request_sample_rate {} is not in [0, 1]", self.request_sample_rate));
        }
        if !(1..=100_000).contains(&self.batch_max_records) {
            return invalid(format!("batch_max_records {} is not in 1..=100000", self.batch_max_records));
        }
        if !(1024..=64 << 20).contains(&self.batch_max_bytes) {
            return invalid(format!("batch_max_bytes {} is not in 1024..=67108864", self.batch_max_bytes));
        }
        if self.retry_initial.is_zero() || self.retry_max < self.retry_initial {
            return invalid("need 0 < retry_initial <= retry_max".to_string());
        }
        if !(4096..=1 << 30).contains(&self.spool_max_bytes) {
            return invalid(format!("spool_max_bytes {} is not in 4096..=1073741824", self.spool_max_bytes));
        }
        if self.device_id.len() > 64 {
            return invalid("device_id is at most 64 bytes".to_string());
        }
        Ok(())
    }
}

/// The host's answer to a batch.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Delivered: the batch is done.
    Ok,
    /// Not delivered: keep it and offer it again later (after a backoff).
    Retry,
    /// Give up on it: its records are counted as dropped by the host.
    Drop,
}

/// A batch offered to the upload callback.
#[derive(Debug)]
pub struct Batch<'a> {
    /// Unique per device and rising (kept across restarts by the spool); the same on every
    /// offer of this batch, so a backend can drop duplicates.
    pub id: u64,
    /// The JSON Lines text (UTF-8, ending with a newline).
    pub data: &'a [u8],
    /// Records in it (lines after the header).
    pub records: usize,
    /// Sequence number of its first record.
    pub first_seq: u64,
    /// Sequence number of its last record.
    pub last_seq: u64,
    /// 1 on the first offer, then one more per RETRY.
    pub attempt: u32,
}

/// Uploads a batch (or decides not to). Runs on the thread that called
/// [`flush`](Telemetry::flush); a flush from inside it gets `Busy`.
pub type UploadCallback = Box<dyn FnMut(&Batch<'_>) -> Verdict + Send>;

/// Told that a batch's worth of records is waiting (the argument: records recorded since the
/// last flush). Runs on a request thread: it must only signal the host's scheduler.
pub type ReadyCallback = Box<dyn Fn(u64) + Send + Sync>;

/// Counters since creation (recovered spool records count as recorded).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TelemetryStats {
    /// Records accepted (sampled requests, errors, events, recovered records).
    pub recorded: u64,
    /// Successful requests not recorded because of sampling.
    pub sampled_out: u64,
    /// Records in batches answered OK.
    pub sent: u64,
    /// Records in batches answered RETRY (once per answer).
    pub retried: u64,
    /// Oldest records pushed out of a full queue or buffer.
    pub dropped_queue_full: u64,
    /// Records in batches answered DROP.
    pub dropped_by_host: u64,
    /// Records waiting: `recorded − sent − dropped_queue_full − dropped_by_host`.
    pub pending: u64,
    /// Batches answered OK.
    pub batches_sent: u64,
    /// RETRY answers.
    pub batches_retried: u64,
    /// Batches answered DROP.
    pub batches_dropped: u64,
    /// Records recovered from the spool at creation.
    pub recovered: u64,
    /// Bytes cut off the spool's end at creation (a torn tail: a write cut short by a kill), or
    /// the bytes of a spool found shorter than its header.
    pub spool_torn_bytes: u64,
    /// Bytes of damaged entries skipped inside the spool at creation; the intact entries after
    /// them were recovered.
    pub spool_corrupt_bytes: u64,
    /// Stretches of damage skipped inside the spool at creation.
    pub spool_corrupt_regions: u64,
    /// Whether the spool file existed but was shorter than its header at creation (emptied or
    /// cut by something else: whatever it held is lost).
    pub spool_truncated: bool,
    /// Current spool file size (0 without a spool).
    pub spool_bytes: u64,
    /// Records that did not fit in the spool (kept in memory only).
    pub spool_skipped: u64,
    /// Records found lost at creation: live in the last process's memory but not in its spool,
    /// which was full when it was last compacted (raise `spool_max_bytes`).
    pub spool_lost_records: u64,
    /// Spool writes that failed (the records stay in memory; see `last_spool_error`).
    pub spool_errors: u64,
    /// The last spool error.
    pub last_spool_error: Option<String>,
}

/// What one flush did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlushReport {
    /// Batches answered OK in this flush.
    pub batches_sent: u64,
    /// Batches answered DROP.
    pub batches_dropped: u64,
    /// Whether the last batch was answered RETRY (the flush stopped there).
    pub retried: bool,
    /// When a batch waits for its backoff: how long until it may be offered again. The host
    /// should schedule a flush after it.
    pub retry_after: Option<Duration>,
    /// Records still waiting after the flush.
    pub pending: u64,
}

#[derive(Default)]
struct Counters {
    recorded: AtomicU64,
    sampled_out: AtomicU64,
    sent: AtomicU64,
    retried: AtomicU64,
    dropped_queue_full: AtomicU64,
    dropped_by_host: AtomicU64,
    batches_sent: AtomicU64,
    batches_retried: AtomicU64,
    batches_dropped: AtomicU64,
    recovered: AtomicU64,
    spool_torn_bytes: AtomicU64,
    spool_corrupt_bytes: AtomicU64,
    spool_corrupt_regions: AtomicU64,
    spool_truncated: AtomicBool,
    spool_bytes: AtomicU64,
    spool_skipped: AtomicU64,
    spool_lost_records: AtomicU64,
    spool_errors: AtomicU64,
}

/// The batch being offered.
struct InFlight {
    id: u64,
    records: Vec<TelemetryRecord>,
    data: Vec<u8>,
    attempts: u32,
    not_before: Option<Instant>,
}

/// Room left in a batch for its header line (at most ~300 bytes).
const HEADER_ROOM: usize = 320;

impl InFlight {
    /// A batch of `records` (non-empty) whose record lines are `body`: the header goes first.
    fn new(device_id: &str, id: u64, records: Vec<TelemetryRecord>, body: &[u8]) -> InFlight {
        let mut data = Vec::with_capacity(HEADER_ROOM + body.len());
        jsonl::write_header(
            &mut data,
            &BatchHeader {
                batch_id: id,
                device_id,
                created_unix_ms: unix_ms_now(),
                records: records.len(),
                first_seq: records[0].seq,
                last_seq: records[records.len() - 1].seq,
            },
        );
        data.extend_from_slice(body);
        InFlight { id, records, data, attempts: 0, not_before: None }
    }

    /// A batch of `records` (non-empty), serialized whole (a batch recovered from the spool).
    fn serialize(device_id: &str, id: u64, records: Vec<TelemetryRecord>) -> InFlight {
        let mut body = Vec::new();
        records.iter().for_each(|r| jsonl::write_record(&mut body, r));
        InFlight::new(device_id, id, records, &body)
    }

    /// Its id and sequence range, as the spool notes it.
    fn open_batch(&self) -> OpenBatch {
        OpenBatch { id: self.id, first_seq: self.records[0].seq, last_seq: self.records[self.records.len() - 1].seq }
    }
}

struct State {
    upload: UploadCallback,
    /// Numbered records waiting for a batch, in sequence order after the batch in flight
    /// (consecutive, except where a damaged spool lost records).
    pending: VecDeque<TelemetryRecord>,
    in_flight: Option<InFlight>,
    next_seq: u64,
    next_batch_id: u64,
    spool: Option<Spool>,
    last_spool_error: Option<String>,
    /// A spool write failed since the last compaction: the file may lack live records (or
    /// acknowledgements), so the next persist rewrites it whole instead of appending.
    spool_behind: bool,
    /// The highest seq already counted in `spool_skipped`: a record left out of several
    /// rewrites in a row is counted once.
    skipped_through_seq: u64,
}

struct Inner {
    options: TelemetryOptions,
    queue: ArrayQueue<Queued>,
    sampler: EvenSampler,
    counters: Counters,
    since_flush: AtomicU64,
    ready_signalled: AtomicBool,
    ready: Option<ReadyCallback>,
    state: Mutex<State>,
}

/// Telemetry: cheap to clone (shared), `Send + Sync`. See the module docs.
#[derive(Clone)]
pub struct Telemetry {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry").field("options", &self.inner.options).finish_non_exhaustive()
    }
}

/// Milliseconds since the Unix epoch now (0 if the clock is before 1970).
pub(crate) fn unix_ms_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl Telemetry {
    /// Telemetry with `upload` as the upload callback and `ready`, if any, as the signal. With a
    /// spool path, opens the spool and recovers what it holds (see
    /// [`stats`](Self::stats)`.recovered` and `.spool_torn_bytes`).
    ///
    /// Errors: `InvalidArgument` for options out of range; `Io` when the spool cannot be opened
    /// or is not a spool file; `SpoolLocked` when another handle has the same spool open.
    pub fn new(options: TelemetryOptions, upload: UploadCallback, ready: Option<ReadyCallback>) -> Result<Telemetry> {
        options.validate()?;
        let counters = Counters::default();
        let mut state = State {
            upload,
            pending: VecDeque::with_capacity(options.queue_capacity),
            in_flight: None,
            next_seq: 1,
            next_batch_id: 1,
            spool: None,
            last_spool_error: None,
            spool_behind: false,
            skipped_through_seq: 0,
        };
        if let Some(path) = &options.spool_path {
            let (spool, recovered) = Spool::open(path, options.spool_max_bytes, options.spool_sync)?;
            let count = recovered.records.len() as u64;
            counters.recorded.store(count, Ordering::Relaxed);
            counters.recovered.store(count, Ordering::Relaxed);
            counters.spool_torn_bytes.store(recovered.torn_bytes, Ordering::Relaxed);
            counters.spool_corrupt_bytes.store(recovered.corrupt_bytes, Ordering::Relaxed);
            counters.spool_corrupt_regions.store(recovered.corrupt_regions, Ordering::Relaxed);
            counters.spool_lost_records.store(recovered.lost_unspooled, Ordering::Relaxed);
            counters.spool_truncated.store(recovered.truncated, Ordering::Relaxed);
            counters.spool_bytes.store(spool.len(), Ordering::Relaxed);
            if let Some(damage) = recovered.damage(path) {
                log::warn!("{damage}");
                state.last_spool_error = Some(damage);
            }
            state.next_seq = recovered.next_seq.max(1);
            state.next_batch_id = recovered.next_batch_id.max(1);
            // A batch interrupted by the kill is offered first, with its id and records; the
            // others wait in the buffer, in sequence order.
            let (again, rest): (Vec<_>, Vec<_>) = recovered
                .records
                .into_iter()
                .partition(|r| recovered.open_batch.is_some_and(|b| (b.first_seq..=b.last_seq).contains(&r.seq)));
            if let (Some(batch), false) = (recovered.open_batch, again.is_empty()) {
                state.in_flight = Some(InFlight::serialize(&options.device_id, batch.id, again));
            }
            state.pending.extend(rest);
            state.spool = Some(spool);
        }
        Ok(Telemetry {
            inner: Arc::new(Inner {
                queue: ArrayQueue::new(options.queue_capacity),
                sampler: EvenSampler::new(options.request_sample_rate),
                counters,
                since_flush: AtomicU64::new(0),
                ready_signalled: AtomicBool::new(false),
                ready,
                state: Mutex::new(state),
                options,
            }),
        })
    }

    /// The options it was created with.
    pub fn options(&self) -> &TelemetryOptions {
        &self.inner.options
    }

    /// Records an answered request (sampled when it succeeded). Lock-free, allocation-free.
    pub fn record_request(
        &self,
        model_version: &str,
        variant: usize,
        candidate: bool,
        result: std::result::Result<&Prediction, Status>,
    ) {
        let inner = &*self.inner;
        if result.is_ok() && !inner.sampler.sample() {
            inner.counters.sampled_out.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let (status, label, confidence, latency_ns, input_length) = match result {
            Ok(p) => (
                Status::Ok,
                Some(p.label_index as u32),
                p.score,
                p.latency.as_nanos().min(u64::MAX as u128) as u64,
                p.input_length.min(u32::MAX as usize) as u32,
            ),
            Err(status) => (status, None, 0.0, 0, 0),
        };
        self.push(RecordBody::Request(RequestRecord {
            model_version: inline(model_version),
            variant: variant.min(u16::MAX as usize) as u16,
            candidate,
            status,
            label,
            confidence,
            latency_ns,
            input_length,
        }));
    }

    /// Records a deployment event (always recorded).
    pub fn record_event(&self, event: &Event) {
        self.push(RecordBody::Event(EventRecord::from_event(event)));
    }

    fn push(&self, body: RecordBody) {
        let inner = &*self.inner;
        inner.counters.recorded.fetch_add(1, Ordering::Relaxed);
        if inner.queue.force_push(Queued { time_unix_ms: unix_ms_now(), body }).is_some() {
            inner.counters.dropped_queue_full.fetch_add(1, Ordering::Relaxed);
        }
        let waiting = inner.since_flush.fetch_add(1, Ordering::Relaxed) + 1;
        if waiting >= inner.options.batch_max_records as u64 {
            if let Some(ready) = &inner.ready {
                if !inner.ready_signalled.swap(true, Ordering::AcqRel) {
                    ready(waiting);
                }
            }
        }
    }

    /// Moves queued records into the batch buffer and the spool without uploading (the runtime's
    /// supervisor calls it every evaluation; a host may call it before going to the background).
    /// Returns `Busy` while a flush runs (which persists them itself).
    pub fn persist(&self) -> Result<()> {
        let mut state = self.try_lock_state()?;
        self.inner.take_queued(&mut state);
        Ok(())
    }

    /// Offers batches to the upload callback until the host answers RETRY, a batch is waiting
    /// for its backoff, or nothing is left (records recorded during the flush wait for the next
    /// one). `Busy` if another flush runs (or this is called from the upload callback).
    pub fn flush(&self) -> Result<FlushReport> {
        self.flush_with_clock(None)
    }

    /// [`flush`](Self::flush) with the host's idea of now: backoff deadlines are compared with
    /// it, and a RETRY's backoff counts from it.
    pub fn flush_at(&self, now: Instant) -> Result<FlushReport> {
        self.flush_with_clock(Some(now))
    }

    /// `clock`: the host's now, or `None` for the real clock (read again when the host answers,
    /// so that a slow upload does not eat into its own backoff).
    fn flush_with_clock(&self, clock: Option<Instant>) -> Result<FlushReport> {
        let now = clock.unwrap_or_else(crate::clock::now);
        let inner = &*self.inner;
        let mut state = self.try_lock_state()?;
        inner.since_flush.store(0, Ordering::Relaxed);
        inner.ready_signalled.store(false, Ordering::Release);
        inner.take_queued(&mut state);
        let mut report = FlushReport::default();
        loop {
            if state.in_flight.is_none() && !inner.form_batch(&mut state) {
                break;
            }
            let State { upload, in_flight, .. } = &mut *state;
            let batch = in_flight.as_mut().expect("a batch was formed");
            if let Some(not_before) = batch.not_before.filter(|t| *t > now) {
                report.retry_after = Some(not_before - now);
                break;
            }
            batch.attempts += 1;
            let n = batch.records.len() as u64;
            let verdict = upload(&Batch {
                id: batch.id,
                data: &batch.data,
                records: batch.records.len(),
                first_seq: batch.records[0].seq,
                last_seq: batch.records[batch.records.len() - 1].seq,
                attempt: batch.attempts,
            });
            match verdict {
                Verdict::Retry => {
                    inner.counters.retried.fetch_add(n, Ordering::Relaxed);
                    inner.counters.batches_retried.fetch_add(1, Ordering::Relaxed);
                    let wait = inner.backoff(batch.id, batch.attempts);
                    batch.not_before = Some(clock.unwrap_or_else(crate::clock::now) + wait);
                    report.retried = true;
                    report.retry_after = Some(wait);
                    break;
                }
                Verdict::Ok | Verdict::Drop => {
                    let batch = state.in_flight.take().expect("in flight").open_batch();
                    let outcome = if verdict == Verdict::Ok {
                        inner.counters.sent.fetch_add(n, Ordering::Relaxed);
                        inner.counters.batches_sent.fetch_add(1, Ordering::Relaxed);
                        report.batches_sent += 1;
                        Outcome::Sent
                    } else {
                        inner.counters.dropped_by_host.fetch_add(n, Ordering::Relaxed);
                        inner.counters.batches_dropped.fetch_add(1, Ordering::Relaxed);
                        report.batches_dropped += 1;
                        Outcome::DroppedByHost
                    };
                    inner.spool_ack(&mut state, batch.id, batch.first_seq, batch.last_seq, outcome);
                }
            }
        }
        inner.compact_if_idle(&mut state);
        drop(state);
        report.pending = self.stats().pending;
        Ok(report)
    }

    /// Counters now.
    pub fn stats(&self) -> TelemetryStats {
        let c = &self.inner.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let (recorded, sent, dropped_queue_full, dropped_by_host) =
            (get(&c.recorded), get(&c.sent), get(&c.dropped_queue_full), get(&c.dropped_by_host));
        let last_spool_error = match self.inner.state.try_lock() {
            Ok(state) => state.last_spool_error.clone(),
            Err(TryLockError::Poisoned(e)) => e.into_inner().last_spool_error.clone(),
            Err(TryLockError::WouldBlock) => None,
        };
        TelemetryStats {
            recorded,
            sampled_out: get(&c.sampled_out),
            sent,
            retried: get(&c.retried),
            dropped_queue_full,
            dropped_by_host,
            pending: recorded.saturating_sub(sent + dropped_queue_full + dropped_by_host),
            batches_sent: get(&c.batches_sent),
            batches_retried: get(&c.batches_retried),
            batches_dropped: get(&c.batches_dropped),
            recovered: get(&c.recovered),
            spool_torn_bytes: get(&c.spool_torn_bytes),
            spool_corrupt_bytes: get(&c.spool_corrupt_bytes),
            spool_corrupt_regions: get(&c.spool_corrupt_regions),
            spool_truncated: c.spool_truncated.load(Ordering::Relaxed),
            spool_bytes: get(&c.spool_bytes),
            spool_skipped: get(&c.spool_skipped),
            spool_lost_records: get(&c.spool_lost_records),
            spool_errors: get(&c.spool_errors),
            last_spool_error,
        }
    }

    fn try_lock_state(&self) -> Result<MutexGuard<'_, State>> {
        match self.inner.state.try_lock() {
            Ok(state) => Ok(state),
            Err(TryLockError::Poisoned(e)) => Ok(e.into_inner()),
            Err(TryLockError::WouldBlock) => {
                fail(Status::Busy, "a telemetry flush is running (flush is not re-entrant from the upload callback)")
            }
        }
    }
}

/// splitmix64: a well-mixed hash of `x`.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

impl Inner {
    /// The wait after the `attempts`-th offer of batch `id` was answered RETRY: the capped
    /// exponential delay, scaled into [delay/2, delay) by a hash of (id, attempts) so that a
    /// fleet does not retry in lockstep.
    fn backoff(&self, id: u64, attempts: u32) -> Duration {
        let base = self.options.retry_initial.as_secs_f64() * 2f64.powi(attempts.saturating_sub(1).min(40) as i32);
        let delay = base.min(self.options.retry_max.as_secs_f64());
        let unit = (mix(id ^ (u64::from(attempts) << 48)) >> 11) as f64 / (1u64 << 53) as f64;
        Duration::from_secs_f64(delay * (0.5 + 0.5 * unit))
    }

    /// Numbers the queued records, moves them to the buffer (pushing its oldest out when full)
    /// and appends them to the spool.
    fn take_queued(&self, state: &mut State) {
        let first_new = state.next_seq;
        let mut dropped: Option<(u64, u64)> = None;
        while let Some(queued) = self.queue.pop() {
            // `>=`: records recovered from a spool may fill the buffer past its capacity.
            while state.pending.len() >= self.options.queue_capacity {
                let oldest = state.pending.pop_front().expect("buffer is full");
                self.counters.dropped_queue_full.fetch_add(1, Ordering::Relaxed);
                dropped = Some((dropped.map_or(oldest.seq, |d| d.0), oldest.seq));
            }
            let seq = state.next_seq;
            state.next_seq += 1;
            state.pending.push_back(TelemetryRecord { seq, time_unix_ms: queued.time_unix_ms, body: queued.body });
        }
        if state.spool.is_none() {
            return;
        }
        if let Some((first, last)) = dropped {
            self.spool_ack(state, 0, first, last, Outcome::DroppedOverflow);
        }
        if state.spool_behind {
            // A write failed before: the rewrite brings the file back to every live record, these
            // new ones included (and if it fails too, appending to a file that lacks records would
            // not help: the next persist tries the rewrite again).
            self.caught_up(state);
            return;
        }
        let start = state.pending.iter().position(|r| r.seq >= first_new).unwrap_or(state.pending.len());
        if start == state.pending.len() {
            return;
        }
        let new_count = state.pending.len() - start;
        let State { spool, pending, last_spool_error, spool_behind, .. } = state;
        let spool = spool.as_mut().expect("checked");
        match spool.append_records(pending.range(start..)) {
            Ok(written) if written == new_count => {}
            Ok(_) => self.rewrite_spool(state),
            Err(e) => self.spool_failed(last_spool_error, spool_behind, e),
        }
        self.update_spool_bytes(state);
    }

    /// Rewrites the spool with the live records (compaction), counting those that do not fit.
    fn rewrite_spool(&self, state: &mut State) {
        let State {
            spool,
            pending,
            in_flight,
            next_seq,
            next_batch_id,
            last_spool_error,
            spool_behind,
            skipped_through_seq,
            ..
        } = state;
        let Some(spool) = spool.as_mut() else { return };
        let open = in_flight.as_ref().map(InFlight::open_batch);
        let live: Vec<&TelemetryRecord> =
            in_flight.iter().flat_map(|b| b.records.iter()).chain(pending.iter()).collect();
        match spool.rewrite(*next_seq, *next_batch_id, &live, open) {
            Ok(written) => {
                let newly_skipped = live[written..].iter().filter(|r| r.seq > *skipped_through_seq).count();
                if let Some(last) = live[written..].iter().map(|r| r.seq).max() {
                    *skipped_through_seq = (*skipped_through_seq).max(last);
                }
                self.counters.spool_skipped.fetch_add(newly_skipped as u64, Ordering::Relaxed);
                *spool_behind = false;
            }
            Err(e) => self.spool_failed(last_spool_error, spool_behind, e),
        }
    }

    fn spool_ack(&self, state: &mut State, id: u64, first: u64, last: u64, outcome: Outcome) {
        if self.caught_up(state) {
            // The rewrite holds only live records: the acknowledged ones are already out.
            return;
        }
        let State { spool, last_spool_error, spool_behind, .. } = state;
        if let Some(spool) = spool.as_mut() {
            if let Err(e) = spool.append_ack(id, first, last, outcome) {
                self.spool_failed(last_spool_error, spool_behind, e);
            }
        }
        self.update_spool_bytes(state);
    }

    /// With nothing live, the spool shrinks back to its header and a watermark.
    fn compact_if_idle(&self, state: &mut State) {
        let idle = state.in_flight.is_none() && state.pending.is_empty();
        if idle && state.spool.as_ref().is_some_and(|s| s.len() > 64 * 1024) {
            self.rewrite_spool(state);
            self.update_spool_bytes(state);
        }
    }

    /// When a write failed before (the spool is behind), rewrites it with every live record and
    /// the batch in flight; true when that worked and nothing needs appending. An append after a
    /// failed one would leave a file whose entries disagree (a batch or an acknowledgement of
    /// records it lacks), so entries are appended only to a spool that is not behind.
    fn caught_up(&self, state: &mut State) -> bool {
        if state.spool.is_none() || !state.spool_behind {
            return false;
        }
        self.rewrite_spool(state);
        self.update_spool_bytes(state);
        !state.spool_behind
    }

    /// A failed spool write: counted, kept as the last spool error, and the spool marked behind
    /// (the records stay in memory; the next persist rewrites the file with every live one, so a
    /// kill after the fault has passed loses nothing that was recorded during it).
    fn spool_failed(&self, last_spool_error: &mut Option<String>, behind: &mut bool, error: crate::Error) {
        self.counters.spool_errors.fetch_add(1, Ordering::Relaxed);
        *last_spool_error = Some(error.message().to_string());
        *behind = true;
    }

    fn update_spool_bytes(&self, state: &State) {
        let bytes = state.spool.as_ref().map_or(0, Spool::len);
        self.counters.spool_bytes.store(bytes, Ordering::Relaxed);
    }

    /// Cuts the next batch from the buffer (each record serialized once, straight into the
    /// batch); false when the buffer is empty.
    fn form_batch(&self, state: &mut State) -> bool {
        if state.pending.is_empty() {
            return false;
        }
        let id = state.next_batch_id;
        state.next_batch_id += 1;
        let mut records = Vec::new();
        let mut body = Vec::new();
        while let Some(record) = state.pending.front() {
            if records.len() == self.options.batch_max_records {
                break;
            }
            let before = body.len();
            jsonl::write_record(&mut body, record);
            if !records.is_empty() && body.len() + HEADER_ROOM > self.options.batch_max_bytes {
                body.truncate(before);
                break;
            }
            records.push(state.pending.pop_front().expect("front exists"));
        }
        let batch = InFlight::new(&self.options.device_id, id, records, &body);
        let open = batch.open_batch();
        state.in_flight = Some(batch);
        if self.caught_up(state) {
            // The rewrite holds the batch in flight and its records.
            return true;
        }
        let State { spool, last_spool_error, spool_behind, .. } = state;
        if let Some(spool) = spool.as_mut() {
            if let Err(e) = spool.append_batch(open) {
                self.spool_failed(last_spool_error, spool_behind, e);
            }
        }
        self.update_spool_bytes(state);
        true
    }
}
