/**
 * The agentq command. This first version runs a worker on the embedded SQLite database and reads
 * statistics; serve, enqueue, jobs, backups and the rest arrive with the CLI issue.
 */
import { parseArgs } from 'node:util';
import { defaultDatabasePath } from '../store/sqlite/database.js';
import { AgentqError } from '../store/errors.js';
import { createJobSystem } from '../system/job-system.js';
import { restoreBackup } from '../store/sqlite/maintenance.js';
import { createSqliteStore } from '../store/sqlite/store.js';

const HELP = `agentq — a durable background job queue on SQLite

Usage:
  agentq worker [--db <file>] [--concurrency <n>]   run jobs until Ctrl-C (drains gracefully)
  agentq stats  [--db <file>] [--json]              queue statistics
  agentq backup [--db <file>] [--to <name>] [--json] online backup into <data dir>/backups
  agentq restore <backup file> [--db <file>]        replace the (stopped) database with a backup

Options:
  --db <file>        database file (default: $AGENTQ_DATA_DIR/agentq.db or ~/.agentq/agentq.db)
  --concurrency <n>  handlers running at once (default 10)
  --json             machine-readable output
  -h, --help         this help

Examples:
  agentq worker --db ./jobs.db --concurrency 20
  agentq backup --to before-upgrade.db
  agentq restore ~/.agentq/backups/agentq-20261129T030000000Z.db
`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      db: { type: 'string' },
      concurrency: { type: 'string' },
      json: { type: 'boolean', default: false },
      to: { type: 'string' },
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
    case 'backup': {
      const store = createSqliteStore({ path: database, checkpoint: 'inline' });
      try {
        const r = await store.maintenance.backup({
          dir: store.maintenance.defaultBackupDir as string,
          ...(values.to === undefined ? {} : { name: values.to }),
        });
        process.stdout.write(values.json ? `${JSON.stringify(r)}\n` : `backup written: ${r.path} (${r.bytes} bytes, integrity ok)\n`);
      } finally {
        await store.close();
      }
      return 0;
    }
    case 'restore': {
      const from = positionals[1];
      if (from === undefined) {
        process.stderr.write('agentq: restore needs a backup file: agentq restore <file> [--db <file>]\n');
        return 2;
      }
      const r = restoreBackup({ from, to: database });
      process.stdout.write(`restored ${r.jobs} jobs into ${r.restored}${r.previous === null ? '' : `; the previous database is at ${r.previous}`}\n`);
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
