// Typed calls to the Luna API. Every call carries the admin token when one is set; a 401 asks
// for the token once and retries. Errors carry the API's `{error: {code, message, details}}`.

import { getToken, tokenAcceptedBy, tokenAfter401, tokenRefusedBy } from './auth';
import type { UserName } from '../lib/names';
import type {
  CityMapData,
  GroupRecommendations,
  Health,
  ModelStatus,
  PersonRecommendation,
  Ranker,
  Scenario,
  SeedRequest,
  SeedResponse,
  SimMetrics,
  SimState,
  StartRequest,
  Stats,
  TrainingState,
  TrainRequest,
  User,
  Venue,
  VenueRecommendation,
} from './types';

/** One invalid field of a request, as the API names it (`validation_failed` errors). */
export interface FieldError {
  field: string;
  message: string;
}

export class ApiError extends Error {
  /** HTTP status; 0 when the server could not be reached. */
  readonly status: number;
  readonly code: string;
  /** Each invalid field and why, when the API says which (empty otherwise). */
  readonly details: FieldError[];
  constructor(status: number, code: string, message: string, details: FieldError[] = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
  get unreachable(): boolean {
    return this.status === 0;
  }
}

interface CallOptions {
  method?: 'GET' | 'POST';
  body?: unknown;
  signal?: AbortSignal;
}

export function authHeaders(): Record<string, string> {
  const token = getToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** One request. A 401 to it marks the token it carried as refused; an admin route's answer
 * that got past authentication (not 401 or 403, nor a 5xx, which a proxy may send) as taken. */
async function send(path: string, opts: CallOptions): Promise<Response> {
  const token = getToken();
  const headers: Record<string, string> = { Accept: 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) };
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  let res: Response;
  try {
    res = await fetch(path, { method: opts.method ?? 'GET', headers, body, signal: opts.signal });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'unreachable', 'The Luna server cannot be reached');
  }
  if (res.status === 401) tokenRefusedBy(token);
  else if (path.startsWith('/api/v1/admin/') && res.status < 500 && res.status !== 403) tokenAcceptedBy(token);
  return res;
}

async function failure(res: Response): Promise<ApiError> {
  let code = `http_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  let details: FieldError[] = [];
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string; details?: unknown } };
    if (body.error?.code) code = body.error.code;
    if (body.error?.message) message = body.error.message;
    if (Array.isArray(body.error?.details)) details = body.error.details.filter(isFieldError);
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(res.status, code, message, details);
}

function isFieldError(d: unknown): d is FieldError {
  return typeof d === 'object' && d !== null && typeof (d as FieldError).field === 'string' && typeof (d as FieldError).message === 'string';
}

/** One call; on a 401 asks for the admin token and tries once more. */
export async function call<T>(path: string, opts: CallOptions = {}): Promise<T> {
  const sent = getToken();
  let res = await send(path, opts);
  if (res.status === 401) {
    try {
      await tokenAfter401(sent);
    } catch {
      throw await failure(res);
    }
    res = await send(path, opts);
  }
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

const q = (params: Record<string, string | number | undefined>) => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') s.set(k, String(v));
  const text = s.toString();
  return text ? `?${text}` : '';
};

/** `GET /health`: open to all. A 503 still carries the health answer (the database is down). */
async function health(signal?: AbortSignal): Promise<Health> {
  const res = await send('/health', { signal });
  if (res.status === 503) {
    const body = (await res.clone().json().catch(() => null)) as Health | null;
    if (body?.database) return body;
  }
  if (!res.ok) throw await failure(res);
  return (await res.json()) as Health;
}

const post = <T>(path: string, body?: unknown) => call<T>(path, { method: 'POST', body });

export const luna = {
  health,
  stats: (signal?: AbortSignal) => call<Stats>('/api/v1/admin/stats', { signal }),
  map: (homes: number) => call<CityMapData>(`/api/v1/admin/map${q({ homes })}`),
  seed: (body: SeedRequest) => post<SeedResponse>('/api/v1/admin/data/seed', body),
  reset: () => post<{ success: boolean; message: string }>('/api/v1/admin/data/reset', {}),
  model: (signal?: AbortSignal) => call<ModelStatus>('/api/v1/admin/model', { signal }),
  trainModel: (body: TrainRequest = {}) => post<TrainingState>('/api/v1/admin/model/train', body),

  simState: (signal?: AbortSignal) => call<SimState>('/api/v1/simulation/state', { signal }),
  simMetrics: (signal?: AbortSignal) => call<SimMetrics>('/api/v1/simulation/metrics', { signal }),
  scenarios: () => call<{ scenarios: Scenario[] }>('/api/v1/simulation/scenarios'),
  simStart: (body: StartRequest) => post<SimState>('/api/v1/simulation/start', body),
  simPause: () => post<SimState>('/api/v1/simulation/pause'),
  simResume: () => post<SimState>('/api/v1/simulation/resume'),
  simStop: () => post<SimState>('/api/v1/simulation/stop'),
  simReset: () => post<SimState>('/api/v1/simulation/reset'),
  simSpeed: (speed: number | 'max') => post<SimState>('/api/v1/simulation/speed', { speed }),
  simScenario: (scenario: string) => post<SimState>('/api/v1/simulation/scenario', { scenario }),

  findUsers: (handle: string, limit = 8, signal?: AbortSignal) =>
    call<User[]>(`/api/v1/users${q({ handle, limit })}`, { signal }),
  /** Handles and names of up to 100 users; ids of no user are left out of the answer. */
  userNames: (ids: string[]) =>
    call<{ users: UserName[] }>(`/api/v1/admin/users/names${q({ ids: ids.join(',') })}`).then((r) => r.users),
  user: (id: string) => call<User>(`/api/v1/users/${encodeURIComponent(id)}`),
  venue: (id: string) => call<Venue>(`/api/v1/venues/${encodeURIComponent(id)}`),
  venueRecs: (userId: string, ranker: Ranker, limit = 8) =>
    call<{ venues: VenueRecommendation[] }>(
      `/api/v1/recommendations/${encodeURIComponent(userId)}/venues${q({ ranker, limit })}`,
    ),
  peopleRecs: (userId: string, ranker: Ranker, limit = 6) =>
    call<{ people: PersonRecommendation[] }>(
      `/api/v1/recommendations/${encodeURIComponent(userId)}/people${q({ ranker, limit })}`,
    ),
  groupRecs: (userIds: string[], limit = 5) =>
    call<GroupRecommendations>(`/api/v1/recommendations/group/${userIds.map(encodeURIComponent).join(',')}${q({ limit })}`),
};
