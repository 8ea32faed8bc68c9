/**
 * The agentq command: `serve` (the default) runs the web app and the job system; `worker` runs jobs
 * only; `stats`, `backup`, `restore` and `url` work on the same data directory.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startServer } from '../server/server.js';
import { defaultDataDir, defaultDatabasePath } from '../store/sqlite/database.js';
import { AgentqError } from '../store/errors.js';
import { createJobSystem } from '../system/job-system.js';
import { restoreBackup } from '../store/sqlite/maintenance.js';
import { createSqliteStore } from '../store/sqlite/store.js';

const HELP = `agentq — a durable background job queue on SQLite

Usage:
  agentq [serve] [--port <n>] [--host <addr>] [--no-open]
                                                    the web app on http://127.0.0.1:4317 (the default command)
  agentq url                                        print a login URL for the running server
  agentq worker [--db <file>] [--concurrency <n>]   run jobs until Ctrl-C (drains gracefully)
  agentq stats  [--db <file>] [--json]              queue statistics
  agentq backup [--db <file>] [--to <name>] [--json] online backup into <data dir>/backups
  agentq restore <backup file> [--db <file>]        replace the (stopped) database with a backup

Options:
  --db <file>        database file (default: $AGENTQ_DATA_DIR/agentq.db or ~/.agentq/agentq.db)
  --port <n>         serve: port (default 4317; 0 picks a free one)
  --host <addr>      serve: interface (default 127.0.0.1; others need --token)
  --token <secret>   serve: access token (default: generated into <data dir>/token; or $AGENTQ_TOKEN)
  --allow-host <h>   serve: another host name the server answers to (repeatable)
  --no-open          serve: do not open a browser
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
      port: { type: 'string' },
      host: { type: 'string' },
      token: { type: 'string' },
      'allow-host': { type: 'string', multiple: true },
      'no-open': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const command = positionals[0] ?? 'serve';
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const database = values.db ?? defaultDatabasePath();
  switch (command) {
    case 'serve': {
      const port = values.port === undefined ? 4317 : Number(values.port);
      if (!Number.isInteger(port) || port < 0 || port > 65_535) {
        process.stderr.write(`agentq: --port must be a port number (got "${values.port ?? ''}")\n`);
        return 2;
      }
      const token = values.token ?? process.env.AGENTQ_TOKEN;
      const server = await startServer({
        database,
        port,
        ...(values.host === undefined ? {} : { host: values.host }),
        ...(token === undefined ? {} : { token }),
        ...(values['allow-host'] === undefined ? {} : { allowedHosts: values['allow-host'] }),
        ...(values.concurrency === undefined ? {} : { concurrency: Number(values.concurrency) }),
      });
      const login = server.loginUrl();
      process.stdout.write(`agentq is running at ${server.url}\nOpen ${login} to log in (the link works once; \`agentq url\` prints a new one).\nCtrl-C stops it; running jobs get 10 s to finish, and queued ones wait for the next start.\n`);
      if (!values['no-open'] && process.env.AGENTQ_NO_OPEN === undefined) openBrowser(login);
      let stopping = false;
      const stop = (): void => {
        if (stopping) process.exit(1);
        stopping = true;
        process.stdout.write('agentq: stopping (Ctrl-C again to quit at once)\n');
        server.close().then(() => process.exit(0), (error: unknown) => {
          process.stderr.write(`agentq: ${error instanceof Error ? error.message : String(error)}\n`);
          process.exit(1);
        });
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      return await new Promise<number>(() => undefined);
    }
    case 'url': {
      const dataDir = defaultDataDir();
      let info: { url: string };
      try {
        info = JSON.parse(readFileSync(resolve(dataDir, 'server.json'), 'utf8')) as { url: string };
      } catch {
        process.stderr.write(`agentq: no server is running on ${dataDir}; start one with \`agentq serve\`\n`);
        return 1;
      }
      const token = readFileSync(resolve(dataDir, 'token'), 'utf8').trim();
      process.stdout.write(`${info.url}/?token=${token}\n`);
      return 0;
    }
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

/** Best effort: a missing opener (a server, a container) only means the user opens the URL. */
function openBrowser(url: string): void {
  const [cmd, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]];
  try {
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // Nothing to do: the URL is printed.
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    process.stderr.write(`agentq: ${err instanceof AgentqError || err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
