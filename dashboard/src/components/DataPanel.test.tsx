import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { useState } from 'react';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { Stats } from '../api/types';
import { json, mockFetch } from '../test/fetch';
import { DataPanel, SEED_LIMITS, utcInstant } from './DataPanel';
import { ConfirmDialog, type ConfirmRequest } from './Dialogs';

afterEach(() => vi.unstubAllGlobals());

function Harness({ stats, onChanged }: { stats: Stats | null; onChanged: () => void }) {
  const [req, setReq] = useState<ConfirmRequest | null>(null);
  return (
    <>
      <DataPanel stats={stats} confirm={setReq} onChanged={onChanged} />
      {req ? <ConfirmDialog request={req} onDone={() => setReq(null)} /> : null}
    </>
  );
}

const withData = { users: { total: 5 }, venues: { total: 2 } } as Stats;
const empty = { users: { total: 0 }, venues: { total: 0 } } as Stats;

describe('DataPanel', () => {
  it('seeds only after confirmation, with the sizes given', async () => {
    const { calls } = mockFetch({ 'POST /api/v1/admin/data/seed': () => ({ success: true, seeded: { users: 40, venues: 20, interactions: 5732 } }) });
    const changed = vi.fn();
    render(<Harness stats={empty} onChanged={changed} />);
    fireEvent.change(screen.getByLabelText('seed users'), { target: { value: '40' } });
    fireEvent.change(screen.getByLabelText('seed venues'), { target: { value: '20' } });
    fireEvent.click(screen.getByRole('button', { name: 'Seed demo data' }));
    expect(calls).toHaveLength(0);
    expect(screen.getByRole('dialog', { name: 'Seed the demo city?' })).toBeInTheDocument();
    fireEvent.click(screen.getByRole('button', { name: 'Seed' }));
    // Counts read as everywhere else on the page (QA: '5732 interactions' beside '5,732').
    await screen.findByText('Seeded 40 users, 20 venues, 5,732 interactions.');
    expect(calls[0].body).toEqual({ users: 40, venues: 20, seed: 42, force: false });
    expect(changed).toHaveBeenCalled();
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('lets a box be emptied and retyped, an empty one standing for its default, not 0', async () => {
    // QA (real binary, keyboard): emptying 'Users' put '0' back at once, typing 50 then gave
    // '050', and seeding with the box empty asked to generate 0 users, deleting the city's people.
    const { calls } = mockFetch({ 'POST /api/v1/admin/data/seed': () => ({ success: true, seeded: {} }) });
    render(<Harness stats={withData} onChanged={() => {}} />);
    const box = screen.getByLabelText('seed users');
    fireEvent.change(box, { target: { value: '' } });
    expect(box).toHaveValue(null);
    expect(box).toHaveAttribute('placeholder', '300');
    fireEvent.click(screen.getByRole('button', { name: 'Seed demo data' }));
    expect(screen.getByRole('dialog')).toHaveTextContent('Generates 300 users and 150 venues');
    fireEvent.click(screen.getByRole('button', { name: 'Reset and seed' }));
    await waitFor(() => expect(calls).toHaveLength(1));
    expect(calls[0].body).toEqual({ users: 300, venues: 150, seed: 42, force: true });
    // 0 typed is 0: a city of venues alone, as the API and `luna seed` take it, so the box's
    // range says so (QA: it said min 1 while the API seeds 0 users).
    expect(box).toHaveAttribute('min', '0');
    expect(box).toHaveAttribute('max', '20000');
    expect(screen.getByLabelText('seed venues')).toHaveAttribute('min', '1');
    fireEvent.change(box, { target: { value: '0' } });
    fireEvent.click(screen.getByRole('button', { name: 'Seed demo data' }));
    expect(screen.getByRole('dialog')).toHaveTextContent('Generates 0 users');
  });

  it('forces a reseed of a database with data, and says so', async () => {
    const { calls } = mockFetch({ 'POST /api/v1/admin/data/seed': () => ({ success: true, seeded: {} }) });
    render(<Harness stats={withData} onChanged={() => {}} />);
    fireEvent.click(screen.getByRole('button', { name: 'Seed demo data' }));
    expect(screen.getByText('The database has data: it is deleted first.')).toBeInTheDocument();
    fireEvent.click(screen.getByRole('button', { name: 'Reset and seed' }));
    await waitFor(() => expect(calls).toHaveLength(1));
    expect(calls[0].body).toMatchObject({ force: true });
  });

  it('resets only after confirmation; cancelling does nothing', async () => {
    const { calls } = mockFetch({ 'POST /api/v1/admin/data/reset': () => ({ success: true, message: 'done' }) });
    render(<Harness stats={withData} onChanged={() => {}} />);
    fireEvent.click(screen.getByRole('button', { name: 'Reset data' }));
    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(calls).toHaveLength(0);
    fireEvent.click(screen.getByRole('button', { name: 'Reset data' }));
    fireEvent.click(screen.getByRole('button', { name: 'Delete everything' }));
    await screen.findByText('All data deleted.');
    expect(calls.map((c) => c.url)).toEqual(['/api/v1/admin/data/reset']);
  });

  it('keeps the dialog open with the error, naming each invalid field, when the action fails', async () => {
    // What the server sends: the fields at fault are in `details`, not the message.
    const refusal = { code: 'validation_failed', message: 'the request has invalid fields', details: [{ field: 'users', message: 'must be between 0 and 20000' }] };
    mockFetch({ 'POST /api/v1/admin/data/seed': () => json({ error: refusal }, 422) });
    render(<Harness stats={empty} onChanged={() => {}} />);
    // A size the form takes and this server refuses (one whose limits differ).
    fireEvent.change(screen.getByLabelText('seed users'), { target: { value: '15000' } });
    fireEvent.click(screen.getByRole('button', { name: 'Seed demo data' }));
    fireEvent.click(screen.getByRole('button', { name: 'Seed' }));
    const fields = await screen.findByTestId('confirm-error-fields');
    expect(within(fields).getAllByRole('listitem').map((li) => li.textContent)).toEqual(['users: must be between 0 and 20000']);
    expect(screen.getByRole('alert')).toHaveTextContent('the request has invalid fields');
    expect(screen.getByRole('dialog')).toBeInTheDocument();
  });

  it('sends the history end as `as_of` in UTC only when it is filled', async () => {
    const { calls } = mockFetch({ 'POST /api/v1/admin/data/seed': () => ({ success: true, seeded: {} }) });
    render(<Harness stats={empty} onChanged={() => {}} />);
    const end = screen.getByLabelText('history ends at');
    expect(end).toHaveValue('');
    fireEvent.click(screen.getByRole('button', { name: 'Seed demo data' }));
    fireEvent.click(screen.getByRole('button', { name: 'Seed' }));
    await waitFor(() => expect(calls).toHaveLength(1));
    expect(calls[0].body).not.toHaveProperty('as_of');

    // The box holds the browser's local time; the API is sent the same instant in UTC.
    const utc = new Date(2026, 10, 20, 21, 30).toISOString().replace('.000Z', 'Z');
    fireEvent.change(end, { target: { value: '2026-11-20T21:30' } });
    expect(screen.getByTestId('seed-as-of-hint')).toHaveTextContent(`Sent in UTC: ${utc}.`);
    fireEvent.click(screen.getByRole('button', { name: 'Seed demo data' }));
    expect(within(screen.getByRole('dialog')).getByText(utc.replace('T', ' ').replace('Z', ' UTC'))).toBeInTheDocument();
    fireEvent.click(screen.getByRole('button', { name: 'Seed' }));
    await waitFor(() => expect(calls).toHaveLength(2));
    expect(calls[1].body).toEqual({ users: 300, venues: 150, seed: 42, force: false, as_of: utc });

    // Cleared again, it is left out again.
    fireEvent.change(end, { target: { value: '' } });
    fireEvent.click(screen.getByRole('button', { name: 'Seed demo data' }));
    fireEvent.click(screen.getByRole('button', { name: 'Seed' }));
    await waitFor(() => expect(calls).toHaveLength(3));
    expect(calls[2].body).toEqual({ users: 300, venues: 150, seed: 42, force: false });
  });

  it("shows the server's refusal of a history end that lies ahead", async () => {
    const refusal = {
      code: 'validation_failed',
      message: 'the request has invalid fields',
      details: [{ field: 'as_of', message: 'must lie between the year 2000 and now (2026-12-03T15:00:00.123456789+00:00)' }],
    };
    mockFetch({ 'POST /api/v1/admin/data/seed': () => json({ error: refusal }, 422) });
    const changed = vi.fn();
    render(<Harness stats={empty} onChanged={changed} />);
    fireEvent.change(screen.getByLabelText('history ends at'), { target: { value: '2030-01-01T00:00' } });
    fireEvent.click(screen.getByRole('button', { name: 'Seed demo data' }));
    fireEvent.click(screen.getByRole('button', { name: 'Seed' }));
    const fields = await screen.findByTestId('confirm-error-fields');
    expect(within(fields).getAllByRole('listitem').map((li) => li.textContent)).toEqual([
      'as_of: must lie between the year 2000 and now (2026-12-03T15:00:00.123456789+00:00)',
    ]);
    expect(screen.getByRole('dialog')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Seed' })).toBeEnabled();
    expect(changed).not.toHaveBeenCalled();
    expect(screen.queryByTestId('data-message')).toBeNull();
  });

  it('lists a conflict once: its field repeats its message', async () => {
    const message = 'the database already has data; send {"force": true} to reset and reseed it';
    mockFetch({ 'POST /api/v1/admin/data/seed': () => json({ error: { code: 'conflict', message, details: [{ field: 'force', message }] } }, 409) });
    render(<Harness stats={empty} onChanged={() => {}} />);
    fireEvent.click(screen.getByRole('button', { name: 'Seed demo data' }));
    fireEvent.click(screen.getByRole('button', { name: 'Seed' }));
    expect(await screen.findByRole('alert')).toHaveTextContent(message);
    expect(screen.queryByTestId('confirm-error-fields')).toBeNull();
  });

  it('reads a date-time box as local time and gives it in UTC to the second; nothing while empty', () => {
    expect(utcInstant('')).toBeUndefined();
    expect(utcInstant('not a time')).toBeUndefined();
    expect(utcInstant('2026-11-20T12:00')).toBe(new Date(2026, 10, 20, 12, 0).toISOString().replace('.000Z', 'Z'));
    expect(utcInstant('2026-11-20T12:00')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:00Z$/);
  });

  it('refuses in the form what the API refuses, saying the range, instead of repeating it back in the dialog', () => {
    // QA on the real binary: 'Generates -1 users', 'seed 1e+30' in the dialog, before the
    // server's 422.
    const { calls } = mockFetch({});
    render(<Harness stats={withData} onChanged={() => {}} />);
    const seedButton = screen.getByRole('button', { name: 'Seed demo data' });
    for (const [box, text, says] of [
      ['seed users', '-1', 'Users must be a whole number from 0 to 20,000.'],
      ['seed users', '20001', 'Users must be a whole number from 0 to 20,000.'],
      ['seed users', '2.5', 'Users must be a whole number from 0 to 20,000.'],
      ['seed venues', '0', 'Venues must be a whole number from 1 to 10,000.'],
      ['random seed', '1e30', 'Seed must be a whole number from 0 to 9,007,199,254,740,991.'],
      ['random seed', '-3', 'Seed must be a whole number from 0 to 9,007,199,254,740,991.'],
    ] as const) {
      const input = screen.getByLabelText(box);
      fireEvent.change(input, { target: { value: text } });
      expect(screen.getByTestId('seed-error')).toHaveTextContent(says);
      expect(input).toHaveAttribute('aria-invalid', 'true');
      expect(seedButton).toBeDisabled();
      fireEvent.click(seedButton);
      expect(screen.queryByRole('dialog')).toBeNull();
      fireEvent.change(input, { target: { value: '' } });
      expect(screen.queryByTestId('seed-error')).toBeNull();
      expect(seedButton).toBeEnabled();
    }
    // The edges are taken.
    fireEvent.change(screen.getByLabelText('seed users'), { target: { value: '20000' } });
    fireEvent.change(screen.getByLabelText('seed venues'), { target: { value: '1' } });
    fireEvent.change(screen.getByLabelText('random seed'), { target: { value: '0' } });
    fireEvent.click(seedButton);
    expect(screen.getByRole('dialog')).toHaveTextContent('Generates 20,000 users and 1 venues');
    expect(calls).toHaveLength(0);
  });

  it('takes the ranges the API enforces and documents (api::ranges)', () => {
    // One copy here, checked against the server's: a change there fails this test.
    const ranges = readFileSync(resolve(process.cwd(), '../crates/api/src/ranges.rs'), 'utf8');
    const range = (name: string) => {
      const m = ranges.match(new RegExp(`pub const ${name}: Whole = Whole::new\\(([\\d_]+), ([\\d_]+)\\);`));
      expect(m, name).not.toBeNull();
      return { min: Number(m![1].replace(/_/g, '')), max: Number(m![2].replace(/_/g, '')) };
    };
    expect(range('SEED_USERS')).toEqual({ min: SEED_LIMITS.users.min, max: SEED_LIMITS.users.max });
    expect(range('SEED_VENUES')).toEqual({ min: SEED_LIMITS.venues.min, max: SEED_LIMITS.venues.max });
  });

  it('offers no seed until the stats say whether the database has data', () => {
    // QA (real binary, a slow network): a click before the stats arrived asked 'Seed the demo
    // city?' of a city with data; the server refused (409) and said to send {"force": true}.
    const { rerender } = render(<Harness stats={null} onChanged={() => {}} />);
    expect(screen.getByRole('button', { name: 'Seed demo data' })).toBeDisabled();
    rerender(<Harness stats={withData} onChanged={() => {}} />);
    fireEvent.click(screen.getByRole('button', { name: 'Seed demo data' }));
    expect(screen.getByRole('dialog', { name: 'Replace the data with a new demo city?' })).toBeInTheDocument();
  });

  it('cannot reset an empty database', () => {
    render(<Harness stats={empty} onChanged={() => {}} />);
    expect(screen.getByRole('button', { name: 'Reset data' })).toBeDisabled();
  });
});
