// The map's geometry, pure and testable: an equirectangular projection scaled by the cosine of
// the centre latitude (true shapes at city scale), fitting, zooming and panning, and binning of
// weighted points into screen-space cells for the demand heat map.

export interface Bounds {
  min_lat: number;
  max_lat: number;
  min_lng: number;
  max_lng: number;
}

export interface View {
  /** Centre of the view. */
  lat: number;
  lng: number;
  /** Pixels per degree of latitude. */
  scale: number;
  /** Cosine of the reference latitude: degrees of longitude shrink by it (fixed while panning). */
  k: number;
  width: number;
  height: number;
}

const kx = (lat: number) => Math.cos((lat * Math.PI) / 180);

/** The view that shows `b` whole in a `width` x `height` box with `pad` pixels around. */
export function fitView(b: Bounds, width: number, height: number, pad = 24): View {
  const lat = (b.min_lat + b.max_lat) / 2;
  const lng = (b.min_lng + b.max_lng) / 2;
  const spanY = Math.max(b.max_lat - b.min_lat, 0.002);
  const spanX = Math.max((b.max_lng - b.min_lng) * kx(lat), 0.002);
  const scale = Math.min((width - 2 * pad) / spanX, (height - 2 * pad) / spanY);
  return { lat, lng, scale: Math.max(scale, 1), k: kx(lat), width, height };
}

export function project(v: View, lat: number, lng: number): [number, number] {
  return [v.width / 2 + (lng - v.lng) * v.k * v.scale, v.height / 2 - (lat - v.lat) * v.scale];
}

export function unproject(v: View, x: number, y: number): [number, number] {
  const lat = v.lat - (y - v.height / 2) / v.scale;
  const lng = v.lng + (x - v.width / 2) / (v.k * v.scale);
  return [lat, lng];
}

/** Zooms by `factor` keeping the point under (x, y) where it is. */
export function zoomAt(v: View, factor: number, x: number, y: number): View {
  const [lat, lng] = unproject(v, x, y);
  const scale = Math.min(Math.max(v.scale * factor, 10), 2_000_000);
  const next = { ...v, scale };
  const [nx, ny] = project(next, lat, lng);
  return panBy(next, nx - x, ny - y);
}

/** Moves the view so the content shifts by (-dx, -dy) pixels. */
export function panBy(v: View, dx: number, dy: number): View {
  return { ...v, lat: v.lat - dy / v.scale, lng: v.lng + dx / (v.k * v.scale) };
}

export function boundsOf(points: Iterable<[number, number]>): Bounds | null {
  let b: Bounds | null = null;
  for (const [lat, lng] of points) {
    if (!Number.isFinite(lat) || !Number.isFinite(lng)) continue;
    if (!b) b = { min_lat: lat, max_lat: lat, min_lng: lng, max_lng: lng };
    else {
      b.min_lat = Math.min(b.min_lat, lat);
      b.max_lat = Math.max(b.max_lat, lat);
      b.min_lng = Math.min(b.min_lng, lng);
      b.max_lng = Math.max(b.max_lng, lng);
    }
  }
  return b;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * The bounds of a city's core: its points but those far out of it (a venue across the world,
 * or at a pole), which would shrink the city to a dot. A point is kept when its latitude and
 * longitude each lie within 8 median absolute deviations of the median, and at least 0.05° (about
 * 5 km), of it. `null` for no finite point.
 */
export function coreBoundsOf(points: Iterable<[number, number]>): Bounds | null {
  const pts = [...points].filter(([lat, lng]) => Number.isFinite(lat) && Number.isFinite(lng));
  if (pts.length === 0) return null;
  const reach = (xs: number[]) => {
    const mid = median(xs);
    return { mid, max: Math.max(0.05, 8 * median(xs.map((x) => Math.abs(x - mid)))) };
  };
  const lat = reach(pts.map((p) => p[0]));
  const lng = reach(pts.map((p) => p[1]));
  return boundsOf(pts.filter(([a, b]) => Math.abs(a - lat.mid) <= lat.max && Math.abs(b - lng.mid) <= lng.max));
}

export interface Heat {
  cols: number;
  rows: number;
  cell: number;
  values: Float32Array;
  max: number;
}

/** Sums weights into `cell`-pixel squares of the view; points outside are left out. */
export function heatGrid(v: View, lat: ArrayLike<number>, lng: ArrayLike<number>, weight: (i: number) => number, cell: number): Heat {
  const cols = Math.max(1, Math.ceil(v.width / cell));
  const rows = Math.max(1, Math.ceil(v.height / cell));
  const values = new Float32Array(cols * rows);
  let max = 0;
  const [ox, oy, kx, ky] = [v.width / 2 - v.lng * v.k * v.scale, v.height / 2 + v.lat * v.scale, v.k * v.scale, v.scale];
  for (let i = 0; i < lat.length; i++) {
    const w = weight(i);
    if (!(w > 0)) continue;
    const x = ox + lng[i] * kx;
    const y = oy - lat[i] * ky;
    if (x < 0 || y < 0 || x >= v.width || y >= v.height) continue;
    const k = Math.floor(y / cell) * cols + Math.floor(x / cell);
    values[k] += w;
    if (values[k] > max) max = values[k];
  }
  return { cols, rows, cell, values, max };
}

/** Heat colour for an intensity in [0, 1]: transparent, through amber, to hot red-white. */
export function heatColor(t: number): [number, number, number, number] {
  const x = Math.min(1, Math.max(0, t));
  if (x === 0) return [0, 0, 0, 0];
  const stops: [number, [number, number, number]][] = [
    [0, [251, 191, 36]],
    [0.5, [249, 115, 22]],
    [0.8, [239, 68, 68]],
    [1, [254, 226, 226]],
  ];
  let i = 0;
  while (i < stops.length - 2 && x > stops[i + 1][0]) i++;
  const [a, ca] = stops[i];
  const [b, cb] = stops[i + 1];
  const f = (x - a) / (b - a);
  const mix = (k: number) => Math.round(ca[k] + (cb[k] - ca[k]) * f);
  return [mix(0), mix(1), mix(2), Math.round(235 * Math.sqrt(x))];
}

/** How near (screen pixels, each way) a point is to the cursor's to be at its spot: no arrow key
 * leads to it by direction, as it is not ahead of the cursor in any. */
const SAME_SPOT = 0.5;

/**
 * For moving between points with the arrow keys: the point nearest to (x, y) in direction
 * (dx, dy) (screen pixels, y down), preferring those within 45° of it, then any ahead of it;
 * a point off to the side counts as twice as far. `null` when none lies ahead.
 *
 * Points at the spot of the current one (`skip`, at (x, y)) are ahead of it by their order
 * (index), so each can be reached: Right and Down go to the next of them, Left and Up to the one
 * before, and past the last (or the first) on to the points around. Entering such a spot, Right
 * and Down land on its first point, Left and Up on its last, so going on the same way visits all.
 * (QA: venues sharing one place could never be reached with the arrow keys.)
 */
export function nextInDirection(n: number, at: (i: number) => [number, number], x: number, y: number, dx: number, dy: number, skip?: number): number | null {
  const forward = dx + dy > 0;
  let best: number | null = null;
  let bestScore = Infinity;
  let bestInCone = false;
  let sameSpot: number | null = null;
  for (let i = 0; i < n; i++) {
    if (i === skip) continue;
    const [px, py] = at(i);
    const rx = px - x;
    const ry = py - y;
    if (skip !== undefined && Math.abs(rx) <= SAME_SPOT && Math.abs(ry) <= SAME_SPOT) {
      if (forward ? i > skip && (sameSpot === null || i < sameSpot) : i < skip && (sameSpot === null || i > sameSpot)) sameSpot = i;
      continue;
    }
    const along = rx * dx + ry * dy;
    if (!(along > 0.5)) continue;
    const across = Math.abs(rx * dy - ry * dx);
    const inCone = across <= along;
    const score = along + 2 * across;
    // Equal scores (points at one spot): the first going forward, the last going back.
    if ((inCone && !bestInCone) || (inCone === bestInCone && (score < bestScore || (!forward && score === bestScore)))) {
      best = i;
      bestScore = score;
      bestInCone = inCone;
    }
  }
  return sameSpot ?? best;
}
