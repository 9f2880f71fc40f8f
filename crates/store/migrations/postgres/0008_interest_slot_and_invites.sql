-- The first seed's interest fields, on PostgreSQL. Conventions as in 0001. An interest may name
-- a part of the day at the venue's local time (given, or derived from the preferred time when
-- the interest is expressed), and says whether the user may be seen there and invited
-- (auto-booking included). Rows from before keep no part of the day and are open, as they
-- always were. Adding a nullable column, and one with a constant default, rewrites no rows.

ALTER TABLE venue_interests ADD COLUMN preferred_time_slot TEXT
    CONSTRAINT venue_interests_preferred_time_slot_check
    CHECK (preferred_time_slot IN ('morning', 'afternoon', 'evening', 'night'));
ALTER TABLE venue_interests ADD COLUMN open_to_invites BOOLEAN NOT NULL DEFAULT TRUE;
