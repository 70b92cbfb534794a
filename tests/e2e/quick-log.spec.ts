// The quick log (issue 12): a visit with notes and a follow-up logged from Today in three taps
// plus the typing, on a phone, in Chinese; the lead then leaves Today. The lead picker puts the
// leads a rep means first and finds a lead by its pinyin initials; "log this call" links fill
// the kind and the time; dates far in the past are refused with a clear message.
import { Page } from '@playwright/test';
import { Audit, phone } from './audit';
import { demoLogin, device, expect, moreDetails, poolLogin, syncNow, test } from './fixtures';

/// The browser's local date `days` from today, as a date input takes it.
async function localDay(page: Page, days: number): Promise<string> {
  return page.evaluate((days) => {
    const d = new Date();
    d.setDate(d.getDate() + days);
    const pad = (n: number) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  }, days);
}

interface NewLead {
  name: string;
  company?: string;
  phones?: string;
  grade?: string;
  followUp?: string;
}

async function newLead(page: Page, lead: NewLead): Promise<string> {
  await page.goto('/new/lead');
  await page.locator('#f-name').fill(lead.name);
  if (lead.company) await page.locator('#f-company').fill(lead.company);
  if (lead.phones) await page.locator('#f-phones').fill(lead.phones);
  if (lead.grade) await page.locator('#f-grade').selectOption(lead.grade);
  if (lead.followUp) await page.locator('#f-next_follow_up').fill(lead.followUp);
  await page.getByTestId('save').click();
  await expect(page.getByTestId('lead-name')).toHaveText(lead.name);
  return new URL(page.url()).pathname.split('/').pop() ?? '';
}

/// Counts the taps the page receives from now on, wherever they land: pointer presses, one
/// per tap (a click on a chip's label also clicks its radio button: `click` would count two).
async function countTaps(page: Page) {
  await page.evaluate(() => {
    const w = window as unknown as { __taps: number; __counting?: boolean };
    w.__taps = 0;
    if (!w.__counting) {
      document.addEventListener('pointerdown', () => (w.__taps += 1), true);
      w.__counting = true;
    }
  });
}

async function taps(page: Page): Promise<number> {
  return page.evaluate(() => (window as unknown as { __taps: number }).__taps);
}

test.describe('quick log', () => {
  test('from Today on a phone: 3 taps and the typing log a visit with its next follow-up, and the lead leaves Today', async ({
    browser,
  }) => {
    const { context, page } = await device(browser, poolLogin(), { ...phone, locale: 'zh-CN' });
    const today = await localDay(page, 0);
    const name = `赵敏${Date.now().toString(36).slice(-4)}`;
    const id = await newLead(page, {
      name,
      company: '明教贸易',
      phones: '138 0013 8000',
      grade: 'b',
      followUp: today,
    });

    await page.getByTestId('nav-today').click();
    const row = page.getByTestId('due-list').getByTestId('lead-row').filter({ hasText: name });
    await expect(row.getByTestId('when')).toHaveText('今天');
    await expect(row.getByTestId('row-call')).toHaveAttribute('href', 'tel:+8613800138000');
    const audit = new Audit('zh-CN');
    await audit.check(page, 'Today with row actions');

    await countTaps(page);
    // Tap 1: the row's "记录". The notes box has the focus: the rep just types.
    await row.getByTestId('row-log').click();
    await expect(page).toHaveURL(new RegExp(`/new/visit\\?lead=${id}`));
    await expect(page.locator('#v-lead_id')).toHaveValue(`${name} · 明教贸易`);
    await expect(page.locator('#v-notes')).toBeFocused();
    await page.keyboard.type('谈了新报价，客户要样品');
    // The lead was due: the next date is asked for, preselected from grade B (7 days).
    await expect(page.getByTestId('follow-up-due')).toBeVisible();
    await expect(page.locator('#v-next_follow_up')).toHaveValue(await localDay(page, 7));
    await expect(page.locator(`input[name="follow-up-quick"][value="${await localDay(page, 7)}"]`)).toBeChecked();
    await audit.check(page, 'quick log (due lead)');
    // Save sits in thumb reach: inside the screen, above the tab bar.
    const save = await page.getByTestId('save').boundingBox();
    expect(save).not.toBeNull();
    expect((save?.y ?? 0) + (save?.height ?? 0)).toBeLessThanOrEqual(844);

    // Tap 2: "3 天后". Tap 3: Save.
    await page.getByText('3 天后', { exact: true }).click();
    await page.getByTestId('save').click();

    // Back on Today: the lead has left the due list; the visit is today's.
    await expect(page).toHaveURL(/\/$/);
    await expect(page.getByTestId('today-visits')).toContainText(name);
    await expect(page.getByTestId('nothing-due')).toBeVisible();
    expect(await taps(page)).toBe(3);
    audit.expectClean();

    // The lead's next follow-up is the chosen day.
    await page.goto(`/leads/${id}`);
    await expect(page.getByTestId('timeline')).toContainText('谈了新报价，客户要样品');
    await page.getByTestId('edit-lead').click();
    await expect(page.locator('#f-next_follow_up')).toHaveValue(await localDay(page, 3));
    await context.close();
  });

  test('the lead picker lists overdue leads first and finds a lead by pinyin initials', async ({ page }) => {
    const overdue = `Overdue Olga ${Date.now().toString(36)}`;
    await newLead(page, { name: overdue, followUp: await localDay(page, -3) });
    await newLead(page, { name: '王小明', company: '华东机械' });

    await page.getByTestId('nav-visit').click();
    await page.locator('#v-lead_id').click();
    const first = page.getByRole('option').first();
    await expect(first).toContainText(overdue);
    await expect(first).toContainText('3 days overdue');

    await page.locator('#v-lead_id').fill('wxm');
    await page.getByRole('option', { name: '王小明 · 华东机械' }).click();
    await expect(page.locator('#v-lead_id')).toHaveValue('王小明 · 华东机械');
    // Not due: no date is imposed.
    await expect(page.getByTestId('follow-up-due')).toBeHidden();
    await expect(page.locator('#v-next_follow_up')).toHaveValue('');
  });

  test('"log this call" opens the log with the kind and the time of the call', async ({ page }) => {
    const id = await newLead(page, { name: 'Carla Call', phones: '13912345678' });
    const at = await page.evaluate(() => {
      const d = new Date(Date.now() - 20 * 60_000);
      d.setSeconds(0, 0);
      return d.getTime();
    });
    const time = await page.evaluate((at) => {
      const d = new Date(at);
      return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
    }, at);
    await page.goto(`/new/visit?lead=${id}&kind=phone_call&at=${at}`);
    await expect(page.locator('input[name="kind"][value="phone_call"]')).toBeChecked();
    await moreDetails(page);
    await expect(page.locator('#v-time')).toHaveValue(time);
    await page.locator('#v-notes').fill('Called back about the order');
    await page.getByTestId('save').click();
    await expect(page.getByTestId('timeline-visit')).toContainText('Called back about the order');
  });

  test('dates far in the past are refused with a clear message; a follow-up before the visit too', async ({
    page,
  }) => {
    await page.goto('/new/lead');
    await page.locator('#f-name').fill('Past Paula');
    await page.locator('#f-next_follow_up').fill(await localDay(page, -30));
    await page.getByTestId('save').click();
    await expect(page.getByTestId('error-next_follow_up')).toHaveText(
      'This date is too far in the past. Pick a day from last week onwards.',
    );
    await page.locator('#f-next_follow_up').fill(await localDay(page, -2));
    await page.getByTestId('save').click();
    await expect(page.getByTestId('lead-name')).toHaveText('Past Paula');

    await page.getByTestId('log-visit').click();
    await page.locator('#v-next_follow_up').fill(await localDay(page, -1));
    await page.getByTestId('save').click();
    await expect(page.getByTestId('error-next_follow_up')).toHaveText('The next follow-up cannot be before the visit.');
    // Nothing typed is lost.
    await expect(page.locator('#v-next_follow_up')).toHaveValue(await localDay(page, -1));
  });
});

test("a manager's Today groups the team's follow-ups by rep, each row with its actions", async ({ browser }) => {
  const { context, page } = await device(browser, demoLogin('demo.manager'), phone);
  // The first sync brings the reps' books; their overdue and due leads group under their names.
  const groups = page.getByTestId('rep-group');
  await expect(groups.first()).toBeVisible();
  const headings = (await groups.locator('.rep-name').allTextContents()).join(' | ');
  expect(headings).toMatch(/李明 Li Ming|Sarah Chen 陈莎/);
  // Every row can be logged from here (the manager logs for the rep's lead like the rep).
  const firstRow = groups.first().getByTestId('lead-row').first();
  await expect(firstRow.getByTestId('row-log')).toHaveAttribute('href', /\/new\/visit\?lead=.+&return=today/);
  const audit = new Audit('en');
  await audit.check(page, "manager's Today");
  audit.expectClean();
  await context.close();
});

test("the manager sets the team's follow-up rhythm; a rep's quick log proposes it", async ({ browser }) => {
  const boss = await device(browser, demoLogin('demo.manager'));
  const setRhythm = async (days: string) => {
    await boss.page.getByTestId('nav-settings').click();
    await boss.page.getByTestId('follow_up_a').fill(days);
    await boss.page.getByTestId('save-rhythm').click();
    await expect(boss.page.getByTestId('toast')).toBeVisible();
    await syncNow(boss.page);
  };
  try {
    // An interval out of bounds is refused in words, nothing saved.
    await boss.page.getByTestId('nav-settings').click();
    await boss.page.getByTestId('follow_up_a').fill('0');
    await boss.page.getByTestId('save-rhythm').click();
    await expect(boss.page.getByTestId('error-follow_up_a')).toHaveText('A follow-up interval is 1 to 366 days.');
    const audit = new Audit('en');
    await audit.check(boss.page, 'Settings: follow-up rhythm (invalid)');
    audit.expectClean();
    await setRhythm('2');

    // A rep of the team: the rhythm arrives with the first sync and drives the quick log.
    const rep = await device(browser, demoLogin('demo.rep1'), phone);
    await rep.page.getByTestId('nav-settings').click();
    await expect(rep.page.getByTestId('follow-up-rhythm')).toContainText('2 days');
    await expect(rep.page.getByTestId('rhythm-form')).toHaveCount(0);
    const today = await localDay(rep.page, 0);
    const name = `Rhythm Rita ${Date.now().toString(36)}`;
    const id = await newLead(rep.page, { name, grade: 'a', followUp: today });
    await rep.page.goto(`/new/visit?lead=${id}`);
    await expect(rep.page.getByTestId('follow-up-due')).toBeVisible();
    await expect(rep.page.locator('#v-next_follow_up')).toHaveValue(await localDay(rep.page, 2));
    await rep.context.close();
  } finally {
    await setRhythm('3');
    await boss.context.close();
  }
});
