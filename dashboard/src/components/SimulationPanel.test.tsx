import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { SimMetrics, SimState } from '../api/types';
import { json, mockFetch } from '../test/fetch';
import { positionOf } from '../lib/speed';
import { SimulationPanel } from './SimulationPanel';
import { ConfirmDialog, type ConfirmRequest } from './Dialogs';

/** Panels whose tests ask nothing: a confirmation would be a test's mistake. */
const noConfirm = () => {
  throw new Error('nothing should ask for confirmation here');
};

/** The panel with the page's confirmation dialog, as App renders them. */
function Confirming({ state, onChanged }: { state: SimState; onChanged: () => void }) {
  const [req, setReq] = useState<ConfirmRequest | null>(null);
  return (
    <>
      <SimulationPanel state={state} metrics={null} onChanged={onChanged} confirm={setReq} />
      {req ? <ConfirmDialog request={req} onDone={() => setReq(null)} /> : null}
    </>
  );
}

const scenarios = {
  scenarios: [
    { id: 'normal', name: 'Normal Day', description: 'Regular day' },
    { id: 'friday_night', name: 'Friday Night Out', description: 'Groups go out' },
  ],
};

const running: SimState = {
  status: 'running',
  running: true,
  paused: false,
  scenario: 'friday_night',
  speed: 50,
  speed_multiplier: 50,
  seed: 7,
  active_users: 400,
  simulation_time: '2026-11-20T22:07:00Z',
  started_at: '2026-11-20T18:00:00Z',
  ends_at: null,
  timezone: 'America/New_York',
  ticks: 247,
  events_generated: 1234,
  bookings_created: 12,
  invites_sent: 5,
  action_log_hash: 'x',
  actions_logged: 1300,
  seeded_demo_city: false,
};

afterEach(() => vi.unstubAllGlobals());

describe('SimulationPanel', () => {
  it('starts a run with the chosen scenario, users, speed, seed and duration', async () => {
    const { calls } = mockFetch({ 'GET /api/v1/simulation/scenarios': () => scenarios, 'POST /api/v1/simulation/start': () => running });
    const changed = vi.fn();
    render(<SimulationPanel confirm={noConfirm} state={null} metrics={null} onChanged={changed} />);
    await screen.findByRole('option', { name: 'Friday Night Out' });
    fireEvent.change(screen.getByLabelText('scenario'), { target: { value: 'friday_night' } });
    fireEvent.change(screen.getByLabelText('users'), { target: { value: '250' } });
    fireEvent.change(screen.getByLabelText('seed'), { target: { value: '9' } });
    fireEvent.change(screen.getByLabelText('duration'), { target: { value: '4h' } });
    fireEvent.change(screen.getByLabelText(/^Speed/), { target: { value: String(positionOf(80)) } });
    fireEvent.click(screen.getByRole('button', { name: '▶ Start' }));
    await waitFor(() => expect(changed).toHaveBeenCalled());
    const start = calls.find((c) => c.url === '/api/v1/simulation/start');
    expect(start?.body).toEqual({ scenario: 'friday_night', users: 250, seed: 9, speed: 80, duration: '4h' });
    // A cap on the stored users who act, said so (QA: 'Users 1000' asked, 'users 300' run, on a city of 300).
    expect(screen.getByTestId('sim-users-label')).toHaveTextContent('Users (at most)');
    expect(screen.getByTestId('sim-users-label')).toHaveAttribute('title', expect.stringContaining('At most this many of the stored users act'));
    expect(screen.getByText('Groups go out')).toBeInTheDocument();
  });

  it('says its figures are old while the state cannot be read, and stops saying the run is live', async () => {
    // QA (real server, the admin token refused and its dialog cancelled): the panel went on
    // saying 'running', its dot pulsing, clock and rates frozen at the last answer.
    mockFetch({ 'GET /api/v1/simulation/scenarios': () => scenarios });
    const at = new Date(2026, 11, 5, 14, 2, 48).getTime();
    const { rerender } = render(<SimulationPanel confirm={noConfirm} state={running} metrics={null} onChanged={() => {}} pollError={null} stateAt={at} />);
    expect(screen.queryByTestId('sim-stale')).toBeNull();
    expect(screen.getByTestId('sim-status').querySelector('.animate-pulse')).not.toBeNull();
    rerender(<SimulationPanel confirm={noConfirm} state={running} metrics={null} onChanged={() => {}} pollError="admin token required" stateAt={at} />);
    expect(screen.getByTestId('sim-stale')).toHaveTextContent('Not updated since 14:02:48: admin token required.');
    expect(screen.getByTestId('sim-status')).toHaveAttribute('data-stale', 'true');
    expect(screen.getByTestId('sim-status').querySelector('.animate-pulse')).toBeNull();
    rerender(<SimulationPanel confirm={noConfirm} state={running} metrics={null} onChanged={() => {}} pollError={null} stateAt={at + 2000} />);
    expect(screen.queryByTestId('sim-stale')).toBeNull();
  });

  it('stops saying the server cannot be reached once its state is read again; a refusal stays', async () => {
    // QA (real binary restarted under the page): Pause clicked while the server was down said
    // 'The Luna server cannot be reached' under the panel for as long as the page stayed open.
    let down = true;
    mockFetch({
      'GET /api/v1/simulation/scenarios': () => scenarios,
      'POST /api/v1/simulation/pause': () => {
        if (down) throw new TypeError('Failed to fetch');
        return json({ error: { code: 'conflict', message: 'the simulation is not running' } }, 409);
      },
    });
    const at = Date.now();
    const panel = (stateAt: number) => <SimulationPanel confirm={noConfirm} state={running} metrics={null} onChanged={() => {}} pollError={null} stateAt={stateAt} />;
    const { rerender } = render(panel(at));
    fireEvent.click(screen.getByRole('button', { name: '❚❚ Pause' }));
    expect(await screen.findByText('The Luna server cannot be reached')).toBeInTheDocument();
    // A poll that answered before the click changes nothing.
    rerender(panel(at - 1000));
    expect(screen.getByText('The Luna server cannot be reached')).toBeInTheDocument();
    await new Promise((r) => setTimeout(r, 5));
    rerender(panel(Date.now()));
    expect(screen.queryByText('The Luna server cannot be reached')).toBeNull();
    // A refusal by the server is not cleared by a poll.
    down = false;
    fireEvent.click(screen.getByRole('button', { name: '❚❚ Pause' }));
    expect(await screen.findByText('the simulation is not running')).toBeInTheDocument();
    await new Promise((r) => setTimeout(r, 5));
    rerender(panel(Date.now()));
    expect(screen.getByText('the simulation is not running')).toBeInTheDocument();
  });

  it('shows a running simulation and offers pause, stop, speed and a scenario trigger', async () => {
    const { calls } = mockFetch({
      'GET /api/v1/simulation/scenarios': () => scenarios,
      'POST /api/v1/simulation/pause': () => ({ ...running, status: 'paused' }),
      'POST /api/v1/simulation/speed': () => running,
      'POST /api/v1/simulation/scenario': () => running,
    });
    render(<SimulationPanel confirm={noConfirm} state={running} metrics={null} onChanged={() => {}} />);
    await screen.findByRole('option', { name: 'Normal Day' });
    expect(screen.getByTestId('sim-status')).toHaveTextContent('running');
    expect(screen.getByText('sim clock').nextElementSibling).toHaveTextContent('Fri 20 Nov, 17:07 EST');
    expect(screen.getByText('1.2k')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: '▶ Start' })).toBeNull();

    fireEvent.click(screen.getByRole('checkbox'));
    await waitFor(() => expect(calls.some((c) => c.url === '/api/v1/simulation/speed')).toBe(true));
    expect(calls.find((c) => c.url === '/api/v1/simulation/speed')?.body).toEqual({ speed: 'max' });

    fireEvent.change(screen.getByLabelText('trigger scenario'), { target: { value: 'normal' } });
    fireEvent.click(screen.getByRole('button', { name: 'Trigger' }));
    await waitFor(() => expect(calls.find((c) => c.url === '/api/v1/simulation/scenario')?.body).toEqual({ scenario: 'normal' }));
    await waitFor(() => expect(screen.getByRole('button', { name: '❚❚ Pause' })).toBeEnabled());
    fireEvent.click(screen.getByRole('button', { name: '❚❚ Pause' }));
    await waitFor(() => expect(calls.some((c) => c.url === '/api/v1/simulation/pause')).toBe(true));
  });

  it('sends and shows the speed picked, half speed included, without rounding it', async () => {
    // The server takes any speed above 0 and at most 100: 0.5× is half speed, not 1×.
    const { calls } = mockFetch({
      'GET /api/v1/simulation/scenarios': () => scenarios,
      'POST /api/v1/simulation/start': () => running,
      'POST /api/v1/simulation/speed': (c) => ({ ...running, speed: (c.body as { speed: number }).speed }),
    });
    const changed = vi.fn();
    const { rerender } = render(<SimulationPanel confirm={noConfirm} state={null} metrics={null} onChanged={changed} />);
    const slider = () => screen.getByLabelText(/^Speed/) as HTMLInputElement;
    fireEvent.change(slider(), { target: { value: String(positionOf(0.5)) } });
    expect(screen.getByText(/^Speed/)).toHaveTextContent('Speed 0.5× (simulated seconds per second)');
    fireEvent.click(screen.getByRole('button', { name: '▶ Start' }));
    await waitFor(() => expect(changed).toHaveBeenCalled());
    expect(calls.find((c) => c.url === '/api/v1/simulation/start')?.body).toMatchObject({ speed: 0.5 });

    // A run going at half speed reads 0.5× on the slider and in its figures.
    rerender(<SimulationPanel confirm={noConfirm} state={{ ...running, speed: 0.5, speed_multiplier: 0.5 }} metrics={null} onChanged={changed} />);
    await waitFor(() => expect(slider().value).toBe(String(positionOf(0.5))));
    expect(screen.getByText(/^Speed/)).toHaveTextContent('Speed 0.5× (simulated seconds per second)');
    expect(screen.getByText('speed').nextElementSibling).toHaveTextContent('0.5×');

    // Changed live to 1.5×, the server is sent 1.5.
    fireEvent.change(slider(), { target: { value: String(positionOf(1.5)) } });
    await waitFor(() => expect(calls.find((c) => c.url === '/api/v1/simulation/speed')?.body).toEqual({ speed: 1.5 }));
  });

  it('says what a refused booking is, and puts a run at max speed at the end of the track', async () => {
    mockFetch({ 'GET /api/v1/simulation/scenarios': () => scenarios });
    render(<SimulationPanel confirm={noConfirm} state={{ ...running, speed: 'max', speed_multiplier: 'max' } as unknown as SimState} metrics={null} onChanged={() => {}} />);
    const slider = screen.getByLabelText(/^Speed/) as HTMLInputElement;
    // QA: at max the disabled thumb stayed at the last speed picked (60×), as if it were that.
    await waitFor(() => expect(slider.value).toBe(slider.max));
    expect(slider).toBeDisabled();
    expect(slider).toHaveAttribute('aria-valuetext', 'max');
    expect(screen.getByText('refused (full)').parentElement).toHaveAttribute('title', expect.stringContaining('closed at that time, full, or the party larger than the venue'));
  });

  it('puts the thumb of a run at a quarter speed at the start of the track, not at half speed', async () => {
    // QA: a run at 0.25× showed its thumb where 0.5× is (the slider's slowest was 0.5).
    mockFetch({ 'GET /api/v1/simulation/scenarios': () => scenarios });
    const { rerender } = render(<SimulationPanel confirm={noConfirm} state={{ ...running, speed: 0.25, speed_multiplier: 0.25 }} metrics={null} onChanged={() => {}} />);
    const slider = () => screen.getByLabelText(/^Speed/) as HTMLInputElement;
    await waitFor(() => expect(slider().value).toBe(slider().min));
    expect(slider()).toHaveAttribute('aria-valuetext', '0.25×');
    expect(screen.getByText(/^Speed/)).toHaveTextContent('Speed 0.25×');
    // Half speed is one step further along: the two are told apart on the track.
    rerender(<SimulationPanel confirm={noConfirm} state={{ ...running, speed: 0.5, speed_multiplier: 0.5 }} metrics={null} onChanged={() => {}} />);
    await waitFor(() => expect(Number(slider().value)).toBe(Number(slider().min) + 1));
    expect(slider()).toHaveAttribute('aria-valuetext', '0.5×');
    // The slowest position sends a quarter speed.
    rerender(<SimulationPanel confirm={noConfirm} state={null} metrics={null} onChanged={() => {}} />);
    fireEvent.change(slider(), { target: { value: slider().min } });
    expect(screen.getByText(/^Speed/)).toHaveTextContent('Speed 0.25× (simulated seconds per second)');
  });

  it("shows the server's refusal", async () => {
    mockFetch({
      'GET /api/v1/simulation/scenarios': () => scenarios,
      'POST /api/v1/simulation/stop': () => json({ error: { code: 'conflict', message: 'no simulation is running: cannot stop', details: null } }, 409),
    });
    render(<SimulationPanel confirm={noConfirm} state={{ ...running, status: 'paused', paused: true }} metrics={null} onChanged={() => {}} />);
    expect(screen.getByRole('button', { name: '▶ Resume' })).toBeInTheDocument();
    fireEvent.click(screen.getByRole('button', { name: '■ Stop' }));
    expect(await screen.findByText('no simulation is running: cannot stop')).toBeInTheDocument();
  });

  it('says in plain words why a stopped run stopped', async () => {
    mockFetch({ 'GET /api/v1/simulation/scenarios': () => scenarios });
    const stopped = (stop_reason?: SimState['stop_reason']): SimState => ({ ...running, status: 'stopped', running: false, stop_reason });
    const { rerender } = render(<SimulationPanel confirm={noConfirm} state={stopped('booking_horizon')} metrics={null} onChanged={() => {}} />);
    await screen.findByRole('option', { name: 'Normal Day' });
    const status = () => screen.getByTestId('sim-status').textContent;
    expect(status()).toBe('stopped: reached the booking horizon');
    rerender(<SimulationPanel confirm={noConfirm} state={stopped('data_reset')} metrics={null} onChanged={() => {}} />);
    expect(status()).toBe('stopped by a data reset');
    rerender(<SimulationPanel confirm={noConfirm} state={stopped('requested')} metrics={null} onChanged={() => {}} />);
    expect(status()).toBe('stopped');
    // A server from before stop_reason says only that the run stopped.
    rerender(<SimulationPanel confirm={noConfirm} state={stopped()} metrics={null} onChanged={() => {}} />);
    expect(status()).toBe('stopped');
    expect(screen.getByRole('button', { name: '▶ Start' })).toBeInTheDocument();
  });

  it('shows refused bookings, those refused as full, and the alternatives users tried and booked instead', async () => {
    mockFetch({ 'GET /api/v1/simulation/scenarios': () => scenarios });
    const metrics = {
      recent_actions_per_second: 40,
      bookings: { attempted: 90, confirmed: 60, failed: 0, cancelled: 2, refused: 30, refused_full: 25, alternatives_tried: 17, alternatives_confirmed: 14 },
    } as SimMetrics;
    render(<SimulationPanel confirm={noConfirm} state={running} metrics={metrics} onChanged={() => {}} />);
    await screen.findByRole('option', { name: 'Normal Day' });
    const figure = (label: string) => screen.getByText(label).nextElementSibling?.textContent;
    expect(figure('refused (full)')).toBe('30 (25)');
    expect(figure('tried instead')).toBe('17');
    expect(figure('booked instead')).toBe('14');
  });

  it('shows no actions per second for a paused or stopped run, whose last rate the simulator keeps answering with', async () => {
    mockFetch({ 'GET /api/v1/simulation/scenarios': () => scenarios });
    const metrics = { recent_actions_per_second: 126, bookings: undefined } as unknown as SimMetrics;
    const figure = () => screen.getByText('actions/s').nextElementSibling?.textContent;
    const { rerender } = render(<SimulationPanel confirm={noConfirm} state={running} metrics={metrics} onChanged={() => {}} />);
    await screen.findByRole('option', { name: 'Normal Day' });
    expect(figure()).toBe('126');
    rerender(<SimulationPanel confirm={noConfirm} state={{ ...running, status: 'paused', paused: true }} metrics={metrics} onChanged={() => {}} />);
    expect(figure()).toBe('0');
    rerender(<SimulationPanel confirm={noConfirm} state={{ ...running, status: 'stopped', running: false, stop_reason: 'shutdown' }} metrics={metrics} onChanged={() => {}} />);
    expect(figure()).toBe('0');
  });

  it('lets the sim clock wrap between the day and the time of day instead of cutting it', async () => {
    mockFetch({ 'GET /api/v1/simulation/scenarios': () => scenarios });
    render(<SimulationPanel confirm={noConfirm} state={running} metrics={null} onChanged={() => {}} />);
    await screen.findByRole('option', { name: 'Normal Day' });
    const clock = screen.getByText('sim clock').nextElementSibling as HTMLElement;
    expect(clock).not.toHaveClass('truncate');
    // The time of day is whole on its own, wherever the cell breaks the line.
    expect(within(clock).getByText('17:07 EST')).toHaveClass('whitespace-nowrap');
    expect(within(clock).getByText('Fri 20 Nov,')).toHaveClass('whitespace-nowrap');
  });

  /** The server's 422: `the request has invalid fields`, with each field at fault and why in `details`. */
  const invalid = (...details: { field: string; message: string }[]) =>
    json({ error: { code: 'validation_failed', message: 'the request has invalid fields', details } }, 422);

  it('names each invalid field of a refused start and why', async () => {
    // A body that parses is checked whole: every field at fault is named at once.
    const { calls } = mockFetch({
      'GET /api/v1/simulation/scenarios': () => scenarios,
      'POST /api/v1/simulation/start': () =>
        invalid(
          { field: 'duration', message: '"abc" is not a duration such as 4h, 90m, 1h30m or 2d' },
          { field: 'users', message: 'must be between 1 and 1000000' },
        ),
    });
    render(<SimulationPanel confirm={noConfirm} state={null} metrics={null} onChanged={() => {}} />);
    fireEvent.change(screen.getByLabelText('duration'), { target: { value: 'abc' } });
    fireEvent.change(screen.getByLabelText('users'), { target: { value: '0' } });
    fireEvent.click(screen.getByRole('button', { name: '▶ Start' }));
    const fields = await screen.findByTestId('sim-error-fields');
    expect(calls.find((c) => c.url === '/api/v1/simulation/start')?.body).toMatchObject({ users: 0, duration: 'abc' });
    expect(screen.getByRole('alert')).toHaveTextContent('the request has invalid fields');
    expect(within(fields).getAllByRole('listitem').map((li) => li.textContent)).toEqual([
      'duration: "abc" is not a duration such as 4h, 90m, 1h30m or 2d',
      'users: must be between 1 and 1000000',
    ]);
  });

  it('says what a number the server cannot read should be', async () => {
    // A negative count does not fit the server's unsigned field: the body is refused as it is
    // read, naming that field alone, with what it expects.
    mockFetch({
      'GET /api/v1/simulation/scenarios': () => scenarios,
      'POST /api/v1/simulation/start': () => invalid({ field: 'users', message: 'expected a whole number ≥ 0' }),
    });
    render(<SimulationPanel confirm={noConfirm} state={null} metrics={null} onChanged={() => {}} />);
    fireEvent.change(screen.getByLabelText('users'), { target: { value: '-5' } });
    fireEvent.click(screen.getByRole('button', { name: '▶ Start' }));
    const fields = await screen.findByTestId('sim-error-fields');
    expect(within(fields).getAllByRole('listitem').map((li) => li.textContent)).toEqual(['users: expected a whole number ≥ 0']);
  });

  it('keeps the users box empty while it is cleared, and then leaves users to the server', async () => {
    const { calls } = mockFetch({ 'GET /api/v1/simulation/scenarios': () => scenarios, 'POST /api/v1/simulation/start': () => running });
    const changed = vi.fn();
    render(<SimulationPanel confirm={noConfirm} state={null} metrics={null} onChanged={changed} />);
    fireEvent.change(screen.getByLabelText('users'), { target: { value: '' } });
    expect(screen.getByLabelText('users')).toHaveValue(null);
    fireEvent.click(screen.getByRole('button', { name: '▶ Start' }));
    await waitFor(() => expect(changed).toHaveBeenCalled());
    expect(calls.find((c) => c.url === '/api/v1/simulation/start')?.body).toEqual({ scenario: 'normal', seed: 42, speed: 60 });
  });

  it('keeps the keyboard in the panel when the button pressed goes away: Start, then Stop', async () => {
    // QA (keyboard only, real Chromium): Enter on Start left the focus on the page's body once
    // the run started (Start gives way to Pause), and so did Stop (disabled once stopped).
    const user = userEvent.setup();
    mockFetch({
      'GET /api/v1/simulation/scenarios': () => scenarios,
      'POST /api/v1/simulation/start': () => running,
      'POST /api/v1/simulation/stop': () => ({ ...running, status: 'stopped', running: false }),
    });
    const { rerender } = render(<SimulationPanel confirm={noConfirm} state={null} metrics={null} onChanged={() => {}} />);
    await screen.findByRole('option', { name: 'Friday Night Out' });
    screen.getByRole('button', { name: '▶ Start' }).focus();
    await user.keyboard('{Enter}');
    await waitFor(() => expect(screen.getByRole('button', { name: '▶ Start' })).toBeEnabled());
    rerender(<SimulationPanel confirm={noConfirm} state={running} metrics={null} onChanged={() => {}} />);
    await waitFor(() => expect(screen.getByRole('button', { name: '❚❚ Pause' })).toHaveFocus());
    await user.tab();
    expect(screen.getByRole('button', { name: '■ Stop' })).toHaveFocus();
    await user.keyboard('{Enter}');
    await waitFor(() => expect(screen.getByRole('button', { name: '❚❚ Pause' })).toBeEnabled());
    rerender(<SimulationPanel confirm={noConfirm} state={{ ...running, status: 'stopped', running: false }} metrics={null} onChanged={() => {}} />);
    await waitFor(() => expect(screen.getByRole('button', { name: '▶ Start' })).toHaveFocus());
  });
  it('asks before Reset discards a running or paused run; cancelling keeps it', async () => {
    // QA: Reset threw a running run away at a click, with no question asked.
    const { calls } = mockFetch({ 'GET /api/v1/simulation/scenarios': () => scenarios, 'POST /api/v1/simulation/reset': () => ({ ...running, status: 'idle', running: false }) });
    const changed = vi.fn();
    const { unmount } = render(<Confirming state={running} onChanged={changed} />);
    fireEvent.click(screen.getByRole('button', { name: '↺ Reset' }));
    expect(screen.getByRole('dialog', { name: 'Discard the simulation?' })).toHaveTextContent('The running run is stopped and forgotten');
    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(calls.filter((c) => c.url === '/api/v1/simulation/reset')).toHaveLength(0);
    expect(screen.queryByRole('dialog')).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: '↺ Reset' }));
    fireEvent.click(screen.getByRole('button', { name: 'Stop and reset' }));
    await waitFor(() => expect(calls.filter((c) => c.url === '/api/v1/simulation/reset')).toHaveLength(1));
    await waitFor(() => expect(changed).toHaveBeenCalled());
    unmount();
    // Paused is a run too; a stopped one is only cleared, without asking.
    render(<Confirming state={{ ...running, status: 'paused', paused: true }} onChanged={() => {}} />);
    fireEvent.click(screen.getByRole('button', { name: '↺ Reset' }));
    expect(screen.getByRole('dialog')).toHaveTextContent('The paused run is stopped and forgotten');
  });

  it('clears a stopped run without asking', async () => {
    const { calls } = mockFetch({ 'GET /api/v1/simulation/scenarios': () => scenarios, 'POST /api/v1/simulation/reset': () => ({ ...running, status: 'idle', running: false }) });
    render(<Confirming state={{ ...running, status: 'stopped', running: false }} onChanged={() => {}} />);
    fireEvent.click(screen.getByRole('button', { name: '↺ Reset' }));
    await waitFor(() => expect(calls.filter((c) => c.url === '/api/v1/simulation/reset')).toHaveLength(1));
    expect(screen.queryByRole('dialog')).toBeNull();
  });
});
