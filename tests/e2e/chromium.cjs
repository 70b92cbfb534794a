// Debian's Chromium, started the same way by Playwright (playwright.config.ts) and by the
// Lighthouse run (lighthouse.mjs): never a downloaded browser, and none of the background
// traffic that would slow a two-core CI machine or reach beyond the test server.
module.exports = {
  executablePath: process.env.CHROME_PATH || '/usr/bin/chromium',
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
