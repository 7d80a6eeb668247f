//! The upload batch format: JSON Lines, schema `mlops_edge.telemetry` version 1 (documented in
//! docs/telemetry.md). Line 1 describes the batch; every further line is one record.

use std::io::Write;

use super::record::{RecordBody, TelemetryRecord};

/// The schema name in every batch's header line.
pub const SCHEMA: &str = "mlops_edge.telemetry";
/// The schema version; bumped on any incompatible change (fields are only ever added within a
/// version).
pub const SCHEMA_VERSION: u32 = 1;

/// What the header line says besides the records.
pub(crate) struct BatchHeader<'a> {
    pub batch_id: u64,
    pub device_id: &'a str,
    pub created_unix_ms: u64,
    pub records: usize,
    pub first_seq: u64,
    pub last_seq: u64,
}

fn string(out: &mut Vec<u8>, s: &str) {
    // Writing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

fn float(out: &mut Vec<u8>, value: f32) {
    if value.is_finite() {
        let _ = write!(out, "{value}");
    } else {
        out.extend_from_slice(b"null");
    }
}

/// Appends the header line (with its newline).
pub(crate) fn write_header(out: &mut Vec<u8>, h: &BatchHeader<'_>) {
    let _ = write!(out, "{{\"schema\":\"{SCHEMA}\",\"schema_version\":{SCHEMA_VERSION},\"batch_id\":{},", h.batch_id);
    out.extend_from_slice(b"\"device_id\":");
    string(out, h.device_id);
    let _ = writeln!(
        out,
        ",\"library_version\":\"{}\",\"created_unix_ms\":{},\"records\":{},\"first_seq\":{},\"last_seq\":{}}}",
        crate::VERSION,
        h.created_unix_ms,
        h.records,
        h.first_seq,
        h.last_seq
    );
}

/// Appends one record's line (with its newline).
pub(crate) fn write_record(out: &mut Vec<u8>, record: &TelemetryRecord) {
    let _ = write!(out, "{{\"seq\":{},\"time_unix_ms\":{},", record.seq, record.time_unix_ms);
    match &record.body {
        RecordBody::Request(r) => {
            out.extend_from_slice(b"\"type\":\"request\",\"model_version\":");
            string(out, &r.model_version);
            let _ = write!(
                out,
                ",\"variant\":{},\"candidate\":{},\"status\":\"{}\",\"status_code\":{},",
                r.variant,
                r.candidate,
                r.status.name(),
                r.status.code()
            );
            match r.label {
                Some(label) => {
                    let _ = write!(out, "\"label\":{label},\"confidence\":");
                    float(out, r.confidence);
                }
                None => out.extend_from_slice(b"\"label\":null,\"confidence\":null"),
            }
            let _ = writeln!(out, ",\"latency_ns\":{},\"input_length\":{}}}", r.latency_ns, r.input_length);
        }
        RecordBody::Event(e) => {
            let _ = write!(out, "\"type\":\"event\",\"event\":\"{}\",\"variant\":{},", e.kind.name(), e.variant);
            out.extend_from_slice(b"\"from_version\":");
            string(out, &e.from_version);
            out.extend_from_slice(b",\"to_version\":");
            string(out, &e.to_version);
            let _ =
                write!(out, ",\"stage_percent\":{},\"level\":\"{}\",\"message\":", e.stage_percent, e.level.as_str());
            string(out, &e.message);
            out.extend_from_slice(b"}\n");
        }
    }
}
