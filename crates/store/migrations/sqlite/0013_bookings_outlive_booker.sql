-- no-transaction
-- Bookings outlive their booker's account, on SQLite. Conventions as in 0001. Deleting a user
-- used to cascade to every booking they made, past ones included, with its invitations: the
-- people in the party lost it from GET /bookings/{plan_id} and their lists, and the venue's
-- history and the admin's counts lost it too. Now a booking keeps its row with a null user_id,
-- as a plan keeps its row with a null organizer_id (0012): the deletion first cancels the
-- user's upcoming bookings and gives back their holds under way (`users::delete_user`), so the
-- ones left are history (cancelled, completed, no-show, or confirmed and over). Its invitations
-- keep their rows with a null inviter_id. A booking without a booker never holds a pending
-- hold (bookings_user_id_check): nobody could confirm it.
--
-- SQLite cannot alter a foreign key: both tables are rebuilt as 0012 rebuilds plans (same
-- columns in the same order, same constraint and index names), their rows set aside and copied
-- back with the same ids. Foreign keys are off meanwhile: with them on, dropping bookings would
-- first delete its rows, cascading to booking_invitations. That pragma does nothing inside a
-- transaction, hence `no-transaction` above and the script's own transaction; they are on
-- again before it ends. Not by renaming (see 0009). Run again (a crash before sqlx recorded
-- it), it rebuilds the same tables again.

PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE bookings_old AS SELECT id, user_id, venue_id, plan_id, booking_time, party_size, status, confirmation_code,
    provider, agent, group_members, created_at, updated_at, duration_minutes, special_requests FROM bookings;
DROP TABLE bookings;
CREATE TABLE bookings (
    id                BLOB PRIMARY KEY NOT NULL,
    user_id           BLOB REFERENCES users (id) ON DELETE SET NULL,
    venue_id          BLOB NOT NULL REFERENCES venues (id) ON DELETE CASCADE,
    plan_id           BLOB REFERENCES plans (id) ON DELETE SET NULL,
    booking_time      TEXT NOT NULL,
    party_size        INTEGER NOT NULL CONSTRAINT bookings_party_size_check CHECK (party_size BETWEEN 1 AND 1000),
    status            TEXT NOT NULL CONSTRAINT bookings_status_check
        CHECK (status IN ('pending', 'confirmed', 'cancelled', 'completed', 'no_show')),
    confirmation_code TEXT NOT NULL
        CONSTRAINT bookings_confirmation_code_check CHECK (length(confirmation_code) BETWEEN 4 AND 32),
    provider          TEXT NOT NULL CONSTRAINT bookings_provider_check CHECK (length(provider) BETWEEN 1 AND 40),
    agent             TEXT NOT NULL CONSTRAINT bookings_agent_check CHECK (length(agent) BETWEEN 1 AND 60),
    group_members     TEXT NOT NULL CONSTRAINT bookings_group_members_check CHECK (json_type(group_members) = 'array'),
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    duration_minutes  INTEGER NOT NULL DEFAULT 120
        CONSTRAINT bookings_duration_minutes_check CHECK (duration_minutes BETWEEN 15 AND 480),
    special_requests  TEXT CONSTRAINT bookings_special_requests_check CHECK (length(special_requests) <= 500),
    CONSTRAINT bookings_user_id_check CHECK (user_id IS NOT NULL OR status <> 'pending')
);
INSERT INTO bookings (id, user_id, venue_id, plan_id, booking_time, party_size, status, confirmation_code, provider,
    agent, group_members, created_at, updated_at, duration_minutes, special_requests)
    SELECT id, user_id, venue_id, plan_id, booking_time, party_size, status, confirmation_code, provider,
    agent, group_members, created_at, updated_at, duration_minutes, special_requests FROM bookings_old ORDER BY id;
DROP TABLE bookings_old;
CREATE UNIQUE INDEX bookings_confirmation_code_key ON bookings (confirmation_code);
CREATE INDEX bookings_venue_time_idx ON bookings (venue_id, booking_time);
CREATE INDEX bookings_user_idx ON bookings (user_id, id);
CREATE INDEX bookings_plan_idx ON bookings (plan_id);
CREATE INDEX bookings_venue_holding_idx ON bookings (venue_id, booking_time)
    WHERE status IN ('pending', 'confirmed');
CREATE UNIQUE INDEX bookings_plan_holding_key ON bookings (plan_id)
    WHERE plan_id IS NOT NULL AND status IN ('pending', 'confirmed');
CREATE INDEX bookings_pending_idx ON bookings (created_at) WHERE status = 'pending';
CREATE INDEX bookings_status_idx ON bookings (status, id);

CREATE TABLE booking_invitations_old AS
    SELECT booking_id, invitee_id, inviter_id, status, created_at, responded_at FROM booking_invitations;
DROP TABLE booking_invitations;
CREATE TABLE booking_invitations (
    booking_id   BLOB NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    invitee_id   BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    inviter_id   BLOB REFERENCES users (id) ON DELETE SET NULL,
    status       TEXT NOT NULL CONSTRAINT booking_invitations_status_check
        CHECK (status IN ('pending', 'accepted', 'declined')),
    created_at   TEXT NOT NULL,
    responded_at TEXT,
    PRIMARY KEY (booking_id, invitee_id),
    CONSTRAINT booking_invitations_invitee_id_check CHECK (invitee_id <> inviter_id)
) WITHOUT ROWID;
INSERT INTO booking_invitations (booking_id, invitee_id, inviter_id, status, created_at, responded_at)
    SELECT booking_id, invitee_id, inviter_id, status, created_at, responded_at FROM booking_invitations_old
    ORDER BY booking_id, invitee_id;
DROP TABLE booking_invitations_old;
CREATE INDEX booking_invitations_invitee_idx ON booking_invitations (invitee_id);

COMMIT;
PRAGMA foreign_keys = ON;
