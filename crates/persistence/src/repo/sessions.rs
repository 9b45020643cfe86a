//! `kafkaml_session`: server-side sessions of the admin site. The cookie holds a random key; the
//! table holds only a keyed hash of it, so signing out, deactivating a user or deleting the row
//! ends the session on every replica at once.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::DbResult;
use crate::repo::users::UserRow;
use crate::schema::{kafkaml_session as s, kafkaml_user as u};
use crate::with_conn;

/// Starts a session of `user_id` until `expires`.
pub fn create(
    conn: &mut DbConnection,
    key_hash: &str,
    user_id: i32,
    now: NaiveDateTime,
    expires: NaiveDateTime,
) -> DbResult<()> {
    with_conn!(conn, |c| diesel::insert_into(s::table)
        .values((s::key_hash.eq(key_hash), s::user_id.eq(user_id), s::created.eq(now), s::expires.eq(expires)))
        .execute(c))?;
    Ok(())
}

/// The active user of an unexpired session.
pub fn user_of(conn: &mut DbConnection, key_hash: &str, now: NaiveDateTime) -> DbResult<Option<UserRow>> {
    Ok(with_conn!(conn, |c| s::table
        .inner_join(u::table)
        .filter(s::key_hash.eq(key_hash))
        .filter(s::expires.gt(now))
        .filter(u::is_active.eq(true))
        .select(UserRow::as_select())
        .first(c)
        .optional())?)
}

/// Ends one session.
pub fn delete(conn: &mut DbConnection, key_hash: &str) -> DbResult<()> {
    with_conn!(conn, |c| diesel::delete(s::table.find(key_hash)).execute(c))?;
    Ok(())
}

/// Ends every session of a user (password changed, user deactivated).
pub fn delete_for_user(conn: &mut DbConnection, user_id: i32) -> DbResult<usize> {
    Ok(with_conn!(conn, |c| diesel::delete(s::table.filter(s::user_id.eq(user_id))).execute(c))?)
}

/// Removes the sessions that ended before `now`.
pub fn purge_expired(conn: &mut DbConnection, now: NaiveDateTime) -> DbResult<usize> {
    Ok(with_conn!(conn, |c| diesel::delete(s::table.filter(s::expires.le(now))).execute(c))?)
}
