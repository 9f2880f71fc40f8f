import { describe as group, expect, it } from 'vitest';

import type { LunaEvent } from '../api/types';
import { describe, eventWords, usersOf } from './describe';
import type { UserName } from './names';

const ev = (type: string, data: unknown, channel: LunaEvent['channel'] = 'user_actions'): LunaEvent => ({
  id: '1-0',
  source_id: null,
  channel,
  type,
  timestamp: '2026-11-30T08:00:00Z',
  data,
});

group('describe', () => {
  it('summarises known event types', () => {
    const id = '018a2aaa-eca2-7a1f-9e12-8dad8711cd2a';
    expect(describe(ev('interaction.recorded', { interaction_type: 'like', user_id: id, venue_id: id, dwell_time_seconds: 30 }))).toBe(
      'like by …11cd2a at venue …11cd2a · 30s',
    );
    expect(describe(ev('data.seeded', { users: 3, venues: 2, interactions: 9 }, 'system'))).toBe('3 users, 2 venues, 9 interactions');
    const fit = { users_known: 300, users_held: 300, venues_known: 150, venues_held: 150 };
    expect(describe(ev('model.trained', { outcome: 'trained', elapsed_ms: 263, fit }, 'system'))).toBe(
      'learned model trained in 0.3 s · knows 300 of 300 users, 150 of 150 venues',
    );
    expect(describe(ev('simulation.started', { status: 'running', scenario: 'normal', speed: 50, simulation_time: '2026-11-20T12:00:00Z' }, 'simulation'))).toBe(
      'running · normal · 50× · sim 12:00 UTC',
    );
    const stopped = { status: 'stopped', scenario: 'normal', stop_reason: 'booking_horizon' };
    expect(describe(ev('simulation.stopped', stopped, 'simulation'))).toBe('stopped: reached the booking horizon · normal');
    expect(describe(ev('simulation.stopped', { ...stopped, stop_reason: 'data_reset' }, 'simulation'))).toBe('stopped by a data reset · normal');
    expect(describe(ev('simulation.stopped', { ...stopped, stop_reason: 'shutdown' }, 'simulation'))).toBe('stopped: the server shut down · normal');
    expect(describe(ev('simulation.stopped', { ...stopped, stop_reason: 'failed' }, 'simulation'))).toBe('stopped: the run failed (see the server log) · normal');
    expect(describe(ev('simulation.stopped', { status: 'stopped', scenario: 'normal' }, 'simulation'))).toBe('stopped · normal');
    const finished = { ticks: 1440, scenario: 'normal', simulation_time: '2026-11-21T12:00:00Z', action_log_hash: 'ab', metrics: {} };
    expect(describe(ev('simulation.finished', finished, 'simulation'))).toBe('finished after 1,440 simulated minutes · normal · sim 12:00 UTC');
    // The scenario in words, as the simulation panel reads it (the feed said 'friday_night').
    expect(describe(ev('simulation.stopped', { ...stopped, scenario: 'friday_night', stop_reason: 'requested' }, 'simulation'))).toBe('stopped · friday night');
  });

  it('reads the simulated clock in the city\'s zone when the event gives one, and labels every time with its zone', () => {
    const state = { status: 'running', scenario: 'normal', simulation_time: '2026-11-20T23:30:00Z', timezone: 'America/New_York' };
    expect(describe(ev('simulation.started', state, 'simulation'))).toBe('running · normal · sim 18:30 EST');
    const booked = describe(ev('booking.created', { venue_id: 'v-222222', status: 'confirmed', booking_time: '2026-11-21T00:15:00Z' }, 'bookings'));
    expect(booked).toBe('at venue …222222 · confirmed · 00:15 UTC');
  });

  it('summarises booking events of any kind by their venue and status', () => {
    const out = describe(ev('booking.cancelled', { venue_id: 'abcdef-123456', status: 'cancelled', party_size: 4 }, 'bookings'));
    expect(out).toBe('party of 4 at venue …123456 · cancelled');
    // A released hold carries its booking inside, and why; a refusal the slot that was full.
    const released = { booking: { venue_id: 'abcdef-123456', status: 'pending', party_size: 2, booking_time: '2026-11-21T00:15:00Z' }, reason: 'hold expired' };
    expect(describe(ev('booking.released', released, 'bookings'))).toBe('party of 2 at venue …123456 · pending · 00:15 UTC · hold expired');
    const full = { user_id: 'u-1', venue_id: 'abcdef-123456', booking_time: '2026-11-21T00:15:00Z', party_size: 6, duration_minutes: 90, seats_free: 2, capacity: 40 };
    // Who booked, when the booking names them.
    expect(describe(ev('booking.refused', full, 'bookings'))).toBe('…u-1 · party of 6 at venue …123456 · full (2 of 40 seats free) · 00:15 UTC');
  });

  it('names venues the map knows by their category', () => {
    const out = describe(ev('interest.expressed', { user_id: 'u-111111', venue_id: 'v-222222' }, 'social'), (id) => (id === 'v-222222' ? 'bar' : null));
    expect(out).toBe('…111111 wants to go to bar …222222');
  });

  it("mentions an interest's part of the day, and when its user is not open to invites", () => {
    const interest = { user_id: 'u-111111', venue_id: 'v-222222' };
    const line = (extra: Record<string, unknown>) => describe(ev('interest.expressed', { ...interest, ...extra }, 'social'));
    expect(line({ preferred_time_slot: 'evening' })).toBe('…111111 wants to go to venue …222222 (evening)');
    expect(line({ preferred_time_slot: 'night', open_to_invites: false })).toBe('…111111 wants to go to venue …222222 (night) · not open to invites');
    expect(line({ open_to_invites: false })).toBe('…111111 wants to go to venue …222222 · not open to invites');
    // Open to invites is the rule: said only when it is not so.
    expect(line({ preferred_time_slot: 'morning', open_to_invites: true })).toBe('…111111 wants to go to venue …222222 (morning)');
    // Both missing (an older server), or null: the line as before.
    expect(line({})).toBe('…111111 wants to go to venue …222222');
    expect(line({ preferred_time_slot: null, open_to_invites: null })).toBe('…111111 wants to go to venue …222222');
    expect(line({ preferred_time: '2026-11-20T19:00:00Z', preferred_time_slot: 'evening' })).toBe('…111111 wants to go to venue …222222 at 19:00 UTC (evening)');
  });

  it('names the people and the venue of an invitation and of a plan, as it does for other events', () => {
    // QA: invitation.sent (and the plan events) fell to the generic line of raw fields:
    // 'inviter id …11cd2a · invitee id …8d56da · venue id …443dd1 · plan id …2acb0b'.
    const bar = (id: string) => (id === 'v-443dd1' ? 'bar' : null);
    const invitation = { inviter_id: 'u-11cd2a', invitee_id: 'u-8d56da', venue_id: 'v-443dd1', plan_id: 'p-2acb0b', booking_id: null, created_at: '2026-12-05T02:02:02Z' };
    expect(describe(ev('invitation.sent', invitation, 'social'), bar)).toBe('…11cd2a invited …8d56da to bar …443dd1 · plan …2acb0b');
    expect(describe(ev('invitation.sent', { ...invitation, plan_id: null, booking_id: 'b-77aa00' }, 'social'))).toBe('…11cd2a invited …8d56da to venue …443dd1 · booking …77aa00');
    const plan = {
      id: 'p-2acb0b',
      organizer_id: 'u-11cd2a',
      venue_id: 'v-443dd1',
      start_time: '2026-12-13T17:00:00Z',
      party_size: null,
      status: 'pending',
      created_at: '2026-12-05T02:02:02Z',
      // The organizer is among them, accepted.
      participants: [{ user_id: 'u-11cd2a', status: 'accepted' }, { user_id: 'u-8d56da' }, { user_id: 'u-000001' }],
    };
    expect(describe(ev('plan.created', plan, 'social'), bar, 'America/New_York')).toBe('plan …2acb0b by …11cd2a at bar …443dd1 · 12:00 EST · 2 invited · pending');
    const orphan = { ...plan, organizer_id: null, status: 'cancelled', participants: plan.participants.slice(1) };
    expect(describe(ev('plan.cancelled', orphan, 'social'), bar)).toBe('plan …2acb0b by no organizer at bar …443dd1 · 17:00 UTC · 2 invited · cancelled');
    const answer = { plan_id: 'p-fee168', user_id: 'u-c2297c', status: 'accepted', invited_at: '2026-12-05T02:02:02Z', responded_at: null };
    expect(describe(ev('plan.participant_updated', answer, 'social'))).toBe('…c2297c accepted plan …fee168');
    expect(describe(ev('plan.participant_updated', { ...answer, status: 'invited' }, 'social'))).toBe('…c2297c invited to plan …fee168');
  });

  it('names users by their names when known, else by the end of their ids', () => {
    // QA: operators read '…3f2a9c wants to go to…' and could not tell who did what.
    const people: Record<string, UserName | null> = {
      'u-111111': { id: 'u-111111', handle: 'ann', name: 'Ann Lee' },
      'u-222222': { id: 'u-222222', handle: 'bo', name: '' },
      'u-333333': null,
    };
    const who = (id: string) => people[id];
    const line = (type: string, data: unknown, channel: LunaEvent['channel'] = 'social') => describe(ev(type, data, channel), undefined, null, who);
    expect(line('interest.expressed', { user_id: 'u-111111', venue_id: 'v-999999' })).toBe('Ann Lee wants to go to venue …999999');
    expect(line('interaction.recorded', { interaction_type: 'view', user_id: 'u-222222', venue_id: 'v-999999' }, 'user_actions')).toBe(
      'view by @bo at venue …999999',
    );
    // No such user now (deleted), or not looked up yet: the short id.
    expect(line('invitation.sent', { inviter_id: 'u-111111', invitee_id: 'u-333333', venue_id: 'v-999999' })).toBe(
      'Ann Lee invited …333333 to venue …999999',
    );
    expect(line('friend.requested', { from_user_id: 'u-444444', to_user_id: 'u-111111', status: 'pending' })).toBe('…444444 → Ann Lee · pending');
    expect(line('recommendation.served', { user_id: 'u-111111', items: [1, 2], kind: 'venues', ranker: 'default' }, 'system')).toBe(
      '2 venues for Ann Lee (default ranker)',
    );
    expect(line('recommendation.served', { user_id: 'u-111111', items: [1], kind: 'venues', ranker: 'default' }, 'system')).toBe(
      '1 venue for Ann Lee (default ranker)',
    );
    expect(line('recommendation.served', { user_id: 'u-111111', items: [1], kind: 'people', ranker: 'seed2' }, 'system')).toBe(
      '1 person for Ann Lee (seed2 ranker)',
    );
    expect(line('metrics.snapshot', { requests_per_second: 2, events_per_second: 0.4, sse_subscribers: 1 }, 'metrics')).toBe(
      '2.0 req/s · 0.4 events/s · 1 stream',
    );
    expect(line('metrics.snapshot', { requests_per_second: 2, events_per_second: 0.4, sse_subscribers: 3 }, 'metrics')).toBe(
      '2.0 req/s · 0.4 events/s · 3 streams',
    );
    expect(line('plan.participant_updated', { plan_id: 'p-fee168', user_id: 'u-222222', status: 'accepted' })).toBe('@bo accepted plan …fee168');
    expect(line('plan.created', { id: 'p-2acb0b', organizer_id: 'u-111111', venue_id: 'v-999999' })).toBe('plan …2acb0b by Ann Lee at venue …999999');
    expect(line('booking.created', { user_id: 'u-111111', venue_id: 'v-999999', status: 'confirmed', party_size: 2 }, 'bookings')).toBe(
      'Ann Lee · party of 2 at venue …999999 · confirmed',
    );
  });

  it('says who a user.deleted event is about: by the name given for them, else the end of the id', () => {
    const e = ev('user.deleted', { user_id: 'u-0000000abc12' });
    expect(describe(e)).toBe('user …0abc12 deleted');
    expect(describe(e, undefined, null, () => ({ id: 'u-0000000abc12', handle: 'ada', name: 'Ada' }))).toBe('Ada @ada · …0abc12 deleted');
    expect(describe(e, undefined, null, () => ({ id: 'u-0000000abc12', handle: 'ada', name: '' }))).toBe('@ada · …0abc12 deleted');
  });

  it('lists the users an event names, each once, its booking\'s too', () => {
    expect(usersOf(ev('invitation.sent', { inviter_id: 'a', invitee_id: 'b', venue_id: 'v' }))).toEqual(['a', 'b']);
    expect(usersOf(ev('booking.released', { booking: { user_id: 'c', venue_id: 'v' }, reason: 'x' }, 'bookings'))).toEqual(['c']);
    expect(usersOf(ev('plan.created', { organizer_id: 'a', user_id: 'a' }))).toEqual(['a']);
    expect(usersOf(ev('data.reset', null, 'system'))).toEqual([]);
  });

  it('falls back to the first plain fields of unknown types', () => {
    expect(describe(ev('thing.happened', { a: 1, nested: { b: 2 }, c: 'text' }))).toBe('a 1 · c text');
  });
});

group('eventWords', () => {
  it('says what a booking event did in plain words, its status and reason included', () => {
    expect(eventWords(ev('booking.created', { status: 'pending' }, 'bookings'))).toBe('booked');
    expect(eventWords(ev('booking.held', { status: 'pending' }, 'bookings'))).toBe('seats held');
    expect(eventWords(ev('booking.status_changed', { status: 'confirmed' }, 'bookings'))).toBe('now confirmed');
    expect(eventWords(ev('booking.status_changed', { status: 'no_show' }, 'bookings'))).toBe('now no show');
    expect(eventWords(ev('booking.status_changed', {}, 'bookings'))).toBe('status changed');
    expect(eventWords(ev('booking.released', { booking: { status: 'pending' }, reason: 'expired' }, 'bookings'))).toBe('hold released · expired');
    expect(eventWords(ev('booking.refused', { seats_free: 2, capacity: 40 }, 'bookings'))).toBe('refused: full');
    expect(eventWords(ev('plan.cancelled', { status: 'cancelled' }, 'bookings'))).toBe('plan cancelled');
    // A type this dashboard does not know yet still reads as words.
    expect(eventWords(ev('booking.party_resized', {}, 'bookings'))).toBe('party resized');
  });
});
