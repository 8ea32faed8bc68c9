/**
 * The agentq command. This first version runs a worker on the embedded SQLite database and reads
 * statistics; serve, enqueue, jobs, backups and the rest arrive with the CLI issue.
 */
import { parseArgs } from 'node:util';
import { defaultDatabasePath } from '../store/sqlite/database.js';
import { AgentqError } from '../store/errors.js';
import { createJobSystem } from '../system/job-system.js';

const HELP = `agentq — a durable background job queue on SQLite

Usage:
  agentq worker [--db <file>] [--concurrency <n>]   run jobs until Ctrl-C (drains gracefully)
  agentq stats  [--db <file>] [--json]              queue statistics

Options:
  --db <file>        database file (default: $AGENTQ_DATA_DIR/agentq.db or ~/.agentq/agentq.db)
  --concurrency <n>  handlers running at once (default 10)
  --json             machine-readable output
  -h, --help         this help

Example:
  agentq worker --db ./jobs.db --concurrency 20
`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      db: { type: 'string' },
      concurrency: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const command = positionals[0] ?? 'worker';
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const database = values.db ?? defaultDatabasePath();
  switch (command) {
    case 'worker': {
      const concurrency = values.concurrency === undefined ? 10 : Number(values.concurrency);
      const system = createJobSystem({ database, concurrency });
      system.handleSignals();
      system.start();
      process.stdout.write(`agentq worker ${system.worker.workerId} on ${database} (concurrency ${concurrency}); Ctrl-C drains and stops\n`);
      return await new Promise<number>(() => undefined);
    }
    case 'stats': {
      const system = createJobSystem({ database });
      const stats = await system.stats();
      await system.close();
      if (values.json) process.stdout.write(`${JSON.stringify(stats.jobs)}\n`);
      else {
        const s = stats.jobs.byStatus;
        process.stdout.write(`queued ${s.queued} (due ${stats.jobs.due})  running ${s.running}  completed ${s.completed}  failed ${s.failed}  cancelled ${s.cancelled}\n`);
        process.stdout.write(`last hour: ${stats.jobs.lastHour.completed} completed, ${stats.jobs.lastHour.failed} failed\n`);
      }
      return 0;
    }
    default:
      process.stderr.write(`agentq: unknown command "${command}"; run agentq --help for the list\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    process.stderr.write(`agentq: ${err instanceof AgentqError || err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
