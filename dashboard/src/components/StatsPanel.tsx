// System statistics: row counts, bookings, events, streams and the outbox, from
// `GET /api/v1/admin/stats`, with the live event rate measured on the stream; and below them
// the server's health from `GET /health`: database, bus (and its stream trims, when they keep
// failing) and the supervised background tasks (a task that is down, or was restarted, is
// marked with its last failure).

import type { ReactNode } from 'react';

import type { BusHealth, Health, Stats, TaskHealth } from '../api/types';
import { STALE_DIM, StaleNote } from './Stale';
import { fmt } from './TimeChart';

interface Props {
  stats: Stats | null;
  liveRate: number;
  requestsPerSecond?: number;
  /** Why the last poll of the stats failed (null: it answered). With stats on view, they are
   * those read at `statsAt`, dimmed and said to be old. */
  error?: string | null;
  /** When the stats shown were read (ms since epoch). */
  statsAt?: number | null;
  health?: Health | null;
  healthError?: string | null;
  /** When /health last answered, while it cannot be reached: the row's answer is that old. */
  healthStaleSince?: number | null;
}

const DEAD_LETTERS_TITLE =
  'Dead letters: outbox rows that could not be published at all (a payload that is not JSON, or a channel with no stream). ' +
  'The relay set them aside and went on, so their events were never published; they stay in the outbox table with their reason ' +
  '(listed by luna outbox dead or GET /api/v1/admin/outbox/dead, and sent back to the relay by luna outbox redrive ' +
  'once every server can publish them). 0 is normal.';

interface CardProps {
  label: string;
  value: string;
  detail?: string;
  accent?: string;
  /** Marks the whole card as a problem an operator should look at. */
  problem?: boolean;
  /** The stats could not be read again: 'all' of the card is their last answer, or only its
   * 'detail' (the value is measured on the event stream). */
  stale?: 'all' | 'detail' | false;
  children?: ReactNode;
}

function Card({ label, value, detail, accent, problem = false, stale = false, children }: CardProps) {
  const id = `stat-${label.toLowerCase().replace(/[^a-z]+/g, '-')}`;
  return (
    <div
      className={`card flex min-w-0 flex-col gap-1 px-3.5 py-3 ${problem ? 'border-rose-500/70 bg-rose-500/10' : ''} ${stale === 'all' ? STALE_DIM : ''}`}
      data-testid={id}
      data-problem={problem}
      data-stale={stale === 'all'}
    >
      <span className="label">{label}</span>
      <span className="truncate font-mono text-xl font-semibold text-slate-50 tabular-nums" style={accent ? { color: accent } : undefined} data-testid={`${id}-value`}>
        {value}
      </span>
      {/* Wraps rather than truncates: on a phone (two cards a row) or at 1440 px (eight) the
          detail was cut off with an ellipsis ('server 0.64/s · 37 la…', 'of 1,000 · memory b…'). */}
      {detail ? (
        <span className={`text-xs break-words text-slate-400 ${stale === 'detail' ? STALE_DIM : ''}`} data-testid={`${id}-detail`}>
          {detail}
        </span>
      ) : null}
      {children}
    </div>
  );
}

const n = (v: number | undefined) => (v === undefined ? '–' : v.toLocaleString('en-US'));

/** The outbox line of the streams card: pending events, and dead letters marked when any.
 * It wraps rather than truncates, so the dead letters are never cut off by an ellipsis. */
function Outbox({ events }: { events: Stats['events'] }) {
  const dead = events.outbox_dead;
  return (
    <span className="flex flex-wrap gap-x-1 text-xs text-slate-400">
      <span>outbox {n(events.outbox_pending)} pending ·</span>{' '}
      <span
        data-testid="stat-outbox-dead"
        data-problem={dead > 0}
        title={DEAD_LETTERS_TITLE}
        className={`cursor-help underline decoration-dotted underline-offset-2 ${dead > 0 ? 'font-semibold text-rose-300' : ''}`}
      >
        {dead > 0 ? '⚠ ' : ''}
        {n(dead)} dead
      </span>
    </span>
  );
}

export function StatsPanel({ stats, liveRate, requestsPerSecond, error = null, statsAt = null, health, healthError, healthStaleSince = null }: Props) {
  const s = stats;
  // QA (the admin token refused, or the server gone): the cards kept their last numbers at full
  // brightness under a small red line; as the simulation panel, they are now said to be old.
  const stale = error !== null && s !== null;
  const old = stale ? 'all' : false;
  const bookingsDetail = s
    ? Object.entries(s.bookings.by_status)
        .filter(([, v]) => v > 0)
        .map(([k, v]) => `${n(v)} ${k.replace(/_/g, ' ')}`)
        .join(' · ') || 'none yet'
    : undefined;
  return (
    <section aria-label="system statistics" className="space-y-2">
      {stale ? <StaleNote why={error} at={statsAt} testId="stats-stale" /> : error ? <p className="text-xs text-rose-300">Statistics unavailable: {error}</p> : null}
      <div className="grid grid-cols-2 gap-3 sm:grid-cols-4 xl:grid-cols-8">
        <Card label="Users" value={n(s?.users.total)} detail={s ? `${n(s.users.simulated)} simulated · ${n(s.users.real)} real` : undefined} stale={old} />
        <Card label="Venues" value={n(s?.venues.total)} detail={s ? `${n(s.venues.trending)} trending` : undefined} stale={old} />
        <Card label="Bookings" value={n(s?.bookings.total)} detail={bookingsDetail} accent="#34d399" stale={old} />
        <Card label="Interactions" value={n(s?.interactions.total)} detail={s ? `${n(s.social.venue_interests)} interests` : undefined} stale={old} />
        <Card label="Social" value={n(s?.social.edges)} detail={s ? `edges · ${n(s.social.plans)} plans` : undefined} stale={old} />
        <Card label="Events/s" value={fmt(liveRate)} detail={s ? `server ${fmt(s.events.per_second)}/s · ${n(s.events.last_minute)} last min` : undefined} accent="#38bdf8" stale={stale ? 'detail' : false} />
        <Card label="Requests/s" value={requestsPerSecond === undefined ? '–' : fmt(requestsPerSecond)} detail="all routes, last minute" />
        <Card
          label="Streams"
          value={s ? `${s.streams.active_subscribers}` : '–'}
          detail={s ? `of ${n(s.streams.max_subscribers)} · ${s.events.backend} bus` : undefined}
          problem={(s?.events.outbox_dead ?? 0) > 0}
          stale={old}
        >
          {s ? <Outbox events={s.events} /> : null}
        </Card>
      </div>
      <HealthRow health={health ?? null} error={healthError ?? null} staleSince={healthStaleSince} />
    </section>
  );
}

/** The health row's element id, for the header's health indicator to show it. */
export const HEALTH_ROW_ID = 'health';

const ok = (status: string) => status === 'ok' || status === 'running' || status === 'healthy';

function TaskChip({ name, task }: { name: string; task: TaskHealth }) {
  const down = !ok(task.status);
  const tone = down ? 'border-rose-500/70 bg-rose-500/15 text-rose-200' : task.restarts > 0 ? 'border-amber-500/50 bg-amber-500/10 text-amber-200' : 'border-slate-700 bg-slate-900 text-slate-300';
  return (
    <li
      className={`chip font-mono ${tone}`}
      data-testid={`task-${name}`}
      data-status={task.status}
      data-restarts={task.restarts}
      title={`${name}: ${task.status}, ${task.restarts} restart${task.restarts === 1 ? '' : 's'}${task.last_failure ? `; last failure: ${task.last_failure}` : ''}`}
    >
      <span className={`h-1.5 w-1.5 rounded-full ${down ? 'bg-rose-500' : 'bg-emerald-400'}`} />
      {name}
      {down ? <b className="font-sans"> down</b> : null}
      {task.restarts > 0 ? <span className="font-sans"> ↻ {task.restarts}</span> : null}
    </li>
  );
}

/** `GET /health` in one compact row: overall status, database, bus, and each background task. */
export function HealthRow({ health, error, staleSince = null }: { health: Health | null; error: string | null; staleSince?: number | null }) {
  // `?? {}`: a server older than the supervised tasks has no `tasks`.
  const tasks = health ? Object.entries(health.tasks ?? {}) : [];
  const failures = tasks.filter(([, t]) => t.last_failure && (!ok(t.status) || t.restarts > 0));
  // Down first, so the one to act on is read first.
  failures.sort(([, a], [, b]) => Number(ok(a.status)) - Number(ok(b.status)));
  // Unreachable: the last answer is kept, greyed, and said to be old (QA: with the server gone
  // the header said unreachable while this row still said healthy in green).
  const stale = staleSince !== null;
  const degraded = health ? !ok(health.status) || stale : stale;
  return (
    <div
      className={`card space-y-1.5 px-3.5 py-2.5 scroll-mt-24 focus:ring-2 focus:ring-sky-400/60 focus:outline-none ${degraded ? 'border-rose-500/60' : ''}`}
      role="group"
      aria-label="server health"
      data-testid="health"
      data-status={stale ? 'unreachable' : (health?.status ?? 'unknown')}
      id={HEALTH_ROW_ID}
      tabIndex={-1}
    >
      <div className="flex flex-wrap items-center gap-x-4 gap-y-1.5 text-xs text-slate-400">
        <span className="label">Health</span>
        {stale ? (
          <span className="chip border-rose-500/70 bg-rose-500/15 text-rose-200" data-testid="health-unreachable">
            unreachable
          </span>
        ) : null}
        {stale ? (
          <span className="text-rose-200/90" data-testid="health-stale">
            {health ? `last answer at ${new Date(staleSince).toTimeString().slice(0, 8)}:` : 'no answer yet'}
          </span>
        ) : null}
        {health ? (
          <>
            <span
              className={`chip ${stale ? 'border-slate-700 bg-slate-900 text-slate-400' : degraded ? 'border-rose-500/70 bg-rose-500/15 text-rose-200' : 'border-emerald-500/40 bg-emerald-500/10 text-emerald-200'}`}
              data-testid="health-status"
            >
              {health.status}
            </span>
            <span className={stale ? 'opacity-60' : undefined}>
              database {health.database.backend} <DatabaseStatus status={health.database.status} /> · bus {health.bus.backend}{' '}
              <Status ok={ok(health.bus.status)} text={health.bus.status} />
              <Trims bus={health.bus} /> · v{health.version}
            </span>
            <span className="label" title="Supervised background tasks: one that panics or ends is down until it is restarted (after 100 ms, doubling to 30 s); ↻ counts its restarts since the server started">
              Background tasks
            </span>
            {tasks.length ? (
              <ul className="flex flex-wrap gap-1.5" aria-label="background tasks">
                {tasks.map(([name, t]) => (
                  <TaskChip key={name} name={name} task={t} />
                ))}
              </ul>
            ) : (
              <span>none reported</span>
            )}
          </>
        ) : error ? null : (
          <span>waiting for /health…</span>
        )}
        {error ? <span className="text-rose-300">health unavailable: {error}</span> : null}
      </div>
      {health?.bus.trim_error ? (
        <p className="text-xs text-rose-200" data-testid="bus-trim-error">
          <b>bus trims failing</b> · {trimCount(health.bus.trim_failures ?? 0)} · last error:{' '}
          <span className="font-mono break-words whitespace-pre-wrap">{health.bus.trim_error}</span>
        </p>
      ) : null}
      {failures.length ? (
        <ul className="space-y-0.5 text-xs" aria-label="background task failures">
          {failures.map(([name, t]) => (
            <li key={name} data-testid={`task-failure-${name}`} className={ok(t.status) ? 'text-amber-200/90' : 'text-rose-200'}>
              <b className="font-mono">{name}</b> {ok(t.status) ? 'running again' : 'down'} · {t.restarts} restart{t.restarts === 1 ? '' : 's'} · last failure:{' '}
              <span className="font-mono break-words whitespace-pre-wrap">{t.last_failure}</span>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

const trimCount = (n: number) => `${n.toLocaleString('en-US')} failed trim${n === 1 ? '' : 's'}`;

const TRIMS_TITLE =
  'Each Redis stream is trimmed to its length as events are published. While trims fail the events are still ' +
  'published, but the streams grow past their length until trimming works again; counted since the bus connected ' +
  '(luna_bus_trim_failures_total).';

/** The bus's stream trims, after its status: failing (red), or failed before and working again.
 * Nothing when they never failed, or the server is older than these fields. */
function Trims({ bus }: { bus: BusHealth }) {
  const failures = bus.trim_failures ?? 0;
  if (!bus.trim_error && failures === 0) return null;
  return (
    <>
      {' · '}
      <span
        className={`cursor-help underline decoration-dotted underline-offset-2 ${bus.trim_error ? 'font-semibold text-rose-300' : 'text-amber-200/90'}`}
        data-testid="bus-trims"
        data-problem={!!bus.trim_error}
        title={TRIMS_TITLE}
      >
        {bus.trim_error ? 'trims failing' : `trims working again after ${trimCount(failures)}`}
      </span>
    </>
  );
}

/** The database's status: `busy` (serving, with a queue for its connections) in amber, not as down. */
function DatabaseStatus({ status }: { status: string }) {
  if (status !== 'busy') return <Status ok={ok(status)} text={status} />;
  return (
    <span
      className="font-semibold text-amber-300"
      data-testid="database-busy"
      title="Every pooled connection is in use (heavy load, or requests behind a lock or a long import): requests queue for one, up to 10 s. The database can be reached; /health still answers 200."
    >
      busy
    </span>
  );
}

function Status({ ok: good, text }: { ok: boolean; text: string }) {
  return <span className={good ? 'text-emerald-300' : 'font-semibold text-rose-300'}>{text}</span>;
}
