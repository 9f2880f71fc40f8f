import { render, screen, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';

import type { LunaEvent, SimMetrics } from '../api/types';
import { LiveStore } from '../lib/live';
import { fakePlots, resetPlots } from '../test/plots';
import { ChartsPanel } from './ChartsPanel';

beforeEach(resetPlots);

interface Axis {
  incrs?: number[];
  values: (u: unknown, splits: number[], axisIdx: number, space: number, step: number) => string[];
}

/** The plot whose first series is `label`, and its y axis. */
function plot(label: string) {
  const p = fakePlots().find((x) => x.opts.series[1]?.label === label);
  if (!p) throw new Error(`no plot with the series ${label}`);
  return { ...p, y: (p.opts as unknown as { axes: Axis[] }).axes[1] };
}

function ev(type: string, channel: LunaEvent['channel'], data: unknown): LunaEvent {
  return { id: '1-0', source_id: null, channel, type, timestamp: '', data };
}

const metrics = (ctr: number, shown: number, actions = 131) =>
  ({ actions_total: actions, recommendations: { requests: 9, shown, clicks: 1, conversions: 1, click_through_rate: ctr, conversion_rate: ctr } }) as SimMetrics;

const conv = (ranker: string, shown: number, viewed: number) => ({ ranker, answers: 12, shown, viewed, liked: 0, visited: 0, booked: 0 });

describe('ChartsPanel', () => {
  it('spans every chart over the same two minutes, however few points the snapshot charts have yet', () => {
    render(<ChartsPanel live={new LiveStore()} />);
    for (const label of ['user actions', 'created', 'click-through', 'reco p50']) {
      const x = (plot(label).opts as unknown as { scales: { x: { range?: (u: unknown, min: number, max: number) => [number, number] } } }).scales.x;
      // Two seconds of points (07:54:18 to 07:54:20 in QA) still draw the window's 120 s.
      expect(x.range?.(null, 1_800_000_018, 1_800_000_020), label).toEqual([1_800_000_020 - 120, 1_800_000_020]);
    }
  });

  it('puts the count charts (events per second, bookings) on whole-number ticks only', () => {
    render(<ChartsPanel live={new LiveStore()} />);
    for (const label of ['user actions', 'created']) {
      const { y } = plot(label);
      expect(y.incrs, label).toBeDefined();
      expect(y.incrs!.every((i) => Number.isInteger(i) && i >= 1), label).toBe(true);
      expect(y.values(null, [0, 1, 2, 3], 1, 30, 1)).toEqual(['0', '1', '2', '3']);
    }
    // Rates and latency may step by fractions.
    expect(plot('click-through').y.incrs).toBeUndefined();
    expect(plot('reco p50').y.incrs).toBeUndefined();
  });

  it('labels percent and latency ticks with the decimals their step needs', () => {
    render(<ChartsPanel live={new LiveStore()} />);
    expect(plot('click-through').y.values(null, [0, 0.25, 0.5, 0.75], 1, 30, 0.25)).toEqual(['0.00%', '0.25%', '0.50%', '0.75%']);
    expect(plot('click-through').y.values(null, [0, 5, 10], 1, 30, 5)).toEqual(['0%', '5%', '10%']);
    expect(plot('reco p50').y.values(null, [0, 0.5, 1], 1, 30, 0.5)).toEqual(['0.0ms', '0.5ms', '1.0ms']);
  });

  it('labels a slow latency axis in seconds and makes its axis as wide as its widest label', () => {
    // QA at 1440x900 on the real binary: a minute with p99 over a second labelled the axis
    // "1000ms", "1500ms", "2000ms" in a fixed 54 px, which cut them to ":000ms", ":500ms".
    render(<ChartsPanel live={new LiveStore()} />);
    const y = plot('reco p50').y as unknown as Axis & { size: number | ((u: unknown, values: string[] | null) => number) };
    expect(y.values(null, [0, 500, 1000, 1500, 2000], 1, 30, 500)).toEqual(['0ms', '500ms', '1 s', '1.5 s', '2 s']);
    expect(y.values(null, [0, 1000, 2000], 1, 30, 1000)).toEqual(['0ms', '1 s', '2 s']);
    // Whatever the labels, the axis holds the widest whole (label + tick + gap), and keeps
    // 54 px for short ones. The test canvas measures 6 px a character.
    const size = (values: string[] | null) => (typeof y.size === 'function' ? y.size(null, values) : y.size);
    expect(size(['0ms', '10ms', '20ms'])).toBe(54);
    expect(size(null)).toBe(54);
    const long = ['0ms', '250000ms', '500000ms'];
    expect(size(long)).toBeGreaterThanOrEqual(8 * 6 + 10 + 5);
  });

  it('shows "–" for latency and click-through with no data, not 0', () => {
    const live = new LiveStore();
    // A snapshot with no recommendation timed and no route but the stream.
    live.ingest(ev('metrics.snapshot', 'metrics', { server: 'a', routes: [], requests_per_second: 0, recommendation_latency_ms: { count: 0, p50: 0, p90: 0, p99: 0, max: 0 } }));
    live.pushSimMetrics(metrics(0, 0, 0));
    render(<ChartsPanel live={live} />);
    for (const id of ['chart-latency-reco p50', 'chart-latency-reco p99', 'chart-latency-all p90', 'chart-ctr-click-through', 'chart-ctr-conversion'])
      expect(screen.getByTestId(id), id).toHaveTextContent(/–$/);
    expect(plot('reco p50').data[1]).toEqual([null]);
  });

  it('stops drawing the stopped run’s click-through after a data reset', () => {
    const live = new LiveStore();
    live.pushSimMetrics(metrics(0.11, 90));
    const { unmount } = render(<ChartsPanel live={live} />);
    expect(screen.getByTestId('chart-ctr-click-through')).toHaveTextContent('11%');
    unmount();
    live.ingest(ev('data.reset', 'system', {}));
    live.pushSimMetrics(metrics(0.11, 90)); // the simulator still answers with that run's figures
    resetPlots();
    render(<ChartsPanel live={live} />);
    expect(plot('click-through').data[1]).toEqual([]);
    expect(screen.getByTestId('chart-ctr-click-through')).toHaveTextContent(/–$/);
  });

  it('fits the conversion table on a phone (answers under the ranker, "1 answer" in the singular), with "–" for a ranker that showed nothing', () => {
    const live = new LiveStore();
    live.ingest(ev('metrics.snapshot', 'metrics', { server: 'a', routes: [], recommendation_conversion: [conv('seed2', 40, 10), conv('learned', 0, 0), { ...conv('group', 10, 0), answers: 1 }] }));
    render(<ChartsPanel live={live} />);
    const table = screen.getByTestId('conversion-table');
    const seed2 = table.querySelector('tr[data-ranker=seed2]') as HTMLElement;
    const learned = table.querySelector('tr[data-ranker=learned]') as HTMLElement;
    expect(within(seed2).getByTestId('conversion-answers')).toHaveTextContent('12 answers');
    expect(within(table.querySelector('tr[data-ranker=group]') as HTMLElement).getByTestId('conversion-answers')).toHaveTextContent(/^1 answer$/);
    expect(within(seed2).getByTestId('conversion-answers')).toHaveClass('sm:hidden');
    // Columns keep their places (e2e reads the third as "shown"); the answers column is hidden on a phone.
    expect(seed2.querySelector('td:nth-child(3)')).toHaveTextContent('40');
    expect(seed2.querySelector('td:nth-child(2)')).toHaveClass('hidden', 'sm:table-cell');
    expect(seed2.querySelector('td:nth-child(4)')).toHaveTextContent('25%');
    expect([...learned.querySelectorAll('td')].slice(3).map((td) => td.textContent)).toEqual(['–', '–', '–', '–']);
  });
});
