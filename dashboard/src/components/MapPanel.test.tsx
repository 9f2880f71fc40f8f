import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { LiveStore } from '../lib/live';
import { CITY } from '../test/city';
import { json, mockFetch } from '../test/fetch';
import { MapPanel, MapSummary } from './MapPanel';

const venueId = CITY.venues.id[1];
const venue = { id: venueId, name: 'Bar One', category: 'bar', cuisine: null, price_level: 2, rating: 4.2, address: '1 Main St', description: null, lat: 40.72, lng: -73.93 };

afterEach(() => vi.unstubAllGlobals());

/** The map page after one booking at `venueId`, whose entry in the latest list links to it. */
function showMapWithABooking() {
  const live = new LiveStore();
  act(() => {
    live.ingest({ id: '1-0', source_id: null, channel: 'bookings', type: 'booking.created', timestamp: '', data: { venue_id: venueId } });
    live.flush();
  });
  render(<MapPanel map={CITY} live={live} error={null} />);
  /** A system event on the stream. */
  const sys = (type: string, data: unknown) => act(() => live.ingest({ id: `${type}-0`, source_id: null, channel: 'system', type, timestamp: '', data }));
  return { live, sys, link: screen.getByRole('button', { name: /^bar …/ }) };
}

describe('MapPanel', () => {
  it('says which heat is drawn, not only by colour', () => {
    // QA (keyboard and screen reader on the real binary): 'recent demand' and 'all-time' were
    // two plain buttons, the one on told by its colour alone.
    render(<MapPanel map={CITY} live={new LiveStore()} error={null} />);
    const heat = screen.getByRole('group', { name: 'heat of' });
    const recent = heat.querySelectorAll('button')[0];
    const all = heat.querySelectorAll('button')[1];
    expect([recent, all].map((b) => b.getAttribute('aria-pressed')).filter((p) => p === 'true')).toHaveLength(1);
    fireEvent.click(all);
    expect(all).toHaveAttribute('aria-pressed', 'true');
    expect(recent).toHaveAttribute('aria-pressed', 'false');
    fireEvent.click(recent);
    expect(recent).toHaveAttribute('aria-pressed', 'true');
    expect(all).toHaveAttribute('aria-pressed', 'false');
  });

  it('opens a venue picked again after its card was closed', async () => {
    mockFetch({ [`GET /api/v1/venues/${venueId}`]: () => venue });
    const { link } = showMapWithABooking();

    fireEvent.click(link);
    expect(await screen.findByTestId('picked-venue')).toHaveTextContent('Bar One');
    fireEvent.click(screen.getByRole('button', { name: 'close' }));
    expect(screen.queryByTestId('picked-venue')).toBeNull();

    fireEvent.click(link);
    expect(await screen.findByTestId('picked-venue')).toHaveTextContent('Bar One');
  });

  it('closes the picked venue’s card when the venue is deleted, or the data reset', async () => {
    mockFetch({ [`GET /api/v1/venues/${venueId}`]: () => venue });
    const { sys, link } = showMapWithABooking();
    fireEvent.click(link);
    expect(await screen.findByTestId('picked-venue')).toHaveTextContent('Bar One');
    sys('venue.deleted', { venue_id: CITY.venues.id[0] }); // another venue: stays
    expect(screen.getByTestId('picked-venue')).toBeInTheDocument();
    sys('venue.deleted', { venue_id: venueId });
    expect(screen.queryByTestId('picked-venue')).toBeNull();
    fireEvent.click(link);
    expect(await screen.findByTestId('picked-venue')).toHaveTextContent('Bar One');
    sys('data.reset', {});
    expect(screen.queryByTestId('picked-venue')).toBeNull();
  });

  it('describes the picked venue as its venue.updated event has it', async () => {
    // QA on the real binary: a venue renamed through the API kept its old name on its card.
    mockFetch({ [`GET /api/v1/venues/${venueId}`]: () => venue });
    const { sys, link } = showMapWithABooking();
    fireEvent.click(link);
    expect(await screen.findByTestId('picked-venue')).toHaveTextContent('Bar One');
    sys('venue.updated', { ...venue, id: CITY.venues.id[0], name: 'Another' }); // another venue: unchanged
    expect(screen.getByTestId('picked-venue')).toHaveTextContent('Bar One');
    sys('venue.updated', { ...venue, name: 'Bar One Renamed', category: 'karaoke' });
    expect(screen.getByTestId('picked-venue')).toHaveTextContent('Bar One Renamed');
    expect(screen.getByTestId('picked-venue')).toHaveTextContent('karaoke');
  });

  it('says why a picked venue could not be shown: gone, or the server unreachable', async () => {
    let answer: () => unknown = () => json({ error: { code: 'not_found', message: 'venue not found', details: null } }, 404);
    mockFetch({ [`GET /api/v1/venues/${venueId}`]: () => answer() });
    const { link } = showMapWithABooking();
    fireEvent.click(link);
    expect(await screen.findByTestId('picked-venue-error')).toHaveTextContent(`Venue …${venueId.slice(-6)} no longer exists.`);
    answer = () => {
      throw new TypeError('Failed to fetch');
    };
    fireEvent.click(link);
    expect(await screen.findByText(/could not be loaded/)).toBeInTheDocument();
    answer = () => venue;
    fireEvent.click(link);
    expect(await screen.findByTestId('picked-venue')).toHaveTextContent('Bar One');
    expect(screen.queryByTestId('picked-venue-error')).toBeNull();
  });

  it('opens a venue from the map by keyboard, keeping the focus on the map and saying what opened', async () => {
    mockFetch({ [`GET /api/v1/venues/${venueId}`]: () => venue });
    const user = userEvent.setup();
    render(<MapPanel map={CITY} live={new LiveStore()} error={null} />);
    const map = screen.getByRole('application', { name: /^City map/ });
    act(() => map.focus());
    await user.keyboard('{ArrowUp}{Enter}'); // the venue nearest the middle: a2, the bar
    const card = await screen.findByTestId('picked-venue');
    expect(card).toHaveTextContent('Bar One');
    expect(map).toHaveFocus();
    // The card arrives in a live region that was there before it: a screen reader hears it.
    expect(card.closest('[aria-live=polite]')).not.toBeNull();
  });

  it('brings the opened venue’s card into view, the focus staying on the map', async () => {
    // QA (390 px phone, real binary): the card opened 1,145 px down, under the map and the
    // layers, and opening a venue seemed to do nothing.
    mockFetch({ [`GET /api/v1/venues/${venueId}`]: () => venue });
    const scrolled: Element[] = [];
    const scrollIntoView = vi.fn(function (this: Element) {
      scrolled.push(this);
    });
    const original = Object.getOwnPropertyDescriptor(Element.prototype, 'scrollIntoView');
    Element.prototype.scrollIntoView = scrollIntoView;
    try {
      const user = userEvent.setup();
      render(<MapPanel map={CITY} live={new LiveStore()} error={null} />);
      const map = screen.getByRole('application', { name: /^City map/ });
      act(() => map.focus());
      await user.keyboard('{ArrowUp}{Enter}');
      const card = await screen.findByTestId('picked-venue');
      await waitFor(() => expect(scrolled).toContain(card));
      expect(scrollIntoView).toHaveBeenCalledWith({ block: 'nearest' });
      expect(map).toHaveFocus();
    } finally {
      if (original) Object.defineProperty(Element.prototype, 'scrollIntoView', original);
      else delete (Element.prototype as { scrollIntoView?: unknown }).scrollIntoView;
    }
  });

  it('names the latest booking activity in words, not by the events’ raw names', () => {
    // QA (real binary): the list read 'status_changed', 'created', 'plan.confirmed'.
    const live = new LiveStore();
    const ev = (type: string, n: number, data: Record<string, unknown>) =>
      live.ingest({ id: `${n}-0`, source_id: null, channel: 'bookings', type, timestamp: '', data });
    act(() => {
      ev('booking.created', 1, { venue_id: venueId, status: 'pending' });
      ev('booking.status_changed', 2, { venue_id: venueId, status: 'no_show' });
      ev('booking.refused', 3, { venue_id: venueId, seats_free: 1, capacity: 40 });
      ev('plan.confirmed', 4, { venue_id: venueId, status: 'confirmed' });
      live.flush();
    });
    render(<MapPanel map={CITY} live={live} error={null} />);
    const rows = screen.getAllByTestId('booking-activity-words');
    // Newest first.
    expect(rows.map((r) => r.textContent)).toEqual(['plan confirmed', 'refused: full', 'now no show', 'booked']);
    expect(rows[2]).toHaveAttribute('title', 'booking.status_changed');
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
