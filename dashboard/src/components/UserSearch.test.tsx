import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { User } from '../api/types';
import { json, mockFetch } from '../test/fetch';
import { SEARCH_RETRY_MS, UserSearch } from './UserSearch';

const user = (n: number, handle: string): User => ({
  id: `00000000-0000-0000-0000-00000000000${n}`,
  handle,
  name: handle.toUpperCase(),
  age: 30,
  home_lat: null,
  home_lng: null,
  city: null,
  persona: null,
  activity_score: 0.5,
  social_score: 0.5,
});
const users = [user(1, 'ana'), user(2, 'ben'), user(3, 'zara')];

afterEach(() => vi.unstubAllGlobals());

describe('UserSearch', () => {
  it('searches again once the server is back, instead of going on saying it cannot be reached', async () => {
    let down = true;
    const { calls } = mockFetch({
      'GET /api/v1/users': () => {
        if (down) throw new TypeError('Failed to fetch');
        return [users[0]];
      },
    });
    render(<UserSearch onPick={() => {}} />);
    const input = screen.getByLabelText('search users by handle');
    fireEvent.focus(input);
    fireEvent.change(input, { target: { value: 'an' } });
    // The search for the text typed failed (not only the first, for no text).
    await waitFor(() => expect(calls.some((c) => c.url.includes('handle=an'))).toBe(true));
    expect(await screen.findByText('The Luna server cannot be reached')).toBeInTheDocument();
    down = false;
    // The same text, nothing typed: the list follows the server back.
    expect(await screen.findByRole('option', { name: /@ana/ }, { timeout: SEARCH_RETRY_MS + 2000 })).toBeInTheDocument();
    expect(screen.queryByText('The Luna server cannot be reached')).toBeNull();
  });

  it('says why a search is refused, lists nobody for it and does not ask again', async () => {
    // QA (real binary): a 150-character text was refused (handle at most 100 characters) and asked
    // again every 3 s; the list said only 'the request has invalid fields', over the users found
    // for the text before it.
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      const { calls } = mockFetch({
        'GET /api/v1/users': (c) => {
          const handle = new URL(c.url, 'http://x').searchParams.get('handle') ?? '';
          if (handle.length > 100) {
            return json({ error: { code: 'validation_failed', message: 'the request has invalid fields', details: [{ field: 'handle', message: 'must be at most 100 characters' }] } }, 422);
          }
          return users.filter((u) => u.handle.startsWith(handle));
        },
      });
      render(<UserSearch onPick={() => {}} />);
      const input = screen.getByLabelText('search users by handle');
      fireEvent.focus(input);
      expect(await screen.findByRole('option', { name: /@ana/ })).toBeInTheDocument();
      fireEvent.change(input, { target: { value: 'a'.repeat(150) } });
      expect(await screen.findByText('the request has invalid fields: handle must be at most 100 characters')).toBeInTheDocument();
      expect(screen.queryAllByRole('option')).toHaveLength(0);
      const asked = calls.filter((c) => c.url.includes('a'.repeat(150))).length;
      expect(asked).toBe(1);
      await vi.advanceTimersByTimeAsync(SEARCH_RETRY_MS * 3);
      expect(calls.filter((c) => c.url.includes('a'.repeat(150))).length).toBe(asked);
      // A text it takes lists its users again.
      fireEvent.change(input, { target: { value: 'b' } });
      expect(await screen.findByRole('option', { name: /@ben/ })).toBeInTheDocument();
      expect(screen.queryByText(/invalid fields/)).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });

  it('picks on Enter from the results of the text typed, not from an earlier list', async () => {
    mockFetch({ 'GET /api/v1/users': (c) => users.filter((u) => u.handle.startsWith(new URL(c.url, 'http://x').searchParams.get('handle') ?? '')) });
    const onPick = vi.fn();
    render(<UserSearch onPick={onPick} />);
    const input = screen.getByLabelText('search users by handle');
    fireEvent.focus(input);
    // The unfiltered list is shown first.
    expect(await screen.findByRole('option', { name: /@ana/ })).toBeInTheDocument();

    fireEvent.change(input, { target: { value: 'zara' } });
    fireEvent.keyDown(input, { key: 'Enter' });
    expect(onPick).not.toHaveBeenCalled();
    await waitFor(() => expect(onPick).toHaveBeenCalledTimes(1));
    expect(onPick).toHaveBeenCalledWith(users[2]);
    expect(input).toHaveValue('');
  });

  it('forgets an Enter once the text changes', async () => {
    const { calls } = mockFetch({ 'GET /api/v1/users': (c) => users.filter((u) => u.handle.startsWith(new URL(c.url, 'http://x').searchParams.get('handle') ?? '')) });
    const onPick = vi.fn();
    render(<UserSearch onPick={onPick} />);
    const input = screen.getByLabelText('search users by handle');
    fireEvent.change(input, { target: { value: 'za' } });
    fireEvent.keyDown(input, { key: 'Enter' });
    fireEvent.change(input, { target: { value: 'b' } });
    await waitFor(() => expect(calls.some((c) => c.url.includes('handle=b'))).toBe(true));
    expect(await screen.findByRole('option', { name: /@ben/ })).toBeInTheDocument();
    expect(onPick).not.toHaveBeenCalled();
  });

  it('is a combobox: the arrow keys move through the users found, Enter picks the one on, Escape closes', async () => {
    // QA (keyboard only, Chromium): only the first user found could be picked; Tab to another
    // left the input, which closed the list, and the focus fell to the page's body.
    mockFetch({ 'GET /api/v1/users': () => users });
    const onPick = vi.fn();
    const user = userEvent.setup();
    render(<UserSearch onPick={onPick} />);
    const input = screen.getByRole('combobox', { name: 'search users by handle' });
    await user.click(input);
    expect(await screen.findByRole('option', { name: /@zara/ })).toBeInTheDocument();
    expect(input).toHaveAttribute('aria-expanded', 'true');
    expect(input).not.toHaveAttribute('aria-activedescendant');
    await user.keyboard('{ArrowDown}{ArrowDown}{ArrowDown}{ArrowDown}');
    const zara = screen.getByRole('option', { name: /@zara/ });
    expect(input).toHaveAttribute('aria-activedescendant', zara.id);
    expect(zara).toHaveAttribute('aria-selected', 'true');
    await user.keyboard('{ArrowUp}');
    expect(input).toHaveAttribute('aria-activedescendant', screen.getByRole('option', { name: /@ben/ }).id);
    await user.keyboard('{Enter}');
    expect(onPick).toHaveBeenCalledWith(users[1]);
    expect(input).toHaveFocus();
    // Opened again by an arrow; Escape closes it.
    await user.keyboard('{ArrowDown}');
    expect(await screen.findByRole('listbox')).toBeInTheDocument();
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('listbox')).toBeNull();
    expect(input).toHaveAttribute('aria-expanded', 'false');
  });
});
