// The app's shell (issue 12) on a phone: the sync pill counts records and holds "Sync now";
// the app bar's back returns to the previous screen, or with no history in the app (a deep
// link, an installed iPhone app) to the screen's parent; a delete sits behind "…" and asks
// first; a trashed lead offers only Restore; a toast goes when the screen changes; the theme
// applies before the first screen; sign-in has a language switch and a show-password toggle.
import { phone } from './audit';
import { createLead, expect, openLead, openSyncPanel, syncNow, test, trashFromMenu } from './fixtures';

test.use({ locale: 'en-US', timezoneId: 'Asia/Shanghai', ...phone });

const unique = (prefix: string) => `${prefix} ${Date.now().toString(36)}`;

test('sign-in switches the language and shows the password on request', async ({ browser }) => {
  const context = await browser.newContext({ locale: 'en-US', ...phone });
  const page = await context.newPage();
  await page.goto('/');
  const title = page.locator('main h1');
  await expect(title).toHaveText('Sign in to Fieldbook');
  await page.getByTestId('language-zh-CN').click();
  await expect(title).toHaveText('登录 Fieldbook');
  await expect(page.locator('html')).toHaveAttribute('lang', 'zh-CN');
  await expect(page.getByTestId('language-zh-CN')).toHaveAttribute('aria-pressed', 'true');
  await expect(page.getByTestId('language-en')).toHaveAttribute('aria-pressed', 'false');
  // The same preference as Settings' language: it outlives a reload.
  await page.reload();
  await expect(title).toHaveText('登录 Fieldbook');
  await page.getByTestId('language-en').click();
  await expect(title).toHaveText('Sign in to Fieldbook');

  const password = page.getByTestId('login-password');
  await password.fill('four words of secret');
  await expect(password).toHaveAttribute('type', 'password');
  const toggle = page.getByTestId('show-password');
  await expect(toggle).toHaveAccessibleName('Show password');
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-pressed', 'true');
  await expect(password).toHaveAttribute('type', 'text');
  await expect(password).toHaveValue('four words of secret');
  await toggle.click();
  await expect(password).toHaveAttribute('type', 'password');
  await context.close();
});

test('back returns to the previous screen, skips a saved form, and goes up after a deep link', async ({
  page,
}) => {
  const name = unique('Back Bar');
  const id = await createLead(page, name, 'Back Co');
  await openLead(page, name);
  await expect(page.getByTestId('back')).toHaveAccessibleName('Back');
  await page.getByTestId('back').click();
  await expect(page).toHaveURL(/\/leads$/);
  await expect(page.getByTestId('lead-list')).toBeVisible();

  // List → lead → edit → save: back from the saved lead returns to the list, not the form.
  await page.getByTestId('lead-row').filter({ hasText: name }).click();
  await page.getByTestId('edit-lead').click();
  await page.locator('#f-company').fill('Back Group');
  await page.getByTestId('save').click();
  await expect(page.getByTestId('lead-detail')).toContainText('Back Group');
  await page.getByTestId('back').click();
  await expect(page).toHaveURL(/\/leads$/);

  // A deep link to a form has no screen before it in the app: back goes up, level by level.
  await page.goto(`/leads/${id}/edit`);
  await expect(page.getByTestId('lead-form')).toBeVisible();
  await page.getByTestId('back').click();
  await expect(page).toHaveURL(new RegExp(`/leads/${id}$`));
  await expect(page.getByTestId('lead-name')).toHaveText(name);
  await page.getByTestId('back').click();
  await expect(page).toHaveURL(/\/leads$/);
  // Tab screens have no back.
  await expect(page.getByTestId('back')).toHaveCount(0);
});

test('a lead goes to the trash only after a yes, then offers only Restore; its toast goes with the screen', async ({
  page,
}) => {
  const name = unique('Trash Me');
  await createLead(page, name, 'Trash Co');
  // The question answered no: nothing happens, the focus returns to "…".
  await page.getByTestId('more-menu').click();
  await page.getByTestId('delete-lead').click();
  await expect(page.getByTestId('confirm-box')).toContainText('Move this lead to the trash?');
  await page.getByTestId('cancel-delete').click();
  await expect(page.getByTestId('more-menu')).toBeFocused();
  await expect(page.getByTestId('trashed-note')).toHaveCount(0);

  await trashFromMenu(page, 'delete-lead');
  await expect(page.getByTestId('trashed-note')).toBeVisible();
  await expect(page.getByTestId('restore-lead')).toBeFocused();
  // Nothing but back and Restore: no visit, deal, edit or menu.
  const controls = page
    .getByTestId('lead-detail')
    .locator('button:visible, a.button:visible, select:visible');
  expect(await controls.evaluateAll((els) => els.map((el) => (el as HTMLElement).dataset.testid))).toEqual([
    'back',
    'restore-lead',
  ]);

  await page.getByTestId('restore-lead').click();
  await expect(page.getByTestId('log-visit')).toBeVisible();
  await expect(page.getByTestId('toast')).toContainText('Lead restored');
  // The toast is about this screen: another screen clears it (well before its own timeout).
  await page.waitForTimeout(1_600);
  await page.getByTestId('nav-today').click();
  await expect(page.getByTestId('toast')).toHaveCount(0, { timeout: 1_000 });
});

test('the pill counts records, not saves, and its panel syncs them', async ({ page, context }) => {
  await context.route('**/api/**', (route) => route.abort('internetdisconnected'));
  const name = unique('Pill Count');
  await createLead(page, name, 'Pill Co');
  // A second save of the same lead: two changes in the outbox, one record waiting.
  await page.getByTestId('edit-lead').click();
  await page.locator('#f-company').fill('Pill Group');
  await page.getByTestId('save').click();
  await expect(page.getByTestId('lead-detail')).toContainText('Pill Group');
  await expect(page.getByTestId('sync-text')).toContainText('1 record waiting');
  await expect(page.getByTestId('sync-status')).toHaveAttribute('data-state', 'unreachable');

  await openSyncPanel(page);
  await expect(page.getByTestId('sync-pill')).toHaveAttribute('aria-expanded', 'true');
  await expect(page.getByTestId('sync-waiting')).toHaveText('1');
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('sync-panel')).toBeHidden();
  await expect(page.getByTestId('sync-pill')).toBeFocused();

  await context.unroute('**/api/**');
  await syncNow(page);
  await expect(page.getByTestId('sync-text')).not.toContainText('waiting');
});

test('the theme chosen in Settings overrides the system and applies before the first screen', async ({
  page,
}) => {
  // Which theme <html> had when the app's shell first appeared in the page.
  await page.addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (document.querySelector('.shell')) {
        (window as unknown as { firstTheme: string }).firstTheme =
          document.documentElement.dataset.theme ?? 'system';
        observer.disconnect();
      }
    }).observe(document, { childList: true, subtree: true });
  });
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  await page.emulateMedia({ colorScheme: 'light' });
  await page.getByTestId('nav-settings').click();
  await page.getByTestId('theme-dark').check();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  expect(await background()).toBe('rgb(15, 20, 25)');

  await page.reload();
  await expect(page.getByTestId('nav-today')).toBeVisible();
  expect(await page.evaluate(() => (window as unknown as { firstTheme: string }).firstTheme)).toBe('dark');
  expect(await background()).toBe('rgb(15, 20, 25)');

  // Light on a dark system, then the system's again.
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.getByTestId('nav-settings').click();
  await expect(page.getByTestId('theme-dark')).toBeChecked();
  await page.getByTestId('theme-light').check();
  expect(await background()).toBe('rgb(246, 247, 249)');
  await page.getByTestId('theme-system').check();
  await expect(page.locator('html')).not.toHaveAttribute('data-theme', /./);
  expect(await background()).toBe('rgb(15, 20, 25)');
});
