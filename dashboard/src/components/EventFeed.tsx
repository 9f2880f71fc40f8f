// The live event feed: the newest events first, colour-coded by channel, filterable by channel
// and by text, pausable (the list freezes; arrivals are counted), each row expandable to its
// JSON. Times are shown in the simulated city's zone when it is known, else in UTC, always labelled.
// For the keyboard the rows are one grid, a single Tab stop (roving tabindex): arrows, Home, End,
// Page Up and Page Down move between rows, Enter or Space opens one (QA: each of its 150 rows
// was a Tab stop of its own).

import { useLayoutEffect, useMemo, useRef, useState, useSyncExternalStore, type KeyboardEvent } from 'react';

import { CHANNELS, type Channel } from '../api/types';
import { CHANNEL_LABELS, channelStyle } from '../lib/colors';
import { describe, feedZone, typeLabel, usersOf, type VenueNamer } from '../lib/describe';
import { useLive } from '../lib/hooks';
import type { FeedItem, LiveStore } from '../lib/live';
import type { NameBook } from '../lib/names';

const SHOWN = 150;

const noNames = { getVersion: () => 0, subscribe: () => () => {} };

/** The users of a row, one a line, for its tooltip: name, handle and the full id. */
function whoIsWho(ids: string[], names: NameBook | undefined, deleted: boolean): string {
  return ids
    .map((id) => {
      const u = names?.get(id);
      const was = deleted ? names?.formerly(id) : undefined;
      if (u) return `${u.name || u.handle} @${u.handle} · ${id}`;
      if (was) return `${was.name || was.handle} @${was.handle} · ${id} (deleted)`;
      return `${id}${u === null ? ' (no such user now)' : ''}`;
    })
    .join('\n');
}

/** Rows a Page Up or Page Down moves by. */
const PAGE_ROWS = 10;

function time(ms: number): string {
  const d = new Date(ms);
  return d.toTimeString().slice(0, 8);
}

export function EventFeed({
  live,
  height = 460,
  venueName,
  zone = null,
  names,
  missed = 0,
}: {
  live: LiveStore;
  height?: number;
  venueName?: VenueNamer;
  /** Users' names by id; without it users read by the end of their ids. */
  names?: NameBook;
  /** The simulated city's time zone, when known (else the feed's own simulation events name it). */
  zone?: string | null;
  /** Events the server dropped for this view's stream, a reader too slow for it (its `lagged`
   * notices, counted by the stream since the page opened): they never reach the feed. */
  missed?: number;
}) {
  useLive(live);
  const namesVersion = useSyncExternalStore((names ?? noNames).subscribe, (names ?? noNames).getVersion);
  const [hidden, setHidden] = useState<Set<Channel>>(new Set());
  const [text, setText] = useState('');
  const [frozen, setFrozen] = useState<FeedItem[] | null>(null);
  const [open, setOpen] = useState<number | null>(null);

  const source = frozen ?? live.feed;
  const lastSeq = live.feed.length ? live.feed[live.feed.length - 1].seq : 0;
  const frozenSeq = frozen && frozen.length ? frozen[frozen.length - 1].seq : 0;
  const arrived = frozen ? lastSeq - frozenSeq : 0;

  const rows = useMemo(() => {
    const needle = text.trim().toLowerCase();
    const tz = zone ?? feedZone(source);
    const out: { item: FeedItem; summary: string; who: string }[] = [];
    const userName = (id: string) => names?.get(id);
    // A deletion's row names who was deleted: by the name they had, the user now being none.
    const formerName = (id: string) => names?.get(id) || names?.formerly(id);
    for (let i = source.length - 1; i >= 0 && out.length < SHOWN; i--) {
      const item = source[i];
      if (hidden.has(item.event.channel)) continue;
      const deleted = item.event.type === 'user.deleted';
      const summary = describe(item.event, venueName, tz, deleted ? formerName : userName);
      const type = item.event.type;
      if (needle && !type.toLowerCase().includes(needle) && !typeLabel(type).includes(needle) && !summary.toLowerCase().includes(needle)) continue;
      out.push({ item, summary, who: whoIsWho(usersOf(item.event), names, deleted) });
    }
    return out;
  }, [source, hidden, text, source.length, lastSeq, venueName, zone, names, namesVersion]);

  // The row that takes the feed's one Tab stop: the last one moved to, else the newest.
  const [active, setActive] = useState<number | null>(null);
  // Where that row was last seen: a row gone (pushed past the 150 shown, or filtered out) hands
  // the Tab stop to the row now in its place.
  const lastIndex = useRef(0);
  const activeIndex = active === null ? -1 : rows.findIndex((r) => r.item.seq === active);
  if (activeIndex >= 0) lastIndex.current = activeIndex;
  const activeSeq = activeIndex >= 0 ? active : (rows[Math.min(lastIndex.current, rows.length - 1)]?.item.seq ?? null);
  const rowButtons = useRef(new Map<number, HTMLButtonElement>());
  const focusInside = useRef(false);
  const grid = useRef<HTMLDivElement>(null);
  // The focused row gone (past the 150 shown): the focus stays in the feed, on the row now in its
  // place, instead of falling to the page's start (or jumping to the newest row, at the top).
  useLayoutEffect(() => {
    if (!focusInside.current || active === activeSeq) return;
    if (document.activeElement && grid.current?.contains(document.activeElement)) return;
    if (activeSeq !== null) rowButtons.current.get(activeSeq)?.focus();
  });
  const moveTo = (seq: number) => {
    setActive(seq);
    rowButtons.current.get(seq)?.focus();
  };
  const onGridKey = (e: KeyboardEvent<HTMLDivElement>) => {
    if (rows.length === 0 || e.altKey || e.ctrlKey || e.metaKey) return;
    const at = Math.max(0, rows.findIndex((r) => r.item.seq === activeSeq));
    const to: Record<string, number> = {
      ArrowDown: at + 1,
      ArrowUp: at - 1,
      Home: 0,
      End: rows.length - 1,
      PageDown: at + PAGE_ROWS,
      PageUp: at - PAGE_ROWS,
    };
    if (!(e.key in to)) return;
    e.preventDefault();
    moveTo(rows[Math.max(0, Math.min(rows.length - 1, to[e.key]))].item.seq);
  };

  const toggle = (c: Channel) =>
    setHidden((h) => {
      const next = new Set(h);
      if (next.has(c)) next.delete(c);
      else next.add(c);
      return next;
    });

  return (
    <section className="card flex flex-col gap-3" aria-label="live events" style={{ height }}>
      <header className="flex flex-wrap items-center justify-between gap-2">
        <div className="flex items-baseline gap-2">
          <h2 className="card-title">Live events</h2>
          <span className="font-mono text-xs text-slate-500" data-testid="feed-total">
            {live.total.toLocaleString('en-US')} received
          </span>
        </div>
        <div className="flex items-center gap-2">
          {frozen ? (
            <span className="chip border-amber-500/50 bg-amber-500/10 text-amber-300" data-testid="feed-paused">
              paused · {arrived.toLocaleString('en-US')} new
            </span>
          ) : null}
          {/* Named for what it pauses: the simulation panel's Pause button read '❚❚ Pause' too (QA,
              keyboard and screen reader: two controls of one name on the Live page). */}
          <button
            className="btn py-1 text-xs"
            onClick={() => setFrozen(frozen ? null : [...live.feed])}
            aria-pressed={!!frozen}
            aria-label={frozen ? 'Resume the feed' : 'Pause the feed'}
            title={frozen ? 'Resume the feed: show the events that arrived meanwhile' : 'Pause the feed: the list stops moving, arrivals are counted'}
          >
            {frozen ? '▶ Resume' : '❚❚ Pause'}
          </button>
        </div>
      </header>
      <div className="flex flex-wrap items-center gap-1.5">
        {CHANNELS.map((c) => {
          const on = !hidden.has(c);
          return (
            <button
              key={c}
              className="chip cursor-pointer transition-opacity"
              style={on ? channelStyle(c) : { color: '#64748b', borderColor: '#334155', background: 'transparent' }}
              aria-pressed={on}
              onClick={() => toggle(c)}
              title={on ? `hide ${CHANNEL_LABELS[c]}` : `show ${CHANNEL_LABELS[c]}`}
            >
              {CHANNEL_LABELS[c]}
              <span className="font-mono opacity-70">{live.byChannel[c].toLocaleString('en-US')}</span>
            </button>
          );
        })}
        <input
          className="input ml-auto h-7 w-40 py-0.5 text-xs"
          placeholder="filter: type or text"
          aria-label="filter events"
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
      </div>
      {/* QA: the stream counted the events the server dropped for a slow reader, and nothing showed it. */}
      {missed > 0 ? (
        <p className="rounded-md border border-amber-500/40 bg-amber-500/10 px-2.5 py-1 text-xs text-amber-200" role="status" data-testid="feed-missed">
          {missed.toLocaleString('en-US')} {missed === 1 ? 'event was' : 'events were'} missed by this view (the server dropped them for a slow
          connection): the feed, counts and charts lack {missed === 1 ? 'it' : 'them'}.
        </p>
      ) : null}
      <div className="min-h-0 flex-1 overflow-y-auto rounded-lg border border-slate-800/80 bg-slate-950/40" data-testid="event-feed">
        {rows.length === 0 ? (
          <p className="p-4 text-center text-sm text-slate-500">
            {live.total === 0 ? 'Waiting for events… start a simulation to see the city move.' : 'No event matches the filters.'}
          </p>
        ) : (
          <div
            ref={grid}
            role="grid"
            aria-label="events, newest first"
            aria-describedby="event-feed-keys"
            aria-rowcount={rows.length}
            onKeyDown={onGridKey}
            onFocus={() => (focusInside.current = true)}
            onBlur={(e) => {
              if (!e.currentTarget.contains(e.relatedTarget as Node | null)) focusInside.current = false;
            }}
          >
            {rows.map(({ item, summary, who }, i) => (
              <div key={item.seq} role="row" aria-rowindex={i + 1} className="border-b border-slate-800/60 last:border-0" data-channel={item.event.channel}>
                <div role="gridcell">
                  {/* On a phone the summary takes a line of its own: beside the time and the type it had no room left at all. */}
                  <button
                    ref={(b) => {
                      if (b) rowButtons.current.set(item.seq, b);
                      else rowButtons.current.delete(item.seq);
                    }}
                    tabIndex={item.seq === activeSeq ? 0 : -1}
                    className="flex w-full flex-wrap items-center gap-x-2 gap-y-0.5 px-2.5 py-1.5 text-left hover:bg-slate-800/40 focus-visible:bg-slate-800/60 focus-visible:outline-2 focus-visible:-outline-offset-2 focus-visible:outline-sky-400 sm:flex-nowrap"
                    onClick={() => {
                      setActive(item.seq);
                      setOpen(open === item.seq ? null : item.seq);
                    }}
                    onFocus={() => setActive(item.seq)}
                    aria-expanded={open === item.seq}
                  >
                    <span className="shrink-0 font-mono text-[11px] text-slate-500 tabular-nums">{time(item.receivedAt)}</span>
                    <span className="h-2 w-2 shrink-0 rounded-full" style={{ background: channelStyle(item.event.channel).color }} />
                    {/* Words, the raw name in the title (QA: the column read 'plan.confirmed', 'user.preferences_updated'). */}
                    <span
                      className="w-40 shrink-0 truncate text-xs font-medium"
                      style={{ color: channelStyle(item.event.channel).color }}
                      title={item.event.type}
                      data-testid="event-type"
                      data-type={item.event.type}
                    >
                      {typeLabel(item.event.type)}
                    </span>
                    {/* On a phone it wraps (cut at one line, the venue and time of a booking were lost); from sm up one line. */}
                    <span
                      className="min-w-0 basis-full text-xs break-words text-slate-300 sm:basis-0 sm:flex-1 sm:truncate"
                      data-testid="event-summary"
                      title={who || undefined}
                    >
                      {summary}
                    </span>
                  </button>
                  {open === item.seq ? (
                    <pre className="max-h-64 overflow-auto bg-slate-950/80 px-3 py-2 font-mono text-[11px] leading-relaxed text-slate-300">
                      {JSON.stringify(item.event, null, 2)}
                    </pre>
                  ) : null}
                </div>
              </div>
            ))}
          </div>
        )}
      </div>
      <p id="event-feed-keys" className="sr-only">
        One Tab stop: the arrow keys, Home, End, Page Up and Page Down move between events; Enter shows an event&apos;s JSON.
      </p>
    </section>
  );
}
