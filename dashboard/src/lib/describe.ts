// One readable line per event for the feed: the fields that matter for its type, and for any
// other type (new ones appear as the server grows) its first few plain fields.

import type { LunaEvent, SimStatus, StopReason } from '../api/types';
import type { UserNamer } from './names';

type Data = Record<string, unknown>;

export const shortId = (id: unknown): string => (typeof id === 'string' ? id.slice(-6) : '?');

const num = (v: unknown, digits = 1): string => (typeof v === 'number' ? v.toFixed(digits) : '?');

/**
 * HH:MM of an instant with its zone's short name: in `tz` (an IANA name, the simulated city's
 * when the event gives it), else in UTC, so a time is never read in the wrong zone.
 */
export function clock(v: unknown, tz?: unknown): string {
  if (typeof v !== 'string') return '';
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return v;
  const timeZone = typeof tz === 'string' && tz ? tz : 'UTC';
  try {
    return d.toLocaleTimeString('en-US', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone, timeZoneName: 'short' });
  } catch {
    // A zone this browser does not know.
    return `${d.toISOString().slice(11, 16)} UTC`;
  }
}

function generic(d: Data): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(d)) {
    if (parts.length >= 4) break;
    if (v === null || typeof v === 'object') continue;
    const text = typeof v === 'string' && /^[0-9a-f-]{36}$/.test(v) ? `…${shortId(v)}` : String(v);
    parts.push(`${k.replace(/_/g, ' ')} ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`);
  }
  return parts.join(' · ');
}

/** Names a venue by id when the map knows it (its category), for readable summaries. */
export type VenueNamer = (id: string) => string | null;

/** The fields of an event's data (or its booking's) that hold a user's id. */
const USER_FIELDS = ['user_id', 'inviter_id', 'invitee_id', 'organizer_id', 'from_user_id', 'to_user_id', 'other_user_id'];

/** The ids of the users an event names, each once, in the order of its fields. */
export function usersOf(e: LunaEvent): string[] {
  const d = (e.data && typeof e.data === 'object' ? e.data : {}) as Data;
  const booking = (d.booking && typeof d.booking === 'object' ? d.booking : {}) as Data;
  const out: string[] = [];
  for (const from of [d, booking]) {
    for (const f of USER_FIELDS) {
      const v = from[f];
      if (typeof v === 'string' && v && !out.includes(v)) out.push(v);
    }
  }
  return out;
}

/** The booking a booking event is about: booking.released carries {booking, reason},
 * booking.refused the slot that was full, the others the booking itself. */
const bookingOf = (d: Data): Data => (d.booking && typeof d.booking === 'object' ? d.booking : d) as Data;

/** The status a booking event gives its booking ('full' for a refusal: there is no booking). */
const bookingStatus = (type: string, b: Data): unknown => (type === 'booking.refused' ? 'full' : b.status);

const words = (v: string) => v.replace(/[._]/g, ' ');

/** What a bookings-channel event did, by its type. */
const BOOKING_WORDS: Record<string, string> = {
  'booking.held': 'seats held',
  'booking.created': 'booked',
  'booking.released': 'hold released',
  'booking.refused': 'refused: full',
  'booking.status_changed': 'status changed',
  'plan.confirmed': 'plan confirmed',
  'plan.cancelled': 'plan cancelled',
};

/**
 * What a booking event did, in a few plain words for a short list (the map's booking activity),
 * where describe() gives the whole line: 'booked', 'now confirmed', 'hold released · expired',
 * 'refused: full', 'plan cancelled'. An event of a type it does not know reads as its type in
 * words ('booking.moved' as 'moved').
 */
export function eventWords(e: LunaEvent): string {
  const d = (e.data && typeof e.data === 'object' ? e.data : {}) as Data;
  if (e.type === 'booking.status_changed') {
    const status = bookingStatus(e.type, bookingOf(d));
    return typeof status === 'string' && status ? `now ${words(status)}` : BOOKING_WORDS[e.type];
  }
  const known = BOOKING_WORDS[e.type];
  if (!known) return words(e.type.replace(/^booking\./, ''));
  const reason = e.type === 'booking.released' && typeof d.reason === 'string' && d.reason ? ` · ${words(d.reason)}` : '';
  return `${known}${reason}`;
}

/** Every event type the server sends, in a few readable words for the feed's type column. */
const TYPE_LABELS: Record<string, string> = {
  'user.created': 'user joined',
  'user.updated': 'profile updated',
  'user.deleted': 'user deleted',
  'user.preferences_updated': 'preferences updated',
  'user.location_updated': 'location shared',
  'interaction.recorded': 'interaction',
  'recommendation.served': 'recommendations shown',
  'friend.requested': 'friend request',
  'friend.request_answered': 'friend request answered',
  'friend.removed': 'friend removed',
  'interest.expressed': 'interest',
  'plan.created': 'plan made',
  'plan.participant_updated': 'plan reply',
  'plan.rescheduled': 'plan moved',
  'plan.confirmed': 'plan confirmed',
  'plan.cancelled': 'plan cancelled',
  'invitation.sent': 'invitation',
  'booking.held': 'seats held',
  'booking.created': 'booking made',
  'booking.released': 'hold released',
  'booking.refused': 'booking refused',
  'booking.status_changed': 'booking status',
  'venue.created': 'venue added',
  'venue.updated': 'venue updated',
  'venue.deleted': 'venue deleted',
  'data.seeded': 'data seeded',
  'data.reset': 'data reset',
  'model.trained': 'model trained',
  'metrics.snapshot': 'server metrics',
  'simulation.started': 'simulation started',
  'simulation.paused': 'simulation paused',
  'simulation.resumed': 'simulation resumed',
  'simulation.speed_changed': 'simulation speed',
  'simulation.scenario_triggered': 'scenario triggered',
  'simulation.stopped': 'simulation stopped',
  'simulation.finished': 'simulation finished',
  'simulation.reset': 'simulation reset',
};

/** An event's type in readable words ('plan.confirmed' as 'plan confirmed'); a type it does not
 * know (the server grows) as its name in words. */
export const typeLabel = (type: string): string => TYPE_LABELS[type] ?? words(type);

/**
 * One line for an event. Times are read in `tz` (the simulated city's zone, when known) unless
 * the event names its own zone; else in UTC. Every time carries its zone's name. Users read by
 * their names when `userName` knows them, else by the end of their id (`…3f2a9c`).
 */
export function describe(
  e: LunaEvent,
  venueName: VenueNamer = () => null,
  tz?: string | null,
  userName: UserNamer = () => undefined,
): string {
  const d = (e.data && typeof e.data === 'object' ? e.data : {}) as Data;
  const venue = (id: unknown) => `${(typeof id === 'string' && venueName(id)) || 'venue'} …${shortId(id)}`;
  const who = (id: unknown) => {
    const u = typeof id === 'string' ? userName(id) : null;
    return u ? u.name || `@${u.handle}` : `…${shortId(id)}`;
  };
  switch (e.type) {
    case 'interaction.recorded':
      return `${d.interaction_type ?? 'interaction'} by ${who(d.user_id)} at ${venue(d.venue_id)}${
        typeof d.dwell_time_seconds === 'number' && d.dwell_time_seconds > 0 ? ` · ${d.dwell_time_seconds}s` : ''
      }`;
    case 'interest.expressed': {
      // Newer servers add the part of the day (`preferred_time_slot`) and `open_to_invites`
      // (absent means open); older ones send neither.
      const slot = typeof d.preferred_time_slot === 'string' && d.preferred_time_slot ? ` (${d.preferred_time_slot})` : '';
      const closed = d.open_to_invites === false ? ' · not open to invites' : '';
      const at = d.preferred_time ? ` at ${clock(d.preferred_time, tz)}` : '';
      return `${who(d.user_id)} wants to go to ${venue(d.venue_id)}${at}${slot}${closed}`;
    }
    case 'metrics.snapshot': {
      // One of each in the singular (QA: the feed read '1 streams' on a dashboard alone on its server).
      const streams = typeof d.sse_subscribers === 'number' ? ` · ${d.sse_subscribers} ${d.sse_subscribers === 1 ? 'stream' : 'streams'}` : '';
      return `${num(d.requests_per_second)} req/s · ${num(d.events_per_second)} events/s${streams}`;
    }
    case 'recommendation.served': {
      const items = Array.isArray(d.items) ? d.items.length : 0;
      const one: Record<string, string> = { venues: 'venue', people: 'person', items: 'item' };
      const kind = typeof d.kind === 'string' ? d.kind : 'items';
      return `${items} ${items === 1 ? (one[kind] ?? kind) : kind} for ${who(d.user_id)} (${d.ranker ?? '?'} ranker)`;
    }
    case 'data.seeded':
      return `${d.users ?? '?'} users, ${d.venues ?? '?'} venues, ${d.interactions ?? '?'} interactions`;
    case 'data.reset':
      return 'all data deleted';
    case 'model.trained': {
      // The learned model put to use: how much of the data it knows.
      const f = (d.fit ?? {}) as Record<string, unknown>;
      const secs = typeof d.elapsed_ms === 'number' ? ` in ${(d.elapsed_ms / 1000).toFixed(1)} s` : '';
      return `learned model trained${secs} · knows ${f.users_known ?? '?'} of ${f.users_held ?? '?'} users, ${f.venues_known ?? '?'} of ${f.venues_held ?? '?'} venues`;
    }
    case 'user.created':
    case 'user.updated':
      return `@${d.handle ?? '?'}${d.name ? ` (${d.name})` : ''}`;
    case 'user.deleted': {
      // The event carries only the id; `userName` gives the name the user had, when it was known.
      const u = typeof d.user_id === 'string' ? userName(d.user_id) : null;
      return u ? `${u.name ? `${u.name} ` : ''}@${u.handle} · …${shortId(d.user_id)} deleted` : `user …${shortId(d.user_id)} deleted`;
    }
    case 'venue.created':
    case 'venue.updated':
      return `${d.name ?? '?'} · ${d.category ?? ''}`;
    case 'invitation.sent': {
      // To a plan (the organizer's) or to a booking (its maker's party).
      const to = d.plan_id ? ` · plan …${shortId(d.plan_id)}` : d.booking_id ? ` · booking …${shortId(d.booking_id)}` : '';
      return `${who(d.inviter_id)} invited ${who(d.invitee_id)} to ${venue(d.venue_id)}${to}`;
    }
    case 'plan.created':
    case 'plan.rescheduled':
    case 'plan.confirmed':
    case 'plan.cancelled': {
      // An organizer who deleted their account leaves the plan with none.
      const by = typeof d.organizer_id === 'string' ? who(d.organizer_id) : 'no organizer';
      // Its participants count the organizer (accepted) among them.
      const invited = Array.isArray(d.participants) ? (d.participants as Data[]).filter((p) => p?.user_id !== d.organizer_id).length : null;
      const people = invited === null ? '' : ` · ${invited} invited`;
      const when = d.start_time ? ` · ${clock(d.start_time, tz)}` : '';
      return `plan …${shortId(d.id)} by ${by} at ${venue(d.venue_id)}${when}${people}${d.status ? ` · ${d.status}` : ''}`;
    }
    case 'plan.participant_updated':
      return `${who(d.user_id)} ${d.status === 'invited' ? 'invited to' : (d.status ?? 'answered')} plan …${shortId(d.plan_id)}`;
    case 'friend.requested':
    case 'friend.request_answered':
      return `${who(d.from_user_id ?? d.user_id)} → ${who(d.to_user_id ?? d.other_user_id)}${d.status ? ` · ${d.status}` : ''}`;
  }
  if (e.type.startsWith('booking.')) {
    const b = bookingOf(d);
    const party = b.party_size ? `party of ${b.party_size} ` : '';
    const by = typeof b.user_id === 'string' && b.user_id ? `${who(b.user_id)} · ` : '';
    const when = b.booking_time ?? b.time ?? b.starts_at;
    const status = bookingStatus(e.type, b);
    const free = e.type === 'booking.refused' && typeof d.seats_free === 'number' ? ` (${d.seats_free} of ${d.capacity ?? '?'} seats free)` : '';
    const reason = typeof d.reason === 'string' && d.reason ? ` · ${d.reason}` : '';
    return `${by}${party}at ${venue(b.venue_id)}${status ? ` · ${status}` : ''}${free}${when ? ` · ${clock(when, tz)}` : ''}${reason}`;
  }
  if (e.type.startsWith('simulation.')) {
    const speed = d.speed === 'max' ? 'max speed' : typeof d.speed === 'number' ? `${d.speed}×` : '';
    // simulation.finished carries no status, only how far the run went.
    const status =
      typeof d.status === 'string'
        ? statusWords(d.status as SimStatus, d.stop_reason as StopReason | null)
        : e.type === 'simulation.finished'
          ? `finished${typeof d.ticks === 'number' ? ` after ${d.ticks.toLocaleString('en-US')} simulated ${d.ticks === 1 ? 'minute' : 'minutes'}` : ''}`
          : '';
    // The scenario in words, as the simulation panel names it (QA: the feed read 'friday_night'
    // beside the panel's 'Friday Night Out', and 'after 10 ticks' beside its 'sim minutes').
    const scenario = typeof d.scenario === 'string' ? words(d.scenario) : '';
    return [status, scenario, speed, d.simulation_time ? `sim ${clock(d.simulation_time, d.timezone ?? tz)}` : '']
      .filter(Boolean)
      .join(' · ');
  }
  return generic(d);
}

/** How a stopped run's status reads, in plain words: why it stopped. */
const STOPPED_BY: Record<StopReason, string> = {
  requested: 'stopped',
  data_reset: 'stopped by a data reset',
  booking_horizon: 'stopped: reached the booking horizon',
  shutdown: 'stopped: the server shut down',
  failed: 'stopped: the run failed (see the server log)',
};

/** A run's status in plain words; a stopped run says why ("stopped" alone from a server that does not say). */
export function statusWords(status: SimStatus, reason: StopReason | null | undefined): string {
  return status === 'stopped' && reason ? (STOPPED_BY[reason] ?? status) : status;
}

/** The simulated city's time zone, from the newest simulation event that names one. */
export function feedZone(events: readonly { event: LunaEvent }[]): string | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i].event;
    if (e.channel !== 'simulation') continue;
    const tz = (e.data as Data | null)?.timezone;
    if (typeof tz === 'string' && tz) return tz;
  }
  return null;
}
