// The recommendation inspector: find users by handle; for the first one, their venue
// recommendations from every ranker and their people recommendations from the rankers that rank
// people, side by side, each score broken into its reasons, and the venues on the map with the
// user's home; with two or more users, the group recommendation with each member's distance,
// drawn on the map. The picked users live in the URL (`?users=id,id`), so a view can be shared
// or reloaded. A picked user who is deleted (their `user.deleted` event, a data reset, or a 404
// from their recommendations or from the URL's look-up) is taken off the view, which says they
// no longer exist: their recommendations, as last read, would describe nobody.

import { useEffect, useId, useMemo, useRef, useState } from 'react';

import { ApiError, luna } from '../api/client';
import { PEOPLE_RANKERS, RANKERS, type CityMapData, type GroupRecommendations, type PersonRecommendation, type Ranker, type User, type VenueRecommendation } from '../api/types';
import { RANKER_COLORS, RANKER_NOTES } from '../lib/colors';
import type { LiveStore } from '../lib/live';
import { CityMap, type Overlay } from './CityMap';
import { GroupPanel, MEMBER_COLORS } from './GroupPanel';
import { PersonItem, VenueItem } from './Recommendations';
import { UserSearch } from './UserSearch';

interface RankerResult<T> {
  items: T[] | null;
  error: string | null;
}

type Results = Record<Ranker, { venues: RankerResult<VenueRecommendation>; people: RankerResult<PersonRecommendation> }>;

function idsFromUrl(): string[] {
  if (typeof window === 'undefined') return [];
  const raw = new URLSearchParams(window.location.search).get('users') ?? '';
  // A UUID's own shape, not 36 of its characters: an id the server cannot read (a dash out of
  // place) is a 4xx other than 404, which the look-up below would try again for ever.
  return raw.split(',').filter((s) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s));
}

/** The picked users' `?users=` as the inspector last had it: the header's link goes back to them
 * (QA: going to Live and back through the header lost the picked users). */
let lastSearch = '';
const searchListeners = new Set<() => void>();
export const inspectorSearch = (): string => lastSearch;
export function onInspectorSearch(fn: () => void): () => void {
  searchListeners.add(fn);
  return () => searchListeners.delete(fn);
}

function emptyResults(): Results {
  return Object.fromEntries(RANKERS.map((r) => [r, { venues: { items: null, error: null }, people: { items: null, error: null } }])) as Results;
}

const err = (e: unknown) => (e instanceof Error ? e.message : String(e));
const notFound = (e: unknown) => e instanceof ApiError && e.status === 404;
/** A failure that may go away by itself: the server unreachable, a 5xx, a timeout or a rate
 * limit. Any other refusal (a 403, a 401 whose token prompt was dismissed) answers the same
 * each time it is asked again. */
const passing = (e: unknown) => e instanceof ApiError && (e.status === 0 || e.status >= 500 || e.status === 408 || e.status === 429);

/** How long a failed look-up of the URL's users waits before it is tried again. */
export const URL_LOOKUP_RETRY_MS = 3000;

/** A picked user who no longer exists: by handle when the view knew them, else by id. */
interface Gone {
  id: string;
  label: string;
  why: string;
}

export function Inspector({ map, live }: { map: CityMapData | null; live: LiveStore }) {
  const [users, setUsers] = useState<User[]>([]);
  const [results, setResults] = useState<Results>(emptyResults);
  const [kind, setKind] = useState<'venues' | 'people'>('venues');
  const tabsId = useId();
  const [mapRanker, setMapRanker] = useState<Ranker>('default');
  const [group, setGroup] = useState<{ data: GroupRecommendations | null; error: string | null }>({ data: null, error: null });
  const [groupPick, setGroupPick] = useState(0);
  const [mapMode, setMapMode] = useState<'user' | 'group'>('user');
  const [gone, setGone] = useState<Gone[]>([]);
  // Until the URL's users are looked up, the URL keeps them (it was emptied at once, before).
  const [loaded, setLoaded] = useState(() => idsFromUrl().length === 0);
  const primary = users[0] ?? null;
  const usersRef = useRef(users);
  usersRef.current = users;

  /** Takes users who no longer exist off the view and says so. */
  const markGone = (ids: string[], why: string) => {
    const known = new Map(usersRef.current.map((u) => [u.id, u]));
    const fresh = ids.filter((id) => !gone.some((g) => g.id === id));
    if (fresh.length === 0) return;
    setUsers((prev) => prev.filter((u) => !ids.includes(u.id)));
    setGone((prev) => [
      ...prev.filter((g) => !ids.includes(g.id)),
      ...fresh.map((id) => ({ id, label: known.has(id) ? `@${known.get(id)!.handle}` : `user ${id}`, why })),
    ]);
  };
  const markGoneRef = useRef(markGone);
  markGoneRef.current = markGone;

  // Users named in the URL, once; one deleted since the link was made is said to be gone. A
  // look-up that failed for a passing reason (the server unreachable, a 5xx) is tried again until
  // it answers, the URL keeping the users meanwhile (QA: with the server down, going to Live and
  // back dropped the picked users, from the view and the URL, for good). Any other refusal (a
  // 403) is shown, naming the users, and not asked again: it would answer the same for ever (QA:
  // a 403 was asked again every 3 s, 'trying again' on screen, and the other users never shown).
  const [lookupError, setLookupError] = useState<{ message: string; retrying: boolean } | null>(null);
  useEffect(() => {
    const ids = idsFromUrl();
    if (ids.length === 0) return;
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const attempt = () =>
      Promise.all(ids.map((id) => luna.user(id).then((u) => ({ id, u, e: null }), (e: unknown) => ({ id, u: null, e })))).then((found) => {
        if (!alive) return;
        const failed = found.find((f) => f.e !== null && passing(f.e));
        if (failed) {
          setLookupError({ message: err(failed.e), retrying: true });
          timer = setTimeout(() => void attempt(), URL_LOOKUP_RETRY_MS);
          return;
        }
        const gone = found.filter((f) => f.e !== null && notFound(f.e)).map((f) => f.id);
        if (gone.length) markGoneRef.current(gone, 'no user has this id any more');
        const refused = found.filter((f) => f.e !== null && !notFound(f.e));
        const users = found.flatMap((f) => (f.u ? [f.u] : []));
        setLookupError(
          refused.length
            ? {
                message: `${refused.length === 1 ? 'A user' : `${refused.length} users`} in the address could not be looked up and ${refused.length === 1 ? 'is' : 'are'} left out (${refused
                  .map((f) => `user ${f.id}: ${err(f.e)}`)
                  .join('; ')}). The server refused ${refused.length === 1 ? 'it' : 'them'}: not asked again.`,
                retrying: false,
              }
            : null,
        );
        // Users picked while the look-up was under way stay, after the URL's.
        setUsers((prev) => [...users, ...prev.filter((p) => !users.some((u) => u.id === p.id))]);
        setLoaded(true);
      });
    void attempt();
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }, []);

  // A picked user deleted while on view (or every one of them, when the data is reset).
  // Users said to be gone are looked up again when the city is seeded (a seed with the same seed
  // writes the same ids) or one of them is created again: those found are back on the view (QA on
  // the real binary: after a reseed with the same seed, users back with the same ids were still
  // said to no longer exist).
  const goneRef = useRef(gone);
  goneRef.current = gone;
  useEffect(() => {
    let alive = true;
    const lookAgain = (ids: string[]) =>
      Promise.all(ids.map((id) => luna.user(id).catch(() => null))).then((found) => {
        if (!alive) return;
        const back = found.filter((u): u is User => u !== null);
        if (back.length === 0) return;
        setGone((prev) => prev.filter((g) => !back.some((u) => u.id === g.id)));
        setUsers((prev) => [...prev, ...back.filter((u) => !prev.some((p) => p.id === u.id))].slice(0, 20));
      });
    const off = live.onEvent((e) => {
      const picked = usersRef.current.map((u) => u.id);
      if (e.type === 'data.reset' && picked.length) markGoneRef.current(picked, 'the data was reset');
      const id = (e.data as { user_id?: unknown } | null)?.user_id;
      if (e.type === 'user.deleted' && typeof id === 'string' && picked.includes(id)) markGoneRef.current([id], 'deleted');
      const goneIds = goneRef.current.map((g) => g.id);
      const created = (e.data as { id?: unknown } | null)?.id;
      if (e.type === 'data.seeded' && goneIds.length) void lookAgain(goneIds);
      if (e.type === 'user.created' && typeof created === 'string' && goneIds.includes(created)) void lookAgain([created]);
    });
    return () => {
      alive = false;
      off();
    };
  }, [live]);

  // Keep the URL in step.
  useEffect(() => {
    if (!loaded) return;
    const search = users.length ? `?users=${users.map((u) => u.id).join(',')}` : '';
    if (search !== lastSearch) {
      lastSearch = search;
      searchListeners.forEach((fn) => fn());
    }
    window.history.replaceState(window.history.state, '', `${window.location.pathname}${search}`);
  }, [users, loaded]);

  // Asked again by the Refresh button (QA: with a simulation running, the lists stayed as first
  // read, however long the page was watched): `reloads` counts its presses, `askedAt` is when
  // the lists on view were asked for.
  const [reloads, setReloads] = useState(0);
  const [askedAt, setAskedAt] = useState<number | null>(null);
  const listsOf = useRef<string | null>(null);

  // Every ranker for the first user. Asked again for the same user, the lists shown stay until
  // each ranker's new one arrives.
  useEffect(() => {
    if (!primary) return;
    let alive = true;
    if (listsOf.current !== primary.id) setResults(emptyResults());
    listsOf.current = primary.id;
    setAskedAt(Date.now());
    for (const r of RANKERS) {
      const put = (k: 'venues' | 'people', v: RankerResult<never> | RankerResult<unknown>) =>
        alive && setResults((prev) => ({ ...prev, [r]: { ...prev[r], [k]: v } }));
      // A 404: the user was deleted before their event reached this page (or it was missed).
      const failed = (k: 'venues' | 'people') => (e: unknown) => {
        if (alive && notFound(e)) markGoneRef.current([primary.id], 'deleted');
        else put(k, { items: [], error: err(e) });
      };
      luna.venueRecs(primary.id, r).then((x) => put('venues', { items: x.venues, error: null }), failed('venues'));
      if (!(PEOPLE_RANKERS as readonly Ranker[]).includes(r)) continue;
      luna.peopleRecs(primary.id, r).then((x) => put('people', { items: x.people, error: null }), failed('people'));
    }
    return () => {
      alive = false;
    };
  }, [primary, reloads]);

  // The group, from two users on.
  const groupKey = users.map((u) => u.id).join(',');
  const groupOf = useRef('');
  useEffect(() => {
    if (users.length < 2) {
      groupOf.current = '';
      setGroup({ data: null, error: null });
      setMapMode('user');
      return;
    }
    let alive = true;
    // The previous group's venues are not this group's: drop them until the answer arrives (the
    // same group asked again by Refresh keeps its venues, pick and view meanwhile).
    if (groupOf.current !== groupKey) {
      groupOf.current = groupKey;
      setGroup({ data: null, error: null });
      setGroupPick(0);
      setMapMode('group');
    }
    luna.groupRecs(users.map((u) => u.id)).then(
      (g) => alive && setGroup({ data: g, error: null }),
      (e) => alive && setGroup({ data: null, error: err(e) }),
    );
    return () => {
      alive = false;
    };
    // groupKey names the users: a new array of the same users asks nothing new.
  }, [groupKey, reloads]);

  const overlay = useMemo<Overlay | undefined>(() => {
    if (!primary) return undefined;
    const home = (u: User, color: string, label: string) =>
      u.home_lat !== null && u.home_lng !== null ? [{ lat: u.home_lat, lng: u.home_lng, label, color, kind: 'person' as const }] : [];
    if (mapMode === 'group' && group.data) {
      const venues = group.data.group_venues;
      const picked = venues[groupPick];
      const points: Overlay['points'] = users.flatMap((u, i) => home(u, MEMBER_COLORS[i % MEMBER_COLORS.length], `@${u.handle}`));
      venues.forEach((v, i) =>
        points.push({ lat: v.venue.lat, lng: v.venue.lng, label: i === groupPick ? v.venue_name : '', color: i === groupPick ? '#f8fafc' : '#94a3b8', kind: 'venue', rank: i + 1 }),
      );
      if (group.data.centroid) points.push({ ...group.data.centroid, label: '', color: '#fbbf24', kind: 'centroid' });
      const lines: Overlay['lines'] = picked
        ? users.flatMap((u, i) =>
            u.home_lat !== null && u.home_lng !== null
              ? [{ from: [u.home_lat, u.home_lng] as [number, number], to: [picked.venue.lat, picked.venue.lng] as [number, number], color: MEMBER_COLORS[i % MEMBER_COLORS.length] }]
              : [],
          )
        : [];
      return { points, lines };
    }
    const recs = results[mapRanker].venues.items ?? [];
    const points: Overlay['points'] = recs.map((r, i) => ({
      lat: r.venue.lat,
      lng: r.venue.lng,
      label: i < 3 ? r.venue_name : '',
      color: RANKER_COLORS[mapRanker],
      kind: 'venue',
      rank: i + 1,
    }));
    points.unshift(...home(primary, '#f8fafc', `@${primary.handle}`));
    return { points, lines: [] };
  }, [primary, users, results, mapRanker, mapMode, group, groupPick]);

  // The map refits when the places drawn change (another user, group or ranker), not when only a
  // label or a colour does (picking another of the group's venues); counting them is not enough,
  // as two groups' overlays often hold the same number of points.
  const focusKey = overlay?.points.map((p) => `${p.kind}:${p.lat},${p.lng}`).join(';') ?? '';

  const addUser = (u: User) => {
    setGone((prev) => prev.filter((g) => g.id !== u.id));
    setUsers((prev) => (prev.some((p) => p.id === u.id) ? prev : [...prev, u].slice(0, 20)));
  };
  const removeUser = (id: string) => setUsers((prev) => prev.filter((u) => u.id !== id));
  const makePrimary = (id: string) => setUsers((prev) => [...prev.filter((u) => u.id === id), ...prev.filter((u) => u.id !== id)]);

  return (
    <div className="space-y-4">
      <section className="card space-y-3">
        <div className="flex flex-wrap items-start gap-3">
          <div className="w-full max-w-sm">
            <UserSearch onPick={addUser} />
          </div>
          <ul className="flex flex-1 flex-wrap items-center gap-1.5" data-testid="picked-users">
            {users.length === 0 ? (
              <li className="py-1.5 text-sm text-slate-500">Search a handle and pick a user; pick more to see a group recommendation.</li>
            ) : (
              users.map((u, i) => (
                <li key={u.id} className="chip border-slate-700 bg-slate-800/60 py-1 text-slate-200">
                  <span className="h-2 w-2 rounded-full" style={{ background: users.length > 1 ? MEMBER_COLORS[i % MEMBER_COLORS.length] : '#f8fafc' }} />
                  <button onClick={() => makePrimary(u.id)} title="inspect this user" className={i === 0 ? 'font-semibold text-white' : ''}>
                    @{u.handle}
                  </button>
                  <button className="text-slate-500 hover:text-rose-300" onClick={() => removeUser(u.id)} aria-label={`remove ${u.handle}`}>
                    ✕
                  </button>
                </li>
              ))
            )}
          </ul>
        </div>
        {lookupError ? (
          <p className="flex items-start justify-between gap-2 rounded-md border border-rose-500/40 bg-rose-500/10 px-3 py-2 text-xs text-rose-200" role="status" data-testid="url-users-error">
            <span>
              {lookupError.retrying
                ? `The picked users in the address could not be looked up (${lookupError.message}); trying again every ${URL_LOOKUP_RETRY_MS / 1000} s.`
                : lookupError.message}
            </span>
            {lookupError.retrying ? null : (
              <button className="text-rose-300/70 hover:text-rose-100" onClick={() => setLookupError(null)} aria-label="dismiss the look-up error">
                ✕
              </button>
            )}
          </p>
        ) : null}
        {gone.length ? (
          <ul className="space-y-1 rounded-md border border-amber-500/40 bg-amber-500/10 px-3 py-2 text-xs text-amber-200" role="status" data-testid="gone-users">
            {gone.map((g) => (
              <li key={g.id} className="flex items-start justify-between gap-2">
                <span>
                  <b className="font-semibold">{g.label}</b> no longer exists ({g.why}): taken off the view, with their recommendations.
                </span>
                <button className="text-amber-300/70 hover:text-amber-100" onClick={() => setGone((prev) => prev.filter((x) => x.id !== g.id))} aria-label={`dismiss ${g.label}`}>
                  ✕
                </button>
              </li>
            ))}
          </ul>
        ) : null}
        {primary ? (
          <p className="text-xs text-slate-400" data-testid="primary-user">
            <span className="font-medium text-slate-200">{primary.name}</span> @{primary.handle}
            {primary.persona ? ` · ${primary.persona.replace(/_/g, ' ')}` : ''}
            {primary.age ? ` · ${primary.age}` : ''}
            {primary.home_lat !== null && primary.home_lng !== null ? ` · home ${primary.home_lat.toFixed(4)}, ${primary.home_lng.toFixed(4)}` : ' · no home set'}
            {` · activity ${primary.activity_score.toFixed(2)} · social ${primary.social_score.toFixed(2)}`}
          </p>
        ) : null}
      </section>

      {primary ? (
        <div className="grid grid-cols-1 gap-4 xl:grid-cols-[minmax(0,1fr)_440px]">
          <section className="card space-y-2">
            <div className="flex items-center justify-between">
              <h2 className="card-title">
                {mapMode === 'group' ? 'The group on the map' : `${mapRanker} venues around @${primary.handle}`}
              </h2>
              {users.length > 1 ? (
                <div className="flex gap-1" role="group" aria-label="draw on the map">
                  {(['user', 'group'] as const).map((m) => (
                    // aria-pressed: the one on was told by its colour alone (QA, keyboard and screen reader).
                    <button key={m} className={`btn py-0.5 text-xs ${mapMode === m ? 'btn-primary' : ''}`} aria-pressed={mapMode === m} onClick={() => setMapMode(m)}>
                      {m}
                    </button>
                  ))}
                </div>
              ) : null}
            </div>
            <CityMap
              map={map}
              live={live}
              layers={{ heat: false, venues: true, homes: false, bookings: false }}
              overlay={overlay}
              focusKey={focusKey}
              dim
              height={460}
            />
            <p className="text-xs text-slate-500">
              {mapMode === 'group'
                ? 'Rings: members’ homes · numbered: group venues · ×: the group’s centre · dashed: routes to the picked venue'
                : 'Ring: the user’s home · numbered: the ranker’s venues in order · click a ranker below to draw its list'}
            </p>
          </section>
          {users.length > 1 ? (
            <GroupPanel users={users} group={group.data} error={group.error} picked={groupPick} onPick={(i) => { setGroupPick(i); setMapMode('group'); }} />
          ) : (
            <section className="card space-y-3 text-sm text-slate-300">
              <h2 className="card-title">Reading the scores</h2>
              <p className="text-xs text-slate-400">
                Each ranker orders the same catalogue for the same user. A score is the sum of its reasons: the bar shows each reason’s share, the list its
                contribution. <b className="text-slate-200">seed2</b> is the second seed document’s formula, <b className="text-slate-200">default</b> adds
                preferences, time of day, trends, friends and the learned model, <b className="text-slate-200">popularity</b> and{' '}
                <b className="text-slate-200">learned</b> are single-signal baselines.
              </p>
              <p className="text-xs text-slate-400">Pick a second user to see what the group should do together, and how far each member travels.</p>
            </section>
          )}
        </div>
      ) : null}

      {primary ? (
        <section className="space-y-3">
          {/* Wraps on a phone: the note beside the tabs squeezed "People to go with" onto three lines. */}
          <div className="flex flex-wrap items-center justify-between gap-2" data-testid="ranker-tabs">
            {/* One Tab stop; the arrow keys, Home and End switch tabs (QA: both were Tab stops, arrows did nothing). */}
            <div
              className="flex shrink-0 gap-1"
              role="tablist"
              aria-label="recommendations of"
              onKeyDown={(e) => {
                const kinds = ['venues', 'people'] as const;
                const at = kinds.indexOf(kind);
                const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: kinds.length - 1 }[e.key];
                if (to === undefined) return;
                e.preventDefault();
                const next = kinds[(to + kinds.length) % kinds.length];
                setKind(next);
                document.getElementById(`${tabsId}-${next}`)?.focus();
              }}
            >
              {(['venues', 'people'] as const).map((k) => (
                <button
                  key={k}
                  id={`${tabsId}-${k}`}
                  role="tab"
                  aria-selected={kind === k}
                  aria-controls={`${tabsId}-panel`}
                  tabIndex={kind === k ? 0 : -1}
                  className={`btn py-1 text-xs whitespace-nowrap ${kind === k ? 'btn-primary' : ''}`}
                  onClick={() => setKind(k)}
                >
                  {k === 'venues' ? 'Venues' : 'People to go with'}
                </button>
              ))}
            </div>
            <span className="text-xs text-slate-500">
              {kind === 'venues'
                ? 'every ranker, same user, side by side · click a ranker’s name to draw it on the map'
                : 'the rankers that rank people (seed2 and default), same user, side by side'}
            </span>
            <span className="flex items-center gap-2 text-xs text-slate-500">
              {askedAt ? <span data-testid="recs-asked-at">as of {new Date(askedAt).toTimeString().slice(0, 8)}</span> : null}
              <button className="btn py-1 text-xs" onClick={() => setReloads((n) => n + 1)} aria-label="Refresh the recommendations" title="Ask every ranker (and the group) again: the city changes as people act">
                ↻ Refresh
              </button>
            </span>
          </div>
          <div
            id={`${tabsId}-panel`}
            role="tabpanel"
            aria-labelledby={`${tabsId}-${kind}`}
            className={`grid grid-cols-1 gap-3 md:grid-cols-2 ${kind === 'venues' ? 'xl:grid-cols-4' : ''}`}
            data-testid="ranker-columns"
          >
            {(kind === 'venues' ? RANKERS : PEOPLE_RANKERS).map((r) => {
              const res = results[r][kind];
              return (
                <section key={r} className={`card space-y-2 p-3 ${mapRanker === r && mapMode === 'user' && kind === 'venues' ? 'ring-1' : ''}`} style={{ ['--tw-ring-color' as string]: RANKER_COLORS[r] }} data-ranker={r}>
                  <button className="flex w-full items-baseline justify-between gap-2 text-left" onClick={() => { setMapRanker(r); setMapMode('user'); }}>
                    <h3 className="text-sm font-semibold" style={{ color: RANKER_COLORS[r] }}>
                      {r}
                    </h3>
                    <span className="truncate text-[11px] text-slate-500">{RANKER_NOTES[r]}</span>
                  </button>
                  {res.error ? <p className="text-xs text-rose-300">{res.error}</p> : null}
                  {res.items === null ? (
                    <p className="text-xs text-slate-500">Loading…</p>
                  ) : res.items.length === 0 && !res.error ? (
                    <p className="text-xs text-slate-500">No {kind} for this user.</p>
                  ) : (
                    <ol className="space-y-2">
                      {kind === 'venues'
                        ? (res.items as VenueRecommendation[]).map((v, i) => <VenueItem key={v.venue_id} rec={v} rank={i + 1} color={RANKER_COLORS[r]} />)
                        : (res.items as PersonRecommendation[]).map((p, i) => <PersonItem key={p.user_id} rec={p} rank={i + 1} />)}
                    </ol>
                  )}
                </section>
              );
            })}
          </div>
        </section>
      ) : null}
    </div>
  );
}
