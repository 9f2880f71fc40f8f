// Find a user by the start of their handle (`GET /api/v1/users?handle=`), pick from the list.

import { useEffect, useState } from 'react';

import { luna } from '../api/client';
import type { User } from '../api/types';
import { useDebounced } from '../lib/hooks';

export function UserSearch({ onPick }: { onPick: (u: User) => void }) {
  const [text, setText] = useState('');
  const [found, setFound] = useState<User[]>([]);
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const query = useDebounced(text.trim().replace(/^@/, ''), 200);

  useEffect(() => {
    const abort = new AbortController();
    luna
      .findUsers(query, 8, abort.signal)
      .then((u) => {
        setFound(u);
        setError(null);
      })
      .catch((e: Error) => {
        if (e.name !== 'AbortError') setError(e.message);
      });
    return () => abort.abort();
  }, [query]);

  const pick = (u: User) => {
    onPick(u);
    setText('');
    setOpen(false);
  };

  return (
    <div className="relative">
      <input
        className="input"
        placeholder="Search users by handle, e.g. kai"
        aria-label="search users by handle"
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setOpen(true);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && found[0]) pick(found[0]);
          if (e.key === 'Escape') setOpen(false);
        }}
      />
      {open ? (
        <ul className="absolute z-20 mt-1 max-h-80 w-full overflow-y-auto rounded-lg border border-slate-700 bg-slate-900 shadow-xl" role="listbox" data-testid="user-results">
          {error ? <li className="px-3 py-2 text-xs text-rose-300">{error}</li> : null}
          {!error && found.length === 0 ? <li className="px-3 py-2 text-xs text-slate-500">{query ? `No handle starts with “${query}”.` : 'No users yet: seed the demo city.'}</li> : null}
          {found.map((u) => (
            <li key={u.id} role="option" aria-selected={false}>
              <button className="flex w-full items-baseline gap-2 px-3 py-1.5 text-left hover:bg-slate-800" onMouseDown={(e) => e.preventDefault()} onClick={() => pick(u)}>
                <span className="text-sm text-slate-100">@{u.handle}</span>
                <span className="truncate text-xs text-slate-400">{u.name}</span>
                {u.persona ? <span className="ml-auto shrink-0 text-[11px] text-slate-500">{u.persona.replace(/_/g, ' ')}</span> : null}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
