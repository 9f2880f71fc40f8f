// The live activity charts: events per second by channel (counted on the stream), bookings,
// recommendation click-through (the simulator's figures) and request latency (the servers'
// `metrics.snapshot`s), over the last two minutes; and the servers' conversion of served venue
// recommendations by ranker, since they started.

import { useMemo } from 'react';

import { CHANNELS, type RankerConversion } from '../api/types';
import { CHANNEL_COLORS, CHANNEL_LABELS } from '../lib/colors';
import { useTicker } from '../lib/hooks';
import { WINDOW_SECONDS, type LiveStore } from '../lib/live';
import { msTick, TimeChart, unitTick } from './TimeChart';

const ms = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : v >= 10 ? `${v.toFixed(0)}ms` : `${v.toFixed(1)}ms`);
const pct = (v: number) => `${v.toFixed(v >= 10 ? 0 : 1)}%`;
/** Axis labels: as many decimals as the tick step needs (0.25%, not 0.3%). */
const pctTick = unitTick('%');

export function ChartsPanel({ live }: { live: LiveStore }) {
  // The window slides once a second, events or not.
  const tick = useTicker(1000);

  const rates = useMemo(() => live.rateSeries(), [live, tick]);
  const bookings = useMemo(() => live.bookingSeries(), [live, tick]);
  const latency = useMemo(() => {
    const p = live.latency;
    return [p.map((x) => x.t), p.map((x) => x.recoP50), p.map((x) => x.recoP99), p.map((x) => x.apiP90)];
  }, [live, tick]);
  const ctr = useMemo(() => {
    const p = live.ctr;
    return [p.map((x) => x.t), p.map((x) => x.ctr), p.map((x) => x.conversion)];
  }, [live, tick]);

  return (
    <div className="grid grid-cols-1 gap-3 md:grid-cols-2">
      <TimeChart
        testId="chart-events"
        title="Events per second"
        subtitle="by channel, as the stream delivers them"
        series={CHANNELS.map((c) => ({ label: CHANNEL_LABELS[c], color: CHANNEL_COLORS[c] }))}
        data={rates}
        counts
        span={WINDOW_SECONDS}
      />
      <TimeChart
        testId="chart-bookings"
        title="Bookings"
        subtitle="per 5 s: created, and status changes · legend: totals over 2 min"
        series={[
          { label: 'created', color: '#34d399', bars: true },
          { label: 'changed', color: '#fbbf24', bars: true },
        ]}
        data={bookings}
        legendValue="sum"
        counts
        span={WINDOW_SECONDS}
      />
      <TimeChart
        testId="chart-ctr"
        title="Recommendation click-through"
        subtitle="simulated users: clicks and bookings per recommendation shown"
        series={[
          { label: 'click-through', color: '#a78bfa', fill: true },
          { label: 'conversion', color: '#34d399' },
        ]}
        data={ctr}
        format={pct}
        tick={pctTick}
        span={WINDOW_SECONDS}
      />
      <TimeChart
        testId="chart-latency"
        title="Request latency"
        subtitle="recommendation routes p50 / p99, and all routes p90 (last minute)"
        series={[
          { label: 'reco p50', color: '#38bdf8' },
          { label: 'reco p99', color: '#f472b6' },
          { label: 'all p90', color: '#fbbf24' },
        ]}
        data={latency}
        format={ms}
        tick={msTick}
        span={WINDOW_SECONDS}
      />
      <ConversionTable live={live} tick={tick} />
    </div>
  );
}

/** Live conversion of served venue recommendations by ranker (every server's answers). On a
 * phone (below `sm`) it fits its card at 390 px: smaller type, narrower gaps, headers in the
 * proportional font, and the answers under the ranker's name rather than in a column of their
 * own; past that (huge figures) it scrolls inside the card. A ranker that has shown no venue has
 * no rates ("–"), not 0%. */
function ConversionTable({ live, tick }: { live: LiveStore; tick: number }) {
  const rows = useMemo(() => live.conversionByRanker(), [live, tick]);
  const head = 'py-0.5 pl-2 text-right font-normal sm:pl-3';
  const cell = 'py-0.5 pl-2 text-right font-mono tabular-nums sm:pl-3';
  const rate = (r: RankerConversion, v: number) => (r.shown > 0 ? pct(v * 100) : '–');
  return (
    <section className="card flex min-w-0 flex-col gap-2 md:col-span-2" data-testid="conversion-table">
      <header>
        <h3 className="card-title">Recommendation conversion by ranker</h3>
        <p className="text-xs text-slate-500">
          of the venues each ranker showed, the share the user then viewed, liked or saved, visited or booked within a
          day · every request, app or simulator
        </p>
      </header>
      {rows.length === 0 ? (
        <p className="text-xs text-slate-500">No venue recommendations served yet.</p>
      ) : (
        <div className="overflow-x-auto" data-testid="conversion-scroll">
          <table className="w-full text-[11px] sm:text-xs">
            <thead className="text-slate-500">
              <tr>
                <th className="py-0.5 text-left font-normal">ranker</th>
                <th className={`${head} hidden sm:table-cell`}>answers</th>
                <th className={head}>shown</th>
                <th className={head}>viewed</th>
                <th className={head}>liked</th>
                <th className={head}>visited</th>
                <th className={head}>booked</th>
              </tr>
            </thead>
            <tbody className="text-slate-300">
              {rows.map((r) => (
                <tr key={r.ranker} data-ranker={r.ranker}>
                  <td className="py-0.5 align-top">
                    {r.ranker}
                    <span className="block text-slate-500 tabular-nums sm:hidden" data-testid="conversion-answers">
                      {r.answers.toLocaleString('en-US')} {r.answers === 1 ? 'answer' : 'answers'}
                    </span>
                  </td>
                  <td className={`${cell} hidden sm:table-cell`}>{r.answers.toLocaleString('en-US')}</td>
                  <td className={cell}>{r.shown.toLocaleString('en-US')}</td>
                  <td className={cell}>{rate(r, r.view_rate)}</td>
                  <td className={cell}>{rate(r, r.like_rate)}</td>
                  <td className={cell}>{rate(r, r.visit_rate)}</td>
                  <td className={cell}>{rate(r, r.booking_rate)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
