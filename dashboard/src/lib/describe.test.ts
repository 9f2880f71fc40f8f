import { describe as group, expect, it } from 'vitest';

import type { LunaEvent } from '../api/types';
import { describe } from './describe';

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
    expect(describe(ev('simulation.started', { status: 'running', scenario: 'normal', speed: 50, simulation_time: '2026-11-20T12:00:00Z' }, 'simulation'))).toBe(
      'running · normal · 50× · sim 12:00 UTC',
    );
    const stopped = { status: 'stopped', scenario: 'normal', stop_reason: 'booking_horizon' };
    expect(describe(ev('simulation.stopped', stopped, 'simulation'))).toBe('stopped: reached the booking horizon · normal');
    expect(describe(ev('simulation.stopped', { ...stopped, stop_reason: 'data_reset' }, 'simulation'))).toBe('stopped by a data reset · normal');
    expect(describe(ev('simulation.stopped', { ...stopped, stop_reason: 'shutdown' }, 'simulation'))).toBe('stopped: the server shut down · normal');
    expect(describe(ev('simulation.stopped', { status: 'stopped', scenario: 'normal' }, 'simulation'))).toBe('stopped · normal');
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
    expect(describe(ev('booking.refused', full, 'bookings'))).toBe('party of 6 at venue …123456 · full (2 of 40 seats free) · 00:15 UTC');
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

  it('falls back to the first plain fields of unknown types', () => {
    expect(describe(ev('thing.happened', { a: 1, nested: { b: 2 }, c: 'text' }))).toBe('a 1 · c text');
  });
});
