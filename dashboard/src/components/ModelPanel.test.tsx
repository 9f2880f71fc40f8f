import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { ModelStatus, TrainingState } from '../api/types';
import { json, mockFetch } from '../test/fetch';
import { ModelPanel, POLL_IDLE_MS, POLL_RETRY_MS } from './ModelPanel';

afterEach(() => vi.unstubAllGlobals());

const idle: TrainingState = { state: 'idle', running: null, last: null };
const trained: TrainingState = {
  state: 'idle',
  running: null,
  last: {
    outcome: 'trained',
    epochs: 20,
    factors: 32,
    seed: 42,
    started_at: '2026-12-05T14:42:55.054032Z',
    finished_at: '2026-12-05T14:42:55.317628Z',
    elapsed_ms: 263,
    fit: { users_known: 300, users_held: 300, venues_known: 150, venues_held: 150 },
    path: '/data/model.bin',
    error: null,
  },
};
const running: TrainingState = {
  state: 'training',
  running: { epoch: 3, epochs: 20, factors: 32, seed: 42, loss: 0.4123, started_at: '2026-12-05T14:43:43.486526Z' },
  last: null,
};
const STALE_WARNING =
  'the learned model knows none of the 300 users and none of the 150 venues held here: it was trained on other data (or before a reset or reseed), so its signals add nothing and the learned ranker ranks by popularity';

function status(over: Partial<ModelStatus>): ModelStatus {
  return {
    path: '/data/model.bin',
    file_exists: true,
    loaded: true,
    fit: { users_known: 300, users_held: 300, venues_known: 150, venues_held: 150 },
    user_venue_pairs: 2091,
    warning: null,
    training: idle,
    ...over,
  };
}

const stale = status({ fit: { users_known: 0, users_held: 300, venues_known: 0, venues_held: 150 }, warning: STALE_WARNING });

describe('ModelPanel', () => {
  it('warns when the model knows none of the users held, trains on a click and shows the epochs', async () => {
    // QA (real binary): after a reset and a reseed the model knew none of the new users; the
    // dashboard said nothing and only a shell could fix it.
    let answers = [stale, status({ ...stale, training: running }), status({ training: trained })];
    const { calls } = mockFetch({
      'GET /api/v1/admin/model': () => (answers.length > 1 ? answers.shift() : answers[0]),
      'POST /api/v1/admin/model/train': () => json({ ...running, running: { ...running.running!, epoch: 0, loss: null } }, 202),
    });
    render(<ModelPanel />);
    expect(await screen.findByTestId('model-warning')).toHaveTextContent('knows none of the 300 users and none of the 150 venues');
    expect(screen.getByTestId('model-fit')).toHaveTextContent('Knows 0 of 300 users and 0 of 150 venues.');
    fireEvent.click(screen.getByRole('button', { name: 'Train the model' }));
    await waitFor(() => expect(calls.some((c) => c.method === 'POST')).toBe(true));
    expect(calls.find((c) => c.method === 'POST')!.body).toEqual({});
    // The state read after the click: epoch 3 of 20, the button held while it runs.
    expect(await screen.findByText(/Training: epoch 3 of 20, loss 0\.4123/)).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Training…' })).toBeDisabled();
    expect(screen.getByLabelText('training progress')).toHaveAttribute('value', '3');
    answers = [status({ training: trained })];
    // Read again every second while it trains: the trained model's fit, no warning.
    expect(await screen.findByText('Knows 300 of 300 users and 150 of 150 venues.', {}, { timeout: 3000 })).toBeInTheDocument();
    expect(screen.queryByTestId('model-warning')).toBeNull();
    expect(screen.getByTestId('model-last')).toHaveTextContent('Last trained at 2026-12-05 14:42:55 UTC in 0.3 s (20 epochs, 32 factors).');
    expect(screen.getByRole('button', { name: 'Train the model' })).toBeEnabled();
  });

  it('shows the refusal of a training already running', async () => {
    mockFetch({
      'GET /api/v1/admin/model': () => status({}),
      'POST /api/v1/admin/model/train': () =>
        json({ error: { code: 'conflict', message: 'a training is already running (epoch 4 of 20, started 2026-12-05T14:43:45Z); wait for it to end', details: null } }, 409),
    });
    render(<ModelPanel />);
    fireEvent.click(await screen.findByRole('button', { name: 'Train the model' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('a training is already running (epoch 4 of 20');
  });

  it('says when no model is loaded, and offers no training without interactions', async () => {
    mockFetch({ 'GET /api/v1/admin/model': () => status({ loaded: false, file_exists: false, user_venue_pairs: 0, fit: { users_known: 0, users_held: 0, venues_known: 0, venues_held: 0 } }) });
    render(<ModelPanel />);
    expect(await screen.findByText('No learned model loaded.')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Train the model' })).toBeDisabled();
    expect(screen.getByText('No interactions to learn from yet: seed data first.')).toBeInTheDocument();
  });

  it('shows a failed training and its error', async () => {
    const failed: TrainingState = { ...trained, last: { ...trained.last!, outcome: 'failed', fit: null, error: 'writing /data/model.bin: No space left on device' } };
    mockFetch({ 'GET /api/v1/admin/model': () => status({ training: failed }) });
    render(<ModelPanel />);
    expect(await screen.findByTestId('model-last')).toHaveTextContent('Last training failed at 2026-12-05 14:42:55 UTC: writing /data/model.bin: No space left on device');
  });

  it('reads the state again when the data changed', async () => {
    const { calls } = mockFetch({ 'GET /api/v1/admin/model': () => status({}) });
    const { rerender } = render(<ModelPanel refreshKey={0} />);
    await screen.findByTestId('model-fit');
    const before = calls.length;
    rerender(<ModelPanel refreshKey={1} />);
    await waitFor(() => expect(calls.length).toBe(before + 1));
  });
  it('says its figures are old while the state cannot be read, and clears it at the next answer', async () => {
    // Review of 631d873: with the server gone the card went on saying 'Training: epoch 3 of
    // 20' at full brightness, the button disabled, with no word that nothing was read any more
    // (the stats cards and the simulation panel say so since e971d91 and 816d051).
    let down = false;
    mockFetch({
      'GET /api/v1/admin/model': () =>
        down ? json({ error: { code: 'unavailable', message: 'the server is gone' } }, 503) : status({ training: running }),
    });
    const { rerender } = render(<ModelPanel refreshKey={0} />);
    expect(await screen.findByTestId('model-progress')).toHaveTextContent('epoch 3 of 20');
    expect(screen.queryByTestId('model-stale')).toBeNull();
    down = true;
    rerender(<ModelPanel refreshKey={1} />);
    expect(await screen.findByTestId('model-stale')).toHaveTextContent(/^Not updated since \d\d:\d\d:\d\d: .+\. The figures below are the last ones read\.$/);
    expect(screen.getByTestId('model-progress')).toHaveClass('opacity-60');
    expect(screen.getByTestId('model-fit')).toHaveAttribute('data-stale', 'true');
    down = false;
    rerender(<ModelPanel refreshKey={2} />);
    await waitFor(() => expect(screen.queryByTestId('model-stale')).toBeNull());
    expect(screen.getByTestId('model-progress')).not.toHaveClass('opacity-60');
  });

  it('stops saying the server cannot be reached once the state is read again', async () => {
    // QA (real binary restarted under the page): Train clicked while the server was down said
    // 'The Luna server cannot be reached' under the card for as long as the page stayed open.
    let down = false;
    mockFetch({
      'GET /api/v1/admin/model': () => {
        if (down) throw new TypeError('Failed to fetch');
        return status({});
      },
      'POST /api/v1/admin/model/train': () => {
        throw new TypeError('Failed to fetch');
      },
    });
    const { rerender } = render(<ModelPanel refreshKey={0} />);
    const train = await screen.findByRole('button', { name: 'Train the model' });
    down = true;
    fireEvent.click(train);
    expect(await screen.findByTestId('model-stale')).toBeInTheDocument();
    expect(screen.getByText('The Luna server cannot be reached')).toBeInTheDocument();
    down = false;
    await new Promise((r) => setTimeout(r, 5));
    rerender(<ModelPanel refreshKey={1} />);
    await waitFor(() => expect(screen.queryByTestId('model-stale')).toBeNull());
    await waitFor(() => expect(screen.queryByText('The Luna server cannot be reached')).toBeNull());
  });

  it('reads the state again within a few seconds while it cannot be read, not every 15 s', async () => {
    // QA (real binary restarted under the page): 'Not updated since' stayed up to 15 s after the
    // server was back, the stats and the simulation panel live again within a second or two.
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      let down = false;
      mockFetch({
        'GET /api/v1/admin/model': () => {
          if (down) throw new TypeError('Failed to fetch');
          return status({});
        },
      });
      const { rerender } = render(<ModelPanel refreshKey={0} />);
      await screen.findByTestId('model-fit');
      down = true;
      rerender(<ModelPanel refreshKey={1} />);
      expect(await screen.findByTestId('model-stale')).toBeInTheDocument();
      down = false;
      await vi.advanceTimersByTimeAsync(POLL_RETRY_MS + 100);
      await waitFor(() => expect(screen.queryByTestId('model-stale')).toBeNull());
      expect(POLL_RETRY_MS).toBeLessThan(POLL_IDLE_MS / 2);
    } finally {
      vi.useRealTimers();
    }
  });
});
