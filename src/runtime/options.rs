//! How a runtime is sized and what a deployment is made of: [`RuntimeOptions`], [`Variant`],
//! the host's [`AssignmentHook`], and [`Target`] (which model a call is about).

use std::time::Duration;

use crate::deploy::staleness::StalenessThresholds;
use crate::error::{fail, Error, Result, Status};
use crate::package::TrustPolicy;
use crate::session::SessionOptions;
use crate::telemetry::Telemetry;
use crate::{Model, MonitorConfig};

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
    /// Run a supervisor thread (default true). Without it, call
    /// [`Runtime::evaluate`](crate::Runtime::evaluate) regularly: the shadow runs and the rollout
    /// moves only then.
    pub supervisor_thread: bool,
    /// Where requests and events are recorded for upload (default none). Each evaluation moves
    /// queued records into the spool; shutdown does it a last time.
    pub telemetry: Option<Telemetry>,
    /// Which models the runtime takes, whoever loaded them: with trusted keys, only models loaded
    /// from a package signed by one of them; with a minimum package version, nothing older. The
    /// production model at creation, swaps, rollouts, experiment variants, schema changes and the
    /// shadow are all checked ([`Model::provenance`](crate::Model::provenance)); a refused model
    /// leaves the deployment as it was, with a `SwapRefused` event saying why. Loads the runtime
    /// does itself (`swap_from_path`, `start_rollout_from_path`) verify under this policy when
    /// their model options have none. Default: any model.
    pub trust: TrustPolicy,
    /// After a model this runtime served has been freed (a swap, a promotion, a rollback, an
    /// experiment change), the next supervisor pass gives the C allocator's free memory back to
    /// the operating system ([`alloc::release_free_memory`](crate::alloc::release_free_memory):
    /// glibc's `malloc_trim`, nothing elsewhere), counted in
    /// [`RuntimeCounters::memory_releases`](crate::runtime::RuntimeCounters::memory_releases).
    /// Default true; the trim walks every arena of the process under its lock, which is why it
    /// runs only after a model was retired, never on a request.
    pub release_memory: bool,
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
            trust: TrustPolicy::default(),
            release_memory: true,
        }
    }
}

impl RuntimeOptions {
    /// Checks every option against its documented range.
    pub fn validate(&self) -> Result<()> {
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
        self.trust.validate()
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
