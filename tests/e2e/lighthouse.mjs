// Lighthouse against the release build served by the sync server (FIELDBOOK_URL), in Debian's
// Chromium (CHROME_PATH, default /usr/bin/chromium): the sign-in screen on a first visit, and
// Today for a signed-in rep (FIELDBOOK_LOGINS_FILE, as for Playwright) with an empty HTTP
// cache. Prints accessibility, best practices and performance per page with the audits that
// lost points, writes each HTML report under target/lighthouse/, and exits non-zero unless
// accessibility is 100 and best practices at least 95. Performance is printed only: its
// budget comes with the benchmarks.
//
// Playwright starts the browser (with a DevTools port for Lighthouse and a profile of its
// own), so the signed-in run can sign in through the real form first; Lighthouse then loads
// the page in that same profile without clearing its storage.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from '@playwright/test';
import lighthouse from 'lighthouse';
import browser from './chromium.cjs';

const MIN_ACCESSIBILITY = 100;
const MIN_BEST_PRACTICES = 95;
const CATEGORIES = ['accessibility', 'best-practices', 'performance'];

const base = process.env.FIELDBOOK_URL;
if (!base) {
  console.error('FIELDBOOK_URL is not set: run Lighthouse with `cargo xtask test`');
  process.exit(2);
}
const reports = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'target', 'lighthouse');

function demoRep() {
  const file = process.env.FIELDBOOK_LOGINS_FILE;
  if (!file) throw new Error('FIELDBOOK_LOGINS_FILE is not set: run Lighthouse with `cargo xtask test`');
  const logins = JSON.parse(readFileSync(file, 'utf8'));
  // The demo rep's book has overdue and due follow-ups, so Today shows what a rep sees.
  const rep = logins.demo.find((l) => l.login === 'demo.rep1') ?? logins.pool[0];
  if (!rep) throw new Error('the logins file names no rep');
  return rep;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/// A headless Chromium with a fresh profile and a DevTools port; `prepare` runs in it first.
async function withBrowser(prepare, run) {
  const profile = mkdtempSync(path.join(tmpdir(), 'fieldbook-lighthouse-'));
  const port = await freePort();
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: browser.executablePath,
    // The demo team's time zone (the server dates its follow-ups in UTC+8): in UTC, from
    // 16:00 to midnight the demo's overdue lead falls due today and "overdue" is empty.
    env: { ...process.env, TZ: 'Asia/Shanghai' },
    headless: false,
    args: [
      '--headless=new',
      ...browser.args,
      `--remote-debugging-port=${port}`,
    ],
  });
  try {
    await prepare(context);
    return await run(port);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

async function signIn(context) {
  const rep = demoRep();
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(base);
  await page.getByTestId('login-name').fill(rep.login);
  await page.getByTestId('login-password').fill(rep.password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('overdue-list').waitFor({ timeout: 30_000 });
  // Lighthouse opens its own tab; this one leaves the app so only that tab runs it. The
  // HTTP cache goes (the account and the book stay), so the app downloads as on a cold start.
  await page.goto('about:blank');
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.clearBrowserCache');
  await cdp.detach();
}

async function audit(page, port) {
  const result = await lighthouse(base, {
    port,
    hostname: '127.0.0.1',
    output: 'html',
    logLevel: 'error',
    onlyCategories: CATEGORIES,
    disableStorageReset: page.keepStorage,
  });
  if (!result) throw new Error(`Lighthouse returned nothing for ${page.name}`);
  const { lhr } = result;
  mkdirSync(reports, { recursive: true });
  writeFileSync(path.join(reports, `${page.file}.report.html`), result.report);

  const scores = {};
  console.log(`\n${page.name}: ${lhr.finalDisplayedUrl}`);
  for (const id of CATEGORIES) {
    const category = lhr.categories[id];
    scores[id] = Math.round((category.score ?? 0) * 100);
    console.log(`  ${category.title}: ${scores[id]}`);
    for (const ref of category.auditRefs) {
      const a = lhr.audits[ref.id];
      if (ref.weight > 0 && a.score !== null && a.score < 1) {
        const value = a.displayValue ? ` (${a.displayValue})` : '';
        console.log(`    - ${a.id}: ${a.title}${value}`);
      }
    }
  }
  if (lhr.runWarnings.length > 0) console.log(`  warnings: ${lhr.runWarnings.join(' | ')}`);
  return scores;
}

const pages = [
  { name: 'sign-in (first visit)', file: 'sign-in', prepare: async () => {}, keepStorage: false },
  { name: 'today (signed in)', file: 'today', prepare: signIn, keepStorage: true },
];

let failed = false;
for (const p of pages) {
  const scores = await withBrowser(p.prepare, (port) => audit(p, port));
  if (scores.accessibility < MIN_ACCESSIBILITY) {
    console.error(`${p.name}: accessibility ${scores.accessibility} < ${MIN_ACCESSIBILITY}`);
    failed = true;
  }
  if (scores['best-practices'] < MIN_BEST_PRACTICES) {
    console.error(`${p.name}: best practices ${scores['best-practices']} < ${MIN_BEST_PRACTICES}`);
    failed = true;
  }
}
console.log(`\nreports in ${reports}`);
process.exit(failed ? 1 : 0);
