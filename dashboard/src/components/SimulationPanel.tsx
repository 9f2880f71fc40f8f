// Simulation controls and state: start a run (scenario, users, speed, seed, duration), pause,
// resume, stop, reset, change the speed live, trigger a scenario mid-run; what the simulator
// reports (status, and why a stopped run stopped; simulated clock in the city's time zone, users, events, bookings, invites, actions per second, refused
// bookings, those refused as full, and the alternatives users tried and booked instead). A
// refused request shows each invalid field and why.

import { useEffect, useRef, useState, type ReactNode } from 'react';

import { luna } from '../api/client';
import { ErrorNote, actionError, stillHolds, type ActionError } from './ErrorNote';
import type { ConfirmRequest } from './Dialogs';
import type { Scenario, SimMetrics, SimState, SimStatus } from '../api/types';
import { clock, statusWords } from '../lib/describe';
import { focusLost } from '../lib/focus';
import { SPEED_STOPS, positionOf, speedAt } from '../lib/speed';
import { fmt } from './TimeChart';
import { STALE_DIM, StaleNote } from './Stale';

const STATUS_STYLE: Record<SimStatus, string> = {
  idle: 'border-slate-600 bg-slate-700/30 text-slate-300',
  running: 'border-emerald-500/60 bg-emerald-500/15 text-emerald-300',
  paused: 'border-amber-500/60 bg-amber-500/15 text-amber-300',
  stopped: 'border-slate-500/60 bg-slate-500/15 text-slate-300',
  finished: 'border-sky-500/60 bg-sky-500/15 text-sky-300',
};

/**
 * The simulated day and time of day in the city's zone (its people live by it; UTC from a server
 * that does not give one), as two unbreakable parts, so a narrow cell wraps between them.
 */
function simClock(iso: string | null, tz: string | null | undefined): ReactNode {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  let timeZone = tz || 'UTC';
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone });
  } catch {
    timeZone = 'UTC';
  }
  const day = d.toLocaleDateString('en-GB', { weekday: 'short', day: 'numeric', month: 'short', timeZone });
  const time = clock(iso, timeZone);
  return (
    <>
      <span className="whitespace-nowrap">{day},</span> <span className="whitespace-nowrap">{time}</span>
    </>
  );
}

/** A count with the part of it in brackets, e.g. refused (full): `25 (3)`; the count alone from a server that does not give the part. */
const withPart = (total: number, part: number | undefined) => (part === undefined ? fmt(total) : `${fmt(total)} (${fmt(part)})`);

function Figure({ label, value, title }: { label: string; value: ReactNode; title?: string }) {
  // Long values wrap instead of being cut: the cells are narrow on a phone and beside the charts.
  return (
    <div className="min-w-0" title={title}>
      <div className={`label ${title ? 'cursor-help underline decoration-dotted underline-offset-2' : ''}`}>{label}</div>
      <div className="font-mono text-sm break-words text-slate-100 tabular-nums">{value}</div>
    </div>
  );
}

/** An integer typed in a number box: empty while the box is empty (the API's default applies). */
const typedInt = (text: string): number | undefined => (text.trim() === '' ? undefined : Number(text));

interface Props {
  state: SimState | null;
  metrics: SimMetrics | null;
  onChanged: () => void;
  /** Why the last poll of the simulator's state failed (null: it answered): the figures shown are
   * those of `stateAt`, and are said to be. */
  pollError?: string | null;
  /** When the state shown was read (ms since epoch). */
  stateAt?: number | null;
  /** Asks before an action that discards something (the page's confirmation dialog). */
  confirm: (req: ConfirmRequest) => void;
  /** The simulator's state has not been read yet (the page just opened, or its polls fail since):
   * the panel does not say 'idle' and offers no Start (QA, real binary on a slow network: for
   * 3.5 s the panel said 'idle' and offered Start beside a run that was running). */
  unread?: boolean;
}

export function SimulationPanel({ state, metrics, onChanged, pollError = null, stateAt = null, confirm, unread = false }: Props) {
  const [scenarios, setScenarios] = useState<Scenario[]>([]);
  const [scenario, setScenario] = useState('normal');
  const [users, setUsers] = useState('1000');
  const [speed, setSpeed] = useState(60);
  const [maxSpeed, setMaxSpeed] = useState(false);
  const [seed, setSeed] = useState('42');
  const [duration, setDuration] = useState('');
  const [trigger, setTrigger] = useState('friday_night');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ActionError | null>(null);
  const speedTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const panel = useRef<HTMLElement>(null);
  const primary = useRef<HTMLButtonElement>(null);
  /** Until when the focus goes back to the main button if it falls to the page (0: not). */
  const refocusUntil = useRef(0);

  // The button pressed can go away with the run's change (Start gives way to Pause, Pause to
  // Resume) or be disabled by it (Stop once stopped, every button while a request is out): the
  // keyboard's focus fell to the page's start. For a few seconds after an action it comes back to
  // the main button (Start, Pause or Resume) as soon as that one can take it.
  useEffect(() => {
    if (!refocusUntil.current) return;
    if (Date.now() > refocusUntil.current) {
      refocusUntil.current = 0;
      return;
    }
    if (!focusLost()) {
      // Moved on elsewhere by the user: leave it there.
      if (!panel.current?.contains(document.activeElement)) refocusUntil.current = 0;
      return;
    }
    if (primary.current && !primary.current.disabled) primary.current.focus();
  });

  useEffect(() => {
    luna
      .scenarios()
      .then((r) => setScenarios(r.scenarios))
      .catch(() => setScenarios([]));
  }, []);

  const status: SimStatus = state?.status ?? 'idle';
  // QA (token refused, then the dialog cancelled): the panel went on saying 'running', its dot
  // pulsing, with the clock and the rates of its last answer, for as long as the polls failed.
  const stale = pollError !== null && state !== null;
  const active = status === 'running' || status === 'paused';
  const runSpeed = state?.speed;

  // While a run is active the slider shows (and sets) its speed, as the server has it: a run at
  // 0.5× reads 0.5×, not a rounded 1×.
  useEffect(() => {
    if (!active || speedTimer.current) return;
    if (runSpeed === 'max') setMaxSpeed(true);
    else if (typeof runSpeed === 'number') {
      setMaxSpeed(false);
      setSpeed(runSpeed);
    }
  }, [active, runSpeed]);

  const act = async (f: () => Promise<unknown>) => {
    if (panel.current?.contains(document.activeElement)) refocusUntil.current = Date.now() + 5000;
    setBusy(true);
    setError(null);
    try {
      await f();
      onChanged();
    } catch (e) {
      setError(actionError(e));
    } finally {
      setBusy(false);
    }
  };

  // Reset forgets the run: one running or paused is stopped and discarded, so it is asked first
  // (QA: Reset threw a running run away at a click). A stopped or finished one is only cleared.
  const reset = () => {
    if (!active) return void act(luna.simReset);
    confirm({
      title: 'Discard the simulation?',
      body: (
        <p>
          The {status} run is stopped and forgotten: its clock and metrics are cleared. What it wrote (bookings, plans,
          interactions) stays.
        </p>
      ),
      confirmLabel: 'Stop and reset',
      danger: true,
      action: async () => {
        await luna.simReset();
        onChanged();
      },
    });
  };

  const start = () =>
    act(() =>
      luna.simStart({
        scenario,
        users: typedInt(users),
        seed: typedInt(seed),
        speed: maxSpeed ? 'max' : speed,
        ...(duration.trim() ? { duration: duration.trim() } : {}),
      }),
    );

  const changeSpeed = (value: number | 'max') => {
    if (value === 'max') setMaxSpeed(true);
    else {
      setMaxSpeed(false);
      setSpeed(value);
    }
    if (!active) return;
    if (speedTimer.current) clearTimeout(speedTimer.current);
    speedTimer.current = setTimeout(() => {
      speedTimer.current = null;
      void act(() => luna.simSpeed(value));
    }, 300);
  };

  // Metrics without booking figures (a server from before them) leave those figures blank.
  const bookings = metrics?.bookings as SimMetrics['bookings'] | undefined;
  const name = (id: string) => scenarios.find((s) => s.id === id)?.name ?? id.replace(/_/g, ' ');

  return (
    <section ref={panel} className="card space-y-4" aria-label="simulation">
      <header className="flex items-center justify-between">
        <h2 className="card-title">Simulation</h2>
        <span className={`chip ${STATUS_STYLE[status]} ${stale ? STALE_DIM : ''}`} data-testid="sim-status" data-stale={stale}>
          {status === 'running' && !stale ? <span className="h-1.5 w-1.5 animate-pulse rounded-full bg-emerald-400" /> : null}
          {unread ? (pollError ? 'unknown' : 'reading…') : statusWords(status, state?.stop_reason)}
        </span>
      </header>
      {stale ? <StaleNote why={pollError} at={stateAt} testId="sim-stale" /> : null}

      <div className={`grid grid-cols-3 gap-x-3 gap-y-2.5 ${stale ? STALE_DIM : ''}`}>
        <Figure label="scenario" value={state && status !== 'idle' ? name(state.scenario) : '–'} />
        <Figure label="speed" value={runSpeed === 'max' ? 'max' : typeof runSpeed === 'number' ? `${runSpeed}×` : '–'} />
        <Figure label="sim clock" value={simClock(state?.simulation_time ?? null, state?.timezone)} />
        <Figure label="users" value={state ? state.active_users.toLocaleString('en-US') : '–'} />
        <Figure label="events" value={state ? fmt(state.events_generated) : '–'} />
        {/* The simulator's rate is over the last ten seconds it ran: a paused or stopped run keeps its last one, but acts no more. */}
        <Figure label="actions/s" value={metrics ? fmt(status === 'running' ? metrics.recent_actions_per_second : 0) : '–'} />
        <Figure label="bookings" value={state ? fmt(state.bookings_created) : '–'} />
        <Figure label="invites" value={state ? fmt(state.invites_sent) : '–'} />
        <Figure label="sim minutes" value={state ? fmt(state.ticks) : '–'} />
        {/* QA: '93 (0)' read as a contradiction without saying what else a venue refuses. */}
        <Figure
          label="refused (full)"
          title="Booking attempts a venue refused: closed at that time, full, or the party larger than the venue. In brackets: those refused as full, the only ones that propose alternatives."
          value={bookings ? withPart(bookings.refused, bookings.refused_full) : '–'}
        />
        <Figure label="tried instead" title="Refusals as full after which the user tried one of the alternatives proposed." value={bookings ? fmt(bookings.alternatives_tried) : '–'} />
        <Figure label="booked instead" title="Those alternatives that were booked." value={bookings ? fmt(bookings.alternatives_confirmed) : '–'} />
      </div>

      <div className="space-y-2">
        <div className="flex items-center justify-between">
          <label className="label" htmlFor="sim-speed">
            Speed {maxSpeed ? '(max)' : `${speed}× (simulated seconds per second)`}
          </label>
          <label className="flex items-center gap-1.5 text-xs text-slate-400">
            <input type="checkbox" checked={maxSpeed} onChange={(e) => changeSpeed(e.target.checked ? 'max' : speed)} />
            max
          </label>
        </div>
        {/* Positions are the speeds of SPEED_STOPS, 0.25× to 100×, the slow end given room;
            a run at a speed between stops (set through the API) sits at the nearest one. */}
        <input
          id="sim-speed"
          type="range"
          min={0}
          max={SPEED_STOPS.length - 1}
          step={1}
          value={maxSpeed ? SPEED_STOPS.length - 1 : positionOf(speed)}
          aria-valuetext={maxSpeed ? 'max' : `${speed}×`}
          disabled={maxSpeed}
          onChange={(e) => changeSpeed(speedAt(Number(e.target.value)))}
          className="w-full accent-sky-500"
        />
        {/* Marks under the track where a few speeds sit (the scale is not linear). */}
        <div className="relative mx-2 h-3 font-mono text-[10px] text-slate-500" aria-hidden data-testid="speed-marks">
          {[0.25, 1, 10, 100].map((s) => (
            <span key={s} className="absolute -translate-x-1/2" style={{ left: `${(positionOf(s) / (SPEED_STOPS.length - 1)) * 100}%` }}>
              {s}×
            </span>
          ))}
        </div>
      </div>

      {!active ? (
        <div className="grid grid-cols-2 gap-2.5">
          <label className="col-span-2 space-y-1">
            <span className="label">Scenario</span>
            <select className="input" value={scenario} onChange={(e) => setScenario(e.target.value)} aria-label="scenario">
              {(scenarios.length ? scenarios : [{ id: 'normal', name: 'Normal Day', description: '' }]).map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name}
                </option>
              ))}
            </select>
          </label>
          <label className="space-y-1">
            {/* QA (real binary, 300 users stored): 'Users 1000' was asked for and the run said 'users 300',
                as if the box had been ignored; the server takes at most this many of the stored users. */}
            <span className="label" title="At most this many of the stored users act (the first in id order); an empty database is first seeded with the demo city." data-testid="sim-users-label">
              Users (at most)
            </span>
            <input className="input" type="number" min={1} value={users} onChange={(e) => setUsers(e.target.value)} aria-label="users" />
          </label>
          <label className="space-y-1">
            <span className="label">Seed</span>
            <input className="input" type="number" min={0} value={seed} onChange={(e) => setSeed(e.target.value)} aria-label="seed" />
          </label>
          <label className="col-span-2 space-y-1">
            <span className="label">Duration (simulated, optional)</span>
            <input className="input" placeholder="until stopped, or e.g. 4h, 90m" value={duration} onChange={(e) => setDuration(e.target.value)} aria-label="duration" />
          </label>
        </div>
      ) : (
        <div className="flex items-end gap-2">
          <label className="flex-1 space-y-1">
            <span className="label">Trigger a scenario now</span>
            <select className="input" value={trigger} onChange={(e) => setTrigger(e.target.value)} aria-label="trigger scenario">
              {scenarios.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name}
                </option>
              ))}
            </select>
          </label>
          <button className="btn" disabled={busy} onClick={() => act(() => luna.simScenario(trigger))}>
            Trigger
          </button>
        </div>
      )}

      <div className="flex flex-wrap gap-2">
        {!active ? (
          <button ref={primary} className="btn btn-primary" disabled={busy || unread} onClick={start}>
            ▶ Start
          </button>
        ) : status === 'paused' ? (
          <button ref={primary} className="btn btn-primary" disabled={busy} onClick={() => act(luna.simResume)}>
            ▶ Resume
          </button>
        ) : (
          <button ref={primary} className="btn" disabled={busy} onClick={() => act(luna.simPause)}>
            ❚❚ Pause
          </button>
        )}
        <button className="btn" disabled={busy || !active} onClick={() => act(luna.simStop)}>
          ■ Stop
        </button>
        <button className="btn btn-ghost" disabled={busy || status === 'idle'} onClick={reset}>
          ↺ Reset
        </button>
      </div>
      {error && stillHolds(error, stateAt) ? <ErrorNote error={error} testId="sim-error-fields" className="text-xs" /> : null}
      {scenarios.find((s) => s.id === (active ? state?.scenario : scenario))?.description ? (
        <p className="text-xs text-slate-500">{scenarios.find((s) => s.id === (active ? state?.scenario : scenario))?.description}</p>
      ) : null}
    </section>
  );
}
