import pg from 'pg';
import { defineConfig } from 'vitest/config';

/** Whether the PostgreSQL tests can run (they skip, with a message, when not and CI is unset). */
async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: process.env.AGENTQ_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test', connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Tests that run the real Claude Code: each agent process takes a core for a second or more, so
 * these run one file at a time, after the rest, instead of loading the machine under tests that
 * measure time.
 */
const AGENT_TESTS = ['test/sessions/claude.test.ts', 'test/sessions/claude-crash.test.ts', 'test/browser/claude.test.ts'];

export default defineConfig(async () => {
  // Without a server the PostgreSQL backend's tests skip; its code is then not held to the coverage bar.
  const skipPostgres = !(await postgresReachable()) && (process.env.CI ?? '') === '';
  return {
    test: {
      projects: [
        // The reliability battery runs on its own: npm run test:reliability.
        { extends: true as const, test: { name: 'main', include: ['test/**/*.test.ts'], exclude: ['test/reliability/**', 'node_modules/**', ...AGENT_TESTS], sequence: { groupOrder: 0 } } },
        { extends: true as const, test: { name: 'agents', include: AGENT_TESTS, fileParallelism: false, sequence: { groupOrder: 1 } } },
      ],
      globalSetup: ['test/global-setup.ts'],
      testTimeout: 30_000,
      hookTimeout: 30_000,
      pool: 'forks' as const,
      // Conditions awaited with expect.poll (browser tests, mostly) get time on a loaded machine.
      expect: { poll: { timeout: 10_000, interval: 50 } },
      coverage: {
        provider: 'v8' as const,
        include: ['src/**/*.ts'],
        exclude: ['src/cli/**', 'src/**/*.d.ts', ...(skipPostgres ? ['src/store/postgres/**'] : [])],
        reporter: ['text-summary', 'text'],
        // The figures help most when a test failed.
        reportOnFailure: true,
        thresholds: {
          // The job system: every line, and the branches that tests can honestly reach (the rest
          // are defensive: a driver error mid-rollback, a platform without process groups).
          'src/store/**': { lines: 100, branches: 95 },
          'src/queue/**': { lines: 100, branches: 95 },
          'src/sessions/**': { lines: 100, branches: 90 },
          'src/system/**': { lines: 100, branches: 90 },
          'src/server/**': { lines: 100, branches: 90 },
        },
      },
    },
  };
});
