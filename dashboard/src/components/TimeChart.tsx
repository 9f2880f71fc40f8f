// A live time-series chart on uPlot (canvas; fast enough to redraw several times a second),
// with a React legend showing each series' latest value. Sized to its container.

import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface SeriesSpec {
  label: string;
  color: string;
  /** Fill under the line (a translucent version of the colour). */
  fill?: boolean;
  /** Draw as bars rather than a line. */
  bars?: boolean;
}

interface Props {
  title: string;
  subtitle?: string;
  series: SeriesSpec[];
  /** [x (epoch seconds), ...one array per series]. */
  data: number[][];
  height?: number;
  format?: (v: number) => string;
  /** Show the latest value of each series or their sum over the window. */
  legendValue?: 'last' | 'sum';
  testId?: string;
}

const axis = {
  stroke: '#94a3b8',
  grid: { stroke: 'rgba(148,163,184,0.12)', width: 1 },
  ticks: { stroke: 'rgba(148,163,184,0.25)', width: 1 },
  font: '11px ui-sans-serif, system-ui, sans-serif',
};

function translucent(hex: string, alpha: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}

export function TimeChart({ title, subtitle, series, data, height = 200, format = fmt, legendValue = 'last', testId }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const key = series.map((s) => s.label).join('|');

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), Math.max(1, max * 1.1)] } },
      axes: [
        { ...axis, space: 70, values: (_u, vals) => vals.map((v) => clock(v)) },
        { ...axis, size: 54, values: (_u, vals) => vals.map((v) => format(v)) },
      ],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 1.75,
          fill: s.fill ? translucent(s.color, 0.12) : undefined,
          paths: s.bars && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.7, 24] }) : undefined,
          points: { show: false },
        })),
      ],
    };
    const u = new uPlot(opts, data as uPlot.AlignedData, el);
    plot.current = u;
    const ro = typeof ResizeObserver === 'undefined' ? null : new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height }));
    ro?.observe(el);
    return () => {
      ro?.disconnect();
      u.destroy();
      plot.current = null;
    };
    // Rebuilt only when the series change; data flows through setData below.
  }, [key, height]);

  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  }, [data]);

  const values = series.map((_, i) => {
    const ys = data[i + 1] ?? [];
    return legendValue === 'sum' ? ys.reduce((a, b) => a + b, 0) : ys[ys.length - 1] ?? 0;
  });

  const nonzero = data.slice(1).reduce((a, ys) => a + ys.filter((y) => y > 0).length, 0);

  return (
    <section className="card flex flex-col gap-2" data-testid={testId} data-nonzero={nonzero}>
      <header className="flex flex-wrap items-baseline justify-between gap-x-4 gap-y-1">
        <div>
          <h3 className="card-title">{title}</h3>
          {subtitle && <p className="text-xs text-slate-500">{subtitle}</p>}
        </div>
        <ul className="flex flex-wrap gap-x-3 gap-y-0.5 text-xs">
          {series.map((s, i) => (
            <li key={s.label} className="flex items-center gap-1.5" data-testid={testId ? `${testId}-${s.label}` : undefined}>
              <span className="inline-block h-2 w-2 rounded-full" style={{ background: s.color }} />
              <span className="text-slate-400">{s.label}</span>
              <span className="font-mono tabular-nums text-slate-100">{format(values[i])}</span>
            </li>
          ))}
        </ul>
      </header>
      <div ref={box} className="min-h-0 w-full" style={{ height }} />
    </section>
  );
}

function clock(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toTimeString().slice(0, 8);
}

export function fmt(v: number): string {
  if (!Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(0)}k`;
  if (a >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  if (a >= 100 || Number.isInteger(v)) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}
