//! Reading timestamp columns quickly.
//!
//! SQLite keeps timestamps as text (`2026-11-28 05:44:12.160339`, what diesel writes). diesel reads
//! them by trying up to 18 chrono formats, which was a tenth of the time of `GET /results/` (two
//! timestamps per row). [`DbTime`] reads that one layout digit by digit and hands anything else to
//! diesel, so every value diesel accepts is still accepted. PostgreSQL timestamps are binary and go
//! to diesel directly.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::Pg;
use diesel::sql_types::Timestamp;
use diesel::sqlite::Sqlite;

/// A `TIMESTAMP` column value; rows use it through `#[diesel(deserialize_as = DbTime)]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromSqlRow)]
pub struct DbTime(pub NaiveDateTime);

impl From<DbTime> for NaiveDateTime {
    fn from(t: DbTime) -> Self {
        t.0
    }
}

impl FromSql<Timestamp, Sqlite> for DbTime {
    fn from_sql(mut value: <Sqlite as diesel::backend::Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        if let Some(t) = parse_sqlite_text(value.read_text()) {
            return Ok(DbTime(t));
        }
        <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(DbTime)
    }
}

impl FromSql<Timestamp, Pg> for DbTime {
    fn from_sql(value: <Pg as diesel::backend::Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(DbTime)
    }
}

/// `YYYY-MM-DD HH:MM:SS` (or with `T`), optionally followed by `.` and 1–9 fraction digits;
/// `None` for any other text.
fn parse_sqlite_text(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    let layout_ok =
        b.len() >= 19 && b[4] == b'-' && b[7] == b'-' && matches!(b[10], b' ' | b'T') && b[13] == b':' && b[16] == b':';
    if !layout_ok {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        b.get(range)?.iter().try_fold(0u32, |acc, &d| d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0')))
    };
    let nanos = match b.len() {
        19 => 0,
        21..=29 if b[19] == b'.' => number(20..b.len())? * 10u32.pow(29 - b.len() as u32),
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(i32::try_from(number(0..4)?).ok()?, number(5..7)?, number(8..10)?)?;
    date.and_hms_nano_opt(number(11..13)?, number(14..16)?, number(17..19)?, nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digit_reader_agrees_with_chrono_on_what_diesel_writes() {
        let chrono = |text: &str| NaiveDateTime::parse_from_str(text, "%F %T%.f").ok();
        for text in [
            "2026-11-28 05:44:12.160339",
            "2026-11-28 05:44:12",
            "2026-11-28 05:44:12.1",
            "2026-11-28 05:44:12.123456789",
            "0001-01-01 00:00:00.000001",
            "9999-12-31 23:59:59.999999",
            "2024-02-29 12:00:00",
        ] {
            assert_eq!(parse_sqlite_text(text), chrono(text), "{text}");
            assert!(parse_sqlite_text(text).is_some(), "{text}");
        }
        assert_eq!(parse_sqlite_text("2026-11-28T05:44:12.5"), chrono("2026-11-28 05:44:12.5"));
    }

    #[test]
    fn anything_else_is_left_to_diesel() {
        for text in [
            "",
            "2026-11-28",
            "2026-11-28 05:44",
            "2026-11-28 05:44:12.",
            "2026-11-28 05:44:12.1234567891",
            "2026-11-28 05:44:12+02:00",
            "2026-11-28 05:44:12Z",
            "2023-02-29 00:00:00",
            "2026-13-01 00:00:00",
            "2016-12-31 23:59:60",
            "2026-11-28 05:4a:12",
            "2461007.5",
        ] {
            assert_eq!(parse_sqlite_text(text), None, "{text}");
        }
    }
}
