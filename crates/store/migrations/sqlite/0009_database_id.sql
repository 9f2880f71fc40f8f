-- The database's id, on SQLite. Conventions as in 0001. server_secrets may hold 'database_id':
-- a random id the first server on a database stores (first writer wins, as the other names),
-- which every server on it then reads. It binds the Redis key prefix to this database (a
-- server refuses a prefix that another database's id holds), so it must never change for one
-- database: a reset keeps it, as it keeps the table. It is not secret; it lives here because
-- this is the table of what every server on one database shares.
--
-- SQLite cannot alter a CHECK: the table is rebuilt with the wider one (same columns, same
-- constraint names; its only index is its primary key's), its rows set aside and copied back.
-- Not by creating the new table under another name and renaming it: ALTER TABLE ... RENAME
-- opens the connection's temporary database, after which the store's `PRAGMA temp_store`
-- inside a transaction (finish_bulk_load, run at every open) fails. No other table refers to
-- this one.

CREATE TABLE server_secrets_old AS SELECT name, value, updated_at FROM server_secrets;
DROP TABLE server_secrets;
CREATE TABLE server_secrets (
    name       TEXT PRIMARY KEY NOT NULL CONSTRAINT server_secrets_name_check
        CHECK (name IN ('signing_secret', 'admin_token_hash', 'database_id')),
    value      TEXT NOT NULL CONSTRAINT server_secrets_value_check CHECK (length(value) BETWEEN 32 AND 200),
    updated_at TEXT NOT NULL
);
INSERT INTO server_secrets (name, value, updated_at) SELECT name, value, updated_at FROM server_secrets_old;
DROP TABLE server_secrets_old;
