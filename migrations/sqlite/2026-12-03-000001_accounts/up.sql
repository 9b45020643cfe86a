-- Accounts of the admin site (and, later, of the API), their server-side sessions, and the audit
-- trail of every change made through the admin.

CREATE TABLE kafkaml_user (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    username VARCHAR(150) NOT NULL UNIQUE,
    email VARCHAR(254) NOT NULL DEFAULT '',
    -- An argon2id PHC string; never the password.
    password TEXT NOT NULL,
    is_active BOOLEAN NOT NULL DEFAULT 1,
    is_staff BOOLEAN NOT NULL DEFAULT 0,
    is_superuser BOOLEAN NOT NULL DEFAULT 0,
    date_joined TIMESTAMP NOT NULL,
    last_login TIMESTAMP NULL
);

CREATE TABLE kafkaml_session (
    -- HMAC-SHA256 (keyed with SECRET_KEY) of the cookie's value, in hexadecimal: the cookie
    -- cannot be recovered from the table.
    key_hash VARCHAR(64) PRIMARY KEY NOT NULL,
    user_id INTEGER NOT NULL REFERENCES kafkaml_user(id) ON DELETE CASCADE,
    created TIMESTAMP NOT NULL,
    expires TIMESTAMP NOT NULL
);
CREATE INDEX kafkaml_session_user ON kafkaml_session (user_id);
CREATE INDEX kafkaml_session_expires ON kafkaml_session (expires);

CREATE TABLE kafkaml_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    time TIMESTAMP NOT NULL,
    -- Who acted: the user (NULL once deleted) and a description that outlives them.
    user_id INTEGER NULL REFERENCES kafkaml_user(id) ON DELETE SET NULL,
    actor VARCHAR(200) NOT NULL,
    -- add, change, delete, stop, resend, password…
    action VARCHAR(40) NOT NULL,
    -- The table's admin name (models, configurations, …) and the object.
    object_kind VARCHAR(40) NOT NULL,
    object_id INTEGER NULL,
    object_repr VARCHAR(200) NOT NULL,
    -- The names of the fields that changed, comma-separated (never their values).
    changed_fields TEXT NOT NULL DEFAULT ''
);
CREATE INDEX kafkaml_audit_time ON kafkaml_audit (time DESC, id DESC);
CREATE INDEX kafkaml_audit_object ON kafkaml_audit (object_kind, object_id);
