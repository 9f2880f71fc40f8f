// A live time-series chart on uPlot (canvas; fast enough to redraw several times a second),
// with a React legend showing each series' latest value. Sized to its container. A `null` in a
// series is a gap (no data then); a legend with no data says "–", not 0.

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
  /** [x (epoch seconds), ...one array per series]; `null` where there is no data. */
  data: (number | null)[][];
  height?: number;
  /** The legend's values. */
  format?: (v: number) => string;
  /** The y axis's labels, given the step between ticks (so 0.25 is not rounded to 0.3). */
  tick?: (v: number, step: number) => string;
  /** Counts: y ticks on whole numbers only (no 0.25 of a booking). */
  counts?: boolean;
  /** Show the latest value of each series or their sum over the window. */
  legendValue?: 'last' | 'sum';
  /** Seconds the x axis spans, ending at the newest point, however few points there are yet. */
  span?: number;
  testId?: string;
}

const AXIS_FONT = '11px ui-sans-serif, system-ui, sans-serif';
const TICK_SIZE = 10;
const AXIS_GAP = 5;

const axis = {
  stroke: '#94a3b8',
  grid: { stroke: 'rgba(148,163,184,0.12)', width: 1 },
  ticks: { stroke: 'rgba(148,163,184,0.25)', width: 1, size: TICK_SIZE },
  gap: AXIS_GAP,
  font: AXIS_FONT,
};

let measurer: CanvasRenderingContext2D | null | undefined;

/** A label's width in CSS pixels in the axis font: measured on a canvas, or (no canvas)
 * estimated at 7 px a character, more than any digit or letter of the labels takes at 11 px. */
export function labelWidth(text: string): number {
  if (measurer === undefined) {
    try {
      measurer = typeof document === 'undefined' ? null : document.createElement('canvas').getContext('2d');
    } catch {
      measurer = null;
    }
    if (measurer) measurer.font = AXIS_FONT;
  }
  return measurer ? measurer.measureText(text).width : text.length * 7;
}

/** The y axis's width: its widest label whole, plus the tick and the gap before the label (a
 * fixed 54 px cut "1000ms" to ":000ms"); never narrower than 54 px, so short labels look as
 * before. uPlot asks before it has labels (`null`) and again with them. */
export function yAxisSize(values: string[] | null, measure: (s: string) => number = labelWidth): number {
  const widest = Math.max(0, ...(values ?? []).map((v) => measure(String(v ?? ''))));
  return Math.max(54, Math.ceil(widest) + TICK_SIZE + AXIS_GAP + 4);
}

/** Tick steps for counts: 1, 2, 5, 10, 20, 50... (uPlot's own add 2.5 and fractions). */
export const COUNT_INCRS = Array.from({ length: 10 }, (_, e) => [1, 2, 5].map((m) => m * 10 ** e)).flat();

/** Time tick steps in seconds: the series are per second, so a window of a few seconds (just
 * loaded, or just reset) is not ticked at half seconds, each second's label written twice. */
export const TIME_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];

/** The decimals that show every multiple of `step` exactly: 0.25 → 2, 0.5 → 1, 5 → 0. */
export function stepDecimals(step: number): number {
  if (!Number.isFinite(step) || step <= 0) return 1;
  for (let d = 0; d < 8; d++) {
    const scaled = step * 10 ** d;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-6 * Math.max(1, scaled)) return d;
  }
  return 8;
}

/** A tick label in compact units (k, M) with the decimals its step needs. */
export function tickFmt(v: number, step: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(stepDecimals(step / 1e6))}M`;
  if (a >= 1e3) return `${(v / 1e3).toFixed(stepDecimals(step / 1e3))}k`;
  return v.toFixed(stepDecimals(step));
}

/** Tick labels with a unit (`%`, `ms`) and the decimals the step needs. */
export const unitTick =
  (unit: string) =>
  (v: number, step: number): string =>
    `${v.toFixed(stepDecimals(step))}${unit}`;

/** Millisecond tick labels: "250ms" below a second, then seconds with at most the decimals
 * the step needs ("1 s", "1.5 s"), so a slow minute's axis does not read "1500ms". */
export function msTick(v: number, step: number): string {
  // Whole seconds without decimals: "1 s", "1.5 s", "2 s".
  if (Math.abs(v) >= 1000) return `${Number((v / 1000).toFixed(stepDecimals(step / 1000)))} s`;
  return `${v.toFixed(stepDecimals(step))}ms`;
}

const finite = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

function translucent(hex: string, alpha: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}

export function TimeChart({ title, subtitle, series, data, height = 200, format = fmt, tick = tickFmt, counts = false, legendValue = 'last', span, testId }: Props) {
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
      // No data at all (every value null): 0 to 1.
      // With a span, the same window as the charts beside it (QA: just after the page opened, the
      // latency and click-through charts spanned the two seconds of their points, 07:54:18 to
      // 07:54:20, beside two minutes of events).
      scales: {
        x: span ? { time: true, range: (_u, _min, max) => (finite(max) ? [max - span, max] : [Date.now() / 1000 - span, Date.now() / 1000]) } : { time: true },
        y: { range: (_u, min, max) => [finite(min) ? Math.min(0, min) : 0, finite(max) ? Math.max(1, max * 1.1) : 1] },
      },
      axes: [
        { ...axis, space: 70, incrs: TIME_INCRS, values: (_u, vals) => vals.map((v) => clock(v)) },
        {
          ...axis,
          size: (_u: uPlot, values: string[] | null) => yAxisSize(values),
          ...(counts ? { incrs: COUNT_INCRS } : {}),
          values: (_u, vals, _axis, _space, step) => vals.map((v) => tick(v, step)),
        },
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
  }, [key, height, counts, span]);

  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  }, [data]);

  // No data (an empty window, or a gap at its end) is "–", not 0.
  const values = series.map((_, i) => {
    const ys = data[i + 1] ?? [];
    if (legendValue === 'sum') return ys.some(finite) ? ys.reduce<number>((a, b) => a + (finite(b) ? b : 0), 0) : null;
    return ys[ys.length - 1] ?? null;
  });

  const nonzero = data.slice(1).reduce((a, ys) => a + ys.filter((y) => finite(y) && y > 0).length, 0);

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
              <span className="font-mono tabular-nums text-slate-100">{finite(values[i]) ? format(values[i]) : '–'}</span>
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
