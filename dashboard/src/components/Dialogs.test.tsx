import { act, fireEvent, render, screen } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';

import { getToken, requestToken, setToken } from '../api/auth';
import { TokenDialog } from './Dialogs';

beforeEach(() => sessionStorage.clear());

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
