import { fireEvent, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';

import { ApiError } from '../api/client';
import type { Health } from '../api/types';
import { HEALTHY as healthy } from '../test/health';
import { HealthIndicator } from './HealthIndicator';

describe('HealthIndicator', () => {
  it('says healthy in green, as a link a keyboard reaches', async () => {
    const onOpen = vi.fn();
    render(<HealthIndicator health={healthy} error={null} onOpen={onOpen} />);
    const link = screen.getByRole('link', { name: /^Server health: healthy\./ });
    expect(link).toHaveAttribute('data-state', 'healthy');
    expect(link).toHaveTextContent(/^healthy$/);
    expect(link).toHaveClass('text-emerald-200');
    await userEvent.tab();
    expect(link).toHaveFocus();
    await userEvent.keyboard('{Enter}');
    expect(onOpen).toHaveBeenCalledTimes(1);
  });

  it('says degraded in red with why, in a few words', () => {
    const degraded: Health = {
      ...healthy,
      status: 'degraded',
      bus: { status: 'unavailable', backend: 'redis', trim_failures: 2, trim_error: 'NOPERM no permissions to run the eval command' },
      tasks: { ...healthy.tasks, relay: { status: 'down', restarts: 2, last_failure: 'panicked: boom' } },
    };
    render(<HealthIndicator health={degraded} error={null} onOpen={() => {}} />);
    const link = screen.getByTestId('health-indicator');
    expect(link).toHaveAttribute('data-state', 'degraded');
    expect(link).toHaveClass('text-rose-200');
    expect(link).toHaveTextContent('degraded · bus unavailable, task relay down, bus trims failing');
    expect(link).toHaveAccessibleName('Server health: degraded: bus unavailable, task relay down, bus trims failing. Show the health row.');
    expect(link).toHaveAttribute('title', 'degraded: bus unavailable; task relay down; bus trims failing');
  });

  it('says unreachable in red when /health cannot be fetched, even after a healthy answer', () => {
    render(<HealthIndicator health={healthy} error={new ApiError(0, 'unreachable', 'The Luna server cannot be reached')} onOpen={() => {}} />);
    const link = screen.getByTestId('health-indicator');
    expect(link).toHaveAttribute('data-state', 'unreachable');
    expect(link).toHaveTextContent(/^unreachable$/);
    expect(link).toHaveClass('text-rose-200');
    expect(link).toHaveAccessibleName('Server health: unreachable. Show the health row.');
  });

  it('shows the health row when clicked, not a page load', () => {
    const onOpen = vi.fn();
    render(<HealthIndicator health={null} error={null} onOpen={onOpen} />);
    const link = screen.getByTestId('health-indicator');
    expect(link).toHaveTextContent('checking…');
    expect(fireEvent.click(link)).toBe(false); // default prevented
    expect(onOpen).toHaveBeenCalledTimes(1);
  });
});
