import { describe, expect, it } from 'vitest';

import { ApiError } from '../api/client';
import type { Health } from '../api/types';
import { HEALTHY } from '../test/health';
import { summarizeHealth } from './health';

// On the production stack.
const healthy: Health = {
  ...HEALTHY,
  database: { status: 'ok', backend: 'postgres' },
  bus: { status: 'ok', backend: 'redis', trim_failures: 0, trim_error: null },
};

describe('summarizeHealth', () => {
  it('is healthy with no reasons when every part is', () => {
    expect(summarizeHealth(healthy, null)).toEqual({ state: 'healthy', reasons: [] });
  });

  it('names every part that is wrong, the most fundamental first', () => {
    const worst: Health = {
      ...healthy,
      status: 'degraded',
      database: { status: 'unavailable', backend: 'postgres' },
      bus: { status: 'unavailable', backend: 'redis', trim_failures: 7, trim_error: 'NOSCRIPT No matching script' },
      tasks: { engine_follower: { status: 'down', restarts: 1, last_failure: 'ended' }, relay: { status: 'down', restarts: 4, last_failure: 'panicked: x' } },
    };
    expect(summarizeHealth(worst, null)).toEqual({
      state: 'degraded',
      reasons: ['database unavailable', 'bus unavailable', 'task engine_follower down', 'task relay down', 'bus trims failing'],
    });
  });

  it('says a busy database is busy, not unavailable', () => {
    const busy: Health = { ...healthy, status: 'degraded', database: { status: 'busy', backend: 'postgres' } };
    expect(summarizeHealth(busy, null)).toEqual({ state: 'degraded', reasons: ['database busy'] });
  });

  it('counts trims that keep failing, and not trims that failed before and work again', () => {
    const failing: Health = { ...healthy, status: 'degraded', bus: { ...healthy.bus, trim_failures: 3, trim_error: 'ERR unknown command' } };
    expect(summarizeHealth(failing, null)).toEqual({ state: 'degraded', reasons: ['bus trims failing'] });
    const recovered: Health = { ...healthy, bus: { ...healthy.bus, trim_failures: 3, trim_error: null } };
    expect(summarizeHealth(recovered, null)).toEqual({ state: 'healthy', reasons: [] });
  });

  it('takes a server older than the trim fields and the tasks as it answers', () => {
    const old = { ...healthy, bus: { status: 'ok', backend: 'memory' } } as Health;
    delete (old as Partial<Health>).tasks;
    expect(summarizeHealth(old, null)).toEqual({ state: 'healthy', reasons: [] });
    expect(summarizeHealth({ ...old, status: 'degraded' }, null)).toEqual({ state: 'degraded', reasons: [] });
  });

  it('is unreachable when the last poll failed, whatever the answer before it said', () => {
    expect(summarizeHealth(healthy, new ApiError(0, 'unreachable', 'The Luna server cannot be reached'))).toEqual({ state: 'unreachable', reasons: [] });
    expect(summarizeHealth(null, new ApiError(502, 'http_502', 'Bad Gateway'))).toEqual({ state: 'unreachable', reasons: ['/health failed: Bad Gateway'] });
  });

  it('is checking before the first answer', () => {
    expect(summarizeHealth(null, null)).toEqual({ state: 'checking', reasons: [] });
  });
});
