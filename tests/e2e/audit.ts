// The accessibility audit the a11y and PWA specs run on a screen: axe-core in the light and
// the dark colour scheme (no violation of serious or critical impact), the page's language,
// and on a phone every control at least 44 × 44 CSS px.
import AxeBuilder from '@axe-core/playwright';
import { Page } from '@playwright/test';
import { expect } from './fixtures';

export const phone = { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true };
export const laptop = { viewport: { width: 1280, height: 800 } };
const MIN_TARGET = 44;

interface Finding {
  screen: string;
  what: string;
  detail: string;
}

/// Collects what each screen gets wrong, so one run reports every screen, not just the first.
export class Audit {
  findings: Finding[] = [];
  axeRuns = 0;
  screens = 0;

  constructor(private readonly lang: string) {}

  /// axe in both colour schemes, the page's language, and (on a phone) the touch targets.
  async check(page: Page, screen: string) {
    this.screens += 1;
    await expect(page.locator('html'), `${screen}: <html lang>`).toHaveAttribute('lang', this.lang);
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      const result = await new AxeBuilder({ page }).analyze();
      this.axeRuns += 1;
      for (const violation of result.violations) {
        if (violation.impact !== 'serious' && violation.impact !== 'critical') continue;
        for (const node of violation.nodes) {
          this.findings.push({
            screen: `${screen} (${scheme})`,
            what: `axe ${violation.id} [${violation.impact}]`,
            detail: `${node.target.join(' ')}: ${node.failureSummary?.split('\n').slice(1).join(' ').trim() ?? violation.help}`,
          });
        }
      }
    }
    await page.emulateMedia({ colorScheme: 'light' });
    const width = page.viewportSize()?.width ?? 0;
    if (width <= phone.viewport.width) {
      for (const small of await smallTargets(page)) {
        this.findings.push({ screen, what: 'touch target under 44 px', detail: small });
      }
    }
  }

  report(): string {
    return this.findings.map((f) => `${f.screen}: ${f.what}: ${f.detail}`).join('\n');
  }

  expectClean() {
    console.log(`a11y ${this.lang}: ${this.screens} screens, ${this.axeRuns} axe runs, ${this.findings.length} findings`);
    expect(this.findings, this.report()).toEqual([]);
  }
}

/// Every visible control smaller than 44 × 44 px, described. A checkbox or radio counts with
/// the label around it.
async function smallTargets(page: Page): Promise<string[]> {
  return page.evaluate((min) => {
    const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button]';
    const small: string[] = [];
    for (const el of Array.from(document.querySelectorAll<HTMLElement>(selector))) {
      const style = getComputedStyle(el);
      let box = el.getBoundingClientRect();
      if (box.width === 0 || box.height === 0 || style.visibility === 'hidden') continue;
      if (el instanceof HTMLInputElement && (el.type === 'checkbox' || el.type === 'radio')) {
        box = el.closest('label')?.getBoundingClientRect() ?? box;
      }
      // Half a pixel of rounding (borders, sub-pixel layout) is not a smaller target.
      if (box.width + 0.5 < min || box.height + 0.5 < min) {
        const name = (el.textContent || el.getAttribute('aria-label') || el.id || '').trim().slice(0, 30);
        small.push(`<${el.tagName.toLowerCase()}> "${name}" ${box.width.toFixed(0)}×${box.height.toFixed(0)}`);
      }
    }
    return small;
  }, MIN_TARGET);
}

