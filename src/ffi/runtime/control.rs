//! The runtime's control calls from C: the experiment, the assignment hook and the event
//! callback, hot swaps, staged rollouts, the shadow.

use std::ffi::{c_char, c_void, CString};

use super::super::ab::scheme_from_c;
use super::super::abi::{init, read_in, read_in_array};
use super::super::args::{c_string, path_from_c, slice, utf8};
use super::super::boundary::guard;
use super::super::model::{mle_model, mle_model_options, model_ref, options_from_c as model_options_from_c};
use super::super::status::mle_status;
use super::super::userdata::{mle_free_userdata, Userdata};
use super::types::*;
use super::{mle_runtime, runtime_ref};
use crate::deploy::rollout::RolloutConfig;
use crate::deploy::selftest::{OwnedInput, SelfTestCase};
use crate::error::{fail, Error, Result, Status};
use crate::events::Event;
use crate::runtime::Variant;

/// Set an experiment: `variants[0]` is control; `scheme` (`MLE_ASSIGN_*`) assigns users. Every
/// model must take the inputs production takes (kind, feature count and shape, byte layout) and
/// have no more labels than the deployment's models (the hosts' probability buffers); a model that
/// does not is refused (event `MLE_EVENT_SWAP_REFUSED`) and the experiment is not set. Variant
/// counters restart. Not allowed during a rollout (`MLE_ERR_INVALID_STATE`).
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL arguments, 0 or more than 16 variants, names empty
/// or above 64 bytes, weights not summing to 1 within 0.001, an unknown scheme, a model that
/// cannot take production's inputs), `MLE_ERR_INVALID_UTF8`, `MLE_ERR_INVALID_STATE`.
///
/// # Safety
/// `runtime` is NULL or live; `name` NULL or NUL-terminated; `variants` NULL or `count` structs
/// (each with its `struct_size`) whose names are NUL-terminated and models live.
///
/// Thread safety: safe from any thread (control calls are serialised).
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_set_experiment(
    runtime: *const mle_runtime,
    name: *const c_char,
    variants: *const mle_variant,
    count: usize,
    scheme: i32,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let rt = unsafe { runtime_ref(runtime)? };
        // SAFETY: per this function's contract.
        let name = utf8(unsafe { c_string(name, "name")? }, "name")?;
        if variants.is_null() {
            return fail(Status::InvalidArgument, "variants is NULL");
        }
        // SAFETY: per this function's contract.
        let list = unsafe { read_in_array(variants, count, "variants")? };
        let scheme = scheme_from_c(scheme)?;
        let mut owned = Vec::with_capacity(list.len());
        for (i, v) in list.iter().enumerate() {
            let context = |e: Error| Error::new(e.status(), format!("variants[{i}]: {}", e.message()));
            // SAFETY: per this function's contract: NUL-terminated name, live model handle.
            let (vname, model) =
                unsafe { (c_string(v.name, "name").map_err(context)?, model_ref(v.model, "model").map_err(context)?) };
            let vname = utf8(vname, "name").map_err(context)?;
            owned.push(Variant { name: vname.to_string(), model: model.model.clone(), weight: v.weight });
        }
        rt.set_experiment(name, &owned, scheme)
    })
}

struct HostHook {
    hook: unsafe extern "C" fn(*mut c_void, *const c_char, usize, *const c_char, usize) -> i64,
    userdata: Userdata,
}

impl HostHook {
    fn call(&self, experiment: &str, user: &str) -> i64 {
        // SAFETY: the host's function with its userdata; the strings live for the call.
        unsafe {
            (self.hook)(
                self.userdata.get(),
                experiment.as_ptr() as *const c_char,
                experiment.len(),
                user.as_ptr() as *const c_char,
                user.len(),
            )
        }
    }
}

/// Set (or with a NULL `hook` remove) the host's assignment hook, called on the classifying
/// thread inside `mle_runtime_classify_*`.
///
/// `free_userdata` (may be NULL) is called exactly once with `userdata`: when the hook is
/// replaced or removed and no request is still calling it (on the thread of the call that
/// replaced it, or of the last request that used it), when the runtime is freed (on the thread
/// of `mle_runtime_free`), or at once on the calling thread if this call fails or `hook` is NULL.
///
/// # Safety
/// `runtime` is NULL or live; `hook` and `free_userdata` NULL or safe to call with `userdata`
/// from any thread.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_set_assignment_hook(
    runtime: *const mle_runtime,
    hook: mle_assignment_hook,
    userdata: *mut c_void,
    free_userdata: mle_free_userdata,
) -> mle_status {
    let userdata = Userdata::new(userdata, free_userdata);
    guard(move || {
        // SAFETY: per this function's contract.
        let rt = unsafe { runtime_ref(runtime)? };
        let Some(hook) = hook else {
            drop(userdata); // not kept: released now, as documented
            return rt.set_assignment_hook(None);
        };
        let host = HostHook { hook, userdata };
        rt.set_assignment_hook(Some(Box::new(move |experiment: &str, user: &str| host.call(experiment, user))))
    })
}

struct HostEvents {
    callback: unsafe extern "C" fn(*mut c_void, *const mle_event),
    userdata: Userdata,
}

impl HostEvents {
    fn call(&self, e: &Event) {
        let c = |s: &str| CString::new(s.replace('\0', " ")).unwrap_or_default();
        let (from, to, message) = (c(&e.from_version), c(&e.to_version), c(&e.message));
        let event = mle_event {
            struct_size: std::mem::size_of::<mle_event>() as u32,
            kind: e.kind as i32,
            variant: e.variant,
            from_version: from.as_ptr(),
            to_version: to.as_ptr(),
            stage_percent: e.stage_percent,
            level: e.level as i32,
            message: message.as_ptr(),
        };
        // SAFETY: the host's function with its userdata; the strings outlive the call.
        unsafe { (self.callback)(self.userdata.get(), &event) };
    }
}

/// Set (or with a NULL `callback` remove) the event callback (see `mle_event_callback` for the
/// thread it runs on).
///
/// `free_userdata` (may be NULL) is called exactly once with `userdata`: when the callback is
/// replaced or removed and no event is still being delivered to it (on the thread of the call
/// that replaced it, or of the last delivery), when the runtime is freed (on the thread of
/// `mle_runtime_free`), or at once on the calling thread if this call fails or `callback` is NULL.
///
/// # Safety
/// `runtime` is NULL or live; `callback` and `free_userdata` NULL or safe to call with
/// `userdata` from any thread.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_set_event_callback(
    runtime: *const mle_runtime,
    callback: mle_event_callback,
    userdata: *mut c_void,
    free_userdata: mle_free_userdata,
) -> mle_status {
    let userdata = Userdata::new(userdata, free_userdata);
    guard(move || {
        // SAFETY: per this function's contract.
        let rt = unsafe { runtime_ref(runtime)? };
        let Some(callback) = callback else {
            drop(userdata); // not kept: released now, as documented
            rt.set_event_callback(None);
            return Ok(());
        };
        let host = HostEvents { callback, userdata };
        rt.set_event_callback(Some(Box::new(move |e: &Event| host.call(e))));
        Ok(())
    })
}

/// Self-test cases from C (none: the model card's cases).
///
/// # Safety
/// `cases` is NULL or `count` structs whose pointers are valid for their counts.
unsafe fn cases_from_c(cases: *const mle_self_test_case, count: usize) -> Result<Option<Vec<SelfTestCase>>> {
    // SAFETY: per the caller's contract.
    let list = unsafe { read_in_array(cases, count, "cases")? };
    if list.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, c) in list.iter().enumerate() {
        let context = |e: Error| Error::new(e.status(), format!("cases[{i}]: {}", e.message()));
        // SAFETY: per the caller's contract: NUL-terminated label.
        let label = utf8(unsafe { c_string(c.expected_label, "expected_label") }.map_err(context)?, "expected_label")
            .map_err(context)?;
        let given = [!c.text.is_null(), !c.features.is_null(), !c.bytes.is_null()];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(context(Error::new(Status::InvalidArgument, "set exactly one of text, features, bytes")));
        }
        // SAFETY: per the caller's contract: the set input is valid for its length.
        let input = unsafe {
            if !c.text.is_null() {
                OwnedInput::Text(utf8(c_string(c.text, "text")?, "text").map_err(context)?.to_string())
            } else if !c.features.is_null() {
                OwnedInput::Tensor(slice(c.features, c.feature_count, "features").map_err(context)?.to_vec())
            } else {
                OwnedInput::Bytes(slice(c.bytes, c.byte_count, "bytes").map_err(context)?.to_vec())
            }
        };
        out.push(SelfTestCase { input, expected_label: label.to_string() });
    }
    Ok(Some(out))
}

/// Hot swap: `model` serves `variant` from now on, after it passed its self-test on a fresh
/// session (`cases`, or the card's `self_test` cases when `count` is 0; none is a pass) and
/// proved it can take the inputs the runtime serves: the same input kind, the same feature count
/// and shape (tensor models), the same byte layout (bytes models), and no more labels than the
/// deployment's models have (the hosts' probability buffers). Refused models keep the old one
/// serving (`MLE_ERR_SELF_TEST_FAILED`, event `MLE_EVENT_SWAP_REFUSED` saying why). A deliberate
/// change of input schema is `mle_runtime_change_input_schema`. Requests in flight finish on the
/// old model, which is kept for `mle_runtime_rollback`.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL/invalid handles, no such variant, bad cases),
/// `MLE_ERR_SELF_TEST_FAILED`, `MLE_ERR_INVALID_STATE` (the variant is under rollout),
/// `MLE_ERR_SHUTTING_DOWN`.
///
/// # Safety
/// `runtime` and `model` NULL or live; `cases` NULL or `count` structs (see
/// `mle_self_test_case`).
///
/// Thread safety: safe from any thread (control calls are serialised).
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_swap(
    runtime: *const mle_runtime,
    variant: usize,
    model: *const mle_model,
    cases: *const mle_self_test_case,
    count: usize,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let (rt, model, cases) =
            unsafe { (runtime_ref(runtime)?, model_ref(model, "model")?, cases_from_c(cases, count)?) };
        rt.swap(variant, &model.model, cases.as_deref())
    })
}

/// Load the model at `path` with `options` (NULL: defaults; same path rule and options as
/// `mle_model_load`) and swap it in as `mle_runtime_swap` does; a model that fails to load is
/// refused the same way (event `MLE_EVENT_SWAP_REFUSED`, the load's status returned).
///
/// # Safety
/// As `mle_runtime_swap`, with `path` NULL or NUL-terminated and `options` NULL or a struct of
/// `struct_size` bytes.
///
/// Thread safety: safe from any thread (control calls are serialised).
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_swap_path(
    runtime: *const mle_runtime,
    variant: usize,
    path: *const c_char,
    options: *const mle_model_options,
    cases: *const mle_self_test_case,
    count: usize,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let (rt, path, options, cases) = unsafe {
            (
                runtime_ref(runtime)?,
                path_from_c(path, "path")?,
                model_options_from_c(options)?,
                cases_from_c(cases, count)?,
            )
        };
        rt.swap_from_path(variant, path, &options, cases.as_deref())
    })
}

/// A deliberate change of input schema: `model` replaces production although it takes another
/// kind or shape of input, or has more labels, than the deployment serves (what
/// `mle_runtime_swap` refuses). It still passes its self-test (`cases` as in
/// `mle_runtime_swap`). Only while production serves alone (no experiment, rollout or shadow).
/// From the next request on, hosts send the new inputs and size their probability buffers for
/// the new model's label count; there is no rollback across a schema change. Event
/// `MLE_EVENT_SWAPPED`, its message naming both schemas. Since C ABI 1.1.
///
/// Errors: `MLE_ERR_INVALID_STATE` (an experiment, rollout or shadow is set),
/// `MLE_ERR_SELF_TEST_FAILED`, `MLE_ERR_SHUTTING_DOWN`, `MLE_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// As `mle_runtime_swap`.
///
/// Thread safety: safe from any thread (control calls are serialised).
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_change_input_schema(
    runtime: *const mle_runtime,
    model: *const mle_model,
    cases: *const mle_self_test_case,
    count: usize,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let (rt, model, cases) =
            unsafe { (runtime_ref(runtime)?, model_ref(model, "model")?, cases_from_c(cases, count)?) };
        rt.change_input_schema(&model.model, cases.as_deref())
    })
}

/// Fill `*options` with the defaults; pass `sizeof(mle_rollout_options)`.
///
/// # Safety
/// `options` is NULL or points to `struct_size` writable bytes.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_rollout_options_init(options: *mut mle_rollout_options, struct_size: usize) -> mle_status {
    // SAFETY: per this function's contract.
    guard(|| unsafe { init(options, struct_size, "options") })
}

/// Start a staged rollout of `candidate` for `variant` (`options` NULL: defaults): after its
/// self-test (as `mle_runtime_swap`), it serves the first stage's share of that variant's users,
/// and the supervisor (or `mle_runtime_evaluate`) moves it through the stages, rolling back on a
/// critical alert or a failed health check.
///
/// Errors: as `mle_runtime_swap`, plus `MLE_ERR_INVALID_ARGUMENT` for bad stages and
/// `MLE_ERR_INVALID_STATE` when a rollout already runs.
///
/// # Safety
/// As `mle_runtime_swap`, with `options` NULL or a struct of `struct_size` bytes.
///
/// Thread safety: safe from any thread (control calls are serialised).
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_start_rollout(
    runtime: *const mle_runtime,
    variant: usize,
    candidate: *const mle_model,
    options: *const mle_rollout_options,
    cases: *const mle_self_test_case,
    count: usize,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let (rt, model, cases, config) = unsafe {
            (
                runtime_ref(runtime)?,
                model_ref(candidate, "candidate")?,
                cases_from_c(cases, count)?,
                rollout_config_from_c(options)?,
            )
        };
        rt.start_rollout(variant, &model.model, config, cases.as_deref())
    })
}

/// Load the model at `path` with `model_options` (NULL: defaults, under the runtime's trusted
/// keys; same path rule as `mle_model_load`, a model package included) and start its rollout as
/// `mle_runtime_start_rollout` does. A model that fails to load — a package that does not verify,
/// a file that is not a model — is refused the same way as one that fails its self-test: event
/// `MLE_EVENT_SWAP_REFUSED` with the reason, the load's status returned, the deployment unchanged.
/// Since C ABI 1.3.
///
/// Errors: as `mle_model_load` and `mle_runtime_start_rollout`.
///
/// # Safety
/// As `mle_runtime_start_rollout`, with `path` NULL or NUL-terminated and `model_options` NULL or
/// a struct of `struct_size` bytes.
///
/// Thread safety: safe from any thread (control calls are serialised).
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_start_rollout_path(
    runtime: *const mle_runtime,
    variant: usize,
    path: *const c_char,
    model_options: *const mle_model_options,
    options: *const mle_rollout_options,
    cases: *const mle_self_test_case,
    count: usize,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let (rt, path, model_options, config, cases) = unsafe {
            (
                runtime_ref(runtime)?,
                path_from_c(path, "path")?,
                model_options_from_c(model_options)?,
                rollout_config_from_c(options)?,
                cases_from_c(cases, count)?,
            )
        };
        rt.start_rollout_from_path(variant, path, &model_options, config, cases.as_deref())
    })
}

/// Rollout options from C (NULL: the defaults).
///
/// # Safety
/// `options` is NULL or a struct of `struct_size` bytes.
unsafe fn rollout_config_from_c(options: *const mle_rollout_options) -> Result<RolloutConfig> {
    if options.is_null() {
        return Ok(RolloutConfig::default());
    }
    // SAFETY: per the caller's contract.
    let o = unsafe { read_in(options, "options")? };
    if o.stage_count as usize > MLE_MAX_STAGES || o.auto_promote > 1 {
        return fail(Status::InvalidArgument, "stage_count must be at most 8 and auto_promote 0 or 1");
    }
    Ok(RolloutConfig {
        stages_percent: o.stages_percent[..o.stage_count as usize].to_vec(),
        requests_per_stage: o.requests_per_stage,
        auto_promote: o.auto_promote == 1,
    })
}

/// Promote the rollout candidate now (event `MLE_EVENT_ROLLOUT_COMPLETED`).
/// `MLE_ERR_INVALID_STATE` without a rollout.
///
/// # Safety
/// `runtime` is NULL or live.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_promote(runtime: *const mle_runtime) -> mle_status {
    // SAFETY: per this function's contract.
    guard(|| unsafe { runtime_ref(runtime)? }.promote())
}

/// Roll `variant` back: stop its rollout, or swap its previous model back in (after a swap or
/// a promotion). `MLE_ERR_INVALID_STATE` when there is nothing to roll back to.
///
/// # Safety
/// `runtime` is NULL or live.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_rollback(runtime: *const mle_runtime, variant: usize) -> mle_status {
    // SAFETY: per this function's contract.
    guard(|| unsafe { runtime_ref(runtime)? }.rollback(variant))
}

/// Set a shadow model that sees `fraction` (0 < f <= 1) of production requests, off the request
/// path (its answers are compared, never returned); replaces any previous shadow. It must take
/// the inputs production takes (kind, feature count and shape, byte layout; its labels may
/// differ); otherwise it is refused (event `MLE_EVENT_SWAP_REFUSED`).
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (fraction, a model that cannot take production's inputs),
/// `MLE_ERR_SHUTTING_DOWN`.
///
/// # Safety
/// `runtime` and `model` NULL or live.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_set_shadow(
    runtime: *const mle_runtime,
    model: *const mle_model,
    fraction: f64,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let (rt, model) = unsafe { (runtime_ref(runtime)?, model_ref(model, "model")?) };
        rt.set_shadow(&model.model, fraction)
    })
}

/// Remove the shadow (queued comparisons are discarded and counted).
///
/// # Safety
/// `runtime` is NULL or live.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_clear_shadow(runtime: *const mle_runtime) -> mle_status {
    // SAFETY: per this function's contract.
    guard(|| unsafe { runtime_ref(runtime)? }.clear_shadow())
}
