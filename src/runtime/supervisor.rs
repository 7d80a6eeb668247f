//! The supervisor: a thread (or the host's calls to [`Runtime::evaluate`]) that runs the shadow
//! comparisons, analyses every monitor (alert-level events) and moves the rollout.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::deployment::{self, Deployment};
use super::state::Shared;
use super::Runtime;
use crate::deploy::rollout::{self, Decision};
use crate::deploy::selftest;
use crate::error::Result;
use crate::events::{Event, EventKind};
use crate::Level;

impl Runtime {
    /// One supervisor pass now, on the calling thread: runs the queued shadow comparisons,
    /// analyses every monitor (alert-level events) and moves the rollout (advance, complete or
    /// roll back). What the supervisor thread does every `evaluation_interval`.
    pub fn evaluate(&self) -> Result<()> {
        self.shared.evaluate()
    }

    pub(super) fn stop_supervisor(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        *self.shared.wake.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.shared.woken.notify_one();
        if let Some(handle) = self.supervisor.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = handle.join();
        }
    }
}

impl Shared {
    /// The supervisor thread's loop.
    pub(super) fn supervise(self: Arc<Self>) {
        let mut last = Instant::now();
        while !self.stop.load(Ordering::SeqCst) {
            {
                let mut wake = self.wake.lock().unwrap_or_else(|e| e.into_inner());
                if !*wake {
                    let wait = self.options.evaluation_interval.saturating_sub(last.elapsed());
                    wake = self.woken.wait_timeout(wake, wait).unwrap_or_else(|e| e.into_inner()).0;
                }
                *wake = false;
            }
            // Cleared before the pass: work queued from now on asks for the next one.
            self.wake_pending.store(false, Ordering::Release);
            if self.stop.load(Ordering::SeqCst) {
                break;
            }
            let d = self.current();
            self.run_shadow(&d);
            let due = last.elapsed() >= self.options.evaluation_interval;
            let stage_full = d
                .rollout
                .as_ref()
                .is_some_and(|r| r.served_at_stage.load(Ordering::Relaxed) >= r.config.requests_per_stage);
            if due || stage_full {
                if let Err(e) = self.evaluate() {
                    self.set_last_error(e.message());
                }
                if let Some(telemetry) = &self.options.telemetry {
                    // Busy means a flush runs, which moves the records itself.
                    let _ = telemetry.persist();
                }
                last = Instant::now();
            }
        }
    }

    /// Runs the shadow comparisons queued when the pass starts. Items that arrive meanwhile wait
    /// for the next pass: when the shadow model runs slower than production hands it work (found
    /// under qemu: 8 request threads, one supervisor), draining until empty never ended, and the
    /// supervisor never reached the monitors or the rollout. The queue's bound drops and counts
    /// what the supervisor cannot keep up with.
    pub(super) fn run_shadow(&self, d: &Deployment) {
        let Some(shadow) = &d.shadow else { return };
        let mut spare = shadow.spare.lock().unwrap_or_else(|e| e.into_inner());
        for _ in 0..shadow.queue.pending() {
            if !shadow.queue.take(&mut spare) {
                break;
            }
            let Some(mut session) = shadow.slot.pool.checkout(Duration::from_secs(1)) else {
                shadow.queue.counters.shadow_errors.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            let c = &shadow.queue.counters;
            match (session.classify(spare.input(), None), &spare.production_label) {
                (Ok(p), Some(production)) => {
                    c.compared.fetch_add(1, Ordering::Relaxed);
                    if *p.label == **production {
                        c.agreed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                (Ok(_), None) => {
                    c.production_errors.fetch_add(1, Ordering::Relaxed);
                }
                (Err(_), production) => {
                    c.shadow_errors.fetch_add(1, Ordering::Relaxed);
                    if production.is_none() {
                        c.production_errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }

    pub(super) fn evaluate(&self) -> Result<()> {
        let d = self.current();
        self.run_shadow(&d);
        let mut events = Vec::new();
        for (role, variant, slot) in d.slots() {
            let level = slot.monitor.snapshot()?.level;
            let before = slot.level();
            slot.last_level.store(level as i32, Ordering::Relaxed);
            if level != before {
                let mut e = Event::new(
                    EventKind::AlertLevelChanged,
                    variant,
                    &slot.version,
                    &slot.version,
                    format!("{role:?} model {} alert level {before:?} -> {level:?}", slot.version),
                );
                e.level = level;
                events.push(e);
            }
        }
        for e in events {
            self.emit(e);
        }
        drop(d);
        let rollout = self.evaluate_rollout();
        self.release_freed_memory();
        rollout
    }

    /// When a model slot was freed since the last release (any runtime's: the count is the
    /// process's), gives the C allocator's free memory back to the system
    /// ([`RuntimeOptions::release_memory`](crate::RuntimeOptions::release_memory)).
    fn release_freed_memory(&self) {
        if !self.options.release_memory {
            return;
        }
        let freed = deployment::freed_slots();
        if self.released_at.swap(freed, Ordering::AcqRel) != freed {
            crate::alloc::release_free_memory();
            self.counters.memory_releases.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(super) fn evaluate_rollout(&self) -> Result<()> {
        let mut control = self.control()?;
        let current = self.current();
        let Some(r) = current.rollout.clone() else { return Ok(()) };
        let snapshot = r.candidate.monitor.snapshot()?;
        r.candidate.last_level.store(snapshot.level as i32, Ordering::Relaxed);
        let level = rollout::gate_level(&snapshot.alerts);
        let judged = rollout::alerts_judged(&snapshot);
        let stage = r.stage.load(Ordering::Acquire);
        let served = r.served_at_stage.load(Ordering::Relaxed);
        let healthy = if served >= r.config.requests_per_stage && judged && level == Level::Ok {
            let mut checker = r.checker.lock().unwrap_or_else(|e| e.into_inner());
            match selftest::run(&mut checker, &r.cases) {
                Ok(_) => Some(true),
                Err(e) => {
                    self.set_last_error(e.message());
                    Some(false)
                }
            }
        } else {
            None
        };
        let event = match rollout::decide(&r.config, stage, served, level, judged, healthy) {
            Decision::Hold => return Ok(()),
            Decision::Advance => {
                r.stage.store(stage + 1, Ordering::Release);
                r.served_at_stage.store(0, Ordering::Relaxed);
                let from = &current.variants[r.variant].version;
                let mut e = Event::new(
                    EventKind::RolloutAdvanced,
                    r.variant,
                    from,
                    &r.candidate.version,
                    format!("stage {} passed with {served} requests, alerts ok", stage + 1),
                );
                e.stage_percent = r.config.stages_percent[stage + 1];
                e
            }
            Decision::Complete => self.finish_rollout(&mut control, Some(&r), "all stages passed")?,
            Decision::RollBack => {
                let why = if level == Level::Critical {
                    format!("critical alert on the candidate at {}%", r.percent())
                } else {
                    format!("health check (self-test) failed at {}%", r.percent())
                };
                self.set_last_error(&why);
                self.abort_rollout(&current, &why, level)
            }
        };
        drop(control);
        self.emit(event);
        Ok(())
    }
}
