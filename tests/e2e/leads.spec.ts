// Leads and visits end to end, in Chromium against the release build: what a rep does on a
// first day, and that it is all still there after a reload (it lives in IndexedDB).
import { Page } from '@playwright/test';
import { expect, moreDetails, pickLead, pickNewLead, syncNow, test, trashFromMenu, visitKind } from './fixtures';

test.use({ locale: 'en-US', timezoneId: 'Asia/Shanghai' });

async function openApp(page: Page, path = '/') {
  await page.goto(path);
  // The shell renders its pages once the local database is open.
  await expect(page.getByTestId('sync-status')).toBeVisible();
  await expect(page.locator('main .page')).toBeVisible();
}

async function createLead(page: Page, fields: { name: string; company?: string; phones?: string; tags?: string }) {
  await openApp(page, '/new/lead');
  await page.locator('#f-name').fill(fields.name);
  if (fields.company) await page.locator('#f-company').fill(fields.company);
  if (fields.phones) await page.locator('#f-phones').fill(fields.phones);
  if (fields.tags) await page.locator('#f-tags').fill(fields.tags);
  await page.getByTestId('save').click();
  await expect(page.getByTestId('lead-name')).toHaveText(fields.name);
}

test('create a lead, log two visits, reload: all there', async ({ page, context }) => {
  // No way to the server while the rep works (the files still load): the changes stay in the
  // outbox and can be counted, instead of racing the sync that follows each save.
  await context.route('**/api/**', (route) => route.abort('internetdisconnected'));
  await createLead(page, { name: 'Maria Rossi', company: 'Rossi Tools', phones: '+39 02 1234 5678' });
  await expect(page.getByTestId('contact-call')).toHaveAttribute('href', 'tel:+390212345678');

  // First visit, from the lead: the lead is already chosen.
  await page.getByTestId('log-visit').click();
  await expect(page.locator('#v-lead_id')).toHaveValue('Maria Rossi · Rossi Tools');
  await visitKind(page, 'demo');
  await page.locator('#v-notes').fill('Showed the new lathe');
  await page.locator('#v-next_follow_up').fill('2099-01-15');
  await page.getByTestId('save').click();
  await expect(page.getByTestId('lead-name')).toHaveText('Maria Rossi');
  await expect(page.getByTestId('timeline-visit')).toHaveCount(1);

  // Second visit, from the tab bar: pick the lead from the list.
  await page.getByTestId('nav-visit').click();
  await pickLead(page, '#v-lead_id', 'Maria Rossi · Rossi Tools');
  await visitKind(page, 'phone_call');
  await page.locator('#v-notes').fill('Asked for a quote');
  await moreDetails(page);
  await page.locator('#v-stage_after').selectOption('negotiation');
  await page.getByTestId('save').click();
  await expect(page.getByTestId('timeline-visit')).toHaveCount(2);

  // Six changes wait for the server (the lead, two visits, the lead's two moves and the
  // stage change the second move keeps for the timeline), on four records: the pill counts
  // records.
  await expect(page.getByTestId('timeline-stage')).toHaveCount(1);
  await expect(page.getByTestId('sync-status')).toContainText('4 records waiting');

  await page.reload();
  await expect(page.getByTestId('lead-name')).toHaveText('Maria Rossi');
  await expect(page.getByTestId('timeline-visit')).toHaveCount(2);
  await expect(page.getByTestId('timeline')).toContainText('Showed the new lathe');
  await expect(page.getByTestId('timeline')).toContainText('Asked for a quote');
  // The visits moved the lead: follow-up date from the first, stage from the second.
  await expect(page.getByTestId('lead-detail')).toContainText('Price negotiation');
  await expect(page.getByTestId('lead-detail')).toContainText('2099');

  await page.getByTestId('nav-leads').click();
  await expect(page.getByTestId('lead-row')).toHaveCount(1);
  await expect(page.getByTestId('lead-row')).toContainText('Rossi Tools');

  // Back in touch: all five go up and nothing is left waiting.
  await context.unroute('**/api/**');
  await syncNow(page);
  await expect(page.getByTestId('sync-text')).not.toContainText('waiting');
});

test('Today lists overdue follow-ups and the visits logged today', async ({ page }) => {
  await openApp(page, '/new/lead');
  await page.locator('#f-name').fill('Overdue Oscar');
  // Three days ago: overdue, and within the week a new follow-up may lie in the past.
  const threeDaysAgo = await page.evaluate(() => {
    const d = new Date();
    d.setDate(d.getDate() - 3);
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  });
  await page.locator('#f-next_follow_up').fill(threeDaysAgo);
  await page.getByTestId('save').click();
  await expect(page.getByTestId('lead-name')).toHaveText('Overdue Oscar');

  await page.getByTestId('nav-today').click();
  await expect(page.getByTestId('overdue-list')).toContainText('Overdue Oscar');
  await expect(page.getByTestId('today-visits')).toHaveCount(0);
  // Nothing due today beside the overdue lead: said in words, not an empty list.
  await expect(page.getByTestId('due-list')).toHaveCount(0);
  await expect(page.getByTestId('nothing-due')).toHaveText('No follow-ups due today.');

  // One tap from Today to a visit; the visit's follow-up clears the overdue entry.
  await page.getByTestId('quick-visit').click();
  await pickLead(page, '#v-lead_id', 'Overdue Oscar');
  await page.locator('#v-next_follow_up').fill('2099-06-01');
  await page.getByTestId('save').click();
  await expect(page.getByTestId('lead-name')).toHaveText('Overdue Oscar');
  await page.getByTestId('nav-today').click();
  await expect(page.getByTestId('overdue-list')).toHaveCount(0);
  await expect(page.getByTestId('today-visits')).toContainText('Overdue Oscar');
});

test('a visit can create its lead inline', async ({ page }) => {
  await openApp(page, '/new/visit');
  await pickNewLead(page, '#v-lead_id');
  await expect(page.getByTestId('inline-lead')).toBeVisible();
  await page.getByTestId('save').click();
  await expect(page.getByTestId('error-name')).toBeVisible();
  await page.locator('#nl-name').fill('Walk-in Wendy');
  await page.locator('#nl-phones').fill('13912345678');
  await page.locator('#v-notes').fill('Came to the trade show booth');
  await page.getByTestId('save').click();
  await expect(page.getByTestId('lead-name')).toHaveText('Walk-in Wendy');
  await expect(page.getByTestId('timeline')).toContainText('Came to the trade show booth');
  // A Chinese mobile is dialled with its country code, so it works from abroad too.
  await expect(page.getByTestId('contact-call')).toHaveAttribute('href', 'tel:+8613912345678');
});

test('search finds a Chinese name by its pinyin initials', async ({ page }) => {
  await createLead(page, { name: '王小明', company: '华东机械', phones: '138 0013 8000', tags: '展会, VIP' });
  await createLead(page, { name: '欧阳娜娜', company: '南方贸易' });
  await createLead(page, { name: 'John Smith', company: 'Acme' });

  await page.getByTestId('nav-leads').click();
  await expect(page.getByTestId('lead-row')).toHaveCount(3);
  const search = page.getByTestId('lead-search');

  await search.fill('wxm');
  await expect(page.getByTestId('lead-row')).toHaveCount(1);
  await expect(page.getByTestId('lead-row')).toContainText('王小明');

  await search.fill('oynn');
  await expect(page.getByTestId('lead-row')).toHaveCount(1);
  await expect(page.getByTestId('lead-row')).toContainText('欧阳娜娜');

  // Phone digits without separators, a tag, and a company all find their lead.
  await search.fill('13800138000');
  await expect(page.getByTestId('lead-row')).toHaveCount(1);
  await search.fill('vip');
  await expect(page.getByTestId('lead-row')).toContainText('王小明');
  await search.fill('acme');
  await expect(page.getByTestId('lead-row')).toContainText('John Smith');

  await search.fill('nobody-here');
  await expect(page.getByTestId('lead-row')).toHaveCount(0);
});

test('an invalid phone shows the error and keeps what was typed', async ({ page }) => {
  await openApp(page, '/new/lead');
  await page.locator('#f-name').fill('Li Lei');
  await page.locator('#f-company').fill('Lei & Co');
  await page.locator('#f-phones').fill('12ab');
  await page.locator('#f-email').fill('li.lei@example');
  await page.getByTestId('save').click();

  await expect(page.getByTestId('error-phones')).toContainText('phone number');
  await expect(page.getByTestId('error-email')).toContainText('email');
  await expect(page.getByTestId('form-error')).toBeVisible();
  await expect(page.locator('#f-phones')).toHaveAttribute('aria-invalid', 'true');
  // Nothing typed was lost.
  await expect(page.locator('#f-name')).toHaveValue('Li Lei');
  await expect(page.locator('#f-company')).toHaveValue('Lei & Co');
  await expect(page.locator('#f-phones')).toHaveValue('12ab');
  await expect(page.locator('#f-email')).toHaveValue('li.lei@example');

  // Fixing the fields saves the lead.
  await page.locator('#f-phones').fill('010 6552 9988');
  await page.locator('#f-email').fill('li.lei@example.com');
  await expect(page.getByTestId('error-phones')).toHaveCount(0);
  await page.getByTestId('save').click();
  await expect(page.getByTestId('lead-name')).toHaveText('Li Lei');
});

test('the language switches in Settings and stays switched', async ({ page }) => {
  await openApp(page);
  await expect(page.getByTestId('nav-today')).toContainText('Today');
  await page.getByTestId('nav-settings').click();
  await expect(page).toHaveTitle('Settings · Fieldbook');
  await page.getByTestId('language').selectOption('zh-CN');
  await expect(page.getByTestId('nav-today')).toContainText('今日');
  await expect(page.getByTestId('nav-leads')).toContainText('客户');
  await expect(page.locator('html')).toHaveAttribute('lang', 'zh-CN');
  // The tab's title follows the language too.
  await expect(page).toHaveTitle('设置 · Fieldbook');

  await page.reload();
  await expect(page.getByTestId('nav-today')).toContainText('今日');

  // Validation messages follow the language.
  await page.goto('/new/lead');
  await page.locator('#f-phones').fill('12');
  await page.getByTestId('save').click();
  await expect(page.getByTestId('error-name')).toContainText('必填');
  await expect(page.getByTestId('error-phones')).toContainText('电话号码');

  await page.goto('/settings');
  await page.getByTestId('language').selectOption('en');
  await expect(page.getByTestId('nav-today')).toContainText('Today');
});

test.describe('a Chinese browser', () => {
  test.use({ locale: 'zh-CN' });

  test('starts in Chinese', async ({ page }) => {
    await openApp(page);
    await expect(page.getByTestId('nav-today')).toContainText('今日');
    await expect(page.locator('html')).toHaveAttribute('lang', 'zh-CN');
  });
});

test.describe('in the field', () => {
  test.use({
    permissions: ['geolocation'],
    geolocation: { latitude: 31.2304, longitude: 121.4737, accuracy: 12 },
  });

  test('a visit checks in with GPS, and a deleted visit can be restored', async ({ page }) => {
    await createLead(page, { name: 'Zhou Jie', company: 'Pudong Parts' });
    await page.getByTestId('log-visit').click();
    // The check-in is one of the quick log's "More details".
    await moreDetails(page);
    await page.getByTestId('check-in').getByRole('button', { name: 'Check in here' }).click();
    await expect(page.getByTestId('check-in')).toContainText('accurate to 12 m');
    await expect(page.getByTestId('check-in')).toContainText('31.23040, 121.47370');
    await page.locator('#v-notes').fill('Met at the factory gate');
    await page.getByTestId('save').click();
    await expect(page.getByTestId('timeline-checkin')).toHaveCount(1);
    await expect(page.getByTestId('timeline-checkin').locator('a')).toHaveAttribute('href', /mlat=31\.2304/);

    // Delete the visit from its edit form, then undo from the toast.
    await page.getByTestId('timeline-visit').getByRole('link', { name: 'Edit' }).click();
    await trashFromMenu(page);
    await expect(page.getByTestId('lead-name')).toHaveText('Zhou Jie');
    await expect(page.getByTestId('timeline-visit')).toHaveCount(0);
    await page.getByTestId('toast').getByRole('button', { name: 'Restore' }).click();
    await expect(page.getByTestId('timeline-visit')).toHaveCount(1);

    await page.reload();
    await expect(page.getByTestId('timeline-visit')).toHaveCount(1);
    await expect(page.getByTestId('timeline')).toContainText('Met at the factory gate');
  });

  test('a deal shows on the timeline in the currency it was made in', async ({ page }) => {
    await createLead(page, { name: 'Sara Lind', company: 'Lind AB' });
    await page.getByTestId('add-deal').click();
    await page.locator('#d-product').fill('Service contract');
    await page.locator('#d-amount').fill('-5');
    await page.getByTestId('save').click();
    await expect(page.getByTestId('error-amount')).toContainText('cannot be negative');
    await page.locator('#d-amount').fill('12,800.50');
    await page.locator('#d-currency').fill('usd');
    await page.getByTestId('save').click();
    await expect(page.getByTestId('timeline-deal')).toHaveCount(1);
    await expect(page.getByTestId('timeline-deal')).toContainText('$12,800.50');
    await expect(page.getByTestId('timeline-deal')).toContainText('Service contract');
  });
});

test('on a laptop the list and the open lead sit side by side', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await createLead(page, { name: 'Side Pane', company: 'Split Co' });
  await page.getByTestId('nav-leads').click();
  await page.getByTestId('lead-row').first().click();
  await expect(page.getByTestId('lead-name')).toHaveText('Side Pane');
  await expect(page.getByTestId('lead-list')).toBeVisible();
  await expect(page.getByTestId('lead-row').locator('a')).toHaveAttribute('aria-current', 'page');
});

test.describe('on a phone', () => {
  test.use({ viewport: { width: 390, height: 844 } });

  test('the lead list gives way to the open lead', async ({ page }) => {
    await createLead(page, { name: 'Phone Pane', company: 'Small Screen Ltd' });
    await expect(page.getByTestId('lead-list')).toBeHidden();
    await page.getByTestId('nav-leads').click();
    await expect(page.getByTestId('lead-list')).toBeVisible();
    await page.getByTestId('lead-row').first().click();
    await expect(page.getByTestId('lead-name')).toHaveText('Phone Pane');
    await expect(page.getByTestId('lead-list')).toBeHidden();
  });
});
