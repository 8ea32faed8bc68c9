import { defineConfig } from 'vitest/config';

// npm run test:reliability: the whole system through real processes and a real SQLite file
// (crashes, fencing, signals, a full disk, bad files, hostile HTTP). Bounded to a few minutes.
export default defineConfig({
  test: {
    include: ['test/reliability/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 240_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Conditions awaited with expect.poll (browser tests, mostly) get time on a loaded machine.
    expect: { poll: { timeout: 10_000, interval: 50 } },
    fileParallelism: false,
  },
});
