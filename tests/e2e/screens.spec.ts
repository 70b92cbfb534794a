// Screenshot tests (issue 12): Today, Leads, a lead and the quick log at phone and laptop
// sizes, light and dark, in Chinese and English, compared with the references committed
// beside this file (screens.spec.ts-snapshots/) with a small tolerance, so a layout
// regression fails CI. The clock is fixed and the book is made the same way each time, so
// only the layout can differ; what changes by itself (the sync pill's time, a toast) is
// masked. Chinese renders with Noto Sans CJK (Debian's fonts-noto-cjk, which `cargo xtask
// test` installs).
//
// After an intended change of the look: `cargo xtask e2e --grep screens` fails and writes the
// new pictures under target/e2e-results; look at them, then update the references with
// FIELDBOOK_UPDATE_SCREENS=1 cargo xtask e2e --grep screens.
import { Page } from '@playwright/test';
import { laptop, phone } from './audit';
import { device, expect, poolLogin, test } from './fixtures';

/// Monday 30 November 2026, 09:30 in Shanghai.
const NOW = new Date('2026-11-30T09:30:00+08:00');

interface Lead {
  name: string;
  company: string;
  phones: string;
  grade: string;
  stage: string;
  followUp: string;
}

const BOOK: Record<'en' | 'zh', Lead[]> = {
  en: [
    { name: 'Maria Rossi', company: 'Rossi Tools', phones: '+39 02 1234 5678', grade: 'a', stage: 'negotiation', followUp: '2026-11-27' },
    { name: 'James Carter', company: 'Carter Logistics', phones: '13800138000', grade: 'b', stage: 'needs_analysis', followUp: '2026-11-30' },
    { name: 'Aiko Tanaka', company: 'Tanaka Foods', phones: '13912345678', grade: 'c', stage: 'prospecting', followUp: '2026-12-03' },
  ],
  zh: [
    { name: '王小明', company: '华东机械', phones: '138 0013 8000', grade: 'a', stage: 'negotiation', followUp: '2026-11-27' },
    { name: '陈静', company: '南方贸易有限公司', phones: '021-6555 0100', grade: 'b', stage: 'needs_analysis', followUp: '2026-11-30' },
    { name: '李娜', company: '明远科技', phones: '13912345678', grade: 'c', stage: 'prospecting', followUp: '2026-12-03' },
  ],
};

async function addLead(page: Page, lead: Lead) {
  await page.goto('/new/lead');
  await page.locator('#f-name').fill(lead.name);
  await page.locator('#f-company').fill(lead.company);
  await page.locator('#f-phones').fill(lead.phones);
  await page.locator('#f-grade').selectOption(lead.grade);
  await page.locator('#f-stage').selectOption(lead.stage);
  await page.locator('#f-next_follow_up').fill(lead.followUp);
  await page.getByTestId('save').click();
  await expect(page.getByTestId('lead-name')).toHaveText(lead.name);
}

/// Compares the page with its reference: the sync pill and toasts masked, animations off.
async function shot(page: Page, name: string) {
  await expect(page).toHaveScreenshot(`${name}.png`, {
    fullPage: false,
    animations: 'disabled',
    caret: 'hide',
    mask: [page.getByTestId('sync-status'), page.getByTestId('toast')],
    maxDiffPixelRatio: 0.01,
  });
}

for (const lang of ['zh', 'en'] as const) {
  for (const [size, options] of [
    ['phone', phone],
    ['laptop', laptop],
  ] as const) {
    test(`screens: ${size}, ${lang}, light and dark`, async ({ browser }) => {
      // Three leads, a visit and eight pictures compared.
      test.setTimeout(120_000);
      const { context, page } = await device(browser, poolLogin(), {
        ...options,
        locale: lang === 'zh' ? 'zh-CN' : 'en-US',
      });
      await page.clock.setFixedTime(NOW);
      await page.reload();
      await expect(page.getByTestId('nav-today')).toBeVisible();
      for (const lead of BOOK[lang]) await addLead(page, lead);
      // One visit on the first lead, at a fixed time of the fixed day.
      await page.goto(`/leads`);
      await page.getByTestId('lead-row').filter({ hasText: BOOK[lang][0].name }).click();
      const detail = page.url();
      await page.getByTestId('log-visit').click();
      await page.locator('#v-notes').fill(lang === 'zh' ? '客户要求下周前报价，关注售后服务。' : 'Wants a quote before next week; asked about service.');
      await page.getByTestId('save').click();
      await expect(page.getByTestId('timeline-visit')).toHaveCount(1);

      for (const scheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme: scheme });
        await page.getByTestId('nav-today').click();
        await expect(page.getByTestId('today-visits')).toBeVisible();
        await shot(page, `today-${size}-${lang}-${scheme}`);
        await page.getByTestId('nav-leads').click();
        await expect(page.getByTestId('lead-row')).toHaveCount(3);
        await shot(page, `leads-${size}-${lang}-${scheme}`);
        await page.goto(detail);
        await expect(page.getByTestId('timeline-visit')).toHaveCount(1);
        await shot(page, `lead-${size}-${lang}-${scheme}`);
        await page.getByTestId('log-visit').click();
        await expect(page.getByTestId('visit-form')).toBeVisible();
        await page.locator('#v-notes').blur();
        await shot(page, `quick-log-${size}-${lang}-${scheme}`);
      }
      await context.close();
    });
  }
}
