// Sync end to end: one rep on two devices (a phone and a laptop) and their manager, against
// the real sync server. Both devices edit while offline — different fields of one lead, the
// same field of another — and after reconnecting all three converge; the lead whose field
// was edited twice shows the conflict on every device, and one tap restores the lost value.
import { expect, Page, test } from '@playwright/test';
import { createLead, demoLogin, device, editField, openLead, syncNow } from './fixtures';

const phoneSize = { viewport: { width: 390, height: 844 }, hasTouch: true };
const laptopSize = { viewport: { width: 1280, height: 800 } };

function subtitle(page: Page) {
  return page.locator('.lead-detail .subtitle');
}

test('two offline devices and their manager converge, and a lost edit is shown and restored', async ({
  browser,
}) => {
  const rep = demoLogin('demo.rep1');
  const phone = await device(browser, rep, phoneSize);
  const laptop = await device(browser, rep, laptopSize);
  const manager = await device(browser, demoLogin('demo.manager'), laptopSize);
  const suffix = Date.now().toString(36);
  const alpha = `Gao Feng ${suffix}`;
  const beta = `Qian Lei ${suffix}`;

  // The demo book arrived with the first sync.
  await syncNow(phone.page);
  await phone.page.getByTestId('nav-leads').click();
  await expect(phone.page.getByTestId('lead-row').filter({ hasText: '王建国' })).toBeVisible();

  // Two new leads on the laptop reach the phone.
  await createLead(laptop.page, alpha, 'Alpha Co');
  await createLead(laptop.page, beta, 'Beta Co');
  await syncNow(laptop.page);
  await syncNow(phone.page);
  await openLead(phone.page, alpha);

  // Both devices lose the network.
  for (const d of [phone, laptop]) {
    await d.context.setOffline(true);
    await expect(d.page.getByTestId('sync-status')).toHaveAttribute('data-state', 'offline');
  }

  // Different fields of the first lead…
  await editField(phone.page, 'company', 'Alpha Group');
  await openLead(laptop.page, alpha);
  await editField(laptop.page, 'title', 'Purchasing head');
  // …and the same field of the second: the laptop's edit is the later one.
  await openLead(phone.page, beta);
  await editField(phone.page, 'company', 'Beta Phone');
  await openLead(laptop.page, beta);
  await editField(laptop.page, 'company', 'Beta Laptop');
  await expect(phone.page.getByTestId('sync-text')).toContainText('2 records waiting');
  await expect(laptop.page.getByTestId('sync-text')).toContainText('2 records waiting');

  // Back online: the `online` event syncs on its own; one more round each settles the order.
  for (const d of [phone, laptop]) {
    await d.context.setOffline(false);
  }
  for (const d of [phone, laptop, phone, manager]) {
    await syncNow(d.page);
  }

  for (const page of [phone.page, laptop.page, manager.page]) {
    await openLead(page, alpha);
    await expect(subtitle(page)).toHaveText('Purchasing head · Alpha Group');
    await expect(page.getByTestId('conflict')).toHaveCount(0);
    await openLead(page, beta);
    await expect(subtitle(page)).toHaveText('Beta Laptop');
    const conflict = page.getByTestId('conflict');
    await expect(conflict).toHaveCount(1);
    await expect(conflict.getByTestId('conflict-kept')).toHaveText('Beta Laptop');
    await expect(conflict.getByTestId('conflict-lost')).toHaveText('Beta Phone');
  }

  // One tap on the phone brings its value back, for everyone.
  await phone.page.getByTestId('conflict-restore').click();
  await expect(subtitle(phone.page)).toHaveText('Beta Phone');
  await expect(phone.page.getByTestId('conflict')).toHaveCount(0);
  for (const d of [phone, laptop, manager]) {
    await syncNow(d.page);
  }
  for (const page of [laptop.page, manager.page]) {
    await openLead(page, beta);
    await expect(subtitle(page)).toHaveText('Beta Phone');
    await expect(page.getByTestId('conflict')).toHaveCount(0);
  }

  for (const d of [phone, laptop, manager]) {
    await d.context.close();
  }
});
