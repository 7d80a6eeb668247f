//! # mlops_edge_monitor
//!
//! The on-device monitor of libmlops_edge, with no dependency on models or tract:
//! - **Ingest** (the request path): each session holds a [`Recorder`] that pushes one 64-byte
//!   [`Record`] per request into its own single-producer single-consumer ring. No lock, no
//!   allocation, no syscall; a full ring counts the record as dropped.
//! - **Analysis** (on demand, any thread): [`Monitor::snapshot`] drains the rings into a bounded
//!   window and computes latency percentiles (the floor-index rule `sorted[floor(n·q)]`, clamped
//!   to the last element), throughput, error rate, histograms with fixed upper-inclusive buckets
//!   (latency ≤0.01 … ≤5 s, confidence ≤0.1 … ≤1.0, input length ≤10 … ≤5000, each with a last
//!   +Inf bucket), KS drift against a [`Baseline`] (p-values as `scipy.stats.ks_2samp`), label
//!   drift (chi-square, as `scipy.stats.chi2_contingency`), degradation [`Alert`]s against the
//!   baseline (by default: p95 latency +50% warning, +100% critical; mean confidence −10%
//!   warning, −20% critical; error rate +5 points warning, +20 points critical; see
//!   [`Thresholds`]), and an overall [`Level`], firing a callback when the level changes.
//! - [`stats`]: the statistics on their own.

#![warn(missing_docs)]

mod alerts;
mod analysis;
mod baseline;
mod config;
mod error;
pub mod exphist;
mod ingest;
mod monitor;
mod record;
mod ring;
mod snapshot;
pub mod stats;
mod sync;
mod totals;

pub use alerts::{Alert, AlertMetric, Level, Thresholds};
pub use baseline::{Baseline, BaselineSamples, MIN_BASELINE_SAMPLES};
pub use config::{MonitorConfig, MAX_LABELS, MAX_RECORDERS, MAX_RING_CAPACITY, MAX_WINDOW};
pub use error::{ErrorKind, MonitorError, Result};
pub use ingest::Recorder;
pub use monitor::{LevelCallback, LevelChange, Monitor};
pub use record::{Record, MAX_FEATURES, NO_LABEL, STATUS_OK};
pub use snapshot::{
    BaselineSummary, Drift, DriftReport, LabelDrift, Snapshot, VersionCounts, WindowSummary, MAX_ALERTS, MAX_VERSIONS,
    MAX_VERSION_LEN, STATUS_SLOTS,
};
pub use totals::{FixedHistogram, Totals};
