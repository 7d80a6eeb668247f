//! A tract state that lets go of tract's per-thread matmul scratch on every thread it ran on.
//!
//! tract-core 0.23.9 keeps each optimized matmul's scratch (its kernel buffer and output-store
//! descriptors) in a thread-local map keyed by the running state's session id (`MMM_SCRATCH` in
//! `ops/matmul/optimized.rs`); a state's `Drop` removes its entry only from the map of the thread
//! that drops it. A session's state runs on whichever host thread holds the session, so when a
//! model is retired (a hot swap, a rollout, a model freed) every other thread that ever ran one of
//! its states kept an entry for it, for the life of that thread: with 8 request threads the
//! 10-million-request soak's resident set grew 29% over ~30 deployment changes (BENCHMARKS.md).
//!
//! [`TractState`] records its session id on its first run (tract passes it to the evaluation
//! callback) and, when dropped, appends it to a process-wide ring of retired ids. Before each run,
//! a thread that has not yet seen the latest retirements removes their entries from its own map
//! ([`release_retired`]): one atomic load per run otherwise, no allocation (a removal frees). The
//! removal goes through an optimized matmul op's `EvalOp::drop_session`, which in tract-core
//! 0.23.9 removes the session's whole entry for the current thread whatever the op's node.
//!
//! Bounds: the ring holds the last [`RETIRED_CAPACITY`] ids; a thread that ran nothing while more
//! states than that were retired keeps the older ones' entries (as before this module). A thread
//! that never ran a state holds no entry, so its first run starts at the current count. States
//! that tract makes inside a Scan or submodel body have ids this callback never sees.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tract_core::internal::{EvalContext, OpState, SessionId, TypedOp};
use tract_core::ops::matmul::optimized::OptMatMul;
use tract_onnx::prelude::*;

/// How many retired session ids the ring keeps (32 KiB).
const RETIRED_CAPACITY: usize = 4096;

/// The retired session ids, `RETIRED[n % RETIRED_CAPACITY]` for the `n`th retirement.
static RETIRED: Mutex<[SessionId; RETIRED_CAPACITY]> = Mutex::new([SessionId::NONE; RETIRED_CAPACITY]);
/// How many states were retired since the process started (written under `RETIRED`'s lock).
static RETIRED_COUNT: AtomicU64 = AtomicU64::new(0);
/// An optimized matmul op whose `drop_session` removes a session's scratch on the calling thread:
/// the first one a state's plan holds (tract's implementation does not depend on the op).
static CLEANER: OnceLock<Box<dyn TypedOp>> = OnceLock::new();

thread_local! {
    /// The retirement count this thread has released up to; `u64::MAX` until its first run.
    static RELEASED_UP_TO: Cell<u64> = const { Cell::new(u64::MAX) };
}

/// A tract state (one plan's) that releases its matmul scratch on every thread once dropped.
pub(crate) struct TractState {
    inner: TypedSimpleState,
    /// tract's id for `inner`, seen on its first run (`None` before: no scratch exists yet).
    session: Option<SessionId>,
    /// Whether dropping it retires its id (false for a state that runs and drops on one thread).
    retire_on_drop: bool,
}

impl TractState {
    /// A new state of `plan`.
    pub(crate) fn new(plan: &Arc<TypedSimplePlan>) -> TractResult<TractState> {
        if CLEANER.get().is_none() {
            if let Some(node) = plan.model().nodes().iter().find(|n| n.op_is::<OptMatMul>()) {
                let _ = CLEANER.set(node.op.clone());
            }
        }
        Ok(TractState { inner: plan.spawn()?, session: None, retire_on_drop: true })
    }

    /// A state made, run and dropped on the calling thread (a batch call's): tract's own `Drop`
    /// releases its scratch there, the only thread that has any, so nothing is retired.
    pub(crate) fn for_this_thread(plan: &Arc<TypedSimplePlan>) -> TractResult<TractState> {
        Ok(TractState { inner: plan.spawn()?, session: None, retire_on_drop: false })
    }

    /// Runs the plan on `inputs` (as `SimpleState::run`), after releasing the scratch of states
    /// retired since this thread's last run.
    pub(crate) fn run(&mut self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        self.run_with_eval(inputs, tract_core::plan::eval::<TypedFact, Box<dyn TypedOp>>)
    }

    /// Runs the plan with `eval` called for every node (as `SimpleState::run_plan_with_eval`).
    pub(crate) fn run_with_eval<E>(&mut self, inputs: TVec<TValue>, mut eval: E) -> TractResult<TVec<TValue>>
    where
        E: for<'a, 'b, 'c> FnMut(
            &'a EvalContext<'a>,
            Option<&'b mut (dyn OpState + 'static)>,
            &'c TypedNode,
            TVec<TValue>,
        ) -> TractResult<TVec<TValue>>,
    {
        release_retired();
        let session = &mut self.session;
        self.inner.run_plan_with_eval(inputs, |ctx, state, node, input| {
            *session = Some(ctx.session);
            eval(ctx, state, node, input)
        })
    }
}

impl Drop for TractState {
    fn drop(&mut self) {
        // `inner`'s own Drop (after this) releases the scratch on this thread.
        if let (true, Some(session)) = (self.retire_on_drop, self.session) {
            retire(session);
        }
    }
}

/// Appends `session` to the ring of retired ids.
fn retire(session: SessionId) {
    let mut ids = RETIRED.lock().unwrap_or_else(PoisonError::into_inner);
    let count = RETIRED_COUNT.load(Ordering::Relaxed);
    ids[(count % RETIRED_CAPACITY as u64) as usize] = session;
    RETIRED_COUNT.store(count + 1, Ordering::Release);
}

/// Removes, on the calling thread, tract's matmul scratch of every state retired since this
/// thread last did (at most the ring's capacity). Never allocates.
pub(crate) fn release_retired() {
    let count = RETIRED_COUNT.load(Ordering::Acquire);
    let from = RELEASED_UP_TO.with(|released| released.replace(count));
    if from >= count {
        // Up to date, or the thread's first run: it holds no entry of an earlier state.
        return;
    }
    let Some(cleaner) = CLEANER.get() else { return };
    let ids = RETIRED.lock().unwrap_or_else(PoisonError::into_inner);
    for n in from.max(count.saturating_sub(RETIRED_CAPACITY as u64))..count {
        cleaner.drop_session(ids[(n % RETIRED_CAPACITY as u64) as usize], 0);
    }
}
