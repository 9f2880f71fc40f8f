// A refusal from the server: its message, then each field it names with its reason (a 422's
// message alone only says that some fields are invalid).

import { ApiError, type FieldError } from '../api/client';

export interface Refusal {
  message: string;
  details: FieldError[];
}

/** `testId` names the list of fields; `className` places the note and sizes its text. */
export function ErrorNote({ error, testId, className }: { error: Refusal; testId: string; className: string }) {
  return (
    <div className={`rounded-md border border-rose-500/40 bg-rose-500/10 px-3 py-2 text-rose-300 ${className}`} role="alert">
      <p>{error.message}</p>
      {error.details.length ? (
        <ul className="mt-1 space-y-0.5" data-testid={testId}>
          {error.details.map((d) => (
            <li key={`${d.field}:${d.message}`}>
              <b className="font-semibold text-rose-200">{d.field}</b>: {d.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

/** An action's failure: the refusal, whether it was that the server could not be reached, and when. */
export interface ActionError extends Refusal {
  unreachable: boolean;
  at: number;
}

export function actionError(e: unknown): ActionError {
  return {
    message: e instanceof Error ? e.message : String(e),
    details: e instanceof ApiError ? e.details : [],
    unreachable: e instanceof ApiError && e.unreachable,
    at: Date.now(),
  };
}

/**
 * Whether an action's failure still holds, the server having last answered the panel's poll at
 * `answeredAt`: 'cannot be reached' does not once it has answered since (QA, real binary: Pause
 * clicked while the server was restarting said so under the panel for as long as the page stayed
 * open, the server long back). A refusal holds until the next action.
 */
export const stillHolds = (e: ActionError, answeredAt: number | null): boolean => !(e.unreachable && answeredAt !== null && answeredAt > e.at);
