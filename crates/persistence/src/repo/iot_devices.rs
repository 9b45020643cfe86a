//! `automl_iotdevice`: Tasmota devices reachable over MQTT.
//!
//! A device's `token` (8 upper-case hexadecimal characters, unique) is generated when absent; its
//! `friendly_name` is unique. `mqtt_password` is stored (the back-end needs it to talk to the
//! device's broker) but is write-only for the API: [`IotDevice`] has no password field.

use diesel::prelude::*;
use kafkaml_domain::iot::{is_token, IotDevice};
use kafkaml_domain::{Named, Violation};
use secrecy::SecretString;

use crate::db::{gone, write_transaction, DbConnection};
use crate::error::{DbError, DbResult};
use crate::schema::automl_iotdevice as d;
use crate::with_conn;

/// A row of `automl_iotdevice`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = d)]
pub struct IotDeviceRow {
    /// The device's id.
    pub id: i32,
    /// The unique device token.
    pub token: String,
    /// The unique name of the device.
    pub friendly_name: String,
    /// Host name or IP address of the device's MQTT broker.
    pub mqtt_address: String,
    /// Port of the broker.
    pub mqtt_port: i32,
    /// User name on the broker.
    pub mqtt_username: String,
    /// Password on the broker (write-only: exposed only to connect to the broker).
    #[diesel(deserialize_as = String)]
    pub mqtt_password: SecretString,
}

impl From<IotDeviceRow> for IotDevice {
    fn from(r: IotDeviceRow) -> Self {
        IotDevice {
            id: r.id,
            friendly_name: r.friendly_name,
            token: r.token,
            mqtt_address: r.mqtt_address,
            mqtt_port: r.mqtt_port,
            mqtt_username: r.mqtt_username,
        }
    }
}

/// A device to store; `token: None` generates one.
#[derive(Clone, PartialEq, Eq)]
pub struct NewIotDevice {
    /// Unique device token; `None` generates one.
    pub token: Option<String>,
    /// Unique name of the device.
    pub friendly_name: String,
    /// Host name or IP address of the device's MQTT broker.
    pub mqtt_address: String,
    /// Port of the broker.
    pub mqtt_port: i32,
    /// User name on the broker.
    pub mqtt_username: String,
    /// Password on the broker.
    pub mqtt_password: String,
}

#[derive(Insertable)]
#[diesel(table_name = d)]
struct InsertRow<'a> {
    token: &'a str,
    friendly_name: &'a str,
    mqtt_address: &'a str,
    mqtt_port: i32,
    mqtt_username: &'a str,
    mqtt_password: &'a str,
}

/// Changes to a device; `None` keeps a field (an update without a password keeps the stored one).
#[derive(Clone, Default, PartialEq, Eq, AsChangeset)]
#[diesel(table_name = d)]
pub struct IotDeviceChanges {
    /// New unique device token.
    pub token: Option<String>,
    /// New unique name of the device.
    pub friendly_name: Option<String>,
    /// New host name or IP address of the device's MQTT broker.
    pub mqtt_address: Option<String>,
    /// New port of the broker.
    pub mqtt_port: Option<i32>,
    /// New user name on the broker.
    pub mqtt_username: Option<String>,
    /// New password on the broker.
    pub mqtt_password: Option<String>,
}

impl IotDeviceChanges {
    fn is_empty(&self) -> bool {
        *self == IotDeviceChanges::default()
    }
}

/// A fresh token: the first 8 characters of a random UUID, upper-cased (as the reference), so
/// always 8 hexadecimal characters.
pub fn generate_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_ascii_uppercase()
}

fn name_taken(name: &str) -> DbError {
    Violation::NameTaken { kind: Named::IotDevice, name: name.to_owned() }.into()
}

fn token_taken(token: &str) -> DbError {
    Violation::DeviceTokenTaken(token.to_owned()).into()
}

/// Turns a unique violation that slipped past the checks (a concurrent write) into the same rule.
fn unique_rule(e: DbError, name: &str, token: &str) -> DbError {
    match e {
        DbError::Unique(what) if what.contains("token") => token_taken(token),
        DbError::Unique(what) if what.contains("friendly_name") => name_taken(name),
        other => other,
    }
}

fn check_free(conn: &mut DbConnection, name: Option<&str>, token: Option<&str>, except: Option<i32>) -> DbResult<()> {
    if let Some(name) = name {
        let taken: Option<i32> =
            with_conn!(conn, |c| d::table.filter(d::friendly_name.eq(name)).select(d::id).first(c).optional())?;
        if taken.is_some_and(|id| Some(id) != except) {
            return Err(name_taken(name));
        }
    }
    if let Some(token) = token {
        if !is_token(token) {
            return Err(Violation::NotADeviceToken(token.to_owned()).into());
        }
        let taken: Option<i32> =
            with_conn!(conn, |c| d::table.filter(d::token.eq(token)).select(d::id).first(c).optional())?;
        if taken.is_some_and(|id| Some(id) != except) {
            return Err(token_taken(token));
        }
    }
    Ok(())
}

fn free_token(conn: &mut DbConnection) -> DbResult<String> {
    for _ in 0..16 {
        let token = generate_token();
        let taken: i64 = with_conn!(conn, |c| d::table.filter(d::token.eq(&token)).count().get_result(c))?;
        if taken == 0 {
            return Ok(token);
        }
    }
    Err(Violation::NoFreeDeviceToken.into())
}

/// Lists devices by `friendly_name` (byte order, the same on both backends), in one statement.
pub fn list(conn: &mut DbConnection) -> DbResult<Vec<IotDeviceRow>> {
    let mut rows: Vec<IotDeviceRow> =
        with_conn!(conn, |c| d::table.select(IotDeviceRow::as_select()).order(d::id.asc()).load(c))?;
    rows.sort_by(|a, b| a.friendly_name.cmp(&b.friendly_name));
    Ok(rows)
}

/// One device.
pub fn find_row(conn: &mut DbConnection, id: i32) -> DbResult<Option<IotDeviceRow>> {
    Ok(with_conn!(conn, |c| d::table.find(id).select(IotDeviceRow::as_select()).first(c).optional())?)
}

/// The device with this token.
pub fn find_by_token(conn: &mut DbConnection, token: &str) -> DbResult<Option<IotDeviceRow>> {
    Ok(with_conn!(conn, |c| d::table.filter(d::token.eq(token)).select(IotDeviceRow::as_select()).first(c).optional())?)
}

/// The devices with these tokens (unknown tokens have none), in one statement, in the order of
/// `tokens`, each once.
pub fn find_by_tokens(conn: &mut DbConnection, tokens: &[String]) -> DbResult<Vec<IotDeviceRow>> {
    if tokens.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<IotDeviceRow> =
        with_conn!(conn, |c| d::table.filter(d::token.eq_any(tokens)).select(IotDeviceRow::as_select()).load(c))?;
    let mut ordered: Vec<IotDeviceRow> = Vec::with_capacity(rows.len());
    for token in tokens {
        if let Some(row) = rows.iter().find(|r| &r.token == token) {
            if !ordered.iter().any(|o| o.id == row.id) {
                ordered.push(row.clone());
            }
        }
    }
    Ok(ordered)
}

/// Stores a device (generating its token when absent), then runs `after_insert` with the new row
/// (e.g. to create its file folder); the insert is undone when that fails.
pub fn create<F>(conn: &mut DbConnection, new: &NewIotDevice, after_insert: F) -> DbResult<IotDeviceRow>
where
    F: FnOnce(&IotDeviceRow) -> std::io::Result<()>,
{
    write_transaction(conn, |conn| {
        check_free(conn, Some(&new.friendly_name), new.token.as_deref(), None)?;
        let token = match &new.token {
            Some(token) => token.clone(),
            None => free_token(conn)?,
        };
        let insert = InsertRow {
            token: &token,
            friendly_name: &new.friendly_name,
            mqtt_address: &new.mqtt_address,
            mqtt_port: new.mqtt_port,
            mqtt_username: &new.mqtt_username,
            mqtt_password: &new.mqtt_password,
        };
        let row: IotDeviceRow = with_conn!(conn, |c| diesel::insert_into(d::table)
            .values(&insert)
            .returning(IotDeviceRow::as_returning())
            .get_result(c))
        .map_err(|e| unique_rule(e.into(), &new.friendly_name, &token))?;
        after_insert(&row)?;
        Ok(row)
    })
}

/// Applies `changes` to device `id`, then runs `after_update` with the rows before and after (e.g.
/// to move its file folder when the token changed); the update is undone when that fails.
pub fn update<F>(
    conn: &mut DbConnection,
    id: i32,
    changes: &IotDeviceChanges,
    after_update: F,
) -> DbResult<IotDeviceRow>
where
    F: FnOnce(&IotDeviceRow, &IotDeviceRow) -> std::io::Result<()>,
{
    write_transaction(conn, |conn| {
        let before = find_row(conn, id)?.ok_or(DbError::NotFound)?;
        let name = changes.friendly_name.as_deref().filter(|n| *n != before.friendly_name);
        let token = changes.token.as_deref().filter(|t| *t != before.token);
        check_free(conn, name, token, Some(id))?;
        if !changes.is_empty() {
            with_conn!(conn, |c| diesel::update(d::table.find(id)).set(changes).execute(c)).map_err(|e| {
                unique_rule(
                    e.into(),
                    changes.friendly_name.as_deref().unwrap_or_default(),
                    changes.token.as_deref().unwrap_or_default(),
                )
            })?;
        }
        let after = find_row(conn, id)?.ok_or(DbError::NotFound)?;
        after_update(&before, &after)?;
        Ok(after)
    })
}

/// Deletes device `id` and returns its row (the caller removes its files).
pub fn delete(conn: &mut DbConnection, id: i32) -> DbResult<IotDeviceRow> {
    write_transaction(conn, |conn| {
        let row = find_row(conn, id)?.ok_or(DbError::NotFound)?;
        gone(with_conn!(conn, |c| diesel::delete(d::table.find(id)).execute(c))?)?;
        Ok(row)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{run_migrations, ConnectionManager};
    use secrecy::ExposeSecret;

    fn db() -> (tempfile::TempDir, DbConnection) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.sqlite3").display());
        let mut conn = ConnectionManager::new(&url).connect().unwrap();
        run_migrations(&mut conn).unwrap();
        (dir, conn)
    }

    fn new(name: &str, token: Option<&str>) -> NewIotDevice {
        NewIotDevice {
            token: token.map(str::to_owned),
            friendly_name: name.to_owned(),
            mqtt_address: "broker".to_owned(),
            mqtt_port: 1883,
            mqtt_username: "u".to_owned(),
            mqtt_password: "secret".to_owned(),
        }
    }

    #[test]
    fn tokens_are_generated_unique_and_names_unique() {
        let (_dir, mut conn) = db();
        let a = create(&mut conn, &new("b-dev", None), |_| Ok(())).unwrap();
        assert!(is_token(&a.token), "{}", a.token);
        let b = create(&mut conn, &new("a-dev", Some("0000ABCD")), |_| Ok(())).unwrap();
        assert_eq!(b.token, "0000ABCD");
        let e = create(&mut conn, &new("b-dev", None), |_| Ok(())).unwrap_err();
        assert_eq!(e.to_string(), "An IoT device named 'b-dev' already exists.");
        let e = create(&mut conn, &new("c-dev", Some("0000ABCD")), |_| Ok(())).unwrap_err();
        assert_eq!(e.to_string(), "An IoT device with the token '0000ABCD' already exists.");
        let names: Vec<String> = list(&mut conn).unwrap().into_iter().map(|r| r.friendly_name).collect();
        assert_eq!(names, ["a-dev", "b-dev"]);
        assert!(!format!("{a:?}").contains("secret"));
    }

    #[test]
    fn a_failing_hook_undoes_the_write() {
        let (_dir, mut conn) = db();
        let e = create(&mut conn, &new("dev", None), |_| Err(std::io::Error::other("disk full"))).unwrap_err();
        assert!(matches!(e, DbError::Io(_)), "{e}");
        assert!(list(&mut conn).unwrap().is_empty());
        let row = create(&mut conn, &new("dev", Some("11112222")), |_| Ok(())).unwrap();
        let changes = IotDeviceChanges { friendly_name: Some("renamed".into()), ..Default::default() };
        update(&mut conn, row.id, &changes, |_, _| Err(std::io::Error::other("no"))).unwrap_err();
        assert_eq!(find_row(&mut conn, row.id).unwrap().unwrap().friendly_name, "dev");
    }

    #[test]
    fn updates_keep_the_password_unless_given() {
        let (_dir, mut conn) = db();
        let row = create(&mut conn, &new("dev", None), |_| Ok(())).unwrap();
        let changes = IotDeviceChanges { mqtt_port: Some(1884), ..Default::default() };
        let mut seen = None;
        let after = update(&mut conn, row.id, &changes, |b, a| {
            seen = Some((b.mqtt_port, a.mqtt_port));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, Some((1883, 1884)));
        assert_eq!(after.mqtt_password.expose_secret(), "secret");
        let changes = IotDeviceChanges { mqtt_password: Some("new".into()), ..Default::default() };
        assert_eq!(update(&mut conn, row.id, &changes, |_, _| Ok(())).unwrap().mqtt_password.expose_secret(), "new");
        // Nothing to change is fine, and renaming to its own name is not a conflict.
        let same = IotDeviceChanges {
            friendly_name: Some("dev".into()),
            token: Some(row.token.clone()),
            ..Default::default()
        };
        update(&mut conn, row.id, &same, |_, _| Ok(())).unwrap();
        update(&mut conn, row.id, &IotDeviceChanges::default(), |_, _| Ok(())).unwrap();
        assert!(matches!(update(&mut conn, 999, &changes, |_, _| Ok(())), Err(DbError::NotFound)));
    }

    #[test]
    fn lookups_by_token_and_delete() {
        let (_dir, mut conn) = db();
        let a = create(&mut conn, &new("a", Some("AAAAAAAA")), |_| Ok(())).unwrap();
        let b = create(&mut conn, &new("b", Some("BBBBBBBB")), |_| Ok(())).unwrap();
        let found = find_by_tokens(&mut conn, &["BBBBBBBB".into(), "CCCCCCCC".into(), "AAAAAAAA".into()]).unwrap();
        assert_eq!(found.iter().map(|r| r.id).collect::<Vec<_>>(), [b.id, a.id]);
        assert_eq!(find_by_token(&mut conn, "AAAAAAAA").unwrap().unwrap().id, a.id);
        assert!(find_by_token(&mut conn, "aaaaaaaa").unwrap().is_none());
        assert_eq!(delete(&mut conn, a.id).unwrap().token, "AAAAAAAA");
        assert!(matches!(delete(&mut conn, a.id), Err(DbError::NotFound)));
    }
}
