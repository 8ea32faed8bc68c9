import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The reliability battery runs on its own: npm run test:reliability.
    exclude: ['test/reliability/**', 'node_modules/**'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Conditions awaited with expect.poll (browser tests, mostly) get time on a loaded machine.
    expect: { poll: { timeout: 10_000, interval: 50 } },
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      exclude: ['src/cli/**', 'src/**/*.d.ts'],
      reporter: ['text-summary', 'text'],
      // The job system (store, queue, sessions) is held to 100% lines, per folder.
      thresholds: {
        'src/store/**': { lines: 100 },
        'src/queue/**': { lines: 100 },
        'src/sessions/**': { lines: 100 },
      },
    },
  },
});
