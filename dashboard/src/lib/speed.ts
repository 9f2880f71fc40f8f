// The simulation speed slider's scale: its positions are stops from a quarter speed to 100×
// (the server takes any speed above 0 and at most 100), spaced so the slow end gets as much of
// the track as the fast end. A linear track from 0.5 to 100 gave the slow speeds no room at all,
// and 0.25× could not be shown: its thumb sat at 0.5×.

/** The speeds the slider offers, slowest first (simulated seconds per second). */
export const SPEED_STOPS: readonly number[] = [0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 15, 20, 30, 40, 50, 60, 80, 100];

/** The speed at a slider position (clamped to the track). */
export function speedAt(position: number): number {
  const i = Math.round(Number.isFinite(position) ? position : 0);
  return SPEED_STOPS[Math.min(SPEED_STOPS.length - 1, Math.max(0, i))];
}

/** The slider position of a speed: its stop, or the nearest one (by ratio) for a speed between
 * stops, as a run started through the API may have. */
export function positionOf(speed: number): number {
  if (!(speed > 0)) return 0;
  let best = 0;
  for (let i = 1; i < SPEED_STOPS.length; i++) {
    if (Math.abs(Math.log(SPEED_STOPS[i] / speed)) < Math.abs(Math.log(SPEED_STOPS[best] / speed))) best = i;
  }
  return best;
}
