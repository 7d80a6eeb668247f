//! What the telemetry queue holds: fixed-size records (no heap), and their binary form in the
//! spool file.

use crate::events::{Event, EventKind};
use crate::{Level, Status};

/// Longest model version kept in a record, in bytes (longer ones are cut at a char boundary).
pub const MAX_VERSION_BYTES: usize = 64;
/// Longest event message kept in a record, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 160;

/// A version string held inline.
pub type VersionText = heapless::String<MAX_VERSION_BYTES>;
/// An event message held inline.
pub type MessageText = heapless::String<MAX_MESSAGE_BYTES>;

/// `text` cut to at most `N` bytes at a char boundary.
pub(crate) fn inline<const N: usize>(text: &str) -> heapless::String<N> {
    let mut end = text.len().min(N);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = heapless::String::new();
    // Cannot fail: `end <= N` bytes.
    let _ = out.push_str(&text[..end]);
    out
}

/// One answered request (successes are sampled; errors are always recorded).
#[derive(Clone, Debug, PartialEq)]
pub struct RequestRecord {
    /// The version of the model that answered.
    pub model_version: VersionText,
    /// The variant the user was assigned to.
    pub variant: u16,
    /// Whether the rollout candidate answered.
    pub candidate: bool,
    /// The outcome.
    pub status: Status,
    /// Predicted label index (`None` for errors).
    pub label: Option<u32>,
    /// Its probability (0 for errors).
    pub confidence: f32,
    /// Time from the call to the answer, in nanoseconds.
    pub latency_ns: u64,
    /// Tokens, bytes or values of the input (0 for errors).
    pub input_length: u32,
}

/// One deployment event (see [`EventKind`]).
#[derive(Clone, Debug, PartialEq)]
pub struct EventRecord {
    /// What happened.
    pub kind: EventKind,
    /// The variant concerned.
    pub variant: u16,
    /// Version serving before.
    pub from_version: VersionText,
    /// Version serving after (or the candidate / refused one).
    pub to_version: VersionText,
    /// Rollout share in percent.
    pub stage_percent: u8,
    /// Alert level.
    pub level: Level,
    /// Why (cut to [`MAX_MESSAGE_BYTES`]).
    pub message: MessageText,
}

impl EventRecord {
    /// The record of a runtime event.
    pub fn from_event(event: &Event) -> EventRecord {
        EventRecord {
            kind: event.kind,
            variant: event.variant.min(u16::MAX as usize) as u16,
            from_version: inline(&event.from_version),
            to_version: inline(&event.to_version),
            stage_percent: event.stage_percent.min(100) as u8,
            level: event.level,
            message: inline(&event.message),
        }
    }
}

/// A request or an event.
// Fixed size on purpose: every queue slot holds either kind inline, with no heap behind it.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum RecordBody {
    /// A request.
    Request(RequestRecord),
    /// An event.
    Event(EventRecord),
}

/// One record as the queue holds it: when, and what. Its sequence number is given when it
/// leaves the queue (in queue order), so that numbers rise in delivery order.
#[derive(Clone, Debug, PartialEq)]
pub struct Queued {
    /// Wall-clock time of the request's answer or the event, in ms since the Unix epoch.
    pub time_unix_ms: u64,
    /// The record.
    pub body: RecordBody,
}

/// A numbered record, ready for a batch.
#[derive(Clone, Debug, PartialEq)]
pub struct TelemetryRecord {
    /// Unique and rising per device (kept across restarts by the spool): a backend can drop
    /// duplicates by (device, seq).
    pub seq: u64,
    /// Wall-clock time, ms since the Unix epoch.
    pub time_unix_ms: u64,
    /// The record.
    pub body: RecordBody,
}

const BODY_REQUEST: u8 = 1;
const BODY_EVENT: u8 = 2;

/// Appends the binary form (little-endian; strings as a length byte and bytes).
pub(crate) fn encode(record: &TelemetryRecord, out: &mut Vec<u8>) {
    out.extend_from_slice(&record.seq.to_le_bytes());
    out.extend_from_slice(&record.time_unix_ms.to_le_bytes());
    match &record.body {
        RecordBody::Request(r) => {
            out.push(BODY_REQUEST);
            put_str(out, &r.model_version);
            out.extend_from_slice(&r.variant.to_le_bytes());
            out.push(u8::from(r.candidate));
            out.extend_from_slice(&(r.status.code() as u16).to_le_bytes());
            out.extend_from_slice(&r.label.unwrap_or(u32::MAX).to_le_bytes());
            out.extend_from_slice(&r.confidence.to_le_bytes());
            out.extend_from_slice(&r.latency_ns.to_le_bytes());
            out.extend_from_slice(&r.input_length.to_le_bytes());
        }
        RecordBody::Event(e) => {
            out.push(BODY_EVENT);
            out.extend_from_slice(&(e.kind as i32 as u16).to_le_bytes());
            out.extend_from_slice(&e.variant.to_le_bytes());
            put_str(out, &e.from_version);
            put_str(out, &e.to_version);
            out.push(e.stage_percent);
            out.push(e.level as i32 as u8);
            put_str(out, &e.message);
        }
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // Inline strings are at most 160 bytes: the length fits a byte.
    out.push(s.len() as u8);
    out.extend_from_slice(s.as_bytes());
}

/// Reads bytes of an encoded record.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }
    fn text<const N: usize>(&mut self) -> Option<heapless::String<N>> {
        let len = usize::from(self.u8()?);
        let bytes = self.take(len)?;
        let text = std::str::from_utf8(bytes).ok()?;
        heapless::String::try_from(text).ok()
    }
}

/// Decodes what [`encode`] wrote; `None` for anything malformed (the spool's checksum makes that
/// a format error, not a torn write).
pub(crate) fn decode(bytes: &[u8]) -> Option<TelemetryRecord> {
    let mut r = Reader(bytes);
    let seq = r.u64()?;
    let time_unix_ms = r.u64()?;
    let body = match r.u8()? {
        BODY_REQUEST => {
            let model_version = r.text()?;
            let variant = r.u16()?;
            let candidate = r.u8()? != 0;
            let status = Status::from_code(i32::from(r.u16()?))?;
            let label = Some(r.u32()?).filter(|l| *l != u32::MAX);
            let confidence = f32::from_le_bytes(r.take(4)?.try_into().ok()?);
            let latency_ns = r.u64()?;
            let input_length = r.u32()?;
            RecordBody::Request(RequestRecord {
                model_version,
                variant,
                candidate,
                status,
                label,
                confidence,
                latency_ns,
                input_length,
            })
        }
        BODY_EVENT => {
            let kind = EventKind::from_code(i32::from(r.u16()?))?;
            let variant = r.u16()?;
            let from_version = r.text()?;
            let to_version = r.text()?;
            let stage_percent = r.u8()?;
            let level = Level::from_code(i32::from(r.u8()?))?;
            let message = r.text()?;
            RecordBody::Event(EventRecord { kind, variant, from_version, to_version, stage_percent, level, message })
        }
        _ => return None,
    };
    r.0.is_empty().then_some(TelemetryRecord { seq, time_unix_ms, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_form_round_trips() {
        let request = TelemetryRecord {
            seq: 42,
            time_unix_ms: 1_790_000_000_123,
            body: RecordBody::Request(RequestRecord {
                model_version: inline("1.2.3"),
                variant: 1,
                candidate: true,
                status: Status::Ok,
                label: Some(3),
                confidence: 0.875,
                latency_ns: 1_234_567,
                input_length: 17,
            }),
        };
        let event = TelemetryRecord {
            seq: 43,
            time_unix_ms: 7,
            body: RecordBody::Event(EventRecord {
                kind: EventKind::RolledBack,
                variant: 0,
                from_version: inline("2.0"),
                to_version: inline("1.0"),
                stage_percent: 25,
                level: Level::Critical,
                message: inline("p95 latency 12 ms > 2x baseline — «rolled back»"),
            }),
        };
        for record in [request, event] {
            let mut bytes = Vec::new();
            encode(&record, &mut bytes);
            assert_eq!(decode(&bytes), Some(record.clone()));
            assert_eq!(decode(&bytes[..bytes.len() - 1]), None);
        }
    }

    #[test]
    fn long_text_is_cut_at_a_char_boundary() {
        let text = "é".repeat(100);
        let cut: MessageText = inline(&text);
        assert_eq!(cut.len(), 160);
        let cut: VersionText = inline(&text);
        assert_eq!(cut.len(), 64);
        assert!(cut.chars().all(|c| c == 'é'));
    }
}
