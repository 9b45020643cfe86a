//! Callers of the API for authentication tests: users of each role with an API token, stored
//! directly in the database.

use kafkaml_api::usecase::accounts::hash_password;
use kafkaml_api::usecase::tokens::{key_hash, KEY_PREFIX};
use kafkaml_domain::Role;
use kafkaml_persistence::repo::tokens::{self, NewToken};
use kafkaml_persistence::repo::users::{self, NewUser};
use secrecy::SecretString;

use crate::admin::SUPERUSER_PASSWORD;
use crate::{TestApp, TestDb};

/// Who a test calls the API as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum As {
    /// A user with role viewer.
    Viewer,
    /// A user with role operator.
    Operator,
    /// A superuser (stored role viewer: the flag alone gives every right).
    Superuser,
}

impl TestApp {
    /// A staff user `username` of `role` (password [`SUPERUSER_PASSWORD`]) with an API token
    /// named `cli`; returns the user's id and the token's key.
    pub async fn user_with_token(&self, username: &str, role: As) -> (i32, String) {
        user_with_token(&self.db, username, role).await
    }
}

/// [`TestApp::user_with_token`] in any test database.
pub async fn user_with_token(db: &TestDb, username: &str, role: As) -> (i32, String) {
    {
        let hash = hash_password(SecretString::from(SUPERUSER_PASSWORD.to_owned())).await.unwrap();
        let now = kafkaml_domain::datetime::now();
        let new = NewUser {
            username,
            email: "",
            password_hash: &hash,
            is_active: true,
            is_staff: true,
            is_superuser: role == As::Superuser,
            date_joined: now,
            role: if role == As::Operator { Role::Operator } else { Role::Viewer },
        };
        let mut conn = db.connect();
        let id = users::create(&mut conn, &new).unwrap();
        let key = format!("{KEY_PREFIX}{username}-{:064}", id);
        let hash = key_hash(&key);
        let token =
            NewToken { user_id: id, name: "cli", key_prefix: &key[..12], key_hash: &hash, created: now, expires: None };
        tokens::create(&mut conn, &token).unwrap();
        (id, key)
    }
}
