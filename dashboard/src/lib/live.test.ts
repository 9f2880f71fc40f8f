import { describe, expect, it } from 'vitest';

import type { LunaEvent, SimMetrics } from '../api/types';
import { FEED_SIZE, LiveStore, WINDOW_SECONDS } from './live';

let n = 0;
function ev(channel: LunaEvent['channel'], type: string, data: unknown = {}): LunaEvent {
  n += 1;
  return { id: `${n}-0`, source_id: null, channel, type, timestamp: new Date().toISOString(), data };
}

function clock(start = 1_800_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('LiveStore', () => {
  it('counts events per second by channel over the window, complete seconds only', () => {
    const c = clock();
    const s = new LiveStore(c.now);
    s.ingest(ev('user_actions', 'interaction.recorded'));
    s.ingest(ev('user_actions', 'interaction.recorded'));
    s.ingest(ev('social', 'friend.requested'));
    c.advance(1000);
    s.ingest(ev('user_actions', 'interaction.recorded'));
    c.advance(1000);
    const [xs, userActions, , , social] = s.rateSeries();
    expect(xs).toHaveLength(WINDOW_SECONDS);
    expect(userActions.slice(-2)).toEqual([2, 1]);
    expect(social.slice(-2)).toEqual([1, 0]);
    expect(s.recentRate(2)).toBe(2);
    expect(s.byChannel.user_actions).toBe(3);
  });

  it('measures the recent rate over the seconds it has watched, not over ten from the first', () => {
    const c = clock();
    const s = new LiveStore(c.now);
    expect(s.recentRate(10)).toBe(0);
    // The page opened three seconds ago; 50 events a second since.
    for (let sec = 0; sec < 3; sec++) {
      for (let i = 0; i < 50; i++) s.ingest(ev('user_actions', 'interaction.recorded'));
      c.advance(1000);
    }
    expect(s.recentRate(10)).toBe(50);
    // Once ten seconds are watched, over the last ten (the three busy ones among them).
    c.advance(7000);
    expect(s.recentRate(10)).toBe(15);
  });

  it('tells listeners in batches, only when something changed', () => {
    const s = new LiveStore();
    let told = 0;
    const off = s.subscribe(() => (told += 1));
    s.flush();
    expect(told).toBe(0);
    s.ingest(ev('system', 'data.seeded'));
    s.ingest(ev('system', 'venue.created'));
    s.flush();
    s.flush();
    expect(told).toBe(1);
    off();
  });

  it('keeps the newest events in the feed', () => {
    const s = new LiveStore();
    for (let i = 0; i < FEED_SIZE * 2; i++) s.ingest(ev('user_actions', 'interaction.recorded'));
    expect(s.feed.length).toBeLessThanOrEqual(FEED_SIZE * 1.2);
    expect(s.feed[s.feed.length - 1].seq).toBe(FEED_SIZE * 2);
    expect(s.total).toBe(FEED_SIZE * 2);
  });

  it('buckets bookings, remembers where they happened, and adds demand by venue', () => {
    const c = clock(1_800_000_000_000);
    const s = new LiveStore(c.now);
    s.ingest(ev('bookings', 'booking.created', { venue_id: 'v1', party_size: 2 }));
    s.ingest(ev('bookings', 'booking.status_changed', { venue_id: 'v1' }));
    s.ingest(ev('user_actions', 'interaction.recorded', { venue_id: 'v2' }));
    const [xs, created, changed] = s.bookingSeries();
    expect(xs[xs.length - 1] % 5).toBe(0);
    expect(created.reduce((a, b) => a + b)).toBe(1);
    expect(changed.reduce((a, b) => a + b)).toBe(1);
    expect(s.liveBookings.map((b) => b.venueId)).toEqual(['v1', 'v1']);
    expect(s.demand.get('v1')).toBe(8);
    expect(s.demand.get('v2')).toBe(1);
    c.advance(60_000);
    s.ingest(ev('metrics', 'metrics.snapshot', {}));
    expect(s.liveBookings).toEqual([]);
  });

  it('puts every event that names a venue on the map, wherever its data holds it', () => {
    // QA: booking.released carries {booking, reason}, its venue inside the booking, and never
    // reached the map's live bookings nor its demand.
    const s = new LiveStore(clock().now);
    const booking = { id: 'b1', venue_id: 'v3', status: 'pending', party_size: 2 };
    s.ingest(ev('bookings', 'booking.held', booking));
    s.ingest(ev('bookings', 'booking.released', { booking: { ...booking, status: 'cancelled' }, reason: 'expired' }));
    s.ingest(ev('bookings', 'booking.refused', { user_id: 'u1', venue_id: 'v4', party_size: 2, seats_free: 0, capacity: 10 }));
    s.ingest(ev('bookings', 'plan.confirmed', { id: 'p1', venue_id: 'v5', status: 'confirmed', participants: [] }));
    s.ingest(ev('bookings', 'plan.cancelled', { id: 'p2', venue_id: 'v5', status: 'cancelled', participants: [] }));
    s.ingest(ev('social', 'interest.expressed', { user_id: 'u1', venue_id: 'v6' }));
    expect(s.liveBookings.map((b) => [b.type, b.venueId])).toEqual([
      ['booking.held', 'v3'],
      ['booking.released', 'v3'],
      ['booking.refused', 'v4'],
      ['plan.confirmed', 'v5'],
      ['plan.cancelled', 'v5'],
    ]);
    expect(s.liveBookings[1].words).toBe('hold released · expired');
    expect(s.demand.get('v3')).toBe(8);
    expect(s.demand.get('v6')).toBe(2);
  });

  it('turns metrics snapshots into latency points, across servers, leaving streams out', () => {
    const s = new LiveStore();
    const route = (r: string, count: number, p90: number) => ({ route: r, total: count, last_minute: count, per_second: 1, server_errors_last_minute: 0, latency_ms: { count, p50: 1, p90, p99: 9, max: 9 } });
    const snap = (server: string, p99: number, routes: unknown[]) => ({
      server,
      requests_per_second: 3,
      routes,
      recommendation_latency_ms: { count: 1, p50: 1, p90: 2, p99, max: p99 },
    });
    s.ingest(ev('metrics', 'metrics.snapshot', snap('a', 5, [route('GET /users', 10, 2), route('GET /api/v1/admin/streams/subscribe-all', 5, 1000)])));
    s.ingest(ev('metrics', 'metrics.snapshot', snap('b', 8, [route('GET /venues', 30, 6)])));
    const last = s.latency[s.latency.length - 1];
    expect(last.recoP99).toBe(8);
    expect(last.apiP90).toBeCloseTo((10 * 2 + 30 * 6) / 40);
    expect(last.rps).toBe(6);
  });

  it("sums each ranker's conversion over the servers' latest snapshots", () => {
    const s = new LiveStore();
    const conv = (ranker: string, shown: number, viewed: number, booked: number) => ({ ranker, answers: 1, shown, viewed, liked: 0, visited: 0, booked, view_rate: 0, like_rate: 0, visit_rate: 0, booking_rate: 0 });
    const snap = (server: string, c: unknown[]) => ({ server, routes: [], recommendation_conversion: c });
    s.ingest(ev('metrics', 'metrics.snapshot', snap('a', [conv('seed2', 10, 5, 1)])));
    s.ingest(ev('metrics', 'metrics.snapshot', snap('a', [conv('seed2', 20, 6, 1)]))); // a's newer figures replace its older
    s.ingest(ev('metrics', 'metrics.snapshot', snap('b', [conv('seed2', 20, 2, 1), conv('default', 50, 10, 0)])));
    const [first, second] = s.conversionByRanker();
    expect(first).toEqual(expect.objectContaining({ ranker: 'default', shown: 50, view_rate: 0.2 }));
    expect(second).toEqual(expect.objectContaining({ ranker: 'seed2', answers: 2, shown: 40, viewed: 8, booked: 2, view_rate: 0.2, booking_rate: 0.05 }));
    expect(new LiveStore().conversionByRanker()).toEqual([]);
  });

  it('forgets a server that has gone quiet', () => {
    const c = clock();
    const s = new LiveStore(c.now);
    const conv = { ranker: 'seed2', answers: 1, shown: 10, viewed: 1, liked: 0, visited: 0, booked: 0 };
    s.ingest(ev('metrics', 'metrics.snapshot', { server: 'old', routes: [], recommendation_conversion: [conv] }));
    c.advance(61_000);
    s.ingest(ev('metrics', 'metrics.snapshot', { server: 'new', routes: [], recommendation_conversion: [conv] }));
    expect(s.conversionByRanker()).toEqual([expect.objectContaining({ shown: 10, viewed: 1 })]);
  });

  it('records click-through from the simulator, as percentages', () => {
    const s = new LiveStore();
    s.pushSimMetrics({ recommendations: { click_through_rate: 0.25, conversion_rate: 0.05, shown: 40 } } as SimMetrics);
    expect(s.ctr).toEqual([expect.objectContaining({ ctr: 25, conversion: 5, shown: 40 })]);
  });

  it('has no latency (null, not 0) when no server timed a recommendation or a route', () => {
    const s = new LiveStore();
    const none = { count: 0, p50: 0, p90: 0, p99: 0, max: 0 };
    const stream = { route: 'GET /api/v1/admin/streams/subscribe-all', total: 1, last_minute: 1, per_second: 0, server_errors_last_minute: 0, latency_ms: { count: 1, p50: 9e3, p90: 9e3, p99: 9e3, max: 9e3 } };
    s.ingest(ev('metrics', 'metrics.snapshot', { server: 'a', requests_per_second: 0, routes: [stream], recommendation_latency_ms: none }));
    expect(s.latency[0]).toEqual(expect.objectContaining({ recoP50: null, recoP90: null, recoP99: null, apiP90: null, rps: 0 }));
    // Once one server has timed one, its figures count (the silent server's zeros do not).
    s.ingest(ev('metrics', 'metrics.snapshot', { server: 'b', routes: [], recommendation_latency_ms: { count: 3, p50: 4, p90: 5, p99: 6, max: 6 } }));
    expect(s.latency[1]).toEqual(expect.objectContaining({ recoP50: 4, recoP99: 6, apiP90: null }));
  });

  it('has no click-through (null, not 0%) while the simulator has shown no recommendation', () => {
    const s = new LiveStore();
    s.pushSimMetrics({ recommendations: { click_through_rate: 0, conversion_rate: 0, shown: 0 } } as SimMetrics);
    expect(s.ctr).toEqual([expect.objectContaining({ ctr: null, conversion: null, shown: 0 })]);
  });

  it('forgets click-through, bookings and demand on data.reset, and the stopped run’s figures after it', () => {
    const c = clock();
    const s = new LiveStore(c.now);
    const sim = (shown: number, ctr: number) => ({ actions_total: shown, recommendations: { requests: 1, shown, clicks: 1, conversions: 0, click_through_rate: ctr, conversion_rate: 0 } }) as SimMetrics;
    s.pushSimMetrics(sim(90, 0.11));
    s.ingest(ev('bookings', 'booking.created', { venue_id: 'v1' }));
    c.advance(1000);
    s.ingest(ev('system', 'data.reset'));
    expect(s.ctr).toEqual([]);
    expect(s.bookingSeries()[1].every((n) => n === 0)).toBe(true);
    expect(s.liveBookings).toEqual([]);
    expect(s.demand.size).toBe(0);
    // The simulator still answers with the stopped run's figures: not drawn again.
    c.advance(2000);
    s.pushSimMetrics(sim(90, 0.11));
    expect(s.ctr).toEqual([]);
    // A new run's figures are.
    c.advance(2000);
    s.pushSimMetrics(sim(10, 0.2));
    expect(s.ctr).toEqual([expect.objectContaining({ ctr: 20, shown: 10 })]);
    // Events per second are the servers' and stay.
    expect(s.recentRate(10)).toBeGreaterThan(0);
  });

  it('does not draw the figures a run stopped by a data reset counted after it, until a new run starts', () => {
    // The reset stops the running simulation; its last simulated minute is counted after the
    // last poll before the reset, so the figures polled next differ from those, and are still
    // the dead run's (it was drawn as a flat line, about a city that is gone).
    const c = clock();
    const s = new LiveStore(c.now);
    const sim = (actions: number, shown: number, ctr: number) =>
      ({ actions_total: actions, recommendations: { requests: 1, shown, clicks: 1, conversions: 0, click_through_rate: ctr, conversion_rate: 0 } }) as SimMetrics;
    s.pushSimMetrics(sim(100, 40, 0.1));
    c.advance(1000);
    s.ingest(ev('system', 'data.reset'));
    for (let i = 0; i < 3; i++) {
      c.advance(2000);
      s.pushSimMetrics(sim(116, 50, 0));
    }
    expect(s.ctr).toEqual([]);
    // A new run: drawn from its start, whatever its counts.
    s.ingest(ev('simulation', 'simulation.started', { status: 'running', scenario: 'normal' }));
    c.advance(2000);
    s.pushSimMetrics(sim(300, 60, 0.25));
    expect(s.ctr).toEqual([expect.objectContaining({ ctr: 25, shown: 60 })]);
  });

  it('takes the next figures polled as the old run’s when reset before any (an empty database at load)', () => {
    const c = clock();
    const s = new LiveStore(c.now);
    s.resetData();
    const old = { actions_total: 131, recommendations: { requests: 9, shown: 90, clicks: 10, conversions: 1, click_through_rate: 0.11, conversion_rate: 0.01 } } as SimMetrics;
    s.pushSimMetrics(old);
    c.advance(2000);
    s.pushSimMetrics(old);
    expect(s.ctr).toEqual([]);
  });

  it('keeps the simulator state carried by simulation events', () => {
    const s = new LiveStore();
    s.ingest(ev('simulation', 'simulation.paused', { status: 'paused', scenario: 'normal' }));
    expect(s.sim?.status).toBe('paused');
  });
});
