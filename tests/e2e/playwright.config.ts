// Playwright runs against Debian's Chromium (never a downloaded browser) and a release build
// of the app served by the real sync server. `cargo xtask test` starts that server on a free
// port (SQLite in a throwaway folder, `--demo`, a pool of rep accounts) and passes its address
// in FIELDBOOK_URL and the logins in the file FIELDBOOK_LOGINS_FILE (see fixtures.ts).
import path from 'node:path';
import { defineConfig } from '@playwright/test';
import chromium from './chromium.cjs';

const url = process.env.FIELDBOOK_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  testDir: '.',
  // One worker: CI machines have two cores, and Chromium plus the app need both.
  workers: 1,
  retries: 0,
  // Hunting a flaky test: FIELDBOOK_REPEAT=20 cargo xtask e2e --grep '…' runs it 20 times.
  repeatEach: Number(process.env.FIELDBOOK_REPEAT ?? 1),
  timeout: 60_000,
  // Screenshot references (screens.spec.ts-snapshots/) are only ever written on request:
  // FIELDBOOK_UPDATE_SCREENS=1 cargo xtask e2e --grep screens. A missing one fails.
  updateSnapshots: process.env.FIELDBOOK_UPDATE_SCREENS ? 'changed' : 'none',
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
        launchOptions: chromium,
      },
    },
  ],
});
