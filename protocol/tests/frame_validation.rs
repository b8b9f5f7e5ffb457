//! Frame codec against good and hostile input, without a network.
//!
//! Every message variant must survive `encode` + `FrameDecoder` however the bytes are chunked,
//! and every malformed stream must end in a typed error: never a panic, never unbounded buffering.

use std::collections::BTreeMap;

use netpulse_protocol::{
    check::{CheckSpec, HttpSpec, ProbeSpec, StatusMatch, TcpSpec},
    frame::{self, decode_body, FrameDecoder, FrameError, MAX_FRAME_LEN, PROTOCOL_VERSION},
    message::{
        ClusterView, CoordinatorMessage, EdgeMessage, Enrol, Enrolled, Hello, ResultBatch,
        TimedResultBatch, WireError, WireErrorCode,
    },
    result::{CheckResult, CheckStatus, ErrorClass, ProbeError},
};
use serde::{de::DeserializeOwned, Serialize};

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// Small deterministic PRNG (xorshift64*), so failures reproduce without a `rand` dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-enough value in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

fn result(seq: u64, up: bool) -> CheckResult {
    CheckResult {
        seq,
        monitor_id: format!("mon_{seq:08x}"),
        revision: 3,
        checked_at_ms: 1_790_000_000_000 + seq as i64,
        status: if up {
            CheckStatus::Up
        } else {
            CheckStatus::Down
        },
        duration_us: 12_345,
        error: (!up).then(|| ProbeError {
            class: ErrorClass::Timeout,
            message: "no response within 10s".into(),
        }),
        metrics: vec![("dns_us".into(), 812.0), ("connect_us".into(), 1_904.5)],
        detail: Some("answers: 192.0.2.1".into()),
        facts: vec![("ssh_host_key".into(), "SHA256:abc".into())],

        impaired: false,
    }
}

fn http_check() -> CheckSpec {
    CheckSpec {
        monitor_id: "mon_http".into(),
        revision: 7,
        interval_ms: 30_000,
        timeout_ms: 10_000,
        probe: ProbeSpec::Http(HttpSpec {
            url: "https://example.com/health".into(),
            method: "GET".into(),
            headers: vec![("accept".into(), "application/json".into())],
            body: Some("{}".into()),
            expect_status: vec![StatusMatch::Code(200), StatusMatch::Class(3)],
            body_contains: Some("ok".into()),
            follow_redirects: true,
            insecure_skip_verify: false,
            body_regex: Some("v\\d+".into()),
            json_path: Some("$.status".into()),
            json_equals: Some("\"ok\"".into()),
            json_contains: None,
            ca_pem: None,
        }),
    }
}

fn tcp_check() -> CheckSpec {
    CheckSpec {
        monitor_id: "mon_tcp".into(),
        revision: 1,
        interval_ms: 60_000,
        timeout_ms: 5_000,
        probe: ProbeSpec::Tcp(TcpSpec {
            host: "db.internal".into(),
            port: 5432,
            ..Default::default()
        }),
    }
}

/// Index of the variant; exhaustive on purpose so a new variant breaks the build until it has a
/// sample below.
fn edge_variant(m: &EdgeMessage) -> usize {
    match m {
        EdgeMessage::Enrol(_) => 0,
        EdgeMessage::Hello(_) => 1,
        EdgeMessage::Results(_) => 2,
        EdgeMessage::Heartbeat { .. } => 3,
        EdgeMessage::TimedResults(_) => 4,
    }
}
const EDGE_VARIANTS: usize = 5;

/// See [`edge_variant`].
fn coordinator_variant(m: &CoordinatorMessage) -> usize {
    match m {
        CoordinatorMessage::Enrolled(_) => 0,
        CoordinatorMessage::Welcome { .. } => 1,
        CoordinatorMessage::AssignmentFull { .. } => 2,
        CoordinatorMessage::AssignmentDelta { .. } => 3,
        CoordinatorMessage::Ack { .. } => 4,
        CoordinatorMessage::HeartbeatAck => 5,
        CoordinatorMessage::Error(_) => 6,
        CoordinatorMessage::Cluster(_) => 7,
    }
}
const COORDINATOR_VARIANTS: usize = 8;

fn edge_samples() -> Vec<EdgeMessage> {
    let mut labels = BTreeMap::new();
    labels.insert("provider".to_string(), "hetzner".to_string());
    labels.insert("dc".to_string(), "fsn1".to_string());
    vec![
        EdgeMessage::Enrol(Enrol {
            token: "np1.secret.fingerprint".into(),
            csr_der: (0..=255).collect(),
            region: "eu-central".into(),
        }),
        EdgeMessage::Hello(Hello {
            node_id: "node_01".into(),
            region: "eu-central".into(),
            labels,
            version: "0.1.0".into(),
        }),
        EdgeMessage::Results(ResultBatch { results: vec![] }),
        EdgeMessage::Results(ResultBatch {
            results: (1..=50).map(|s| result(s, s % 7 != 0)).collect(),
        }),
        EdgeMessage::Heartbeat {
            now_ms: 1_790_000_000_123,
        },
        EdgeMessage::Heartbeat { now_ms: -1 },
        EdgeMessage::TimedResults(TimedResultBatch {
            sent_at_ms: 1_790_000_000_500,
            results: (51..=60).map(|s| result(s, true)).collect(),
        }),
    ]
}

fn coordinator_samples() -> Vec<CoordinatorMessage> {
    vec![
        CoordinatorMessage::Enrolled(Enrolled {
            node_id: "node_01".into(),
            cert_der: vec![0x30, 0x82, 0x01, 0x0a],
            ca_der: vec![0xff; 300],
        }),
        CoordinatorMessage::Welcome {
            heartbeat_interval_ms: 5_000,
            committed_seq: u64::MAX,
        },
        CoordinatorMessage::AssignmentFull {
            checks: vec![http_check(), tcp_check()],
        },
        CoordinatorMessage::AssignmentFull { checks: vec![] },
        CoordinatorMessage::AssignmentDelta {
            upsert: vec![tcp_check()],
            remove: vec!["mon_gone".into(), String::new()],
        },
        CoordinatorMessage::Ack { up_to_seq: 42 },
        CoordinatorMessage::HeartbeatAck,
        CoordinatorMessage::Error(WireError {
            code: WireErrorCode::InvalidToken,
            message: "token expired".into(),
        }),
        CoordinatorMessage::Error(WireError {
            code: WireErrorCode::Unavailable,
            message: "no leader".into(),
        }),
        CoordinatorMessage::Cluster(ClusterView {
            members: vec!["10.0.0.1:7400".into(), "10.0.0.2:7400".into()],
            leader: Some("10.0.0.2:7400".into()),
        }),
        CoordinatorMessage::Cluster(ClusterView {
            members: vec![],
            leader: None,
        }),
    ]
}

fn encode_all<T: Serialize>(msgs: &[T]) -> Vec<u8> {
    let mut stream = Vec::new();
    for m in msgs {
        stream.extend(frame::encode(m).expect("encode sample"));
    }
    stream
}

/// Feeds `stream` in chunks chosen by `next_chunk`, draining complete frames after every push.
fn decode_chunked<T: DeserializeOwned>(
    stream: &[u8],
    mut next_chunk: impl FnMut() -> usize,
) -> Vec<T> {
    let mut dec = FrameDecoder::new();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < stream.len() {
        let end = (pos + next_chunk().max(1)).min(stream.len());
        dec.push(&stream[pos..end]);
        pos = end;
        while let Some(m) = dec.next_frame::<T>().expect("valid stream") {
            out.push(m);
        }
    }
    assert_eq!(dec.buffered(), 0, "bytes left after the last whole frame");
    dec.finish().expect("clean end of stream");
    out
}

fn assert_roundtrips<T>(msgs: &[T])
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let stream = encode_all(msgs);

    let whole: Vec<T> = decode_chunked(&stream, || usize::MAX);
    assert_eq!(whole, msgs, "one chunk");

    let bytewise: Vec<T> = decode_chunked(&stream, || 1);
    assert_eq!(bytewise, msgs, "byte by byte");

    let mut rng = Rng::new(0x5eed);
    let random: Vec<T> = decode_chunked(&stream, || 1 + rng.below(97));
    assert_eq!(random, msgs, "random chunks");
}

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------

#[test]
fn samples_cover_every_variant() {
    let mut seen = [false; EDGE_VARIANTS];
    for m in edge_samples() {
        seen[edge_variant(&m)] = true;
    }
    assert!(
        seen.iter().all(|s| *s),
        "edge variants without a sample: {seen:?}"
    );

    let mut seen = [false; COORDINATOR_VARIANTS];
    for m in coordinator_samples() {
        seen[coordinator_variant(&m)] = true;
    }
    assert!(
        seen.iter().all(|s| *s),
        "coordinator variants without a sample: {seen:?}"
    );
}

#[test]
fn edge_messages_roundtrip_back_to_back() {
    assert_roundtrips(&edge_samples());
}

#[test]
fn coordinator_messages_roundtrip_back_to_back() {
    assert_roundtrips(&coordinator_samples());
}

#[test]
fn each_message_roundtrips_alone() {
    for m in edge_samples() {
        assert_roundtrips(std::slice::from_ref(&m));
    }
    for m in coordinator_samples() {
        assert_roundtrips(std::slice::from_ref(&m));
    }
}

#[test]
fn frame_layout_is_length_version_body() {
    let msg = EdgeMessage::Heartbeat { now_ms: 7 };
    let bytes = frame::encode(&msg).unwrap();
    let len = u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
    assert_eq!(
        len,
        bytes.len() - 4,
        "length prefix counts version and body"
    );
    assert_eq!(u16::from_be_bytes([bytes[4], bytes[5]]), PROTOCOL_VERSION);
    assert_eq!(decode_body::<EdgeMessage>(&bytes[4..]).unwrap(), msg);
}

/// Long streams make the decoder compact its buffer; nothing may be lost or reordered when it does.
#[test]
fn long_stream_survives_buffer_compaction() {
    let msgs: Vec<EdgeMessage> = (0..1000)
        .map(|i| {
            EdgeMessage::Results(ResultBatch {
                results: vec![result(i, i % 3 == 0); 4],
            })
        })
        .collect();
    let stream = encode_all(&msgs);
    assert!(
        stream.len() > 4 * 64 * 1024,
        "stream too short to exercise compaction"
    );
    let mut rng = Rng::new(99);
    let got: Vec<EdgeMessage> = decode_chunked(&stream, || 1 + rng.below(3000));
    assert_eq!(got, msgs);
}

/// A decoder hands out one frame per call and keeps later bytes for the next one.
#[test]
fn frames_are_returned_one_at_a_time() {
    let msgs = coordinator_samples();
    let mut dec = FrameDecoder::new();
    dec.push(&encode_all(&msgs));
    for (i, want) in msgs.iter().enumerate() {
        let got: CoordinatorMessage = dec.next_frame().unwrap().expect("frame available");
        assert_eq!(&got, want, "frame {i}");
    }
    assert_eq!(dec.next_frame::<CoordinatorMessage>().unwrap(), None);
    assert_eq!(dec.buffered(), 0);
}

// ---------------------------------------------------------------------------------------------
// Truncation
// ---------------------------------------------------------------------------------------------

#[test]
fn truncated_frame_is_reported_at_finish() {
    let bytes = frame::encode(&edge_samples()[3]).unwrap();
    for cut in 1..bytes.len() {
        let mut dec = FrameDecoder::new();
        dec.push(&bytes[..cut]);
        assert_eq!(
            dec.next_frame::<EdgeMessage>(),
            Ok(None),
            "cut at {cut} is incomplete"
        );
        assert_eq!(
            dec.finish(),
            Err(FrameError::Truncated(cut)),
            "cut at {cut}"
        );
    }
}

#[test]
fn truncated_after_whole_frames_reports_only_the_tail() {
    let msgs = edge_samples();
    let mut stream = encode_all(&msgs);
    let last = frame::encode(&EdgeMessage::Heartbeat { now_ms: 5 }).unwrap();
    stream.extend_from_slice(&last[..last.len() - 1]);

    let mut dec = FrameDecoder::new();
    dec.push(&stream);
    let mut got = Vec::new();
    while let Some(m) = dec.next_frame::<EdgeMessage>().unwrap() {
        got.push(m);
    }
    assert_eq!(got, msgs);
    assert_eq!(dec.finish(), Err(FrameError::Truncated(last.len() - 1)));
}

#[test]
fn empty_stream_finishes_cleanly() {
    let dec = FrameDecoder::new();
    assert_eq!(dec.finish(), Ok(()));
}

// ---------------------------------------------------------------------------------------------
// Size limits
// ---------------------------------------------------------------------------------------------

#[test]
fn oversized_length_prefix_is_rejected_before_buffering() {
    for len in [MAX_FRAME_LEN as u32 + 1, 64 * 1024 * 1024, u32::MAX] {
        let mut dec = FrameDecoder::new();
        dec.push(&len.to_be_bytes());
        assert_eq!(
            dec.next_frame::<EdgeMessage>(),
            Err(FrameError::TooLarge {
                len: len as usize,
                max: MAX_FRAME_LEN
            }),
            "prefix {len}"
        );
        // Only the prefix is held: the decoder did not wait for (or reserve) the claimed size.
        assert_eq!(dec.buffered(), 4);
    }
}

#[test]
fn oversized_prefix_is_rejected_after_valid_frames() {
    let mut stream = frame::encode(&EdgeMessage::Heartbeat { now_ms: 1 }).unwrap();
    stream.extend_from_slice(&u32::MAX.to_be_bytes());
    let mut dec = FrameDecoder::new();
    dec.push(&stream);
    assert_eq!(
        dec.next_frame(),
        Ok(Some(EdgeMessage::Heartbeat { now_ms: 1 }))
    );
    assert!(matches!(
        dec.next_frame::<EdgeMessage>(),
        Err(FrameError::TooLarge { .. })
    ));
}

/// An `Enrol` whose frame (version + body) is exactly `len` bytes long: tag, empty token,
/// 4-byte varint length of the CSR, the CSR, empty region.
fn enrol_with_frame_len(len: usize) -> EdgeMessage {
    let overhead = 2 + 1 + 1 + 4 + 1;
    EdgeMessage::Enrol(Enrol {
        token: String::new(),
        csr_der: vec![0xab; len - overhead],
        region: String::new(),
    })
}

#[test]
fn largest_allowed_frame_roundtrips_and_one_more_byte_does_not_encode() {
    let max = enrol_with_frame_len(MAX_FRAME_LEN);
    let bytes = frame::encode(&max).expect("frame of exactly MAX_FRAME_LEN");
    assert_eq!(bytes.len(), 4 + MAX_FRAME_LEN);
    let mut dec = FrameDecoder::new();
    dec.push(&bytes);
    assert_eq!(
        dec.next_frame::<EdgeMessage>().unwrap().as_ref(),
        Some(&max)
    );

    let over = enrol_with_frame_len(MAX_FRAME_LEN + 1);
    assert_eq!(
        frame::encode(&over),
        Err(FrameError::TooLarge {
            len: MAX_FRAME_LEN + 1,
            max: MAX_FRAME_LEN
        })
    );
}

/// Streams with their own limit (coordinator-to-coordinator bulk data) apply it on both sides.
#[test]
fn custom_limit_applies_to_encoder_and_decoder() {
    let msg = edge_samples()[3].clone();
    let bytes = frame::encode(&msg).unwrap();
    let len = bytes.len() - 4;

    assert_eq!(frame::encode_limited(&msg, len).as_ref(), Ok(&bytes));
    assert_eq!(
        frame::encode_limited(&msg, len - 1),
        Err(FrameError::TooLarge { len, max: len - 1 })
    );

    let mut dec = FrameDecoder::with_max(len - 1);
    dec.push(&bytes[..4]);
    assert_eq!(
        dec.next_frame::<EdgeMessage>(),
        Err(FrameError::TooLarge { len, max: len - 1 })
    );

    let mut dec = FrameDecoder::with_max(len);
    dec.push(&bytes);
    assert_eq!(dec.next_frame::<EdgeMessage>(), Ok(Some(msg)));

    // A larger limit waits for a frame the default one would refuse.
    let mut dec = FrameDecoder::with_max(2 * MAX_FRAME_LEN);
    dec.push(&(MAX_FRAME_LEN as u32 + 1).to_be_bytes());
    assert_eq!(dec.next_frame::<EdgeMessage>(), Ok(None));
}

// ---------------------------------------------------------------------------------------------
// Header errors
// ---------------------------------------------------------------------------------------------

#[test]
fn frame_too_short_for_version() {
    for body in [&[][..], &[0x00][..]] {
        let mut stream = (body.len() as u32).to_be_bytes().to_vec();
        stream.extend_from_slice(body);
        let mut dec = FrameDecoder::new();
        dec.push(&stream);
        assert_eq!(
            dec.next_frame::<EdgeMessage>(),
            Err(FrameError::TooShort(body.len()))
        );
        assert_eq!(
            decode_body::<EdgeMessage>(body),
            Err(FrameError::TooShort(body.len()))
        );
    }
}

#[test]
fn unsupported_version_is_rejected() {
    let good = frame::encode(&CoordinatorMessage::HeartbeatAck).unwrap();
    for version in [0u16, PROTOCOL_VERSION + 1, 0x0100, u16::MAX] {
        let mut bytes = good.clone();
        bytes[4..6].copy_from_slice(&version.to_be_bytes());
        let mut dec = FrameDecoder::new();
        dec.push(&bytes);
        assert_eq!(
            dec.next_frame::<CoordinatorMessage>(),
            Err(FrameError::UnsupportedVersion { got: version })
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Body errors
// ---------------------------------------------------------------------------------------------

/// A frame carrying `body` after a correct version field.
fn frame_with_body(body: &[u8]) -> Vec<u8> {
    let mut out = ((body.len() + 2) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    out.extend_from_slice(body);
    out
}

fn decode_one<T: DeserializeOwned>(frame: &[u8]) -> Result<Option<T>, FrameError> {
    let mut dec = FrameDecoder::new();
    dec.push(frame);
    dec.next_frame()
}

#[test]
fn unknown_variant_and_empty_body_are_malformed() {
    for body in [&[][..], &[0x7f][..], &[0xff, 0xff, 0xff][..]] {
        let res = decode_one::<EdgeMessage>(&frame_with_body(body));
        assert!(
            matches!(res, Err(FrameError::Malformed(_))),
            "body {body:02x?}: {res:?}"
        );
    }
    // Heartbeat whose varint never ends inside the frame.
    let res = decode_one::<EdgeMessage>(&frame_with_body(&[3, 0x80, 0x80]));
    assert!(matches!(res, Err(FrameError::Malformed(_))), "{res:?}");
    // A string claiming more bytes than the frame holds.
    let res = decode_one::<CoordinatorMessage>(&frame_with_body(&[6, 0, 0x7f, b'x']));
    assert!(matches!(res, Err(FrameError::Malformed(_))), "{res:?}");
}

/// The length prefix delimits the body exactly; bytes left over mean sender and receiver
/// disagree about the message, which must not be silently ignored.
#[test]
fn trailing_bytes_after_the_message_are_malformed() {
    let good = frame::encode(&EdgeMessage::Heartbeat { now_ms: 9 }).unwrap();
    let mut body = good[6..].to_vec();
    body.push(0);
    let res = decode_one::<EdgeMessage>(&frame_with_body(&body));
    assert!(matches!(res, Err(FrameError::Malformed(_))), "{res:?}");
}

// ---------------------------------------------------------------------------------------------
// Garbage
// ---------------------------------------------------------------------------------------------

#[derive(Default, Debug)]
struct Outcomes {
    ok: usize,
    incomplete: usize,
    malformed: usize,
    other_err: usize,
}

/// Drains `dec`; for every decoded message checks that re-encoding it is stable.
fn drain<T: Serialize + DeserializeOwned>(dec: &mut FrameDecoder, out: &mut Outcomes) {
    loop {
        match dec.next_frame::<T>() {
            Ok(Some(m)) => {
                out.ok += 1;
                let once = frame::encode(&m).expect("a decoded message re-encodes");
                let again: T = decode_one(&once).expect("re-decodes").expect("whole frame");
                assert_eq!(frame::encode(&again).unwrap(), once, "unstable re-encoding");
            }
            Ok(None) => {
                out.incomplete += 1;
                return;
            }
            Err(FrameError::Malformed(_)) => {
                out.malformed += 1;
                return;
            }
            Err(_) => {
                out.other_err += 1;
                return;
            }
        }
    }
}

fn garbage_run<T: Serialize + DeserializeOwned>(seed: u64) -> Outcomes {
    let mut rng = Rng::new(seed);
    let valid = match seed % 2 {
        0 => encode_all(&edge_samples()),
        _ => encode_all(&coordinator_samples()),
    };
    let mut out = Outcomes::default();
    for i in 0..10_000 {
        let bytes = match i % 3 {
            // Pure noise, including the length prefix.
            0 => {
                let len = rng.below(512);
                rng.bytes(len)
            }
            // Well-formed header, random body: exercises the body decoder.
            1 => {
                let len = rng.below(256);
                let body = rng.bytes(len);
                frame_with_body(&body)
            }
            // A valid stream with a few bytes flipped.
            _ => {
                let mut b = valid.clone();
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(b.len());
                    b[at] ^= 1 << rng.below(8);
                }
                b
            }
        };
        let mut dec = FrameDecoder::new();
        if i % 2 == 0 {
            dec.push(&bytes);
            drain::<T>(&mut dec, &mut out);
        } else {
            // Random chunking must not change anything either.
            let mut pos = 0;
            while pos < bytes.len() {
                let end = (pos + 1 + rng.below(64)).min(bytes.len());
                dec.push(&bytes[pos..end]);
                pos = end;
                drain::<T>(&mut dec, &mut out);
            }
        }
        let _ = dec.finish();
    }
    out
}

#[test]
fn garbage_never_panics_edge() {
    let out = garbage_run::<EdgeMessage>(0xdead_beef_0000);
    // The run must actually reach the body decoder and the success path, or it proves nothing.
    assert!(out.malformed > 1_000, "{out:?}");
    assert!(out.ok > 1_000, "{out:?}");
    assert!(out.other_err > 100, "{out:?}");
}

#[test]
fn garbage_never_panics_coordinator() {
    let out = garbage_run::<CoordinatorMessage>(0xdead_beef_0001);
    assert!(out.malformed > 1_000, "{out:?}");
    assert!(out.ok > 1_000, "{out:?}");
    assert!(out.other_err > 100, "{out:?}");
}
