/**
 * A headless Chromium for the browser tests: Debian's package (apt-get install -y chromium), driven
 * by playwright-core; never a downloaded browser. Without it the browser tests are skipped, saying so.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.AGENTQ_CHROMIUM ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
/** Browser tests run where Chromium is, and always under CI (where a missing one fails them). */
export const browserTestsRun = hasChromium || (process.env.CI ?? '') !== '';
if (!hasChromium) {
  process.stderr.write(browserTestsRun
    ? `\nbrowser tests will fail: CI is set and there is no Chromium at ${CHROMIUM}. Install it with \`apt-get install -y chromium\`.\n\n`
    : `\nbrowser tests skipped: no Chromium at ${CHROMIUM}. Install it with \`apt-get install -y chromium\` (or set AGENTQ_CHROMIUM to a Chromium binary).\n\n`);
}

export const SCREENSHOTS = resolve(import.meta.dirname, '..', '..', 'test-results', 'screenshots');

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
