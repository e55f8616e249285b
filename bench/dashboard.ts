// The dashboard with a large catalogue, in Debian's Chromium (headless, playwright-core), against an
// in-process Stockade (2 shards, alert publisher on a real nats-server): how long the first
// catalogue page, a search, a sort and a deep scroll take from the user's action to the rows on
// screen, how many rows the DOM holds, and the same while reserves run against the gateway.
// Figures, not assertions: test/dashboard.test.ts checks behaviour.
//
// With DASHBOARD_SCREENSHOTS=<dir> it also takes the screenshots used in docs/dashboard.md after a
// short simulated flash sale (a hot SKU sold out and queueing, alerts raised, a flag, a threshold).
//
//   npm run bench:dashboard   (compiled first, as published; `npx tsx bench/dashboard.ts` runs the source)
//   BENCH_QUICK=1                   smoke run (10,000 SKUs)
//   BENCH_DASHBOARD_SKUS            catalogue size (default 100,000)
//   DASHBOARD_SCREENSHOTS=docs      also write docs/dashboard.png, dashboard-sku.png, dashboard-alerts.png

import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { Engine } from '../src/actors/engine.js';
import type { Command } from '../src/actors/types.js';
import { buildConfig } from '../src/config.js';
import { startGateway } from '../src/gateway/server.js';
import { buildDemandConfig } from '../src/streams/demand.js';
import { DemandService } from '../src/streams/demand-service.js';
import { StreamsService } from '../src/streams/service.js';
import { NatsServer } from '../test/nats-server.js';
import { envNumber, fmt, machineInfo, machineLine, makeTempDir, markdownTable, removeTempDir, sleep, writeResult } from './common.js';

const SKUS = Math.round(envNumber('BENCH_DASHBOARD_SKUS', 100_000, 10_000));
const SCREENSHOTS = process.env.DASHBOARD_SCREENSHOTS ?? '';
const CHROMIUM = '/usr/bin/chromium';
/** The flags test/dashboard.test.ts uses: no sandbox (root in CI), no GPU, nothing phoning home. */
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const SEED_CHUNK_COMMANDS = 4096;
const STEP_TIMEOUT_MS = 30_000;
/** Each measured action is repeated this many times; the table shows the median and the worst. */
const REPEATS = 5;
/** Reserves in flight from the load generator while "under load" figures are taken. */
const LOAD_CONCURRENCY = 16;
/** How long the simulated flash sale runs before the screenshots (so the charts have a history). */
const SALE_MS = 15_000;
/** Pause between one load worker's reserves during the sale: a steady, visible rate, not a flood. */
const SALE_PAUSE_MS = 40;

const ADMIN_KEY = 'bench-dashboard-admin-key-0001';
const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');
const quiet = { info() {}, error() {} };

const CATEGORIES: [string, string, string[]][] = [
  ['BAG', 'bags', ['leather']], ['CAP', 'caps', ['summer']], ['HOOD', 'hoodies', ['basics']], ['JKT', 'jackets', ['outdoor']],
  ['MUG', 'mugs', ['kitchen']], ['SCF', 'scarves', ['winter']], ['SOCK', 'socks', ['basics']], ['WTR', 'bottles', ['outdoor']],
];
const SIZES = ['XS', 'S', 'M', 'L', 'XL'];

/** The SKUs the screenshots are about, besides the generated catalogue. */
const NAMED: [string, string, string[], Record<string, number>][] = [
  ['HP-NC700-BLK', 'headphones', ['flash-sale'], { 'milan-dc': 5000, 'paris-store': 60 }],
  ['LAMP-ARC-1942', 'lamps', ['design'], { 'milan-dc': 1 }],
  ['SNK-RUN-42', 'sneakers', ['running'], { 'milan-dc': 25, 'paris-store': 5 }],
  ['SNK-RUN-43', 'sneakers', ['running'], { 'milan-dc': 11 }],
  ['TEE-RED-M', 'tees', ['flash-sale'], { 'milan-dc': 260, 'paris-store': 40 }],
];

function generatedSku(i: number): { sku: string; category: string; tags: string[]; onHand: number } {
  const [prefix, category, tags] = CATEGORIES[i % CATEGORIES.length];
  const model = Math.floor(i / (CATEGORIES.length * SIZES.length));
  const size = SIZES[Math.floor(i / CATEGORIES.length) % SIZES.length];
  // A spread of levels, a few at zero (each of those opens a zero-stock episode, as in real life).
  const onHand = (i * 7919) % 241 === 0 ? 0 : 3 + ((i * 37) % 180);
  return { sku: `${prefix}-${String(model).padStart(5, '0')}-${size}`, category, tags, onHand };
}

interface Timing {
  medianMs: number;
  maxMs: number;
}

function timing(samples: number[]): Timing {
  const sorted = [...samples].sort((a, b) => a - b);
  return { medianMs: Math.round(sorted[Math.floor(sorted.length / 2)] * 10) / 10, maxMs: Math.round(sorted.at(-1)! * 10) / 10 };
}

async function measure(times: number, action: (round: number) => Promise<void>): Promise<Timing> {
  const samples: number[] = [];
  for (let round = 0; round < times; round++) {
    const t0 = performance.now();
    await action(round);
    samples.push(performance.now() - t0);
  }
  return timing(samples);
}

/** Wait until the element's text is exactly `text`. */
async function until(page: Page, selector: string, text: string): Promise<void> {
  const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  await page.locator(selector).filter({ hasText: new RegExp(`^${escaped}$`) }).first().waitFor({ timeout: STEP_TIMEOUT_MS });
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  const machine = machineInfo();
  console.error(`# dashboard — ${machineLine(machine)}; ${fmt(SKUS)} SKUs`);
  const nats = await NatsServer.start();
  const dataDir = makeTempDir('dashboard');
  const profileDir = mkdtempSync(join(tmpdir(), 'stockade-bench-chromium-'));
  const config = buildConfig({
    shards: 2,
    dataDir,
    http: { port: 0 },
    apiKeys: [{ id: 'ops-admin', sha256: sha256(ADMIN_KEY), channel: null, scopes: ['admin'] }],
    nats: { enabled: true, servers: [nats.url] },
  });
  const engine = await Engine.start(config, quiet);
  const streams = new StreamsService(engine, config.nats, quiet);
  streams.start();
  await streams.whenStarted();
  const demand = new DemandService(engine, buildDemandConfig({}), quiet);
  demand.start();
  const gateway = await startGateway(engine, config, quiet, streams, { demand });
  const base = `http://127.0.0.1:${gateway.port}`;
  const browser = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, viewport: { width: 1440, height: 900 } });
  let loadRunning = false;
  const loadWorkers: Promise<void>[] = [];
  let reservesDone = 0;
  let orderSeq = 0;

  const reserve = async (sku: string, quantity: number): Promise<number> => {
    orderSeq++;
    const res = await fetch(`${base}/v1/reservations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sku, quantity, orderId: `o-${orderSeq}`, customerId: `shopper-${orderSeq}`, channel: 'web', idempotencyKey: `bench-dashboard-${orderSeq}`, queueIfShort: true }),
    });
    const placed = (await res.json()) as { reservationId?: string; state?: string };
    // Every third shopper checks out: the shipment is a sale in the demand windows.
    if (orderSeq % 3 === 0 && placed.state === 'ACTIVE') {
      const shipped = await fetch(`${base}/v1/reservations/${encodeURIComponent(placed.reservationId!)}/commit`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' }, body: '{}' });
      await shipped.arrayBuffer();
    }
    return res.status;
  };
  const startLoad = (skus: string[], pauseMs: number) => {
    loadRunning = true;
    for (let w = 0; w < LOAD_CONCURRENCY; w++) {
      loadWorkers.push(
        (async () => {
          for (let n = w; loadRunning; n += LOAD_CONCURRENCY) {
            await reserve(skus[n % skus.length], 1 + (n % 2));
            reservesDone++;
            if (pauseMs > 0) await sleep(pauseMs);
          }
        })(),
      );
    }
  };
  const stopLoad = async () => {
    loadRunning = false;
    await Promise.all(loadWorkers.splice(0));
  };

  try {
    // ---- the catalogue ----
    const seedStart = performance.now();
    const commands: Command[] = [];
    let event = 0;
    for (const [sku, category, tags, stock] of NAMED) {
      commands.push({ type: 'defineSku', sku, category, tags } as Command);
      for (const [location, onHand] of Object.entries(stock)) commands.push({ type: 'setStock', sku, location, onHand, eventId: `seed-${++event}` } as Command);
    }
    for (let i = 0; i < SKUS - NAMED.length; i++) {
      const g = generatedSku(i);
      commands.push({ type: 'defineSku', sku: g.sku, category: g.category, tags: g.tags } as Command);
      commands.push({ type: 'setStock', sku: g.sku, location: i % 3 === 0 ? 'paris-store' : 'milan-dc', onHand: g.onHand, eventId: `seed-${++event}` } as Command);
    }
    for (let i = 0; i < commands.length; i += SEED_CHUNK_COMMANDS) {
      const replies = await engine.executeBatch(commands.slice(i, i + SEED_CHUNK_COMMANDS));
      const failed = replies.find((r) => !r.ok);
      if (failed) throw new Error(`seeding failed: ${JSON.stringify(failed)}`);
    }
    const seedMs = performance.now() - seedStart;
    console.error(`seeded ${fmt(SKUS)} SKUs (${fmt(commands.length)} commands) in ${fmt(seedMs / 1000, 1)} s`);

    // The server alone, for comparison with what the page adds.
    const serverSearch = await measure(REPEATS, async () => {
      const res = await fetch(`${base}/v1/skus?q=HOOD-00042&limit=60`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      await res.json();
    });
    const serverFirstPage = await measure(REPEATS, async () => {
      const res = await fetch(`${base}/v1/skus?q=&sort=sku&order=asc&offset=0&limit=50`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      await res.json();
    });

    const page = await browser.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (m) => {
      // No order flow in this process: the pre-order route is a 404, which the page expects.
      if (m.type() === 'error' && !/\/preorders$/.test(m.location().url)) consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    const firstPage = (await (await fetch(`${base}/v1/skus?limit=1`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).json()) as { skus: { sku: string }[] };
    const first = firstPage.skus[0].sku;

    const t0 = performance.now();
    await page.goto(base);
    await page.getByLabel('API key').waitFor({ timeout: STEP_TIMEOUT_MS });
    const pageLoadMs = performance.now() - t0;
    const t1 = performance.now();
    await page.getByLabel('API key').fill(ADMIN_KEY);
    await page.getByRole('button', { name: 'Open' }).click();
    await page.locator('.row[data-index="0"]').waitFor({ timeout: STEP_TIMEOUT_MS });
    const firstPageMs = performance.now() - t1;
    await until(page, '.row[data-index="0"] > span:first-child', first);

    const queries = ['HOOD-00042', 'lamps', 'MUG-01', 'no-such-thing', 'SOCK-00777-M'];
    const pageQuery = async (q: string) => {
      const expected = (await (await fetch(`${base}/v1/skus?q=${encodeURIComponent(q)}&limit=1`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).json()) as { total: number };
      const label = `${expected.total.toLocaleString('en-US')} ${expected.total === 1 ? 'SKU' : 'SKUs'}`;
      const started = performance.now();
      await page.getByLabel('Search SKUs').fill(q);
      await until(page, '#total', expected.total > 10_000 ? `${label} (first 10,000 listed: search to narrow)` : label);
      return performance.now() - started;
    };
    const clearSearch = async () => {
      await page.getByLabel('Search SKUs').fill('');
      await until(page, '.row[data-index="0"] > span:first-child', first);
    };
    const searchSamples: number[] = [];
    for (let r = 0; r < REPEATS; r++) {
      searchSamples.push(await pageQuery(queries[r % queries.length]));
      await clearSearch();
    }
    const search = timing(searchSamples);

    const scrollTargets: string[] = [];
    for (let round = 0; round < REPEATS; round++) {
      const at = (await (await fetch(`${base}/v1/skus?offset=${1000 + round * 1700}&limit=1`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).json()) as { skus: { sku: string }[] };
      scrollTargets.push(at.skus[0].sku);
    }
    const scroll = await measure(REPEATS, async (round) => {
      const index = 1000 + round * 1700;
      await page.locator('#rows').evaluate((box, top) => (box.scrollTop = top), index * 28);
      await until(page, `.row[data-index="${index}"] > span:first-child`, scrollTargets[round]);
    });
    const domRowsAfterScroll = await page.locator('.row').count();
    await page.locator('#rows').evaluate((box) => (box.scrollTop = 0));
    await until(page, '.row[data-index="0"] > span:first-child', first);

    const sortTops: string[] = [];
    for (const order of ['asc', 'desc']) {
      const top = (await (await fetch(`${base}/v1/skus?sort=available&order=${order}&limit=1`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).json()) as { skus: { sku: string }[] };
      sortTops.push(top.skus[0].sku);
    }
    const sort = await measure(2, async (round) => {
      await page.getByRole('columnheader', { name: 'Available' }).click();
      await until(page, '.row[data-index="0"] > span:first-child', sortTops[round]);
    });

    // ---- the same while reserves run (as fast as LOAD_CONCURRENCY requests in flight allow) ----
    startLoad(['HP-NC700-BLK'], 0);
    const loadStart = performance.now();
    const reservesBefore = reservesDone;
    const searchUnderLoadSamples: number[] = [];
    for (let r = 0; r < REPEATS; r++) {
      searchUnderLoadSamples.push(await pageQuery(queries[r % queries.length]));
      await page.getByLabel('Search SKUs').fill('');
      await page.locator('.row[data-index="0"]').waitFor({ timeout: STEP_TIMEOUT_MS });
    }
    const searchUnderLoad = timing(searchUnderLoadSamples);
    const loadRate = ((reservesDone - reservesBefore) * 1000) / (performance.now() - loadStart);
    await stopLoad();
    await page.close();

    const rows = [
      ['page load (login form shown)', fmt(pageLoadMs, 0), ''],
      ['sign-in → first catalogue page drawn', fmt(firstPageMs, 0), ''],
      [`search typed → list and total drawn (incl. 150 ms debounce), ${REPEATS}×`, fmt(search.medianMs, 0), fmt(search.maxMs, 0)],
      [`  same, while ${fmt(loadRate, 0)} reserves/s run`, fmt(searchUnderLoad.medianMs, 0), fmt(searchUnderLoad.maxMs, 0)],
      [`scroll to row 1,000…7,800 → row drawn, ${REPEATS}×`, fmt(scroll.medianMs, 0), fmt(scroll.maxMs, 0)],
      ['sort by Available (asc, desc) → first row drawn', fmt(sort.medianMs, 0), fmt(sort.maxMs, 0)],
      ['server alone: GET /v1/skus?q=… (a search)', fmt(serverSearch.medianMs, 1), fmt(serverSearch.maxMs, 1)],
      ['server alone: GET /v1/skus first page', fmt(serverFirstPage.medianMs, 1), fmt(serverFirstPage.maxMs, 1)],
    ];
    console.log(`\n## Dashboard with ${fmt(SKUS)} SKUs\n\n${machineLine(machine)}\n`);
    console.log(markdownTable(['action', 'median ms', 'max ms'], rows));
    console.log(`\nDOM rows after a deep scroll: ${domRowsAfterScroll}; console errors: ${consoleErrors.length}`);
    const written = writeResult('dashboard', {
      machine,
      skus: SKUS,
      seedMs: Math.round(seedMs),
      pageLoadMs: Math.round(pageLoadMs),
      firstPageMs: Math.round(firstPageMs),
      search,
      searchUnderLoad: { ...searchUnderLoad, reservesPerSecond: Math.round(loadRate) },
      scroll,
      sort,
      serverSearch,
      serverFirstPage,
      domRowsAfterScroll,
      consoleErrors,
    });
    console.error(`results: ${written}`);

    if (SCREENSHOTS) await screenshots(browser, base, reserve, startLoad, stopLoad);
  } finally {
    await stopLoad();
    await browser.close();
    rmSync(profileDir, { recursive: true, force: true });
    gateway.close();
    demand.stop();
    await streams.stop();
    await engine.stop();
    await nats.destroy();
    removeTempDir(dataDir);
  }
}

/** A short flash sale on TEE-RED-M and the headphones, then the three screenshots. */
async function screenshots(
  browser: Awaited<ReturnType<typeof chromium.launchPersistentContext>>,
  base: string,
  reserve: (sku: string, quantity: number) => Promise<number>,
  startLoad: (skus: string[], pauseMs: number) => void,
  stopLoad: () => Promise<void>,
): Promise<void> {
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const page = await browser.newPage();
  await page.goto(base);
  await page.getByLabel('API key').fill(ADMIN_KEY);
  await page.getByRole('button', { name: 'Open' }).click();
  await page.locator('.row[data-index="0"]').waitFor({ timeout: STEP_TIMEOUT_MS });
  await page.getByLabel('Search SKUs').fill('flash-sale');
  await page.locator('.row[data-sku="TEE-RED-M"]').click();
  await page.locator('[data-testid="detail-available"]').waitFor({ timeout: STEP_TIMEOUT_MS });
  // The selection stays while the catalogue goes back to the whole list.
  await page.getByLabel('Search SKUs').fill('');
  await page.locator('.row[data-index="20"]').waitFor({ timeout: STEP_TIMEOUT_MS });

  // The operators' day: a threshold set, a SKU flagged by the warehouse, the last lamp sold.
  await admin('PUT', '/v1/skus/SNK-RUN-42/thresholds', { minAvailable: 35, leadTimeDays: 12 });
  await admin('PUT', '/v1/skus/TEE-RED-M/thresholds', { minAvailable: 60, minAvailableByLocation: { 'paris-store': 10 }, lowPercent: 20, referenceLevel: 300 });
  await admin('PUT', '/v1/skus/SNK-RUN-43/out-of-stock-flag', { reason: 'water damage in aisle 14', flaggedBy: 'milan-warehouse' });
  await reserve('LAMP-ARC-1942', 1);
  startLoad(['TEE-RED-M', 'HP-NC700-BLK', 'HP-NC700-BLK'], SALE_PAUSE_MS);
  // Pictures while the sale still runs, so the figures of the last second are live ones.
  await sleep(SALE_MS);
  await page.mouse.move(0, 0);
  await page.screenshot({ path: join(SCREENSHOTS, 'dashboard.png') });
  await page.locator('#detail').screenshot({ path: join(SCREENSHOTS, 'dashboard-sku.png') });
  await page.locator('.card.alerts').screenshot({ path: join(SCREENSHOTS, 'dashboard-alerts.png') });
  await stopLoad();
  await page.close();
  console.error(`screenshots in ${SCREENSHOTS}/`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
