// Targets, the pipeline and reports (issue 14), end to end on the release build:
// - a manager sets a monthly target on /targets; the rep's Today shows its ring, and with the
//   sync server stopped, a won deal saved on the rep's phone moves the ring at once;
// - a stage change made in the lead form, in the pipeline's stage menu and by dragging a card
//   shows on the lead's timeline (who, when, from, to, why) and reaches another device;
// - the reports render in Chinese and English, and their CSV downloads as a file Excel opens
//   (UTF-8 with a byte order mark, CRLF, amounts as plain numbers);
// - axe on the new screens, in both languages and colour schemes, as the accessibility test
//   does for the others.
import { readFileSync } from 'node:fs';
import { Page } from '@playwright/test';
import { Audit, laptop, phone } from './audit';
import { createLead, demoLogin, device, expect, poolLogin, signIn, syncNow, test } from './fixtures';
import { env, Field } from './own-server';

/// Adds a deal to the open lead through its form (amount as typed, today, won).
async function addDeal(page: Page, product: string, amount: string) {
  await page.getByTestId('add-deal').click();
  await expect(page.getByTestId('deal-form')).toBeVisible();
  await page.locator('#d-product').fill(product);
  await page.locator('#d-amount').fill(amount);
  await page.getByTestId('save').click();
  await expect(page.getByTestId('lead-detail')).toBeVisible();
}

test('a target the manager sets moves on the rep’s Today the moment a won deal is saved, server stopped', async ({
  browser,
}) => {
  test.setTimeout(120_000);
  const field = await Field.start(env('FIELDBOOK_DIST'));
  try {
    const options = { baseURL: field.server.url, locale: 'en-US', timezoneId: 'Asia/Shanghai' };
    const bossContext = await browser.newContext(options);
    const boss = await bossContext.newPage();
    await signIn(boss, field.server.login('demo.manager'));
    // No target yet: Today offers to set them.
    await boss.getByTestId('set-targets').click();
    await expect(boss.getByTestId('targets')).toBeVisible();
    await expect(boss.getByTestId('period-name')).not.toBeEmpty();
    await boss.getByTestId('target-team').fill('20000');
    await boss.getByLabel(/Li Ming/).fill('10000');
    await boss.getByTestId('save-targets').click();
    await expect(boss.getByTestId('toast')).toContainText('Saved');
    await syncNow(boss);
    // The manager's own Today shows the team's ring.
    await boss.getByTestId('nav-today').click();
    await expect(boss.getByTestId('ring-month')).toBeVisible();

    const repContext = await browser.newContext({ ...options, ...phone });
    const rep = await repContext.newPage();
    await signIn(rep, field.server.login('demo.rep1'));
    const ring = rep.getByTestId('ring-month');
    await expect(ring).toBeVisible();
    await expect(ring.getByTestId('ring-figures')).toContainText('10,000');
    const before = Number(await ring.getAttribute('data-percent'));
    await createLead(rep, 'Ring Test Buyer', 'Ring Test Co');
    await syncNow(rep);

    // The server goes away; the deal is saved on the phone alone.
    await field.server.stop();
    await addDeal(rep, 'Pumps', '5000');
    await rep.getByTestId('nav-today').click();
    // ¥5,000 of ¥10,000: fifty points more, computed on the device.
    await expect(rep.getByTestId('ring-month')).toHaveAttribute('data-percent', String(before + 50));
    await expect(rep.getByTestId('sync-status')).toHaveAttribute('data-state', /offline|unreachable|waiting/);
    // The rep sees their own target and the team's (offline too).
    await rep.getByTestId('nav-reports').click();
    await expect(rep.getByTestId('targets-table')).toContainText('10,000');
    await expect(rep.getByTestId('team-targets-table')).toContainText('20,000');

    await bossContext.close();
    await repContext.close();
  } finally {
    await field.dispose();
  }
});

test('every stage change shows on the lead’s timeline, from the form, the stage menu and a drag', async ({
  page,
  user,
  browser,
}) => {
  await page.setViewportSize(laptop.viewport);
  await createLead(page, 'Stage Mover', 'Mover Ltd');
  // The lead form.
  await page.getByTestId('edit-lead').click();
  await page.locator('#f-stage').selectOption('negotiation');
  await page.getByTestId('save').click();
  const stages = page.getByTestId('timeline-stage');
  await expect(stages).toHaveCount(1);
  await expect(stages.first().getByTestId('stage-move')).toContainText('Prospecting');
  await expect(stages.first().getByTestId('stage-move')).toContainText('Price negotiation');
  await expect(stages.first().getByTestId('stage-by')).toHaveText('By me');

  // The pipeline: the stage menu (the keyboard's way), then a drag to Lost, which asks why.
  await page.getByTestId('nav-reports').click();
  await page.getByTestId('open-pipeline').click();
  const card = (stage: string) =>
    page.getByTestId(`column-${stage}`).getByTestId('card').filter({ hasText: 'Stage Mover' });
  await expect(card('negotiation')).toBeVisible();
  await expect(page.getByTestId('column-negotiation').getByTestId('column-count')).toHaveText('1');
  await card('negotiation').getByTestId('stage-menu').selectOption('presentation');
  await expect(card('presentation')).toBeVisible();
  await expect(page.getByTestId('toast')).toContainText('Presentation');
  await card('presentation').dragTo(page.getByTestId('column-lost'));
  const sheet = page.getByTestId('reason-sheet');
  await expect(sheet).toBeVisible();
  await sheet.getByTestId('stage-reason').selectOption('competitor');
  await sheet.getByTestId('reason-save').click();
  await expect(sheet).toBeHidden();
  await expect(card('lost')).toBeVisible();
  await expect(card('presentation')).toHaveCount(0);

  await page.getByTestId('nav-leads').click();
  await page.getByTestId('lead-row').filter({ hasText: 'Stage Mover' }).click();
  await expect(stages).toHaveCount(3);
  // Newest first: the loss, with its reason.
  await expect(stages.first().getByTestId('stage-move')).toContainText('Presentation');
  await expect(stages.first().getByTestId('stage-move')).toContainText('Lost');
  await expect(stages.first()).toContainText('Competitor');

  // They are records like any other: another device of the same person gets them.
  await syncNow(page);
  const other = await device(browser, user);
  await other.page.getByTestId('nav-leads').click();
  await other.page.getByTestId('lead-row').filter({ hasText: 'Stage Mover' }).click();
  await expect(other.page.getByTestId('timeline-stage')).toHaveCount(3);
  await expect(other.page.getByTestId('timeline-stage').first()).toContainText('Competitor');
  await other.context.close();
});

const LANGUAGES = [
  { name: 'zh-CN', locale: 'zh-CN', title: '业绩', targets: '目标完成情况', amount: '成交金额' },
  { name: 'en', locale: 'en-US', title: 'Reports', targets: 'Targets and actuals', amount: 'Deal amount' },
] as const;

for (const language of LANGUAGES) {
  test(`reports render in ${language.name} and download as a CSV Excel opens`, async ({ browser }) => {
    const { context, page } = await device(browser, poolLogin(), { locale: language.locale, ...phone });
    await createLead(page, 'Report Buyer', 'Report Co');
    await addDeal(page, 'Valves', '1234.5');
    await page.getByTestId('nav-reports').click();
    await expect(page.locator('main h1')).toHaveText(language.title);
    for (const section of ['targets', 'funnel', 'weeks', 'sources', 'outcomes']) {
      await expect(page.getByTestId(`report-${section}`)).toBeVisible();
    }
    // The deal is this month's: the actual, the source channel and the funnel count it.
    const targets = page.getByTestId('targets-table');
    await expect(targets).toContainText(language.amount);
    await expect(targets).toContainText('1,234.5');
    await expect(page.getByTestId('sources-table')).toContainText('1,234.5');
    await expect(page.getByTestId('report-funnel').locator('.bar-row').first()).toContainText('1');

    // A quarter, then back: the period picker.
    await page.getByTestId('period-quarter').click();
    await expect(page.getByTestId('period-quarter')).toHaveAttribute('aria-pressed', 'true');
    await expect(targets).toContainText('1,234.5');
    await page.getByTestId('period-prev').click();
    await expect(targets).not.toContainText('1,234.5');
    await page.getByTestId('period-next').click();
    await expect(targets).toContainText('1,234.5');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('reports-csv').click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/\.csv$/);
    const bytes = readFileSync(await download.path());
    // A byte order mark, or Excel reads UTF-8 Chinese as mojibake; CRLF line ends.
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.toString('utf8');
    expect(text).toContain('\r\n');
    expect(text).toContain(language.targets);
    // Amounts as plain numbers, which Excel reads as numbers.
    expect(text).toMatch(new RegExp(`${language.amount},[^\\r]*1234\\.50`));
    await context.close();
  });
}

for (const language of LANGUAGES) {
  test(`the target, report and pipeline screens pass axe in ${language.name}`, async ({ browser }) => {
    const audit = new Audit(language.locale === 'en-US' ? 'en' : 'zh-CN');
    const rep = await device(browser, poolLogin(), { locale: language.locale, ...phone });
    await createLead(rep.page, 'Axe Buyer', 'Axe Co');
    await addDeal(rep.page, 'Gauges', '800');
    await rep.page.getByTestId('nav-reports').click();
    await expect(rep.page.getByTestId('report-targets')).toBeVisible();
    await audit.check(rep.page, 'reports (rep)');
    await rep.page.getByTestId('open-pipeline').click();
    await expect(rep.page.getByTestId('board')).toBeVisible();
    await audit.check(rep.page, 'pipeline (phone)');
    await rep.page
      .getByTestId('card')
      .filter({ hasText: 'Axe Buyer' })
      .getByTestId('stage-menu')
      .selectOption('won');
    await expect(rep.page.getByTestId('reason-sheet')).toBeVisible();
    await audit.check(rep.page, 'pipeline, why a sale was won');
    await rep.page.keyboard.press('Escape');
    await expect(rep.page.getByTestId('reason-sheet')).toBeHidden();
    await rep.page.goto('/targets');
    await expect(rep.page.getByTestId('managers-only')).toBeVisible();
    await rep.context.close();

    // The demo manager's screens, read only (other tests read the demo team's targets).
    const boss = await device(browser, demoLogin('demo.manager'), { locale: language.locale, ...laptop });
    await boss.page.getByTestId('nav-reports').click();
    await expect(boss.page.getByTestId('report-leaderboard')).toBeVisible();
    await audit.check(boss.page, 'reports (manager, team)');
    await boss.page.getByTestId('drill-down').first().click();
    await expect(boss.page.getByTestId('report-week')).toBeVisible();
    await audit.check(boss.page, 'reports (manager, one rep and their week)');
    await boss.page.getByTestId('open-targets').click();
    await expect(boss.page.getByTestId('targets')).toBeVisible();
    await boss.page.getByTestId('target-team').fill('not a number');
    await boss.page.getByTestId('split').click();
    await audit.check(boss.page, 'targets (manager, a bad figure)');
    await boss.page.getByTestId('nav-reports').click();
    await boss.page.getByTestId('open-pipeline').click();
    await expect(boss.page.getByTestId('board')).toBeVisible();
    await audit.check(boss.page, 'pipeline (laptop board)');
    await boss.context.close();
  });
}
