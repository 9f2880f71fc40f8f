import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { useState } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { Stats } from '../api/types';
import { json, mockFetch } from '../test/fetch';
import { DataPanel } from './DataPanel';
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
    const { calls } = mockFetch({ 'POST /api/v1/admin/data/seed': () => ({ success: true, seeded: { users: 40, venues: 20, interactions: 300 } }) });
    const changed = vi.fn();
    render(<Harness stats={empty} onChanged={changed} />);
    fireEvent.change(screen.getByLabelText('seed users'), { target: { value: '40' } });
    fireEvent.change(screen.getByLabelText('seed venues'), { target: { value: '20' } });
    fireEvent.click(screen.getByRole('button', { name: 'Seed demo data' }));
    expect(calls).toHaveLength(0);
    expect(screen.getByRole('dialog', { name: 'Seed the demo city?' })).toBeInTheDocument();
    fireEvent.click(screen.getByRole('button', { name: 'Seed' }));
    await screen.findByText('Seeded 40 users, 20 venues, 300 interactions.');
    expect(calls[0].body).toEqual({ users: 40, venues: 20, seed: 42, force: false });
    expect(changed).toHaveBeenCalled();
    expect(screen.queryByRole('dialog')).toBeNull();
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

  it('keeps the dialog open with the error when the action fails', async () => {
    mockFetch({ 'POST /api/v1/admin/data/seed': () => json({ error: { code: 'validation_failed', message: 'users must be between 1 and 20000' } }, 422) });
    render(<Harness stats={empty} onChanged={() => {}} />);
    fireEvent.click(screen.getByRole('button', { name: 'Seed demo data' }));
    fireEvent.click(screen.getByRole('button', { name: 'Seed' }));
    expect(await screen.findByText('users must be between 1 and 20000')).toBeInTheDocument();
    expect(screen.getByRole('dialog')).toBeInTheDocument();
  });

  it('cannot reset an empty database', () => {
    render(<Harness stats={empty} onChanged={() => {}} />);
    expect(screen.getByRole('button', { name: 'Reset data' })).toBeDisabled();
  });
});
