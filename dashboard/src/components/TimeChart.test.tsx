import { render, screen } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';

import { fakePlots, resetPlots } from '../test/plots';
import { COUNT_INCRS, fmt, stepDecimals, tickFmt, TIME_INCRS, TimeChart, unitTick } from './TimeChart';

beforeEach(resetPlots);

describe('TimeChart', () => {
  const series = [
    { label: 'a', color: '#38bdf8' },
    { label: 'b', color: '#f472b6' },
  ];

  it('builds one plot with its series, feeds new data to it, and shows the latest values', () => {
    const { rerender, unmount } = render(<TimeChart title="Rates" series={series} data={[[1, 2], [0, 3], [5, 0]]} testId="c" />);
    expect(fakePlots()).toHaveLength(1);
    expect(fakePlots()[0].opts.series.map((s) => s.label)).toEqual([undefined, 'a', 'b']);
    expect(screen.getByTestId('c-a')).toHaveTextContent('a3');
    expect(screen.getByTestId('c')).toHaveAttribute('data-nonzero', '2');
    rerender(<TimeChart title="Rates" series={series} data={[[1, 2, 3], [0, 3, 7], [5, 0, 1]]} testId="c" />);
    expect(fakePlots()).toHaveLength(1);
    expect(fakePlots()[0].data[1]).toEqual([0, 3, 7]);
    expect(screen.getByTestId('c-a')).toHaveTextContent('a7');
    unmount();
    expect(fakePlots()[0].destroyed).toBe(true);
  });

  it('can show sums instead of latest values', () => {
    render(<TimeChart title="Bookings" series={series} data={[[1, 2], [1, 2], [0, 0]]} legendValue="sum" testId="b" />);
    expect(screen.getByTestId('b-a')).toHaveTextContent('a3');
  });

  it('says "–" for a series with no data, or a gap at its end, rather than 0', () => {
    render(<TimeChart title="Latency" series={series} data={[[], [], []]} testId="l" format={(v) => `${v.toFixed(1)}ms`} />);
    expect(screen.getByTestId('l-a')).toHaveTextContent(/^a–$/);
    render(<TimeChart title="Gaps" series={series} data={[[1, 2], [3, null], [null, null]]} legendValue="sum" testId="g" />);
    expect(screen.getByTestId('g-a')).toHaveTextContent(/^a3$/);
    expect(screen.getByTestId('g-b')).toHaveTextContent(/^b–$/);
  });

  it('puts counts on whole-number ticks', () => {
    render(<TimeChart title="Counts" series={series} data={[[1], [0], [0]]} counts />);
    render(<TimeChart title="Rates" series={series} data={[[1], [0], [0]]} />);
    const [counts, rates] = fakePlots().map((p) => (p.opts as unknown as { axes: { incrs?: number[] }[] }).axes[1]);
    expect(counts.incrs).toBe(COUNT_INCRS);
    expect(COUNT_INCRS.slice(0, 6)).toEqual([1, 2, 5, 10, 20, 50]);
    expect(rates.incrs).toBeUndefined();
  });

  it('ticks time on whole seconds, so a window of a few seconds does not label a second twice', () => {
    // Two seconds of data (just after loading or a reset) were ticked every half second: 23:15:15, 23:15:15, 23:15:16...
    render(<TimeChart title="Rates" series={series} data={[[1, 2], [0, 1], [0, 1]]} />);
    const x = (fakePlots()[0].opts as unknown as { axes: { incrs?: number[] }[] }).axes[0];
    expect(x.incrs).toBe(TIME_INCRS);
    expect(Math.min(...TIME_INCRS)).toBe(1);
    expect(TIME_INCRS.every(Number.isInteger)).toBe(true);
  });

  it('labels ticks with the decimals their step needs', () => {
    expect([0.25, 0.5, 1, 2.5, 5, 0.1, 0.05, 0.3].map(stepDecimals)).toEqual([2, 1, 0, 1, 0, 1, 2, 1]);
    expect([0, 0.25, 0.75].map((v) => unitTick('%')(v, 0.25))).toEqual(['0.00%', '0.25%', '0.75%']);
    expect(tickFmt(1250, 250)).toBe('1.25k');
    expect(tickFmt(1200, 200)).toBe('1.2k');
    expect(tickFmt(20_000, 5000)).toBe('20k');
    expect(tickFmt(3, 1)).toBe('3');
  });

  it('formats numbers compactly', () => {
    expect(fmt(0)).toBe('0');
    expect(fmt(3.14159)).toBe('3.14');
    expect(fmt(42.42)).toBe('42.4');
    expect(fmt(1234)).toBe('1.2k');
    expect(fmt(2_500_000)).toBe('2.5M');
  });
});
