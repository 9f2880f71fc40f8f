-- Bookings against capacity (issue 4), on SQLite. Conventions as in 0001.
--
-- * A booking holds its seats over [booking_time, booking_time + duration_minutes) while it is
--   pending or confirmed; the capacity check sums them per venue inside one write transaction
--   (BEGIN IMMEDIATE: one writer at a time, so check-then-insert cannot race).
-- * At most one pending or confirmed booking per plan, and one use of an idempotency key per
--   caller, are unique indexes: the database refuses a second one whatever the code does.

ALTER TABLE bookings ADD COLUMN duration_minutes INTEGER NOT NULL DEFAULT 120
    CONSTRAINT bookings_duration_minutes_check CHECK (duration_minutes BETWEEN 15 AND 480);
ALTER TABLE bookings ADD COLUMN special_requests TEXT
    CONSTRAINT bookings_special_requests_check CHECK (length(special_requests) <= 500);

-- The overlap scan of the capacity check reads only the bookings that hold seats.
CREATE INDEX bookings_venue_holding_idx ON bookings (venue_id, booking_time)
    WHERE status IN ('pending', 'confirmed');
CREATE UNIQUE INDEX bookings_plan_holding_key ON bookings (plan_id)
    WHERE plan_id IS NOT NULL AND status IN ('pending', 'confirmed');
-- Holds left pending by a crash between the two transactions of an external booking.
CREATE INDEX bookings_pending_idx ON bookings (created_at) WHERE status = 'pending';
CREATE INDEX bookings_status_idx ON bookings (status, id);

-- Invitations of a booking's group members (plans keep theirs in plan_participants).
CREATE TABLE booking_invitations (
    booking_id   BLOB NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    invitee_id   BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    inviter_id   BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status       TEXT NOT NULL CONSTRAINT booking_invitations_status_check
        CHECK (status IN ('pending', 'accepted', 'declined')),
    created_at   TEXT NOT NULL,
    responded_at TEXT,
    PRIMARY KEY (booking_id, invitee_id),
    CONSTRAINT booking_invitations_invitee_id_check CHECK (invitee_id <> inviter_id)
) WITHOUT ROWID;
CREATE INDEX booking_invitations_invitee_idx ON booking_invitations (invitee_id);

-- Idempotency-Key: one row per (caller, key). `request` is the canonical request the key was
-- first used with; `response_*` are set when the first request finished. A row without a
-- response is in flight (a retry gets 409); one older than the hold lifetime is abandoned
-- and removed by the janitor.
CREATE TABLE idempotency_keys (
    scope           TEXT NOT NULL CONSTRAINT idempotency_keys_scope_check CHECK (length(scope) BETWEEN 1 AND 100),
    idempotency_key TEXT NOT NULL
        CONSTRAINT idempotency_keys_idempotency_key_check CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    request         TEXT NOT NULL CONSTRAINT idempotency_keys_request_check CHECK (json_valid(request)),
    response_status INTEGER CONSTRAINT idempotency_keys_response_status_check CHECK (response_status BETWEEN 100 AND 599),
    response_body   TEXT CONSTRAINT idempotency_keys_response_body_check CHECK (json_valid(response_body)),
    created_at      TEXT NOT NULL,
    completed_at    TEXT,
    PRIMARY KEY (scope, idempotency_key),
    CONSTRAINT idempotency_keys_completed_at_check
        CHECK ((completed_at IS NULL) = (response_status IS NULL) AND (completed_at IS NULL) = (response_body IS NULL))
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
