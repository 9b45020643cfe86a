//! Date-times as the reference renders them: `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` (UTC, microseconds
//! omitted when zero), and parsing of client-supplied date-times (naive values are UTC).

use chrono::{DateTime, NaiveDateTime, SecondsFormat, SubsecRound, Timelike, Utc};

/// The current time truncated to microseconds (the precision both databases keep).
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// Formats a UTC date-time as DRF does: `2026-11-28T01:32:20.160339Z` or `2024-05-01T10:00:00Z`.
pub fn format(t: &NaiveDateTime) -> String {
    let utc = t.and_utc();
    if t.nanosecond() / 1000 == 0 {
        utc.to_rfc3339_opts(SecondsFormat::Secs, true)
    } else {
        utc.to_rfc3339_opts(SecondsFormat::Micros, true)
    }
}

/// Parses an ISO 8601 date-time: with an offset (converted to UTC), with `Z`, or naive (taken as
/// UTC). A space may separate date and time. Returns `None` when the text is not a date-time.
pub fn parse(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc).naive_utc().trunc_subsecs(6));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, fmt) {
            return Some(t.trunc_subsecs(6));
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%.f%:z"] {
        if let Ok(t) = DateTime::parse_from_str(text, fmt) {
            return Some(t.with_timezone(&Utc).naive_utc().trunc_subsecs(6));
        }
    }
    None
}

/// Serde adapter rendering a [`NaiveDateTime`] (UTC) in the DRF format.
pub mod drf {
    use chrono::NaiveDateTime;
    use serde::Serializer;

    /// Serializes in the DRF format.
    pub fn serialize<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format(t))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn formats_like_drf() {
        let t = parse("2026-11-28T01:32:20.160339Z").unwrap();
        assert_eq!(format(&t), "2026-11-28T01:32:20.160339Z");
        let t = parse("2024-05-01T10:00:00").unwrap();
        assert_eq!(format(&t), "2024-05-01T10:00:00Z");
        let t = parse("2024-05-01T10:00:00+02:00").unwrap();
        assert_eq!(format(&t), "2024-05-01T08:00:00Z");
        assert!(parse("yesterday").is_none());
    }
}
