-- no-transaction
-- (CREATE INDEX CONCURRENTLY cannot run in a transaction: sqlx applies this file without one.)
-- An index of the plans still being organised by start time, on PostgreSQL. Conventions as in
-- 0001. Every server's janitor looks every 30 seconds for the plans whose start time has come
-- without a booking (WHERE status = 'draft' AND start_time <= $1 ORDER BY start_time, id), to
-- cancel them; without an index that reads every plan ever made. This one holds only the plans
-- being organised, few beside the confirmed and cancelled ones. Built CONCURRENTLY, as 0007, so
-- the plans' writers are not blocked while it scans the table; a build cut short leaves an
-- invalid index that the next start passes over (IF NOT EXISTS): `REINDEX INDEX CONCURRENTLY
-- plans_pending_start_idx` rebuilds it.

CREATE INDEX CONCURRENTLY IF NOT EXISTS plans_pending_start_idx ON plans (start_time, id) WHERE status = 'draft';
