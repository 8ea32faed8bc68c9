/**
 * The published package: `npm pack`, installed into an empty directory without dev dependencies,
 * runs `agentq --help`, starts `agentq serve` and serves the built UI. Slow (npm builds
 * better-sqlite3 for the fresh install), so it runs once, in its own file.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { ROOT, waitForExit } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';

const tmp = tempDir('agentq-pack-');
afterAll(() => { tmp.cleanup(); });

const npm = (args: string[], cwd: string): string => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } });

it('packs only what it needs, installs into an empty directory and serves the UI', async () => {
  // dist/ and build/ are fresh (the test setup builds them), so the prepack build is skipped here.
  const [packed] = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', tmp.dir], ROOT)) as { filename: string; files: { path: string }[] }[];
  const files = packed!.files.map((f) => f.path);
  expect(files).toContain('bin/agentq.js');
  expect(files).toContain('dist/cli/run.js');
  expect(files).toContain('build/server/index.js');
  expect(files.some((f) => f.startsWith('build/client/assets/') && f.endsWith('.js'))).toBe(true);
  expect(files.filter((f) => f.startsWith('fixtures/')).sort()).toEqual(['fixtures/replay/claude-code.jsonl', 'fixtures/replay/fix-bug.jsonl', 'fixtures/replay/hello.jsonl', 'fixtures/replay/refactor.jsonl']);
  expect(files.filter((f) => /^(test|src|bench|app|scratch|coverage)\//.test(f) || f.endsWith('.map') || f.includes('.test.'))).toEqual([]);

  const app = join(tmp.dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'try-agentq', version: '1.0.0', private: true }));
  npm(['install', join(tmp.dir, packed!.filename), '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], app);
  const installed = JSON.parse(readFileSync(join(app, 'node_modules', 'agentq', 'package.json'), 'utf8')) as { name: string };
  expect(installed.name).toBe('agentq');
  expect(() => execFileSync(process.execPath, ['-e', 'require.resolve("vitest")'], { cwd: app, stdio: 'ignore' })).toThrow();

  // Real sessions need no extra install: the Agent SDK and its Claude Code binary came with agentq.
  const installedClaude = await import(pathToFileURL(join(app, 'node_modules', 'agentq', 'dist', 'sessions', 'claude.js')).href) as typeof import('../../src/sessions/claude.js');
  expect(installedClaude.bundledExecutable()).toMatch(new RegExp(`^${app}/node_modules/.*/claude(\\.exe)?$`));

  const bin = join(app, 'node_modules', '.bin', 'agentq');
  const help = execFileSync(bin, ['--help'], { cwd: app, encoding: 'utf8' });
  expect(help).toMatch(/Usage: agentq \[command\]/);

  const child = spawn(bin, ['--port', '0'], { cwd: app, env: { ...process.env, AGENTQ_DATA_DIR: join(tmp.dir, 'data'), AGENTQ_OPEN: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = waitForExit(child);
  const login = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /Open (http:\S+) /.exec(out);
      if (m !== null) resolve(m[1]!);
    });
    child.once('exit', (code) => { reject(new Error(`agentq serve exited ${String(code)}: ${out}`)); });
  });
  const res = await fetch(login, { redirect: 'manual' });
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const base = new URL(login).origin;
  const page = await fetch(`${base}/jobs`, { headers: { cookie } });
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain('Jobs');
  const asset = /\/assets\/[^"]+\.js/.exec(html)![0];
  expect((await fetch(`${base}${asset}`)).status).toBe(200);
  child.kill('SIGTERM');
  expect((await exited).code).toBe(0);
}, 300_000);
