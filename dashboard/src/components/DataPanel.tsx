// Demo data: seed a generated city (sizes and seed), or delete everything; both behind a
// confirmation, since they rewrite the database.

import { useState } from 'react';

import { luna } from '../api/client';
import type { Stats } from '../api/types';
import type { ConfirmRequest } from './Dialogs';

interface Props {
  stats: Stats | null;
  confirm: (req: ConfirmRequest) => void;
  onChanged: () => void;
}

export function seedRequest(users: number, venues: number, seed: number, hasData: boolean, onDone: (m: string) => void): ConfirmRequest {
  return {
    title: hasData ? 'Replace the data with a new demo city?' : 'Seed the demo city?',
    body: (
      <>
        <p>
          Generates <b className="text-slate-100">{users.toLocaleString('en-US')} users</b> and{' '}
          <b className="text-slate-100">{venues.toLocaleString('en-US')} venues</b> with their friendships, interactions and plans
          (seed {seed}; the same seed gives the same city).
        </p>
        {hasData ? <p className="text-amber-300">The database has data: it is deleted first.</p> : null}
      </>
    ),
    confirmLabel: hasData ? 'Reset and seed' : 'Seed',
    danger: hasData,
    action: async () => {
      const r = await luna.seed({ users, venues, seed, force: hasData });
      const s = r.seeded as Record<string, number>;
      onDone(`Seeded ${s.users ?? users} users, ${s.venues ?? venues} venues, ${s.interactions ?? 0} interactions.`);
    },
  };
}

export function DataPanel({ stats, confirm, onChanged }: Props) {
  const [users, setUsers] = useState(300);
  const [venues, setVenues] = useState(150);
  const [seed, setSeed] = useState(42);
  const [message, setMessage] = useState<string | null>(null);
  const hasData = !!stats && (stats.users.total > 0 || stats.venues.total > 0);
  const done = (m: string) => {
    setMessage(m);
    onChanged();
  };

  return (
    <section className="card space-y-3" aria-label="demo data">
      <h2 className="card-title">Demo data</h2>
      <div className="grid grid-cols-3 gap-2">
        <label className="space-y-1">
          <span className="label">Users</span>
          <input className="input" type="number" min={1} max={20000} value={users} onChange={(e) => setUsers(Number(e.target.value))} aria-label="seed users" />
        </label>
        <label className="space-y-1">
          <span className="label">Venues</span>
          <input className="input" type="number" min={1} max={10000} value={venues} onChange={(e) => setVenues(Number(e.target.value))} aria-label="seed venues" />
        </label>
        <label className="space-y-1">
          <span className="label">Seed</span>
          <input className="input" type="number" min={0} value={seed} onChange={(e) => setSeed(Number(e.target.value))} aria-label="random seed" />
        </label>
      </div>
      <div className="flex flex-wrap gap-2">
        <button className="btn btn-primary" onClick={() => confirm(seedRequest(users, venues, seed, hasData, done))}>
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
