// How the inspector shows one ranked list: each venue or person with its score broken into
// its reasons (a bar of contributions, then each reason with its share), and the sentence.

import type { PersonRecommendation, Reason, VenueRecommendation } from '../api/types';
import { categoryColor, reasonColor } from '../lib/colors';

export function ReasonBar({ reasons }: { reasons: Reason[] }) {
  const positive = reasons.filter((r) => r.contribution > 0);
  const total = positive.reduce((a, r) => a + r.contribution, 0);
  if (total <= 0) return <div className="h-1.5 rounded-full bg-slate-800" />;
  return (
    <div className="flex h-1.5 overflow-hidden rounded-full bg-slate-800" aria-hidden>
      {positive.map((r) => (
        <div key={r.code} style={{ width: `${(100 * r.contribution) / total}%`, background: reasonColor(r.code) }} title={`${r.label}: ${r.contribution.toFixed(3)}`} />
      ))}
    </div>
  );
}

export function ReasonList({ reasons }: { reasons: Reason[] }) {
  const sorted = [...reasons].sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
  return (
    <ul className="space-y-0.5">
      {sorted.map((r) => (
        <li key={r.code} className="flex items-center gap-1.5 text-[11px]" data-testid="reason">
          <span className="h-1.5 w-1.5 shrink-0 rounded-full" style={{ background: reasonColor(r.code) }} />
          <span className="min-w-0 flex-1 truncate text-slate-300" title={r.code}>
            {r.label}
          </span>
          <span className={`font-mono tabular-nums ${r.contribution < 0 ? 'text-rose-300' : 'text-slate-400'}`}>
            {r.contribution >= 0 ? '+' : ''}
            {r.contribution.toFixed(3)}
          </span>
        </li>
      ))}
    </ul>
  );
}

export function VenueItem({ rec, rank, color }: { rec: VenueRecommendation; rank: number; color: string }) {
  return (
    <li className="space-y-1.5 rounded-lg border border-slate-800 bg-slate-950/40 p-2.5" data-testid="venue-rec">
      <div className="flex items-start gap-2">
        <span className="mt-0.5 flex h-5 w-5 shrink-0 items-center justify-center rounded-full text-[11px] font-bold text-slate-950" style={{ background: color }}>
          {rank}
        </span>
        <div className="min-w-0 flex-1">
          <div className="truncate text-sm font-medium text-slate-100" title={rec.venue_name}>
            {rec.venue_name}
          </div>
          <div className="flex flex-wrap items-center gap-x-2 text-[11px] text-slate-400">
            <span style={{ color: categoryColor(rec.venue.category) }}>{rec.venue.category}</span>
            {rec.venue.cuisine ? <span>{rec.venue.cuisine.replace(/_/g, ' ')}</span> : null}
            {rec.distance_km !== null ? <span>{rec.distance_km.toFixed(1)} km</span> : null}
            {rec.venue.rating ? <span>★ {rec.venue.rating}</span> : null}
          </div>
        </div>
        <span className="font-mono text-xs text-slate-200 tabular-nums" title="score">
          {rec.score.toFixed(3)}
        </span>
      </div>
      <ReasonBar reasons={rec.reasons} />
      <ReasonList reasons={rec.reasons} />
      <p className="text-[11px] text-slate-500 italic">{rec.explanation}</p>
    </li>
  );
}

export function PersonItem({ rec, rank }: { rec: PersonRecommendation; rank: number }) {
  return (
    <li className="space-y-1.5 rounded-lg border border-slate-800 bg-slate-950/40 p-2.5" data-testid="person-rec">
      <div className="flex items-start gap-2">
        <span className="mt-0.5 flex h-5 w-5 shrink-0 items-center justify-center rounded-full bg-slate-700 text-[11px] font-bold text-slate-100">{rank}</span>
        <div className="min-w-0 flex-1">
          <div className="truncate text-sm font-medium text-slate-100">{rec.name}</div>
          <div className="text-[11px] text-slate-400">
            @{rec.handle} · {rec.relationship.replace(/_/g, ' ')} · {rec.mutual_friends} mutual
          </div>
        </div>
        <span className="font-mono text-xs text-slate-200 tabular-nums">{rec.score.toFixed(3)}</span>
      </div>
      <ReasonBar reasons={rec.reasons} />
      <ReasonList reasons={rec.reasons} />
      <p className="text-[11px] text-slate-500 italic">{rec.explanation}</p>
    </li>
  );
}
