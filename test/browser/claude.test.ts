/**
 * The real Claude Code behind the dashboard, in a real browser: the agent's text shows while the
 * model is still writing it, and the human in the loop answers its requests on the page — allow
 * once, deny with a message, allow for the session — across two tabs and a server restart.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Approval } from '../../src/store/session-contract.js';
import { browserTestsRun, launchBrowser, screenshot } from '../helpers/browser.js';
import { useClaude } from '../helpers/claude.js';
import { gitIn, gitRepo } from '../helpers/git.js';
import { useServers, type TestServer } from '../helpers/server.js';

const serve = useServers();
const claude = useClaude();

describe.skipIf(!browserTestsRun)('a Claude Code session in a real browser', () => {
  let browser: Browser;
  beforeAll(async () => { browser = await launchBrowser(); });
  afterAll(async () => { await browser.close(); });

  async function open(server: TestServer, path: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => { throw e; });
    await page.goto(server.loginUrl());
    await page.goto(`${server.url}${path}`);
    await page.waitForSelector('html[data-hydrated="1"]');
    return page;
  }

  /** A project folder with a plain name, as the screenshots show it. */
  function project(): string {
    const dir = join(claude.current.project, '..', 'my-app');
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  it('shows the text while it is written; a Write waits for approval, shown as a diff, and allowed on the page it writes the file', async () => {
    const { api } = claude.current;
    const dir = project();
    api.script(
      { text: 'Let me create the file you asked for.', tools: [{ name: 'Write', input: { file_path: join(dir, 'notes.md'), content: '# Notes\n\n- ship the approvals\n' } }] },
      { text: 'Created notes.md with a first item. Streaming this sentence slowly, piece by piece.', chunks: 8, chunkDelayMs: 250 },
    );
    const server = await serve({ providers: [claude.current.provider()] });
    const page = await open(server, '/');
    await page.getByLabel('Project folder').fill(dir);
    await page.getByLabel('First prompt').fill('Write notes.md');
    await page.getByLabel('Permissions').selectOption('default');
    await page.getByRole('button', { name: 'Start' }).click();
    await page.waitForURL(/\/sessions\/\d+$/);
    const card = page.getByTestId('approval');
    await expect.poll(() => card.count(), { timeout: 20_000 }).toBe(1);
    expect(await page.getByTestId('status').textContent()).toBe('needs approval');
    await expect.poll(() => page.title()).toMatch(/^\(1\) Needs approval · Write notes\.md/);
    expect(await card.getByTestId('diff').textContent()).toContain('+# Notes');
    expect(existsSync(join(dir, 'notes.md'))).toBe(false);
    await screenshot(page, 'approval-write');
    await card.getByRole('button', { name: 'Allow once' }).click();
    await expect.poll(() => card.count()).toBe(0);
    // While the model writes: a part of the sentence, not yet the whole, not yet stored.
    const partial = page.getByTestId('partial');
    await expect.poll(() => partial.textContent(), { timeout: 20_000 }).toMatch(/Created notes\.md/);
    expect(await partial.textContent()).not.toContain('piece by piece.');
    await expect.poll(() => page.getByTestId('status').textContent(), { timeout: 20_000 }).toBe('needs input');
    await expect.poll(() => partial.count()).toBe(0);
    expect(readFileSync(join(dir, 'notes.md'), 'utf8')).toBe('# Notes\n\n- ship the approvals\n');
    const timeline = page.getByTestId('timeline');
    expect(await timeline.textContent()).toContain('Streaming this sentence slowly, piece by piece.');
    expect(await timeline.locator('[data-testid=approval-event]').getAttribute('data-status')).toBe('allowed');
    expect(await page.title()).not.toMatch(/Needs approval/);
    expect(await page.getByTestId('tokens').textContent()).toMatch(/in · .* out · .* cache read/);
    await screenshot(page, 'claude-review');
    await page.close();
  }, 60_000);

  it('a denial with a message reaches the agent; allowed for the session, the next command runs without asking', async () => {
    const { api } = claude.current;
    const dir = project();
    api.script(
      { text: 'I will write the config first.', tools: [{ name: 'Write', input: { file_path: join(dir, 'config.json'), content: '{}\n' } }] },
      { text: 'Understood: no config file. I will create the folders instead.', tools: [{ name: 'Bash', input: { command: 'mkdir -p src', description: 'Create the source folder' } }] },
      { tools: [{ name: 'Bash', input: { command: 'mkdir -p test' } }] },
      { text: 'Both folders exist now.' },
    );
    const server = await serve({ providers: [claude.current.provider()] });
    const created = await server.call('POST', '/api/sessions', { body: { projectPath: dir, prompt: 'set the project up', settings: { permissionMode: 'default' } } });
    const page = await open(server, `/sessions/${String(created.body.session.id)}`);
    const card = page.getByTestId('approval');
    await expect.poll(() => card.count(), { timeout: 20_000 }).toBe(1);
    await card.getByRole('button', { name: 'Deny…' }).click();
    await card.getByLabel('Message to the agent').fill('no config files, please');
    await screenshot(page, 'approval-deny');
    await card.getByRole('button', { name: 'Deny', exact: true }).click();
    // The agent read the denial and asks for a command instead: its folder and command are shown.
    await expect.poll(() => card.getByTestId('command').textContent(), { timeout: 20_000 }).toContain('mkdir -p src');
    expect(await card.getByTestId('command').textContent()).toContain(dir);
    expect(await page.getByTestId('timeline').textContent()).toContain('Understood: no config file.');
    expect(JSON.stringify(api.conversation()[1]!.body?.messages)).toContain('no config files, please');
    await card.getByRole('button', { name: 'Allow for this session…' }).click();
    expect(await card.getByLabel('Rule').inputValue()).toBe('Bash(mkdir:*)');
    await screenshot(page, 'approval-session');
    await card.getByRole('button', { name: 'Allow for session' }).click();
    await expect.poll(() => page.getByTestId('status').textContent(), { timeout: 20_000 }).toBe('needs input');
    // The second mkdir asked nobody: allowed by the rule, and the rule is in the session's settings.
    expect(existsSync(join(dir, 'src')) && existsSync(join(dir, 'test'))).toBe(true);
    expect(existsSync(join(dir, 'config.json'))).toBe(false);
    expect((await server.call('GET', `/api/sessions/${String(created.body.session.id)}/approvals`)).body.approvals).toHaveLength(2);
    const outcomes = await page.locator('[data-testid=approval-event]').allTextContents();
    expect(outcomes.join('\n')).toMatch(/Write .*config\.json — denied: no config files, please/);
    expect(outcomes.join('\n')).toMatch(/Bash mkdir -p test — allowed by the session's rule Bash\(mkdir:\*\)/);
    await page.locator('details.settings > summary').click();
    expect(await page.getByLabel('Allowed without asking (one rule per line)').inputValue()).toBe('Bash(mkdir:*)');
    await page.close();
  }, 60_000);

  it('two tabs answer the same request: one wins, the other is told; a restart while a request waits asks again', async () => {
    const { api } = claude.current;
    const dir = project();
    api.script({ tools: [{ name: 'Bash', input: { command: 'touch first.txt' } }] }, { tools: [{ name: 'Bash', input: { command: 'touch second.txt' } }] });
    const first = await serve({ providers: [claude.current.provider()], graceMs: 0 });
    const created = await first.call('POST', '/api/sessions', { body: { projectPath: dir, prompt: 'touch two files', settings: { permissionMode: 'default' } } });
    const id = created.body.session.id as number;
    const [a, b] = [await open(first, `/sessions/${String(id)}`), await open(first, `/sessions/${String(id)}`)];
    for (const p of [a, b]) await expect.poll(() => p.getByTestId('approval').count(), { timeout: 20_000 }).toBe(1);
    await b.getByTestId('approval').getByRole('button', { name: 'Deny…' }).click();
    // Both press at the same moment (before either tab hears of the other's answer).
    const press = (el: unknown): void => { (el as { click: () => void }).click(); };
    await Promise.all([
      a.getByTestId('approval').getByRole('button', { name: 'Allow once' }).evaluate(press),
      b.getByTestId('approval').getByRole('button', { name: 'Deny', exact: true }).evaluate(press),
    ]);
    const answered = async (): Promise<Approval> => ((await first.call('GET', `/api/sessions/${String(id)}/approvals`)).body.approvals as Approval[])[0]!;
    await expect.poll(async () => (await answered()).status).not.toBe('pending');
    const won = (await answered()).status;
    const loser = won === 'allowed' ? b : a;
    // The other tab is told: by the 409 when its answer left before it heard of the first one, else
    // by the live update that closed its card (a click on a card being removed sends nothing).
    const told = async (): Promise<boolean> => (await loser.getByRole('alert').count()) > 0
      || ((await loser.getByTestId('approval').count()) === 0 && (await loser.locator('[data-testid=approval-event]').first().getAttribute('data-status')) === won);
    await expect.poll(told).toBe(true);
    if ((await loser.getByRole('alert').count()) > 0) expect(await loser.getByRole('alert').textContent()).toMatch(/already (allowed|denied)/);
    expect((await answered()).status).toBe(won);
    await screenshot(loser, 'approval-race-lost');
    // The next request waits when the server stops: it is closed, and the restarted server asks again.
    await expect.poll(async () => ((await first.call('GET', '/api/approvals')).body.approvals as Approval[]).length, { timeout: 20_000 }).toBe(1);
    const waiting = ((await first.call('GET', '/api/approvals')).body.approvals as Approval[])[0]!;
    api.script({ tools: [{ name: 'Bash', input: { command: 'touch second.txt' } }] }, { text: 'Done after the restart.' });
    await first.close();
    const second = await serve({ providers: [claude.current.provider()], dataDir: first.dataDir, port: first.port });
    expect((await second.call('GET', `/api/approvals/${String(waiting.id)}`)).body.approval).toMatchObject({ status: 'interrupted' });
    // The handed-back turn runs again and asks again; the open tab reconnects by itself and shows it.
    await expect.poll(async () => ((await second.call('GET', '/api/approvals')).body.approvals as Approval[]).map((x) => x.id), { timeout: 30_000 }).toEqual([waiting.id + 1]);
    await expect.poll(() => a.getByTestId('approval').getAttribute('data-approval'), { timeout: 30_000 }).toBe(String(waiting.id + 1));
    await expect.poll(() => a.getByTestId('approval').count()).toBe(1);
    await a.getByTestId('approval').getByRole('button', { name: 'Allow once' }).click();
    await expect.poll(() => a.getByTestId('status').textContent(), { timeout: 20_000 }).toBe('needs input');
    expect(existsSync(join(dir, 'second.txt'))).toBe(true);
    await a.close();
    await b.close();
  }, 90_000);

  it('runs a session in a worktree of its own: its change shows as a diff on the page, and merges into the base branch', async () => {
    const { api } = claude.current;
    const repo = gitRepo({ 'README.md': '# my app\n' });
    try {
      const server = await serve({ providers: [claude.current.provider()] });
      const worktrees = join(server.dataDir, 'worktrees');
      // The agent's folder is known once the session exists: taken from its own request.
      const folderIn = (body: unknown): string => new RegExp(`${worktrees.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/[\\w.-]+`).exec(JSON.stringify(body))?.[0] ?? 'no-worktree-in-request';
      api.script(
        (body) => ({ text: 'Adding the changelog.', tools: [{ name: 'Write', input: { file_path: join(folderIn(body), 'CHANGELOG.md'), content: '# Changelog\n\n- first entry\n' } }] }),
        { text: 'Wrote CHANGELOG.md.' },
      );
      const page = await open(server, '/');
      await page.getByLabel('Project folder').fill(repo.dir);
      // A repository: the form offers a worktree of its own, and means it by default.
      const isolation = page.getByLabel(/Work in a git worktree of its own/);
      await expect.poll(() => isolation.count()).toBe(1);
      expect(await isolation.isChecked()).toBe(true);
      expect(await page.getByLabel('Base branch').getAttribute('placeholder')).toBe('main');
      await page.getByLabel('First prompt').fill('Add a changelog');
      await page.getByLabel('Permissions').selectOption('acceptEdits');
      await page.getByRole('button', { name: 'Start' }).click();
      await page.waitForURL(/\/sessions\/\d+$/);
      await expect.poll(() => page.getByTestId('status').textContent(), { timeout: 30_000 }).toBe('needs input');
      const panel = page.getByTestId('worktree');
      const file = panel.getByTestId('changed-file');
      await expect.poll(() => file.count(), { timeout: 10_000 }).toBe(1);
      expect(await file.getAttribute('data-path')).toBe('CHANGELOG.md');
      await file.locator('summary').click();
      expect(await file.getByTestId('patch').textContent()).toContain('+# Changelog');
      expect(await panel.getByTestId('worktree-summary').textContent()).toMatch(/1 file \+3 −0 · 0 commits ahead, 0 behind · 1 uncommitted/);
      expect(await panel.getByTestId('worktree-shell').textContent()).toMatch(new RegExp(`^cd '${worktrees}/`));
      // The user's own folder has nothing yet.
      expect(existsSync(join(repo.dir, 'CHANGELOG.md'))).toBe(false);
      await screenshot(page, 'worktree-changes');
      await panel.getByRole('button', { name: 'Merge into main' }).click();
      await expect.poll(() => page.getByRole('status').textContent()).toMatch(/^Done: merge \([0-9a-f]{8}\)\.$/);
      expect(readFileSync(join(repo.dir, 'CHANGELOG.md'), 'utf8')).toBe('# Changelog\n\n- first entry\n');
      expect(gitIn(repo.dir, 'log', '-1', '--format=%s')).toBe('Add a changelog');
      await expect.poll(() => panel.getByTestId('worktree-summary').textContent()).toMatch(/0 files \+0 −0 · 0 commits ahead/);
      await page.close();
    } finally {
      repo.cleanup();
    }
  }, 60_000);
});

