//! The write-ahead log: numbered segment files of framed, checksummed records.
//!
//! A record is `[len: u32 LE][crc32(payload): u32 LE][payload]`; the payload is one Arrow IPC
//! stream holding one record batch of rows. Only the newest segment's tail can be torn by a
//! crash (acknowledgement waits for the fsync that follows the write), so a bad record there
//! with nothing valid after it is cut off. Any other bad record — one followed by valid
//! records, or in a sealed segment — is corruption of acknowledged data: the log refuses to
//! open and says how to recover (`tracehouse check --repair`, which keeps every readable
//! record and moves the damaged segment aside).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;

use crate::error::{EngineResult, StoreError};
use crate::storage::sync_dir;

const HEADER: usize = 8;
const SUFFIX: &str = ".wal";

/// Encodes one batch as a WAL payload (an Arrow IPC stream), appended to `out`.
fn encode_batch(batch: &RecordBatch, out: &mut Vec<u8>) -> Result<(), StoreError> {
    let mut writer = StreamWriter::try_new(out, &batch.schema()).engine()?;
    writer.write(batch).engine()?;
    writer.finish().engine()
}

/// The capacity of the record buffer kept between appends; a larger one (a very large
/// batch) is given back after its append.
const KEPT_BUFFER: usize = 16 << 20;

/// Decodes a WAL payload back into its batches.
pub fn decode_batches(payload: &[u8]) -> Result<Vec<RecordBatch>, StoreError> {
    let reader = StreamReader::try_new(payload, None).engine()?;
    reader.collect::<Result<Vec<_>, _>>().engine()
}

/// Fills in the header (payload length and checksum) of a record whose payload follows
/// `HEADER` reserved bytes.
fn frame(record: &mut [u8]) -> io::Result<()> {
    let (header, payload) = record.split_at_mut(HEADER);
    let len = u32::try_from(payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "WAL record over 4 GiB"))?;
    header[..4].copy_from_slice(&len.to_le_bytes());
    header[4..].copy_from_slice(&crc32fast::hash(payload).to_le_bytes());
    Ok(())
}

fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}{SUFFIX}"))
}

/// Segment numbers present in `dir`, ascending.
fn list_segments(dir: &Path) -> io::Result<Vec<u64>> {
    let mut seqs: Vec<u64> = fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(SUFFIX))
                .and_then(|n| n.parse().ok())
        })
        .collect();
    seqs.sort_unstable();
    Ok(seqs)
}

/// Batches recovered from the log at open.
pub struct Replayed {
    /// Batches in log order.
    pub batches: Vec<RecordBatch>,
    /// Bytes of valid records read.
    pub bytes: u64,
    /// Bytes of the torn tail that was cut off.
    pub truncated_bytes: u64,
}

/// Damaged bytes inside a segment: a record that fails its length, checksum or decoding
/// check, up to the next record that passes them (or the end of the segment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Offset of the bad record.
    pub offset: usize,
    /// Offset of the next valid record, `None` when none follows.
    pub resumes_at: Option<usize>,
}

/// What reading one segment found: its valid records and its damaged stretches.
#[derive(Debug, Default)]
pub struct SegmentScan {
    /// `(offset, end)` of every valid record, in order.
    pub records: Vec<(usize, usize)>,
    /// Damaged stretches, in order.
    pub damage: Vec<Damage>,
}

impl SegmentScan {
    /// A torn tail: the only damage runs to the end of the segment. Only the last,
    /// unsynced write of the newest segment can be torn by a crash; a bad record followed by
    /// good ones, or anywhere in a sealed segment, is corruption of acknowledged data.
    pub fn torn_tail(&self) -> Option<usize> {
        match self.damage.as_slice() {
            [
                Damage {
                    offset,
                    resumes_at: None,
                },
            ] => Some(*offset),
            _ => None,
        }
    }

    /// Bytes in damaged stretches, of a segment `len` bytes long.
    pub fn damaged_bytes(&self, len: usize) -> usize {
        let stretch = |d: &Damage| d.resumes_at.unwrap_or(len) - d.offset;
        self.damage.iter().map(stretch).sum()
    }
}

/// The record at `pos` if it is whole, matches its checksum and decodes: `(payload range,
/// batches)`.
fn record_at(data: &[u8], pos: usize) -> Option<(std::ops::Range<usize>, Vec<RecordBatch>)> {
    let header = data.get(pos..pos.checked_add(HEADER)?)?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    let body = pos + HEADER;
    // An empty payload is never written (a batch encodes to an IPC stream), and zeroed
    // bytes (a file extended by a crash) would otherwise pass as empty records.
    if len == 0 {
        return None;
    }
    let payload = data.get(body..body.checked_add(len)?)?;
    // Cheap checks first, so that looking for the next record past damage does not
    // checksum megabytes at every offset: a payload opens with the IPC continuation marker
    // and the length of a schema message that fits in it.
    let opening = payload.get(..8)?;
    let schema_len = i32::from_le_bytes([opening[4], opening[5], opening[6], opening[7]]);
    if opening[..4] != [0xff; 4] || schema_len <= 0 || schema_len as usize > len - 8 {
        return None;
    }
    if crc32fast::hash(payload) != crc {
        return None;
    }
    let batches = decode_batches(payload).ok()?;
    Some((body..body + len, batches))
}

/// Reads every record of a segment's bytes; past a bad record, looks for the next valid
/// one byte by byte, so that damage in the middle is told apart from a torn tail.
pub fn scan_segment(data: &[u8], mut batches: impl FnMut(Vec<RecordBatch>)) -> SegmentScan {
    let mut scan = SegmentScan::default();
    let mut pos = 0usize;
    while pos < data.len() {
        if let Some((payload, decoded)) = record_at(data, pos) {
            scan.records.push((pos, payload.end));
            batches(decoded);
            pos = payload.end;
            continue;
        }
        let resumes_at = (pos + 1..data.len()).find(|&p| record_at(data, p).is_some());
        scan.damage.push(Damage {
            offset: pos,
            resumes_at,
        });
        match resumes_at {
            Some(next) => pos = next,
            None => break,
        }
    }
    scan
}

/// The open log: appends go to the current segment.
pub struct Wal {
    dir: PathBuf,
    seq: u64,
    file: File,
    /// Length of the current segment up to its last durable record.
    synced_len: u64,
    /// Length of the current segment including appends not yet synced.
    len: u64,
    /// Bytes in segments not yet removed.
    bytes: u64,
    /// The record being appended, reused so that appends do not allocate.
    record: Vec<u8>,
}

impl Wal {
    /// Opens the log in `dir`: removes segments up to `flushed_seq` (their data is in parts),
    /// replays the rest, cuts a torn tail off the newest one, and starts a fresh segment
    /// after them. Refuses to open (`StoreError::Corrupt`, naming the segment and offset)
    /// when a segment is damaged anywhere else: cutting it would drop acknowledged records.
    pub fn open(dir: &Path, flushed_seq: u64) -> Result<(Wal, Replayed), StoreError> {
        fs::create_dir_all(dir)?;
        let mut replayed = Replayed {
            batches: Vec::new(),
            bytes: 0,
            truncated_bytes: 0,
        };
        let segments = list_segments(dir)?;
        let newest = segments.last().copied();
        for &seq in &segments {
            let path = segment_path(dir, seq);
            if seq <= flushed_seq {
                fs::remove_file(&path)?;
                continue;
            }
            replay_segment(&path, Some(seq) == newest, &mut replayed)?;
        }
        let seq = newest.unwrap_or(0).max(flushed_seq) + 1;
        let file = create_segment(dir, seq)?;
        Ok((
            Wal {
                dir: dir.to_path_buf(),
                seq,
                file,
                synced_len: 0,
                len: 0,
                bytes: replayed.bytes,
                record: Vec::new(),
            },
            replayed,
        ))
    }

    /// Appends one batch as a record (not yet durable: call [`Wal::sync`]).
    pub fn append_batch(&mut self, batch: &RecordBatch) -> Result<(), StoreError> {
        let mut record = std::mem::take(&mut self.record);
        record.clear();
        record.resize(HEADER, 0);
        let written = encode_batch(batch, &mut record).and_then(|()| {
            frame(&mut record)?;
            Ok(self.write_record(&record)?)
        });
        if record.capacity() <= KEPT_BUFFER {
            self.record = record;
        }
        written
    }

    /// Writes a framed record.
    fn write_record(&mut self, record: &[u8]) -> io::Result<()> {
        // Whatever part of the record reached the file is cut by `recover`.
        self.len += record.len() as u64;
        self.file.write_all(record)?;
        self.bytes += record.len() as u64;
        Ok(())
    }

    /// Makes every appended record durable.
    pub fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()?;
        self.synced_len = self.len;
        Ok(())
    }

    /// After a failed append or sync (a full disk, say): cuts the segment back to its last
    /// durable record and syncs that, so the log holds exactly the acknowledged records and
    /// can take writes again. The unsynced records were never acknowledged.
    pub fn recover(&mut self) -> io::Result<()> {
        self.file.set_len(self.synced_len)?;
        self.file.sync_all()?;
        self.bytes = self.bytes.saturating_sub(self.len - self.synced_len);
        self.len = self.synced_len;
        Ok(())
    }

    /// Seals the current segment and starts the next; returns the sealed segment's number.
    pub fn rotate(&mut self) -> io::Result<u64> {
        self.sync()?;
        let sealed = self.seq;
        self.file = create_segment(&self.dir, sealed + 1)?;
        self.seq = sealed + 1;
        self.synced_len = 0;
        self.len = 0;
        Ok(sealed)
    }

    /// Removes sealed segments up to and including `seq` (their data is now in parts).
    pub fn remove_through(&mut self, seq: u64) -> io::Result<()> {
        for s in list_segments(&self.dir)? {
            if s <= seq && s < self.seq {
                let path = segment_path(&self.dir, s);
                let len = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                fs::remove_file(path)?;
                self.bytes = self.bytes.saturating_sub(len);
            }
        }
        Ok(())
    }

    /// Bytes in the log's segments.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

fn create_segment(dir: &Path, seq: u64) -> io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(segment_path(dir, seq))?;
    sync_dir(dir)?;
    Ok(file)
}

/// Reads every record of a segment; cuts off a torn tail of the newest segment and refuses
/// any other damage.
fn replay_segment(path: &Path, newest: bool, out: &mut Replayed) -> Result<(), StoreError> {
    let mut data = Vec::new();
    File::open(path)?.read_to_end(&mut data)?;
    let scan = scan_segment(&data, |b| out.batches.extend(b));
    let valid: usize = scan.records.iter().map(|(a, b)| b - a).sum();
    out.bytes += valid as u64;
    match (scan.torn_tail(), scan.damage.first()) {
        (_, None) => Ok(()),
        (Some(pos), _) if newest => {
            let cut = (data.len() - pos) as u64;
            tracing::warn!(path = %path.display(), offset = pos, bytes = cut, "cutting torn WAL tail (never acknowledged)");
            out.truncated_bytes += cut;
            let file = OpenOptions::new().write(true).open(path)?;
            file.set_len(pos as u64)?;
            file.sync_all()?;
            Ok(())
        }
        (_, Some(first)) => Err(StoreError::Corrupt(damage_message(path, &scan, first))),
    }
}

/// What [`salvage_segment`] did to one damaged segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Salvaged {
    /// Valid records kept in the segment.
    pub records: usize,
    /// Damaged bytes left out.
    pub damaged_bytes: usize,
    /// Where the original segment was moved.
    pub quarantined: PathBuf,
}

/// Repairs a damaged segment: the original is moved into `quarantine_dir` (kept for
/// inspection), and a segment of the same number holding every valid record takes its
/// place. `None` when the segment has no damage.
pub fn salvage_segment(path: &Path, quarantine_dir: &Path) -> Result<Option<Salvaged>, StoreError> {
    let data = fs::read(path)?;
    let scan = scan_segment(&data, |_| {});
    if scan.damage.is_empty() {
        return Ok(None);
    }
    fs::create_dir_all(quarantine_dir)?;
    let name = path
        .file_name()
        .ok_or_else(|| StoreError::Corrupt(format!("{} is not a segment", path.display())))?;
    let quarantined = quarantine_dir.join(name);
    fs::copy(path, &quarantined)?;
    File::open(&quarantined)?.sync_all()?;
    sync_dir(quarantine_dir)?;
    let tmp = path.with_extension("salvage");
    let mut out = File::create(&tmp)?;
    for &(start, end) in &scan.records {
        out.write_all(&data[start..end])?;
    }
    out.sync_all()?;
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(Some(Salvaged {
        records: scan.records.len(),
        damaged_bytes: scan.damaged_bytes(data.len()),
        quarantined,
    }))
}

/// Numbers and paths of the segments in `dir`, ascending (none when `dir` does not exist).
pub fn segment_paths(dir: &Path) -> Result<Vec<(u64, PathBuf)>, StoreError> {
    match list_segments(dir) {
        Ok(seqs) => Ok(seqs
            .into_iter()
            .map(|s| (s, segment_path(dir, s)))
            .collect()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

/// Says where a segment is damaged, what is at stake and how to recover.
fn damage_message(path: &Path, scan: &SegmentScan, first: &Damage) -> String {
    let after = scan
        .records
        .iter()
        .filter(|(start, _)| *start > first.offset)
        .count();
    let what = match first.resumes_at {
        Some(next) => format!(
            "{} damaged bytes at offset {}, followed by {after} valid records",
            next - first.offset,
            first.offset
        ),
        None => format!(
            "damaged from offset {} to its end, in a segment that was sealed",
            first.offset
        ),
    };
    format!(
        "WAL segment {} holds acknowledged records and is damaged ({what}); refusing to start rather than drop them. \
         Run `tracehouse check --repair DATA_DIR` to keep every readable record and move the damaged segment to DATA_DIR/quarantine/, \
         or restore the segment from a backup",
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::schema::{batch_to_spans, spans_to_batch, tests::sample_span};

    fn batch(start: i64) -> RecordBatch {
        spans_to_batch(&[sample_span(1, 1, start)]).unwrap()
    }

    #[test]
    fn replays_records_and_cuts_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut wal, replayed) = Wal::open(dir.path(), 0).unwrap();
            assert!(replayed.batches.is_empty());
            wal.append_batch(&batch(1)).unwrap();
            wal.append_batch(&batch(2)).unwrap();
            wal.sync().unwrap();
            // A torn write: header and half a payload.
            let before = wal.file.metadata().unwrap().len();
            wal.append_batch(&batch(3)).unwrap();
            let len = wal.file.metadata().unwrap().len();
            wal.file.set_len(len - (len - before) / 2).unwrap();
        }
        let (_, replayed) = Wal::open(dir.path(), 0).unwrap();
        assert_eq!(starts(&replayed), vec![1, 2]);
        assert!(replayed.truncated_bytes > 0);
        // The cut is permanent: a second open sees a clean log.
        let (_, again) = Wal::open(dir.path(), 0).unwrap();
        assert_eq!(again.batches.len(), 2);
        assert_eq!(again.truncated_bytes, 0);
    }

    /// A segment of `n` synced records with starts `1..=n`; returns the segment's path and
    /// the offset of each record.
    fn segment_of(dir: &Path, n: i64) -> (PathBuf, Vec<usize>) {
        let (mut wal, _) = Wal::open(dir, 0).unwrap();
        let mut offsets = Vec::new();
        for start in 1..=n {
            offsets.push(wal.len as usize);
            wal.append_batch(&batch(start)).unwrap();
        }
        wal.sync().unwrap();
        (segment_path(dir, wal.seq), offsets)
    }

    fn starts(replayed: &Replayed) -> Vec<i64> {
        replayed
            .batches
            .iter()
            .flat_map(|b| batch_to_spans(b).unwrap())
            .map(|s| s.start_time_unix_nano)
            .collect()
    }

    fn refused(dir: &Path) -> String {
        match Wal::open(dir, 0) {
            Err(StoreError::Corrupt(m)) => m,
            Err(e) => panic!("wrong error: {e}"),
            Ok(_) => panic!("a damaged log opened"),
        }
    }

    #[test]
    fn damage_followed_by_valid_records_refuses_to_open_and_salvage_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let (path, offsets) = segment_of(dir.path(), 100);
        let mut bytes = fs::read(&path).unwrap();
        bytes[offsets[3] + HEADER + 40] ^= 0x01;
        fs::write(&path, &bytes).unwrap();
        let message = refused(dir.path());
        assert!(
            message.contains("followed by 96 valid records"),
            "{message}"
        );
        assert!(message.contains("tracehouse check --repair"), "{message}");
        // Refusing touched nothing.
        assert_eq!(fs::read(&path).unwrap(), bytes);

        let quarantine = dir.path().join("quarantine");
        let salvaged = salvage_segment(&path, &quarantine).unwrap().unwrap();
        assert_eq!(salvaged.records, 99);
        assert_eq!(fs::read(&salvaged.quarantined).unwrap(), bytes);
        let (_, replayed) = Wal::open(dir.path(), 0).unwrap();
        let expected: Vec<i64> = (1..=100).filter(|s| *s != 4).collect();
        assert_eq!(starts(&replayed), expected);
    }

    #[test]
    fn garbage_in_the_first_length_field_refuses_to_open() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = segment_of(dir.path(), 100);
        let mut bytes = fs::read(&path).unwrap();
        bytes[..4].copy_from_slice(&0xdead_beef_u32.to_le_bytes());
        fs::write(&path, &bytes).unwrap();
        let message = refused(dir.path());
        assert!(
            message.contains("followed by 99 valid records"),
            "{message}"
        );
    }

    #[test]
    fn a_damaged_tail_of_a_sealed_segment_refuses_to_open() {
        let dir = tempfile::tempdir().unwrap();
        let sealed = {
            let (mut wal, _) = Wal::open(dir.path(), 0).unwrap();
            wal.append_batch(&batch(1)).unwrap();
            wal.append_batch(&batch(2)).unwrap();
            let sealed = wal.rotate().unwrap();
            wal.append_batch(&batch(3)).unwrap();
            wal.sync().unwrap();
            sealed
        };
        let path = segment_path(dir.path(), sealed);
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs::write(&path, &bytes).unwrap();
        assert!(refused(dir.path()).contains("sealed"));
    }

    #[test]
    fn a_zero_filled_tail_is_torn_and_cut() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = segment_of(dir.path(), 3);
        let mut bytes = fs::read(&path).unwrap();
        bytes.extend(std::iter::repeat_n(0u8, 4096));
        fs::write(&path, &bytes).unwrap();
        let (_, replayed) = Wal::open(dir.path(), 0).unwrap();
        assert_eq!(starts(&replayed), vec![1, 2, 3]);
        assert_eq!(replayed.truncated_bytes, 4096);
    }

    #[test]
    fn recover_cuts_unsynced_appends_so_writes_can_go_on() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut wal, _) = Wal::open(dir.path(), 0).unwrap();
            wal.append_batch(&batch(1)).unwrap();
            wal.sync().unwrap();
            // A write that failed half-way (a full disk): a torn record in the file.
            let before = wal.file.metadata().unwrap().len();
            wal.append_batch(&batch(2)).unwrap();
            let len = wal.file.metadata().unwrap().len();
            wal.file.set_len(len - (len - before) / 2).unwrap();
            wal.recover().unwrap();
            wal.append_batch(&batch(3)).unwrap();
            wal.sync().unwrap();
        }
        let (_, replayed) = Wal::open(dir.path(), 0).unwrap();
        assert_eq!(starts(&replayed), vec![1, 3]);
    }

    #[test]
    fn corrupt_record_stops_replay_and_flushed_segments_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let first = {
            let (mut wal, _) = Wal::open(dir.path(), 0).unwrap();
            wal.append_batch(&batch(1)).unwrap();
            let sealed = wal.rotate().unwrap();
            wal.append_batch(&batch(2)).unwrap();
            wal.sync().unwrap();
            sealed
        };
        // Flip a byte inside the second segment's payload.
        let second = segment_path(dir.path(), first + 1);
        let mut bytes = fs::read(&second).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs::write(&second, bytes).unwrap();
        let (_, replayed) = Wal::open(dir.path(), first).unwrap();
        assert!(
            replayed.batches.is_empty(),
            "segment 1 was flushed, segment 2 corrupt"
        );
        assert!(!segment_path(dir.path(), first).exists());
    }
}
