// Wire shapes of the Luna API the dashboard reads (see /openapi.json for the full schemas).

export const CHANNELS = [
  'user_actions',
  'recommendations',
  'bookings',
  'social',
  'system',
  'metrics',
  'simulation',
] as const;
export type Channel = (typeof CHANNELS)[number];

/** One event as it travels on the bus and over SSE. */
export interface LunaEvent {
  id: string;
  source_id: string | null;
  channel: Channel;
  type: string;
  timestamp: string;
  data: unknown;
}

export interface Stats {
  users: { total: number; simulated: number; real: number };
  venues: { total: number; trending: number };
  bookings: { total: number; confirmed: number; by_status: Record<string, number> };
  interactions: { total: number };
  social: { edges: number; friend_requests: number; venue_interests: number; plans: number };
  events: {
    backend: string;
    per_channel: Record<string, number>;
    per_second: number;
    last_minute: number;
    outbox_pending: number;
    /** Outbox rows the relay set aside because they cannot be published at all (a payload that
     * is not JSON, a channel with no stream): dead letters, kept in the database with their
     * reason; their events were never published. */
    outbox_dead: number;
  };
  streams: { active_subscribers: number; max_subscribers: number };
}

/** One supervised background task in `GET /health`. */
export interface TaskHealth {
  /** `running`, or `down` between a failure (a panic, or the task ending) and its restart. */
  status: 'running' | 'down';
  /** Restarts since the server started. */
  restarts: number;
  /** Why it last stopped (`panicked: ...` or `ended`), if it ever did. */
  last_failure: string | null;
}

/** The event bus in `GET /health`. The trim fields are newer than the rest: an older server
 * omits them. */
export interface BusHealth {
  status: 'ok' | 'unavailable';
  backend: string;
  /** Stream trims that failed since the bus connected (always 0 on the memory bus). */
  trim_failures?: number;
  /** The error of the last Redis stream trim while trimming keeps failing (the server is then
   * `degraded`: the streams grow past their length); null once trims work again. */
  trim_error?: string | null;
}

/** `GET /health`: 200 `healthy` or `degraded` (bus down or its trims failing, a task down, the
 * database busy); 503 when the database is unavailable. */
export interface Health {
  status: 'healthy' | 'degraded';
  service: string;
  version: string;
  /** `busy`: every pooled connection is in use (requests queue for one), the database is there. */
  database: { status: 'ok' | 'busy' | 'unavailable'; backend: string };
  bus: BusHealth;
  /** The supervised background tasks by name (`relay`, `engine_follower`, ...). */
  tasks: Record<string, TaskHealth>;
}

export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** `metrics.snapshot` data: one server's live figures. */
export interface ServerMetrics {
  server: string;
  uptime_seconds: number;
  requests_per_second: number;
  requests_last_minute: number;
  routes: {
    route: string;
    total: number;
    last_minute: number;
    per_second: number;
    server_errors_last_minute: number;
    latency_ms: Percentiles;
  }[];
  recommendation_latency_ms: Percentiles;
  bookings_per_minute: number;
  events_per_second: number;
  events_last_minute: number;
  events_per_channel: Record<string, number>;
  sse_subscribers: number;
  /** Of the venues this server's answers showed, how many were then acted on, per ranker. */
  recommendation_conversion?: RankerConversion[];
}

/** One ranker's live conversion: venues shown, then viewed, liked (or saved), visited, booked. */
export interface RankerConversion {
  ranker: string;
  answers: number;
  shown: number;
  viewed: number;
  liked: number;
  visited: number;
  booked: number;
  view_rate: number;
  like_rate: number;
  visit_rate: number;
  booking_rate: number;
}

export type SimStatus = 'idle' | 'running' | 'paused' | 'stopped' | 'finished';

/** Why a run stopped: on request, by a data reset (or forced reseed), by itself at the booking horizon (a run without a duration), as its server shut down, or because it broke down (`failed`: the server's log says why). */
export type StopReason = 'requested' | 'data_reset' | 'booking_horizon' | 'shutdown' | 'failed';

export interface SimState {
  status: SimStatus;
  running: boolean;
  paused: boolean;
  scenario: string;
  speed: number | 'max' | null;
  speed_multiplier: number | null;
  seed: number | null;
  active_users: number;
  simulation_time: string | null;
  started_at: string | null;
  ends_at: string | null;
  /** The simulated city's IANA time zone (absent from older servers, null when idle). */
  timezone?: string | null;
  ticks: number;
  events_generated: number;
  bookings_created: number;
  invites_sent: number;
  action_log_hash: string | null;
  actions_logged: number;
  seeded_demo_city: boolean;
  /** Why the run stopped: set when `status` is `stopped`, else null (absent from older servers). */
  stop_reason?: StopReason | null;
}

export interface SimMetrics {
  actions_total: number;
  actions_per_second: number;
  recent_actions_per_second: number;
  bookings: {
    attempted: number;
    confirmed: number;
    failed: number;
    cancelled: number;
    /** Attempts a venue refused: full, closed at that time, or the party larger than the venue. */
    refused: number;
    /** Those refusals because the venue was full; only these propose alternatives. */
    refused_full: number;
    /** Refusals after which the user tried an alternative the refusal proposed. */
    alternatives_tried: number;
    /** Those tries that were booked. */
    alternatives_confirmed: number;
  };
  recommendations: {
    source: string;
    requests: number;
    shown: number;
    clicks: number;
    ignored: number;
    conversions: number;
    click_through_rate: number;
    conversion_rate: number;
  };
  failures: { total: number; last_error: string | null };
}

export interface Scenario {
  id: string;
  name: string;
  description: string;
}

export interface StartRequest {
  scenario?: string;
  speed?: number | 'max';
  users?: number;
  seed?: number;
  duration?: string;
}

export interface SeedRequest {
  users?: number;
  venues?: number;
  seed?: number;
  /** End of the generated history, RFC 3339 (from the year 2000 to now; default: the current hour). */
  as_of?: string;
  force?: boolean;
}

export interface SeedResponse {
  success: boolean;
  seeded: Record<string, unknown>;
}

export interface User {
  id: string;
  handle: string;
  name: string;
  age: number | null;
  home_lat: number | null;
  home_lng: number | null;
  city: string | null;
  persona: string | null;
  activity_score: number;
  social_score: number;
}

export interface Venue {
  id: string;
  name: string;
  description: string | null;
  category: string;
  cuisine: string | null;
  address: string | null;
  lat: number;
  lng: number;
  price_level: number | null;
  rating: number | null;
  capacity: number;
  tags: string[];
}

export interface Reason {
  code: string;
  label: string;
  contribution: number;
}

export interface VenueSummary {
  category: string;
  cuisine: string | null;
  price_level: number | null;
  rating: number | null;
  lat: number;
  lng: number;
}

export interface VenueRecommendation {
  venue_id: string;
  venue_name: string;
  score: number;
  distance_km: number | null;
  venue: VenueSummary;
  reasons: Reason[];
  explanation: string;
}

export interface PersonRecommendation {
  user_id: string;
  score: number;
  handle: string;
  name: string;
  relationship: string;
  mutual_friends: number;
  reasons: Reason[];
  explanation: string;
}

export interface GroupMember {
  user_id: string;
  score: number;
  distance_km: number | null;
  explanation: string;
}

export interface GroupVenue {
  venue_id: string;
  venue_name: string;
  score: number;
  venue: VenueSummary;
  distance_km: number | null;
  members: GroupMember[];
  explanation: string;
}

export interface GroupRecommendations {
  group_size: number;
  group_venues: GroupVenue[];
  strategy: string;
  centroid: { lat: number; lng: number } | null;
}

/** `GET /api/v1/admin/map`: venues and sampled homes as parallel arrays. */
export interface CityMapData {
  categories: string[];
  venues: {
    id: string[];
    lat: number[];
    lng: number[];
    category: number[];
    interactions: number[];
    bookings: number[];
    demand: number[];
  };
  homes: { lat: number[]; lng: number[] };
  users_total: number;
  users_with_home: number;
  bounds: { min_lat: number; max_lat: number; min_lng: number; max_lng: number } | null;
}

export const RANKERS = ['seed2', 'default', 'popularity', 'learned'] as const;
export type Ranker = (typeof RANKERS)[number];
/** The rankers that rank people; the API answers the others' people with the default ranker's. */
export const PEOPLE_RANKERS = ['seed2', 'default'] as const satisfies readonly Ranker[];

/** How many of the users and venues held the learned model was trained with. */
export interface ModelFit {
  users_known: number;
  users_held: number;
  venues_known: number;
  venues_held: number;
}

/** A training of the learned model under way (`epoch` done of `epochs`). */
export interface TrainingRun {
  epoch: number;
  epochs: number;
  factors: number;
  seed: number;
  loss: number | null;
  started_at: string;
}

/** The last training that ended. */
export interface TrainingResult {
  outcome: 'trained' | 'failed';
  epochs: number;
  factors: number;
  seed: number;
  started_at: string;
  finished_at: string;
  elapsed_ms: number;
  fit: ModelFit | null;
  path: string | null;
  error: string | null;
}

export interface TrainingState {
  state: 'idle' | 'training';
  running: TrainingRun | null;
  last: TrainingResult | null;
}

/** `GET /api/v1/admin/model`: the learned model in use and the trainings. */
export interface ModelStatus {
  path: string | null;
  file_exists: boolean;
  loaded: boolean;
  fit: ModelFit;
  user_venue_pairs: number;
  /** Set when the learned ranker cannot work (no model, or one that knows none of the users or venues). */
  warning: string | null;
  training: TrainingState;
}

/** `POST /api/v1/admin/model/train`'s optional body. */
export interface TrainRequest {
  epochs?: number;
  factors?: number;
  seed?: number;
}
