//! The spool file: telemetry that survives an app kill.
//!
//! Layout: an 12-byte header (`MLESPOOL`, format version u32 LE), then entries appended one
//! after another, each `[payload length u32 LE][CRC-32 of the payload u32 LE][payload]`. The
//! payload's first byte is its type:
//! - `1` record: a numbered telemetry record (see `record::encode`);
//! - `2` batch: a batch was formed — id, first and last sequence number (so that a batch
//!   offered before a kill is offered again after it with the same id and the same records);
//! - `3` ack: the host answered OK or DROP for a batch, or records were dropped from a full
//!   buffer — id, first and last sequence number, outcome; records numbered in that range that
//!   were written before it are done;
//! - `4` watermark: the next sequence number and batch id (written when the file is compacted).
//!
//! Recovery reads entries in order and stops at the first one that is incomplete or fails its
//! checksum: that is a torn tail (a write cut short by the kill); the file is cut there and the
//! bytes cut off are reported. Compaction rewrites the live records into a new file and renames
//! it over the old one (atomic on POSIX file systems).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::record::{decode, encode, TelemetryRecord};
use crate::error::{Error, Result, Status};

const MAGIC: &[u8; 8] = b"MLESPOOL";
const FORMAT_VERSION: u32 = 1;
/// Bytes before the first entry.
pub(crate) const HEADER_BYTES: u64 = 12;
/// Bytes of an entry's length and checksum.
const ENTRY_OVERHEAD: u64 = 8;
/// Largest payload an entry may have (records are a few hundred bytes).
const MAX_PAYLOAD: u32 = 4096;

const ENTRY_RECORD: u8 = 1;
const ENTRY_BATCH: u8 = 2;
const ENTRY_ACK: u8 = 3;
const ENTRY_WATERMARK: u8 = 4;

/// How a batch or a range of records ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Sent = 1,
    DroppedByHost = 2,
    DroppedOverflow = 3,
}

/// A batch formed and not yet answered OK or DROP.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct OpenBatch {
    pub id: u64,
    pub first_seq: u64,
    pub last_seq: u64,
}

/// What a spool held when it was opened.
#[derive(Debug, Default)]
pub(crate) struct Recovered {
    /// Records not yet sent or dropped, in sequence order.
    pub records: Vec<TelemetryRecord>,
    /// The batch that was being offered, if any.
    pub open_batch: Option<OpenBatch>,
    pub next_seq: u64,
    pub next_batch_id: u64,
    /// Bytes cut off the end (a torn or corrupt tail).
    pub torn_bytes: u64,
}

/// The open spool file.
pub(crate) struct Spool {
    path: PathBuf,
    file: File,
    /// Current file length.
    len: u64,
    max_bytes: u64,
    sync: bool,
}

fn io_error(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::new(Status::Io, format!("telemetry spool {}: {what}: {e}", path.display()))
}

impl Spool {
    /// Opens (or creates) the spool at `path` and recovers what it holds.
    pub(crate) fn open(path: &Path, max_bytes: u64, sync: bool) -> Result<(Spool, Recovered)> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| io_error(path, "cannot open", e))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| io_error(path, "cannot read", e))?;
        let mut spool = Spool { path: path.to_path_buf(), file, len: 0, max_bytes, sync };
        if (bytes.len() as u64) < HEADER_BYTES {
            if !MAGIC.starts_with(&bytes[..bytes.len().min(MAGIC.len())]) {
                return Err(Error::new(
                    Status::Io,
                    format!("{} exists and is not a telemetry spool (refusing to overwrite it)", path.display()),
                ));
            }
            // New, or torn while its header was written: start afresh.
            let torn_bytes = bytes.len() as u64;
            spool.rewrite(0, 0, &[], None)?;
            return Ok((spool, Recovered { torn_bytes, ..Recovered::default() }));
        }
        if &bytes[..8] != MAGIC {
            return Err(Error::new(
                Status::Io,
                format!("{} is not a telemetry spool (refusing to overwrite it)", path.display()),
            ));
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
        if version != FORMAT_VERSION {
            return Err(Error::new(
                Status::Io,
                format!("{}: spool format version {version}, this library reads {FORMAT_VERSION}", path.display()),
            ));
        }
        let (recovered, valid_len) = recover(&bytes);
        if valid_len < bytes.len() as u64 {
            spool.file.set_len(valid_len).map_err(|e| io_error(path, "cannot cut the torn tail", e))?;
        }
        spool.len = valid_len;
        spool.file.seek(SeekFrom::Start(valid_len)).map_err(|e| io_error(path, "cannot seek", e))?;
        Ok((spool, recovered))
    }

    /// The file's length now.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Whether `extra` more bytes fit under the size limit.
    pub(crate) fn fits(&self, extra: u64) -> bool {
        self.len + extra <= self.max_bytes
    }

    /// Appends records; stops (returning how many went in) when the next one would pass the size
    /// limit.
    pub(crate) fn append_records<'a>(&mut self, records: impl Iterator<Item = &'a TelemetryRecord>) -> Result<usize> {
        let mut out = Vec::new();
        let mut written = 0;
        for record in records {
            let mut payload = vec![ENTRY_RECORD];
            encode(record, &mut payload);
            if !self.fits(out.len() as u64 + payload.len() as u64 + ENTRY_OVERHEAD) {
                break;
            }
            frame(&payload, &mut out);
            written += 1;
        }
        self.write(&out)?;
        Ok(written)
    }

    /// Notes that batch `batch` was formed.
    pub(crate) fn append_batch(&mut self, batch: OpenBatch) -> Result<()> {
        let mut out = Vec::new();
        frame(&entry(ENTRY_BATCH, &[batch.id, batch.first_seq, batch.last_seq]), &mut out);
        self.write(&out)
    }

    /// Notes that records `first_seq..=last_seq` (of batch `batch_id`, 0 for overflow drops) are done.
    pub(crate) fn append_ack(&mut self, batch_id: u64, first_seq: u64, last_seq: u64, outcome: Outcome) -> Result<()> {
        let mut payload = entry(ENTRY_ACK, &[batch_id, first_seq, last_seq]);
        payload.push(outcome as u8);
        let mut out = Vec::new();
        frame(&payload, &mut out);
        self.write(&out)
    }

    /// Replaces the file with one holding a watermark, `live` records (as many as fit) and the
    /// open batch; returns how many records went in.
    pub(crate) fn rewrite(
        &mut self,
        next_seq: u64,
        next_batch_id: u64,
        live: &[&TelemetryRecord],
        open_batch: Option<OpenBatch>,
    ) -> Result<usize> {
        let mut out = Vec::with_capacity(HEADER_BYTES as usize);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        frame(&entry(ENTRY_WATERMARK, &[next_seq, next_batch_id]), &mut out);
        if let Some(batch) = open_batch {
            frame(&entry(ENTRY_BATCH, &[batch.id, batch.first_seq, batch.last_seq]), &mut out);
        }
        let mut written = 0;
        for record in live {
            let mut payload = vec![ENTRY_RECORD];
            encode(record, &mut payload);
            if out.len() as u64 + payload.len() as u64 + ENTRY_OVERHEAD > self.max_bytes {
                break;
            }
            frame(&payload, &mut out);
            written += 1;
        }
        let mut temporary = self.path.clone().into_os_string();
        temporary.push(".tmp");
        let temporary = PathBuf::from(temporary);
        let path = self.path.clone();
        let mut file = File::create(&temporary).map_err(|e| io_error(&temporary, "cannot create", e))?;
        file.write_all(&out).map_err(|e| io_error(&temporary, "cannot write", e))?;
        if self.sync {
            file.sync_data().map_err(|e| io_error(&temporary, "cannot sync", e))?;
        }
        std::fs::rename(&temporary, &path).map_err(|e| io_error(&path, "cannot replace", e))?;
        let mut file =
            OpenOptions::new().read(true).write(true).open(&path).map_err(|e| io_error(&path, "cannot reopen", e))?;
        file.seek(SeekFrom::End(0)).map_err(|e| io_error(&path, "cannot seek", e))?;
        self.file = file;
        self.len = out.len() as u64;
        Ok(written)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let path = self.path.clone();
        if let Err(e) = self.file.write_all(bytes) {
            // Whatever part went in is a torn tail: cut it so that later entries stay readable.
            let _ = self.file.set_len(self.len);
            let _ = self.file.seek(SeekFrom::Start(self.len));
            return Err(io_error(&path, "cannot append", e));
        }
        if self.sync {
            self.file.sync_data().map_err(|e| io_error(&path, "cannot sync", e))?;
        }
        self.len += bytes.len() as u64;
        Ok(())
    }
}

/// The payload of an entry of type `kind` carrying `values` (little-endian).
fn entry(kind: u8, values: &[u64]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(1 + 8 * values.len() + 1);
    payload.push(kind);
    values.iter().for_each(|v| payload.extend_from_slice(&v.to_le_bytes()));
    payload
}

fn frame(payload: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// Replays the entries after the header; returns what is live and where the valid part ends.
fn recover(bytes: &[u8]) -> (Recovered, u64) {
    let mut records = BTreeMap::new();
    let mut open_batch = None;
    let (mut next_seq, mut next_batch_id) = (0u64, 0u64);
    let mut at = HEADER_BYTES as usize;
    while at < bytes.len() {
        let Some(head) = bytes.get(at..at + ENTRY_OVERHEAD as usize) else { break };
        let len = u32::from_le_bytes(head[..4].try_into().expect("4 bytes"));
        let crc = u32::from_le_bytes(head[4..].try_into().expect("4 bytes"));
        if len == 0 || len > MAX_PAYLOAD {
            break;
        }
        let start = at + ENTRY_OVERHEAD as usize;
        let Some(payload) = bytes.get(start..start + len as usize) else { break };
        if crc32fast::hash(payload) != crc {
            break;
        }
        let body = &payload[1..];
        let ok = match payload[0] {
            ENTRY_RECORD => match decode(body) {
                Some(record) => {
                    next_seq = next_seq.max(record.seq + 1);
                    records.insert(record.seq, record);
                    true
                }
                None => false,
            },
            ENTRY_BATCH if body.len() == 24 => {
                let batch = OpenBatch { id: u64_at(body, 0), first_seq: u64_at(body, 8), last_seq: u64_at(body, 16) };
                next_batch_id = next_batch_id.max(batch.id + 1);
                open_batch = Some(batch);
                true
            }
            ENTRY_ACK if body.len() == 25 => {
                let (id, first, last) = (u64_at(body, 0), u64_at(body, 8), u64_at(body, 16));
                let done: Vec<u64> = records.range(first..=last).map(|(seq, _)| *seq).collect();
                for seq in done {
                    records.remove(&seq);
                }
                if open_batch.is_some_and(|b: OpenBatch| b.id == id && b.first_seq == first) {
                    open_batch = None;
                }
                next_batch_id = next_batch_id.max(id + 1);
                true
            }
            ENTRY_WATERMARK if body.len() == 16 => {
                next_seq = next_seq.max(u64_at(body, 0));
                next_batch_id = next_batch_id.max(u64_at(body, 8));
                true
            }
            _ => false,
        };
        if !ok {
            break;
        }
        at = start + len as usize;
    }
    let recovered = Recovered {
        records: records.into_values().collect(),
        open_batch,
        next_seq,
        next_batch_id,
        torn_bytes: (bytes.len() - at) as u64,
    };
    (recovered, at as u64)
}
