//! A part's trace index: the sorted distinct trace ids of its rows, in the part's `.tidx`
//! file (16 bytes each, nothing else), and what a live part keeps of it in memory.
//!
//! A live part keeps every 64th id (a fence) and a 16-bit hash of each id, in the ids'
//! order: 2.25 bytes a trace instead of 16, and a lookup needs no I/O. The fence finds the
//! block of 64 ids a trace would be in, and the hashes of that block the positions that may
//! be it: a false positive (about one lookup in a thousand for a trace in the part's id
//! range) only makes the part be read for a trace it does not hold, whose rows are then
//! picked by their full id, so answers stay exact. Neither depends on how ids are made
//! (Zipkin's 64-bit ids padded with zeros, X-Ray's leading timestamps). The full ids are read
//! from the file when a compaction merges the part.

use std::fs;
use std::ops::Range;
use std::path::Path;

use twox_hash::XxHash64;

use crate::error::StoreError;

/// Bytes of a trace id in the file.
const ID_BYTES: usize = 16;
/// Ids per block of the fence.
const BLOCK: usize = 64;

/// What a live part keeps of its trace index (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct TraceLookup {
    /// The first id of each block of [`BLOCK`] ids.
    fence: Vec<[u8; 16]>,
    /// The hash of each id, in the ids' (sorted) order.
    hashes: Vec<u16>,
}

fn hash(id: &[u8; 16]) -> u16 {
    (XxHash64::oneshot(0, id) >> 48) as u16
}

impl TraceLookup {
    /// The lookup of `ids` (sorted, distinct).
    pub(crate) fn of(ids: &[[u8; 16]]) -> TraceLookup {
        TraceLookup {
            fence: ids.iter().step_by(BLOCK).copied().collect(),
            hashes: ids.iter().map(hash).collect(),
        }
    }

    /// Reads the lookup of the trace index file at `path`; a file that is not a whole
    /// number of ids is torn.
    pub(crate) fn open(path: &Path) -> Result<TraceLookup, StoreError> {
        Ok(TraceLookup::of(&read_ids(path)?))
    }

    /// Traces in the index.
    pub(crate) fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Bytes held in memory.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.fence.len() * ID_BYTES + self.hashes.len() * size_of::<u16>()
    }

    /// The positions of the block `id` would be in (empty when it sorts before every id).
    fn block(&self, id: &[u8; 16]) -> Range<usize> {
        match self
            .fence
            .partition_point(|first| first <= id)
            .checked_sub(1)
        {
            Some(b) => b * BLOCK..((b + 1) * BLOCK).min(self.hashes.len()),
            None => 0..0,
        }
    }

    /// Positions in the index that may be `id`.
    fn candidates(&self, id: &[u8; 16]) -> impl Iterator<Item = usize> + '_ {
        let h = hash(id);
        self.block(id).filter(move |&i| self.hashes[i] == h)
    }

    /// Whether the part may hold trace `id`.
    pub(crate) fn may_hold(&self, id: &[u8; 16]) -> bool {
        self.candidates(id).next().is_some()
    }

    /// Positions in the index that may be one of `traces`, ascending and distinct.
    pub(crate) fn positions(&self, traces: &[[u8; 16]]) -> Vec<usize> {
        let mut out: Vec<usize> = traces.iter().flat_map(|t| self.candidates(t)).collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// The full trace ids of the trace index file at `path`.
pub(crate) fn read_ids(path: &Path) -> Result<Vec<[u8; 16]>, StoreError> {
    let raw = fs::read(path)?;
    let (ids, rest) = raw.as_chunks::<ID_BYTES>();
    if !rest.is_empty() {
        return Err(StoreError::Corrupt(format!(
            "trace index {} is torn",
            path.display()
        )));
    }
    Ok(ids.to_vec())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    /// Sorted ids that share their first 12 bytes (Zipkin's padded 64-bit ids do more).
    fn ids(n: u32) -> Vec<[u8; 16]> {
        (0..n)
            .map(|i| {
                let mut id = [0; 16];
                id[12..].copy_from_slice(&(i * 2 + 1).to_be_bytes());
                id
            })
            .collect()
    }

    #[test]
    fn every_held_trace_is_found_at_its_position_and_others_rarely() {
        let held = ids(10_000);
        let lookup = TraceLookup::of(&held);
        assert_eq!(lookup.len(), 10_000);
        assert_eq!(lookup.memory_bytes(), 157 * 16 + 10_000 * 2);
        for (i, t) in held.iter().enumerate() {
            assert!(lookup.may_hold(t));
            assert!(lookup.positions(&[*t]).contains(&i), "{i}");
        }
        let absent: Vec<[u8; 16]> = ids(10_001)
            .iter()
            .map(|id| {
                let mut other = *id;
                other[15] -= 1;
                other
            })
            .collect();
        let false_positives = absent.iter().filter(|t| lookup.may_hold(t)).count();
        assert!(false_positives < 40, "{false_positives} of 10,001");
        let before_all = [0; 16];
        assert!(!lookup.may_hold(&before_all));
        assert!(lookup.positions(&[before_all]).is_empty());
        let some = [held[9_999], held[0], held[9_999], held[64]];
        let positions = lookup.positions(&some);
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
        for i in [0, 64, 9_999] {
            assert!(positions.contains(&i));
        }
        assert!(!TraceLookup::of(&[]).may_hold(&held[0]));
    }

    #[test]
    fn the_file_reads_back_and_a_torn_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1.tidx");
        let held = ids(100);
        fs::write(&path, held.concat()).unwrap();
        assert_eq!(read_ids(&path).unwrap(), held);
        assert_eq!(TraceLookup::open(&path).unwrap().len(), 100);
        fs::write(&path, &held.concat()[..20]).unwrap();
        assert!(matches!(
            TraceLookup::open(&path),
            Err(StoreError::Corrupt(m)) if m.contains("torn")
        ));
    }
}
