//! The in-RAM ordered index: key -> `Location` (file, offset, value length,
//! expiry). It owns no I/O and no locking; `Engine` wraps it in a lock.
//!
//! Density is the point of this module. Instead of one heap allocation per
//! key (a `BTreeMap<Vec<u8>, Location>` costs ~100 bytes per 16-byte key),
//! entries are packed back to back into sorted *chunks* of at most
//! `CHUNK_MAX` bytes, and a `BTreeMap` maps each chunk's lower-bound key to
//! the chunk. An entry is:
//!
//! ```text
//! varint(key_len << 1 | has_expiry) key file:u32 offset:u32 value_len:u32 [expires_at:u64]
//! ```
//!
//! so a 16-byte key without expiry costs 29 bytes plus its share of the
//! chunk's slack. Invariants: chunks are keyed by a lower bound (the first
//! chunk by the empty key, so every key has a chunk); all keys in a chunk
//! are >= its bound and < the next chunk's bound; entries in a chunk are
//! sorted; no chunk but the first is empty.

use std::collections::BTreeMap;
use std::ops::Bound;

/// Where a key's current record lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Data file id.
    pub file: u32,
    /// Offset of the record (not the value) inside the file.
    pub offset: u32,
    /// Length of the value in bytes.
    pub value_len: u32,
    /// Absolute expiry in ms since the epoch, 0 = none.
    pub expires_at: u64,
}

/// Chunks split when they grow past this many bytes.
const CHUNK_MAX: usize = 1024;
/// Chunks grow their allocation in steps of this many bytes, which bounds
/// the slack per chunk.
const GROW_STEP: usize = 128;
/// A chunk smaller than this tries to merge with its successor.
const CHUNK_MIN: usize = CHUNK_MAX / 4;
const FIXED_LEN: usize = 12;

/// The ordered key -> location map.
#[derive(Debug)]
pub struct Index {
    chunks: BTreeMap<Box<[u8]>, Vec<u8>>,
    len: usize,
    with_expiry: usize,
}

impl Default for Index {
    fn default() -> Self {
        Self::new()
    }
}

/// One decoded entry inside a chunk.
struct Entry<'a> {
    key: &'a [u8],
    loc: Location,
    len: usize,
}

fn read_varint(buf: &[u8]) -> (u64, usize) {
    let mut value = 0u64;
    let mut shift = 0;
    for (i, &b) in buf.iter().enumerate() {
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return (value, i + 1);
        }
        shift += 7;
    }
    (value, buf.len())
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Decodes the entry at `pos`. Chunks are only ever written by `encode`,
/// so their bytes are trusted.
fn entry_at(chunk: &[u8], pos: usize) -> Entry<'_> {
    let (tag, n) = read_varint(&chunk[pos..]);
    let key_len = (tag >> 1) as usize;
    let has_expiry = tag & 1 == 1;
    let key_start = pos + n;
    let fixed = key_start + key_len;
    let expires_at = if has_expiry {
        let mut e = [0u8; 8];
        e.copy_from_slice(&chunk[fixed + FIXED_LEN..fixed + FIXED_LEN + 8]);
        u64::from_le_bytes(e)
    } else {
        0
    };
    Entry {
        key: &chunk[key_start..fixed],
        loc: Location {
            file: u32_at(chunk, fixed),
            offset: u32_at(chunk, fixed + 4),
            value_len: u32_at(chunk, fixed + 8),
            expires_at,
        },
        len: n + key_len + FIXED_LEN + if has_expiry { 8 } else { 0 },
    }
}

fn encode(key: &[u8], loc: &Location) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 25);
    let has_expiry = loc.expires_at != 0;
    write_varint(&mut out, (key.len() as u64) << 1 | u64::from(has_expiry));
    out.extend_from_slice(key);
    out.extend_from_slice(&loc.file.to_le_bytes());
    out.extend_from_slice(&loc.offset.to_le_bytes());
    out.extend_from_slice(&loc.value_len.to_le_bytes());
    if has_expiry {
        out.extend_from_slice(&loc.expires_at.to_le_bytes());
    }
    out
}

/// Result of searching a chunk: the entry's position and length if found,
/// otherwise the position where it would be inserted.
enum Found {
    At(usize, usize, Location),
    Insert(usize),
}

fn search(chunk: &[u8], key: &[u8]) -> Found {
    let mut pos = 0;
    while pos < chunk.len() {
        // Decode only what the comparison needs: the tag and the key.
        let (tag, n) = read_varint(&chunk[pos..]);
        let key_len = (tag >> 1) as usize;
        let key_start = pos + n;
        let entry_key = &chunk[key_start..key_start + key_len];
        match entry_key.cmp(key) {
            std::cmp::Ordering::Less => {
                pos = key_start + key_len + FIXED_LEN + if tag & 1 == 1 { 8 } else { 0 };
            }
            std::cmp::Ordering::Equal => {
                let e = entry_at(chunk, pos);
                return Found::At(pos, e.len, e.loc);
            }
            std::cmp::Ordering::Greater => return Found::Insert(pos),
        }
    }
    Found::Insert(pos)
}

/// Entry start positions of a chunk, in order.
fn positions(chunk: &[u8]) -> Vec<usize> {
    let mut out = Vec::with_capacity(chunk.len() / 24 + 1);
    let mut pos = 0;
    while pos < chunk.len() {
        out.push(pos);
        pos += entry_at(chunk, pos).len;
    }
    out
}

fn splice(chunk: &mut Vec<u8>, at: usize, remove: usize, insert: &[u8]) {
    let new_len = chunk.len() - remove + insert.len();
    if new_len > chunk.capacity() {
        chunk.reserve_exact(new_len - chunk.len() + GROW_STEP);
    }
    chunk.splice(at..at + remove, insert.iter().copied());
}

fn owned(bytes: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(bytes.len());
    v.extend_from_slice(bytes);
    v
}

impl Index {
    /// An empty index.
    pub fn new() -> Self {
        let mut chunks = BTreeMap::new();
        chunks.insert(Box::<[u8]>::default(), Vec::new());
        Index {
            chunks,
            len: 0,
            with_expiry: 0,
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no keys.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of keys that carry an expiry.
    pub fn with_expiry(&self) -> usize {
        self.with_expiry
    }

    fn chunk_bound(&self, key: &[u8]) -> &[u8] {
        self.chunks
            .range::<[u8], _>((Bound::Unbounded, Bound::Included(key)))
            .next_back()
            .map(|(k, _)| &**k)
            .unwrap_or(&[])
    }

    /// The location of `key`, if present.
    pub fn get(&self, key: &[u8]) -> Option<Location> {
        let (_, chunk) = self
            .chunks
            .range::<[u8], _>((Bound::Unbounded, Bound::Included(key)))
            .next_back()?;
        match search(chunk, key) {
            Found::At(_, _, loc) => Some(loc),
            Found::Insert(_) => None,
        }
    }

    /// Inserts or replaces `key`; returns the previous location.
    pub fn insert(&mut self, key: &[u8], loc: Location) -> Option<Location> {
        let bound: Box<[u8]> = self.chunk_bound(key).into();
        let encoded = encode(key, &loc);
        let Some(chunk) = self.chunks.get_mut(&bound) else {
            return None; // unreachable: the empty bound always exists
        };
        let (old, at_end) = match search(chunk, key) {
            Found::At(pos, len, old) => {
                splice(chunk, pos, len, &encoded);
                (Some(old), false)
            }
            Found::Insert(pos) => {
                let at_end = pos == chunk.len();
                splice(chunk, pos, 0, &encoded);
                (None, at_end)
            }
        };
        match old {
            Some(o) if o.expires_at != 0 => self.with_expiry -= 1,
            Some(_) => {}
            None => self.len += 1,
        }
        if loc.expires_at != 0 {
            self.with_expiry += 1;
        }
        if chunk.len() > CHUNK_MAX {
            self.split(&bound, at_end);
        }
        old
    }

    /// Splits an oversized chunk. When the last insert went to the end (keys
    /// arriving in order), the new chunk holds only the last entry, so
    /// sequential loads leave full chunks behind instead of half-full ones.
    fn split(&mut self, bound: &[u8], appended: bool) {
        let Some(chunk) = self.chunks.get_mut(bound) else {
            return;
        };
        let pos = positions(chunk);
        if pos.len() < 2 {
            return;
        }
        let cut = if appended {
            pos[pos.len() - 1]
        } else {
            let half = chunk.len() / 2;
            pos.iter()
                .copied()
                .find(|&p| p >= half && p > 0)
                .unwrap_or(pos[pos.len() - 1])
        };
        let upper = owned(&chunk[cut..]);
        chunk.truncate(cut);
        chunk.shrink_to_fit();
        let upper_bound: Box<[u8]> = entry_at(&upper, 0).key.into();
        self.chunks.insert(upper_bound, upper);
    }

    /// Removes `key`; returns its location if it was present.
    pub fn remove(&mut self, key: &[u8]) -> Option<Location> {
        let bound: Box<[u8]> = self.chunk_bound(key).into();
        let chunk = self.chunks.get_mut(&bound)?;
        let Found::At(pos, len, old) = search(chunk, key) else {
            return None;
        };
        chunk.drain(pos..pos + len);
        self.len -= 1;
        if old.expires_at != 0 {
            self.with_expiry -= 1;
        }
        if chunk.len() < CHUNK_MIN {
            self.merge_small(&bound);
        }
        Some(old)
    }

    /// Removes `key` only if it still points at `expected` (so a background
    /// task never removes a version written after it looked).
    pub fn remove_if(&mut self, key: &[u8], expected: &Location) -> bool {
        if self.get(key).as_ref() == Some(expected) {
            self.remove(key);
            return true;
        }
        false
    }

    /// Folds a small chunk into its predecessor (or its successor into it),
    /// dropping empty chunks, so deletes give memory back.
    fn merge_small(&mut self, bound: &[u8]) {
        let len = self.chunks.get(bound).map_or(0, Vec::len);
        if len == 0 && !bound.is_empty() {
            self.chunks.remove(bound);
            return;
        }
        let next = self
            .chunks
            .range::<[u8], _>((Bound::Excluded(bound), Bound::Unbounded))
            .next()
            .map(|(k, v)| (k.clone(), v.len()));
        if let Some((next_bound, next_len)) = next {
            if len + next_len <= CHUNK_MAX {
                if let Some(next_chunk) = self.chunks.remove(&next_bound) {
                    if let Some(chunk) = self.chunks.get_mut(bound) {
                        chunk.reserve_exact(next_chunk.len());
                        chunk.extend_from_slice(&next_chunk);
                    }
                }
            }
        }
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        *self = Index::new();
    }

    /// Visits entries in key order (or reverse order) within the bounds,
    /// calling `f` until it returns false.
    pub fn walk(
        &self,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        reverse: bool,
        mut f: impl FnMut(&[u8], Location) -> bool,
    ) {
        let in_start = |k: &[u8]| match start {
            Bound::Included(s) => k >= s,
            Bound::Excluded(s) => k > s,
            Bound::Unbounded => true,
        };
        let in_end = |k: &[u8]| match end {
            Bound::Included(e) => k <= e,
            Bound::Excluded(e) => k < e,
            Bound::Unbounded => true,
        };
        if !reverse {
            let first = match start {
                Bound::Included(s) | Bound::Excluded(s) => self.chunk_bound(s),
                Bound::Unbounded => &[],
            };
            for (_, chunk) in self
                .chunks
                .range::<[u8], _>((Bound::Included(first), Bound::Unbounded))
            {
                let mut pos = 0;
                while pos < chunk.len() {
                    let e = entry_at(chunk, pos);
                    pos += e.len;
                    if !in_start(e.key) {
                        continue;
                    }
                    if !in_end(e.key) || !f(e.key, e.loc) {
                        return;
                    }
                }
            }
        } else {
            let last_bound = match end {
                Bound::Included(e) | Bound::Excluded(e) => Bound::Included(self.chunk_bound(e)),
                Bound::Unbounded => Bound::Unbounded,
            };
            for (_, chunk) in self
                .chunks
                .range::<[u8], _>((Bound::Unbounded, last_bound))
                .rev()
            {
                for &pos in positions(chunk).iter().rev() {
                    let e = entry_at(chunk, pos);
                    if !in_end(e.key) {
                        continue;
                    }
                    if !in_start(e.key) || !f(e.key, e.loc) {
                        return;
                    }
                }
            }
        }
    }

    /// Number of chunks (for tests and memory reports).
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn loc(n: u32, exp: u64) -> Location {
        Location {
            file: n,
            offset: n.wrapping_mul(7),
            value_len: n,
            expires_at: exp,
        }
    }

    fn collect(ix: &Index, s: Bound<&[u8]>, e: Bound<&[u8]>, rev: bool) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        ix.walk(s, e, rev, |k, _| {
            out.push(k.to_vec());
            true
        });
        out
    }

    #[test]
    fn sequential_load_keeps_chunks_full() {
        let mut ix = Index::new();
        for i in 0..100_000u32 {
            ix.insert(format!("key:{i:012}").as_bytes(), loc(i, 0));
        }
        assert_eq!(ix.len(), 100_000);
        // 29 bytes per entry: full 1 KiB chunks hold ~35 entries.
        assert!(
            ix.chunk_count() < 100_000 / 30,
            "{} chunks",
            ix.chunk_count()
        );
        assert_eq!(ix.get(b"key:000000050000"), Some(loc(50_000, 0)));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(Vec<u8>, u32, bool),
        Remove(Vec<u8>),
    }

    fn key() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop_oneof![Just(0u8), Just(0xffu8), 0u8..4, any::<u8>()],
            0..6,
        )
    }

    fn bound(b: u8, k: Vec<u8>) -> Bound<Vec<u8>> {
        match b % 3 {
            0 => Bound::Included(k),
            1 => Bound::Excluded(k),
            _ => Bound::Unbounded,
        }
    }

    fn as_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
        match b {
            Bound::Included(k) => Bound::Included(k.as_slice()),
            Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
            Bound::Unbounded => Bound::Unbounded,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn matches_btreemap(ops in prop::collection::vec(prop_oneof![
                (key(), any::<u32>(), any::<bool>()).prop_map(|(k, v, e)| Op::Insert(k, v, e)),
                key().prop_map(Op::Remove)], 1..600),
            ranges in prop::collection::vec((any::<u8>(), key(), any::<u8>(), key(), any::<bool>()), 1..10)) {
            let mut ix = Index::new();
            let mut model = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(k, v, e) => {
                        let l = loc(v, if e { u64::from(v) + 1 } else { 0 });
                        prop_assert_eq!(ix.insert(&k, l), model.insert(k, l));
                    }
                    Op::Remove(k) => prop_assert_eq!(ix.remove(&k), model.remove(&k)),
                }
            }
            prop_assert_eq!(ix.len(), model.len());
            prop_assert_eq!(ix.with_expiry(), model.values().filter(|l| l.expires_at != 0).count());
            for (k, l) in &model {
                prop_assert_eq!(ix.get(k), Some(*l));
            }
            for (sb, sk, eb, ek, rev) in ranges {
                let s = bound(sb, sk);
                let e = bound(eb, ek);
                let valid = match (&s, &e) {
                    (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => {
                        a < b || (a == b && matches!((&s, &e), (Bound::Included(_), Bound::Included(_))))
                    }
                    _ => true,
                };
                if !valid { continue; }
                let mut expect: Vec<Vec<u8>> = model.range((s.clone(), e.clone())).map(|(k, _)| k.clone()).collect();
                if rev { expect.reverse(); }
                prop_assert_eq!(collect(&ix, as_ref(&s), as_ref(&e), rev), expect);
            }
        }
    }

    #[test]
    fn big_chunks_split_with_large_keys() {
        let mut ix = Index::new();
        for i in 0..50u32 {
            let k = vec![i as u8; 5000];
            ix.insert(&k, loc(i, 0));
        }
        for i in 0..50u32 {
            assert_eq!(ix.get(&vec![i as u8; 5000]), Some(loc(i, 0)));
        }
        assert!(ix.chunk_count() >= 50);
    }
}
