// What every panel shares: the live store fed by one event stream, the polled stats, health
// and simulator figures, the city map (reloaded when the city changes), and the confirmation
// dialog. `useDashboardState` builds it once in the app; panels read it with `useDashboard`.

import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState } from 'react';

import { onTokenChange } from '../api/auth';
import { luna } from '../api/client';
import { EventStream, type StreamInfo } from '../api/stream';
import type { CityMapData, Health, SimMetrics, SimState, Stats } from '../api/types';
import type { ConfirmRequest } from '../components/Dialogs';
import { usePoll, type Polled } from './hooks';
import { LiveStore } from './live';
import { NameBook } from './names';

export const MAP_HOMES = 3000;
/** How often `/health` is polled: one poll for the header and the Live page's health row. */
export const HEALTH_POLL_MS = 3000;
/** How often while the last poll failed: the header says the server is back within a second
 * (a refused connection costs the server nothing). Its loss is seen sooner still: the event
 * stream notices a server that went away at once, and /health is asked again then. */
export const HEALTH_RETRY_MS = 1000;

export interface MapState {
  data: CityMapData | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

export interface Dashboard {
  live: LiveStore;
  /** Users' names for the feed, looked up by id in batches and cached. */
  names: NameBook;
  stream: StreamInfo;
  stats: Polled<Stats>;
  /** `GET /health`: database, bus and the supervised background tasks; the one poll the
   * header's health indicator and the Live page's health row both read. */
  health: Polled<Health>;
  sim: Polled<SimState>;
  simMetrics: Polled<SimMetrics>;
  map: MapState;
  /** The simulator's state: the fresher of the last poll and the last `simulation.*` event. */
  simState: SimState | null;
  serverDown: boolean;
  emptyDatabase: boolean;
  confirm: (req: ConfirmRequest) => void;
  confirmRequest: ConfirmRequest | null;
  closeConfirm: () => void;
}

const Ctx = createContext<Dashboard | null>(null);
export const DashboardProvider = Ctx.Provider;

export function useDashboard(): Dashboard {
  const d = useContext(Ctx);
  if (!d) throw new Error('useDashboard outside the DashboardProvider');
  return d;
}

function useCityMap(live: LiveStore, venuesInDb: number | undefined, usersInDb: number | undefined): MapState {
  const [data, setData] = useState<CityMapData | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const lastLoad = useRef(0);
  const busy = useRef(false);
  // A reload asked for while one is under way: that one's answer may predate the change that
  // asked (QA on the real binary: a forced reseed's reload was skipped, the map in flight then
  // being the reset's, and the Live page's map said '0 venues' until the page was reloaded). It
  // runs once more when the one under way ends.
  const again = useRef(false);

  const reload = useCallback(() => {
    if (busy.current) {
      again.current = true;
      return;
    }
    busy.current = true;
    again.current = false;
    lastLoad.current = Date.now();
    setLoading(true);
    luna
      .map(MAP_HOMES)
      .then((m) => {
        setData(m);
        setError(null);
        live.resetDemand();
      })
      .catch((e: Error) => setError(e.message))
      .finally(() => {
        busy.current = false;
        setLoading(false);
        if (again.current) reload();
      });
  }, [live]);

  useEffect(() => reload(), [reload]);

  // The city changed (seeded, reset, venues or users added or deleted): reload, at most every 5
  // seconds. Users too (QA on the real binary: a user created through the API made the Users card
  // say 301 while the map's summary, on the Live page and the map's, said 300 users until a reload).
  // While they still disagree after a reload, ask again: every 5 s for half a minute from the
  // counts' last move, then every minute. The map is the engine's, which a seed reloads after
  // its `data.seeded` event is out (QA on the real binary, a forced reseed of 20,000 users: the
  // reloads the reset, the counts and the event asked for all read the emptied engine, the
  // counts then stayed as they were, and the map said '0 venues' for good).
  const loaded = data?.venues.id.length;
  const loadedUsers = data?.users_total;
  const retries = useRef({ target: '', n: 0 });
  useEffect(() => {
    if (venuesInDb === undefined || loaded === undefined) return;
    const venuesMoved = venuesInDb !== loaded;
    const usersMoved = usersInDb !== undefined && loadedUsers !== undefined && usersInDb !== loadedUsers;
    const target = `${venuesInDb},${usersInDb}`;
    if (!venuesMoved && !usersMoved) {
      retries.current = { target, n: 0 };
      return;
    }
    if (retries.current.target !== target) retries.current = { target, n: 0 };
    const spacing = retries.current.n < 6 ? 5000 : 60_000;
    const wait = Math.max(0, spacing - (Date.now() - lastLoad.current));
    const id = setTimeout(() => {
      retries.current.n += 1;
      reload();
    }, wait);
    return () => clearTimeout(id);
    // `data`: each answer, even one with the same counts, is a reason to look again.
  }, [venuesInDb, loaded, usersInDb, loadedUsers, reload, data]);

  // A seed or reset makes the engine reload; fetch the map once it has. A venue changed (moved,
  // or of another category) changes no count: its event reloads the map, at most every 5 seconds
  // (QA: a venue's category changed through the API stayed in its old colour until a reload).
  // So does a user's home moved, added or removed (`user.updated` carries the user): the map
  // draws a sample of homes and counts those with one. An update that leaves the home where the
  // last event of that user had it (a new name) reloads nothing.
  const burstReload = useRef<ReturnType<typeof setTimeout> | null>(null);
  const homes = useRef(new Map<string, string>());
  useEffect(() => {
    const soon = () => {
      if (burstReload.current !== null) return;
      const wait = Math.max(1500, 5000 - (Date.now() - lastLoad.current));
      burstReload.current = setTimeout(() => {
        burstReload.current = null;
        reload();
      }, wait);
    };
    const off = live.onEvent((e) => {
      if (e.type === 'data.seeded' || e.type === 'data.reset') {
        homes.current.clear();
        setTimeout(reload, 1500);
      }
      if (e.type === 'venue.updated') soon();
      const user = e.data as { id?: unknown; home_lat?: unknown; home_lng?: unknown } | null;
      if ((e.type === 'user.created' || e.type === 'user.updated') && user && typeof user === 'object' && typeof user.id === 'string') {
        const home = `${user.home_lat ?? null},${user.home_lng ?? null}`;
        const before = homes.current.get(user.id);
        homes.current.set(user.id, home);
        if (e.type === 'user.updated' && before !== home) soon();
      }
    });
    return () => {
      off();
      if (burstReload.current !== null) clearTimeout(burstReload.current);
      burstReload.current = null;
    };
  }, [live, reload]);

  return { data, error, loading, reload };
}

export function useDashboardState(): Dashboard {
  const live = useMemo(() => new LiveStore(), []);
  const names = useMemo(() => new NameBook((ids) => luna.userNames(ids)), []);
  // Names the events bring teach the book without a request; a deletion drops its user's name,
  // a reset or a seed empties it (QA on the real binary: after a reset the feed's rows asked for
  // their users, cached as nobody, and the demo city seeded again with the same seed, whose users
  // have the same ids, read by the end of their ids until a reload).
  useEffect(
    () =>
      live.onEvent((e) => {
        const d = e.data as { id?: unknown; handle?: unknown; name?: unknown; user_id?: unknown } | null;
        if ((e.type === 'user.created' || e.type === 'user.updated') && d && typeof d.id === 'string' && typeof d.handle === 'string') {
          names.learn({ id: d.id, handle: d.handle, name: typeof d.name === 'string' ? d.name : '' });
        } else if (e.type === 'user.deleted' && d && typeof d.user_id === 'string') {
          names.forget(d.user_id);
        } else if (e.type === 'data.reset' || e.type === 'data.seeded') {
          names.clear();
        }
      }),
    [live, names],
  );
  const [stream, setStream] = useState<StreamInfo>({
    status: 'connecting',
    cursor: null,
    retryAt: null,
    connections: 0,
    lagged: 0,
    error: null,
  });
  const [confirmRequest, setConfirmRequest] = useState<ConfirmRequest | null>(null);

  const streamRef = useRef<EventStream | null>(null);
  useEffect(() => {
    const s = new EventStream({ onEvent: (e) => live.ingest(e), onStatus: setStream });
    streamRef.current = s;
    s.start();
    // A new token goes on the stream URL: reconnect (resuming) with it.
    const off = onTokenChange(() => s.restart());
    return () => {
      off();
      s.stop();
      streamRef.current = null;
    };
  }, [live]);

  const stats = usePoll((signal) => luna.stats(signal), 3000);
  const [healthFailing, setHealthFailing] = useState(false);
  const health = usePoll((signal) => luna.health(signal), healthFailing ? HEALTH_RETRY_MS : HEALTH_POLL_MS);
  useEffect(() => setHealthFailing(health.error !== null), [health.error]);

  // The header's health follows the stream (QA: it lagged the server's state by up to a poll,
  // 3 s): the stream dropping, failing to reconnect or coming back asks /health again at once.
  // Its first opening does not (the first poll is under way).
  // So are the stats, whose failure keeps the 'cannot be reached' banner up (QA: it stayed up to
  // 3 s after the server was back and the stream live).
  const lastStatus = useRef(stream.status);
  const refreshHealth = health.refresh;
  const refreshStats = stats.refresh;
  useEffect(() => {
    const before = lastStatus.current;
    lastStatus.current = stream.status;
    if (before === stream.status || before === 'connecting') return;
    void refreshHealth();
    if (stream.status === 'live') void refreshStats();
  }, [stream.status, refreshHealth, refreshStats]);
  // And /health answering again after failing brings the stream back now, not after its backoff:
  // once, as it comes back. Not at every poll that answers (review: a stream that only its own path
  // fails to reach, e.g. a proxy dropping it, was retried at every poll, each 3 s, with no backoff).
  const healthWasFailing = useRef(false);
  useEffect(() => {
    if (health.error !== null) {
      healthWasFailing.current = true;
    } else if (health.dataAt !== null && healthWasFailing.current) {
      healthWasFailing.current = false;
      streamRef.current?.reconnectNow();
    }
  }, [health.error, health.dataAt]);
  const sim = usePoll((signal) => luna.simState(signal), 2000);
  const simMetrics = usePoll((signal) => luna.simMetrics(signal), 2000);
  const map = useCityMap(live, stats.data?.venues.total, stats.data?.users.total);

  useEffect(() => {
    if (simMetrics.data) live.pushSimMetrics(simMetrics.data);
  }, [simMetrics.data, live]);

  // A simulation event is fresher than a poll that answered before it (a poll that failed since,
  // the server gone after announcing its stop, leaves the state it last read as old as it was).
  const [simEventAt, setSimEventAt] = useState(0);
  useEffect(
    () =>
      live.onEvent((e) => {
        if (e.channel === 'simulation') setSimEventAt(Date.now());
      }),
    [live],
  );
  const simState = simEventAt > (sim.dataAt ?? 0) && live.sim ? live.sim : sim.data;

  const serverDown = stream.status === 'down' || (stats.error?.unreachable ?? false);
  const emptyDatabase = !!stats.data && stats.data.users.total === 0 && stats.data.venues.total === 0;
  // An empty database (reset while this page was away, or its `data.reset` missed): the charts'
  // history described data that is gone.
  useEffect(() => {
    if (emptyDatabase) live.resetData();
  }, [emptyDatabase, live]);

  return {
    live,
    names,
    stream,
    stats,
    health,
    sim,
    simMetrics,
    map,
    simState,
    serverDown,
    emptyDatabase,
    confirm: setConfirmRequest,
    confirmRequest,
    closeConfirm: () => setConfirmRequest(null),
  };
}
