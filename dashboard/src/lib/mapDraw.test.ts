import { beforeEach, describe, expect, it } from 'vitest';

import { canvasCalls } from '../test/setup';
import type { View } from './geo';
import { drawOverlay, placeLabel, type LabelBox } from './mapDraw';

// A 342 px wide map, as on a 390 px phone: one degree is 1000 px, centred on (0, 0).
const phone: View = { lat: 0, lng: 0, scale: 1000, k: 1, width: 342, height: 460 };
const at = (x: number, y: number) => ({ lat: -(y - phone.height / 2) / 1000, lng: (x - phone.width / 2) / 1000 });

beforeEach(() => {
  canvasCalls.length = 0;
});

describe('placeLabel', () => {
  it('puts a label right of its mark when it fits there', () => {
    expect(placeLabel(100, 100, 60, 12, 342, 460, [])).toEqual({ x: 109, y: 92, w: 66, h: 16 });
  });

  it('puts a label that would run past the right edge left of its mark', () => {
    const box = placeLabel(300, 100, 150, 12, 342, 460, []);
    expect(box.x + box.w).toBeLessThanOrEqual(342);
    expect(box.x + box.w).toBeLessThanOrEqual(300);
  });

  it('moves a label off one already placed', () => {
    const first = placeLabel(100, 100, 60, 12, 342, 460, []);
    const second = placeLabel(104, 104, 60, 12, 342, 460, [first]);
    const overlap = (a: LabelBox, b: LabelBox) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
    expect(overlap(first, second)).toBe(false);
  });

  it('keeps a label wider than the map inside it from its left edge', () => {
    expect(placeLabel(170, 100, 500, 12, 342, 460, []).x).toBe(0);
  });
});

describe('drawOverlay', () => {
  it('draws every label whole on a phone-sized map, after all the marks', () => {
    // QA at 390x844: the inspector's venue name beside a mark near the right edge was cut off
    // ('Neon Anchor Stand-Up R'), and a later mark was drawn over an earlier label.
    const ctx = document.createElement('canvas').getContext('2d')!;
    const name = 'Neon Anchor Stand-Up Room';
    drawOverlay(ctx, phone, {
      points: [
        { ...at(150, 300), label: '@karim30', color: '#38bdf8', kind: 'person' },
        // A mark near the person, right where their label would go.
        { ...at(200, 304), label: '', color: '#94a3b8', kind: 'venue', rank: 4 },
        { ...at(290, 300), label: name, color: '#f8fafc', kind: 'venue', rank: 1 },
        { ...at(200, 120), label: '@nia.garcia286', color: '#f472b6', kind: 'person' },
      ],
      lines: [],
    });
    const texts = canvasCalls.filter((c) => c.method === 'fillText' && String(c.args[0]).length > 1);
    expect(texts.map((c) => c.args[0])).toEqual(['@karim30', name, '@nia.garcia286']);
    for (const t of texts) {
      const x = t.args[1] as number;
      // The recording context measures 6 px a character.
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x + String(t.args[0]).length * 6).toBeLessThanOrEqual(phone.width);
    }
    // No label is over another point's mark.
    const box = (t: (typeof texts)[number]) => ({ x: t.args[1] as number, y: (t.args[2] as number) - 8, w: String(t.args[0]).length * 6, h: 16 });
    const clear = (b: { x: number; y: number; w: number; h: number }, cx: number, cy: number) => b.x > cx + 11 || b.x + b.w < cx - 11 || b.y > cy + 11 || b.y + b.h < cy - 11;
    for (const [cx, cy] of [[200, 304], [290, 300]]) expect(clear(box(texts[0]), cx, cy)).toBe(true);
    for (const [cx, cy] of [[150, 300], [200, 304]]) expect(clear(box(texts[1]), cx, cy)).toBe(true);
    const lastMark = canvasCalls.map((c) => c.method).lastIndexOf('arc');
    const firstLabel = canvasCalls.findIndex((c) => c.method === 'fillText' && c.args[0] === '@karim30');
    expect(lastMark).toBeLessThan(firstLabel);
  });
});
