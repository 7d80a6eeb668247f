//! The serving object a host keeps for its lifetime: [`Runtime`].
//!
//! A runtime owns the active deployment — the variants of an experiment (variant 0 is
//! production / control), an optional staged-rollout candidate, an optional shadow — each model
//! with its own pool of preallocated sessions and its own monitor. Any thread may call
//! [`Runtime::classify`]. The deployment is an immutable value behind an `Arc`: a request takes
//! a reference to the current one (a read lock and a reference-count increment) and finishes on
//! it, whatever swaps happen meanwhile; control calls build a new deployment and publish it.
//!
//! A supervisor thread (optional, on by default) runs the shadow model on the sampled inputs,
//! evaluates the monitors (alert-level events) and moves the rollout; hosts without it call
//! [`Runtime::evaluate`] from their own scheduler.

mod events;
mod health;
mod pool;
mod shadow;

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use events::{Event, EventCallback, EventKind};
pub use health::{Health, LoadedModel, Role, RolloutStatus, RuntimeCounters, RuntimeState};
pub use shadow::ShadowReport;

use crate::deploy::ab::{self, Assignment, MAX_VARIANTS};
use crate::deploy::rollout::{self, Decision, RolloutConfig};
use crate::deploy::selftest::{self, SelfTestCase};
use crate::deploy::significance::{calculate_significance, Significance};
use crate::deploy::staleness::{self, StalenessThresholds};
use crate::error::{fail, Error, Result, Status};
use crate::export::{Metrics, ModelMetrics, RuntimeMetrics};
use crate::session::{Input, Prediction, Session, SessionOptions};
use crate::telemetry::{Telemetry, TelemetryStats};
use crate::{InputKind, Level, Model, ModelOptions, Monitor, MonitorConfig, Snapshot};
use pool::SessionPool;
use shadow::{ShadowItem, ShadowQueue};

/// Most sessions per model a runtime may keep.
pub const MAX_CONCURRENCY: usize = 64;

/// How a runtime is sized and behaves. Fixed at creation.
#[derive(Clone, Debug)]
pub struct RuntimeOptions {
    /// Sessions per loaded model, i.e. requests one model serves at once (1..=64, default 4).
    pub max_concurrency: usize,
    /// How long a request waits for a free session before failing with `Busy` (default 50 ms;
    /// zero fails at once).
    pub busy_wait: Duration,
    /// Options of every session (memory pool).
    pub session: SessionOptions,
    /// The template of every model's monitor (`max_recorders` and `label_count` are set per
    /// model: the pool size and the model's labels).
    pub monitor: MonitorConfig,
    /// Experiment name hashed with the user id while no experiment is set (default "default").
    pub experiment: String,
    /// Shadow queue slots (default 64); a full queue skips (and counts) samples.
    pub shadow_queue_capacity: usize,
    /// Largest text or byte input copied for the shadow (default 16 KiB); larger ones are
    /// skipped and counted.
    pub shadow_max_input_bytes: usize,
    /// How often the supervisor analyses the monitors (default 1 s).
    pub evaluation_interval: Duration,
    /// Model age limits.
    pub staleness: StalenessThresholds,
    /// Run a supervisor thread (default true). Without it, call [`Runtime::evaluate`] regularly:
    /// the shadow runs and the rollout moves only then.
    pub supervisor_thread: bool,
    /// Where requests and events are recorded for upload (default none). Each evaluation moves
    /// queued records into the spool; shutdown does it a last time.
    pub telemetry: Option<Telemetry>,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            max_concurrency: 4,
            busy_wait: Duration::from_millis(50),
            session: SessionOptions::default(),
            monitor: MonitorConfig::default(),
            experiment: "default".to_string(),
            shadow_queue_capacity: 64,
            shadow_max_input_bytes: 16 * 1024,
            evaluation_interval: Duration::from_secs(1),
            staleness: StalenessThresholds::default(),
            supervisor_thread: true,
            telemetry: None,
        }
    }
}

impl RuntimeOptions {
    fn validate(&self) -> Result<()> {
        if self.max_concurrency == 0 || self.max_concurrency > MAX_CONCURRENCY {
            return fail(
                Status::InvalidArgument,
                format!("max_concurrency {} is not in 1..={MAX_CONCURRENCY}", self.max_concurrency),
            );
        }
        if self.shadow_queue_capacity == 0 || self.shadow_queue_capacity > 65_536 {
            return fail(Status::InvalidArgument, "shadow_queue_capacity must be in 1..=65536");
        }
        if self.shadow_max_input_bytes > 64 << 20 {
            return fail(Status::InvalidArgument, "shadow_max_input_bytes must be at most 64 MiB");
        }
        if self.evaluation_interval.is_zero() {
            return fail(Status::InvalidArgument, "evaluation_interval must be above zero");
        }
        if self.staleness.warning_days < 0 || self.staleness.critical_days < self.staleness.warning_days {
            return fail(Status::InvalidArgument, "staleness: need 0 <= warning_days <= critical_days");
        }
        self.monitor.validate().map_err(Error::from)?;
        Ok(())
    }
}

/// One variant of an experiment.
#[derive(Clone, Debug)]
pub struct Variant {
    /// Its name (reported with metrics; at most 64 bytes).
    pub name: String,
    /// The model that serves it.
    pub model: Model,
    /// Its share of users (all weights sum to 1 within 0.001).
    pub weight: f64,
}

/// The host's assignment hook: given (experiment, user id), the variant index to use. An
/// answer outside the variants is counted (`hook_errors`) and hashing decides instead.
pub type AssignmentHook = Box<dyn Fn(&str, &str) -> i64 + Send + Sync>;

/// Which model's monitor a snapshot reads.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The model serving this variant.
    Variant(usize),
    /// The rollout candidate.
    Candidate,
    /// The shadow model.
    Shadow,
}

/// One answered request.
#[derive(Clone, Debug, PartialEq)]
pub struct Served {
    /// The model's answer.
    pub prediction: Prediction,
    /// The variant the user was assigned to.
    pub variant: usize,
    /// Whether the rollout candidate (not the variant's current model) answered.
    pub candidate: bool,
    /// The version of the model that answered.
    pub version: Arc<str>,
    /// How many labels that model has (the length of its probability vector).
    pub label_count: usize,
}

/// Per-variant counts.
#[derive(Clone, Debug, PartialEq)]
pub struct VariantStats {
    /// The variant's name.
    pub name: String,
    /// Its weight.
    pub weight: f64,
    /// The version serving it now.
    pub version: String,
    /// Requests assigned to it (answered by a model).
    pub requests: u64,
    /// Of those, errors.
    pub errors: u64,
    /// Of those, answered by the rollout candidate.
    pub candidate_requests: u64,
    /// Outcomes the host recorded as conversions.
    pub conversions: u64,
    /// Outcomes the host recorded (conversions and non-conversions).
    pub outcomes: u64,
}

/// What a shutdown hands over: every model's last snapshot and the shadow's results.
#[derive(Clone, Debug)]
pub struct FinalReport {
    /// One per loaded model: its role, variant, version and last snapshot.
    pub snapshots: Vec<(Role, usize, String, Snapshot)>,
    /// The shadow's results, if one was set.
    pub shadow: Option<ShadowReport>,
    /// Health at the end.
    pub health: Health,
    /// Telemetry counters after the queue was moved to the spool (when telemetry is on): what is
    /// still `pending` goes out with the host's next flush, or after the next start from the spool.
    pub telemetry: Option<TelemetryStats>,
}

/// A model loaded into the runtime: its sessions and its monitor.
struct Slot {
    model: Model,
    version: Arc<str>,
    pool: SessionPool,
    monitor: Monitor,
    /// The alert level at the last evaluation (a `Level` code).
    last_level: AtomicI32,
}

impl Slot {
    fn new(model: &Model, sessions: usize, options: &RuntimeOptions) -> Result<Slot> {
        let config =
            MonitorConfig { max_recorders: sessions, label_count: model.labels().len(), ..options.monitor.clone() };
        let monitor = Monitor::new(config)?;
        let pool = SessionPool::new(model, sessions, &options.session, Some(&monitor))?;
        Ok(Slot {
            model: model.clone(),
            version: Arc::from(model.card().version.as_str()),
            pool,
            monitor,
            last_level: AtomicI32::new(Level::Ok as i32),
        })
    }

    fn level(&self) -> Level {
        Level::from_code(self.last_level.load(Ordering::Relaxed)).unwrap_or(Level::Ok)
    }
}

struct Rollout {
    variant: usize,
    candidate: Arc<Slot>,
    config: RolloutConfig,
    stage: AtomicUsize,
    served_at_stage: AtomicU64,
    anonymous: AtomicU64,
    cases: Vec<SelfTestCase>,
    /// A session outside the pool for the health check (self-test) at each stage.
    checker: Mutex<Session>,
}

impl Rollout {
    fn percent(&self) -> u32 {
        let stage = self.stage.load(Ordering::Acquire).min(self.config.stages_percent.len() - 1);
        self.config.stages_percent[stage]
    }

    fn routes(&self, user_id: &str) -> bool {
        let counter = if user_id.is_empty() { self.anonymous.fetch_add(1, Ordering::Relaxed) } else { 0 };
        rollout::routes_to_candidate(&self.candidate.version, user_id, self.percent(), counter)
    }

    fn status(&self) -> RolloutStatus {
        RolloutStatus {
            variant: self.variant,
            candidate_version: self.candidate.version.to_string(),
            stage: self.stage.load(Ordering::Acquire),
            percent: self.percent(),
            served_at_stage: self.served_at_stage.load(Ordering::Relaxed),
            requests_per_stage: self.config.requests_per_stage,
        }
    }
}

struct Shadow {
    slot: Arc<Slot>,
    queue: ShadowQueue,
    /// The consumer's buffers, swapped with queued items.
    spare: Mutex<ShadowItem>,
}

/// The immutable value requests read.
#[derive(Clone)]
struct Deployment {
    experiment: Arc<str>,
    scheme: Assignment,
    names: Vec<Arc<str>>,
    weights: Vec<f64>,
    variants: Vec<Arc<Slot>>,
    hook: Option<Arc<AssignmentHook>>,
    rollout: Option<Arc<Rollout>>,
    shadow: Option<Arc<Shadow>>,
}

impl Deployment {
    fn assign(&self, user_id: &str, hook_errors: &AtomicU64) -> usize {
        let n = self.variants.len();
        if n == 1 {
            return 0;
        }
        if let Some(hook) = &self.hook {
            let answer = hook(&self.experiment, user_id);
            if answer >= 0 && (answer as u64) < n as u64 {
                return answer as usize;
            }
            hook_errors.fetch_add(1, Ordering::Relaxed);
        }
        ab::assign(self.scheme, &self.experiment, user_id, &self.weights).unwrap_or(0)
    }

    /// The most labels any of its models has (no allocation).
    fn max_labels(&self) -> usize {
        let labels = |s: &Slot| s.model.labels().len();
        let variants = self.variants.iter().map(|s| labels(s)).max().unwrap_or(0);
        let candidate = self.rollout.as_ref().map(|r| labels(&r.candidate)).unwrap_or(0);
        let shadow = self.shadow.as_ref().map(|s| labels(&s.slot)).unwrap_or(0);
        variants.max(candidate).max(shadow)
    }

    /// Every slot with its role and variant.
    fn slots(&self) -> Vec<(Role, usize, &Arc<Slot>)> {
        let mut all: Vec<(Role, usize, &Arc<Slot>)> =
            self.variants.iter().enumerate().map(|(i, s)| (Role::Variant, i, s)).collect();
        if let Some(r) = &self.rollout {
            all.push((Role::Candidate, r.variant, &r.candidate));
        }
        if let Some(s) = &self.shadow {
            all.push((Role::Shadow, 0, &s.slot));
        }
        all
    }
}

#[derive(Default)]
struct VariantCounters {
    requests: AtomicU64,
    errors: AtomicU64,
    candidate_requests: AtomicU64,
    conversions: AtomicU64,
    outcomes: AtomicU64,
}

impl VariantCounters {
    fn reset(&self) {
        for c in [&self.requests, &self.errors, &self.candidate_requests, &self.conversions, &self.outcomes] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    errors: AtomicU64,
    busy: AtomicU64,
    refused_shutting_down: AtomicU64,
    hook_errors: AtomicU64,
    swaps: AtomicU64,
    refused_models: AtomicU64,
    rollbacks: AtomicU64,
    rollouts_completed: AtomicU64,
}

const SERVING: u8 = 0;
const DRAINING: u8 = 1;
const STOPPED: u8 = 2;

struct Shared {
    options: RuntimeOptions,
    deployment: RwLock<Arc<Deployment>>,
    /// Serialises control calls and evaluations; holds each variant's previous model (for
    /// manual rollback after a swap or promotion).
    control: Mutex<Vec<Option<Model>>>,
    state: AtomicU8,
    in_flight: AtomicU64,
    counters: Counters,
    variants: [VariantCounters; MAX_VARIANTS],
    events: RwLock<Option<Arc<EventCallback>>>,
    last_error: Mutex<Option<String>>,
    /// Set by whoever asks the supervisor for a pass; cleared by the supervisor before the pass,
    /// so a request that finds it set knows its work will be seen without taking the lock.
    wake_pending: AtomicBool,
    wake: Mutex<bool>,
    woken: Condvar,
    stop: AtomicBool,
    supervisor_thread: Mutex<Option<std::thread::ThreadId>>,
    created: Instant,
}

/// Decrements the in-flight count when a request ends, however it ends.
struct InFlight<'a>(&'a AtomicU64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The thread-safe serving object (see the module docs).
pub struct Runtime {
    shared: Arc<Shared>,
    supervisor: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = self.shared.current();
        f.debug_struct("Runtime")
            .field("variants", &d.variants.iter().map(|s| s.version.to_string()).collect::<Vec<_>>())
            .field("rollout", &d.rollout.as_ref().map(|r| r.status()))
            .field("shadow", &d.shadow.as_ref().map(|s| s.slot.version.to_string()))
            .finish()
    }
}

impl Runtime {
    /// A runtime serving `production` (variant 0) alone. Creates `max_concurrency` sessions
    /// (each runs its warm-up) and, unless disabled, the supervisor thread.
    pub fn new(production: &Model, options: RuntimeOptions) -> Result<Runtime> {
        options.validate()?;
        let slot = Arc::new(Slot::new(production, options.max_concurrency, &options)?);
        let deployment = Deployment {
            experiment: Arc::from(options.experiment.as_str()),
            scheme: Assignment::SeedMd5,
            names: vec![Arc::from("production")],
            weights: vec![1.0],
            variants: vec![slot],
            hook: None,
            rollout: None,
            shadow: None,
        };
        let shared = Arc::new(Shared {
            deployment: RwLock::new(Arc::new(deployment)),
            control: Mutex::new(vec![None]),
            state: AtomicU8::new(SERVING),
            in_flight: AtomicU64::new(0),
            counters: Counters::default(),
            variants: Default::default(),
            events: RwLock::new(None),
            last_error: Mutex::new(None),
            wake_pending: AtomicBool::new(false),
            wake: Mutex::new(false),
            woken: Condvar::new(),
            stop: AtomicBool::new(false),
            supervisor_thread: Mutex::new(None),
            created: Instant::now(),
            options,
        });
        let supervisor = if shared.options.supervisor_thread {
            let worker = Arc::clone(&shared);
            let handle = std::thread::Builder::new()
                .name("mle-supervisor".into())
                .spawn(move || worker.supervise())
                .map_err(|e| Error::new(Status::Io, format!("cannot start the supervisor thread: {e}")))?;
            *shared.supervisor_thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle.thread().id());
            Some(handle)
        } else {
            None
        };
        Ok(Runtime { shared, supervisor: Mutex::new(supervisor) })
    }

    /// The options the runtime was created with.
    pub fn options(&self) -> &RuntimeOptions {
        &self.shared.options
    }

    /// Classify `input` for `user_id` (may be empty): assign the variant (hook, else hashing),
    /// route to the rollout candidate when its share says so, run on a pooled session, offer
    /// the input to the shadow when sampled. `probabilities`, when given, must hold the serving
    /// model's label count.
    ///
    /// Errors: the model's errors; `Busy` when every session stayed busy for `busy_wait`;
    /// `ShuttingDown` after [`shutdown`](Self::shutdown) began.
    pub fn classify(&self, user_id: &str, input: Input<'_>, probabilities: Option<&mut [f32]>) -> Result<Served> {
        self.serve(user_id, input, probabilities, false)
    }

    /// As [`classify`](Self::classify), but a `probabilities` buffer must hold
    /// [`max_labels`](Self::max_labels) values (checked against the deployment the request then
    /// runs on), so that one buffer size fits every answer whatever the variant or a later swap:
    /// what the C API asks. Too small: `BufferTooSmall`, before anything runs or is counted.
    pub fn classify_any_model(
        &self,
        user_id: &str,
        input: Input<'_>,
        probabilities: Option<&mut [f32]>,
    ) -> Result<Served> {
        self.serve(user_id, input, probabilities, true)
    }

    fn serve(
        &self,
        user_id: &str,
        input: Input<'_>,
        probabilities: Option<&mut [f32]>,
        fit_every_model: bool,
    ) -> Result<Served> {
        let s = &*self.shared;
        let deployment = s.current();
        if let Some(buffer) = probabilities.as_deref().filter(|_| fit_every_model) {
            let needed = deployment.max_labels();
            if buffer.len() < needed {
                return fail(
                    Status::BufferTooSmall,
                    format!(
                        "probabilities holds {} values; the deployment's models have up to {needed} labels",
                        buffer.len()
                    ),
                );
            }
        }
        s.in_flight.fetch_add(1, Ordering::SeqCst);
        let _in_flight = InFlight(&s.in_flight);
        if s.state.load(Ordering::SeqCst) != SERVING {
            s.counters.refused_shutting_down.fetch_add(1, Ordering::Relaxed);
            return fail(Status::ShuttingDown, "the runtime is shutting down and takes no new requests");
        }
        let variant = deployment.assign(user_id, &s.counters.hook_errors);
        let rollout = deployment.rollout.as_ref().filter(|r| r.variant == variant && r.routes(user_id));
        let slot = rollout.map(|r| &r.candidate).unwrap_or(&deployment.variants[variant]);
        let Some(mut session) = slot.pool.checkout(s.options.busy_wait) else {
            s.counters.busy.fetch_add(1, Ordering::Relaxed);
            if let Some(telemetry) = &s.options.telemetry {
                telemetry.record_request(&slot.version, variant, rollout.is_some(), Err(Status::Busy));
            }
            return fail(
                Status::Busy,
                format!("all {} sessions of model {} stayed busy", slot.pool.size(), slot.version),
            );
        };
        let result = session.classify(input, probabilities);
        drop(session);
        if let Some(telemetry) = &s.options.telemetry {
            telemetry.record_request(&slot.version, variant, rollout.is_some(), result.as_ref().map_err(Error::status));
        }

        let counters = &s.variants[variant];
        s.counters.requests.fetch_add(1, Ordering::Relaxed);
        counters.requests.fetch_add(1, Ordering::Relaxed);
        if result.is_err() {
            s.counters.errors.fetch_add(1, Ordering::Relaxed);
            counters.errors.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(r) = rollout {
            counters.candidate_requests.fetch_add(1, Ordering::Relaxed);
            if r.served_at_stage.fetch_add(1, Ordering::Relaxed) + 1 == r.config.requests_per_stage {
                s.wake_supervisor();
            }
        }
        if let Some(shadow) = &deployment.shadow {
            if shadow.queue.sample()
                && shadow.queue.offer(input, result.as_ref().map(|p| &p.label).map_err(Error::status))
            {
                s.wake_supervisor();
            }
        }
        let label_count = slot.model.labels().len();
        result.map(|prediction| Served {
            prediction,
            variant,
            candidate: rollout.is_some(),
            version: slot.version.clone(),
            label_count,
        })
    }

    /// Classify a text (see [`classify`](Self::classify)).
    pub fn classify_text(&self, user_id: &str, text: &str, probabilities: Option<&mut [f32]>) -> Result<Served> {
        self.classify(user_id, Input::Text(text), probabilities)
    }

    /// Classify f32 features (see [`classify`](Self::classify)).
    pub fn classify_f32(&self, user_id: &str, features: &[f32], probabilities: Option<&mut [f32]>) -> Result<Served> {
        self.classify(user_id, Input::Tensor(features), probabilities)
    }

    /// Classify bytes (see [`classify`](Self::classify)).
    pub fn classify_bytes(&self, user_id: &str, data: &[u8], probabilities: Option<&mut [f32]>) -> Result<Served> {
        self.classify(user_id, Input::Bytes(data), probabilities)
    }

    /// The variant `user_id` would get now (hook, else hashing), without classifying.
    pub fn assign(&self, user_id: &str) -> usize {
        self.shared.current().assign(user_id, &self.shared.counters.hook_errors)
    }

    /// Labels of the model serving `variant` now (its label count sizes `probabilities`).
    pub fn labels(&self, variant: usize) -> Result<Vec<Arc<str>>> {
        let d = self.shared.current();
        let slot = d.variants.get(variant).ok_or_else(|| no_variant(variant, d.variants.len()))?;
        Ok(slot.model.labels().to_vec())
    }

    /// The most labels any model of the deployment has (a `probabilities` buffer this long fits
    /// every answer).
    pub fn max_labels(&self) -> usize {
        self.shared.current().max_labels()
    }

    /// The input kind every model of this runtime takes.
    pub fn input_kind(&self) -> InputKind {
        self.shared.current().variants[0].model.input_kind()
    }

    /// Number of variants.
    pub fn variant_count(&self) -> usize {
        self.shared.current().variants.len()
    }

    /// Sets an experiment: `variants[0]` is control. Weights are checked as the seed does
    /// (sum to 1 within 0.001); every model must take the production model's input kind. A
    /// model already loaded for the same variant position keeps its sessions. Variant counters
    /// restart. Not allowed during a rollout (`InvalidState`).
    pub fn set_experiment(&self, name: &str, variants: &[Variant], scheme: Assignment) -> Result<()> {
        if name.is_empty() {
            return fail(Status::InvalidArgument, "the experiment needs a name");
        }
        let weights: Vec<f64> = variants.iter().map(|v| v.weight).collect();
        ab::validate_weights(&weights)?;
        if let Assignment::GrowthBook { hash_version } = scheme {
            if hash_version != 1 && hash_version != 2 {
                return fail(Status::InvalidArgument, format!("GrowthBook hash version {hash_version} is not 1 or 2"));
            }
        }
        for v in variants {
            if v.name.is_empty() || v.name.len() > 64 {
                return fail(Status::InvalidArgument, format!("variant name {:?} must be 1 to 64 bytes", v.name));
            }
        }
        let s = &*self.shared;
        let mut previous = s.control()?;
        let current = s.current();
        if current.rollout.is_some() {
            return fail(Status::InvalidState, "cannot change the experiment while a rollout runs");
        }
        let kind = current.variants[0].model.input_kind();
        let mut slots = Vec::with_capacity(variants.len());
        for (i, v) in variants.iter().enumerate() {
            if v.model.input_kind() != kind {
                return fail(
                    Status::InvalidArgument,
                    format!(
                        "variant {i} takes {} input, the runtime serves {}",
                        v.model.input_kind().as_str(),
                        kind.as_str()
                    ),
                );
            }
            let reuse = current.variants.iter().find(|slot| slot.model.same_as(&v.model));
            slots.push(match reuse {
                Some(slot) => Arc::clone(slot),
                None => Arc::new(Slot::new(&v.model, s.options.max_concurrency, &s.options)?),
            });
        }
        let next = Deployment {
            experiment: Arc::from(name),
            scheme,
            names: variants.iter().map(|v| Arc::from(v.name.as_str())).collect(),
            weights,
            variants: slots,
            ..(*current).clone()
        };
        for c in &s.variants {
            c.reset();
        }
        previous.clear();
        previous.resize(variants.len(), None);
        let message = format!("experiment {name:?} with {} variants", variants.len());
        s.publish(next);
        drop(previous);
        s.emit(Event::new(EventKind::ExperimentChanged, 0, "", name, message));
        Ok(())
    }

    /// Sets (or with `None` removes) the host's assignment hook.
    pub fn set_assignment_hook(&self, hook: Option<AssignmentHook>) -> Result<()> {
        let s = &*self.shared;
        let _control = s.control()?;
        let next = Deployment { hook: hook.map(Arc::new), ..(*s.current()).clone() };
        s.publish(next);
        Ok(())
    }

    /// Sets (or with `None` removes) the event callback.
    pub fn set_event_callback(&self, callback: Option<EventCallback>) {
        *self.shared.events.write().unwrap_or_else(|e| e.into_inner()) = callback.map(Arc::new);
    }

    /// Hot swap: `model` serves `variant` from now on. It must take the same input kind and
    /// pass its self-test (`cases`, else the card's `self_test` cases; none is a pass) on a fresh
    /// session first; otherwise it is refused (`SelfTestFailed`, event `SwapRefused`) and the
    /// old model keeps serving. Requests in flight finish on the old model. The old model is
    /// kept for [`rollback`](Self::rollback). Not allowed on a variant under rollout.
    pub fn swap(&self, variant: usize, model: &Model, cases: Option<&[SelfTestCase]>) -> Result<()> {
        let s = &*self.shared;
        s.serving()?;
        let mut previous = s.control()?;
        let current = s.current();
        let old = current.variants.get(variant).ok_or_else(|| no_variant(variant, current.variants.len()))?;
        if current.rollout.as_ref().is_some_and(|r| r.variant == variant) {
            return fail(
                Status::InvalidState,
                format!("variant {variant} is under rollout: promote or roll back first"),
            );
        }
        if let Err(e) = s.admit(old, model, cases) {
            drop(previous);
            return Err(s.refuse(variant, &old.version, &model.card().version, e));
        }
        let slot = Arc::new(Slot::new(model, s.options.max_concurrency, &s.options)?);
        carry_baseline(&old.monitor, &slot.monitor);
        let mut variants = current.variants.clone();
        let from = old.version.to_string();
        variants[variant] = Arc::clone(&slot);
        s.publish(Deployment { variants, ..(*current).clone() });
        previous[variant] = Some(old.model.clone());
        s.counters.swaps.fetch_add(1, Ordering::Relaxed);
        drop(previous);
        s.emit(Event::new(EventKind::Swapped, variant, &from, &slot.version, "hot swap"));
        Ok(())
    }

    /// Loads the model at `path` and swaps it in (see [`swap`](Self::swap)); a model that fails
    /// to load is refused the same way (event `SwapRefused`, the load's error returned).
    pub fn swap_from_path(
        &self,
        variant: usize,
        path: impl AsRef<std::path::Path>,
        options: &ModelOptions,
        cases: Option<&[SelfTestCase]>,
    ) -> Result<()> {
        let s = &*self.shared;
        match Model::load(path.as_ref(), options) {
            Ok(model) => self.swap(variant, &model, cases),
            Err(e) => {
                let d = s.current();
                let from = d.variants.get(variant).map(|v| v.version.to_string()).unwrap_or_default();
                let e = Error::new(e.status(), format!("{}: {}", path.as_ref().display(), e.message()));
                Err(s.refuse(variant, &from, "", e))
            }
        }
    }

    /// Starts a staged rollout of `candidate` for `variant`: after its self-test (as
    /// [`swap`](Self::swap)), it serves the first stage's share of that variant's users, and the
    /// supervisor (or [`evaluate`](Self::evaluate)) moves it through the stages. The candidate's
    /// monitor gets the variant's baseline (frozen from the variant's window when it has none
    /// and at least 100 requests), so its alerts compare it with the version it would replace.
    pub fn start_rollout(
        &self,
        variant: usize,
        candidate: &Model,
        config: RolloutConfig,
        cases: Option<&[SelfTestCase]>,
    ) -> Result<()> {
        config.validate()?;
        let s = &*self.shared;
        s.serving()?;
        let control = s.control()?;
        let current = s.current();
        let old = current.variants.get(variant).ok_or_else(|| no_variant(variant, current.variants.len()))?;
        if current.rollout.is_some() {
            return fail(Status::InvalidState, "a rollout is already running: promote or roll back first");
        }
        let cases = match s.admit(old, candidate, cases) {
            Ok(cases) => cases,
            Err(e) => {
                drop(control);
                return Err(s.refuse(variant, &old.version, &candidate.card().version, e));
            }
        };
        let slot = Arc::new(Slot::new(candidate, s.options.max_concurrency, &s.options)?);
        if matches!(old.monitor.baseline(), Ok(None)) {
            // Fewer than 100 requests so far: no baseline, the candidate is judged on errors only.
            let _ = old.monitor.freeze_baseline();
        }
        carry_baseline(&old.monitor, &slot.monitor);
        let checker = Session::with_options(candidate, &s.options.session)?;
        let first = config.stages_percent[0];
        let rollout = Rollout {
            variant,
            candidate: Arc::clone(&slot),
            config,
            stage: AtomicUsize::new(0),
            served_at_stage: AtomicU64::new(0),
            anonymous: AtomicU64::new(0),
            cases,
            checker: Mutex::new(checker),
        };
        s.publish(Deployment { rollout: Some(Arc::new(rollout)), ..(*current).clone() });
        drop(control);
        let mut event = Event::new(EventKind::RolloutStarted, variant, &old.version, &slot.version, "rollout started");
        event.stage_percent = first;
        s.emit(event);
        Ok(())
    }

    /// Promotes the rollout candidate now: it serves all of its variant's traffic (event
    /// `RolloutCompleted`). `InvalidState` without a rollout.
    pub fn promote(&self) -> Result<()> {
        let s = &*self.shared;
        let mut control = s.control()?;
        let event = s.finish_rollout(&mut control, None, "promoted by the host")?;
        drop(control);
        s.emit(event);
        Ok(())
    }

    /// Rolls `variant` back: stops its rollout (the candidate's traffic returns to the current
    /// model) or, without one, swaps the previous model back in (after a swap or a promotion).
    /// `InvalidState` when there is nothing to roll back to.
    pub fn rollback(&self, variant: usize) -> Result<()> {
        let s = &*self.shared;
        let mut control = s.control()?;
        let current = s.current();
        if variant >= current.variants.len() {
            return Err(no_variant(variant, current.variants.len()));
        }
        if current.rollout.as_ref().is_some_and(|r| r.variant == variant) {
            let event = s.abort_rollout(&current, "rolled back by the host", Level::Ok);
            drop(control);
            s.emit(event);
            return Ok(());
        }
        let Some(model) = control.get(variant).cloned().flatten() else {
            return fail(Status::InvalidState, format!("variant {variant} has no previous version to roll back to"));
        };
        let old = &current.variants[variant];
        let slot = Arc::new(Slot::new(&model, s.options.max_concurrency, &s.options)?);
        carry_baseline(&old.monitor, &slot.monitor);
        let mut variants = current.variants.clone();
        variants[variant] = Arc::clone(&slot);
        let from = old.version.to_string();
        s.publish(Deployment { variants, ..(*current).clone() });
        control[variant] = Some(old.model.clone());
        s.counters.rollbacks.fetch_add(1, Ordering::Relaxed);
        s.counters.swaps.fetch_add(1, Ordering::Relaxed);
        drop(control);
        s.emit(Event::new(EventKind::Swapped, variant, &from, &slot.version, "rolled back to the previous version"));
        Ok(())
    }

    /// Sets a shadow model that sees `fraction` (0 < f ≤ 1) of production requests, off the
    /// request path; replaces any previous shadow.
    pub fn set_shadow(&self, model: &Model, fraction: f64) -> Result<()> {
        if !(fraction > 0.0 && fraction <= 1.0) {
            return fail(Status::InvalidArgument, format!("shadow fraction {fraction} is not in (0, 1]"));
        }
        let s = &*self.shared;
        s.serving()?;
        let _control = s.control()?;
        let current = s.current();
        let kind = current.variants[0].model.input_kind();
        if model.input_kind() != kind {
            return fail(
                Status::InvalidArgument,
                format!("the shadow takes {} input, the runtime serves {}", model.input_kind().as_str(), kind.as_str()),
            );
        }
        let slot = Arc::new(Slot::new(model, 1, &s.options)?);
        let values = if kind == InputKind::Tensor { model.max_input_length() } else { 0 };
        let bytes = if kind == InputKind::Tensor { 0 } else { s.options.shadow_max_input_bytes };
        let queue = ShadowQueue::new(s.options.shadow_queue_capacity, fraction, bytes, values);
        let spare = Mutex::new(queue.spare());
        if let Some(old) = &current.shadow {
            old.queue.discard_all();
        }
        let version = slot.version.to_string();
        s.publish(Deployment { shadow: Some(Arc::new(Shadow { slot, queue, spare })), ..(*current).clone() });
        s.emit(Event::new(EventKind::ShadowChanged, 0, "", &version, format!("shadow at {fraction}")));
        Ok(())
    }

    /// Removes the shadow (queued comparisons are discarded and counted).
    pub fn clear_shadow(&self) -> Result<()> {
        let s = &*self.shared;
        let _control = s.control()?;
        let current = s.current();
        if let Some(old) = &current.shadow {
            old.queue.discard_all();
            let version = old.slot.version.to_string();
            s.publish(Deployment { shadow: None, ..(*current).clone() });
            s.emit(Event::new(EventKind::ShadowChanged, 0, &version, "", "shadow removed"));
        }
        Ok(())
    }

    /// The shadow's results so far (`None` without a shadow). Analyses the shadow's monitor.
    pub fn shadow_report(&self) -> Result<Option<ShadowReport>> {
        let d = self.shared.current();
        d.shadow.as_ref().map(|s| shadow_report(s)).transpose()
    }

    /// Records one outcome of `variant` (e.g. whether the user converted).
    pub fn record_outcome(&self, variant: usize, converted: bool) -> Result<()> {
        let n = self.variant_count();
        let c = self.shared.variants.get(variant).filter(|_| variant < n).ok_or_else(|| no_variant(variant, n))?;
        c.outcomes.fetch_add(1, Ordering::Relaxed);
        if converted {
            c.conversions.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// The seed's significance test of `treatment` against `control` on the recorded outcomes.
    pub fn significance(&self, control: usize, treatment: usize, confidence_level: f64) -> Result<Significance> {
        let n = self.variant_count();
        if control >= n || treatment >= n {
            return Err(no_variant(control.max(treatment), n));
        }
        let (c, t) = (&self.shared.variants[control], &self.shared.variants[treatment]);
        calculate_significance(
            c.conversions.load(Ordering::Relaxed),
            c.outcomes.load(Ordering::Relaxed),
            t.conversions.load(Ordering::Relaxed),
            t.outcomes.load(Ordering::Relaxed),
            confidence_level,
        )
    }

    /// Counts of `variant`.
    pub fn variant_stats(&self, variant: usize) -> Result<VariantStats> {
        let d = self.shared.current();
        let slot = d.variants.get(variant).ok_or_else(|| no_variant(variant, d.variants.len()))?;
        let c = &self.shared.variants[variant];
        Ok(VariantStats {
            name: d.names[variant].to_string(),
            weight: d.weights[variant],
            version: slot.version.to_string(),
            requests: c.requests.load(Ordering::Relaxed),
            errors: c.errors.load(Ordering::Relaxed),
            candidate_requests: c.candidate_requests.load(Ordering::Relaxed),
            conversions: c.conversions.load(Ordering::Relaxed),
            outcomes: c.outcomes.load(Ordering::Relaxed),
        })
    }

    /// Analyses the monitor of `target` (see [`Monitor::snapshot`]).
    pub fn snapshot(&self, target: Target) -> Result<Snapshot> {
        self.with_monitor(target, |m| m.snapshot().map_err(Error::from))
    }

    /// Runs `f` on the monitor of `target` (e.g. to freeze or load its baseline, set thresholds).
    pub fn with_monitor<T>(&self, target: Target, f: impl FnOnce(&Monitor) -> Result<T>) -> Result<T> {
        let d = self.shared.current();
        let slot = match target {
            Target::Variant(v) => d.variants.get(v).ok_or_else(|| no_variant(v, d.variants.len()))?,
            Target::Candidate => {
                &d.rollout.as_ref().ok_or_else(|| Error::new(Status::InvalidState, "no rollout runs"))?.candidate
            }
            Target::Shadow => {
                &d.shadow.as_ref().ok_or_else(|| Error::new(Status::InvalidState, "no shadow is set"))?.slot
            }
        };
        f(&slot.monitor)
    }

    /// One supervisor pass now, on the calling thread: runs the queued shadow comparisons,
    /// analyses every monitor (alert-level events) and moves the rollout (advance, complete or
    /// roll back). What the supervisor thread does every `evaluation_interval`.
    pub fn evaluate(&self) -> Result<()> {
        self.shared.evaluate()
    }

    /// Everything exported (see [`crate::export`]): each loaded model's snapshot (analysed
    /// now), health, per-variant A/B counts, the shadow's results and the telemetry counters.
    pub fn metrics(&self) -> Result<Metrics> {
        let d = self.shared.current();
        let mut models = Vec::new();
        for (role, variant, slot) in d.slots() {
            let (role, variant_name) = match role {
                Role::Variant => ("variant", d.names[variant].to_string()),
                Role::Candidate => ("candidate", d.names[variant].to_string()),
                Role::Shadow => ("shadow", String::new()),
            };
            models.push(ModelMetrics {
                role,
                variant: variant_name,
                model_version: slot.version.to_string(),
                snapshot: slot.monitor.snapshot()?,
            });
        }
        let variants = (0..d.variants.len()).map(|i| self.variant_stats(i)).collect::<Result<Vec<_>>>()?;
        let shadow = d.shadow.as_ref().map(|sh| shadow_report(sh)).transpose()?;
        let time_unix_nanos = crate::export::unix_nanos_now();
        let uptime = self.shared.created.elapsed().as_nanos().min(u64::MAX as u128) as u64;
        let health = self.health();
        Ok(Metrics {
            models,
            telemetry: health.telemetry.clone(),
            runtime: Some(RuntimeMetrics { health, variants, shadow }),
            start_unix_nanos: time_unix_nanos.saturating_sub(uptime),
            time_unix_nanos,
        })
    }

    /// The runtime's health.
    pub fn health(&self) -> Health {
        self.shared.health()
    }

    /// Graceful shutdown: new requests get `ShuttingDown` from now on; waits up to `timeout`
    /// for in-flight requests to finish (`Busy` if some are still running: call again), runs
    /// the shadow comparisons still queued, stops the supervisor and hands over every model's
    /// last snapshot. `InvalidState` when already stopped or called from an event callback on
    /// the supervisor thread.
    pub fn shutdown(&self, timeout: Duration) -> Result<FinalReport> {
        let s = &*self.shared;
        if s.state.load(Ordering::SeqCst) == STOPPED {
            return fail(Status::InvalidState, "the runtime is already shut down");
        }
        if *s.supervisor_thread.lock().unwrap_or_else(|e| e.into_inner()) == Some(std::thread::current().id()) {
            return fail(
                Status::InvalidState,
                "shutdown cannot be called from the supervisor thread (an event callback)",
            );
        }
        if s.state.compare_exchange(SERVING, DRAINING, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            s.emit(Event::new(EventKind::ShutdownStarted, 0, "", "", "shutdown started"));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let running = s.in_flight.load(Ordering::SeqCst);
            if running == 0 {
                break;
            }
            if Instant::now() >= deadline {
                return fail(Status::Busy, format!("{running} requests still running after {timeout:?}"));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        self.stop_supervisor();
        s.evaluate()?;
        let d = s.current();
        let mut snapshots = Vec::new();
        for (role, variant, slot) in d.slots() {
            snapshots.push((role, variant, slot.version.to_string(), slot.monitor.snapshot()?));
        }
        let shadow = d.shadow.as_ref().map(|sh| shadow_report(sh)).transpose()?;
        s.state.store(STOPPED, Ordering::SeqCst);
        let telemetry = s.options.telemetry.as_ref().map(|t| {
            // Busy means a flush runs, which moves the records itself.
            let _ = t.persist();
            t.stats()
        });
        Ok(FinalReport { snapshots, shadow, health: s.health(), telemetry })
    }

    fn stop_supervisor(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        *self.shared.wake.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.shared.woken.notify_one();
        if let Some(handle) = self.supervisor.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = handle.join();
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop_supervisor();
    }
}

fn no_variant(variant: usize, n: usize) -> Error {
    Error::new(Status::InvalidArgument, format!("variant {variant} does not exist (the deployment has {n})"))
}

/// Gives `to` the baseline of `from`, when it has one that fits (same features and labels).
fn carry_baseline(from: &Monitor, to: &Monitor) {
    if let Ok(Some(baseline)) = from.baseline() {
        if let Err(e) = to.set_baseline(baseline) {
            log::info!("baseline not carried to the new model's monitor: {}", e.message);
        }
    }
}

fn shadow_report(shadow: &Shadow) -> Result<ShadowReport> {
    let snapshot = shadow.slot.monitor.snapshot()?;
    let c = &shadow.queue.counters;
    let compared = c.compared.load(Ordering::Relaxed);
    let agreed = c.agreed.load(Ordering::Relaxed);
    Ok(ShadowReport {
        version: shadow.slot.version.to_string(),
        fraction: shadow.queue.fraction(),
        sampled: c.sampled.load(Ordering::Relaxed),
        compared,
        agreed,
        agreement_rate: if compared == 0 { f64::NAN } else { agreed as f64 / compared as f64 },
        shadow_errors: c.shadow_errors.load(Ordering::Relaxed),
        production_errors: c.production_errors.load(Ordering::Relaxed),
        skipped_queue_full: c.skipped_queue_full.load(Ordering::Relaxed),
        skipped_too_large: c.skipped_too_large.load(Ordering::Relaxed),
        pending: shadow.queue.pending() as u64,
        discarded: c.discarded_at_stop.load(Ordering::Relaxed),
        latency_p95_us: snapshot.window.latency_p95_us,
        window_count: snapshot.window.count,
    })
}

impl Shared {
    fn current(&self) -> Arc<Deployment> {
        Arc::clone(&self.deployment.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn publish(&self, next: Deployment) {
        *self.deployment.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
    }

    fn control(&self) -> Result<std::sync::MutexGuard<'_, Vec<Option<Model>>>> {
        Ok(self.control.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn serving(&self) -> Result<()> {
        if self.state.load(Ordering::SeqCst) != SERVING {
            return fail(Status::ShuttingDown, "the runtime is shutting down");
        }
        Ok(())
    }

    /// Asks for a supervisor pass. On the request path: when a pass is already pending, this is
    /// one atomic swap, no lock.
    fn wake_supervisor(&self) {
        if self.wake_pending.swap(true, Ordering::AcqRel) {
            return;
        }
        *self.wake.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.woken.notify_one();
    }

    fn emit(&self, event: Event) {
        log::info!("runtime event {:?}: {} -> {}: {}", event.kind, event.from_version, event.to_version, event.message);
        if let Some(telemetry) = &self.options.telemetry {
            telemetry.record_event(&event);
        }
        let callback = self.events.read().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(callback) = callback {
            callback(&event);
        }
    }

    /// Checks that `model` may replace `old`: same input kind, self-test passed. Returns the
    /// cases used (the host's, else the card's).
    fn admit(&self, old: &Slot, model: &Model, cases: Option<&[SelfTestCase]>) -> Result<Vec<SelfTestCase>> {
        if model.input_kind() != old.model.input_kind() {
            return fail(
                Status::SelfTestFailed,
                format!(
                    "model {} takes {} input; the model it would replace takes {}",
                    model.card().version,
                    model.input_kind().as_str(),
                    old.model.input_kind().as_str()
                ),
            );
        }
        let cases = match cases {
            Some(c) if !c.is_empty() => c.to_vec(),
            _ => selftest::cases_from_card(model)
                .map_err(|e| Error::new(Status::SelfTestFailed, e.message().to_string()))?,
        };
        let mut session = Session::with_options(model, &self.options.session)?;
        selftest::run(&mut session, &cases)?;
        Ok(cases)
    }

    /// Records a refused model: counter, last error, event. Returns the error to give the caller.
    fn refuse(&self, variant: usize, from: &str, to: &str, error: Error) -> Error {
        self.counters.refused_models.fetch_add(1, Ordering::Relaxed);
        self.set_last_error(error.message());
        self.emit(Event::new(EventKind::SwapRefused, variant, from, to, error.message()));
        error
    }

    fn set_last_error(&self, message: &str) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(message.to_string());
    }

    /// Ends the rollout by promoting the candidate (under the control lock).
    fn finish_rollout(&self, control: &mut [Option<Model>], expect: Option<&Arc<Rollout>>, why: &str) -> Result<Event> {
        let current = self.current();
        let Some(r) = current.rollout.clone() else {
            return fail(Status::InvalidState, "no rollout runs");
        };
        if expect.is_some_and(|e| !Arc::ptr_eq(e, &r)) {
            return fail(Status::InvalidState, "the rollout changed meanwhile");
        }
        let old = Arc::clone(&current.variants[r.variant]);
        let mut variants = current.variants.clone();
        variants[r.variant] = Arc::clone(&r.candidate);
        self.publish(Deployment { variants, rollout: None, ..(*current).clone() });
        if let Some(slot) = control.get_mut(r.variant) {
            *slot = Some(old.model.clone());
        }
        self.counters.rollouts_completed.fetch_add(1, Ordering::Relaxed);
        self.counters.swaps.fetch_add(1, Ordering::Relaxed);
        let mut event = Event::new(EventKind::RolloutCompleted, r.variant, &old.version, &r.candidate.version, why);
        event.stage_percent = 100;
        Ok(event)
    }

    /// Ends the rollout by sending its traffic back (under the control lock).
    fn abort_rollout(&self, current: &Deployment, why: &str, level: Level) -> Event {
        let r = current.rollout.clone().expect("abort_rollout is called with a rollout");
        self.publish(Deployment { rollout: None, ..current.clone() });
        self.counters.rollbacks.fetch_add(1, Ordering::Relaxed);
        let back_to = &current.variants[r.variant].version;
        let mut event = Event::new(EventKind::RolledBack, r.variant, &r.candidate.version, back_to, why);
        event.level = level;
        event
    }

    /// The supervisor thread's loop.
    fn supervise(self: Arc<Self>) {
        let mut last = Instant::now();
        while !self.stop.load(Ordering::SeqCst) {
            {
                let mut wake = self.wake.lock().unwrap_or_else(|e| e.into_inner());
                if !*wake {
                    let wait = self.options.evaluation_interval.saturating_sub(last.elapsed());
                    wake = self.woken.wait_timeout(wake, wait).unwrap_or_else(|e| e.into_inner()).0;
                }
                *wake = false;
            }
            // Cleared before the pass: work queued from now on asks for the next one.
            self.wake_pending.store(false, Ordering::Release);
            if self.stop.load(Ordering::SeqCst) {
                break;
            }
            let d = self.current();
            self.run_shadow(&d);
            let due = last.elapsed() >= self.options.evaluation_interval;
            let stage_full = d
                .rollout
                .as_ref()
                .is_some_and(|r| r.served_at_stage.load(Ordering::Relaxed) >= r.config.requests_per_stage);
            if due || stage_full {
                if let Err(e) = self.evaluate() {
                    self.set_last_error(e.message());
                }
                if let Some(telemetry) = &self.options.telemetry {
                    // Busy means a flush runs, which moves the records itself.
                    let _ = telemetry.persist();
                }
                last = Instant::now();
            }
        }
    }

    /// Runs the shadow comparisons queued when the pass starts. Items that arrive meanwhile wait
    /// for the next pass: when the shadow model runs slower than production hands it work (found
    /// under qemu: 8 request threads, one supervisor), draining until empty never ended, and the
    /// supervisor never reached the monitors or the rollout. The queue's bound drops and counts
    /// what the supervisor cannot keep up with.
    fn run_shadow(&self, d: &Deployment) {
        let Some(shadow) = &d.shadow else { return };
        let mut spare = shadow.spare.lock().unwrap_or_else(|e| e.into_inner());
        for _ in 0..shadow.queue.pending() {
            if !shadow.queue.take(&mut spare) {
                break;
            }
            let Some(mut session) = shadow.slot.pool.checkout(Duration::from_secs(1)) else {
                shadow.queue.counters.shadow_errors.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            let c = &shadow.queue.counters;
            match (session.classify(spare.input(), None), &spare.production_label) {
                (Ok(p), Some(production)) => {
                    c.compared.fetch_add(1, Ordering::Relaxed);
                    if *p.label == **production {
                        c.agreed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                (Ok(_), None) => {
                    c.production_errors.fetch_add(1, Ordering::Relaxed);
                }
                (Err(_), production) => {
                    c.shadow_errors.fetch_add(1, Ordering::Relaxed);
                    if production.is_none() {
                        c.production_errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }

    fn evaluate(&self) -> Result<()> {
        let d = self.current();
        self.run_shadow(&d);
        let mut events = Vec::new();
        for (role, variant, slot) in d.slots() {
            let level = slot.monitor.snapshot()?.level;
            let before = slot.level();
            slot.last_level.store(level as i32, Ordering::Relaxed);
            if level != before {
                let mut e = Event::new(
                    EventKind::AlertLevelChanged,
                    variant,
                    &slot.version,
                    &slot.version,
                    format!("{role:?} model {} alert level {before:?} -> {level:?}", slot.version),
                );
                e.level = level;
                events.push(e);
            }
        }
        for e in events {
            self.emit(e);
        }
        self.evaluate_rollout()
    }

    fn evaluate_rollout(&self) -> Result<()> {
        let mut control = self.control()?;
        let current = self.current();
        let Some(r) = current.rollout.clone() else { return Ok(()) };
        let snapshot = r.candidate.monitor.snapshot()?;
        r.candidate.last_level.store(snapshot.level as i32, Ordering::Relaxed);
        let level = rollout::gate_level(&snapshot.alerts);
        let judged = rollout::alerts_judged(&snapshot);
        let stage = r.stage.load(Ordering::Acquire);
        let served = r.served_at_stage.load(Ordering::Relaxed);
        let healthy = if served >= r.config.requests_per_stage && judged && level == Level::Ok {
            let mut checker = r.checker.lock().unwrap_or_else(|e| e.into_inner());
            match selftest::run(&mut checker, &r.cases) {
                Ok(_) => Some(true),
                Err(e) => {
                    self.set_last_error(e.message());
                    Some(false)
                }
            }
        } else {
            None
        };
        let event = match rollout::decide(&r.config, stage, served, level, judged, healthy) {
            Decision::Hold => return Ok(()),
            Decision::Advance => {
                r.stage.store(stage + 1, Ordering::Release);
                r.served_at_stage.store(0, Ordering::Relaxed);
                let from = &current.variants[r.variant].version;
                let mut e = Event::new(
                    EventKind::RolloutAdvanced,
                    r.variant,
                    from,
                    &r.candidate.version,
                    format!("stage {} passed with {served} requests, alerts ok", stage + 1),
                );
                e.stage_percent = r.config.stages_percent[stage + 1];
                e
            }
            Decision::Complete => self.finish_rollout(&mut control, Some(&r), "all stages passed")?,
            Decision::RollBack => {
                let why = if level == Level::Critical {
                    format!("critical alert on the candidate at {}%", r.percent())
                } else {
                    format!("health check (self-test) failed at {}%", r.percent())
                };
                self.set_last_error(&why);
                self.abort_rollout(&current, &why, level)
            }
        };
        drop(control);
        self.emit(event);
        Ok(())
    }

    fn health(&self) -> Health {
        let d = self.current();
        let now = staleness::now_unix();
        let mut level = Level::Ok;
        let models = d
            .slots()
            .into_iter()
            .map(|(role, variant, slot)| {
                let stale = staleness::staleness(slot.model.card(), now, &self.options.staleness);
                let alert_level = slot.level();
                level = level.max(alert_level);
                if role != Role::Shadow {
                    level = level.max(stale.level);
                }
                LoadedModel {
                    role,
                    variant,
                    variant_name: if role == Role::Shadow { String::new() } else { d.names[variant].to_string() },
                    name: slot.model.card().name.clone(),
                    version: slot.version.to_string(),
                    staleness: stale,
                    alert_level,
                }
            })
            .collect();
        let c = &self.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Health {
            state: match self.state.load(Ordering::SeqCst) {
                SERVING => RuntimeState::Serving,
                DRAINING => RuntimeState::Draining,
                _ => RuntimeState::Stopped,
            },
            level,
            models,
            rollout: d.rollout.as_ref().map(|r| r.status()),
            last_error: self.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            uptime: self.created.elapsed(),
            in_flight: self.in_flight.load(Ordering::SeqCst),
            counters: RuntimeCounters {
                requests: load(&c.requests),
                errors: load(&c.errors),
                busy: load(&c.busy),
                refused_shutting_down: load(&c.refused_shutting_down),
                hook_errors: load(&c.hook_errors),
                swaps: load(&c.swaps),
                refused_models: load(&c.refused_models),
                rollbacks: load(&c.rollbacks),
                rollouts_completed: load(&c.rollouts_completed),
            },
            telemetry: self.options.telemetry.as_ref().map(Telemetry::stats),
        }
    }
}
