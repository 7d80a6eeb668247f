//! `MonitorConfig`: how a monitor is sized and what it watches, with the limits each field is
//! checked against.

use crate::alerts::Thresholds;
use crate::error::{MonitorError, Result};
use crate::record::MAX_FEATURES;

/// Largest window.
pub const MAX_WINDOW: usize = 1 << 16;
/// Largest ring per recorder.
pub const MAX_RING_CAPACITY: usize = 1 << 20;
/// Most recorders (concurrent sessions) per monitor.
pub const MAX_RECORDERS: usize = 4096;
/// Most labels a monitor counts one by one.
pub const MAX_LABELS: usize = 1 << 16;

/// How a monitor is sized and what it watches. Fixed at creation (thresholds can change later).
#[derive(Clone, Debug, PartialEq)]
pub struct MonitorConfig {
    /// Records the analysis window keeps (the last N requests); 1..=65536, default 1024.
    pub window: usize,
    /// Records each recorder's ring holds between analyses (rounded up to a power of two);
    /// 1..=2^20, default 1024. A full ring drops (and counts) new records.
    pub ring_capacity: usize,
    /// Recorders (sessions) that can be attached at once; 1..=4096, default 16.
    pub max_recorders: usize,
    /// Labels counted one by one (the model's label count; larger indexes share one "other"
    /// count); 0..=65536, default 0 (then only "other").
    pub label_count: usize,
    /// Indexes of the input tensor values watched for drift, at most 8 (tensor models only).
    pub feature_indices: Vec<u32>,
    /// Alert thresholds.
    pub thresholds: Thresholds,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            window: 1024,
            ring_capacity: 1024,
            max_recorders: 16,
            label_count: 0,
            feature_indices: Vec::new(),
            thresholds: Thresholds::default(),
        }
    }
}

impl MonitorConfig {
    /// Checks every field against its documented range.
    pub fn validate(&self) -> Result<()> {
        let ranges = [
            ("window", self.window, 1, MAX_WINDOW),
            ("ring_capacity", self.ring_capacity, 1, MAX_RING_CAPACITY),
            ("max_recorders", self.max_recorders, 1, MAX_RECORDERS),
            ("label_count", self.label_count, 0, MAX_LABELS),
            ("feature count", self.feature_indices.len(), 0, MAX_FEATURES),
        ];
        for (name, value, low, high) in ranges {
            if value < low || value > high {
                return Err(MonitorError::invalid(format!("{name} must be in {low}..={high}, got {value}")));
            }
        }
        self.thresholds.validate()
    }
}
