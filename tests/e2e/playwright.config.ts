// Playwright runs against Debian's Chromium (never a downloaded browser) and a release build
// of the app. `cargo xtask test` serves dist/ on a free port and passes its address in
// FIELDBOOK_URL; run by hand without it, the webServer below serves dist/ itself.
import path from 'node:path';
import { defineConfig } from '@playwright/test';

const handPort = 4173;
const url = process.env.FIELDBOOK_URL ?? `http://127.0.0.1:${handPort}`;
const dist = process.env.FIELDBOOK_DIST ?? path.join(__dirname, '..', '..', 'dist');

export default defineConfig({
  testDir: '.',
  // One worker: CI machines have two cores, and Chromium plus the app need both.
  workers: 1,
  retries: 0,
  timeout: 60_000,
  reporter: 'list',
  // Traces and screenshots of failures go under target/, which git ignores.
  outputDir: path.join(__dirname, '..', '..', 'target', 'e2e-results'),
  forbidOnly: !!process.env.CI,
  use: {
    baseURL: url,
    trace: 'retain-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        browserName: 'chromium',
        launchOptions: {
          executablePath: '/usr/bin/chromium',
          args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-quic',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
          ],
        },
      },
    },
  ],
  webServer: process.env.FIELDBOOK_URL
    ? undefined
    : {
        command: `cargo xtask serve --port ${handPort} --dist "${dist}"`,
        url,
        // A server left on this port could be serving an old build: fail instead.
        reuseExistingServer: false,
        timeout: 120_000,
      },
});
