// The leads list and a lead's contact actions on a phone (issue 12): filter chips with a
// bottom sheet, the count of active filters and "clear", seven rows above the fold, Chinese
// names in pinyin order, a manager's owner chips and filter by rep, one call button per
// number with the right tel:/sms: links, the WeChat id copied with a toast, map links for
// the device, and "log this call" offered when the app is shown again after a call.
import { Page } from '@playwright/test';
import { Audit, phone } from './audit';
import { demoLogin, device, expect, syncNow, test } from './fixtures';

test.use({ locale: 'en-US', timezoneId: 'Asia/Shanghai', ...phone });

interface NewLead {
  name: string;
  phones?: string;
  wechat?: string;
  address?: string;
  tags?: string;
  grade?: string;
  value?: string;
}

async function createLead(page: Page, lead: NewLead): Promise<string> {
  await page.goto('/new/lead');
  await page.locator('#f-name').fill(lead.name);
  if (lead.phones) await page.locator('#f-phones').fill(lead.phones);
  if (lead.wechat) await page.locator('#f-wechat').fill(lead.wechat);
  if (lead.address) await page.locator('#f-address').fill(lead.address);
  if (lead.tags) await page.locator('#f-tags').fill(lead.tags);
  if (lead.grade) await page.locator('#f-grade').selectOption(lead.grade);
  if (lead.value) await page.locator('#f-expected_value').fill(lead.value);
  await page.getByTestId('save').click();
  await expect(page.getByTestId('lead-name')).toHaveText(lead.name);
  const id = new URL(page.url()).pathname.split('/').pop();
  if (!id) throw new Error('no lead id in the URL');
  return id;
}

/// Opens a chip's bottom sheet, taps the value with `value`, and waits for the sheet to close
/// with the focus back on the chip.
async function chooseInSheet(page: Page, chip: string, value: string) {
  await page.getByTestId(chip).click();
  const sheet = page.getByTestId('filter-sheet');
  await expect(sheet).toBeVisible();
  await sheet.locator(`[data-testid="filter-option"][data-value="${value}"]`).click();
  await expect(sheet).toBeHidden();
  await expect(page.getByTestId(chip)).toBeFocused();
}

async function rowNames(page: Page): Promise<string[]> {
  return page.getByTestId('lead-row').locator('.lead-name').allTextContents();
}

test('filter chips, their count and clear; seven rows above the fold; names in pinyin order', async ({ page }) => {
  test.setTimeout(120_000);
  const tag = `拼音${Date.now() % 100000}`;
  // Created out of pinyin order (and out of code point order: 张 < 王 < 陈 < 李 < 安 is not
  // how a Chinese reader sorts them).
  for (const [name, grade] of [['张伟', 'a'], ['安娜', 'b'], ['李娜', 'a'], ['王芳', 'c'], ['陈静', 'b']]) {
    await createLead(page, { name, tags: tag, grade });
  }
  for (const name of ['Zed Young', 'Amy Brown', 'Carl Diaz']) {
    await createLead(page, { name });
  }
  await page.getByTestId('nav-leads').click();
  await expect(page.getByTestId('lead-row')).toHaveCount(8);

  // At least seven whole rows between the top of the screen and the tab bar.
  const viewport = page.viewportSize();
  if (!viewport) throw new Error('no viewport');
  const tabBar = await page.locator('nav.nav').boundingBox();
  const fold = Math.min(viewport.height, tabBar?.y ?? viewport.height);
  let above = 0;
  for (const row of await page.getByTestId('lead-row').all()) {
    const box = await row.boundingBox();
    if (box && box.y >= 0 && box.y + box.height <= fold) above += 1;
  }
  expect(above, `rows above the fold at ${fold}px`).toBeGreaterThanOrEqual(7);
  // A rep has no owner chip and no filter by rep.
  await expect(page.getByTestId('filter-owner')).toHaveCount(0);
  await expect(page.getByTestId('owner-chip')).toHaveCount(0);

  // No filter yet: no count, no clear.
  await expect(page.getByTestId('filter-count')).toHaveCount(0);
  await expect(page.getByTestId('filter-clear')).toHaveCount(0);

  // Sort by name, then the tag: the Chinese names in pinyin order.
  await chooseInSheet(page, 'lead-sort', 'name');
  await expect(page.getByTestId('lead-sort')).toContainText('Name');
  await chooseInSheet(page, 'filter-tag', tag);
  await expect(page.getByTestId('lead-row')).toHaveCount(5);
  expect(await rowNames(page)).toEqual(['安娜', '陈静', '李娜', '王芳', '张伟']);
  await expect(page.getByTestId('filter-count')).toHaveText('1');
  await expect(page.getByTestId('filter-tag')).toContainText(tag);

  // A second filter: grade A.
  await chooseInSheet(page, 'filter-grade', 'a');
  expect(await rowNames(page)).toEqual(['李娜', '张伟']);
  await expect(page.getByTestId('filter-count')).toHaveText('2');
  await expect(page.getByTestId('lead-count')).toHaveText('2 leads');

  // Escape closes a sheet without choosing; the focus returns to its chip.
  await page.getByTestId('filter-stage').click();
  await expect(page.getByTestId('filter-sheet')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('filter-sheet')).toBeHidden();
  await expect(page.getByTestId('filter-stage')).toBeFocused();
  await expect(page.getByTestId('filter-count')).toHaveText('2');

  // Choosing "All" in a sheet takes that filter off.
  await chooseInSheet(page, 'filter-grade', '');
  await expect(page.getByTestId('filter-count')).toHaveText('1');
  await expect(page.getByTestId('lead-row')).toHaveCount(5);

  // Clear: every filter off, the sort and the search stay.
  await chooseInSheet(page, 'filter-grade', 'b');
  await page.getByTestId('lead-search').fill('娜');
  expect(await rowNames(page)).toEqual(['安娜']);
  await page.getByTestId('filter-clear').click();
  await expect(page.getByTestId('filter-count')).toHaveCount(0);
  expect(await rowNames(page)).toEqual(['安娜', '李娜']);
  await page.getByTestId('lead-search').fill('');
  await expect(page.getByTestId('lead-row')).toHaveCount(8);
  // As Intl.Collator('zh-CN-u-co-pinyin') has them: Chinese names by pinyin, then Latin ones.
  expect(await rowNames(page)).toEqual(['安娜', '陈静', '李娜', '王芳', '张伟', 'Amy Brown', 'Carl Diaz', 'Zed Young']);
});

test.describe('a manager', () => {
  test.use({ locale: 'zh-CN', timezoneId: 'Asia/Shanghai', ...phone });

  test('sees owner chips, amounts in 万 and relative dates, and filters by rep', async ({ browser }) => {
    const { context, page } = await device(browser, demoLogin('demo.manager'), {
      locale: 'zh-CN',
      timezoneId: 'Asia/Shanghai',
      ...phone,
    });
    await syncNow(page);
    await page.getByTestId('nav-leads').click();
    const rows = page.getByTestId('lead-row');
    await expect(rows.first()).toBeVisible();
    const shown = await rows.count();
    const total = await leadCount(page);
    // Every lead is a rep's: each row names its owner.
    await expect(page.getByTestId('owner-chip')).toHaveCount(shown);
    const wang = rows.filter({ hasText: '王建国' });
    await expect(wang.getByTestId('owner-chip')).toHaveText(/李明 Li Ming/);
    await expect(wang.getByTestId('row-value')).toHaveText('¥28万');
    await expect(wang.getByTestId('row-follow-up')).toHaveText(/逾期 \d+ 天/);
    await expect(wang.getByTestId('row-follow-up')).toHaveClass(/overdue/);

    await chooseInSheet(page, 'filter-owner', await ownerValue(page, 'Sarah Chen 陈莎'));
    await expect(page.getByTestId('filter-count')).toHaveText('1');
    await expect(page.getByTestId('filter-owner')).toContainText('Sarah Chen 陈莎');
    await expect.poll(() => leadCount(page)).toBeLessThan(total);
    const theirs = await rows.count();
    expect(theirs).toBeGreaterThan(0);
    await expect(page.getByTestId('owner-chip')).toHaveCount(theirs);
    for (const chip of await page.getByTestId('owner-chip').all()) {
      await expect(chip).toContainText('Sarah Chen 陈莎');
    }
    await page.getByTestId('filter-clear').click();
    await expect.poll(() => leadCount(page)).toBe(total);
    await context.close();
  });
});

/// The number of leads the list says match.
async function leadCount(page: Page): Promise<number> {
  const text = (await page.getByTestId('lead-count').textContent()) ?? '';
  return Number(text.replace(/\D/g, ''));
}

/// The `data-value` of the owner sheet's option named `name` (the rep's id).
async function ownerValue(page: Page, name: string): Promise<string> {
  await page.getByTestId('filter-owner').click();
  const option = page.getByTestId('filter-sheet').getByTestId('filter-option').filter({ hasText: name });
  const value = await option.getAttribute('data-value');
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('filter-sheet')).toBeHidden();
  if (!value) throw new Error(`no owner option ${name}`);
  return value;
}

test('contact actions: a call per number, texts for mobiles, WeChat copied, the call offered for logging', async ({ page }) => {
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  const id = await createLead(page, {
    name: 'Zhang Contact',
    phones: '138 0013 8000, (010) 6552-9988, +44 20 7946 0958',
    wechat: 'wx_zhang88',
    address: '南京路 1 号',
    value: '128000',
  });
  const calls = page.getByTestId('contact-call');
  await expect(calls).toHaveCount(3);
  // Shown as typed, dialled normalised.
  await expect(calls.nth(0)).toHaveText('Call mobile 138 0013 8000');
  await expect(calls.nth(0)).toHaveAttribute('href', 'tel:+8613800138000');
  await expect(calls.nth(1)).toHaveText('Call landline (010) 6552-9988');
  await expect(calls.nth(1)).toHaveAttribute('href', 'tel:01065529988');
  await expect(calls.nth(2)).toHaveText('Call landline +44 20 7946 0958');
  await expect(calls.nth(2)).toHaveAttribute('href', 'tel:+442079460958');
  // Only the mobile gets a text button.
  await expect(page.getByTestId('contact-sms')).toHaveCount(1);
  await expect(page.getByTestId('contact-sms')).toHaveAttribute('href', 'sms:+8613800138000');
  // The details keep the exact amount; a laptop's browser gets a web map, and no WeChat to open.
  await expect(page.getByTestId('lead-detail')).toContainText('128,000.00');
  await expect(page.getByTestId('contact-map')).toHaveAttribute(
    'href',
    'https://www.openstreetmap.org/search?query=%E5%8D%97%E4%BA%AC%E8%B7%AF%201%20%E5%8F%B7',
  );
  await expect(page.getByTestId('open-wechat')).toHaveCount(0);
  const audit = new Audit('en');
  await audit.check(page, 'contact actions');

  await page.getByTestId('copy-wechat').click();
  await expect(page.getByTestId('toast')).toContainText('WeChat ID copied: wx_zhang88');
  await audit.check(page, 'contact actions (WeChat id copied)');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('wx_zhang88');

  // A tap on a call (the dialler itself is kept out of the test), then the app is shown
  // again: it offers to log the call, with the time of the tap.
  await page.evaluate(() =>
    document.addEventListener(
      'click',
      (event) => {
        if ((event.target as Element).closest('a[href^="tel:"]')) event.preventDefault();
      },
      true,
    ),
  );
  const before = Date.now();
  await calls.nth(0).click();
  const after = Date.now();
  await expect(page.getByTestId('call-offer')).toHaveCount(0);
  await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange', { bubbles: true })));
  await expect(page.getByTestId('call-offer')).toBeVisible();
  await expect(page.getByTestId('call-offer')).toContainText('Log this call?');
  await audit.check(page, 'contact actions (log this call?)');
  const href = await page.getByTestId('log-call').getAttribute('href');
  const match = href?.match(new RegExp(`^/new/visit\\?lead=${id}&kind=phone_call&at=(\\d+)$`));
  expect(match, `log link ${href}`).toBeTruthy();
  const at = Number(match?.[1]);
  expect(at).toBeGreaterThanOrEqual(before);
  expect(at).toBeLessThanOrEqual(after);
  // The offer stays until it is taken or dismissed, across a reload.
  await page.reload();
  await expect(page.getByTestId('call-offer')).toBeVisible();
  await page.getByTestId('log-call').click();
  await expect(page).toHaveURL(new RegExp(`/new/visit\\?lead=${id}&kind=phone_call&at=${at}$`));
  await page.goBack();
  await expect(page.getByTestId('lead-name')).toHaveText('Zhang Contact');
  await expect(page.getByTestId('call-offer')).toHaveCount(0);
  audit.expectClean();
});

test.describe('on an Android phone in Chinese', () => {
  const android =
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36';
  test.use({ locale: 'zh-CN', timezoneId: 'Asia/Shanghai', userAgent: android, ...phone });

  test('the map opens the maps app, WeChat can be opened, labels are Chinese', async ({ page }) => {
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await createLead(page, { name: '王小明', phones: '0086 139 1234 5678', wechat: 'wxm_2026', address: '南京路 1 号' });
    await expect(page.getByTestId('contact-call')).toHaveText('拨打手机 0086 139 1234 5678');
    await expect(page.getByTestId('contact-call')).toHaveAttribute('href', 'tel:+8613912345678');
    await expect(page.getByTestId('contact-sms')).toHaveAttribute('href', 'sms:+8613912345678');
    await expect(page.getByTestId('contact-map')).toHaveAttribute(
      'href',
      'geo:0,0?q=%E5%8D%97%E4%BA%AC%E8%B7%AF%201%20%E5%8F%B7',
    );
    await expect(page.getByTestId('open-wechat')).toHaveAttribute('href', 'weixin://');
    await expect(page.getByTestId('open-wechat')).toHaveText('打开微信');
    const audit = new Audit('zh-CN');
    await audit.check(page, 'contact actions (Android, zh)');
    await page.getByTestId('copy-wechat').click();
    await expect(page.getByTestId('toast')).toContainText('已复制微信号：wxm_2026');
    await audit.check(page, 'contact actions (WeChat id copied, zh)');
    audit.expectClean();
  });
});

test.describe('on a laptop, with the keyboard alone', () => {
  test.use({
    locale: 'en-US',
    timezoneId: 'Asia/Shanghai',
    viewport: { width: 1280, height: 800 },
    isMobile: false,
    hasTouch: false,
  });

  test("a chip's panel opens, keeps the focus, is chosen from and closes with keys", async ({ page }) => {
    await createLead(page, { name: 'Keys Grade A', grade: 'a' });
    await createLead(page, { name: 'Keys Grade B', grade: 'b' });
    await page.getByTestId('nav-leads').click();
    await expect(page.getByTestId('lead-row')).toHaveCount(2);

    await page.getByTestId('filter-grade').focus();
    await page.keyboard.press('Enter');
    const sheet = page.getByTestId('filter-sheet');
    await expect(sheet).toBeVisible();
    // Tab never leaves the panel for the page behind it; Grade A is reached with Tab.
    let reached = false;
    for (let step = 0; step < 12; step += 1) {
      await page.keyboard.press('Tab');
      const where = await page.evaluate(() => {
        const active = document.activeElement;
        return {
          inside: !active || active === document.body || !!active.closest('dialog'),
          value: active?.getAttribute('data-value') ?? null,
        };
      });
      expect(where.inside, `Tab ${step + 1} left the panel`).toBe(true);
      if (where.value === 'a') {
        reached = true;
        break;
      }
    }
    expect(reached).toBe(true);
    await page.keyboard.press('Enter');
    await expect(sheet).toBeHidden();
    await expect(page.getByTestId('filter-grade')).toBeFocused();
    await expect(page.getByTestId('lead-row')).toHaveCount(1);
    await expect(page.getByTestId('lead-row')).toContainText('Keys Grade A');
    await expect(page.getByTestId('filter-count')).toHaveText('1');
  });
});
