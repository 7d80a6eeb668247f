//! Model freshness: age in whole days from the card's `trained_at`, a warning when older than 30
//! days, critical when older than 60 (both configurable).

use crate::card::ModelCard;
use crate::Level;

/// Age limits, in whole days, compared with `>` (`age_days > warning_days`): 31 days old is a
/// warning at 30, 30 days old is not.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct StalenessThresholds {
    /// Older than this many days: warning (default 30).
    pub warning_days: i64,
    /// Older than this many days: critical (default 60).
    pub critical_days: i64,
}

impl Default for StalenessThresholds {
    fn default() -> Self {
        StalenessThresholds { warning_days: 30, critical_days: 60 }
    }
}

/// How old a model is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Staleness {
    /// The card's `trained_at` as Unix seconds, when the card has it.
    pub trained_at_unix: Option<i64>,
    /// Whole days since `trained_at`, rounded down (floor, as Python's `timedelta.days`: negative
    /// for a `trained_at` in the future), when known.
    pub age_days: Option<i64>,
    /// `age_days > warning_days` (false when `trained_at` is unknown).
    pub needs_retraining: bool,
    /// Ok, warning or critical by age. A card without `trained_at` is a warning: its freshness
    /// cannot be tracked.
    pub level: Level,
}

/// The staleness of a model with `card` at `now_unix` (seconds).
pub fn staleness(card: &ModelCard, now_unix: i64, thresholds: &StalenessThresholds) -> Staleness {
    match card.trained_at_unix {
        None => Staleness { trained_at_unix: None, age_days: None, needs_retraining: false, level: Level::Warning },
        Some(trained) => {
            let age_days = (now_unix - trained).div_euclid(86_400);
            let level = if age_days > thresholds.critical_days {
                Level::Critical
            } else if age_days > thresholds.warning_days {
                Level::Warning
            } else {
                Level::Ok
            };
            Staleness {
                trained_at_unix: Some(trained),
                age_days: Some(age_days),
                needs_retraining: age_days > thresholds.warning_days,
                level,
            }
        }
    }
}

/// Seconds since the Unix epoch now (0 if the clock is before 1970).
pub fn now_unix() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(trained: Option<i64>) -> ModelCard {
        ModelCard { trained_at_unix: trained, ..ModelCard::default() }
    }

    #[test]
    fn age_limits_compare_whole_days_with_greater_than() {
        let t = StalenessThresholds::default();
        let day = 86_400;
        let at = |days: i64, extra: i64| staleness(&card(Some(0)), days * day + extra, &t);
        assert_eq!(at(30, 0).level, Level::Ok);
        assert_eq!(at(30, day - 1).level, Level::Ok); // 30.99 days is 30 whole days
        assert_eq!(at(31, 0).level, Level::Warning);
        assert!(at(31, 0).needs_retraining);
        assert_eq!(at(60, 0).level, Level::Warning);
        assert_eq!(at(61, 0).level, Level::Critical);
        assert_eq!(at(0, -1).age_days, Some(-1)); // trained in the future: floor, so -1
        assert_eq!(staleness(&card(None), 0, &t).level, Level::Warning);
    }
}
