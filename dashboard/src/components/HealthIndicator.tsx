// The server's health in the header of every page: a coloured dot and its state (healthy,
// degraded, unreachable) with what is wrong in a few words, cut short with an ellipsis on a
// narrow screen (the title and the accessible name keep it whole). A link to the Live page's
// health row, where each part is shown in full.

import type { ApiError } from '../api/client';
import type { Health } from '../api/types';
import { summarizeHealth, type HealthState } from '../lib/health';

const TONE: Record<HealthState, { chip: string; dot: string }> = {
  checking: { chip: 'border-slate-700 bg-slate-900 text-slate-400', dot: 'bg-slate-500' },
  healthy: { chip: 'border-emerald-500/40 bg-emerald-500/10 text-emerald-200', dot: 'bg-emerald-400' },
  degraded: { chip: 'border-rose-500/70 bg-rose-500/15 text-rose-200', dot: 'bg-rose-500' },
  unreachable: { chip: 'border-rose-500/70 bg-rose-500/15 text-rose-200', dot: 'bg-rose-500' },
};

const WORD: Record<HealthState, string> = {
  checking: 'checking…',
  healthy: 'healthy',
  degraded: 'degraded',
  unreachable: 'unreachable',
};

interface Props {
  health: Health | null;
  error: ApiError | null;
  /** Shows the Live page's health row. */
  onOpen: () => void;
}

export function HealthIndicator({ health, error, onOpen }: Props) {
  const { state, reasons } = summarizeHealth(health, error);
  const tone = TONE[state];
  const why = reasons.join(', ');
  const label = `Server health: ${state === 'checking' ? 'checking' : state}${why ? `: ${why}` : ''}. Show the health row.`;
  return (
    <a
      href="/#health"
      onClick={(e) => {
        e.preventDefault();
        onOpen();
      }}
      className={`chip min-w-0 max-w-full py-1 focus-visible:ring-2 focus-visible:ring-sky-400 focus-visible:outline-none ${tone.chip}`}
      data-testid="health-indicator"
      data-state={state}
      aria-label={label}
      title={why ? `${WORD[state]}: ${reasons.join('; ')}` : `server ${WORD[state]}`}
    >
      <span className={`h-2 w-2 shrink-0 rounded-full ${tone.dot}`} aria-hidden />
      <span className="shrink-0">{WORD[state]}</span>
      {reasons.length ? (
        <span className="min-w-0 truncate font-normal" data-testid="health-indicator-reasons">
          {` · ${why}`}
        </span>
      ) : null}
    </a>
  );
}
