//! Text columns that hold a domain enum ([`WireEnum`]): written with the enum's wire spelling and
//! read back strictly — a stored value no variant spells is a query error naming the column's kind
//! and the value, never a silent fallback.
//!
//! Rows keep the enum itself (`pub status: ResultStatus`) and go through [`Stored`] with
//! `#[diesel(deserialize_as = Stored<ResultStatus>, serialize_as = Stored<ResultStatus>)]`;
//! queries compare with `Stored(value)`, so no code spells a status as a string.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;
use kafkaml_domain::WireEnum;

/// A domain enum in a text column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromSqlRow, AsExpression)]
#[diesel(sql_type = Text)]
pub struct Stored<T: WireEnum + std::fmt::Debug>(pub T);

impl<T: WireEnum + std::fmt::Debug> From<T> for Stored<T> {
    fn from(value: T) -> Self {
        Stored(value)
    }
}

/// The enum of a stored text, or the error that names it.
fn parse<T: WireEnum + std::fmt::Debug>(text: &str) -> deserialize::Result<Stored<T>> {
    T::parse(text).map(Stored).ok_or_else(|| format!("unknown {} {text:?} in the database", T::WHAT).into())
}

impl<T: WireEnum + std::fmt::Debug> FromSql<Text, Sqlite> for Stored<T> {
    fn from_sql(mut value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        parse(value.read_text())
    }
}

impl<T: WireEnum + std::fmt::Debug> FromSql<Text, Pg> for Stored<T> {
    fn from_sql(value: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        parse(std::str::from_utf8(value.as_bytes())?)
    }
}

impl<T: WireEnum + std::fmt::Debug> ToSql<Text, Sqlite> for Stored<T> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.as_str());
        Ok(serialize::IsNull::No)
    }
}

impl<T: WireEnum + std::fmt::Debug> ToSql<Text, Pg> for Stored<T> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <str as ToSql<Text, Pg>>::to_sql(self.0.as_str(), &mut out.reborrow())
    }
}

macro_rules! stored_into {
    ($($t:ty),+) => {$(
        impl From<Stored<$t>> for $t {
            fn from(s: Stored<$t>) -> Self {
                s.0
            }
        }
    )+};
}

stored_into!(
    kafkaml_domain::Role,
    kafkaml_domain::ResultStatus,
    kafkaml_domain::InferenceStatus,
    kafkaml_domain::Framework,
    kafkaml_domain::InputFormat,
    kafkaml_domain::AggStrategy
);
