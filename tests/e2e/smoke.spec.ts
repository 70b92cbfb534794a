// The smallest end-to-end checks: the release build loads from the sync server, names itself,
// and a new device starts at the sign-in screen; the wasm comes precompressed and immutable.
import { expect, test } from '@playwright/test';

test('the app loads with its title and asks a new device to sign in', async ({ page }) => {
  const wasm = page.waitForResponse((r) => r.url().endsWith('.wasm'));
  await page.goto('/');
  await expect(page).toHaveTitle(/Fieldbook/);
  await expect(page.getByTestId('sign-in')).toBeVisible();
  // The sign-in screen names itself in the tab's title.
  await expect(page).toHaveTitle('Sign in to Fieldbook · Fieldbook');

  const headers = (await wasm).headers();
  expect(['br', 'gzip']).toContain(headers['content-encoding']);
  expect(headers['cache-control']).toContain('immutable');
});
