//! Accounts: users and their passwords, signing in and out, server-side sessions.
//!
//! Passwords are argon2id PHC strings; they are checked in constant time, and a sign-in with an
//! unknown username costs the same argon2 work as one with a wrong password. Repeated failures
//! for one username are throttled. A session is a random key in a cookie; the database holds
//! only its HMAC under the [`SecretKey`], so the table cannot be replayed as cookies, and
//! rotating `SECRET_KEY` ends every session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::NaiveDateTime;
use hmac::{Hmac, Mac};
use kafkaml_domain::password::{check_password, check_username};
use kafkaml_domain::{datetime, Named, Role, Violation};
use kafkaml_persistence::repo::users::{self, NewUser, UserChanges, UserRow};
use kafkaml_persistence::repo::{audit, sessions};
use kafkaml_persistence::{write_transaction, DbConnection, DbError};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::usecase::{Actor, Change, Ctx, Error, Missing};

/// How long a session lasts (Django's `SESSION_COOKIE_AGE`: two weeks).
pub const SESSION_AGE: Duration = Duration::from_secs(14 * 24 * 3600);

/// Failed sign-ins of one username within [`THROTTLE_WINDOW`] before further attempts are refused.
pub const THROTTLE_FAILURES: usize = 5;

/// The window of [`THROTTLE_FAILURES`].
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(300);

/// The key that signs sessions (and, later, pod capabilities): `SECRET_KEY`, or a key generated
/// once and kept in the data directory.
#[derive(Clone)]
pub struct SecretKey(Arc<SecretString>);

impl SecretKey {
    /// A key from its text.
    pub fn new(key: SecretString) -> Self {
        SecretKey(Arc::new(key))
    }

    /// A fresh random key (64 hexadecimal characters).
    pub fn random() -> Self {
        SecretKey::new(SecretString::from(random_hex(32)))
    }

    /// The HMAC-SHA256 of `data` under this key, in hexadecimal.
    pub fn sign(&self, data: &[u8]) -> String {
        #[expect(clippy::expect_used, reason = "HMAC accepts keys of any length")]
        let mut mac = <Hmac<Sha256>>::new_from_slice(self.0.expose_secret().as_bytes()).expect("any key length");
        mac.update(data);
        hex(&mac.finalize().into_bytes())
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey([REDACTED])")
    }
}

/// `n` random bytes from the operating system, in hexadecimal.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

/// Bytes in lowercase hexadecimal.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The accounts' state of one process: the secret key and the sign-in throttle.
#[derive(Debug, Clone)]
pub struct Accounts {
    /// Signs sessions.
    pub secret_key: SecretKey,
    throttle: Arc<Mutex<HashMap<String, Vec<Instant>>>>,
}

impl Accounts {
    /// The accounts' state under `secret_key`.
    pub fn new(secret_key: SecretKey) -> Self {
        Accounts { secret_key, throttle: Arc::default() }
    }

    /// Whether `username` failed too often lately.
    fn throttled(&self, username: &str) -> bool {
        let now = Instant::now();
        let mut failures = self.throttle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        failures.retain(|_, times| {
            times.retain(|t| now.duration_since(*t) < THROTTLE_WINDOW);
            !times.is_empty()
        });
        failures.get(&username.to_lowercase()).is_some_and(|times| times.len() >= THROTTLE_FAILURES)
    }

    fn failed(&self, username: &str) {
        let mut failures = self.throttle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        failures.entry(username.to_lowercase()).or_default().push(Instant::now());
    }

    fn succeeded(&self, username: &str) {
        let mut failures = self.throttle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        failures.remove(&username.to_lowercase());
    }
}

/// A user as the rest of the code sees it: no password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The user's id.
    pub id: i32,
    /// The sign-in name.
    pub username: String,
    /// The e-mail address.
    pub email: String,
    /// Whether the user may sign in.
    pub is_active: bool,
    /// Whether the user may enter the admin site.
    pub is_staff: bool,
    /// Whether the user has every permission, including managing users.
    pub is_superuser: bool,
    /// When the account was created.
    pub date_joined: NaiveDateTime,
    /// When the user last signed in.
    pub last_login: Option<NaiveDateTime>,
    /// What the user may do through the API (see [`User::can`]).
    pub role: Role,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: r.id,
            username: r.username,
            email: r.email,
            is_active: r.is_active,
            is_staff: r.is_staff,
            is_superuser: r.is_superuser,
            date_joined: r.date_joined,
            last_login: r.last_login,
            role: r.role,
        }
    }
}

impl User {
    /// Whether this user may act as `needed`: superusers may do everything, operators what
    /// viewers may.
    pub fn can(&self, needed: Role) -> bool {
        self.is_superuser || self.role == needed || (self.role == Role::Operator && needed == Role::Viewer)
    }

    /// The user's role as shown: `superuser`, or the stored role.
    pub fn role_name(&self) -> &'static str {
        if self.is_superuser {
            "superuser"
        } else {
            self.role.as_str()
        }
    }

    /// The actor this user is in the audit trail.
    pub fn actor(&self) -> Actor {
        Actor::User { id: self.id, username: self.username.clone() }
    }
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// The sign-in name.
    pub username: String,
    /// The e-mail address (may be empty).
    pub email: String,
    /// The password, checked against the policy.
    pub password: SecretString,
    /// Whether the user may enter the admin site.
    pub is_staff: bool,
    /// Whether the user has every permission.
    pub is_superuser: bool,
    /// What the user may do through the API.
    pub role: Role,
}

/// What may change of a user besides the password.
#[derive(Debug, Clone)]
pub struct AccountChanges {
    /// The e-mail address.
    pub email: String,
    /// Whether the user may sign in.
    pub is_active: bool,
    /// Whether the user may enter the admin site.
    pub is_staff: bool,
    /// Whether the user has every permission.
    pub is_superuser: bool,
    /// What the user may do through the API.
    pub role: Role,
}

/// Why signing in failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInRefused {
    /// Unknown user, wrong password, or inactive user (one answer for all, as Django's).
    Credentials,
    /// Too many failures for this username lately.
    Throttled,
}

/// Hashes a password as an argon2id PHC string (on the blocking pool: argon2 is slow on purpose).
pub async fn hash_password(password: SecretString) -> Result<String, Error> {
    tokio::task::spawn_blocking(move || hash_now(password.expose_secret()))
        .await
        .map_err(|e| Error::Internal(format!("password hashing task: {e}")))?
}

fn hash_now(password: &str) -> Result<String, Error> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("hashing a password: {e}")))
}

/// A hash of no one's password, checked when the username is unknown so that the answer takes
/// the same time as for a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_now(&random_hex(16)).unwrap_or_default())
}

/// Whether `password` matches the PHC string `hash` (constant-time comparison inside argon2).
fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

fn taken(e: DbError, username: &str) -> Error {
    match e {
        DbError::Unique(_) => Violation::NameTaken { kind: Named::User, name: username.to_owned() }.into(),
        other => other.into(),
    }
}

/// Creates a user after checking its username and password against the policy.
pub async fn create_user(ctx: &Ctx, actor: &Actor, account: NewAccount) -> Result<User, Error> {
    let username = account.username.trim().to_owned();
    check_username(&username)?;
    check_password(account.password.expose_secret(), &username, &account.email)?;
    let hash = hash_password(account.password).await?;
    let actor = actor.clone();
    ctx.db(move |c| {
        write_transaction(c, |c| {
            let new = NewUser {
                username: &username,
                email: account.email.trim(),
                password_hash: &hash,
                is_active: true,
                is_staff: account.is_staff,
                is_superuser: account.is_superuser,
                date_joined: datetime::now(),
                role: account.role,
            };
            let id = users::create(c, &new).map_err(|e| taken(e, &username))?;
            let fields: &[&str] = &["username", "email", "password", "is_staff", "is_superuser", "role"];
            actor.record(c, &Change::new("add", "users", Some(id), &username).fields(fields))?;
            users::get(c, id)?.map(User::from).ok_or(Error::NotFound(Missing::Object))
        })
    })
    .await
}

/// The user named `username`.
pub async fn find_user(ctx: &Ctx, username: &str) -> Result<Option<User>, Error> {
    let username = username.to_owned();
    ctx.db(move |c| Ok::<_, Error>(users::find_by_username(c, &username)?.map(User::from))).await
}

/// The user with this id.
pub async fn user(ctx: &Ctx, id: i32) -> Result<Option<User>, Error> {
    ctx.db(move |c| Ok::<_, Error>(users::get(c, id)?.map(User::from))).await
}

/// Every user, by username.
pub async fn list_users(ctx: &Ctx) -> Result<Vec<User>, Error> {
    ctx.db(|c| Ok::<_, Error>(users::list(c)?.into_iter().map(User::from).collect())).await
}

/// Sets a user's password (checked against the policy) and ends their sessions.
pub async fn set_password(ctx: &Ctx, actor: &Actor, id: i32, password: SecretString) -> Result<(), Error> {
    let user = ctx.db(move |c| users::get(c, id)?.ok_or(Error::NotFound(Missing::Object))).await?;
    check_password(password.expose_secret(), &user.username, &user.email)?;
    let hash = hash_password(password).await?;
    let actor = actor.clone();
    ctx.db(move |c| {
        write_transaction(c, |c| {
            users::set_password(c, id, &hash)?;
            sessions::delete_for_user(c, id)?;
            actor.record(c, &Change::new("password", "users", Some(id), &user.username).fields(&["password"]))?;
            Ok(())
        })
    })
    .await
}

/// Whether a change would leave no active superuser while `id` is one today.
fn last_superuser(c: &mut DbConnection, id: i32) -> Result<bool, Error> {
    let users = users::list(c)?;
    let others = users.iter().filter(|u| u.id != id && u.is_superuser && u.is_active).count();
    let is_one = users.iter().any(|u| u.id == id && u.is_superuser && u.is_active);
    Ok(is_one && others == 0)
}

/// Changes a user's e-mail and flags; deactivating a user ends their sessions. The last active
/// superuser keeps their rights.
pub async fn update_user(ctx: &Ctx, actor: &Actor, id: i32, changes: AccountChanges) -> Result<User, Error> {
    let actor = actor.clone();
    ctx.db(move |c| {
        write_transaction(c, |c| {
            let current = users::get(c, id)?.ok_or(Error::NotFound(Missing::Object))?;
            if (!changes.is_active || !changes.is_superuser) && last_superuser(c, id)? {
                return Err(Violation::LastSuperuser.into());
            }
            let email = changes.email.trim();
            users::update(
                c,
                id,
                &UserChanges {
                    email,
                    is_active: changes.is_active,
                    is_staff: changes.is_staff,
                    is_superuser: changes.is_superuser,
                    role: changes.role,
                },
            )?;
            if !changes.is_active {
                sessions::delete_for_user(c, id)?;
            }
            let fields: Vec<&str> = [
                ("email", current.email != email),
                ("is_active", current.is_active != changes.is_active),
                ("is_staff", current.is_staff != changes.is_staff),
                ("is_superuser", current.is_superuser != changes.is_superuser),
                ("role", current.role != changes.role),
            ]
            .into_iter()
            .filter_map(|(name, changed)| changed.then_some(name))
            .collect();
            actor.record(c, &Change::new("change", "users", Some(id), &current.username).fields(&fields))?;
            users::get(c, id)?.map(User::from).ok_or(Error::NotFound(Missing::Object))
        })
    })
    .await
}

/// Deletes a user (not the last active superuser); their sessions end.
pub async fn delete_user(ctx: &Ctx, actor: &Actor, id: i32) -> Result<(), Error> {
    let actor = actor.clone();
    ctx.db(move |c| {
        write_transaction(c, |c| {
            let current = users::get(c, id)?.ok_or(Error::NotFound(Missing::Object))?;
            if last_superuser(c, id)? {
                return Err(Violation::LastSuperuser.into());
            }
            actor.record(c, &Change::new("delete", "users", Some(id), &current.username))?;
            users::delete(c, id)?;
            Ok(())
        })
    })
    .await
}

/// Checks a username and password. Unknown users, wrong passwords and inactive users are one
/// answer, at one cost; after [`THROTTLE_FAILURES`] failures in [`THROTTLE_WINDOW`] the username
/// is refused without checking.
pub async fn authenticate(ctx: &Ctx, username: &str, password: SecretString) -> Result<User, AuthError> {
    if ctx.accounts.throttled(username) {
        return Err(AuthError::Refused(SignInRefused::Throttled));
    }
    let name = username.to_owned();
    let row = ctx.db(move |c| Ok::<_, Error>(users::find_by_username(c, &name)?)).await?;
    let hash = row.as_ref().map_or_else(|| dummy_hash().to_owned(), |r| r.password_hash.expose_secret().to_owned());
    let matches = tokio::task::spawn_blocking(move || verify(password.expose_secret(), &hash))
        .await
        .map_err(|e| Error::Internal(format!("password check task: {e}")))?;
    match row {
        Some(row) if matches && row.is_active => {
            ctx.accounts.succeeded(username);
            Ok(row.into())
        }
        _ => {
            ctx.accounts.failed(username);
            Err(AuthError::Refused(SignInRefused::Credentials))
        }
    }
}

/// Why [`authenticate`] did not let a user in.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The credentials were refused.
    #[error("sign-in refused: {0:?}")]
    Refused(SignInRefused),
    /// The check itself failed.
    #[error(transparent)]
    Failed(#[from] Error),
}

/// A started session: the cookie's value and when it ends.
#[derive(Debug)]
pub struct Session {
    /// The value of the session cookie (shown once; only its HMAC is stored).
    pub key: SecretString,
    /// When the session ends.
    pub expires: NaiveDateTime,
}

/// Starts a session for `user` (who passed [`authenticate`] and whatever the caller requires of
/// them) and records the sign-in time; expired sessions are purged on the way.
pub async fn start_session(ctx: &Ctx, user: &User) -> Result<Session, Error> {
    let key = random_hex(32);
    let key_hash = ctx.accounts.secret_key.sign(key.as_bytes());
    let now = datetime::now();
    let age = chrono::Duration::from_std(SESSION_AGE).unwrap_or(chrono::Duration::days(14));
    let expires = now + age;
    let id = user.id;
    ctx.db(move |c| {
        write_transaction(c, |c| {
            sessions::purge_expired(c, now)?;
            sessions::create(c, &key_hash, id, now, expires)?;
            users::touch_login(c, id, now)?;
            Ok::<_, Error>(())
        })
    })
    .await?;
    Ok(Session { key: SecretString::from(key), expires })
}

/// The active user of a session cookie's value, while the session lasts.
pub async fn session_user(ctx: &Ctx, key: &str) -> Result<Option<User>, Error> {
    let key_hash = ctx.accounts.secret_key.sign(key.as_bytes());
    ctx.db(move |c| Ok::<_, Error>(sessions::user_of(c, &key_hash, datetime::now())?.map(User::from))).await
}

/// Ends the session of a cookie's value.
pub async fn sign_out(ctx: &Ctx, key: &str) -> Result<(), Error> {
    let key_hash = ctx.accounts.secret_key.sign(key.as_bytes());
    ctx.db(move |c| Ok::<_, Error>(sessions::delete(c, &key_hash)?)).await
}

/// The latest `limit` entries of the audit trail.
pub async fn recent_actions(ctx: &Ctx, limit: i64) -> Result<Vec<audit::Entry>, Error> {
    ctx.db(move |c| Ok::<_, Error>(audit::recent(c, limit)?)).await
}

/// The audit entries of one object, oldest first.
pub async fn history(ctx: &Ctx, kind: &'static str, id: i32) -> Result<Vec<audit::Entry>, Error> {
    ctx.db(move |c| Ok::<_, Error>(audit::of_object(c, kind, id)?)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_phc_strings_that_verify() {
        let hash = hash_now("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify("correct horse battery", &hash));
        assert!(!verify("correct horse batterY", &hash));
        assert!(!verify("anything", "not a phc string"));
    }

    #[test]
    fn the_secret_key_signs_deterministically_and_differs_per_key() {
        let a = SecretKey::new(SecretString::from("a"));
        assert_eq!(a.sign(b"x"), a.sign(b"x"));
        assert_eq!(a.sign(b"x").len(), 64);
        assert_ne!(a.sign(b"x"), SecretKey::new(SecretString::from("b")).sign(b"x"));
        assert_eq!(format!("{a:?}"), "SecretKey([REDACTED])");
    }

    #[test]
    fn the_throttle_counts_failures_per_username() {
        let accounts = Accounts::new(SecretKey::random());
        for _ in 0..THROTTLE_FAILURES {
            assert!(!accounts.throttled("Ann"));
            accounts.failed("ann");
        }
        assert!(accounts.throttled("ANN"));
        assert!(!accounts.throttled("bob"));
        accounts.succeeded("ann");
        assert!(!accounts.throttled("ann"));
    }
}
