import { describe, expect, it } from 'vitest';

import { SPEED_STOPS, positionOf, speedAt } from './speed';

describe('the speed slider scale', () => {
  it('has a position of its own for every speed it offers, a quarter speed the first', () => {
    expect(speedAt(0)).toBe(0.25);
    expect(positionOf(0.25)).toBe(0);
    // 0.25× and 0.5× are different places on the track (the thumb of a run at 0.25× sat at 0.5×).
    expect(positionOf(0.5)).toBeGreaterThan(positionOf(0.25));
    for (const [i, s] of SPEED_STOPS.entries()) {
      expect(positionOf(s)).toBe(i);
      expect(speedAt(i)).toBe(s);
    }
    expect(speedAt(SPEED_STOPS.length - 1)).toBe(100);
  });

  it('gives the slow end as much of the track as the fast end', () => {
    const last = SPEED_STOPS.length - 1;
    // Below 1× is at least a sixth of the track, not the 0.5 % a linear 0.5..100 track gave it.
    expect(positionOf(1) / last).toBeGreaterThan(1 / 6);
    expect(positionOf(10) / last).toBeGreaterThan(0.4);
    expect(positionOf(10) / last).toBeLessThan(0.6);
  });

  it('puts a speed between stops, or out of range, at the nearest stop', () => {
    expect(speedAt(positionOf(7))).toBe(5);
    expect(speedAt(positionOf(8))).toBe(10);
    expect(speedAt(positionOf(0.1))).toBe(0.25);
    expect(speedAt(positionOf(0))).toBe(0.25);
    expect(speedAt(positionOf(1000))).toBe(100);
    expect(speedAt(-3)).toBe(0.25);
    expect(speedAt(99)).toBe(100);
    expect(speedAt(Number.NaN)).toBe(0.25);
  });
});
