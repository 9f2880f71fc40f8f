-- no-transaction
-- (CREATE INDEX CONCURRENTLY cannot run in a transaction: sqlx applies this file without one.)
-- An index of the outbox's dead letters, on PostgreSQL. Conventions as in 0001. The rows set
-- aside (dead_at IS NOT NULL, 0006) are few beside the published and pending ones, but the
-- listing of them (paged by id: WHERE dead_at IS NOT NULL AND id > $1 ORDER BY id LIMIT $2),
-- their count (stats, /health, luna check) and the redrive of them all read the whole outbox
-- without one. This one holds only those rows, in the listing's order. The outbox keeps its
-- published rows, so it can be large: the index is built CONCURRENTLY, without blocking the
-- writers (every event's transaction adds a row) while it scans the table. A build cut short
-- leaves an invalid index that the next start passes over (IF NOT EXISTS) rather than stopping
-- on: `REINDEX INDEX CONCURRENTLY outbox_dead_idx` rebuilds it.

CREATE INDEX CONCURRENTLY IF NOT EXISTS outbox_dead_idx ON outbox (id) WHERE dead_at IS NOT NULL;
