import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import type { Stats } from '../api/types';
import { StatsPanel } from './StatsPanel';

const stats: Stats = {
  users: { total: 1200, simulated: 1000, real: 200 },
  venues: { total: 150, trending: 12 },
  bookings: { total: 9, confirmed: 7, by_status: { confirmed: 7, cancelled: 2, pending: 0 } },
  interactions: { total: 5732 },
  social: { edges: 3328, friend_requests: 4, venue_interests: 687, plans: 29 },
  events: { backend: 'memory', per_channel: {}, per_second: 2.5, last_minute: 150, outbox_pending: 0 },
  streams: { active_subscribers: 2, max_subscribers: 1000 },
};

describe('StatsPanel', () => {
  it('shows the counts with their details', () => {
    render(<StatsPanel stats={stats} liveRate={12.5} requestsPerSecond={3} />);
    expect(screen.getByTestId('stat-users-value')).toHaveTextContent('1,200');
    expect(screen.getByTestId('stat-users')).toHaveTextContent('1,000 simulated · 200 real');
    expect(screen.getByTestId('stat-bookings')).toHaveTextContent('7 confirmed · 2 cancelled');
    expect(screen.getByTestId('stat-events-s-value')).toHaveTextContent('12.5');
    expect(screen.getByTestId('stat-streams')).toHaveTextContent('memory bus');
  });

  it('shows dashes before the first answer', () => {
    render(<StatsPanel stats={null} liveRate={0} />);
    expect(screen.getByTestId('stat-users-value')).toHaveTextContent('–');
  });
});
