import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { json, mockFetch } from '../test/fetch';
import { answerToken, getToken, setAsker, setToken, tokenState } from './auth';
import { ApiError, luna } from './client';

beforeEach(() => {
  sessionStorage.clear();
  setAsker(null);
});
afterEach(() => vi.unstubAllGlobals());

describe('the API client', () => {
  it('sends the admin token when one is kept', async () => {
    setToken('s3cret');
    const { calls } = mockFetch({ 'GET /api/v1/admin/stats': () => ({ users: {} }) });
    await luna.stats();
    expect(calls[0].headers.authorization).toBe('Bearer s3cret');
  });

  it('asks for the token on a 401, keeps it for the session and retries once', async () => {
    const { calls } = mockFetch({
      'POST /api/v1/admin/data/reset': (c) =>
        c.headers.authorization === 'Bearer t0ken' ? { success: true, message: 'ok' } : json({ error: { code: 'unauthorized', message: 'this needs the admin credential', details: null } }, 401),
    });
    setAsker(() => setTimeout(() => answerToken('t0ken'), 0));
    await expect(luna.reset()).resolves.toEqual({ success: true, message: 'ok' });
    expect(calls).toHaveLength(2);
    expect(getToken()).toBe('t0ken');
    expect(sessionStorage.getItem('luna.adminToken')).toBe('t0ken');
  });

  it('retries a call refused before a token came meanwhile with that token, without asking again', async () => {
    // The 401 of a call sent without a token comes back after another call's question was answered.
    const { calls } = mockFetch({
      'GET /api/v1/admin/stats': (c) => {
        if (c.headers.authorization === 'Bearer t0ken') return { users: {} };
        setToken('t0ken');
        return json({ error: { code: 'unauthorized', message: 'this needs the admin credential', details: null } }, 401);
      },
    });
    let asked = 0;
    setAsker(() => {
      asked += 1;
      setTimeout(() => answerToken(null), 0);
    });
    await expect(luna.stats()).resolves.toEqual({ users: {} });
    expect(asked).toBe(0);
    expect(calls.map((c) => c.headers.authorization)).toEqual([undefined, 'Bearer t0ken']);
  });

  it('gives up with the 401 when the user cancels', async () => {
    mockFetch({ 'GET /api/v1/admin/stats': () => json({ error: { code: 'unauthorized', message: 'this needs the admin credential', details: null } }, 401) });
    setAsker(() => setTimeout(() => answerToken(null), 0));
    const e = await luna.stats().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect((e as ApiError).status).toBe(401);
    expect((e as ApiError).message).toBe('this needs the admin credential');
  });

  it('marks a token the server answers 401 to as refused, until another is set or it is taken', async () => {
    const unauthorized = () => json({ error: { code: 'unauthorized', message: 'this needs the admin credential', details: null } }, 401);
    let good = 'right';
    mockFetch({ 'GET /api/v1/admin/stats': (c) => (c.headers.authorization === `Bearer ${good}` ? { users: {} } : unauthorized()), 'GET /health': () => ({ status: 'healthy' }) });
    expect(tokenState()).toBe('none');
    setToken('wrong');
    expect(tokenState()).toBe('set');
    setAsker(() => setTimeout(() => answerToken(null), 0));
    await luna.stats().catch(() => {});
    expect(tokenState()).toBe('refused');
    // An open route's answer says nothing about the token.
    await luna.health();
    expect(tokenState()).toBe('refused');
    // Another token is not refused (yet); the right one, once taken, stays set.
    setToken('right');
    expect(tokenState()).toBe('set');
    await luna.stats();
    expect(tokenState()).toBe('set');
    // The refused token, taken after all (the server's token changed), is no longer refused.
    setToken('wrong');
    expect(tokenState()).toBe('refused');
    good = 'wrong';
    await luna.stats();
    expect(tokenState()).toBe('set');
  });

  it("reports the API's error and a server that cannot be reached", async () => {
    const notRunning = { code: 'conflict', message: 'no simulation is running: cannot pause', details: null };
    mockFetch({ 'POST /api/v1/simulation/pause': () => json({ error: notRunning }, 409) });
    await expect(luna.simPause()).rejects.toMatchObject({ status: 409, code: 'conflict', message: 'no simulation is running: cannot pause' });
    vi.stubGlobal('fetch', vi.fn(() => Promise.reject(new TypeError('fetch failed'))));
    const e = (await luna.stats().catch((x: unknown) => x)) as ApiError;
    expect(e.unreachable).toBe(true);
  });

  it("carries the API's reasons for each invalid field", async () => {
    const details = [{ field: 'duration', message: '"abc" is not a duration such as 4h, 90m, 1h30m or 2d' }];
    mockFetch({ 'POST /api/v1/simulation/start': () => json({ error: { code: 'validation_failed', message: 'the request has invalid fields', details } }, 422) });
    await expect(luna.simStart({ duration: 'abc' })).rejects.toMatchObject({ status: 422, code: 'validation_failed', details });
    mockFetch({ 'POST /api/v1/simulation/pause': () => json({ error: { code: 'conflict', message: 'no simulation is running: cannot pause', details: null } }, 409) });
    await expect(luna.simPause()).rejects.toMatchObject({ details: [] });
  });

  it('reads /health when the server answers 503 with its health (the database down)', async () => {
    const body = { status: 'degraded', database: { status: 'unavailable', backend: 'postgres' }, bus: { status: 'ok', backend: 'redis' }, tasks: {} };
    mockFetch({ 'GET /health': () => json(body, 503) });
    await expect(luna.health()).resolves.toMatchObject({ status: 'degraded', database: { status: 'unavailable' } });
    // A 503 that is not Luna's health answer (a proxy's page) stays an error.
    mockFetch({ 'GET /health': () => new Response('<html>Service Unavailable</html>', { status: 503, statusText: 'Service Unavailable' }) });
    await expect(luna.health()).rejects.toMatchObject({ status: 503, message: 'Service Unavailable' });
  });

  it('sends bodies as JSON and query parameters encoded', async () => {
    const { calls } = mockFetch({ 'POST /api/v1/simulation/start': () => ({}), 'GET /api/v1/users': () => [] });
    await luna.simStart({ scenario: 'friday_night', speed: 'max' });
    await luna.findUsers('a b', 5);
    expect(calls[0].body).toEqual({ scenario: 'friday_night', speed: 'max' });
    expect(calls[0].headers['content-type']).toBe('application/json');
    expect(calls[1].url).toBe('/api/v1/users?handle=a+b&limit=5');
  });
});
