import { afterEach, beforeEach } from 'vitest';
import type { JobSystem } from '../../src/system/job-system.js';
import { tempDir } from './temp.js';

/**
 * A fresh temporary directory per test, and job systems closed (grace 0) after it: call once at the
 * top of a test file. `track(system)` registers a system for closing; `untrack` takes one back.
 */
export function useSystems(): { readonly dir: string; track: <S extends JobSystem>(s: S) => S; untrack: (s: JobSystem) => void } {
  let tmp: ReturnType<typeof tempDir> | null = null;
  let systems: JobSystem[] = [];
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(async () => {
    for (const s of systems) await s.close({ graceMs: 0 });
    systems = [];
    tmp?.cleanup();
  });
  return {
    get dir(): string {
      if (tmp === null) throw new Error('useSystems().dir is only available inside a test');
      return tmp.dir;
    },
    track: (s) => {
      systems.push(s);
      return s;
    },
    untrack: (s) => {
      systems = systems.filter((x) => x !== s);
    },
  };
}
