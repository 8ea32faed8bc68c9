/** Recurring jobs from the command line. */
import type { ScheduleInput } from '../../store/contract.js';
import { NotFoundError, StateConflictError, ValidationError } from '../../store/errors.js';
import { EXIT, UsageError, type Command, knownTypes, withSystem, json, parseDuration, parseData } from '../command.js';

export const schedules: Command = {
  usage: 'agentq schedules list | add <name> <type> (--cron "<expr>" | --every <30s|5m|ms>) [--data <json>] [--timezone utc|local] | enable <name> | disable <name> | remove <name>',
  summary: 'recurring jobs',
  options: ['cron', 'every', 'data', 'timezone'],
  example: 'agentq schedules add nightly-report report.build --cron "0 2 * * *" --timezone local',
  run: (ctx) => withSystem(ctx.settings, async (system) => {
    const [sub, name, type] = ctx.args;
    const v = ctx.values;
    const show = (s: { name: string; type: string; cron: string | null; everyMs: number | null; enabled: boolean; nextRunAt: number | null }): string =>
      `${s.name}: ${s.type} ${s.cron === null ? `every ${String(s.everyMs)} ms` : `cron "${s.cron}"`} ${s.enabled ? `next ${s.nextRunAt === null ? '—' : new Date(s.nextRunAt).toISOString()}` : 'disabled'}`;
    const need = (): string => {
      if (name === undefined) throw new UsageError(`give the schedule name: agentq schedules ${String(sub)} <name>`);
      return name;
    };
    const found = async (n: string): Promise<string> => {
      if ((await system.schedules.get(n)) === null) throw new NotFoundError('schedule', n);
      return n;
    };
    switch (sub) {
      case 'list':
      case undefined: {
        const list = await system.schedules.list();
        if (v.json === true) json(ctx, list);
        else if (list.length === 0) ctx.io.out('no schedules; add one with agentq schedules add\n');
        else for (const s of list) ctx.io.out(`${show(s)}\n`);
        return EXIT.ok;
      }
      case 'add': {
        if (name === undefined || type === undefined) throw new UsageError('give a name and a job type: agentq schedules add <name> <type> --cron "<expr>"');
        if (!knownTypes(ctx.settings).includes(type)) throw new ValidationError('type', `"${type}" is not a known job type (known: ${knownTypes(ctx.settings).join(', ')})`);
        if ((await system.schedules.get(name)) !== null) throw new StateConflictError(`a schedule named "${name}" exists; remove it first or pick another name`);
        const data = parseData(v.data);
        if (v.timezone !== undefined && v.timezone !== 'utc' && v.timezone !== 'local') throw new ValidationError('--timezone', 'must be utc or local');
        const input: ScheduleInput = {
          name, type, data,
          ...(v.cron === undefined ? {} : { cron: v.cron }),
          ...(v.every === undefined ? {} : { everyMs: parseDuration('--every', v.every) }),
          ...(v.timezone === undefined ? {} : { timezone: v.timezone }),
        };
        const s = await system.schedules.add(input);
        if (v.json === true) json(ctx, s);
        else ctx.io.out(`added ${show(s)}\n`);
        return EXIT.ok;
      }
      case 'enable':
      case 'disable': {
        const n = await found(need());
        const s = sub === 'enable' ? await system.schedules.enable(n) : await system.schedules.disable(n);
        if (v.json === true) json(ctx, s);
        else ctx.io.out(`${show(s)}\n`);
        return EXIT.ok;
      }
      case 'remove': {
        const n = await found(need());
        await system.schedules.remove(n);
        if (v.json === true) json(ctx, { deleted: true });
        else ctx.io.out(`removed ${n}\n`);
        return EXIT.ok;
      }
      default:
        throw new UsageError(`"schedules ${sub}" is not a command; use schedules list, add, enable, disable or remove`);
    }
  }),
};
