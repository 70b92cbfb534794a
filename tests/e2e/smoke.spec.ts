// The smallest end-to-end check: the release build loads and names itself.
import { expect, test } from '@playwright/test';

test('the app loads with its title', async ({ page }) => {
  await page.goto('/');
  await expect(page).toHaveTitle(/Fieldbook/);
});
