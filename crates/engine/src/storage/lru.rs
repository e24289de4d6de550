//! A map within a byte budget that drops its least recently used entries first: the shape
//! of the store's caches of parsed footers ([`crate::storage::footers`]) and merged span
//! metrics cells ([`crate::storage::cells`]).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

/// Entries with their sizes in bytes, the least recently used dropped first past the budget.
#[derive(Debug)]
pub(crate) struct ByteLru<K, V> {
    budget: usize,
    entries: HashMap<K, Entry<V>>,
    bytes: usize,
    /// Advances at every use: an entry's `used` is its last use.
    clock: u64,
}

#[derive(Debug)]
struct Entry<V> {
    value: V,
    bytes: usize,
    used: u64,
}

impl<K: Hash + Eq + Clone, V: Clone> ByteLru<K, V> {
    pub(crate) fn new(budget: usize) -> ByteLru<K, V> {
        ByteLru {
            budget,
            entries: HashMap::new(),
            bytes: 0,
            clock: 0,
        }
    }

    /// The value of `key`, now its most recent use.
    pub(crate) fn get<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.clock += 1;
        let now = self.clock;
        let e = self.entries.get_mut(key)?;
        e.used = now;
        Some(e.value.clone())
    }

    /// Keeps `value` of `bytes` under `key` (replacing what was there), then drops the least
    /// recently used other entries until at most the budget is held; the new entry stays
    /// even when it alone is larger.
    pub(crate) fn insert(&mut self, key: K, value: V, bytes: usize) {
        self.clock += 1;
        let entry = Entry {
            value,
            bytes,
            used: self.clock,
        };
        if let Some(old) = self.entries.insert(key.clone(), entry) {
            self.bytes -= old.bytes;
        }
        self.bytes += bytes;
        while self.bytes > self.budget {
            let oldest = self
                .entries
                .iter()
                .filter(|(k, _)| **k != key)
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone());
            let Some(k) = oldest else { return };
            self.remove(&k);
        }
    }

    /// Drops the entry of `key`, if held.
    pub(crate) fn remove<Q>(&mut self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Some(old) = self.entries.remove(key) {
            self.bytes -= old.bytes;
        }
    }

    /// Whether `key` is held (not a use).
    #[cfg(test)]
    pub(crate) fn contains<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.contains_key(key)
    }

    /// Bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}
