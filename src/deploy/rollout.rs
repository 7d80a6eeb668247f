//! Staged rollout: the candidate's share of traffic climbs through stages (default
//! 10% → 25% → 50% → 100%), moving on after a number of requests per stage while its alerts stay
//! ok; a critical alert or a failed health check sends traffic back to the last good version.

use crate::deploy::ab::md5_bucket;
use crate::error::{fail, Result, Status};
use crate::monitor::{Alert, AlertMetric};
use crate::{Level, Snapshot};

/// Most stages a rollout may have.
pub const MAX_STAGES: usize = 8;

/// How a rollout moves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RolloutConfig {
    /// Candidate traffic per stage, in percent: strictly increasing, each in 1..=100, the last
    /// 100 (default `[10, 25, 50, 100]`).
    pub stages_percent: Vec<u32>,
    /// Candidate requests served at a stage before it may advance (default 100).
    pub requests_per_stage: u64,
    /// Whether reaching the end of the last stage promotes the candidate by itself (default
    /// true); when false it stays at 100% until `promote` is called.
    pub auto_promote: bool,
}

impl Default for RolloutConfig {
    fn default() -> Self {
        RolloutConfig { stages_percent: vec![10, 25, 50, 100], requests_per_stage: 100, auto_promote: true }
    }
}

impl RolloutConfig {
    /// Checks the stages and the request count (`InvalidArgument` with the reason).
    pub fn validate(&self) -> Result<()> {
        let stages = &self.stages_percent;
        if stages.is_empty() || stages.len() > MAX_STAGES {
            return fail(
                Status::InvalidArgument,
                format!("a rollout needs 1 to {MAX_STAGES} stages, got {}", stages.len()),
            );
        }
        if stages.iter().any(|p| *p == 0 || *p > 100) {
            return fail(Status::InvalidArgument, format!("stage percentages must be in 1..=100, got {stages:?}"));
        }
        if stages.windows(2).any(|w| w[0] >= w[1]) {
            return fail(Status::InvalidArgument, format!("stage percentages must increase, got {stages:?}"));
        }
        if *stages.last().unwrap_or(&0) != 100 {
            return fail(Status::InvalidArgument, format!("the last stage must be 100%, got {stages:?}"));
        }
        if self.requests_per_stage == 0 {
            return fail(Status::InvalidArgument, "requests_per_stage must be at least 1");
        }
        Ok(())
    }
}

/// What the rollout does next.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Stay at this stage (not enough requests yet, or a warning is open).
    Hold,
    /// Move to the next stage.
    Advance,
    /// The last stage is done: the candidate becomes the variant's model.
    Complete,
    /// Send all traffic back to the last good version.
    RollBack,
}

/// The decision at `stage` (index) after `served` candidate requests at that stage, given the
/// candidate's alert level, whether its alerts have been judged (see [`alerts_judged`]) and its
/// health check (`None`: not run this time). A stage never advances on unjudged alerts.
pub fn decide(
    config: &RolloutConfig,
    stage: usize,
    served: u64,
    level: Level,
    judged: bool,
    healthy: Option<bool>,
) -> Decision {
    if level == Level::Critical || healthy == Some(false) {
        return Decision::RollBack;
    }
    if served < config.requests_per_stage || !judged || level != Level::Ok {
        return Decision::Hold;
    }
    if stage + 1 >= config.stages_percent.len() {
        if config.auto_promote {
            Decision::Complete
        } else {
            Decision::Hold
        }
    } else {
        Decision::Advance
    }
}

/// The level a rollout acts on: the most severe of the candidate's degradation alerts (p95
/// latency and mean confidence against the baseline, error rate). Drift alerts are left out:
/// inputs drift the same for both versions, and latency/confidence changes already have their
/// own alerts. The monitor raises degradation alerts only once its window holds its thresholds'
/// `min_alert_samples`, so a first unlucky request does not roll a good candidate back.
pub fn gate_level(alerts: &[Alert]) -> Level {
    alerts
        .iter()
        .filter(|a| matches!(a.metric, AlertMetric::LatencyP95 | AlertMetric::ConfidenceMean | AlertMetric::ErrorRate))
        .map(|a| a.level)
        .max()
        .unwrap_or(Level::Ok)
}

/// Whether the candidate's degradation alerts have had their say: the monitor judged them
/// ([`Snapshot::degradation_tested`]), or there is no baseline to judge against (then the health
/// check alone judges the candidate).
pub fn alerts_judged(snapshot: &Snapshot) -> bool {
    snapshot.baseline.is_none() || snapshot.degradation_tested
}

/// Whether this request goes to the candidate at `percent`% of traffic.
///
/// With a user id, the md5 bucket of `"salt:user_id"` ([`md5_bucket`]:
/// `int(md5("salt:user_id"), 16) % 1000 / 1000`; the runtime's salt is the candidate's version): a
/// user stays on the candidate as its share grows (bucket < percent / 100). Without one, the
/// request counter spreads requests evenly: exactly `percent` of every 100 consecutive anonymous
/// requests.
pub fn routes_to_candidate(salt: &str, user_id: &str, percent: u32, anonymous_counter: u64) -> bool {
    if percent >= 100 {
        return true;
    }
    if user_id.is_empty() {
        // Spread evenly within each 100: request k goes to the candidate when the running
        // share floor((k+1)·p/100) moves past floor(k·p/100).
        let k = anonymous_counter % 100;
        return (k + 1) * percent as u64 / 100 > k * percent as u64 / 100;
    }
    md5_bucket(salt, user_id) < percent as f64 / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_checks() {
        assert!(RolloutConfig::default().validate().is_ok());
        let bad = |stages: Vec<u32>| RolloutConfig { stages_percent: stages, ..Default::default() }.validate().is_err();
        assert!(bad(vec![]));
        assert!(bad(vec![10, 10, 100]));
        assert!(bad(vec![50, 25, 100]));
        assert!(bad(vec![10, 50]));
        assert!(bad(vec![0, 100]));
        assert!(bad(vec![10, 101]));
        assert!(RolloutConfig { requests_per_stage: 0, ..Default::default() }.validate().is_err());
    }

    #[test]
    fn decisions() {
        let c = RolloutConfig::default();
        assert_eq!(decide(&c, 0, 99, Level::Ok, true, None), Decision::Hold);
        assert_eq!(decide(&c, 0, 100, Level::Ok, true, Some(true)), Decision::Advance);
        assert_eq!(decide(&c, 0, 100, Level::Ok, false, Some(true)), Decision::Hold, "unjudged");
        assert_eq!(decide(&c, 0, 100, Level::Warning, true, Some(true)), Decision::Hold);
        assert_eq!(decide(&c, 1, 5, Level::Critical, true, None), Decision::RollBack);
        assert_eq!(decide(&c, 2, 500, Level::Ok, true, Some(false)), Decision::RollBack);
        assert_eq!(decide(&c, 3, 100, Level::Ok, true, Some(true)), Decision::Complete);
        assert_eq!(decide(&c, 3, 100, Level::Ok, false, Some(true)), Decision::Hold);
        let manual = RolloutConfig { auto_promote: false, ..Default::default() };
        assert_eq!(decide(&manual, 3, 100, Level::Ok, true, Some(true)), Decision::Hold);
    }

    fn critical(metric: AlertMetric) -> Alert {
        Alert {
            metric,
            feature: 0,
            level: Level::Critical,
            current: 0.5,
            baseline: 0.96,
            change_pct: -48.0,
            p_value: f64::NAN,
        }
    }

    #[test]
    fn only_degradation_alerts_move_a_rollout() {
        for metric in [AlertMetric::ConfidenceMean, AlertMetric::LatencyP95, AlertMetric::ErrorRate] {
            assert_eq!(gate_level(&[critical(metric)]), Level::Critical, "{metric:?}");
        }
        for metric in [AlertMetric::ConfidenceDrift, AlertMetric::LatencyDrift, AlertMetric::LabelDrift] {
            assert_eq!(gate_level(&[critical(metric)]), Level::Ok, "{metric:?}");
        }
        assert_eq!(gate_level(&[]), Level::Ok);
    }

    #[test]
    fn alerts_are_judged_by_the_monitor_or_without_a_baseline() {
        let snapshot = |tested: bool, baseline: bool| Snapshot {
            degradation_tested: tested,
            baseline: baseline.then(Default::default),
            ..Default::default()
        };
        assert!(!alerts_judged(&snapshot(false, true)));
        assert!(alerts_judged(&snapshot(true, true)));
        // Nothing to judge against: the health check decides.
        assert!(alerts_judged(&snapshot(false, false)));
    }

    #[test]
    fn anonymous_requests_split_exactly() {
        for percent in [1u32, 10, 25, 33, 50, 99, 100] {
            let n = (0..1000).filter(|k| routes_to_candidate("s", "", percent, *k)).count();
            assert_eq!(n, percent as usize * 10, "percent {percent}");
        }
    }

    #[test]
    fn users_stay_on_the_candidate_as_it_grows() {
        for u in 0..500 {
            let user = format!("user{u}");
            let mut was = false;
            for p in [10, 25, 50, 100] {
                let now = routes_to_candidate("v2", &user, p, 0);
                assert!(!was || now, "{user} left the candidate at {p}%");
                was = now;
            }
        }
    }
}
