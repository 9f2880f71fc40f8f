// The server's health in a few words, for the header on every page: the overall state of the
// last `GET /health` poll and, when it is degraded, what is wrong ("database unavailable",
// "database busy", "task relay down", ...). The Live page's health row shows the same answer in full.

import type { ApiError } from '../api/client';
import type { Health } from '../api/types';

/** `unreachable`: the last poll of /health failed. `checking`: no answer yet. */
export type HealthState = 'checking' | 'healthy' | 'degraded' | 'unreachable';

export interface HealthSummary {
  state: HealthState;
  /** What makes it degraded or unreachable, most fundamental first; empty when healthy. */
  reasons: string[];
}

/** The summary of the last poll: its error if it failed (the server's last answer is then
 * stale), else its answer. Fields an older server omits count as fine. */
export function summarizeHealth(health: Health | null, error: ApiError | null): HealthSummary {
  if (error) {
    return { state: 'unreachable', reasons: error.unreachable ? [] : [`/health failed: ${error.message}`] };
  }
  if (!health) return { state: 'checking', reasons: [] };
  const reasons: string[] = [];
  const database = health.database?.status;
  if (database !== undefined && database !== 'ok') reasons.push(database === 'busy' ? 'database busy' : 'database unavailable');
  if (health.bus?.status !== undefined && health.bus.status !== 'ok') reasons.push('bus unavailable');
  for (const [name, task] of Object.entries(health.tasks ?? {})) {
    if (task.status !== 'running') reasons.push(`task ${name} down`);
  }
  if (health.bus?.trim_error) reasons.push('bus trims failing');
  if (health.status === 'healthy' && reasons.length === 0) return { state: 'healthy', reasons };
  // Degraded for a reason this version does not know yet: still degraded, and said so.
  return { state: 'degraded', reasons };
}
