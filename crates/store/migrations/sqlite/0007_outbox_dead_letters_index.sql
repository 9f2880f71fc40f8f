-- An index of the outbox's dead letters, on SQLite. Conventions as in 0001. The rows set
-- aside (dead_at IS NOT NULL, 0006) are few beside the published and pending ones, but the
-- listing of them (paged by id: WHERE dead_at IS NOT NULL AND id > $1 ORDER BY id LIMIT $2),
-- their count (stats, /health, luna check) and the redrive of them all read the whole outbox
-- without one. This one holds only those rows, in the listing's order.

CREATE INDEX outbox_dead_idx ON outbox (id) WHERE dead_at IS NOT NULL;
