//! The runtime's shared state: the published deployment, the control lock, counters, the event
//! callback, and the supervisor's wake-up.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::Instant;

use super::deployment::Deployment;
use super::options::RuntimeOptions;
use crate::deploy::ab::MAX_VARIANTS;
use crate::error::{fail, Result, Status};
use crate::events::{Event, EventCallback};
use crate::Model;

#[derive(Default)]
pub(super) struct VariantCounters {
    pub(super) requests: AtomicU64,
    pub(super) errors: AtomicU64,
    pub(super) candidate_requests: AtomicU64,
    pub(super) conversions: AtomicU64,
    pub(super) outcomes: AtomicU64,
}

impl VariantCounters {
    pub(super) fn reset(&self) {
        for c in [&self.requests, &self.errors, &self.candidate_requests, &self.conversions, &self.outcomes] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

#[derive(Default)]
pub(super) struct Counters {
    pub(super) requests: AtomicU64,
    pub(super) errors: AtomicU64,
    pub(super) busy: AtomicU64,
    pub(super) refused_shutting_down: AtomicU64,
    pub(super) hook_errors: AtomicU64,
    pub(super) swaps: AtomicU64,
    pub(super) refused_models: AtomicU64,
    pub(super) rollbacks: AtomicU64,
    pub(super) rollouts_completed: AtomicU64,
    pub(super) memory_releases: AtomicU64,
}

pub(super) const SERVING: u8 = 0;
pub(super) const DRAINING: u8 = 1;
pub(super) const STOPPED: u8 = 2;

pub(super) struct Shared {
    pub(super) options: RuntimeOptions,
    pub(super) deployment: RwLock<Arc<Deployment>>,
    /// Serialises control calls and evaluations; holds each variant's previous model (for
    /// manual rollback after a swap or promotion).
    pub(super) control: Mutex<Vec<Option<Model>>>,
    pub(super) state: AtomicU8,
    pub(super) in_flight: AtomicU64,
    pub(super) counters: Counters,
    pub(super) variants: [VariantCounters; MAX_VARIANTS],
    pub(super) events: RwLock<Option<Arc<EventCallback>>>,
    pub(super) last_error: Mutex<Option<String>>,
    /// Set by whoever asks the supervisor for a pass; cleared by the supervisor before the pass,
    /// so a request that finds it set knows its work will be seen without taking the lock.
    pub(super) wake_pending: AtomicBool,
    pub(super) wake: Mutex<bool>,
    pub(super) woken: Condvar,
    pub(super) stop: AtomicBool,
    pub(super) supervisor_thread: Mutex<Option<std::thread::ThreadId>>,
    pub(super) created: Instant,
    /// A small pool for what a request allocates before it reaches a session (the messages of
    /// refused requests: bad arguments, busy, shutting down), so that refusals, too, make no call
    /// to the system allocator. `None` without the pool router.
    pub(super) refusals: Option<crate::alloc::Pool>,
    /// The count of freed slots ([`super::deployment::freed_slots`]) at the last memory release.
    pub(super) released_at: AtomicU64,
}

/// Decrements the in-flight count when a request ends, however it ends.
pub(super) struct InFlight<'a>(pub(super) &'a AtomicU64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Shared {
    pub(super) fn current(&self) -> Arc<Deployment> {
        Arc::clone(&self.deployment.read().unwrap_or_else(|e| e.into_inner()))
    }

    pub(super) fn publish(&self, next: Deployment) {
        *self.deployment.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
    }

    pub(super) fn control(&self) -> Result<std::sync::MutexGuard<'_, Vec<Option<Model>>>> {
        Ok(self.control.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub(super) fn serving(&self) -> Result<()> {
        if self.state.load(Ordering::SeqCst) != SERVING {
            return fail(Status::ShuttingDown, "the runtime is shutting down");
        }
        Ok(())
    }

    /// Asks for a supervisor pass. On the request path: when a pass is already pending, this is
    /// one atomic swap, no lock.
    pub(super) fn wake_supervisor(&self) {
        if self.wake_pending.swap(true, Ordering::AcqRel) {
            return;
        }
        *self.wake.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.woken.notify_one();
    }

    pub(super) fn emit(&self, event: Event) {
        log::info!("runtime event {:?}: {} -> {}: {}", event.kind, event.from_version, event.to_version, event.message);
        if let Some(telemetry) = &self.options.telemetry {
            telemetry.record_event(&event);
        }
        let callback = self.events.read().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(callback) = callback {
            callback(&event);
        }
    }

    pub(super) fn set_last_error(&self, message: &str) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(message.to_string());
    }
}
