// End-to-end test of the dashboard against the real server, in Debian's headless Chromium.
//
// Starts `luna serve` ($CARGO_TARGET_DIR or target, debug/luna; or $E2E_LUNA_BIN) on a fresh
// data directory and a free port, opens the dashboard it serves, and checks, saving screenshots
// to e2e/screenshots/: the empty-database notice; seeding through the UI (behind its
// confirmation); starting a simulation; live events in the feed (users by name) and the charts (the conversion
// table fitting a 390 px phone); the city map;
// the header's health indicator there (healthy, green, fitting a 390 px phone); the inspector
// for one user (every ranker) and for two (the group), and a user deleted while inspected
// (said to no longer exist); the outbox's dead letters and the background tasks of /health
// (as the server reports them, then a task down, bus trims failing and dead letters marked, on
// the Live page and in the header); the server going away (shown,
// then reconnected with `Last-Event-ID`); and the admin token prompt on a 401. The server runs
// with auth on: the dashboard is opened with the admin token in its URL (`/?token=`), as
// `luna serve` prints it.
//
//   node e2e/run.mjs            (from dashboard/; needs /usr/bin/chromium)

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const bin = process.env.E2E_LUNA_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(root, 'target'), 'debug/luna');
const browserPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const shots = join(here, 'screenshots');
mkdirSync(shots, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'luna-e2e-'));
const dataDir = join(work, 'data');
const logFile = join(work, 'server.log');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

const adminToken = 'e2e-admin-token-0123456789';
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
let server = null;

function startServer() {
  const out = openSync(logFile, 'a');
  server = spawn(bin, ['serve', '--data-dir', dataDir, '--bind', `127.0.0.1:${port}`], {
    stdio: ['ignore', out, out],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn', LUNA_ADMIN_TOKEN: adminToken },
  });
  return waitFor(async () => (await fetch(`${base}/health`)).ok, 60_000, 'the server to answer /health');
}

async function stopServer() {
  if (!server || server.exitCode !== null) return;
  const exited = new Promise((r) => server.once('exit', r));
  server.kill('SIGKILL');
  await exited;
}

async function waitFor(check, ms, what) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    await sleep(250);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? ` (${last.message})` : ''}`);
}

let passed = 0;
let failed = 0;
let context = null;
let page = null;

async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}: ${e.message}`);
    if (page) await page.screenshot({ path: join(shots, 'failure.png'), fullPage: true }).catch(() => {});
    e.reported = true;
    throw e;
  }
}

const shot = (name) => page.screenshot({ path: join(shots, name), fullPage: true });
const text = (testId) => page.getByTestId(testId).innerText();
const num = (s) => Number(String(s).replace(/[^0-9.]/g, ''));
/** Throws unless `testId` is drawn whole: inside `inside` and not clipped by a parent (an ellipsis). */
async function visible(testId, inside) {
  const box = await page.getByTestId(testId).evaluate((e, inside) => {
    const r = e.getBoundingClientRect();
    const outer = e.closest(`[data-testid="${inside}"]`).getBoundingClientRect();
    let clipped = false;
    for (let p = e.parentElement; p && p !== e.closest(`[data-testid="${inside}"]`); p = p.parentElement) {
      const pr = p.getBoundingClientRect();
      if (getComputedStyle(p).overflow !== 'visible' && (r.right > pr.right + 0.5 || r.bottom > pr.bottom + 0.5)) clipped = true;
    }
    return { clipped, outside: r.right > outer.right || r.bottom > outer.bottom || r.width === 0 };
  }, inside);
  if (box.clipped || box.outside) throw new Error(`${testId} is not drawn whole: ${JSON.stringify(box)}`);
}

try {
  await startServer();
  context = await chromium.launchPersistentContext(join(work, 'profile'), {
    executablePath: browserPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1600, height: 1000 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  const streamRequests = [];
  page.on('request', (r) => {
    if (r.url().includes('/streams/subscribe-all')) streamRequests.push({ url: r.url(), headers: r.headers() });
  });
  const consoleErrors = [];
  page.on('pageerror', (e) => consoleErrors.push(e.message));

  await check('the dashboard takes the token from its URL and says the database is empty', async () => {
    await page.goto(`${base}/?token=${adminToken}`);
    const stored = await page.evaluate(() => sessionStorage.getItem('luna.adminToken'));
    if (stored !== adminToken) throw new Error(`sessionStorage holds ${stored}`);
    if (page.url().includes('token=')) throw new Error(`the token stayed in the address bar: ${page.url()}`);
    await page.locator('[data-testid=stream-status][data-status=live]').waitFor();
    await page.getByTestId('empty-database').waitFor();
    await shot('01-empty-database.png');
  });

  await check('seeding through the UI asks for confirmation, then fills the city', async () => {
    await page.getByLabel('seed users').fill('400');
    await page.getByLabel('seed venues').fill('220');
    await page.locator('section[aria-label="demo data"]').getByRole('button', { name: 'Seed demo data' }).click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Seed', exact: true }).click();
    await page.getByTestId('data-message').filter({ hasText: 'Seeded 400 users' }).waitFor({ timeout: 60_000 });
    await page.getByTestId('empty-database').waitFor({ state: 'detached' });
    await waitFor(async () => num(await text('stat-users-value')) === 400, 15_000, 'the users count');
    await waitFor(async () => (await text('map-summary')).startsWith('220 venues'), 20_000, 'the map to load');
  });

  await check('a simulation starts from the controls', async () => {
    await page.getByLabel('scenario').selectOption('friday_night');
    await page.getByLabel('users', { exact: true }).fill('400');
    // The slider's last position is 100× (its positions are speeds from 0.25× up).
    await page.locator('#sim-speed').fill(await page.locator('#sim-speed').getAttribute('max'));
    if ((await page.locator('#sim-speed').getAttribute('aria-valuetext')) !== '100×') throw new Error('the slider end is not 100×');
    await page.getByRole('button', { name: '▶ Start' }).click();
    await page.locator('[data-testid=sim-status]', { hasText: 'running' }).waitFor();
  });

  await check('live events reach the feed, colour-coded by channel', async () => {
    await waitFor(async () => (await page.locator('[data-testid=event-feed] [role=row][data-channel=user_actions]').count()) >= 5, 45_000, 'user actions in the feed');
    await page.locator('[data-testid=event-feed] [role=row][data-channel=simulation]').first().waitFor();
    // Types in words, the raw name in the title (the column read 'interaction.recorded', 'plan.confirmed').
    const types = await page.locator('[data-testid=event-feed] [data-testid=event-type]').evaluateAll((els) => els.map((e) => [e.textContent, e.title]));
    if (!types.some(([t, raw]) => t === 'interaction' && raw === 'interaction.recorded') || types.some(([t]) => t.includes('.'))) {
      throw new Error(`event types: ${JSON.stringify(types.slice(0, 8))}`);
    }
  });

  await check('the feed names users (looked up by id), their full ids in the tooltip', async () => {
    // They were shown by the end of their ids alone ('like by …3f2a9c at bar …'): nobody could tell who.
    const named = () =>
      page.locator('[data-testid=event-feed] [role=row][data-channel=user_actions] [data-testid=event-summary]').evaluateAll(
        (els) => els.filter((e) => / by [^…]/.test(e.textContent) && /@\S+ · [0-9a-f-]{36}/.test(e.title)).length,
      );
    await waitFor(async () => (await named()) >= 3, 20_000, 'interactions by named users');
    await page.getByRole('region', { name: 'live events' }).screenshot({ path: join(shots, '12-feed-names.png') });
  });

  await check('the charts draw live figures', async () => {
    const nonzero = async (id) => num(await page.getByTestId(id).getAttribute('data-nonzero'));
    await waitFor(async () => (await nonzero('chart-events')) >= 3, 30_000, 'events per second');
    await waitFor(async () => (await nonzero('chart-latency')) >= 1, 30_000, 'latency points');
    await waitFor(async () => (await page.locator('[data-testid=chart-events] canvas').count()) >= 1, 5_000, 'the uPlot canvas');
    // The simulated users' answers, counted by the server that served them.
    const shown = page.locator('[data-testid=conversion-table] tr[data-ranker] td:nth-child(3)');
    await waitFor(async () => (await shown.count()) >= 1 && num(await shown.first().textContent()) > 0, 30_000, 'served answers in the conversion table');
    // On a 390 px phone the conversion table fits inside its card (it was cut off at its edge).
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await sleep(300);
      const fit = await page.getByTestId('conversion-table').evaluate((card) => {
        const style = getComputedStyle(card);
        const inner = card.getBoundingClientRect().right - parseFloat(style.paddingRight) - parseFloat(style.borderRightWidth);
        return { table: card.querySelector('table').getBoundingClientRect().right, card: inner, page: document.documentElement.scrollWidth, viewport: window.innerWidth };
      });
      if (fit.table > fit.card + 0.5 || fit.page > fit.viewport) throw new Error(`the conversion table does not fit a phone: ${JSON.stringify(fit)}`);
    } finally {
      await page.setViewportSize({ width: 1600, height: 1000 });
    }
  });

  await check('the feed pauses and filters', async () => {
    const feed = page.getByRole('region', { name: 'live events' });
    await feed.getByRole('button', { name: 'Pause the feed' }).click();
    await page.getByTestId('feed-paused').waitFor();
    await waitFor(async () => num((await text('feed-paused')).split('·')[1]) > 0, 20_000, 'events counted while paused');
    await feed.getByRole('button', { name: 'Resume the feed' }).click();
    await page.getByLabel('filter events').fill('interaction.recorded');
    await waitFor(
      async () => {
        const channels = await page.locator('[data-testid=event-feed] [role=row][data-channel]').evaluateAll((els) => els.map((e) => e.dataset.channel));
        return channels.length > 0 && channels.every((c) => c === 'user_actions');
      },
      10_000,
      'only interactions in the filtered feed',
    );
    await page.getByLabel('filter events').fill('');
  });

  await check('the stats cards’ detail lines are drawn whole on a phone and at 1440 px', async () => {
    // They were cut with an ellipsis: 'server 0.64/s · 37 la…', 'of 1,000 · memory b…'.
    for (const [width, height] of [[390, 844], [1440, 900]]) {
      await page.setViewportSize({ width, height });
      try {
        await sleep(300);
        const cut = await page.locator('[data-testid^=stat-][data-testid$=-detail]').evaluateAll((els) =>
          els.filter((e) => e.scrollWidth > e.clientWidth + 0.5 || e.getBoundingClientRect().right > e.parentElement.getBoundingClientRect().right + 0.5).map((e) => e.textContent),
        );
        const count = await page.locator('[data-testid^=stat-][data-testid$=-detail]').count();
        if (count < 8 || cut.length) throw new Error(`at ${width} px, ${count} details, cut: ${JSON.stringify(cut)}`);
        if (width === 390) await page.locator('section[aria-label="system statistics"]').screenshot({ path: join(shots, '11-stats-phone.png') });
      } finally {
        await page.setViewportSize({ width: 1600, height: 1000 });
      }
    }
  });

  await check('the city map draws venues, homes, heat and bookings', async () => {
    await page.getByRole('link', { name: 'City map' }).click();
    await page.waitForURL(`${base}/map`);
    await page.getByTestId('city-map').waitFor();
    await waitFor(async () => /220 venues · 400 users \(400 homes shown\)/.test(await text('map-summary')), 10_000, 'the map summary');
    await sleep(1500);
    await shot('03-map.png');
  });

  await check('the header says the server is healthy in green on the map page, and fits a 390 px phone', async () => {
    // Still on /map: the indicator reads the one /health poll there too.
    const indicator = page.getByRole('link', { name: /^Server health: healthy\./ });
    await indicator.waitFor();
    if ((await indicator.getAttribute('data-state')) !== 'healthy' || (await indicator.innerText()).trim() !== 'healthy') {
      throw new Error(`indicator: ${await indicator.getAttribute('data-state')}, ${await indicator.innerText()}`);
    }
    // Green for real: the text and the dot's computed colours, as RGB through a canvas.
    const colours = await indicator.evaluate((e) => {
      const rgb = (css) => {
        const c = document.createElement('canvas').getContext('2d');
        c.fillStyle = css;
        c.fillRect(0, 0, 1, 1);
        return [...c.getImageData(0, 0, 1, 1).data].slice(0, 3);
      };
      return { text: rgb(getComputedStyle(e).color), dot: rgb(getComputedStyle(e.firstElementChild).backgroundColor) };
    });
    const green = ([r, g, b]) => g > 150 && g > r + 40 && g > b + 20;
    if (!Object.values(colours).every(green)) throw new Error(`not green: ${JSON.stringify(colours)}`);
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await sleep(300);
      const fit = await indicator.evaluate((e) => {
        const r = e.getBoundingClientRect();
        return { left: r.left, right: r.right, width: r.width, viewport: window.innerWidth, page: document.documentElement.scrollWidth };
      });
      if (fit.left < 0 || fit.right > fit.viewport || fit.width === 0 || fit.page > fit.viewport) throw new Error(`does not fit a phone: ${JSON.stringify(fit)}`);
      // The sticky header takes two rows on a phone, not four (it was 165 px of 844).
      const headerHeight = await page.locator('header').evaluate((e) => e.getBoundingClientRect().height);
      if (headerHeight > 100) throw new Error(`the header is ${headerHeight} px high on a phone`);
      await page.locator('header').screenshot({ path: join(shots, '10-header-phone.png') });
    } finally {
      await page.setViewportSize({ width: 1600, height: 1000 });
    }
  });

  const users = await (await fetch(`${base}/api/v1/users?limit=2`)).json();
  await check('the inspector shows every ranker for a user, with reasons', async () => {
    await page.getByRole('link', { name: 'Inspector' }).click();
    const search = page.getByLabel('search users by handle');
    await search.fill(users[0].handle.slice(0, 4));
    await page.getByTestId('user-results').getByText(`@${users[0].handle}`, { exact: true }).click();
    for (const r of ['seed2', 'default', 'popularity', 'learned']) {
      await page.locator(`[data-ranker=${r}] [data-testid=venue-rec]`).first().waitFor();
    }
    await waitFor(async () => (await page.locator('[data-ranker=default] [data-testid=reason]').count()) > 3, 10_000, 'reasons');
    await sleep(800);
    await shot('04-inspector.png');
    await page.getByRole('tab', { name: 'People to go with' }).click();
    await page.locator('[data-ranker=default] [data-testid=person-rec]').first().waitFor();
    await shot('05-inspector-people.png');
    await page.getByRole('tab', { name: 'Venues' }).click();
  });

  await check('two users get a group recommendation with each member’s distance', async () => {
    const search = page.getByLabel('search users by handle');
    await search.fill(users[1].handle);
    await page.getByTestId('user-results').getByText(`@${users[1].handle}`, { exact: true }).click();
    await page.getByTestId('group-venue').first().waitFor();
    const members = await page.locator('[data-testid=group-venue]').first().locator('[data-testid=group-member]').allInnerTexts();
    if (members.length !== 2 || !members.every((m) => / km/.test(m))) throw new Error(`members: ${JSON.stringify(members)}`);
    await sleep(800);
    await shot('06-group.png');
  });

  await check('a user deleted through the API while inspected is said to no longer exist, their recommendations gone', async () => {
    const admin = { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' };
    const res = await fetch(`${base}/api/v1/users`, { method: 'POST', headers: admin, body: JSON.stringify({ handle: 'e2e_gone', name: 'E2E Gone', age: 30, home_lat: 40.73, home_lng: -73.93 }) });
    if (res.status !== 201) throw new Error(`creating the user: ${res.status} ${await res.text()}`);
    const gone = await res.json();
    await page.getByLabel('search users by handle').fill('e2e_gone');
    await page.getByTestId('user-results').getByText('@e2e_gone', { exact: true }).click();
    await page.getByTestId('picked-users').getByRole('button', { name: '@e2e_gone' }).click();
    await page.locator('[data-testid=primary-user]', { hasText: '@e2e_gone' }).waitFor();
    await page.locator('[data-ranker=popularity] [data-testid=venue-rec]').first().waitFor();
    const del = await fetch(`${base}/api/v1/users/${gone.id}`, { method: 'DELETE', headers: admin });
    if (del.status !== 204) throw new Error(`deleting the user: ${del.status} ${await del.text()}`);
    await page.getByTestId('gone-users').filter({ hasText: '@e2e_gone no longer exists' }).waitFor({ timeout: 10_000 });
    await page.locator('[data-testid=primary-user]', { hasText: `@${users[0].handle}` }).waitFor();
    if ((await page.getByTestId('picked-users').innerText()).includes('e2e_gone')) throw new Error('the deleted user is still picked');
    if (page.url().includes(gone.id)) throw new Error(`the deleted user stayed in the URL: ${page.url()}`);
  });

  await check('the live page has kept up while the other pages were open', async () => {
    await page.getByRole('link', { name: 'Live' }).click();
    await waitFor(async () => num(await page.getByTestId('chart-events').getAttribute('data-nonzero')) >= 10, 20_000, 'ten seconds of events');
    await sleep(1500);
    await shot('02-live.png');
  });

  await check('the stats show the outbox’s dead letters and the health row every background task of the real server', async () => {
    const health = await (await fetch(`${base}/health`)).json();
    const stats = await (await fetch(`${base}/api/v1/admin/stats`, { headers: { Authorization: `Bearer ${adminToken}` } })).json();
    const names = Object.keys(health.tasks);
    for (const t of ['relay', 'engine_follower', 'booking_janitor']) if (!names.includes(t)) throw new Error(`/health lists no ${t}: ${JSON.stringify(health)}`);
    if (health.status !== 'healthy' || stats.events.outbox_dead !== 0) throw new Error(`the server itself: ${health.status}, ${stats.events.outbox_dead} dead letters`);
    await page.locator('[data-testid=health][data-status=healthy]').waitFor();
    const shown = await page.locator('[data-testid^=task-]').evaluateAll((els) => els.map((e) => [e.dataset.testid, e.dataset.status]));
    if (JSON.stringify(shown) !== JSON.stringify(names.map((n) => [`task-${n}`, 'running']))) throw new Error(`tasks shown: ${JSON.stringify(shown)}, /health: ${names}`);
    const dead = page.getByTestId('stat-outbox-dead');
    if ((await dead.innerText()) !== '0 dead' || (await dead.getAttribute('data-problem')) !== 'false') throw new Error(`dead letters: ${await dead.innerText()}`);
    if (!(await dead.getAttribute('title')).includes('never published')) throw new Error('no explanation in the title');
    await visible('stat-outbox-dead', 'stat-streams');
  });

  await check('a task down and dead letters in the real answers are marked, and clear on the next poll', async () => {
    // The real server's answers with one field changed each: a panicking task or an unreadable
    // outbox row cannot be caused from outside it.
    const failure = 'panicked: e2e: the relay lost its database';
    const trimError = 'NOPERM e2e: no permissions to run the eval command';
    await page.route('**/health', async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      body.status = 'degraded';
      body.tasks.relay = { status: 'down', restarts: 2, last_failure: failure };
      body.bus = { ...body.bus, trim_failures: 5, trim_error: trimError };
      await route.fulfill({ response: res, json: body });
    });
    await page.route('**/api/v1/admin/stats', async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      body.events.outbox_dead = 3;
      await route.fulfill({ response: res, json: body });
    });
    await page.locator('[data-testid=health][data-status=degraded]').waitFor();
    await page.locator('[data-testid=task-relay][data-status=down]').waitFor();
    const line = await text('task-failure-relay');
    if (line !== `relay down · 2 restarts · last failure: ${failure}`) throw new Error(`failure line: ${line}`);
    const trims = await text('bus-trim-error');
    if (trims !== `bus trims failing · 5 failed trims · last error: ${trimError}`) throw new Error(`trims line: ${trims}`);
    // textContent: innerText breaks the line between a flex box's items.
    const header = await page.getByTestId('health-indicator').textContent();
    if (header !== 'degraded · task relay down, bus trims failing') throw new Error(`header: ${header}`);
    await page.locator('[data-testid=stat-outbox-dead][data-problem=true]').waitFor();
    const dead = page.getByTestId('stat-outbox-dead');
    if ((await dead.innerText()) !== '⚠ 3 dead') throw new Error(`dead letters: ${await dead.innerText()}`);
    // Drawn in red for real, not only classed: Chromium's computed colours (Tailwind's are
    // oklch), as RGB through a canvas.
    const rgb = (testId, prop) =>
      page.getByTestId(testId).evaluate((e, prop) => {
        const c = document.createElement('canvas').getContext('2d');
        c.fillStyle = getComputedStyle(e)[prop];
        c.fillRect(0, 0, 1, 1);
        return [...c.getImageData(0, 0, 1, 1).data].slice(0, 3);
      }, prop);
    const colours = {
      dead: await rgb('stat-outbox-dead', 'color'),
      card: await rgb('stat-streams', 'borderTopColor'),
      relay: await rgb('task-relay', 'color'),
      trims: await rgb('bus-trim-error', 'color'),
      header: await rgb('health-indicator', 'color'),
    };
    const red = ([r, g, b]) => r > 180 && r > g + 40 && r > b + 40;
    if (!Object.values(colours).every(red)) throw new Error(`not red: ${JSON.stringify(colours)}`);
    await visible('stat-outbox-dead', 'stat-streams');
    await page.locator('section[aria-label="system statistics"]').screenshot({ path: join(shots, '09-health-degraded.png') });
    await page.unroute('**/health');
    await page.unroute('**/api/v1/admin/stats');
    await page.locator('[data-testid=health][data-status=healthy]').waitFor({ timeout: 10_000 });
    await page.locator('[data-testid=health-indicator][data-state=healthy]').waitFor({ timeout: 10_000 });
    await page.locator('[data-testid=stat-outbox-dead][data-problem=false]').waitFor({ timeout: 10_000 });
    if (await page.getByTestId('bus-trim-error').count()) throw new Error('the trims line stayed after a healthy answer');
    if (await page.getByTestId('task-failure-relay').count()) throw new Error('the failure stayed after a healthy answer');
  });

  await check('the server going away is shown, and the stream resumes after it comes back', async () => {
    const before = streamRequests.length;
    await stopServer();
    await page.getByTestId('server-down').waitFor({ timeout: 30_000 });
    await page.locator('[data-testid=stream-status][data-status=down]').waitFor();
    await shot('07-server-down.png');
    await startServer();
    await page.locator('[data-testid=stream-status][data-status=live]').waitFor({ timeout: 30_000 });
    await page.getByTestId('server-down').waitFor({ state: 'detached', timeout: 15_000 });
    const resumed = streamRequests.slice(before).filter((r) => r.headers['last-event-id']);
    if (resumed.length === 0) throw new Error('no reconnect carried Last-Event-ID');
    const totalBefore = num(await text('feed-total'));
    await waitFor(async () => num(await text('feed-total')) > totalBefore, 20_000, 'events after the restart');
  });

  await check('a 401 asks for the admin token, which then goes on every call and the stream', async () => {
    const token = adminToken;
    await page.evaluate(() => sessionStorage.removeItem('luna.adminToken'));
    const seen = { stats: false, stream: false };
    await page.route('**/api/v1/admin/**', async (route) => {
      const req = route.request();
      const url = new URL(req.url());
      const ok = req.headers().authorization === `Bearer ${token}` || url.searchParams.get('access_token') === token;
      if (!ok) return route.fulfill({ status: 401, contentType: 'application/json', body: '{"error":{"code":"unauthorized","message":"admin token required","details":null}}' });
      if (url.pathname.endsWith('/admin/stats')) seen.stats = true;
      if (url.pathname.includes('/streams/subscribe')) seen.stream = true;
      return route.continue();
    });
    const dialog = page.getByTestId('token-dialog');
    await dialog.waitFor({ timeout: 15_000 });
    await page.screenshot({ path: join(shots, '08-token-dialog.png') });
    await dialog.getByLabel('admin token').fill(token);
    await dialog.getByRole('button', { name: 'Use token' }).click();
    await waitFor(async () => seen.stats && seen.stream, 20_000, 'authorised stats and stream calls');
    const stored = await page.evaluate(() => sessionStorage.getItem('luna.adminToken'));
    if (stored !== token) throw new Error(`sessionStorage holds ${stored}`);
    await page.locator('[data-testid=stream-status][data-status=live]').waitFor({ timeout: 15_000 });
    await page.unroute('**/api/v1/admin/**');
  });

  if (consoleErrors.length) console.log(`page errors: ${consoleErrors.join(' | ')}`);
} catch (e) {
  // Failures inside a check are reported there; anything else (the server or the browser not
  // starting) is reported here.
  if (!e?.reported) {
    failed += 1;
    console.log(`FAIL setting up: ${e?.stack ?? e}`);
  }
} finally {
  await context?.close().catch(() => {});
  await stopServer();
  if (failed) {
    const log = readFileSync(logFile, 'utf8').split('\n');
    const panics = log.filter((l) => l.includes('panicked'));
    console.log('--- server log (head, panics, tail) ---');
    console.log([...log.slice(0, 10), ...panics, '…', ...log.slice(-15)].join('\n'));
  }
  rmSync(work, { recursive: true, force: true });
  console.log(`screenshots in ${shots}`);
  console.log(`e2e: ${passed} passed, ${failed} failed`);
  process.exit(failed || passed === 0 ? 1 : 0);
}
