import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');

/** Start a TypeScript file as a child Node process (through tsx). */
export function spawnTs(file: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', resolve(ROOT, file), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Resolve once the child has printed a line equal to `line` on stdout. */
export function waitForLine(child: ChildProcess, line: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    let buffer = '';
    const onData = (d: Buffer): void => {
      buffer += d.toString();
      if (buffer.split('\n').includes(line)) {
        child.stdout?.off('data', onData);
        resolvePromise();
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => { reject(new Error(`child exited (${String(code)}) before printing "${line}"`)); });
  });
}

/** Resolve with the first line the child prints on stdout that starts with `prefix`. */
export function waitForLinePrefix(child: ChildProcess, prefix: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    let buffer = '';
    const onData = (d: Buffer): void => {
      buffer += d.toString();
      const line = buffer.split('\n').find((l) => l.startsWith(prefix) && buffer.includes(`${l}\n`));
      if (line !== undefined) {
        child.stdout?.off('data', onData);
        resolvePromise(line);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => { reject(new Error(`child exited (${String(code)}) before printing "${prefix}…"`)); });
  });
}

/** Wait for a child to exit; resolves with its exit code, signal and collected output. */
export function waitForExit(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  return new Promise((resolvePromise, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => { resolvePromise({ code, signal, stdout, stderr }); });
  });
}
