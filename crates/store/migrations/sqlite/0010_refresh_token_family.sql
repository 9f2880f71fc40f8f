-- Refresh token families, on SQLite. Conventions as in 0001. A sign-in starts a family: its
-- refresh token's family_hash is its own hash, and each successor a rotation issues keeps it,
-- so a sign-out (POST /api/v1/auth/logout) revokes that one session and no other. Tokens
-- stored before this migration start their own families (SQLite adds a NOT NULL column only
-- with a default: the empty one is replaced at once and never written again).

ALTER TABLE refresh_tokens ADD COLUMN family_hash TEXT NOT NULL DEFAULT '';
UPDATE refresh_tokens SET family_hash = token_hash;
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_hash);
