// Training end to end, against the release build and the real sync server: the library the
// demo seeds (search with pinyin initials, filters, assigned work on Today), the reader with
// "mark as done", the quiz scored on the device with explanations and every attempt kept,
// the evaluation, and the visit's materials on the lead's timeline.
import { readFileSync } from 'node:fs';
import { Browser, Page } from '@playwright/test';
import { demoLogin, device, expect, moreDetails, signIn, syncNow, test } from './fixtures';
import { env, Field } from './own-server';

/// A 1 × 1 PNG: a real image the browser decodes.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

/// Waits until the service worker is active and controls the page (the shell is cached).
async function serviceWorkerReady(page: Page) {
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
}

/// A date and time in China `minutes` from now, as the date and time inputs want them.
function chinaTime(minutes: number): { date: string; time: string } {
  const text = new Date(Date.now() + minutes * 60_000).toLocaleString('sv-SE', { timeZone: 'Asia/Shanghai' });
  return { date: text.slice(0, 10), time: text.slice(11, 16) };
}

/// The demo manager signed in on a laptop of `field`'s server.
async function managerOn(browser: Browser, field: Field) {
  const context = await browser.newContext({
    baseURL: field.server.url,
    locale: 'en-US',
    timezoneId: 'Asia/Shanghai',
  });
  const page = await context.newPage();
  await signIn(page, field.server.login('demo.manager'));
  return { context, page };
}

/// Opens the Training tab and waits for the library.
async function openLibrary(page: Page) {
  await page.getByTestId('nav-training').click();
  await expect(page.getByTestId('training-list')).toBeVisible();
}

test.describe('training', () => {
  test('a rep finds the seeded library, reads an item, marks it done, takes the quiz and rates it', async ({
    browser,
  }) => {
    test.setTimeout(120_000);
    const { context, page } = await device(browser, demoLogin('demo.rep2'));
    await syncNow(page);

    // The assigned quiz and the stages manual show on Today.
    await page.getByTestId('nav-today').click();
    await expect(page.getByTestId('today-training')).toBeVisible();
    await expect(page.getByTestId('today-item').first()).toBeVisible();
    await expect(page.getByTestId('today-session')).toHaveCount(1);

    await openLibrary(page);
    const rows = page.getByTestId('item-row');
    await expect(rows).toHaveCount(10);
    // Every seeded item is on the device with its body: available offline.
    await expect(page.getByTestId('badge-offline')).toHaveCount(10);

    // Pinyin initials of the title find the Chinese item; words find the English one.
    await page.getByTestId('training-search').fill('jgtphs');
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toContainText('价格谈判话术');
    // Words search titles, tags and bodies; a kind narrows them.
    await page.getByTestId('training-search').fill('negotiation');
    await expect.poll(() => rows.count()).toBeGreaterThan(1);
    await page.getByTestId('filter-item-kind').selectOption('script');
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toContainText('Price negotiation script');
    await page.getByTestId('training-search').fill('');
    await page.getByTestId('filter-item-kind').selectOption('checklist');
    await expect(rows).toHaveCount(2);
    await page.getByTestId('filter-item-kind').selectOption('');
    await page.getByTestId('filter-assigned').check();
    await expect.poll(() => rows.count()).toBeLessThan(10);
    const assigned = await rows.count();
    expect(assigned).toBeGreaterThan(0);
    expect(assigned).toBeLessThan(10);

    // The checklist reads as a list of disabled checkboxes; marking it done files it.
    await page.getByTestId('filter-assigned').uncheck();
    await rows.filter({ hasText: 'Visit preparation checklist' }).click();
    await expect(page.getByTestId('item-title')).toHaveText('Visit preparation checklist');
    await expect(page.getByTestId('md-check').first()).toBeVisible();
    await page.getByTestId('mark-done').click();
    await expect(page.getByTestId('done-note')).toBeVisible();
    await page.getByTestId('evaluation-comment').fill('Short and useful before a visit.');
    await page.getByTestId('evaluation-save').click();
    await expect(page.getByRole('alert')).toContainText('Choose a rating first');
    await page.getByTestId('rating-4').check();
    await page.getByTestId('evaluation-save').click();
    await expect(page.getByTestId('toast')).toContainText('Evaluation saved');
    await openLibrary(page);
    await page.getByTestId('filter-not-done').check();
    await expect(rows.filter({ hasText: 'Visit preparation checklist' })).toHaveCount(0);
    await page.getByTestId('filter-not-done').uncheck();
    await expect(
      rows.filter({ hasText: 'Visit preparation checklist' }).getByTestId('badge-done'),
    ).toBeVisible();

    // The English quiz: a first attempt with nothing answered fails and explains every
    // question; a second attempt is kept beside it.
    await rows.filter({ hasText: 'Quiz' }).filter({ hasText: 'price negotiation' }).click();
    const questions = page.getByTestId('question');
    // count() does not wait: the reader must be drawn first (it raced in a full run).
    await expect(questions.first()).toBeVisible();
    const count = await questions.count();
    expect(count).toBeGreaterThanOrEqual(6);
    await page.getByTestId('quiz-submit').click();
    await expect(page.getByTestId('quiz-result')).toHaveAttribute('data-passed', 'false');
    await expect(page.getByTestId('quiz-score')).toContainText('0%');
    await expect(page.getByTestId('quiz-review')).toHaveCount(count);
    await expect(page.locator('[data-testid=quiz-review] .explanation').first()).not.toBeEmpty();
    await page.getByTestId('quiz-retry').click();
    await questions.first().getByTestId('option').first().check();
    await page.getByTestId('quiz-submit').click();
    await expect(page.getByTestId('quiz-result')).toBeVisible();
    await expect(page.getByTestId('quiz-summary')).toContainText('2 attempts');

    // It all reaches the server: another device of the same rep sees the progress.
    await syncNow(page);
    const laptop = await device(browser, demoLogin('demo.rep2'));
    await syncNow(laptop.page);
    await openLibrary(laptop.page);
    await expect(
      laptop.page.getByTestId('item-row').filter({ hasText: 'Visit preparation checklist' }).getByTestId('badge-done'),
    ).toBeVisible();
    await laptop.context.close();
    await context.close();
  });

  test('a visit keeps its photos and lists the materials shown; the lead timeline shows both, on another device too', async ({ browser }) => {
    const { context, page } = await device(browser, demoLogin('demo.rep2'));
    await syncNow(page);
    await page.getByTestId('nav-leads').click();
    await page.getByTestId('lead-row').first().click();
    const name = (await page.getByTestId('lead-name').textContent()) ?? '';
    await page.getByTestId('log-visit').click();
    await expect(page.getByTestId('visit-form')).toBeVisible();
    // Materials shown and photos are among the quick log's "More details".
    await moreDetails(page);
    await page.getByTestId('materials-search').fill('jgtphs');
    await page.getByTestId('material-option').first().check();
    // A photo of the stand, and a PDF the photos refuse.
    await page.getByTestId('add-photos').setInputFiles([
      { name: 'stand.png', mimeType: 'image/png', buffer: PNG },
      { name: 'price-list.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4 fake') },
    ]);
    await expect(page.getByTestId('photo')).toHaveCount(1);
    await expect(page.getByTestId('photo-refused')).toContainText('price-list.pdf');
    await page.locator('#v-notes').fill('Walked through the price script');
    await page.getByTestId('save').click();
    await expect(page.getByTestId('lead-name')).toHaveText(name);
    await expect(page.getByTestId('timeline-materials').first()).toContainText('价格谈判话术');
    const photo = page.getByTestId('visit-photo').first().locator('img');
    await expect(photo).toBeVisible();
    expect(await photo.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(1);
    // The photo's bytes travel in their own request before the push, and another device
    // of the rep fetches them for the timeline.
    await syncNow(page);
    const laptop = await device(browser, demoLogin('demo.rep2'));
    await syncNow(laptop.page);
    await laptop.page.getByTestId('nav-leads').click();
    await laptop.page.getByTestId('lead-row').filter({ hasText: name }).first().click();
    const copy = laptop.page.getByTestId('visit-photo').first().locator('img');
    await expect(copy).toBeVisible();
    expect(await copy.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(1);
    await laptop.context.close();
    await context.close();
  });

  test('a manager publishes an item with an image and a quiz; the rep reads and passes it offline after a cold start; the matrix shows the score', async ({
    browser,
  }) => {
    test.setTimeout(240_000);
    const dist = env('FIELDBOOK_DIST');
    const field = await Field.start(dist);
    try {
      let phone = await field.launch();
      await signIn(phone, field.server.login('demo.rep1'));
      await serviceWorkerReady(phone);

      // The manager writes the item: text, an image, one question, assigned to the team.
      const boss = await managerOn(browser, field);
      const title = `Demo unit check ${Date.now().toString(36)}`;
      await boss.page.goto('/new/training');
      await boss.page.getByTestId('editor-title').fill(title);
      await boss.page.getByTestId('editor-kind').selectOption('quiz');
      await boss.page.getByTestId('editor-body').fill('## Before a demo\n\nCheck the unit works.');
      await boss.page.getByTestId('attach-files').setInputFiles({
        name: 'unit.png',
        mimeType: 'image/png',
        buffer: PNG,
      });
      await expect(boss.page.getByTestId('attachment-row')).toHaveCount(1);
      await expect(boss.page.getByTestId('editor-body')).toHaveValue(/attachment:[0-9a-f]{64}/);
      if (await boss.page.getByTestId('add-quiz').isVisible()) {
        await boss.page.getByTestId('add-quiz').click();
      }
      const question = boss.page.getByTestId('question').first();
      await question.getByTestId('question-prompt').fill('What do you check before a demo?');
      await question.getByTestId('option-text').nth(0).fill('That the unit works');
      await question.getByTestId('option-text').nth(1).fill('Nothing');
      await question.getByTestId('option-right').nth(0).check();
      await question.getByTestId('question-explanation').fill('A demo that fails loses the deal.');
      await boss.page.getByTestId('assign-team').check();
      await boss.page.getByTestId('publish').click();
      await expect(boss.page.getByTestId('item-title')).toHaveText(title);
      await syncNow(boss.page);

      // The rep syncs: the item and its image are on the phone, assigned on Today.
      await syncNow(phone);
      await phone.getByTestId('nav-training').click();
      const row = phone.getByTestId('item-row').filter({ hasText: title });
      await expect(row.getByTestId('badge-offline')).toBeVisible();
      await expect(row.getByTestId('badge-assigned')).toBeVisible();

      // The phone is switched off and the server goes away; the app cold-starts offline.
      await field.closePhone();
      await field.server.stop();
      phone = await field.launch();
      await phone.goto('/');
      await expect(phone.getByTestId('sync-status')).toHaveAttribute('data-state', 'unreachable');
      await expect(phone.getByTestId('today-item').filter({ hasText: title })).toBeVisible();
      await phone.getByTestId('today-item').filter({ hasText: title }).click();
      await expect(phone.getByTestId('item-title')).toHaveText(title);
      const image = phone.locator('.markdown img');
      await expect(image).toBeVisible();
      expect(await image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(1);
      await phone.getByTestId('option').first().check();
      await phone.getByTestId('quiz-submit').click();
      await expect(phone.getByTestId('quiz-result')).toHaveAttribute('data-passed', 'true');
      await expect(phone.getByTestId('quiz-score')).toContainText('100%');
      await expect(phone.locator('[data-testid=quiz-review] .explanation')).toHaveText(
        'A demo that fails loses the deal.',
      );
      await phone.getByTestId('rating-5').check();
      await phone.getByTestId('evaluation-comment').fill('Clear and short.');
      await phone.getByTestId('evaluation-save').click();
      await expect(phone.getByTestId('sync-text')).toContainText('waiting');

      // The server returns: the score reaches the manager's team matrix.
      await field.deploy(dist);
      await syncNow(phone);
      await syncNow(boss.page);
      await boss.page.getByTestId('nav-training').click();
      await boss.page.getByTestId('open-archive').click();
      await expect(boss.page.getByTestId('team-matrix')).toBeVisible();
      const repRow = boss.page.getByTestId('matrix-row').filter({ hasText: 'Li Ming' });
      await expect(repRow).toContainText('100%');
      await expect(repRow).toContainText('passed');
      // The matrix as a CSV file Excel opens in Chinese too: a UTF-8 BOM, the rep's row.
      const [csv] = await Promise.all([
        boss.page.waitForEvent('download'),
        boss.page.getByTestId('matrix-csv').click(),
      ]);
      expect(csv.suggestedFilename()).toMatch(/\.csv$/);
      const text = readFileSync((await csv.path()) ?? '', 'utf8');
      expect(text.charCodeAt(0)).toBe(0xfeff);
      expect(text).toContain(title);
      expect(text).toMatch(/Li Ming[^\r\n]*100%/);
      await repRow.getByTestId('matrix-person').click();
      await expect(boss.page.getByTestId('person-archive')).toBeVisible();
      await expect(boss.page.getByTestId('archive-attempt').first()).toHaveAttribute('data-passed', 'true');
      await boss.context.close();
    } finally {
      await field.dispose();
    }
  });

  test('a session is scheduled, confirmed from Today, attended and evaluated', async ({ browser }) => {
    test.setTimeout(180_000);
    const boss = await device(browser, demoLogin('demo.manager'));
    const rep = await device(browser, demoLogin('demo.rep1'));
    await syncNow(boss.page);
    const title = `Role play ${Date.now().toString(36)}`;
    const start = chinaTime(-60);
    await boss.page.goto('/new/session');
    await boss.page.getByTestId('session-title-input').fill(title);
    await boss.page.getByTestId('session-date').fill(start.date);
    await boss.page.getByTestId('session-time').fill(start.time);
    await boss.page.getByTestId('session-duration').fill('180');
    await boss.page.getByTestId('session-place').fill('3F training room');
    await boss.page.getByTestId('session-method-input').selectOption('role_play');
    await boss.page.getByTestId('invite-team').check();
    await boss.page.getByTestId('save').click();
    await expect(boss.page.getByTestId('session-title')).toHaveText(title);
    const sessionUrl = boss.page.url();
    await syncNow(boss.page);

    // The invited rep sees it on Today and confirms.
    await syncNow(rep.page);
    await rep.page.getByTestId('nav-today').click();
    await rep.page.getByTestId('today-session').filter({ hasText: title }).click();
    await expect(rep.page.getByTestId('session-title')).toHaveText(title);
    await rep.page.getByTestId('confirm-attend').click();
    await expect(rep.page.getByTestId('confirmed-note')).toBeVisible();
    await syncNow(rep.page);

    // The manager sees the confirmation, marks attendance, and ends the session early.
    await syncNow(boss.page);
    await boss.page.goto(sessionUrl);
    const invitee = boss.page.getByTestId('invitee').filter({ hasText: 'Li Ming' });
    await expect(invitee).toHaveAttribute('data-confirmed', 'true');
    await invitee.getByTestId('attended').check();
    await expect(invitee).toHaveAttribute('data-attended', 'true');
    await boss.page.getByTestId('edit-session').click();
    await boss.page.getByTestId('session-duration').fill('30');
    await boss.page.getByTestId('save').click();
    await expect(boss.page.getByTestId('session-title')).toHaveText(title);
    await syncNow(boss.page);

    // After it, the rep fills the 培训评估 questionnaire.
    await syncNow(rep.page);
    await rep.page.reload();
    await expect(rep.page.getByTestId('attended-note')).toBeVisible();
    await rep.page.getByTestId('session-rating-5').check();
    await rep.page.getByTestId('session-usefulness-4').check();
    await rep.page.getByTestId('session-comment').fill('The price role play was the best part.');
    await rep.page.getByTestId('session-evaluation-save').click();
    await expect(rep.page.getByTestId('toast')).toBeVisible();
    await syncNow(rep.page);

    // The manager reads it and writes the 总结复盘 note.
    await syncNow(boss.page);
    await boss.page.reload();
    await expect(boss.page.getByTestId('evaluation')).toContainText('The price role play was the best part.');
    await boss.page.getByTestId('review').fill('Objection handling improved; practise the close next time.');
    await boss.page.getByTestId('review-save').click();
    await expect(boss.page.getByTestId('toast')).toBeVisible();
    await boss.context.close();
    await rep.context.close();
  });
});
