//! What the runtime reports: per-variant counts, the A/B significance test, the shadow's results,
//! monitor snapshots by target, and the final report of a shutdown.

use std::sync::atomic::Ordering;

use super::deployment::Shadow;
use super::health::{Health, Role};
use super::options::Target;
use super::shadow::ShadowReport;
use super::{no_variant, Runtime};
use crate::deploy::significance::{calculate_significance, Significance};
use crate::error::{Error, Result, Status};
use crate::telemetry::TelemetryStats;
use crate::{Monitor, Snapshot};

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
    pub snapshots: Vec<ModelSnapshot>,
    /// The shadow's results, if one was set.
    pub shadow: Option<ShadowReport>,
    /// Health at the end.
    pub health: Health,
    /// Telemetry counters after the queue was moved to the spool (when telemetry is on): what is
    /// still `pending` goes out with the host's next flush, or after the next start from the spool.
    pub telemetry: Option<TelemetryStats>,
}

/// One loaded model's snapshot, with what it serves.
#[derive(Clone, Debug)]
pub struct ModelSnapshot {
    /// Its role.
    pub role: Role,
    /// The variant it serves (or is candidate for; 0 for the shadow).
    pub variant: usize,
    /// That variant's name (empty for the shadow).
    pub variant_name: String,
    /// The model's version.
    pub version: String,
    /// Its monitor's analysis, made now.
    pub snapshot: Snapshot,
}

impl Runtime {
    /// The shadow's results so far (`None` without a shadow). Analyses the shadow's monitor.
    pub fn shadow_report(&self) -> Result<Option<ShadowReport>> {
        let d = self.shared.current();
        d.shadow.as_ref().map(|s| shadow_report(s)).transpose()
    }

    /// A pooled two-proportion z-test, two-tailed ([`calculate_significance`]), of `treatment`
    /// against `control` on the recorded outcomes (each variant's conversions out of its outcomes).
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

    /// Every loaded model's snapshot (analysed now), with its role, variant and version.
    pub fn model_snapshots(&self) -> Result<Vec<ModelSnapshot>> {
        let d = self.shared.current();
        d.slots()
            .into_iter()
            .map(|(role, variant, slot)| {
                Ok(ModelSnapshot {
                    role,
                    variant,
                    variant_name: if role == Role::Shadow { String::new() } else { d.names[variant].to_string() },
                    version: slot.version.to_string(),
                    snapshot: slot.monitor.snapshot()?,
                })
            })
            .collect()
    }
}

pub(super) fn shadow_report(shadow: &Shadow) -> Result<ShadowReport> {
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
