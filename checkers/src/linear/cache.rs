//! The memo cache of the linearizability search: (linearized set key, state) pairs.
//!
//! Keys live in one arena and entries chain per hash bucket, so an insert allocates nothing but
//! amortized vector growth, and a lookup allocates nothing. Iteration order never reaches output.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// A small, fast, non-cryptographic hasher for the memo cache (keys are our own data; iteration
/// order of the cache never reaches output).
#[derive(Default)]
pub struct FxHasher(u64);
impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        // murmur3's fmix64, so that the low bits (the bucket) depend on every input bit.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(b));
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64)
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64)
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(i as u64)
    }
}
/// Passes an already mixed `u64` through.
#[derive(Default)]
pub struct IdentityHasher(u64);
impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {
        unreachable!("IdentityHasher only hashes u64")
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = i
    }
}

/// The memo cache of (linearized set, state) pairs. Keys live in one arena and entries chain per
/// hash bucket, so an insert allocates nothing but amortized vector growth.
pub(crate) struct Cache<S> {
    heads: HashMap<u64, u32, BuildHasherDefault<IdentityHasher>>,
    arena: Vec<u32>,
    /// (key start in arena, key length, state, next entry in the chain or u32::MAX)
    entries: Vec<(u32, u32, S, u32)>,
}

impl<S: Hash + Eq> Cache<S> {
    pub(crate) fn new() -> Self {
        Cache {
            heads: HashMap::default(),
            arena: Vec::new(),
            entries: Vec::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Inserts; returns false when the pair was already there.
    pub(crate) fn insert(&mut self, key: &[u32], state: S) -> bool {
        let mut h = FxHasher::default();
        for &k in key {
            h.write_u32(k);
        }
        state.hash(&mut h);
        let new = self.entries.len() as u32;
        let head = *self.heads.entry(h.finish()).or_insert(u32::MAX);
        let mut e = head;
        while e != u32::MAX {
            let (start, len, ref s, next) = self.entries[e as usize];
            if *s == state && self.arena[start as usize..(start + len) as usize] == *key {
                return false;
            }
            e = next;
        }
        let start = self.arena.len() as u32;
        self.arena.extend_from_slice(key);
        self.entries.push((start, key.len() as u32, state, head));
        self.heads.insert(h.finish(), new);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_detects_duplicates_exactly() {
        let mut c: Cache<u8> = Cache::new();
        assert!(c.insert(&[3, 1], 7));
        assert!(!c.insert(&[3, 1], 7));
        assert!(c.insert(&[3, 1], 8));
        assert!(c.insert(&[3], 7));
        assert_eq!(c.len(), 3);
    }
}
