-- Deleted venues (issue 3's follow-up), on SQLite. Conventions as in 0001. Deleting a venue
-- marks its row instead of removing it, so the bookings and plans people made there stay in
-- their history (the foreign keys would otherwise cascade them away). Every read of venues
-- skips marked rows; the venue's interactions and interests are still removed with it.

ALTER TABLE venues ADD COLUMN deleted_at TEXT;
-- The deleted venues, few, for a bulk load to refuse rows that name one.
CREATE INDEX venues_deleted_idx ON venues (id) WHERE deleted_at IS NOT NULL;
