// The city map page: the map with its layers (demand heat, homes, venues by category, live
// bookings), the legend, the latest booking activity (bookings made, changed or refused, plans
// confirmed or cancelled), and the venue picked on the map.

import { useEffect, useRef, useState } from 'react';

import { ApiError, luna } from '../api/client';
import type { CityMapData, Venue } from '../api/types';
import { categoryColor } from '../lib/colors';
import { useLive } from '../lib/hooks';
import type { LiveStore } from '../lib/live';
import { CategoryLegend, CityMap, type MapLayers } from './CityMap';

const LAYER_LABELS: Record<keyof MapLayers, string> = {
  heat: 'Demand heat',
  venues: 'Venues',
  homes: "Users' homes",
  bookings: 'Live bookings',
};

export function MapSummary({ map, live }: { map: CityMapData | null; live: LiveStore }) {
  useLive(live);
  if (!map) return null;
  // Bookings made (`booking.created`), not every event of the bookings channel the map pulses
  // (QA: '518 bookings in the last 45 s' with 247 bookings in the database: status changes,
  // refusals, plans confirmed and cancelled were counted as bookings).
  const made = live.liveBookings.filter((b) => b.type === 'booking.created').length;
  return (
    <p className="text-xs text-slate-400" data-testid="map-summary">
      {map.venues.id.length.toLocaleString('en-US')} venues · {map.users_total.toLocaleString('en-US')} users ({map.homes.lat.length.toLocaleString('en-US')} homes
      shown) · {made.toLocaleString('en-US')} {made === 1 ? 'booking' : 'bookings'} made in the last 45 s
    </p>
  );
}

export function useHeatMode(map: CityMapData | null): ['recent' | 'all_time', (m: 'recent' | 'all_time' | null) => void] {
  const [choice, setChoice] = useState<'recent' | 'all_time' | null>(null);
  const recentAny = !!map && map.venues.demand.some((d) => d > 0.01);
  return [choice ?? (recentAny ? 'recent' : 'all_time'), setChoice];
}

export function MapPanel({ map, live, error }: { map: CityMapData | null; live: LiveStore; error: string | null }) {
  const [layers, setLayers] = useState<MapLayers>({ heat: true, venues: true, homes: true, bookings: true });
  const [heatMode, setHeatMode] = useHeatMode(map);
  const [picked, setPicked] = useState<string | null>(null);
  const [venue, setVenue] = useState<Venue | null>(null);
  useLive(live);

  // Why the venue last picked could not be shown (QA: a click on a venue did nothing at all with
  // the server unreachable, or the venue gone).
  const [pickError, setPickError] = useState<string | null>(null);

  useEffect(() => {
    if (!picked) return;
    let alive = true;
    setPickError(null);
    luna
      .venue(picked)
      .then((v) => alive && setVenue(v))
      .catch((e: unknown) => {
        if (!alive) return;
        setVenue(null);
        setPicked(null);
        const gone = e instanceof ApiError && e.status === 404;
        setPickError(gone ? `Venue …${picked.slice(-6)} no longer exists.` : `Venue …${picked.slice(-6)} could not be loaded: ${e instanceof Error ? e.message : String(e)}`);
      });
    return () => {
      alive = false;
    };
  }, [picked]);

  // Closing forgets the pick too, so picking the same venue again opens it again.
  const close = () => {
    setPicked(null);
    setVenue(null);
    setPickError(null);
  };

  // A venue deleted, or every one (a data reset, before a reseed), is no longer described (QA: a
  // venue's card stayed open after a reseed had replaced the city). A venue changed is described
  // as it is now: `venue.updated` carries the whole venue (QA: a venue renamed through the API
  // kept its old name on its card).
  const pickedRef = useRef(picked);
  pickedRef.current = picked;
  useEffect(
    () =>
      live.onEvent((e) => {
        const id = (e.data as { venue_id?: unknown } | null)?.venue_id;
        if (e.type === 'data.reset' || (e.type === 'venue.deleted' && id === pickedRef.current)) {
          setPicked(null);
          setVenue(null);
        }
        const changed = e.data as Venue | null;
        if (e.type === 'venue.updated' && changed && typeof changed === 'object' && changed.id === pickedRef.current) setVenue(changed);
      }),
    [live],
  );

  // The card of the venue opened is brought into view (QA on a 390 px phone: it opened under the
  // 640 px map and the layers, 1,145 px down, and a tap or Enter on a venue seemed to do nothing).
  // 'nearest' moves nothing when it is already in view, as beside the map on a wide screen; the
  // keyboard's focus stays on the map.
  const card = useRef<HTMLElement>(null);
  useEffect(() => {
    if (venue) card.current?.scrollIntoView?.({ block: 'nearest' });
  }, [venue]);

  const index = new Map(map?.venues.id.map((id, i) => [id, i]) ?? []);
  const recent = [...live.liveBookings].reverse().slice(0, 10);

  return (
    <div className="grid grid-cols-1 gap-4 lg:grid-cols-[minmax(0,1fr)_300px]">
      <div className="min-w-0 space-y-2">
        <CityMap map={map} live={live} layers={layers} heatMode={heatMode} height={640} onSelectVenue={setPicked} />
        <div className="flex flex-wrap items-center justify-between gap-2">
          <MapSummary map={map} live={live} />
          {error ? <p className="text-xs text-rose-300">Map unavailable: {error}</p> : null}
        </div>
      </div>
      <aside className="space-y-4">
        <section className="card space-y-2.5">
          <h2 className="card-title">Layers</h2>
          {(Object.keys(LAYER_LABELS) as (keyof MapLayers)[]).map((k) => (
            <label key={k} className="flex items-center gap-2 text-sm text-slate-300">
              <input type="checkbox" checked={layers[k]} onChange={(e) => setLayers({ ...layers, [k]: e.target.checked })} />
              {LAYER_LABELS[k]}
            </label>
          ))}
          <div className="flex gap-1 pt-1" role="group" aria-label="heat of">
            {(['recent', 'all_time'] as const).map((m) => (
              // aria-pressed: the one on was told by its colour alone (QA, keyboard and screen reader).
              <button key={m} className={`btn flex-1 py-1 text-xs ${heatMode === m ? 'btn-primary' : ''}`} aria-pressed={heatMode === m} onClick={() => setHeatMode(m)}>
                {m === 'recent' ? 'recent demand' : 'all-time'}
              </button>
            ))}
          </div>
          <p className="text-xs text-slate-500">
            Heat sums venue demand per area: interactions decayed by the trending half-life (or all interactions), plus what the stream shows now.
          </p>
        </section>
        <section className="card space-y-2">
          <h2 className="card-title">Categories</h2>
          <CategoryLegend map={map} />
          <div className="flex gap-3 pt-1 text-xs text-slate-400">
            <span className="flex items-center gap-1.5">
              <span className="h-1.5 w-1.5 rounded-full bg-slate-400" /> home
            </span>
            <span className="flex items-center gap-1.5">
              <span className="h-2.5 w-2.5 rounded-full border-2 border-emerald-400" /> booking
            </span>
          </div>
        </section>
        {pickError && !venue ? (
          <p className="card text-xs text-rose-300" role="alert" data-testid="picked-venue-error">
            {pickError}
          </p>
        ) : null}
        {/* Always there, so a screen reader hears the card of a venue opened from the map by
            keyboard (the focus stays on the map). */}
        <div aria-live="polite" className="empty:mb-0">
          {venue ? (
            <section ref={card} className="card scroll-mb-4 space-y-1.5" data-testid="picked-venue">
              <div className="flex items-center justify-between">
                <h2 className="card-title">{venue.name}</h2>
                <button className="btn btn-ghost px-1.5 py-0 text-xs" onClick={close} aria-label="close">
                  ✕
                </button>
              </div>
              <p className="text-xs text-slate-400">
                <span style={{ color: categoryColor(venue.category) }}>{venue.category}</span>
                {venue.cuisine ? ` · ${venue.cuisine}` : ''} · {'$'.repeat(venue.price_level ?? 1)} · ★ {venue.rating ?? '–'}
              </p>
              {venue.address ? <p className="text-xs text-slate-500">{venue.address}</p> : null}
              {venue.description ? <p className="text-xs text-slate-300">{venue.description}</p> : null}
            </section>
          ) : null}
        </div>
        <section className="card space-y-2">
          <h2 className="card-title">Latest booking activity</h2>
          {recent.length === 0 ? (
            <p className="text-xs text-slate-500">None in the last 45 seconds.</p>
          ) : (
            <ul className="space-y-1 text-xs">
              {recent.map((b, k) => {
                const i = index.get(b.venueId);
                const cat = i === undefined ? '?' : map?.categories[map.venues.category[i]] ?? '?';
                return (
                  <li key={`${b.at}-${k}`} className="flex items-center gap-2">
                    <span className="font-mono text-slate-500">{new Date(b.at).toTimeString().slice(0, 8)}</span>
                    <span className="h-2 w-2 rounded-full" style={{ background: categoryColor(cat) }} />
                    <span className="text-slate-300" data-testid="booking-activity-words" title={b.type}>
                      {b.words}
                    </span>
                    <button className="truncate font-mono text-slate-500 hover:text-slate-300" onClick={() => setPicked(b.venueId)}>
                      {cat} …{b.venueId.slice(-6)}
                    </button>
                  </li>
                );
              })}
            </ul>
          )}
        </section>
      </aside>
    </div>
  );
}
