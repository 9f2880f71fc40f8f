// Small React hooks: follow the live store, poll an endpoint, debounce a value.

import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react';

import { ApiError } from '../api/client';
import type { LiveStore } from './live';

/** Re-renders when the live store flushes (at most four times a second). */
export function useLive(store: LiveStore): number {
  return useSyncExternalStore(store.subscribe, store.getVersion);
}

export interface Polled<T> {
  data: T | null;
  error: ApiError | null;
  /** When the last answer (or error) arrived. */
  at: number | null;
  /** When `data` arrived (the last good answer): how fresh it is, which an error does not change. */
  dataAt: number | null;
  refresh: () => Promise<void>;
}

/** Calls `fetcher` now and every `ms`; keeps the last good answer through errors. */
export function usePoll<T>(fetcher: (signal: AbortSignal) => Promise<T>, ms: number, enabled = true): Polled<T> {
  const [state, setState] = useState<{ data: T | null; error: ApiError | null; at: number | null; dataAt: number | null }>({
    data: null,
    error: null,
    at: null,
    dataAt: null,
  });
  const fetchRef = useRef(fetcher);
  fetchRef.current = fetcher;
  const alive = useRef(true);
  const busy = useRef(false);

  const refresh = useCallback(async () => {
    if (busy.current) return;
    busy.current = true;
    const abort = new AbortController();
    const timeout = setTimeout(() => abort.abort(), Math.max(ms * 3, 8000));
    try {
      const data = await fetchRef.current(abort.signal);
      const now = Date.now();
      if (alive.current) setState({ data, error: null, at: now, dataAt: now });
    } catch (e) {
      const error =
        e instanceof ApiError ? e : new ApiError(0, 'unreachable', e instanceof Error ? e.message : String(e));
      if (alive.current) setState((s) => ({ ...s, error, at: Date.now() }));
    } finally {
      clearTimeout(timeout);
      busy.current = false;
    }
  }, [ms]);

  useEffect(() => {
    alive.current = true;
    if (!enabled) return;
    void refresh();
    const id = setInterval(() => void refresh(), ms);
    return () => {
      clearInterval(id);
    };
  }, [refresh, ms, enabled]);

  useEffect(
    () => () => {
      alive.current = false;
    },
    [],
  );

  return { ...state, refresh };
}

export function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const id = setTimeout(() => setV(value), ms);
    return () => clearTimeout(id);
  }, [value, ms]);
  return v;
}

/** A counter that moves every `ms` (for views of a sliding time window). */
export function useTicker(ms: number): number {
  const [n, setN] = useState(0);
  useEffect(() => {
    const id = setInterval(() => setN((x) => x + 1), ms);
    return () => clearInterval(id);
  }, [ms]);
  return n;
}
