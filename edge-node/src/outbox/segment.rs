//! On-disk format of the outbox: segment files of checksummed, sequence-numbered records.
//!
//! A segment is named after the sequence number of its first record, zero-padded so that name
//! order is sequence order (`00000000000000000042.seg`). Its records are consecutive: record `k`
//! of segment `N` carries sequence `N + k`. Each record is
//!
//! ```text
//! len: u32 LE | crc32: u32 LE | seq: u64 LE | payload: len bytes (postcard CheckResult)
//! ```
//!
//! with the CRC taken over `seq` and the payload. Because sequences are consecutive, a reader
//! can tell a torn tail (a header that is cut off, or a sequence that is not the next one, e.g.
//! zeroes after a crash) from a damaged record in the middle (right sequence, wrong CRC): the
//! first ends the segment, the second is skipped and reported.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Bytes before each record's payload.
pub const HEADER: usize = 16;

/// Largest payload accepted when reading. Results are a few hundred bytes (details are clipped
/// to 1 KiB); a larger length field is damage, not data.
pub const MAX_PAYLOAD: usize = 1 << 20;

/// File name suffix of segments.
const SUFFIX: &str = ".seg";

/// Path of the segment whose first sequence is `first`.
pub fn path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("{first:020}{SUFFIX}"))
}

/// The first sequence named by a segment file name, or `None` for other files.
pub fn parse_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SUFFIX)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Appends one record for `seq` to `buf`, encoding the payload with `encode` (which must only
/// append to the vector it is given).
pub fn append_record<E>(
    buf: &mut Vec<u8>,
    seq: u64,
    encode: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
) -> Result<(), E> {
    let start = buf.len();
    buf.extend_from_slice(&[0; HEADER]);
    encode(buf)?;
    let len = (buf.len() - start - HEADER) as u32;
    let mut crc = crc32fast::Hasher::new();
    crc.update(&seq.to_le_bytes());
    crc.update(&buf[start + HEADER..]);
    buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
    buf[start + 4..start + 8].copy_from_slice(&crc.finalize().to_le_bytes());
    buf[start + 8..start + 16].copy_from_slice(&seq.to_le_bytes());
    Ok(())
}

/// What the reader found at its position.
#[derive(Debug, PartialEq, Eq)]
pub enum Item {
    /// A whole record with a good checksum.
    Record {
        /// Its sequence number.
        seq: u64,
        /// Its payload.
        payload: Vec<u8>,
    },
    /// A record with the expected sequence and a plausible length whose checksum does not
    /// match: damaged in place. The reader has moved past it.
    Damaged {
        /// Its sequence number.
        seq: u64,
    },
    /// No further record: the end of the data, or a torn tail starting at `Reader::offset`.
    End,
}

/// Reads records of one segment sequentially from an offset, in large chunks so that a batch of
/// small records costs a few `pread` calls.
pub struct Reader<'a> {
    file: &'a File,
    /// File offset of the next record.
    offset: u64,
    /// Where the data ends (the segment's size as this process knows it).
    end: u64,
    /// Sequence the next record must carry.
    next_seq: u64,
    /// Bytes read ahead from `offset`, starting at `buf_pos`.
    buf: Vec<u8>,
    buf_pos: usize,
}

/// Bytes read ahead per `pread`.
const CHUNK: usize = 64 * 1024;

impl<'a> Reader<'a> {
    /// A reader of `file` from `offset` (a record boundary), expecting sequence `next_seq` there.
    pub fn new(file: &'a File, offset: u64, end: u64, next_seq: u64) -> Self {
        Reader {
            file,
            offset,
            end,
            next_seq,
            buf: Vec::new(),
            buf_pos: 0,
        }
    }

    /// File offset of the next record (or of the torn tail after `Item::End`).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Sequence the next record must carry.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Makes at least `n` bytes available from the current position; false if the segment ends
    /// first.
    fn fill(&mut self, n: usize) -> io::Result<bool> {
        let have = self.buf.len() - self.buf_pos;
        if have >= n {
            return Ok(true);
        }
        let left = self.end.saturating_sub(self.offset);
        if (n as u64) > left {
            return Ok(false);
        }
        let want = (n.max(CHUNK) as u64).min(left) as usize;
        self.buf.drain(..self.buf_pos);
        self.buf_pos = 0;
        let mut filled = self.buf.len();
        self.buf.resize(want, 0);
        while filled < want {
            let read = self
                .file
                .read_at(&mut self.buf[filled..], self.offset + filled as u64)?;
            if read == 0 {
                // The file is shorter than its recorded size (truncated underneath us).
                self.buf.truncate(filled);
                return Ok(filled >= n);
            }
            filled += read;
        }
        Ok(true)
    }

    /// The next item. I/O errors are returned as such; damage is reported as an item.
    pub fn next_item(&mut self) -> io::Result<Item> {
        if !self.fill(HEADER)? {
            return Ok(Item::End);
        }
        let h = &self.buf[self.buf_pos..self.buf_pos + HEADER];
        let field = |r: std::ops::Range<usize>| -> [u8; 8] {
            let mut out = [0u8; 8];
            out[..r.len()].copy_from_slice(&h[r]);
            out
        };
        let len = u64::from_le_bytes(field(0..4)) as usize;
        let crc = u64::from_le_bytes(field(4..8)) as u32;
        let seq = u64::from_le_bytes(field(8..16));
        if seq != self.next_seq || len > MAX_PAYLOAD || !self.fill(HEADER + len)? {
            return Ok(Item::End);
        }
        let body = &self.buf[self.buf_pos + HEADER..self.buf_pos + HEADER + len];
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&seq.to_le_bytes());
        hasher.update(body);
        let item = if hasher.finalize() == crc {
            Item::Record {
                seq,
                payload: body.to_vec(),
            }
        } else {
            Item::Damaged { seq }
        };
        self.buf_pos += HEADER + len;
        self.offset += (HEADER + len) as u64;
        self.next_seq += 1;
        Ok(item)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn records(seqs: std::ops::RangeInclusive<u64>) -> Vec<u8> {
        let mut buf = Vec::new();
        for seq in seqs {
            append_record(&mut buf, seq, |b| {
                b.extend_from_slice(format!("payload {seq}").as_bytes());
                Ok::<_, ()>(())
            })
            .unwrap();
        }
        buf
    }

    fn read_all(bytes: &[u8], first: u64) -> (Vec<Item>, u64) {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(bytes).unwrap();
        let mut r = Reader::new(&f, 0, bytes.len() as u64, first);
        let mut out = Vec::new();
        loop {
            match r.next_item().unwrap() {
                Item::End => return (out, r.offset()),
                item => out.push(item),
            }
        }
    }

    fn seqs(items: &[Item]) -> Vec<u64> {
        items
            .iter()
            .map(|i| match i {
                Item::Record { seq, .. } | Item::Damaged { seq } => *seq,
                Item::End => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn names_sort_in_sequence_order_and_parse_back() {
        let dir = Path::new("/x");
        let a = path(dir, 9);
        let b = path(dir, 10);
        assert!(a < b);
        let name = b.file_name().unwrap().to_str().unwrap();
        assert_eq!(parse_name(name), Some(10));
        assert_eq!(parse_name("00000000000000000010.tmp"), None);
        assert_eq!(parse_name("10.seg"), None);
        assert_eq!(parse_name("0000000000000000001x.seg"), None);
    }

    #[test]
    fn reads_back_what_was_appended() {
        let bytes = records(5..=9);
        let (items, end) = read_all(&bytes, 5);
        assert_eq!(seqs(&items), vec![5, 6, 7, 8, 9]);
        assert_eq!(end, bytes.len() as u64);
        assert_eq!(
            items[0],
            Item::Record {
                seq: 5,
                payload: b"payload 5".to_vec()
            }
        );
    }

    #[test]
    fn torn_tail_ends_the_segment_at_the_last_whole_record() {
        let whole = records(1..=3);
        let boundary = records(1..=2).len() as u64;
        for cut in [
            whole.len() - 1,
            boundary as usize + 5,
            boundary as usize + 16,
        ] {
            let (items, end) = read_all(&whole[..cut], 1);
            assert_eq!(seqs(&items), vec![1, 2], "cut at {cut}");
            assert_eq!(end, boundary, "cut at {cut}");
        }
        // Zeroes after the data (a crash after the file grew): not the next sequence.
        let mut zeroed = records(1..=2);
        zeroed.extend_from_slice(&[0; 64]);
        let (items, end) = read_all(&zeroed, 1);
        assert_eq!(seqs(&items), vec![1, 2]);
        assert_eq!(end, boundary);
    }

    #[test]
    fn damaged_payload_is_reported_and_skipped() {
        let mut bytes = records(1..=3);
        let second = records(1..=1).len();
        bytes[second + HEADER] ^= 0xff;
        let (items, _) = read_all(&bytes, 1);
        assert_eq!(seqs(&items), vec![1, 2, 3]);
        assert_eq!(items[1], Item::Damaged { seq: 2 });
        assert!(matches!(items[2], Item::Record { seq: 3, .. }));
    }

    #[test]
    fn absurd_length_is_not_trusted() {
        let mut bytes = records(1..=2);
        bytes[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        let (items, end) = read_all(&bytes, 1);
        assert!(items.is_empty());
        assert_eq!(end, 0);
    }

    #[test]
    fn records_larger_than_a_chunk_are_read_whole() {
        let mut bytes = Vec::new();
        for seq in 1..=3u64 {
            append_record(&mut bytes, seq, |b| {
                b.extend(std::iter::repeat_n(seq as u8, CHUNK + 100));
                Ok::<_, ()>(())
            })
            .unwrap();
        }
        let (items, end) = read_all(&bytes, 1);
        assert_eq!(seqs(&items), vec![1, 2, 3]);
        assert_eq!(end, bytes.len() as u64);
    }
}
