-- Bookings against capacity (issue 4), on PostgreSQL. Conventions as in 0001.
--
-- * A booking holds its seats over [booking_time, booking_time + duration_minutes) while it is
--   pending or confirmed; the capacity check locks the venue row (SELECT ... FOR UPDATE) and
--   sums them inside one transaction, so two checks on one venue run one after the other.
-- * At most one pending or confirmed booking per plan, and one use of an idempotency key per
--   caller, are unique indexes: the database refuses a second one whatever the code does.

ALTER TABLE bookings ADD COLUMN duration_minutes INTEGER NOT NULL DEFAULT 120
    CONSTRAINT bookings_duration_minutes_check CHECK (duration_minutes BETWEEN 15 AND 480);
ALTER TABLE bookings ADD COLUMN special_requests TEXT
    CONSTRAINT bookings_special_requests_check CHECK (length(special_requests) <= 500);
ALTER TABLE bookings ADD CONSTRAINT bookings_confirmation_code_format_check
    CHECK (confirmation_code ~ '^[A-Z0-9-]+$');

CREATE INDEX bookings_venue_holding_idx ON bookings (venue_id, booking_time)
    WHERE status IN ('pending', 'confirmed');
CREATE UNIQUE INDEX bookings_plan_holding_key ON bookings (plan_id)
    WHERE plan_id IS NOT NULL AND status IN ('pending', 'confirmed');
CREATE INDEX bookings_pending_idx ON bookings (created_at) WHERE status = 'pending';
CREATE INDEX bookings_status_idx ON bookings (status, id);

CREATE TABLE booking_invitations (
    booking_id   UUID NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    invitee_id   UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    inviter_id   UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status       TEXT NOT NULL CONSTRAINT booking_invitations_status_check
        CHECK (status IN ('pending', 'accepted', 'declined')),
    created_at   TIMESTAMPTZ NOT NULL,
    responded_at TIMESTAMPTZ,
    PRIMARY KEY (booking_id, invitee_id),
    CONSTRAINT booking_invitations_invitee_id_check CHECK (invitee_id <> inviter_id)
);
CREATE INDEX booking_invitations_invitee_idx ON booking_invitations (invitee_id);

CREATE TABLE idempotency_keys (
    scope           TEXT NOT NULL CONSTRAINT idempotency_keys_scope_check CHECK (length(scope) BETWEEN 1 AND 100),
    idempotency_key TEXT NOT NULL
        CONSTRAINT idempotency_keys_idempotency_key_check CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    request         JSONB NOT NULL,
    response_status INTEGER CONSTRAINT idempotency_keys_response_status_check CHECK (response_status BETWEEN 100 AND 599),
    response_body   JSONB,
    created_at      TIMESTAMPTZ NOT NULL,
    completed_at    TIMESTAMPTZ,
    PRIMARY KEY (scope, idempotency_key),
    CONSTRAINT idempotency_keys_completed_at_check
        CHECK ((completed_at IS NULL) = (response_status IS NULL) AND (completed_at IS NULL) = (response_body IS NULL))
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
