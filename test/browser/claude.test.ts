/**
 * The real Claude Code behind the dashboard, in a real browser: the agent's text shows while the
 * model is still writing it, and what the session's permission mode denied is shown as such.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserTestsRun, launchBrowser, screenshot } from '../helpers/browser.js';
import { useClaude } from '../helpers/claude.js';
import { useServers } from '../helpers/server.js';

const serve = useServers();
const claude = useClaude();

describe.skipIf(!browserTestsRun)('a Claude Code session in a real browser', () => {
  let browser: Browser;
  beforeAll(async () => { browser = await launchBrowser(); });
  afterAll(async () => { await browser.close(); });

  it('shows the text while it is written, then the stored message, and marks a denied Write', async () => {
    const { api, project } = claude.current;
    api.script(
      { text: 'Let me create the file you asked for.', tools: [{ name: 'Write', input: { file_path: join(project, 'notes.md'), content: '# Notes\n' } }] },
      { text: 'I was not allowed to write notes.md: the session needs permission to edit files. Streaming this sentence slowly, piece by piece.', chunks: 8, chunkDelayMs: 250 },
    );
    const server = await serve({ providers: [claude.current.provider()] });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (e) => { throw e; });
    await page.goto(server.loginUrl());
    await page.goto(`${server.url}/`);
    await page.getByLabel('Project folder').fill(project);
    await page.getByLabel('First prompt').fill('Write notes.md');
    await page.getByLabel('Agent').selectOption('claude');
    // Ask first: with nobody to answer, the Write is denied.
    await page.getByLabel('Permissions').selectOption('default');
    await page.getByRole('button', { name: 'Start' }).click();
    await page.waitForURL(/\/sessions\/\d+$/);
    // While the model writes: a part of the sentence, not yet the whole, not yet stored.
    const partial = page.getByTestId('partial');
    await expect.poll(() => partial.textContent(), { timeout: 20_000 }).toMatch(/I was not allowed/);
    expect(await partial.textContent()).not.toContain('piece by piece.');
    await screenshot(page, 'claude-writing');
    await expect.poll(() => page.getByTestId('status').textContent(), { timeout: 20_000 }).toBe('needs input');
    await expect.poll(() => partial.count()).toBe(0);
    const timeline = page.getByTestId('timeline');
    expect(await timeline.textContent()).toContain('Streaming this sentence slowly, piece by piece.');
    expect(await page.getByTestId('denials').textContent()).toMatch(/Denied.*Write.*notes\.md/);
    expect(existsSync(join(project, 'notes.md'))).toBe(false);
    expect(await page.getByTestId('tokens').textContent()).toMatch(/in · .* out · .* cache read/);
    await screenshot(page, 'claude-denied');
    await page.close();
  }, 60_000);
});
