-- no-transaction
-- Plans outlive their organizer's account, on SQLite. Conventions as in 0001. Deleting a user
-- used to cascade to the plans they organised, so the people invited saw them vanish (404, gone
-- from their lists) and confirmed plans lost their history. Now a plan keeps its row with a
-- null organizer_id, as a booking keeps its history with a null plan_id (0001): the deletion
-- first cancels the plans still being organised (`users::delete_user`), and the others stay as
-- they were. A plan without an organizer is never being organised (plans_organizer_id_check):
-- nobody could confirm it.
--
-- SQLite cannot alter a foreign key: the table is rebuilt (same columns, same constraint and
-- index names), its rows set aside and copied back with the same ids, so every reference to a
-- plan stays good. Foreign keys are off meanwhile: with them on, dropping the table would first
-- delete its rows, cascading to plan_participants and emptying bookings.plan_id. That pragma
-- does nothing inside a transaction, hence `no-transaction` above and the script's own
-- transaction; they are on again before it ends. Not by creating the new table under another
-- name and renaming it (see 0009). Run again (a crash before sqlx recorded it), it rebuilds the
-- same table again.

PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE plans_old AS SELECT id, organizer_id, venue_id, start_time, party_size, status, created_at FROM plans;
DROP TABLE plans;
CREATE TABLE plans (
    id           BLOB PRIMARY KEY NOT NULL,
    organizer_id BLOB REFERENCES users (id) ON DELETE SET NULL,
    venue_id     BLOB NOT NULL REFERENCES venues (id) ON DELETE CASCADE,
    start_time   TEXT NOT NULL,
    party_size   INTEGER CONSTRAINT plans_party_size_check CHECK (party_size BETWEEN 1 AND 1000),
    status       TEXT NOT NULL CONSTRAINT plans_status_check CHECK (status IN ('draft', 'confirmed', 'cancelled')),
    created_at   TEXT NOT NULL,
    CONSTRAINT plans_organizer_id_check CHECK (organizer_id IS NOT NULL OR status <> 'draft')
);
INSERT INTO plans (id, organizer_id, venue_id, start_time, party_size, status, created_at)
    SELECT id, organizer_id, venue_id, start_time, party_size, status, created_at FROM plans_old ORDER BY id;
DROP TABLE plans_old;
CREATE INDEX plans_organizer_idx ON plans (organizer_id, id);
CREATE INDEX plans_venue_idx ON plans (venue_id, start_time);
CREATE INDEX plans_pending_start_idx ON plans (start_time, id) WHERE status = 'draft';

COMMIT;
PRAGMA foreign_keys = ON;
