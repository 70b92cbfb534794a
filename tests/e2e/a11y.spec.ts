// Accessibility end to end, against the release build served by the real sync server:
// - axe-core on every screen (and its error, empty and notice states), in zh-CN and English,
//   in the light and the dark colour scheme: no violation of serious or critical impact;
// - on a phone, every control a finger can hit is at least 44 × 44 CSS px;
// - on a laptop, the keyboard alone reaches the forms and saves a lead, and whatever has the
//   focus shows a visible focus indicator.
import { BrowserContext, Page } from '@playwright/test';
import { Audit, laptop, phone } from './audit';
import {
  createLead,
  demoLogin,
  device,
  editField,
  expect,
  moreDetails,
  openAbout,
  openLead,
  openSyncPanel,
  pickNewLead,
  syncNow,
  test,
  trashFromMenu,
} from './fixtures';

const LANGUAGES = [
  { name: 'zh-CN', locale: 'zh-CN', lang: 'zh-CN' },
  { name: 'en', locale: 'en-US', lang: 'en' },
] as const;

/// Waits until the page shows a screen: its heading, and the text it should have.
async function screen(page: Page, heading?: string | RegExp) {
  const h1 = page.locator('main h1');
  await expect(h1).toBeVisible();
  if (heading) await expect(h1).toHaveText(heading);
}

for (const language of LANGUAGES) {
  test.describe(`accessibility in ${language.name}`, () => {
    test.use({ locale: language.locale, timezoneId: 'Asia/Shanghai', ...phone });

    test('sign-in screens pass axe and have large targets', async ({ browser }) => {
      const audit = new Audit(language.lang);
      const context = await browser.newContext({ locale: language.locale, ...phone });
      const page = await context.newPage();
      await page.goto('/');
      await expect(page.getByTestId('sign-in')).toBeVisible();
      await audit.check(page, 'sign-in (first start)');

      await page.getByTestId('login-submit').click();
      await expect(page.getByTestId('login-error')).toBeVisible();
      await audit.check(page, 'sign-in (nothing typed)');

      await page.getByTestId('login-name').fill('nobody');
      await page.getByTestId('login-password').fill('wrong-password');
      await page.getByTestId('login-submit').click();
      await expect(page.getByTestId('login-error')).not.toHaveText(/^$/);
      await audit.check(page, 'sign-in (refused)');
      // The password shown as typed: a pressed toggle inside the field.
      await page.getByTestId('show-password').click();
      await expect(page.getByTestId('show-password')).toHaveAttribute('aria-pressed', 'true');
      await expect(page.getByTestId('login-password')).toHaveAttribute('type', 'text');
      await audit.check(page, 'sign-in (password shown)');
      await context.close();
      audit.expectClean();
    });

    test("a manager's lead screen with the hand-over passes axe and has large targets", async ({ browser }) => {
      const audit = new Audit(language.lang);
      const { context, page } = await device(browser, demoLogin('demo.manager'), {
        locale: language.locale,
        timezoneId: 'Asia/Shanghai',
        ...phone,
      });
      await syncNow(page);
      await openLead(page, '陈伟');
      await expect(page.getByTestId('owner-name')).toHaveText('李明 Li Ming');
      await expect(page.getByTestId('reassign-to')).toBeVisible();
      await audit.check(page, 'lead detail (manager: owner and hand-over)');
      await context.close();
      audit.expectClean();
    });

    test('every screen of a rep with a full book passes axe and has large targets', async ({ browser }) => {
      test.setTimeout(240_000);
      const audit = new Audit(language.lang);
      const { context, page } = await device(browser, demoLogin('demo.rep1'), {
        locale: language.locale,
        timezoneId: 'Asia/Shanghai',
        ...phone,
      });
      await syncNow(page);

      // Today: overdue and due follow-ups from the demo book.
      await page.getByTestId('nav-today').click();
      await expect(page.getByTestId('overdue-list')).toBeVisible();
      await expect(page.getByTestId('due-list')).toBeVisible();
      await audit.check(page, 'today');

      // Leads: the list, then searched and filtered, then with nothing matching.
      await page.getByTestId('nav-leads').click();
      await expect(page.getByTestId('lead-row').first()).toBeVisible();
      await audit.check(page, 'leads');
      // A chip's bottom sheet, open, then a value chosen in it.
      await page.getByTestId('filter-grade').click();
      await expect(page.getByTestId('filter-sheet')).toBeVisible();
      await audit.check(page, 'leads (filter sheet open)');
      await page.getByTestId('filter-sheet').locator('[data-testid="filter-option"][data-value="a"]').click();
      await expect(page.getByTestId('filter-sheet')).toBeHidden();
      await expect(page.getByTestId('filter-count')).toHaveText('1');
      await page.getByTestId('lead-search').fill('wjg');
      await expect(page.getByTestId('lead-row')).toHaveCount(1);
      await audit.check(page, 'leads (search and filter)');
      await page.getByTestId('lead-search').fill('no such lead at all');
      await expect(page.getByTestId('lead-row')).toHaveCount(0);
      await audit.check(page, 'leads (no match)');
      await page.getByTestId('lead-search').fill('');
      await page.getByTestId('filter-clear').click();
      await expect(page.getByTestId('filter-count')).toHaveCount(0);

      // A lead with visits and a deal, and its forms.
      await openLead(page, '陈伟');
      await expect(page.getByTestId('timeline-visit')).toHaveCount(1);
      await expect(page.getByTestId('timeline-deal')).toHaveCount(1);
      await audit.check(page, 'lead detail (visits and a deal)');
      // Back from a call made from the lead: the offer to log it (the dialler is kept out).
      await page.evaluate(() =>
        document.addEventListener(
          'click',
          (event) => {
            if ((event.target as Element).closest('a[href^="tel:"]')) event.preventDefault();
          },
          true,
        ),
      );
      await page.getByTestId('contact-call').first().click();
      await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange', { bubbles: true })));
      await expect(page.getByTestId('call-offer')).toBeVisible();
      await audit.check(page, 'lead detail (log this call?)');
      await page.getByTestId('call-offer-dismiss').click();
      await expect(page.getByTestId('call-offer')).toHaveCount(0);
      // Its "…" menu: the focus goes in, Escape closes it and gives the focus back.
      await page.getByTestId('more-menu').click();
      await expect(page.getByTestId('delete-lead')).toBeFocused();
      await expect(page.getByTestId('more-menu')).toHaveAttribute('aria-expanded', 'true');
      await audit.check(page, 'lead detail ("…" menu open)');
      await page.keyboard.press('Escape');
      await expect(page.getByTestId('delete-lead')).toBeHidden();
      await expect(page.getByTestId('more-menu')).toBeFocused();
      // Move to trash asks first, with the focus on the safe answer.
      await page.getByTestId('more-menu').click();
      await page.getByTestId('delete-lead').click();
      await expect(page.getByTestId('cancel-delete')).toBeFocused();
      await audit.check(page, 'lead detail (move to trash? asked)');
      await page.keyboard.press('Escape');
      await expect(page.getByTestId('confirm-box')).toBeHidden();
      await expect(page.getByTestId('more-menu')).toBeFocused();

      await page.getByTestId('edit-lead').click();
      await expect(page.getByTestId('lead-form')).toBeVisible();
      await audit.check(page, 'edit lead');
      await page.locator('#f-name').fill('');
      await page.locator('#f-email').fill('not an email');
      await page.getByTestId('save').click();
      await expect(page.getByTestId('error-name')).toBeVisible();
      await expect(page.getByTestId('error-email')).toBeVisible();
      await audit.check(page, 'edit lead (invalid)');
      await page.goBack();
      await expect(page.getByTestId('lead-name')).toHaveText('陈伟');

      await page.getByTestId('timeline-visit').getByRole('link').first().click();
      await expect(page.getByTestId('visit-form')).toBeVisible();
      await audit.check(page, 'edit visit');
      await page.goBack();

      await page.getByTestId('timeline-deal').getByRole('link').first().click();
      await expect(page.getByTestId('deal-form')).toBeVisible();
      await audit.check(page, 'edit deal');
      await page.goBack();

      await page.getByTestId('add-deal').click();
      await expect(page.getByTestId('deal-form')).toBeVisible();
      await audit.check(page, 'new deal');
      await page.locator('#d-amount').fill('-5');
      await page.locator('#d-closed_on').fill('');
      await page.getByTestId('save').click();
      await expect(page.getByTestId('error-amount')).toBeVisible();
      await audit.check(page, 'new deal (invalid)');

      // New lead from Today's quick action, saved without a name and with a short phone.
      await page.getByTestId('nav-today').click();
      await page.getByTestId('quick-lead').click();
      await expect(page.getByTestId('lead-form')).toBeVisible();
      await audit.check(page, 'new lead');
      await page.locator('#f-phones').fill('12');
      await page.getByTestId('save').click();
      await expect(page.getByTestId('error-name')).toBeVisible();
      await expect(page.getByTestId('form-error')).toBeVisible();
      await audit.check(page, 'new lead (invalid)');

      // Log a visit from the tab bar, creating the lead inline: saved with the new lead's name
      // left empty and a zero duration.
      await page.getByTestId('nav-visit').click();
      await expect(page.getByTestId('visit-form')).toBeVisible();
      await audit.check(page, 'new visit');
      await pickNewLead(page, '#v-lead_id');
      await expect(page.getByTestId('inline-lead')).toBeVisible();
      await moreDetails(page);
      await page.locator('#v-duration_min').fill('0');
      await page.getByTestId('save').click();
      await expect(page.getByTestId('form-error')).toBeVisible();
      await expect(page.getByTestId('error-duration_min')).toBeVisible();
      await audit.check(page, 'new visit (inline lead, invalid)');

      // Settings, and the sign-out confirmation.
      await page.getByTestId('nav-settings').click();
      await expect(page.getByTestId('account-name')).toBeVisible();
      await audit.check(page, 'settings');
      await openAbout(page);
      await expect(page.getByTestId('device-id')).toBeVisible();
      await audit.check(page, 'settings (about open)');
      // The dark theme chosen over a light system.
      await page.getByTestId('theme-dark').check();
      await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
      await audit.check(page, 'settings (dark theme)');
      await page.getByTestId('theme-system').check();
      await expect(page.locator('html')).not.toHaveAttribute('data-theme', /./);
      await page.getByTestId('sign-out').click();
      await expect(page.getByTestId('sign-out-confirm')).toBeVisible();
      // The question takes the focus on its safe answer, and gives it back when dismissed.
      await expect(page.getByTestId('sign-out-cancel')).toBeFocused();
      await audit.check(page, 'settings (sign-out confirmation)');
      await page.getByTestId('sign-out-cancel').press('Enter');
      await expect(page.getByTestId('sign-out')).toBeFocused();

      // An address the app does not know.
      await page.goto('/no/such/page');
      await screen(page);
      await expect(page.getByTestId('not-found')).toBeVisible();
      await audit.check(page, 'not found');
      await page.goto('/leads/00000000-0000-7000-8000-000000000000');
      await expect(page.getByTestId('not-found')).toBeVisible();
      await audit.check(page, 'lead not found');

      // A laptop: side navigation, the list and the open lead side by side.
      await page.setViewportSize(laptop.viewport);
      await openLead(page, '陈伟');
      await expect(page.getByTestId('lead-list')).toBeVisible();
      await audit.check(page, 'leads and lead side by side (laptop)');
      // On a laptop a chip's values open in a panel, not a sheet from the bottom.
      await page.getByTestId('lead-sort').click();
      await expect(page.getByTestId('filter-sheet')).toBeVisible();
      await audit.check(page, 'leads (sort panel, laptop)');
      await page.keyboard.press('Escape');
      await expect(page.getByTestId('lead-sort')).toBeFocused();
      await page.setViewportSize(phone.viewport);

      // The session ends: the status bar asks to sign in again, and the sign-in screen does.
      await context.clearCookies();
      await page.getByTestId('nav-today').click();
      await openSyncPanel(page);
      await audit.check(page, 'today (sync panel open)');
      await page.getByTestId('sync-now').click();
      await expect(page.getByTestId('sync-status')).toHaveAttribute('data-state', 'signed-out');
      await audit.check(page, 'today (session ended)');
      await page.getByTestId('sign-in-again').click();
      await expect(page.getByTestId('sign-in')).toBeVisible();
      await audit.check(page, 'sign in again');

      await context.close();
      audit.expectClean();
    });

    test('conflict and refusal notices, the trash and a toast pass axe', async ({ page, user, browser }) => {
      test.setTimeout(180_000);
      const audit = new Audit(language.lang);
      const suffix = Date.now().toString(36);
      const name = `Notice ${suffix}`;
      await createLead(page, name, 'First');
      await syncNow(page);

      // The same field edited on two devices while offline: a conflict on the record.
      const other = await device(browser, user, { locale: language.locale, ...phone });
      await syncNow(other.page);
      const both: { context: BrowserContext; page: Page }[] = [{ context: page.context(), page }, other];
      for (const d of both) await d.context.setOffline(true);
      await openLead(page, name);
      await editField(page, 'company', 'From the phone');
      await openLead(other.page, name);
      await editField(other.page, 'company', 'From the laptop');
      for (const d of both) await d.context.setOffline(false);
      for (const p of [page, other.page, page]) await syncNow(p);
      await other.context.close();
      await openLead(page, name);
      await expect(page.getByTestId('conflict')).toHaveCount(1);

      // A change the server refuses: its answer is rewritten to refuse this push, which is
      // how a reassigned or invalid record comes back.
      await page.route('**/api/sync/push', async (route) => {
        const response = await route.fetch();
        const body = await response.json();
        const sent = route.request().postDataJSON();
        body.rejected = sent.mutations.map((m: { seq: number; record_id: string }) => ({
          seq: m.seq,
          record_id: m.record_id,
          reason: { kind: 'invalid', field: 'phones', key: 'error.phone' },
        }));
        await route.fulfill({ response, json: body });
      });
      await page.getByTestId('edit-lead').click();
      await page.locator('#f-phones').fill('13800138000');
      await page.getByTestId('save').click();
      await expect(page.getByTestId('lead-detail')).toBeVisible();
      await syncNow(page);
      await page.unroute('**/api/sync/push');
      await expect(page.getByTestId('rejection')).toHaveCount(1);
      await page.getByTestId('rejection').locator('summary').click();
      await audit.check(page, 'lead detail (conflict and refusal)');

      // A visit logged today shows on Today.
      await page.getByTestId('log-visit').click();
      await page.getByTestId('save').click();
      await expect(page.getByTestId('timeline-visit')).toHaveCount(1);
      await page.getByTestId('nav-today').click();
      await expect(page.getByTestId('today-visits')).toBeVisible();
      await audit.check(page, 'today (a visit logged)');

      // A lead moved to the trash: its note, the toast with undo, and Settings' trash.
      await openLead(page, name);
      await trashFromMenu(page, 'delete-lead');
      await expect(page.getByTestId('toast')).toBeVisible();
      await expect(page.getByTestId('restore-lead')).toBeFocused();
      await audit.check(page, 'lead detail (in the trash, toast)');
      await page.getByTestId('nav-settings').click();
      await expect(page.getByTestId('trash')).toBeVisible();
      await audit.check(page, 'settings (trash)');
      // Restoring removes the row and its button: the focus stays in the trash section.
      await page.getByTestId('trash').getByRole('button').first().click();
      await expect(page.locator('#trash-title')).toBeFocused();
      audit.expectClean();
    });

    test('every training screen of a rep and a manager passes axe and has large targets', async ({ browser }) => {
      test.setTimeout(240_000);
      const audit = new Audit(language.lang);
      const options = { locale: language.locale, timezoneId: 'Asia/Shanghai', ...phone };
      const rep = await device(browser, demoLogin('demo.rep2'), options);
      const page = rep.page;
      await syncNow(page);

      // The library, searched to nothing, and Today's training.
      await page.getByTestId('nav-training').click();
      await expect(page.getByTestId('item-row').first()).toBeVisible();
      await audit.check(page, 'training library');
      await page.getByTestId('training-search').fill('no such material anywhere');
      await expect(page.getByTestId('training-empty')).toBeVisible();
      await audit.check(page, 'training library (no match)');
      await page.getByTestId('training-search').fill('');
      await page.getByTestId('nav-today').click();
      await expect(page.getByTestId('today-training')).toBeVisible();
      await audit.check(page, 'today (training to do)');

      // A checklist, a quiz and its result, the rep's archive, the session.
      await page.getByTestId('nav-training').click();
      await page.getByTestId('filter-item-kind').selectOption('checklist');
      await page.getByTestId('item-row').first().click();
      await expect(page.getByTestId('md-check').first()).toBeVisible();
      await audit.check(page, 'training reader (checklist)');
      await page.getByTestId('nav-training').click();
      await page.getByTestId('filter-item-kind').selectOption('quiz');
      await page.getByTestId('item-row').first().click();
      await expect(page.getByTestId('quiz-form')).toBeVisible();
      await audit.check(page, 'training reader (quiz)');
      await page.getByTestId('quiz-submit').click();
      await expect(page.getByTestId('quiz-result')).toBeVisible();
      await audit.check(page, 'training reader (quiz result)');
      await page.getByTestId('nav-training').click();
      await page.getByTestId('open-archive').click();
      await expect(page.getByTestId('person-archive')).toBeVisible();
      await audit.check(page, 'training archive (own)');
      await page.getByTestId('nav-training').click();
      await page.getByTestId('session-row').first().click();
      await expect(page.getByTestId('session-page')).toBeVisible();
      await audit.check(page, 'training session (invited)');
      await rep.context.close();

      // A manager: the editor (empty, refused, with a quiz), the session form and page, the
      // team matrix.
      const boss = await device(browser, demoLogin('demo.manager'), options);
      await syncNow(boss.page);
      await boss.page.getByTestId('nav-training').click();
      await boss.page.getByTestId('new-item').click();
      await expect(boss.page.getByTestId('item-form')).toBeVisible();
      await audit.check(boss.page, 'training editor (new)');
      await boss.page.getByTestId('save-draft').click();
      await expect(boss.page.getByTestId('error-title')).toBeVisible();
      await audit.check(boss.page, 'training editor (invalid)');
      await boss.page.getByTestId('editor-kind').selectOption('quiz');
      if (await boss.page.getByTestId('add-quiz').isVisible()) await boss.page.getByTestId('add-quiz').click();
      await expect(boss.page.getByTestId('question').first()).toBeVisible();
      await boss.page.getByTestId('body-preview').click();
      await audit.check(boss.page, 'training editor (quiz, preview)');
      await boss.page.getByTestId('nav-training').click();
      await boss.page.getByTestId('new-session').click();
      await expect(boss.page.getByTestId('session-form')).toBeVisible();
      await audit.check(boss.page, 'training session form');
      await boss.page.getByTestId('nav-training').click();
      await boss.page.getByTestId('session-row').first().click();
      await expect(boss.page.getByTestId('invitees')).toBeVisible();
      await audit.check(boss.page, 'training session (manager)');
      await boss.page.getByTestId('nav-training').click();
      await boss.page.getByTestId('open-archive').click();
      await expect(boss.page.getByTestId('team-matrix')).toBeVisible();
      await audit.check(boss.page, 'training team matrix');
      await boss.context.close();
      audit.expectClean();
    });
  });
}

/// What shows where the keyboard focus is: the element, and whether it draws a ring.
async function focused(page: Page) {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el || el === document.body) return { name: 'nothing', testid: '', ring: false, visible: false };
    const style = getComputedStyle(el);
    const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
    const shadow = style.boxShadow !== 'none';
    const box = el.getBoundingClientRect();
    return {
      name: `<${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}> ${(el.textContent ?? '').trim().slice(0, 30)} (outline ${style.outlineStyle} ${style.outlineWidth}, shadow ${style.boxShadow})`,
      testid: el.dataset.testid ?? '',
      id: el.id,
      ring: outline || shadow,
      visible: box.width > 0 && box.height > 0,
    };
  });
}

/// Presses Tab until `wanted` says yes about the focused element, checking on the way that
/// every stop is visible and draws a focus ring.
async function tabTo(page: Page, wanted: (f: Awaited<ReturnType<typeof focused>>) => boolean, what: string) {
  for (let step = 0; step < 40; step += 1) {
    await page.keyboard.press('Tab');
    const f = await focused(page);
    expect(f.visible, `${f.name} is focused but not visible`).toBe(true);
    expect(f.ring, `${f.name} is focused without a visible focus indicator`).toBe(true);
    if (wanted(f)) return;
  }
  throw new Error(`Tab never reached ${what}`);
}

test.describe('the keyboard alone, on a laptop', () => {
  test.use({ locale: 'en-US', timezoneId: 'Asia/Shanghai', ...laptop });

  test('reaches New lead from Today, fills and saves a lead, then logs a visit', async ({ page }) => {
    const name = `Keyboard ${Date.now().toString(36)}`;
    // A fresh start leaves the focus at the top of the page.
    await page.goto('/');
    await screen(page);
    // The first stop skips the navigation.
    await page.keyboard.press('Tab');
    const skip = await focused(page);
    expect(skip.testid).toBe('skip-link');
    expect(skip.ring).toBe(true);
    await page.keyboard.press('Enter');
    await expect(page.locator('main h1')).toBeFocused();
    await tabTo(page, (f) => f.testid === 'quick-visit', 'Log a visit');
    await tabTo(page, (f) => f.testid === 'quick-lead', 'New lead');
    await page.keyboard.press('Enter');

    // The new screen's heading takes the focus, so the next Tab is its first field.
    await expect(page.getByTestId('lead-form')).toBeVisible();
    await expect(page.locator('main h1')).toBeFocused();
    await tabTo(page, (f) => f.id === 'f-name', 'the name field');
    await page.keyboard.type(name);
    await tabTo(page, (f) => f.id === 'f-company', 'the company field');
    await page.keyboard.type('Keys Ltd');
    await tabTo(page, (f) => f.id === 'f-grade', 'the grade');
    // A new lead starts as grade C; the arrow keys change a closed select.
    await expect(page.locator('#f-grade')).toHaveValue('c');
    await page.keyboard.press('ArrowUp');
    await expect(page.locator('#f-grade')).toHaveValue('b');
    await tabTo(page, (f) => f.testid === 'save', 'Save');
    await page.keyboard.press('Enter');

    // On a laptop the list stays beside the lead; the lead's heading takes the focus.
    await expect(page.getByTestId('lead-name')).toHaveText(name);
    await expect(page.getByTestId('lead-name')).toBeFocused();
    await expect(page.getByTestId('lead-detail')).toContainText('Keys Ltd');
    await expect(page.locator('.lead-detail .grade')).toHaveText('B');

    // On to a visit for this lead, saved with Enter from a field.
    await tabTo(page, (f) => f.testid === 'log-visit', 'Log a visit');
    await page.keyboard.press('Enter');
    await expect(page.getByTestId('visit-form')).toBeVisible();
    // The quick log is for typing: with the lead chosen, the notes are the first stop.
    await expect(page.locator('#v-notes')).toBeFocused();
    await page.keyboard.type('Typed without a mouse');
    // "More details" opens from the keyboard like any disclosure.
    await tabTo(page, (f) => f.testid === 'more-details-summary', 'More details');
    await page.keyboard.press('Enter');
    await expect(page.getByTestId('more-details')).toHaveAttribute('open', '');
    await tabTo(page, (f) => f.id === 'v-next_step', 'the next step');
    await page.keyboard.type('Send the quote');
    await page.keyboard.press('Enter');
    await expect(page.getByTestId('timeline-visit')).toHaveCount(1);
    await expect(page.getByTestId('timeline')).toContainText('Typed without a mouse');
  });
});
