//! The serving object a host keeps for its lifetime: [`Runtime`].
//!
//! A runtime owns the active deployment — the variants of an experiment (variant 0 is
//! production / control), an optional staged-rollout candidate, an optional shadow — each model
//! with its own pool of preallocated sessions and its own monitor. Any thread may call
//! [`Runtime::classify`]. The deployment is an immutable value behind an `Arc`: a request takes
//! a reference to the current one (a read lock and a reference-count increment) and finishes on
//! it, whatever swaps happen meanwhile; control calls build a new deployment and publish it.
//!
//! A supervisor thread (optional, on by default) runs the shadow model on the sampled inputs,
//! evaluates the monitors (alert-level events) and moves the rollout; hosts without it call
//! [`Runtime::evaluate`] from their own scheduler.

mod control;
mod deployment;
mod health;
mod options;
mod pool;
mod reports;
mod serving;
mod shadow;
mod state;
mod supervisor;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use crate::events::{Event, EventCallback, EventKind};
pub use health::{Health, LoadedModel, Role, RolloutStatus, RuntimeCounters, RuntimeState};
pub use options::{AssignmentHook, RuntimeOptions, Target, Variant, MAX_CONCURRENCY};
pub use reports::{FinalReport, ModelSnapshot, VariantStats};
pub use serving::Served;
pub use shadow::ShadowReport;

use crate::deploy::ab::Assignment;
use crate::error::{fail, Error, Result, Status};
use crate::Model;
use deployment::{Deployment, Slot};
use state::{Counters, Shared, DRAINING, SERVING, STOPPED};

/// The thread-safe serving object (see the module docs).
pub struct Runtime {
    shared: Arc<Shared>,
    supervisor: Mutex<Option<JoinHandle<()>>>,
}

/// Bytes of the pool the messages of refused requests come from (see `Shared::refusals`).
const REFUSAL_POOL_BYTES: usize = 64 * 1024;

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = self.shared.current();
        f.debug_struct("Runtime")
            .field("variants", &d.variants.iter().map(|s| s.version.to_string()).collect::<Vec<_>>())
            .field("rollout", &d.rollout.as_ref().map(|r| r.status()))
            .field("shadow", &d.shadow.as_ref().map(|s| s.slot.version.to_string()))
            .finish()
    }
}

impl Runtime {
    /// A runtime serving `production` (variant 0) alone. Creates `max_concurrency` sessions
    /// (each runs its warm-up) and, unless disabled, the supervisor thread.
    pub fn new(production: &Model, options: RuntimeOptions) -> Result<Runtime> {
        options.validate()?;
        options.trust.admit(production.provenance()).map_err(|e| {
            Error::new(
                e.status(),
                format!("the production model is refused by the runtime's trust policy: {}", e.message()),
            )
        })?;
        let slot = Arc::new(Slot::new(production, options.max_concurrency, &options)?);
        let deployment = Deployment {
            experiment: Arc::from(options.experiment.as_str()),
            scheme: Assignment::Md5,
            names: vec![Arc::from("production")],
            weights: vec![1.0],
            variants: vec![slot],
            hook: None,
            rollout: None,
            shadow: None,
        };
        let shared = Arc::new(Shared {
            deployment: RwLock::new(Arc::new(deployment)),
            control: Mutex::new(vec![None]),
            state: AtomicU8::new(SERVING),
            in_flight: AtomicU64::new(0),
            counters: Counters::default(),
            variants: Default::default(),
            events: RwLock::new(None),
            last_error: Mutex::new(None),
            wake_pending: AtomicBool::new(false),
            wake: Mutex::new(false),
            woken: Condvar::new(),
            stop: AtomicBool::new(false),
            supervisor_thread: Mutex::new(None),
            created: Instant::now(),
            refusals: if crate::alloc::router_installed() {
                Some(crate::alloc::Pool::create(REFUSAL_POOL_BYTES).map_err(|e| {
                    Error::new(Status::LimitReached, format!("cannot create the runtime's refusal pool: {e:?}"))
                })?)
            } else {
                None
            },
            released_at: AtomicU64::new(deployment::freed_slots()),
            options,
        });
        let supervisor = if shared.options.supervisor_thread {
            let worker = Arc::clone(&shared);
            let handle = std::thread::Builder::new()
                .name("mle-supervisor".into())
                .spawn(move || worker.supervise())
                .map_err(|e| Error::new(Status::Io, format!("cannot start the supervisor thread: {e}")))?;
            *shared.supervisor_thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle.thread().id());
            Some(handle)
        } else {
            None
        };
        Ok(Runtime { shared, supervisor: Mutex::new(supervisor) })
    }

    /// The options the runtime was created with.
    pub fn options(&self) -> &RuntimeOptions {
        &self.shared.options
    }

    /// Graceful shutdown: new requests get `ShuttingDown` from now on; waits up to `timeout`
    /// for in-flight requests to finish (`Busy` if some are still running: call again), runs
    /// the shadow comparisons still queued, stops the supervisor and hands over every model's
    /// last snapshot. `InvalidState` when already stopped or called from an event callback on
    /// the supervisor thread.
    pub fn shutdown(&self, timeout: Duration) -> Result<FinalReport> {
        let s = &*self.shared;
        if s.state.load(Ordering::SeqCst) == STOPPED {
            return fail(Status::InvalidState, "the runtime is already shut down");
        }
        if *s.supervisor_thread.lock().unwrap_or_else(|e| e.into_inner()) == Some(std::thread::current().id()) {
            return fail(
                Status::InvalidState,
                "shutdown cannot be called from the supervisor thread (an event callback)",
            );
        }
        if s.state.compare_exchange(SERVING, DRAINING, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            s.emit(Event::new(EventKind::ShutdownStarted, 0, "", "", "shutdown started"));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let running = s.in_flight.load(Ordering::SeqCst);
            if running == 0 {
                break;
            }
            if Instant::now() >= deadline {
                return fail(Status::Busy, format!("{running} requests still running after {timeout:?}"));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        self.stop_supervisor();
        s.evaluate()?;
        let snapshots = self.model_snapshots()?;
        let shadow = self.shadow_report()?;
        s.state.store(STOPPED, Ordering::SeqCst);
        let telemetry = s.options.telemetry.as_ref().map(|t| {
            // Busy means a flush runs, which moves the records itself.
            let _ = t.persist();
            t.stats()
        });
        Ok(FinalReport { snapshots, shadow, health: s.health(), telemetry })
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop_supervisor();
    }
}

fn no_variant(variant: usize, n: usize) -> Error {
    Error::new(Status::InvalidArgument, format!("variant {variant} does not exist (the deployment has {n})"))
}
