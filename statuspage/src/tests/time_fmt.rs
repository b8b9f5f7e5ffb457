//! Time formatting, against known values and against `time`'s own parsers.

use time::format_description::well_known::{Rfc2822, Rfc3339};
use time::OffsetDateTime;

use super::fixture::{DAY, NOW, TODAY};
use crate::time_fmt::*;

#[test]
fn known_values() {
    assert_eq!(rfc3339_ms(NOW), "2026-12-03T21:32:41.123Z");
    assert_eq!(rfc2822(NOW), "Thu, 03 Dec 2026 21:32:41 +0000");
    assert_eq!(iso_date(NOW), "2026-12-03");
    assert_eq!(day_label(NOW), "3 Dec 2026");
    assert_eq!(minute_label(NOW), "3 Dec 2026, 21:32 UTC");
    assert_eq!(hour_minute(NOW), "21:32");
    assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(rfc2822(0), "Thu, 01 Jan 1970 00:00:00 +0000");
    // 2024 is a leap year.
    assert_eq!(iso_date(1_709_164_800_000), "2024-02-29");
}

#[test]
fn day_numbers_floor() {
    assert_eq!(day_number(TODAY) * DAY, TODAY);
    assert_eq!(day_number(NOW), day_number(TODAY));
    assert_eq!(day_number(TODAY - 1), day_number(TODAY) - 1);
    assert_eq!(day_number(-1), -1);
}

#[test]
fn out_of_range_times_are_clamped_not_failed() {
    assert_eq!(rfc3339_ms(-5), "1970-01-01T00:00:00.000Z");
    assert_eq!(rfc3339_ms(i64::MIN), "1970-01-01T00:00:00.000Z");
    assert_eq!(rfc3339_ms(i64::MAX), "9999-12-31T23:59:59.999Z");
    assert_eq!(rfc2822(i64::MAX), "Fri, 31 Dec 9999 23:59:59 +0000");
    assert_eq!(day_label(i64::MAX), "31 Dec 9999");
}

#[test]
fn agrees_with_time_parsers() {
    // A sweep over 1970–2100 with an odd step, so every field takes many values.
    let mut ms = 0_i64;
    while ms < 4_102_444_800_000 {
        let parsed = OffsetDateTime::parse(&rfc3339_ms(ms), &Rfc3339)
            .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64);
        assert_eq!(parsed.ok(), Some(ms), "{}", rfc3339_ms(ms));
        let parsed = OffsetDateTime::parse(&rfc2822(ms), &Rfc2822).map(|t| t.unix_timestamp());
        assert_eq!(parsed.ok(), Some(ms.div_euclid(1000)), "{}", rfc2822(ms));
        ms += 12_345_678_911;
    }
}
