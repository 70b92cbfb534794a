// Debian's Chromium, the only browser these machines have (Playwright never downloads one),
// and the flags it needs here: root needs --no-sandbox, and nothing may call home.
import { LaunchOptions } from '@playwright/test';

export const chromiumLaunch: LaunchOptions = {
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
};
