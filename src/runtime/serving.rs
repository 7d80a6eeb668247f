//! The request path: assign the variant, route to the rollout candidate, run on a pooled
//! session, count, record telemetry, offer the shadow a copy.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::state::{InFlight, SERVING};
use super::{no_variant, Runtime};
use crate::error::{fail, Error, Result, Status};
use crate::session::{Input, Prediction};
use crate::InputKind;

/// One answered request.
#[derive(Clone, Debug, PartialEq)]
pub struct Served {
    /// The model's answer.
    pub prediction: Prediction,
    /// The variant the user was assigned to.
    pub variant: usize,
    /// Whether the rollout candidate (not the variant's current model) answered.
    pub candidate: bool,
    /// The version of the model that answered.
    pub version: Arc<str>,
    /// How many labels that model has (the length of its probability vector).
    pub label_count: usize,
}

impl Runtime {
    /// Classify `input` for `user_id` (may be empty): assign the variant (hook, else hashing),
    /// route to the rollout candidate when its share says so, run on a pooled session, offer
    /// the input to the shadow when sampled. `probabilities`, when given, must hold the serving
    /// model's label count.
    ///
    /// Errors: the model's errors; `Busy` when every session stayed busy for `busy_wait`;
    /// `ShuttingDown` after [`shutdown`](Self::shutdown) began.
    pub fn classify(&self, user_id: &str, input: Input<'_>, probabilities: Option<&mut [f32]>) -> Result<Served> {
        self.serve(user_id, input, probabilities, false)
    }

    /// What the C API calls: the caller's arguments are checked as part of the request (an
    /// error there is counted in [`health`](Self::health) like any other request error), and a
    /// `probabilities` buffer must hold [`max_labels`](Self::max_labels) values (checked against
    /// the deployment the request then runs on), so that one buffer size fits every answer
    /// whatever the variant or a later swap.
    pub(crate) fn classify_checked<'a>(
        &self,
        arguments: impl FnOnce() -> Result<(&'a str, Input<'a>, Option<&'a mut [f32]>)>,
    ) -> Result<Served> {
        // The arguments' refusal messages come from the refusal pool; `serve` enters it itself.
        let arguments = {
            let _scope = self.shared.refusals.as_ref().map(crate::alloc::PoolScope::enter);
            arguments()
        };
        match arguments {
            Ok((user_id, input, probabilities)) => self.serve(user_id, input, probabilities, true),
            Err(e) => {
                let c = &self.shared.counters;
                c.requests.fetch_add(1, Ordering::Relaxed);
                c.errors.fetch_add(1, Ordering::Relaxed);
                Err(e)
            }
        }
    }

    fn serve(
        &self,
        user_id: &str,
        input: Input<'_>,
        probabilities: Option<&mut [f32]>,
        fit_every_model: bool,
    ) -> Result<Served> {
        let s = &*self.shared;
        // What is allocated before and around the session (refusals' messages) comes from the
        // runtime's refusal pool; the session enters its own pool for the request itself.
        let _scope = s.refusals.as_ref().map(crate::alloc::PoolScope::enter);
        let deployment = s.current();
        if let Some(buffer) = probabilities.as_deref().filter(|_| fit_every_model) {
            let needed = deployment.max_labels();
            if buffer.len() < needed {
                s.counters.requests.fetch_add(1, Ordering::Relaxed);
                s.counters.errors.fetch_add(1, Ordering::Relaxed);
                return fail(
                    Status::BufferTooSmall,
                    format!(
                        "probabilities holds {} values; the deployment's models have up to {needed} labels",
                        buffer.len()
                    ),
                );
            }
        }
        s.in_flight.fetch_add(1, Ordering::SeqCst);
        let _in_flight = InFlight(&s.in_flight);
        if s.state.load(Ordering::SeqCst) != SERVING {
            s.counters.refused_shutting_down.fetch_add(1, Ordering::Relaxed);
            return fail(Status::ShuttingDown, "the runtime is shutting down and takes no new requests");
        }
        let variant = deployment.assign(user_id, &s.counters.hook_errors);
        let rollout = deployment.rollout.as_ref().filter(|r| r.variant == variant && r.routes(user_id));
        let slot = rollout.map(|r| &r.candidate).unwrap_or(&deployment.variants[variant]);
        let Some(mut session) = slot.pool.checkout(s.options.busy_wait) else {
            s.counters.busy.fetch_add(1, Ordering::Relaxed);
            if let Some(telemetry) = &s.options.telemetry {
                telemetry.record_request(&slot.version, variant, rollout.is_some(), Err(Status::Busy));
            }
            return fail(
                Status::Busy,
                format!("all {} sessions of model {} stayed busy", slot.pool.size(), slot.version),
            );
        };
        let result = session.classify(input, probabilities);
        drop(session);
        if let Some(telemetry) = &s.options.telemetry {
            telemetry.record_request(&slot.version, variant, rollout.is_some(), result.as_ref().map_err(Error::status));
        }

        let counters = &s.variants[variant];
        s.counters.requests.fetch_add(1, Ordering::Relaxed);
        counters.requests.fetch_add(1, Ordering::Relaxed);
        if result.is_err() {
            s.counters.errors.fetch_add(1, Ordering::Relaxed);
            counters.errors.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(r) = rollout {
            counters.candidate_requests.fetch_add(1, Ordering::Relaxed);
            if r.served_at_stage.fetch_add(1, Ordering::Relaxed) + 1 == r.config.requests_per_stage {
                s.wake_supervisor();
            }
        }
        if let Some(shadow) = &deployment.shadow {
            // Text from C is checked as UTF-8 by the session: what is not valid text is not
            // offered (production refused it).
            let copy = match input {
                Input::Utf8(bytes) => std::str::from_utf8(bytes).ok().map(Input::Text),
                other => Some(other),
            };
            if let Some(copy) = copy {
                if shadow.queue.sample()
                    && shadow.queue.offer(copy, result.as_ref().map(|p| &p.label).map_err(Error::status))
                {
                    s.wake_supervisor();
                }
            }
        }
        let label_count = slot.model.labels().len();
        result.map(|prediction| Served {
            prediction,
            variant,
            candidate: rollout.is_some(),
            version: slot.version.clone(),
            label_count,
        })
    }

    /// Classify a text (see [`classify`](Self::classify)).
    pub fn classify_text(&self, user_id: &str, text: &str, probabilities: Option<&mut [f32]>) -> Result<Served> {
        self.classify(user_id, Input::Text(text), probabilities)
    }

    /// Classify f32 features (see [`classify`](Self::classify)).
    pub fn classify_f32(&self, user_id: &str, features: &[f32], probabilities: Option<&mut [f32]>) -> Result<Served> {
        self.classify(user_id, Input::Tensor(features), probabilities)
    }

    /// Classify bytes (see [`classify`](Self::classify)).
    pub fn classify_bytes(&self, user_id: &str, data: &[u8], probabilities: Option<&mut [f32]>) -> Result<Served> {
        self.classify(user_id, Input::Bytes(data), probabilities)
    }

    /// The variant `user_id` would get now (hook, else hashing), without classifying.
    pub fn assign(&self, user_id: &str) -> usize {
        self.shared.current().assign(user_id, &self.shared.counters.hook_errors)
    }

    /// Labels of the model serving `variant` now (its label count sizes `probabilities`).
    pub fn labels(&self, variant: usize) -> Result<Vec<Arc<str>>> {
        let d = self.shared.current();
        let slot = d.variants.get(variant).ok_or_else(|| no_variant(variant, d.variants.len()))?;
        Ok(slot.model.labels().to_vec())
    }

    /// The most labels any model of the deployment has (a `probabilities` buffer this long fits
    /// every answer).
    pub fn max_labels(&self) -> usize {
        self.shared.current().max_labels()
    }

    /// The input kind every model of this runtime takes.
    pub fn input_kind(&self) -> InputKind {
        self.shared.current().variants[0].model.input_kind()
    }

    /// Number of variants.
    pub fn variant_count(&self) -> usize {
        self.shared.current().variants.len()
    }

    /// Records one outcome of `variant` (e.g. whether the user converted).
    pub fn record_outcome(&self, variant: usize, converted: bool) -> Result<()> {
        let n = self.variant_count();
        let c = self.shared.variants.get(variant).filter(|_| variant < n).ok_or_else(|| no_variant(variant, n))?;
        c.outcomes.fetch_add(1, Ordering::Relaxed);
        if converted {
            c.conversions.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}
