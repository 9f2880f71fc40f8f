// Demo data: seed a generated city (sizes, seed and, optionally, when its history ends), or
// delete everything; both behind a confirmation, since they rewrite the database.

import { useState } from 'react';

import { luna } from '../api/client';
import type { Stats } from '../api/types';
import type { ConfirmRequest } from './Dialogs';

interface Props {
  stats: Stats | null;
  confirm: (req: ConfirmRequest) => void;
  onChanged: () => void;
}

/**
 * The instant a `datetime-local` box holds (the browser's local time) in UTC, RFC 3339 to the
 * second, as the API's `as_of` takes it; `undefined` while the box is empty or incomplete.
 */
export function utcInstant(local: string): string | undefined {
  if (!local.trim()) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A count as the page writes them (5,732). */
const count = (n: number) => n.toLocaleString('en-US');

/** `asOf`: the end of the generated history (RFC 3339, UTC); omitted, the server's default (the current hour). */
export function seedRequest(
  users: number,
  venues: number,
  seed: number,
  hasData: boolean,
  onDone: (m: string) => void,
  asOf?: string,
): ConfirmRequest {
  return {
    title: hasData ? 'Replace the data with a new demo city?' : 'Seed the demo city?',
    body: (
      <>
        <p>
          Generates <b className="text-slate-100">{users.toLocaleString('en-US')} users</b> and{' '}
          <b className="text-slate-100">{venues.toLocaleString('en-US')} venues</b> with their friendships, interactions and plans
          (seed {seed}; {asOf ? 'the same seed and history end give' : 'the same seed gives'} the same city).
        </p>
        {asOf ? (
          <p>
            The history ends at <b className="text-slate-100">{asOf.replace('T', ' ').replace('Z', ' UTC')}</b>.
          </p>
        ) : null}
        {hasData ? <p className="text-amber-300">The database has data: it is deleted first.</p> : null}
      </>
    ),
    confirmLabel: hasData ? 'Reset and seed' : 'Seed',
    danger: hasData,
    action: async () => {
      const r = await luna.seed({ users, venues, seed, force: hasData, ...(asOf ? { as_of: asOf } : {}) });
      const s = r.seeded as Record<string, number>;
      onDone(`Seeded ${count(s.users ?? users)} users, ${count(s.venues ?? venues)} venues, ${count(s.interactions ?? 0)} interactions.`);
    },
  };
}

/** The sizes and seed a box left empty stands for (as the header's empty-database button seeds). */
export const SEED_DEFAULTS = { users: 300, venues: 150, seed: 42 } as const;

/**
 * What each box takes: the ranges `POST /api/v1/admin/data/seed` documents (its OpenAPI
 * `SeedRequest`, from `api::ranges` SEED_USERS and SEED_VENUES; a test reads them there), one
 * copy for the boxes' min and max, their titles and the form's check. The seed is any whole
 * number from 0 up to the largest a JSON number carries exactly here (the API takes a u64).
 */
export const SEED_LIMITS = {
  users: { min: 0, max: 20_000, label: 'Users' },
  venues: { min: 1, max: 10_000, label: 'Venues' },
  seed: { min: 0, max: Number.MAX_SAFE_INTEGER, label: 'Seed' },
} as const;

/** Why a box's text is not a value the API takes (null: it is, or it is empty, the default). */
export function seedFieldError(field: keyof typeof SEED_LIMITS, text: string): string | null {
  if (text.trim() === '') return null;
  const { min, max, label } = SEED_LIMITS[field];
  const n = Number(text);
  return Number.isInteger(n) && n >= min && n <= max ? null : `${label} must be a whole number from ${count(min)} to ${count(max)}.`;
}

/** A number box's text as a number; empty: `fallback`. */
const typed = (text: string, fallback: number) => (text.trim() === '' ? fallback : Number(text));

/** A box of the seed form: its range from SEED_LIMITS, its default as placeholder. */
function SeedBox(p: { field: keyof typeof SEED_LIMITS; label: string; text: string; onText: (t: string) => void; invalid: boolean; note?: string; titled?: boolean }) {
  const { min, max, label } = SEED_LIMITS[p.field];
  return (
    <label className="space-y-1">
      <span className="label">{label}</span>
      <input
        className="input"
        type="number"
        min={min}
        max={max}
        step={1}
        title={p.titled === false ? undefined : `${count(min)} to ${count(max)}${p.note ?? ''}`}
        placeholder={String(SEED_DEFAULTS[p.field])}
        value={p.text}
        onChange={(e) => p.onText(e.target.value)}
        aria-label={p.label}
        aria-invalid={p.invalid || undefined}
        aria-describedby="seed-errors"
      />
    </label>
  );
}

export function DataPanel({ stats, confirm, onChanged }: Props) {
  // The boxes' text, not numbers (QA: a number state made an emptied box read '0' at once, so
  // typing 50 gave '050', and a box left empty seeded 0 users, deleting the city's people).
  const [usersText, setUsers] = useState(String(SEED_DEFAULTS.users));
  const [venuesText, setVenues] = useState(String(SEED_DEFAULTS.venues));
  const [seedText, setSeed] = useState(String(SEED_DEFAULTS.seed));
  const users = typed(usersText, SEED_DEFAULTS.users);
  const venues = typed(venuesText, SEED_DEFAULTS.venues);
  const seed = typed(seedText, SEED_DEFAULTS.seed);
  // The box's local date and time; empty: the server's default.
  const [historyEnd, setHistoryEnd] = useState('');
  const asOf = utcInstant(historyEnd);
  const [message, setMessage] = useState<string | null>(null);
  // Checked here, not repeated back by the dialog before the server refuses it (QA: 'Generates
  // -1 users', 'seed 1e+30').
  const errors = ([
    ['users', usersText],
    ['venues', venuesText],
    ['seed', seedText],
  ] as const).flatMap(([f, t]) => {
    const e = seedFieldError(f, t);
    return e ? [{ field: f, message: e }] : [];
  });
  const invalid = (f: keyof typeof SEED_LIMITS) => errors.some((e) => e.field === f);
  const hasData = !!stats && (stats.users.total > 0 || stats.venues.total > 0);
  const done = (m: string) => {
    setMessage(m);
    onChanged();
  };

  return (
    <section className="card space-y-3" aria-label="demo data">
      <h2 className="card-title">Demo data</h2>
      <div className="grid grid-cols-3 gap-2">
        <SeedBox field="users" label="seed users" text={usersText} onText={setUsers} invalid={invalid('users')} note="; 0 seeds venues alone" />
        <SeedBox field="venues" label="seed venues" text={venuesText} onText={setVenues} invalid={invalid('venues')} />
        <SeedBox field="seed" label="random seed" text={seedText} onText={setSeed} invalid={invalid('seed')} titled={false} />
        <div className="col-span-3 empty:hidden" id="seed-errors" role="status">
          {errors.map((e) => (
            <p key={e.field} className="text-xs text-rose-300" data-testid="seed-error">
              {e.message}
            </p>
          ))}
        </div>
        <label className="col-span-3 space-y-1">
          <span className="label">History ends at (optional)</span>
          <input
            className="input"
            type="datetime-local"
            min="2000-01-01T00:00"
            value={historyEnd}
            onChange={(e) => setHistoryEnd(e.target.value)}
            aria-label="history ends at"
            aria-describedby="seed-as-of-hint"
          />
          <span className="block text-xs text-slate-500" id="seed-as-of-hint" data-testid="seed-as-of-hint">
            {asOf
              ? `Sent in UTC: ${asOf}. It must lie between the year 2000 and now.`
              : 'Your local time, sent in UTC; from the year 2000 to now. Empty: the current hour. Pin it, with the seed, to reproduce a city.'}
          </span>
        </label>
      </div>
      <div className="flex flex-wrap gap-2">
        {/* Not before the stats are read: whether the database has data decides a forced reseed
            (QA, real binary on a slow network: a click before they arrived asked 'Seed the demo
            city?' of a city with data, and the server's 409 told the operator to send
            {"force": true}, which the dialog cannot). */}
        <button
          className="btn btn-primary"
          disabled={!stats || errors.length > 0}
          title={!stats ? 'Reading whether the database has data…' : errors.length ? errors.map((e) => e.message).join(' ') : undefined}
          onClick={() => confirm(seedRequest(users, venues, seed, hasData, done, asOf))}
        >
          Seed demo data
        </button>
        <button
          className="btn btn-danger"
          disabled={!hasData}
          onClick={() =>
            confirm({
              title: 'Delete all data?',
              body: <p>Every user, venue, interaction, friendship, plan and booking is deleted. This cannot be undone.</p>,
              confirmLabel: 'Delete everything',
              danger: true,
              action: async () => {
                await luna.reset();
                done('All data deleted.');
              },
            })
          }
        >
          Reset data
        </button>
      </div>
      {message ? (
        <p className="text-xs text-emerald-300" data-testid="data-message">
          {message}
        </p>
      ) : null}
    </section>
  );
}
