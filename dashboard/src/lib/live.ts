// The live state the panels draw, fed by the event stream: the feed (the newest events),
// events per second by channel, bookings, request latency (from `metrics.snapshot`),
// recommendation click-through (from the simulator's metrics), live bookings and demand for the
// map. Events arrive by the thousand per second at full simulation speed, so listeners are
// told at most four times a second. A figure with nothing behind it (no request timed, no
// recommendation shown) is `null`, drawn as a gap and shown as "–", not as 0. A data reset
// (`data.reset`, or `resetData` when the stats find the database empty) clears what described the
// old data: click-through, bookings and the map's demand.

import {
  CHANNELS,
  type Channel,
  type LunaEvent,
  type RankerConversion,
  type ServerMetrics,
  type SimMetrics,
  type SimState,
} from '../api/types';
import { eventWords } from './describe';

export const WINDOW_SECONDS = 120;
export const FEED_SIZE = 500;
const BOOKING_BUCKET = 5;
const LIVE_BOOKING_SECONDS = 45;
/** A server whose snapshots (every 5 s by default) stopped this long ago no longer counts. */
const SERVER_QUIET_SECONDS = 60;

export interface FeedItem {
  seq: number;
  event: LunaEvent;
  receivedAt: number;
}

/** Latency in ms; `null` when no request of that kind was timed (no server had one). */
export interface LatencyPoint {
  t: number;
  recoP50: number | null;
  recoP90: number | null;
  recoP99: number | null;
  apiP90: number | null;
  rps: number;
}

/** The simulator's rates in percent; `null` while it has shown no recommendation. */
export interface CtrPoint {
  t: number;
  ctr: number | null;
  conversion: number | null;
  shown: number;
}

export interface LiveBooking {
  venueId: string;
  at: number;
  type: string;
  /** What the event did, in plain words (describe's eventWords): 'booked', 'now confirmed'. */
  words: string;
}

type Listener = () => void;

/**
 * Pulls a venue id out of an event's data, if it has one. Most events that name a venue carry
 * `venue_id` in their data (interactions, interests, plans, invitations, bookings, refusals);
 * `booking.released` carries `{booking, reason}`, its venue inside the booking (QA: released
 * holds never reached the map).
 */
export function venueOf(e: LunaEvent): string | null {
  const d = e.data as Record<string, unknown> | null;
  if (!d || typeof d !== 'object') return null;
  if (typeof d.venue_id === 'string') return d.venue_id;
  const b = d.booking as Record<string, unknown> | null | undefined;
  if (b && typeof b === 'object' && typeof b.venue_id === 'string') return b.venue_id;
  const v = d.venue as Record<string, unknown> | null | undefined;
  return v && typeof v === 'object' && typeof v.id === 'string' ? v.id : null;
}

/** How much an event says about demand at its venue. */
export function demandWeight(e: LunaEvent): number {
  if (e.type.startsWith('booking.')) return 4;
  if (e.type === 'plan.confirmed') return 3;
  if (e.type === 'interest.expressed') return 2;
  if (e.type === 'interaction.recorded') return 1;
  return 0;
}

export class LiveStore {
  version = 0;
  feed: FeedItem[] = [];
  total = 0;
  byChannel: Record<Channel, number> = Object.fromEntries(CHANNELS.map((c) => [c, 0])) as Record<Channel, number>;
  /** Epoch second -> events that arrived in it, by channel. */
  private perSecond = new Map<number, Record<string, number>>();
  /** Epoch second (bucket start) -> [created, other booking events]. */
  private bookingBuckets = new Map<number, [number, number]>();
  latency: LatencyPoint[] = [];
  ctr: CtrPoint[] = [];
  liveBookings: LiveBooking[] = [];
  /** Demand seen on the stream since the map was last loaded, by venue id. */
  demand = new Map<string, number>();
  sim: SimState | null = null;
  /** Each server's latest snapshot and when it came. */
  private servers = new Map<string, { m: ServerMetrics; at: number }>();
  /** Since the last data reset, the simulator's figures are the stopped run's: it keeps answering
   * with them, and a run the reset stopped may count its last simulated minute after it, so they
   * can still change. None is drawn until a run starts: its `simulation.started`, or (that event
   * missed) counters that went back. */
  private simStale = false;
  /** The simulator's action count last polled. */
  private lastActions: number | null = null;
  private seq = 0;
  /** The second the first event arrived in: the rates count from it. */
  private firstSecond: number | null = null;
  private dirty = false;
  private listeners = new Set<Listener>();
  private eventListeners = new Set<(e: LunaEvent) => void>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  subscribe = (l: Listener): (() => void) => {
    this.listeners.add(l);
    if (!this.timer) this.timer = setInterval(() => this.flush(), 250);
    return () => {
      this.listeners.delete(l);
      if (this.listeners.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  };

  getVersion = (): number => this.version;

  /** Called for every event as it arrives (not batched). */
  onEvent(l: (e: LunaEvent) => void): () => void {
    this.eventListeners.add(l);
    return () => this.eventListeners.delete(l);
  }

  /** Tells listeners now if anything changed. */
  flush(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.version += 1;
    this.listeners.forEach((l) => l());
  }

  ingest(e: LunaEvent): void {
    const at = this.now();
    const second = Math.floor(at / 1000);
    this.firstSecond ??= second;
    this.total += 1;
    if (e.channel in this.byChannel) this.byChannel[e.channel] += 1;
    this.feed.push({ seq: ++this.seq, event: e, receivedAt: at });
    if (this.feed.length > FEED_SIZE * 1.2) this.feed = this.feed.slice(-FEED_SIZE);
    const slot = this.perSecond.get(second) ?? {};
    slot[e.channel] = (slot[e.channel] ?? 0) + 1;
    this.perSecond.set(second, slot);
    if (e.channel === 'bookings') this.ingestBooking(e, second, at);
    const venue = venueOf(e);
    const weight = demandWeight(e);
    if (venue && weight > 0) this.demand.set(venue, (this.demand.get(venue) ?? 0) + weight);
    if (e.type === 'metrics.snapshot') this.ingestMetrics(e.data as ServerMetrics, second);
    if (e.type === 'data.reset') this.resetData();
    if (e.type === 'simulation.started') this.simStale = false;
    if (e.channel === 'simulation' && e.data && typeof e.data === 'object' && 'status' in e.data) {
      this.sim = e.data as SimState;
    }
    this.prune(second);
    this.dirty = true;
    this.eventListeners.forEach((l) => l(e));
  }

  private ingestBooking(e: LunaEvent, second: number, at: number) {
    const bucket = second - (second % BOOKING_BUCKET);
    const b = this.bookingBuckets.get(bucket) ?? [0, 0];
    if (e.type === 'booking.created') b[0] += 1;
    else b[1] += 1;
    this.bookingBuckets.set(bucket, b);
    const venue = venueOf(e);
    if (venue) this.liveBookings.push({ venueId: venue, at, type: e.type, words: eventWords(e) });
  }

  private ingestMetrics(m: ServerMetrics, second: number) {
    if (!m || typeof m !== 'object' || !m.server) return;
    this.servers.set(m.server, { m, at: this.now() });
    const all = this.liveServers();
    // The slowest server's figure, of those that timed a recommendation; null if none did.
    const timed = all.filter((s) => (s.recommendation_latency_ms?.count ?? 0) > 0);
    const max = (f: (s: ServerMetrics) => number) => (timed.length ? Math.max(...timed.map(f)) : null);
    // The request-weighted mean of each route's p90, streams left out (they stay open).
    let weight = 0;
    let sum = 0;
    for (const s of all)
      for (const r of s.routes ?? []) {
        if (r.route.includes('/streams/subscribe') || r.latency_ms.count === 0) continue;
        weight += r.latency_ms.count;
        sum += r.latency_ms.p90 * r.latency_ms.count;
      }
    this.latency.push({
      t: second,
      recoP50: max((s) => s.recommendation_latency_ms.p50),
      recoP90: max((s) => s.recommendation_latency_ms.p90),
      recoP99: max((s) => s.recommendation_latency_ms.p99),
      apiP90: weight ? sum / weight : null,
      rps: all.reduce((a, s) => a + (s.requests_per_second ?? 0), 0),
    });
  }

  /** The latest snapshot of every server heard from lately (a restarted or stopped server's
   *  last figures stop counting once it has been quiet for `SERVER_QUIET_SECONDS`). */
  private liveServers(): ServerMetrics[] {
    const from = this.now() - SERVER_QUIET_SECONDS * 1000;
    for (const [k, s] of this.servers) if (s.at < from) this.servers.delete(k);
    return [...this.servers.values()].map((s) => s.m);
  }

  /** Every ranker's conversion, summed over the servers' latest snapshots, most shown first. */
  conversionByRanker(): RankerConversion[] {
    const sum = new Map<string, RankerConversion>();
    for (const s of this.liveServers())
      for (const c of s.recommendation_conversion ?? []) {
        const t = sum.get(c.ranker) ?? { ...c, answers: 0, shown: 0, viewed: 0, liked: 0, visited: 0, booked: 0 };
        t.answers += c.answers;
        t.shown += c.shown;
        t.viewed += c.viewed;
        t.liked += c.liked;
        t.visited += c.visited;
        t.booked += c.booked;
        sum.set(c.ranker, t);
      }
    const rate = (n: number, shown: number) => (shown > 0 ? n / shown : 0);
    return [...sum.values()]
      .map((t) => ({
        ...t,
        view_rate: rate(t.viewed, t.shown),
        like_rate: rate(t.liked, t.shown),
        visit_rate: rate(t.visited, t.shown),
        booking_rate: rate(t.booked, t.shown),
      }))
      .sort((a, b) => b.shown - a.shown || a.ranker.localeCompare(b.ranker));
  }

  /** Records the simulator's recommendation figures (polled). Since a data reset, those of the
   * run it stopped are not drawn again, until a new run starts. */
  pushSimMetrics(m: SimMetrics): void {
    const t = Math.floor(this.now() / 1000);
    const r = m.recommendations;
    const actions = typeof m.actions_total === 'number' ? m.actions_total : null;
    const restarted = actions !== null && this.lastActions !== null && actions < this.lastActions;
    if (actions !== null) this.lastActions = actions;
    if (this.simStale && !restarted) return;
    this.simStale = false;
    const last = this.ctr[this.ctr.length - 1];
    if (last && last.t === t) return;
    const shown = r.shown > 0;
    this.ctr.push({
      t,
      ctr: shown ? r.click_through_rate * 100 : null,
      conversion: shown ? r.conversion_rate * 100 : null,
      shown: r.shown,
    });
    this.prune(t);
    this.dirty = true;
  }

  /** The data was reset: forgets the series that described it (click-through, bookings, the
   * map's live bookings and demand), and the stopped run's simulator figures, until a new run
   * starts. Events per second and request latency are the servers' and stay. */
  resetData(): void {
    this.ctr = [];
    this.simStale = true;
    this.bookingBuckets.clear();
    this.liveBookings = [];
    this.demand = new Map();
    this.dirty = true;
  }

  /** Forgets the demand seen on the stream (the map was reloaded with it). */
  resetDemand(): void {
    this.demand = new Map();
    this.dirty = true;
  }

  private prune(second: number) {
    const oldest = second - WINDOW_SECONDS;
    for (const k of this.perSecond.keys()) if (k < oldest) this.perSecond.delete(k);
    for (const k of this.bookingBuckets.keys()) if (k < oldest) this.bookingBuckets.delete(k);
    if (this.latency.length && this.latency[0].t < oldest) this.latency = this.latency.filter((p) => p.t >= oldest);
    if (this.ctr.length && this.ctr[0].t < oldest) this.ctr = this.ctr.filter((p) => p.t >= oldest);
    const liveFrom = this.now() - LIVE_BOOKING_SECONDS * 1000;
    if (this.liveBookings.length && this.liveBookings[0].at < liveFrom)
      this.liveBookings = this.liveBookings.filter((b) => b.at >= liveFrom);
  }

  /** Events per second by channel over the window, complete seconds only: [times, ...channels]. */
  rateSeries(): number[][] {
    const end = Math.floor(this.now() / 1000) - 1;
    const xs: number[] = [];
    const ys = CHANNELS.map(() => [] as number[]);
    for (let t = end - WINDOW_SECONDS + 1; t <= end; t++) {
      xs.push(t);
      const slot = this.perSecond.get(t);
      CHANNELS.forEach((c, i) => ys[i].push(slot?.[c] ?? 0));
    }
    return [xs, ...ys];
  }

  /** Bookings per 5-second bucket over the window: [times, created, other changes]. */
  bookingSeries(): number[][] {
    const now = Math.floor(this.now() / 1000);
    const end = now - (now % BOOKING_BUCKET);
    const xs: number[] = [];
    const created: number[] = [];
    const other: number[] = [];
    for (let t = end - WINDOW_SECONDS + BOOKING_BUCKET; t <= end; t += BOOKING_BUCKET) {
      const b = this.bookingBuckets.get(t);
      xs.push(t);
      created.push(b?.[0] ?? 0);
      other.push(b?.[1] ?? 0);
    }
    return [xs, created, other];
  }

  /** Events per second over the last `seconds` complete seconds. */
  recentRate(seconds = 10): number {
    const end = Math.floor(this.now() / 1000) - 1;
    // Over the seconds watched: just after the page opened, 3 s of events are not spread over
    // 10 (QA: 58/s read beside the server's 344/s three seconds after a reload).
    const from = Math.max(end - seconds + 1, this.firstSecond ?? end + 1);
    if (from > end) return 0;
    let n = 0;
    for (let t = from; t <= end; t++) {
      const slot = this.perSecond.get(t);
      if (slot) for (const v of Object.values(slot)) n += v;
    }
    return n / (end - from + 1);
  }
}
