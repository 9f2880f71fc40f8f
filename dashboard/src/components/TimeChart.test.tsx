import { render, screen } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';

import { fakePlots, resetPlots } from '../test/plots';
import { fmt, TimeChart } from './TimeChart';

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

  it('formats numbers compactly', () => {
    expect(fmt(0)).toBe('0');
    expect(fmt(3.14159)).toBe('3.14');
    expect(fmt(42.42)).toBe('42.4');
    expect(fmt(1234)).toBe('1.2k');
    expect(fmt(2_500_000)).toBe('2.5M');
  });
});
