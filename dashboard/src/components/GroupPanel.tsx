// The group recommendation: venues good for every picked user, each with every member's
// distance and score; picking one draws the members' routes to it on the map.

import type { GroupRecommendations, User } from '../api/types';
import { categoryColor } from '../lib/colors';

export const MEMBER_COLORS = ['#38bdf8', '#f472b6', '#4ade80', '#fbbf24', '#c084fc', '#fb923c', '#22d3ee', '#f87171'];

interface Props {
  users: User[];
  group: GroupRecommendations | null;
  error: string | null;
  picked: number;
  onPick: (i: number) => void;
}

export function GroupPanel({ users, group, error, picked, onPick }: Props) {
  const handle = new Map(users.map((u, i) => [u.id, { handle: u.handle, color: MEMBER_COLORS[i % MEMBER_COLORS.length] }]));
  return (
    <section className="card space-y-3" data-testid="group-panel">
      <header className="flex items-baseline justify-between">
        <h2 className="card-title">Group of {users.length}</h2>
        {group ? <span className="text-xs text-slate-500">strategy: {group.strategy.replace(/_/g, ' ')}</span> : null}
      </header>
      {error ? <p className="text-xs text-rose-300">{error}</p> : null}
      {!group && !error ? <p className="text-xs text-slate-500">Loading…</p> : null}
      {group && group.group_venues.length === 0 ? <p className="text-xs text-slate-500">No venue suits the whole group.</p> : null}
      <ol className="space-y-2">
        {group?.group_venues.map((v, i) => (
          <li key={v.venue_id}>
            <button
              className={`w-full space-y-1.5 rounded-lg border p-2.5 text-left ${i === picked ? 'border-slate-400 bg-slate-800/60' : 'border-slate-800 bg-slate-950/40 hover:border-slate-600'}`}
              onClick={() => onPick(i)}
              data-testid="group-venue"
            >
              <div className="flex items-center gap-2">
                <span className="flex h-5 w-5 shrink-0 items-center justify-center rounded-full bg-slate-200 text-[11px] font-bold text-slate-950">{i + 1}</span>
                <span className="min-w-0 flex-1 truncate text-sm font-medium text-slate-100">{v.venue_name}</span>
                <span className="text-[11px]" style={{ color: categoryColor(v.venue.category) }}>
                  {v.venue.category}
                </span>
                <span className="font-mono text-xs text-slate-200">{v.score.toFixed(3)}</span>
              </div>
              <table className="w-full text-[11px]">
                <tbody>
                  {v.members.map((m) => {
                    const h = handle.get(m.user_id);
                    return (
                      <tr key={m.user_id} data-testid="group-member">
                        <td className="py-0.5 pr-2">
                          <span className="mr-1.5 inline-block h-1.5 w-1.5 rounded-full" style={{ background: h?.color ?? '#94a3b8' }} />
                          <span className="text-slate-300">@{h?.handle ?? m.user_id.slice(-6)}</span>
                        </td>
                        <td className="py-0.5 pr-2 text-right font-mono text-slate-300 tabular-nums">{m.distance_km === null ? '–' : `${m.distance_km.toFixed(1)} km`}</td>
                        <td className="py-0.5 text-right font-mono text-slate-500 tabular-nums">{m.score.toFixed(2)}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
              <p className="text-[11px] text-slate-500 italic">{v.explanation}</p>
            </button>
          </li>
        ))}
      </ol>
    </section>
  );
}
