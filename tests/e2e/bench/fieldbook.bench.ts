// The browser figures of `cargo xtask bench` (see xtask/src/bench.rs), measured in the page
// on the release build served by the real sync server, as a rep's phone would see them.
//
// xtask seeds pool reps of the e2e server (fieldbook-bench seed) and passes:
//   FIELDBOOK_URL, FIELDBOOK_LOGINS_FILE (as for the e2e tests), BENCH_OUT (JSON lines, one
//   sample per figure per run), BENCH_RUNS, BENCH_POOL_INDEX / BENCH_LEADS / BENCH_VISITS
//   (the seeded rep and book), and, for the full size, BENCH_BIG_POOL_INDEX /
//   BENCH_BIG_LEADS (the rep with 50,000 leads for the search figure).
//
// Each run is a new device: a fresh browser profile (a persistent context, so the service
// worker and IndexedDB survive a browser restart, which is what a cold start is) that signs
// in, syncs the whole book and is then measured. How each figure is taken:
// - input → paint: `performance.now()` before dispatching the input event in the page, then
//   `requestAnimationFrame` → `setTimeout(0)`, i.e. after the frame that shows the change;
// - first sync: the click on "sign in" → the last `fb:sync-applied` mark once the sync
//   indicator says synced and IndexedDB holds every seeded row; baseline: a bulk `put` of
//   those same rows (read back from the app's stores) into a scratch database, one
//   readwrite transaction, in the same page;
// - cold start: a browser restart with no network, navigation start → `fb:today`; baseline:
//   the same restart navigating to the manifest, which the service worker serves from its
//   cache (navigation start → load end);
// - long tasks: a `PerformanceObserver({type: 'longtask'})` installed before the app starts;
// - memory: CDP `Performance.getMetrics` JSHeapUsedSize after a forced GC, plus the wasm
//   linear memory (`window.wasmBindings.fb_wasm_memory_bytes()`), on Today after a cold start.
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, chromium, BrowserContext, Page } from '@playwright/test';
import launch from '../chromium.cjs';

const url = process.env.FIELDBOOK_URL ?? 'http://127.0.0.1:8080';
const out = process.env.BENCH_OUT ?? '';
const runs = Number(process.env.BENCH_RUNS ?? '1');
const profileDir = process.env.BENCH_PROFILE ?? '';
if (profileDir) mkdirSync(profileDir, { recursive: true });
interface Login {
  login: string;
  password: string;
}
const pool: Login[] = process.env.FIELDBOOK_LOGINS_FILE
  ? JSON.parse(readFileSync(process.env.FIELDBOOK_LOGINS_FILE, 'utf8')).pool
  : [];
const user: Login | undefined = pool[Number(process.env.BENCH_POOL_INDEX ?? '0')];
const leads = Number(process.env.BENCH_LEADS ?? '0');
const visits = Number(process.env.BENCH_VISITS ?? '0');
const bigLogin: Login | undefined = process.env.BENCH_BIG_POOL_INDEX
  ? pool[Number(process.env.BENCH_BIG_POOL_INDEX)]
  : undefined;
const big = bigLogin ? { ...bigLogin, leads: Number(process.env.BENCH_BIG_LEADS ?? '0') } : null;

// Searches a rep would type: a surname, a company, an English name, phone digits, initials.
const QUERIES = ['王', '上海华润', 'smith', '138', 'wj'];

function record(key: string, value: number, baseline?: number) {
  const sample = baseline === undefined ? { key, value } : { key, value, baseline };
  console.log(`bench: ${JSON.stringify(sample)}`);
  if (out) appendFileSync(out, `${JSON.stringify(sample)}\n`);
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

async function open(dir: string, offline: boolean): Promise<BrowserContext> {
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: launch.executablePath,
    args: launch.args,
    headless: true,
    offline,
    baseURL: url,
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    viewport: { width: 390, height: 844 },
  });
  // Long tasks and the paint helper, in every document before its own scripts run.
  await context.addInitScript(() => {
    const w = window as any;
    w.__longtasks = [];
    try {
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) w.__longtasks.push({ start: e.startTime, duration: e.duration });
      }).observe({ type: 'longtask', buffered: true });
    } catch {
      // No long task API: the figures that need it are then missing and the bench says so.
    }
    w.__paint = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
    w.__keystrokes = async (selector: string, text: string, start: string) => {
      const el = document.querySelector(selector) as HTMLInputElement | HTMLTextAreaElement | null;
      if (!el) throw new Error(`no ${selector}`);
      el.focus();
      const times: number[] = [];
      let value = start;
      for (const ch of text) {
        value += ch;
        const t = performance.now();
        el.value = value;
        el.dispatchEvent(new InputEvent('input', { bubbles: true, data: ch, inputType: 'insertText' }));
        await w.__paint();
        times.push(performance.now() - t);
        // A fast typist: about ten keys a second.
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return times;
    };
  });
  return context;
}

async function page(context: BrowserContext): Promise<Page> {
  return context.pages()[0] ?? (await context.newPage());
}

/// Signs in as a new device and waits for the whole book; returns the time from the click
/// to the last `fb:sync-applied` mark.
async function firstSync(p: Page, login: Login, rows: number) {
  await p.goto('/');
  await p.getByTestId('sign-in').waitFor();
  await p.getByTestId('login-name').fill(login.login);
  await p.getByTestId('login-password').fill(login.password);
  await p.getByTestId('login-submit').evaluate((button: HTMLElement) => {
    (window as any).__t0 = performance.now();
    button.click();
  });
  // Polled from here: `waitForFunction` takes the promise of an async predicate as truthy.
  const done = async (rows: number) => {
      const status = document.querySelector('[data-testid=sync-status]');
      const marks = performance.getEntriesByName('fb:sync-applied');
      // Only once the app made its database: opening a missing one would create it empty.
      if (status?.getAttribute('data-state') !== 'synced' || marks.length === 0) return null;
      const last = marks[marks.length - 1].startTime;
      const count = await new Promise<number>((resolve) => {
        const req = indexedDB.open('fieldbook');
        req.onerror = () => resolve(-1);
        req.onsuccess = () => {
          const db = req.result;
          try {
            const tx = db.transaction(['leads', 'visits'], 'readonly');
            const a = tx.objectStore('leads').count();
            const b = tx.objectStore('visits').count();
            tx.oncomplete = () => {
              db.close();
              resolve(a.result + b.result);
            };
            tx.onerror = () => {
              db.close();
              resolve(-1);
            };
          } catch {
            db.close();
            resolve(-1);
          }
        };
      });
      return count >= rows ? last - (window as any).__t0 : null;
  };
  const deadline = Date.now() + 45 * 60_000;
  while (Date.now() < deadline) {
    const elapsed = (await p.evaluate(done, rows)) as number | null;
    if (elapsed !== null) return elapsed;
    await p.waitForTimeout(250);
  }
  throw new Error(`the first sync did not bring ${rows} rows in 45 minutes`);
}

/// The same rows put into a scratch database in one readwrite transaction.
async function rawPut(p: Page) {
  return p.evaluate(async () => {
    const request = <T>(r: IDBRequest<T>) =>
      new Promise<T>((resolve, reject) => {
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
    const app = await request(indexedDB.open('fieldbook'));
    const tx = app.transaction(['leads', 'visits'], 'readonly');
    const [l, v] = await Promise.all([
      request(tx.objectStore('leads').getAll()),
      request(tx.objectStore('visits').getAll()),
    ]);
    app.close();
    const rows = [...l, ...v];
    await request(indexedDB.deleteDatabase('bench-raw') as unknown as IDBRequest<unknown>).catch(() => undefined);
    const open = indexedDB.open('bench-raw', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('rows', { keyPath: 'id' });
    const db = await request(open);
    const t = performance.now();
    const put = db.transaction('rows', 'readwrite');
    const store = put.objectStore('rows');
    for (const row of rows) store.put(row);
    await new Promise<void>((resolve, reject) => {
      put.oncomplete = () => resolve();
      put.onerror = () => reject(put.error);
    });
    const elapsed = performance.now() - t;
    db.close();
    indexedDB.deleteDatabase('bench-raw');
    return { elapsed, rows: rows.length };
  });
}

/// Median input → paint over every keystroke of the queries, on the leads list.
async function search(p: Page) {
  await p.getByTestId('nav-leads').click();
  await p.getByTestId('lead-search').waitFor();
  await p.getByTestId('lead-list').waitFor();
  const times: number[] = [];
  for (const query of QUERIES) {
    times.push(...((await p.evaluate(([q]) => (window as any).__keystrokes('#lead-search', q, ''), [query])) as number[]));
    await p.evaluate(async () => {
      const el = document.querySelector('#lead-search') as HTMLInputElement;
      el.value = '';
      el.dispatchEvent(new InputEvent('input', { bubbles: true }));
      await (window as any).__paint();
    });
  }
  return times;
}

/// The leads list: "show more" until `rows` rows show (or all do), then scroll the page
/// from top to bottom, 400 px per frame; returns the longest gap between animation frames.
async function scroll(p: Page, rows: number) {
  const shown = () => p.locator('[data-testid=lead-list] [data-testid=lead-row]').count();
  for (let n = 0; n < 100 && (await shown()) < rows; n++) {
    const more = p.locator('section.leads > button.button');
    if ((await more.count()) === 0) break;
    await more.click();
  }
  console.log(`bench: ${await shown()} rows shown for the scroll`);
  return p.evaluate(async () => {
    window.scrollTo(0, 0);
    await (window as any).__paint();
    const gaps: number[] = [];
    let last = performance.now();
    const bottom = () => window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 2;
    for (let frame = 0; frame < 2000 && !bottom(); frame++) {
      window.scrollBy(0, 400);
      await new Promise((resolve) => requestAnimationFrame(resolve));
      const now = performance.now();
      gaps.push(now - last);
      last = now;
    }
    return { max: Math.max(0, ...gaps), frames: gaps.length, height: document.documentElement.scrollHeight };
  });
}

/// Clicks an in-app link and waits until `ready` exists and a frame painted it.
async function openBy(p: Page, testid: string, ready: string) {
  return p.evaluate(
    async ([testid, ready]) => {
      const link = document.querySelector(`[data-testid="${testid}"]`) as HTMLElement | null;
      if (!link) throw new Error(`no ${testid}`);
      const t = performance.now();
      link.click();
      while (!document.querySelector(ready)) {
        if (performance.now() - t > 30_000) throw new Error(`${ready} did not appear in 30 s`);
        await new Promise((resolve) => requestAnimationFrame(resolve));
      }
      await (window as any).__paint();
      return performance.now() - t;
    },
    [testid, ready],
  );
}

/// Saves the open visit form: click → `fb:saved`, and the long tasks of the save and of the
/// sync that follows (the app asks for it 0.8 s after a save).
async function saveVisit(p: Page) {
  // The lead picker: a search box over the book; focusing it lists the first leads.
  await p.locator('#v-lead_id').click();
  await p.locator('#v-lead_id-list li.picker-option:not(.new-lead)').first().click();
  const before = await p.evaluate(() => ({
    saved: performance.getEntriesByName('fb:saved').length,
    synced: performance.getEntriesByName('fb:sync-applied').length,
  }));
  const t0 = (await p.getByTestId('save').evaluate((button: HTMLElement) => {
    const t = performance.now();
    button.click();
    return t;
  })) as number;
  await p.waitForFunction((n) => performance.getEntriesByName('fb:saved').length > n, before.saved, {
    timeout: 30_000,
  });
  const saved = await p.evaluate((n) => performance.getEntriesByName('fb:saved')[n].startTime, before.saved);
  await p.waitForFunction((n) => performance.getEntriesByName('fb:sync-applied').length > n, before.synced, {
    timeout: 120_000,
    polling: 100,
  });
  const synced = await p.evaluate((n) => performance.getEntriesByName('fb:sync-applied')[n].startTime, before.synced);
  await p.waitForTimeout(1000);
  const tasks = (await p.evaluate(() => (window as any).__longtasks)) as { start: number; duration: number }[];
  const syncStart = t0 + 800;
  const inSave = tasks.filter((t) => t.start >= t0 && t.start < syncStart);
  const inSync = tasks.filter((t) => t.start >= syncStart && t.start <= synced + 1000);
  const longest = (list: { duration: number }[]) => Math.max(0, ...list.map((t) => t.duration));
  console.log(
    `bench: long tasks after the save: ${inSave.map((t) => Math.round(t.duration)).join(', ') || 'none'}; ` +
      `in the sync that followed: ${inSync.map((t) => Math.round(t.duration)).join(', ') || 'none'}`,
  );
  return { durable: saved - t0, save: longest(inSave), sync: longest(inSync) };
}

test('fieldbook bench', async () => {
  test.skip(!user || !out, 'run through `cargo xtask bench`');
  if (!user) return;
  for (let run = 1; run <= runs; run++) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldbook-bench-'));
    try {
      console.log(`bench: run ${run} of ${runs}`);
      let context = await open(dir, false);
      let p = await page(context);
      // BENCH_PROFILE=DIR: a CPU profile of the first sync too.
      const syncProfiler = profileDir ? await context.newCDPSession(p) : null;
      if (syncProfiler) {
        await syncProfiler.send('Profiler.enable');
        await syncProfiler.send('Profiler.setSamplingInterval', { interval: 500 });
        await syncProfiler.send('Profiler.start');
      }
      const sync = await firstSync(p, user, leads + visits);
      if (syncProfiler) {
        const { profile } = await syncProfiler.send('Profiler.stop');
        const file = path.join(profileDir, `first-sync-${run}.cpuprofile`);
        writeFileSync(file, JSON.stringify(profile));
        console.log(`bench: first sync profile in ${file}`);
        await syncProfiler.detach();
      }
      const raw = await rawPut(p);
      console.log(`bench: first sync ${Math.round(sync)} ms; raw put of ${raw.rows} rows ${Math.round(raw.elapsed)} ms`);
      record('first_sync', sync, raw.elapsed);
      await p.evaluate(() => navigator.serviceWorker.ready.then(() => true));

      const typed = await search(p);
      record('search', median(typed));
      const scrolled = await scroll(p, 800);
      console.log(`bench: scrolled ${scrolled.frames} frames over ${scrolled.height} px`);
      record('scroll_frame', scrolled.max);

      await p.evaluate(() => window.scrollTo(0, 0));
      await p.getByTestId('new-lead').click();
      await p.locator('#f-name').waitFor();
      const leadKeys = (await p.evaluate(() => (window as any).__keystrokes('#f-name', 'Zhang Wei 张伟', ''))) as number[];
      record('keystroke_lead', median(leadKeys));

      await p.getByTestId('nav-today').click();
      await p.getByTestId('quick-visit').waitFor();
      record('open_visit_form', await openBy(p, 'quick-visit', '#v-notes'));
      const visitKeys = (await p.evaluate(() =>
        (window as any).__keystrokes('#v-notes', '客户对报表功能很感兴趣 demo went well', ''),
      )) as number[];
      record('keystroke_visit', median(visitKeys));
      const saved = await saveVisit(p);
      record('save_durable', saved.durable);
      record('longtask_save', saved.save);
      record('longtask_sync', saved.sync);
      // 业绩: this month, then the whole year (its visits and deals read and counted).
      const year = await p.evaluate(() =>
        new Intl.DateTimeFormat('en', { year: 'numeric', timeZone: 'Asia/Shanghai' }).format(new Date()),
      );
      record('open_reports', await openBy(p, 'nav-reports', '[data-testid="reports"][data-loaded]'));
      record('reports_year', await openBy(p, 'period-year', `[data-testid="reports"][data-loaded="${year}"]`));
      await context.close();

      // Cold start with no network: the baseline first (the manifest from the worker's cache).
      context = await open(dir, true);
      p = await page(context);
      await p.goto('/manifest.webmanifest', { waitUntil: 'load' });
      const blank = await p.evaluate(
        () => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).loadEventEnd,
      );
      await context.close();
      context = await open(dir, true);
      p = await page(context);
      // BENCH_PROFILE=DIR: a CPU profile of the cold start (open it in Chromium's DevTools).
      const profiler = profileDir ? await context.newCDPSession(p) : null;
      if (profiler) {
        await profiler.send('Profiler.enable');
        await profiler.send('Profiler.setSamplingInterval', { interval: 200 });
        await profiler.send('Profiler.start');
      }
      await p.goto('/', { waitUntil: 'commit' });
      await p.waitForFunction(() => performance.getEntriesByName('fb:today').length > 0, null, {
        timeout: 120_000,
        polling: 50,
      });
      if (profiler) {
        const { profile } = await profiler.send('Profiler.stop');
        const file = path.join(profileDir, `cold-start-${run}.cpuprofile`);
        writeFileSync(file, JSON.stringify(profile));
        console.log(`bench: cold start profile in ${file}`);
      }
      const cold = await p.evaluate(() => performance.getEntriesByName('fb:today')[0].startTime);
      record('cold_start', cold, blank);
      // Where the cold start goes: before the app's code runs (the wasm fetched from the
      // worker's cache, compiled and instantiated) and after (IndexedDB reads, first render).
      const started = await p.evaluate(() => performance.getEntriesByName('fb:start')[0]?.startTime ?? -1);
      if (started >= 0) {
        record('cold_start_wasm', started);
        record('cold_start_app', cold - started);
      }

      // Memory on Today after the cold start, once things settled.
      await p.waitForTimeout(2000);
      const cdp = await context.newCDPSession(p);
      await cdp.send('HeapProfiler.collectGarbage');
      await cdp.send('Performance.enable');
      const { metrics } = await cdp.send('Performance.getMetrics');
      const js = (metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0) / 1e6;
      const wasm = ((await p.evaluate(() => (window as any).wasmBindings?.fb_wasm_memory_bytes?.() ?? -1)) as number) / 1e6;
      if (wasm > 0) {
        record('memory_js', js);
        record('memory_wasm', wasm);
        record('memory', js + wasm);
      } else {
        console.log('bench: the app exposes no fb_wasm_memory_bytes: memory not measured');
      }
      await context.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  if (big) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldbook-bench-big-'));
    try {
      const context = await open(dir, false);
      const p = await page(context);
      const sync = await firstSync(p, big, big.leads);
      console.log(`bench: first sync of ${big.leads} leads ${Math.round(sync)} ms`);
      for (let run = 1; run <= runs; run++) record('search_50k', median(await search(p)));
      await context.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
