//! The metric exports of a runtime or a monitor: Prometheus text, OpenMetrics text, OTLP JSON, and
//! the monitor's exponential latency histogram.

use std::ffi::c_char;

use super::abi::write_out;
use super::args::{c_string, optional_out_slice, output, utf8};
use super::boundary::guard;
use super::histogram::{exp_histogram_to_c, mle_exp_histogram};
use super::monitor::{mle_monitor, monitor_ref};
use super::runtime::{mle_runtime, runtime_ref};
use super::status::mle_status;
use super::telemetry::{mle_telemetry, telemetry_ref};
use crate::error::{fail, Result, Status};
use crate::export::prometheus::TextFormat;
use crate::export::{otlp, prometheus, unix_nanos_now, Metrics};
use crate::telemetry::Telemetry;

/// Metrics format: Prometheus text exposition 0.0.4.
pub const MLE_METRICS_PROMETHEUS: i32 = 0;
/// Metrics format: OpenMetrics 1.0 text (ends with `# EOF`).
pub const MLE_METRICS_OPENMETRICS: i32 = 1;
/// Metrics format: OTLP JSON (`ExportMetricsServiceRequest`).
pub const MLE_METRICS_OTLP_JSON: i32 = 2;

/// Renders `metrics` in `format` into `(buffer, capacity)`, NUL-terminated; `*length` gets the
/// text's length (without the NUL) on success and the needed capacity (with the NUL) when the
/// buffer is too small.
/// OTLP's resource gets the telemetry's device id, if any.
///
/// # Safety
/// `buffer` is NULL or `capacity` writable chars; `length` is NULL or writable.
unsafe fn render_into(
    metrics: &Metrics,
    format: i32,
    telemetry: Option<&Telemetry>,
    buffer: *mut c_char,
    capacity: usize,
    length: *mut usize,
) -> Result<()> {
    let text = match format {
        MLE_METRICS_PROMETHEUS => prometheus::render(metrics, TextFormat::Prometheus),
        MLE_METRICS_OPENMETRICS => prometheus::render(metrics, TextFormat::OpenMetrics),
        MLE_METRICS_OTLP_JSON => {
            let device_id = telemetry.map_or("", |t| t.options().device_id.as_str());
            let resource: Vec<(&str, &str)> =
                if device_id.is_empty() { Vec::new() } else { vec![("device.id", device_id)] };
            otlp::render(metrics, &resource)
        }
        other => return fail(Status::InvalidArgument, format!("format {other} is not one of MLE_METRICS_*")),
    };
    // SAFETY: per this function's contract.
    let (length, buffer) =
        unsafe { (output(length, "length")?, optional_out_slice(buffer as *mut u8, capacity, "buffer")?) };
    let needed = text.len() + 1;
    match buffer {
        Some(buffer) if buffer.len() >= needed => {
            buffer[..text.len()].copy_from_slice(text.as_bytes());
            buffer[text.len()] = 0;
            *length = text.len();
            Ok(())
        }
        _ => {
            *length = needed;
            fail(Status::BufferTooSmall, format!("the metrics text needs {needed} bytes, the buffer holds {capacity}"))
        }
    }
}

/// Export the runtime's metrics (every loaded model's monitor analysed now, A/B, rollout,
/// shadow, and its telemetry's counters) as `format` (`MLE_METRICS_*`) into `buffer`
/// (NUL-terminated). On success `*length` is the text's length without the NUL. Call with a NULL
/// buffer to learn the size (`MLE_ERR_BUFFER_TOO_SMALL`, `*length` = bytes needed, NUL
/// included); the size can grow between calls: add headroom.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL runtime or length, unknown format),
/// `MLE_ERR_BUFFER_TOO_SMALL`.
///
/// # Safety
/// `runtime` is NULL or live; `buffer` is NULL or `capacity` writable chars; `length` is NULL or
/// writable.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_export_metrics(
    runtime: *const mle_runtime,
    format: i32,
    buffer: *mut c_char,
    capacity: usize,
    length: *mut usize,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let runtime = unsafe { runtime_ref(runtime)? };
        let metrics = Metrics::from_runtime(runtime)?;
        // SAFETY: per this function's contract.
        unsafe { render_into(&metrics, format, runtime.options().telemetry.as_ref(), buffer, capacity, length) }
    })
}

/// Export one monitor's metrics (analysed now) labelled with `model_version` (UTF-8, required),
/// plus the counters of `telemetry` when not NULL. Buffer, format and errors as
/// `mle_runtime_export_metrics`; also `MLE_ERR_INVALID_UTF8`.
///
/// # Safety
/// `monitor` is NULL or live; `model_version` NULL or NUL-terminated; `telemetry` NULL or live;
/// `buffer`, `length` as in `mle_runtime_export_metrics`.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_monitor_export_metrics(
    monitor: *const mle_monitor,
    model_version: *const c_char,
    telemetry: *const mle_telemetry,
    format: i32,
    buffer: *mut c_char,
    capacity: usize,
    length: *mut usize,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let monitor = unsafe { monitor_ref(monitor)? };
        // SAFETY: per this function's contract.
        let version = utf8(unsafe { c_string(model_version, "model_version")? }, "model_version")?;
        // SAFETY: per this function's contract.
        let telemetry = if telemetry.is_null() { None } else { Some(unsafe { telemetry_ref(telemetry)? }) };
        let metrics = Metrics::from_monitor(monitor, version, telemetry.map(Telemetry::stats), unix_nanos_now())?;
        // SAFETY: per this function's contract.
        unsafe { render_into(&metrics, format, telemetry, buffer, capacity, length) }
    })
}

/// The monitor's latency histogram since creation (seconds, every request) as an OpenTelemetry
/// exponential histogram (set `out->struct_size` first), e.g. to merge devices' histograms on a
/// gateway with `mle_exp_histogram_merge`. Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL),
/// `MLE_ERR_INVALID_STATE` (called from the monitor's level callback).
///
/// # Safety
/// `monitor` is NULL or live; `out` is NULL or a writable struct of `struct_size` bytes.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_monitor_get_latency_histogram(
    monitor: *const mle_monitor,
    out: *mut mle_exp_histogram,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let monitor = unsafe { monitor_ref(monitor)? };
        let snapshot = monitor.snapshot()?;
        // SAFETY: per this function's contract.
        unsafe { write_out(out, &exp_histogram_to_c(&snapshot.totals.latency_exponential), "out") }
    })
}
