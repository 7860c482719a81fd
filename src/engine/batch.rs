//! The framing of one write (docs/FORMAT.md, "Batches"). A write that
//! stores one record appends that record as it is; a write that stores
//! more (MSET, EXEC, RENAME, COPY, a collection update) appends one
//! `FLAG_BATCH` record whose value holds every member record, each marked
//! `FLAG_IN_BATCH`. One checksum covers the whole batch, so after a crash
//! or damage recovery applies it whole or not at all (`scan.rs` yields the
//! members of a good batch and reports a bad one as one damaged stretch).
//!
//! Members are encoded without their checksums while the write is built
//! (the transaction reads its own values back from here); `frame` fixes
//! the flags and computes the checksums once, when the count is known.

use super::error::{Error, Result};
use super::format::*;
use super::record::{self, RecordHeader};

/// The records of one write, before framing.
#[derive(Debug)]
pub struct Batch {
    /// Room for the batch header, then the member records.
    buf: Vec<u8>,
    count: usize,
    /// Where the bytes to append start in `buf` once framed.
    start: usize,
}

impl Default for Batch {
    fn default() -> Self {
        Batch {
            buf: vec![0; REC_HEADER_LEN],
            count: 0,
            start: REC_HEADER_LEN,
        }
    }
}

impl Batch {
    /// Adds a record; returns the offset of the record in `bytes()`.
    pub fn push(&mut self, flags: u8, expires_at: u64, key: &[u8], value: &[u8]) -> usize {
        let at = self.buf.len();
        record::encode_unsealed(&mut self.buf, flags, expires_at, key, value);
        self.count += 1;
        at
    }

    /// Every byte held, header room included (offsets from `push` index it).
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// True when no record was pushed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Number of records pushed.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Fixes flags and checksums and returns the bytes to append: the lone
    /// record, or a batch record around all of them.
    ///
    /// # Errors
    /// `Error::TooLarge` when the members exceed `MAX_BATCH_LEN`; nothing
    /// is changed then.
    pub fn frame(&mut self) -> Result<&[u8]> {
        let members = self.buf.len() - REC_HEADER_LEN;
        if self.count > 1 && members > MAX_BATCH_LEN {
            return Err(Error::TooLarge {
                what: "write (all the records of one command or transaction)",
                len: members as u64,
                max: MAX_BATCH_LEN as u64,
            });
        }
        let mut at = REC_HEADER_LEN;
        while at < self.buf.len() {
            let h = RecordHeader::decode(&self.buf[at..]).expect("pushed records decode");
            let end = at + h.record_len() as usize;
            let rec = &mut self.buf[at..end];
            if self.count > 1 {
                rec[REC_FLAGS_AT] |= FLAG_IN_BATCH;
            }
            record::seal(rec);
            at = end;
        }
        if self.count > 1 {
            let head = &mut self.buf[..REC_HEADER_LEN];
            head[REC_FLAGS_AT] = FLAG_BATCH;
            head[REC_EXPIRES_AT..REC_EXPIRES_AT + 8].copy_from_slice(&0u64.to_le_bytes());
            head[REC_KEY_LEN_AT..REC_KEY_LEN_AT + 4].copy_from_slice(&0u32.to_le_bytes());
            head[REC_VALUE_LEN_AT..REC_VALUE_LEN_AT + 4]
                .copy_from_slice(&(members as u32).to_le_bytes());
            record::seal(&mut self.buf);
            self.start = 0;
        }
        Ok(&self.buf[self.start..])
    }

    /// The member records with their offsets in the framed bytes (valid
    /// after `frame`).
    pub fn members(&self) -> impl Iterator<Item = (usize, RecordHeader, &[u8])> {
        let base = REC_HEADER_LEN - self.start;
        let mut at = REC_HEADER_LEN;
        std::iter::from_fn(move || {
            if at >= self.buf.len() {
                return None;
            }
            let h = RecordHeader::decode(&self.buf[at..])?;
            let key_start = at + REC_HEADER_LEN;
            let key = &self.buf[key_start..key_start + h.key_len as usize];
            let offset = at - REC_HEADER_LEN + base;
            at += h.record_len() as usize;
            Some((offset, h, key))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::scan::{Item, Walker};

    fn walk(file: &[u8]) -> Vec<(u64, Vec<u8>, Vec<u8>)> {
        let mut w = Walker::new(file, file.len() as u64, 0, false, 64);
        let mut out = Vec::new();
        while let Some(item) = w.next().expect("memory reads") {
            match item {
                Item::Record(at, r) => out.push((at, r.key.to_vec(), r.value.to_vec())),
                Item::Damage { .. } => panic!("damage in a good batch"),
            }
        }
        out
    }

    #[test]
    fn a_lone_record_is_not_wrapped() {
        let mut b = Batch::default();
        b.push(0, 0, b"hi", b"yo");
        let framed = b.frame().expect("small").to_vec();
        let mut plain = Vec::new();
        record::encode_into(&mut plain, 0, 0, b"hi", b"yo");
        assert_eq!(framed, plain);
        assert_eq!(b.members().map(|(at, ..)| at).collect::<Vec<_>>(), [0]);
    }

    #[test]
    fn members_of_a_batch_walk_at_their_offsets() {
        let mut b = Batch::default();
        b.push(0, 0, b"a", b"1");
        b.push(0, 0, b"bb", b"22");
        b.push(FLAG_TOMBSTONE, 0, b"c", b"");
        let framed = b.frame().expect("small").to_vec();
        let walked = walk(&framed);
        let offsets: Vec<u64> = b.members().map(|(at, ..)| at as u64).collect();
        assert_eq!(walked.iter().map(|w| w.0).collect::<Vec<_>>(), offsets);
        assert_eq!(walked[1].1, b"bb");
        assert_eq!(walked[1].2, b"22");
        // Each member decodes alone at its offset, as a read does.
        for (at, ..) in b.members() {
            let r = record::decode(&framed[at..]).expect("member decodes");
            assert_ne!(r.header.flags & FLAG_IN_BATCH, 0);
        }
    }

    #[test]
    fn every_cut_of_a_batch_yields_no_member() {
        let mut b = Batch::default();
        b.push(0, 0, b"a", b"1");
        b.push(0, 0, b"b", b"2");
        let framed = b.frame().expect("small").to_vec();
        for cut in 1..framed.len() {
            let part = &framed[..cut];
            let mut w = Walker::new(part, cut as u64, 0, true, 64);
            while let Some(item) = w.next().expect("memory reads") {
                assert!(
                    matches!(item, Item::Damage { tail: true, .. }),
                    "cut at {cut} yielded {item:?}"
                );
            }
        }
    }

    /// The example batch in docs/FORMAT.md, byte for byte, and its members
    /// as the walk yields them.
    #[test]
    fn format_md_example_batch() {
        let mut b = Batch::default();
        b.push(0, 0, b"a", b"1");
        b.push(0, 0, b"b", b"2");
        let framed = b.frame().expect("small").to_vec();
        let hex: String = framed.iter().map(|b| format!("{b:02x}")).collect();
        let doc = include_str!("../../docs/FORMAT.md");
        let line = doc
            .lines()
            .find(|l| l.starts_with("example-batch-hex:"))
            .expect("FORMAT.md has an example-batch-hex line");
        assert_eq!(line.trim_start_matches("example-batch-hex:").trim(), hex);
        let walked = walk(&framed);
        assert_eq!(
            walked,
            [
                (21, b"a".to_vec(), b"1".to_vec()),
                (44, b"b".to_vec(), b"2".to_vec())
            ]
        );
    }
}
