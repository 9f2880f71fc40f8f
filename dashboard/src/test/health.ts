// A /health answer for health tests: every part healthy, on the embedded stack.
import type { Health } from '../api/types';

export const RUNNING = { status: 'running', restarts: 0, last_failure: null } as const;

export const HEALTHY: Health = {
  status: 'healthy',
  service: 'Luna API Service',
  version: '0.1.0',
  database: { status: 'ok', backend: 'sqlite' },
  bus: { status: 'ok', backend: 'memory', trim_failures: 0, trim_error: null },
  tasks: { engine_follower: RUNNING, relay: RUNNING },
};
