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
//! - `5` unspooled: records first..=last sequence number are live in memory but not in the file
//!   (a compaction found the file full); those that no later ack covers are lost if the process
//!   ends, and recovery counts them (`Recovered::lost_unspooled`) instead of leaving a silent gap.
//!
//! Recovery reads entries in order. An entry that is incomplete or fails its checksum is either a
//! torn tail (a write cut short by the kill: nothing valid follows it; the file is cut there) or
//! damage inside the file (a flipped byte, a bad sector): then recovery resynchronises — it looks
//! at every following byte offset for the next entry whose length, checksum, type and contents
//! are all valid, keeps every intact entry after the damage, counts the bytes it skipped, and the
//! file is rewritten without them. A spool found shorter than its header (emptied or truncated
//! by something else) is reported too. Compaction rewrites the live records into a new file and
//! renames it over the old one (atomic on POSIX file systems).
//!
//! A spool is owned by one handle at a time: an advisory lock (`flock`) on `<path>.lock`, held
//! while the spool is open, makes a second open — in this process or another — fail with
//! `Status::SpoolLocked` instead of two writers interleaving entries and losing records. (The
//! lock lives on a file of its own because compaction replaces the spool file itself.)

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::record::{decode, encode, TelemetryRecord};
use crate::error::{fail, Error, Result, Status};

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
const ENTRY_UNSPOOLED: u8 = 5;

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
    /// Bytes cut off the end (a torn tail), or the bytes of a file found shorter than its header.
    pub torn_bytes: u64,
    /// Bytes skipped inside the file (damaged entries between intact ones).
    pub corrupt_bytes: u64,
    /// Stretches of damage skipped.
    pub corrupt_regions: u64,
    /// The spool file existed but was shorter than its header (emptied or cut by something else).
    pub truncated: bool,
    /// Records that were live when the process ended but not in the file (it was full when it
    /// was last compacted): lost, and counted here.
    pub lost_unspooled: u64,
}

impl Recovered {
    /// What recovery found wrong with the file, in words, or `None` when nothing was lost.
    pub(crate) fn damage(&self, path: &Path) -> Option<String> {
        let path = path.display();
        if self.truncated {
            return Some(format!(
                "telemetry spool {path} was found emptied or cut inside its header ({} bytes): its records are lost",
                self.torn_bytes
            ));
        }
        if self.lost_unspooled > 0 && self.corrupt_regions == 0 {
            return Some(format!(
                "telemetry spool {path}: {} records were live in the last run but not in the spool, which was full: \
                 they are lost (raise spool_max_bytes)",
                self.lost_unspooled
            ));
        }
        if self.corrupt_regions > 0 {
            return Some(format!(
                "telemetry spool {path}: {} damaged bytes in {} place(s) skipped; every intact record after them was \
                 recovered{}",
                self.corrupt_bytes,
                self.corrupt_regions,
                if self.torn_bytes > 0 {
                    format!(", and a torn tail of {} bytes cut", self.torn_bytes)
                } else {
                    String::new()
                }
            ));
        }
        None
    }
}

/// The open spool file.
pub(crate) struct Spool {
    path: PathBuf,
    file: File,
    /// `<path>.lock`, locked while the spool is open (the lock goes with the descriptor).
    _lock: File,
    /// Current file length.
    len: u64,
    max_bytes: u64,
    sync: bool,
}

fn io_error(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::new(Status::Io, format!("telemetry spool {}: {what}: {e}", path.display()))
}

impl Spool {
    /// Opens (or creates) the spool at `path` and recovers what it holds. Another open handle on
    /// the same spool (in any process) makes this fail with `Status::SpoolLocked`.
    pub(crate) fn open(path: &Path, max_bytes: u64, sync: bool) -> Result<(Spool, Recovered)> {
        let lock = lock(path)?;
        if let Some(e) = crate::testing::spool_fault(path) {
            return Err(io_error(path, "cannot open", e));
        }
        let existed = std::fs::metadata(path).is_ok_and(|m| m.is_file());
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| io_error(path, "cannot open", e))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| io_error(path, "cannot read", e))?;
        let mut spool = Spool { path: path.to_path_buf(), file, _lock: lock, len: 0, max_bytes, sync };
        if (bytes.len() as u64) < HEADER_BYTES {
            if !MAGIC.starts_with(&bytes[..bytes.len().min(MAGIC.len())]) {
                return Err(Error::new(
                    Status::Io,
                    format!("{} exists and is not a telemetry spool (refusing to overwrite it)", path.display()),
                ));
            }
            // New, or emptied or cut inside its header since the last run: start afresh, and
            // report an existing one (its entries are gone).
            let torn_bytes = bytes.len() as u64;
            spool.rewrite(0, 0, &[], None)?;
            return Ok((spool, Recovered { torn_bytes, truncated: existed, ..Recovered::default() }));
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
        if recovered.corrupt_regions > 0 || recovered.lost_unspooled > 0 {
            // Damage inside the file, or records it could not hold: write what was recovered into
            // a clean file, so the next recovery does not meet (and count) the same loss again.
            let live: Vec<&TelemetryRecord> = recovered.records.iter().collect();
            spool.rewrite(recovered.next_seq, recovered.next_batch_id, &live, recovered.open_batch)?;
            return Ok((spool, recovered));
        }
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
        // The rest are live in memory only: say so in the file, run by run of consecutive
        // numbers (never across numbers that are not live), so that a recovery after a kill
        // counts exactly them as lost instead of leaving a silent gap in the sequence numbers.
        let mut rest = live[written..].iter().map(|r| r.seq).peekable();
        while let Some(first) = rest.next() {
            let mut last = first;
            while rest.peek() == Some(&(last + 1)) {
                last += 1;
                rest.next();
            }
            frame(&entry(ENTRY_UNSPOOLED, &[first, last]), &mut out);
        }
        let mut temporary = self.path.clone().into_os_string();
        temporary.push(".tmp");
        let temporary = PathBuf::from(temporary);
        let path = self.path.clone();
        let mut file = File::create(&temporary).map_err(|e| io_error(&temporary, "cannot create", e))?;
        if let Some(e) = crate::testing::spool_fault(&path) {
            drop(file);
            let _ = std::fs::remove_file(&temporary);
            return Err(io_error(&temporary, "cannot write", e));
        }
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
        let written = match crate::testing::spool_fault(&path) {
            Some(e) => Err(e),
            None => self.file.write_all(bytes),
        };
        if let Err(e) = written {
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

/// Takes the spool's lock (`<path>.lock`, created if missing) for as long as the returned file
/// stays open.
fn lock(path: &Path) -> Result<File> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(|e| io_error(&lock_path, "cannot open the lock file", e))?;
    #[cfg(unix)]
    {
        use std::os::unix::io::AsRawFd;
        // SAFETY: flock on a descriptor this function owns; LOCK_NB never blocks.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return fail(
                    Status::SpoolLocked,
                    format!(
                        "telemetry spool {} is in use by another telemetry handle (in this process or another): \
                         one handle per spool file; free the other, or give this one its own spool_path",
                        path.display()
                    ),
                );
            }
            return Err(io_error(&lock_path, "cannot lock", e));
        }
    }
    Ok(file)
}

fn frame(payload: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// One valid entry, decoded.
// Each entry is consumed as soon as it is read, never stored in bulk: a record inline costs
// nothing that boxing it (an allocation per record) would save.
#[allow(clippy::large_enum_variant)]
enum Entry {
    Record(TelemetryRecord),
    /// "Batch formed".
    Batch(OpenBatch),
    /// "Batch answered" (OK or DROP): records `first..=last` of batch `id` are done.
    Ack {
        id: u64,
        first: u64,
        last: u64,
    },
    Watermark {
        next_seq: u64,
        next_batch_id: u64,
    },
    /// Records `first..=last` were live but not written when the file was compacted.
    Unspooled {
        first: u64,
        last: u64,
    },
}

/// The entry at `at` and the offset just after it, when one is there: a length in range, the
/// whole payload present, its CRC-32, a known type whose contents have the right shape.
fn entry_at(bytes: &[u8], at: usize) -> Option<(Entry, usize)> {
    let head = bytes.get(at..at + ENTRY_OVERHEAD as usize)?;
    let len = u32::from_le_bytes(head[..4].try_into().expect("4 bytes"));
    let crc = u32::from_le_bytes(head[4..].try_into().expect("4 bytes"));
    if len == 0 || len > MAX_PAYLOAD {
        return None;
    }
    let start = at + ENTRY_OVERHEAD as usize;
    let payload = bytes.get(start..start + len as usize)?;
    if crc32fast::hash(payload) != crc {
        return None;
    }
    let body = &payload[1..];
    let entry = match payload[0] {
        ENTRY_RECORD => Entry::Record(decode(body)?),
        ENTRY_BATCH if body.len() == 24 => {
            Entry::Batch(OpenBatch { id: u64_at(body, 0), first_seq: u64_at(body, 8), last_seq: u64_at(body, 16) })
        }
        ENTRY_ACK if body.len() == 25 => {
            Entry::Ack { id: u64_at(body, 0), first: u64_at(body, 8), last: u64_at(body, 16) }
        }
        ENTRY_WATERMARK if body.len() == 16 => {
            Entry::Watermark { next_seq: u64_at(body, 0), next_batch_id: u64_at(body, 8) }
        }
        ENTRY_UNSPOOLED if body.len() == 16 => Entry::Unspooled { first: u64_at(body, 0), last: u64_at(body, 8) },
        _ => return None,
    };
    Some((entry, start + len as usize))
}

/// Replays the entries after the header, resynchronising after damage; returns what is live and
/// where the valid part ends (the start of a torn tail, or the end of the file).
fn recover(bytes: &[u8]) -> (Recovered, u64) {
    let mut records = BTreeMap::new();
    // Sequence numbers live in memory only when the file was last compacted, less those acked since.
    let mut unspooled: Vec<(u64, u64)> = Vec::new();
    let mut open_batch = None;
    let (mut next_seq, mut next_batch_id) = (0u64, 0u64);
    let (mut corrupt_bytes, mut corrupt_regions) = (0u64, 0u64);
    let mut at = HEADER_BYTES as usize;
    let mut valid_end = at;
    while at < bytes.len() {
        let Some((entry, next)) = entry_at(bytes, at) else {
            // Damage or a torn tail: the next valid entry, if any, decides which.
            match (at + 1..bytes.len()).find(|&from| entry_at(bytes, from).is_some()) {
                Some(resume) => {
                    corrupt_bytes += (resume - at) as u64;
                    corrupt_regions += 1;
                    at = resume;
                    continue;
                }
                None => break,
            }
        };
        match entry {
            Entry::Record(record) => {
                next_seq = next_seq.max(record.seq.saturating_add(1));
                records.insert(record.seq, record);
            }
            Entry::Batch(batch) => {
                next_batch_id = next_batch_id.max(batch.id.saturating_add(1));
                // Its numbers are taken, whether or not its records made it into the file.
                next_seq = next_seq.max(batch.last_seq.saturating_add(1));
                open_batch = Some(batch);
            }
            Entry::Ack { id, first, last } => {
                // (A range backwards is no range: BTreeMap::range would panic on it.)
                let done: Vec<u64> =
                    if first <= last { records.range(first..=last).map(|(seq, _)| *seq).collect() } else { Vec::new() };
                for seq in done {
                    records.remove(&seq);
                }
                unspooled = subtract(&unspooled, first, last);
                if open_batch.is_some_and(|b: OpenBatch| b.id == id && b.first_seq == first) {
                    open_batch = None;
                }
                next_batch_id = next_batch_id.max(id.saturating_add(1));
                next_seq = next_seq.max(last.saturating_add(1));
            }
            Entry::Watermark { next_seq: seq, next_batch_id: batch_id } => {
                next_seq = next_seq.max(seq);
                next_batch_id = next_batch_id.max(batch_id);
            }
            Entry::Unspooled { first, last } if first <= last => {
                next_seq = next_seq.max(last.saturating_add(1));
                unspooled.push((first, last));
            }
            Entry::Unspooled { .. } => {}
        }
        at = next;
        valid_end = next;
    }
    let recovered = Recovered {
        records: records.into_values().collect(),
        open_batch,
        next_seq,
        next_batch_id,
        torn_bytes: (bytes.len() - valid_end) as u64,
        corrupt_bytes,
        corrupt_regions,
        truncated: false,
        lost_unspooled: unspooled
            .iter()
            .fold(0u64, |sum, (first, last)| sum.saturating_add((last - first).saturating_add(1))),
    };
    (recovered, valid_end as u64)
}

/// `ranges` (inclusive) without `first..=last`.
fn subtract(ranges: &[(u64, u64)], first: u64, last: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::with_capacity(ranges.len() + 1);
    for &(a, b) in ranges {
        if b < first || a > last {
            out.push((a, b));
            continue;
        }
        if a < first {
            out.push((a, first - 1));
        }
        if b > last {
            out.push((last + 1, b));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::record::{EventRecord, RecordBody};
    use super::*;
    use crate::events::{Event, EventKind};

    fn record(seq: u64) -> TelemetryRecord {
        let event = Event::new(EventKind::Swapped, 0, "1.0", "2.0", "hot swap");
        TelemetryRecord { seq, time_unix_ms: 1, body: RecordBody::Event(EventRecord::from_event(&event)) }
    }

    #[test]
    fn records_a_full_spool_cannot_hold_are_counted_lost_at_recovery_unless_acknowledged() {
        let dir = std::env::temp_dir().join(format!("mle-spool-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("full.spool");
        let records: Vec<TelemetryRecord> = (1..=200).map(record).collect();
        // Seq 150 is not live (acknowledged earlier): the runs written around it skip it.
        let live: Vec<&TelemetryRecord> = records.iter().filter(|r| r.seq != 150).collect();
        let written = {
            let (mut spool, _) = Spool::open(&path, 4096, false).unwrap();
            let written = spool.rewrite(201, 1, &live, None).unwrap();
            assert!(written > 10 && written < 100, "{written} of 199 fit in 4 KiB");
            // The host accepted a batch: the written records and 10 of those in memory only.
            spool.append_ack(1, 1, written as u64 + 10, Outcome::Sent).unwrap();
            written as u64
        };
        let (_, recovered) = Spool::open(&path, 1 << 20, false).unwrap();
        assert_eq!(recovered.lost_unspooled, 199 - written - 10, "the unacknowledged ones, 150 not among them");
        assert!(recovered.records.is_empty() && recovered.next_seq == 201);
        assert!(recovered.damage(&path).unwrap().contains("spool_max_bytes"));
        // Counted once: recovery rewrote the file without them.
        let (_, again) = Spool::open(&path, 1 << 20, false).unwrap();
        assert_eq!(again.lost_unspooled, 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn hostile_ranges_in_a_spool_are_refused_or_bounded_never_a_panic() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        let mut ack = entry(ENTRY_ACK, &[1, 50, 10]); // backwards
        ack.push(Outcome::Sent as u8);
        frame(&ack, &mut bytes);
        frame(&entry(ENTRY_UNSPOOLED, &[0, u64::MAX]), &mut bytes);
        frame(&entry(ENTRY_UNSPOOLED, &[5, 9]), &mut bytes);
        frame(&entry(ENTRY_BATCH, &[u64::MAX, 1, u64::MAX]), &mut bytes);
        let (recovered, _) = recover(&bytes);
        assert_eq!(recovered.lost_unspooled, u64::MAX, "saturated, not wrapped");
        assert_eq!((recovered.next_seq, recovered.next_batch_id), (u64::MAX, u64::MAX));
    }
}
