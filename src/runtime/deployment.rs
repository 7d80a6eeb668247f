//! The deployment: the immutable value requests read (variants, rollout, shadow), and the slots
//! that hold each loaded model with its sessions and monitor.

use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::health::{Role, RolloutStatus};
use super::options::{AssignmentHook, RuntimeOptions};
use super::pool::SessionPool;
use super::shadow::{ShadowItem, ShadowQueue};
use crate::deploy::ab::{self, Assignment};
use crate::deploy::rollout::{self, RolloutConfig};
use crate::deploy::schema::Schema;
use crate::deploy::selftest::SelfTestCase;
use crate::error::Result;
use crate::session::Session;
use crate::{Level, Model, Monitor, MonitorConfig};

/// A model loaded into the runtime: its sessions and its monitor.
pub(super) struct Slot {
    pub(super) model: Model,
    pub(super) version: Arc<str>,
    pub(super) pool: SessionPool,
    pub(super) monitor: Monitor,
    /// The alert level at the last evaluation (a `Level` code).
    pub(super) last_level: AtomicI32,
    /// Last field, so dropped last: counts the slot as freed once everything above is.
    _freed: FreedMark,
}

/// Slots freed in this process so far (every runtime's): a runtime whose supervisor sees the
/// count move gives the freed memory back to the system ([`RuntimeOptions::release_memory`]).
static FREED_SLOTS: AtomicU64 = AtomicU64::new(0);

/// Slots freed in this process so far.
pub(super) fn freed_slots() -> u64 {
    FREED_SLOTS.load(Ordering::Acquire)
}

/// Counts its slot in [`FREED_SLOTS`] when dropped.
struct FreedMark;

impl Drop for FreedMark {
    fn drop(&mut self) {
        FREED_SLOTS.fetch_add(1, Ordering::Release);
    }
}

impl Slot {
    pub(super) fn new(model: &Model, sessions: usize, options: &RuntimeOptions) -> Result<Slot> {
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
            _freed: FreedMark,
        })
    }

    pub(super) fn level(&self) -> Level {
        Level::from_code(self.last_level.load(Ordering::Relaxed)).unwrap_or(Level::Ok)
    }
}

pub(super) struct Rollout {
    pub(super) variant: usize,
    pub(super) candidate: Arc<Slot>,
    pub(super) config: RolloutConfig,
    pub(super) stage: AtomicUsize,
    pub(super) served_at_stage: AtomicU64,
    pub(super) anonymous: AtomicU64,
    pub(super) cases: Vec<SelfTestCase>,
    /// A session outside the pool for the health check (self-test) at each stage.
    pub(super) checker: Mutex<Session>,
}

impl Rollout {
    pub(super) fn percent(&self) -> u32 {
        let stage = self.stage.load(Ordering::Acquire).min(self.config.stages_percent.len() - 1);
        self.config.stages_percent[stage]
    }

    pub(super) fn routes(&self, user_id: &str) -> bool {
        let counter = if user_id.is_empty() { self.anonymous.fetch_add(1, Ordering::Relaxed) } else { 0 };
        rollout::routes_to_candidate(&self.candidate.version, user_id, self.percent(), counter)
    }

    pub(super) fn status(&self) -> RolloutStatus {
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

pub(super) struct Shadow {
    pub(super) slot: Arc<Slot>,
    pub(super) queue: ShadowQueue,
    /// The consumer's buffers, swapped with queued items.
    pub(super) spare: Mutex<ShadowItem>,
}

/// The immutable value requests read.
#[derive(Clone)]
pub(super) struct Deployment {
    pub(super) experiment: Arc<str>,
    pub(super) scheme: Assignment,
    pub(super) names: Vec<Arc<str>>,
    pub(super) weights: Vec<f64>,
    pub(super) variants: Vec<Arc<Slot>>,
    pub(super) hook: Option<Arc<AssignmentHook>>,
    pub(super) rollout: Option<Arc<Rollout>>,
    pub(super) shadow: Option<Arc<Shadow>>,
}

impl Deployment {
    pub(super) fn assign(&self, user_id: &str, hook_errors: &AtomicU64) -> usize {
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

    /// The most labels a model answering the host has (variants and the rollout candidate; not
    /// the shadow, whose answers never reach the host): what a probability buffer must hold.
    pub(super) fn max_labels(&self) -> usize {
        let labels = |s: &Slot| s.model.labels().len();
        let variants = self.variants.iter().map(|s| labels(s)).max().unwrap_or(0);
        let candidate = self.rollout.as_ref().map(|r| labels(&r.candidate)).unwrap_or(0);
        variants.max(candidate)
    }

    /// What a model answering the host must fit: production's inputs and the probability
    /// buffers' label count ([`max_labels`](Self::max_labels)).
    pub(super) fn schema(&self) -> Schema<'_> {
        Schema { serving: &self.variants[0].model, max_labels: Some(self.max_labels()) }
    }

    /// Every slot with its role and variant.
    pub(super) fn slots(&self) -> Vec<(Role, usize, &Arc<Slot>)> {
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

/// Gives `to` the baseline of `from`, when it has one that fits (same features and labels).
pub(super) fn carry_baseline(from: &Monitor, to: &Monitor) {
    if let Ok(Some(baseline)) = from.baseline() {
        if let Err(e) = to.set_baseline(baseline) {
            log::info!("baseline not carried to the new model's monitor: {}", e.message);
        }
    }
}
