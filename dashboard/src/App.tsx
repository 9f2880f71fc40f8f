// The dashboard: a header (pages, the server's health, stream status, admin token), banners for
// a server that went away or an empty database, and three pages: Live (statistics and health,
// charts, simulation, demo data, events, a small map), City map, and Inspector. Pages are real
// paths (`/map`, `/inspector`); the server answers them with this app.

import { useEffect, useMemo, useState, useSyncExternalStore } from 'react';

import { onTokenChange, tokenState, type TokenState } from './api/auth';
import type { StreamInfo } from './api/stream';
import { ChartsPanel } from './components/ChartsPanel';
import { CityMap } from './components/CityMap';
import { DataPanel, seedRequest } from './components/DataPanel';
import { ConfirmDialog, TokenDialog } from './components/Dialogs';
import { EventFeed } from './components/EventFeed';
import { HealthIndicator } from './components/HealthIndicator';
import { Inspector, inspectorSearch, onInspectorSearch } from './components/Inspector';
import { MapPanel, MapSummary, useHeatMode } from './components/MapPanel';
import { ModelPanel } from './components/ModelPanel';
import { SimulationPanel } from './components/SimulationPanel';
import { HEALTH_ROW_ID, StatsPanel } from './components/StatsPanel';
import { DashboardProvider, useDashboard, useDashboardState } from './lib/dashboard';
import { useLive, useTicker } from './lib/hooks';

const PAGES = [
  { path: '/', label: 'Live' },
  { path: '/map', label: 'City map' },
  { path: '/inspector', label: 'Inspector' },
] as const;

function usePath(): [string, (p: string) => void] {
  const [path, setPath] = useState(() => window.location.pathname);
  useEffect(() => {
    const on = () => setPath(window.location.pathname);
    window.addEventListener('popstate', on);
    return () => window.removeEventListener('popstate', on);
  }, []);
  /** Goes to a page, `p` its path and maybe a query (the inspector's picked users). */
  const go = (p: string) => {
    if (p === window.location.pathname + window.location.search) return;
    window.history.pushState(null, '', p);
    setPath(window.location.pathname);
  };
  return [path, go];
}

const STATUS_TEXT: Record<StreamInfo['status'], [string, string]> = {
  connecting: ['connecting…', 'bg-slate-400'],
  live: ['live', 'bg-emerald-400'],
  reconnecting: ['reconnecting…', 'bg-amber-400'],
  down: ['server unreachable', 'bg-rose-500'],
  unauthorized: ['needs admin token', 'bg-amber-400'],
};

function KeyIcon() {
  return (
    <svg viewBox="0 0 20 20" className="h-3.5 w-3.5" fill="currentColor" aria-hidden>
      <path d="M13 2a5 5 0 0 0-4.8 6.4L2 14.6V18h3.4v-2h2v-2h2l1.2-1.2A5 5 0 1 0 13 2zm1.5 5a1.5 1.5 0 1 1 0-3 1.5 1.5 0 0 1 0 3z" />
    </svg>
  );
}

const TOKEN_TEXT: Record<TokenState, [string, string, string]> = {
  none: ['admin token', '', 'the admin token for this session'],
  set: ['token set', '', 'the admin token for this session'],
  refused: ['token refused', 'text-rose-300', 'the server refused this admin token: set a working one'],
};

function StreamPill({ info }: { info: StreamInfo }) {
  const [text, dot] = STATUS_TEXT[info.status];
  return (
    <span className="chip border-slate-700 bg-slate-900 py-1 text-slate-300" data-testid="stream-status" data-status={info.status} title={info.cursor ? `resumes after ${info.cursor}` : undefined}>
      <span className={`h-2 w-2 rounded-full ${dot} ${info.status === 'live' ? 'animate-pulse' : ''}`} />
      {text}
    </span>
  );
}

function Banners({ onSeed }: { onSeed: () => void }) {
  const d = useDashboard();
  useTicker(1000);
  const retryIn = d.stream.retryAt ? Math.max(0, Math.ceil((d.stream.retryAt - Date.now()) / 1000)) : null;
  return (
    <>
      {d.serverDown ? (
        <div className="border-b border-rose-500/40 bg-rose-500/10 px-6 py-2.5 text-sm text-rose-200" role="alert" data-testid="server-down">
          <b>The Luna server cannot be reached.</b> Reconnecting{retryIn !== null ? ` in ${retryIn}s` : '…'}; the event feed resumes where it stopped
          {d.stream.cursor ? <span className="font-mono text-xs text-rose-300/80"> (after {d.stream.cursor.length > 60 ? `${d.stream.cursor.slice(0, 60)}…` : d.stream.cursor})</span> : null}.
        </div>
      ) : null}
      {!d.serverDown && d.emptyDatabase ? (
        <div className="flex items-center justify-between gap-4 border-b border-sky-500/30 bg-sky-500/10 px-6 py-2.5 text-sm text-sky-100" data-testid="empty-database">
          <span>
            <b>The database is empty.</b> Seed the demo city to see users, venues and recommendations (or start a simulation, which seeds it).
          </span>
          <button className="btn btn-primary py-1" onClick={onSeed}>
            Seed demo data
          </button>
        </div>
      ) : null}
    </>
  );
}

function LivePage() {
  const d = useDashboard();
  useLive(d.live);
  const [heatMode] = useHeatMode(d.map.data);
  // Bumped by every change made here (a seed, a reset, a run): the model panel reads its state
  // again at once (a reseed leaves a model that knows none of the new users; under the demo it
  // starts a training).
  const [changes, setChanges] = useState(0);
  // The map too: a seed is answered once this server's engine, which the map reads, has the new
  // city (its `data.seeded` event may come before, and the map read then is the emptied one).
  const refresh = () => {
    void d.stats.refresh();
    void d.sim.refresh();
    d.map.reload();
    setChanges((c) => c + 1);
  };
  const map = d.map.data;
  const venueName = useMemo(() => {
    const index = new Map<string, number>();
    map?.venues.id.forEach((id, i) => index.set(id, i));
    return (id: string) => {
      const i = index.get(id);
      return i === undefined || !map ? null : map.categories[map.venues.category[i]] ?? null;
    };
  }, [map]);
  const rps = d.live.latency.length ? d.live.latency[d.live.latency.length - 1].rps : undefined;
  return (
    <div className="space-y-4">
      <StatsPanel
        stats={d.stats.data}
        liveRate={d.live.recentRate(10)}
        requestsPerSecond={rps}
        error={d.stats.error && (d.stats.data || !d.stats.error.unreachable) ? d.stats.error.message : null}
        statsAt={d.stats.dataAt}
        health={d.health.data}
        healthError={d.health.error && !d.health.error.unreachable ? d.health.error.message : null}
        healthStaleSince={d.health.error?.unreachable ? (d.health.dataAt ?? 0) : null}
      />
      {/* grid-cols-1 and min-w-0: a long feed row or a wide table must not widen a phone's page. */}
      <div className="grid grid-cols-1 gap-4 xl:grid-cols-12">
        <div className="min-w-0 xl:col-span-8">
          <ChartsPanel live={d.live} />
        </div>
        <div className="min-w-0 space-y-4 xl:col-span-4">
          <SimulationPanel
            state={d.simState}
            unread={d.simState === null}
            metrics={d.simMetrics.data}
            onChanged={refresh}
            pollError={d.sim.error ? d.sim.error.message : null}
            stateAt={d.sim.dataAt}
            confirm={d.confirm}
          />
          <DataPanel stats={d.stats.data} confirm={d.confirm} onChanged={refresh} />
          <ModelPanel refreshKey={changes} />
        </div>
      </div>
      <div className="grid grid-cols-1 gap-4 xl:grid-cols-12">
        <div className="min-w-0 xl:col-span-7">
          <EventFeed live={d.live} height={520} venueName={venueName} zone={d.simState?.timezone ?? null} names={d.names} missed={d.stream.lagged} />
        </div>
        <section className="card min-w-0 space-y-2 xl:col-span-5" aria-label="city">
          <div className="flex items-baseline justify-between">
            <h2 className="card-title">The city, live</h2>
            <a href="/map" className="text-xs text-sky-300 hover:underline" onClick={(e) => { e.preventDefault(); window.history.pushState(null, '', '/map'); window.dispatchEvent(new PopStateEvent('popstate')); }}>
              open the map →
            </a>
          </div>
          <CityMap map={d.map.data} live={d.live} layers={{ heat: true, venues: true, homes: false, bookings: true }} heatMode={heatMode} height={430} />
          <MapSummary map={d.map.data} live={d.live} />
        </section>
      </div>
    </div>
  );
}

function Shell() {
  const d = useDashboard();
  const [path, go] = usePath();
  const [tokenOpen, setTokenOpen] = useState(false);
  const token = useSyncExternalStore(onTokenChange, tokenState);
  const [tokenText, tokenTone, tokenTitle] = TOKEN_TEXT[token];
  const page = PAGES.find((p) => p.path === path) ?? PAGES[0];
  const picked = useSyncExternalStore(onInspectorSearch, inspectorSearch);
  // The header's health indicator asks for the Live page's health row: focused and scrolled to
  // once the Live page is drawn (a child's effects run before this one's).
  const [healthWanted, setHealthWanted] = useState(0);
  useEffect(() => {
    if (!healthWanted || page.path !== '/') return;
    const row = document.getElementById(HEALTH_ROW_ID);
    // Scrolled by scrollIntoView, which keeps the row's scroll margin clear of the sticky header.
    row?.focus({ preventScroll: true });
    row?.scrollIntoView?.({ block: 'nearest' });
  }, [healthWanted, page.path]);
  const showHealth = () => {
    go('/');
    setHealthWanted((n) => n + 1);
  };
  const seed = () =>
    d.confirm(
      seedRequest(300, 150, 42, false, () => {
        void d.stats.refresh();
      }),
    );

  return (
    <div className="min-h-screen">
      <header className="sticky top-0 z-30 border-b border-slate-800 bg-slate-950/90 backdrop-blur">
        {/* On a phone two rows (brand and pages; health, stream, token, docs), not four: the sticky
            header took 165 of a 390x844 screen's 844 px. */}
        <div className="flex flex-wrap items-center gap-x-3 gap-y-2 px-4 py-2 sm:gap-x-6 sm:px-6 sm:py-3">
          <div className="flex items-center gap-2.5">
            <img src="/favicon.svg" alt="" className="h-7 w-7" />
            <div>
              <div className="text-[15px] leading-tight font-semibold text-slate-50">Luna</div>
              <div className="hidden text-[11px] leading-tight text-slate-500 sm:block">admin dashboard</div>
            </div>
          </div>
          <nav className="flex gap-1" aria-label="pages">
            {PAGES.map((p) => {
              // The inspector's link goes back to the users it had picked.
              const to = p.path === '/inspector' ? `${p.path}${picked}` : p.path;
              return (
                <a
                  key={p.path}
                  href={to}
                  onClick={(e) => {
                    e.preventDefault();
                    go(to);
                  }}
                  aria-current={page.path === p.path ? 'page' : undefined}
                  className={`rounded-lg px-2 py-1.5 text-sm font-medium sm:px-3 ${page.path === p.path ? 'bg-slate-800 text-white' : 'text-slate-400 hover:bg-slate-900 hover:text-slate-200'}`}
                >
                  {p.label}
                </a>
              );
            })}
          </nav>
          <div className="flex min-w-0 flex-wrap items-center gap-1.5 sm:ml-auto sm:gap-2">
            <HealthIndicator health={d.health.data} error={d.health.error} onOpen={showHealth} />
            <StreamPill info={d.stream} />
            <button className={`btn btn-ghost py-1 text-xs ${tokenTone}`} onClick={() => setTokenOpen(true)} title={tokenTitle} data-testid="token-status" data-state={token}>
              <KeyIcon />
              {tokenText}
            </button>
            <a className="btn btn-ghost py-1 text-xs" href="/docs" target="_blank" rel="noreferrer">
              <span className="hidden sm:inline">API docs ↗</span>
              <span className="sm:hidden">docs ↗</span>
            </a>
          </div>
        </div>
      </header>
      <Banners onSeed={seed} />
      <main className={`mx-auto max-w-[1800px] px-4 py-4 transition-opacity sm:px-6 sm:py-5 ${d.serverDown ? 'opacity-50' : ''}`}>
        {page.path === '/' ? <LivePage /> : null}
        {page.path === '/map' ? <MapPanel map={d.map.data} live={d.live} error={d.map.error} /> : null}
        {page.path === '/inspector' ? <Inspector map={d.map.data} live={d.live} /> : null}
      </main>
      <TokenDialog forceOpen={tokenOpen} onClose={() => setTokenOpen(false)} />
      {d.confirmRequest ? <ConfirmDialog request={d.confirmRequest} onDone={d.closeConfirm} /> : null}
    </div>
  );
}

export function App() {
  const state = useDashboardState();
  return (
    <DashboardProvider value={state}>
      <Shell />
    </DashboardProvider>
  );
}
