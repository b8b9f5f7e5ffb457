//! Codec micro-benchmark: what it costs to put result batches on the wire.
//!
//! Encodes and decodes `EdgeMessage::Results` frames of 1, 100 and 1,000 realistic results
//! (postcard via `frame::encode` and `FrameDecoder`, the path the session uses), side by side with
//! serde_json on the same batches. Criterion reports time and results/s per case; afterwards a
//! fixed-iteration pass timed with `Instant` prints one summary line per batch size plus the
//! postcard/JSON ratios, for `docs/benchmarks.md`.
//!
//! Run with `cargo bench --bench codec` (about 15 s).

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use criterion::{BenchmarkId, Criterion, Throughput};
use netpulse_protocol::{
    frame::{self, FrameDecoder},
    message::{EdgeMessage, ResultBatch},
    result::{CheckResult, CheckStatus, ErrorClass, ProbeError},
};

const BATCH_SIZES: [usize; 3] = [1, 100, 1_000];

/// Deterministic xorshift64*, so every run measures the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Results shaped like an HTTP probe's: timing-phase metrics, about 1 in 10 down with an error
/// and 1 in 30 degraded, monitor ids as the coordinator issues them.
fn realistic_results(n: usize) -> Vec<CheckResult> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let start_ms = 1_790_000_000_000i64;
    (0..n)
        .map(|i| {
            let roll = rng.below(30);
            let (status, error) = match roll {
                0..=2 => (
                    CheckStatus::Down,
                    Some(match roll {
                        0 => ProbeError {
                            class: ErrorClass::Timeout,
                            message: "no response within 10000 ms".into(),
                        },
                        1 => ProbeError {
                            class: ErrorClass::Refused,
                            message: "connect: connection refused (os error 111)".into(),
                        },
                        _ => ProbeError {
                            class: ErrorClass::Status,
                            message: "unexpected status 503, expected 2xx".into(),
                        },
                    }),
                ),
                3 => (CheckStatus::Degraded, None),
                _ => (CheckStatus::Up, None),
            };
            let dns = 200 + rng.below(3_000);
            let connect = 1_000 + rng.below(40_000);
            let tls = 5_000 + rng.below(60_000);
            let ttfb = 10_000 + rng.below(250_000);
            CheckResult {
                seq: 1_000_000 + i as u64,
                monitor_id: format!("mon_{:08x}", rng.next() as u32),
                revision: 1 + rng.below(20),
                checked_at_ms: start_ms + i as i64 * 37,
                status,
                duration_us: dns + connect + tls + ttfb,
                error,
                metrics: vec![
                    ("dns_us".into(), dns as f64),
                    ("connect_us".into(), connect as f64),
                    ("tls_us".into(), tls as f64),
                    ("ttfb_us".into(), ttfb as f64),
                ],
                detail: None,
                facts: Vec::new(),
                impaired: false,
            }
        })
        .collect()
}

fn batch(n: usize) -> EdgeMessage {
    EdgeMessage::Results(ResultBatch {
        results: realistic_results(n),
    })
}

fn postcard_encode(msg: &EdgeMessage) -> Vec<u8> {
    frame::encode(msg).expect("batch fits in a frame")
}

/// Decodes one frame the way a session does: push the bytes, take the message out.
fn postcard_decode(decoder: &mut FrameDecoder, bytes: &[u8]) -> EdgeMessage {
    decoder.push(bytes);
    decoder
        .next_frame()
        .expect("valid frame")
        .expect("whole frame")
}

fn json_encode(msg: &EdgeMessage) -> Vec<u8> {
    serde_json::to_vec(msg).expect("json encode")
}

fn json_decode(bytes: &[u8]) -> EdgeMessage {
    serde_json::from_slice(bytes).expect("json decode")
}

fn bench_codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec");
    for n in BATCH_SIZES {
        let msg = batch(n);
        let frame = postcard_encode(&msg);
        let json = json_encode(&msg);
        group.throughput(Throughput::Elements(n as u64));

        group.bench_with_input(BenchmarkId::new("postcard_encode", n), &msg, |b, msg| {
            b.iter(|| postcard_encode(black_box(msg)))
        });
        group.bench_with_input(
            BenchmarkId::new("postcard_decode", n),
            &frame,
            |b, frame| {
                let mut decoder = FrameDecoder::new();
                b.iter(|| postcard_decode(&mut decoder, black_box(frame)))
            },
        );
        group.bench_with_input(BenchmarkId::new("json_encode", n), &msg, |b, msg| {
            b.iter(|| json_encode(black_box(msg)))
        });
        group.bench_with_input(BenchmarkId::new("json_decode", n), &json, |b, json| {
            b.iter(|| json_decode(black_box(json)))
        });
    }
    group.finish();
}

/// Results per second for `iters` runs of `f` over a batch of `n`.
fn rate(n: usize, iters: u32, mut f: impl FnMut()) -> f64 {
    // Warm caches and the allocator first.
    for _ in 0..iters.div_ceil(10) {
        f();
    }
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    (n as f64 * f64::from(iters)) / start.elapsed().as_secs_f64()
}

fn human(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.2}M", rate / 1e6)
    } else if rate >= 1e3 {
        format!("{:.1}k", rate / 1e3)
    } else {
        format!("{rate:.0}")
    }
}

/// Fixed-iteration measurement printed as one greppable line per batch size.
fn print_summary(quick: bool) {
    println!();
    for n in BATCH_SIZES {
        let msg = batch(n);
        let frame = postcard_encode(&msg);
        let json = json_encode(&msg);
        // Both codecs must round-trip the batch, or the figures compare different work.
        assert_eq!(postcard_decode(&mut FrameDecoder::new(), &frame), msg);
        assert_eq!(json_decode(&json), msg);

        // About 200,000 results per measurement (a fraction of a second each in release).
        let iters = if quick {
            2
        } else {
            (200_000 / n as u32).max(50)
        };
        let enc = rate(n, iters, || {
            black_box(postcard_encode(black_box(&msg)));
        });
        let mut decoder = FrameDecoder::new();
        let dec = rate(n, iters, || {
            black_box(postcard_decode(&mut decoder, black_box(&frame)));
        });
        let json_enc = rate(n, iters, || {
            black_box(json_encode(black_box(&msg)));
        });
        let json_dec = rate(n, iters, || {
            black_box(json_decode(black_box(&json)));
        });
        let bytes = frame.len() as f64 / n as f64;
        let json_bytes = json.len() as f64 / n as f64;

        println!(
            "codec: batch={n} encode={} results/s decode={} results/s bytes/result={bytes:.1}",
            human(enc),
            human(dec),
        );
        println!(
            "codec: batch={n} json encode={} results/s decode={} results/s bytes/result={json_bytes:.1}",
            human(json_enc),
            human(json_dec),
        );
        println!(
            "codec: batch={n} postcard/json encode={:.1}x decode={:.1}x size={:.2}x",
            enc / json_enc,
            dec / json_dec,
            bytes / json_bytes,
        );
    }
}

fn main() {
    // `cargo test --benches` passes `--test`: run everything once, quickly.
    let quick = std::env::args().any(|a| a == "--test");
    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_millis(700))
        .configure_from_args();
    bench_codec(&mut criterion);
    criterion.final_summary();
    print_summary(quick);
}
