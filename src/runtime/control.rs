//! Control calls: the experiment, the hook and the event callback, hot swaps, staged rollouts,
//! promotion and rollback, the shadow. They serialise on the control lock, build the next
//! deployment and publish it; events go out after the locks are released.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::deployment::{carry_baseline, Deployment, Rollout, Shadow, Slot};
use super::options::{AssignmentHook, Variant};
use super::shadow::ShadowQueue;
use super::state::Shared;
use super::{no_variant, Runtime};
use crate::deploy::ab::{self, Assignment};
use crate::deploy::rollout::RolloutConfig;
use crate::deploy::selftest::{self, SelfTestCase};
use crate::error::{fail, Error, Result, Status};
use crate::events::{Event, EventCallback, EventKind};
use crate::session::Session;
use crate::{InputKind, Level, Model, ModelOptions};

impl Runtime {
    /// Sets an experiment: `variants[0]` is control. Weights must sum to 1 within 0.001 (summed
    /// in order in f64; 1 to 16 finite, non-negative weights); every model must take the inputs
    /// production takes and fit the hosts' probability buffers (`deploy::schema`; refused with
    /// `InvalidArgument` and a `SwapRefused` event otherwise). A model already loaded for the same variant position keeps
    /// its sessions. Variant counters restart. Not allowed during a rollout (`InvalidState`).
    pub fn set_experiment(&self, name: &str, variants: &[Variant], scheme: Assignment) -> Result<()> {
        if name.is_empty() {
            return fail(Status::InvalidArgument, "the experiment needs a name");
        }
        let weights: Vec<f64> = variants.iter().map(|v| v.weight).collect();
        ab::validate_weights(&weights)?;
        if let Assignment::GrowthBook { hash_version } = scheme {
            if hash_version != 1 && hash_version != 2 {
                return fail(Status::InvalidArgument, format!("GrowthBook hash version {hash_version} is not 1 or 2"));
            }
        }
        for v in variants {
            if v.name.is_empty() || v.name.len() > 64 {
                return fail(Status::InvalidArgument, format!("variant name {:?} must be 1 to 64 bytes", v.name));
            }
        }
        let s = &*self.shared;
        let mut previous = s.control()?;
        let current = s.current();
        if current.rollout.is_some() {
            return fail(Status::InvalidState, "cannot change the experiment while a rollout runs");
        }
        let schema = current.schema();
        let mut slots = Vec::with_capacity(variants.len());
        for (i, v) in variants.iter().enumerate() {
            let admitted = s
                .options
                .trust
                .admit(v.model.provenance())
                .and_then(|()| schema.check(&v.model, &format!("variant {i}"), Status::InvalidArgument));
            if let Err(e) = admitted {
                drop(previous);
                return Err(s.refuse(i, &current.variants[0].version, &v.model.card().version, e));
            }
            let reuse = current.variants.iter().find(|slot| slot.model.same_as(&v.model));
            slots.push(match reuse {
                Some(slot) => Arc::clone(slot),
                None => Arc::new(Slot::new(&v.model, s.options.max_concurrency, &s.options)?),
            });
        }
        let next = Deployment {
            experiment: Arc::from(name),
            scheme,
            names: variants.iter().map(|v| Arc::from(v.name.as_str())).collect(),
            weights,
            variants: slots,
            ..(*current).clone()
        };
        for c in &s.variants {
            c.reset();
        }
        previous.clear();
        previous.resize(variants.len(), None);
        let message = format!("experiment {name:?} with {} variants", variants.len());
        s.publish(next);
        drop(previous);
        s.emit(Event::new(EventKind::ExperimentChanged, 0, "", name, message));
        Ok(())
    }

    /// Sets (or with `None` removes) the host's assignment hook.
    pub fn set_assignment_hook(&self, hook: Option<AssignmentHook>) -> Result<()> {
        let s = &*self.shared;
        let _control = s.control()?;
        let next = Deployment { hook: hook.map(Arc::new), ..(*s.current()).clone() };
        s.publish(next);
        Ok(())
    }

    /// Sets (or with `None` removes) the event callback.
    pub fn set_event_callback(&self, callback: Option<EventCallback>) {
        *self.shared.events.write().unwrap_or_else(|e| e.into_inner()) = callback.map(Arc::new);
    }

    /// Hot swap: `model` serves `variant` from now on. It must take the same input kind and
    /// pass its self-test (`cases`, else the card's `self_test` cases; none is a pass) on a fresh
    /// session first; otherwise it is refused (`SelfTestFailed`, event `SwapRefused`) and the
    /// old model keeps serving. Requests in flight finish on the old model. The old model is
    /// kept for [`rollback`](Self::rollback). Not allowed on a variant under rollout.
    pub fn swap(&self, variant: usize, model: &Model, cases: Option<&[SelfTestCase]>) -> Result<()> {
        let s = &*self.shared;
        s.serving()?;
        let mut previous = s.control()?;
        let current = s.current();
        let old = current.variants.get(variant).ok_or_else(|| no_variant(variant, current.variants.len()))?;
        if current.rollout.as_ref().is_some_and(|r| r.variant == variant) {
            return fail(
                Status::InvalidState,
                format!("variant {variant} is under rollout: promote or roll back first"),
            );
        }
        if let Err(e) = s.admit(&current, model, cases) {
            drop(previous);
            return Err(s.refuse(variant, &old.version, &model.card().version, e));
        }
        let slot = Arc::new(Slot::new(model, s.options.max_concurrency, &s.options)?);
        carry_baseline(&old.monitor, &slot.monitor);
        let mut variants = current.variants.clone();
        let from = old.version.to_string();
        variants[variant] = Arc::clone(&slot);
        s.publish(Deployment { variants, ..(*current).clone() });
        previous[variant] = Some(old.model.clone());
        s.counters.swaps.fetch_add(1, Ordering::Relaxed);
        drop(previous);
        s.emit(Event::new(EventKind::Swapped, variant, &from, &slot.version, "hot swap"));
        Ok(())
    }

    /// Loads the model at `path` and swaps it in (see [`swap`](Self::swap)); a model that fails
    /// to load is refused the same way (event `SwapRefused`, the load's error returned).
    pub fn swap_from_path(
        &self,
        variant: usize,
        path: impl AsRef<std::path::Path>,
        options: &ModelOptions,
        cases: Option<&[SelfTestCase]>,
    ) -> Result<()> {
        let model = self.load_for(variant, path.as_ref(), options)?;
        self.swap(variant, &model, cases)
    }

    /// Loads the model at `path` and starts its rollout (see [`start_rollout`](Self::start_rollout));
    /// a model that fails to load (a package that does not verify, a file that is not a model)
    /// is refused the same way: event `SwapRefused` naming why, the deployment unchanged.
    pub fn start_rollout_from_path(
        &self,
        variant: usize,
        path: impl AsRef<std::path::Path>,
        options: &ModelOptions,
        config: RolloutConfig,
        cases: Option<&[SelfTestCase]>,
    ) -> Result<()> {
        let model = self.load_for(variant, path.as_ref(), options)?;
        self.start_rollout(variant, &model, config, cases)
    }

    /// Loads a model for `variant` under `options`, or under the runtime's trust policy when the
    /// options have none; a failed load is refused (counter, last error, `SwapRefused` event).
    fn load_for(&self, variant: usize, path: &std::path::Path, options: &ModelOptions) -> Result<Model> {
        let s = &*self.shared;
        let loaded = if options.trust == Default::default() && s.options.trust != Default::default() {
            Model::load(path, &ModelOptions { trust: s.options.trust.clone(), ..options.clone() })
        } else {
            Model::load(path, options)
        };
        loaded.map_err(|e| {
            let d = s.current();
            let from = d.variants.get(variant).map(|v| v.version.to_string()).unwrap_or_default();
            let e = Error::new(e.status(), format!("{}: {}", path.display(), e.message()));
            s.refuse(variant, &from, "", e)
        })
    }

    /// A deliberate change of input schema: `model` replaces production even though it takes
    /// another kind or shape of input, or has more labels than the hosts' buffers were sized
    /// for — what [`swap`](Self::swap) refuses. It still passes its self-test. Only when the
    /// deployment is production alone (no experiment, rollout or shadow: their models would
    /// keep the old schema): `InvalidState` otherwise. Requests in flight finish on the old
    /// model; from the next request on, hosts must send the new inputs and size their buffers
    /// for [`max_labels`](Self::max_labels). There is no rollback across a schema change.
    pub fn change_input_schema(&self, model: &Model, cases: Option<&[SelfTestCase]>) -> Result<()> {
        let s = &*self.shared;
        s.serving()?;
        let mut previous = s.control()?;
        let current = s.current();
        if current.variants.len() != 1 || current.rollout.is_some() || current.shadow.is_some() {
            return fail(
                Status::InvalidState,
                "change the input schema only while production serves alone: end the experiment, the rollout and \
                 the shadow first (their models would keep the old schema)",
            );
        }
        let old = &current.variants[0];
        let admitted = s.options.trust.admit(model.provenance()).and_then(|()| s.admit_self_test(model, cases));
        if let Err(e) = admitted {
            drop(previous);
            return Err(s.refuse(0, &old.version, &model.card().version, e));
        }
        let slot = Arc::new(Slot::new(model, s.options.max_concurrency, &s.options)?);
        let from = old.version.to_string();
        s.publish(Deployment { variants: vec![Arc::clone(&slot)], ..(*current).clone() });
        previous[0] = None;
        s.counters.swaps.fetch_add(1, Ordering::Relaxed);
        drop(previous);
        let message = format!(
            "input schema changed: {} input of shape {:?} and {} labels (was {} input of shape {:?} and {} labels)",
            model.input_kind().as_str(),
            model.input_shape(),
            model.labels().len(),
            old.model.input_kind().as_str(),
            old.model.input_shape(),
            old.model.labels().len()
        );
        s.emit(Event::new(EventKind::Swapped, 0, &from, &slot.version, message));
        Ok(())
    }

    /// Starts a staged rollout of `candidate` for `variant`: after its self-test (as
    /// [`swap`](Self::swap)), it serves the first stage's share of that variant's users, and the
    /// supervisor (or [`evaluate`](Self::evaluate)) moves it through the stages. The candidate's
    /// monitor gets the variant's baseline (frozen from the variant's window when it has none
    /// and at least 100 requests), so its alerts compare it with the version it would replace.
    pub fn start_rollout(
        &self,
        variant: usize,
        candidate: &Model,
        config: RolloutConfig,
        cases: Option<&[SelfTestCase]>,
    ) -> Result<()> {
        config.validate()?;
        let s = &*self.shared;
        s.serving()?;
        let control = s.control()?;
        let current = s.current();
        let old = current.variants.get(variant).ok_or_else(|| no_variant(variant, current.variants.len()))?;
        if current.rollout.is_some() {
            return fail(Status::InvalidState, "a rollout is already running: promote or roll back first");
        }
        let cases = match s.admit(&current, candidate, cases) {
            Ok(cases) => cases,
            Err(e) => {
                drop(control);
                return Err(s.refuse(variant, &old.version, &candidate.card().version, e));
            }
        };
        let slot = Arc::new(Slot::new(candidate, s.options.max_concurrency, &s.options)?);
        if matches!(old.monitor.baseline(), Ok(None)) {
            // Fewer than 100 requests so far: no baseline, the candidate is judged on errors only.
            let _ = old.monitor.freeze_baseline();
        }
        carry_baseline(&old.monitor, &slot.monitor);
        let checker = Session::with_options(candidate, &s.options.session)?;
        let first = config.stages_percent[0];
        let rollout = Rollout {
            variant,
            candidate: Arc::clone(&slot),
            config,
            stage: AtomicUsize::new(0),
            served_at_stage: AtomicU64::new(0),
            anonymous: AtomicU64::new(0),
            cases,
            checker: Mutex::new(checker),
        };
        s.publish(Deployment { rollout: Some(Arc::new(rollout)), ..(*current).clone() });
        drop(control);
        let mut event = Event::new(EventKind::RolloutStarted, variant, &old.version, &slot.version, "rollout started");
        event.stage_percent = first;
        s.emit(event);
        Ok(())
    }

    /// Promotes the rollout candidate now: it serves all of its variant's traffic (event
    /// `RolloutCompleted`). `InvalidState` without a rollout.
    pub fn promote(&self) -> Result<()> {
        let s = &*self.shared;
        let mut control = s.control()?;
        let event = s.finish_rollout(&mut control, None, "promoted by the host")?;
        drop(control);
        s.emit(event);
        Ok(())
    }

    /// Rolls `variant` back: stops its rollout (the candidate's traffic returns to the current
    /// model) or, without one, swaps the previous model back in (after a swap or a promotion).
    /// `InvalidState` when there is nothing to roll back to.
    pub fn rollback(&self, variant: usize) -> Result<()> {
        let s = &*self.shared;
        let mut control = s.control()?;
        let current = s.current();
        if variant >= current.variants.len() {
            return Err(no_variant(variant, current.variants.len()));
        }
        if current.rollout.as_ref().is_some_and(|r| r.variant == variant) {
            let event = s.abort_rollout(&current, "rolled back by the host", Level::Ok);
            drop(control);
            s.emit(event);
            return Ok(());
        }
        let Some(model) = control.get(variant).cloned().flatten() else {
            return fail(Status::InvalidState, format!("variant {variant} has no previous version to roll back to"));
        };
        let old = &current.variants[variant];
        let slot = Arc::new(Slot::new(&model, s.options.max_concurrency, &s.options)?);
        carry_baseline(&old.monitor, &slot.monitor);
        let mut variants = current.variants.clone();
        variants[variant] = Arc::clone(&slot);
        let from = old.version.to_string();
        s.publish(Deployment { variants, ..(*current).clone() });
        control[variant] = Some(old.model.clone());
        s.counters.rollbacks.fetch_add(1, Ordering::Relaxed);
        s.counters.swaps.fetch_add(1, Ordering::Relaxed);
        drop(control);
        s.emit(Event::new(EventKind::Swapped, variant, &from, &slot.version, "rolled back to the previous version"));
        Ok(())
    }

    /// Sets a shadow model that sees `fraction` (0 < f ≤ 1) of production requests, off the
    /// request path; replaces any previous shadow.
    pub fn set_shadow(&self, model: &Model, fraction: f64) -> Result<()> {
        if !(fraction > 0.0 && fraction <= 1.0) {
            return fail(Status::InvalidArgument, format!("shadow fraction {fraction} is not in (0, 1]"));
        }
        let s = &*self.shared;
        s.serving()?;
        let _control = s.control()?;
        let current = s.current();
        let kind = current.variants[0].model.input_kind();
        // The shadow's answers never reach the host: its labels may differ, its inputs may not.
        let admitted = s
            .options
            .trust
            .admit(model.provenance())
            .and_then(|()| current.schema().inputs_only().check(model, "the shadow", Status::InvalidArgument));
        if let Err(e) = admitted {
            return Err(s.refuse(0, "", &model.card().version, e));
        }
        let slot = Arc::new(Slot::new(model, 1, &s.options)?);
        let values = if kind == InputKind::Tensor { model.max_input_length() } else { 0 };
        let bytes = if kind == InputKind::Tensor { 0 } else { s.options.shadow_max_input_bytes };
        let queue = ShadowQueue::new(s.options.shadow_queue_capacity, fraction, bytes, values);
        let spare = Mutex::new(queue.spare());
        if let Some(old) = &current.shadow {
            old.queue.discard_all();
        }
        let version = slot.version.to_string();
        s.publish(Deployment { shadow: Some(Arc::new(Shadow { slot, queue, spare })), ..(*current).clone() });
        s.emit(Event::new(EventKind::ShadowChanged, 0, "", &version, format!("shadow at {fraction}")));
        Ok(())
    }

    /// Removes the shadow (queued comparisons are discarded and counted).
    pub fn clear_shadow(&self) -> Result<()> {
        let s = &*self.shared;
        let _control = s.control()?;
        let current = s.current();
        if let Some(old) = &current.shadow {
            old.queue.discard_all();
            let version = old.slot.version.to_string();
            s.publish(Deployment { shadow: None, ..(*current).clone() });
            s.emit(Event::new(EventKind::ShadowChanged, 0, &version, "", "shadow removed"));
        }
        Ok(())
    }
}

impl Shared {
    /// Checks that `model` may answer the deployment's traffic in place of a variant's model:
    /// the same input schema (kind, shape, byte layout) and labels that fit the hosts' buffers
    /// (`deploy::schema`), then its self-test. Returns the cases used (the host's, else the
    /// card's).
    pub(super) fn admit(
        &self,
        current: &Deployment,
        model: &Model,
        cases: Option<&[SelfTestCase]>,
    ) -> Result<Vec<SelfTestCase>> {
        self.options.trust.admit(model.provenance())?;
        current.schema().check(model, "model", Status::SelfTestFailed)?;
        self.admit_self_test(model, cases)
    }

    /// The self-test part of [`admit`](Self::admit).
    pub(super) fn admit_self_test(&self, model: &Model, cases: Option<&[SelfTestCase]>) -> Result<Vec<SelfTestCase>> {
        let cases = match cases {
            Some(c) if !c.is_empty() => c.to_vec(),
            _ => selftest::cases_from_card(model)
                .map_err(|e| Error::new(Status::SelfTestFailed, e.message().to_string()))?,
        };
        let mut session = Session::with_options(model, &self.options.session)?;
        selftest::run(&mut session, &cases)?;
        Ok(cases)
    }

    /// Records a refused model: counter, last error, event. Returns the error to give the caller.
    pub(super) fn refuse(&self, variant: usize, from: &str, to: &str, error: Error) -> Error {
        self.counters.refused_models.fetch_add(1, Ordering::Relaxed);
        self.set_last_error(error.message());
        self.emit(Event::new(EventKind::SwapRefused, variant, from, to, error.message()));
        error
    }

    /// Ends the rollout by promoting the candidate (under the control lock).
    pub(super) fn finish_rollout(
        &self,
        control: &mut [Option<Model>],
        expect: Option<&Arc<Rollout>>,
        why: &str,
    ) -> Result<Event> {
        let current = self.current();
        let Some(r) = current.rollout.clone() else {
            return fail(Status::InvalidState, "no rollout runs");
        };
        if expect.is_some_and(|e| !Arc::ptr_eq(e, &r)) {
            return fail(Status::InvalidState, "the rollout changed meanwhile");
        }
        let old = Arc::clone(&current.variants[r.variant]);
        let mut variants = current.variants.clone();
        variants[r.variant] = Arc::clone(&r.candidate);
        self.publish(Deployment { variants, rollout: None, ..(*current).clone() });
        if let Some(slot) = control.get_mut(r.variant) {
            *slot = Some(old.model.clone());
        }
        self.counters.rollouts_completed.fetch_add(1, Ordering::Relaxed);
        self.counters.swaps.fetch_add(1, Ordering::Relaxed);
        let mut event = Event::new(EventKind::RolloutCompleted, r.variant, &old.version, &r.candidate.version, why);
        event.stage_percent = 100;
        Ok(event)
    }

    /// Ends the rollout by sending its traffic back (under the control lock).
    pub(super) fn abort_rollout(&self, current: &Deployment, why: &str, level: Level) -> Event {
        let r = current.rollout.clone().expect("abort_rollout is called with a rollout");
        self.publish(Deployment { rollout: None, ..current.clone() });
        self.counters.rollbacks.fetch_add(1, Ordering::Relaxed);
        let back_to = &current.variants[r.variant].version;
        let mut event = Event::new(EventKind::RolledBack, r.variant, &r.candidate.version, back_to, why);
        event.level = level;
        event
    }
}
