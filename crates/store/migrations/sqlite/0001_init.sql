-- Luna's schema on SQLite.
--
-- Conventions (the store binds every value this way; keep them if you write SQL by hand):
-- * ids are UUIDv7 as 16-byte BLOBs, so byte order is id order is creation order;
-- * timestamps are TEXT in one fixed-width RFC 3339 form, 'YYYY-MM-DDTHH:MM:SS.ffffffZ', so
--   text order is time order;
-- * lists and maps are JSON TEXT.
-- Every range the domain checks is a CHECK constraint here too, named <table>_<field>_check so
-- a refusal names the field. Unique indexes carry the column in their name (users_handle_key)
-- so a conflict names it.

CREATE TABLE users (
    id             BLOB PRIMARY KEY NOT NULL,
    handle         TEXT NOT NULL
        CONSTRAINT users_handle_check CHECK (length(handle) BETWEEN 3 AND 30 AND handle = lower(handle)),
    name           TEXT NOT NULL CONSTRAINT users_name_check CHECK (length(name) BETWEEN 1 AND 100),
    email          TEXT CONSTRAINT users_email_check CHECK (email IS NULL OR (length(email) <= 254 AND email LIKE '%_@_%')),
    age            INTEGER CONSTRAINT users_age_check CHECK (age BETWEEN 13 AND 120),
    avatar_url     TEXT CONSTRAINT users_avatar_url_check CHECK (length(avatar_url) <= 500),
    home_lat       REAL CONSTRAINT users_home_lat_check CHECK (home_lat BETWEEN -90 AND 90),
    home_lng       REAL CONSTRAINT users_home_lng_check CHECK (home_lng BETWEEN -180 AND 180),
    city           TEXT CONSTRAINT users_city_check CHECK (length(city) <= 100),
    persona        TEXT CONSTRAINT users_persona_check CHECK (persona IN ('social_butterfly', 'foodie_explorer',
        'routine_regular', 'event_organizer', 'spontaneous_diner', 'busy_professional', 'budget_conscious')),
    activity_score REAL NOT NULL CONSTRAINT users_activity_score_check CHECK (activity_score BETWEEN 0 AND 1),
    social_score   REAL NOT NULL CONSTRAINT users_social_score_check CHECK (social_score BETWEEN 0 AND 1),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    CONSTRAINT users_home_check CHECK ((home_lat IS NULL) = (home_lng IS NULL))
);
CREATE UNIQUE INDEX users_handle_key ON users (handle);
CREATE UNIQUE INDEX users_email_key ON users (email) WHERE email IS NOT NULL;
CREATE INDEX users_persona_idx ON users (persona, id);

CREATE TABLE user_preferences (
    user_id              BLOB PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    cuisines             TEXT NOT NULL CONSTRAINT user_preferences_cuisines_check CHECK (json_type(cuisines) = 'array'),
    price_min            INTEGER NOT NULL CONSTRAINT user_preferences_price_min_check CHECK (price_min BETWEEN 1 AND 4),
    price_max            INTEGER NOT NULL CONSTRAINT user_preferences_price_max_check CHECK (price_max BETWEEN 1 AND 4),
    ambiance             TEXT NOT NULL CONSTRAINT user_preferences_ambiance_check CHECK (json_type(ambiance) = 'array'),
    dietary              TEXT NOT NULL CONSTRAINT user_preferences_dietary_check CHECK (json_type(dietary) = 'array'),
    preferred_group_size INTEGER NOT NULL
        CONSTRAINT user_preferences_preferred_group_size_check CHECK (preferred_group_size BETWEEN 1 AND 20),
    openness             REAL NOT NULL CONSTRAINT user_preferences_openness_check CHECK (openness BETWEEN 0 AND 1),
    updated_at           TEXT NOT NULL,
    CONSTRAINT user_preferences_price_range_check CHECK (price_min <= price_max)
) WITHOUT ROWID;

CREATE TABLE venues (
    id            BLOB PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL CONSTRAINT venues_name_check CHECK (length(name) BETWEEN 1 AND 200),
    description   TEXT CONSTRAINT venues_description_check CHECK (length(description) <= 2000),
    category      TEXT NOT NULL CONSTRAINT venues_category_check
        CHECK (category IN ('restaurant', 'bar', 'cafe', 'music', 'comedy', 'karaoke', 'sports')),
    cuisine       TEXT CONSTRAINT venues_cuisine_check CHECK (length(cuisine) <= 40),
    address       TEXT CONSTRAINT venues_address_check CHECK (length(address) <= 300),
    city          TEXT CONSTRAINT venues_city_check CHECK (length(city) <= 100),
    lat           REAL NOT NULL CONSTRAINT venues_lat_check CHECK (lat BETWEEN -90 AND 90),
    lng           REAL NOT NULL CONSTRAINT venues_lng_check CHECK (lng BETWEEN -180 AND 180),
    price_level   INTEGER CONSTRAINT venues_price_level_check CHECK (price_level BETWEEN 1 AND 4),
    rating        REAL CONSTRAINT venues_rating_check CHECK (rating BETWEEN 0 AND 5),
    capacity      INTEGER NOT NULL CONSTRAINT venues_capacity_check CHECK (capacity BETWEEN 1 AND 100000),
    tags          TEXT NOT NULL CONSTRAINT venues_tags_check CHECK (json_type(tags) = 'array'),
    opening_hours TEXT CONSTRAINT venues_opening_hours_check CHECK (json_type(opening_hours) = 'object'),
    timezone      TEXT NOT NULL CONSTRAINT venues_timezone_check CHECK (length(timezone) BETWEEN 1 AND 64),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX venues_lat_lng_idx ON venues (lat, lng);
CREATE INDEX venues_category_idx ON venues (category, id);

-- Interactions and edges are the two big tables (tens of millions of rows after a large seed)
-- and their keys are random with respect to insertion order. They are rowid tables, so rows are
-- appended, with their keys as unique indexes: `Store::begin_bulk_load` can drop those indexes
-- while seeding and `finish_bulk_load` (or the next connect) rebuilds them by sorting, instead
-- of updating a B-tree at a random place per row.
CREATE TABLE interactions (
    id                 BLOB NOT NULL,
    user_id            BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    venue_id           BLOB NOT NULL REFERENCES venues (id) ON DELETE CASCADE,
    interaction_type   TEXT NOT NULL CONSTRAINT interactions_interaction_type_check
        CHECK (interaction_type IN ('view', 'interest', 'like', 'save', 'search', 'visit')),
    dwell_time_seconds INTEGER NOT NULL
        CONSTRAINT interactions_dwell_time_seconds_check CHECK (dwell_time_seconds BETWEEN 0 AND 86400),
    time_of_day        TEXT NOT NULL CONSTRAINT interactions_time_of_day_check
        CHECK (time_of_day IN ('morning', 'afternoon', 'evening', 'night')),
    occurred_at        TEXT NOT NULL
);
CREATE UNIQUE INDEX interactions_id_key ON interactions (id);
CREATE INDEX interactions_user_idx ON interactions (user_id, id);
CREATE INDEX interactions_venue_idx ON interactions (venue_id);

CREATE TABLE social_edges (
    user_id           BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    other_user_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    relationship_type TEXT NOT NULL CONSTRAINT social_edges_relationship_type_check
        CHECK (relationship_type IN ('friend', 'mutual', 'suggested')),
    strength          REAL NOT NULL CONSTRAINT social_edges_strength_check CHECK (strength BETWEEN 0 AND 1),
    created_at        TEXT NOT NULL,
    CONSTRAINT social_edges_other_user_id_check CHECK (user_id <> other_user_id)
);
-- The primary key of an edge.
CREATE UNIQUE INDEX social_edges_pair_key ON social_edges (user_id, other_user_id);
CREATE INDEX social_edges_other_idx ON social_edges (other_user_id);

CREATE TABLE friend_requests (
    id           BLOB PRIMARY KEY NOT NULL,
    from_user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    to_user_id   BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status       TEXT NOT NULL CONSTRAINT friend_requests_status_check
        CHECK (status IN ('pending', 'accepted', 'declined')),
    created_at   TEXT NOT NULL,
    responded_at TEXT,
    CONSTRAINT friend_requests_to_user_id_check CHECK (from_user_id <> to_user_id),
    CONSTRAINT friend_requests_responded_at_check CHECK ((status = 'pending') = (responded_at IS NULL))
);
-- At most one pending request per unordered pair of users.
CREATE UNIQUE INDEX friend_requests_pending_pair_key
    ON friend_requests (min(from_user_id, to_user_id), max(from_user_id, to_user_id)) WHERE status = 'pending';
CREATE INDEX friend_requests_to_idx ON friend_requests (to_user_id, status, id);
CREATE INDEX friend_requests_from_idx ON friend_requests (from_user_id, status, id);

CREATE TABLE venue_interests (
    user_id        BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    venue_id       BLOB NOT NULL REFERENCES venues (id) ON DELETE CASCADE,
    preferred_time TEXT,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (user_id, venue_id)
) WITHOUT ROWID;
CREATE INDEX venue_interests_venue_idx ON venue_interests (venue_id, preferred_time);

CREATE TABLE plans (
    id           BLOB PRIMARY KEY NOT NULL,
    organizer_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    venue_id     BLOB NOT NULL REFERENCES venues (id) ON DELETE CASCADE,
    start_time   TEXT NOT NULL,
    party_size   INTEGER CONSTRAINT plans_party_size_check CHECK (party_size BETWEEN 1 AND 1000),
    status       TEXT NOT NULL CONSTRAINT plans_status_check CHECK (status IN ('draft', 'confirmed', 'cancelled')),
    created_at   TEXT NOT NULL
);
CREATE INDEX plans_organizer_idx ON plans (organizer_id, id);
CREATE INDEX plans_venue_idx ON plans (venue_id, start_time);

CREATE TABLE plan_participants (
    plan_id      BLOB NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    user_id      BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status       TEXT NOT NULL CONSTRAINT plan_participants_status_check
        CHECK (status IN ('invited', 'accepted', 'declined')),
    invited_at   TEXT NOT NULL,
    responded_at TEXT,
    PRIMARY KEY (plan_id, user_id)
) WITHOUT ROWID;
CREATE INDEX plan_participants_user_idx ON plan_participants (user_id);

CREATE TABLE bookings (
    id                BLOB PRIMARY KEY NOT NULL,
    user_id           BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
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
    updated_at        TEXT NOT NULL
);
CREATE UNIQUE INDEX bookings_confirmation_code_key ON bookings (confirmation_code);
CREATE INDEX bookings_venue_time_idx ON bookings (venue_id, booking_time);
CREATE INDEX bookings_user_idx ON bookings (user_id, id);
CREATE INDEX bookings_plan_idx ON bookings (plan_id);

-- Events recorded in the same transaction as the write that caused them; a relay publishes
-- them to the bus and stamps published_at.
CREATE TABLE outbox (
    id           BLOB PRIMARY KEY NOT NULL,
    channel      TEXT NOT NULL CONSTRAINT outbox_channel_check CHECK (channel IN ('user_actions', 'recommendations',
        'bookings', 'social', 'system', 'metrics', 'simulation')),
    event_type   TEXT NOT NULL CONSTRAINT outbox_event_type_check CHECK (length(event_type) BETWEEN 1 AND 100),
    payload      TEXT NOT NULL CONSTRAINT outbox_payload_check CHECK (json_valid(payload)),
    created_at   TEXT NOT NULL,
    published_at TEXT
);
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
