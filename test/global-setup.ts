/**
 * Builds the web app (react-router build) before the tests when build/ is missing or older than
 * its sources, so `npm test` works on a clean checkout; the server tests load build/server/index.js.
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

export default function setup(): void {
  const built = join(root, 'build', 'server', 'index.js');
  const sources = Math.max(newest(join(root, 'app')), newest(join(root, 'react-router.config.ts')), newest(join(root, 'vite.config.ts')));
  if (existsSync(built) && statSync(built).mtimeMs >= sources) return;
  execFileSync(process.execPath, [join(root, 'node_modules', '@react-router', 'dev', 'bin.js'), 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}
