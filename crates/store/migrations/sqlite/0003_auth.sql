-- Authentication (issue 8), on SQLite. Conventions as in 0001. Nothing secret is stored in the
-- clear: passwords as Argon2id PHC strings, refresh tokens and the admin token as SHA-256 hex.
--
-- * user_credentials and refresh_tokens hang off users (deleted with them, emptied by a reset).
-- * server_secrets holds what every server on this database shares: the token signing secret
--   and the admin credential's hash. A reset keeps it: a reset clears data, not credentials.

CREATE TABLE user_credentials (
    user_id       BLOB PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL CONSTRAINT user_credentials_password_hash_check
        CHECK (password_hash LIKE '$argon2id$%'),
    updated_at    TEXT NOT NULL
);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL CONSTRAINT refresh_tokens_token_hash_check CHECK (length(token_hash) = 64),
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    -- Set when the token is used (rotated) or revoked; a used token is never accepted again.
    revoked_at TEXT
);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

CREATE TABLE server_secrets (
    name       TEXT PRIMARY KEY NOT NULL CONSTRAINT server_secrets_name_check
        CHECK (name IN ('signing_secret', 'admin_token_hash')),
    value      TEXT NOT NULL CONSTRAINT server_secrets_value_check CHECK (length(value) BETWEEN 32 AND 200),
    updated_at TEXT NOT NULL
);
