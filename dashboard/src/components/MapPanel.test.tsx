import { act, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { LiveStore } from '../lib/live';
import { CITY } from '../test/city';
import { mockFetch } from '../test/fetch';
import { MapPanel, MapSummary } from './MapPanel';

const venueId = CITY.venues.id[1];
const venue = { id: venueId, name: 'Bar One', category: 'bar', cuisine: null, price_level: 2, rating: 4.2, address: '1 Main St', description: null, lat: 40.72, lng: -73.93 };

afterEach(() => vi.unstubAllGlobals());

describe('MapPanel', () => {
  it('opens a venue picked again after its card was closed', async () => {
    mockFetch({ [`GET /api/v1/venues/${venueId}`]: () => venue });
    const live = new LiveStore();
    act(() => {
      live.ingest({ id: '1-0', source_id: null, channel: 'bookings', type: 'booking.created', timestamp: '', data: { venue_id: venueId } });
      live.flush();
    });
    render(<MapPanel map={CITY} live={live} error={null} />);
    const link = screen.getByRole('button', { name: /^bar …/ });

    fireEvent.click(link);
    expect(await screen.findByTestId('picked-venue')).toHaveTextContent('Bar One');
    fireEvent.click(screen.getByRole('button', { name: 'close' }));
    expect(screen.queryByTestId('picked-venue')).toBeNull();

    fireEvent.click(link);
    expect(await screen.findByTestId('picked-venue')).toHaveTextContent('Bar One');
  });

  it('counts the bookings made in the last 45 s, not every event of the bookings channel', () => {
    const live = new LiveStore();
    const ev = (type: string, n: number) =>
      live.ingest({ id: `${n}-0`, source_id: null, channel: 'bookings', type, timestamp: '', data: { venue_id: venueId } });
    act(() => {
      ev('booking.created', 1);
      ev('booking.status_changed', 2);
      ev('booking.refused', 3);
      ev('plan.confirmed', 4);
      ev('booking.created', 5);
      live.flush();
    });
    render(<MapSummary map={CITY} live={live} />);
    expect(screen.getByTestId('map-summary')).toHaveTextContent('2 bookings made in the last 45 s');
  });
});
