// The city drawn from coordinates alone (no tiles, works offline) on two stacked canvases: the
// base (demand heat, users' homes, venues by category) redrawn when data or the view change,
// and the overlay (live bookings pulsing where they happen, the inspector's people, venues and
// lines, the hovered venue) redrawn as it animates. Wheel to zoom, drag to pan, click a venue.
// By keyboard the map is one Tab stop: the arrow keys move a cursor from venue to venue (the
// nearest in that direction, said aloud with its figures), Enter or Space opens it as a click
// does, Shift with an arrow pans, + and − zoom, 0 fits the city, Escape drops the cursor (QA:
// venues were reachable by keyboard only through the page's list of recent bookings).

import { useEffect, useId, useMemo, useRef, useState, type KeyboardEvent } from 'react';

import type { CityMapData } from '../api/types';
import { categoryColor, CATEGORY_COLORS } from '../lib/colors';
import { boundsOf, coreBoundsOf, fitView, nextInDirection, panBy, project, zoomAt, type View } from '../lib/geo';
import { useLive, useTicker } from '../lib/hooks';
import type { LiveStore } from '../lib/live';
import { drawBookings, drawHeat, drawOverlay, type Overlay } from '../lib/mapDraw';

export type { Overlay, OverlayPoint } from '../lib/mapDraw';

export interface MapLayers {
  heat: boolean;
  venues: boolean;
  homes: boolean;
  bookings: boolean;
}

interface Props {
  map: CityMapData | null;
  live?: LiveStore;
  layers: MapLayers;
  overlay?: Overlay;
  /** When this changes the view fits the overlay (or the city when there is none). */
  focusKey?: string;
  height?: number;
  /** Fade the base layers so an overlay stands out. */
  dim?: boolean;
  /** Which heat to draw: decayed recent demand, or all-time interactions. */
  heatMode?: 'recent' | 'all_time';
  onSelectVenue?: (id: string) => void;
}

interface Hover {
  i: number;
  x: number;
  y: number;
}

function useSize(ref: React.RefObject<HTMLDivElement | null>, fallbackHeight: number) {
  const [size, setSize] = useState({ w: 800, h: fallbackHeight });
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => setSize({ w: Math.max(200, el.clientWidth || 800), h: Math.max(160, el.clientHeight || fallbackHeight) });
    measure();
    if (typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, [ref, fallbackHeight]);
  return size;
}

function prepare(canvas: HTMLCanvasElement | null, w: number, h: number): CanvasRenderingContext2D | null {
  if (!canvas) return null;
  const dpr = typeof window !== 'undefined' ? window.devicePixelRatio || 1 : 1;
  if (canvas.width !== Math.round(w * dpr)) canvas.width = Math.round(w * dpr);
  if (canvas.height !== Math.round(h * dpr)) canvas.height = Math.round(h * dpr);
  const ctx = canvas.getContext('2d');
  if (!ctx) return null;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return ctx;
}

export function CityMap({ map, live, layers, overlay, focusKey, height = 520, dim, heatMode = 'recent', onSelectVenue }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const base = useRef<HTMLCanvasElement>(null);
  const top = useRef<HTMLCanvasElement>(null);
  const { w, h } = useSize(box, height);
  const [view, setView] = useState<View | null>(null);
  const [hover, setHover] = useState<Hover | null>(null);
  /** The venue the keyboard's cursor is on (an index into the map's venues). */
  const [cursor, setCursor] = useState<number | null>(null);
  const [focused, setFocused] = useState(false);
  const keysId = useId();
  const drag = useRef<{ x: number; y: number; moved: boolean } | null>(null);
  const liveVersion = useLive(live ?? dummyStore);
  const liveVersionRef = useRef(liveVersion);
  liveVersionRef.current = liveVersion;
  const [heatTick, setHeatTick] = useState(0);

  const venueIndex = useMemo(() => {
    const m = new Map<string, number>();
    map?.venues.id.forEach((id, i) => m.set(id, i));
    return m;
  }, [map]);

  const byCategory = useMemo(() => {
    const groups = new Map<number, number[]>();
    map?.venues.category.forEach((c, i) => {
      const g = groups.get(c) ?? [];
      g.push(i);
      groups.set(c, g);
    });
    return groups;
  }, [map]);

  // A new city (reseeded, reset): the cursor's index means another venue, or none.
  useEffect(() => setCursor(null), [map]);

  // The city's extent: venues, and homes when they are drawn; a venue far out of the city
  // (across the world) is left out of it, as it would shrink the city to a dot.
  const cityBounds = useMemo(() => {
    if (!map) return null;
    const pts: [number, number][] = map.venues.lat.map((lat, i) => [lat, map.venues.lng[i]]);
    if (layers.homes) map.homes.lat.forEach((lat, i) => pts.push([lat, map.homes.lng[i]]));
    return coreBoundsOf(pts) ?? map.bounds;
  }, [map, layers.homes]);

  // Fit the city (or the overlay) when the city's extent, the size or the focus change.
  const boundsKey = cityBounds ? Object.values(cityBounds).join(',') : '';
  useEffect(() => {
    const pts: [number, number][] = overlay?.points.map((p) => [p.lat, p.lng]) ?? [];
    let b = pts.length > 0 ? boundsOf(pts) : null;
    if (b && pts.length === 1) b = { min_lat: b.min_lat - 0.01, max_lat: b.max_lat + 0.01, min_lng: b.min_lng - 0.01, max_lng: b.max_lng + 0.01 };
    b = b ?? cityBounds;
    if (b) setView(fitView(b, w, h, pts.length > 0 ? 60 : 24));
    // Only when the extent, the size or the focus change, so a user's zoom survives new data.
  }, [boundsKey, w, h, focusKey]);

  // Live demand changes the heat; redraw it at most once a second, and only after new events.
  const second = useTicker(1000);
  const seenVersion = useRef(liveVersion);
  useEffect(() => {
    if (!layers.heat || seenVersion.current === liveVersionRef.current) return;
    seenVersion.current = liveVersionRef.current;
    setHeatTick((t) => t + 1);
    // Deliberately not on every liveVersion: once per `second` at most.
  }, [second, layers.heat]);

  const heatWeight = useMemo(() => {
    if (!map) return () => 0;
    const demand = heatMode === 'recent' ? map.venues.demand : map.venues.interactions;
    const extra = live?.demand;
    return (i: number) => (demand[i] ?? 0) + (extra?.get(map.venues.id[i]) ?? 0);
    // heatTick: the live demand map changed in place.
  }, [map, heatMode, heatTick]);

  // The base layers.
  useEffect(() => {
    const ctx = prepare(base.current, w, h);
    if (!ctx || !view || !map) return;
    const v = { ...view, width: w, height: h };
    ctx.globalAlpha = dim ? 0.45 : 1;
    if (layers.heat) drawHeat(ctx, v, map, heatWeight);
    if (layers.homes) {
      ctx.fillStyle = 'rgba(148,163,184,0.55)';
      const { lat, lng } = map.homes;
      for (let i = 0; i < lat.length; i++) {
        const [x, y] = project(v, lat[i], lng[i]);
        if (x >= 0 && y >= 0 && x < w && y < h) ctx.fillRect(x - 0.75, y - 0.75, 1.5, 1.5);
      }
    }
    if (layers.venues) {
      const n = map.venues.id.length;
      const zoom = cityBounds ? v.scale / fitView(cityBounds, w, h).scale : 1;
      const size = Math.min(7, (n > 20_000 ? 1.6 : n > 2_000 ? 2.4 : 3.6) * Math.sqrt(Math.max(1, zoom)));
      // Squares are much cheaper than arcs and look the same at a few pixels.
      const round = size > 3;
      // The projection inlined: this loop runs over every venue on each redraw.
      const [ox, oy, kx, ky] = [w / 2 - v.lng * v.k * v.scale, h / 2 + v.lat * v.scale, v.k * v.scale, v.scale];
      const { lat, lng } = map.venues;
      for (const [c, idx] of byCategory) {
        ctx.fillStyle = categoryColor(map.categories[c] ?? '');
        if (round) ctx.beginPath();
        for (const i of idx) {
          const x = ox + lng[i] * kx;
          const y = oy - lat[i] * ky;
          if (x < -5 || y < -5 || x > w + 5 || y > h + 5) continue;
          if (round) {
            ctx.moveTo(x + size / 2, y);
            ctx.arc(x, y, size / 2, 0, Math.PI * 2);
          } else ctx.fillRect(x - size / 2, y - size / 2, size, size);
        }
        if (round) ctx.fill();
      }
    }
    ctx.globalAlpha = 1;
  }, [map, view, w, h, layers, byCategory, heatWeight, dim, cityBounds]);

  // The venue ringed and described: the one under the mouse, else the keyboard's.
  const cursorOn = cursor !== null && map && layers.venues && cursor < map.venues.id.length ? cursor : null;
  const mark: Hover | null =
    hover ??
    (cursorOn !== null && map && view ? (([x, y]) => ({ i: cursorOn, x, y }))(project({ ...view, width: w, height: h }, map.venues.lat[cursorOn], map.venues.lng[cursorOn])) : null);

  // The overlay: live bookings, inspector marks, hover. Animated while bookings pulse.
  useEffect(() => {
    let frame = 0;
    const draw = () => {
      const ctx = prepare(top.current, w, h);
      if (!ctx || !view) return;
      const v = { ...view, width: w, height: h };
      let animating = false;
      if (layers.bookings && live && map) animating = drawBookings(ctx, v, map, live, venueIndex);
      if (overlay) drawOverlay(ctx, v, overlay);
      if (mark && map) {
        const [x, y] = project(v, map.venues.lat[mark.i], map.venues.lng[mark.i]);
        ctx.strokeStyle = '#f8fafc';
        ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.arc(x, y, 7, 0, Math.PI * 2);
        ctx.stroke();
      }
      if (animating) frame = requestAnimationFrame(draw);
    };
    draw();
    return () => cancelAnimationFrame(frame);
  }, [view, w, h, map, live, liveVersion, layers.bookings, overlay, mark?.i, mark?.x, mark?.y, venueIndex]);

  const nearest = (x: number, y: number): number | null => {
    if (!map || !view || !layers.venues) return null;
    const v = { ...view, width: w, height: h };
    let best = -1;
    let bestD = 64;
    for (let i = 0; i < map.venues.id.length; i++) {
      const [vx, vy] = project(v, map.venues.lat[i], map.venues.lng[i]);
      const d = (vx - x) ** 2 + (vy - y) ** 2;
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    }
    return best >= 0 ? best : null;
  };

  const local = (e: React.MouseEvent) => {
    const r = (e.currentTarget as HTMLElement).getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top] as const;
  };

  const onWheel = (e: React.WheelEvent) => {
    if (!view) return;
    const [x, y] = local(e);
    setView(zoomAt({ ...view, width: w, height: h }, e.deltaY < 0 ? 1.25 : 0.8, x, y));
  };

  const onMove = (e: React.MouseEvent) => {
    const [x, y] = local(e);
    if (drag.current && view) {
      const dx = x - drag.current.x;
      const dy = y - drag.current.y;
      if (Math.abs(dx) + Math.abs(dy) > 2) drag.current.moved = true;
      drag.current.x = x;
      drag.current.y = y;
      setView(panBy({ ...view, width: w, height: h }, -dx, -dy));
      return;
    }
    const i = nearest(x, y);
    setHover(i === null ? null : { i, x, y });
  };

  const onUp = () => {
    const d = drag.current;
    drag.current = null;
    if (d && !d.moved && hover && map && onSelectVenue) onSelectVenue(map.venues.id[hover.i]);
  };

  const zoomButton = (f: number) => view && setView(zoomAt({ ...view, width: w, height: h }, f, w / 2, h / 2));
  const fit = () => cityBounds && setView(fitView(cityBounds, w, h));

  const ARROWS: Record<string, [number, number]> = { ArrowRight: [1, 0], ArrowLeft: [-1, 0], ArrowDown: [0, 1], ArrowUp: [0, -1] };
  const onKey = (e: KeyboardEvent) => {
    if (!view || e.altKey || e.ctrlKey || e.metaKey) return;
    const v = { ...view, width: w, height: h };
    const dir = ARROWS[e.key];
    if (dir && e.shiftKey) {
      setView(panBy(v, (dir[0] * w) / 4, (dir[1] * h) / 4));
    } else if (dir) {
      if (!map || !layers.venues || map.venues.id.length === 0) return;
      const at = (i: number) => project(v, map.venues.lat[i], map.venues.lng[i]);
      // From the cursor; without one, from the middle of the map in any direction.
      const next =
        cursorOn === null
          ? (nearestTo(map.venues.id.length, at, w / 2, h / 2) ?? null)
          : nextInDirection(map.venues.id.length, at, ...at(cursorOn), dir[0], dir[1], cursorOn);
      if (next === null) return e.preventDefault();
      setHover(null);
      setCursor(next);
      // A venue off the map's edge: the view follows it.
      const [x, y] = at(next);
      if (x < 16 || y < 16 || x > w - 16 || y > h - 16) setView(panBy(v, x - w / 2, y - h / 2));
    } else if ((e.key === 'Enter' || e.key === ' ') && cursorOn !== null && map && onSelectVenue) {
      onSelectVenue(map.venues.id[cursorOn]);
    } else if (e.key === '+' || e.key === '=' || e.key === '-' || e.key === '_') {
      const [x, y] = mark ? [mark.x, mark.y] : [w / 2, h / 2];
      setView(zoomAt(v, e.key === '+' || e.key === '=' ? 1.5 : 1 / 1.5, x, y));
    } else if (e.key === '0') {
      fit();
    } else if (e.key === 'Escape' && cursorOn !== null) {
      setCursor(null);
    } else return;
    e.preventDefault();
  };

  return (
    <div
      ref={box}
      className="relative w-full overflow-hidden rounded-lg border border-slate-800 bg-[#0b1120] select-none"
      style={{ height }}
      data-testid="city-map"
    >
      <canvas ref={base} className="absolute inset-0 h-full w-full" aria-hidden />
      {/* A screen reader heard nothing of the map (two unnamed canvases): it is named, and says what it draws. */}
      <canvas
        ref={top}
        role="application"
        aria-roledescription="map"
        tabIndex={0}
        aria-describedby={keysId}
        onKeyDown={onKey}
        onFocus={() => setFocused(true)}
        onBlur={() => setFocused(false)}
        aria-label={
          map
            ? `City map: ${map.venues.id.length.toLocaleString('en-US')} venues by category${layers.homes ? `, ${map.homes.lat.length.toLocaleString('en-US')} users' homes` : ''}${layers.heat ? ', demand heat' : ''}${layers.bookings ? ', live bookings' : ''}${overlay ? ', the inspected users and venues' : ''}`
            : 'City map, loading'
        }
        className={`absolute inset-0 h-full w-full rounded-lg focus-visible:outline-2 focus-visible:-outline-offset-2 focus-visible:outline-sky-400 ${hover ? 'cursor-pointer' : 'cursor-grab'}`}
        onWheel={onWheel}
        onMouseDown={(e) => {
          const [x, y] = local(e);
          drag.current = { x, y, moved: false };
        }}
        onMouseMove={onMove}
        onMouseUp={onUp}
        onMouseLeave={() => {
          drag.current = null;
          setHover(null);
        }}
      />
      {!map || map.venues.id.length === 0 ? (
        <div className="absolute inset-0 flex items-center justify-center text-sm text-slate-400">
          {map ? 'No venues yet: seed the demo city to draw it.' : 'Loading the city…'}
        </div>
      ) : null}
      <div className="absolute top-2 right-2 flex flex-col gap-1">
        <button className="btn btn-ghost h-7 w-7 bg-slate-900/80 p-0" aria-label="zoom in" onClick={() => zoomButton(1.5)}>
          +
        </button>
        <button className="btn btn-ghost h-7 w-7 bg-slate-900/80 p-0" aria-label="zoom out" onClick={() => zoomButton(1 / 1.5)}>
          −
        </button>
        <button className="btn btn-ghost h-7 w-7 bg-slate-900/80 p-0 text-[10px]" aria-label="fit the city" onClick={fit}>
          fit
        </button>
      </div>
      {mark && map ? <VenueTip map={map} i={mark.i} x={mark.x} y={mark.y} width={w} extra={live?.demand.get(map.venues.id[mark.i])} /> : null}
      {/* The keys, said with the map's name, and shown while it has the keyboard's focus. */}
      <p
        id={keysId}
        className={focused ? 'pointer-events-none absolute bottom-2 left-2 max-w-[calc(100%-1rem)] rounded-md bg-slate-900/90 px-2 py-1 text-[11px] text-slate-300' : 'sr-only'}
        data-testid="map-keys"
      >
        Arrow keys: move between venues{onSelectVenue ? ', Enter opens one' : ''} · Shift+arrows pan · + − zoom · 0 fits the city
      </p>
      <p className="sr-only" aria-live="polite" data-testid="map-cursor">
        {/* Without the live demand, which changes with every event: it would be said again and again. */}
        {cursorOn !== null && map ? venueWords(map, cursorOn) : ''}
      </p>
    </div>
  );
}

/** The point nearest (x, y), for the keyboard's first step onto the map. */
function nearestTo(n: number, at: (i: number) => [number, number], x: number, y: number): number | null {
  let best: number | null = null;
  let bestD = Infinity;
  for (let i = 0; i < n; i++) {
    const [px, py] = at(i);
    const d = (px - x) ** 2 + (py - y) ** 2;
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}

/** A venue in words, what its hover tip shows, for a screen reader. */
function venueWords(map: CityMapData, i: number): string {
  const cat = map.categories[map.venues.category[i]] ?? '?';
  return `${cat} …${map.venues.id[i].slice(-6)}: ${map.venues.interactions[i]} interactions, ${map.venues.bookings[i]} bookings, demand ${map.venues.demand[i].toFixed(2)}`;
}

/** The hover tip's width (w-48). */
const TIP_WIDTH = 192;

/** Where the hover tip of a venue at `x` starts: right of it, else left of it, and always inside
 * a map `width` wide (on a phone's map, left of a venue in the middle was past its left edge). */
export function tipLeft(x: number, width: number): number {
  const left = x + 14 + TIP_WIDTH <= width - 4 ? x + 14 : x - 14 - TIP_WIDTH;
  return Math.max(4, Math.min(left, width - 4 - TIP_WIDTH));
}

function VenueTip({ map, i, x, y, width, extra }: { map: CityMapData; i: number; x: number; y: number; width: number; extra?: number }) {
  const cat = map.categories[map.venues.category[i]] ?? '?';
  const left = tipLeft(x, width);
  return (
    <div
      className="pointer-events-none absolute z-10 w-48 rounded-md border border-slate-700 bg-slate-900/95 px-2.5 py-1.5 text-xs shadow-lg"
      style={{ left, top: Math.max(4, y - 10) }}
    >
      <div className="flex items-center gap-1.5 font-medium text-slate-100">
        <span className="h-2 w-2 rounded-full" style={{ background: categoryColor(cat) }} />
        {cat} <span className="font-mono text-slate-500">…{map.venues.id[i].slice(-6)}</span>
      </div>
      <div className="mt-0.5 text-slate-400">
        {map.venues.interactions[i]} interactions · {map.venues.bookings[i]} bookings
      </div>
      <div className="text-slate-400">
        demand {map.venues.demand[i].toFixed(2)}
        {extra ? ` (+${extra} live)` : ''}
      </div>
    </div>
  );
}

/** The legend of venue categories, with counts. */
export function CategoryLegend({ map }: { map: CityMapData | null }) {
  const counts = useMemo(() => {
    const c = new Map<string, number>();
    map?.venues.category.forEach((k) => {
      const name = map.categories[k] ?? '?';
      c.set(name, (c.get(name) ?? 0) + 1);
    });
    return c;
  }, [map]);
  return (
    <ul className="flex flex-wrap gap-x-3 gap-y-1 text-xs" data-testid="category-legend">
      {Object.keys(CATEGORY_COLORS).map((name) => (
        <li key={name} className="flex items-center gap-1.5">
          <span className="h-2.5 w-2.5 rounded-full" style={{ background: categoryColor(name) }} />
          <span className="text-slate-300">{name}</span>
          <span className="font-mono text-slate-500">{counts.get(name) ?? 0}</span>
        </li>
      ))}
    </ul>
  );
}

const dummyStore = { subscribe: () => () => {}, getVersion: () => 0 } as unknown as LiveStore;
