// The app runs under the server's Content-Security-Policy (issue 13, finding 4): no inline
// script (the build moves trunk's boot script into a file), WebAssembly allowed, requests
// only to the server. A tour through the screens a rep uses, with a service worker, records
// every violation the browser reports, and there must be none.
import { expect, test } from '@playwright/test';
import { moreDetails, poolLogin, signIn } from './fixtures';

test('the app runs under the Content-Security-Policy with no violation', async ({ browser }) => {
  const context = await browser.newContext({ locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  await context.addInitScript(() => {
    const w = window as unknown as { __violations: string[] };
    w.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      w.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`),
    );
  });
  const page = await context.newPage();
  const console: string[] = [];
  page.on('console', (m) => {
    if (/Content.Security.Policy|Refused to/i.test(m.text())) console.push(m.text());
  });
  const violations = async () =>
    page.evaluate(() => (window as unknown as { __violations: string[] }).__violations);

  const first = await page.goto('/');
  const csp = first?.headers()['content-security-policy'] ?? '';
  expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval'");
  expect(csp).not.toContain('unsafe-inline');
  // No inline script is left in the page.
  expect(await page.locator('script:not([src])').count()).toBe(0);

  await signIn(page, poolLogin());
  await page.goto('/new/lead');
  await page.locator('#f-name').fill('策略测试');
  await page.locator('#f-phones').fill('13800138000');
  await page.getByTestId('save').click();
  await expect(page.getByTestId('lead-name')).toHaveText('策略测试');
  expect(await violations()).toEqual([]);
  await page.getByTestId('log-visit').click();
  await page.locator('#v-notes').fill('在策略下记录');
  await moreDetails(page);
  await page.getByTestId('save').click();
  await expect(page.getByTestId('timeline-visit')).toHaveCount(1);
  expect(await violations()).toEqual([]);
  for (const tab of ['nav-today', 'nav-leads', 'nav-training', 'nav-settings']) {
    await page.getByTestId(tab).click();
    await expect(page.locator('main h1')).toBeVisible();
    expect(await violations(), tab).toEqual([]);
  }
  // A reload starts from the service worker's cache, under the same policy.
  await page.reload();
  await expect(page.getByTestId('nav-today')).toBeVisible();
  expect(await violations()).toEqual([]);
  expect(console).toEqual([]);
  await context.close();
});
