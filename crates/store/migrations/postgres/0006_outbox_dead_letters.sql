-- Dead letters of the outbox, on PostgreSQL. Conventions as in 0001. A row whose event cannot be
-- read back (a type this version does not know, a payload not of its type's shape) stopped the
-- relay for good: it failed on that row at every pass. The relay now sets such a row aside: it
-- stamps dead_at and says why in dead_reason, and keeps the row for operators
-- (SELECT id, event_type, payload, dead_reason FROM outbox WHERE dead_at IS NOT NULL).
-- A row set aside is neither pending nor published, and never pruned.

ALTER TABLE outbox ADD COLUMN dead_at TIMESTAMPTZ;
ALTER TABLE outbox ADD COLUMN dead_reason TEXT;
DROP INDEX outbox_unpublished_idx;
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL AND dead_at IS NULL;
