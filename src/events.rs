//! Deployment events delivered to the host's callback.

use crate::Level;

/// What happened.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum EventKind {
    /// A variant now serves another model version (hot swap, promotion or manual rollback).
    Swapped = 1,
    /// A model was refused (failed to load, failed its self-test, wrong input kind); the old
    /// one keeps serving. The message says why.
    SwapRefused = 2,
    /// A staged rollout began at its first stage.
    RolloutStarted = 3,
    /// The rollout moved to the next stage (`stage_percent`).
    RolloutAdvanced = 4,
    /// The rollout finished: the candidate is the variant's model.
    RolloutCompleted = 5,
    /// The rollout was stopped and traffic went back to the last good version (automatically on
    /// a critical alert or failed health check, or by a manual call). The message says why.
    RolledBack = 6,
    /// A monitored model's alert level changed (`level`; `from_version` is the model).
    AlertLevelChanged = 7,
    /// The experiment (variants and weights) changed.
    ExperimentChanged = 8,
    /// A shadow model was set or removed.
    ShadowChanged = 9,
    /// Shutdown began: new requests get `ShuttingDown`.
    ShutdownStarted = 10,
}

impl EventKind {
    /// A stable snake_case name (telemetry records use it).
    pub const fn name(self) -> &'static str {
        match self {
            EventKind::Swapped => "swapped",
            EventKind::SwapRefused => "swap_refused",
            EventKind::RolloutStarted => "rollout_started",
            EventKind::RolloutAdvanced => "rollout_advanced",
            EventKind::RolloutCompleted => "rollout_completed",
            EventKind::RolledBack => "rolled_back",
            EventKind::AlertLevelChanged => "alert_level_changed",
            EventKind::ExperimentChanged => "experiment_changed",
            EventKind::ShadowChanged => "shadow_changed",
            EventKind::ShutdownStarted => "shutdown_started",
        }
    }

    /// The kind with this code.
    pub fn from_code(code: i32) -> Option<EventKind> {
        match code {
            1 => Some(EventKind::Swapped),
            2 => Some(EventKind::SwapRefused),
            3 => Some(EventKind::RolloutStarted),
            4 => Some(EventKind::RolloutAdvanced),
            5 => Some(EventKind::RolloutCompleted),
            6 => Some(EventKind::RolledBack),
            7 => Some(EventKind::AlertLevelChanged),
            8 => Some(EventKind::ExperimentChanged),
            9 => Some(EventKind::ShadowChanged),
            10 => Some(EventKind::ShutdownStarted),
            _ => None,
        }
    }
}

/// One event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The variant concerned (0 when not about one).
    pub variant: usize,
    /// The version serving before (empty when not applicable).
    pub from_version: String,
    /// The version serving after, or the candidate/refused one (empty when not applicable).
    pub to_version: String,
    /// Rollout events: the candidate's traffic share now (0 after a rollback).
    pub stage_percent: u32,
    /// Alert level (for `AlertLevelChanged`; otherwise the level that caused the event, or ok).
    pub level: Level,
    /// A human-readable account.
    pub message: String,
}

impl Event {
    pub(crate) fn new(kind: EventKind, variant: usize, from: &str, to: &str, message: impl Into<String>) -> Event {
        Event {
            kind,
            variant,
            from_version: from.to_string(),
            to_version: to.to_string(),
            stage_percent: 0,
            level: Level::Ok,
            message: message.into(),
        }
    }
}

/// The host's event callback. Called on the thread that caused the event (a control call's
/// thread, or the runtime's supervisor thread), never while the runtime holds a lock; it may call
/// the runtime's functions except `shutdown`.
pub type EventCallback = Box<dyn Fn(&Event) + Send + Sync>;
