//! The write-ahead log: numbered segment files of framed, checksummed records.
//!
//! A record is `[len: u32 LE][crc32(payload): u32 LE][payload]`; the payload is one Arrow IPC
//! stream holding one record batch of spans. A torn or corrupt tail (a crash mid-write) ends
//! replay of that segment and is cut off; it was never acknowledged, because acknowledgement
//! waits for the fsync that follows the write.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;

use crate::error::StoreError;

const HEADER: usize = 8;
const SUFFIX: &str = ".wal";

/// Encodes one batch as a WAL payload (an Arrow IPC stream).
pub fn encode_batch(batch: &RecordBatch) -> Result<Vec<u8>, StoreError> {
    let mut writer = StreamWriter::try_new(Vec::new(), &batch.schema())?;
    writer.write(batch)?;
    writer.finish()?;
    Ok(writer.into_inner()?)
}

/// Decodes a WAL payload back into its batches.
pub fn decode_batches(payload: &[u8]) -> Result<Vec<RecordBatch>, StoreError> {
    let reader = StreamReader::try_new(payload, None)?;
    Ok(reader.collect::<Result<Vec<_>, _>>()?)
}

/// Syncs a directory so that file creations and renames in it are durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
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
    /// Bytes of torn or corrupt tails that were cut off.
    pub truncated_bytes: u64,
}

/// The open log: appends go to the current segment.
pub struct Wal {
    dir: PathBuf,
    seq: u64,
    file: File,
    /// Bytes in segments not yet removed.
    bytes: u64,
}

impl Wal {
    /// Opens the log in `dir`: removes segments up to `flushed_seq` (their data is in parts),
    /// replays the rest, and starts a fresh segment after them.
    pub fn open(dir: &Path, flushed_seq: u64) -> Result<(Wal, Replayed), StoreError> {
        fs::create_dir_all(dir)?;
        let mut replayed = Replayed {
            batches: Vec::new(),
            bytes: 0,
            truncated_bytes: 0,
        };
        let segments = list_segments(dir)?;
        for &seq in &segments {
            let path = segment_path(dir, seq);
            if seq <= flushed_seq {
                fs::remove_file(&path)?;
                continue;
            }
            replay_segment(&path, &mut replayed)?;
        }
        let seq = segments.last().copied().unwrap_or(0).max(flushed_seq) + 1;
        let file = create_segment(dir, seq)?;
        Ok((
            Wal {
                dir: dir.to_path_buf(),
                seq,
                file,
                bytes: replayed.bytes,
            },
            replayed,
        ))
    }

    /// Appends one record (not yet durable: call [`Wal::sync`]).
    pub fn append(&mut self, payload: &[u8]) -> io::Result<()> {
        let len = u32::try_from(payload.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "WAL record over 4 GiB"))?;
        let mut header = [0u8; HEADER];
        header[..4].copy_from_slice(&len.to_le_bytes());
        header[4..].copy_from_slice(&crc32fast::hash(payload).to_le_bytes());
        self.file.write_all(&header)?;
        self.file.write_all(payload)?;
        self.bytes += (HEADER + payload.len()) as u64;
        Ok(())
    }

    /// Makes every appended record durable.
    pub fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }

    /// Seals the current segment and starts the next; returns the sealed segment's number.
    pub fn rotate(&mut self) -> io::Result<u64> {
        self.file.sync_data()?;
        let sealed = self.seq;
        self.file = create_segment(&self.dir, sealed + 1)?;
        self.seq = sealed + 1;
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

/// Reads every valid record of a segment; cuts off a torn or corrupt tail.
fn replay_segment(path: &Path, out: &mut Replayed) -> Result<(), StoreError> {
    let mut data = Vec::new();
    File::open(path)?.read_to_end(&mut data)?;
    let mut pos = 0usize;
    while pos + HEADER <= data.len() {
        let len =
            u32::from_le_bytes([data[pos], data[pos + 1], data[pos + 2], data[pos + 3]]) as usize;
        let crc = u32::from_le_bytes([data[pos + 4], data[pos + 5], data[pos + 6], data[pos + 7]]);
        let body = pos + HEADER;
        let Some(payload) = data.get(body..body + len) else {
            break;
        };
        if crc32fast::hash(payload) != crc {
            break;
        }
        match decode_batches(payload) {
            Ok(batches) => out.batches.extend(batches),
            Err(e) => {
                tracing::warn!(path = %path.display(), offset = pos, error = %e, "undecodable WAL record");
                break;
            }
        }
        pos = body + len;
    }
    out.bytes += pos as u64;
    if pos < data.len() {
        let cut = (data.len() - pos) as u64;
        tracing::warn!(path = %path.display(), offset = pos, bytes = cut, "cutting torn WAL tail (never acknowledged)");
        out.truncated_bytes += cut;
        let file = OpenOptions::new().write(true).open(path)?;
        file.set_len(pos as u64)?;
        file.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{batch_to_spans, spans_to_batch, tests::sample_span};

    fn payload(start: i64) -> Vec<u8> {
        encode_batch(&spans_to_batch(&[sample_span(1, 1, start)]).unwrap()).unwrap()
    }

    #[test]
    fn replays_records_and_cuts_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut wal, replayed) = Wal::open(dir.path(), 0).unwrap();
            assert!(replayed.batches.is_empty());
            wal.append(&payload(1)).unwrap();
            wal.append(&payload(2)).unwrap();
            wal.sync().unwrap();
            // A torn write: header and half a payload.
            let p = payload(3);
            wal.append(&p).unwrap();
            let len = wal.file.metadata().unwrap().len();
            wal.file.set_len(len - (p.len() as u64) / 2).unwrap();
        }
        let (_, replayed) = Wal::open(dir.path(), 0).unwrap();
        let starts: Vec<i64> = replayed
            .batches
            .iter()
            .flat_map(|b| batch_to_spans(b).unwrap())
            .map(|s| s.start_time_unix_nano)
            .collect();
        assert_eq!(starts, vec![1, 2]);
        assert!(replayed.truncated_bytes > 0);
        // The cut is permanent: a second open sees a clean log.
        let (_, again) = Wal::open(dir.path(), 0).unwrap();
        assert_eq!(again.batches.len(), 2);
        assert_eq!(again.truncated_bytes, 0);
    }

    #[test]
    fn corrupt_record_stops_replay_and_flushed_segments_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let first = {
            let (mut wal, _) = Wal::open(dir.path(), 0).unwrap();
            wal.append(&payload(1)).unwrap();
            let sealed = wal.rotate().unwrap();
            wal.append(&payload(2)).unwrap();
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
