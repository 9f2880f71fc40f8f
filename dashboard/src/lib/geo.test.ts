import { describe, expect, it } from 'vitest';

import { boundsOf, coreBoundsOf, fitView, heatColor, heatGrid, nextInDirection, panBy, project, unproject, zoomAt } from './geo';

const city = { min_lat: 40.6, max_lat: 40.8, min_lng: -74.05, max_lng: -73.85 };

describe('geo', () => {
  it('fits a city inside the box, centred, and projects back and forth', () => {
    const v = fitView(city, 800, 600, 20);
    const [x1, y1] = project(v, city.min_lat, city.min_lng);
    const [x2, y2] = project(v, city.max_lat, city.max_lng);
    expect(Math.min(x1, x2)).toBeGreaterThanOrEqual(19.9);
    expect(Math.max(x1, x2)).toBeLessThanOrEqual(780.1);
    expect(Math.min(y1, y2)).toBeGreaterThanOrEqual(19.9);
    expect(Math.max(y1, y2)).toBeLessThanOrEqual(580.1);
    expect(y2).toBeLessThan(y1); // north is up
    const [lat, lng] = unproject(v, 123, 456);
    const [x, y] = project(v, lat, lng);
    expect(x).toBeCloseTo(123, 6);
    expect(y).toBeCloseTo(456, 6);
  });

  it('zooms about the cursor and pans by pixels', () => {
    const v = fitView(city, 800, 600);
    const before = unproject(v, 200, 150);
    const z = zoomAt(v, 2, 200, 150);
    expect(z.scale).toBeCloseTo(v.scale * 2);
    const after = unproject(z, 200, 150);
    expect(after[0]).toBeCloseTo(before[0], 9);
    expect(after[1]).toBeCloseTo(before[1], 9);
    const p = panBy(v, 100, 0);
    const [x] = project(p, v.lat, v.lng);
    expect(x).toBeCloseTo(300);
  });

  it('sums weights into screen cells and skips points outside', () => {
    const v = fitView(city, 100, 100, 0);
    const lat = [40.709, 40.709, 40.7091, 10];
    const lng = [-73.94, -73.94, -73.9401, 10];
    const h = heatGrid(v, lat, lng, (i) => [1, 2, 3, 100][i], 10);
    expect(h.cols).toBe(10);
    expect(h.max).toBe(6);
    expect(Array.from(h.values).reduce((a, b) => a + b, 0)).toBe(6);
  });

  it('colours heat from transparent to hot', () => {
    expect(heatColor(0)[3]).toBe(0);
    expect(heatColor(0.1)[3]).toBeGreaterThan(0);
    expect(heatColor(1)[3]).toBeGreaterThan(heatColor(0.2)[3]);
  });

  it('finds bounds', () => {
    expect(boundsOf([])).toBeNull();
    expect(boundsOf([[1, 2], [3, -4], [NaN, 0]])).toEqual({ min_lat: 1, max_lat: 3, min_lng: -4, max_lng: 2 });
  });

  it('leaves a venue far out of the city out of its core bounds, and keeps a small city whole', () => {
    const city: [number, number][] = [];
    for (let i = 0; i < 20; i++) city.push([40.7 + (i % 5) * 0.01, -74.0 + Math.floor(i / 5) * 0.01]);
    const core = { min_lat: 40.7, max_lat: 40.74, min_lng: -74.0, max_lng: -73.97 };
    const near = (b: ReturnType<typeof coreBoundsOf>) => b && Object.fromEntries(Object.entries(b).map(([k, v]) => [k, Math.round(v * 1000) / 1000]));
    expect(near(coreBoundsOf([...city, [35.68, 139.76], [90, 0]]))).toEqual(core);
    expect(near(coreBoundsOf(city))).toEqual(core);
    expect(coreBoundsOf([[40.7, -74.0], [40.71, -74.01]])).toEqual({ min_lat: 40.7, max_lat: 40.71, min_lng: -74.01, max_lng: -74.0 });
    expect(coreBoundsOf([[NaN, 1]])).toBeNull();
  });

  it('finds the next point in an arrow key\'s direction, within 45° of it first', () => {
    //  0 (0,0)   1 (10,-1)   2 (30,0)   3 (4,20)   4 (-10,0)
    const pts: [number, number][] = [[0, 0], [10, -1], [30, 0], [4, 20], [-10, 0]];
    const at = (i: number) => pts[i];
    const go = (from: number, dx: number, dy: number) => nextInDirection(pts.length, at, ...pts[from], dx, dy, from);
    expect(go(0, 1, 0)).toBe(1); // right: the nearest ahead
    expect(go(1, 1, 0)).toBe(2);
    expect(go(2, 1, 0)).toBeNull(); // nothing further right
    expect(go(0, -1, 0)).toBe(4);
    expect(go(0, 0, 1)).toBe(3); // down (y grows down)
    // Up from 3: 0 and 1 are both within 45°; 0 is nearer once sideways distance counts double.
    expect(go(3, 0, -1)).toBe(0);
    // Outside the cone only when nothing is in it: from 4 down, 3 is 14 right and 20 down (in it).
    expect(go(4, 0, 1)).toBe(3);
    expect(go(2, 0, 1)).toBe(3); // 3 is 26 left and 20 down: none within 45°, the nearest ahead
  });

  it('reaches every point of a spot several share, in a stable order, with the arrow keys', () => {
    // QA (real binary): venues at the very spot of the cursor's (one address) could never be
    // reached: none is ahead of it in any direction.
    //  0 (-10,0)   1, 3, 4 at (0,0)   2 (10,0)   5 (0.3,-0.2): half a pixel away, the same spot
    const pts: [number, number][] = [[-10, 0], [0, 0], [10, 0], [0, 0], [0, 0], [0.3, -0.2]];
    const at = (i: number) => pts[i];
    const go = (from: number, dx: number, dy: number) => nextInDirection(pts.length, at, ...pts[from], dx, dy, from);
    const walk = (from: number, dx: number, dy: number) => {
      const seen = [from];
      for (let i = go(from, dx, dy); i !== null && seen.length < 10; i = go(i, dx, dy)) seen.push(i);
      return seen;
    };
    // Right from the left: into the spot at its first point, through every one, then on.
    expect(walk(0, 1, 0)).toEqual([0, 1, 3, 4, 5, 2]);
    // Left from the right: into the spot at its last point, back through every one, then on
    // (5, a fraction of a pixel off theirs, is not at 4's spot going back: it was reached going right).
    expect(walk(2, -1, 0)).toEqual([2, 4, 3, 1, 0]);
    expect(go(5, -1, 0)).toBe(4);
    // Down and Up go through the spot as Right and Left do, then nothing further that way.
    expect(walk(1, 0, 1)).toEqual([1, 3, 4, 5]);
    expect(walk(4, 0, -1)).toEqual([4, 3, 1]);
  });
});
