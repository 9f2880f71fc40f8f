-- Luna's schema on PostgreSQL: the same tables, constraints and indexes as the SQLite schema,
-- with native types (uuid, timestamptz, jsonb, double precision).
-- Every range the domain checks is a CHECK constraint here too, named <table>_<field>_check so
-- a refusal names the field. Unique indexes carry the column in their name (users_handle_key)
-- so a conflict names it.

CREATE TABLE users (
    id             UUID PRIMARY KEY,
    handle         TEXT NOT NULL
        CONSTRAINT users_handle_check CHECK (length(handle) BETWEEN 3 AND 30 AND handle = lower(handle)),
    name           TEXT NOT NULL CONSTRAINT users_name_check CHECK (length(name) BETWEEN 1 AND 100),
    email          TEXT CONSTRAINT users_email_check CHECK (length(email) <= 254 AND email LIKE '%_@_%'),
    age            INTEGER CONSTRAINT users_age_check CHECK (age BETWEEN 13 AND 120),
    avatar_url     TEXT CONSTRAINT users_avatar_url_check CHECK (length(avatar_url) <= 500),
    home_lat       DOUBLE PRECISION CONSTRAINT users_home_lat_check CHECK (home_lat BETWEEN -90 AND 90),
    home_lng       DOUBLE PRECISION CONSTRAINT users_home_lng_check CHECK (home_lng BETWEEN -180 AND 180),
    city           TEXT CONSTRAINT users_city_check CHECK (length(city) <= 100),
    persona        TEXT CONSTRAINT users_persona_check CHECK (persona IN ('social_butterfly', 'foodie_explorer',
        'routine_regular', 'event_organizer', 'spontaneous_diner', 'busy_professional', 'budget_conscious')),
    activity_score DOUBLE PRECISION NOT NULL
        CONSTRAINT users_activity_score_check CHECK (activity_score BETWEEN 0 AND 1),
    social_score   DOUBLE PRECISION NOT NULL CONSTRAINT users_social_score_check CHECK (social_score BETWEEN 0 AND 1),
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    CONSTRAINT users_home_check CHECK ((home_lat IS NULL) = (home_lng IS NULL))
);
CREATE UNIQUE INDEX users_handle_key ON users (handle);
CREATE UNIQUE INDEX users_email_key ON users (email) WHERE email IS NOT NULL;
CREATE INDEX users_persona_idx ON users (persona, id);

CREATE TABLE user_preferences (
    user_id              UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    cuisines             JSONB NOT NULL CONSTRAINT user_preferences_cuisines_check CHECK (jsonb_typeof(cuisines) = 'array'),
    price_min            SMALLINT NOT NULL CONSTRAINT user_preferences_price_min_check CHECK (price_min BETWEEN 1 AND 4),
    price_max            SMALLINT NOT NULL CONSTRAINT user_preferences_price_max_check CHECK (price_max BETWEEN 1 AND 4),
    ambiance             JSONB NOT NULL CONSTRAINT user_preferences_ambiance_check CHECK (jsonb_typeof(ambiance) = 'array'),
    dietary              JSONB NOT NULL CONSTRAINT user_preferences_dietary_check CHECK (jsonb_typeof(dietary) = 'array'),
    preferred_group_size SMALLINT NOT NULL
        CONSTRAINT user_preferences_preferred_group_size_check CHECK (preferred_group_size BETWEEN 1 AND 20),
    openness             DOUBLE PRECISION NOT NULL
        CONSTRAINT user_preferences_openness_check CHECK (openness BETWEEN 0 AND 1),
    updated_at           TIMESTAMPTZ NOT NULL,
    CONSTRAINT user_preferences_price_range_check CHECK (price_min <= price_max)
);

CREATE TABLE venues (
    id            UUID PRIMARY KEY,
    name          TEXT NOT NULL CONSTRAINT venues_name_check CHECK (length(name) BETWEEN 1 AND 200),
    description   TEXT CONSTRAINT venues_description_check CHECK (length(description) <= 2000),
    category      TEXT NOT NULL CONSTRAINT venues_category_check
        CHECK (category IN ('restaurant', 'bar', 'cafe', 'music', 'comedy', 'karaoke', 'sports')),
    cuisine       TEXT CONSTRAINT venues_cuisine_check CHECK (length(cuisine) <= 40),
    address       TEXT CONSTRAINT venues_address_check CHECK (length(address) <= 300),
    city          TEXT CONSTRAINT venues_city_check CHECK (length(city) <= 100),
    lat           DOUBLE PRECISION NOT NULL CONSTRAINT venues_lat_check CHECK (lat BETWEEN -90 AND 90),
    lng           DOUBLE PRECISION NOT NULL CONSTRAINT venues_lng_check CHECK (lng BETWEEN -180 AND 180),
    price_level   SMALLINT CONSTRAINT venues_price_level_check CHECK (price_level BETWEEN 1 AND 4),
    rating        DOUBLE PRECISION CONSTRAINT venues_rating_check CHECK (rating BETWEEN 0 AND 5),
    capacity      INTEGER NOT NULL CONSTRAINT venues_capacity_check CHECK (capacity BETWEEN 1 AND 100000),
    tags          JSONB NOT NULL CONSTRAINT venues_tags_check CHECK (jsonb_typeof(tags) = 'array'),
    opening_hours JSONB CONSTRAINT venues_opening_hours_check CHECK (jsonb_typeof(opening_hours) = 'object'),
    timezone      TEXT NOT NULL CONSTRAINT venues_timezone_check CHECK (length(timezone) BETWEEN 1 AND 64),
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX venues_lat_lng_idx ON venues (lat, lng);
CREATE INDEX venues_category_idx ON venues (category, id);

CREATE TABLE interactions (
    id                 UUID PRIMARY KEY,
    user_id            UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    venue_id           UUID NOT NULL REFERENCES venues (id) ON DELETE CASCADE,
    interaction_type   TEXT NOT NULL CONSTRAINT interactions_interaction_type_check
        CHECK (interaction_type IN ('view', 'interest', 'like', 'save', 'search', 'visit')),
    dwell_time_seconds INTEGER NOT NULL
        CONSTRAINT interactions_dwell_time_seconds_check CHECK (dwell_time_seconds BETWEEN 0 AND 86400),
    time_of_day        TEXT NOT NULL CONSTRAINT interactions_time_of_day_check
        CHECK (time_of_day IN ('morning', 'afternoon', 'evening', 'night')),
    occurred_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX interactions_user_idx ON interactions (user_id, id);
CREATE INDEX interactions_venue_idx ON interactions (venue_id);

CREATE TABLE social_edges (
    user_id           UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    other_user_id     UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    relationship_type TEXT NOT NULL CONSTRAINT social_edges_relationship_type_check
        CHECK (relationship_type IN ('friend', 'mutual', 'suggested')),
    strength          DOUBLE PRECISION NOT NULL CONSTRAINT social_edges_strength_check CHECK (strength BETWEEN 0 AND 1),
    created_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, other_user_id),
    CONSTRAINT social_edges_other_user_id_check CHECK (user_id <> other_user_id)
);
CREATE INDEX social_edges_other_idx ON social_edges (other_user_id);

CREATE TABLE friend_requests (
    id           UUID PRIMARY KEY,
    from_user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    to_user_id   UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status       TEXT NOT NULL CONSTRAINT friend_requests_status_check
        CHECK (status IN ('pending', 'accepted', 'declined')),
    created_at   TIMESTAMPTZ NOT NULL,
    responded_at TIMESTAMPTZ,
    CONSTRAINT friend_requests_to_user_id_check CHECK (from_user_id <> to_user_id),
    CONSTRAINT friend_requests_responded_at_check CHECK ((status = 'pending') = (responded_at IS NULL))
);
-- At most one pending request per unordered pair of users.
CREATE UNIQUE INDEX friend_requests_pending_pair_key
    ON friend_requests (LEAST(from_user_id, to_user_id), GREATEST(from_user_id, to_user_id)) WHERE status = 'pending';
CREATE INDEX friend_requests_to_idx ON friend_requests (to_user_id, status, id);
CREATE INDEX friend_requests_from_idx ON friend_requests (from_user_id, status, id);

CREATE TABLE venue_interests (
    user_id        UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    venue_id       UUID NOT NULL REFERENCES venues (id) ON DELETE CASCADE,
    preferred_time TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, venue_id)
);
CREATE INDEX venue_interests_venue_idx ON venue_interests (venue_id, preferred_time);

CREATE TABLE plans (
    id           UUID PRIMARY KEY,
    organizer_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    venue_id     UUID NOT NULL REFERENCES venues (id) ON DELETE CASCADE,
    start_time   TIMESTAMPTZ NOT NULL,
    party_size   INTEGER CONSTRAINT plans_party_size_check CHECK (party_size BETWEEN 1 AND 1000),
    status       TEXT NOT NULL CONSTRAINT plans_status_check CHECK (status IN ('draft', 'confirmed', 'cancelled')),
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX plans_organizer_idx ON plans (organizer_id, id);
CREATE INDEX plans_venue_idx ON plans (venue_id, start_time);

CREATE TABLE plan_participants (
    plan_id      UUID NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    user_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status       TEXT NOT NULL CONSTRAINT plan_participants_status_check
        CHECK (status IN ('invited', 'accepted', 'declined')),
    invited_at   TIMESTAMPTZ NOT NULL,
    responded_at TIMESTAMPTZ,
    PRIMARY KEY (plan_id, user_id)
);
CREATE INDEX plan_participants_user_idx ON plan_participants (user_id);

CREATE TABLE bookings (
    id                UUID PRIMARY KEY,
    user_id           UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    venue_id          UUID NOT NULL REFERENCES venues (id) ON DELETE CASCADE,
    plan_id           UUID REFERENCES plans (id) ON DELETE SET NULL,
    booking_time      TIMESTAMPTZ NOT NULL,
    party_size        INTEGER NOT NULL CONSTRAINT bookings_party_size_check CHECK (party_size BETWEEN 1 AND 1000),
    status            TEXT NOT NULL CONSTRAINT bookings_status_check
        CHECK (status IN ('pending', 'confirmed', 'cancelled', 'completed', 'no_show')),
    confirmation_code TEXT NOT NULL
        CONSTRAINT bookings_confirmation_code_check CHECK (length(confirmation_code) BETWEEN 4 AND 32),
    provider          TEXT NOT NULL CONSTRAINT bookings_provider_check CHECK (length(provider) BETWEEN 1 AND 40),
    agent             TEXT NOT NULL CONSTRAINT bookings_agent_check CHECK (length(agent) BETWEEN 1 AND 60),
    group_members     JSONB NOT NULL
        CONSTRAINT bookings_group_members_check CHECK (jsonb_typeof(group_members) = 'array'),
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX bookings_confirmation_code_key ON bookings (confirmation_code);
CREATE INDEX bookings_venue_time_idx ON bookings (venue_id, booking_time);
CREATE INDEX bookings_user_idx ON bookings (user_id, id);
CREATE INDEX bookings_plan_idx ON bookings (plan_id);

-- Events recorded in the same transaction as the write that caused them; a relay publishes
-- them to the bus and stamps published_at.
CREATE TABLE outbox (
    id           UUID PRIMARY KEY,
    channel      TEXT NOT NULL CONSTRAINT outbox_channel_check CHECK (channel IN ('user_actions', 'recommendations',
        'bookings', 'social', 'system', 'metrics', 'simulation')),
    event_type   TEXT NOT NULL CONSTRAINT outbox_event_type_check CHECK (length(event_type) BETWEEN 1 AND 100),
    payload      JSONB NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    published_at TIMESTAMPTZ
);
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
