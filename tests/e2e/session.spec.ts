// The session's life on a device: the app reopens as the last user, an ended session keeps
// every unsynced change and asks to sign in again, and signing out warns about what has not
// reached the server before it deletes the local data.
import { Page } from '@playwright/test';
import { expect, test } from './fixtures';

test.use({ locale: 'en-US', timezoneId: 'Asia/Shanghai' });

async function createLead(page: Page, name: string) {
  await page.goto('/new/lead');
  await page.locator('#f-name').fill(name);
  await page.getByTestId('save').click();
  await expect(page.getByTestId('lead-name')).toHaveText(name);
}

test('a reload opens as the signed-in user without asking again', async ({ page, user }) => {
  await page.reload();
  await expect(page.getByTestId('nav-today')).toBeVisible();
  await expect(page.getByTestId('sign-in')).toHaveCount(0);
  await page.getByTestId('nav-settings').click();
  await expect(page.getByTestId('account-name')).toContainText(user.login);
});

test('an ended session keeps the outbox and syncs after signing in again', async ({ page, context, user }) => {
  // The server forgets the session (as when it expires): the next sync gets a 401.
  await context.clearCookies();
  const name = `Kept Through Expiry ${Date.now().toString(36)}`;
  await createLead(page, name);
  const status = page.getByTestId('sync-status');
  await expect(status).toHaveAttribute('data-state', 'signed-out');
  await expect(page.getByTestId('sync-text')).toContainText('1 record waiting');

  await page.getByTestId('sign-in-again').click();
  await expect(page.getByTestId('login-name')).toHaveValue(user.login);
  await page.getByTestId('login-password').fill(user.password);
  await page.getByTestId('login-submit').click();
  await expect(status).toHaveAttribute('data-state', 'synced');
  await expect(page.getByTestId('sync-text')).not.toContainText('waiting');

  // It reached the server: a second device of the same rep gets it.
  const other = await context.browser()!.newContext({ locale: 'en-US' });
  const second = await other.newPage();
  await second.goto('/');
  await second.getByTestId('login-name').fill(user.login);
  await second.getByTestId('login-password').fill(user.password);
  await second.getByTestId('login-submit').click();
  await second.getByTestId('nav-leads').click();
  await expect(second.getByTestId('lead-row').filter({ hasText: name })).toBeVisible();
  await other.close();
});

test('signing out warns about unsynced changes, then deletes the local data', async ({ page, context }) => {
  await page.goto('/new/lead');
  // No network from here (the app has no offline cache yet, so it is loaded first).
  await context.setOffline(true);
  await page.locator('#f-name').fill('Never Synced');
  await page.getByTestId('save').click();
  await expect(page.getByTestId('lead-name')).toHaveText('Never Synced');
  await page.getByTestId('nav-settings').click();
  await page.getByTestId('sign-out').click();
  await expect(page.getByTestId('sign-out-unsynced')).toContainText('1 record has changes that have not reached the server');
  await context.setOffline(false);
  await page.getByTestId('sign-out-anyway').click();
  // The server's answer wipes the site's storage, then the app deletes the database itself
  // and reloads: allow for a slow machine.
  await expect(page.getByTestId('sign-in')).toBeVisible({ timeout: 20_000 });
  // The database is gone: a reload still asks to sign in, and nothing of the book is left.
  await page.reload();
  await expect(page.getByTestId('sign-in')).toBeVisible();
  const names = await page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
  const leads = await page.evaluate(
    () =>
      new Promise<number>((resolve) => {
        const open = indexedDB.open('fieldbook');
        open.onsuccess = () => {
          const db = open.result;
          if (!db.objectStoreNames.contains('leads')) return resolve(0);
          const count = db.transaction('leads').objectStore('leads').count();
          count.onsuccess = () => resolve(count.result);
        };
      }),
  );
  expect(names.length).toBeLessThanOrEqual(1);
  expect(leads).toBe(0);
});
