// Figures that could not be read again: what a panel shows while its poll fails. The last
// answer stays on view, dimmed, under a line saying how old it is and why it is not newer; the
// next answer clears both. Shared by the simulation panel, the stats cards and the
// learned model card.

/** The class that dims figures that are no longer current. */
export const STALE_DIM = 'opacity-60';

/** HH:MM:SS of an instant, in the browser's zone. */
export const timeOfDay = (at: number): string => new Date(at).toTimeString().slice(0, 8);

/** 'Not updated since HH:MM:SS: <why>. The figures below are the last ones read.' */
export function StaleNote({ why, at, testId }: { why: string; at: number | null; testId: string }) {
  return (
    <p className="text-xs text-rose-300" role="status" data-testid={testId}>
      Not updated{at ? ` since ${timeOfDay(at)}` : ''}: {why}. The figures below are the last ones read.
    </p>
  );
}
