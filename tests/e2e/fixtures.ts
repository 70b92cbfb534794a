// Shared set-up for the end-to-end tests: the sync server's logins and signing in.
//
// `cargo xtask test` starts the real sync server and writes its logins to the JSON file named
// by FIELDBOOK_LOGINS_FILE (kept out of the environment, so logs never show the passwords):
// the demo team (a manager and two reps with sample books) and a pool of reps with empty
// books. Every test that uses the `page` fixture signs in as the next pool rep, so its data
// is its own even though all tests share one server.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { test as base, expect, Browser, BrowserContextOptions, Page } from '@playwright/test';

export interface Login {
  login: string;
  password: string;
  role: string;
}

interface Logins {
  demo: Login[];
  pool: Login[];
}

function logins(): Logins {
  const file = process.env.FIELDBOOK_LOGINS_FILE;
  if (!file) {
    throw new Error('FIELDBOOK_LOGINS_FILE is not set: run the end-to-end tests with `cargo xtask test`');
  }
  return JSON.parse(readFileSync(file, 'utf8')) as Logins;
}

export function demoLogin(login: string): Login {
  const found = logins().demo.find((l) => l.login === login);
  if (!found) throw new Error(`no demo login ${login}`);
  return found;
}

// One Playwright worker runs the tests in order, so a counter hands out the pool. It lives in
// a file beside the logins: Playwright restarts the worker after a failed test, and a counter
// in memory would start again at the first rep, whose book an earlier test already filled.
export function poolLogin(): Login {
  const pool = logins().pool;
  const counter = `${process.env.FIELDBOOK_LOGINS_FILE}.next`;
  const next = existsSync(counter) ? Number(readFileSync(counter, 'utf8')) || 0 : 0;
  writeFileSync(counter, String(next + 1));
  // A rep handed out twice would bring an earlier test's book into this one: say so plainly.
  if (next >= pool.length) {
    throw new Error(`the ${pool.length} pool reps are used up: raise POOL in xtask/src/sync_server.rs`);
  }
  return pool[next];
}

/// Signs in on the sign-in screen and waits for the app.
export async function signIn(page: Page, login: Login) {
  await page.goto('/');
  await expect(page.getByTestId('sign-in')).toBeVisible();
  await page.getByTestId('login-name').fill(login.login);
  await page.getByTestId('login-password').fill(login.password);
  await page.getByTestId('login-submit').click();
  await expect(page.getByTestId('sync-status')).toBeVisible();
  await expect(page.getByTestId('nav-today')).toBeVisible();
}

/// A new browser context (a device) signed in as `login`.
export async function device(browser: Browser, login: Login, options: BrowserContextOptions = {}) {
  const context = await browser.newContext({ locale: 'en-US', timezoneId: 'Asia/Shanghai', ...options });
  const page = await context.newPage();
  await signIn(page, login);
  return { context, page };
}

// Steps the sync and accessibility tests share.

/// Opens the sync pill's panel (last sync, records waiting, "Sync now") unless it is open.
export async function openSyncPanel(page: Page) {
  const pill = page.getByTestId('sync-pill');
  if ((await pill.getAttribute('aria-expanded')) !== 'true') await pill.click();
  await expect(page.getByTestId('sync-panel')).toBeVisible();
}

/// Runs a sync from the pill's panel and waits until it finished with nothing left waiting.
export async function syncNow(page: Page) {
  const status = page.getByTestId('sync-status');
  const before = (await status.getAttribute('data-synced-at')) ?? '0';
  await openSyncPanel(page);
  await page.getByTestId('sync-now').click();
  // The panel closes; the pill shows the run.
  await expect(page.getByTestId('sync-panel')).toBeHidden();
  await expect(status).not.toHaveAttribute('data-synced-at', before);
  await expect(status).toHaveAttribute('data-state', 'synced');
}

/// Creates a lead through the form (with a next follow-up date when given) and returns its id.
export async function createLead(
  page: Page,
  name: string,
  company: string,
  followUp?: string,
): Promise<string> {
  await page.goto('/new/lead');
  await page.locator('#f-name').fill(name);
  await page.locator('#f-company').fill(company);
  if (followUp) await page.locator('#f-next_follow_up').fill(followUp);
  await page.getByTestId('save').click();
  await expect(page.getByTestId('lead-name')).toHaveText(name);
  const id = new URL(page.url()).pathname.split('/').pop();
  if (!id) throw new Error('no lead id in the URL');
  return id;
}

/// Opens a lead through the app's own links (works offline: no page load).
export async function openLead(page: Page, name: string) {
  await page.getByTestId('nav-leads').click();
  await page.getByTestId('lead-row').filter({ hasText: name }).click();
  await expect(page.getByTestId('lead-name')).toHaveText(name);
}

/// Moves the record on show to the trash: its "…" menu, the menu item `item`, then yes.
export async function trashFromMenu(page: Page, item = 'delete') {
  await page.getByTestId('more-menu').click();
  await page.getByTestId(item).click();
  await expect(page.getByTestId('cancel-delete')).toBeFocused();
  await page.getByTestId('confirm-delete').click();
}

/// Opens Settings → About (the version, the device id, the database version).
export async function openAbout(page: Page) {
  const about = page.getByTestId('about');
  if (!(await about.evaluate((el) => (el as HTMLDetailsElement).open))) {
    await page.getByTestId('about-toggle').click();
  }
}

/// Edits one text field of the open lead through its form.
export async function editField(page: Page, field: string, value: string) {
  await page.getByTestId('edit-lead').click();
  await page.locator(`#f-${field}`).fill(value);
  await page.getByTestId('save').click();
  await expect(page.getByTestId('lead-detail')).toBeVisible();
}

export const test = base.extend<{ user: Login }>({
  user: async ({}, use) => {
    await use(poolLogin());
  },
  page: async ({ page, user }, use) => {
    await signIn(page, user);
    await use(page);
  },
});

export { expect };

// Chooses a lead in a form's lead picker (a search box with a list of matches): types the
// name, then taps the match labelled `label` ("name · company").
export async function pickLead(page: Page, input: string, label: string): Promise<void> {
  const box = page.locator(input);
  await box.fill(label.split(' · ')[0]);
  await page.getByRole('option', { name: label, exact: true }).click();
  await expect(box).toHaveValue(label);
}

/// Chooses the kind of a visit in the quick log (a row of chips, radio buttons underneath).
export async function visitKind(page: Page, kind: string): Promise<void> {
  await page.locator('label.chip', { has: page.locator(`input[name="kind"][value="${kind}"]`) }).click();
  await expect(page.locator(`input[name="kind"][value="${kind}"]`)).toBeChecked();
}

/// Opens the quick log's "More details" (time, duration, stage after, photos …).
export async function moreDetails(page: Page): Promise<void> {
  const details = page.getByTestId('more-details');
  if ((await details.getAttribute('open')) === null) await details.locator('summary').click();
  await expect(details).toHaveAttribute('open', '');
}

// Opens the inline new lead of the visit form's lead picker.
export async function pickNewLead(page: Page, input: string): Promise<void> {
  await page.locator(input).click();
  await page.getByRole('option', { name: /New lead|新建客户/ }).click();
}
