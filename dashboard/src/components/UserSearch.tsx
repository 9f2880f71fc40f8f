// Find a user by the start of their handle (`GET /api/v1/users?handle=`), pick from the list.
// Enter picks the first user found for the text as typed: while its search is on the way, Enter
// waits for it (an earlier text's list is never picked from). A search that failed (the server
// unreachable) is tried again every few seconds while the list is open, so the list does not go on
// saying the server cannot be reached once it is back.
// For the keyboard it is a combobox (the focus stays in the input): the arrow keys move through
// the users found (aria-activedescendant), Enter picks the one on, Escape closes the list (QA:
// only the first user found could be picked by keyboard; Tab to another closed the list and lost
// the focus).

import { useEffect, useId, useRef, useState } from 'react';

import { ApiError, luna } from '../api/client';
import type { User } from '../api/types';
import { useDebounced } from '../lib/hooks';

const handleOf = (text: string) => text.trim().replace(/^@/, '');

/** How long a failed search waits before it is tried again (while the list is open). */
export const SEARCH_RETRY_MS = 3000;

/** A failure that may go away by itself: the server unreachable, a 5xx, a timeout, a rate limit. */
const passing = (e: unknown) => !(e instanceof ApiError) || e.status === 0 || e.status >= 500 || e.status === 408 || e.status === 429;

/** A refusal's message with each field it names and why. */
const why = (e: Error) =>
  e instanceof ApiError && e.details.length ? `${e.message}: ${e.details.map((d) => `${d.field} ${d.message}`).join('; ')}` : e.message;

export function UserSearch({ onPick }: { onPick: (u: User) => void }) {
  const [text, setText] = useState('');
  // The users found, with the handle they were found for.
  const [result, setResult] = useState<{ query: string; users: User[] }>({ query: '', users: [] });
  const [open, setOpen] = useState(false);
  // Why the last search failed, and whether it is tried again.
  const [error, setError] = useState<{ message: string; retry: boolean } | null>(null);
  const [attempt, setAttempt] = useState(0);
  const query = useDebounced(handleOf(text), 200);
  // The handle Enter was pressed on before its results arrived.
  const enterOn = useRef<string | null>(null);
  const pickRef = useRef<(u: User) => void>(() => {});
  // The user the arrow keys are on, in the list shown (-1: none).
  const [activeIdx, setActiveIdx] = useState(-1);
  const listId = useId();
  const optionId = (i: number) => `${listId}-${i}`;
  useEffect(() => setActiveIdx(-1), [result]);
  useEffect(() => {
    if (activeIdx >= 0) document.getElementById(optionId(activeIdx))?.scrollIntoView?.({ block: 'nearest' });
  }, [activeIdx]);

  useEffect(() => {
    const abort = new AbortController();
    luna
      .findUsers(query, 8, abort.signal)
      .then((u) => {
        setResult({ query, users: u });
        setError(null);
        if (enterOn.current === query) {
          enterOn.current = null;
          if (u[0]) pickRef.current(u[0]);
        }
      })
      .catch((e: Error) => {
        if (e.name === 'AbortError') return;
        const retry = passing(e);
        setError({ message: why(e), retry });
        // The users of an earlier text match not this one: none is listed to be picked.
        if (!retry) setResult({ query, users: [] });
      });
    return () => abort.abort();
  }, [query, attempt]);

  useEffect(() => {
    if (!error?.retry || !open) return;
    const id = setTimeout(() => setAttempt((n) => n + 1), SEARCH_RETRY_MS);
    return () => clearTimeout(id);
  }, [error, open, attempt]);

  const pick = (u: User) => {
    onPick(u);
    setText('');
    setOpen(false);
    setActiveIdx(-1);
  };
  pickRef.current = pick;

  const enter = () => {
    const handle = handleOf(text);
    if (result.query !== handle) {
      enterOn.current = handle;
      return;
    }
    if (result.users[0]) pick(result.users[0]);
  };

  const found = result.users;
  const onKey = (e: React.KeyboardEvent) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      if (!open) {
        setOpen(true);
        return;
      }
      if (found.length === 0) return;
      setActiveIdx((i) => (e.key === 'ArrowDown' ? Math.min(found.length - 1, i + 1) : Math.max(0, i - 1)));
    } else if (e.key === 'Enter') {
      // The user the arrows are on, if the list shown is the text's; else the first found.
      if (open && activeIdx >= 0 && found[activeIdx] && result.query === handleOf(text)) pick(found[activeIdx]);
      else enter();
    } else if (e.key === 'Escape') {
      setOpen(false);
      setActiveIdx(-1);
    }
  };
  return (
    <div className="relative">
      <input
        className="input"
        placeholder="Search users by handle, e.g. kai"
        aria-label="search users by handle"
        role="combobox"
        aria-autocomplete="list"
        aria-expanded={open}
        aria-controls={listId}
        aria-activedescendant={open && activeIdx >= 0 ? optionId(activeIdx) : undefined}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setOpen(true);
          setActiveIdx(-1);
          enterOn.current = null;
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
        onKeyDown={onKey}
      />
      {open ? (
        <ul id={listId} className="absolute z-20 mt-1 max-h-80 w-full overflow-y-auto rounded-lg border border-slate-700 bg-slate-900 shadow-xl" role="listbox" aria-label="users found" data-testid="user-results">
          {error ? <li className="px-3 py-2 text-xs text-rose-300">{error.message}</li> : null}
          {!error && found.length === 0 ? <li className="px-3 py-2 text-xs text-slate-500">{result.query ? `No handle starts with “${result.query}”.` : 'No users yet: seed the demo city.'}</li> : null}
          {found.map((u, i) => (
            // An option is not a button inside one: the focus stays in the input (a combobox).
            <li
              key={u.id}
              id={optionId(i)}
              role="option"
              aria-selected={i === activeIdx}
              className={`flex w-full cursor-pointer items-baseline gap-2 px-3 py-1.5 text-left hover:bg-slate-800 ${i === activeIdx ? 'bg-slate-800 ring-1 ring-sky-500 ring-inset' : ''}`}
              onMouseDown={(e) => e.preventDefault()}
              onClick={() => pick(u)}
            >
              <span className="text-sm text-slate-100">@{u.handle}</span>
              <span className="truncate text-xs text-slate-400">{u.name}</span>
              {u.persona ? <span className="ml-auto shrink-0 text-[11px] text-slate-500">{u.persona.replace(/_/g, ' ')}</span> : null}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
