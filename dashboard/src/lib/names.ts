// Users' names for the live feed, whose events name users by id only. Ids are looked up through
// `GET /api/v1/admin/users/names` in batches (at most one request in flight, up to 100 ids
// each, a short wait to gather an event storm's ids into one), and kept in a cache of bounded
// size (least recently used out first). An id of no user (unknown, or deleted) is remembered as
// such and shown by its short id. `user.created` and `user.updated` events teach names without
// a request; a `user.deleted` event makes its user no user at once (`forget`), without waiting
// for a reload: their earlier rows read by the end of their id. The name cached before is kept
// aside (`formerly`) so the deletion's own row can still say who was deleted (the event carries
// only the id).

export interface UserName {
  id: string;
  handle: string;
  name: string;
}

export type NamesFetcher = (ids: string[]) => Promise<UserName[]>;

export interface NameBookOptions {
  /** Most users remembered (default 5000). */
  maxEntries?: number;
  /** Most ids per request (default 100, the server's limit). */
  batch?: number;
  /** Most ids waiting for a request; the oldest waiting give way (default 500). */
  maxQueued?: number;
  /** How long ids gather before a request goes (default 150 ms). */
  gatherMs?: number;
  /** After a failed request, how long before another is tried (default 10 s). */
  retryMs?: number;
}

/** What the book knows of a user: their names, `null` for no such user, `undefined` not yet. */
export type Known = UserName | null | undefined;

export class NameBook {
  private readonly known = new Map<string, UserName | null>();
  /** The names of users deleted since they were cached, for their `user.deleted` rows. */
  private readonly former = new Map<string, UserName>();
  private readonly queued = new Set<string>();
  private readonly listeners = new Set<() => void>();
  private inFlight = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private pausedUntil = 0;
  private version = 0;
  /** Moves on every clear: an answer to a request sent before it is not kept. */
  private generation = 0;
  private readonly opts: Required<NameBookOptions>;

  constructor(
    private readonly fetchNames: NamesFetcher,
    opts: NameBookOptions = {},
  ) {
    this.opts = { maxEntries: 5000, batch: 100, maxQueued: 500, gatherMs: 150, retryMs: 10_000, ...opts };
  }

  /** The user's names if known; an id not known yet is queued for a lookup. */
  get(id: string): Known {
    const hit = this.known.get(id);
    if (hit !== undefined) {
      // Most recently used last: the first in the map goes first.
      this.known.delete(id);
      this.known.set(id, hit);
      return hit;
    }
    this.request(id);
    return undefined;
  }

  /** Names learnt elsewhere (a `user.created` event); no request needed. */
  learn(user: UserName): void {
    const had = this.known.get(user.id);
    this.remember(user.id, user);
    this.queued.delete(user.id);
    if (!had || had.handle !== user.handle || had.name !== user.name) this.changed();
  }

  /**
   * A user deleted (their `user.deleted` event): no such user from now on, shown by the end of
   * their id like any user no longer there. An answer asked before the deletion and arriving
   * after it does not bring the name back.
   */
  forget(id: string): void {
    const had = this.known.get(id);
    if (had) {
      this.former.delete(id);
      this.former.set(id, had);
      while (this.former.size > this.opts.maxEntries) this.former.delete(this.former.keys().next().value as string);
    }
    this.remember(id, null);
    this.queued.delete(id);
    if (had !== null) this.changed();
  }

  /** The names a deleted user had when `forget` dropped them, if they were known then. */
  formerly(id: string): UserName | undefined {
    return this.former.get(id);
  }

  /** Forgets everything (after a data reset, or a seed: a city seeded again with the same seed
   * has the same user ids, so an id found to be nobody in between is somebody again). An answer
   * on its way is not kept: it may predate the change. */
  clear(): void {
    this.generation++;
    this.known.clear();
    this.former.clear();
    this.queued.clear();
    this.changed();
  }

  get size(): number {
    return this.known.size;
  }

  /** A number that moves whenever names arrive (for re-rendering). */
  getVersion = (): number => this.version;

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  private request(id: string): void {
    if (this.queued.has(id)) return;
    this.queued.add(id);
    if (this.queued.size > this.opts.maxQueued) {
      // A storm: the oldest waiting give way; they are asked for again when shown again.
      const oldest = this.queued.values().next().value as string;
      this.queued.delete(oldest);
    }
    this.schedule(this.opts.gatherMs);
  }

  private schedule(ms: number): void {
    if (this.timer !== null || this.inFlight || this.queued.size === 0) return;
    const wait = Math.max(ms, this.pausedUntil - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, wait);
  }

  private async flush(): Promise<void> {
    if (this.inFlight || this.queued.size === 0) return;
    const ids = [...this.queued].slice(0, this.opts.batch);
    ids.forEach((id) => this.queued.delete(id));
    this.inFlight = true;
    const asked = this.generation;
    try {
      const users = await this.fetchNames(ids);
      // Cleared meanwhile: asked again when shown again.
      if (asked !== this.generation) return;
      const found = new Map(users.map((u) => [u.id, u]));
      // An id an event taught (or a deletion forgot) while the request was out keeps what the
      // event said: the answer may predate it.
      for (const id of ids) if (!this.known.has(id)) this.remember(id, found.get(id) ?? null);
      this.changed();
    } catch {
      // Asked again when shown again, after a pause (the server may be down, or the token gone).
      this.pausedUntil = Date.now() + this.opts.retryMs;
    } finally {
      this.inFlight = false;
      this.schedule(0);
    }
  }

  private remember(id: string, user: UserName | null): void {
    this.known.delete(id);
    this.known.set(id, user);
    while (this.known.size > this.opts.maxEntries) {
      this.known.delete(this.known.keys().next().value as string);
    }
  }

  private changed(): void {
    this.version++;
    this.listeners.forEach((fn) => fn());
  }
}

/** How a user reads in the feed: their name when known, else `…` and the id's end. */
export type UserNamer = (id: string) => UserName | null | undefined;
