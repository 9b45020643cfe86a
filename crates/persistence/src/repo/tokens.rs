//! `kafkaml_token`: API tokens. A token acts for its user, with the user's role; the table keeps
//! only a SHA-256 hash of the key (shown once, when created) and its first characters.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::DbResult;
use crate::repo::users::UserRow;
use crate::schema::{kafkaml_token as t, kafkaml_user as u};
use crate::with_conn;

/// A row of `kafkaml_token` (without its hash).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = t)]
pub struct TokenRow {
    /// The token's id.
    pub id: i32,
    /// The user it acts for.
    pub user_id: i32,
    /// What it is for.
    pub name: String,
    /// The key's first characters.
    pub key_prefix: String,
    /// When it was created.
    pub created: NaiveDateTime,
    /// When it stops working, if ever.
    pub expires: Option<NaiveDateTime>,
    /// When it was last used.
    pub last_used: Option<NaiveDateTime>,
}

/// A token to store.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = t)]
pub struct NewToken<'a> {
    /// The user it acts for.
    pub user_id: i32,
    /// What it is for.
    pub name: &'a str,
    /// The key's first characters.
    pub key_prefix: &'a str,
    /// SHA-256 of the key, in hexadecimal.
    pub key_hash: &'a str,
    /// When it is created.
    pub created: NaiveDateTime,
    /// When it stops working, if ever.
    pub expires: Option<NaiveDateTime>,
}

/// Stores a new token and returns its id.
pub fn create(conn: &mut DbConnection, token: &NewToken<'_>) -> DbResult<i32> {
    Ok(with_conn!(conn, |c| diesel::insert_into(t::table).values(token).returning(t::id).get_result(c))?)
}

/// The token with this id.
pub fn get(conn: &mut DbConnection, id: i32) -> DbResult<Option<TokenRow>> {
    Ok(with_conn!(conn, |c| t::table.find(id).select(TokenRow::as_select()).first(c).optional())?)
}

/// Every token with its user's name, newest first; only `user_id`'s when given.
pub fn list(conn: &mut DbConnection, user_id: Option<i32>) -> DbResult<Vec<(TokenRow, String)>> {
    Ok(with_conn!(conn, |c| {
        let mut query = t::table
            .inner_join(u::table)
            .select((TokenRow::as_select(), u::username))
            .order((t::created.desc(), t::id.desc()))
            .into_boxed();
        if let Some(user_id) = user_id {
            query = query.filter(t::user_id.eq(user_id));
        }
        query.load(c)
    })?)
}

/// The unexpired token whose key hashes to `key_hash`, and its active user.
pub fn find_active(
    conn: &mut DbConnection,
    key_hash: &str,
    now: NaiveDateTime,
) -> DbResult<Option<(TokenRow, UserRow)>> {
    Ok(with_conn!(conn, |c| t::table
        .inner_join(u::table)
        .filter(t::key_hash.eq(key_hash))
        .filter(t::expires.is_null().or(t::expires.gt(now)))
        .filter(u::is_active.eq(true))
        .select((TokenRow::as_select(), UserRow::as_select()))
        .first(c)
        .optional())?)
}

/// Records a use of token `id` at `now`, unless one was recorded after `since` (so a busy token
/// writes at most once per interval).
pub fn touch(conn: &mut DbConnection, id: i32, now: NaiveDateTime, since: NaiveDateTime) -> DbResult<()> {
    with_conn!(conn, |c| diesel::update(t::table.find(id).filter(t::last_used.is_null().or(t::last_used.lt(since))))
        .set(t::last_used.eq(Some(now)))
        .execute(c))?;
    Ok(())
}

/// Revokes (deletes) token `id`; whether it existed.
pub fn delete(conn: &mut DbConnection, id: i32) -> DbResult<bool> {
    Ok(with_conn!(conn, |c| diesel::delete(t::table.find(id)).execute(c))? > 0)
}
