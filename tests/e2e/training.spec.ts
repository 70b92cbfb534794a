// Training end to end, against the release build and the real sync server: the library the
// demo seeds (search with pinyin initials, filters, assigned work on Today), the reader with
// "mark as done", the quiz scored on the device with explanations and every attempt kept,
// the evaluation, and the visit's materials on the lead's timeline.
import { Page } from '@playwright/test';
import { demoLogin, device, expect, syncNow, test } from './fixtures';

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
    expect(await rows.count()).toBeGreaterThan(1);
    await page.getByTestId('filter-item-kind').selectOption('script');
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toContainText('Price negotiation script');
    await page.getByTestId('training-search').fill('');
    await page.getByTestId('filter-item-kind').selectOption('checklist');
    await expect(rows).toHaveCount(2);
    await page.getByTestId('filter-item-kind').selectOption('');
    await page.getByTestId('filter-assigned').check();
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

  test('a visit lists the materials shown, and the lead timeline names them', async ({ browser }) => {
    const { context, page } = await device(browser, demoLogin('demo.rep2'));
    await syncNow(page);
    await page.getByTestId('nav-leads').click();
    await page.getByTestId('lead-row').first().click();
    const name = (await page.getByTestId('lead-name').textContent()) ?? '';
    await page.getByTestId('log-visit').click();
    await expect(page.getByTestId('visit-form')).toBeVisible();
    await page.getByTestId('materials-search').fill('jgtphs');
    await page.getByTestId('material-option').first().check();
    await page.locator('#v-notes').fill('Walked through the price script');
    await page.getByTestId('save').click();
    await expect(page.getByTestId('lead-name')).toHaveText(name);
    await expect(page.getByTestId('timeline-materials').first()).toContainText('价格谈判话术');
    await context.close();
  });
});
