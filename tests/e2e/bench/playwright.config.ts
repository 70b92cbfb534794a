// `cargo xtask bench` only: the browser figures, one long test, against the release build
// served by the real sync server. Its file is `*.bench.ts`, which the e2e run's default
// pattern (`*.spec.ts`) never picks up. Same Chromium as the e2e tests.
import path from 'node:path';
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: '.',
  testMatch: '*.bench.ts',
  workers: 1,
  retries: 0,
  // A full-size run syncs 60,000 rows into three fresh devices and 50,000 into a fourth.
  timeout: 90 * 60_000,
  expect: { timeout: 60_000 },
  reporter: 'list',
  outputDir: path.join(__dirname, '..', '..', '..', 'target', 'bench-results'),
  use: {
    baseURL: process.env.FIELDBOOK_URL ?? 'http://127.0.0.1:8080',
    actionTimeout: 60_000,
    navigationTimeout: 120_000,
  },
});
