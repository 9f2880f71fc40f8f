-- Refresh token families, on PostgreSQL. Conventions as in 0001. A sign-in starts a family:
-- its refresh token's family_hash is its own hash, and each successor a rotation issues keeps
-- it, so a sign-out (POST /api/v1/auth/logout) revokes that one session and no other. Tokens
-- stored before this migration start their own families. The column stays nullable: a server
-- of the version before, still running during an upgrade, stores tokens without it, and those
-- count as families of their own (COALESCE(family_hash, token_hash)).

ALTER TABLE refresh_tokens ADD COLUMN family_hash TEXT;
UPDATE refresh_tokens SET family_hash = token_hash;
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_hash);
