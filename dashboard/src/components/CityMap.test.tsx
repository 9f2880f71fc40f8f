import { act, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { LiveStore } from '../lib/live';
import { CITY } from '../test/city';
import { canvasCalls } from '../test/setup';
import { CategoryLegend, CityMap, tipLeft } from './CityMap';

const all = { heat: true, venues: true, homes: true, bookings: true };

beforeEach(() => {
  canvasCalls.length = 0;
});
afterEach(() => vi.useRealTimers());

const calls = (m: string) => canvasCalls.filter((c) => c.method === m);

describe('CityMap', () => {
  it('draws every venue, the homes and the heat', () => {
    render(<CityMap map={CITY} layers={all} />);
    expect(calls('arc').length).toBeGreaterThanOrEqual(3);
    expect(calls('fillRect').filter((c) => c.args[2] === 1.5)).toHaveLength(2); // the homes
    expect(calls('putImageData')).toHaveLength(1); // the heat
    expect(calls('fillRect').filter((c) => c.args[2] !== 1.5)).toHaveLength(2); // two venues with demand
  });

  it('is named for a screen reader, saying what it draws', () => {
    render(<CityMap map={CITY} layers={{ ...all, homes: false }} />);
    expect(screen.getByRole('application', { name: 'City map: 3 venues by category, demand heat, live bookings' })).toBeInTheDocument();
  });

  it('takes the keyboard: arrows move from venue to venue, said aloud, Enter opens one as a click does', async () => {
    const user = userEvent.setup();
    const picked = vi.fn();
    render(<CityMap map={CITY} layers={all} onSelectVenue={picked} />);
    const map = screen.getByRole('application', { name: /^City map/ });
    await user.tab();
    expect(map).toHaveFocus();
    expect(map).toHaveAccessibleDescription(/Arrow keys: move between venues, Enter opens one/);
    const said = () => screen.getByTestId('map-cursor').textContent;
    expect(said()).toBe('');
    // The first arrow lands on the venue nearest the middle: a2, in the middle of the three.
    await user.keyboard('{ArrowUp}');
    expect(said()).toBe('bar …0000a2: 3 interactions, 0 bookings, demand 0.20');
    await user.keyboard('{ArrowRight}');
    expect(said()).toMatch(/^bar …0000a3/);
    await user.keyboard('{ArrowRight}'); // nothing further east: it stays
    expect(said()).toMatch(/^bar …0000a3/);
    await user.keyboard('{ArrowDown}');
    expect(said()).toMatch(/^bar …0000a2/);
    await user.keyboard('{ArrowLeft}');
    expect(said()).toBe('restaurant …0000a1: 10 interactions, 2 bookings, demand 1.50');
    await user.keyboard('{Enter}');
    expect(picked).toHaveBeenCalledWith(CITY.venues.id[0]);
    await user.keyboard('{Escape}');
    expect(said()).toBe('');
    await user.keyboard(' ');
    expect(picked).toHaveBeenCalledTimes(1); // no cursor, nothing to open
  });

  it('redraws the heat at most once a second when the stream shows new demand', () => {
    vi.useFakeTimers();
    const live = new LiveStore();
    render(<CityMap map={CITY} live={live} layers={{ heat: true, venues: false, homes: false, bookings: false }} />);
    const before = calls('putImageData').length;
    act(() => {
      for (let i = 0; i < 5; i++)
        live.ingest({ id: `${i}-0`, source_id: null, channel: 'user_actions', type: 'interaction.recorded', timestamp: '', data: { venue_id: CITY.venues.id[2] } });
      live.flush();
    });
    expect(calls('putImageData')).toHaveLength(before);
    act(() => vi.advanceTimersByTime(1100));
    expect(calls('putImageData')).toHaveLength(before + 1);
    act(() => vi.advanceTimersByTime(3000));
    expect(calls('putImageData')).toHaveLength(before + 1); // nothing new on the stream
    expect(live.demand.get(CITY.venues.id[2])).toBe(5);
  });

  it('leaves out the layers that are off', () => {
    render(<CityMap map={CITY} layers={{ heat: false, venues: false, homes: false, bookings: false }} />);
    expect(calls('arc')).toHaveLength(0);
    expect(calls('fillRect')).toHaveLength(0);
    expect(calls('putImageData')).toHaveLength(0);
  });

  it('pulses a live booking at its venue', () => {
    const live = new LiveStore();
    render(<CityMap map={CITY} live={live} layers={{ heat: false, venues: false, homes: false, bookings: true }} />);
    expect(calls('stroke')).toHaveLength(0);
    act(() => {
      live.ingest({ id: '1-0', source_id: null, channel: 'bookings', type: 'booking.created', timestamp: '', data: { venue_id: CITY.venues.id[1] } });
      live.flush();
    });
    expect(calls('stroke').length).toBeGreaterThan(0);
  });

  it('labels the overlay people and venues', () => {
    render(
      <CityMap
        map={CITY}
        layers={{ heat: false, venues: true, homes: false, bookings: false }}
        overlay={{ points: [{ lat: 40.71, lng: -73.94, label: '@ana', color: '#fff', kind: 'person' }, { lat: 40.72, lng: -73.93, label: 'Bar One', color: '#38bdf8', kind: 'venue', rank: 1 }], lines: [] }}
      />,
    );
    const texts = calls('fillText').map((c) => c.args[0]);
    expect(texts).toEqual(expect.arrayContaining(['@ana', '1', 'Bar One']));
  });

  it('keeps the hover tip inside the map, a phone-sized one too', () => {
    // Desktop: right of the venue, or left of it near the right edge.
    expect(tipLeft(100, 900)).toBe(114);
    expect(tipLeft(850, 900)).toBe(850 - 14 - 192);
    // A 342 px map (390 px phone): a venue in the middle had its tip start at x - 210 = -40.
    for (const x of [5, 120, 170, 250, 338]) {
      const left = tipLeft(x, 342);
      expect(left).toBeGreaterThanOrEqual(4);
      expect(left + 192).toBeLessThanOrEqual(338);
    }
  });

  it('asks for a seed when the city is empty', () => {
    const empty = { ...CITY, venues: { id: [], lat: [], lng: [], category: [], interactions: [], bookings: [], demand: [] }, bounds: null };
    render(<CityMap map={empty} layers={all} />);
    expect(screen.getByText('No venues yet: seed the demo city to draw it.')).toBeInTheDocument();
  });

  it('counts venues by category in the legend', () => {
    render(<CategoryLegend map={CITY} />);
    expect(screen.getByTestId('category-legend')).toHaveTextContent('restaurant1');
    expect(screen.getByTestId('category-legend')).toHaveTextContent('bar2');
  });
});
