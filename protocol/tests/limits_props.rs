//! Properties of the shared result limits, over results generated at, just below and beyond
//! every limit: whatever a probe produces, the edge's `fit` yields a result the coordinator's
//! `check` accepts, that encodes within `MAX_RESULT_BYTES`, and that says what it left out.

use netpulse_protocol::limits::{self, *};
use netpulse_protocol::result::{CheckResult, CheckStatus, ErrorClass, ProbeError};
use proptest::prelude::*;

/// A length or count around `limit`: well under, one under, at, one over, or far beyond.
fn around(limit: usize) -> impl Strategy<Value = usize> {
    prop_oneof![
        0..limit.min(8),
        Just(limit.saturating_sub(1)),
        Just(limit),
        Just(limit + 1),
        limit..limit * 2 + 2,
    ]
}

fn text(len: usize) -> String {
    // Multi-byte characters make clipping find character boundaries.
    "aé€"
        .chars()
        .cycle()
        .scan(0, |n, c| {
            *n += c.len_utf8();
            (*n <= len).then_some(c)
        })
        .collect()
}

fn result() -> impl Strategy<Value = CheckResult> {
    (
        1..=MAX_MONITOR_ID_LEN,
        around(MAX_METRICS),
        around(MAX_METRIC_NAME_LEN),
        around(MAX_FACTS),
        around(MAX_FACT_VALUE_LEN),
        proptest::option::of(around(MAX_DETAIL_LEN)),
        proptest::option::of(around(MAX_MESSAGE_LEN)),
        any::<bool>(),
    )
        .prop_map(
            |(id_len, metrics, name_len, facts, fact_len, detail, message, impaired)| CheckResult {
                seq: 1,
                monitor_id: "m".repeat(id_len),
                revision: 1,
                checked_at_ms: 1_790_000_000_000,
                status: if message.is_some() {
                    CheckStatus::Down
                } else {
                    CheckStatus::Up
                },
                duration_us: 1_000,
                error: message.map(|len| ProbeError {
                    class: ErrorClass::Protocol,
                    message: text(len),
                }),
                metrics: (0..metrics)
                    .map(|i| {
                        let suffix = format!(".{i}");
                        let pad = name_len.saturating_sub(suffix.len()).max(1);
                        (format!("{}{suffix}", "1".repeat(pad)), i as f64)
                    })
                    .collect(),
                detail: detail.map(text),
                facts: (0..facts)
                    .map(|i| (format!("fact{i}"), text(fact_len)))
                    .collect(),
                impaired,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn fit_always_yields_what_check_accepts(mut r in result()) {
        let fitted_before = limits::check(&r).is_ok();
        let original = r.clone();
        let note = limits::fit(&mut r);
        prop_assert_eq!(limits::check(&r), Ok(()));
        let bytes = postcard::to_allocvec(&r).expect("encode").len();
        prop_assert!(bytes <= MAX_RESULT_BYTES, "{} bytes", bytes);
        prop_assert!(limits::encoded_len_bound(&r) >= bytes);
        let marker = r.facts.iter().find(|(k, _)| k == TRUNCATED_FACT).map(|(_, v)| v.clone());
        match note {
            None => {
                prop_assert!(fitted_before, "a result over a limit came back unmarked");
                prop_assert_eq!(&r, &original);
                prop_assert_eq!(marker, None);
            }
            Some(note) => prop_assert_eq!(marker, Some(note)),
        }
    }

    #[test]
    fn check_refuses_exactly_what_breaks_a_limit(r in result()) {
        let breaks = r.monitor_id.len() > MAX_MONITOR_ID_LEN
            || r.metrics.len() > MAX_METRICS
            || r.metrics.iter().any(|(n, _)| n.len() > MAX_METRIC_NAME_LEN)
            || r.facts.len() > MAX_FACTS
            || r.facts.iter().any(|(k, v)| k.len() > MAX_FACT_NAME_LEN || v.len() > MAX_FACT_VALUE_LEN)
            || r.detail.as_ref().is_some_and(|d| d.len() > MAX_DETAIL_LEN)
            || r.error.as_ref().is_some_and(|e| e.message.len() > MAX_MESSAGE_LEN)
            || limits::encoded_len_bound(&r) > MAX_RESULT_BYTES;
        prop_assert_eq!(limits::check(&r).is_err(), breaks);
    }
}
