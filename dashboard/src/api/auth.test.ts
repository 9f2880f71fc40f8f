import { afterEach, describe, expect, it } from 'vitest';

import { adoptUrlToken, getToken, setToken } from './auth';

describe('adoptUrlToken', () => {
  afterEach(() => {
    setToken(null);
    window.history.replaceState(null, '', '/');
  });

  it('moves ?token= from the address bar into sessionStorage', () => {
    window.history.replaceState(null, '', '/inspector?token=abc123&x=1#top');
    adoptUrlToken();
    expect(getToken()).toBe('abc123');
    expect(window.location.pathname + window.location.search + window.location.hash).toBe('/inspector?x=1#top');
  });

  it('leaves a stored token alone when the URL has none', () => {
    setToken('kept');
    window.history.replaceState(null, '', '/');
    adoptUrlToken();
    expect(getToken()).toBe('kept');
  });
});
