import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { answerToken, setAsker, setToken, tokenState } from './auth';
import { EventStream, type StreamInfo } from './stream';
import type { LunaEvent } from './types';

const enc = new TextEncoder();

/** A streaming response whose body the test writes to. */
function sseResponse() {
  let ctrl!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (ctrl = c) });
  return {
    res: new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } }),
    send: (text: string) => ctrl.enqueue(enc.encode(text)),
    end: () => ctrl.close(),
    fail: () => ctrl.error(new TypeError('network error')),
  };
}

function frame(id: string, e: Partial<LunaEvent>) {
  const event = { id: '1-0', source_id: null, channel: 'user_actions', type: 'interaction.recorded', timestamp: '', data: {}, ...e };
  return `id: ${id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
};

beforeEach(() => {
  sessionStorage.clear();
  setAsker(null);
});
afterEach(() => vi.restoreAllMocks());

describe('EventStream', () => {
  it('delivers events of any type and resumes after the last frame id when the stream drops', async () => {
    const first = sseResponse();
    const second = sseResponse();
    const requests: { url: string; headers: Record<string, string> }[] = [];
    const responses = [first.res, second.res];
    const fetchImpl = vi.fn(async (url: RequestInfo | URL, init?: RequestInit) => {
      requests.push({ url: String(url), headers: (init?.headers ?? {}) as Record<string, string> });
      return responses.shift() ?? new Promise<Response>(() => {});
    });
    const events: LunaEvent[] = [];
    const statuses: StreamInfo['status'][] = [];
    const s = new EventStream({ onEvent: (e) => events.push(e), onStatus: (i) => statuses.push(i.status), fetchImpl, backoffMs: () => 0 });
    s.start();
    await until(() => requests.length === 1);
    first.send('event: connected\nid: user_actions:0-0\ndata: {"type":"connected"}\n\n');
    first.send(frame('user_actions:5-0', { type: 'interaction.recorded' }));
    first.send(':keepalive\n\n');
    first.send(frame('user_actions:5-0,bookings:7-0', { type: 'booking.created', channel: 'bookings' }));
    await until(() => events.length === 2);
    expect(events.map((e) => e.type)).toEqual(['interaction.recorded', 'booking.created']);
    expect(statuses).toContain('live');
    expect(requests[0].headers['Last-Event-ID']).toBeUndefined();

    first.fail();
    await until(() => requests.length === 2);
    expect(requests[1].headers['Last-Event-ID']).toBe('user_actions:5-0,bookings:7-0');
    expect(statuses).toContain('down');
    second.send('event: connected\nid: user_actions:5-0,bookings:7-0\ndata: {}\n\n');
    await until(() => s.state.status === 'live');
    expect(s.state.connections).toBe(2);
    s.stop();
  });

  it('reports a server that cannot be reached, with the time of the next try', async () => {
    const fetchImpl = vi.fn(() => Promise.reject(new TypeError('connection refused')));
    const s = new EventStream({ onEvent: () => {}, fetchImpl, backoffMs: () => 60_000 });
    s.start();
    await until(() => s.state.status === 'down');
    expect(s.state.retryAt).toBeGreaterThan(Date.now() + 50_000);
    expect(s.state.error).toContain('connection refused');
    s.stop();
  });

  it('asks for the admin token on a 401 and reconnects with it as access_token', async () => {
    const ok = sseResponse();
    const urls: string[] = [];
    const fetchImpl = vi.fn(async (url: RequestInfo | URL) => {
      urls.push(String(url));
      return urls.length === 1 ? new Response('{}', { status: 401 }) : ok.res;
    });
    setAsker(() => setTimeout(() => answerToken('tok en'), 0));
    const s = new EventStream({ onEvent: () => {}, fetchImpl, backoffMs: () => 0 });
    s.start();
    await until(() => urls.length === 2);
    expect(urls[0]).toBe('/api/v1/admin/streams/subscribe-all');
    expect(urls[1]).toBe('/api/v1/admin/streams/subscribe-all?access_token=tok%20en');
    s.stop();
  });

  it('marks the token the stream was refused with as refused, and one it opens with as taken', async () => {
    setToken('stale');
    const ok = sseResponse();
    const urls: string[] = [];
    const fetchImpl = vi.fn(async (url: RequestInfo | URL) => {
      urls.push(String(url));
      return urls.length === 1 ? new Response('{}', { status: 401 }) : ok.res;
    });
    let answer!: () => void;
    // Given again (the server's token was changed back, say), and taken this time.
    setAsker(() => (answer = () => answerToken('stale')));
    const s = new EventStream({ onEvent: () => {}, fetchImpl, backoffMs: () => 0 });
    s.start();
    await until(() => tokenState() === 'refused');
    answer();
    await until(() => urls.length === 2);
    expect(urls[1]).toBe('/api/v1/admin/streams/subscribe-all?access_token=stale');
    await until(() => tokenState() === 'set');
    s.stop();
  });

  it('reopens a stream that goes silent past the idle timeout', async () => {
    setToken(null);
    let opened = 0;
    const fetchImpl = vi.fn(async () => {
      opened += 1;
      return sseResponse().res;
    });
    const s = new EventStream({ onEvent: () => {}, fetchImpl, idleTimeoutMs: 20, backoffMs: () => 0 });
    s.start();
    await until(() => opened >= 2);
    s.stop();
  });
  it('reconnects at once when asked while waiting out its backoff after the server went away, and only then', async () => {
    const live = sseResponse();
    let refused = true;
    const fetchImpl = vi.fn(async () => {
      if (refused) throw new TypeError('connection refused');
      return live.res;
    });
    const statuses: StreamInfo['status'][] = [];
    // A backoff of an hour: only reconnectNow can bring it back within the test.
    const s = new EventStream({ onEvent: () => {}, onStatus: (i) => statuses.push(i.status), fetchImpl, backoffMs: () => 3_600_000 });
    s.start();
    await until(() => statuses.includes('down'));
    expect(fetchImpl).toHaveBeenCalledTimes(1);
    refused = false;
    s.reconnectNow();
    await until(() => fetchImpl.mock.calls.length === 2);
    live.send('event: connected\nid: system:0-0\ndata: {}\n\n');
    await until(() => s.state.status === 'live');
    // Live: nothing to do.
    s.reconnectNow();
    await new Promise((r) => setTimeout(r, 20));
    expect(fetchImpl).toHaveBeenCalledTimes(2);
    s.stop();
  });

  it('keeps its backoff after an answer that was not a failure to reach the server', async () => {
    const fetchImpl = vi.fn(async () => new Response('{}', { status: 503 }));
    const s = new EventStream({ onEvent: () => {}, fetchImpl, backoffMs: () => 3_600_000 });
    s.start();
    await until(() => s.state.status === 'reconnecting' && s.state.retryAt !== null);
    s.reconnectNow();
    await new Promise((r) => setTimeout(r, 20));
    expect(fetchImpl).toHaveBeenCalledTimes(1);
    s.stop();
  });
});
