// System statistics: row counts, bookings, events and streams, from `GET /api/v1/admin/stats`,
// with the live event rate measured on the stream.

import type { Stats } from '../api/types';
import { fmt } from './TimeChart';

interface Props {
  stats: Stats | null;
  liveRate: number;
  requestsPerSecond?: number;
  error?: string | null;
}

function Card({ label, value, detail, accent }: { label: string; value: string; detail?: string; accent?: string }) {
  const id = `stat-${label.toLowerCase().replace(/[^a-z]+/g, '-')}`;
  return (
    <div className="card flex min-w-0 flex-col gap-1 px-3.5 py-3" data-testid={id}>
      <span className="label">{label}</span>
      <span className="truncate font-mono text-xl font-semibold text-slate-50 tabular-nums" style={accent ? { color: accent } : undefined} data-testid={`${id}-value`}>
        {value}
      </span>
      {detail ? <span className="truncate text-xs text-slate-400">{detail}</span> : null}
    </div>
  );
}

const n = (v: number | undefined) => (v === undefined ? '–' : v.toLocaleString('en-US'));

export function StatsPanel({ stats, liveRate, requestsPerSecond, error }: Props) {
  const s = stats;
  const bookingsDetail = s
    ? Object.entries(s.bookings.by_status)
        .filter(([, v]) => v > 0)
        .map(([k, v]) => `${v} ${k.replace('_', ' ')}`)
        .join(' · ') || 'none yet'
    : undefined;
  return (
    <section aria-label="system statistics" className="space-y-2">
      {error ? <p className="text-xs text-rose-300">Statistics unavailable: {error}</p> : null}
      <div className="grid grid-cols-2 gap-3 sm:grid-cols-4 xl:grid-cols-8">
        <Card label="Users" value={n(s?.users.total)} detail={s ? `${n(s.users.simulated)} simulated · ${n(s.users.real)} real` : undefined} />
        <Card label="Venues" value={n(s?.venues.total)} detail={s ? `${n(s.venues.trending)} trending` : undefined} />
        <Card label="Bookings" value={n(s?.bookings.total)} detail={bookingsDetail} accent="#34d399" />
        <Card label="Interactions" value={n(s?.interactions.total)} detail={s ? `${n(s.social.venue_interests)} interests` : undefined} />
        <Card label="Social" value={n(s?.social.edges)} detail={s ? `edges · ${n(s.social.plans)} plans` : undefined} />
        <Card label="Events/s" value={fmt(liveRate)} detail={s ? `server ${fmt(s.events.per_second)}/s · ${n(s.events.last_minute)} last min` : undefined} accent="#38bdf8" />
        <Card label="Requests/s" value={requestsPerSecond === undefined ? '–' : fmt(requestsPerSecond)} detail="all routes, last minute" />
        <Card
          label="Streams"
          value={s ? `${s.streams.active_subscribers}` : '–'}
          detail={s ? `of ${n(s.streams.max_subscribers)} · ${s.events.backend} bus · outbox ${n(s.events.outbox_pending)}` : undefined}
        />
      </div>
    </section>
  );
}
