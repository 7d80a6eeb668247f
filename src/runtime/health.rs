//! What `Runtime::health` reports, and how it is gathered.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::state::{Shared, DRAINING, SERVING};
use super::Runtime;
use crate::deploy::staleness::{self, Staleness};
use crate::telemetry::Telemetry;
use crate::Level;

/// The runtime's lifecycle state.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum RuntimeState {
    /// Taking requests.
    Serving = 0,
    /// Shutdown began: new requests are refused, in-flight ones finish.
    Draining = 1,
    /// Shut down: no request runs or will run.
    Stopped = 2,
}

/// The role of a loaded model.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Role {
    /// Serves a variant (variant 0 is production / control).
    Variant = 0,
    /// A staged-rollout candidate for a variant.
    Candidate = 1,
    /// The shadow model.
    Shadow = 2,
}

/// One loaded model.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedModel {
    /// Its role.
    pub role: Role,
    /// The variant it serves (candidates: the variant they would replace; shadow: 0).
    pub variant: usize,
    /// The variant's name (empty for the shadow).
    pub variant_name: String,
    /// The card's model name.
    pub name: String,
    /// The card's version.
    pub version: String,
    /// Its freshness.
    pub staleness: Staleness,
    /// Its monitor's alert level at the last evaluation.
    pub alert_level: Level,
}

/// Where a staged rollout stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RolloutStatus {
    /// The variant whose model the candidate would replace.
    pub variant: usize,
    /// The candidate's version.
    pub candidate_version: String,
    /// Current stage (index into the stages).
    pub stage: usize,
    /// The candidate's traffic share now, in percent.
    pub percent: u32,
    /// Candidate requests served at this stage.
    pub served_at_stage: u64,
    /// Requests a stage needs before it may advance.
    pub requests_per_stage: u64,
}

/// Counters since the runtime was created.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct RuntimeCounters {
    /// Requests answered by a model (successes and model errors).
    pub requests: u64,
    /// Of those, the ones that returned an error.
    pub errors: u64,
    /// Requests refused with `Busy`.
    pub busy: u64,
    /// Requests refused with `ShuttingDown`.
    pub refused_shutting_down: u64,
    /// Assignment-hook answers out of range (fell back to hashing).
    pub hook_errors: u64,
    /// Successful hot swaps (including promotions and rollbacks to a previous version).
    pub swaps: u64,
    /// Models refused (load, self-test or input kind).
    pub refused_models: u64,
    /// Rollouts rolled back (automatically or by hand).
    pub rollbacks: u64,
    /// Rollouts completed.
    pub rollouts_completed: u64,
    /// Supervisor passes that gave freed memory back to the operating system after a model was
    /// retired ([`RuntimeOptions::release_memory`](crate::RuntimeOptions::release_memory)).
    pub memory_releases: u64,
}

/// The runtime's health.
#[derive(Clone, Debug, PartialEq)]
pub struct Health {
    /// Lifecycle state.
    pub state: RuntimeState,
    /// The most severe of the models' alert levels and staleness levels.
    pub level: Level,
    /// Every loaded model.
    pub models: Vec<LoadedModel>,
    /// The staged rollout, if one runs.
    pub rollout: Option<RolloutStatus>,
    /// The last error a control operation or the supervisor met (refused model, failed
    /// health check), if any.
    pub last_error: Option<String>,
    /// Time since creation.
    pub uptime: Duration,
    /// Requests running now.
    pub in_flight: u64,
    /// Counters.
    pub counters: RuntimeCounters,
    /// The telemetry's counters (sent, retried, dropped, pending…), when telemetry is on.
    pub telemetry: Option<crate::telemetry::TelemetryStats>,
}

impl Runtime {
    /// The runtime's health.
    pub fn health(&self) -> Health {
        self.shared.health()
    }
}

impl Shared {
    pub(super) fn health(&self) -> Health {
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
                memory_releases: load(&c.memory_releases),
            },
            telemetry: self.options.telemetry.as_ref().map(Telemetry::stats),
        }
    }
}
