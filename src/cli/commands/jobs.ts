/** Jobs from the command line: enqueue, list, inspect, retry, cancel; queue statistics. */
import { resolve } from 'node:path';
import { SESSION_RUN } from '../../sessions/service.js';
import { LIMITS, parseDataSearch, parseTime, validateDependencyPolicy } from '../../store/validation.js';
import { hostname, userInfo } from 'node:os';
import { NotFoundError, StateConflictError, ValidationError } from '../../store/errors.js';
import type { TypeControl } from '../../store/contract.js';
import type { JobState } from '../../store/states.js';
import { EXIT, UsageError, type Command, knownTypes, withSystem, json, int, jobId, states, parseDuration, parseData, reportCancel, formatJob } from '../command.js';

export const enqueue: Command = {
  usage: 'agentq enqueue <type> [--data <json>] [--priority <n>] [--delay <ms|30s|5m>] [--run-at <ISO date>] [--unique-key <key>] [--group <key>] [--max-attempts <n>] [--after <id,id>] [--on-dependency-failure fail|cancel|run]',
  summary: 'queue a job (--after: once those jobs completed)',
  options: ['data', 'priority', 'delay', 'run-at', 'unique-key', 'group', 'max-attempts', 'after', 'on-dependency-failure'],
  example: 'agentq enqueue demo.sleep --data \'{"ms": 5000}\' --priority 5',
  run: async (ctx) => {
    const type = ctx.args[0];
    if (type === undefined) throw new UsageError('give the job type: agentq enqueue <type> [--data <json>]');
    if (type === SESSION_RUN) throw new ValidationError('type', 'agent turns are queued through sessions: use the web app or POST /api/sessions');
    const known = knownTypes(ctx.settings);
    if (!known.includes(type)) {
      throw new ValidationError('type', `"${type}" is not a known job type (known: ${known.join(', ')}); for types run by workers elsewhere, list them in acceptTypes in ${resolve(ctx.settings.dataDir, 'config.json')}`);
    }
    const data = parseData(ctx.values.data);
    if (ctx.values.delay !== undefined && ctx.values['run-at'] !== undefined) throw new ValidationError('--delay', 'give either --delay or --run-at, not both');
    const v = ctx.values;
    const priority = int('priority', v.priority, -LIMITS.priority, LIMITS.priority);
    const maxAttempts = int('max-attempts', v['max-attempts'], 1, LIMITS.maxAttempts);
    const after = v.after === undefined ? undefined : v.after.split(',').map((id) => jobId(id.trim(), '--after'));
    const policy = v['on-dependency-failure'];
    if (policy !== undefined && after === undefined) throw new UsageError('--on-dependency-failure says what to do when a job given with --after fails; give --after too');
    return withSystem(ctx.settings, async (system) => {
      const { job, created } = await system.enqueueAny(type, data, {
        ...(priority === undefined ? {} : { priority }),
        ...(maxAttempts === undefined ? {} : { maxAttempts }),
        ...(v.delay === undefined ? {} : { delayMs: parseDuration('--delay', v.delay) }),
        ...(v['run-at'] === undefined ? {} : { runAt: parseTime('--run-at', v['run-at']) }),
        ...(v['unique-key'] === undefined ? {} : { uniqueKey: v['unique-key'] }),
        ...(v.group === undefined ? {} : { groupKey: v.group }),
        ...(after === undefined ? {} : { dependsOn: after }),
        ...(policy === undefined ? {} : { onDependencyFailure: validateDependencyPolicy(policy, '--on-dependency-failure') }),
      });
      if (v.json === true) json(ctx, { job, created });
      else ctx.io.out(created ? `queued ${formatJob(job)}\n` : `not queued: job #${String(job.id)} holds unique key "${String(job.uniqueKey)}" (${job.status})\n`);
      return EXIT.ok;
    });
  },
};

export const jobs: Command = {
  usage: 'agentq jobs list [--status <s,s>] [--type <t>] [--where <data.path>=<value>]... [--error <text>] [--limit <n>] [--cursor <c>] | get <id> | cancel <id...> | cancel --status <s> [--type <t>] | retry <id> | retry --status <failed,cancelled> [--type <t>] --yes',
  summary: 'list, inspect, cancel and retry jobs',
  options: ['status', 'type', 'where', 'error', 'limit', 'cursor', 'yes'],
  example: 'agentq jobs list --status failed --limit 20',
  run: (ctx) => withSystem(ctx.settings, async (system) => {
    const [sub, ...rest] = ctx.args;
    const v = ctx.values;
    switch (sub) {
      case 'list':
      case undefined: {
        const status = states(v.status);
        const limit = int('limit', v.limit, 1, LIMITS.listLimitMax);
        const where = v.where === undefined ? undefined : parseDataSearch(v.where.map((w) => {
          const at = w.indexOf('=');
          if (at <= 0) throw new UsageError(`--where ${w}: give <path>=<value>, e.g. --where path=a.png or --where user.id=7`);
          return [w.slice(0, at).replace(/^data\./, ''), w.slice(at + 1)] as const;
        }));
        const page = await system.listJobs({
          ...(where === undefined ? {} : { data: where }),
          ...(v.error === undefined ? {} : { error: v.error }),
          ...(status === undefined ? {} : { status }),
          ...(v.type === undefined ? {} : { type: v.type.split(',') }),
          ...(limit === undefined ? {} : { limit }),
          ...(v.cursor === undefined ? {} : { cursor: v.cursor }),
        });
        if (v.json === true) json(ctx, page);
        else {
          if (page.jobs.length === 0) ctx.io.out('no jobs match\n');
          for (const job of page.jobs) ctx.io.out(`${formatJob(job)}\n`);
          if (page.searchBounded === true) ctx.io.out('(searched the first 10,000 jobs the other filters match; go on with --cursor)\n');
          if (page.nextCursor !== null) ctx.io.out(`more: agentq jobs list --cursor ${page.nextCursor}${v.status === undefined ? '' : ` --status ${v.status}`}${v.type === undefined ? '' : ` --type ${v.type}`}${(v.where ?? []).map((w) => ` --where ${w}`).join('')}${v.error === undefined ? '' : ` --error ${JSON.stringify(v.error)}`}\n`);
        }
        return EXIT.ok;
      }
      case 'get': {
        const id = jobId(rest[0]);
        const job = await system.getJob(id);
        if (job === null) throw new NotFoundError('job', id);
        const [attempts, dependencies] = await Promise.all([system.jobAttempts(id), system.jobDependencies(id)]);
        if (v.json === true) json(ctx, { job, attempts, dependencies });
        else {
          ctx.io.out(`${formatJob(job)}\ndata: ${JSON.stringify(job.data)}\n${job.result === null ? '' : `result: ${JSON.stringify(job.result)}\n`}`);
          const side = (label: string, list: { id: number; status: string }[], total: number): void => {
            if (total > 0) ctx.io.out(`${label}: ${list.map((d) => `#${String(d.id)} ${d.status}`).join(', ')}${total > list.length ? ` and ${String(total - list.length)} more` : ''}\n`);
          };
          if (job.status === 'waiting') ctx.io.out(`waiting for ${String(job.pendingDependencies)} of ${String(dependencies.dependsOn.length)} jobs (if one fails: ${job.onDependencyFailure})\n`);
          side('runs after', dependencies.dependsOn.slice(0, 20), dependencies.dependsOn.length);
          side('runs before', dependencies.dependents.slice(0, 20), dependencies.dependentsTotal);
          for (const a of attempts) ctx.io.out(`  attempt ${String(a.attempt)} ${a.outcome} on ${a.workerId}${a.error === null ? '' : `: ${a.error}`}\n`);
        }
        return EXIT.ok;
      }
      case 'cancel': {
        const status = states(v.status);
        if (rest.length === 0 && status === undefined && v.type === undefined) throw new UsageError('say which jobs: agentq jobs cancel <id...>, or --status/--type');
        if (rest.length > 0 && (status !== undefined || v.type !== undefined)) throw new UsageError('give ids or --status/--type, not both');
        if (rest.length > 0) {
          const total = { cancelled: 0, requested: 0 };
          for (const id of rest.map((raw) => jobId(raw))) {
            const r = await system.cancelJob(id, 'cancelled from the command line');
            total.cancelled += r.cancelled;
            total.requested += r.requested;
          }
          return reportCancel(ctx, total);
        }
        return reportCancel(ctx, await system.cancel({ filter: { ...(status === undefined ? {} : { status }), ...(v.type === undefined ? {} : { type: v.type.split(',') }) }, reason: 'cancelled from the command line' }));
      }
      case 'retry': {
        if (rest.length === 0 && (v.status !== undefined || v.type !== undefined)) {
          const filter = { ...(v.status === undefined ? {} : { status: states(v.status) as JobState[] }), ...(v.type === undefined ? {} : { type: v.type.split(',') }) };
          const page = await system.listJobs({ status: filter.status ?? ['failed', 'cancelled'], ...(filter.type === undefined ? {} : { type: filter.type }), limit: 1 });
          const count = `${page.total.toLocaleString('en-US')}${page.totalExact ? '' : '+'}`;
          if (v.yes !== true) throw new UsageError(`this retries ${count} ${page.total === 1 ? 'job' : 'jobs'}; say --yes to do it`);
          const r = await system.retryJobs(filter);
          if (v.json === true) json(ctx, r);
          else ctx.io.out(`retried ${String(r.retried)}${r.skipped > 0 ? `, skipped ${String(r.skipped)} (their unique key is held, or they changed meanwhile)` : ''}${r.more ? '; more match: run it again' : ''}\n`);
          return EXIT.ok;
        }
        const job = await system.retryJob(jobId(rest[0]));
        if (v.json === true) json(ctx, { job });
        else ctx.io.out(`queued again: ${formatJob(job)}\n`);
        return EXIT.ok;
      }
      default:
        throw new UsageError(`"jobs ${sub}" is not a command; use jobs list, get, cancel or retry`);
    }
  }),
};

/** Who runs a command, as a pause or a resume records it. */
function actor(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (a container's arbitrary uid): keep "unknown".
  }
  return `cli ${user}@${hostname()}`;
}

export const types: Command = {
  usage: 'agentq types [list] | pause <type> [--message <reason>] | resume <type> | limit <type> --max <n> --every <ms|1s|1m> | limit <type> --off',
  summary: 'pause and resume job types by hand, and rate-limit them, for every process',
  options: ['message', 'max', 'every', 'off'],
  example: 'agentq types limit mail.send --max 50 --every 1m',
  run: (ctx) => withSystem(ctx.settings, async (system) => {
    const [sub, type, ...extra] = ctx.args;
    const v = ctx.values;
    if (extra.length > 0) throw new UsageError(`one type at a time: agentq types ${sub ?? ''} <type>`);
    const show = (c: TypeControl): string => {
      const parts = [c.paused === null ? 'running' : `paused by ${c.paused.by} at ${new Date(c.paused.at).toISOString()}${c.paused.reason === null ? '' : ` (${c.paused.reason})`}`];
      if (c.rateLimit !== null) parts.push(`at most ${String(c.rateLimit.max)} starts per ${String(c.rateLimit.windowMs)} ms`);
      return `${c.type}: ${parts.join(', ')}\n`;
    };
    const need = (): string => {
      if (type === undefined) throw new UsageError(`give the job type: agentq types ${sub ?? ''} <type>`);
      return type;
    };
    switch (sub) {
      case 'list':
      case undefined: {
        const stats = await system.stats();
        if (v.json === true) json(ctx, { controls: stats.controls, autoPaused: stats.worker.pausedTypes });
        else if (stats.controls.length === 0) ctx.io.out('no type is paused or rate-limited\n');
        else for (const c of stats.controls) ctx.io.out(show(c));
        return EXIT.ok;
      }
      case 'pause': {
        const control = await system.pauseType(need(), actor(), v.message ?? null);
        if (v.json === true) json(ctx, { control });
        else ctx.io.out(show(control));
        return EXIT.ok;
      }
      case 'resume': {
        const { resumed, control } = await system.resumeType(need(), actor());
        if (!resumed) throw new StateConflictError(`job type "${control.type}" is not paused; agentq types list says which are`);
        if (v.json === true) json(ctx, { resumed, control });
        else ctx.io.out(show(control));
        return EXIT.ok;
      }
      case 'limit': {
        const name = need();
        if (v.off === true && (v.max !== undefined || v.every !== undefined)) throw new UsageError('give --off alone, or --max with --every');
        if (v.off !== true && (v.max === undefined || v.every === undefined)) throw new UsageError('give --max <starts> and --every <window>, e.g. --max 50 --every 1m; or --off to remove the limit');
        const rateLimit = v.off === true ? null : { max: int('max', v.max, 1, 1_000_000) as number, windowMs: parseDuration('--every', v.every as string) };
        const control = await system.setRateLimit(name, rateLimit);
        if (v.json === true) json(ctx, { control });
        else ctx.io.out(show(control));
        return EXIT.ok;
      }
      default:
        throw new UsageError(`"types ${sub}" is not a command; use types list, pause, resume or limit`);
    }
  }),
};

export const stats: Command = {
  usage: 'agentq stats',
  summary: 'queue statistics',
  options: [],
  example: 'agentq stats --json',
  run: (ctx) => withSystem(ctx.settings, async (system) => {
    const stats = await system.stats();
    if (ctx.values.json === true) {
      json(ctx, stats.jobs);
      return EXIT.ok;
    }
    const s = stats.jobs.byStatus;
    ctx.io.out(`${s.waiting > 0 ? `waiting ${String(s.waiting)}  ` : ''}queued ${String(s.queued)} (due ${String(stats.jobs.due)})  running ${String(s.running)}  completed ${String(s.completed)}  failed ${String(s.failed)}  cancelled ${String(s.cancelled)}\n`);
    ctx.io.out(`last hour: ${String(stats.jobs.lastHour.completed)} completed, ${String(stats.jobs.lastHour.failed)} failed\n`);
    for (const t of stats.jobs.byType) ctx.io.out(`  ${t.type}: ${String(t.queued)} queued, ${String(t.running)} running, ${String(t.completed)} completed, ${String(t.failed)} failed\n`);
    return EXIT.ok;
  }),
};
