// Modal dialogs: a confirmation for destructive admin actions, and the admin token prompt
// shown when the server answers 401 (the token is kept in sessionStorage for the session).

import { useEffect, useRef, useState, type ReactNode } from 'react';

import { answerToken, getToken, setAsker, setToken, tokenState } from '../api/auth';
import { ApiError } from '../api/client';
import { ErrorNote, type Refusal } from './ErrorNote';
import { focusLost } from '../lib/focus';

/** What can take the keyboard's focus in `root`, in order. */
const FOCUSABLE = 'button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), a[href], [tabindex]:not([tabindex="-1"])';

/**
 * Gives the focus back to `before` (what opened the dialog). The action can disable or remove it
 * a moment later (Reset data once there is no data, the empty database's Seed button once
 * seeded): for a few seconds, a focus fallen to the page goes to the next control beside it (its
 * section's first enabled one), else to the page's main content.
 */
function giveFocusBack(before: Element | null) {
  const section = before?.closest('section, [role=region]') ?? null;
  if (before instanceof HTMLElement && before.isConnected) before.focus();
  const until = Date.now() + 3000;
  const watch = setInterval(() => {
    if (Date.now() > until) return clearInterval(watch);
    if (!focusLost()) {
      // Still on the opener, or moved on by the user: watch on only while on the opener.
      if (document.activeElement !== before) clearInterval(watch);
      return;
    }
    clearInterval(watch);
    const next = section?.isConnected ? (section.querySelector(FOCUSABLE) as HTMLElement | null) : null;
    const main = document.querySelector('main');
    if (next) next.focus();
    else if (main) {
      main.tabIndex = -1;
      main.focus();
    }
  }, 100);
}

/** Whether the focus is on nothing the keyboard can use in `box`: outside it, or on a control
 * that was disabled under it (the button that started an action). */
const focusOutOf = (box: HTMLElement) => {
  const at = document.activeElement;
  return !box.contains(at) || (at instanceof HTMLElement && at !== box && at.matches(':disabled'));
};

/**
 * `busy`: an action runs and every control in the dialog is disabled. The focus then stays on
 * the dialog itself (it is focusable by script, tabIndex -1), Tab included: QA (keyboard,
 * Chromium) saw the focus fall to the page when the button pressed was disabled, and Tab, with no
 * control left to trap it to, went on to the page behind the modal.
 */
function Modal({ title, children, onClose, testId, busy = false }: { title: string; children: ReactNode; onClose: () => void; testId?: string; busy?: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose();
      if (e.key !== 'Tab' || !box.current) return;
      // A modal dialog keeps Tab and Shift+Tab inside (QA: Tab went on to the page behind it).
      const inside = [...box.current.querySelectorAll<HTMLElement>(FOCUSABLE)];
      if (inside.length === 0) {
        // Every control disabled (an action running): the dialog itself keeps the focus.
        e.preventDefault();
        box.current.focus();
        return;
      }
      const first = inside[0];
      const last = inside[inside.length - 1];
      const at = document.activeElement;
      if (focusOutOf(box.current) || at === box.current || (e.shiftKey && at === first) || (!e.shiftKey && at === last)) {
        e.preventDefault();
        (e.shiftKey ? last : first).focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);
  // While busy the control that had the focus is disabled (a browser drops the focus to the
  // page's body): it goes to the dialog.
  useEffect(() => {
    if (busy && box.current && focusOutOf(box.current)) box.current.focus();
  }, [busy]);
  // Closed, it gives the focus back to what had it (the button that opened it), not to the page.
  // Read as it is first drawn: by its effects, a button in it has taken the focus (autoFocus).
  const [before] = useState(() => document.activeElement);
  useEffect(() => () => giveFocusBack(before), [before]);
  return (
    <div className="fixed inset-0 z-50 flex items-center justify-center bg-slate-950/70 p-4 backdrop-blur-sm" onMouseDown={onClose}>
      <div
        ref={box}
        role="dialog"
        aria-modal="true"
        aria-label={title}
        aria-busy={busy}
        data-testid={testId}
        tabIndex={-1}
        className="w-full max-w-md rounded-xl border border-slate-700 bg-slate-900 p-5 shadow-2xl focus:outline-none"
        onMouseDown={(e) => e.stopPropagation()}
      >
        <h2 className="mb-3 text-base font-semibold text-slate-50">{title}</h2>
        {children}
      </div>
    </div>
  );
}

export interface ConfirmRequest {
  title: string;
  body: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  action: () => Promise<unknown>;
}

/**
 * A failed action stays open with the error: its message, and each invalid field and why when
 * the server names them (a 422 says only "the request has invalid fields" in its message).
 */
export function ConfirmDialog({ request, onDone }: { request: ConfirmRequest; onDone: (error?: string) => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Refusal | null>(null);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      await request.action();
      onDone();
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      // A conflict names its field with the message itself: listed once.
      const details = e instanceof ApiError ? e.details.filter((d) => d.message !== message) : [];
      setError({ message, details });
      setBusy(false);
    }
  };
  return (
    <Modal title={request.title} onClose={() => !busy && onDone()} testId="confirm-dialog" busy={busy}>
      <div className="space-y-3 text-sm text-slate-300">{request.body}</div>
      {error && <ErrorNote error={error} testId="confirm-error-fields" className="mt-3 text-sm" />}
      <div className="mt-5 flex justify-end gap-2">
        {/* A destructive action opens with Cancel focused: an Enter (or a second press of the key
            that opened it) must not delete the data. */}
        <button className="btn" onClick={() => onDone()} disabled={busy} autoFocus={!!request.danger}>
          Cancel
        </button>
        <button className={`btn ${request.danger ? 'btn-danger' : 'btn-primary'}`} onClick={run} disabled={busy} autoFocus={!request.danger}>
          {busy ? 'Working…' : request.confirmLabel}
        </button>
      </div>
    </Modal>
  );
}

/** Mounted once: registers itself as the asker, opens when a call needs the admin token. */
export function TokenDialog({ forceOpen, onClose }: { forceOpen?: boolean; onClose?: () => void }) {
  const [asked, setAsked] = useState(false);
  const [value, setValue] = useState('');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    setAsker(() => setAsked(true));
    return () => setAsker(null);
  }, []);
  const open = asked || forceOpen;
  useEffect(() => {
    if (open) {
      setValue(getToken() ?? '');
      setTimeout(() => input.current?.focus(), 0);
    }
  }, [open]);
  if (!open) return null;
  const close = (token: string | null) => {
    if (asked) answerToken(token);
    else if (token) setToken(token);
    setAsked(false);
    onClose?.();
  };
  return (
    <Modal title="Admin token" onClose={() => close(null)} testId="token-dialog">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          close(value.trim() || null);
        }}
      >
        <p className="mb-3 text-sm text-slate-400">
          {tokenState() === 'refused' ? 'The server refused this admin token: enter a working one. ' : asked ? 'The server asks for the admin token. ' : ''}It is kept in this tab for the session and sent with every admin call.
        </p>
        <input
          ref={input}
          className="input font-mono"
          type="password"
          autoComplete="off"
          placeholder="admin token"
          aria-label="admin token"
          value={value}
          onChange={(e) => setValue(e.target.value)}
        />
        <div className="mt-5 flex justify-end gap-2">
          {!asked && getToken() ? (
            <button
              type="button"
              className="btn btn-ghost mr-auto"
              onClick={() => {
                setToken(null);
                close(null);
              }}
            >
              Forget token
            </button>
          ) : null}
          <button type="button" className="btn" onClick={() => close(null)}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={!value.trim()}>
            Use token
          </button>
        </div>
      </form>
    </Modal>
  );
}
