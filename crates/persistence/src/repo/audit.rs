//! `kafkaml_audit`: the audit trail. An entry is written in the same transaction as the change it
//! records; it names the changed fields, never their values.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::DbResult;
use crate::schema::kafkaml_audit as a;
use crate::with_conn;

/// An entry to write.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = a)]
pub struct NewEntry<'a> {
    /// When the change was made.
    pub time: NaiveDateTime,
    /// The user who made it, when a user did.
    pub user_id: Option<i32>,
    /// Who made it, in words (`alice`).
    pub actor: &'a str,
    /// What was done (`add`, `change`, `delete`, `stop`, …).
    pub action: &'a str,
    /// The kind of object (the admin's table name, e.g. `models`).
    pub object_kind: &'a str,
    /// The object's id.
    pub object_id: Option<i32>,
    /// How the object is shown.
    pub object_repr: &'a str,
    /// The names of the changed fields, comma-separated.
    pub changed_fields: &'a str,
}

/// A stored entry.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = a)]
pub struct Entry {
    /// The entry's id.
    pub id: i32,
    /// When the change was made.
    pub time: NaiveDateTime,
    /// The user who made it (`None` once deleted, or for other actors).
    pub user_id: Option<i32>,
    /// Who made it.
    pub actor: String,
    /// What was done.
    pub action: String,
    /// The kind of object.
    pub object_kind: String,
    /// The object's id.
    pub object_id: Option<i32>,
    /// How the object was shown.
    pub object_repr: String,
    /// The names of the changed fields, comma-separated.
    pub changed_fields: String,
}

/// Writes an entry.
pub fn record(conn: &mut DbConnection, entry: &NewEntry<'_>) -> DbResult<()> {
    with_conn!(conn, |c| diesel::insert_into(a::table).values(entry).execute(c))?;
    Ok(())
}

/// The latest `limit` entries, newest first.
pub fn recent(conn: &mut DbConnection, limit: i64) -> DbResult<Vec<Entry>> {
    Ok(with_conn!(conn, |c| a::table
        .order((a::time.desc(), a::id.desc()))
        .limit(limit)
        .select(Entry::as_select())
        .load(c))?)
}

/// The entries of one object, oldest first (its history).
pub fn of_object(conn: &mut DbConnection, kind: &str, id: i32) -> DbResult<Vec<Entry>> {
    Ok(with_conn!(conn, |c| a::table
        .filter(a::object_kind.eq(kind))
        .filter(a::object_id.eq(id))
        .order((a::time.asc(), a::id.asc()))
        .select(Entry::as_select())
        .load(c))?)
}
