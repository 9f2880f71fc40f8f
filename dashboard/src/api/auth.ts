// The admin token: kept in sessionStorage for the browser tab's session, sent as
// `Authorization: Bearer` on API calls and as `access_token` on stream URLs. When a call gets a
// 401, `requestToken` asks the user (through whoever listens: the token dialog) and resolves
// with the new token, or rejects if they cancel. Concurrent 401s share one question.

const KEY = 'luna.adminToken';

type Asker = () => void;

let pending: { promise: Promise<string>; resolve: (t: string) => void; reject: (e: Error) => void } | null = null;
let asker: Asker | null = null;
const listeners = new Set<() => void>();

function storage(): Storage | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage;
  } catch {
    return null;
  }
}

export function getToken(): string | null {
  return storage()?.getItem(KEY) || null;
}

export function setToken(token: string | null): void {
  const s = storage();
  if (token) s?.setItem(KEY, token);
  else s?.removeItem(KEY);
  listeners.forEach((l) => l());
}

/**
 * Takes the admin token from the page URL (`/?token=...`, the link `luna serve` prints on first
 * start) into sessionStorage and removes it from the address bar and history.
 */
export function adoptUrlToken(): void {
  if (typeof window === 'undefined') return;
  const url = new URL(window.location.href);
  const token = url.searchParams.get('token');
  if (!token) return;
  setToken(token);
  url.searchParams.delete('token');
  window.history.replaceState(window.history.state, '', url.pathname + url.search + url.hash);
}

/** Re-renders on token changes (for the header's token button). */
export function onTokenChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The dialog registers itself here; it is shown when a token is needed. */
export function setAsker(a: Asker | null): void {
  asker = a;
}

/** Whether a question is waiting for an answer. */
export function tokenRequested(): boolean {
  return pending !== null;
}

export function requestToken(): Promise<string> {
  if (pending) return pending.promise;
  let resolve!: (t: string) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<string>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  pending = { promise, resolve, reject };
  if (asker) asker();
  else answerToken(null);
  return promise;
}

/** The dialog's answer: a token (stored and handed to every waiting call) or `null` (cancel). */
export function answerToken(token: string | null): void {
  const p = pending;
  pending = null;
  if (!p) return;
  if (token) {
    setToken(token);
    p.resolve(token);
  } else {
    p.reject(new Error('an admin token is required'));
  }
}
