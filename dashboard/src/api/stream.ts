// The live event stream: `GET /api/v1/admin/streams/subscribe-all` read with fetch (so every
// event type arrives, the HTTP status is visible and headers can be sent), parsed as SSE.
//
// When the connection drops or the server goes away it reconnects with a growing delay and
// resumes after the last frame seen: the frame `id:` (the cursor of every channel) goes back as
// `Last-Event-ID`, so the server replays what was missed, with no gap and no duplicate. A
// stream that stays silent past two keep-alive periods is treated as dead. A 401 asks for the
// admin token (sent as `access_token` on the URL, the convention for streams).

import { getToken, tokenAcceptedBy, tokenAfter401, tokenRefusedBy } from './auth';
import { SseParser } from './sse';
import type { LunaEvent } from './types';

export type StreamStatus = 'connecting' | 'live' | 'reconnecting' | 'down' | 'unauthorized';

export interface StreamInfo {
  status: StreamStatus;
  /** The cursor the stream resumes from (the last frame id seen). */
  cursor: string | null;
  /** When the next attempt is due (ms since epoch), while reconnecting or down. */
  retryAt: number | null;
  /** Connections opened so far (the first one included). */
  connections: number;
  /** Events missed by a slow reader, as the server reported them. */
  lagged: number;
  error: string | null;
}

export interface StreamOptions {
  onEvent: (e: LunaEvent) => void;
  onStatus?: (info: StreamInfo) => void;
  url?: string;
  fetchImpl?: typeof fetch;
  /** Silence (no byte, not even a keep-alive) after which the stream is reopened. */
  idleTimeoutMs?: number;
  backoffMs?: (attempt: number) => number;
}

const defaultBackoff = (attempt: number) => Math.min(10_000, 500 * 2 ** Math.min(attempt, 5));

export class EventStream {
  private info: StreamInfo = { status: 'connecting', cursor: null, retryAt: null, connections: 0, lagged: 0, error: null };
  private abort: AbortController | null = null;
  private reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = true;
  private attempt = 0;
  private readonly opts: Required<Omit<StreamOptions, 'onStatus'>> & Pick<StreamOptions, 'onStatus'>;

  constructor(opts: StreamOptions) {
    this.opts = {
      url: '/api/v1/admin/streams/subscribe-all',
      fetchImpl: (...args) => fetch(...args),
      idleTimeoutMs: 40_000,
      backoffMs: defaultBackoff,
      ...opts,
    };
  }

  get state(): StreamInfo {
    return this.info;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.drop();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Drops the connection now and reconnects at once (resuming), e.g. after a token change. */
  restart(): void {
    this.drop();
  }

  /** While waiting to reconnect to a server that could not be reached, tries now instead of at the end of the
   * backoff: e.g. once `/health` answers again, so the feed does not wait up to 10 s more. */
  reconnectNow(): void {
    // Only a stream that found the server gone: other waits (a 503, a refused token) keep their backoff.
    if (this.stopped || !this.timer || this.info.status !== 'down') return;
    clearTimeout(this.timer);
    this.timer = null;
    void this.connect();
  }

  /** Ends the current connection: aborts the request and cancels its body. */
  private drop() {
    this.abort?.abort();
    this.reader?.cancel().catch(() => {});
  }

  private set(patch: Partial<StreamInfo>) {
    this.info = { ...this.info, ...patch };
    this.opts.onStatus?.(this.info);
  }

  private streamUrl(token: string | null): string {
    if (!token) return this.opts.url;
    const sep = this.opts.url.includes('?') ? '&' : '?';
    return `${this.opts.url}${sep}access_token=${encodeURIComponent(token)}`;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const abort = new AbortController();
    this.abort = abort;
    const headers: Record<string, string> = { Accept: 'text/event-stream' };
    if (this.info.cursor) headers['Last-Event-ID'] = this.info.cursor;
    this.set({ status: this.info.connections === 0 ? 'connecting' : 'reconnecting', retryAt: null });
    let res: Response;
    const token = getToken();
    try {
      res = await this.opts.fetchImpl(this.streamUrl(token), { headers, signal: abort.signal, cache: 'no-store' });
    } catch (e) {
      if (abort.signal.aborted) return this.retry('reconnecting', 'restarted', abort, true);
      return this.retry('down', e instanceof Error ? e.message : String(e), abort);
    }
    if (res.status === 401) {
      tokenRefusedBy(token);
      this.set({ status: 'unauthorized', error: 'the stream needs the admin token' });
      try {
        await tokenAfter401(token);
        this.attempt = 0;
        return this.connect();
      } catch {
        return this.retry('unauthorized', 'the stream needs the admin token', abort);
      }
    }
    if (res.ok) tokenAcceptedBy(token);
    if (!res.ok || !res.body) {
      return this.retry('reconnecting', `the stream answered ${res.status}`, abort);
    }
    this.set({ connections: this.info.connections + 1, error: null });
    try {
      await this.read(res.body);
      if (!this.stopped) this.retry('reconnecting', 'the stream ended', abort, true);
    } catch (e) {
      if (this.stopped) return;
      // Aborted by us (silence, or a restart): reopen at once. Anything else: the server is gone.
      if (abort.signal.aborted) this.retry('reconnecting', 'the stream went silent', abort, true);
      else this.retry('down', e instanceof Error ? e.message : String(e), abort);
    }
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    this.reader = reader;
    const decoder = new TextDecoder();
    const parser = new SseParser();
    let idle: ReturnType<typeof setTimeout> | null = null;
    const arm = () => {
      if (idle) clearTimeout(idle);
      idle = setTimeout(() => this.drop(), this.opts.idleTimeoutMs);
    };
    arm();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        arm();
        for (const frame of parser.push(decoder.decode(value, { stream: true }))) {
          if (frame.id !== null) this.info = { ...this.info, cursor: frame.id };
          if (frame.event === 'connected') {
            this.attempt = 0;
            this.set({ status: 'live', error: null });
          } else if (frame.event === 'lagged') {
            const missed = Number((JSON.parse(frame.data) as { missed?: number }).missed ?? 0);
            this.set({ lagged: this.info.lagged + missed });
          } else {
            const event = parseEvent(frame.data);
            if (event) this.opts.onEvent(event);
          }
        }
      }
    } finally {
      if (idle) clearTimeout(idle);
      if (this.reader === reader) this.reader = null;
    }
  }

  private retry(status: StreamStatus, error: string, abort: AbortController, clean = false) {
    if (this.stopped || this.abort !== abort) return;
    // A clean end of a healthy stream (server restart, proxy timeout) is retried at once.
    const delay = clean && this.attempt === 0 ? 0 : this.opts.backoffMs(this.attempt);
    this.attempt += 1;
    this.set({ status, error, retryAt: Date.now() + delay });
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, delay);
  }
}

function parseEvent(data: string): LunaEvent | null {
  try {
    const e = JSON.parse(data) as LunaEvent;
    return e && typeof e.type === 'string' && typeof e.channel === 'string' ? e : null;
  } catch {
    return null;
  }
}
