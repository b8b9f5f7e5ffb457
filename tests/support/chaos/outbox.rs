//! Reads an edge node's acknowledgement mark from its data directory, the node's own record of
//! what a coordinator acknowledged as committed (`edge-node/src/outbox/mod.rs`, `ACK_FILE`).

use std::path::Path;

/// The mark in `<data-dir>/outbox/acked`: sequence (u64 LE) then CRC-32 of those 8 bytes
/// (u32 LE). `0` while the file is missing or empty (nothing acknowledged yet).
///
/// The node rewrites the 12 bytes in place while we read, so a read whose CRC does not match is
/// retried; a mark that stays damaged is a finding, not noise.
pub fn acked(data_dir: &Path) -> u64 {
    let path = data_dir.join("outbox").join("acked");
    let mut last = Vec::new();
    for _ in 0..20 {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return 0,
            Err(e) => panic!("read {}: {e}", path.display()),
        };
        if bytes.is_empty() {
            return 0;
        }
        if bytes.len() >= 12 {
            let seq: [u8; 8] = bytes[..8].try_into().expect("8 bytes");
            let crc = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
            if crc32(&seq) == crc {
                return u64::from_le_bytes(seq);
            }
        }
        last = bytes;
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!(
        "{}: acknowledgement mark stays damaged: {last:?}",
        path.display()
    )
}

/// CRC-32 (IEEE, reflected), as `crc32fast` computes it; the root package has no CRC crate.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn crc32_matches_the_standard_check_value() {
    assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
}

#[test]
fn reads_a_mark_written_like_the_node_writes_it() {
    let dir = super::super::tempdir();
    assert_eq!(acked(dir.path()), 0);
    std::fs::create_dir_all(dir.path().join("outbox")).expect("mkdir");
    let mut mark = 4242u64.to_le_bytes().to_vec();
    mark.extend_from_slice(&crc32(&4242u64.to_le_bytes()).to_le_bytes());
    std::fs::write(dir.path().join("outbox/acked"), mark).expect("write");
    assert_eq!(acked(dir.path()), 4242);
}
