-- Authentication of the REST API: what each user may do there, and their API tokens.

-- viewer (reads) or operator (everything but users and tokens); a superuser may do everything
-- whatever this says. Staff users were the admin's editors until now: they become operators.
ALTER TABLE kafkaml_user ADD COLUMN role VARCHAR(20) NOT NULL DEFAULT 'viewer';
UPDATE kafkaml_user SET role = 'operator' WHERE is_staff OR is_superuser;

CREATE TABLE kafkaml_token (
    id SERIAL PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES kafkaml_user(id) ON DELETE CASCADE,
    name VARCHAR(100) NOT NULL,
    -- The key's first characters, to recognise it in lists; the key itself is shown once.
    key_prefix VARCHAR(16) NOT NULL,
    -- SHA-256 of the whole key, in hexadecimal (the key is 256 random bits: no salt needed).
    key_hash VARCHAR(64) NOT NULL UNIQUE,
    created TIMESTAMP NOT NULL,
    expires TIMESTAMP NULL,
    last_used TIMESTAMP NULL
);
CREATE INDEX kafkaml_token_user ON kafkaml_token (user_id);
