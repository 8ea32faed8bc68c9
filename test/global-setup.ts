/**
 * Builds what the tests run when it is missing or older than its sources, so `npm test` works on a
 * clean checkout: the web app (react-router build; the server tests load build/server/index.js) and
 * the compiled CLI (dist/; the CLI tests run it as a subprocess, as users do).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');

function newest(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((f) => newest(join(path, f))));
}

function stale(output: string, sources: string[]): boolean {
  return !existsSync(output) || statSync(output).mtimeMs < Math.max(...sources.map(newest));
}

export default function setup(): void {
  if (stale(join(root, 'build', 'server', 'index.js'), [join(root, 'app'), join(root, 'public'), join(root, 'react-router.config.ts'), join(root, 'vite.config.ts')])) {
    execFileSync(process.execPath, [join(root, 'node_modules', '@react-router', 'dev', 'bin.js'), 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  if (stale(join(root, 'dist', 'cli', 'run.js'), [join(root, 'src')])) {
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  }
}
