//! Who acts, and the audit trail of what they changed.
//!
//! Every mutating use case takes the [`Actor`] that asked for it and, inside the transaction of
//! its change, calls [`Actor::record`] with a [`Change`]: the entry commits or rolls back with
//! the change. Anonymous callers (the open API while authentication is off) leave no entry.

use kafkaml_domain::datetime;
use kafkaml_persistence::repo::audit::{self, NewEntry};
use kafkaml_persistence::{DbConnection, DbError};

/// Who asked for a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A caller without an identity (the REST API while authentication is off).
    Anonymous,
    /// A signed-in user.
    User {
        /// The user's id.
        id: i32,
        /// The user's name (kept in the entry when the user is deleted).
        username: String,
    },
    /// A user's API token.
    Token {
        /// The token's user.
        user_id: i32,
        /// That user's name.
        username: String,
        /// The token's name.
        token: String,
    },
    /// A training or inference pod, through the capability in the URL it was given.
    Pod {
        /// `training` or `inference`.
        purpose: &'static str,
        /// The result the capability is for.
        result_id: i32,
    },
    /// The back-end itself (a command run by the operator, a watcher).
    System(&'static str),
}

/// One change, as the audit trail records it.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    /// What was done: `add`, `change`, `delete`, `stop`, `resend`, …
    pub action: &'a str,
    /// The kind of object: the admin's table name (`models`, `results`, `users`, …).
    pub kind: &'a str,
    /// The object's id.
    pub id: Option<i32>,
    /// How the object is shown (its name, or `Result 3`).
    pub repr: &'a str,
    /// The names of the fields that changed (never their values).
    pub fields: &'a [&'a str],
}

impl<'a> Change<'a> {
    /// A change without field names.
    pub fn new(action: &'a str, kind: &'a str, id: Option<i32>, repr: &'a str) -> Self {
        Change { action, kind, id, repr, fields: &[] }
    }

    /// The same change naming the fields that changed.
    pub fn fields(self, fields: &'a [&'a str]) -> Self {
        Change { fields, ..self }
    }
}

impl Actor {
    /// Writes `change` to the audit trail on `c`, inside the caller's transaction. Anonymous
    /// changes are not recorded.
    pub fn record(&self, c: &mut DbConnection, change: &Change<'_>) -> Result<(), DbError> {
        let (user_id, actor) = match self {
            Actor::Anonymous => return Ok(()),
            Actor::User { id, username } => (Some(*id), username.clone()),
            Actor::Token { user_id, username, token } => (Some(*user_id), format!("{username} (token {token})")),
            Actor::Pod { purpose, result_id } => (None, format!("{purpose} pod of result {result_id}")),
            Actor::System(what) => (None, (*what).to_owned()),
        };
        let fields = change.fields.join(",");
        audit::record(
            c,
            &NewEntry {
                time: datetime::now(),
                user_id,
                actor: &actor,
                action: change.action,
                object_kind: change.kind,
                object_id: change.id,
                object_repr: change.repr,
                changed_fields: &fields,
            },
        )
    }
}
