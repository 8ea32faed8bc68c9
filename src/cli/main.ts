/**
 * The agentq command. `agentq` alone is `agentq serve`: the web app and the worker on the embedded
 * SQLite database. Every other command works on the same data directory.
 *
 * Exit codes: 0 done; 1 the operation failed (the message says why and what to do); 2 bad usage or
 * input (unknown command or option, invalid JSON, unknown job type, out-of-range number); 3 no such
 * job, schedule or file; 4 the job's state forbids the change.
 */
import { parseArgs } from 'node:util';
import { AgentqError, NotFoundError, StateConflictError, ValidationError } from '../store/errors.js';
import { SETTINGS, resolveSettings } from './config.js';
import { EXIT, GLOBAL, OPTIONS, UsageError, type Command, type Io, type Values } from './command.js';
import { serve, url, worker } from './commands/server.js';
import { worktree, approvals, defaults, sessions } from './commands/sessions.js';
import { enqueue, jobs, stats, types } from './commands/jobs.js';
import { schedules } from './commands/schedules.js';
import { backup, restore, vacuum, cleanup, migrateTo } from './commands/maintenance.js';

export { EXIT } from './command.js';

/** Every command, in the order `agentq --help` lists them. Each lives in commands/, by what it works on. */
const COMMANDS: Record<string, Command> = {
  serve, url, worker, sessions, worktree, enqueue, jobs, types, approvals, defaults, stats, schedules, backup, restore, vacuum, cleanup, 'migrate-to': migrateTo,
};


function help(name?: string): string {
  if (name !== undefined) {
    const c = COMMANDS[name] as Command;
    const opts = [...c.options, 'json', 'data-dir', 'db', 'demo'].map((o) => `--${o}`).join(' ');
    return `${c.usage}\n\n${c.summary}.\n\nOptions: ${opts}\nExample:\n  ${c.example}\n`;
  }
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return `agentq — a durable job queue on SQLite, and a web app that runs Claude Code sessions

Usage: agentq [command] [options]        (no command = serve)

Commands:
${Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(width)}  ${c.summary}`).join('\n')}

Every command: --data-dir <dir> (default $AGENTQ_DATA_DIR or ~/.agentq), --db <file or postgres:// URL>, --json, --demo (the replay agent and the demo.* job types)
(read commands print JSON), -h/--help (agentq <command> --help shows its options and an example).

Settings come from flags, then environment variables, then <data dir>/config.json:
${Object.entries(SETTINGS).map(([k, s]) => `  ${k.padEnd(12)} ${s.env.padEnd(20)} ${s.doc}`).join('\n')}

Exit codes: 0 done, 1 failed, 2 bad usage or input, 3 not found, 4 state forbids it.

Examples:
  agentq                                   start the web app on http://127.0.0.1:4317
  agentq enqueue demo.sleep --data '{"ms": 2000}'
  agentq jobs list --status failed --json
  agentq backup --to before-upgrade.db
`;
}

export async function main(argv: string[], io: Io): Promise<number> {
  let parsed: { values: Values; positionals: string[] };
  try {
    const result = parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
    parsed = { values: result.values, positionals: result.positionals };
  } catch (error) {
    io.err(`agentq: ${(error as Error).message.replace(/\. To specify.*$/s, '')}; run agentq --help for the options\n`);
    return EXIT.usage;
  }
  const [first, ...args] = parsed.positionals;
  const name = first ?? 'serve';
  const command = COMMANDS[name];
  if (command === undefined) {
    io.err(`agentq: unknown command "${name}"; the commands are ${Object.keys(COMMANDS).join(', ')} (agentq --help)\n`);
    return EXIT.usage;
  }
  if (parsed.values.help === true) {
    io.out(help(first === undefined ? undefined : name));
    return EXIT.ok;
  }
  const allowed = new Set<string>([...GLOBAL, ...command.options]);
  for (const key of Object.keys(parsed.values)) {
    if (!allowed.has(key)) {
      io.err(`agentq: --${key} is not an option of \`agentq ${name}\`; see agentq ${name} --help\n`);
      return EXIT.usage;
    }
  }
  try {
    const settings = resolveSettings(parsed.values);
    for (const warning of settings.warnings) io.err(`agentq: ${warning}\n`);
    return await command.run({ args, values: parsed.values, settings, io });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.err(`agentq: ${message}\n`);
    if (error instanceof UsageError || error instanceof ValidationError || (error instanceof AgentqError && error.code === 'REGISTRY')) return EXIT.usage;
    if (error instanceof NotFoundError || (error as NodeJS.ErrnoException).code === 'ENOENT') return EXIT.notFound;
    if (error instanceof StateConflictError) return EXIT.conflict;
    return EXIT.failed;
  }
}
