//! Host log forwarding (its own test binary: it installs the process's `log` logger): off by
//! default, level filter, nothing above `trace` from the request path, runtime events at info,
//! long messages cut at a UTF-8 boundary.

mod common;

use std::sync::{Arc, Mutex};

use common::breast;
use mlops_edge::logging::{set_log_callback, MAX_LOG_MESSAGE};
use mlops_edge::{Runtime, RuntimeOptions};

type Seen = Arc<Mutex<Vec<(log::Level, String, String)>>>;

fn collector(seen: &Seen) -> mlops_edge::logging::LogCallback {
    let seen = Arc::clone(seen);
    Box::new(move |level, target, message| seen.lock().unwrap().push((level, target.to_string(), message.to_string())))
}

#[test]
fn records_reach_the_host_filtered_and_never_above_trace_from_requests() {
    // Off by default: nothing installed, nothing forwarded.
    assert_eq!(log::max_level(), log::LevelFilter::Off);
    let seen: Seen = Arc::default();
    set_log_callback(Some(log::LevelFilter::Trace), Some(collector(&seen))).unwrap();
    let runtime =
        Runtime::new(&breast("1.0"), RuntimeOptions { supervisor_thread: false, ..RuntimeOptions::default() }).unwrap();
    let row = [14.0f32; 30];
    seen.lock().unwrap().clear();
    for i in 0..200 {
        runtime.classify_f32(&format!("user-{i}"), &row, None).unwrap();
    }
    let during_requests = std::mem::take(&mut *seen.lock().unwrap());
    let above_trace: Vec<_> = during_requests.iter().filter(|(level, _, _)| *level < log::Level::Trace).collect();
    assert!(above_trace.is_empty(), "the request path logged above trace: {above_trace:?}");

    // A hot swap logs its event at info.
    runtime.swap(0, &breast("1.1"), Some(&[])).unwrap();
    let swap = std::mem::take(&mut *seen.lock().unwrap());
    assert!(
        swap.iter().any(|(level, target, message)| *level == log::Level::Info
            && target.starts_with("mlops_edge")
            && message.contains("Swapped")
            && message.contains("1.1")),
        "{swap:?}"
    );

    // The filter: at warn, info records are not forwarded.
    set_log_callback(Some(log::LevelFilter::Warn), Some(collector(&seen))).unwrap();
    runtime.swap(0, &breast("1.2"), Some(&[])).unwrap();
    log::warn!("a warning");
    let filtered = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(filtered.len(), 1, "{filtered:?}");
    assert_eq!((filtered[0].0, filtered[0].2.as_str()), (log::Level::Warn, "a warning"));

    // Long messages are cut at a char boundary and marked.
    log::error!("{}", "é".repeat(2000));
    let long = std::mem::take(&mut *seen.lock().unwrap());
    assert!(long[0].2.len() <= MAX_LOG_MESSAGE && long[0].2.ends_with('…'), "{}", long[0].2.len());

    // Off again.
    set_log_callback(None, None).unwrap();
    log::error!("not forwarded");
    assert!(seen.lock().unwrap().is_empty());
    assert_eq!(log::max_level(), log::LevelFilter::Off);
}
