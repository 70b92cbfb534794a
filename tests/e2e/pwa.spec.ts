// The installable app, in Debian's Chromium with a profile on disk (what a phone keeps between
// launches): a cold start with the server process stopped, an update from build A to build B
// that keeps the outbox, a failed update that leaves A working, installability as Chrome
// judges it, the install offers, and storage (persistence, usage, a full device).
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Browser, BrowserContext, Page } from '@playwright/test';
import { Audit } from './audit';
import { createLead, expect, openAbout, openLead, pickLead, poolLogin, signIn, syncNow, test, visitKind } from './fixtures';
import { env, Field, launchProfile, removeDir, tempDir } from './own-server';

/// A date `days` before today, as the date input wants it.
function daysAgo(days: number): string {
  return new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);
}

/// Waits until the service worker is active, controls the page and so has the whole shell.
async function serviceWorkerReady(page: Page) {
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
}

/// The shell caches the service worker keeps (one per version).
async function shellCaches(page: Page): Promise<string[]> {
  return page.evaluate(async () =>
    (await caches.keys()).filter((name) => name.startsWith('fieldbook-shell-')),
  );
}

/// Build B's stylesheet sets `--build: "b"` on the root; build A has no such property.
async function cssBuild(page: Page): Promise<string> {
  return page.evaluate(() =>
    getComputedStyle(document.documentElement).getPropertyValue('--build').trim(),
  );
}

/// The version Settings → About shows (asked of the service worker).
async function appVersion(page: Page): Promise<string> {
  await page.getByTestId('nav-settings').click();
  await openAbout(page);
  const version = page.getByTestId('app-version');
  await expect(version).toHaveText(/^[0-9a-f]{16}$/);
  return (await version.textContent()) ?? '';
}

/// A browser with a profile on disk (incognito windows get neither installability nor
/// persistence) on the shared server, closed afterwards; its folder is removed unless the
/// caller brought its own.
async function onProfile(
  run: (context: BrowserContext, page: Page) => Promise<void>,
  dir?: string,
): Promise<void> {
  const profile = dir ?? tempDir('profile');
  const context = await launchProfile(profile, env('FIELDBOOK_URL'));
  try {
    await run(context, context.pages()[0] ?? (await context.newPage()));
  } finally {
    await context.close();
    if (!dir) removeDir(profile);
  }
}

test.describe('offline start and updates', () => {
  // Each test starts, stops and restarts a server of its own and a browser with a profile.
  test.setTimeout(120_000);

  /// Another device of `login` (a fresh browser context) signs in and opens `lead`, which
  /// so must have reached the server. The caller closes its context.
  async function serverHas(browser: Browser, field: Field, login: string, lead: string) {
    const laptop = await browser.newContext({ baseURL: field.server.url, locale: 'en-US' });
    const page = await laptop.newPage();
    await signIn(page, field.server.login(login));
    await openLead(page, lead);
    return page;
  }

  test('with the server stopped, a cold start opens Today with the data; a visit made then syncs later', async ({
    browser,
  }) => {
    const dist = env('FIELDBOOK_DIST');
    const field = await Field.start(dist);
    try {
      let page = await field.launch();
      await signIn(page, field.server.login('demo.rep1'));
      const name = `Cold Start ${Date.now().toString(36)}`;
      await createLead(page, name, 'Basement Works', daysAgo(2));
      await syncNow(page);
      await serviceWorkerReady(page);

      // The phone is switched off, and the server goes away entirely.
      await field.closePhone();
      await field.server.stop();
      await expect(fetch(`${field.server.url}/`)).rejects.toThrow();

      page = await field.launch();
      await page.goto('/');
      await expect(page.getByTestId('nav-today')).toBeVisible();
      await expect(page.getByTestId('overdue-list')).toContainText(name);
      await expect(page.getByTestId('sync-status')).toHaveAttribute('data-state', 'unreachable');

      // A visit logged in the basement waits in the outbox, and survives a reload.
      await page.getByTestId('nav-visit').click();
      await pickLead(page, '#v-lead_id', `${name} · Basement Works`);
      await visitKind(page, 'phone_call');
      await page.locator('#v-notes').fill('Logged in the basement');
      await page.getByTestId('save').click();
      await expect(page.getByTestId('timeline-visit')).toContainText('Logged in the basement');
      await page.reload();
      await expect(page.getByTestId('timeline-visit')).toContainText('Logged in the basement');
      await expect(page.getByTestId('sync-text')).toContainText('waiting');

      // The server comes back on the same address: the visit goes up.
      await field.deploy(dist);
      await syncNow(page);
      const laptop = await serverHas(browser, field, 'demo.rep1', name);
      await expect(laptop.getByTestId('timeline-visit')).toContainText('Logged in the basement');
      await laptop.context().close();
    } finally {
      await field.dispose();
    }
  });

  test('a new version shows a banner; reloading switches to it, and the change made under the old one syncs', async ({
    browser,
  }) => {
    const field = await Field.start(env('FIELDBOOK_DIST'));
    try {
      const page = await field.launch();
      await signIn(page, field.server.login('demo.rep2'));
      await serviceWorkerReady(page);
      const cachesA = await shellCaches(page);
      expect(cachesA).toHaveLength(1);
      expect(await cssBuild(page)).toBe('');
      const versionA = await appVersion(page);
      expect(cachesA).toEqual([`fieldbook-shell-${versionA}`]);

      // Build A, no way to the API (the files still load): the new lead waits in the outbox.
      await field.phone?.route('**/api/**', (route) => route.abort('internetdisconnected'));
      const name = `Made Under A ${Date.now().toString(36)}`;
      await createLead(page, name, 'Version A Ltd');
      await expect(page.getByTestId('sync-text')).toContainText('1 record waiting');

      // Build B is deployed on the same address. The next start finds it, caches it in the
      // background and offers it; A still runs.
      await field.deploy(env('FIELDBOOK_DIST_B'));
      await page.reload();
      await expect(page.getByTestId('update-banner')).toBeVisible();
      const audit = new Audit('en');
      await audit.check(page, 'update banner');
      expect(await cssBuild(page)).toBe('');
      await expect(page.getByTestId('sync-text')).toContainText('1 record waiting');

      // A second window of the app offers the same update.
      const other = await field.phone!.newPage();
      await other.goto('/leads');
      await expect(other.getByTestId('update-banner')).toContainText('new version');

      // The tap lets B take over; the page then reloads itself into B.
      const reloaded = page.waitForEvent('load');
      await page.getByTestId('update-reload').click();
      await reloaded;
      expect(await cssBuild(page)).toBe('"b"');
      // The other window still runs A's code under B's worker: it says so and offers a reload.
      await expect(other.getByTestId('update-banner')).toContainText('another window');
      await audit.check(other, 'update banner (updated in another window)');
      audit.expectClean();
      const otherReloaded = other.waitForEvent('load');
      await other.getByTestId('update-reload').click();
      await otherReloaded;
      expect(await cssBuild(other)).toBe('"b"');
      await expect(other.getByTestId('update-banner')).toBeHidden();
      await other.close();
      await expect(page.getByTestId('update-banner')).toBeHidden();
      const cachesB = await shellCaches(page);
      expect(cachesB).toHaveLength(1);
      expect(cachesB).not.toEqual(cachesA);
      await expect(page.getByTestId('sync-text')).toContainText('1 record waiting');
      await expect(page.getByTestId('lead-name')).toHaveText(name);

      // Settings names the version now running: B's.
      expect(cachesB).toEqual([`fieldbook-shell-${await appVersion(page)}`]);

      // Back in touch with the API: the lead made under A reaches the server.
      await field.phone?.unroute('**/api/**');
      await syncNow(page);
      const laptop = await serverHas(browser, field, 'demo.rep2', name);
      await laptop.context().close();
    } finally {
      await field.dispose();
    }
  });

  test('a new version that fails to download leaves the old one working', async () => {
    const field = await Field.start(env('FIELDBOOK_DIST'));
    try {
      const page = await field.launch();
      await signIn(page, field.server.login('demo.rep1'));
      await serviceWorkerReady(page);
      const cachesA = await shellCaches(page);

      // Build B with its stylesheet missing on the server: the new worker cannot cache it.
      const broken = field.tempDir('dist-broken');
      cpSync(env('FIELDBOOK_DIST_B'), broken, { recursive: true });
      const stylesheets = readdirSync(broken).filter((f) => /^main-.*\.css/.test(f));
      expect(stylesheets.length).toBeGreaterThan(0);
      for (const file of stylesheets) rmSync(path.join(broken, file));
      await field.deploy(broken);

      const states = await page.evaluate(async () => {
        const registration = await navigator.serviceWorker.getRegistration();
        if (!registration) return ['no registration'];
        const seen: string[] = [];
        const settled = new Promise<void>((resolve) => {
          registration.addEventListener('updatefound', () => {
            const worker = registration.installing;
            if (!worker) return;
            seen.push(worker.state);
            worker.addEventListener('statechange', () => {
              seen.push(worker.state);
              if (worker.state === 'redundant' || worker.state === 'installed') resolve();
            });
          });
        });
        await registration.update().catch((e) => seen.push(`update failed: ${e}`));
        await Promise.race([settled, new Promise((r) => setTimeout(r, 30_000))]);
        return seen;
      });
      expect(states).toEqual(['installing', 'redundant']);
      expect(await shellCaches(page)).toEqual(cachesA);
      await expect(page.getByTestId('update-banner')).toBeHidden();

      // A keeps serving: a reload, and a start with no server at all.
      await page.reload();
      await expect(page.getByTestId('nav-today')).toBeVisible();
      expect(await cssBuild(page)).toBe('');
      await field.server.stop();
      await page.goto('/leads');
      await expect(page.getByTestId('lead-row').first()).toBeVisible();
    } finally {
      await field.dispose();
    }
  });
});

test.describe('installing', () => {
  test('Chrome finds the app installable and the manifest and its icons sound', async () => {
    await onProfile(async (context, page) => {
      await page.goto('/');
      await serviceWorkerReady(page);
      const cdp = await context.newCDPSession(page);
      const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
      expect(installabilityErrors).toEqual([]);
      const manifest = await cdp.send('Page.getAppManifest');
      expect(manifest.errors).toEqual([]);
      const parsed = JSON.parse(manifest.data ?? '{}');
      expect(parsed.display).toBe('standalone');
      expect(parsed.shortcuts.map((s: { url: string }) => s.url)).toEqual(['/new/visit', '/new/lead']);
      // Every icon is a PNG of the size the manifest says.
      for (const icon of parsed.icons as { src: string; sizes: string }[]) {
        const response = await page.request.get(icon.src);
        expect(response.ok()).toBe(true);
        const bytes = await response.body();
        expect(bytes.subarray(1, 4).toString()).toBe('PNG');
        const [w, h] = icon.sizes.split('x').map(Number);
        expect([bytes.readUInt32BE(16), bytes.readUInt32BE(20)]).toEqual([w, h]);
      }
    });
  });

  test('Chromium: the kept install offer is replayed from Settings', async ({ page }) => {
    // Chromium keeps a site's data for a week and more: Today has no install hint here.
    await expect(page.getByTestId('quick-visit')).toBeVisible();
    await expect(page.getByTestId('install-hint')).toHaveCount(0);
    await page.goto('/settings');
    await expect(page.getByTestId('install-state')).toHaveAttribute('data-state', 'menu');
    // The browser decides when to offer; this is the event it sends, with its prompt.
    await page.evaluate(() => {
      const offer = new Event('beforeinstallprompt', { cancelable: true }) as Event & {
        prompt?: () => Promise<void>;
        userChoice?: Promise<{ outcome: string }>;
      };
      offer.prompt = () => {
        (window as unknown as { prompted: number }).prompted =
          ((window as unknown as { prompted?: number }).prompted ?? 0) + 1;
        return Promise.resolve();
      };
      offer.userChoice = Promise.resolve({ outcome: 'accepted' });
      window.dispatchEvent(offer);
      (window as unknown as { offerCancelled: boolean }).offerCancelled = offer.defaultPrevented;
    });
    expect(await page.evaluate(() => (window as unknown as { offerCancelled: boolean }).offerCancelled)).toBe(
      true,
    );
    const audit = new Audit('en');
    await audit.check(page, 'settings (install offered)');
    audit.expectClean();
    await page.getByTestId('install-app').click();
    await expect(page.getByTestId('install-state')).toHaveAttribute('data-state', 'installed');
    expect(await page.evaluate(() => (window as unknown as { prompted: number }).prompted)).toBe(1);
  });
});

test.describe('on an iPhone', () => {
  test.use({
    userAgent:
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
    viewport: { width: 390, height: 844 },
    locale: 'zh-CN',
  });

  test('iOS has no prompt: Settings shows the Add to Home Screen steps', async ({ page }) => {
    await page.goto('/settings');
    const how = page.getByTestId('install-ios');
    await expect(how).toHaveAttribute('aria-expanded', 'false');
    await how.click();
    await expect(how).toHaveAttribute('aria-expanded', 'true');
    const steps = page.getByTestId('ios-install-steps');
    await expect(steps).toContainText('添加到主屏幕');
    await expect(steps.locator('li')).toHaveCount(3);
    const audit = new Audit('zh-CN');
    await audit.check(page, 'settings (iOS install steps)');
    audit.expectClean();
  });

  test('Today tells an iPhone about Safari\'s 7 days until the hint is dismissed', async ({ page }) => {
    const hint = page.getByTestId('install-hint');
    await expect(hint).toContainText('7 天');
    const audit = new Audit('zh-CN');
    await audit.check(page, 'today (install hint)');
    audit.expectClean();

    await hint.getByTestId('install-hint-how').click();
    await expect(page.getByTestId('install-ios')).toBeVisible();
    await page.getByTestId('nav-today').click();
    await page.getByTestId('install-hint-dismiss').click();
    await expect(hint).toBeHidden();
    // Dismissed stays dismissed (for a week) across starts.
    await page.reload();
    await expect(page.getByTestId('quick-visit')).toBeVisible();
    await expect(hint).toBeHidden();
  });
});

test.describe('storage', () => {
  test('Settings shows usage and quota, and warns until the browser agrees to keep the data', async () => {
    await onProfile(async (context, page) => {
      await signIn(page, poolLogin());
      await page.getByTestId('nav-settings').click();
      await expect(page.getByTestId('storage-used')).toHaveText(/^\d[\d.]* [KMG]?B \/ \d[\d.]* [KMG]?B$/);
      // A site nobody installed or bookmarked: Chromium says no to persist().
      const kept = page.getByTestId('storage-persisted');
      await expect(kept).toHaveAttribute('data-state', 'not-kept');
      await expect(page.getByTestId('storage-warning')).toContainText('7 days');
      const audit = new Audit('en');
      await audit.check(page, 'settings (storage not kept)');
      audit.expectClean();

      // Once the browser grants it (as it does for an installed app), asking again keeps it.
      const cdp = await context.newCDPSession(page);
      await cdp.send('Browser.setPermission', {
        origin: new URL(page.url()).origin,
        permission: { name: 'persistent-storage' },
        setting: 'granted',
      });
      await page.getByTestId('storage-ask').click();
      await expect(kept).toHaveAttribute('data-state', 'kept');
      await expect(page.getByTestId('storage-warning')).toBeHidden();
    });
  });

  test('a full device: the save is refused with a clear message and nothing is lost', async () => {
    // A real full disk: the profile on a 48 MB tmpfs, filled up by another database of the
    // site until IndexedDB refuses (Chromium's quota keeps some of the disk free).
    test.skip(process.getuid?.() !== 0, 'mounting a small disk needs root (CI runs as root)');
    const disk = tempDir('small-disk');
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'fieldbook-e2e', disk], { stdio: 'pipe' });
    } catch (error) {
      removeDir(disk);
      // A container without the right to mount: say so in the report rather than pass.
      test.skip(true, `cannot mount a 48 MB tmpfs here: ${error}`);
    }
    try {
      await onProfile(async (_, page) => {
        await signIn(page, poolLogin());
        await createLead(page, 'Saved Before Full', 'Roomy Ltd');

        const refused = await page.evaluate(fillStorage);
        expect(refused).toBe('QuotaExceededError');

        await page.goto('/new/lead');
        await page.locator('#f-name').fill('Typed On A Full Device');
        await page.locator('#f-notes').fill('Notes from the customer. '.repeat(200));
        await page.getByTestId('save').click();
        await expect(page.locator('main').getByRole('alert')).toContainText('out of storage space');
        // Nothing typed is lost: the form still holds it.
        await expect(page.locator('#f-name')).toHaveValue('Typed On A Full Device');

        // Room again: the same form saves, and the earlier lead is still there.
        await page.evaluate(
          () =>
            new Promise((resolve, reject) => {
              const deleting = indexedDB.deleteDatabase('filler');
              deleting.onsuccess = resolve;
              deleting.onerror = () => reject(deleting.error);
            }),
        );
        await page.getByTestId('save').click();
        await expect(page.getByTestId('lead-name')).toHaveText('Typed On A Full Device');
        await page.getByTestId('nav-leads').click();
        await expect(page.getByTestId('lead-row').filter({ hasText: 'Saved Before Full' })).toBeVisible();
      }, path.join(disk, 'profile'));
    } finally {
      execFileSync('umount', ['-l', disk]);
      removeDir(disk);
    }
  });
});

/// Runs in the page: writes blobs into a database of its own, halving the size after each
/// refusal down to 4 KB, so that afterwards no write of a few KB fits. Returns the error name
/// of the last refusal.
function fillStorage(): Promise<string> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open('filler', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('blobs');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      let size = 4 * 1024 * 1024;
      let key = 0;
      let lastError = '';
      const write = () => {
        const bytes = new Uint8Array(size);
        // Random bytes, so nothing along the way compresses them away.
        for (let at = 0; at < size; at += 65_536) {
          crypto.getRandomValues(bytes.subarray(at, Math.min(at + 65_536, size)));
        }
        const tx = db.transaction('blobs', 'readwrite');
        tx.objectStore('blobs').put(new Blob([bytes]), key++);
        tx.oncomplete = write;
        tx.onabort = () => {
          lastError = tx.error?.name ?? 'AbortError';
          if (size <= 4096) {
            db.close();
            resolve(lastError);
          } else {
            size = Math.floor(size / 2);
            write();
          }
        };
      };
      write();
    };
  });
}
