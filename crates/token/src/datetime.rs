//! Unix seconds written as RFC 3339 dates for messages, without reading a clock.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `seconds` as an RFC 3339 UTC date such as `2026-01-01T00:00:00Z`; out-of-range
/// values are written as `<n> (Unix seconds)`.
pub(crate) fn rfc3339(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("{seconds} (Unix seconds)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_767_225_600), "2026-01-01T00:00:00Z");
        assert_eq!(rfc3339(i64::MAX), format!("{} (Unix seconds)", i64::MAX));
    }
}
