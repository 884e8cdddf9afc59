//! Dates, durations, hex and JSON written for people.

use time::{OffsetDateTime, UtcOffset};

/// A date as `2026-05-01 14:03:12 UTC`.
pub fn utc(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    format!("{} UTC", plain(at))
}

/// A date in the given local offset, as `2026-05-01 23:03:12 (UTC+09:00)`.
pub fn local(at: OffsetDateTime, offset: UtcOffset) -> String {
    format!("{} ({})", plain(at.to_offset(offset)), offset_name(offset))
}

/// An offset as `UTC+09:00`.
pub fn offset_name(offset: UtcOffset) -> String {
    let (hours, minutes, _) = offset.as_hms();
    let sign = if offset.is_negative() { '-' } else { '+' };
    format!(
        "UTC{sign}{:02}:{:02}",
        hours.unsigned_abs(),
        minutes.unsigned_abs()
    )
}

fn plain(at: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// Unix seconds as a UTC date, or a note when they are outside the calendar.
pub fn unix_utc(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .map(utc)
        .unwrap_or_else(|_| format!("{seconds} (outside the calendar)"))
}

/// Unix seconds in the given local offset.
pub fn unix_local(seconds: i64, offset: UtcOffset) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .map(|at| local(at, offset))
        .unwrap_or_else(|_| format!("{seconds} (outside the calendar)"))
}

/// A length of time in the two largest units that matter: `3 days 4 h`, `59 min 12 s`,
/// `7 s`. Negative lengths are written as their absolute value.
pub fn duration_words(seconds: i64) -> String {
    let s = seconds.unsigned_abs();
    let (days, hours, minutes, secs) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    let unit = |n: u64, one: &str, many: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    if days > 0 {
        if hours > 0 {
            format!("{} {hours} h", unit(days, "day", "days"))
        } else {
            unit(days, "day", "days")
        }
    } else if hours > 0 {
        format!("{hours} h {minutes} min")
    } else if minutes > 0 {
        format!("{minutes} min {secs} s")
    } else {
        format!("{secs} s")
    }
}

/// `target` relative to `now` (both Unix seconds): `in 59 min 12 s`, `12 s ago`, `now`.
pub fn relative(target: i64, now: i64) -> String {
    let delta = target.saturating_sub(now);
    match delta {
        0 => "now".to_owned(),
        d if d > 0 => format!("in {}", duration_words(d)),
        d => format!("{} ago", duration_words(d)),
    }
}

/// Bytes as upper-case hex.
pub fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// JSON text pretty-printed with two-space indentation, or the parser's complaint.
pub fn pretty_json(bytes: &[u8]) -> Result<String, String> {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .map_err(|e| format!("not JSON: {e}"))
        .and_then(|value| pretty_value(&value))
}

/// A serialisable value pretty-printed as JSON.
pub fn pretty_value<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, String> {
    serde_json::to_string_pretty(value).map_err(|e| format!("cannot write JSON: {e}"))
}

/// A size against a limit: `19 of 4096 bytes (0.5 %)`.
pub fn size_against(size: usize, limit: usize) -> String {
    let percent = if limit == 0 {
        100.0
    } else {
        // Sizes here are far below 2^52, so the conversion is exact.
        size as f64 * 100.0 / limit as f64
    };
    format!("{size} of {limit} bytes ({percent:.1} %)")
}

/// The local offset of a browser, from `Date.getTimezoneOffset()` (minutes *behind* UTC,
/// so UTC+9 is -540). Anything out of range is taken as UTC.
pub fn offset_from_js_minutes(minutes_behind: f64) -> UtcOffset {
    if !minutes_behind.is_finite() || minutes_behind.abs() > 26.0 * 60.0 {
        return UtcOffset::UTC;
    }
    // Checked above: the value is finite and within ±1560, so it fits an i32.
    let seconds = -(minutes_behind.round() as i32) * 60;
    UtcOffset::from_whole_seconds(seconds).unwrap_or(UtcOffset::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, offset};

    #[test]
    fn dates_in_utc_and_local_time() {
        let at = datetime!(2026-05-01 14:03:12 UTC);
        assert_eq!(utc(at), "2026-05-01 14:03:12 UTC");
        assert_eq!(local(at, offset!(+9)), "2026-05-01 23:03:12 (UTC+09:00)");
        assert_eq!(local(at, offset!(-3:30)), "2026-05-01 10:33:12 (UTC-03:30)");
        assert_eq!(offset_name(offset!(+5:45)), "UTC+05:45");
        assert_eq!(unix_utc(0), "1970-01-01 00:00:00 UTC");
        assert!(unix_utc(i64::MAX).contains("outside the calendar"));
    }

    #[test]
    fn durations_keep_the_two_largest_units() {
        assert_eq!(duration_words(0), "0 s");
        assert_eq!(duration_words(7), "7 s");
        assert_eq!(duration_words(3552), "59 min 12 s");
        assert_eq!(duration_words(3600), "1 h 0 min");
        assert_eq!(duration_words(86_400), "1 day");
        assert_eq!(duration_words(3 * 86_400 + 4 * 3600 + 5), "3 days 4 h");
        assert_eq!(duration_words(-90), "1 min 30 s");
    }

    #[test]
    fn relative_times_say_which_side_of_now() {
        assert_eq!(relative(100, 100), "now");
        assert_eq!(relative(160, 100), "in 1 min 0 s");
        assert_eq!(relative(88, 100), "12 s ago");
    }

    #[test]
    fn hex_and_json() {
        assert_eq!(hex_upper(&[0x84, 0xe0, 0x0a]), "84E00A");
        assert_eq!(pretty_json(br#"{"a":1}"#).unwrap(), "{\n  \"a\": 1\n}");
        assert!(pretty_json(b"{").unwrap_err().starts_with("not JSON"));
    }

    #[test]
    fn sizes_show_the_share_of_the_limit() {
        assert_eq!(size_against(19, 4096), "19 of 4096 bytes (0.5 %)");
        assert_eq!(size_against(5000, 4096), "5000 of 4096 bytes (122.1 %)");
    }

    #[test]
    fn browser_offsets_are_inverted_minutes() {
        assert_eq!(offset_from_js_minutes(-540.0), offset!(+9));
        assert_eq!(offset_from_js_minutes(210.0), offset!(-3:30));
        assert_eq!(offset_from_js_minutes(f64::NAN), UtcOffset::UTC);
        assert_eq!(offset_from_js_minutes(1e9), UtcOffset::UTC);
    }
}
