import { act, fireEvent, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import type { LunaEvent } from '../api/types';
import { LiveStore } from '../lib/live';
import { NameBook } from '../lib/names';
import { EventFeed } from './EventFeed';

let n = 0;
const ev = (channel: LunaEvent['channel'], type: string, data: unknown = {}): LunaEvent => ({
  id: `${++n}-0`,
  source_id: null,
  channel,
  type,
  timestamp: '2026-11-30T08:00:00Z',
  data,
});

function feedWith(events: LunaEvent[]) {
  const live = new LiveStore();
  events.forEach((e) => live.ingest(e));
  render(<EventFeed live={live} />);
  const rows = () => within(screen.getByTestId('event-feed')).queryAllByRole('row');
  return { live, rows };
}

describe('EventFeed', () => {
  it('says how many events the server dropped for this view, and nothing when none', () => {
    // QA: the stream counted the events missed by a slow reader; nothing showed the number.
    const live = new LiveStore();
    const { rerender } = render(<EventFeed live={live} />);
    expect(screen.queryByTestId('feed-missed')).toBeNull();
    rerender(<EventFeed live={live} missed={1} />);
    expect(screen.getByTestId('feed-missed')).toHaveTextContent('1 event was missed by this view (the server dropped them for a slow connection)');
    rerender(<EventFeed live={live} missed={1250} />);
    expect(screen.getByRole('status')).toHaveTextContent(/^1,250 events were missed by this view \(the server dropped them for a slow connection\)/);
  });

  it('lists the newest events first, colour-coded by channel, with a summary', () => {
    const { rows } = feedWith([
      ev('user_actions', 'interaction.recorded', { interaction_type: 'like', user_id: 'u-aaaaaa', venue_id: 'v-bbbbbb' }),
      ev('bookings', 'booking.created', { venue_id: 'v-cccccc', status: 'confirmed', party_size: 3 }),
    ]);
    expect(rows().map((r) => r.dataset.channel)).toEqual(['bookings', 'user_actions']);
    expect(rows()[0]).toHaveTextContent('booking made');
    expect(rows()[0]).toHaveTextContent('party of 3 at venue …cccccc · confirmed');
    const type = within(rows()[0]).getByText('booking made');
    expect(type).toHaveStyle({ color: '#34d399' });
    expect(screen.getByTestId('feed-total')).toHaveTextContent('2 received');
  });

  it('names each event’s type in words, its raw name in the title, and filters by either', () => {
    // QA: the type column showed raw event names ('plan.confirmed', 'user.preferences_updated').
    const { rows } = feedWith([
      ev('bookings', 'plan.confirmed', { id: 'p-1', venue_id: 'v-cccccc', status: 'confirmed', participants: [] }),
      ev('user_actions', 'user.preferences_updated', { user_id: 'u-aaaaaa', preferences: {} }),
      ev('system', 'venue.renamed', { venue_id: 'v-cccccc' }),
    ]);
    const types = () => rows().map((r) => within(r).getByTestId('event-type'));
    expect(types().map((t) => t.textContent)).toEqual(['venue renamed', 'preferences updated', 'plan confirmed']);
    expect(types().map((t) => t.title)).toEqual(['venue.renamed', 'user.preferences_updated', 'plan.confirmed']);
    fireEvent.change(screen.getByLabelText('filter events'), { target: { value: 'plan confirmed' } });
    expect(types().map((t) => t.title)).toEqual(['plan.confirmed']);
    fireEvent.change(screen.getByLabelText('filter events'), { target: { value: 'user.preferences' } });
    expect(types().map((t) => t.title)).toEqual(['user.preferences_updated']);
  });

  it('gives the summary a line of its own on a phone, beside the time and type from sm up', () => {
    // At 390 px the time and the type's fixed column left the summary no width at all.
    const { rows } = feedWith([ev('user_actions', 'interaction.recorded', { interaction_type: 'like', user_id: 'u-aaaaaa', venue_id: 'v-bbbbbb' })]);
    const summary = within(rows()[0]).getByTestId('event-summary');
    expect(summary).toHaveTextContent('like by …aaaaaa at venue …bbbbbb');
    expect(summary).toHaveClass('basis-full', 'sm:basis-0', 'sm:flex-1', 'sm:truncate', 'break-words');
    // Wrapped, not cut at one line, on a phone (QA at 390 px: 'party of 5 at restaurant …4b8238 · confirme…').
    expect(summary).not.toHaveClass('truncate');
    expect(summary.parentElement).toHaveClass('flex-wrap', 'sm:flex-nowrap');
  });

  it('shows times in the simulated city\'s zone, given or named by a simulation event, else in UTC', () => {
    const booked = ev('bookings', 'booking.created', { venue_id: 'v-cccccc', status: 'confirmed', booking_time: '2026-11-21T01:00:00Z' });
    const live = new LiveStore();
    live.ingest(booked);
    const { unmount } = render(<EventFeed live={live} />);
    expect(screen.getByTestId('event-feed')).toHaveTextContent('confirmed · 01:00 UTC');
    unmount();
    render(<EventFeed live={live} zone="America/New_York" />);
    expect(screen.getByTestId('event-feed')).toHaveTextContent('confirmed · 20:00 EST');
  });

  it('takes the zone from the newest simulation event when none is given', () => {
    const { rows } = feedWith([
      ev('simulation', 'simulation.started', { status: 'running', timezone: 'Europe/Paris', simulation_time: '2026-11-20T18:00:00Z' }),
      ev('bookings', 'booking.created', { venue_id: 'v-cccccc', status: 'confirmed', booking_time: '2026-11-21T01:00:00Z' }),
    ]);
    expect(rows()[0]).toHaveTextContent('02:00 GMT+1');
    expect(rows()[1]).toHaveTextContent('sim 19:00 GMT+1');
  });

  it('hides a channel when its chip is switched off, and filters by text', () => {
    const { rows } = feedWith([ev('user_actions', 'interaction.recorded'), ev('metrics', 'metrics.snapshot'), ev('social', 'friend.requested')]);
    fireEvent.click(screen.getByRole('button', { name: /^metrics/ }));
    expect(rows().map((r) => r.dataset.channel)).toEqual(['social', 'user_actions']);
    fireEvent.change(screen.getByLabelText('filter events'), { target: { value: 'friend' } });
    expect(rows().map((r) => r.dataset.channel)).toEqual(['social']);
    fireEvent.change(screen.getByLabelText('filter events'), { target: { value: 'nothing like this' } });
    expect(screen.getByText('No event matches the filters.')).toBeInTheDocument();
  });

  it('freezes when paused, counts what arrives, and catches up on resume', () => {
    const { live, rows } = feedWith([ev('user_actions', 'interaction.recorded')]);
    // Named for what it pauses, not '❚❚ Pause' as the simulation's own button is.
    fireEvent.click(screen.getByRole('button', { name: 'Pause the feed' }));
    act(() => {
      live.ingest(ev('social', 'friend.requested'));
      live.ingest(ev('social', 'friend.requested'));
      live.flush();
    });
    expect(rows()).toHaveLength(1);
    expect(screen.getByTestId('feed-paused')).toHaveTextContent('paused · 2 new');
    fireEvent.click(screen.getByRole('button', { name: 'Resume the feed' }));
    expect(rows()).toHaveLength(3);
  });

  it('expands a row to its JSON, and says so to a screen reader', () => {
    const { rows } = feedWith([ev('system', 'data.seeded', { users: 7, venues: 3, interactions: 1 })]);
    const row = within(rows()[0]).getByRole('button');
    expect(row).toHaveAttribute('aria-expanded', 'false');
    fireEvent.click(row);
    expect(rows()[0].querySelector('pre')).toHaveTextContent('"users": 7');
    expect(row).toHaveAttribute('aria-expanded', 'true');
  });

  it('shows users by name once looked up (one request for the feed), the full ids in the tooltip', async () => {
    const ann = '018a2aaa-eca2-7a1f-9e12-8dad8711cd2a';
    const gone = '018a2aaa-eca2-7a1f-9e12-00000000dead';
    const calls: string[][] = [];
    const names = new NameBook(
      async (ids) => {
        calls.push(ids);
        return ids.filter((id) => id === ann).map((id) => ({ id, handle: 'ann_lee', name: 'Ann Lee' }));
      },
      { gatherMs: 0 },
    );
    const live = new LiveStore();
    for (let i = 0; i < 20; i++) live.ingest(ev('user_actions', 'interaction.recorded', { interaction_type: 'view', user_id: ann, venue_id: 'v-bbbbbb' }));
    live.ingest(ev('social', 'invitation.sent', { inviter_id: ann, invitee_id: gone, venue_id: 'v-bbbbbb' }));
    render(<EventFeed live={live} names={names} />);
    const rows = () => within(screen.getByTestId('event-feed')).queryAllByRole('row');
    // Before the answer: the short ids.
    expect(rows()[0]).toHaveTextContent('…11cd2a invited …00dead to venue …bbbbbb');
    await act(async () => {
      await new Promise((r) => setTimeout(r, 20));
    });
    expect(calls).toEqual([[ann, gone]]);
    expect(rows()[0]).toHaveTextContent('Ann Lee invited …00dead to venue …bbbbbb');
    expect(rows()[1]).toHaveTextContent('view by Ann Lee at venue …bbbbbb');
    const summary = within(rows()[0]).getByTestId('event-summary');
    expect(summary.title).toBe(`Ann Lee @ann_lee · ${ann}\n${gone} (no such user now)`);
    // The filter finds rows by the name.
    fireEvent.change(screen.getByLabelText('filter events'), { target: { value: 'ann lee' } });
    expect(rows()).toHaveLength(21);
  });

  it('is one Tab stop, its rows reached with the arrow keys, Home, End and the page keys', async () => {
    const user = userEvent.setup();
    const events = Array.from({ length: 30 }, (_, i) => ev('user_actions', 'interaction.recorded', { interaction_type: 'view', user_id: `u-${i}`, venue_id: 'v-bbbbbb' }));
    const live = new LiveStore();
    events.forEach((e) => live.ingest(e));
    render(
      <>
        <EventFeed live={live} />
        <button>after the feed</button>
      </>,
    );
    const grid = screen.getByRole('grid', { name: 'events, newest first' });
    const rowButton = (i: number) => within(within(grid).getAllByRole('row')[i]).getByRole('button');
    // One row takes Tab (the newest); the others are reached from it.
    expect(within(grid).getAllByRole('button').filter((b) => b.tabIndex === 0)).toEqual([rowButton(0)]);
    act(() => rowButton(0).focus());
    await user.tab();
    expect(screen.getByRole('button', { name: 'after the feed' })).toHaveFocus();
    await user.tab({ shift: true });
    expect(rowButton(0)).toHaveFocus();
    await user.keyboard('{ArrowDown}{ArrowDown}');
    expect(rowButton(2)).toHaveFocus();
    expect(rowButton(2)).toHaveAttribute('tabindex', '0');
    expect(rowButton(0)).toHaveAttribute('tabindex', '-1');
    await user.keyboard('{ArrowUp}');
    expect(rowButton(1)).toHaveFocus();
    await user.keyboard('{PageDown}');
    expect(rowButton(11)).toHaveFocus();
    await user.keyboard('{End}');
    expect(rowButton(29)).toHaveFocus();
    await user.keyboard('{ArrowDown}');
    expect(rowButton(29)).toHaveFocus();
    await user.keyboard('{Home}');
    expect(rowButton(0)).toHaveFocus();
    // Enter opens the row; Tab leaves the feed from the row last on, and comes back to it.
    await user.keyboard('{ArrowDown}{Enter}');
    expect(rowButton(1)).toHaveAttribute('aria-expanded', 'true');
    await user.tab();
    await user.tab({ shift: true });
    expect(rowButton(1)).toHaveFocus();
    // The row keeps the Tab stop as new events arrive above it.
    act(() => {
      live.ingest(ev('social', 'friend.requested'));
      live.flush();
    });
    expect(within(grid).getAllByRole('button').filter((b) => b.tabIndex === 0)).toEqual([rowButton(2)]);
    expect(rowButton(2)).toHaveFocus();
  });

  it('names the user a user.deleted row is about, by the name cached before the deletion', async () => {
    const ada = '018a2aaa-eca2-7a1f-9e12-00000000ada1';
    const names = new NameBook(async (ids) => ids.filter((id) => id === ada).map((id) => ({ id, handle: 'ada', name: 'Ada Lovelace' })), { gatherMs: 0 });
    const live = new LiveStore();
    live.ingest(ev('user_actions', 'interaction.recorded', { interaction_type: 'view', user_id: ada, venue_id: 'v-bbbbbb' }));
    render(<EventFeed live={live} names={names} />);
    await act(async () => {
      await new Promise((r) => setTimeout(r, 20));
    });
    act(() => {
      names.forget(ada);
      live.ingest(ev('user_actions', 'user.deleted', { user_id: ada }));
      live.flush();
    });
    const rows = within(screen.getByTestId('event-feed')).getAllByRole('row');
    expect(rows[0]).toHaveTextContent('Ada Lovelace @ada · …00ada1 deleted');
    expect(within(rows[0]).getByTestId('event-summary').title).toBe(`Ada Lovelace @ada · ${ada} (deleted)`);
    // Her other rows read by the end of her id, as for any user no longer there.
    expect(rows[1]).toHaveTextContent('view by …00ada1 at venue …bbbbbb');
  });

  it('keeps the focus on the row in its place when the focused row is pushed out of the 150 shown', async () => {
    const user = userEvent.setup();
    const live = new LiveStore();
    for (let i = 0; i < 150; i++) live.ingest(ev('user_actions', 'interaction.recorded', { interaction_type: 'view', user_id: `u-${i}`, venue_id: 'v-bbbbbb' }));
    render(<EventFeed live={live} />);
    const grid = screen.getByRole('grid');
    const rowButton = (i: number) => within(within(grid).getAllByRole('row')[i]).getByRole('button');
    act(() => rowButton(0).focus());
    await user.keyboard('{End}');
    expect(rowButton(149)).toHaveFocus();
    const oldest = rowButton(149);
    act(() => {
      live.ingest(ev('social', 'friend.requested'));
      live.flush();
    });
    expect(oldest).not.toBeInTheDocument();
    // The row now last (the one before it) takes the focus and the Tab stop, not the newest.
    expect(rowButton(149)).toHaveFocus();
    expect(within(grid).getAllByRole('button').filter((b) => b.tabIndex === 0)).toEqual([rowButton(149)]);
  });
});
