import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ReplayProvider } from '../../src/sessions/replay.js';
import { browserTestsRun, launchBrowser, screenshot } from '../helpers/browser.js';
import { gitIn, gitRepo } from '../helpers/git.js';
import { useServers, waitForServerJob, type TestServer } from '../helpers/server.js';

const serve = useServers();

describe.skipIf(!browserTestsRun)('the dashboard in a real browser', () => {
  let browser: Browser;
  beforeAll(async () => { browser = await launchBrowser(); });
  afterAll(async () => { await browser.close(); });

  /** What the Content-Security-Policy blocked on any page of the test (it must block nothing of ours). */
  let blocked: string[] = [];
  afterEach(() => {
    const seen = blocked;
    blocked = [];
    expect(seen, 'the Content-Security-Policy blocked part of a page').toEqual([]);
  });

  /** A logged-in page: the start URL's one-time code is exchanged for the cookie. */
  async function open(server: TestServer, path: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (e) => { throw e; });
    page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) blocked.push(m.text()); });
    await page.goto(server.loginUrl());
    await page.goto(`${server.url}${path}`);
    return page;
  }

  function project(server: TestServer): string {
    const dir = join(server.dataDir, 'project');
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  it('starts a session from the home page and shows its messages as they arrive', async () => {
    const server = await serve({ providers: [new ReplayProvider({ messagesPerSecond: 8 })] });
    const page = await open(server, '/');
    await expect.poll(() => page.textContent('[data-testid=live]')).toContain('live');
    await page.getByLabel('Project folder').fill(project(server));
    await page.getByLabel('First prompt').fill('Fix the failing test');
    // New sessions ask first by default; this one may edit without asking.
    expect(await page.getByLabel('Permissions').inputValue()).toBe('default');
    await page.getByLabel('Permissions').selectOption('acceptEdits');
    // A project's own Claude Code settings are loaded only when asked for.
    expect(await page.getByLabel(/Load the project's own Claude Code settings/).isChecked()).toBe(false);
    await page.getByRole('button', { name: 'Start' }).click();
    await page.waitForURL(/\/sessions\/\d+$/);
    const timeline = page.getByTestId('timeline');
    await expect.poll(() => timeline.locator('.event').count()).toBeGreaterThanOrEqual(3);
    const early = await timeline.locator('.event').count();
    await screenshot(page, 'session-live-early');
    // The rest arrives without a reload: the agent's last message and the turn's end.
    await page.evaluate(() => { (globalThis as unknown as { marker: number }).marker = 1; });
    await expect.poll(() => page.getByTestId('status').textContent(), { timeout: 10_000 }).toBe('needs input');
    expect(await timeline.locator('.event').count()).toBeGreaterThan(early);
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(1);
    expect(await timeline.textContent()).toContain('Turn finished');
    const sessionId = Number(/\/sessions\/(\d+)/.exec(page.url())![1]);
    // Every message is on the page: the last one stored is the last row; tool results sit with their tool uses.
    const stored = (await server.call('GET', `/api/sessions/${String(sessionId)}/events`)).body.events as { seq: number }[];
    expect(await timeline.locator('.event').last().getAttribute('data-seq')).toBe(String(stored.at(-1)!.seq));
    expect(await timeline.locator('[data-testid=tool-use]').count()).toBe(4);
    expect(await timeline.locator('[data-testid=tool-use][data-tool=Edit] [data-testid=diff]').count()).toBe(1);
    await screenshot(page, 'session-live-done');
    // The home page lists it, with its preview and status.
    await page.goto(`${server.url}/`);
    const card = page.locator(`[data-session="${String(sessionId)}"]`);
    await expect.poll(() => card.getAttribute('data-status')).toBe('waiting_for_input');
    expect(await card.textContent()).toContain('Fix the failing test');
    await screenshot(page, 'home');
    await page.close();
  });

  it('queues a follow-up sent while the agent works, runs it, and stops it', async () => {
    // The first turn lasts about 7 s: long enough to send the follow-up while it runs, on a loaded machine too.
    const server = await serve({ providers: [new ReplayProvider({ messagesPerSecond: 8 })] });
    const created = await server.call('POST', '/api/sessions', { body: { projectPath: project(server), prompt: 'Refactor the module', provider: 'replay', settings: { transcript: 'refactor' } } });
    const id = created.body.session.id as number;
    const page = await open(server, `/sessions/${String(id)}`);
    await expect.poll(() => page.getByTestId('status').textContent()).toBe('working');
    await page.getByLabel('Prompt', { exact: true }).fill('Now add tests');
    await page.getByRole('button', { name: 'Send' }).click();
    const queued = page.getByTestId('queued-prompt');
    await expect.poll(() => queued.count()).toBe(1);
    expect(await queued.textContent()).toContain('Now add tests');
    await screenshot(page, 'follow-up-queued');
    // When the first turn ends, the follow-up runs: it leaves the queue and enters the conversation.
    await expect.poll(() => queued.count(), { timeout: 15_000 }).toBe(0);
    await expect.poll(() => page.locator('.event.user_prompt', { hasText: 'Now add tests' }).count()).toBe(1);
    await expect.poll(() => page.getByTestId('status').textContent()).toBe('working');
    await screenshot(page, 'follow-up-running');
    const t0 = Date.now();
    await page.getByRole('button', { name: 'Stop' }).click();
    await expect.poll(() => page.getByTestId('status').textContent()).toBe('stopped');
    expect(Date.now() - t0).toBeLessThan(2_000);
    await expect.poll(() => page.getByRole('button', { name: 'Resume' }).count()).toBe(1);
    await screenshot(page, 'session-stopped');
    await page.close();
  });

  it('shows a job enqueued through the API appear and complete in the jobs console, and cancels and retries', async () => {
    const server = await serve();
    const page = await open(server, '/jobs');
    await expect.poll(() => page.textContent('[data-testid=live]')).toContain('live');
    await page.evaluate(() => { (globalThis as unknown as { marker: number }).marker = 1; });
    const quick = await server.call('POST', '/api/jobs', { body: { type: 'demo.sleep', data: { ms: 600, steps: 3 } } });
    const row = page.locator(`[data-job="${String(quick.body.job.id)}"]`);
    await expect.poll(() => row.count()).toBe(1);
    await expect.poll(() => row.getAttribute('data-status')).toBe('completed');
    await expect.poll(() => page.locator('[data-count=completed] b').textContent()).toBe('1');
    // The wait chart: one minute with a finished job, its mean wait from due to start.
    expect(await page.getByTestId('wait-chart').getAttribute('aria-label')).toMatch(/^Mean wait from due to start per minute over the last hour; longest \d+ ms$/);
    expect(await page.getByTestId('wait-chart').locator('span[title*="mean wait"]').count()).toBe(1);
    await screenshot(page, 'jobs-completed');
    const slow = await server.call('POST', '/api/jobs', { body: { type: 'demo.sleep', data: { ms: 60_000, steps: 60 } } });
    await waitForServerJob(server, slow.body.job.id as number, 'running');
    const slowRow = page.locator(`[data-job="${String(slow.body.job.id)}"]`);
    await expect.poll(() => slowRow.getAttribute('data-status')).toBe('running');
    await slowRow.getByRole('button', { name: /Cancel/ }).click();
    await expect.poll(() => slowRow.getAttribute('data-status')).toBe('cancelled');
    await screenshot(page, 'jobs-cancelled');
    await slowRow.getByRole('button', { name: /Retry/ }).click();
    await expect.poll(() => slowRow.getAttribute('data-status')).toBe('running');
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(1);
    // The job's own page: its data, progress and attempts.
    await page.goto(`${server.url}/jobs/${String(slow.body.job.id)}`);
    await expect.poll(() => page.locator('progress').count()).toBe(1);
    expect(await page.textContent('main')).toContain('"ms": 60000');
    expect(await page.locator('table tbody tr').count()).toBe(2);
    await screenshot(page, 'job-detail');
    await page.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => page.getByTestId('status').textContent()).toBe('cancelled');
    await page.close();
  });

  it('shows what a waiting job runs after and what runs after it, and follows them', async () => {
    const server = await serve();
    // Children scheduled an hour ahead: the parent waits on them for the whole test.
    const later = Date.now() + 3_600_000;
    const flow = await server.call('POST', '/api/jobs', { body: {
      type: 'demo.echo', data: 'parent', onDependencyFailure: 'cancel',
      children: [{ type: 'demo.echo', data: 'a', runAt: later }, { type: 'demo.echo', data: 'b', runAt: later }],
    } });
    const page = await open(server, `/jobs/${String(flow.body.job.id)}`);
    expect(await page.getByTestId('status').textContent()).toBe('waiting');
    expect(await page.getByTestId('waiting').textContent()).toMatch(/Waiting for 2 of 2 jobs to complete; if one fails for good or is cancelled, this job is cancelled/);
    const after = page.getByRole('region', { name: 'Runs after' });
    expect(await after.locator('tbody tr').count()).toBe(2);
    await screenshot(page, 'job-waiting');
    await after.getByRole('link', { name: String(flow.body.flow.children[0].id) }).click();
    const before = page.getByRole('region', { name: 'Runs before' });
    await expect.poll(() => before.locator('tbody tr').count()).toBe(1);
    expect(await before.textContent()).toContain('waiting');
    // Cancelling the child cancels the parent by its policy; the page follows.
    await page.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => before.locator('.status').first().textContent()).toBe('cancelled');
    await page.close();
  });

  it('pauses and resumes a job type from the console, saying who paused it, and sets and removes its rate limit', async () => {
    const server = await serve();
    await server.call('POST', '/api/jobs', { body: { type: 'demo.echo', delay: 3_600_000 } });
    const page = await open(server, '/jobs');
    const row = page.locator('[data-testid=types] tr[data-type="demo.echo"]');
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.getByTestId('type-state').textContent()).toBe('running');
    await page.getByRole('button', { name: 'Pause demo.echo' }).click();
    await expect.poll(() => row.getByTestId('type-state').textContent()).toMatch(/^paused by dashboard \(browser [\w-]{8}\)/);
    expect((await server.system.store.typeList())[0]?.paused?.by).toMatch(/^dashboard/);
    await page.getByRole('button', { name: 'Set the rate limit of demo.echo' }).click();
    await page.getByRole('spinbutton', { name: 'Starts' }).fill('5');
    await page.getByRole('spinbutton', { name: 'Seconds' }).fill('2');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => row.getByTestId('type-limit').textContent()).toBe('5 per 2 s');
    await screenshot(page, 'jobs-types');
    await page.getByRole('button', { name: 'Resume demo.echo' }).click();
    await expect.poll(() => row.getByTestId('type-state').textContent()).toBe('running');
    await page.getByRole('button', { name: 'Remove the rate limit of demo.echo' }).click();
    await expect.poll(() => row.getByTestId('type-limit').textContent()).toBe('none');
    expect((await server.system.store.typeList())[0]).toMatchObject({ paused: null, rateLimit: null, resumed: { by: expect.stringMatching(/^dashboard/) as unknown } });
    await page.close();
  });

  it('retries every cancelled job the filter shows, after saying how many and asking once more', async () => {
    const server = await serve();
    for (let i = 0; i < 2; i += 1) await server.call('POST', '/api/jobs', { body: { type: 'demo.echo', data: i, delay: 3_600_000 } });
    await server.call('DELETE', '/api/jobs', { body: { filter: { type: ['demo.echo'] } } });
    const page = await open(server, '/jobs?status=cancelled');
    await page.getByRole('button', { name: 'Retry all 2 cancelled jobs…' }).click();
    const dialog = page.getByRole('alertdialog', { name: 'Retry 2 cancelled jobs' });
    expect(await dialog.textContent()).toContain('Retry 2 cancelled jobs? They run again with fresh attempts.');
    await dialog.getByRole('button', { name: 'Keep them' }).click();
    expect(await page.getByRole('alertdialog').count()).toBe(0);
    expect((await server.system.listJobs({ status: ['cancelled'] })).total).toBe(2);
    await page.getByRole('button', { name: 'Retry all 2 cancelled jobs…' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Retry 2' }).click();
    // Retried jobs are due at once: the worker runs them.
    await expect.poll(async () => (await server.system.listJobs({ status: ['completed'] })).total).toBe(2);
    await expect.poll(() => page.getByRole('button', { name: /Retry all/ }).count()).toBe(0);
    await page.close();
  });

  it('searches jobs by a field of their data from the console, and says what it cannot search', async () => {
    const server = await serve();
    const hit = await server.call('POST', '/api/jobs', { body: { type: 'demo.echo', data: { path: 'a.png' }, delay: 3_600_000 } });
    await server.call('POST', '/api/jobs', { body: { type: 'demo.echo', data: { path: 'b.png' }, delay: 3_600_000 } });
    const page = await open(server, '/jobs');
    await page.getByRole('textbox', { name: 'Data field equals' }).fill('path=a.png');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.locator('[data-testid=jobs] tbody tr').count()).toBe(1);
    expect(await page.locator(`[data-job="${String(hit.body.job.id)}"]`).count()).toBe(1);
    expect(page.url()).toContain('where=path%3Da.png');
    await page.getByRole('textbox', { name: 'Data field equals' }).fill('a..b=1');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/data\.a\.\.b: is not a path of keys/);
    await page.close();
  });

  it('opens a 5,000-event session at its end, renders only what is in view, and loads earlier messages as the reader scrolls up', async () => {
    const server = await serve();
    const store = server.services.api.sessionStore;
    const s = await store.sessionCreate({ session: { projectPath: project(server), provider: 'replay', title: 'Long one' }, now: Date.now() });
    for (let n = 0; n < 5_000; n += 1_000) {
      await store.eventAppend({ sessionId: s.id, now: Date.now(), events: Array.from({ length: 1_000 }, (_, i) => ({ type: 'assistant', payload: { type: 'assistant', message: { content: [{ type: 'text', text: `message ${String(n + i + 1)}` }] } } })) });
    }
    const page = await open(server, `/sessions/${String(s.id)}`);
    const rows = page.locator('[data-testid=timeline] .event');
    // The end is in view, and only what is in view is in the page.
    await expect.poll(async () => rows.last().textContent()).toContain('message 5000');
    expect(await rows.count()).toBeLessThan(40);
    await screenshot(page, 'long-session');
    // Scrolling to the top brings earlier messages, the reader's place kept.
    const firstSeq = async (): Promise<number> => Number(await rows.first().getAttribute('data-seq'));
    for (let i = 0; i < 3; i += 1) await page.getByTestId('timeline').evaluate((el) => { (el as unknown as { scrollTop: number }).scrollTop = 0; });
    await expect.poll(async () => { await page.getByTestId('timeline').evaluate((el) => { (el as unknown as { scrollTop: number }).scrollTop = 0; }); return firstSeq(); }).toBeLessThan(4_000);
    expect(await rows.count()).toBeLessThan(40);
    await page.close();
  });

  it('notifies (when turned on) of a session that needs approval; its card and the tab title say so; search, j/k and Esc work', async () => {
    const server = await serve({ providers: [new ReplayProvider({ messagesPerSecond: 50 })] });
    const dir = project(server);
    const quiet = await server.call('POST', '/api/sessions', { body: { projectPath: dir, prompt: 'say hello', provider: 'replay', settings: { transcript: 'hello' } } });
    await waitForServerJob(server, quiet.body.job.id as number, 'completed');
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (e) => { throw e; });
    // The browser's Notification, recorded (headless Chromium shows none).
    await page.addInitScript(() => {
      const g = globalThis as unknown as { notes: string[]; Notification: unknown };
      g.notes = [];
      g.Notification = class {
        static permission = 'default';
        static requestPermission(): Promise<string> { (this as unknown as { permission: string }).permission = 'granted'; return Promise.resolve('granted'); }
        onclick: unknown = null;
        constructor(title: string) { g.notes.push(title); }
      };
    });
    await page.goto(server.loginUrl());
    await page.goto(`${server.url}/`);
    await page.waitForSelector('html[data-hydrated="1"]');
    await page.getByTestId('notifications').click();
    await expect.poll(() => page.getByTestId('notifications').textContent()).toContain('Notifications on');
    const asking = await server.call('POST', '/api/sessions', { body: { projectPath: dir, prompt: 'Fix the failing test', provider: 'replay', settings: { transcript: 'fix-bug', permissionMode: 'default' } } });
    const id = asking.body.session.id as number;
    const notes = (): Promise<string[]> => page.evaluate(() => (globalThis as unknown as { notes: string[] }).notes);
    await expect.poll(notes).toContain('Fix the failing test needs your approval');
    const card = page.locator(`[data-session="${String(id)}"]`);
    await expect.poll(() => card.getAttribute('data-pending-approvals')).toBe('1');
    expect(await card.textContent()).toContain('needs approval (1)');
    expect(await page.title()).toBe('(1) Sessions · agentq');
    await screenshot(page, 'home-needs-approval');
    // Its page: search finds the command it ran; j goes to the next (older) session, k back; Esc stops.
    await card.getByRole('link', { name: 'Fix the failing test' }).click();
    await page.waitForURL(new RegExp(`/sessions/${String(id)}$`));
    await expect.poll(() => page.getByTestId('approval').count()).toBe(1);
    await page.getByLabel('Search this session').fill('npm test');
    await page.getByLabel('Search this session').press('Enter');
    await expect.poll(() => page.getByTestId('search-result').textContent()).toMatch(/^1 of \d+/);
    await page.locator('body').click({ position: { x: 5, y: 300 } });
    await page.keyboard.press('j');
    await page.waitForURL(new RegExp(`/sessions/${String(quiet.body.session.id)}$`));
    await expect.poll(() => page.getByTestId('status').textContent()).toBe('needs input');
    await page.keyboard.press('k');
    await page.waitForURL(new RegExp(`/sessions/${String(id)}$`));
    await expect.poll(() => page.getByTestId('status').textContent()).toBe('needs approval');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('status').textContent()).toBe('stopped');
    expect((await server.call('GET', `/api/sessions/${String(id)}/approvals`)).body.approvals[0].status).toBe('interrupted');
    await page.close();
  }, 90_000);

  it('renders each kind of tool use for review, and each kind of request as it will act', async () => {
    const server = await serve();
    const store = server.services.api.sessionStore;
    const dir = project(server);
    const s = await store.sessionCreate({ session: { projectPath: dir, provider: 'replay', title: 'Review' }, now: Date.now() });
    const use = (id: string, name: string, input: unknown, parent: string | null = null): { type: string; payload: unknown } =>
      ({ type: 'assistant', payload: { type: 'assistant', parent_tool_use_id: parent, message: { content: [{ type: 'tool_use', id, name, input }] } } });
    const result = (id: string, content: string, isError = false, parent: string | null = null): { type: string; payload: unknown } =>
      ({ type: 'user', payload: { type: 'user', parent_tool_use_id: parent, message: { content: [{ type: 'tool_result', tool_use_id: id, content, is_error: isError }] } } });
    await store.eventAppend({ sessionId: s.id, now: Date.now(), events: [
      { type: 'user_prompt', payload: { prompt: 'review me' } },
      use('t1', 'TodoWrite', { todos: [{ content: 'Read the code', status: 'completed' }, { content: 'Fix the bug', status: 'in_progress', activeForm: 'Fixing the bug' }, { content: 'Run the tests', status: 'pending' }] }),
      result('t1', 'ok'),
      use('t2', 'Bash', { command: 'npm test' }),
      result('t2', Array.from({ length: 60 }, (_, i) => `line ${String(i + 1)}`).join('\n')),
      use('t3', 'Bash', { command: 'false' }),
      result('t3', 'exit code 1', true),
      use('t4', 'Task', { description: 'Search the codebase', prompt: 'Find every caller of add()' }),
      use('t5', 'Grep', { pattern: 'add(' }, 't4'),
      result('t5', 'src/math.ts:3', false, 't4'),
      result('t4', 'Found one caller.'),
      use('t6', 'MultiEdit', { file_path: join(dir, 'a.ts'), edits: [{ old_string: 'a - b', new_string: 'a + b' }, { old_string: 'x', new_string: 'y' }] }),
      result('t6', 'ok'),
    ] });
    writeFileSync(join(dir, 'notes.md'), '# Notes\nold line\n');
    for (const [tool, input] of [['WebFetch', { url: 'https://example.com/docs', prompt: 'read the docs' }], ['mcp__db__query', { sql: 'select 1' }], ['Edit', { file_path: join(dir, 'b.ts'), old_string: 'old', new_string: 'new' }], ['Write', { file_path: join(dir, 'notes.md'), content: '# Notes\nnew line\n' }]] as const) {
      await store.approvalCreate({ approval: { sessionId: s.id, tool, input }, now: Date.now() });
    }
    const page = await open(server, `/sessions/${String(s.id)}`);
    const timeline = page.getByTestId('timeline');
    await expect.poll(() => timeline.getByTestId('todos').count()).toBe(1);
    expect(await timeline.getByTestId('todos').textContent()).toBe('☑ Read the code◐ Fixing the bug☐ Run the tests');
    // The command with its output, folded past 20 lines.
    const tests = timeline.locator('[data-tool=Bash]').first();
    await tests.locator('summary').click();
    expect(await tests.getByTestId('output').textContent()).toContain('Show all 60 lines');
    expect(await tests.getByTestId('output').textContent()).not.toContain('line 21');
    await tests.getByRole('button', { name: 'Show all 60 lines' }).click();
    expect(await tests.getByTestId('output').textContent()).toContain('line 60');
    expect(await timeline.locator('[data-tool=Bash].failed .badge').textContent()).toContain('error');
    // The sub-agent's messages inside its Task.
    const task = timeline.getByTestId('task');
    expect(await task.locator(':scope > summary').textContent()).toContain('Search the codebase · 2 messages');
    await task.locator(':scope > summary').click();
    expect(await task.locator('[data-tool=Grep]').count()).toBe(1);
    expect(await timeline.locator('[data-tool=MultiEdit] [data-testid=diff]').count()).toBe(2);
    // Requests: a URL, an unknown tool's raw input, an edit's diff; answered in any order.
    const cards = page.getByTestId('approval');
    expect(await cards.count()).toBe(4);
    // A Write over an existing file: the diff is against the file as it is.
    expect(await cards.nth(3).textContent()).toContain("Replaces the file's current content");
    expect(await cards.nth(3).getByTestId('diff').textContent()).toContain('-old line+new line');
    expect(await cards.nth(0).getByTestId('url').textContent()).toContain('https://example.com/docs');
    expect(await cards.nth(1).getByTestId('raw-input').textContent()).toContain('"sql": "select 1"');
    expect(await cards.nth(2).getByTestId('diff').textContent()).toContain('+new');
    await screenshot(page, 'review-kinds');
    await cards.nth(2).getByRole('button', { name: 'Allow once' }).click();
    await expect.poll(() => cards.count()).toBe(3);
    await cards.nth(0).getByRole('button', { name: 'Deny…' }).click();
    await cards.nth(0).getByRole('button', { name: 'Deny', exact: true }).click();
    await expect.poll(() => cards.count()).toBe(2);
    expect((await store.approvalList({ sessionId: s.id })).map((a) => a.status)).toEqual(['denied', 'pending', 'allowed', 'pending']);
    await page.close();
  });

  it('saves the defaults of new sessions on the settings page; the new-session form starts from them', async () => {
    const server = await serve();
    const page = await open(server, '/settings');
    await page.waitForSelector('html[data-hydrated="1"]');
    await page.getByLabel('Permission mode').selectOption('acceptEdits');
    await page.getByLabel('Allowed without asking (one rule per line)').fill('Read\nBash(npm test:*)');
    await page.getByLabel('Max turns').fill('25');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('new sessions start with these');
    expect((await server.call('GET', '/api/settings')).body.defaults).toEqual({ permissionMode: 'acceptEdits', allowedTools: ['Read', 'Bash(npm test:*)'], maxTurns: 25 });
    await screenshot(page, 'settings');
    await page.getByLabel('Max turns').fill('');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect.poll(async () => (await server.call('GET', '/api/settings')).body.defaults.maxTurns).toBeUndefined();
    await page.goto(`${server.url}/`);
    expect(await page.getByLabel('Permissions').inputValue()).toBe('acceptEdits');
    await page.close();
  });

  it('lists the logged-in browsers on the settings page: another is revoked, this one logs out', async () => {
    const server = await serve();
    const other = await browser.newPage();
    await other.goto(server.loginUrl());
    const page = await open(server, '/settings');
    await page.waitForSelector('html[data-hydrated="1"]');
    const rows = page.getByTestId('browser-session');
    expect(await rows.count()).toBe(2);
    expect(await rows.first().textContent()).toContain('(this browser)');
    await screenshot(page, 'browser-sessions');
    await rows.nth(1).getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(() => rows.count()).toBe(1);
    // The revoked browser is out: its next request is refused and it is shown how to log in.
    const refused = await other.goto(`${server.url}/settings`);
    expect(refused?.status()).toBe(401);
    expect(await other.textContent('body')).toContain('agentq url');
    await page.getByRole('button', { name: 'Log out of this browser' }).click();
    await page.waitForURL(`${server.url}/`);
    expect(await page.textContent('h1')).toContain('log in');
    expect(server.browserSessions.list()).toEqual([]);
    await other.close();
    await page.close();
  });

  it('archiving a session in a worktree offers to remove the worktree, saying what would be lost', async () => {
    const repo = gitRepo();
    try {
      const server = await serve({ providers: [new ReplayProvider({ messagesPerSecond: 200 })] });
      const created = async (title: string): Promise<{ id: number; worktree: { path: string; branch: string } }> => {
        const r = await server.call('POST', '/api/sessions', { body: { projectPath: repo.dir, prompt: 'hi', title, provider: 'replay', settings: { transcript: 'hello' }, isolation: 'worktree' } });
        await waitForServerJob(server, r.body.job.id as number, 'completed');
        return r.body.session;
      };
      const kept = await created('Keep its worktree');
      const removed = await created('Remove its worktree');
      writeFileSync(join(removed.worktree.path, 'draft.txt'), 'unfinished\n');
      const page = await open(server, '/');
      const asked: string[] = [];
      // The first archive keeps the worktree (Cancel), the second removes it (OK).
      page.on('dialog', (d) => { asked.push(d.message()); void (asked.length === 1 ? d.dismiss() : d.accept()); });
      await page.getByRole('button', { name: 'Archive Keep its worktree' }).click();
      await expect.poll(async () => (await server.call('GET', `/api/sessions/${String(kept.id)}`)).body.session.archived).toBe(true);
      expect(existsSync(kept.worktree.path)).toBe(true);
      await page.getByRole('button', { name: 'Archive Remove its worktree' }).click();
      await expect.poll(async () => (await server.call('GET', `/api/sessions/${String(removed.id)}`)).body.session.archived).toBe(true);
      expect(asked[1]).toMatch(/^Remove its worktree too\? discarding removes .* losing 1 uncommitted file\(s\) \(draft\.txt\)\./);
      expect(existsSync(removed.worktree.path)).toBe(false);
      expect(gitIn(repo.dir, 'branch', '--list', removed.worktree.branch)).toBe('');
      expect(gitIn(repo.dir, 'branch', '--list', kept.worktree.branch)).not.toBe('');
      await page.close();
    } finally {
      repo.cleanup();
    }
  });

  it('explains empty states and errors, and fits a phone-width screen', async () => {
    const server = await serve();
    const page = await open(server, '/');
    expect(await page.textContent('.empty')).toContain('No sessions yet');
    // A wrong folder is told while it is typed, and nothing can be started on it.
    await page.waitForSelector('html[data-hydrated="1"]');
    await page.getByLabel('Project folder').fill('/no/such/folder');
    await page.getByLabel('First prompt').fill('hello');
    await expect.poll(() => page.getByTestId('folder-error').textContent()).toBe('/no/such/folder does not exist; create it or pick another folder');
    expect(await page.getByRole('button', { name: 'Start' }).isDisabled()).toBe(true);
    await page.getByLabel('Project folder').fill(server.dataDir);
    await expect.poll(() => page.getByTestId('folder-error').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Start' }).isDisabled()).toBe(false);
    await page.setViewportSize({ width: 375, height: 740 });
    const overflow = await page.evaluate(() => {
      const root = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
      return root.scrollWidth - root.clientWidth;
    });
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(page, 'home-phone');
    await page.goto(`${server.url}/jobs`);
    expect(await page.textContent('.empty')).toContain('No jobs yet');
    await page.goto(`${server.url}/sessions/999`);
    expect(await page.textContent('[role=alert]')).toContain('does not exist');
    await page.close();
  });
});
