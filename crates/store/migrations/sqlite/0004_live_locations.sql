-- Live locations (issue 3), on SQLite. Conventions as in 0001. The last location a user's app
-- sent, kept so that a restarted server (or another one) still uses a fresh one: one row per
-- user, deleted with the user, emptied by a reset. Read at start-up in user order (the primary
-- key), keeping the fresh ones: no index on the time, which every update would have to write.

CREATE TABLE user_locations (
    user_id    BLOB PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    lat        REAL NOT NULL CONSTRAINT user_locations_lat_check CHECK (lat BETWEEN -90 AND 90),
    lng        REAL NOT NULL CONSTRAINT user_locations_lng_check CHECK (lng BETWEEN -180 AND 180),
    updated_at TEXT NOT NULL
);
