//! API tokens: a random key that acts for its user, with the user's role, until it expires or is
//! revoked. The key is shown once, when created; the database keeps its SHA-256 (the key is 256
//! random bits, so a plain hash cannot be reversed) and its first characters, to recognise it in
//! lists. Created in the admin site and by `kafkaml-backend createtoken`.

use chrono::NaiveDateTime;
use kafkaml_domain::datetime;
use kafkaml_persistence::repo::tokens::{self, NewToken, TokenRow};
use kafkaml_persistence::repo::users;
use kafkaml_persistence::write_transaction;
use secrecy::SecretString;
use sha2::{Digest, Sha256};

use crate::usecase::accounts::{hex, random_hex, User};
use crate::usecase::{Actor, Change, Ctx, Error, Missing};

/// What every key starts with, so that a leaked key is recognisable (secret scanners, logs).
pub const KEY_PREFIX: &str = "kml_";

/// How many characters of a key the lists show.
const SHOWN: usize = KEY_PREFIX.len() + 8;

/// The longest name of a token.
pub const MAX_NAME: usize = 100;

/// How often a token's last use is written at most (a busy token is not a write per request).
const TOUCH_INTERVAL: chrono::Duration = chrono::Duration::seconds(60);

/// A token as lists show it: never its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The token's id.
    pub id: i32,
    /// The user it acts for.
    pub user_id: i32,
    /// That user's name.
    pub username: String,
    /// What it is for.
    pub name: String,
    /// The key's first characters.
    pub key_prefix: String,
    /// When it was created.
    pub created: NaiveDateTime,
    /// When it stops working, if ever.
    pub expires: Option<NaiveDateTime>,
    /// When it was last used (to the minute).
    pub last_used: Option<NaiveDateTime>,
}

impl Token {
    fn of(row: TokenRow, username: String) -> Self {
        Token {
            id: row.id,
            user_id: row.user_id,
            username,
            name: row.name,
            key_prefix: row.key_prefix,
            created: row.created,
            expires: row.expires,
            last_used: row.last_used,
        }
    }

    /// The actor of what this token does, in the audit trail.
    pub fn actor(&self) -> Actor {
        Actor::Token { user_id: self.user_id, username: self.username.clone(), token: self.name.clone() }
    }
}

/// How a token is named in messages and the audit trail: `ci (ann)`.
pub fn repr(name: &str, username: &str) -> String {
    format!("{name} ({username})")
}

impl Token {
    /// How this token is named in messages and the audit trail ([`repr`]).
    pub fn repr(&self) -> String {
        repr(&self.name, &self.username)
    }
}

/// A new token and its key, which is shown this once.
#[derive(Debug)]
pub struct Created {
    /// The token.
    pub token: Token,
    /// Its key: what clients send as `Authorization: Token <key>` (or `Bearer <key>`).
    pub key: SecretString,
}

/// The SHA-256 of a key, in hexadecimal: what the table keeps.
pub fn key_hash(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

/// What an expiry may be written as (the refusal's words).
const EXPIRY_FORMS: &str = "a duration from now (30d, 12h, 90m), a date (YYYY-MM-DD: midnight UTC at its start) \
     or a date-time (RFC 3339), or nothing for never";

/// When a token written as `text` expires, counted from `now`: a duration (`30d`, `12h`, `90m`),
/// a date (`2027-01-31`: midnight UTC at its start), a date-time (RFC 3339; without an offset,
/// UTC); empty or `never` is never. Whether it is in the future is [`create_token`]'s rule.
pub fn parse_expiry(text: &str, now: NaiveDateTime) -> Result<Option<NaiveDateTime>, Error> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("never") {
        return Ok(None);
    }
    let refused = || invalid("expires", &format!("give {EXPIRY_FORMS}."));
    let unit = text.chars().last().unwrap_or_default();
    if let (Some(amount), true) = (text[..text.len() - unit.len_utf8()].parse::<i64>().ok(), unit.is_alphabetic()) {
        let duration = match unit.to_ascii_lowercase() {
            'm' => chrono::Duration::try_minutes(amount),
            'h' => chrono::Duration::try_hours(amount),
            'd' => chrono::Duration::try_days(amount),
            'w' => chrono::Duration::try_weeks(amount),
            _ => None,
        };
        return duration.filter(|_| amount >= 0).and_then(|d| now.checked_add_signed(d)).map(Some).ok_or_else(refused);
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(Some(date.and_time(chrono::NaiveTime::MIN)));
    }
    datetime::parse(text).map(Some).ok_or_else(refused)
}

/// A refusal of a token's field: `"Token not valid: {field}: {message}"`.
fn invalid(field: &str, message: &str) -> Error {
    Error::Invalid { prefix: "Token not valid", message: format!("{field}: {message}") }
}

/// Creates a token for active user `user_id`, named `name`, valid until `expires` (for ever when
/// `None`). Refusals name the field at fault (`name`, `expires`, `user`).
pub async fn create_token(
    ctx: &Ctx,
    actor: &Actor,
    user_id: i32,
    name: &str,
    expires: Option<NaiveDateTime>,
) -> Result<Created, Error> {
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(invalid("name", &format!("1 to {MAX_NAME} characters, without control characters.")));
    }
    let now = datetime::now();
    if expires.is_some_and(|e| e <= now) {
        return Err(invalid("expires", "it is in the past."));
    }
    let key = format!("{KEY_PREFIX}{}", random_hex(32));
    let hash = key_hash(&key);
    let shown = key[..SHOWN].to_owned();
    let actor = actor.clone();
    let token = ctx
        .db(move |c| {
            write_transaction(c, |c| {
                let user = users::get(c, user_id)?.ok_or(Error::NotFound(Missing::Object))?;
                if !user.is_active {
                    let message = format!("{} is inactive: a token would not work.", user.username);
                    return Err(invalid("user", &message));
                }
                let new = NewToken { user_id, name: &name, key_prefix: &shown, key_hash: &hash, created: now, expires };
                let id = tokens::create(c, &new)?;
                actor.record(c, &Change::new("add", "tokens", Some(id), &repr(&name, &user.username)))?;
                let row = tokens::get(c, id)?.ok_or(Error::NotFound(Missing::Object))?;
                Ok::<_, Error>(Token::of(row, user.username))
            })
        })
        .await?;
    Ok(Created { token, key: SecretString::from(key) })
}

/// Every token, newest first (only `user_id`'s when given).
pub async fn list_tokens(ctx: &Ctx, user_id: Option<i32>) -> Result<Vec<Token>, Error> {
    ctx.db(move |c| {
        Ok::<_, Error>(tokens::list(c, user_id)?.into_iter().map(|(row, username)| Token::of(row, username)).collect())
    })
    .await
}

/// The token with this id.
pub async fn token(ctx: &Ctx, id: i32) -> Result<Option<Token>, Error> {
    ctx.db(move |c| {
        let Some(row) = tokens::get(c, id)? else { return Ok(None) };
        let username = users::get(c, row.user_id)?.map(|u| u.username).unwrap_or_default();
        Ok::<_, Error>(Some(Token::of(row, username)))
    })
    .await
}

/// Revokes token `id`: its key stops working at once, on every replica.
pub async fn revoke_token(ctx: &Ctx, actor: &Actor, id: i32) -> Result<(), Error> {
    let actor = actor.clone();
    ctx.db(move |c| {
        write_transaction(c, |c| {
            let row = tokens::get(c, id)?.ok_or(Error::NotFound(Missing::Object))?;
            let username = users::get(c, row.user_id)?.map(|u| u.username).unwrap_or_default();
            actor.record(c, &Change::new("revoke", "tokens", Some(id), &repr(&row.name, &username)))?;
            tokens::delete(c, id)?;
            Ok(())
        })
    })
    .await
}

/// The active user a key acts for and its token, while the token lasts; records its use (at
/// most once a minute). A key that does not look like one of ours is not looked up.
pub async fn token_user(ctx: &Ctx, key: &str) -> Result<Option<(User, Token)>, Error> {
    if !key.starts_with(KEY_PREFIX) || key.len() > 128 {
        return Ok(None);
    }
    let hash = key_hash(key);
    ctx.db(move |c| {
        let now = datetime::now();
        let Some((row, user)) = tokens::find_active(c, &hash, now)? else { return Ok(None) };
        if row.last_used.is_none_or(|t| t < now - TOUCH_INTERVAL) {
            // Best effort: a busy database must not refuse a valid key over a display field.
            if let Err(e) = tokens::touch(c, row.id, now, now - TOUCH_INTERVAL) {
                tracing::warn!(token = row.id, error = %e, "could not record a token's use");
            }
        }
        let user = User::from(user);
        let token = Token::of(row, user.username.clone());
        Ok::<_, Error>(Some((user, token)))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_hash_to_64_hex_digits_and_differ() {
        let a = key_hash("kml_a");
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, key_hash("kml_b"));
    }

    #[test]
    fn expiries_are_durations_dates_or_date_times() {
        let now = datetime::parse("2026-12-03T14:00:00Z").unwrap();
        let at = |text: &str| datetime::parse(text).unwrap();
        for (text, expected) in [
            ("", None),
            (" never ", None),
            ("90m", Some(at("2026-12-03T15:30:00Z"))),
            ("12h", Some(at("2026-12-04T02:00:00Z"))),
            ("30d", Some(at("2027-01-02T14:00:00Z"))),
            ("2W", Some(at("2026-12-17T14:00:00Z"))),
            ("2027-01-31", Some(at("2027-01-31T00:00:00Z"))),
            ("2027-01-31T12:00:00+02:00", Some(at("2027-01-31T10:00:00Z"))),
            ("2027-01-31T12:00:00", Some(at("2027-01-31T12:00:00Z"))),
        ] {
            assert_eq!(parse_expiry(text, now).unwrap(), expected, "{text}");
        }
        for bad in ["tomorrow", "30", "30x", "-1d", "d", "1.5h", "2027-02-30", "99999999999999d", "30 days"] {
            let error = parse_expiry(bad, now).unwrap_err().to_string();
            assert!(error.starts_with("Token not valid: expires: give a duration"), "{bad}: {error}");
        }
    }
}
