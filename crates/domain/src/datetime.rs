//! Date-times as the reference renders them: `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` (UTC, microseconds
//! omitted when zero), and parsing of client-supplied date-times (naive values are UTC).

use chrono::{DateTime, NaiveDateTime, SecondsFormat, SubsecRound, Timelike, Utc};

/// The current time truncated to microseconds (the precision both databases keep).
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// Formats a UTC date-time as DRF does: `2026-11-28T01:32:20.160339Z` or `2024-05-01T10:00:00Z`.
pub fn format(t: &NaiveDateTime) -> String {
    let mut out = String::with_capacity(27);
    write_drf(t, &mut out);
    out
}

/// Appends `t` in the DRF format to `out` (what [`format`] returns). Lists render thousands of
/// date-times, so years 0–9999 are written digit by digit instead of through chrono's formatter.
fn write_drf(t: &NaiveDateTime, out: &mut String) {
    use chrono::Datelike;

    fn digits(out: &mut String, value: u32, width: u32) {
        for place in (0..width).rev() {
            out.push(char::from(b'0' + (value / 10u32.pow(place) % 10) as u8));
        }
    }

    let micros = t.nanosecond() / 1000;
    let year = match u32::try_from(t.year()) {
        Ok(year) if year <= 9999 => year,
        _ => {
            let seconds = if micros == 0 { SecondsFormat::Secs } else { SecondsFormat::Micros };
            out.push_str(&t.and_utc().to_rfc3339_opts(seconds, true));
            return;
        }
    };
    digits(out, year, 4);
    out.push('-');
    digits(out, t.month(), 2);
    out.push('-');
    digits(out, t.day(), 2);
    out.push('T');
    digits(out, t.hour(), 2);
    out.push(':');
    digits(out, t.minute(), 2);
    out.push(':');
    // A leap second (nanosecond ≥ 1e9) is rendered as second 60, as chrono does.
    digits(out, t.second() + u32::from(t.nanosecond() >= 1_000_000_000), 2);
    if micros != 0 {
        out.push('.');
        digits(out, micros % 1_000_000, 6);
    }
    out.push('Z');
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
        let mut text = String::with_capacity(27);
        super::write_drf(t, &mut text);
        s.serialize_str(&text)
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn the_digit_writer_agrees_with_chrono() {
        use chrono::{Datelike, Duration, NaiveDate};

        let chrono_drf = |t: &NaiveDateTime| {
            let seconds = if t.nanosecond() / 1000 == 0 { SecondsFormat::Secs } else { SecondsFormat::Micros };
            t.and_utc().to_rfc3339_opts(seconds, true)
        };
        let mut t = NaiveDate::from_ymd_opt(1, 1, 1).unwrap().and_hms_micro_opt(0, 0, 0, 1).unwrap();
        let step = Duration::seconds(86_400 * 397 + 3_671) + Duration::microseconds(123_457);
        while t.year() < 9999 {
            assert_eq!(format(&t), chrono_drf(&t));
            t += step;
        }
        for text in ["9999-12-31T23:59:59.999999Z", "2024-02-29T00:00:00Z", "0000-01-01T00:00:00Z"] {
            let t = parse(text).unwrap();
            assert_eq!(format(&t), text);
        }
        let far = NaiveDate::from_ymd_opt(12345, 6, 7).unwrap().and_hms_opt(8, 9, 10).unwrap();
        assert_eq!(format(&far), chrono_drf(&far));
        let before = NaiveDate::from_ymd_opt(-44, 3, 15).unwrap().and_hms_micro_opt(12, 0, 0, 5).unwrap();
        assert_eq!(format(&before), chrono_drf(&before));
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31).unwrap().and_hms_milli_opt(23, 59, 59, 1_500).unwrap();
        assert_eq!(format(&leap), chrono_drf(&leap));
    }
}
