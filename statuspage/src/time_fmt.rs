//! Unix milliseconds to the text forms the outputs need, always in UTC.
//!
//! `time` does the calendar arithmetic; the strings are assembled with `format!` so that
//! formatting cannot fail. `time`'s own RFC 3339 and RFC 2822 formatters return a `Result`
//! (they reject years outside 0–9999, or before 1900), which would make every feed and JSON
//! document fallible for the sake of timestamps NetPulse never produces. Instead, timestamps
//! are clamped to [`MIN_MS`]..=[`MAX_MS`] first: a corrupt value shows as 1970 or 9999 rather
//! than breaking a public page.

use time::{Duration, Month, OffsetDateTime, Weekday};

/// Earliest time shown: the Unix epoch. Nothing NetPulse records can predate it.
pub(crate) const MIN_MS: i64 = 0;
/// Latest time shown: 9999-12-31T23:59:59.999Z, the end of four-digit years.
pub(crate) const MAX_MS: i64 = 253_402_300_799_999;
/// Milliseconds in a UTC day (no leap seconds in Unix time).
pub(crate) const DAY_MS: i64 = 86_400_000;

/// The instant, clamped to the printable range.
fn utc(ms: i64) -> OffsetDateTime {
    // Cannot overflow: the clamped offset is inside `time`'s default range (years ±9999).
    OffsetDateTime::UNIX_EPOCH + Duration::milliseconds(ms.clamp(MIN_MS, MAX_MS))
}

fn month_abbr(m: Month) -> &'static str {
    match m {
        Month::January => "Jan",
        Month::February => "Feb",
        Month::March => "Mar",
        Month::April => "Apr",
        Month::May => "May",
        Month::June => "Jun",
        Month::July => "Jul",
        Month::August => "Aug",
        Month::September => "Sep",
        Month::October => "Oct",
        Month::November => "Nov",
        Month::December => "Dec",
    }
}

fn weekday_abbr(d: Weekday) -> &'static str {
    match d {
        Weekday::Monday => "Mon",
        Weekday::Tuesday => "Tue",
        Weekday::Wednesday => "Wed",
        Weekday::Thursday => "Thu",
        Weekday::Friday => "Fri",
        Weekday::Saturday => "Sat",
        Weekday::Sunday => "Sun",
    }
}

/// RFC 3339 with milliseconds, as Statuspage writes times: `2026-12-03T21:32:41.123Z`.
pub(crate) fn rfc3339_ms(ms: i64) -> String {
    let t = utc(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// RFC 2822 (RSS dates): `Thu, 03 Dec 2026 21:32:41 +0000`.
pub(crate) fn rfc2822(ms: i64) -> String {
    let t = utc(ms);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} +0000",
        weekday_abbr(t.weekday()),
        t.day(),
        month_abbr(t.month()),
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Calendar date: `2026-12-03` (the Statuspage `start_date`).
pub(crate) fn iso_date(ms: i64) -> String {
    let t = utc(ms);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// A day as visitors read it: `3 Dec 2026`.
pub(crate) fn day_label(ms: i64) -> String {
    let t = utc(ms);
    format!("{} {} {}", t.day(), month_abbr(t.month()), t.year())
}

/// A minute as visitors read it: `3 Dec 2026, 21:32 UTC`.
pub(crate) fn minute_label(ms: i64) -> String {
    let t = utc(ms);
    format!(
        "{} {} {}, {:02}:{:02} UTC",
        t.day(),
        month_abbr(t.month()),
        t.year(),
        t.hour(),
        t.minute()
    )
}

/// Time of day only: `21:32` (the end of a window that starts the same day).
pub(crate) fn hour_minute(ms: i64) -> String {
    let t = utc(ms);
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// Days since the epoch of the UTC day containing `ms` (floor, also before 1970).
pub(crate) fn day_number(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}
