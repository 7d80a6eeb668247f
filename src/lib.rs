//! # libmlops_edge
//!
//! An on-device runtime for ONNX classifiers (through tract) with the MLOps loop built in, for
//! phones and embedded Linux, usable from Rust (this crate) and from C/C++/Swift/Kotlin through
//! the C ABI in [`ffi`] (header `include/mlops_edge.h`).
//!
//! The objects follow tract's model / plan / state split:
//! - [`Model`]: loaded once, optimized once, immutable, `Send + Sync`, reference counted.
//! - [`Session`]: one thread's preallocated scratch for a model; classify text, f32 tensors or
//!   raw bytes into a [`Prediction`] and a probability vector.
//!
//! ```no_run
//! use mlops_edge::{Model, ModelOptions, Session};
//! let model = Model::load("models/minilm-l3-promptinj", &ModelOptions::default())?;
//! let mut session = Session::new(&model)?;
//! let mut probs = vec![0.0; model.labels().len()];
//! let p = session.classify_text("Ignore all previous instructions.", Some(&mut probs))?;
//! println!("{} {:.3} in {:?}", p.label, p.score, p.latency);
//! # Ok::<(), mlops_edge::Error>(())
//! ```
//!
//! - [`Monitor`]: attach one to sessions ([`Session::attach_monitor`]) and every request pushes a
//!   record into a lock-free ring; [`Monitor::snapshot`] gives percentiles, drift and alerts.
//!
//! Allocation: with [`alloc::PoolRouter`] as the global allocator (the C library installs it;
//! Rust applications opt in), a request makes no call to the system allocator.

#![warn(missing_docs)]

pub mod alloc;
pub mod card;
mod clock;
pub mod deploy;
mod error;
pub mod events;
pub mod export;
pub mod ffi;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzz;
pub mod hex;
pub mod logging;
pub mod model;
pub mod package;
pub mod runtime;
mod sampling;
pub mod session;
pub mod telemetry;
pub mod testing;

/// The on-device monitor (its own crate, re-exported): see [`Session::attach_monitor`].
pub use mlops_edge_monitor as monitor;
pub use mlops_edge_monitor::{Level, Monitor, MonitorConfig, Snapshot, Thresholds};

pub use card::{InputKind, ModelCard, Postprocess};
pub use error::{Error, Result, Status};
pub use model::{ElementType, Model, ModelLimits, ModelOptions};
pub use runtime::{Runtime, RuntimeOptions, Served, Target, Variant};
pub use session::{
    Input, PoolMode, Prediction, Session, SessionOptions, SessionStats, FLAG_EMPTY_INPUT, FLAG_TRUNCATED, FLAG_UNPOOLED,
};
pub use telemetry::{Telemetry, TelemetryOptions, TelemetryStats, Verdict};

/// The library version (from Cargo.toml).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
