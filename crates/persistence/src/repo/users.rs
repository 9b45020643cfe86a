//! `kafkaml_user`: the accounts of the admin site. The password column holds an argon2id PHC
//! string, written and checked by the api crate's accounts use cases; this module never sees a
//! password.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use secrecy::SecretString;

use kafkaml_domain::Role;

use crate::db::DbConnection;
use crate::error::DbResult;
use crate::schema::kafkaml_user as u;
use crate::wire::Stored;
use crate::with_conn;

/// A row of `kafkaml_user`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = u)]
pub struct UserRow {
    /// The user's id.
    pub id: i32,
    /// The unique sign-in name.
    pub username: String,
    /// The e-mail address (may be empty).
    pub email: String,
    /// The argon2id PHC string of the password.
    #[diesel(column_name = password, deserialize_as = String)]
    pub password_hash: SecretString,
    /// Whether the user may sign in at all.
    pub is_active: bool,
    /// Whether the user may enter the admin site.
    pub is_staff: bool,
    /// Whether the user has every permission.
    pub is_superuser: bool,
    /// When the account was created.
    pub date_joined: NaiveDateTime,
    /// When the user last signed in.
    pub last_login: Option<NaiveDateTime>,
    /// What the user may do (superusers may do everything).
    #[diesel(deserialize_as = Stored<Role>)]
    pub role: Role,
}

/// A user to store.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = u)]
pub struct NewUser<'a> {
    /// The unique sign-in name.
    pub username: &'a str,
    /// The e-mail address (may be empty).
    pub email: &'a str,
    /// The argon2id PHC string of the password.
    #[diesel(column_name = password)]
    pub password_hash: &'a str,
    /// Whether the user may sign in.
    pub is_active: bool,
    /// Whether the user may enter the admin site.
    pub is_staff: bool,
    /// Whether the user has every permission.
    pub is_superuser: bool,
    /// When the account is created.
    pub date_joined: NaiveDateTime,
    /// What the user may do.
    #[diesel(serialize_as = Stored<Role>)]
    pub role: Role,
}

/// What the admin may change of a user besides the password.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = u)]
pub struct UserChanges<'a> {
    /// The e-mail address.
    pub email: &'a str,
    /// Whether the user may sign in.
    pub is_active: bool,
    /// Whether the user may enter the admin site.
    pub is_staff: bool,
    /// Whether the user has every permission.
    pub is_superuser: bool,
    /// What the user may do.
    #[diesel(serialize_as = Stored<Role>)]
    pub role: Role,
}

/// Stores a new user and returns its id; a taken username is [`DbError::Unique`](crate::DbError::Unique).
pub fn create(conn: &mut DbConnection, user: &NewUser<'_>) -> DbResult<i32> {
    Ok(with_conn!(conn, |c| diesel::insert_into(u::table).values(user.clone()).returning(u::id).get_result(c))?)
}

/// The user with this id.
pub fn get(conn: &mut DbConnection, id: i32) -> DbResult<Option<UserRow>> {
    Ok(with_conn!(conn, |c| u::table.find(id).select(UserRow::as_select()).first(c).optional())?)
}

/// The user with this username (exact match, as Django's `ModelBackend`).
pub fn find_by_username(conn: &mut DbConnection, username: &str) -> DbResult<Option<UserRow>> {
    Ok(with_conn!(conn, |c| u::table
        .filter(u::username.eq(username))
        .select(UserRow::as_select())
        .first(c)
        .optional())?)
}

/// Every user, by username.
pub fn list(conn: &mut DbConnection) -> DbResult<Vec<UserRow>> {
    Ok(with_conn!(conn, |c| u::table.order(u::username.asc()).select(UserRow::as_select()).load(c))?)
}

/// The number of users.
pub fn count(conn: &mut DbConnection) -> DbResult<i64> {
    Ok(with_conn!(conn, |c| u::table.count().get_result(c))?)
}

/// Changes the flags and e-mail of user `id`; whether it existed.
pub fn update(conn: &mut DbConnection, id: i32, changes: &UserChanges<'_>) -> DbResult<bool> {
    Ok(with_conn!(conn, |c| diesel::update(u::table.find(id)).set(changes.clone()).execute(c))? > 0)
}

/// Replaces the password hash of user `id`; whether it existed.
pub fn set_password(conn: &mut DbConnection, id: i32, password_hash: &str) -> DbResult<bool> {
    Ok(with_conn!(conn, |c| diesel::update(u::table.find(id)).set(u::password.eq(password_hash)).execute(c))? > 0)
}

/// Records a sign-in.
pub fn touch_login(conn: &mut DbConnection, id: i32, at: NaiveDateTime) -> DbResult<()> {
    with_conn!(conn, |c| diesel::update(u::table.find(id)).set(u::last_login.eq(Some(at))).execute(c))?;
    Ok(())
}

/// Deletes user `id` (its sessions go with it; its audit entries keep their actor text); whether
/// it existed.
pub fn delete(conn: &mut DbConnection, id: i32) -> DbResult<bool> {
    Ok(with_conn!(conn, |c| diesel::delete(u::table.find(id)).execute(c))? > 0)
}
