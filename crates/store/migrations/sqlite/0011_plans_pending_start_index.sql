-- An index of the plans still being organised by start time, on SQLite. Conventions as in
-- 0001. Every server's janitor looks every 30 seconds for the plans whose start time has come
-- without a booking (WHERE status = 'draft' AND start_time <= $1 ORDER BY start_time, id), to
-- cancel them; without an index that reads every plan ever made. This one holds only the plans
-- being organised, few beside the confirmed and cancelled ones.

CREATE INDEX plans_pending_start_idx ON plans (start_time, id) WHERE status = 'draft';
