import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { beforeEach, describe, expect, it, vi } from 'vitest';

import { getToken, requestToken, setToken } from '../api/auth';
import { ConfirmDialog, type ConfirmRequest, TokenDialog } from './Dialogs';

// setToken(null) also forgets a cancel an earlier test made.
beforeEach(() => setToken(null));

describe('TokenDialog', () => {
  it('opens when a call asks for the token, and hands the answer to it', async () => {
    render(<TokenDialog />);
    expect(screen.queryByRole('dialog')).toBeNull();
    let asked!: Promise<string>;
    act(() => {
      asked = requestToken();
    });
    fireEvent.change(screen.getByLabelText('admin token'), { target: { value: '  abc123 ' } });
    fireEvent.click(screen.getByRole('button', { name: 'Use token' }));
    await expect(asked).resolves.toBe('abc123');
    expect(getToken()).toBe('abc123');
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('rejects the waiting call when cancelled', async () => {
    render(<TokenDialog />);
    let asked!: Promise<string>;
    act(() => {
      asked = requestToken();
    });
    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    await expect(asked).rejects.toThrow('an admin token is required');
    expect(getToken()).toBeNull();
  });

  it("is not asked again after a cancel (the polls' next 401s reopened it every few seconds) until a token is set", async () => {
    render(<TokenDialog />);
    let asked!: Promise<string>;
    act(() => {
      asked = requestToken();
    });
    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    await expect(asked).rejects.toThrow('an admin token is required');
    act(() => {
      asked = requestToken();
    });
    await expect(asked).rejects.toThrow('an admin token is required');
    expect(screen.queryByRole('dialog')).toBeNull();
    // A token set by hand (the header's button), then refused: asked again.
    act(() => setToken('typed'));
    act(() => {
      asked = requestToken();
    });
    expect(screen.getByRole('dialog')).toBeInTheDocument();
    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    await expect(asked).rejects.toThrow('an admin token is required');
    setToken(null);
  });

  it('sets and forgets the token when opened by hand', () => {
    setToken('old');
    const { rerender } = render(<TokenDialog forceOpen />);
    expect(screen.getByLabelText('admin token')).toHaveValue('old');
    fireEvent.click(screen.getByRole('button', { name: 'Forget token' }));
    expect(getToken()).toBeNull();
    rerender(<TokenDialog forceOpen />);
    fireEvent.change(screen.getByLabelText('admin token'), { target: { value: 'new' } });
    fireEvent.click(screen.getByRole('button', { name: 'Use token' }));
    expect(getToken()).toBe('new');
  });
});

describe('ConfirmDialog', () => {
  function Opener({ request }: { request: ConfirmRequest }) {
    const [open, setOpen] = useState(false);
    return (
      <>
        <button onClick={() => setOpen(true)}>Reset data</button>
        {open ? <ConfirmDialog request={request} onDone={() => setOpen(false)} /> : null}
      </>
    );
  }

  it('opens a destructive action with Cancel focused, and gives the focus back when closed', () => {
    const action = vi.fn(async () => {});
    render(<Opener request={{ title: 'Delete all data?', body: null, confirmLabel: 'Delete everything', danger: true, action }} />);
    const opener = screen.getByRole('button', { name: 'Reset data' });
    opener.focus();
    fireEvent.click(opener);
    expect(screen.getByRole('button', { name: 'Cancel' })).toHaveFocus();
    fireEvent.keyDown(window, { key: 'Escape' });
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(opener).toHaveFocus();
    expect(action).not.toHaveBeenCalled();
  });

  it('opens a harmless action with its button focused', () => {
    render(<ConfirmDialog request={{ title: 'Seed the demo city?', body: null, confirmLabel: 'Seed', action: async () => {} }} onDone={() => {}} />);
    expect(screen.getByRole('button', { name: 'Seed' })).toHaveFocus();
  });

  it('keeps Tab and Shift+Tab inside the open dialog', async () => {
    // QA (keyboard only, Chromium): Tab from 'Delete everything' went on to the page behind the
    // modal (its header links), the dialog still open.
    const user = userEvent.setup();
    render(<Opener request={{ title: 'Delete all data?', body: null, confirmLabel: 'Delete everything', danger: true, action: async () => {} }} />);
    await user.click(screen.getByRole('button', { name: 'Reset data' }));
    const cancel = screen.getByRole('button', { name: 'Cancel' });
    const confirm = screen.getByRole('button', { name: 'Delete everything' });
    expect(cancel).toHaveFocus();
    await user.tab();
    expect(confirm).toHaveFocus();
    await user.tab();
    expect(cancel).toHaveFocus();
    await user.tab({ shift: true });
    expect(confirm).toHaveFocus();
  });

  it('keeps the focus in the dialog while its action runs, every control disabled, Tab included', async () => {
    // QA (keyboard, Chromium): while 'Delete everything' ran both buttons were disabled, so the
    // focus fell to the page and Tab went on to the page behind the modal.
    const user = userEvent.setup();
    let fail!: (e: Error) => void;
    const action = () => new Promise<void>((_, reject) => (fail = reject));
    render(
      <>
        <Opener request={{ title: 'Delete all data?', body: null, confirmLabel: 'Delete everything', danger: true, action }} />
        <a href="/behind">a link behind the dialog</a>
      </>,
    );
    await user.click(screen.getByRole('button', { name: 'Reset data' }));
    await user.click(screen.getByRole('button', { name: 'Delete everything' }));
    const dialog = screen.getByRole('dialog', { name: 'Delete all data?' });
    expect(screen.getByRole('button', { name: 'Working…' })).toBeDisabled();
    expect(screen.getByRole('button', { name: 'Cancel' })).toBeDisabled();
    expect(dialog).toHaveAttribute('aria-busy', 'true');
    expect(dialog).toHaveFocus();
    await user.tab();
    expect(dialog).toHaveFocus();
    await user.tab({ shift: true });
    expect(dialog).toHaveFocus();
    // Refused: the controls are back, and Tab goes from the dialog to them, not past them.
    await act(async () => fail(new Error('the server is busy')));
    expect(screen.getByRole('alert')).toHaveTextContent('the server is busy');
    await user.tab({ shift: true });
    expect(screen.getByRole('button', { name: 'Delete everything' })).toHaveFocus();
    await user.tab();
    expect(screen.getByRole('button', { name: 'Cancel' })).toHaveFocus();
  });

  it('gives the focus to the next control beside the opener when the action disabled the opener', async () => {
    // QA: after 'Delete everything' the focus fell to the page's body: the Reset data button it
    // went back to is disabled once there is no data.
    const user = userEvent.setup();
    function Panel() {
      const [open, setOpen] = useState(false);
      const [empty, setEmpty] = useState(false);
      return (
        <section>
          <button>Seed demo data</button>
          <button disabled={empty} onClick={() => setOpen(true)}>
            Reset data
          </button>
          {open ? (
            <ConfirmDialog
              request={{ title: 'Delete all data?', body: null, confirmLabel: 'Delete everything', danger: true, action: async () => setTimeout(() => setEmpty(true), 50) }}
              onDone={() => setOpen(false)}
            />
          ) : null}
        </section>
      );
    }
    render(<Panel />);
    await user.click(screen.getByRole('button', { name: 'Reset data' }));
    await user.click(screen.getByRole('button', { name: 'Delete everything' }));
    await waitFor(() => expect(screen.getByRole('button', { name: 'Reset data' })).toBeDisabled());
    await waitFor(() => expect(screen.getByRole('button', { name: 'Seed demo data' })).toHaveFocus());
  });
});
