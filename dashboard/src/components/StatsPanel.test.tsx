import { render, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import type { Health, Stats } from '../api/types';
import { HEALTHY, RUNNING } from '../test/health';
import { StatsPanel } from './StatsPanel';

const stats: Stats = {
  users: { total: 1200, simulated: 1000, real: 200 },
  venues: { total: 150, trending: 12 },
  bookings: { total: 9, confirmed: 7, by_status: { confirmed: 7, cancelled: 2, pending: 0 } },
  interactions: { total: 5732 },
  social: { edges: 3328, friend_requests: 4, venue_interests: 687, plans: 29 },
  events: { backend: 'memory', per_channel: {}, per_second: 2.5, last_minute: 150, outbox_pending: 4, outbox_dead: 0 },
  streams: { active_subscribers: 2, max_subscribers: 1000 },
};

// As a server from before the bus's trim fields answers.
const health: Health = {
  ...HEALTHY,
  bus: { status: 'ok', backend: 'memory' },
  tasks: { booking_janitor: RUNNING, engine_follower: RUNNING, relay: RUNNING },
};

describe('StatsPanel', () => {
  it('shows the counts with their details', () => {
    render(<StatsPanel stats={stats} liveRate={12.5} requestsPerSecond={3} />);
    expect(screen.getByTestId('stat-users-value')).toHaveTextContent('1,200');
    expect(screen.getByTestId('stat-users')).toHaveTextContent('1,000 simulated · 200 real');
    expect(screen.getByTestId('stat-bookings')).toHaveTextContent('7 confirmed · 2 cancelled');
    expect(screen.getByTestId('stat-events-s-value')).toHaveTextContent('12.5');
  });

  it('formats the bookings by status as every other count, every underscore a space', () => {
    const many = { ...stats, bookings: { total: 4299, confirmed: 35, by_status: { cancelled: 211, completed: 3974, confirmed: 35, no_show: 79 } } };
    render(<StatsPanel stats={many} liveRate={0} />);
    // QA: '4,299' over '211 cancelled · 3974 completed'.
    expect(screen.getByTestId('stat-bookings-detail')).toHaveTextContent('211 cancelled · 3,974 completed · 35 confirmed · 79 no show');
    expect(screen.getByTestId('stat-streams')).toHaveTextContent('memory bus');
    expect(screen.getByTestId('stat-streams')).toHaveTextContent('outbox 4 pending · 0 dead');
  });

  it('wraps every card’s detail line instead of cutting it with an ellipsis', () => {
    // QA at 390x844 (and at 1440 px, eight cards a row): 'server 0.64/s · 37 la…' and
    // 'of 1,000 · memory b…'. jsdom has no layout: the e2e run measures them on a phone.
    render(<StatsPanel stats={stats} liveRate={12.5} requestsPerSecond={3} />);
    const details = document.querySelectorAll('[data-testid$="-detail"]');
    expect(details).toHaveLength(8);
    expect(screen.getByTestId('stat-events-s-detail')).toHaveTextContent('server 2.50/s · 150 last min');
    for (const d of details) {
      expect(d).not.toHaveClass('truncate');
      expect(d).toHaveClass('break-words');
    }
  });

  it('says its figures are old while the stats cannot be read, dims them, and clears that on the next answer', () => {
    // QA (real server, the admin token refused, or the server gone): the cards kept their last
    // numbers at full brightness; only a small red line above said the statistics were unavailable.
    const at = new Date(2026, 11, 5, 14, 2, 48).getTime();
    const { rerender } = render(<StatsPanel stats={stats} liveRate={1} statsAt={at} />);
    expect(screen.queryByTestId('stats-stale')).toBeNull();
    expect(screen.getByTestId('stat-users')).toHaveAttribute('data-stale', 'false');
    rerender(<StatsPanel stats={stats} liveRate={1} error="admin token required" statsAt={at} />);
    expect(screen.getByTestId('stats-stale')).toHaveTextContent('Not updated since 14:02:48: admin token required. The figures below are the last ones read.');
    expect(screen.queryByText(/Statistics unavailable/)).toBeNull();
    for (const card of ['users', 'venues', 'bookings', 'interactions', 'social', 'streams']) {
      expect(screen.getByTestId(`stat-${card}`)).toHaveAttribute('data-stale', 'true');
      expect(screen.getByTestId(`stat-${card}`)).toHaveClass('opacity-60');
    }
    expect(screen.getByTestId('stat-users-value')).toHaveTextContent('1,200');
    // Events/s is measured on the stream: only its server detail is the stats' last answer.
    expect(screen.getByTestId('stat-events-s')).not.toHaveClass('opacity-60');
    expect(screen.getByTestId('stat-events-s-detail')).toHaveClass('opacity-60');
    rerender(<StatsPanel stats={stats} liveRate={1} statsAt={at + 3000} />);
    expect(screen.queryByTestId('stats-stale')).toBeNull();
    expect(screen.getByTestId('stat-users')).not.toHaveClass('opacity-60');
    // No stats read yet: nothing to call old, the failure is said as before.
    rerender(<StatsPanel stats={null} liveRate={1} error="admin token required" />);
    expect(screen.queryByTestId('stats-stale')).toBeNull();
    expect(screen.getByText('Statistics unavailable: admin token required')).toBeInTheDocument();
  });

  it('shows dashes before the first answer', () => {
    render(<StatsPanel stats={null} liveRate={0} />);
    expect(screen.getByTestId('stat-users-value')).toHaveTextContent('–');
    expect(screen.getByTestId('health')).toHaveTextContent('waiting for /health');
  });

  it('leaves no dead letters unmarked, with what they are in the title', () => {
    render(<StatsPanel stats={stats} liveRate={0} />);
    const dead = screen.getByTestId('stat-outbox-dead');
    expect(dead).toHaveAttribute('data-problem', 'false');
    expect(dead).not.toHaveClass('text-rose-300');
    expect(dead).toHaveAttribute('title', expect.stringContaining('could not be published at all'));
    expect(screen.getByTestId('stat-streams')).toHaveAttribute('data-problem', 'false');
  });

  it('highlights dead letters above 0 as a problem', () => {
    render(<StatsPanel stats={{ ...stats, events: { ...stats.events, outbox_dead: 3 } }} liveRate={0} />);
    const dead = screen.getByTestId('stat-outbox-dead');
    expect(dead).toHaveTextContent('⚠ 3 dead');
    expect(dead).toHaveAttribute('data-problem', 'true');
    expect(dead).toHaveClass('text-rose-300');
    const card = screen.getByTestId('stat-streams');
    expect(card).toHaveAttribute('data-problem', 'true');
    expect(card).toHaveClass('border-rose-500/70');
  });

  it('lists every background task as running when the server is healthy, with no failures', () => {
    render(<StatsPanel stats={stats} liveRate={0} health={health} />);
    const row = screen.getByTestId('health');
    expect(row).toHaveAttribute('data-status', 'healthy');
    expect(row).toHaveTextContent('database sqlite ok · bus memory ok');
    const tasks = within(screen.getByRole('list', { name: 'background tasks' })).getAllByRole('listitem');
    expect(tasks.map((t) => t.dataset.testid)).toEqual(['task-booking_janitor', 'task-engine_follower', 'task-relay']);
    for (const t of tasks) expect(t).toHaveAttribute('data-status', 'running');
    expect(screen.queryByRole('list', { name: 'background task failures' })).toBeNull();
  });

  it('marks a task that is down with its restarts and its last failure, and the server degraded', () => {
    const failure = "panicked: relay: outbox read failed: database is locked (at crates/app/src/relay.rs:88)";
    const degraded: Health = {
      ...health,
      status: 'degraded',
      tasks: {
        ...health.tasks,
        relay: { status: 'down', restarts: 3, last_failure: failure },
        engine_follower: { status: 'running', restarts: 1, last_failure: 'ended' },
      },
    };
    render(<StatsPanel stats={stats} liveRate={0} health={degraded} />);
    expect(screen.getByTestId('health')).toHaveAttribute('data-status', 'degraded');
    expect(screen.getByTestId('health-status')).toHaveTextContent('degraded');
    expect(screen.getByTestId('health-status')).toHaveClass('text-rose-200');

    const relay = screen.getByTestId('task-relay');
    expect(relay).toHaveAttribute('data-status', 'down');
    expect(relay).toHaveTextContent('relay down ↻ 3');
    expect(relay).toHaveClass('text-rose-200');
    expect(relay).toHaveAttribute('title', expect.stringContaining(failure));
    // Restarted, now running: marked, but not as down.
    const follower = screen.getByTestId('task-engine_follower');
    expect(follower).toHaveTextContent('↻ 1');
    expect(follower).not.toHaveTextContent('down');
    expect(follower).toHaveClass('text-amber-200');
    expect(screen.getByTestId('task-booking_janitor')).not.toHaveTextContent('↻');

    // The failures are written out, not only in a tooltip; the task that is down comes first.
    const failures = within(screen.getByRole('list', { name: 'background task failures' })).getAllByRole('listitem');
    expect(failures.map((f) => f.dataset.testid)).toEqual(['task-failure-relay', 'task-failure-engine_follower']);
    expect(failures[0]).toHaveTextContent(`relay down · 3 restarts · last failure: ${failure}`);
    expect(failures[1]).toHaveTextContent('engine_follower running again · 1 restart · last failure: ended');
  });

  it('says which part of the server is unavailable, and when /health cannot be read', () => {
    const noBus: Health = { ...health, status: 'degraded', bus: { status: 'unavailable', backend: 'redis' } };
    const { rerender } = render(<StatsPanel stats={stats} liveRate={0} health={noBus} />);
    expect(screen.getByTestId('health')).toHaveTextContent('bus redis unavailable');
    rerender(<StatsPanel stats={stats} liveRate={0} health={null} healthError="Internal Server Error" />);
    expect(screen.getByTestId('health')).toHaveTextContent('health unavailable: Internal Server Error');
  });

  it('shows a busy database in amber as busy, not as down', () => {
    const busy: Health = { ...health, status: 'degraded', database: { status: 'busy', backend: 'postgres' } };
    render(<StatsPanel stats={stats} liveRate={0} health={busy} />);
    expect(screen.getByTestId('health')).toHaveTextContent('database postgres busy · bus memory ok');
    const status = screen.getByTestId('database-busy');
    expect(status).toHaveClass('text-amber-300');
    expect(status).toHaveAttribute('title', expect.stringContaining('requests queue'));
  });

  it('marks the bus trims failing in red with the last error and the failures counted', () => {
    const error = "NOPERM User luna has no permissions to run the 'eval' command";
    const failing: Health = { ...health, status: 'degraded', bus: { status: 'ok', backend: 'redis', trim_failures: 12, trim_error: error } };
    render(<StatsPanel stats={stats} liveRate={0} health={failing} />);
    expect(screen.getByTestId('health')).toHaveTextContent('bus redis ok · trims failing · v0.1.0');
    const mark = screen.getByTestId('bus-trims');
    expect(mark).toHaveAttribute('data-problem', 'true');
    expect(mark).toHaveClass('text-rose-300');
    const line = screen.getByTestId('bus-trim-error');
    expect(line).toHaveTextContent(`bus trims failing · 12 failed trims · last error: ${error}`);
    expect(line).toHaveClass('text-rose-200');
  });

  it('says trims work again after failures, not in red, and nothing when they never failed', () => {
    const recovered: Health = { ...health, bus: { status: 'ok', backend: 'redis', trim_failures: 1, trim_error: null } };
    const { rerender } = render(<StatsPanel stats={stats} liveRate={0} health={recovered} />);
    expect(screen.getByTestId('bus-trims')).toHaveTextContent('trims working again after 1 failed trim');
    expect(screen.getByTestId('bus-trims')).toHaveAttribute('data-problem', 'false');
    expect(screen.getByTestId('bus-trims')).not.toHaveClass('text-rose-300');
    expect(screen.queryByTestId('bus-trim-error')).toBeNull();
    rerender(<StatsPanel stats={stats} liveRate={0} health={{ ...health, bus: { status: 'ok', backend: 'redis', trim_failures: 0, trim_error: null } }} />);
    expect(screen.queryByTestId('bus-trims')).toBeNull();
  });

  it('shows the answer of a server older than the trim fields and the background tasks', () => {
    // As such a server answers: no trim_failures, trim_error or tasks.
    const old = JSON.parse(JSON.stringify({ ...health, bus: { status: 'ok', backend: 'memory' } })) as Health;
    delete (old as Partial<Health>).tasks;
    render(<StatsPanel stats={stats} liveRate={0} health={old} />);
    expect(screen.getByTestId('health')).toHaveTextContent('database sqlite ok · bus memory ok · v0.1.0');
    expect(screen.getByTestId('health')).toHaveTextContent('none reported');
    expect(screen.queryByTestId('bus-trims')).toBeNull();
    expect(screen.queryByTestId('bus-trim-error')).toBeNull();
  });
});
