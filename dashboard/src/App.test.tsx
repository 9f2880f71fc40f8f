import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { adoptUrlToken, setToken } from './api/auth';
import { EventStream } from './api/stream';
import { App } from './App';
import { CITY } from './test/city';
import { json, mockFetch } from './test/fetch';
import { fakePlots, resetPlots } from './test/plots';

const stats = (users: number, venues: number) => ({
  users: { total: users, simulated: users, real: 0 },
  venues: { total: venues, trending: 0 },
  bookings: { total: 0, confirmed: 0, by_status: {} },
  interactions: { total: 0 },
  social: { edges: 0, friend_requests: 0, venue_interests: 0, plans: 0 },
  events: { backend: 'memory', per_channel: {}, per_second: 0, last_minute: 0, outbox_pending: 0, outbox_dead: 0 },
  streams: { active_subscribers: 1, max_subscribers: 1000 },
});

const NO_SIM_METRICS = { recommendations: { click_through_rate: 0, conversion_rate: 0, shown: 0 }, recent_actions_per_second: 0 };
const idle = { status: 'idle', running: false, paused: false, scenario: 'normal', speed: null, active_users: 0, ticks: 0, events_generated: 0, bookings_created: 0, invites_sent: 0 };

/** The simulation panel's routes on a server whose simulator is idle, with nothing measured. */
function simRoutes() {
  return {
    'GET /api/v1/simulation/state': () => idle,
    'GET /api/v1/simulation/metrics': () => NO_SIM_METRICS,
    'GET /api/v1/simulation/scenarios': () => ({ scenarios: [] }),
  };
}

function stream(): Response {
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode('event: connected\nid: system:0-0\ndata: {}\n\n'));
    },
  });
  return new Response(body, { headers: { 'Content-Type': 'text/event-stream' } });
}

/** A stream the test pushes frames into: `open` answers the subscription, `push` sends a frame. */
function pushableStream() {
  const enc = new TextEncoder();
  let send: (frame: string) => void = () => {};
  const open = () =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(c) {
          send = (f) => c.enqueue(enc.encode(f));
          c.enqueue(enc.encode('event: connected\nid: system:0-0\ndata: {}\n\n'));
        },
      }),
      { headers: { 'Content-Type': 'text/event-stream' } },
    );
  return { open, push: (f: string) => send(f) };
}

/** The frame of the `n`th event on the stream. */
const frame = (n: number, channel: string, type: string, data: unknown) =>
  `id: ${channel}:${n}-0\ndata: ${JSON.stringify({ id: `e${n}`, source_id: null, channel, type, timestamp: '2026-12-05T08:00:00Z', data })}\n\n`;

const health = (relay: { status: string; restarts: number; last_failure: string | null }) => ({
  status: relay.status === 'running' && !busHealth.trim_error ? 'healthy' : 'degraded',
  service: 'Luna API Service',
  version: '0.1.0',
  database: { status: 'ok', backend: 'sqlite' },
  bus: busHealth,
  tasks: { engine_follower: { status: 'running', restarts: 0, last_failure: null }, relay },
});

let relayHealth = { status: 'running', restarts: 0, last_failure: null as string | null };
/** As the server before `trim_failures` and `trim_error` answers. */
const OLD_BUS: { status: string; backend: string; trim_failures?: number; trim_error?: string | null } = { status: 'ok', backend: 'memory' };
let busHealth = OLD_BUS;
/** When set, `/health` cannot be fetched (the connection is refused). */
let healthRefused = false;

/** As the server answers: `admin` is the admin token it takes on admin routes, if it asks for one. */
function server(users: number, venues: number, admin?: string, simMetrics: unknown = NO_SIM_METRICS) {
  const guard =
    (answer: (c: { url: string; headers: Record<string, string> }) => unknown) =>
    (c: { url: string; headers: Record<string, string> }) =>
      admin === undefined || c.headers.authorization === `Bearer ${admin}` || c.url.includes(`access_token=${admin}`)
        ? answer(c)
        : json({ error: { code: 'unauthorized', message: 'this needs the admin credential', details: null } }, 401);
  return mockFetch({
    'GET /health': () => {
      if (healthRefused) throw new TypeError('connection refused');
      return health(relayHealth);
    },
    'GET /api/v1/admin/stats': guard(() => stats(users, venues)),
    'GET /api/v1/admin/map': guard(() => (venues ? CITY : { ...CITY, venues: { id: [], lat: [], lng: [], category: [], interactions: [], bookings: [], demand: [] }, bounds: null })),
    'GET /api/v1/admin/streams/subscribe-all': guard(() => stream()),
    'GET /api/v1/simulation/state': () => idle,
    'GET /api/v1/simulation/metrics': () => simMetrics,
    'GET /api/v1/simulation/scenarios': () => ({ scenarios: [] }),
    'GET /api/v1/users': () => [],
  });
}

/**
 * The app on a city of 3 venues and 2 users whose stream the test pushes events into (under fake
 * timers): `maps` counts the map's loads, `before` is the count once the first loads settled.
 */
async function mapWithPushedEvents() {
  const { open, push } = pushableStream();
  const { calls } = mockFetch({
    'GET /health': () => health(relayHealth),
    'GET /api/v1/admin/stats': () => stats(2, 3),
    'GET /api/v1/admin/map': () => ({ ...CITY, users_total: 2 }),
    'GET /api/v1/admin/streams/subscribe-all': () => open(),
    ...simRoutes(),
  });
  render(<App />);
  await waitFor(() => expect(screen.getByTestId('map-summary')).toHaveTextContent('3 venues · 2 users'));
  await waitFor(() => expect(calls.some((c) => c.url.startsWith('/api/v1/admin/streams/subscribe-all'))).toBe(true));
  const maps = () => calls.filter((c) => c.url.startsWith('/api/v1/admin/map')).length;
  await vi.advanceTimersByTimeAsync(6000);
  return { push, maps, before: maps() };
}

beforeEach(() => window.history.replaceState(null, '', '/'));
afterEach(() => {
  vi.useRealTimers();
  setToken(null);
  vi.unstubAllGlobals();
  relayHealth = { status: 'running', restarts: 0, last_failure: null };
  busHealth = OLD_BUS;
  healthRefused = false;
});

describe('App', () => {
  it('shows the stream as live and tells an empty database to seed', async () => {
    server(0, 0);
    render(<App />);
    await waitFor(() => expect(screen.getByTestId('stream-status')).toHaveAttribute('data-status', 'live'));
    expect(await screen.findByTestId('empty-database')).toHaveTextContent('The database is empty');
    fireEvent.click(screen.getAllByRole('button', { name: 'Seed demo data' })[0]);
    expect(screen.getByRole('dialog', { name: 'Seed the demo city?' })).toBeInTheDocument();
  });

  it('shows in the live feed the events the server dropped for this page’s slow stream', async () => {
    // QA: the stream counted the server's `lagged` notices, and nothing showed the number.
    const { fn } = server(10, 3);
    const lagged = (missed: number) => `event: lagged\ndata: {"missed":${missed}}\n\n`;
    const slow = () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(new TextEncoder().encode(`event: connected\nid: system:0-0\ndata: {}\n\n${lagged(40)}${lagged(2)}`));
          },
        }),
        { headers: { 'Content-Type': 'text/event-stream' } },
      );
    vi.stubGlobal('fetch', (input: RequestInfo | URL, init?: RequestInit) =>
      String(input).startsWith('/api/v1/admin/streams/subscribe-all') ? Promise.resolve(slow()) : fn(input, init),
    );
    render(<App />);
    await waitFor(() => expect(screen.getByTestId('stream-status')).toHaveAttribute('data-status', 'live'));
    expect(await screen.findByTestId('feed-missed')).toHaveTextContent('42 events were missed by this view (the server dropped them for a slow connection)');
  });

  it('reloads the map when the users counted change, so its summary agrees with the Users card', async () => {
    // QA (real binary): a user created through the API made the Users card say 301 while the
    // map's summary said 300 users until the page was reloaded (only a venue count moved it).
    vi.useFakeTimers({ shouldAdvanceTime: true });
    let users = 2;
    const { calls } = mockFetch({
      'GET /health': () => health(relayHealth),
      'GET /api/v1/admin/stats': () => stats(users, 3),
      'GET /api/v1/admin/map': () => ({ ...CITY, users_total: users }),
      'GET /api/v1/admin/streams/subscribe-all': () => stream(),
      ...simRoutes(),
    });
    render(<App />);
    await waitFor(() => expect(screen.getByTestId('map-summary')).toHaveTextContent('3 venues · 2 users'));
    const maps = () => calls.filter((c) => c.url.startsWith('/api/v1/admin/map')).length;
    const before = maps();
    // Counts that agree ask nothing more.
    await vi.advanceTimersByTimeAsync(7000);
    expect(maps()).toBe(before);
    users = 3;
    await vi.advanceTimersByTimeAsync(9000);
    await waitFor(() => expect(screen.getByTestId('stat-users-value')).toHaveTextContent('3'));
    await waitFor(() => expect(screen.getByTestId('map-summary')).toHaveTextContent('3 venues · 3 users'));
    expect(maps()).toBe(before + 1);
  });

  it('reloads the map when a venue changes, which changes no count, once for a burst of changes', async () => {
    // QA on the real binary: a venue's category changed through the API (PATCH) stayed in its
    // old colour on the map, the counts unchanged, until the page was reloaded.
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const { push, maps, before } = await mapWithPushedEvents();
    const updated = (n: number) => frame(n, 'system', 'venue.updated', { id: CITY.venues.id[0], name: 'Renamed', category: 'karaoke' });
    act(() => [1, 2, 3].forEach((n) => push(updated(n))));
    await vi.advanceTimersByTimeAsync(6000);
    expect(maps()).toBe(before + 1);
  });

  it("reloads the map when a user's home moves, which changes no count, once for a burst; not for a new name", async () => {
    // QA: a user's home changed through the API (PATCH) stayed where it was on the map's homes
    // layer until the page was reloaded: `user.updated` changes no count.
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const { push, maps, before } = await mapWithPushedEvents();
    const user = (n: number, name: string, lat: number | null) =>
      frame(n, 'user_actions', 'user.updated', { id: 'u1', handle: 'ann', name, home_lat: lat, home_lng: lat === null ? null : -73.9 });
    act(() => [40.7, 40.71, 40.72].forEach((lat, n) => push(user(n + 1, 'Ann', lat))));
    await vi.advanceTimersByTimeAsync(6000);
    expect(maps()).toBe(before + 1);
    // Renamed, the home where it was: nothing to redraw.
    act(() => push(user(4, 'Ann Lee', 40.72)));
    await vi.advanceTimersByTimeAsync(6000);
    expect(maps()).toBe(before + 1);
    // The home removed: one home fewer on the map.
    act(() => push(user(5, 'Ann Lee', null)));
    await vi.advanceTimersByTimeAsync(6000);
    expect(maps()).toBe(before + 2);
  });

  it('shows the new city after a forced reseed whose events came before the engine the map reads had it', async () => {
    // QA on the real binary (a forced reseed of 20,000 users): the reset's reload, the counts'
    // and the `data.seeded` event's all read the emptied engine (the server reloads it after the
    // event is out); the counts then stayed as they were and the map said '0 venues' for good.
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const { open, push } = pushableStream();
    const EMPTY = { ...CITY, venues: { id: [], lat: [], lng: [], category: [], interactions: [], bookings: [], demand: [] }, homes: { lat: [], lng: [] }, users_total: 0, users_with_home: 0, bounds: null };
    let engine: typeof CITY | typeof EMPTY = CITY;
    let db: [number, number] = [2, 3];
    mockFetch({
      'GET /health': () => health(relayHealth),
      'GET /api/v1/admin/stats': () => stats(...db),
      'GET /api/v1/admin/map': () => engine,
      'GET /api/v1/admin/streams/subscribe-all': () => open(),
      ...simRoutes(),
    });
    render(<App />);
    await waitFor(() => expect(screen.getByTestId('map-summary')).toHaveTextContent('3 venues · 2 users'));
    engine = EMPTY;
    db = [0, 0];
    act(() => push(frame(1, 'system', 'data.reset', null)));
    await vi.advanceTimersByTimeAsync(4000);
    await waitFor(() => expect(screen.getByTestId('map-summary')).toHaveTextContent('0 venues · 0 users'));
    // The city written, the engine not yet reloaded.
    db = [2, 3];
    act(() => push(frame(2, 'system', 'data.seeded', { users: 2, venues: 3, interactions: 0, edges: 0, plans: 0 })));
    await vi.advanceTimersByTimeAsync(12_000);
    expect(screen.getByTestId('map-summary')).toHaveTextContent('0 venues · 0 users');
    engine = CITY;
    await vi.advanceTimersByTimeAsync(25_000);
    await waitFor(() => expect(screen.getByTestId('map-summary')).toHaveTextContent('3 venues · 2 users'));
  });

  it('loads the map again when a reload is asked for while one is under way', async () => {
    // The load under way may have been read before the change that asked (QA: a reseed's reload
    // skipped while the reset's was in flight).
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const { push, maps, before } = await mapWithPushedEvents();
    let answer: () => void = () => {};
    const realFetch = globalThis.fetch;
    vi.stubGlobal('fetch', (input: RequestInfo | URL, init?: RequestInit) =>
      String(input).startsWith('/api/v1/admin/map') && maps() === before
        ? realFetch(input, init).then((r) => new Promise<Response>((res) => (answer = () => res(r))))
        : realFetch(input, init),
    );
    act(() => push(frame(1, 'system', 'venue.updated', { id: CITY.venues.id[0], name: 'Renamed', category: 'karaoke' })));
    await vi.advanceTimersByTimeAsync(6000);
    expect(maps()).toBe(before + 1);
    // Under way (held); a seed's event asks again.
    act(() => push(frame(2, 'system', 'data.seeded', { users: 2, venues: 3, interactions: 0, edges: 0, plans: 0 })));
    await vi.advanceTimersByTimeAsync(3000);
    expect(maps()).toBe(before + 1);
    act(() => answer());
    await vi.advanceTimersByTimeAsync(1000);
    expect(maps()).toBe(before + 2);
  });

  it('loads the map as soon as a seed through the Demo data panel is answered', async () => {
    // The seed is answered once the engine the map reads has the new city; its event may come
    // before, and the map read then is the emptied one.
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const { maps, before } = await mapWithPushedEvents();
    const realFetch = globalThis.fetch;
    vi.stubGlobal('fetch', (input: RequestInfo | URL, init?: RequestInit) =>
      String(input).startsWith('/api/v1/admin/data/seed')
        ? Promise.resolve(json({ success: true, seeded: { seeded: true, users: 2, venues: 3, interactions: 0 } }))
        : realFetch(input, init),
    );
    fireEvent.click(screen.getByRole('button', { name: 'Seed demo data' }));
    fireEvent.click(screen.getByRole('button', { name: 'Reset and seed' }));
    await screen.findByTestId('data-message');
    await vi.advanceTimersByTimeAsync(200);
    expect(maps()).toBe(before + 1);
  });

  it('says neither idle nor offers Start before the simulator’s state is first read', async () => {
    // QA (real binary, a slow network): for 3.5 s after the page opened the panel said 'idle'
    // and offered Start, a run running all the while.
    let answer: (v: unknown) => void = () => {};
    const state = new Promise((r) => (answer = r));
    mockFetch({
      'GET /health': () => health(relayHealth),
      'GET /api/v1/admin/stats': () => stats(10, 3),
      'GET /api/v1/admin/map': () => CITY,
      'GET /api/v1/admin/streams/subscribe-all': () => stream(),
      'GET /api/v1/simulation/state': () => state,
      'GET /api/v1/simulation/metrics': () => NO_SIM_METRICS,
      'GET /api/v1/simulation/scenarios': () => ({ scenarios: [] }),
    });
    render(<App />);
    await waitFor(() => expect(screen.getByTestId('stat-users-value')).toHaveTextContent('10'));
    expect(screen.getByTestId('sim-status')).toHaveTextContent('reading…');
    expect(screen.getByRole('button', { name: '▶ Start' })).toBeDisabled();
    answer({ ...idle, status: 'running', running: true, speed: 10 });
    await waitFor(() => expect(screen.getByTestId('sim-status')).toHaveTextContent('running'));
    expect(screen.queryByRole('button', { name: '▶ Start' })).toBeNull();
  });

  it('does not nag a database with data', async () => {
    server(10, 3);
    render(<App />);
    await waitFor(() => expect(screen.getByTestId('stat-users-value')).toHaveTextContent('10'));
    expect(screen.queryByTestId('empty-database')).toBeNull();
  });

  it('polls /health and shows a background task going down with its failure', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    relayHealth = { status: 'running', restarts: 0, last_failure: null };
    const { calls } = server(10, 3);
    render(<App />);
    await waitFor(() => expect(screen.getByTestId('task-relay')).toHaveAttribute('data-status', 'running'));
    expect(screen.getByTestId('health')).toHaveAttribute('data-status', 'healthy');
    relayHealth = { status: 'down', restarts: 2, last_failure: 'panicked: boom' };
    await vi.advanceTimersByTimeAsync(3000);
    await waitFor(() => expect(screen.getByTestId('task-relay')).toHaveAttribute('data-status', 'down'));
    expect(screen.getByTestId('health')).toHaveAttribute('data-status', 'degraded');
    expect(screen.getByTestId('task-failure-relay')).toHaveTextContent('relay down · 2 restarts · last failure: panicked: boom');
    expect(calls.filter((c) => c.url === '/health').length).toBeGreaterThanOrEqual(2);
  });

  it('shows the server’s health in the header of another page, from the one /health poll the Live page reads', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    window.history.replaceState(null, '', '/map');
    const { calls } = server(10, 3);
    const polls = () => calls.filter((c) => c.url === '/health').length;
    // One poll now and one every 3 s of the (fake) clock, which also moves with real time: a
    // second poller would double them.
    const start = Date.now();
    const onePoller = () => {
      const due = 1 + Math.floor((Date.now() - start) / 3000);
      expect(polls()).toBeGreaterThanOrEqual(due - 1);
      expect(polls()).toBeLessThanOrEqual(due);
    };
    render(<App />);
    const indicator = screen.getByRole('link', { name: /^Server health/ });
    await waitFor(() => expect(indicator).toHaveAttribute('data-state', 'healthy'));
    expect(indicator).toHaveTextContent(/^healthy$/);
    expect(screen.queryByTestId('health')).toBeNull(); // not the Live page
    onePoller();

    relayHealth = { status: 'down', restarts: 2, last_failure: 'panicked: boom' };
    busHealth = { status: 'ok', backend: 'redis', trim_failures: 4, trim_error: 'NOSCRIPT No matching script' };
    await vi.advanceTimersByTimeAsync(3000);
    await waitFor(() => expect(indicator).toHaveAttribute('data-state', 'degraded'));
    expect(indicator).toHaveTextContent('degraded · task relay down, bus trims failing');
    onePoller();

    // On the Live page the header and the health row show the same answer, still one poll
    // every 3 seconds.
    fireEvent.click(screen.getByRole('link', { name: 'Live' }));
    expect(screen.getByTestId('health')).toHaveAttribute('data-status', 'degraded');
    expect(screen.getByTestId('bus-trim-error')).toHaveTextContent('bus trims failing · 4 failed trims · last error: NOSCRIPT No matching script');
    await vi.advanceTimersByTimeAsync(6000);
    onePoller();
  });

  it('says unreachable in the header when /health cannot be fetched, and healthy once it can', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    window.history.replaceState(null, '', '/inspector');
    healthRefused = true;
    server(10, 3);
    render(<App />);
    const indicator = screen.getByTestId('health-indicator');
    await waitFor(() => expect(indicator).toHaveAttribute('data-state', 'unreachable'));
    expect(indicator).toHaveClass('text-rose-200');
    healthRefused = false;
    await vi.advanceTimersByTimeAsync(3000);
    await waitFor(() => expect(indicator).toHaveAttribute('data-state', 'healthy'));
  });

  it('says unreachable in the header as soon as the stream loses the server, and healthy as soon as it is back, between polls', async () => {
    // QA: the header lagged the server going away and coming back by up to a poll (3 s). Here
    // the polls' own timer never fires (setInterval is faked and not advanced): only the stream
    // dropping, failing and reconnecting can make the header ask /health again.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    let down = false;
    let fail: () => void = () => {};
    const { calls } = mockFetch({
      'GET /health': () => {
        if (down) throw new TypeError('connection refused');
        return health(relayHealth);
      },
      'GET /api/v1/admin/stats': () => {
        if (down) throw new TypeError('connection refused');
        return stats(10, 3);
      },
      'GET /api/v1/admin/map': () => CITY,
      'GET /api/v1/admin/streams/subscribe-all': () => {
        if (down) throw new TypeError('connection refused');
        const body = new ReadableStream<Uint8Array>({
          start(c) {
            fail = () => c.error(new TypeError('network error'));
            c.enqueue(new TextEncoder().encode('event: connected\nid: system:0-0\ndata: {}\n\n'));
          },
        });
        return new Response(body, { headers: { 'Content-Type': 'text/event-stream' } });
      },
      ...simRoutes(),
    });
    const polls = () => calls.filter((c) => c.url === '/health').length;
    render(<App />);
    const indicator = screen.getByTestId('health-indicator');
    await waitFor(() => expect(screen.getByTestId('stream-status')).toHaveAttribute('data-status', 'live'));
    await waitFor(() => expect(indicator).toHaveAttribute('data-state', 'healthy'));
    // The stream's first opening asks for nothing more than the first poll.
    expect(polls()).toBe(1);

    down = true;
    fail();
    await waitFor(() => expect(indicator).toHaveAttribute('data-state', 'unreachable'));
    await waitFor(() => expect(screen.getByTestId('stream-status')).toHaveAttribute('data-status', 'down'));
    // The Live page's health row says so too, its last answer kept and said to be old (it said
    // 'healthy' in green while the header said unreachable).
    expect(screen.getByTestId('health')).toHaveAttribute('data-status', 'unreachable');
    expect(screen.getByTestId('health-unreachable')).toHaveTextContent('unreachable');
    expect(screen.getByTestId('health-stale')).toHaveTextContent(/^last answer at \d\d:\d\d:\d\d:$/);
    // A poll of the stats while it is down fails too.
    const statsPolls = calls.filter((c) => c.url === '/api/v1/admin/stats').length;
    await vi.advanceTimersByTimeAsync(3000);
    await waitFor(() => expect(calls.filter((c) => c.url === '/api/v1/admin/stats').length).toBeGreaterThan(statsPolls));
    // The stats cards keep their last numbers, dimmed and said to be old (QA: at full brightness).
    await waitFor(() => expect(screen.getByTestId('stats-stale')).toHaveTextContent(/^Not updated since \d\d:\d\d:\d\d: The Luna server cannot be reached\./));
    expect(screen.getByTestId('stat-users')).toHaveAttribute('data-stale', 'true');
    expect(screen.getByTestId('stat-users-value')).toHaveTextContent('10');

    // Back: the stream's next attempt (its backoff is a real timer) finds it, and the header follows.
    down = false;
    await waitFor(() => expect(screen.getByTestId('stream-status')).toHaveAttribute('data-status', 'live'), { timeout: 5000 });
    await waitFor(() => expect(indicator).toHaveAttribute('data-state', 'healthy'));
    // The stats are asked again too: the banner goes with the stream back, not at their next poll.
    await waitFor(() => expect(screen.queryByTestId('server-down')).toBeNull());
    expect(screen.getByTestId('health')).toHaveAttribute('data-status', 'healthy');
    expect(screen.queryByTestId('health-stale')).toBeNull();
    expect(screen.queryByTestId('stats-stale')).toBeNull();
    expect(screen.getByTestId('stat-users')).toHaveAttribute('data-stale', 'false');
  });

  it('brings a stream that cannot reach the server back once when /health answers again, not at every poll that answers', async () => {
    // Review: every /health answer asked the stream to reconnect now, so a stream that only its
    // own path failed to reach (a proxy dropping it, /health fine) was retried at each poll, every
    // 3 s, instead of backing off. Only /health coming back after failing should ask it.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const reconnectNow = vi.spyOn(EventStream.prototype, 'reconnectNow');
    try {
      const { calls, fn } = server(10, 3);
      // The stream's path alone cannot be reached (a proxy dropping it); /health answers.
      vi.stubGlobal('fetch', (input: RequestInfo | URL, init?: RequestInit) =>
        String(input).startsWith('/api/v1/admin/streams/subscribe-all') ? Promise.reject(new TypeError('network error')) : fn(input, init),
      );
      const polls = () => calls.filter((c) => c.url === '/health').length;
      render(<App />);
      const indicator = screen.getByTestId('health-indicator');
      await waitFor(() => expect(screen.getByTestId('stream-status')).toHaveAttribute('data-status', 'down'));
      await waitFor(() => expect(indicator).toHaveAttribute('data-state', 'healthy'));
      // /health answers poll after poll: the stream keeps its own backoff.
      for (let i = 0; i < 3; i++) {
        const n = polls();
        vi.advanceTimersByTime(3000);
        await waitFor(() => expect(polls()).toBeGreaterThan(n));
      }
      await waitFor(() => expect(indicator).toHaveAttribute('data-state', 'healthy'));
      expect(reconnectNow).not.toHaveBeenCalled();

      // The server goes away and comes back: /health answering again asks the stream once.
      healthRefused = true;
      vi.advanceTimersByTime(3000);
      await waitFor(() => expect(indicator).toHaveAttribute('data-state', 'unreachable'));
      healthRefused = false;
      const before = polls();
      vi.advanceTimersByTime(1000);
      await waitFor(() => expect(polls()).toBeGreaterThan(before));
      await waitFor(() => expect(indicator).toHaveAttribute('data-state', 'healthy'));
      await waitFor(() => expect(reconnectNow).toHaveBeenCalledTimes(1));
      // And not again at the next answers.
      const after = polls();
      vi.advanceTimersByTime(3000);
      await waitFor(() => expect(polls()).toBeGreaterThan(after));
      await waitFor(() => expect(indicator).toHaveAttribute('data-state', 'healthy'));
      expect(reconnectNow).toHaveBeenCalledTimes(1);
    } finally {
      reconnectNow.mockRestore();
      vi.useRealTimers();
    }
  });

  it('takes the header’s health indicator to the Live page’s health row', async () => {
    window.history.replaceState(null, '', '/map');
    server(10, 3);
    render(<App />);
    fireEvent.click(screen.getByTestId('health-indicator'));
    expect(window.location.pathname).toBe('/');
    expect(screen.getByRole('link', { name: 'Live' })).toHaveAttribute('aria-current', 'page');
    expect(screen.getByRole('group', { name: 'server health' })).toHaveFocus();
  });

  it('says so when the server cannot be reached', async () => {
    vi.stubGlobal('fetch', vi.fn(() => Promise.reject(new TypeError('connection refused'))));
    render(<App />);
    expect(await screen.findByTestId('server-down')).toHaveTextContent('The Luna server cannot be reached');
    expect(screen.getByTestId('stream-status')).toHaveAttribute('data-status', 'down');
  });

  it('sizes every grid of the Live page to the screen, not to its widest row', async () => {
    server(10, 3);
    render(<App />);
    await waitFor(() => expect(screen.getByTestId('stat-users-value')).toHaveTextContent('10'));
    // A grid without columns below its breakpoint has one auto column as wide as its widest
    // content (a long feed row): on a phone the page scrolls sideways. grid-cols-1 is
    // minmax(0, 1fr); jsdom has no layout, so the classes are what can be checked here.
    const grids = [...document.querySelectorAll('main .grid')];
    expect(grids.length).toBeGreaterThanOrEqual(3);
    for (const g of grids) expect(g.className.split(' ').some((c) => c.startsWith('grid-cols-'))).toBe(true);
    const items = document.querySelectorAll('main .grid.xl\\:grid-cols-12 > *');
    expect(items).toHaveLength(4);
    for (const item of items) expect(item).toHaveClass('min-w-0');
  });

  it('says the token was refused when ?token= is wrong, until a working one is set', async () => {
    server(10, 3, 'right-token');
    window.history.replaceState(null, '', '/?token=wrong-token');
    adoptUrlToken();
    render(<App />);
    const button = screen.getByTestId('token-status');
    expect(button).toHaveTextContent('token set');
    // The first admin call is refused: the header says so, and the dialog asks for a working one.
    await waitFor(() => expect(button).toHaveTextContent('token refused'));
    expect(button).toHaveAttribute('data-state', 'refused');
    const dialog = await screen.findByTestId('token-dialog');
    expect(dialog).toHaveTextContent('The server refused this admin token');
    fireEvent.change(screen.getByLabelText('admin token'), { target: { value: 'right-token' } });
    fireEvent.click(screen.getByRole('button', { name: 'Use token' }));
    await waitFor(() => expect(screen.getByTestId('stat-users-value')).toHaveTextContent('10'));
    expect(button).toHaveTextContent('token set');
    expect(button).toHaveAttribute('data-state', 'set');
  });

  it('stops drawing a stopped run’s click-through once the stats find the database empty', async () => {
    resetPlots();
    // The simulator keeps answering with its last run's figures after the data was reset.
    server(0, 0, undefined, { actions_total: 131, recommendations: { requests: 9, shown: 90, clicks: 10, conversions: 1, click_through_rate: 0.11, conversion_rate: 0.011 }, recent_actions_per_second: 0 });
    render(<App />);
    await screen.findByTestId('empty-database');
    // Let the panel's one-second clock redraw the charts from the store a few times.
    await new Promise((r) => setTimeout(r, 2500));
    const ctr = fakePlots().find((p) => p.opts.series[1]?.label === 'click-through')!;
    expect(ctr.data[1]).toEqual([]);
    expect(screen.getByTestId('chart-ctr-click-through')).toHaveTextContent(/–$/);
  });

  it('shows the stop a shutting-down server announced, not the run its last poll saw, once the server is gone', async () => {
    // Before, a failed poll counted as a fresh answer: its stale `running` outranked the
    // `simulation.stopped` (reason `shutdown`) that came before it (QA: SIGTERM with a run going).
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const running = { ...idle, status: 'running', running: true, speed: 60, active_users: 20, timezone: 'UTC' };
    let down = false;
    let push: (frame: string) => void = () => {};
    mockFetch({
      'GET /health': () => {
        if (down) throw new TypeError('connection refused');
        return health(relayHealth);
      },
      'GET /api/v1/admin/stats': () => stats(10, 3),
      'GET /api/v1/admin/map': () => CITY,
      'GET /api/v1/admin/streams/subscribe-all': () => {
        if (down) throw new TypeError('connection refused');
        const body = new ReadableStream<Uint8Array>({
          start(c) {
            push = (frame) => c.enqueue(new TextEncoder().encode(frame));
            push('event: connected\nid: simulation:0-0\ndata: {}\n\n');
          },
        });
        return new Response(body, { headers: { 'Content-Type': 'text/event-stream' } });
      },
      'GET /api/v1/simulation/state': () => {
        if (down) throw new TypeError('connection refused');
        return running;
      },
      'GET /api/v1/simulation/metrics': () => NO_SIM_METRICS,
      'GET /api/v1/simulation/scenarios': () => ({ scenarios: [] }),
    });
    render(<App />);
    await waitFor(() => expect(screen.getByTestId('sim-status')).toHaveTextContent('running'));
    const stopped = { ...running, status: 'stopped', running: false, stop_reason: 'shutdown' };
    const event = { id: '5-0', source_id: null, channel: 'simulation', type: 'simulation.stopped', timestamp: new Date().toISOString(), data: stopped };
    push(`id: simulation:5-0\nevent: simulation.stopped\ndata: ${JSON.stringify(event)}\n\n`);
    await waitFor(() => expect(screen.getByTestId('sim-status')).toHaveTextContent('stopped: the server shut down'));
    // The server is gone: the polls after the stop fail.
    down = true;
    await vi.advanceTimersByTimeAsync(4500);
    expect(screen.getByTestId('sim-status')).toHaveTextContent('stopped: the server shut down');
  });

  it('drops a deleted user’s cached name from the feed when their user.deleted event arrives, without a reload, but names them in that event’s row', async () => {
    const ADA = '0190aaaa-0000-7000-8000-00000000ada1';
    const { open, push } = pushableStream();
    const event = (n: number, type: string, data: unknown) => frame(n, 'user_actions', type, data);
    const { calls } = mockFetch({
      'GET /health': () => health(relayHealth),
      'GET /api/v1/admin/stats': () => stats(10, 3),
      'GET /api/v1/admin/map': () => CITY,
      'GET /api/v1/admin/streams/subscribe-all': () => open(),
      // The server still knows Ada when first asked.
      'GET /api/v1/admin/users/names': () => ({ users: [{ id: ADA, handle: 'ada', name: 'Ada Lovelace' }] }),
      ...simRoutes(),
      'GET /api/v1/users': () => [],
    });
    render(<App />);
    await waitFor(() => expect(calls.some((c) => c.url.startsWith('/api/v1/admin/streams/subscribe-all'))).toBe(true));
    act(() => push(event(1, 'interaction.recorded', { user_id: ADA, venue_id: CITY.venues.id[0], interaction_type: 'view' })));
    expect(await screen.findByText(/view by Ada Lovelace at/)).toBeInTheDocument();
    act(() => push(event(2, 'user.deleted', { user_id: ADA })));
    // The earlier row now reads her by the end of her id, as after a reload; the deletion's own
    // row still says who was deleted (the event carries only her id), by the name cached before.
    await waitFor(() => expect(screen.getByText(/view by …/)).toBeInTheDocument());
    expect(screen.getAllByText(/Ada Lovelace/).map((e) => e.textContent)).toEqual(['Ada Lovelace @ada · …00ada1 deleted']);
  });

  it('names again, once the city is seeded again, users the feed asked for while the data was reset', async () => {
    // QA on the real binary: Reset data, then a seed (or a simulation's start) with the same seed
    // gave the users the same ids; the feed's rows had asked for them after the reset, were told
    // nobody, and read by the end of their ids until a reload.
    const ADA = '0190aaaa-0000-7000-8000-00000000ada1';
    let seeded = true;
    const { open, push } = pushableStream();
    const { calls } = mockFetch({
      'GET /health': () => health(relayHealth),
      'GET /api/v1/admin/stats': () => stats(10, 3),
      'GET /api/v1/admin/map': () => CITY,
      'GET /api/v1/admin/streams/subscribe-all': () => open(),
      'GET /api/v1/admin/users/names': () => ({ users: seeded ? [{ id: ADA, handle: 'ada', name: 'Ada Lovelace' }] : [] }),
      ...simRoutes(),
      'GET /api/v1/users': () => [],
    });
    const asked = () => calls.filter((c) => c.url.startsWith('/api/v1/admin/users/names')).length;
    render(<App />);
    await waitFor(() => expect(calls.some((c) => c.url.startsWith('/api/v1/admin/streams/subscribe-all'))).toBe(true));
    act(() => push(frame(1, 'user_actions', 'interaction.recorded', { user_id: ADA, venue_id: CITY.venues.id[0], interaction_type: 'view' })));
    expect(await screen.findByText(/view by Ada Lovelace at/)).toBeInTheDocument();
    seeded = false;
    act(() => push(frame(2, 'system', 'data.reset', null)));
    // The old row asks for Ada again, and is told nobody.
    await waitFor(() => expect(asked()).toBe(2));
    await waitFor(() => expect(screen.getByText(/view by …00ada1 at/)).toBeInTheDocument());
    seeded = true;
    act(() => push(frame(3, 'system', 'data.seeded', { users: 10, venues: 3, interactions: 0, edges: 0, plans: 0 })));
    act(() => push(frame(4, 'user_actions', 'interaction.recorded', { user_id: ADA, venue_id: CITY.venues.id[0], interaction_type: 'like' })));
    expect(await screen.findByText(/like by Ada Lovelace at/)).toBeInTheDocument();
  });

  it('goes back to the inspector’s picked users through the header, after another page', async () => {
    const ada = { id: '0190aaaa-0000-7000-8000-00000000ada1', handle: 'ada', name: 'Ada', age: 30, home_lat: 40.71, home_lng: -73.94, city: null, persona: null, activity_score: 0.5, social_score: 0.5 };
    let answerUser: (v: unknown) => void = () => {};
    const userAsked = new Promise((r) => (answerUser = r));
    server(10, 3);
    // The user and their recommendations, on top of the server's fake.
    const base = (globalThis.fetch as unknown as (i: RequestInfo, init?: RequestInit) => Promise<Response>).bind(globalThis);
    vi.stubGlobal('fetch', async (input: RequestInfo, init?: RequestInit) => {
      const url = typeof input === 'string' ? input : input.url;
      if (url.startsWith(`/api/v1/users/${ada.id}`)) {
        await userAsked;
        return json(ada);
      }
      if (url.startsWith(`/api/v1/recommendations/${ada.id}/venues`)) return json({ venues: [] });
      if (url.startsWith(`/api/v1/recommendations/${ada.id}/people`)) return json({ people: [] });
      return base(input, init);
    });
    window.history.replaceState(null, '', `/inspector?users=${ada.id}`);
    render(<App />);
    // While the URL's user is looked up, the URL keeps them.
    expect(window.location.search).toBe(`?users=${ada.id}`);
    answerUser(null);
    expect(await screen.findByRole('button', { name: 'remove ada' })).toBeInTheDocument();
    fireEvent.click(screen.getByRole('link', { name: 'Live' }));
    expect(window.location.pathname).toBe('/');
    const link = screen.getByRole('link', { name: 'Inspector' });
    expect(link).toHaveAttribute('href', `/inspector?users=${ada.id}`);
    fireEvent.click(link);
    expect(window.location.pathname + window.location.search).toBe(`/inspector?users=${ada.id}`);
    expect(await screen.findByRole('button', { name: 'remove ada' })).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Inspector' })).toHaveAttribute('aria-current', 'page');
    // With no user picked the link is the bare page again.
    fireEvent.click(screen.getByRole('button', { name: 'remove ada' }));
    await waitFor(() => expect(screen.getByRole('link', { name: 'Inspector' })).toHaveAttribute('href', '/inspector'));
  });

  it('moves between pages by path', async () => {
    const { calls } = server(10, 3);
    render(<App />);
    fireEvent.click(screen.getByRole('link', { name: 'City map' }));
    expect(window.location.pathname).toBe('/map');
    expect(await screen.findByText('Layers')).toBeInTheDocument();
    fireEvent.click(screen.getByRole('link', { name: 'Inspector' }));
    expect(screen.getByLabelText('search users by handle')).toBeInTheDocument();
    // The search lists users at once; let that answer land.
    fireEvent.focus(screen.getByLabelText('search users by handle'));
    expect(await screen.findByText('No users yet: seed the demo city.')).toBeInTheDocument();
    expect(calls.some((c) => c.url.startsWith('/api/v1/users?limit=8'))).toBe(true);
  });
});
