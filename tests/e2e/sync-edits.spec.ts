// Edits that used to be lost, end to end against the real sync server:
// - a form left open while a pull brings someone else's change must not write the old value
//   back (different field: both survive; same field: a conflict both devices show);
// - a day of long visit notes saved offline must reach the server in pushes that fit its
//   limit, instead of one request it refuses for ever;
// - a lead a manager hands to another rep takes its visits and deals along: the new rep's
//   phone gets the whole history, the old rep's phone keeps none of it.
import { expect, Page, test } from '@playwright/test';
import { createLead, demoLogin, device, editField, openLead, poolLogin, syncNow } from './fixtures';

const phoneSize = { viewport: { width: 390, height: 844 }, hasTouch: true };
const laptopSize = { viewport: { width: 1280, height: 800 } };

function subtitle(page: Page) {
  return page.locator('.lead-detail .subtitle');
}

test('a form open while a pull lands keeps the pulled change, and the same field becomes a conflict', async ({
  browser,
}) => {
  const rep = poolLogin();
  const phone = await device(browser, rep, phoneSize);
  const laptop = await device(browser, rep, laptopSize);
  const name = `Zhou Min ${Date.now().toString(36)}`;
  await createLead(laptop.page, name, 'Zhou Trading');
  await syncNow(laptop.page);
  await syncNow(phone.page);

  // The phone opens the lead's form and leaves it open.
  await openLead(phone.page, name);
  await phone.page.getByTestId('edit-lead').click();
  await expect(phone.page.locator('#f-title')).toHaveValue('');

  // Meanwhile the laptop sets the title, and the phone's sync brings it in under the form.
  await openLead(laptop.page, name);
  await editField(laptop.page, 'title', 'Purchasing head');
  await syncNow(laptop.page);
  await syncNow(phone.page);
  // The form still shows what it showed when it opened.
  await expect(phone.page.locator('#f-title')).toHaveValue('');

  // The phone saves a new company: the title it showed (empty) is not written back.
  await phone.page.locator('#f-company').fill('Zhou Group');
  await phone.page.getByTestId('save').click();
  await expect(subtitle(phone.page)).toHaveText('Purchasing head · Zhou Group');
  await syncNow(phone.page);
  await syncNow(laptop.page);
  for (const page of [phone.page, laptop.page]) {
    await openLead(page, name);
    await expect(subtitle(page)).toHaveText('Purchasing head · Zhou Group');
    await expect(page.getByTestId('conflict')).toHaveCount(0);
  }

  // The same field: the phone's form shows "Zhou Group" while the laptop changes it.
  await phone.page.getByTestId('edit-lead').click();
  await expect(phone.page.locator('#f-company')).toHaveValue('Zhou Group');
  await editField(laptop.page, 'company', 'Zhou Holdings');
  await syncNow(laptop.page);
  await syncNow(phone.page);
  await phone.page.locator('#f-company').fill('Zhou International');
  await phone.page.getByTestId('save').click();
  await expect(phone.page.getByTestId('lead-detail')).toBeVisible();
  await syncNow(phone.page);
  await syncNow(laptop.page);
  // Neither person saw the other's company: the later edit is kept and the other is shown,
  // restorable, on both devices (not silently overwritten as a causal edit).
  for (const page of [phone.page, laptop.page]) {
    await openLead(page, name);
    await expect(subtitle(page)).toHaveText('Purchasing head · Zhou International');
    const conflict = page.getByTestId('conflict');
    await expect(conflict).toHaveCount(1);
    await expect(conflict.getByTestId('conflict-kept')).toHaveText('Zhou International');
    await expect(conflict.getByTestId('conflict-lost')).toHaveText('Zhou Holdings');
  }

  for (const d of [phone, laptop]) {
    await d.context.close();
  }
});

test('60 visits with 10,000-character notes saved offline reach the server when it returns', async ({
  browser,
}) => {
  test.setTimeout(240_000);
  const rep = poolLogin();
  const phone = await device(browser, rep, phoneSize);
  const name = `Wu Lan ${Date.now().toString(36)}`;
  await createLead(phone.page, name, 'Wu Logistics');
  await syncNow(phone.page);

  // No way to the server while the rep works (the files still load).
  await phone.context.route('**/api/**', (route) => route.abort('internetdisconnected'));
  const visits = 60;
  for (let n = 1; n <= visits; n++) {
    await phone.page.getByTestId('log-visit').click();
    await expect(phone.page.locator('#v-lead_id')).toHaveValue(`${name} · Wu Logistics`);
    // 10,000 characters, 30,000 bytes: 60 of them are well over the server's 1 MiB body.
    const note = `第${n}次拜访：` + '客户关心交货期与售后服务。'.repeat(1000);
    await phone.page.locator('#v-notes').fill(note.slice(0, 10_000));
    await phone.page.getByTestId('save').click();
    await expect(phone.page.getByTestId('timeline-visit')).toHaveCount(n);
  }
  await expect(phone.page.getByTestId('sync-status')).toHaveAttribute('data-state', /unreachable|offline|error/);

  // The server is back: everything goes, in pushes under its limit, and nothing is refused.
  await phone.context.unroute('**/api/**');
  await syncNow(phone.page);
  await expect(phone.page.getByTestId('sync-text')).not.toContainText('waiting');
  await expect(phone.page.getByTestId('rejection')).toHaveCount(0);

  // A second device of the same rep gets all 60 from the server.
  const laptop = await device(browser, rep, laptopSize);
  await syncNow(laptop.page);
  await openLead(laptop.page, name);
  await expect(laptop.page.getByTestId('timeline-visit')).toHaveCount(visits);
  await expect(laptop.page.getByTestId('timeline')).toContainText('第60次拜访');

  for (const d of [phone, laptop]) {
    await d.context.close();
  }
});

test('a manager hands a lead over: its visits and deals go to the new rep and leave the old one', async ({
  browser,
}) => {
  const rep1 = await device(browser, demoLogin('demo.rep1'), phoneSize);
  const rep2 = await device(browser, demoLogin('demo.rep2'), phoneSize);
  const manager = await device(browser, demoLogin('demo.manager'), laptopSize);
  const name = `Feng Hua ${Date.now().toString(36)}`;

  // Rep 1's customer, with a visit and a deal.
  const id = await createLead(rep1.page, name, 'Feng Electric');
  await rep1.page.getByTestId('log-visit').click();
  await rep1.page.locator('#v-notes').fill('First meeting at the plant');
  await rep1.page.getByTestId('save').click();
  await expect(rep1.page.getByTestId('timeline-visit')).toHaveCount(1);
  await rep1.page.getByTestId('add-deal').click();
  await rep1.page.locator('#d-product').fill('Control cabinets');
  await rep1.page.locator('#d-amount').fill('48000');
  await rep1.page.getByTestId('save').click();
  await expect(rep1.page.getByTestId('timeline-deal')).toHaveCount(1);
  await syncNow(rep1.page);

  // The manager hands it to rep 2 from the lead screen.
  await syncNow(manager.page);
  await openLead(manager.page, name);
  await expect(manager.page.getByTestId('owner-name')).toHaveText('李明 Li Ming');
  await manager.page.getByTestId('reassign-to').selectOption({ label: 'Sarah Chen 陈莎' });
  await manager.page.getByTestId('reassign').click();
  await expect(manager.page.getByTestId('owner-name')).toHaveText('Sarah Chen 陈莎');
  await syncNow(manager.page);

  // Rep 2 gets the whole history; rep 1's phone drops all of it.
  await syncNow(rep2.page);
  await openLead(rep2.page, name);
  await expect(rep2.page.getByTestId('timeline-visit')).toHaveCount(1);
  await expect(rep2.page.getByTestId('timeline')).toContainText('First meeting at the plant');
  await expect(rep2.page.getByTestId('timeline-deal')).toHaveCount(1);
  // Each still says who logged it.
  await expect(rep2.page.getByTestId('timeline-visit').getByTestId('logged-by')).toHaveText('Logged by 李明 Li Ming');
  await expect(rep2.page.getByTestId('timeline-deal').getByTestId('logged-by')).toHaveText('Logged by 李明 Li Ming');
  await syncNow(rep1.page);
  await rep1.page.getByTestId('nav-leads').click();
  await expect(rep1.page.getByTestId('lead-row').filter({ hasText: name })).toHaveCount(0);
  const left = await rep1.page.evaluate(async (leadId) => {
    const db: IDBDatabase = await new Promise((resolve, reject) => {
      const open = indexedDB.open('fieldbook');
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const count = (store: string) =>
      new Promise<number>((resolve) => {
        const all = db.transaction(store).objectStore(store).getAll();
        all.onsuccess = () =>
          resolve((all.result as { id: string; lead_id?: string }[]).filter((r) => r.id === leadId || r.lead_id === leadId).length);
      });
    const found = { leads: await count('leads'), visits: await count('visits'), deals: await count('deals') };
    db.close();
    return found;
  }, id);
  expect(left).toEqual({ leads: 0, visits: 0, deals: 0 });

  for (const d of [rep1, rep2, manager]) {
    await d.context.close();
  }
});
