//! Whether a model can take the inputs a runtime is serving: the checks a swap, a rollout, an
//! experiment or a shadow must pass before it changes what answers production traffic.
//!
//! The host sends one kind of input, of one shape, and sizes its probability buffers for the
//! labels the deployment has. A model that needs another kind of input, another number (or
//! shape) of features, another byte layout, or more labels than those buffers hold would accept
//! the deployment change and then fail every request (`InputShape`, `BufferTooSmall`): such a
//! change is refused instead. A deliberate change of input schema is its own call
//! ([`Runtime::change_input_schema`](crate::Runtime::change_input_schema)), never a side effect.

use crate::error::{fail, Result, Status};
use crate::{InputKind, Model};

/// What the current deployment serves, to compare a new model with.
#[derive(Clone, Copy, Debug)]
pub struct Schema<'a> {
    /// The model whose inputs the traffic has (production, variant 0).
    pub serving: &'a Model,
    /// The most labels a probability buffer must hold: the deployment's largest label count.
    /// `None` when the new model's answers never reach the host (a shadow).
    pub max_labels: Option<usize>,
}

impl Schema<'_> {
    /// The same schema for a model whose answers never reach the host (a shadow): its inputs
    /// must match, its labels may differ.
    pub fn inputs_only(self) -> Self {
        Schema { max_labels: None, ..self }
    }

    /// `Ok` when `candidate` takes exactly the inputs `serving` takes and its answers fit the
    /// host's buffers; otherwise an error of `status` (the caller's: `SelfTestFailed` for a swap
    /// or rollout, `InvalidArgument` for an experiment or shadow) naming the difference and the
    /// way out. `role` names the candidate in the message ("model 2.0.0", "the shadow").
    pub fn check(&self, candidate: &Model, role: &str, status: Status) -> Result<()> {
        let (old, new) = (self.serving, candidate);
        let refuse = |what: String| {
            fail(
                status,
                format!(
                    "{role} {} cannot take the inputs this runtime serves: {what}. To serve a new input schema \
                     deliberately, use change_input_schema (C: mle_runtime_change_input_schema)",
                    new.card().version
                ),
            )
        };
        if new.input_kind() != old.input_kind() {
            return refuse(format!(
                "it takes {} input, the traffic is {}",
                new.input_kind().as_str(),
                old.input_kind().as_str()
            ));
        }
        match old.input_kind() {
            InputKind::Tensor if new.input_shape() != old.input_shape() => {
                return refuse(format!(
                    "it takes {} values of shape {:?}, the traffic has {} of shape {:?}",
                    new.max_input_length(),
                    new.input_shape(),
                    old.max_input_length(),
                    old.input_shape()
                ))
            }
            InputKind::Bytes if new.byte_features() != old.byte_features() => {
                return refuse(format!(
                    "its byte features are {:?}, the serving model's {:?}",
                    new.byte_features(),
                    old.byte_features()
                ))
            }
            _ => {}
        }
        if let Some(max) = self.max_labels {
            let labels = new.labels().len();
            if labels > max {
                return refuse(format!(
                    "it has {labels} labels, and the hosts' probability buffers are sized for the deployment's {max}"
                ));
            }
        }
        Ok(())
    }
}
