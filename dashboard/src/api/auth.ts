// The admin token: kept in sessionStorage for the browser tab's session, sent as
// `Authorization: Bearer` on API calls and as `access_token` on stream URLs. When a call gets a
// 401, `requestToken` asks the user (through whoever listens: the token dialog) and resolves
// with the new token, or rejects if they cancel. Concurrent 401s share one question. A token
// the server answered 401 to is remembered as refused (for the header to say so) until another
// token is set or the server takes it. Once the user cancels the question it is not asked again
// (the calls that need the token fail, and the header says so) until a token is set, through the
// header's token button: the polls' next 401s reopened it every few seconds.

const KEY = 'luna.adminToken';

type Asker = () => void;

let pending: { promise: Promise<string>; resolve: (t: string) => void; reject: (e: Error) => void } | null = null;
let asker: Asker | null = null;
const listeners = new Set<() => void>();
/** The token the server last refused (answered 401 to). */
let refused: string | null = null;
/** The user cancelled the question: calls needing a token fail without asking, until one is set. */
let declined = false;

const notify = () => listeners.forEach((l) => l());

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
  declined = false;
  notify();
}

/** No token kept; one kept (not refused so far); or the kept one was refused by the server. */
export type TokenState = 'none' | 'set' | 'refused';

export function tokenState(): TokenState {
  const token = getToken();
  if (!token) return 'none';
  return token === refused ? 'refused' : 'set';
}

/** The server answered 401 to a request that carried `token` (null: none was sent). */
export function tokenRefusedBy(token: string | null): void {
  if (!token || refused === token) return;
  refused = token;
  notify();
}

/** The server took `token` for an admin request: no longer refused, if it was. */
export function tokenAcceptedBy(token: string | null): void {
  if (!token || refused !== token) return;
  refused = null;
  notify();
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

/**
 * For a request that carried `sent` and got a 401: a token kept since it was sent (another
 * call's question answered while this one was on its way) is tried first, without asking
 * again; else the user is asked ({@link requestToken}).
 */
export function tokenAfter401(sent: string | null): Promise<string> {
  const now = getToken();
  if (now && now !== sent) return Promise.resolve(now);
  return requestToken();
}

export function requestToken(): Promise<string> {
  if (pending) return pending.promise;
  if (declined) return Promise.reject(new Error('an admin token is required'));
  let resolve!: (t: string) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<string>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  pending = { promise, resolve, reject };
  if (asker) asker();
  else {
    // Nobody to ask (no dialog mounted): this call fails, the next one may ask.
    pending = null;
    reject(new Error('an admin token is required'));
  }
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
    declined = true;
    p.reject(new Error('an admin token is required'));
  }
}
