-- The database's id, on PostgreSQL. Conventions as in 0001. server_secrets may hold
-- 'database_id': a random id the first server on a database stores (first writer wins, as the
-- other names), which every server on it then reads. It binds the Redis key prefix to this
-- database (a server refuses a prefix that another database's id holds), so it must never
-- change for one database: a reset keeps it, as it keeps the table. It is not secret; it lives
-- here because this is the table of what every server on one database shares.

ALTER TABLE server_secrets DROP CONSTRAINT server_secrets_name_check;
ALTER TABLE server_secrets ADD CONSTRAINT server_secrets_name_check
    CHECK (name IN ('signing_secret', 'admin_token_hash', 'database_id'));
