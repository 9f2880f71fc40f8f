// The learned model (BPR) the server ranks with, beside the demo data panel: how much of the data held it knows, a warning
// when the learned ranker cannot work (after a reset and reseed it knows none of the new users,
// and ranks by popularity), the training under way, epoch by epoch, and a button to train it
// in the server (QA: the operator could only see the mismatch in the server's log and fix it
// from a shell).

import { useCallback, useEffect, useState } from 'react';

import { luna } from '../api/client';
import type { ModelStatus, TrainingResult } from '../api/types';
import { ErrorNote, actionError, stillHolds, type ActionError } from './ErrorNote';
import { STALE_DIM, StaleNote } from './Stale';

/** How often the state is read: often while a training runs, seldom otherwise. */
export const POLL_TRAINING_MS = 1000;
export const POLL_IDLE_MS = 15000;
/** While the last read failed: the card says the server is back within a few seconds, as the
 * stats cards do (QA, real binary restarted: its 'Not updated since' stayed up to 15 s after). */
export const POLL_RETRY_MS = 3000;

const count = (n: number) => n.toLocaleString('en-US');
const when = (t: string) => t.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC');

/** One line on how the last training ended. */
export function lastTraining(last: TrainingResult): string {
  const secs = (last.elapsed_ms / 1000).toFixed(1);
  if (last.outcome === 'failed') return `Last training failed at ${when(last.finished_at)}: ${last.error ?? 'unknown error'}`;
  return `Last trained at ${when(last.finished_at)} in ${secs} s (${last.epochs} epochs, ${last.factors} factors).`;
}

/** `refreshKey` changes when the data did (a seed, a reset): the state is read again at once. */
export function ModelPanel({ refreshKey = 0 }: { refreshKey?: number }) {
  const [status, setStatus] = useState<ModelStatus | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [refusal, setRefusal] = useState<ActionError | null>(null);
  const [starting, setStarting] = useState(false);
  // When the state on view was read: said, with why, while it cannot be read again.
  const [readAt, setReadAt] = useState<number | null>(null);

  const load = useCallback(async () => {
    try {
      setStatus(await luna.model());
      setReadAt(Date.now());
      setLoadError(null);
    } catch (e) {
      setLoadError(e instanceof Error ? e.message : String(e));
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load, refreshKey]);

  const training = status?.training.state === 'training';
  const failing = loadError !== null;
  useEffect(() => {
    const t = setInterval(() => void load(), training ? POLL_TRAINING_MS : failing ? POLL_RETRY_MS : POLL_IDLE_MS);
    return () => clearInterval(t);
  }, [load, training, failing]);

  const train = async () => {
    setStarting(true);
    setRefusal(null);
    try {
      const state = await luna.trainModel();
      setStatus((s) => (s ? { ...s, training: state } : s));
    } catch (e) {
      setRefusal(actionError(e));
    } finally {
      setStarting(false);
    }
    void load();
  };

  const run = status?.training.running ?? null;
  const last = status?.training.last ?? null;
  const nothingToLearn = !!status && status.user_venue_pairs === 0;
  const fit = status?.fit;
  // The last answer stays on view while the polls fail (the server gone, the token refused),
  // dimmed under a note, as the stats cards and the simulation panel do: a training shown
  // 'epoch 3 of 20' must not look live when nothing is read any more.
  const stale = !!status && !!loadError;

  return (
    <section className="card space-y-2" aria-label="learned model">
      <h2 className="card-title">Learned model</h2>
      {loadError && !status ? (
        <p className="text-xs text-slate-500" data-testid="model-unavailable">
          Model state unavailable: {loadError}
        </p>
      ) : null}
      {stale ? <StaleNote why={loadError ?? ''} at={readAt} testId="model-stale" /> : null}
      {status && fit ? (
        <p className={`text-xs text-slate-300 ${stale ? STALE_DIM : ''}`} data-testid="model-fit" data-stale={stale}>
          {status.loaded
            ? `Knows ${count(fit.users_known)} of ${count(fit.users_held)} users and ${count(fit.venues_known)} of ${count(fit.venues_held)} venues.`
            : 'No learned model loaded.'}
        </p>
      ) : null}
      {status?.warning ? (
        <p className="rounded-md border border-amber-500/40 bg-amber-500/10 px-3 py-2 text-xs text-amber-300" role="status" data-testid="model-warning">
          {status.warning}
        </p>
      ) : null}
      {run ? (
        <div className={`space-y-1 ${stale ? STALE_DIM : ''}`} data-testid="model-progress">
          <p className="text-xs text-sky-300">
            Training: epoch {run.epoch} of {run.epochs}
            {run.loss !== null ? `, loss ${run.loss.toFixed(4)}` : ''} (started {when(run.started_at)})
          </p>
          <progress className="h-1.5 w-full" max={run.epochs} value={run.epoch} aria-label="training progress" />
        </div>
      ) : null}
      {last && !run ? (
        <p className={`text-xs ${last.outcome === 'failed' ? 'text-rose-300' : 'text-slate-500'} ${stale ? STALE_DIM : ''}`} data-testid="model-last">
          {lastTraining(last)}
        </p>
      ) : null}
      <button
        className="btn"
        disabled={!status || training || starting || nothingToLearn}
        title={nothingToLearn ? 'No interactions to learn from: seed or import data first' : 'Train the model on the data held now (in the server, in the background)'}
        onClick={() => void train()}
      >
        {training ? 'Training…' : 'Train the model'}
      </button>
      {nothingToLearn ? <p className="text-xs text-slate-500">No interactions to learn from yet: seed data first.</p> : null}
      {refusal && stillHolds(refusal, readAt) ? <ErrorNote error={refusal} testId="model-error-fields" className="text-xs" /> : null}
    </section>
  );
}
